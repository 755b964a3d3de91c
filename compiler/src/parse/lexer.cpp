// The .mmtp lexer by hand; see lexer.h. Each branch of scan() is one rule of the grammar,
// with ANTLR's choice among rules: the longest match, and among equally long ones the rule
// first in the grammar (the keywords and punctuation, which the parser rules name, come
// before every rule of the lexer).
#include "parse/lexer.h"

#include "MmtpLexer.h"

#include <ANTLRInputStream.h>
#include <CommonToken.h>
#include <CommonTokenFactory.h>

#include <unordered_map>

namespace mmtc {
namespace {

using L = mmtp_gen::MmtpLexer;

/// Every keyword and punctuation mark of the grammar, with its token type.
const std::unordered_map<std::string_view, size_t>& literals() {
    static const auto table = [] {
        std::unordered_map<std::string_view, size_t> t;
        antlr4::ANTLRInputStream none;
        mmtp_gen::MmtpLexer lexer(&none);
        const antlr4::dfa::Vocabulary& voc = lexer.getVocabulary(); // the generated static one
        static std::vector<std::string> names;                      // keeps the views valid
        names.reserve(voc.getMaxTokenType() + 1);
        for (size_t type = 1; type <= voc.getMaxTokenType(); ++type) {
            std::string lit = voc.getLiteralName(type); // 'protocol', '=>' ...
            if (lit.size() < 3) continue;
            names.push_back(lit.substr(1, lit.size() - 2));
            t.emplace(names.back(), type);
        }
        return t;
    }();
    return table;
}

bool isDigit(char c) {
    return c >= '0' && c <= '9';
}
bool isHex(char c) {
    return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool isIdentStart(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool isIdent(char c) {
    return isIdentStart(c) || isDigit(c);
}
bool isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

} // namespace

size_t utf8Length(unsigned char lead) {
    return lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
}

size_t firstInvalidUtf8(std::string_view t) {
    size_t i = 0;
    while (i < t.size()) {
        unsigned char c = static_cast<unsigned char>(t[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t n = c >= 0xC2 && c <= 0xDF   ? 2
                   : c >= 0xE0 && c <= 0xEF ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4
                                            : 0;
        if (n == 0 || i + n > t.size()) return i;
        unsigned char c1 = static_cast<unsigned char>(t[i + 1]);
        unsigned char lo = 0x80, hi = 0xBF;
        if (c == 0xE0)
            lo = 0xA0; // overlong
        else if (c == 0xED)
            hi = 0x9F; // surrogates
        else if (c == 0xF0)
            lo = 0x90; // overlong
        else if (c == 0xF4)
            hi = 0x8F; // above U+10FFFF
        if (c1 < lo || c1 > hi) return i;
        for (size_t k = 2; k < n; ++k)
            if ((static_cast<unsigned char>(t[i + k]) & 0xC0) != 0x80) return i;
        i += n;
    }
    return std::string::npos;
}

size_t literalType(std::string_view text) {
    auto k = literals().find(text);
    return k != literals().end() ? k->second : 0;
}

MmtpTokenSource::MmtpTokenSource(std::string_view text, std::string sourceName)
    : text_(text), sourceName_(std::move(sourceName)) {
    // As ANTLR's input stream: a leading byte order mark is not part of the text.
    if (text_.substr(0, 3) == "\xef\xbb\xbf") pos_ = 3;
}

antlr4::TokenFactory<antlr4::CommonToken>* MmtpTokenSource::getTokenFactory() {
    return antlr4::CommonTokenFactory::DEFAULT.get();
}

void MmtpTokenSource::advanceTo(size_t end) {
    for (; pos_ < end; ++pos_) {
        char c = text_[pos_];
        if ((static_cast<unsigned char>(c) & 0xC0) == 0x80) continue; // inside a character
        ++cp_;
        if (c == '\n') {
            ++line_;
            col_ = 0;
        } else {
            ++col_;
        }
    }
}

size_t MmtpTokenSource::scan(size_t& type, size_t& channel) const {
    const std::string_view t = text_;
    const size_t n = t.size(), b = pos_;
    auto at = [&](size_t i) { return i < n ? t[i] : '\0'; };
    const char c = t[b];
    channel = antlr4::Token::DEFAULT_CHANNEL;

    if (isSpace(c)) { // WS, skipped
        size_t e = b + 1;
        while (e < n && isSpace(t[e])) ++e;
        type = L::WS;
        return e;
    }
    if (c == '/' && at(b + 1) == '/') {
        size_t e = b + 2;
        while (e < n && t[e] != '\r' && t[e] != '\n') ++e;
        // DOC_COMMENT is `///` then, unless a fourth '/' follows, the rest of the line;
        // a `////` ruler is longer as a LINE_COMMENT, which wins.
        if (at(b + 2) == '/' && at(b + 3) != '/') {
            type = L::DOC_COMMENT;
            channel = 2;
        } else {
            type = L::LINE_COMMENT;
        }
        return e;
    }
    if (c == '/' && at(b + 1) == '*') {
        size_t close = t.find("*/", b + 2);
        if (close != std::string_view::npos) {
            type = L::BLOCK_COMMENT;
            return close + 2;
        }
        type = L::UNTERMINATED_COMMENT; // no `*/` to the end of the file
        return n;
    }
    if (isDigit(c)) {
        // INT, DURATION and SIZE all start with digits; the longest match wins.
        size_t d = b + 1;
        while (d < n && isDigit(t[d])) ++d;
        size_t e = d;
        type = L::INT;
        if (c == '0' && d == b + 1 && (at(d) == 'x' || at(d) == 'b')) {
            bool hex = at(d) == 'x';
            size_t k = d + 1;
            while (k < n && (hex ? isHex(t[k]) : (t[k] == '0' || t[k] == '1'))) ++k;
            if (k > d + 1) return k;
        }
        if (at(d) == 'm' && at(d + 1) == 's') {
            type = L::DURATION;
            e = d + 2;
        } else if (at(d) == 's' || at(d) == 'm' || at(d) == 'h') {
            type = L::DURATION;
            e = d + 1;
        } else if (at(d) == 'B') {
            type = L::SIZE;
            e = d + 1;
        } else if ((at(d) == 'K' || at(d) == 'M') && at(d + 1) == 'i' && at(d + 2) == 'B') {
            type = L::SIZE;
            e = d + 3;
        }
        return e;
    }
    if (isIdentStart(c)) { // IDENT, unless the word is one of the grammar's keywords
        size_t e = b + 1;
        while (e < n && isIdent(t[e])) ++e;
        type = literalType(t.substr(b, e - b));
        if (!type) type = L::IDENT;
        return e;
    }
    if (c == '"') { // STRING; a quote that no quote closes on its line is a BAD_CHAR
        size_t e = b + 1;
        while (e < n) {
            char s = t[e];
            if (s == '"') {
                type = L::STRING;
                return e + 1;
            }
            if (s == '\r' || s == '\n') break;
            if (s == '\\') {
                if (e + 1 >= n) break;
                e += 1 + utf8Length(static_cast<unsigned char>(t[e + 1]));
            } else {
                e += utf8Length(static_cast<unsigned char>(s));
            }
        }
        type = L::BAD_CHAR;
        return b + 1;
    }
    for (size_t len = 3; len >= 1; --len) { // punctuation, the longest first
        if (b + len > n) continue;
        if ((type = literalType(t.substr(b, len)))) return b + len;
    }
    type = L::BAD_CHAR;
    return std::min(n, b + utf8Length(static_cast<unsigned char>(c)));
}

std::pair<antlr4::TokenSource*, antlr4::CharStream*> MmtpTokenSource::source() {
    return {this, nullptr};
}

std::unique_ptr<antlr4::Token> MmtpTokenSource::nextToken() {
    for (;;) {
        if (pos_ >= text_.size()) {
            auto eof = std::make_unique<antlr4::CommonToken>(
                source(), antlr4::Token::EOF, antlr4::Token::DEFAULT_CHANNEL, cp_, cp_ - 1);
            eof->setText("<EOF>");
            return eof;
        }
        size_t type = 0, channel = 0;
        size_t end = scan(type, channel);
        if (type == L::WS || type == L::LINE_COMMENT || type == L::BLOCK_COMMENT) {
            advanceTo(end);
            continue;
        }
        size_t begin = pos_, startCp = cp_, line = line_, col = col_;
        advanceTo(end);
        auto tok = std::make_unique<antlr4::CommonToken>(source(), type, channel, startCp, cp_ - 1);
        tok->setLine(line);
        tok->setCharPositionInLine(col);
        tok->setText(std::string(text_.substr(begin, end - begin)));
        return tok;
    }
}

} // namespace mmtc
