// libFuzzer target: packet bytes -> every stage function of the built-in library.
// Byte 0 picks the link type, byte 1 a protocol; the rest is the packet, in a heap block of
// exactly its size. The packet takes the journey from the link type, and the stages of the
// picked protocol run on it directly: one protocol an input keeps the fuzzer fast, and it
// learns which byte reaches which parser. Replayed without libFuzzer (the test suite), every
// protocol's stages run on every input. Generated code is instrumented by AddressSanitizer in this
// build, and with coverage for libFuzzer (see jit.cpp).
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
    if (size < 2 || size > 65535) return 0;
    uint32_t linktype = kLinkTypes[data[0] % (sizeof kLinkTypes / sizeof kLinkTypes[0])];
    uint8_t protocol = data[1];
    size_t n = size - 2;
    mmt::test::Exact pkt(data + 2, n);
    mmt::test::StageChecker run(library(), [](const char* what, const mmt_proto& p) {
        std::fprintf(stderr, "fuzz_packet: %s (%s)\n", what, p.name);
        __builtin_trap();
    });
    run.journey(pkt.p, uint32_t(pkt.n), linktype);
#ifdef MMT_LIBFUZZER
    run.one(protocol, pkt.p, uint32_t(pkt.n));
#else
    (void)protocol;
    run.each(pkt.p, uint32_t(pkt.n));
#endif
    return 0;
}
