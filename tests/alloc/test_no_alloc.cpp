// The journey's fast path allocates nothing: once a session exists, its packets go through
// every stage (walk, classification, session lookup, TCP reassembly, PDU framing,
// analysers, events, statistics) without calling operator new. This binary replaces the
// global operator new and delete to count allocations; it is its own executable so that
// the counting touches no other test.
#include "journey_util.h"
#include "mmt/writer.h"
#include "payloads.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

namespace {
std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocations{0};

void count() {
    if (g_counting.load(std::memory_order_relaxed))
        g_allocations.fetch_add(1, std::memory_order_relaxed);
}

void* allocate(std::size_t n) noexcept {
    count();
    return std::malloc(n ? n : 1);
}

void* allocate(std::size_t n, std::align_val_t al) noexcept {
    count();
    std::size_t a = std::max(std::size_t(al), sizeof(void*));
    return std::aligned_alloc(a, (n + a - 1) / a * a);
}

template <class... A> void* allocateOrThrow(std::size_t n, A... a) {
    if (void* p = allocate(n, a...)) return p;
    throw std::bad_alloc();
}
} // namespace

// Every replaceable form, so that no allocation escapes the count (and, under
// AddressSanitizer, every block is freed by the family that allocated it).
void* operator new(std::size_t n) {
    return allocateOrThrow(n);
}
void* operator new[](std::size_t n) {
    return allocateOrThrow(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
    return allocateOrThrow(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return allocateOrThrow(n, a);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    return allocate(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    return allocate(n);
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return allocate(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return allocate(n, a);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}

using namespace mmt;
using namespace mmt::test;

namespace {

/// A few long-lived flows of the usual kinds; `round` advances sequence numbers, ids and
/// times so that every round continues the same sessions.
struct Traffic {
    uint32_t cseq = 1000, sseq = 5000;
    uint16_t dnsId = 1;
    uint16_t icmpSeq = 1;

    std::vector<Bytes> handshake() {
        std::vector<Bytes> out;
        out.push_back(client().seq(cseq - 1).flags(SYN).build());
        out.push_back(server().seq(sseq - 1).ack(cseq).flags(SYN | ACK).build());
        out.push_back(client().seq(cseq).ack(sseq).flags(ACK).build());
        return out;
    }

    std::vector<Bytes> round() {
        std::vector<Bytes> out;
        // HTTP: one request and its response, each a whole PDU in one segment.
        std::string req = "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n"
                          "User-Agent: probe\r\n\r\n";
        out.push_back(client().seq(cseq).ack(sseq).flags(PSH | ACK).payload(req).build());
        cseq += uint32_t(req.size());
        std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                           "Content-Length: 12\r\n\r\nhello world!";
        out.push_back(server().seq(sseq).ack(cseq).flags(PSH | ACK).payload(resp).build());
        sseq += uint32_t(resp.size());
        out.push_back(client().seq(cseq).ack(sseq).flags(ACK).build());
        // DNS over UDP: a query and its answer.
        Bytes addr = {192, 0, 2, 7};
        out.push_back(PacketBuilder()
                          .eth()
                          .ipv4("10.0.0.1", "10.0.0.53")
                          .udp(40000, 53)
                          .payload(dns_message(dnsId, "www.example.com"))
                          .build());
        out.push_back(PacketBuilder()
                          .eth()
                          .ipv4("10.0.0.53", "10.0.0.1")
                          .udp(53, 40000)
                          .payload(dns_message(dnsId, "www.example.com", &addr))
                          .build());
        ++dnsId;
        // ICMP echo over IPv4 in a VLAN.
        out.push_back(PacketBuilder()
                          .eth()
                          .vlan(7)
                          .ipv4("10.0.0.1", "10.0.0.9")
                          .icmp(8, 0, 0x00010000u | icmpSeq)
                          .payload("ping")
                          .build());
        ++icmpSeq;
        // IPv6 UDP to an unclassified port.
        out.push_back(PacketBuilder()
                          .eth()
                          .ipv6("2001:db8::1", "2001:db8::2")
                          .udp(50000, 9999)
                          .payload("opaque payload")
                          .build());
        return out;
    }

    static PacketBuilder client() {
        PacketBuilder b;
        b.eth().ipv4("10.0.0.1", "10.0.0.2").tcp(41000, 80);
        return b;
    }
    static PacketBuilder server() {
        PacketBuilder b;
        b.eth().ipv4("10.0.0.2", "10.0.0.1").tcp(80, 41000);
        return b;
    }
};

struct Feeder {
    Handler& h;
    uint64_t t = 1000000000000ull;
    void operator()(const std::vector<Bytes>& pkts) {
        for (const Bytes& b : pkts) {
            t += 1000000;
            RawPacket raw{b.data(), uint32_t(b.size()), uint32_t(b.size()), 1, t};
            h.process(raw);
        }
    }
};

} // namespace

TEST_CASE("the allocation counter counts", "[alloc]") {
    g_allocations = 0;
    g_counting = true;
    auto* s = new std::string(100, 'x');
    g_counting = false;
    delete s;
    CHECK(g_allocations.load() == 2); // the string and its characters
    g_allocations = 0;
}

TEST_CASE("packets of existing sessions allocate nothing", "[journey][alloc]") {
    Handler h(builtinLibrary());
    std::vector<std::string> names = {
        "ipv4.src", "ipv6.dst",   "tcp.dst_port",     "udp.src_port", "http.method",
        "http.uri", "http.host",  "http.status_code", "dns.qname",    "icmp.type",
        "vlan.id",  "frame.time", "frame.path"};
    std::vector<int> columns;
    for (const auto& a : names) {
        columns.push_back(h.request(a));
        REQUIRE(columns.back() >= 0);
    }
    // Every requested value is read, then written as a CSV row to a sink that only counts.
    uint64_t written = 0;
    PacketWriter rows(Format::Csv, names, columns,
                      [&written](std::string_view line) { written += line.size(); });
    uint64_t seen = 0, applications = 0, values = 0, hosts = 0;
    h.on_packet([&](const PacketView& p) {
        ++seen;
        if (p.path().size() >= 4 && p.session_id()) ++applications; // ...tcp.http, ...udp.dns
        for (size_t i = 0; i < columns.size(); ++i)
            for (const Value& v : p.values(columns[i])) {
                ++values;
                if (names[i] == "http.host" && v.v.len) ++hosts;
            }
        rows.write(p);
        return Action::Continue;
    });
    Traffic traffic;
    std::vector<std::vector<Bytes>> rounds;
    rounds.push_back(traffic.handshake());
    for (int i = 0; i < 200; ++i) rounds.push_back(traffic.round());

    Feeder feed{h};
    // The first rounds create the sessions and let every buffer reach its working size.
    for (int i = 0; i < 20; ++i) feed(rounds[size_t(i)]);
    uint64_t before = seen;
    g_counting = true;
    for (size_t i = 20; i < rounds.size(); ++i) feed(rounds[i]);
    g_counting = false;
    uint64_t counted = g_allocations.load();
    h.finish();
    INFO("values " << values << ", http.host values " << hosts << ", bytes written " << written);
    CHECK(hosts > 0);
    CHECK(values > (seen - before) * 3); // at least an address, a port and the frame columns
    CHECK(written > 0);

    CHECK(seen - before == (rounds.size() - 20) * rounds[1].size());
    CHECK(applications >= (rounds.size() - 20) * 4);
    CHECK(h.stats().packets == seen);
    INFO("allocations while processing " << (seen - before) << " packets");
    CHECK(counted == 0);
}

TEST_CASE("a TCP session of one SYN allocates nothing", "[journey][alloc][tcp]") {
    // Scans and floods: sessions that never carry more than a SYN hold no stream of
    // their own; what the SYN started is given to the stream once more comes.
    Handler h(builtinLibrary());
    const int host = h.request("http.host");
    REQUIRE(host >= 0);
    uint64_t seen = 0;
    std::string got;
    h.on_packet([&](const PacketView& p) {
        ++seen;
        for (const Value& v : p.values(host)) got = v.text();
        return Action::Continue;
    });
    Feeder feed{h};
    feed({tcpSeg(40000, 80, 1000, SYN)}); // the first session of its path
    g_allocations = 0;
    std::vector<Bytes> syns;
    for (uint16_t port = 40001; port < 41001; ++port) syns.push_back(tcpSeg(port, 80, 1000, SYN));
    g_counting = true;
    feed(syns);
    g_counting = false;
    CHECK(g_allocations.load() == 0);
    CHECK(seen == 1001);
    // A session that goes on after its SYN is reassembled as before.
    feed({tcpSeg(40001, 80, 1001, ACK, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")});
    CHECK(got == "example.com");
    h.finish();
    CHECK(h.stats().sessions == 1001);
}
