// Built-in functions: the lowering of each call and the helpers they share (join, split,
// assemble...).
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

EV Lowerer::evalCall(FnState& st, const Expr& e) {
    using I = ast::BuiltinId;
    const I id = e.builtin->id;
    auto& args = e.operands;
    auto lit = [&](size_t i) { return args[i]->text; };
    switch (id) {
    case I::None:
        break;
    case I::Len:
    case I::Count: {
        EV v = eval(st, *args[0]);
        if (v.k == EV::Bytes) return intEV(v.len);
        return intEV(countElements(st, v));
    }
    case I::StartsWith:
    case I::IStartsWith:
    case I::EndsWith:
    case I::Contains: {
        if (args.size() > 3 && args.size() <= 256) {
            // Many literals (payload heuristics): one call over a table, not a comparison
            // each; the table is `count, (length, bytes)...`.
            EV b = asBytes(st, eval(st, *args[0]));
            std::string table(1, char(args.size() - 1));
            for (size_t i = 1; i < args.size(); ++i) {
                const std::string l = lit(i);
                table += char(std::min<size_t>(l.size(), 255));
                table += l.substr(0, 255);
            }
            uint32_t mode = id == I::StartsWith    ? 0
                            : id == I::IStartsWith ? 1
                            : id == I::EndsWith    ? 2
                                                   : 3;
            Value* r = B.CreateCall(hMatchAny, {b.v, b.len, stringConst(table), B.getInt32(mode)});
            return boolEV(B.CreateICmpNE(r, B.getInt32(0)));
        }
        if (id != I::Contains) {
            EV b = asBytes(st, eval(st, *args[0]));
            Value* any = nullptr;
            for (size_t i = 1; i < args.size(); ++i) {
                Value* m = hasAt(st, b, lit(i), id == I::EndsWith, id == I::IStartsWith);
                any = any ? B.CreateOr(any, m) : m;
            }
            return boolEV(any);
        }
        EV b = asBytes(st, eval(st, *args[0]));
        Value* any = nullptr;
        for (size_t i = 1; i < args.size(); ++i) {
            Value* idx = B.CreateCall(
                hFind, {b.v, b.len, stringConst(lit(i)), B.getInt64(int64_t(lit(i).size()))});
            Value* m = B.CreateICmpSGE(idx, B.getInt64(0));
            any = any ? B.CreateOr(any, m) : m;
        }
        return boolEV(any);
    }
    case I::IEquals: {
        EV b = asBytes(st, eval(st, *args[0]));
        return boolEV(guardedTest(
            st, B.CreateICmpEQ(b.len, B.getInt64(int64_t(lit(1).size()))), "ieq.cmp", [&] {
                return B.CreateICmpNE(B.CreateCall(hIcase, {b.v, stringConst(lit(1)), b.len}),
                                      B.getInt32(0));
            }));
    }
    case I::Trim: {
        EV b = asBytes(st, eval(st, *args[0]));
        llvm::AllocaInst* start = entryAlloca(st, i64, "trim.start");
        Value* n = B.CreateCall(hTrim, {b.v, b.len, start});
        return bytesEV(B.CreateInBoundsGEP(i8, b.v, B.CreateLoad(i64, start)), n);
    }
    case I::Split:
        return split(st, asBytes(st, eval(st, *args[0])), lit(1), args[2]->intValue);
    case I::Slice: {
        // Out of range (or negative) start or length: no value.
        EV b = asBytes(st, eval(st, *args[0]));
        Value* start = evalInt(st, *args[1]);
        evalFailIf(st, B.CreateICmpUGT(start, b.len));
        Value* rest = B.CreateSub(b.len, start);
        Value* n = rest;
        if (args.size() == 3) {
            n = evalInt(st, *args[2]);
            evalFailIf(st, B.CreateICmpUGT(n, rest));
        }
        return bytesEV(B.CreateInBoundsGEP(i8, b.v, start), n);
    }
    case I::Before:
    case I::After: {
        EV b = asBytes(st, eval(st, *args[0]));
        const std::string sep = lit(1);
        Value* idx =
            B.CreateCall(hFind, {b.v, b.len, stringConst(sep), B.getInt64(int64_t(sep.size()))});
        evalFailIf(st, B.CreateICmpSLT(idx, B.getInt64(0)));
        if (id == I::Before) return bytesEV(b.v, idx);
        Value* start = B.CreateAdd(idx, B.getInt64(int64_t(sep.size())));
        return bytesEV(B.CreateInBoundsGEP(i8, b.v, start), B.CreateSub(b.len, start));
    }
    case I::ToInt: {
        EV b = asBytes(st, eval(st, *args[0]));
        llvm::AllocaInst* out = entryAlloca(st, i64, "to_int");
        Value* ok = B.CreateCall(hToInt, {b.v, b.len, out});
        evalFailIf(st, B.CreateICmpEQ(ok, B.getInt32(0)));
        return intEV(B.CreateLoad(i64, out));
    }
    case I::ReadBig:
    case I::ReadLittle: {
        EV b = asBytes(st, eval(st, *args[0]));
        Value* off = evalInt(st, *args[1]);
        unsigned bytes = e.builtin->width / 8;
        bool le = id == I::ReadLittle;
        Value* bad = B.CreateOr(B.CreateICmpSLT(off, B.getInt64(0)),
                                B.CreateICmpUGT(B.CreateAdd(off, B.getInt64(bytes)), b.len));
        evalFailIf(st, bad);
        return intEV(readIntAt(b.v, off, bytes, le ? ast::ByteOrder::Little : ast::ByteOrder::Big));
    }
    case I::Ipv4:
    case I::Ipv6:
    case I::Mac: {
        EV b = asBytes(st, eval(st, *args[0]));
        Value* off = args.size() == 2 ? evalInt(st, *args[1]) : B.getInt64(0);
        unsigned n = id == I::Ipv4 ? 4 : id == I::Ipv6 ? 16 : 6;
        Value* bad = B.CreateOr(B.CreateICmpSLT(off, B.getInt64(0)),
                                B.CreateICmpUGT(B.CreateAdd(off, B.getInt64(n)), b.len));
        evalFailIf(st, bad);
        return addrEV(B.CreateInBoundsGEP(i8, b.v, off), n);
    }
    case I::First:
    case I::Last: {
        EV seq = eval(st, *args[0]);
        if (id == I::First && seq.k == EV::ListRef) return firstElement(st, seq);
        return nthElement(st, seq, B.getInt64(0), id == I::Last);
    }
    case I::Join:
    case I::JoinHex: {
        EV seq = eval(st, *args[0]);
        unsigned digits = id == I::Join ? 0 : (elementTypeOf(seq).width + 7) / 8 * 2;
        return join(st, seq, lit(1), digits);
    }
    case I::Sort:
    case I::NoGrease:
    case I::Without: {
        EV seq = eval(st, *args[0]);
        unsigned width = elementTypeOf(seq).width;
        EV r;
        if (id == I::Sort) {
            r = collectInts(st, seq, nullptr, width);
            B.CreateCall(hSortInts, {r.v, r.count});
            return r;
        }
        if (id == I::NoGrease)
            // RFC 8701: 0x0a0a, 0x1a1a ... 0xfafa, in cipher suites, extensions, groups
            // and versions.
            return collectInts(
                st, seq,
                [&](Value* x) {
                    Value* g = B.CreateICmpEQ(B.CreateAnd(x, B.getInt64(~int64_t(0xf0f0))),
                                              B.getInt64(0x0a0a));
                    Value* same = B.CreateICmpEQ(B.CreateLShr(x, B.getInt64(8)),
                                                 B.CreateAnd(x, B.getInt64(0xff)));
                    return B.CreateNot(B.CreateAnd(g, same));
                },
                width);
        return collectInts(
            st, seq,
            [&](Value* x) {
                Value* hit = llvm::ConstantInt::getFalse(C);
                for (size_t i = 1; i < args.size(); ++i)
                    hit =
                        B.CreateOr(hit, B.CreateICmpEQ(x, B.getInt64(int64_t(args[i]->intValue))));
                return B.CreateNot(hit);
            },
            width);
    }
    case I::QuicInitial:
    case I::QuicServerInitial: {
        EV packet = asBytes(st, eval(st, *args[0]));
        Value* pnOffset = evalInt(st, *args[1]);
        Value* version = evalInt(st, *args[2]);
        Value* server = B.getInt32(id == I::QuicServerInitial ? 1 : 0);
        EV dcid = asBytes(st, eval(st, *args[3]));
        llvm::AllocaInst* out = entryAlloca(st, i8p, "quic.plain");
        llvm::AllocaInst* got = entryAlloca(st, i64, "quic.len");
        B.CreateStore(B.CreateCall(hQuicInitial, {st.ctx, packet.v, packet.len, pnOffset, version,
                                                  server, dcid.v, dcid.len, out}),
                      got);
        if (args.size() == 5) {
            // The second connection id only when the first does not verify.
            EV other = asBytes(st, eval(st, *args[4]));
            BasicBlock* retry = BasicBlock::Create(C, "quic.other", st.F);
            BasicBlock* done = BasicBlock::Create(C, "quic.done", st.F);
            B.CreateCondBr(B.CreateICmpSLT(B.CreateLoad(i64, got), B.getInt64(0)), retry, done);
            B.SetInsertPoint(retry);
            B.CreateStore(B.CreateCall(hQuicInitial, {st.ctx, packet.v, packet.len, pnOffset,
                                                      version, server, other.v, other.len, out}),
                          got);
            B.CreateBr(done);
            B.SetInsertPoint(done);
        }
        Value* n = B.CreateLoad(i64, got);
        evalFailIf(st, B.CreateICmpSLT(n, B.getInt64(0)));
        return bytesEV(B.CreateLoad(i8p, out), n);
    }
    case I::Parse: {
        // Bytes read as a record: offsets stay relative to this protocol's data, so the
        // record is walked like one of the packet's (the bytes are in scratch memory or
        // in the packet; they never straddle the packet's first byte).
        EV b = asBytes(st, eval(st, *args[0]));
        EV r;
        r.k = EV::RecordRef;
        r.rec = e.type.record;
        r.off = B.CreateSub(B.CreatePtrToInt(b.v, i64), B.CreatePtrToInt(st.data, i64));
        r.region = B.CreateAdd(r.off, b.len);
        r.sized = true;
        return r;
    }
    case I::Assemble:
        return assemble(st, eval(st, *args[0]), *args[1], *args[2]);
    case I::Md5:
    case I::Sha256:
    case I::Hex: {
        EV b = asBytes(st, eval(st, *args[0]));
        Value* mark = B.CreateCall(hMark, {st.ctx});
        evalFailIf(st, B.CreateIsNull(mark));
        Value* n =
            id == I::Hex
                ? B.CreateCall(hHex, {st.ctx, b.v, b.len})
                : B.CreateCall(hDigest, {st.ctx, b.v, b.len, B.getInt32(id == I::Md5 ? 0 : 1)});
        evalFailIf(st, B.CreateICmpSLT(n, B.getInt64(0)));
        return bytesEV(mark, n);
    }
    case I::Concat: {
        // Every piece first (a piece may itself be computed into scratch memory), then
        // their copies, one after the other.
        std::vector<EV> parts;
        for (const auto& a : args) parts.push_back(eval(st, *a));
        Value* mark = B.CreateCall(hMark, {st.ctx});
        evalFailIf(st, B.CreateIsNull(mark));
        for (const EV& p : parts) {
            Value* r = p.k == EV::Bytes
                           ? appendToScratch(st, p.v, p.len)
                           : B.CreateCall(hAppendInt, {st.ctx, asInt(p), B.getInt32(0)});
            evalFailIf(st, B.CreateIsNull(r));
        }
        Value* end = B.CreateCall(hMark, {st.ctx});
        return bytesEV(mark, B.CreateSub(B.CreatePtrToInt(end, i64), B.CreatePtrToInt(mark, i64)));
    }
    case I::Find:
    case I::Any:
        return search(st, eval(st, *args[0]), *args[1], id == I::Any);
    case I::Offset:
    case I::SizeOf:
        return fieldOffset(st, *args[0], id == I::SizeOf);
    case I::ParentIs: {
        const ast::Protocol* which = S->findProtocol(args[0]->text);
        Value* parentId = B.CreateLoad(i32, B.CreateStructGEP(ctxTy, st.ctx, abi::ctx::ParentId));
        return boolEV(
            B.CreateICmpEQ(parentId, B.getInt32(uint32_t(which ? which->id.value_or(0) : 0))));
    }
    case I::DomainName: {
        // A DNS name at an offset of a message, compression pointers followed, dotted,
        // into scratch memory.
        EV b = asBytes(st, eval(st, *args[0]));
        Value* at = evalInt(st, *args[1]);
        Value* mark = B.CreateCall(hMark, {st.ctx});
        evalFailIf(st, B.CreateIsNull(mark));
        Value* n = B.CreateCall(hDomainName, {st.ctx, b.v, b.len, at});
        evalFailIf(st, B.CreateICmpSLT(n, B.getInt64(0)));
        return bytesEV(mark, n);
    }
    case I::NetbiosName: {
        EV b = asBytes(st, eval(st, *args[0]));
        Value* mark = B.CreateCall(hMark, {st.ctx});
        evalFailIf(st, B.CreateIsNull(mark));
        Value* n = B.CreateCall(hNetbiosName, {st.ctx, b.v, b.len});
        evalFailIf(st, B.CreateICmpSLT(n, B.getInt64(0)));
        return bytesEV(mark, n);
    }
    case I::ChunkedLength: {
        EV b = asBytes(st, eval(st, *args[0]));
        // -1: the body's end is not there yet (a value); below: not chunked (a failure).
        Value* n = B.CreateCall(hChunked, {b.v, b.len});
        evalFailIf(st, B.CreateICmpSLT(n, B.getInt64(-1)));
        return intEV(n);
    }
    case I::RunOf: {
        // From where the field starts to the end of the region being parsed.
        if (!st.posEnd) break;
        Value* n = subOff(st.posEnd, st.posOff);
        Value* byte = B.getInt32(uint32_t(args[0]->intValue));
        return intEV(B.CreateCall(hRunOf, {ptrAt(st, st.posOff), n, byte}));
    }
    case I::Min:
    case I::Max: {
        Value* a = evalInt(st, *args[0]);
        Value* b = evalInt(st, *args[1]);
        Value* lt = B.CreateICmpSLT(a, b);
        return intEV(id == I::Min ? B.CreateSelect(lt, a, b) : B.CreateSelect(lt, b, a));
    }
    }
    deadEnd(st);
    return intEV(B.getInt64(0));
}

/// `assemble(seq, OFFSET, DATA)`: the DATA of every element at its OFFSET (both read in
/// the element's scope; an element where either fails is left out), in scratch memory;
/// the bytes from offset 0 up to the first gap. Fails when nothing starts at 0.
EV Lowerer::assemble(FnState& st, const EV& seq, const Expr& offset, const Expr& data) {
    // At most 64 KiB: more than any handshake flight.
    const int64_t cap = 65536;
    llvm::AllocaInst* total = entryAlloca(st, i64, "asm.total");
    B.CreateStore(B.getInt64(0), total);
    auto each = [&](const std::function<void(Value*, const EV&)>& use) {
        BasicBlock* done = BasicBlock::Create(C, "asm.done", st.F);
        {
            Redirect r(st, done);
            forEachElement(st, seq, [&](EV elem, Scope* es, BasicBlock* cont) {
                Redirect skip(st, cont);
                inElementScope(st, elem, es, [&] {
                    Value* off = evalInt(st, offset);
                    EV d = asBytes(st, eval(st, data));
                    use(off, d);
                    B.CreateBr(cont);
                });
            });
            B.CreateBr(done);
        }
        B.SetInsertPoint(done);
    };
    each([&](Value* off, const EV& d) {
        Value* end = B.CreateAdd(off, d.len);
        Value* ok =
            B.CreateAnd(B.CreateICmpSGE(off, B.getInt64(0)), B.CreateICmpSLE(end, B.getInt64(cap)));
        Value* cur = B.CreateLoad(i64, total);
        B.CreateStore(B.CreateSelect(B.CreateAnd(ok, B.CreateICmpSGT(end, cur)), end, cur), total);
    });
    Value* n = B.CreateLoad(i64, total);
    evalFailIf(st, B.CreateICmpEQ(n, B.getInt64(0)));
    Value* buf = B.CreateCall(hAssembleInit, {st.ctx, n});
    evalFailIf(st, B.CreateIsNull(buf));
    each([&](Value* off, const EV& d) { B.CreateCall(hAssemblePut, {buf, n, off, d.v, d.len}); });
    Value* got = B.CreateCall(hAssembleEnd, {buf, n});
    evalFailIf(st, B.CreateICmpEQ(got, B.getInt64(0)));
    return bytesEV(buf, got);
}

/// Element `i` of a computed list of integers.
Value* Lowerer::intAt(const EV& ints, Value* i) {
    Value* p = B.CreateInBoundsGEP(i8, ints.v, B.CreateMul(i, B.getInt64(8)));
    return B.CreateAlignedLoad(i64, B.CreateBitCast(p, llvm::PointerType::getUnqual(i64)),
                               llvm::MaybeAlign(1));
}

/// The integers of `seq` for which `keep` holds (all of them without it), copied one
/// after the other into scratch memory.
EV Lowerer::collectInts(FnState& st, const EV& seq, const std::function<Value*(Value*)>& keep,
                        unsigned width) {
    Value* mark = B.CreateCall(hMark, {st.ctx});
    evalFailIf(st, B.CreateIsNull(mark));
    llvm::AllocaInst* tmp = entryAlloca(st, i64, "ints.tmp");
    BasicBlock* full = BasicBlock::Create(C, "ints.full", st.F);
    forEachElement(st, seq, [&](EV elem, Scope*, BasicBlock* cont) {
        Value* x = asInt(elem);
        if (keep) {
            BasicBlock* add = BasicBlock::Create(C, "ints.add", st.F);
            B.CreateCondBr(keep(x), add, cont);
            B.SetInsertPoint(add);
        }
        B.CreateStore(x, tmp);
        Value* r = appendToScratch(st, B.CreateBitCast(tmp, i8p), B.getInt64(8));
        B.CreateCondBr(B.CreateIsNull(r), full, cont);
    });
    Value* end = B.CreateCall(hMark, {st.ctx});
    BasicBlock* done = B.GetInsertBlock();
    B.SetInsertPoint(full);
    evalFail(st);
    B.SetInsertPoint(done);
    EV r;
    r.k = EV::Ints;
    r.v = mark;
    r.count = B.CreateUDiv(B.CreateSub(B.CreatePtrToInt(end, i64), B.CreatePtrToInt(mark, i64)),
                           B.getInt64(8));
    r.intWidth = width;
    return r;
}

Value* Lowerer::countElements(FnState& st, const EV& seq) {
    if (seq.k == EV::Ints) return seq.count;
    llvm::AllocaInst* n = entryAlloca(st, i64, "count");
    B.CreateStore(B.getInt64(0), n);
    forEachElement(st, seq, [&](EV, Scope*, BasicBlock* cont) {
        B.CreateStore(B.CreateAdd(B.CreateLoad(i64, n), B.getInt64(1)), n);
        B.CreateBr(cont);
    });
    return B.CreateLoad(i64, n);
}

/// Piece `index` of `b` cut at every `sep` (empty pieces count).
EV Lowerer::split(FnState& st, const EV& b, const std::string& sep, uint64_t index) {
    Value* p = b.v;
    Value* n = b.len;
    Value* seplen = B.getInt64(int64_t(sep.size()));
    for (uint64_t k = 0; k < index; ++k) {
        Value* idx = B.CreateCall(hFind, {p, n, stringConst(sep), seplen});
        evalFailIf(st, B.CreateICmpSLT(idx, B.getInt64(0)));
        Value* start = B.CreateAdd(idx, seplen);
        p = B.CreateInBoundsGEP(i8, p, start);
        n = B.CreateSub(n, start);
    }
    Value* idx = B.CreateCall(hFind, {p, n, stringConst(sep), seplen});
    return bytesEV(p, B.CreateSelect(B.CreateICmpSLT(idx, B.getInt64(0)), n, idx));
}

/// mmt_rt_scratch_append(ctx, p, n): where the bytes went, or null when there is no room.
/// A copy of a constant length up to 16 bytes (a separator, a collected integer, a literal
/// piece) is done here, without the call, when the packet's memory has room for it.
Value* Lowerer::appendToScratch(FnState& st, Value* p, Value* n) {
    auto* size = llvm::dyn_cast<llvm::ConstantInt>(n);
    if (!size || size->getZExtValue() > 16) return B.CreateCall(hAppend, {st.ctx, p, n});
    llvm::Type* scratchPtr = llvm::PointerType::getUnqual(scratchTy);
    Value* s = B.CreateBitCast(
        B.CreateLoad(i8p, B.CreateStructGEP(ctxTy, st.ctx, abi::ctx::Scratch)), scratchPtr);
    BasicBlock* check = BasicBlock::Create(C, "append.check", st.F);
    BasicBlock* fast = BasicBlock::Create(C, "append.fast", st.F);
    BasicBlock* slow = BasicBlock::Create(C, "append.slow", st.F);
    BasicBlock* done = BasicBlock::Create(C, "append.done", st.F);
    B.CreateCondBr(B.CreateIsNull(s), slow, check);
    B.SetInsertPoint(check);
    Value* usedAt = B.CreateStructGEP(scratchTy, s, abi::scratch::Used);
    Value* used = B.CreateZExt(B.CreateLoad(i32, usedAt), i64);
    Value* cap =
        B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(scratchTy, s, abi::scratch::Cap)), i64);
    Value* end = B.CreateAdd(used, n);
    B.CreateCondBr(B.CreateICmpULE(end, cap), fast, slow);
    B.SetInsertPoint(fast);
    Value* base = B.CreateLoad(i8p, B.CreateStructGEP(scratchTy, s, abi::scratch::Base));
    Value* dst = B.CreateInBoundsGEP(i8, base, used);
    B.CreateMemCpy(dst, llvm::MaybeAlign(1), p, llvm::MaybeAlign(1), n);
    B.CreateStore(B.CreateTrunc(end, i32), usedAt);
    B.CreateBr(done);
    B.SetInsertPoint(slow);
    Value* called = B.CreateCall(hAppend, {st.ctx, p, n}); // null without room
    B.CreateBr(done);
    B.SetInsertPoint(done);
    llvm::PHINode* at = B.CreatePHI(i8p, 2);
    at->addIncoming(dst, fast);
    at->addIncoming(called, slow);
    return at;
}

/// The elements of a list of bytes, joined by `sep` in the packet's scratch memory;
/// integers in decimal, or in hex with `hexDigits` digits when it is not 0.
EV Lowerer::join(FnState& st, const EV& seq, const std::string& sep, unsigned hexDigits) {
    Value* mark = B.CreateCall(hMark, {st.ctx});
    evalFailIf(st, B.CreateIsNull(mark));
    llvm::AllocaInst* first = entryAlloca(st, i1, "join.first");
    B.CreateStore(llvm::ConstantInt::getTrue(C), first);
    BasicBlock* full = BasicBlock::Create(C, "join.full", st.F);
    forEachElement(st, seq, [&](EV elem, Scope*, BasicBlock* cont) {
        if (elem.k != EV::Bytes && elem.k != EV::Int) {
            B.CreateBr(cont);
            return;
        }
        BasicBlock* addSep = BasicBlock::Create(C, "join.sep", st.F);
        BasicBlock* addVal = BasicBlock::Create(C, "join.val", st.F);
        BasicBlock* added = BasicBlock::Create(C, "join.added", st.F);
        B.CreateCondBr(B.CreateLoad(i1, first), addVal, addSep);
        B.SetInsertPoint(addSep);
        Value* r1 = appendToScratch(st, stringConst(sep), B.getInt64(int64_t(sep.size())));
        B.CreateCondBr(B.CreateIsNull(r1), full, addVal);
        B.SetInsertPoint(addVal);
        Value* r2 = elem.k == EV::Bytes
                        ? appendToScratch(st, elem.v, elem.len)
                        : B.CreateCall(hAppendInt, {st.ctx, elem.v, B.getInt32(hexDigits)});
        B.CreateCondBr(B.CreateIsNull(r2), full, added);
        B.SetInsertPoint(added);
        B.CreateStore(llvm::ConstantInt::getFalse(C), first);
        B.CreateBr(cont);
    });
    // The pieces are contiguous: the result runs from the mark to the new end.
    Value* end = B.CreateCall(hMark, {st.ctx});
    Value* total = B.CreateSub(B.CreatePtrToInt(end, i64), B.CreatePtrToInt(mark, i64));
    BasicBlock* done = B.GetInsertBlock();
    B.SetInsertPoint(full);
    evalFail(st);
    B.SetInsertPoint(done);
    return bytesEV(mark, total);
}

} // namespace mmtc::codegen::detail
