// Expressions, part two: keeping elements, searches, offsets, nth element, conditions and
// operators.
#include "codegen/guarded_test.h"
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

Lowerer::ElemStore Lowerer::elemStore(FnState& st) {
    ElemStore s{entryAlloca(st, i1, "el.found"),   entryAlloca(st, i64, "el.off"),
                entryAlloca(st, i64, "el.region"), entryAlloca(st, i64, "el.val"),
                entryAlloca(st, i8p, "el.ptr"),    entryAlloca(st, i64, "el.len")};
    B.CreateStore(llvm::ConstantInt::getFalse(C), s.found);
    return s;
}

void Lowerer::keepElement(ElemStore& s, const EV& elem) {
    B.CreateStore(llvm::ConstantInt::getTrue(C), s.found);
    switch (elem.k) {
    case EV::RecordRef:
        s.sized = elem.sized;
        B.CreateStore(elem.off, s.off);
        B.CreateStore(elem.region, s.region);
        break;
    case EV::Int:
        B.CreateStore(elem.v, s.val);
        break;
    case EV::Bool:
        B.CreateStore(B.CreateZExt(elem.v, i64), s.val);
        break;
    case EV::Bytes:
        B.CreateStore(elem.v, s.ptr);
        B.CreateStore(elem.len, s.len);
        break;
    case EV::Addr:
        B.CreateStore(elem.v, s.ptr);
        break;
    default:
        break;
    }
}

EV Lowerer::keptElement(const ElemStore& s, const ast::Type& et) {
    EV r;
    switch (et.kind) {
    case ast::Type::Record:
        r.k = EV::RecordRef;
        r.rec = et.record;
        r.off = B.CreateLoad(i64, s.off);
        r.region = B.CreateLoad(i64, s.region);
        r.sized = s.sized;
        return r;
    case ast::Type::Int:
        return intEV(B.CreateLoad(i64, s.val));
    case ast::Type::Bool:
        return boolEV(B.CreateICmpNE(B.CreateLoad(i64, s.val), B.getInt64(0)));
    case ast::Type::Bytes:
    case ast::Type::String:
        return bytesEV(B.CreateLoad(i8p, s.ptr), B.CreateLoad(i64, s.len));
    default:
        return addrEV(B.CreateLoad(i8p, s.ptr), et.kind == ast::Type::Mac    ? 6
                                                : et.kind == ast::Type::Ipv4 ? 4
                                                                             : 16);
    }
}

/// Runs `fn` with the fields of a record element in scope: those the loop parsed, or,
/// for the last step of a projection, the record walked now. A record that cannot be
/// walked fails (to the current failure block).
void Lowerer::inElementScope(FnState& st, const EV& elem, Scope* elemScope,
                             const std::function<void()>& fn) {
    if (elemScope) {
        st.scopes.push_back(elemScope);
        fn();
        st.scopes.pop_back();
        return;
    }
    if (elem.k != EV::RecordRef) {
        fn();
        return;
    }
    Scope& sc = pushScope(st);
    walkItems(st, elem.rec->items, SIZE_MAX, elem.off, Region{elem.region, elem.sized}, sc);
    fn();
    st.scopes.pop_back();
}

/// `find(seq, cond)`: the first element for which `cond` holds (no value when none
/// does); `any(seq, cond)`: whether one does. A condition that cannot be evaluated is
/// false; the search stops where the sequence cannot be walked further.
EV Lowerer::search(FnState& st, const EV& seq, const Expr& cond, bool any) {
    ElemStore kept = elemStore(st);
    BasicBlock* done = BasicBlock::Create(C, "find.done", st.F);
    {
        Redirect r(st, done);
        forEachElement(st, seq, [&](EV elem, Scope* elemScope, BasicBlock* cont) {
            BasicBlock* take = BasicBlock::Create(C, "find.take", st.F);
            {
                Redirect skip(st, cont);
                inElementScope(st, elem, elemScope,
                               [&] { B.CreateCondBr(evalBool(st, cond), take, cont); });
            }
            B.SetInsertPoint(take);
            keepElement(kept, elem);
            B.CreateBr(done);
        });
        B.CreateBr(done);
    }
    B.SetInsertPoint(done);
    Value* found = B.CreateLoad(i1, kept.found);
    if (any) return boolEV(found);
    evalFailIf(st, B.CreateNot(found));
    return keptElement(kept, elementTypeOf(seq));
}

size_t Lowerer::memberLimit(const ast::Record& rec, const Field* member) {
    size_t limit = 0;
    for (size_t i = 0; i < rec.items.size(); ++i) {
        const auto& it = rec.items[i];
        if ((it.kind == ast::FieldItem::Kind::Field && it.field.get() == member) ||
            (it.kind == ast::FieldItem::Kind::Switch && containsSwitch(*it.sw, member)))
            limit = i + 1;
    }
    return limit;
}

/// `offset(field)`: where a field's bytes start, from the protocol's first byte.
/// `size_of(field)` (`size`): how many bytes a variable-length integer took.
EV Lowerer::fieldOffset(FnState& st, const Expr& a, bool size) {
    if (a.kind == Expr::Kind::Name && a.ref.kind == ast::Ref::Field) {
        const Slot* s = findSlot(st, a.ref.field);
        if (!s)
            throw std::logic_error("codegen: field '" + a.ref.field->name +
                                   "' used before it was walked");
        if (s->mem) evalFailIf(st, B.CreateNot(B.CreateLoad(i1, s->present)));
        Value* off = slotGet(*s, &Slot::off);
        if (size) return intEV(B.CreateSub(slotGet(*s, &Slot::end), off));
        return intEV(off);
    }
    if (a.kind == Expr::Kind::Member && a.ref.kind == ast::Ref::Field) {
        EV b = eval(st, *a.operands[0]);
        if (b.k == EV::RecordRef) {
            const Field* member = a.ref.field;
            Scope& scope = pushScope(st);
            walkItems(st, b.rec->items, memberLimit(*b.rec, member), b.off,
                      Region{b.region, b.sized}, scope, member);
            auto s = scope.find(member);
            EV v = intEV(B.getInt64(0));
            if (s == scope.end()) {
                deadEnd(st);
            } else {
                if (s->second.mem) evalFailIf(st, B.CreateNot(B.CreateLoad(i1, s->second.present)));
                v = intEV(slotGet(s->second, &Slot::off));
                if (size) v = intEV(B.CreateSub(slotGet(s->second, &Slot::end), v.v));
            }
            st.scopes.pop_back();
            return v;
        }
    }
    deadEnd(st);
    return intEV(B.getInt64(0));
}

/// Element `i` (or the last one) of a sequence, as a value that outlives the loop.
EV Lowerer::nthElement(FnState& st, const EV& seq, Value* i, bool lastOne) {
    ast::Type et = elementTypeOf(seq);
    llvm::AllocaInst* idx = entryAlloca(st, i64, "nth.idx");
    llvm::AllocaInst* found = entryAlloca(st, i1, "nth.found");
    llvm::AllocaInst* vOff = entryAlloca(st, i64, "nth.off");
    llvm::AllocaInst* vRegion = entryAlloca(st, i64, "nth.region");
    llvm::AllocaInst* vVal = entryAlloca(st, i64, "nth.val");
    llvm::AllocaInst* vPtr = entryAlloca(st, i8p, "nth.ptr");
    llvm::AllocaInst* vLen = entryAlloca(st, i64, "nth.len");
    B.CreateStore(B.getInt64(0), idx);
    B.CreateStore(llvm::ConstantInt::getFalse(C), found);
    BasicBlock* done = BasicBlock::Create(C, "nth.done", st.F);
    bool sized = false;
    // Element i: a malformed element after it does not matter. The last element: a
    // list that cannot be walked to its end has none.
    BasicBlock* failTo = lastOne ? BasicBlock::Create(C, "nth.broken", st.F) : done;
    {
        Redirect r(st, failTo);
        forEachElement(st, seq, [&](EV elem, Scope*, BasicBlock* cont) {
            Value* k = B.CreateLoad(i64, idx);
            B.CreateStore(B.CreateAdd(k, B.getInt64(1)), idx);
            BasicBlock* take = BasicBlock::Create(C, "nth.take", st.F);
            Value* hit =
                lastOne ? static_cast<Value*>(llvm::ConstantInt::getTrue(C)) : B.CreateICmpEQ(k, i);
            B.CreateCondBr(hit, take, cont);
            B.SetInsertPoint(take);
            B.CreateStore(llvm::ConstantInt::getTrue(C), found);
            switch (elem.k) {
            case EV::RecordRef:
                sized = elem.sized;
                B.CreateStore(elem.off, vOff);
                B.CreateStore(elem.region, vRegion);
                break;
            case EV::Int:
                B.CreateStore(elem.v, vVal);
                break;
            case EV::Bool:
                B.CreateStore(B.CreateZExt(elem.v, i64), vVal);
                break;
            case EV::Bytes:
                B.CreateStore(elem.v, vPtr);
                B.CreateStore(elem.len, vLen);
                break;
            case EV::Addr:
                B.CreateStore(elem.v, vPtr);
                break;
            default:
                break;
            }
            B.CreateBr(lastOne ? cont : done);
        });
        B.CreateBr(done);
    }
    if (lastOne) {
        B.SetInsertPoint(failTo);
        B.CreateStore(llvm::ConstantInt::getFalse(C), found);
        B.CreateBr(done);
    }
    B.SetInsertPoint(done);
    evalFailIf(st, B.CreateNot(B.CreateLoad(i1, found)));
    EV r;
    switch (et.kind) {
    case ast::Type::Record:
        r.k = EV::RecordRef;
        r.rec = et.record;
        r.off = B.CreateLoad(i64, vOff);
        r.region = B.CreateLoad(i64, vRegion);
        r.sized = sized;
        return r;
    case ast::Type::Int:
        return intEV(B.CreateLoad(i64, vVal));
    case ast::Type::Bool:
        return boolEV(B.CreateICmpNE(B.CreateLoad(i64, vVal), B.getInt64(0)));
    case ast::Type::Bytes:
    case ast::Type::String:
        return bytesEV(B.CreateLoad(i8p, vPtr), B.CreateLoad(i64, vLen));
    default:
        return addrEV(B.CreateLoad(i8p, vPtr), et.kind == ast::Type::Mac    ? 6
                                               : et.kind == ast::Type::Ipv4 ? 4
                                                                            : 16);
    }
}

/// The element type of a list or projection value.
ast::Type Lowerer::elementTypeOf(const EV& seq) {
    if (seq.k == EV::Ints) return ast::Type::integer(seq.intWidth);
    const Field* f = seq.steps.empty() ? seq.list : seq.steps.back();
    switch (f->type.kind) {
    case ast::TypeSpec::Int:
    case ast::TypeSpec::Varint:
        return ast::Type::integer(f->type.width);
    case ast::TypeSpec::Mac:
    case ast::TypeSpec::Ipv4:
    case ast::TypeSpec::Ipv6:
        return addrType(f->type.kind);
    case ast::TypeSpec::Bytes:
        return ast::Type::of(ast::Type::Bytes);
    case ast::TypeSpec::Record: {
        ast::Type t = ast::Type::of(ast::Type::Record);
        t.record = f->type.record;
        return t;
    }
    default:
        return ast::Type{};
    }
}

EV Lowerer::evalCond(FnState& st, const Expr& e) {
    Value* c = evalBool(st, *e.operands[0]);
    BasicBlock* tBB = BasicBlock::Create(C, "cond.t", st.F);
    BasicBlock* fBB = BasicBlock::Create(C, "cond.f", st.F);
    BasicBlock* join = BasicBlock::Create(C, "cond.join", st.F);
    B.CreateCondBr(c, tBB, fBB);
    B.SetInsertPoint(tBB);
    EV a = eval(st, *e.operands[1]);
    BasicBlock* aEnd = B.GetInsertBlock();
    B.SetInsertPoint(fBB);
    EV b = eval(st, *e.operands[2]);
    BasicBlock* bEnd = B.GetInsertBlock();
    auto meet = [&](llvm::Type* ty, Value* x, Value* y) {
        llvm::PHINode* phi = B.CreatePHI(ty, 2);
        phi->addIncoming(x, aEnd);
        phi->addIncoming(y, bEnd);
        return phi;
    };
    auto branchBoth = [&](Value*& x, Value*& y, const std::function<Value*(const EV&)>& conv) {
        B.SetInsertPoint(aEnd);
        x = conv(a);
        B.CreateBr(join);
        B.SetInsertPoint(bEnd);
        y = conv(b);
        B.CreateBr(join);
        B.SetInsertPoint(join);
    };
    Value *x = nullptr, *y = nullptr;
    if (a.k == EV::Bool && b.k == EV::Bool) {
        branchBoth(x, y, [](const EV& v) { return v.v; });
        return boolEV(meet(i1, x, y));
    }
    if (a.k == EV::Bytes && b.k == EV::Bytes) {
        branchBoth(x, y, [](const EV& v) { return v.v; });
        llvm::PHINode* p = meet(i8p, x, y);
        return bytesEV(p, meet(i64, a.len, b.len));
    }
    if (a.k == EV::Addr && b.k == EV::Addr) {
        branchBoth(x, y, [](const EV& v) { return v.v; });
        return addrEV(meet(i8p, x, y), a.addrLen);
    }
    // Integers of either branch meet as i64.
    branchBoth(x, y, [&](const EV& v) { return asInt(v); });
    return intEV(meet(i64, x, y));
}

Value* Lowerer::guardedTest(FnState& st, Value* guard, const char* name,
                            const std::function<Value*()>& test) {
    return ir::guardedTest(B, st.F, guard, name, std::string(name) + ".join", test);
}

Value* Lowerer::bytesEqual(FnState& st, const EV& a, const EV& b) {
    return guardedTest(st, B.CreateICmpEQ(a.len, b.len), "eq.cmp", [&] {
        return B.CreateICmpEQ(B.CreateCall(hMemcmp, {a.v, b.v, a.len}), B.getInt32(0));
    });
}

EV Lowerer::evalBinary(FnState& st, const Expr& e) {
    const std::string& op = e.text;
    if (op == "and" || op == "or") {
        Value* a = evalBool(st, *e.operands[0]);
        BasicBlock* from = B.GetInsertBlock();
        BasicBlock* rhs = BasicBlock::Create(C, op + ".rhs", st.F);
        BasicBlock* join = BasicBlock::Create(C, op + ".join", st.F);
        if (op == "and")
            B.CreateCondBr(a, rhs, join);
        else
            B.CreateCondBr(a, join, rhs);
        B.SetInsertPoint(rhs);
        Value* b = evalBool(st, *e.operands[1]);
        BasicBlock* rhsEnd = B.GetInsertBlock();
        B.CreateBr(join);
        B.SetInsertPoint(join);
        llvm::PHINode* phi = B.CreatePHI(i1, 2);
        phi->addIncoming(
            op == "and" ? llvm::ConstantInt::getFalse(C) : llvm::ConstantInt::getTrue(C), from);
        phi->addIncoming(b, rhsEnd);
        return boolEV(phi);
    }
    EV a = eval(st, *e.operands[0]);
    EV b = eval(st, *e.operands[1]);
    if (op == "==" || op == "!=") {
        Value* eq;
        if (a.k == EV::Bytes && b.k == EV::Bytes)
            eq = bytesEqual(st, a, b);
        else if (a.k == EV::Addr && b.k == EV::Addr)
            eq = B.CreateICmpEQ(B.CreateCall(hMemcmp, {a.v, b.v, B.getInt64(a.addrLen)}),
                                B.getInt32(0));
        else if (a.k == EV::Bool && b.k == EV::Bool)
            eq = B.CreateICmpEQ(a.v, b.v);
        else
            eq = B.CreateICmpEQ(asInt(a), asInt(b));
        return boolEV(op == "==" ? eq : B.CreateNot(eq));
    }
    Value* x = asInt(a);
    Value* y = asInt(b);
    // Integers are signed 64-bit; + - * wrap.
    if (op == "<") return boolEV(B.CreateICmpSLT(x, y));
    if (op == "<=") return boolEV(B.CreateICmpSLE(x, y));
    if (op == ">") return boolEV(B.CreateICmpSGT(x, y));
    if (op == ">=") return boolEV(B.CreateICmpSGE(x, y));
    if (op == "+") return intEV(B.CreateAdd(x, y));
    if (op == "-") return intEV(B.CreateSub(x, y));
    if (op == "*") return intEV(B.CreateMul(x, y));
    if (op == "&") return intEV(B.CreateAnd(x, y));
    if (op == "|") return intEV(B.CreateOr(x, y));
    if (op == "^") return intEV(B.CreateXor(x, y));
    if (op == "/" || op == "%") {
        // Division by zero and INT64_MIN / -1 are failures, never undefined behaviour.
        Value* bad = B.CreateOr(B.CreateICmpEQ(y, B.getInt64(0)),
                                B.CreateAnd(B.CreateICmpEQ(x, B.getInt64(INT64_MIN)),
                                            B.CreateICmpEQ(y, B.getInt64(-1))));
        evalFailIf(st, bad);
        return intEV(op == "/" ? B.CreateSDiv(x, y) : B.CreateSRem(x, y));
    }
    if (op == "<<" || op == ">>") {
        // Shifts by 64 or more (or by a negative amount) give 0, like a wide register.
        Value* inRange = B.CreateICmpULT(y, B.getInt64(64));
        Value* safeY = B.CreateSelect(inRange, y, B.getInt64(0));
        Value* r = op == "<<" ? B.CreateShl(x, safeY) : B.CreateLShr(x, safeY);
        return intEV(B.CreateSelect(inRange, r, B.getInt64(0)));
    }
    deadEnd(st);
    return intEV(B.getInt64(0));
}

Value* Lowerer::asInt(const EV& v) {
    if (v.k == EV::Int) return v.v;
    if (v.k == EV::Bool) return B.CreateZExt(v.v, i64);
    return B.getInt64(0);
}

EV Lowerer::asBytes(FnState& st, const EV& v) {
    if (v.k == EV::Bytes) return v;
    deadEnd(st);
    return bytesEV(llvm::ConstantPointerNull::get(i8p), B.getInt64(0));
}

/// `lit` at the start (or end) of `b`, case-sensitive or not.
Value* Lowerer::hasAt(FnState& st, const EV& b, const std::string& lit, bool atEnd, bool icase) {
    Value* n = B.getInt64(int64_t(lit.size()));
    return guardedTest(st, B.CreateICmpUGE(b.len, n), "lit.cmp", [&]() -> Value* {
        Value* p = atEnd ? B.CreateInBoundsGEP(i8, b.v, B.CreateSub(b.len, n)) : b.v;
        return icase
                   ? B.CreateICmpNE(B.CreateCall(hIcase, {p, stringConst(lit), n}), B.getInt32(0))
                   : B.CreateICmpEQ(B.CreateCall(hMemcmp, {p, stringConst(lit), n}), B.getInt32(0));
    });
}

} // namespace mmtc::codegen::detail
