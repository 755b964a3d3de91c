// Our own pcapng block reader: per-packet interfaces and link types, any byte order.
#include "input/pcapng_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace mmt {

namespace {

constexpr uint32_t kSectionHeader = 0x0a0d0d0a;
constexpr uint32_t kInterface = 1;
constexpr uint32_t kObsoletePacket = 2;
constexpr uint32_t kSimplePacket = 3;
constexpr uint32_t kEnhancedPacket = 6;
constexpr uint32_t kByteOrderMagic = 0x1a2b3c4d;

constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kOptTsresol = 9;
constexpr uint16_t kOptTsoffset = 14;

__extension__ typedef unsigned __int128 u128;

const char* block_name(uint32_t type) {
    switch (type) {
    case kSectionHeader:
        return "Section Header Block";
    case kInterface:
        return "Interface Description Block";
    case kObsoletePacket:
        return "Packet Block";
    case kSimplePacket:
        return "Simple Packet Block";
    case kEnhancedPacket:
        return "Enhanced Packet Block";
    default:
        return "block";
    }
}

} // namespace

PcapngReader::~PcapngReader() {
    if (file_) std::fclose(file_);
}

void PcapngReader::open(FILE* file, std::string name) {
    file_ = file;
    name_ = std::move(name);
    if (buf_.size() < 4096) buf_.resize(4096);
}

uint32_t PcapngReader::u16(const uint8_t* p) const {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return swap_ ? __builtin_bswap16(v) : v;
}

uint32_t PcapngReader::u32(const uint8_t* p) const {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return swap_ ? __builtin_bswap32(v) : v;
}

ReadStatus PcapngReader::fail(CaptureError kind, std::string message) {
    kind_ = kind;
    error_ = std::move(message);
    return ReadStatus::Error;
}

ReadStatus PcapngReader::truncated(const char* what, size_t need, size_t got) {
    return fail(CaptureError::Truncated,
                fmt::format("truncated capture '{}' after {} packets: last {} (offset {}) needs "
                            "{} bytes, only {} present",
                            name_, packets_, what, offset_, need, got));
}

// Reads one whole block into buf_. False on end of file (kind_ None) or error.
bool PcapngReader::read_block(uint32_t& type, uint32_t& total) {
    uint8_t* b = buf_.data();
    size_t got = std::fread(b, 1, 8, file_);
    if (got < 8) {
        if (std::ferror(file_))
            fail(CaptureError::Io,
                 fmt::format("cannot read '{}': {}", name_, std::strerror(errno)));
        else if (got > 0)
            truncated("block header", 8, got);
        return false;
    }
    if (std::memcmp(b, "\x0a\x0d\x0d\x0a", 4) == 0) {
        // A new section may switch byte order: its magic tells which one.
        size_t g = std::fread(b + 8, 1, 4, file_);
        if (g < 4) {
            truncated(block_name(kSectionHeader), 12, 8 + g);
            return false;
        }
        uint32_t bom;
        std::memcpy(&bom, b + 8, 4);
        if (bom == kByteOrderMagic) {
            swap_ = false;
        } else if (bom == __builtin_bswap32(kByteOrderMagic)) {
            swap_ = true;
        } else {
            fail(CaptureError::Format,
                 fmt::format("'{}': bad byte-order magic 0x{:08x} in the Section Header Block at "
                             "offset {}",
                             name_, bom, offset_));
            return false;
        }
        got = 12;
    }
    type = u32(b);
    total = u32(b + 4);
    if (total < 12 || total % 4 != 0 || total > kMaxBlock) {
        fail(CaptureError::Format, fmt::format("'{}': {} at offset {} has an invalid length {}",
                                               name_, block_name(type), offset_, total));
        return false;
    }
    if (total > buf_.size()) {
        buf_.resize(total);
        b = buf_.data();
    }
    size_t rest = std::fread(b + got, 1, total - got, file_);
    if (rest < total - got) {
        if (std::ferror(file_))
            fail(CaptureError::Io,
                 fmt::format("cannot read '{}': {}", name_, std::strerror(errno)));
        else
            truncated(block_name(type), total, got + rest);
        return false;
    }
    if (u32(b + total - 4) != total) {
        fail(CaptureError::Format,
             fmt::format("'{}': {} at offset {} has length {} but trailer {}", name_,
                         block_name(type), offset_, total, u32(b + total - 4)));
        return false;
    }
    return true;
}

bool PcapngReader::parse_section(uint32_t total) {
    if (total < 28) {
        fail(CaptureError::Format,
             fmt::format("'{}': Section Header Block at offset {} is too short ({} bytes)", name_,
                         offset_, total));
        return false;
    }
    uint32_t major = u16(buf_.data() + 12), minor = u16(buf_.data() + 14);
    if (major != 1) {
        fail(CaptureError::Format,
             fmt::format("'{}': unsupported pcapng version {}.{}", name_, major, minor));
        return false;
    }
    ifaces_.clear();
    in_section_ = true;
    return true;
}

bool PcapngReader::parse_interface() {
    const uint8_t* b = buf_.data();
    uint32_t total = u32(b + 4);
    if (total < 20) {
        fail(CaptureError::Format,
             fmt::format("'{}': Interface Description Block at offset {} is too short", name_,
                         offset_));
        return false;
    }
    Interface itf{u16(b + 8), u32(b + 12), 1000000, 1000, 0};
    // Options: a malformed one ends the list rather than the capture.
    uint32_t pos = 16, end = total - 4;
    while (pos + 4 <= end) {
        uint32_t code = u16(b + pos), len = u16(b + pos + 2);
        if (code == kOptEnd || pos + 4 + len > end) break;
        const uint8_t* v = b + pos + 4;
        if (code == kOptTsresol && len >= 1) {
            uint32_t exp = v[0] & 0x7f;
            bool pow2 = v[0] & 0x80;
            if ((pow2 && exp > 63) || (!pow2 && exp > 19)) {
                fail(CaptureError::Format,
                     fmt::format("'{}': unsupported if_tsresol 0x{:02x} in the interface at "
                                 "offset {}",
                                 name_, v[0], offset_));
                return false;
            }
            uint64_t units = 1;
            for (uint32_t i = 0; i < exp; ++i) units *= pow2 ? 2 : 10;
            itf.units_per_sec = units;
            itf.ns_per_unit =
                (units <= 1000000000u && 1000000000u % units == 0) ? 1000000000u / units : 0;
        } else if (code == kOptTsoffset && len == 8) {
            // A 64-bit value in the section's byte order.
            uint64_t raw;
            std::memcpy(&raw, v, 8);
            itf.offset_sec = static_cast<int64_t>(swap_ ? __builtin_bswap64(raw) : raw);
        }
        pos += 4 + ((len + 3) & ~3u);
    }
    if (!have_first_) {
        first_linktype_ = itf.linktype;
        have_first_ = true;
    }
    ifaces_.push_back(itf);
    return true;
}

void PcapngReader::set_time(Packet& packet, const Interface& iface, uint64_t ts) const {
    uint64_t sec = ts / iface.units_per_sec;
    uint64_t rem = ts % iface.units_per_sec;
    uint64_t nsec =
        iface.ns_per_unit
            ? rem * iface.ns_per_unit
            : static_cast<uint64_t>(static_cast<u128>(rem) * 1000000000u / iface.units_per_sec);
    int64_t s = static_cast<int64_t>(sec) + iface.offset_sec;
    packet.ts_sec = s < 0 ? 0 : static_cast<uint64_t>(s);
    packet.ts_nsec = static_cast<uint32_t>(nsec);
}

ReadStatus PcapngReader::next(Packet& packet) {
    if (kind_ != CaptureError::None) return ReadStatus::Error;
    for (;;) {
        uint32_t type = 0, total = 0;
        if (!read_block(type, total))
            return kind_ == CaptureError::None ? ReadStatus::End : ReadStatus::Error;
        const uint8_t* b = buf_.data();
        uint64_t at = offset_;
        offset_ += total;
        if (type == kSectionHeader) {
            if (!parse_section(total)) return ReadStatus::Error;
            continue;
        }
        if (!in_section_)
            return fail(CaptureError::Format,
                        fmt::format("'{}': {} at offset {} before any Section Header Block", name_,
                                    block_name(type), at));
        switch (type) {
        case kInterface:
            if (!parse_interface()) return ReadStatus::Error;
            continue;
        case kEnhancedPacket:
        case kObsoletePacket: {
            if (total < 32)
                return fail(CaptureError::Format,
                            fmt::format("'{}': {} at offset {} is too short ({} bytes)", name_,
                                        block_name(type), at, total));
            uint32_t iface = type == kEnhancedPacket ? u32(b + 8) : u16(b + 8);
            uint32_t caplen = u32(b + 20);
            if (iface >= ifaces_.size())
                return fail(CaptureError::Format,
                            fmt::format("'{}': {} at offset {} names interface {} but the section "
                                        "defines {}",
                                        name_, block_name(type), at, iface, ifaces_.size()));
            if (caplen > total - 32)
                return fail(CaptureError::Format,
                            fmt::format("'{}': {} at offset {} claims {} captured bytes in a "
                                        "{}-byte block",
                                        name_, block_name(type), at, caplen, total));
            const Interface& itf = ifaces_[iface];
            set_time(packet, itf, (static_cast<uint64_t>(u32(b + 12)) << 32) | u32(b + 16));
            packet.caplen = caplen;
            packet.wirelen = u32(b + 24);
            packet.linktype = itf.linktype;
            packet.ifindex = iface;
            packet.data = b + 28;
            ++packets_;
            return ReadStatus::Ok;
        }
        case kSimplePacket: {
            if (total < 16)
                return fail(
                    CaptureError::Format,
                    fmt::format("'{}': Simple Packet Block at offset {} is too short", name_, at));
            if (ifaces_.empty())
                return fail(CaptureError::Format,
                            fmt::format("'{}': Simple Packet Block at offset {} before any "
                                        "interface",
                                        name_, at));
            const Interface& itf = ifaces_[0];
            uint32_t wire = u32(b + 8);
            uint32_t caplen = std::min(wire, total - 16);
            if (itf.snaplen != 0) caplen = std::min(caplen, itf.snaplen);
            packet.ts_sec = 0;
            packet.ts_nsec = 0;
            packet.caplen = caplen;
            packet.wirelen = wire;
            packet.linktype = itf.linktype;
            packet.ifindex = 0;
            packet.data = b + 12;
            ++packets_;
            return ReadStatus::Ok;
        }
        default:
            continue; // statistics, name resolution, secrets, custom blocks ...
        }
    }
}

} // namespace mmt
