// Test fixture: builds packets layer by layer (link, VLAN, IPv4/IPv6, TCP/UDP/ICMP, payload).
#include "packet_builder.h"

#include <arpa/inet.h>
#include <cstdio>
#include <stdexcept>

namespace mmt::test {

namespace {

void put8(Bytes& b, uint32_t v) {
    b.push_back(static_cast<uint8_t>(v));
}
void put16(Bytes& b, uint32_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}
void set16(Bytes& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}
void append(Bytes& b, const Bytes& x) {
    b.insert(b.end(), x.begin(), x.end());
}

uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += (static_cast<uint32_t>(p[i]) << 8) | p[i + 1];
    if (n & 1) sum += static_cast<uint32_t>(p[n - 1]) << 8;
    return sum;
}

} // namespace

uint16_t inet_checksum(const uint8_t* data, size_t len, uint32_t sum) {
    uint64_t s = sum16(data, len, 0);
    s += sum;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(~s);
}

Bytes mac_bytes(std::string_view text) {
    Bytes out;
    unsigned v[6];
    std::string s(text);
    char extra;
    if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                    &extra) != 6)
        throw std::invalid_argument("bad MAC address: " + s);
    for (unsigned x : v) {
        if (x > 255) throw std::invalid_argument("bad MAC address: " + s);
        out.push_back(static_cast<uint8_t>(x));
    }
    return out;
}

Bytes ip_bytes(std::string_view text) {
    std::string s(text);
    Bytes out(16);
    if (inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
        out.resize(4);
        return out;
    }
    if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) return out;
    throw std::invalid_argument("bad IP address: " + s);
}

Bytes to_bytes(std::string_view text) {
    return Bytes(text.begin(), text.end());
}

std::vector<Bytes> tcp_handshake(const PacketBuilder& to_server, const PacketBuilder& to_client,
                                 uint16_t client_port, uint16_t server_port, uint32_t client_isn,
                                 uint32_t server_isn) {
    PacketBuilder syn = to_server, syn_ack = to_client, ack = to_server;
    syn.tcp(client_port, server_port).seq(client_isn).flags(SYN);
    syn_ack.tcp(server_port, client_port).seq(server_isn).ack(client_isn + 1).flags(SYN | ACK);
    ack.tcp(client_port, server_port).seq(client_isn + 1).ack(server_isn + 1).flags(ACK);
    return {syn.build(), syn_ack.build(), ack.build()};
}

Bytes join(std::initializer_list<Bytes> parts) {
    size_t total = 0;
    for (const Bytes& p : parts) total += p.size();
    Bytes out;
    out.reserve(total); // GCC 12's -Warray-bounds misjudges inserts into an empty vector
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// ---- layers ----

PacketBuilder::Layer& PacketBuilder::add(Kind k) {
    layers_.emplace_back();
    layers_.back().kind = k;
    return layers_.back();
}

PacketBuilder::Layer& PacketBuilder::last(std::initializer_list<Kind> kinds, const char* what) {
    for (size_t i = layers_.size(); i-- > 0;)
        for (Kind k : kinds)
            if (layers_[i].kind == k) return layers_[i];
    throw std::logic_error(std::string("PacketBuilder: no ") + what + " layer to modify");
}

PacketBuilder& PacketBuilder::eth(std::string_view src, std::string_view dst,
                                  std::optional<uint16_t> ethertype) {
    Layer& l = add(Kind::Eth);
    l.a = mac_bytes(src);
    l.b = mac_bytes(dst);
    l.type = ethertype;
    return *this;
}

PacketBuilder& PacketBuilder::vlan(uint16_t vid, uint8_t pcp, std::optional<uint16_t> ethertype) {
    Layer& l = add(Kind::Vlan);
    l.u1 = vid;
    l.u2 = pcp;
    l.u3 = 0x8100;
    l.type = ethertype;
    return *this;
}

PacketBuilder& PacketBuilder::svlan(uint16_t vid, uint8_t pcp) {
    vlan(vid, pcp);
    layers_.back().u3 = 0x88a8;
    return *this;
}

PacketBuilder& PacketBuilder::sll(uint16_t pkttype, std::string_view addr, uint16_t arphrd,
                                  std::optional<uint16_t> protocol) {
    Layer& l = add(Kind::Sll);
    l.a = mac_bytes(addr);
    l.u1 = pkttype;
    l.u2 = arphrd;
    l.type = protocol;
    return *this;
}

PacketBuilder& PacketBuilder::sll2(uint32_t ifindex, uint8_t pkttype, std::string_view addr,
                                   uint16_t arphrd, std::optional<uint16_t> protocol) {
    Layer& l = add(Kind::Sll2);
    l.a = mac_bytes(addr);
    l.u1 = pkttype;
    l.u2 = arphrd;
    l.u3 = ifindex;
    l.type = protocol;
    return *this;
}

PacketBuilder& PacketBuilder::null_link(bool big_endian, std::optional<uint32_t> family) {
    Layer& l = add(Kind::Null);
    l.flag = big_endian;
    l.u1 = family.value_or(0);
    l.u2 = family.has_value();
    return *this;
}

PacketBuilder& PacketBuilder::ipv4(std::string_view src, std::string_view dst) {
    Bytes a = ip_bytes(src), b = ip_bytes(dst);
    if (a.size() != 4 || b.size() != 4) throw std::invalid_argument("ipv4() needs IPv4 addresses");
    Layer& l = add(Kind::Ipv4);
    l.a = std::move(a);
    l.b = std::move(b);
    return *this;
}

PacketBuilder& PacketBuilder::ipv6(std::string_view src, std::string_view dst) {
    Bytes a = ip_bytes(src), b = ip_bytes(dst);
    if (a.size() != 16 || b.size() != 16)
        throw std::invalid_argument("ipv6() needs IPv6 addresses");
    Layer& l = add(Kind::Ipv6);
    l.a = std::move(a);
    l.b = std::move(b);
    return *this;
}

PacketBuilder& PacketBuilder::ipv6_ext(uint8_t type, const Bytes& data) {
    Layer& l = add(Kind::Ipv6Ext);
    l.u1 = type;
    l.data = data;
    return *this;
}

PacketBuilder& PacketBuilder::ipv6_frag(uint16_t offset, bool more, uint32_t id,
                                        std::optional<uint8_t> next_header) {
    Layer& l = add(Kind::Ipv6Frag);
    l.u1 = offset;
    l.flag = more;
    l.u2 = id;
    if (next_header) l.type = *next_header;
    return *this;
}

PacketBuilder& PacketBuilder::tcp(uint16_t sport, uint16_t dport) {
    Layer& l = add(Kind::Tcp);
    l.u1 = sport;
    l.u2 = dport;
    l.flags = ACK;
    return *this;
}

PacketBuilder& PacketBuilder::udp(uint16_t sport, uint16_t dport) {
    Layer& l = add(Kind::Udp);
    l.u1 = sport;
    l.u2 = dport;
    return *this;
}

PacketBuilder& PacketBuilder::icmp(uint8_t type, uint8_t code, uint32_t rest) {
    Layer& l = add(Kind::Icmp);
    l.u1 = type;
    l.u2 = code;
    l.u3 = rest;
    return *this;
}

PacketBuilder& PacketBuilder::icmpv6(uint8_t type, uint8_t code, uint32_t rest) {
    icmp(type, code, rest);
    layers_.back().kind = Kind::Icmpv6;
    return *this;
}

PacketBuilder& PacketBuilder::payload(const Bytes& data) {
    payload_ = data;
    return *this;
}

PacketBuilder& PacketBuilder::payload(std::string_view text) {
    return payload(to_bytes(text));
}

// ---- field setters ----

PacketBuilder& PacketBuilder::ip_id(uint16_t id) {
    last({Kind::Ipv4}, "ipv4").u3 = id;
    return *this;
}

PacketBuilder& PacketBuilder::frag(uint16_t offset, bool more) {
    Layer& l = last({Kind::Ipv4}, "ipv4");
    l.u1 = offset;
    l.flags = static_cast<uint8_t>((l.flags & ~1u) | (more ? 1u : 0u));
    return *this;
}

PacketBuilder& PacketBuilder::dont_fragment(bool on) {
    Layer& l = last({Kind::Ipv4}, "ipv4");
    l.flags = static_cast<uint8_t>((l.flags & ~2u) | (on ? 2u : 0u));
    return *this;
}

PacketBuilder& PacketBuilder::tos(uint8_t tos) {
    last({Kind::Ipv4}, "ipv4").tos = tos;
    return *this;
}

PacketBuilder& PacketBuilder::ip_options(const Bytes& options) {
    last({Kind::Ipv4}, "ipv4").data = options;
    return *this;
}

PacketBuilder& PacketBuilder::total_length(uint16_t len) {
    last({Kind::Ipv4}, "ipv4").length = len;
    return *this;
}

PacketBuilder& PacketBuilder::ip_proto(uint8_t proto) {
    last({Kind::Ipv4}, "ipv4").type = proto;
    return *this;
}

PacketBuilder& PacketBuilder::ttl(uint8_t ttl) {
    last({Kind::Ipv4, Kind::Ipv6}, "IP").ttl = ttl;
    return *this;
}

PacketBuilder& PacketBuilder::flow_label(uint32_t label) {
    last({Kind::Ipv6}, "ipv6").u1 = label;
    return *this;
}

PacketBuilder& PacketBuilder::next_header(uint8_t nh) {
    last({Kind::Ipv6}, "ipv6").type = nh;
    return *this;
}

PacketBuilder& PacketBuilder::payload_length(uint16_t len) {
    last({Kind::Ipv6}, "ipv6").length = len;
    return *this;
}

PacketBuilder& PacketBuilder::seq(uint32_t seq) {
    last({Kind::Tcp}, "tcp").seq = seq;
    return *this;
}

PacketBuilder& PacketBuilder::ack(uint32_t ack) {
    last({Kind::Tcp}, "tcp").ack = ack;
    return *this;
}

PacketBuilder& PacketBuilder::flags(uint8_t flags) {
    last({Kind::Tcp}, "tcp").flags = flags;
    return *this;
}

PacketBuilder& PacketBuilder::window(uint16_t window) {
    last({Kind::Tcp}, "tcp").window = window;
    return *this;
}

PacketBuilder& PacketBuilder::tcp_options(const Bytes& options) {
    last({Kind::Tcp}, "tcp").data = options;
    return *this;
}

PacketBuilder& PacketBuilder::udp_length(uint16_t len) {
    last({Kind::Udp}, "udp").length = len;
    return *this;
}

PacketBuilder& PacketBuilder::no_checksum() {
    last({Kind::Udp}, "udp").flag = true;
    return *this;
}

PacketBuilder& PacketBuilder::bad_checksum() {
    last({Kind::Ipv4, Kind::Tcp, Kind::Udp, Kind::Icmp, Kind::Icmpv6}, "checksummed").bad_checksum =
        true;
    return *this;
}

// ---- serialisation ----

Bytes PacketBuilder::build() const {
    const size_t n = layers_.size();
    // The EtherType, IP protocol number and address family that announce layer i.
    auto ethertype_of = [&](size_t i) -> uint16_t {
        if (i >= n) return 0;
        switch (layers_[i].kind) {
        case Kind::Vlan:
            return static_cast<uint16_t>(layers_[i].u3);
        case Kind::Ipv4:
            return 0x0800;
        case Kind::Ipv6:
            return 0x86dd;
        case Kind::Eth:
            return 0x6558;
        default:
            return 0;
        }
    };
    auto ipproto_of = [&](size_t i) -> uint8_t {
        if (i >= n) return 253;
        switch (layers_[i].kind) {
        case Kind::Tcp:
            return 6;
        case Kind::Udp:
            return 17;
        case Kind::Icmp:
            return 1;
        case Kind::Icmpv6:
            return 58;
        case Kind::Ipv4:
            return 4;
        case Kind::Ipv6:
            return 41;
        case Kind::Ipv6Ext:
            return static_cast<uint8_t>(layers_[i].u1);
        case Kind::Ipv6Frag:
            return 44;
        case Kind::Eth:
            return 97; // EtherIP
        default:
            return 253;
        }
    };
    // Pseudo-header sum for a transport layer at i: the nearest IP header before it.
    auto pseudo_sum = [&](size_t i, uint8_t proto, size_t len) -> uint32_t {
        size_t j = i;
        while (j > 0) {
            --j;
            const Layer& l = layers_[j];
            if (l.kind == Kind::Ipv4 || l.kind == Kind::Ipv6) {
                uint32_t s = sum16(l.a.data(), l.a.size(), 0);
                s = sum16(l.b.data(), l.b.size(), s);
                s += proto;
                s += static_cast<uint32_t>(len >> 16) + static_cast<uint32_t>(len & 0xffff);
                return s;
            }
            if (l.kind != Kind::Ipv6Ext && l.kind != Kind::Ipv6Frag) break;
        }
        return 0;
    };

    Bytes inner = payload_;
    for (size_t k = n; k-- > 0;) {
        const Layer& l = layers_[k];
        Bytes h;
        switch (l.kind) {
        case Kind::Eth:
            append(h, l.b);
            append(h, l.a);
            put16(h, l.type.value_or(ethertype_of(k + 1)));
            break;
        case Kind::Vlan:
            put16(h, (l.u2 << 13) | (l.u1 & 0x0fff));
            put16(h, l.type.value_or(ethertype_of(k + 1)));
            break;
        case Kind::Sll:
            put16(h, l.u1);
            put16(h, l.u2);
            put16(h, static_cast<uint32_t>(l.a.size()));
            append(h, l.a);
            h.resize(14, 0);
            put16(h, l.type.value_or(ethertype_of(k + 1)));
            break;
        case Kind::Sll2:
            put16(h, l.type.value_or(ethertype_of(k + 1)));
            put16(h, 0);
            put32(h, l.u3);
            put16(h, l.u2);
            put8(h, l.u1);
            put8(h, static_cast<uint32_t>(l.a.size()));
            append(h, l.a);
            h.resize(20, 0);
            break;
        case Kind::Null: {
            uint32_t fam = l.u2 ? l.u1 : (ethertype_of(k + 1) == 0x86dd ? 30 : 2);
            if (l.flag) {
                put32(h, fam);
            } else {
                for (int i = 0; i < 4; ++i) put8(h, fam >> (8 * i));
            }
            break;
        }
        case Kind::Ipv4: {
            Bytes opts = l.data;
            while (opts.size() % 4) opts.push_back(0);
            size_t hl = 20 + opts.size();
            put8(h, 0x40 | static_cast<uint32_t>(hl / 4));
            put8(h, l.tos);
            put16(h, l.length.value_or(static_cast<uint16_t>(hl + inner.size())));
            put16(h, l.u3);
            put16(h, ((l.flags & 2) ? 0x4000u : 0u) | ((l.flags & 1) ? 0x2000u : 0u) |
                         ((l.u1 / 8) & 0x1fff));
            put8(h, l.ttl);
            put8(h, l.type.value_or(ipproto_of(k + 1)));
            put16(h, 0);
            append(h, l.a);
            append(h, l.b);
            append(h, opts);
            uint16_t c = inet_checksum(h.data(), h.size());
            set16(h, 10, l.bad_checksum ? static_cast<uint16_t>(c + 1) : c);
            break;
        }
        case Kind::Ipv6: {
            put32(h, (6u << 28) | (l.u1 & 0xfffff));
            put16(h, l.length.value_or(static_cast<uint16_t>(inner.size())));
            put8(h, l.type.value_or(ipproto_of(k + 1)));
            put8(h, l.ttl);
            append(h, l.a);
            append(h, l.b);
            break;
        }
        case Kind::Ipv6Ext: {
            put8(h, ipproto_of(k + 1));
            put8(h, 0);
            append(h, l.data);
            while (h.size() % 8) h.push_back(0);
            h[1] = static_cast<uint8_t>(h.size() / 8 - 1);
            break;
        }
        case Kind::Ipv6Frag:
            put8(h, l.type.value_or(ipproto_of(k + 1)));
            put8(h, 0);
            put16(h, (l.u1 & 0xfff8) | (l.flag ? 1u : 0u));
            put32(h, l.u2);
            break;
        case Kind::Tcp: {
            Bytes opts = l.data;
            while (opts.size() % 4) opts.push_back(0);
            size_t hl = 20 + opts.size();
            put16(h, l.u1);
            put16(h, l.u2);
            put32(h, l.seq);
            put32(h, l.ack);
            put8(h, static_cast<uint32_t>(hl / 4) << 4);
            put8(h, l.flags);
            put16(h, l.window);
            put16(h, 0);
            put16(h, 0); // urgent pointer
            append(h, opts);
            size_t len = h.size() + inner.size();
            uint32_t s = sum16(inner.data(), inner.size(), pseudo_sum(k, 6, len));
            uint16_t c = inet_checksum(h.data(), h.size(), s);
            set16(h, 16, l.bad_checksum ? static_cast<uint16_t>(c + 1) : c);
            break;
        }
        case Kind::Udp: {
            size_t len = 8 + inner.size();
            put16(h, l.u1);
            put16(h, l.u2);
            put16(h, l.length.value_or(static_cast<uint16_t>(len)));
            put16(h, 0);
            if (!l.flag) {
                uint32_t s = sum16(inner.data(), inner.size(), pseudo_sum(k, 17, len));
                uint16_t c = inet_checksum(h.data(), h.size(), s);
                if (c == 0) c = 0xffff; // 0 means "no checksum"
                set16(h, 6, l.bad_checksum ? static_cast<uint16_t>(c + 1) : c);
            }
            break;
        }
        case Kind::Icmp:
        case Kind::Icmpv6: {
            put8(h, l.u1);
            put8(h, l.u2);
            put16(h, 0);
            put32(h, l.u3);
            uint32_t s = l.kind == Kind::Icmpv6 ? pseudo_sum(k, 58, h.size() + inner.size()) : 0;
            s = sum16(inner.data(), inner.size(), s);
            uint16_t c = inet_checksum(h.data(), h.size(), s);
            set16(h, 2, l.bad_checksum ? static_cast<uint16_t>(c + 1) : c);
            break;
        }
        }
        h.insert(h.end(), inner.begin(), inner.end());
        inner.swap(h);
    }
    return inner;
}

} // namespace mmt::test
