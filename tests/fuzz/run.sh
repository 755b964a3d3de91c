#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, AddressSanitizer and UndefinedBehaviorSanitizer,
# generated code instrumented with coverage) and runs each for a while on a corpus seeded
# from the hand-built packets, the built-in specs, the diagnostics' golden specs and, where
# they are present, the shared captures. A finding is left as crash-*/leak-*/timeout-* in
# build/fuzz/findings/TARGET (build/fuzz-noasan/... without ASan); the script then exits 1.
# Usage: tests/fuzz/run.sh [-t SECONDS_PER_TARGET] [TARGET...]
#   targets: packet journey capture spec (all by default); 60 seconds each by default.
# MMT_FUZZ_ASAN=OFF builds the targets without AddressSanitizer (in build/fuzz-noasan):
# UndefinedBehaviorSanitizer and the coverage stay, and the spec target runs several times
# faster, for long runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=60
if [ "${1:-}" = "-t" ]; then seconds=$2; shift 2; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(packet journey capture spec)

asan=${MMT_FUZZ_ASAN:-ON}
build=build/fuzz
[ "$asan" = ON ] || build=build/fuzz-noasan
if [ ! -f "$build/build.ninja" ]; then
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DMMT_FUZZ_ASAN="$asan" \
        -DMMT_BUILD_FUZZ=ON -DMMT_BUILD_TESTS=OFF -DMMT_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$build" -j2 --target fuzz_seeds $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null

seeds=$build/seeds
rm -rf "$seeds"
"$build/tests/fuzz/fuzz_seeds" "$seeds" >/dev/null
cp tests/mmtc/invalid/*.mmtp "$seeds/spec/"
shared=../shared/pcaps
if [ -d "$shared" ]; then
    # Small real captures: whole files for the reader.
    find "$shared" -maxdepth 2 -name '*.pcap*' -size -64k -exec cp {} "$seeds/capture/" \;
fi

# The spec target's dictionary: the grammar's keywords and punctuation, the built-in
# functions and the field types, which libFuzzer splices into the specs it mutates.
dict=$build/spec.dict
{
    grep -o "'[^'\\ ]*'" grammar/Mmtp.g4 | sed "s/^'\(.*\)'\$/\1/"
    grep -o '{"[a-z_0-9]*",' compiler/src/ast/builtins.cpp | sed 's/^{"\(.*\)",$/\1/'
    printf '%s\n' u8 u16 u16le u24 u32 u32le u64 u64le bytes mac ipv4 ipv6 varint \
        quic_varint big little
} | sort -u | sed 's/\\/\\\\/g; s/"/\\"/g; s/.*/"&"/' >"$dict"

status=0
for t in "${targets[@]}"; do
    corpus=$build/corpus/$t findings=$build/findings/$t
    mkdir -p "$corpus" "$findings"
    maxlen=65536 extra=()
    [ "$t" = spec ] && maxlen=1048576 extra=(-dict="$PWD/$dict")
    [ "$t" = capture ] && maxlen=262144
    log=$build/findings/$t.log
    echo "fuzz_$t: ${seconds}s"
    if ! (cd "$findings" && "../../tests/fuzz/fuzz_$t" -max_total_time="$seconds" \
            -max_len="$maxlen" -print_final_stats=1 "${extra[@]}" "../../corpus/$t" "../../seeds/$t") \
            >"$log" 2>&1; then
        status=1
        echo "fuzz_$t: finding, see $log and $findings"
    fi
    # The last status line (executions, coverage, features, corpus) and the run's totals.
    grep -E '^#[0-9]+' "$log" | tail -1 || true
    grep -E 'stat::number_of_executed_units' "$log" || true
done
exit $status
