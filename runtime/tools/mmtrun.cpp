// mmtrun: runs captures and live interfaces through the packet journey and prints
// attributes per packet, flow records and a protocol hierarchy, in tshark's habits.
//
// Built twice. `mmtrun` (MMTRUN_WITHOUT_COMPILER) links the runtime alone: it loads an
// object (-l) or the compile cache's build of the specs, and starts in milliseconds. What
// needs the compiler (a cache miss, --no-cache, a display filter, --version) it leaves to
// `mmtrun-full` (PREFIX/libexec/mmt-journey/), the same program linked with the compiler,
// which it runs in its place with the same arguments.
#include "input/capture.h"
#include "mmt/runtime.h"
#include "mmt/writer.h"
#include "workers.h"
#ifndef MMTRUN_WITHOUT_COMPILER
#include "loader/library_object.h"
#include "loader/spec_cache.h"
#include "mmt/filter.h"

#include <fcntl.h>
#include <spawn.h>
#endif

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <unordered_set>
#include <utility>
#include <vector>

namespace {

constexpr const char* kUsage = R"(usage: mmtrun (-r FILE | -i IFACE [-f FILTER]) [options]

Input:
  -r FILE             read a pcap or pcapng capture file ('-': standard input;
                      pipes and FIFOs too)
  -i IFACE            capture live on an interface
  -f FILTER           capture filter for -i (tcpdump syntax)
  -c N                stop after N packets
  -a duration:N       -i: stop after N seconds; -a packets:N stops after N packets
  -s SNAPLEN          -i: keep at most SNAPLEN bytes of each packet (default 262144)
  --no-promiscuous    -i: do not put the interface in promiscuous mode
  -D                  list the interfaces -i can open, and exit

Protocols:
  -p PATH             add .mmtp specs (a file or a folder); repeatable
  -l OBJECT           load specs compiled by 'mmtc build' instead of compiling
  --no-builtin        do not load the built-in protocol library
  --no-cache          compile specs even when a cached build exists
  -L, --list          list every attribute name and exit; with -v, one line each:
                      name, type, kind, other names (tshark's), description

Limits (SIZE: bytes, or with KiB/MiB/GiB; --stats counts how often each was hit):
  --max-sessions N    sessions tracked at once; more evict the least recently
                      used (default 262144)
  --max-stream-buffer SIZE
                      out-of-order bytes held per stream direction (default 1MiB)
  --max-buffered SIZE bytes all reassembly buffers hold together (default 64MiB)
  --max-pdu SIZE      longest stream PDU of protocols whose spec sets no
                      'max_pdu' (default 1MiB)
  --max-kept-body SIZE
                      longest body kept with its head (HTTP); longer ones are
                      stepped over (default 64KiB; 0: none)
  --max-fragment-bytes SIZE
                      bytes fragments in progress hold together (default 16MiB)
  --max-datagrams N   fragmented datagrams in progress at once (default 1024)
  --max-fragment-pieces N
                      separate pieces a datagram in progress may have (default 64)
  --fragment-timeout MS
                      time a datagram may take to complete (default 30000)
  --classify-packets N
                      payload packets a session's classification looks at,
                      1 to 255 (default 4)
  --max-flow-paths N  distinct flow paths remembered for flow records,
                      1 to 65535 (default 65535)

Parallel:
  --workers N         spread flows over N threads (1 to 64), each with its own
                      flows and limits. Files: rows in capture order, flow records
                      and --stats those of one thread (records in another order);
                      -i: a socket per worker in an AF_PACKET fanout group
  --shard K/N         process only the flows of shard K of N (0 <= K < N): N
                      runs, one per shard, on as many machines, split a capture
                      or a tap with no coordination; their rows and flow records
                      together are those of one run without --shard

Output:
  -e ATTR             print this attribute for every packet (e.g. ipv4.src,
                      http.host, frame.path, or tshark's names: ip.src,
                      tcp.dstport); repeatable; columns in -e order
  -T text|csv|json    output format (default text: tab-separated)
  -Y FILTER           display filter, in tshark's syntax (e.g. 'tcp.dstport == 443
                      and ip.src == 10.0.0.0/8'): only matching packets are printed
                      and written (-w), only flows with one are reported (--flows)
  -E occurrence=a|f|l all occurrences of an attribute (default), the first or the last
  -E aggregator=C     between occurrences in text and CSV (default ','; /s space, /t tab)
  -E header=y|n       a header line of column names (default: CSV yes, text no)
  --flows             print one record per flow when it ends
  --flows-file FILE   write the flow records to FILE (implies --flows)
  --stats             print a protocol hierarchy summary at the end
  --stats-file FILE   write the summary to FILE (implies --stats)
  -q                  no per-packet output (with --flows or --stats)
  -w FILE             write the packets read to a capture file ('-': standard
                      output, with nothing else written there)
  -F pcap|pcapng      the format of -w (default pcap)
  --no-progress       never draw the progress line
  --progress          draw it even when standard error is not a terminal
  --version           print the version, the LLVM version and the compiler's hash

Exit status: 0 success; 1 the input was damaged (every readable packet was
processed); 2 usage error, an input that cannot be opened or an output that cannot
be written; 3 the protocol specs do not load; 130 (143) a file was being read when
SIGINT (SIGTERM) stopped the run (flows and the summary are still written).
)";

volatile std::sig_atomic_t g_stop = 0; // the signal that stopped the run, or 0
mmt::CaptureSource* g_source = nullptr;

void on_signal(int sig) {
    g_stop = sig;
    if (g_source) g_source->stop();
    // A second one ends the program at once.
    std::signal(sig, SIG_DFL);
}

/// Without SA_RESTART: a read blocked on a pipe returns, and the run ends.
void catch_signal(int sig) {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
}

int usage(const std::string& msg) {
    std::fprintf(stderr, "mmtrun: error: %s\n(run 'mmtrun --help' for usage)\n", msg.c_str());
    return 2;
}

/// The progress of reading a file, on one line of standard error: a bar and percentage
/// when the size is known, packets read, the rate and the time elapsed. The line is
/// cleared before anything else goes to the terminal, and when the run ends.
class Progress {
  public:
    enum class Mode { Never, Auto, Always };
    Progress(const std::string& file, Mode mode) {
        if (mode == Mode::Never || file.empty()) return;
        struct stat st {};
        uint64_t size = file != "-" && ::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode)
                            ? uint64_t(st.st_size)
                            : 0;
        // Drawn by default on a terminal, for files that take a moment to read.
        if (mode == Mode::Auto && (!isatty(STDERR_FILENO) || size <= (8u << 20))) return;
        on_ = true;
        total_ = size;
        start_ = last_ = Clock::now();
    }
    ~Progress() { clear(); }
    /// After each packet: redrawn at most ten times a second.
    void update(uint64_t packets, uint64_t bytes_read) {
        if (!on_ || (packets & 63) != 0) return;
        auto now = Clock::now();
        if (now - last_ < std::chrono::milliseconds(100)) return;
        last_ = now;
        draw(packets, bytes_read, now);
    }
    /// The last state: 100% when the whole input was read.
    void done(uint64_t packets, uint64_t bytes_read, bool complete) {
        if (!on_) return;
        draw(packets, complete ? total_ : bytes_read, Clock::now());
    }
    /// Removes the line, if drawn; called before anything else is written.
    void clear() {
        if (!width_) return;
        std::fprintf(stderr, "\r%*s\r", int(width_), "");
        std::fflush(stderr);
        width_ = 0;
    }

  private:
    using Clock = std::chrono::steady_clock;
    void draw(uint64_t packets, uint64_t bytes_read, Clock::time_point now) {
        double secs = std::chrono::duration<double>(now - start_).count();
        std::string line = "\r";
        if (total_) {
            unsigned pct = unsigned(std::min<uint64_t>(100, bytes_read * 100 / total_));
            line += fmt::format("[{:<25}] {:3}%  ", std::string(pct / 4, '#'), pct);
        }
        double rate = secs > 0 ? double(packets) / secs : 0;
        line += fmt::format("{} packets  ", packets);
        line += rate >= 1e6   ? fmt::format("{:.1f} Mpkt/s", rate / 1e6)
                : rate >= 1e3 ? fmt::format("{:.1f} kpkt/s", rate / 1e3)
                              : fmt::format("{:.0f} pkt/s", rate);
        unsigned whole = unsigned(secs);
        line += fmt::format("  {}:{:02}.{}", whole / 60, whole % 60, unsigned(secs * 10) % 10);
        // Pad over a longer previous line.
        size_t len = line.size() - 1;
        if (len < width_) line += std::string(width_ - len, ' ');
        width_ = std::max(width_, len);
        std::fputs(line.c_str(), stderr);
        std::fflush(stderr);
    }
    bool on_ = false;
    uint64_t total_ = 0;
    size_t width_ = 0; // of the line on screen; 0 when none
    Clock::time_point start_, last_;
};

Progress* g_progress = nullptr;

/// An error line on standard error, after the progress line is cleared.
void error(const std::string& msg) {
    if (g_progress) g_progress->clear();
    std::fprintf(stderr, "mmtrun: error: %s\n", msg.c_str());
}

/// Lines to `stream`; when it is a terminal, the progress line is cleared first.
mmt::LineOutput screen_output(std::FILE* stream) {
    if (!isatty(fileno(stream))) return mmt::file_output(stream);
    return [stream](std::string_view line) {
        if (g_progress) g_progress->clear();
        std::fwrite(line.data(), 1, line.size(), stream);
    };
}

/// A size in bytes: digits, optionally followed by B, KiB, MiB or GiB; from `min` to `max`.
bool parse_size(const char* v, uint64_t& out, uint64_t min = 1,
                uint64_t max = uint64_t{256} << 20) {
    char* end = nullptr;
    if (!std::isdigit(static_cast<unsigned char>(*v))) return false;
    errno = 0;
    uint64_t n = std::strtoull(v, &end, 10);
    std::string unit = end;
    uint64_t mult = unit.empty() || unit == "B" ? 1
                    : unit == "KiB"             ? 1u << 10
                    : unit == "MiB"             ? 1u << 20
                    : unit == "GiB"             ? 1u << 30
                                                : 0;
    if (mult == 0 || errno == ERANGE || n > max / mult || n * mult < min) return false;
    out = n * mult;
    return true;
}

/// A size as the usage errors write it: "1 byte", "512 bytes", "64KiB", "256MiB".
std::string size_text(uint64_t n) {
    if (n >= (1u << 30) && n % (1u << 30) == 0) return fmt::format("{}GiB", n >> 30);
    if (n >= (1u << 20) && n % (1u << 20) == 0) return fmt::format("{}MiB", n >> 20);
    if (n >= (1u << 10) && n % (1u << 10) == 0) return fmt::format("{}KiB", n >> 10);
    return fmt::format("{} byte{}", n, n == 1 ? "" : "s");
}

/// An option that sets a limit of the handler (docs/limits.md): a size, or a count of
/// `unit`, from `min` to `max`.
struct LimitOption {
    const char* name;
    const char* unit; // nullptr: a size in bytes
    uint64_t min, max;
    void (*set)(mmt::HandlerOptions&, uint64_t);
};

using HO = mmt::HandlerOptions;
const LimitOption kLimitOptions[] = {
    {"--max-sessions", "sessions", 1, 1u << 24,
     [](HO& h, uint64_t v) { h.max_sessions = uint32_t(v); }},
    {"--max-stream-buffer", nullptr, 1, 256u << 20,
     [](HO& h, uint64_t v) { h.max_stream_buffer = uint32_t(v); }},
    {"--max-buffered", nullptr, 1, uint64_t{64} << 30,
     [](HO& h, uint64_t v) { h.max_buffered_bytes = v; }},
    {"--max-pdu", nullptr, 1, 256u << 20, [](HO& h, uint64_t v) { h.max_pdu = uint32_t(v); }},
    {"--max-kept-body", nullptr, 0, 256u << 20,
     [](HO& h, uint64_t v) { h.max_kept_body = uint32_t(v); }},
    {"--max-fragment-bytes", nullptr, 1, 1u << 30,
     [](HO& h, uint64_t v) { h.max_fragments_bytes = uint32_t(v); }},
    {"--max-datagrams", "datagrams", 1, 65536,
     [](HO& h, uint64_t v) { h.max_datagrams = uint32_t(v); }},
    {"--max-fragment-pieces", "pieces", 1, 8192,
     [](HO& h, uint64_t v) { h.max_fragment_pieces = uint32_t(v); }},
    {"--fragment-timeout", "milliseconds", 1, 86400000,
     [](HO& h, uint64_t v) { h.fragment_timeout_ms = uint32_t(v); }},
    {"--classify-packets", "packets", 1, 255,
     [](HO& h, uint64_t v) { h.classify_packets = uint32_t(v); }},
    {"--max-flow-paths", "paths", 1, 65535,
     [](HO& h, uint64_t v) { h.max_flow_paths = uint32_t(v); }},
};

/// Reads the value of a limit option into `handler`; false with a one-line error.
bool parse_limit(const LimitOption& l, const char* v, mmt::HandlerOptions& handler,
                 std::string& err) {
    uint64_t n = 0;
    if (l.unit) {
        std::string text = v;
        bool digits = !text.empty() && text.size() <= 19 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
        if (digits) n = std::strtoull(v, nullptr, 10);
        if (!digits || n < l.min || n > l.max) {
            err = fmt::format("'{} {}': expected a number of {} from {} to {}", l.name, v, l.unit,
                              l.min, l.max);
            return false;
        }
    } else if (!parse_size(v, n, l.min, l.max)) {
        err = fmt::format("'{} {}': expected a size from {} to {} (e.g. 65536, 64KiB, 4MiB)",
                          l.name, v, size_text(l.min), size_text(l.max));
        return false;
    }
    l.set(handler, n);
    return true;
}

struct Options {
    std::string file, iface, filter, display, object, flows_file, stats_file, write_file;
    mmt::CaptureFileFormat write_format = mmt::CaptureFileFormat::Pcap;
    mmt::RowOptions rows;
    std::vector<std::string> specs, fields;
    mmt::Format format = mmt::Format::Text;
    uint64_t count = 0, duration = 0;
    uint32_t snaplen = 262144;
    mmt::HandlerOptions handler; // the limits
    size_t workers = 1, shard = 0, shards = 1;
    bool snaplen_given = false, promiscuous = true, promiscuous_given = false, list_ifaces = false;
    bool display_given = false;
    bool flows = false, stats = false, quiet = false, builtin = true, cache = true, list = false,
         verbose = false;
    Progress::Mode progress = Progress::Mode::Auto;
};

/// One `-E key=value`, as tshark spells them.
bool parse_layout(const std::string& kv, mmt::RowOptions& rows, std::string& err) {
    size_t eq = kv.find('=');
    std::string key = kv.substr(0, eq), value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (key == "occurrence" && (value == "a" || value == "f" || value == "l")) {
        rows.occurrence = value == "a"   ? mmt::Occurrence::All
                          : value == "f" ? mmt::Occurrence::First
                                         : mmt::Occurrence::Last;
        return true;
    }
    if (key == "aggregator" && !value.empty()) {
        rows.aggregator = value == "/s" ? " " : value == "/t" ? "\t" : value;
        return true;
    }
    if (key == "header" && (value == "y" || value == "n")) {
        rows.header = value == "y";
        return true;
    }
    if (key == "occurrence" || key == "aggregator" || key == "header")
        err = fmt::format("'-E {}': expected {}", kv,
                          key == "occurrence"   ? "occurrence=a, f or l"
                          : key == "aggregator" ? "aggregator=C (a character or text)"
                                                : "header=y or n");
    else
        err = fmt::format("'-E {}': unknown layout option (expected occurrence=, aggregator= or "
                          "header=)",
                          kv);
    return false;
}

/// A decimal number above 0.
bool positive(const std::string& text, uint64_t& out) {
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
        text.size() > 19)
        return false;
    out = std::strtoull(text.c_str(), nullptr, 10);
    return out > 0;
}

bool parse_args(int argc, char** argv, Options& o, std::string& err) {
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
        } else if (a == "-Y") {
            if (!(v = need(i))) return false;
            o.display = v;
            o.display_given = true;
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
            if (!positive(v, o.count)) {
                err = fmt::format("'-c {}': expected a positive number of packets", v);
                return false;
            }
        } else if (a == "-a") {
            if (!(v = need(i))) return false;
            std::string cond = v;
            size_t colon = cond.find(':');
            std::string key = cond.substr(0, colon);
            uint64_t value = 0;
            if (colon == std::string::npos || (key != "duration" && key != "packets") ||
                !positive(cond.substr(colon + 1), value)) {
                err = fmt::format("'-a {}': expected duration:SECONDS or packets:N (a positive "
                                  "number)",
                                  v);
                return false;
            }
            if (key == "duration")
                o.duration = value;
            else
                o.count = o.count ? std::min(o.count, value) : value;
        } else if (a == "-s") {
            if (!(v = need(i))) return false;
            uint64_t len = 0;
            if (!positive(v, len) || len > 262144) {
                err = fmt::format("'-s {}': expected a snapshot length from 1 to 262144 bytes", v);
                return false;
            }
            o.snaplen = uint32_t(len);
            o.snaplen_given = true;
        } else if (a == "--no-promiscuous") {
            o.promiscuous = false;
            o.promiscuous_given = true;
        } else if (a == "-D") {
            o.list_ifaces = true;
        } else if (auto l = std::find_if(std::begin(kLimitOptions), std::end(kLimitOptions),
                                         [&](const LimitOption& x) { return a == x.name; });
                   l != std::end(kLimitOptions)) {
            if (!(v = need(i))) return false;
            if (!parse_limit(*l, v, o.handler, err)) return false;
        } else if (a == "--workers") {
            if (!(v = need(i))) return false;
            uint64_t k = 0;
            if (!positive(v, k) || k > 64) {
                err = fmt::format("'--workers {}': expected a number of threads from 1 to 64", v);
                return false;
            }
            o.workers = size_t(k);
        } else if (a == "--shard") {
            if (!(v = need(i))) return false;
            std::string text = v;
            size_t slash = text.find('/');
            uint64_t k = 0, total = 0;
            bool ok = slash != std::string::npos && slash > 0 &&
                      text.find_first_not_of("0123456789") == slash && slash <= 9 &&
                      positive(text.substr(slash + 1), total) && total <= 65536;
            if (ok) k = std::strtoull(text.c_str(), nullptr, 10);
            if (!ok || k >= total) {
                err = fmt::format("'--shard {}': expected K/N, a shard K from 0 to N-1 of N "
                                  "(N from 1 to 65536)",
                                  v);
                return false;
            }
            o.shard = size_t(k);
            o.shards = size_t(total);
        } else if (a == "-T") {
            if (!(v = need(i))) return false;
            if (!mmt::parse_format(v, o.format)) {
                err = fmt::format("unknown output format '{}' (expected text, csv or json)", v);
                return false;
            }
        } else if (a == "-w") {
            if (!(v = need(i))) return false;
            o.write_file = v;
        } else if (a == "-F") {
            if (!(v = need(i))) return false;
            if (!mmt::parse_capture_format(v, o.write_format)) {
                err = fmt::format("unknown capture format '{}' (expected pcap or pcapng)", v);
                return false;
            }
        } else if (a == "-E") {
            if (!(v = need(i))) return false;
            if (!parse_layout(v, o.rows, err)) return false;
        } else if (a == "--flows-file") {
            if (!(v = need(i))) return false;
            o.flows_file = v;
            o.flows = true;
        } else if (a == "--stats-file") {
            if (!(v = need(i))) return false;
            o.stats_file = v;
            o.stats = true;
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
            o.progress = Progress::Mode::Never;
        else if (a == "--progress")
            o.progress = Progress::Mode::Always;
        else if (a == "-L" || a == "--list")
            o.list = true;
        else if (a == "-v")
            o.verbose = true;
        else {
            err = fmt::format("unknown option '{}'", a);
            return false;
        }
    }
    if (o.verbose && !o.list) {
        err = "'-v' applies to '-L'";
        return false;
    }
    if (o.list || o.list_ifaces) return true;
    if (o.file.empty() == o.iface.empty()) {
        err = o.file.empty() ? "no input: give '-r FILE' or '-i IFACE'"
                             : "give either '-r FILE' or '-i IFACE', not both";
        return false;
    }
    if (!o.filter.empty() && o.iface.empty()) {
        err = "'-f' applies to live captures ('-i'); it is not a display filter (that is '-Y')";
        return false;
    }
    if (o.iface.empty() && (o.duration || o.snaplen_given || o.promiscuous_given)) {
        err = o.duration ? "'-a duration:N' applies to live captures ('-i'); use '-c' to stop "
                           "a file early"
              : o.snaplen_given ? "'-s' applies to live captures ('-i')"
                                : "'--no-promiscuous' applies to live captures ('-i')";
        return false;
    }
    return true;
}

/// A file given for an output, or standard output when no name is given.
class OutputFile {
  public:
    bool open(const std::string& path, std::string& err) {
        if (path.empty()) return true;
        path_ = path;
        file_ = std::fopen(path.c_str(), "w");
        if (!file_) err = fmt::format("cannot write '{}': {}", path, std::strerror(errno));
        return file_ != nullptr;
    }
    std::FILE* stream() const { return file_ ? file_ : stdout; }
    bool close(std::string& err) {
        if (!file_) return true;
        bool ok = std::fclose(file_) == 0;
        file_ = nullptr;
        if (!ok) err = fmt::format("cannot write '{}': {}", path_, std::strerror(errno));
        return ok;
    }
    ~OutputFile() {
        if (file_) std::fclose(file_);
    }

  private:
    std::string path_;
    std::FILE* file_ = nullptr;
};

/// Lines to the file an OutputFile will have opened (or standard output), looked up at the
/// first line.
mmt::LineOutput later_output(const OutputFile& file) {
    return [&file, out = mmt::LineOutput{}](std::string_view line) mutable {
        if (!out) out = screen_output(file.stream());
        out(line);
    };
}

/// Which shard a flow hash picks (--shard K/N): the hash's high half, so that shards and
/// workers (the low half) split independently.
size_t shard_of(uint64_t hash, size_t shards) {
    return size_t((hash >> 32) % shards);
}

/// One handler and what hangs on it: the columns it computes, the display filter, the rows
/// and the flow records it writes. mmtrun runs one, or one per worker.
struct Lane {
    Lane(const mmt::ProtocolLibrary& lib, const mmt::HandlerOptions& ho) : h(lib, ho) {}
    /// Processes one packet; whether it matches the display filter (all do without one).
    bool process(const mmt::RawPacket& raw) {
        passed = !display; // a packet no callback saw does not match
        h.process(raw);
        return passed;
    }
    mmt::Handler h;
    std::vector<int> columns;
    std::unique_ptr<mmt::PacketWriter> rows;
#ifndef MMTRUN_WITHOUT_COMPILER
    std::unique_ptr<mmt::DisplayFilter> filter;
#endif
    std::function<bool(const mmt::PacketView&)> display; // whether a packet matches
    bool passed = true;                                  // the packet being processed matches
    std::unordered_set<uint64_t> matched_flows;          // flows that had a packet that did
};

/// A lane for the options: the columns `names`, the display filter, rows (when
/// `per_packet`) to `rows_out`, the flows to report (--flows; with a display filter, those
/// with a packet that matched) to `flow_out`. Null after a message, with the exit status in
/// `status`.
std::unique_ptr<Lane> make_lane(const mmt::ProtocolLibrary& lib, const Options& o,
                                const std::vector<std::string>& names, bool per_packet,
                                mmt::LineOutput rows_out,
                                std::function<void(const mmt::SessionInfo&)> flow_out,
                                int& status) {
    mmt::HandlerOptions ho = o.handler;
    ho.count_paths = o.stats;
    ho.flow_details = o.flows;
    // With workers, one namer names every flow from every worker's DNS answers.
    ho.name_services = o.workers <= 1;
    auto lane = std::make_unique<Lane>(lib, ho);
    Lane* l = lane.get();
    for (const auto& n : names) {
        int c = l->h.request(n);
        if (c < 0) {
            status = usage(fmt::format("unknown attribute '{}'{} (list them with 'mmtrun -L')", n,
                                       mmt::did_you_mean(lib, n)));
            return nullptr;
        }
        l->columns.push_back(c);
    }
    // The display filter's attributes are requested after the columns, and not printed.
#ifndef MMTRUN_WITHOUT_COMPILER
    if (o.display_given) {
        std::string diag;
        l->filter = mmt::DisplayFilter::compile(lib, l->h, o.display, diag);
        if (!l->filter) {
            std::fprintf(stderr, "mmtrun: %s", diag.c_str());
            status = 2;
            return nullptr;
        }
        l->display = [f = l->filter.get()](const mmt::PacketView& p) { return f->matches(p); };
    }
#endif
    l->rows = std::make_unique<mmt::PacketWriter>(o.format, names, l->columns, std::move(rows_out),
                                                  o.rows);
    if (per_packet || l->display) {
        l->h.on_packet([l, per_packet, flows = o.flows](const mmt::PacketView& p) {
            l->passed = !l->display || l->display(p);
            if (l->passed && l->display && flows) l->matched_flows.insert(p.session_id());
            if (l->passed && per_packet) l->rows->write(p);
            return mmt::Action::Continue;
        });
    }
    if (o.flows)
        l->h.on_session_end([l, out = std::move(flow_out)](const mmt::SessionInfo& s) {
            if (l->display && l->matched_flows.erase(s.id) == 0) return;
            out(s);
        });
    return lane;
}

/// mmtrun -i IFACE --workers N: N sockets in one AF_PACKET fanout group, each read by a
/// thread of its own with a lane of its own; the kernel gives each packet to one of them by
/// a hash of its flow. Rows and flow records are written as the workers make them, one at
/// a time; services are named from every worker's DNS answers as they come. Returns the
/// exit status; `kept` and `kept_bytes` count the packets processed; `ran` is false when
/// nothing ran (a lane or a socket could not be set up: the message is printed).
int run_live_workers(const mmt::ProtocolLibrary& lib, const Options& o,
                     const std::vector<std::string>& names, bool per_packet,
                     const mmt::LineOutput& rows_out, mmt::FlowWriter& flows,
                     const std::function<void(const mmt::RawPacket&)>& write_packet,
                     std::vector<std::unique_ptr<Lane>>& lanes, uint64_t& kept,
                     uint64_t& kept_bytes, bool& ran) {
    ran = false;
    std::mutex out; // rows, flow records, the namer and -w: one worker at a time
    mmt::ServiceNamer namer(lib);
    int status = 0;
    lanes.clear();
    for (size_t w = 0; w < o.workers; ++w) {
        lanes.push_back(make_lane(
            lib, o, names, per_packet,
            [&](std::string_view line) {
                std::lock_guard<std::mutex> hold(out);
                rows_out(line);
            },
            [&](const mmt::SessionInfo& s) {
                mmt::SessionInfo copy = s;
                std::lock_guard<std::mutex> hold(out);
                namer.name(copy);
                flows.write(copy);
            },
            status));
        if (!lanes.back()) return status;
        if (o.flows)
            lanes.back()->h.on_dns_answer([&](std::span<const uint8_t> a, std::string_view n) {
                std::lock_guard<std::mutex> hold(out);
                namer.remember(a, n);
            });
    }
    std::vector<std::unique_ptr<mmt::CaptureSource>> sources;
    mmt::LiveOptions live;
    live.filter = o.filter;
    live.immediate = true;
    live.promiscuous = o.promiscuous;
    live.snaplen = o.snaplen;
    live.fanout_group = uint16_t(getpid() & 0x7fff) + 1;
    for (size_t w = 0; w < o.workers; ++w) {
        sources.push_back(std::make_unique<mmt::CaptureSource>());
        if (!sources.back()->open_live(o.iface, live)) {
            std::fprintf(stderr, "mmtrun: error: %s\n", sources.back()->error().c_str());
            return 2;
        }
    }
    ran = true;
    // Signals set g_stop; every read returns within its timeout to see it.
    catch_signal(SIGINT);
    catch_signal(SIGTERM);
    std::atomic<uint64_t> frames{0}, latest_ns{0};
    std::atomic<bool> done{false};
    std::vector<uint64_t> packets(o.workers, 0), bytes(o.workers, 0);
    const auto started = std::chrono::steady_clock::now();
    auto worker = [&](size_t w) {
        Lane& lane = *lanes[w];
        mmt::CaptureSource& src = *sources[w];
        mmt::Packet pkt;
        while (!g_stop && !done.load(std::memory_order_relaxed)) {
            if (o.duration &&
                std::chrono::steady_clock::now() - started >= std::chrono::seconds(o.duration))
                break;
            mmt::ReadStatus rs = src.next(pkt);
            if (rs == mmt::ReadStatus::Timeout) {
                // Idle: this worker's flows time out by the time the others have reached.
                if (uint64_t t = latest_ns.load()) lane.h.advance(t);
                continue;
            }
            if (g_stop || rs == mmt::ReadStatus::End) break;
            if (rs == mmt::ReadStatus::Error) {
                std::lock_guard<std::mutex> hold(out);
                if (!status) {
                    error(src.error());
                    status = src.error_kind() == mmt::CaptureError::Interface ? 2 : 1;
                }
                done = true;
                break;
            }
            mmt::RawPacket raw = pkt.raw();
            raw.number = frames.fetch_add(1) + 1;
            if (o.count && raw.number > o.count) {
                done = true;
                break;
            }
            uint64_t seen = latest_ns.load();
            while (raw.ts_ns > seen && !latest_ns.compare_exchange_weak(seen, raw.ts_ns)) {
            }
            if (o.shards > 1 && shard_of(mmt::flow_hash(raw), o.shards) != o.shard) {
                lane.h.advance(raw.ts_ns);
            } else {
                ++packets[w];
                bytes[w] += pkt.wirelen;
                if (lane.process(raw) && !o.write_file.empty()) {
                    std::lock_guard<std::mutex> hold(out);
                    write_packet(raw);
                }
            }
            if (o.count && raw.number >= o.count) done = true;
        }
    };
    std::vector<std::thread> threads;
    for (size_t w = 0; w < o.workers; ++w) threads.emplace_back(worker, w);
    for (auto& t : threads) t.join();
    // Flows still open end here.
    for (auto& lane : lanes) lane->h.finish();
    for (size_t w = 0; w < o.workers; ++w) {
        kept += packets[w];
        kept_bytes += bytes[w];
    }
    return status;
}

#ifndef MMTRUN_WITHOUT_COMPILER
/// After a cache miss, which this run got over by compiling protocols as packets reached
/// them: `mmtc build --cache-only`, in a session of its own at a low priority, stores the
/// whole library in the cache so that the next run starts from it. MMT_CACHE_FILL=0 turns
/// it off.
void fill_cache_later(const Options& o) {
    if (const char* env = std::getenv("MMT_CACHE_FILL"); env && std::strcmp(env, "0") == 0) return;
    std::error_code ec;
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return;
    // PREFIX/libexec/mmt-journey/mmtrun-full -> PREFIX/bin/mmtc
    const std::string tool = (self.parent_path().parent_path().parent_path() / "bin/mmtc").string();
    if (access(tool.c_str(), X_OK) != 0) return;
    const std::string cache = mmt::default_cache_dir();
    std::filesystem::create_directories(cache, ec);
    if (ec) return;
    std::vector<std::string> args{tool, "build", "--cache-only"};
    if (o.builtin) args.push_back(mmt::builtin_spec_dir());
    args.insert(args.end(), o.specs.begin(), o.specs.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&files, 2, "/dev/null", O_WRONLY, 0);
    // Nothing else of ours: a pipe a caller reads to its end is not held open by it.
    posix_spawn_file_actions_addclosefrom_np(&files, 3);
    posix_spawnattr_t attrs;
    posix_spawnattr_init(&attrs);
    posix_spawnattr_setflags(&attrs, POSIX_SPAWN_SETSID);
    pid_t pid = 0;
    posix_spawn(&pid, tool.c_str(), &files, &attrs, argv.data(), environ);
    posix_spawnattr_destroy(&attrs);
    posix_spawn_file_actions_destroy(&files);
}
#endif

#ifdef MMTRUN_WITHOUT_COMPILER
/// Runs mmtrun-full in this process's place with the same arguments; returns only when
/// it cannot be run.
int run_with_compiler(char** argv) {
    std::error_code ec;
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    std::string full = self.parent_path().parent_path() / "libexec/mmt-journey/mmtrun-full";
    if (!ec) execv(full.c_str(), argv);
    std::fprintf(stderr, "mmtrun: error: cannot run '%s', which compiles specs: %s\n", full.c_str(),
                 std::strerror(ec ? ec.value() : errno));
    return 3;
}
#endif

} // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (std::strcmp(argv[i], "--version") == 0) {
#ifdef MMTRUN_WITHOUT_COMPILER
            return run_with_compiler(argv); // the compiler's version too
#else
            std::printf("mmtrun %s\n", mmt::version_text().c_str());
            return 0;
#endif
        }
    Options o;
    std::string err;
    if (!parse_args(argc, argv, o, err)) return usage(err);
    if (o.list_ifaces) {
        std::vector<mmt::InterfaceInfo> ifaces;
        if (!mmt::list_interfaces(ifaces, err)) {
            std::fprintf(stderr, "mmtrun: error: %s\n", err.c_str());
            return 2;
        }
        // As tshark -D: a number, the name, then what the system says of it.
        for (size_t i = 0; i < ifaces.size(); ++i) {
            const auto& f = ifaces[i];
            std::vector<std::string> notes;
            if (!f.description.empty()) notes.push_back(f.description);
            if (f.loopback) notes.push_back("loopback");
            if (!f.up) notes.push_back("down");
            std::printf("%zu. %s%s\n", i + 1, f.name.c_str(),
                        notes.empty() ? "" : fmt::format(" ({})", fmt::join(notes, ", ")).c_str());
        }
        return 0;
    }

    mmt::LoadOptions lo;
    lo.builtin = o.builtin;
    lo.spec_paths = o.specs;
    lo.object = o.object;
    lo.use_cache = o.cache;
    // Without a cached build, protocols compile as packets first reach them.
    lo.lazy = true;
#ifdef MMTRUN_WITHOUT_COMPILER
    // An object, or a cache hit; anything else (a display filter is compiled too) is for
    // mmtrun-full, which also reports the specs' errors.
    if (o.display_given || (lo.object.empty() && !lo.use_cache)) return run_with_compiler(argv);
    std::unique_ptr<mmt::ProtocolLibrary> lib;
    if (!lo.object.empty())
        lib = mmt::ProtocolLibrary::load_object(lo.object, err);
    else if (!(lib = mmt::ProtocolLibrary::load_cached(lo, err)))
        return run_with_compiler(argv);
#else
    auto lib = mmt::ProtocolLibrary::load(lo, err);
    if (lib && o.cache && std::strcmp(lib->origin(), "lazy") == 0) fill_cache_later(o);
#endif
    if (!lib) {
        std::fprintf(stderr, "mmtrun: error: %s\n", err.c_str());
        return 3;
    }
    if (o.list) {
        if (!o.verbose) {
            for (const auto& n : lib->attribute_names()) std::printf("%s\n", n.c_str());
            return 0;
        }
        for (const auto& a : lib->attributes()) {
            std::string type = mmt::type_name(a.type);
            if (a.hex_digits) type += " hex";
            std::printf(
                "%s\t%s\t%s\t%s\t%s\n", a.name.c_str(), type.c_str(), a.event ? "event" : "field",
                fmt::format("{}", fmt::join(a.aliases, ",")).c_str(), a.description.c_str());
        }
        return 0;
    }

    std::vector<std::string> names = o.fields;
    bool per_packet = !o.quiet && (!o.fields.empty() || (!o.flows && !o.stats));
    if (per_packet && names.empty())
        names = {"frame.number", "frame.time_epoch", "frame.len", "frame.path"};
    OutputFile flows_file, stats_file;
    mmt::LineOutput rows_out = screen_output(stdout), flows_out = later_output(flows_file);
    int status = 0;
    std::vector<std::unique_ptr<Lane>> lanes;
    mmt::FlowWriter flows(o.format, flows_out, o.rows.header.value_or(true));
    auto write_flow = [&flows](const mmt::SessionInfo& s) { flows.write(s); };
    lanes.push_back(make_lane(*lib, o, names, per_packet, rows_out, write_flow, status));
    if (!lanes[0]) return status;
    // CSV and JSON keep one schema per stream: flow records and the summary go to their
    // own files when anything else is written to standard output.
    bool flows_to_stdout = o.flows && o.flows_file.empty();
    bool stats_to_stdout = o.stats && o.stats_file.empty();
    if (o.format != mmt::Format::Text &&
        int(per_packet) + int(flows_to_stdout) + int(stats_to_stdout) > 1) {
        std::vector<std::string> what;
        if (per_packet) what.push_back("per-packet rows");
        if (flows_to_stdout) what.push_back("flow records");
        if (stats_to_stdout) what.push_back("the summary");
        return usage(fmt::format(
            "'-T {}' writes one kind of record per stream, not {} together: send {} to a "
            "file{}",
            o.format == mmt::Format::Csv ? "csv" : "json", fmt::join(what, " and "),
            flows_to_stdout && stats_to_stdout ? "flows or the summary"
            : flows_to_stdout                  ? "flows"
                                               : "the summary",
            flows_to_stdout && stats_to_stdout ? " ('--flows-file FILE', '--stats-file FILE')"
            : flows_to_stdout                  ? " ('--flows-file FILE')"
                                               : " ('--stats-file FILE')"));
    }
    if (o.write_file == "-" && (per_packet || flows_to_stdout || stats_to_stdout))
        return usage("'-w -' writes the capture to standard output: give '-q', and send flows "
                     "and the summary to files ('--flows-file', '--stats-file')");
    mmt::CaptureWriter capture;
    if (!o.write_file.empty() && !capture.open(o.write_file, o.write_format, err)) {
        std::fprintf(stderr, "mmtrun: error: %s\n", err.c_str());
        return 2;
    }
    if (!flows_file.open(o.flows_file, err) || !stats_file.open(o.stats_file, err)) {
        std::fprintf(stderr, "mmtrun: error: %s\n", err.c_str());
        return 2;
    }
    if (per_packet) lanes[0]->rows->header();
    bool write_failed = false;
    // -w: the packets that match the display filter (all without one), in capture order.
    auto write_packet = [&](const mmt::RawPacket& raw) {
        if (!o.write_file.empty() && !write_failed && !capture.write(raw, err)) {
            error(err);
            write_failed = true;
        }
    };

    uint64_t kept = 0, kept_bytes = 0; // the packets of this shard (all without --shard)
    std::unique_ptr<mmtrun::Workers> pool;
    mmtrun::LevelMerger levels(o.workers);
    if (o.workers > 1 && !o.iface.empty()) {
        bool ran = false;
        status = run_live_workers(*lib, o, names, per_packet, rows_out, flows, write_packet, lanes,
                                  kept, kept_bytes, ran);
        if (!ran) return status;
    } else {
        // --workers: a lane per worker. Their rows, flows and DNS answers are handed back per
        // packet and written here in capture order; the flows' services are named here, from
        // every worker's DNS answers, as one handler would name them.
        // Per worker, the result its lane writes to (each on its own cache line).
        struct alignas(64) Filling {
            mmtrun::PacketResult* to = nullptr;
        };
        std::vector<Filling> filling;
        mmt::ServiceNamer namer(*lib);
        // A flow record, its service named from every worker's answers so far.
        auto write_named = [&](mmt::SessionInfo& s) {
            namer.name(s);
            flows.write(s);
        };
        auto deliver = [&](const mmt::RawPacket& raw, size_t owner,
                           const std::vector<mmtrun::PacketResult*>& results) {
            levels.add(owner, results);
            for (mmtrun::PacketResult* r : results)
                for (mmt::SessionInfo& s : r->flows()) write_named(s);
            if (owner >= results.size()) return; // another shard's
            const mmtrun::PacketResult& mine = *results[owner];
            for (const mmtrun::DnsAnswer& a : mine.answers)
                namer.remember({a.address, a.length}, a.name);
            if (!mine.rows.empty()) rows_out(mine.rows);
            if (mine.passed) write_packet(raw);
        };
        // Once the workers have stopped, the flows still open are written as they end.
        std::function<void(mmt::SessionInfo&)> finishing;
        // A worker's packet: processed when it is the worker's, else only the clock moves.
        auto process_packet = [&](size_t w, const mmt::RawPacket& raw, bool mine,
                                  mmtrun::PacketResult& out) {
            Lane& lane = *lanes[w];
            filling[w].to = &out;
            if (mine) {
                out.passed = lane.process(raw);
            } else {
                lane.h.advance(raw.ts_ns);
                out.passed = false;
            }
            out.level = lane.h.buffer_level();
        };
        if (o.workers > 1) {
            lanes.clear();
            filling.resize(o.workers);
            for (size_t w = 0; w < o.workers; ++w) {
                mmtrun::PacketResult** to = &filling[w].to;
                lanes.push_back(make_lane(
                    *lib, o, names, per_packet, [to](std::string_view l) { (*to)->rows += l; },
                    [to, &finishing](const mmt::SessionInfo& s) {
                        if (finishing) {
                            mmt::SessionInfo copy = s;
                            finishing(copy);
                        } else {
                            (*to)->add_flow(s);
                        }
                    },
                    status));
                if (!lanes.back()) return status;
                if (o.flows)
                    lanes.back()->h.on_dns_answer(
                        [to](std::span<const uint8_t> addr, std::string_view name) {
                            mmtrun::DnsAnswer a{
                                {}, uint8_t(std::min<size_t>(addr.size(), 16)), std::string(name)};
                            std::memcpy(a.address, addr.data(), a.length);
                            (*to)->answers.push_back(std::move(a));
                        });
            }
        }
        mmt::CaptureSource src;
        g_source = &src;
        catch_signal(SIGINT);
        catch_signal(SIGTERM);
        bool opened;
        if (!o.file.empty()) {
            opened = src.open_file(o.file);
        } else {
            mmt::LiveOptions live;
            live.filter = o.filter;
            live.immediate = true;
            live.promiscuous = o.promiscuous;
            live.snaplen = o.snaplen;
            opened = src.open_live(o.iface, live);
        }
        if (!opened) {
            std::fprintf(stderr, "mmtrun: error: %s\n", src.error().c_str());
            return 2;
        }
        // Workers over a file read in place read it themselves, each the whole of it: no
        // packet crosses cores. Otherwise this thread reads and hands packets out.
        const bool reading_workers = o.workers > 1 && !o.file.empty() && o.write_file.empty() &&
                                     !o.duration && src.in_place();
        if (o.workers > 1 && !reading_workers)
            pool = std::make_unique<mmtrun::Workers>(o.workers, process_packet, deliver);
        Progress progress(o.file, o.progress);
        g_progress = &progress;
        uint64_t n = 0, read_bytes = 0;
        bool complete = false;
        auto started = std::chrono::steady_clock::now();
        auto time_up = [&] {
            return o.duration &&
                   std::chrono::steady_clock::now() - started >= std::chrono::seconds(o.duration);
        };
        mmt::Packet pkt;
        if (reading_workers) {
            src.close();
            struct alignas(64) Kept {
                uint64_t packets = 0, bytes = 0;
            };
            std::vector<Kept> kept_by(o.workers);
            mmtrun::FileWorkers readers(
                o.workers,
                [&](size_t, mmt::CaptureSource& s, std::string& why) {
                    if (s.open_file(o.file) && s.in_place()) return true;
                    why = s.error().empty() ? fmt::format("cannot read '{}' again", o.file)
                                            : s.error();
                    return false;
                },
                [&](size_t w, const mmt::RawPacket& raw) {
                    const uint64_t h = mmt::flow_hash(raw);
                    if (o.shards > 1 && shard_of(h, o.shards) != o.shard) return false;
                    if (mmtrun::Workers::pick(h, o.workers) != w) return false;
                    ++kept_by[w].packets;
                    kept_by[w].bytes += raw.wirelen;
                    return true;
                },
                process_packet, deliver);
            readers.run(
                o.count, [] { return g_stop != 0; },
                [&](uint64_t packets, uint64_t bytes) { progress.update(packets, bytes); });
            n = readers.packets();
            read_bytes = readers.bytes();
            complete = readers.last_status() == mmt::ReadStatus::End && !g_stop;
            if (readers.last_status() == mmt::ReadStatus::Error) {
                error(readers.error());
                status = 1;
            }
            for (const Kept& k : kept_by) {
                kept += k.packets;
                kept_bytes += k.bytes;
            }
        }
        while (!reading_workers && !g_stop && !time_up()) {
            mmt::ReadStatus rs = src.next(pkt);
            if (rs == mmt::ReadStatus::Timeout) {
                if (pool) pool->poll();
                continue;
            }
            if (g_stop) break; // a read cut short by the signal is no damage
            if (rs == mmt::ReadStatus::End) {
                complete = true;
                break;
            }
            if (rs == mmt::ReadStatus::Error) {
                error(src.error());
                status = src.error_kind() == mmt::CaptureError::Interface ? 2 : 1;
                break;
            }
            mmt::RawPacket raw = pkt.raw();
            raw.number = ++n;
            read_bytes += pkt.caplen + 16;
            if (o.shards > 1 && shard_of(mmt::flow_hash(raw), o.shards) != o.shard) {
                // Another shard's: only the clock moves.
                if (pool)
                    pool->pass(raw);
                else
                    lanes[0]->h.advance(raw.ts_ns);
            } else {
                ++kept;
                kept_bytes += pkt.wirelen;
                if (pool) {
                    pool->push(raw);
                } else if (lanes[0]->process(raw)) {
                    write_packet(raw);
                }
            }
            progress.update(n, read_bytes);
            if (o.count && n >= o.count) break;
        }
        progress.done(n, read_bytes, complete);
        progress.clear();
        // Flows still open end here, also when a signal stopped the run.
        if (o.workers > 1) {
            if (pool) pool->drain();
            finishing = write_named;
            for (auto& lane : lanes) lane->h.finish();
        } else {
            lanes[0]->h.finish();
        }
    }
    std::fflush(stdout);
    // Damage inside packets is reported per packet (frame.truncated, frame.malformed).
    if (o.stats) {
        mmt::Summary summary(lanes[0]->h);
        for (size_t w = 1; w < lanes.size(); ++w) summary.add(mmt::Summary(lanes[w]->h));
        if (o.workers > 1 && o.iface.empty()) {
            // Packets went through `deliver`, which fed `levels`: what all buffers held at
            // once, not the sum of each worker's most.
            summary.stats.buffered_bytes_peak = levels.buffered_peak();
            summary.stats.fragment_bytes_peak = levels.fragments_peak();
        }
        mmt::write_hierarchy(summary, kept, kept_bytes, screen_output(stats_file.stream()),
                             o.format, o.rows.header.value_or(true));
    }
    if (!write_failed && !capture.close(err)) {
        error(err);
        write_failed = true;
    }
    if (write_failed) return 2;
    if (!flows_file.close(err) || !stats_file.close(err)) {
        error(err);
        return 2;
    }
    // Reading a file, a signal leaves the output incomplete: 128 + its number. A live
    // capture runs until it is stopped so.
    if (g_stop && !o.file.empty() && status == 0) return 128 + g_stop;
    return status;
}
