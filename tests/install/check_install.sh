#!/usr/bin/env bash
# `cmake --install` gives a working, relocatable installation: the tools find the installed
# specs (not the source tree's), a program builds against the library with find_package and
# with pkg-config and gives the same flows as mmtrun, and the manual pages are there and
# list every option of --help.
#   check_install.sh BUILD_DIR SOURCE_DIR DEMO_PCAP
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd) demo=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MMT_CACHE_DIR=$work/cache
# This cache goes with the test: no filler compiles into it after a miss.
export MMT_CACHE_FILL=0
unset MMT_SPEC_PATH
fail() { echo "check_install: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >/dev/null
for f in bin/mmtrun libexec/mmt-journey/mmtrun-full bin/mmtc lib/libmmt.a lib/libmmtc.a include/mmt/runtime.h \
         include/mmtc/compiler.h share/mmt-journey/protocols/ipv4.mmtp \
         share/mmt-journey/protocols/tshark-names.tsv share/man/man1/mmtrun.1 \
         share/man/man1/mmtc.1 lib/pkgconfig/mmt-journey.pc \
         lib/cmake/mmt-journey/mmt-journey-config.cmake; do
    [ -e "$work/prefix/$f" ] || fail "not installed: $f"
done

# A prefix moved elsewhere still finds its own specs: a protocol added to the installed
# library is seen, which the source tree's library does not have.
mv "$work/prefix" "$work/moved"
prefix=$work/moved
cat > "$prefix/share/mmt-journey/protocols/zz_installed.mmtp" <<'SPEC'
protocol zz_installed {
    id 65001;
    over udp port 65001;
    header { marker : u8; }
    attribute marker;
}
SPEC
"$prefix/bin/mmtrun" -L | grep -qx 'zz_installed.marker' || fail "mmtrun does not read the installed specs"
"$prefix/bin/mmtc" check --quiet "$prefix/share/mmt-journey/protocols/zz_installed.mmtp" ||
    fail "mmtc does not check against the installed specs"
rm "$prefix/share/mmt-journey/protocols/zz_installed.mmtp"

# The same flows from the installed tool as from the build tree's.
"$build/bin/mmtrun" -r "$demo" --flows -q -T csv --no-progress > "$work/flows-build.csv"
"$prefix/bin/mmtrun" -r "$demo" --flows -q -T csv --no-progress > "$work/flows-installed.csv"
cmp -s "$work/flows-build.csv" "$work/flows-installed.csv" || fail "installed mmtrun gives other flows"

# A program of a user's, with the CMake package and with pkg-config.
cmake -G Ninja -S "$src/tests/install" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
    -DEXAMPLE="$src/examples/api_example.cpp" -DCMAKE_BUILD_TYPE=Release >/dev/null ||
    fail "find_package(mmt-journey) fails"
cmake --build "$work/consumer" -j2 >/dev/null || fail "a program does not build with the CMake package"
"$work/consumer/consumer" "$demo" > "$work/consumer-cmake.txt" || fail "the CMake-built program fails"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# shellcheck disable=SC2046
c++ -std=c++20 -O1 "$src/examples/api_example.cpp" -o "$work/consumer-pc" \
    $(pkg-config --cflags --libs mmt-journey) || fail "a program does not build with pkg-config"
"$work/consumer-pc" "$demo" > "$work/consumer-pc.txt" || fail "the pkg-config-built program fails"
cmp -s "$work/consumer-cmake.txt" "$work/consumer-pc.txt" || fail "the two programs disagree"
"$build/bin/api_example" "$demo" > "$work/consumer-build.txt"
cmp -s "$work/consumer-build.txt" "$work/consumer-pc.txt" || fail "the installed library gives other results"
grep -q '^session ' "$work/consumer-pc.txt" || fail "the program reported no session"

# Every option of --help is in the manual page (made from docs/TOOL.md).
for tool in mmtrun mmtc; do
    man=$prefix/share/man/man1/$tool.1
    opts=$("$prefix/bin/$tool" --help 2>&1 | grep -oE '(^|[ ,(])--?[a-zA-Z][a-zA-Z-]*' | sed 's/^[ ,(]//' | sort -u)
    for o in $opts; do
        grep -qF -- "$(printf '%s' "$o" | sed 's/-/\\-/g')" "$man" || fail "$tool.1 does not mention $o"
    done
done
echo "check_install: ok"
