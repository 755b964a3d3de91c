// What HandlerOptions::flow_details and count_paths add to sessions: tunnel endpoints in the
// flow record, and flows, packets and bytes per application.
#include "journey_util.h"
#include "payloads.h"

#include <functional>
#include <map>

using namespace mmt;
using namespace mmt::test;

namespace {

/// The records of the sessions that `packets` make, by session id.
std::map<uint64_t, SessionInfo> endedFlows(Handler& h, const std::vector<Bytes>& packets) {
    std::map<uint64_t, SessionInfo> out;
    h.on_session_end([&](const SessionInfo& s) { out[s.id] = s; });
    uint64_t ts = 1;
    for (const Bytes& p : packets) {
        RawPacket raw{p.data(), uint32_t(p.size()), uint32_t(p.size()), 1, ts++ * 1000};
        h.process(raw);
    }
    h.finish();
    return out;
}

/// The same, by a handler of its own with flow_details on.
std::map<uint64_t, SessionInfo> detailedFlows(const std::vector<Bytes>& packets) {
    HandlerOptions ho;
    ho.flow_details = true;
    Handler h(builtinLibrary(), ho);
    return endedFlows(h, packets);
}

const SessionInfo* byTransport(const std::map<uint64_t, SessionInfo>& flows,
                               std::string_view transport) {
    for (const auto& [id, s] : flows)
        if (s.transport == transport) return &s;
    return nullptr;
}

} // namespace

TEST_CASE("flow records name the tunnels of a flow's first packet, outermost first",
          "[flow-details]") {
    // UDP inside IPv6 inside IPv4 (6in4), and a plain TCP flow beside it.
    Bytes inner = PacketBuilder()
                      .eth()
                      .ipv4("198.51.100.1", "198.51.100.2")
                      .ipv6("2001:db8::1", "2001:db8::2")
                      .udp(5000, 6000)
                      .payload("x")
                      .build();
    Bytes reply = PacketBuilder()
                      .eth()
                      .ipv4("198.51.100.2", "198.51.100.1")
                      .ipv6("2001:db8::2", "2001:db8::1")
                      .udp(6000, 5000)
                      .payload("y")
                      .build();
    Bytes plain =
        PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(40000, 9).payload("z").build();
    auto flows = detailedFlows({inner, reply, plain});
    const SessionInfo* udp = byTransport(flows, "udp");
    REQUIRE(udp);
    CHECK(udp->src == "2001:db8::1");
    // The first packet's outer addresses, as it carried them; the reply does not add any.
    CHECK(udp->tunnel == "ipv6:198.51.100.1>198.51.100.2");
    const SessionInfo* tcp = byTransport(flows, "tcp");
    REQUIRE(tcp);
    CHECK(tcp->tunnel.empty());
}

TEST_CASE("an ICMP error's quoted header is not a tunnel", "[flow-details]") {
    Bytes quoted = PacketBuilder().ipv4("10.0.0.2", "10.0.0.9").udp(1000, 53).build();
    Bytes unreachable =
        PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").icmp(3, 3).payload(quoted).build();
    auto flows = detailedFlows({unreachable});
    const SessionInfo* icmp = byTransport(flows, "icmp");
    REQUIRE(icmp);
    CHECK(icmp->tunnel.empty());
}

TEST_CASE("flows, packets and bytes per application of the sessions that ended", "[flow-details]") {
    HandlerOptions ho;
    ho.count_paths = true;
    Handler h(builtinLibrary(), ho);
    std::vector<Bytes> packets;
    // Two DNS flows of two packets each, one unclassified UDP flow of one packet.
    const Bytes address = {93, 184, 216, 34};
    for (uint16_t port : {40001, 40002}) {
        Bytes q = PacketBuilder()
                      .eth()
                      .ipv4("10.0.0.1", "10.0.0.53")
                      .udp(port, 53)
                      .payload(dns_message(port, "example.com"))
                      .build();
        Bytes r = PacketBuilder()
                      .eth()
                      .ipv4("10.0.0.53", "10.0.0.1")
                      .udp(53, port)
                      .payload(dns_message(port, "example.com", &address))
                      .build();
        packets.push_back(q);
        packets.push_back(r);
    }
    packets.push_back(
        PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(40000, 40001).payload("?").build());
    uint64_t dnsBytes = 0;
    for (size_t i = 0; i < 4; ++i) dnsBytes += packets[i].size();
    endedFlows(h, packets);
    auto apps = h.applications();
    REQUIRE(apps.size() == 2);
    CHECK(apps[0].application == "dns");
    CHECK(apps[0].flows == 2);
    CHECK(apps[0].packets == 4);
    CHECK(apps[0].bytes == dnsBytes);
    CHECK(apps[1].application == "unknown");
    CHECK(apps[1].flows == 1);
    CHECK(apps[1].packets == 1);
    CHECK(apps[1].bytes == packets[4].size());
}

namespace {

/// A TLS 1.2 handshake record holding a ServerHello: cipher suite 0xc02f, the
/// supported_versions extension (TLS 1.3).
Bytes tlsServerHello() {
    Bytes body = {0x03, 0x03};                              // legacy version
    body.insert(body.end(), 32, 0x5a);                      // random
    body.push_back(0);                                      // no session id
    for (uint8_t b : {0xc0, 0x2f, 0x00}) body.push_back(b); // cipher suite, no compression
    for (uint8_t b : {0x00, 0x06, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04}) body.push_back(b);
    Bytes hs = {0x02, 0x00, uint8_t(body.size() >> 8), uint8_t(body.size())};
    hs.insert(hs.end(), body.begin(), body.end());
    Bytes rec = {0x16, 0x03, 0x03, uint8_t(hs.size() >> 8), uint8_t(hs.size())};
    rec.insert(rec.end(), hs.begin(), hs.end());
    return rec;
}

/// A client's packets from 10.0.0.1:40000 to 10.0.0.2:`port`, in a row from sequence 1,
/// with the server's between them where `from_server` says so.
std::vector<Bytes> tcpExchange(uint16_t port, const std::vector<std::pair<bool, Bytes>>& payloads) {
    std::vector<Bytes> packets;
    uint32_t seq[2] = {1, 1};
    for (const auto& [from_server, payload] : payloads) {
        PacketBuilder b;
        b.eth();
        if (from_server)
            b.ipv4("10.0.0.2", "10.0.0.1").tcp(port, 40000);
        else
            b.ipv4("10.0.0.1", "10.0.0.2").tcp(40000, port);
        packets.push_back(b.seq(seq[from_server]).payload(payload).build());
        seq[from_server] += uint32_t(payload.size());
    }
    return packets;
}

/// A ClientHello without extensions (no server name): one cipher suite, 0xc02f.
Bytes tlsHelloWithoutName() {
    Bytes hello = {0x03, 0x03};
    hello.insert(hello.end(), 32, 0x5a); // random
    for (uint8_t b : {0x00, 0x00, 0x02, 0xc0, 0x2f, 0x01, 0x00}) hello.push_back(b);
    Bytes hs = {0x01, 0x00, uint8_t(hello.size() >> 8), uint8_t(hello.size())};
    hs.insert(hs.end(), hello.begin(), hello.end());
    Bytes rec = {0x16, 0x03, 0x01, uint8_t(hs.size() >> 8), uint8_t(hs.size())};
    rec.insert(rec.end(), hs.begin(), hs.end());
    return rec;
}

/// Runs `packets`, whose last one the application's framing reports (longer than a
/// max_pdu of 1000), with flow details alone and again with a packet callback; `check`
/// looks at the TCP flow's record each time.
void checkStreamLeftAfterDetails(const std::vector<Bytes>& packets,
                                 const std::function<void(const SessionInfo&)>& check) {
    HandlerOptions ho;
    ho.flow_details = true;
    ho.max_pdu = 1000;
    SECTION("flow details alone: the last packet's stream is not framed nor walked") {
        Handler h(builtinLibrary(), ho);
        auto flows = endedFlows(h, packets);
        const SessionInfo* tcp = byTransport(flows, "tcp");
        REQUIRE(tcp);
        check(*tcp);
        CHECK(h.stats().malformed == 0);
        CHECK(h.stats().pdus_over_max == 0);
    }
    SECTION("a packet callback asks for every packet's walk: the stream is framed") {
        Handler h(builtinLibrary(), ho);
        h.on_packet([](const PacketView&) { return Action::Continue; });
        auto flows = endedFlows(h, packets);
        const SessionInfo* tcp = byTransport(flows, "tcp");
        REQUIRE(tcp);
        check(*tcp);
        CHECK(h.stats().pdus_over_max == 1);
    }
}

} // namespace

TEST_CASE("once a TLS flow's name and fingerprints are known, flow details alone do not walk "
          "the rest of its stream",
          "[flow-details]") {
    // ClientHello, ServerHello, then a record longer than max_pdu.
    const Bytes broken = {0x17, 0x03, 0x03, 0x0f, 0xff, 0x01, 0x02};
    checkStreamLeftAfterDetails(tcpExchange(443, {{false, tls_client_hello("www.example.com")},
                                                  {true, tlsServerHello()},
                                                  {false, broken}}),
                                [](const SessionInfo& tls) {
                                    CHECK(tls.server_name == "www.example.com");
                                    CHECK_FALSE(tls.ja3.empty());
                                    CHECK_FALSE(tls.ja4.empty());
                                    CHECK_FALSE(tls.ja3s.empty());
                                });
}

TEST_CASE("a TLS client that sends no server name: its fingerprints are enough", "[flow-details]") {
    const Bytes broken = {0x17, 0x03, 0x03, 0x0f, 0xff, 0x01, 0x02};
    checkStreamLeftAfterDetails(
        tcpExchange(443,
                    {{false, tlsHelloWithoutName()}, {true, tlsServerHello()}, {false, broken}}),
        [](const SessionInfo& tls) {
            CHECK(tls.application == "tls");
            CHECK(tls.server_name.empty());
            CHECK_FALSE(tls.ja3.empty());
            CHECK_FALSE(tls.ja3s.empty());
        });
}

TEST_CASE("once an HTTP flow's host is known, flow details alone do not walk the rest of its "
          "stream",
          "[flow-details]") {
    // A request, its response, then a request head longer than max_pdu (no blank line).
    const std::string request = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
    const std::string response = "HTTP/1.1 204 No Content\r\n\r\n";
    std::string longer = "GET /next HTTP/1.1\r\nX-Filler: ";
    longer.append(1200, 'x');
    checkStreamLeftAfterDetails(tcpExchange(80, {{false, Bytes(request.begin(), request.end())},
                                                 {true, Bytes(response.begin(), response.end())},
                                                 {false, Bytes(longer.begin(), longer.end())}}),
                                [](const SessionInfo& http) {
                                    CHECK(http.application == "http");
                                    CHECK(http.server_name == "www.example.com");
                                });
}

TEST_CASE("TCP histories, short ones kept in the flow data and longer ones as details",
          "[flow-details][tcp]") {
    // Three sessions: a SYN nothing answers, a SYN refused, and a connection that goes on
    // past its first two letters (the letters move from the flow data to its details).
    std::vector<Bytes> packets = {
        tcpSeg(41000, 80, 100, SYN),
        tcpSeg(41001, 81, 200, SYN),
        tcpSeg(81, 41001, 0, RST | ACK, "", kServer, kClient),
        tcpSeg(41002, 80, 300, SYN),
        tcpSeg(80, 41002, 900, SYN | ACK, "", kServer, kClient),
        tcpSeg(41002, 80, 301, ACK),
        tcpSeg(41002, 80, 301, ACK, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
        tcpSeg(41002, 80, 338, FIN | ACK),
    };
    std::map<uint16_t, std::pair<std::string, std::string>> got; // by client port
    for (const auto& [id, s] : detailedFlows(packets))
        got[uint16_t(s.src_port)] = {s.history, s.conn_state};
    using P = std::pair<std::string, std::string>;
    CHECK(got == std::map<uint16_t, P>{
                     {41000, P{"S", "S0"}}, {41001, P{"Sr", "REJ"}}, {41002, P{"ShADF", "S2"}}});
}
