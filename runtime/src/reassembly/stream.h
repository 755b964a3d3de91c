// Generic TCP-like stream reassembly per direction, and PDU framing over the byte stream.
#pragma once

#include <cstddef>
#include <cstdint>

#include "reassembly/budget.h"

namespace mmt {

// ---------------------------------------------------------------------------------------
// Stream reassembly
// ---------------------------------------------------------------------------------------

/// What a stream delivers to its sink, in stream order.
enum class StreamEvent : uint8_t {
    Data, ///< the next `len` bytes of the stream
    Gap,  ///< `len` bytes were given up (never seen, or dropped to respect a bound)
    End   ///< the direction ended (FIN reached, or RST); nothing follows
};

/// Receives a direction's byte stream. `data` is valid only during the call (it points into
/// the packet or into the stream's buffer). The sink must not call back into the reassembler
/// for the same stream.
struct StreamSink {
    void (*fn)(void* ctx, StreamEvent event, const uint8_t* data, uint32_t len) = nullptr;
    void* ctx = nullptr;
    void operator()(StreamEvent e, const uint8_t* d, uint32_t n) const {
        if (fn) fn(ctx, e, d, n);
    }
};

/// What happened to one segment.
enum class SegmentStatus : uint8_t {
    InOrder,   ///< its new bytes were delivered now (zero-copy), possibly with held bytes after
    Held,      ///< out of order: copied and held; the journey marks the packet SKIP
    Duplicate, ///< nothing new: every byte was already delivered or held (retransmission)
    Empty,     ///< no payload (e.g. a pure ACK, or a SYN or FIN without data)
    AfterEnd   ///< the direction had already ended; ignored
};

/// Result of StreamReassembler::segment().
struct SegmentResult {
    SegmentStatus status = SegmentStatus::Empty;
    bool ended = false;     ///< this segment ended the direction
    uint32_t delivered = 0; ///< bytes delivered during the call, held ones included
    uint32_t overlap = 0;   ///< bytes of this segment dropped as already delivered or held
    uint32_t lost = 0;      ///< bytes given up during the call (reported as Gap events)
};

/// Stream bounds.
struct StreamConfig {
    /// Per direction: out-of-order bytes are held only up to this far beyond the next
    /// expected byte (the buffer spans the holes too, so this bounds its size).
    uint32_t max_window = 256 * 1024;
};

/// Which bound made a stream give up a hole.
enum class StreamBound : uint8_t {
    Window, ///< StreamConfig::max_window: the segment lies too far past the next byte
    Holes,  ///< more separate held ranges than kMaxRanges
    Budget  ///< the shared budget ran out
};

/// Counters of a reassembler, over every stream it handled: per StreamBound, the holes
/// given up to respect it and their bytes; then what every direction did.
struct StreamStats {
    uint64_t skips[3] = {};
    uint64_t skipped_bytes[3] = {};
    uint64_t retransmissions = 0; ///< segments that brought nothing new
    uint64_t overlap_bytes = 0;   ///< bytes trimmed because already delivered or held
    uint64_t held_segments = 0;   ///< segments held out of order
    uint64_t lost_bytes = 0;      ///< bytes given up (gaps skipped, held at release)
};

struct StreamBuffer;

/// State of one direction, in 24 bytes: there are two for every TCP flow. All zeroes is the
/// valid initial state, so it can live in a zero-filled session state blob; release() must
/// run before that memory is reused. What directions did is counted in StreamStats.
struct StreamState {
    uint32_t next_seq; ///< next expected sequence number (once started)
    uint32_t fin_seq;  ///< sequence number of the FIN (when seen)
    uint8_t flags;     ///< internal
    uint8_t reserved[7];
    StreamBuffer* buf; ///< held out-of-order bytes; nullptr when none
};
static_assert(sizeof(StreamState) == 24, "a direction's state stays small");

/// Reassembles directions of TCP-like streams from (sequence number, flags, payload).
///
/// A direction starts at SYN+1, or at the first segment seen when the flow is picked up
/// mid-stream. In-order bytes go to the sink straight from the packet when nothing is held.
/// Out-of-order segments are copied into a per-direction buffer charged to the shared
/// budget; when the gap fills, held bytes follow in order. Overlaps are trimmed
/// deterministically: bytes already delivered or already held win over new copies (first
/// arrival wins), so a retransmission that carries different bytes never changes the stream.
/// Sequence numbers compare modulo 2^32 (a segment more than 2^31 behind is "ahead").
/// When a bound is hit (window, budget, or more than 16 separate holes) the oldest gap is
/// given up: a Gap event reports its size and the bytes after it are delivered.
/// FIN ends the direction once every byte before it is delivered; RST ends it at once, after
/// delivering what is held (with Gap events for the holes).
class StreamReassembler {
  public:
    StreamReassembler(const StreamConfig& config, ByteBudget& budget)
        : config_(config), budget_(budget) {}

    /// Feeds one segment of a direction. `flags` uses MMT_STREAM_SYN/FIN/RST from abi.h.
    SegmentResult segment(StreamState& st, uint32_t seq, uint32_t flags, const uint8_t* payload,
                          uint32_t len, const StreamSink& sink);
    /// Frees the direction's buffer; held bytes are counted as lost. Returns them.
    uint32_t release(StreamState& st);
    /// Bytes currently held by a direction.
    static uint32_t held_bytes(const StreamState& st);

    /// Most separate held byte ranges per direction.
    static constexpr uint32_t kMaxRanges = 16;

    const StreamStats& stats() const { return stats_; }

  private:
    /// Copies a segment held out of order: true, or false with the bound that forbids it.
    bool insert(StreamState& st, const uint8_t* data, uint32_t len, uint32_t rel, uint32_t& overlap,
                bool& nothing_new, StreamBound& bound);
    void advance(StreamState& st, uint32_t n);
    uint32_t deliver_held(StreamState& st, const StreamSink& sink);
    uint32_t skip_first_gap(StreamState& st, const StreamSink& sink);
    void free_buffer(StreamState& st);
    bool check_fin(StreamState& st, const StreamSink& sink);
    void end(StreamState& st, const StreamSink& sink, SegmentResult& r);

    StreamConfig config_;
    ByteBudget& budget_;
    StreamStats stats_;
};

// ---------------------------------------------------------------------------------------
// PDU framing
// ---------------------------------------------------------------------------------------

/// What the framer reports.
enum class PduEvent : uint8_t {
    Pdu,       ///< one whole PDU
    Malformed, ///< the length function said so, or the PDU exceeds max_pdu; bytes dropped
    Dropped    ///< a partial PDU dropped: the stream lost bytes, or the budget ran out
};

/// Receives PDUs; `data` is valid only during the call (packet or accumulation buffer).
struct PduSink {
    void (*fn)(void* ctx, PduEvent event, const uint8_t* data, uint32_t len) = nullptr;
    void* ctx = nullptr;
    void operator()(PduEvent e, const uint8_t* d, uint32_t n) const {
        if (fn) fn(ctx, e, d, n);
    }
};

/// How PDUs are delimited: by a length function or by a terminator (the PDU ends right
/// after it). With neither, every chunk of stream data is passed through as one PDU.
struct PduRule {
    /// Given the bytes from the start of a PDU: its whole length (> 0), 0 if more bytes are
    /// needed, < 0 if malformed. Called with at most the PDU limit's bytes.
    int64_t (*length)(void* ctx, const uint8_t* data, uint32_t len) = nullptr;
    void* length_ctx = nullptr;
    const uint8_t* terminator = nullptr;
    uint32_t terminator_len = 0; ///< 1 to 64 bytes
    uint32_t max_pdu = 0;        ///< longest PDU of this protocol; 0: PduConfig::max_pdu
};

/// PDU bounds.
struct PduConfig {
    uint32_t max_pdu = 1u << 20; ///< longest PDU accepted, terminator included, unless the
                                 ///< rule sets its own
};

/// Counters of a framer, over every stream it framed.
struct PduStats {
    uint64_t over_max = 0;       ///< PDUs longer than their limit, reported Malformed
    uint64_t budget_dropped = 0; ///< partial PDUs dropped because the budget ran out
};

/// Framing state of one direction; all zeroes is the initial state (see StreamState).
struct PduState {
    uint8_t* buf;      ///< accumulation buffer (a PDU that spans chunks)
    uint32_t len, cap; ///< bytes in buf, its size
    uint32_t need;     ///< length mode: the PDU's length once known, else 0
    uint32_t skip;     ///< bytes still to drop (the rest of an over-long PDU)
    uint8_t flags;     ///< internal
    uint8_t reserved[3];
    uint32_t pdus;      ///< PDUs delivered
    uint32_t malformed; ///< Malformed events
    uint32_t dropped;   ///< Dropped events
};

/// Cuts the in-order byte stream of a direction into PDUs.
///
/// A PDU that lies inside one chunk is delivered zero-copy; one that spans chunks is copied
/// into a per-direction buffer (charged to the budget) and delivered by the chunk that
/// completes it. Whole PDUs are delivered exactly once, in order.
/// Resynchronisation: an over-long PDU (> max_pdu) is reported Malformed; with a known
/// length its remaining bytes are skipped exactly, with a terminator everything up to and
/// including the next terminator is dropped. A malformed length drops the bytes examined.
/// After a stream gap the partial PDU is dropped; if its length was known, the rest of it is
/// skipped, else the next byte is taken as the start of a PDU.
class PduFramer {
  public:
    PduFramer(const PduConfig& config, ByteBudget& budget) : config_(config), budget_(budget) {}

    /// Feeds the next in-order bytes of the stream.
    void feed(PduState& st, const PduRule& rule, const uint8_t* data, uint32_t len,
              const PduSink& sink);
    /// The stream lost `len` bytes here.
    void gap(PduState& st, uint32_t len, const PduSink& sink);
    /// Frees the accumulation buffer (end of the session).
    void release(PduState& st);

    const PduStats& stats() const { return stats_; }

  private:
    void feed_length(PduState& st, const PduRule& rule, const uint8_t* data, uint32_t len,
                     const PduSink& sink);
    void feed_terminator(PduState& st, const PduRule& rule, const uint8_t* data, uint32_t len,
                         const PduSink& sink);
    bool append(PduState& st, const uint8_t* data, uint32_t len, uint32_t maxp);
    void clear(PduState& st);
    void keep_tail(PduState& st, const uint8_t* data, uint32_t len, uint32_t keep);
    void report_malformed(PduState& st, bool over_max, const uint8_t* data, uint32_t len,
                          const PduSink& sink);
    void report_dropped(PduState& st, const uint8_t* data, uint32_t len, const PduSink& sink);
    void discard_to_terminator(PduState& st, const uint8_t* data, uint32_t len, uint32_t tl);

    PduConfig config_;
    ByteBudget& budget_;
    PduStats stats_;
};

} // namespace mmt
