// Sessions: the key function (shared and per-side parts) and sides.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

/// Appends a key part to one side of the key (0 shared, 1 a, 2 b), big-endian.
void Lowerer::appendKey(FnState& st, Value* key, unsigned side, const EV& v, const ast::Type& t) {
    Value* lenPtr = B.CreateStructGEP(keyTy, key, abi::key::SharedLen + side);
    Value* cur = B.CreateZExt(B.CreateLoad(i16, lenPtr), i64);
    unsigned n = 0;
    Value* src = nullptr;
    switch (v.k) {
    case EV::Int: {
        n = t.isInt() ? (t.width + 7) / 8 : 8;
        llvm::AllocaInst* tmp = entryAlloca(st, i64, "keypart");
        B.CreateStore(
            B.CreateCall(llvm::Intrinsic::getDeclaration(&M, llvm::Intrinsic::bswap, {i64}), {v.v}),
            tmp);
        src = B.CreateInBoundsGEP(i8, B.CreateBitCast(tmp, i8p), B.getInt64(8 - n));
        break;
    }
    case EV::Bool: {
        n = 1;
        llvm::AllocaInst* tmp = entryAlloca(st, i8, "keypart");
        B.CreateStore(B.CreateZExt(v.v, i8), tmp);
        src = tmp;
        break;
    }
    case EV::Addr:
        n = v.addrLen;
        src = v.v;
        break;
    default:
        deadEnd(st);
        return;
    }
    Value* fits = B.CreateICmpULE(B.CreateAdd(cur, B.getInt64(n)), B.getInt64(MMT_KEY_SIDE_MAX));
    BasicBlock* ok = BasicBlock::Create(C, "key.fits", st.F);
    BasicBlock* over = BasicBlock::Create(C, "key.overflow", st.F);
    BasicBlock* done = BasicBlock::Create(C, "key.part", st.F);
    B.CreateCondBr(fits, ok, over);
    B.SetInsertPoint(over);
    B.CreateStore(B.getInt16(1), B.CreateStructGEP(keyTy, key, abi::key::Overflow));
    B.CreateBr(done);
    B.SetInsertPoint(ok);
    Value* dst = B.CreateInBoundsGEP(
        i8, B.CreateBitCast(B.CreateStructGEP(keyTy, key, abi::key::Shared + side), i8p), cur);
    B.CreateMemCpy(dst, llvm::MaybeAlign(1), src, llvm::MaybeAlign(1), n);
    B.CreateStore(B.CreateTrunc(B.CreateAdd(cur, B.getInt64(n)), i16), lenPtr);
    B.CreateBr(done);
    B.SetInsertPoint(done);
}

void Lowerer::defineKey(const ast::Protocol& p, ProtoFns& f) {
    FnState st = begin(f.key, p, FailMode::Silent);
    Value* key = f.key->getArg(1);
    const ast::KeyParts* k = keyOf(p);
    FieldSet need;
    if (k) {
        for (const auto& e : k->a)
            for (auto* x : fieldsOf(p, {e.get()})) need.insert(x);
        for (const auto& e : k->b)
            for (auto* x : fieldsOf(p, {e.get()})) need.insert(x);
    }
    walkProtocol(st, p, planFor(p, need));
    // Every part is evaluated before anything is appended: a key that cannot be read
    // leaves the key untouched.
    std::vector<std::pair<EV, const ast::Type*>> a, b;
    if (k) {
        for (const auto& e : k->a) a.push_back({eval(st, *e), &e->type});
        for (const auto& e : k->b) b.push_back({eval(st, *e), &e->type});
    }
    // The protocol id first: an IPv4 flow and an IPv6 flow never share a key.
    appendKey(st, key, 0, intEV(B.getInt64(*p.id)), ast::Type::integer(16));
    for (auto& [v, t] : a) appendKey(st, key, k->bidirectional ? 1 : 0, v, *t);
    for (auto& [v, t] : b) appendKey(st, key, 2, v, *t);
    B.CreateRet(B.getInt32(1));
    B.SetInsertPoint(st.failBB);
    B.CreateRet(B.getInt32(0));
}

void Lowerer::defineSides(const ast::Protocol& p, ProtoFns& f) {
    FnState st = begin(f.sides, p, FailMode::Silent);
    const ast::KeyParts* k = keyOf(p);
    walkProtocol(st, p, planFor(p, fieldsOf(p, {k->a[0].get(), k->b[0].get()})));
    EV a = eval(st, *k->a[0]);
    EV b = eval(st, *k->b[0]);
    fillValue(st, f.sides->getArg(1), a, k->a[0]->type);
    fillValue(st, f.sides->getArg(2), b, k->b[0]->type);
    B.CreateRet(B.getInt32(1));
    B.SetInsertPoint(st.failBB);
    B.CreateRet(B.getInt32(0));
}

} // namespace mmtc::codegen::detail
