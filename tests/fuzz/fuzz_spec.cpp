// libFuzzer target: spec text -> parser and checker, and code generation (lowering, O1,
// object, loading) when the text checks. A crash, a sanitizer report or an LLVM verifier
// failure ("invalid IR generated") is a bug.
#include "mmtc/compiler.h"

#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > (1u << 20)) return 0;
    mmtc::Compiler c;
    c.addSource("fuzz.mmtp", std::string(reinterpret_cast<const char*>(data), size));
    bool ok = c.check();
    std::string diags = c.diagnostics();
    if (ok != (c.errorCount() == 0)) std::abort();
    if (!ok) return 0;
    std::string error;
    auto lib = c.compile(error);
    // The checker accepted the spec: code generation must succeed.
    if (!lib) {
        std::fprintf(stderr, "fuzz_spec: code generation failed: %s\n", error.c_str());
        std::abort();
    }
    return 0;
}
