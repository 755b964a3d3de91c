// Lazy libraries: the table of every protocol compiled at once, each protocol's code
// when one of its stage functions is first called (ORC lazy re-exports over a JITDylib in
// which each protocol is a materialization unit).
#include "codegen/jit.h"
#include "codegen/jit_util.h"
#include "codegen/lower.h"
#include "sema/sema.h"

#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/Support/SmallVectorMemoryBuffer.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace mmtc::codegen {

using namespace jitutil;

namespace {

// Why the last protocol that could not be compiled lazily could not: its stubs call
// lazyCompileFailed instead, which says so, as the program's one-line error, and ends the
// process with the status of specs that do not load (3). Output written before stands.
std::mutex lazyErrorLock;
std::string lazyError;

void lazyCompileFailed() {
    {
        std::lock_guard<std::mutex> hold(lazyErrorLock);
        std::fprintf(stderr, "%s: error: %s\n", program_invocation_short_name, lazyError.c_str());
    }
    std::fflush(nullptr);
    std::_Exit(3);
}

/// Functions of more IR instructions than this get a light pipeline when compiled lazily
/// (optimize): udp's and tcp's classification, which try every rule over them, and a few
/// long getters. O1 takes three times as long on them: udp's unit took 210 ms to compile
/// with O1, 134 ms with its classification lightened.
constexpr unsigned kLightOver = 4000;

/// One protocol of a library compiled lazily: lowered, optimised and compiled when one of
/// its stage functions is first called, then linked like any object.
class ProtocolUnit : public llvm::orc::MaterializationUnit {
  public:
    ProtocolUnit(Interface symbols, const sema::SemaContext& sema, const ast::Protocol& proto,
                 std::vector<std::string> exports, llvm::orc::ObjectLayer& layer,
                 std::atomic<unsigned>& compiled)
        : MaterializationUnit(std::move(symbols)), sema_(sema), proto_(proto),
          exports_(std::move(exports)), layer_(layer), compiled_(compiled),
          name_("mmt-protocol-" + proto.name) {}

    llvm::StringRef getName() const override { return name_; }

  private:
    void materialize(std::unique_ptr<llvm::orc::MaterializationResponsibility> r) override {
        std::string error;
        llvm::SmallVector<char, 0> buf;
        if (!build(buf, error)) {
            {
                std::lock_guard<std::mutex> hold(lazyErrorLock);
                lazyError = "protocol '" + proto_.name + "' could not be compiled: " + error;
            }
            r->failMaterialization();
            return;
        }
        compiled_.fetch_add(1, std::memory_order_relaxed);
        layer_.emit(std::move(r),
                    std::make_unique<llvm::SmallVectorMemoryBuffer>(std::move(buf), name_));
    }

    void discard(const llvm::orc::JITDylib&, const llvm::orc::SymbolStringPtr&) override {}

    bool build(llvm::SmallVectorImpl<char>& buf, std::string& error) {
        // The IR is optimised (O1) as always; the machine code is made the fast way (fast
        // instruction selection and register allocation): code generation takes a third
        // of the time, for code about 11% slower per packet (bench/RESULTS.md). The
        // cache, filled in the background, has the library at full speed for the next run.
        auto tm = makeTargetMachine(error, llvm::CodeGenOpt::None);
        if (!tm) return false;
        llvm::LLVMContext ctx;
        llvm::Module m(name_, ctx);
        std::vector<std::string> missing;
        auto lowerFn = [&] { missing = lowerProtocol(sema_, m, proto_, exports_); };
        if (!lowerChecked(m, *tm, lowerFn, error)) return false;
        if (!missing.empty()) {
            error = "internal error: its code does not define " + missing.front();
            return false;
        }
        optimize(m, tm.get(), 0, kLightOver);
        return emitObject(m, *tm, buf, error);
    }

    const sema::SemaContext& sema_;
    const ast::Protocol& proto_;
    const std::vector<std::string> exports_;
    llvm::orc::ObjectLayer& layer_;
    std::atomic<unsigned>& compiled_;
    const std::string name_;
};

} // namespace

std::unique_ptr<NativeLibrary> NativeLibrary::lazy(const sema::SemaContext& sema,
                                                   std::shared_ptr<const void> owner,
                                                   Timings& timings, std::string& error) {
    auto lib = std::unique_ptr<NativeLibrary>(new NativeLibrary());
    Impl& m = *lib->impl_;
    m.owner = std::move(owner);
    // The table of every protocol, compiled now; it names their stage functions.
    Stopwatch t0;
    // Mostly data: the fast code generator does as well.
    auto tm = makeTargetMachine(error, llvm::CodeGenOpt::None);
    if (!tm) return nullptr;
    std::vector<std::pair<const ast::Protocol*, std::vector<std::string>>> exports;
    llvm::SmallVector<char, 0> table;
    {
        llvm::LLVMContext ctx;
        llvm::Module mod("mmt-library-table", ctx);
        if (!lowerChecked(
                mod, *tm, [&] { lowerTable(sema, mod, exports); }, error))
            return nullptr;
        timings.lowerMs = t0.wallMs();
        timings.cpuLowerMs = t0.cpuMs();
        Stopwatch t1;
        if (!emitObject(mod, *tm, table, error)) return nullptr;
        timings.codegenMs = t1.wallMs();
        timings.cpuCodegenMs = t1.cpuMs();
    }
    Stopwatch t2;
    auto jit = makeJit(error);
    if (!jit) return nullptr;
    llvm::orc::ExecutionSession& es = jit->getExecutionSession();
    // A protocol that fails to compile is reported once, by lazyCompileFailed.
    es.setErrorReporter([](llvm::Error err) { llvm::consumeError(std::move(err)); });
    llvm::orc::JITDylib& main = jit->getMainJITDylib();
    llvm::orc::JITDylib& code = es.createBareJITDylib("mmt-protocols");
    if (!defineHostSymbols(*jit, main, error) || !defineHostSymbols(*jit, code, error))
        return nullptr;
    // The table calls each stage function through a stub: the first call compiles the
    // function's protocol (all its functions) and points the stubs at the code.
    const llvm::Triple& triple = tm->getTargetTriple();
    auto callThrough = llvm::orc::createLocalLazyCallThroughManager(
        triple, es, llvm::pointerToJITTargetAddress(&lazyCompileFailed));
    if (!callThrough) {
        error = errorText(callThrough.takeError());
        return nullptr;
    }
    m.callThrough = std::move(*callThrough);
    m.stubs = llvm::orc::createLocalIndirectStubsManagerBuilder(triple)();
    const auto flags = llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable;
    llvm::orc::SymbolAliasMap aliases;
    for (auto& [proto, names] : exports) {
        if (names.empty()) continue;
        llvm::orc::SymbolFlagsMap symbols;
        for (const std::string& name : names) {
            auto symbol = jit->mangleAndIntern(name);
            symbols[symbol] = flags;
            aliases[symbol] = llvm::orc::SymbolAliasMapEntry(symbol, flags);
        }
        auto unit = std::make_unique<ProtocolUnit>(
            llvm::orc::MaterializationUnit::Interface(std::move(symbols), nullptr), sema, *proto,
            std::move(names), jit->getObjLinkingLayer(), m.compiled);
        if (auto err = code.define(std::move(unit))) {
            error = errorText(std::move(err));
            return nullptr;
        }
    }
    if (auto err = main.define(
            llvm::orc::lazyReexports(*m.callThrough, *m.stubs, code, std::move(aliases)))) {
        error = errorText(std::move(err));
        return nullptr;
    }
    if (auto err = jit->addObjectFile(main, std::make_unique<llvm::SmallVectorMemoryBuffer>(
                                                std::move(table), "mmt-library-table"))) {
        error = errorText(std::move(err));
        return nullptr;
    }
    m.jit = std::move(jit);
    if (!m.joinTables(jitLookup(*m.jit), 1, error)) return nullptr;
    timings.linkMs = t2.wallMs();
    timings.cpuLinkMs = t2.cpuMs();
    return lib;
}

unsigned NativeLibrary::compiledProtocols() const {
    return impl_->compiled.load(std::memory_order_relaxed);
}

} // namespace mmtc::codegen
