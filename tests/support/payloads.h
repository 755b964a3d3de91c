// Fixture payloads of application protocols: DNS messages and TLS ClientHellos, for
// tests, the bundled example capture and the benchmark capture.
#pragma once

#include "packet_builder.h"

#include <string_view>

namespace mmt::test {

/// A DNS query for `name` (type A, class IN, recursion desired), or, with `answer` (4
/// bytes), its response carrying one A record whose name points back at the question.
Bytes dns_message(uint16_t id, std::string_view name, const Bytes* answer = nullptr);

/// A TLS 1.2 handshake record holding a ClientHello with one cipher suite and the
/// server_name extension naming `host`.
Bytes tls_client_hello(std::string_view host);

} // namespace mmt::test
