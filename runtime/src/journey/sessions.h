// Sessions as the journey sees them: the packet's flow key, the flows it belongs to, stream
// delivery and IP defragmentation, sharing one reassembly budget. The parts live in
// keys.h, flows.h and stream_delivery.h; this is where they are put together.
#pragma once

#include "journey/flows.h"
#include "journey/keys.h"
#include "journey/stream_delivery.h"
#include "reassembly/budget.h"
#include "reassembly/defrag.h"

#include <cstdint>

namespace mmt {

struct Sessions {
    Sessions(const ProtocolLibrary::Impl& lib, const HandlerOptions& opts);

    /// A new packet, frame `number`: expire what timed out (by packet time), start a
    /// fresh key.
    void begin_packet(uint64_t ts_ns, uint64_t number) {
        key.clear();
        flows.begin_packet(ts_ns, number);
        defrag.expire(ts_ns);
        budget.begin_packet();
        defrag.begin_packet();
    }
    /// A packet another handler takes: only the clock moves.
    void advance(uint64_t ts_ns) {
        flows.advance(ts_ns);
        defrag.expire(ts_ns);
    }
    /// Feeds one fragment of protocol `proto_id`; true with the whole datagram when it is
    /// complete. `overlap` counts bytes of this fragment that overlapped ones already received.
    bool defragment(uint32_t proto_id, const mmt_frag_info& fi, const uint8_t* data, uint32_t len,
                    uint64_t ts_ns, const uint8_t*& whole, uint32_t& whole_len, uint32_t& overlap);
    /// End of input: every session ends, pending fragments are dropped.
    void finish() {
        flows.finish();
        defrag.flush();
    }

    // Declared in this order so that flows, which end the sessions still open when they go,
    // go before the stream buffers those sessions hold.
    ByteBudget budget;
    PacketKey key;
    StreamDelivery streams;
    Flows flows;
    Defragmenter defrag;
};

} // namespace mmt
