// The packet's flow key, gathered along the path (see keys.h).
#include "journey/keys.h"

namespace mmt {

KeySides PacketKey::sides() const {
    KeySides s;
    for (unsigned i = 0; i < n_parts_; ++i) {
        const Part& k = parts_[i];
        const mmt_proto& p = table_.protos[k.proto];
        mmt_value a{}, b{};
        if (!p.sides(k.ctx, &a, &b)) continue;
        if (a.type == MMT_T_IPV4 || a.type == MMT_T_IPV6) {
            s.addr_off = uint8_t(k.a_before);
            s.addr_len = uint8_t(a.len);
            // Ports before an address are a tunnel's (the outer UDP of GTP or VXLAN), not
            // those of the flow inside: an ICMP flow in GTP has none.
            s.port_off = s.port_len = 0;
        } else if (a.type == MMT_T_UINT) {
            // Integers are appended big-endian in as many bytes as their width needs; the
            // next part (or the end of the side) tells how many.
            uint16_t end = i + 1 < n_parts_ ? parts_[i + 1].a_before : key_.a_len;
            if (end > k.a_before && end - k.a_before <= 8) {
                s.port_off = uint8_t(k.a_before);
                s.port_len = uint8_t(end - k.a_before);
            }
        }
    }
    return s;
}

std::span<const uint8_t> PacketKey::fragment(uint32_t proto_id, uint64_t fragment_id) {
    auto append = [this](const void* p, size_t n) {
        auto* b = static_cast<const uint8_t*>(p);
        frag_key_.insert(frag_key_.end(), b, b + n);
    };
    frag_key_.clear();
    append(key_.shared, key_.shared_len);
    frag_key_.push_back(uint8_t(key_.a_len));
    append(key_.a, key_.a_len);
    append(key_.b, key_.b_len);
    append(&proto_id, sizeof proto_id);
    append(&fragment_id, sizeof fragment_id);
    return frag_key_;
}

} // namespace mmt
