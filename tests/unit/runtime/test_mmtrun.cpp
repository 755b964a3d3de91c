// mmtrun end to end: golden outputs on the bundled example capture, and clean errors
// with the documented exit statuses for bad input of every kind.
#include "deep_specs.h"
#include "packet_builder.h"
#include "pcap_writer.h"
#include "process_util.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

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

TEST_CASE("mmtrun: every limit has an option; a bad value is a usage error", "[mmtrun][limits]") {
    // Every option with a valid value is taken.
    const std::vector<std::pair<std::string, std::string>> good = {
        {"--max-sessions", "100000"},   {"--max-stream-buffer", "512KiB"},
        {"--max-buffered", "1GiB"},     {"--max-pdu", "2MiB"},
        {"--max-kept-body", "0"},       {"--max-fragment-bytes", "4MiB"},
        {"--max-datagrams", "64"},      {"--max-fragment-pieces", "16"},
        {"--fragment-timeout", "5000"}, {"--classify-packets", "8"},
    };
    std::vector<std::string> args = {"-r", kDemo, "-q", "--stats"};
    for (const auto& [option, value] : good) args.insert(args.end(), {option, value});
    auto all = mmtrun(args);
    REQUIRE(all.status == 0);
    CHECK(all.err.empty());
    CHECK(all.out.find("sessions_evicted                         0\n") != std::string::npos);
    // One session at a time: every other flow evicts the one before, and the summary says so.
    auto one = mmtrun({"-r", kDemo, "-q", "--stats", "--max-sessions", "1"});
    REQUIRE(one.status == 0);
    CHECK(one.out.find("sessions_evicted                         0\n") == std::string::npos);
    CHECK(one.out.find("sessions_evicted ") != std::string::npos);

    const std::vector<std::pair<std::string, std::string>> bad = {
        {"--max-sessions", "16777217"},
        {"--max-sessions", "1k"},
        {"--max-stream-buffer", "4TiB"},
        {"--max-buffered", "65GiB"},
        {"--max-buffered", "-1"},
        {"--max-pdu", "0"},
        {"--max-kept-body", "lots"},
        {"--max-fragment-bytes", "2GiB"},
        {"--max-datagrams", "65537"},
        {"--max-fragment-pieces", "0"},
        {"--fragment-timeout", "1s"},
        {"--classify-packets", ""},
        {"--max-sessions", "99999999999999999999999"},
    };
    for (const auto& [option, value] : bad) {
        INFO(option << " " << value);
        auto r = mmtrun({"-r", kDemo, "-q", option, value});
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        // One line that names the option, the value and what is expected, then the hint.
        CHECK(r.err.rfind("mmtrun: error: '" + option + " " + value + "': expected a ", 0) == 0);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 2);
    }
    auto missing = runProcess({kMmtrun, "-r", kDemo, "--max-datagrams"});
    CHECK(missing.status == 2);
    CHECK(missing.err.find("option '--max-datagrams' needs a value") != std::string::npos);
    auto sizes = mmtrun({"-r", kDemo, "--max-stream-buffer", "0"});
    CHECK(sizes.err.find("expected a size from 1 byte to 256MiB") != std::string::npos);
    auto counts = mmtrun({"-r", kDemo, "--classify-packets", "0"});
    CHECK(counts.err.find("expected a number of packets from 1 to 255") != std::string::npos);
}

TEST_CASE("mmtrun -E: occurrence, aggregator and header, as tshark spells them", "[mmtrun]") {
    auto first = mmtrun({"-r", kDemo, "-c", "3", "-E", "occurrence=f", "-E", "header=y", "-e",
                         "frame.number", "-e", "ipv4.src"});
    CHECK(first.status == 0);
    CHECK(first.out == "frame.number\tipv4.src\n1\t192.168.1.10\n2\t192.168.1.1\n"
                       "3\t192.168.1.10\n");
    auto noHeader = mmtrun({"-r", kDemo, "-c", "1", "-T", "csv", "-E", "header=n", "-e",
                            "frame.number", "-e", "frame.path"});
    CHECK(noHeader.out == "1,ethernet.ipv4.udp.dns\n");
    auto json = mmtrun({"-r", kDemo, "-c", "1", "-T", "json", "-E", "occurrence=l", "-e",
                        "frame.number", "-e", "ipv6.src"});
    CHECK(json.out == "{\"frame.number\":1,\"ipv6.src\":null}\n");
    for (std::string bad : {"occurrence=x", "header=yes", "aggregator=", "separator=;"}) {
        auto r = mmtrun({"-r", kDemo, "-E", bad});
        CHECK(r.status == 2);
        CHECK(r.err.find("'-E " + bad + "'") != std::string::npos);
    }
}

TEST_CASE("mmtrun: flows and the summary in the chosen format, in their own files", "[mmtrun]") {
    TempFile flowsFile(".csv"), statsFile(".csv");
    auto r = mmtrun({"-r", kDemo, "-T", "csv", "-e", "frame.number", "--flows-file",
                     flowsFile.path(), "--stats-file", statsFile.path()});
    REQUIRE(r.status == 0);
    CHECK(r.out.rfind("frame.number\n1\n2\n", 0) == 0);
    // The same flow records as alone on standard output.
    CHECK(slurp(flowsFile.path()) ==
          slurp(std::string(MMT_SOURCE_DIR) + "/tests/mmtrun/demo-flows.csv"));
    std::string stats = slurp(statsFile.path());
    // The limits hit are columns of the first record, the total of every frame.
    CHECK(stats.rfind("kind,path,protocol,depth,flows,packets,bytes,sessions_evicted,", 0) == 0);
    CHECK(stats.find("\nprotocol,,frame,0,,17,1317,0,") != std::string::npos);
    CHECK(stats.find("\nprotocol,ethernet,ethernet,1,,17,1317,,,") != std::string::npos);
    // Then flows, packets and bytes per application.
    CHECK(stats.find("\napplication,,http,,1,") != std::string::npos);

    // Two schemas never share a CSV or JSON stream.
    auto mixed = mmtrun({"-r", kDemo, "-T", "csv", "-e", "frame.number", "--flows"});
    CHECK(mixed.status == 2);
    CHECK(mixed.err.find("'--flows-file FILE'") != std::string::npos);
    auto both = mmtrun({"-r", kDemo, "-T", "json", "-q", "--flows", "--stats"});
    CHECK(both.status == 2);
    // Text is for reading: rows, flows and the summary may follow one another.
    auto text = mmtrun({"-r", kDemo, "-e", "frame.number", "--flows", "--stats"});
    CHECK(text.status == 0);
    CHECK(text.out.find("Protocol Hierarchy Statistics") != std::string::npos);

    auto unwritable = mmtrun({"-r", kDemo, "-q", "--flows-file", "/nonexistent/dir/flows"});
    CHECK(unwritable.status == 2);
    CHECK(unwritable.err == "mmtrun: error: cannot write '/nonexistent/dir/flows': No such file "
                            "or directory\n");
}

TEST_CASE("mmtrun takes tshark's names, suggests close ones, lists types, tells its version",
          "[mmtrun]") {
    auto ours = mmtrun({"-r", kDemo, "-T", "csv", "-E", "header=n", "-e", "ipv4.src", "-e",
                        "tcp.dst_port", "-e", "dns.qname"});
    auto theirs = mmtrun({"-r", kDemo, "-T", "csv", "-E", "header=n", "-e", "ip.src", "-e",
                          "tcp.dstport", "-e", "dns.qry.name"});
    CHECK(theirs.status == 0);
    CHECK(theirs.out == ours.out);
    CHECK(theirs.out.find("www.example.com") != std::string::npos);

    auto typo = mmtrun({"-r", kDemo, "-e", "tcp.dstprot"});
    CHECK(typo.status == 2);
    CHECK(typo.err.rfind("mmtrun: error: unknown attribute 'tcp.dstprot'; did you mean "
                         "'tcp.dstport'",
                         0) == 0);
    CHECK(std::count(typo.err.begin(), typo.err.end(), '\n') == 2); // the error, then --help

    auto list = runProcess({kMmtrun, "-L", "-v"});
    CHECK(list.status == 0);
    // Name, type, kind, aliases, then the description the spec's doc comment gives.
    CHECK(list.out.find("\nipv4.src\tipv4\tfield\tip.src\tSource IPv4 address.\n") !=
          std::string::npos);
    CHECK(list.out.rfind("frame.number\tuint\tfield\t\t1-based position", 0) == 0);

    for (std::string tool : {"mmtrun", "mmtc"}) {
        auto v = runProcess({std::string(MMT_BIN_DIR) + "/" + tool, "--version"});
        CHECK(v.status == 0);
        INFO(v.out);
        CHECK(v.out.rfind(tool + " 0.", 0) == 0);
        CHECK(v.out.find("(LLVM ") != std::string::npos);
        CHECK(v.out.find(", compiler ") != std::string::npos);
        CHECK(std::count(v.out.begin(), v.out.end(), '\n') == 1);
    }
}

namespace {

/// Runs `cmd` with sh; its standard output.
std::string shell(const std::string& cmd) {
    return runProcess({"/bin/sh", "-c", cmd}).out;
}

const std::vector<std::string> kRowColumns = {"-e", "frame.number",   "-e", "frame.time_epoch",
                                              "-e", "frame.len",      "-e", "frame.cap_len",
                                              "-e", "frame.linktype", "-e", "frame.path"};

ProcessResult rowsOf(const std::string& capture) {
    std::vector<std::string> a = {"-r", capture};
    a.insert(a.end(), kRowColumns.begin(), kRowColumns.end());
    return mmtrun(a);
}

} // namespace

TEST_CASE("mmtrun -w writes the packets read to pcap or pcapng, as they were", "[mmtrun]") {
    auto original = rowsOf(kDemo);
    REQUIRE(original.status == 0);
    TempFile pcap(".pcap"), pcapng(".pcapng");
    CHECK(mmtrun({"-r", kDemo, "-q", "-w", pcap.path()}).status == 0);
    CHECK(mmtrun({"-r", kDemo, "-q", "-w", pcapng.path(), "-F", "pcapng"}).status == 0);
    CHECK(rowsOf(pcap.path()).out == original.out);
    CHECK(rowsOf(pcapng.path()).out == original.out);
    // The pcapng magic, and a second packet limit: -c applies to what is written.
    CHECK(slurp(pcapng.path()).substr(0, 4) == std::string("\x0a\x0d\x0d\x0a", 4));
    CHECK(mmtrun({"-r", kDemo, "-q", "-c", "2", "-w", pcap.path()}).status == 0);
    CHECK(rowsOf(pcap.path()).out == original.out.substr(0, original.out.find("\n3\t") + 1));

    // Two link types: pcapng keeps both, with nanosecond times; pcap refuses the second.
    PcapngWriter w;
    uint32_t eth = w.interface(1, 0, 9), sll = w.interface(113, 0, 9);
    w.packet(eth, 1700000000, 123456789,
             PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).payload("y").build());
    w.packet(sll, 1700000001, 987654321,
             PacketBuilder().sll().ipv4("10.0.0.3", "10.0.0.4").udp(3, 4).payload("z").build());
    TempFile two(".pcapng"), copy(".pcapng"), flat(".pcap");
    REQUIRE(w.write(two.path()));
    CHECK(mmtrun({"-r", two.path(), "-q", "-w", copy.path(), "-F", "pcapng"}).status == 0);
    CHECK(rowsOf(copy.path()).out == rowsOf(two.path()).out);
    CHECK(rowsOf(copy.path()).out.find("1700000001.987654321") != std::string::npos);
    auto refused = mmtrun({"-r", two.path(), "-q", "-w", flat.path()});
    CHECK(refused.status == 2);
    CHECK(refused.err.find("link type 113 cannot go in a pcap file of link type 1") !=
          std::string::npos);

    auto badFormat = mmtrun({"-r", kDemo, "-w", pcap.path(), "-F", "erf"});
    CHECK(badFormat.status == 2);
    auto unwritable = mmtrun({"-r", kDemo, "-q", "-w", "/nonexistent/dir/out.pcap"});
    CHECK(unwritable.status == 2);
    CHECK(unwritable.err.find("cannot write '/nonexistent/dir/out.pcap'") != std::string::npos);
    auto mixed = mmtrun({"-r", kDemo, "-w", "-"});
    CHECK(mixed.status == 2);
}

TEST_CASE("mmtrun -r - reads standard input; pipes and FIFOs work", "[mmtrun]") {
    auto original = rowsOf(kDemo);
    std::string cols;
    for (const auto& c : kRowColumns) cols += " " + c;
    std::string bin = kMmtrun + " --no-progress";
    CHECK(shell("cat '" + kDemo + "' | " + bin + " -r -" + cols) == original.out);
    // A pcapng through a pipe, written by mmtrun itself to standard output.
    CHECK(shell(bin + " -r '" + kDemo + "' -q -w - -F pcapng | " + bin + " -r -" + cols) ==
          original.out);
    // A FIFO, written by another process.
    std::string fifo =
        std::filesystem::temp_directory_path() / ("mmt-test-fifo-" + std::to_string(::getpid()));
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(shell("cat '" + kDemo + "' > '" + fifo + "' & " + bin + " -r '" + fifo + "'" + cols) ==
          original.out);
    ::unlink(fifo.c_str());
    // An empty standard input is no capture.
    auto empty = runProcess({"/bin/sh", "-c", bin + " -r - < /dev/null"});
    CHECK(empty.status == 2);
    CHECK(empty.err.rfind("mmtrun: error: ", 0) == 0);
}

TEST_CASE("mmtrun --progress: packets, rate and time, 100% at the end, then cleared", "[mmtrun]") {
    auto r = runProcess({kMmtrun, "-r", kDemo, "-q", "--flows", "--progress"});
    CHECK(r.status == 0);
    CHECK(r.out == slurp(std::string(MMT_SOURCE_DIR) + "/tests/mmtrun/demo-flows.txt"));
    INFO(r.err);
    CHECK(r.err.rfind("\r[#########################] 100%  17 packets  ", 0) == 0);
    CHECK(r.err.find("pkt/s  0:0") != std::string::npos);
    // The last thing written is the erasure: spaces over the line, then a carriage return.
    size_t drawn = r.err.find('\r', 1);
    REQUIRE(drawn != std::string::npos);
    CHECK(r.err.substr(drawn) == "\r" + std::string(drawn - 1, ' ') + "\r");
    // Standard input has no size: no bar, the count still.
    auto piped = runProcess(
        {"/bin/sh", "-c", "cat '" + kDemo + "' | " + kMmtrun + " -r - -q --stats --progress"});
    CHECK(piped.err.rfind("\r17 packets  ", 0) == 0);
}

TEST_CASE("mmtrun stopped by SIGINT while reading: flows still written, status 130", "[mmtrun]") {
    // A FIFO whose writer keeps it open: mmtrun reads the capture, then waits for more.
    std::string fifo =
        std::filesystem::temp_directory_path() / ("mmt-test-sigint-" + std::to_string(::getpid()));
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    TempFile out(".txt"), err(".txt");
    std::string script = "(cat '" + kDemo + "'; sleep 30) > '" + fifo + "' & writer=$!; " +
                         kMmtrun + " -r '" + fifo + "' -q --flows --no-progress > '" + out.path() +
                         "' 2> '" + err.path() + "' & pid=$!; " +
                         // Signalled once it has read the capture and waits on the FIFO for
                         // more (however long loading the specs took), at most after 60 s.
                         "i=0; while [ $i -lt 600 ]; do case $(cat /proc/$pid/wchan 2>/dev/null) " +
                         "in *pipe*) break;; esac; sleep 0.1; i=$((i+1)); done; sleep 0.2; " +
                         "kill -INT $pid; wait $pid; status=$?; kill $writer; echo $status";
    auto r = runProcess({"/bin/sh", "-c", script});
    ::unlink(fifo.c_str());
    CHECK(r.out == "130\n");
    CHECK(slurp(out.path()) == slurp(std::string(MMT_SOURCE_DIR) + "/tests/mmtrun/demo-flows.txt"));
    CHECK(slurp(err.path()).empty());
}

TEST_CASE("no nesting of a spec makes mmtc or mmtrun -p die by a signal", "[mmtrun][nesting]") {
    // Each position at depth `n`: past the limit (100,000) the tools refuse the spec with a
    // diagnostic; within it (300 levels of each, up to 900 of the 1000 counted) the spec
    // checks, compiles and runs.
    auto texts = [](size_t n) {
        std::vector<DeepSpec> valid;
        for (DeepSpec& s : deep_specs(n, "over frame when linktype == 147;"))
            if (s.valid) valid.push_back(std::move(s));
        return valid;
    };
    TempFile spec(".mmtp");
    for (const DeepSpec& s : texts(100000)) {
        INFO(s.what << " nested 100000 deep");
        write_file(spec.path(), to_bytes(s.text));
        auto c = runProcess({std::string(MMT_BIN_DIR) + "/mmtc", "check", spec.path()});
        CHECK(c.status == 1);
        CHECK(c.err.find("nest too deeply") != std::string::npos);
        auto r = mmtrun({"-r", kDemo, "-p", spec.path(), "-q"});
        CHECK(r.status == 3);
        CHECK(r.err.find("nest too deeply") != std::string::npos);
    }
    for (const DeepSpec& s : texts(300)) {
        INFO(s.what << " nested 300 deep");
        write_file(spec.path(), to_bytes(s.text));
        auto r = mmtrun({"-r", kDemo, "--no-builtin", "--no-cache", "-p", spec.path(), "-q"});
        CHECK(r.status == 0);
        CHECK(r.err.empty());
    }
}

TEST_CASE("without the cache, protocols compile as packets reach them, with the same results",
          "[mmtrun][lazy]") {
    for (std::vector<std::string> what :
         {std::vector<std::string>{"--flows", "-q"},
          {"--stats", "-q"},
          {"-e", "frame.path", "-e", "dns.qname", "-e", "tls.sni", "-e", "http.host"}}) {
        std::vector<std::string> args = {"-r", kDemo};
        args.insert(args.end(), what.begin(), what.end());
        auto cached = mmtrun(args);
        args.push_back("--no-cache");
        auto lazy = mmtrun(args);
        INFO(what.front());
        REQUIRE(cached.status == 0);
        REQUIRE(lazy.status == 0);
        CHECK(lazy.err.empty());
        CHECK(lazy.out == cached.out);
    }
    // Two workers that may first reach a protocol at once: the same flows.
    auto sorted_lines = [](const std::string& text) {
        std::vector<std::string> lines;
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) lines.push_back(line);
        std::sort(lines.begin(), lines.end());
        return lines;
    };
    auto cached = mmtrun({"-r", kDemo, "--flows", "-q"});
    auto lazy = mmtrun({"-r", kDemo, "--flows", "-q", "--workers", "2", "--no-cache"});
    REQUIRE(lazy.status == 0);
    CHECK(sorted_lines(lazy.out) == sorted_lines(cached.out));
}

TEST_CASE("after a cache miss, mmtc fills the cache in the background", "[mmtrun][lazy]") {
    char tmpl[] = "/tmp/mmt-fill-XXXXXX";
    const std::string dir = mkdtemp(tmpl);
    const std::string spec = dir + "/extra.mmtp";
    // A spec of its own makes a key no other test fills.
    std::ofstream(spec) << "protocol fill_marker { id 953; header { a : u8; } attribute a; }\n";
    const std::string cache = dir + "/cache";
    ::setenv("MMT_CACHE_DIR", cache.c_str(), 1);
    auto first = mmtrun({"-r", kDemo, "-p", spec, "--flows", "-q"});
    CHECK(first.status == 0);
    CHECK(first.err.empty());
    // The filler compiles the whole library: give it time, then the entry is there.
    bool stored = false;
    for (int i = 0; i < 600 && !stored; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        for (const auto& e : std::filesystem::directory_iterator(cache))
            if (e.path().extension() == ".o") stored = true;
    }
    CHECK(stored);
    // Only the filler's lock file and the entry: then the next run is a hit.
    auto second = mmtrun({"-r", kDemo, "-p", spec, "--flows", "-q"});
    CHECK(second.status == 0);
    CHECK(second.out == first.out);
    ::unsetenv("MMT_CACHE_DIR");
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}
