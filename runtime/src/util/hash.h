// Fast 64-bit hash of short byte strings (session and fragment keys).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mmt {

namespace hash_detail {

__extension__ typedef unsigned __int128 u128;

// Odd constants with well-spread bits (splitmix64's and the golden ratio).
inline constexpr uint64_t k0 = 0x9e3779b97f4a7c15ull;
inline constexpr uint64_t k1 = 0xbf58476d1ce4e5b9ull;
inline constexpr uint64_t k2 = 0x94d049bb133111ebull;

/// Full 64x64->128 multiply folded to 64 bits: every input bit reaches every output bit.
inline uint64_t fold_mul(uint64_t a, uint64_t b) {
    u128 r = static_cast<u128>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t load64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

inline uint64_t load32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

} // namespace hash_detail

/// Hashes `len` bytes at `data` with `seed`. Host byte order: values are stable within a
/// process, not across machines of different endianness (never stored or sent).
inline uint64_t hash_bytes(const void* data, size_t len, uint64_t seed = 0) {
    using namespace hash_detail;
    const auto* p = static_cast<const uint8_t*>(data);
    uint64_t h = fold_mul(seed ^ k0, k1 ^ static_cast<uint64_t>(len));
    size_t n = len;
    while (n > 16) {
        h = fold_mul(load64(p) ^ k1, load64(p + 8) ^ h);
        p += 16;
        n -= 16;
    }
    uint64_t a = 0, b = 0;
    // Overlapping loads cover 1..16 tail bytes without a byte loop or an out-of-bounds read.
    if (n >= 8) {
        a = load64(p);
        b = load64(p + n - 8);
    } else if (n >= 4) {
        a = (load32(p) << 32) | load32(p + n - 4);
    } else if (n > 0) {
        a = (static_cast<uint64_t>(p[0]) << 16) | (static_cast<uint64_t>(p[n / 2]) << 8) | p[n - 1];
    }
    h = fold_mul(a ^ k2 ^ static_cast<uint64_t>(n), b ^ h);
    return fold_mul(h ^ k0, k2 ^ (h >> 29));
}

/// FNV-1a of `n` bytes, continuing from `h` (0xcbf29ce484222325 to start): slow, but its
/// values never change, for digests that are stored (the machine's identity, cache keys).
inline uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

} // namespace mmt
