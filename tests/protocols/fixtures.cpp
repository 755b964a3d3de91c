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
#include <string_view>
#include <utility>

using namespace mmt::test;

namespace {

struct Fixture {
    uint32_t linktype;
    std::function<std::vector<Bytes>()> packets;
};

Bytes udp(const char* src, const char* dst, uint16_t sport, uint16_t dport, const Bytes& payload) {
    return PacketBuilder().eth().ipv4(src, dst).udp(sport, dport).payload(payload).build();
}

/// A TCP segment carrying data (PSH, ACK) at the given sequence and acknowledgement numbers.
Bytes tcp(const char* src, const char* dst, uint16_t sport, uint16_t dport, uint32_t seq,
          uint32_t ack, const Bytes& body) {
    return PacketBuilder()
        .eth()
        .ipv4(src, dst)
        .tcp(sport, dport)
        .seq(seq)
        .ack(ack)
        .flags(PSH | ACK)
        .payload(body)
        .build();
}

/// Geneve (RFC 8926): a bridged Ethernet frame after 8 bytes of options, then routed IPv4.
std::vector<Bytes> geneve() {
    Bytes options = {0x01, 0x02, 0x80, 0x01, 1, 2, 3, 4};
    Bytes frame = PacketBuilder()
                      .eth("0a:00:00:00:00:01", "0a:00:00:00:00:02")
                      .ipv4("192.168.1.1", "192.168.1.2")
                      .udp(1111, 53)
                      .payload(dns_message(9, "inner.example"))
                      .build();
    Bytes routed = PacketBuilder().ipv4("172.16.0.1", "172.16.0.2").udp(3, 4).payload("x").build();
    return {udp("10.0.0.1", "10.0.0.2", 40000, 6081,
                join({geneve_header(0x6558, 0x123456, options), options, frame})),
            udp("10.0.0.2", "10.0.0.1", 6081, 40000, join({geneve_header(0x0800, 7, {}), routed}))};
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

/// Big-endian 16- and 32-bit fields, for the messages below.
Bytes be16(uint16_t v) {
    return {uint8_t(v >> 8), uint8_t(v)};
}
Bytes be32(uint32_t v) {
    return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
}
/// Little-endian 32- and 64-bit fields (WireGuard).
Bytes le32(uint32_t v) {
    return {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
}
Bytes le64(uint64_t v) {
    return join({le32(uint32_t(v)), le32(uint32_t(v >> 32))});
}
/// `n` bytes counting up from `first` (keys, MACs and ciphertext stand-ins).
Bytes filler(size_t n, uint8_t first) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = uint8_t(first + i);
    return b;
}

/// `text` padded with zeros to `n` bytes.
Bytes padded(std::string_view text, size_t n) {
    Bytes b = to_bytes(text);
    b.resize(n);
    return b;
}

/// HSRP (RFC 2281): version 0 Hellos of the active and the standby router of group 1 to
/// 224.0.0.2, a Coup, then version 2 Group State TLVs for IPv4 (224.0.0.102) and IPv6
/// (ff02::66, UDP 2029), each followed by a Text Authentication TLV.
std::vector<Bytes> hsrp() {
    auto v0 = [](uint8_t opcode, uint8_t state, uint8_t priority) {
        return join({{0, opcode, state, 3, 10, priority, 1, 0},
                     padded("cisco", 8),
                     ip_bytes("192.168.1.254")});
    };
    auto hello = [](const char* mac, const char* src, const Bytes& body) {
        return PacketBuilder()
            .eth(mac, "01:00:5e:00:00:02")
            .ipv4(src, "224.0.0.2")
            .ttl(1)
            .udp(1985, 1985)
            .payload(body)
            .build();
    };
    auto v2 = [](uint8_t ipver, uint16_t group, const char* id, uint32_t priority,
                 const Bytes& vip) {
        Bytes addr = vip;
        addr.resize(16);
        return join({{1, 40, 2, 0, 6, ipver},
                     be16(group),
                     mac_bytes(id),
                     be32(priority),
                     be32(3000),
                     be32(10000),
                     addr,
                     {3, 8},
                     padded("cisco", 8)});
    };
    return {hello("00:00:0c:07:ac:01", "192.168.1.2", v0(0, 16, 110)),
            hello("02:00:00:00:00:03", "192.168.1.3", v0(0, 8, 100)),
            hello("02:00:00:00:00:03", "192.168.1.3", v0(1, 4, 120)),
            PacketBuilder()
                .eth("00:00:0c:9f:f0:0a", "01:00:5e:00:00:66")
                .ipv4("192.168.10.2", "224.0.0.102")
                .ttl(1)
                .udp(1985, 1985)
                .payload(v2(4, 10, "02:00:00:00:00:0a", 150, ip_bytes("192.168.10.1")))
                .build(),
            PacketBuilder()
                .eth("00:05:73:a0:00:14", "33:33:00:00:00:66")
                .ipv6("fe80::a", "ff02::66")
                .ttl(255)
                .udp(2029, 2029)
                .payload(v2(6, 20, "02:00:00:00:00:0a", 100, ip_bytes("fe80::5:73ff:fea0:14")))
                .build()};
}

/// L2TPv2 (RFC 2661): an SCCRQ with the AVPs a LAC sends, the LNS's SCCRP, an ICRQ with
/// the assigned session and call serial number, then data messages carrying PPP: one
/// with a length, one with sequence numbers, an offset pad and the priority bit.
std::vector<Bytes> l2tp() {
    auto avp = [](uint16_t type, const Bytes& value, bool mandatory = true) {
        uint16_t len = uint16_t(6 + value.size());
        return join({be16(uint16_t((mandatory ? 0x8000 : 0) | len)), be16(0), be16(type), value});
    };
    auto control = [](uint16_t tunnel, uint16_t session, uint16_t ns, uint16_t nr,
                      const Bytes& avps) {
        uint16_t len = uint16_t(12 + avps.size());
        return join(
            {be16(0xc802), be16(len), be16(tunnel), be16(session), be16(ns), be16(nr), avps});
    };
    Bytes sccrq =
        control(0, 0, 0, 0,
                join({avp(0, be16(1)), avp(2, be16(0x0100)), avp(3, be32(3)), avp(4, be32(0)),
                      avp(6, be16(0x0690), false), avp(7, to_bytes("lac.example")),
                      avp(8, to_bytes("mmt"), false), avp(9, be16(0x1a2b)), avp(10, be16(8))}));
    Bytes sccrp = control(0x1a2b, 0, 0, 1,
                          join({avp(0, be16(2)), avp(2, be16(0x0100)), avp(3, be32(3)),
                                avp(7, to_bytes("lns.example")), avp(8, to_bytes("mmt"), false),
                                avp(9, be16(0x3c4d)), avp(10, be16(16))}));
    Bytes icrq =
        control(0x3c4d, 0, 1, 1, join({avp(0, be16(10)), avp(14, be16(0x0042)), avp(15, be32(7))}));
    auto ppp = [](uint16_t id) {
        Bytes ip = PacketBuilder()
                       .ipv4("10.20.0.1", "10.20.0.2")
                       .udp(5000, 53)
                       .payload(dns_message(id, "l2tp.example"))
                       .build();
        return join({{0xff, 0x03, 0x00, 0x21}, ip});
    };
    // To the LAC: its tunnel (0x1a2b) and the session it assigned (0x0042).
    Bytes data1 =
        join({be16(0x4002), be16(uint16_t(8 + ppp(4).size())), be16(0x1a2b), be16(0x0042), ppp(4)});
    Bytes data2 =
        join({be16(0x0b02), be16(0x1a2b), be16(0x0042), be16(1), be16(0), be16(2), {0, 0}, ppp(5)});
    const char* lac = "192.0.2.10";
    const char* lns = "198.51.100.1";
    return {udp(lac, lns, 1701, 1701, sccrq), udp(lns, lac, 1701, 1701, sccrp),
            udp(lac, lns, 1701, 1701, icrq), udp(lns, lac, 1701, 1701, data1),
            udp(lns, lac, 1701, 1701, data2)};
}

/// LDP (RFC 5036): Link Hellos of two LSRs on UDP 646, then on their TCP session an
/// Initialization, the peer's Initialization and KeepAlive in one PDU, and an Address
/// with a Label Mapping.
std::vector<Bytes> ldp() {
    auto tlv = [](uint16_t type, const Bytes& value) {
        return join({be16(type), be16(uint16_t(value.size())), value});
    };
    auto msg = [](uint16_t type, uint32_t id, const Bytes& tlvs) {
        return join({be16(type), be16(uint16_t(4 + tlvs.size())), be32(id), tlvs});
    };
    auto pdu = [](const char* lsr, const Bytes& msgs) {
        return join({be16(1), be16(uint16_t(6 + msgs.size())), ip_bytes(lsr), be16(0), msgs});
    };
    auto hello = [&](const char* lsr, uint32_t id) {
        return pdu(lsr,
                   msg(0x0100, id,
                       join({tlv(0x0400, {0x00, 0x0f, 0x00, 0x00}), tlv(0x0401, ip_bytes(lsr))})));
    };
    auto init = [&](uint32_t id, const char* peer) {
        return msg(
            0x0200, id,
            tlv(0x0500,
                join({be16(1), be16(180), {0x00, 0x00}, be16(4096), ip_bytes(peer), be16(0)})));
    };
    const char* a = "10.255.0.1";
    const char* b = "10.255.0.2";
    auto hellos = [&](const char* src, const char* lsr, uint32_t id) {
        return PacketBuilder()
            .eth()
            .ipv4(src, "224.0.0.2")
            .ttl(1)
            .udp(646, 646)
            .payload(hello(lsr, id))
            .build();
    };
    // The LSR with the greater address (b) opens the session.
    Bytes init1 = pdu(b, init(1, a));
    Bytes init2 = pdu(a, join({init(101, b), msg(0x0201, 102, {})}));
    Bytes fec = {0x02, 0x00, 0x01, 0x18, 10, 1, 2}; // prefix 10.1.2.0/24
    Bytes mapping =
        pdu(a, join({msg(0x0300, 103, tlv(0x0101, join({be16(1), ip_bytes(a)}))),
                     msg(0x0400, 104, join({tlv(0x0100, fec), tlv(0x0200, be32(1024))}))}));
    uint32_t sa = 1000, sb = 5000;
    return {
        hellos("192.168.12.1", a, 1), hellos("192.168.12.2", b, 100),
        tcp(b, a, 40000, 646, sb, sa, init1),
        tcp(a, b, 646, 40000, sa, uint32_t(sb + init1.size()), init2),
        tcp(a, b, 646, 40000, uint32_t(sa + init2.size()), uint32_t(sb + init1.size()), mapping)};
}

/// RADIUS (RFC 2865, 2866): an Access-Request and its Access-Accept on UDP 1812, then an
/// Accounting-Request (Start) and its Accounting-Response on UDP 1813.
std::vector<Bytes> radius() {
    auto attr = [](uint8_t type, const Bytes& value) {
        return join({{type, uint8_t(2 + value.size())}, value});
    };
    auto message = [](uint8_t code, uint8_t id, const Bytes& auth, const Bytes& attrs) {
        return join({{code, id}, be16(uint16_t(20 + attrs.size())), auth, attrs});
    };
    Bytes nas = ip_bytes("10.0.0.5");
    Bytes request = message(
        1, 42, filler(16, 0x10),
        join({attr(1, to_bytes("alice")), attr(2, filler(16, 0xa0)), attr(4, nas), attr(5, be32(7)),
              attr(6, be32(2)), attr(30, to_bytes("00-11-22-33-44-55:corp")),
              attr(31, to_bytes("02-00-00-00-00-01")), attr(32, to_bytes("nas1.example"))}));
    Bytes accept =
        message(2, 42, filler(16, 0x30),
                join({attr(6, be32(2)), attr(7, be32(1)), attr(8, ip_bytes("100.64.1.7")),
                      attr(18, to_bytes("Welcome, alice")), attr(27, be32(3600))}));
    Bytes start =
        message(4, 43, filler(16, 0x50),
                join({attr(40, be32(1)), attr(1, to_bytes("alice")), attr(4, nas), attr(5, be32(7)),
                      attr(8, ip_bytes("100.64.1.7")), attr(31, to_bytes("02-00-00-00-00-01")),
                      attr(44, to_bytes("0000A1B2")), attr(45, be32(1))}));
    Bytes response = message(5, 43, filler(16, 0x70), {});
    const char* client = "10.0.0.5";
    const char* server = "10.0.0.20";
    return {udp(client, server, 50123, 1812, request), udp(server, client, 1812, 50123, accept),
            udp(client, server, 50124, 1813, start), udp(server, client, 1813, 50124, response)};
}

/// VRRP: a version 2 advertisement (RFC 3768) with two addresses and simple-text
/// authentication, version 3 advertisements (RFC 9568) over IPv4 and over IPv6.
std::vector<Bytes> vrrp() {
    auto sum = [](const Bytes& pseudo) {
        uint16_t c = inet_checksum(pseudo.data(), pseudo.size());
        return uint32_t(uint16_t(~c));
    };
    auto v4 = [](const char* src, const Bytes& body) {
        return PacketBuilder()
            .eth("00:00:5e:00:01:0a", "01:00:5e:00:00:12")
            .ipv4(src, "224.0.0.18")
            .ttl(255)
            .ip_proto(112)
            .payload(body)
            .build();
    };
    Bytes v2 = join({{0x21, 10, 100, 2, 1, 1, 0, 0},
                     ip_bytes("192.168.1.254"),
                     ip_bytes("192.168.1.253"),
                     padded("secret", 8)});
    uint16_t c = inet_checksum(v2.data(), v2.size());
    v2[6] = uint8_t(c >> 8);
    v2[7] = uint8_t(c);
    Bytes v3 = join({{0x31, 20, 200, 1}, be16(100), {0, 0}, ip_bytes("192.168.2.254")});
    Bytes pseudo4 = join(
        {ip_bytes("192.168.2.2"), ip_bytes("224.0.0.18"), be16(112), be16(uint16_t(v3.size()))});
    c = inet_checksum(v3.data(), v3.size(), sum(pseudo4));
    v3[6] = uint8_t(c >> 8);
    v3[7] = uint8_t(c);
    Bytes v3six = join(
        {{0x31, 30, 255, 2}, be16(50), {0, 0}, ip_bytes("fe80::1"), ip_bytes("2001:db8:30::1")});
    Bytes pseudo6 = join({ip_bytes("fe80::200:5eff:fe00:21e"), ip_bytes("ff02::12"),
                          be32(uint32_t(v3six.size())), be32(112)});
    c = inet_checksum(v3six.data(), v3six.size(), sum(pseudo6));
    v3six[6] = uint8_t(c >> 8);
    v3six[7] = uint8_t(c);
    return {v4("192.168.1.2", v2), v4("192.168.2.2", v3),
            PacketBuilder()
                .eth("00:00:5e:00:02:1e", "33:33:00:00:00:12")
                .ipv6("fe80::200:5eff:fe00:21e", "ff02::12")
                .ttl(255)
                .next_header(112)
                .payload(v3six)
                .build()};
}

/// WireGuard: a handshake initiation answered by a cookie reply (the responder is under
/// load), a new initiation with mac2, the response, then transport data and a keepalive,
/// on UDP 51820.
std::vector<Bytes> wireguard() {
    uint32_t first = 0x0a0b0c0d, i = 0x1d2c3b4a, r = 0x8f7e6d5c;
    auto initiation = [](uint32_t sender, uint8_t key, uint8_t mac2) {
        return join({{1, 0, 0, 0},
                     le32(sender),
                     filler(32, key),
                     filler(48, 0x40),
                     filler(28, 0x70),
                     filler(16, 0x90),
                     mac2 ? filler(16, mac2) : Bytes(16)});
    };
    Bytes cookie = join({{3, 0, 0, 0}, le32(first), filler(24, 0xc0), filler(32, 0xe0)});
    Bytes response = join({{2, 0, 0, 0},
                           le32(r),
                           le32(i),
                           filler(32, 0x01),
                           filler(16, 0x21),
                           filler(16, 0x31),
                           Bytes(16)});
    Bytes data = join({{4, 0, 0, 0}, le32(r), le64(0), filler(96 + 16, 0x41)});
    Bytes keepalive = join({{4, 0, 0, 0}, le32(r), le64(1), filler(16, 0x51)});
    const char* peer = "203.0.113.7";
    const char* server = "198.51.100.20";
    return {udp(peer, server, 40123, 51820, initiation(first, 0x20, 0)),
            udp(server, peer, 51820, 40123, cookie),
            udp(peer, server, 40123, 51820, initiation(i, 0x60, 0xb0)),
            udp(server, peer, 51820, 40123, response),
            udp(peer, server, 40123, 51820, data),
            udp(peer, server, 40123, 51820, keepalive)};
}

/// SNMP v2c (RFC 3416, BER per X.690): a GetRequest for sysDescr.0 with community "public"
/// on UDP 161 and its GetResponse.
std::vector<Bytes> snmp() {
    auto tlv = [](uint8_t tag, const Bytes& value) {
        return join({{tag, uint8_t(value.size())}, value});
    };
    Bytes oid = {0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00}; // 1.3.6.1.2.1.1.1.0
    auto message = [&](uint8_t pdu, const Bytes& value) {
        Bytes varbind = tlv(0x30, join({tlv(0x06, oid), value}));
        Bytes body = join(
            {tlv(0x02, {0x12, 0x34}), tlv(0x02, {0x00}), tlv(0x02, {0x00}), tlv(0x30, varbind)});
        return tlv(0x30, join({tlv(0x02, {0x01}), tlv(0x04, to_bytes("public")), tlv(pdu, body)}));
    };
    Bytes request = message(0xa0, {0x05, 0x00});
    Bytes response = message(0xa2, tlv(0x04, to_bytes("Linux router 5.15.0-91-generic x86_64")));
    return {udp("192.168.10.5", "192.168.10.1", 49152, 161, request),
            udp("192.168.10.1", "192.168.10.5", 161, 49152, response)};
}

/// CoAP (RFC 7252): a confirmable GET /sensors/temp with a 4-byte token on UDP 5683, and the
/// piggybacked ACK 2.05 Content with a text/plain payload.
std::vector<Bytes> coap() {
    Bytes token = {0xa1, 0xb2, 0xc3, 0xd4};
    Bytes get = join(
        {{0x44, 0x01, 0x7d, 0x34}, token, {0xb7}, to_bytes("sensors"), {0x04}, to_bytes("temp")});
    Bytes content = join({{0x64, 0x45, 0x7d, 0x34}, token, {0xc0, 0xff}, to_bytes("22.5 C")});
    // Six options (If-Match, Uri-Host, ETag, Observe, Uri-Port, Uri-Path) and no
    // Content-Format: none is reported, not the fifth option's value.
    Bytes many = join({{0x40, 0x01, 0x7d, 0x35, 0x11, 0xaa, 0x21, 'h', 0x11, 0xbb, 0x21, 0x05, 0x12,
                        0x16, 0x33, 0x41, 'x'}});
    return {udp("10.1.0.20", "10.1.0.7", 53817, 5683, get),
            udp("10.1.0.7", "10.1.0.20", 5683, 53817, content),
            udp("10.1.0.20", "10.1.0.7", 53818, 5683, many)};
}

/// BitTorrent's DHT (BEP 5) on UDP 6881: a ping query, its response, a get_peers query.
std::vector<Bytes> bittorrentDht() {
    const std::string id = "20:abcdefghij0123456789";
    Bytes ping = to_bytes("d1:ad2:id" + id + "e1:q4:ping1:t2:aa1:y1:qe");
    Bytes pong = to_bytes("d1:rd2:id" + id + "e1:t2:aa1:y1:re");
    Bytes getPeers = to_bytes("d1:ad2:id" + id +
                              "9:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:bb1:y1:qe");
    return {udp("10.2.0.1", "10.2.0.2", 6881, 6881, ping),
            udp("10.2.0.2", "10.2.0.1", 6881, 6881, pong),
            udp("10.2.0.1", "10.2.0.2", 6881, 6881, getPeers)};
}

/// BACnet/IP (ASHRAE 135 Annex J): a global Who-Is broadcast, then the device's I-Am
/// broadcast, both unconfirmed requests on UDP 47808.
std::vector<Bytes> bacnet() {
    auto bvlc = [](const Bytes& npdu) {
        return join({{0x81, 0x0b}, be16(uint16_t(4 + npdu.size())), npdu});
    };
    Bytes whoIs = bvlc({0x01, 0x20, 0xff, 0xff, 0x00, 0xff, 0x10, 0x08});
    Bytes iAm = bvlc({0x01, 0x00, 0x10, 0x00, 0xc4, 0x02, 0x00, 0x00, 0x64, 0x22, 0x05, 0xc4, 0x91,
                      0x03, 0x22, 0x01, 0x04});
    return {udp("192.168.1.10", "192.168.1.255", 47808, 47808, whoIs),
            udp("192.168.1.50", "192.168.1.255", 47808, 47808, iAm)};
}

/// Zabbix (protocol of Zabbix 4.0 and later): an active agent's "active checks" request on
/// TCP 10051 and the server's response with one item to check.
std::vector<Bytes> zabbix() {
    auto zbx = [](std::string_view json) {
        return join(
            {to_bytes("ZBXD"), {0x01}, le32(uint32_t(json.size())), le32(0), to_bytes(json)});
    };
    Bytes request = zbx(R"({"request":"active checks","host":"web01"})");
    Bytes response = zbx(R"({"response":"success","data":[{"key":"system.cpu.load[all,avg1]",)"
                         R"("delay":30,"lastlogsize":0,"mtime":0}]})");
    const char* agent = "10.20.0.15";
    const char* server = "10.20.0.2";
    uint32_t sa = 1000, ss = 7000;
    return {tcp(agent, server, 45012, 10051, sa, ss, request),
            tcp(server, agent, 10051, 45012, ss, uint32_t(sa + request.size()), response)};
}

/// A TCP three-way handshake: SYN, SYN-ACK, ACK, with initial sequence numbers `cisn`
/// (client) and `sisn` (server); data then starts at cisn + 1 and sisn + 1.
std::vector<Bytes> tcpHandshake(const char* client, const char* server, uint16_t cport,
                                uint16_t sport, uint32_t cisn, uint32_t sisn) {
    auto segment = [](const char* src, const char* dst, uint16_t sp, uint16_t dp, uint32_t seq,
                      uint32_t ack, uint8_t flags) {
        return PacketBuilder()
            .eth()
            .ipv4(src, dst)
            .tcp(sp, dp)
            .seq(seq)
            .ack(ack)
            .flags(flags)
            .build();
    };
    return {segment(client, server, cport, sport, cisn, 0, SYN),
            segment(server, client, sport, cport, sisn, cisn + 1, SYN | ACK),
            segment(client, server, cport, sport, cisn + 1, sisn + 1, ACK)};
}

/// A conversation over TCP after its handshake: each message is one data segment, sent by
/// the client (true) or the server (false), with sequence and acknowledgement numbers
/// that follow the bytes sent so far.
std::vector<Bytes> tcpConversation(const char* client, const char* server, uint16_t cport,
                                   uint16_t sport,
                                   const std::vector<std::pair<bool, Bytes>>& messages) {
    uint32_t cseq = 1000, sseq = 50000;
    std::vector<Bytes> out = tcpHandshake(client, server, cport, sport, cseq, sseq);
    ++cseq;
    ++sseq;
    for (const auto& [fromClient, body] : messages) {
        if (fromClient) {
            out.push_back(tcp(client, server, cport, sport, cseq, sseq, body));
            cseq += uint32_t(body.size());
        } else {
            out.push_back(tcp(server, client, sport, cport, sseq, cseq, body));
            sseq += uint32_t(body.size());
        }
    }
    return out;
}

/// Apache Kafka (https://kafka.apache.org/protocol): a Kafka 2.4 Java producer on TCP 9092
/// asks ApiVersions (v3, flexible), Metadata (v9, flexible) for its topic, and sends a
/// Produce (v8) with one record batch, then a transactional Produce (v9, flexible); the
/// broker answers each.
std::vector<Bytes> kafka() {
    auto be64 = [](uint64_t v) { return join({be32(uint32_t(v >> 32)), be32(uint32_t(v))}); };
    auto str = [](std::string_view s) { return join({be16(uint16_t(s.size())), to_bytes(s)}); };
    // Compact strings and arrays: an unsigned varint of the length plus one (all below 127).
    auto cstr = [](std::string_view s) { return join({{uint8_t(s.size() + 1)}, to_bytes(s)}); };
    auto carray = [](uint8_t n) { return Bytes{uint8_t(n + 1)}; };
    const Bytes noTags = {0x00};
    auto message = [](const Bytes& body) { return join({be32(uint32_t(body.size())), body}); };
    auto request = [&](uint16_t key, uint16_t version, uint32_t correlation, bool flexible,
                       const Bytes& body) {
        return message(join({be16(key), be16(version), be32(correlation), str("producer-1"),
                             flexible ? noTags : Bytes{}, body}));
    };
    auto response = [&](uint32_t correlation, bool flexible, const Bytes& body) {
        return message(join({be32(correlation), flexible ? noTags : Bytes{}, body}));
    };
    // CRC-32C (Castagnoli), reflected, as record batches use it.
    auto crc32c = [](const Bytes& data) {
        uint32_t crc = 0xffffffff;
        for (uint8_t b : data) {
            crc ^= b;
            for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82f63b78 & (0u - (crc & 1)));
        }
        return crc ^ 0xffffffff;
    };
    auto zigzag = [](int64_t v) { return Bytes{uint8_t((v << 1) ^ (v >> 63))}; };

    Bytes apiVersionsReq =
        request(18, 3, 1, true, join({cstr("apache-kafka-java"), cstr("2.4.1"), noTags}));
    auto apiRange = [&](uint16_t key, uint16_t min, uint16_t max) {
        return join({be16(key), be16(min), be16(max), noTags});
    };
    // ApiVersions responses keep header version 0 (no tagged fields), whatever the version.
    Bytes apiVersionsResp =
        response(1, false,
                 join({be16(0), carray(4), apiRange(0, 0, 8), apiRange(1, 0, 11), apiRange(3, 0, 9),
                       apiRange(18, 0, 3), be32(0), noTags}));

    Bytes metadataReq = request(
        3, 9, 2, true, join({carray(1), cstr("orders"), noTags, {0x01}, {0x00}, {0x00}, noTags}));
    Bytes broker = join({be32(1), cstr("kafka-1.example.net"), be32(9092), {0x00}, noTags});
    Bytes partition = join({be16(0), be32(0), be32(1), be32(0), carray(1), be32(1), carray(1),
                            be32(1), carray(0), noTags});
    Bytes topic =
        join({be16(0), cstr("orders"), {0x00}, carray(1), partition, be32(0x80000000), noTags});
    Bytes metadataResp = response(2, true,
                                  join({be32(0), carray(1), broker, cstr("q1Sh-9_ISia_zwGINzRvyQ"),
                                        be32(1), carray(1), topic, be32(0x80000000), noTags}));

    std::string_view key = "order-1001";
    std::string_view value = R"({"id":1001,"item":"book","qty":2})";
    Bytes record = join({{0x00},
                         zigzag(0),
                         zigzag(0),
                         zigzag(int64_t(key.size())),
                         to_bytes(key),
                         zigzag(int64_t(value.size())),
                         to_bytes(value),
                         zigzag(0)});
    record = join({zigzag(int64_t(record.size())), record});
    uint64_t timestamp = 1700000006000;
    Bytes checked = join({be16(0), be32(0), be64(timestamp), be64(timestamp), be64(~0ull),
                          be16(0xffff), be32(0xffffffff), be32(1), record});
    Bytes afterLength = join({be32(0xffffffff), {0x02}, be32(crc32c(checked)), checked});
    Bytes batch = join({be64(0), be32(uint32_t(afterLength.size())), afterLength});
    Bytes produceReq = request(0, 8, 3, false,
                               join({be16(0xffff), be16(1), be32(30000), be32(1), str("orders"),
                                     be32(1), be32(0), be32(uint32_t(batch.size())), batch}));
    Bytes produceResp = response(3, false,
                                 join({be32(1), str("orders"), be32(1), be32(0), be16(0), be64(42),
                                       be64(~0ull), be64(0), be32(0), be16(0xffff), be32(0)}));
    // The same batch in a transactional Produce v9 (flexible: compact strings and arrays,
    // tagged fields), to partition 2; the broker answers base offset 43, throttled 5 ms.
    // The batch is 111 bytes: its compact length is a one-byte varint.
    const Bytes batchLength = {uint8_t(batch.size() + 1)};
    Bytes produceFlexReq =
        request(0, 9, 4, true,
                join({cstr("txn-7"), be16(1), be32(30000), carray(1), cstr("orders"), carray(1),
                      be32(2), batchLength, batch, noTags, noTags, noTags}));
    const Bytes nullString = {0x00}; // a null compact string: no error message
    Bytes produceFlexResp = response(
        4, true,
        join({carray(1), cstr("orders"), carray(1), be32(2), be16(0), be64(43), be64(~0ull),
              be64(0), carray(0), nullString, noTags, noTags, be32(5), noTags}));

    return tcpConversation("10.1.0.20", "10.1.0.10", 50412, 9092,
                           {{true, apiVersionsReq},
                            {false, apiVersionsResp},
                            {true, metadataReq},
                            {false, metadataResp},
                            {true, produceReq},
                            {false, produceResp},
                            {true, produceFlexReq},
                            {false, produceFlexResp}});
}

/// Gnutella 0.6: a leaf (LimeWire) connects to an ultrapeer (gtk-gnutella) on TCP 6346:
/// the three-way handshake, then a ping and its pong, a query and a second ping in one
/// segment, the query's hit, and a push; then the leaf fetches a file from the servent of
/// the hit with HTTP, by index ("/get/") and by SHA-1 URN ("/uri-res/"), the second answer's
/// body arriving in a segment of its own.
std::vector<Bytes> gnutella() {
    auto le16 = [](uint16_t v) { return Bytes{uint8_t(v), uint8_t(v >> 8)}; };
    auto descriptor = [](uint8_t fill, uint8_t type, uint8_t ttl, uint8_t hops,
                         const Bytes& payload) {
        Bytes guid = filler(16, fill);
        guid[8] = 0xff; // a modern servent's GUID: byte 8 all ones, byte 15 zero
        guid[15] = 0x00;
        return join({guid, {type, ttl, hops}, le32(uint32_t(payload.size())), payload});
    };
    const std::string urn = "urn:sha1:PLSTHIPQGSSZTS5FJUPAKUZWUGYQYPFB";

    Bytes connect = to_bytes("GNUTELLA CONNECT/0.6\r\n"
                             "User-Agent: LimeWire/4.18.8\r\n"
                             "X-Ultrapeer: False\r\n"
                             "X-Query-Routing: 0.1\r\n"
                             "Listen-IP: 10.2.0.5:6346\r\n"
                             "\r\n");
    Bytes accept = to_bytes("GNUTELLA/0.6 200 OK\r\n"
                            "User-Agent: gtk-gnutella/1.2.2 (2022-02-25)\r\n"
                            "X-Ultrapeer: True\r\n"
                            "X-Ultrapeer-Needed: False\r\n"
                            "Remote-IP: 10.2.0.5\r\n"
                            "\r\n");
    Bytes confirm = to_bytes("GNUTELLA/0.6 200 OK\r\n"
                             "\r\n");
    Bytes ping = descriptor(0x10, 0x00, 1, 0, {});
    Bytes pong = descriptor(0x10, 0x01, 1, 0,
                            join({le16(6346), ip_bytes("10.2.0.9"), le32(120), le32(524288)}));
    Bytes query = descriptor(0x30, 0x80, 4, 0, join({le16(0), to_bytes("ubuntu iso"), {0x00}}));
    Bytes ping2 = descriptor(0x50, 0x00, 1, 0, {});
    Bytes hit =
        join({le32(7), le32(4194304), to_bytes("ubuntu-22.04.iso"), {0x00}, to_bytes(urn), {0x00}});
    Bytes queryHit = descriptor(
        0x30, 0x81, 3, 1,
        join({{0x01}, le16(6346), ip_bytes("10.2.0.33"), le32(1000), hit, filler(16, 0x70)}));
    Bytes push = descriptor(0x90, 0x40, 7, 0,
                            join({filler(16, 0x70), le32(7), ip_bytes("10.2.0.5"), le16(6346)}));

    std::vector<Bytes> out = tcpConversation("10.2.0.5", "10.2.0.9", 40312, 6346,
                                             {{true, connect},
                                              {false, accept},
                                              {true, confirm},
                                              {true, ping},
                                              {false, pong},
                                              {true, join({query, ping2})},
                                              {false, queryHit},
                                              {true, push}});

    Bytes body1 = filler(16, 0xa0), body2 = filler(16, 0xb0);
    Bytes get = to_bytes("GET /get/7/ubuntu-22.04.iso HTTP/1.1\r\n"
                         "Host: 10.2.0.33:6346\r\n"
                         "User-Agent: LimeWire/4.18.8\r\n"
                         "Range: bytes=0-15\r\n"
                         "X-Queue: 0.1\r\n"
                         "\r\n");
    Bytes part1 = join({to_bytes("HTTP/1.1 206 Partial Content\r\n"
                                 "Server: gtk-gnutella/1.2.2 (2022-02-25)\r\n"
                                 "Content-Type: application/binary\r\n"
                                 "Content-Length: 16\r\n"
                                 "Content-Range: bytes 0-15/4194304\r\n"
                                 "X-Gnutella-Content-URN: " +
                                 urn +
                                 "\r\n"
                                 "\r\n"),
                        body1});
    Bytes getUrn = to_bytes("GET /uri-res/N2R?" + urn +
                            " HTTP/1.1\r\n"
                            "Host: 10.2.0.33:6346\r\n"
                            "User-Agent: LimeWire/4.18.8\r\n"
                            "Range: bytes=16-31\r\n"
                            "\r\n");
    Bytes part2 = to_bytes("HTTP/1.1 206 Partial Content\r\n"
                           "Server: gtk-gnutella/1.2.2 (2022-02-25)\r\n"
                           "Content-Length: 16\r\n"
                           "Content-Range: bytes 16-31/4194304\r\n"
                           "\r\n");
    for (Bytes& p : tcpConversation(
             "10.2.0.5", "10.2.0.33", 40320, 6346,
             {{true, get}, {false, part1}, {true, getUrn}, {false, part2}, {false, body2}}))
        out.push_back(std::move(p));
    // A web download whose path starts with /get/ but has none of Gnutella's header
    // fields: HTTP, not Gnutella.
    for (Bytes& p : tcpConversation("10.2.0.5", "10.2.0.80", 40330, 8080,
                                    {{true, to_bytes("GET /get/report.pdf HTTP/1.1\r\n"
                                                     "Host: files.example.net:8080\r\n"
                                                     "\r\n")}}))
        out.push_back(std::move(p));
    return out;
}

/// TLS fingerprints (JA3, JA3S, JA4) on ClientHellos built from the published examples:
/// the JA4 example of github.com/FoxIO-LLC/ja4 (technical_details/JA4.md: cipher suites,
/// extensions and signature algorithms in their "original order"), with GREASE values
/// (RFC 8701) added where clients put them; the JA3 example of github.com/salesforce/ja3
/// (README: "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0") with a
/// ServerHello; and a ClientHello without SNI whose first ALPN value does not print.
std::vector<Bytes> tlsFingerprints() {
    auto u16s = [](std::initializer_list<uint16_t> values) {
        Bytes out;
        for (uint16_t v : values) {
            Bytes b = be16(v);
            out.insert(out.end(), b.begin(), b.end());
        }
        return out;
    };
    auto ext = [](uint16_t type, const Bytes& data) {
        return join({be16(type), be16(uint16_t(data.size())), data});
    };
    auto vec16 = [](const Bytes& data) { return join({be16(uint16_t(data.size())), data}); };
    auto vec8 = [](const Bytes& data) { return join({Bytes{uint8_t(data.size())}, data}); };
    auto sni = [&](std::string_view host) {
        return ext(0, vec16(join({Bytes{0}, be16(uint16_t(host.size())), to_bytes(host)})));
    };
    auto alpn = [&](std::initializer_list<Bytes> names) {
        Bytes list;
        for (const Bytes& n : names) list = join({list, vec8(n)});
        return ext(16, vec16(list));
    };
    auto record = [](uint8_t hsType, uint16_t recordVersion, const Bytes& body) {
        Bytes hs = join({Bytes{hsType, uint8_t(body.size() >> 16), uint8_t(body.size() >> 8),
                               uint8_t(body.size())},
                         body});
        return join({Bytes{22}, be16(recordVersion), be16(uint16_t(hs.size())), hs});
    };
    auto clientHello = [&](uint16_t version, const Bytes& suites, const Bytes& extensions) {
        return record(1, 0x0301,
                      join({be16(version), filler(32, 0x11), Bytes{0}, vec16(suites), Bytes{1, 0},
                            vec16(extensions)}));
    };
    std::vector<Bytes> out;
    // JA4 = t13d1516h2_8daaf6152771_e5627efa2ab1
    Bytes chrome = clientHello(
        0x0303,
        u16s({0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
              0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035}),
        join({ext(0x1a1a, {}), ext(0x001b, {2, 0, 2}), sni("www.example.com"),
              ext(0x0033, vec16(join({be16(0x001d), vec16(filler(32, 0x22))}))),
              alpn({to_bytes("h2"), to_bytes("http/1.1")}),
              ext(0x4469, vec16(vec8(to_bytes("h2")))), ext(0x0017, {}), ext(0x002d, {1, 1}),
              ext(0x000d,
                  vec16(u16s({0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}))),
              ext(0x0005, {1, 0, 0, 0, 0}), ext(0x0023, {}), ext(0x0012, {}),
              ext(0x002b, vec8(u16s({0x5a5a, 0x0304, 0x0303}))), ext(0xff01, {0}),
              ext(0x000b, vec8({0})), ext(0x000a, vec16(u16s({0x6a6a, 0x001d, 0x0017, 0x0018}))),
              ext(0x0015, filler(16, 0)), ext(0x2a2a, {0})}));
    for (Bytes& p : tcpConversation("10.4.0.2", "93.184.216.34", 51000, 443, {{true, chrome}}))
        out.push_back(std::move(p));
    // JA3 = ada70206e40642a3e4461f35503241d5
    Bytes old = clientHello(
        0x0301, u16s({47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4}),
        join({sni("legacy.example.org"), ext(10, vec16(u16s({23, 24, 25}))), ext(11, vec8({0}))}));
    Bytes serverHello =
        record(2, 0x0301,
               join({be16(0x0301), filler(32, 0x33), Bytes{0}, be16(47), Bytes{0},
                     vec16(join({ext(0xff01, {0}), ext(0, {}), ext(11, vec8({0})), ext(0x23, {}),
                                 ext(5, {}), ext(16, vec16(vec8(to_bytes("http/1.1"))))}))}));
    for (Bytes& p :
         tcpConversation("10.4.0.2", "192.0.2.80", 51002, 443, {{true, old}, {false, serverHello}}))
        out.push_back(std::move(p));
    // No SNI: "i"; an ALPN value of two bytes that do not print, 0xab 0xcd: "ad".
    Bytes bare = clientHello(0x0303, u16s({0x1301, 0xc02b}),
                             join({alpn({Bytes{0xab, 0xcd}}), ext(0x000b, vec8({0}))}));
    for (Bytes& p : tcpConversation("10.4.0.2", "192.0.2.81", 51004, 443, {{true, bare}}))
        out.push_back(std::move(p));
    return out;
}

const std::map<std::string, Fixture>& fixtures() {
    static const std::map<std::string, Fixture> all = {
        {"geneve", {1, geneve}},
        {"teredo", {1, teredo_packets}},
        {"pppoe", {1, pppoe}},
        {"wlan", {105, wlan}},
        {"radiotap", {127, radiotap}},
        {"null", {0, nullLink}},
        {"hsrp", {1, hsrp}},
        {"l2tp", {1, l2tp}},
        {"ldp", {1, ldp}},
        {"radius", {1, radius}},
        {"vrrp", {1, vrrp}},
        {"wireguard", {1, wireguard}},
        {"snmp", {1, snmp}},
        {"coap", {1, coap}},
        {"bittorrent_dht", {1, bittorrentDht}},
        {"bacnet", {1, bacnet}},
        {"zabbix", {1, zabbix}},
        {"kafka", {1, kafka}},
        {"gnutella", {1, gnutella}},
        {"tls_fingerprints", {1, tlsFingerprints}},
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
