// Host helpers called from generated code. Each is bounds-safe on its own inputs.
#include "helpers/host.h"
#include "util/hash.h"

// libcrypto's low-level digests (MD5_*, SHA256_*) are deprecated in OpenSSL 3 in favour of
// EVP, not removed. They are used here because OpenSSL 3's one-shot EVP_Digest and HMAC
// look the algorithm up on every call, under a lock whose cache line every thread fights
// for (mmtrun --workers), and allocate a context.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

extern "C" {

int64_t mmt_rt_find(const uint8_t* p, int64_t n, const uint8_t* pat, int64_t patlen) {
    if (n <= 0 || patlen <= 0 || patlen > n) return -1;
    // The literals of specs are short ("\r\n", ":", "\r\n\r\n"): finding the first
    // byte with memchr and comparing the rest costs far less than memmem's set-up, and at
    // most `patlen` times the data. Long literals go to memmem, linear in the data.
    if (patlen > 8) {
        const void* hit = memmem(p, size_t(n), pat, size_t(patlen));
        return hit ? static_cast<const uint8_t*>(hit) - p : -1;
    }
    if (patlen == 1) {
        const void* hit = std::memchr(p, pat[0], size_t(n));
        return hit ? static_cast<const uint8_t*>(hit) - p : -1;
    }
    const uint8_t* at = p;
    const uint8_t* last = p + (n - patlen); // the last place a match can start
    while (at <= last) {
        at = static_cast<const uint8_t*>(std::memchr(at, pat[0], size_t(last - at + 1)));
        if (!at) return -1;
        if (std::memcmp(at + 1, pat + 1, size_t(patlen - 1)) == 0) return at - p;
        ++at;
    }
    return -1;
}

int64_t mmt_rt_run_of(const uint8_t* p, int64_t n, int32_t byte) {
    // Eight bytes at a time: a word of `byte`s XORed with the data is zero while they match.
    const uint64_t all = 0x0101010101010101ull * uint8_t(byte);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        if (uint64_t diff = w ^ all) return i + (__builtin_ctzll(diff) >> 3);
    }
    while (i < n && p[i] == uint8_t(byte)) ++i;
    return i;
}

int32_t mmt_rt_icase_eq(const uint8_t* p, const uint8_t* lit, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        uint8_t a = p[i], b = lit[i];
        if (a >= 'A' && a <= 'Z') a = uint8_t(a + 32);
        if (b >= 'A' && b <= 'Z') b = uint8_t(b + 32);
        if (a != b) return 0;
    }
    return 1;
}

int32_t mmt_rt_to_int(const uint8_t* p, int64_t n, int64_t* out) {
    int64_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t')) ++i;
    if (i == n) return 0;
    uint64_t v = 0;
    int64_t digits = 0;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; ++i, ++digits) {
        uint64_t d = uint64_t(p[i] - '0');
        if (v > (uint64_t(INT64_MAX) - d) / 10) return 0; // would not fit a signed 64-bit value
        v = v * 10 + d;
    }
    while (i < n && (p[i] == ' ' || p[i] == '\t')) ++i;
    if (digits == 0 || i != n) return 0;
    *out = int64_t(v);
    return 1;
}

int32_t mmt_rt_match_any(const uint8_t* p, int64_t n, const uint8_t* table, int32_t mode) {
    unsigned count = table[0];
    const uint8_t* lit = table + 1;
    for (unsigned i = 0; i < count; ++i) {
        int64_t len = lit[0];
        const uint8_t* bytes = lit + 1;
        lit += 1 + len;
        if (len > n) continue;
        // The first (or, at the end, last) byte rules most literals out without a call.
        switch (mode) {
        case 0:
            if (len && p[0] != bytes[0]) break;
            if (std::memcmp(p, bytes, size_t(len)) == 0) return 1;
            break;
        case 1:
            if (mmt_rt_icase_eq(p, bytes, len)) return 1;
            break;
        case 2:
            if (len && p[n - 1] != bytes[len - 1]) break;
            if (std::memcmp(p + (n - len), bytes, size_t(len)) == 0) return 1;
            break;
        default:
            if (mmt_rt_find(p, n, bytes, len) >= 0) return 1;
            break;
        }
    }
    return 0;
}

int64_t mmt_rt_domain_name(mmt_ctx* ctx, const uint8_t* p, int64_t n, int64_t off) {
    if (!ctx->scratch || off < 0) return -1;
    mmt_scratch& s = *ctx->scratch;
    const uint32_t start = s.used;
    uint8_t* out = s.base + start;
    const uint32_t room = s.cap - start;
    uint32_t len = 0;
    int hops = 0;
    for (int64_t pos = off;;) {
        if (pos >= n) return -1;
        uint8_t b = p[pos];
        if (b == 0) break;
        if ((b & 0xc0) == 0xc0) {
            if (pos + 1 >= n || ++hops > 16) return -1;
            pos = int64_t((b & 0x3f) << 8 | p[pos + 1]);
            continue;
        }
        if (b & 0xc0) return -1; // reserved label types
        if (pos + 1 + b > n) return -1;
        uint32_t need = (len ? 1u : 0u) + b;
        if (len + need > 255 || len + need > room) return -1;
        if (len) out[len++] = '.';
        std::memcpy(out + len, p + pos + 1, b);
        len += b;
        pos += 1 + b;
    }
    s.used = start + len;
    return len;
}

int64_t mmt_rt_netbios_name(mmt_ctx* ctx, const uint8_t* p, int64_t n) {
    if (!ctx->scratch || n != 32) return -1;
    mmt_scratch& s = *ctx->scratch;
    const uint32_t start = s.used;
    if (s.cap - start < 64) return -1; // 16 bytes, each at most <xx>
    uint8_t name[16];
    for (int i = 0; i < 16; ++i) {
        uint8_t hi = uint8_t(p[2 * i] - 'A'), lo = uint8_t(p[2 * i + 1] - 'A');
        if (hi > 15 || lo > 15) return -1;
        name[i] = uint8_t(hi << 4 | lo);
    }
    // The first 15 bytes without their padding spaces, then the suffix; bytes that do not
    // print are written as tshark writes them: <1d>.
    int end = 15;
    while (end > 0 && name[end - 1] == ' ') --end;
    static const char hex[] = "0123456789abcdef";
    uint8_t* out = s.base + start;
    uint32_t len = 0;
    auto escaped = [&](uint8_t c) {
        out[len++] = '<';
        out[len++] = uint8_t(hex[c >> 4]);
        out[len++] = uint8_t(hex[c & 15]);
        out[len++] = '>';
    };
    for (int i = 0; i < end; ++i) {
        if (name[i] < 0x20 || name[i] >= 0x7f)
            escaped(name[i]);
        else
            out[len++] = name[i];
    }
    escaped(name[15]);
    s.used = start + len;
    return len;
}

/// Parses "\r\n" at `p[i]`.
static bool crlf(const uint8_t* p, int64_t n, int64_t i) {
    return i + 1 < n && p[i] == '\r' && p[i + 1] == '\n';
}

int64_t mmt_rt_chunked_length(const uint8_t* p, int64_t n) {
    int64_t pos = 0;
    for (;;) {
        // chunk-size in hex, then extensions up to CRLF
        uint64_t size = 0;
        int digits = 0;
        for (; pos < n; ++pos, ++digits) {
            uint8_t c = p[pos];
            int v = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (v < 0) break;
            if (size >> 40) return -2; // a terabyte chunk is no chunk
            size = size << 4 | uint64_t(v);
        }
        if (digits == 0) return pos < n ? -2 : -1;
        while (pos < n && !crlf(p, n, pos)) ++pos;
        if (!crlf(p, n, pos)) return -1;
        pos += 2;
        if (size == 0) {
            // trailer fields, then the empty line
            while (!crlf(p, n, pos)) {
                while (pos < n && !crlf(p, n, pos)) ++pos;
                if (!crlf(p, n, pos)) return -1;
                pos += 2;
            }
            return pos + 2;
        }
        if (int64_t(size) > n - pos) return -1;
        pos += int64_t(size);
        if (!crlf(p, n, pos)) return pos + 2 <= n ? -2 : -1; // the data must end with CRLF
        pos += 2;
    }
}

/// Room for `n` more bytes in the scratch memory: where they go, or null.
static uint8_t* scratch_room(mmt_ctx* ctx, uint64_t n) {
    if (!ctx->scratch) return nullptr;
    mmt_scratch& s = *ctx->scratch;
    if (uint64_t(s.used) + n > s.cap) return nullptr;
    return s.base + s.used;
}

static const char kHexDigits[] = "0123456789abcdef";

int64_t mmt_rt_hex(mmt_ctx* ctx, const uint8_t* p, int64_t n) {
    if (n < 0) return -1;
    uint8_t* out = scratch_room(ctx, uint64_t(n) * 2);
    if (!out) return -1;
    for (int64_t i = 0; i < n; ++i) {
        out[2 * i] = uint8_t(kHexDigits[p[i] >> 4]);
        out[2 * i + 1] = uint8_t(kHexDigits[p[i] & 15]);
    }
    ctx->scratch->used += uint32_t(n * 2);
    return n * 2;
}

int64_t mmt_rt_digest(mmt_ctx* ctx, const uint8_t* p, int64_t n, int32_t kind) {
    if (n < 0) return -1;
    unsigned char md[SHA256_DIGEST_LENGTH];
    int64_t md_len;
    if (kind == 0) {
        MD5_CTX c;
        if (!MD5_Init(&c) || !MD5_Update(&c, p, size_t(n)) || !MD5_Final(md, &c)) return -1;
        md_len = MD5_DIGEST_LENGTH;
    } else {
        SHA256_CTX c;
        if (!SHA256_Init(&c) || !SHA256_Update(&c, p, size_t(n)) || !SHA256_Final(md, &c))
            return -1;
        md_len = SHA256_DIGEST_LENGTH;
    }
    return mmt_rt_hex(ctx, md, md_len);
}

const uint8_t* mmt_rt_append_int(mmt_ctx* ctx, int64_t v, int32_t hex_digits) {
    char buf[24];
    int len = 0;
    uint64_t u = uint64_t(v);
    if (hex_digits <= 0) {
        len = int(std::to_chars(buf, buf + sizeof buf, u).ptr - buf);
    } else {
        // Least significant first, then turned around.
        do {
            buf[len++] = kHexDigits[u & 15];
            u >>= 4;
        } while (u || len < std::min(hex_digits, 16));
        std::reverse(buf, buf + len);
    }
    uint8_t* out = scratch_room(ctx, uint64_t(len));
    if (!out) return nullptr;
    // Lists' texts (JA3) append many short numbers: a fixed copy when there is room for it.
    if (scratch_room(ctx, sizeof buf))
        std::memcpy(out, buf, sizeof buf);
    else
        std::memcpy(out, buf, size_t(len));
    ctx->scratch->used += uint32_t(len);
    return out;
}

void mmt_rt_sort_ints(uint8_t* p, int64_t n) {
    if (n <= 1) return;
    // The lists of hellos are short: sorted on the stack, without an allocation.
    int64_t small[512];
    std::vector<int64_t> large;
    int64_t* v = small;
    if (n > 512) {
        large.resize(static_cast<size_t>(n));
        v = large.data();
    }
    std::memcpy(v, p, size_t(n) * 8);
    std::sort(v, v + n);
    std::memcpy(p, v, size_t(n) * 8);
}

namespace {

/// The Initial salts (RFC 9001 section 5.2, RFC 9369 section 3.3.1, and the drafts of
/// the QUIC working group: draft-22, draft-23 to 28, draft-29 to 32, v1's from draft-33;
/// Facebook's mvfst versions 0xfaceb001 and 0xfaceb002 use those of drafts 22 and 27), and whether
/// the version is QUIC v2, whose labels differ. False for a version without one. `second`
/// asks for the other salt a version may use: the reserved versions that force a version
/// negotiation (0x?a?a?a?a, RFC 9000 section 15) come with v1's keys from some clients and
/// with draft-29's from others (the tag tells which).
bool initial_salt(uint32_t version, bool second, const uint8_t*& salt, bool& v2) {
    static const uint8_t v1_salt[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                        0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
    static const uint8_t v2_salt[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                        0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
    static const uint8_t draft29_salt[20] = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2,
                                             0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61,
                                             0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};
    static const uint8_t draft22_salt[20] = {0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb,
                                             0xe9, 0x19, 0x3a, 0x96, 0xcd, 0x21, 0x51,
                                             0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a};
    static const uint8_t draft23_salt[20] = {0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb,
                                             0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4,
                                             0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02};
    v2 = false;
    const bool reserved = (version & 0x0f0f0f0f) == 0x0a0a0a0a;
    if (second) {
        if (!reserved) return false;
        salt = draft29_salt;
    } else if (version == 1 || version == 0xff000021 || version == 0xff000022 || reserved) {
        salt = v1_salt;
    } else if (version == 0x6b3343cf) {
        salt = v2_salt;
        v2 = true;
    } else if (version >= 0xff00001d && version <= 0xff000020) {
        salt = draft29_salt;
    } else if ((version >= 0xff000017 && version <= 0xff00001c) || version == 0xfaceb002) {
        salt = draft23_salt; // and mvfst's version of draft-27
    } else if (version == 0xff000016 || version == 0xfaceb001) {
        salt = draft22_salt; // and mvfst's version of draft-22
    } else {
        return false;
    }
    return true;
}

/// An HMAC-SHA256 key (RFC 2104) of at most 64 bytes (QUIC's salts and secrets are 20 and
/// 32), on libcrypto's SHA-256, with its two padded blocks hashed once: each message then
/// costs its own blocks and one more.
class HmacSha256 {
  public:
    HmacSha256(const uint8_t* key, size_t key_len) {
        uint8_t pad[64] = {};
        std::memcpy(pad, key, std::min<size_t>(key_len, sizeof pad));
        for (uint8_t& b : pad) b ^= 0x36;
        SHA256_Init(&inner_);
        SHA256_Update(&inner_, pad, sizeof pad);
        for (uint8_t& b : pad) b ^= 0x36 ^ 0x5c;
        SHA256_Init(&outer_);
        SHA256_Update(&outer_, pad, sizeof pad);
    }

    void mac(const uint8_t* msg, size_t msg_len, uint8_t out[32]) const {
        uint8_t digest[32];
        SHA256_CTX c = inner_;
        SHA256_Update(&c, msg, msg_len);
        SHA256_Final(digest, &c);
        c = outer_;
        SHA256_Update(&c, digest, sizeof digest);
        SHA256_Final(out, &c);
    }

  private:
    SHA256_CTX inner_, outer_;
};

/// HKDF-Expand-Label of TLS 1.3 (RFC 8446 section 7.1) with an empty context, for at most
/// 32 bytes: one HMAC-SHA256 block.
bool expand_label(const HmacSha256& secret, const char* label, uint8_t* out, unsigned len) {
    uint8_t info[64];
    size_t label_len = std::strlen(label);
    unsigned k = 0;
    info[k++] = 0;
    info[k++] = uint8_t(len);
    info[k++] = uint8_t(6 + label_len);
    std::memcpy(info + k, "tls13 ", 6);
    k += 6;
    std::memcpy(info + k, label, label_len);
    k += unsigned(label_len);
    info[k++] = 0; // no context
    info[k++] = 1; // the first (and only) block
    uint8_t block[32];
    if (len > sizeof block) return false;
    secret.mac(info, k, block);
    std::memcpy(out, block, len);
    return true;
}

/// One cipher context per thread and kind, made once with its cipher (AES-128 in ECB, then
/// in GCM with 12-byte nonces; no allocation nor algorithm look-up per packet) and freed
/// when the thread ends.
struct CipherContexts {
    EVP_CIPHER_CTX* contexts[2] = {nullptr, nullptr};
    ~CipherContexts() {
        for (EVP_CIPHER_CTX* c : contexts) EVP_CIPHER_CTX_free(c);
    }
};

EVP_CIPHER_CTX* cipher_context(int which) {
    thread_local CipherContexts mine;
    EVP_CIPHER_CTX*& c = mine.contexts[which];
    if (c) return c;
    c = EVP_CIPHER_CTX_new();
    bool ok =
        c && (which == 0 ? EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), nullptr, nullptr, nullptr)
                         : EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), nullptr, nullptr, nullptr) &&
                               EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr));
    if (!ok) {
        EVP_CIPHER_CTX_free(c);
        c = nullptr;
    }
    return c;
}

} // namespace

namespace {

/// The keys of one side's Initial packets: AEAD key, IV and header protection key.
struct InitialKeys {
    uint8_t key[16], iv[12], hp[16];
};

/// initial_secret = HKDF-Extract(salt, dcid); the client's (or the server's) secret, then
/// its key, IV and header protection key (RFC 9001 section 5.2).
bool derive_initial_keys(const uint8_t* salt, bool v2, bool server, const uint8_t* dcid,
                         size_t dcid_len, InitialKeys& k) {
    // The salts are few and fixed: each one's padded blocks are hashed once per thread.
    struct SaltKey {
        const uint8_t* salt;
        HmacSha256 key;
    };
    thread_local std::vector<SaltKey> salts;
    auto it =
        std::find_if(salts.begin(), salts.end(), [&](const SaltKey& s) { return s.salt == salt; });
    if (it == salts.end()) it = salts.insert(salts.end(), SaltKey{salt, HmacSha256(salt, 20)});
    uint8_t initial[32], secret[32];
    it->key.mac(dcid, dcid_len, initial);
    if (!expand_label(HmacSha256(initial, 32), server ? "server in" : "client in", secret, 32))
        return false;
    // The side's secret keys three expansions.
    const HmacSha256 side(secret, 32);
    return expand_label(side, v2 ? "quicv2 key" : "quic key", k.key, 16) &&
           expand_label(side, v2 ? "quicv2 iv" : "quic iv", k.iv, 12) &&
           expand_label(side, v2 ? "quicv2 hp" : "quic hp", k.hp, 16);
}

/// The keys of recent connection ids, per thread: a connection's Initials, both sides',
/// and the spec's tries of either side's keys on each, derive them once (five HMACs,
/// fourteen SHA-256 blocks) rather than per packet and try. A slot per hash of the id; a new id
/// takes the place of the one there.
class InitialKeyCache {
  public:
    const InitialKeys* find(const uint8_t* salt, bool v2, bool server, const uint8_t* dcid,
                            size_t dcid_len) {
        if (dcid_len > sizeof(Entry::dcid)) {
            // Longer than any version allows (20 bytes): derived, not kept.
            return derive_initial_keys(salt, v2, server, dcid, dcid_len, spare_) ? &spare_
                                                                                 : nullptr;
        }
        const uint64_t h =
            mmt::hash_bytes(dcid, dcid_len, reinterpret_cast<uintptr_t>(salt) ^ uint64_t(server));
        Entry& e = entries_[h % kEntries];
        if (e.used && e.salt == salt && e.server == server && e.dcid_len == dcid_len &&
            std::memcmp(e.dcid, dcid, dcid_len) == 0)
            return &e.keys;
        e.used = false;
        if (!derive_initial_keys(salt, v2, server, dcid, dcid_len, e.keys)) return nullptr;
        e.salt = salt;
        e.server = server;
        e.dcid_len = uint8_t(dcid_len);
        std::memcpy(e.dcid, dcid, dcid_len);
        e.used = true;
        return &e.keys;
    }

  private:
    static constexpr size_t kEntries = 64;
    struct Entry {
        const uint8_t* salt = nullptr; // one of initial_salt's, by address
        bool used = false, server = false;
        uint8_t dcid_len = 0;
        uint8_t dcid[20];
        InitialKeys keys;
    };
    Entry entries_[kEntries];
    InitialKeys spare_;
};

/// Decrypts with the keys of one salt; -1 when the tag does not verify.
int64_t decrypt_initial(mmt_ctx* ctx, const uint8_t* p, int64_t n, int64_t pn_offset,
                        const uint8_t* salt, bool v2, bool server, const uint8_t* dcid,
                        int64_t dcid_len, const uint8_t** out) {
    thread_local InitialKeyCache cache;
    const InitialKeys* keys = cache.find(salt, v2, server, dcid, size_t(dcid_len));
    if (!keys) return -1;
    const uint8_t* key = keys->key;
    const uint8_t* hp = keys->hp;
    uint8_t iv[12];
    std::memcpy(iv, keys->iv, sizeof iv);
    // Header protection (section 5.4): a mask from the 16 bytes sampled 4 bytes after the
    // start of the packet number.
    uint8_t mask[32];
    int mask_len = 0;
    EVP_CIPHER_CTX* ecb = cipher_context(0);
    if (!ecb || !EVP_EncryptInit_ex(ecb, nullptr, nullptr, hp, nullptr)) return -1;
    EVP_CIPHER_CTX_set_padding(ecb, 0);
    if (!EVP_EncryptUpdate(ecb, mask, &mask_len, p + pn_offset + 4, 16) || mask_len != 16)
        return -1;
    uint8_t first = uint8_t(p[0] ^ (mask[0] & 0x0f));
    // A long header's reserved bits are 0 once unprotected (RFC 9000, section 17.2; the
    // same in version 2): with the wrong keys, three times in four they are not, and the
    // packet is given up without decrypting it.
    if (first & 0x0c) return -1;
    int64_t pn_len = (first & 3) + 1;
    int64_t header_len = pn_offset + pn_len;
    int64_t cipher_len = n - header_len - 16;
    if (cipher_len < 0) return -1;
    // The unprotected header is the AEAD's associated data: in scratch memory, followed by
    // the plaintext.
    if (!ctx->scratch) return -1;
    mmt_scratch& s = *ctx->scratch;
    if (uint64_t(s.used) + uint64_t(header_len) + uint64_t(cipher_len) > s.cap) return -1;
    uint8_t* aad = s.base + s.used;
    uint8_t* plain = aad + header_len;
    std::memcpy(aad, p, size_t(header_len));
    aad[0] = first;
    uint64_t pn = 0;
    for (int64_t i = 0; i < pn_len; ++i) {
        aad[pn_offset + i] = uint8_t(p[pn_offset + i] ^ mask[1 + i]);
        pn = pn << 8 | aad[pn_offset + i];
    }
    // The nonce: the IV with the packet number, left-padded, XORed into its end.
    for (int i = 0; i < 8; ++i) iv[11 - i] = uint8_t(iv[11 - i] ^ uint8_t(pn >> (8 * i)));
    EVP_CIPHER_CTX* gcm = cipher_context(1);
    if (!gcm) return -1;
    int len = 0, final_len = 0;
    uint8_t tag[16];
    std::memcpy(tag, p + n - 16, 16);
    if (!EVP_DecryptInit_ex(gcm, nullptr, nullptr, key, iv) ||
        !EVP_DecryptUpdate(gcm, nullptr, &len, aad, int(header_len)) ||
        !EVP_DecryptUpdate(gcm, plain, &len, p + header_len, int(cipher_len)) ||
        !EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_SET_TAG, 16, tag) ||
        EVP_DecryptFinal_ex(gcm, plain + len, &final_len) <= 0)
        return -1;
    s.used += uint32_t(header_len + cipher_len);
    *out = plain;
    return cipher_len;
}

/// This thread's last decryptions of Initial packets. A spec asks for the same decryption
/// more than once a packet (QUIC's attributes, then the update that keeps the connection
/// id), and its outcome depends only on the packet's bytes and the keys': a repeated one
/// (same bytes, packet number offset, salt, side and connection id) costs a comparison and
/// a copy of the plaintext into this packet's scratch memory, where the first one put it
/// too (the memory a helper returns lives until the packet ends).
class DecryptMemo {
  public:
    /// decrypt_initial, remembered. Only when the scratch memory has room for the header
    /// and the plaintext (n - 16 bytes), so that only the inputs decide the outcome.
    int64_t decrypt(mmt_ctx* ctx, const uint8_t* p, int64_t n, int64_t pn_offset,
                    const uint8_t* salt, bool v2, bool server, const uint8_t* dcid,
                    int64_t dcid_len, const uint8_t** out) {
        if (n < 16) return -1;
        uint8_t* room = scratch_room(ctx, uint64_t(n - 16));
        if (!room) return -1;
        const std::string_view packet(reinterpret_cast<const char*>(p), size_t(n));
        const std::string_view id(reinterpret_cast<const char*>(dcid), size_t(dcid_len));
        for (const Entry& e : entries_) {
            if (e.salt != salt || e.server != server || e.pn_offset != pn_offset ||
                e.packet != packet || e.dcid != id)
                continue;
            if (e.result < 0) return -1;
            std::memcpy(room, e.plain.data(), e.plain.size());
            ctx->scratch->used += uint32_t(e.plain.size());
            *out = room;
            return e.result;
        }
        const int64_t got =
            decrypt_initial(ctx, p, n, pn_offset, salt, v2, server, dcid, dcid_len, out);
        Entry& e = entries_[next_];
        next_ = (next_ + 1) % kEntries;
        e.salt = salt;
        e.server = server;
        e.pn_offset = pn_offset;
        e.packet.assign(packet);
        e.dcid.assign(id);
        e.result = got;
        e.plain.assign(got >= 0 ? reinterpret_cast<const char*>(*out) : "",
                       size_t(std::max<int64_t>(got, 0)));
        return got;
    }

  private:
    // Two: a client's Initial tried with its own connection id and then the one the
    // session keeps.
    static constexpr unsigned kEntries = 2;
    struct Entry {
        const uint8_t* salt = nullptr; // none yet: matches no call
        bool server = false;
        int64_t pn_offset = 0, result = -1;
        std::string packet, dcid, plain;
    };
    Entry entries_[kEntries];
    unsigned next_ = 0;
};

} // namespace

int64_t mmt_rt_quic_initial(mmt_ctx* ctx, const uint8_t* p, int64_t n, int64_t pn_offset,
                            int64_t version, int32_t server, const uint8_t* dcid, int64_t dcid_len,
                            const uint8_t** out) {
    if (version < 0 || version > 0xffffffff) return -1;
    if (dcid_len < 0 || dcid_len > 255 || pn_offset < 1 || pn_offset + 4 + 16 > n) return -1;
    const uint8_t* salt = nullptr;
    bool v2 = false;
    thread_local DecryptMemo memo;
    for (bool second : {false, true}) {
        if (!initial_salt(uint32_t(version), second, salt, v2)) continue;
        int64_t got =
            memo.decrypt(ctx, p, n, pn_offset, salt, v2, server != 0, dcid, dcid_len, out);
        if (got >= 0) return got;
    }
    return -1;
}

const uint8_t* mmt_rt_state_bytes_get(void* slot, int64_t* len) {
    uint8_t* block = nullptr;
    std::memcpy(&block, slot, sizeof block);
    if (!block) {
        *len = 0;
        return reinterpret_cast<const uint8_t*>(slot); // any valid pointer: no byte is read
    }
    uint32_t n = 0;
    std::memcpy(&n, block, 4);
    *len = n;
    return block + 4;
}

int32_t mmt_rt_state_bytes_set(void* slot, const uint8_t* p, int64_t n, int64_t max) {
    if (n < 0 || n > max || n > int64_t(UINT32_MAX) - 4) return 0;
    uint8_t* block = nullptr;
    std::memcpy(&block, slot, sizeof block);
    if (n == 0) {
        std::free(block);
        block = nullptr;
        std::memcpy(slot, &block, sizeof block);
        return 1;
    }
    // A new block each time: the value stored may be read from the old one.
    auto* fresh = static_cast<uint8_t*>(std::malloc(size_t(n) + 4));
    if (!fresh) return 0;
    uint32_t len = uint32_t(n);
    std::memcpy(fresh, &len, 4);
    std::memcpy(fresh + 4, p, size_t(n));
    std::free(block);
    std::memcpy(slot, &fresh, sizeof fresh);
    return 1;
}

void mmt_rt_state_bytes_free(void* slot) {
    uint8_t* block = nullptr;
    std::memcpy(&block, slot, sizeof block);
    std::free(block);
    block = nullptr;
    std::memcpy(slot, &block, sizeof block);
}

uint8_t* mmt_rt_assemble_init(mmt_ctx* ctx, int64_t n) {
    if (n <= 0) return nullptr;
    uint8_t* buf = scratch_room(ctx, uint64_t(n) * 2);
    if (!buf) return nullptr;
    std::memset(buf + n, 0, size_t(n));
    ctx->scratch->used += uint32_t(n * 2);
    return buf;
}

void mmt_rt_assemble_put(uint8_t* buf, int64_t n, int64_t off, const uint8_t* p, int64_t len) {
    if (off < 0 || len <= 0 || off >= n) return;
    if (len > n - off) len = n - off;
    std::memcpy(buf + off, p, size_t(len));
    std::memset(buf + n + off, 1, size_t(len));
}

int64_t mmt_rt_assemble_end(const uint8_t* buf, int64_t n) {
    int64_t k = 0;
    while (k < n && buf[n + k]) ++k;
    return k;
}

int64_t mmt_rt_trim(const uint8_t* p, int64_t n, int64_t* start) {
    int64_t s = 0, e = n;
    while (s < e && (p[s] == ' ' || p[s] == '\t')) ++s;
    while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t')) --e;
    *start = s;
    return e - s;
}

void mmt_rt_fail(mmt_parse_result* r, uint32_t code, int64_t offset) {
    r->status = code & 0xff;
    r->fail_reason = (code >> 8) & 0xff;
    r->fail_field = int32_t(code >> 16) - 1;
    r->fail_offset = uint32_t(offset);
}

void mmt_rt_short(mmt_parse_result* r, int64_t off, int64_t avail, const int32_t* runs, int32_t n,
                  int32_t status, int32_t reason) {
    int32_t k = 0;
    while (k + 1 < n && avail >= runs[2 * k]) ++k;
    r->status = uint32_t(status);
    r->fail_reason = uint32_t(reason);
    r->fail_field = runs[2 * k + 1];
    r->fail_offset = uint32_t(off + (k == 0 ? 0 : runs[2 * (k - 1)]));
}

const uint8_t* mmt_rt_scratch_append(mmt_ctx* ctx, const uint8_t* p, int64_t n) {
    if (!ctx->scratch) return nullptr;
    mmt_scratch& s = *ctx->scratch;
    if (n < 0 || uint64_t(s.used) + uint64_t(n) > s.cap) return nullptr;
    uint8_t* dst = s.base + s.used;
    // Most pieces are a separator or a few digits: copied here rather than by a call.
    if (n >= 8 && n <= 16) {
        std::memcpy(dst, p, 8);
        std::memcpy(dst + n - 8, p + n - 8, 8);
    } else if (n < 8) {
        for (int64_t i = 0; i < n; ++i) dst[i] = p[i];
    } else {
        std::memcpy(dst, p, size_t(n));
    }
    s.used += uint32_t(n);
    return dst;
}

const uint8_t* mmt_rt_scratch_mark(mmt_ctx* ctx) {
    return ctx->scratch ? ctx->scratch->base + ctx->scratch->used : nullptr;
}

void* mmt_rt_memo(mmt_ctx* ctx, int64_t bytes) {
    if (ctx->memo) return ctx->memo;
    mmt_scratch* s = ctx->scratch;
    if (!s || bytes <= 0 || uint64_t(bytes) > s->cap - s->used) return nullptr;
    // 8-byte aligned below the top: the values it holds have pointers.
    const uint32_t pad = uint32_t(uintptr_t(s->base + s->cap - bytes) & 7u);
    if (uint64_t(bytes) + pad > s->cap - s->used) return nullptr;
    s->cap -= uint32_t(bytes) + pad;
    uint8_t* m = s->base + s->cap;
    std::memset(m, 0, size_t(bytes));
    ctx->memo = m;
    return m;
}
}
