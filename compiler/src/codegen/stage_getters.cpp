// Getters: one function per request-based attribute, values into mmt_value, outlined `let`s.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

uint32_t Lowerer::abiType(const ast::Type& t) {
    switch (t.kind) {
    case ast::Type::Int:
        return MMT_T_UINT;
    case ast::Type::Bool:
        return MMT_T_BOOL;
    case ast::Type::Bytes:
        return MMT_T_BYTES;
    case ast::Type::String:
        return MMT_T_STRING;
    case ast::Type::Mac:
        return MMT_T_MAC;
    case ast::Type::Ipv4:
        return MMT_T_IPV4;
    case ast::Type::Ipv6:
        return MMT_T_IPV6;
    default:
        return MMT_T_NONE;
    }
}

/// Stores an evaluated value into an mmt_value of the attribute's type; integers are
/// masked to the declared width.
void Lowerer::fillValue(FnState& st, Value* out, const EV& v, const ast::Type& t) {
    Value* len = B.getInt32(0);
    Value* u = B.getInt64(0);
    Value* ptr = llvm::ConstantPointerNull::get(i8p);
    switch (v.k) {
    case EV::Int:
        u = v.v;
        if (t.kind == ast::Type::Int && t.width < 64)
            u = B.CreateAnd(u, B.getInt64((uint64_t(1) << t.width) - 1));
        break;
    case EV::Bool:
        u = B.CreateZExt(v.v, i64);
        break;
    case EV::Bytes:
        ptr = v.v;
        len = B.CreateTrunc(v.len, i32);
        break;
    case EV::Addr:
        ptr = v.v;
        len = B.getInt32(v.addrLen);
        break;
    default:
        deadEnd(st);
        break;
    }
    // `type` and `len` are the first two fields (abi::value::Type, Len), both 32-bit: one
    // 64-bit store.
    static_assert(abi::value::Type == 0 && abi::value::Len == 1);
    B.CreateStore(pairOf(B.getInt32(abiType(t)), len),
                  B.CreateBitCast(out, llvm::PointerType::getUnqual(i64)));
    B.CreateStore(u, B.CreateStructGEP(valueTy, out, abi::value::U));
    B.CreateStore(ptr, B.CreateStructGEP(valueTy, out, abi::value::Ptr));
}

/// Values computed with functions (strings, digests, decryptions, sorted lists' counts)
/// and used in getters get a function of their own, called once per getter that needs
/// them: an expression that names one several times (a fingerprint) does not repeat its
/// computation, nor its IR. The others are computed where they are used.
bool Lowerer::outlined(const ast::Let& l) {
    if (l.type.kind != ast::Type::Int && l.type.kind != ast::Type::Bool &&
        l.type.kind != ast::Type::Bytes && l.type.kind != ast::Type::String)
        return false;
    bool call = false, remaining = false;
    std::function<void(const Expr&)> visit = [&](const Expr& x) {
        if (x.kind == Expr::Kind::Call) call = true;
        // Where the field starts is only known while it is parsed.
        if ((x.kind == Expr::Kind::Name && x.ref.kind == ast::Ref::Builtin &&
             x.ref.builtin == "remaining") ||
            (x.kind == Expr::Kind::Call && x.builtin && x.builtin->id == ast::BuiltinId::RunOf))
            remaining = true;
        for (const auto& o : x.operands)
            if (o) visit(*o);
    };
    visit(*l.value);
    return call && !remaining;
}

/// The type a let's function returns its value as: integers unnarrowed, as computed.
ast::Type Lowerer::letValueType(const ast::Let& l) {
    return l.type.kind == ast::Type::Int ? ast::Type::integer(64) : l.type;
}

void Lowerer::defineLetFn(const ast::Protocol& p, const ast::Let& l, Function* fn) {
    FnState st = begin(fn, p, FailMode::Silent);
    st.memoLets = true;
    llvm::AllocaInst* slot = memoEnter(st, fn);
    walkProtocol(st, p, planFor(p, fieldsOf(p, {l.value.get()})));
    EV v = eval(st, *l.value);
    fillValue(st, fn->getArg(1), v, letValueType(l));
    memoSettle(st, slot, fn->getArg(1));
    B.CreateRet(B.getInt32(1));
    B.SetInsertPoint(st.failBB);
    memoSettle(st, slot, nullptr);
    B.CreateRet(B.getInt32(0));
}

namespace {
// A memo slot: the value (mmt_value), then whether it was computed (1) or failed (2).
constexpr int64_t kMemoSlotBytes = 32;
constexpr int64_t kMemoStateAt = 24;
static_assert(sizeof(mmt_value) == kMemoStateAt);
} // namespace

/// Which of a protocol's functions keep their values in the layer's memo, computed once a
/// packet whatever uses them: the getters of attributes that other attributes, lets or
/// updates use (QUIC's decrypted Initial and its CRYPTO data, under every fingerprint),
/// and the let functions. Slots in declaration order, so that every part that defines one
/// of these functions (a parent's getter) agrees.
void Lowerer::assignMemoSlots(const ast::Protocol& p, ProtoFns& f) {
    std::set<const ast::Attribute*> used;
    std::function<void(const Expr*)> visit = [&](const Expr* x) {
        if (!x) return;
        if (x->kind == Expr::Kind::Name && x->ref.kind == ast::Ref::Attribute)
            used.insert(x->ref.attribute);
        for (const auto& o : x->operands) visit(o.get());
    };
    for (const auto& a : p.attributes) {
        visit(a->value.get());
        visit(a->cond.get());
    }
    for (const auto& l : p.lets) visit(l->value.get());
    for (const auto& u : p.updates) {
        visit(u.value.get());
        visit(u.cond.get());
    }
    for (const auto& [attr, fn] : f.getters)
        if (used.count(attr)) f.memoSlot[fn] = f.memoSlots++;
    for (const auto& l : p.lets)
        if (auto it = f.letFns.find(l.get()); it != f.letFns.end())
            f.memoSlot[it->second] = f.memoSlots++;
}

/// The start of a memoized function: returns the value this packet already computed (or
/// its failure) from the layer's memo, else goes on to compute it. The slot to keep it
/// in (null at run time without a memo), or null when `fn` is not memoized.
llvm::AllocaInst* Lowerer::memoEnter(FnState& st, Function* fn) {
    const ProtoFns& f = fns[st.proto];
    auto it = f.memoSlot.find(fn);
    if (it == f.memoSlot.end()) return nullptr;
    llvm::AllocaInst* slot = entryAlloca(st, i8p, "memo.slot");
    B.CreateStore(llvm::ConstantPointerNull::get(i8p), slot);
    Value* memo = B.CreateCall(hMemo, {st.ctx, B.getInt64(int64_t(f.memoSlots) * kMemoSlotBytes)});
    BasicBlock* look = BasicBlock::Create(C, "memo.look", st.F);
    BasicBlock* hit = BasicBlock::Create(C, "memo.hit", st.F);
    BasicBlock* failed = BasicBlock::Create(C, "memo.failed", st.F);
    BasicBlock* compute = BasicBlock::Create(C, "memo.compute", st.F);
    B.CreateCondBr(B.CreateIsNull(memo), compute, look);
    B.SetInsertPoint(look);
    Value* at = B.CreateInBoundsGEP(i8, memo, B.getInt64(int64_t(it->second) * kMemoSlotBytes));
    B.CreateStore(at, slot);
    Value* state =
        B.CreateLoad(i32, B.CreateBitCast(B.CreateInBoundsGEP(i8, at, B.getInt64(kMemoStateAt)),
                                          llvm::PointerType::getUnqual(i32)));
    llvm::SwitchInst* sw = B.CreateSwitch(state, compute);
    sw->addCase(B.getInt32(1), hit);
    sw->addCase(B.getInt32(2), failed);
    B.SetInsertPoint(hit);
    B.CreateMemCpy(B.CreateBitCast(st.F->getArg(1), i8p), llvm::MaybeAlign(8), at,
                   llvm::MaybeAlign(8), kMemoStateAt);
    B.CreateRet(B.getInt32(1));
    B.SetInsertPoint(failed);
    B.CreateRet(B.getInt32(0));
    B.SetInsertPoint(compute);
    return slot;
}

/// Settles the slot memoEnter gave, if any: the value at `out` kept (state 1), or, without
/// `out`, its failure noted (state 2).
void Lowerer::memoSettle(FnState& st, llvm::AllocaInst* slot, Value* out) {
    if (!slot) return;
    Value* at = B.CreateLoad(i8p, slot);
    BasicBlock* settle = BasicBlock::Create(C, "memo.settle", st.F);
    BasicBlock* done = BasicBlock::Create(C, "memo.settled", st.F);
    B.CreateCondBr(B.CreateIsNull(at), done, settle);
    B.SetInsertPoint(settle);
    if (out)
        B.CreateMemCpy(at, llvm::MaybeAlign(8), B.CreateBitCast(out, i8p), llvm::MaybeAlign(8),
                       kMemoStateAt);
    B.CreateStore(B.getInt32(out ? 1 : 2), memoStatePtr(at));
    B.CreateBr(done);
    B.SetInsertPoint(done);
}

/// The state word of the slot at `at`.
Value* Lowerer::memoStatePtr(Value* at) {
    return B.CreateBitCast(B.CreateInBoundsGEP(i8, at, B.getInt64(kMemoStateAt)),
                           llvm::PointerType::getUnqual(i32));
}

/// The layer's memo is forgotten (the state it was computed from has changed).
void Lowerer::memoForget(FnState& st) {
    if (!fns[st.proto].memoSlots) return;
    B.CreateStore(llvm::ConstantPointerNull::get(i8p),
                  B.CreateStructGEP(ctxTy, st.ctx, abi::ctx::Memo));
}

/// A let's value through its function, called at the first use that runs.
EV Lowerer::memoLet(FnState& st, const ast::Let& l) {
    Function* fn = fns[st.proto].letFns[&l];
    if (!fn) return eval(st, *l.value);
    auto it = st.letMemo.find(&l);
    if (it == st.letMemo.end()) {
        FnState::LetMemo m{entryAlloca(st, i1, "let.done"), entryAlloca(st, i32, "let.ok"),
                           entryAlloca(st, valueTy, "let.value")};
        llvm::IRBuilder<> eb(st.F->getEntryBlock().getTerminator());
        eb.CreateStore(llvm::ConstantInt::getFalse(C), m.done);
        it = st.letMemo.emplace(&l, m).first;
    }
    const FnState::LetMemo& m = it->second;
    BasicBlock* call = BasicBlock::Create(C, "let.call", st.F);
    BasicBlock* got = BasicBlock::Create(C, "let.got", st.F);
    B.CreateCondBr(B.CreateLoad(i1, m.done), got, call);
    B.SetInsertPoint(call);
    B.CreateStore(B.CreateCall(fn, {st.ctx, m.value}), m.ok);
    B.CreateStore(llvm::ConstantInt::getTrue(C), m.done);
    B.CreateBr(got);
    B.SetInsertPoint(got);
    evalFailIf(st, B.CreateICmpEQ(B.CreateLoad(i32, m.ok), B.getInt32(0)));
    return fromValue(m.value, letValueType(l));
}

/// Lets whose value is a record (`first(handshakes.client_hello)`, found by walking a list)
/// or a list of integers computed into scratch memory (`no_grease(...)`, `sort(...)`):
/// outlined() cannot return them as an mmt_value, and a getter that names one several
/// times (JA4 names the ciphers and the extensions twice, the ClientHello a dozen times)
/// would find or collect it again each time.
bool Lowerer::keptInFunction(const ast::Let& l) {
    if (l.type.kind == ast::Type::Record) return true;
    if (l.type.kind != ast::Type::List || l.value->kind != Expr::Kind::Call || !l.value->builtin)
        return false;
    using I = ast::BuiltinId;
    const I id = l.value->builtin->id;
    return id == I::Sort || id == I::NoGrease || id == I::Without;
}

/// A let of keptInFunction: its value, computed at the first use that runs in this function
/// and kept for the others (its parts in allocas; the list's integers stay in scratch
/// memory until the packet ends). A failure is not kept: the next use tries again.
EV Lowerer::keptLet(FnState& st, const ast::Let& l) {
    auto [it, fresh] = st.keptLets.try_emplace(&l);
    FnState::KeptLet& k = it->second;
    if (fresh) {
        k.done = entryAlloca(st, i1, "kept.done");
        k.first = entryAlloca(st, i64, "kept.first");
        k.second = entryAlloca(st, i64, "kept.second");
        llvm::IRBuilder<> eb(st.F->getEntryBlock().getTerminator());
        eb.CreateStore(llvm::ConstantInt::getFalse(C), k.done);
    } else if (k.shape.k != EV::RecordRef && k.shape.k != EV::Ints) {
        return eval(st, *l.value);
    }
    BasicBlock* compute = BasicBlock::Create(C, "kept.compute", st.F);
    BasicBlock* got = BasicBlock::Create(C, "kept.got", st.F);
    B.CreateCondBr(B.CreateLoad(i1, k.done), got, compute);
    B.SetInsertPoint(compute);
    EV v = eval(st, *l.value);
    if (fresh) k.shape = v;
    if (v.k == EV::RecordRef) {
        B.CreateStore(v.off, k.first);
        B.CreateStore(v.region, k.second);
    } else if (v.k == EV::Ints) {
        B.CreateStore(B.CreatePtrToInt(v.v, i64), k.first);
        B.CreateStore(v.count, k.second);
    } else {
        // Another kind (none the checker lets through today): computed at each use; `got`
        // is never reached, since nothing sets `done`.
        BasicBlock* after = BasicBlock::Create(C, "kept.not", st.F);
        B.CreateBr(after);
        B.SetInsertPoint(got);
        B.CreateUnreachable();
        B.SetInsertPoint(after);
        return v;
    }
    B.CreateStore(llvm::ConstantInt::getTrue(C), k.done);
    B.CreateBr(got);
    B.SetInsertPoint(got);
    EV r;
    r.k = k.shape.k;
    r.rec = k.shape.rec;
    r.sized = k.shape.sized;
    r.intWidth = k.shape.intWidth;
    if (r.k == EV::RecordRef) {
        r.off = B.CreateLoad(i64, k.first);
        r.region = B.CreateLoad(i64, k.second);
    } else {
        r.v = B.CreateIntToPtr(B.CreateLoad(i64, k.first), i8p);
        r.count = B.CreateLoad(i64, k.second);
    }
    return r;
}

void Lowerer::defineGetter(const ast::Protocol& p, const ast::Attribute& a, Function* fn) {
    FnState st = begin(fn, p, FailMode::Silent);
    st.memoLets = true;
    llvm::AllocaInst* slot = memoEnter(st, fn);
    walkProtocol(st, p, planFor(p, fieldsOf(p, {a.value.get(), a.cond.get()})));
    if (a.cond) continueIf(st, evalBool(st, *a.cond), "present");
    EV v = eval(st, *a.value);
    fillValue(st, fn->getArg(1), v, a.type);
    memoSettle(st, slot, fn->getArg(1));
    B.CreateRet(B.getInt32(1));
    B.SetInsertPoint(st.failBB);
    memoSettle(st, slot, nullptr);
    B.CreateRet(B.getInt32(0));
}

} // namespace mmtc::codegen::detail
