#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test twice: as built, and
# under AddressSanitizer + UndefinedBehaviorSanitizer. In between, the submit
# and crm end-to-end suites run again under valgrind memcheck (KL_NO_VALGRIND=1
# skips it; scripts/valgrind-e2e.sh -B build runs every suite, ~10 min), and
# each fuzz target runs for KL_FUZZ_SECONDS (default 10; KL_NO_FUZZ=1 skips).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

echo "== build/ (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure

if [ "${KL_NO_VALGRIND:-0}" != 1 ]; then
    echo "== valgrind memcheck over the submit and crm end-to-end suites"
    scripts/valgrind-e2e.sh -B build submit crm
fi

if [ "${KL_NO_FUZZ:-0}" != 1 ]; then
    echo "== build-fuzz/ (libFuzzer: each target briefly, from its seed corpus)"
    scripts/fuzz.sh --seconds "${KL_FUZZ_SECONDS:-10}" --jobs "$jobs" --build-dir build-fuzz
fi

echo "== build-asan/ (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKL_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure
