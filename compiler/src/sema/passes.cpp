// The checker's pipeline: every pass, in order, one line each on what it checks.
// Passes run even after errors so that every independent error is reported; each pass
// skips what an earlier one already found broken (expressions typed Error, unknown
// records), which keeps follow-on noise out.
#include "sema/sema.h"

#include <algorithm>

namespace mmtc::sema {

namespace {
struct Pass {
    const char* name;
    void (*run)(SemaContext&);
};

constexpr Pass kPasses[] = {
    {"collect-protocols",
     collectProtocols},              // protocols by name and id; duplicates; the `frame` protocol
    {"declare-names", declareNames}, // scopes; duplicate fields, values, attributes, records
    {"resolve-types", resolveTypes}, // field types to records; records that contain themselves
    {"check-layout", checkLayout},   // integer widths; bit fields pack MSB-first into whole bytes
    {"check-expressions",
     checkExpressions},            // names and types of every expression; parse order of fields
    {"check-fields", checkFields}, // lengths, terminators, conditions, `requires`, switch cases
    {"check-bounds",
     checkBounds}, // repetitions are bounded; lengths never provably negative; constants fit
    {"check-relations", checkRelations}, // `over` and `classify` targets, ports, weights
    {"check-sessions",
     checkSessions}, // keys, sessions, state, updates, stream, fragment, PDU length
    {"check-attributes", checkAttributes}, // attribute values, types, event attributes
    {"check-unused", checkUnused},         // warnings: records and values that nothing uses
    {"check-expansion",
     checkExpansion}, // values that name values: how deep, and how large once written out
    {"order-rules", orderRules}, // each protocol's classification rules, in the order tried
    {"check-services",
     checkServices}, // service names and prefixes; each claimed by one service only
};
} // namespace

bool check(SemaContext& ctx) {
    for (const Pass& p : kPasses) p.run(ctx);
    return ctx.diags.errorCount() == 0;
}

void claimCase(DiagEngine& diags, std::map<uint64_t, const ast::CaseValue*>& seen,
               const ast::CaseValue& v) {
    if (v.hi - v.lo > 65536) return;
    for (uint64_t x = v.lo;; ++x) {
        auto [it, fresh] = seen.emplace(x, &v);
        if (!fresh) {
            diags.report(DiagKind::DuplicateCase, v.range, x);
            diags.note(DiagKind::PreviousCase, it->second->range, x);
            return;
        }
        if (x == v.hi) return;
    }
}

std::vector<const ast::Record*> structuresOf(const ast::Protocol& p) {
    std::vector<const ast::Record*> out;
    if (p.header) out.push_back(p.header.get());
    if (p.body) out.push_back(p.body.get());
    for (const auto& r : p.records) out.push_back(r.get());
    return out;
}

std::string declaredTypeName(const ast::Type& t) {
    switch (t.kind) {
    case ast::Type::Int:
        return "u" + std::to_string(t.width);
    case ast::Type::Bool:
        return "bool";
    case ast::Type::Bytes:
        return "bytes";
    case ast::Type::String:
        return "string";
    case ast::Type::Mac:
        return "mac";
    case ast::Type::Ipv4:
        return "ipv4";
    case ast::Type::Ipv6:
        return "ipv6";
    default:
        return "?";
    }
}

std::string typeName(const ast::Type& t) {
    switch (t.kind) {
    case ast::Type::Error:
        return "<error>";
    case ast::Type::Int:
        // 64 bits is what an expression computes in, not a width anyone declared.
        return t.width == 64 ? "integer" : declaredTypeName(t);
    case ast::Type::Record:
        return "record '" + (t.record ? t.record->name : std::string("?")) + "'";
    case ast::Type::List: {
        ast::Type e;
        e.kind = t.elem;
        e.width = t.elemWidth;
        e.record = t.record;
        return "list of " + typeName(e);
    }
    default:
        return declaredTypeName(t);
    }
}

ast::Type typeFromName(const std::string& n) {
    // The inverse of declaredTypeName, so that a type is spelled in one place.
    for (auto k : {ast::Type::Bool, ast::Type::Bytes, ast::Type::String, ast::Type::Mac,
                   ast::Type::Ipv4, ast::Type::Ipv6})
        if (n == declaredTypeName(ast::Type::of(k))) return ast::Type::of(k);
    if (n.size() >= 2 && n[0] == 'u') {
        unsigned w = 0;
        for (size_t i = 1; i < n.size(); ++i) {
            if (!std::isdigit(static_cast<unsigned char>(n[i])) || w > 1000)
                return ast::Type::error();
            w = w * 10 + unsigned(n[i] - '0');
        }
        if (w >= 1 && w <= 64) return ast::Type::integer(w);
    }
    return ast::Type::error();
}

unsigned editDistance(const std::string& a, const std::string& b) {
    std::vector<unsigned> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = unsigned(j);
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = unsigned(i);
        for (size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min(
                {prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0u : 1u)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

const ast::Field* asFieldRef(const ast::Expr& e) {
    if (e.kind == ast::Expr::Kind::Name && e.ref.kind == ast::Ref::Field) return e.ref.field;
    return nullptr;
}

} // namespace mmtc::sema
