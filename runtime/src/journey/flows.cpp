// Flows: the session table, the per-session blob and flow records (see flows.h).
#include "journey/flows.h"

#include "output/format.h"

#include <algorithm>
#include <cstring>

namespace mmt {

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

} // namespace

Flows::Flows(const ProtocolLibrary::Impl& lib, const HandlerOptions& opts)
    : lib_(lib), opts_(opts), table_(tableConfig(*lib.table, opts)),
      classifyPackets_(uint8_t(std::clamp<uint32_t>(opts.classify_packets, 1, 255))) {
    uint32_t total = 0;
    stateOffset_ = stateLayout(*lib.table, total);
    for (uint32_t i = 0; i < lib.table->n_protos; ++i)
        if (stateOffset_[i] && lib.table->protos[i].init_state)
            initStates_.push_back({lib.table->protos[i].init_state, stateOffset_[i]});
    for (uint32_t i = 0; i < lib.table->n_protos; ++i)
        if (stateOffset_[i] && lib.table->protos[i].release_state)
            releaseStates_.push_back({lib.table->protos[i].release_state, stateOffset_[i]});
    table_.on_end(&Flows::sessionEnded, this);
}

Flows::~Flows() {
    // Sessions still open end quietly: what they hold is released.
    onEnd = nullptr;
    table_.flush();
}

void Flows::beginPacket(uint64_t ts_ns) {
    nFlows_ = 0;
    // Expiry runs on packet time and costs only what expires.
    table_.expire(ts_ns);
}

Flow* Flows::lookup(int proto, const PacketKey& key, const RawPacket& raw,
                    const std::vector<Layer>& path) {
    const mmt_proto& p = lib_.table->protos[proto];
    if (key.key().overflow || nFlows_ >= kMaxDepth) return nullptr;
    FlowLookup r = table_.lookup(key.key(), p.id, p.session_timeout_ms, raw.ts_ns, raw.wirelen);
    auto* d = static_cast<FlowData*>(table_.state(*r.session));
    if (r.created) {
        d->app = -1;
        d->guess = -1;
        d->flags = 0;
        d->sides = key.sides();
        d->path_len = 0;
        for (const Layer& l : path)
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

void Flows::classified(Flow& flow, int next) {
    if (next < 0 || flow.data->app >= 0) return;
    flow.data->app = ProtoIndex(next);
    if (onClassified) onClassified(describe(*flow.session, *flow.data));
}

const std::string& Flows::pathName(const FlowData& d) const {
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

namespace {

/// The IP protocol number of a session protocol, by the name the built-in specs give it;
/// -1 when it has none here. ICMP and ICMPv6 are left out: their Community ID needs the
/// message type, which the session does not keep.
int ipProtocolNumber(std::string_view name) {
    static const std::pair<std::string_view, int> kNumbers[] = {
        {"tcp", 6},  {"udp", 17},  {"sctp", 132}, {"gre", 47},   {"esp", 50},  {"ah", 51},
        {"igmp", 2}, {"ospf", 89}, {"pim", 103},  {"vrrp", 112}, {"rsvp", 46}, {"udplite", 136},
    };
    for (const auto& [n, number] : kNumbers)
        if (n == name) return number;
    return -1;
}

} // namespace

SessionInfo Flows::describe(const Session& s, const FlowData& d) const {
    SessionInfo info;
    info.id = s.id;
    int proto = lib_.indexOfId(s.proto_id);
    info.transport = proto >= 0 ? lib_.table->protos[proto].name : "";
    info.path = pathName(d);
    int app = d.app >= 0 ? d.app : d.guess >= 0 ? d.guess : -1;
    const KeySides& sd = d.sides;
    // A session protocol without ports (ICMP, IGMP, ESP, OSPF) is the flow's application
    // itself, as nDPI names such flows; behind ports it is the protocol classified above.
    if (app < 0 && sd.port_len == 0 && proto >= 0) app = proto;
    if (app >= 0) info.application = lib_.table->protos[app].name;
    info.packets[0] = s.packets[0];
    info.packets[1] = s.packets[1];
    info.bytes[0] = s.bytes[0];
    info.bytes[1] = s.bytes[1];
    info.payload[0] = s.payload[0];
    info.payload[1] = s.payload[1];
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
    bool initiatorHigh = FlowTable::initiator_high(s);
    const uint8_t* src = initiatorHigh ? high : low;
    const uint8_t* dst = initiatorHigh ? low : high;
    size_t srcLen = initiatorHigh ? hl : ll, dstLen = initiatorHigh ? ll : hl;
    auto inSide = [](size_t off, size_t len, size_t side) { return len && off + len <= side; };
    if (inSide(sd.addr_off, sd.addr_len, srcLen) && inSide(sd.addr_off, sd.addr_len, dstLen)) {
        mmt_value v{};
        v.type = sd.addr_len == 4 ? MMT_T_IPV4 : MMT_T_IPV6;
        v.len = sd.addr_len;
        v.ptr = src + sd.addr_off;
        info.src = formatValue(v);
        v.ptr = dst + sd.addr_off;
        info.dst = formatValue(v);
    }
    bool ports = false;
    if (inSide(sd.port_off, sd.port_len, srcLen) && inSide(sd.port_off, sd.port_len, dstLen)) {
        ports = true;
        for (uint8_t i = 0; i < sd.port_len; ++i) {
            info.src_port = info.src_port << 8 | src[sd.port_off + i];
            info.dst_port = info.dst_port << 8 | dst[sd.port_off + i];
        }
    }
    // The Community ID, where the session's protocol has an IP protocol number and the
    // tuple it needs: addresses, and ports for TCP, UDP and SCTP.
    int ipProto = ipProtocolNumber(info.transport);
    bool needsPorts = ipProto == 6 || ipProto == 17 || ipProto == 132;
    if (ipProto >= 0 && !info.src.empty() && ports == needsPorts)
        info.community_id =
            community_id_v1({src + sd.addr_off, sd.addr_len}, {dst + sd.addr_off, sd.addr_len},
                            uint8_t(ipProto), uint16_t(info.src_port), uint16_t(info.dst_port));
    return info;
}

void Flows::sessionEnded(void* ctx, const FlowTable& table, Session& s, SessionEnd why) {
    auto* self = static_cast<Flows*>(ctx);
    auto* d = static_cast<FlowData*>(table.state(s));
    if (self->onEnd && (d->flags & kFlowStarted)) {
        SessionInfo info = self->describe(s, *d);
        // A stream that ended (FIN both ways, or RST) is closed, whenever it is let go.
        bool closing = d->flags & kFlowClosing;
        info.end_reason =
            closing && why != SessionEnd::Evicted ? to_string(SessionEnd::Closed) : to_string(why);
        self->onEnd(info);
    }
    if (self->release_) self->release_(self->releaseCtx_, s);
    for (auto [release, off] : self->releaseStates_) release(reinterpret_cast<uint8_t*>(d) + off);
}

} // namespace mmt
