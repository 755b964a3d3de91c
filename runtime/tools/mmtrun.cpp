// mmtrun: runs captures and live interfaces through the packet journey and prints
// attributes per packet, flow records and a protocol hierarchy, in tshark's habits.
#include "input/capture.h"
#include "mmt/runtime.h"
#include "mmt/writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstring>
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
  --max-pdu SIZE      longest stream PDU (bytes, or with KiB/MiB) of protocols
                      whose spec sets no 'max_pdu' (default 1MiB)
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

/// A size in bytes: digits, optionally followed by B, KiB or MiB; 1 byte to 256 MiB.
bool parseSize(const char* v, uint32_t& out) {
    char* end = nullptr;
    if (!std::isdigit(static_cast<unsigned char>(*v))) return false;
    uint64_t n = std::strtoull(v, &end, 10);
    std::string unit = end;
    uint64_t mult = unit.empty() || unit == "B" ? 1
                    : unit == "KiB"             ? 1u << 10
                    : unit == "MiB"             ? 1u << 20
                                                : 0;
    if (mult == 0 || n == 0 || n > (uint64_t{256} << 20) / mult) return false;
    out = uint32_t(n * mult);
    return true;
}

struct Options {
    std::string file, iface, filter, object;
    std::vector<std::string> specs, fields;
    mmt::Format format = mmt::Format::Text;
    uint64_t count = 0;
    uint32_t maxPdu = 0; // 0: HandlerOptions' default
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
        } else if (a == "--max-pdu") {
            if (!(v = need(i))) return false;
            if (!parseSize(v, o.maxPdu)) {
                err = fmt::format("'--max-pdu {}': expected a size from 1 byte to 256MiB "
                                  "(e.g. 65536, 64KiB, 4MiB)",
                                  v);
                return false;
            }
        } else if (a == "-T") {
            if (!(v = need(i))) return false;
            if (!mmt::parse_format(v, o.format)) {
                err = fmt::format("unknown output format '{}' (expected text, csv or json)", v);
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
    if (o.maxPdu) ho.max_pdu = o.maxPdu;
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
    mmt::PacketWriter rows(o.format, names, columns, mmt::file_output(stdout));
    if (perPacket) {
        rows.header();
        h.on_packet([&](const mmt::PacketView& p) {
            rows.write(p);
            return mmt::Action::Continue;
        });
    }
    mmt::FlowWriter flows(o.format, mmt::file_output(stdout));
    if (o.flows) h.on_session_end([&](const mmt::SessionInfo& s) { flows.write(s); });

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
        h.process(pkt.raw());
        ++n;
        bytes += pkt.wirelen;
        readBytes += pkt.caplen + 16;
        progress.update(readBytes);
        if (o.count && n >= o.count) break;
    }
    h.finish();
    std::fflush(stdout);
    // Damage inside packets is reported per packet (frame.truncated, frame.malformed).
    if (o.stats) mmt::write_hierarchy(h, n, bytes, mmt::file_output(stdout));
    return status;
}
