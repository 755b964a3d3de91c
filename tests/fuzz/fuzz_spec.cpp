// libFuzzer target: spec text -> parser and checker, and code generation (lowering, O1,
// object, loading) when the text checks. A crash, a sanitizer report or an LLVM verifier
// failure ("invalid IR generated") is a bug.
#include "mmtc/compiler.h"

#include <cstdio>
#include <cstdlib>
#include <string>

// Each spec compiles in one part on the fuzzing thread (unless MMT_COMPILE_JOBS says
// otherwise): the parts' threads would only add their start and their own LLVM set-up to
// every compile, and make the coverage of an input depend on their schedule.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    setenv("MMT_COMPILE_JOBS", "1", 0);
    return 0;
}

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
