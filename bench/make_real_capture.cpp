// Builds the side-by-side benchmark's input from real captures: the Ethernet packets of
// every input file, repeated until the output holds the packets asked for. Each repetition
// moves every IPv4 and IPv6 address by the same amount (both directions of a flow move
// together, so each repetition adds new flows), fixes the IPv4 header checksum and the
// TCP/UDP checksums incrementally, and shifts time so that packets stay in order: gaps
// within a file are kept up to one second, files and repetitions follow each other.
// Usage: make_real_capture OUTPUT.pcap PACKETS INPUT...
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Stored {
    int64_t us; // time within its file, microseconds from the file's first packet
    std::vector<uint8_t> bytes;
    uint32_t wirelen;
};

struct Input {
    std::vector<Stored> packets;
    int64_t span_us = 0; // time from the first to the last packet, gaps clamped
};

constexpr int64_t kMaxGapUs = 1000000;

uint16_t get16(const uint8_t* p) {
    return uint16_t(p[0] << 8 | p[1]);
}
void put16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}

// Ones' complement sum folded to 16 bits.
uint16_t fold(uint32_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return uint16_t(s);
}

// RFC 1624 incremental update of a checksum field when a 16-bit word changes.
void adjust(uint8_t* field, uint16_t before, uint16_t after) {
    uint16_t hc = get16(field);
    put16(field, uint16_t(~fold(uint32_t(uint16_t(~hc)) + uint16_t(~before) + after)));
}

// Adds `delta` to the 16-bit word at `w` (an address part), fixing the checksums given.
void move_word(uint8_t* w, uint16_t delta, uint8_t* sum1, uint8_t* sum2) {
    uint16_t before = get16(w), after = uint16_t(before + delta);
    put16(w, after);
    if (sum1) adjust(sum1, before, after);
    if (sum2) adjust(sum2, before, after);
}

// The TCP or UDP checksum field of a transport header at `l4` (nullptr when it is absent,
// or for UDP without a checksum).
uint8_t* transport_sum(uint8_t proto, uint8_t* l4, const uint8_t* end) {
    if (proto == 6 && end - l4 >= 18) return l4 + 16;
    if (proto == 17 && end - l4 >= 8 && get16(l4 + 6) != 0) return l4 + 6;
    return nullptr;
}

// Moves the addresses of one Ethernet frame (after VLAN tags) by repetition `rep`.
void rewrite(std::vector<uint8_t>& b, uint16_t rep) {
    if (rep == 0 || b.size() < 14) return;
    uint8_t* p = b.data();
    const uint8_t* end = p + b.size();
    size_t off = 12;
    uint16_t type = get16(p + off);
    while ((type == 0x8100 || type == 0x88a8) && off + 6 <= b.size()) {
        off += 4;
        type = get16(p + off);
    }
    uint8_t* l3 = p + off + 2;
    if (type == 0x0800 && end - l3 >= 20 && (l3[0] >> 4) == 4) {
        size_t ihl = size_t(l3[0] & 15) * 4;
        bool first = (get16(l3 + 6) & 0x1fff) == 0;
        uint8_t* sum = ihl >= 20 && first && end - l3 >= long(ihl)
                           ? transport_sum(l3[9], l3 + ihl, end)
                           : nullptr;
        // The third and fourth bytes of each address: 65536 repetitions before a repeat.
        move_word(l3 + 14, rep, l3 + 10, sum);
        move_word(l3 + 18, rep, l3 + 10, sum);
    } else if (type == 0x86dd && end - l3 >= 40 && (l3[0] >> 4) == 6) {
        uint8_t* sum = transport_sum(l3[6], l3 + 40, end);
        move_word(l3 + 8 + 12, rep, sum, nullptr);
        move_word(l3 + 24 + 12, rep, sum, nullptr);
    }
}

bool read_input(const char* path, Input& in, int& snaplen) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* pc = pcap_open_offline(path, err);
    if (!pc) {
        std::fprintf(stderr, "make_real_capture: %s\n", err);
        return false;
    }
    if (pcap_datalink(pc) != DLT_EN10MB) { // only Ethernet: one link type in the output
        pcap_close(pc);
        return true;
    }
    snaplen = std::max(snaplen, pcap_snapshot(pc));
    pcap_pkthdr* h;
    const u_char* data;
    int64_t first = -1, last = 0, clock = 0;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        int64_t t = int64_t(h->ts.tv_sec) * 1000000 + h->ts.tv_usec;
        if (first < 0) first = last = t;
        clock += std::clamp<int64_t>(t - last, 0, kMaxGapUs);
        last = t;
        in.packets.push_back({clock, std::vector<uint8_t>(data, data + h->caplen), h->len});
    }
    in.span_us = clock;
    pcap_close(pc);
    return true;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: make_real_capture OUTPUT.pcap PACKETS INPUT...\n");
        return 2;
    }
    const uint64_t wanted = std::strtoull(argv[2], nullptr, 10);
    std::vector<Input> inputs;
    int snaplen = 65535;
    uint64_t available = 0;
    for (int i = 3; i < argc; ++i) {
        Input in;
        if (!read_input(argv[i], in, snaplen)) return 1;
        available += in.packets.size();
        if (!in.packets.empty()) inputs.push_back(std::move(in));
    }
    if (available == 0) {
        std::fprintf(stderr, "make_real_capture: no Ethernet packet in the inputs\n");
        return 1;
    }
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, snaplen);
    pcap_dumper_t* out = pcap_dump_open(dead, argv[1]);
    if (!out) {
        std::fprintf(stderr, "make_real_capture: %s\n", pcap_geterr(dead));
        return 1;
    }
    int64_t base = int64_t(1700000000) * 1000000;
    uint64_t written = 0;
    uint16_t rep = 0;
    std::vector<uint8_t> bytes;
    for (; written < wanted; ++rep) {
        for (const Input& in : inputs) {
            for (const Stored& s : in.packets) {
                if (written == wanted) break;
                bytes = s.bytes;
                rewrite(bytes, rep);
                pcap_pkthdr h{};
                int64_t t = base + s.us;
                h.ts.tv_sec = t / 1000000;
                h.ts.tv_usec = t % 1000000;
                h.caplen = uint32_t(bytes.size());
                h.len = s.wirelen;
                pcap_dump(reinterpret_cast<u_char*>(out), &h, bytes.data());
                ++written;
            }
            base += in.span_us + 1000;
        }
    }
    pcap_dump_close(out);
    pcap_close(dead);
    std::printf("packets %llu (%llu Ethernet packets in %zu files, %u repetitions)\n",
                static_cast<unsigned long long>(written),
                static_cast<unsigned long long>(available), inputs.size(), unsigned(rep));
    return 0;
}
