// A library far larger than the built-in one: protocol indexes past 256 name the right
// protocols on packet paths and in flow records.
#include "journey_util.h"
#include "pcap_writer.h"

#include <fmt/format.h>

using namespace mmt;
using namespace mmt::test;

namespace {

constexpr int kGenerated = 300;

/// Protocol `i` of the generated library: a session of its own over UDP port 20000 + i,
/// and, when its `kind` is 7, protocol i + 1 above it.
std::string generatedSpec(int i) {
    std::string s = fmt::format("protocol gen{:03} {{\n    id {};\n    over udp port {};\n", i,
                                30000 + i, 20000 + i);
    if (i > 0) s += fmt::format("    over gen{:03} when kind == 7;\n", i - 1);
    s += "    header { kind : u8; }\n    attribute kind;\n";
    s += "    session key (kind) timeout 30s;\n}\n";
    return s;
}

} // namespace

TEST_CASE("a library of 300 more protocols: indexes past 256 on paths and in flow records",
          "[journey][session]") {
    std::string text;
    for (int i = 0; i < kGenerated; ++i) text += generatedSpec(i);
    auto lib = libraryWithSpec(text);
    REQUIRE(lib->table().n_protos > 256 + 2);

    // The first generated protocol whose index, and its successor's, are past 256.
    int first = -1;
    for (int i = 0; i + 1 < kGenerated && first < 0; ++i)
        if (lib->find_protocol(fmt::format("gen{:03}", i)) > 256 &&
            lib->find_protocol(fmt::format("gen{:03}", i + 1)) > 256)
            first = i;
    REQUIRE(first >= 0);
    std::string low = fmt::format("gen{:03}", first), high = fmt::format("gen{:03}", first + 1);
    INFO(low << " is at index " << lib->find_protocol(low));

    Recorder r({"frame.path", low + ".kind", high + ".kind"}, {}, *lib);
    Bytes pkt = PacketBuilder()
                    .eth()
                    .ipv4("10.0.0.1", "10.0.0.2")
                    .udp(40000, uint16_t(20000 + first))
                    .payload(std::string("\x07\x01", 2))
                    .build();
    auto row = r.feed(pkt);
    std::string path = "ethernet.ipv4.udp." + low + "." + high;
    CHECK(row["path"] == path);
    CHECK(row["frame.path"] == path);
    CHECK(row[low + ".kind"] == "7");
    CHECK(row[high + ".kind"] == "1");

    // Three sessions: UDP's, then one per generated protocol; each remembers its path.
    r.h.finish();
    REQUIRE(r.ended.size() == 3);
    std::map<std::string, SessionInfo> byTransport;
    for (const SessionInfo& s : r.ended) byTransport[s.transport] = s;
    REQUIRE(byTransport.count("udp"));
    REQUIRE(byTransport.count(low));
    REQUIRE(byTransport.count(high));
    CHECK(byTransport["udp"].path == "ethernet.ipv4.udp." + low);
    CHECK(byTransport["udp"].application == low);
    CHECK(byTransport[low].path == "ethernet.ipv4.udp." + low + "." + high);
    CHECK(byTransport[low].application == high);
    CHECK(byTransport[high].path == path);
}
