// Services named as data: the matchers (host-name suffixes label by label, longest
// address prefix) and a flow's service from its name, a DNS answer or its address.
#include "journey_util.h"
#include "payloads.h"
#include "services/services.h"

#include <arpa/inet.h>

#include <cstring>

using namespace mmt;
using namespace mmt::test;

namespace {

/// A prefix record as the library table holds it.
std::vector<uint8_t> prefix(const char* addr, uint8_t len) {
    std::vector<uint8_t> rec(MMT_PREFIX_SIZE, 0);
    bool v6 = std::string(addr).find(':') != std::string::npos;
    rec[0] = v6 ? 6 : 4;
    rec[1] = len;
    REQUIRE(inet_pton(v6 ? AF_INET6 : AF_INET, addr, rec.data() + 2) == 1);
    return rec;
}

struct Table {
    std::vector<std::vector<const char*>> names;
    std::vector<std::vector<uint8_t>> prefixes;
    std::vector<mmt_service> services;
    mmt_library lib{};

    void add(const char* name, std::vector<const char*> n,
             std::vector<std::vector<uint8_t>> p = {}) {
        names.push_back(std::move(n));
        std::vector<uint8_t> flat;
        for (auto& r : p) flat.insert(flat.end(), r.begin(), r.end());
        prefixes.push_back(std::move(flat));
        mmt_service s{};
        s.name = name;
        services.push_back(s);
    }
    const mmt_library& build() {
        for (size_t i = 0; i < services.size(); ++i) {
            services[i].n_names = uint32_t(names[i].size());
            services[i].names = names[i].data();
            services[i].n_prefixes = uint32_t(prefixes[i].size() / MMT_PREFIX_SIZE);
            services[i].prefixes = prefixes[i].data();
        }
        lib.n_services = uint32_t(services.size());
        lib.services = services.data();
        return lib;
    }
};

std::string nameOf(const ServiceMatcher& m, std::string_view host) {
    int s = m.by_name(host);
    return s < 0 ? "" : m.name(s);
}

std::string addressOf(const ServiceMatcher& m, const char* addr) {
    int s = m.by_address_text(addr);
    return s < 0 ? "" : m.name(s);
}

} // namespace

TEST_CASE("host names match suffixes on label boundaries", "[services]") {
    Table t;
    t.add("google", {"google.com", "googleapis.com"});
    t.add("youtube", {"youtube.com", "youtubei.googleapis.com"});
    t.add("cdn", {"*.cdn.example"});
    ServiceMatcher m(t.build());
    CHECK(nameOf(m, "google.com") == "google");
    CHECK(nameOf(m, "www.google.com") == "google");
    CHECK(nameOf(m, "a.b.c.google.com") == "google");
    // Not on a label boundary, or not a suffix.
    CHECK(nameOf(m, "notgoogle.com") == "");
    CHECK(nameOf(m, "google.com.evil.net") == "");
    CHECK(nameOf(m, "com") == "");
    // Case, a final dot and a Host header's port do not matter.
    CHECK(nameOf(m, "WWW.Google.COM") == "google");
    CHECK(nameOf(m, "www.google.com.") == "google");
    CHECK(nameOf(m, "www.google.com:8080") == "google");
    // The longest suffix wins.
    CHECK(nameOf(m, "youtubei.googleapis.com") == "youtube");
    CHECK(nameOf(m, "x.youtubei.googleapis.com") == "youtube");
    CHECK(nameOf(m, "fonts.googleapis.com") == "google");
    // "*.name": the names under it only.
    CHECK(nameOf(m, "cdn.example") == "");
    CHECK(nameOf(m, "edge1.cdn.example") == "cdn");
    CHECK(nameOf(m, "") == "");
    CHECK(nameOf(m, ".") == "");
}

TEST_CASE("addresses match the longest prefix, IPv4 and IPv6", "[services]") {
    Table t;
    t.add("wide", {}, {prefix("10.0.0.0", 8), prefix("2001:db8::", 32)});
    t.add("narrow", {}, {prefix("10.1.2.0", 24), prefix("2001:db8:1::", 48)});
    t.add("one", {}, {prefix("10.1.2.3", 32), prefix("2001:db8:1::1", 128)});
    ServiceMatcher m(t.build());
    CHECK(addressOf(m, "10.200.0.1") == "wide");
    CHECK(addressOf(m, "10.1.2.4") == "narrow");
    CHECK(addressOf(m, "10.1.2.3") == "one");
    CHECK(addressOf(m, "11.0.0.1") == "");
    CHECK(addressOf(m, "2001:db8:ffff::1") == "wide");
    CHECK(addressOf(m, "2001:db8:1::2") == "narrow");
    CHECK(addressOf(m, "2001:db8:1::1") == "one");
    CHECK(addressOf(m, "2001:db9::1") == "");
    // An IPv4 address is not looked up among IPv6 prefixes, nor the reverse.
    CHECK(addressOf(m, "::ffff:10.1.2.3") == "");
    CHECK(addressOf(m, "not an address") == "");
}

TEST_CASE("an empty prefix holds every address of its family", "[services]") {
    Table t;
    t.add("all4", {}, {prefix("0.0.0.0", 0)});
    ServiceMatcher m(t.build());
    CHECK(addressOf(m, "192.0.2.1") == "all4");
    CHECK(addressOf(m, "2001:db8::1") == "");
}

TEST_CASE("addresses are read from their text as inet_pton reads them", "[services]") {
    auto same = [](const std::string& text) {
        uint8_t got[16] = {}, want[16] = {};
        size_t n = parse_address(text, got);
        size_t expected = inet_pton(AF_INET, text.c_str(), want) == 1    ? 4
                          : inet_pton(AF_INET6, text.c_str(), want) == 1 ? 16
                                                                         : 0;
        INFO(text);
        REQUIRE(n == expected);
        CHECK(std::memcmp(got, want, n) == 0);
    };
    for (const char* t : {"0.0.0.0",        "255.255.255.255",
                          "192.168.1.10",   "10.0.0.1",
                          "1.2.3",          "1.2.3.4.5",
                          "256.1.1.1",      "01.2.3.4",
                          "1.2.3.04",       "1..2.3",
                          ".1.2.3",         "1.2.3.",
                          "1.2.3.4 ",       "1234.1.1.1",
                          "1.2.3.-4",       "",
                          "a.b.c.d",        "::1",
                          "fe80::1",        "2001:db8::8:800:200c:417a",
                          "::ffff:1.2.3.4", "1.2.3.4:80"})
        same(t);
    // Random texts of digits and dots.
    uint32_t seed = 7;
    for (int i = 0; i < 20000; ++i) {
        std::string t;
        size_t len = 1 + (seed = seed * 1103515245u + 12345u) % 16;
        for (size_t j = 0; j < len; ++j) {
            seed = seed * 1103515245u + 12345u;
            t += "0123456789..."[(seed >> 16) % 13];
        }
        same(t);
    }
}

TEST_CASE("the DNS memory is bounded and keeps the latest answer", "[services]") {
    DnsMemory d(2);
    uint8_t a[4] = {192, 0, 2, 1}, b[4] = {192, 0, 2, 2}, c[4] = {192, 0, 2, 3};
    d.remember(a, 4, "a.example");
    d.remember(b, 4, "b.example");
    d.remember(a, 4, "a2.example");
    REQUIRE(d.find(a, 4));
    CHECK(*d.find(a, 4) == "a2.example");
    d.remember(c, 4, "c.example"); // the oldest goes
    CHECK(d.size() == 2);
    CHECK(d.find(a, 4) == nullptr);
    CHECK(*d.find(c, 4) == "c.example");
}

TEST_CASE("a flow's service comes from its name, a DNS answer or its address",
          "[services][journey]") {
    HandlerOptions o;
    o.flow_details = true;
    Recorder r({}, o);
    // The client resolves www.youtube.com to an address no service claims...
    Bytes answer = ip_bytes("192.0.2.80");
    r.feed(PacketBuilder()
               .eth()
               .ipv4("10.0.0.2", "10.0.0.1")
               .udp(40000, 53)
               .payload(dns_message(7, "www.youtube.com"))
               .build());
    r.feed(PacketBuilder()
               .eth()
               .ipv4("10.0.0.1", "10.0.0.2")
               .udp(53, 40000)
               .payload(dns_message(7, "www.youtube.com", &answer))
               .build());
    // ...then opens a connection to it without a server name.
    r.feed(PacketBuilder().eth().ipv4("10.0.0.2", "192.0.2.80").tcp(40001, 443).flags(2).build());
    // A TLS flow names its server; a flow to a published address has only that.
    r.feed(PacketBuilder()
               .eth()
               .ipv4("10.0.0.2", "192.0.2.99")
               .tcp(40002, 443)
               .payload(tls_client_hello("mail.google.com"))
               .build());
    r.feed(
        PacketBuilder().eth().ipv4("10.0.0.2", "149.154.167.51").tcp(40003, 443).flags(2).build());
    r.feed(PacketBuilder().eth().ipv4("10.0.0.2", "198.51.100.7").tcp(40004, 443).flags(2).build());
    r.h.finish();
    std::map<std::string, std::pair<std::string, std::string>> byDst;
    for (const SessionInfo& s : r.ended) byDst[s.dst] = {s.service, s.service_source};
    CHECK(byDst["10.0.0.1"] == std::make_pair(std::string("youtube"), std::string("dns")));
    CHECK(byDst["192.0.2.80"] == std::make_pair(std::string("youtube"), std::string("resolved")));
    CHECK(byDst["192.0.2.99"] == std::make_pair(std::string("google"), std::string("tls")));
    CHECK(byDst["149.154.167.51"] ==
          std::make_pair(std::string("telegram"), std::string("address")));
    CHECK(byDst["198.51.100.7"] == std::make_pair(std::string(), std::string()));
    // Each record carries its addresses as bytes too, the same as its texts.
    for (const SessionInfo& s : r.ended) {
        REQUIRE(s.addr_len == 4);
        char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
        CHECK(s.src == inet_ntop(AF_INET, s.src_addr, src, sizeof src));
        CHECK(s.dst == inet_ntop(AF_INET, s.dst_addr, dst, sizeof dst));
    }
}

TEST_CASE("a service namer reads a record's address bytes, else its address texts", "[services]") {
    ServiceNamer namer(builtinLibrary());
    SessionInfo bytes;
    bytes.addr_len = 4;
    REQUIRE(inet_pton(AF_INET, "10.0.0.2", bytes.src_addr) == 1);
    REQUIRE(inet_pton(AF_INET, "149.154.167.51", bytes.dst_addr) == 1);
    namer.name(bytes);
    CHECK(bytes.service == "telegram");
    CHECK(bytes.service_source == "address");
    SessionInfo texts;
    texts.src = "10.0.0.2";
    texts.dst = "149.154.167.51";
    namer.name(texts);
    CHECK(texts.service == "telegram");
    // The bytes are what counts when both are there.
    bytes.dst = "198.51.100.7";
    namer.name(bytes);
    CHECK(bytes.service == "telegram");
    bytes.clear();
    CHECK(bytes.addr_len == 0);
    namer.name(bytes);
    CHECK(bytes.service.empty());
}

TEST_CASE("without flow details no service is named", "[services][journey]") {
    Recorder r({});
    r.feed(
        PacketBuilder().eth().ipv4("10.0.0.2", "149.154.167.51").tcp(40003, 443).flags(2).build());
    r.h.finish();
    REQUIRE(r.ended.size() == 1);
    CHECK(r.ended[0].service.empty());
}
