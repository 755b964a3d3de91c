// Conformance on real captures (../shared/pcaps): mmtrun reads every one without a
// crash, prints one row per packet tshark counts, and agrees with tshark, the independent
// oracle, on the values of the attributes both name.
#include "process_util.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

using namespace mmt::test;
namespace fs = std::filesystem;

namespace {

const std::string kMmtrun = std::string(MMT_BIN_DIR) + "/mmtrun";

std::vector<std::string> captures() {
    std::vector<std::string> out;
    std::error_code ec;
    if (!fs::is_directory(MMT_PCAP_DIR, ec)) return out;
    for (const auto& e : fs::directory_iterator(MMT_PCAP_DIR)) {
        std::string ext = e.path().extension().string();
        if (ext == ".pcap" || ext == ".pcapng" || ext == ".cap") out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool haveTshark() {
    static int have = -1;
    if (have < 0) have = runProcess({"/usr/bin/tshark", "-v"}).status == 0 ? 1 : 0;
    return have == 1;
}

std::vector<std::string> splitLines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
}

/// CSV fields of one line (quotes handled).
std::vector<std::string> csvFields(const std::string& line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
                out.back() += '"', ++i;
            else if (c == '"')
                quoted = false;
            else
                out.back() += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            out.emplace_back();
        } else {
            out.back() += c;
        }
    }
    return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out(1);
    for (char c : s) {
        if (c == sep)
            out.emplace_back();
        else
            out.back() += c;
    }
    return out;
}

enum class Kind { Int, Ip, Mac, Bytes, Str };

/// One value in a canonical form, so "0x0800" and "2048" or "::1" spellings meet.
std::string canonical(std::string v, Kind k) {
    while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.pop_back();
    if (v.empty()) return v;
    switch (k) {
    case Kind::Int: {
        char* end = nullptr;
        // Leading zeros are decimal ("006127"), not octal; "0x" is hexadecimal.
        bool hex = v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
        unsigned long long x = std::strtoull(v.c_str(), &end, hex ? 16 : 10);
        return end && *end == 0 ? std::to_string(x) : v;
    }
    case Kind::Ip: {
        unsigned char buf[16];
        char text[INET6_ADDRSTRLEN];
        if (inet_pton(AF_INET, v.c_str(), buf) == 1 && inet_ntop(AF_INET, buf, text, sizeof text))
            return text;
        if (inet_pton(AF_INET6, v.c_str(), buf) == 1 && inet_ntop(AF_INET6, buf, text, sizeof text))
            return text;
        return v;
    }
    case Kind::Mac:
        std::transform(v.begin(), v.end(), v.begin(),
                       [](unsigned char c) { return c == '-' ? ':' : char(std::tolower(c)); });
        return v;
    case Kind::Bytes: // hex, with or without separators
        v.erase(std::remove(v.begin(), v.end(), ':'), v.end());
        std::transform(v.begin(), v.end(), v.begin(),
                       [](unsigned char c) { return char(std::tolower(c)); });
        return v;
    case Kind::Str:
        return v;
    }
    return v;
}

std::set<std::string> cell(const std::string& text, char sep, Kind k) {
    std::set<std::string> out;
    if (text.empty()) return out;
    for (auto& part : split(text, sep)) {
        std::string c = canonical(part, k);
        if (!c.empty()) out.insert(c);
    }
    return out;
}

struct Pair {
    std::string ours;
    std::string tshark;
    Kind kind;
    /// Compared only where we decode the protocol: where the two layer the same bytes
    /// differently (SMB's direct TCP header, which tshark shows as NetBIOS).
    bool oursOnly = false;
};

/// The attribute pairs of tests/conformance/tshark-pairs.tsv: ours, tshark's, kind.
const std::vector<Pair>& pairs() {
    static const std::vector<Pair> table = [] {
        std::vector<Pair> out;
        std::istringstream in(
            slurp(std::string(MMT_SOURCE_DIR) + "/tests/conformance/tshark-pairs.tsv"));
        for (std::string line; std::getline(in, line);) {
            if (line.empty() || line[0] == '#') continue;
            auto f = split(line, '\t');
            if (f.size() != 3 && f.size() != 4) continue;
            Kind k = f[2] == "int"     ? Kind::Int
                     : f[2] == "ip"    ? Kind::Ip
                     : f[2] == "mac"   ? Kind::Mac
                     : f[2] == "bytes" ? Kind::Bytes
                                       : Kind::Str;
            out.push_back({f[0], f[1], k, f.size() == 4 && f[3] == "ours-only"});
        }
        return out;
    }();
    return table;
}

/// tests/conformance/tshark-exceptions.tsv: capture, frame, attribute, why. Cells where
/// tshark 4.0 is known to be wrong, left out of the score.
const std::set<std::string>& exceptions() {
    static const std::set<std::string> table = [] {
        std::set<std::string> out;
        std::istringstream in(
            slurp(std::string(MMT_SOURCE_DIR) + "/tests/conformance/tshark-exceptions.tsv"));
        for (std::string line; std::getline(in, line);) {
            if (line.empty() || line[0] == '#') continue;
            auto f = split(line, '\t');
            if (f.size() >= 3) out.insert(f[0] + "\t" + f[1] + "\t" + f[2]);
        }
        return out;
    }();
    return table;
}

} // namespace

TEST_CASE("mmtrun reads every real capture and prints one row per packet tshark counts",
          "[conformance]") {
    auto files = captures();
    if (files.empty()) {
        WARN("skipped: no captures in " MMT_PCAP_DIR " (the shared corpus is not part of a clone)");
        return;
    }
    if (!haveTshark()) {
        WARN("skipped: tshark is not installed (apt-get install tshark)");
        return;
    }
    for (const auto& f : files) {
        INFO(f);
        auto ours =
            runProcess({kMmtrun, "-r", f, "-T", "csv", "-e", "frame.number", "--no-progress"});
        CHECK(ours.status < 2); // 0, or 1 for a damaged capture: never a crash
        auto theirs =
            runProcess({"/usr/bin/tshark", "-r", f, "-T", "fields", "-e", "frame.number"});
        size_t tsharkRows = splitLines(theirs.out).size();
        size_t ourRows = splitLines(ours.out).size() - 1; // header row
        CHECK(ourRows == tsharkRows);
    }
}

TEST_CASE("attribute values agree with tshark on real captures", "[conformance]") {
    auto files = captures();
    if (files.empty() || !haveTshark()) {
        WARN("skipped: needs " MMT_PCAP_DIR " and tshark");
        return;
    }
    std::map<std::string, std::pair<size_t, size_t>> score; // agree, compared
    for (const auto& f : files) {
        std::vector<std::string> ours = {kMmtrun, "-r", f, "-T", "csv", "--no-progress"};
        std::vector<std::string> theirs = {"/usr/bin/tshark",
                                           "-r",
                                           f,
                                           "-T",
                                           "fields",
                                           "-E",
                                           "separator=\t",
                                           "-E",
                                           "occurrence=a",
                                           "-E",
                                           "aggregator=,"};
        // tshark prints a field asked twice once: each field is asked once, and each pair
        // reads its column.
        std::map<std::string, size_t> column;
        std::vector<size_t> tcol;
        for (const Pair& p : pairs()) {
            ours.insert(ours.end(), {"-e", p.ours});
            auto [it, fresh] = column.emplace(p.tshark, column.size());
            if (fresh) theirs.insert(theirs.end(), {"-e", p.tshark});
            tcol.push_back(it->second);
        }
        auto o = runProcess(ours);
        auto t = runProcess(theirs);
        auto oLines = splitLines(o.out);
        auto tLines = splitLines(t.out);
        for (size_t i = 0; i < tLines.size(); ++i) {
            auto tf = split(tLines[i], '\t');
            auto of = i + 1 < oLines.size() ? csvFields(oLines[i + 1]) : std::vector<std::string>{};
            for (size_t j = 0; j < pairs().size(); ++j) {
                size_t tj = tcol[j];
                auto a = cell(tj < tf.size() ? tf[tj] : "", ',', pairs()[j].kind);
                auto b = cell(j < of.size() ? of[j] : "", ',', pairs()[j].kind);
                if (a.empty() && b.empty()) continue;
                if (pairs()[j].oursOnly && b.empty()) continue;
                if (exceptions().count(fs::path(f).filename().string() + "\t" +
                                       std::to_string(i + 1) + "\t" + pairs()[j].ours))
                    continue;
                auto& s = score[pairs()[j].ours];
                s.second++;
                if (a == b)
                    s.first++;
                else if (s.second - s.first <= 3)
                    WARN(fs::path(f).filename().string()
                         << " frame " << i + 1 << " " << pairs()[j].ours << ": tshark {"
                         << (tj < tf.size() ? tf[tj] : "") << "} mmtrun {"
                         << (j < of.size() ? of[j] : "") << "}");
            }
        }
    }
    size_t agree = 0, total = 0;
    for (const auto& [name, s] : score) {
        double pct = 100.0 * double(s.first) / double(s.second);
        INFO(name << ": " << s.first << "/" << s.second);
        // Too few cells say little about one attribute (tshark decodes SSH only on its
        // port, for instance); the overall share below still counts them.
        if (s.second >= 20) CHECK(pct >= 98.0);
        agree += s.first;
        total += s.second;
    }
    double overall = 100.0 * double(agree) / double(total);
    INFO("overall " << agree << "/" << total);
    CHECK(overall >= 99.5);
}

TEST_CASE("mmtrun reads every real capture with every attribute requested", "[conformance]") {
    auto files = captures();
    if (files.empty()) {
        WARN("skipped: no captures in " MMT_PCAP_DIR);
        return;
    }
    auto list = runProcess({kMmtrun, "-L"});
    REQUIRE(list.status == 0);
    std::vector<std::string> args = {kMmtrun,     "-T",           "json",      "--flows-file",
                                     "/dev/null", "--stats-file", "/dev/null", "--no-progress"};
    for (const auto& name : splitLines(list.out)) args.insert(args.end(), {"-e", name});
    REQUIRE(args.size() > 200);
    for (const auto& f : files) {
        INFO(f);
        std::vector<std::string> a = args;
        a.insert(a.begin() + 1, {"-r", f});
        auto r = runProcess(a);
        CHECK(r.status < 2); // never a crash; 1 only for a damaged capture
    }
}
