// The hash that spreads packets over workers and shards (mmt::flow_hash): a symmetric hash
// of the outermost IP header's two addresses, found by a short look through the link
// layers that carry IP.
#include "mmt/runtime.h"
#include "util/hash.h"

namespace mmt {

namespace {

constexpr uint32_t kEthernet = 1, kPpp = 9, kNull = 0, kLoop = 108, kRaw = 101, kRawBsd12 = 12,
                   kRawBsd14 = 14, kIpv4 = 228, kIpv6 = 229, kSll = 113, kSll2 = 276;

uint16_t be16(const uint8_t* p) {
    return uint16_t(p[0] << 8 | p[1]);
}

/// Where the outermost IP header starts, or -1 when the link layers hide it.
long ip_offset(const RawPacket& p) {
    const uint8_t* d = p.data;
    const size_t n = p.caplen;
    size_t off;
    uint16_t type; // an EtherType
    switch (p.linktype) {
    case kRaw:
    case kRawBsd12:
    case kRawBsd14:
    case kIpv4:
    case kIpv6:
        return 0;
    case kNull:
    case kLoop:
        return 4; // the address family, then the packet (its version says which IP)
    case kPpp:
        if (n < 4) return -1;
        off = d[0] == 0xff && d[1] == 0x03 ? 2 : 0;
        type = be16(d + off) == 0x0021 ? 0x0800 : be16(d + off) == 0x0057 ? 0x86dd : 0;
        off += 2;
        break;
    case kSll:
        if (n < 16) return -1;
        type = be16(d + 14);
        off = 16;
        break;
    case kSll2:
        if (n < 20) return -1;
        type = be16(d);
        off = 20;
        break;
    case kEthernet:
        if (n < 14) return -1;
        type = be16(d + 12);
        off = 14;
        break;
    default:
        return -1;
    }
    // VLAN tags (802.1Q, 802.1ad, the older QinQ type), PPPoE sessions, MPLS labels.
    for (int hops = 0; hops < 16; ++hops) {
        if (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
            if (n < off + 4) return -1;
            type = be16(d + off + 2);
            off += 4;
        } else if (type == 0x8864) {
            if (n < off + 8) return -1;
            uint16_t ppp = be16(d + off + 6);
            type = ppp == 0x0021 ? 0x0800 : ppp == 0x0057 ? 0x86dd : 0;
            off += 8;
        } else if (type == 0x8847 || type == 0x8848) {
            if (n < off + 4) return -1;
            bool bottom = d[off + 2] & 1;
            off += 4;
            if (bottom) return long(off); // IP, by its version nibble
        } else {
            break;
        }
    }
    return type == 0x0800 || type == 0x86dd ? long(off) : -1;
}

} // namespace

uint64_t flow_hash(const RawPacket& packet) {
    long at = ip_offset(packet);
    if (at < 0 || size_t(at) >= packet.caplen) return 0;
    const uint8_t* ip = packet.data + at;
    const size_t left = packet.caplen - size_t(at);
    size_t len;
    const uint8_t *a, *b;
    if (ip[0] >> 4 == 4 && left >= 20) {
        a = ip + 12, b = ip + 16, len = 4;
    } else if (ip[0] >> 4 == 6 && left >= 40) {
        a = ip + 8, b = ip + 24, len = 16;
    } else {
        return 0;
    }
    // A sum is the same whichever address is the source.
    uint64_t h = hash_bytes(a, len) + hash_bytes(b, len);
    return hash_detail::fold_mul(h ^ hash_detail::k0, hash_detail::k1);
}

} // namespace mmt
