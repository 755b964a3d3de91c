// The Community ID v1 into a string the caller reuses (mmt::community_id_v1 returns a new
// one): flow records describe every ending session in the same strings.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace mmt {

/// community_id_v1() of the same arguments, assigned to `out` ("" when there is none).
void assign_community_id_v1(std::string& out, std::span<const uint8_t> src,
                            std::span<const uint8_t> dst, uint8_t ip_proto, uint16_t src_port,
                            uint16_t dst_port, uint16_t seed = 0);

} // namespace mmt
