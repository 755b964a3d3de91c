// Captures for the per-protocol golden tests of protocols that no shared capture carries:
// `protocol_fixtures DIR` writes DIR/NAME.pcap for each fixture below, and a test's
// `source` file names one with `build NAME`.
#include "packet_builder.h"
#include "payloads.h"
#include "pcap_writer.h"

#include <cstdio>
#include <functional>
#include <map>
#include <string>

using namespace mmt::test;

namespace {

struct Fixture {
    uint32_t linktype;
    std::function<std::vector<Bytes>()> packets;
};

Bytes join(std::initializer_list<Bytes> parts) {
    size_t total = 0;
    for (const Bytes& p : parts) total += p.size();
    Bytes out;
    out.reserve(total); // GCC 12's -Warray-bounds misjudges inserts into an empty vector
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

Bytes udp(const char* src, const char* dst, uint16_t sport, uint16_t dport, const Bytes& payload) {
    return PacketBuilder().eth().ipv4(src, dst).udp(sport, dport).payload(payload).build();
}

/// Geneve (RFC 8926): a bridged Ethernet frame after 8 bytes of options, then routed IPv4.
std::vector<Bytes> geneve() {
    auto header = [](uint16_t ethertype, uint32_t vni, const Bytes& options) {
        return Bytes{uint8_t(options.size() / 4),
                     0x00,
                     uint8_t(ethertype >> 8),
                     uint8_t(ethertype),
                     uint8_t(vni >> 16),
                     uint8_t(vni >> 8),
                     uint8_t(vni),
                     0x00};
    };
    Bytes options = {0x01, 0x02, 0x80, 0x01, 1, 2, 3, 4};
    Bytes frame = PacketBuilder()
                      .eth("0a:00:00:00:00:01", "0a:00:00:00:00:02")
                      .ipv4("192.168.1.1", "192.168.1.2")
                      .udp(1111, 53)
                      .payload(dns_message(9, "inner.example"))
                      .build();
    Bytes routed = PacketBuilder().ipv4("172.16.0.1", "172.16.0.2").udp(3, 4).payload("x").build();
    return {udp("10.0.0.1", "10.0.0.2", 40000, 6081,
                join({header(0x6558, 0x123456, options), options, frame})),
            udp("10.0.0.2", "10.0.0.1", 6081, 40000, join({header(0x0800, 7, {}), routed}))};
}

/// Teredo (RFC 4380): a bubble, then IPv6 after the origin indication, then after both
/// the authentication and the origin indicators.
std::vector<Bytes> teredo() {
    const char* client = "2001:0:4136:e378:8000:63bf:3fff:fdd2";
    Bytes bubble = PacketBuilder().ipv6(client, "2001:0:4136:e37e:0:fbaa:b97e:fe4e").build();
    bubble[6] = 59; // no next header
    Bytes inner = PacketBuilder()
                      .ipv6(client, "2001:db8::1")
                      .udp(1000, 53)
                      .payload(dns_message(5, "teredo.example"))
                      .build();
    Bytes origin = {0x00, 0x00, 0xed, 0xcb, 0x3f, 0xff, 0xfd, 0xfe};
    Bytes auth = {0x00, 0x01, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0x00};
    return {udp("10.0.0.1", "10.0.0.2", 50000, 3544, bubble),
            udp("10.0.0.2", "10.0.0.1", 3544, 50000, join({origin, inner})),
            udp("10.0.0.2", "10.0.0.1", 3544, 50000, join({auth, origin, inner}))};
}

/// PPPoE (RFC 2516): a PADO with its tags, then a session frame carrying PPP and IPv4.
std::vector<Bytes> pppoe() {
    auto frame = [](uint16_t ethertype, uint8_t code, uint16_t session, const Bytes& body) {
        Bytes b = join({{0x11, code, uint8_t(session >> 8), uint8_t(session),
                         uint8_t(body.size() >> 8), uint8_t(body.size())},
                        body});
        return PacketBuilder()
            .eth("02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", ethertype)
            .payload(b)
            .build();
    };
    Bytes tags = {0x01, 0x02, 0x00, 0x03, 'a', 'c', '1', 0x01, 0x01, 0x00, 0x00};
    Bytes ip = PacketBuilder()
                   .ipv4("100.64.0.2", "8.8.8.8")
                   .udp(5000, 53)
                   .payload(dns_message(1, "pppoe.example"))
                   .build();
    return {frame(0x8863, 0x07, 0, tags), frame(0x8864, 0x00, 0x1234, join({{0x00, 0x21}, ip}))};
}

/// IEEE 802.11 data frames (to and from the DS, QoS) with LLC/SNAP and IPv4, and an ACK.
Bytes wlanFrame(uint8_t fc0, uint8_t fc1, int addrs, const Bytes& rest) {
    Bytes b = {fc0, fc1, 44, 0};
    b.reserve(4 + 6 * size_t(addrs) + 2 + rest.size());
    for (int i = 0; i < addrs; ++i) {
        b.insert(b.end(), {0x00, 0x11, 0x22, 0x33, 0x44, uint8_t(i + 1)});
        if (i == 2) b.insert(b.end(), {0x30, 0x12});
    }
    b.insert(b.end(), rest.begin(), rest.end());
    return b;
}

Bytes snapIp() {
    Bytes ip = PacketBuilder()
                   .ipv4("192.168.0.10", "8.8.4.4")
                   .udp(5353, 53)
                   .payload(dns_message(3, "abc.com"))
                   .build();
    return join({{0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00}, ip});
}

std::vector<Bytes> wlan() {
    return {wlanFrame(0x08, 0x01, 3, snapIp()),
            wlanFrame(0x88, 0x02, 3, join({{0x00, 0x00}, snapIp()})), wlanFrame(0xd4, 0x00, 1, {})};
}

/// Radiotap: TSFT, flags with the FCS bit, rate and channel, then a data frame and its FCS.
std::vector<Bytes> radiotap() {
    Bytes rt = {0x00, 0x00, 0x00, 0x00, 0x0f, 0x00, 0x00, 0x00, 1,    2,    3,
                4,    5,    6,    7,    8,    0x10, 12,   0x85, 0x09, 0xa0, 0x00};
    rt[2] = uint8_t(rt.size());
    return {join({rt, wlanFrame(0x08, 0x01, 3, snapIp()), {0xde, 0xad, 0xbe, 0xef}})};
}

/// BSD loopback (link type 0): IPv4 and IPv6 datagrams with the family in host order.
std::vector<Bytes> nullLink() {
    return {PacketBuilder()
                .null_link()
                .ipv4("127.0.0.1", "127.0.0.2")
                .udp(4000, 53)
                .payload(dns_message(1, "lo.example"))
                .build(),
            PacketBuilder()
                .null_link()
                .ipv6("::1", "::2")
                .udp(4000, 53)
                .payload(dns_message(2, "lo6.example"))
                .build()};
}

const std::map<std::string, Fixture>& fixtures() {
    static const std::map<std::string, Fixture> all = {
        {"geneve", {1, geneve}}, {"teredo", {1, teredo}},       {"pppoe", {1, pppoe}},
        {"wlan", {105, wlan}},   {"radiotap", {127, radiotap}}, {"null", {0, nullLink}},
    };
    return all;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: protocol_fixtures DIR\n");
        return 2;
    }
    for (const auto& [name, f] : fixtures()) {
        PcapWriter w;
        w.linktype(f.linktype);
        uint64_t sec = 1700000000;
        for (const Bytes& p : f.packets()) w.packet(sec++, 0, p);
        std::string path = std::string(argv[1]) + "/" + name + ".pcap";
        if (!w.write(path)) {
            std::fprintf(stderr, "protocol_fixtures: error: cannot write %s\n", path.c_str());
            return 1;
        }
    }
    return 0;
}
