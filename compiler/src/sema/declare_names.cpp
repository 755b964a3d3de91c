// Pass declare-names: builds every scope (protocol and record), numbers fields in
// parse order, and reports names declared twice.
#include "sema/sema.h"

namespace mmtc::sema {

namespace {

bool isBuiltinTypeName(const std::string& n) {
    return !typeFromName(n).isError() || n == "header" || n == "body";
}

/// Names with a meaning of their own in expressions.
bool isReservedName(const std::string& n) {
    return n == "payload" || n == "parent" || n == "direction" || n == "linktype" ||
           n == "message" || n == "remaining";
}

class Declarer {
  public:
    Declarer(SemaContext& ctx, ast::Protocol& p) : ctx_(ctx), p_(p), syms_(ctx.symbols[&p]) {}

    void run() {
        for (auto& r : p_.records) {
            if (isBuiltinTypeName(r->name)) {
                ctx_.diags.report(DiagKind::RecordShadowsType, r->nameRange, r->name);
                continue;
            }
            auto [it, fresh] = syms_.records.emplace(r->name, r.get());
            if (!fresh) {
                ctx_.diags.report(DiagKind::Redefinition, r->nameRange, "record", r->name);
                ctx_.diags.note(DiagKind::PreviousDefinition, it->second->nameRange, r->name);
            }
        }
        // Header and body share one scope and one parse order: the body follows the header.
        unsigned seq = 0;
        const ast::Record* structure = p_.header ? p_.header.get() : p_.body.get();
        if (p_.header) declareFields(*p_.header, structure, syms_.names, seq, false);
        if (p_.body) declareFields(*p_.body, structure, syms_.names, seq, true);
        for (auto& r : p_.records) {
            unsigned rseq = 0;
            declareFields(*r, r.get(), syms_.recordScopes[r.get()], rseq, false);
        }
        for (auto& l : p_.lets)
            declare(syms_.names, l->name, named(Symbol::Let, &Symbol::let, l.get()), "value");
        for (auto& v : p_.state)
            declare(syms_.names, v->name, named(Symbol::State, &Symbol::state, v.get()),
                    "state variable");
        std::map<std::string, ast::Attribute*> attrs;
        int index = 0;
        for (auto& a : p_.attributes) {
            auto [it, fresh] = attrs.emplace(a->name, a.get());
            if (!fresh) {
                // Event attributes may be defined in several places: one attribute.
                ast::Attribute* first = it->second;
                if (a->isEvent && first->isEvent) {
                    a->first = first;
                    a->index = first->index;
                    continue;
                }
                ctx_.diags.report(DiagKind::Redefinition, a->nameRange, "attribute", a->name);
                ctx_.diags.note(DiagKind::PreviousDefinition, first->nameRange, a->name);
                ctx_.diags.note(DiagKind::DefinitionsNeedEvents,
                                a->isEvent ? first->nameRange : a->nameRange);
                continue;
            }
            a->index = index++;
            if (a->shorthand) continue; // names an existing field or value
            // `attribute topic : string = topic;` exports a field (or value) of the same
            // name under another type: in expressions the name stays the field's.
            auto taken = syms_.names.find(a->name);
            if (taken != syms_.names.end() && taken->second.kind != Symbol::Attribute &&
                !isReservedName(a->name)) {
                if (!usesName(a->value.get(), a->name) && !usesName(a->on.get(), a->name)) {
                    ctx_.diags.report(DiagKind::Redefinition, a->nameRange, "attribute", a->name);
                    ctx_.diags.note(DiagKind::PreviousDefinition, taken->second.declRange, a->name);
                    ctx_.diags.note(DiagKind::NameNotComputedFrom, a->nameRange, a->name);
                }
                continue;
            }
            // `syslog.message`: a user's name for a value; in expressions of the spec,
            // `message` and `remaining` keep their own meaning.
            if (a->name == "message" || a->name == "remaining") continue;
            declare(syms_.names, a->name, named(Symbol::Attribute, &Symbol::attribute, a.get()),
                    "attribute");
        }
    }

  private:
    /// The symbol of a declaration that has a name of its own (value, state variable,
    /// attribute): `slot` is the member of Symbol that points at it.
    template <class Decl>
    static Symbol named(Symbol::Kind kind, const Decl* Symbol::*slot, const Decl* d) {
        Symbol s;
        s.kind = kind;
        s.*slot = d;
        s.declRange = d->nameRange;
        return s;
    }

    /// Whether `e` names `name` itself (not as a member: `x.name` is another thing).
    static bool usesName(const ast::Expr* e, const std::string& name) {
        if (!e) return false;
        if (e->kind == ast::Expr::Kind::Name && e->text == name) return true;
        for (const auto& o : e->operands)
            if (usesName(o.get(), name)) return true;
        return false;
    }

    void declare(std::map<std::string, Symbol>& scope, const std::string& name, const Symbol& s,
                 const char* what) {
        if (isReservedName(name)) {
            ctx_.diags.report(DiagKind::ReservedName, s.declRange, name);
            return;
        }
        auto [it, fresh] = scope.emplace(name, s);
        if (!fresh) {
            ctx_.diags.report(DiagKind::Redefinition, s.declRange, what, name);
            ctx_.diags.note(DiagKind::PreviousDefinition, it->second.declRange, name);
        }
    }

    void declareFields(ast::Record& rec, const ast::Record* structure,
                       std::map<std::string, Symbol>& scope, unsigned& seq, bool inBody) {
        declareItems(rec.items, &rec, structure, scope, seq, inBody, false);
    }

    void declareItems(std::vector<ast::FieldItem>& items, const ast::Record* owner,
                      const ast::Record* structure, std::map<std::string, Symbol>& scope,
                      unsigned& seq, bool inBody, bool optional) {
        for (auto& it : items) {
            if (it.kind == ast::FieldItem::Kind::Switch) {
                for (auto& arm : it.sw->arms)
                    declareItems(arm.items, owner, structure, scope, seq, inBody, true);
                continue;
            }
            if (it.kind != ast::FieldItem::Kind::Field) continue;
            ast::Field& f = *it.field;
            f.owner = owner;
            syms_.fields[&f] = FieldInfo{structure, seq++, optional || f.cond != nullptr, inBody};
            if (!f.anonymous()) {
                f.index = int(p_.fieldTable.size());
                p_.fieldTable.push_back(&f);
                Symbol s;
                s.kind = Symbol::Field;
                s.field = &f;
                s.declRange = f.nameRange;
                declare(scope, f.name, s, "field");
            } else if (!f.bitNames.empty() || f.isList || f.type.kind == ast::TypeSpec::Record) {
                // A padding field has no value: names on it would be unreachable.
                if (!f.bitNames.empty())
                    ctx_.diags.report(DiagKind::AnonymousWithNames, f.bitNames.front().range);
            }
            unsigned bit = 0;
            for (auto& bn : f.bitNames) {
                if (bn.name == "_") { // an unnamed bit
                    ++bit;
                    continue;
                }
                Symbol s;
                s.kind = Symbol::BitName;
                s.field = &f;
                s.bit = bit++;
                s.declRange = bn.range;
                declare(scope, bn.name, s, "bit name");
            }
        }
    }

    SemaContext& ctx_;
    ast::Protocol& p_;
    ProtoSymbols& syms_;
};

} // namespace

void declareNames(SemaContext& ctx) {
    for (ast::Protocol* p : ctx.ordered) {
        if (p->builtin) continue;
        Declarer(ctx, *p).run();
    }
}

} // namespace mmtc::sema
