#!/usr/bin/env bash
# A library built ahead of time runs in a program without the compiler: runtime_only links
# libmmt_runtime alone (ldd shows no LLVM and no ANTLR), loads what `mmtc build` wrote and
# gives the same flow records as `mmtrun -l` on the bundled example capture. mmtrun itself
# is such a program: it links no LLVM, takes what `mmtc build` left in the compile cache
# without the compiler (also when mmtrun-full, which compiles, is missing), and hands what
# needs compiling to mmtrun-full.
#
# usage: check_runtime_only.sh MMTC MMTRUN RUNTIME_ONLY CAPTURE SPEC_DIR
set -euo pipefail
mmtc=$1 mmtrun=$2 runtime_only=$3 capture=$4 specs=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for program in "$runtime_only" "$mmtrun"; do
    if ldd "$program" | grep -E -i 'llvm|antlr'; then
        echo "FAIL: $program links the libraries above" >&2
        exit 1
    fi
done
export MMT_SPEC_PATH=$specs
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

# The cache entry `mmtc build` stored is mmtrun's, with or without mmtrun-full beside it.
mkdir "$tmp/bin"
cp "$mmtrun" "$tmp/bin/mmtrun"
"$tmp/bin/mmtrun" -r "$capture" --flows -q >"$tmp/cached.txt"
if ! diff -u "$tmp/mmtrun.txt" "$tmp/cached.txt"; then
    echo "FAIL: mmtrun on the compile cache and mmtrun -l disagree" >&2
    exit 1
fi
# Compiling is mmtrun-full's: without it, a clear error; with it, the same flows.
status=0
"$tmp/bin/mmtrun" --no-cache -r "$capture" --flows -q >/dev/null 2>"$tmp/err.txt" || status=$?
if [ "$status" != 3 ] || ! grep -q "cannot run '.*mmtrun-full', which compiles specs" "$tmp/err.txt"; then
    echo "FAIL: mmtrun without mmtrun-full: status $status, $(cat "$tmp/err.txt")" >&2
    exit 1
fi
"$mmtrun" -Y frame -r "$capture" --flows -q >"$tmp/filtered.txt"
if ! diff -u "$tmp/mmtrun.txt" "$tmp/filtered.txt"; then
    echo "FAIL: mmtrun -Y frame (mmtrun-full) and mmtrun -l disagree" >&2
    exit 1
fi
# A display filter needs the compiler with an object too: the frames mmtrun-full selects,
# fewer than all of them.
"$mmtrun" --no-builtin -l "$tmp/lib.o" -r "$capture" -Y tcp >"$tmp/object-y.txt"
"$(dirname "$mmtrun")/../libexec/mmt-journey/mmtrun-full" --no-builtin -l "$tmp/lib.o" \
    -r "$capture" -Y tcp >"$tmp/full-y.txt"
"$mmtrun" --no-builtin -l "$tmp/lib.o" -r "$capture" >"$tmp/object-all.txt"
if ! diff -u "$tmp/full-y.txt" "$tmp/object-y.txt" ||
    [ "$(wc -l <"$tmp/object-y.txt")" -ge "$(wc -l <"$tmp/object-all.txt")" ]; then
    echo "FAIL: mmtrun -l -Y does not filter as mmtrun-full does" >&2
    exit 1
fi
"$mmtrun" --version | grep -q "LLVM" || { echo "FAIL: mmtrun --version" >&2; exit 1; }
echo "ok: $(wc -l <"$tmp/standalone.txt") flows agree (runtime_only, mmtrun -l, the compile" \
    "cache, mmtrun-full); runtime_only and mmtrun link no LLVM or ANTLR"
