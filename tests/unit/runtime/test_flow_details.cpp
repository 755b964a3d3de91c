// What HandlerOptions::flow_details and count_paths add to sessions: tunnel endpoints in the
// flow record, and flows, packets and bytes per application.
#include "journey_util.h"
#include "payloads.h"

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
