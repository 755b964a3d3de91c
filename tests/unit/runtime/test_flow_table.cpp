// Tests of the flow table: canonical keys, directions, timeouts, LRU eviction, callbacks.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "session/flow_table.h"
#include "util/hash.h"

using namespace mmt;

namespace {

using Bytes = std::vector<uint8_t>;

mmt_key make_key(const Bytes& shared, const Bytes& a, const Bytes& b) {
    mmt_key k{};
    k.shared_len = static_cast<uint16_t>(shared.size());
    k.a_len = static_cast<uint16_t>(a.size());
    k.b_len = static_cast<uint16_t>(b.size());
    std::memcpy(k.shared, shared.data(), shared.size());
    std::memcpy(k.a, a.data(), a.size());
    std::memcpy(k.b, b.data(), b.size());
    return k;
}

// An IPv4 5-tuple the way a spec would contribute it: protocol shared, address+port per side.
mmt_key tuple(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, Bytes prefix = {}) {
    Bytes shared = prefix;
    shared.push_back(6);
    auto side = [](uint32_t ip, uint16_t port) {
        return Bytes{uint8_t(ip >> 24), uint8_t(ip >> 16),  uint8_t(ip >> 8),
                     uint8_t(ip),       uint8_t(port >> 8), uint8_t(port)};
    };
    return make_key(shared, side(src, sport), side(dst, dport));
}

mmt_key reversed(const mmt_key& k) {
    mmt_key r = k;
    std::swap(r.a_len, r.b_len);
    std::memcpy(r.a, k.b, sizeof r.a);
    std::memcpy(r.b, k.a, sizeof r.b);
    return r;
}

constexpr uint64_t kMs = 1000000;
constexpr uint64_t kSec = 1000 * kMs;
constexpr uint64_t kYear = 365ull * 24 * 3600 * kSec;

struct Ended {
    uint64_t id;
    SessionEnd why;
    std::string state;
    Bytes key;
    uint64_t packets;
};

// Records every end-of-session report, reading the state and key inside the callback.
struct Recorder {
    std::vector<Ended> ended;
    static void on_end(void* ctx, const FlowTable& t, Session& s, SessionEnd why) {
        auto* self = static_cast<Recorder*>(ctx);
        const char* st = static_cast<const char*>(t.state(s));
        auto key = t.key(s);
        self->ended.push_back({s.id, why, st ? std::string(st) : std::string(),
                               Bytes(key.begin(), key.end()), s.packets[0] + s.packets[1]});
    }
};

/// A flow table whose end-of-session reports are recorded (the recorder outlives it).
struct Recorded {
    explicit Recorded(const FlowTableConfig& cfg = {}) : t(cfg) {
        t.on_end(&Recorder::on_end, &rec);
    }
    Recorder rec;
    FlowTable t;
};

} // namespace

TEST_CASE("both directions of a flow meet in one session", "[flow]") {
    FlowTable t;
    mmt_key fwd = tuple(0x0a000002, 40000, 0x0a000001, 80);
    FlowLookup r1 = t.lookup(fwd, 6, 10000, 1 * kSec, 60);
    REQUIRE(r1.session);
    CHECK(r1.created);
    CHECK(r1.direction == 0);
    FlowLookup r2 = t.lookup(reversed(fwd), 6, 10000, 2 * kSec, 1500);
    CHECK(r2.session == r1.session);
    CHECK_FALSE(r2.created);
    CHECK(r2.direction == 1);
    FlowLookup r3 = t.lookup(fwd, 6, 10000, 3 * kSec, 40);
    CHECK(r3.direction == 0);
    Session& s = *r1.session;
    CHECK(s.packets[0] == 2);
    CHECK(s.packets[1] == 1);
    CHECK(s.bytes[0] == 100);
    CHECK(s.bytes[1] == 1500);
    CHECK(s.first_ns == 1 * kSec);
    CHECK(s.last_ns == 3 * kSec);
    CHECK(s.proto_id == 6);
    CHECK(t.timeout_ms(s) == 10000);
    CHECK(s.id == 1);
    CHECK(t.size() == 1);
    uint32_t dir = 9;
    CHECK(t.find(reversed(fwd), 6, &dir) == &s);
    CHECK(dir == 1);
}

TEST_CASE("direction follows the initiator, whichever side sorts first", "[flow]") {
    FlowTable t;
    // The initiator here has the higher address: its packets are still direction 0.
    mmt_key from_high = tuple(0xc0a80064, 5000, 0x0a000001, 443);
    FlowLookup r = t.lookup(from_high, 6, 1000, 0, 1);
    CHECK(r.direction == 0);
    CHECK(t.lookup(reversed(from_high), 6, 1000, 0, 1).direction == 1);
    CHECK(t.lookup(from_high, 6, 1000, 0, 1).direction == 0);
    // Canonical bytes are the same from both sides.
    bool h1, h2;
    uint8_t k1[FlowTable::kMaxKey], k2[FlowTable::kMaxKey];
    size_t n1 = FlowTable::canonicalize(from_high, k1, h1);
    size_t n2 = FlowTable::canonicalize(reversed(from_high), k2, h2);
    CHECK(n1 == n2);
    CHECK(std::memcmp(k1, k2, n1) == 0);
    CHECK(h1 != h2);
    CHECK(FlowTable::initiator_high(*r.session) == h1);
}

TEST_CASE("sides that compare equal give direction 0 both ways", "[flow]") {
    FlowTable t;
    mmt_key k = tuple(0x7f000001, 9, 0x7f000001, 9);
    CHECK(t.lookup(k, 17, 1000, 0, 1).direction == 0);
    CHECK(t.lookup(reversed(k), 17, 1000, 0, 1).direction == 0);
    CHECK(t.size() == 1);
}

TEST_CASE("side length decides when one side is a prefix of the other", "[flow]") {
    FlowTable t;
    mmt_key k = make_key({1}, {1, 2}, {1, 2, 3});
    FlowLookup r = t.lookup(k, 1, 1000, 0, 1);
    CHECK(t.lookup(reversed(k), 1, 1000, 0, 1).session == r.session);
    CHECK(t.lookup(reversed(k), 1, 1000, 0, 1).direction == 1);
    // Same bytes split differently are different keys.
    CHECK(t.lookup(make_key({1}, {1, 2, 1}, {2, 3}), 1, 1000, 0, 1).created);
    CHECK(t.size() == 2);
}

TEST_CASE("different shared parts or protocols make different sessions", "[flow]") {
    FlowTable t;
    mmt_key vlan10 = tuple(1, 1, 2, 2, {0x81, 0x00, 0x00, 10});
    mmt_key vlan20 = tuple(1, 1, 2, 2, {0x81, 0x00, 0x00, 20});
    mmt_key tunnel = tuple(1, 1, 2, 2, {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1}); // e.g. a TEID
    mmt_key plain = tuple(1, 1, 2, 2);
    Session* a = t.lookup(vlan10, 6, 1000, 0, 1).session;
    Session* b = t.lookup(vlan20, 6, 1000, 0, 1).session;
    Session* c = t.lookup(tunnel, 6, 1000, 0, 1).session;
    Session* d = t.lookup(plain, 6, 1000, 0, 1).session;
    Session* e = t.lookup(plain, 17, 1000, 0, 1).session; // same bytes, other protocol
    CHECK(a != b);
    CHECK(a != c);
    CHECK(c != d);
    CHECK(d != e);
    CHECK(t.size() == 5);
    CHECK(t.lookup(reversed(vlan20), 6, 1000, 0, 1).session == b);
}

TEST_CASE("timeouts are per protocol and driven by packet time", "[flow][expiry]") {
    Recorded f;
    auto& [rec, t] = f;
    for (uint32_t i = 0; i < 10; ++i) t.lookup(tuple(i, 1, 100, 2), 17, 1000, 0, 1); // 1 s
    for (uint32_t i = 0; i < 10; ++i) t.lookup(tuple(i, 1, 100, 2), 6, 5000, 0, 1);  // 5 s
    for (uint32_t i = 0; i < 3; ++i) t.lookup(tuple(i, 1, 100, 2), 50, 0, 0, 1);     // never
    CHECK(t.expire(999 * kMs) == 0);
    // Touch one UDP session: it lives on.
    t.lookup(tuple(3, 1, 100, 2), 17, 1000, 900 * kMs, 1);
    CHECK(t.expire(1000 * kMs) == 9);
    CHECK(t.size() == 14);
    for (const Ended& e : rec.ended) CHECK(e.why == SessionEnd::Timeout);
    CHECK(t.expire(1899 * kMs) == 0);
    CHECK(t.expire(1900 * kMs) == 1);
    CHECK(t.expire(4999 * kMs) == 0);
    CHECK(t.expire(5000 * kMs) == 10);
    CHECK(t.size() == 3);
    CHECK(t.expire(100 * kYear) == 0); // timeout 0: only eviction, close or flush end them
    CHECK(t.stats().timed_out == 20);
    CHECK(t.flush() == 3);
    CHECK(t.size() == 0);
}

TEST_CASE("packet times that go backwards: a session times out on its own time, whatever "
          "others share the table",
          "[flow][expiry]") {
    // Session 1 is seen at 100 s, then the capture's times go back: session 2 at 10 s.
    // With a timeout of 5 s, the clock at 20 s times out session 2 only, and at 105 s
    // session 1 too: session 2 no longer waits behind the later one.
    auto run = [](bool with_later) {
        Recorded f;
        auto& [rec, t] = f;
        if (with_later) t.lookup(tuple(1, 1, 100, 2), 17, 5000, 100 * kSec, 1);
        t.lookup(tuple(2, 1, 100, 2), 17, 5000, 10 * kSec, 1);
        t.lookup(tuple(3, 1, 100, 2), 17, 5000, 12 * kSec, 1);
        CHECK(t.expire(20 * kSec) == 2);
        REQUIRE(rec.ended.size() == 2);
        CHECK(t.size() == (with_later ? 1u : 0u));
        if (with_later) {
            CHECK(t.expire(104 * kSec) == 0);
            CHECK(t.expire(105 * kSec) == 1);
        }
        return rec.ended;
    };
    const auto alone = run(false);
    const auto beside = run(true);
    for (size_t i = 0; i < 2; ++i) CHECK(alone[i].key == beside[i].key);
}

TEST_CASE("LRU eviction order when the table is full", "[flow][evict]") {
    Recorded f({.max_sessions = 3});
    auto& [rec, t] = f;
    auto key = [](uint32_t i) { return tuple(i, 1, 1000, 2); };
    t.lookup(key(1), 6, 60000, 1, 1);           // A, id 1
    t.lookup(key(2), 6, 60000, 2, 1);           // B, id 2
    t.lookup(key(3), 17, 1000, 3, 1);           // C, id 3, other timeout list
    t.lookup(reversed(key(1)), 6, 60000, 4, 1); // touch A
    t.lookup(key(4), 6, 60000, 5, 1);           // D evicts B, the least recently used
    REQUIRE(rec.ended.size() == 1);
    CHECK(rec.ended[0].id == 2);
    CHECK(rec.ended[0].why == SessionEnd::Evicted);
    t.lookup(key(5), 6, 60000, 6, 1); // evicts C (time 3) although it is in another list
    REQUIRE(rec.ended.size() == 2);
    CHECK(rec.ended[1].id == 3);
    t.lookup(key(6), 6, 60000, 7, 1); // evicts A (time 4)
    REQUIRE(rec.ended.size() == 3);
    CHECK(rec.ended[2].id == 1);
    CHECK(rec.ended[2].packets == 2);
    CHECK(t.size() == 3);
    CHECK(t.stats().evicted == 3);
    CHECK(t.find(key(4), 6));
    CHECK(t.find(key(5), 6));
    CHECK(t.find(key(6), 6));
    CHECK_FALSE(t.find(key(1), 6));
}

TEST_CASE("sessions are reported before they are freed, state intact", "[flow][callback]") {
    Recorded f({.max_sessions = 8, .state_size = 24});
    auto& [rec, t] = f;
    for (uint32_t i = 0; i < 8; ++i) {
        FlowLookup r = t.lookup(tuple(i, 1, 99, 2), 6, 1000, i * kMs, 1);
        auto* st = static_cast<char*>(t.state(*r.session));
        REQUIRE(st);
        for (int b = 0; b < 24; ++b) CHECK(st[b] == 0); // zero-filled at creation
        std::snprintf(st, 24, "flow-%u", i);
    }
    t.lookup(tuple(100, 1, 99, 2), 6, 1000, 10 * kMs, 1); // evicts flow-0
    REQUIRE(rec.ended.size() == 1);
    CHECK(rec.ended[0].state == "flow-0");
    CHECK(rec.ended[0].key.size() == 2 + 1 + 6 + 6);
    Session* s3 = t.find(tuple(3, 1, 99, 2), 6);
    REQUIRE(s3);
    t.close(*s3);
    CHECK(rec.ended.back().state == "flow-3");
    CHECK(rec.ended.back().why == SessionEnd::Closed);
    t.expire(1002 * kMs); // flows 1 and 2 (last at 1 ms and 2 ms)
    REQUIRE(rec.ended.size() == 4);
    CHECK(rec.ended[2].state == "flow-1");
    CHECK(rec.ended[3].state == "flow-2");
    t.flush();
    REQUIRE(rec.ended.size() == 9);
    CHECK(rec.ended[4].state == "flow-4"); // oldest first
    CHECK(rec.ended[8].why == SessionEnd::EndOfInput);
    CHECK(rec.ended[8].state.empty()); // the evicting flow never wrote its state
    CHECK(t.stats().flushed == 5);
    CHECK(t.size() == 0);
}

TEST_CASE("the hard cap holds and every session is reported once", "[flow][evict]") {
    Recorded f({.max_sessions = 1000});
    auto& [rec, t] = f;
    for (uint32_t i = 0; i < 5000; ++i) {
        t.lookup(tuple(i, 7, 1, 8), 6, 60000, i, 1);
        REQUIRE(t.size() <= 1000);
    }
    CHECK(t.size() == 1000);
    CHECK(rec.ended.size() == 4000);
    CHECK(t.stats().evicted == 4000);
    // The survivors are the 1000 newest.
    for (uint32_t i = 4000; i < 5000; ++i) CHECK(t.find(tuple(i, 7, 1, 8), 6));
    t.flush();
    CHECK(rec.ended.size() == 5000);
    std::vector<bool> seen(5001);
    for (const Ended& e : rec.ended) {
        REQUIRE(e.id <= 5000);
        CHECK_FALSE(seen[e.id]);
        seen[e.id] = true;
    }
}

TEST_CASE("a key looked up again in a row finds its session, until the session ends", "[flow]") {
    Recorded f;
    auto& [rec, t] = f;
    const mmt_key k = tuple(1, 1000, 2, 80), other = tuple(3, 1001, 4, 80);
    FlowLookup a = t.lookup(k, 6, 0, 1, 10);
    REQUIRE(a.created);
    // The same key, its reverse, then again: one session, both directions counted.
    CHECK(t.lookup(k, 6, 0, 2, 10).session == a.session);
    FlowLookup back = t.lookup(reversed(k), 6, 0, 3, 20);
    CHECK(back.session == a.session);
    CHECK(back.direction == 1);
    CHECK(t.lookup(reversed(k), 6, 0, 4, 20).session == a.session);
    // Another protocol with the same key is another session.
    FlowLookup udp = t.lookup(k, 17, 0, 5, 10);
    CHECK(udp.created);
    CHECK(t.lookup(k, 6, 0, 6, 10).session == a.session);
    CHECK(a.session->packets[0] == 3);
    CHECK(a.session->packets[1] == 2);
    // Closed, its memory taken by another flow: the key makes a session of its own again.
    const uint64_t first_id = a.session->id;
    t.close(*a.session);
    FlowLookup o = t.lookup(other, 6, 0, 7, 10);
    CHECK(o.created);
    FlowLookup again = t.lookup(k, 6, 0, 8, 10);
    CHECK(again.created);
    CHECK(again.session->id != first_id);
    CHECK(again.session != o.session);
    CHECK(again.session->packets[0] == 1);
    CHECK(t.lookup(other, 6, 0, 9, 10).session == o.session);
    REQUIRE(rec.ended.size() == 1);
    CHECK(rec.ended[0].id == first_id);
    CHECK(rec.ended[0].packets == 5);
}

TEST_CASE("a session is re-created after it expires", "[flow][expiry]") {
    Recorded f({.state_size = 8});
    auto& [rec, t] = f;
    mmt_key k = tuple(5, 5, 6, 6);
    FlowLookup a = t.lookup(k, 17, 1000, 0, 10);
    std::memcpy(t.state(*a.session), "old", 4);
    uint64_t old_id = a.session->id;
    SECTION("through expire()") {
        CHECK(t.expire(2 * kSec) == 1);
    }
    SECTION("found idle by the lookup itself") {
        // No expire() call: the lookup notices the session idled out.
    }
    FlowLookup b = t.lookup(reversed(k), 17, 1000, 2 * kSec, 20);
    CHECK(b.created);
    CHECK(b.session->id != old_id);
    CHECK(b.direction == 0); // the new initiator is the other side
    CHECK(b.session->packets[0] == 1);
    CHECK(b.session->bytes[0] == 20);
    CHECK(b.session->first_ns == 2 * kSec);
    CHECK(static_cast<char*>(t.state(*b.session))[0] == 0);
    REQUIRE(rec.ended.size() == 1);
    CHECK(rec.ended[0].why == SessionEnd::Timeout);
    CHECK(rec.ended[0].state == "old");
    CHECK(t.size() == 1);
}

TEST_CASE("keys longer than the inline area use the bounded long-key store", "[flow]") {
    Recorded f({.max_sessions = 64, .long_keys = 4});
    auto& [rec, t] = f;
    Bytes outer(40, 0xab); // e.g. outer addresses and a tunnel id
    auto long_key = [&](uint32_t i) { return tuple(i, 1, 2, 3, outer); };
    for (uint32_t i = 0; i < 10; ++i) t.lookup(tuple(i, 1, 2, 3), 6, 1000, i, 1); // short keys
    for (uint32_t i = 0; i < 4; ++i) {
        FlowLookup r = t.lookup(long_key(i), 6, 1000, 100 + i, 1);
        CHECK(r.created);
        CHECK(t.key(*r.session).size() == 2 + 41 + 12);
    }
    CHECK(rec.ended.empty());
    CHECK(t.lookup(reversed(long_key(2)), 6, 1000, 200, 1).direction == 1);
    // A fifth long key evicts the oldest long-key session, not the older short ones.
    t.lookup(long_key(4), 6, 1000, 201, 1);
    REQUIRE(rec.ended.size() == 1);
    CHECK(rec.ended[0].key.size() == 55);
    CHECK(rec.ended[0].why == SessionEnd::Evicted);
    CHECK_FALSE(t.find(long_key(0), 6));
    CHECK(t.find(long_key(2), 6));
    CHECK(t.stats().long_key_evicted == 1);
    CHECK(t.size() == 14);
    // The largest key the ABI can express.
    mmt_key huge = make_key(Bytes(96, 1), Bytes(96, 2), Bytes(96, 3));
    FlowLookup h = t.lookup(huge, 6, 1000, 300, 1);
    CHECK(t.key(*h.session).size() == FlowTable::kMaxKey);
    CHECK(t.lookup(reversed(huge), 6, 1000, 301, 1).session == h.session);
}

TEST_CASE("100k sessions: lookups, deletions in any order, and probe integrity", "[flow][scale]") {
    FlowTableConfig cfg;
    cfg.max_sessions = 100000;
    FlowTable t(cfg);
    for (uint32_t i = 0; i < 100000; ++i)
        REQUIRE(t.lookup(tuple(i * 2654435761u, 1, i, 2), 6, 1000, 0, 1).created);
    CHECK(t.size() == 100000);
    CHECK(t.stats().evicted == 0);
    std::mt19937 rng(42);
    std::vector<uint32_t> order(100000);
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t j = 0; j < 50000; ++j) {
        Session* s = t.find(tuple(order[j] * 2654435761u, 1, order[j], 2), 6);
        REQUIRE(s);
        t.close(*s);
    }
    CHECK(t.size() == 50000);
    size_t found = 0;
    for (size_t j = 50000; j < 100000; ++j)
        found += t.find(reversed(tuple(order[j] * 2654435761u, 1, order[j], 2)), 6) != nullptr;
    CHECK(found == 50000);
    for (size_t j = 0; j < 50000; ++j)
        REQUIRE_FALSE(t.find(tuple(order[j] * 2654435761u, 1, order[j], 2), 6));
}

TEST_CASE("expiry cost does not depend on how far the clock jumps", "[flow][expiry][scale]") {
    FlowTableConfig cfg;
    cfg.max_sessions = 100000;
    SECTION("100k sessions, then a packet ten years later") {
        FlowTable t(cfg);
        for (uint32_t i = 0; i < 100000; ++i)
            t.lookup(tuple(i, 1, 2, 3), i % 2 ? 6 : 17, i % 2 ? 120000 : 30000, i * kMs, 1);
        auto t0 = std::chrono::steady_clock::now();
        CHECK(t.expire(10 * kYear) == 100000);
        auto dt = std::chrono::steady_clock::now() - t0;
        CHECK(t.stats().expire_visits == 100000); // exactly the expired ones: lists end empty
        CHECK(dt < std::chrono::seconds(2));
        CHECK(t.size() == 0);
    }
    SECTION("a steady stream with clock jumps of years is as fast as one without") {
        auto run = [&](uint64_t jump) {
            FlowTable t(cfg);
            uint64_t now = 0;
            auto t0 = std::chrono::steady_clock::now();
            for (uint32_t i = 0; i < 100000; ++i) {
                now += (i % 1000 == 999) ? jump : kMs;
                t.expire(now);
                t.lookup(tuple(i % 20000, 1, 2, 3), 6, 60000, now, 1);
            }
            auto dt = std::chrono::steady_clock::now() - t0;
            // Each expire() looks at the list head plus what it ends: nothing proportional
            // to elapsed time.
            CHECK(t.stats().expire_visits <= t.stats().timed_out + t.stats().lookups);
            return std::chrono::duration<double>(dt).count();
        };
        double steady = run(kMs);
        double jumpy = run(kYear); // 99 jumps of a year: 99 years of packet time
        INFO("steady " << steady << " s, jumpy " << jumpy << " s");
        CHECK(jumpy < 3 * steady + 0.05);
    }
}

TEST_CASE("session memory stays within budget", "[flow][memory]") {
    FlowTableConfig cfg;
    cfg.max_sessions = 1 << 20;
    FlowTable t(cfg);
    WARN("sizeof(Session) = " << sizeof(Session) << " bytes; table bytes per session (entry + "
                              << "buckets + long-key share) = " << t.bytes_per_session());
    CHECK(sizeof(Session) <= 136);
    CHECK(t.bytes_per_session() <= 200);
}

TEST_CASE("hash: deterministic, seeded, few collisions, avalanche", "[hash]") {
    uint8_t buf[80];
    for (size_t i = 0; i < sizeof buf; ++i) buf[i] = static_cast<uint8_t>(i * 37 + 1);
    for (size_t n = 0; n <= 80; ++n) {
        CHECK(hash_bytes(buf, n) == hash_bytes(buf, n));
        CHECK(hash_bytes(buf, n, 1) != hash_bytes(buf, n, 2));
        if (n) CHECK(hash_bytes(buf, n) != hash_bytes(buf, n - 1));
    }
    // Distinct 13-byte keys (a 5-tuple's size): no 64-bit collisions, even low-bit buckets.
    std::vector<uint64_t> hs;
    std::vector<uint32_t> bucket(1024);
    for (uint32_t i = 0; i < 200000; ++i) {
        uint8_t k[13] = {6};
        std::memcpy(k + 1, &i, 4);
        uint64_t h = hash_bytes(k, sizeof k);
        hs.push_back(h);
        ++bucket[(h >> 32) & 1023];
    }
    std::sort(hs.begin(), hs.end());
    CHECK(std::adjacent_find(hs.begin(), hs.end()) == hs.end());
    auto [lo, hi] = std::minmax_element(bucket.begin(), bucket.end());
    CHECK(*lo > 100); // expected ~195 per bucket
    CHECK(*hi < 300);
    // Flipping one input bit flips about half the output bits.
    double total = 0;
    int n = 0;
    for (size_t len : {4, 13, 37}) {
        for (size_t bit = 0; bit < len * 8; ++bit) {
            uint8_t k[40] = {};
            uint64_t h0 = hash_bytes(k, len);
            k[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
            total += __builtin_popcountll(h0 ^ hash_bytes(k, len));
            ++n;
        }
    }
    CHECK(total / n > 28);
    CHECK(total / n < 36);
}
