// The .mmtp lexer: the lexical rules of grammar/Mmtp.g4, scanned by hand. It gives the
// ANTLR parser the very tokens that the generated lexer would (types, channels, code-point
// indexes, lines, columns, text), at a small fraction of its cost: the generated lexer
// spent about 6,500 instructions a token. tests/unit/compiler/test_lexer.cpp holds the two
// to the same output on every spec of the library, every diagnostic's golden spec and
// random text.
#pragma once

#include <TokenSource.h>

#include <memory>
#include <string>
#include <string_view>

namespace mmtc {

/// Bytes of the UTF-8 sequence that starts with byte `lead` (1 for ASCII and stray bytes).
size_t utf8Length(unsigned char lead);
/// Byte offset of the first byte that is not valid UTF-8 (RFC 3629: no overlong forms,
/// no surrogates, nothing above U+10FFFF), or npos when the text is valid: the lexer's
/// precondition.
size_t firstInvalidUtf8(std::string_view text);
/// The token type of the grammar's keyword or punctuation mark `text`, or 0 when it is none.
size_t literalType(std::string_view text);

class MmtpTokenSource : public antlr4::TokenSource {
  public:
    /// `text` must be valid UTF-8 (parseFile checks it first) and outlive the source.
    MmtpTokenSource(std::string_view text, std::string sourceName);

    std::unique_ptr<antlr4::Token> nextToken() override;
    size_t getLine() const override { return line_; }
    size_t getCharPositionInLine() override { return col_; }
    /// None: every token carries its own text.
    antlr4::CharStream* getInputStream() override { return nullptr; }
    std::string getSourceName() override { return sourceName_; }
    antlr4::TokenFactory<antlr4::CommonToken>* getTokenFactory() override;

  private:
    /// Moves past the bytes [pos_, end), counting code points, lines and columns as
    /// ANTLR's lexer does (a line ends at '\n').
    void advanceTo(size_t end);
    /// The end of the token that starts at pos_, and its type and channel.
    size_t scan(size_t& type, size_t& channel) const;
    std::pair<antlr4::TokenSource*, antlr4::CharStream*> source();

    std::string_view text_;
    std::string sourceName_;
    size_t pos_ = 0;  // byte offset
    size_t cp_ = 0;   // code-point index of pos_, ANTLR's token index space
    size_t line_ = 1; // of pos_
    size_t col_ = 0;  // code points since the line's start
};

} // namespace mmtc
