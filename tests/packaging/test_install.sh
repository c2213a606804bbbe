#!/usr/bin/env bash
# `cmake --install BUILD_DIR --prefix DIR` puts exactly these files in DIR: the
# binary, the man page as written, the docs and the bash completion.
#
#   test_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "${1:?usage: test_install.sh BUILD_DIR SOURCE_DIR}")
src=$(realpath "${2:?usage: test_install.sh BUILD_DIR SOURCE_DIR}")
cmake=${CMAKE:-cmake}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail()
{
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

"$cmake" --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; echo "FAIL: cmake --install failed" >&2; exit 1; }
got=$(cd "$tmp/prefix" && find . -type f -printf '%m %p\n' | LC_ALL=C sort -k2)
expected="755 ./bin/kommo-lead
644 ./share/bash-completion/completions/kommo-lead
644 ./share/doc/kommo-lead/README.md
644 ./share/doc/kommo-lead/config.example.env
644 ./share/man/man1/kommo-lead.1"
[[ $got == "$expected" ]] || fail "installed:
$got
expected:
$expected"

same()
{
    cmp -s "$tmp/prefix/$1" "$src/$2" || fail "$1 differs from $2"
}
same share/man/man1/kommo-lead.1 doc/kommo-lead.1
same share/doc/kommo-lead/README.md README.md
same share/doc/kommo-lead/config.example.env config.example.env
same share/bash-completion/completions/kommo-lead completions/kommo-lead.bash
out=$("$tmp/prefix/bin/kommo-lead" --version) || fail "the installed kommo-lead --version exited $?"
[[ $out == "kommo-lead "* ]] || fail "the installed kommo-lead --version printed: $out"

if ((failures)); then
    echo "$failures failures" >&2
    exit 1
fi
echo "ok"
