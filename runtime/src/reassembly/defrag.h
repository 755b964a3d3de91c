// Generic fragment reassembly (IPv4 and IPv6 alike): keyed by caller bytes, bounded, timed out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "reassembly/budget.h"

namespace mmt {

/// Why a datagram in progress was given up.
enum class DefragDrop : uint8_t {
    Timeout,          ///< not complete within the timeout (from its first fragment)
    TooLarge,         ///< a fragment ends beyond max_datagram bytes
    Budget,           ///< over max_bytes, or the shared byte budget ran out
    TooManyFragments, ///< more separate pieces than max_pieces
    TableFull,        ///< the oldest datagram made room for a new one
    EndOfInput        ///< still incomplete when flush() ran
};

/// Name of a DefragDrop value ("timeout", "too-large" ...).
const char* to_string(DefragDrop why);

/// Outcome of Defragmenter::add().
enum class FragStatus : uint8_t {
    Incomplete, ///< held; the datagram is not whole yet
    Complete,   ///< FragResult::data holds the whole datagram
    Dropped     ///< this fragment (and its datagram, if any) was given up
};

/// Result of Defragmenter::add().
struct FragResult {
    FragStatus status = FragStatus::Incomplete;
    const uint8_t* data = nullptr; ///< Complete: the reassembled payload, valid until the next
                                   ///< call to add(), expire() or flush()
    uint32_t len = 0;              ///< Complete: its length
    uint32_t overlap = 0;          ///< bytes of this fragment ignored (already received, or
                                   ///< beyond the datagram's end)
    uint32_t fragments = 0;        ///< Complete: fragments that made it
};

/// Bounds, fixed at creation.
struct DefragConfig {
    uint32_t max_datagrams = 1024; ///< in progress at once; more evict the oldest
    uint32_t max_datagram = 65535; ///< largest reassembled payload (IPv4); IPv6 jumbo: raise it
    uint32_t max_pieces = 64;      ///< separate received pieces (holes + 1) per datagram
    uint32_t timeout_ms = 30000;   ///< from the first fragment, in packet time
    uint32_t max_key = 320;        ///< longest key; longer keys are refused
    /// Bytes the buffers of datagrams in progress hold together (within the shared budget);
    /// the oldest datagrams are given up (Budget) to make room for a growing one.
    uint64_t max_bytes = 16u << 20;
};

/// Counters for reports and tests.
struct DefragStats {
    uint64_t fragments = 0;
    uint64_t completed = 0;
    uint64_t overlapping = 0; ///< fragments that overlapped bytes already received
    uint64_t overlap_bytes = 0;
    uint64_t conflicts = 0;   ///< last fragments that disagree on the datagram's length
    uint64_t dropped[6] = {}; ///< per DefragDrop
    uint64_t refused = 0;     ///< fragments refused without a datagram (key too long, too large)
    uint64_t bytes = 0;       ///< bytes the datagrams' buffers hold now (at most max_bytes)
    uint64_t peak_bytes = 0;  ///< the most they held at once
    uint64_t packet_peak_bytes = 0; ///< the most they held since Defragmenter::begin_packet
};

/// Told about every datagram given up, before its memory is reused.
using DefragDropFn = void (*)(void* ctx, std::span<const uint8_t> key, uint32_t bytes_held,
                              uint32_t fragments, DefragDrop why);

/// Reassembles fragmented datagrams. The key is opaque bytes chosen by the caller; the
/// journey passes the session-key parts gathered so far (so source and destination are
/// always in it), the protocol id and the fragment id.
///
/// Fragments may come in any order. A datagram is complete when its last fragment (more = 0)
/// has arrived and no hole is left. Overlaps: the first arrival wins, byte by byte, and
/// the length is set by the first last-fragment; later bytes that disagree are ignored and
/// counted. Memory: the table of datagrams in progress is allocated at creation; payload
/// buffers are charged to the shared budget. Timeouts run in packet time, from the first
/// fragment, and cost only what expires (one list in arrival order).
class Defragmenter {
  public:
    Defragmenter(const DefragConfig& config, ByteBudget& budget);
    ~Defragmenter();
    Defragmenter(const Defragmenter&) = delete;
    Defragmenter& operator=(const Defragmenter&) = delete;

    /// Sets the callback for datagrams given up.
    void on_drop(DefragDropFn fn, void* ctx) {
        drop_fn_ = fn;
        drop_ctx_ = ctx;
    }

    /// Adds one fragment: `offset` in bytes from the start of the datagram's payload, `more`
    /// the more-fragments flag. A lone unfragmented piece (offset 0, more 0, nothing in
    /// progress for the key) is returned as Complete without copying.
    FragResult add(std::span<const uint8_t> key, uint32_t offset, bool more, const uint8_t* data,
                   uint32_t len, uint64_t now_ns);
    /// Gives up datagrams whose first fragment is at least timeout old; returns how many.
    size_t expire(uint64_t now_ns);
    /// Gives up every datagram in progress (EndOfInput); returns how many.
    size_t flush();

    size_t in_progress() const { return size_; }
    const DefragStats& stats() const { return stats_; }
    /// A packet starts: stats().packet_peak_bytes counts from the bytes held now.
    void begin_packet() { stats_.packet_peak_bytes = stats_.bytes; }

  private:
    struct Range {
        uint32_t b, e;
    };
    struct Datagram {
        uint64_t hash;
        uint64_t first_ns;
        uint32_t prev, next; // arrival order list (or free list via next)
        uint32_t key_len;
        uint32_t total; // payload length, once the last fragment came
        uint32_t cap;   // bytes at buf
        uint32_t fragments;
        bool has_total;
        uint8_t* buf;
        std::vector<Range> ranges; // sorted, disjoint, never touching
    };
    struct Bucket {
        uint32_t entry; // datagram index + 1; 0: empty
        uint32_t tag;
    };
    static constexpr uint32_t kNil = 0xffffffffu;

    size_t home(uint64_t h) const { return static_cast<size_t>(h >> 32) & mask_; }
    const uint8_t* key_of(uint32_t i) const { return keys_.get() + size_t{i} * config_.max_key; }
    uint32_t find(const uint8_t* key, uint32_t len, uint64_t h, size_t& pos) const;
    void drop(uint32_t i, DefragDrop why);
    void remove(uint32_t i);
    void free_completed();
    bool make_room(uint32_t i, uint32_t grow);

    DefragConfig config_;
    ByteBudget& budget_;
    std::unique_ptr<Datagram[]> slots_;
    std::unique_ptr<uint8_t[]> keys_;
    std::unique_ptr<Bucket[]> buckets_;
    size_t mask_ = 0, size_ = 0;
    uint32_t free_head_ = kNil, head_ = kNil, tail_ = kNil;
    uint8_t* completed_ = nullptr; // last datagram returned as Complete
    uint32_t completed_cap_ = 0;
    DefragDropFn drop_fn_ = nullptr;
    void* drop_ctx_ = nullptr;
    DefragStats stats_;
};

} // namespace mmt
