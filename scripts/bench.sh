#!/usr/bin/env bash
# Measures kommo-lead import against the local Kommo sandbox and prints one table:
#   - throughput on 100,000 rows with the rate limit off (rows/s, CPU microseconds per row)
#   - peak memory on 1,000,000 rows (--dry-run: the same reading, checking and batching,
#     without the sandbox, whose Python would take minutes)
#   - the request rate reached against a sandbox that enforces Kommo's 7 requests/second
# Sizes can be changed: BENCH_ROWS, BENCH_BIG_ROWS, BENCH_RATE_ROWS.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
[ -x /usr/bin/time ] || KL_EXTRA_PACKAGES=time scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

work=$(mktemp -d)
trap 'scripts/sandbox-ctl stop "$work/fast" >/dev/null; scripts/sandbox-ctl stop "$work/limited" >/dev/null; rm -rf "$work"' EXIT
fast=$(env -u KOMMO_SANDBOX_TOKEN scripts/sandbox-ctl start "$work/fast" --rate-limit 0)
limited=$(env -u KOMMO_SANDBOX_TOKEN scripts/sandbox-ctl start "$work/limited")

python3 - "$work" "$fast" "$limited" <<'PY'
import json, os, platform, subprocess, sys, time

work, fast, limited = sys.argv[1:4]
binary = os.path.abspath("build/kommo-lead")
rows = int(os.environ.get("BENCH_ROWS", 100_000))
big_rows = int(os.environ.get("BENCH_BIG_ROWS", 1_000_000))
rate_rows = int(os.environ.get("BENCH_RATE_ROWS", 70))

def make_csv(path, n):
    with open(path, "w", encoding="utf-8") as f:
        f.write("name,last_name,phone,email,utm_source,utm_campaign\n")
        for i in range(n):
            f.write(f"Иван{i},Петров,+7999{i:07d},ivan{i}@example.com,google,весна-2026\n")

def run(args, base_url, sandbox_dir):
    """Runs one import under GNU time (a small parent, so the peak RSS is kommo-lead's own);
    returns wall seconds, CPU seconds and peak RSS in KiB."""
    env = {"PATH": os.environ["PATH"], "HOME": work, "KOMMO_BASE_URL": base_url}
    usage = os.path.join(work, "usage")
    with open(os.path.join(work, "stderr"), "w+b") as err:
        t = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-o", usage, "-f", "%M %U %S", binary, "import",
                            "--no-config", "--no-progress",
                            "--token-file", os.path.join(sandbox_dir, "token"), *args],
                           env=env, stdout=subprocess.DEVNULL, stderr=err)
        wall = time.monotonic() - t
        if p.returncode != 0:
            err.seek(0)
            sys.exit(f"bench: kommo-lead exited {p.returncode}: {err.read().decode()[-2000:]}")
    rss, user, sys_ = open(usage).read().split()[-3:]
    return wall, float(user) + float(sys_), int(rss)

def requests(sandbox_dir):
    with open(os.path.join(sandbox_dir, "requests.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]

big = os.path.join(work, "big.csv")
make_csv(big, big_rows)
_, _, big_rss = run(["--dry-run", big], fast, os.path.join(work, "fast"))
os.unlink(big)

small = os.path.join(work, "rows.csv")
make_csv(small, rows)
wall, cpu, rss = run(["--rate", "0", small], fast, os.path.join(work, "fast"))
with open(os.path.join(work, "fast", "requests.jsonl"), "rb") as f:
    sent = sum(1 for _ in f)  # counted, not parsed: parsing would swell this process

# one-row requests show the request rate; batches of 50 the lead rate
rate_csv = os.path.join(work, "rate.csv")
make_csv(rate_csv, rate_rows)
run(["--batch-size", "1", rate_csv], limited, os.path.join(work, "limited"))
reqs = requests(os.path.join(work, "limited"))
times = sorted(r["time"] for r in reqs)
# the sustained rate: every request after the first burst of 7, over the whole run
steady = (len(times) - 7) / (times[-1] - times[0]) if len(times) > 8 else float("nan")
densest = max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
limited_429 = sum(1 for r in reqs if r["status"] == 429)
time.sleep(1.1)  # the limiter counts within one run: runs back to back could together exceed 7/s
lead_rows = 50 * rate_rows
lead_csv = os.path.join(work, "leads.csv")
make_csv(lead_csv, lead_rows)
lead_wall, _, _ = run([lead_csv], limited, os.path.join(work, "limited"))
after = requests(os.path.join(work, "limited"))
limited_429 += sum(1 for r in after[len(reqs):] if r["status"] == 429)

cpu_model = "unknown"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
except OSError:
    pass

print(f"kommo-lead import benchmark: {platform.machine()}, {os.cpu_count()} cores, {cpu_model}")
print(f"{'measure':<58} {'value':>14}")
print(f"{'-' * 58} {'-' * 14}")
print(f"{f'import {rows:,} rows, --rate 0 (sandbox, batches of 50): rows/s':<58} {rows / wall:>14,.0f}")
print(f"{'  CPU microseconds per row (kommo-lead only)':<58} {cpu / rows * 1e6:>14.1f}")
print(f"{'  requests sent':<58} {sent:>14,}")
print(f"{'  wall time, s (mostly the Python sandbox)':<58} {wall:>14.1f}")
print(f"{'  peak memory, MiB':<58} {rss / 1024:>14.1f}")
print(f"{f'peak memory, {big_rows:,} rows (--dry-run), MiB':<58} {big_rss / 1024:>14.1f}")
print(f"{f'against 7 req/s: {rate_rows} one-row requests, requests/s':<58} {steady:>14.2f}")
print(f"{'  most requests in any 1 s window (Kommo allows 7)':<58} {densest:>14}")
print(f"{f'  {lead_rows:,} rows in batches of 50: leads/s':<58} {lead_rows / lead_wall:>14.1f}")
print(f"{'  429s received, both runs':<58} {limited_429:>14}")
PY
