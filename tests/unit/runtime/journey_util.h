// Helpers for journey tests: the built-in library (compiled once per test binary) or one
// with a spec of the test's own, a handler that records what it sees, and packets from the
// packet builder.
#pragma once

#include "mmt/runtime.h"
#include "packet_builder.h"
#include "pcap_writer.h"

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mmt::test {

/// The built-in protocol library, loaded once.
inline const ProtocolLibrary& builtinLibrary() {
    static std::unique_ptr<ProtocolLibrary> lib = [] {
        std::string err;
        LoadOptions o;
        auto l = ProtocolLibrary::load(o, err);
        if (!l) FAIL("cannot load the built-in library: " << err);
        return l;
    }();
    return *lib;
}

/// The built-in library with the protocols of `spec` (the text of a .mmtp file) added.
inline std::unique_ptr<ProtocolLibrary> libraryWithSpec(const std::string& spec) {
    TempFile file(".mmtp"); // read only while the library loads
    REQUIRE(write_file(file.path(), to_bytes(spec)));
    LoadOptions o;
    o.spec_paths = {file.path()};
    std::string err;
    auto lib = ProtocolLibrary::load(o, err);
    INFO(err);
    REQUIRE(lib);
    return lib;
}

/// Feeds packets and keeps, per packet, the requested attributes as text.
struct Recorder {
    Handler h;
    std::vector<std::string> names;
    std::vector<int> columns;
    std::vector<std::map<std::string, std::string>> rows; // per packet: attribute -> "v1,v2"
    std::vector<SessionInfo> started, ended;
    uint64_t t = 1000000000000ull; // packet time, ns

    explicit Recorder(std::vector<std::string> attrs, HandlerOptions opts = {},
                      const ProtocolLibrary& lib = builtinLibrary())
        : h(lib, opts), names(std::move(attrs)) {
        for (const auto& n : names) {
            int c = h.request(n);
            INFO(n);
            REQUIRE(c >= 0);
            columns.push_back(c);
        }
        h.on_packet([this](const PacketView& p) {
            std::map<std::string, std::string> row;
            for (size_t i = 0; i < names.size(); ++i) {
                std::string cell;
                for (const Value& v : p.values(columns[i]))
                    cell += (cell.empty() ? "" : ",") + v.text();
                row[names[i]] = cell;
            }
            row["path"] = p.path_text();
            row["truncated"] = p.truncated();
            row["malformed"] = p.malformed();
            rows.push_back(std::move(row));
            return Action::Continue;
        });
        h.on_session_start([this](const SessionInfo& s) { started.push_back(s); });
        h.on_session_end([this](const SessionInfo& s) { ended.push_back(s); });
    }

    /// Processes one packet `gapMs` after the previous one; returns its row.
    std::map<std::string, std::string>& feed(const Bytes& pkt, uint32_t linktype = 1,
                                             uint64_t gapMs = 1) {
        t += gapMs * 1000000ull;
        RawPacket raw;
        raw.data = pkt.data();
        raw.caplen = uint32_t(pkt.size());
        raw.wirelen = uint32_t(pkt.size());
        raw.linktype = linktype;
        raw.ts_ns = t;
        size_t before = rows.size();
        h.process(raw);
        REQUIRE(rows.size() == before + 1);
        return rows.back();
    }
};

inline const char* const kClient = "10.0.0.1";
inline const char* const kServer = "10.0.0.2";

/// A TCP segment over Ethernet and IPv4, by default from kClient to kServer.
inline Bytes tcpSeg(uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags,
                    const std::string& data = "", const char* src = kClient,
                    const char* dst = kServer) {
    return PacketBuilder()
        .eth()
        .ipv4(src, dst)
        .tcp(sport, dport)
        .seq(seq)
        .flags(flags)
        .payload(data)
        .build();
}

/// A UDP datagram over Ethernet and IPv4, by default from kClient to kServer.
inline Bytes udpPkt(uint16_t sport, uint16_t dport, const std::string& data = "x",
                    const char* src = kClient, const char* dst = kServer) {
    return PacketBuilder().eth().ipv4(src, dst).udp(sport, dport).payload(data).build();
}

/// One direction of a TCP connection: each send() carries the next bytes in order.
struct TcpSide {
    Recorder& r;
    uint16_t sport, dport;
    const char* src = kClient;
    const char* dst = kServer;
    uint32_t seq = 2; // after a SYN at 1

    std::map<std::string, std::string>& send(const std::string& data) {
        auto& row = r.feed(tcpSeg(sport, dport, seq, ACK, data, src, dst));
        seq += uint32_t(data.size());
        return row;
    }
};

} // namespace mmt::test
