// Diagnostic collection and clang-style rendering.
#include "support/diag.h"

#include <algorithm>

namespace mmtc {

namespace {
struct KindInfo {
    const char* name;
    Severity severity;
    const char* format;
};
constexpr KindInfo kKinds[] = {
#define DIAG(ID, SEV, FMT) {#ID, Severity::SEV, FMT},
#include "support/diag_kinds.def"
#undef DIAG
};
} // namespace

const char* DiagEngine::formatOf(DiagKind kind) {
    return kKinds[size_t(kind)].format;
}
Severity DiagEngine::severityOf(DiagKind kind) {
    return kKinds[size_t(kind)].severity;
}
const char* DiagEngine::nameOf(DiagKind kind) {
    return kKinds[size_t(kind)].name;
}

std::string DiagEngine::format(DiagKind kind, fmt::format_args args) {
    try {
        return fmt::vformat(formatOf(kind), args);
    } catch (const fmt::format_error&) {
        // A catalogue entry used with the wrong arguments: keep the message, never crash.
        return std::string(formatOf(kind));
    }
}

Diagnostic& DiagEngine::add(DiagKind kind, SourceRange range, std::string message) {
    Severity sev = severityOf(kind);
    if (sev == Severity::Error) ++errors_;
    diags_.push_back(Diagnostic{kind, sev, range, std::move(message), {}});
    return diags_.back();
}

void DiagEngine::addNote(DiagKind kind, SourceRange range, std::string message) {
    if (diags_.empty()) return;
    diags_.back().notes.push_back(Diagnostic{kind, Severity::Note, range, std::move(message), {}});
}

void DiagEngine::renderOne(std::string& out, const Diagnostic& d) const {
    const char* sev = d.severity == Severity::Error     ? "error"
                      : d.severity == Severity::Warning ? "warning"
                                                        : "note";
    if (!d.range.valid()) {
        out += fmt::format("mmtc: {}: {}\n", sev, d.message);
        return;
    }
    const SourceFile& f = sm_.file(d.range.file);
    out += fmt::format("{}:{}:{}: {}: {}\n", f.path(), d.range.begin.line, d.range.begin.col, sev,
                       d.message);
    std::string_view line = f.lineText(d.range.begin.line);
    // Tabs are shown as single spaces so that the caret line stays aligned.
    std::string shown(line);
    std::replace(shown.begin(), shown.end(), '\t', ' ');
    out += shown;
    out += '\n';
    uint32_t col = d.range.begin.col;
    uint32_t endCol =
        d.range.end.line == d.range.begin.line ? d.range.end.col : uint32_t(line.size()) + 1;
    if (endCol <= col) endCol = col + 1;
    endCol = std::min<uint32_t>(endCol, uint32_t(line.size()) + 1);
    if (endCol <= col) endCol = col + 1;
    std::string caret(col - 1, ' ');
    caret += '^';
    caret.append(endCol - col - 1, '~');
    out += caret;
    out += '\n';
}

std::string DiagEngine::render(const Diagnostic& d) const {
    std::string out;
    renderOne(out, d);
    for (const auto& n : d.notes) renderOne(out, n);
    return out;
}

std::string DiagEngine::render() const {
    // In source order, as a reader walks the file; diagnostics without a place come first.
    std::vector<const Diagnostic*> order;
    for (const auto& d : diags_) order.push_back(&d);
    std::stable_sort(order.begin(), order.end(), [](const Diagnostic* a, const Diagnostic* b) {
        if (a->range.file != b->range.file) return a->range.file < b->range.file;
        return a->range.begin.offset < b->range.begin.offset;
    });
    std::string out;
    for (const Diagnostic* d : order) out += render(*d);
    return out;
}

void DiagEngine::print(std::FILE* out) const {
    std::string text = render();
    std::fwrite(text.data(), 1, text.size(), out);
}

} // namespace mmtc
