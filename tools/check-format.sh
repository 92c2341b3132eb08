#!/usr/bin/env bash
# Fail when a tracked C source differs from what .clang-format makes of it.
#   bash tools/check-format.sh         # check
#   bash tools/check-format.sh --fix   # rewrite in place
set -euo pipefail
cd "$(dirname "$0")/.."
cf=$(command -v clang-format-19 || command -v clang-format || true)
if [ -z "$cf" ]; then
  echo "check-format: clang-format-19 is not installed (tools/setup.sh installs it)"
  exit 1
fi
mapfile -t files < <(git ls-files '*.c' '*.h')
if [ "${1:-}" = --fix ]; then
  "$cf" -i "${files[@]}"
  exit 0
fi
"$cf" --dry-run -Werror "${files[@]}"
echo "check-format: ${#files[@]} files match .clang-format"
