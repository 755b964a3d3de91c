// Tests of fragment reassembly: orders, duplicates, overlaps, bounds, timeouts, keys.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "packet_builder.h"
#include "reassembly/defrag.h"

using namespace mmt;
using mmt::test::Bytes;
using mmt::test::PacketBuilder;

namespace {

constexpr uint64_t kSec = 1000000000ull;

struct Frag {
    uint32_t offset;
    bool more;
    Bytes data;
};

Bytes pattern(size_t n, uint8_t seed = 0) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 7 + seed);
    return b;
}

// Cuts `payload` into fragments of `size` bytes (a multiple of 8, as IP requires).
std::vector<Frag> cut(const Bytes& payload, uint32_t size) {
    std::vector<Frag> out;
    for (uint32_t off = 0; off < payload.size(); off += size) {
        uint32_t n = std::min<uint32_t>(size, static_cast<uint32_t>(payload.size()) - off);
        out.push_back({off, off + n < payload.size(),
                       Bytes(payload.begin() + off, payload.begin() + off + n)});
    }
    return out;
}

Bytes key_of(const std::string& src, uint32_t id) {
    Bytes k = mmt::test::ip_bytes(src);
    Bytes dst = mmt::test::ip_bytes("10.9.9.9");
    k.insert(k.end(), dst.begin(), dst.end());
    k.push_back(17);
    for (int i = 0; i < 4; ++i) k.push_back(static_cast<uint8_t>(id >> (8 * i)));
    return k;
}

struct Dropped {
    Bytes key;
    uint32_t held, fragments;
    DefragDrop why;
};

struct Harness {
    ByteBudget budget;
    Defragmenter d;
    std::vector<Dropped> dropped;
    explicit Harness(DefragConfig cfg = {}, size_t budget_bytes = 1 << 24)
        : budget(budget_bytes), d(cfg, budget) {
        d.on_drop(
            [](void* ctx, std::span<const uint8_t> key, uint32_t held, uint32_t frags,
               DefragDrop why) {
                static_cast<Harness*>(ctx)->dropped.push_back(
                    {Bytes(key.begin(), key.end()), held, frags, why});
            },
            this);
    }
    FragResult add(const Bytes& key, const Frag& f, uint64_t now = 0) {
        return d.add(key, f.offset, f.more, f.data.data(), static_cast<uint32_t>(f.data.size()),
                     now);
    }
};

} // namespace

TEST_CASE("defrag: in order and reverse order", "[defrag]") {
    Bytes payload = pattern(37);
    auto frags = cut(payload, 16);
    REQUIRE(frags.size() == 3);
    Bytes key = key_of("10.0.0.1", 7);
    for (const auto& order : {std::vector<size_t>{0, 1, 2}, std::vector<size_t>{2, 1, 0}}) {
        INFO("fragments in the order " << order[0] << order[1] << order[2]);
        Harness h;
        CHECK(h.add(key, frags[order[0]]).status == FragStatus::Incomplete);
        CHECK(h.add(key, frags[order[1]]).status == FragStatus::Incomplete);
        FragResult r = h.add(key, frags[order[2]]);
        REQUIRE(r.status == FragStatus::Complete);
        CHECK(Bytes(r.data, r.data + r.len) == payload);
        CHECK(r.fragments == 3);
        CHECK(h.d.in_progress() == 0);
        // The buffer lives until the next call, then goes back to the budget.
        CHECK(h.budget.used() > 0);
        h.d.expire(0);
        CHECK(h.budget.used() == 0);
    }
}

TEST_CASE("defrag: random orders with duplicates", "[defrag]") {
    std::mt19937 rng(7);
    DefragConfig cfg;
    cfg.max_pieces = 512; // 8-byte fragments in random order leave many holes
    Harness h(cfg);
    for (int iter = 0; iter < 300; ++iter) {
        Bytes payload = pattern(100 + rng() % 3000, static_cast<uint8_t>(iter));
        auto frags = cut(payload, 8 * (1 + rng() % 40));
        std::vector<Frag> seq = frags;
        for (size_t k = 0; k < frags.size() / 3; ++k) seq.push_back(frags[rng() % frags.size()]);
        std::shuffle(seq.begin(), seq.end(), rng);
        Bytes key = key_of("192.168.0.1", static_cast<uint32_t>(iter));
        std::vector<bool> have(frags.size());
        size_t missing = frags.size();
        bool done = false;
        for (const Frag& f : seq) {
            if (done) break; // a late duplicate would start a new datagram; not sent here
            FragResult r = h.add(key, f, iter);
            size_t idx = f.offset / frags[0].data.size();
            if (!have[idx]) {
                have[idx] = true;
                --missing;
            } else {
                CHECK(r.overlap == f.data.size());
            }
            if (missing == 0) {
                REQUIRE(r.status == FragStatus::Complete);
                REQUIRE(Bytes(r.data, r.data + r.len) == payload);
                done = true;
            } else {
                REQUIRE(r.status == FragStatus::Incomplete);
            }
        }
        REQUIRE(done);
    }
    CHECK(h.d.in_progress() == 0);
    CHECK(h.dropped.empty());
    CHECK(h.d.stats().completed == 300);
    h.d.flush();
    CHECK(h.budget.used() == 0);
}

TEST_CASE("defrag: overlapping fragments, first arrival wins", "[defrag][overlap]") {
    Bytes key = key_of("10.0.0.1", 1);
    Frag a{0, true, Bytes(16, 'A')};
    Frag b{8, false, Bytes(16, 'B')};
    SECTION("A first, then B first") {
        for (bool a_first : {true, false}) {
            INFO((a_first ? "A first" : "B first"));
            Harness h;
            h.add(key, a_first ? a : b);
            FragResult r = h.add(key, a_first ? b : a);
            REQUIRE(r.status == FragStatus::Complete);
            CHECK(r.overlap == 8);
            // The 8 bytes both cover are the first one's.
            Bytes want(a_first ? 16 : 8, 'A');
            want.insert(want.end(), a_first ? 8 : 16, 'B');
            CHECK(Bytes(r.data, r.data + r.len) == want);
            CHECK(h.d.stats().overlapping == 1);
            CHECK(h.d.stats().overlap_bytes == 8);
        }
    }
    SECTION("a fragment covering two pieces and the hole between") {
        Harness h;
        h.add(key, {0, true, Bytes(8, 'x')});
        h.add(key, {24, false, Bytes(8, 'z')});
        FragResult r = h.add(key, {0, true, Bytes(32, 'y')});
        REQUIRE(r.status == FragStatus::Complete);
        CHECK(r.overlap == 16);
        CHECK(std::string(r.data, r.data + r.len) == "xxxxxxxxyyyyyyyyyyyyyyyyzzzzzzzz");
    }
    SECTION("disagreeing last fragments: the first one sets the length") {
        Harness h;
        h.add(key, {16, false, Bytes(8, 'e')});                 // total 24
        FragResult r1 = h.add(key, {8, false, Bytes(24, 'f')}); // says 32: trimmed to 24
        CHECK(r1.overlap == 16);
        CHECK(h.d.stats().conflicts == 1);
        FragResult r = h.add(key, {0, true, Bytes(8, 'g')});
        REQUIRE(r.status == FragStatus::Complete);
        CHECK(std::string(r.data, r.data + r.len) == "ggggggggffffffffeeeeeeee");
    }
}

TEST_CASE("defrag: a missing piece times out", "[defrag][timeout]") {
    DefragConfig cfg;
    cfg.timeout_ms = 30000;
    Harness h(cfg);
    Bytes payload = pattern(48);
    auto frags = cut(payload, 16);
    Bytes key = key_of("10.0.0.1", 99);
    h.add(key, frags[0], 100 * kSec);
    h.add(key, frags[2], 110 * kSec);
    CHECK(h.d.expire(129 * kSec) == 0); // the timer runs from the first fragment
    CHECK(h.d.expire(130 * kSec) == 1);
    REQUIRE(h.dropped.size() == 1);
    CHECK(h.dropped[0].why == DefragDrop::Timeout);
    CHECK(h.dropped[0].key == key);
    CHECK(h.dropped[0].held == 32);
    CHECK(h.dropped[0].fragments == 2);
    CHECK(h.budget.used() == 0);
    // The late piece starts a new datagram that cannot complete alone.
    CHECK(h.add(key, frags[1], 131 * kSec).status == FragStatus::Incomplete);
    CHECK(h.d.in_progress() == 1);
    // A clock that jumps by years costs only what expires.
    CHECK(h.d.expire(131 * kSec + 20ull * 365 * 24 * 3600 * kSec) == 1);
    CHECK(h.d.stats().dropped[static_cast<int>(DefragDrop::Timeout)] == 2);
}

TEST_CASE("defrag: oversize datagrams are dropped", "[defrag][bounds]") {
    Harness h;
    Bytes key = key_of("10.0.0.1", 5);
    CHECK(h.add(key, {0, true, Bytes(1480, 1)}).status == FragStatus::Incomplete);
    FragResult r = h.add(key, {65528, false, Bytes(16, 2)}); // ends at 65544 > 65535
    CHECK(r.status == FragStatus::Dropped);
    REQUIRE(h.dropped.size() == 1);
    CHECK(h.dropped[0].why == DefragDrop::TooLarge);
    CHECK(h.dropped[0].held == 1480);
    CHECK(h.d.in_progress() == 0);
    // Exactly 65535 is fine.
    Harness ok;
    ok.add(key, {0, true, Bytes(65528, 3)});
    FragResult w = ok.add(key, {65528, false, Bytes(7, 4)});
    CHECK(w.status == FragStatus::Complete);
    CHECK(w.len == 65535u);
}

TEST_CASE("defrag: the budget bounds the bytes held", "[defrag][bounds]") {
    Harness h(DefragConfig{}, 2000);
    Bytes k1 = key_of("10.0.0.1", 1), k2 = key_of("10.0.0.2", 1);
    CHECK(h.add(k1, {0, true, Bytes(1480, 1)}).status == FragStatus::Incomplete);
    CHECK(h.add(k1, {1480, false, Bytes(20, 1)}).status == FragStatus::Complete); // 1500 held
    // Completed buffer released at the next call; a second datagram then fits.
    CHECK(h.add(k2, {0, true, Bytes(1480, 2)}).status == FragStatus::Incomplete);
    Bytes k3 = key_of("10.0.0.3", 1);
    FragResult r = h.add(k3, {0, true, Bytes(1000, 3)}); // 1500 + 1024 > 2000
    CHECK(r.status == FragStatus::Dropped);
    REQUIRE(h.dropped.size() == 1);
    CHECK(h.dropped[0].why == DefragDrop::Budget);
    CHECK(h.dropped[0].key == k3);
    CHECK(h.budget.refusals() >= 1);
    CHECK(h.d.in_progress() == 1); // k2 survives
}

TEST_CASE("defrag: max_bytes gives up the oldest datagrams to make room", "[defrag][bounds]") {
    DefragConfig cfg;
    cfg.max_bytes = 5000;
    Harness h(cfg);
    for (uint32_t id = 1; id <= 10; ++id) {
        CHECK(h.add(key_of("10.0.0.1", id), {0, true, Bytes(1480, 1)}, id).status ==
              FragStatus::Incomplete);
        CHECK(h.d.stats().bytes <= 5000);
    }
    // Three buffers of 1480 bytes fit: the seven oldest made room, oldest first.
    CHECK(h.d.in_progress() == 3);
    REQUIRE(h.dropped.size() == 7);
    for (uint32_t i = 0; i < 7; ++i) {
        CHECK(h.dropped[i].why == DefragDrop::Budget);
        CHECK(h.dropped[i].key == key_of("10.0.0.1", i + 1));
    }
    CHECK(h.d.stats().peak_bytes == 3 * 1480);
    CHECK(h.budget.used() == h.d.stats().bytes);
    // The newest completes, even when growing to its whole length needs more room.
    FragResult r = h.add(key_of("10.0.0.1", 10), {1480, false, Bytes(1000, 2)}, 11);
    CHECK(r.status == FragStatus::Complete);
    CHECK(r.len == 2480);
    CHECK(h.d.stats().bytes <= 5000);
    // A datagram larger than the bound alone is given up.
    DefragConfig tiny;
    tiny.max_bytes = 1000;
    Harness t(tiny);
    CHECK(t.add(key_of("10.0.0.2", 1), {0, true, Bytes(1480, 1)}).status == FragStatus::Dropped);
    REQUIRE(t.dropped.size() == 1);
    CHECK(t.dropped[0].why == DefragDrop::Budget);
    CHECK(t.d.stats().bytes == 0);
    t.d.flush();
}

TEST_CASE("defrag: bounded datagrams in progress and pieces per datagram", "[defrag][bounds]") {
    SECTION("table full: the oldest goes") {
        DefragConfig cfg;
        cfg.max_datagrams = 2;
        Harness h(cfg);
        for (uint32_t id = 1; id <= 3; ++id)
            h.add(key_of("10.0.0.1", id), {0, true, Bytes(8, 1)}, id);
        REQUIRE(h.dropped.size() == 1);
        CHECK(h.dropped[0].why == DefragDrop::TableFull);
        CHECK(h.dropped[0].key == key_of("10.0.0.1", 1));
        CHECK(h.d.in_progress() == 2);
        CHECK(h.add(key_of("10.0.0.1", 3), {8, false, Bytes(8, 1)}).status == FragStatus::Complete);
    }
    SECTION("too many separate pieces") {
        DefragConfig cfg;
        cfg.max_pieces = 4;
        Harness h(cfg);
        Bytes key = key_of("10.0.0.1", 1);
        for (uint32_t i = 0; i < 4; ++i)
            CHECK(h.add(key, {i * 16, true, Bytes(8, 1)}).status == FragStatus::Incomplete);
        CHECK(h.add(key, {8, true, Bytes(8, 1)}).status == FragStatus::Incomplete); // merges two
        CHECK(h.add(key, {100 * 8, true, Bytes(8, 1)}).status == FragStatus::Incomplete);
        CHECK(h.add(key, {200 * 8, true, Bytes(8, 1)}).status == FragStatus::Dropped);
        REQUIRE(h.dropped.size() == 1);
        CHECK(h.dropped[0].why == DefragDrop::TooManyFragments);
    }
    SECTION("keys too long are refused") {
        DefragConfig cfg;
        cfg.max_key = 8;
        Harness h(cfg);
        CHECK(h.add(Bytes(9, 1), {0, true, Bytes(8, 1)}).status == FragStatus::Dropped);
        CHECK(h.d.stats().refused == 1);
    }
}

TEST_CASE("defrag: same id from different sources stays apart", "[defrag]") {
    Harness h;
    Bytes p1 = pattern(40, 1), p2 = pattern(40, 2);
    auto f1 = cut(p1, 16), f2 = cut(p2, 16);
    Bytes k1 = key_of("10.0.0.1", 0x1234), k2 = key_of("10.0.0.2", 0x1234);
    h.add(k1, f1[0]);
    h.add(k2, f2[2]);
    h.add(k2, f2[0]);
    h.add(k1, f1[2]);
    FragResult r1 = h.add(k1, f1[1]);
    REQUIRE(r1.status == FragStatus::Complete);
    CHECK(Bytes(r1.data, r1.data + r1.len) == p1);
    FragResult r2 = h.add(k2, f2[1]);
    REQUIRE(r2.status == FragStatus::Complete);
    CHECK(Bytes(r2.data, r2.data + r2.len) == p2);
}

TEST_CASE("defrag: unfragmented pieces pass through without copying", "[defrag]") {
    Harness h;
    Bytes p = pattern(100);
    FragResult r = h.d.add(key_of("10.0.0.1", 1), 0, false, p.data(), 100, 0);
    CHECK(r.status == FragStatus::Complete);
    CHECK(r.data == p.data());
    CHECK(h.budget.used() == 0);
}

TEST_CASE("defrag: flush reports everything in progress", "[defrag]") {
    Harness h;
    for (uint32_t id = 0; id < 10; ++id) h.add(key_of("10.0.0.1", id), {8, false, Bytes(8, 1)});
    CHECK(h.d.flush() == 10);
    CHECK(h.dropped.size() == 10);
    for (const Dropped& d : h.dropped) CHECK(d.why == DefragDrop::EndOfInput);
    CHECK(h.budget.used() == 0);
    CHECK(std::string(to_string(DefragDrop::EndOfInput)) == "end-of-input");
}

// End to end with real header layouts: the offsets come from IPv4 and IPv6 headers built by
// the test fixture, the way the journey gets them from generated code.
TEST_CASE("defrag: IPv4 and IPv6 fragments built as packets", "[defrag][packets]") {
    Bytes udp = PacketBuilder().udp(5353, 53).payload(std::string(3000, 'q')).build();
    // The UDP datagram as an IPv4 payload: strip the 0-length prefix the builder adds none of.
    REQUIRE(udp.size() == 3008);
    Harness h;
    SECTION("IPv4") {
        std::vector<Bytes> packets;
        for (uint32_t off = 0; off < udp.size(); off += 1480) {
            uint32_t n = std::min<uint32_t>(1480, static_cast<uint32_t>(udp.size()) - off);
            packets.push_back(PacketBuilder()
                                  .ipv4("10.1.1.1", "10.2.2.2")
                                  .ip_id(0xbeef)
                                  .frag(static_cast<uint16_t>(off), off + n < udp.size())
                                  .ip_proto(17)
                                  .payload(Bytes(udp.begin() + off, udp.begin() + off + n))
                                  .build());
        }
        std::reverse(packets.begin(), packets.end());
        FragResult last;
        for (const Bytes& p : packets) {
            uint32_t ihl = (p[0] & 0x0f) * 4u;
            uint16_t fo = static_cast<uint16_t>((p[6] << 8) | p[7]);
            uint32_t offset = (fo & 0x1fffu) * 8u;
            bool more = fo & 0x2000;
            Bytes key(p.begin() + 12, p.begin() + 20); // source, destination
            key.push_back(p[9]);
            key.insert(key.end(), p.begin() + 4, p.begin() + 6); // identification
            last = h.d.add(key, offset, more, p.data() + ihl, static_cast<uint32_t>(p.size()) - ihl,
                           0);
        }
        REQUIRE(last.status == FragStatus::Complete);
        CHECK(Bytes(last.data, last.data + last.len) == udp);
    }
    SECTION("IPv6") {
        std::vector<Bytes> packets;
        for (uint32_t off = 0; off < udp.size(); off += 1232) {
            uint32_t n = std::min<uint32_t>(1232, static_cast<uint32_t>(udp.size()) - off);
            packets.push_back(
                PacketBuilder()
                    .ipv6("2001:db8::1", "2001:db8::2")
                    .ipv6_frag(static_cast<uint16_t>(off), off + n < udp.size(), 0xcafe, 17)
                    .payload(Bytes(udp.begin() + off, udp.begin() + off + n))
                    .build());
        }
        std::swap(packets[0], packets[1]);
        FragResult last;
        for (const Bytes& p : packets) {
            REQUIRE(p[6] == 44); // next header: Fragment
            const uint8_t* fh = p.data() + 40;
            uint16_t fo = static_cast<uint16_t>((fh[2] << 8) | fh[3]);
            Bytes key(p.begin() + 8, p.begin() + 40);
            key.push_back(fh[0]);
            key.insert(key.end(), fh + 4, fh + 8);
            last = h.d.add(key, fo & 0xfff8u, fo & 1u, fh + 8, static_cast<uint32_t>(p.size()) - 48,
                           0);
        }
        REQUIRE(last.status == FragStatus::Complete);
        CHECK(Bytes(last.data, last.data + last.len) == udp);
    }
}
