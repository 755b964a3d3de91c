// mmtrun end to end: golden outputs on the bundled example capture, and clean errors
// with the documented exit statuses for bad input of every kind.
#include "packet_builder.h"
#include "pcap_writer.h"
#include "process_util.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

using namespace mmt::test;

namespace {

const std::string kMmtrun = std::string(MMT_BIN_DIR) + "/mmtrun";
const std::string kDemo = MMT_DEMO_PCAP;

/// Compares `actual` with tests/mmtrun/<name>; MMT_UPDATE_GOLDEN=1 rewrites it instead.
void golden(const std::string& name, const std::string& actual) {
    std::string path = std::string(MMT_SOURCE_DIR) + "/tests/mmtrun/" + name;
    const char* update = std::getenv("MMT_UPDATE_GOLDEN");
    if (update && std::string(update) == "1") {
        std::ofstream(path, std::ios::binary) << actual;
        return;
    }
    std::string expected = slurp(path);
    INFO("golden file " << path << " (MMT_UPDATE_GOLDEN=1 rewrites it)");
    CHECK(actual == expected);
}

ProcessResult mmtrun(std::vector<std::string> args) {
    args.insert(args.begin(), kMmtrun);
    args.push_back("--no-progress");
    return runProcess(args);
}

} // namespace

TEST_CASE("mmtrun prints attributes per packet, as text, CSV and JSON", "[mmtrun][golden]") {
    std::vector<std::string> cols = {
        "-e", "frame.number",    "-e", "frame.path",   "-e", "ethernet.src", "-e", "ipv4.src",
        "-e", "ipv6.dst",        "-e", "tcp.dst_port", "-e", "dns.qname",    "-e", "http.host",
        "-e", "http.user_agent", "-e", "tls.sni",      "-e", "vlan.id"};
    auto run = [&](const std::string& format) {
        std::vector<std::string> args = {"-r", kDemo, "-T", format};
        args.insert(args.end(), cols.begin(), cols.end());
        return mmtrun(args);
    };
    auto text = run("text");
    REQUIRE(text.status == 0);
    CHECK(text.err.empty());
    golden("demo.txt", text.out);
    auto csv = run("csv");
    REQUIRE(csv.status == 0);
    golden("demo.csv", csv.out);
    auto json = run("json");
    REQUIRE(json.status == 0);
    golden("demo.jsonl", json.out);
}

TEST_CASE("mmtrun prints flow records and a protocol hierarchy", "[mmtrun][golden]") {
    auto flows = mmtrun({"-r", kDemo, "--flows", "-q"});
    REQUIRE(flows.status == 0);
    golden("demo-flows.txt", flows.out);
    auto flowsCsv = mmtrun({"-r", kDemo, "--flows", "-q", "-T", "csv"});
    REQUIRE(flowsCsv.status == 0);
    golden("demo-flows.csv", flowsCsv.out);
    auto stats = mmtrun({"-r", kDemo, "--stats", "-q"});
    REQUIRE(stats.status == 0);
    golden("demo-stats.txt", stats.out);
}

TEST_CASE("a capture cut in the middle of a packet: every complete packet, then the damage",
          "[mmtrun]") {
    TempFile f(".pcap");
    PcapWriter w;
    for (int i = 0; i < 5; ++i)
        w.packet(1, uint32_t(i) * 1000,
                 PacketBuilder()
                     .eth()
                     .ipv4("10.0.0.1", "10.0.0.2")
                     .udp(1000, 53)
                     .payload("abcdef")
                     .build());
    w.truncate_last(30);
    REQUIRE(w.write(f.path()));
    auto r = mmtrun({"-r", f.path(), "-T", "csv", "-e", "frame.number", "-e", "udp.dst_port"});
    CHECK(r.status == 1);
    CHECK(r.out == "frame.number,udp.dst_port\n1,53\n2,53\n3,53\n4,53\n");
    CHECK(r.err.rfind("mmtrun: error: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("mmtrun: clear one-line errors and exit statuses", "[mmtrun]") {
    auto missing = mmtrun({"-r", "/nonexistent/trace.pcap"});
    CHECK(missing.status == 2);
    CHECK(missing.err.rfind("mmtrun: error: ", 0) == 0);
    CHECK(std::count(missing.err.begin(), missing.err.end(), '\n') == 1);

    TempFile junk(".pcap");
    write_file(junk.path(), to_bytes("this is not a capture file at all, just text\n"));
    auto notCapture = mmtrun({"-r", junk.path()});
    CHECK(notCapture.status == 2);
    CHECK(notCapture.err.rfind("mmtrun: error: ", 0) == 0);

    auto unknownAttr = mmtrun({"-r", kDemo, "-e", "ipv4.nonexistent"});
    CHECK(unknownAttr.status == 2);
    CHECK(unknownAttr.err.find("unknown attribute 'ipv4.nonexistent'") != std::string::npos);

    auto badFormat = mmtrun({"-r", kDemo, "-T", "xml"});
    CHECK(badFormat.status == 2);

    auto noInput = mmtrun({"-e", "ipv4.src"});
    CHECK(noInput.status == 2);

    auto badIface = mmtrun({"-i", "no-such-interface0"});
    CHECK(badIface.status == 2);
    CHECK(badIface.err.rfind("mmtrun: error: ", 0) == 0);

    TempFile spec(".mmtp");
    write_file(spec.path(), to_bytes("protocol broken {\n    id 900\n}\n"));
    auto badSpec = mmtrun({"-r", kDemo, "-p", spec.path()});
    CHECK(badSpec.status == 3);
    CHECK(badSpec.err.find(spec.path() + ":2:11: error: expected ';'") != std::string::npos);
}

TEST_CASE("mmtrun loads a user's spec beside the built-in ones", "[mmtrun]") {
    TempFile spec(".mmtp");
    write_file(spec.path(), to_bytes(R"(
protocol demo_echo {
    id 900;
    over udp port 7;
    header { word : u32; }
    attribute word;
}
)"));
    TempFile cap(".pcap");
    PcapWriter w;
    w.packet(1, 0,
             PacketBuilder()
                 .eth()
                 .ipv4("10.0.0.1", "10.0.0.2")
                 .udp(4000, 7)
                 .payload(Bytes{0, 0, 1, 0})
                 .build());
    REQUIRE(w.write(cap.path()));
    auto r =
        mmtrun({"-r", cap.path(), "-p", spec.path(), "-e", "frame.path", "-e", "demo_echo.word"});
    CHECK(r.status == 0);
    CHECK(r.out == "ethernet.ipv4.udp.demo_echo\t256\n");
}

TEST_CASE("mmtrun -l loads specs compiled by mmtc build, with the same results", "[mmtrun]") {
    TempFile obj(".o");
    auto build =
        runProcess({std::string(MMT_BIN_DIR) + "/mmtc", "build", MMT_SPEC_DIR, "-o", obj.path()});
    REQUIRE(build.status == 0);
    std::vector<std::string> cols = {"-e", "frame.path", "-e", "dns.qname",
                                     "-e", "http.host",  "-e", "tls.sni"};
    std::vector<std::string> a = {"-r", kDemo, "--no-builtin", "-l", obj.path()};
    a.insert(a.end(), cols.begin(), cols.end());
    std::vector<std::string> b = {"-r", kDemo};
    b.insert(b.end(), cols.begin(), cols.end());
    auto fromObject = mmtrun(a);
    auto compiled = mmtrun(b);
    CHECK(fromObject.status == 0);
    CHECK(fromObject.out == compiled.out);
    CHECK(fromObject.out.find("example.org") != std::string::npos);
}

TEST_CASE("mmtrun --max-pdu bounds the PDUs of protocols whose spec sets no limit", "[mmtrun]") {
    auto spec = [](const std::string& limit) {
        return "protocol demo_len {\n    id 901;\n    over tcp port 7999;\n    " + limit +
               "\n    header { len : u16; }\n    pdu_length = 2 + len;\n    attribute len;\n}\n";
    };
    TempFile cap(".pcap");
    PcapWriter w;
    Bytes big{0x07, 0xd0}; // a 2,002-byte PDU
    big.resize(2002, 'x');
    w.packet(1, 0,
             PacketBuilder()
                 .eth()
                 .ipv4("10.0.0.1", "10.0.0.2")
                 .tcp(40000, 7999)
                 .seq(1)
                 .flags(0x18)
                 .payload(big)
                 .build());
    w.packet(2, 0,
             PacketBuilder()
                 .eth()
                 .ipv4("10.0.0.1", "10.0.0.2")
                 .tcp(40000, 7999)
                 .seq(2003)
                 .flags(0x18)
                 .payload(Bytes{0, 2, 'o', 'k'})
                 .build());
    REQUIRE(w.write(cap.path()));
    auto run = [&](const std::string& limit, std::vector<std::string> extra) {
        TempFile s(".mmtp");
        write_file(s.path(), to_bytes(spec(limit)));
        std::vector<std::string> a = {"-r", cap.path(),        "-p", s.path(),      "-T", "csv",
                                      "-e", "frame.malformed", "-e", "demo_len.len"};
        a.insert(a.end(), extra.begin(), extra.end());
        return mmtrun(a);
    };
    const std::string whole = "frame.malformed,demo_len.len\n,2000\n,2\n";
    // The over-long PDU is malformed and stepped over; the next one is read.
    const std::string cut = "frame.malformed,demo_len.len\ndemo_len.pdu_length,\n,2\n";
    CHECK(run("", {}).out == whole); // 1 MiB by default
    CHECK(run("", {"--max-pdu", "1KiB"}).out == cut);
    CHECK(run("", {"--max-pdu", "2002"}).out == whole);
    CHECK(run("max_pdu 1000;", {}).out == cut);                      // the spec's own limit
    CHECK(run("max_pdu 4KiB;", {"--max-pdu", "1000"}).out == whole); // wins over the run's

    auto bad = mmtrun({"-r", cap.path(), "--max-pdu", "0"});
    CHECK(bad.status == 2);
    CHECK(bad.err.find("'--max-pdu 0': expected a size") != std::string::npos);
    CHECK(mmtrun({"-r", cap.path(), "--max-pdu", "1GiB"}).status == 2);
}
