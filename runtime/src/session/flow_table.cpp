// The session table: canonical keys from mmt_key, LRU expiry per timeout, bounded memory.
#include "session/flow_table.h"

#include <algorithm>
#include <cstring>

#include "util/hash.h"

namespace mmt {

namespace {

constexpr uint8_t kInitiatorHigh = 1; // the first packet was sent by the high side (public:
                                      // FlowTable::initiator_high)
constexpr uint8_t kLongKey = 2;       // key lives in the long-key store

uint64_t deadline(uint64_t last_ns, uint64_t timeout_ns) {
    return last_ns > ~uint64_t{0} - timeout_ns ? ~uint64_t{0} : last_ns + timeout_ns;
}

} // namespace

const char* to_string(SessionEnd why) {
    switch (why) {
    case SessionEnd::Timeout:
        return "timeout";
    case SessionEnd::Evicted:
        return "evicted";
    case SessionEnd::EndOfInput:
        return "end of input";
    case SessionEnd::Closed:
        return "closed";
    }
    return "?";
}

FlowTable::FlowTable(const FlowTableConfig& config) {
    capacity_ = std::clamp<size_t>(config.max_sessions, 1, kMaxSessions);
    pool_ = ZeroedArray<Session>(capacity_);

    size_t nb = 16;
    while (nb < 2 * capacity_) nb <<= 1; // load factor <= 1/2: short probe sequences
    buckets_ = ZeroedArray<Bucket>(nb);
    mask_ = nb - 1;

    long_cap_ = config.long_keys ? config.long_keys : std::max<size_t>(16, capacity_ / 16);
    long_keys_ = ZeroedArray<uint8_t>(long_cap_ * kLongSlot);
    long_free_ = ZeroedArray<uint32_t>(long_cap_);

    state_size_ = config.state_size;
    state_stride_ = (state_size_ + 15) & ~size_t{15};
    if (state_size_) {
        state_mem_ = ZeroedArray<uint8_t>(capacity_ * state_stride_);
        state_ = state_mem_.get();
    }
}

FlowTable::~FlowTable() = default;

namespace {

/// Copies n bytes; keys are short (an address and a port): two overlapping fixed-size
/// copies do it without a call.
inline void copy_short(uint8_t* dst, const uint8_t* src, size_t n) {
    if (n >= 8 && n <= 16) {
        std::memcpy(dst, src, 8);
        std::memcpy(dst + n - 8, src + n - 8, 8);
    } else if (n >= 4 && n < 8) {
        std::memcpy(dst, src, 4);
        std::memcpy(dst + n - 4, src + n - 4, 4);
    } else if (n > 16) {
        std::memcpy(dst, src, n);
    } else {
        for (size_t i = 0; i < n; ++i) dst[i] = src[i];
    }
}

/// Whether n bytes are equal; keys are short: two or four overlapping fixed-size loads
/// from each side compare them without a call.
inline bool same_key(const uint8_t* a, const uint8_t* b, size_t n) {
    auto word = [](const uint8_t* p) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        return w;
    };
    if (n >= 8 && n <= 16) return word(a) == word(b) && word(a + n - 8) == word(b + n - 8);
    if (n > 16 && n <= 32)
        return word(a) == word(b) && word(a + 8) == word(b + 8) &&
               word(a + n - 16) == word(b + n - 16) && word(a + n - 8) == word(b + n - 8);
    return std::memcmp(a, b, n) == 0;
}

/// FlowTable::canonicalize, inline in the lookups that run for every packet.
[[gnu::always_inline]] inline size_t canonical_key(const mmt_key& key, uint8_t* out, bool& high) {
    size_t sl = std::min<size_t>(key.shared_len, MMT_KEY_SIDE_MAX);
    size_t al = std::min<size_t>(key.a_len, MMT_KEY_SIDE_MAX);
    size_t bl = std::min<size_t>(key.b_len, MMT_KEY_SIDE_MAX);
    // The sides usually differ in their first bytes (the addresses).
    int c = 0;
    for (size_t i = 0, n = std::min(al, bl); i < n; ++i)
        if (key.a[i] != key.b[i]) {
            c = key.a[i] < key.b[i] ? -1 : 1;
            break;
        }
    high = c > 0 || (c == 0 && al > bl);
    const uint8_t* lo = high ? key.b : key.a;
    const uint8_t* hi = high ? key.a : key.b;
    size_t lol = high ? bl : al, hil = high ? al : bl;
    // The lengths make the split unambiguous: "ab" + "c" never equals "a" + "bc".
    out[0] = static_cast<uint8_t>(sl);
    out[1] = static_cast<uint8_t>(lol);
    copy_short(out + 2, key.shared, sl);
    copy_short(out + 2 + sl, lo, lol);
    copy_short(out + 2 + sl + lol, hi, hil);
    return 2 + sl + lol + hil;
}

} // namespace

size_t FlowTable::canonicalize(const mmt_key& key, uint8_t* out, bool& high) {
    return canonical_key(key, out, high);
}

const uint8_t* FlowTable::key_ptr(const Session& s) const {
    return (s.flags & kLongKey) ? long_keys_.get() + size_t{s.key.slot} * kLongSlot : s.key.bytes;
}

std::span<const uint8_t> FlowTable::key(const Session& session) const {
    return {key_ptr(session), session.key_len};
}

size_t FlowTable::bytes_per_session() const {
    size_t total = capacity_ * sizeof(Session) + (mask_ + 1) * sizeof(Bucket) +
                   long_cap_ * (kLongSlot + sizeof(uint32_t));
    return (total + capacity_ - 1) / capacity_;
}

uint32_t FlowTable::key_hash(const uint8_t* k, size_t len, uint32_t proto) {
    return static_cast<uint32_t>(hash_bytes(k, len, proto) >> 32);
}

Session* FlowTable::probe(const uint8_t* k, size_t len, uint32_t h, uint32_t proto, size_t& pos) {
    const Bucket tag = tag_of(h);
    for (size_t i = home(h);; i = (i + 1) & mask_) {
        const Bucket b = buckets_[i];
        if (b == 0) {
            pos = i;
            return nullptr;
        }
        if ((b & kTagMask) == tag) {
            Session& s = pool_[entry_of(b) - 1];
            if (s.key_len == len && s.proto_id == proto && same_key(key_ptr(s), k, len)) {
                pos = i;
                return &s;
            }
        }
    }
}

size_t FlowTable::find_empty(uint32_t h) const {
    size_t i = home(h);
    while (buckets_[i] != 0) i = (i + 1) & mask_;
    return i;
}

uint8_t FlowTable::class_for(uint32_t timeout_ms) {
    for (size_t i = 0; i < n_classes_; ++i)
        if (classes_[i].timeout_ms == timeout_ms) return static_cast<uint8_t>(i);
    if (n_classes_ < kMaxClasses) {
        classes_[n_classes_] = {uint64_t{timeout_ms} * 1000000u, timeout_ms, kNil, kNil};
        return static_cast<uint8_t>(n_classes_++);
    }
    // More distinct timeouts than lists: share the list of the nearest timeout. Expiry in a
    // shared list stays correct for the list's own timeout; the session lives a bit more or
    // less than asked.
    size_t best = 0;
    uint64_t best_diff = ~uint64_t{0};
    for (size_t i = 0; i < n_classes_; ++i) {
        uint64_t d = classes_[i].timeout_ms > timeout_ms ? classes_[i].timeout_ms - timeout_ms
                                                         : timeout_ms - classes_[i].timeout_ms;
        if (d < best_diff) {
            best_diff = d;
            best = i;
        }
    }
    return static_cast<uint8_t>(best);
}

// A class's list is in order of last packet time, which expire() relies on to stop at the
// first session not yet due: a session goes at the tail, unless packet times went backwards
// (a capture put together from others) and the tail's last packet is later than its own.
[[gnu::always_inline]] inline void FlowTable::link_by_time(Session& s) {
    TimeoutClass& c = classes_[s.tclass];
    uint32_t after = c.tail;
    if (after != kNil && pool_[after].last_ns > s.last_ns) after = before_later(s);
    const uint32_t idx = static_cast<uint32_t>(index_of(s));
    s.prev = after;
    s.next = after == kNil ? c.head : pool_[after].next;
    if (after != kNil)
        pool_[after].next = idx;
    else
        c.head = idx;
    if (s.next != kNil)
        pool_[s.next].prev = idx;
    else
        c.tail = idx;
}

// Where `s` goes when the tail's last packet is later than its own: after the last session
// that is not (kNil: at the head), so that whether a session times out never depends on
// which others share its table (mmtrun --workers). A few steps at most: past them, the
// order is given up.
uint32_t FlowTable::before_later(const Session& s) const {
    constexpr int kMaxSteps = 64;
    uint32_t after = classes_[s.tclass].tail;
    for (int steps = 0; after != kNil && pool_[after].last_ns > s.last_ns && steps < kMaxSteps;
         ++steps)
        after = pool_[after].prev;
    return after;
}

void FlowTable::unlink(Session& s) {
    TimeoutClass& c = classes_[s.tclass];
    if (s.prev != kNil)
        pool_[s.prev].next = s.next;
    else
        c.head = s.next;
    if (s.next != kNil)
        pool_[s.next].prev = s.prev;
    else
        c.tail = s.prev;
}

// Backward-shift deletion: linear probing without tombstones, so probe sequences never
// lengthen as sessions come and go.
void FlowTable::erase_bucket(size_t hole) {
    for (size_t j = (hole + 1) & mask_; buckets_[j] != 0; j = (j + 1) & mask_) {
        size_t k = home(pool_[entry_of(buckets_[j]) - 1].hash);
        bool stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
        if (!stays) {
            buckets_[hole] = buckets_[j];
            hole = j;
        }
    }
    buckets_[hole] = 0;
}

void FlowTable::end(Session& s, SessionEnd why) {
    if (last_ == &s) last_ = nullptr;
    if (end_fn_) end_fn_(end_ctx_, *this, s, why);
    switch (why) {
    case SessionEnd::Timeout:
        ++stats_.timed_out;
        break;
    case SessionEnd::Evicted:
        ++stats_.evicted;
        break;
    case SessionEnd::EndOfInput:
        ++stats_.flushed;
        break;
    case SessionEnd::Closed:
        ++stats_.closed;
        break;
    }
    const uint32_t entry = static_cast<uint32_t>(index_of(s) + 1);
    size_t i = home(s.hash);
    while (entry_of(buckets_[i]) != entry) i = (i + 1) & mask_;
    erase_bucket(i);
    unlink(s);
    if (s.flags & kLongKey) long_free_[long_free_n_++] = s.key.slot;
    s.flags = 0;
    s.next = free_head_;
    free_head_ = entry - 1;
    --size_;
}

Session* FlowTable::global_lru() {
    Session* best = nullptr;
    for (size_t i = 0; i < n_classes_; ++i) {
        if (classes_[i].head == kNil) continue;
        Session* s = &pool_[classes_[i].head];
        if (!best || s->last_ns < best->last_ns ||
            (s->last_ns == best->last_ns && s->id < best->id))
            best = s;
    }
    return best;
}

// Frees a long-key slot if none is left by evicting the least recently used session that
// holds one. Walks each list from its oldest end to the first such session: short while
// long keys are common, which is when the store fills up.
bool FlowTable::take_long_slot(uint32_t& slot) {
    if (long_free_n_ == 0 && long_fresh_ < long_cap_) {
        slot = static_cast<uint32_t>(long_fresh_++);
        return true;
    }
    if (long_free_n_ == 0) {
        Session* victim = nullptr;
        for (size_t i = 0; i < n_classes_; ++i) {
            for (uint32_t j = classes_[i].head; j != kNil; j = pool_[j].next) {
                if (!(pool_[j].flags & kLongKey)) continue;
                if (!victim || pool_[j].last_ns < victim->last_ns) victim = &pool_[j];
                break;
            }
        }
        if (!victim) return false;
        ++stats_.long_key_evicted;
        end(*victim, SessionEnd::Evicted);
    }
    slot = long_free_[--long_free_n_];
    return true;
}

FlowLookup FlowTable::lookup(const mmt_key& key, uint32_t proto_id, uint32_t timeout_ms,
                             uint64_t now_ns, uint32_t bytes) {
    ++stats_.lookups;
    if (key.overflow) ++stats_.overflowed_keys;
    uint8_t buf[kMaxKey];
    bool high;
    const size_t len = canonical_key(key, buf, high);
    // Packets of a flow often come in a row: the last session found, if this is its key,
    // without hashing and probing (end() forgets it).
    Session* s = last_;
    uint32_t h;
    size_t pos = 0;
    if (s && s->proto_id == proto_id && s->key_len == len && same_key(key_ptr(*s), buf, len)) {
        h = s->hash;
    } else {
        h = key_hash(buf, len, proto_id);
        s = probe(buf, len, h, proto_id, pos);
    }
    FlowLookup r;
    if (s && classes_[s->tclass].timeout_ns != 0 &&
        now_ns >= deadline(s->last_ns, classes_[s->tclass].timeout_ns)) {
        end(*s, SessionEnd::Timeout); // idle too long: this packet starts a new session
        s = nullptr;
        pos = find_empty(h);
    }
    if (s) {
        if (now_ns > s->last_ns) s->last_ns = now_ns;
        if (classes_[s->tclass].tail != index_of(*s)) {
            unlink(*s);
            link_by_time(*s);
        }
    } else {
        // Rare path: evictions move buckets, so the insertion point is searched again.
        bool moved = false;
        if (size_ == capacity_) {
            end(*global_lru(), SessionEnd::Evicted);
            moved = true;
        }
        uint32_t slot = 0;
        const bool long_key = len > kInlineKey;
        if (long_key) {
            size_t before = size_;
            if (!take_long_slot(slot)) {
                // Cannot happen (the store has at least one slot and only long-key sessions
                // use it), but never write a key we cannot hold.
                return r;
            }
            moved |= size_ != before;
        }
        if (moved) pos = find_empty(h);
        uint32_t idx;
        if (free_head_ != kNil) {
            idx = free_head_;
            free_head_ = pool_[idx].next;
        } else {
            idx = fresh_++; // size_ < capacity_ here, and every used session is live or freed
        }
        s = &pool_[idx];
        s->id = next_id_;
        next_id_ += id_step_;
        s->first_ns = s->last_ns = now_ns;
        s->packets[0] = s->packets[1] = 0;
        s->bytes[0] = s->bytes[1] = 0;
        s->payload[0] = s->payload[1] = 0;
        s->proto_id = proto_id;
        s->hash = h;
        s->key_len = static_cast<uint16_t>(len);
        s->flags = static_cast<uint8_t>((high ? kInitiatorHigh : 0) | (long_key ? kLongKey : 0));
        s->tclass = class_for(timeout_ms);
        if (long_key) {
            s->key.slot = slot;
            std::memcpy(long_keys_.get() + size_t{slot} * kLongSlot, buf, len);
        } else {
            std::memcpy(s->key.bytes, buf, len);
        }
        if (state_size_) std::memset(state_ + size_t{idx} * state_stride_, 0, state_size_);
        buckets_[pos] = (idx + 1) << kTagBits | tag_of(h);
        link_by_time(*s);
        ++size_;
        ++stats_.created;
        const uint64_t t = classes_[s->tclass].timeout_ns;
        if (t) next_deadline_ = std::min(next_deadline_, deadline(now_ns, t));
        r.created = true;
    }
    last_ = s;
    r.session = s;
    r.high = high;
    r.direction = (high != ((s->flags & kInitiatorHigh) != 0)) ? 1 : 0;
    ++s->packets[r.direction];
    s->bytes[r.direction] += bytes;
    return r;
}

Session* FlowTable::find(const mmt_key& key, uint32_t proto_id, uint32_t* direction) {
    uint8_t buf[kMaxKey];
    bool high;
    const size_t len = canonical_key(key, buf, high);
    size_t pos;
    Session* s = probe(buf, len, key_hash(buf, len, proto_id), proto_id, pos);
    if (s && direction) *direction = (high != ((s->flags & kInitiatorHigh) != 0)) ? 1 : 0;
    return s;
}

void FlowTable::recompute_deadline() {
    next_deadline_ = ~uint64_t{0};
    for (size_t i = 0; i < n_classes_; ++i) {
        const TimeoutClass& c = classes_[i];
        if (c.timeout_ns && c.head != kNil)
            next_deadline_ =
                std::min(next_deadline_, deadline(pool_[c.head].last_ns, c.timeout_ns));
    }
}

size_t FlowTable::expire(uint64_t now_ns) {
    if (now_ns < next_deadline_) return 0; // the common case: one comparison per packet
    size_t n = 0;
    for (size_t i = 0; i < n_classes_; ++i) {
        TimeoutClass& c = classes_[i];
        if (c.timeout_ns == 0) continue;
        while (c.head != kNil) {
            Session& s = pool_[c.head];
            ++stats_.expire_visits;
            if (now_ns < deadline(s.last_ns, c.timeout_ns)) break;
            end(s, SessionEnd::Timeout);
            ++n;
        }
    }
    recompute_deadline();
    return n;
}

size_t FlowTable::flush() {
    size_t n = 0;
    while (Session* s = global_lru()) {
        end(*s, SessionEnd::EndOfInput);
        ++n;
    }
    next_deadline_ = ~uint64_t{0};
    return n;
}

void FlowTable::close(Session& session) {
    end(session, SessionEnd::Closed);
}

} // namespace mmt
