// Front end: parsing, the AST, and diagnostics rendering.
#include "mmtc/compiler.h"

#include <catch2/catch.hpp>

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
