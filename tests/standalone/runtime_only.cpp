// A program that runs protocol libraries and nothing else: it links libmmt_runtime only
// (no LLVM, no ANTLR: check_runtime_only.sh holds it to that with ldd), loads a library
// built by `mmtc build`, and prints the flow records of a capture as `mmtrun --flows`.
//
// usage: runtime_only OBJECT CAPTURE
#include "input/capture.h"
#include "mmt/runtime.h"
#include "mmt/writer.h"

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: runtime_only OBJECT CAPTURE\n");
        return 2;
    }
    std::string error;
    auto lib = mmt::ProtocolLibrary::load_object(argv[1], error);
    if (!lib) {
        std::fprintf(stderr, "runtime_only: error: %s\n", error.c_str());
        return 1;
    }
    mmt::HandlerOptions options;
    options.flow_details = true;
    mmt::Handler handler(*lib, options);
    mmt::FlowWriter flows(mmt::Format::Text, mmt::file_output(stdout));
    handler.on_session_end([&](const mmt::SessionInfo& s) { flows.write(s); });
    mmt::CaptureSource source;
    if (!source.open_file(argv[2])) {
        std::fprintf(stderr, "runtime_only: error: %s\n", source.error().c_str());
        return 1;
    }
    mmt::Packet packet;
    for (;;) {
        mmt::ReadStatus status = source.next(packet);
        if (status == mmt::ReadStatus::End) break;
        if (status == mmt::ReadStatus::Error) {
            std::fprintf(stderr, "runtime_only: error: %s\n", source.error().c_str());
            return 1;
        }
        if (status == mmt::ReadStatus::Ok) handler.process(packet.raw());
    }
    handler.finish();
    return 0;
}
