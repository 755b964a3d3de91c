// Native code from IR: the O2 pipeline, object emission for the host CPU, loading
// through ORC's LLJIT with the host helpers registered explicitly, and the on-disk cache.
// This and lower.cpp are the only translation units that include LLVM headers.
#include "codegen/jit.h"

#include "codegen/host.h"
#include "codegen/lower.h"
#include "mmt/abi.h"

#include <llvm/ADT/StringMap.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/SubtargetFeature.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/Host.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Transforms/IPO/MergeFunctions.h>
#include <llvm/Transforms/Instrumentation/AddressSanitizer.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

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

namespace mmtc::codegen {

namespace {

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
           t.triple + "; " + t.cpu + "; " + t.features + (MMT_ASAN_JIT ? "; asan" : "");
}

std::unique_ptr<llvm::TargetMachine> makeTargetMachine(std::string& error) {
    initTargets();
    auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) {
        error = errorText(jtmb.takeError());
        return nullptr;
    }
    jtmb->setRelocationModel(llvm::Reloc::PIC_);
    jtmb->setCodeGenOptLevel(llvm::CodeGenOpt::Default);
    auto tm = jtmb->createTargetMachine();
    if (!tm) {
        error = errorText(tm.takeError());
        return nullptr;
    }
    return std::move(*tm);
}

void optimize(llvm::Module& m, llvm::TargetMachine* tm) {
    // Analysis managers in the order the new pass manager requires.
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm);
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    // Identical stage functions first become one (clang's -fmerge-functions): the O2
    // pipeline and the backend then see each distinct function once.
    {
        llvm::ModulePassManager merge;
        merge.addPass(llvm::MergeFunctionsPass());
        merge.run(m, mam);
    }
    llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2);
    // ... and again after it, for functions that became identical (the backend is the
    // dearer half of compile time, and it works per function).
    mpm.addPass(llvm::MergeFunctionsPass());
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

} // namespace

Stopwatch::Stopwatch() : wall0(wallNow()), cpu0(cpuNow()) {}
double Stopwatch::wallMs() const {
    return wallNow() - wall0;
}
double Stopwatch::cpuMs() const {
    return cpuNow() - cpu0;
}

struct NativeLibrary::Impl {
    std::unique_ptr<llvm::orc::LLJIT> jit;
    const mmt_library* table = nullptr;
};

NativeLibrary::NativeLibrary() : impl_(std::make_unique<Impl>()) {}
NativeLibrary::~NativeLibrary() = default;
const mmt_library* NativeLibrary::table() const {
    return impl_->table;
}

std::unique_ptr<NativeLibrary> NativeLibrary::fromObject(const std::vector<char>& object,
                                                         std::string& error) {
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
    // The helpers generated code may call, registered by name; nothing else resolves.
    llvm::orc::SymbolMap symbols;
    unsigned n = 0;
    const HostSymbol* hs = hostSymbols(n);
    for (unsigned i = 0; i < n; ++i)
        symbols[(*jit)->mangleAndIntern(hs[i].name)] = llvm::JITEvaluatedSymbol(
            llvm::pointerToJITTargetAddress(hs[i].address), llvm::JITSymbolFlags::Exported);
    // LLVM may turn memcmp(...) == 0 into bcmp.
    symbols[(*jit)->mangleAndIntern("bcmp")] = llvm::JITEvaluatedSymbol(
        llvm::pointerToJITTargetAddress(reinterpret_cast<void*>(&std::memcmp)),
        llvm::JITSymbolFlags::Exported);
    if (auto err = (*jit)->getMainJITDylib().define(llvm::orc::absoluteSymbols(symbols))) {
        error = errorText(std::move(err));
        return nullptr;
    }
#if MMT_ASAN_JIT
    // Instrumented code calls the sanitizer's runtime, which this process has loaded.
    auto asanRuntime = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
        (*jit)->getDataLayout().getGlobalPrefix(),
        [](const llvm::orc::SymbolStringPtr& name) { return (*name).startswith("__asan_"); });
    if (!asanRuntime) {
        error = errorText(asanRuntime.takeError());
        return nullptr;
    }
    (*jit)->getMainJITDylib().addGenerator(std::move(*asanRuntime));
#endif
    auto buf = llvm::MemoryBuffer::getMemBufferCopy(llvm::StringRef(object.data(), object.size()),
                                                    "mmt-library");
    if (auto err = (*jit)->addObjectFile(std::move(buf))) {
        error = errorText(std::move(err));
        return nullptr;
    }
    auto info = (*jit)->lookup("mmt_build_info");
    if (!info) {
        error = "not an mmt-journey protocol library: " + errorText(info.takeError());
        return nullptr;
    }
    std::string expected = buildInfo(hostTarget());
    const char* got = reinterpret_cast<const char*>(info->getAddress());
    if (expected != got) {
        error =
            "protocol library was built for another machine or version (" + std::string(got) + ")";
        return nullptr;
    }
    auto sym = (*jit)->lookup(MMT_LIBRARY_SYMBOL);
    if (!sym) {
        error = errorText(sym.takeError());
        return nullptr;
    }
    auto lib = std::unique_ptr<NativeLibrary>(new NativeLibrary());
    lib->impl_->table = reinterpret_cast<const mmt_library*>(sym->getAddress());
    lib->impl_->jit = std::move(*jit);
    if (lib->impl_->table->abi_version != MMT_ABI_VERSION) {
        error =
            "protocol library has ABI version " + std::to_string(lib->impl_->table->abi_version);
        return nullptr;
    }
    return lib;
}

bool buildObject(sema::SemaContext& sema, std::vector<char>& object, std::string* irText,
                 bool optimizeIr, Timings& timings, std::string& error) {
    Stopwatch t0;
    auto tm = makeTargetMachine(error);
    if (!tm) return false;
    llvm::LLVMContext ctx;
    llvm::Module m("mmt-library", ctx);
    m.setTargetTriple(tm->getTargetTriple().str());
    m.setDataLayout(tm->createDataLayout());
    try {
        lower(sema, m);
    } catch (const std::exception& e) {
        // A spec the checker accepted but the code generator cannot handle: a bug, reported
        // as an error rather than a crash.
        error = std::string("internal error: ") + e.what();
        return false;
    }
    // The target this object is for, checked again when it is loaded.
    {
        std::string info = buildInfo(hostTarget());
        llvm::Constant* str = llvm::ConstantDataArray::getString(ctx, info, true);
        new llvm::GlobalVariable(m, str->getType(), true, llvm::GlobalValue::ExternalLinkage, str,
                                 "mmt_build_info");
    }
    timings.lowerMs = t0.wallMs();
    timings.cpuLowerMs = t0.cpuMs();
    std::string verify;
    llvm::raw_string_ostream vos(verify);
    if (llvm::verifyModule(m, &vos)) {
        error = "internal error: invalid IR generated: " + vos.str();
        if (irText) {
            llvm::raw_string_ostream os(*irText);
            m.print(os, nullptr);
        }
        return false;
    }
    Stopwatch t1;
    if (optimizeIr) optimize(m, tm.get());
    timings.optimizeMs = t1.wallMs();
    timings.cpuOptimizeMs = t1.cpuMs();
    if (irText) {
        llvm::raw_string_ostream os(*irText);
        m.print(os, nullptr);
    }
    Stopwatch t2;
    llvm::SmallVector<char, 0> buf;
    llvm::raw_svector_ostream os(buf);
    llvm::legacy::PassManager pm;
    if (tm->addPassesToEmitFile(pm, os, nullptr, llvm::CGFT_ObjectFile)) {
        error = "the target cannot emit object files";
        return false;
    }
    pm.run(m);
    object.assign(buf.begin(), buf.end());
    timings.codegenMs = t2.wallMs();
    timings.cpuCodegenMs = t2.cpuMs();
    return true;
}

std::string targetDescription() {
    return buildInfo(hostTarget());
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
