// The session table: canonical keys from mmt_key, LRU expiry per timeout, bounded memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "mmt/abi.h"
#include "util/zeroed_array.h"

namespace mmt {

/// Why a session ended; given to the end callback.
enum class SessionEnd : uint8_t {
    Timeout,    ///< idle for at least its protocol's timeout
    Evicted,    ///< least recently used when the table was full
    EndOfInput, ///< still alive when flush() ran
    Closed      ///< close() was called (e.g. the protocol saw the flow end)
};

/// Name of a SessionEnd value ("timeout", "evicted", "end of input", "closed"): the words
/// of SessionInfo::end_reason.
const char* to_string(SessionEnd why);

/// One tracked flow. Owned by the FlowTable; a pointer stays valid until the session ends.
/// Direction 0 is initiator to responder: the initiator is the sender of the first packet.
struct Session {
    uint64_t id;         ///< 1, 2, 3 ... in creation order, never reused
    uint64_t first_ns;   ///< time of the first packet
    uint64_t last_ns;    ///< latest packet time seen (never goes backwards)
    uint64_t packets[2]; ///< per direction
    uint64_t bytes[2];   ///< per direction, as passed to lookup()
    /// Per direction, counted by the user (the journey: payload bytes), saturating at
    /// 2^32 - 1: 32 bits each keep a session within its memory budget.
    uint32_t payload[2];
    uint32_t proto_id; ///< protocol that created the session

    // Table internals.
    uint16_t key_len;    // canonical key length
    uint8_t tclass;      // timeout class index: the session's idle timeout (FlowTable::timeout_ms)
    uint8_t flags;       // kInitiatorHigh, kLongKey
    uint32_t hash;       // the high half of its key's hash: home bucket and tag
    uint32_t prev, next; // LRU list of the session's timeout class
    union {
        uint8_t bytes[44]; // keys up to 44 bytes live here
        uint32_t slot;     // longer keys: index into the long-key store
    } key;
};

static_assert(sizeof(Session::key) == 44, "inline key size");
static_assert(sizeof(Session) == 128, "a session stays small: there is one for every flow");

/// Sizes fixed when the table is created; nothing is allocated afterwards.
struct FlowTableConfig {
    uint32_t max_sessions = 65536; ///< hard cap; a new flow beyond it evicts the LRU session
    uint32_t state_size = 0;       ///< bytes of per-session state (zero-filled at creation)
    uint32_t long_keys = 0;        ///< sessions with keys over 44 bytes; 0: max_sessions / 16
};

/// Counters for reports and tests.
struct FlowTableStats {
    uint64_t lookups = 0;
    uint64_t created = 0;
    uint64_t timed_out = 0;
    uint64_t evicted = 0;          ///< to respect max_sessions
    uint64_t long_key_evicted = 0; ///< to free a long-key slot (also counted in evicted)
    uint64_t closed = 0;
    uint64_t flushed = 0;
    uint64_t expire_visits = 0;   ///< sessions examined by expire(): expired ones + 1 per class
    uint64_t overflowed_keys = 0; ///< keys whose generator set mmt_key.overflow
};

/// Result of FlowTable::lookup().
struct FlowLookup {
    Session* session = nullptr;
    uint32_t direction = 0; ///< 0: initiator to responder, 1: the reverse
    bool created = false;
    bool high = false; ///< the packet's sender is the high side of the canonical key
};

class FlowTable;

/// Called for every session that ends, before its memory is reused. The session, its key and
/// its state are still readable. The callback must not call lookup, expire, flush or close.
using SessionEndFn = void (*)(void* ctx, const FlowTable& table, Session& session, SessionEnd why);

/// The flow table.
///
/// Keys: a session key (mmt_key) has a shared part and two sides, a (sender) and b (receiver).
/// The canonical key is [shared_len][low_len] shared ‖ low ‖ high, where low is the side that
/// compares smaller (memcmp over the common length, then the shorter first). Both directions
/// of a flow therefore produce the same bytes. The session remembers whether its first packet
/// was sent by the low or the high side; a packet's direction is 0 when it is sent by the
/// same side as the first packet, else 1. When a and b are equal, every packet has
/// direction 0. Sessions of different protocols never match, even with equal key bytes.
///
/// Lookups hash the canonical key once and walk one linear-probing sequence over a bucket
/// array kept at most half full. Sessions come from a pool sized at creation; keys up to 44
/// bytes are stored inline, longer ones in a bounded store of 296-byte slots.
///
/// Expiry: sessions with the same timeout share one LRU list (a packet moves its session to
/// the tail). expire(now) pops list fronts while they are idle for at least their timeout,
/// so its cost is the number of expired sessions plus one look per distinct timeout,
/// whatever the clock did. A lookup that finds an idle-expired session also ends it (Timeout)
/// and starts a new one.
class FlowTable {
  public:
    explicit FlowTable(const FlowTableConfig& config = {});
    ~FlowTable();
    FlowTable(const FlowTable&) = delete;
    FlowTable& operator=(const FlowTable&) = delete;

    /// Sets the end-of-session callback.
    void on_end(SessionEndFn fn, void* ctx) {
        end_fn_ = fn;
        end_ctx_ = ctx;
    }

    /// Finds or creates the session of `key` for protocol `proto_id` and counts one packet of
    /// `bytes` bytes at time `now_ns` in its direction. Never fails: when the table is full
    /// the least recently used session is evicted first.
    FlowLookup lookup(const mmt_key& key, uint32_t proto_id, uint32_t timeout_ms, uint64_t now_ns,
                      uint32_t bytes);
    /// Finds a session without counting or touching it; nullptr if absent.
    Session* find(const mmt_key& key, uint32_t proto_id, uint32_t* direction = nullptr);

    /// Numbers the sessions created from now on `first`, `first + step`, `first + 2 * step`...
    /// (by default 1, 2, 3...). The journey numbers the sessions of each packet from the
    /// packet's frame number (see Flows::begin_packet).
    void number_from(uint64_t first, uint64_t step) {
        next_id_ = first;
        id_step_ = step;
    }

    /// Ends sessions idle for at least their timeout at time `now_ns`; returns how many.
    size_t expire(uint64_t now_ns);
    /// Ends every session (EndOfInput), oldest first; returns how many.
    size_t flush();
    /// Ends one session now (Closed).
    void close(Session& session);

    /// Per-session state blob (config.state_size bytes, zeroed at creation); nullptr if 0.
    void* state(const Session& session) const {
        return state_size_ ? state_ + index_of(session) * state_stride_ : nullptr;
    }
    /// Canonical key bytes of a session.
    std::span<const uint8_t> key(const Session& session) const;
    /// The idle timeout of a session: that of the protocol that created it (or, beyond
    /// kMaxClasses distinct timeouts, the nearest of theirs).
    uint32_t timeout_ms(const Session& session) const {
        return classes_[session.tclass].timeout_ms;
    }
    /// True when the session's initiator is the high side of its canonical key (so the
    /// initiator's part follows the responder's in key()).
    static bool initiator_high(const Session& session) { return session.flags & 1; }

    size_t size() const { return size_; }
    size_t capacity() const { return capacity_; }
    const FlowTableStats& stats() const { return stats_; }
    /// Table memory per session slot outside state blobs: entry, buckets, long-key share.
    size_t bytes_per_session() const;

    /// Longest canonical key: two length bytes and three parts of MMT_KEY_SIDE_MAX bytes.
    static constexpr size_t kMaxKey = 2 + 3 * MMT_KEY_SIDE_MAX;
    /// Keys up to this length are stored inside the Session.
    static constexpr size_t kInlineKey = 44;
    /// The most sessions a table holds (FlowTableConfig::max_sessions above it counts as it).
    static constexpr size_t kMaxSessions = size_t{1} << 24;

    /// Writes the canonical key of `key` to `out` (kMaxKey bytes); returns its length and sets
    /// `high` when the packet's sender (side a) is the high side.
    static size_t canonicalize(const mmt_key& key, uint8_t* out, bool& high);

  private:
    // A bucket: the session's index + 1 (at most kMaxSessions) above a tag of 7 bits of
    // its hash, which spares most key comparisons on the way; 0: empty. Four bytes, at
    // most two buckets a session. Of the hash's high half (Session::hash), the home
    // bucket takes the low bits (at most 25: 2 * kMaxSessions buckets), the tag the top 7.
    using Bucket = uint32_t;
    static constexpr unsigned kTagBits = 7;
    static constexpr Bucket kTagMask = (1u << kTagBits) - 1;
    static Bucket tag_of(uint32_t hash) { return hash >> (32 - kTagBits); }
    static uint32_t entry_of(Bucket b) { return b >> kTagBits; }
    struct TimeoutClass {
        uint64_t timeout_ns;
        uint32_t timeout_ms;
        uint32_t head, tail;
    };
    static constexpr uint32_t kNil = 0xffffffffu;
    static constexpr size_t kMaxClasses = 64;
    static constexpr size_t kLongSlot = 296;

    size_t index_of(const Session& s) const { return static_cast<size_t>(&s - pool_.get()); }
    size_t home(uint32_t hash) const { return hash & mask_; }
    /// The hash a session keeps (Session::hash): the high half of its canonical key's.
    static uint32_t key_hash(const uint8_t* k, size_t len, uint32_t proto);
    const uint8_t* key_ptr(const Session& s) const;
    Session* probe(const uint8_t* k, size_t len, uint32_t h, uint32_t proto, size_t& pos);
    size_t find_empty(uint32_t h) const;
    uint8_t class_for(uint32_t timeout_ms);
    void link_by_time(Session& s);
    uint32_t before_later(const Session& s) const;
    void unlink(Session& s);
    void end(Session& s, SessionEnd why);
    void erase_bucket(size_t idx);
    Session* global_lru();
    bool take_long_slot(uint32_t& slot);
    void recompute_deadline();

    // Sized for the capacity, touched as sessions are made (see ZeroedArray).
    ZeroedArray<Session> pool_;
    ZeroedArray<Bucket> buckets_; // zero bytes: an empty bucket
    ZeroedArray<uint8_t> long_keys_;
    ZeroedArray<uint32_t> long_free_;
    uint8_t* state_ = nullptr;
    ZeroedArray<uint8_t> state_mem_;
    size_t capacity_ = 0, size_ = 0, mask_ = 0;
    size_t state_size_ = 0, state_stride_ = 0;
    size_t long_cap_ = 0, long_free_n_ = 0;
    size_t long_fresh_ = 0;     // long-key slots ever used: the next fresh one
    uint32_t free_head_ = kNil; // freed sessions, linked through Session::next
    uint32_t fresh_ = 0;        // sessions ever used: the next fresh one
    Session* last_ = nullptr;   // the session the last lookup found or made, while it lives
    TimeoutClass classes_[kMaxClasses];
    size_t n_classes_ = 0;
    uint64_t next_deadline_ = ~uint64_t{0}; // no session can expire before this time
    uint64_t next_id_ = 1, id_step_ = 1;
    SessionEndFn end_fn_ = nullptr;
    void* end_ctx_ = nullptr;
    FlowTableStats stats_;
};

} // namespace mmt
