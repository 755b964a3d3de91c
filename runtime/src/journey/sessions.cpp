// Sessions for the journey: the flow table with its per-session blob (FlowData, then each
// protocol's declared state), stream delivery with PDU framing, and defragmentation.
#include "journey/sessions.h"

#include "output/format.h"

#include <algorithm>
#include <cstring>

namespace mmt {

void markMalformed(Handler::Impl& h, const std::string& where);

namespace {

/// Layout of the per-session blob: FlowData, then every protocol's state, 8-byte aligned.
std::vector<uint32_t> stateLayout(const mmt_library& t, uint32_t& total) {
    std::vector<uint32_t> off(t.n_protos, 0);
    total = sizeof(FlowData);
    for (uint32_t i = 0; i < t.n_protos; ++i) {
        if (!t.protos[i].state_size) continue;
        total = (total + 7) & ~7u;
        off[i] = total;
        total += t.protos[i].state_size;
    }
    return off;
}

FlowTableConfig tableConfig(const mmt_library& t, const HandlerOptions& o) {
    FlowTableConfig c;
    c.max_sessions = o.max_sessions;
    uint32_t total = 0;
    stateLayout(t, total);
    c.state_size = total;
    return c;
}

DefragConfig defragConfig(const HandlerOptions& o) {
    DefragConfig c;
    c.timeout_ms = o.fragment_timeout_ms;
    return c;
}

StreamConfig streamConfig(const HandlerOptions& o) {
    StreamConfig c;
    c.max_window = o.max_stream_buffer;
    return c;
}

PduConfig pduConfig(const HandlerOptions& o) {
    PduConfig c;
    c.max_pdu = std::max<uint32_t>(c.max_pdu, std::min<uint32_t>(o.max_stream_buffer, 1u << 20));
    return c;
}

StreamPair* pairOf(const Session& s) {
    return reinterpret_cast<StreamPair*>(static_cast<uintptr_t>(s.user[1]));
}

} // namespace

Sessions::Sessions(const ProtocolLibrary::Impl& lib, const HandlerOptions& opts)
    : lib_(lib), opts_(opts), budget_(opts.max_buffered_bytes),
      table_(tableConfig(*lib.table, opts)), streams_(streamConfig(opts), budget_),
      framer_(pduConfig(opts), budget_), defrag_(defragConfig(opts), budget_) {
    uint32_t total = 0;
    stateOffset_ = stateLayout(*lib.table, total);
    for (uint32_t i = 0; i < lib.table->n_protos; ++i)
        if (stateOffset_[i] && lib.table->protos[i].init_state)
            initStates_.push_back({lib.table->protos[i].init_state, stateOffset_[i]});
    table_.on_end(&Sessions::sessionEnded, this);
}

Sessions::~Sessions() {
    // Sessions still open end quietly: their stream buffers go back to the budget.
    onEnd = nullptr;
    table_.flush();
}

void Sessions::beginPacket(uint64_t ts_ns) {
    key_.shared_len = key_.a_len = key_.b_len = key_.overflow = 0;
    nKeyParts_ = 0;
    nFlows_ = 0;
    now_ = ts_ns;
    // Expiry runs on packet time and costs only what expires.
    table_.expire(ts_ns);
    defrag_.expire(ts_ns);
}

void Sessions::addKey(int proto, const mmt_proto& p, const mmt_ctx& ctx) {
    uint16_t aBefore = key_.a_len;
    mmt_key saved;
    saved.shared_len = key_.shared_len;
    saved.a_len = key_.a_len;
    saved.b_len = key_.b_len;
    if (!p.key(&ctx, &key_)) {
        // A key that cannot be read adds nothing (the parts already appended are dropped).
        key_.shared_len = saved.shared_len;
        key_.a_len = saved.a_len;
        key_.b_len = saved.b_len;
        return;
    }
    if (p.sides && nKeyParts_ < kMaxDepth) keyParts_[nKeyParts_++] = KeyPart{proto, &ctx, aBefore};
}

/// Where single-value sides (addresses, ports) lie in the key: read once, when a session
/// is created, for its flow record.
void Sessions::locateSides(FlowData& d) {
    d.addr_off = d.addr_len = d.port_off = d.port_len = 0;
    for (unsigned i = 0; i < nKeyParts_; ++i) {
        const KeyPart& k = keyParts_[i];
        const mmt_proto& p = lib_.table->protos[k.proto];
        mmt_value a{}, b{};
        if (!p.sides(k.ctx, &a, &b)) continue;
        if (a.type == MMT_T_IPV4 || a.type == MMT_T_IPV6) {
            d.addr_off = uint8_t(k.aBefore);
            d.addr_len = uint8_t(a.len);
        } else if (a.type == MMT_T_UINT) {
            // Integers are appended big-endian in as many bytes as their width needs; the
            // next part (or the end of the side) tells how many.
            uint16_t end = i + 1 < nKeyParts_ ? keyParts_[i + 1].aBefore : key_.a_len;
            if (end > k.aBefore && end - k.aBefore <= 8) {
                d.port_off = uint8_t(k.aBefore);
                d.port_len = uint8_t(end - k.aBefore);
            }
        }
    }
}

Flow* Sessions::lookup(int proto, const RawPacket& raw, const PacketView::Impl& pv) {
    const mmt_proto& p = lib_.table->protos[proto];
    if (key_.overflow || nFlows_ >= kMaxDepth) return nullptr;
    FlowLookup r = table_.lookup(key_, p.id, p.session_timeout_ms, raw.ts_ns, raw.wirelen);
    auto* d = static_cast<FlowData*>(table_.state(*r.session));
    if (r.created) {
        d->app = -1;
        d->guess = -1;
        d->flags = r.high ? kFlowInitiatorHigh : 0;
        locateSides(*d);
        d->path_len = 0;
        for (const Layer& l : pv.path)
            if (l.proto > 0 && d->path_len < kFlowPathMax)
                d->path[d->path_len++] = ProtoIndex(l.proto);
        uint8_t* blob = reinterpret_cast<uint8_t*>(d);
        for (const auto& [init, offset] : initStates_) init(blob + offset);
        d->flags |= kFlowStarted;
        if (onStart) onStart(describe(*r.session, *d));
    }
    Flow& f = flows_[nFlows_++];
    f.session = r.session;
    f.data = d;
    f.direction = r.direction;
    f.proto = proto;
    return &f;
}

void* Sessions::stateFor(Flow& flow, int proto) {
    if (!stateOffset_[size_t(proto)]) return nullptr;
    return reinterpret_cast<uint8_t*>(flow.data) + stateOffset_[size_t(proto)];
}

void Sessions::gaveUp(FlowData& d) const {
    if (++d.tries >= opts_.classify_packets) d.app = -2;
}

void Sessions::classified(Flow& flow, int next) {
    if (next < 0 || flow.data->app >= 0) return;
    flow.data->app = ProtoIndex(next);
    if (onClassified) onClassified(describe(*flow.session, *flow.data));
}

bool Sessions::defragment(int proto, const mmt_frag_info& fi, const uint8_t* data, uint32_t len,
                          uint64_t ts_ns, const uint8_t*& whole, uint32_t& wholeLen,
                          uint32_t& overlap) {
    // The key: every session-key part gathered so far (addresses included), the protocol
    // and the fragment id.
    fragKey_.clear();
    fragKey_.insert(fragKey_.end(), key_.shared, key_.shared + key_.shared_len);
    fragKey_.push_back(uint8_t(key_.a_len));
    fragKey_.insert(fragKey_.end(), key_.a, key_.a + key_.a_len);
    fragKey_.insert(fragKey_.end(), key_.b, key_.b + key_.b_len);
    uint32_t id = lib_.table->protos[proto].id;
    fragKey_.insert(fragKey_.end(), reinterpret_cast<const uint8_t*>(&id),
                    reinterpret_cast<const uint8_t*>(&id) + 4);
    fragKey_.insert(fragKey_.end(), reinterpret_cast<const uint8_t*>(&fi.id),
                    reinterpret_cast<const uint8_t*>(&fi.id) + sizeof fi.id);
    FragResult r =
        defrag_.add(std::span<const uint8_t>(fragKey_), fi.offset, fi.more != 0, data, len, ts_ns);
    overlap = r.overlap;
    if (r.status != FragStatus::Complete) return false;
    whole = r.data;
    wholeLen = r.len;
    return true;
}

namespace {

/// What the stream and PDU sinks need while a segment is being delivered.
struct Delivery {
    Sessions* self;
    Handler::Impl* h;
    Flow* flow;
    LayerState* layer;
    const mmt_proto* app;
    PduState* pdu;
    PduFramer* framer;
    PduRule rule;
    uint32_t* headScanned; // bytes of the PDU being framed known to hold no terminator
    uint32_t* bodyAfter;   // a long body to skip once its head is delivered
    bool framed;
    bool keep;
};

/// Bodies up to this size are kept with their head, so that the PDU is parsed on the
/// packet that completes it (as tshark does); a longer body is skipped after its head,
/// which is parsed when it is complete: nothing holds a download in memory.
constexpr uint32_t kBodyKept = 64 * 1024;

int64_t pduLength(void* ctx, const uint8_t* data, uint32_t len) {
    auto* d = static_cast<Delivery*>(ctx);
    size_t headEnd = 0;
    if (d->app->flags & MMT_PROTO_PDU_UNTIL) {
        // A head, then a body (`pdu until` with `pdu_body`): the framer asks again as bytes
        // arrive; look for the head's end only in what was not searched before, so a PDU
        // costs its length once, however many segments it takes.
        std::string_view t(d->app->pdu_terminator, d->app->pdu_terminator_len);
        uint32_t from = *d->headScanned > t.size() ? uint32_t(*d->headScanned - t.size() + 1) : 0;
        std::string_view bytes(reinterpret_cast<const char*>(data), len);
        size_t at = from < len ? bytes.find(t, from) : std::string_view::npos;
        if (at == std::string_view::npos) {
            *d->headScanned = len;
            return 0;
        }
        headEnd = at + t.size();
    }
    mmt_ctx c = d->layer->ctx;
    c.data = data;
    c.len = len;
    c.parent = &d->layer->ctx;
    c.parent_id = d->self->protoId(d->layer->proto); // the transport: `parent_is(tcp)`
    // The session's state of the application protocol, as its last message left it
    // (`pdu_body` may read it, e.g. HTTP responses to HEAD requests have no body).
    c.state = d->self->stateFor(*d->flow, d->flow->data->app);
    int64_t total = d->app->pdu_length(&c);
    if (headEnd && total > int64_t(headEnd) && total - int64_t(headEnd) > kBodyKept) {
        *d->bodyAfter = uint32_t(std::min<int64_t>(total - int64_t(headEnd), 0xffffffff));
        return int64_t(headEnd);
    }
    return total;
}

void onPdu(void* ctx, PduEvent e, const uint8_t* data, uint32_t len) {
    auto* d = static_cast<Delivery*>(ctx);
    *d->headScanned = 0; // whatever happened, the next PDU starts afresh
    if (e == PduEvent::Pdu && *d->bodyAfter) {
        d->pdu->skip = *d->bodyAfter; // a long body, not kept: the framer steps over it
        *d->bodyAfter = 0;
    }
    if (!d->keep) return;
    if (e == PduEvent::Pdu) {
        if (!walkChunk(*d->h, d->flow->data->app, data, len, &d->layer->ctx, d->flow))
            d->keep = false;
    } else if (e == PduEvent::Malformed) {
        markMalformed(*d->h, std::string(d->app->name) + ".pdu_length");
    }
}

void onStream(void* ctx, StreamEvent e, const uint8_t* data, uint32_t len) {
    auto* d = static_cast<Delivery*>(ctx);
    if (!d->keep || !d->app) return;
    if (e == StreamEvent::Data) {
        if (d->framed)
            d->framer->feed(*d->pdu, d->rule, data, len, PduSink{&onPdu, d});
        else if (!walkChunk(*d->h, d->flow->data->app, data, len, &d->layer->ctx, d->flow))
            d->keep = false;
    } else if (e == StreamEvent::Gap && d->framed) {
        *d->headScanned = 0;
        d->framer->gap(*d->pdu, len, PduSink{&onPdu, d});
    }
}

} // namespace

bool Sessions::stream(Flow& flow, int proto, LayerState& layer, const uint8_t* payload,
                      uint32_t len, Handler::Impl& h, bool& held) {
    held = false;
    const mmt_proto& p = lib_.table->protos[proto];
    mmt_stream_info si{};
    if (!p.stream || !p.stream(&layer.ctx, &si)) return true;
    Session& s = *flow.session;
    FlowData& fd = *flow.data;
    StreamPair* sp = pairOf(s);
    if (!sp) {
        sp = new StreamPair{};
        s.user[1] = reinterpret_cast<uintptr_t>(sp);
    }
    // Without payload only port rules can answer: a guess, for flows that never carry any.
    if (fd.app == -1 && len == 0 && fd.guess == -1)
        fd.guess = ProtoIndex(std::max(-2, classifyLayer(h, layer)));
    // Classify on the first payloads while the session does not know what runs above.
    if (fd.app == -1 && len > 0) {
        int next = classifyLayer(h, layer);
        if (next >= 0)
            classified(flow, next);
        else
            gaveUp(fd);
    }
    Delivery d{};
    d.self = this;
    d.h = &h;
    d.flow = &flow;
    d.layer = &layer;
    d.keep = true;
    d.framer = &framer_;
    d.pdu = &sp->pdu[flow.direction];
    d.headScanned = &sp->headScanned[flow.direction];
    d.bodyAfter = &sp->bodyAfter[flow.direction];
    if (fd.app >= 0) {
        d.app = &lib_.table->protos[fd.app];
        if (d.app->flags & MMT_PROTO_PDU_LENGTH) {
            d.rule.length = &pduLength;
            d.rule.length_ctx = &d;
            d.framed = true;
        } else if ((d.app->flags & MMT_PROTO_PDU_UNTIL) && d.app->pdu_terminator_len) {
            d.rule.terminator = reinterpret_cast<const uint8_t*>(d.app->pdu_terminator);
            d.rule.terminator_len = d.app->pdu_terminator_len;
            d.framed = true;
        }
    }
    SegmentResult r = streams_.segment(sp->stream[flow.direction], si.seq, si.flags, payload, len,
                                       StreamSink{&onStream, &d});
    held = r.status == SegmentStatus::Held;
    if (r.ended) fd.flags |= flow.direction ? kFlowEnded1 : kFlowEnded0;
    // The flow is over when both directions ended, or at a reset.
    if ((si.flags & MMT_STREAM_RST) || ((fd.flags & kFlowEnded0) && (fd.flags & kFlowEnded1)))
        fd.flags |= kFlowClosing;
    return d.keep;
}

void Sessions::finish() {
    table_.flush();
    defrag_.flush();
}

const std::string& Sessions::pathName(const FlowData& d) const {
    // Flows share a handful of paths: each is spelled once.
    char key[sizeof d.path + sizeof d.app];
    size_t n = std::min<size_t>(d.path_len, kFlowPathMax);
    std::memcpy(key, d.path, n * sizeof d.path[0]);
    std::memcpy(key + n * sizeof d.path[0], &d.app, sizeof d.app);
    std::string_view k(key, n * sizeof d.path[0] + sizeof d.app);
    auto it = pathNames_.find(k);
    if (it != pathNames_.end()) return it->second;
    if (pathNames_.size() >= 4096) pathNames_.clear();
    std::string name;
    for (size_t i = 0; i < n; ++i) {
        if (i) name += '.';
        name += lib_.table->protos[d.path[i]].name;
    }
    // The path shows what packets went through; the application falls back on the guess.
    if (d.app >= 0) {
        name += '.';
        name += lib_.table->protos[d.app].name;
    }
    return pathNames_.emplace(std::string(k), std::move(name)).first->second;
}

SessionInfo Sessions::describe(const Session& s, const FlowData& d) const {
    SessionInfo info;
    info.id = s.id;
    int proto = lib_.indexOfId(s.proto_id);
    info.transport = proto >= 0 ? lib_.table->protos[proto].name : "";
    info.path = pathName(d);
    int app = d.app >= 0 ? d.app : d.guess >= 0 ? d.guess : -1;
    // A session protocol without ports (ICMP, IGMP, ESP, OSPF) is the flow's application
    // itself, as nDPI names such flows; behind ports it is the protocol classified above.
    if (app < 0 && d.port_len == 0 && proto >= 0) app = proto;
    if (app >= 0) info.application = lib_.table->protos[app].name;
    info.packets[0] = s.packets[0];
    info.packets[1] = s.packets[1];
    info.bytes[0] = s.bytes[0];
    info.bytes[1] = s.bytes[1];
    info.first_ns = s.first_ns;
    info.last_ns = s.last_ns;
    // Addresses and ports come from the canonical key: [shared_len][low_len] shared low high.
    std::span<const uint8_t> k = table_.key(s);
    if (k.size() < 2) return info;
    size_t sl = k[0], ll = k[1];
    if (2 + sl + ll > k.size()) return info;
    const uint8_t* low = k.data() + 2 + sl;
    const uint8_t* high = low + ll;
    size_t hl = k.size() - 2 - sl - ll;
    bool initiatorHigh = d.flags & kFlowInitiatorHigh;
    const uint8_t* src = initiatorHigh ? high : low;
    const uint8_t* dst = initiatorHigh ? low : high;
    size_t srcLen = initiatorHigh ? hl : ll, dstLen = initiatorHigh ? ll : hl;
    auto inSide = [](size_t off, size_t len, size_t side) { return len && off + len <= side; };
    if (inSide(d.addr_off, d.addr_len, srcLen) && inSide(d.addr_off, d.addr_len, dstLen)) {
        mmt_value v{};
        v.type = d.addr_len == 4 ? MMT_T_IPV4 : MMT_T_IPV6;
        v.len = d.addr_len;
        v.ptr = src + d.addr_off;
        info.src = formatValue(v);
        v.ptr = dst + d.addr_off;
        info.dst = formatValue(v);
    }
    if (inSide(d.port_off, d.port_len, srcLen) && inSide(d.port_off, d.port_len, dstLen)) {
        for (uint8_t i = 0; i < d.port_len; ++i) {
            info.src_port = info.src_port << 8 | src[d.port_off + i];
            info.dst_port = info.dst_port << 8 | dst[d.port_off + i];
        }
    }
    return info;
}

void Sessions::sessionEnded(void* ctx, const FlowTable& table, Session& s, SessionEnd why) {
    auto* self = static_cast<Sessions*>(ctx);
    auto* d = static_cast<FlowData*>(table.state(s));
    if (self->onEnd && (d->flags & kFlowStarted)) {
        SessionInfo info = self->describe(s, *d);
        bool closing = d->flags & kFlowClosing;
        switch (why) {
        case SessionEnd::Timeout:
            info.end_reason = closing ? "closed" : "timeout";
            break;
        case SessionEnd::Evicted:
            info.end_reason = "evicted";
            break;
        case SessionEnd::EndOfInput:
            info.end_reason = closing ? "closed" : "end of input";
            break;
        case SessionEnd::Closed:
            info.end_reason = "closed";
            break;
        }
        self->onEnd(info);
    }
    if (StreamPair* sp = pairOf(s)) {
        for (int i = 0; i < 2; ++i) {
            self->streams_.release(sp->stream[i]);
            self->framer_.release(sp->pdu[i]);
        }
        delete sp;
        s.user[1] = 0;
    }
}

} // namespace mmt
