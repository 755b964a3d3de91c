// Tests of CaptureSource: pcap and pcapng files, damaged files, live capture, shared captures.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <sys/socket.h>
#include <unistd.h>

#include "input/capture.h"
#include "packet_builder.h"
#include "pcap_writer.h"

using namespace mmt;
using namespace mmt::test;

namespace {

struct Read {
    Packet meta;
    Bytes data;
};

// Reads a whole file; returns the packets and the final status.
std::vector<Read> read_all(CaptureSource& src, ReadStatus& last) {
    std::vector<Read> out;
    Packet p;
    while ((last = src.next(p)) == ReadStatus::Ok)
        out.push_back({p, Bytes(p.data, p.data + p.caplen)});
    return out;
}

std::vector<Read> read_file(const std::string& path, ReadStatus& last, CaptureSource& src) {
    REQUIRE(src.open_file(path));
    return read_all(src, last);
}

/// Writes what `w` holds to a .pcap file of its own, then reads it all with `src`: the
/// packets, and the status that ended the reading.
template <class Writer>
std::pair<std::vector<Read>, ReadStatus> write_and_read(const Writer& w, CaptureSource& src) {
    TempFile tmp;
    REQUIRE(w.write(tmp.path()));
    ReadStatus last;
    std::vector<Read> got = read_file(tmp.path(), last, src);
    return {std::move(got), last};
}

/// Writes `bytes` (a capture made by hand) to a file of its own and reads it all, to its
/// end.
std::vector<Read> read_bytes(const Bytes& bytes) {
    TempFile tmp;
    REQUIRE(write_file(tmp.path(), bytes));
    CaptureSource src;
    ReadStatus last;
    std::vector<Read> got = read_file(tmp.path(), last, src);
    CHECK(last == ReadStatus::End);
    return got;
}

/// The time of each packet, as seconds.nanoseconds.
using Stamps = std::vector<std::string>;
Stamps stamps(const std::vector<Read>& got) {
    Stamps out;
    for (const Read& r : got) out.push_back(fmt::format("{}.{:09}", r.meta.ts_sec, r.meta.ts_nsec));
    return out;
}

Bytes udp_frame(int i) {
    return PacketBuilder()
        .eth()
        .ipv4("10.0.0.1", "10.0.0.2")
        .udp(static_cast<uint16_t>(1000 + i), 53)
        .payload(std::string(static_cast<size_t>(i) + 1, 'x'))
        .build();
}

} // namespace

TEST_CASE("pcap with microsecond timestamps", "[capture]") {
    PcapWriter w;
    for (int i = 0; i < 3; ++i) w.packet(1600000000 + i, 123456000u + i * 1000, udp_frame(i));
    CaptureSource src;
    auto [got, last] = write_and_read(w, src);
    CHECK(last == ReadStatus::End);
    CHECK(src.error().empty());
    CHECK(src.error_kind() == CaptureError::None);
    CHECK(src.format() == CaptureFormat::Pcap);
    CHECK(src.linktype() == 1);
    REQUIRE(got.size() == 3);
    CHECK(src.packets() == 3);
    for (int i = 0; i < 3; ++i) {
        CHECK(got[i].meta.ts_sec == 1600000000u + i);
        CHECK(got[i].meta.ts_nsec == 123456000u + i * 1000);
        CHECK(got[i].meta.caplen == udp_frame(i).size());
        CHECK(got[i].meta.wirelen == udp_frame(i).size());
        CHECK(got[i].meta.linktype == 1);
        CHECK(got[i].meta.ifindex == 0);
        CHECK(got[i].data == udp_frame(i));
    }
    CHECK(got[1].meta.ts_ns() == 1600000001ull * 1000000000ull + 123457000ull);
    // After the end, the source keeps saying so.
    Packet p;
    CHECK(src.next(p) == ReadStatus::End);
}

TEST_CASE("pcap with nanosecond timestamps", "[capture]") {
    PcapWriter w;
    w.nanoseconds();
    w.packet(1, 999999999, udp_frame(0)).packet(2, 1, udp_frame(1));
    CaptureSource src;
    auto [got, last] = write_and_read(w, src);
    CHECK(last == ReadStatus::End);
    REQUIRE(got.size() == 2);
    CHECK(stamps(got) == Stamps{"1.999999999", "2.000000001"});
}

TEST_CASE("big-endian pcap, both precisions, any link type", "[capture]") {
    for (bool nano : {false, true}) {
        PcapWriter w;
        w.big_endian().nanoseconds(nano).linktype(101);
        Bytes raw = PacketBuilder().ipv4("1.2.3.4", "5.6.7.8").tcp(1, 2).flags(SYN).build();
        w.packet(0x12345678, 5000, raw, 1500);
        CaptureSource src;
        auto [got, last] = write_and_read(w, src);
        CHECK(last == ReadStatus::End);
        REQUIRE(got.size() == 1);
        CHECK(src.linktype() == 101);
        CHECK(got[0].meta.linktype == 101); // LINKTYPE_RAW, not libpcap's DLT_RAW (12)
        CHECK(got[0].meta.ts_sec == 0x12345678u);
        CHECK(got[0].meta.ts_nsec == 5000u);
        CHECK(got[0].meta.caplen == raw.size());
        CHECK(got[0].meta.wirelen == 1500u);
        CHECK(got[0].data == raw);
    }
}

TEST_CASE("pcap with a snapshot length keeps wire length", "[capture]") {
    PcapWriter w;
    w.snaplen(40).linktype(113);
    Bytes frame =
        PacketBuilder().sll().ipv4("1.1.1.1", "2.2.2.2").udp(1, 2).payload(Bytes(100, 7)).build();
    w.packet(1, 0, frame);
    CaptureSource src;
    auto [got, last] = write_and_read(w, src);
    REQUIRE(got.size() == 1);
    CHECK(got[0].meta.caplen == 40u);
    CHECK(got[0].meta.wirelen == frame.size());
    CHECK(got[0].meta.linktype == 113u);
    CHECK(got[0].data == Bytes(frame.begin(), frame.begin() + 40));
}

TEST_CASE("a pcap file read in place: what libpcap treats apart goes to libpcap",
          "[capture][mapped]") {
    SECTION("a file that grows while it is read") {
        PcapWriter w;
        for (int i = 0; i < 3; ++i) w.packet(1, uint32_t(i) * 1000, udp_frame(i));
        Bytes all = w.bytes();
        const size_t two = 24 + 2 * 16 + udp_frame(0).size() + udp_frame(1).size();
        TempFile tmp;
        REQUIRE(write_file(tmp.path(), Bytes(all.begin(), all.begin() + long(two))));
        CaptureSource src;
        REQUIRE(src.open_file(tmp.path()));
        Packet p;
        CHECK(src.next(p) == ReadStatus::Ok);
        CHECK(src.next(p) == ReadStatus::Ok);
        CHECK(Bytes(p.data, p.data + p.caplen) == udp_frame(1));
        REQUIRE(write_file(tmp.path(), all)); // the third record is appended
        REQUIRE(src.next(p) == ReadStatus::Ok);
        CHECK(Bytes(p.data, p.data + p.caplen) == udp_frame(2));
        CHECK(p.ts_nsec == 2000u);
        CHECK(src.next(p) == ReadStatus::End);
        CHECK(src.packets() == 3);
    }
    SECTION("a record longer than the file's snapshot length is cut to it") {
        PcapWriter w;
        const Bytes big = PacketBuilder()
                              .eth()
                              .ipv4("10.0.0.1", "10.0.0.2")
                              .udp(1, 2)
                              .payload(Bytes(200, 9))
                              .build();
        w.packet(1, 0, udp_frame(0)).packet(2, 0, big).packet(3, 0, udp_frame(1));
        Bytes bytes = w.bytes();
        const uint32_t snaplen = 100;
        std::memcpy(bytes.data() + 16, &snaplen, 4); // little-endian, as this machine
        auto got = read_bytes(bytes);
        REQUIRE(got.size() == 3);
        CHECK(got[0].data == udp_frame(0));
        CHECK(got[1].meta.caplen == snaplen);
        CHECK(got[1].meta.wirelen == big.size());
        CHECK(got[1].data == Bytes(big.begin(), big.begin() + snaplen));
        CHECK(got[2].data == udp_frame(1));
        CHECK(got[2].meta.ts_sec == 3u);
    }
    SECTION("a fraction of a second past one second carries over") {
        PcapWriter w;
        w.packet(1, 0, udp_frame(0)).packet(1, 500000000, udp_frame(1));
        Bytes bytes = w.bytes();
        const uint32_t usec = 1500000; // the second record's microseconds, out of range
        std::memcpy(bytes.data() + 24 + 16 + udp_frame(0).size() + 4, &usec, 4);
        CHECK(stamps(read_bytes(bytes)) == Stamps{"1.000000000", "2.500000000"});
    }
}

TEST_CASE("sources reading one file in place share its mapping", "[capture][mapped]") {
    // Over 33 MiB: past the point where pages read long ago are given back.
    PcapWriter w;
    const int n = 25000;
    for (int i = 0; i < n; ++i)
        w.packet(uint32_t(i), 0,
                 PacketBuilder()
                     .eth()
                     .ipv4("10.0.0.1", "10.0.0.2")
                     .udp(uint16_t(1000 + i % 5000), 53)
                     .payload(Bytes(1400, uint8_t(i)))
                     .build());
    TempFile tmp;
    REQUIRE(write_file(tmp.path(), w.bytes()));
    auto digest = [](const Packet& p, uint64_t h) {
        for (uint32_t i = 0; i < p.caplen; ++i) h = h * 1099511628211ull ^ p.data[i];
        return h ^ p.ts_sec;
    };
    CaptureSource a, b;
    REQUIRE(a.open_file(tmp.path()));
    REQUIRE(b.open_file(tmp.path()));
    REQUIRE(a.in_place());
    REQUIRE(b.in_place());
    Packet pa, pb;
    REQUIRE(a.next(pa) == ReadStatus::Ok);
    REQUIRE(b.next(pb) == ReadStatus::Ok);
    CHECK(pa.data == pb.data); // one mapping
    // One runs to the end while the other waits at its start (nothing it has yet to read
    // is given back), then the other reads it all, the same.
    uint64_t ha = digest(pa, 0), hb = digest(pb, 0);
    int na = 1, nb = 1;
    while (a.next(pa) == ReadStatus::Ok) ha = digest(pa, ha), ++na;
    CaptureSource c; // a third one, closed halfway: the others go on
    REQUIRE(c.open_file(tmp.path()));
    for (int i = 0; i < n / 2; ++i) REQUIRE(c.next(pa) == ReadStatus::Ok);
    c.close();
    while (b.next(pb) == ReadStatus::Ok) hb = digest(pb, hb), ++nb;
    CHECK(na == n);
    CHECK(nb == n);
    CHECK(ha == hb);
}

TEST_CASE("pcapng with two interfaces of different link types", "[capture][pcapng]") {
    // Written to a .pcap file: the name does not matter, the magic does.
    PcapngWriter w;
    uint32_t eth = w.interface(1);
    uint32_t sll = w.interface(113);
    Bytes f_eth = udp_frame(1);
    Bytes f_sll = PacketBuilder().sll().ipv4("1.1.1.1", "2.2.2.2").udp(5, 6).build();
    w.packet(eth, 10, 1000, f_eth).packet(sll, 11, 2000, f_sll).packet(eth, 12, 3000, f_eth, 9000);
    CaptureSource src;
    auto [got, last] = write_and_read(w, src);
    CHECK(last == ReadStatus::End);
    CHECK(src.format() == CaptureFormat::Pcapng);
    CHECK(src.linktype() == 1);
    REQUIRE(got.size() == 3);
    CHECK(got[0].meta.linktype == 1);
    CHECK(got[0].meta.ifindex == 0);
    CHECK(got[0].data == f_eth);
    CHECK(got[1].meta.linktype == 113);
    CHECK(got[1].meta.ifindex == 1);
    CHECK(got[1].data == f_sll);
    CHECK(got[1].meta.ts_sec == 11);
    CHECK(got[1].meta.ts_nsec == 2000u);
    CHECK(got[2].meta.wirelen == 9000u);
    CHECK(got[2].meta.caplen == f_eth.size());
    CHECK(src.packets() == 3);
}

TEST_CASE("pcapng timestamp resolutions and offsets", "[capture][pcapng]") {
    PcapngWriter w;
    uint32_t us = w.interface(1);               // default: microseconds
    uint32_t ns = w.interface(1, 0, 9);         // 10^-9
    uint32_t ms = w.interface(1, 0, 3);         // 10^-3
    uint32_t p2 = w.interface(1, 0, 0x80 | 20); // 2^-20
    uint32_t off = w.interface(1, 0, 6, 1000);  // microseconds, +1000 s
    uint32_t ps = w.interface(1, 0, 12);        // picoseconds
    Bytes f = udp_frame(0);
    w.packet_raw(us, 1500000123456ull, f); // 1500000 s + 123456 us
    w.packet_raw(ns, 1700000000123456789ull, f);
    w.packet_raw(ms, 1234567ull, f);                  // 1234.567 s
    w.packet_raw(p2, (5ull << 20) | (1ull << 19), f); // 5.5 s
    w.packet_raw(off, 2000000ull, f);                 // 2 s + 1000 s offset
    w.packet_raw(ps, 3000000000001ull, f);            // 3 s + 1 ps
    CaptureSource src;
    auto [got, last] = write_and_read(w, src);
    CHECK(last == ReadStatus::End);
    REQUIRE(got.size() == 6);
    // The picosecond is below the resolution kept.
    CHECK(stamps(got) == Stamps{"1500000.123456000", "1700000000.123456789", "1234.567000000",
                                "5.500000000", "1002.000000000", "3.000000000"});
    for (const Read& r : got) CHECK(r.meta.ifindex < 6u);
}

TEST_CASE("big-endian pcapng with simple, obsolete and unknown blocks and two sections",
          "[capture][pcapng]") {
    PcapngWriter w;
    w.big_endian();
    uint32_t eth = w.interface(1, 64, 9);
    Bytes big =
        PacketBuilder().eth().ipv4("1.1.1.1", "2.2.2.2").udp(1, 2).payload(Bytes(200, 1)).build();
    w.unknown_block(0x0bad, 16);
    w.packet(eth, 7, 8, udp_frame(2));
    w.simple_packet(big); // cut to the interface's snaplen 64
    w.obsolete_packet(eth, 9, 10, udp_frame(3));
    w.section(); // interfaces restart
    uint32_t raw = w.interface(101);
    Bytes ip = PacketBuilder().ipv4("1.1.1.1", "2.2.2.2").udp(1, 2).build();
    w.packet(raw, 20, 0, ip);
    CaptureSource src;
    auto [got, last] = write_and_read(w, src);
    CHECK(last == ReadStatus::End);
    INFO(src.error());
    REQUIRE(got.size() == 4);
    CHECK(got[0].meta.ts_sec == 7);
    CHECK(got[0].meta.ts_nsec == 8u);
    CHECK(got[0].data == udp_frame(2));
    CHECK(got[1].meta.caplen == 64u);
    CHECK(got[1].meta.wirelen == big.size());
    CHECK(got[1].meta.linktype == 1);
    CHECK(got[1].data == Bytes(big.begin(), big.begin() + 64));
    CHECK(got[2].meta.ts_sec == 9);
    CHECK(got[2].data == udp_frame(3));
    CHECK(got[3].meta.linktype == 101);
    CHECK(got[3].meta.ifindex == 0);
    CHECK(got[3].data == ip);
}

TEST_CASE("truncated pcap: every complete packet, then a clear error", "[capture][damage]") {
    SECTION("cut inside the packet data") {
        PcapWriter w;
        for (int i = 0; i < 3; ++i) w.packet(1, 0, udp_frame(i));
        w.truncate_last(16 + 10);
        CaptureSource src;
        auto [got, last] = write_and_read(w, src);
        CHECK(got.size() == 2);
        CHECK(last == ReadStatus::Error);
        CHECK(src.error_kind() == CaptureError::Truncated);
        CHECK(src.packets() == 2);
        CHECK_THAT(src.error(),
                   Catch::Contains("truncated capture") && Catch::Contains("after 2 packets") &&
                       Catch::Contains(fmt::format("needs {} bytes", udp_frame(2).size())) &&
                       Catch::Contains("only 10 present"));
        Packet p;
        CHECK(src.next(p) == ReadStatus::Error); // sticky
    }
    SECTION("cut inside the record header") {
        PcapWriter w;
        for (int i = 0; i < 2; ++i) w.packet(1, 0, udp_frame(i));
        w.truncate_last(5);
        CaptureSource src;
        auto [got, last] = write_and_read(w, src);
        CHECK(got.size() == 1);
        CHECK(last == ReadStatus::Error);
        CHECK(src.error_kind() == CaptureError::Truncated);
        CHECK_THAT(src.error(), Catch::Contains("record header needs 16 bytes, only 5 present"));
    }
    SECTION("cut inside the file header") {
        TempFile tmp;
        REQUIRE(write_file(tmp.path(), Bytes{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0}));
        CaptureSource src;
        CHECK_FALSE(src.open_file(tmp.path()));
        CHECK(src.error_kind() == CaptureError::Truncated);
        CHECK_THAT(src.error(), Catch::Contains("file header needs 24 bytes, only 10 present"));
    }
}

TEST_CASE("truncated pcapng: every complete packet, then a clear error", "[capture][damage]") {
    PcapngWriter w;
    uint32_t eth = w.interface(1);
    w.packet(eth, 1, 0, udp_frame(0)).packet(eth, 2, 0, udp_frame(1));
    w.truncate_last(20);
    CaptureSource src;
    auto [got, last] = write_and_read(w, src);
    CHECK(got.size() == 1);
    CHECK(last == ReadStatus::Error);
    CHECK(src.error_kind() == CaptureError::Truncated);
    CHECK_THAT(src.error(), Catch::Contains("after 1 packets") &&
                                Catch::Contains("Enhanced Packet Block") &&
                                Catch::Contains("only 20 present"));
}

TEST_CASE("damaged pcapng blocks are format errors", "[capture][damage]") {
    PcapngWriter w;
    uint32_t eth = w.interface(1);
    w.packet(eth, 1, 0, udp_frame(0));
    Bytes good = w.bytes();
    SECTION("packet names an undefined interface") {
        PcapngWriter v;
        v.interface(1);
        v.packet(3, 1, 0, udp_frame(0));
        TempFile tmp;
        REQUIRE(v.write(tmp.path()));
        CaptureSource src;
        ReadStatus last;
        CHECK(read_file(tmp.path(), last, src).empty());
        CHECK(last == ReadStatus::Error);
        CHECK(src.error_kind() == CaptureError::Format);
        CHECK_THAT(src.error(), Catch::Contains("interface 3"));
    }
    SECTION("block length not a multiple of 4") {
        Bytes bad = good;
        bad.push_back(0);          // trailing garbage that is not a block header
        bad[good.size() - 4] ^= 0; // keep the last block intact
        Bytes hdr = {6, 0, 0, 0, 13, 0, 0, 0};
        bad.insert(bad.end() - 1, hdr.begin(), hdr.end());
        TempFile tmp;
        REQUIRE(write_file(tmp.path(), bad));
        CaptureSource src;
        ReadStatus last;
        CHECK(read_file(tmp.path(), last, src).size() == 1);
        CHECK(last == ReadStatus::Error);
        CHECK(src.error_kind() == CaptureError::Format);
        CHECK_THAT(src.error(), Catch::Contains("invalid length 13"));
    }
    SECTION("trailer length differs") {
        Bytes bad = good;
        bad[bad.size() - 4] = 0x44;
        TempFile tmp;
        REQUIRE(write_file(tmp.path(), bad));
        CaptureSource src;
        ReadStatus last;
        CHECK(read_file(tmp.path(), last, src).empty());
        CHECK(src.error_kind() == CaptureError::Format);
        CHECK_THAT(src.error(), Catch::Contains("trailer"));
    }
}

TEST_CASE("garbage, empty and missing files give one-line errors", "[capture][damage]") {
    CaptureSource src;
    SECTION("garbage") {
        TempFile tmp;
        REQUIRE(write_file(tmp.path(), to_bytes("This is not a capture file at all.\n")));
        CHECK_FALSE(src.open_file(tmp.path()));
        CHECK(src.error_kind() == CaptureError::Format);
        CHECK_THAT(src.error(),
                   Catch::Contains("is not a capture file") && Catch::Contains("54 68 69 73"));
    }
    SECTION("empty") {
        TempFile tmp;
        REQUIRE(write_file(tmp.path(), {}));
        CHECK_FALSE(src.open_file(tmp.path()));
        CHECK(src.error_kind() == CaptureError::Format);
        CHECK_THAT(src.error(), Catch::Contains("is empty"));
    }
    SECTION("missing") {
        CHECK_FALSE(src.open_file("/nonexistent/dir/missing.pcap"));
        CHECK(src.error_kind() == CaptureError::Open);
        CHECK_THAT(src.error(), Catch::Contains("cannot open '/nonexistent/dir/missing.pcap'") &&
                                    Catch::Contains("No such file"));
    }
    SECTION("a directory") {
        CHECK_FALSE(src.open_file("/tmp"));
        CHECK(src.error_kind() != CaptureError::None);
    }
    CHECK(src.error().find('\n') == std::string::npos);
    Packet p;
    CHECK(src.next(p) == ReadStatus::Error);
    CHECK(src.packets() == 0);
}

TEST_CASE("stop() ends a file read early and close() allows reopening", "[capture]") {
    TempFile tmp;
    PcapWriter w;
    for (int i = 0; i < 5; ++i) w.packet(1, 0, udp_frame(i));
    REQUIRE(w.write(tmp.path()));
    CaptureSource src;
    REQUIRE(src.open_file(tmp.path()));
    Packet p;
    REQUIRE(src.next(p) == ReadStatus::Ok);
    src.stop();
    CHECK(src.next(p) == ReadStatus::End);
    CHECK(src.packets() == 1);
    REQUIRE(src.open_file(tmp.path()));
    ReadStatus last;
    CHECK(read_all(src, last).size() == 5);
    CHECK(last == ReadStatus::End);
}

TEST_CASE("live capture: bad interface and bad filter are clear errors", "[capture][live]") {
    CaptureSource src;
    CHECK_FALSE(src.open_live("mmt-no-such-if0"));
    CHECK(src.error_kind() == CaptureError::Interface);
    CHECK_THAT(src.error(), Catch::StartsWith("cannot open interface 'mmt-no-such-if0'"));
    CHECK(src.error().find('\n') == std::string::npos);
    Packet p;
    CHECK(src.next(p) == ReadStatus::Error);

    LiveOptions opt;
    opt.filter = "this is not ((( a filter";
    if (!src.open_live("lo", opt) && src.error_kind() == CaptureError::Interface) {
        WARN("cannot open 'lo' here (" << src.error() << "): filter check skipped");
        return;
    }
    CHECK(src.error_kind() == CaptureError::Filter);
    CHECK_THAT(src.error(), Catch::StartsWith("invalid capture filter"));
}

TEST_CASE("live capture on loopback with a filter", "[capture][live]") {
    int sock = ::socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(sock >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    // Bind a receiver so the datagrams have a port nobody else uses.
    int rx = ::socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(::bind(rx, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t alen = sizeof addr;
    ::getsockname(rx, reinterpret_cast<sockaddr*>(&addr), &alen);
    uint16_t port = ntohs(addr.sin_port);

    CaptureSource src;
    LiveOptions opt;
    opt.filter = "udp and dst port " + std::to_string(port);
    opt.timeout_ms = 50;
    opt.immediate = true;
    if (!src.open_live("lo", opt)) {
        WARN("cannot capture on 'lo' here (" << src.error() << "): live test skipped");
        ::close(sock);
        ::close(rx);
        return;
    }
    CHECK(src.format() == CaptureFormat::Live);
    CHECK(src.linktype() == 1); // Linux loopback looks like Ethernet
    const char msg[] = "mmt-live-test";
    for (int i = 0; i < 3; ++i)
        ::sendto(sock, msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);

    int seen = 0, timeouts = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    Packet p;
    while (seen < 3 && std::chrono::steady_clock::now() < deadline) {
        ReadStatus st = src.next(p);
        if (st == ReadStatus::Timeout) {
            ++timeouts;
            continue;
        }
        REQUIRE(st == ReadStatus::Ok);
        CHECK(p.linktype == 1);
        CHECK(p.caplen == p.wirelen);
        CHECK(p.ts_nsec < 1000000000u);
        CHECK(std::string(reinterpret_cast<const char*>(p.data) + p.caplen - sizeof msg) == msg);
        ++seen;
    }
    CHECK(seen == 3);
    CHECK(src.packets() == 3);
    // Nothing else matches the filter: the read times out, and stop() ends the capture.
    CHECK(src.next(p) == ReadStatus::Timeout);
    src.stop();
    CHECK(src.next(p) == ReadStatus::End);
    ::close(sock);
    ::close(rx);
}

// ---- the shared corpus ----

namespace {

struct Expected {
    const char* name;
    uint64_t packets;
};

// The Packets column of /work/shared/pcaps/README.md.
const Expected kCorpus[] = {
    {"iphone.pcap", 500},
    {"1kxun.pcap", 1723},
    {"smtp-starttls.pcap", 69},
    {"http_origin_different_than_host.pcap", 4},
    {"BGP_redist.pcap", 2},
    {"dns_fragmented.pcap", 66},
    {"heuristic_tcp_ack_payload.pcap", 303},
    {"psiphon3.pcap", 62},
    {"sctp.cap", 4},
    {"gre.pcapng", 1},
    {"gtp_c.pcap", 4},
    {"chrome.pcap", 127},
    {"443-git.pcap", 70},
    {"quic-33.pcapng", 7},
    {"quic_frags_ch_in_multiple_packets.pcapng", 4},
    {"sip.pcap", 112},
    {"NTPv4.pcap", 1},
    {"ssh.pcap", 295},
    {"smtp.pcap", 95},
    {"imap.pcap", 33},
    {"pop3.pcap", 144},
    {"smbv1.pcap", 7},
    {"smb_deletefile.pcap", 101},
    {"log4j-webapp-exploit.pcap", 426},
    {"http_ua_splitted_in_two_pkts.pcapng", 115},
    {"6in4tunnel.pcap", 127},
    {"vxlan.pcap", 127},
    {"badpackets.pcap", 93},
    {"fuzz-2021-10-13.pcap", 1},
    {"ja3_lots_of_cipher_suites_2_anon.pcap", 27},
    {"MplsPackets.pcap", 2},
    {"QinQ_802.1_AD.pcapng", 1},
    {"GrePackets.pcap", 7},
    {"ipv4-options.pcap", 7},
    {"ipv6_options.pcap", 6},
    {"gtp-u.pcap", 102},
    {"IcmpPackets.pcap", 15},
    {"sll2.pcap", 3},
    {"pcapng-example.pcapng", 159},
    {"dhcpv4v6-rfc5970-rfc8572.pcap", 14},
    {"forces2.pcap", 75},
    {"ipv4_invalid_length.pcap", 1},
    {"udp-length-heapoverflow.pcap", 1},
    {"LINKTYPE_IPV4.pcap", 1},
};

bool corpus_present() {
    std::error_code ec;
    return std::filesystem::is_directory(MMT_PCAP_DIR, ec);
}

} // namespace

TEST_CASE("every shared capture reads with the expected packet count", "[capture][corpus]") {
    if (!corpus_present()) {
        WARN("shared captures not found at " MMT_PCAP_DIR ": corpus test skipped");
        return;
    }
    STATIC_REQUIRE(sizeof kCorpus / sizeof kCorpus[0] == 44);
    uint64_t total = 0;
    for (const Expected& e : kCorpus) {
        std::string path = std::string(MMT_PCAP_DIR) + "/" + e.name;
        INFO(path);
        CaptureSource src;
        REQUIRE(src.open_file(path));
        std::map<uint32_t, uint64_t> per_linktype;
        Packet p;
        ReadStatus st;
        while ((st = src.next(p)) == ReadStatus::Ok) {
            ++per_linktype[p.linktype];
            CHECK(p.caplen <= 262144u);
            CHECK(p.ts_nsec < 1000000000u);
        }
        INFO(src.error());
        CHECK(src.packets() == e.packets);
        total += src.packets();
        if (std::string(e.name) == "fuzz-2021-10-13.pcap") {
            // Its one record is complete; two stray bytes of a second record header follow.
            CHECK(st == ReadStatus::Error);
            CHECK(src.error_kind() == CaptureError::Truncated);
            CHECK_THAT(src.error(),
                       Catch::Contains("record header needs 16 bytes, only 2 present"));
        } else {
            CHECK(st == ReadStatus::End);
        }
        if (std::string(e.name) == "pcapng-example.pcapng") {
            CHECK(per_linktype[1] == 59);
            CHECK(per_linktype[113] == 100);
        }
        if (std::string(e.name) == "psiphon3.pcap") CHECK(per_linktype[101] == 62);
        if (std::string(e.name) == "LINKTYPE_IPV4.pcap") CHECK(per_linktype[228] == 1);
        if (std::string(e.name) == "sll2.pcap") CHECK(per_linktype[276] == 3);
        if (std::string(e.name) == "BGP_redist.pcap") CHECK(per_linktype[104] == 2);
    }
    CHECK(total == 5044); // the README's total
}

TEST_CASE("GrePackets.pcap reports the interface of each packet", "[capture][corpus]") {
    if (!corpus_present()) {
        WARN("shared captures not found at " MMT_PCAP_DIR ": test skipped");
        return;
    }
    CaptureSource src;
    REQUIRE(src.open_file(std::string(MMT_PCAP_DIR) + "/GrePackets.pcap"));
    std::map<uint32_t, int> per_if;
    Packet p;
    while (src.next(p) == ReadStatus::Ok) ++per_if[p.ifindex];
    CHECK(per_if[0] == 6);
    CHECK(per_if[1] == 1);
}

// Our pcapng reader against libpcap's, on every pcapng file libpcap reads to the end.
TEST_CASE("pcapng reader agrees with libpcap", "[capture][pcapng]") {
    std::vector<std::string> files;
    TempFile generated;
    {
        PcapngWriter w;
        uint32_t a = w.interface(1, 0, 9);
        for (int i = 0; i < 20; ++i)
            w.packet(a, 1000 + i, static_cast<uint32_t>(i * 77777), udp_frame(i));
        REQUIRE(w.write(generated.path()));
        files.push_back(generated.path());
    }
    if (corpus_present()) {
        for (const char* n :
             {"gre.pcapng", "quic-33.pcapng", "quic_frags_ch_in_multiple_packets.pcapng",
              "ssh.pcap", "pop3.pcap", "http_ua_splitted_in_two_pkts.pcapng",
              "QinQ_802.1_AD.pcapng", "ipv6_options.pcap", "IcmpPackets.pcap"})
            files.push_back(std::string(MMT_PCAP_DIR) + "/" + n);
    }
    for (const std::string& path : files) {
        INFO(path);
        char err[PCAP_ERRBUF_SIZE];
        pcap_t* lp =
            pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
        REQUIRE(lp != nullptr);
        CaptureSource src;
        REQUIRE(src.open_file(path));
        REQUIRE(src.format() == CaptureFormat::Pcapng);
        Packet p;
        pcap_pkthdr* h;
        const u_char* d;
        size_t n = 0;
        for (;;) {
            int rc = pcap_next_ex(lp, &h, &d);
            ReadStatus st = src.next(p);
            if (rc != 1) {
                CHECK(rc == PCAP_ERROR_BREAK);
                CHECK(st == ReadStatus::End);
                break;
            }
            REQUIRE(st == ReadStatus::Ok);
            ++n;
            CHECK(p.ts_sec == static_cast<uint64_t>(h->ts.tv_sec));
            CHECK(p.ts_nsec == static_cast<uint32_t>(h->ts.tv_usec));
            CHECK(p.caplen == h->caplen);
            CHECK(p.wirelen == h->len);
            CHECK(p.linktype == linktype_from_dlt(pcap_datalink(lp)));
            CHECK(std::equal(p.data, p.data + p.caplen, d));
        }
        CHECK(n == src.packets());
        pcap_close(lp);
    }
}
