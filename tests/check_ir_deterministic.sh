#!/usr/bin/env bash
# The code generator's output depends on the specs only, never on where the compiler's
# data lies in memory: the IR of the built-in library is the same byte for byte when the
# allocator is made to place things differently.
# Usage: check_ir_deterministic.sh MMTC SOURCE_DIR
set -euo pipefail
mmtc=$1
specs=$2/protocols.dsl
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$mmtc" emit-llvm -O0 "$specs" >"$out/a.ll"
GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.mmap_threshold=4096 \
    "$mmtc" emit-llvm -O0 "$specs" >"$out/b.ll"
if ! cmp -s "$out/a.ll" "$out/b.ll"; then
    echo "the IR differs with another heap layout:" >&2
    diff "$out/a.ll" "$out/b.ll" | head -20 >&2
    exit 1
fi
echo "IR identical under two heap layouts ($(wc -l <"$out/a.ll") lines)"
