// Generic TCP-like stream reassembly per direction, and PDU framing over the byte stream.
#include "reassembly/stream.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "mmt/abi.h"

namespace mmt {

/// Out-of-order bytes of one direction: data[off + x] is the byte at next_seq + x.
struct StreamBuffer {
    uint8_t* data;
    uint32_t cap;
    uint32_t off;
    uint32_t n; // ranges in use
    struct Range {
        uint32_t b, e; // held [b, e) relative to next_seq; sorted, disjoint, never touching
    } r[StreamReassembler::kMaxRanges];
};

namespace {

constexpr uint8_t kStarted = 1;
constexpr uint8_t kFinSeen = 2;
constexpr uint8_t kEnded = 4;

constexpr uint32_t kMinBuffer = 4096;

} // namespace

uint32_t StreamReassembler::held_bytes(const StreamState& st) {
    uint32_t n = 0;
    if (st.buf)
        for (uint32_t i = 0; i < st.buf->n; ++i) n += st.buf->r[i].e - st.buf->r[i].b;
    return n;
}

void StreamReassembler::free_buffer(StreamState& st) {
    if (!st.buf) return;
    budget_.release(sizeof(StreamBuffer) + st.buf->cap);
    std::free(st.buf->data);
    delete st.buf;
    st.buf = nullptr;
}

uint32_t StreamReassembler::release(StreamState& st) {
    uint32_t held = held_bytes(st);
    stats_.lost_bytes += held;
    free_buffer(st);
    return held;
}

// Moves next_seq forward by n; held ranges are re-based and those now behind are dropped.
void StreamReassembler::advance(StreamState& st, uint32_t n) {
    st.next_seq += n;
    StreamBuffer* b = st.buf;
    if (!b) return;
    uint32_t w = 0;
    for (uint32_t i = 0; i < b->n; ++i) {
        if (b->r[i].e <= n) continue;
        b->r[w].b = b->r[i].b > n ? b->r[i].b - n : 0;
        b->r[w].e = b->r[i].e - n;
        ++w;
    }
    b->n = w;
    if (w == 0) {
        free_buffer(st);
    } else {
        b->off += n;
    }
}

uint32_t StreamReassembler::deliver_held(StreamState& st, const StreamSink& sink) {
    uint32_t total = 0;
    while (st.buf && st.buf->n && st.buf->r[0].b == 0) {
        uint32_t e = st.buf->r[0].e;
        sink(StreamEvent::Data, st.buf->data + st.buf->off, e);
        advance(st, e);
        total += e;
    }
    return total;
}

// Gives up the hole before the first held range and delivers what follows it.
uint32_t StreamReassembler::skip_first_gap(StreamState& st, const StreamSink& sink) {
    uint32_t gap = st.buf->r[0].b;
    sink(StreamEvent::Gap, nullptr, gap);
    stats_.lost_bytes += gap;
    advance(st, gap);
    return gap;
}

// Copies the bytes of [rel, rel + len) that are not held yet. False if a bound forbids it
// (nothing changed then).
bool StreamReassembler::insert(StreamState& st, const uint8_t* data, uint32_t len, uint32_t rel,
                               uint32_t& overlap, bool& nothing_new, StreamBound& bound) {
    const uint64_t end64 = uint64_t{rel} + len;
    bound = StreamBound::Window;
    if (end64 > config_.max_window) return false;
    const uint32_t end = static_cast<uint32_t>(end64);
    StreamBuffer* b = st.buf;
    const uint32_t nr = b ? b->n : 0;
    // Ranges that overlap or touch [rel, end) merge with it.
    uint32_t i0 = 0;
    while (i0 < nr && b->r[i0].e < rel) ++i0;
    uint32_t i1 = i0;
    while (i1 < nr && b->r[i1].b <= end) ++i1; // one past the last merging range
    const uint32_t k = i1 - i0;
    uint32_t covered = 0;
    for (uint32_t i = i0; i < i1; ++i) {
        uint32_t lo = std::max(b->r[i].b, rel), hi = std::min(b->r[i].e, end);
        if (hi > lo) covered += hi - lo;
    }
    if (covered == len) {
        overlap = len;
        nothing_new = true;
        return true;
    }
    bound = StreamBound::Holes;
    if (nr - k + 1 > kMaxRanges) return false;

    bound = StreamBound::Budget;
    if (!b) {
        if (!budget_.reserve(sizeof(StreamBuffer))) return false;
        b = new (std::nothrow) StreamBuffer{};
        if (!b) {
            budget_.release(sizeof(StreamBuffer));
            return false;
        }
        st.buf = b;
    }
    if (uint64_t{b->off} + end > b->cap) {
        const uint32_t span = b->n ? b->r[b->n - 1].e : 0;
        if (b->off) {
            std::memmove(b->data, b->data + b->off, span);
            b->off = 0;
        }
        if (end > b->cap) {
            uint32_t cap = std::max(kMinBuffer, b->cap);
            while (cap < end) cap *= 2;
            cap = std::min(cap, std::max(config_.max_window, end));
            uint8_t* nd = nullptr;
            if (budget_.reserve(cap - b->cap)) {
                nd = static_cast<uint8_t*>(std::realloc(b->data, cap));
                if (!nd) budget_.release(cap - b->cap);
            }
            if (!nd) {
                if (b->n == 0) free_buffer(st);
                return false;
            }
            b->data = nd;
            b->cap = cap;
        }
    }
    // Copy only the holes: bytes already held win.
    uint8_t* base = b->data + b->off;
    uint32_t pos = rel;
    for (uint32_t i = i0; i < i1; ++i) {
        if (b->r[i].b > pos) std::memcpy(base + pos, data + (pos - rel), b->r[i].b - pos);
        pos = std::max(pos, b->r[i].e);
    }
    if (pos < end) std::memcpy(base + pos, data + (pos - rel), end - pos);
    StreamBuffer::Range merged{rel, end};
    if (k) {
        merged.b = std::min(rel, b->r[i0].b);
        merged.e = std::max(end, b->r[i1 - 1].e);
    }
    // Replace ranges [i0, i1) by the merged one.
    const uint32_t n_new = b->n - k + 1;
    if (k == 0) {
        std::memmove(&b->r[i0 + 1], &b->r[i0], (b->n - i0) * sizeof(StreamBuffer::Range));
    } else if (k > 1) {
        std::memmove(&b->r[i0 + 1], &b->r[i1], (b->n - i1) * sizeof(StreamBuffer::Range));
    }
    b->r[i0] = merged;
    b->n = n_new;
    overlap = covered;
    nothing_new = false;
    return true;
}

void StreamReassembler::end(StreamState& st, const StreamSink& sink, SegmentResult& r) {
    while (st.buf && st.buf->n) {
        r.lost += skip_first_gap(st, sink);
        r.delivered += deliver_held(st, sink);
    }
    st.flags |= kEnded;
    r.ended = true;
    sink(StreamEvent::End, nullptr, 0);
}

SegmentResult StreamReassembler::segment(StreamState& st, uint32_t seq, uint32_t flags,
                                         const uint8_t* payload, uint32_t len,
                                         const StreamSink& sink) {
    SegmentResult r;
    if (st.flags & kEnded) {
        r.status = SegmentStatus::AfterEnd;
        return r;
    }
    uint32_t cur = seq; // sequence number of payload[0]
    if (flags & MMT_STREAM_SYN) {
        cur = seq + 1; // the SYN itself takes one sequence number
        if (!(st.flags & kStarted)) {
            st.next_seq = cur;
            st.flags |= kStarted;
        }
    }
    if (!(st.flags & kStarted)) { // picked up mid-stream
        st.next_seq = cur;
        st.flags |= kStarted;
    }
    if ((flags & MMT_STREAM_FIN) && !(st.flags & kFinSeen)) {
        uint32_t fin = cur + len;
        if (static_cast<int32_t>(fin - st.next_seq) >= 0) { // first plausible FIN wins
            st.fin_seq = fin;
            st.flags |= kFinSeen;
        }
    }
    const uint8_t* d = payload;
    uint32_t n = len;
    if (st.flags & kFinSeen) { // nothing exists at or after the FIN
        int32_t room = static_cast<int32_t>(st.fin_seq - cur);
        n = room <= 0 ? 0 : std::min(n, static_cast<uint32_t>(room));
    }
    int32_t rel = static_cast<int32_t>(cur - st.next_seq);

    if (n == 0) {
        r.status = SegmentStatus::Empty;
    } else if (rel < 0 && static_cast<uint32_t>(-static_cast<int64_t>(rel)) >= n) {
        ++stats_.retransmissions; // entirely delivered already
        r.overlap = n;
        r.status = SegmentStatus::Duplicate;
    } else {
        if (rel < 0) { // the front was delivered already: trim it
            uint32_t old = static_cast<uint32_t>(-static_cast<int64_t>(rel));
            d += old;
            n -= old;
            cur += old;
            r.overlap += old;
            rel = 0;
        }
        for (;;) {
            if (rel == 0) {
                // In order. Bytes go straight from the packet except where a held range
                // already has them (first arrival wins); held bytes after it follow.
                uint32_t pos = 0;
                while (pos < n) {
                    if (st.buf && st.buf->n && st.buf->r[0].b == 0) {
                        uint32_t e = st.buf->r[0].e;
                        r.overlap += std::min(e, n - pos);
                        sink(StreamEvent::Data, st.buf->data + st.buf->off, e);
                        advance(st, e);
                        r.delivered += e;
                        pos += e;
                    } else {
                        uint32_t stop = (st.buf && st.buf->n) ? st.buf->r[0].b : n - pos;
                        uint32_t k = std::min(n - pos, stop);
                        sink(StreamEvent::Data, d + pos, k);
                        advance(st, k);
                        r.delivered += k;
                        pos += k;
                    }
                }
                r.delivered += deliver_held(st, sink);
                r.status = SegmentStatus::InOrder;
                break;
            }
            uint32_t ov = 0;
            bool nothing_new = false;
            StreamBound bound{};
            if (insert(st, d, n, static_cast<uint32_t>(rel), ov, nothing_new, bound)) {
                r.overlap += ov;
                if (nothing_new) {
                    ++stats_.retransmissions;
                    r.status = SegmentStatus::Duplicate;
                } else {
                    ++stats_.held_segments;
                    r.status = SegmentStatus::Held;
                }
                break;
            }
            // A bound forbids holding it: give up the oldest hole and try again.
            uint32_t gap = 0;
            if (st.buf && st.buf->n) {
                gap = skip_first_gap(st, sink);
                r.delivered += deliver_held(st, sink);
            } else {
                gap = static_cast<uint32_t>(rel);
                sink(StreamEvent::Gap, nullptr, gap);
                stats_.lost_bytes += gap;
                st.next_seq = cur;
            }
            r.lost += gap;
            ++stats_.skips[static_cast<size_t>(bound)];
            stats_.skipped_bytes[static_cast<size_t>(bound)] += gap;
            rel = static_cast<int32_t>(cur - st.next_seq);
            if (rel < 0) {
                uint32_t old = static_cast<uint32_t>(-static_cast<int64_t>(rel));
                if (old >= n) { // all of it came out of the held bytes just delivered
                    r.overlap += n;
                    r.status = SegmentStatus::InOrder;
                    break;
                }
                d += old;
                n -= old;
                cur += old;
                r.overlap += old;
                rel = 0;
            }
        }
    }
    stats_.overlap_bytes += r.overlap;

    if (flags & MMT_STREAM_RST) {
        end(st, sink, r);
    } else if ((st.flags & kFinSeen) && static_cast<int32_t>(st.next_seq - st.fin_seq) >= 0) {
        st.next_seq = st.fin_seq + 1; // the FIN takes one sequence number
        free_buffer(st);
        st.flags |= kEnded;
        r.ended = true;
        sink(StreamEvent::End, nullptr, 0);
    }
    return r;
}

// ---------------------------------------------------------------------------------------
// PDU framing
// ---------------------------------------------------------------------------------------

namespace {

constexpr uint8_t kDiscard = 1; // dropping bytes up to the next terminator
constexpr uint32_t kKeepBuffer = 4096;
constexpr uint32_t kMaxTerminator = 64;

// First terminator that ends within p[0, limit), possibly starting in the last bytes of
// prev. Sets `end` to the offset in p just after it.
bool find_terminator(const uint8_t* prev, uint32_t plen, const uint8_t* p, uint32_t limit,
                     const uint8_t* t, uint32_t tl, uint32_t& end) {
    for (uint32_t k = std::min(tl - 1, plen); k >= 1; --k) { // furthest back = earliest
        uint32_t rest = tl - k;
        if (rest <= limit && std::memcmp(prev + plen - k, t, k) == 0 &&
            std::memcmp(p, t + k, rest) == 0) {
            end = rest;
            return true;
        }
    }
    if (limit < tl) return false;
    const void* hit = memmem(p, limit, t, tl);
    if (!hit) return false;
    end = static_cast<uint32_t>(static_cast<const uint8_t*>(hit) - p) + tl;
    return true;
}

} // namespace

bool PduFramer::append(PduState& st, const uint8_t* data, uint32_t len, uint32_t maxp) {
    if (len == 0) return true;
    const uint64_t want = uint64_t{st.len} + len;
    if (want > st.cap) {
        uint64_t cap = std::max<uint64_t>({want, st.need, uint64_t{st.cap} * 2, 256});
        cap = std::min<uint64_t>(cap, std::max<uint64_t>(want, maxp));
        const uint32_t ncap = static_cast<uint32_t>(cap);
        if (!budget_.reserve(ncap - st.cap)) return false;
        auto* nb = static_cast<uint8_t*>(std::realloc(st.buf, ncap));
        if (!nb) {
            budget_.release(ncap - st.cap);
            return false;
        }
        st.buf = nb;
        st.cap = ncap;
    }
    std::memcpy(st.buf + st.len, data, len);
    st.len += len;
    return true;
}

void PduFramer::release(PduState& st) {
    if (st.buf) {
        budget_.release(st.cap);
        std::free(st.buf);
    }
    st.buf = nullptr;
    st.len = st.cap = st.need = st.skip = 0;
    st.flags = 0;
}

void PduFramer::clear(PduState& st) {
    st.len = 0;
    st.need = 0;
    if (st.cap > kKeepBuffer) { // keep small buffers for the next split PDU
        budget_.release(st.cap);
        std::free(st.buf);
        st.buf = nullptr;
        st.cap = 0;
    }
}

// Keeps the last `keep` bytes of buf ‖ data in buf (to find a terminator across chunks).
void PduFramer::keep_tail(PduState& st, const uint8_t* data, uint32_t len, uint32_t keep) {
    if (keep == 0) {
        st.len = 0;
        return;
    }
    uint8_t tail[kMaxTerminator];
    uint32_t from_buf = len >= keep ? 0 : std::min(keep - len, st.len);
    uint32_t from_data = std::min(len, keep);
    if (from_buf) std::memcpy(tail, st.buf + st.len - from_buf, from_buf);
    if (from_data) std::memcpy(tail + from_buf, data + len - from_data, from_data);
    st.len = 0;
    if (!append(st, tail, from_buf + from_data, config_.max_pdu))
        st.len = 0; // no tail: may miss a split one
}

// A PDU too long for its limit (`over_max`) or with a malformed length: counted, and
// reported with the bytes seen of it.
void PduFramer::report_malformed(PduState& st, bool over_max, const uint8_t* data, uint32_t len,
                                 const PduSink& sink) {
    if (over_max) ++stats_.over_max;
    ++st.malformed;
    sink(PduEvent::Malformed, data, len);
}

// The bytes of a PDU the budget refused to buffer: counted, and reported.
void PduFramer::report_dropped(PduState& st, const uint8_t* data, uint32_t len,
                               const PduSink& sink) {
    ++st.dropped;
    ++stats_.budget_dropped;
    sink(PduEvent::Dropped, data, len);
}

// What follows is no PDU's up to the next terminator: buf keeps only the last tl - 1 bytes
// of buf ‖ data, where a terminator split across chunks may start.
void PduFramer::discard_to_terminator(PduState& st, const uint8_t* data, uint32_t len,
                                      uint32_t tl) {
    st.flags |= kDiscard;
    keep_tail(st, data, len, tl - 1);
}

void PduFramer::feed(PduState& st, const PduRule& rule, const uint8_t* data, uint32_t len,
                     const PduSink& sink) {
    if (len == 0) return;
    if (rule.length) {
        feed_length(st, rule, data, len, sink);
    } else if (rule.terminator && rule.terminator_len) {
        feed_terminator(st, rule, data, len, sink);
    } else {
        ++st.pdus;
        sink(PduEvent::Pdu, data, len);
    }
}

void PduFramer::feed_length(PduState& st, const PduRule& rule, const uint8_t* data, uint32_t len,
                            const PduSink& sink) {
    const uint32_t maxp = std::max<uint32_t>(1, rule.max_pdu ? rule.max_pdu : config_.max_pdu);
    uint32_t pos = 0;
    while (pos < len) {
        if (st.skip) {
            uint32_t k = std::min(st.skip, len - pos);
            pos += k;
            st.skip -= k;
            continue;
        }
        const uint8_t* p = data + pos;
        const uint32_t avail = len - pos;
        if (st.len == 0) {
            // A PDU starts here.
            const uint32_t look = std::min(avail, maxp);
            const int64_t L = rule.length(rule.length_ctx, p, look);
            if (L < 0 || (L == 0 && look == maxp)) {
                // L == 0: no length within max_pdu bytes
                report_malformed(st, L == 0, p, look, sink);
                pos += look; // the bytes examined are dropped
                continue;
            }
            if (L > maxp) {
                report_malformed(st, true, p, look, sink);
                st.skip = static_cast<uint32_t>(std::min<int64_t>(L, 0xffffffff));
                continue;
            }
            if (L > 0 && L <= avail) { // whole in this chunk: zero-copy
                ++st.pdus;
                sink(PduEvent::Pdu, p, static_cast<uint32_t>(L));
                pos += static_cast<uint32_t>(L);
                continue;
            }
            st.need = static_cast<uint32_t>(L);
            if (!append(st, p, avail, maxp)) {
                report_dropped(st, p, avail, sink);
                st.skip = st.need ? st.need - avail : 0;
                st.need = 0;
            }
            pos = len;
            continue;
        }
        if (st.need) { // length known: collect the rest
            const uint32_t take = std::min(st.need - st.len, avail);
            if (!append(st, p, take, maxp)) {
                report_dropped(st, st.buf, st.len, sink);
                st.skip = st.need - st.len;
                clear(st);
                continue;
            }
            pos += take;
            if (st.len == st.need) {
                ++st.pdus;
                sink(PduEvent::Pdu, st.buf, st.len);
                clear(st);
            }
            continue;
        }
        // Length unknown yet: add bytes and ask again.
        const uint32_t before = st.len;
        const uint32_t take = std::min(maxp - st.len, avail);
        if (!append(st, p, take, maxp)) {
            report_dropped(st, st.buf, st.len, sink);
            clear(st);
            continue;
        }
        pos += take;
        const int64_t L = rule.length(rule.length_ctx, st.buf, st.len);
        if (L < 0 || (L > 0 && L < before) || (L == 0 && st.len >= maxp)) {
            report_malformed(st, L == 0, st.buf, st.len, sink);
            clear(st);
            continue;
        }
        if (L > maxp) {
            report_malformed(st, true, st.buf, st.len, sink);
            st.skip = static_cast<uint32_t>(std::min<int64_t>(L, 0xffffffff)) - st.len;
            clear(st);
            continue;
        }
        if (L > 0 && L <= st.len) {
            pos -= st.len - static_cast<uint32_t>(L); // bytes past the PDU belong to the next
            ++st.pdus;
            sink(PduEvent::Pdu, st.buf, static_cast<uint32_t>(L));
            clear(st);
            continue;
        }
        st.need = static_cast<uint32_t>(L);
    }
}

void PduFramer::feed_terminator(PduState& st, const PduRule& rule, const uint8_t* data,
                                uint32_t len, const PduSink& sink) {
    const uint8_t* t = rule.terminator;
    const uint32_t tl = std::min(rule.terminator_len, kMaxTerminator);
    const uint32_t maxp = std::max(rule.max_pdu ? rule.max_pdu : config_.max_pdu, tl);
    uint32_t pos = 0;
    while (pos < len) {
        const uint8_t* p = data + pos;
        const uint32_t avail = len - pos;
        uint32_t end = 0;
        if (st.flags & kDiscard) { // buf holds the last bytes seen, not a PDU
            if (find_terminator(st.buf, st.len, p, avail, t, tl, end)) {
                st.flags &= static_cast<uint8_t>(~kDiscard);
                st.len = 0;
                pos += end;
            } else {
                keep_tail(st, p, avail, tl - 1);
                pos = len;
            }
            continue;
        }
        if (st.len == 0) {
            const uint32_t window = std::min(avail, maxp);
            if (find_terminator(nullptr, 0, p, window, t, tl, end)) { // zero-copy
                ++st.pdus;
                sink(PduEvent::Pdu, p, end);
                pos += end;
                continue;
            }
            if (avail >= maxp) { // no terminator within max_pdu bytes
                report_malformed(st, true, p, maxp, sink);
                discard_to_terminator(st, p, maxp, tl);
                pos += maxp;
                continue;
            }
            if (!append(st, p, avail, maxp)) {
                report_dropped(st, p, avail, sink);
                discard_to_terminator(st, p, avail, tl);
            }
            pos = len;
            continue;
        }
        // The PDU started in an earlier chunk; it may take `room` more bytes at most.
        const uint32_t room = maxp - st.len;
        if (find_terminator(st.buf, st.len, p, std::min(avail, room), t, tl, end)) {
            if (!append(st, p, end, maxp)) {
                report_dropped(st, st.buf, st.len, sink);
                clear(st);
            } else {
                ++st.pdus;
                sink(PduEvent::Pdu, st.buf, st.len);
                clear(st);
            }
            pos += end;
            continue;
        }
        if (avail >= room) {
            report_malformed(st, true, st.buf, st.len, sink);
            discard_to_terminator(st, p, room, tl);
            pos += room;
            continue;
        }
        if (!append(st, p, avail, maxp)) {
            report_dropped(st, st.buf, st.len, sink);
            discard_to_terminator(st, p, avail, tl);
        }
        pos = len;
    }
}

void PduFramer::gap(PduState& st, uint32_t len, const PduSink& sink) {
    if (st.skip) { // inside an over-long PDU being skipped
        if (len < st.skip) {
            st.skip -= len;
        } else {
            st.skip = 0; // the gap runs past its end: the boundary is unknown
        }
        return;
    }
    if (st.flags & kDiscard) {
        st.flags &= static_cast<uint8_t>(~kDiscard);
        clear(st);
        return;
    }
    if (st.len == 0) return; // the gap starts at a PDU boundary
    ++st.dropped;
    sink(PduEvent::Dropped, st.buf, st.len);
    if (st.need && uint64_t{st.len} + len < st.need)
        st.skip = st.need - st.len - len; // the rest of this PDU, then in step again
    clear(st);
}

} // namespace mmt
