// The flow key of the packet being walked: every protocol with a `key` (or a `session
// key`) appends its parts on the way up; sessions and fragments are found by it.
#pragma once

#include "journey/handler_impl.h"

#include <cstdint>
#include <span>
#include <vector>

namespace mmt {

/// Where single-value sides (addresses, ports) lie in each side of a key.
struct KeySides {
    uint8_t addr_off = 0, addr_len = 0; ///< addr_len 4 or 16; 0 when unknown
    uint8_t port_off = 0, port_len = 0; ///< port_len 0 when unknown
};

class PacketKey {
  public:
    explicit PacketKey(const mmt_library& table) : table_(table) {}

    /// A new packet: no parts yet.
    void clear() {
        key_.shared_len = key_.a_len = key_.b_len = key_.overflow = 0;
        n_parts_ = 0;
    }
    /// Appends `p`'s key parts (computed on `ctx`, which must outlive the packet's walk).
    /// Inline: the walk calls it for every layer with a key.
    void add(int proto, const mmt_proto& p, const mmt_ctx& ctx) {
        const uint16_t shared = key_.shared_len, a = key_.a_len, b = key_.b_len;
        if (!p.key(&ctx, &key_)) {
            // A key that cannot be read adds nothing (the parts already appended are
            // dropped).
            key_.shared_len = shared;
            key_.a_len = a;
            key_.b_len = b;
            return;
        }
        if (p.sides && n_parts_ < kMaxDepth) parts_[n_parts_++] = Part{proto, &ctx, a};
    }
    const mmt_key& key() const { return key_; }
    /// Reads, from the parts of protocols whose sides are single values, where the
    /// addresses and ports lie: once per new session, for its flow record.
    KeySides sides() const;
    /// The key of a fragmented datagram: every part gathered so far (addresses included),
    /// the protocol's id and the fragment id. Valid until the next call.
    std::span<const uint8_t> fragment(uint32_t proto_id, uint64_t fragment_id);

  private:
    const mmt_library& table_;
    mmt_key key_{};
    // Key parts of protocols whose sides are single values, in path order.
    struct Part {
        int proto;
        const mmt_ctx* ctx;
        uint16_t a_before; // side a's length before the protocol's parts
    };
    Part parts_[kMaxDepth];
    unsigned n_parts_ = 0;
    std::vector<uint8_t> frag_key_;
};

} // namespace mmt
