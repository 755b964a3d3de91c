// The packet journey: walks each packet from the `frame` protocol through its
// protocol path by calling the compiled stage functions, layer after layer:
//   validate (pre_analyse) -> key / session -> analyse (events) -> extract requested
//   attributes -> user analysers -> update (post_analyse) -> classify_next.
// Fragments (IP) are reassembled in place; a stream's payload (TCP) goes to stream
// delivery, which hands in-order data and whole PDUs back through ChunkSink: the walk
// resumes above the stream, one level deeper (bounded by kMaxDepth).
#include "journey/handler_impl.h"

#include "journey/sessions.h"
#include "output/format.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include <arpa/inet.h>

namespace mmt {

std::string Value::text() const {
    return formatValue(v, hex_digits);
}

// ---------------------------------------------------------------- PacketView
uint64_t PacketView::number() const {
    return impl_->number;
}
uint64_t PacketView::ts_ns() const {
    return impl_->raw->ts_ns;
}
uint32_t PacketView::caplen() const {
    return impl_->raw->caplen;
}
uint32_t PacketView::wirelen() const {
    return impl_->raw->wirelen;
}
uint32_t PacketView::linktype() const {
    return impl_->raw->linktype;
}
const uint8_t* PacketView::data() const {
    return impl_->raw->data;
}
const std::vector<Layer>& PacketView::path() const {
    return impl_->path;
}
std::span<const Value> PacketView::values(int column) const {
    if (column < 0 || size_t(column) >= impl_->values.size()) return {};
    return impl_->values[size_t(column)];
}
const std::string& PacketView::truncated() const {
    return impl_->truncated;
}
const std::string& PacketView::malformed() const {
    return impl_->malformed;
}
uint64_t PacketView::session_id() const {
    return impl_->session;
}
uint32_t PacketView::direction() const {
    return impl_->direction;
}

std::string PacketView::path_text() const {
    // One name per depth: the PDUs that one packet completes share the path above the stream.
    std::string s;
    int last = -1;
    for (const Layer& l : impl_->path) {
        if (int(l.depth) <= last) continue;
        last = int(l.depth);
        if (l.proto <= 0) continue; // `frame` is implied
        if (!s.empty()) s += '.';
        s += impl_->table->protos[l.proto].name;
    }
    return s;
}

// ---------------------------------------------------------------- Handler
struct Handler::Impl final : ChunkSink {
    Impl(const ProtocolLibrary& l, const HandlerOptions& o)
        : lib(l), T(l.impl_->table), opts(o), sessions(*l.impl_, o), arena(kArenaSize) {
        wants.resize(T->n_protos);
        if (o.check_bodies) checkBodies();
        analysers.resize(T->n_protos);
        classifiers.resize(T->n_protos);
        if (o.flow_details) requestDetails();
        if (o.count_paths) hearEnds();
        pv.table = T;
        // Sessions describe themselves only for callbacks that exist (see the setters below).
    }

    struct UserAnalyser {
        int weight;
        Analyser fn;
    };
    struct UserClassifier {
        int weight;
        Classifier fn;
    };
    struct Wants {
        std::vector<std::pair<int, int>> getters;            // (attribute, column)
        uint64_t events = 0;                                 // bits of ctx.events_wanted
        std::vector<std::vector<int>> eventColumns;          // by attribute index
        std::vector<std::vector<AttributeCallback>> attrCbs; // by attribute index
        bool analyse = false; // run the analyse stage: events wanted, or bodies checked
        bool any() const { return !getters.empty() || events != 0; }
    };

    const ProtocolLibrary& lib;
    const mmt_library* T;
    HandlerOptions opts;
    Sessions sessions;

    std::vector<AttributeRef> columns;
    std::vector<Wants> wants;
    std::vector<std::pair<int, int>> frameColumns; // (frame attribute, column)
    std::vector<std::vector<UserAnalyser>> analysers;
    std::vector<std::vector<UserClassifier>> classifiers;
    std::vector<PacketCallback> packetCbs;
    std::vector<SessionCallback> startCbs, classifiedCbs, endCbs;

    // ---- flow details (HandlerOptions::flow_details)
    enum class Detail {
        Sni,
        QuicSni,
        Host,
        Query,
        Ja3,
        Ja4,
        Ja3s,
        Vlan,
        IcmpType,
        IcmpCode,
        TcpFlags,
        DnsAddress,
        Ipv4Src, // the four addresses last: see addressColumns
        Ipv4Dst,
        Ipv6Src,
        Ipv6Dst
    };
    struct FlowDetails {
        std::string server_name, source, ja3, ja4, ja3s, vlan, tunnel;
        std::string history;     // Zeek's letters, each the first time a direction shows it
        uint8_t letters[2] = {}; // per direction: kHistory* bits already in `history`
        int nameRank = 0;        // 4 TLS/QUIC SNI, 3 HTTP Host, 2 DNS query; 0 none
        int icmpType = -1, icmpCode = -1;
        bool icmpSeen = false, vlanSeen = false, tcp = false, tunnelSeen = false;
    };
    uint32_t sessionPayload = 0; // payload above the session's protocol, this packet
    std::vector<std::pair<int, Detail>> detailColumns; // (column, what it fills)
    std::unordered_map<uint64_t, FlowDetails> details; // by session id, while it lives
    int queryColumn = -1;                              // dns.qname's, for DnsAddress
    DnsMemory dnsMemory;                               // recent answers: address -> name

    int requestNamed(std::string_view attribute) {
        AttributeRef r = lib.find_attribute(attribute);
        if (!r.valid()) return -1;
        int column = int(columns.size());
        columns.push_back(r);
        pv.values.emplace_back();
        requestColumn(column);
        return column;
    }

    void requestDetails() {
        static const std::pair<const char*, Detail> kDetails[] = {
            {"tls.sni", Detail::Sni},          {"quic.sni", Detail::QuicSni},
            {"http.host", Detail::Host},       {"dns.qname", Detail::Query},
            {"tls.ja3", Detail::Ja3},          {"quic.ja3", Detail::Ja3},
            {"tls.ja4", Detail::Ja4},          {"quic.ja4", Detail::Ja4},
            {"tls.ja3s", Detail::Ja3s},        {"svlan.id", Detail::Vlan},
            {"vlan.id", Detail::Vlan},         {"icmp.type", Detail::IcmpType},
            {"icmp.code", Detail::IcmpCode},   {"icmpv6.type", Detail::IcmpType},
            {"icmpv6.code", Detail::IcmpCode}, {"tcp.flags", Detail::TcpFlags},
            {"dns.a", Detail::DnsAddress},     {"dns.aaaa", Detail::DnsAddress},
            {"ipv4.src", Detail::Ipv4Src},     {"ipv4.dst", Detail::Ipv4Dst},
            {"ipv6.src", Detail::Ipv6Src},     {"ipv6.dst", Detail::Ipv6Dst},
        };
        // A library without some of these protocols simply has fewer details.
        for (const auto& [name, what] : kDetails)
            if (int c = requestNamed(name); c >= 0) {
                detailColumns.push_back({c, what});
                if (what == Detail::Query) queryColumn = c;
                if (what >= Detail::Ipv4Src) addressColumns[int(what) - int(Detail::Ipv4Src)] = c;
            }
        ipv4Proto = lib.find_protocol("ipv4");
        ipv6Proto = lib.find_protocol("ipv6");
        icmpProto = lib.find_protocol("icmp");
        icmpv6Proto = lib.find_protocol("icmpv6");
        for (const char* carrier : {"udp", "tcp", "sctp", "ipv6_ext", "ipv6_frag"})
            if (int p = lib.find_protocol(carrier); p >= 0) tunnelCarriers.push_back(p);
        // Sessions that end must give their details back, callbacks or not.
        hearEnds();
    }

    /// After a packet's walk: what it shows of its session, first values first.
    void noteDetails() {
        if (!pv.session) return;
        FlowDetails* d = nullptr;
        bool vlanHere = false;
        for (auto [column, what] : detailColumns) {
            const auto& vs = pv.values[size_t(column)];
            if (vs.empty()) continue;
            if (!d) d = &details[pv.session];
            auto rank = [&](int r, const char* source) {
                if (r <= d->nameRank) return;
                d->nameRank = r;
                d->server_name = vs.front().text();
                d->source = source;
            };
            auto first = [&](std::string& out) {
                if (out.empty()) out = vs.front().text();
            };
            switch (what) {
            case Detail::Sni:
                rank(4, "tls");
                break;
            case Detail::QuicSni:
                rank(4, "quic");
                break;
            case Detail::Host:
                rank(3, "http");
                break;
            case Detail::Query:
                rank(2, "dns");
                break;
            case Detail::Ja3:
                first(d->ja3);
                break;
            case Detail::Ja4:
                first(d->ja4);
                break;
            case Detail::Ja3s:
                first(d->ja3s);
                break;
            case Detail::Vlan:
                // The tags of the first tagged packet, outermost first: the S-VLAN column
                // comes before the C-VLAN one, and stacked tags are in path order.
                if (d->vlanSeen && !vlanHere) break;
                for (const Value& v : vs) {
                    if (!d->vlan.empty()) d->vlan += '.';
                    d->vlan += v.text();
                }
                vlanHere = true;
                break;
            case Detail::IcmpType:
                if (!d->icmpSeen) d->icmpType = int(vs.front().v.u);
                break;
            case Detail::IcmpCode:
                if (!d->icmpSeen) d->icmpCode = int(vs.front().v.u);
                break;
            case Detail::TcpFlags:
                // The innermost TCP header is the session's.
                tcpHistory(*d, uint8_t(vs.back().v.u));
                break;
            case Detail::DnsAddress:
                // The addresses a DNS answer gives, remembered under the name asked for
                // (not the CNAME chain's end): the service a later flow to them is for.
                if (queryColumn >= 0 && !pv.values[size_t(queryColumn)].empty()) {
                    std::string name = pv.values[size_t(queryColumn)].front().text();
                    for (const Value& v : vs)
                        if (v.v.ptr) dnsMemory.remember(v.v.ptr, v.v.len, name);
                }
                break;
            case Detail::Ipv4Src:
            case Detail::Ipv4Dst:
            case Detail::Ipv6Src:
            case Detail::Ipv6Dst:
                break; // read together below
            }
        }
        if (!d) return;
        if (!d->tunnelSeen) {
            d->tunnelSeen = true;
            d->tunnel = tunnelText();
        }
        if (vlanHere) d->vlanSeen = true;
        if (d->icmpType >= 0 && d->icmpCode >= 0) d->icmpSeen = true;
    }

    int addressColumns[4] = {-1, -1, -1, -1}; // ipv4.src, ipv4.dst, ipv6.src, ipv6.dst
    int ipv4Proto = -1, ipv6Proto = -1, icmpProto = -1, icmpv6Proto = -1;
    std::vector<int> tunnelCarriers; // protocols between an outer IP header and its tunnel

    /// The tunnels of the current packet, outermost first: every IP header but the last,
    /// the session's, with the protocol that follows it (past its transport).
    std::string tunnelText() const {
        std::string out;
        size_t seen[2] = {0, 0}; // IPv4, IPv6 headers passed
        const auto& path = pv.path;
        int lastIp = -1;
        for (size_t i = 0; i < path.size(); ++i) {
            int proto = path[i].proto;
            // The headers an ICMP error quotes are not tunnels.
            if (proto >= 0 && (proto == icmpProto || proto == icmpv6Proto)) break;
            if (proto >= 0 && (proto == ipv4Proto || proto == ipv6Proto)) lastIp = int(i);
        }
        for (int i = 0; i < lastIp; ++i) {
            int proto = path[size_t(i)].proto;
            if (proto < 0 || (proto != ipv4Proto && proto != ipv6Proto)) continue;
            int v6 = proto == ipv6Proto;
            size_t k = seen[v6]++;
            auto address = [&](int which) -> std::string {
                int column = addressColumns[2 * v6 + which];
                if (column < 0) return "?";
                auto vs = pv.values[size_t(column)];
                return k < vs.size() ? vs[k].text() : "?";
            };
            // The tunnel's protocol: what follows the outer header and its transport.
            size_t next = size_t(i) + 1;
            while (next < path.size() && std::find(tunnelCarriers.begin(), tunnelCarriers.end(),
                                                   path[next].proto) != tunnelCarriers.end())
                ++next;
            if (next >= path.size() || path[next].proto < 0) continue;
            if (!out.empty()) out += ',';
            out += T->protos[path[next].proto].name;
            out += ':';
            out += address(0);
            out += '>';
            out += address(1);
        }
        return out;
    }

    // Zeek's history letters (upper case from the originator, lower case from the
    // responder): SYN, SYN-ACK, pure ACK, payload, FIN, RST.
    static constexpr char kHistoryLetters[] = "SHADFR";

    void tcpHistory(FlowDetails& d, uint8_t flags) {
        constexpr uint8_t fin = 1, syn = 2, rst = 4, ack = 16;
        d.tcp = true;
        unsigned dir = pv.direction & 1;
        auto note = [&](unsigned letter) {
            if (d.letters[dir] & (1u << letter)) return;
            d.letters[dir] |= uint8_t(1u << letter);
            char c = kHistoryLetters[letter];
            d.history += dir ? char(c - 'A' + 'a') : c;
        };
        if ((flags & syn) && !(flags & ack)) note(0);
        if ((flags & syn) && (flags & ack)) note(1);
        if (sessionPayload)
            note(3);
        else if ((flags & ack) && !(flags & (syn | fin | rst)))
            note(2);
        if (flags & fin) note(4);
        if (flags & rst) note(5);
    }

    /// Zeek's conn_state of a TCP session from the letters each side showed.
    static const char* tcpState(const FlowDetails& d) {
        auto has = [&](unsigned dir, unsigned letter) { return d.letters[dir] & (1u << letter); };
        bool oSyn = has(0, 0), rSynAck = has(1, 1), oFin = has(0, 4), rFin = has(1, 4);
        bool oRst = has(0, 5), rRst = has(1, 5);
        if (!oSyn) return rSynAck && rRst ? "RSTRH" : rSynAck && rFin ? "SHR" : "OTH";
        if (!rSynAck) return rRst ? "REJ" : oRst ? "RSTOS0" : oFin ? "SH" : "S0";
        if (oRst) return "RSTO";
        if (rRst) return "RSTR";
        return oFin && rFin ? "SF" : oFin ? "S2" : rFin ? "S3" : "S1";
    }

    /// Sessions that end are described and go through sessionEnded: for the end
    /// callbacks, the flow details and the counts per application.
    void hearEnds() {
        sessions.flows.onEnd = [this](const SessionInfo& s) { sessionEnded(s); };
    }

    struct AppCount {
        uint64_t flows = 0, packets = 0, bytes = 0;
    };
    std::unordered_map<std::string, AppCount> apps; // HandlerOptions::count_paths

    void sessionEnded(const SessionInfo& s) {
        if (opts.count_paths) {
            AppCount& a = apps[s.application.empty() ? "unknown" : s.application];
            a.flows++;
            a.packets += s.packets[0] + s.packets[1];
            a.bytes += s.bytes[0] + s.bytes[1];
        }
        if (!opts.flow_details) {
            for (auto& f : endCbs) f(s);
            return;
        }
        SessionInfo info = s;
        if (auto it = details.find(s.id); it != details.end()) {
            FlowDetails& d = it->second;
            info.server_name = std::move(d.server_name);
            info.server_name_source = std::move(d.source);
            info.ja3 = std::move(d.ja3);
            info.ja4 = std::move(d.ja4);
            info.ja3s = std::move(d.ja3s);
            info.vlan = std::move(d.vlan);
            info.tunnel = std::move(d.tunnel);
            if (d.tcp) {
                info.conn_state = tcpState(d);
                info.history = std::move(d.history);
            }
            if (info.community_id.empty() && d.icmpSeen)
                info.community_id = icmpCommunityId(info, d);
            details.erase(it);
        }
        nameService(info);
        if (info.conn_state.empty()) {
            // Without TCP's flags: attempted (S0) or answered (SF) for flows with ports, as
            // Zeek says of UDP; OTH for the others (ICMP...).
            bool ports = info.src_port || info.dst_port;
            info.conn_state = !ports ? "OTH" : info.packets[1] ? "SF" : "S0";
            if (ports && info.payload[0]) info.history += 'D';
            if (ports && info.payload[1]) info.history += 'd';
        }
        for (auto& f : endCbs) f(info);
    }

    /// The flow's service, by the most trusted evidence that names one: its server name
    /// (SNI, Host, DNS query), the name its client resolved either address from, then
    /// either address itself.
    void nameService(SessionInfo& info) {
        const ServiceMatcher& m = lib.impl_->services;
        if (m.empty()) return;
        auto byName = [&](std::string_view name) {
            ++stats.service_lookups;
            return m.byName(name);
        };
        auto byAddress = [&](const std::string& addr) {
            ++stats.service_lookups;
            return m.byAddressText(addr);
        };
        int s = -1;
        const char* from = "";
        if (!info.server_name.empty() && (s = byName(info.server_name)) >= 0) {
            from = info.server_name_source.c_str();
        } else {
            for (const std::string* addr : {&info.dst, &info.src}) {
                const std::string* name = dnsMemory.find(*addr);
                if (name && (s = byName(*name)) >= 0) break;
            }
            if (s >= 0) {
                from = "resolved";
            } else if ((s = byAddress(info.dst)) >= 0 || (s = byAddress(info.src)) >= 0) {
                from = "address";
            }
        }
        if (s < 0) return;
        info.service = m.name(s);
        info.service_source = from;
    }

    /// ICMP's Community ID: the type and code of the flow's first message stand for ports.
    static std::string icmpCommunityId(const SessionInfo& s, const FlowDetails& d) {
        uint8_t a[16], b[16];
        int proto = 0;
        size_t n = 0;
        if (s.transport == "icmp" && inet_pton(AF_INET, s.src.c_str(), a) == 1 &&
            inet_pton(AF_INET, s.dst.c_str(), b) == 1) {
            proto = 1;
            n = 4;
        } else if (s.transport == "icmpv6" && inet_pton(AF_INET6, s.src.c_str(), a) == 1 &&
                   inet_pton(AF_INET6, s.dst.c_str(), b) == 1) {
            proto = 58;
            n = 16;
        } else {
            return {};
        }
        return community_id_v1({a, n}, {b, n}, uint8_t(proto), uint16_t(d.icmpType),
                               uint16_t(d.icmpCode));
    }

    // Per packet.
    PacketView::Impl pv;
    std::array<LayerState, kMaxDepth> layers;
    unsigned depth = 0;
    std::vector<uint8_t> arena;
    mmt_scratch scratch{}; // the arena, shared by every layer's stage functions
    int eventProto = -1;
    bool dropped = false;
    HandlerStats stats;
    std::vector<uint8_t>
        held; // a copy of reassembled bytes that must outlive the defragmenter's buffer

    // Protocol hierarchy: a trie of paths (node 0 is the root); a packet walks it without
    // allocating, nodes are added only for paths never seen before.
    struct PathNode {
        int proto;
        uint64_t packets = 0, bytes = 0;
        std::vector<uint32_t> children;
    };
    std::vector<PathNode> paths{PathNode{-1, 0, 0, {}}};

    // Every body is read for its constraints (frame.malformed, frame.truncated).
    void checkBodies() {
        for (Wants& w : wants) w.analyse = true;
    }

    bool requestColumn(int column) {
        const AttributeRef& r = columns[size_t(column)];
        if (r.proto < 0) {
            frameColumns.push_back({r.attr, column});
            // Where a packet breaks a body's constraints is known only once the body is read.
            if (r.attr == kFrameTruncated || r.attr == kFrameMalformed) checkBodies();
            return true;
        }
        Wants& w = wants[size_t(r.proto)];
        const mmt_attr& a = T->protos[r.proto].attrs[r.attr];
        if (a.kind == MMT_ATTR_EVENT) {
            w.events |= uint64_t(1) << a.event_index;
            w.analyse = true;
            if (w.eventColumns.size() <= size_t(r.attr)) w.eventColumns.resize(size_t(r.attr) + 1);
            w.eventColumns[size_t(r.attr)].push_back(column);
        } else {
            w.getters.push_back({r.attr, column});
        }
        return true;
    }

    static void onEvent(mmt_ctx* ctx, uint32_t attr, const mmt_value* v) {
        auto* self = static_cast<Impl*>(ctx->user);
        self->deliver(self->eventProto, int(attr), *v);
    }

    /// Copies `n` bytes into the arena; null when it is full.
    const uint8_t* arenaCopy(const void* p, size_t n) {
        if (scratch.used + n > scratch.cap) return nullptr;
        uint8_t* dst = scratch.base + scratch.used;
        std::memcpy(dst, p, n);
        scratch.used += uint32_t(n);
        return dst;
    }

    /// A value that stays valid until the packet's callbacks have run: bytes outside the
    /// packet and the arena (reassembly buffers) are copied. False when there is no room.
    bool keep(mmt_value& v) {
        if (!((v.type == MMT_T_BYTES || v.type == MMT_T_STRING || v.type >= MMT_T_MAC) && v.ptr))
            return true;
        bool inPacket = v.ptr >= pv.raw->data && v.ptr + v.len <= pv.raw->data + pv.raw->caplen;
        bool inArena = v.ptr >= scratch.base && v.ptr + v.len <= scratch.base + scratch.cap;
        if (inPacket || inArena) return true;
        v.ptr = arenaCopy(v.ptr, v.len);
        return v.ptr != nullptr;
    }

    /// Records one occurrence of an attribute for the columns and callbacks that want it.
    void deliver(int proto, int attr, const mmt_value& raw) {
        Wants& w = wants[size_t(proto)];
        mmt_value v = raw;
        if (!keep(v)) return;
        Value val{v, T->protos[proto].attrs[attr].hex_digits};
        if (size_t(attr) < w.eventColumns.size())
            for (int col : w.eventColumns[size_t(attr)]) pv.values[size_t(col)].push_back(val);
        if (size_t(attr) < w.attrCbs.size())
            for (auto& cb : w.attrCbs[size_t(attr)])
                if (cb(PacketView(&pv), val) == Action::Drop) dropped = true;
    }

    void resetPacket(const RawPacket& raw) {
        pv.raw = &raw;
        pv.number = ++stats.packets;
        pv.path.clear();
        for (auto& v : pv.values) v.clear();
        pv.truncated.clear();
        pv.malformed.clear();
        pv.session = 0;
        pv.direction = 0;
        sessionPayload = 0;
        depth = 0;
        scratch = mmt_scratch{arena.data(), uint32_t(arena.size()), 0};
        dropped = false;
        stats.bytes += raw.wirelen;
    }

    std::string failureText(int proto, const mmt_parse_result& r) {
        const mmt_proto& p = T->protos[proto];
        std::string where = p.name;
        if (r.fail_field >= 0 && uint32_t(r.fail_field) < p.n_fields)
            where += std::string(".") + p.fields[r.fail_field];
        return where;
    }

    /// Extract: the requested attributes of the protocol at `L`.
    void extract(LayerState& L) {
        Wants& w = wants[size_t(L.proto)];
        const mmt_proto& p = T->protos[L.proto];
        for (auto [attr, column] : w.getters) {
            mmt_value v{};
            if (p.attrs[attr].get && p.attrs[attr].get(&L.ctx, &v) && keep(v))
                pv.values[size_t(column)].push_back(Value{v, p.attrs[attr].hex_digits});
        }
    }

    /// Sets up the next layer: protocol `proto` over [data, data + len), above `parent`.
    MMT_INLINE LayerState& enterLayer(int proto, const uint8_t* data, uint32_t len,
                                      const mmt_ctx* parent, bool inPacket) {
        LayerState& L = layers[depth++];
        L.proto = proto;
        L.inPacket = inPacket;
        std::memset(&L.ctx, 0, sizeof L.ctx);
        L.ctx.data = data;
        L.ctx.len = len;
        L.ctx.linktype = pv.raw->linktype;
        L.ctx.parent = parent;
        L.ctx.parent_id = parent ? T->protos[layers[depth - 2].proto].id : 0;
        L.ctx.scratch = &scratch;
        L.ctx.user = this;
        L.ctx.emit = &Impl::onEvent;
        L.ctx.direction = pv.direction;
        L.ctx.events_wanted = wants[size_t(proto)].events;
        return L;
    }

    /// pre_analyse: the compiled `validate` stage puts the layer on the path. False when
    /// the walk stops here: the packet is truncated or malformed at this layer.
    MMT_INLINE bool validateLayer(LayerState& L, const mmt_proto& p) {
        mmt_parse_result& r = L.res;
        std::memset(&r, 0, sizeof r);
        int32_t status = p.validate(&L.ctx, &r);
        uint32_t offset = L.inPacket ? uint32_t(L.ctx.data - pv.raw->data) : 0;
        pv.path.push_back(Layer{L.proto, depth - 1, offset, r.header_len, r.payload_len});
        if (status != MMT_OK) {
            std::string where = failureText(L.proto, r);
            if (status == MMT_TRUNCATED) {
                if (pv.truncated.empty()) pv.truncated = where;
                ++stats.truncated;
            } else {
                if (pv.malformed.empty()) pv.malformed = where;
                ++stats.malformed;
            }
            // Fields that fit a truncated packet are still worth extracting, as tshark
            // shows them, and the elements of a list cut short that did parse raise their
            // events, as in a body; a malformed one may not be what it claims: no
            // attributes.
            if (status == MMT_TRUNCATED) {
                Wants& w = wants[size_t(L.proto)];
                if (w.events && p.analyse) {
                    eventProto = L.proto;
                    mmt_parse_result ar{};
                    p.analyse(&L.ctx, &ar); // stops where validate did: already reported
                }
                if (w.any()) extract(L);
            }
            return false;
        }
        if (r.payload_truncated && pv.truncated.empty()) {
            pv.truncated = std::string(p.name) + ".payload";
            ++stats.truncated;
        }
        return true;
    }

    /// sessionize: the layer's key parts, then its session when the protocol makes them
    /// (`flow` and `flowLayer` become the session's), then the layer's session state.
    MMT_INLINE void sessionize(LayerState& L, const mmt_proto& p, bool quoted, Flow*& flow,
                               int& flowLayer) {
        if (p.key) sessions.key.add(L.proto, p, L.ctx);
        if ((p.flags & MMT_PROTO_SESSION) && !quoted) {
            if (Flow* f = sessions.flows.lookup(L.proto, sessions.key, *pv.raw, pv.path)) {
                flow = f;
                flowLayer = int(depth - 1);
                // Payload above the session's protocol, as captured (saturating).
                uint32_t& counted = f->session->payload[f->direction];
                counted += std::min(L.res.payload_len, UINT32_MAX - counted);
                pv.session = f->id();
                pv.direction = f->direction;
                sessionPayload = L.res.payload_len;
                L.ctx.direction = pv.direction;
            }
        }
        if (flow && p.state_size) L.ctx.state = sessions.flows.stateFor(*flow, L.proto);
    }

    /// analyse (events, and the body's constraints, when someone listens to either),
    /// extract, user analysers by weight, then
    /// post_analyse. Returns what the analysers (or a dropping callback) decided.
    MMT_INLINE Action analyseLayer(LayerState& L, const mmt_proto& p) {
        Wants& w = wants[size_t(L.proto)];
        if (w.analyse && p.analyse) {
            eventProto = L.proto;
            mmt_parse_result ar{};
            const mmt_status st = mmt_status(p.analyse(&L.ctx, &ar));
            if (st == MMT_MALFORMED && pv.malformed.empty()) {
                pv.malformed = failureText(L.proto, ar);
                ++stats.malformed;
            } else if (st == MMT_TRUNCATED && pv.truncated.empty()) {
                pv.truncated = failureText(L.proto, ar);
                ++stats.truncated;
            }
            if (dropped) return Action::Drop;
        }
        if (!w.getters.empty()) extract(L);
        Action act = Action::Continue;
        for (auto& a : analysers[size_t(L.proto)]) {
            Action x = a.fn(PacketView(&pv), pv.path.back());
            if (x == Action::Drop) {
                act = x;
                break;
            }
            if (x == Action::Skip) act = Action::Skip;
        }
        // post_analyse: the state changes once this packet's layer has been read, so that
        // its fields, events and attributes all see the state earlier packets left.
        if (p.update && L.ctx.state) p.update(&L.ctx);
        return act;
    }

    /// A fragment goes to the defragmenter; once the datagram is whole, it becomes the
    /// payload. False when the walk stops here (a fragment, incomplete or cut short).
    MMT_INLINE bool defragment(LayerState& L, const mmt_proto& p, const uint8_t*& payload,
                               uint32_t& plen, bool& inPacket) {
        mmt_frag_info fi{};
        if (!p.fragment || !p.fragment(&L.ctx, &fi)) return true;
        // A fragment cut short cannot be reassembled; the first one still shows the headers
        // that follow it, as tshark does.
        if (L.res.payload_truncated) return fi.offset == 0;
        const uint8_t* whole = nullptr;
        uint32_t wholeLen = 0, overlap = 0;
        bool complete =
            sessions.defragment(p.id, fi, payload, plen, pv.raw->ts_ns, whole, wholeLen, overlap);
        // Fragments that overlap (the first arrival wins) are reported, as tools that watch
        // for evasion expect.
        if (overlap) {
            ++stats.fragment_overlaps;
            if (pv.malformed.empty()) pv.malformed = std::string(p.name) + ".fragment_overlap";
        }
        if (!complete) return false;
        ++stats.fragments_reassembled;
        held.assign(whole, whole + wholeLen);
        payload = held.data();
        plen = wholeLen;
        inPacket = false;
        return true;
    }

    /// A stream protocol's payload at its session's layer: classified while the session does
    /// not know what runs above, then delivered in order (and framed), which walks on.
    bool streamLayer(LayerState& L, const mmt_proto& p, Flow& flow, const uint8_t* payload,
                     uint32_t plen) {
        mmt_stream_info si{};
        if (!p.stream || !p.stream(&L.ctx, &si)) return true;
        FlowData& fd = *flow.data;
        // Without payload only port rules can answer: a guess, for flows that never carry any.
        if (fd.app == -1 && plen == 0 && fd.guess == -1)
            fd.guess = ProtoIndex(std::max(-2, classify(L)));
        if (fd.app == -1 && plen > 0) {
            int next = classify(L);
            if (next >= 0)
                sessions.flows.classified(flow, next);
            else
                sessions.flows.gaveUp(fd);
        }
        bool segmentHeld = false;
        bool keep = sessions.streams.deliver(flow, L, si, payload, plen, *this, segmentHeld);
        if (segmentHeld) ++stats.segments_held; // out of order: the packet's journey ends (SKIP)
        return keep;
    }

    /// classify_next: a session that knows its application skips classification (or gave
    /// up on it); otherwise the rules and user classifiers pick, and the session remembers.
    MMT_INLINE int nextProtocol(LayerState& L, Flow* flow, bool atSession, bool& quoted) {
        int next = -1;
        if (atSession && flow->data->app >= 0)
            next = flow->data->app;
        else if (atSession && flow->data->app == -2)
            next = -1;
        else
            next = classify(L, &quoted);
        // What a quoted packet is says nothing about the session: classify it each time.
        if (atSession && !quoted) {
            if (next >= 0)
                sessions.flows.classified(*flow, next);
            else if (flow->data->app == -1)
                sessions.flows.gaveUp(*flow->data);
        }
        return next;
    }

    /// Runs the walk from protocol `proto` over [data, data + len). Returns false when a
    /// handler dropped the packet.
    bool walk(int proto, const uint8_t* data, uint32_t len, const mmt_ctx* parent, bool inPacket,
              Flow* flow, int flowLayer) {
        bool quoted = false; // below a relation marked `quoted`
        while (proto >= 0) {
            if (depth >= kMaxDepth) return true;
            const mmt_proto& p = T->protos[proto];
            LayerState& L = enterLayer(proto, data, len, parent, inPacket);
            // The session's state is known before a protocol above the session layer is
            // parsed: its fields may depend on what earlier packets left there.
            if (flow && p.state_size && !(p.flags & MMT_PROTO_SESSION))
                L.ctx.state = sessions.flows.stateFor(*flow, proto);
            if (!validateLayer(L, p)) return !dropped; // a callback may drop on an event
            sessionize(L, p, quoted, flow, flowLayer);
            Action act = analyseLayer(L, p);
            if (act == Action::Drop) return false;
            if (act == Action::Skip) return true;

            const uint8_t* payload = data + L.res.header_len;
            uint32_t plen = L.res.payload_len;
            if (!defragment(L, p, payload, plen, inPacket)) return true;
            bool atSession = flow && flowLayer == int(depth - 1);
            if ((p.flags & MMT_PROTO_STREAM) && atSession)
                return streamLayer(L, p, *flow, payload, plen);
            if (plen == 0 && !(p.flags & MMT_PROTO_BUILTIN)) return true;
            int next = nextProtocol(L, flow, atSession, quoted);
            if (next < 0) return true;
            parent = &L.ctx;
            proto = next;
            data = payload;
            len = plen;
        }
        return true;
    }

    // ChunkSink: stream delivery hands reassembled data back here; the walk resumes above
    // the stream's layer and leaves the depth as it found it.
    bool chunk(int proto, const uint8_t* data, uint32_t len, const mmt_ctx* parent,
               Flow* flow) override {
        unsigned savedDepth = depth;
        bool keep = walk(proto, data, len, parent, false, flow, -1);
        depth = savedDepth;
        return keep;
    }
    void malformed(std::string_view where) override {
        if (pv.malformed.empty()) pv.malformed = where;
        ++stats.malformed;
    }

    /// classify_next: compiled rules and user classifiers, by weight.
    MMT_INLINE int classify(LayerState& L, bool* quoted = nullptr) {
        const mmt_proto& p = T->protos[L.proto];
        int best = -1;
        uint32_t bestWeight = 0;
        mmt_class_result cr{};
        if (p.classify && p.classify(&L.ctx, &L.res, &cr)) {
            best = lib.impl_->indexOfId(cr.next_id);
            bestWeight = cr.weight;
            // A quoted packet (inside an ICMP error) is walked, but makes no sessions.
            if (quoted && (cr.flags & MMT_CLASS_QUOTED)) *quoted = true;
        }
        for (auto& c : classifiers[size_t(L.proto)]) {
            if (best >= 0 && uint32_t(c.weight) <= bestWeight) break;
            std::string name = c.fn(PacketView(&pv), pv.path.back());
            if (name.empty()) continue;
            int idx = lib.find_protocol(name);
            if (idx >= 0) return idx;
        }
        return best;
    }

    Action process(const RawPacket& raw) {
        resetPacket(raw);
        sessions.beginPacket(raw.ts_ns);
        bool keep = walk(0, raw.data, raw.caplen, nullptr, true, nullptr, -1);
        if (opts.count_paths) countHierarchy(raw);
        if (!keep) return Action::Drop;
        for (auto [attr, column] : frameColumns) frameValue(attr, column);
        if (!detailColumns.empty()) noteDetails();
        Action result = Action::Continue;
        for (auto& cb : packetCbs) {
            Action a = cb(PacketView(&pv));
            if (a == Action::Drop) return Action::Drop;
            if (a == Action::Skip) result = Action::Skip;
        }
        return result;
    }

    void countHierarchy(const RawPacket& raw) {
        uint32_t node = 0;
        int last = -1;
        for (const Layer& l : pv.path) {
            if (int(l.depth) <= last) continue;
            last = int(l.depth);
            if (l.proto <= 0) continue;
            uint32_t next = 0;
            for (uint32_t c : paths[node].children)
                if (paths[c].proto == l.proto) next = c;
            if (!next) {
                next = uint32_t(paths.size());
                paths.push_back(PathNode{l.proto, 0, 0, {}});
                paths[node].children.push_back(next);
            }
            node = next;
            paths[node].packets++;
            paths[node].bytes += raw.wirelen;
        }
    }

    void listPaths(uint32_t node, const std::string& prefix, std::vector<PathCount>& out) const {
        std::vector<uint32_t> kids = paths[node].children;
        std::sort(kids.begin(), kids.end(), [&](uint32_t a, uint32_t b) {
            return std::string(T->protos[paths[a].proto].name) < T->protos[paths[b].proto].name;
        });
        for (uint32_t c : kids) {
            std::string path = prefix.empty() ? T->protos[paths[c].proto].name
                                              : prefix + "." + T->protos[paths[c].proto].name;
            out.push_back(PathCount{path, paths[c].packets, paths[c].bytes});
            listPaths(c, path, out);
        }
    }

    /// Copies a string into the arena and delivers it to a column.
    void frameString(int column, std::string_view s) {
        mmt_value v{};
        v.type = MMT_T_STRING;
        v.ptr = arenaCopy(s.data(), s.size());
        v.len = uint32_t(s.size());
        if (v.ptr) pv.values[size_t(column)].push_back(Value{v});
    }

    /// The packet's path text (as PacketView::path_text) written straight into the arena.
    void framePath(int column) {
        mmt_value v{};
        v.type = MMT_T_STRING;
        uint32_t start = scratch.used;
        int last = -1;
        for (const Layer& l : pv.path) {
            if (int(l.depth) <= last) continue;
            last = int(l.depth);
            if (l.proto <= 0) continue;
            if (scratch.used > start && !arenaCopy(".", 1)) return;
            std::string_view name = T->protos[l.proto].name;
            if (!arenaCopy(name.data(), name.size())) return;
        }
        v.ptr = scratch.base + start;
        v.len = scratch.used - start;
        pv.values[size_t(column)].push_back(Value{v});
    }

    void frameValue(int attr, int column) {
        mmt_value v{};
        v.type = MMT_T_UINT;
        switch (attr) {
        case kFrameNumber:
            v.u = pv.number;
            break;
        case kFrameTime:
        case kFrameTimeEpoch: {
            char text[32];
            auto r = fmt::format_to_n(text, sizeof text, "{}.{:09}", pv.raw->ts_ns / 1000000000ull,
                                      pv.raw->ts_ns % 1000000000ull);
            frameString(column, std::string_view(text, r.size));
            return;
        }
        case kFrameLen:
            v.u = pv.raw->wirelen;
            break;
        case kFrameCapLen:
            v.u = pv.raw->caplen;
            break;
        case kFrameLinktype:
            v.u = pv.raw->linktype;
            break;
        case kFramePath:
        case kFrameProtocols:
            framePath(column);
            return;
        case kFrameTruncated:
            if (!pv.truncated.empty()) frameString(column, pv.truncated);
            return;
        case kFrameMalformed:
            if (!pv.malformed.empty()) frameString(column, pv.malformed);
            return;
        case kFrameSession:
            if (!pv.session) return;
            v.u = pv.session;
            break;
        case kFrameDirection:
            if (!pv.session) return;
            v.u = pv.direction;
            break;
        default:
            return;
        }
        pv.values[size_t(column)].push_back(Value{v});
    }
};

Handler::Handler(const ProtocolLibrary& library, const HandlerOptions& options)
    : impl_(std::make_unique<Impl>(library, options)) {}
Handler::~Handler() = default;

int Handler::request(std::string_view attribute) {
    return impl_->requestNamed(attribute);
}

bool Handler::on_attribute(std::string_view attribute, AttributeCallback cb) {
    AttributeRef r = impl_->lib.find_attribute(attribute);
    if (!r.valid() || r.proto < 0) return false;
    auto& w = impl_->wants[size_t(r.proto)];
    if (w.attrCbs.size() <= size_t(r.attr)) w.attrCbs.resize(size_t(r.attr) + 1);
    if (r.event) {
        w.attrCbs[size_t(r.attr)].push_back(std::move(cb));
        w.events |= uint64_t(1) << impl_->T->protos[r.proto].attrs[r.attr].event_index;
        w.analyse = true;
        return true;
    }
    // Request-based: computed through a column, then handed to the callback per packet.
    int column = request(attribute);
    impl_->packetCbs.push_back([column, cb = std::move(cb)](const PacketView& p) {
        for (const Value& v : p.values(column))
            if (cb(p, v) == Action::Drop) return Action::Drop;
        return Action::Continue;
    });
    return true;
}

void Handler::on_packet(PacketCallback cb) {
    impl_->packetCbs.push_back(std::move(cb));
}
void Handler::on_session_start(SessionCallback cb) {
    impl_->startCbs.push_back(std::move(cb));
    impl_->sessions.flows.onStart = [impl = impl_.get()](const SessionInfo& s) {
        for (auto& f : impl->startCbs) f(s);
    };
}
void Handler::on_session_classified(SessionCallback cb) {
    impl_->classifiedCbs.push_back(std::move(cb));
    impl_->sessions.flows.onClassified = [impl = impl_.get()](const SessionInfo& s) {
        for (auto& f : impl->classifiedCbs) f(s);
    };
}
void Handler::on_session_end(SessionCallback cb) {
    impl_->endCbs.push_back(std::move(cb));
    impl_->hearEnds();
}

namespace {

/// Adds `fn` to the list of `protocol`'s callbacks, heaviest first, in order of addition
/// among equal weights.
template <class Lists, class Fn>
bool addWeighted(const ProtocolLibrary& lib, Lists& lists, std::string_view protocol, int weight,
                 Fn fn) {
    int p = lib.find_protocol(protocol);
    if (p < 0) return false;
    auto& v = lists[size_t(p)];
    v.push_back({weight, std::move(fn)});
    std::stable_sort(v.begin(), v.end(),
                     [](const auto& a, const auto& b) { return a.weight > b.weight; });
    return true;
}

} // namespace

bool Handler::add_analyser(std::string_view protocol, int weight, Analyser fn) {
    return addWeighted(impl_->lib, impl_->analysers, protocol, weight, std::move(fn));
}

bool Handler::add_classifier(std::string_view protocol, int weight, Classifier fn) {
    return addWeighted(impl_->lib, impl_->classifiers, protocol, weight, std::move(fn));
}

Action Handler::process(const RawPacket& packet) {
    return impl_->process(packet);
}
void Handler::finish() {
    impl_->sessions.finish();
}
const HandlerStats& Handler::stats() const {
    // The parts count where their limits act; the totals are gathered here.
    HandlerStats& st = impl_->stats;
    const Sessions& s = impl_->sessions;
    st.sessions = s.flows.created();
    st.sessions_evicted = s.flows.evicted();
    st.sessions_unclassified = s.flows.unclassified();
    const StreamStats& ss = s.streams.streamStats();
    auto bound = [](StreamBound b) { return static_cast<size_t>(b); };
    st.stream_window_skips = ss.skips[bound(StreamBound::Window)];
    st.stream_window_bytes = ss.skipped_bytes[bound(StreamBound::Window)];
    st.stream_holes_skips = ss.skips[bound(StreamBound::Holes)];
    st.stream_holes_bytes = ss.skipped_bytes[bound(StreamBound::Holes)];
    st.stream_budget_skips = ss.skips[bound(StreamBound::Budget)];
    st.stream_budget_bytes = ss.skipped_bytes[bound(StreamBound::Budget)];
    st.pdus_over_max = s.streams.pduStats().over_max;
    st.pdus_budget_dropped = s.streams.pduStats().budget_dropped;
    st.bodies_skipped = s.streams.bodiesSkipped();
    const DefragStats& ds = s.defrag.stats();
    auto dropped = [&](DefragDrop why) { return ds.dropped[static_cast<size_t>(why)]; };
    st.fragments_timed_out = dropped(DefragDrop::Timeout);
    st.fragments_evicted = dropped(DefragDrop::TableFull);
    st.fragments_too_many_pieces = dropped(DefragDrop::TooManyFragments);
    st.fragments_over_budget = dropped(DefragDrop::Budget);
    st.fragments_too_large = dropped(DefragDrop::TooLarge);
    st.buffered_bytes_peak = s.budget.peak();
    st.fragment_bytes_peak = ds.peak_bytes;
    return st;
}

std::vector<Handler::ApplicationCount> Handler::applications() const {
    std::vector<ApplicationCount> out;
    for (const auto& [name, a] : impl_->apps) out.push_back({name, a.flows, a.packets, a.bytes});
    std::sort(out.begin(), out.end(), [](const ApplicationCount& a, const ApplicationCount& b) {
        return a.packets != b.packets ? a.packets > b.packets : a.application < b.application;
    });
    return out;
}

std::vector<Handler::PathCount> Handler::hierarchy() const {
    std::vector<PathCount> out;
    impl_->listPaths(0, "", out);
    return out;
}

} // namespace mmt
