#!/usr/bin/env bash
# The bundled example: a capture this project writes itself (examples/make_demo_capture.cpp),
# run through mmtrun: a few attributes per packet, then one record per flow.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
bin=$build/bin
pcap=$build/examples/demo.pcap
echo "== mmtc check protocols.dsl/"
"$bin/mmtc" check protocols.dsl/
echo "== mmtrun -r $pcap (per packet)"
"$bin/mmtrun" -r "$pcap" -e frame.number -e frame.path -e ipv4.src -e ipv6.src -e dns.qname -e http.host \
    -e http.status_code -e tls.sni
echo "== mmtrun -r $pcap --flows -q"
"$bin/mmtrun" -r "$pcap" --flows -q
