#!/usr/bin/env bash
# check-exports.sh LIBREACTOR_SO HEADER [ABI_LIST] - checks the shared
# library's ABI surface:
#   - its soname is libreactor.so.<major>;
#   - the functions it exports (nm -D --defined-only, any symbol type) are
#     exactly those the header declares with REACTOR_API: nothing internal
#     leaks, nothing public is missing;
#   - with ABI_LIST (cmake/abi-symbols.txt): the exported "name version"
#     pairs are exactly the checked-in list, so that a symbol that disappears
#     or changes version node fails with a diff. A library linked without the
#     version script (a linker without --version-script) has no versions: then
#     only the names are compared.
# check-exports.sh --print LIBREACTOR_SO prints the list in ABI_LIST's form,
# to update it deliberately when the ABI grows.
set -euo pipefail
fail() {
    echo "check-exports: FAIL: $*" >&2
    exit 1
}
# "name version" per exported definition; the version node itself (type A) is no symbol.
versioned() {
    nm -D --defined-only "$1" | awk 'NF == 3 && $2 != "A" {
        n = split($3, p, "@"); print p[1], (n > 1 ? p[n] : "-") }' | sort -u
}
if [ "${1:-}" = --print ]; then
    versioned "${2:?usage: check-exports.sh --print LIBREACTOR_SO}"
    exit 0
fi
lib=${1:?usage: check-exports.sh LIBREACTOR_SO HEADER [ABI_LIST]}
header=${2:?usage: check-exports.sh LIBREACTOR_SO HEADER [ABI_LIST]}
list=${3:-}
[ -f "$lib" ] || fail "no such library: $lib"
[ -f "$header" ] || fail "no such header: $header"
[ -z "$list" ] || [ -f "$list" ] || fail "no such ABI list: $list"

soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
major=$(awk '$2 == "REACTOR_VERSION_MAJOR" {print $3}' "$header")
[ "$soname" = "libreactor.so.$major" ] || fail "soname is '$soname', expected libreactor.so.$major"

# Every REACTOR_API declaration names its function just before the first '('.
declared=$(sed -n 's/^REACTOR_API[^(]*[^A-Za-z0-9_(]\([A-Za-z_][A-Za-z0-9_]*\)(.*/\1/p' "$header" | sort -u)
exported=$(versioned "$lib" | awk '{print $1}' | sort -u)
[ -n "$declared" ] || fail "found no REACTOR_API declaration in $header"

leaked=$(comm -13 <(echo "$declared") <(echo "$exported"))
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
[ -z "$leaked" ] || fail "exported but not declared in $(basename "$header"):"$'\n'"$leaked"
[ -z "$missing" ] || fail "declared but not exported:"$'\n'"$missing"
foreign=$(nm -D --defined-only "$lib" | awk '$2 == "T" && $3 !~ /^reactor_/ {print $3}')
[ -z "$foreign" ] || fail "functions without the reactor_ prefix are exported:"$'\n'"$foreign"
echo "check-exports: $(basename "$lib"): soname $soname, exports exactly the $(echo "$declared" | wc -l) REACTOR_API functions"

[ -n "$list" ] || exit 0
want=$(grep -v -e '^#' -e '^[[:space:]]*$' "$list" | sort -u)
have=$(versioned "$lib")
how="without versions"
if echo "$have" | awk '$2 != "-" {v = 1} END {exit v}'; then
    # No version node at all: the linker did not take the version script.
    want=$(echo "$want" | awk '{print $1, "-"}')
else
    how="with versions"
fi
if [ "$want" != "$have" ]; then
    echo "check-exports: FAIL: the exported ABI differs from $(basename "$list") (- listed, + exported):" >&2
    diff -u --label "$(basename "$list")" --label "$(basename "$lib")" \
        <(echo "$want") <(echo "$have") | tail -n +3 >&2 || true
    echo "check-exports: a removed or re-versioned symbol breaks programs linked against" \
        "libreactor.so.$major: keep it, or bump the major version (soname). For a new" \
        "function: add it to $(basename "$list") (check-exports.sh --print LIB prints the list)." >&2
    exit 1
fi
echo "check-exports: $(basename "$lib"): the $(echo "$have" | wc -l) exported symbols match $(basename "$list") $how"
