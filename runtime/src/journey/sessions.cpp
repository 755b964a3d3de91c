// Sessions: the parts put together (see sessions.h), and defragmentation by flow key.
#include "journey/sessions.h"

namespace mmt {

namespace {

DefragConfig defragConfig(const HandlerOptions& o) {
    DefragConfig c;
    c.timeout_ms = o.fragment_timeout_ms;
    c.max_datagrams = o.max_datagrams;
    c.max_pieces = o.max_fragment_pieces;
    c.max_bytes = o.max_fragments_bytes;
    return c;
}

} // namespace

Sessions::Sessions(const ProtocolLibrary::Impl& lib, const HandlerOptions& opts)
    : budget(opts.max_buffered_bytes), key(*lib.table), streams(lib, flows, opts, budget),
      flows(lib, opts), defrag(defragConfig(opts), budget) {
    flows.onRelease([](void* ctx, Session& s) { static_cast<StreamDelivery*>(ctx)->release(s); },
                    &streams);
}

bool Sessions::defragment(uint32_t protoId, const mmt_frag_info& fi, const uint8_t* data,
                          uint32_t len, uint64_t ts_ns, const uint8_t*& whole, uint32_t& wholeLen,
                          uint32_t& overlap) {
    FragResult r =
        defrag.add(key.fragment(protoId, fi.id), fi.offset, fi.more != 0, data, len, ts_ns);
    overlap = r.overlap;
    if (r.status != FragStatus::Complete) return false;
    whole = r.data;
    wholeLen = r.len;
    return true;
}

} // namespace mmt
