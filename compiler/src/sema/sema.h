// The checker: an ordered list of passes (passes.cpp) over the whole module, sharing
// one SemaContext with the protocol table and per-protocol symbol tables.
#pragma once

#include "ast/ast.h"
#include "support/diag.h"

#include <array>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace mmtc::sema {

/// A name declared in a protocol or record scope.
struct Symbol {
    enum Kind { Field, BitName, Let, Attribute, State };
    Kind kind = Field;
    const ast::Field* field = nullptr; // Field, BitName
    unsigned bit = 0;                  // BitName
    const ast::Let* let = nullptr;
    const ast::Attribute* attribute = nullptr;
    const ast::StateVar* state = nullptr;
    SourceRange declRange;
};

/// Where a field sits in parse order: fields of one structure (header then body, or
/// one record) are numbered as they are met, depth first through switch arms.
struct FieldInfo {
    const ast::Record* structure = nullptr; // header (for header and body fields) or the record
    unsigned seq = 0;
    bool optional = false; // under `if` or in a switch arm (possibly absent at run time)
    bool inBody = false;
};

struct ProtoSymbols {
    std::map<std::string, Symbol> names; // protocol scope
    std::map<std::string, ast::Record*> records;
    std::map<const ast::Record*, std::map<std::string, Symbol>> recordScopes;
    std::map<const ast::Field*, FieldInfo> fields;
};

/// Checking state of a computed value or attribute, to type them on demand and find cycles.
enum class Visit { NotYet, InProgress, Done };

/// One classification rule as its owner's classify function tries it: the `over` clauses
/// of the protocols above it and its own `classify` clauses, default weights filled in.
struct ClassRule {
    const ast::Protocol* target = nullptr;
    uint64_t weight = 0;
    const ast::Expr* when = nullptr;  // condition in the owner's scope
    const ast::Expr* value = nullptr; // `classify by value (value) { cases => target }`
    const std::vector<ast::CaseValue>* cases = nullptr;
    bool byPort = false;
    bool quoted = false; // MMT_CLASS_QUOTED: the payload quotes another packet
};

/// An address prefix of a service: family 4 or 6, length in bits, the address with the
/// bits past the length zero (an IPv4 address in the first 4 bytes).
struct ServicePrefix {
    uint8_t family = 4;
    uint8_t length = 0;
    std::array<uint8_t, 16> addr{};
};

/// A `service` as checked: its host names lower-cased without a final dot ("*.x" kept),
/// its prefixes decoded.
struct ServiceDef {
    std::string name;
    std::vector<std::string> names;
    std::vector<ServicePrefix> prefixes;
};

struct SemaContext {
    SemaContext(ast::Module& m, DiagEngine& d) : module(m), diags(d) {}
    ast::Module& module;
    DiagEngine& diags;

    std::map<std::string, ast::Protocol*> protocols; // by name, `frame` included
    std::vector<ast::Protocol*> ordered;             // every protocol, `frame` first
    std::unique_ptr<ast::Protocol> frame;            // the built-in link-layer pseudo-protocol
    // What the code generator walks, in the order it walks it (the checker's policy):
    std::vector<const ast::Protocol*> byId; // every protocol by id, `frame` first (order-rules)
    /// Each protocol's classification rules, in the order its classify tries them
    /// (order-rules); a protocol nothing runs over has none.
    std::map<const ast::Protocol*, std::vector<ClassRule>> rules;
    /// `parent.x`: the attribute `x` names in each protocol that may be below.
    std::map<const ast::Expr*, std::vector<std::pair<const ast::Protocol*, const ast::Attribute*>>>
        parentAttrs;
    std::map<const ast::Protocol*, ProtoSymbols> symbols;
    std::map<const ast::Let*, Visit> letVisit;
    std::map<const ast::Attribute*, Visit> attrVisit;
    /// For each protocol, the protocols declared to run over it (from `over` and `classify`).
    std::map<const ast::Protocol*, std::set<const ast::Protocol*, ast::ByDeclaration>> children;
    std::map<const ast::Protocol*, std::set<const ast::Protocol*, ast::ByDeclaration>> parents;
    std::set<const ast::Record*> parsedRecords; // named by `parse(bytes, RECORD)`
    std::vector<ServiceDef> services;           // every `service`, by name (check-services)

    ast::Protocol* findProtocol(const std::string& name) const {
        auto it = protocols.find(name);
        return it == protocols.end() ? nullptr : it->second;
    }
};

/// Runs every pass in order; returns true when no error was reported.
bool check(SemaContext& ctx);

// The passes, in the order passes.cpp runs them.
void collectProtocols(SemaContext& ctx);
void declareNames(SemaContext& ctx);
void resolveTypes(SemaContext& ctx);
void checkLayout(SemaContext& ctx);
void checkExpressions(SemaContext& ctx);
void checkFields(SemaContext& ctx);
void checkBounds(SemaContext& ctx);
void checkRelations(SemaContext& ctx);
void checkSessions(SemaContext& ctx);
void checkAttributes(SemaContext& ctx);
void checkUnused(SemaContext& ctx);
void checkExpansion(SemaContext& ctx);
void orderRules(SemaContext& ctx);
void checkServices(SemaContext& ctx);

// ---- helpers shared by passes ----

/// Calls `fn` for every expression of protocol `p` that nothing else contains (values,
/// lengths, conditions, keys, rules...), its records' fields' included.
void forEachExpression(const ast::Protocol& p, const std::function<void(const ast::Expr&)>& fn);

/// Calls `fn(field, optional)` for every field of `items`, depth first through switch arms.
template <typename Fn>
void forEachField(const std::vector<ast::FieldItem>& items, Fn&& fn, bool optional = false) {
    for (const auto& it : items) {
        if (it.kind == ast::FieldItem::Kind::Field) {
            fn(*it.field, optional || it.field->cond != nullptr);
        } else if (it.kind == ast::FieldItem::Kind::Switch) {
            for (const auto& arm : it.sw->arms) forEachField(arm.items, fn, true);
        }
    }
}

/// Records the values of `v` as taken; reports the first one already taken (with a note at
/// where it was). Wide ranges (over 65536 values) are not checked value by value.
void claimCase(DiagEngine& diags, std::map<uint64_t, const ast::CaseValue*>& seen,
               const ast::CaseValue& v);

/// Every structure of a protocol: header, body and records.
std::vector<const ast::Record*> structuresOf(const ast::Protocol& p);

/// The name a declaration spells a type with: "u16", "bytes", "ipv4" ...; "?" for a type
/// no declaration names (error, record, list).
std::string declaredTypeName(const ast::Type& t);

/// A readable name of a type for messages: "u16", "bytes", "record 'rr'", "list of 'rr'".
std::string typeName(const ast::Type& t);

/// Resolves a declared type name (`u16`, `string`, `ipv4` ...); Error when unknown.
ast::Type typeFromName(const std::string& name);

__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

/// Smallest and largest value an integer expression can take, when known.
struct Interval {
    bool known = false;
    Int128 lo = 0;
    Int128 hi = 0;
};

/// Levenshtein distance between two names, for "did you mean" notes.
unsigned editDistance(const std::string& a, const std::string& b);

/// For "did you mean": the first of `candidates` closest to `name` within 2 edits, or
/// null. `nameOf(candidate)` gives a candidate's name.
template <class Range, class NameOf>
auto closestTo(const std::string& name, const Range& candidates, NameOf nameOf)
    -> decltype(&*std::begin(candidates)) {
    decltype(&*std::begin(candidates)) best = nullptr;
    unsigned bestD = 3;
    for (const auto& c : candidates) {
        unsigned d = editDistance(name, nameOf(c));
        if (d < bestD) {
            bestD = d;
            best = &c;
        }
    }
    return best;
}

/// The field a bare name refers to, when the expression is exactly one field reference.
const ast::Field* asFieldRef(const ast::Expr& e);

} // namespace mmtc::sema
