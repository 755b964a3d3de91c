// The packet journey through the public API: stages, target actions, user analysers and
// classifiers, sessions, timeouts and caps, TCP reassembly, IP fragments, link types.
#include "journey_util.h"
#include "payloads.h"
#include "pcap_writer.h"

using namespace mmt;
using namespace mmt::test;

TEST_CASE("the path and attributes of each layer", "[journey]") {
    Recorder r(
        {"ethernet.src", "ipv4.src", "ipv4.ttl", "tcp.dst_port", "frame.path", "frame.number"});
    auto row = r.feed(PacketBuilder()
                          .eth("02:00:00:00:00:aa", "02:00:00:00:00:bb")
                          .ipv4("1.2.3.4", "5.6.7.8")
                          .ttl(7)
                          .tcp(1234, 80)
                          .flags(SYN)
                          .build());
    CHECK(row["path"] == "ethernet.ipv4.tcp");
    CHECK(row["frame.path"] == "ethernet.ipv4.tcp");
    CHECK(row["ethernet.src"] == "02:00:00:00:00:aa");
    CHECK(row["ipv4.src"] == "1.2.3.4");
    CHECK(row["ipv4.ttl"] == "7");
    CHECK(row["tcp.dst_port"] == "80");
    CHECK(row["frame.number"] == "1");
}

TEST_CASE("every occurrence of an attribute, in path order", "[journey]") {
    Recorder r({"ipv4.src", "vlan.id"});
    // IPv4 in IPv4 inside two VLAN tags.
    Bytes inner = PacketBuilder().ipv4("192.168.0.1", "192.168.0.2").udp(1, 2).payload("x").build();
    auto row = r.feed(PacketBuilder()
                          .eth()
                          .vlan(100)
                          .vlan(200)
                          .ipv4("10.1.1.1", "10.2.2.2")
                          .ip_proto(4)
                          .payload(inner)
                          .build());
    CHECK(row["path"] == "ethernet.vlan.vlan.ipv4.ipv4.udp");
    CHECK(row["ipv4.src"] == "10.1.1.1,192.168.0.1");
    CHECK(row["vlan.id"] == "100,200");
}

TEST_CASE("truncated and malformed packets name the protocol and field", "[journey]") {
    Recorder r({"ipv4.src", "frame.truncated", "frame.malformed"});
    Bytes p = PacketBuilder().eth().ipv4(kClient, kServer).udp(1, 2).payload("abc").build();
    Bytes cut(p.begin(), p.begin() + 14 + 10);
    auto t = r.feed(cut);
    CHECK(t["frame.truncated"] == "ipv4.checksum");
    CHECK(t["malformed"].empty());
    Bytes bad = p;
    bad[14] = 0x46 + 0x10; // version 5
    auto m = r.feed(bad);
    CHECK(m["frame.malformed"] == "ipv4.version");
    CHECK(m["path"] == "ethernet.ipv4");
}

TEST_CASE("packet callbacks and analysers steer the journey", "[journey]") {
    Handler h(builtinLibrary());
    std::vector<std::string> seen;
    h.add_analyser("ipv4", 10, [&](const PacketView& p, const Layer&) {
        seen.push_back("ipv4#" + std::to_string(p.number()));
        return p.number() == 2 ? Action::Skip : p.number() == 3 ? Action::Drop : Action::Continue;
    });
    h.add_analyser("ipv4", 20, [&](const PacketView&, const Layer&) {
        seen.push_back("first");
        return Action::Continue;
    });
    std::vector<std::string> paths;
    h.on_packet([&](const PacketView& p) {
        paths.push_back(p.path_text());
        return p.number() == 4 ? Action::Drop : Action::Continue;
    });
    Bytes pkt = udpPkt(1000, 53);
    RawPacket raw{pkt.data(), uint32_t(pkt.size()), uint32_t(pkt.size()), 1, 1};
    CHECK(h.process(raw) == Action::Continue);
    CHECK(h.process(raw) == Action::Continue); // Skip: ends the path at ipv4
    CHECK(h.process(raw) == Action::Drop);     // Drop: stops at once, no packet callback
    CHECK(h.process(raw) == Action::Drop);     // the packet callback's own verdict
    REQUIRE(paths.size() == 3);
    CHECK(paths[0] == "ethernet.ipv4.udp.dns");
    CHECK(paths[1] == "ethernet.ipv4");
    CHECK(seen[0] == "first"); // weight 20 runs before weight 10
    CHECK(seen[1] == "ipv4#1");
}

TEST_CASE("user classifiers compete with compiled rules by weight", "[journey]") {
    Handler h(builtinLibrary());
    std::vector<std::string> paths;
    h.on_packet([&](const PacketView& p) {
        paths.push_back(p.path_text());
        return Action::Continue;
    });
    // Above every compiled rule: claims DNS for anything on port 9999.
    h.add_classifier("udp", 1000, [](const PacketView& p, const Layer&) {
        return p.caplen() > 0 && p.path().size() && p.data()[36] == 0x27 && p.data()[37] == 0x0f
                   ? "dns"
                   : "";
    });
    // Below the port rule for 53: never consulted for DNS on port 53.
    bool lowAsked = false;
    h.add_classifier("udp", 1, [&](const PacketView&, const Layer&) {
        lowAsked = true;
        return "";
    });
    Bytes a = udpPkt(5000, 9999), b = udpPkt(5000, 53);
    h.process(RawPacket{a.data(), uint32_t(a.size()), uint32_t(a.size()), 1, 1});
    CHECK(paths.back() == "ethernet.ipv4.udp.dns");
    h.process(RawPacket{b.data(), uint32_t(b.size()), uint32_t(b.size()), 1, 2});
    CHECK(paths.back() == "ethernet.ipv4.udp.dns");
    CHECK_FALSE(lowAsked);
}

TEST_CASE("both directions share a session; sessions end with a reason", "[journey][session]") {
    Recorder r({"frame.session", "frame.direction"});
    auto a = r.feed(udpPkt(4000, 53, "q", kClient, kServer));
    auto b = r.feed(udpPkt(53, 4000, "r", kServer, kClient));
    CHECK(a["frame.session"] == b["frame.session"]);
    CHECK(a["frame.direction"] == "0");
    CHECK(b["frame.direction"] == "1");
    REQUIRE(r.started.size() == 1);
    CHECK(r.started[0].src == kClient);
    CHECK(r.started[0].dst_port == 53);
    r.h.finish();
    REQUIRE(r.ended.size() == 1);
    CHECK(r.ended[0].end_reason == "end of input");
    CHECK(r.ended[0].packets[0] == 1);
    CHECK(r.ended[0].packets[1] == 1);
    CHECK(r.ended[0].application == "dns");
}

TEST_CASE("a session times out by packet time, and is reported before the next starts",
          "[journey][session]") {
    Recorder r({"frame.session"});
    auto first = r.feed(udpPkt(4000, 53))["frame.session"];
    // UDP sessions last 120 s without packets.
    auto second = r.feed(udpPkt(4000, 53), 1, 121000)["frame.session"];
    CHECK(first != second);
    REQUIRE(r.ended.size() == 1);
    CHECK(r.ended[0].end_reason == "timeout");
    // A jump of years costs no more than any other packet.
    auto third = r.feed(udpPkt(4000, 53), 1, 10ull * 365 * 24 * 3600 * 1000)["frame.session"];
    CHECK(third != second);
    CHECK(r.ended.size() == 2);
}

TEST_CASE("the session cap evicts the least recently used session, reported first",
          "[journey][session]") {
    HandlerOptions o;
    o.max_sessions = 2;
    Recorder r({"frame.session"}, o);
    r.feed(udpPkt(1, 53));
    r.feed(udpPkt(2, 53));
    r.feed(udpPkt(1, 53)); // session 1 is now the most recent
    r.feed(udpPkt(3, 53)); // evicts session 2
    REQUIRE(r.ended.size() == 1);
    CHECK(r.ended[0].end_reason == "evicted");
    CHECK(r.ended[0].src_port == 2);
}

TEST_CASE("VLAN ids and tunnels keep flows apart", "[journey][session]") {
    Recorder r({"frame.session"});
    auto a = r.feed(PacketBuilder()
                        .eth()
                        .vlan(10)
                        .ipv4(kClient, kServer)
                        .udp(1, 53)
                        .payload("x")
                        .build())["frame.session"];
    auto b = r.feed(PacketBuilder()
                        .eth()
                        .vlan(20)
                        .ipv4(kClient, kServer)
                        .udp(1, 53)
                        .payload("x")
                        .build())["frame.session"];
    CHECK(a != b);
    Bytes inner =
        PacketBuilder().ipv4("192.168.0.1", "192.168.0.2").udp(7, 53).payload("x").build();
    auto c = r.feed(PacketBuilder()
                        .eth()
                        .ipv4("1.1.1.1", "2.2.2.2")
                        .ip_proto(4)
                        .payload(inner)
                        .build())["frame.session"];
    auto d = r.feed(PacketBuilder()
                        .eth()
                        .ipv4("3.3.3.3", "4.4.4.4")
                        .ip_proto(4)
                        .payload(inner)
                        .build())["frame.session"];
    CHECK(c != d);
}

TEST_CASE("TCP: in-order delivery, out-of-order held, retransmission ignored", "[journey][tcp]") {
    Recorder r({"http.host", "http.method"});
    std::string req = "GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n";
    r.feed(tcpSeg(5555, 80, 100, SYN));
    r.feed(tcpSeg(80, 5555, 900, SYN | ACK, "", kServer, kClient));
    // The request in three segments, the last two swapped.
    std::string p1 = req.substr(0, 10), p2 = req.substr(10, 20), p3 = req.substr(30);
    auto a = r.feed(tcpSeg(5555, 80, 101, ACK, p1));
    CHECK(a["http.host"].empty());
    auto c = r.feed(tcpSeg(5555, 80, 101 + 30, ACK, p3));
    CHECK(c["http.host"].empty()); // held: a gap before it
    CHECK(c["path"] == "ethernet.ipv4.tcp");
    auto b = r.feed(tcpSeg(5555, 80, 101 + 10, ACK, p2));
    CHECK(b["http.host"] == "example.com"); // the gap fills: the whole head is parsed once
    CHECK(b["http.method"] == "GET");
    auto again = r.feed(tcpSeg(5555, 80, 101 + 10, ACK, p2));
    CHECK(again["http.host"].empty()); // a retransmission delivers nothing new
}

TEST_CASE("TCP: several PDUs in one segment, one PDU over several segments", "[journey][tcp]") {
    Recorder r({"http.host"});
    r.feed(tcpSeg(6000, 80, 1, SYN));
    std::string one = "GET /a HTTP/1.1\r\nHost: a.example\r\n\r\n";
    std::string two = "GET /b HTTP/1.1\r\nHost: b.example\r\n\r\n";
    auto both = r.feed(tcpSeg(6000, 80, 2, ACK, one + two));
    CHECK(both["http.host"] == "a.example,b.example");
    CHECK(both["path"] == "ethernet.ipv4.tcp.http");
    uint32_t seq = 2 + uint32_t(one.size() + two.size());
    std::string three = "GET /c HTTP/1.1\r\nHost: c.example\r\n\r\n";
    for (size_t i = 0; i < three.size(); i += 7) {
        auto row = r.feed(tcpSeg(6000, 80, seq + uint32_t(i), ACK, three.substr(i, 7)));
        if (i + 7 >= three.size())
            CHECK(row["http.host"] == "c.example");
        else
            CHECK(row["http.host"].empty());
    }
}

TEST_CASE("IPv4 fragments in any order", "[journey][fragments]") {
    std::string payload(64, 'x');
    Bytes whole = PacketBuilder().ipv4(kClient, kServer).udp(3333, 53).payload(payload).build();
    // The UDP datagram (header + payload) cut into 3 fragments of 24, 24 and the rest.
    Bytes udp(whole.begin() + 20, whole.end());
    auto frag = [&](uint16_t off, size_t n, bool more) {
        Bytes part(udp.begin() + off, udp.begin() + long(std::min(udp.size(), size_t(off) + n)));
        return PacketBuilder()
            .eth()
            .ipv4(kClient, kServer)
            .ip_id(77)
            .ip_proto(17)
            .frag(off, more)
            .payload(part)
            .build();
    };
    std::vector<Bytes> frags = {frag(0, 24, true), frag(24, 24, true), frag(48, 100, false)};
    std::vector<std::vector<int>> orders = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {2, 0, 1}};
    for (auto order : orders) {
        Recorder r({"udp.dst_port", "udp.length"});
        for (size_t k = 0; k < order.size(); ++k) {
            auto row = r.feed(frags[size_t(order[k])]);
            if (k + 1 < order.size()) {
                CHECK(row["udp.length"].empty());
            } else {
                CHECK(row["udp.dst_port"] == "53");
                CHECK(row["udp.length"] == std::to_string(udp.size()));
            }
        }
    }
}

TEST_CASE("IPv6 fragments", "[journey][fragments]") {
    std::string payload(40, 'y');
    Bytes whole =
        PacketBuilder().ipv6("2001:db8::1", "2001:db8::2").udp(4444, 53).payload(payload).build();
    Bytes udp(whole.begin() + 40, whole.end());
    Bytes p0(udp.begin(), udp.begin() + 24), p1(udp.begin() + 24, udp.end());
    Recorder r({"udp.dst_port"});
    auto first = r.feed(PacketBuilder()
                            .eth()
                            .ipv6("2001:db8::1", "2001:db8::2")
                            .ipv6_frag(24, false, 9, 17)
                            .payload(p1)
                            .build());
    CHECK(first["udp.dst_port"].empty());
    auto second = r.feed(PacketBuilder()
                             .eth()
                             .ipv6("2001:db8::1", "2001:db8::2")
                             .ipv6_frag(0, true, 9, 17)
                             .payload(p0)
                             .build());
    CHECK(second["udp.dst_port"] == "53");
    CHECK(second["path"] == "ethernet.ipv6.ipv6_frag.udp.dns");
}

TEST_CASE("every link type", "[journey][link]") {
    Recorder r({"ipv4.src", "ipv6.src"});
    Bytes ip4 = PacketBuilder().ipv4(kClient, kServer).udp(1, 2).payload("x").build();
    Bytes ip6 = PacketBuilder().ipv6("2001:db8::1", "2001:db8::2").udp(1, 2).payload("x").build();
    CHECK(r.feed(PacketBuilder().sll().ipv4(kClient, kServer).udp(1, 2).payload("x").build(),
                 113)["path"] == "sll.ipv4.udp");
    CHECK(r.feed(PacketBuilder().sll2().ipv4(kClient, kServer).udp(1, 2).payload("x").build(),
                 276)["path"] == "sll2.ipv4.udp");
    CHECK(
        r.feed(
            PacketBuilder().null_link(false).ipv4(kClient, kServer).udp(1, 2).payload("x").build(),
            0)["path"] == "null.ipv4.udp");
    CHECK(r.feed(PacketBuilder()
                     .null_link(true)
                     .ipv6("2001:db8::1", "2001:db8::2")
                     .udp(1, 2)
                     .payload("x")
                     .build(),
                 108)["path"] == "null.ipv6.udp");
    CHECK(r.feed(ip4, 228)["path"] == "ipv4.udp");
    CHECK(r.feed(ip6, 229)["path"] == "ipv6.udp");
    CHECK(r.feed(ip4, 101)["ipv4.src"] == kClient);
    CHECK(r.feed(ip6, 101)["ipv6.src"] == "2001:db8::1");
    CHECK(r.feed(PacketBuilder().eth().ipv4(kClient, kServer).udp(1, 2).payload("x").build(),
                 1)["path"] == "ethernet.ipv4.udp");
}

TEST_CASE("per-session state declared in a spec lives as long as the session",
          "[journey][session]") {
    Recorder r({"http.request_number"});
    r.feed(tcpSeg(7000, 80, 1, SYN));
    std::string a = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n", b = "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(r.feed(tcpSeg(7000, 80, 2, ACK, a))["http.request_number"] == "1");
    CHECK(r.feed(tcpSeg(7000, 80, 2 + uint32_t(a.size()), ACK, b + b))["http.request_number"] ==
          "2,3");
    // Another session counts from one.
    r.feed(tcpSeg(7001, 80, 1, SYN));
    CHECK(r.feed(tcpSeg(7001, 80, 2, ACK, a))["http.request_number"] == "1");
}

TEST_CASE("fields may depend on the direction, the session's state and the protocol below",
          "[journey][session]") {
    auto lib = libraryWithSpec(R"(protocol stateful {
    id 9300;
    over udp port 9300;
    state { seen : u8 = 0; }
    header {
        a : u8;
        b : u8 if direction == 1;
        c : u8 if seen > 0;
        d : u8 if parent.src_port == 9300;
    }
    update seen = seen + 1;
    attribute a, b, c, d;
    attribute before : u8 = seen;
}
)");
    Recorder r({"stateful.a", "stateful.b", "stateful.c", "stateful.d", "stateful.before"}, {},
               *lib);
    auto first = r.feed(udpPkt(1234, 9300, "\x01\x02\x03\x04"));
    CHECK(first["stateful.a"] == "1");
    CHECK(first["stateful.b"].empty());
    CHECK(first["stateful.c"].empty()); // nothing seen before the first packet
    CHECK(first["stateful.d"].empty());
    CHECK(first["stateful.before"] == "0"); // attributes see the state the fields saw
    auto reply = r.feed(udpPkt(9300, 1234, "\x05\x06\x07\x08", kServer, kClient));
    CHECK(reply["stateful.b"] == "6");
    CHECK(reply["stateful.c"] == "7");
    CHECK(reply["stateful.d"] == "8");
    CHECK(reply["stateful.before"] == "1");
    auto third = r.feed(udpPkt(1234, 9300, "\x09\x0a\x0b"));
    CHECK(third["stateful.b"].empty());
    CHECK(third["stateful.c"] == "10");
    CHECK(third["malformed"].empty());
}

TEST_CASE("two protocols of one session each keep their own state, initialised and released",
          "[journey][session]") {
    // The session's first stateful protocol has the room after its flow data; the other
    // one's state lives in a block of its own, made when it first asks.
    auto lib = libraryWithSpec(R"(protocol outer_state {
    id 9302;
    over udp port 9302;
    state { n : u32 = 5; kept : bytes max 64; }
    header { a : u8; }
    attribute count : u32 = n;
    attribute previous : string = kept;
    update n = n + 1;
    update kept = concat(kept, "o");
}
protocol inner_state {
    id 9303;
    over outer_state when len(payload) > 0;
    state { m : u32 = 100; kept : bytes max 64; }
    header { b : u8; }
    attribute count : u32 = m;
    attribute previous : string = kept;
    update m = m + 10;
    update kept = concat(kept, "i");
}
)");
    Recorder r(
        {"outer_state.count", "outer_state.previous", "inner_state.count", "inner_state.previous"},
        {}, *lib);
    auto first = r.feed(udpPkt(1234, 9302, "\x01\x02"));
    CHECK(first["outer_state.count"] == "5");
    CHECK(first["inner_state.count"] == "100");
    auto second = r.feed(udpPkt(9302, 1234, "\x03\x04", kServer, kClient));
    CHECK(second["outer_state.count"] == "6");
    CHECK(second["outer_state.previous"] == "o");
    CHECK(second["inner_state.count"] == "110");
    CHECK(second["inner_state.previous"] == "i");
    auto third = r.feed(udpPkt(1234, 9302, "\x05"));
    CHECK(third["outer_state.count"] == "7");
    CHECK(third["outer_state.previous"] == "oo");
    CHECK(third["inner_state.count"].empty()); // no payload for it
    // Another session starts from the initial values.
    auto other = r.feed(udpPkt(1235, 9302, "\x06\x07"));
    CHECK(other["outer_state.count"] == "5");
    CHECK(other["inner_state.count"] == "100");
    CHECK(other["inner_state.previous"].empty());
}

TEST_CASE("values other expressions use are computed once a packet, and again after the state "
          "changes",
          "[journey][session][memo]") {
    // `label` is used by other attributes and by an update (its getter keeps its value in
    // the layer's memo); `count` changes first in the updates, so the update of `last`
    // sees the label of the new count, as updates always did.
    auto lib = libraryWithSpec(R"(protocol memo_demo {
    id 9301;
    over udp port 9301;
    state { count : u32 = 0; last : bytes max 64; }
    header { a : u8; }
    attribute label : string = concat("n", count, "-", a);
    attribute twice : string = concat(label, "|", label);
    attribute both : string = concat(twice, "|", label, "|", direction);
    attribute previous : string = last;
    update count = count + 1;
    update last = concat(label, "|", twice);
}
)");
    Recorder r({"memo_demo.label", "memo_demo.twice", "memo_demo.both", "memo_demo.previous"}, {},
               *lib);
    auto first = r.feed(udpPkt(1234, 9301, "\x01"));
    CHECK(first["memo_demo.label"] == "n0-1");
    CHECK(first["memo_demo.twice"] == "n0-1|n0-1");
    CHECK(first["memo_demo.both"] == "n0-1|n0-1|n0-1|0");
    CHECK(first["memo_demo.previous"].empty());
    auto reply = r.feed(udpPkt(9301, 1234, "\x02", kServer, kClient));
    CHECK(reply["memo_demo.label"] == "n1-2");
    CHECK(reply["memo_demo.both"] == "n1-2|n1-2|n1-2|1");
    CHECK(reply["memo_demo.previous"] == "n1-1|n1-1|n1-1"); // after the first count update
    auto third = r.feed(udpPkt(1234, 9301, "\x03"));
    CHECK(third["memo_demo.twice"] == "n2-3|n2-3");
    CHECK(third["memo_demo.previous"] == "n2-2|n2-2|n2-2");
}

TEST_CASE("stages run in order: events while analysing, then analysers, then the packet callback",
          "[journey]") {
    Handler h(builtinLibrary());
    std::vector<std::string> order;
    h.on_attribute("http.host", [&](const PacketView&, const Value& v) {
        order.push_back("event " + v.text());
        return Action::Continue;
    });
    h.add_analyser("tcp", 1, [&](const PacketView&, const Layer&) {
        order.push_back("analyser tcp");
        return Action::Continue;
    });
    h.add_analyser("http", 1, [&](const PacketView& p, const Layer& l) {
        order.push_back("analyser http at depth " + std::to_string(l.depth) + " of " +
                        p.path_text());
        return Action::Continue;
    });
    h.on_packet([&](const PacketView&) {
        order.push_back("packet");
        return Action::Continue;
    });
    Bytes syn = tcpSeg(7100, 80, 1, SYN);
    Bytes req = tcpSeg(7100, 80, 2, ACK, "GET / HTTP/1.1\r\nHost: h.example\r\n\r\n");
    h.process(RawPacket{syn.data(), uint32_t(syn.size()), uint32_t(syn.size()), 1, 1});
    order.clear();
    h.process(RawPacket{req.data(), uint32_t(req.size()), uint32_t(req.size()), 1, 2});
    REQUIRE(order.size() == 4);
    CHECK(order[0] == "analyser tcp");
    CHECK(order[1] == "event h.example");
    CHECK(order[2] == "analyser http at depth 4 of ethernet.ipv4.tcp.http");
    CHECK(order[3] == "packet");
}

TEST_CASE("overlapping fragments are reported; the first arrival wins", "[journey][fragments]") {
    Bytes whole =
        PacketBuilder().ipv4(kClient, kServer).udp(3333, 53).payload(std::string(40, 'a')).build();
    Bytes udp(whole.begin() + 20, whole.end());
    auto frag = [&](uint16_t off, size_t n, bool more, uint8_t fill) {
        Bytes part(udp.begin() + off, udp.begin() + long(std::min(udp.size(), size_t(off) + n)));
        if (fill && off >= 8) std::fill(part.begin(), part.end(), fill);
        return PacketBuilder()
            .eth()
            .ipv4(kClient, kServer)
            .ip_id(99)
            .ip_proto(17)
            .frag(off, more)
            .payload(part)
            .build();
    };
    Recorder r({"udp.dst_port", "frame.malformed"});
    r.feed(frag(0, 24, true, 0));
    auto second = r.feed(frag(16, 16, true, 'b')); // overlaps bytes 16..23
    CHECK(second["frame.malformed"] == "ipv4.fragment_overlap");
    auto last = r.feed(frag(32, 100, false, 0));
    CHECK(last["udp.dst_port"] == "53");
    CHECK(r.h.stats().fragment_overlaps == 1);
}

TEST_CASE("HTTP bodies: a short one completes its message, a long one is stepped over",
          "[journey][tcp]") {
    Recorder r({"http.status_code", "http.content_length"});
    r.feed(tcpSeg(80, 7200, 1, SYN, "", kServer, kClient));
    TcpSide server{r, 80, 7200, kServer, kClient};
    auto send = [&](const std::string& data) { return server.send(data); };
    // A short body: the message is parsed on the packet that completes it.
    CHECK(send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345")["http.status_code"].empty());
    CHECK(send("67890")["http.status_code"] == "200");
    // A chunked body: the same, once the last chunk has come.
    CHECK(send("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n")
              ["http.status_code"]
                  .empty());
    CHECK(send("0\r\n\r\n")["http.status_code"] == "201");
    // A long body: the head is parsed at once, the body is skipped without being kept.
    CHECK(send("HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n")["http.content_length"] ==
          "300000");
    std::string chunk(1400, 'x');
    for (size_t left = 300000; left > 0;) {
        size_t n = std::min(left, chunk.size());
        CHECK(send(chunk.substr(0, n))["http.status_code"].empty());
        left -= n;
    }
    CHECK(send("HTTP/1.1 304 Not Modified\r\n\r\n")["http.status_code"] == "304");
    // 1xx, 204 and 304 responses have no body, even with a Content-Length: the next
    // message follows at once.
    CHECK(send("HTTP/1.1 304 Not Modified\r\nContent-Length: 5000\r\n\r\n")["http.status_code"] ==
          "304");
    CHECK(send("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n")["http.status_code"] ==
          "204");
    CHECK(send("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
              ["http.status_code"] == "100,200");
}

TEST_CASE("HandlerOptions::max_kept_body: how long a body is kept with its head",
          "[journey][tcp]") {
    for (uint32_t kept : {64u << 10, 8u}) {
        HandlerOptions o;
        o.max_kept_body = kept;
        Recorder r({"http.status_code"}, o);
        r.feed(tcpSeg(80, 7300, 1, SYN, "", kServer, kClient));
        TcpSide server{r, 80, 7300, kServer, kClient};
        std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
        if (kept >= 10) {
            // Kept: the message is parsed on the packet that completes its body.
            CHECK(server.send(head + "12345")["http.status_code"].empty());
            CHECK(server.send("67890")["http.status_code"] == "200");
        } else {
            // Longer than what is kept: the head is parsed at once, the body stepped over.
            CHECK(server.send(head + "12345")["http.status_code"] == "200");
            CHECK(server.send("67890")["http.status_code"].empty());
        }
        CHECK(server.send("HTTP/1.1 304 Not Modified\r\n\r\n")["http.status_code"] == "304");
    }
}

TEST_CASE("PPPoE: discovery tags, and sessions carrying PPP then IP", "[journey]") {
    auto pppoe = [](uint16_t ethertype, uint8_t code, uint16_t session, const Bytes& body,
                    size_t padding = 0) {
        Bytes b = {0x11,
                   code,
                   uint8_t(session >> 8),
                   uint8_t(session),
                   uint8_t(body.size() >> 8),
                   uint8_t(body.size())};
        b.reserve(b.size() + body.size() + padding);
        b.insert(b.end(), body.begin(), body.end());
        b.resize(b.size() + padding, 0); // Ethernet padding after the PPPoE payload
        return PacketBuilder()
            .eth("02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", ethertype)
            .payload(b)
            .build();
    };
    Recorder r({"pppoe.code", "pppoe.session_id", "pppoe.payload_length", "pppoe.service_name",
                "pppoe.ac_name", "ppp.protocol", "ipv4.src", "udp.dst_port", "dns.qname"});
    // PADO: an AC-Name, an empty Service-Name.
    Bytes tags = {0x01, 0x02, 0x00, 0x03, 'a', 'c', '1', 0x01, 0x01, 0x00, 0x00};
    auto pado = r.feed(pppoe(0x8863, 0x07, 0, tags));
    CHECK(pado["path"] == "ethernet.pppoe");
    CHECK(pado["pppoe.code"] == "7");
    CHECK(pado["pppoe.ac_name"] == "ac1");
    CHECK(pado["pppoe.service_name"] == "");
    CHECK(pado["frame.malformed"].empty());
    // A session packet: PPP protocol 0x0021, then IPv4, then padding the IP layer ignores.
    Bytes ip = PacketBuilder()
                   .ipv4("100.64.0.2", "8.8.8.8")
                   .udp(5000, 53)
                   .payload(dns_message(1, "pppoe.example"))
                   .build();
    Bytes ppp = {0x00, 0x21};
    ppp.insert(ppp.end(), ip.begin(), ip.end());
    auto data = r.feed(pppoe(0x8864, 0x00, 0x1234, ppp, 6));
    CHECK(data["path"] == "ethernet.pppoe.ppp.ipv4.udp.dns");
    CHECK(data["pppoe.session_id"] == "4660");
    CHECK(data["pppoe.payload_length"] == std::to_string(ppp.size()));
    CHECK(data["ppp.protocol"] == "33");
    CHECK(data["ipv4.src"] == "100.64.0.2");
    CHECK(data["dns.qname"] == "pppoe.example");
    // PPP and PPPoE as link types: LINKTYPE_PPP (9), PPP_HDLC (50), PPP_ETHER (51).
    Bytes hdlc = {0xff, 0x03};
    hdlc.insert(hdlc.end(), ppp.begin(), ppp.end());
    CHECK(r.feed(hdlc, 9)["path"] == "ppp.ipv4.udp.dns");
    CHECK(r.feed(hdlc, 50)["ipv4.src"] == "100.64.0.2");
    Bytes bare = pppoe(0x8864, 0x00, 0x1234, ppp);
    bare.erase(bare.begin(), bare.begin() + 14);
    CHECK(r.feed(bare, 51)["path"] == "pppoe.ppp.ipv4.udp.dns");
    // A length past the captured bytes: truncated, not misread.
    Bytes cut = pppoe(0x8864, 0x00, 0x1234, ppp);
    cut.resize(cut.size() - 10);
    CHECK_FALSE(r.feed(cut)["truncated"].empty());
}

TEST_CASE("Geneve: Ethernet or IP inside, after options", "[journey]") {
    auto geneve = [](uint16_t ethertype, uint32_t vni, const Bytes& options, const Bytes& inner) {
        return PacketBuilder()
            .eth()
            .ipv4(kClient, kServer)
            .udp(40000, 6081)
            .payload(join({geneve_header(ethertype, vni, options), options, inner}))
            .build();
    };
    Recorder r(
        {"geneve.vni", "geneve.ethertype", "geneve.options_length", "ipv4.src", "udp.dst_port"});
    Bytes frame = PacketBuilder()
                      .eth("0a:00:00:00:00:01", "0a:00:00:00:00:02")
                      .ipv4("192.168.1.1", "192.168.1.2")
                      .udp(1111, 3333)
                      .payload("hello")
                      .build();
    auto bridged = r.feed(geneve(0x6558, 0x123456, {0x01, 0x02, 0x80, 0x01, 1, 2, 3, 4}, frame));
    CHECK(bridged["path"] == "ethernet.ipv4.udp.geneve.ethernet.ipv4.udp");
    CHECK(bridged["geneve.vni"] == "1193046");
    CHECK(bridged["geneve.options_length"] == "8");
    CHECK(bridged["ipv4.src"] == std::string(kClient) + ",192.168.1.1");
    CHECK(bridged["udp.dst_port"] == "6081,3333");
    Bytes packet = PacketBuilder().ipv4("172.16.0.1", "172.16.0.2").udp(3, 4).payload("x").build();
    auto routed = r.feed(geneve(0x0800, 7, {}, packet));
    CHECK(routed["path"] == "ethernet.ipv4.udp.geneve.ipv4.udp");
    CHECK(routed["geneve.ethertype"] == "2048");
    // Options cut short by the capture: truncated, not misread.
    Bytes cut = geneve(0x0800, 7, Bytes(8, 0), {});
    cut.resize(cut.size() - 4);
    auto row = r.feed(cut);
    CHECK_FALSE(row["truncated"].empty());
    CHECK(row["geneve.vni"] == "7"); // the fields that fit are still shown, as tshark does
}

TEST_CASE("Teredo: IPv6 over UDP 3544, after its indicators", "[journey]") {
    Recorder r(
        {"teredo_origin.port", "teredo_auth.nonce", "ipv6.src", "udp.dst_port", "dns.qname"});
    std::vector<Bytes> teredo = teredo_packets();
    CHECK(r.feed(teredo[0])["path"] == "ethernet.ipv4.udp.teredo.ipv6");
    // The same session: each packet classified for what it starts with.
    auto withOrigin = r.feed(teredo[1]);
    CHECK(withOrigin["path"] == "ethernet.ipv4.udp.teredo.teredo_origin.ipv6.udp.dns");
    CHECK(withOrigin["teredo_origin.port"] == "4660");
    CHECK(withOrigin["dns.qname"] == "teredo.example");
    auto both = r.feed(teredo[2]);
    CHECK(both["path"] == "ethernet.ipv4.udp.teredo.teredo_auth.teredo_origin.ipv6.udp.dns");
    CHECK(both["teredo_auth.nonce"] == "01:02:03:04:05:06:07:08");
    CHECK(both["ipv6.src"] == "2001:0:4136:e378:8000:63bf:3fff:fdd2");
    // Port 3544 with something else on it is not Teredo.
    auto dns = r.feed(PacketBuilder()
                          .eth()
                          .ipv4(kClient, kServer)
                          .udp(3544, 53)
                          .payload(dns_message(0x6123, "not.teredo"))
                          .build());
    CHECK(dns["path"] == "ethernet.ipv4.udp.dns");
}

TEST_CASE("802.11 with and without radiotap: addresses by DS bits, LLC/SNAP, then IP",
          "[journey]") {
    Recorder r({"wlan.sa", "wlan.da", "wlan.bssid", "wlan.ra", "wlan.ta", "wlan.sequence_number",
                "llc.ethertype", "ipv4.src", "dns.qname", "radiotap.channel_frequency",
                "radiotap.fcs_at_end"});
    Bytes snap = {0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00};
    Bytes ip = PacketBuilder()
                   .ipv4("192.168.0.10", "8.8.4.4")
                   .udp(5353, 53)
                   .payload(dns_message(3, "abc.com"))
                   .build();
    snap.insert(snap.end(), ip.begin(), ip.end());
    auto mac = [](uint8_t last) { return Bytes{0x00, 0x11, 0x22, 0x33, 0x44, last}; };
    // Frame control, duration, addresses, sequence control, then the rest.
    auto frame = [&](uint8_t fc0, uint8_t fc1, std::vector<Bytes> addrs, bool seq, Bytes rest) {
        Bytes b = {fc0, fc1, 44, 0};
        for (size_t i = 0; i < addrs.size(); ++i) {
            b.insert(b.end(), addrs[i].begin(), addrs[i].end());
            if (i == 2 && seq) b.insert(b.end(), {0x30, 0x12}); // sequence 0x123, fragment 0
        }
        b.insert(b.end(), rest.begin(), rest.end());
        return b;
    };
    // To the DS: BSSID, source, destination.
    auto toDs = r.feed(frame(0x08, 0x01, {mac(1), mac(2), mac(3)}, true, snap), 105);
    CHECK(toDs["path"] == "wlan.llc.ipv4.udp.dns");
    CHECK(toDs["wlan.bssid"] == "00:11:22:33:44:01");
    CHECK(toDs["wlan.sa"] == "00:11:22:33:44:02");
    CHECK(toDs["wlan.da"] == "00:11:22:33:44:03");
    CHECK(toDs["wlan.sequence_number"] == "291");
    CHECK(toDs["llc.ethertype"] == "2048");
    CHECK(toDs["dns.qname"] == "abc.com");
    // QoS data from the DS: destination, BSSID, source; two QoS bytes before LLC.
    Bytes qos = {0x00, 0x00};
    qos.insert(qos.end(), snap.begin(), snap.end());
    auto fromDs = r.feed(frame(0x88, 0x02, {mac(1), mac(2), mac(3)}, true, qos), 105);
    CHECK(fromDs["wlan.da"] == "00:11:22:33:44:01");
    CHECK(fromDs["wlan.bssid"] == "00:11:22:33:44:02");
    CHECK(fromDs["wlan.sa"] == "00:11:22:33:44:03");
    CHECK(fromDs["ipv4.src"] == "192.168.0.10");
    // Four addresses (WDS): no BSSID; the source is the fourth.
    auto wds = r.feed(frame(0x08, 0x03, {mac(1), mac(2), mac(3), mac(4)}, true, snap), 105);
    CHECK(wds["wlan.sa"] == "00:11:22:33:44:04");
    CHECK(wds["wlan.bssid"] == "");
    CHECK(wds["path"] == "wlan.llc.ipv4.udp.dns");
    // An ACK: one address, the receiver's.
    auto ack = r.feed(frame(0xd4, 0x00, {mac(1)}, false, {}), 105);
    CHECK(ack["path"] == "wlan");
    CHECK(ack["wlan.ra"] == "00:11:22:33:44:01");
    CHECK(ack["wlan.da"] == "");
    CHECK(ack["frame.malformed"].empty());
    // Protected data: not walked further.
    auto prot = r.feed(frame(0x08, 0x41, {mac(1), mac(2), mac(3)}, true, Bytes(28, 7)), 105);
    CHECK(prot["path"] == "wlan");

    // Radiotap: TSFT (aligned to 8), Flags with the FCS bit, Rate, Channel, then the frame
    // and its FCS.
    Bytes rt = {0x00, 0x00, 0x00, 0x00, 0x0f, 0x00, 0x00, 0x00}; // length set below
    rt.insert(rt.end(), {1, 2, 3, 4, 5, 6, 7, 8});               // TSFT at offset 8
    rt.insert(rt.end(), {0x10, 12});                             // flags: FCS; rate
    rt.insert(rt.end(), {0x85, 0x09, 0xa0, 0x00});               // 2437 MHz
    rt[2] = uint8_t(rt.size());
    Bytes withRt = rt;
    Bytes f = frame(0x08, 0x01, {mac(1), mac(2), mac(3)}, true, snap);
    withRt.insert(withRt.end(), f.begin(), f.end());
    withRt.insert(withRt.end(), {0xde, 0xad, 0xbe, 0xef});
    auto radio = r.feed(withRt, 127);
    CHECK(radio["path"] == "radiotap.wlan.llc.ipv4.udp.dns");
    CHECK(radio["radiotap.channel_frequency"] == "2437");
    CHECK(radio["radiotap.fcs_at_end"] == "1");
    CHECK(radio["wlan.sa"] == "00:11:22:33:44:02");
    CHECK(radio["frame.malformed"].empty());
}

TEST_CASE("DNS over TCP: messages framed by their 2-byte length", "[journey][tcp]") {
    Recorder r({"dns.qname", "dns.id", "frame.malformed"});
    r.feed(tcpSeg(7400, 53, 1, SYN));
    auto framed = [](uint16_t id, const char* name) {
        Bytes m = dns_message(id, name);
        Bytes out = {uint8_t(m.size() >> 8), uint8_t(m.size())};
        out.insert(out.end(), m.begin(), m.end());
        return std::string(out.begin(), out.end());
    };
    TcpSide client{r, 7400, 53};
    auto send = [&](const std::string& data) { return client.send(data); };
    // Two messages in one segment.
    auto two = send(framed(1, "a.example") + framed(2, "b.example"));
    CHECK(two["dns.qname"] == "a.example,b.example");
    CHECK(two["dns.id"] == "1,2");
    CHECK(two["frame.malformed"].empty());
    // One message across three segments: parsed on the last.
    std::string m = framed(3, "c.example");
    CHECK(send(m.substr(0, 1))["dns.qname"].empty());
    CHECK(send(m.substr(1, 10))["dns.qname"].empty());
    auto last = send(m.substr(11));
    CHECK(last["dns.qname"] == "c.example");
    CHECK(last["path"] == "ethernet.ipv4.tcp.dns");
}

TEST_CASE("HTTP responses to HEAD requests have no body", "[journey][tcp]") {
    Recorder r({"http.method", "http.status_code", "http.response_number"});
    r.feed(tcpSeg(7300, 80, 1, SYN));
    r.feed(tcpSeg(80, 7300, 1, SYN | ACK, "", kServer, kClient));
    TcpSide client{r, 7300, 80}, server{r, 80, 7300, kServer, kClient};
    auto ask = [&](const std::string& data) { return client.send(data); };
    auto answer = [&](const std::string& data) { return server.send(data); };
    // Pipelined: a GET, a HEAD, a GET; the answers come in that order.
    CHECK(ask("GET /a HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h\r\n\r\n"
              "GET /c HTTP/1.1\r\nHost: h\r\n\r\n")["http.method"] == "GET,HEAD,GET");
    CHECK(answer("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")["http.response_number"] == "1");
    // The HEAD's answer declares the length of what a GET would get, and stops there: the
    // next response follows at once.
    CHECK(answer("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"
                 "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno")["http.status_code"] ==
          "200,404");
    // Another HEAD, alone: its answer has no body either.
    CHECK(ask("HEAD /d HTTP/1.1\r\nHost: h\r\n\r\n")["http.method"] == "HEAD");
    CHECK(answer("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n")["http.response_number"] == "4");
}

TEST_CASE("the API: unknown names, request-based attribute callbacks, session classified",
          "[journey]") {
    Handler h(builtinLibrary());
    CHECK(h.request("nonexistent.attribute") == -1);
    CHECK(h.request("ipv4.nonexistent") == -1);
    CHECK_FALSE(h.on_attribute("nope.nope",
                               [](const PacketView&, const Value&) { return Action::Continue; }));
    CHECK_FALSE(h.add_analyser("nope", 1,
                               [](const PacketView&, const Layer&) { return Action::Continue; }));
    CHECK_FALSE(
        h.add_classifier("nope", 1, [](const PacketView&, const Layer&) { return std::string(); }));
    std::vector<std::string> ports, classified;
    CHECK(h.on_attribute("udp.dst_port", [&](const PacketView&, const Value& v) {
        ports.push_back(v.text());
        return Action::Continue;
    }));
    h.on_session_classified([&](const SessionInfo& s) { classified.push_back(s.application); });
    Bytes a = udpPkt(1234, 53), b = udpPkt(53, 1234, "r", kServer, kClient);
    h.process(RawPacket{a.data(), uint32_t(a.size()), uint32_t(a.size()), 1, 1});
    h.process(RawPacket{b.data(), uint32_t(b.size()), uint32_t(b.size()), 1, 2});
    CHECK(ports == std::vector<std::string>{"53", "1234"});
    CHECK(classified == std::vector<std::string>{"dns"}); // once, when the session learns it
    auto lib = builtinLibrary().attribute_names();
    CHECK(std::find(lib.begin(), lib.end(), "frame.path") != lib.end());
    CHECK(std::find(lib.begin(), lib.end(), "tls.sni") != lib.end());
    CHECK(builtinLibrary().find_protocol("http") > 0);
    CHECK(builtinLibrary().find_attribute("http.host").event);
    CHECK_FALSE(builtinLibrary().find_attribute("ipv4.src").event);
}

TEST_CASE("a session stops classifying after classify_packets payload packets",
          "[journey][session]") {
    // A STUN binding request: recognised by its magic cookie on any port.
    Bytes stun = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1,  2,
                  3,    4,    5,    6,    7,    8,    9,    10,   11, 12};
    auto packet = [](const Bytes& payload) {
        return PacketBuilder()
            .eth()
            .ipv4(kClient, kServer)
            .udp(40000, 40001)
            .payload(payload)
            .build();
    };
    for (uint32_t limit : {4u, 8u}) {
        HandlerOptions o;
        o.classify_packets = limit;
        Recorder r({"udp.dst_port"}, o);
        for (int i = 0; i < 5; ++i)
            CHECK(r.feed(packet({'?', '?', '?', '?'}))["path"] == "ethernet.ipv4.udp");
        std::string path = r.feed(packet(stun))["path"];
        if (limit == 4)
            CHECK(path == "ethernet.ipv4.udp"); // gave up after four unknown payloads
        else
            CHECK(path == "ethernet.ipv4.udp.stun");
    }
}

TEST_CASE("a broken or short body is reported whether or not its events are asked for",
          "[journey]") {
    auto lib = libraryWithSpec(R"(protocol bodied {
    id 9310;
    over udp port 9310;
    header { kind : u8; count : u8; }
    body {
        items : u8[count];
        last : u8 requires last == 0xff;
    }
    attribute kind;
    event attribute seen : u8 = kind;
}
)");
    const std::string broken("\x01\x02\x0a\x0b\x00", 5), cut("\x01\x04\x0a", 3),
        fine("\x01\x01\x0a\xff", 4);
    // What frame.malformed and frame.truncated say for each payload, with the columns given.
    auto verdicts = [&](std::vector<std::string> columns) {
        columns.push_back("frame.malformed");
        columns.push_back("frame.truncated");
        Recorder r(columns, {}, *lib);
        std::vector<std::string> out;
        for (const std::string* s : {&broken, &cut, &fine}) {
            auto row = r.feed(udpPkt(1234, 9310, *s));
            out.push_back(row["frame.malformed"] + "|" + row["frame.truncated"]);
        }
        return out;
    };
    const std::vector<std::string> expected = {"bodied.last|", "|bodied.items", "|"};
    CHECK(verdicts({}) == expected);
    CHECK(verdicts({"bodied.kind"}) == expected);
    CHECK(verdicts({"bodied.seen"}) == expected);

    // Without those columns a body is read only for its events, unless check_bodies says so.
    HandlerOptions check;
    check.check_bodies = true;
    Recorder checked({"bodied.kind"}, check, *lib);
    CHECK(checked.feed(udpPkt(1234, 9310, broken))["malformed"] == "bodied.last");
    Recorder unchecked({"bodied.kind"}, {}, *lib);
    CHECK(unchecked.feed(udpPkt(1234, 9310, broken))["malformed"].empty());
}

TEST_CASE("a list cut short raises the events of the elements that parsed, in a header as in "
          "a body",
          "[journey]") {
    auto lib = libraryWithSpec(R"(protocol list_head {
    id 9311;
    over udp port 9311;
    record item { len : u8; v : bytes[len]; }
    header { n : u8; items : item[] max 10; }
    event attribute v : string = v on items;
}
protocol list_body {
    id 9312;
    over udp port 9312;
    record item { len : u8; v : bytes[len]; }
    header { n : u8; }
    body { items : item[] max 10; }
    event attribute v : string = v on items;
}
)");
    const std::string cut("\x03\x02"
                          "ab"
                          "\x03"
                          "cde"
                          "\x05"
                          "xy",
                          10);
    Recorder r({"list_head.v", "list_body.v", "frame.truncated"}, {}, *lib);
    auto head = r.feed(udpPkt(1234, 9311, cut));
    auto body = r.feed(udpPkt(1234, 9312, cut));
    CHECK(head["list_head.v"] == "ab,cde");
    CHECK(body["list_body.v"] == head["list_head.v"]);
    CHECK(head["frame.truncated"] == "list_head.v");
    CHECK(body["frame.truncated"] == "list_body.v");
}
