// Front end: parsing, the AST, and diagnostics rendering.
#include "deep_specs.h"
#include "mmtc/compiler.h"

#include <catch2/catch.hpp>

#include <algorithm>

#include <ctime>
#include <functional>

namespace {

struct Result {
    bool ok;
    std::string diags;
    std::string ast;
};

Result checkText(const std::string& text) {
    mmtc::Compiler c;
    c.addSource("t.mmtp", text);
    bool ok = c.check();
    return {ok, c.diagnostics(), c.dumpAst()};
}

} // namespace

TEST_CASE("a small protocol parses and checks", "[frontend]") {
    auto r = checkText(R"(
protocol demo {
    id 7;
    header {
        version : u4 requires version == 4;
        ihl : u4;
        len : u16;
        data : bytes[len];
    }
    attribute version, len;
}
)");
    INFO(r.diags);
    CHECK(r.ok);
    CHECK(r.ast.find("Protocol demo id=7") != std::string::npos);
    CHECK(r.ast.find("Field data : bytes count len") != std::string::npos);
}

TEST_CASE("syntax errors are reported with file, line, column and caret", "[frontend]") {
    auto r = checkText("protocol p {\n    id 1\n}\n");
    CHECK_FALSE(r.ok);
    // As clang does, a missing ';' is reported right after the token it should follow.
    CHECK(r.diags.rfind("t.mmtp:2:9: error: expected ';' after '1'", 0) == 0);
    CHECK(r.diags.find("\n    id 1\n        ^\n") != std::string::npos);
}

TEST_CASE("soft keywords remain usable as field names", "[frontend]") {
    auto r = checkText(R"(
protocol dnsish {
    id 53;
    header { id : u16; type : u8; length : u8; value : bytes[length]; }
    attribute id, type;
}
)");
    INFO(r.diags);
    CHECK(r.ok);
}

TEST_CASE("nesting of any depth is a diagnostic, never a crash", "[frontend][nesting]") {
    const size_t n = 100000;
    for (const mmt::test::DeepSpec& s : mmt::test::deep_specs(n)) {
        INFO(s.what);
        auto r = checkText(s.text);
        CHECK_FALSE(r.ok);
        CHECK(r.diags.find("nest too deeply here (the limit is 1000 levels)") != std::string::npos);
    }
    // A chain of records, each holding the next: refused past 64 levels, reported once.
    std::string records;
    for (size_t i = 0; i < n; ++i)
        records += "record r" + std::to_string(i) + " { f : r" + std::to_string(i + 1) + "; }\n";
    records += "record r" + std::to_string(n) + " { v : u8; }\n";
    auto r = checkText("protocol deep {\n id 9900;\n" + records + " header { top : r0; }\n}\n");
    CHECK_FALSE(r.ok);
    CHECK(r.diags.find("records nest more than 64 levels deep here") != std::string::npos);
    CHECK(r.diags.find("records nest more", r.diags.find("records nest more") + 1) ==
          std::string::npos);
}

TEST_CASE("nesting just below the limit checks", "[frontend][nesting]") {
    std::string parens(900, '(');
    std::string closing(900, ')');
    auto r = checkText("protocol deep {\n id 9900;\n header { a : u8; }\n attribute x : u32 = " +
                       parens + "a" + closing + ";\n}\n");
    CHECK(r.ok);
}

namespace {

/// Fills a spec of about `size` bytes with `unit`s in an attribute's expression.
std::string hostile(const std::string& before, const std::string& unit, const std::string& after,
                    size_t size) {
    std::string out = "protocol deep {\n id 9900;\n header { a : u8; b : u8; }\n " + before;
    out.reserve(size + 2 * unit.size() + 256);
    while (out.size() < size) out += unit;
    return out + after + "\n}\n";
}

/// Checks the spec `make` builds at 100 KB and at 1 MB: both fail cleanly with a
/// diagnostic, and the larger costs at most 30 times the processor time of the smaller:
/// 10 when linear, 100 when quadratic, so that noise (a loaded machine, the caches) cannot
/// make one look like the other. The better of two runs each; processor time, not wall
/// time, so that other work on the machine does not count.
void checksInLinearTime(const std::function<std::string(size_t)>& make) {
    double secs[2] = {0, 0};
    const size_t sizes[2] = {100000, 1000000};
    for (int k = 0; k < 2; ++k) {
        std::string text = make(sizes[k]);
        CHECK(text.size() >= sizes[k]);
        // The better of two runs: a loaded machine slows one run's caches, rarely both.
        for (int run = 0; run < 2; ++run) {
            std::clock_t t0 = std::clock();
            auto r = checkText(text);
            double s = double(std::clock() - t0) / CLOCKS_PER_SEC;
            secs[k] = run ? std::min(secs[k], s) : s;
            CHECK_FALSE(r.ok);
            CHECK(r.diags.find("t.mmtp:") == 0);
            CHECK(r.diags.find(": error: ") != std::string::npos);
        }
    }
    INFO("100 KB: " << secs[0] << " s, 1 MB: " << secs[1] << " s of processor time");
    CHECK(secs[1] < 30 * secs[0] + 0.05);
}

} // namespace

TEST_CASE("a megabyte of nested parentheses is checked in linear time", "[frontend][nesting]") {
    checksInLinearTime([](size_t n) {
        return hostile("attribute x : u32 = " + std::string(n / 2, '('), "a",
                       std::string(n / 2, ')') + ";", n / 2);
    });
}

TEST_CASE("a megabyte of unbalanced parentheses is checked in linear time", "[frontend][nesting]") {
    checksInLinearTime([](size_t n) { return hostile("attribute x : u32 = ", "(", "a;", n); });
    checksInLinearTime([](size_t n) { return hostile("attribute x : u32 = a", ")", ";", n); });
    checksInLinearTime(
        [](size_t n) { return hostile("attribute x : u32 = a", "(a)) + ((", "a;", n); });
}

TEST_CASE("a megabyte of unary minus is checked in linear time", "[frontend][nesting]") {
    checksInLinearTime([](size_t n) { return hostile("attribute x : u32 = ", "-", "a;", n); });
}

TEST_CASE("a megabyte long operator chain is checked in linear time", "[frontend][nesting]") {
    checksInLinearTime(
        [](size_t n) { return hostile("attribute x : u32 = a", " + a * b - a", ";", n); });
}

TEST_CASE("a megabyte of expressions nested just below the limit is checked in linear time",
          "[frontend][nesting]") {
    // Each passes the nesting check: the parser, then the checker, walk every level.
    checksInLinearTime([](size_t n) {
        std::string deep = std::string(990, '(') + "a" + std::string(990, ')');
        std::string items;
        for (size_t i = 0; items.size() < n; ++i)
            items += "attribute x" + std::to_string(i) + " : u32 = " + deep + ";\n ";
        return hostile(items + "attribute bad : u32 = ", "nowhere", ";", 0);
    });
}

TEST_CASE("doc comments describe fields, values and attributes", "[frontend][doc]") {
    mmtc::Compiler c;
    c.addSource("t.mmtp", R"(
protocol demo {
    id 7;
    header {
        /// Time to live:
        /// hops left.
        ttl : u8;
        code : u16;   ///< the request's code
        //// a ruler, not a description
        kind : u8;
        len : u8; // a plain comment
    }
    /// Bytes after the header.
    let rest : u32 = len;
    attribute ttl, code;
    /// Neither kind nor len: a list of two.
    attribute kind, len;
    attribute rest;
    /// The code's class.
    attribute code_class : u8 = code / 100; ///< its hundreds digit
    /// Once per packet.
    event attribute seen : bool = true;
    attribute ttl_doc : u8 = ttl;
}
)");
    REQUIRE(c.check());
    std::string doc = c.protocolDoc();
    INFO(doc);
    auto row = [&](const std::string& name, const std::string& text) {
        return doc.find("| `demo." + name + "` | " + text) != std::string::npos;
    };
    CHECK(row("ttl", "u8 |  | Time to live: hops left. |"));
    CHECK(row("code", "u16 |  | the request's code |"));
    CHECK(row("kind", "u8 |  |  |"));
    CHECK(row("len", "u8 |  |  |"));
    CHECK(row("rest", "u32 |  | Bytes after the header. |"));
    CHECK(row("code_class", "u8 |  | The code's class. its hundreds digit |"));
    CHECK(row("seen", "bool | event | Once per packet. |"));
    // A computed attribute has only its own doc comment.
    CHECK(row("ttl_doc", "u8 |  |  |"));
}

TEST_CASE("run_of takes a byte literal, where a field is parsed", "[frontend]") {
    auto ok = checkText(R"(
protocol p { id 1; header { pad : bytes[run_of(0)]; x : u8 if run_of(255) < remaining; } }
)");
    INFO(ok.diags);
    CHECK(ok.ok);
    auto big = checkText("protocol p { id 1; header { pad : bytes[run_of(256)]; } }\n");
    CHECK_FALSE(big.ok);
    CHECK(big.diags.find("a byte value (0 to 255)") != std::string::npos);
    auto name = checkText("protocol p { id 1; header { n : u8; pad : bytes[run_of(n)]; } }\n");
    CHECK_FALSE(name.ok);
    CHECK(name.diags.find("a byte value (0 to 255)") != std::string::npos);
    auto attr =
        checkText("protocol p { id 1; header { n : u8; } attribute z : u32 = run_of(0); }\n");
    CHECK_FALSE(attr.ok);
    CHECK(attr.diags.find("'run_of'") != std::string::npos);
    auto arity = checkText("protocol p { id 1; header { pad : bytes[run_of(0, 1)]; } }\n");
    CHECK_FALSE(arity.ok);
}
