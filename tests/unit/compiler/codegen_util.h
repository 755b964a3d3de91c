// Helpers for tests that compile specs and call the generated stage functions.
#pragma once

#include "mmt/abi.h"
#include "mmtc/compiler.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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
        // With the built-in library, through the cache that mmtrun uses too: every test
        // process would otherwise compile the whole library again.
        out.lib = withBuiltin ? c.compileCached(mmtc::defaultCacheDir(), error) : c.compile(error);
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
    mmt_scratch mem{};
    mmt_ctx c{};
    std::vector<std::pair<uint32_t, std::string>> events;

    explicit Ctx(std::vector<uint8_t> b) : bytes(std::move(b)) { reset(); }
    Ctx(const std::string& s) : bytes(s.begin(), s.end()) { reset(); }
    void reset() {
        std::memset(&c, 0, sizeof c);
        c.data = bytes.data();
        c.len = uint32_t(bytes.size());
        mem = mmt_scratch{scratch, sizeof scratch, 0};
        c.scratch = &mem;
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
        case MMT_T_BOOL:
            return std::to_string(v.u);
        case MMT_T_BYTES:
        case MMT_T_STRING:
            return std::string(reinterpret_cast<const char*>(v.ptr), v.len);
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
    /// The attribute's raw value; `present` tells whether the getter returned 1.
    mmt_value value(const mmt_proto& p, const std::string& name, bool& present) {
        int i = Compiled::attrIndex(p, name);
        REQUIRE(i >= 0);
        REQUIRE(p.attrs[i].get);
        mmt_value v{};
        present = p.attrs[i].get(&c, &v) == 1;
        return v;
    }
    /// Runs analyse (events land in `events`) and returns its result.
    mmt_parse_result analyse(const mmt_proto& p) {
        REQUIRE(p.analyse);
        events.clear();
        mmt_parse_result r{};
        int32_t status = p.analyse(&c, &r);
        CHECK(status == int32_t(r.status));
        return r;
    }
    /// The values raised for event attribute `name` by the last analyse, in order.
    std::vector<std::string> raised(const mmt_proto& p, const std::string& name) const {
        int i = Compiled::attrIndex(p, name);
        REQUIRE(i >= 0);
        std::vector<std::string> out;
        for (const auto& [attr, text] : events)
            if (attr == uint32_t(i)) out.push_back(text);
        return out;
    }
    /// The name of the field a failure blames, or "-" when none is.
    static std::string failField(const mmt_proto& p, const mmt_parse_result& r) {
        if (r.fail_field < 0) return "-";
        REQUIRE(uint32_t(r.fail_field) < p.n_fields);
        return p.fields[r.fail_field];
    }
};

/// How a validate or analyse ended: its status, the reason, the name of the field it blames
/// ("-" when none is) and the offset.
struct Outcome {
    uint32_t status = MMT_OK;
    uint32_t reason = MMT_FAIL_NONE;
    std::string field = "-";
    uint32_t offset = 0;

    static Outcome of(const mmt_proto& p, const mmt_parse_result& r) {
        return {r.status, r.fail_reason, Ctx::failField(p, r), r.fail_offset};
    }
};

/// The outcome a test expects: the status, and the reason, the field blamed ("-" for none)
/// and the offset where given; what is left out is not compared. Compared in a CHECK, so that
/// a failure names the test's line and prints both sides:
///     CHECK(validated(cut, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS, "t", 4});
///     CHECK(validated(cut, p) == Expect{MMT_TRUNCATED, "y", 3}); // any reason
struct Expect {
    mmt_status status;
    std::optional<mmt_fail_reason> reason;
    std::optional<std::string> field;
    std::optional<uint32_t> offset;

    Expect(mmt_status s, mmt_fail_reason why, std::optional<std::string> blamed = {},
           std::optional<uint32_t> at = {})
        : status(s), reason(why), field(std::move(blamed)), offset(at) {}
    Expect(mmt_status s, std::string blamed, std::optional<uint32_t> at = {})
        : status(s), field(std::move(blamed)), offset(at) {}
};

inline bool operator==(const Outcome& got, const Expect& want) {
    return got.status == uint32_t(want.status) &&
           (!want.reason || got.reason == uint32_t(*want.reason)) &&
           (!want.field || got.field == *want.field) &&
           (!want.offset || got.offset == *want.offset);
}

/// Validates the packet in `c` (which stays usable for getters) and tells how it ended.
inline Outcome validated(Ctx& c, const mmt_proto& p) {
    return Outcome::of(p, c.validate(p));
}

/// Runs analyse on the packet in `c` (its events land in `c.events`) and tells how it ended.
inline Outcome analysed(Ctx& c, const mmt_proto& p) {
    return Outcome::of(p, c.analyse(p));
}

/// The name of a value of an ABI enum whose values run 0, 1, 2... in the order of `names`.
inline std::string enumName(uint32_t v, std::initializer_list<const char*> names) {
    return v < names.size() ? names.begin()[v] : "#" + std::to_string(v);
}
static_assert(MMT_MALFORMED == 2 && MMT_FAIL_ARITHMETIC == 6, "the names below follow abi.h");
inline std::string statusName(uint32_t s) {
    return enumName(s, {"OK", "TRUNCATED", "MALFORMED"});
}
inline std::string reasonName(uint32_t r) {
    return enumName(r, {"NONE", "BOUNDS", "REQUIRES", "LENGTH", "CAP", "TERMINATOR", "ARITHMETIC"});
}

/// Bytes from hex text; spaces are ignored: hex("45 00 00 1c").
inline std::vector<uint8_t> hex(const std::string& s) {
    std::vector<uint8_t> out;
    int hi = -1;
    for (char ch : s) {
        int v = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (v < 0) continue;
        if (hi < 0)
            hi = v;
        else {
            out.push_back(uint8_t(hi * 16 + v));
            hi = -1;
        }
    }
    return out;
}

} // namespace mmtc::test

// How Catch prints both sides of `CHECK(validated(c, p) == Expect{...})`; an expectation
// shows "*" for what it leaves out.
template <> struct Catch::StringMaker<mmtc::test::Outcome> {
    static std::string convert(const mmtc::test::Outcome& o) {
        return "{" + mmtc::test::statusName(o.status) + ", " + mmtc::test::reasonName(o.reason) +
               ", field " + o.field + ", offset " + std::to_string(o.offset) + "}";
    }
};
template <> struct Catch::StringMaker<mmtc::test::Expect> {
    static std::string convert(const mmtc::test::Expect& e) {
        return "{" + mmtc::test::statusName(e.status) + ", " +
               (e.reason ? mmtc::test::reasonName(*e.reason) : "*") + ", field " +
               e.field.value_or("*") + ", offset " + (e.offset ? std::to_string(*e.offset) : "*") +
               "}";
    }
};
