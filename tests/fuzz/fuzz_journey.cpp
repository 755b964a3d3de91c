// libFuzzer target: a sequence of packets -> the whole journey of a Handler (sessions,
// stream reassembly and PDU framing, defragmentation, classification, every attribute
// requested and formatted, sessions ended), with small limits so that evictions and
// budgets are reached. The input is a link type byte, then packets, each a 16-bit
// big-endian length and its bytes; a packet comes 1 ms after the one before.
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

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    mmt::HandlerOptions options;
    options.max_sessions = 64;
    options.max_buffered_bytes = 1u << 16;
    options.max_stream_buffer = 1u << 14;
    options.max_fragments_bytes = 1u << 16;
    options.max_datagrams = 16;
    options.check_bodies = true;
    mmt::Handler h(library(), options);
    static const std::vector<std::string> names = library().attribute_names();
    std::vector<int> columns;
    columns.reserve(names.size());
    for (const std::string& name : names) columns.push_back(h.request(name));
    size_t formatted = 0;
    h.on_packet([&](const mmt::PacketView& p) {
        for (int c : columns)
            for (const mmt::Value& v : p.values(c)) formatted += v.text().size();
        return mmt::Action::Continue;
    });
    size_t ended = 0;
    h.on_session_end([&](const mmt::SessionInfo&) { ++ended; });

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
    // Every session that started was ended exactly once.
    if (ended != h.stats().sessions) {
        std::fprintf(stderr, "fuzz_journey: %zu sessions ended of %llu\n", ended,
                     static_cast<unsigned long long>(h.stats().sessions));
        __builtin_trap();
    }
    static volatile size_t sink;
    sink = formatted;
    return 0;
}
