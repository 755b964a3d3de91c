#!/usr/bin/env bash
# A library built ahead of time runs in a program without the compiler: runtime_only links
# libmmt_runtime alone (ldd shows no LLVM and no ANTLR), loads what `mmtc build` wrote and
# gives the same flow records as `mmtrun -l` on the bundled example capture.
#
# usage: check_runtime_only.sh MMTC MMTRUN RUNTIME_ONLY CAPTURE SPEC_DIR
set -euo pipefail
mmtc=$1 mmtrun=$2 runtime_only=$3 capture=$4 specs=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ldd "$runtime_only" | grep -E -i 'llvm|antlr'; then
    echo "FAIL: runtime_only links the libraries above" >&2
    exit 1
fi
"$mmtc" build "$specs" -o "$tmp/lib.o"
"$runtime_only" "$tmp/lib.o" "$capture" >"$tmp/standalone.txt"
"$mmtrun" --no-builtin -l "$tmp/lib.o" -r "$capture" --flows -q >"$tmp/mmtrun.txt"
if [ ! -s "$tmp/mmtrun.txt" ]; then
    echo "FAIL: no flows in the example capture" >&2
    exit 1
fi
if ! diff -u "$tmp/mmtrun.txt" "$tmp/standalone.txt"; then
    echo "FAIL: runtime_only and mmtrun -l disagree" >&2
    exit 1
fi
echo "ok: $(wc -l <"$tmp/standalone.txt") flows agree; runtime_only links no LLVM or ANTLR"
