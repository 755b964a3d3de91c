// Expressions, part one: evaluation, names, fields as values, members, parent attributes,
// indexing.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

Value* Lowerer::evalInt(FnState& st, const Expr& e) {
    EV v = eval(st, e);
    if (v.k == EV::Int) return v.v;
    if (v.k == EV::Bool) return B.CreateZExt(v.v, i64);
    deadEnd(st);
    return B.getInt64(0);
}

Value* Lowerer::evalBool(FnState& st, const Expr& e) {
    EV v = eval(st, e);
    if (v.k == EV::Bool) return v.v;
    if (v.k == EV::Int) return B.CreateICmpNE(v.v, B.getInt64(0));
    deadEnd(st);
    return llvm::ConstantInt::getFalse(C);
}

Value* Lowerer::stringConst(const std::string& s) {
    auto it = strings.find(s);
    if (it != strings.end()) return it->second;
    llvm::Constant* data = llvm::ConstantDataArray::getString(C, s, /*AddNull=*/true);
    auto* gv = new llvm::GlobalVariable(M, data->getType(), true, llvm::GlobalValue::PrivateLinkage,
                                        data, "str");
    gv->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    gv->setAlignment(llvm::MaybeAlign(1));
    llvm::Constant* p = llvm::ConstantExpr::getInBoundsGetElementPtr(
        data->getType(), gv, llvm::ArrayRef<llvm::Constant*>{B.getInt64(0), B.getInt64(0)});
    strings[s] = p;
    return p;
}

const Slot* Lowerer::findSlot(FnState& st, const Field* f) {
    for (auto it = st.scopes.rbegin(); it != st.scopes.rend(); ++it) {
        auto s = (*it)->find(f);
        if (s != (*it)->end()) return &s->second;
    }
    return nullptr;
}

ast::Type Lowerer::addrType(ast::TypeSpec::Kind k) {
    return ast::Type::of(k == ast::TypeSpec::Mac    ? ast::Type::Mac
                         : k == ast::TypeSpec::Ipv4 ? ast::Type::Ipv4
                                                    : ast::Type::Ipv6);
}

/// The value of a parsed field; fails when it is absent. Integers are read here, from
/// the packet, at most once per basic block.
EV Lowerer::fieldValue(FnState& st, const Field& f, const Slot& cs) {
    Slot& s = const_cast<Slot&>(cs);
    if (s.mem) evalFailIf(st, B.CreateNot(B.CreateLoad(i1, s.present)));
    Value* off = slotGet(s, &Slot::off);
    EV v;
    if (f.isList) {
        v.k = EV::ListRef;
        v.list = &f;
        v.off = off;
        v.region = slotGet(s, &Slot::region);
        v.sized = s.sized;
        v.count = slotGet(s, &Slot::count);
        return v;
    }
    switch (f.type.kind) {
    case ast::TypeSpec::Int:
    case ast::TypeSpec::Varint:
        if (!s.mem && s.memo && (!s.memoBB || s.memoBB == B.GetInsertBlock())) return intEV(s.memo);
        v = intEV(readField(st, f, off));
        if (!s.mem) {
            s.memo = v.v;
            s.memoBB = B.GetInsertBlock();
        }
        return v;
    case ast::TypeSpec::Mac:
    case ast::TypeSpec::Ipv4:
    case ast::TypeSpec::Ipv6:
        v.k = EV::Addr;
        v.v = ptrAt(st, off);
        v.addrLen = scalarBytes(f);
        return v;
    case ast::TypeSpec::Bytes:
        return bytesEV(ptrAt(st, off), B.CreateSub(slotGet(s, &Slot::end), off));
    case ast::TypeSpec::Record:
        v.k = EV::RecordRef;
        v.rec = f.type.record;
        v.off = off;
        v.region = slotGet(s, &Slot::region);
        v.sized = s.sized;
        return v;
    case ast::TypeSpec::Unknown:
        break;
    }
    deadEnd(st);
    return v;
}

EV Lowerer::intEV(Value* v) {
    EV r;
    r.k = EV::Int;
    r.v = v;
    return r;
}

EV Lowerer::boolEV(Value* v) {
    EV r;
    r.k = EV::Bool;
    r.v = v;
    return r;
}

EV Lowerer::bytesEV(Value* p, Value* n) {
    EV r;
    r.k = EV::Bytes;
    r.v = p;
    r.len = n;
    return r;
}

EV Lowerer::addrEV(Value* p, unsigned n) {
    EV r;
    r.k = EV::Addr;
    r.v = p;
    r.addrLen = n;
    return r;
}

/// Walks a record at `rec.off` up to `member` and returns the member's value.
EV Lowerer::recordMember(FnState& st, const EV& rec, const Field* member) {
    Scope& scope = pushScope(st);
    size_t limit = 0;
    for (size_t i = 0; i < rec.rec->items.size(); ++i) {
        const auto& it = rec.rec->items[i];
        if ((it.kind == ast::FieldItem::Kind::Field && it.field.get() == member) ||
            (it.kind == ast::FieldItem::Kind::Switch && containsSwitch(*it.sw, member)))
            limit = i + 1;
    }
    walkItems(st, rec.rec->items, limit, rec.off, Region{rec.region, rec.sized}, scope, member);
    auto s = scope.find(member);
    EV v;
    if (s != scope.end())
        v = fieldValue(st, *member, s->second);
    else
        deadEnd(st);
    st.scopes.pop_back();
    return v;
}

/// The element of list `f` at [off, end) as a value.
EV Lowerer::elementAt(FnState& st, const Field& f, Value* off, Value* end, bool sized) {
    if (f.type.kind == ast::TypeSpec::Record) {
        EV e;
        e.k = EV::RecordRef;
        e.rec = f.type.record;
        e.off = off;
        e.region = end;
        e.sized = sized;
        return e;
    }
    if (f.type.kind == ast::TypeSpec::Int)
        return intEV(readIntAt(st.data, off, f.type.width / 8, orderOf(f, *st.proto)));
    return addrEV(ptrAt(st, off), scalarBytes(f));
}

/// Runs `fn` for every element of a list or projection (flattening nested lists).
/// `fn(elem, elemScope, cont)` must end its block by branching (to `cont` to go on).
void Lowerer::forEachElement(FnState& st, const EV& seq, const ElemFn& fn) {
    if (seq.k == EV::Ints) {
        llvm::AllocaInst* idx = entryAlloca(st, i64, "ints.i");
        B.CreateStore(B.getInt64(0), idx);
        BasicBlock* head = BasicBlock::Create(C, "ints.head", st.F);
        BasicBlock* body = BasicBlock::Create(C, "ints.body", st.F);
        BasicBlock* cont = BasicBlock::Create(C, "ints.next", st.F);
        BasicBlock* exit = BasicBlock::Create(C, "ints.end", st.F);
        B.CreateBr(head);
        B.SetInsertPoint(head);
        Value* i = B.CreateLoad(i64, idx);
        B.CreateCondBr(B.CreateICmpSLT(i, seq.count), body, exit);
        B.SetInsertPoint(body);
        fn(intEV(intAt(seq, i)), nullptr, cont);
        B.SetInsertPoint(cont);
        B.CreateStore(B.CreateAdd(B.CreateLoad(i64, idx), B.getInt64(1)), idx);
        B.CreateBr(head);
        B.SetInsertPoint(exit);
        return;
    }
    if (seq.k != EV::ListRef && seq.k != EV::Projection) {
        deadEnd(st);
        return;
    }
    const Field& f = *seq.list;
    listLoop(st, f, seq.off, Region{seq.region, seq.sized}, seq.count,
             [&](Value* elemOff, Value* elemEnd, Scope* elemScope) {
                 BasicBlock* cont = BasicBlock::Create(C, "elem.next", st.F);
                 EV elem = elementAt(st, f, elemOff, elemEnd, seq.sized);
                 if (seq.k == EV::ListRef || seq.steps.empty()) {
                     fn(elem, elemScope, cont);
                 } else {
                     // A member absent from this element skips the element.
                     Redirect r(st, cont);
                     applySteps(st, elem, elemScope, seq.steps, 0, fn, cont);
                 }
                 B.SetInsertPoint(cont);
             });
}

void Lowerer::applySteps(FnState& st, EV cur, Scope* curScope,
                         const std::vector<const Field*>& steps, size_t i, const ElemFn& fn,
                         BasicBlock* cont) {
    const Field* step = steps[i];
    EV next;
    auto s = curScope ? curScope->find(step) : Scope::iterator{};
    if (curScope && s != curScope->end())
        next = fieldValue(st, *step, s->second);
    else
        next = recordMember(st, cur, step);
    bool last = i + 1 == steps.size();
    if (next.k == EV::ListRef) {
        // A list inside: walk its elements, then the remaining steps on each.
        forEachElement(st, next, [&](EV elem, Scope* es, BasicBlock* c2) {
            if (last) {
                fn(elem, es, c2);
            } else {
                // A member absent from this inner element skips that element only.
                Redirect r(st, c2);
                applySteps(st, elem, es, steps, i + 1, fn, c2);
            }
        });
        B.CreateBr(cont);
        return;
    }
    if (last) {
        fn(next, nullptr, cont);
        return;
    }
    applySteps(st, next, nullptr, steps, i + 1, fn, cont);
}

EV Lowerer::eval(FnState& st, const Expr& e) {
    using K = Expr::Kind;
    switch (e.kind) {
    case K::Int:
        return intEV(B.getInt64(e.intValue));
    case K::Bool:
        return boolEV(e.boolValue ? llvm::ConstantInt::getTrue(C) : llvm::ConstantInt::getFalse(C));
    case K::String:
        return bytesEV(stringConst(e.text), B.getInt64(int64_t(e.text.size())));
    case K::Name:
        return evalName(st, e);
    case K::Member:
        return evalMember(st, e);
    case K::Index:
        return evalIndex(st, e);
    case K::Call:
        return evalCall(st, e);
    case K::Unary: {
        Value* x = evalInt(st, *e.operands[0]);
        return intEV(e.text == "-" ? B.CreateNeg(x) : B.CreateNot(x));
    }
    case K::Not:
        return boolEV(B.CreateNot(evalBool(st, *e.operands[0])));
    case K::In:
        return boolEV(matchCases(st, evalInt(st, *e.operands[0]), e.cases));
    case K::Cond:
        return evalCond(st, e);
    case K::Binary:
        return evalBinary(st, e);
    }
    deadEnd(st);
    return intEV(B.getInt64(0));
}

EV Lowerer::bitOf(const EV& v, const Field& f, unsigned bit) {
    Value* b = B.CreateAnd(B.CreateLShr(v.v, f.type.width - 1 - bit), B.getInt64(1));
    return boolEV(B.CreateICmpNE(b, B.getInt64(0)));
}

EV Lowerer::evalName(FnState& st, const Expr& e) {
    switch (e.ref.kind) {
    case ast::Ref::Field:
    case ast::Ref::BitName: {
        const Slot* s = findSlot(st, e.ref.field);
        if (!s)
            throw std::logic_error("codegen: field '" + e.ref.field->name +
                                   "' used before it was walked");
        EV v = fieldValue(st, *e.ref.field, *s);
        return e.ref.kind == ast::Ref::BitName ? bitOf(v, *e.ref.field, e.ref.bit) : v;
    }
    case ast::Ref::Let:
        if (st.memoLets && outlined(*e.ref.let)) return memoLet(st, *e.ref.let);
        if (st.memoLets && keptInFunction(*e.ref.let)) return keptLet(st, *e.ref.let);
        return eval(st, *e.ref.let->value);
    case ast::Ref::Attribute:
        return callGetter(st, getterOf(st.proto, e.ref.attribute), st.ctx, e.ref.attribute->type);
    case ast::Ref::State: {
        Value* state = stateBase(st);
        evalFailIf(st, B.CreateIsNull(state));
        Value* p = statePtr(st, state, e.ref.state);
        const ast::Type& t = e.ref.state->type;
        if (t.kind == ast::Type::Bytes) {
            llvm::AllocaInst* len = entryAlloca(st, i64, "state.len");
            Value* b = B.CreateCall(hStateBytesGet, {p, len});
            return bytesEV(b, B.CreateLoad(i64, len));
        }
        if (t.kind == ast::Type::Bool || t.isInt()) {
            Value* x = B.CreateAlignedLoad(
                i64, B.CreateBitCast(p, llvm::PointerType::getUnqual(i64)), llvm::MaybeAlign(1));
            return t.isInt() ? intEV(x) : boolEV(B.CreateICmpNE(x, B.getInt64(0)));
        }
        return addrEV(p, t.kind == ast::Type::Mac ? 6 : t.kind == ast::Type::Ipv4 ? 4 : 16);
    }
    case ast::Ref::Payload:
        ensureLengths(st);
        return bytesEV(ptrAt(st, st.headerLen), st.payloadLen);
    case ast::Ref::Builtin:
        if (e.ref.builtin == "direction")
            return intEV(B.CreateZExt(
                B.CreateLoad(i32, B.CreateStructGEP(ctxTy, st.ctx, abi::ctx::Direction)), i64));
        if (e.ref.builtin == "remaining") {
            // Bytes left in the region being parsed, from where the current item starts.
            if (!st.posEnd) break;
            return intEV(subOff(st.posEnd, st.posOff));
        }
        if (e.ref.builtin == "message") return bytesEV(st.data, st.len);
        return intEV(B.CreateZExt(
            B.CreateLoad(i32, B.CreateStructGEP(ctxTy, st.ctx, abi::ctx::Linktype)), i64));
    default:
        break;
    }
    deadEnd(st);
    return intEV(B.getInt64(0));
}

/// Calls a getter and turns its mmt_value back into a value; absent means failure.
EV Lowerer::callGetter(FnState& st, Function* getter, Value* ctx, const ast::Type& t) {
    if (!getter) {
        deadEnd(st);
        return intEV(B.getInt64(0));
    }
    llvm::AllocaInst* tmp = entryAlloca(st, valueTy, "attr");
    Value* ok = B.CreateCall(getter, {ctx, tmp});
    evalFailIf(st, B.CreateICmpEQ(ok, B.getInt32(0)));
    return fromValue(tmp, t);
}

EV Lowerer::fromValue(Value* tmp, const ast::Type& t) {
    switch (t.kind) {
    case ast::Type::Int:
        return intEV(B.CreateLoad(i64, B.CreateStructGEP(valueTy, tmp, abi::value::U)));
    case ast::Type::Bool:
        return boolEV(B.CreateICmpNE(
            B.CreateLoad(i64, B.CreateStructGEP(valueTy, tmp, abi::value::U)), B.getInt64(0)));
    case ast::Type::Bytes:
    case ast::Type::String:
        return bytesEV(
            B.CreateLoad(i8p, B.CreateStructGEP(valueTy, tmp, abi::value::Ptr)),
            B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(valueTy, tmp, abi::value::Len)), i64));
    default:
        return addrEV(B.CreateLoad(i8p, B.CreateStructGEP(valueTy, tmp, abi::value::Ptr)),
                      t.kind == ast::Type::Mac    ? 6
                      : t.kind == ast::Type::Ipv4 ? 4
                                                  : 16);
    }
}

EV Lowerer::evalMember(FnState& st, const Expr& e) {
    if (e.ref.kind == ast::Ref::ProtoAttr) return evalParentAttr(st, e);
    EV b = eval(st, *e.operands[0]);
    const Field* member = e.ref.field;
    if (b.k == EV::RecordRef) {
        EV v = recordMember(st, b, member);
        return e.ref.kind == ast::Ref::BitName ? bitOf(v, *member, e.ref.bit) : v;
    }
    if (b.k == EV::ListRef || b.k == EV::Projection) {
        EV p = b;
        p.k = EV::Projection;
        p.steps.push_back(member);
        return p;
    }
    deadEnd(st);
    return intEV(B.getInt64(0));
}

EV Lowerer::evalParentAttr(FnState& st, const Expr& e) {
    Value* parentId = B.CreateLoad(i32, B.CreateStructGEP(ctxTy, st.ctx, abi::ctx::ParentId));
    Value* parentCtx = B.CreateLoad(ctxPtr, B.CreateStructGEP(ctxTy, st.ctx, abi::ctx::Parent));
    evalFailIf(st, B.CreateIsNull(parentCtx));
    llvm::AllocaInst* tmp = entryAlloca(st, valueTy, "parent.attr");
    BasicBlock* join = BasicBlock::Create(C, "parent.got", st.F);
    BasicBlock* none = BasicBlock::Create(C, "parent.none", st.F);
    llvm::SwitchInst* sw = B.CreateSwitch(parentId, none);
    // One case per protocol that may be below, in the checker's order.
    auto found = S->parentAttrs.find(&e);
    if (found != S->parentAttrs.end())
        for (const auto& [par, attr] : found->second) {
            Function* g = !attr->isEvent ? getterOf(par, attr) : nullptr;
            if (!g) continue;
            BasicBlock* bb = BasicBlock::Create(C, "parent." + par->name, st.F);
            sw->addCase(B.getInt32(uint32_t(*par->id)), bb);
            B.SetInsertPoint(bb);
            Value* ok = B.CreateCall(g, {parentCtx, tmp});
            B.CreateCondBr(B.CreateICmpEQ(ok, B.getInt32(0)), none, join);
        }
    B.SetInsertPoint(none);
    evalFail(st);
    B.SetInsertPoint(join);
    return fromValue(tmp, e.type);
}

EV Lowerer::evalIndex(FnState& st, const Expr& e) {
    EV b = eval(st, *e.operands[0]);
    const Expr& ie = *e.operands[1];
    if (b.k == EV::ListRef && ie.kind == Expr::Kind::Int && ie.intValue == 0)
        return firstElement(st, b);
    Value* i = evalInt(st, ie);
    if (b.k == EV::Bytes) {
        evalFailIf(st, B.CreateICmpUGE(i, b.len)); // negative indexes are huge unsigned values
        return intEV(B.CreateZExt(B.CreateLoad(i8, B.CreateInBoundsGEP(i8, b.v, i)), i64));
    }
    if (b.k == EV::ListRef || b.k == EV::Projection) return nthElement(st, b, i, false);
    if (b.k == EV::Ints) {
        evalFailIf(st, B.CreateICmpUGE(i, b.count));
        return intEV(intAt(b, i));
    }
    deadEnd(st);
    return intEV(B.getInt64(0));
}

/// Element 0 of a list, found without walking it: the list's start, once the list
/// is known not to be empty.
EV Lowerer::firstElement(FnState& st, const EV& seq) {
    const Field& f = *seq.list;
    Value* off = seq.off;
    switch (f.extent) {
    case ast::Extent::Count:
        evalFailIf(st, B.CreateICmpSLE(seq.count, B.getInt64(0)));
        break;
    case ast::Extent::UntilString: {
        evalFailIf(st, B.CreateICmpUGE(off, seq.region));
        uint64_t tlen = f.terminator.size();
        Value* room = B.CreateICmpULE(addOff(off, B.getInt64(int64_t(tlen))), seq.region);
        Value* atTerm = guardedTest(st, room, "first.term", [&] {
            return B.CreateICmpEQ(B.CreateCall(hMemcmp, {ptrAt(st, off), stringConst(f.terminator),
                                                         B.getInt64(int64_t(tlen))}),
                                  B.getInt32(0));
        });
        evalFailIf(st, atTerm);
        break;
    }
    default:
        evalFailIf(st, B.CreateICmpUGE(off, seq.region));
        break;
    }
    if (f.type.kind == ast::TypeSpec::Record) return elementAt(st, f, off, seq.region, seq.sized);
    unsigned bytes = scalarBytes(f);
    evalFailIf(st, B.CreateICmpUGT(addOff(off, B.getInt64(bytes)), seq.region));
    return elementAt(st, f, off, nullptr, seq.sized);
}

} // namespace mmtc::codegen::detail
