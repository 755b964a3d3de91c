#!/bin/sh
# docs/protocols.md is what `mmtc doc protocols.dsl/` prints (MMT_UPDATE_GOLDEN=1 rewrites it).
# usage: check_protocol_docs.sh MMTC SOURCE_DIR
set -eu
mmtc=$1
root=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$mmtc" doc "$root/protocols.dsl" > "$out"
if [ "${MMT_UPDATE_GOLDEN:-}" = 1 ]; then
    cp "$out" "$root/docs/protocols.md"
    echo "wrote $root/docs/protocols.md"
    exit 0
fi
if ! diff -u "$root/docs/protocols.md" "$out"; then
    echo "docs/protocols.md is out of date: run mmtc doc protocols.dsl/ > docs/protocols.md"
    exit 1
fi
