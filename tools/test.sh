#!/usr/bin/env bash
# Run every test: unit tests, lit/FileCheck tests, the ONNX loader sweep and the
# ops doc check, first in the normal build, then again in an AddressSanitizer +
# UndefinedBehaviorSanitizer build. Expects `bash tools/setup.sh` to have run.
#
#   bash tools/test.sh             # both builds
#   KILN_TEST_SANITIZE=0 bash ...  # normal build only
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
# the project's Python environment (tools/setup.sh makes it from requirements.lock)
VENV=${KILN_VENV:-$PWD/.venv}
[ -x "$VENV/bin/python" ] || { echo "test: no Python environment at $VENV: run 'bash tools/setup.sh' first" >&2; exit 1; }
py="-DPython3_EXECUTABLE=$VENV/bin/python"

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "$py" > /dev/null
cmake --build build -j"$jobs" > build/test-build.log 2>&1 || { tail -50 build/test-build.log; exit 1; }
echo "== tests (normal build)"
ctest --test-dir build --output-on-failure -j"$jobs"

if [ "${KILN_TEST_SANITIZE:-1}" != 0 ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKILN_SANITIZE=ON "$py" > /dev/null
  cmake --build build-asan -j"$jobs" > build-asan/test-build.log 2>&1 || { tail -50 build-asan/test-build.log; exit 1; }
  echo "== tests (AddressSanitizer + UndefinedBehaviorSanitizer build)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE models
fi
