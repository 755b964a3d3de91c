// The field walker, part one: slots, fixed sizes, runs of fields, one field, sizes and bytes
// fields.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

Value* Lowerer::slotGet(const Slot& s, Value* Slot::*m) {
    Value* v = s.*m;
    if (!s.mem || !v) return v;
    return B.CreateLoad(i64, v);
}

void Lowerer::slotSet(FnState& st, Slot& s, Value* Slot::*m, Value* v) {
    if (!s.mem) {
        s.*m = v;
        return;
    }
    if (!(s.*m)) {
        // Allocas start at 0 so that a read on a path that never stored is defined.
        llvm::AllocaInst* a = entryAlloca(st, i64, "slot");
        llvm::IRBuilder<> eb(st.F->getEntryBlock().getTerminator());
        eb.CreateStore(B.getInt64(0), a);
        s.*m = a;
    }
    B.CreateStore(v, s.*m);
}

/// A slot that may be absent: `present` starts false here (at each walk: in a loop,
/// the previous element's field must not show through).
Slot& Lowerer::memSlot(FnState& st, Scope& scope, const Field& f) {
    Slot& s = scope[&f];
    if (!s.mem) {
        s = Slot{};
        s.mem = true;
        s.present = entryAlloca(st, i1, (f.name + ".present").c_str());
        llvm::IRBuilder<> eb(st.F->getEntryBlock().getTerminator());
        eb.CreateStore(llvm::ConstantInt::getFalse(C), s.present);
    }
    B.CreateStore(llvm::ConstantInt::getFalse(C), s.present);
    return s;
}

/// Fields of a switch, which may or may not be walked: absent until their arm runs.
void Lowerer::predeclare(FnState& st, Scope& scope, const std::vector<ast::FieldItem>& items) {
    for (const auto& it : items) {
        if (it.kind == ast::FieldItem::Kind::Field)
            memSlot(st, scope, *it.field);
        else if (it.kind == ast::FieldItem::Kind::Switch)
            for (const auto& arm : it.sw->arms) predeclare(st, scope, arm.items);
    }
}

/// Static size in bytes of an unconditional fixed-size field, or 0 when not fixed.
/// A bit field counts its whole group at its first member and 0 for the others.
unsigned Lowerer::fixedSize(const Field& f) {
    if (f.cond || f.isList) return 0;
    if (f.isBitField) return f.bitOffset == 0 ? f.groupBits / 8 : 0;
    if (f.type.kind == ast::TypeSpec::Bytes) {
        if (f.extent == ast::Extent::Count && f.count && f.count->kind == Expr::Kind::Int &&
            f.count->intValue > 0 && f.count->intValue < 65536)
            return unsigned(f.count->intValue);
        return 0;
    }
    return scalarBytes(f);
}

bool Lowerer::isFixedItem(const ast::FieldItem& it) {
    if (it.kind == ast::FieldItem::Kind::Requires) return true; // costs no bytes
    if (it.kind != ast::FieldItem::Kind::Field) return false;
    const Field& f = *it.field;
    if (f.type.kind == ast::TypeSpec::Int && f.isBitField && f.bitOffset != 0 && !f.cond)
        return true;
    return fixedSize(f) > 0;
}

/// The field a failure of `items[i]` (the first of a bit group) is blamed on: itself,
/// or when it is padding, the first named field of its group.
const Field* Lowerer::blameOf(const std::vector<ast::FieldItem>& items, size_t i) {
    const Field* f = items[i].field.get();
    if (!f->anonymous() || !f->isBitField) return f;
    for (size_t j = i; j < items.size() && items[j].kind == ast::FieldItem::Kind::Field; ++j) {
        const Field* g = items[j].field.get();
        if (!g->isBitField || (j > i && g->bitOffset == 0)) break;
        if (!g->anonymous()) return g;
    }
    return f;
}

/// Parses items [0, limit) of `items` from `off` within `r` into `scope`; returns the
/// offset after the last item. `lazy`, when it is the last item walked, is a list or
/// record whose position is recorded without walking its contents (whoever reads it
/// walks it; nothing after it needs its end).
Value* Lowerer::walkItems(FnState& st, const std::vector<ast::FieldItem>& items, size_t limit,
                          Value* off, Region r, Scope& scope, const Field* lazy) {
    unsigned prechecked = 0;
    limit = std::min(limit, items.size());
    for (size_t i = 0; i < limit; ++i) {
        const ast::FieldItem& it = items[i];
        st.posOff = off;
        st.posEnd = r.end;
        if (prechecked == 0 && isFixedItem(it) && it.kind == ast::FieldItem::Kind::Field) {
            // One bounds check for the whole run of fixed-size fields that starts here.
            unsigned run = 0;
            std::vector<std::pair<const Field*, unsigned>> ends;
            for (size_t j = i; j < limit && isFixedItem(items[j]); ++j) {
                if (items[j].kind != ast::FieldItem::Kind::Field) continue;
                unsigned sz = fixedSize(*items[j].field);
                if (sz == 0) continue;
                run += sz;
                ends.push_back({blameOf(items, j), run});
            }
            if (run > 0) {
                emitRunCheck(st, off, r, run, ends);
                prechecked = run;
            }
        }
        switch (it.kind) {
        case ast::FieldItem::Kind::Requires:
            if (st.checkRequires) {
                Value* ok = evalBool(st, *it.requires_);
                failIf(st, B.CreateNot(ok), MMT_MALFORMED, MMT_FAIL_REQUIRES, nullptr, off,
                       "requires.ok");
            }
            break;
        case ast::FieldItem::Kind::Switch:
            prechecked = 0;
            off = walkSwitch(st, *it.sw, off, r, scope);
            break;
        case ast::FieldItem::Kind::Field: {
            bool lazyHere = i + 1 == limit && it.field.get() == lazy;
            off = walkField(st, *it.field, off, r, scope, prechecked, lazyHere);
            break;
        }
        }
    }
    return off;
}

void Lowerer::emitRunCheck(FnState& st, Value* off, Region r, unsigned run,
                           const std::vector<std::pair<const Field*, unsigned>>& ends) {
    Value* bad = B.CreateICmpUGT(addOff(off, B.getInt64(run)), r.end);
    BasicBlock* cont = BasicBlock::Create(C, "run.ok", st.F);
    auto weights = llvm::MDBuilder(C).createBranchWeights(1, 1000);
    if (st.mode != FailMode::Result) {
        B.CreateCondBr(
            bad, st.mode == FailMode::Status ? (r.sized ? st.failBB : st.failTrunc) : st.failBB,
            cont, weights);
        B.SetInsertPoint(cont);
        return;
    }
    BasicBlock* failHere = BasicBlock::Create(C, "short", st.F);
    B.CreateCondBr(bad, failHere, cont, weights);
    B.SetInsertPoint(failHere);
    if (ends.size() == 1) {
        fail(st, boundsStatus(r), boundsReason(r), ends[0].first, off);
    } else {
        // Cold path: a helper names the first field that does not fit, from a table of
        // (end, field) pairs, rather than a chain of selects in every function.
        std::vector<llvm::Constant*> table;
        for (const auto& [f, end] : ends) {
            table.push_back(B.getInt32(end));
            table.push_back(B.getInt32(uint32_t(f->index)));
        }
        auto* at = llvm::ArrayType::get(i32, table.size());
        auto* gv = new llvm::GlobalVariable(M, at, true, llvm::GlobalValue::PrivateLinkage,
                                            llvm::ConstantArray::get(at, table), "run");
        gv->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
        Value* first = B.CreateInBoundsGEP(at, gv, {B.getInt64(0), B.getInt64(0)});
        B.CreateCall(hShort,
                     {st.res, off, subOff(r.end, off), first, B.getInt32(uint32_t(ends.size())),
                      B.getInt32(boundsStatus(r)), B.getInt32(boundsReason(r))});
        B.CreateBr(st.failBB);
    }
    B.SetInsertPoint(cont);
}

/// A bounds check for `n` bytes at `off`, unless a run check already covered them.
void Lowerer::need(FnState& st, Value* off, Region r, Value* n, const Field* f,
                   unsigned& prechecked, unsigned staticN) {
    if (staticN && prechecked >= staticN) {
        prechecked -= staticN;
        return;
    }
    prechecked = 0;
    Value* bad = B.CreateICmpUGT(addOff(off, n), r.end);
    failIf(st, bad, boundsStatus(r), boundsReason(r), f, off);
}

Value* Lowerer::walkField(FnState& st, const Field& f, Value* off, Region r, Scope& scope,
                          unsigned& prechecked, bool lazy) {
    auto found = scope.find(&f);
    bool mem = f.cond || (found != scope.end() && found->second.mem);
    Slot* sp = nullptr;
    if (mem) {
        sp = &memSlot(st, scope, f);
    } else {
        sp = &scope[&f];
        *sp = Slot{};
    }
    Slot& s = *sp;
    if (fixedSize(f) == 0 && !(f.isBitField && f.bitOffset != 0)) prechecked = 0;
    BasicBlock* joinBB = nullptr;
    BasicBlock* beforeBB = nullptr;
    Value* offBefore = off;
    if (f.cond) {
        Value* c = evalBool(st, *f.cond);
        BasicBlock* doBB = BasicBlock::Create(C, f.name + ".if", st.F);
        joinBB = BasicBlock::Create(C, f.name + ".join", st.F);
        beforeBB = B.GetInsertBlock();
        B.CreateCondBr(c, doBB, joinBB);
        B.SetInsertPoint(doBB);
        prechecked = 0;
    }
    if (s.mem) B.CreateStore(llvm::ConstantInt::getTrue(C), s.present);
    slotSet(st, s, &Slot::off, off);
    Value* next = off;
    if (f.isList) {
        next = walkList(st, f, s, off, r, lazy);
    } else {
        switch (f.type.kind) {
        case ast::TypeSpec::Int:
        case ast::TypeSpec::Mac:
        case ast::TypeSpec::Ipv4:
        case ast::TypeSpec::Ipv6: {
            if (f.isBitField) {
                // The group's bytes are checked at its first member and consumed by its last.
                unsigned gbytes = f.groupBits / 8;
                if (f.bitOffset == 0) need(st, off, r, B.getInt64(gbytes), &f, prechecked, gbytes);
                if (f.bitOffset + f.type.width == f.groupBits)
                    next = addOff(off, B.getInt64(gbytes));
                break;
            }
            unsigned bytes = scalarBytes(f);
            need(st, off, r, B.getInt64(bytes), &f, prechecked, bytes);
            next = addOff(off, B.getInt64(bytes));
            break;
        }
        case ast::TypeSpec::Varint:
            prechecked = 0;
            next = walkVarint(st, f, s, off, r);
            break;
        case ast::TypeSpec::Bytes:
            next = walkBytes(st, f, s, off, r, prechecked);
            break;
        case ast::TypeSpec::Record: {
            prechecked = 0;
            Region inner = r;
            if (f.size) inner = Region{addOff(off, evalSize(st, *f.size, f, off, r)), true};
            slotSet(st, s, &Slot::region, inner.end);
            s.sized = inner.sized;
            if (lazy) break;
            if (f.size && st.mode == FailMode::Silent) {
                // Nothing here validates, and the size says where the record ends:
                // whoever reads a member walks the record then.
                next = inner.end;
                break;
            }
            Scope& sub = pushScope(st);
            st.walkPath.push_back(&f);
            Value* recEnd = walkItems(st, f.type.record->items, SIZE_MAX, off, inner, sub);
            st.walkPath.pop_back();
            st.scopes.pop_back();
            next = f.size ? inner.end : recEnd;
            break;
        }
        case ast::TypeSpec::Unknown:
            break;
        }
    }
    st.posOff = off;
    st.posEnd = r.end;
    if (st.checkRequires)
        for (const auto& rq : f.requires_) {
            Value* ok = evalBool(st, *rq);
            failIf(st, B.CreateNot(ok), MMT_MALFORMED, MMT_FAIL_REQUIRES, &f, off, "requires.ok");
        }
    if (joinBB) {
        BasicBlock* fromDo = B.GetInsertBlock();
        B.CreateBr(joinBB);
        B.SetInsertPoint(joinBB);
        llvm::PHINode* phi = B.CreatePHI(i64, 2, f.name + ".next");
        phi->addIncoming(offBefore, beforeBB);
        phi->addIncoming(next, fromDo);
        next = phi;
        prechecked = 0;
    }
    return next;
}

/// Evaluates a length or size: negative is malformed, beyond the region is truncated
/// (or malformed when the region is itself a declared size).
Value* Lowerer::evalSize(FnState& st, const Expr& e, const Field* f, Value* off, Region r) {
    Value* n = evalInt(st, e);
    failIf(st, B.CreateICmpSLT(n, B.getInt64(0)), MMT_MALFORMED, MMT_FAIL_LENGTH, f, off, "len.ok");
    failIf(st, B.CreateICmpUGT(n, subOff(r.end, off)), boundsStatus(r), boundsReason(r), f, off,
           "fits");
    return n;
}

Value* Lowerer::evalSize(FnState& st, const Expr& e, const Field& f, Value* off, Region r) {
    return evalSize(st, e, &f, off, r);
}

Value* Lowerer::walkBytes(FnState& st, const Field& f, Slot& s, Value* off, Region r,
                          unsigned& prechecked) {
    switch (f.extent) {
    case ast::Extent::Count: {
        Value* n;
        if (unsigned fixed = fixedSize(f)) {
            need(st, off, r, B.getInt64(fixed), &f, prechecked, fixed);
            n = B.getInt64(fixed);
        } else {
            prechecked = 0;
            n = evalSize(st, *f.count, f, off, r);
        }
        Value* e = addOff(off, n);
        slotSet(st, s, &Slot::end, e);
        return e;
    }
    case ast::Extent::UntilString: {
        prechecked = 0;
        Value* avail = subOff(r.end, off);
        Value* window = avail;
        uint64_t tlen = f.terminator.size();
        Value* cap = nullptr;
        if (f.max) {
            cap = B.getInt64(int64_t(*f.max + tlen));
            window = B.CreateSelect(B.CreateICmpULT(avail, cap), avail, cap);
        }
        Value* idx = B.CreateCall(
            hFind, {ptrAt(st, off), window, stringConst(f.terminator), B.getInt64(int64_t(tlen))});
        Value* notFound = B.CreateICmpSLT(idx, B.getInt64(0));
        if (f.max && st.mode == FailMode::Result) {
            // No terminator among max + terminator bytes: the cap is broken whatever
            // follows. Fewer bytes than that: the data (or region) ends too early.
            BasicBlock* nf = BasicBlock::Create(C, "term.missing", st.F);
            BasicBlock* found = BasicBlock::Create(C, "term.found", st.F);
            B.CreateCondBr(notFound, nf, found);
            B.SetInsertPoint(nf);
            BasicBlock* capBB = BasicBlock::Create(C, "term.cap", st.F);
            BasicBlock* truncBB = BasicBlock::Create(C, "term.trunc", st.F);
            B.CreateCondBr(B.CreateICmpUGE(avail, cap), capBB, truncBB);
            B.SetInsertPoint(capBB);
            fail(st, MMT_MALFORMED, MMT_FAIL_CAP, &f, off);
            B.SetInsertPoint(truncBB);
            fail(st, boundsStatus(r), MMT_FAIL_TERMINATOR, &f, off);
            B.SetInsertPoint(found);
        } else if (f.max && st.mode == FailMode::Status) {
            Value* capped = B.CreateAnd(notFound, B.CreateICmpUGE(avail, cap));
            failIf(st, capped, MMT_MALFORMED, MMT_FAIL_CAP, &f, off, "term.uncapped");
            failIf(st, notFound, boundsStatus(r), MMT_FAIL_TERMINATOR, &f, off, "term.found");
        } else {
            failIf(st, notFound, boundsStatus(r), MMT_FAIL_TERMINATOR, &f, off, "term.found");
        }
        Value* valueEnd = addOff(off, idx);
        slotSet(st, s, &Slot::end, valueEnd);
        return addOff(valueEnd, B.getInt64(int64_t(tlen)));
    }
    case ast::Extent::Rest:
    default:
        prechecked = 0;
        slotSet(st, s, &Slot::end, r.end);
        return r.end;
    }
}

} // namespace mmtc::codegen::detail
