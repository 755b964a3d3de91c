// Handlers that split one input by flow (mmtrun --workers, --shard): the flow hash, frame
// numbers and flow ids, clocks moved over other handlers' packets, and summaries added up.
#include "journey_util.h"
#include "mmt/writer.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

using namespace mmt;
using namespace mmt::test;

namespace {

RawPacket raw_of(const Bytes& b, uint32_t linktype = 1, uint64_t ts_ns = 0) {
    RawPacket r;
    r.data = b.data();
    r.caplen = r.wirelen = uint32_t(b.size());
    r.linktype = linktype;
    r.ts_ns = ts_ns;
    return r;
}

uint64_t hash_of(const Bytes& b, uint32_t linktype = 1) {
    return flow_hash(raw_of(b, linktype));
}

} // namespace

TEST_CASE("flow_hash: both directions, every port, fragment and encapsulation agree", "[split]") {
    const uint64_t h = hash_of(udpPkt(1000, 53, "x", "10.0.0.1", "10.0.0.2"));
    CHECK(h != 0);
    // The other direction, other ports, other transports: the addresses decide.
    CHECK(hash_of(udpPkt(53, 1000, "x", "10.0.0.2", "10.0.0.1")) == h);
    CHECK(hash_of(tcpSeg(40000, 443, 1, SYN, "", "10.0.0.2", "10.0.0.1")) == h);
    CHECK(hash_of(PacketBuilder()
                      .eth()
                      .ipv4("10.0.0.1", "10.0.0.2")
                      .ip_id(7)
                      .frag(1480, false)
                      .ip_proto(17)
                      .payload("rest of the datagram")
                      .build()) == h);
    // Through VLAN tags, QinQ, Linux cooked captures and raw IP.
    CHECK(hash_of(PacketBuilder().eth().vlan(10).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build()) ==
          h);
    CHECK(hash_of(PacketBuilder()
                      .eth()
                      .svlan(5)
                      .vlan(10)
                      .ipv4("10.0.0.2", "10.0.0.1")
                      .udp(1, 2)
                      .build()) == h);
    CHECK(hash_of(PacketBuilder().sll().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build(), 113) == h);
    CHECK(hash_of(PacketBuilder().sll2().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build(), 276) == h);
    CHECK(hash_of(PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build(), 101) == h);
    CHECK(hash_of(PacketBuilder().null_link().ipv4("10.0.0.2", "10.0.0.1").udp(1, 2).build(), 0) ==
          h);
    // A tunnel's inner packets go with the outer addresses.
    CHECK(hash_of(PacketBuilder()
                      .eth()
                      .ipv4("10.0.0.1", "10.0.0.2")
                      .ipv4("192.168.0.1", "192.168.0.2")
                      .tcp(1, 2)
                      .build()) == h);
    // Other addresses, IPv6.
    CHECK(hash_of(udpPkt(1000, 53, "x", "10.0.0.1", "10.0.0.3")) != h);
    const uint64_t h6 =
        hash_of(PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").udp(1, 2).build());
    CHECK(h6 != 0);
    CHECK(hash_of(PacketBuilder().eth().ipv6("2001:db8::2", "2001:db8::1").tcp(3, 4).build()) ==
          h6);
    // No IP header found: 0, never a read past the packet.
    CHECK(hash_of(PacketBuilder()
                      .eth("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0806)
                      .payload("arp")
                      .build()) == 0);
    Bytes cut = udpPkt(1000, 53);
    cut.resize(20);
    CHECK(hash_of(cut) == 0);
    CHECK(hash_of(Bytes{}) == 0);
    CHECK(hash_of(udpPkt(1000, 53), 105) == 0); // a link type it does not look through
}

TEST_CASE("flow ids are frame numbers: a split input numbers its flows as a whole one", "[split]") {
    const std::vector<Bytes> packets = {udpPkt(1000, 53, "a", "10.0.0.1", "10.0.0.2"),
                                        udpPkt(1001, 53, "b", "10.0.0.3", "10.0.0.4"),
                                        udpPkt(53, 1000, "c", "10.0.0.2", "10.0.0.1"),
                                        udpPkt(1002, 53, "d", "10.0.0.1", "10.0.0.2"),
                                        udpPkt(1003, 53, "e", "10.0.0.3", "10.0.0.4")};
    HandlerOptions o;
    auto ids = [](const std::vector<SessionInfo>& s) {
        std::multiset<uint64_t> out;
        for (const auto& i : s) out.insert(i.id);
        return out;
    };
    Recorder whole({"frame.session", "frame.number"}, o);
    for (const auto& p : packets) whole.feed(p);
    whole.h.finish();
    CHECK(ids(whole.ended) == std::multiset<uint64_t>{1, 2, 4, 5});
    CHECK(whole.rows[2]["frame.session"] == "1"); // the reply joins the first packet's flow

    // Two handlers, each with the packets of one address pair, in their places.
    Recorder a({"frame.session", "frame.number"}, o), b({"frame.session", "frame.number"}, o);
    for (size_t i = 0; i < packets.size(); ++i) {
        RawPacket raw = raw_of(packets[i], 1, 1000000000000ull + i * 1000000ull);
        raw.number = i + 1;
        bool first_pair = i != 1 && i != 4;
        (first_pair ? a : b).h.process(raw);
        (first_pair ? b : a).h.advance(raw.ts_ns);
    }
    a.h.finish();
    b.h.finish();
    CHECK(ids(a.ended) == std::multiset<uint64_t>{1, 4});
    CHECK(ids(b.ended) == std::multiset<uint64_t>{2, 5});
    REQUIRE(b.rows.size() == 2);
    CHECK(b.rows[1]["frame.number"] == "5");
    CHECK(b.rows[1]["frame.session"] == "5");

    // A packet that starts a tunnel's flow and the flow inside it.
    Recorder t({"frame.session"}, o);
    t.feed(udpPkt(9, 9));
    Bytes vxlan = {0x08, 0, 0, 0, 0, 0, 1, 0}; // VNI 1, then the inner frame
    Bytes inner = PacketBuilder()
                      .eth()
                      .ipv4("192.168.0.1", "192.168.0.2")
                      .udp(5000, 5001)
                      .payload("x")
                      .build();
    vxlan.insert(vxlan.end(), inner.begin(), inner.end());
    auto& row = t.feed(
        PacketBuilder().eth().ipv4("10.1.0.1", "10.1.0.2").udp(40000, 4789).payload(vxlan).build());
    CHECK(row["path"] == "ethernet.ipv4.udp.vxlan.ethernet.ipv4.udp");
    t.h.finish();
    CHECK(ids(t.ended) == std::multiset<uint64_t>{1, 2, 2 + (uint64_t{1} << 48)});
}

TEST_CASE("advance: flows time out on the packet that passes their deadline", "[split]") {
    // The UDP flow of one handler times out while another handler takes the packets.
    Recorder mine({}, {}), whole({}, {});
    const uint64_t t0 = 1000000000000ull, minute = 60000000000ull;
    const Bytes dns = udpPkt(1000, 53);
    RawPacket first = raw_of(dns, 1, t0);
    mine.h.process(first);
    whole.h.process(first);
    const Bytes other = udpPkt(7, 7, "x", "10.9.0.1", "10.9.0.2");
    for (int m = 1; m <= 10; ++m) {
        RawPacket raw = raw_of(other, 1, t0 + uint64_t(m) * minute);
        mine.h.advance(raw.ts_ns);
        whole.h.process(raw);
        CHECK(mine.ended.size() ==
              size_t(std::count_if(whole.ended.begin(), whole.ended.end(),
                                   [](const SessionInfo& s) { return s.id == 1; })));
    }
    REQUIRE(mine.ended.size() == 1);
    CHECK(mine.ended[0].end_reason == "timeout");
}

TEST_CASE("Summary adds handlers' counters, hierarchies and applications", "[split]") {
    HandlerOptions o;
    o.count_paths = true;
    Recorder a({}, o), b({}, o), whole({}, o);
    const Bytes dns = udpPkt(1000, 53,
                             std::string("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                                         "\x01x\x00\x00\x01\x00\x01",
                                         19));
    const Bytes tcp = tcpSeg(4000, 80, 1, SYN, "", "10.0.0.5", "10.0.0.6");
    for (auto* r : {&a, &whole}) r->feed(dns);
    for (auto* r : {&b, &whole}) r->feed(tcp);
    for (auto* r : {&a, &b, &whole}) r->h.finish();
    Summary sum(a.h);
    sum.add(Summary(b.h));
    Summary one(whole.h);
    CHECK(sum.stats.packets == one.stats.packets);
    CHECK(sum.stats.sessions == one.stats.sessions);
    REQUIRE(sum.paths.size() == one.paths.size());
    for (size_t i = 0; i < one.paths.size(); ++i) {
        CHECK(sum.paths[i].path == one.paths[i].path);
        CHECK(sum.paths[i].packets == one.paths[i].packets);
    }
    REQUIRE(sum.applications.size() == one.applications.size());
    for (size_t i = 0; i < one.applications.size(); ++i) {
        CHECK(sum.applications[i].application == one.applications[i].application);
        CHECK(sum.applications[i].flows == one.applications[i].flows);
    }
}
