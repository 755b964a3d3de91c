// Sessions: the parts put together (see sessions.h), and defragmentation by flow key.
#include "journey/sessions.h"

namespace mmt {

namespace {

DefragConfig defrag_config(const HandlerOptions& o) {
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
      flows(lib, opts), defrag(defrag_config(opts), budget) {
    flows.on_release(
        [](void* ctx, Session&, FlowData& d) { static_cast<StreamDelivery*>(ctx)->release(d); },
        &streams);
}

bool Sessions::defragment(uint32_t proto_id, const mmt_frag_info& fi, const uint8_t* data,
                          uint32_t len, uint64_t ts_ns, const uint8_t*& whole, uint32_t& whole_len,
                          uint32_t& overlap) {
    FragResult r =
        defrag.add(key.fragment(proto_id, fi.id), fi.offset, fi.more != 0, data, len, ts_ns);
    overlap = r.overlap;
    if (r.status != FragStatus::Complete) return false;
    whole = r.data;
    whole_len = r.len;
    return true;
}

} // namespace mmt
