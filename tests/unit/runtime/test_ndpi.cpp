// Flow-level conformance with nDPI, the second independent oracle: for the captures that
// come with nDPI's expected results (../shared/pcaps/ndpi-results), the application our
// flow records name agrees with nDPI's master protocol wherever we both name one.
#include "process_util.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>

using namespace mmt::test;
namespace fs = std::filesystem;

namespace {

const std::string kMmtrun = std::string(MMT_BIN_DIR) + "/mmtrun";

/// nDPI's master protocol names for the applications the built-in specs classify.
const std::map<std::string, std::string> kNames = {
    {"DNS", "dns"}, {"MDNS", "dns"}, {"LLMNR", "dns"}, {"HTTP", "http"},
    {"TLS", "tls"}, {"SSH", "ssh"},  {"QUIC", "quic"}, {"SIP", "sip"},
};

std::string lower(std::string s) {
    for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

/// "tcp|a:1|b:2" with the endpoints in a fixed order: both directions meet.
std::string flowKey(const std::string& transport, std::string a, std::string b) {
    if (b < a) std::swap(a, b);
    return lower(transport) + "|" + a + "|" + b;
}

std::string endpoint(const std::string& addr, const std::string& port) {
    return addr.find(':') != std::string::npos ? "[" + addr + "]:" + port : addr + ":" + port;
}

/// One flow of an nDPI result: "\tN\tTCP a:1 <-> b:2 [...][proto: 91.203/TLS.Github]...".
struct Flow {
    std::string transport, a, b, master;
};

bool parseFlowLine(const std::string& l, Flow& f) {
    if (l.size() < 3 || l[0] != '\t' || !std::isdigit(static_cast<unsigned char>(l[1])))
        return false;
    size_t tab = l.find('\t', 1);
    if (tab == std::string::npos) return false;
    std::istringstream words(l.substr(tab + 1));
    std::string arrow;
    if (!(words >> f.transport >> f.a >> arrow >> f.b) || arrow != "<->") return false;
    size_t proto = l.find("[proto: ");
    if (proto == std::string::npos) return false;
    size_t slash = l.find('/', proto);
    if (slash == std::string::npos) return false;
    size_t end = slash + 1;
    while (end < l.size() && (std::isalnum(static_cast<unsigned char>(l[end])) || l[end] == '_'))
        ++end;
    f.master = l.substr(slash + 1, end - slash - 1);
    return true;
}

std::vector<std::string> csv(const std::string& line) {
    std::vector<std::string> out(1);
    bool q = false;
    for (char c : line) {
        if (c == '"')
            q = !q;
        else if (c == ',' && !q)
            out.emplace_back();
        else
            out.back() += c;
    }
    return out;
}

} // namespace

TEST_CASE("flow applications agree with nDPI's expected results", "[conformance][ndpi]") {
    std::string dir = std::string(MMT_PCAP_DIR) + "/ndpi-results";
    if (!fs::is_directory(dir)) {
        WARN("skipped: no nDPI results in " << dir
                                            << " (the shared corpus is not part of a clone)");
        return;
    }
    size_t compared = 0, agreed = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        std::string name = e.path().filename().string();
        std::string capture =
            std::string(MMT_PCAP_DIR) + "/" + name.substr(0, name.size() - 4); // drop ".out"
        if (!fs::exists(capture)) continue;
        std::map<std::string, std::string> theirs;
        std::istringstream in(slurp(e.path().string()));
        for (std::string l; std::getline(in, l);) {
            Flow f;
            if (!parseFlowLine(l, f)) continue;
            auto it = kNames.find(f.master);
            if (it != kNames.end()) theirs[flowKey(f.transport, f.a, f.b)] = it->second;
        }
        if (theirs.empty()) continue;
        auto r =
            runProcess({kMmtrun, "-r", capture, "--flows", "-q", "-T", "csv", "--no-progress"});
        std::map<std::string, std::string> ours;
        std::istringstream out(r.out);
        std::string l;
        std::getline(out, l); // header
        while (std::getline(out, l)) {
            auto f = csv(l);
            if (f.size() < 8) continue;
            ours[flowKey(f[1], endpoint(f[2], f[3]), endpoint(f[4], f[5]))] = f[7];
        }
        for (const auto& [key, app] : theirs) {
            auto it = ours.find(key);
            if (it == ours.end()) continue; // a flow we do not track (e.g. nDPI's view of a tunnel)
            ++compared;
            if (it->second == app)
                ++agreed;
            else
                WARN(name << " " << key << ": nDPI " << app << ", mmtrun '" << it->second << "'");
        }
    }
    INFO(agreed << " of " << compared << " flows agree");
    REQUIRE(compared >= 100);
    CHECK(double(agreed) / double(compared) >= 0.9);
}
