// Stream delivery: the segments of a stream protocol (TCP) are put in order, cut into the
// PDUs of the protocol above when it frames them, and handed back to the journey.
#pragma once

#include "journey/flows.h"
#include "reassembly/budget.h"
#include "reassembly/stream.h"

#include <memory>
#include <string_view>

namespace mmt {

/// Where reassembled data goes: the journey walks it as the payload of a layer.
class ChunkSink {
  public:
    /// Walks [data, data + len) from protocol `proto`, above `parent`, in `flow`.
    /// Returns false when a handler dropped the packet.
    virtual bool chunk(int proto, const uint8_t* data, uint32_t len, const LayerState* parent,
                       Flow* flow) = 0;
    /// The data broke its framing at `where` ("http.pdu_length").
    virtual void malformed(std::string_view where) = 0;
    /// Whether anything is still asked of the data above the transport in `flow`: when not,
    /// its segments are still followed (the stream's end, its gaps) but no longer framed
    /// nor walked.
    virtual bool wants_stream(const Flow& flow) = 0;

  protected:
    ~ChunkSink() = default;
};

/// Stream reassembly and framing of both directions, allocated for flows that carry a stream.
/// How a stream's directions are framed into PDUs: made when the session's application
/// frames its stream, not for the many TCP flows that never do (scans, applications
/// without PDUs, flows whose details are all known).
struct StreamFraming {
    PduState pdu[2];
    uint32_t head_scanned[2]; // see pdu_length in stream_delivery.cpp
    uint32_t body_after[2];
};

struct StreamPair {
    StreamState stream[2];
    std::unique_ptr<StreamFraming> framing;
};

class StreamDelivery {
  public:
    StreamDelivery(const ProtocolLibrary::Impl& lib, const Flows& flows, const HandlerOptions& opts,
                   ByteBudget& budget);

    /// Feeds the segment `si` of `flow` (its stream protocol's layer is `layer`, its
    /// payload [payload, payload + len)) and hands what becomes deliverable, framed as the
    /// session's application protocol says, to `sink`. Returns false when a handler
    /// dropped the packet; `held` tells the segment was held (out of order).
    bool deliver(Flow& flow, const LayerState& layer, const mmt_stream_info& si,
                 const uint8_t* payload, uint32_t len, ChunkSink& sink, bool& held);
    /// The session ends: its buffers go back to the budget.
    void release(FlowData& d);

    const StreamStats& stream_stats() const { return streams_.stats(); }
    const PduStats& pdu_stats() const { return framer_.stats(); }
    /// Bodies longer than HandlerOptions::max_kept_body stepped over after their head.
    uint64_t bodies_skipped() const { return bodies_skipped_; }

  private:
    const ProtocolLibrary::Impl& lib_;
    const Flows& flows_;
    uint32_t body_kept_;
    StreamReassembler streams_;
    PduFramer framer_;
    uint64_t bodies_skipped_ = 0;
};

} // namespace mmt
