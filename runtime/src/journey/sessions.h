// Sessions as the journey sees them: keys accumulated along the path, the flow table,
// per-session state of each protocol, stream reassembly with PDU framing, and IP
// defragmentation. Glue between handler.cpp and the generic building blocks.
#pragma once

#include "journey/handler_impl.h"
#include "journey/library_impl.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mmt {

struct StreamSide;

/// What the journey keeps per session.
struct Flow {
    uint64_t id = 0;
    int proto = -1;        // the protocol that made the session (tcp, udp ...)
    int app = -1;          // the protocol above it, once classified; -2: gave up
    uint8_t tries = 0;     // payload packets classification has looked at
    uint32_t lastDirection = 0;
    SessionInfo info;
    std::unique_ptr<StreamSide> stream[2];
    std::vector<std::pair<int, std::vector<uint8_t>>> states; // per protocol with state
};

int classifyLayer(Handler::Impl& h, LayerState& L);
bool walkChunk(Handler::Impl& h, int proto, const uint8_t* data, uint32_t len, const mmt_ctx* parent, Flow* flow);

class Sessions {
public:
    Sessions(const ProtocolLibrary::Impl& lib, const HandlerOptions& opts);
    ~Sessions();

    std::function<void(const SessionInfo&)> onEnd;
    std::function<void(const SessionInfo&)> onStart;
    std::function<void(const SessionInfo&)> onClassified;

    /// A new packet: expire what timed out, start a fresh key.
    void beginPacket(uint64_t ts_ns);
    void endPacket(Handler::Impl& h);
    /// Appends `p`'s key parts (computed on `ctx`) to the packet's key.
    void addKey(const mmt_proto& p, const mmt_ctx& ctx);
    /// Finds or creates the session of the key gathered so far; counts the packet.
    Flow* lookup(int proto, const mmt_ctx& ctx, const RawPacket& raw, const PacketView::Impl& pv);
    /// Per-session state of protocol `proto` in `flow`, created zeroed and initialised.
    void* stateFor(Flow& flow, int proto, const mmt_proto& p);
    /// Remembers the application protocol of a session (or gives up after a few tries).
    void classified(Flow& flow, int next, const PacketView::Impl& pv, Handler::Impl& h);
    /// Feeds one fragment; true with the whole datagram when it is complete.
    bool defragment(int proto, const mmt_frag_info& fi, const uint8_t* data, uint32_t len, uint64_t ts_ns,
                    const uint8_t*& whole, uint32_t& wholeLen);
    /// Feeds a stream segment and walks whatever becomes deliverable above `proto`.
    bool stream(Flow& flow, int proto, LayerState& layer, const uint8_t* payload, uint32_t len, Handler::Impl& h);
    /// End of input: every session ends.
    void finish();

    uint64_t created() const { return created_; }
    uint64_t evicted() const { return evicted_; }

private:
    struct Entry;
    void end(Entry& e, const char* reason);
    std::string sideText(const mmt_value& v);

    const ProtocolLibrary::Impl& lib_;
    HandlerOptions opts_;
    mmt_key key_{};
    uint64_t now_ = 0;
    uint64_t created_ = 0, evicted_ = 0, nextId_ = 1;
    std::map<std::string, std::unique_ptr<Entry>> table_;
    std::multimap<uint64_t, Entry*> expiry_;
    std::map<std::string, std::map<uint32_t, std::vector<uint8_t>>> frags_;
    std::map<std::string, uint32_t> fragTotal_;
    std::vector<uint8_t> whole_;
    mmt_value addrA_{}, addrB_{};
    bool haveAddr_ = false;
};

} // namespace mmt
