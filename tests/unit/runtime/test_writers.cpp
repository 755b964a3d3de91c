// The output writers of mmt/writer.h: packet rows and flow records in text, CSV and JSON
// lines, written through the public API to a string.
#include "journey_util.h"
#include "mmt/writer.h"
#include "payloads.h"

using namespace mmt;
using namespace mmt::test;

namespace {

SessionInfo sampleFlow() {
    SessionInfo s;
    s.id = 7;
    s.transport = "tcp";
    s.path = "ethernet.ipv6.tcp.http";
    s.application = "http";
    s.src = "2001:db8::1";
    s.dst = "2001:db8::2";
    s.src_port = 40000;
    s.dst_port = 80;
    s.packets[0] = 3;
    s.packets[1] = 2;
    s.bytes[0] = 300;
    s.bytes[1] = 2000;
    s.payload[0] = 100;
    s.payload[1] = 1800;
    s.community_id = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=";
    s.first_ns = 1700000000000000001ull;
    s.last_ns = 1700000001500000000ull;
    s.end_reason = "closed";
    s.server_name = "www.example.com";
    s.server_name_source = "http";
    s.service = "example";
    s.service_source = "http";
    s.vlan = "100.42";
    s.tunnel = "gtp:192.0.2.1>192.0.2.2";
    s.conn_state = "SF";
    s.history = "ShADadFf";
    return s;
}

/// The same flow without ports or application, as ICMP-like sessions before naming.
SessionInfo portless() {
    SessionInfo s = sampleFlow();
    s.id = 8;
    s.transport = "icmp";
    s.path = "ethernet.ipv4.icmp";
    s.application = "";
    s.src = "10.0.0.1";
    s.dst = "10.0.0.2";
    s.src_port = s.dst_port = 0;
    s.community_id = "";
    s.end_reason = "end of input";
    s.server_name = s.server_name_source = s.vlan = s.tunnel = s.history = "";
    s.service = s.service_source = "";
    s.conn_state = "OTH";
    return s;
}

std::string flows(Format f) {
    std::string out;
    FlowWriter w(f, [&](std::string_view line) { out += line; });
    w.write(sampleFlow());
    w.write(portless());
    return out;
}

} // namespace

TEST_CASE("flow records: one schema, three formats", "[writer]") {
    // Text: one token per field (spaces in a value become '_').
    CHECK(flows(Format::Text) ==
          "flow 7 tcp [2001:db8::1]:40000 -> [2001:db8::2]:80 path=ethernet.ipv6.tcp.http "
          "app=http packets=3/2 bytes=300/2000 payload=100/1800 first=1700000000.000000001 "
          "last=1700000001.500000000 duration=1.499999999 end=closed "
          "cid=1:LQU9qZlK+B5F3KDmev6m5PMibrg= server=www.example.com from=http service=example "
          "service_from=http ja3=- ja4=- "
          "ja3s=- vlan=100.42 tunnel=gtp:192.0.2.1>192.0.2.2 state=SF history=ShADadFf\n"
          "flow 8 icmp 10.0.0.1 -> 10.0.0.2 path=ethernet.ipv4.icmp app=- packets=3/2 "
          "bytes=300/2000 payload=100/1800 first=1700000000.000000001 "
          "last=1700000001.500000000 duration=1.499999999 end=end_of_input cid=- server=- from=- "
          "service=- service_from=- ja3=- ja4=- ja3s=- vlan=- tunnel=- state=OTH history=-\n");
    CHECK(flows(Format::Csv) ==
          "flow,transport,src,src_port,dst,dst_port,path,application,packets_fwd,bytes_fwd,"
          "payload_fwd,packets_rev,bytes_rev,payload_rev,first,last,duration,end,community_id,"
          "server_name,server_name_from,service,service_from,ja3,ja4,ja3s,vlan,tunnel,conn_state,"
          "history\n"
          "7,tcp,2001:db8::1,40000,2001:db8::2,80,ethernet.ipv6.tcp.http,http,3,300,100,2,2000,"
          "1800,1700000000.000000001,1700000001.500000000,1.499999999,closed,"
          "1:LQU9qZlK+B5F3KDmev6m5PMibrg=,www.example.com,http,example,http,,,,100.42,"
          "gtp:192.0.2.1>192.0.2.2,SF,ShADadFf\n"
          "8,icmp,10.0.0.1,,10.0.0.2,,ethernet.ipv4.icmp,,3,300,100,2,2000,1800,"
          "1700000000.000000001,1700000001.500000000,1.499999999,end of input,,,,,,,,,,,OTH,\n");
    CHECK(flows(Format::Json) ==
          "{\"flow\":7,\"transport\":\"tcp\",\"src\":\"2001:db8::1\",\"src_port\":40000,"
          "\"dst\":\"2001:db8::2\",\"dst_port\":80,\"path\":\"ethernet.ipv6.tcp.http\","
          "\"application\":\"http\",\"packets\":[3,2],\"bytes\":[300,2000],"
          "\"payload\":[100,1800],\"first\":\"1700000000.000000001\","
          "\"last\":\"1700000001.500000000\",\"duration\":\"1.499999999\",\"end\":\"closed\","
          "\"community_id\":\"1:LQU9qZlK+B5F3KDmev6m5PMibrg=\",\"server_name\":"
          "\"www.example.com\",\"server_name_from\":\"http\",\"service\":\"example\","
          "\"service_from\":\"http\",\"ja3\":\"\",\"ja4\":\"\","
          "\"ja3s\":\"\",\"vlan\":\"100.42\",\"tunnel\":\"gtp:192.0.2.1>192.0.2.2\","
          "\"conn_state\":\"SF\",\"history\":\"ShADadFf\"}\n"
          "{\"flow\":8,\"transport\":\"icmp\",\"src\":\"10.0.0.1\",\"src_port\":null,"
          "\"dst\":\"10.0.0.2\",\"dst_port\":null,\"path\":\"ethernet.ipv4.icmp\","
          "\"application\":\"\",\"packets\":[3,2],\"bytes\":[300,2000],"
          "\"payload\":[100,1800],\"first\":\"1700000000.000000001\","
          "\"last\":\"1700000001.500000000\",\"duration\":\"1.499999999\","
          "\"end\":\"end of input\",\"community_id\":\"\",\"server_name\":\"\","
          "\"server_name_from\":\"\",\"service\":\"\",\"service_from\":\"\","
          "\"ja3\":\"\",\"ja4\":\"\",\"ja3s\":\"\",\"vlan\":\"\","
          "\"tunnel\":\"\",\"conn_state\":\"OTH\",\"history\":\"\"}\n");
}

TEST_CASE("text flow records of different lengths, one after the other", "[writer]") {
    // The writer reuses its memory from one record to the next: a long record after a
    // short one, and a short one after it, each come out whole and alone.
    std::vector<std::string> lines;
    FlowWriter w(Format::Text, [&](std::string_view line) { lines.emplace_back(line); });
    SessionInfo longer = sampleFlow();
    longer.server_name = std::string(3000, 'x');
    for (const SessionInfo& s : {portless(), longer, portless(), sampleFlow()}) w.write(s);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == lines[2]);
    CHECK(lines[1].size() == lines[3].size() + 3000 - std::string("www.example.com").size());
    CHECK(lines[1].find(std::string(3000, 'x') + " from=http") != std::string::npos);
    for (const std::string& l : lines) CHECK(l.find('\n') == l.size() - 1);
}

TEST_CASE("the flow schema names every field of a record once", "[writer]") {
    std::vector<std::string> names;
    for (const FlowField& f : flow_schema()) names.push_back(f.name);
    CHECK(
        names ==
        std::vector<std::string>{
            "flow",    "transport",    "src",     "src_port",     "dst",         "dst_port",
            "path",    "application",  "packets", "bytes",        "payload",     "first",
            "last",    "duration",     "end",     "community_id", "server_name", "server_name_from",
            "service", "service_from", "ja3",     "ja4",          "ja3s",        "vlan",
            "tunnel",  "conn_state",   "history"});
    SessionInfo s = sampleFlow();
    auto schema = flow_schema();
    CHECK(schema[0].get(s).n[0] == 7);
    CHECK(schema[7].get(s).text == "http");
    CHECK(schema[8].kind == FlowFieldKind::PerDirection);
    CHECK(schema[8].get(s).n[1] == 2);
}

TEST_CASE("output format names", "[writer]") {
    Format f = Format::Text;
    CHECK(parse_format("csv", f));
    CHECK(f == Format::Csv);
    CHECK(parse_format("jsonl", f));
    CHECK(f == Format::Json);
    CHECK(parse_format("fields", f));
    CHECK(f == Format::Text);
    CHECK_FALSE(parse_format("xml", f));
    CHECK(f == Format::Text);
}

namespace {

/// Rows of frame.number, ipv4.src, udp.dst_port and http.host for one IPv4-in-IPv4 packet
/// (two occurrences of ipv4.src).
std::string tunnelRows(Format f, RowOptions options = {}) {
    Handler h(builtinLibrary());
    std::vector<std::string> names = {"frame.number", "ipv4.src", "udp.dst_port", "http.host"};
    std::vector<int> columns;
    for (const auto& n : names) columns.push_back(h.request(n));
    std::string out;
    PacketWriter w(
        f, names, columns, [&](std::string_view line) { out += line; }, options);
    w.header();
    h.on_packet([&](const PacketView& p) {
        w.write(p);
        return Action::Continue;
    });
    Bytes pkt = PacketBuilder()
                    .eth()
                    .ipv4("10.0.0.1", "10.0.0.2")
                    .ipv4("192.168.0.1", "192.168.0.2")
                    .udp(1000, 9999)
                    .payload(std::string(4, '\0'))
                    .build();
    RawPacket raw{pkt.data(), uint32_t(pkt.size()), uint32_t(pkt.size()), 1, 1};
    h.process(raw);
    return out;
}

} // namespace

TEST_CASE("packet rows: every occurrence of a column, in each format", "[writer]") {
    CHECK(tunnelRows(Format::Text) == "1\t10.0.0.1,192.168.0.1\t9999\t\n");
    CHECK(tunnelRows(Format::Csv) == "frame.number,ipv4.src,udp.dst_port,http.host\n"
                                     "1,\"10.0.0.1,192.168.0.1\",9999,\n");
    // Protocol attributes are arrays on every row, absent or not; frame.* are scalars.
    CHECK(tunnelRows(Format::Json) ==
          "{\"frame.number\":1,\"ipv4.src\":[\"10.0.0.1\","
          "\"192.168.0.1\"],\"udp.dst_port\":[9999],\"http.host\":[]}\n");
}

TEST_CASE("packet rows: CSV quotes a string that needs it, and only then", "[writer]") {
    Handler h(builtinLibrary());
    std::vector<std::string> names = {"ipv4.src", "dns.qname", "udp.dst_port"};
    std::vector<int> columns;
    for (const auto& n : names) columns.push_back(h.request(n));
    std::string out;
    PacketWriter w(Format::Csv, names, columns, [&](std::string_view line) { out += line; });
    h.on_packet([&](const PacketView& p) {
        w.write(p);
        return Action::Continue;
    });
    for (std::string_view name : {"a,b.example", "say\"hi\".example", "plain.example"}) {
        Bytes pkt = PacketBuilder()
                        .eth()
                        .ipv4("10.0.0.1", "10.0.0.2")
                        .udp(1000, 53)
                        .payload(dns_message(7, name))
                        .build();
        RawPacket raw{pkt.data(), uint32_t(pkt.size()), uint32_t(pkt.size()), 1, 1};
        h.process(raw);
    }
    CHECK(out == "10.0.0.1,\"a,b.example\",53\n"
                 "10.0.0.1,\"say\"\"hi\"\".example\",53\n"
                 "10.0.0.1,plain.example,53\n");
}

TEST_CASE("packet rows: occurrence, aggregator and header options", "[writer]") {
    RowOptions first;
    first.occurrence = Occurrence::First;
    RowOptions last;
    last.occurrence = Occurrence::Last;
    CHECK(tunnelRows(Format::Text, first) == "1\t10.0.0.1\t9999\t\n");
    CHECK(tunnelRows(Format::Text, last) == "1\t192.168.0.1\t9999\t\n");
    // Picking one occurrence makes every JSON column a scalar, null when absent.
    CHECK(tunnelRows(Format::Json, last) ==
          "{\"frame.number\":1,\"ipv4.src\":\"192.168.0.1\",\"udp.dst_port\":9999,"
          "\"http.host\":null}\n");
    RowOptions bar;
    bar.aggregator = "|";
    bar.header = true;
    CHECK(tunnelRows(Format::Text, bar) == "frame.number\tipv4.src\tudp.dst_port\thttp.host\n"
                                           "1\t10.0.0.1|192.168.0.1\t9999\t\n");
    // The aggregator no longer needs CSV quoting; no header when asked for none.
    bar.header = false;
    CHECK(tunnelRows(Format::Csv, bar) == "1,10.0.0.1|192.168.0.1,9999,\n");
    CHECK(tunnelRows(Format::Json, bar) == tunnelRows(Format::Json));
}

TEST_CASE("flow records and the hierarchy without a CSV header, and in CSV and JSON", "[writer]") {
    std::string out;
    FlowWriter w(
        Format::Csv, [&](std::string_view line) { out += line; }, false);
    w.write(sampleFlow());
    CHECK(out.rfind("7,tcp,", 0) == 0);
    CHECK(std::count(out.begin(), out.end(), '\n') == 1);

    HandlerOptions ho;
    ho.count_paths = true;
    Handler h(builtinLibrary(), ho);
    Bytes pkt = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(40000, 40001).build();
    RawPacket raw{pkt.data(), uint32_t(pkt.size()), uint32_t(pkt.size()), 1, 1};
    h.process(raw);
    h.finish(); // the flow ends: one application record
    std::string csv, json;
    write_hierarchy(
        h, 1, pkt.size(), [&](std::string_view l) { csv += l; }, Format::Csv);
    write_hierarchy(
        h, 1, pkt.size(), [&](std::string_view l) { json += l; }, Format::Json);
    std::string n = std::to_string(pkt.size());
    // The counters of limits hit: columns (CSV) or an object (JSON) of the first record,
    // empty or null in the others.
    std::string limits = "sessions_evicted,sessions_unclassified,flow_paths_not_kept,"
                         "stream_window_skips,"
                         "stream_window_bytes,stream_holes_skips,stream_holes_bytes,"
                         "stream_budget_skips,stream_budget_bytes,pdus_over_max,"
                         "pdus_budget_dropped,bodies_skipped,fragments_timed_out,"
                         "fragments_evicted,fragments_too_many_pieces,fragments_over_budget,"
                         "fragments_too_large,buffered_bytes_peak,fragment_bytes_peak";
    std::string zeros, empty;
    for (int i = 0; i < 19; ++i) zeros += ",0", empty += ",";
    // A flow nothing classified counts as "unknown"; its record has flows, no path or depth.
    CHECK(csv == "kind,path,protocol,depth,flows,packets,bytes," + limits +
                     "\nprotocol,,frame,0,,1," + n + zeros + "\nprotocol,ethernet,ethernet,1,,1," +
                     n + empty + "\nprotocol,ethernet.ipv4,ipv4,2,,1," + n + empty +
                     "\nprotocol,ethernet.ipv4.udp,udp,3,,1," + n + empty +
                     "\napplication,,unknown,,1,1," + n + empty + "\n");
    CHECK(json.rfind("{\"kind\":\"protocol\",\"path\":\"\",\"protocol\":\"frame\",\"depth\":0,"
                     "\"flows\":null,\"packets\":1,\"bytes\":" +
                         n + ",\"limits\":{\"sessions_evicted\":0,",
                     0) == 0);
    CHECK(json.find("\"fragment_bytes_peak\":0}}\n{\"kind\":\"protocol\",\"path\":\"ethernet\",") !=
          std::string::npos);
    CHECK(json.find("\n{\"kind\":\"application\",\"path\":null,\"protocol\":\"unknown\","
                    "\"depth\":null,\"flows\":1,\"packets\":1,\"bytes\":" +
                    n + ",\"limits\":null}\n") != std::string::npos);
    CHECK(json.find(",\"bytes\":" + n + ",\"limits\":null}\n") != std::string::npos);
}
