// libmmtc's public interface: load .mmtp specs, check them, compile them.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace mmtc {

/// Where the built-in protocol library lives (MMT_SPEC_PATH overrides the built-in path).
std::string builtinSpecDir();

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
    /// A readable tree of every parsed file.
    std::string dumpAst() const;

    struct Impl;
    Impl& impl() { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

} // namespace mmtc
