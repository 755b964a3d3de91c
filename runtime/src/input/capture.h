// Packet input: capture files (pcap, pcapng) and live interfaces behind one reader.
#pragma once

#include "mmt/runtime.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace mmt {

/// One packet as read from the input. `data` stays valid until the next call to
/// CaptureSource::next() or close().
struct Packet {
    uint64_t ts_sec = 0;   ///< seconds since the epoch
    uint32_t ts_nsec = 0;  ///< nanoseconds, always < 1e9
    uint32_t caplen = 0;   ///< bytes at `data`
    uint32_t wirelen = 0;  ///< bytes on the wire (>= caplen unless the file lies)
    uint32_t linktype = 0; ///< LINKTYPE_* value of the packet's interface
    uint32_t ifindex = 0;  ///< interface index in the file (pcapng IDB order; 0 otherwise)
    const uint8_t* data = nullptr;

    /// Timestamp in nanoseconds since the epoch (fits until the year 2554).
    uint64_t ts_ns() const { return ts_sec * 1000000000ull + ts_nsec; }
    /// The packet as the journey takes it (Handler::process).
    RawPacket raw() const { return RawPacket{data, caplen, wirelen, linktype, ts_ns()}; }
};

/// Outcome of CaptureSource::next().
enum class ReadStatus {
    Ok,      ///< a packet was read
    End,     ///< clean end of input (or stop() was called)
    Timeout, ///< live capture: no packet within the read timeout; call again
    Error    ///< see CaptureSource::error(); no more packets will come
};

/// Kind of the last error, so callers can tell damage from misuse.
enum class CaptureError {
    None,
    Open,      ///< the file cannot be opened (missing, permissions)
    Format,    ///< not a capture file, or a malformed header or block
    Truncated, ///< the file ends in the middle of a record; earlier packets were fine
    Io,        ///< read error
    Interface, ///< the live interface cannot be opened or activated
    Filter     ///< the capture filter does not compile or cannot be installed
};

/// Options of a live capture.
struct LiveOptions {
    std::string filter;        ///< BPF capture filter (tcpdump syntax); empty: everything
    int timeout_ms = 100;      ///< next() returns Timeout after this long without packets
    uint32_t snaplen = 262144; ///< bytes kept per packet
    bool promiscuous = false;
    bool immediate = false; ///< deliver each packet at once instead of in batches
    /// The kernel's buffer (ring) for packets not read yet.
    uint32_t buffer_bytes = 32u << 20;
    /// Not 0: join this AF_PACKET fanout group (Linux), in hash mode with defragmentation:
    /// the kernel gives each packet to one of the group's sockets by a hash of its flow, the
    /// same for both directions and for every fragment of a datagram (mmtrun --workers).
    uint16_t fanout_group = 0;
};

/// An interface live captures can open.
struct InterfaceInfo {
    std::string name;        ///< what open_live takes
    std::string description; ///< "" when the system gives none
    bool up = false, running = false, loopback = false;
};

/// The interfaces live captures can open, in the system's order; false with `error` set
/// when they cannot be listed.
bool list_interfaces(std::vector<InterfaceInfo>& out, std::string& error);

/// Which reader serves the source.
enum class CaptureFormat { None, Pcap, Pcapng, Live };

class PcapngReader;

/// Reads packets from a capture file or a live interface.
///
/// Files are recognised by their magic number, never by name. Classic pcap files (both byte
/// orders, micro- and nanosecond) are read by libpcap, except that a regular file in this
/// machine's byte order is mapped and its records handed out where they lie, until one
/// that libpcap would treat specially (see Mapped in capture.cpp). pcapng files are read by our own
/// block reader, because libpcap 1.10 stops at an interface whose link type or snapshot length
/// differs from the first one and never tells which interface a packet came from.
/// Not thread-safe, except stop(), which may be called from another thread or a signal handler.
class CaptureSource {
  public:
    CaptureSource();
    ~CaptureSource();
    CaptureSource(const CaptureSource&) = delete;
    CaptureSource& operator=(const CaptureSource&) = delete;

    /// Opens a capture file ("-": standard input; pipes and FIFOs are never sought); false
    /// with error() set on failure.
    bool open_file(const std::string& path);
    /// Opens a live interface (not promiscuous by default); false with error() set on failure.
    bool open_live(const std::string& interface, const LiveOptions& options = {});
    /// Reads the next packet.
    ReadStatus next(Packet& packet);
    /// Makes the next (or the current, for live captures) read return End.
    void stop();
    /// Releases the input; the source can be opened again.
    void close();

    /// One-line description of the last error ("" if none).
    const std::string& error() const { return error_; }
    CaptureError error_kind() const { return error_kind_; }
    /// Packets returned by next() so far.
    uint64_t packets() const { return packets_; }
    CaptureFormat format() const { return format_; }
    /// Link type of the first interface (LINKTYPE_*), or 0 before any is known.
    uint32_t linktype() const;
    /// Packets the kernel dropped (live captures; 0 otherwise).
    uint64_t dropped() const;
    /// Whether the file is read in place (mapped; see Mapped in capture.cpp): another source
    /// opened on the same file then reads the same packets without copying them either,
    /// from the same mapping (the sources of a process share one while the file is
    /// unchanged; its pages are given back once every one of them has read past them).
    bool in_place() const { return mapped_ != nullptr; }
    /// Bytes of the file read so far (files read in place; 0 otherwise).
    uint64_t offset() const;

  private:
    ReadStatus fail(CaptureError kind, std::string message);
    ReadStatus next_pcap(Packet& packet);
    ReadStatus next_mapped(Packet& packet);
    bool map_pcap(FILE* f, const uint8_t* header);
    bool open_pcap(FILE* f, long offset);
    bool join_fanout(int fd, uint16_t group, const std::string& interface);

    struct PcapHandle;
    struct Mapped;
    std::unique_ptr<PcapHandle> pcap_;
    std::unique_ptr<Mapped> mapped_;
    std::unique_ptr<PcapngReader> pcapng_;
    std::string name_;
    std::string error_;
    CaptureError error_kind_ = CaptureError::None;
    CaptureFormat format_ = CaptureFormat::None;
    uint64_t packets_ = 0;
    uint32_t linktype_ = 0;
    uint32_t ts_scale_ = 1; // live captures without nanosecond support deliver microseconds
    int live_fd_ = -1;      // polled by next() for live captures
    int live_timeout_ms_ = 100;
    bool failed_ = false;
    std::atomic<bool> stop_{false};
};

/// LINKTYPE_* value of a libpcap DLT_* value (they differ for a few historical link types,
/// e.g. DLT_RAW is 12 or 14 while LINKTYPE_RAW is 101).
uint32_t linktype_from_dlt(int dlt);

} // namespace mmt
