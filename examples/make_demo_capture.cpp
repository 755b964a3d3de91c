// Writes the bundled example capture: a small, fully synthetic trace with DNS, HTTP,
// TLS, ICMP, VLAN and IPv6 traffic, built packet by packet (no third-party capture).
#include "packet_builder.h"
#include "pcap_writer.h"

#include <cstdio>
#include <string>

using mmt::test::Bytes;
using mmt::test::PacketBuilder;
using mmt::test::PcapWriter;

namespace {

void put16(Bytes& b, uint16_t v) {
    b.push_back(uint8_t(v >> 8));
    b.push_back(uint8_t(v));
}

void putName(Bytes& b, const std::string& name) {
    size_t start = 0;
    while (start <= name.size()) {
        size_t dot = name.find('.', start);
        if (dot == std::string::npos) dot = name.size();
        b.push_back(uint8_t(dot - start));
        b.insert(b.end(), name.begin() + long(start), name.begin() + long(dot));
        start = dot + 1;
    }
    b.push_back(0);
}

/// A DNS query for `name` (type A), or its answer with `address` (4 bytes).
Bytes dnsMessage(uint16_t id, const std::string& name, const Bytes* address) {
    Bytes b;
    put16(b, id);
    put16(b, address ? 0x8180 : 0x0100); // response + recursion, or a recursive query
    put16(b, 1);                         // questions
    put16(b, address ? 1 : 0);           // answers
    put16(b, 0);
    put16(b, 0);
    putName(b, name);
    put16(b, 1); // A
    put16(b, 1); // IN
    if (address) {
        put16(b, 0xc00c); // pointer to the question's name
        put16(b, 1);
        put16(b, 1);
        b.insert(b.end(), {0, 0, 0x0e, 0x10}); // TTL 3600
        put16(b, 4);
        b.insert(b.end(), address->begin(), address->end());
    }
    return b;
}

/// A TLS 1.2 record holding a ClientHello with the server_name extension.
Bytes clientHello(const std::string& host) {
    Bytes sni;
    put16(sni, uint16_t(host.size() + 3)); // server name list length
    sni.push_back(0);                      // host_name
    put16(sni, uint16_t(host.size()));
    sni.insert(sni.end(), host.begin(), host.end());
    Bytes ext;
    put16(ext, 0); // server_name
    put16(ext, uint16_t(sni.size()));
    ext.insert(ext.end(), sni.begin(), sni.end());
    Bytes hello;
    put16(hello, 0x0303);
    hello.insert(hello.end(), 32, 0x5a); // random
    hello.push_back(0);                  // no session id
    put16(hello, 2);
    put16(hello, 0xc02f); // one cipher suite
    hello.push_back(1);
    hello.push_back(0); // null compression
    put16(hello, uint16_t(ext.size()));
    hello.insert(hello.end(), ext.begin(), ext.end());
    Bytes hs = {1, 0, uint8_t(hello.size() >> 8), uint8_t(hello.size())};
    hs.insert(hs.end(), hello.begin(), hello.end());
    Bytes rec = {22, 3, 1};
    put16(rec, uint16_t(hs.size()));
    rec.insert(rec.end(), hs.begin(), hs.end());
    return rec;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_demo_capture OUTPUT.pcap\n");
        return 2;
    }
    PcapWriter w;
    uint64_t t = 1700000000;
    uint32_t ns = 0;
    auto add = [&](const Bytes& p) {
        w.packet(t, ns, p);
        ns += 1500000; // 1.5 ms apart
    };
    const std::string client = "192.168.1.10", resolver = "192.168.1.1", server = "93.184.216.34";
    const std::string cmac = "02:00:00:00:00:0a", rmac = "02:00:00:00:00:01";

    // DNS lookup.
    Bytes addr = {93, 184, 216, 34};
    add(PacketBuilder().eth(cmac, rmac).ipv4(client, resolver).udp(53000, 53).payload(dnsMessage(0x1234, "www.example.com", nullptr)).build());
    add(PacketBuilder().eth(rmac, cmac).ipv4(resolver, client).udp(53, 53000).payload(dnsMessage(0x1234, "www.example.com", &addr)).build());

    // HTTP over TCP: handshake, request, response, close.
    uint32_t cs = 1000, ss = 5000;
    using namespace mmt::test;
    add(PacketBuilder().eth(cmac, rmac).ipv4(client, server).tcp(50000, 80).seq(cs).flags(SYN).build());
    add(PacketBuilder().eth(rmac, cmac).ipv4(server, client).tcp(80, 50000).seq(ss).ack(cs + 1).flags(SYN | ACK).build());
    add(PacketBuilder().eth(cmac, rmac).ipv4(client, server).tcp(50000, 80).seq(cs + 1).ack(ss + 1).flags(ACK).build());
    std::string req = "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: mmt-demo/1.0\r\nAccept: */*\r\n\r\n";
    add(PacketBuilder().eth(cmac, rmac).ipv4(client, server).tcp(50000, 80).seq(cs + 1).ack(ss + 1).flags(PSH | ACK).payload(req).build());
    std::string resp = "HTTP/1.1 200 OK\r\nServer: demo\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nhello, world\n";
    add(PacketBuilder().eth(rmac, cmac).ipv4(server, client).tcp(80, 50000).seq(ss + 1).ack(cs + 1 + uint32_t(req.size())).flags(PSH | ACK).payload(resp).build());
    uint32_t cEnd = cs + 1 + uint32_t(req.size()), sEnd = ss + 1 + uint32_t(resp.size());
    add(PacketBuilder().eth(cmac, rmac).ipv4(client, server).tcp(50000, 80).seq(cEnd).ack(sEnd).flags(FIN | ACK).build());
    add(PacketBuilder().eth(rmac, cmac).ipv4(server, client).tcp(80, 50000).seq(sEnd).ack(cEnd + 1).flags(FIN | ACK).build());
    add(PacketBuilder().eth(cmac, rmac).ipv4(client, server).tcp(50000, 80).seq(cEnd + 1).ack(sEnd + 1).flags(ACK).build());

    // A TLS ClientHello over IPv6.
    const std::string c6 = "2001:db8::10", s6 = "2001:db8:1::443";
    add(PacketBuilder().eth(cmac, rmac).ipv6(c6, s6).tcp(50001, 443).seq(7000).flags(SYN).build());
    add(PacketBuilder().eth(rmac, cmac).ipv6(s6, c6).tcp(443, 50001).seq(9000).ack(7001).flags(SYN | ACK).build());
    add(PacketBuilder().eth(cmac, rmac).ipv6(c6, s6).tcp(50001, 443).seq(7001).ack(9001).flags(ACK).build());
    add(PacketBuilder().eth(cmac, rmac).ipv6(c6, s6).tcp(50001, 443).seq(7001).ack(9001).flags(PSH | ACK).payload(clientHello("example.org")).build());

    // Ping, and a tagged UDP datagram on VLAN 42.
    add(PacketBuilder().eth(cmac, rmac).ipv4(client, server).icmp(8, 0, 0x00010001).payload("ping").build());
    add(PacketBuilder().eth(rmac, cmac).ipv4(server, client).icmp(0, 0, 0x00010001).payload("ping").build());
    add(PacketBuilder().eth(cmac, rmac).vlan(42).ipv4("10.42.0.5", "10.42.0.1").udp(40000, 5353)
            .payload(dnsMessage(0, "printer.local", nullptr)).build());

    if (!w.write(argv[1])) {
        std::fprintf(stderr, "make_demo_capture: cannot write %s\n", argv[1]);
        return 1;
    }
    return 0;
}
