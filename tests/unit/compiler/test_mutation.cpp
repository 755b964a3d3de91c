// Mutation tests of the checker: every built-in spec is broken in many small ways (a line
// deleted, duplicated or garbled, the file cut short), seeded so that every run makes the
// same mutants. The checker must never crash or throw; a broken spec must get at least one
// located error; a mutant that still checks clean must be one of a few explainable kinds.
#include "mmtc/compiler.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Spec {
    std::string name; // "protocols.dsl/tcp.mmtp"
    std::string text;
};

std::vector<Spec> builtinSpecs() {
    std::vector<Spec> out;
    for (const auto& e : fs::directory_iterator(MMT_SPEC_DIR)) {
        if (e.path().extension() != ".mmtp") continue;
        std::ifstream in(e.path(), std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        out.push_back({"protocols.dsl/" + e.path().filename().string(), ss.str()});
    }
    std::sort(out.begin(), out.end(), [](const Spec& a, const Spec& b) { return a.name < b.name; });
    return out;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    size_t b = 0;
    while (b < text.size()) {
        size_t e = text.find('\n', b);
        if (e == std::string::npos) e = text.size();
        out.push_back(text.substr(b, e - b));
        b = e + 1;
    }
    return out;
}

std::string join(const std::vector<std::string>& ls) {
    std::string out;
    for (const auto& l : ls) out += l + "\n";
    return out;
}

// ---- a rough tokenizer of .mmtp text, to tell what a mutation changed ----

struct Tok {
    enum Kind { Name, Int, String, Punct } kind;
    std::string text;
    bool operator==(const Tok& o) const { return kind == o.kind && text == o.text; }
    bool operator!=(const Tok& o) const { return !(*this == o); }
    bool operator<(const Tok& o) const { return kind != o.kind ? kind < o.kind : text < o.text; }
};

std::vector<Tok> tokenize(const std::string& s) {
    std::vector<Tok> out;
    size_t i = 0;
    auto isId = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    while (i < s.size()) {
        char c = s[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (s.compare(i, 2, "//") == 0) {
            while (i < s.size() && s[i] != '\n') ++i;
        } else if (s.compare(i, 2, "/*") == 0) {
            size_t e = s.find("*/", i + 2);
            i = e == std::string::npos ? s.size() : e + 2;
        } else if (c == '"') {
            size_t j = i + 1;
            while (j < s.size() && s[j] != '"' && s[j] != '\n') j += s[j] == '\\' ? 2 : 1;
            out.push_back({Tok::String, s.substr(i, j + 1 - i)});
            i = j + 1;
        } else if (std::isdigit(static_cast<unsigned char>(c))) {
            size_t j = i;
            while (j < s.size() && isId(s[j])) ++j;
            out.push_back({Tok::Int, s.substr(i, j - i)});
            i = j;
        } else if (isId(c)) {
            size_t j = i;
            while (j < s.size() && isId(s[j])) ++j;
            out.push_back({Tok::Name, s.substr(i, j - i)});
            i = j;
        } else {
            static const char* const kOps[] = {
                "<->", "..", "=>", "==", "!=", "<=", ">=", "<<", ">>"};
            size_t n = 1;
            for (const char* op : kOps)
                if (s.compare(i, std::strlen(op), op) == 0) {
                    n = std::strlen(op);
                    break;
                }
            out.push_back({Tok::Punct, s.substr(i, n)});
            i += n;
        }
    }
    return out;
}

bool isCodeLine(const std::string& line) {
    return !tokenize(line).empty();
}

/// A line that holds whole declarations: it ends with ';' or '}' and its brackets balance.
/// Deleting one (a field, an attribute, an `over` rule) can leave a valid spec.
bool isWholeDeclaration(const std::string& line) {
    auto toks = tokenize(line);
    if (toks.empty()) return false;
    int depth = 0;
    for (const auto& t : toks) {
        if (t.text == "{" || t.text == "(" || t.text == "[") ++depth;
        if (t.text == "}" || t.text == ")" || t.text == "]") --depth;
        if (depth < 0) return false;
    }
    return depth == 0 && (toks.back().text == ";" || toks.back().text == "}");
}

/// A line of list items only (string literals or numbers, each followed by a comma): the
/// middle of a long argument list. Deleting or repeating it leaves a shorter or longer list.
bool isListItems(const std::string& line) {
    auto toks = tokenize(line);
    if (toks.size() < 2 || toks.size() % 2) return false;
    for (size_t i = 0; i < toks.size(); i += 2)
        if ((toks[i].kind != Tok::String && toks[i].kind != Tok::Int &&
             toks[i].kind != Tok::Name) ||
            toks[i + 1].text != ",")
            return false;
    return true;
}

/// A line that continues a condition with one whole operand (`and (...)`, `or x == 1`):
/// deleting or repeating it leaves a valid, if different, condition.
bool isWholeConjunct(const std::string& line) {
    auto toks = tokenize(line);
    if (toks.size() < 2 || (toks[0].text != "and" && toks[0].text != "or")) return false;
    int depth = 0;
    for (const auto& t : toks) {
        if (t.text == "(" || t.text == "[" || t.text == "{") ++depth;
        if (t.text == ")" || t.text == "]" || t.text == "}") --depth;
        if (depth < 0) return false;
    }
    return depth == 0 && toks.back().text != "," && toks.back().text != ";";
}

/// A line of whole arms of a conditional chain, `: c1 ? v1 : c2 ? v2`: without it, or with
/// it twice, the chain still reads as a chain.
bool isWholeChoiceArms(const std::string& line) {
    auto toks = tokenize(line);
    // `: c1 ? v1 : c2 ? v2` or `c1 ? v1 : c2 ? v2 :`: the chain goes on on the next line.
    if (toks.size() < 4 || (toks.front().text == ":") == (toks.back().text == ":")) return false;
    int depth = 0, questions = 0, colons = 0;
    for (const auto& t : toks) {
        if (t.text == "(" || t.text == "[" || t.text == "{") ++depth;
        if (t.text == ")" || t.text == "]" || t.text == "}") --depth;
        if (depth < 0) return false;
        if (depth == 0 && t.text == "?") ++questions;
        if (depth == 0 && t.text == ":") ++colons;
    }
    return depth == 0 && questions == colons && toks.back().text != "," && toks.back().text != ";";
}

/// A truncation whose removed tail is whole arms of a conditional chain, whole operands,
/// or whole comma-separated items (the next line carries on the expression).
bool cutWhole(const std::string& before, const std::string& after) {
    size_t keep = after.find_last_not_of(" \t");
    keep = keep == std::string::npos ? 0 : keep + 1;
    if (before.compare(0, keep, after, 0, keep) != 0) return false;
    std::string removed = before.substr(keep);
    if (isWholeChoiceArms(removed) || isWholeConjunct(removed)) return true;
    // `a, b(c, d), "e",`: balanced, ending with a comma; or a trailing term, `+ 4 * n`.
    auto toks = tokenize(removed);
    static const std::set<std::string> kTermOps = {"+", "-", "*", "/", "%", "&", "|"};
    if (toks.empty() || (toks.back().text != "," && !kTermOps.count(toks.front().text)))
        return false;
    int depth = 0;
    for (const auto& t : toks) {
        if (t.text == "(" || t.text == "[" || t.text == "{") ++depth;
        if (t.text == ")" || t.text == "]" || t.text == "}") --depth;
        if (depth < 0) return false;
    }
    return depth == 0;
}

/// Why a garbled line that still checks clean is fine, or "" when nothing explains it.
std::string explainGarble(const std::string& before, const std::string& after,
                          const std::string& file) {
    auto a = tokenize(before), b = tokenize(after);
    if (a == b) return "only a comment or blanks changed";
    if (b.empty() && isWholeDeclaration(before)) return "a whole declaration deleted";
    if (a.size() == b.size()) {
        std::vector<size_t> diff;
        for (size_t i = 0; i < a.size(); ++i)
            if (a[i] != b[i]) diff.push_back(i);
        bool literals = true, renames = true;
        for (size_t i : diff) {
            literals = literals && a[i].kind == b[i].kind &&
                       (a[i].kind == Tok::Int || a[i].kind == Tok::String);
            if (a[i].kind != Tok::Name || b[i].kind != Tok::Name) {
                renames = false;
                continue;
            }
            // A name written once in its file is declared and never used (other files see
            // only attributes); a padding field '_' may take any name.
            size_t uses = 0;
            for (const auto& t : tokenize(file)) uses += t == a[i];
            // A declaration (a field `name :`, an attribute `attribute name`) renamed: had
            // anything in its scope referred to it, the mutant would not check clean.
            bool declared = (i > 0 && a[i - 1].text == "attribute") ||
                            (i + 1 < a.size() && a[i + 1].text == ":");
            renames = renames && (uses == 1 || a[i].text == "_" || declared);
        }
        if (literals) return "only a literal's value changed";
        if (renames) return "renamed a declaration that nothing refers to";
        auto sa = a, sb = b;
        std::sort(sa.begin(), sa.end());
        std::sort(sb.begin(), sb.end());
        if (sa == sb && diff.size() == 2 && a[diff[0]].kind == a[diff[1]].kind)
            return "swapped two names or literals of one kind";
    }
    // An operator added or changed inside an expression (`x >= ~y`, `a * 40`): the
    // punctuation that changed is an operator and the rest is untouched.
    static const std::set<std::string> kExprOps = {"-", "~", "+", "*",  "/", "%",
                                                   "&", "|", "^", "<<", ">>"};
    std::vector<Tok> pa, pb;
    for (const auto& t : a)
        if (!kExprOps.count(t.text)) pa.push_back(t);
    for (const auto& t : b)
        if (!kExprOps.count(t.text)) pb.push_back(t);
    auto sameButLiterals = [](const std::vector<Tok>& x, const std::vector<Tok>& y) {
        if (x.size() != y.size()) return false;
        for (size_t i = 0; i < x.size(); ++i)
            if (x[i] != y[i] && !(x[i].kind == Tok::Int && y[i].kind == Tok::Int)) return false;
        return true;
    };
    if (sameButLiterals(pa, pb)) return "an arithmetic operator added or changed";
    // Literals cut from a list that goes on on the next line: `"GET ", "POST ",` -> `"GET ",`.
    auto noListItems = [](const std::vector<Tok>& x) {
        std::vector<Tok> out;
        for (const auto& t : x)
            if (t.kind != Tok::String && t.kind != Tok::Int && t.text != ",") out.push_back(t);
        return out;
    };
    if (b.size() < a.size() && std::equal(b.begin(), b.end(), a.begin()) &&
        noListItems(a) == noListItems(b))
        return "literals dropped from a list";
    return "";
}

/// Whether `diags` has a `file:line:col: error: ` line.
bool hasLocatedError(const std::string& diags) {
    for (const auto& l : lines(diags)) {
        size_t e = l.find(": error: ");
        if (e == std::string::npos) continue;
        // file:LINE:COL
        size_t c2 = l.rfind(':', e - 1);
        if (c2 == std::string::npos || c2 == 0) continue;
        size_t c1 = l.rfind(':', c2 - 1);
        if (c1 == std::string::npos) continue;
        auto digits = [&](size_t b, size_t en) {
            if (b >= en) return false;
            for (size_t i = b; i < en; ++i)
                if (!std::isdigit(static_cast<unsigned char>(l[i]))) return false;
            return true;
        };
        if (digits(c1 + 1, c2) && digits(c2 + 1, e)) return true;
    }
    return false;
}

struct Outcome {
    bool ok = false;
    std::string diags;
    std::string thrown;
};

/// Checks file `which` replaced by `text`, in process, with the files listed in `with`
/// (all of them when empty).
Outcome checkWith(const std::vector<Spec>& specs, size_t which, const std::string& text,
                  const std::vector<size_t>& with = {}) {
    Outcome o;
    try {
        mmtc::Compiler c;
        for (size_t i = 0; i < specs.size(); ++i) {
            if (!with.empty() && i != which && !std::count(with.begin(), with.end(), i)) continue;
            c.addSource(specs[i].name, i == which ? text : specs[i].text);
        }
        o.ok = c.check();
        o.diags = c.diagnostics();
        if (!o.ok && c.errorCount() == 0) o.thrown = "check() failed without an error";
    } catch (const std::exception& e) {
        o.thrown = e.what();
    } catch (...) {
        o.thrown = "unknown exception";
    }
    return o;
}

/// For each spec, the files it needs to check clean: itself and, transitively, those
/// declaring a protocol it names. Checking a mutant with these alone rather than the
/// whole library keeps the test fast as the library grows; a spec that needs more (a
/// child's `parent.x`) falls back to the whole library.
std::vector<std::vector<size_t>> contexts(const std::vector<Spec>& specs) {
    std::map<std::string, size_t> declaredIn;
    std::vector<std::vector<Tok>> toks;
    for (size_t i = 0; i < specs.size(); ++i) {
        toks.push_back(tokenize(specs[i].text));
        for (size_t t = 0; t + 1 < toks[i].size(); ++t)
            if (toks[i][t].text == "protocol") declaredIn[toks[i][t + 1].text] = i;
    }
    std::vector<std::vector<size_t>> out;
    for (size_t k = 0; k < specs.size(); ++k) {
        std::set<size_t> seen{k};
        std::vector<size_t> pending{k};
        while (!pending.empty()) {
            size_t i = pending.back();
            pending.pop_back();
            for (const auto& t : toks[i]) {
                auto it = t.kind == Tok::Name ? declaredIn.find(t.text) : declaredIn.end();
                if (it != declaredIn.end() && seen.insert(it->second).second)
                    pending.push_back(it->second);
            }
        }
        std::vector<size_t> ctx(seen.begin(), seen.end());
        if (!checkWith(specs, k, specs[k].text, ctx).ok) ctx.clear();
        out.push_back(ctx);
    }
    return out;
}

/// Portable draws: std::mt19937 is specified exactly, the distributions are not.
struct Rng {
    explicit Rng(uint32_t seed) : g(seed) {}
    size_t below(size_t n) { return n ? size_t(g() % n) : 0; }
    std::mt19937 g;
};

uint32_t seedOf(const std::string& s) {
    uint32_t h = 2166136261u; // FNV-1a
    for (unsigned char c : s) h = (h ^ c) * 16777619u;
    return h;
}

enum class Op { Delete, Duplicate, Flip, Truncate, Swap, Insert, CutFile };
const char* opName(Op op) {
    switch (op) {
    case Op::Delete:
        return "delete line";
    case Op::Duplicate:
        return "duplicate line";
    case Op::Flip:
        return "flip a byte";
    case Op::Truncate:
        return "truncate line";
    case Op::Swap:
        return "swap tokens";
    case Op::Insert:
        return "insert characters";
    case Op::CutFile:
        return "cut the file";
    }
    return "?";
}

struct Mutant {
    Op op;
    size_t line; // 0-based
    std::string text;
    std::string before, after; // the line before and after the mutation
};

std::string garbleLine(Op op, const std::string& line, Rng& rng) {
    std::string s = line;
    switch (op) {
    case Op::Flip: {
        size_t i = rng.below(s.size());
        char c;
        do c = char(rng.below(256));
        while (c == s[i]);
        s[i] = c;
        return s;
    }
    case Op::Truncate:
        return s.substr(0, rng.below(s.size()));
    case Op::Swap: {
        // Swap two adjacent tokens, keeping the text between them.
        std::vector<std::pair<size_t, size_t>> spans; // [begin, end) of each token in s
        auto toks = tokenize(s);
        size_t from = 0;
        for (const auto& t : toks) {
            size_t b = s.find(t.text, from);
            if (b == std::string::npos) break;
            spans.push_back({b, b + t.text.size()});
            from = b + t.text.size();
        }
        if (spans.size() < 2) return s + " " + s; // nothing to swap: repeat the line's code
        size_t k = rng.below(spans.size() - 1);
        auto [b1, e1] = spans[k];
        auto [b2, e2] = spans[k + 1];
        return s.substr(0, b1) + s.substr(b2, e2 - b2) + s.substr(e1, b2 - e1) +
               s.substr(b1, e1 - b1) + s.substr(e2);
    }
    case Op::Insert: {
        static const std::string kChars = "{}()[];:,.<>=!-+*/\"\\_aZ09x#@$ \t";
        std::string ins;
        size_t n = 1 + rng.below(3);
        for (size_t i = 0; i < n; ++i)
            ins += rng.below(8) == 0 ? char(rng.below(256)) : kChars[rng.below(kChars.size())];
        s.insert(rng.below(s.size() + 1), ins);
        return s;
    }
    default:
        return s;
    }
}

constexpr int kGarblesPerLine = 2; // each of a kind drawn at random
constexpr int kFileCuts = 12;      // whole-file truncations per spec

/// Every mutant of `spec`, or those of every `stride`-th line (the same lines each run):
/// a library of hundreds of specs is sampled so that the test keeps its time.
std::vector<Mutant> mutantsOf(const Spec& spec, size_t stride = 1) {
    std::vector<Mutant> out;
    auto ls = lines(spec.text);
    Rng rng(seedOf(spec.name));
    size_t phase = seedOf(spec.name) % stride;
    for (size_t i = 0; i < ls.size(); ++i) {
        if (i % stride != phase) continue;
        auto with = [&](Op op, std::vector<std::string> copy, const std::string& after) {
            out.push_back({op, i, join(copy), ls[i], after});
        };
        auto del = ls;
        del.erase(del.begin() + long(i));
        with(Op::Delete, del, "");
        auto dup = ls;
        dup.insert(dup.begin() + long(i), ls[i]);
        with(Op::Duplicate, dup, ls[i]);
        if (ls[i].empty()) continue;
        static const Op kGarbles[] = {Op::Flip, Op::Truncate, Op::Swap, Op::Insert};
        for (int n = 0; n < kGarblesPerLine; ++n) {
            Op op = kGarbles[rng.below(4)];
            auto g = ls;
            g[i] = garbleLine(op, ls[i], rng);
            if (g[i] == ls[i]) continue;
            with(op, g, g[i]);
        }
    }
    for (int k = 0; k < kFileCuts; ++k) {
        size_t cut = rng.below(spec.text.size());
        out.push_back({Op::CutFile,
                       size_t(std::count(spec.text.begin(), spec.text.begin() + long(cut), '\n')),
                       spec.text.substr(0, cut), "", ""});
    }
    return out;
}

/// The library with `line` of file `which` replaced (or removed when `repl` is null).
std::string editLine(const Spec& spec, size_t line, const std::string* repl) {
    auto ls = lines(spec.text);
    if (repl)
        ls[line] = *repl;
    else
        ls.erase(ls.begin() + long(line));
    return join(ls);
}

} // namespace

TEST_CASE("the built-in specs check clean", "[mutation]") {
    auto specs = builtinSpecs();
    REQUIRE(specs.size() >= 5);
    Outcome o = checkWith(specs, specs.size(), "");
    INFO(o.diags);
    CHECK(o.ok);
}

TEST_CASE("mutants of the built-in specs never crash and are reported", "[mutation]") {
    auto specs = builtinSpecs();
    auto ctx = contexts(specs);
    std::string library;
    for (const auto& s : specs) library += s.text + "\n";

    // Deletions and garbles of code lines: how many, and how many still check clean.
    size_t total = 0, deletions = 0, cleanDeletions = 0, garbles = 0, cleanGarbles = 0;
    std::map<std::string, size_t> reasons;
    auto count = [&](const Mutant& m, bool clean) {
        if (m.op == Op::Duplicate || m.op == Op::CutFile || !isCodeLine(m.before)) return false;
        // A garble that changed only a comment (a `///<` description after the code) left
        // the code alone: it is not garbled code.
        if (m.op != Op::Delete && isCodeLine(m.after) && tokenize(m.before) == tokenize(m.after))
            return false;
        // A line truncated to nothing but blanks is a deletion too.
        bool deletion = m.op == Op::Delete || !isCodeLine(m.after);
        (deletion ? deletions : garbles) += 1;
        if (clean) (deletion ? cleanDeletions : cleanGarbles) += 1;
        return true;
    };
    // MMT_MUTATION_LOG=file lists the mutants that still check clean, with the reason.
    const char* logPath = std::getenv("MMT_MUTATION_LOG");
    std::ofstream log;
    if (logPath) log.open(logPath);
    // About kLineBudget lines in all are mutated (MMT_MUTATION_ALL=1: every line).
    constexpr size_t kLineBudget = 4000;
    size_t libraryLines = 0;
    for (const auto& sp : specs) libraryLines += lines(sp.text).size();
    size_t stride = std::getenv("MMT_MUTATION_ALL")
                        ? 1
                        : std::max<size_t>(1, (libraryLines + kLineBudget - 1) / kLineBudget);
    for (size_t k = 0; k < specs.size(); ++k) {
        for (const Mutant& m : mutantsOf(specs[k], stride)) {
            ++total;
            Outcome o = checkWith(specs, k, m.text, ctx[k]);
            INFO(specs[k].name << ":" << m.line + 1 << ": " << opName(m.op)
                               << "\n  before: " << m.before << "\n  after:  " << m.after << "\n"
                               << o.diags);
            REQUIRE(o.thrown.empty());
            if (!o.ok) {
                CHECK(hasLocatedError(o.diags));
                count(m, false);
                continue;
            }
            // Still a valid library: say why, or fail. A line truncated to blanks is a
            // deletion too.
            std::string why;
            bool whole = m.op == Op::Duplicate || m.op == Op::Delete ||
                         (m.op == Op::Truncate && !isCodeLine(m.after));
            if (m.op == Op::CutFile)
                why = "the cut fell after the last declaration";
            else if (!isCodeLine(m.before))
                why = "a blank or comment line";
            else if (whole && isListItems(m.before))
                why = "a line of list items (values or bit names)";
            else if (whole && isWholeConjunct(m.before))
                why = "a whole operand of a condition";
            else if (whole && isWholeChoiceArms(m.before))
                why = "whole arms of a conditional chain";
            else if (m.op == Op::Truncate && cutWhole(m.before, m.after))
                why = "a cut that removed whole arms, operands or list items";
            else if (m.op == Op::Duplicate)
                why = isWholeDeclaration(m.before) ? "a declaration repeated" : "";
            else if (m.op == Op::Delete)
                why = isWholeDeclaration(m.before) ? "a whole declaration deleted" : "";
            else
                why = explainGarble(m.before, m.after, specs[k].text);
            if (why.empty()) FAIL_CHECK("a mutant checks clean and nothing explains it");
            if (log)
                log << specs[k].name << ":" << m.line + 1 << ": " << opName(m.op) << ": " << why
                    << "\n  - " << m.before << "\n  + " << m.after << "\n";
            if (count(m, true)) ++reasons[why];
        }
    }
    std::string summary;
    for (const auto& [why, n] : reasons) summary += "  " + std::to_string(n) + " " + why + "\n";
    INFO(total << " mutants; of the code lines, " << cleanDeletions << " of " << deletions
               << " deletions and " << cleanGarbles << " of " << garbles
               << " garbles still check clean:\n"
               << summary);
    CHECK(total > 1500);
    // Garbled code is almost always caught. A deleted line that leaves a valid spec is a
    // whole declaration (checked above): an `over` rule, an attribute, a key... of which
    // a spec has many, so those are a minority, not a rarity.
    CHECK(cleanGarbles * 100 <= garbles * 3);
    CHECK(cleanDeletions * 100 <= deletions * 40);
}

TEST_CASE("targeted mutants of every built-in spec are errors", "[mutation]") {
    auto specs = builtinSpecs();
    auto ctx = contexts(specs);
    for (size_t k = 0; k < specs.size(); ++k) {
        const Spec& spec = specs[k];
        auto ls = lines(spec.text);
        INFO(spec.name);
        auto expectError = [&](const std::string& text, const char* what) {
            Outcome o = checkWith(specs, k, text, ctx[k]);
            INFO(what << "\n" << o.diags);
            CHECK(o.thrown.empty());
            CHECK_FALSE(o.ok);
            CHECK(hasLocatedError(o.diags));
        };
        bool sawHeader = false, sawType = false, sawId = false, sawOver = false;
        for (size_t i = 0; i < ls.size(); ++i) {
            auto toks = tokenize(ls[i]);
            if (toks.empty()) continue;
            if (!sawHeader && toks.size() == 2 && toks[0].text == "header" && toks[1].text == "{") {
                sawHeader = true;
                expectError(editLine(spec, i, nullptr), "deleted 'header {'");
            }
            // The first field: `name : type ...;` whose type is garbled into an unknown one.
            if (sawHeader && !sawType && toks.size() >= 4 && toks[1].text == ":" &&
                toks[2].kind == Tok::Name) {
                sawType = true;
                std::string g = ls[i];
                size_t at = g.find(toks[2].text, g.find(':'));
                g.insert(at + toks[2].text.size(), "q");
                expectError(editLine(spec, i, &g), "garbled field type");
            }
            if (!sawId && toks[0].text == "id" && toks.size() == 3) {
                sawId = true;
                expectError(editLine(spec, i, nullptr), "deleted 'id'");
            }
            if (!sawOver && toks[0].text == "over") {
                sawOver = true;
                std::string g = ls[i];
                g.insert(g.find(toks[1].text) + toks[1].text.size(), "_x");
                expectError(editLine(spec, i, &g), "'over' an unknown protocol");
            }
        }
        // A label protocol (http_proxy hands its bytes on to http) has no header to mutate.
        if (spec.text.find("header {") != std::string::npos) {
            CHECK(sawHeader);
            CHECK(sawType);
        }
        // A file of tables only (ethertypes.mmtp) declares no protocol.
        if (spec.text.find("\nprotocol ") != std::string::npos) CHECK(sawId);
        // The closing brace of the protocol.
        size_t last = ls.size();
        while (last > 0 && tokenize(ls[last - 1]).empty()) --last;
        REQUIRE(last > 0);
        expectError(editLine(spec, last - 1, nullptr), "deleted the closing '}'");
    }
}

namespace {

/// Byte offsets of the tokens of `text`, found by re-scanning it with tokenize().
std::vector<std::pair<size_t, size_t>> tokenSpans(const std::string& text) {
    std::vector<std::pair<size_t, size_t>> out;
    size_t from = 0;
    for (const auto& t : tokenize(text)) {
        size_t b = text.find(t.text, from);
        if (b == std::string::npos) break;
        out.push_back({b, b + t.text.size()});
        from = b + t.text.size();
    }
    return out;
}

/// A mutant made of whole tokens and lines of the library: a name or number replaced
/// by another, a whole declaration moved in or cut out, a run of tokens spliced in or
/// cut. Many of these still parse, so they reach the checker's later passes with odd but
/// well-formed input, where byte-level damage rarely gets.
struct Donor {
    explicit Donor(std::string text) : library(std::move(text)) {
        spans = tokenSpans(library);
        toks = tokenize(library);
        for (const auto& l : lines(library))
            if (isWholeDeclaration(l)) declarations.push_back(l);
    }
    std::string library;
    std::vector<std::pair<size_t, size_t>> spans;
    std::vector<Tok> toks;
    std::vector<std::string> declarations;
};

std::string spliceMutant(const Spec& spec, const Donor& lib, Rng& rng, int edits) {
    static const char* const kNumbers[] = {"0",
                                           "1",
                                           "7",
                                           "8",
                                           "64",
                                           "65",
                                           "255",
                                           "256",
                                           "65535",
                                           "65536",
                                           "4294967296",
                                           "9223372036854775808",
                                           "18446744073709551615"};
    std::string text = spec.text;
    const std::string& library = lib.library;
    const auto& donor = lib.spans;
    const auto& donorTok = lib.toks;
    const auto& declarations = lib.declarations;
    for (int k = 0; k < edits; ++k) {
        auto spans = tokenSpans(text);
        auto toks = tokenize(text);
        if (spans.empty() || donor.empty() || spans.size() != toks.size()) break;
        size_t i = rng.below(spans.size());
        switch (rng.below(6)) {
        case 0: { // a name becomes another name of the library
            if (toks[i].kind != Tok::Name) break;
            size_t d;
            do d = rng.below(donorTok.size());
            while (donorTok[d].kind != Tok::Name);
            text.replace(spans[i].first, spans[i].second - spans[i].first, donorTok[d].text);
            break;
        }
        case 1: // a number becomes a boundary value
            if (toks[i].kind != Tok::Int) break;
            text.replace(spans[i].first, spans[i].second - spans[i].first,
                         kNumbers[rng.below(sizeof kNumbers / sizeof kNumbers[0])]);
            break;
        case 2: { // a whole declaration of the library, inserted at the start of a line
            auto ls = lines(text);
            ls.insert(ls.begin() + long(rng.below(ls.size() + 1)),
                      declarations[rng.below(declarations.size())]);
            text = join(ls);
            break;
        }
        case 3: { // a whole declaration cut out
            auto ls = lines(text);
            size_t l = rng.below(ls.size());
            if (isWholeDeclaration(ls[l])) ls.erase(ls.begin() + long(l));
            text = join(ls);
            break;
        }
        case 4: { // a run of 1-4 tokens of the library spliced in
            size_t d = rng.below(donor.size());
            size_t e = std::min(donor.size() - 1, d + rng.below(4));
            text.insert(spans[i].first,
                        " " + library.substr(donor[d].first, donor[e].second - donor[d].first) +
                            " ");
            break;
        }
        default: { // a run of 1-3 tokens cut
            size_t j = std::min(spans.size() - 1, i + rng.below(3));
            text.erase(spans[i].first, spans[j].second - spans[i].first);
        }
        }
    }
    return text;
}

/// Whether the diagnostics include a syntax error (the parser stopped the checks).
bool hasSyntaxError(const std::string& diags) {
    for (const char* m : {": error: expected ", ": error: unexpected ", ": error: missing "})
        if (diags.find(m) != std::string::npos) return true;
    return false;
}

void checkSpliceMutants(size_t perSpec, uint32_t seed) {
    auto specs = builtinSpecs();
    auto ctx = contexts(specs);
    std::string library;
    for (const auto& s : specs) library += s.text + "\n";
    Donor donor(library);
    Rng rng(seed);
    size_t parsed = 0, total = 0;
    for (size_t k = 0; k < specs.size(); ++k) {
        for (size_t n = 0; n < perSpec; ++n) {
            std::string text = spliceMutant(specs[k], donor, rng, 1 + int(rng.below(3)));
            Outcome o = checkWith(specs, k, text, ctx[k]);
            ++total;
            INFO(specs[k].name << " mutant:\n" << text << "\n" << o.diags);
            REQUIRE(o.thrown.empty());
            if (!o.ok) CHECK(hasLocatedError(o.diags));
            // Mutants that got past the parser exercise the semantic passes.
            if (!hasSyntaxError(o.diags)) ++parsed;
        }
    }
    INFO(parsed << " of " << total << " splice mutants got past the parser");
    CHECK(parsed * 4 >= total);
}

} // namespace

TEST_CASE("token-splice mutants of the built-in specs never crash", "[mutation]") {
    checkSpliceMutants(40, 20240601u);
}

// Hidden (run with "[fuzz]"): many more splice mutants, MMT_FUZZ_ITERATIONS per spec
// (default 2000) and MMT_FUZZ_SEED; meant for sanitizer builds.
TEST_CASE("token-splice fuzzing", "[.][fuzz]") {
    const char* it = std::getenv("MMT_FUZZ_ITERATIONS");
    const char* seed = std::getenv("MMT_FUZZ_SEED");
    checkSpliceMutants(it ? std::strtoul(it, nullptr, 10) : 2000,
                       seed ? uint32_t(std::strtoul(seed, nullptr, 10)) : 1u);
}
