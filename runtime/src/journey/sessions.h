// Sessions as the journey sees them: keys gathered along the path, the flow table, the
// per-session state of each protocol, stream reassembly with PDU framing, and IP
// defragmentation. Glue between handler.cpp and the generic building blocks in session/
// and reassembly/.
#pragma once

#include "journey/handler_impl.h"
#include "journey/library_impl.h"
#include "reassembly/budget.h"
#include "reassembly/defrag.h"
#include "reassembly/stream.h"
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

/// What the journey keeps in each session's state blob, ahead of the protocols' own state.
struct FlowData {
    ProtoIndex app;   ///< protocol classified above the session's protocol; -1 not yet; -2 gave up
    ProtoIndex guess; ///< what the rules say with no payload to look at (ports), or -1
    uint8_t tries;    ///< payload packets classification has looked at
    uint8_t flags;    ///< kFlow* bits
    uint8_t addr_off; ///< where the addresses lie in each side of the key ...
    uint8_t addr_len; ///< ... and how long they are (4, 16, or 0 when unknown)
    uint8_t port_off;
    uint8_t port_len;
    uint8_t path_len; ///< protocols up to the session's own, as library indexes
    ProtoIndex path[kFlowPathMax];
};
static_assert(sizeof(FlowData) == 40, "FlowData stays small: it is in every session");
static_assert(kMaxProtocols - 1 <= INT16_MAX, "ProtoIndex holds every protocol index");

constexpr uint8_t kFlowInitiatorHigh = 1; ///< the initiator is the high side of the canonical key
constexpr uint8_t kFlowClosing = 2;       ///< the stream ended (FIN both ways, or RST)
constexpr uint8_t kFlowStarted = 4;       ///< session_start reported
constexpr uint8_t kFlowEnded0 = 8;        ///< the initiator's direction ended
constexpr uint8_t kFlowEnded1 = 16;       ///< the responder's direction ended

/// Stream reassembly and framing of both directions, allocated for flows that carry a stream.
struct StreamPair {
    StreamState stream[2];
    PduState pdu[2];
    uint32_t headScanned[2]; // see pduLength in sessions.cpp
    uint32_t bodyAfter[2];
};

/// A session the current packet belongs to.
struct Flow {
    Session* session = nullptr;
    FlowData* data = nullptr;
    uint32_t direction = 0;
    int proto = -1;
    uint64_t id() const { return session->id; }
};

int classifyLayer(Handler::Impl& h, LayerState& L);
bool walkChunk(Handler::Impl& h, int proto, const uint8_t* data, uint32_t len,
               const mmt_ctx* parent, Flow* flow);

class Sessions {
  public:
    Sessions(const ProtocolLibrary::Impl& lib, const HandlerOptions& opts);
    ~Sessions();

    std::function<void(const SessionInfo&)> onEnd;
    std::function<void(const SessionInfo&)> onStart;
    std::function<void(const SessionInfo&)> onClassified;

    /// A new packet: expire what timed out (by packet time), start a fresh key.
    void beginPacket(uint64_t ts_ns);
    /// Appends `p`'s key parts (computed on `ctx`) to the packet's key.
    void addKey(int proto, const mmt_proto& p, const mmt_ctx& ctx);
    /// Finds or creates the session of the key gathered so far; counts the packet.
    Flow* lookup(int proto, const RawPacket& raw, const PacketView::Impl& pv);
    /// The spec id of the protocol at index `proto` of the library table.
    uint32_t protoId(int proto) const { return lib_.table->protos[proto].id; }
    /// Per-session state of protocol `proto` (zeroed, then initialised, at creation).
    void* stateFor(Flow& flow, int proto);
    /// Remembers the application protocol of a session.
    void classified(Flow& flow, int next);
    /// Counts a payload packet that classification could not name; after
    /// HandlerOptions::classify_packets of them the session stops trying.
    void gaveUp(FlowData& d) const;
    /// Feeds one fragment; true with the whole datagram when it is complete.
    /// `overlap` counts bytes of this fragment that overlapped ones already received.
    bool defragment(int proto, const mmt_frag_info& fi, const uint8_t* data, uint32_t len,
                    uint64_t ts_ns, const uint8_t*& whole, uint32_t& wholeLen, uint32_t& overlap);
    /// Feeds a stream segment and walks whatever becomes deliverable above `proto`.
    /// Returns false when a handler dropped the packet; `held` tells the segment was held.
    bool stream(Flow& flow, int proto, LayerState& layer, const uint8_t* payload, uint32_t len,
                Handler::Impl& h, bool& held);
    /// End of input: every session ends.
    void finish();

    uint64_t created() const { return table_.stats().created; }
    uint64_t evicted() const { return table_.stats().evicted; }

  private:
    static void sessionEnded(void* ctx, const FlowTable& table, Session& s, SessionEnd why);
    SessionInfo describe(const Session& s, const FlowData& d) const;

    const ProtocolLibrary::Impl& lib_;
    HandlerOptions opts_;
    ByteBudget budget_;
    FlowTable table_;
    StreamReassembler streams_;
    PduFramer framer_;
    Defragmenter defrag_;
    // Flow paths by the bytes of FlowData's path and application (see pathName).
    struct StringHash {
        using is_transparent = void;
        size_t operator()(std::string_view v) const { return std::hash<std::string_view>{}(v); }
    };
    mutable std::unordered_map<std::string, std::string, StringHash, std::equal_to<>> pathNames_;
    const std::string& pathName(const FlowData& d) const;
    std::vector<uint32_t> stateOffset_; // per protocol index: offset of its state in the blob, or 0
    // The protocols whose state starts from something other than zeros, with its offset:
    // a new session runs these, not a pass over the whole library.
    std::vector<std::pair<decltype(mmt_proto::init_state), uint32_t>> initStates_;
    mmt_key key_{};
    uint64_t now_ = 0;
    // Key parts of protocols whose sides are single values, in path order.
    struct KeyPart {
        int proto;
        const mmt_ctx* ctx;
        uint16_t aBefore; // side a's length before the protocol's parts
    };
    KeyPart keyParts_[kMaxDepth];
    unsigned nKeyParts_ = 0;
    void locateSides(FlowData& d);
    std::vector<uint8_t> fragKey_;
    Flow flows_[kMaxDepth]; // sessions of the current packet (tunnels have several)
    unsigned nFlows_ = 0;
};

} // namespace mmt
