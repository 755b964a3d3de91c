// Display filters: parsing (the tree understood), diagnostics (exact text), and the
// compiled code evaluated on values made by hand.
#include "mmtc/filter.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <map>
#include <string>
#include <vector>

using mmtc::filter::Filter;
using mmtc::filter::Resolved;

namespace {

// A few attributes of every type, as a library would resolve them; "udp" is a protocol.
const std::map<std::string, std::tuple<int32_t, uint32_t, std::string>, std::less<>> kNames = {
    {"tcp.dstport", {0, MMT_T_UINT, "tcp.dst_port"}},
    {"tcp.dst_port", {0, MMT_T_UINT, "tcp.dst_port"}},
    {"ip.src", {1, MMT_T_IPV4, "ipv4.src"}},
    {"ipv6.src", {2, MMT_T_IPV6, "ipv6.src"}},
    {"eth.src", {3, MMT_T_MAC, "ethernet.src"}},
    {"http.host", {4, MMT_T_STRING, "http.host"}},
    {"tcp.payload", {5, MMT_T_BYTES, "tcp.payload"}},
    {"tcp.syn", {6, MMT_T_BOOL, "tcp.syn"}},
    {"udp", {7, MMT_T_NONE, "udp"}},
};
constexpr int kSlots = 8;

Resolved resolve(std::string_view name) {
    Resolved r;
    auto it = kNames.find(name);
    if (it == kNames.end()) {
        r.error = "unknown attribute '" + std::string(name) + "'" +
                  (name == "ip.scr" ? "; did you mean 'ip.src'?" : "");
        return r;
    }
    r.ok = true;
    std::tie(r.slot, r.type, r.canonical) = it->second;
    return r;
}

std::unique_ptr<Filter> compile(const std::string& text, std::string& diag) {
    return Filter::compile(text, resolve, sizeof(mmt_value), diag);
}

std::string tree(const std::string& text) {
    std::string diag;
    auto f = compile(text, diag);
    INFO(text << "\n" << diag);
    REQUIRE(f);
    return f->tree();
}

std::string diagnostic(const std::string& text) {
    std::string diag;
    auto f = compile(text, diag);
    INFO(text);
    CHECK(!f);
    return diag;
}

/// The values of one packet, per slot; a protocol slot counts its entries.
struct Packet {
    std::vector<std::vector<mmt_value>> slots = std::vector<std::vector<mmt_value>>(kSlots);
    std::vector<std::string> keep; // bytes behind the values
    Packet& uint(int slot, uint64_t v, uint32_t type = MMT_T_UINT) {
        mmt_value x{};
        x.type = type;
        x.u = v;
        slots[size_t(slot)].push_back(x);
        return *this;
    }
    Packet& bytes(int slot, uint32_t type, std::string b) {
        keep.reserve(64);
        keep.push_back(std::move(b));
        mmt_value x{};
        x.type = type;
        x.len = uint32_t(keep.back().size());
        x.ptr = reinterpret_cast<const uint8_t*>(keep.back().data());
        slots[size_t(slot)].push_back(x);
        return *this;
    }
    Packet& ip(int slot, const char* text) {
        unsigned char buf[16];
        bool v6 = std::string(text).find(':') != std::string::npos;
        REQUIRE(inet_pton(v6 ? AF_INET6 : AF_INET, text, buf) == 1);
        return bytes(slot, v6 ? MMT_T_IPV6 : MMT_T_IPV4,
                     std::string(reinterpret_cast<char*>(buf), v6 ? 16 : 4));
    }
    static int64_t values(void* ctx, int32_t slot, const mmt_value** first) {
        auto* p = static_cast<const Packet*>(ctx);
        const auto& v = p->slots[size_t(slot)];
        *first = v.empty() ? nullptr : v.data();
        return int64_t(v.size());
    }
};

bool eval(const std::string& text, const Packet& p) {
    std::string diag;
    auto f = compile(text, diag);
    INFO(text << "\n" << diag);
    REQUIRE(f);
    return f->matches(const_cast<Packet*>(&p), &Packet::values);
}

} // namespace

TEST_CASE("display filters parse with tshark's operators and precedence", "[filter]") {
    CHECK(tree("tcp.dstport == 443") == "(== tcp.dst_port 443)");
    CHECK(tree("tcp.dstport eq 0x1bb") == "(== tcp.dst_port 443)");
    CHECK(tree("tcp.dstport == 443 and not udp") ==
          "(and (== tcp.dst_port 443) (not (present udp)))");
    // `and` binds tighter than `or`; lists stay flat.
    CHECK(tree("udp or tcp.syn == 1 && ip.src != 1.2.3.4 || http.host") ==
          "(or (present udp) (and (== tcp.syn true) (!= ipv4.src 1.2.3.4)) (present http.host))");
    CHECK(tree("!(udp or udp) and udp") ==
          "(and (not (or (present udp) (present udp))) (present udp))");
    CHECK(tree("tcp.dstport lt 10 or tcp.dstport le 1 or tcp.dstport gt 2 or tcp.dstport ge 3 "
               "or tcp.dstport ne 4") ==
          "(or (< tcp.dst_port 10) (<= tcp.dst_port 1) (> tcp.dst_port 2) (>= tcp.dst_port 3) "
          "(!= tcp.dst_port 4))");
    CHECK(tree("tcp.dstport in {80, 443, 8000..8080}") ==
          "(in tcp.dst_port {80, 443, 8000..8080})");
    CHECK(tree("tcp.dstport in {80 443}") == "(in tcp.dst_port {80, 443})");
    CHECK(tree("ip.src == 10.0.0.0/8") == "(== ipv4.src 10.0.0.0/8)");
    CHECK(tree("ipv6.src == 2001:DB8::/32") == "(== ipv6.src 2001:db8::/32)");
    CHECK(tree("eth.src == 02-00-00-00-00-0A") == "(== ethernet.src 02:00:00:00:00:0a)");
    CHECK(tree("http.host in {\"a\", \"b\\x41\"}") == "(in http.host {\"a\", \"bA\"})");
    CHECK(tree("tcp.payload contains 16:03:01") == "(contains tcp.payload \"\\x16\\x03\\x01\")");
    CHECK(tree("http.host matches \"^www\\\\.\"") == "(matches http.host \"^www\\\\.\")");
    CHECK(tree("tcp.syn == false") == "(== tcp.syn false)");
}

TEST_CASE("a bad display filter is reported as clang does, with a caret under it", "[filter]") {
    CHECK(diagnostic("udp and ip.scr == 1.2.3.4") ==
          "-Y:1:9: error: unknown attribute 'ip.scr'; did you mean 'ip.src'?\n"
          "udp and ip.scr == 1.2.3.4\n"
          "        ^~~~~~\n");
    CHECK(diagnostic("ip.src == \"x\"") == "-Y:1:11: error: cannot compare ipv4 with a string\n"
                                           "ip.src == \"x\"\n"
                                           "          ^~~\n");
    CHECK(diagnostic("tcp.dstport == abc") ==
          "-Y:1:16: error: 'abc' is not an integer ('tcp.dst_port' is uint)\n"
          "tcp.dstport == abc\n"
          "               ^~~\n");
    CHECK(diagnostic("(tcp.dstport == 1") ==
          "-Y:1:18: error: expected ')' to close the '(' at column 1, not the end of the filter\n"
          "(tcp.dstport == 1\n"
          "                 ^\n");
    CHECK(diagnostic("tcp.dstport = 1") ==
          "-Y:1:13: error: '=' is not an operator; did you mean '=='?\n"
          "tcp.dstport = 1\n"
          "            ^\n");
    CHECK(diagnostic("udp == 1") ==
          "-Y:1:5: error: 'udp' is a protocol: it can only be tested for presence\n"
          "udp == 1\n"
          "    ^~\n");
    CHECK(diagnostic("tcp.dstport contains \"a\"") ==
          "-Y:1:13: error: 'contains' applies to strings and bytes; 'tcp.dst_port' is uint\n"
          "tcp.dstport contains \"a\"\n"
          "            ^~~~~~~~\n");
    CHECK(diagnostic("ip.src < 10.0.0.0/8") ==
          "-Y:1:10: error: a CIDR block compares only with '==', '!=' and 'in'\n"
          "ip.src < 10.0.0.0/8\n"
          "         ^~~~~~~~~~\n");
    CHECK(diagnostic("ip.src == 10.0.0.300") ==
          "-Y:1:11: error: '10.0.0.300' is not an IPv4 address or CIDR block ('ipv4.src' is "
          "ipv4)\n"
          "ip.src == 10.0.0.300\n"
          "          ^~~~~~~~~~\n");
    CHECK(diagnostic("http.host == x") ==
          "-Y:1:14: error: expected a string in double quotes, not 'x' ('http.host' is string)\n"
          "http.host == x\n"
          "             ^\n");
    CHECK(diagnostic("tcp.syn > 0") == "-Y:1:9: error: '>' does not apply to bool ('tcp.syn')\n"
                                       "tcp.syn > 0\n"
                                       "        ^\n");
    CHECK(diagnostic("udp udp") ==
          "-Y:1:5: error: unexpected 'udp' after a complete filter\nudp udp\n    ^~~\n");
    CHECK(diagnostic("") == "-Y:1:1: error: empty filter\n\n^\n");
    CHECK(diagnostic("http.host == \"abc") ==
          "-Y:1:14: error: missing the closing '\"' of this string\n"
          "http.host == \"abc\n"
          "             ^\n");
    CHECK(diagnostic("tcp.dstport in {}") ==
          "-Y:1:17: error: an empty set matches nothing\ntcp.dstport in {}\n                ^\n");
    CHECK(diagnostic("tcp.dstport in {9..1}") ==
          "-Y:1:17: error: empty range '9..1': it ends before it starts\n"
          "tcp.dstport in {9..1}\n"
          "                ^~~~\n");
    CHECK(diagnostic("udp and\n  tcp.dstport == 1 $") ==
          "-Y:2:20: error: unexpected character '$'\n  tcp.dstport == 1 $\n                   ^\n");
    std::string bad = diagnostic("http.host matches \"(\"");
    CHECK(bad.rfind("-Y:1:19: error: invalid regular expression: ", 0) == 0);
}

TEST_CASE("deep and long display filters are reported or compiled, without a crash", "[filter]") {
    // Parentheses and `not` nest at most kMaxFilterDepth deep.
    std::string deep = std::string(100000, '(') + "udp" + std::string(100000, ')');
    std::string d = diagnostic(deep);
    CHECK(d == "-Y:1:257: error: the filter nests deeper than 256 levels of parentheses and "
               "'not'\n..." +
                   std::string(120, '(') + "...\n" + std::string(63, ' ') + "^\n");
    std::string nots;
    for (int i = 0; i < 100000; ++i) nots += "not ";
    CHECK(diagnostic(nots + "udp").rfind("-Y:1:1025: error: the filter nests deeper", 0) == 0);
    std::string ok = std::string(200, '(') + "udp" + std::string(200, ')');
    CHECK(tree(ok) == "(present udp)");
    // A long flat list is no nesting at all.
    std::string list = "tcp.dstport == 1";
    for (int i = 2; i <= 200; ++i) list += " or tcp.dstport == " + std::to_string(i);
    Packet p;
    p.uint(0, 199);
    CHECK(eval(list, p));
    Packet q;
    q.uint(0, 201);
    CHECK_FALSE(eval(list, q));
}

TEST_CASE("compiled display filters evaluate every type, over every occurrence", "[filter]") {
    Packet p;
    p.uint(0, 443)
        .ip(1, "10.1.2.3")
        .ip(1, "192.168.0.7")
        .ip(2, "2001:db8::1")
        .bytes(3, MMT_T_MAC, std::string("\x02\x00\x00\x00\x00\x0a", 6))
        .bytes(4, MMT_T_STRING, "www.Google.com")
        .bytes(5, MMT_T_BYTES, std::string("\x16\x03\x01\x00", 4))
        .uint(6, 1, MMT_T_BOOL);
    CHECK(eval("tcp.dstport == 443", p));
    CHECK_FALSE(eval("tcp.dstport == 80", p));
    CHECK(eval("tcp.dstport > 442 and tcp.dstport < 444 and tcp.dstport >= 443", p));
    CHECK_FALSE(eval("tcp.dstport <= 442", p));
    CHECK(eval("tcp.dstport in {80, 400..500}", p));
    CHECK_FALSE(eval("tcp.dstport in {80, 8000..8080}", p));
    // Any occurrence: one of the two addresses is enough.
    CHECK(eval("ip.src == 192.168.0.0/16", p));
    CHECK(eval("ip.src == 10.1.2.3", p));
    CHECK(eval("ip.src == 0.0.0.0/0", p));
    CHECK_FALSE(eval("ip.src == 172.16.0.0/12", p));
    CHECK(eval("ip.src > 192.168.0.6", p));
    CHECK(eval("ip.src in {1.2.3.4, 10.1.0.0/16}", p));
    // `!=` as tshark: present, and no occurrence equal.
    CHECK_FALSE(eval("ip.src != 10.1.2.3", p));
    CHECK(eval("ip.src != 10.1.2.4", p));
    CHECK_FALSE(eval("tcp.payload != 16:03", Packet()));
    CHECK(eval("ipv6.src == 2001:db8::/32 and not ipv6.src == 2001:db9::/32", p));
    CHECK(eval("ipv6.src == 2001:db8::1 and ipv6.src > 2001:db7::", p));
    CHECK(eval("ipv6.src == 2001:db8::1/127", p));
    CHECK_FALSE(eval("ipv6.src == 2001:db8::2/127", p));
    CHECK(eval("eth.src == 02:00:00:00:00:0a", p));
    CHECK(eval("http.host == \"www.Google.com\"", p));
    CHECK(eval("http.host contains \"Google\"", p));
    CHECK_FALSE(eval("http.host contains \"google\"", p));
    // `matches` ignores case, as tshark's does.
    CHECK(eval("http.host matches \"^WWW\\\\.goo+gle\\\\.(com|org)$\"", p));
    CHECK_FALSE(eval("http.host matches \"^google\"", p));
    CHECK(eval("http.host in {\"a\", \"www.Google.com\"}", p));
    CHECK(eval("http.host > \"www\" and http.host < \"wwx\"", p));
    CHECK(eval("tcp.payload contains 03:01", p));
    CHECK(eval("tcp.payload contains \"\\x03\\x01\"", p));
    CHECK(eval("tcp.payload == 16:03:01:00", p));
    CHECK_FALSE(eval("tcp.payload == 16:03:01", p));
    CHECK(eval("tcp.syn == true and tcp.syn != 0", p));
    CHECK(eval("tcp.syn", p));
    // Presence, and absence.
    CHECK_FALSE(eval("udp", p));
    Packet u;
    u.uint(7, 1); // one udp layer
    CHECK(eval("udp", u));
    CHECK(eval("udp and not tcp.dstport", u));
    CHECK_FALSE(eval("tcp.dstport != 80", u)); // absent: no comparison holds
    CHECK_FALSE(eval("tcp.dstport < 80", u));
    CHECK(eval("not tcp.dstport == 80", u));
}
