#!/usr/bin/env bash
# check-exports.sh LIBREACTOR_SO HEADER - checks the shared library's ABI
# surface: its soname is libreactor.so.<major>, and the functions it exports
# (nm -D --defined-only, any symbol type) are exactly those the header
# declares with REACTOR_API: nothing internal leaks, nothing public is missing.
set -euo pipefail
lib=${1:?usage: check-exports.sh LIBREACTOR_SO HEADER}
header=${2:?usage: check-exports.sh LIBREACTOR_SO HEADER}
fail() {
    echo "check-exports: FAIL: $*" >&2
    exit 1
}
[ -f "$lib" ] || fail "no such library: $lib"
[ -f "$header" ] || fail "no such header: $header"

soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
major=$(awk '$2 == "REACTOR_VERSION_MAJOR" {print $3}' "$header")
[ "$soname" = "libreactor.so.$major" ] || fail "soname is '$soname', expected libreactor.so.$major"

# Every REACTOR_API declaration names its function just before the first '('.
declared=$(sed -n 's/^REACTOR_API[^(]*[^A-Za-z0-9_(]\([A-Za-z_][A-Za-z0-9_]*\)(.*/\1/p' "$header" | sort -u)
exported=$(nm -D --defined-only "$lib" | awk 'NF == 3 {print $3}' | sed 's/@.*//' | sort -u)
[ -n "$declared" ] || fail "found no REACTOR_API declaration in $header"

leaked=$(comm -13 <(echo "$declared") <(echo "$exported"))
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
[ -z "$leaked" ] || fail "exported but not declared in $(basename "$header"):"$'\n'"$leaked"
[ -z "$missing" ] || fail "declared but not exported:"$'\n'"$missing"
foreign=$(nm -D --defined-only "$lib" | awk '$2 == "T" && $3 !~ /^reactor_/ {print $3}')
[ -z "$foreign" ] || fail "functions without the reactor_ prefix are exported:"$'\n'"$foreign"
echo "check-exports: $(basename "$lib"): soname $soname, exports exactly the $(echo "$declared" | wc -l) REACTOR_API functions"
