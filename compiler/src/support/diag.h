// Diagnostics in clang's shape: `file:line:col: error: message`, the source line, a caret
// under the span, then notes. Every message comes from the catalogue in diag_kinds.def.
#pragma once

#include "support/source.h"

#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

namespace mmtc {

enum class Severity { Error, Warning, Note };

enum class DiagKind {
#define DIAG(ID, SEV, FMT) ID,
#include "support/diag_kinds.def"
#undef DIAG
};

struct Diagnostic {
    DiagKind kind;
    Severity severity;
    SourceRange range;
    std::string message;
    std::vector<Diagnostic> notes;
};

/// Collects diagnostics; renders them to text on demand.
class DiagEngine {
  public:
    explicit DiagEngine(const SourceManager& sm) : sm_(sm) {}

    /// Reports `kind` at `range`, its message formatted from the catalogue with `args`.
    template <typename... Args>
    Diagnostic& report(DiagKind kind, SourceRange range, Args&&... args) {
        return add(kind, range, format(kind, fmt::make_format_args(args...)));
    }
    /// Attaches a note to the last reported diagnostic.
    template <typename... Args> void note(DiagKind kind, SourceRange range, Args&&... args) {
        addNote(kind, range, format(kind, fmt::make_format_args(args...)));
    }

    unsigned errorCount() const { return errors_; }
    /// Adds what `other` reported (over the same sources) after what this one has.
    void append(const DiagEngine& other) {
        diags_.insert(diags_.end(), other.diags_.begin(), other.diags_.end());
        errors_ += other.errors_;
    }
    const std::vector<Diagnostic>& all() const { return diags_; }
    /// Renders every diagnostic, in the order reported, the way clang does.
    std::string render() const;
    std::string render(const Diagnostic& d) const;
    void print(std::FILE* out) const;

    static const char* formatOf(DiagKind kind);
    static Severity severityOf(DiagKind kind);
    static const char* nameOf(DiagKind kind);

  private:
    static std::string format(DiagKind kind, fmt::format_args args);
    Diagnostic& add(DiagKind kind, SourceRange range, std::string message);
    void addNote(DiagKind kind, SourceRange range, std::string message);
    void renderOne(std::string& out, const Diagnostic& d) const;

    const SourceManager& sm_;
    std::vector<Diagnostic> diags_;
    unsigned errors_ = 0;
};

} // namespace mmtc
