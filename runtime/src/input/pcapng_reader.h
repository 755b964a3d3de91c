// Our own pcapng block reader: per-packet interfaces and link types, any byte order.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "input/capture.h"

namespace mmt {

/// Reads a pcapng file block by block: Section Header (both byte orders, several sections),
/// Interface Description (with if_tsresol and if_tsoffset), Enhanced, Simple and obsolete
/// Packet blocks. Other blocks are skipped. One buffer holds the current block and is reused;
/// it grows only when a block is larger than every earlier one.
class PcapngReader {
  public:
    PcapngReader() = default;
    ~PcapngReader();
    PcapngReader(const PcapngReader&) = delete;
    PcapngReader& operator=(const PcapngReader&) = delete;

    /// Takes ownership of `file`, positioned at the start of the first Section Header Block.
    void open(FILE* file, std::string name);
    /// Reads the next packet. On Error, kind() and error() describe it.
    ReadStatus next(Packet& packet);

    const std::string& error() const { return error_; }
    CaptureError kind() const { return kind_; }
    /// Link type of the first interface of the first section (0 before it is read).
    uint32_t first_linktype() const { return first_linktype_; }

    /// Blocks larger than this are treated as damage, not as a reason to allocate.
    static constexpr uint32_t kMaxBlock = 64u << 20;

  private:
    struct Interface {
        uint32_t linktype;
        uint32_t snaplen;
        uint64_t units_per_sec; // timestamp ticks per second (if_tsresol)
        uint64_t ns_per_unit;   // 1e9 / units when exact, else 0
        int64_t offset_sec;     // if_tsoffset
    };

    ReadStatus fail(CaptureError kind, std::string message);
    ReadStatus truncated(const char* what, size_t need, size_t got);
    bool read_block(uint32_t& type, uint32_t& total);
    bool parse_section(uint32_t total);
    bool parse_interface();
    uint32_t u16(const uint8_t* p) const;
    uint32_t u32(const uint8_t* p) const;
    void set_time(Packet& packet, const Interface& iface, uint64_t ts) const;

    FILE* file_ = nullptr;
    std::string name_;
    std::vector<uint8_t> buf_; // current block, header and trailer included
    std::vector<Interface> ifaces_;
    std::string error_;
    CaptureError kind_ = CaptureError::None;
    uint64_t packets_ = 0;
    uint64_t offset_ = 0; // file offset of the current block
    uint32_t first_linktype_ = 0;
    bool swap_ = false; // the section's byte order differs from the host's
    bool in_section_ = false;
    bool have_first_ = false;
};

} // namespace mmt
