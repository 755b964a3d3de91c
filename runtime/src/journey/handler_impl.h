// Internals of Handler and PacketView: the per-packet state of the journey.
#pragma once

#include "journey/library_impl.h"
#include "mmt/runtime.h"

#include <array>
#include <string>
#include <vector>

namespace mmt {

/// The walk is split into one function per stage for reading; this keeps them inside it in
/// the generated code, as they were when the walk was one function (they run for every
/// layer of every packet).
#define MMT_INLINE [[gnu::always_inline]]

constexpr unsigned kMaxDepth = 24;        // protocols on one path, tunnels included
constexpr size_t kArenaSize = 256 * 1024; // per-packet memory for computed values

struct PacketView::Impl {
    const mmt_library* table = nullptr;
    const RawPacket* raw = nullptr;
    uint64_t number = 0;
    std::vector<Layer> path;
    std::vector<std::vector<Value>> values; // per requested column
    std::string truncated;
    std::string malformed;
    uint64_t session = 0;
    uint32_t direction = 0;
};

/// One protocol of the packet being walked.
struct LayerState {
    int proto = -1;
    uint32_t id = 0; // the protocol's id (mmt_proto::id), for the layer above's parent_id
    mmt_ctx ctx{};
    mmt_parse_result res{};
    bool in_packet = true; // ctx.data points into the packet (not into reassembled bytes)
};

} // namespace mmt
