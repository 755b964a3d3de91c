// Native code from IR: the O1 pipeline, object emission for the host CPU, loading
// through ORC's LLJIT with the host helpers registered explicitly, and the on-disk cache.
// LLVM headers are included only here and in the code generator's other files.
#include "codegen/jit.h"
#include "codegen/jit_util.h"

#include "codegen/host_table.h"
#include "codegen/lower.h"
#include "loader/library_object.h"
#include "mmt/abi.h"
#include "mmtc/compiler.h"
#include "mmtc/stamp.h"
#include "sema/sema.h"

#include <llvm/ADT/StringMap.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/IndirectionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/LazyReexports.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/SubtargetFeature.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Passes/StandardInstrumentations.h>
#include <llvm/Support/Host.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/SmallVectorMemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Transforms/IPO/MergeFunctions.h>
#include <llvm/Transforms/InstCombine/InstCombine.h>
#include <llvm/Transforms/Instrumentation/AddressSanitizer.h>
#include <llvm/Transforms/Scalar/EarlyCSE.h>
#include <llvm/Transforms/Scalar/SROA.h>
#include <llvm/Transforms/Scalar/SimplifyCFG.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include <time.h>

// A compiler built with AddressSanitizer instruments the code it generates too, so that
// tests and fuzzers catch a generated read outside the packet where it happens (generated
// code is otherwise invisible to the sanitizer). Production builds are unaffected.
#if defined(__SANITIZE_ADDRESS__)
#define MMT_ASAN_JIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MMT_ASAN_JIT 1
#endif
#endif
#ifndef MMT_ASAN_JIT
#define MMT_ASAN_JIT 0
#endif

// A build for fuzzing (tests/fuzz/CMakeLists.txt defines MMT_COVERAGE_JIT) can give
// libFuzzer the coverage of generated code: the code generator then adds, like clang's
// -fsanitize=fuzzer, a counter and a PC-table entry per basic block and calls that trace
// comparisons and switches (see instrumentCoverage below). The fuzzer's runtime provides
// the functions; they are weak here so that a fuzz build's other programs link without it.
#ifndef MMT_COVERAGE_JIT
#define MMT_COVERAGE_JIT 0
#endif
#if MMT_COVERAGE_JIT
extern "C" {
__attribute__((weak)) void __sanitizer_cov_8bit_counters_init(uint8_t*, uint8_t*);
__attribute__((weak)) void __sanitizer_cov_pcs_init(const uintptr_t*, const uintptr_t*);
__attribute__((weak)) void __sanitizer_cov_trace_cmp1(uint8_t, uint8_t);
__attribute__((weak)) void __sanitizer_cov_trace_cmp2(uint16_t, uint16_t);
__attribute__((weak)) void __sanitizer_cov_trace_cmp4(uint32_t, uint32_t);
__attribute__((weak)) void __sanitizer_cov_trace_cmp8(uint64_t, uint64_t);
__attribute__((weak)) void __sanitizer_cov_trace_const_cmp1(uint8_t, uint8_t);
__attribute__((weak)) void __sanitizer_cov_trace_const_cmp2(uint16_t, uint16_t);
__attribute__((weak)) void __sanitizer_cov_trace_const_cmp4(uint32_t, uint32_t);
__attribute__((weak)) void __sanitizer_cov_trace_const_cmp8(uint64_t, uint64_t);
__attribute__((weak)) void __sanitizer_cov_trace_switch(uint64_t, uint64_t*);
}
#endif

namespace mmtc::codegen {

namespace {

// Set by mmtc::instrumentForFuzzing; read by every compilation that follows.
std::atomic<bool> coverageWanted{false};

} // namespace

bool coverageOn() {
    return MMT_COVERAGE_JIT && coverageWanted.load(std::memory_order_relaxed);
}

namespace jitutil {

#if MMT_COVERAGE_JIT
std::string coverageSymbol(const char* what, unsigned part) {
    return std::string("mmt_coverage_") + what + std::to_string(part);
}
#endif

void initTargets() {
    static std::once_flag once;
    std::call_once(once, [] {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
        llvm::InitializeNativeTargetAsmParser();
    });
}

std::string errorText(llvm::Error e) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << e;
    return os.str();
}

double wallNow() {
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

double cpuNow() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

/// The host target: triple, CPU and features decide what the object may use.
struct HostTarget {
    std::string triple;
    std::string cpu;
    std::string features;
};

HostTarget hostTarget() {
    HostTarget t;
    t.triple = llvm::sys::getProcessTriple();
    t.cpu = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures f;
    llvm::StringMap<bool> feats;
    if (llvm::sys::getHostCPUFeatures(feats))
        for (auto& kv : feats) f.AddFeature(kv.first(), kv.second);
    t.features = f.getString();
    return t;
}

std::string buildInfo(const HostTarget& t) {
    return "llvm " LLVM_VERSION_STRING "; abi " + std::to_string(MMT_ABI_VERSION) + "; " +
           t.triple + "; " + t.cpu + "; " + t.features + (MMT_ASAN_JIT ? "; asan" : "") +
           (coverageOn() ? "; coverage" : "");
}

std::unique_ptr<llvm::TargetMachine> makeTargetMachine(std::string& error,
                                                       llvm::CodeGenOpt::Level level) {
    initTargets();
    auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) {
        error = errorText(jtmb.takeError());
        return nullptr;
    }
    jtmb->setRelocationModel(llvm::Reloc::PIC_);
    jtmb->setCodeGenOptLevel(level);
    auto tm = jtmb->createTargetMachine();
    if (!tm) {
        error = errorText(tm.takeError());
        return nullptr;
    }
    return std::move(*tm);
}

#if MMT_COVERAGE_JIT
// The comparison-tracing call for an integer comparison of `bits` bits, with the constant
// variant when one side is a constant (libFuzzer then learns the value to aim for).
llvm::FunctionCallee traceCmp(llvm::Module& m, unsigned bits, bool constant) {
    llvm::Type* t = llvm::Type::getIntNTy(m.getContext(), bits);
    std::string name = std::string("__sanitizer_cov_trace_") + (constant ? "const_" : "") + "cmp" +
                       std::to_string(bits / 8);
    return m.getOrInsertFunction(name, llvm::Type::getVoidTy(m.getContext()), t, t);
}

/// Coverage for libFuzzer in module `m`, part `part` of a library: an 8-bit counter per
/// basic block (incremented on entry) in `mmt_coverage_counters<part>`, the matching PC
/// table (an address per block, flags: 1 for a function's entry) in `mmt_coverage_pcs<part>`,
/// their length in `mmt_coverage_size<part>`; calls before every integer comparison and
/// switch. NativeLibrary::fromObject registers the tables with the fuzzer.
void instrumentCoverage(llvm::Module& m, unsigned part) {
    llvm::LLVMContext& ctx = m.getContext();
    llvm::Type* i8 = llvm::Type::getInt8Ty(ctx);
    llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
    std::vector<llvm::BasicBlock*> blocks;
    std::vector<llvm::Instruction*> compares;
    for (llvm::Function& f : m) {
        if (f.isDeclaration()) continue;
        for (llvm::BasicBlock& bb : f) {
            blocks.push_back(&bb);
            for (llvm::Instruction& in : bb)
                if (llvm::isa<llvm::ICmpInst>(in) || llvm::isa<llvm::SwitchInst>(in))
                    compares.push_back(&in);
        }
    }
    const uint64_t n = blocks.size();
    auto* counterType = llvm::ArrayType::get(i8, n);
    auto* counters = new llvm::GlobalVariable(
        m, counterType, false, llvm::GlobalValue::ExternalLinkage,
        llvm::ConstantAggregateZero::get(counterType), coverageSymbol("counters", part));
    std::vector<llvm::Constant*> pcs;
    // Counters are not checked by AddressSanitizer, as clang leaves them.
    llvm::MDNode* noSanitize = llvm::MDNode::get(ctx, {});
    const unsigned noSanitizeKind = ctx.getMDKindID("nosanitize");
    for (uint64_t i = 0; i < n; ++i) {
        llvm::BasicBlock* bb = blocks[i];
        llvm::Function* f = bb->getParent();
        bool entry = bb == &f->getEntryBlock();
        // The block's "PC" is its counter's address: unique, and unlike block addresses it
        // does not tie the table to code that later passes rewrite (a table of block
        // addresses is rebuilt at every such change).
        llvm::Constant* slot = llvm::ConstantExpr::getInBoundsGetElementPtr(
            counterType, counters,
            llvm::ArrayRef<llvm::Constant*>{llvm::ConstantInt::get(i64, 0),
                                            llvm::ConstantInt::get(i64, i)});
        pcs.push_back(llvm::ConstantExpr::getPtrToInt(slot, i64));
        pcs.push_back(llvm::ConstantInt::get(i64, entry ? 1 : 0));
        llvm::IRBuilder<> b(&*bb->getFirstInsertionPt());
        llvm::LoadInst* old = b.CreateLoad(i8, slot);
        old->setMetadata(noSanitizeKind, noSanitize);
        llvm::StoreInst* st = b.CreateStore(b.CreateAdd(old, llvm::ConstantInt::get(i8, 1)), slot);
        st->setMetadata(noSanitizeKind, noSanitize);
    }
    auto* pcType = llvm::ArrayType::get(i64, 2 * n);
    new llvm::GlobalVariable(m, pcType, true, llvm::GlobalValue::ExternalLinkage,
                             llvm::ConstantArray::get(pcType, pcs), coverageSymbol("pcs", part));
    new llvm::GlobalVariable(m, i64, true, llvm::GlobalValue::ExternalLinkage,
                             llvm::ConstantInt::get(i64, n), coverageSymbol("size", part));

    for (llvm::Instruction* in : compares) {
        llvm::IRBuilder<> b(in);
        if (auto* cmp = llvm::dyn_cast<llvm::ICmpInst>(in)) {
            llvm::Value *l = cmp->getOperand(0), *r = cmp->getOperand(1);
            auto* t = llvm::dyn_cast<llvm::IntegerType>(l->getType());
            if (!t) continue;
            unsigned bits = t->getBitWidth();
            if (bits != 8 && bits != 16 && bits != 32 && bits != 64) continue;
            bool lc = llvm::isa<llvm::Constant>(l), rc = llvm::isa<llvm::Constant>(r);
            if (lc && rc) continue;
            if (rc) std::swap(l, r); // the constant first, as libFuzzer expects
            b.CreateCall(traceCmp(m, bits, lc || rc), {l, r});
        } else if (auto* sw = llvm::dyn_cast<llvm::SwitchInst>(in)) {
            llvm::Value* v = sw->getCondition();
            auto* t = llvm::dyn_cast<llvm::IntegerType>(v->getType());
            if (!t || t->getBitWidth() > 64 || sw->getNumCases() == 0) continue;
            // The cases for libFuzzer: their number, the width, then each value.
            std::vector<llvm::Constant*> cases{llvm::ConstantInt::get(i64, sw->getNumCases()),
                                               llvm::ConstantInt::get(i64, t->getBitWidth())};
            for (auto& c : sw->cases())
                cases.push_back(llvm::ConstantInt::get(i64, c.getCaseValue()->getZExtValue()));
            auto* caseType = llvm::ArrayType::get(i64, cases.size());
            auto* table =
                new llvm::GlobalVariable(m, caseType, true, llvm::GlobalValue::PrivateLinkage,
                                         llvm::ConstantArray::get(caseType, cases));
            llvm::FunctionCallee fn =
                m.getOrInsertFunction("__sanitizer_cov_trace_switch", llvm::Type::getVoidTy(ctx),
                                      i64, llvm::PointerType::getUnqual(i64));
            b.CreateCall(
                fn, {b.CreateZExt(v, i64), b.CreateConstInBoundsGEP2_64(caseType, table, 0, 0)});
        }
    }
}
#endif

void optimize(llvm::Module& m, llvm::TargetMachine* tm, unsigned part, unsigned lightOver) {
    // Analysis managers in the order the new pass manager requires.
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    // Functions marked optnone are left alone (the new pass manager skips them only when
    // told to).
    llvm::PassInstrumentationCallbacks callbacks;
    llvm::OptNoneInstrumentation optNone(/*DebugLogging=*/false);
    optNone.registerCallbacks(callbacks);
    llvm::PassBuilder pb(tm, llvm::PipelineTuningOptions(), llvm::None, &callbacks);
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    if (lightOver) {
        llvm::FunctionPassManager light;
        light.addPass(llvm::SROAPass());
        light.addPass(llvm::EarlyCSEPass());
        light.addPass(llvm::SimplifyCFGPass());
        light.addPass(llvm::InstCombinePass());
        for (llvm::Function& f : m) {
            if (f.isDeclaration() || f.getInstructionCount() <= lightOver) continue;
            light.run(f, fam);
            // O1 leaves it alone then. A stage function is called through the table, never
            // inlined: noinline costs nothing, and optnone needs it.
            f.addFnAttr(llvm::Attribute::NoInline);
            f.addFnAttr(llvm::Attribute::OptimizeNone);
        }
    }
    // Identical stage functions first become one (clang's -fmerge-functions): the O1
    // pipeline and the backend then see each distinct function once.
    {
        llvm::ModulePassManager merge;
        merge.addPass(llvm::MergeFunctionsPass());
        merge.run(m, mam);
    }
    // O1, not O2: on stage functions (straight-line field walks, no loops worth
    // vectorising) O2 finds nothing more (bench/callgrind.sh: 2902 instructions per
    // packet at O2, 2904 at O1) and takes a third longer.
    llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O1);
    // ... and again after it, for functions that became identical (the backend is the
    // dearer half of compile time, and it works per function).
    mpm.addPass(llvm::MergeFunctionsPass());
#if MMT_COVERAGE_JIT
    // As clang places it: after optimization, before AddressSanitizer.
    if (coverageOn()) {
        mpm.run(m, mam);
        mpm = llvm::ModulePassManager();
        instrumentCoverage(m, part);
    }
#else
    (void)part;
#endif
#if MMT_ASAN_JIT
    // As clang places it: after optimization. Globals are left alone (their registration
    // would need the module's constructors to run); loads and stores are checked.
    for (llvm::Function& f : m)
        if (!f.isDeclaration()) f.addFnAttr(llvm::Attribute::SanitizeAddress);
    llvm::AddressSanitizerOptions asan;
    asan.UseAfterReturn = llvm::AsanDetectStackUseAfterReturnMode::Never;
    mpm.addPass(llvm::RequireAnalysisPass<llvm::ASanGlobalsMetadataAnalysis, llvm::Module>());
    mpm.addPass(llvm::createModuleToFunctionPassAdaptor(llvm::AddressSanitizerPass(asan)));
#endif
    mpm.run(m, mam);
}

} // namespace jitutil

using namespace jitutil;

Stopwatch::Stopwatch() : wall0(wallNow()), cpu0(cpuNow()) {}
double Stopwatch::wallMs() const {
    return wallNow() - wall0;
}
double Stopwatch::cpuMs() const {
    return cpuNow() - cpu0;
}

NativeLibrary::NativeLibrary() : impl_(std::make_unique<Impl>()) {}
NativeLibrary::~NativeLibrary() = default;
const mmt_library* NativeLibrary::table() const {
    return impl_->object ? impl_->object->table() : &impl_->table;
}

namespace jitutil {

/// The symbols generated code may use besides its own: the host helpers and, in builds
/// for fuzzing and with sanitizers, their runtimes' entry points.
std::vector<std::pair<std::string, void*>> externalSymbols() {
    std::vector<std::pair<std::string, void*>> out;
    for (const HostFn& h : hostFunctions()) out.emplace_back(h.name, h.address);
#if MMT_COVERAGE_JIT
    if (coverageOn()) {
        const std::pair<const char*, void*> tracing[] = {
            {"__sanitizer_cov_trace_cmp1", reinterpret_cast<void*>(&__sanitizer_cov_trace_cmp1)},
            {"__sanitizer_cov_trace_cmp2", reinterpret_cast<void*>(&__sanitizer_cov_trace_cmp2)},
            {"__sanitizer_cov_trace_cmp4", reinterpret_cast<void*>(&__sanitizer_cov_trace_cmp4)},
            {"__sanitizer_cov_trace_cmp8", reinterpret_cast<void*>(&__sanitizer_cov_trace_cmp8)},
            {"__sanitizer_cov_trace_const_cmp1",
             reinterpret_cast<void*>(&__sanitizer_cov_trace_const_cmp1)},
            {"__sanitizer_cov_trace_const_cmp2",
             reinterpret_cast<void*>(&__sanitizer_cov_trace_const_cmp2)},
            {"__sanitizer_cov_trace_const_cmp4",
             reinterpret_cast<void*>(&__sanitizer_cov_trace_const_cmp4)},
            {"__sanitizer_cov_trace_const_cmp8",
             reinterpret_cast<void*>(&__sanitizer_cov_trace_const_cmp8)},
            {"__sanitizer_cov_trace_switch",
             reinterpret_cast<void*>(&__sanitizer_cov_trace_switch)},
        };
        for (const auto& [name, address] : tracing) out.emplace_back(name, address);
    }
#endif
    return out;
}

/// Instrumented code calls the sanitizer's runtime, which this process has loaded.
bool isSanitizerSymbol(llvm::StringRef name) {
    return MMT_ASAN_JIT && name.startswith("__asan_");
}

/// An LLJIT for this host.
std::unique_ptr<llvm::orc::LLJIT> makeJit(std::string& error) {
    initTargets();
    auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) {
        error = errorText(jtmb.takeError());
        return nullptr;
    }
    auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
    if (!jit) {
        error = errorText(jit.takeError());
        return nullptr;
    }
    return std::move(*jit);
}

/// The helpers generated code may call, registered by name in `jd`; nothing else resolves.
bool defineHostSymbols(llvm::orc::LLJIT& jit, llvm::orc::JITDylib& jd, std::string& error) {
    llvm::orc::SymbolMap symbols;
    for (const auto& [name, address] : externalSymbols())
        symbols[jit.mangleAndIntern(name)] = llvm::JITEvaluatedSymbol(
            llvm::pointerToJITTargetAddress(address), llvm::JITSymbolFlags::Exported);
    if (auto err = jd.define(llvm::orc::absoluteSymbols(symbols))) {
        error = errorText(std::move(err));
        return false;
    }
    if (MMT_ASAN_JIT) {
        auto asanRuntime = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
            jit.getDataLayout().getGlobalPrefix(),
            [](const llvm::orc::SymbolStringPtr& name) { return isSanitizerSymbol(*name); });
        if (!asanRuntime) {
            error = errorText(asanRuntime.takeError());
            return false;
        }
        jd.addGenerator(std::move(*asanRuntime));
    }
    return true;
}

std::function<void*(const std::string&)> jitLookup(llvm::orc::LLJIT& jit) {
    return [&jit](const std::string& name) -> void* {
        auto sym = jit.lookup(name);
        if (!sym) {
            llvm::consumeError(sym.takeError());
            return nullptr;
        }
        return reinterpret_cast<void*>(sym->getAddress());
    };
}

/// Machine code for `m`: a relocatable object.
bool emitObject(llvm::Module& m, llvm::TargetMachine& tm, llvm::SmallVectorImpl<char>& buf,
                std::string& error) {
    llvm::raw_svector_ostream os(buf);
    llvm::legacy::PassManager pm;
    if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CGFT_ObjectFile)) {
        error = "the target cannot emit object files";
        return false;
    }
    pm.run(m);
    return true;
}

/// A module for the host, lowered by `lowerFn`, checked by the verifier.
bool lowerChecked(llvm::Module& m, llvm::TargetMachine& tm, const std::function<void()>& lowerFn,
                  std::string& error) {
    m.setTargetTriple(tm.getTargetTriple().str());
    m.setDataLayout(tm.createDataLayout());
    try {
        lowerFn();
    } catch (const std::exception& e) {
        // A spec the checker accepted but the code generator cannot handle: a bug, reported
        // as an error rather than a crash.
        error = std::string("internal error: ") + e.what();
        return false;
    }
    std::string verify;
    llvm::raw_string_ostream vos(verify);
    if (llvm::verifyModule(m, &vos)) {
        error = "internal error: invalid IR generated: " + vos.str();
        return false;
    }
    return true;
}

} // namespace jitutil

using namespace jitutil;

std::unique_ptr<NativeLibrary> NativeLibrary::fromObject(const std::vector<char>& object,
                                                         std::string& error, Linker linker) {
    const std::string_view data(object.data(), object.size());
    auto lib = std::unique_ptr<NativeLibrary>(new NativeLibrary());
    std::function<void*(const std::string&)> lookup;
    size_t parts = 0;
    if (linker == Linker::Loader) {
        // The loader knows the host functions and the sanitizer's runtime; the coverage
        // tracing functions of a fuzzing build are ours to give.
        const auto external = externalSymbols();
        auto loaded = mmt::LibraryObject::load(
            data,
            [&](std::string_view name) -> void* {
                for (const auto& [n, address] : external)
                    if (n == name) return address;
                return nullptr;
            },
            error);
        if (!loaded) return nullptr;
        lib->impl_->object = std::move(loaded);
        parts = lib->impl_->object->parts();
        lookup = [object = lib->impl_->object.get()](const std::string& name) {
            return object->symbol(name);
        };
    } else {
        std::vector<std::string_view> objects;
        if (!mmt::unpack_objects(data, objects)) {
            error = "not an mmt-journey protocol library (or one made by another version)";
            return nullptr;
        }
        parts = objects.size();
        auto jit = makeJit(error);
        if (!jit || !defineHostSymbols(*jit, jit->getMainJITDylib(), error)) return nullptr;
        for (size_t i = 0; i < objects.size(); ++i) {
            auto buf = llvm::MemoryBuffer::getMemBufferCopy(
                llvm::StringRef(objects[i].data(), objects[i].size()),
                "mmt-library-part" + std::to_string(i));
            if (auto err = jit->addObjectFile(std::move(buf))) {
                error = errorText(std::move(err));
                return nullptr;
            }
        }
        lib->impl_->jit = std::move(jit);
        lookup = jitLookup(*lib->impl_->jit);
    }
    // The loader checks the machine; the compiler also checks LLVM and its own version.
    const char* got = static_cast<const char*>(lookup("mmt_build_info"));
    if (!got) {
        error = "not an mmt-journey protocol library: it has no build information";
        return nullptr;
    }
    std::string expected = buildInfo(hostTarget());
    if (expected != got) {
        error =
            "protocol library was built for another machine or version (" + std::string(got) + ")";
        return nullptr;
    }
#if MMT_COVERAGE_JIT
    for (size_t i = 0; i < parts && coverageOn(); ++i) {
        void* counters = lookup(coverageSymbol("counters", unsigned(i)));
        void* pcs = lookup(coverageSymbol("pcs", unsigned(i)));
        void* size = lookup(coverageSymbol("size", unsigned(i)));
        if (!counters || !pcs || !size) {
            error = "protocol library has no coverage tables";
            return nullptr;
        }
        uint64_t n = *static_cast<const uint64_t*>(size);
        auto* c = static_cast<uint8_t*>(counters);
        auto* p = static_cast<const uintptr_t*>(pcs);
        __sanitizer_cov_8bit_counters_init(c, c + n);
        __sanitizer_cov_pcs_init(p, p + 2 * n);
    }
#endif
    if (lib->impl_->object) return lib;
    if (!lib->impl_->joinTables(lookup, parts, error)) return nullptr;
    return lib;
}

bool NativeLibrary::Impl::joinTables(const std::function<void*(const std::string&)>& lookup,
                                     size_t parts, std::string& error) {
    if (!mmt::join_parts(lookup, parts, protos, services, error)) return false;
    table.abi_version = MMT_ABI_VERSION;
    table.n_protos = uint32_t(protos.size());
    table.protos = protos.data();
    table.n_services = uint32_t(services.size());
    table.services = services.data();
    return true;
}

namespace {

/// Code size of a protocol, roughly: what its functions will hold.
size_t weightOf(const ast::Protocol& p) {
    return 4 + p.fieldTable.size() + 3 * p.attributes.size() + p.overs.size() + p.records.size();
}

/// Protocols in `k` parts of about equal weight (the heaviest first, each to the lightest part).
std::vector<std::vector<const ast::Protocol*>> partition(const sema::SemaContext& sema,
                                                         unsigned k) {
    std::vector<const ast::Protocol*> protos(sema.ordered.begin(), sema.ordered.end());
    std::stable_sort(
        protos.begin(), protos.end(),
        [](const ast::Protocol* a, const ast::Protocol* b) { return weightOf(*a) > weightOf(*b); });
    std::vector<std::vector<const ast::Protocol*>> parts(k);
    std::vector<size_t> load(k, 0);
    for (const ast::Protocol* p : protos) {
        size_t lightest = size_t(std::min_element(load.begin(), load.end()) - load.begin());
        parts[lightest].push_back(p);
        load[lightest] += weightOf(*p);
    }
    return parts;
}

/// How many parts to compile at once: the machine's cores, at most 8; MMT_COMPILE_JOBS
/// overrides.
unsigned jobs(size_t protocols) {
    unsigned n = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
    if (const char* env = std::getenv("MMT_COMPILE_JOBS"); env && *env)
        n = unsigned(std::max(1, std::atoi(env)));
    return unsigned(std::min<size_t>(n, std::max<size_t>(1, protocols)));
}

struct PartResult {
    std::vector<char> object;
    std::string ir;
    std::string error;
    Timings timings;
};

/// One part, start to finish, in its own LLVM context (so parts can run on threads).
void buildPart(sema::SemaContext& sema, const std::vector<const ast::Protocol*>& mine,
               unsigned index, bool wantIr, bool optimizeIr, PartResult& out) {
    Stopwatch t0;
    auto tm = makeTargetMachine(out.error);
    if (!tm) return;
    llvm::LLVMContext ctx;
    llvm::Module m("mmt-library-part" + std::to_string(index), ctx);
    auto lowerPart = [&] {
        lower(sema, m, mine, index);
        if (index != 0) return;
        // The target this object is for, checked again when it is loaded.
        std::string info = buildInfo(hostTarget());
        llvm::Constant* str = llvm::ConstantDataArray::getString(ctx, info, true);
        new llvm::GlobalVariable(m, str->getType(), true, llvm::GlobalValue::ExternalLinkage, str,
                                 "mmt_build_info");
        // The machine, as the runtime's loader identifies it without LLVM.
        llvm::Constant* id = llvm::ConstantDataArray::getString(ctx, mmt::host_id(), true);
        new llvm::GlobalVariable(m, id->getType(), true, llvm::GlobalValue::ExternalLinkage, id,
                                 mmt::kHostIdSymbol);
    };
    const bool lowered = lowerChecked(m, *tm, lowerPart, out.error);
    out.timings.lowerMs = t0.wallMs();
    out.timings.cpuLowerMs = t0.cpuMs();
    if (!lowered) {
        if (wantIr && !m.empty()) {
            llvm::raw_string_ostream os(out.ir);
            m.print(os, nullptr);
        }
        return;
    }
    Stopwatch t1;
    if (optimizeIr) optimize(m, tm.get(), index);
    out.timings.optimizeMs = t1.wallMs();
    out.timings.cpuOptimizeMs = t1.cpuMs();
    if (wantIr) {
        llvm::raw_string_ostream os(out.ir);
        m.print(os, nullptr);
    }
    Stopwatch t2;
    llvm::SmallVector<char, 0> buf;
    if (!emitObject(m, *tm, buf, out.error)) return;
    out.object.assign(buf.begin(), buf.end());
    out.timings.codegenMs = t2.wallMs();
    out.timings.cpuCodegenMs = t2.cpuMs();
}

} // namespace

bool buildObject(sema::SemaContext& sema, std::vector<char>& object, std::string* irText,
                 bool optimizeIr, Timings& timings, std::string& error) {
    // Parts of the library compile on threads of their own: optimization and code
    // generation take nearly all the time, and they parallelize without sharing.
    // A protocol's weight only estimates its code (a few values can expand into much), so
    // there are several parts per thread, each thread taking the next part when it is
    // done with one: no thread waits long for another's heavy part.
    unsigned n = jobs(sema.ordered.size());
    unsigned k = unsigned(std::min<size_t>(n == 1 ? 1 : 4 * n, sema.ordered.size()));
    auto parts = partition(sema, k);
    std::vector<PartResult> results(k);
    {
        std::atomic<unsigned> next{0};
        auto work = [&] {
            for (unsigned i; (i = next.fetch_add(1)) < k;)
                buildPart(sema, parts[i], i, irText != nullptr, optimizeIr, results[i]);
        };
        std::vector<std::thread> threads;
        for (unsigned t = 1; t < n; ++t) threads.emplace_back(work);
        work();
        for (auto& t : threads) t.join();
    }
    // Per phase, the wall time of the slowest part (parts run one after another on each
    // thread, so not the wall time the phase cost the whole compile) and the CPU time of all.
    timings.lowerMs = timings.optimizeMs = timings.codegenMs = 0;
    timings.cpuLowerMs = timings.cpuOptimizeMs = timings.cpuCodegenMs = 0;
    std::vector<std::vector<char>> objects;
    std::string failed;
    for (unsigned i = 0; i < k; ++i) {
        const PartResult& r = results[i];
        if (irText) *irText += "; ---- part " + std::to_string(i) + "\n" + r.ir;
        if (!r.error.empty() && failed.empty()) failed = r.error;
        timings.lowerMs = std::max(timings.lowerMs, r.timings.lowerMs);
        timings.optimizeMs = std::max(timings.optimizeMs, r.timings.optimizeMs);
        timings.codegenMs = std::max(timings.codegenMs, r.timings.codegenMs);
        timings.cpuLowerMs += r.timings.cpuLowerMs;
        timings.cpuOptimizeMs += r.timings.cpuOptimizeMs;
        timings.cpuCodegenMs += r.timings.cpuCodegenMs;
        objects.push_back(r.object);
    }
    if (!failed.empty()) {
        error = failed;
        return false;
    }
    object = mmt::pack_objects(objects);
    return true;
}

const char* sourceStamp() {
    return mmt_compiler_source_stamp();
}

std::vector<AbiLayout> abiLayouts() {
    std::vector<AbiLayout> out;
    std::string error;
    auto tm = makeTargetMachine(error);
    if (!tm) return out;
    llvm::LLVMContext ctx;
    llvm::Module m("abi", ctx);
    m.setDataLayout(tm->createDataLayout());
    for (const AbiStruct& a : abiStructs(m)) out.push_back(AbiLayout{a.name, a.size, a.offsets});
    return out;
}

} // namespace mmtc::codegen

bool mmtc::instrumentForFuzzing(bool on) {
#if MMT_COVERAGE_JIT
    if (&__sanitizer_cov_8bit_counters_init == nullptr || &__sanitizer_cov_pcs_init == nullptr)
        return false; // not linked with libFuzzer
    codegen::coverageWanted = on;
    return true;
#else
    (void)on;
    return false;
#endif
}
