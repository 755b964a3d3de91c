#!/usr/bin/env bash
# Instructions per packet of the full journey, counted by callgrind (stable where wall
# time is not). Start-up (compiling or loading specs, reading the capture) is excluded:
# only Handler::process and Handler::finish are counted.
# Usage: bench/callgrind.sh [BUILD_DIR] [CAPTURE]
set -euo pipefail
build=${1:-build/release}
capture=${2:-$build/bench/bench.pcap}
out=$(mktemp /tmp/callgrind.XXXXXX)
valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
    --toggle-collect='mmt::Handler::process*' --toggle-collect='mmt::Handler::finish*' \
    "$build/bench/journey_bench" "$capture" >/dev/null 2>&1
total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
packets=$("$build/bench/journey_bench" "$capture" | awk '/^packets/ {gsub(",", "", $2); print $2}')
rm -f "$out"
echo "instructions: $total  packets: $packets  instructions/packet: $((total / packets))"
