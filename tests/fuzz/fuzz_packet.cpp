// libFuzzer target: packet bytes -> every stage function of the built-in library.
// The first byte picks the link type; the rest is the packet, in a heap block of exactly
// its size. Generated code is instrumented by AddressSanitizer in this build, and with
// coverage for libFuzzer (see jit.cpp).
#include "mmtc/compiler.h"
#include "stage_checker.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace {

const mmt_library* library() {
    static std::unique_ptr<mmtc::Library> lib = [] {
        mmtc::Compiler c;
        std::string error;
        if (!c.addPath(mmtc::builtinSpecDir()) || !c.check()) {
            std::fprintf(stderr, "fuzz_packet: the built-in library does not check:\n%s\n",
                         c.diagnostics().c_str());
            std::abort();
        }
        auto l = c.compile(error);
        if (!l) {
            std::fprintf(stderr, "fuzz_packet: %s\n", error.c_str());
            std::abort();
        }
        return l;
    }();
    return lib->table();
}

const uint32_t kLinkTypes[] = {1, 101, 0, 113, 276, 228, 229, 12, 14, 104, 108};

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // The generated parsers are what this target exercises: libFuzzer sees their coverage.
#ifdef MMT_LIBFUZZER
    if (!mmtc::instrumentForFuzzing(true)) {
        std::fprintf(stderr, "fuzz_packet: this build cannot instrument generated code\n");
        std::abort();
    }
#endif
    library();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0 || size > 65535) return 0;
    uint32_t linktype = kLinkTypes[data[0] % (sizeof kLinkTypes / sizeof kLinkTypes[0])];
    size_t n = size - 1;
    mmt::test::Exact pkt(data + 1, n);
    mmt::test::StageChecker run(library(), [](const char* what, const mmt_proto& p) {
        std::fprintf(stderr, "fuzz_packet: %s (%s)\n", what, p.name);
        __builtin_trap();
    });
    run.journey(pkt.p, uint32_t(pkt.n), linktype);
    run.each(pkt.p, uint32_t(pkt.n));
    return 0;
}
