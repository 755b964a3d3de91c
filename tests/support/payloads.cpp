// Fixture payloads of application protocols, built byte by byte from their RFCs.
#include "payloads.h"

namespace mmt::test {

namespace {

void put16(Bytes& b, size_t v) {
    b.push_back(uint8_t(v >> 8));
    b.push_back(uint8_t(v));
}

/// A name as labels (RFC 1035 section 3.1), ending with the empty label.
void putName(Bytes& b, std::string_view name) {
    size_t start = 0;
    while (start <= name.size()) {
        size_t dot = name.find('.', start);
        if (dot == std::string_view::npos) dot = name.size();
        b.push_back(uint8_t(dot - start));
        b.insert(b.end(), name.begin() + long(start), name.begin() + long(dot));
        start = dot + 1;
    }
    b.push_back(0);
}

} // namespace

Bytes dns_message(uint16_t id, std::string_view name, const Bytes* answer) {
    Bytes b;
    put16(b, id);
    put16(b, answer ? 0x8180 : 0x0100); // response with recursion, or a recursive query
    put16(b, 1);                        // questions
    put16(b, answer ? 1 : 0);           // answers
    put16(b, 0);
    put16(b, 0);
    putName(b, name);
    put16(b, 1); // A
    put16(b, 1); // IN
    if (answer) {
        put16(b, 0xc00c); // a pointer to the question's name
        put16(b, 1);
        put16(b, 1);
        b.insert(b.end(), {0, 0, 0x0e, 0x10}); // TTL 3600
        put16(b, answer->size());
        b.insert(b.end(), answer->begin(), answer->end());
    }
    return b;
}

Bytes tls_client_hello(std::string_view host) {
    Bytes sni;
    put16(sni, host.size() + 3); // server name list
    sni.push_back(0);            // host_name
    put16(sni, host.size());
    sni.insert(sni.end(), host.begin(), host.end());
    Bytes ext;
    put16(ext, 0); // server_name
    put16(ext, sni.size());
    ext.insert(ext.end(), sni.begin(), sni.end());
    Bytes hello;
    put16(hello, 0x0303);
    hello.insert(hello.end(), 32, 0x5a); // random
    hello.push_back(0);                  // no session id
    put16(hello, 2);
    put16(hello, 0xc02f); // one cipher suite
    hello.push_back(1);
    hello.push_back(0); // null compression
    put16(hello, ext.size());
    hello.insert(hello.end(), ext.begin(), ext.end());
    Bytes hs = {1, 0};
    put16(hs, hello.size());
    hs.insert(hs.end(), hello.begin(), hello.end());
    Bytes rec = {22, 3, 1};
    put16(rec, hs.size());
    rec.insert(rec.end(), hs.begin(), hs.end());
    return rec;
}

Bytes geneve_header(uint16_t ethertype, uint32_t vni, const Bytes& options) {
    return Bytes{uint8_t(options.size() / 4),
                 0x00,
                 uint8_t(ethertype >> 8),
                 uint8_t(ethertype),
                 uint8_t(vni >> 16),
                 uint8_t(vni >> 8),
                 uint8_t(vni),
                 0x00};
}

std::vector<Bytes> teredo_packets() {
    const char* client = "2001:0:4136:e378:8000:63bf:3fff:fdd2";
    Bytes bubble = PacketBuilder().ipv6(client, "2001:0:4136:e37e:0:fbaa:b97e:fe4e").build();
    bubble[6] = 59; // no next header
    Bytes inner = PacketBuilder()
                      .ipv6(client, "2001:db8::1")
                      .udp(1000, 53)
                      .payload(dns_message(5, "teredo.example"))
                      .build();
    Bytes origin = {0x00, 0x00, 0xed, 0xcb, 0x3f, 0xff, 0xfd, 0xfe}; // port 0x1234, obfuscated
    Bytes auth = {0x00, 0x01, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0x00};
    auto udp = [](const char* src, const char* dst, uint16_t sport, uint16_t dport,
                  const Bytes& payload) {
        return PacketBuilder().eth().ipv4(src, dst).udp(sport, dport).payload(payload).build();
    };
    return {udp("10.0.0.1", "10.0.0.2", 50000, 3544, bubble),
            udp("10.0.0.2", "10.0.0.1", 3544, 50000, join({origin, inner})),
            udp("10.0.0.2", "10.0.0.1", 3544, 50000, join({auth, origin, inner}))};
}

} // namespace mmt::test
