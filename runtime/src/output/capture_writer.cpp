// Capture files written from the packets read: pcap or pcapng (see mmt/writer.h).
#include "mmt/writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mmt {

namespace {

constexpr uint32_t kSnapLen = 262144;

void put32(std::vector<uint8_t>& b, uint32_t v) {
    uint8_t x[4];
    std::memcpy(x, &v, 4); // host order: the byte-order magic says which
    b.insert(b.end(), x, x + 4);
}
void put16(std::vector<uint8_t>& b, uint16_t v) {
    uint8_t x[2];
    std::memcpy(x, &v, 2);
    b.insert(b.end(), x, x + 2);
}
void pad4(std::vector<uint8_t>& b) {
    while (b.size() % 4) b.push_back(0);
}
/// A pcapng block: type, total length, body, total length again.
void block(std::vector<uint8_t>& out, uint32_t type, const std::vector<uint8_t>& body) {
    out.clear();
    put32(out, type);
    put32(out, uint32_t(body.size() + 12));
    out.insert(out.end(), body.begin(), body.end());
    put32(out, uint32_t(body.size() + 12));
}

} // namespace

bool parse_capture_format(std::string_view name, CaptureFileFormat& format) {
    if (name == "pcap")
        format = CaptureFileFormat::Pcap;
    else if (name == "pcapng")
        format = CaptureFileFormat::Pcapng;
    else
        return false;
    return true;
}

CaptureWriter::CaptureWriter() = default;

CaptureWriter::~CaptureWriter() {
    if (file_ && file_ != stdout) std::fclose(file_);
}

bool CaptureWriter::open(const std::string& path, CaptureFileFormat format, std::string& error) {
    path_ = path;
    format_ = format;
    file_ = path == "-" ? stdout : std::fopen(path.c_str(), "wb");
    if (!file_) {
        error = fmt::format("cannot write '{}': {}", path, std::strerror(errno));
        return false;
    }
    if (format_ == CaptureFileFormat::Pcapng) {
        // Section header: byte-order magic, version 1.0, section length unknown.
        std::vector<uint8_t> body;
        put32(body, 0x1a2b3c4d);
        put16(body, 1);
        put16(body, 0);
        put32(body, 0xffffffff);
        put32(body, 0xffffffff);
        block(block_, 0x0a0d0d0a, body);
        started_ = true;
        return put(block_.data(), block_.size(), error);
    }
    return true;
}

bool CaptureWriter::put(const void* data, size_t size, std::string& error) {
    if (std::fwrite(data, 1, size, file_) == size) return true;
    error = fmt::format("cannot write '{}': {}", path_, std::strerror(errno));
    return false;
}

bool CaptureWriter::header(uint32_t linktype, std::string& error) {
    std::vector<uint8_t> h;
    put32(h, 0xa1b23c4d); // nanosecond timestamps
    put16(h, 2);
    put16(h, 4);
    put32(h, 0);
    put32(h, 0);
    put32(h, kSnapLen);
    put32(h, linktype);
    started_ = true;
    linktype_ = linktype;
    return put(h.data(), h.size(), error);
}

bool CaptureWriter::write(const RawPacket& p, std::string& error) {
    if (!file_) {
        error = "the capture file is not open";
        return false;
    }
    uint32_t caplen = std::min(p.caplen, kSnapLen);
    uint64_t sec = p.ts_ns / 1000000000ull, nsec = p.ts_ns % 1000000000ull;
    if (format_ == CaptureFileFormat::Pcap) {
        if (!started_ && !header(p.linktype, error)) return false;
        if (p.linktype != linktype_) {
            error = fmt::format("'{}': a packet of link type {} cannot go in a pcap file of link "
                                "type {}; write pcapng",
                                path_, p.linktype, linktype_);
            return false;
        }
        uint32_t rec[4] = {uint32_t(sec), uint32_t(nsec), caplen, std::max(p.wirelen, caplen)};
        return put(rec, sizeof rec, error) && put(p.data, caplen, error);
    }
    auto it = std::find(interfaces_.begin(), interfaces_.end(), p.linktype);
    uint32_t iface = uint32_t(it - interfaces_.begin());
    if (it == interfaces_.end()) {
        // Interface description: link type, snapshot length, if_tsresol = 9 (nanoseconds).
        std::vector<uint8_t> body;
        put16(body, uint16_t(p.linktype));
        put16(body, 0);
        put32(body, kSnapLen);
        put16(body, 9);
        put16(body, 1);
        body.push_back(9);
        pad4(body);
        put16(body, 0);
        put16(body, 0);
        block(block_, 1, body);
        if (!put(block_.data(), block_.size(), error)) return false;
        interfaces_.push_back(p.linktype);
    }
    // Enhanced packet block.
    std::vector<uint8_t> body;
    put32(body, iface);
    put32(body, uint32_t(p.ts_ns >> 32));
    put32(body, uint32_t(p.ts_ns));
    put32(body, caplen);
    put32(body, std::max(p.wirelen, caplen));
    body.insert(body.end(), p.data, p.data + caplen);
    pad4(body);
    block(block_, 6, body);
    return put(block_.data(), block_.size(), error);
}

bool CaptureWriter::close(std::string& error) {
    if (!file_) return true;
    bool ok = format_ != CaptureFileFormat::Pcap || started_ || header(1, error);
    bool flushed = file_ == stdout ? std::fflush(file_) == 0 : std::fclose(file_) == 0;
    file_ = nullptr;
    if (ok && !flushed) {
        error = fmt::format("cannot write '{}': {}", path_, std::strerror(errno));
        ok = false;
    }
    return ok;
}

} // namespace mmt
