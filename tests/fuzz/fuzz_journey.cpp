// libFuzzer target: a sequence of packets -> the whole journey of a Handler (sessions,
// stream reassembly and PDU framing, defragmentation, classification, every attribute
// requested and formatted, sessions ended), with small limits so that evictions and
// budgets are reached; one handler serves every input (see Run). The input is a link
// type byte, then packets, each a 16-bit big-endian length and its bytes; a packet comes
// 1 ms after the one before.
#include "fuzz_library.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

namespace {

const uint32_t kLinkTypes[] = {1, 101, 0, 113, 276, 228, 229, 12, 14, 104, 108};

const mmt::ProtocolLibrary& library() {
    return mmt::fuzz::library("fuzz_journey");
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    library();
    return 0;
}

/// One handler for the whole run, with every attribute requested and formatted: making one
/// per input (a session table, an arena, hundreds of requests) cost more than the input.
/// Each input ends with finish(), which ends every session and drops every datagram in
/// progress, so the next input starts from an empty handler; what carries over (the
/// frame count, recent DNS answers that name services) changes no control flow of the
/// journey.
struct Run {
    Run() : h(library(), options()) {
        for (const std::string& name : library().attribute_names())
            columns.push_back(h.request(name));
        h.on_packet([this](const mmt::PacketView& p) {
            for (int c : columns)
                for (const mmt::Value& v : p.values(c)) formatted += v.text().size();
            return mmt::Action::Continue;
        });
        h.on_session_end([this](const mmt::SessionInfo&) { ++ended; });
    }
    static mmt::HandlerOptions options() {
        mmt::HandlerOptions o;
        o.max_sessions = 64;
        o.max_buffered_bytes = 1u << 16;
        o.max_stream_buffer = 1u << 14;
        o.max_fragments_bytes = 1u << 16;
        o.max_datagrams = 16;
        o.check_bodies = true;
        return o;
    }
    mmt::Handler h;
    std::vector<int> columns;
    size_t formatted = 0;
    uint64_t ended = 0;
};

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    static Run run;
    mmt::Handler& h = run.h;
    const uint64_t ended_before = run.ended, sessions_before = h.stats().sessions;

    const uint32_t linktype = kLinkTypes[data[0] % (sizeof kLinkTypes / sizeof kLinkTypes[0])];
    uint64_t ts = 1700000000ull * 1000000000ull;
    size_t pos = 1;
    while (pos + 2 <= size) {
        size_t len = size_t(data[pos] << 8 | data[pos + 1]);
        pos += 2;
        len = std::min(len, size - pos);
        // Each packet in a heap block of exactly its size, so a read past it is reported.
        std::unique_ptr<uint8_t[]> bytes(new uint8_t[len ? len : 1]);
        std::copy(data + pos, data + pos + len, bytes.get());
        pos += len;
        mmt::RawPacket raw;
        raw.data = bytes.get();
        raw.caplen = raw.wirelen = uint32_t(len);
        raw.linktype = linktype;
        raw.ts_ns = ts += 1000000;
        h.process(raw);
    }
    h.finish();
    // Every session this input started was ended exactly once.
    const uint64_t ended = run.ended - ended_before, started = h.stats().sessions - sessions_before;
    if (ended != started) {
        std::fprintf(stderr, "fuzz_journey: %llu sessions ended of %llu\n",
                     static_cast<unsigned long long>(ended),
                     static_cast<unsigned long long>(started));
        __builtin_trap();
    }
    static volatile size_t sink;
    sink = run.formatted;
    return 0;
}
