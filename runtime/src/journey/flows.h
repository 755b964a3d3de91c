// Flows as the journey sees them: the session table with its per-session blob (FlowData,
// then each protocol's declared state), what a session knows of its path and
// application, and its description for session callbacks.
#pragma once

#include "journey/handler_impl.h"
#include "journey/keys.h"
#include "journey/library_impl.h"
#include "session/flow_table.h"

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mmt {

/// A protocol's index in the library table, as sessions store it: 16 bits, so that a
/// library holds up to kMaxProtocols protocols (ProtocolLibrary::load refuses more).
using ProtoIndex = int16_t;

/// Protocols a flow record remembers on its path, up to the session's own.
constexpr unsigned kFlowPathMax = 14;
/// FlowData::path of a flow whose path was not remembered (HandlerOptions::max_flow_paths
/// others were): its record shows only its application as its path.
constexpr uint16_t kNoPath = 0xffff;

/// What the journey keeps in each session's state blob, ahead of one protocol's state: most
/// sessions carry one application, and one protocol's state, so a session's memory is its
/// largest protocol state, not the sum of the library's.
struct FlowData {
    ProtoIndex app;   ///< protocol classified above the session's protocol; -1 not yet; -2 gave up
    ProtoIndex guess; ///< what the rules say with no payload to look at (ports), or -1
    uint16_t path;    ///< the protocols up to the session's own: an id of Flows' paths
    uint16_t state_owner; ///< protocol index + 1 whose state follows the FlowData; 0 none yet
    KeySides sides;       ///< where addresses and ports lie in the key
    uint8_t tries;        ///< payload packets classification has looked at
    uint8_t flags;        ///< kFlow* bits
    uint8_t details;      ///< kDetail* bits: flow details already known (the handler's)
    /// A TCP session's first history letters while they are all its packets showed of it
    /// (the handler's: see short_history in handler.cpp); 0 none.
    uint8_t history;
    /// Every protocol's state (calloc), once a second protocol of the session asks for one.
    uint8_t* spare_states;
    /// The session's stream reassembly (StreamDelivery's), or before it needs one, the lone
    /// SYN it has seen (see stream_delivery.cpp); 0 neither.
    uintptr_t stream;
};
static_assert(sizeof(FlowData) == 32, "FlowData stays small: it is in every session");
static_assert(sizeof(FlowData) % 8 == 0, "the state that follows stays 8-aligned");
static_assert(kMaxProtocols - 1 <= INT16_MAX, "ProtoIndex holds every protocol index");

constexpr uint8_t kFlowClosing = 2; ///< the stream ended (FIN both ways, or RST)
constexpr uint8_t kFlowStarted = 4; ///< session_start reported
constexpr uint8_t kFlowEnded0 = 8;  ///< the initiator's direction ended
constexpr uint8_t kFlowEnded1 = 16; ///< the responder's direction ended

/// A session the current packet belongs to.
struct Flow {
    Session* session = nullptr;
    FlowData* data = nullptr;
    uint32_t direction = 0;
    int proto = -1;
    uint64_t id() const { return session->id; }
};

/// Called when a session ends, after its describe(), before its states are released; `ctx`
/// as registered.
using FlowEndHook = void (*)(void* ctx, Session& session, FlowData& data);

class Flows {
  public:
    Flows(const ProtocolLibrary::Impl& lib, const HandlerOptions& opts);
    ~Flows();

    /// Every session that ends, described (the receiver may add to the description).
    std::function<void(SessionInfo&)> on_end;
    std::function<void(const SessionInfo&)> on_start;
    std::function<void(const SessionInfo&)> on_classified;
    /// Runs for every session that ends, after on_end (e.g. to free its stream buffers).
    void on_release(FlowEndHook hook, void* ctx) {
        release_ = hook;
        release_ctx_ = ctx;
    }

    /// A new packet, frame `number`: expire what timed out by packet time; forget the
    /// packet's flows. The sessions it creates are numbered `number`, then `number +
    /// kSessionIdStep`... (SessionInfo::id): a session's id depends on the capture alone,
    /// whichever handler (worker, shard) sees its packets.
    void begin_packet(uint64_t ts_ns, uint64_t number);
    /// Expire what timed out by `ts_ns` (a packet another handler takes).
    void advance(uint64_t ts_ns) { table_.expire(ts_ns); }
    static constexpr uint64_t kSessionIdStep = uint64_t{1} << 48;
    /// Finds or creates the session of `key` for `proto`; counts the packet. A new session
    /// remembers `path` (the packet's path up to `proto`) and the key's sides.
    /// Inline: the walk calls it for every packet with a session.
    Flow* lookup(int proto, const PacketKey& key, const RawPacket& raw,
                 const std::vector<Layer>& path) {
        const mmt_proto& p = lib_.table->protos[proto];
        if (key.key().overflow || n_flows_ >= kMaxDepth) return nullptr;
        FlowLookup r = table_.lookup(key.key(), p.id, p.session_timeout_ms, raw.ts_ns, raw.wirelen);
        auto* d = static_cast<FlowData*>(table_.state(*r.session));
        if (r.created) started(*r.session, *d, key, path);
        Flow& f = flows_[n_flows_++];
        f.session = r.session;
        f.data = d;
        f.direction = r.direction;
        f.proto = proto;
        return &f;
    }
    /// Per-session state of protocol `proto` (zeroed, then initialised, when the session
    /// first asks for it); null for a protocol without state.
    void* state_for(const Flow& flow, int proto) const {
        if (!lib_.table->protos[proto].state_size) return nullptr;
        FlowData& d = *flow.data;
        if (d.state_owner == uint16_t(proto + 1)) return &d + 1;
        return claim_state(d, proto);
    }
    /// Remembers the application protocol of a session.
    void classified(Flow& flow, int next);
    /// Counts a payload packet that classification could not name; after
    /// HandlerOptions::classify_packets of them the session stops trying.
    void gave_up(FlowData& d) {
        if (++d.tries >= classify_packets_) {
            d.app = -2;
            ++unclassified_;
        }
    }
    /// End of input: every session ends.
    void finish() { table_.flush(); }

    uint64_t created() const { return table_.stats().created; }
    uint64_t evicted() const { return table_.stats().evicted; }
    /// Sessions that stopped classifying after HandlerOptions::classify_packets packets.
    uint64_t unclassified() const { return unclassified_; }
    /// The flow data of the session being described to on_end, while it is.
    const FlowData* ending() const { return ending_; }
    /// Sessions whose path was not remembered: HandlerOptions::max_flow_paths others were.
    uint64_t paths_not_kept() const { return paths_not_kept_; }

  private:
    static void session_ended(void* ctx, const FlowTable& table, Session& s, SessionEnd why);
    /// A session lookup made: its flow data, and on_start.
    void started(Session& s, FlowData& d, const PacketKey& key, const std::vector<Layer>& path);
    SessionInfo describe(const Session& s, const FlowData& d) const;
    void describe(const Session& s, const FlowData& d, SessionInfo& out) const;
    const std::string& path_name(const FlowData& d) const;

    const ProtocolLibrary::Impl& lib_;
    HandlerOptions opts_;
    FlowTable table_;
    uint8_t classify_packets_; // HandlerOptions::classify_packets, 1 to 255 (FlowData::tries)
    uint64_t unclassified_ = 0;
    SessionInfo ended_; // the description of the session ending, reused from one to the next
    const FlowData* ending_ = nullptr;
    FlowEndHook release_ = nullptr;
    void* release_ctx_ = nullptr;
    /// The id of a path (protocol indexes up to a session's own), remembered once.
    uint16_t path_id(const std::vector<Layer>& path);
    // The paths sessions took, by id (FlowData::path), as the bytes of their protocol
    // indexes, and the ids by those bytes.
    struct StringHash {
        using is_transparent = void;
        size_t operator()(std::string_view v) const { return std::hash<std::string_view>{}(v); }
    };
    std::vector<std::string> paths_;
    uint32_t max_paths_; // HandlerOptions::max_flow_paths, 1 to 65535
    std::unordered_map<std::string, uint16_t, StringHash, std::equal_to<>> path_ids_;
    uint64_t paths_not_kept_ = 0;
    // Flow paths as records spell them, by path id and application (see path_name).
    mutable std::unordered_map<uint32_t, std::string> path_names_;
    void* claim_state(FlowData& d, int proto) const;
    void release_states(FlowData& d);
    // Where each protocol's state lies in a session's spare block (FlowData::spare_states),
    // and the block's size.
    std::vector<uint32_t> spare_offset_;
    uint32_t spare_size_ = 0;
    // The protocols whose state starts from something other than zeros, and those whose
    // state holds bytes (on the heap, freed when a session ends), with their offset in the
    // spare block.
    std::vector<std::pair<decltype(mmt_proto::init_state), uint32_t>> init_states_;
    std::vector<std::pair<decltype(mmt_proto::release_state), uint32_t>> release_states_;
    Flow flows_[kMaxDepth]; // sessions of the current packet (tunnels have several)
    unsigned n_flows_ = 0;
};

} // namespace mmt
