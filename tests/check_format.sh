#!/usr/bin/env bash
# Every C++ file is formatted by .clang-format (run: git ls-files '*.cpp' '*.h' | xargs clang-format -i).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "skipped: clang-format is not installed"; exit 77; }
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "skipped: not a git checkout"; exit 77; }
git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run -Werror
echo "every C++ file is formatted"
