// Stages validate and analyse: the full walk, failure reports and event attributes raised
// while walking.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

void Lowerer::defineValidate(const ast::Protocol& p, ProtoFns& f) {
    FnState st = begin(f.validate, p, FailMode::Result);
    st.checkRequires = true;
    Value* res = st.res;
    // The result is written once, on success, a pair of fields at a time; a failure
    // writes its four fields (the lengths are then not meaningful).
    auto succeed = [&](Value* hl, Value* pl, Value* truncated) {
        storeResultPair(res, abi::result::Status, B.getInt32(MMT_OK), B.getInt32(MMT_FAIL_NONE));
        storeResultPair(res, abi::result::FailField, B.getInt32(uint32_t(-1)), B.getInt32(0));
        storeResultPair(res, abi::result::HeaderLen, hl, pl);
        storeResultPair(res, abi::result::PayloadTruncated, truncated, B.getInt32(0));
        B.CreateRet(B.getInt32(MMT_OK));
    };
    if (p.builtin) {
        succeed(B.getInt32(0), B.CreateTrunc(st.len, i32), B.getInt32(0));
        return;
    }
    // The whole header, and the body as far as the lengths need it.
    WalkPlan plan =
        planFor(p, fieldsOf(p, {p.headerLength ? p.headerLength->value.get() : nullptr,
                                p.payloadLength ? p.payloadLength->value.get() : nullptr}));
    plan.headerItems = p.header ? p.header->items.size() : 0;
    Value* walked = walkProtocol(st, p, plan, /*wholeLast=*/true);
    Value* hl = walked;
    if (p.headerLength) {
        hl = evalInt(st, *p.headerLength->value);
        failIf(st, B.CreateICmpSLT(hl, B.getInt64(0)), MMT_MALFORMED, MMT_FAIL_LENGTH, nullptr,
               B.getInt64(0), "hl.ok");
        failIf(st, B.CreateICmpULT(hl, walked), MMT_MALFORMED, MMT_FAIL_LENGTH, nullptr,
               B.getInt64(0), "hl.covers");
        failIf(st, B.CreateICmpUGT(hl, st.len), MMT_TRUNCATED, MMT_FAIL_BOUNDS, nullptr,
               B.getInt64(0), "hl.fits");
    }
    Value* avail = B.CreateSub(st.len, hl);
    Value* pl = avail;
    Value* truncated = B.getInt32(0);
    if (p.payloadLength) {
        Value* want = evalInt(st, *p.payloadLength->value);
        failIf(st, B.CreateICmpSLT(want, B.getInt64(0)), MMT_MALFORMED, MMT_FAIL_LENGTH, nullptr,
               hl, "pl.ok");
        Value* over = B.CreateICmpUGT(want, avail);
        pl = B.CreateSelect(over, avail, want);
        truncated = B.CreateZExt(over, i32);
    }
    succeed(B.CreateTrunc(hl, i32), B.CreateTrunc(pl, i32), truncated);
}

/// An event attribute can be raised while its list is walked when everything it
/// reads of the protocol comes before that list.
/// The chain of fields an `on` expression names (`answers`, `a.b.c`), or false.
bool Lowerer::fieldChain(const Expr& e, std::vector<const Field*>& out) {
    if (e.kind == Expr::Kind::Name && e.ref.kind == ast::Ref::Field) {
        out.push_back(e.ref.field);
        return true;
    }
    if (e.kind == Expr::Kind::Member && e.ref.kind == ast::Ref::Field &&
        fieldChain(*e.operands[0], out)) {
        out.push_back(e.ref.field);
        return true;
    }
    return false;
}

/// An event attribute can be raised while the walk meets the list it is declared on
/// (the last list of its `on` chain) when everything it reads of the protocol is
/// parsed before that chain starts.
bool Lowerer::hookFor(const ast::Protocol& p, const ast::Attribute& a,
                      std::vector<const Field*>& key, std::vector<const Field*>& rest) {
    std::vector<const Field*> chain;
    if (!a.on || !fieldChain(*a.on, chain)) return false;
    auto at = itemOf(p, chain[0]);
    if (at.first < 0) return false;
    size_t last = chain.size();
    for (size_t i = chain.size(); i-- > 0;)
        if (chain[i]->isList) {
            last = i;
            break;
        }
    if (last == chain.size()) return false;
    for (const Field* g : fieldsOf(p, {a.value.get(), a.cond.get()}))
        if (itemOf(p, g) >= at) return false;
    key.assign(chain.begin(), chain.begin() + long(last) + 1);
    rest.assign(chain.begin() + long(last) + 1, chain.end());
    return true;
}

void Lowerer::defineAnalyse(const ast::Protocol& p, ProtoFns& f) {
    FnState st = begin(f.analyse, p, FailMode::Result);
    Value* res = st.res;
    storeResult(res, abi::result::Status, B.getInt32(MMT_OK));
    storeResult(res, abi::result::FailReason, B.getInt32(MMT_FAIL_NONE));
    storeResult(res, abi::result::FailField, B.getInt32(uint32_t(-1)));
    storeResult(res, abi::result::FailOffset, B.getInt32(0));
    st.eventsWanted = B.CreateLoad(i64, B.CreateStructGEP(ctxTy, st.ctx, abi::ctx::EventsWanted));
    st.emitFn = B.CreateLoad(llvm::PointerType::getUnqual(emitFnTy),
                             B.CreateStructGEP(ctxTy, st.ctx, abi::ctx::Emit));
    st.eventValue = entryAlloca(st, valueTy, "event");
    std::vector<const ast::Attribute*> after;
    for (const auto& a : p.attributes) {
        if (!a->isEvent) continue;
        std::vector<const Field*> key, rest;
        if (hookFor(p, *a, key, rest))
            st.hooks[key].push_back(FnState::Hook{a.get(), rest});
        else
            after.push_back(a.get());
    }
    // Validate checked the header's constraints; the body's are checked here.
    Scope& scope = pushScope(st);
    Region data{st.len, false};
    Value* off = B.getInt64(0);
    if (p.header) off = walkItems(st, p.header->items, SIZE_MAX, off, data, scope);
    st.checkRequires = true;
    if (p.body) walkItems(st, p.body->items, SIZE_MAX, off, data, scope);
    st.hooks.clear();
    for (const ast::Attribute* a : after) {
        if (!a->on) {
            raiseEvent(st, *a, nullptr);
            continue;
        }
        // The rest: walked again for the event.
        BasicBlock* next = BasicBlock::Create(C, a->name + ".done", st.F);
        BasicBlock* doBB = BasicBlock::Create(C, a->name + ".wanted", st.F);
        B.CreateCondBr(wantedBit(st, *a), doBB, next);
        B.SetInsertPoint(doBB);
        {
            Redirect r(st, next);
            EV list = eval(st, *a->on);
            forEachElement(st, list, [&](EV elem, Scope* elemScope, BasicBlock* cont) {
                raiseInScope(st, *a, elem, elemScope);
                B.CreateBr(cont);
            });
        }
        B.CreateBr(next);
        B.SetInsertPoint(next);
    }
    B.CreateRet(B.getInt32(MMT_OK));
}

/// Raises `a` for one element whose fields are in `elemScope`, or in a record not
/// walked yet (the last step of a projection), which is walked for the occasion.
void Lowerer::raiseInScope(FnState& st, const ast::Attribute& a, const EV& elem, Scope* elemScope) {
    if (!elemScope && elem.k == EV::RecordRef && (a.value || a.cond)) {
        BasicBlock* skip = BasicBlock::Create(C, a.name + ".skip", st.F);
        {
            Redirect r(st, skip);
            Scope& sc = pushScope(st);
            walkItems(st, elem.rec->items, SIZE_MAX, elem.off, Region{elem.region, elem.sized}, sc);
            raiseEvent(st, a, &elem, false);
            st.scopes.pop_back();
            B.CreateBr(skip);
        }
        B.SetInsertPoint(skip);
        return;
    }
    if (elemScope) st.scopes.push_back(elemScope);
    raiseEvent(st, a, &elem, false);
    if (elemScope) st.scopes.pop_back();
}

/// A hooked event attribute, for one element of the list the walk just parsed.
void Lowerer::raiseHooked(FnState& st, const FnState::Hook& h, const EV& elem, Scope* elemScope) {
    const ast::Attribute& a = *h.attr;
    if (h.rest.empty()) {
        raiseEvent(st, a, &elem);
        return;
    }
    BasicBlock* cont = BasicBlock::Create(C, a.name + ".hooked", st.F);
    BasicBlock* doBB = BasicBlock::Create(C, a.name + ".wanted", st.F);
    B.CreateCondBr(wantedBit(st, a), doBB, cont);
    B.SetInsertPoint(doBB);
    {
        Redirect r(st, cont);
        applySteps(
            st, elem, elemScope, h.rest, 0,
            [&](EV v, Scope* sc, BasicBlock* c2) {
                raiseInScope(st, a, v, sc);
                B.CreateBr(c2);
            },
            cont);
    }
    B.SetInsertPoint(cont);
}

Value* Lowerer::wantedBit(FnState& st, const ast::Attribute& a) {
    unsigned bit = fns[st.proto].eventIndex[&a];
    return B.CreateICmpNE(B.CreateAnd(st.eventsWanted, B.getInt64(uint64_t(1) << bit)),
                          B.getInt64(0));
}

/// Raises one occurrence of event attribute `a` (of list element `elem`, whose fields
/// are in the innermost scope, when given). An occurrence that cannot be computed is
/// skipped; nothing else is.
void Lowerer::raiseEvent(FnState& st, const ast::Attribute& a, const EV* elem, bool checkWanted) {
    BasicBlock* skip = BasicBlock::Create(C, a.name + ".next", st.F);
    if (checkWanted) {
        BasicBlock* doBB = BasicBlock::Create(C, a.name + ".wanted", st.F);
        B.CreateCondBr(wantedBit(st, a), doBB, skip);
        B.SetInsertPoint(doBB);
    }
    {
        Redirect r(st, skip);
        if (a.cond) {
            Value* c = evalBool(st, *a.cond);
            BasicBlock* yes = BasicBlock::Create(C, "cond.yes", st.F);
            B.CreateCondBr(c, yes, skip);
            B.SetInsertPoint(yes);
        }
        EV v = a.value ? eval(st, *a.value) : elem ? *elem : EV{};
        fillValue(st, st.eventValue, v, a.type);
        B.CreateCall(emitFnTy, st.emitFn, {st.ctx, B.getInt32(uint32_t(a.index)), st.eventValue});
        B.CreateBr(skip);
    }
    B.SetInsertPoint(skip);
}

} // namespace mmtc::codegen::detail
