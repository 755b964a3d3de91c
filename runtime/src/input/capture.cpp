// Packet input: capture files (pcap, pcapng) and live interfaces behind one reader.
#include "input/capture.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/if_packet.h>
#endif

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "input/pcapng_reader.h"

namespace mmt {

struct CaptureSource::PcapHandle {
    pcap_t* p = nullptr;
    ~PcapHandle() {
        if (p) pcap_close(p);
    }
};

namespace {

/// A file mapped once for all the sources of this process that read it in place (the
/// workers of `mmtrun --workers` each read the whole file): its pages are faulted in once,
/// into one page table, and given back once every reader has passed them.
struct FileMapping {
    dev_t dev = 0;
    ino_t ino = 0;
    size_t size = 0;
    timespec mtime{};
    const uint8_t* base = nullptr;
    /// The pages before this were given back (they stay in the page cache).
    std::atomic<size_t> released{0};
    /// Where each reader is (kFree: no reader); pages are given back up to the slowest.
    static constexpr unsigned kReaders = 64;
    static constexpr size_t kFree = ~size_t{0};
    std::atomic<size_t> at[kReaders];

    FileMapping() {
        for (auto& a : at) a.store(kFree, std::memory_order_relaxed);
    }
    ~FileMapping() { ::munmap(const_cast<uint8_t*>(base), size); }

    /// A reader's slot, at the start of the records; kReaders when all are taken.
    unsigned join() {
        for (unsigned i = 0; i < kReaders; ++i) {
            size_t free = kFree;
            if (at[i].compare_exchange_strong(free, 24)) return i;
        }
        return kReaders;
    }
    void leave(unsigned slot) {
        if (slot < kReaders) at[slot].store(kFree);
    }
    /// Reader `slot` is at `pos`: gives back the pages every reader is past, but for the
    /// last `keep` bytes before the slowest.
    void passed(unsigned slot, size_t pos, size_t keep) {
        if (slot < kReaders) at[slot].store(pos);
        size_t slowest = pos;
        for (const auto& a : at) slowest = std::min(slowest, a.load());
        if (slowest < keep) return;
        const size_t upto = (slowest - keep) & ~size_t(4095);
        size_t from = released.load();
        while (upto > from && !released.compare_exchange_weak(from, upto)) {
        }
        if (upto > from) ::madvise(const_cast<uint8_t*>(base) + from, upto - from, MADV_DONTNEED);
    }
};

/// The files mapped now, by device, inode, size and modification time.
std::mutex g_mappings_lock;
std::vector<std::weak_ptr<FileMapping>> g_mappings;

/// The mapping of the regular file `fd` (whose status is `st`), shared with every other
/// source of this process mapping the same unchanged file; null when it cannot be mapped.
std::shared_ptr<FileMapping> map_shared(int fd, const struct stat& st) {
    std::lock_guard<std::mutex> hold(g_mappings_lock);
    std::erase_if(g_mappings, [](const std::weak_ptr<FileMapping>& w) { return w.expired(); });
    for (const auto& w : g_mappings)
        if (auto m = w.lock();
            m && m->dev == st.st_dev && m->ino == st.st_ino && m->size == size_t(st.st_size) &&
            m->mtime.tv_sec == st.st_mtim.tv_sec && m->mtime.tv_nsec == st.st_mtim.tv_nsec)
            return m;
    void* base = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED) return nullptr;
    ::madvise(base, size_t(st.st_size), MADV_SEQUENTIAL);
    auto m = std::make_shared<FileMapping>();
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    m->size = size_t(st.st_size);
    m->mtime = st.st_mtim;
    m->base = static_cast<const uint8_t*>(base);
    g_mappings.push_back(m);
    return m;
}

} // namespace

/// A classic pcap file in this machine's byte order, mapped: next() hands out each record
/// where it lies, with no copy and no call into libpcap. The first record that libpcap would
/// treat in a way of its own (longer than the snapshot length, a time stamp out of range),
/// or that the mapping does not hold whole (a truncated file, or one that grew after it was
/// opened), goes to libpcap, which reads the file on from there: damaged files get
/// libpcap's verdict, word for word.
struct CaptureSource::Mapped {
    std::shared_ptr<FileMapping> mapping;
    unsigned slot = FileMapping::kReaders; // this reader's, in the mapping
    const uint8_t* base = nullptr;
    size_t size = 0;
    size_t pos = 24;           // the next record
    size_t told = 0;           // where this reader last told the mapping it was
    uint32_t snapshot = 0;     // the longest record libpcap hands out as it is
    uint32_t fraction_end = 0; // 1e6 (microseconds) or 1e9 (nanoseconds)
    uint32_t scale = 1;        // to nanoseconds
    FILE* file = nullptr;      // for libpcap
    ~Mapped() {
        if (mapping) mapping->leave(slot);
        if (file) std::fclose(file);
    }
};

namespace {

constexpr uint32_t kPcapMicro = 0xa1b2c3d4;
constexpr uint32_t kPcapNano = 0xa1b23c4d;
constexpr uint32_t kPcapModified = 0xa1b2cd34; // Kuznetzov's patched libpcap format
constexpr uint32_t kPcapngMagic = 0x0a0d0d0a;

bool is_pcap_magic(uint32_t m) {
    for (uint32_t k : {kPcapMicro, kPcapNano, kPcapModified})
        if (m == k || m == __builtin_bswap32(k)) return true;
    return false;
}

} // namespace

uint32_t linktype_from_dlt(int dlt) {
    switch (dlt) {
    case 11:
        return 100; // DLT_ATM_RFC1483
    case 12:        // DLT_RAW on most systems
    case 14:
        return 101; // DLT_RAW on OpenBSD
    case 15:
        return 102; // DLT_SLIP_BSDOS
    case 16:
        return 103; // DLT_PPP_BSDOS
    default:
        return dlt < 0 ? 0 : static_cast<uint32_t>(dlt);
    }
}

CaptureSource::CaptureSource() = default;
CaptureSource::~CaptureSource() = default;

void CaptureSource::close() {
    pcap_.reset();
    mapped_.reset();
    pcapng_.reset();
    format_ = CaptureFormat::None;
    error_.clear();
    error_kind_ = CaptureError::None;
    packets_ = 0;
    linktype_ = 0;
    ts_scale_ = 1;
    live_fd_ = -1;
    failed_ = false;
    stop_ = false;
}

ReadStatus CaptureSource::fail(CaptureError kind, std::string message) {
    error_kind_ = kind;
    error_ = std::move(message);
    failed_ = true;
    return ReadStatus::Error;
}

namespace {

/// A stream that replays bytes already read from a pipe or a FIFO, then reads on from it:
/// the magic number is read once, and the reader chosen by it still starts at byte 0.
struct Replay {
    std::vector<char> head;
    size_t pos = 0;
    FILE* rest;
};

ssize_t replay_read(void* cookie, char* buf, size_t size) {
    auto* r = static_cast<Replay*>(cookie);
    if (r->pos < r->head.size()) {
        size_t n = std::min(size, r->head.size() - r->pos);
        std::memcpy(buf, r->head.data() + r->pos, n);
        r->pos += n;
        return ssize_t(n);
    }
    // What the pipe has now, rather than waiting for the whole buffer to fill (`rest` is
    // unbuffered, so nothing of it waits in a stdio buffer).
    return ::read(fileno(r->rest), buf, size);
}

int replay_close(void* cookie) {
    auto* r = static_cast<Replay*>(cookie);
    int rc = std::fclose(r->rest);
    delete r;
    return rc;
}

/// `f` positioned at its start again: rewound when it can seek, else a stream replaying
/// `head` before the rest of `f` (which it then owns). Null on failure, `f` closed.
FILE* from_start(FILE* f, const uint8_t* head, size_t n) {
    if (std::fseek(f, 0, SEEK_SET) == 0) return f;
    auto* r = new Replay{std::vector<char>(head, head + n), 0, f};
    cookie_io_functions_t io{replay_read, nullptr, nullptr, replay_close};
    FILE* g = fopencookie(r, "rb", io);
    if (!g) {
        std::fclose(f);
        delete r;
        return nullptr;
    }
    std::setvbuf(g, nullptr, _IOFBF, 256 * 1024);
    return g;
}

} // namespace

bool CaptureSource::open_file(const std::string& path) {
    close();
    name_ = path;
    // "-" is standard input; pipes and FIFOs are read as they come, never sought.
    bool standard_input = path == "-";
    FILE* f = nullptr;
    if (standard_input) {
        int fd = ::dup(STDIN_FILENO);
        f = fd < 0 ? nullptr : ::fdopen(fd, "rb");
        if (!f && fd >= 0) ::close(fd);
    } else {
        f = std::fopen(path.c_str(), "rb");
    }
    if (!f) {
        fail(CaptureError::Open,
             standard_input ? fmt::format("cannot read standard input: {}", std::strerror(errno))
                            : fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
        return false;
    }
    // Large stdio buffer: one read system call per 256 KiB rather than per record. A pipe
    // or a FIFO is left unbuffered until its first bytes are read (see from_start).
    if (::lseek(fileno(f), 0, SEEK_CUR) < 0)
        std::setvbuf(f, nullptr, _IONBF, 0);
    else
        std::setvbuf(f, nullptr, _IOFBF, 256 * 1024);
    uint8_t hdr[24];
    size_t got = std::fread(hdr, 1, sizeof hdr, f);
    if (std::ferror(f)) {
        fail(CaptureError::Io, fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
        std::fclose(f);
        return false;
    }
    if (got < 4) {
        fail(CaptureError::Format,
             got == 0 ? fmt::format("'{}' is empty, not a capture file", path)
                      : fmt::format("'{}' is not a capture file ({} bytes)", path, got));
        std::fclose(f);
        return false;
    }
    uint32_t magic;
    std::memcpy(&magic, hdr, 4);
    if (magic == kPcapngMagic) {
        if (!(f = from_start(f, hdr, got))) {
            fail(CaptureError::Io, fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
            return false;
        }
        pcapng_ = std::make_unique<PcapngReader>();
        pcapng_->open(f, path);
        format_ = CaptureFormat::Pcapng;
        return true;
    }
    if (!is_pcap_magic(magic)) {
        fail(CaptureError::Format,
             fmt::format("'{}' is not a capture file (unknown magic {:02x} {:02x} {:02x} {:02x})",
                         path, hdr[0], hdr[1], hdr[2], hdr[3]));
        std::fclose(f);
        return false;
    }
    if (got < sizeof hdr) {
        fail(CaptureError::Truncated,
             fmt::format("truncated capture '{}': the file header needs 24 bytes, only {} present",
                         path, got));
        std::fclose(f);
        return false;
    }
    // The link type straight from the header: libpcap maps it to a platform DLT value.
    uint32_t lt;
    std::memcpy(&lt, hdr + 20, 4);
    bool swapped = magic != kPcapMicro && magic != kPcapNano && magic != kPcapModified;
    if (swapped) lt = __builtin_bswap32(lt);
    linktype_ = lt & 0xffff;
    format_ = CaptureFormat::Pcap;
    if (!swapped && magic != kPcapModified && map_pcap(f, hdr)) return true;
    if (!(f = from_start(f, hdr, got))) {
        format_ = CaptureFormat::None;
        fail(CaptureError::Io, fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
        return false;
    }
    return open_pcap(f, 0);
}

bool CaptureSource::map_pcap(FILE* f, const uint8_t* header) {
    uint16_t major, minor;
    int32_t snaplen;
    std::memcpy(&major, header + 4, 2);
    std::memcpy(&minor, header + 6, 2);
    std::memcpy(&snaplen, header + 16, 4);
    // Versions before 2.4 may have their lengths swapped; link types whose records may be
    // longer than 256 KiB (D-Bus, USBPcap, EBHSCR) are libpcap's.
    constexpr uint32_t kMaxSnaplen = 262144;
    if (major != 2 || minor < 4 || linktype_ == 231 || linktype_ == 249 || linktype_ == 279)
        return false;
    struct stat st;
    if (::fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 24) return false;
    const size_t size = size_t(st.st_size);
    std::shared_ptr<FileMapping> mapping = map_shared(fileno(f), st);
    if (!mapping) return false;
    auto m = std::make_unique<Mapped>();
    m->base = mapping->base;
    m->size = size;
    m->slot = mapping->join();
    m->mapping = std::move(mapping);
    m->snapshot = snaplen <= 0 || uint32_t(snaplen) > kMaxSnaplen ? kMaxSnaplen : uint32_t(snaplen);
    const bool nano = std::memcmp(header, &kPcapNano, 4) == 0;
    m->fraction_end = nano ? 1000000000u : 1000000u;
    m->scale = nano ? 1 : 1000;
    m->file = f;
    mapped_ = std::move(m);
    return true;
}

bool CaptureSource::open_pcap(FILE* f, long offset) {
    char err[PCAP_ERRBUF_SIZE] = "";
    pcap_t* p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, err);
    if (!p) {
        std::fclose(f);
        format_ = CaptureFormat::None;
        fail(CaptureError::Format, fmt::format("cannot read '{}': {}", name_, err));
        return false;
    }
    pcap_ = std::make_unique<PcapHandle>();
    pcap_->p = p;
    // libpcap has read the file header; it reads the records on from `offset`.
    if (offset && std::fseek(f, offset, SEEK_SET) != 0) {
        fail(CaptureError::Io, fmt::format("cannot read '{}': {}", name_, std::strerror(errno)));
        return false;
    }
    return true;
}

bool list_interfaces(std::vector<InterfaceInfo>& out, std::string& error) {
    char err[PCAP_ERRBUF_SIZE] = "";
    pcap_if_t* all = nullptr;
    if (pcap_findalldevs(&all, err) != 0) {
        error = fmt::format("cannot list the interfaces: {}", err);
        return false;
    }
    for (pcap_if_t* d = all; d; d = d->next) {
        InterfaceInfo i;
        i.name = d->name;
        if (d->description) i.description = d->description;
        i.up = d->flags & PCAP_IF_UP;
        i.running = d->flags & PCAP_IF_RUNNING;
        i.loopback = d->flags & PCAP_IF_LOOPBACK;
        out.push_back(std::move(i));
    }
    pcap_freealldevs(all);
    return true;
}

bool CaptureSource::open_live(const std::string& interface, const LiveOptions& options) {
    close();
    name_ = interface;
    char err[PCAP_ERRBUF_SIZE] = "";
    pcap_t* p = pcap_create(interface.c_str(), err);
    if (!p) {
        fail(CaptureError::Interface,
             fmt::format("cannot open interface '{}': {}", interface, err));
        return false;
    }
    pcap_ = std::make_unique<PcapHandle>();
    pcap_->p = p;
    pcap_set_snaplen(p, static_cast<int>(options.snaplen));
    pcap_set_promisc(p, options.promiscuous ? 1 : 0);
    pcap_set_timeout(p, options.timeout_ms);
    pcap_set_immediate_mode(p, options.immediate ? 1 : 0);
    // Immediate mode rings hold whole snapshot-length frames: libpcap's default of 2 MB
    // holds 8 at 256 KiB, and a burst of small packets overflowed it.
    pcap_set_buffer_size(p, int(options.buffer_bytes));
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO); // falls back to micro if unsupported
    int rc = pcap_activate(p);
    if (rc < 0) {
        std::string why = pcap_geterr(p);
        if (why.empty()) why = pcap_statustostr(rc);
        pcap_.reset();
        fail(CaptureError::Interface,
             fmt::format("cannot open interface '{}': {}", interface, why));
        return false;
    }
    ts_scale_ = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;
    // libpcap 1.10 on Linux (TPACKET_V3) blocks in pcap_next_ex until a packet comes, whatever
    // the timeout: read without blocking and wait in poll() ourselves so next() can time out.
    live_fd_ = pcap_get_selectable_fd(p);
    live_timeout_ms_ = options.timeout_ms;
    if (live_fd_ >= 0 && pcap_setnonblock(p, 1, err) != 0) live_fd_ = -1;
    if (!options.filter.empty()) {
        bpf_program prog;
        if (pcap_compile(p, &prog, options.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
            std::string why = pcap_geterr(p);
            pcap_.reset();
            fail(CaptureError::Filter,
                 fmt::format("invalid capture filter '{}': {}", options.filter, why));
            return false;
        }
        int set = pcap_setfilter(p, &prog);
        pcap_freecode(&prog);
        if (set != 0) {
            std::string why = pcap_geterr(p);
            pcap_.reset();
            fail(CaptureError::Filter, fmt::format("cannot install capture filter '{}' on '{}': {}",
                                                   options.filter, interface, why));
            return false;
        }
    }
    if (options.fanout_group && !join_fanout(pcap_fileno(p), options.fanout_group, interface))
        return false;
    linktype_ = linktype_from_dlt(pcap_datalink(p));
    format_ = CaptureFormat::Live;
    return true;
}

bool CaptureSource::join_fanout(int fd, uint16_t group, const std::string& interface) {
#ifdef PACKET_FANOUT
    int arg = int(group) | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
    if (fd >= 0 && setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) == 0) return true;
    std::string why = fd < 0 ? "no socket" : std::strerror(errno);
#else
    (void)fd;
    (void)group;
    std::string why = "this system has no AF_PACKET fanout";
#endif
    pcap_.reset();
    fail(CaptureError::Interface,
         fmt::format("cannot share interface '{}' between workers: {}", interface, why));
    return false;
}

void CaptureSource::stop() {
    stop_.store(true, std::memory_order_relaxed);
    if (format_ == CaptureFormat::Live && pcap_) pcap_breakloop(pcap_->p);
}

uint32_t CaptureSource::linktype() const {
    if (format_ == CaptureFormat::Pcapng && pcapng_) return pcapng_->first_linktype();
    return linktype_;
}

uint64_t CaptureSource::offset() const {
    return mapped_ ? mapped_->pos : 0;
}

uint64_t CaptureSource::dropped() const {
    if (format_ != CaptureFormat::Live || !pcap_) return 0;
    pcap_stat st{};
    if (pcap_stats(pcap_->p, &st) != 0) return 0;
    return st.ps_drop;
}

ReadStatus CaptureSource::next(Packet& packet) {
    if (failed_) return ReadStatus::Error;
    if (stop_.load(std::memory_order_relaxed)) return ReadStatus::End;
    switch (format_) {
    case CaptureFormat::Pcap:
        return mapped_ ? next_mapped(packet) : next_pcap(packet);
    case CaptureFormat::Live:
        return next_pcap(packet);
    case CaptureFormat::Pcapng: {
        ReadStatus st = pcapng_->next(packet);
        if (st == ReadStatus::Ok) ++packets_;
        if (st == ReadStatus::Error) return fail(pcapng_->kind(), pcapng_->error());
        return st;
    }
    case CaptureFormat::None:
        break;
    }
    return fail(CaptureError::Open, "no capture is open");
}

ReadStatus CaptureSource::next_mapped(Packet& packet) {
    Mapped& m = *mapped_;
    const size_t left = m.size - m.pos;
    if (left >= 16) {
        uint32_t h[4]; // seconds, fraction, captured length, wire length
        std::memcpy(h, m.base + m.pos, sizeof h);
        if (h[2] <= m.snapshot && h[2] <= left - 16 && h[0] < 0x80000000u &&
            h[1] < m.fraction_end) {
            packet.ts_sec = h[0];
            packet.ts_nsec = h[1] * m.scale;
            packet.caplen = h[2];
            packet.wirelen = h[3];
            packet.linktype = linktype_;
            packet.ifindex = 0;
            packet.data = m.base + m.pos + 16;
            m.pos += 16 + size_t(h[2]);
            ++packets_;
            // The pages every reader has read long ago leave this process's memory (they
            // stay in the page cache): a large file does not count in its resident set.
            constexpr size_t kRelease = 32u << 20, kKeep = 1u << 20;
            if (m.pos - m.told > kRelease) {
                m.mapping->passed(m.slot, m.pos, kKeep);
                m.told = m.pos;
            }
            return ReadStatus::Ok;
        }
    } else if (left == 0) {
        // The end, unless the file has grown since it was mapped.
        struct stat st;
        if (::fstat(fileno(m.file), &st) != 0 || size_t(st.st_size) <= m.size)
            return ReadStatus::End;
    }
    // libpcap reads on from this record (the previous packet's bytes are no longer needed).
    FILE* f = m.file;
    const long at = long(m.pos);
    m.file = nullptr;
    mapped_.reset();
    if (std::fseek(f, 0, SEEK_SET) != 0 || !open_pcap(f, at)) {
        if (!failed_) {
            std::fclose(f);
            fail(CaptureError::Io,
                 fmt::format("cannot read '{}': {}", name_, std::strerror(errno)));
        }
        return ReadStatus::Error;
    }
    return next_pcap(packet);
}

ReadStatus CaptureSource::next_pcap(Packet& packet) {
    pcap_pkthdr* h = nullptr;
    const u_char* d = nullptr;
    int rc = pcap_next_ex(pcap_->p, &h, &d);
    if (rc == 0 && live_fd_ >= 0) {
        pollfd pfd{live_fd_, POLLIN, 0};
        if (::poll(&pfd, 1, live_timeout_ms_) <= 0) return ReadStatus::Timeout;
        if (stop_.load(std::memory_order_relaxed)) return ReadStatus::End;
        rc = pcap_next_ex(pcap_->p, &h, &d);
    }
    if (rc == 1) {
        uint64_t sec = static_cast<uint64_t>(h->ts.tv_sec);
        uint64_t nsec = static_cast<uint64_t>(h->ts.tv_usec) * ts_scale_;
        // Damaged files carry fractions >= 1 s (fuzz-2021-10-13.pcap): carry them over.
        if (nsec >= 1000000000u) {
            sec += nsec / 1000000000u;
            nsec %= 1000000000u;
        }
        packet.ts_sec = sec;
        packet.ts_nsec = static_cast<uint32_t>(nsec);
        packet.caplen = h->caplen;
        packet.wirelen = h->len;
        packet.linktype = linktype_;
        packet.ifindex = 0;
        packet.data = d;
        ++packets_;
        return ReadStatus::Ok;
    }
    if (rc == 0) return ReadStatus::Timeout;
    if (rc == PCAP_ERROR_BREAK) return ReadStatus::End; // end of file, or stop() on a live capture
    std::string why = pcap_geterr(pcap_->p);
    if (format_ == CaptureFormat::Live)
        return fail(CaptureError::Io, fmt::format("capture on '{}' failed: {}", name_, why));
    // libpcap 1.10 words: "truncated dump file; tried to read N header bytes, only got M" and
    // "... N captured bytes, only got M". Reworded so callers see what is damaged and where.
    size_t need = 0, got = 0;
    if (std::sscanf(why.c_str(),
                    "truncated dump file; tried to read %zu header bytes, only got %zu", &need,
                    &got) == 2)
        return fail(CaptureError::Truncated,
                    fmt::format("truncated capture '{}' after {} packets: last record header "
                                "needs {} bytes, only {} present",
                                name_, packets_, need, got));
    if (std::sscanf(why.c_str(),
                    "truncated dump file; tried to read %zu captured bytes, only got %zu", &need,
                    &got) == 2)
        return fail(CaptureError::Truncated,
                    fmt::format("truncated capture '{}' after {} packets: last record needs {} "
                                "bytes of packet data, only {} present",
                                name_, packets_, need, got));
    if (why.rfind("truncated", 0) == 0)
        return fail(
            CaptureError::Truncated,
            fmt::format("truncated capture '{}' after {} packets: {}", name_, packets_, why));
    return fail(CaptureError::Format,
                fmt::format("cannot read '{}' after {} packets: {}", name_, packets_, why));
}

} // namespace mmt
