// Every runtime limit, flooded past: the bound holds (the accounting stays under it), its
// counter in HandlerStats counts it, and every session is still reported exactly once.
#include "journey_util.h"
#include "payloads.h"

#include <algorithm>
#include <random>
#include <set>

using namespace mmt;
using namespace mmt::test;

namespace {

/// An IPv4 fragment of datagram `id` from `src`: `len` bytes at `offset` (a multiple of 8).
Bytes ipFrag(const std::string& src, uint16_t id, uint16_t offset, size_t len, bool more) {
    return PacketBuilder()
        .eth()
        .ipv4(src, kServer)
        .ip_id(id)
        .ip_proto(17)
        .frag(offset, more)
        .payload(Bytes(len, uint8_t(id)))
        .build();
}

/// Ends the run, then checks that every session that started was reported ended exactly
/// once, and that no other session was.
void finishAndCheckSessions(Recorder& r) {
    r.h.finish();
    std::set<uint64_t> started, ended;
    for (const auto& s : r.started) CHECK(started.insert(s.id).second);
    for (const auto& s : r.ended) CHECK(ended.insert(s.id).second);
    CHECK(started == ended);
    CHECK(r.h.stats().sessions == started.size());
}

/// How many of the sessions reported ended for `reason`.
size_t endedFor(const Recorder& r, const std::string& reason) {
    return size_t(std::count_if(r.ended.begin(), r.ended.end(),
                                [&](const SessionInfo& s) { return s.end_reason == reason; }));
}

} // namespace

TEST_CASE("limits: max_sessions evicts the least recently used, counted", "[limits][session]") {
    HandlerOptions o;
    o.max_sessions = 64;
    Recorder r({"frame.session"}, o);
    size_t most = 0;
    for (uint16_t port = 1; port <= 2000; ++port) {
        r.feed(udpPkt(port, 9, "x"));
        most = std::max(most, r.started.size() - r.ended.size());
    }
    CHECK(most == 64); // never more sessions alive than the cap
    CHECK(r.h.stats().sessions_evicted == 2000 - 64);
    CHECK(endedFor(r, "evicted") == 2000 - 64);
    finishAndCheckSessions(r);
    CHECK(r.ended.size() == 2000);
}

TEST_CASE("limits: classify_packets, sessions that gave up are counted", "[limits][session]") {
    HandlerOptions o;
    o.classify_packets = 2;
    Recorder r({"frame.session"}, o);
    for (int round = 0; round < 3; ++round)
        for (uint16_t port = 40000; port < 40100; ++port) r.feed(udpPkt(port, 40999, "?!?!"));
    CHECK(r.h.stats().sessions_unclassified == 100); // once each, after its second packet
    finishAndCheckSessions(r);
}

TEST_CASE("limits: max_flow_paths, the flows of paths beyond it are counted", "[limits][session]") {
    HandlerOptions o;
    o.max_flow_paths = 2;
    Recorder r({"frame.session"}, o);
    // Three paths, 100 DNS flows on each: Ethernet, one VLAN tag, two tags.
    for (uint16_t port = 40000; port < 40100; ++port)
        for (int tags = 0; tags < 3; ++tags) {
            PacketBuilder b;
            b.eth();
            if (tags == 2) b.svlan(7);
            if (tags >= 1) b.vlan(8);
            Bytes dns = dns_message(port, "example.com");
            r.feed(b.ipv4(kClient, kServer).udp(port, 53).payload(dns).build());
        }
    CHECK(r.h.stats().flow_paths_not_kept == 100); // the third path's flows, once each
    finishAndCheckSessions(r);
    std::map<std::string, int> paths;
    for (const SessionInfo& s : r.ended) ++paths[s.path];
    CHECK(paths == std::map<std::string, int>{{"ethernet.ipv4.udp.dns", 100},
                                              {"ethernet.vlan.ipv4.udp.dns", 100},
                                              {"dns", 100}});
}

TEST_CASE("limits: max_stream_buffer bounds what a direction holds out of order", "[limits][tcp]") {
    HandlerOptions o;
    o.max_stream_buffer = 4096;
    Recorder r({"frame.session"}, o);
    // 256 KiB in 1000-byte segments, shuffled in blocks of 16 (16000 bytes, far past the
    // window), from 4 connections.
    std::mt19937 rng(7);
    for (uint16_t c = 0; c < 4; ++c) {
        uint16_t port = uint16_t(41000 + c);
        r.feed(tcpSeg(port, 41999, 0, SYN));
        std::vector<uint32_t> order(262);
        for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
        for (size_t b = 0; b < order.size(); b += 16)
            std::shuffle(order.begin() + long(b),
                         order.begin() + long(std::min(order.size(), b + 16)), rng);
        for (uint32_t i : order)
            r.feed(tcpSeg(port, 41999, 1 + i * 1000, ACK, std::string(1000, char('a' + c))));
    }
    const HandlerStats& s = r.h.stats();
    CHECK(s.stream_window_skips > 100);
    CHECK(s.stream_window_bytes >= s.stream_window_skips);
    CHECK(s.stream_holes_skips == 0);
    CHECK(s.stream_budget_skips == 0);
    // One direction at a time holds bytes here: its window and the buffer's bookkeeping.
    CHECK(s.buffered_bytes_peak > 0);
    CHECK(s.buffered_bytes_peak <= 4096 + 512);
    finishAndCheckSessions(r);
}

TEST_CASE("limits: more separate holes than a direction keeps", "[limits][tcp]") {
    Recorder r({"frame.session"});
    r.feed(tcpSeg(42000, 42999, 0, SYN));
    // 200 two-byte segments, each after a hole of 10: 16 holes at most are kept.
    for (uint32_t i = 1; i <= 200; ++i) r.feed(tcpSeg(42000, 42999, 1 + 12 * i, ACK, "xy"));
    const HandlerStats& s = r.h.stats();
    CHECK(s.stream_holes_skips == 200 - 16);
    CHECK(s.stream_holes_bytes == (200 - 16) * 10 + 2); // the first hole is 12 bytes long
    CHECK(s.stream_window_skips == 0);
    finishAndCheckSessions(r);
}

TEST_CASE("limits: max_buffered_bytes bounds every stream together", "[limits][tcp]") {
    HandlerOptions o;
    o.max_buffered_bytes = 64 << 10;
    Recorder r({"frame.session"}, o);
    // 200 connections, each holding 4000 bytes past a hole: about 15 fit.
    for (uint16_t c = 0; c < 200; ++c) {
        uint16_t port = uint16_t(43000 + c);
        r.feed(tcpSeg(port, 43999, 0, SYN));
        r.feed(tcpSeg(port, 43999, 1001, ACK, std::string(4000, 'z')));
    }
    const HandlerStats& s = r.h.stats();
    CHECK(s.buffered_bytes_peak <= (64u << 10));
    CHECK(s.stream_budget_skips >= 150);
    CHECK(s.stream_budget_bytes == s.stream_budget_skips * 1000);
    CHECK(s.stream_window_skips == 0);
    finishAndCheckSessions(r);
    CHECK(r.ended.size() == 200);
}

TEST_CASE("limits: max_pdu, PDUs over it are stepped over and counted", "[limits][tcp]") {
    HandlerOptions o;
    o.max_pdu = 1000;
    Recorder r({"dns.qname", "frame.malformed"}, o);
    r.feed(tcpSeg(44000, 53, 1, SYN));
    TcpSide client{r, 44000, 53};
    // 50 messages of 5000 bytes (length 0x1386): each one over the limit, skipped exactly.
    for (int i = 0; i < 50; ++i) {
        std::string m = "\x13\x86" + std::string(4998, 'm');
        CHECK(client.send(m.substr(0, 1400))["frame.malformed"] == "dns.pdu_length");
        for (size_t at = 1400; at < m.size(); at += 1400) client.send(m.substr(at, 1400));
    }
    CHECK(r.h.stats().pdus_over_max == 50);
    CHECK(r.h.stats().buffered_bytes_peak <= 1000);
    // In step again: a message within the limit parses.
    Bytes q = dns_message(9, "after.example");
    std::string framed = {char(q.size() >> 8), char(q.size())};
    framed.append(q.begin(), q.end());
    CHECK(client.send(framed)["dns.qname"] == "after.example");
    finishAndCheckSessions(r);
}

TEST_CASE("limits: max_buffered_bytes drops PDUs that cannot grow, counted", "[limits][tcp]") {
    HandlerOptions o;
    o.max_buffered_bytes = 16 << 10;
    Recorder r({"http.host"}, o);
    // 100 connections each start a 3000-byte HTTP head that never ends.
    for (uint16_t c = 0; c < 100; ++c) {
        uint16_t port = uint16_t(45000 + c);
        r.feed(tcpSeg(port, 80, 1, SYN));
        r.feed(tcpSeg(port, 80, 2, ACK, "GET / HTTP/1.1\r\nX-Long: " + std::string(3000, 'a')));
    }
    const HandlerStats& s = r.h.stats();
    CHECK(s.buffered_bytes_peak <= (16u << 10));
    CHECK(s.pdus_budget_dropped >= 90);
    finishAndCheckSessions(r);
}

TEST_CASE("limits: max_kept_body, bodies stepped over are counted", "[limits][tcp]") {
    HandlerOptions o;
    o.max_kept_body = 16;
    Recorder r({"http.status_code"}, o);
    r.feed(tcpSeg(80, 46000, 1, SYN, "", kServer, kClient));
    TcpSide server{r, 80, 46000, kServer, kClient};
    for (int i = 0; i < 40; ++i) {
        std::string m = "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n" + std::string(3000, 'b');
        for (size_t at = 0; at < m.size(); at += 1400) server.send(m.substr(at, 1400));
    }
    CHECK(r.h.stats().bodies_skipped == 40);
    CHECK(r.h.stats().buffered_bytes_peak <= 256); // heads only, never a body
    finishAndCheckSessions(r);
}

TEST_CASE("limits: fragment_timeout_ms gives up datagrams left incomplete", "[limits][fragments]") {
    HandlerOptions o;
    o.fragment_timeout_ms = 100;
    Recorder r({"frame.session"}, o);
    for (uint16_t id = 1; id <= 50; ++id) r.feed(ipFrag("10.1.0.1", id, 0, 64, true));
    CHECK(r.h.stats().fragments_timed_out == 0);
    r.feed(udpPkt(47000, 47999, "later"), 1, 200);
    CHECK(r.h.stats().fragments_timed_out == 50);
    finishAndCheckSessions(r);
}

TEST_CASE("limits: max_datagrams, the oldest datagram in progress gives way",
          "[limits][fragments]") {
    HandlerOptions o;
    o.max_datagrams = 8;
    Recorder r({"udp.length"}, o);
    for (uint16_t id = 1; id <= 100; ++id) r.feed(ipFrag("10.1.0.2", id, 0, 64, true));
    CHECK(r.h.stats().fragments_evicted == 100 - 8);
    // The 8 most recent are still there: the last of them completes.
    r.feed(ipFrag("10.1.0.2", 100, 64, 16, false));
    CHECK(r.h.stats().fragments_reassembled == 1);
    CHECK(r.h.stats().fragment_bytes_peak <= 8 * 1024);
    finishAndCheckSessions(r);
}

TEST_CASE("limits: max_fragment_pieces gives up a datagram with too many holes",
          "[limits][fragments]") {
    HandlerOptions o;
    o.max_fragment_pieces = 4;
    Recorder r({"frame.session"}, o);
    for (uint16_t id = 1; id <= 30; ++id)
        for (uint16_t k = 0; k < 5; ++k) r.feed(ipFrag("10.1.0.3", id, uint16_t(k * 16), 8, true));
    CHECK(r.h.stats().fragments_too_many_pieces == 30);
    finishAndCheckSessions(r);
}

TEST_CASE("limits: max_fragments_bytes gives up the oldest datagrams to make room",
          "[limits][fragments]") {
    HandlerOptions o;
    o.max_fragments_bytes = 8 << 10;
    Recorder r({"udp.length"}, o);
    for (uint16_t id = 1; id <= 200; ++id) r.feed(ipFrag("10.1.0.4", id, 0, 1480, true));
    const HandlerStats& s = r.h.stats();
    CHECK(s.fragment_bytes_peak <= (8u << 10));
    CHECK(s.fragments_over_budget >= 190);
    // The newest datagram was kept: it completes.
    r.feed(ipFrag("10.1.0.4", 200, 1480, 20, false));
    CHECK(r.h.stats().fragments_reassembled == 1);
    finishAndCheckSessions(r);
}
