// Value formatting and escaping for mmtrun's outputs.
#include "output/format.h"

#include <charconv>
#include <cstring>

namespace mmt {

char* write_decimal(char* p, uint64_t v) {
    return std::to_chars(p, p + 20, v).ptr;
}

char* write_seconds(char* p, uint64_t ns) {
    p = write_decimal(p, ns / 1000000000u);
    *p++ = '.';
    // The nine digits of the fraction two at a time (a flow record has three times).
    static constexpr char kPairs[] = "00010203040506070809101112131415161718192021222324"
                                     "25262728293031323334353637383940414243444546474849"
                                     "50515253545556575859606162636465666768697071727374"
                                     "75767778798081828384858687888990919293949596979899";
    uint32_t f = uint32_t(ns % 1000000000u);
    for (int i = 7; i >= 1; i -= 2, f /= 100) std::memcpy(p + i, kPairs + 2 * (f % 100), 2);
    p[0] = char('0' + f);
    return p + 9;
}

void append_decimal(std::string& out, uint64_t v) {
    char buf[20];
    out.append(buf, size_t(write_decimal(buf, v) - buf));
}

void append_seconds(std::string& out, uint64_t ns) {
    char buf[30];
    out.append(buf, size_t(write_seconds(buf, ns) - buf));
}

namespace {

constexpr char kHex[] = "0123456789abcdef";

/// The decimal text of every byte value, each in four bytes (the last ones unused), and
/// its length.
struct ByteDecimals {
    char text[256][4];
    uint8_t len[256];
};

constexpr ByteDecimals make_byte_decimals() {
    ByteDecimals d{};
    for (unsigned v = 0; v < 256; ++v) {
        uint8_t n = 0;
        if (v >= 100) d.text[v][n++] = char('0' + v / 100);
        if (v >= 10) d.text[v][n++] = char('0' + v / 10 % 10);
        d.text[v][n++] = char('0' + v % 10);
        d.len[v] = n;
    }
    return d;
}

constexpr ByteDecimals kByteDecimals = make_byte_decimals();

/// Writes the dotted decimal form of `a[0..4)` at `p`; returns the end. Writes up to 3
/// bytes past the end: `p` needs room for 18.
char* write_ipv4(char* p, const uint8_t* a) {
    for (int i = 0; i < 4; ++i) {
        if (i) *p++ = '.';
        std::memcpy(p, kByteDecimals.text[a[i]], 4);
        p += kByteDecimals.len[a[i]];
    }
    return p;
}

void append_ipv4(std::string& out, const uint8_t* a) {
    char buf[18];
    out.append(buf, size_t(write_ipv4(buf, a) - buf));
}

/// RFC 5952 text, as inet_ntop writes it: groups in lowercase hex without leading zeros,
/// the longest run of two or more zero groups (the first of equals) as "::", and the
/// last 32 bits dotted after 96 zero bits or ::ffff:.
void append_ipv6(std::string& out, const uint8_t* a) {
    uint16_t w[8];
    for (int i = 0; i < 8; ++i) w[i] = uint16_t(a[2 * i] << 8 | a[2 * i + 1]);
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (w[i]) {
            ++i;
            continue;
        }
        int j = i;
        while (j < 8 && !w[j]) ++j;
        if (j - i > best_len) best = i, best_len = j - i;
        i = j;
    }
    if (best_len < 2) best = -1;
    char buf[48];
    char* p = buf;
    for (int i = 0; i < 8; ++i) {
        if (best >= 0 && i >= best && i < best + best_len) {
            if (i == best) *p++ = ':';
            continue;
        }
        if (i) *p++ = ':';
        if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
            p = write_ipv4(p, a + 12);
            out.append(buf, size_t(p - buf));
            return;
        }
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            unsigned d = (w[i] >> shift) & 15;
            if (d || started || shift == 0) {
                *p++ = kHex[d];
                started = true;
            }
        }
    }
    if (best >= 0 && best + best_len == 8) *p++ = ':';
    out.append(buf, size_t(p - buf));
}

/// Length of a valid UTF-8 sequence starting at p[0], or 0.
size_t utf8_length(const uint8_t* p, size_t n) {
    uint8_t c = p[0];
    size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
    if (c >= 0xf5) return 0;
    if (len == 0 || len > n) return 0;
    for (size_t i = 1; i < len; ++i)
        if ((p[i] & 0xc0) != 0x80) return 0;
    return len;
}

void append_text(std::string& out, const uint8_t* p, size_t n) {
    auto plain = [](uint8_t c) { return c >= 0x20 && c < 0x7f && c != '\\'; };
    for (size_t i = 0; i < n; ++i) {
        uint8_t c = p[i];
        if (plain(c)) {
            // The run of printable characters that starts here, at once.
            size_t end = i + 1;
            while (end < n && plain(p[end])) ++end;
            out.append(reinterpret_cast<const char*>(p + i), end - i);
            i = end - 1;
        } else if (c == '\\') {
            out += "\\\\";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (size_t u = c >= 0x80 ? utf8_length(p + i, n - i) : 0) {
            out.append(reinterpret_cast<const char*>(p + i), u);
            i += u - 1;
        } else {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
}

} // namespace

void append_value(std::string& out, const mmt_value& v, uint32_t hex_digits) {
    switch (v.type) {
    case MMT_T_UINT:
        if (hex_digits == 0) {
            append_decimal(out, v.u);
            break;
        }
        out += "0x";
        for (unsigned i = 16; i-- > 0;)
            if (i < hex_digits || v.u >> (4 * i) != 0) out += kHex[(v.u >> (4 * i)) & 15];
        break;
    case MMT_T_BOOL:
        out += v.u ? '1' : '0';
        break;
    case MMT_T_STRING:
        append_text(out, v.ptr, v.len);
        break;
    case MMT_T_BYTES:
        // Bytes print as hex pairs separated by colons, as tshark prints byte fields.
        for (uint32_t i = 0; i < v.len; ++i) {
            if (i) out += ':';
            out += kHex[v.ptr[i] >> 4];
            out += kHex[v.ptr[i] & 15];
        }
        break;
    case MMT_T_MAC:
        for (uint32_t i = 0; i < 6 && i < v.len; ++i) {
            if (i) out += ':';
            out += kHex[v.ptr[i] >> 4];
            out += kHex[v.ptr[i] & 15];
        }
        break;
    case MMT_T_IPV4:
        if (v.len >= 4) append_ipv4(out, v.ptr);
        break;
    case MMT_T_IPV6:
        if (v.len >= 16) append_ipv6(out, v.ptr);
        break;
    default:
        break;
    }
}

std::string format_value(const mmt_value& v, uint32_t hex_digits) {
    std::string s;
    append_value(s, v, hex_digits);
    return s;
}

void append_csv(std::string& out, std::string_view cell) {
    // One pass over the cell (find_first_of looks each character up in the set with a
    // call of its own).
    bool plain = true;
    for (char c : cell)
        if (c == ',' || c == '"' || c == '\r' || c == '\n') {
            plain = false;
            break;
        }
    if (plain) {
        out += cell;
        return;
    }
    out += '"';
    for (char c : cell) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

void append_json(std::string& out, std::string_view s) {
    out += '"';
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    for (size_t i = 0; i < s.size(); ++i) {
        uint8_t c = p[i];
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c >= 0x20 && c < 0x7f) {
                out += char(c);
            } else if (size_t u = c >= 0x80 ? utf8_length(p + i, s.size() - i) : 0) {
                out.append(s.data() + i, u);
                i += u - 1;
            } else {
                // A control character, DEL, or a byte that does not start valid UTF-8.
                out += "\\u00";
                out += kHex[c >> 4];
                out += kHex[c & 15];
            }
        }
    }
    out += '"';
}

void append_json_value(std::string& out, const mmt_value& v) {
    switch (v.type) {
    case MMT_T_UINT:
    case MMT_T_BOOL:
        append_decimal(out, v.u);
        break;
    case MMT_T_STRING:
        append_json(out, std::string_view(reinterpret_cast<const char*>(v.ptr), v.len));
        break;
    default:
        // Addresses and hex pairs: nothing to escape.
        out += '"';
        append_value(out, v);
        out += '"';
        break;
    }
}

} // namespace mmt
