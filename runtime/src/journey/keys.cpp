// The packet's flow key, gathered along the path (see keys.h).
#include "journey/keys.h"

namespace mmt {

void PacketKey::add(int proto, const mmt_proto& p, const mmt_ctx& ctx) {
    uint16_t aBefore = key_.a_len;
    uint16_t shared = key_.shared_len, a = key_.a_len, b = key_.b_len;
    if (!p.key(&ctx, &key_)) {
        // A key that cannot be read adds nothing (the parts already appended are dropped).
        key_.shared_len = shared;
        key_.a_len = a;
        key_.b_len = b;
        return;
    }
    if (p.sides && nParts_ < kMaxDepth) parts_[nParts_++] = Part{proto, &ctx, aBefore};
}

KeySides PacketKey::sides() const {
    KeySides s;
    for (unsigned i = 0; i < nParts_; ++i) {
        const Part& k = parts_[i];
        const mmt_proto& p = table_.protos[k.proto];
        mmt_value a{}, b{};
        if (!p.sides(k.ctx, &a, &b)) continue;
        if (a.type == MMT_T_IPV4 || a.type == MMT_T_IPV6) {
            s.addr_off = uint8_t(k.aBefore);
            s.addr_len = uint8_t(a.len);
            // Ports before an address are a tunnel's (the outer UDP of GTP or VXLAN), not
            // those of the flow inside: an ICMP flow in GTP has none.
            s.port_off = s.port_len = 0;
        } else if (a.type == MMT_T_UINT) {
            // Integers are appended big-endian in as many bytes as their width needs; the
            // next part (or the end of the side) tells how many.
            uint16_t end = i + 1 < nParts_ ? parts_[i + 1].aBefore : key_.a_len;
            if (end > k.aBefore && end - k.aBefore <= 8) {
                s.port_off = uint8_t(k.aBefore);
                s.port_len = uint8_t(end - k.aBefore);
            }
        }
    }
    return s;
}

std::span<const uint8_t> PacketKey::fragment(uint32_t protoId, uint64_t fragmentId) {
    auto append = [this](const void* p, size_t n) {
        auto* b = static_cast<const uint8_t*>(p);
        fragKey_.insert(fragKey_.end(), b, b + n);
    };
    fragKey_.clear();
    append(key_.shared, key_.shared_len);
    fragKey_.push_back(uint8_t(key_.a_len));
    append(key_.a, key_.a_len);
    append(key_.b, key_.b_len);
    append(&protoId, sizeof protoId);
    append(&fragmentId, sizeof fragmentId);
    return fragKey_;
}

} // namespace mmt
