// The examples of the language reference are checked: every ```mmtp block of
// docs/language.md, docs/mmtc.md, docs/adding-a-protocol.md and docs/services.md must pass `mmtc
// check` with the built-in library, every ```mmtp-error block must fail with a located error.
// The table of built-in functions of docs/language.md lists exactly the functions of the
// compiler's table (ast/builtins.h).
#include "ast/builtins.h"
#include "mmtc/compiler.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Block {
    std::string doc;
    unsigned line = 0; // of the first line of code
    bool mustFail = false;
    std::string code;
};

/// The fenced ```mmtp and ```mmtp-error blocks of a Markdown file.
std::vector<Block> blocksOf(const std::string& doc) {
    std::ifstream in(std::string(MMT_SOURCE_DIR) + "/" + doc);
    std::vector<Block> out;
    std::string line;
    unsigned n = 0;
    Block* open = nullptr;
    while (std::getline(in, line)) {
        ++n;
        if (open) {
            if (line.rfind("```", 0) == 0)
                open = nullptr;
            else
                open->code += line + "\n";
            continue;
        }
        if (line == "```mmtp" || line == "```mmtp-error") {
            out.push_back(Block{doc, n + 1, line == "```mmtp-error", {}});
            open = &out.back();
        }
    }
    return out;
}

} // namespace

TEST_CASE("the examples of the documentation check as they say", "[docs]") {
    size_t total = 0;
    for (const char* doc :
         {"docs/language.md", "docs/mmtc.md", "docs/adding-a-protocol.md", "docs/services.md"}) {
        for (const Block& b : blocksOf(doc)) {
            ++total;
            mmtc::Compiler c;
            REQUIRE(c.addPath(mmtc::builtinSpecDir()));
            // Named after the place in the document, so that a failure points there.
            c.addSource(b.doc + ":" + std::to_string(b.line), b.code);
            bool ok = c.check();
            INFO(b.doc << " line " << b.line << (b.mustFail ? " (mmtp-error)" : "") << "\n"
                       << b.code << "\n"
                       << c.diagnostics());
            if (b.mustFail) {
                CHECK_FALSE(ok);
                CHECK(c.diagnostics().find(": error: ") != std::string::npos);
            } else {
                CHECK(ok);
                CHECK(c.diagnostics().empty()); // not even a warning
            }
        }
    }
    // The reference shows every construct by example.
    CHECK(total >= 15);
}

TEST_CASE("the built-in functions are documented and checked as the table says", "[docs]") {
    // The names in the first column of docs/language.md's table of built-in functions.
    std::ifstream in(std::string(MMT_SOURCE_DIR) + "/docs/language.md");
    std::set<std::string> documented;
    std::string line;
    bool inSection = false;
    const std::regex call("`([a-z_0-9]+)\\(");
    while (std::getline(in, line)) {
        if (line.rfind("## ", 0) == 0) inSection = line == "## Built-in functions";
        if (!inSection || line.rfind("| `", 0) != 0) continue;
        std::string first = line.substr(1, line.find(" |", 1));
        for (std::sregex_iterator it(first.begin(), first.end(), call), end; it != end; ++it)
            documented.insert((*it)[1]);
    }
    std::set<std::string> table;
    for (const mmtc::ast::Builtin& b : mmtc::ast::builtins()) table.insert(std::string(b.name));
    CHECK(table.size() == mmtc::ast::builtins().size()); // no name twice
    CHECK(documented == table);

    // Every function of the table is checked as the table says: called with one argument
    // too few and one too many, each is an error that names it and the count it takes.
    for (const mmtc::ast::Builtin& b : mmtc::ast::builtins()) {
        auto call = [&](unsigned n) {
            std::string args;
            for (unsigned i = 0; i < n; ++i) args += i ? ", a" : "a";
            mmtc::Compiler c;
            REQUIRE(c.addPath(mmtc::builtinSpecDir()));
            c.addSource("builtin.mmtp", "protocol builtin_arity {\n    id 9990;\n"
                                        "    header { a : u8; }\n"
                                        "    attribute x : u32 = " +
                                            std::string(b.name) + "(" + args + ");\n}\n");
            INFO(b.name << " with " << n << " arguments");
            CHECK_FALSE(c.check());
            CHECK(c.diagnostics().find("'" + std::string(b.name) + "'") != std::string::npos);
        };
        if (b.minArgs > 0) call(b.minArgs - 1);
        if (b.maxArgs != mmtc::ast::kAnyArgs) call(b.maxArgs + 1);
    }
}
