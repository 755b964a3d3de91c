// Display filters on packets: mmt::DisplayFilter over the built-in library, mmtrun -Y
// with per-packet output, -w, --flows, --stats and -c, and the frames tshark -Y selects
// on the shared captures.
#include "journey_util.h"
#include "mmt/filter.h"
#include "pcap_writer.h"
#include "process_util.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>

using namespace mmt;
using namespace mmt::test;

namespace {

const std::string kMmtrun = std::string(MMT_BIN_DIR) + "/mmtrun";

ProcessResult mmtrun(std::vector<std::string> args) {
    args.insert(args.begin(), kMmtrun);
    args.push_back("--no-progress");
    return runProcess(args);
}

/// Five packets: TCP to 443 and its answer, DNS from a private address, UDP over IPv6,
/// TCP to 80 from a private address.
std::vector<Bytes> packets() {
    return {
        PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(40000, 443).flags(SYN).build(),
        PacketBuilder().eth().ipv4("10.0.0.2", "10.0.0.1").tcp(443, 40000).flags(SYN | ACK).build(),
        PacketBuilder().eth().ipv4("192.168.1.5", "8.8.8.8").udp(5000, 7).payload("abc").build(),
        PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").udp(1000, 2000).build(),
        PacketBuilder().eth().ipv4("192.168.1.5", "10.0.0.9").tcp(1234, 80).flags(SYN).build(),
    };
}

/// The 1-based numbers of the packets that pass `text`.
std::string selected(const std::string& text) {
    Handler h(builtinLibrary());
    std::string diag;
    auto f = DisplayFilter::compile(builtinLibrary(), h, text, diag);
    INFO(text << "\n" << diag);
    REQUIRE(f);
    std::string out;
    h.on_packet([&](const PacketView& p) {
        if (f->matches(p)) out += (out.empty() ? "" : ",") + std::to_string(p.number());
        return Action::Continue;
    });
    uint64_t t = 1000000000;
    for (const Bytes& b : packets()) {
        RawPacket raw;
        raw.data = b.data();
        raw.caplen = raw.wirelen = uint32_t(b.size());
        raw.ts_ns = t += 1000000;
        h.process(raw);
    }
    return out;
}

std::string capture(const TempFile& f) {
    PcapWriter w;
    uint64_t sec = 1700000000;
    for (const Bytes& b : packets()) w.packet(sec++, 0, b);
    REQUIRE(w.write(f.path()));
    return f.path();
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
}

} // namespace

TEST_CASE("display filters select packets by attributes, tshark's names and protocols",
          "[filter]") {
    CHECK(selected("tcp.dstport == 443") == "1");
    CHECK(selected("tcp.dst_port == 443 or tcp.srcport == 443") == "1,2");
    CHECK(selected("ip.src == 192.168.0.0/16 and not udp") == "5");
    CHECK(selected("tcp") == "1,2,5");
    CHECK(selected("ip") == "1,2,3,5");
    CHECK(selected("ipv6 || udp.dstport in {7, 53}") == "3,4");
    CHECK(selected("ipv6.src == 2001:db8::/32") == "4");
    CHECK(selected("tcp.flags.syn == 1 and tcp.flags.ack == 0") == "1,5");
    CHECK(selected("ip.dst != 10.0.0.1") == "1,3,5");
    CHECK(selected("frame.number >= 4") == "4,5");
    CHECK(selected("frame") == "1,2,3,4,5");
    CHECK(selected("ethernet.src == 02:00:00:00:00:01 and frame.path contains \"ipv4.udp\"") ==
          "3");
    CHECK(selected("frame.path matches \"^ETHERNET\\\\.ipv6\"") == "4");
    CHECK(selected("tcp.dstport in {80, 400..500}") == "1,5");

    Handler h(builtinLibrary());
    std::string diag;
    CHECK_FALSE(DisplayFilter::compile(builtinLibrary(), h, "tcp and ip.scr == 1.2.3.4", diag));
    CHECK(diag.rfind("-Y:1:9: error: unknown attribute 'ip.scr'; did you mean 'ip.src'", 0) == 0);
    CHECK(diag.substr(diag.find('\n')) == "\ntcp and ip.scr == 1.2.3.4\n        ^~~~~~\n");
    CHECK_FALSE(DisplayFilter::compile(builtinLibrary(), h, "ip.src == \"x\"", diag));
    CHECK(diag == "-Y:1:11: error: cannot compare ipv4 with a string\nip.src == \"x\"\n"
                  "          ^~~\n");
    CHECK_FALSE(DisplayFilter::compile(builtinLibrary(), h, "tcpp", diag));
    CHECK(diag.rfind("-Y:1:1: error: unknown protocol 'tcpp'", 0) == 0);
}

TEST_CASE("mmtrun -Y: rows, -w, --flows of matching packets; --stats and -c over all",
          "[mmtrun][filter]") {
    TempFile f(".pcap");
    std::string in = capture(f);
    auto rows = mmtrun({"-r", in, "-Y", "ip.src == 192.168.0.0/16 and not udp", "-e",
                        "frame.number", "-e", "tcp.dstport"});
    CHECK(rows.status == 0);
    CHECK(rows.out == "5\t80\n");
    auto csv = mmtrun({"-r", in, "-Y", "tcp", "-T", "csv", "-e", "frame.number"});
    CHECK(csv.out == "frame.number\n1\n2\n5\n");

    // -w writes the matching packets only.
    TempFile out(".pcap");
    CHECK(mmtrun({"-r", in, "-Y", "tcp.dstport in {80, 443}", "-q", "-w", out.path()}).status == 0);
    CHECK(mmtrun({"-r", out.path(), "-e", "tcp.dstport"}).out == "443\n80\n");

    // -c counts the packets read, as tshark's.
    CHECK(mmtrun({"-r", in, "-c", "3", "-Y", "tcp", "-e", "frame.number"}).out == "1\n2\n");

    // Flows: those with a matching packet.
    auto all = mmtrun({"-r", in, "-q", "--flows"});
    auto some = mmtrun({"-r", in, "-q", "--flows", "-Y", "tcp.dstport == 443"});
    CHECK(some.status == 0);
    auto allLines = lines(all.out), someLines = lines(some.out);
    REQUIRE(allLines.size() == 4); // a line per flow: the TCP flows, UDP over IPv4 and IPv6
    CHECK(someLines.size() == 1);
    CHECK(some.out.find("40000") != std::string::npos);
    CHECK(some.out.find("1234") == std::string::npos);

    // The summary counts every packet.
    CHECK(mmtrun({"-r", in, "-q", "--stats", "-Y", "udp"}).out ==
          mmtrun({"-r", in, "-q", "--stats"}).out);

    // A bad filter: the diagnostic, exit status 2, nothing else.
    auto bad = mmtrun({"-r", in, "-Y", "tcp.dstport == 443 and ip.src == \"x\""});
    CHECK(bad.status == 2);
    CHECK(bad.out.empty());
    CHECK(bad.err == "mmtrun: -Y:1:34: error: cannot compare ipv4 with a string\n"
                     "tcp.dstport == 443 and ip.src == \"x\"\n"
                     "                                 ^~~\n");
    auto typo = mmtrun({"-r", in, "-Y", "tcp.dstprot == 443"});
    CHECK(typo.status == 2);
    CHECK(typo.err.rfind("mmtrun: -Y:1:1: error: unknown attribute 'tcp.dstprot'; did you mean "
                         "'tcp.dstport'",
                         0) == 0);
}

TEST_CASE("mmtrun -Y selects the frames tshark -Y selects on real captures", "[conformance]") {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(MMT_PCAP_DIR, ec) || runProcess({"/usr/bin/tshark", "-v"}).status != 0) {
        WARN("skipped: needs " MMT_PCAP_DIR " and tshark");
        return;
    }
    // Each pair costs a run of both programs: every filter on a capture where it selects
    // something, over the tshark names of attributes of many protocols.
    const std::pair<const char*, const char*> pairs[] = {
        {"443-git.pcap", "tcp.dstport == 443"},
        {"iphone.pcap", "dns.qry.name contains \"google\""},
        {"iphone.pcap", "ip.src == 192.168.0.0/16 and not udp"},
        {"iphone.pcap", "dns.flags.response == 1 and dns.count.answers > 2"},
        {"iphone.pcap", "udp.dstport in {53, 5353, 1900}"},
        {"iphone.pcap", "ip.ttl < 64 or ip.proto == 17"},
        {"iphone.pcap", "http.host contains \"apple\""},
        {"iphone.pcap", "not ip and not ipv6"},
        {"iphone.pcap",
         "udp.dstport in {53, 5353} || tcp.flags.syn == 1 && tcp.flags.ack == 0 || ipv6 and not "
         "tcp || ip.dst != 192.168.2.1 and ip.ttl < 64 || tcp.srcport >= 1024 && tcp.srcport <= "
         "2000"},
        {"chrome.pcap", "tls.handshake.extensions_server_name == \"www.iit.cnr.it\""},
        {"chrome.pcap", "tls.handshake.type == 1"},
        {"chrome.pcap", "tls.handshake.extensions_server_name matches \"cnr.it$\""},
        {"chrome.pcap", "tcp.srcport == 443 and frame.len > 1000"},
        {"http_origin_different_than_host.pcap", "http.request.method == \"GET\""},
        {"smtp.pcap", "smtp.req.command == \"EHLO\" or smtp.response.code == 250"},
        {"IcmpPackets.pcap", "icmp.type == 8 or icmp.type == 0"},
        {"sip.pcap", "udp and not (ip.dst == 10.0.0.0/8)"},
        {"dhcpv4v6-rfc5970-rfc8572.pcap", "dhcp.option.dhcp == 1"},
        {"6in4tunnel.pcap", "ipv6 and ip.proto == 41"},
        {"imap.pcap", "imap.request.command == \"LOGIN\" || imap.request.command == \"SELECT\""},
        {"pop3.pcap", "eth.src == 00:00:00:00:00:00 or frame.len > 100"},
        {"NTPv4.pcap", "ntp.flags.vn == 4"},
    };
    size_t compared = 0;
    for (const auto& [name, filter] : pairs) {
        std::string path = std::string(MMT_PCAP_DIR) + "/" + name;
        if (!fs::exists(path)) continue;
        {
            INFO(name << ": " << filter);
            auto ours = mmtrun({"-r", path, "-Y", filter, "-e", "frame.number"});
            auto theirs = runProcess({"/usr/bin/tshark", "-r", path, "-Y", filter, "-T", "fields",
                                      "-e", "frame.number"});
            REQUIRE(ours.status == 0);
            REQUIRE(theirs.status == 0);
            CHECK(ours.out == theirs.out);
            ++compared;
        }
    }
    CHECK(compared >= 20);
}
