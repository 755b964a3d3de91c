// Writes the journey benchmark's input: a synthetic Ethernet capture with a realistic
// mix of flows (DNS, HTTP, TLS handshakes and data, bulk TCP, UDP), reproducible from
// a seed. Usage: make_bench_capture OUTPUT.pcap [PACKETS] [FLOWS]
#include "packet_builder.h"
#include "payloads.h"
#include "pcap_writer.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

using mmt::test::Bytes;
using mmt::test::PacketBuilder;
using mmt::test::PcapWriter;
using namespace mmt::test;

namespace {

std::string ip(uint32_t v) {
    return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 255) + "." +
           std::to_string((v >> 8) & 255) + "." + std::to_string(v & 255);
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: make_bench_capture OUTPUT.pcap [PACKETS] [FLOWS]\n");
        return 2;
    }
    const size_t packets = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 200000;
    const size_t flows = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 16000;
    std::mt19937 rng(42);
    PcapWriter w;
    uint64_t sec = 1700000000;
    uint32_t nsec = 0;
    auto add = [&](const Bytes& p) {
        w.packet(sec, nsec, p);
        nsec += 50000; // 20k packets per second
        if (nsec >= 1000000000) {
            nsec -= 1000000000;
            ++sec;
        }
    };
    std::string payload(1400, 'd');
    size_t written = 0;
    // Flows are started in rounds; each round picks a kind and emits its packets.
    for (size_t f = 0; written < packets; ++f) {
        uint32_t client = 0x0a000000u + uint32_t(f % flows) + 1;
        uint32_t server = 0xc0a80000u + uint32_t(rng() % 512) + 1;
        uint16_t sport = uint16_t(1024 + (f * 7919) % 60000);
        std::string c = ip(client), s = ip(server);
        switch (rng() % 4) {
        case 0: { // DNS query and answer
            Bytes q = dns_message(uint16_t(f), "host" + std::to_string(f % 997) + ".example.com");
            add(PacketBuilder().eth().ipv4(c, s).udp(sport, 53).payload(q).build());
            add(PacketBuilder().eth().ipv4(s, c).udp(53, sport).payload(q).build());
            written += 2;
            break;
        }
        case 1:   // HTTP: handshake, request, response in several segments, close
        case 2: { // TLS: handshake, ClientHello, data
            bool tls = rng() % 2;
            uint16_t dport = tls ? 443 : 80;
            uint32_t cs = rng(), ss = rng();
            for (const Bytes& p :
                 tcp_handshake(PacketBuilder().eth().ipv4(c, s), PacketBuilder().eth().ipv4(s, c),
                               sport, dport, cs, ss))
                add(p);
            std::string req = tls ? ""
                                  : "GET /obj" + std::to_string(f) + " HTTP/1.1\r\nHost: site" +
                                        std::to_string(f % 311) +
                                        ".example\r\nUser-Agent: bench\r\n\r\n";
            Bytes first = tls ? tls_client_hello("site" + std::to_string(f % 311) + ".example")
                              : to_bytes(req);
            add(PacketBuilder()
                    .eth()
                    .ipv4(c, s)
                    .tcp(sport, dport)
                    .seq(cs + 1)
                    .ack(ss + 1)
                    .flags(PSH | ACK)
                    .payload(first)
                    .build());
            // The response: an HTTP head announcing the body's length, or TLS application-data
            // records, then the rest of the body in full segments.
            uint32_t seq = ss + 1;
            int segments = 2 + int(rng() % 8);
            size_t body = size_t(segments) * payload.size();
            Bytes stream;
            if (tls) {
                for (size_t left = body; left > 0;) {
                    size_t n = std::min<size_t>(left, 16000);
                    stream.insert(stream.end(), {23, 3, 3, uint8_t(n >> 8), uint8_t(n)});
                    stream.insert(stream.end(), n, 'e');
                    left -= n;
                }
            } else {
                std::string head =
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                    std::to_string(body) + "\r\n\r\n";
                stream = to_bytes(head);
                stream.insert(stream.end(), body, 'd');
            }
            for (size_t off = 0; off < stream.size(); off += payload.size()) {
                Bytes chunk(stream.begin() + long(off),
                            stream.begin() + long(std::min(stream.size(), off + payload.size())));
                add(PacketBuilder()
                        .eth()
                        .ipv4(s, c)
                        .tcp(dport, sport)
                        .seq(seq)
                        .ack(cs + 1 + uint32_t(first.size()))
                        .flags(ACK)
                        .payload(chunk)
                        .build());
                seq += uint32_t(chunk.size());
                ++written;
            }
            add(PacketBuilder()
                    .eth()
                    .ipv4(c, s)
                    .tcp(sport, dport)
                    .seq(cs + 1 + uint32_t(first.size()))
                    .ack(seq)
                    .flags(FIN | ACK)
                    .build());
            written += 5;
            break;
        }
        default: { // UDP datagrams of some application nobody names
            int n = 1 + int(rng() % 6);
            for (int i = 0; i < n; ++i)
                add(PacketBuilder()
                        .eth()
                        .ipv4(c, s)
                        .udp(sport, uint16_t(20000 + f % 1000))
                        .payload(payload.substr(0, 200))
                        .build());
            written += size_t(n);
        }
        }
    }
    if (!w.write(argv[1])) {
        std::fprintf(stderr, "make_bench_capture: cannot write %s\n", argv[1]);
        return 1;
    }
    std::fprintf(stderr, "wrote %zu packets to %s\n", written, argv[1]);
    return 0;
}
