// The field walker, part two: lists (counted, sized, until), switches and case matching.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

/// Walks the elements of list `f` from `start` within `region` (`count` of them when
/// counted), calling `body` after each element is parsed, in the element's scope.
/// `body` must leave the builder in a block that falls through to the next element.
/// Returns the offset after the list.
Value* Lowerer::listLoop(FnState& st, const Field& f, Value* start, Region region, Value* count,
                         const ElemBody& body) {
    llvm::AllocaInst* offA = entryAlloca(st, i64, (f.name + ".it.off").c_str());
    llvm::AllocaInst* idxA = entryAlloca(st, i64, (f.name + ".it.idx").c_str());
    B.CreateStore(start, offA);
    B.CreateStore(B.getInt64(0), idxA);
    BasicBlock* head = BasicBlock::Create(C, f.name + ".head", st.F);
    BasicBlock* exitBB = BasicBlock::Create(C, f.name + ".done", st.F);
    B.CreateBr(head);
    B.SetInsertPoint(head);
    Value* off = B.CreateLoad(i64, offA);
    Value* idx = B.CreateLoad(i64, idxA);
    auto exitIf = [&](Value* cond, const char* name) {
        BasicBlock* cont = BasicBlock::Create(C, name, st.F);
        B.CreateCondBr(cond, exitBB, cont);
        B.SetInsertPoint(cont);
    };
    switch (f.extent) {
    case ast::Extent::Count:
        exitIf(B.CreateICmpSGE(idx, count), "more");
        break;
    case ast::Extent::Size:
    case ast::Extent::Rest:
        exitIf(B.CreateICmpUGE(off, region.end), "more");
        break;
    case ast::Extent::UntilString: {
        uint64_t tlen = f.terminator.size();
        Value* room = B.CreateICmpULE(addOff(off, B.getInt64(int64_t(tlen))), region.end);
        BasicBlock* cmpBB = BasicBlock::Create(C, "term.cmp", st.F);
        BasicBlock* noTerm = BasicBlock::Create(C, "term.no", st.F);
        BasicBlock* atTerm = BasicBlock::Create(C, "term.yes", st.F);
        B.CreateCondBr(room, cmpBB, noTerm);
        B.SetInsertPoint(cmpBB);
        Value* eq = B.CreateICmpEQ(B.CreateCall(hMemcmp, {ptrAt(st, off), stringConst(f.terminator),
                                                          B.getInt64(int64_t(tlen))}),
                                   B.getInt32(0));
        B.CreateCondBr(eq, atTerm, noTerm);
        B.SetInsertPoint(atTerm);
        B.CreateStore(addOff(off, B.getInt64(int64_t(tlen))), offA);
        B.CreateBr(exitBB);
        B.SetInsertPoint(noTerm);
        // No terminator and no data left: the list is cut short.
        failIf(st, B.CreateICmpUGE(off, region.end), boundsStatus(region), MMT_FAIL_TERMINATOR, &f,
               off, "elem");
        break;
    }
    case ast::Extent::UntilExpr:
        failIf(st, B.CreateICmpUGE(off, region.end), boundsStatus(region), MMT_FAIL_TERMINATOR, &f,
               off, "elem");
        break;
    case ast::Extent::Single:
        break;
    }
    if (f.max)
        failIf(st, B.CreateICmpUGE(idx, B.getInt64(int64_t(*f.max))), MMT_MALFORMED, MMT_FAIL_CAP,
               &f, off, "capped");
    // One element.
    Value* elemEnd = nullptr;
    Scope* elemScope = nullptr;
    if (f.type.kind == ast::TypeSpec::Record) {
        elemScope = &pushScope(st);
        elemEnd = walkItems(st, f.type.record->items, SIZE_MAX, off, region, *elemScope);
    } else {
        unsigned bytes = scalarBytes(f);
        unsigned pre = 0;
        need(st, off, region, B.getInt64(bytes), &f, pre, 0);
        elemEnd = addOff(off, B.getInt64(bytes));
    }
    body(off, elemEnd, elemScope);
    Value* stop = nullptr;
    if (f.extent == ast::Extent::UntilExpr) {
        st.posOff = elemEnd;
        st.posEnd = region.end;
        stop = evalBool(st, *f.until);
    }
    if (elemScope) st.scopes.pop_back();
    B.CreateStore(elemEnd, offA);
    B.CreateStore(addOff(idx, B.getInt64(1)), idxA);
    llvm::Instruction* back = stop ? B.CreateCondBr(stop, exitBB, head) : B.CreateBr(head);
    // Element loops are bounded by `max`, sometimes small: unrolling them only makes
    // code (a packet rarely has as many elements as the cap allows).
    back->setMetadata(llvm::LLVMContext::MD_loop, noUnroll());
    B.SetInsertPoint(exitBB);
    return B.CreateLoad(i64, offA);
}

llvm::MDNode* Lowerer::noUnroll() {
    llvm::Metadata* disable =
        llvm::MDNode::get(C, {llvm::MDString::get(C, "llvm.loop.unroll.disable")});
    llvm::TempMDTuple self = llvm::MDNode::getTemporary(C, llvm::None);
    llvm::MDNode* loop = llvm::MDNode::getDistinct(C, {self.get(), disable});
    loop->replaceOperandWith(0, loop);
    return loop;
}

Value* Lowerer::walkList(FnState& st, const Field& f, Slot& s, Value* off, Region r, bool lazy) {
    Region region = r;
    if (f.size) region = Region{addOff(off, evalSize(st, *f.size, f, off, r)), true};
    Value* count = B.getInt64(0);
    if (f.extent == ast::Extent::Count) {
        count = evalInt(st, *f.count);
        failIf(st, B.CreateICmpSLT(count, B.getInt64(0)), MMT_MALFORMED, MMT_FAIL_LENGTH, &f, off,
               "count.ok");
    }
    slotSet(st, s, &Slot::region, region.end);
    slotSet(st, s, &Slot::count, count);
    s.sized = region.sized;
    if (lazy) return off;
    if (f.size && st.mode == FailMode::Silent) {
        // Nothing here validates: the elements are walked by whoever reads them.
        slotSet(st, s, &Slot::end, region.end);
        return region.end;
    }
    st.walkPath.push_back(&f);
    auto hook = st.hooks.find(st.walkPath);
    Value* listEnd =
        listLoop(st, f, off, region, count, [&](Value* elemOff, Value* elemEnd, Scope* elemScope) {
            if (hook == st.hooks.end()) return;
            EV elem = elementAt(st, f, elemOff, elemEnd, region.sized);
            for (const FnState::Hook& h : hook->second) raiseHooked(st, h, elem, elemScope);
        });
    st.walkPath.pop_back();
    Value* next = f.size ? region.end : listEnd;
    slotSet(st, s, &Slot::end, next);
    return next;
}

Value* Lowerer::walkSwitch(FnState& st, const ast::Switch& sw, Value* off, Region r, Scope& scope) {
    Value* sel = evalInt(st, *sw.selector);
    Region region = r;
    if (sw.size) region = Region{addOff(off, evalSize(st, *sw.size, nullptr, off, r)), true};
    for (const auto& arm : sw.arms) predeclare(st, scope, arm.items);
    BasicBlock* join = BasicBlock::Create(C, "switch.end", st.F);
    std::vector<std::pair<BasicBlock*, Value*>> incoming;
    const ast::SwitchArm* dflt = nullptr;
    std::vector<std::pair<const ast::SwitchArm*, BasicBlock*>> arms;
    bool wide = false;
    for (const auto& arm : sw.arms) {
        if (arm.isDefault) {
            dflt = &arm;
            continue;
        }
        arms.push_back({&arm, BasicBlock::Create(C, "case", st.F)});
        for (const auto& cv : arm.values) wide = wide || cv.hi - cv.lo >= 64;
    }
    BasicBlock* dfltBB = BasicBlock::Create(C, "case.default", st.F);
    if (!wide) {
        // One `switch` over every value of every arm (the checker made them distinct).
        std::set<uint64_t> seen;
        llvm::SwitchInst* si = B.CreateSwitch(sel, dfltBB);
        for (auto& [arm, bb] : arms)
            for (const auto& cv : arm->values)
                for (uint64_t v = cv.lo;; ++v) {
                    if (seen.insert(v).second) si->addCase(B.getInt64(v), bb);
                    if (v == cv.hi) break;
                }
    } else {
        // Arms in order, the first that matches wins.
        for (auto& [arm, bb] : arms) {
            BasicBlock* nextBB = BasicBlock::Create(C, "case.next", st.F);
            branchCases(sel, arm->values, bb, nextBB);
            B.SetInsertPoint(nextBB);
        }
        B.CreateBr(dfltBB);
    }
    for (auto& [arm, bb] : arms) {
        B.SetInsertPoint(bb);
        Value* o = walkItems(st, arm->items, SIZE_MAX, off, region, scope, armLazy(st, sw, *arm));
        incoming.push_back({B.GetInsertBlock(), o});
        B.CreateBr(join);
    }
    B.SetInsertPoint(dfltBB);
    Value* o = off;
    if (dflt) o = walkItems(st, dflt->items, SIZE_MAX, off, region, scope, armLazy(st, sw, *dflt));
    incoming.push_back({B.GetInsertBlock(), o});
    B.CreateBr(join);
    B.SetInsertPoint(join);
    if (sw.size) return region.end;
    llvm::PHINode* phi = B.CreatePHI(i64, unsigned(incoming.size()), "switch.off");
    for (auto& [bb, v] : incoming) phi->addIncoming(v, bb);
    return phi;
}

/// In a sized switch nothing needs the end of an arm: when nothing validates either,
/// a list or record ending the arm is only located, not walked.
const Field* Lowerer::armLazy(const FnState& st, const ast::Switch& sw, const ast::SwitchArm& arm) {
    if (!sw.size || st.mode != FailMode::Silent || arm.items.empty()) return nullptr;
    const ast::FieldItem& last = arm.items.back();
    if (last.kind != ast::FieldItem::Kind::Field) return nullptr;
    const Field& f = *last.field;
    return f.isList || f.type.kind == ast::TypeSpec::Record ? &f : nullptr;
}

/// Branches to `yes` when `x` is one of `cases`, to `no` otherwise; ends the block.
/// Many values become one `switch` (compact IR, a jump table or bit test in the end).
void Lowerer::branchCases(Value* x, const std::vector<ast::CaseValue>& cases, BasicBlock* yes,
                          BasicBlock* no) {
    std::set<uint64_t> singles;
    std::vector<const ast::CaseValue*> wide;
    for (const auto& cv : cases) {
        if (cv.hi - cv.lo < 64)
            for (uint64_t v = cv.lo;; ++v) {
                singles.insert(v);
                if (v == cv.hi) break;
            }
        else
            wide.push_back(&cv);
    }
    if (singles.size() <= 2) {
        Value* m = nullptr;
        for (const auto& cv : cases) m = m ? B.CreateOr(m, inCase(x, cv)) : inCase(x, cv);
        B.CreateCondBr(m ? m : llvm::ConstantInt::getFalse(C), yes, no);
        return;
    }
    for (const ast::CaseValue* cv : wide) {
        BasicBlock* next = BasicBlock::Create(C, "case.wide", no->getParent());
        B.CreateCondBr(inCase(x, *cv), yes, next);
        B.SetInsertPoint(next);
    }
    llvm::SwitchInst* sw = B.CreateSwitch(x, no, unsigned(singles.size()));
    for (uint64_t v : singles) sw->addCase(B.getInt64(v), yes);
}

/// `x` is one of `cases`, as an i1.
Value* Lowerer::matchCases(FnState& st, Value* x, const std::vector<ast::CaseValue>& cases) {
    uint64_t values = 0;
    for (const auto& cv : cases)
        if (cv.hi - cv.lo < 64) values += cv.hi - cv.lo + 1;
    if (values <= 2) {
        Value* m = llvm::ConstantInt::getFalse(C);
        for (const auto& cv : cases) m = B.CreateOr(m, inCase(x, cv));
        return m;
    }
    BasicBlock* yes = BasicBlock::Create(C, "in.yes", st.F);
    BasicBlock* join = BasicBlock::Create(C, "in.join", st.F);
    branchCases(x, cases, yes, join);
    B.SetInsertPoint(yes);
    B.CreateBr(join);
    B.SetInsertPoint(join);
    llvm::PHINode* phi = B.CreatePHI(i1, 2);
    for (BasicBlock* pred : llvm::predecessors(join))
        phi->addIncoming(
            pred == yes ? llvm::ConstantInt::getTrue(C) : llvm::ConstantInt::getFalse(C), pred);
    return phi;
}

Value* Lowerer::inCase(Value* x, const ast::CaseValue& cv) {
    if (cv.lo == cv.hi) return B.CreateICmpEQ(x, B.getInt64(cv.lo));
    // lo <= x <= hi as one unsigned comparison.
    return B.CreateICmpULE(B.CreateSub(x, B.getInt64(cv.lo)), B.getInt64(cv.hi - cv.lo));
}

} // namespace mmtc::codegen::detail
