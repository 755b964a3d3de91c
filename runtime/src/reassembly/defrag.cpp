// Generic fragment reassembly (IPv4 and IPv6 alike): keyed by caller bytes, bounded, timed out.
#include "reassembly/defrag.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "util/hash.h"

namespace mmt {

const char* to_string(DefragDrop why) {
    switch (why) {
    case DefragDrop::Timeout:
        return "timeout";
    case DefragDrop::TooLarge:
        return "too-large";
    case DefragDrop::Budget:
        return "budget";
    case DefragDrop::TooManyFragments:
        return "too-many-fragments";
    case DefragDrop::TableFull:
        return "table-full";
    case DefragDrop::EndOfInput:
        return "end-of-input";
    }
    return "?";
}

Defragmenter::Defragmenter(const DefragConfig& config, ByteBudget& budget)
    : config_(config), budget_(budget) {
    config_.max_datagrams = std::max<uint32_t>(1, config_.max_datagrams);
    config_.max_pieces = std::max<uint32_t>(1, config_.max_pieces);
    config_.max_key = std::max<uint32_t>(1, config_.max_key);
    const uint32_t n = config_.max_datagrams;
    slots_ = std::make_unique<Datagram[]>(n);
    for (uint32_t i = 0; i < n; ++i) slots_[i].next = i + 1 < n ? i + 1 : kNil;
    free_head_ = 0;
    keys_ = std::make_unique_for_overwrite<uint8_t[]>(size_t{n} * config_.max_key);
    size_t nb = 16;
    while (nb < 2 * size_t{n}) nb <<= 1;
    buckets_ = std::make_unique<Bucket[]>(nb);
    mask_ = nb - 1;
}

Defragmenter::~Defragmenter() {
    for (uint32_t i = 0; i < config_.max_datagrams; ++i) {
        if (slots_[i].buf) budget_.release(slots_[i].cap);
        stats_.bytes -= slots_[i].cap;
        std::free(slots_[i].buf);
    }
    free_completed();
}

void Defragmenter::free_completed() {
    if (!completed_) return;
    budget_.release(completed_cap_);
    stats_.bytes -= completed_cap_;
    std::free(completed_);
    completed_ = nullptr;
    completed_cap_ = 0;
}

uint32_t Defragmenter::find(const uint8_t* key, uint32_t len, uint64_t h, size_t& pos) const {
    const uint32_t tag = static_cast<uint32_t>(h);
    for (size_t i = home(h);; i = (i + 1) & mask_) {
        const Bucket& b = buckets_[i];
        if (b.entry == 0) {
            pos = i;
            return kNil;
        }
        const uint32_t d = b.entry - 1;
        if (b.tag == tag && slots_[d].key_len == len && std::memcmp(key_of(d), key, len) == 0) {
            pos = i;
            return d;
        }
    }
}

// Unlinks and frees datagram i (backward-shift deletion in the index, as in the flow table).
void Defragmenter::remove(uint32_t i) {
    Datagram& d = slots_[i];
    size_t hole = home(d.hash);
    while (buckets_[hole].entry != i + 1) hole = (hole + 1) & mask_;
    for (size_t j = (hole + 1) & mask_; buckets_[j].entry != 0; j = (j + 1) & mask_) {
        size_t k = home(slots_[buckets_[j].entry - 1].hash);
        bool stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
        if (!stays) {
            buckets_[hole] = buckets_[j];
            hole = j;
        }
    }
    buckets_[hole] = {0, 0};
    if (d.prev != kNil)
        slots_[d.prev].next = d.next;
    else
        head_ = d.next;
    if (d.next != kNil)
        slots_[d.next].prev = d.prev;
    else
        tail_ = d.prev;
    if (d.buf) {
        budget_.release(d.cap);
        stats_.bytes -= d.cap;
        std::free(d.buf);
    }
    d.buf = nullptr;
    d.cap = 0;
    d.ranges.clear(); // keeps its capacity for the next datagram in this slot
    d.next = free_head_;
    free_head_ = i;
    --size_;
}

void Defragmenter::drop(uint32_t i, DefragDrop why) {
    Datagram& d = slots_[i];
    if (drop_fn_) {
        uint32_t held = 0;
        for (const Range& r : d.ranges) held += r.e - r.b;
        drop_fn_(drop_ctx_, {key_of(i), d.key_len}, held, d.fragments, why);
    }
    ++stats_.dropped[static_cast<size_t>(why)];
    remove(i);
}

// Gives up the oldest datagrams other than i until i may grow by `grow` bytes within
// max_bytes; false when even alone it may not.
bool Defragmenter::make_room(uint32_t i, uint32_t grow) {
    while (stats_.bytes + grow > config_.max_bytes) {
        uint32_t oldest = head_ == i ? slots_[i].next : head_;
        if (oldest == kNil) return false;
        drop(oldest, DefragDrop::Budget);
    }
    return true;
}

FragResult Defragmenter::add(std::span<const uint8_t> key, uint32_t offset, bool more,
                             const uint8_t* data, uint32_t len, uint64_t now_ns) {
    free_completed();
    ++stats_.fragments;
    FragResult r;
    const uint32_t klen = static_cast<uint32_t>(key.size());
    if (klen > config_.max_key) {
        ++stats_.refused;
        r.status = FragStatus::Dropped;
        return r;
    }
    const uint64_t h = hash_bytes(key.data(), klen, 0x6672616775ull);
    size_t pos;
    uint32_t i = find(key.data(), klen, h, pos);
    const uint64_t end64 = uint64_t{offset} + len;
    if (end64 > config_.max_datagram) {
        if (i != kNil)
            drop(i, DefragDrop::TooLarge);
        else
            ++stats_.dropped[static_cast<size_t>(DefragDrop::TooLarge)]; // it starts none
        ++stats_.refused;
        r.status = FragStatus::Dropped;
        return r;
    }
    const uint32_t end = static_cast<uint32_t>(end64);
    if (i == kNil) {
        if (offset == 0 && !more) { // not fragmented after all
            ++stats_.completed;
            r.status = FragStatus::Complete;
            r.data = data;
            r.len = len;
            r.fragments = 1;
            return r;
        }
        if (size_ == config_.max_datagrams) {
            drop(head_, DefragDrop::TableFull);
            find(key.data(), klen, h, pos); // deletion shifted buckets: find the free one again
        }
        i = free_head_;
        Datagram& d = slots_[i];
        free_head_ = d.next;
        d.hash = h;
        d.first_ns = now_ns;
        d.key_len = klen;
        d.total = 0;
        d.has_total = false;
        d.fragments = 0;
        std::memcpy(keys_.get() + size_t{i} * config_.max_key, key.data(), klen);
        d.prev = tail_;
        d.next = kNil;
        if (tail_ != kNil)
            slots_[tail_].next = i;
        else
            head_ = i;
        tail_ = i;
        buckets_[pos] = {i + 1, static_cast<uint32_t>(h)};
        ++size_;
    }
    Datagram& d = slots_[i];
    ++d.fragments;

    // The first last-fragment fixes the length; bytes beyond it never count.
    uint32_t b = offset, e = end;
    if (!more) {
        if (!d.has_total) {
            d.has_total = true;
            d.total = end;
            if (!d.ranges.empty() && d.ranges.back().e > end) {
                ++stats_.conflicts; // earlier bytes lie beyond the end: trim them
                while (!d.ranges.empty() && d.ranges.back().b >= end) d.ranges.pop_back();
                if (!d.ranges.empty()) d.ranges.back().e = std::min(d.ranges.back().e, end);
            }
        } else if (d.total != end) {
            ++stats_.conflicts;
        }
    }
    if (d.has_total) e = std::min(e, d.total);
    if (b > e) b = e;
    uint32_t ignored = len - (e - b); // beyond the end

    // Which received pieces overlap or touch [b, e)?
    auto& rs = d.ranges;
    size_t i0 = 0;
    while (i0 < rs.size() && rs[i0].e < b) ++i0;
    size_t i1 = i0;
    while (i1 < rs.size() && rs[i1].b <= e) ++i1;
    uint32_t covered = 0;
    for (size_t k = i0; k < i1; ++k) {
        uint32_t lo = std::max(rs[k].b, b), hi = std::min(rs[k].e, e);
        if (hi > lo) covered += hi - lo;
    }
    if (covered < e - b) {
        if (rs.size() - (i1 - i0) + 1 > config_.max_pieces) {
            drop(i, DefragDrop::TooManyFragments);
            r.status = FragStatus::Dropped;
            return r;
        }
        if (e > d.cap) {
            // Grow geometrically; the final size is known once the last fragment came.
            uint32_t cap = d.has_total ? d.total : std::max<uint32_t>({e, d.cap * 2, 1024});
            cap = std::min(std::max(cap, e), config_.max_datagram);
            uint8_t* nb = nullptr;
            if (make_room(i, cap - d.cap) && budget_.reserve(cap - d.cap)) {
                nb = static_cast<uint8_t*>(std::realloc(d.buf, cap));
                if (!nb) budget_.release(cap - d.cap);
            }
            if (!nb) {
                drop(i, DefragDrop::Budget);
                r.status = FragStatus::Dropped;
                return r;
            }
            stats_.bytes += cap - d.cap;
            stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.bytes);
            stats_.packet_peak_bytes = std::max(stats_.packet_peak_bytes, stats_.bytes);
            d.buf = nb;
            d.cap = cap;
        }
        // Copy the holes only: bytes received first win.
        uint32_t p = b;
        for (size_t k = i0; k < i1; ++k) {
            if (rs[k].b > p) std::memcpy(d.buf + p, data + (p - offset), rs[k].b - p);
            p = std::max(p, rs[k].e);
        }
        if (p < e) std::memcpy(d.buf + p, data + (p - offset), e - p);
        Range merged{b, e};
        if (i1 > i0) {
            merged.b = std::min(b, rs[i0].b);
            merged.e = std::max(e, rs[i1 - 1].e);
            rs.erase(rs.begin() + static_cast<std::ptrdiff_t>(i0) + 1,
                     rs.begin() + static_cast<std::ptrdiff_t>(i1));
            rs[i0] = merged;
        } else {
            rs.insert(rs.begin() + static_cast<std::ptrdiff_t>(i0), merged);
        }
    }
    r.overlap = covered + ignored;
    if (covered) {
        ++stats_.overlapping;
        stats_.overlap_bytes += covered;
    }

    if (d.has_total && rs.size() == 1 && rs[0].b == 0 && rs[0].e == d.total) {
        // Whole: hand the buffer over; it lives until the next call.
        completed_ = d.buf;
        completed_cap_ = d.cap;
        d.buf = nullptr;
        d.cap = 0;
        r.status = FragStatus::Complete;
        r.data = completed_;
        r.len = d.total;
        r.fragments = d.fragments;
        ++stats_.completed;
        remove(i);
        return r;
    }
    if (d.has_total && d.total == 0) { // an empty datagram: nothing to wait for
        r.status = FragStatus::Complete;
        r.data = data;
        r.len = 0;
        r.fragments = d.fragments;
        ++stats_.completed;
        remove(i);
        return r;
    }
    r.status = FragStatus::Incomplete;
    return r;
}

size_t Defragmenter::expire(uint64_t now_ns) {
    free_completed();
    const uint64_t t = uint64_t{config_.timeout_ms} * 1000000u;
    size_t n = 0;
    while (head_ != kNil) {
        const uint64_t first = slots_[head_].first_ns;
        if (now_ns < first || now_ns - first < t) break;
        drop(head_, DefragDrop::Timeout);
        ++n;
    }
    return n;
}

size_t Defragmenter::flush() {
    free_completed();
    size_t n = 0;
    while (head_ != kNil) {
        drop(head_, DefragDrop::EndOfInput);
        ++n;
    }
    return n;
}

} // namespace mmt
