// Writes the bundled example capture: a small, fully synthetic trace with DNS, HTTP,
// TLS, ICMP, VLAN and IPv6 traffic, built packet by packet (no third-party capture).
#include "packet_builder.h"
#include "payloads.h"
#include "pcap_writer.h"

#include <cstdio>
#include <string>

using mmt::test::Bytes;
using mmt::test::PacketBuilder;
using mmt::test::PcapWriter;

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
    add(PacketBuilder()
            .eth(cmac, rmac)
            .ipv4(client, resolver)
            .udp(53000, 53)
            .payload(mmt::test::dns_message(0x1234, "www.example.com", nullptr))
            .build());
    add(PacketBuilder()
            .eth(rmac, cmac)
            .ipv4(resolver, client)
            .udp(53, 53000)
            .payload(mmt::test::dns_message(0x1234, "www.example.com", &addr))
            .build());

    // HTTP over TCP: handshake, request, response, close.
    uint32_t cs = 1000, ss = 5000;
    using namespace mmt::test;
    for (const Bytes& p :
         tcp_handshake(PacketBuilder().eth(cmac, rmac).ipv4(client, server),
                       PacketBuilder().eth(rmac, cmac).ipv4(server, client), 50000, 80, cs, ss))
        add(p);
    std::string req = "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: "
                      "mmt-demo/1.0\r\nAccept: */*\r\n\r\n";
    add(PacketBuilder()
            .eth(cmac, rmac)
            .ipv4(client, server)
            .tcp(50000, 80)
            .seq(cs + 1)
            .ack(ss + 1)
            .flags(PSH | ACK)
            .payload(req)
            .build());
    std::string resp = "HTTP/1.1 200 OK\r\nServer: demo\r\nContent-Type: "
                       "text/plain\r\nContent-Length: 13\r\n\r\nhello, world\n";
    add(PacketBuilder()
            .eth(rmac, cmac)
            .ipv4(server, client)
            .tcp(80, 50000)
            .seq(ss + 1)
            .ack(cs + 1 + uint32_t(req.size()))
            .flags(PSH | ACK)
            .payload(resp)
            .build());
    uint32_t cEnd = cs + 1 + uint32_t(req.size()), sEnd = ss + 1 + uint32_t(resp.size());
    add(PacketBuilder()
            .eth(cmac, rmac)
            .ipv4(client, server)
            .tcp(50000, 80)
            .seq(cEnd)
            .ack(sEnd)
            .flags(FIN | ACK)
            .build());
    add(PacketBuilder()
            .eth(rmac, cmac)
            .ipv4(server, client)
            .tcp(80, 50000)
            .seq(sEnd)
            .ack(cEnd + 1)
            .flags(FIN | ACK)
            .build());
    add(PacketBuilder()
            .eth(cmac, rmac)
            .ipv4(client, server)
            .tcp(50000, 80)
            .seq(cEnd + 1)
            .ack(sEnd + 1)
            .flags(ACK)
            .build());

    // A TLS ClientHello over IPv6.
    const std::string c6 = "2001:db8::10", s6 = "2001:db8:1::443";
    for (const Bytes& p :
         tcp_handshake(PacketBuilder().eth(cmac, rmac).ipv6(c6, s6),
                       PacketBuilder().eth(rmac, cmac).ipv6(s6, c6), 50001, 443, 7000, 9000))
        add(p);
    add(PacketBuilder()
            .eth(cmac, rmac)
            .ipv6(c6, s6)
            .tcp(50001, 443)
            .seq(7001)
            .ack(9001)
            .flags(PSH | ACK)
            .payload(mmt::test::tls_client_hello("example.org"))
            .build());

    // Ping, and a tagged UDP datagram on VLAN 42.
    add(PacketBuilder()
            .eth(cmac, rmac)
            .ipv4(client, server)
            .icmp(8, 0, 0x00010001)
            .payload("ping")
            .build());
    add(PacketBuilder()
            .eth(rmac, cmac)
            .ipv4(server, client)
            .icmp(0, 0, 0x00010001)
            .payload("ping")
            .build());
    add(PacketBuilder()
            .eth(cmac, rmac)
            .vlan(42)
            .ipv4("10.42.0.5", "10.42.0.1")
            .udp(40000, 5353)
            .payload(mmt::test::dns_message(0, "printer.local", nullptr))
            .build());

    if (!w.write(argv[1])) {
        std::fprintf(stderr, "make_demo_capture: cannot write %s\n", argv[1]);
        return 1;
    }
    return 0;
}
