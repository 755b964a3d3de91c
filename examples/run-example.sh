#!/usr/bin/env bash
# The bundled example: checks the built-in protocol library with mmtc.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/release}/bin
echo "== mmtc check protocols.dsl/"
"$bin/mmtc" check protocols.dsl/
echo "all built-in specs check cleanly"
