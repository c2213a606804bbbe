#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs them.
#
#   scripts/fuzz.sh [TARGET...] [--seconds N] [--jobs N] [--build-dir DIR]
#
# TARGET: cli, config, csv, reply, values, jsonl (default: all). Each runs for N seconds
# (default 60), --jobs at a time (default 1), on DIR/corpus/TARGET (kept
# between runs, where new inputs go) plus the committed seeds in
# tests/fuzz/corpus/TARGET and tests/fuzz/regressions/TARGET, with the
# dictionary tests/fuzz/TARGET.dict. DIR defaults to
# build-fuzz/. A crash, leak, timeout or out-of-memory input is saved under
# DIR/crashes/TARGET/, and the script says how to replay it and exits 1.
# Once the bug is fixed, copy the input to tests/fuzz/regressions/TARGET/:
# ctest replays it in every build from then on.
# Exit status: 0 nothing found; 1 a target failed; 2 bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(cli config csv reply values jsonl)
targets=()
seconds=60
jobs=1
dir=build-fuzz

usage()
{
    sed -n '2,16s/^# \{0,1\}//p' "$0" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) [ $# -ge 2 ] || usage; seconds=$2; shift 2 ;;
    --seconds=*) seconds=${1#*=}; shift ;;
    --jobs) [ $# -ge 2 ] || usage; jobs=$2; shift 2 ;;
    --jobs=*) jobs=${1#*=}; shift ;;
    --build-dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
    --build-dir=*) dir=${1#*=}; shift ;;
    -h | --help) usage ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; usage ;;
    *)
        [[ " ${all_targets[*]} " == *" $1 "* ]] || { echo "fuzz.sh: no target $1 (targets: ${all_targets[*]})" >&2; exit 2; }
        targets+=("$1")
        shift
        ;;
    esac
done
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --seconds takes a whole number of seconds" >&2; exit 2; }
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --jobs takes a whole number" >&2; exit 2; }
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

KL_NO_FUZZ=0 scripts/install-deps.sh
CC=clang CXX=clang++ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKL_FUZZ=ON -DKL_TESTS=OFF >/dev/null
cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)" --target "${targets[@]/#/fuzz_}" >/dev/null
dir=$(cd "$dir" && pwd)

# Runs one target; its log is DIR/fuzz_TARGET.log, its exit status DIR/fuzz_TARGET.status.
run()
{
    local t=$1 rc=0
    local seeds=(tests/fuzz/corpus/"$t")
    [ -d tests/fuzz/regressions/"$t" ] && seeds+=(tests/fuzz/regressions/"$t")
    local opts=()
    # the words of the input (option names, config keys, JSON keys) to splice in
    [ -f tests/fuzz/"$t".dict ] && opts+=(-dict=tests/fuzz/"$t".dict)
    mkdir -p "$dir/corpus/$t" "$dir/crashes/$t"
    # -timeout: an input that takes seconds is a hang, and a bug
    "$dir/fuzz_$t" -max_total_time="$seconds" -timeout=10 -max_len=4096 -rss_limit_mb=2048 \
        -artifact_prefix="$dir/crashes/$t/" -print_final_stats=1 "${opts[@]}" \
        "$dir/corpus/$t" "${seeds[@]}" >"$dir/fuzz_$t.log" 2>&1 || rc=$?
    echo "$rc" >"$dir/fuzz_$t.status"
}

echo "fuzzing ${targets[*]} for ${seconds} s each, $jobs at a time (logs: $dir/fuzz_TARGET.log)"
for t in "${targets[@]}"; do
    rm -f "$dir/fuzz_$t.status"
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n || true
    done
    run "$t" &
done
wait

failed=0
for t in "${targets[@]}"; do
    log=$dir/fuzz_$t.log
    rc=$(cat "$dir/fuzz_$t.status" 2>/dev/null || echo 1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 || true)
    corpus=$(find "$dir/corpus/$t" -type f | wc -l)
    if [ "$rc" = 0 ]; then
        echo "fuzz_$t: ${runs:-?} inputs in ${seconds} s, ${cov:-cov: ?}, $corpus in its corpus: no crash"
        continue
    fi
    failed=1
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)
    echo >&2
    echo "fuzz_$t FAILED (exit $rc):" >&2
    grep -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|deadly signal|ALARM|out-of-memory' "$log" | head -n 5 >&2 || true
    grep -E '^ +#[0-9]+ ' "$log" | head -n 15 >&2 || true
    if [ -n "$artifact" ]; then
        echo "  the input: $artifact" >&2
        echo "  replay it: $dir/fuzz_$t $artifact" >&2
        echo "  once fixed, keep it: cp $artifact tests/fuzz/regressions/$t/" >&2
    fi
    echo "  the whole log: $log" >&2
done
exit $failed
