// libFuzzer target: capture file bytes (pcap or pcapng) -> the reader -> the journey, as
// `mmtrun -r` runs them. A damaged file must end in a clean error, never a crash.
#include "fuzz_library.h"
#include "input/capture.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

const mmt::ProtocolLibrary& library() {
    return mmt::fuzz::library("fuzz_capture");
}

// The input becomes a file the reader opens by name: one in-memory file, rewritten for
// each input.
int memoryFile() {
    static int fd = memfd_create("fuzz_capture", 0);
    return fd;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    library();
    if (memoryFile() < 0) {
        std::perror("fuzz_capture: memfd_create");
        std::abort();
    }
    return 0;
}

/// One handler for the whole run (as mmtrun's, with its default limits), finished after each
/// input: making one per input, with its session table, cost more than the input.
struct Run {
    Run() : h(library()) {
        path = h.request("frame.path");
        malformed = h.request("frame.malformed");
        h.on_packet([this](const mmt::PacketView& p) {
            for (int c : {path, malformed})
                for (const mmt::Value& v : p.values(c)) seen += v.text().size();
            return mmt::Action::Continue;
        });
    }
    mmt::Handler h;
    int path = -1, malformed = -1;
    size_t seen = 0;
};

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    int fd = memoryFile();
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != ssize_t(size)) std::abort();
    mmt::CaptureSource src;
    if (!src.open_file("/proc/self/fd/" + std::to_string(fd))) return 0;
    static Run run;
    mmt::Packet p;
    mmt::ReadStatus st;
    while ((st = src.next(p)) == mmt::ReadStatus::Ok) run.h.process(p.raw());
    // An error is a message, never empty.
    if (st == mmt::ReadStatus::Error && src.error().empty()) __builtin_trap();
    run.h.finish();
    static volatile size_t sink;
    sink = run.seen;
    return 0;
}
