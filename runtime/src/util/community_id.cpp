// The Community ID v1 of a flow: SHA-1 (libcrypto's) over an ordered tuple, in base64.
#include "util/community_id.h"

#include "mmt/runtime.h"

// SHA1_Init and its kin are deprecated in OpenSSL 3 in favour of EVP, not removed.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <cstring>

namespace mmt {

namespace {

/// SHA-1 of `n` bytes, by libcrypto's SHA1_* functions: a flow's tuple is one block,
/// and the EVP interface would cost more than hashing it (a provider dispatch and an
/// allocation per digest), as its one-shot SHA1() does (it also fetches the algorithm).
void sha1(const uint8_t* data, size_t n, uint8_t* digest) {
    SHA_CTX c;
    SHA1_Init(&c);
    SHA1_Update(&c, data, n);
    SHA1_Final(digest, &c);
}

/// RFC 4648 base64 of a SHA-1 digest (20 bytes: 27 characters and one '=').
void base64_digest(const uint8_t* p, char* out) {
    static const char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    constexpr size_t n = SHA_DIGEST_LENGTH;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = uint32_t(p[i]) << 16;
        if (i + 1 < n) v |= uint32_t(p[i + 1]) << 8;
        if (i + 2 < n) v |= p[i + 2];
        *out++ = kAlphabet[(v >> 18) & 63];
        *out++ = kAlphabet[(v >> 12) & 63];
        *out++ = i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
        *out++ = i + 2 < n ? kAlphabet[v & 63] : '=';
    }
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

void assign_community_id_v1(std::string& out, std::span<const uint8_t> src,
                            std::span<const uint8_t> dst, uint8_t ip_proto, uint16_t src_port,
                            uint16_t dst_port, uint16_t seed) {
    out.clear();
    if (src.size() != dst.size() || (src.size() != 4 && src.size() != 16)) return;
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
    // seed, the two addresses, the protocol, a zero byte, and the ports: at most 40 bytes.
    uint8_t m[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    m[n++] = uint8_t(seed >> 8);
    m[n++] = uint8_t(seed);
    std::memcpy(m + n, src.data(), src.size());
    n += src.size();
    std::memcpy(m + n, dst.data(), dst.size());
    n += dst.size();
    m[n++] = ip_proto;
    m[n++] = 0;
    if (ports) {
        m[n++] = uint8_t(src_port >> 8);
        m[n++] = uint8_t(src_port);
        m[n++] = uint8_t(dst_port >> 8);
        m[n++] = uint8_t(dst_port);
    }
    uint8_t digest[SHA_DIGEST_LENGTH];
    sha1(m, n, digest);
    char text[2 + 28] = {'1', ':'};
    base64_digest(digest, text + 2);
    out.assign(text, sizeof text);
}

std::string community_id_v1(std::span<const uint8_t> src, std::span<const uint8_t> dst,
                            uint8_t ip_proto, uint16_t src_port, uint16_t dst_port, uint16_t seed) {
    std::string out;
    assign_community_id_v1(out, src, dst, ip_proto, src_port, dst_port, seed);
    return out;
}

} // namespace mmt
