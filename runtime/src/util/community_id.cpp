// The Community ID v1 of a flow: SHA-1 (FIPS 180-4) over an ordered tuple, in base64.
#include "mmt/runtime.h"

#include <array>
#include <cstring>
#include <vector>

namespace mmt {

namespace {

uint32_t rotl(uint32_t x, int n) {
    return (x << n) | (x >> (32 - n));
}

/// SHA-1 of `msg`.
std::array<uint8_t, 20> sha1(const std::vector<uint8_t>& msg) {
    uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    std::vector<uint8_t> m = msg;
    uint64_t bits = uint64_t(msg.size()) * 8;
    m.push_back(0x80);
    while (m.size() % 64 != 56) m.push_back(0);
    for (int i = 7; i >= 0; --i) m.push_back(uint8_t(bits >> (8 * i)));
    for (size_t block = 0; block < m.size(); block += 64) {
        uint32_t w[80];
        for (int t = 0; t < 16; ++t) {
            const uint8_t* p = &m[block + 4 * size_t(t)];
            w[t] = uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
        }
        for (int t = 16; t < 80; ++t) w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int t = 0; t < 80; ++t) {
            uint32_t f, k;
            if (t < 20) {
                f = (b & c) | (~b & d);
                k = 0x5a827999;
            } else if (t < 40) {
                f = b ^ c ^ d;
                k = 0x6ed9eba1;
            } else if (t < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8f1bbcdc;
            } else {
                f = b ^ c ^ d;
                k = 0xca62c1d6;
            }
            uint32_t tmp = rotl(a, 5) + f + e + k + w[t];
            e = d;
            d = c;
            c = rotl(b, 30);
            b = a;
            a = tmp;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    }
    std::array<uint8_t, 20> out{};
    for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 4; ++j) out[size_t(4 * i + j)] = uint8_t(h[i] >> (24 - 8 * j));
    return out;
}

/// RFC 4648 base64, with padding.
std::string base64(const uint8_t* p, size_t n) {
    static const char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = uint32_t(p[i]) << 16;
        if (i + 1 < n) v |= uint32_t(p[i + 1]) << 8;
        if (i + 2 < n) v |= p[i + 2];
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
        out += i + 2 < n ? kAlphabet[v & 63] : '=';
    }
    return out;
}

/// The ICMP (or ICMPv6) message type answering `type`, for the message pairs that form
/// a two-way exchange; -1 for a one-way message.
int counterpart(bool v6, uint16_t type) {
    // (request, reply) pairs: echo, router solicitation/advertisement, timestamp,
    // information, address mask; for ICMPv6 echo, multicast listener query/report,
    // router and neighbour solicitation/advertisement, node information, home agent
    // address discovery.
    static const uint16_t kV4[][2] = {{8, 0}, {10, 9}, {13, 14}, {15, 16}, {17, 18}};
    static const uint16_t kV6[][2] = {{128, 129}, {130, 131}, {133, 134},
                                      {135, 136}, {139, 140}, {144, 145}};
    auto find = [type](const auto& pairs) {
        for (const auto& pr : pairs) {
            if (pr[0] == type) return int(pr[1]);
            if (pr[1] == type) return int(pr[0]);
        }
        return -1;
    };
    return v6 ? find(kV6) : find(kV4);
}

} // namespace

std::string community_id_v1(std::span<const uint8_t> src, std::span<const uint8_t> dst,
                            uint8_t ip_proto, uint16_t src_port, uint16_t dst_port, uint16_t seed) {
    if (src.size() != dst.size() || (src.size() != 4 && src.size() != 16)) return "";
    bool ports =
        ip_proto == 6 || ip_proto == 17 || ip_proto == 132 || ip_proto == 1 || ip_proto == 58;
    bool one_way = false;
    if (ip_proto == 1 || ip_proto == 58) {
        // The type stands for the source port, its counterpart (or the code) for the
        // destination port.
        int other = counterpart(ip_proto == 58, src_port);
        if (other >= 0)
            dst_port = uint16_t(other);
        else
            one_way = true;
    }
    // Both directions give one ID: the lower endpoint first, unless the flow is one-way.
    int cmp = std::memcmp(src.data(), dst.data(), src.size());
    bool swap = !one_way && (cmp > 0 || (cmp == 0 && ports && src_port > dst_port));
    if (swap) {
        std::swap(src, dst);
        std::swap(src_port, dst_port);
    }
    std::vector<uint8_t> m;
    m.push_back(uint8_t(seed >> 8));
    m.push_back(uint8_t(seed));
    m.insert(m.end(), src.begin(), src.end());
    m.insert(m.end(), dst.begin(), dst.end());
    m.push_back(ip_proto);
    m.push_back(0);
    if (ports) {
        m.push_back(uint8_t(src_port >> 8));
        m.push_back(uint8_t(src_port));
        m.push_back(uint8_t(dst_port >> 8));
        m.push_back(uint8_t(dst_port));
    }
    std::array<uint8_t, 20> digest = sha1(m);
    return "1:" + base64(digest.data(), digest.size());
}

} // namespace mmt
