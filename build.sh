#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine: installs what is missing, builds,
# then runs the bundled example (`./build.sh run`) or the whole test suite (`./build.sh test`).
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(cmake ninja-build g++ pkg-config llvm-14-dev antlr4 libantlr4-runtime-dev uuid-dev
          catch2 libfmt-dev libpcap-dev libssl-dev ccache lld python3)
# Tools the tests use as independent oracles and fixtures.
TEST_PACKAGES=(tshark wireshark-common iproute2 python3 clang-format git)

install_missing() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "build.sh: installing ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
    local preset=$1
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset"
}

case "${1:-}" in
run)
    install_missing "${PACKAGES[@]}"
    build release
    exec ./examples/run-example.sh build/release
    ;;
test)
    install_missing "${PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    build release
    ctest --preset release -j2 --timeout 300
    ;;
asan)
    install_missing "${PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    build asan
    ctest --preset asan -j2 --timeout 1200
    ;;
*)
    echo "usage: ./build.sh run | test | asan" >&2
    exit 2
    ;;
esac
