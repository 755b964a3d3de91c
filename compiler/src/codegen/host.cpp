// Host helpers called from generated code. Each is bounds-safe on its own inputs.
#include "codegen/host.h"

#include <cstring>

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
    if (n) std::memcpy(dst, p, size_t(n));
    s.used += uint32_t(n);
    return dst;
}

const uint8_t* mmt_rt_scratch_mark(mmt_ctx* ctx) {
    return ctx->scratch ? ctx->scratch->base + ctx->scratch->used : nullptr;
}
}

namespace mmtc::codegen {

const HostSymbol* hostSymbols(unsigned& count) {
    static const HostSymbol table[] = {
        {"mmt_rt_find", reinterpret_cast<void*>(&mmt_rt_find)},
        {"mmt_rt_icase_eq", reinterpret_cast<void*>(&mmt_rt_icase_eq)},
        {"mmt_rt_to_int", reinterpret_cast<void*>(&mmt_rt_to_int)},
        {"mmt_rt_trim", reinterpret_cast<void*>(&mmt_rt_trim)},
        {"mmt_rt_match_any", reinterpret_cast<void*>(&mmt_rt_match_any)},
        {"mmt_rt_domain_name", reinterpret_cast<void*>(&mmt_rt_domain_name)},
        {"mmt_rt_netbios_name", reinterpret_cast<void*>(&mmt_rt_netbios_name)},
        {"mmt_rt_chunked_length", reinterpret_cast<void*>(&mmt_rt_chunked_length)},
        {"mmt_rt_short", reinterpret_cast<void*>(&mmt_rt_short)},
        {"mmt_rt_fail", reinterpret_cast<void*>(&mmt_rt_fail)},
        {"mmt_rt_scratch_append", reinterpret_cast<void*>(&mmt_rt_scratch_append)},
        {"mmt_rt_scratch_mark", reinterpret_cast<void*>(&mmt_rt_scratch_mark)},
        {"memcmp", reinterpret_cast<void*>(&std::memcmp)},
        {"memcpy",
         reinterpret_cast<void*>(static_cast<void* (*)(void*, const void*, size_t)>(&std::memcpy))},
        {"memset",
         reinterpret_cast<void*>(static_cast<void* (*)(void*, int, size_t)>(&std::memset))},
    };
    count = sizeof(table) / sizeof(table[0]);
    return table;
}

} // namespace mmtc::codegen
