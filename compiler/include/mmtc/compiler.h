// libmmtc's public interface: load .mmtp specs, check them, compile them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct mmt_library;

namespace mmtc {

/// Native code for a protocol library, loaded in this process. The table stays valid
/// for as long as the Library lives.
class Library {
  public:
    enum class Origin { Compiled, Cache, Object, Lazy };
    ~Library();
    const mmt_library* table() const;
    /// How many protocols a library made by compileLazily() has compiled so far: those
    /// packets have reached. 0 for any other library.
    unsigned protocolsCompiled() const;
    Origin origin() const { return origin_; }

    struct Impl;
    Library(std::unique_ptr<Impl> impl, Origin origin);

  private:
    std::unique_ptr<Impl> impl_;
    Origin origin_;
};

/// Loads an object written by `mmtc build` (for this machine and version).
std::unique_ptr<Library> loadObject(const std::string& path, std::string& error);

/// Where compiled libraries are cached: $MMT_CACHE_DIR, else $XDG_CACHE_HOME/mmt-journey,
/// else ~/.cache/mmt-journey.
std::string defaultCacheDir();

/// Where the built-in protocol library lives: $MMT_SPEC_PATH if set; else
/// PREFIX/share/mmt-journey/protocols beside the running program's PREFIX/bin; else the
/// source tree's protocols.dsl/ (tools run from the build tree); else the folder of the
/// configured install prefix.
std::string builtinSpecDir();

/// The name of a value type (enum mmt_type of abi.h): "uint", "bool", "bytes", "string",
/// "mac", "ipv4", "ipv6", or "none".
const char* valueTypeName(uint32_t type);

/// What `--version` prints after a tool's name: the project's version, the LLVM version
/// code is generated with, the ABI version and the first 16 hex digits of the SHA-256 of
/// the compiler's sources (the hash the object cache keys on), e.g.
/// "0.1.0 (LLVM 14.0.6, ABI 7, compiler 3f2a...)".
std::string versionText();

/// Where the last check and code generation of a Compiler spent their time, in ms.
struct PhaseTimes {
    double parse = 0;    // parse trees and ASTs
    double check = 0;    // the checker's passes
    double lower = 0;    // LLVM IR generation
    double optimize = 0; // the O1 pipeline
    double codegen = 0;  // machine code and the object file
    double link = 0;     // loading the object with ORC (or from the cache)
};

/// One compilation: a set of spec files, checked together.
class Compiler {
  public:
    Compiler();
    ~Compiler();
    Compiler(const Compiler&) = delete;
    Compiler& operator=(const Compiler&) = delete;

    /// Adds a .mmtp file, or every .mmtp file under a folder (sorted by path).
    /// Returns false, with a message in ioError(), when the path cannot be read.
    bool addPath(const std::string& path);
    /// Adds spec text under a display name (tests, fuzzers).
    void addSource(const std::string& name, std::string text);
    const std::string& ioError() const;

    /// Parses and checks every file added; true when no error was reported.
    bool check();
    unsigned errorCount() const;
    /// Every diagnostic, rendered like clang's.
    std::string diagnostics() const;
    /// A readable tree of every parsed file, or of the first `files` added.
    std::string dumpAst(size_t files = size_t(-1)) const;
    /// The reference of every protocol checked, in Markdown (`mmtc doc`).
    std::string protocolDoc() const;

    // Code generation: each requires a successful check().

    /// Compiles every protocol to native code (LLVM at O1) and loads it.
    std::unique_ptr<Library> compile(std::string& error);
    /// Compiles the table of every protocol now and each protocol's code when a packet
    /// first reaches it (on the thread that calls it): a start in a fraction of a second
    /// whatever the library's size. The library takes the checked specs: this compiler is
    /// empty afterwards, but for its timings. A build for fuzzing compiles all at once.
    std::unique_ptr<Library> compileLazily(std::string& error);
    /// Like compile(), but reuses an object cached under `cacheDir` when the sources,
    /// LLVM version, ABI and host CPU are unchanged, and stores a new one otherwise.
    std::unique_ptr<Library> compileCached(const std::string& cacheDir, std::string& error);
    /// The library cached under `cacheDir` for these sources, LLVM version, ABI and host
    /// CPU, loaded; nullptr when there is none. Needs no check(): an entry is only ever
    /// stored for sources that checked, so a hit skips parsing and checking.
    std::unique_ptr<Library> loadCached(const std::string& cacheDir);
    /// Compiles every protocol into the cache under `cacheDir` unless the entry is there
    /// already, the folder does not exist, or another process is filling it (a lock file
    /// in it, `.filling`, says so): then it does nothing and succeeds.
    bool fillCache(const std::string& cacheDir, std::string& error);
    /// Writes a relocatable object for this machine that loadObject() can load. With a
    /// `cacheDir`, the object is the one cached there when there is one, and is cached
    /// there when it is compiled.
    bool writeObject(const std::string& path, std::string& error, const std::string& cacheDir = "");
    /// The LLVM IR of the library, before or after optimization.
    bool emitLLVM(bool optimized, std::string& ir, std::string& error);
    /// The cache key of this compilation's sources, compiler and machine: mmt::cache_key()
    /// of mmt_compiler_identity() and the sources' bytes.
    std::string cacheKey() const;
    /// Where compile time went, one phase a line, in milliseconds.
    std::string timings() const;
    /// The same, as numbers: wall-clock, or with `cpu` this thread's CPU time (parse and
    /// check are then 0: only code generation is measured both ways).
    PhaseTimes phaseTimes(bool cpu = false) const;

    struct Impl;
    Impl& impl() { return *impl_; }

  private:
    std::unique_ptr<Library> loadEntry(const std::string& path);
    std::unique_ptr<Impl> impl_;
};

/// In a build made for fuzzing (CMake option MMT_BUILD_FUZZ, linked with libFuzzer),
/// instruments the code every later compile() generates with coverage for libFuzzer:
/// inline 8-bit counters and a PC table per basic block, and comparison and switch
/// tracing, registered when the library is loaded. Returns false, and does nothing, in
/// any other build. A library compiled so must outlive the fuzzing run (libFuzzer keeps
/// reading its counters).
bool instrumentForFuzzing(bool on);

} // namespace mmtc
