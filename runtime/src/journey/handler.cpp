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
#include "services/services.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace mmt {

std::string Value::text() const {
    return format_value(v, hex_digits);
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
        : lib(l), T(l.impl_->table), opts(o), sessions(*l.impl_, o), services(l),
          arena(kArenaSize) {
        wants.resize(T->n_protos);
        if (o.check_bodies) check_bodies();
        analysers.resize(T->n_protos);
        classifiers.resize(T->n_protos);
        if (o.flow_details) request_details();
        if (o.count_paths) hear_ends();
        pv.table = T;
        for (LayerState& L : layers) {
            L.ctx.scratch = &scratch;
            L.ctx.emit = &Impl::on_event;
            L.ctx.user = this;
        }
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
    struct Getter {
        int attr, column;
        uint8_t skip_if; // FlowData::details bits: the flow knows what this column is for
    };
    struct Wants {
        std::vector<Getter> getters;
        uint64_t events = 0;                                  // bits of ctx.events_wanted
        std::vector<std::vector<int>> event_columns;          // by attribute index
        std::vector<std::vector<AttributeCallback>> attr_cbs; // by attribute index
        bool analyse = false;   // run the analyse stage: events wanted, or bodies checked
        bool ip_header = false; // an IP protocol, when flows show their tunnels: pass_ip_header
        bool any() const { return !getters.empty() || events != 0; }
    };

    const ProtocolLibrary& lib;
    const mmt_library* T;
    HandlerOptions opts;
    Sessions sessions;

    std::vector<AttributeRef> columns;
    std::vector<Wants> wants;
    std::vector<std::pair<int, int>> frame_columns; // (frame attribute, column)
    std::vector<std::vector<UserAnalyser>> analysers;
    std::vector<std::vector<UserClassifier>> classifiers;
    std::vector<PacketCallback> packet_cbs;
    std::vector<SessionCallback> start_cbs, classified_cbs, end_cbs;

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
        Ipv4Src, // the four addresses last: see address_columns
        Ipv4Dst,
        Ipv6Src,
        Ipv6Dst
    };
    /// What a live flow has shown of itself. Every flow with a detail has one, so it is
    /// small: the texts most flows never have (a name, fingerprints, VLANs, tunnels) are
    /// made with the first of them.
    struct FlowDetails {
        struct Texts {
            std::string server_name, ja3, ja4, ja3s, vlan, tunnel;
        };
        std::unique_ptr<Texts> texts;
        const char* source = ""; // where server_name came from: "tls", "quic", "http", "dns"
        // Zeek's letters, each the first time a direction shows it: six a direction at most.
        char history[12];
        uint8_t history_len = 0;
        uint8_t letters[2] = {}; // per direction: kHistory* bits already in `history`
        int8_t name_rank = 0;    // 4 TLS/QUIC SNI, 3 HTTP Host, 2 DNS query; 0 none
        int16_t icmp_type = -1, icmp_code = -1;
        bool icmp_seen = false, vlan_seen = false, tcp = false, tunnel_seen = false;

        Texts& text() {
            if (!texts) texts = std::make_unique<Texts>();
            return *texts;
        }
        bool has(std::string Texts::*field) const { return texts && !((*texts).*field).empty(); }
    };
    uint32_t session_payload = 0; // payload above the session's protocol, this packet
    std::vector<std::pair<int, Detail>> detail_columns; // (column, what it fills)
    std::vector<int> touched;                           // the columns with values this packet
    std::vector<int8_t> detail_of_column; // by column: its index in detail_columns, or -1
    uint32_t details_here = 0;            // bit i: detail_columns[i] has values this packet
    FlowData* detail_flow = nullptr;      // the data of the session the packet belongs to
    // What a flow keeps once it is known (FlowData::details): the columns that would only
    // repeat it are not computed for its later packets.
    static constexpr uint8_t kKnownTlsName = 1, kKnownHttpName = 2, kKnownJa3 = 4, kKnownJa4 = 8,
                             kKnownJa3s = 16;
    static uint8_t known_bits(Detail what) {
        switch (what) {
        case Detail::Sni:
        case Detail::QuicSni:
            return kKnownTlsName;
        case Detail::Host:
            return kKnownHttpName;
        case Detail::Ja3:
            return kKnownJa3;
        case Detail::Ja4:
            return kKnownJa4;
        case Detail::Ja3s:
            return kKnownJa3s;
        default:
            return 0;
        }
    }
    std::unordered_map<uint64_t, FlowDetails> details; // by session id, while it lives
    uint32_t tcp_flags_bit = 0; // details_here's bit of the tcp.flags column, if any
    int tcp_flags_column = -1;
    FlowDetails* last_details = nullptr; // details[last_details_id], or null
    uint64_t last_details_id = 0;
    int query_column = -1; // dns.qname's, for DnsAddress
    ServiceNamer services; // by the flows' names, recent DNS answers and addresses
    std::vector<Handler::DnsAnswerCallback> dns_answer_cbs;

    int request_named(std::string_view attribute) {
        AttributeRef r = lib.find_attribute(attribute);
        if (!r.valid()) return -1;
        int column = int(columns.size());
        columns.push_back(r);
        pv.values.emplace_back();
        detail_of_column.push_back(-1);
        request_column(column);
        return column;
    }

    void request_details() {
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
            if (int c = request_named(name); c >= 0) {
                detail_of_column[size_t(c)] = int8_t(detail_columns.size());
                if (what == Detail::TcpFlags && !tcp_flags_bit) {
                    tcp_flags_bit = 1u << detail_columns.size();
                    tcp_flags_column = c;
                }
                detail_columns.push_back({c, what});
                if (uint8_t bits = known_bits(what)) {
                    const AttributeRef& r = columns[size_t(c)];
                    for (Getter& g : wants[size_t(r.proto)].getters)
                        if (g.column == c) g.skip_if = bits;
                }
                if (what == Detail::Query) query_column = c;
                if (what >= Detail::Ipv4Src) {
                    address_columns[int(what) - int(Detail::Ipv4Src)] = c;
                    // Read only for the outer headers of tunnels: see pass_ip_header.
                    const AttributeRef& r = columns[size_t(c)];
                    auto& getters = wants[size_t(r.proto)].getters;
                    for (auto it = getters.begin(); it != getters.end(); ++it)
                        if (it->column == c) {
                            outer_address_getters[what >= Detail::Ipv6Src].push_back(*it);
                            getters.erase(it);
                            break;
                        }
                }
            }
        ipv4_proto = lib.find_protocol("ipv4");
        ipv6_proto = lib.find_protocol("ipv6");
        for (int ip : {ipv4_proto, ipv6_proto})
            if (ip >= 0) wants[size_t(ip)].ip_header = true;
        icmp_proto = lib.find_protocol("icmp");
        icmpv6_proto = lib.find_protocol("icmpv6");
        for (const char* carrier : {"udp", "tcp", "sctp", "ipv6_ext", "ipv6_frag"})
            if (int p = lib.find_protocol(carrier); p >= 0) tunnel_carriers.push_back(p);
        // Sessions that end must give their details back, callbacks or not.
        hear_ends();
    }

    /// After a packet's walk: what it shows of its session, first values first.
    void note_details() {
        if (!pv.session || !details_here) return;
        // Packets of one flow often come in a row: its details are looked up once for them.
        if (pv.session != last_details_id || !last_details) {
            auto it = details.find(pv.session);
            if (it == details.end()) {
                if (detail_flow && short_history(*detail_flow)) return;
                it = details.emplace(pv.session, FlowDetails{}).first;
                if (detail_flow && detail_flow->history) {
                    // What the flow data kept goes on here; its tunnel was looked for then.
                    unpack_history(detail_flow->history, it->second);
                    it->second.tunnel_seen = true;
                    detail_flow->history = 0;
                }
            }
            last_details = &it->second;
            last_details_id = pv.session;
        }
        FlowDetails& d = *last_details;
        bool vlan_here = false;
        // In the order of detail_columns, which says which comes first (S-VLAN, C-VLAN).
        for (uint32_t left = details_here; left; left &= left - 1) {
            auto [column, what] = detail_columns[size_t(__builtin_ctz(left))];
            note_detail(d, what, pv.values[size_t(column)], vlan_here);
        }
        if (detail_flow) {
            if (d.name_rank >= 4) detail_flow->details |= kKnownTlsName;
            if (d.name_rank >= 3) detail_flow->details |= kKnownHttpName;
            if (d.has(&FlowDetails::Texts::ja3)) detail_flow->details |= kKnownJa3;
            if (d.has(&FlowDetails::Texts::ja4)) detail_flow->details |= kKnownJa4;
            if (d.has(&FlowDetails::Texts::ja3s)) detail_flow->details |= kKnownJa3s;
        }
        if (!d.tunnel_seen) {
            d.tunnel_seen = true;
            if (std::string t = tunnel_text(); !t.empty()) d.text().tunnel = std::move(t);
        }
        if (vlan_here) d.vlan_seen = true;
        if (d.icmp_type >= 0 && d.icmp_code >= 0) d.icmp_seen = true;
    }

    /// One detail column's values (`vs`, not empty) into the session's details.
    void note_detail(FlowDetails& d, Detail what, const std::vector<Value>& vs, bool& vlan_here) {
        auto rank = [&](int r, const char* source) {
            if (r <= d.name_rank) return;
            d.name_rank = int8_t(r);
            d.text().server_name = vs.front().text();
            d.source = source;
        };
        auto first = [&](std::string FlowDetails::Texts::*field) {
            std::string& out = d.text().*field;
            if (out.empty()) out = vs.front().text();
        };
        switch (what) {
        case Detail::Sni:
            return rank(4, "tls");
        case Detail::QuicSni:
            return rank(4, "quic");
        case Detail::Host:
            return rank(3, "http");
        case Detail::Query:
            return rank(2, "dns");
        case Detail::Ja3:
            return first(&FlowDetails::Texts::ja3);
        case Detail::Ja4:
            return first(&FlowDetails::Texts::ja4);
        case Detail::Ja3s:
            return first(&FlowDetails::Texts::ja3s);
        case Detail::Vlan:
            // The tags of the first tagged packet, outermost first: the S-VLAN column
            // comes before the C-VLAN one, and stacked tags are in path order.
            if (d.vlan_seen && !vlan_here) return;
            for (const Value& v : vs) {
                std::string& vlan = d.text().vlan;
                if (!vlan.empty()) vlan += '.';
                vlan += v.text();
            }
            vlan_here = true;
            return;
        case Detail::IcmpType:
            if (!d.icmp_seen) d.icmp_type = int16_t(vs.front().v.u);
            return;
        case Detail::IcmpCode:
            if (!d.icmp_seen) d.icmp_code = int16_t(vs.front().v.u);
            return;
        case Detail::TcpFlags:
            // The innermost TCP header is the session's.
            return tcp_history(d, uint8_t(vs.back().v.u));
        case Detail::DnsAddress:
            // The addresses a DNS answer gives, remembered under the name asked for
            // (not the CNAME chain's end): the service a later flow to them is for.
            if (query_column >= 0 && !pv.values[size_t(query_column)].empty()) {
                std::string name = pv.values[size_t(query_column)].front().text();
                for (const Value& v : vs)
                    if (v.v.ptr) {
                        std::span<const uint8_t> addr(v.v.ptr, v.v.len);
                        if (opts.name_services) services.remember(addr, name);
                        for (auto& cb : dns_answer_cbs) cb(addr, name);
                    }
            }
            return;
        case Detail::Ipv4Src:
        case Detail::Ipv4Dst:
        case Detail::Ipv6Src:
        case Detail::Ipv6Dst:
            return; // read together by tunnel_text()
        }
    }

    int address_columns[4] = {-1, -1, -1, -1}; // ipv4.src, ipv4.dst, ipv6.src, ipv6.dst
    // The getters of those columns, IPv4's then IPv6's: not run on every IP header, as
    // extract would, but on those that another IP header follows (pass_ip_header).
    std::vector<Getter> outer_address_getters[2];
    int last_ip_layer = -1; // the index in `layers` of the packet's last IP header so far

    /// An IP header: the one before it on the path (if any) is a tunnel's outer header, and
    /// its addresses are read for the flow's tunnels (tunnel_text). Most packets have one
    /// IP header, whose addresses the flow record has already.
    MMT_INLINE void pass_ip_header(const LayerState& L) {
        if (last_ip_layer >= 0) {
            LayerState& O = layers[size_t(last_ip_layer)];
            for (const Getter& g : outer_address_getters[O.proto == ipv6_proto])
                run_getter(T->protos[O.proto], g, O.ctx);
        }
        last_ip_layer = int(&L - layers.data());
    }
    int ipv4_proto = -1, ipv6_proto = -1, icmp_proto = -1, icmpv6_proto = -1;
    std::vector<int> tunnel_carriers; // protocols between an outer IP header and its tunnel

    /// The tunnels of the current packet, outermost first: every IP header but the last,
    /// the session's, with the protocol that follows it (past its transport).
    std::string tunnel_text() const {
        std::string out;
        size_t seen[2] = {0, 0}; // IPv4, IPv6 headers passed
        const auto& path = pv.path;
        int last_ip = -1;
        for (size_t i = 0; i < path.size(); ++i) {
            int proto = path[i].proto;
            // The headers an ICMP error quotes are not tunnels.
            if (proto >= 0 && (proto == icmp_proto || proto == icmpv6_proto)) break;
            if (proto >= 0 && (proto == ipv4_proto || proto == ipv6_proto)) last_ip = int(i);
        }
        for (int i = 0; i < last_ip; ++i) {
            int proto = path[size_t(i)].proto;
            if (proto < 0 || (proto != ipv4_proto && proto != ipv6_proto)) continue;
            int v6 = proto == ipv6_proto;
            size_t k = seen[v6]++;
            auto address = [&](int which) -> std::string {
                int column = address_columns[2 * v6 + which];
                if (column < 0) return "?";
                auto vs = pv.values[size_t(column)];
                return k < vs.size() ? vs[k].text() : "?";
            };
            // The tunnel's protocol: what follows the outer header and its transport.
            size_t next = size_t(i) + 1;
            while (next < path.size() && std::find(tunnel_carriers.begin(), tunnel_carriers.end(),
                                                   path[next].proto) != tunnel_carriers.end())
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

    void tcp_history(FlowDetails& d, uint8_t flags) {
        constexpr uint8_t fin = 1, syn = 2, rst = 4, ack = 16;
        d.tcp = true;
        unsigned dir = pv.direction & 1;
        auto note = [&](unsigned letter) {
            if (d.letters[dir] & (1u << letter)) return;
            d.letters[dir] |= uint8_t(1u << letter);
            char c = kHistoryLetters[letter];
            if (d.history_len < sizeof d.history)
                d.history[d.history_len++] = dir ? char(c - 'A' + 'a') : c;
        };
        if ((flags & syn) && !(flags & ack)) note(0);
        if ((flags & syn) && (flags & ack)) note(1);
        if (session_payload)
            note(3);
        else if ((flags & ack) && !(flags & (syn | fin | rst)))
            note(2);
        if (flags & fin) note(4);
        if (flags & rst) note(5);
    }

    /// A TCP session's first two history letters, while its packets show nothing else of it
    /// (no tunnel, no name, no VLAN), are kept in its flow data (FlowData::history) rather
    /// than in `details`: scans and floods make many sessions of a SYN or two. True when
    /// this packet's were.
    bool short_history(FlowData& fd) {
        if (details_here != tcp_flags_bit || tcp_flags_bit == 0) return false;
        if (fd.history == 0 && !tunnel_text().empty()) return false;
        FlowDetails d;
        unpack_history(fd.history, d);
        bool vlan_here = false;
        note_detail(d, Detail::TcpFlags, pv.values[size_t(tcp_flags_column)], vlan_here);
        if (d.history_len == 0 || d.history_len > 2) return false;
        fd.history = pack_history(d);
        return true;
    }

    // FlowData::history: a 4-bit code a letter, first letter lowest (1 + 6 * direction + the
    // letter's index in kHistoryLetters; 0: no letter).
    /// The code of `d`'s first two letters.
    static uint8_t pack_history(const FlowDetails& d) {
        uint8_t packed = 0;
        for (uint8_t i = 0; i < d.history_len && i < 2; ++i) {
            const char c = d.history[i];
            const bool responder = c >= 'a';
            const char* at = std::strchr(kHistoryLetters, responder ? c - 'a' + 'A' : c);
            packed |= uint8_t((1 + 6 * responder + (at - kHistoryLetters)) << (4 * i));
        }
        return packed;
    }
    /// The letters of a code, into `d`.
    static void unpack_history(uint8_t packed, FlowDetails& d) {
        for (; packed; packed >>= 4) {
            const unsigned code = (packed & 15u) - 1, dir = code / 6, letter = code % 6;
            d.tcp = true;
            d.letters[dir] |= uint8_t(1u << letter);
            const char c = kHistoryLetters[letter];
            d.history[d.history_len++] = dir ? char(c - 'A' + 'a') : c;
        }
    }

    /// Zeek's conn_state of a TCP session from the letters each side showed.
    static const char* tcp_state(const FlowDetails& d) {
        auto has = [&](unsigned dir, unsigned letter) { return d.letters[dir] & (1u << letter); };
        bool o_syn = has(0, 0), r_syn_ack = has(1, 1), o_fin = has(0, 4), r_fin = has(1, 4);
        bool o_rst = has(0, 5), r_rst = has(1, 5);
        if (!o_syn) return r_syn_ack && r_rst ? "RSTRH" : r_syn_ack && r_fin ? "SHR" : "OTH";
        if (!r_syn_ack) return r_rst ? "REJ" : o_rst ? "RSTOS0" : o_fin ? "SH" : "S0";
        if (o_rst) return "RSTO";
        if (r_rst) return "RSTR";
        return o_fin && r_fin ? "SF" : o_fin ? "S2" : r_fin ? "S3" : "S1";
    }

    /// Sessions that end are described and go through session_ended: for the end
    /// callbacks, the flow details and the counts per application.
    void hear_ends() {
        sessions.flows.on_end = [this](SessionInfo& s) { session_ended(s); };
    }

    struct AppCount {
        uint64_t flows = 0, packets = 0, bytes = 0;
    };
    std::unordered_map<std::string, AppCount> apps; // HandlerOptions::count_paths

    void session_ended(SessionInfo& info) {
        if (opts.count_paths) {
            AppCount& a = apps[info.application.empty() ? "unknown" : info.application];
            a.flows++;
            a.packets += info.packets[0] + info.packets[1];
            a.bytes += info.bytes[0] + info.bytes[1];
        }
        if (!opts.flow_details) {
            for (auto& f : end_cbs) f(info);
            return;
        }
        if (auto it = details.find(info.id); it != details.end()) {
            FlowDetails& d = it->second;
            if (FlowDetails::Texts* t = d.texts.get()) {
                info.server_name = std::move(t->server_name);
                info.ja3 = std::move(t->ja3);
                info.ja4 = std::move(t->ja4);
                info.ja3s = std::move(t->ja3s);
                info.vlan = std::move(t->vlan);
                info.tunnel = std::move(t->tunnel);
            }
            info.server_name_source = d.source;
            if (d.tcp) {
                info.conn_state = tcp_state(d);
                info.history.assign(d.history, d.history_len);
            }
            if (info.community_id.empty() && d.icmp_seen)
                info.community_id = icmp_community_id(info, d);
            if (last_details == &d) last_details = nullptr;
            details.erase(it);
        } else if (const FlowData* fd = sessions.flows.ending(); fd && fd->history) {
            FlowDetails d;
            unpack_history(fd->history, d);
            info.conn_state = tcp_state(d);
            info.history.assign(d.history, d.history_len);
        }
        if (opts.name_services) stats.service_lookups += services.name(info);
        if (info.conn_state.empty()) {
            // Without TCP's flags: attempted (S0) or answered (SF) for flows with ports, as
            // Zeek says of UDP; OTH for the others (ICMP...).
            bool ports = info.src_port || info.dst_port;
            info.conn_state = !ports ? "OTH" : info.packets[1] ? "SF" : "S0";
            if (ports && info.payload[0]) info.history += 'D';
            if (ports && info.payload[1]) info.history += 'd';
        }
        for (auto& f : end_cbs) f(info);
    }

    /// ICMP's Community ID: the type and code of the flow's first message stand for ports.
    static std::string icmp_community_id(const SessionInfo& s, const FlowDetails& d) {
        uint8_t a[16], b[16];
        const size_t n = session_address(s, false, a);
        if (n == 0 || session_address(s, true, b) != n) return {};
        const int proto = s.transport == "icmp" && n == 4      ? 1
                          : s.transport == "icmpv6" && n == 16 ? 58
                                                               : 0;
        if (!proto) return {};
        return community_id_v1({a, n}, {b, n}, uint8_t(proto), uint16_t(d.icmp_type),
                               uint16_t(d.icmp_code));
    }

    // Per packet.
    PacketView::Impl pv;
    std::array<LayerState, kMaxDepth> layers;
    unsigned depth = 0;
    std::vector<uint8_t> arena;
    mmt_scratch scratch{}; // the arena, shared by every layer's stage functions
    int event_proto = -1;
    bool dropped = false;
    HandlerStats stats;
    uint64_t frames = 0; // the last packet's frame number
    // A reassembled datagram, copied so that it outlives the defragmenter's buffer.
    std::vector<uint8_t> reassembled;

    // Protocol hierarchy: a trie of paths (node 0 is the root); a packet walks it without
    // allocating, nodes are added only for paths never seen before.
    struct PathNode {
        int proto;
        uint64_t packets = 0, bytes = 0;
        std::vector<uint32_t> children;
    };
    std::vector<PathNode> paths{PathNode{-1, 0, 0, {}}};

    // Every body is read for its constraints (frame.malformed, frame.truncated).
    void check_bodies() {
        for (Wants& w : wants) w.analyse = true;
    }

    bool request_column(int column) {
        const AttributeRef& r = columns[size_t(column)];
        if (r.proto < 0) {
            frame_columns.push_back({r.attr, column});
            // Where a packet breaks a body's constraints is known only once the body is read.
            if (r.attr == kFrameTruncated || r.attr == kFrameMalformed) check_bodies();
            return true;
        }
        Wants& w = wants[size_t(r.proto)];
        const mmt_attr& a = T->protos[r.proto].attrs[r.attr];
        if (a.kind == MMT_ATTR_EVENT) {
            w.events |= uint64_t(1) << a.event_index;
            w.analyse = true;
            if (w.event_columns.size() <= size_t(r.attr))
                w.event_columns.resize(size_t(r.attr) + 1);
            w.event_columns[size_t(r.attr)].push_back(column);
        } else {
            w.getters.push_back({r.attr, column, 0});
        }
        return true;
    }

    static void on_event(mmt_ctx* ctx, uint32_t attr, const mmt_value* v) {
        auto* self = static_cast<Impl*>(ctx->user);
        self->deliver(self->event_proto, int(attr), *v);
    }

    /// Copies `n` bytes into the arena; null when it is full.
    const uint8_t* arena_copy(const void* p, size_t n) {
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
        bool in_packet = v.ptr >= pv.raw->data && v.ptr + v.len <= pv.raw->data + pv.raw->caplen;
        bool in_arena = v.ptr >= scratch.base && v.ptr + v.len <= scratch.base + scratch.cap;
        if (in_packet || in_arena) return true;
        v.ptr = arena_copy(v.ptr, v.len);
        return v.ptr != nullptr;
    }

    /// One more value of `column` this packet.
    void add_value(int column, const Value& v) {
        auto& vs = pv.values[size_t(column)];
        if (vs.empty()) {
            touched.push_back(column);
            if (int8_t d = detail_of_column[size_t(column)]; d >= 0) details_here |= 1u << d;
        }
        vs.push_back(v);
    }

    /// Records one occurrence of an attribute for the columns and callbacks that want it.
    void deliver(int proto, int attr, const mmt_value& raw) {
        Wants& w = wants[size_t(proto)];
        mmt_value v = raw;
        if (!keep(v)) return;
        Value val{v, T->protos[proto].attrs[attr].hex_digits};
        if (size_t(attr) < w.event_columns.size())
            for (int col : w.event_columns[size_t(attr)]) add_value(col, val);
        if (size_t(attr) < w.attr_cbs.size())
            for (auto& cb : w.attr_cbs[size_t(attr)])
                if (cb(PacketView(&pv), val) == Action::Drop) dropped = true;
    }

    void reset_packet(const RawPacket& raw) {
        pv.raw = &raw;
        ++stats.packets;
        frames = raw.number ? raw.number : frames + 1;
        pv.number = frames;
        pv.path.clear();
        for (int column : touched) pv.values[size_t(column)].clear();
        touched.clear();
        details_here = 0;
        detail_flow = nullptr;
        pv.truncated.clear();
        pv.malformed.clear();
        pv.session = 0;
        pv.direction = 0;
        session_payload = 0;
        depth = 0;
        last_ip_layer = -1;
        scratch = mmt_scratch{arena.data(), uint32_t(arena.size()), 0};
        dropped = false;
        stats.bytes += raw.wirelen;
    }

    std::string failure_text(int proto, const mmt_parse_result& r) {
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
        const uint8_t known = detail_flow ? detail_flow->details : 0;
        for (const Getter& g : w.getters)
            if (!(g.skip_if & known)) run_getter(p, g, L.ctx);
    }

    /// One getter on a layer's context: its value, if any, goes to the getter's column.
    MMT_INLINE void run_getter(const mmt_proto& p, const Getter& g, mmt_ctx& ctx) {
        const mmt_attr& a = p.attrs[g.attr];
        mmt_value v{};
        if (a.get && a.get(&ctx, &v) && keep(v)) add_value(g.column, Value{v, a.hex_digits});
    }

    /// Sets up the next layer: protocol `proto` over [data, data + len), above `parent`.
    MMT_INLINE LayerState& enter_layer(int proto, const mmt_proto& p, const uint8_t* data,
                                       uint32_t len, const LayerState* parent, bool in_packet) {
        LayerState& L = layers[depth++];
        L.proto = proto;
        L.id = p.id;
        L.in_packet = in_packet;
        // The fields a layer's context keeps (scratch, emit, user) were set once, with the
        // handler; these are the packet's and the layer's (memo and state: none yet).
        mmt_ctx& c = L.ctx;
        c.data = data;
        c.len = len;
        c.direction = pv.direction;
        c.linktype = pv.raw->linktype;
        c.parent_id = parent ? parent->id : 0;
        c.parent = parent ? &parent->ctx : nullptr;
        c.memo = nullptr;
        c.state = nullptr;
        c.events_wanted = events_of[size_t(proto)];
        return L;
    }

    /// pre_analyse: the compiled `validate` stage puts the layer on the path. False when
    /// the walk stops here: the packet is truncated or malformed at this layer.
    MMT_INLINE bool validate_layer(LayerState& L, const mmt_proto& p) {
        mmt_parse_result& r = L.res;
        std::memset(&r, 0, sizeof r);
        int32_t status = p.validate(&L.ctx, &r);
        uint32_t offset = L.in_packet ? uint32_t(L.ctx.data - pv.raw->data) : 0;
        pv.path.push_back(Layer{L.proto, depth - 1, offset, r.header_len, r.payload_len});
        if (status != MMT_OK) {
            std::string where = failure_text(L.proto, r);
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
                    event_proto = L.proto;
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
    /// (`flow` and `flow_layer` become the session's), then the layer's session state.
    MMT_INLINE void sessionize(LayerState& L, const mmt_proto& p, uint16_t st, bool quoted,
                               Flow*& flow, int& flow_layer) {
        if (st & kStepKey) sessions.key.add(L.proto, p, L.ctx);
        if ((st & kStepSession) && !quoted) {
            if (Flow* f = sessions.flows.lookup(L.proto, sessions.key, *pv.raw, pv.path)) {
                flow = f;
                flow_layer = int(depth - 1);
                // Payload above the session's protocol, as captured (saturating).
                uint32_t& counted = f->session->payload[f->direction];
                counted += std::min(L.res.payload_len, UINT32_MAX - counted);
                pv.session = f->id();
                pv.direction = f->direction;
                detail_flow = f->data;
                session_payload = L.res.payload_len;
                L.ctx.direction = pv.direction;
            }
        }
        if (flow && (st & kStepState)) L.ctx.state = sessions.flows.state_for(*flow, L.proto);
        // Values computed before the layer had its direction and state (by validate) are
        // computed again.
        L.ctx.memo = nullptr;
    }

    /// analyse (events, and the body's constraints, when someone listens to either),
    /// extract, user analysers by weight, then
    /// post_analyse. Returns what the analysers (or a dropping callback) decided.
    MMT_INLINE Action analyse_layer(LayerState& L, const mmt_proto& p, uint16_t st) {
        if (st & kStepAnalyse) {
            event_proto = L.proto;
            mmt_parse_result ar{};
            const mmt_status status = mmt_status(p.analyse(&L.ctx, &ar));
            if (status == MMT_MALFORMED && pv.malformed.empty()) {
                pv.malformed = failure_text(L.proto, ar);
                ++stats.malformed;
            } else if (status == MMT_TRUNCATED && pv.truncated.empty()) {
                pv.truncated = failure_text(L.proto, ar);
                ++stats.truncated;
            }
            if (dropped) return Action::Drop;
        }
        if (st & kStepGetters) extract(L);
        if (st & kStepIpHeader) pass_ip_header(L);
        Action act = Action::Continue;
        if (st & kStepAnalysers)
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
        if ((st & kStepUpdate) && L.ctx.state) p.update(&L.ctx);
        return act;
    }

    /// A fragment goes to the defragmenter; once the datagram is whole, it becomes the
    /// payload. False when the walk stops here (a fragment, incomplete or cut short).
    MMT_INLINE bool defragment(LayerState& L, const mmt_proto& p, const uint8_t*& payload,
                               uint32_t& plen, bool& in_packet) {
        mmt_frag_info fi{};
        if (!p.fragment || !p.fragment(&L.ctx, &fi)) return true;
        // A fragment cut short cannot be reassembled; the first one still shows the headers
        // that follow it, as tshark does.
        if (L.res.payload_truncated) return fi.offset == 0;
        const uint8_t* whole = nullptr;
        uint32_t whole_len = 0, overlap = 0;
        bool complete =
            sessions.defragment(p.id, fi, payload, plen, pv.raw->ts_ns, whole, whole_len, overlap);
        // Fragments that overlap (the first arrival wins) are reported, as tools that watch
        // for evasion expect.
        if (overlap) {
            ++stats.fragment_overlaps;
            if (pv.malformed.empty()) pv.malformed = std::string(p.name) + ".fragment_overlap";
        }
        if (!complete) return false;
        ++stats.fragments_reassembled;
        reassembled.assign(whole, whole + whole_len);
        payload = reassembled.data();
        plen = whole_len;
        in_packet = false;
        return true;
    }

    /// A stream protocol's payload at its session's layer: classified while the session does
    /// not know what runs above, then delivered in order (and framed), which walks on.
    bool stream_layer(LayerState& L, const mmt_proto& p, Flow& flow, const uint8_t* payload,
                      uint32_t plen) {
        mmt_stream_info si{};
        if (!p.stream || !p.stream(&L.ctx, &si)) return true;
        FlowData& fd = *flow.data;
        // Without payload only port rules can answer: a guess, for flows that never carry any.
        if (fd.app == -1 && plen == 0 && fd.guess == -1)
            fd.guess = ProtoIndex(std::max(-2, classify(L, steps[size_t(L.proto)])));
        if (fd.app == -1 && plen > 0) {
            int next = classify(L, steps[size_t(L.proto)]);
            if (next >= 0)
                sessions.flows.classified(flow, next);
            else
                sessions.flows.gave_up(fd);
        }
        bool segment_held = false;
        bool keep = sessions.streams.deliver(flow, L, si, payload, plen, *this, segment_held);
        if (segment_held) ++stats.segments_held; // out of order: the packet's journey ends (SKIP)
        return keep;
    }

    /// classify_next: a session that knows its application skips classification (or gave
    /// up on it); otherwise the rules and user classifiers pick, and the session remembers.
    MMT_INLINE int next_protocol(LayerState& L, uint16_t st, Flow* flow, bool at_session,
                                 bool& quoted) {
        int next = -1;
        if (at_session && flow->data->app >= 0)
            next = flow->data->app;
        else if (at_session && flow->data->app == -2)
            next = -1;
        else
            next = classify(L, st, &quoted);
        // What a quoted packet is says nothing about the session: classify it each time.
        if (at_session && !quoted) {
            if (next >= 0)
                sessions.flows.classified(*flow, next);
            else if (flow->data->app == -1)
                sessions.flows.gave_up(*flow->data);
        }
        return next;
    }

    /// Runs the walk from protocol `proto` over [data, data + len). Returns false when a
    /// handler dropped the packet.
    bool walk(int proto, const uint8_t* data, uint32_t len, const LayerState* parent,
              bool in_packet, Flow* flow, int flow_layer) {
        bool quoted = false; // below a relation marked `quoted`
        while (proto >= 0) {
            if (depth >= kMaxDepth) return true;
            const mmt_proto& p = T->protos[proto];
            const uint16_t st = steps[size_t(proto)];
            LayerState& L = enter_layer(proto, p, data, len, parent, in_packet);
            // The session's state is known before a protocol above the session layer is
            // parsed: its fields may depend on what earlier packets left there.
            if (flow && (st & kStepStateAbove))
                L.ctx.state = sessions.flows.state_for(*flow, proto);
            if (!validate_layer(L, p)) return !dropped; // a callback may drop on an event
            sessionize(L, p, st, quoted, flow, flow_layer);
            Action act = analyse_layer(L, p, st);
            if (act == Action::Drop) return false;
            if (act == Action::Skip) return true;

            const uint8_t* payload = data + L.res.header_len;
            uint32_t plen = L.res.payload_len;
            if ((st & kStepFragment) && !defragment(L, p, payload, plen, in_packet)) return true;
            bool at_session = flow && flow_layer == int(depth - 1);
            if ((st & kStepStream) && at_session) return stream_layer(L, p, *flow, payload, plen);
            if (plen == 0 && !(st & kStepBuiltin)) return true;
            int next = next_protocol(L, st, flow, at_session, quoted);
            if (next < 0) return true;
            parent = &L;
            proto = next;
            data = payload;
            len = plen;
        }
        return true;
    }

    // ChunkSink: stream delivery hands reassembled data back here; the walk resumes above
    // the stream's layer and leaves the depth as it found it.
    bool chunk(int proto, const uint8_t* data, uint32_t len, const LayerState* parent,
               Flow* flow) override {
        unsigned saved_depth = depth;
        int saved_ip = last_ip_layer; // the layers above saved_depth are the next chunk's
        bool keep = walk(proto, data, len, parent, false, flow, -1);
        depth = saved_depth;
        last_ip_layer = saved_ip;
        return keep;
    }
    void malformed(std::string_view where) override {
        if (pv.malformed.empty()) pv.malformed = where;
        ++stats.malformed;
    }
    /// When nothing but flow details is asked (mmtrun --flows), a flow's stream is framed
    /// and walked only while its application can still give one: once the details its
    /// protocol's columns fill are known (a TLS flow's fingerprints, an HTTP flow's host),
    /// or at once for a protocol that fills none, the rest of the stream is followed but
    /// not framed nor walked. A protocol that others run over, or whose details come from
    /// events or are never known once and for all (a DNS query), is walked to its end.
    bool wants_stream(const Flow& flow) override {
        if (!details_only) return true;
        const int app = flow.data->app;
        if (app < 0 || size_t(app) >= stream_needs.size()) return true;
        const uint8_t need = stream_needs[size_t(app)];
        if (need == kNeedAll) return true;
        uint8_t known = flow.data->details;
        // The server name, if the client sent one, came in the ClientHello that gave JA3.
        if (known & kKnownJa3) known |= kKnownTlsName;
        return (need & ~known) != 0;
    }

    /// By protocol: the FlowData::details bits its own detail columns wait for, or kNeedAll
    /// (see wants_stream). Worked out with the steps, when only flow details are asked.
    static constexpr uint8_t kNeedAll = 0xff;
    std::vector<uint8_t> stream_needs;
    void work_out_stream_needs() {
        stream_needs.assign(wants.size(), 0);
        for (size_t p = 0; p < wants.size(); ++p) {
            uint8_t& need = stream_needs[p];
            if (T->protos[p].classify || !classifiers[p].empty()) {
                need = kNeedAll;
                continue;
            }
            for (const Getter& g : wants[p].getters) need |= g.skip_if ? g.skip_if : kNeedAll;
            // Event attributes fill their columns as the events come (HTTP's host).
            for (const std::vector<int>& columns : wants[p].event_columns)
                for (int c : columns) {
                    const int8_t d = detail_of_column[size_t(c)];
                    const uint8_t bits = d < 0 ? 0 : known_bits(detail_columns[size_t(d)].second);
                    need |= bits ? bits : kNeedAll;
                }
        }
    }

    /// Nothing is asked of the packets but the flow details (the columns request_details
    /// makes, and the events behind them): no other column, no callback on packets or
    /// attributes, no analyser, no hierarchy. Worked out with the steps.
    bool details_only = false;

    /// By protocol index: which steps of the walk apply to its layers (what it declares and
    /// what is asked of it), in one word the walk reads once a layer. Worked out, with
    /// details_only and stream_needs, before the first packet after anything is asked
    /// (asked_more).
    enum Step : uint16_t {
        kStepKey = 1,           // key: its parts go into the packet's key
        kStepSession = 2,       // it makes sessions
        kStepState = 4,         // it has per-session state
        kStepStateAbove = 8,    // state, above the session layer (known before validate)
        kStepAnalyse = 16,      // the analyse stage runs (events wanted, bodies checked)
        kStepGetters = 32,      // attributes to extract
        kStepIpHeader = 64,     // an IP header whose addresses a tunnel's flow keeps
        kStepAnalysers = 128,   // user analysers
        kStepUpdate = 256,      // state updates
        kStepFragment = 512,    // fragments
        kStepStream = 1024,     // a stream protocol
        kStepBuiltin = 2048,    // built in (walked on without payload)
        kStepClassify = 4096,   // compiled classification rules
        kStepClassifiers = 8192 // user classifiers
    };
    std::vector<uint16_t> steps;
    std::vector<uint64_t> events_of; // wants[i].events, side by side
    bool steps_ready = false;
    void work_out_steps() {
        steps.assign(T->n_protos, 0);
        events_of.assign(T->n_protos, 0);
        for (size_t i = 0; i < T->n_protos; ++i) {
            const mmt_proto& p = T->protos[i];
            const Wants& w = wants[i];
            const bool session = p.flags & MMT_PROTO_SESSION;
            uint16_t st = 0;
            if (p.key) st |= kStepKey;
            if (session) st |= kStepSession;
            if (p.state_size) st |= session ? kStepState : kStepState | kStepStateAbove;
            if (w.analyse && p.analyse) st |= kStepAnalyse;
            if (!w.getters.empty()) st |= kStepGetters;
            if (w.ip_header) st |= kStepIpHeader;
            if (!analysers[i].empty()) st |= kStepAnalysers;
            if (p.update) st |= kStepUpdate;
            if (p.fragment) st |= kStepFragment;
            if (p.flags & MMT_PROTO_STREAM) st |= kStepStream;
            if (p.flags & MMT_PROTO_BUILTIN) st |= kStepBuiltin;
            if (p.classify) st |= kStepClassify;
            if (!classifiers[i].empty()) st |= kStepClassifiers;
            steps[i] = st;
            events_of[i] = w.events;
        }
        bool only =
            opts.flow_details && !opts.count_paths && !opts.check_bodies && packet_cbs.empty();
        for (size_t c = 0; only && c < detail_of_column.size(); ++c)
            only = detail_of_column[c] >= 0;
        for (size_t p = 0; only && p < wants.size(); ++p) {
            only = analysers[p].empty();
            for (const auto& cbs : wants[p].attr_cbs) only = only && cbs.empty();
        }
        details_only = only;
        if (only) work_out_stream_needs();
        steps_ready = true;
    }
    /// Something more is asked of the packets: what depends on it is worked out again.
    void asked_more() { steps_ready = false; }

    /// classify_next: compiled rules and user classifiers, by weight.
    MMT_INLINE int classify(LayerState& L, uint16_t st, bool* quoted = nullptr) {
        const mmt_proto& p = T->protos[L.proto];
        int best = -1;
        uint32_t best_weight = 0;
        mmt_class_result cr{};
        if ((st & kStepClassify) && p.classify(&L.ctx, &L.res, &cr)) {
            best = lib.impl_->index_of_id(cr.next_id);
            best_weight = cr.weight;
            // A quoted packet (inside an ICMP error) is walked, but makes no sessions.
            if (quoted && (cr.flags & MMT_CLASS_QUOTED)) *quoted = true;
        }
        if (!(st & kStepClassifiers)) return best;
        for (auto& c : classifiers[size_t(L.proto)]) {
            if (best >= 0 && uint32_t(c.weight) <= best_weight) break;
            std::string name = c.fn(PacketView(&pv), pv.path.back());
            if (name.empty()) continue;
            int idx = lib.find_protocol(name);
            if (idx >= 0) return idx;
        }
        return best;
    }

    Action process(const RawPacket& raw) {
        if (!steps_ready) work_out_steps();
        reset_packet(raw);
        sessions.begin_packet(raw.ts_ns, pv.number);
        bool keep = walk(0, raw.data, raw.caplen, nullptr, true, nullptr, -1);
        if (opts.count_paths) count_hierarchy(raw);
        if (!keep) return Action::Drop;
        for (auto [attr, column] : frame_columns) frame_value(attr, column);
        if (!detail_columns.empty()) note_details();
        Action result = Action::Continue;
        for (auto& cb : packet_cbs) {
            Action a = cb(PacketView(&pv));
            if (a == Action::Drop) return Action::Drop;
            if (a == Action::Skip) result = Action::Skip;
        }
        return result;
    }

    void count_hierarchy(const RawPacket& raw) {
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

    void list_paths(uint32_t node, const std::string& prefix, std::vector<PathCount>& out) const {
        std::vector<uint32_t> kids = paths[node].children;
        std::sort(kids.begin(), kids.end(), [&](uint32_t a, uint32_t b) {
            return std::string(T->protos[paths[a].proto].name) < T->protos[paths[b].proto].name;
        });
        for (uint32_t c : kids) {
            std::string path = prefix.empty() ? T->protos[paths[c].proto].name
                                              : prefix + "." + T->protos[paths[c].proto].name;
            out.push_back(PathCount{path, paths[c].packets, paths[c].bytes});
            list_paths(c, path, out);
        }
    }

    /// Copies a string into the arena and delivers it to a column.
    void frame_string(int column, std::string_view s) {
        mmt_value v{};
        v.type = MMT_T_STRING;
        v.ptr = arena_copy(s.data(), s.size());
        v.len = uint32_t(s.size());
        if (v.ptr) add_value(column, Value{v});
    }

    /// The packet's path text (as PacketView::path_text) written straight into the arena.
    void frame_path(int column) {
        mmt_value v{};
        v.type = MMT_T_STRING;
        uint32_t start = scratch.used;
        int last = -1;
        for (const Layer& l : pv.path) {
            if (int(l.depth) <= last) continue;
            last = int(l.depth);
            if (l.proto <= 0) continue;
            if (scratch.used > start && !arena_copy(".", 1)) return;
            std::string_view name = T->protos[l.proto].name;
            if (!arena_copy(name.data(), name.size())) return;
        }
        v.ptr = scratch.base + start;
        v.len = scratch.used - start;
        add_value(column, Value{v});
    }

    void frame_value(int attr, int column) {
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
            frame_string(column, std::string_view(text, r.size));
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
            frame_path(column);
            return;
        case kFrameTruncated:
            if (!pv.truncated.empty()) frame_string(column, pv.truncated);
            return;
        case kFrameMalformed:
            if (!pv.malformed.empty()) frame_string(column, pv.malformed);
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
        add_value(column, Value{v});
    }
};

Handler::Handler(const ProtocolLibrary& library, const HandlerOptions& options)
    : impl_(std::make_unique<Impl>(library, options)) {}
Handler::~Handler() = default;

int Handler::request(std::string_view attribute) {
    impl_->asked_more();
    return impl_->request_named(attribute);
}

bool Handler::on_attribute(std::string_view attribute, AttributeCallback cb) {
    AttributeRef r = impl_->lib.find_attribute(attribute);
    if (!r.valid() || r.proto < 0) return false;
    impl_->asked_more();
    auto& w = impl_->wants[size_t(r.proto)];
    if (w.attr_cbs.size() <= size_t(r.attr)) w.attr_cbs.resize(size_t(r.attr) + 1);
    if (r.event) {
        w.attr_cbs[size_t(r.attr)].push_back(std::move(cb));
        w.events |= uint64_t(1) << impl_->T->protos[r.proto].attrs[r.attr].event_index;
        w.analyse = true;
        return true;
    }
    // Request-based: computed through a column, then handed to the callback per packet.
    int column = request(attribute);
    impl_->packet_cbs.push_back([column, cb = std::move(cb)](const PacketView& p) {
        for (const Value& v : p.values(column))
            if (cb(p, v) == Action::Drop) return Action::Drop;
        return Action::Continue;
    });
    return true;
}

void Handler::on_packet(PacketCallback cb) {
    impl_->asked_more();
    impl_->packet_cbs.push_back(std::move(cb));
}
void Handler::on_session_start(SessionCallback cb) {
    impl_->start_cbs.push_back(std::move(cb));
    impl_->sessions.flows.on_start = [impl = impl_.get()](const SessionInfo& s) {
        for (auto& f : impl->start_cbs) f(s);
    };
}
void Handler::on_session_classified(SessionCallback cb) {
    impl_->classified_cbs.push_back(std::move(cb));
    impl_->sessions.flows.on_classified = [impl = impl_.get()](const SessionInfo& s) {
        for (auto& f : impl->classified_cbs) f(s);
    };
}
void Handler::on_dns_answer(DnsAnswerCallback cb) {
    impl_->dns_answer_cbs.push_back(std::move(cb));
}
void Handler::on_session_end(SessionCallback cb) {
    impl_->end_cbs.push_back(std::move(cb));
    impl_->hear_ends();
}

namespace {

/// Adds `fn` to the list of `protocol`'s callbacks, heaviest first, in order of addition
/// among equal weights.
template <class Lists, class Fn>
bool add_weighted(const ProtocolLibrary& lib, Lists& lists, std::string_view protocol, int weight,
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
    impl_->asked_more();
    return add_weighted(impl_->lib, impl_->analysers, protocol, weight, std::move(fn));
}

bool Handler::add_classifier(std::string_view protocol, int weight, Classifier fn) {
    impl_->asked_more();
    return add_weighted(impl_->lib, impl_->classifiers, protocol, weight, std::move(fn));
}

Action Handler::process(const RawPacket& packet) {
    return impl_->process(packet);
}
void Handler::advance(uint64_t ts_ns) {
    impl_->sessions.advance(ts_ns);
}
void Handler::finish() {
    impl_->sessions.finish();
}
Handler::BufferLevel Handler::buffer_level() const {
    const Sessions& s = impl_->sessions;
    const DefragStats& ds = s.defrag.stats();
    return {s.budget.used(), s.budget.packet_peak(), ds.bytes, ds.packet_peak_bytes};
}

const HandlerStats& Handler::stats() const {
    // The parts count where their limits act; the totals are gathered here.
    HandlerStats& st = impl_->stats;
    const Sessions& s = impl_->sessions;
    st.sessions = s.flows.created();
    st.sessions_evicted = s.flows.evicted();
    st.sessions_unclassified = s.flows.unclassified();
    st.flow_paths_not_kept = s.flows.paths_not_kept();
    const StreamStats& ss = s.streams.stream_stats();
    auto bound = [](StreamBound b) { return static_cast<size_t>(b); };
    st.stream_window_skips = ss.skips[bound(StreamBound::Window)];
    st.stream_window_bytes = ss.skipped_bytes[bound(StreamBound::Window)];
    st.stream_holes_skips = ss.skips[bound(StreamBound::Holes)];
    st.stream_holes_bytes = ss.skipped_bytes[bound(StreamBound::Holes)];
    st.stream_budget_skips = ss.skips[bound(StreamBound::Budget)];
    st.stream_budget_bytes = ss.skipped_bytes[bound(StreamBound::Budget)];
    st.pdus_over_max = s.streams.pdu_stats().over_max;
    st.pdus_budget_dropped = s.streams.pdu_stats().budget_dropped;
    st.bodies_skipped = s.streams.bodies_skipped();
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
    impl_->list_paths(0, "", out);
    return out;
}

} // namespace mmt
