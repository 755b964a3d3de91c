// Function scaffolding: entry blocks, failure reporting, bounds-checked reads of integers and
// variable-length integers.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

/// Starts a function body. `failBB` receives failures; in Result mode it returns the
/// status the failing site stored.
FnState Lowerer::begin(Function* F, const ast::Protocol& p, FailMode mode) {
    FnState st;
    st.F = F;
    st.proto = &p;
    st.mode = mode;
    // `entry` holds the allocas; code starts in `body`.
    BasicBlock* entry = BasicBlock::Create(C, "entry", F);
    st.bodyBB = BasicBlock::Create(C, "body", F);
    B.SetInsertPoint(entry);
    st.ctx = F->getArg(0);
    st.data = B.CreateLoad(i8p, B.CreateStructGEP(ctxTy, st.ctx, abi::ctx::Data), "data");
    st.len = B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(ctxTy, st.ctx, abi::ctx::Len)), i64,
                          "len");
    B.CreateBr(st.bodyBB);
    st.failBB = BasicBlock::Create(C, "fail", F);
    if (mode == FailMode::Status) st.failTrunc = BasicBlock::Create(C, "fail.short", F);
    if (mode == FailMode::Result) {
        st.res = F->getArg(1);
        B.SetInsertPoint(st.failBB);
        B.CreateRet(B.CreateLoad(i32, B.CreateStructGEP(resultTy, st.res, abi::result::Status)));
    }
    B.SetInsertPoint(st.bodyBB);
    return st;
}

llvm::AllocaInst* Lowerer::entryAlloca(FnState& st, llvm::Type* ty, const char* name) {
    llvm::IRBuilder<> eb(&st.F->getEntryBlock(), st.F->getEntryBlock().begin());
    return eb.CreateAlloca(ty, nullptr, name);
}

Scope& Lowerer::pushScope(FnState& st) {
    st.ownedScopes.push_back(std::make_unique<Scope>());
    st.scopes.push_back(st.ownedScopes.back().get());
    return *st.scopes.back();
}

void Lowerer::storeResult(Value* res, unsigned idx, Value* v) {
    B.CreateStore(v, B.CreateStructGEP(resultTy, res, idx));
}

/// Two adjacent 32-bit fields `first, second` as the 64-bit word that stores both.
Value* Lowerer::pairOf(Value* first, Value* second) {
    bool little = M.getDataLayout().isLittleEndian();
    Value* lo = little ? first : second;
    Value* hi = little ? second : first;
    return B.CreateOr(B.CreateZExt(lo, i64), B.CreateShl(B.CreateZExt(hi, i64), 32));
}

/// Stores fields `idx` and `idx + 1` (`idx` even) of a parse result at once.
void Lowerer::storeResultPair(Value* res, unsigned idx, Value* a, Value* b) {
    Value* p =
        B.CreateBitCast(B.CreateStructGEP(resultTy, res, idx), llvm::PointerType::getUnqual(i64));
    B.CreateStore(pairOf(a, b), p);
}

/// Records a failure (as the function's mode says) and leaves the current block.
void Lowerer::fail(FnState& st, uint32_t status, uint32_t reason, const Field* f, Value* offset) {
    failDyn(st, status, reason, B.getInt32(f && f->index >= 0 ? uint32_t(f->index) : uint32_t(-1)),
            offset);
}

void Lowerer::failDyn(FnState& st, uint32_t status, uint32_t reason, Value* field, Value* offset) {
    switch (st.mode) {
    case FailMode::Result:
        if (auto* c = llvm::dyn_cast<llvm::ConstantInt>(field); c && c->getSExtValue() < 0xffff) {
            // One cold call per failure site rather than four stores: failure sites are
            // many (a validate has one per check) and rarely run.
            uint32_t code = status | reason << 8 | uint32_t(c->getSExtValue() + 1) << 16;
            B.CreateCall(hFail, {st.res, B.getInt32(code), offset ? offset : B.getInt64(0)});
        } else {
            storeResult(st.res, abi::result::Status, B.getInt32(status));
            storeResult(st.res, abi::result::FailReason, B.getInt32(reason));
            storeResult(st.res, abi::result::FailField, field);
            storeResult(st.res, abi::result::FailOffset,
                        B.CreateTrunc(offset ? offset : B.getInt64(0), i32));
        }
        B.CreateBr(st.failBB);
        break;
    case FailMode::Status:
        B.CreateBr(status == MMT_TRUNCATED ? st.failTrunc : st.failBB);
        break;
    case FailMode::Silent:
        B.CreateBr(st.failBB);
        break;
    }
}

/// Branches to a failure when `bad` holds; continues in a fresh block otherwise.
void Lowerer::failIf(FnState& st, Value* bad, uint32_t status, uint32_t reason, const Field* f,
                     Value* offset, const char* name) {
    BasicBlock* cont = BasicBlock::Create(C, name, st.F);
    if (st.mode == FailMode::Silent) {
        B.CreateCondBr(bad, st.failBB, cont);
    } else if (st.mode == FailMode::Status) {
        B.CreateCondBr(bad, status == MMT_TRUNCATED ? st.failTrunc : st.failBB, cont);
    } else {
        BasicBlock* failHere = BasicBlock::Create(C, "fail.here", st.F);
        B.CreateCondBr(bad, failHere, cont);
        B.SetInsertPoint(failHere);
        fail(st, status, reason, f, offset);
    }
    B.SetInsertPoint(cont);
}

/// Continues in a fresh block `name` when `ok` holds; goes to the failure block otherwise
/// (for functions that fail silently: a condition that does not hold is no error).
void Lowerer::continueIf(FnState& st, Value* ok, const char* name) {
    BasicBlock* yes = BasicBlock::Create(C, name, st.F);
    B.CreateCondBr(ok, yes, st.failBB);
    B.SetInsertPoint(yes);
}

/// Status and reason of reading past `r`: the data (truncated) or a size (malformed).
uint32_t Lowerer::boundsStatus(const Region& r) {
    return r.sized ? MMT_MALFORMED : MMT_TRUNCATED;
}

uint32_t Lowerer::boundsReason(const Region& r) {
    return r.sized ? MMT_FAIL_LENGTH : MMT_FAIL_BOUNDS;
}

/// An evaluation failure (absent optional value, division by zero...).
void Lowerer::evalFail(FnState& st) {
    fail(st, MMT_MALFORMED, MMT_FAIL_ARITHMETIC, nullptr, nullptr);
}

void Lowerer::evalFailIf(FnState& st, Value* bad) {
    failIf(st, bad, MMT_MALFORMED, MMT_FAIL_ARITHMETIC, nullptr, nullptr);
}

/// After a failure that the checker rules out: keeps emitting into an unreachable block.
void Lowerer::deadEnd(FnState& st) {
    evalFail(st);
    B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F));
}

/// Offset arithmetic: offsets and lengths within a packet stay far below 2^63, and
/// saying so spares the optimizer from proving it again and again.
Value* Lowerer::addOff(Value* a, Value* b) {
    return B.CreateAdd(a, b, "", /*HasNUW=*/true, /*HasNSW=*/true);
}

Value* Lowerer::subOff(Value* a, Value* b) {
    return B.CreateSub(a, b, "", /*HasNUW=*/true, /*HasNSW=*/true);
}

Value* Lowerer::ptrAt(FnState& st, Value* off) {
    return B.CreateInBoundsGEP(i8, st.data, off);
}

/// Reads an unsigned integer of `bytes` bytes at `base + off` (bounds already checked).
Value* Lowerer::readIntAt(Value* base, Value* off, unsigned bytes, ast::ByteOrder order) {
    Value* p = B.CreateInBoundsGEP(i8, base, off);
    if (bytes == 1) return B.CreateZExt(B.CreateLoad(i8, p), i64);
    if (bytes == 2 || bytes == 4 || bytes == 8) {
        llvm::Type* t = llvm::IntegerType::get(C, bytes * 8);
        Value* v = B.CreateAlignedLoad(t, B.CreateBitCast(p, llvm::PointerType::getUnqual(t)),
                                       llvm::MaybeAlign(1));
        if (order == ast::ByteOrder::Big)
            v = B.CreateCall(llvm::Intrinsic::getDeclaration(&M, llvm::Intrinsic::bswap, {t}), {v});
        return bytes == 8 ? v : B.CreateZExt(v, i64);
    }
    // 3, 5, 6, 7 bytes: assembled byte by byte (the backend merges the loads).
    Value* acc = B.getInt64(0);
    for (unsigned i = 0; i < bytes; ++i) {
        Value* b = B.CreateZExt(B.CreateLoad(i8, B.CreateInBoundsGEP(i8, p, B.getInt64(i))), i64);
        unsigned shift = order == ast::ByteOrder::Big ? 8 * (bytes - 1 - i) : 8 * i;
        acc = B.CreateOr(acc, shift ? B.CreateShl(b, shift) : b);
    }
    return acc;
}

ast::ByteOrder Lowerer::orderOf(const Field& f, const ast::Protocol& p) {
    return f.type.order.value_or(p.byteOrder);
}

unsigned Lowerer::scalarBytes(const Field& f) {
    switch (f.type.kind) {
    case ast::TypeSpec::Int:
        return f.type.width / 8;
    case ast::TypeSpec::Mac:
        return 6;
    case ast::TypeSpec::Ipv4:
        return 4;
    case ast::TypeSpec::Ipv6:
        return 16;
    default:
        return 0;
    }
}

/// The value of an integer field at `off` (the group's first byte for bit fields).
Value* Lowerer::readField(FnState& st, const Field& f, Value* off) {
    if (f.type.kind == ast::TypeSpec::Varint) return readVarint(st, f, off);
    if (f.isBitField) {
        Value* group = readIntAt(st.data, off, f.groupBits / 8, ast::ByteOrder::Big);
        unsigned shift = f.groupBits - f.bitOffset - f.type.width;
        Value* v = shift ? B.CreateLShr(group, shift) : group;
        if (f.type.width < 64) v = B.CreateAnd(v, B.getInt64((uint64_t(1) << f.type.width) - 1));
        return v;
    }
    return readIntAt(st.data, off, f.type.width / 8, orderOf(f, *st.proto));
}

/// The value of a variable-length integer at `off`, whose bytes the walk that parsed it
/// checked (they are there, and the encoding ends within its maximum).
Value* Lowerer::readVarint(FnState& st, const Field& f, Value* off) {
    BasicBlock* done = BasicBlock::Create(C, f.name + ".varint", st.F);
    std::vector<std::pair<Value*, BasicBlock*>> in;
    Value* b0 = B.CreateZExt(B.CreateLoad(i8, ptrAt(st, off)), i64);
    if (f.type.varint == ast::VarintStyle::Quic) {
        // The top two bits give the size, 1 << prefix bytes, big-endian under them.
        Value* prefix = B.CreateLShr(b0, 6);
        BasicBlock* one = BasicBlock::Create(C, "quic.1", st.F);
        llvm::SwitchInst* sw = B.CreateSwitch(prefix, one, 3);
        B.SetInsertPoint(one);
        in.push_back({B.CreateAnd(b0, B.getInt64(0x3f)), one});
        B.CreateBr(done);
        for (unsigned k = 1; k <= 3; ++k) {
            unsigned bytes = 1u << k;
            BasicBlock* bb = BasicBlock::Create(C, "quic." + std::to_string(bytes), st.F);
            sw->addCase(B.getInt64(k), bb);
            B.SetInsertPoint(bb);
            Value* v = readIntAt(st.data, off, bytes, ast::ByteOrder::Big);
            uint64_t mask = (uint64_t(1) << (8 * bytes - 2)) - 1;
            in.push_back({B.CreateAnd(v, B.getInt64(mask)), bb});
            B.CreateBr(done);
        }
    } else {
        // 7 bits a byte, the low group first; 0x80 says another byte follows.
        Value* acc = B.CreateAnd(b0, B.getInt64(0x7f));
        Value* b = b0;
        for (unsigned i = 1; i < f.type.maxBytes; ++i) {
            BasicBlock* more = BasicBlock::Create(C, "varint.more", st.F);
            in.push_back({acc, B.GetInsertBlock()});
            B.CreateCondBr(B.CreateICmpNE(B.CreateAnd(b, B.getInt64(0x80)), B.getInt64(0)), more,
                           done);
            B.SetInsertPoint(more);
            b = B.CreateZExt(B.CreateLoad(i8, ptrAt(st, addOff(off, B.getInt64(i)))), i64);
            acc = B.CreateOr(acc, B.CreateShl(B.CreateAnd(b, B.getInt64(0x7f)), 7 * i));
        }
        in.push_back({acc, B.GetInsertBlock()});
        B.CreateBr(done);
    }
    B.SetInsertPoint(done);
    llvm::PHINode* phi = B.CreatePHI(i64, unsigned(in.size()), f.name + ".value");
    for (auto [v, bb] : in) phi->addIncoming(v, bb);
    return phi;
}

/// Walks a variable-length integer at `off`: its bytes must be there, and a `varint`
/// must end within its maximum size (one that goes on is malformed). Returns its end.
Value* Lowerer::walkVarint(FnState& st, const Field& f, Slot& s, Value* off, Region r) {
    unsigned pre = 0;
    Value* end = nullptr;
    if (f.type.varint == ast::VarintStyle::Quic) {
        need(st, off, r, B.getInt64(1), &f, pre, 0);
        Value* b0 = B.CreateZExt(B.CreateLoad(i8, ptrAt(st, off)), i64);
        Value* n = B.CreateShl(B.getInt64(1), B.CreateLShr(b0, 6));
        need(st, off, r, n, &f, pre, 0);
        end = addOff(off, n);
    } else {
        BasicBlock* done = BasicBlock::Create(C, f.name + ".end", st.F);
        std::vector<std::pair<unsigned, BasicBlock*>> in;
        for (unsigned i = 0; i < f.type.maxBytes; ++i) {
            need(st, off, r, B.getInt64(i + 1), &f, pre, 0);
            Value* b = B.CreateLoad(i8, ptrAt(st, addOff(off, B.getInt64(i))));
            Value* more = B.CreateICmpSLT(b, B.getInt8(0)); // 0x80 set
            if (i + 1 == f.type.maxBytes) {
                failIf(st, more, MMT_MALFORMED, MMT_FAIL_CAP, &f, off, "varint.ends");
                in.push_back({i + 1, B.GetInsertBlock()});
                B.CreateBr(done);
                break;
            }
            BasicBlock* next = BasicBlock::Create(C, "varint.next", st.F);
            in.push_back({i + 1, B.GetInsertBlock()});
            B.CreateCondBr(more, next, done);
            B.SetInsertPoint(next);
        }
        B.SetInsertPoint(done);
        llvm::PHINode* len = B.CreatePHI(i64, unsigned(in.size()), f.name + ".len");
        for (auto [n, bb] : in) len->addIncoming(B.getInt64(n), bb);
        end = addOff(off, len);
    }
    slotSet(st, s, &Slot::end, end);
    return end;
}

} // namespace mmtc::codegen::detail
