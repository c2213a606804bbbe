#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test twice: as built, and
# under AddressSanitizer + UndefinedBehaviorSanitizer. The submit and crm
# end-to-end suites also run under valgrind memcheck (KL_NO_VALGRIND=1 skips
# it; scripts/valgrind-e2e.sh -B build runs every suite), and each fuzz target
# runs for KL_FUZZ_SECONDS (default 10; KL_NO_FUZZ=1 skips).
#
# The phases run in two lanes side by side, since the tests mostly wait (for
# timeouts, the sandbox) while the builds, fuzzing and valgrind need the CPUs:
#   lane 1: build/ (RelWithDebInfo) -> ctest -> valgrind
#   lane 2: fuzz (build-fuzz/)       -> build-asan/ (ASan + UBSan) -> ctest
# ctest runs KL_TEST_JOBS tests at a time (default 4): each end-to-end suite
# has a sandbox of its own. Each phase's output goes to build-logs/PHASE.log
# and is printed whole when the phase ends; the summary at the end names each
# phase, its time and its result. Exit status: 0 only when every phase passed.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
test_jobs=${KL_TEST_JOBS:-4}
logs=$PWD/build-logs
rm -rf "$logs"
mkdir -p "$logs"
start=$SECONDS

# Runs one phase: NAME DESCRIPTION COMMAND... Its output goes to NAME.log, its
# exit status and seconds to NAME.status; the log is printed when it ends (one
# phase at a time, so that the lanes' outputs do not interleave).
phase()
{
    local name=$1 what=$2 t0=$SECONDS rc=0
    shift 2
    echo "-- $name: $what (started at $((SECONDS - start)) s)"
    "$@" >"$logs/$name.log" 2>&1 </dev/null || rc=$?
    echo "$rc $((SECONDS - t0))" >"$logs/$name.status"
    {
        flock 9
        echo "== $name: $what: $([ $rc = 0 ] && echo passed || echo "FAILED (exit $rc)") in $((SECONDS - t0)) s"
        cat "$logs/$name.log"
    } 9>>"$logs/.print"
    return $rc
}

# (&&: set -e does not reach into a function run as phase runs it)
# shellcheck disable=SC2317 # run through phase
configure_build()
{
    cmake -S . -B "$1" "${@:2}" >/dev/null && cmake --build "$1" -j "$jobs"
}

# shellcheck disable=SC2317 # run through phase
asan_ctest()
{
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir build-asan -j "$test_jobs" --output-on-failure
}

lane1()
{
    phase build "build/ (RelWithDebInfo)" configure_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo || return
    phase ctest "ctest in build/" ctest --test-dir build -j "$test_jobs" --output-on-failure || return
    if [ "${KL_NO_VALGRIND:-0}" != 1 ]; then
        phase valgrind "valgrind memcheck over the submit and crm end-to-end suites" \
            scripts/valgrind-e2e.sh -B build submit crm
    fi
}

lane2()
{
    local rc=0
    if [ "${KL_NO_FUZZ:-0}" != 1 ]; then
        # a crash found does not stop the ASan run: its results are wanted too
        phase fuzz "build-fuzz/ (libFuzzer: each target briefly, from its seed corpus)" \
            scripts/fuzz.sh --seconds "${KL_FUZZ_SECONDS:-10}" --jobs "$jobs" --build-dir build-fuzz || rc=1
    fi
    phase build-asan "build-asan/ (ASan + UBSan)" \
        configure_build build-asan -DCMAKE_BUILD_TYPE=Debug -DKL_SANITIZE=ON || return
    phase ctest-asan "ctest in build-asan/" asan_ctest || return
    return $rc
}

lane1 &
pid1=$!
lane2 &
pid2=$!
# the phase each lane is in, then the lanes
trap 'pkill -TERM -P "$pid1,$pid2" 2>/dev/null; kill $pid1 $pid2 2>/dev/null; exit 130' INT TERM
status=0
wait $pid1 || status=1
wait $pid2 || status=1

echo "== summary ($((SECONDS - start)) s in all)"
for name in build ctest valgrind fuzz build-asan ctest-asan; do
    case $name in
    valgrind) [ "${KL_NO_VALGRIND:-0}" != 1 ] || continue ;;
    fuzz) [ "${KL_NO_FUZZ:-0}" != 1 ] || continue ;;
    esac
    if [ -f "$logs/$name.status" ]; then
        read -r rc secs <"$logs/$name.status"
        printf '  %-11s %4s s  %s\n' "$name" "$secs" "$([ "$rc" = 0 ] && echo passed || echo "FAILED (exit $rc)")"
        [ "$rc" = 0 ] || status=1
    else
        printf '  %-11s %6s  %s\n' "$name" - "not run: an earlier phase in its lane failed"
        status=1
    fi
done
exit $status
