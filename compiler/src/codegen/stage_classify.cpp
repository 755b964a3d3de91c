// Classification: rules in the order they are tried, a first-byte prefilter, and the classify
// function.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

/// Rule lists (classify, update): the header is walked once for all rules; a rule
/// that needs body fields walks the body itself, so that a broken body only stops the
/// rules that read it. `each(i)` emits rule i with failures going to the next rule.
void Lowerer::walkForRules(FnState& st, const ast::Protocol& p, const std::vector<FieldSet>& needs,
                           const std::function<void(size_t)>& each,
                           const std::function<Value*(size_t)>& guard) {
    FieldSet all;
    bool body = false;
    for (const auto& n : needs)
        for (const Field* f : n) {
            all.insert(f);
            if (itemOf(p, f).first == 1) body = true;
        }
    WalkPlan shared = planFor(p, all);
    shared.bodyItems = 0;
    Value* headerEnd = walkProtocol(st, p, shared, /*wholeLast=*/body);
    for (size_t i = 0; i < needs.size(); ++i) {
        BasicBlock* next = BasicBlock::Create(C, "rule.next", st.F);
        if (Value* ok = guard ? guard(i) : nullptr) {
            BasicBlock* go = BasicBlock::Create(C, "rule.may", st.F);
            B.CreateCondBr(ok, go, next);
            B.SetInsertPoint(go);
        }
        {
            Redirect r(st, next);
            WalkPlan own = planFor(p, needs[i]);
            bool pushed = false;
            if (own.bodyItems) {
                Scope& scope = pushScope(st);
                pushed = true;
                const Field* lazy = lazyItem(st, p.body->items, own.bodyItems, own.need);
                walkItems(st, p.body->items, own.bodyItems, headerEnd, Region{st.len, false}, scope,
                          lazy);
            }
            each(i);
            if (pushed) st.scopes.pop_back();
        }
        if (B.GetInsertBlock()->getTerminator() == nullptr) B.CreateBr(next);
        B.SetInsertPoint(next);
    }
}

Lowerer::FirstBytes Lowerer::firstBytesOf(const Expr& e) {
    FirstBytes all;
    all.set();
    auto isPayload = [](const Expr& x) {
        return x.kind == Expr::Kind::Name && x.ref.kind == ast::Ref::Payload;
    };
    // The integer `x` reads from the payload's start, and how far its first byte lies
    // to the left of bit 0: payload[0] (0), u16/u24/u32/u64(payload, 0) (8-56),
    // u16le/u32le/u64le(payload, 0) (0, with a mask).
    auto firstOf = [&](const Expr& x, unsigned& shift, bool& low) {
        low = false;
        if (x.kind == Expr::Kind::Index && x.operands.size() == 2 && isPayload(*x.operands[0]) &&
            x.operands[1]->kind == Expr::Kind::Int && x.operands[1]->intValue == 0) {
            shift = 0;
            return true;
        }
        if (x.kind != Expr::Kind::Call || x.operands.size() != 2 || !isPayload(*x.operands[0]) ||
            x.operands[1]->kind != Expr::Kind::Int || x.operands[1]->intValue != 0)
            return false;
        if (!x.builtin) return false;
        if (x.builtin->id == ast::BuiltinId::ReadBig) {
            shift = x.builtin->width - 8;
            return true;
        }
        if (x.builtin->id != ast::BuiltinId::ReadLittle) return false;
        shift = 0;
        low = true;
        return true;
    };
    auto addRange = [](FirstBytes& out, uint64_t lo, uint64_t hi, unsigned shift, bool low) {
        if (low) {
            if (hi - lo >= 255) return false;
            for (uint64_t v = lo; v <= hi; ++v) out.set(size_t(v & 0xff));
            return true;
        }
        uint64_t a = lo >> shift, b = hi >> shift;
        if (a > 255) return true; // no first byte can make the value
        for (uint64_t v = a; v <= std::min<uint64_t>(b, 255); ++v) out.set(size_t(v));
        return true;
    };
    unsigned shift = 0;
    bool low = false;
    switch (e.kind) {
    case Expr::Kind::Binary: {
        const Expr& a = *e.operands[0];
        const Expr& b = *e.operands[1];
        if (e.text == "and") return firstBytesOf(a) & firstBytesOf(b);
        if (e.text == "or") return firstBytesOf(a) | firstBytesOf(b);
        if (e.text == "==") {
            const Expr* read = firstOf(a, shift, low) ? &a : firstOf(b, shift, low) ? &b : nullptr;
            const Expr* k = read == &a ? &b : &a;
            if (!read || k->kind != Expr::Kind::Int) return all;
            FirstBytes out;
            if (!addRange(out, k->intValue, k->intValue, shift, low)) return all;
            return out;
        }
        return all;
    }
    case Expr::Kind::In: {
        if (!firstOf(*e.operands[0], shift, low)) return all;
        FirstBytes out;
        for (const auto& c : e.cases)
            if (!addRange(out, c.lo, c.hi, shift, low)) return all;
        return out;
    }
    case Expr::Kind::Call: {
        bool ci = e.builtin && e.builtin->id == ast::BuiltinId::IStartsWith;
        bool cs = e.builtin && e.builtin->id == ast::BuiltinId::StartsWith;
        if ((!cs && !ci) || e.operands.size() < 2 || !isPayload(*e.operands[0])) return all;
        FirstBytes out;
        for (size_t i = 1; i < e.operands.size(); ++i) {
            const std::string& lit = e.operands[i]->text;
            if (e.operands[i]->kind != Expr::Kind::String || lit.empty()) return all;
            auto c = static_cast<unsigned char>(lit[0]);
            out.set(c);
            if (ci) {
                out.set(static_cast<unsigned char>(std::tolower(c)));
                out.set(static_cast<unsigned char>(std::toupper(c)));
            }
        }
        return out;
    }
    default:
        return all;
    }
}

/// `first` (0-256) is in `set`: one comparison, or a bit of a constant table.
Value* Lowerer::inByteSet(Value* first, const FirstBytes& set) {
    if (set.count() == 1)
        for (size_t v = 0; v < set.size(); ++v)
            if (set.test(v)) return B.CreateICmpEQ(first, B.getInt64(v));
    std::vector<uint64_t> words(5, 0);
    for (size_t v = 0; v < set.size(); ++v)
        if (set.test(v)) words[v / 64] |= uint64_t(1) << (v % 64);
    auto* arrTy = llvm::ArrayType::get(i64, words.size());
    auto* gv = new llvm::GlobalVariable(M, arrTy, true, llvm::GlobalValue::PrivateLinkage,
                                        llvm::ConstantDataArray::get(C, words), "first.bytes");
    gv->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    Value* word = B.CreateLoad(
        i64, B.CreateInBoundsGEP(arrTy, gv, {B.getInt64(0), B.CreateLShr(first, B.getInt64(6))}));
    Value* bit = B.CreateAnd(B.CreateLShr(word, B.CreateAnd(first, B.getInt64(63))), B.getInt64(1));
    return B.CreateICmpNE(bit, B.getInt64(0));
}

void Lowerer::defineClassify(const ast::Protocol& p, ProtoFns& f) {
    FnState st = begin(f.classify, p, FailMode::Silent);
    Value* res = f.classify->getArg(1);
    Value* out = f.classify->getArg(2);
    const std::vector<sema::ClassRule>& list = S->rules.at(&p); // in order (order-rules)
    lengthsFromResult(st, res);
    std::vector<FieldSet> needs;
    for (const sema::ClassRule& r : list) {
        FieldSet n = fieldsOf(p, {r.when, r.value});
        if (r.byPort && p.ports)
            for (auto* x : fieldsOf(p, {p.ports->src.get(), p.ports->dst.get()})) n.insert(x);
        needs.push_back(std::move(n));
    }
    // Dispatch on the payload's first byte: a rule whose condition needs a first byte
    // other than this one is not evaluated (256 stands for an empty payload).
    Value* first = nullptr;
    std::vector<FirstBytes> sets;
    for (const sema::ClassRule& r : list)
        sets.push_back(r.when ? firstBytesOf(*r.when) : FirstBytes{}.set());
    if (std::any_of(sets.begin(), sets.end(), [](const FirstBytes& b) { return !b.all(); })) {
        Value* has = B.CreateICmpUGT(st.payloadLen, B.getInt64(0));
        Value* at = B.CreateSelect(has, ptrAt(st, st.headerLen), stringConst(""));
        first = B.CreateSelect(has, B.CreateZExt(B.CreateLoad(i8, at), i64), B.getInt64(256));
    }
    auto guard = [&](size_t i) -> Value* {
        return first && !sets[i].all() ? inByteSet(first, sets[i]) : nullptr;
    };
    BasicBlock* matched = BasicBlock::Create(C, "matched", st.F);
    std::vector<std::pair<BasicBlock*, const sema::ClassRule*>> hits;
    // A rule that cannot be evaluated does not match; the next one is tried.
    walkForRules(
        st, p, needs,
        [&](size_t i) {
            const sema::ClassRule& r = list[i];
            BasicBlock* hit = BasicBlock::Create(C, "rule.hit", st.F);
            if (r.byPort) {
                Value* src = evalInt(st, *p.ports->src);
                Value* dst = evalInt(st, *p.ports->dst);
                BasicBlock* tryDst = BasicBlock::Create(C, "rule.dst", st.F);
                branchCases(src, *r.cases, hit, tryDst);
                B.SetInsertPoint(tryDst);
                branchCases(dst, *r.cases, hit, st.failBB);
            } else if (r.value) {
                branchCases(evalInt(st, *r.value), *r.cases, hit, st.failBB);
            } else {
                B.CreateCondBr(evalBool(st, *r.when), hit, st.failBB);
            }
            B.SetInsertPoint(hit);
            B.CreateBr(matched);
            hits.push_back({hit, &r});
        },
        guard);
    B.CreateRet(B.getInt32(0));
    // One exit for every rule that matches: the answer is a pair of constants, which
    // the optimizer turns into a table when the rules test one value.
    if (!hits.empty()) {
        B.SetInsertPoint(matched);
        llvm::PHINode* id = B.CreatePHI(i32, unsigned(hits.size()), "next.id");
        llvm::PHINode* weight = B.CreatePHI(i32, unsigned(hits.size()), "next.weight");
        llvm::PHINode* flags = B.CreatePHI(i32, unsigned(hits.size()), "next.flags");
        for (auto& [bb, r] : hits) {
            id->addIncoming(B.getInt32(uint32_t(*r->target->id)), bb);
            weight->addIncoming(B.getInt32(uint32_t(r->weight)), bb);
            flags->addIncoming(B.getInt32(r->quoted ? MMT_CLASS_QUOTED : 0), bb);
        }
        B.CreateStore(id, B.CreateStructGEP(classTy, out, abi::cls::NextId));
        B.CreateStore(weight, B.CreateStructGEP(classTy, out, abi::cls::Weight));
        B.CreateStore(flags, B.CreateStructGEP(classTy, out, abi::cls::Flags));
        B.CreateRet(B.getInt32(1));
    } else {
        matched->eraseFromParent();
    }
    // A header that cannot be walked classifies nothing.
    B.SetInsertPoint(st.failBB);
    B.CreateRet(B.getInt32(0));
}

} // namespace mmtc::codegen::detail
