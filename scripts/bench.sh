#!/usr/bin/env bash
# scripts/bench.sh: measures kommo-lead against the local Kommo sandbox and prints one markdown
# table, ready for the README, and the machine it ran on. Not part of CI. About 6 minutes
# (BENCH_QUICK=1: about 2, smaller sizes).
#
#   (a) one submission: kommo-lead against one curl command posting the same JSON body (from
#       kommo-lead --dry-run) with the same headers to the same endpoint; wall time and peak
#       memory, medians of BENCH_RUNS runs of each, interleaved, and their ratio
#   (b) import of BENCH_ROWS rows, --rate 0, batches of 50: rows/s, CPU microseconds per row
#       (kommo-lead's user+sys only), requests sent (the sandbox's count), peak memory
#   (c) peak memory importing BENCH_BIG_ROWS rows with --dry-run (the same reading, checking,
#       batching and JSON building, without the Python sandbox, which would take many minutes)
#   (d) against a sandbox enforcing Kommo's 7 requests/second, BENCH_RATE_SECONDS of batches of
#       50 at kommo-lead's default --rate: requests/s, leads/s, 429s received
#   (e) peak memory with --state, which keeps a count slot for every distinct row read and, on
#       a rerun, an entry for every row the state file holds: (b)'s import again with a new
#       state file, and once more with that file (every row skipped, nothing sent); then
#       BENCH_BIG_ROWS rows with --dry-run (which with --state reads the state file and keys
#       and looks up every row as an import does, but, sending nothing, records nothing), with a
#       new state file and with one holding every row as created. That one the bench writes
#       itself, in the text format of earlier versions (which the run converts to SQLite) and
#       with kommo-lead's keys, and runs once more over the converted file: a real import of 1,000,000 rows into
#       the Python sandbox would take minutes and gigabytes. The bench checks its keys against
#       the real state file of the first part, and that the rerun skips every row.
#   (f) the account shared (issue 12): two imports of BENCH_SHARED_ROWS rows each (batches of 50,
#       so that there are many requests) and a dozen submits, all started at once with one HOME
#       (so one budget file under ~/.cache/kommo-lead), against 7 requests/s: 429s received and
#       the requests/s of them all together
#   (g) --batch-size auto, BENCH_AUTO_ROWS rows against 7 requests/s: a sandbox that answers a
#       batch in 20 ms + 0.2 ms an item (250 items: 70 ms), then the same one refusing (504)
#       batches of more than 100 (with --timeout 1, the grace before looking up what a 504 left):
#       leads/s, the batch sizes, every row created once (the sandbox's source_uids)
#   (m) peak memory of every command, the goal being under 64 MiB whatever the input or server:
#       submit and import from (a), (b) and (e); import of BENCH_WIDE_MB MB of rows of 10,000
#       one-letter fields with --rejects (a tenth of them rejected); check; fields, and fields
#       against 10,100 custom fields (it stops at 10,000 entries, exit 76); leads search and
#       contacts search finding 10,000 each
# (a) to (c), (e) and (m) run against a sandbox with its rate limit off.
#
# Environment: BENCH_BIN (default build/kommo-lead, built if missing; BENCH_BUILD=1 rebuilds it
# first), BENCH_QUICK, BENCH_RUNS, BENCH_ROWS, BENCH_BIG_ROWS, BENCH_RATE_SECONDS,
# BENCH_SHARED_ROWS, BENCH_AUTO_ROWS, BENCH_WIDE_MB.
# Peak memory is the child's ru_maxrss as seen by a tiny C helper that forks and execs it: a
# Python parent would not do, as Linux carries the address space the child had before exec
# (the parent's) into its high-water mark.
set -euo pipefail
if [ -n "${BENCH_BIN:-}" ]; then
    bin=$(realpath -e -- "$BENCH_BIN") || { echo "bench: BENCH_BIN=$BENCH_BIN: no such file" >&2; exit 1; }
else
    bin=build/kommo-lead
fi
cd "$(dirname "$0")/.."
quick=${BENCH_QUICK:-0}

need=()
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    KL_NO_FUZZ=1 KL_EXTRA_PACKAGES="${need[*]}" scripts/install-deps.sh
fi
if [ -z "${BENCH_BIN:-}" ] && { [ "${BENCH_BUILD:-0}" = 1 ] || [ ! -x "$bin" ]; }; then
    KL_NO_FUZZ=1 scripts/install-deps.sh
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build --target kommo-lead -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
fi

work=$(mktemp -d /tmp/bench-XXXXXX)
cleanup() {
    scripts/sandbox-ctl stop "$work/fast" >/dev/null 2>&1 || true
    scripts/sandbox-ctl stop "$work/limited" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the binary measured stays the same even if someone rebuilds build/ meanwhile
cp "$bin" "$work/kommo-lead"

cat >"$work/measure.c" <<'C'
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* measure OUT CMD [ARG]...: runs CMD and writes "wall_s cpu_s maxrss_kib exit_status" to OUT */
int main(int argc, char **argv)
{
	struct timespec a, b;
	struct rusage ru;
	int st;
	if (argc < 3)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid_t pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		execv(argv[2], argv + 2);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) < 0)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &b);
	FILE *f = fopen(argv[1], "w");
	if (!f)
		return 2;
	fprintf(f, "%.6f %.6f %ld %d\n",
		(double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
		(double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
			(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
		ru.ru_maxrss, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return fclose(f) ? 2 : 0;
}
C
cc -O2 -o "$work/measure" "$work/measure.c"

fast=$(env -u KOMMO_SANDBOX_TOKEN scripts/sandbox-ctl start "$work/fast" --rate-limit 0)
limited=$(env -u KOMMO_SANDBOX_TOKEN scripts/sandbox-ctl start "$work/limited" --rate-limit 7)

BENCH_QUICK=$quick BENCH_SRC_BIN=$bin python3 - "$work" "$fast" "$limited" <<'PY'
import collections, contextlib, hashlib, json, os, platform, re, shutil, signal, sqlite3, statistics, subprocess, sys, time, urllib.request

work, fast, limited = sys.argv[1:4]
quick = os.environ.get("BENCH_QUICK", "0") == "1"
def knob(name, full, small):
    return int(os.environ.get(name) or (small if quick else full))
runs = knob("BENCH_RUNS", 50, 10)
rows = knob("BENCH_ROWS", 100_000, 10_000)
big_rows = knob("BENCH_BIG_ROWS", 1_000_000, 100_000)
rate_secs = knob("BENCH_RATE_SECONDS", 30, 10)

binary = os.path.join(work, "kommo-lead")
measure = os.path.join(work, "measure")
curl = shutil.which("curl")
forms = "/api/v4/leads/unsorted/forms"
token_of = {fast: os.path.join(work, "fast", "token"), limited: os.path.join(work, "limited", "token")}

def say(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)

def kl_env(base_url=None):
    """Every run has the same HOME, so every kommo-lead process shares the account's budget file."""
    env = {"PATH": os.environ["PATH"], "HOME": work, "LC_ALL": "C.UTF-8"}
    if base_url:
        env["KOMMO_BASE_URL"] = base_url
    return env

last_exit = None  # the exit status of run()'s last command

def run(argv, base_url=None, stdout=subprocess.DEVNULL, what=None, ok=(0,), limit=900):
    """Runs argv under the measuring helper: wall s, CPU s (user+sys), peak RSS KiB. An exit
    status not in ok, or a run longer than limit seconds, ends the bench."""
    global last_exit
    usage, errf = os.path.join(work, "usage"), os.path.join(work, "stderr")
    with open(errf, "w+b") as err:
        # a session of its own: on a time-out the helper and the command end together
        p = subprocess.Popen([measure, usage, *argv], env=kl_env(base_url), stdout=stdout, stderr=err,
                             start_new_session=True)
        try:
            p.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            sys.exit(f"bench: {what or argv[0]} ran longer than {limit} s: stopped")
        wall, cpu, rss, status = open(usage).read().split()
        last_exit = int(status)
        if p.returncode != 0 or last_exit not in ok:
            err.seek(0)
            sys.exit(f"bench: {what or argv[0]} exited {status}: {err.read().decode(errors='replace')[-2000:]}")
        err.seek(0)
        return float(wall), float(cpu), int(rss), err.read().decode(errors="replace")

def kl(args, base_url, **kw):
    return run([binary, *args, "--no-config", "--token-file", token_of[base_url]], base_url, **kw)

def sandbox_requests(base_url):
    with urllib.request.urlopen(base_url + "/_sandbox/requests", timeout=120) as r:
        return json.load(r)

def control(base_url, method, path, obj=None):
    """The sandbox's control API (loopback, neither logged nor rate limited)."""
    data = json.dumps(obj).encode() if obj is not None else (b"" if method != "GET" else None)
    req = urllib.request.Request(base_url + "/_sandbox/" + path, data=data, method=method)
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)

def last_seq(base_url):
    return max((r["seq"] for r in sandbox_requests(base_url)), default=0)

def sandbox_reset(base_url):
    """Forgets the leads and contacts the sandbox holds (its request log stays)."""
    req = urllib.request.Request(base_url + "/_sandbox/reset", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=120) as r:
        r.read()

def make_csv(path, n, start=0):
    with open(path, "w", encoding="utf-8") as f:
        f.write("name,last_name,phone,email,utm_source,utm_campaign\n")
        for i in range(start, start + n):
            f.write(f"Иван{i},Петров,+7999{i:07d},ivan{i}@example.com,google,весна-2026\n")

def created(stderr):
    """The created count from kommo-lead's summary line."""
    m = re.search(r"rows read: (\d+) created", stderr)
    return int(m.group(1)) if m else 0

def rejected(stderr):
    """The rejected count from kommo-lead's summary line."""
    m = re.search(r"rows read: .* (\d+) rejected,", stderr)
    return int(m.group(1)) if m else 0

def skipped(stderr):
    """The skipped count from kommo-lead's summary line."""
    m = re.search(r"rows read: .* (\d+) skipped;", stderr)
    return int(m.group(1)) if m else 0

def csv_rows(path):
    """make_csv's rows as kommo-lead's CSV reader gives them (no quoting in them)."""
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            yield line.rstrip("\n").split(",")

def state_keys(path):
    """The row keys of a CSV as kommo-lead's journal makes them (src/core/journal.c): the MD5 of the
    hex MD5 of the row's fields, each as its length in bytes, ':' and itself, then '#' and how
    many identical rows came before it (none: make_csv's rows all differ)."""
    for fields in csv_rows(path):
        content = b"".join(b"%d:%s" % (len(b), b) for b in (f.encode() for f in fields))
        yield hashlib.md5(hashlib.md5(content).hexdigest().encode() + b"#0").hexdigest()

def write_state(path, csv_path):
    """A state file as an import of csv_path that created every row writes it: for each batch
    of 50, its S lines (key, source_uid) before the request, then its C lines (key, lead id,
    contact id) after."""
    with open(path, "w", encoding="ascii") as f:
        f.write("kommo-lead-state 1\n")
        batch = []
        def flush():
            f.writelines(f"S\t{k}\t{hashlib.md5(k.encode()).hexdigest()}\n" for k, _ in batch)
            f.writelines(f"C\t{k}\t{30_000_000 + i}\t{60_000_000 + i}\n" for k, i in batch)
            batch.clear()
        for i, key in enumerate(state_keys(csv_path)):
            batch.append((key, i))
            if len(batch) == 50:
                flush()
        flush()

def per_row(kib, base_kib, n):
    """Peak memory, and how much more than base_kib that is a row."""
    return f"{kib / 1024:.1f} MiB (+{(kib - base_kib) * 1024 / n:.0f} B/row)"

def whole_groups(times):
    """(k, span): k, the most requests that are a whole number of groups of 7, and the seconds from
    the first request to the one after them. k / span is the sustained rate: a limiter keeping 7 in
    any 1.1 s gives 6.36 whatever the spacing within groups, while counting a part of a group (its
    first requests can come close together) would read higher, and counting to the last request
    would count the last group's requests over none of its interval."""
    k = 7 * ((len(times) - 1) // 7)
    return k, (times[k] - times[0] if k > 0 else 0.0)

def median_gap(times):
    gaps = [b - a for a, b in zip(times, times[1:])]
    return statistics.median(gaps) if gaps else float("nan")

# --- the machine -----------------------------------------------------------------------------
def first(path, pattern, default="unknown"):
    try:
        for line in open(path, encoding="utf-8", errors="replace"):
            m = re.match(pattern, line)
            if m:
                return m.group(1).strip()
    except OSError:
        pass
    return default

cpu_model = first("/proc/cpuinfo", r"model name\s*:\s*(.*)")
mem_gib = int(first("/proc/meminfo", r"MemTotal:\s*(\d+)", "0")) / 2**20
debian = first("/etc/debian_version", r"(.*)")
src_bin = os.environ.get("BENCH_SRC_BIN", "build/kommo-lead")
cache = os.path.join(os.path.dirname(src_bin), "CMakeCache.txt")
cc = first(cache, r"CMAKE_C_COMPILER:\w+=(.*)", shutil.which("cc") or "cc")
build_type = first(cache, r"CMAKE_BUILD_TYPE:\w+=(.*)", "unknown build type")
try:
    compiler = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
except (OSError, IndexError):
    compiler = "unknown compiler"
version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split("\n")[0].strip()
curl_version = subprocess.run([curl, "--version"], capture_output=True, text=True).stdout.split()[1]
try:
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip() or "?"
except OSError:
    commit = "?"
machine = (f"Machine: {cpu_model}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, {platform.machine()}, "
           f"Linux {platform.release()}, Debian {debian}; {compiler}, {build_type}; "
           f"{version} (tree {commit}); curl {curl_version}; Python {platform.python_version()} (sandbox); "
           f"{time.strftime('%Y-%m-%d')}")

try:
    load = float(open("/proc/loadavg").read().split()[0])
    if load > 0.5:
        say(f"warning: load average {load:.2f} before starting: other work on this machine will show in the figures")
except (OSError, ValueError, IndexError):
    pass

# --- (a) one submission against one curl command -------------------------------------------
lead = ["--name", "Иван", "--last-name", "Петров", "--phone", "+79991234567",
        "--email", "ivan@example.com", "--utm-source", "google", "--utm-campaign", "весна-2026"]
body = os.path.join(work, "body.json")
with open(body, "wb") as f:
    kl([*lead, "--dry-run"], fast, stdout=f)
with open(body, "rb") as f:
    data = f.read().rstrip(b"\n")
with open(body, "wb") as f:
    f.write(data)
headers = os.path.join(work, "headers")  # read by curl from a file: the token stays out of argv
with open(token_of[fast], encoding="utf-8") as f:
    token = f.read().strip()
with os.fdopen(os.open(headers, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
    f.write(f"Authorization: Bearer {token}\nContent-Type: application/json\n"
            f"Accept: application/json\nUser-Agent: kommo-lead/{version.split()[-1]}\nExpect:\n")
curl_argv = [curl, "-q", "-sS", "--fail", "-o", "/dev/null", "--compressed", "-H", f"@{headers}",
             "--data-binary", f"@{body}", fast + forms]
say(f"(a) {runs} submissions each, kommo-lead and curl, interleaved")
walls, rsss = {"kl": [], "curl": []}, {"kl": [], "curl": []}
kl_next = 0.0
for i in range(runs + 2):
    for who in (("kl", "curl") if i % 2 == 0 else ("curl", "kl")):
        if who == "kl":
            # submit takes a start from the account's budget (7 in any 1.1 s, no --rate to lift
            # it): spaced so that none waits for one, a submission's own cost is measured
            time.sleep(max(0.0, kl_next - time.monotonic()))
            kl_next = time.monotonic() + 1.1 / 7 + 0.01
            w, _, m, _ = kl(lead, fast)
        else:
            w, _, m, _ = run(curl_argv, what="curl")
        if i >= 2:  # two warm-up rounds: page cache, the sandbox's first connections
            walls[who].append(w)
            rsss[who].append(m)
reqs = sandbox_requests(fast)
seq_a = max((r["seq"] for r in reqs), default=0)
posted = [r for r in reqs if r["path"] == forms]
if any(r["status"] != 200 for r in posted):
    sys.exit("bench: a submission in (a) was not answered 200")
# the last two requests are one of each; their headers must match but for the length
def hdrs(r):
    return {k: v for k, v in r["headers"].items() if k not in ("content-length", "host")}
if hdrs(posted[-1]) != hdrs(posted[-2]):
    say(f"warning: curl and kommo-lead sent different headers: {hdrs(posted[-1])} vs {hdrs(posted[-2])}")
kl_wall, curl_wall = statistics.median(walls["kl"]), statistics.median(walls["curl"])
kl_rss, curl_rss = statistics.median(rsss["kl"]), statistics.median(rsss["curl"])

# --- (b) import with the rate limit off ------------------------------------------------------
rows_csv = os.path.join(work, "rows.csv")
make_csv(rows_csv, rows)
say(f"(b) importing {rows:,} rows into the sandbox")
b_wall, b_cpu, b_rss, b_err = kl(["import", "--no-progress", "--rate", "0", "--batch-size", "50", rows_csv], fast)
if created(b_err) != rows:
    sys.exit(f"bench: (b) created {created(b_err)} of {rows} rows: {b_err[-1000:]}")
reqs = [r for r in sandbox_requests(fast) if r["seq"] > seq_a]
b_sent = len(reqs)
b_ok = sum(1 for r in reqs if r["status"] == 200)
b_gap = median_gap(sorted(r["time"] for r in reqs))
del reqs

# --- (e) --state: (b)'s import again, with a new state file, then a rerun with it --------------
sandbox_reset(fast)  # (b)'s leads: the Python sandbox needs a gigabyte or so for each 100,000
e_state = os.path.join(work, "e.state")
say(f"(e) importing {rows:,} rows with --state, then again")
_, _, e_rss, e_err = kl(["import", "--no-progress", "--rate", "0", "--batch-size", "50", "--state", e_state, rows_csv], fast)
if created(e_err) != rows:
    sys.exit(f"bench: (e) created {created(e_err)} of {rows} rows: {e_err[-1000:]}")
seq_e = max((r["seq"] for r in sandbox_requests(fast)), default=0)
_, _, e_rerun_rss, e_err = kl(["import", "--no-progress", "--rate", "0", "--batch-size", "50", "--state", e_state, rows_csv], fast)
e_sent = sum(1 for r in sandbox_requests(fast) if r["seq"] > seq_e and r["path"] == forms)
if skipped(e_err) != rows or e_sent:
    sys.exit(f"bench: (e) the rerun skipped {skipped(e_err)} of {rows} rows and sent {e_sent} requests: {e_err[-1000:]}")
# the bench's state file writer makes the same keys as kommo-lead (the journal is SQLite now:
# its rows come in key order, so compared as sets)
with contextlib.closing(sqlite3.connect(e_state)) as db:
    real_keys = {k for (k,) in db.execute("SELECT lower(hex(key)) FROM row")}
if real_keys != set(state_keys(rows_csv)):
    sys.exit("bench: (e) the bench's row keys are not kommo-lead's: update state_keys() to match src/core/journal.c")
del real_keys
os.unlink(rows_csv)

# --- (c) memory on a big input, --dry-run ----------------------------------------------------
big_csv = os.path.join(work, "big.csv")
make_csv(big_csv, big_rows)
say(f"(c) {big_rows:,} rows with --dry-run")
c_wall, c_cpu, c_rss, _ = kl(["import", "--no-progress", "--dry-run", big_csv], fast)

# --- (e) --state, a big input, --dry-run ------------------------------------------------------
say(f"(e) {big_rows:,} rows with --dry-run and a new state file")
big_state = os.path.join(work, "big.state")
_, _, e_big_rss, _ = kl(["import", "--no-progress", "--dry-run", "--state", big_state, big_csv], fast)
os.unlink(big_state)
say(f"(e) {big_rows:,} rows with --dry-run and a state file holding them all")
write_state(big_state, big_csv)
_, _, e_big_rerun_rss, e_err = kl(["import", "--no-progress", "--dry-run", "--state", big_state, big_csv], fast)
if skipped(e_err) != big_rows:
    sys.exit(f"bench: (e) the rerun of {big_rows:,} rows skipped {skipped(e_err):,}: {e_err[-1000:]}")
say(f"(e) {big_rows:,} rows with --dry-run and that state file, converted to SQLite by the run before")
_, _, e_big_rerun2_rss, e_err = kl(["import", "--no-progress", "--dry-run", "--state", big_state, big_csv], fast)
if skipped(e_err) != big_rows:
    sys.exit(f"bench: (e) the second rerun of {big_rows:,} rows skipped {skipped(e_err):,}: {e_err[-1000:]}")
os.unlink(big_state)
os.unlink(big_csv)

# --- (m) peak memory of every command ---------------------------------------------------------
wide_mb = knob("BENCH_WIDE_MB", 60, 15)

def make_wide_csv(path, mb, ncols=10_000):
    """Rows of ncols one-letter fields (about 20 KB a row) up to mb MB, every tenth with a phone
    that fails its check: --rejects keeps each row's fields as read until its batch is decided."""
    n = mb * 1_000_000 // (2 * ncols)
    filler = ",".join("x" * (ncols - 2))
    with open(path, "w", encoding="utf-8") as f:
        f.write("name,phone," + ",".join(f"c{j}" for j in range(3, ncols + 1)) + "\n")
        for i in range(n):
            f.write(f"W{i},{'12ab' if i % 10 == 0 else f'+7977{i:07d}'},{filler}\n")
    return n, (n + 9) // 10

def memory_of_commands():
    """Peak memory of each command kommo-lead has, on inputs and replies as big as it takes."""
    out = {}
    sandbox_reset(fast)
    wide_csv, rej = os.path.join(work, "wide.csv"), os.path.join(work, "rejects.csv")
    n, bad = make_wide_csv(wide_csv, wide_mb)
    say(f"(m) import of {os.path.getsize(wide_csv) / 1e6:.0f} MB, {n:,} rows of 10,000 fields, with --rejects")
    _, _, out["wide"], err = kl(["import", "--no-progress", "--rate", "0", "--ignore-unknown-columns",
                                 "--rejects", rej, wide_csv], fast, ok=(65,))
    if created(err) != n - bad or rejected(err) != bad:
        sys.exit(f"bench: (m) the wide import created {created(err)} of {n - bad} and rejected "
                 f"{rejected(err)} of {bad}: {err[-1000:]}")
    with open(rej, encoding="utf-8") as f:
        if sum(1 for _ in f) != bad + 1:
            sys.exit("bench: (m) the rejects file does not hold every rejected row")
    os.unlink(wide_csv)
    os.unlink(rej)
    sandbox_reset(fast)
    say("(m) check, fields, fields against 10,100 fields")
    _, _, out["check"], _ = kl(["check"], fast)
    _, _, out["fields"], _ = kl(["fields"], fast)
    control(fast, "POST", "fields", {"entity": "lead", "count": 10_100})
    _, _, out["fields_long"], err = kl(["fields"], fast, ok=(76,))
    if "past 10000 entries" not in err:
        sys.exit(f"bench: (m) fields against 10,100 fields did not stop at 10,000: {err[-1000:]}")
    sandbox_reset(fast)
    found = {}
    for kind in ("leads", "contacts"):
        control(fast, "POST", kind, [{"name": f"Bench {kind} {i}"} for i in range(10_000)])
        say(f"(m) {kind} search finding 10,000")
        listing = os.path.join(work, "found.json")
        with open(listing, "wb") as f:
            _, _, out[kind], _ = kl([kind, "search", "Bench", "--limit", "10000", "--json"], fast, stdout=f)
        with open(listing, encoding="utf-8") as f:
            found[kind] = len(json.load(f))
        if found[kind] != 10_000:
            sys.exit(f"bench: (m) {kind} search found {found[kind]} of 10,000")
    sandbox_reset(fast)
    out["wide_rows"] = n
    return out

mem = memory_of_commands()

# --- (d) against 7 requests per second -------------------------------------------------------
d_rows = 50 * 7 * rate_secs  # kommo-lead keeps to 7 starts per 1.1 s: about rate_secs seconds
d_csv = os.path.join(work, "rate.csv")
make_csv(d_csv, d_rows)
say(f"(d) {d_rows:,} rows against a sandbox enforcing 7 requests/s")
d_wall, _, _, d_err = kl(["import", "--no-progress", "--batch-size", "50", d_csv], limited)
reqs = [r for r in sandbox_requests(limited) if r["path"] == forms]
times = sorted(r["time"] for r in reqs)
# Requests go in groups of 7 (Kommo counts per second), each group 1.1 s after the one before
# (kommo-lead's 100 ms margin): counted over whole groups (whole_groups). Ideal: 7 / 1.1 = 6.36.
k, d_span = whole_groups(times)
d_rps = k / d_span if d_span > 0 else float("nan")
# Leads over the same interval: those the same k requests created (a 429 creates none); ideal
# 6.36 x 50 = 318. Not all leads created over the wall time: n groups take n-1 intervals of
# 1.1 s and then only the last group's few milliseconds, so that counts n groups' leads over
# n-1 intervals (with n = 10, 374 where 340 is the most possible).
by_time = sorted(reqs, key=lambda r: r["time"])[:k]
d_lps = (sum(len(json.loads(r.get("body") or "[]")) for r in by_time if r["status"] == 200) / d_span
         if d_span > 0 else float("nan"))
d_densest = max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
d_429 = sum(1 for r in reqs if r["status"] == 429)
d_created = created(d_err)
if d_created != d_rows:
    say(f"warning: (d) created {d_created:,} of {d_rows:,} rows: {d_err[-500:]}")

# --- (f) two imports and a dozen submits at once, one account, 7 requests/s ------------------
def shared_account():
    """Two imports (batches of 50) and twelve submits, started together with one HOME."""
    n = knob("BENCH_SHARED_ROWS", 1_500, 500)
    sandbox_reset(limited)
    seq = last_seq(limited)
    csvs = [os.path.join(work, f"shared{j}.csv") for j in range(2)]
    for j, path in enumerate(csvs):
        make_csv(path, n, start=(j + 1) * 1_000_000)
    say(f"(f) two imports of {n:,} rows (batches of 50) and 12 submits at once, against 7 requests/s")
    common = ["--no-config", "--token-file", token_of[limited]]
    argvs = [[binary, "import", "--no-progress", "--batch-size", "50", *common, p] for p in csvs]
    argvs += [[binary, *lead[:2], "--phone", f"+7978{i:07d}", *common] for i in range(12)]
    errs = [open(os.path.join(work, f"shared{i}.err"), "w+b") for i in range(len(argvs))]
    t0 = time.monotonic()
    procs = [subprocess.Popen(a, env=kl_env(limited), stdout=subprocess.DEVNULL, stderr=e)
             for a, e in zip(argvs, errs)]
    try:
        codes = [p.wait(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    wall = time.monotonic() - t0
    texts = []
    for e in errs:
        e.seek(0)
        texts.append(e.read().decode(errors="replace"))
        e.close()
    if any(codes) or any(created(t) != n for t in texts[:2]):
        sys.exit(f"bench: (f) exits {codes}: {[t[-300:] for t in texts if t]}")
    reqs = [r for r in sandbox_requests(limited) if r["seq"] > seq]
    times = sorted(r["time"] for r in reqs)
    # as in (d): over all but the last 7, the rate of any 7 starts in their 1.1 s
    k, span = whole_groups(times)
    for p in csvs:
        os.unlink(p)
    return {"rows": n, "reqs": len(reqs), "wall": wall, "span": times[-1] - times[0],
            "rps": k / span if span > 0 else float("nan"),
            "r429": sum(1 for r in reqs if r["status"] == 429),
            "densest": max(sum(1 for u in times if t <= u < t + 1.0) for t in times)}

sh = shared_account()

# --- (g) --batch-size auto against 7 requests/s ----------------------------------------------
QUICK_FORMS = {"forms_base_ms": 20, "forms_ms_per_item": 0.2}

def batch_sizes(seq):
    """(status, items) of each unsorted/forms request after seq, in arrival order."""
    return [(r["status"], len(json.loads(r.get("body") or "[]")))
            for r in sandbox_requests(limited) if r["seq"] > seq and r["path"] == forms]

def auto_import(path, n, modes, extra=()):
    sandbox_reset(limited)
    control(limited, "PATCH", "modes", {**QUICK_FORMS, **modes})
    seq = last_seq(limited)
    wall, _, rss, err = kl(["import", "--no-progress", "--batch-size", "auto", *extra, path], limited)
    if created(err) != n:
        sys.exit(f"bench: (g) created {created(err)} of {n}: {err[-1000:]}")
    reqs = [r for r in sandbox_requests(limited) if r["seq"] > seq]
    lookups = sum(1 for r in reqs if r["method"] == "GET" and r["path"].startswith("/api/v4/leads/unsorted?"))
    return wall, rss, batch_sizes(seq), sum(1 for r in reqs if r["status"] == 429), lookups

def growth(sent):
    """The sizes of the 200-answered batches until the first of the largest: 50→75→…"""
    sizes = [k for s, k in sent if s == 200]
    top = sizes.index(max(sizes)) if sizes else 0
    return "→".join(str(k) for k in sizes[:top + 1])

def batch_auto():
    n = knob("BENCH_AUTO_ROWS", 20_000, 5_000)
    path = os.path.join(work, "auto.csv")
    make_csv(path, n, start=3_000_000)
    say(f"(g) {n:,} rows, --batch-size auto, against 7 requests/s")
    wall, rss, sent, r429, _ = auto_import(path, n, {})
    g = {"rows": n, "wall": wall, "rss": rss, "reqs": len(sent), "grew": growth(sent), "r429": r429,
         "at250": sum(1 for s, k in sent if s == 200 and k == 250)}
    say(f"(g) the same, the sandbox refusing batches of more than 100 (504)")
    wall, g["capped_rss"], sent, g["capped_429"], g["capped_lookups"] = auto_import(
        path, n, {"forms_max_batch": 100}, ("--timeout", "1"))
    uids = collections.Counter(x["source_uid"] for x in control(limited, "GET", "unsorted"))
    first504 = next((i for i, (s, _) in enumerate(sent) if s == 504), len(sent))
    after = [k for s, k in sent[first504:] if s == 200]
    g.update(capped_wall=wall, capped_reqs=len(sent), capped_504=sum(1 for s, _ in sent if s == 504),
             capped_once=len(uids) == n and max(uids.values()) == 1, capped_uids=len(uids),
             capped_grew=growth(sent[:first504]), capped_refused=sent[first504][1] if after else 0,
             capped_max=max(after, default=0),
             capped_median=statistics.median(after) if after else 0)
    os.unlink(path)
    sandbox_reset(limited)
    return g

g = batch_auto()

# --- the table -------------------------------------------------------------------------------
ind = "&nbsp;&nbsp;"
def ms(s):
    return f"{s * 1000:.1f} ms"
def mib(k):
    return f"{k / 1024:.1f} MiB"
table = [
    (f"one submission, median of {runs} runs each, interleaved: wall time, kommo-lead", ms(kl_wall)),
    (f"{ind}wall time, `curl` posting the same body with the same headers", ms(curl_wall)),
    (f"{ind}kommo-lead ÷ curl", f"{kl_wall / curl_wall:.2f}"),
    (f"{ind}peak memory, kommo-lead", mib(kl_rss)),
    (f"{ind}peak memory, `curl`", mib(curl_rss)),
    (f"{ind}kommo-lead ÷ curl", f"{kl_rss / curl_rss:.2f}"),
    (f"import {rows:,} rows, `--rate 0`, batches of 50: rows/s", f"{rows / b_wall:,.0f}"),
    (f"{ind}CPU microseconds per row (kommo-lead only, user+sys)", f"{b_cpu / rows * 1e6:.1f}"),
    (f"{ind}requests sent (the sandbox's count; answered 200)", f"{b_sent:,} ({b_ok:,})"),
    (f"{ind}time per request, median (of it kommo-lead's CPU: {ms(b_cpu / b_sent)})", ms(b_gap)),
    (f"{ind}peak memory", mib(b_rss)),
    (f"peak memory, {big_rows:,} rows (`--dry-run`: no sandbox)", mib(c_rss)),
    (f"{ind}rows/s with `--dry-run`", f"{big_rows / c_wall:,.0f}"),
    (f"import {rows:,} rows as above with `--state`, a new state file: peak memory (+ a row over no `--state`)",
     per_row(e_rss, b_rss, rows)),
    (f"{ind}again with that state file (a rerun: every row skipped, nothing sent)", per_row(e_rerun_rss, b_rss, rows)),
    (f"peak memory, {big_rows:,} rows with `--state`, a new state file (`--dry-run`; + a row over no `--state`)",
     per_row(e_big_rss, c_rss, big_rows)),
    (f"{ind}with a text-format state file holding every row as created (converted; every row skipped)",
     per_row(e_big_rerun_rss, c_rss, big_rows)),
    (f"{ind}again with that file, now SQLite (a rerun: every row skipped)",
     per_row(e_big_rerun2_rss, c_rss, big_rows)),
    (f"against 7 requests/s, {d_rows:,} rows in batches of 50 ({d_wall:.0f} s): requests/s, sustained (ideal 7/1.1 = 6.36)",
     f"{d_rps:.2f}"),
    (f"{ind}leads/s, sustained (created by the same requests, over the same interval)", f"{d_lps:.0f}"),
    (f"{ind}most requests in any 1 s window (Kommo allows 7)", f"{d_densest}"),
    (f"{ind}429s received", f"{d_429}"),
    (f"against 7 requests/s, one HOME: two imports of {sh['rows']:,} rows (`--batch-size 50`, for many requests) "
     f"and 12 submits, all at once ({sh['reqs']} requests, {sh['span']:.1f} s): 429s received (goal 0)", f"{sh['r429']}"),
    (f"{ind}requests/s of them all, sustained (goal ≥ 5.95, 85% of 7; ideal 6.36)", f"{sh['rps']:.2f}"),
    (f"{ind}most requests in any 1 s window (Kommo allows 7)", f"{sh['densest']}"),
    (f"against 7 requests/s, {g['rows']:,} rows, `--batch-size auto`, a sandbox answering 250 rows in 70 ms: "
     f"leads/s (goal ≥ 1,500; ideal 250 × 6.36 = 1,590)", f"{g['rows'] / g['wall']:,.0f}"),
    (f"{ind}batch sizes (then {g['at250']} of 250; {g['reqs']} requests, {g['r429']} 429s)", g["grew"]),
    (f"{ind}the same, the sandbox refusing batches over 100 (504), `--timeout 1`: leads/s", f"{g['rows'] / g['capped_wall']:,.0f}"),
    (f"{ind}{ind}every row created once (the sandbox's distinct source_uids)",
     f"{'yes' if g['capped_once'] else 'NO'} ({g['capped_uids']:,})"),
    (f"{ind}{ind}batch sizes until the first 504 (at {g['capped_refused']}); 504s in all, of {g['capped_reqs']} batches",
     f"{g['capped_grew']}; {g['capped_504']}"),
    (f"{ind}{ind}requests looking up what a 504 left (GET /api/v4/leads/unsorted, pages of 250; 429s: {g['capped_429']})",
     f"{g['capped_lookups']:,}"),
    (f"{ind}{ind}largest batch answered 200 after the first 504 (median)", f"{g['capped_max']} ({g['capped_median']:.0f})"),
]
def goal(k):
    return mib(k) + ("" if k < 64 * 1024 else " (over 64 MiB)")
table += [
    ("peak memory of each command (goal: under 64 MiB): submit (as above)", goal(kl_rss)),
    (f"{ind}import, {rows:,} rows (as above)", goal(b_rss)),
    (f"{ind}import, {wide_mb} MB of rows of 10,000 one-letter fields ({mem['wide_rows']:,} rows, a tenth rejected), `--rejects`",
     goal(mem["wide"])),
    (f"{ind}import, {big_rows:,} rows, `--dry-run` (as above)", goal(c_rss)),
    (f"{ind}import, {big_rows:,} rows, `--dry-run --state`, a new state file (as above)", goal(e_big_rss)),
    (f"{ind}{ind}a state file holding every row (as above)", goal(e_big_rerun2_rss)),
    (f"{ind}import, {g['rows']:,} rows, `--batch-size auto` against 7 requests/s (as above)", goal(g["rss"])),
    (f"{ind}check", goal(mem["check"])),
    (f"{ind}fields", goal(mem["fields"])),
    (f"{ind}fields against 10,100 lead fields (stops at 10,000 entries, exit 76)", goal(mem["fields_long"])),
    (f"{ind}leads search, 10,000 found (`--limit 10000 --json`)", goal(mem["leads"])),
    (f"{ind}contacts search, 10,000 found (`--limit 10000 --json`)", goal(mem["contacts"])),
]
print(machine)
print()
print("| measure | value |")
print("|---|---:|")
for k, v in table:
    print(f"| {k} | {v} |")
PY
