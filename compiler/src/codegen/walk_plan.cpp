// Walking a protocol: which items a function needs walked, preloading, header and payload
// lengths.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

bool Lowerer::containsField(const std::vector<ast::FieldItem>& items, const Field* f) {
    for (const auto& it : items) {
        if (it.kind == ast::FieldItem::Kind::Field && it.field.get() == f) return true;
        if (it.kind == ast::FieldItem::Kind::Switch)
            for (const auto& arm : it.sw->arms)
                if (containsField(arm.items, f)) return true;
    }
    return false;
}

bool Lowerer::containsSwitch(const ast::Switch& sw, const Field* f) {
    for (const auto& arm : sw.arms)
        if (containsField(arm.items, f)) return true;
    return false;
}

/// Position of the top-level item of header (part 0) or body (part 1) holding `f`.
std::pair<int, size_t> Lowerer::itemOf(const ast::Protocol& p, const Field* f) {
    const ast::Record* parts[2] = {p.header.get(), p.body.get()};
    for (int k = 0; k < 2; ++k) {
        if (!parts[k]) continue;
        const auto& items = parts[k]->items;
        for (size_t i = 0; i < items.size(); ++i)
            if ((items[i].kind == ast::FieldItem::Kind::Field && items[i].field.get() == f) ||
                (items[i].kind == ast::FieldItem::Kind::Switch && containsSwitch(*items[i].sw, f)))
                return {k, i};
    }
    return {-1, 0};
}

WalkPlan Lowerer::planFor(const ast::Protocol& p, const FieldSet& need) {
    WalkPlan plan;
    plan.need = need;
    for (const Field* f : need) {
        auto [part, i] = itemOf(p, f);
        if (part == 0) plan.headerItems = std::max(plan.headerItems, i + 1);
        if (part == 1) plan.bodyItems = std::max(plan.bodyItems, i + 1);
    }
    if (plan.bodyItems > 0 && p.header) plan.headerItems = p.header->items.size();
    return plan;
}

/// Fields of header and body named (directly or through values) by expressions.
void Lowerer::collectFields(const ast::Protocol& p, const Expr& e, FieldSet& out,
                            std::set<const ast::Let*>& seen) {
    for (const auto& o : e.operands) collectFields(p, *o, out, seen);
    if (e.kind == Expr::Kind::Name &&
        (e.ref.kind == ast::Ref::Field || e.ref.kind == ast::Ref::BitName)) {
        const Field* f = e.ref.field;
        if (f->owner == p.header.get() || (p.body && f->owner == p.body.get())) out.insert(f);
    } else if (e.kind == Expr::Kind::Name && e.ref.kind == ast::Ref::Let && e.ref.let &&
               seen.insert(e.ref.let).second) {
        collectFields(p, *e.ref.let->value, out, seen);
    }
}

FieldSet Lowerer::fieldsOf(const ast::Protocol& p, std::initializer_list<const Expr*> exprs) {
    FieldSet out;
    std::set<const ast::Let*> seen;
    for (const Expr* e : exprs)
        if (e) collectFields(p, *e, out, seen);
    return out;
}

/// The item a walk of `items` up to `limit` may walk lazily: its last item, when it
/// is a needed list or record that nothing in this walk must see the end of.
const Field* Lowerer::lazyItem(FnState& st, const std::vector<ast::FieldItem>& items, size_t limit,
                               const FieldSet& need) {
    if (limit == 0 || limit > items.size()) return nullptr;
    const ast::FieldItem& it = items[limit - 1];
    if (it.kind != ast::FieldItem::Kind::Field || !need.count(it.field.get())) return nullptr;
    const Field& f = *it.field;
    if (!f.isList && f.type.kind != ast::TypeSpec::Record) return nullptr;
    if (st.checkRequires && !f.requires_.empty()) return nullptr;
    return &f;
}

/// Walks header then body as far as `plan` says, into one protocol scope. The last
/// item may be walked lazily unless `wholeLast`. Returns the end of the header walk.
Value* Lowerer::walkProtocol(FnState& st, const ast::Protocol& p, const WalkPlan& plan,
                             bool wholeLast, Value** endOut) {
    Scope& scope = pushScope(st);
    Value* off = B.getInt64(0);
    Region data{st.len, false};
    if (p.header && plan.headerItems) {
        const Field* lazy = wholeLast || plan.bodyItems
                                ? nullptr
                                : lazyItem(st, p.header->items, plan.headerItems, plan.need);
        off = walkItems(st, p.header->items, plan.headerItems, off, data, scope, lazy);
    }
    Value* headerEnd = off;
    if (p.body && plan.bodyItems) {
        const Field* lazy =
            wholeLast ? nullptr : lazyItem(st, p.body->items, plan.bodyItems, plan.need);
        off = walkItems(st, p.body->items, plan.bodyItems, off, data, scope, lazy);
    }
    preload(st, plan.need);
    if (endOut) *endOut = off;
    return headerEnd;
}

/// Reads the integer fields of `need` right after the walk that parsed them: the
/// values dominate the rest of the function, so each is read once.
void Lowerer::preload(FnState& st, const FieldSet& need) {
    if (st.scopes.empty()) return;
    Scope& scope = *st.scopes.back();
    for (const Field* f : need) {
        auto it = scope.find(f);
        if (it == scope.end() || it->second.mem || f->isList ||
            (f->type.kind != ast::TypeSpec::Int && f->type.kind != ast::TypeSpec::Varint))
            continue;
        Slot& s = it->second;
        if (!s.off) continue;
        s.memo = readField(st, *f, s.off);
        s.memoBB = nullptr;
    }
}

bool Lowerer::usesPayload(const Expr& e, std::set<const ast::Let*>& seen) {
    if (e.ref.kind == ast::Ref::Payload) return true;
    if (e.kind == Expr::Kind::Name && e.ref.kind == ast::Ref::Let && e.ref.let &&
        seen.insert(e.ref.let).second && usesPayload(*e.ref.let->value, seen))
        return true;
    for (const auto& o : e.operands)
        if (usesPayload(*o, seen)) return true;
    return false;
}

/// header_len / payload_len of this packet, computed once per function by calling the
/// protocol's validate at the top of the body (it dominates every use); each use fails
/// when validate did.
void Lowerer::ensureLengths(FnState& st) {
    if (st.headerLen) {
        if (st.lengthsOk) evalFailIf(st, B.CreateNot(st.lengthsOk));
        return;
    }
    const ast::Protocol& p = *st.proto;
    if (p.builtin) {
        st.headerLen = B.getInt64(0);
        st.payloadLen = st.len;
        return;
    }
    llvm::AllocaInst* res = entryAlloca(st, resultTy, "lengths");
    llvm::IRBuilder<> top(st.bodyBB, st.bodyBB->getFirstInsertionPt());
    Value* status = top.CreateCall(fns[&p].validate, {st.ctx, res});
    st.lengthsOk = top.CreateICmpEQ(status, top.getInt32(MMT_OK));
    st.headerLen = top.CreateZExt(
        top.CreateLoad(i32, top.CreateStructGEP(resultTy, res, abi::result::HeaderLen)), i64);
    st.payloadLen = top.CreateZExt(
        top.CreateLoad(i32, top.CreateStructGEP(resultTy, res, abi::result::PayloadLen)), i64);
    evalFailIf(st, B.CreateNot(st.lengthsOk));
}

/// The lengths come from the parse result validate filled (classify).
void Lowerer::lengthsFromResult(FnState& st, Value* res) {
    if (st.proto->builtin) {
        st.headerLen = B.getInt64(0);
        st.payloadLen = st.len;
        return;
    }
    st.headerLen = B.CreateZExt(
        B.CreateLoad(i32, B.CreateStructGEP(resultTy, res, abi::result::HeaderLen)), i64);
    st.payloadLen = B.CreateZExt(
        B.CreateLoad(i32, B.CreateStructGEP(resultTy, res, abi::result::PayloadLen)), i64);
}

} // namespace mmtc::codegen::detail
