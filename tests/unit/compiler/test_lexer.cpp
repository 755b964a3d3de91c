// The hand-written lexer (compiler/src/parse/lexer.h) against the lexer ANTLR generates
// from the grammar's rules: the same tokens, field by field, on every spec of the library,
// every diagnostic's golden spec and random text built from the characters that matter to
// the rules (digits and unit letters, comment and string marks, multi-byte characters).
#include "parse/lexer.h"
#include "process_util.h"

#include "MmtpLexer.h"

#include <ANTLRInputStream.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

namespace fs = std::filesystem;

namespace {

/// Every token of `source`, one line each with all that the parser and our diagnostics read.
std::string tokens(antlr4::TokenSource& source) {
    std::string out;
    for (;;) {
        auto t = source.nextToken();
        out += std::to_string(t->getType()) + " ch" + std::to_string(t->getChannel()) + " [" +
               std::to_string(t->getStartIndex()) + "," + std::to_string(t->getStopIndex()) + "] " +
               std::to_string(t->getLine()) + ":" + std::to_string(t->getCharPositionInLine()) +
               " " + t->getText() + "\n";
        if (t->getType() == antlr4::Token::EOF) return out;
    }
}

std::string byAntlr(const std::string& text) {
    antlr4::ANTLRInputStream input(text);
    mmtp_gen::MmtpLexer lexer(&input);
    lexer.removeErrorListeners();
    return tokens(lexer);
}

std::string byHand(const std::string& text) {
    mmtc::MmtpTokenSource lexer(text, "t.mmtp");
    return tokens(lexer);
}

} // namespace

TEST_CASE("the lexer gives the generated lexer's tokens on every spec", "[lexer]") {
    size_t files = 0;
    for (const char* dir : {"protocols.dsl", "tests/mmtc/invalid", "tests/mmtc/warnings"}) {
        for (const auto& e : fs::directory_iterator(fs::path(MMT_SOURCE_DIR) / dir)) {
            if (e.path().extension() != ".mmtp") continue;
            std::string text = mmt::test::slurp(e.path().string());
            if (mmtc::firstInvalidUtf8(text) != std::string::npos)
                continue; // refused before lexing
            INFO(e.path().string());
            CHECK(byHand(text) == byAntlr(text));
            ++files;
        }
    }
    CHECK(files > 250);
}

TEST_CASE("the lexer gives the generated lexer's tokens on edge cases", "[lexer]") {
    const char* cases[] = {
        "",
        "\xef\xbb\xbfprotocol x {}",
        "0x 0x1F 0b 0b102 00x1 0B 0b1s 10ms 10msx 10m 10s 3h 5B 5KiB 5MiB 5Mi 5KB 0h",
        "/// doc\n//// ruler\n///\n////\n// line\n///< after\n/**/ /*/ x */ /* a\n b */ y",
        "\"a\\\"b\" \"unterminated\n\"esc\\\nline\" \"\\",
        "a<->b <-c <= << >> >= => == != ! .. . _ _x x_ protocols protocol",
        "caf\xc3\xa9 \xe2\x82\xac 1\xe2\x80\x94 /* \xc3\xa9 */ x \"\xc3\xa9\" y",
        "x /* never closed ** /",
        "\t\r\n\r\n  a\r\n b\f\v",
        "\\ / * 0x1g 1..2 ' @ # $ ` \x7f ?: <-> <->> ..= ===",
    };
    for (const char* c : cases) {
        INFO(c);
        CHECK(byHand(c) == byAntlr(c));
    }
    // NUL bytes, which a C string cannot hold: the lexers see them as any other character.
    for (std::string c : {std::string("a\0b", 3), std::string("\"a\0b\" \0", 8)}) {
        INFO(c);
        CHECK(byHand(c) == byAntlr(c));
    }
}

TEST_CASE("the lexer gives the generated lexer's tokens on random text", "[lexer]") {
    // Pieces rather than bytes, so that runs of them form numbers with units, comments,
    // strings with escapes and operators as often as noise.
    const std::vector<std::string> pieces = {
        "0",  "1",  "9",  "x", "b",       "B",  "K",   "M",  "i",  "m",        "s",
        "h",  "a",  "_",  "/", "*",       "\"", "\\",  "\n", "\r", " ",        "\t",
        "<",  "-",  ">",  "=", "!",       ".",  "{",   "}",  ";",  "\xc3\xa9", "\xe2\x82\xac",
        "in", "or", "id", "f", "max_pdu", "//", "///", "/*", "*/", "0x",       "ms"};
    std::mt19937 rng(20261207);
    std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1), len(0, 40);
    for (int i = 0; i < 20000; ++i) {
        std::string text;
        for (size_t k = len(rng); k > 0; --k) text += pieces[pick(rng)];
        INFO(text);
        REQUIRE(byHand(text) == byAntlr(text));
    }
}
