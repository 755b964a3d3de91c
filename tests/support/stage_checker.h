// Runs every stage function of a compiled protocol library on one packet — along the
// classify chain from `frame`, or each protocol directly on the bytes — and checks that
// every answer respects the ABI (runtime/include/mmt/abi.h). What to do with a broken rule
// is the caller's: the property test reports it through Catch2, the fuzz target traps.
// Scratch and state live in heap blocks of exactly their size, so AddressSanitizer sees
// any write past them.
#pragma once

#include "mmt/abi.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

namespace mmt::test {

/// Heap memory of exactly `n` bytes (at least 1 allocated, but only `n` usable).
struct Exact {
    explicit Exact(const std::vector<uint8_t>& b)
        : n(b.size()), p(static_cast<uint8_t*>(std::malloc(b.empty() ? 1 : b.size()))) {
        if (!b.empty()) std::memcpy(p, b.data(), b.size());
    }
    Exact(const uint8_t* data, size_t size)
        : n(size), p(static_cast<uint8_t*>(std::malloc(size ? size : 1))) {
        if (size) std::memcpy(p, data, size);
    }
    explicit Exact(size_t size) : n(size), p(static_cast<uint8_t*>(std::malloc(size ? size : 1))) {}
    ~Exact() { std::free(p); }
    Exact(const Exact&) = delete;
    Exact& operator=(const Exact&) = delete;
    size_t n;
    uint8_t* p;
};

class StageChecker {
  public:
    /// Called with a description of the rule an answer of protocol `p` broke.
    using Report = std::function<void(const char* what, const mmt_proto& p)>;

    StageChecker(const mmt_library* t, Report report) : t_(t), report_(std::move(report)) {}

    uint64_t calls = 0; ///< stage functions called
    uint32_t sink = 0;  ///< a checksum of every byte read, so no read is optimised away

    /// Reads every byte a value points to: AddressSanitizer checks that it may.
    static uint32_t touch(const mmt_value& v) {
        uint32_t sum = 0;
        if (v.ptr)
            for (uint32_t i = 0; i < v.len; ++i) sum += v.ptr[i];
        return sum;
    }

    const mmt_proto* byId(uint32_t id) const {
        for (uint32_t i = 0; i < t_->n_protos; ++i)
            if (t_->protos[i].id == id) return &t_->protos[i];
        return nullptr;
    }

    /// Every function of `p` on `ctx` (data, len, direction and parent set by the caller).
    /// Returns the result of validate.
    mmt_parse_result runAll(const mmt_proto& p, mmt_ctx& ctx) {
        Exact scratch(kScratch);
        mmt_scratch mem{scratch.p, kScratch, 0};
        ctx.scratch = &mem;
        ctx.emit = &StageChecker::onEvent;
        ctx.user = this;
        ctx.events_wanted = ~uint64_t(0);
        std::unique_ptr<Exact> state;
        ctx.state = nullptr;
        if (p.state_size && p.init_state) {
            state = std::make_unique<Exact>(p.state_size);
            p.init_state(state->p);
            ctx.state = state->p;
        }
        mmt_parse_result r = checkValidate(p, ctx);
        if (p.analyse) checkAnalyse(p, ctx);
        for (uint32_t i = 0; i < p.n_attrs; ++i)
            if (p.attrs[i].get) checkGetter(p, p.attrs[i], ctx);
        expect(mem.used <= mem.cap, "scratch within its capacity", p);
        if (p.key) checkKey(p, ctx);
        if (p.sides) checkSides(p, ctx);
        if (p.classify) {
            mmt_class_result cr{};
            int32_t ok = p.classify(&ctx, &r, &cr);
            ++calls;
            expect(ok == 0 || ok == 1, "classify returns 0 or 1", p);
            if (ok == 1)
                expect(byId(cr.next_id) != nullptr, "classify names a protocol of the library", p);
        }
        if (p.pdu_length) {
            sink += uint32_t(p.pdu_length(&ctx));
            ++calls;
        }
        if (p.update && ctx.state) {
            p.update(&ctx);
            p.update(&ctx);
            calls += 2;
        }
        if (p.stream) checkStream(p, ctx);
        if (p.fragment) checkFragment(p, ctx);
        ctx.state = nullptr;
        ctx.scratch = nullptr;
        return r;
    }

    /// The journey from `frame`: each protocol on the payload its parent reports, with the
    /// parent's context, as far as classification leads.
    void journey(const uint8_t* data, uint32_t len, uint32_t linktype, uint32_t direction = 0) {
        mmt_ctx ctxs[12];
        const mmt_proto* p = &t_->protos[0];
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

    /// Every protocol but `frame` directly on the bytes, without a parent.
    void each(const uint8_t* data, uint32_t len) {
        for (uint32_t i = 1; i < t_->n_protos; ++i) one(i - 1, data, len);
    }
    /// The `pick`-th protocol but `frame` (modulo their number) directly on the bytes.
    void one(uint32_t pick, const uint8_t* data, uint32_t len) {
        if (t_->n_protos < 2) return;
        mmt_ctx c{};
        c.data = data;
        c.len = len;
        runAll(t_->protos[1 + pick % (t_->n_protos - 1)], c);
    }

  private:
    static constexpr uint32_t kScratch = 512;

    void expect(bool ok, const char* what, const mmt_proto& p) {
        if (!ok) report_(what, p);
    }

    static void onEvent(mmt_ctx* ctx, uint32_t attr, const mmt_value* v) {
        auto* self = static_cast<StageChecker*>(ctx->user);
        self->sink += touch(*v) + attr;
    }

    mmt_parse_result checkValidate(const mmt_proto& p, mmt_ctx& ctx) {
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
        return r;
    }

    void checkAnalyse(const mmt_proto& p, mmt_ctx& ctx) {
        mmt_parse_result a{};
        int32_t s = p.analyse(&ctx, &a);
        ++calls;
        expect(s >= MMT_OK && s <= MMT_MALFORMED && uint32_t(s) == a.status, "analyse status", p);
        if (s != MMT_OK) expect(a.fail_offset <= ctx.len, "analyse fail_offset", p);
    }

    void checkGetter(const mmt_proto& p, const mmt_attr& attr, mmt_ctx& ctx) {
        mmt_value v{};
        int32_t ok = attr.get(&ctx, &v);
        ++calls;
        expect(ok == 0 || ok == 1, "a getter returns 0 or 1", p);
        if (ok != 1) return;
        expect(v.type == attr.type, "a value of the declared type", p);
        if (v.type == MMT_T_MAC) expect(v.len == 6 && v.ptr, "a MAC is 6 bytes", p);
        if (v.type == MMT_T_IPV4) expect(v.len == 4 && v.ptr, "an IPv4 address is 4 bytes", p);
        if (v.type == MMT_T_IPV6) expect(v.len == 16 && v.ptr, "an IPv6 address is 16 bytes", p);
        if (v.type == MMT_T_BOOL) expect(v.u <= 1, "a bool is 0 or 1", p);
        if ((v.type == MMT_T_BYTES || v.type == MMT_T_STRING) && v.len)
            expect(v.ptr != nullptr, "bytes have a pointer", p);
        sink += touch(v);
    }

    void checkKey(const mmt_proto& p, mmt_ctx& ctx) {
        mmt_key k{};
        int32_t ok = p.key(&ctx, &k);
        ++calls;
        expect(ok == 0 || ok == 1, "key returns 0 or 1", p);
        expect(k.shared_len <= MMT_KEY_SIDE_MAX && k.a_len <= MMT_KEY_SIDE_MAX &&
                   k.b_len <= MMT_KEY_SIDE_MAX,
               "key parts fit", p);
        expect(k.overflow <= 1, "overflow is a flag", p);
        if (ok == 0)
            expect(k.shared_len == 0 && k.a_len == 0 && k.b_len == 0, "a failed key is untouched",
                   p);
    }

    void checkSides(const mmt_proto& p, mmt_ctx& ctx) {
        mmt_value a{}, b{};
        if (p.sides(&ctx, &a, &b) == 1) {
            sink += touch(a) + touch(b);
            expect(a.type == b.type, "both sides have one type", p);
        }
        ++calls;
    }

    void checkStream(const mmt_proto& p, mmt_ctx& ctx) {
        mmt_stream_info si{};
        int32_t ok = p.stream(&ctx, &si);
        ++calls;
        expect(ok == 0 || ok == 1, "stream returns 0 or 1", p);
        expect((si.flags & ~uint32_t(MMT_STREAM_SYN | MMT_STREAM_FIN | MMT_STREAM_RST)) == 0,
               "stream flags", p);
    }

    void checkFragment(const mmt_proto& p, mmt_ctx& ctx) {
        mmt_frag_info fi{};
        int32_t ok = p.fragment(&ctx, &fi);
        ++calls;
        expect(ok == 0 || ok == 1, "fragment returns 0 or 1", p);
        expect(fi.more <= 1, "more is a flag", p);
    }

    const mmt_library* t_;
    Report report_;
};

} // namespace mmt::test
