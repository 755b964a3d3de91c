// The side-by-side benchmark's reference: a lean program on nDPI's library (Debian's
// libndpi-dev) doing what `mmtrun --flows -q` does: read a capture, keep a table of
// bidirectional flows (addresses, ports and transport; VLAN tags skipped), give each
// flow's packets to nDPI until it names the protocol or 24 (UDP) / 80 (TCP) packets have
// gone by, ask it for its best guess for the flows left undetected at the end, and print
// how many flows each protocol got.
// Usage: ndpi_bench CAPTURE
#include <ndpi/ndpi_api.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

struct Key {
    uint8_t lo[16], hi[16]; // the two addresses, lower first (IPv4 in the first 4 bytes)
    uint16_t lo_port, hi_port;
    uint8_t proto, version;
    bool operator==(const Key& o) const { return std::memcmp(this, &o, sizeof *this) == 0; }
};

struct KeyHash {
    size_t operator()(const Key& k) const {
        // FNV-1a over the key's bytes.
        const auto* p = reinterpret_cast<const uint8_t*>(&k);
        uint64_t h = 1469598103934665603ull;
        for (size_t i = 0; i < sizeof k; ++i) h = (h ^ p[i]) * 1099511628211ull;
        return size_t(h);
    }
};

struct Flow {
    ndpi_flow_struct* state;
    ndpi_protocol proto = NDPI_PROTOCOL_NULL;
    uint32_t packets = 0;
    bool done = false;
};

uint16_t get16(const uint8_t* p) {
    return uint16_t(p[0] << 8 | p[1]);
}

// Fills `k` with the canonical key of an IP packet at `l3`; false when it is not IP.
bool flow_key(const uint8_t* l3, size_t len, Key& k) {
    std::memset(&k, 0, sizeof k);
    const uint8_t *a, *b, *l4 = nullptr;
    size_t alen;
    if (len >= 20 && (l3[0] >> 4) == 4) {
        size_t ihl = size_t(l3[0] & 15) * 4;
        k.version = 4;
        k.proto = l3[9];
        a = l3 + 12;
        b = l3 + 16;
        alen = 4;
        if ((get16(l3 + 6) & 0x1fff) == 0 && ihl >= 20 && len >= ihl + 4) l4 = l3 + ihl;
    } else if (len >= 40 && (l3[0] >> 4) == 6) {
        k.version = 6;
        k.proto = l3[6];
        a = l3 + 8;
        b = l3 + 24;
        alen = 16;
        if (len >= 44) l4 = l3 + 40;
    } else {
        return false;
    }
    uint16_t pa = 0, pb = 0;
    if (l4 && (k.proto == 6 || k.proto == 17)) {
        pa = get16(l4);
        pb = get16(l4 + 2);
    }
    int c = std::memcmp(a, b, alen);
    if (c > 0 || (c == 0 && pa > pb)) {
        std::swap(a, b);
        std::swap(pa, pb);
    }
    std::memcpy(k.lo, a, alen);
    std::memcpy(k.hi, b, alen);
    k.lo_port = pa;
    k.hi_port = pb;
    return true;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: ndpi_bench CAPTURE\n");
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* pc = pcap_open_offline(argv[1], err);
    if (!pc) {
        std::fprintf(stderr, "ndpi_bench: %s\n", err);
        return 1;
    }
    if (pcap_datalink(pc) != DLT_EN10MB) {
        std::fprintf(stderr, "ndpi_bench: only Ethernet captures are read\n");
        return 1;
    }
    ndpi_detection_module_struct* ndpi = ndpi_init_detection_module(ndpi_no_prefs);
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(ndpi, &all);
    ndpi_finalize_initialization(ndpi);

    std::unordered_map<Key, Flow, KeyHash> flows;
    pcap_pkthdr* h;
    const u_char* data;
    unsigned long long packets = 0;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        ++packets;
        size_t off = 12;
        if (h->caplen < 14) continue;
        uint16_t type = get16(data + off);
        while ((type == 0x8100 || type == 0x88a8) && off + 6 <= h->caplen) {
            off += 4;
            type = get16(data + off);
        }
        if (type != 0x0800 && type != 0x86dd) continue;
        const uint8_t* l3 = data + off + 2;
        size_t len = h->caplen - off - 2;
        Key k;
        if (!flow_key(l3, len, k)) continue;
        auto [it, fresh] = flows.try_emplace(k);
        Flow& f = it->second;
        if (fresh) {
            f.state = static_cast<ndpi_flow_struct*>(ndpi_flow_malloc(SIZEOF_FLOW_STRUCT));
            std::memset(f.state, 0, SIZEOF_FLOW_STRUCT);
        }
        ++f.packets;
        if (f.done) continue;
        uint64_t ms = uint64_t(h->ts.tv_sec) * 1000 + uint64_t(h->ts.tv_usec) / 1000;
        f.proto = ndpi_detection_process_packet(ndpi, f.state, l3,
                                                uint16_t(std::min<size_t>(len, 65535)), ms);
        if (f.proto.app_protocol != NDPI_PROTOCOL_UNKNOWN ||
            f.proto.master_protocol != NDPI_PROTOCOL_UNKNOWN ||
            f.packets >= (k.proto == 6 ? 80u : 24u))
            f.done = true;
    }
    pcap_close(pc);

    std::map<std::string, unsigned long> labels;
    unsigned long detected = 0;
    for (auto& [k, f] : flows) {
        if (f.proto.app_protocol == NDPI_PROTOCOL_UNKNOWN &&
            f.proto.master_protocol == NDPI_PROTOCOL_UNKNOWN) {
            uint8_t guessed = 0;
            f.proto = ndpi_detection_giveup(ndpi, f.state, 1, &guessed);
        }
        char name[64];
        ndpi_protocol2name(ndpi, f.proto, name, sizeof name);
        if (f.proto.app_protocol != NDPI_PROTOCOL_UNKNOWN ||
            f.proto.master_protocol != NDPI_PROTOCOL_UNKNOWN)
            ++detected;
        ++labels[name];
        ndpi_free_flow(f.state);
    }
    ndpi_exit_detection_module(ndpi);
    std::printf("packets %llu flows %zu labelled %lu\n", packets, flows.size(), detected);
    std::vector<std::pair<unsigned long, std::string>> top;
    for (auto& [name, n] : labels) top.emplace_back(n, name);
    std::sort(top.rbegin(), top.rend());
    for (size_t i = 0; i < top.size() && i < 10; ++i)
        std::printf("  %-24s %lu\n", top[i].second.c_str(), top[i].first);
    return 0;
}
