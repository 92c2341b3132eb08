#!/usr/bin/env bash
# Run every test: unit tests, lit/FileCheck tests, the ONNX loader sweep, the
# conformance suite, the real models and the ops doc check in the normal build;
# the libFuzzer targets for a bounded time in a clang build; then the suite
# again in an AddressSanitizer + UndefinedBehaviorSanitizer build. Uses the
# Python environment `bash tools/setup.sh` made (.venv/).
#
#   bash tools/test.sh             # all three builds
#   KILN_TEST_FUZZ=0 bash ...      # no libFuzzer run
#   KILN_FUZZ_SECONDS=600 bash ... # longer libFuzzer runs
#   KILN_TEST_SANITIZE=0 bash ...  # no sanitizer build
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

# Coverage-guided fuzzing: the libFuzzer targets (tests/fuzz/) built with clang
# in build-fuzz/, each run for KILN_FUZZ_SECONDS (60) from seed corpora of the
# ONNX node tests, the lit .kir files and .npy files; what they find new stays
# in build-fuzz/corpus/ for the next run. A long campaign: tools/fuzz-campaign.sh.
if [ "${KILN_TEST_FUZZ:-1}" != 0 ]; then
  command -v clang-19 > /dev/null || { echo "test: clang-19 is missing: run 'bash tools/setup.sh'" >&2; exit 1; }
  CC=clang-19 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKILN_FUZZ=ON "$py" \
    -DKILN_FUZZ_SECONDS="${KILN_FUZZ_SECONDS:-60}" > /dev/null
  cmake --build build-fuzz -j"$jobs" --target fuzz_onnx fuzz_kir fuzz_npy > build-fuzz/test-build.log 2>&1 ||
    { tail -50 build-fuzz/test-build.log; exit 1; }
  echo "== libFuzzer targets (${KILN_FUZZ_SECONDS:-60} s each)"
  KILN_FUZZ_KILN="$PWD/build/kiln" ctest --test-dir build-fuzz --output-on-failure -j"$jobs" -L libfuzzer
fi

if [ "${KILN_TEST_SANITIZE:-1}" != 0 ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKILN_SANITIZE=ON "$py" > /dev/null
  cmake --build build-asan -j"$jobs" > build-asan/test-build.log 2>&1 || { tail -50 build-asan/test-build.log; exit 1; }
  echo "== tests (AddressSanitizer + UndefinedBehaviorSanitizer build)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE "models|bounds"
fi
