// Pass check-unused: warns about records and computed values that nothing uses. They
// parse and check but do nothing, which is usually a typo in the place meant to use them.
#include "sema/sema.h"

namespace mmtc::sema {

namespace {

void markLets(const ast::Expr& e, std::set<const ast::Let*>& used) {
    if (e.ref.kind == ast::Ref::Let && e.ref.let) used.insert(e.ref.let);
    for (const auto& o : e.operands) markLets(*o, used);
}

void markItems(const std::vector<ast::FieldItem>& items, std::set<const ast::Let*>& lets,
               std::set<const ast::Record*>& records) {
    for (const auto& it : items) {
        if (it.kind == ast::FieldItem::Kind::Requires) {
            markLets(*it.requires_, lets);
        } else if (it.kind == ast::FieldItem::Kind::Switch) {
            markLets(*it.sw->selector, lets);
            if (it.sw->size) markLets(*it.sw->size, lets);
            for (const auto& arm : it.sw->arms) markItems(arm.items, lets, records);
        } else {
            const ast::Field& f = *it.field;
            if (f.type.record) records.insert(f.type.record);
            for (const ast::Expr* e : {f.count.get(), f.until.get(), f.size.get(), f.cond.get()})
                if (e) markLets(*e, lets);
            for (const auto& r : f.requires_) markLets(*r, lets);
        }
    }
}

} // namespace

void checkUnused(SemaContext& ctx) {
    // After an error, references may be unresolved: warnings would be noise.
    if (ctx.diags.errorCount() != 0) return;
    std::set<const ast::Let*> lets;
    std::set<const ast::Record*> records;
    for (ast::Protocol* p : ctx.ordered) {
        if (p->builtin) continue;
        for (const ast::Record* r : structuresOf(*p)) markItems(r->items, lets, records);
        auto mark = [&](const ast::ExprPtr& e) {
            if (e) markLets(*e, lets);
        };
        for (const auto& l : p->lets) mark(l->value);
        for (const auto* d : {&p->headerLength, &p->payloadLength, &p->pduLength, &p->pduBody})
            if (*d) mark((*d)->value);
        for (const auto& a : p->attributes) {
            mark(a->value); // a shorthand's value names the let it exports
            mark(a->on);
            mark(a->cond);
        }
        for (const auto* k : {&p->key, p->session ? &p->session->key : nullptr})
            if (k && *k)
                for (const auto* side : {&(*k)->a, &(*k)->b})
                    for (const auto& e : *side) mark(e);
        for (const auto& v : p->state) mark(v->init);
        for (const auto& u : p->updates) {
            mark(u.value);
            mark(u.cond);
        }
        for (const auto& c : p->classifies) mark(c.expr);
        for (const auto* b : {&p->stream, &p->fragment})
            if (*b)
                for (const auto& a : (*b)->entries) mark(a.value);
        if (p->ports) {
            mark(p->ports->src);
            mark(p->ports->dst);
        }
        // `over P when ...` is evaluated in P's scope: it may use P's values.
        for (const auto& o : p->overs) mark(o.when);
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
