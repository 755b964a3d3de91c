// Per-session state: its layout, init_state and update.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

Value* Lowerer::stateBase(FnState& st) {
    return B.CreateLoad(i8p, B.CreateStructGEP(ctxTy, st.ctx, abi::ctx::State));
}

Value* Lowerer::statePtr(FnState& st, Value* base, const ast::StateVar* v) {
    return B.CreateInBoundsGEP(i8, base, B.getInt64(fns[st.proto].stateOffset[v]));
}

void Lowerer::storeState(FnState& st, Value* ptr, const EV& v, const ast::StateVar& var) {
    const ast::Type& t = var.type;
    Value* p64 = B.CreateBitCast(ptr, llvm::PointerType::getUnqual(i64));
    switch (v.k) {
    case EV::Int: {
        Value* x = v.v;
        if (t.isInt() && t.width < 64) x = B.CreateAnd(x, B.getInt64((uint64_t(1) << t.width) - 1));
        B.CreateAlignedStore(x, p64, llvm::MaybeAlign(1));
        break;
    }
    case EV::Bool:
        B.CreateAlignedStore(B.CreateZExt(v.v, i64), p64, llvm::MaybeAlign(1));
        break;
    case EV::Addr:
        B.CreateMemCpy(ptr, llvm::MaybeAlign(1), v.v, llvm::MaybeAlign(1), v.addrLen);
        break;
    case EV::Bytes:
        // Longer than the variable's bound: the value stays as it was.
        B.CreateCall(hStateBytesSet, {ptr, v.v, v.len, B.getInt64(int64_t(var.max.value_or(0)))});
        break;
    default:
        break;
    }
}

void Lowerer::defineUpdate(const ast::Protocol& p, ProtoFns& f) {
    FnState st = begin(f.update, p, FailMode::Silent);
    Value* state = stateBase(st);
    BasicBlock* has = BasicBlock::Create(C, "has.state", st.F);
    B.CreateCondBr(B.CreateIsNull(state), st.failBB, has);
    B.SetInsertPoint(has);
    std::vector<FieldSet> needs;
    for (const auto& u : p.updates) needs.push_back(fieldsOf(p, {u.value.get(), u.cond.get()}));
    // Updates run in order; each sees the state the previous ones left.
    walkForRules(st, p, needs, [&](size_t i) {
        const ast::Update& u = p.updates[i];
        if (!u.target) return;
        if (u.cond) continueIf(st, evalBool(st, *u.cond), "update.do");
        EV v = eval(st, *u.value);
        if (u.target->type.kind == ast::Type::Bytes) v = asBytes(st, v);
        storeState(st, statePtr(st, state, u.target), v, *u.target);
        memoForget(st); // what was computed from the state before
    });
    B.CreateRetVoid();
    B.SetInsertPoint(st.failBB);
    B.CreateRetVoid();
}

void Lowerer::defineInit(const ast::Protocol& p, ProtoFns& f) {
    Function* F = f.init;
    B.SetInsertPoint(BasicBlock::Create(C, "entry", F));
    Value* base = F->getArg(0);
    for (const auto& v : p.state) {
        Value* ptr = B.CreateInBoundsGEP(i8, base, B.getInt64(f.stateOffset[v.get()]));
        uint64_t init = 0;
        if (v->init)
            init = v->init->kind == Expr::Kind::Bool ? (v->init->boolValue ? 1 : 0)
                                                     : v->init->intValue;
        if (v->type.isInt() && v->type.width < 64) init &= (uint64_t(1) << v->type.width) - 1;
        if (v->type.kind == ast::Type::Ipv6 || v->type.kind == ast::Type::Ipv4 ||
            v->type.kind == ast::Type::Mac)
            B.CreateMemSet(ptr, B.getInt8(0), stateBytes(v->type), llvm::MaybeAlign(1));
        else
            B.CreateAlignedStore(B.getInt64(init),
                                 B.CreateBitCast(ptr, llvm::PointerType::getUnqual(i64)),
                                 llvm::MaybeAlign(1));
    }
    B.CreateRetVoid();
}

void Lowerer::defineRelease(const ast::Protocol& p, ProtoFns& f) {
    Function* F = f.release;
    B.SetInsertPoint(BasicBlock::Create(C, "entry", F));
    Value* base = F->getArg(0);
    for (const auto& v : p.state)
        if (v->type.kind == ast::Type::Bytes)
            B.CreateCall(hStateBytesFree,
                         {B.CreateInBoundsGEP(i8, base, B.getInt64(f.stateOffset[v.get()]))});
    B.CreateRetVoid();
}

} // namespace mmtc::codegen::detail
