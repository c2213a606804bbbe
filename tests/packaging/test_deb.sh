#!/usr/bin/env bash
# Builds the .deb with cpack from a build directory and checks it without
# installing it: its control fields and Depends (and that apt, simulating,
# could install it here), exactly which files it holds
# and their modes, that its md5sums are right, and, unpacked into a temporary
# directory, that its kommo-lead runs, its man page renders, its copyright and
# changelog.Debian.gz say what LICENSE and doc/debian/changelog say, and that
# lintian finds no errors in it (its warnings are listed).
#
#   test_deb.sh BUILD_DIR SOURCE_DIR      (CPACK=path/to/cpack, default cpack)
# Exit 77 (skipped) where there is no dpkg-deb.
set -euo pipefail
build=$(realpath "${1:?usage: test_deb.sh BUILD_DIR SOURCE_DIR}")
src=$(realpath "${2:?usage: test_deb.sh BUILD_DIR SOURCE_DIR}")
cpack=${CPACK:-cpack}
command -v dpkg-deb >/dev/null || { echo "no dpkg-deb: not a Debian system; skipped"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail()
{
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# --- build it ---------------------------------------------------------------
if ! "$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1; then
    cat "$tmp/cpack.log" >&2
    echo "FAIL: cpack could not build the .deb" >&2
    exit 1
fi
debs=("$tmp"/out/*.deb)
[[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || { echo "FAIL: expected one .deb, got: ${debs[*]}" >&2; exit 1; }
deb=${debs[0]}
version=$(sed -n 's/^#define KL_VERSION "\(.*\)"$/\1/p' "$src/include/util/kl_version.h")
# the package's version is the changelog's top entry: the program's, and a Debian revision
debversion=$(dpkg-parsechangelog -l "$src/doc/debian/changelog" -S Version)
[[ ${debversion%-*} == "$version" && ${debversion##*-} =~ ^[0-9]+$ ]] ||
    fail "doc/debian/changelog's top entry is $debversion, expected $version-N (kl_version.h says $version)"
arch=$(dpkg --print-architecture)
[[ $(basename "$deb") == "kommo-lead_${debversion}_${arch}.deb" ]] ||
    fail "the package file is $(basename "$deb"), expected kommo-lead_${debversion}_${arch}.deb"

# --- control fields ---------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == kommo-lead ]] || fail "Package: $(field Package)"
[[ $(field Version) == "$debversion" ]] || fail "Version: $(field Version), doc/debian/changelog says $debversion"
[[ $(field Architecture) == "$arch" ]] || fail "Architecture: $(field Architecture)"
[[ $(field Section) == utils ]] || fail "Section: $(field Section)"
[[ $(field Maintainer) =~ ^[^\<]+\ \<[^@\>]+@[^\>]+\>$ ]] || fail "Maintainer is not 'Name <email>': $(field Maintainer)"
description=$(field Description)
[[ $(head -n1 <<<"$description") == *Kommo* ]] || fail "Description's summary: $(head -n1 <<<"$description")"
(($(wc -l <<<"$description") > 1)) || fail "Description has no long text"
awk 'length > 80 { bad = 1 } END { exit bad }' <<<"$description" || fail "Description has lines over 80 characters"

# Depends: one of each runtime library kommo-lead links (t64: Debian 13's names)
depends=$(field Depends)
echo "Depends: $depends"
names=" $(tr ',|' '\n' <<<"$depends" | sed 's/(.*//; s/^ *//; s/ *$//' | tr '\n' ' ') "
for want in "libcurl4 libcurl4t64" "libcjson1" "libssl3 libssl3t64" "libcsv3" "libc6"; do
    found=
    for alt in $want; do [[ $names == *" $alt "* ]] && found=1; done
    [[ -n $found ]] || fail "Depends names none of: $want ($depends)"
done
[[ $names != *asan* && $names != *ubsan* ]] || fail "Depends names a sanitizer runtime: $depends"
# CURLOPT_PROTOCOLS_STR and the rest need libcurl 7.85: an older one would install and then fail
grep -Eq '(^|, )libcurl4(t64)? \(>= 7\.85\.0\)' <<<"$depends" ||
    fail "Depends does not ask for libcurl 7.85 or later: $depends"
# apt can satisfy what it asks for here (a simulation: nothing is installed)
if command -v apt-get >/dev/null; then
    if apt-get install -s "$deb" >"$tmp/apt.log" 2>&1; then
        grep -q '^Inst kommo-lead ' "$tmp/apt.log" || fail "apt-get install -s would not install kommo-lead: $(cat "$tmp/apt.log")"
    else
        fail "apt-get install -s refuses the package: $(tail -5 "$tmp/apt.log")"
    fi
fi

# --- contents: exactly these files, owned by root ----------------------------
dpkg-deb -c "$deb" >"$tmp/contents"
expected="-rwxr-xr-x ./usr/bin/kommo-lead
-rw-r--r-- ./usr/share/bash-completion/completions/kommo-lead
-rw-r--r-- ./usr/share/doc/kommo-lead/README.md
-rw-r--r-- ./usr/share/doc/kommo-lead/changelog.Debian.gz
-rw-r--r-- ./usr/share/doc/kommo-lead/config.example.env
-rw-r--r-- ./usr/share/doc/kommo-lead/copyright
-rw-r--r-- ./usr/share/man/man1/kommo-lead.1.gz"
got=$(awk '$1 !~ /^d/ { print $1, $6 }' "$tmp/contents" | LC_ALL=C sort -k2)
[[ $got == "$expected" ]] || fail "the package holds:
$got
expected:
$expected"
awk '$2 != "root/root" { print; bad = 1 } END { exit bad }' "$tmp/contents" >&2 ||
    fail "entries not owned by root/root (above)"
awk '$6 !~ /^\.\/usr\// { print; bad = 1 } END { exit bad }' "$tmp/contents" >&2 ||
    fail "entries outside /usr (above)"

# --- unpacked: md5sums, the files' contents -----------------------------------
dpkg-deb -x "$deb" "$tmp/root"
dpkg-deb -e "$deb" "$tmp/control"
(cd "$tmp/root" && md5sum --quiet -c "$tmp/control/md5sums") || fail "md5sums does not match the files"
[[ $(wc -l <"$tmp/control/md5sums") -eq 7 ]] || fail "md5sums lists $(wc -l <"$tmp/control/md5sums") files, expected 7"
cmp -s "$tmp/root/usr/share/doc/kommo-lead/config.example.env" "$src/config.example.env" ||
    fail "config.example.env differs from the source's"
cmp -s "$tmp/root/usr/share/bash-completion/completions/kommo-lead" "$src/completions/kommo-lead.bash" ||
    fail "the completion differs from completions/kommo-lead.bash"
gzip -t "$tmp/root/usr/share/man/man1/kommo-lead.1.gz" || fail "the man page is not valid gzip"
# gzip -n: no name or time stamp in the header, so rebuilding gives the same bytes
[[ $(od -An -tx1 -j4 -N4 "$tmp/root/usr/share/man/man1/kommo-lead.1.gz" | tr -d ' ') == 00000000 ]] ||
    fail "the man page's gzip header holds a time stamp (not gzip -n)"

# --- copyright and changelog -------------------------------------------------
doc=$tmp/root/usr/share/doc/kommo-lead
copyright=$doc/copyright
if [[ ! -f $copyright ]]; then
    fail "the package has no /usr/share/doc/kommo-lead/copyright"
else
    head -n1 "$copyright" | grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
        fail "copyright is not in Debian's machine-readable format: $(head -n1 "$copyright")"
    grep -qx 'Upstream-Name: kommo-lead' "$copyright" || fail "copyright has no 'Upstream-Name: kommo-lead'"
    grep -qx 'Files: \*' "$copyright" || fail "copyright has no 'Files: *' paragraph"
    grep -qx 'Copyright: 2026 the kommo-lead authors' "$copyright" || fail "copyright does not name 2026 the kommo-lead authors"
    grep -qx 'License: Expat' "$copyright" || fail "copyright does not say 'License: Expat' (Debian's name for MIT)"
    # the licence's text, its continuation lines undone, is LICENSE's after the copyright line
    sed -n '/^License: Expat$/,$ { /^License:/d; s/^ \.$//; s/^ //; p }' "$copyright" >"$tmp/license.deb"
    sed '1,/^Copyright (c) /d' "$src/LICENSE" | sed '1{/^$/d}' >"$tmp/license.src"
    if [[ ! -s $tmp/license.deb ]] || ! cmp -s "$tmp/license.deb" "$tmp/license.src"; then
        fail "copyright's licence text differs from LICENSE's: $(diff "$tmp/license.src" "$tmp/license.deb" | head -5)"
    fi
fi
if [[ ! -f $doc/changelog.Debian.gz ]]; then
    fail "the package has no /usr/share/doc/kommo-lead/changelog.Debian.gz"
else
    gzip -t "$doc/changelog.Debian.gz" || fail "changelog.Debian.gz is not valid gzip"
    [[ $(od -An -tx1 -j4 -N4 "$doc/changelog.Debian.gz" | tr -d ' ') == 00000000 ]] ||
        fail "changelog.Debian.gz's gzip header holds a time stamp (not gzip -n)"
    zcat "$doc/changelog.Debian.gz" | cmp -s - "$src/doc/debian/changelog" ||
        fail "changelog.Debian.gz differs from doc/debian/changelog"
fi

# --- lintian: no errors --------------------------------------------------------
if ! command -v lintian >/dev/null; then
    fail "no lintian (scripts/install-deps.sh installs it)"
elif lintian --fail-on error --tag-display-limit 0 "$deb" >"$tmp/lintian.log" 2>&1; then
    if grep -q '^[WEI]: ' "$tmp/lintian.log"; then
        echo "lintian (no errors):"
        grep '^[WEI]: ' "$tmp/lintian.log"
    fi
else
    cat "$tmp/lintian.log" >&2
    fail "lintian found errors (above)"
fi

# --- the packaged binary runs -----------------------------------------------
bin=$tmp/root/usr/bin/kommo-lead
if ldd "$bin" | grep -q 'not found'; then
    ldd "$bin" >&2
    fail "the packaged binary needs libraries that are not found"
fi
readelf -S "$bin" | grep -q '\.debug_info' && fail "the packaged binary is not stripped"
out=$(env -i PATH=/usr/bin:/bin "$bin" --version 2>&1) || fail "kommo-lead --version exited $?"
[[ $out == "kommo-lead $version" ]] || fail "kommo-lead --version printed: $out"
out=$(env -i PATH=/usr/bin:/bin "$bin" --help 2>"$tmp/help.err") || fail "kommo-lead --help exited $?"
[[ $out == "Usage: kommo-lead "* ]] || fail "kommo-lead --help printed: $(head -n2 <<<"$out")"
[[ ! -s $tmp/help.err ]] || fail "kommo-lead --help wrote to stderr: $(cat "$tmp/help.err")"
rc=0
env -i PATH=/usr/bin:/bin "$bin" --no-such-option >/dev/null 2>"$tmp/usage.err" || rc=$?
[[ $rc -eq 64 ]] || fail "kommo-lead --no-such-option exited $rc, expected 64"
grep -q '^kommo-lead: unknown option' "$tmp/usage.err" || fail "usage error: $(cat "$tmp/usage.err")"

# --- the man page renders -----------------------------------------------------
page=$tmp/root/usr/share/man/man1/kommo-lead.1.gz
if ! MANWIDTH=80 MANPAGER=cat PAGER=cat man --warnings -l "$page" >"$tmp/man.txt" 2>"$tmp/man.err"; then
    cat "$tmp/man.err" >&2
    fail "man -l could not render the packaged man page"
fi
for heading in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" FILES COPYRIGHT; do
    grep -q "^$heading" "$tmp/man.txt" || fail "the rendered man page has no $heading section"
done
grep -Eq '^ +kommo-lead +- ' "$tmp/man.txt" || fail "the man page's NAME line is not 'kommo-lead - ...'"
[[ ! -s $tmp/man.err ]] || fail "man --warnings: $(cat "$tmp/man.err")"

if ((failures)); then
    echo "$failures failures" >&2
    exit 1
fi
echo "ok: $(basename "$deb"), $(stat -c %s "$deb") bytes"
