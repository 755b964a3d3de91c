// The journey benchmark: every packet of a capture through the full journey (flows,
// classification, flow records), after loading the capture into memory. Reports time
// per packet; run it under `valgrind --tool=callgrind --toggle-collect='*Handler::process*'`
// (bench/callgrind.sh does) for instructions per packet, which are stable on noisy machines.
// Usage: journey_bench CAPTURE [REPEAT] [-e ATTR]... [-p SPEC]... [--flows] [--lazy]
// --flows: flow records with every detail (HandlerOptions::flow_details), as mmtrun --flows
// makes them: server names, fingerprints, tunnels, services.
// --lazy: the specs compiled lazily (LoadOptions::lazy, no cache), as mmtrun after a miss:
// the first pass compiles what it reaches, the best of the others is the code's speed.
// -p: more specs (.mmtp files or folders) beside the built-in ones, as mmtrun -p.
#include "input/capture.h"
#include "mmt/runtime.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: journey_bench CAPTURE [REPEAT] [-e ATTR]... [-p SPEC]... [--flows] "
                     "[--lazy]\n");
        return 2;
    }
    int repeat = 1;
    std::vector<std::string> attrs;
    mmt::LoadOptions lo;
    bool details = false;
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--flows")
            details = true;
        else if (a == "--lazy")
            lo.use_cache = false, lo.lazy = true;
        else if (a == "-e" && i + 1 < argc)
            attrs.push_back(argv[++i]);
        else if (a == "-p" && i + 1 < argc)
            lo.spec_paths.push_back(argv[++i]);
        else
            repeat = std::max(1, std::atoi(argv[i]));
    }
    // The capture in memory: reading the file is not what is measured.
    struct Stored {
        std::vector<uint8_t> bytes;
        mmt::RawPacket raw;
    };
    std::vector<Stored> packets;
    mmt::CaptureSource src;
    if (!src.open_file(argv[1])) {
        std::fprintf(stderr, "journey_bench: %s\n", src.error().c_str());
        return 2;
    }
    mmt::Packet p;
    while (src.next(p) == mmt::ReadStatus::Ok) {
        Stored s;
        s.bytes.assign(p.data, p.data + p.caplen);
        s.raw = p.raw(); // its data pointed at `bytes` once they stop moving
        packets.push_back(std::move(s));
    }
    for (auto& s : packets) s.raw.data = s.bytes.data();

    std::string err;
    auto lib = mmt::ProtocolLibrary::load(lo, err);
    if (!lib) {
        std::fprintf(stderr, "journey_bench: %s\n", err.c_str());
        return 3;
    }
    uint64_t flows = 0, rows = 0, named = 0, lookups = 0;
    mmt::HandlerOptions ho;
    ho.flow_details = details;
    double best = 1e300, first = 0;
    for (int r = 0; r < repeat; ++r) {
        mmt::Handler h(*lib, ho);
        std::vector<int> cols;
        for (const auto& a : attrs) cols.push_back(h.request(a));
        if (!cols.empty())
            h.on_packet([&](const mmt::PacketView& v) {
                for (int c : cols) rows += v.values(c).size();
                return mmt::Action::Continue;
            });
        h.on_session_end([&](const mmt::SessionInfo& s) {
            ++flows;
            named += !s.service.empty();
        });
        auto t0 = std::chrono::steady_clock::now();
        for (const auto& s : packets) h.process(s.raw);
        h.finish();
        lookups += h.stats().service_lookups;
        double ns =
            std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        if (r == 0) first = ns;
        // A lazy library's first pass also compiles: it counts only when it is the only one.
        if (!lo.lazy || r > 0 || repeat == 1) best = std::min(best, ns);
    }
    std::printf("packets %zu, flows %llu, values %llu, flows with a service %llu\n", packets.size(),
                static_cast<unsigned long long>(flows / repeat),
                static_cast<unsigned long long>(rows / repeat),
                static_cast<unsigned long long>(named / repeat));
    std::printf("service lookups %llu (%.2f per flow)\n",
                static_cast<unsigned long long>(lookups / repeat),
                flows ? double(lookups) / double(flows) : 0.0);
    if (lo.lazy) std::printf("first pass, compiling as it goes: %.3f s\n", first / 1e9);
    std::printf("best of %d: %.1f ns/packet, %.2f Mpackets/s\n", repeat,
                best / double(packets.size()), double(packets.size()) / best * 1e3);
    return 0;
}
