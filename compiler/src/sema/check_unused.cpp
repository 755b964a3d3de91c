// Pass check-unused: warns about records and computed values that nothing uses. They
// parse and check but do nothing, which is usually a typo in the place meant to use them.
#include "sema/sema.h"

#include <functional>

namespace mmtc::sema {

namespace {

void markLets(const ast::Expr& e, std::set<const ast::Let*>& used) {
    if (e.ref.kind == ast::Ref::Let && e.ref.let) used.insert(e.ref.let);
    for (const auto& o : e.operands) markLets(*o, used);
}

void itemExprs(const std::vector<ast::FieldItem>& items,
               const std::function<void(const ast::Expr&)>& fn) {
    for (const auto& it : items) {
        if (it.kind == ast::FieldItem::Kind::Requires) {
            fn(*it.requires_);
        } else if (it.kind == ast::FieldItem::Kind::Switch) {
            fn(*it.sw->selector);
            if (it.sw->size) fn(*it.sw->size);
            for (const auto& arm : it.sw->arms) itemExprs(arm.items, fn);
        } else {
            const ast::Field& f = *it.field;
            for (const ast::Expr* e : {f.count.get(), f.until.get(), f.size.get(), f.cond.get()})
                if (e) fn(*e);
            for (const auto& r : f.requires_) fn(*r);
        }
    }
}

void markRecords(const std::vector<ast::FieldItem>& items, std::set<const ast::Record*>& records) {
    forEachField(items, [&](const ast::Field& f, bool) {
        if (f.type.record) records.insert(f.type.record);
    });
}

} // namespace

void forEachExpression(const ast::Protocol& p, const std::function<void(const ast::Expr&)>& fn) {
    for (const ast::Record* r : structuresOf(p)) itemExprs(r->items, fn);
    auto visit = [&](const ast::ExprPtr& e) {
        if (e) fn(*e);
    };
    for (const auto& l : p.lets) visit(l->value);
    for (const auto* d : {&p.headerLength, &p.payloadLength, &p.pduLength, &p.pduBody})
        if (*d) visit((*d)->value);
    for (const auto& a : p.attributes) {
        visit(a->value); // a shorthand's value names the let it exports
        visit(a->on);
        visit(a->cond);
    }
    for (const auto* k : {&p.key, p.session ? &p.session->key : nullptr})
        if (k && *k)
            for (const auto* side : {&(*k)->a, &(*k)->b})
                for (const auto& e : *side) visit(e);
    for (const auto& v : p.state) visit(v->init);
    for (const auto& u : p.updates) {
        visit(u.value);
        visit(u.cond);
    }
    for (const auto& c : p.classifies) visit(c.expr);
    for (const auto* b : {&p.stream, &p.fragment})
        if (*b)
            for (const auto& a : (*b)->entries) visit(a.value);
    if (p.ports) {
        visit(p.ports->src);
        visit(p.ports->dst);
    }
    // `over P when ...` is evaluated in P's scope: it may use P's values.
    for (const auto& o : p.overs) visit(o.when);
}

void checkUnused(SemaContext& ctx) {
    // After an error, references may be unresolved: warnings would be noise.
    if (ctx.diags.errorCount() != 0) return;
    std::set<const ast::Let*> lets;
    std::set<const ast::Record*> records;
    for (ast::Protocol* p : ctx.ordered) {
        if (p->builtin) continue;
        for (const ast::Record* r : structuresOf(*p)) markRecords(r->items, records);
        forEachExpression(*p, [&](const ast::Expr& e) { markLets(e, lets); });
    }
    for (ast::Protocol* p : ctx.ordered) {
        if (p->builtin) continue;
        for (const auto& r : p->records)
            if (!records.count(r.get()) && !ctx.parsedRecords.count(r.get()))
                ctx.diags.report(DiagKind::UnusedRecord, r->nameRange, r->name);
        for (const auto& l : p->lets)
            if (!lets.count(l.get())) ctx.diags.report(DiagKind::UnusedLet, l->nameRange, l->name);
    }
}

} // namespace mmtc::sema
