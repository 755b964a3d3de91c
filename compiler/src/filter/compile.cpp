// Display filters to native code: a checked filter tree lowered to one LLVM function,
// optimized with the O1 pipeline and loaded with ORC's LLJIT, as protocol libraries are.
// The function reads values through the host function it is given, and compares strings,
// bytes and addresses through the helpers below, registered with the JIT by name.
#include "codegen/guarded_test.h"
#include "filter/filter_ast.h"

#include <fmt/format.h>

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <cstring>
#include <mutex>

extern "C" {

/// -1, 0 or 1 as `p[0..n)` sorts before, equal to or after `lit[0..litn)` (bytes, then
/// length).
int32_t mmt_filter_order(const uint8_t* p, uint32_t n, const uint8_t* lit, uint32_t litn) {
    uint32_t common = std::min(n, litn);
    int c = common ? std::memcmp(p, lit, common) : 0;
    if (c) return c < 0 ? -1 : 1;
    return n < litn ? -1 : n > litn ? 1 : 0;
}

/// 1 when `p[0..n)` has the length of `lit` and the same first `bits` bits.
int32_t mmt_filter_prefix(const uint8_t* p, uint32_t n, const uint8_t* lit, uint32_t litn,
                          int32_t bits) {
    if (n != litn || bits < 0 || uint32_t(bits) > 8 * n) return 0;
    uint32_t whole = uint32_t(bits) / 8, rest = uint32_t(bits) % 8;
    if (whole && std::memcmp(p, lit, whole) != 0) return 0;
    if (!rest) return 1;
    uint8_t mask = uint8_t(0xff << (8 - rest));
    return ((p[whole] ^ lit[whole]) & mask) == 0;
}

/// 1 when `lit[0..litn)` occurs in `p[0..n)`.
int32_t mmt_filter_contains(const uint8_t* p, uint32_t n, const uint8_t* lit, uint32_t litn) {
    if (litn == 0) return 1;
    if (n < litn) return 0;
    return memmem(p, n, lit, litn) != nullptr;
}

/// 1 when the regular expression `re` (a std::regex) matches somewhere in `p[0..n)`.
int32_t mmt_filter_matches(const void* re, const uint8_t* p, uint32_t n) {
    const char* s = reinterpret_cast<const char*>(p);
    if (!s) s = "";
    return std::regex_search(s, s + n, *static_cast<const std::regex*>(re));
}
}

namespace mmtc::filter {

namespace {

std::string errorText(llvm::Error e) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << e;
    return os.str();
}

class Lowering {
  public:
    Lowering(llvm::Module& m, size_t stride)
        : m_(m), ctx_(m.getContext()), b_(ctx_), stride_(stride) {
        i1_ = b_.getInt1Ty();
        i8_ = b_.getInt8Ty();
        i32_ = b_.getInt32Ty();
        i64_ = b_.getInt64Ty();
        i8p_ = llvm::PointerType::getUnqual(i8_);
        valuesTy_ =
            llvm::FunctionType::get(i64_, {i8p_, i32_, llvm::PointerType::getUnqual(i8p_)}, false);
    }

    /// int32_t mmt_filter_main(void* ctx, ValuesFn values)
    void lower(const Node& root) {
        auto* fnTy =
            llvm::FunctionType::get(i32_, {i8p_, llvm::PointerType::getUnqual(valuesTy_)}, false);
        fn_ = llvm::Function::Create(fnTy, llvm::Function::ExternalLinkage, "mmt_filter_main", m_);
        hostCtx_ = fn_->getArg(0);
        values_ = fn_->getArg(1);
        b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn_));
        tests_ = countTests(root);
        llvm::Value* r = emit(root);
        b_.CreateRet(b_.CreateZExt(r, i32_));
    }

  private:
    /// Tests beyond which each stays a function of its own: the loop passes of a function
    /// with a loop per test take time quadratic in the number of loops.
    static constexpr size_t kInlineTests = 16;

    static size_t countTests(const Node& n) {
        if (n.children.empty()) return 1;
        size_t k = 0;
        for (const auto& c : n.children) k += countTests(*c);
        return k;
    }

    llvm::Value* emit(const Node& n) {
        switch (n.kind) {
        case Node::Kind::Or:
        case Node::Kind::And:
            return emitList(n);
        case Node::Kind::Not:
            return b_.CreateNot(emit(*n.children[0]));
        default:
            return emitTest(n);
        }
    }

    /// A test, as a call to a function of its own (inlined when the filter is small).
    llvm::Value* emitTest(const Node& n) {
        llvm::BasicBlock* at = b_.GetInsertBlock();
        llvm::Function* outer = fn_;
        llvm::Value *ctx = hostCtx_, *values = values_;
        auto* ty =
            llvm::FunctionType::get(i1_, {i8p_, llvm::PointerType::getUnqual(valuesTy_)}, false);
        fn_ = llvm::Function::Create(ty, llvm::Function::PrivateLinkage, "test", m_);
        if (tests_ > kInlineTests) fn_->addFnAttr(llvm::Attribute::NoInline);
        hostCtx_ = fn_->getArg(0);
        values_ = fn_->getArg(1);
        b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn_));
        first_ = b_.CreateAlloca(i8p_, nullptr, "first");
        b_.CreateRet(emitLeaf(n));
        llvm::Function* test = fn_;
        fn_ = outer;
        hostCtx_ = ctx;
        values_ = values;
        b_.SetInsertPoint(at);
        return b_.CreateCall(test, {hostCtx_, values_});
    }

    llvm::Value* emitLeaf(const Node& n) {
        switch (n.kind) {
        case Node::Kind::Or:
        case Node::Kind::And:
        case Node::Kind::Not:
            return emit(n);
        case Node::Kind::Present:
            return b_.CreateICmpSGT(count(n), llvm::ConstantInt::get(i64_, 0));
        case Node::Kind::Compare:
            if (n.op == Op::Ne) {
                // As tshark: present, and no occurrence equal.
                llvm::Value* cnt = nullptr;
                llvm::Value* anyEq = any(
                    n, [&](llvm::Value* v) { return equal(n, n.literals[0], v); }, &cnt);
                return b_.CreateAnd(b_.CreateICmpSGT(cnt, llvm::ConstantInt::get(i64_, 0)),
                                    b_.CreateNot(anyEq));
            }
            return any(n, [&](llvm::Value* v) { return compare(n, n.literals[0], v); });
        case Node::Kind::In:
            return any(n, [&](llvm::Value* v) {
                llvm::Value* r = llvm::ConstantInt::getFalse(ctx_);
                for (const Literal& l : n.literals) r = b_.CreateOr(r, equal(n, l, v));
                return r;
            });
        case Node::Kind::Contains:
            return any(n, [&](llvm::Value* v) {
                auto [p, len] = bytesOf(v);
                auto [lit, litLen] = literalBytes(n.literals[0].bytes);
                llvm::Value* r = b_.CreateCall(
                    helper("mmt_filter_contains", {i8p_, i32_, i8p_, i32_}), {p, len, lit, litLen});
                return b_.CreateICmpNE(r, llvm::ConstantInt::get(i32_, 0));
            });
        case Node::Kind::Matches:
            return any(n, [&](llvm::Value* v) {
                auto [p, len] = bytesOf(v);
                llvm::Value* re = b_.CreateIntToPtr(
                    llvm::ConstantInt::get(i64_, reinterpret_cast<uint64_t>(n.regex)), i8p_);
                llvm::Value* r =
                    b_.CreateCall(helper("mmt_filter_matches", {i8p_, i8p_, i32_}), {re, p, len});
                return b_.CreateICmpNE(r, llvm::ConstantInt::get(i32_, 0));
            });
        }
        return llvm::ConstantInt::getFalse(ctx_);
    }

    /// Short-circuit `or` / `and` of the children.
    llvm::Value* emitList(const Node& n) {
        bool isOr = n.kind == Node::Kind::Or;
        auto* done = llvm::BasicBlock::Create(ctx_, isOr ? "or.done" : "and.done", fn_);
        std::vector<std::pair<llvm::Value*, llvm::BasicBlock*>> in;
        for (size_t i = 0; i < n.children.size(); ++i) {
            llvm::Value* v = emit(*n.children[i]);
            llvm::BasicBlock* at = b_.GetInsertBlock();
            if (i + 1 == n.children.size()) {
                in.emplace_back(v, at);
                b_.CreateBr(done);
                break;
            }
            auto* next = llvm::BasicBlock::Create(ctx_, isOr ? "or.next" : "and.next", fn_);
            if (isOr)
                b_.CreateCondBr(v, done, next);
            else
                b_.CreateCondBr(v, next, done);
            in.emplace_back(
                isOr ? llvm::ConstantInt::getTrue(ctx_) : llvm::ConstantInt::getFalse(ctx_), at);
            b_.SetInsertPoint(next);
        }
        b_.SetInsertPoint(done);
        llvm::PHINode* phi = b_.CreatePHI(i1_, unsigned(in.size()));
        for (auto& [v, bb] : in) phi->addIncoming(v, bb);
        return phi;
    }

    llvm::Value* count(const Node& n) {
        return b_.CreateCall(
            valuesTy_, values_,
            {hostCtx_, llvm::ConstantInt::get(i32_, uint64_t(uint32_t(n.slot))), first_});
    }

    /// Whether `pred` holds for any occurrence of `n`'s attribute on the packet.
    template <typename Pred>
    llvm::Value* any(const Node& n, Pred pred, llvm::Value** countOut = nullptr) {
        llvm::Value* cnt = count(n);
        if (countOut) *countOut = cnt;
        llvm::Value* base = b_.CreateLoad(i8p_, first_);
        llvm::BasicBlock* pre = b_.GetInsertBlock();
        auto* head = llvm::BasicBlock::Create(ctx_, "any.head", fn_);
        auto* body = llvm::BasicBlock::Create(ctx_, "any.body", fn_);
        auto* latch = llvm::BasicBlock::Create(ctx_, "any.next", fn_);
        auto* done = llvm::BasicBlock::Create(ctx_, "any.done", fn_);
        b_.CreateBr(head);
        b_.SetInsertPoint(head);
        llvm::PHINode* i = b_.CreatePHI(i64_, 2);
        i->addIncoming(llvm::ConstantInt::get(i64_, 0), pre);
        b_.CreateCondBr(b_.CreateICmpSLT(i, cnt), body, done);
        b_.SetInsertPoint(body);
        llvm::Value* v =
            b_.CreateGEP(i8_, base, b_.CreateMul(i, llvm::ConstantInt::get(i64_, stride_)));
        llvm::Value* r = pred(v);
        llvm::BasicBlock* bodyEnd = b_.GetInsertBlock();
        b_.CreateCondBr(r, done, latch);
        b_.SetInsertPoint(latch);
        i->addIncoming(b_.CreateAdd(i, llvm::ConstantInt::get(i64_, 1)), latch);
        b_.CreateBr(head);
        b_.SetInsertPoint(done);
        llvm::PHINode* phi = b_.CreatePHI(i1_, 2);
        phi->addIncoming(llvm::ConstantInt::getFalse(ctx_), head);
        phi->addIncoming(llvm::ConstantInt::getTrue(ctx_), bodyEnd);
        return phi;
    }

    llvm::Value* field(llvm::Value* v, unsigned offset, llvm::Type* t) {
        llvm::Value* p = b_.CreateGEP(i8_, v, llvm::ConstantInt::get(i64_, offset));
        return b_.CreateLoad(t, b_.CreateBitCast(p, llvm::PointerType::getUnqual(t)));
    }
    // mmt_value: type (u32) at 0, len (u32) at 4, u (u64) at 8, ptr at 16.
    llvm::Value* lenOf(llvm::Value* v) { return field(v, offsetof(mmt_value, len), i32_); }
    llvm::Value* uintOf(llvm::Value* v) { return field(v, offsetof(mmt_value, u), i64_); }
    std::pair<llvm::Value*, llvm::Value*> bytesOf(llvm::Value* v) {
        return {field(v, offsetof(mmt_value, ptr), i8p_), lenOf(v)};
    }

    std::pair<llvm::Value*, llvm::Value*> literalBytes(const std::string& bytes) {
        llvm::Constant* data = llvm::ConstantDataArray::getString(ctx_, bytes, true);
        auto* g = new llvm::GlobalVariable(m_, data->getType(), true,
                                           llvm::GlobalValue::PrivateLinkage, data, "lit");
        g->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
        return {b_.CreateConstInBoundsGEP2_64(data->getType(), g, 0, 0),
                llvm::ConstantInt::get(i32_, bytes.size())};
    }

    llvm::FunctionCallee helper(const char* name, std::vector<llvm::Type*> params) {
        return m_.getOrInsertFunction(name, llvm::FunctionType::get(i32_, params, false));
    }

    /// The IPv4 address of `v` as a number, and whether it has one (4 bytes).
    template <typename Pred> llvm::Value* withIpv4(llvm::Value* v, Pred pred) {
        auto [p, len] = bytesOf(v);
        llvm::Value* four = b_.CreateICmpEQ(len, llvm::ConstantInt::get(i32_, 4));
        return ir::guardedTest(b_, fn_, four, "ipv4.load", "ipv4.join", [&, p = p] {
            llvm::LoadInst* raw =
                b_.CreateLoad(i32_, b_.CreateBitCast(p, llvm::PointerType::getUnqual(i32_)));
            raw->setAlignment(llvm::Align(1));
            llvm::Function* bswap =
                llvm::Intrinsic::getDeclaration(&m_, llvm::Intrinsic::bswap, {i32_});
            return pred(b_.CreateZExt(b_.CreateCall(bswap, {raw}), i64_));
        });
    }

    llvm::Value* cmpInt(Op op, llvm::Value* x, uint64_t k) {
        llvm::Value* c = llvm::ConstantInt::get(x->getType(), k);
        switch (op) {
        case Op::Eq:
            return b_.CreateICmpEQ(x, c);
        case Op::Ne:
            return b_.CreateICmpNE(x, c);
        case Op::Lt:
            return b_.CreateICmpULT(x, c);
        case Op::Le:
            return b_.CreateICmpULE(x, c);
        case Op::Gt:
            return b_.CreateICmpUGT(x, c);
        case Op::Ge:
            return b_.CreateICmpUGE(x, c);
        }
        return llvm::ConstantInt::getFalse(ctx_);
    }

    /// An occurrence equals a literal: a value or range, an address or CIDR block, bytes.
    llvm::Value* equal(const Node& n, const Literal& l, llvm::Value* v) {
        switch (n.type) {
        case MMT_T_UINT:
        case MMT_T_BOOL: {
            llvm::Value* u = uintOf(v);
            if (l.lo == l.hi) return cmpInt(Op::Eq, u, l.lo);
            return b_.CreateAnd(cmpInt(Op::Ge, u, l.lo), cmpInt(Op::Le, u, l.hi));
        }
        case MMT_T_IPV4:
            return withIpv4(v, [&](llvm::Value* x) {
                uint64_t mask = l.prefix < 0 || l.prefix == 32 ? 0xffffffffu
                                : l.prefix == 0                ? 0
                                                : (0xffffffffu << (32 - l.prefix)) & 0xffffffffu;
                return cmpInt(Op::Eq, b_.CreateAnd(x, llvm::ConstantInt::get(i64_, mask)),
                              l.lo & mask);
            });
        default: {
            auto [p, len] = bytesOf(v);
            auto [lit, litLen] = literalBytes(l.bytes);
            llvm::Value* r;
            if (l.prefix >= 0)
                r = b_.CreateCall(helper("mmt_filter_prefix", {i8p_, i32_, i8p_, i32_, i32_}),
                                  {p, len, lit, litLen, llvm::ConstantInt::get(i32_, l.prefix)});
            else
                r = b_.CreateICmpEQ(
                    b_.CreateCall(helper("mmt_filter_order", {i8p_, i32_, i8p_, i32_}),
                                  {p, len, lit, litLen}),
                    llvm::ConstantInt::get(i32_, 0));
            return l.prefix >= 0 ? b_.CreateICmpNE(r, llvm::ConstantInt::get(i32_, 0)) : r;
        }
        }
    }

    /// An occurrence compared with a literal by `n.op` (never Ne: see emit).
    llvm::Value* compare(const Node& n, const Literal& l, llvm::Value* v) {
        if (n.op == Op::Eq) return equal(n, l, v);
        switch (n.type) {
        case MMT_T_UINT:
        case MMT_T_BOOL:
            return cmpInt(n.op, uintOf(v), l.lo);
        case MMT_T_IPV4:
            return withIpv4(v, [&](llvm::Value* x) { return cmpInt(n.op, x, l.lo); });
        default: {
            auto [p, len] = bytesOf(v);
            auto [lit, litLen] = literalBytes(l.bytes);
            llvm::Value* order = b_.CreateCall(helper("mmt_filter_order", {i8p_, i32_, i8p_, i32_}),
                                               {p, len, lit, litLen});
            llvm::Value* zero = llvm::ConstantInt::get(i32_, 0);
            switch (n.op) {
            case Op::Lt:
                return b_.CreateICmpSLT(order, zero);
            case Op::Le:
                return b_.CreateICmpSLE(order, zero);
            case Op::Gt:
                return b_.CreateICmpSGT(order, zero);
            default:
                return b_.CreateICmpSGE(order, zero);
            }
        }
        }
    }

    llvm::Module& m_;
    llvm::LLVMContext& ctx_;
    llvm::IRBuilder<> b_;
    size_t stride_;
    llvm::Type *i1_, *i8_, *i32_, *i64_;
    llvm::PointerType* i8p_;
    llvm::FunctionType* valuesTy_;
    llvm::Function* fn_ = nullptr;
    llvm::Value *hostCtx_ = nullptr, *values_ = nullptr;
    llvm::AllocaInst* first_ = nullptr;
    size_t tests_ = 0;
};

void optimize(llvm::Module& m) {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb;
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O1).run(m, mam);
}

} // namespace

struct Filter::Impl {
    Program program;
    std::string tree;
    std::unique_ptr<llvm::orc::LLJIT> jit;
};

Filter::Filter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Filter::~Filter() = default;

const std::string& Filter::tree() const {
    return impl_->tree;
}

std::unique_ptr<Filter> Filter::compile(std::string_view text, const Resolver& resolve,
                                        size_t stride, std::string& diagnostic,
                                        std::string_view source) {
    auto impl = std::make_unique<Impl>();
    if (!parse(text, resolve, source, impl->program, diagnostic)) return nullptr;
    impl->tree = describe(*impl->program.root);
    auto internal = [&](std::string msg) {
        diagnostic =
            fmt::format("{}: error: internal error compiling the filter: {}\n", source, msg);
        return nullptr;
    };

    static std::once_flag once;
    std::call_once(once, [] {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
        llvm::InitializeNativeTargetAsmParser();
    });
    auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) return internal(errorText(jtmb.takeError()));
    auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
    if (!jit) return internal(errorText(jit.takeError()));

    auto ctx = std::make_unique<llvm::LLVMContext>();
    auto m = std::make_unique<llvm::Module>("mmt-display-filter", *ctx);
    m->setDataLayout((*jit)->getDataLayout());
    m->setTargetTriple((*jit)->getTargetTriple().str());
    Lowering(*m, stride).lower(*impl->program.root);
    std::string verify;
    llvm::raw_string_ostream vos(verify);
    if (llvm::verifyModule(*m, &vos)) return internal("invalid IR: " + vos.str());
    optimize(*m);

    // The helpers the code may call; nothing else resolves.
    const std::pair<const char*, void*> helpers[] = {
        {"mmt_filter_order", reinterpret_cast<void*>(&mmt_filter_order)},
        {"mmt_filter_prefix", reinterpret_cast<void*>(&mmt_filter_prefix)},
        {"mmt_filter_contains", reinterpret_cast<void*>(&mmt_filter_contains)},
        {"mmt_filter_matches", reinterpret_cast<void*>(&mmt_filter_matches)},
        {"memcmp", reinterpret_cast<void*>(&std::memcmp)},
        {"bcmp", reinterpret_cast<void*>(&std::memcmp)},
    };
    llvm::orc::SymbolMap symbols;
    for (const auto& [name, address] : helpers)
        symbols[(*jit)->mangleAndIntern(name)] = llvm::JITEvaluatedSymbol(
            llvm::pointerToJITTargetAddress(address), llvm::JITSymbolFlags::Exported);
    if (auto err = (*jit)->getMainJITDylib().define(llvm::orc::absoluteSymbols(symbols)))
        return internal(errorText(std::move(err)));
    if (auto err = (*jit)->addIRModule(llvm::orc::ThreadSafeModule(std::move(m), std::move(ctx))))
        return internal(errorText(std::move(err)));
    auto sym = (*jit)->lookup("mmt_filter_main");
    if (!sym) return internal(errorText(sym.takeError()));
    impl->jit = std::move(*jit);
    auto fn = reinterpret_cast<int32_t (*)(void*, ValuesFn)>(sym->getAddress());
    auto f = std::unique_ptr<Filter>(new Filter(std::move(impl)));
    f->fn_ = fn;
    return f;
}

} // namespace mmtc::filter
