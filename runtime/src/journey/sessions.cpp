// Sessions for the journey: key canonicalisation, the flow table with timeouts,
// per-session protocol state, stream delivery with PDU framing, IP defragmentation.
#include "journey/sessions.h"

#include "output/format.h"

#include <algorithm>
#include <cstring>

namespace mmt {

/// One direction of a reassembled stream.
struct StreamSide {
    bool started = false;
    bool closed = false;
    uint32_t next = 0;
    std::map<uint32_t, std::vector<uint8_t>> held; // out-of-order segments by sequence number
    size_t heldBytes = 0;
    std::vector<uint8_t> pdu;                      // bytes of an incomplete PDU
};

struct Sessions::Entry {
    std::string key;
    bool initiatorAIsLow = true;
    uint64_t last = 0;
    uint32_t timeoutMs = 0;
    std::multimap<uint64_t, Entry*>::iterator expiryIt;
    Flow flow;
};

Sessions::Sessions(const ProtocolLibrary::Impl& lib, const HandlerOptions& opts) : lib_(lib), opts_(opts) {}
Sessions::~Sessions() = default;

void Sessions::beginPacket(uint64_t ts_ns) {
    std::memset(&key_, 0, offsetof(mmt_key, shared));
    haveAddr_ = false;
    now_ = ts_ns;
    // Expiry costs time in proportion to the sessions that expire.
    while (!expiry_.empty() && expiry_.begin()->first <= now_) {
        Entry* e = expiry_.begin()->second;
        end(*e, "timeout");
    }
}

void Sessions::endPacket(Handler::Impl&) {}

void Sessions::addKey(const mmt_proto& p, const mmt_ctx& ctx) {
    mmt_key before = key_;
    if (!p.key(&ctx, &key_)) {
        key_ = before;
        return;
    }
    if (p.sides) {
        mmt_value a{}, b{};
        if (p.sides(&ctx, &a, &b) && (a.type == MMT_T_IPV4 || a.type == MMT_T_IPV6)) {
            addrA_ = a;
            addrB_ = b;
            haveAddr_ = true;
        }
    }
}

std::string Sessions::sideText(const mmt_value& v) { return formatValue(v); }

Flow* Sessions::lookup(int proto, const mmt_ctx& ctx, const RawPacket& raw, const PacketView::Impl& pv) {
    const mmt_proto& p = lib_.table->protos[proto];
    if (key_.overflow) return nullptr;
    // Canonical key: shared parts, then the lower side, then the higher one.
    std::string a(reinterpret_cast<const char*>(key_.a), key_.a_len);
    std::string b(reinterpret_cast<const char*>(key_.b), key_.b_len);
    bool aLow = a <= b;
    std::string k(reinterpret_cast<const char*>(key_.shared), key_.shared_len);
    k += char(a.size());
    k += aLow ? a : b;
    k += aLow ? b : a;
    auto it = table_.find(k);
    Entry* e;
    if (it == table_.end()) {
        if (table_.size() >= opts_.max_sessions) {
            // Evict the session closest to expiry (least recently seen).
            Entry* victim = expiry_.begin()->second;
            ++evicted_;
            end(*victim, "evicted");
        }
        auto ne = std::make_unique<Entry>();
        e = ne.get();
        e->key = k;
        e->initiatorAIsLow = aLow;
        e->timeoutMs = p.session_timeout_ms;
        e->flow.id = nextId_++;
        e->flow.proto = proto;
        SessionInfo& s = e->flow.info;
        s.id = e->flow.id;
        s.transport = p.name;
        s.first_ns = raw.ts_ns;
        if (haveAddr_) {
            s.src = sideText(addrA_);
            s.dst = sideText(addrB_);
        }
        if (p.sides) {
            mmt_value x{}, y{};
            if (p.sides(&ctx, &x, &y) && x.type == MMT_T_UINT) {
                s.src_port = x.u;
                s.dst_port = y.u;
            }
        }
        for (const Layer& l : pv.path) {
            if (l.proto <= 0) continue;
            if (!s.path.empty()) s.path += '.';
            s.path += lib_.table->protos[l.proto].name;
        }
        e->expiryIt = expiry_.end();
        table_.emplace(k, std::move(ne));
        ++created_;
        if (onStart) onStart(s);
    } else {
        e = it->second.get();
    }
    Flow& f = e->flow;
    f.lastDirection = aLow == e->initiatorAIsLow ? 0 : 1;
    f.info.packets[f.lastDirection]++;
    f.info.bytes[f.lastDirection] += raw.wirelen;
    f.info.last_ns = raw.ts_ns;
    e->last = raw.ts_ns;
    if (e->expiryIt != expiry_.end()) expiry_.erase(e->expiryIt);
    e->expiryIt = expiry_.emplace(raw.ts_ns + uint64_t(e->timeoutMs) * 1000000ull, e);
    return &f;
}

void* Sessions::stateFor(Flow& flow, int proto, const mmt_proto& p) {
    for (auto& [pr, buf] : flow.states)
        if (pr == proto) return buf.data();
    flow.states.push_back({proto, std::vector<uint8_t>(p.state_size, 0)});
    void* s = flow.states.back().second.data();
    if (p.init_state) p.init_state(s);
    return s;
}

void Sessions::classified(Flow& flow, int next, const PacketView::Impl& pv, Handler::Impl& h) {
    (void)h;
    (void)pv;
    if (next >= 0) {
        flow.app = next;
        flow.info.application = lib_.table->protos[next].name;
        if (onClassified) onClassified(flow.info);
    }
}

bool Sessions::defragment(int proto, const mmt_frag_info& fi, const uint8_t* data, uint32_t len, uint64_t ts_ns,
                          const uint8_t*& whole, uint32_t& wholeLen) {
    (void)ts_ns;
    std::string k(reinterpret_cast<const char*>(key_.shared), key_.shared_len);
    k.append(reinterpret_cast<const char*>(key_.a), key_.a_len);
    k.append(reinterpret_cast<const char*>(key_.b), key_.b_len);
    k.append(reinterpret_cast<const char*>(&proto), sizeof proto);
    k.append(reinterpret_cast<const char*>(&fi.id), sizeof fi.id);
    auto& pieces = frags_[k];
    pieces.emplace(fi.offset, std::vector<uint8_t>(data, data + len));
    if (!fi.more) fragTotal_[k] = fi.offset + len;
    auto t = fragTotal_.find(k);
    if (t == fragTotal_.end()) return false;
    uint32_t have = 0;
    for (auto& [off, bytes] : pieces) {
        if (off > have) return false;
        have = std::max<uint32_t>(have, off + uint32_t(bytes.size()));
    }
    if (have < t->second) return false;
    whole_.assign(t->second, 0);
    for (auto& [off, bytes] : pieces)
        std::memcpy(whole_.data() + off, bytes.data(), std::min<size_t>(bytes.size(), t->second - off));
    frags_.erase(k);
    fragTotal_.erase(t);
    whole = whole_.data();
    wholeLen = uint32_t(whole_.size());
    return true;
}

bool Sessions::stream(Flow& flow, int proto, LayerState& layer, const uint8_t* payload, uint32_t len, Handler::Impl& h) {
    const mmt_proto& p = lib_.table->protos[proto];
    mmt_stream_info si{};
    if (!p.stream || !p.stream(&layer.ctx, &si)) return true;
    uint32_t dir = flow.lastDirection;
    if (!flow.stream[dir]) flow.stream[dir] = std::make_unique<StreamSide>();
    StreamSide& s = *flow.stream[dir];
    if (si.flags & MMT_STREAM_SYN) {
        s.started = true;
        s.next = si.seq + 1;
        return true;
    }
    if (len == 0) return true;
    if (!s.started) {
        s.started = true;
        s.next = si.seq;
    }
    // Classify on the first payload when the session does not know what runs above.
    if (flow.app == -1) {
        int next = classifyLayer(h, layer);
        if (next >= 0 || ++flow.tries >= 4) {
            flow.app = next >= 0 ? next : -2;
            if (next >= 0) {
                flow.info.application = lib_.table->protos[next].name;
                if (onClassified) onClassified(flow.info);
            }
        }
    }
    std::vector<std::pair<const uint8_t*, uint32_t>> chunks;
    int32_t delta = int32_t(si.seq - s.next);
    if (delta > 0) {
        // A gap before this segment: hold it until the gap fills.
        if (s.heldBytes + len <= opts_.max_stream_buffer) {
            s.held.emplace(si.seq, std::vector<uint8_t>(payload, payload + len));
            s.heldBytes += len;
        }
        return true;
    }
    uint32_t skip = uint32_t(-delta);
    if (skip >= len) return true; // a retransmission of delivered data
    chunks.push_back({payload + skip, len - skip});
    s.next = si.seq + len;
    std::vector<std::vector<uint8_t>> keep;
    for (auto it = s.held.begin(); it != s.held.end();) {
        int32_t d = int32_t(it->first - s.next);
        if (d > 0) break;
        uint32_t sk = uint32_t(-d);
        if (sk < it->second.size()) {
            keep.push_back(std::vector<uint8_t>(it->second.begin() + sk, it->second.end()));
            s.next += uint32_t(it->second.size() - sk);
        }
        s.heldBytes -= it->second.size();
        it = s.held.erase(it);
    }
    for (auto& k : keep) chunks.push_back({k.data(), uint32_t(k.size())});
    if (flow.app < 0) return true;
    const mmt_proto& app = lib_.table->protos[flow.app];
    for (auto [d, n] : chunks) {
        if (app.flags & MMT_PROTO_PDU_UNTIL) {
            s.pdu.insert(s.pdu.end(), d, d + n);
            std::string_view term(app.pdu_terminator, app.pdu_terminator_len);
            for (;;) {
                std::string_view buf(reinterpret_cast<const char*>(s.pdu.data()), s.pdu.size());
                size_t pos = buf.find(term);
                if (pos == std::string_view::npos) break;
                size_t pduLen = pos + term.size();
                std::vector<uint8_t> pdu(s.pdu.begin(), s.pdu.begin() + long(pduLen));
                s.pdu.erase(s.pdu.begin(), s.pdu.begin() + long(pduLen));
                if (!walkChunk(h, flow.app, pdu.data(), uint32_t(pdu.size()), &layer.ctx, &flow)) return false;
            }
            if (s.pdu.size() > opts_.max_stream_buffer) s.pdu.clear();
        } else if (app.flags & MMT_PROTO_PDU_LENGTH) {
            s.pdu.insert(s.pdu.end(), d, d + n);
            for (;;) {
                mmt_ctx c = layer.ctx;
                c.data = s.pdu.data();
                c.len = uint32_t(s.pdu.size());
                int64_t need = app.pdu_length(&c);
                if (need < 0) {
                    s.pdu.clear();
                    break;
                }
                if (need == 0 || uint64_t(need) > s.pdu.size()) break;
                std::vector<uint8_t> pdu(s.pdu.begin(), s.pdu.begin() + need);
                s.pdu.erase(s.pdu.begin(), s.pdu.begin() + need);
                if (!walkChunk(h, flow.app, pdu.data(), uint32_t(pdu.size()), &layer.ctx, &flow)) return false;
            }
            if (s.pdu.size() > opts_.max_stream_buffer) s.pdu.clear();
        } else {
            if (!walkChunk(h, flow.app, d, n, &layer.ctx, &flow)) return false;
        }
    }
    return true;
}

void Sessions::end(Entry& e, const char* reason) {
    e.flow.info.end_reason = reason;
    if (!e.flow.info.application.empty()) e.flow.info.path += "." + e.flow.info.application;
    if (onEnd) onEnd(e.flow.info);
    if (e.expiryIt != expiry_.end()) expiry_.erase(e.expiryIt);
    table_.erase(e.key);
}

void Sessions::finish() {
    // In creation order, so records come out stably.
    std::vector<Entry*> all;
    for (auto& [k, e] : table_) all.push_back(e.get());
    std::sort(all.begin(), all.end(), [](Entry* a, Entry* b) { return a->flow.id < b->flow.id; });
    for (Entry* e : all) end(*e, "end of input");
}

} // namespace mmt
