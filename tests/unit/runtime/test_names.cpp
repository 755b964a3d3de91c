// Attribute names: tshark's field names as aliases (protocols.dsl/tshark-names.tsv), kept in
// step with the pairs the conformance tests compare, the closest names of a misspelling,
// and the generated table of aliases in docs/tshark-names.md.
#include "journey_util.h"
#include "process_util.h"

#include <cstdlib>
#include <set>
#include <sstream>

using namespace mmt;
using namespace mmt::test;

namespace {

bool sameAttribute(const AttributeRef& a, const AttributeRef& b) {
    return a.valid() && b.valid() && a.proto == b.proto && a.attr == b.attr;
}

/// docs/tshark-names.md from the alias table.
std::string aliasDoc(const ProtocolLibrary& lib) {
    std::string out =
        "# tshark's field names\n\n"
        "Generated from `protocols.dsl/tshark-names.tsv` (a test keeps this page current).\n"
        "Wherever an attribute is named (`mmtrun -e`, `Handler::request`), tshark's name of\n"
        "it is accepted too: it names the same field, printed as our attribute prints it.\n"
        "Our own names are in [protocols.md](protocols.md).\n\n"
        "| tshark | mmt-journey |\n|---|---|\n";
    for (const auto& [alias, name] : lib.aliases()) out += "| `" + alias + "` | `" + name + "` |\n";
    return out;
}

} // namespace

TEST_CASE("tshark's field names resolve to the attributes they name", "[names]") {
    const ProtocolLibrary& lib = builtinLibrary();
    for (auto [alias, name] : std::vector<std::pair<std::string, std::string>>{
             {"ip.src", "ipv4.src"},
             {"tcp.dstport", "tcp.dst_port"},
             {"dns.qry.name", "dns.qname"},
             {"tls.handshake.extensions_server_name", "tls.sni"},
             {"eth.src", "ethernet.src"}}) {
        INFO(alias);
        CHECK(sameAttribute(lib.find_attribute(alias), lib.find_attribute(name)));
    }
    // Our own names win: tshark's ipv6.src is ours too, and no alias hides an attribute.
    std::set<std::string> ours;
    for (const auto& n : lib.attribute_names()) ours.insert(n);
    REQUIRE(lib.aliases().size() > 400);
    for (const auto& [alias, name] : lib.aliases()) {
        INFO(alias << " -> " << name);
        CHECK(ours.count(alias) == 0);
        CHECK(ours.count(name) == 1);
        CHECK(sameAttribute(lib.find_attribute(alias), lib.find_attribute(name)));
    }
    // A handler takes them like any name.
    Handler h(lib);
    CHECK(h.request("udp.srcport") >= 0);
    CHECK(h.request("udp.srcprot") < 0);
}

TEST_CASE("the alias table agrees with the pairs compared against tshark", "[names]") {
    const ProtocolLibrary& lib = builtinLibrary();
    std::istringstream in(
        slurp(std::string(MMT_SOURCE_DIR) + "/tests/conformance/tshark-pairs.tsv"));
    size_t checked = 0;
    std::map<std::string, std::vector<std::string>> oursFor; // tshark name -> our names
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
        std::string tshark = line.substr(t1 + 1, t2 - t1 - 1), ours = line.substr(0, t1);
        oursFor[tshark].push_back(ours);
        // tshark shows one name for TLS over TCP and over QUIC: both of ours agree.
        if (ours.rfind("quic.", 0) == 0) oursFor[tshark].push_back("tls." + ours.substr(5));
    }
    for (const auto& [tshark, ours] : oursFor) {
        INFO(tshark);
        AttributeRef r = lib.find_attribute(tshark);
        REQUIRE(r.valid());
        bool agrees = false;
        for (const auto& o : ours) agrees |= sameAttribute(r, lib.find_attribute(o));
        CHECK(agrees);
        ++checked;
    }
    CHECK(checked > 400);
}

TEST_CASE("the closest names of a misspelled attribute", "[names]") {
    const ProtocolLibrary& lib = builtinLibrary();
    auto has = [](const std::vector<std::string>& v, const std::string& s) {
        return std::find(v.begin(), v.end(), s) != v.end();
    };
    CHECK(lib.closest_names("http.hots").front() == "http.host");
    CHECK(has(lib.closest_names("ip.srcc"), "ip.src"));
    CHECK(has(lib.closest_names("tcp.dst_prot"), "tcp.dst_port"));
    CHECK(lib.closest_names("tcp.dstport", 1).size() == 1);
    CHECK(lib.closest_names("completely.unrelated.name").empty());
}

TEST_CASE("every attribute is listed with its type, kind and aliases", "[names]") {
    const ProtocolLibrary& lib = builtinLibrary();
    auto all = lib.attributes();
    CHECK(all.size() == lib.attribute_names().size());
    bool sawSrc = false;
    for (const auto& a : all) {
        if (a.name.rfind("frame.", 0) == 0) CHECK_FALSE(a.description.empty());
        CHECK(std::string(type_name(a.type)) != "none");
        if (a.name == "ipv4.src") {
            sawSrc = true;
            CHECK(std::string(type_name(a.type)) == "ipv4");
            CHECK(a.aliases == std::vector<std::string>{"ip.src"});
            CHECK_FALSE(a.event);
        }
    }
    CHECK(sawSrc);
}

TEST_CASE("docs/tshark-names.md lists every alias", "[names]") {
    std::string path = std::string(MMT_SOURCE_DIR) + "/docs/tshark-names.md";
    std::string actual = aliasDoc(builtinLibrary());
    const char* update = std::getenv("MMT_UPDATE_GOLDEN");
    if (update && std::string(update) == "1") {
        std::ofstream(path, std::ios::binary) << actual;
        return;
    }
    INFO(path << " is generated (MMT_UPDATE_GOLDEN=1 rewrites it)");
    CHECK(slurp(path) == actual);
}
