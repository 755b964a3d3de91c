// Property test: every generated function of the built-in library, on 100,000 random and
// mutated packets, never reads outside the packet (each packet is its own heap block of
// exactly its length, so AddressSanitizer sees any overrun), never misbehaves, and returns
// values that respect the ABI. Run alone with: compiler_tests "[property]".
// MMT_PROPERTY_SEED=n changes the random sequence (the default is fixed: failures replay).
#include "codegen_util.h"
#include "library_packets.h"

#include <cstdlib>
#include <memory>
#include <random>

using namespace mmtc::test;

namespace {

constexpr int kIterations = 100000;
constexpr uint32_t kScratch = 512;

/// Heap memory of exactly `n` bytes (at least 1 allocated, but only `n` usable).
struct Exact {
    explicit Exact(const std::vector<uint8_t>& b)
        : n(b.size()), p(static_cast<uint8_t*>(std::malloc(b.empty() ? 1 : b.size()))) {
        if (!b.empty()) std::memcpy(p, b.data(), b.size());
    }
    explicit Exact(size_t size) : n(size), p(static_cast<uint8_t*>(std::malloc(size ? size : 1))) {}
    ~Exact() { std::free(p); }
    Exact(const Exact&) = delete;
    Exact& operator=(const Exact&) = delete;
    size_t n;
    uint8_t* p;
};

/// Reads every byte a value points to: AddressSanitizer checks that it may.
uint32_t touch(const mmt_value& v) {
    uint32_t sum = 0;
    if (v.ptr)
        for (uint32_t i = 0; i < v.len; ++i) sum += v.ptr[i];
    return sum;
}

struct Checker {
    const mmt_library* t;
    uint64_t calls = 0;
    uint32_t sink = 0;
    int failures = 0;

    void expect(bool ok, const char* what, const mmt_proto& p) {
        if (ok || failures > 20) return;
        ++failures;
        FAIL_CHECK(what << " (" << p.name << ")");
    }

    bool knownId(uint32_t id) const {
        for (uint32_t i = 0; i < t->n_protos; ++i)
            if (t->protos[i].id == id) return true;
        return false;
    }

    void checkValue(const mmt_proto& p, const mmt_value& v, uint32_t type) {
        expect(v.type == type, "a value of the declared type", p);
        if (v.type == MMT_T_MAC) expect(v.len == 6 && v.ptr, "a MAC is 6 bytes", p);
        if (v.type == MMT_T_IPV4) expect(v.len == 4 && v.ptr, "an IPv4 address is 4 bytes", p);
        if (v.type == MMT_T_IPV6) expect(v.len == 16 && v.ptr, "an IPv6 address is 16 bytes", p);
        if (v.type == MMT_T_BOOL) expect(v.u <= 1, "a bool is 0 or 1", p);
        if ((v.type == MMT_T_BYTES || v.type == MMT_T_STRING) && v.len)
            expect(v.ptr != nullptr, "bytes have a pointer", p);
        sink += touch(v);
    }

    static void onEvent(mmt_ctx* ctx, uint32_t attr, const mmt_value* v) {
        auto* self = static_cast<Checker*>(ctx->user);
        self->sink += touch(*v) + attr;
    }

    /// Every function of `p` on `ctx` (whose data and len are set). Returns the parse
    /// result of validate.
    mmt_parse_result runAll(const mmt_proto& p, mmt_ctx& ctx) {
        Exact scratch(kScratch);
        mmt_scratch mem{scratch.p, kScratch, 0};
        ctx.scratch = &mem;
        ctx.emit = &Checker::onEvent;
        ctx.user = this;
        ctx.events_wanted = ~uint64_t(0);
        std::unique_ptr<Exact> state;
        if (p.state_size && p.init_state) {
            state = std::make_unique<Exact>(p.state_size);
            p.init_state(state->p);
            ctx.state = state->p;
        } else {
            ctx.state = nullptr;
        }
        mmt_parse_result r{};
        int32_t status = p.validate(&ctx, &r);
        ++calls;
        expect(status >= MMT_OK && status <= MMT_MALFORMED && uint32_t(status) == r.status,
               "validate status", p);
        if (status == MMT_OK) {
            expect(uint64_t(r.header_len) + r.payload_len <= ctx.len,
                   "header and payload within the data", p);
            expect(r.payload_truncated <= 1, "payload_truncated is a flag", p);
        } else {
            expect(r.fail_field == -1 || (r.fail_field >= 0 && uint32_t(r.fail_field) < p.n_fields),
                   "fail_field", p);
            expect(r.fail_reason >= MMT_FAIL_BOUNDS && r.fail_reason <= MMT_FAIL_ARITHMETIC,
                   "fail_reason", p);
            expect(r.fail_offset <= ctx.len, "fail_offset within the data", p);
        }
        if (p.analyse) {
            mmt_parse_result a{};
            int32_t s = p.analyse(&ctx, &a);
            ++calls;
            expect(s >= MMT_OK && s <= MMT_MALFORMED && uint32_t(s) == a.status, "analyse status",
                   p);
            if (s != MMT_OK) expect(a.fail_offset <= ctx.len, "analyse fail_offset", p);
        }
        for (uint32_t i = 0; i < p.n_attrs; ++i) {
            if (!p.attrs[i].get) continue;
            mmt_value v{};
            int32_t ok = p.attrs[i].get(&ctx, &v);
            ++calls;
            expect(ok == 0 || ok == 1, "a getter returns 0 or 1", p);
            if (ok == 1) checkValue(p, v, p.attrs[i].type);
        }
        expect(mem.used <= mem.cap, "scratch within its capacity", p);
        if (p.key) {
            mmt_key k{};
            int32_t ok = p.key(&ctx, &k);
            ++calls;
            expect(ok == 0 || ok == 1, "key returns 0 or 1", p);
            expect(k.shared_len <= MMT_KEY_SIDE_MAX && k.a_len <= MMT_KEY_SIDE_MAX &&
                       k.b_len <= MMT_KEY_SIDE_MAX,
                   "key parts fit", p);
            expect(k.overflow <= 1, "overflow is a flag", p);
            if (ok == 0)
                expect(k.shared_len == 0 && k.a_len == 0 && k.b_len == 0,
                       "a failed key is untouched", p);
        }
        if (p.sides) {
            mmt_value a{}, b{};
            if (p.sides(&ctx, &a, &b) == 1) {
                sink += touch(a) + touch(b);
                expect(a.type == b.type, "both sides have one type", p);
            }
            ++calls;
        }
        if (p.classify) {
            mmt_class_result cr{};
            int32_t ok = p.classify(&ctx, &r, &cr);
            ++calls;
            expect(ok == 0 || ok == 1, "classify returns 0 or 1", p);
            if (ok == 1) expect(knownId(cr.next_id), "classify names a protocol of the library", p);
        }
        if (p.pdu_length) {
            int64_t n = p.pdu_length(&ctx);
            ++calls;
            sink += uint32_t(n);
        }
        if (p.update && ctx.state) {
            p.update(&ctx);
            p.update(&ctx);
            calls += 2;
        }
        if (p.stream) {
            mmt_stream_info si{};
            int32_t ok = p.stream(&ctx, &si);
            ++calls;
            expect(ok == 0 || ok == 1, "stream returns 0 or 1", p);
            expect((si.flags & ~uint32_t(MMT_STREAM_SYN | MMT_STREAM_FIN | MMT_STREAM_RST)) == 0,
                   "stream flags", p);
        }
        if (p.fragment) {
            mmt_frag_info fi{};
            int32_t ok = p.fragment(&ctx, &fi);
            ++calls;
            expect(ok == 0 || ok == 1, "fragment returns 0 or 1", p);
            expect(fi.more <= 1, "more is a flag", p);
        }
        ctx.state = nullptr;
        ctx.scratch = nullptr;
        return r;
    }

    const mmt_proto* byId(uint32_t id) const {
        for (uint32_t i = 0; i < t->n_protos; ++i)
            if (t->protos[i].id == id) return &t->protos[i];
        return nullptr;
    }

    /// The journey from `frame`: each protocol on the payload its parent reports, with the
    /// parent's context, as far as classification leads.
    void journey(const Exact& pkt, uint32_t linktype, uint32_t direction) {
        mmt_ctx ctxs[12];
        const mmt_proto* p = &t->protos[0];
        const uint8_t* data = pkt.p;
        uint32_t len = uint32_t(pkt.n);
        uint32_t parentId = 0;
        for (int depth = 0; depth < 12 && p; ++depth) {
            mmt_ctx& c = ctxs[depth];
            c = mmt_ctx{};
            c.data = data;
            c.len = len;
            c.linktype = linktype;
            c.direction = direction;
            c.parent = depth ? &ctxs[depth - 1] : nullptr;
            c.parent_id = parentId;
            mmt_parse_result r = runAll(*p, c);
            if (r.status != MMT_OK || !p->classify) return;
            mmt_class_result cr{};
            if (!p->classify(&c, &r, &cr)) return;
            parentId = p->id;
            p = byId(cr.next_id);
            data += r.header_len;
            len = r.payload_len;
        }
    }
};

using Bytes = std::vector<uint8_t>;

/// A mutated copy of one of the seeds (or random bytes).
Bytes mutate(std::mt19937_64& rng, const std::vector<Bytes>& seeds) {
    auto pick = [&](size_t n) { return n ? size_t(rng() % n) : 0; };
    Bytes b = seeds[pick(seeds.size())];
    switch (rng() % 8) {
    case 0: { // random bytes
        b.resize(pick(300));
        for (auto& x : b) x = uint8_t(rng());
        return b;
    }
    case 1: // truncated
        b.resize(pick(b.size() + 1));
        return b;
    case 2: { // splice: the head of one seed, the tail of another
        const Bytes& o = seeds[pick(seeds.size())];
        size_t cut = pick(b.size() + 1), from = pick(o.size() + 1);
        b.resize(cut);
        b.insert(b.end(), o.begin() + long(from), o.end());
        return b;
    }
    default:
        break;
    }
    // Flips and extreme lengths, a few of them.
    int n = 1 + int(rng() % 4);
    for (int i = 0; i < n && !b.empty(); ++i) {
        size_t at = pick(b.size());
        switch (rng() % 6) {
        case 0:
            b[at] ^= uint8_t(1u << (rng() % 8));
            break;
        case 1:
            b[at] = uint8_t(rng());
            break;
        case 2:
            b[at] = (rng() & 1) ? 0xff : 0x00;
            break;
        case 3: // a 16-bit length field set to an extreme
            if (at + 1 < b.size()) {
                static const uint16_t extremes[] = {0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff};
                uint16_t v = extremes[rng() % 6];
                b[at] = uint8_t(v >> 8);
                b[at + 1] = uint8_t(v);
            }
            break;
        case 4:
            b.insert(b.begin() + long(at), uint8_t(rng()));
            break;
        default:
            b.erase(b.begin() + long(at));
            break;
        }
    }
    if (rng() % 4 == 0) b.resize(pick(b.size() + 1));
    return b;
}

const Compiled& library() {
    static Compiled lib = Compiled::from("", /*withBuiltin=*/true);
    return lib;
}

} // namespace

TEST_CASE("every function of the built-in library is safe on random and mutated packets",
          "[codegen][property]") {
    const mmt_library* t = library().lib->table();
    Checker chk{t};
    uint64_t seed = 0x6d6d74;
    if (const char* s = std::getenv("MMT_PROPERTY_SEED")) seed = std::strtoull(s, nullptr, 0);
    INFO("MMT_PROPERTY_SEED=" << seed);
    std::mt19937_64 rng(seed);

    std::vector<Bytes> seeds = {packets::ethIpv4TcpHttp(), packets::ethIpv6UdpDns(),
                                packets::ethVlanIpv4Icmp()};
    for (auto& s : packets::extraSeeds()) seeds.push_back(s);
    // Each layer of each seed is a seed too, for the protocols run directly on it.
    size_t whole = seeds.size();
    for (size_t i = 0; i < whole; ++i)
        for (size_t off : {14, 18, 34, 38, 54, 58, 62})
            if (off < seeds[i].size())
                seeds.push_back(Bytes(seeds[i].begin() + long(off), seeds[i].end()));

    static const uint32_t linktypes[] = {1, 1, 1, 101, 0, 113, 276, 228, 229, 12, 14, 104, 108};
    int iterations = 0;
    // Every truncation of every whole seed first, then random mutations.
    for (size_t i = 0; i < whole; ++i)
        for (size_t n = 0; n <= seeds[i].size() && iterations < kIterations; ++n, ++iterations) {
            Exact pkt(Bytes(seeds[i].begin(), seeds[i].begin() + long(n)));
            chk.journey(pkt, 1, uint32_t(n & 1));
        }
    while (iterations < kIterations) {
        Exact pkt(mutate(rng, seeds));
        ++iterations;
        // Along the classify chain, then every protocol directly on the bytes, half of the
        // time with a parent context of some protocol of the library.
        chk.journey(pkt, linktypes[rng() % (sizeof linktypes / sizeof linktypes[0])],
                    uint32_t(rng() & 1));
        mmt_ctx parent{};
        parent.data = pkt.p;
        parent.len = uint32_t(pkt.n);
        for (uint32_t i = 1; i < t->n_protos; ++i) {
            mmt_ctx c{};
            c.data = pkt.p;
            c.len = uint32_t(pkt.n);
            c.direction = uint32_t(rng() & 1);
            if (rng() & 1) {
                c.parent = &parent;
                c.parent_id = t->protos[rng() % t->n_protos].id;
            }
            chk.runAll(t->protos[i], c);
        }
    }
    CHECK(iterations == kIterations);
    CHECK(chk.failures == 0);
    INFO("calls " << chk.calls << ", checksum " << chk.sink);
    CHECK(chk.calls > uint64_t(kIterations) * t->n_protos);
}
