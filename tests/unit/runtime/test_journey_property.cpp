// The journey under hostile input: every attribute requested, 100,000 packets that are
// random, mutated from real-looking ones, cut at every length, on every link type, with
// clocks that jump. Nothing may crash (run it under the asan preset to catch reads
// outside a packet), every value must format, and sessions must all end once.
#include "journey_util.h"
#include "payloads.h"

#include "input/capture.h"

#include <filesystem>
#include <random>
#include <set>

using namespace mmt;
using namespace mmt::test;

namespace {

/// Packets to mutate: built ones for every protocol the library knows, plus the real
/// captures when the shared corpus is there.
std::vector<std::pair<Bytes, uint32_t>> seeds() {
    std::vector<std::pair<Bytes, uint32_t>> out;
    auto add = [&](Bytes b, uint32_t lt = 1) { out.push_back({std::move(b), lt}); };
    Bytes addr = {10, 1, 2, 3};
    add(PacketBuilder()
            .eth()
            .ipv4("10.0.0.1", "10.0.0.2")
            .udp(5353, 53)
            .payload(dns_message(7, "a.example", &addr))
            .build());
    add(PacketBuilder()
            .eth()
            .vlan(5)
            .ipv4("10.0.0.1", "10.0.0.2")
            .tcp(40000, 443)
            .flags(PSH | ACK)
            .payload(tls_client_hello("x.example"))
            .build());
    add(PacketBuilder()
            .eth()
            .ipv4("10.0.0.1", "10.0.0.2")
            .tcp(40001, 80)
            .flags(PSH | ACK)
            .payload("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
                     "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
            .build());
    add(PacketBuilder()
            .eth()
            .ipv6("2001:db8::1", "2001:db8::2")
            .ipv6_ext(0)
            .ipv6_frag(0, true, 3, 17)
            .udp(1, 53)
            .payload(dns_message(9, "b.example"))
            .build());
    add(PacketBuilder()
            .eth()
            .ipv4("10.0.0.1", "10.0.0.2")
            .icmp(3, 3)
            .payload(
                PacketBuilder().ipv4("10.0.0.2", "10.0.0.1").udp(53, 1000).payload("q").build())
            .build());
    add(PacketBuilder()
            .sll()
            .ipv4("10.0.0.1", "10.0.0.2")
            .udp(5060, 5060)
            .payload("INVITE sip:a@b SIP/2.0\r\nCall-ID: 1@x\r\n\r\n")
            .build(),
        113);
    add(PacketBuilder()
            .ipv4("10.0.0.1", "10.0.0.2")
            .frag(8, true)
            .ip_proto(17)
            .payload(Bytes(40, 1))
            .build(),
        228);
    std::error_code ec;
    if (std::filesystem::is_directory(MMT_PCAP_DIR, ec))
        for (const auto& e : std::filesystem::directory_iterator(MMT_PCAP_DIR)) {
            CaptureSource src;
            if (!src.open_file(e.path().string())) continue;
            Packet p;
            for (int n = 0; n < 40 && src.next(p) == ReadStatus::Ok; ++n)
                add(Bytes(p.data, p.data + p.caplen), p.linktype);
        }
    return out;
}

} // namespace

TEST_CASE("the journey survives 100,000 hostile packets with every attribute requested",
          "[journey][property]") {
    HandlerOptions opts;
    opts.max_sessions = 512; // small, so eviction runs all the time
    opts.max_buffered_bytes = 1 << 20;
    opts.count_paths = true;
    Handler h(builtinLibrary(), opts);
    std::vector<int> columns;
    for (const auto& name : builtinLibrary().attribute_names()) columns.push_back(h.request(name));
    REQUIRE(columns.size() > 100);
    size_t values = 0, deep = 0;
    h.on_packet([&](const PacketView& p) {
        if (p.path().size() >= 5) ++deep; // frame, link, network, transport, application
        for (int c : columns)
            for (const Value& v : p.values(c)) values += v.text().size() + 1;
        return Action::Continue;
    });
    std::set<uint64_t> started, ended;
    h.on_session_start([&](const SessionInfo& s) { CHECK(started.insert(s.id).second); });
    h.on_session_end([&](const SessionInfo& s) { CHECK(ended.insert(s.id).second); });

    auto pool = seeds();
    std::mt19937_64 rng(20261126);
    const uint32_t linktypes[] = {1, 113, 276, 0, 108, 101, 228, 229, 104, 147};
    uint64_t t = 1000000000ull * 1000000000ull / 1000; // some time in 2001
    for (int i = 0; i < 100000; ++i) {
        Bytes b;
        uint32_t lt;
        switch (rng() % 5) {
        case 0: { // random bytes
            b.resize(rng() % 200);
            for (auto& x : b) x = uint8_t(rng());
            lt = linktypes[rng() % std::size(linktypes)];
            break;
        }
        default: { // a seed with mutations
            const auto& s = pool[rng() % pool.size()];
            b = s.first;
            lt = rng() % 8 ? s.second : linktypes[rng() % std::size(linktypes)];
            int flips = int(rng() % 6);
            for (int k = 0; k < flips && !b.empty(); ++k) b[rng() % b.size()] = uint8_t(rng());
            if (!b.empty() && rng() % 3 == 0) b.resize(rng() % b.size()); // cut anywhere
            if (b.size() > 20 && rng() % 4 == 0)
                b[14 + rng() % 6] = rng() % 2 ? 0xff : 0x00; // extreme lengths
        }
        }
        t += rng() % 16 == 0 ? (rng() % 4) * 86400ull * 1000000000ull * 365
                             : rng() % 3000000; // jumps of years
        // Exactly the packet's bytes in their own allocation: ASan sees any read past them.
        std::unique_ptr<uint8_t[]> exact(new uint8_t[b.size() ? b.size() : 1]);
        std::copy(b.begin(), b.end(), exact.get());
        RawPacket raw{exact.get(), uint32_t(b.size()), uint32_t(b.size() + rng() % 3), lt, t};
        h.process(raw);
    }
    h.finish();
    CHECK(started == ended); // every session ended once, and was reported
    CHECK(h.stats().packets == 100000);
    CHECK(values > 0);
    CHECK(deep > 10000); // the mutants still reach applications often
}
