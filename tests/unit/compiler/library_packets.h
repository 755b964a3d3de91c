// Hand-built packets for the built-in protocol library: Ethernet/IPv4/TCP/HTTP,
// Ethernet/IPv6/UDP/DNS and Ethernet/VLAN/IPv4/ICMP. Shared by the library tests, the
// property test and the fuzz targets (which use them as seeds).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mmtc::test::packets {

using Bytes = std::vector<uint8_t>;

inline void put16(Bytes& b, uint16_t v) {
    b.push_back(uint8_t(v >> 8));
    b.push_back(uint8_t(v));
}
inline void put32(Bytes& b, uint32_t v) {
    put16(b, uint16_t(v >> 16));
    put16(b, uint16_t(v));
}
inline void append(Bytes& b, const Bytes& more) {
    b.insert(b.end(), more.begin(), more.end());
}
inline void append(Bytes& b, const std::string& more) {
    b.insert(b.end(), more.begin(), more.end());
}

/// The Internet checksum of `b` (RFC 1071).
inline uint16_t checksum(const Bytes& b, size_t from = 0, size_t to = SIZE_MAX) {
    uint32_t sum = 0;
    to = std::min(to, b.size());
    for (size_t i = from; i < to; i += 2) sum += uint32_t(b[i] << 8) | (i + 1 < to ? b[i + 1] : 0);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return uint16_t(~sum);
}

inline Bytes ethernet(uint16_t ethertype) {
    Bytes b = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
    put16(b, ethertype);
    return b;
}

inline Bytes ipv4(uint8_t proto, const Bytes& payload, uint8_t srcLast = 1, uint8_t a = 10,
                  uint8_t b8 = 0) {
    Bytes b = {0x45, 0x00};
    put16(b, uint16_t(20 + payload.size()));
    put16(b, 0x4d2);  // identification
    put16(b, 0x4000); // don't fragment
    b.push_back(64);
    b.push_back(proto);
    put16(b, 0);
    Bytes addrs = {a, b8, 0, srcLast, a, b8, 0, uint8_t(srcLast + 1)};
    append(b, addrs);
    uint16_t c = checksum(b);
    b[10] = uint8_t(c >> 8);
    b[11] = uint8_t(c);
    append(b, payload);
    return b;
}

inline Bytes ipv6(uint8_t next, const Bytes& payload) {
    Bytes b = {0x60, 0x00, 0x00, 0x00};
    put16(b, uint16_t(payload.size()));
    b.push_back(next);
    b.push_back(64);
    Bytes src = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    Bytes dst = src;
    dst[15] = 2;
    append(b, src);
    append(b, dst);
    append(b, payload);
    return b;
}

inline Bytes tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags,
                 const Bytes& payload) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put32(b, seq);
    put32(b, 1); // ack
    b.push_back(0x50);
    b.push_back(flags);
    put16(b, 65535);
    put16(b, 0); // checksum (not verified by anyone)
    put16(b, 0);
    append(b, payload);
    return b;
}

inline Bytes udp(uint16_t sport, uint16_t dport, const Bytes& payload) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put16(b, uint16_t(8 + payload.size()));
    put16(b, 0);
    append(b, payload);
    return b;
}

inline Bytes dnsName(const std::vector<std::string>& labels) {
    Bytes b;
    for (const auto& l : labels) {
        b.push_back(uint8_t(l.size()));
        append(b, l);
    }
    b.push_back(0);
    return b;
}

/// A standard query for www.example.com, type A, class IN.
inline Bytes dnsQuery() {
    Bytes b;
    put16(b, 0x1234);
    put16(b, 0x0100); // recursion desired
    put16(b, 1);
    put16(b, 0);
    put16(b, 0);
    put16(b, 0);
    append(b, dnsName({"www", "example", "com"}));
    put16(b, 1);
    put16(b, 1);
    return b;
}

/// A response to it with one answer, the name compressed to the question's.
inline Bytes dnsResponse() {
    Bytes b = dnsQuery();
    b[2] = 0x81;
    b[3] = 0x80;
    b[7] = 1; // ancount
    Bytes rr = {0xc0, 0x0c};
    put16(rr, 1);
    put16(rr, 1);
    put32(rr, 300);
    put16(rr, 4);
    append(rr, Bytes{93, 184, 216, 34});
    append(b, rr);
    return b;
}

inline const std::string& httpRequest() {
    static const std::string s =
        "GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: mmt-test/1.0\r\n"
        "Accept: */*\r\n\r\n";
    return s;
}

inline const Bytes& ethIpv4TcpHttp() {
    static const Bytes p = [] {
        Bytes b = ethernet(0x0800);
        append(b, ipv4(6, tcp(40000, 80, 1000, 0x18,
                              Bytes(httpRequest().begin(), httpRequest().end()))));
        return b;
    }();
    return p;
}

inline const Bytes& ethIpv6UdpDns() {
    static const Bytes p = [] {
        Bytes b = ethernet(0x86dd);
        append(b, ipv6(17, udp(40000, 53, dnsQuery())));
        return b;
    }();
    return p;
}

inline const Bytes& ethVlanIpv4Icmp() {
    static const Bytes p = [] {
        Bytes b = ethernet(0x8100);
        put16(b, uint16_t((3 << 13) | 100)); // pcp 3, vlan 100
        put16(b, 0x0800);
        Bytes icmp = {8, 0, 0, 0};
        put16(icmp, 7);
        put16(icmp, 9);
        append(icmp, std::string("abcdefgh"));
        uint16_t c = checksum(icmp);
        icmp[2] = uint8_t(c >> 8);
        icmp[3] = uint8_t(c);
        append(b, ipv4(1, icmp, 1, 192, 168));
        return b;
    }();
    return p;
}

/// More seeds for the property test and the fuzzers: other shapes the library knows.
inline std::vector<Bytes> extraSeeds() {
    std::vector<Bytes> out;
    Bytes resp = ethernet(0x0800);
    append(resp, ipv4(17, udp(53, 40000, dnsResponse())));
    out.push_back(resp);
    Bytes syn = ethernet(0x0800);
    append(syn, ipv4(6, tcp(40001, 443, 7, 0x02, {})));
    out.push_back(syn);
    Bytes tls = ethernet(0x0800);
    Bytes hello = {0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03};
    hello.resize(hello.size() + 32, 0x11); // random
    append(hello, Bytes{0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00, 0x00, 0x00});
    append(tls, ipv4(6, tcp(40002, 443, 9, 0x18, hello)));
    out.push_back(tls);
    Bytes reply = ethernet(0x0800);
    append(reply, ipv4(6, tcp(80, 40000, 5000, 0x18,
                              Bytes{'H', 'T', 'T', 'P', '/', '1',  '.',  '1',  ' ',  '2',
                                    '0', '0', ' ', 'O', 'K', '\r', '\n', 'S',  'e',  'r',
                                    'v', 'e', 'r', ':', ' ', 'x',  '\r', '\n', '\r', '\n'})));
    out.push_back(reply);
    Bytes frag = ethernet(0x0800);
    Bytes f = ipv4(17, udp(1, 2, Bytes(16, 0xaa)));
    f[6] = 0x20; // more fragments
    append(frag, f);
    out.push_back(frag);
    // PPPoE: a discovery packet with tags, and a session packet carrying PPP and IPv4.
    Bytes pado = ethernet(0x8863);
    append(pado, Bytes{0x11, 0x07, 0x00, 0x00, 0x00, 0x0b, 0x01, 0x02, 0x00, 0x03, 'a', 'c', '1',
                       0x01, 0x01, 0x00, 0x00});
    out.push_back(pado);
    Bytes inner = ipv4(17, udp(53, 40000, dnsResponse()));
    Bytes session = ethernet(0x8864);
    uint16_t n = uint16_t(inner.size() + 2);
    append(session, Bytes{0x11, 0x00, 0x12, 0x34, uint8_t(n >> 8), uint8_t(n), 0x00, 0x21});
    append(session, inner);
    out.push_back(session);
    return out;
}

} // namespace mmtc::test::packets
