// `mmtc doc`: the reference of a checked library, in Markdown — every protocol with its
// description (the comment above it in its file), where it runs, its session and its
// attributes with their types and descriptions (their doc comments).
#include "compiler_impl.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>

namespace mmtc {

namespace {

/// The source text of a range, its whitespace runs collapsed to one space.
std::string sourceText(const SourceManager& sm, const SourceRange& r) {
    if (!r.valid()) return "";
    const std::string& text = sm.file(r.file).text();
    std::string out;
    for (uint32_t i = r.begin.offset; i < r.end.offset && i < text.size(); ++i) {
        char c = text[i];
        if (c == '\n' || c == '\t' || c == '\r') c = ' ';
        if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
        out += c;
    }
    return out;
}

/// Text for a Markdown table cell: `|` escaped, on one line.
std::string tableCell(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '|') out += '\\';
        out += c == '\n' ? ' ' : c;
    }
    return out;
}

/// The `//` comment lines right above a protocol, without their slashes.
std::string description(const SourceManager& sm, const ast::Protocol& p) {
    const SourceFile& f = sm.file(p.range.file);
    std::vector<std::string> lines;
    for (uint32_t line = p.range.begin.line; line > 1; --line) {
        std::string_view l = f.lineText(line - 1);
        size_t start = l.find_first_not_of(" \t");
        if (start == std::string_view::npos || l.substr(start, 2) != "//") break;
        std::string_view rest = l.substr(start + 2);
        if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
        lines.emplace_back(rest);
    }
    std::reverse(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) out += (out.empty() ? "" : " ") + l;
    return out;
}

std::string ports(const std::vector<ast::CaseValue>& values) {
    std::string out;
    for (const auto& v : values) {
        if (!out.empty()) out += ", ";
        out += v.lo == v.hi ? fmt::format("{}", v.lo) : fmt::format("{}..{}", v.lo, v.hi);
    }
    return out;
}

} // namespace

std::string Compiler::protocolDoc() const {
    const SourceManager& sm = impl_->sm;
    std::vector<const ast::Protocol*> protos;
    for (const auto& f : impl_->module.files)
        for (const auto& p : f->protocols) protos.push_back(p.get());
    std::sort(protos.begin(), protos.end(),
              [](const ast::Protocol* a, const ast::Protocol* b) { return a->name < b->name; });

    // Relations written on the parent's side (`classify`), by target.
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> classifiedBy;
    for (const auto* p : protos) {
        for (const auto& c : p->classifies) {
            std::string w = c.weight ? fmt::format(" (weight {})", *c.weight) : "";
            if (c.kind == ast::Classify::Kind::When) {
                classifiedBy[c.target].push_back(
                    {p->name, "when `" + sourceText(sm, c.expr->range) + "`" + w});
                continue;
            }
            for (const auto& k : c.cases) {
                std::string how =
                    c.kind == ast::Classify::Kind::Port
                        ? "port " + ports(k.values)
                        : "`" + sourceText(sm, c.expr->range) + "` in " + ports(k.values);
                classifiedBy[k.target].push_back({p->name, how + w});
            }
        }
    }
    std::string out = "# The protocol library\n\n";
    out +=
        "Every protocol of the built-in library (`protocols.dsl/`), generated from the specs by\n"
        "`mmtc doc protocols.dsl/`; a test keeps this page current. Attributes are addressed\n"
        "as `protocol.attribute` (`mmtrun -e`, the runtime API); *event* attributes give one\n"
        "value per occurrence.\n\n";
    out += fmt::format("{} protocols.\n\n| protocol | id | runs over |\n|---|---|---|\n",
                       protos.size());
    for (const auto* p : protos) {
        std::vector<std::string> parents;
        for (const auto& o : p->overs)
            if (std::find(parents.begin(), parents.end(), o.parent) == parents.end())
                parents.push_back(o.parent);
        for (const auto& [parent, how] : classifiedBy[p->name])
            if (std::find(parents.begin(), parents.end(), parent) == parents.end())
                parents.push_back(parent);
        std::string over;
        for (const auto& s : parents) over += (over.empty() ? "" : ", ") + s;
        out += fmt::format("| [{0}](#{0}) | {1} | {2} |\n", p->name, p->id.value_or(0), over);
    }
    for (const auto* p : protos) {
        out += fmt::format("\n## {}\n\n", p->name);
        std::string d = description(sm, *p);
        if (!d.empty()) out += d + "\n\n";
        out += fmt::format("Id {}, in `{}`.\n\n", p->id.value_or(0),
                           sm.file(p->range.file)
                               .path()
                               .substr(sm.file(p->range.file).path().find_last_of('/') + 1));
        const auto& from = classifiedBy[p->name];
        if (!p->overs.empty() || !from.empty()) {
            out += "Runs over:\n\n";
            for (const auto& [parent, how] : from) out += fmt::format("- {} {}\n", parent, how);
            for (const auto& o : p->overs) {
                std::string how = o.byPort ? "port " + ports(o.ports)
                                           : "when `" + sourceText(sm, o.when->range) + "`";
                if (o.weight) how += fmt::format(" (weight {})", *o.weight);
                if (o.quoted) how += " (quoted)";
                out += fmt::format("- {} {}\n", o.parent, how);
            }
            out += "\n";
        }
        if (p->session) {
            out += fmt::format("Sessions are made here (timeout {} s).\n\n",
                               double(p->session->timeoutMs) / 1000.0);
        }
        if (p->pduLength) out += "Stream PDUs are framed by `pdu_length`.\n\n";
        if (p->pduUntil) out += "Stream PDUs end with a terminator (`pdu until`).\n\n";
        if (p->maxPdu) {
            uint32_t n = *p->maxPdu;
            std::string size = n % (1u << 20) == 0   ? fmt::format("{} MiB", n >> 20)
                               : n % (1u << 10) == 0 ? fmt::format("{} KiB", n >> 10)
                                                     : fmt::format("{} bytes", n);
            out += fmt::format("A PDU holds at most {} (`max_pdu`).\n\n", size);
        }
        if (!p->attributes.empty()) {
            out += "| attribute | type | | description |\n|---|---|---|---|\n";
            for (const auto& a : p->attributes)
                if (!a->first) // further definitions of an event attribute add no row
                    out += fmt::format("| `{}.{}` | {}{} | {} | {} |\n", p->name, a->name,
                                       sema::declaredTypeName(a->type), a->hex ? " hex" : "",
                                       a->isEvent ? "event" : "", tableCell(a->doc));
        }
    }
    return out;
}

} // namespace mmtc
