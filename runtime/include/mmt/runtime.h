// The public C++ API of the mmt-journey runtime: load a protocol library, create a
// handler, register what you want to know, and feed it packets.
//
//   mmt::LoadOptions opts;                        // built-in specs, cached
//   std::string err;
//   auto lib = mmt::ProtocolLibrary::load(opts, err);
//   mmt::Handler h(*lib);
//   int host = h.request("http.host");            // a column of every packet
//   h.on_packet([&](const mmt::PacketView& p) {
//       for (auto& v : p.values(host)) std::cout << v.text() << "\n";
//       return mmt::Action::Continue;
//   });
//   h.process(packet);                            // for each packet, in capture order
//   h.finish();                                   // end of input: sessions end
//
// See docs/runtime-api.md for the whole story and examples/ for a program to copy.
#pragma once

#include "mmt/abi.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mmt {

/// What a packet handler asks the journey to do next.
enum class Action {
    Continue, ///< go on normally
    Skip,     ///< finish this protocol but go no deeper
    Drop      ///< stop now and return from process()
};

/// How to find and build the protocol library.
struct LoadOptions {
    bool builtin = true;                 ///< load the built-in specs (protocols.dsl)
    std::vector<std::string> spec_paths; ///< more .mmtp files or folders
    std::string object;                  ///< load this `mmtc build` object instead of compiling
    bool use_cache = true;               ///< reuse compiled code cached on disk
    std::string cache_dir;               ///< empty: the default cache folder
    /// When the specs are compiled (no cache, or a miss): compile each protocol when a
    /// packet first reaches it rather than all of them before the first packet. Nothing
    /// is then stored in the cache.
    bool lazy = false;
};

/// A typed reference to an attribute: `ipv4.src`, `frame.path`.
struct AttributeRef {
    int proto = -1; ///< index in the library's table; -1 for frame attributes
    int attr = -1;  ///< index in the protocol's attribute table (or a frame attribute)
    uint32_t type = MMT_T_NONE;
    bool event = false; ///< raised while parsing (not computed on request)
    bool valid() const { return attr >= 0; }
};

/// An attribute as a listing shows it (`mmtrun -L -v`).
struct AttributeInfo {
    std::string name;                 ///< "ipv4.src"
    uint32_t type = MMT_T_NONE;       ///< enum mmt_type
    bool event = false;               ///< raised while parsing, one value per occurrence
    uint32_t hex_digits = 0;          ///< integers print in hex (see Value::hex_digits)
    std::vector<std::string> aliases; ///< other names accepted for it (tshark's)
    std::string description;          ///< what it holds, when known ("" otherwise)
};

/// The runtime's version line: the project's version, the LLVM version, the ABI version
/// and the compiler's hash, as `mmtrun --version` prints them after its name.
std::string version_text();

/// "uint", "bool", "bytes", "string", "mac", "ipv4", "ipv6" (or "none").
const char* type_name(uint32_t type);

/// Compiled protocols, shareable by any number of handlers. Immutable once loaded.
class ProtocolLibrary {
  public:
    /// Compiles (or loads from the cache or an object) the specs. On failure returns
    /// null and sets `error` to a one-line message (spec diagnostics are appended).
    /// Needs the compiler: link mmt::runtime (libmmt), which links mmt::compiler.
    static std::unique_ptr<ProtocolLibrary> load(const LoadOptions& options, std::string& error);
    /// Loads a library built ahead of time (`mmtc build -o FILE`) for this machine. Needs
    /// neither the compiler nor LLVM: a program that only runs libraries links
    /// mmt::runtime_core (libmmt_runtime) alone.
    static std::unique_ptr<ProtocolLibrary> load_object(const std::string& path,
                                                        std::string& error);
    /// The compile cache's library for the specs `options` names (an object built earlier
    /// by load() or `mmtc build` for the same specs, compiler and machine), loaded without
    /// the compiler: the specs are read, never parsed. Null on a miss, with `error` saying
    /// why ("no cached build of these specs"); load() then compiles and caches them.
    static std::unique_ptr<ProtocolLibrary> load_cached(const LoadOptions& options,
                                                        std::string& error);
    ~ProtocolLibrary();

    const mmt_library& table() const;
    /// Index of protocol `name` in table(), or -1.
    int find_protocol(std::string_view name) const;
    /// Resolves "proto.attr", or an alias of it ("ip.src" for "ipv4.src", see aliases());
    /// invalid when unknown.
    AttributeRef find_attribute(std::string_view name) const;
    /// Every attribute name, "proto.attr", in table order (frame attributes first).
    std::vector<std::string> attribute_names() const;
    /// Every attribute with its type, kind, aliases and description, in table order.
    std::vector<AttributeInfo> attributes() const;
    /// The other names accepted for attributes, (alias, attribute) sorted by alias: tshark's
    /// field names, from `tshark-names.tsv` beside the built-in specs. An alias is kept only
    /// when its attribute is loaded and no attribute has the alias's name.
    const std::vector<std::pair<std::string, std::string>>& aliases() const;
    /// Up to `count` attribute names and aliases close to `name` (a misspelling, a
    /// protocol's other name), closest first; empty when none is close.
    std::vector<std::string> closest_names(std::string_view name, size_t count = 3) const;
    /// How the code was obtained: "compiled", "cache" or "object".
    const char* origin() const;

    struct Impl;

  private:
    explicit ProtocolLibrary(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    friend class Handler;
    friend class ServiceNamer;
};

/// "; did you mean 'a', 'b'?" with library.closest_names(name), or "" when none is close:
/// what follows "unknown attribute 'x'" wherever a name is given (mmtrun -e, -Y).
std::string did_you_mean(const ProtocolLibrary& library, std::string_view name);

/// One value of an attribute on one packet.
struct Value {
    mmt_value v{};
    /// How the attribute prints its integers: 0 in decimal, N as "0x" and N hex digits
    /// at least (`attribute x : u32 hex`, the mmt_attr's hex_digits).
    uint32_t hex_digits = 0;
    /// tshark-style text: decimal (or hex) integers, dotted IPv4, RFC 5952 IPv6, aa:bb MAC,
    /// text.
    std::string text() const;
};

/// A protocol on the path of the current packet.
struct Layer {
    int proto = -1;      ///< index in the library table
    uint32_t depth = 0;  ///< position on the path (PDUs of one packet share a depth)
    uint32_t offset = 0; ///< where its header starts in the packet (or reassembled data)
    uint32_t header_len = 0;
    uint32_t payload_len = 0;
};

/// The packet being processed, as callbacks see it.
class PacketView {
  public:
    uint64_t number() const; ///< 1-based, in input order
    uint64_t ts_ns() const;  ///< capture time, nanoseconds since the epoch
    uint32_t caplen() const;
    uint32_t wirelen() const;
    uint32_t linktype() const;
    const uint8_t* data() const;
    /// Protocols walked so far, in path order.
    const std::vector<Layer>& path() const;
    /// "ethernet.ipv4.tcp.http"
    std::string path_text() const;
    /// Values of a requested attribute (see Handler::request), every occurrence in path
    /// order; empty for an unknown column. Valid until the packet's callbacks return.
    std::span<const Value> values(int column) const;
    /// "ipv4.total_length" style description of where the packet was cut short, or "".
    /// A body is read, and so can be found cut short or broken, when HandlerOptions::
    /// check_bodies is set, frame.truncated or frame.malformed is requested, or one of its
    /// protocol's events is asked for; headers always are.
    const std::string& truncated() const;
    /// Where the packet broke a constraint or a length, or "".
    const std::string& malformed() const;
    /// The session the packet belongs to (0 when none).
    uint64_t session_id() const;
    /// 0: from the session's initiator, 1: the reverse.
    uint32_t direction() const;

    struct Impl;
    explicit PacketView(const Impl* impl) : impl_(impl) {}

  private:
    const Impl* impl_;
};

/// A session (flow) as session callbacks see it.
struct SessionInfo {
    /// The frame number of the session's first packet; a packet that starts more than one
    /// session (a tunnel's and the flow inside it) numbers the second one 2^48 higher, the
    /// third 2 * 2^48 higher... Ids depend on the input alone: workers and shards agree.
    uint64_t id = 0;
    std::string transport;   ///< the protocol that made the session, e.g. "tcp"
    std::string path;        ///< protocol path of its first packet
    std::string application; ///< classified application protocol, or ""
    std::string src, dst;    ///< addresses of the initiator and the responder
    uint64_t src_port = 0, dst_port = 0;
    uint64_t packets[2] = {0, 0}; ///< per direction: 0 initiator to responder
    uint64_t bytes[2] = {0, 0};
    /// Per direction: payload bytes above the session's protocol (TCP or UDP payload), as
    /// captured; the count stops at 4294967295 (2^32 - 1).
    uint64_t payload[2] = {0, 0};
    uint64_t first_ns = 0, last_ns = 0;
    std::string end_reason; ///< "timeout", "evicted", "closed", "end of input"
    /// The Community ID (v1, seed 0) of the flow, or "" when it has none here: flows of
    /// TCP, UDP, SCTP and of port-less IP protocols have one; ICMP flows, whose ID needs
    /// the message type, do not.
    std::string community_id;
    // With HandlerOptions::flow_details (mmtrun --flows), what the flow's packets showed:
    /// The server's name: the first TLS or QUIC server name (SNI), else HTTP Host, else DNS
    /// query name seen in the flow; "" when none.
    std::string server_name;
    std::string server_name_source; ///< where server_name came from: "tls", "quic", "http", "dns"
    /// The service the flow is for (a `service` of the specs, docs/services.md), or "":
    /// named by server_name, else by the name a DNS answer gave for the server's (or the
    /// client's) address, else by that address.
    std::string service;
    /// What named service: server_name_source's word when server_name did ("tls",
    /// "quic", "http", "dns"), "resolved" for a DNS answer, "address" for an address.
    std::string service_source;
    std::string ja3, ja4; ///< the client's fingerprints (TLS or QUIC ClientHello)
    std::string ja3s;     ///< the server's JA3S (TLS ServerHello)
    std::string vlan;     ///< the VLAN ids of its first tagged packet, outermost first, '.'-joined
    /// The tunnels its first packet came through, outermost first, ','-joined: each the
    /// tunnel's protocol and the outer addresses as the packet carried them,
    /// "gtp:10.0.0.1>10.0.0.2" (the protocol after the outer IP header and its transport:
    /// gre, gtp, vxlan, teredo...; "ipv4" or "ipv6" for IP in IP); "" when none.
    std::string tunnel;
    /// Zeek's connection state (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH,
    /// SHR, OTH) and history (S h A D F R letters, upper case from the originator).
    std::string conn_state, history;
    /// `src` and `dst` as bytes, `addr_len` (4 or 16) of each, as the journey fills them;
    /// addr_len 0 when the session has no IP addresses or whoever filled src and dst did
    /// not set these (readers then parse the texts).
    uint8_t src_addr[16] = {}, dst_addr[16] = {};
    uint8_t addr_len = 0;

    /// Every field back to its default, the strings keeping their memory: the journey
    /// describes every session that ends in one SessionInfo.
    void clear();
};

/// The Community ID v1 of a flow tuple (https://github.com/corelight/community-id-spec):
/// "1:" and the base64 of a SHA-1 over the seed, both addresses, the IP protocol number
/// and, for TCP (6), UDP (17), SCTP (132), ICMP (1) and ICMPv6 (58), both ports, the
/// endpoints ordered so that both directions of a flow give one ID. For ICMP and ICMPv6
/// the ports are the message type and code, a request and its reply counting as one
/// flow. Addresses are 4 or 16 bytes each (the same size); "" otherwise.
std::string community_id_v1(std::span<const uint8_t> src, std::span<const uint8_t> dst,
                            uint8_t ip_proto, uint16_t src_port, uint16_t dst_port,
                            uint16_t seed = 0);

/// Names the service of flow records as a handler does (SessionInfo::service, with
/// HandlerOptions::flow_details): by the server name, else by the name a recent DNS answer
/// gave for the server's (or the client's) address, else by either address. Each handler
/// has its own. Handlers that split one input each see only some DNS answers: one namer fed
/// with all of them in capture order (Handler::on_dns_answer) names their flows as one
/// handler would, when given each flow as it ends, before the answers of the same packet.
class ServiceNamer {
  public:
    explicit ServiceNamer(const ProtocolLibrary& library);
    ~ServiceNamer();
    ServiceNamer(const ServiceNamer&) = delete;
    ServiceNamer& operator=(const ServiceNamer&) = delete;
    /// `address` (4 or 16 bytes) was an answer for `name`; the latest answer wins, and the
    /// oldest of 65,536 addresses goes first.
    void remember(std::span<const uint8_t> address, std::string_view name);
    /// Sets `info.service` and `info.service_source` (empty when no service matches);
    /// returns the lookups it made (HandlerStats::service_lookups).
    uint32_t name(SessionInfo& info) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// A packet as it enters the runtime.
struct RawPacket {
    const uint8_t* data = nullptr;
    uint32_t caplen = 0;
    uint32_t wirelen = 0;
    uint32_t linktype = 1; ///< LINKTYPE_* (1 = Ethernet)
    uint64_t ts_ns = 0;
    /// Its frame number in the input, from 1; 0: the one after the handler's last packet.
    /// Set it when a handler sees only some of the input's packets (workers, shards).
    uint64_t number = 0;
};

/// A hash of the flow a packet belongs to, the same for both directions, for spreading
/// packets over handlers (mmtrun --workers, --shard): a symmetric hash of the outermost
/// IPv4 or IPv6 header's addresses. Ports are left out so that every fragment of a datagram
/// and all the traffic of a tunnel go with their outer addresses; so a flow's packets all
/// have one hash. The IP header is found through Ethernet, VLAN tags, PPPoE, MPLS, Linux
/// cooked (v1, v2), PPP, BSD loopback and raw IP; a packet without one found so hashes to 0.
uint64_t flow_hash(const RawPacket& packet);

/// What a handler may hold, and how it behaves at each bound. Every limit has a default
/// that suits a large capture, an `mmtrun` option, and a HandlerStats counter of the times
/// it was hit (docs/limits.md lists them together). Memory sized at creation (the session
/// table, the table of datagrams in progress) follows max_sessions and max_datagrams.
struct HandlerOptions {
    /// Sessions tracked at once (the table is allocated for this many): a new flow beyond
    /// it evicts the least recently used session, which ends with reason "evicted"
    /// (HandlerStats::sessions_evicted). 1 to 16777216; more counts as 16777216.
    uint32_t max_sessions = 1u << 18;
    /// Bytes all reassembly buffers hold together: out-of-order stream bytes, PDUs that span
    /// segments, fragments. A stream that cannot hold a segment gives up its oldest hole
    /// (stream_budget_skips); a PDU that cannot grow is dropped (pdus_budget_dropped); a
    /// datagram that cannot grow is given up (fragments_over_budget).
    uint64_t max_buffered_bytes = 64u << 20;
    /// Per stream direction: out-of-order bytes are held up to this far past the next
    /// expected byte; a segment beyond it makes the stream give up its oldest hole
    /// (stream_window_skips).
    uint32_t max_stream_buffer = 1u << 20;
    /// Longest stream PDU (a length-framed message, or a head up to its terminator) of a
    /// protocol whose spec sets no `max_pdu`; a longer one is reported malformed and
    /// stepped over (pdus_over_max).
    uint32_t max_pdu = 1u << 20;
    /// Bytes the fragments of datagrams in progress hold together (within
    /// max_buffered_bytes): to make room the oldest datagrams are given up
    /// (fragments_over_budget).
    uint32_t max_fragments_bytes = 16u << 20;
    /// Fragmented datagrams in progress at once: one more gives up the oldest
    /// (fragments_evicted).
    uint32_t max_datagrams = 1024;
    /// Separate pieces (holes + 1) a datagram in progress may have: one more gives it up
    /// (fragments_too_many_pieces).
    uint32_t max_fragment_pieces = 64;
    /// A datagram not complete this long after its first fragment, in packet time, is
    /// given up (fragments_timed_out).
    uint32_t fragment_timeout_ms = 30000;
    /// Payload packets a session's classification looks at before it gives up on naming
    /// what runs above the session (TCP, UDP, SCTP...); a flow left unnamed costs nothing
    /// more afterwards (sessions_unclassified). 1 to 255; 0 counts as 1, more than 255
    /// as 255.
    uint32_t classify_packets = 4;
    /// Distinct paths (the protocols up to a session's own, as flow records show them) a
    /// handler remembers for its flows, 1 to 65535; the flows of a path beyond them show
    /// only their application as their path (flow_paths_not_kept). 0 counts as 1, more than
    /// 65535 as 65535.
    uint32_t max_flow_paths = 65535;
    /// A PDU framed as a head then a body (`pdu until` with `pdu_body`, e.g. HTTP) keeps a
    /// body up to this size with its head, so that the whole message is parsed on the packet
    /// that completes it; a longer body is stepped over after its head, so that nothing
    /// holds a download in memory (bodies_skipped).
    uint32_t max_kept_body = 64u << 10;
    /// Count packets per path prefix (Handler::hierarchy), and flows, packets and bytes per
    /// application (Handler::applications).
    bool count_paths = false;
    /// Read every protocol's body for its constraints, so that PacketView::malformed() and
    /// truncated() (and the statistics) report a broken body even where no event of that
    /// protocol is asked for. Requesting frame.malformed or frame.truncated turns it on.
    bool check_bodies = false;
    /// Fill SessionInfo's server_name, service, ja3, ja4, ja3s, vlan, tunnel, conn_state and
    /// history at a session's end (remembering recent DNS answers to name services by), and
    /// the Community ID of ICMP and ICMPv6 flows (from the type and code of their first
    /// message). Costs the extraction of those attributes on the packets that carry them.
    bool flow_details = false;
    /// With flow_details: name each flow's service here, from the flow's names, the DNS
    /// answers this handler saw and its addresses. Off, `service` and `service_from` stay
    /// empty and no answer is remembered: for a caller that names flows itself, with one
    /// ServiceNamer fed by several handlers' on_dns_answer (mmtrun --workers does).
    bool name_services = true;
};

/// Statistics of a handler. The counters of limits tell how often each HandlerOptions
/// bound was hit; they are counted where the bound acts, never per packet.
struct HandlerStats {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    uint64_t truncated = 0;
    uint64_t malformed = 0;
    uint64_t sessions = 0;
    uint64_t fragments_reassembled = 0;
    uint64_t fragment_overlaps = 0; ///< fragments that overlapped bytes already received
    uint64_t segments_held = 0;
    /// Probes of the service matchers (a host name or an address looked up), made when a
    /// flow record is completed with flow_details: at most five per flow, whatever the
    /// number of services (bench/services.py).
    uint64_t service_lookups = 0;

    // Limits hit.
    uint64_t sessions_evicted = 0;      ///< max_sessions: least recently used sessions ended
    uint64_t sessions_unclassified = 0; ///< classify_packets: sessions that stopped classifying
    /// max_flow_paths: sessions whose path was not remembered (their records show only
    /// their application as their path).
    uint64_t flow_paths_not_kept = 0;
    /// max_stream_buffer: times a stream gave up its oldest hole to take a segment beyond
    /// its window, and the bytes of those holes (never seen, reported as lost).
    uint64_t stream_window_skips = 0;
    uint64_t stream_window_bytes = 0;
    /// The same for a stream with more separate holes than it keeps (16 per direction).
    uint64_t stream_holes_skips = 0;
    uint64_t stream_holes_bytes = 0;
    /// max_buffered_bytes: the same when the buffers of all sessions together were full.
    uint64_t stream_budget_skips = 0;
    uint64_t stream_budget_bytes = 0;
    uint64_t pdus_over_max = 0;       ///< max_pdu: PDUs reported malformed and stepped over
    uint64_t pdus_budget_dropped = 0; ///< max_buffered_bytes: partial PDUs dropped
    uint64_t bodies_skipped = 0;      ///< max_kept_body: bodies stepped over after their head
    /// Datagrams given up: fragment_timeout_ms, max_datagrams, max_fragment_pieces,
    /// max_fragments_bytes (or max_buffered_bytes), larger than 65535 bytes.
    uint64_t fragments_timed_out = 0;
    uint64_t fragments_evicted = 0;
    uint64_t fragments_too_many_pieces = 0;
    uint64_t fragments_over_budget = 0;
    uint64_t fragments_too_large = 0;
    /// Accounting: the most bytes all reassembly buffers held at once (at most
    /// max_buffered_bytes), and the most the fragments held (at most max_fragments_bytes).
    uint64_t buffered_bytes_peak = 0;
    uint64_t fragment_bytes_peak = 0;
};

/// Processes packets of one input, in order. Not thread-safe: one handler per thread.
class Handler {
  public:
    using PacketCallback = std::function<Action(const PacketView&)>;
    using AttributeCallback = std::function<Action(const PacketView&, const Value&)>;
    using SessionCallback = std::function<void(const SessionInfo&)>;
    /// A user analyser sees each packet at a protocol; it may stop the journey.
    using Analyser = std::function<Action(const PacketView&, const Layer&)>;
    /// A user classifier names the next protocol (by name) or returns "" to pass.
    using Classifier = std::function<std::string(const PacketView&, const Layer&)>;

    explicit Handler(const ProtocolLibrary& library, const HandlerOptions& options = {});
    ~Handler();
    Handler(const Handler&) = delete;
    Handler& operator=(const Handler&) = delete;

    /// Requests an attribute by name ("tcp.dst_port", "http.host", "frame.path") for every
    /// packet; returns a column for PacketView::values(), or -1 when the name is unknown.
    int request(std::string_view attribute);
    /// Called with each occurrence of an attribute (request- or event-based).
    bool on_attribute(std::string_view attribute, AttributeCallback cb);
    /// Called once per packet after its journey; its action is returned by process().
    void on_packet(PacketCallback cb);
    void on_session_start(SessionCallback cb);
    void on_session_classified(SessionCallback cb);
    /// Called when a session ends (timeout, eviction, close, end of input), before it is freed.
    void on_session_end(SessionCallback cb);
    using DnsAnswerCallback =
        std::function<void(std::span<const uint8_t> address, std::string_view name)>;
    /// With HandlerOptions::flow_details: called for each address a DNS answer gives (4 or
    /// 16 bytes), with the name asked for, after the packet's other callbacks. Handlers that
    /// split one input feed a ServiceNamer with them (mmtrun --workers).
    void on_dns_answer(DnsAnswerCallback cb);
    /// Runs `fn` on every packet that reaches `protocol`, among the compiled stages.
    bool add_analyser(std::string_view protocol, int weight, Analyser fn);
    /// Offers `fn` a say in what follows `protocol`; higher weights are asked first, and
    /// against the compiled rules' weights.
    bool add_classifier(std::string_view protocol, int weight, Classifier fn);

    /// Walks one packet through its protocol path.
    Action process(const RawPacket& packet);
    /// A packet of the input that another handler processes (a worker's or a shard's):
    /// moves this handler's clock to its time, ending the sessions and datagrams that time
    /// out by then, as that packet would have.
    void advance(uint64_t ts_ns);
    /// Ends every session (reported with reason "end of input").
    void finish();

    const HandlerStats& stats() const;
    /// Bytes the reassembly buffers hold now, and the most they held while the last packet
    /// was processed; the same for fragments. Handlers that split one input, each moving its
    /// clock over the others' packets (advance), give the peaks one handler would have had
    /// when their levels are added packet by packet (mmtrun --workers).
    struct BufferLevel {
        uint64_t buffered = 0, buffered_peak = 0;
        uint64_t fragments = 0, fragments_peak = 0;
    };
    BufferLevel buffer_level() const;
    /// Packets and bytes per protocol path prefix, for a protocol hierarchy summary
    /// (counted only with HandlerOptions::count_paths).
    struct PathCount {
        std::string path;
        uint64_t packets = 0;
        uint64_t bytes = 0;
    };
    std::vector<PathCount> hierarchy() const;
    /// Flows, packets and bytes per application (SessionInfo::application, "unknown" for
    /// sessions never classified) of the sessions that ended, as ndpiReader's summary
    /// counts them; most packets first (counted only with HandlerOptions::count_paths).
    struct ApplicationCount {
        std::string application;
        uint64_t flows = 0;
        uint64_t packets = 0;
        uint64_t bytes = 0;
    };
    std::vector<ApplicationCount> applications() const;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

} // namespace mmt
