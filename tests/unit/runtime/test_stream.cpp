// Tests of stream reassembly (order, overlaps, loss, wraparound, FIN/RST) and PDU framing.
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "mmt/abi.h"
#include "reassembly/stream.h"

using namespace mmt;

namespace {

constexpr uint32_t SYN = MMT_STREAM_SYN, FIN = MMT_STREAM_FIN, RST = MMT_STREAM_RST;

const uint8_t* u8(const std::string& s) {
    return reinterpret_cast<const uint8_t*>(s.data());
}

struct Collector {
    std::string data;
    std::vector<std::string> events; // "D:<bytes>", "G:<n>", "E"
    std::vector<const uint8_t*> ptrs;
    uint64_t gap = 0;
    bool ended = false;
    static void fn(void* ctx, StreamEvent e, const uint8_t* d, uint32_t n) {
        auto* c = static_cast<Collector*>(ctx);
        switch (e) {
        case StreamEvent::Data:
            c->data.append(reinterpret_cast<const char*>(d), n);
            c->events.push_back("D:" + std::string(reinterpret_cast<const char*>(d), n));
            c->ptrs.push_back(d);
            break;
        case StreamEvent::Gap:
            c->gap += n;
            c->events.push_back("G:" + std::to_string(n));
            break;
        case StreamEvent::End:
            c->ended = true;
            c->events.push_back("E");
            break;
        }
    }
    StreamSink sink() { return {&fn, this}; }
};

// A direction under test: reassembler, state and collector together.
struct Dir {
    ByteBudget budget{1 << 24};
    StreamConfig cfg;
    StreamReassembler ra;
    StreamState st{};
    Collector out;
    explicit Dir(StreamConfig c = {}, size_t budget_bytes = 1 << 24)
        : budget(budget_bytes), cfg(c), ra(cfg, budget) {}
    ~Dir() { ra.release(st); }
    SegmentResult seg(uint32_t seq, const std::string& payload, uint32_t flags = 0) {
        return ra.segment(st, seq, flags, u8(payload), static_cast<uint32_t>(payload.size()),
                          out.sink());
    }
};

} // namespace

TEST_CASE("in-order segments are delivered zero-copy", "[stream]") {
    Dir d;
    CHECK(d.seg(1000, "", SYN).status == SegmentStatus::Empty);
    std::string a = "hello ", b = "world";
    SegmentResult r = d.ra.segment(d.st, 1001, 0, u8(a), 6, d.out.sink());
    CHECK(r.status == SegmentStatus::InOrder);
    CHECK(r.delivered == 6);
    REQUIRE(d.out.ptrs.size() == 1);
    CHECK(d.out.ptrs[0] == u8(a)); // a view into the packet, not a copy
    d.ra.segment(d.st, 1007, 0, u8(b), 5, d.out.sink());
    CHECK(d.out.ptrs.back() == u8(b));
    CHECK(d.out.data == "hello world");
    CHECK(d.seg(1012, "").status == SegmentStatus::Empty); // a pure ACK
    SegmentResult f = d.seg(1012, "", FIN);
    CHECK(f.ended);
    CHECK(d.out.ended);
    CHECK(d.st.next_seq == 1013);
    CHECK(d.seg(1013, "late").status == SegmentStatus::AfterEnd);
    CHECK(d.out.data == "hello world");
    CHECK(d.budget.used() == 0);
}

TEST_CASE("out-of-order: every permutation of 4 segments", "[stream]") {
    const std::vector<std::string> parts = {"abc", "defgh", "ij", "klmnop"};
    std::vector<uint32_t> offs = {0, 3, 8, 10};
    std::vector<int> order = {0, 1, 2, 3};
    int perms = 0;
    do {
        INFO("order " << order[0] << order[1] << order[2] << order[3]);
        Dir d;
        d.seg(99, "", SYN);
        std::vector<bool> got(4);
        uint32_t delivered = 0, held = 0;
        for (int i : order) {
            size_t views_before = d.out.ptrs.size();
            SegmentResult r = d.seg(100 + offs[i], parts[i]);
            bool all_before = std::all_of(got.begin(), got.begin() + i, [](bool x) { return x; });
            CHECK(r.status == (all_before ? SegmentStatus::InOrder : SegmentStatus::Held));
            got[i] = true;
            delivered += r.delivered;
            held += r.status == SegmentStatus::Held;
            // An in-order segment's own bytes come straight from the packet.
            if (all_before) CHECK(d.out.ptrs.at(views_before) == u8(parts[i]));
        }
        CHECK(delivered == 16);
        CHECK(d.ra.stats().held_segments == held);
        CHECK(d.out.data == "abcdefghijklmnop");
        CHECK(d.out.gap == 0);
        CHECK(d.st.next_seq == 116);
        CHECK(d.st.buf == nullptr);  // nothing left held
        CHECK(d.budget.used() == 0); // every buffer returned
        ++perms;
    } while (std::next_permutation(order.begin(), order.end()));
    CHECK(perms == 24);
}

TEST_CASE("retransmissions are dropped and counted", "[stream]") {
    Dir d;
    d.seg(0, "", SYN);
    d.seg(1, "0123456789");
    d.seg(11, "abcdef");
    SegmentResult r = d.seg(1, "0123456789");
    CHECK(r.status == SegmentStatus::Duplicate);
    CHECK(r.delivered == 0);
    CHECK(d.ra.stats().retransmissions == 1);
    // Partly old, partly new: only the new bytes come out, and the old part counts as overlap.
    SegmentResult p = d.seg(15, "XXghij");
    CHECK(p.status == SegmentStatus::InOrder);
    CHECK(p.overlap == 2);
    CHECK(d.out.data == "0123456789abcdefghij");
    // A retransmitted SYN is harmless.
    CHECK(d.seg(0, "", SYN).status == SegmentStatus::Empty);
    CHECK(d.ra.stats().overlap_bytes == 12);
}

TEST_CASE("overlaps: bytes delivered or held first win", "[stream][overlap]") {
    Dir d;
    d.seg(0xffffffffu, "", SYN);                                    // next expected: 0
    REQUIRE(d.seg(10, "HHHHHHHHHH").status == SegmentStatus::Held); // [10, 20)
    SECTION("left overlap") {
        SegmentResult r = d.seg(5, "nnnnnnnnnn"); // [5, 15)
        CHECK(r.status == SegmentStatus::Held);
        CHECK(r.overlap == 5);
        d.seg(0, "aaaaa");
        CHECK(d.out.data == "aaaaannnnnHHHHHHHHHH");
    }
    SECTION("right overlap") {
        SegmentResult r = d.seg(15, "nnnnnnnnnn"); // [15, 25)
        CHECK(r.overlap == 5);
        d.seg(0, "aaaaaaaaaa");
        CHECK(d.out.data == "aaaaaaaaaaHHHHHHHHHHnnnnn");
    }
    SECTION("inside") {
        SegmentResult r = d.seg(12, "nnnnnn");
        CHECK(r.status == SegmentStatus::Duplicate);
        CHECK(r.overlap == 6);
        d.seg(0, "aaaaaaaaaa");
        CHECK(d.out.data == "aaaaaaaaaaHHHHHHHHHH");
    }
    SECTION("covering") {
        SegmentResult r = d.seg(5, std::string(20, 'n')); // [5, 25)
        CHECK(r.status == SegmentStatus::Held);
        CHECK(r.overlap == 10);
        d.seg(0, "aaaaa");
        CHECK(d.out.data == "aaaaannnnnHHHHHHHHHHnnnnn");
    }
    SECTION("in-order segment covering held bytes") {
        std::string all(30, 'n');
        SegmentResult r = d.ra.segment(d.st, 0, 0, u8(all), 30, d.out.sink());
        CHECK(r.status == SegmentStatus::InOrder);
        CHECK(r.overlap == 10);
        CHECK(r.delivered == 30);
        CHECK(d.out.data == std::string(10, 'n') + std::string(10, 'H') + std::string(10, 'n'));
        REQUIRE(d.out.ptrs.size() == 3);
        CHECK(d.out.ptrs[0] == u8(all));      // from the packet
        CHECK(d.out.ptrs[2] == u8(all) + 20); // from the packet again after the held part
    }
    SECTION("overlap with held ranges on both sides of a hole") {
        d.seg(30, "TTTTT");                                // [30, 35): holes [0,10) and [20,30)
        SegmentResult r = d.seg(15, std::string(20, 'n')); // [15, 35)
        CHECK(r.overlap == 10);
        CHECK(d.st.buf != nullptr);
        d.seg(0, "aaaaaaaaaa");
        CHECK(d.out.data == "aaaaaaaaaaHHHHHHHHHHnnnnnnnnnnTTTTT");
    }
    CHECK(d.out.gap == 0);
}

TEST_CASE("overlap with delivered bytes is trimmed", "[stream][overlap]") {
    Dir d;
    d.seg(100, "0123456789"); // picked up mid-stream at 100
    SegmentResult r = d.seg(105, "zzzzzABCDE");
    CHECK(r.overlap == 5);
    CHECK(d.out.data == "0123456789ABCDE");
}

TEST_CASE("loss: window bound gives up the oldest gap", "[stream][loss]") {
    StreamConfig cfg;
    cfg.max_window = 100;
    Dir d(cfg);
    d.seg(0, "", SYN);                                                    // next 1
    CHECK(d.seg(51, std::string(20, 'h')).status == SegmentStatus::Held); // rel 50..70
    SegmentResult r = d.seg(201, "far-away!!");                           // rel 200
    CHECK(r.status == SegmentStatus::InOrder);
    CHECK(r.lost == 50 + 130);
    CHECK(d.out.events ==
          std::vector<std::string>{"G:50", "D:" + std::string(20, 'h'), "G:130", "D:far-away!!"});
    CHECK(d.ra.stats().lost_bytes == 180);
    CHECK(d.st.next_seq == 211);
    CHECK(d.budget.used() == 0);
}

TEST_CASE("loss: more separate holes than ranges", "[stream][loss]") {
    Dir d;
    d.seg(0, "", SYN);
    for (uint32_t i = 0; i < StreamReassembler::kMaxRanges; ++i)
        CHECK(d.seg(1 + 10 * (i + 1), "xx").status == SegmentStatus::Held);
    CHECK(StreamReassembler::held_bytes(d.st) == 2 * StreamReassembler::kMaxRanges);
    SegmentResult r = d.seg(1 + 10 * 20, "yy"); // a 17th range: the first hole goes
    CHECK(r.status == SegmentStatus::Held);
    CHECK(r.lost == 10);
    CHECK(d.out.events.front() == "G:10");
    CHECK(d.out.data == "xx");
    d.seg(13, "12345678"); // fills the next hole
    CHECK(d.out.data.substr(0, 12) == "xx12345678xx");
}

TEST_CASE("loss: the shared budget bounds all streams together", "[stream][loss]") {
    ByteBudget budget(8192);
    StreamConfig cfg;
    StreamReassembler ra(cfg, budget);
    StreamState a{}, b{};
    Collector ca, cb;
    std::string x(100, 'x'), y(100, 'y'), z(10, 'z');
    ra.segment(a, 0, SYN, nullptr, 0, ca.sink());
    ra.segment(b, 0, SYN, nullptr, 0, cb.sink());
    CHECK(ra.segment(a, 501, 0, u8(x), 100, ca.sink()).status == SegmentStatus::Held);
    CHECK(budget.used() > 4096);
    // Stream b cannot get a buffer: it skips its gap at once and loses nothing else.
    SegmentResult r = ra.segment(b, 301, 0, u8(y), 100, cb.sink());
    CHECK(r.status == SegmentStatus::InOrder);
    CHECK(r.lost == 300);
    CHECK(cb.data == y);
    CHECK(budget.refusals() >= 1);
    // Stream a is untouched and completes normally.
    std::string fill(500, 'f');
    ra.segment(a, 1, 0, u8(fill), 500, ca.sink());
    CHECK(ca.data == fill + x);
    CHECK(ca.gap == 0);
    CHECK(budget.used() == 0);
    // release() counts what is still held as lost and returns the memory.
    ra.segment(a, 700, 0, u8(z), 10, ca.sink());
    CHECK(budget.used() > 0);
    CHECK(ra.release(a) == 10);
    CHECK(ra.stats().lost_bytes == 300 + 10); // b's gap, then what a held
    CHECK(budget.used() == 0);
    ra.release(b);
}

TEST_CASE("32-bit sequence wraparound", "[stream]") {
    const std::string msg = "0123456789abcdefghijklmnopqrstuvwxyz";
    for (uint32_t isn : {0xfffffff0u, 0xffffffffu, 0xffffffe0u, 0x7ffffff8u}) {
        INFO("isn " << isn);
        Dir d;
        d.seg(isn, "", SYN);
        // Send in the order 3rd, 1st, 4th, 2nd; the stream crosses 2^32 for the first ISNs.
        uint32_t s = isn + 1;
        d.seg(s + 20, msg.substr(20, 10));
        d.seg(s, msg.substr(0, 10));
        d.seg(s + 30, msg.substr(30));
        CHECK(d.seg(s, msg.substr(0, 5)).status == SegmentStatus::Duplicate);
        d.seg(s + 10, msg.substr(10, 10));
        CHECK(d.out.data == msg);
        CHECK(d.st.next_seq == s + static_cast<uint32_t>(msg.size()));
        CHECK(d.seg(s + 36, "", FIN).ended);
    }
}

TEST_CASE("FIN ends the direction once the bytes before it are in", "[stream]") {
    Dir d;
    d.seg(0, "", SYN);
    SegmentResult r = d.seg(6, "world", FIN); // before "hello"
    CHECK(r.status == SegmentStatus::Held);
    CHECK_FALSE(r.ended);
    SegmentResult s = d.seg(1, "hello");
    CHECK(s.ended);
    CHECK(d.out.events == std::vector<std::string>{"D:hello", "D:world", "E"});
    CHECK(d.seg(11, "", FIN).status == SegmentStatus::AfterEnd);
}

TEST_CASE("bytes after the FIN do not exist", "[stream]") {
    Dir d;
    d.seg(0, "", SYN);
    d.seg(11, "tail-after-fin"); // held, partly beyond the FIN that comes next
    d.seg(6, "world", FIN);      // FIN at 11
    CHECK_FALSE(d.out.ended);
    d.seg(1, "hello");
    CHECK(d.out.ended);
    CHECK(d.out.data.substr(0, 10) == "helloworld");
}

TEST_CASE("RST ends the direction and flushes held bytes with gaps", "[stream]") {
    Dir d;
    d.seg(0, "", SYN);
    d.seg(1, "abc");
    d.seg(10, "held");
    SegmentResult r = d.seg(4, "", RST);
    CHECK(r.ended);
    CHECK(r.lost == 6);
    CHECK(d.out.events == std::vector<std::string>{"D:abc", "G:6", "D:held", "E"});
    CHECK(d.seg(14, "more").status == SegmentStatus::AfterEnd);
    CHECK(d.budget.used() == 0);
}

TEST_CASE("mid-stream pickup starts at the first segment seen", "[stream]") {
    Dir d;
    SegmentResult r = d.seg(5000, "middle");
    CHECK(r.status == SegmentStatus::InOrder);
    CHECK(d.out.data == "middle");
    CHECK(d.seg(4000, "earlier").status == SegmentStatus::Duplicate);
    CHECK(d.seg(5006, "-next").status == SegmentStatus::InOrder);
    CHECK(d.out.data == "middle-next");
}

// ---------------------------------------------------------------------------------------
// PDU framing
// ---------------------------------------------------------------------------------------

namespace {

struct Pdus {
    std::vector<std::string> pdus;
    std::vector<bool> zero_copy;
    int malformed = 0, dropped = 0;
    const uint8_t* chunk = nullptr; // the chunk being fed, to tell views from copies
    uint32_t chunk_len = 0;
    static void fn(void* ctx, PduEvent e, const uint8_t* d, uint32_t n) {
        auto* c = static_cast<Pdus*>(ctx);
        if (e == PduEvent::Pdu) {
            c->pdus.emplace_back(reinterpret_cast<const char*>(d), n);
            c->zero_copy.push_back(d >= c->chunk && d + n <= c->chunk + c->chunk_len);
        } else if (e == PduEvent::Malformed) {
            ++c->malformed;
        } else {
            ++c->dropped;
        }
    }
    PduSink sink() { return {&fn, this}; }
};

// Length-prefixed PDUs: a 1-byte length of the body follows a 1-byte type; type '!' is
// malformed. Whole length = 2 + body.
int64_t tlv_length(void*, const uint8_t* d, uint32_t n) {
    if (n >= 1 && d[0] == '!') return -1;
    if (n < 2) return 0;
    return 2 + static_cast<int64_t>(d[1]);
}

std::string tlv(char type, const std::string& body) {
    return std::string(1, type) + static_cast<char>(body.size()) + body;
}

struct Framer {
    ByteBudget budget{1 << 20};
    PduConfig cfg;
    PduFramer fr;
    PduState st{};
    PduRule rule;
    Pdus out;
    std::string term;
    explicit Framer(PduConfig c = {}, size_t budget_bytes = 1 << 20)
        : budget(budget_bytes), cfg(c), fr(cfg, budget) {}
    ~Framer() { fr.release(st); }
    void use_length() { rule.length = &tlv_length; }
    void use_terminator(const std::string& t) {
        term = t;
        rule.terminator = u8(term);
        rule.terminator_len = static_cast<uint32_t>(term.size());
    }
    void feed(const std::string& chunk) {
        out.chunk = u8(chunk);
        out.chunk_len = static_cast<uint32_t>(chunk.size());
        fr.feed(st, rule, u8(chunk), static_cast<uint32_t>(chunk.size()), out.sink());
    }
    // Feeds `s` cut at the given positions.
    void feed_split(const std::string& s, std::vector<size_t> cuts) {
        cuts.push_back(s.size());
        size_t from = 0;
        for (size_t c : cuts) {
            feed(s.substr(from, c - from));
            from = c;
        }
    }
};

} // namespace

TEST_CASE("PDUs: several in one segment are all zero-copy", "[pdu]") {
    Framer f;
    f.use_length();
    f.feed(tlv('a', "one") + tlv('b', "") + tlv('c', "three!"));
    CHECK(f.out.pdus ==
          std::vector<std::string>{tlv('a', "one"), tlv('b', ""), tlv('c', "three!")});
    CHECK(f.out.zero_copy == std::vector<bool>{true, true, true});
    CHECK(f.st.pdus == 3);
    CHECK(f.budget.used() == 0);
}

TEST_CASE("PDUs spanning 2 and 3 segments are delivered by the completing segment", "[pdu]") {
    Framer f;
    f.use_length();
    std::string p1 = tlv('x', "0123456789"), p2 = tlv('y', "abcdefghijklmnopqrst");
    std::string s = p1 + p2;
    f.feed(s.substr(0, 5));
    CHECK(f.out.pdus.empty());
    f.feed(s.substr(5, 10)); // completes p1 (12 bytes) and starts p2
    CHECK(f.out.pdus == std::vector<std::string>{p1});
    CHECK(f.out.zero_copy.back() == false);
    f.feed(s.substr(15, 5));
    CHECK(f.out.pdus.size() == 1);
    f.feed(s.substr(20)); // completes p2 over 3 segments
    CHECK(f.out.pdus == std::vector<std::string>{p1, p2});
}

TEST_CASE("PDUs: a stream split at every possible byte gives the same PDUs", "[pdu]") {
    std::vector<std::string> expect = {tlv('a', "alpha"), tlv('b', ""),
                                       tlv('c', std::string(40, 'c')), tlv('d', "d"),
                                       tlv('e', "the end")};
    std::string s = std::accumulate(expect.begin(), expect.end(), std::string());
    for (size_t i = 1; i < s.size(); ++i) {
        for (size_t j = i; j < s.size(); j += 3) { // two cuts: i and j (j == i: one cut)
            Framer f;
            f.use_length();
            f.feed_split(s, i == j ? std::vector<size_t>{i} : std::vector<size_t>{i, j});
            REQUIRE(f.out.pdus == expect);
            REQUIRE(f.out.malformed == 0);
        }
    }
    // One byte per segment.
    Framer f;
    f.use_length();
    for (char c : s) f.feed(std::string(1, c));
    CHECK(f.out.pdus == expect);
}

TEST_CASE("PDUs by terminator, split at every byte, terminator split too", "[pdu]") {
    std::vector<std::string> expect = {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "\r\n\r\n",
                                       "POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n"};
    std::string s = std::accumulate(expect.begin(), expect.end(), std::string());
    for (size_t i = 1; i < s.size(); ++i) {
        for (size_t j = i; j < s.size(); j += 2) {
            Framer f;
            f.use_terminator("\r\n\r\n");
            f.feed_split(s, i == j ? std::vector<size_t>{i} : std::vector<size_t>{i, j});
            REQUIRE(f.out.pdus == expect);
        }
    }
    Framer f;
    f.use_terminator("\r\n\r\n");
    f.feed(s);
    CHECK(f.out.pdus == expect);
    CHECK(f.out.zero_copy == std::vector<bool>{true, true, true});
    // Self-overlapping terminator split as "\r\n\r" | "\r\n\r\n": ends after the first match.
    Framer g;
    g.use_terminator("\r\n\r\n");
    g.feed("a\r\n\r");
    g.feed("\r\n\r\nb\r\n\r\n");
    CHECK(g.out.pdus == std::vector<std::string>{"a\r\n\r\r\n\r\n", "b\r\n\r\n"});
}

TEST_CASE("over-long PDUs are malformed and the stream resynchronises", "[pdu]") {
    PduConfig cfg;
    cfg.max_pdu = 16;
    SECTION("known length: its bytes are skipped exactly") {
        std::string big = tlv('L', std::string(30, 'z')), next = tlv('n', "ok");
        std::string s = big + next + next;
        for (size_t i = 1; i < s.size(); ++i) {
            Framer f(cfg);
            f.use_length();
            f.feed_split(s, {i});
            REQUIRE(f.out.malformed == 1);
            REQUIRE(f.out.pdus == std::vector<std::string>{next, next});
            REQUIRE(f.budget.used() <= 256);
        }
    }
    SECTION("terminator: dropped up to the next terminator") {
        std::string s = std::string(25, 'x') + "\r\n" + "ok\r\n" + "fine\r\n";
        for (size_t i = 1; i < s.size(); ++i) {
            Framer f(cfg);
            f.use_terminator("\r\n");
            f.feed_split(s, {i});
            INFO("cut at " << i);
            REQUIRE(f.out.malformed == 1);
            REQUIRE(f.out.pdus == std::vector<std::string>{"ok\r\n", "fine\r\n"});
        }
    }
    SECTION("unknown length reaching the bound") {
        Framer f(cfg);
        f.rule.length = [](void*, const uint8_t*, uint32_t) -> int64_t { return 0; };
        f.feed(std::string(10, 'q'));
        f.feed(std::string(10, 'q'));
        CHECK(f.out.malformed == 1);
        CHECK(f.out.pdus.empty());
    }
}

TEST_CASE("a protocol's own PDU limit overrides the framer's", "[pdu]") {
    std::string mid = tlv('M', std::string(30, 'm')), small = tlv('s', "ok");
    SECTION("a larger limit accepts what the default refuses") {
        PduConfig cfg;
        cfg.max_pdu = 16;
        Framer f(cfg);
        f.use_length();
        f.rule.max_pdu = 64;
        f.feed_split(mid + small, {5, 20});
        CHECK(f.out.malformed == 0);
        CHECK(f.out.pdus == std::vector<std::string>{mid, small});
    }
    SECTION("a smaller limit refuses what the default accepts") {
        Framer f; // 1 MiB by default
        f.use_terminator("\r\n");
        f.rule.max_pdu = 8;
        f.feed(std::string(20, 'x') + "\r\n" + "ok\r\n");
        CHECK(f.out.malformed == 1);
        CHECK(f.out.pdus == std::vector<std::string>{"ok\r\n"});
    }
}

TEST_CASE("a malformed length drops the bytes examined", "[pdu]") {
    Framer f;
    f.use_length();
    f.feed("!garbage");
    CHECK(f.out.malformed == 1);
    f.feed(tlv('a', "fine"));
    CHECK(f.out.pdus == std::vector<std::string>{tlv('a', "fine")});
}

TEST_CASE("PDU framing across stream gaps", "[pdu][loss]") {
    SECTION("known length: the rest of the broken PDU is skipped") {
        Framer f;
        f.use_length();
        std::string p = tlv('a', std::string(18, 'p')); // 20 bytes
        f.feed(p.substr(0, 5));
        f.fr.gap(f.st, 5, f.out.sink());
        CHECK(f.out.dropped == 1);
        f.feed(p.substr(10) + tlv('b', "next"));
        CHECK(f.out.pdus == std::vector<std::string>{tlv('b', "next")});
    }
    SECTION("unknown boundary: the next byte starts a PDU") {
        Framer f;
        f.use_terminator("\n");
        f.feed("partial line");
        f.fr.gap(f.st, 100, f.out.sink());
        CHECK(f.out.dropped == 1);
        f.feed("new line\n");
        CHECK(f.out.pdus == std::vector<std::string>{"new line\n"});
    }
}

TEST_CASE("PDU accumulation respects the budget", "[pdu][loss]") {
    Framer f(PduConfig{}, 100);
    f.use_length();
    std::string p = tlv('a', std::string(200, 'p'));
    f.feed(p.substr(0, 50));
    CHECK(f.out.dropped == 1); // 202 bytes cannot be buffered in a 100-byte budget
    f.feed(p.substr(50) + tlv('b', "small"));
    CHECK(f.out.pdus == std::vector<std::string>{tlv('b', "small")});
    CHECK(f.budget.used() == 0);
}

TEST_CASE("stream + PDUs: the segment that completes a PDU delivers it", "[pdu][stream]") {
    ByteBudget budget(1 << 20);
    StreamReassembler ra(StreamConfig{}, budget);
    PduFramer fr(PduConfig{}, budget);
    StreamState st{};
    PduState ps{};
    PduRule rule;
    rule.length = &tlv_length;
    Pdus out;
    struct Glue {
        PduFramer* fr;
        PduState* ps;
        PduRule* rule;
        Pdus* out;
    } glue{&fr, &ps, &rule, &out};
    StreamSink sink{[](void* ctx, StreamEvent e, const uint8_t* d, uint32_t n) {
                        auto* g = static_cast<Glue*>(ctx);
                        if (e == StreamEvent::Data) {
                            g->out->chunk = d;
                            g->out->chunk_len = n;
                            g->fr->feed(*g->ps, *g->rule, d, n, g->out->sink());
                        } else if (e == StreamEvent::Gap) {
                            g->fr->gap(*g->ps, n, g->out->sink());
                        }
                    },
                    &glue};
    std::string p1 = tlv('1', "first-pdu"), p2 = tlv('2', "second-pdu"), p3 = tlv('3', "3");
    std::string s = p1 + p2 + p3; // 11 + 12 + 3 bytes
    std::string s1 = s.substr(0, 8), s2 = s.substr(8, 8), s3 = s.substr(16);
    ra.segment(st, 0, SYN, nullptr, 0, sink);
    ra.segment(st, 1, 0, u8(s1), 8, sink);
    CHECK(out.pdus.empty());
    CHECK(ra.segment(st, 17, 0, u8(s3), static_cast<uint32_t>(s3.size()), sink).status ==
          SegmentStatus::Held);
    CHECK(out.pdus.empty()); // held bytes are not seen before the gap fills
    ra.segment(st, 9, 0, u8(s2), 8, sink);
    CHECK(out.pdus == std::vector<std::string>{p1, p2, p3}); // all on the gap-filling segment
    CHECK(out.zero_copy == std::vector<bool>{false, false, true});
    ra.release(st);
    fr.release(ps);
    CHECK(budget.used() == 0);
}
