// Flows: the session table, the per-session blob and flow records (see flows.h).
#include "journey/flows.h"

#include "output/format.h"
#include "util/community_id.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace mmt {

namespace {

/// Layout of a session's spare states (FlowData::spare_states): every protocol's state, 8-byte
/// aligned; `total` their size, `largest` the largest one.
std::vector<uint32_t> spare_layout(const mmt_library& t, uint32_t& total, uint32_t& largest) {
    std::vector<uint32_t> off(t.n_protos, 0);
    total = largest = 0;
    for (uint32_t i = 0; i < t.n_protos; ++i) {
        if (!t.protos[i].state_size) continue;
        total = (total + 7) & ~7u;
        off[i] = total;
        total += t.protos[i].state_size;
        largest = std::max(largest, t.protos[i].state_size);
    }
    return off;
}

FlowTableConfig table_config(const mmt_library& t, const HandlerOptions& o) {
    FlowTableConfig c;
    c.max_sessions = o.max_sessions;
    uint32_t total = 0, largest = 0;
    spare_layout(t, total, largest);
    // FlowData, and room for the largest state (one protocol's).
    c.state_size = uint32_t(sizeof(FlowData)) + ((largest + 7) & ~7u);
    return c;
}

} // namespace

Flows::Flows(const ProtocolLibrary::Impl& lib, const HandlerOptions& opts)
    : lib_(lib), opts_(opts), table_(table_config(*lib.table, opts)),
      classify_packets_(uint8_t(std::clamp<uint32_t>(opts.classify_packets, 1, 255))),
      max_paths_(std::clamp<uint32_t>(opts.max_flow_paths, 1, kNoPath)) {
    uint32_t largest = 0;
    spare_offset_ = spare_layout(*lib.table, spare_size_, largest);
    for (uint32_t i = 0; i < lib.table->n_protos; ++i) {
        const mmt_proto& p = lib.table->protos[i];
        if (p.state_size && p.init_state) init_states_.push_back({p.init_state, spare_offset_[i]});
        if (p.state_size && p.release_state)
            release_states_.push_back({p.release_state, spare_offset_[i]});
    }
    table_.on_end(&Flows::session_ended, this);
}

Flows::~Flows() {
    // Sessions still open end quietly: what they hold is released.
    on_end = nullptr;
    table_.flush();
}

void Flows::begin_packet(uint64_t ts_ns, uint64_t number) {
    n_flows_ = 0;
    table_.number_from(number, kSessionIdStep);
    // Expiry runs on packet time and costs only what expires.
    table_.expire(ts_ns);
}

void Flows::started(Session& s, FlowData& d, const PacketKey& key, const std::vector<Layer>& path) {
    d.app = -1;
    d.guess = -1;
    d.flags = 0;
    d.sides = key.sides();
    d.path = path_id(path);
    d.flags |= kFlowStarted;
    if (on_start) on_start(describe(s, d));
}

void Flows::classified(Flow& flow, int next) {
    if (next < 0 || flow.data->app >= 0) return;
    flow.data->app = ProtoIndex(next);
    if (on_classified) on_classified(describe(*flow.session, *flow.data));
}

uint16_t Flows::path_id(const std::vector<Layer>& path) {
    ProtoIndex bytes[kFlowPathMax];
    size_t n = 0;
    for (const Layer& l : path)
        if (l.proto > 0 && n < kFlowPathMax) bytes[n++] = ProtoIndex(l.proto);
    const std::string_view k(reinterpret_cast<const char*>(bytes), n * sizeof bytes[0]);
    if (auto it = path_ids_.find(k); it != path_ids_.end()) return it->second;
    if (paths_.size() >= max_paths_) {
        ++paths_not_kept_;
        return kNoPath;
    }
    const auto id = uint16_t(paths_.size());
    paths_.emplace_back(k);
    path_ids_.emplace(std::string(k), id);
    return id;
}

const std::string& Flows::path_name(const FlowData& d) const {
    // Flows share a handful of paths: each is spelled once with each application.
    const uint32_t key = uint32_t(d.path) << 16 | uint16_t(d.app);
    auto it = path_names_.find(key);
    if (it != path_names_.end()) return it->second;
    if (path_names_.size() >= 4096) path_names_.clear();
    std::string name;
    if (d.path < paths_.size()) {
        const std::string& bytes = paths_[d.path];
        for (size_t i = 0; i < bytes.size() / sizeof(ProtoIndex); ++i) {
            ProtoIndex p;
            std::memcpy(&p, bytes.data() + i * sizeof p, sizeof p);
            if (i) name += '.';
            name += lib_.table->protos[p].name;
        }
    }
    // The path shows what packets went through; the application falls back on the guess.
    if (d.app >= 0) {
        if (!name.empty()) name += '.';
        name += lib_.table->protos[d.app].name;
    }
    return path_names_.emplace(key, std::move(name)).first->second;
}

namespace {

/// The IP protocol number of a session protocol, by the name the built-in specs give it;
/// -1 when it has none here. ICMP and ICMPv6 are left out: their Community ID needs the
/// message type, which the session does not keep.
int ip_protocol_number(std::string_view name) {
    static const std::pair<std::string_view, int> kNumbers[] = {
        {"tcp", 6},  {"udp", 17},  {"sctp", 132}, {"gre", 47},   {"esp", 50},  {"ah", 51},
        {"igmp", 2}, {"ospf", 89}, {"pim", 103},  {"vrrp", 112}, {"rsvp", 46}, {"udplite", 136},
    };
    for (const auto& [n, number] : kNumbers)
        if (n == name) return number;
    return -1;
}

} // namespace

void SessionInfo::clear() {
    // A field added to SessionInfo must be cleared here too.
    static_assert(sizeof(SessionInfo) ==
                  18 * sizeof(std::string) + 11 * sizeof(uint64_t) + 5 * sizeof(uint64_t));
    for (std::string* t : {&transport, &path, &application, &src, &dst, &end_reason, &community_id,
                           &server_name, &server_name_source, &service, &service_source, &ja3, &ja4,
                           &ja3s, &vlan, &tunnel, &conn_state, &history})
        t->clear();
    id = src_port = dst_port = first_ns = last_ns = 0;
    packets[0] = packets[1] = bytes[0] = bytes[1] = payload[0] = payload[1] = 0;
    addr_len = 0;
}

SessionInfo Flows::describe(const Session& s, const FlowData& d) const {
    SessionInfo info;
    describe(s, d, info);
    return info;
}

void Flows::describe(const Session& s, const FlowData& d, SessionInfo& info) const {
    info.clear();
    info.id = s.id;
    int proto = lib_.index_of_id(s.proto_id);
    info.transport = proto >= 0 ? lib_.table->protos[proto].name : "";
    info.path = path_name(d);
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
    if (k.size() < 2) return;
    size_t sl = k[0], ll = k[1];
    if (2 + sl + ll > k.size()) return;
    const uint8_t* low = k.data() + 2 + sl;
    const uint8_t* high = low + ll;
    size_t hl = k.size() - 2 - sl - ll;
    bool initiator_high = FlowTable::initiator_high(s);
    const uint8_t* src = initiator_high ? high : low;
    const uint8_t* dst = initiator_high ? low : high;
    size_t src_len = initiator_high ? hl : ll, dst_len = initiator_high ? ll : hl;
    auto in_side = [](size_t off, size_t len, size_t side) { return len && off + len <= side; };
    if (in_side(sd.addr_off, sd.addr_len, src_len) && in_side(sd.addr_off, sd.addr_len, dst_len)) {
        mmt_value v{};
        v.type = sd.addr_len == 4 ? MMT_T_IPV4 : MMT_T_IPV6;
        v.len = sd.addr_len;
        v.ptr = src + sd.addr_off;
        append_value(info.src, v);
        v.ptr = dst + sd.addr_off;
        append_value(info.dst, v);
        if (sd.addr_len <= sizeof info.src_addr) {
            info.addr_len = uint8_t(sd.addr_len);
            std::memcpy(info.src_addr, src + sd.addr_off, sd.addr_len);
            std::memcpy(info.dst_addr, dst + sd.addr_off, sd.addr_len);
        }
    }
    bool ports = false;
    if (in_side(sd.port_off, sd.port_len, src_len) && in_side(sd.port_off, sd.port_len, dst_len)) {
        ports = true;
        for (uint8_t i = 0; i < sd.port_len; ++i) {
            info.src_port = info.src_port << 8 | src[sd.port_off + i];
            info.dst_port = info.dst_port << 8 | dst[sd.port_off + i];
        }
    }
    // The Community ID, where the session's protocol has an IP protocol number and the
    // tuple it needs: addresses, and ports for TCP, UDP and SCTP.
    int ip_proto = ip_protocol_number(info.transport);
    bool needs_ports = ip_proto == 6 || ip_proto == 17 || ip_proto == 132;
    if (ip_proto >= 0 && !info.src.empty() && ports == needs_ports)
        assign_community_id_v1(info.community_id, {src + sd.addr_off, sd.addr_len},
                               {dst + sd.addr_off, sd.addr_len}, uint8_t(ip_proto),
                               uint16_t(info.src_port), uint16_t(info.dst_port));
}

void Flows::session_ended(void* ctx, const FlowTable& table, Session& s, SessionEnd why) {
    auto* self = static_cast<Flows*>(ctx);
    auto* d = static_cast<FlowData*>(table.state(s));
    if (self->on_end && (d->flags & kFlowStarted)) {
        SessionInfo& info = self->ended_;
        self->describe(s, *d, info);
        // A stream that ended (FIN both ways, or RST) is closed, whenever it is let go.
        bool closing = d->flags & kFlowClosing;
        info.end_reason =
            closing && why != SessionEnd::Evicted ? to_string(SessionEnd::Closed) : to_string(why);
        self->ending_ = d;
        self->on_end(info);
        self->ending_ = nullptr;
    }
    if (self->release_) self->release_(self->release_ctx_, s, *d);
    self->release_states(*d);
}

void* Flows::claim_state(FlowData& d, int proto) const {
    const mmt_proto& p = lib_.table->protos[proto];
    if (d.state_owner == 0) {
        // The first protocol that asks has the room after the FlowData, zeroed at creation.
        d.state_owner = uint16_t(proto + 1);
        if (p.init_state) p.init_state(&d + 1);
        return &d + 1;
    }
    if (!d.spare_states) {
        // Another protocol of the session: every protocol's state, in a block of its own.
        d.spare_states = static_cast<uint8_t*>(std::calloc(1, spare_size_));
        if (!d.spare_states) return nullptr;
        for (auto [init, off] : init_states_) init(d.spare_states + off);
    }
    return d.spare_states + spare_offset_[size_t(proto)];
}

void Flows::release_states(FlowData& d) {
    if (d.state_owner) {
        const mmt_proto& p = lib_.table->protos[d.state_owner - 1];
        if (p.release_state) p.release_state(&d + 1);
        d.state_owner = 0;
    }
    if (d.spare_states) {
        for (auto [release, off] : release_states_) release(d.spare_states + off);
        std::free(d.spare_states);
        d.spare_states = nullptr;
    }
}

} // namespace mmt
