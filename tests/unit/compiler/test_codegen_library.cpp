// The built-in protocol library compiled as a whole, run on hand-built packets along the
// classify chain from `frame`; and the LLVM struct layouts of generated code against abi.h.
#include "codegen/jit.h"
#include "codegen_util.h"
#include "library_packets.h"

#include <cstddef>
#include <deque>

using namespace mmtc::test;

TEST_CASE("generated code lays out every ABI struct as abi.h does", "[codegen][abi]") {
    auto layouts = mmtc::codegen::abiLayouts();
    REQUIRE(layouts.size() == 12);
    auto find = [&](const std::string& n) -> const mmtc::codegen::AbiLayout& {
        for (const auto& l : layouts)
            if (l.name == n) return l;
        FAIL("no layout " << n);
        return layouts[0];
    };
#define FIELDS(T, ...)                                                                             \
    do {                                                                                           \
        const auto& l = find(#T);                                                                  \
        std::vector<unsigned long long> want = {__VA_ARGS__};                                      \
        INFO(#T);                                                                                  \
        CHECK(l.size == sizeof(T));                                                                \
        CHECK(l.offsets == want);                                                                  \
    } while (0)
    FIELDS(mmt_value, offsetof(mmt_value, type), offsetof(mmt_value, len), offsetof(mmt_value, u),
           offsetof(mmt_value, ptr));
    FIELDS(mmt_parse_result, offsetof(mmt_parse_result, status),
           offsetof(mmt_parse_result, fail_reason), offsetof(mmt_parse_result, fail_field),
           offsetof(mmt_parse_result, fail_offset), offsetof(mmt_parse_result, header_len),
           offsetof(mmt_parse_result, payload_len), offsetof(mmt_parse_result, payload_truncated),
           offsetof(mmt_parse_result, reserved));
    FIELDS(mmt_ctx, offsetof(mmt_ctx, data), offsetof(mmt_ctx, len), offsetof(mmt_ctx, direction),
           offsetof(mmt_ctx, linktype), offsetof(mmt_ctx, parent_id), offsetof(mmt_ctx, parent),
           offsetof(mmt_ctx, scratch), offsetof(mmt_ctx, memo), offsetof(mmt_ctx, state),
           offsetof(mmt_ctx, events_wanted), offsetof(mmt_ctx, emit), offsetof(mmt_ctx, user));
    FIELDS(mmt_scratch, offsetof(mmt_scratch, base), offsetof(mmt_scratch, cap),
           offsetof(mmt_scratch, used));
    FIELDS(mmt_key, offsetof(mmt_key, shared_len), offsetof(mmt_key, a_len),
           offsetof(mmt_key, b_len), offsetof(mmt_key, overflow), offsetof(mmt_key, shared),
           offsetof(mmt_key, a), offsetof(mmt_key, b));
    FIELDS(mmt_class_result, offsetof(mmt_class_result, next_id),
           offsetof(mmt_class_result, weight), offsetof(mmt_class_result, flags));
    FIELDS(mmt_stream_info, offsetof(mmt_stream_info, seq), offsetof(mmt_stream_info, flags));
    FIELDS(mmt_frag_info, offsetof(mmt_frag_info, id), offsetof(mmt_frag_info, offset),
           offsetof(mmt_frag_info, more));
    FIELDS(mmt_attr, offsetof(mmt_attr, name), offsetof(mmt_attr, type), offsetof(mmt_attr, kind),
           offsetof(mmt_attr, get), offsetof(mmt_attr, event_index), offsetof(mmt_attr, hex_digits),
           offsetof(mmt_attr, description));
    FIELDS(
        mmt_proto, offsetof(mmt_proto, id), offsetof(mmt_proto, name), offsetof(mmt_proto, flags),
        offsetof(mmt_proto, session_timeout_ms), offsetof(mmt_proto, state_size),
        offsetof(mmt_proto, n_attrs), offsetof(mmt_proto, attrs), offsetof(mmt_proto, n_fields),
        offsetof(mmt_proto, fields), offsetof(mmt_proto, pdu_terminator),
        offsetof(mmt_proto, pdu_terminator_len), offsetof(mmt_proto, max_pdu),
        offsetof(mmt_proto, validate), offsetof(mmt_proto, analyse), offsetof(mmt_proto, key),
        offsetof(mmt_proto, classify), offsetof(mmt_proto, pdu_length), offsetof(mmt_proto, update),
        offsetof(mmt_proto, init_state), offsetof(mmt_proto, stream), offsetof(mmt_proto, fragment),
        offsetof(mmt_proto, sides), offsetof(mmt_proto, release_state));
    FIELDS(mmt_service, offsetof(mmt_service, name), offsetof(mmt_service, n_names),
           offsetof(mmt_service, names), offsetof(mmt_service, n_prefixes),
           offsetof(mmt_service, prefixes));
    FIELDS(mmt_library, offsetof(mmt_library, abi_version), offsetof(mmt_library, n_protos),
           offsetof(mmt_library, protos), offsetof(mmt_library, n_services),
           offsetof(mmt_library, services));
#undef FIELDS
}

TEST_CASE("the library table describes what the specs declare", "[codegen][abi]") {
    auto lib = Compiled::from(R"(
protocol tab {
    id 300;
    header { a : u8; b : u8; _ : u8; c : bytes until "\r\n"; }
    body { rest : bytes; }
    attribute a, b;
    event attribute e : bytes = rest;
    session key (a) <-> (b) timeout 5s;
    state { n : u32 = 7; }
    update n = n + 1;
    pdu until "\r\n";
    classify by value (a) { 1 => tab2; }
}
protocol tab2 { id 301; header { x : u8; } attribute x; }
)");
    const mmt_library* t = lib.lib->table();
    CHECK(t->abi_version == MMT_ABI_VERSION);
    REQUIRE(t->n_protos == 3);
    CHECK(std::string(t->protos[0].name) == "frame");
    CHECK(t->protos[0].id == 0);
    CHECK(t->protos[0].flags & MMT_PROTO_BUILTIN);
    // Protocols in id order.
    CHECK(t->protos[1].id == 300);
    CHECK(t->protos[2].id == 301);
    const mmt_proto& p = t->protos[1];
    CHECK(std::string(p.name) == "tab");
    CHECK(p.flags == (MMT_PROTO_HAS_KEY | MMT_PROTO_SESSION | MMT_PROTO_PDU_UNTIL));
    CHECK(p.session_timeout_ms == 5000);
    CHECK(p.state_size == 8);
    REQUIRE(p.n_fields == 4); // the padding field has no name
    CHECK(std::string(p.fields[0]) == "a");
    CHECK(std::string(p.fields[2]) == "c");
    CHECK(std::string(p.fields[3]) == "rest");
    CHECK(p.validate);
    CHECK(p.analyse);
    CHECK(p.key);
    CHECK(p.sides);
    CHECK(p.classify);
    CHECK(p.update);
    CHECK(p.init_state);
    CHECK(p.pdu_length == nullptr);
    CHECK(p.stream == nullptr);
    CHECK(p.fragment == nullptr);
    REQUIRE(p.n_attrs == 3);
    CHECK(p.attrs[2].kind == MMT_ATTR_EVENT);
    CHECK(p.attrs[2].type == MMT_T_BYTES);
    CHECK(p.attrs[2].get == nullptr);
    const mmt_proto& q = t->protos[2];
    CHECK(q.analyse == nullptr);
    CHECK(q.key == nullptr);
    CHECK(q.classify == nullptr);
    CHECK(q.update == nullptr);
    CHECK(q.init_state == nullptr);
    CHECK(q.state_size == 0);
}

namespace {

/// The built-in library, compiled once for every test of this file.
const Compiled& builtin() {
    static Compiled lib = Compiled::from("", /*withBuiltin=*/true);
    return lib;
}

/// One protocol on the path of a packet.
struct Hop {
    const mmt_proto* p = nullptr;
    mmt_ctx ctx{};
    mmt_parse_result res{};
    uint8_t scratch[2048];
    mmt_scratch mem{};
};

/// Walks a packet from `frame` as the journey does: validate, then classify to the next
/// protocol, on the payload the parent reports. Returns every protocol met.
std::deque<Hop> journey(const std::vector<uint8_t>& bytes, uint32_t linktype) {
    const mmt_library* t = builtin().lib->table();
    std::deque<Hop> path;
    const mmt_proto* p = &t->protos[0];
    const uint8_t* data = bytes.data();
    uint32_t len = uint32_t(bytes.size());
    const mmt_ctx* parent = nullptr;
    uint32_t parentId = 0;
    for (int depth = 0; depth < 16 && p; ++depth) {
        Hop& h = path.emplace_back();
        h.p = p;
        h.ctx.data = data;
        h.ctx.len = len;
        h.ctx.linktype = linktype;
        h.ctx.parent = parent;
        h.ctx.parent_id = parentId;
        h.mem = mmt_scratch{h.scratch, sizeof h.scratch, 0};
        h.ctx.scratch = &h.mem;
        INFO(p->name);
        REQUIRE(p->validate(&h.ctx, &h.res) == MMT_OK);
        if (!p->classify) break;
        mmt_class_result cr{};
        if (!p->classify(&h.ctx, &h.res, &cr)) break;
        const mmt_proto* next = nullptr;
        for (uint32_t i = 0; i < t->n_protos; ++i)
            if (t->protos[i].id == cr.next_id) next = &t->protos[i];
        REQUIRE(next);
        data += h.res.header_len;
        len = h.res.payload_len;
        parent = &h.ctx;
        parentId = p->id;
        p = next;
    }
    return path;
}

std::string names(const std::deque<Hop>& path) {
    std::string s;
    for (const Hop& h : path) s += (s.empty() ? "" : ".") + std::string(h.p->name);
    return s;
}

const Hop& hop(std::deque<Hop>& path, const std::string& name) {
    for (Hop& h : path)
        if (name == h.p->name) return h;
    FAIL("no " << name << " on the path " << names(path));
    return path.front();
}

/// A request-based attribute as text ("<absent>" when absent).
std::string attr(std::deque<Hop>& path, const std::string& proto, const std::string& name) {
    Hop& h = const_cast<Hop&>(hop(path, proto));
    int i = Compiled::attrIndex(*h.p, name);
    INFO(proto << "." << name);
    REQUIRE(i >= 0);
    REQUIRE(h.p->attrs[i].get);
    mmt_value v{};
    if (!h.p->attrs[i].get(&h.ctx, &v)) return "<absent>";
    return Ctx::render(v);
}

/// Every occurrence of an event attribute, from analyse.
std::vector<std::string> events(std::deque<Hop>& path, const std::string& proto,
                                const std::string& name) {
    Hop& h = const_cast<Hop&>(hop(path, proto));
    int i = Compiled::attrIndex(*h.p, name);
    INFO(proto << "." << name);
    REQUIRE(i >= 0);
    REQUIRE(h.p->attrs[i].kind == MMT_ATTR_EVENT);
    REQUIRE(h.p->analyse);
    struct Sink {
        uint32_t want;
        std::vector<std::string> got;
    } sink{uint32_t(i), {}};
    mmt_ctx c = h.ctx;
    c.user = &sink;
    c.events_wanted = uint64_t(1) << h.p->attrs[i].event_index;
    c.emit = [](mmt_ctx* ctx, uint32_t a, const mmt_value* v) {
        auto* s = static_cast<Sink*>(ctx->user);
        if (a == s->want) s->got.push_back(Ctx::render(*v));
    };
    mmt_parse_result r{};
    CHECK(h.p->analyse(&c, &r) == MMT_OK);
    return sink.got;
}

/// Either kind: what a user asking for `proto.name` gets, joined by ','.
std::string value(std::deque<Hop>& path, const std::string& proto, const std::string& name) {
    const Hop& h = hop(path, proto);
    int i = Compiled::attrIndex(*h.p, name);
    REQUIRE(i >= 0);
    if (h.p->attrs[i].kind == MMT_ATTR_REQUEST) return attr(path, proto, name);
    std::string s;
    for (const auto& v : events(path, proto, name)) s += (s.empty() ? "" : ",") + v;
    return s;
}

} // namespace

TEST_CASE("built-in library: Ethernet, IPv4, TCP, HTTP", "[codegen][library]") {
    auto path = journey(packets::ethIpv4TcpHttp(), 1);
    CHECK(names(path) == "frame.ethernet.ipv4.tcp.http");
    CHECK(attr(path, "ethernet", "ethertype") == "2048");
    CHECK(attr(path, "ethernet", "src") == "2.0.0.0.0.1");
    CHECK(attr(path, "ipv4", "src") == "10.0.0.1");
    CHECK(attr(path, "ipv4", "dst") == "10.0.0.2");
    CHECK(attr(path, "ipv4", "ttl") == "64");
    CHECK(attr(path, "ipv4", "proto") == "6");
    CHECK(attr(path, "ipv4", "total_length") ==
          std::to_string(packets::ethIpv4TcpHttp().size() - 14));
    CHECK(attr(path, "tcp", "src_port") == "40000");
    CHECK(attr(path, "tcp", "dst_port") == "80");
    CHECK(attr(path, "tcp", "seq") == "1000");
    CHECK(attr(path, "tcp", "psh") == "1");
    CHECK(attr(path, "tcp", "syn") == "0");
    CHECK(value(path, "http", "method") == "GET");
    CHECK(value(path, "http", "uri") == "/index.html");
    CHECK(value(path, "http", "host") == "example.com");
    CHECK(value(path, "http", "user_agent") == "mmt-test/1.0");
    // Keys: IPv4 addresses then TCP ports, the protocol id in front of each part.
    mmt_key k{};
    const Hop& ip = hop(path, "ipv4");
    REQUIRE(ip.p->key);
    CHECK(ip.p->key(&ip.ctx, &k) == 1);
    CHECK(k.a_len == 4);
    CHECK(k.b_len == 4);
    const Hop& tcp = hop(path, "tcp");
    CHECK(tcp.p->key(&tcp.ctx, &k) == 1);
    CHECK(k.a_len == 6);
    CHECK(k.shared_len == 4);
    CHECK(k.overflow == 0);
    REQUIRE(tcp.p->stream);
    mmt_stream_info si{};
    CHECK(tcp.p->stream(&tcp.ctx, &si) == 1);
    CHECK(si.seq == 1000);
    CHECK(si.flags == 0);
    // The IPv4 header is not a fragment.
    REQUIRE(ip.p->fragment);
    mmt_frag_info fi{};
    CHECK(ip.p->fragment(&ip.ctx, &fi) == 0);
}

TEST_CASE("built-in library: Ethernet, IPv6, UDP, DNS query", "[codegen][library]") {
    auto path = journey(packets::ethIpv6UdpDns(), 1);
    CHECK(names(path) == "frame.ethernet.ipv6.udp.dns");
    CHECK(attr(path, "ethernet", "ethertype") == std::to_string(0x86dd));
    CHECK(attr(path, "ipv6", "src") == "32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1");
    CHECK(attr(path, "ipv6", "next_header") == "17");
    CHECK(attr(path, "ipv6", "hop_limit") == "64");
    CHECK(attr(path, "udp", "src_port") == "40000");
    CHECK(attr(path, "udp", "dst_port") == "53");
    CHECK(attr(path, "udp", "length") == std::to_string(8 + packets::dnsQuery().size()));
    CHECK(attr(path, "dns", "id") == std::to_string(0x1234));
    CHECK(attr(path, "dns", "qdcount") == "1");
    CHECK(value(path, "dns", "qname") == "www.example.com");
    CHECK(value(path, "dns", "qtype") == "1");
    const Hop& dns = hop(path, "dns");
    CHECK(dns.res.header_len == 12);
    mmt_parse_result r{};
    REQUIRE(dns.p->analyse);
    mmt_ctx c = dns.ctx;
    c.events_wanted = 0;
    CHECK(dns.p->analyse(&c, &r) == MMT_OK);
}

TEST_CASE("built-in library: Ethernet, VLAN, IPv4, ICMP", "[codegen][library]") {
    auto path = journey(packets::ethVlanIpv4Icmp(), 1);
    CHECK(names(path) == "frame.ethernet.vlan.ipv4.icmp");
    CHECK(attr(path, "ethernet", "ethertype") == std::to_string(0x8100));
    CHECK(attr(path, "vlan", "id") == "100");
    CHECK(attr(path, "vlan", "pcp") == "3");
    CHECK(attr(path, "vlan", "ethertype") == "2048");
    CHECK(attr(path, "ipv4", "proto") == "1");
    CHECK(attr(path, "ipv4", "src") == "192.168.0.1");
    CHECK(attr(path, "icmp", "type") == "8");
    CHECK(attr(path, "icmp", "code") == "0");
    CHECK(attr(path, "icmp", "identifier") == "7");
    CHECK(attr(path, "icmp", "sequence") == "9");
}

TEST_CASE("built-in library: raw IP link types classify by the version nibble",
          "[codegen][library]") {
    std::vector<uint8_t> ip(packets::ethIpv4TcpHttp().begin() + 14,
                            packets::ethIpv4TcpHttp().end());
    auto path = journey(ip, 101);
    CHECK(names(path) == "frame.ipv4.tcp.http");
    auto path6 = journey(
        std::vector<uint8_t>(packets::ethIpv6UdpDns().begin() + 14, packets::ethIpv6UdpDns().end()),
        101);
    CHECK(names(path6) == "frame.ipv6.udp.dns");
    // An empty raw frame classifies as nothing, it does not crash.
    auto empty = journey(std::vector<uint8_t>{}, 101);
    CHECK(names(empty) == "frame");
}

TEST_CASE("built-in library: MQTT's variable-length integers and topics", "[codegen][library]") {
    const mmt_proto& mqtt = builtin().proto("mqtt");
    // The session's state: the protocol level its CONNECT gave (4 until one is seen).
    REQUIRE(mqtt.init_state);
    std::vector<uint8_t> state(mqtt.state_size);
    mqtt.init_state(state.data());
    auto withState = [&](Ctx& c) { c.c.state = state.data(); };
    // SUBSCRIBE (MQTT 3.1.1), two topic filters: every one is a topic, in packet order.
    Ctx sub(hex("82 0f  0001  0003 612f62 01  0004 632f2364 00"));
    withState(sub);
    auto r = sub.analyse(mqtt);
    CHECK(r.status == MMT_OK);
    CHECK(sub.get(mqtt, "len") == "15");
    CHECK(sub.raised(mqtt, "topic") == std::vector<std::string>{"a/b", "c/#d"});
    CHECK(sub.raised(mqtt, "sub_qos") == std::vector<std::string>{"1", "0"});
    // PUBLISH whose Remaining Length takes two bytes (200 = 0xc8 0x01).
    std::vector<uint8_t> pub = hex("30 c8 01  0003 742f31");
    pub.resize(3 + 200, 'x');
    Ctx p(pub);
    withState(p);
    r = p.analyse(mqtt);
    CHECK(r.status == MMT_OK);
    CHECK(p.get(mqtt, "len") == "200");
    CHECK(p.get(mqtt, "msg_length") == "195");
    CHECK(p.raised(mqtt, "topic") == std::vector<std::string>{"t/1"});
    REQUIRE(mqtt.pdu_length);
    // The PDU is the fixed header (3 bytes here) and the Remaining Length.
    Ctx head(hex("30 c8 01 00"));
    withState(head);
    CHECK(mqtt.pdu_length(&head.c) == 203);
    // A sender may encode the length in more bytes than it needs: 2 in three bytes.
    Ctx padded(hex("c0 82 80 00"));
    withState(padded);
    CHECK(mqtt.pdu_length(&padded.c) == 6);
    // CONNECT of MQTT 5: its properties' length is a Variable Byte Integer too.
    Ctx con(hex("10 18  0004 4d515454 05 02 003c  03 21 0014  0008 636c69656e742d31"));
    withState(con);
    r = con.analyse(mqtt);
    CHECK(r.status == MMT_OK);
    CHECK(con.get(mqtt, "ver") == "5");
    CHECK(con.get(mqtt, "clientid") == "client-1");
    CHECK(con.get(mqtt, "protoname") == "MQTT");
    // A Remaining Length still going on at its fourth byte is malformed.
    Ctx bad(hex("30 ff ff ff ff 01 00"));
    withState(bad);
    CHECK(validated(bad, mqtt) == Expect{MMT_MALFORMED, "rem_len"});
}

TEST_CASE("the library table carries the services, checked and normalised", "[codegen][abi]") {
    auto lib = Compiled::from(R"(
protocol svc_host { id 302; header { x : u8; } }
service zeta { names "Zeta.Example."; }
service alpha { names "alpha.example", "*.cdn.example"; prefixes "192.0.2.0/24", "2001:db8::/32"; }
)");
    const mmt_library* t = lib.lib->table();
    REQUIRE(t->n_services == 2);
    const mmt_service& a = t->services[0]; // by name
    CHECK(std::string(a.name) == "alpha");
    REQUIRE(a.n_names == 2);
    CHECK(std::string(a.names[0]) == "alpha.example");
    CHECK(std::string(a.names[1]) == "*.cdn.example");
    REQUIRE(a.n_prefixes == 2);
    const uint8_t* p = a.prefixes;
    CHECK(p[0] == 4);
    CHECK(p[1] == 24);
    CHECK((p[2] == 192 && p[3] == 0 && p[4] == 2 && p[5] == 0));
    p += MMT_PREFIX_SIZE;
    CHECK(p[0] == 6);
    CHECK(p[1] == 32);
    CHECK((p[2] == 0x20 && p[3] == 0x01 && p[4] == 0x0d && p[5] == 0xb8));
    CHECK(std::string(t->services[1].name) == "zeta");
    REQUIRE(t->services[1].n_names == 1);
    CHECK(std::string(t->services[1].names[0]) == "zeta.example");
    CHECK(t->services[1].n_prefixes == 0);
}
