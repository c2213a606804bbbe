#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test twice: as built, and
# under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

echo "== build/ (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure

if [ "${KL_NO_FUZZ:-0}" != 1 ]; then
    echo "== build-fuzz/ (libFuzzer, a short run of each target on its seed corpus)"
    CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKL_FUZZ=ON -DKL_TESTS=OFF >/dev/null
    cmake --build build-fuzz -j "$jobs"
    for target in csv; do
        corpus=build-fuzz/corpus-$target
        mkdir -p "$corpus"
        cp tests/fuzz/corpus/$target/* "$corpus"/
        if ! build-fuzz/fuzz_$target -max_total_time="${KL_FUZZ_SECONDS:-15}" -max_len=4096 -artifact_prefix=build-fuzz/ \
                -print_final_stats=1 "$corpus" >build-fuzz/fuzz_$target.log 2>&1; then
            tail -n 60 build-fuzz/fuzz_$target.log
            echo "fuzz_$target found a crash: the input is saved as build-fuzz/crash-*" >&2
            exit 1
        fi
        grep -E '^Done|stat::number_of_executed_units' build-fuzz/fuzz_$target.log
    done
fi

echo "== build-asan/ (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKL_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure
