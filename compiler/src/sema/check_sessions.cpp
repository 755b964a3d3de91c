// Pass check-sessions: session keys hold fixed-size values and both sides match;
// state updates name state variables; `stream`, `fragment` and PDU framing are complete.
#include "sema/sema.h"

namespace mmtc::sema {

namespace {

bool fixedSize(const ast::Type& t) {
    return t.kind == ast::Type::Int || t.kind == ast::Type::Bool || t.kind == ast::Type::Mac ||
           t.kind == ast::Type::Ipv4 || t.kind == ast::Type::Ipv6;
}

class SessionChecker {
  public:
    explicit SessionChecker(SemaContext& ctx) : ctx_(ctx) {}

    void run(ast::Protocol& p) {
        if (p.key) keyParts(*p.key);
        if (p.session && p.session->key) keyParts(*p.session->key);
        if (p.key && p.session && p.session->key) {
            ctx_.diags.report(DiagKind::KeyAndSessionKey, p.session->key->range, p.name);
            ctx_.diags.note(DiagKind::PreviousItem, p.key->range, "key");
        }
        for (auto& u : p.updates) update(p, u);
        if (p.stream)
            block(*p.stream, "stream",
                  {{"seq", true, false},
                   {"syn", false, true},
                   {"fin", false, true},
                   {"rst", false, true}});
        if (p.fragment)
            block(*p.fragment, "fragment",
                  {{"id", true, false}, {"offset", true, false}, {"more", true, true}});
        if (p.pduLength && p.pduUntil) {
            ctx_.diags.report(DiagKind::TwoPduRules, p.pduUntilRange);
            ctx_.diags.note(DiagKind::PreviousItem, p.pduLength->range, "pdu_length");
        }
        if (p.pduLength) headerOnly(*p.pduLength->value, p, "pdu_length");
        if (p.pduBody && !p.pduUntil)
            ctx_.diags.report(DiagKind::PduBodyWithoutUntil, p.pduBody->range);
        if (p.maxPdu && !p.pduLength && !p.pduUntil)
            ctx_.diags.report(DiagKind::MaxPduWithoutPdus, p.maxPduRange, p.name);
        if (p.headerLength) headerOnly(*p.headerLength->value, p, "header_length");
    }

  private:
    struct Entry {
        const char* name;
        bool required;
        bool isBool;
    };

    void keyParts(const ast::KeyParts& k) {
        auto part = [&](const ast::ExprPtr& e) {
            if (e->type.isError() || fixedSize(e->type)) return;
            ctx_.diags.report(DiagKind::KeyPartNotFixed, e->range, typeName(e->type));
        };
        for (auto& e : k.a) part(e);
        for (auto& e : k.b) part(e);
        if (!k.bidirectional) return;
        if (k.a.size() != k.b.size()) {
            ctx_.diags.report(DiagKind::KeySidesDiffer, k.range, k.a.size(), k.b.size());
            return;
        }
        for (size_t i = 0; i < k.a.size(); ++i) {
            const ast::Type& x = k.a[i]->type;
            const ast::Type& y = k.b[i]->type;
            if (x.isError() || y.isError()) continue;
            if (x.kind != y.kind || (x.isInt() && x.width != y.width))
                ctx_.diags.report(DiagKind::KeyPartTypesDiffer, k.b[i]->range, i + 1, typeName(x),
                                  typeName(y));
        }
    }

    void update(ast::Protocol& p, ast::Update& u) {
        const ast::StateVar* target = nullptr;
        for (auto& v : p.state)
            if (v->name == u.name) target = v.get();
        if (!target) {
            ctx_.diags.report(DiagKind::UnknownStateVar, u.nameRange, u.name);
            if (auto* best = closestTo(u.name, p.state, [](const auto& v) { return v->name; }))
                ctx_.diags.note(DiagKind::DidYouMean, (*best)->nameRange, (*best)->name);
            return;
        }
        u.target = target;
        const ast::Type& t = u.value->type;
        if (t.isError() || target->type.isError()) return;
        bool bytes = target->type.kind == ast::Type::Bytes;
        bool ok = bytes ? (t.kind == ast::Type::Bytes || t.kind == ast::Type::String)
                        : ((t.isInt() && target->type.isInt()) || t.kind == target->type.kind);
        if (!ok || (!bytes && !fixedSize(t)))
            ctx_.diags.report(DiagKind::TypeMismatch, u.value->range, typeName(t),
                              typeName(target->type), "state variable '" + u.name + "'");
    }

    void block(const ast::Block& b, const char* what, std::initializer_list<Entry> entries) {
        for (const auto& a : b.entries) {
            // Only the first of two entries with one name would ever be read.
            const ast::Assignment* first = b.find(a.name);
            if (first != &a) {
                ctx_.diags.report(DiagKind::DuplicateBlockEntry, a.nameRange, what, a.name);
                ctx_.diags.note(DiagKind::PreviousDefinition, first->nameRange, a.name);
                continue;
            }
            const Entry* known = nullptr;
            for (const auto& e : entries)
                if (a.name == e.name) known = &e;
            if (!known) {
                std::string list;
                for (const auto& e : entries)
                    list += std::string(list.empty() ? "" : ", ") + "'" + e.name + "'";
                ctx_.diags.report(DiagKind::UnknownBlockEntry, a.nameRange, a.name, what, list);
                continue;
            }
            if (a.value->type.isError()) continue;
            if (known->isBool && a.value->type.kind != ast::Type::Bool)
                ctx_.diags.report(DiagKind::TypeMismatch, a.value->range, typeName(a.value->type),
                                  "bool", std::string("'") + what + "." + a.name + "'");
            else if (!known->isBool && !a.value->type.isInt())
                ctx_.diags.report(DiagKind::TypeMismatch, a.value->range, typeName(a.value->type),
                                  "integer", std::string("'") + what + "." + a.name + "'");
        }
        for (const auto& e : entries)
            if (e.required && !b.find(e.name))
                ctx_.diags.report(DiagKind::MissingBlockEntry, b.range, what, e.name);
    }

    /// `pdu_length` is computed from the first bytes of a PDU, and `header_length` says
    /// where the body starts: both use header fields only.
    /// Each value named is followed once (`seen`): one defined in terms of itself has been
    /// reported, and a chain of values each naming the one before twice stays linear.
    void headerOnly(const ast::Expr& e, const ast::Protocol& p, const char* what) {
        std::set<const ast::Let*> seen;
        headerOnly(e, p, what, seen);
    }
    void headerOnly(const ast::Expr& e, const ast::Protocol& p, const char* what,
                    std::set<const ast::Let*>& seen) {
        for (const auto& o : e.operands) headerOnly(*o, p, what, seen);
        if (e.ref.kind == ast::Ref::Field || e.ref.kind == ast::Ref::BitName) {
            auto& fields = ctx_.symbols[&p].fields;
            auto it = fields.find(e.ref.field);
            if (it != fields.end() && it->second.inBody)
                ctx_.diags.report(DiagKind::LengthUsesBody, e.range, what, e.ref.field->name);
        } else if (e.ref.kind == ast::Ref::Let && e.ref.let && e.ref.let->value &&
                   seen.insert(e.ref.let).second) {
            headerOnly(*e.ref.let->value, p, what, seen);
        }
    }

    SemaContext& ctx_;
};

} // namespace

void checkSessions(SemaContext& ctx) {
    SessionChecker sc(ctx);
    for (ast::Protocol* p : ctx.ordered)
        if (!p->builtin) sc.run(*p);
}

} // namespace mmtc::sema
