// mmtc: checks, inspects and compiles .mmtp protocol specs.
#include "mmtc/compiler.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

constexpr const char* kUsage = R"(usage: mmtc <command> [options] PATH...

Commands:
  check PATH...              check .mmtp files or folders of them; print every error
  dump-ast FILE...           print the syntax tree of each file
  build PATH... -o FILE      compile to a native object the runtime can load
  emit-llvm PATH...          print the LLVM IR of the compiled library
  doc PATH...                print the reference of every protocol, in Markdown

mmtc --version prints the version, the LLVM version and the compiler's hash.

Exit status: 0 no errors, 1 errors were reported, 2 usage or I/O problem.
Run 'mmtc <command> --help' for a command's options.
)";

constexpr const char* kCheckHelp = R"(usage: mmtc check [--no-builtin] PATH...

Parses and checks every .mmtp file given, or found under each folder given,
together with the built-in protocol library, as one library: protocols may refer
to each other across files, so 'over tcp' resolves. Diagnostics go to standard
error as 'file:line:col: error: message', then the source line and a caret under
the offending text, then notes.

  --no-builtin  check the files given alone, without the built-in library
  --quiet       print nothing; only the exit status tells
)";

constexpr const char* kDocHelp = R"(usage: mmtc doc [--builtin] PATH...

Checks the specs, then prints in Markdown every protocol with its description (the
comment lines above it), the protocols it runs over and how it is recognised, its
session and its attributes with their types. docs/protocols.md is its output on
protocols.dsl/.
)";

constexpr const char* kDumpHelp = R"(usage: mmtc dump-ast [--no-builtin] FILE...

Prints the syntax tree of each file given with the line and column of every
node. The files are checked with the built-in library, as 'mmtc check' does.

  --no-builtin  check the files given alone, without the built-in library
)";

/// The .mmtp files of `path` (a file, or a folder searched recursively), canonical.
std::vector<std::string> specFiles(const std::string& path) {
    namespace fs = std::filesystem;
    std::vector<std::string> out;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        for (auto it = fs::recursive_directory_iterator(path, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
            if (it->is_regular_file() && it->path().extension() == ".mmtp")
                out.push_back(fs::weakly_canonical(it->path(), ec).string());
    } else {
        out.push_back(fs::weakly_canonical(path, ec).string());
    }
    return out;
}

/// The built-in library's files that are not among `paths` already (checking
/// protocols.dsl/ itself, or one of its files, must not declare its protocols twice).
std::vector<std::string> builtinFilesBesides(const std::vector<std::string>& paths) {
    std::set<std::string> given;
    for (const auto& p : paths)
        for (auto& f : specFiles(p)) given.insert(f);
    std::vector<std::string> out;
    for (auto& f : specFiles(mmtc::builtinSpecDir()))
        if (!given.count(f)) out.push_back(f);
    std::sort(out.begin(), out.end());
    return out;
}

/// Adds every path to `c`; prints the first I/O problem and returns false.
bool addPaths(mmtc::Compiler& c, const std::vector<std::string>& paths) {
    for (const auto& p : paths) {
        if (!c.addPath(p)) {
            std::fprintf(stderr, "mmtc: error: %s\n", c.ioError().c_str());
            return false;
        }
    }
    return true;
}

int usage(const char* msg) {
    std::fprintf(stderr, "mmtc: error: %s\n%s", msg, kUsage);
    return 2;
}

constexpr const char* kBuildHelp = R"(usage: mmtc build [options] PATH... -o FILE

Checks the specs, compiles them with LLVM at O1 for this machine and writes a
relocatable object. mmtrun and the runtime library load it with '-l FILE'
instead of compiling specs at start-up.

  -o FILE         where to write the object (required, but with --cache-only)
  --cache-only    only store the object in the compile cache (unless it is
                  there already, or another mmtc is filling the cache): what
                  mmtrun starts, at a low priority, after a cache miss
  --builtin       also compile the built-in protocol library
  --no-cache      compile even when the compile cache has the object (the
                  cache mmtrun uses: $MMT_CACHE_DIR, else ~/.cache/mmt-journey)
  --time-passes   print where compile time went
)";

constexpr const char* kEmitHelp = R"(usage: mmtc emit-llvm [options] PATH...

Prints the LLVM IR generated for the specs: one set of stage functions per
protocol and the library table.

  --builtin       also compile the built-in protocol library
  -O0             print the IR before optimization (default: after O1)
  --time-passes   print where compile time went, to standard error
)";

int runCodegen(const std::vector<std::string>& args, bool emit) {
    std::vector<std::string> paths;
    std::string out;
    bool builtin = false, timePasses = false, optimized = true, cache = true, cacheOnly = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h") {
            std::fputs(emit ? kEmitHelp : kBuildHelp, stdout);
            return 0;
        }
        if (a == "--builtin")
            builtin = true;
        else if (a == "--time-passes")
            timePasses = true;
        else if (emit && a == "-O0")
            optimized = false;
        else if (!emit && a == "--no-cache")
            cache = false;
        else if (!emit && a == "--cache-only")
            cacheOnly = true;
        else if (!emit && a == "-o") {
            if (i + 1 >= args.size()) return usage("'-o' needs a file name");
            out = args[++i];
        } else if (!a.empty() && a[0] == '-')
            return usage(("unknown option '" + a + "'").c_str());
        else
            paths.push_back(a);
    }
    if (builtin) paths.insert(paths.begin(), mmtc::builtinSpecDir());
    if (paths.empty()) return usage("no input files");
    if (cacheOnly && (!out.empty() || !cache))
        return usage("'--cache-only' takes neither '-o' nor '--no-cache'");
    if (!emit && out.empty() && !cacheOnly) return usage("'build' needs '-o FILE'");
    mmtc::Compiler c;
    if (!addPaths(c, paths)) return 2;
    bool ok = c.check();
    std::string d = c.diagnostics();
    std::fwrite(d.data(), 1, d.size(), stderr);
    if (!ok) {
        std::fprintf(stderr, "%u error%s generated.\n", c.errorCount(),
                     c.errorCount() == 1 ? "" : "s");
        return 1;
    }
    std::string error;
    if (cacheOnly) {
        // A filler runs beside the mmtrun that started it: it yields to it.
        errno = 0;
        if (::nice(10) == -1 && errno != 0) errno = 0;
        if (!c.fillCache(mmtc::defaultCacheDir(), error)) {
            std::fprintf(stderr, "mmtc: error: %s\n", error.c_str());
            return 2;
        }
    } else if (emit) {
        std::string ir;
        if (!c.emitLLVM(optimized, ir, error)) {
            std::fprintf(stderr, "mmtc: error: %s\n", error.c_str());
            return 1;
        }
        std::fwrite(ir.data(), 1, ir.size(), stdout);
    } else if (!c.writeObject(out, error, cache ? mmtc::defaultCacheDir() : "")) {
        std::fprintf(stderr, "mmtc: error: %s\n", error.c_str());
        return 2;
    }
    if (timePasses) {
        std::string t = c.timings();
        std::fwrite(t.data(), 1, t.size(), stderr);
    }
    return 0;
}

enum class CheckMode { Check, DumpAst, Doc };

int runCheck(const std::vector<std::string>& args, CheckMode mode) {
    bool dumpAst = mode == CheckMode::DumpAst;
    std::vector<std::string> paths;
    // check and dump-ast see the built-in library by default, as mmtrun -p does; doc
    // documents only what it is given.
    bool builtin = mode != CheckMode::Doc, quiet = false;
    for (const auto& a : args) {
        if (a == "--help" || a == "-h") {
            std::fputs(dumpAst                  ? kDumpHelp
                       : mode == CheckMode::Doc ? kDocHelp
                                                : kCheckHelp,
                       stdout);
            return 0;
        }
        if (a == "--builtin")
            builtin = true;
        else if (a == "--no-builtin")
            builtin = false;
        else if (!dumpAst && a == "--quiet")
            quiet = true;
        else if (!a.empty() && a[0] == '-')
            return usage(("unknown option '" + a + "'").c_str());
        else
            paths.push_back(a);
    }
    if (paths.empty()) return usage("no input files");
    mmtc::Compiler c;
    if (!addPaths(c, paths)) return 2;
    size_t given = 0;
    for (const auto& p : paths) given += specFiles(p).size();
    if (builtin && !addPaths(c, builtinFilesBesides(paths))) return 2;
    bool ok = c.check();
    if (!quiet) {
        std::string d = c.diagnostics();
        std::fwrite(d.data(), 1, d.size(), stderr);
    }
    if (dumpAst) {
        std::string t = c.dumpAst(given);
        std::fwrite(t.data(), 1, t.size(), stdout);
    }
    if (!ok) {
        if (!quiet)
            std::fprintf(stderr, "%u error%s generated.\n", c.errorCount(),
                         c.errorCount() == 1 ? "" : "s");
        return 1;
    }
    if (mode == CheckMode::Doc) {
        std::string t = c.protocolDoc();
        std::fwrite(t.data(), 1, t.size(), stdout);
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage("no command given");
    std::string cmd = argv[1];
    std::vector<std::string> args(argv + 2, argv + argc);
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (cmd == "--version") {
        std::printf("mmtc %s\n", mmtc::versionText().c_str());
        return 0;
    }
    if (cmd == "check") return runCheck(args, CheckMode::Check);
    if (cmd == "dump-ast") return runCheck(args, CheckMode::DumpAst);
    if (cmd == "doc") return runCheck(args, CheckMode::Doc);
    if (cmd == "build") return runCodegen(args, false);
    if (cmd == "emit-llvm") return runCodegen(args, true);
    return usage(("unknown command '" + cmd + "'").c_str());
}
