// Runs every stage function of a compiled protocol library on one packet: along the
// classify chain from `frame`, and each protocol directly on the bytes. Aborts on any
// answer the ABI forbids. Shared by the fuzz targets; the Catch2 property test
// (tests/unit/compiler/test_codegen_property.cpp) checks the same properties.
#pragma once

#include "mmt/abi.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace mmtc::fuzz {

inline void require(bool ok) {
    if (!ok) __builtin_trap();
}

/// Reads every byte a value points to, for the sanitizer to check.
inline uint32_t touch(const mmt_value& v) {
    uint32_t sum = 0;
    if (v.ptr)
        for (uint32_t i = 0; i < v.len; ++i) sum += v.ptr[i];
    return sum;
}

class StageRunner {
  public:
    explicit StageRunner(const mmt_library* t) : t_(t) {}

    uint32_t sink = 0;

    /// Every function of `p` on `ctx` (data, len, parent set by the caller).
    mmt_parse_result runAll(const mmt_proto& p, mmt_ctx& ctx) {
        std::vector<uint8_t> scratch(256);
        mmt_scratch mem{scratch.data(), uint32_t(scratch.size()), 0};
        ctx.scratch = &mem;
        ctx.user = this;
        ctx.emit = [](mmt_ctx* c, uint32_t attr, const mmt_value* v) {
            static_cast<StageRunner*>(c->user)->sink += touch(*v) + attr;
        };
        ctx.events_wanted = ~uint64_t(0);
        uint8_t* state = nullptr;
        if (p.state_size && p.init_state) {
            state = static_cast<uint8_t*>(std::malloc(p.state_size));
            p.init_state(state);
        }
        ctx.state = state;
        mmt_parse_result r{};
        int32_t s = p.validate(&ctx, &r);
        require(s >= MMT_OK && s <= MMT_MALFORMED && uint32_t(s) == r.status);
        if (s == MMT_OK)
            require(uint64_t(r.header_len) + r.payload_len <= ctx.len);
        else
            require(r.fail_offset <= ctx.len &&
                    (r.fail_field == -1 || uint32_t(r.fail_field) < p.n_fields));
        if (p.analyse) {
            mmt_parse_result a{};
            int32_t sa = p.analyse(&ctx, &a);
            require(sa >= MMT_OK && sa <= MMT_MALFORMED);
        }
        for (uint32_t i = 0; i < p.n_attrs; ++i) {
            if (!p.attrs[i].get) continue;
            mmt_value v{};
            int32_t ok = p.attrs[i].get(&ctx, &v);
            require(ok == 0 || ok == 1);
            if (ok) {
                require(v.type == p.attrs[i].type);
                sink += touch(v);
            }
        }
        require(mem.used <= mem.cap);
        if (p.key) {
            mmt_key k{};
            int32_t ok = p.key(&ctx, &k);
            require(ok == 0 || ok == 1);
            require(k.shared_len <= MMT_KEY_SIDE_MAX && k.a_len <= MMT_KEY_SIDE_MAX &&
                    k.b_len <= MMT_KEY_SIDE_MAX);
        }
        if (p.sides) {
            mmt_value a{}, b{};
            if (p.sides(&ctx, &a, &b)) sink += touch(a) + touch(b);
        }
        if (p.classify) {
            mmt_class_result cr{};
            if (p.classify(&ctx, &r, &cr)) require(byId(cr.next_id) != nullptr);
        }
        if (p.pdu_length) sink += uint32_t(p.pdu_length(&ctx));
        if (p.update && state) p.update(&ctx);
        if (p.stream) {
            mmt_stream_info si{};
            p.stream(&ctx, &si);
        }
        if (p.fragment) {
            mmt_frag_info fi{};
            p.fragment(&ctx, &fi);
        }
        std::free(state);
        ctx.state = nullptr;
        ctx.scratch = nullptr;
        return r;
    }

    const mmt_proto* byId(uint32_t id) const {
        for (uint32_t i = 0; i < t_->n_protos; ++i)
            if (t_->protos[i].id == id) return &t_->protos[i];
        return nullptr;
    }

    /// From `frame`, as far as classification leads.
    void journey(const uint8_t* data, uint32_t len, uint32_t linktype) {
        mmt_ctx ctxs[12];
        const mmt_proto* p = &t_->protos[0];
        uint32_t parentId = 0;
        for (int depth = 0; depth < 12 && p; ++depth) {
            mmt_ctx& c = ctxs[depth];
            c = mmt_ctx{};
            c.data = data;
            c.len = len;
            c.linktype = linktype;
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

    /// Every protocol directly on the bytes.
    void each(const uint8_t* data, uint32_t len) {
        for (uint32_t i = 1; i < t_->n_protos; ++i) {
            mmt_ctx c{};
            c.data = data;
            c.len = len;
            runAll(t_->protos[i], c);
        }
    }

  private:
    const mmt_library* t_;
};

} // namespace mmtc::fuzz
