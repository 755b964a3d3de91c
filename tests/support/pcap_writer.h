// Test fixture: writes classic pcap and pcapng captures to a byte vector or a file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mmt::test {

using Bytes = std::vector<uint8_t>;

/// Classic pcap (libpcap format). Usage:
///   PcapWriter w;                       // Ethernet, microseconds, little endian
///   w.nanoseconds().linktype(113);      // options, before or after packets
///   w.packet(sec, nsec, frame);         // nsec is always nanoseconds
///   w.truncate_last(10);                // cut the last record to 10 bytes (header included)
///   w.write("x.pcap") / w.bytes();
class PcapWriter {
  public:
    /// Link type written in the file header (LINKTYPE_*; default 1 Ethernet).
    PcapWriter& linktype(uint32_t lt) {
        linktype_ = lt;
        return *this;
    }
    /// Nanosecond timestamps (magic a1b23c4d) instead of microseconds.
    PcapWriter& nanoseconds(bool on = true) {
        nano_ = on;
        return *this;
    }
    /// Big-endian file (header and record headers).
    PcapWriter& big_endian(bool on = true) {
        big_ = on;
        return *this;
    }
    /// Snapshot length in the header; 0 keeps every packet whole.
    PcapWriter& snaplen(uint32_t s) {
        snaplen_ = s;
        return *this;
    }
    /// Version numbers in the header (default 2.4).
    PcapWriter& version(uint16_t major, uint16_t minor) {
        major_ = major;
        minor_ = minor;
        return *this;
    }

    /// Adds a record; the captured bytes are `data` cut to the snaplen (if nonzero);
    /// `wirelen` defaults to the full data size.
    PcapWriter& packet(uint64_t sec, uint32_t nsec, const Bytes& data,
                       std::optional<uint32_t> wirelen = std::nullopt);
    /// Keeps only the first `keep` bytes of the last record (16-byte record header included),
    /// as if the file had been cut while it was written.
    PcapWriter& truncate_last(size_t keep) {
        truncate_keep_ = keep;
        return *this;
    }
    /// Appends raw bytes after the last record (to make damaged files).
    PcapWriter& trailing(const Bytes& junk) {
        trailing_ = junk;
        return *this;
    }

    /// The whole file.
    Bytes bytes() const;
    /// Writes the file; false on I/O error.
    bool write(const std::string& path) const;
    /// Number of records added.
    size_t size() const { return records_.size(); }

  private:
    struct Record {
        uint64_t sec;
        uint32_t nsec;
        uint32_t wirelen;
        Bytes data;
    };
    uint32_t linktype_ = 1;
    bool nano_ = false;
    bool big_ = false;
    uint32_t snaplen_ = 262144;
    uint16_t major_ = 2, minor_ = 4;
    std::optional<size_t> truncate_keep_;
    Bytes trailing_;
    std::vector<Record> records_;
};

/// pcapng: one section header, interface description blocks and packets. Usage:
///   PcapngWriter w;
///   auto eth = w.interface(1);                  // LINKTYPE 1, default microseconds
///   auto sll = w.interface(113, 0, 9);          // if_tsresol 9: nanoseconds
///   w.packet(eth, sec, nsec, frame);            // Enhanced Packet Block
///   w.simple_packet(frame); w.obsolete_packet(sll, sec, nsec, frame);
///   w.unknown_block(0x0bad); w.section();       // exercise the reader
/// Blocks are written in the order they are added.
class PcapngWriter {
  public:
    /// Writes the whole file big-endian. Call before adding anything (blocks are serialised
    /// as they are added); throws std::logic_error otherwise.
    PcapngWriter& big_endian(bool on = true);

    /// Adds an Interface Description Block; returns its index in the current section.
    /// `tsresol`: the if_tsresol option byte (absent: microseconds); bit 7 set means a
    /// power of two. `tsoffset`: the if_tsoffset option in seconds (absent if 0).
    uint32_t interface(uint16_t linktype, uint32_t snaplen = 0,
                       std::optional<uint8_t> tsresol = std::nullopt, int64_t tsoffset = 0);
    /// Enhanced Packet Block. The timestamp is converted to the interface's resolution.
    PcapngWriter& packet(uint32_t iface, uint64_t sec, uint32_t nsec, const Bytes& data,
                         std::optional<uint32_t> wirelen = std::nullopt);
    /// Enhanced Packet Block with the raw 64-bit timestamp in interface units.
    PcapngWriter& packet_raw(uint32_t iface, uint64_t units, const Bytes& data,
                             std::optional<uint32_t> wirelen = std::nullopt);
    /// Simple Packet Block (interface 0, no timestamp); wirelen defaults to data size.
    PcapngWriter& simple_packet(const Bytes& data, std::optional<uint32_t> wirelen = std::nullopt);
    /// Obsolete Packet Block (type 2).
    PcapngWriter& obsolete_packet(uint32_t iface, uint64_t sec, uint32_t nsec, const Bytes& data);
    /// A block of a type readers do not know, with `body_len` zero bytes.
    PcapngWriter& unknown_block(uint32_t type, uint32_t body_len = 8);
    /// Starts a new section (a new SHB); interfaces restart at index 0.
    PcapngWriter& section();
    /// Keeps only the first `keep` bytes of the last block.
    PcapngWriter& truncate_last(size_t keep) {
        truncate_keep_ = keep;
        return *this;
    }

    /// The whole file.
    Bytes bytes() const;
    /// Writes the file; false on I/O error.
    bool write(const std::string& path) const;

  private:
    struct Iface {
        uint16_t linktype;
        uint64_t units_per_sec;
    };
    void ensure_section();
    void block(uint32_t type, const Bytes& body);
    void put16(Bytes& b, uint16_t v) const;
    void put32(Bytes& b, uint32_t v) const;
    void put64(Bytes& b, uint64_t v) const;
    uint64_t to_units(uint32_t iface, uint64_t sec, uint32_t nsec) const;

    bool big_ = false;
    bool have_section_ = false;
    std::vector<Iface> ifaces_;
    std::vector<std::pair<size_t, size_t>> blocks_; // (offset, size) of every block in out_
    std::optional<size_t> truncate_keep_;
    Bytes out_;
};

/// A unique path under the system temporary directory, removed when the object dies.
class TempFile {
  public:
    explicit TempFile(const std::string& suffix = ".pcap");
    ~TempFile();
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

/// Writes `data` to `path`; false on I/O error.
bool write_file(const std::string& path, const Bytes& data);

} // namespace mmt::test
