#!/usr/bin/env bash
# Installs the Debian packages kommo-lead needs to build and test, if any are missing.
set -euo pipefail

packages=(gcc make cmake pkg-config python3 libcurl4-openssl-dev libcjson-dev libssl-dev
          libcsv-dev libsqlite3-dev libcmocka-dev g++ libphonenumber-dev)
# the tests: memcheck over the end-to-end tests; the openssl CLI makes the TLS
# test's certificates; the .deb test runs cpack (dpkg-shlibdeps, file) and
# renders the man page (man-db, groff) and runs lintian on the package; the
# completion is tried with and without bash-completion
packages+=(valgrind openssl dpkg-dev file man-db groff-base lintian bash-completion)
# the fuzz targets are built with clang and its libFuzzer runtime
[ "${KL_NO_FUZZ:-0}" = 1 ] || packages+=(clang libclang-rt-dev)
# shellcheck disable=SC2206
packages+=(${KL_EXTRA_PACKAGES:-})

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "kommo-lead: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
    apt=(apt-get)
elif command -v sudo >/dev/null 2>&1; then
    apt=(sudo apt-get)
else
    echo "kommo-lead: run as root, or install these first: apt-get install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
