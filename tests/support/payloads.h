// Fixture payloads of application protocols: DNS messages and TLS ClientHellos, for
// tests, the bundled example capture and the benchmark capture; and Geneve headers and the
// packets of a Teredo exchange, for the journey tests and the golden tests' fixtures.
#pragma once

#include "packet_builder.h"

#include <string_view>
#include <vector>

namespace mmt::test {

/// A DNS query for `name` (type A, class IN, recursion desired), or, with `answer` (4
/// bytes), its response carrying one A record whose name points back at the question.
Bytes dns_message(uint16_t id, std::string_view name, const Bytes* answer = nullptr);

/// A TLS 1.2 handshake record holding a ClientHello with one cipher suite and the
/// server_name extension naming `host`.
Bytes tls_client_hello(std::string_view host);

/// A Geneve header (RFC 8926), 8 bytes: the length of `options` (a multiple of 4 bytes,
/// which follow it), the protocol type of what follows them, and the VNI.
Bytes geneve_header(uint16_t ethertype, uint32_t vni, const Bytes& options);

/// Teredo (RFC 4380) between 10.0.0.1 port 50000 and the relay 10.0.0.2 port 3544: a
/// bubble (IPv6 with no next header) from the client 2001:0:4136:e378:8000:63bf:3fff:fdd2,
/// then from the relay IPv6 carrying that client's DNS query for teredo.example after the
/// origin indication (port 4660), then the same after both the authentication indicator
/// (nonce 01:02:03:04:05:06:07:08) and the origin indication.
std::vector<Bytes> teredo_packets();

} // namespace mmt::test
