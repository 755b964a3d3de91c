// mmtc: checks, inspects and compiles .mmtp protocol specs.
#include "mmtc/compiler.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr const char* kUsage = R"(usage: mmtc <command> [options] PATH...

Commands:
  check PATH...      check .mmtp files or folders of them; print every error
  dump-ast FILE...   print the syntax tree of each file

Exit status: 0 no errors, 1 errors were reported, 2 usage or I/O problem.
Run 'mmtc <command> --help' for a command's options.
)";

constexpr const char* kCheckHelp = R"(usage: mmtc check [--builtin] PATH...

Parses and checks every .mmtp file given, or found under each folder given,
as one library: protocols may refer to each other across files. Diagnostics go
to standard error as 'file:line:col: error: message', then the source line and
a caret under the offending text, then notes.

  --builtin    also load the built-in protocol library
  --quiet      print nothing; only the exit status tells
)";

constexpr const char* kDumpHelp = R"(usage: mmtc dump-ast FILE...

Prints the syntax tree of each file with the line and column of every node.
)";

int usage(const char* msg) {
    std::fprintf(stderr, "mmtc: error: %s\n%s", msg, kUsage);
    return 2;
}

int runCheck(const std::vector<std::string>& args, bool dumpAst) {
    std::vector<std::string> paths;
    bool builtin = false, quiet = false;
    for (const auto& a : args) {
        if (a == "--help" || a == "-h") {
            std::fputs(dumpAst ? kDumpHelp : kCheckHelp, stdout);
            return 0;
        }
        if (!dumpAst && a == "--builtin") builtin = true;
        else if (!dumpAst && a == "--quiet") quiet = true;
        else if (!a.empty() && a[0] == '-') return usage(("unknown option '" + a + "'").c_str());
        else paths.push_back(a);
    }
    if (builtin) paths.insert(paths.begin(), mmtc::builtinSpecDir());
    if (paths.empty()) return usage("no input files");
    mmtc::Compiler c;
    for (const auto& p : paths) {
        if (!c.addPath(p)) {
            std::fprintf(stderr, "mmtc: error: %s\n", c.ioError().c_str());
            return 2;
        }
    }
    bool ok = c.check();
    if (!quiet) {
        std::string d = c.diagnostics();
        std::fwrite(d.data(), 1, d.size(), stderr);
    }
    if (dumpAst) {
        std::string t = c.dumpAst();
        std::fwrite(t.data(), 1, t.size(), stdout);
    }
    if (!ok) {
        if (!quiet) std::fprintf(stderr, "%u error%s generated.\n", c.errorCount(), c.errorCount() == 1 ? "" : "s");
        return 1;
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
    if (cmd == "check") return runCheck(args, false);
    if (cmd == "dump-ast") return runCheck(args, true);
    return usage(("unknown command '" + cmd + "'").c_str());
}
