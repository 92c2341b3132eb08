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

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build build -j"$jobs" > build/test-build.log 2>&1 || { tail -50 build/test-build.log; exit 1; }
echo "== tests (normal build)"
ctest --test-dir build --output-on-failure -j"$jobs"

if [ "${KILN_TEST_SANITIZE:-1}" != 0 ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKILN_SANITIZE=ON > /dev/null
  cmake --build build-asan -j"$jobs" > build-asan/test-build.log 2>&1 || { tail -50 build-asan/test-build.log; exit 1; }
  echo "== tests (AddressSanitizer + UndefinedBehaviorSanitizer build)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE models
fi
