// Test fixture: builds packets layer by layer (link, VLAN, IPv4/IPv6, TCP/UDP/ICMP, payload).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mmt::test {

using Bytes = std::vector<uint8_t>;

/// TCP flag bits, for PacketBuilder::flags().
enum TcpFlag : uint8_t {
    FIN = 0x01,
    SYN = 0x02,
    RST = 0x04,
    PSH = 0x08,
    ACK = 0x10,
    URG = 0x20,
    ECE = 0x40,
    CWR = 0x80
};

/// Builds one packet from the outermost layer inwards; build() serialises it with correct
/// lengths, next-protocol numbers and checksums. Example:
///   Bytes p = PacketBuilder().eth().vlan(10).ipv4("10.0.0.1", "10.0.0.2").ttl(3)
///                 .tcp(1234, 80).seq(1).flags(SYN).payload("hi").build();
/// Field setters (ttl, seq, ...) change the most recent layer of their kind and throw
/// std::logic_error when there is none. Raw IP frames simply start with ipv4() or ipv6().
/// Addresses are text ("10.0.0.1", "2001:db8::1", "02:00:00:00:00:01"); a malformed address
/// throws std::invalid_argument. Defaults: TTL/hop limit 64, TCP flags ACK, window 65535.
class PacketBuilder {
  public:
    /// Ethernet II; the EtherType defaults to the next layer's (0x0800, 0x86dd, 0x8100 ...).
    PacketBuilder& eth(std::string_view src = "02:00:00:00:00:01",
                       std::string_view dst = "02:00:00:00:00:02",
                       std::optional<uint16_t> ethertype = std::nullopt);
    /// 802.1Q tag (TPID 0x8100).
    PacketBuilder& vlan(uint16_t vid, uint8_t pcp = 0,
                        std::optional<uint16_t> ethertype = std::nullopt);
    /// 802.1ad service tag (TPID 0x88a8); follow with vlan() for QinQ.
    PacketBuilder& svlan(uint16_t vid, uint8_t pcp = 0);
    /// Linux cooked capture v1 (LINKTYPE 113, 16 bytes).
    PacketBuilder& sll(uint16_t pkttype = 0, std::string_view addr = "02:00:00:00:00:01",
                       uint16_t arphrd = 1, std::optional<uint16_t> protocol = std::nullopt);
    /// Linux cooked capture v2 (LINKTYPE 276, 20 bytes).
    PacketBuilder& sll2(uint32_t ifindex = 1, uint8_t pkttype = 0,
                        std::string_view addr = "02:00:00:00:00:01", uint16_t arphrd = 1,
                        std::optional<uint16_t> protocol = std::nullopt);
    /// BSD loopback: a 4-byte address family (2 for IPv4, 30 for IPv6) in host order of
    /// the capturing machine; little endian for LINKTYPE_NULL (0) as written by x86,
    /// big endian for LINKTYPE_LOOP (108).
    PacketBuilder& null_link(bool big_endian = false,
                             std::optional<uint32_t> family = std::nullopt);
    /// IPv4 header.
    PacketBuilder& ipv4(std::string_view src, std::string_view dst);
    /// IPv6 header.
    PacketBuilder& ipv6(std::string_view src, std::string_view dst);
    /// IPv6 extension header of the Hop-by-Hop (0), Routing (43) or Destination Options (60)
    /// kind: `data` is what follows the next-header and length bytes, padded with zeros to a
    /// multiple of 8 bytes in all.
    PacketBuilder& ipv6_ext(uint8_t type, const Bytes& data = {});
    /// IPv6 Fragment header (44): offset in bytes (a multiple of 8).
    PacketBuilder& ipv6_frag(uint16_t offset, bool more, uint32_t id,
                             std::optional<uint8_t> next_header = std::nullopt);
    /// TCP header.
    PacketBuilder& tcp(uint16_t sport, uint16_t dport);
    /// UDP header.
    PacketBuilder& udp(uint16_t sport, uint16_t dport);
    /// ICMP header: type, code, checksum and the 4 "rest of header" bytes.
    PacketBuilder& icmp(uint8_t type, uint8_t code, uint32_t rest = 0);
    /// ICMPv6 header; the checksum covers the IPv6 pseudo-header.
    PacketBuilder& icmpv6(uint8_t type, uint8_t code, uint32_t rest = 0);
    /// Bytes after the last header (may be called once, last).
    PacketBuilder& payload(const Bytes& data);
    PacketBuilder& payload(std::string_view text);

    // -- IPv4 fields (last ipv4 layer) --
    /// IPv4 identification.
    PacketBuilder& ip_id(uint16_t id);
    /// IPv4 fragment: offset in bytes (a multiple of 8) and the more-fragments flag.
    PacketBuilder& frag(uint16_t offset, bool more);
    /// IPv4 don't-fragment flag.
    PacketBuilder& dont_fragment(bool on = true);
    /// IPv4 type of service.
    PacketBuilder& tos(uint8_t tos);
    /// IPv4 options (raw bytes, padded to a multiple of 4 with EOL).
    PacketBuilder& ip_options(const Bytes& options);
    /// IPv4 total length, instead of the computed one.
    PacketBuilder& total_length(uint16_t len);
    /// IPv4 protocol number, instead of the next layer's (253 after a bare payload).
    PacketBuilder& ip_proto(uint8_t proto);
    // -- fields of the last IP layer of either version --
    /// IPv4 TTL or IPv6 hop limit.
    PacketBuilder& ttl(uint8_t ttl);
    // -- IPv6 fields (last ipv6 layer) --
    /// IPv6 flow label.
    PacketBuilder& flow_label(uint32_t label);
    /// IPv6 next header, instead of the next layer's.
    PacketBuilder& next_header(uint8_t nh);
    /// IPv6 payload length, instead of the computed one.
    PacketBuilder& payload_length(uint16_t len);
    // -- TCP fields (last tcp layer) --
    PacketBuilder& seq(uint32_t seq);
    PacketBuilder& ack(uint32_t ack);
    /// TCP flags (TcpFlag bits), replacing the default ACK.
    PacketBuilder& flags(uint8_t flags);
    PacketBuilder& window(uint16_t window);
    /// TCP options (raw bytes, padded to a multiple of 4 with EOL).
    PacketBuilder& tcp_options(const Bytes& options);
    // -- UDP fields (last udp layer) --
    /// UDP length field, instead of the computed one.
    PacketBuilder& udp_length(uint16_t len);
    /// UDP checksum 0 ("none").
    PacketBuilder& no_checksum();
    // -- any layer with a checksum (the last one added) --
    /// Stores the correct checksum plus one.
    PacketBuilder& bad_checksum();

    /// Serialises the packet.
    Bytes build() const;

  private:
    enum class Kind {
        Eth,
        Vlan,
        Sll,
        Sll2,
        Null,
        Ipv4,
        Ipv6,
        Ipv6Ext,
        Ipv6Frag,
        Tcp,
        Udp,
        Icmp,
        Icmpv6
    };
    struct Layer {
        Kind kind = Kind::Eth;
        Bytes a, b;                      // addresses (source, destination)
        std::optional<uint16_t> type;    // EtherType / protocol / next header override
        std::optional<uint16_t> length;  // length field override
        uint32_t u1 = 0, u2 = 0, u3 = 0; // small fields, meaning per kind
        uint32_t seq = 0, ack = 0;
        uint16_t window = 65535;
        uint8_t flags = 0; // TCP flags; IPv4: bit 0 MF, bit 1 DF
        uint8_t ttl = 64, tos = 0;
        bool flag = false;
        bool bad_checksum = false;
        Bytes data; // options / extension header data
    };
    Layer& add(Kind k);
    Layer& last(std::initializer_list<Kind> kinds, const char* what);
    std::vector<Layer> layers_;
    Bytes payload_;
};

/// The three packets that open a TCP connection: SYN (sequence number `client_isn`),
/// SYN/ACK (`server_isn`) and ACK. `to_server` and `to_client` hold the layers below TCP
/// (link, IP), each way.
std::vector<Bytes> tcp_handshake(const PacketBuilder& to_server, const PacketBuilder& to_client,
                                 uint16_t client_port, uint16_t server_port, uint32_t client_isn,
                                 uint32_t server_isn);

/// Internet checksum (RFC 1071) of `data`, starting from the partial sum `sum`.
uint16_t inet_checksum(const uint8_t* data, size_t len, uint32_t sum = 0);

/// Parses "a:b:c:d:e:f" into 6 bytes; throws std::invalid_argument.
Bytes mac_bytes(std::string_view text);
/// Parses an IPv4 or IPv6 address into 4 or 16 bytes; throws std::invalid_argument.
Bytes ip_bytes(std::string_view text);
/// Bytes of a string (no terminator).
Bytes to_bytes(std::string_view text);
/// The parts, one after the other.
Bytes join(std::initializer_list<Bytes> parts);

} // namespace mmt::test
