// The examples of the language reference are checked: every ```mmtp block of
// docs/language.md, docs/mmtc.md, docs/adding-a-protocol.md and docs/services.md must pass `mmtc
// check` with the built-in library, every ```mmtp-error block must fail with a located error.
#include "mmtc/compiler.h"

#include <catch2/catch.hpp>

#include <fstream>
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
