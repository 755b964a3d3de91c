// mmtrun: runs captures and live interfaces through the packet journey and prints
// attributes per packet, flow records and a protocol hierarchy, in tshark's habits.
#include "input/capture.h"
#include "mmt/runtime.h"
#include "output/format.h"

#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr const char* kUsage = R"(usage: mmtrun (-r FILE | -i IFACE [-f FILTER]) [options]

Input:
  -r FILE             read a pcap or pcapng capture file
  -i IFACE            capture live on an interface
  -f FILTER           capture filter for -i (tcpdump syntax)
  -c N                stop after N packets

Protocols:
  -p PATH             add .mmtp specs (a file or a folder); repeatable
  -l OBJECT           load specs compiled by 'mmtc build' instead of compiling
  --no-builtin        do not load the built-in protocol library
  --no-cache          compile specs even when a cached build exists
  -L, --list          list every attribute name and exit

Output:
  -e ATTR             print this attribute for every packet (e.g. ipv4.src,
                      http.host, frame.path); repeatable; columns in -e order
  -T text|csv|json    output format (default text: tab-separated)
  --flows             print one record per flow when it ends
  --stats             print a protocol hierarchy summary at the end
  -q                  no per-packet output (with --flows or --stats)
  --no-progress       never draw a progress bar

Exit status: 0 success; 1 the input was damaged (every readable packet was
processed); 2 usage error or an input that cannot be opened; 3 the protocol
specs do not load.
)";

volatile std::sig_atomic_t gStop = 0;
mmt::CaptureSource* gSource = nullptr;

void onSignal(int) {
    gStop = 1;
    if (gSource) gSource->stop();
}

int usage(const std::string& msg) {
    std::fprintf(stderr, "mmtrun: error: %s\n(run 'mmtrun --help' for usage)\n", msg.c_str());
    return 2;
}

enum class Format { Text, Csv, Json };

struct Options {
    std::string file, iface, filter, object;
    std::vector<std::string> specs, fields;
    Format format = Format::Text;
    uint64_t count = 0;
    bool flows = false, stats = false, quiet = false, builtin = true, cache = true, list = false,
         progress = true;
};

bool parseArgs(int argc, char** argv, Options& o, std::string& err) {
    auto need = [&](int& i) -> const char* {
        if (i + 1 >= argc) {
            err = fmt::format("option '{}' needs a value", argv[i]);
            return nullptr;
        }
        return argv[++i];
    };
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        const char* v = nullptr;
        if (a == "-r") {
            if (!(v = need(i))) return false;
            o.file = v;
        } else if (a == "-i") {
            if (!(v = need(i))) return false;
            o.iface = v;
        } else if (a == "-f") {
            if (!(v = need(i))) return false;
            o.filter = v;
        } else if (a == "-p") {
            if (!(v = need(i))) return false;
            o.specs.push_back(v);
        } else if (a == "-l") {
            if (!(v = need(i))) return false;
            o.object = v;
        } else if (a == "-e") {
            if (!(v = need(i))) return false;
            o.fields.push_back(v);
        } else if (a == "-c") {
            if (!(v = need(i))) return false;
            char* end = nullptr;
            o.count = std::strtoull(v, &end, 10);
            if (!*v || *end || o.count == 0) {
                err = fmt::format("'-c {}': expected a positive number of packets", v);
                return false;
            }
        } else if (a == "-T") {
            if (!(v = need(i))) return false;
            std::string f = v;
            if (f == "text" || f == "fields")
                o.format = Format::Text;
            else if (f == "csv")
                o.format = Format::Csv;
            else if (f == "json" || f == "jsonl")
                o.format = Format::Json;
            else {
                err = fmt::format("unknown output format '{}' (expected text, csv or json)", f);
                return false;
            }
        } else if (a == "--flows")
            o.flows = true;
        else if (a == "--stats")
            o.stats = true;
        else if (a == "-q")
            o.quiet = true;
        else if (a == "--no-builtin")
            o.builtin = false;
        else if (a == "--no-cache")
            o.cache = false;
        else if (a == "--no-progress")
            o.progress = false;
        else if (a == "-L" || a == "--list")
            o.list = true;
        else {
            err = fmt::format("unknown option '{}'", a);
            return false;
        }
    }
    if (o.list) return true;
    if (o.file.empty() == o.iface.empty()) {
        err = o.file.empty() ? "no input: give '-r FILE' or '-i IFACE'"
                             : "give either '-r FILE' or '-i IFACE', not both";
        return false;
    }
    if (!o.filter.empty() && o.iface.empty()) {
        err = "'-f' applies to live captures ('-i'); it is not a display filter";
        return false;
    }
    return true;
}

/// Writes rows as they come, in the chosen format.
class Printer {
  public:
    Printer(Format f, std::vector<std::string> names) : f_(f), names_(std::move(names)) {}

    void header() {
        if (f_ != Format::Csv) return;
        std::string line;
        for (size_t i = 0; i < names_.size(); ++i) {
            if (i) line += ',';
            mmt::appendCsv(line, names_[i]);
        }
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stdout);
    }

    void row(const mmt::PacketView& p, const std::vector<int>& columns) {
        line_.clear();
        if (f_ == Format::Json) line_ += '{';
        for (size_t i = 0; i < columns.size(); ++i) {
            auto values = p.values(columns[i]);
            if (f_ == Format::Json) {
                if (i) line_ += ',';
                mmt::appendJson(line_, names_[i]);
                line_ += ':';
                jsonValues(values);
                continue;
            }
            if (i) line_ += f_ == Format::Csv ? ',' : '\t';
            cell_.clear();
            for (size_t k = 0; k < values.size(); ++k) {
                if (k) cell_ += ',';
                mmt::appendValue(cell_, values[k].v, values[k].hex_digits);
            }
            if (f_ == Format::Csv)
                mmt::appendCsv(line_, cell_);
            else
                line_ += cell_;
        }
        line_ += f_ == Format::Json ? "}\n" : "\n";
        std::fwrite(line_.data(), 1, line_.size(), stdout);
    }

  private:
    void jsonValues(const std::vector<mmt::Value>& values) {
        if (values.empty()) {
            line_ += "null";
            return;
        }
        if (values.size() > 1) line_ += '[';
        for (size_t k = 0; k < values.size(); ++k) {
            if (k) line_ += ',';
            const mmt_value& v = values[k].v;
            if (v.type == MMT_T_UINT)
                line_ += std::to_string(v.u);
            else if (v.type == MMT_T_BOOL)
                line_ += v.u ? "true" : "false";
            else {
                cell_.clear();
                mmt::appendValue(cell_, v);
                mmt::appendJson(line_, cell_);
            }
        }
        if (values.size() > 1) line_ += ']';
    }

    Format f_;
    std::vector<std::string> names_;
    std::string line_, cell_;
};

void printFlow(Format f, const mmt::SessionInfo& s, bool& headerDone) {
    std::string line;
    auto ports = [](uint64_t p) { return p ? std::to_string(p) : std::string(); };
    switch (f) {
    case Format::Csv:
        if (!headerDone) {
            std::fputs("flow,transport,src,src_port,dst,dst_port,path,application,packets_fwd,"
                       "bytes_fwd,packets_rev,"
                       "bytes_rev,first,last,end\n",
                       stdout);
            headerDone = true;
        }
        line = fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{}.{:09},{}.{:09},", s.id,
                           s.transport, s.src, ports(s.src_port), s.dst, ports(s.dst_port), s.path,
                           s.application, s.packets[0], s.bytes[0], s.packets[1], s.bytes[1],
                           s.first_ns / 1000000000ull, s.first_ns % 1000000000ull,
                           s.last_ns / 1000000000ull, s.last_ns % 1000000000ull);
        mmt::appendCsv(line, s.end_reason);
        line += '\n';
        break;
    case Format::Json:
        line = "{\"flow\":" + std::to_string(s.id) + ",\"transport\":";
        mmt::appendJson(line, s.transport);
        line += ",\"src\":";
        mmt::appendJson(line, s.src);
        line += ",\"src_port\":" + (s.src_port ? std::to_string(s.src_port) : std::string("null"));
        line += ",\"dst\":";
        mmt::appendJson(line, s.dst);
        line += ",\"dst_port\":" + (s.dst_port ? std::to_string(s.dst_port) : std::string("null"));
        line += ",\"path\":";
        mmt::appendJson(line, s.path);
        line += ",\"application\":";
        mmt::appendJson(line, s.application);
        line += fmt::format(
            ",\"packets\":[{},{}],\"bytes\":[{},{}],\"first\":{}.{:09},\"last\":{}.{:09},\"end\":",
            s.packets[0], s.packets[1], s.bytes[0], s.bytes[1], s.first_ns / 1000000000ull,
            s.first_ns % 1000000000ull, s.last_ns / 1000000000ull, s.last_ns % 1000000000ull);
        mmt::appendJson(line, s.end_reason);
        line += "}\n";
        break;
    case Format::Text: {
        // address:port, with IPv6 addresses in brackets (RFC 5952 section 6).
        auto endpoint = [](const std::string& addr, uint64_t port) {
            if (!port) return addr;
            return (addr.find(':') != std::string::npos ? "[" + addr + "]" : addr) + ":" +
                   std::to_string(port);
        };
        line = fmt::format(
            "flow {} {} {} -> {} path={} app={} packets={}/{} bytes={}/{} first={}.{:09} "
            "last={}.{:09} end={}\n",
            s.id, s.transport, endpoint(s.src, s.src_port), endpoint(s.dst, s.dst_port), s.path,
            s.application.empty() ? "-" : s.application, s.packets[0], s.packets[1], s.bytes[0],
            s.bytes[1], s.first_ns / 1000000000ull, s.first_ns % 1000000000ull,
            s.last_ns / 1000000000ull, s.last_ns % 1000000000ull, s.end_reason);
        break;
    }
    }
    std::fwrite(line.data(), 1, line.size(), stdout);
}

void printStats(const mmt::Handler& h, uint64_t packets, uint64_t bytes) {
    std::printf("===================================================================\n");
    std::printf("Protocol Hierarchy Statistics\n");
    std::printf("frames:%llu bytes:%llu\n\n", static_cast<unsigned long long>(packets),
                static_cast<unsigned long long>(bytes));
    for (const auto& c : h.hierarchy()) {
        size_t depth = size_t(std::count(c.path.begin(), c.path.end(), '.'));
        std::string name =
            c.path.substr(c.path.rfind('.') == std::string::npos ? 0 : c.path.rfind('.') + 1);
        std::string label = std::string(depth * 2, ' ') + name;
        std::printf("%-40s frames:%llu bytes:%llu\n", label.c_str(),
                    static_cast<unsigned long long>(c.packets),
                    static_cast<unsigned long long>(c.bytes));
    }
    std::printf("===================================================================\n");
}

class Progress {
  public:
    Progress(const std::string& file, bool enabled) {
        struct stat st {};
        if (enabled && isatty(STDERR_FILENO) && ::stat(file.c_str(), &st) == 0 &&
            st.st_size > (8 << 20))
            total_ = uint64_t(st.st_size);
    }
    void update(uint64_t bytesRead) {
        if (!total_) return;
        unsigned pct = unsigned(std::min<uint64_t>(100, bytesRead * 100 / total_));
        if (pct == last_) return;
        last_ = pct;
        std::string bar(pct / 4, '#');
        std::fprintf(stderr, "\r[%-25s] %3u%%", bar.c_str(), pct);
    }
    ~Progress() {
        if (total_ && last_ != 1000) std::fprintf(stderr, "\r%40s\r", "");
    }

  private:
    uint64_t total_ = 0;
    unsigned last_ = 1000;
};

} // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::fputs(kUsage, stdout);
            return 0;
        }
    Options o;
    std::string err;
    if (!parseArgs(argc, argv, o, err)) return usage(err);

    mmt::LoadOptions lo;
    lo.builtin = o.builtin;
    lo.spec_paths = o.specs;
    lo.object = o.object;
    lo.use_cache = o.cache;
    auto lib = mmt::ProtocolLibrary::load(lo, err);
    if (!lib) {
        std::fprintf(stderr, "mmtrun: error: %s\n", err.c_str());
        return 3;
    }
    if (o.list) {
        for (const auto& n : lib->attribute_names()) std::printf("%s\n", n.c_str());
        return 0;
    }

    mmt::HandlerOptions ho;
    ho.count_paths = o.stats;
    mmt::Handler h(*lib, ho);
    std::vector<int> columns;
    std::vector<std::string> names = o.fields;
    bool perPacket = !o.quiet && (!o.fields.empty() || (!o.flows && !o.stats));
    if (perPacket && names.empty())
        names = {"frame.number", "frame.time_epoch", "frame.len", "frame.path"};
    for (const auto& n : names) {
        int c = h.request(n);
        if (c < 0)
            return usage(fmt::format("unknown attribute '{}' (list them with 'mmtrun -L')", n));
        columns.push_back(c);
    }
    Printer printer(o.format, names);
    if (perPacket) {
        printer.header();
        h.on_packet([&](const mmt::PacketView& p) {
            printer.row(p, columns);
            return mmt::Action::Continue;
        });
    }
    bool flowHeader = false;
    if (o.flows)
        h.on_session_end([&](const mmt::SessionInfo& s) { printFlow(o.format, s, flowHeader); });

    mmt::CaptureSource src;
    gSource = &src;
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    bool opened;
    if (!o.file.empty()) {
        opened = src.open_file(o.file);
    } else {
        mmt::LiveOptions live;
        live.filter = o.filter;
        live.immediate = true;
        opened = src.open_live(o.iface, live);
    }
    if (!opened) {
        std::fprintf(stderr, "mmtrun: error: %s\n", src.error().c_str());
        return 2;
    }
    Progress progress(o.file, o.progress && !o.file.empty());
    uint64_t n = 0, bytes = 0, readBytes = 0;
    int status = 0;
    mmt::Packet pkt;
    while (!gStop) {
        mmt::ReadStatus rs = src.next(pkt);
        if (rs == mmt::ReadStatus::Timeout) continue;
        if (rs == mmt::ReadStatus::End) break;
        if (rs == mmt::ReadStatus::Error) {
            std::fprintf(stderr, "mmtrun: error: %s\n", src.error().c_str());
            status = src.error_kind() == mmt::CaptureError::Interface ? 2 : 1;
            break;
        }
        mmt::RawPacket raw;
        raw.data = pkt.data;
        raw.caplen = pkt.caplen;
        raw.wirelen = pkt.wirelen;
        raw.linktype = pkt.linktype;
        raw.ts_ns = pkt.ts_ns();
        h.process(raw);
        ++n;
        bytes += pkt.wirelen;
        readBytes += pkt.caplen + 16;
        progress.update(readBytes);
        if (o.count && n >= o.count) break;
    }
    h.finish();
    std::fflush(stdout);
    if (o.stats) printStats(h, n, bytes);
    const auto& st = h.stats();
    if (st.truncated || st.malformed) {
        // Damage inside packets is reported per packet (frame.truncated / frame.malformed).
    }
    return status;
}
