// Compiling a checked library to a native object and loading objects with ORC.
// No LLVM types cross this header.
#pragma once

#include "mmt/abi.h"

#include <memory>
#include <string>
#include <vector>

namespace mmtc::sema {
struct SemaContext;
}

namespace mmtc::codegen {

struct Timings {
    double parseMs = 0;
    double checkMs = 0;
    double lowerMs = 0;
    double optimizeMs = 0;
    double codegenMs = 0;
    double linkMs = 0;
    // Thread CPU time of the same phases: steadier than wall time on a busy machine.
    double cpuLowerMs = 0;
    double cpuOptimizeMs = 0;
    double cpuCodegenMs = 0;
    double cpuLinkMs = 0;
};

/// Wall and thread CPU time since construction, in milliseconds.
struct Stopwatch {
    Stopwatch();
    double wallMs() const;
    double cpuMs() const;

  private:
    double wall0, cpu0;
};

/// Native code loaded into this process; owns it for as long as it lives.
class NativeLibrary {
  public:
    ~NativeLibrary();
    const mmt_library* table() const;
    /// Who links the code: ORC's LLJIT, or the runtime's own loader (mmt::ObjectCode),
    /// which needs no LLVM and starts faster.
    enum class Linker { Orc, Loader };
    /// Links an object made by buildObject (for this host) and finds its library table.
    static std::unique_ptr<NativeLibrary>
    fromObject(const std::vector<char>& object, std::string& error, Linker linker = Linker::Loader);

    /// A library whose protocols compile when a packet first reaches them: the table of
    /// every protocol is compiled now, each protocol's stage functions (lowered, optimised
    /// at O1) on the first call of one of them, on the calling thread. `owner` keeps
    /// `sema` (and what it refers to) alive for as long as the library lives.
    static std::unique_ptr<NativeLibrary> lazy(const sema::SemaContext& sema,
                                               std::shared_ptr<const void> owner, Timings& timings,
                                               std::string& error);
    /// How many protocols a lazy library has compiled so far (0 for any other).
    unsigned compiledProtocols() const;

  private:
    NativeLibrary();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Lowers, optimizes at O1 and emits a relocatable object for the host CPU.
/// `irText`, when given, receives the IR (after optimization when `optimizeIr`).
bool buildObject(sema::SemaContext& sema, std::vector<char>& object, std::string* irText,
                 bool optimizeIr, Timings& timings, std::string& error);

/// Size and field offsets of each abi.h struct as generated code lays it out on this host.
struct AbiLayout {
    std::string name;
    unsigned long long size = 0;
    std::vector<unsigned long long> offsets;
};
std::vector<AbiLayout> abiLayouts();

/// Whether generated code is instrumented for coverage (fuzz builds that asked for it):
/// such code is cached apart.
bool coverageOn();

/// A hash of the compiler's sources (mmt_compiler_source_stamp(), generated at build time
/// by compiler/source_stamp.cmake): a cached object is only as good as the compiler that
/// made it, so the cache keys on it.
const char* sourceStamp();

} // namespace mmtc::codegen
