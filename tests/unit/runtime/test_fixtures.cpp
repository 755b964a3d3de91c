// Tests of the test fixtures: packet layouts and checksums, capture files libpcap accepts.
#include <catch2/catch.hpp>

#include <pcap/pcap.h>
#include <stdexcept>

#include "packet_builder.h"
#include "pcap_writer.h"

using namespace mmt::test;

namespace {

uint16_t be16(const Bytes& b, size_t at) {
    return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}
uint32_t be32(const Bytes& b, size_t at) {
    return (uint32_t{be16(b, at)} << 16) | be16(b, at + 2);
}

// True when the transport checksum at l4 verifies against the IP header at ip.
bool l4_checksum_ok(const Bytes& p, size_t ip, size_t l4, uint8_t proto) {
    size_t len = p.size() - l4;
    uint32_t sum = proto + static_cast<uint32_t>(len);
    bool v6 = (p[ip] >> 4) == 6;
    size_t a = ip + (v6 ? 8 : 12), n = v6 ? 32 : 8;
    for (size_t i = 0; i < n; i += 2) sum += be16(p, a + i);
    return inet_checksum(p.data() + l4, len, sum) == 0;
}

} // namespace

TEST_CASE("builder: Ethernet, VLAN, IPv4 with options, TCP", "[fixtures]") {
    Bytes p = PacketBuilder()
                  .eth("02:00:00:00:00:0a", "02:00:00:00:00:0b")
                  .vlan(100, 5)
                  .ipv4("192.168.1.1", "192.168.1.2")
                  .ttl(9)
                  .ip_id(0x1234)
                  .dont_fragment()
                  .ip_options({0x94, 0x04, 0, 0, 1}) // Router Alert, then a NOP (padded)
                  .tcp(40000, 443)
                  .seq(0x01020304)
                  .ack(0x0a0b0c0d)
                  .flags(SYN | ACK)
                  .window(1024)
                  .tcp_options({2, 4, 0x05, 0xb4})
                  .payload("hi")
                  .build();
    CHECK(p[0] == 0x02);
    CHECK(p[5] == 0x0b); // destination first
    CHECK(p[11] == 0x0a);
    CHECK(be16(p, 12) == 0x8100);
    CHECK(be16(p, 14) == ((5 << 13) | 100));
    CHECK(be16(p, 16) == 0x0800);
    const size_t ip = 18;
    CHECK(p[ip] == 0x47); // version 4, IHL 7 (20 + 8 option bytes)
    CHECK(be16(p, ip + 2) == 28 + 24 + 2);
    CHECK(be16(p, ip + 4) == 0x1234);
    CHECK(be16(p, ip + 6) == 0x4000);
    CHECK(p[ip + 8] == 9);
    CHECK(p[ip + 9] == 6);
    CHECK(inet_checksum(p.data() + ip, 28) == 0);
    const size_t tcp = ip + 28;
    CHECK(be16(p, tcp) == 40000);
    CHECK(be16(p, tcp + 2) == 443);
    CHECK(be32(p, tcp + 4) == 0x01020304u);
    CHECK(be32(p, tcp + 8) == 0x0a0b0c0du);
    CHECK(p[tcp + 12] >> 4 == 6);
    CHECK(p[tcp + 13] == (SYN | ACK));
    CHECK(be16(p, tcp + 14) == 1024);
    CHECK(l4_checksum_ok(p, ip, tcp, 6));
    CHECK(p.size() == tcp + 24 + 2);
}

TEST_CASE("builder: QinQ, IPv6 extension headers, UDP", "[fixtures]") {
    Bytes p = PacketBuilder()
                  .eth()
                  .svlan(7)
                  .vlan(8)
                  .ipv6("2001:db8::1", "2001:db8::2")
                  .flow_label(0x12345)
                  .ipv6_ext(0, {5, 2, 0, 0}) // Hop-by-Hop with a Router Alert
                  .ipv6_ext(60)
                  .udp(1000, 2000)
                  .payload("data")
                  .build();
    CHECK(be16(p, 12) == 0x88a8);
    CHECK(be16(p, 16) == 0x8100);
    CHECK(be16(p, 20) == 0x86dd);
    const size_t ip = 22;
    CHECK(be32(p, ip) == ((6u << 28) | 0x12345));
    CHECK(be16(p, ip + 4) == 8 + 8 + 8 + 4);
    CHECK(p[ip + 6] == 0);   // Hop-by-Hop
    CHECK(p[ip + 40] == 60); // then Destination Options
    CHECK(p[ip + 41] == 0);  // 8 bytes
    CHECK(p[ip + 48] == 17); // then UDP
    const size_t udp = ip + 56;
    CHECK(be16(p, udp + 4) == 12);
    CHECK(l4_checksum_ok(p, ip, udp, 17));
}

TEST_CASE("builder: fragments, ICMP, ICMPv6, bad checksums", "[fixtures]") {
    Bytes f4 = PacketBuilder()
                   .ipv4("1.1.1.1", "2.2.2.2")
                   .ip_id(77)
                   .frag(1480, true)
                   .ip_proto(17)
                   .payload(Bytes(8, 0))
                   .build();
    CHECK(be16(f4, 6) == (0x2000 | 185));
    CHECK(f4[9] == 17);
    Bytes f6 = PacketBuilder()
                   .ipv6("::1", "::2")
                   .ipv6_frag(1232, false, 0xabcdef01, 6)
                   .payload(Bytes(8, 0))
                   .build();
    CHECK(f6[6] == 44);
    CHECK(f6[40] == 6);
    CHECK(be16(f6, 42) == 1232);
    CHECK(be32(f6, 44) == 0xabcdef01u);
    Bytes icmp =
        PacketBuilder().ipv4("1.1.1.1", "2.2.2.2").icmp(8, 0, 0x00010002).payload("ping").build();
    CHECK(icmp[9] == 1);
    CHECK(inet_checksum(icmp.data() + 20, icmp.size() - 20) == 0);
    Bytes icmp6 =
        PacketBuilder().ipv6("fe80::1", "ff02::1").icmpv6(135, 0).payload(Bytes(16, 0)).build();
    CHECK(icmp6[6] == 58);
    CHECK(l4_checksum_ok(icmp6, 0, 40, 58));
    Bytes bad =
        PacketBuilder().ipv4("1.1.1.1", "2.2.2.2").bad_checksum().udp(1, 2).bad_checksum().build();
    CHECK(inet_checksum(bad.data(), 20) != 0);
    CHECK_FALSE(l4_checksum_ok(bad, 0, 20, 17));
    Bytes none = PacketBuilder().ipv4("1.1.1.1", "2.2.2.2").udp(1, 2).no_checksum().build();
    CHECK(be16(none, 26) == 0);
}

TEST_CASE("builder: link headers", "[fixtures]") {
    Bytes sll = PacketBuilder().sll(4).ipv4("1.1.1.1", "2.2.2.2").build();
    CHECK(be16(sll, 0) == 4);
    CHECK(be16(sll, 2) == 1);
    CHECK(be16(sll, 4) == 6);
    CHECK(be16(sll, 14) == 0x0800);
    CHECK(sll[16] == 0x45);
    Bytes sll2 = PacketBuilder().sll2(3).ipv6("::1", "::2").build();
    CHECK(be16(sll2, 0) == 0x86dd);
    CHECK(be32(sll2, 4) == 3);
    CHECK(sll2[11] == 6);
    CHECK(sll2[20] >> 4 == 6);
    Bytes null4 = PacketBuilder().null_link().ipv4("1.1.1.1", "2.2.2.2").build();
    CHECK(Bytes(null4.begin(), null4.begin() + 4) == Bytes{2, 0, 0, 0});
    Bytes loop6 = PacketBuilder().null_link(true).ipv6("::1", "::2").build();
    CHECK(be32(loop6, 0) == 30);
    Bytes raw = PacketBuilder().ipv4("1.1.1.1", "2.2.2.2").build();
    CHECK(raw.size() == 20);
    CHECK(raw[9] == 253); // nothing above: "experimental"
}

TEST_CASE("builder: misuse throws", "[fixtures]") {
    CHECK_THROWS_AS(PacketBuilder().ipv4("1.1.1.300", "2.2.2.2"), std::invalid_argument);
    CHECK_THROWS_AS(PacketBuilder().ipv4("::1", "2.2.2.2"), std::invalid_argument);
    CHECK_THROWS_AS(PacketBuilder().eth("zz:00:00:00:00:00"), std::invalid_argument);
    CHECK_THROWS_AS(PacketBuilder().eth().seq(1), std::logic_error);
    CHECK_THROWS_AS(PacketBuilder().udp(1, 2).ttl(3), std::logic_error);
}

TEST_CASE("writers: libpcap reads what they write", "[fixtures]") {
    Bytes frame = PacketBuilder().eth().ipv4("1.1.1.1", "2.2.2.2").udp(1, 2).payload("x").build();
    for (bool nano : {false, true}) {
        for (bool big : {false, true}) {
            TempFile tmp;
            PcapWriter w;
            w.nanoseconds(nano).big_endian(big).linktype(1).snaplen(30);
            w.packet(1700000000, 123456789, frame);
            REQUIRE(w.write(tmp.path()));
            char err[PCAP_ERRBUF_SIZE];
            pcap_t* p = pcap_open_offline_with_tstamp_precision(tmp.path().c_str(),
                                                                PCAP_TSTAMP_PRECISION_NANO, err);
            REQUIRE(p);
            CHECK(pcap_datalink(p) == 1);
            CHECK(pcap_snapshot(p) == 30);
            CHECK(pcap_is_swapped(p) == (big ? 1 : 0));
            pcap_pkthdr* h;
            const u_char* d;
            REQUIRE(pcap_next_ex(p, &h, &d) == 1);
            CHECK(h->ts.tv_sec == 1700000000);
            CHECK(h->ts.tv_usec == (nano ? 123456789 : 123456000));
            CHECK(h->caplen == 30);
            CHECK(h->len == frame.size());
            CHECK(pcap_next_ex(p, &h, &d) == PCAP_ERROR_BREAK);
            pcap_close(p);
        }
    }
    TempFile cut;
    PcapWriter w;
    w.packet(1, 0, frame).packet(2, 0, frame).truncate_last(20);
    REQUIRE(w.write(cut.path()));
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(cut.path().c_str(), err);
    REQUIRE(p);
    pcap_pkthdr* h;
    const u_char* d;
    CHECK(pcap_next_ex(p, &h, &d) == 1);
    CHECK(pcap_next_ex(p, &h, &d) == PCAP_ERROR);
    pcap_close(p);

    TempFile ng(".pcapng");
    PcapngWriter n;
    uint32_t itf = n.interface(1, 0, 9);
    n.packet(itf, 5, 6, frame);
    REQUIRE(n.write(ng.path()));
    p = pcap_open_offline_with_tstamp_precision(ng.path().c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
    REQUIRE(p);
    REQUIRE(pcap_next_ex(p, &h, &d) == 1);
    CHECK(h->ts.tv_sec == 5);
    CHECK(h->ts.tv_usec == 6);
    CHECK(Bytes(d, d + h->caplen) == frame);
    pcap_close(p);
    CHECK_THROWS_AS(PcapngWriter().section().big_endian(), std::logic_error);
}
