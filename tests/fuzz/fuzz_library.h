// What the runtime fuzz targets share: the built-in library, loaded once, with generated
// code instrumented for libFuzzer when the target is built with it.
#pragma once

#include "mmt/runtime.h"
#include "mmtc/compiler.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace mmt::fuzz {

/// Turns on coverage of generated code (libFuzzer builds) and loads the built-in library;
/// aborts, naming `target`, when either fails. Call it from LLVMFuzzerInitialize.
inline const ProtocolLibrary& library(const char* target) {
    static std::unique_ptr<ProtocolLibrary> lib = [target] {
        LoadOptions options;
#ifdef MMT_LIBFUZZER
        if (!mmtc::instrumentForFuzzing(true)) {
            std::fprintf(stderr, "%s: this build cannot instrument generated code\n", target);
            std::abort();
        }
        options.use_cache = false; // instrumented code is compiled for this process
#endif
        std::string error;
        auto l = ProtocolLibrary::load(options, error);
        if (!l) {
            std::fprintf(stderr, "%s: %s\n", target, error.c_str());
            std::abort();
        }
        return l;
    }();
    return *lib;
}

} // namespace mmt::fuzz
