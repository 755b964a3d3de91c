// Parse tree to AST, in one place: runs the ANTLR lexer and parser, turns their
// syntax errors into our diagnostics, and builds ast::File with a range on every node.
#include "parse/parser.h"

#include "parse/lexer.h"

#include "MmtpLexer.h"
#include "MmtpParser.h"

#include <ANTLRInputStream.h>
#include <BailErrorStrategy.h>
#include <BaseErrorListener.h>
#include <CommonTokenStream.h>
#include <DefaultErrorStrategy.h>
#include <Exceptions.h>
#include <Token.h>
#include <atn/ParserATNSimulator.h>
#include <atn/PredictionMode.h>
#include <misc/IntervalSet.h>

#include <algorithm>
#include <charconv>
#include <typeinfo>

namespace mmtc {
namespace {

using P = mmtp_gen::MmtpParser;
using antlr4::ParserRuleContext;
using antlr4::Token;

/// Maps ANTLR's code-point indexes back to byte offsets (they differ only for non-ASCII text).
class PositionMap {
  public:
    PositionMap(const SourceFile& file, uint32_t fileId) : file_(file), fileId_(fileId) {
        const std::string& t = file.text();
        // ANTLR's input stream drops a leading byte order mark: code point 0 is after it.
        if (t.compare(0, 3, "\xef\xbb\xbf") == 0) base_ = 3;
        bool ascii = true;
        for (size_t i = base_; i < t.size(); ++i)
            if (static_cast<unsigned char>(t[i]) >= 0x80) {
                ascii = false;
                break;
            }
        if (ascii) return;
        for (uint32_t i = base_; i < t.size(); ++i)
            if ((static_cast<unsigned char>(t[i]) & 0xC0) != 0x80) cpToByte_.push_back(i);
        cpToByte_.push_back(uint32_t(t.size()));
    }
    uint32_t byteOffset(size_t cp) const {
        if (cpToByte_.empty()) return uint32_t(std::min(cp + base_, file_.text().size()));
        return cp < cpToByte_.size() ? cpToByte_[cp] : uint32_t(file_.text().size());
    }
    SourceRange tokenRange(const Token* tok) const {
        if (!tok) return {};
        if (tok->getType() == Token::EOF) {
            uint32_t end = uint32_t(file_.text().size());
            // Point at the last non-blank character so the caret lands on a visible line.
            while (end > 0 && std::isspace(static_cast<unsigned char>(file_.text()[end - 1])))
                --end;
            SourceLoc l = file_.locAt(end);
            return SourceRange{fileId_, l, l};
        }
        uint32_t b = byteOffset(tok->getStartIndex());
        uint32_t e = byteOffset(tok->getStopIndex() + 1);
        return SourceRange{fileId_, file_.locAt(b), file_.locAt(e)};
    }
    SourceRange span(const Token* first, const Token* last) const {
        SourceRange a = tokenRange(first);
        if (!last || last->getStopIndex() + 1 < first->getStartIndex()) return a;
        SourceRange b = tokenRange(last);
        a.end = b.end;
        return a;
    }
    /// The bytes [begin, end) of the file.
    SourceRange bytes(uint32_t begin, uint32_t end) const {
        return SourceRange{fileId_, file_.locAt(begin), file_.locAt(end)};
    }
    uint32_t tokenStart(const Token* tok) const { return byteOffset(tok->getStartIndex()); }
    SourceRange range(ParserRuleContext* ctx) const {
        if (!ctx) return {};
        return span(ctx->getStart(), ctx->getStop());
    }
    uint32_t fileId() const { return fileId_; }

  private:
    const SourceFile& file_;
    uint32_t fileId_;
    uint32_t base_ = 0; // bytes of a byte order mark
    std::vector<uint32_t> cpToByte_;
};

/// dynamic_cast for the parse tree's contexts, remembered per class of node. A failed
/// dynamic_cast compares class names (strcmp) at each step, and the AST builder tries a
/// rule's alternatives one after another: that was half of its time. ANTLR's context
/// classes have no virtual bases, so static_cast is exact once the class is known to
/// derive from the target.
template <class Ptr, class From> Ptr as(From* node) {
    static_assert(std::is_pointer_v<Ptr>, "as<P::XContext*>(node), as dynamic_cast");
    if (!node) return nullptr;
    thread_local std::vector<std::pair<const std::type_info*, bool>> known;
    const std::type_info* type = &typeid(*node);
    for (const auto& [t, is] : known)
        if (t == type) return is ? static_cast<Ptr>(node) : nullptr;
    const bool is = dynamic_cast<Ptr>(node) != nullptr;
    known.emplace_back(type, is);
    return is ? static_cast<Ptr>(node) : nullptr;
}

/// Describes a token for a message: its text, or "end of file".
std::string describe(const Token* tok) {
    if (!tok || tok->getType() == Token::EOF) return "end of file";
    return tok->getText();
}

/// The code point of one UTF-8 character (the text is valid UTF-8 by the time it is lexed).
uint32_t codePoint(const std::string& ch) {
    unsigned char c = static_cast<unsigned char>(ch[0]);
    if (c < 0x80) return c;
    uint32_t cp = c & (c >= 0xF0 ? 0x07 : c >= 0xE0 ? 0x0F : 0x1F);
    for (size_t i = 1; i < ch.size(); ++i)
        cp = cp << 6 | (static_cast<unsigned char>(ch[i]) & 0x3F);
    return cp;
}

/// Quotes one character of source text for a message: itself when printable ASCII, with
/// its code point otherwise, which tells apart look-alikes (a no-break space, a curly
/// quote) and keeps control characters off the terminal.
std::string quoteChar(const std::string& ch) {
    if (ch.empty()) return "''";
    unsigned char c = static_cast<unsigned char>(ch[0]);
    if (c < 0x20 || c == 0x7f) return fmt::format("U+{:04X}", unsigned(c));
    if (c < 0x80) return "'" + ch + "'";
    return fmt::format("'{}' (U+{:04X})", ch, codePoint(ch));
}

/// Decodes an INT token: decimal, 0x hexadecimal or 0b binary. False when it does not
/// fit in 64 bits.
bool decodeInt(const std::string& t, uint64_t& v) {
    v = 0;
    int base = 10;
    const char* b = t.data();
    const char* e = t.data() + t.size();
    if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
        base = 16;
        b += 2;
    } else if (t.size() > 2 && t[0] == '0' && (t[1] == 'b' || t[1] == 'B')) {
        base = 2;
        b += 2;
    }
    auto res = std::from_chars(b, e, v, base);
    if (res.ec != std::errc() || res.ptr != e) {
        v = 0;
        return false;
    }
    return true;
}

/// A bad escape sequence in a string literal: its bytes [index, index + length) in the token.
struct StringFault {
    size_t index = 0;
    size_t length = 0;
    DiagKind kind = DiagKind::BadEscape;
    std::string sequence; // for BadEscape: what follows the backslash, ready to print
};

/// Decodes a STRING token (quotes included). Faults go to `faults` when it is not null;
/// a bad escape decodes to the character after the backslash.
std::string decodeString(const std::string& raw, std::vector<StringFault>* faults) {
    auto hex = [](char h) {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
    };
    std::string out;
    const size_t end = raw.size() > 0 ? raw.size() - 1 : 0; // the closing quote
    for (size_t i = 1; i < end; ++i) {
        char c = raw[i];
        if (c != '\\') {
            out += c;
            continue;
        }
        if (i + 1 >= end) break; // the lexer pairs every backslash; be safe anyway
        size_t at = i;
        char e = raw[++i];
        switch (e) {
        case 'n':
            out += '\n';
            break;
        case 'r':
            out += '\r';
            break;
        case 't':
            out += '\t';
            break;
        case '0':
            out += '\0';
            break;
        case '\\':
            out += '\\';
            break;
        case '"':
            out += '"';
            break;
        case 'x':
            if (i + 2 < end && hex(raw[i + 1]) >= 0 && hex(raw[i + 2]) >= 0) {
                out += char(hex(raw[i + 1]) * 16 + hex(raw[i + 2]));
                i += 2;
            } else if (faults) {
                size_t len = 2;
                if (i + 1 < end && hex(raw[i + 1]) >= 0) ++len;
                faults->push_back({at, len, DiagKind::BadHexEscape, {}});
            }
            break;
        case '\r':
        case '\n':
            // `\` then a line break: the lexer's "any character" after a backslash.
            if (faults) faults->push_back({at, 1, DiagKind::StringLineBreak, {}});
            out += e;
            if (e == '\r' && i + 1 < end && raw[i + 1] == '\n') out += raw[++i];
            break;
        default: {
            size_t n = std::min(utf8Length(static_cast<unsigned char>(e)), end - i);
            std::string seq = raw.substr(i, n);
            if (faults) {
                unsigned char c = static_cast<unsigned char>(e);
                std::string shown =
                    c < 0x20 || c == 0x7f ? fmt::format("'\\' then U+{:04X}", unsigned(c))
                    : c < 0x80            ? "'\\" + seq + "'"
                                          : fmt::format("'\\{}' (U+{:04X})", seq, codePoint(seq));
                faults->push_back({at, 1 + n, DiagKind::BadEscape, shown});
            }
            out += seq;
            i += n - 1;
        }
        }
    }
    return out;
}

/// Turns ANTLR syntax errors into our diagnostics; never prints to the console.
class SyntaxErrorListener : public antlr4::BaseErrorListener {
  public:
    SyntaxErrorListener(const PositionMap& pos, DiagEngine& diags,
                        const antlr4::dfa::Vocabulary& voc, antlr4::BufferedTokenStream& tokens)
        : pos_(pos), diags_(diags), voc_(voc), tokens_(tokens) {}

    void syntaxError(antlr4::Recognizer* recognizer, Token* offending, size_t line, size_t col,
                     const std::string& msg, std::exception_ptr) override {
        // One error per token: ANTLR's recovery can report the same place twice.
        if (offending) {
            if (offending->getTokenIndex() == lastTokenIndex_ && lastTokenIndex_ != size_t(-1))
                return;
            lastTokenIndex_ = offending->getTokenIndex();
        }
        SourceRange r = pos_.tokenRange(offending);
        if (offending && offending->getType() == mmtp_gen::MmtpLexer::UNTERMINATED_COMMENT) {
            r.end = r.begin;
            r.end.col += 2;
            diags_.report(DiagKind::UnterminatedComment, r);
            return;
        }
        if (offending && offending->getType() == mmtp_gen::MmtpLexer::BAD_CHAR) {
            std::string t = offending->getText();
            if (t == "\"")
                diags_.report(DiagKind::UnterminatedString, r);
            else
                diags_.report(DiagKind::InvalidCharacter, r, quoteChar(t));
            return;
        }
        auto* parser = dynamic_cast<antlr4::Parser*>(recognizer);
        antlr4::misc::IntervalSet set;
        if (parser) {
            try {
                set = parser->getExpectedTokens();
            } catch (...) {
            }
        }
        bool isEof = offending && offending->getType() == Token::EOF;
        if (isEof && expects(set, "'}'")) {
            // The usual cause: a '}' forgotten somewhere. Point at the '{' left open.
            if (const Token* open = unclosedBrace()) {
                diags_.report(DiagKind::SyntaxUnclosed, r);
                diags_.note(DiagKind::MatchBrace, pos_.tokenRange(open));
                return;
            }
        }
        std::string expected = expectedText(set);
        const Token* prev =
            offending && offending->getTokenIndex() > 0 && offending->getTokenIndex() != size_t(-1)
                ? tokens_.get(offending->getTokenIndex() - 1)
                : nullptr;
        if (isEof) {
            diags_.report(DiagKind::SyntaxUnexpectedEof, r,
                          expected.empty() ? "more input" : expected);
        } else if (prev && semicolonForgotten(*prev, *offending, set)) {
            SourceRange after = pos_.tokenRange(prev);
            after.begin = after.end;
            diags_.report(DiagKind::SyntaxExpectedAfter, after, "';'", prev->getText());
        } else if (msg.rfind("missing ", 0) == 0 && !expected.empty() && prev) {
            // As clang does: the caret goes right after the token that should have been
            // followed by the missing one, usually at the end of the previous line.
            SourceRange after = pos_.tokenRange(prev);
            after.begin = after.end;
            diags_.report(DiagKind::SyntaxExpectedAfter, after, expected, prev->getText());
        } else if (msg.rfind("missing ", 0) == 0 && !expected.empty()) {
            diags_.report(DiagKind::SyntaxMissing, r, expected, describe(offending));
        } else if (!expected.empty() && msg.rfind("extraneous input", 0) == 0) {
            diags_.report(DiagKind::SyntaxExtraneous, r, describe(offending), expected);
        } else if (!expected.empty()) {
            diags_.report(DiagKind::SyntaxExpected, r, expected, describe(offending));
        } else {
            diags_.report(DiagKind::SyntaxUnexpected, r, describe(offending));
        }
    }

  private:
    /// A token that can end an item: a name, a literal, a closing bracket.
    bool endsItem(const Token& t) const {
        size_t k = t.getType();
        if (k == mmtp_gen::MmtpLexer::IDENT || k == mmtp_gen::MmtpLexer::INT ||
            k == mmtp_gen::MmtpLexer::STRING || k == mmtp_gen::MmtpLexer::SIZE ||
            k == mmtp_gen::MmtpLexer::DURATION)
            return true;
        std::string lit = voc_.getLiteralName(k);
        return lit == "')'" || lit == "']'" ||
               (lit.size() > 2 && std::isalpha(static_cast<unsigned char>(lit[1])));
    }
    static bool startsName(const Token& t) {
        std::string s = t.getText();
        return !s.empty() && (std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_');
    }

    /// Whether the likely fix is a ';' after `prev`: it could end an item, and what follows
    /// is a '}', a new line, or a name where ';' was one of the choices (`a : u8 b : u8;`).
    bool semicolonForgotten(const Token& prev, const Token& offending,
                            const antlr4::misc::IntervalSet& set) const {
        if (!endsItem(prev)) return false;
        if (offending.getText() == "}" || offending.getLine() > prev.getLine())
            return expects(set, "';'") || !expects(set, "'}'");
        return expects(set, "';'") && startsName(offending);
    }

    bool expects(const antlr4::misc::IntervalSet& set, const char* literal) const {
        for (ssize_t t : set.toList())
            if (t >= 0 && voc_.getLiteralName(size_t(t)) == literal) return true;
        return false;
    }

    /// The innermost '{' without its '}', scanning every token of the file.
    const Token* unclosedBrace() const {
        std::vector<const Token*> open;
        for (const Token* t : tokens_.getTokens()) {
            if (t->getType() == mmtp_gen::MmtpLexer::STRING ||
                t->getType() == mmtp_gen::MmtpLexer::BAD_CHAR)
                continue;
            if (t->getText() == "{")
                open.push_back(t);
            else if (t->getText() == "}" && !open.empty())
                open.pop_back();
        }
        return open.empty() ? nullptr : open.back();
    }

    std::string expectedText(const antlr4::misc::IntervalSet& set) const {
        std::vector<std::string> names;
        bool expr = false, name = false, semi = false;
        for (ssize_t t : set.toList()) {
            if (t < 0) continue;
            if (t == mmtp_gen::MmtpLexer::IDENT) {
                name = true;
                continue;
            }
            if (t == mmtp_gen::MmtpLexer::INT || t == mmtp_gen::MmtpLexer::STRING) {
                expr = true;
                continue;
            }
            std::string lit = voc_.getLiteralName(size_t(t));
            if (lit == "';'") semi = true;
            if (!lit.empty()) {
                // Soft keywords are accepted as names: do not list them one by one.
                if (lit.size() > 3 && std::isalpha(static_cast<unsigned char>(lit[1])) && name)
                    continue;
                names.push_back(lit);
            } else if (size_t(t) == Token::EOF) {
                names.push_back("end of file");
            } else {
                names.push_back(voc_.getDisplayName(size_t(t)));
            }
        }
        if (name) {
            // Drop keyword literals that are also valid names; keep punctuation.
            std::vector<std::string> kept;
            for (auto& n : names)
                if (!(n.size() > 2 && n.front() == '\'' &&
                      std::isalpha(static_cast<unsigned char>(n[1]))))
                    kept.push_back(n);
            names = std::move(kept);
            if (expr) {
                // What can start an expression is part of "an expression".
                kept.clear();
                for (auto& n : names)
                    if (n != "'('" && n != "'-'" && n != "'~'") kept.push_back(n);
                names = std::move(kept);
            }
            names.insert(names.begin(), expr ? "an expression" : "a name");
        } else if (expr) {
            names.insert(names.begin(), "a literal");
        }
        if (names.size() > 4) {
            // Too many to list: ';' ends most items, and is what is usually missing.
            if (semi) return "';'";
            return {};
        }
        if (names.empty()) return {};
        std::string out;
        for (size_t i = 0; i < names.size(); ++i) {
            if (i) out += i + 1 == names.size() ? " or " : ", ";
            out += names[i];
        }
        return out;
    }

    const PositionMap& pos_;
    DiagEngine& diags_;
    const antlr4::dfa::Vocabulary& voc_;
    antlr4::BufferedTokenStream& tokens_;
    size_t lastTokenIndex_ = size_t(-1);
};

class AstBuilder {
  public:
    AstBuilder(const PositionMap& pos, DiagEngine& diags, antlr4::BufferedTokenStream& tokens)
        : pos_(pos), diags_(diags), tokens_(tokens) {}

    std::unique_ptr<ast::File> file(P::FileContext* ctx) {
        auto f = std::make_unique<ast::File>();
        f->fileId = pos_.fileId();
        for (auto* pd : ctx->protocolDecl()) f->protocols.push_back(protocol(pd));
        for (auto* td : ctx->tableDecl()) {
            auto t = std::make_unique<ast::Table>();
            t->range = R(td);
            t->name = text(td->name());
            t->nameRange = R(td->name());
            for (auto* cc : td->classifyCase()) t->cases.push_back(classifyCase(cc));
            f->tables.push_back(std::move(t));
        }
        for (auto* sd : ctx->serviceDecl()) {
            auto s = std::make_unique<ast::Service>();
            s->range = R(sd);
            s->name = text(sd->name());
            s->nameRange = R(sd->name());
            for (auto* item : sd->serviceItem()) {
                std::vector<antlr4::tree::TerminalNode*> strings;
                std::vector<ast::ServiceEntry>* into = nullptr;
                if (auto* n = as<P::ServiceNamesItemContext*>(item)) {
                    strings = n->STRING();
                    into = &s->names;
                } else if (auto* pr = as<P::ServicePrefixesItemContext*>(item)) {
                    strings = pr->STRING();
                    into = &s->prefixes;
                }
                if (!into) continue;
                for (auto* str : strings) into->push_back({R(str), stringLit(str)});
            }
            f->services.push_back(std::move(s));
        }
        return f;
    }

  private:
    SourceRange R(ParserRuleContext* c) const { return pos_.range(c); }
    SourceRange R(antlr4::tree::TerminalNode* n) const {
        return n ? pos_.tokenRange(n->getSymbol()) : SourceRange{};
    }
    // A name is one token: its text, without the tree's concatenation of its children
    // (RuleContext::getText builds a string stream for each rule it goes through).
    std::string text(P::NameContext* n) const { return tokenText(n); }
    static std::string tokenText(ParserRuleContext* c) {
        if (!c || !c->getStart()) return std::string();
        return c->getStart() == c->getStop() ? c->getStart()->getText() : c->getText();
    }

    /// The doc comment of a declaration that ends with `;`: the `/// text` lines right
    /// before it, then a `///< text` after it on its last line, joined by spaces.
    std::string doc(ParserRuleContext* c) {
        std::string out;
        auto add = [&](std::string_view t) {
            while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
            while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\r'))
                t.remove_suffix(1);
            if (t.empty()) return;
            if (!out.empty()) out += ' ';
            out += t;
        };
        if (!c || !c->getStart() || !c->getStop()) return out;
        for (antlr4::Token* t :
             tokens_.getHiddenTokensToLeft(c->getStart()->getTokenIndex(), kDocChannel)) {
            std::string s = t->getText();
            if (s.rfind("///<", 0) != 0) add(std::string_view(s).substr(3));
        }
        antlr4::Token* stop = c->getStop();
        for (antlr4::Token* t :
             tokens_.getHiddenTokensToRight(stop->getTokenIndex(), kDocChannel)) {
            std::string s = t->getText();
            if (t->getLine() == stop->getLine() && s.rfind("///<", 0) == 0)
                add(std::string_view(s).substr(4));
        }
        return out;
    }

    // Literals were checked token by token before the tree was built (checkLiterals):
    // here they are only decoded.
    uint64_t integer(antlr4::tree::TerminalNode* n) {
        uint64_t v = 0;
        if (n) decodeInt(n->getText(), v);
        return v;
    }

    std::string stringLit(antlr4::tree::TerminalNode* n) {
        return n ? decodeString(n->getText(), nullptr) : std::string();
    }

    uint64_t durationMs(antlr4::tree::TerminalNode* n) {
        std::string t = n->getText();
        size_t digits = 0;
        while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
        uint64_t v = 0;
        auto res = std::from_chars(t.data(), t.data() + digits, v);
        std::string unit = t.substr(digits);
        uint64_t mult = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : 3600000;
        const uint64_t maxMs =
            49ull * 24 * 3600 * 1000; // fits the ABI's 32-bit millisecond timeout
        if (res.ec != std::errc() || v == 0 || v > maxMs / mult) {
            diags_.report(DiagKind::BadTimeout, R(n), t);
            return 0;
        }
        return v * mult;
    }

    /// `max_pdu` sizes: plain bytes or a number with B, KiB or MiB; 1 byte to 256 MiB.
    uint32_t sizeBytes(antlr4::tree::TerminalNode* n) {
        constexpr uint64_t kMax = uint64_t{256} << 20;
        std::string t = n->getText();
        size_t digits = t.size();
        uint64_t mult = 1;
        if (n->getSymbol()->getType() == P::SIZE) {
            digits = t.find_first_not_of("0123456789");
            std::string unit = t.substr(digits);
            mult = unit == "MiB" ? 1u << 20 : unit == "KiB" ? 1u << 10 : 1;
        }
        uint64_t v = 0;
        bool ok = decodeInt(t.substr(0, digits), v) && v > 0 && v <= kMax / mult;
        if (!ok) {
            diags_.report(DiagKind::MaxPduRange, R(n), t);
            return 1;
        }
        return uint32_t(v * mult);
    }

    bool firstOf(const char* what, bool present, SourceRange prevRange, SourceRange here,
                 const ast::Protocol& p) {
        if (!present) return true;
        diags_.report(DiagKind::DuplicateItem, here, what, p.name);
        diags_.note(DiagKind::PreviousItem, prevRange, what);
        return false;
    }

    std::unique_ptr<ast::Protocol> protocol(P::ProtocolDeclContext* ctx) {
        auto p = std::make_unique<ast::Protocol>();
        p->range = R(ctx);
        p->nameRange = R(ctx->name());
        p->name = text(ctx->name());
        for (auto* item : ctx->protoItem()) protoItem(*p, item);
        return p;
    }

    void protoItem(ast::Protocol& p, P::ProtoItemContext* item) {
        SourceRange r = R(item);
        if (auto* c = as<P::IdItemContext*>(item)) {
            if (firstOf("id", p.id.has_value(), p.idRange, r, p)) {
                p.id = integer(c->INT());
                p.idRange = R(c->INT());
            }
        } else if (auto* c = as<P::ByteOrderItemContext*>(item)) {
            if (!firstOf("byteorder", p.byteOrderRange.valid(), p.byteOrderRange, r, p)) return;
            p.byteOrderRange = r;
            std::string v = text(c->name());
            if (v == "big")
                p.byteOrder = ast::ByteOrder::Big;
            else if (v == "little")
                p.byteOrder = ast::ByteOrder::Little;
            else
                diags_.report(DiagKind::BadByteOrder, R(c->name()), v);
        } else if (auto* c = as<P::OverItemContext*>(item)) {
            // `over a, b when c;` is one relation per parent, each with its own copy of c:
            // the condition is checked in each parent's scope.
            ast::ExprPtr when;
            std::vector<ast::CaseValue> ports;
            bool byPort = false;
            if (auto* w = as<P::OverWhenContext*>(c->overRule())) {
                when = expr(w->expr());
            } else if (auto* pr = as<P::OverPortContext*>(c->overRule())) {
                byPort = true;
                for (auto* cv : pr->caseValue()) ports.push_back(caseValue(cv));
            }
            for (auto* n : c->name()) {
                ast::Over o;
                o.range = r;
                o.parent = text(n);
                o.parentRange = R(n);
                o.byPort = byPort;
                o.ports = ports;
                if (when) o.when = ast::cloneExpr(*when);
                if (auto* w = c->weightClause()) {
                    o.weight = integer(w->INT());
                    o.weightRange = R(w);
                }
                o.quoted = c->quoted != nullptr;
                p.overs.push_back(std::move(o));
            }
        } else if (auto* c = as<P::PortsItemContext*>(item)) {
            if (!firstOf("ports", p.ports.has_value(), p.ports ? p.ports->range : SourceRange{}, r,
                         p))
                return;
            ast::Ports ports;
            ports.range = r;
            ports.src = expr(c->expr(0));
            ports.dst = expr(c->expr(1));
            p.ports = std::move(ports);
        } else if (auto* c = as<P::HeaderItemContext*>(item)) {
            if (!firstOf("header", p.header != nullptr, p.header ? p.header->range : SourceRange{},
                         r, p))
                return;
            p.header = record("header", r, r, c->fieldItem(), p);
        } else if (auto* c = as<P::BodyItemContext*>(item)) {
            if (!firstOf("body", p.body != nullptr, p.body ? p.body->range : SourceRange{}, r, p))
                return;
            p.body = record("body", r, r, c->fieldItem(), p);
        } else if (auto* c = as<P::RecordItemContext*>(item)) {
            p.records.push_back(record(text(c->name()), r, R(c->name()), c->fieldItem(), p));
        } else if (auto* c = as<P::LetItemContext*>(item)) {
            auto l = std::make_unique<ast::Let>();
            l->range = r;
            l->name = text(c->name());
            l->nameRange = R(c->name());
            l->doc = doc(c);
            if (c->typeName()) l->declType = typeName(c->typeName());
            l->value = expr(c->expr());
            p.lets.push_back(std::move(l));
        } else if (auto* c = as<P::LengthItemContext*>(item)) {
            std::string which = tokenText(c->lengthName());
            std::optional<ast::LengthDef>& slot = which == "header_length"    ? p.headerLength
                                                  : which == "payload_length" ? p.payloadLength
                                                  : which == "pdu_body"       ? p.pduBody
                                                                              : p.pduLength;
            if (!firstOf(which.c_str(), slot.has_value(), slot ? slot->range : SourceRange{}, r, p))
                return;
            slot = ast::LengthDef{r, expr(c->expr())};
        } else if (auto* c = as<P::PduUntilItemContext*>(item)) {
            if (!firstOf("pdu until", p.pduUntil.has_value(), p.pduUntilRange, r, p)) return;
            p.pduUntil = stringLit(c->STRING());
            p.pduUntilRange = r;
            if (p.pduUntil->empty())
                diags_.report(DiagKind::EmptyString, R(c->STRING()), "a PDU terminator");
        } else if (auto* c = as<P::MaxPduItemContext*>(item)) {
            if (!firstOf("max_pdu", p.maxPdu.has_value(), p.maxPduRange, r, p)) return;
            p.maxPdu = sizeBytes(c->SIZE() ? c->SIZE() : c->INT());
            p.maxPduRange = r;
        } else if (auto* c = as<P::AttrListItemContext*>(item)) {
            // A doc comment describes a list of one; the others take their fields'.
            std::string listDoc = c->name().size() == 1 ? doc(c) : std::string();
            for (auto* n : c->name()) {
                auto a = std::make_unique<ast::Attribute>();
                a->range = R(n);
                a->nameRange = R(n);
                a->name = text(n);
                a->doc = listDoc;
                a->shorthand = true;
                p.attributes.push_back(std::move(a));
            }
        } else if (auto* c = as<P::AttrDefItemContext*>(item)) {
            auto a = std::make_unique<ast::Attribute>();
            a->range = r;
            a->name = text(c->name());
            a->nameRange = R(c->name());
            a->doc = doc(c);
            if (c->attrType()) attrType(*a, c->attrType());
            a->value = expr(c->expr(0));
            if (c->expr().size() > 1) a->cond = expr(c->expr(1));
            p.attributes.push_back(std::move(a));
        } else if (auto* c = as<P::EventAttrItemContext*>(item)) {
            auto a = std::make_unique<ast::Attribute>();
            a->range = r;
            a->isEvent = true;
            a->name = text(c->name());
            a->nameRange = R(c->name());
            a->doc = doc(c);
            if (c->attrType()) attrType(*a, c->attrType());
            // The optional parts are told apart by the keyword before each expression.
            std::string last;
            for (auto* child : c->children) {
                if (auto* t = dynamic_cast<antlr4::tree::TerminalNode*>(child)) {
                    last = t->getText();
                } else if (auto* e = as<P::ExprContext*>(child)) {
                    if (last == "=")
                        a->value = expr(e);
                    else if (last == "on")
                        a->on = expr(e);
                    else if (last == "if")
                        a->cond = expr(e);
                }
            }
            p.attributes.push_back(std::move(a));
        } else if (auto* c = as<P::KeyItemContext*>(item)) {
            if (!firstOf("key", p.key.has_value(), p.key ? p.key->range : SourceRange{}, r, p))
                return;
            p.key = keyParts(c->keyParts(), r);
        } else if (auto* c = as<P::SessionItemContext*>(item)) {
            if (!firstOf("session", p.session.has_value(),
                         p.session ? p.session->range : SourceRange{}, r, p))
                return;
            ast::Session s;
            s.range = r;
            if (c->keyParts()) s.key = keyParts(c->keyParts(), R(c->keyParts()));
            s.timeoutMs = durationMs(c->DURATION());
            s.timeoutRange = R(c->DURATION());
            p.session = std::move(s);
        } else if (auto* c = as<P::StateItemContext*>(item)) {
            for (auto* sv : c->stateVar()) {
                auto v = std::make_unique<ast::StateVar>();
                v->range = R(sv);
                v->name = text(sv->name());
                v->nameRange = R(sv->name());
                v->typeName = typeName(sv->typeName());
                if (sv->INT()) {
                    v->max = integer(sv->INT());
                    v->maxRange = R(sv->INT());
                }
                if (sv->expr()) v->init = expr(sv->expr());
                p.state.push_back(std::move(v));
            }
        } else if (auto* c = as<P::UpdateItemContext*>(item)) {
            ast::Update u;
            u.range = r;
            u.name = text(c->name());
            u.nameRange = R(c->name());
            u.value = expr(c->expr(0));
            if (c->expr().size() > 1) u.cond = expr(c->expr(1));
            p.updates.push_back(std::move(u));
        } else if (auto* c = as<P::ClassifyItemContext*>(item)) {
            ast::Classify cl;
            cl.range = r;
            if (auto* w = c->weightClause()) {
                cl.weight = integer(w->INT());
                cl.weightRange = R(w);
            }
            if (auto* v = as<P::ClassifyByValueContext*>(c->classifyRule())) {
                cl.kind = ast::Classify::Kind::Value;
                cl.expr = expr(v->expr());
                for (auto* cc : v->classifyCase()) cl.cases.push_back(classifyCase(cc));
            } else if (auto* v = as<P::ClassifyByTableContext*>(c->classifyRule())) {
                cl.kind = ast::Classify::Kind::Value;
                cl.expr = expr(v->expr());
                cl.table = text(v->name());
                cl.tableRange = R(v->name());
            } else if (auto* v = as<P::ClassifyByPortContext*>(c->classifyRule())) {
                cl.kind = ast::Classify::Kind::Port;
                for (auto* cc : v->classifyCase()) cl.cases.push_back(classifyCase(cc));
            } else if (auto* v = as<P::ClassifyWhenContext*>(c->classifyRule())) {
                cl.kind = ast::Classify::Kind::When;
                cl.expr = expr(v->expr());
                cl.target = text(v->name());
                cl.targetRange = R(v->name());
            } else {
                return;
            }
            p.classifies.push_back(std::move(cl));
        } else if (auto* c = as<P::StreamItemContext*>(item)) {
            if (!firstOf("stream", p.stream.has_value(), p.stream ? p.stream->range : SourceRange{},
                         r, p))
                return;
            p.stream = block(r, c->assignment());
        } else if (auto* c = as<P::FragmentItemContext*>(item)) {
            if (!firstOf("fragment", p.fragment.has_value(),
                         p.fragment ? p.fragment->range : SourceRange{}, r, p))
                return;
            p.fragment = block(r, c->assignment());
        }
    }

    ast::Block block(SourceRange r, const std::vector<P::AssignmentContext*>& items) {
        ast::Block b;
        b.range = r;
        for (auto* a : items)
            b.entries.push_back(
                ast::Assignment{R(a), R(a->name()), text(a->name()), expr(a->expr())});
        return b;
    }

    ast::ClassifyCase classifyCase(P::ClassifyCaseContext* c) {
        ast::ClassifyCase cc;
        cc.range = R(c);
        for (auto* cv : c->caseValue()) cc.values.push_back(caseValue(cv));
        cc.target = text(c->name());
        cc.targetRange = R(c->name());
        return cc;
    }

    ast::KeyParts keyParts(P::KeyPartsContext* c, SourceRange r) {
        ast::KeyParts k;
        k.range = r;
        auto lists = c->exprList();
        if (!lists.empty())
            for (auto* e : lists[0]->expr()) k.a.push_back(expr(e));
        if (lists.size() > 1) {
            k.bidirectional = true;
            for (auto* e : lists[1]->expr()) k.b.push_back(expr(e));
        }
        return k;
    }

    ast::TypeName typeName(P::TypeNameContext* c) { return ast::TypeName{R(c), tokenText(c)}; }

    /// `u32 hex`: the declared type of an attribute and how its integers print.
    void attrType(ast::Attribute& a, P::AttrTypeContext* c) {
        a.declType = typeName(c->typeName());
        if (!c->display) return;
        SourceRange r = R(c->display);
        if (text(c->display) == "hex") {
            a.hex = true;
            a.hexRange = r;
        } else {
            diags_.report(DiagKind::UnknownDisplay, r, text(c->display), a.name);
        }
    }

    ast::CaseValue caseValue(P::CaseValueContext* c) {
        ast::CaseValue v;
        v.range = R(c);
        v.lo = integer(c->INT(0));
        v.hi = c->INT().size() > 1 ? integer(c->INT(1)) : v.lo;
        return v;
    }

    std::unique_ptr<ast::Record> record(std::string name, SourceRange r, SourceRange nameRange,
                                        const std::vector<P::FieldItemContext*>& items,
                                        const ast::Protocol& p) {
        auto rec = std::make_unique<ast::Record>();
        rec->name = std::move(name);
        rec->range = r;
        rec->nameRange = nameRange;
        rec->protocol = &p;
        for (auto* it : items) fieldItem(rec->items, it);
        return rec;
    }

    void fieldItem(std::vector<ast::FieldItem>& out, P::FieldItemContext* item) {
        ast::FieldItem fi;
        fi.range = R(item);
        if (auto* c = as<P::FieldDeclItemContext*>(item)) {
            fi.kind = ast::FieldItem::Kind::Field;
            fi.field = field(c->fieldDecl());
        } else if (auto* c = as<P::RequiresItemContext*>(item)) {
            fi.kind = ast::FieldItem::Kind::Requires;
            fi.requires_ = expr(c->expr());
        } else if (auto* c = as<P::SwitchItemContext*>(item)) {
            fi.kind = ast::FieldItem::Kind::Switch;
            fi.sw = switchItem(c, fi.range);
        } else if (auto* c = as<P::SwitchNoParensItemContext*>(item)) {
            // `switch kind {`: said once, then read as if the parentheses were there, so
            // that nothing else is reported about it.
            diags_.report(DiagKind::SwitchNeedsParens, R(c->expr(0)), c->expr(0)->getText());
            fi.kind = ast::FieldItem::Kind::Switch;
            fi.sw = switchItem(c, fi.range);
        } else {
            return;
        }
        out.push_back(std::move(fi));
    }

    template <class Ctx> std::unique_ptr<ast::Switch> switchItem(Ctx* c, SourceRange range) {
        auto sw = std::make_unique<ast::Switch>();
        sw->range = range;
        sw->selector = expr(c->expr(0));
        if (c->expr().size() > 1) sw->size = expr(c->expr(1));
        for (auto* arm : c->switchArm()) {
            ast::SwitchArm a;
            a.range = R(arm);
            for (auto* cv : arm->caseValue()) a.values.push_back(caseValue(cv));
            a.isDefault = arm->caseValue().empty();
            if (arm->fieldDecl()) {
                ast::FieldItem one;
                one.kind = ast::FieldItem::Kind::Field;
                one.range = R(arm->fieldDecl());
                one.field = field(arm->fieldDecl());
                a.items.push_back(std::move(one));
            } else {
                for (auto* it : arm->fieldItem()) fieldItem(a.items, it);
            }
            sw->arms.push_back(std::move(a));
        }
        return sw;
    }

    static bool parseIntType(const std::string& n, unsigned& width,
                             std::optional<ast::ByteOrder>& order) {
        if (n.size() < 2 || n[0] != 'u' || !std::isdigit(static_cast<unsigned char>(n[1])))
            return false;
        size_t i = 1;
        unsigned w = 0;
        while (i < n.size() && std::isdigit(static_cast<unsigned char>(n[i]))) {
            w = w * 10 + unsigned(n[i] - '0');
            if (w > 100000) return false;
            ++i;
        }
        std::string suffix = n.substr(i);
        if (suffix == "le")
            order = ast::ByteOrder::Little;
        else if (suffix == "be")
            order = ast::ByteOrder::Big;
        else if (!suffix.empty())
            return false;
        width = w;
        return true;
    }

    std::unique_ptr<ast::Field> field(P::FieldDeclContext* c) {
        auto f = std::make_unique<ast::Field>();
        f->range = R(c);
        f->nameRange = R(c->fieldName());
        f->name = tokenText(c->fieldName());
        f->doc = doc(c);
        auto* ft = c->fieldType();
        f->type.range = R(ft->typeName());
        f->type.name = tokenText(ft->typeName());
        const std::string& tn = f->type.name;
        if (tn == "mac")
            f->type.kind = ast::TypeSpec::Mac;
        else if (tn == "ipv4")
            f->type.kind = ast::TypeSpec::Ipv4;
        else if (tn == "ipv6")
            f->type.kind = ast::TypeSpec::Ipv6;
        else if (tn == "bytes")
            f->type.kind = ast::TypeSpec::Bytes;
        else if (parseIntType(tn, f->type.width, f->type.order))
            f->type.kind = ast::TypeSpec::Int;
        else if (tn == "varint" || tn == "quic_varint") {
            f->type.kind = ast::TypeSpec::Varint;
            f->type.varint = tn == "varint" ? ast::VarintStyle::Base128 : ast::VarintStyle::Quic;
        } else
            f->type.kind = ast::TypeSpec::Record; // resolved (or rejected) by the checker

        bool brackets = false;
        for (auto* child : ft->children)
            if (auto* t = dynamic_cast<antlr4::tree::TerminalNode*>(child))
                if (t->getText() == "[") brackets = true;
        bool isBytes = f->type.kind == ast::TypeSpec::Bytes;
        if (brackets) {
            if (!isBytes) f->isList = true;
            if (ft->expr()) {
                f->extent = ast::Extent::Count;
                f->count = expr(ft->expr());
            } else if (isBytes) {
                diags_.report(DiagKind::EmptyBrackets, R(ft), "bytes", "bytes", "bytes", "bytes");
            }
        } else if (isBytes) {
            f->extent = ast::Extent::Rest;
        }

        // A count and a terminator are two lengths. `size` is not one of them: it bounds
        // the region the field occupies, whatever ends the field inside it.
        auto setExtent = [&](ast::Extent e, SourceRange r, const char* what) {
            bool until =
                f->extent == ast::Extent::UntilString || f->extent == ast::Extent::UntilExpr;
            if (until) {
                diags_.report(DiagKind::DuplicateSuffix, r, "until", f->name);
                return false;
            }
            if (f->extent == ast::Extent::Count) {
                diags_.report(DiagKind::ConflictingExtent, r, f->name, "'[n]'",
                              std::string("'") + what + "'");
                return false;
            }
            f->extent = e;
            return true;
        };
        for (auto* sfx : c->fieldSuffix()) {
            SourceRange sr = R(sfx);
            if (auto* s = as<P::UntilStringSuffixContext*>(sfx)) {
                if (setExtent(ast::Extent::UntilString, sr, "until")) {
                    f->terminator = stringLit(s->STRING());
                    f->terminatorRange = R(s->STRING());
                    if (f->terminator.empty())
                        diags_.report(DiagKind::EmptyString, f->terminatorRange, "a terminator");
                }
            } else if (auto* s = as<P::UntilExprSuffixContext*>(sfx)) {
                if (!f->isList && !isBytes) {
                    diags_.report(DiagKind::SuffixNotAllowed, sr, "until (...)",
                                  "a field that is not a list");
                } else if (isBytes) {
                    diags_.report(DiagKind::SuffixNotAllowed, sr, "until (...)",
                                  "bytes; use 'until \"...\"' with a terminator string");
                } else if (setExtent(ast::Extent::UntilExpr, sr, "until")) {
                    f->until = expr(s->expr());
                }
            } else if (auto* s = as<P::SizeSuffixContext*>(sfx)) {
                if (f->size) {
                    diags_.report(DiagKind::DuplicateSuffix, sr, "size", f->name);
                    continue;
                }
                f->size = expr(s->expr());
            } else if (auto* s = as<P::MaxSuffixContext*>(sfx)) {
                if (f->max) {
                    diags_.report(DiagKind::DuplicateSuffix, sr, "max", f->name);
                    continue;
                }
                f->max = integer(s->INT());
                f->maxRange = sr;
            } else if (auto* s = as<P::IfSuffixContext*>(sfx)) {
                if (f->cond) {
                    diags_.report(DiagKind::DuplicateSuffix, sr, "if", f->name);
                    continue;
                }
                f->cond = expr(s->expr());
            } else if (auto* s = as<P::RequiresSuffixContext*>(sfx)) {
                f->requires_.push_back(expr(s->expr()));
            } else if (auto* s = as<P::BitNamesSuffixContext*>(sfx)) {
                if (!f->bitNames.empty()) {
                    diags_.report(DiagKind::DuplicateSuffix, sr, "{ ... }", f->name);
                    continue;
                }
                // `_` leaves a bit unnamed: `{ _, _, response, ... }`.
                for (auto* n : s->bitName())
                    f->bitNames.push_back(ast::BitName{R(n), n->name() ? text(n->name()) : "_"});
            }
        }
        if (f->type.kind == ast::TypeSpec::Varint) {
            // The longest encoding: 4 bytes (MQTT) unless `max N` says otherwise, or the 8
            // bytes of QUIC's largest size. The checker rejects a `max` out of range.
            if (f->type.varint == ast::VarintStyle::Quic) {
                f->type.maxBytes = 8;
                f->type.width = 62;
            } else {
                uint64_t n = f->max.value_or(ast::kVarintDefaultBytes);
                f->type.maxBytes = unsigned(std::clamp<uint64_t>(n, 1, ast::kVarintMaxBytes));
                f->type.width = std::min(64u, 7 * f->type.maxBytes);
            }
        }
        // `rec[]` with `size` and nothing else: a list filling the size.
        if (f->isList && f->extent == ast::Extent::Single) {
            if (f->size)
                f->extent = ast::Extent::Size;
            else if (f->max)
                f->extent = ast::Extent::Rest;
            else
                diags_.report(DiagKind::ListNeedsExtent, f->range, f->name, f->type.name);
        }
        return f;
    }

    ast::ExprPtr make(ast::Expr::Kind k, ParserRuleContext* c) {
        return std::make_unique<ast::Expr>(k, R(c));
    }

    ast::ExprPtr expr(P::ExprContext* ctx) {
        if (!ctx) return std::make_unique<ast::Expr>(ast::Expr::Kind::Int, SourceRange{});
        using K = ast::Expr::Kind;
        if (auto* c = as<P::PrimaryExprContext*>(ctx)) return primary(c->primary());
        if (auto* c = as<P::MemberExprContext*>(ctx)) {
            auto e = make(K::Member, c);
            e->operands.push_back(expr(c->expr()));
            e->text = text(c->name());
            e->nameRange = R(c->name());
            return e;
        }
        if (auto* c = as<P::IndexExprContext*>(ctx)) {
            auto e = make(K::Index, c);
            e->operands.push_back(expr(c->expr(0)));
            e->operands.push_back(expr(c->expr(1)));
            return e;
        }
        if (auto* c = as<P::CallExprContext*>(ctx)) {
            auto e = make(K::Call, c);
            e->text = text(c->name());
            e->nameRange = R(c->name());
            if (c->exprList())
                for (auto* a : c->exprList()->expr()) e->operands.push_back(expr(a));
            return e;
        }
        if (auto* c = as<P::UnaryExprContext*>(ctx)) {
            auto e = make(K::Unary, c);
            e->text = c->op->getText();
            e->operands.push_back(expr(c->expr()));
            return e;
        }
        if (auto* c = as<P::NotExprContext*>(ctx)) {
            auto e = make(K::Not, c);
            e->text = "not";
            e->operands.push_back(expr(c->expr()));
            return e;
        }
        if (auto* c = as<P::InExprContext*>(ctx)) {
            auto e = make(K::In, c);
            e->operands.push_back(expr(c->expr()));
            for (auto* cv : c->caseValue()) e->cases.push_back(caseValue(cv));
            return e;
        }
        if (auto* c = as<P::CondExprContext*>(ctx)) {
            auto e = make(K::Cond, c);
            for (int i = 0; i < 3; ++i) e->operands.push_back(expr(c->expr(i)));
            return e;
        }
        // Every remaining alternative is a binary operator `expr op expr`.
        auto e = make(K::Binary, ctx);
        std::vector<P::ExprContext*> kids;
        for (auto* child : ctx->children) {
            if (auto* sub = as<P::ExprContext*>(child))
                kids.push_back(sub);
            else if (auto* t = dynamic_cast<antlr4::tree::TerminalNode*>(child))
                e->text = t->getText();
        }
        for (auto* k : kids) e->operands.push_back(expr(k));
        while (e->operands.size() < 2)
            e->operands.push_back(std::make_unique<ast::Expr>(K::Int, e->range));
        return e;
    }

    ast::ExprPtr primary(P::PrimaryContext* ctx) {
        using K = ast::Expr::Kind;
        if (auto* c = as<P::IntLitContext*>(ctx)) {
            auto e = make(K::Int, c);
            e->intValue = integer(c->INT());
            return e;
        }
        if (auto* c = as<P::StringLitContext*>(ctx)) {
            auto e = make(K::String, c);
            e->text = stringLit(c->STRING());
            return e;
        }
        if (auto* c = as<P::BoolLitContext*>(ctx)) {
            auto e = make(K::Bool, c);
            e->boolValue = tokenText(c) == "true";
            return e;
        }
        if (auto* c = as<P::NameRefContext*>(ctx)) {
            auto e = make(K::Name, c);
            e->text = text(c->name());
            e->nameRange = e->range;
            return e;
        }
        if (auto* c = as<P::ParenExprContext*>(ctx)) {
            auto inner = expr(c->expr());
            inner->range = R(c); // keep the parentheses in the span, as clang does
            return inner;
        }
        return std::make_unique<ast::Expr>(K::Int, R(ctx));
    }

    static constexpr size_t kDocChannel = 2; // DOC_COMMENT's channel in the grammar

    const PositionMap& pos_;
    DiagEngine& diags_;
    antlr4::BufferedTokenStream& tokens_;
};

/// Reports malformed literals, token by token, so that they are found even in a file
/// with syntax errors: integers beyond 64 bits and bad escape sequences.
void checkLiterals(antlr4::BufferedTokenStream& tokens, const PositionMap& pos, DiagEngine& diags) {
    for (const Token* tok : tokens.getTokens()) {
        if (tok->getType() == mmtp_gen::MmtpLexer::INT) {
            uint64_t v;
            if (!decodeInt(tok->getText(), v))
                diags.report(DiagKind::IntTooLarge, pos.tokenRange(tok), tok->getText());
        } else if (tok->getType() == mmtp_gen::MmtpLexer::STRING) {
            std::vector<StringFault> faults;
            decodeString(tok->getText(), &faults);
            uint32_t start = pos.tokenStart(tok);
            for (const auto& f : faults) {
                SourceRange r =
                    pos.bytes(start + uint32_t(f.index), start + uint32_t(f.index + f.length));
                if (f.kind == DiagKind::BadEscape)
                    diags.report(f.kind, r, f.sequence);
                else
                    diags.report(f.kind, r);
            }
        }
    }
}

} // namespace

/// How deeply the text nests, measured on tokens before anything recursive runs: each
/// open bracket adds a level, and so does every operator since the last `,` or `;` of its
/// bracket level (a run of prefix operators, a chain of binary ones, a `?:` chain: each
/// makes the tree one level deeper). The parser, the checker and the code generator all
/// recurse on that depth, so text past kMaxNesting is an error before any of them runs.
constexpr size_t kMaxNesting = 1000;

namespace {

/// What a token does to the nesting depth, by token type.
enum class NestRole : uint8_t { None, Open, OpenIndex, Close, Separator, Operator };

const std::vector<NestRole>& nestRoles() {
    static const std::vector<NestRole> roles = [] {
        std::vector<NestRole> r;
        auto give = [&r](NestRole role, std::initializer_list<std::string_view> texts) {
            for (std::string_view text : texts) {
                size_t type = literalType(text);
                if (type >= r.size()) r.resize(type + 1, NestRole::None);
                r[type] = role;
            }
        };
        give(NestRole::Open, {"(", "{"});
        give(NestRole::OpenIndex, {"["});
        give(NestRole::Close, {")", "]", "}"});
        give(NestRole::Separator, {",", ";", "=>"});
        give(NestRole::Operator,
             {"-",  "~",  "not", "*",  "/", "%",  "+",  "<<",  ">>", "&", "^", "|",
              "==", "!=", "<",   "<=", ">", ">=", "in", "and", "or", "?", ":", "."});
        return r;
    }();
    return roles;
}

} // namespace

bool checkNesting(antlr4::BufferedTokenStream& tokens, const PositionMap& pos, DiagEngine& diags) {
    const std::vector<NestRole>& roles = nestRoles();
    std::vector<size_t> ops{0}; // operators since the last separator, per bracket level
    size_t depth = 0;           // open brackets plus those operators, along the open levels
    for (Token* t : tokens.getTokens()) {
        if (t->getType() == Token::EOF) break;
        NestRole role = t->getType() < roles.size() ? roles[t->getType()] : NestRole::None;
        switch (role) {
        case NestRole::Open:
        case NestRole::OpenIndex:
            ops.push_back(0);
            ++depth;
            if (role == NestRole::OpenIndex) { // an index is an operator of the level outside too
                ++ops[ops.size() - 2];
                ++depth;
            }
            break;
        case NestRole::Close:
            if (ops.size() > 1) {
                depth -= ops.back() + 1;
                ops.pop_back();
            }
            break;
        case NestRole::Separator:
            depth -= ops.back();
            ops.back() = 0;
            break;
        case NestRole::Operator:
            ++ops.back();
            ++depth;
            break;
        case NestRole::None:
            break;
        }
        if (depth > kMaxNesting) {
            diags.report(DiagKind::NestingTooDeep, pos.tokenRange(t), kMaxNesting);
            return false;
        }
    }
    return true;
}

std::unique_ptr<ast::File> parseFile(const SourceManager& sm, uint32_t fileId, DiagEngine& diags) {
    const SourceFile& file = sm.file(fileId);
    // ANTLR's input stream throws on malformed UTF-8: stop at the first bad byte instead.
    size_t bad = firstInvalidUtf8(file.text());
    if (bad != std::string::npos) {
        SourceRange r{fileId, file.locAt(uint32_t(bad)), file.locAt(uint32_t(bad + 1))};
        diags.report(DiagKind::InvalidUtf8, r,
                     unsigned(static_cast<unsigned char>(file.text()[bad])));
        return nullptr;
    }
    PositionMap pos(file, fileId);
    // The grammar's lexical rules, scanned by hand (lexer.h): BAD_CHAR takes whatever no
    // other rule does, so lexing reports nothing itself.
    MmtpTokenSource lexer(file.text(), file.path());
    antlr4::CommonTokenStream tokens(&lexer);
    mmtp_gen::MmtpParser parser(&tokens);
    parser.removeErrorListeners();
    SyntaxErrorListener listener(pos, diags, parser.getVocabulary(), tokens);
    parser.addErrorListener(&listener);

    // Hostile nesting is refused before the parser recurses on it.
    tokens.fill();
    if (!checkNesting(tokens, pos, diags)) return nullptr;
    unsigned before = diags.errorCount();
    // Two stages, as ANTLR advises: SLL prediction, which is fast and enough for any file
    // without a syntax error, stopping at the first error; then, only for a file that
    // stopped, full LL prediction with error recovery and every error reported.
    parser.removeErrorListeners();
    parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
        antlr4::atn::PredictionMode::SLL);
    P::FileContext* tree = nullptr;
    try {
        tree = parser.file();
    } catch (const antlr4::ParseCancellationException&) {
        tokens.seek(0);
        parser.reset();
        parser.addErrorListener(&listener);
        parser.setErrorHandler(std::make_shared<antlr4::DefaultErrorStrategy>());
        parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
            antlr4::atn::PredictionMode::LL);
        tree = parser.file();
    }
    tokens.fill();
    checkLiterals(tokens, pos, diags);
    if (diags.errorCount() != before) return nullptr;
    AstBuilder builder(pos, diags, tokens);
    return builder.file(tree);
}

} // namespace mmtc
