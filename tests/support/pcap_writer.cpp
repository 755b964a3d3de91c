// Test fixture: writes classic pcap and pcapng captures to a byte vector or a file.
#include "pcap_writer.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <unistd.h>

namespace mmt::test {

namespace {

__extension__ typedef unsigned __int128 u128;

void put_be_or_le(Bytes& b, uint64_t v, int n, bool big) {
    for (int i = 0; i < n; ++i) {
        int shift = big ? 8 * (n - 1 - i) : 8 * i;
        b.push_back(static_cast<uint8_t>(v >> shift));
    }
}

} // namespace

bool write_file(const std::string& path, const Bytes& data) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    bool ok = data.empty() || std::fwrite(data.data(), 1, data.size(), f) == data.size();
    return std::fclose(f) == 0 && ok;
}

// ---- classic pcap ----

PcapWriter& PcapWriter::packet(uint64_t sec, uint32_t nsec, const Bytes& data,
                               std::optional<uint32_t> wirelen) {
    Record r{sec, nsec, wirelen.value_or(static_cast<uint32_t>(data.size())), data};
    if (snaplen_ != 0 && r.data.size() > snaplen_) r.data.resize(snaplen_);
    records_.push_back(std::move(r));
    return *this;
}

Bytes PcapWriter::bytes() const {
    Bytes out;
    put_be_or_le(out, nano_ ? 0xa1b23c4d : 0xa1b2c3d4, 4, big_);
    put_be_or_le(out, major_, 2, big_);
    put_be_or_le(out, minor_, 2, big_);
    put_be_or_le(out, 0, 4, big_); // thiszone
    put_be_or_le(out, 0, 4, big_); // sigfigs
    put_be_or_le(out, snaplen_, 4, big_);
    put_be_or_le(out, linktype_, 4, big_);
    size_t last_start = out.size();
    for (const Record& r : records_) {
        last_start = out.size();
        put_be_or_le(out, static_cast<uint32_t>(r.sec), 4, big_);
        put_be_or_le(out, nano_ ? r.nsec : r.nsec / 1000, 4, big_);
        put_be_or_le(out, r.data.size(), 4, big_);
        put_be_or_le(out, r.wirelen, 4, big_);
        out.insert(out.end(), r.data.begin(), r.data.end());
    }
    if (truncate_keep_ && !records_.empty())
        out.resize(std::min(out.size(), last_start + *truncate_keep_));
    out.insert(out.end(), trailing_.begin(), trailing_.end());
    return out;
}

bool PcapWriter::write(const std::string& path) const {
    return write_file(path, bytes());
}

// ---- pcapng ----

void PcapngWriter::put16(Bytes& b, uint16_t v) const {
    put_be_or_le(b, v, 2, big_);
}
void PcapngWriter::put32(Bytes& b, uint32_t v) const {
    put_be_or_le(b, v, 4, big_);
}
void PcapngWriter::put64(Bytes& b, uint64_t v) const {
    put_be_or_le(b, v, 8, big_);
}

void PcapngWriter::block(uint32_t type, const Bytes& body) {
    size_t padded = (body.size() + 3) & ~size_t{3};
    uint32_t total = static_cast<uint32_t>(12 + padded);
    size_t start = out_.size();
    put32(out_, type);
    put32(out_, total);
    out_.insert(out_.end(), body.begin(), body.end());
    out_.resize(out_.size() + (padded - body.size()), 0);
    put32(out_, total);
    blocks_.emplace_back(start, out_.size() - start);
}

PcapngWriter& PcapngWriter::big_endian(bool on) {
    if (!out_.empty()) throw std::logic_error("PcapngWriter::big_endian() after blocks were added");
    big_ = on;
    return *this;
}

void PcapngWriter::ensure_section() {
    if (!have_section_) section();
}

PcapngWriter& PcapngWriter::section() {
    Bytes body;
    put32(body, 0x1a2b3c4d);
    put16(body, 1);
    put16(body, 0);
    put64(body, ~uint64_t{0}); // section length unknown
    block(0x0a0d0d0a, body);
    have_section_ = true;
    ifaces_.clear();
    return *this;
}

uint32_t PcapngWriter::interface(uint16_t linktype, uint32_t snaplen,
                                 std::optional<uint8_t> tsresol, int64_t tsoffset) {
    ensure_section();
    Bytes body;
    put16(body, linktype);
    put16(body, 0);
    put32(body, snaplen);
    uint64_t units = 1000000;
    if (tsresol) {
        put16(body, 9);
        put16(body, 1);
        body.push_back(*tsresol);
        body.resize(body.size() + 3, 0);
        uint8_t v = *tsresol & 0x7f;
        units = 1;
        for (uint8_t i = 0; i < v; ++i) units *= (*tsresol & 0x80) ? 2 : 10;
    }
    if (tsoffset != 0) {
        put16(body, 14);
        put16(body, 8);
        put64(body, static_cast<uint64_t>(tsoffset));
    }
    if (tsresol || tsoffset != 0) {
        put16(body, 0); // opt_endofopt
        put16(body, 0);
    }
    block(1, body);
    ifaces_.push_back({linktype, units});
    return static_cast<uint32_t>(ifaces_.size() - 1);
}

uint64_t PcapngWriter::to_units(uint32_t iface, uint64_t sec, uint32_t nsec) const {
    uint64_t units = iface < ifaces_.size() ? ifaces_[iface].units_per_sec : 1000000;
    return static_cast<uint64_t>(static_cast<u128>(sec) * units +
                                 static_cast<u128>(nsec) * units / 1000000000u);
}

PcapngWriter& PcapngWriter::packet(uint32_t iface, uint64_t sec, uint32_t nsec, const Bytes& data,
                                   std::optional<uint32_t> wirelen) {
    return packet_raw(iface, to_units(iface, sec, nsec), data, wirelen);
}

PcapngWriter& PcapngWriter::packet_raw(uint32_t iface, uint64_t units, const Bytes& data,
                                       std::optional<uint32_t> wirelen) {
    ensure_section();
    Bytes body;
    put32(body, iface);
    put32(body, static_cast<uint32_t>(units >> 32));
    put32(body, static_cast<uint32_t>(units));
    put32(body, static_cast<uint32_t>(data.size()));
    put32(body, wirelen.value_or(static_cast<uint32_t>(data.size())));
    body.insert(body.end(), data.begin(), data.end());
    block(6, body);
    return *this;
}

PcapngWriter& PcapngWriter::simple_packet(const Bytes& data, std::optional<uint32_t> wirelen) {
    ensure_section();
    Bytes body;
    put32(body, wirelen.value_or(static_cast<uint32_t>(data.size())));
    body.insert(body.end(), data.begin(), data.end());
    block(3, body);
    return *this;
}

PcapngWriter& PcapngWriter::obsolete_packet(uint32_t iface, uint64_t sec, uint32_t nsec,
                                            const Bytes& data) {
    ensure_section();
    uint64_t units = to_units(iface, sec, nsec);
    Bytes body;
    put16(body, static_cast<uint16_t>(iface));
    put16(body, 0); // drops count
    put32(body, static_cast<uint32_t>(units >> 32));
    put32(body, static_cast<uint32_t>(units));
    put32(body, static_cast<uint32_t>(data.size()));
    put32(body, static_cast<uint32_t>(data.size()));
    body.insert(body.end(), data.begin(), data.end());
    block(2, body);
    return *this;
}

PcapngWriter& PcapngWriter::unknown_block(uint32_t type, uint32_t body_len) {
    ensure_section();
    block(type, Bytes(body_len, 0));
    return *this;
}

Bytes PcapngWriter::bytes() const {
    Bytes out = out_;
    if (truncate_keep_ && !blocks_.empty()) {
        auto [start, size] = blocks_.back();
        out.resize(start + std::min(size, *truncate_keep_));
    }
    return out;
}

bool PcapngWriter::write(const std::string& path) const {
    return write_file(path, bytes());
}

// ---- temporary files ----

TempFile::TempFile(const std::string& suffix) {
    const char* dir = std::getenv("TMPDIR");
    std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/mmt-test-XXXXXX" + suffix;
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    int fd = mkstemps(buf.data(), static_cast<int>(suffix.size()));
    if (fd < 0) throw std::runtime_error("cannot create a temporary file from " + tmpl);
    ::close(fd);
    path_ = buf.data();
}

TempFile::~TempFile() {
    std::remove(path_.c_str());
}

} // namespace mmt::test
