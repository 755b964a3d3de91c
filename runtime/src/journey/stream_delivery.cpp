// Stream delivery (see stream_delivery.h): in-order data and whole PDUs back to the journey.
#include "journey/stream_delivery.h"

#include <algorithm>
#include <string>

namespace mmt {

namespace {

StreamConfig stream_config(const HandlerOptions& o) {
    StreamConfig c;
    c.max_window = o.max_stream_buffer;
    return c;
}

PduConfig pdu_config(const HandlerOptions& o) {
    PduConfig c;
    c.max_pdu = std::max<uint32_t>(1, o.max_pdu);
    return c;
}

// A session's stream (FlowData::stream) is made when it first carries more than a SYN:
// scans and floods send SYNs that nothing follows, and a session of one SYN keeps it as
// a word, not in an allocation of its own: bit 0 set, bit 1 its direction, its sequence
// number above. A SYN on an empty direction starts it and makes nothing else happen
// (StreamReassembler::segment), so it is given to the direction once the stream is made.
constexpr uintptr_t kLoneSyn = 1;
static_assert(sizeof(uintptr_t) == 8, "a lone SYN's sequence number fits above its bits");

StreamPair* pair_of(const FlowData& d) {
    return d.stream & kLoneSyn ? nullptr : reinterpret_cast<StreamPair*>(d.stream);
}

void ignore_events(void*, StreamEvent, const uint8_t*, uint32_t) {}

/// What the stream and PDU sinks need while a segment is being delivered.
struct Delivery {
    const ProtocolLibrary::Impl* lib;
    const Flows* flows;
    ChunkSink* sink;
    Flow* flow;
    const LayerState* layer;
    const mmt_proto* app;
    PduState* pdu;
    PduFramer* framer;
    PduRule rule;
    uint32_t body_kept;     // HandlerOptions::max_kept_body
    uint32_t* head_scanned; // bytes of the PDU being framed known to hold no terminator
    uint32_t* body_after;   // a long body to skip once its head is delivered
    uint64_t* bodies_skipped;
    bool framed;
    bool keep;
    bool wanted; // ChunkSink::wants_stream
};

constexpr size_t kNoHead = ~size_t{0};

/// The end of a PDU's head (`pdu until` with `pdu_body`), searched only in what was not
/// searched before, so a PDU costs its length once however many segments it takes;
/// kNoHead while the head is incomplete.
size_t head_end(Delivery& d, const uint8_t* data, uint32_t len) {
    std::string_view t(d.app->pdu_terminator, d.app->pdu_terminator_len);
    uint32_t from = *d.head_scanned > t.size() ? uint32_t(*d.head_scanned - t.size() + 1) : 0;
    std::string_view bytes(reinterpret_cast<const char*>(data), len);
    size_t at = from < len ? bytes.find(t, from) : std::string_view::npos;
    if (at == std::string_view::npos) {
        *d.head_scanned = len;
        return kNoHead;
    }
    return at + t.size();
}

/// Bodies up to HandlerOptions::max_kept_body are kept with their head, so that the PDU is
/// parsed on the packet that completes it (as tshark does); a longer body is skipped after
/// its head, which is parsed when it is complete: nothing holds a download in memory.
int64_t pdu_length(void* ctx, const uint8_t* data, uint32_t len) {
    auto* d = static_cast<Delivery*>(ctx);
    size_t head = 0;
    if (d->app->flags & MMT_PROTO_PDU_UNTIL) {
        // A head, then a body: the framer asks again as bytes arrive.
        head = head_end(*d, data, len);
        if (head == kNoHead) return 0;
    }
    mmt_ctx c = d->layer->ctx;
    c.data = data;
    c.len = len;
    c.memo = nullptr; // the transport's
    c.parent = &d->layer->ctx;
    c.parent_id = d->lib->table->protos[d->layer->proto].id; // the transport: `parent_is(tcp)`
    // The session's state of the application protocol, as its last message left it
    // (`pdu_body` may read it, e.g. HTTP responses to HEAD requests have no body).
    c.state = d->flows->state_for(*d->flow, d->flow->data->app);
    int64_t total = d->app->pdu_length(&c);
    if (head && total > int64_t(head) && total - int64_t(head) > d->body_kept) {
        *d->body_after = uint32_t(std::min<int64_t>(total - int64_t(head), 0xffffffff));
        return int64_t(head);
    }
    return total;
}

void on_pdu(void* ctx, PduEvent e, const uint8_t* data, uint32_t len) {
    auto* d = static_cast<Delivery*>(ctx);
    *d->head_scanned = 0; // whatever happened, the next PDU starts afresh
    if (e == PduEvent::Pdu && *d->body_after) {
        d->pdu->skip = *d->body_after; // a long body, not kept: the framer steps over it
        *d->body_after = 0;
        ++*d->bodies_skipped;
    }
    if (!d->keep) return;
    if (e == PduEvent::Pdu) {
        if (!d->sink->chunk(d->flow->data->app, data, len, d->layer, d->flow)) d->keep = false;
    } else if (e == PduEvent::Malformed) {
        d->sink->malformed(std::string(d->app->name) + ".pdu_length");
    }
}

void on_stream(void* ctx, StreamEvent e, const uint8_t* data, uint32_t len) {
    auto* d = static_cast<Delivery*>(ctx);
    if (!d->keep || !d->app || !d->wanted) return;
    if (e == StreamEvent::Data) {
        if (d->framed)
            d->framer->feed(*d->pdu, d->rule, data, len, PduSink{&on_pdu, d});
        else if (!d->sink->chunk(d->flow->data->app, data, len, d->layer, d->flow))
            d->keep = false;
    } else if (e == StreamEvent::Gap && d->framed) {
        *d->head_scanned = 0;
        d->framer->gap(*d->pdu, len, PduSink{&on_pdu, d});
    }
}

/// How the application protocol `app` frames its PDUs, if it does.
void frame_rule(Delivery& d, const mmt_proto& app) {
    d.app = &app;
    d.rule.max_pdu = app.max_pdu; // the spec's `max_pdu`, else the run's
    if (app.flags & MMT_PROTO_PDU_LENGTH) {
        d.rule.length = &pdu_length;
        d.rule.length_ctx = &d;
        d.framed = true;
    } else if ((app.flags & MMT_PROTO_PDU_UNTIL) && app.pdu_terminator_len) {
        d.rule.terminator = reinterpret_cast<const uint8_t*>(app.pdu_terminator);
        d.rule.terminator_len = app.pdu_terminator_len;
        d.framed = true;
    }
}

} // namespace

StreamDelivery::StreamDelivery(const ProtocolLibrary::Impl& lib, const Flows& flows,
                               const HandlerOptions& opts, ByteBudget& budget)
    : lib_(lib), flows_(flows), body_kept_(opts.max_kept_body),
      streams_(stream_config(opts), budget), framer_(pdu_config(opts), budget) {}

bool StreamDelivery::deliver(Flow& flow, const LayerState& layer, const mmt_stream_info& si,
                             const uint8_t* payload, uint32_t len, ChunkSink& sink, bool& held) {
    FlowData& fd = *flow.data;
    StreamPair* sp = pair_of(fd);
    if (!sp) {
        if (fd.stream == 0 && si.flags == MMT_STREAM_SYN && len == 0) {
            fd.stream = uintptr_t{si.seq} << 32 | uintptr_t{flow.direction} << 1 | kLoneSyn;
            held = false;
            return true;
        }
        sp = new StreamPair{};
        if (fd.stream & kLoneSyn)
            streams_.segment(sp->stream[(fd.stream >> 1) & 1], uint32_t(fd.stream >> 32),
                             MMT_STREAM_SYN, nullptr, 0, StreamSink{&ignore_events, nullptr});
        fd.stream = reinterpret_cast<uintptr_t>(sp);
    }
    Delivery d{};
    d.lib = &lib_;
    d.flows = &flows_;
    d.sink = &sink;
    d.flow = &flow;
    d.layer = &layer;
    d.keep = true;
    d.wanted = sink.wants_stream(flow);
    d.framer = &framer_;
    d.body_kept = body_kept_;
    d.bodies_skipped = &bodies_skipped_;
    if (fd.app >= 0) frame_rule(d, lib_.table->protos[fd.app]);
    if (d.framed && d.wanted) {
        if (!sp->framing) sp->framing = std::make_unique<StreamFraming>();
        StreamFraming& f = *sp->framing;
        d.pdu = &f.pdu[flow.direction];
        d.head_scanned = &f.head_scanned[flow.direction];
        d.body_after = &f.body_after[flow.direction];
    } else {
        d.framed = false; // nothing to frame (on_stream passes the data on whole, if wanted)
    }
    SegmentResult r = streams_.segment(sp->stream[flow.direction], si.seq, si.flags, payload, len,
                                       StreamSink{&on_stream, &d});
    held = r.status == SegmentStatus::Held;
    if (r.ended) fd.flags |= flow.direction ? kFlowEnded1 : kFlowEnded0;
    // The flow is over when both directions ended, or at a reset.
    if ((si.flags & MMT_STREAM_RST) || ((fd.flags & kFlowEnded0) && (fd.flags & kFlowEnded1)))
        fd.flags |= kFlowClosing;
    return d.keep;
}

void StreamDelivery::release(FlowData& d) {
    StreamPair* sp = pair_of(d);
    d.stream = 0;
    if (!sp) return;
    for (int i = 0; i < 2; ++i) {
        streams_.release(sp->stream[i]);
        if (sp->framing) framer_.release(sp->framing->pdu[i]);
    }
    delete sp;
}

} // namespace mmt
