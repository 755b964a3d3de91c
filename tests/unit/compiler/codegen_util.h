// Helpers for tests that compile specs and call the generated stage functions.
#pragma once

#include "mmt/abi.h"
#include "mmtc/compiler.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace mmtc::test {

/// A compiled spec and convenient calls into it.
struct Compiled {
    std::unique_ptr<mmtc::Library> lib;

    static Compiled from(const std::string& spec, bool withBuiltin = false) {
        mmtc::Compiler c;
        if (withBuiltin) REQUIRE(c.addPath(mmtc::builtinSpecDir()));
        if (!spec.empty()) c.addSource("test.mmtp", spec);
        bool ok = c.check();
        INFO(c.diagnostics());
        REQUIRE(ok);
        std::string error;
        Compiled out;
        out.lib = c.compile(error);
        INFO(error);
        REQUIRE(out.lib);
        return out;
    }

    const mmt_proto& proto(const std::string& name) const {
        const mmt_library* t = lib->table();
        for (uint32_t i = 0; i < t->n_protos; ++i)
            if (name == t->protos[i].name) return t->protos[i];
        FAIL("no protocol " << name);
        return t->protos[0];
    }

    static int attrIndex(const mmt_proto& p, const std::string& name) {
        for (uint32_t i = 0; i < p.n_attrs; ++i)
            if (name == p.attrs[i].name) return int(i);
        return -1;
    }
};

/// A packet view with scratch space, as the runtime would pass it.
struct Ctx {
    std::vector<uint8_t> bytes;
    uint8_t scratch[4096];
    mmt_ctx c{};
    std::vector<std::pair<uint32_t, std::string>> events;

    explicit Ctx(std::vector<uint8_t> b) : bytes(std::move(b)) { reset(); }
    Ctx(const std::string& s) : bytes(s.begin(), s.end()) { reset(); }
    void reset() {
        std::memset(&c, 0, sizeof c);
        c.data = bytes.data();
        c.len = uint32_t(bytes.size());
        c.scratch = scratch;
        c.scratch_cap = sizeof scratch;
        c.user = this;
        c.emit = &Ctx::onEvent;
        c.events_wanted = ~uint64_t(0);
    }
    static void onEvent(mmt_ctx* ctx, uint32_t attr, const mmt_value* v) {
        auto* self = static_cast<Ctx*>(ctx->user);
        self->events.push_back({attr, render(*v)});
    }
    static std::string render(const mmt_value& v) {
        switch (v.type) {
        case MMT_T_UINT:
        case MMT_T_BOOL: return std::to_string(v.u);
        case MMT_T_BYTES:
        case MMT_T_STRING: return std::string(reinterpret_cast<const char*>(v.ptr), v.len);
        default: {
            std::string s;
            for (uint32_t i = 0; i < v.len; ++i) s += (i ? "." : "") + std::to_string(v.ptr[i]);
            return s;
        }
        }
    }
    mmt_parse_result validate(const mmt_proto& p) {
        mmt_parse_result r{};
        p.validate(&c, &r);
        return r;
    }
    /// The attribute as text, or "<absent>".
    std::string get(const mmt_proto& p, const std::string& name) {
        int i = Compiled::attrIndex(p, name);
        REQUIRE(i >= 0);
        REQUIRE(p.attrs[i].get);
        mmt_value v{};
        if (!p.attrs[i].get(&c, &v)) return "<absent>";
        return render(v);
    }
};

} // namespace mmtc::test
