// Display filters: the lexer, a recursive-descent parser (depth-limited, one pass over the
// tokens) and the checks of literals against attribute types.
#include "filter/filter_ast.h"
#include "mmtc/compiler.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace mmtc::filter {

const char* typeName(uint32_t type) {
    // A name of no value type is a protocol, tested for presence.
    return type == MMT_T_NONE ? "protocol" : valueTypeName(type);
}

namespace {

struct Token {
    enum Kind { End, LParen, RParen, LBrace, RBrace, Comma, Cmp, And, Or, Not, Str, Word } kind;
    size_t pos = 0, len = 0;
    std::string text; // a word as written; a string decoded
    Op op = Op::Eq;
};

struct Error {
    size_t pos = 0, len = 0;
    std::string message;
};

bool wordChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' ||
           c == '-' || c == '/';
}

int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool lex(std::string_view s, std::vector<Token>& out, Error& err) {
    size_t i = 0;
    auto add = [&](Token::Kind k, size_t len, Op op = Op::Eq) {
        Token t{k, i, len, std::string(s.substr(i, len)), op};
        out.push_back(std::move(t));
        i += len;
    };
    while (i < s.size()) {
        char c = s[i];
        char n = i + 1 < s.size() ? s[i + 1] : '\0';
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (c == '(') {
            add(Token::LParen, 1);
        } else if (c == ')') {
            add(Token::RParen, 1);
        } else if (c == '{') {
            add(Token::LBrace, 1);
        } else if (c == '}') {
            add(Token::RBrace, 1);
        } else if (c == ',') {
            add(Token::Comma, 1);
        } else if (c == '=' && n == '=') {
            add(Token::Cmp, 2, Op::Eq);
        } else if (c == '!' && n == '=') {
            add(Token::Cmp, 2, Op::Ne);
        } else if (c == '<') {
            n == '=' ? add(Token::Cmp, 2, Op::Le) : add(Token::Cmp, 1, Op::Lt);
        } else if (c == '>') {
            n == '=' ? add(Token::Cmp, 2, Op::Ge) : add(Token::Cmp, 1, Op::Gt);
        } else if (c == '!') {
            add(Token::Not, 1);
        } else if (c == '&' && n == '&') {
            add(Token::And, 2);
        } else if (c == '|' && n == '|') {
            add(Token::Or, 2);
        } else if (c == '=') {
            err = {i, 1, "'=' is not an operator; did you mean '=='?"};
            return false;
        } else if (c == '"') {
            Token t{Token::Str, i, 0, "", Op::Eq};
            size_t j = i + 1;
            for (;; ++j) {
                if (j >= s.size()) {
                    err = {i, 1, "missing the closing '\"' of this string"};
                    return false;
                }
                if (s[j] == '"') break;
                if (s[j] != '\\') {
                    t.text += s[j];
                    continue;
                }
                if (++j >= s.size()) continue; // reported as unterminated
                char e = s[j];
                int h1 = j + 1 < s.size() ? hexValue(s[j + 1]) : -1;
                int h2 = j + 2 < s.size() ? hexValue(s[j + 2]) : -1;
                if (e == 'n') {
                    t.text += '\n';
                } else if (e == 't') {
                    t.text += '\t';
                } else if (e == 'r') {
                    t.text += '\r';
                } else if (e == '0') {
                    t.text += '\0';
                } else if (e == 'x' && h1 >= 0 && h2 >= 0) {
                    t.text += char(h1 * 16 + h2);
                    j += 2;
                } else if (e == '\\' || e == '"') {
                    t.text += e;
                } else {
                    err = {j - 1, 2,
                           fmt::format("unknown escape '\\{}' (use \\\\, \\\", \\n, \\t, \\r, \\0 "
                                       "or \\xHH)",
                                       e)};
                    return false;
                }
            }
            t.len = j + 1 - i;
            out.push_back(std::move(t));
            i = j + 1;
        } else if (wordChar(c)) {
            size_t j = i;
            while (j < s.size() && wordChar(s[j])) ++j;
            std::string w(s.substr(i, j - i));
            Token::Kind k = Token::Word;
            Op op = Op::Eq;
            if (w == "and")
                k = Token::And;
            else if (w == "or")
                k = Token::Or;
            else if (w == "not")
                k = Token::Not;
            else if (w == "eq" || w == "ne" || w == "lt" || w == "le" || w == "gt" || w == "ge") {
                k = Token::Cmp;
                op = w == "eq"   ? Op::Eq
                     : w == "ne" ? Op::Ne
                     : w == "lt" ? Op::Lt
                     : w == "le" ? Op::Le
                     : w == "gt" ? Op::Gt
                                 : Op::Ge;
            }
            add(k, j - i, op);
        } else {
            err = {i, 1, fmt::format("unexpected character '{}'", c)};
            if (!std::isprint(static_cast<unsigned char>(c)))
                err.message = fmt::format("unexpected byte 0x{:02x}", uint8_t(c));
            return false;
        }
    }
    out.push_back(Token{Token::End, s.size(), 0, "", Op::Eq});
    return true;
}

bool parseUint(std::string_view w, uint64_t& out) {
    if (w.empty()) return false;
    int base = 10;
    if (w.size() > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X')) {
        base = 16;
        w.remove_prefix(2);
    }
    uint64_t v = 0;
    for (char c : w) {
        int d = hexValue(c);
        if (d < 0 || d >= base) return false;
        if (v > (UINT64_MAX - uint64_t(d)) / uint64_t(base)) return false;
        v = v * uint64_t(base) + uint64_t(d);
    }
    out = v;
    return true;
}

/// Hex bytes separated by ':', '-' or '.' (a MAC address, "16:03:01"), or one or two hex
/// digits for a single byte.
bool parseHexBytes(std::string_view w, std::string& out) {
    out.clear();
    size_t i = 0;
    while (i < w.size()) {
        int h = hexValue(w[i]);
        if (h < 0) return false;
        int l = i + 1 < w.size() ? hexValue(w[i + 1]) : -1;
        if (l >= 0) {
            out += char(h * 16 + l);
            i += 2;
        } else {
            out += char(h);
            i += 1;
        }
        if (i == w.size()) break;
        char sep = w[i];
        if (sep != ':' && sep != '-' && sep != '.') return false;
        if (++i == w.size()) return false;
    }
    return !out.empty();
}

/// The part before '/' and the prefix length after it (-1 without).
bool splitPrefix(std::string_view w, std::string& addr, int& prefix, int maxBits) {
    size_t slash = w.find('/');
    addr = std::string(w.substr(0, slash));
    prefix = -1;
    if (slash == std::string_view::npos) return true;
    uint64_t p = 0;
    std::string_view digits = w.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos || !parseUint(digits, p) ||
        p > uint64_t(maxBits))
        return false;
    prefix = int(p);
    return true;
}

std::string quoted(std::string_view bytes) {
    std::string s = "\"";
    for (char c : bytes) {
        if (c == '"' || c == '\\')
            s += fmt::format("\\{}", c);
        else if (std::isprint(static_cast<unsigned char>(c)))
            s += c;
        else
            s += fmt::format("\\x{:02x}", uint8_t(c));
    }
    return s + "\"";
}

const char* opText(Op op) {
    switch (op) {
    case Op::Eq:
        return "==";
    case Op::Ne:
        return "!=";
    case Op::Lt:
        return "<";
    case Op::Le:
        return "<=";
    case Op::Gt:
        return ">";
    case Op::Ge:
        return ">=";
    }
    return "?";
}

class Parser {
  public:
    Parser(std::vector<Token> tokens, const Resolver& resolve, Program& program)
        : toks_(std::move(tokens)), resolve_(resolve), program_(program) {}

    std::unique_ptr<Node> parseFilter() {
        if (cur().kind == Token::End) return fail(cur(), "empty filter");
        auto n = parseOr(0);
        if (!n) return nullptr;
        if (cur().kind != Token::End)
            return fail(cur(), fmt::format("unexpected '{}' after a complete filter", cur().text));
        return n;
    }
    const Error& error() const { return err_; }

  private:
    const Token& cur() const { return toks_[pos_]; }
    void advance() {
        if (toks_[pos_].kind != Token::End) ++pos_;
    }
    std::unique_ptr<Node> fail(const Token& t, std::string msg) {
        if (!failed_) {
            err_ = {t.pos, t.len, std::move(msg)};
            failed_ = true;
        }
        return nullptr;
    }
    static std::string describeToken(const Token& t) {
        return t.kind == Token::End ? "the end of the filter" : fmt::format("'{}'", t.text);
    }

    std::unique_ptr<Node> parseOr(unsigned depth) {
        return parseList(depth, Token::Or, Node::Kind::Or);
    }

    std::unique_ptr<Node> parseList(unsigned depth, Token::Kind sep, Node::Kind kind) {
        auto first =
            sep == Token::Or ? parseList(depth, Token::And, Node::Kind::And) : parseUnary(depth);
        if (!first || cur().kind != sep) return first;
        auto list = std::make_unique<Node>();
        list->kind = kind;
        list->children.push_back(std::move(first));
        while (cur().kind == sep) {
            advance();
            auto next = sep == Token::Or ? parseList(depth, Token::And, Node::Kind::And)
                                         : parseUnary(depth);
            if (!next) return nullptr;
            list->children.push_back(std::move(next));
        }
        return list;
    }

    std::unique_ptr<Node> tooDeep(const Token& t) {
        return fail(t, fmt::format("the filter nests deeper than {} levels of parentheses and "
                                   "'not'",
                                   kMaxFilterDepth));
    }

    std::unique_ptr<Node> parseUnary(unsigned depth) {
        if (cur().kind == Token::Not) {
            if (depth >= kMaxFilterDepth) return tooDeep(cur());
            advance();
            auto c = parseUnary(depth + 1);
            if (!c) return nullptr;
            auto n = std::make_unique<Node>();
            n->kind = Node::Kind::Not;
            n->children.push_back(std::move(c));
            return n;
        }
        return parsePrimary(depth);
    }

    std::unique_ptr<Node> parsePrimary(unsigned depth) {
        const Token& t = cur();
        if (t.kind == Token::LParen) {
            if (depth >= kMaxFilterDepth) return tooDeep(t);
            size_t open = pos_;
            advance();
            auto e = parseOr(depth + 1);
            if (!e) return nullptr;
            if (cur().kind != Token::RParen)
                return fail(cur(), fmt::format("expected ')' to close the '(' at column {}, not {}",
                                               toks_[open].pos + 1, describeToken(cur())));
            advance();
            return e;
        }
        if (t.kind == Token::Word) return parseTest();
        return fail(t, fmt::format("expected an attribute, a protocol, 'not' or '(', not {}",
                                   describeToken(t)));
    }

    std::unique_ptr<Node> parseTest() {
        const Token& field = cur();
        advance();
        Resolved r = resolve_(field.text);
        if (!r.ok) return fail(field, r.error);
        auto n = std::make_unique<Node>();
        n->slot = r.slot;
        n->type = r.type;
        n->name = r.canonical.empty() ? field.text : r.canonical;
        const Token& t = cur();
        bool isKeyword = t.kind == Token::Word &&
                         (t.text == "contains" || t.text == "matches" || t.text == "in");
        if (t.kind != Token::Cmp && !isKeyword) {
            n->kind = Node::Kind::Present;
            return n;
        }
        if (r.type == MMT_T_NONE)
            return fail(t, fmt::format("'{}' is a protocol: it can only be tested for presence",
                                       field.text));
        if (t.kind == Token::Cmp) {
            n->kind = Node::Kind::Compare;
            n->op = t.op;
            if (r.type == MMT_T_BOOL && n->op != Op::Eq && n->op != Op::Ne)
                return fail(t, fmt::format("'{}' does not apply to bool ('{}')", t.text, n->name));
            advance();
            Literal lit;
            if (!literal(*n, cur(), n->op == Op::Eq || n->op == Op::Ne, lit)) return nullptr;
            advance();
            n->literals.push_back(std::move(lit));
            return n;
        }
        bool textual = r.type == MMT_T_STRING || r.type == MMT_T_BYTES;
        if (t.text == "contains" || t.text == "matches") {
            if (!textual)
                return fail(t, fmt::format("'{}' applies to strings and bytes; '{}' is {}", t.text,
                                           n->name, typeName(r.type)));
            bool contains = t.text == "contains";
            advance();
            const Token& v = cur();
            if (contains) {
                n->kind = Node::Kind::Contains;
                Literal lit;
                if (!literal(*n, v, false, lit)) return nullptr;
                n->literals.push_back(std::move(lit));
            } else {
                if (v.kind != Token::Str)
                    return fail(v, fmt::format("expected a regular expression in double quotes "
                                               "after 'matches', not {}",
                                               describeToken(v)));
                n->kind = Node::Kind::Matches;
                n->pattern = v.text;
                try {
                    // As tshark: case-insensitive.
                    program_.regexes.push_back(std::make_unique<std::regex>(
                        v.text, std::regex::extended | std::regex::icase | std::regex::nosubs));
                } catch (const std::regex_error& e) {
                    return fail(v, fmt::format("invalid regular expression: {}", e.what()));
                }
                n->regex = program_.regexes.back().get();
            }
            advance();
            return n;
        }
        // in { item, item, lo..hi }
        n->kind = Node::Kind::In;
        advance();
        if (cur().kind != Token::LBrace)
            return fail(cur(),
                        fmt::format("expected '{{' after 'in', not {}", describeToken(cur())));
        advance();
        while (cur().kind != Token::RBrace) {
            const Token& v = cur();
            if (v.kind == Token::End)
                return fail(v, "expected '}' to close the set, not the end of the filter");
            Literal lit;
            size_t dots = v.kind == Token::Word ? v.text.find("..") : std::string::npos;
            if (dots != std::string::npos && r.type == MMT_T_UINT) {
                Token lo = v, hi = v;
                lo.text = v.text.substr(0, dots);
                lo.len = dots;
                hi.text = v.text.substr(dots + 2);
                hi.pos = v.pos + dots + 2;
                hi.len = v.len - dots - 2;
                Literal h;
                if (!literal(*n, lo, true, lit) || !literal(*n, hi, true, h)) return nullptr;
                if (h.lo < lit.lo)
                    return fail(v,
                                fmt::format("empty range '{}': it ends before it starts", v.text));
                lit.hi = h.lo;
            } else if (!literal(*n, v, true, lit)) {
                return nullptr;
            }
            n->literals.push_back(std::move(lit));
            advance();
            if (cur().kind == Token::Comma) advance();
        }
        if (n->literals.empty()) return fail(cur(), "an empty set matches nothing");
        advance();
        return n;
    }

    /// Converts the token `v` to a literal of `n`'s type.
    bool literal(const Node& n, const Token& v, bool prefixAllowed, Literal& out) {
        const char* type = typeName(n.type);
        if (v.kind != Token::Word && v.kind != Token::Str) {
            fail(v, fmt::format("expected a value to compare '{}' with, not {}", n.name,
                                describeToken(v)));
            return false;
        }
        bool str = v.kind == Token::Str;
        auto mismatch = [&](const char* what) {
            fail(v, str ? fmt::format("cannot compare {} with a string", type)
                        : fmt::format("'{}' is not {} ('{}' is {})", v.text, what, n.name, type));
            return false;
        };
        switch (n.type) {
        case MMT_T_UINT:
            if (str || !parseUint(v.text, out.lo)) return mismatch("an integer");
            out.hi = out.lo;
            return true;
        case MMT_T_BOOL:
            if (!str && (v.text == "1" || v.text == "true" || v.text == "True" || v.text == "TRUE"))
                out.lo = out.hi = 1;
            else if (!str &&
                     (v.text == "0" || v.text == "false" || v.text == "False" || v.text == "FALSE"))
                out.lo = out.hi = 0;
            else
                return mismatch("a boolean (true, false, 1 or 0)");
            return true;
        case MMT_T_IPV4:
        case MMT_T_IPV6: {
            bool v4 = n.type == MMT_T_IPV4;
            std::string addr;
            if (str) return mismatch("");
            if (!splitPrefix(v.text, addr, out.prefix, v4 ? 32 : 128))
                return mismatch(v4 ? "an IPv4 address or CIDR block"
                                   : "an IPv6 address or CIDR block");
            unsigned char buf[16];
            if (inet_pton(v4 ? AF_INET : AF_INET6, addr.c_str(), buf) != 1)
                return mismatch(v4 ? "an IPv4 address or CIDR block"
                                   : "an IPv6 address or CIDR block");
            if (out.prefix >= 0 && !prefixAllowed) {
                fail(v, fmt::format("a CIDR block compares only with '==', '!=' and 'in'"));
                return false;
            }
            if (v4)
                out.lo = out.hi = uint64_t(buf[0]) << 24 | uint64_t(buf[1]) << 16 |
                                  uint64_t(buf[2]) << 8 | buf[3];
            else
                out.bytes.assign(reinterpret_cast<const char*>(buf), 16);
            return true;
        }
        case MMT_T_MAC:
            if (str || !parseHexBytes(v.text, out.bytes) || out.bytes.size() != 6)
                return mismatch("a MAC address (aa:bb:cc:dd:ee:ff)");
            return true;
        case MMT_T_STRING:
            if (!str) {
                fail(v, fmt::format("expected a string in double quotes, not '{}' ('{}' is "
                                    "string)",
                                    v.text, n.name));
                return false;
            }
            out.bytes = v.text;
            return true;
        case MMT_T_BYTES:
            if (str) {
                out.bytes = v.text;
                return true;
            }
            if (!parseHexBytes(v.text, out.bytes))
                return mismatch("a string in double quotes or hex bytes (16:03:01)");
            return true;
        default:
            fail(v, fmt::format("cannot compare '{}' with a value", n.name));
            return false;
        }
    }

    std::vector<Token> toks_;
    size_t pos_ = 0;
    const Resolver& resolve_;
    Program& program_;
    Error err_;
    bool failed_ = false;
};

std::string render(std::string_view text, std::string_view source, const Error& e) {
    size_t lineStart = text.rfind('\n', e.pos == 0 ? 0 : e.pos - 1);
    lineStart = e.pos == 0 || lineStart == std::string_view::npos ? 0 : lineStart + 1;
    if (e.pos > 0 && text[e.pos - 1] == '\n') lineStart = e.pos;
    size_t lineEnd = text.find('\n', lineStart);
    if (lineEnd == std::string_view::npos) lineEnd = text.size();
    size_t line = 1 + size_t(std::count(text.begin(), text.begin() + long(lineStart), '\n'));
    size_t col = e.pos - lineStart + 1;
    // A long line is shown around the caret only, "..." marking what is left out.
    constexpr size_t kContext = 60;
    size_t from = lineStart, to = lineEnd;
    std::string before, after;
    if (lineEnd - lineStart > 3 * kContext) {
        if (e.pos > lineStart + kContext) {
            from = e.pos - kContext;
            before = "...";
        }
        if (lineEnd > e.pos + kContext) {
            to = e.pos + kContext;
            after = "...";
        }
    }
    std::string caret(before.size(), ' ');
    for (size_t i = from; i < e.pos; ++i) caret += text[i] == '\t' ? '\t' : ' ';
    caret += '^';
    size_t end = std::min(e.pos + std::max<size_t>(e.len, 1), to);
    if (end > e.pos + 1) caret.append(end - e.pos - 1, '~');
    return fmt::format("{}:{}:{}: error: {}\n{}{}{}\n{}\n", source, line, col, e.message, before,
                       text.substr(from, to - from), after, caret);
}

std::string literalText(const Node& n, const Literal& l) {
    switch (n.type) {
    case MMT_T_UINT:
        return l.hi != l.lo ? fmt::format("{}..{}", l.lo, l.hi) : fmt::format("{}", l.lo);
    case MMT_T_BOOL:
        return l.lo ? "true" : "false";
    case MMT_T_IPV4: {
        std::string s = fmt::format("{}.{}.{}.{}", (l.lo >> 24) & 255, (l.lo >> 16) & 255,
                                    (l.lo >> 8) & 255, l.lo & 255);
        return l.prefix >= 0 ? fmt::format("{}/{}", s, l.prefix) : s;
    }
    case MMT_T_IPV6: {
        char buf[INET6_ADDRSTRLEN] = {};
        inet_ntop(AF_INET6, l.bytes.data(), buf, sizeof buf);
        return l.prefix >= 0 ? fmt::format("{}/{}", buf, l.prefix) : std::string(buf);
    }
    case MMT_T_MAC: {
        std::string s;
        for (char c : l.bytes) s += fmt::format("{}{:02x}", s.empty() ? "" : ":", uint8_t(c));
        return s;
    }
    default:
        return quoted(l.bytes);
    }
}

} // namespace

std::string describe(const Node& n) {
    switch (n.kind) {
    case Node::Kind::Or:
    case Node::Kind::And:
    case Node::Kind::Not: {
        std::string s = n.kind == Node::Kind::Or    ? "(or"
                        : n.kind == Node::Kind::And ? "(and"
                                                    : "(not";
        for (const auto& c : n.children) s += " " + describe(*c);
        return s + ")";
    }
    case Node::Kind::Present:
        return "(present " + n.name + ")";
    case Node::Kind::Compare:
        return fmt::format("({} {} {})", opText(n.op), n.name, literalText(n, n.literals[0]));
    case Node::Kind::In: {
        std::vector<std::string> items;
        for (const auto& l : n.literals) items.push_back(literalText(n, l));
        return fmt::format("(in {} {{{}}})", n.name, fmt::join(items, ", "));
    }
    case Node::Kind::Contains:
        return fmt::format("(contains {} {})", n.name, literalText(n, n.literals[0]));
    case Node::Kind::Matches:
        return fmt::format("(matches {} {})", n.name, quoted(n.pattern));
    }
    return "?";
}

bool parse(std::string_view text, const Resolver& resolve, std::string_view source, Program& out,
           std::string& diagnostic) {
    std::vector<Token> tokens;
    Error err;
    if (!lex(text, tokens, err)) {
        diagnostic = render(text, source, err);
        return false;
    }
    Parser p(std::move(tokens), resolve, out);
    out.root = p.parseFilter();
    if (!out.root) {
        diagnostic = render(text, source, p.error());
        return false;
    }
    return true;
}

} // namespace mmtc::filter
