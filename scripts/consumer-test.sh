#!/usr/bin/env bash
# consumer-test.sh [BUILD_DIR [PREFIX]] - installs a configured and built tree
# (default build/gcc) into PREFIX (default: a temporary directory, removed
# afterwards), checks the installed files, then builds and runs programs
# against the installed copy only:
#   - tests/consumer/consumer.c through pkg-config: shared, and with
#     `pkg-config --static` both with libreactor.a only and fully -static;
#   - the example program of README.md through pkg-config;
#   - tests/consumer as a CMake project: find_package(reactor) with
#     reactor::reactor and reactor::reactor_static.
# Stops at the first error and says which command failed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/gcc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'echo "consumer-test: FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR
prefix=${2:-$work/prefix}
cc=${CC:-cc}
say() { echo "consumer-test: $*"; }
die() {
    echo "consumer-test: FAILED: $*" >&2
    exit 1
}
needed() { objdump -p "$1" | awk '$1 == "NEEDED" {print $2}'; } # the shared libraries a binary needs

[ -f "$build/CMakeCache.txt" ] || die "$build is not a configured build directory"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" || {
    cat "$work/install.log" >&2
    die "cmake --install $build"
}
pc=$(find "$prefix" -path '*/pkgconfig/reactor.pc' -print -quit)
[ -n "$pc" ] || die "reactor.pc was not installed"
libdir=$(cd "$(dirname "$pc")/.." && pwd)
for f in "$prefix/include/reactor.h" "$libdir/libreactor.a" "$libdir/libreactor.so" \
    "$libdir/libreactor.so.0" "$libdir/cmake/reactor/reactorConfig.cmake" \
    "$libdir/cmake/reactor/reactorConfigVersion.cmake" "$libdir/cmake/reactor/reactorTargets.cmake"; do
    [ -e "$f" ] || die "not installed: ${f#"$prefix"/}"
done
bash "$top/cmake/check-exports.sh" "$libdir/libreactor.so" "$prefix/include/reactor.h"

# ---- pkg-config -------------------------------------------------------------
export PKG_CONFIG_PATH=$libdir/pkgconfig
header_version=$(awk '/define REACTOR_VERSION_(MAJOR|MINOR|PATCH)/ {printf "%s%s", sep, $3; sep="."}' \
    "$prefix/include/reactor.h")
[ "$(pkg-config --modversion reactor)" = "$header_version" ] ||
    die "pkg-config says version $(pkg-config --modversion reactor), reactor.h says $header_version"
[ "$(pkg-config --variable=libdir reactor)" -ef "$libdir" ] ||
    die "reactor.pc's libdir $(pkg-config --variable=libdir reactor) is not $libdir"
cflags=(-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror)
src=$top/tests/consumer/consumer.c

# shellcheck disable=SC2046 # pkg-config's output is meant to be split
"$cc" "${cflags[@]}" -o "$work/pc_shared" "$src" $(pkg-config --cflags --libs reactor)
LD_LIBRARY_PATH=$libdir "$work/pc_shared"
deps=$(LD_LIBRARY_PATH=$libdir ldd "$work/pc_shared")
[[ $deps == *"libreactor.so.0 => $libdir/libreactor.so.0"* ]] ||
    die "the shared consumer does not load $libdir/libreactor.so.0:"$'\n'"$deps"

# With both libraries installed, -lreactor picks the shared one: ask for the archive by name.
static_libs=$(pkg-config --static --libs reactor | sed 's/-lreactor\b/-l:libreactor.a/')
# shellcheck disable=SC2046,SC2086
"$cc" "${cflags[@]}" -o "$work/pc_static" "$src" $(pkg-config --static --cflags reactor) $static_libs
"$work/pc_static"
[[ $(needed "$work/pc_static") != *libreactor* ]] || die "the static consumer needs libreactor.so"
# Fully static, as README.md shows it.
# shellcheck disable=SC2046
"$cc" "${cflags[@]}" -static -o "$work/pc_full_static" "$src" $(pkg-config --static --cflags --libs reactor)
"$work/pc_full_static"

# The example program of README.md, as printed there.
awk '/^```c$/ {on = 1; next} /^```$/ && on {exit} on' "$top/README.md" >"$work/readme.c"
[ -s "$work/readme.c" ] || die "README.md has no \`\`\`c example"
# shellcheck disable=SC2046
"$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -o "$work/readme" "$work/readme.c" \
    $(pkg-config --cflags --libs reactor)
LD_LIBRARY_PATH=$libdir "$work/readme" | tee "$work/readme.out"
[ -s "$work/readme.out" ] || die "README's example printed nothing"
say "pkg-config: shared, static, fully static and README example OK"

# ---- CMake package ----------------------------------------------------------
cmake -S "$top/tests/consumer" -B "$work/cm" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" >"$work/cm.log" 2>&1 || {
    cat "$work/cm.log" >&2
    die "configuring tests/consumer with find_package(reactor)"
}
cmake --build "$work/cm" >>"$work/cm.log" 2>&1 || {
    cat "$work/cm.log" >&2
    die "building tests/consumer"
}
LD_LIBRARY_PATH=$libdir "$work/cm/consumer_shared"
"$work/cm/consumer_static"
[[ $(needed "$work/cm/consumer_static") != *libreactor* ]] ||
    die "consumer_static (reactor::reactor_static) needs libreactor.so"
say "CMake: reactor::reactor and reactor::reactor_static OK"
say "PASS"
