#!/usr/bin/env bash
# valgrind-e2e.sh: runs the end-to-end suites with every run of the binary under
# valgrind memcheck, and fails when memcheck reports an error or a leak.
#
#   scripts/valgrind-e2e.sh [-B BUILD_DIR] [-j JOBS] [SUITE...]
#
# BUILD_DIR (default: this tree's build/) must already hold kommo-lead: this
# script builds nothing. SUITE is a name under tests/e2e (submit, test_submit or
# test_submit.py); none means every tests/e2e/test_*.py. Each suite gets a
# sandbox of its own (started as tests/CMakeLists.txt starts the ctest one), so
# JOBS suites (default: the number of CPUs) run side by side.
#
# KL_WRAPPER overrides the valgrind command line. Each run's report is kept in
# BUILD_DIR/valgrind-e2e/logs, one file per run; a failing test quotes it.
# Exit status: 0 when every suite passed and no report holds an error.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || exit 1
src=$(dirname "$here")
build=$src/build
jobs=$(nproc 2>/dev/null || echo 2)

usage() {
	echo "usage: scripts/valgrind-e2e.sh [-B BUILD_DIR] [-j JOBS] [SUITE...]" >&2
	exit 64
}

while [ $# -gt 0 ]; do
	case $1 in
	-B | --build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
	-j | --jobs) [ $# -ge 2 ] || usage; jobs=$2; shift 2 ;;
	-h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
case $jobs in '' | *[!0-9]* | 0) usage ;; esac

build=$(cd "$build" 2>/dev/null && pwd) || build=${build%/}
bin=$build/kommo-lead
cd "$src" || exit 1
if [ ! -x "$bin" ]; then
	echo "valgrind-e2e: no $build/kommo-lead: build it first (cmake -S . -B $build && cmake --build $build)" >&2
	exit 66
fi
if ! command -v valgrind >/dev/null 2>&1; then
	echo "valgrind-e2e: valgrind is not installed: run scripts/install-deps.sh (or apt-get install valgrind)" >&2
	exit 69
fi

suites=()
if [ $# -eq 0 ]; then
	for f in tests/e2e/test_*.py; do suites+=("$(basename "$f" .py)"); done
else
	for s in "$@"; do
		s=$(basename "$s" .py)
		s=test_${s#test_}
		[ -f "tests/e2e/$s.py" ] || { echo "valgrind-e2e: no suite tests/e2e/$s.py" >&2; exit 64; }
		suites+=("$s")
	done
fi

supp=()
[ -f tests/valgrind.supp ] && supp=(--suppressions="$src/tests/valgrind.supp")
# Not --quiet: each report then ends in an ERROR SUMMARY, which is checked below.
default_wrapper="valgrind --error-exitcode=97 --leak-check=full --show-leak-kinds=definite,indirect \
--errors-for-leak-kinds=definite,indirect --track-fds=no --num-callers=30 ${supp[*]}"
export KL_WRAPPER=${KL_WRAPPER:-$default_wrapper}
export KL_BIN=$bin KL_SOURCE_DIR=$src

work=$build/valgrind-e2e
rm -rf "$work"
mkdir -p "$work/logs" || exit 1
export KL_WRAPPER_LOG_DIR=$work/logs

stop_all() {
	for d in "$work"/sandbox-*; do
		[ -d "$d" ] && "$here/sandbox-ctl" stop "$d" >/dev/null 2>&1
	done
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# One suite against a sandbox of its own; its output goes to $work/SUITE.out.
run_suite() {
	local s=$1 sb=$work/sandbox-$1 t0 rc
	t0=$(date +%s)
	if ! KOMMO_SANDBOX_TOKEN= "$here/sandbox-ctl" start "$sb" --rate-limit 0 \
		--extra-field lead:1709500:text >/dev/null 2>"$work/$s.out"; then
		echo "$s: the sandbox did not start" >>"$work/$s.out"
		echo 1 >"$work/$s.rc"
		return
	fi
	KL_SANDBOX_DIR=$sb python3 "tests/e2e/$s.py" >>"$work/$s.out" 2>&1
	rc=$?
	"$here/sandbox-ctl" stop "$sb" >/dev/null 2>&1
	echo "$s: exit $rc in $(($(date +%s) - t0)) s" >>"$work/$s.out"
	echo $rc >"$work/$s.rc"
}

echo "valgrind-e2e: ${#suites[@]} suites, $jobs at a time, binary $bin"
echo "valgrind-e2e: KL_WRAPPER=$KL_WRAPPER"
start=$(date +%s)
failed=()
for s in "${suites[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	run_suite "$s" &
done
wait
for s in "${suites[@]}"; do
	if [ "$(cat "$work/$s.rc" 2>/dev/null)" = 0 ]; then
		tail -n 1 "$work/$s.out"
	else
		failed+=("$s")
		echo "---- $s failed; its output ($work/$s.out):"
		cat "$work/$s.out"
	fi
done

# Every run's report, whether or not a test looked at its exit status.
runs=$(find "$work/logs" -type f | wc -l)
# (anchored after valgrind's ==PID== prefix: its Command: line quotes argv)
bad=$(grep -lE '^==[0-9]+== (ERROR SUMMARY: [1-9]|Invalid |Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Process terminating|.* are (definitely|indirectly) lost in)' \
	"$work"/logs/* 2>/dev/null)
elapsed=$(($(date +%s) - start))
echo "valgrind-e2e: $runs runs of kommo-lead under valgrind in $elapsed s"
status=0
if [ -n "$bad" ]; then
	echo "valgrind-e2e: memcheck reported errors in $(echo "$bad" | wc -l) runs; the first reports:"
	for f in $(echo "$bad" | head -n 5); do
		echo "---- $f"
		cat "$f"
	done
	echo "valgrind-e2e: every report with an error:"
	echo "$bad"
	status=1
fi
if [ ${#failed[@]} -gt 0 ]; then
	echo "valgrind-e2e: failed suites: ${failed[*]}"
	status=1
fi
[ "$runs" -gt 0 ] || { echo "valgrind-e2e: no run went through valgrind: is KL_WRAPPER honoured?"; status=1; }
[ $status -eq 0 ] && echo "valgrind-e2e: no errors, no leaks"
exit $status
