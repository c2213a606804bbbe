#!/usr/bin/env bash
# Installs what is missing, builds, starts the Kommo sandbox on loopback,
# submits a lead with every field, and shows the ids and the request Kommo got.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

dir=$(mktemp -d)
trap 'scripts/sandbox-ctl stop "$dir"; rm -rf "$dir"' EXIT
url=$(env -u KOMMO_SANDBOX_TOKEN scripts/sandbox-ctl start "$dir")
echo "Kommo sandbox listening at $url"
echo

# The intermigro ids come from config.example.env; the address from the
# environment (which beats the file); the token from a file of its own.
set -x
KOMMO_BASE_URL="$url" build/kommo-lead --config config.example.env --token-file "$dir/token" \
    --name 'Иван' --last-name 'Петров' --phone '+7 (999) 123-45-67' --email ivan.petrov@example.com \
    --telegram @ivan_petrov --career 'Инженер-программист' --education 'Высшее' --income 250000 \
    --source referral --utm-medium partner --utm-campaign 'spring-2026' --verbose
{ set +x; } 2>/dev/null

echo
echo "The request the sandbox received:"
python3 - "$dir/requests.jsonl" <<'PY'
import json, sys
req = json.loads(open(sys.argv[1], encoding="utf-8").read().splitlines()[-1])
print(req["method"], req["path"], "->", req["status"])
for h in ("authorization", "content-type", "user-agent"):
    v = req["headers"].get(h, "")
    print(f"{h}: {'Bearer [redacted]' if h == 'authorization' else v}")
print(json.dumps(json.loads(req["body"]), ensure_ascii=False, indent=2))
PY
