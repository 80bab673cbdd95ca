#!/usr/bin/env bash
# musl-check.sh - builds libreactor and its examples with musl libc
# (musl-gcc, Debian's musl-tools) and runs what needs no cmocka, which has no
# musl build:
#
#   1. the library (shared and static), the examples and tests/smoke, a
#      -Werror build with the unit tests off (REACTOR_BUILD_TESTS=OFF);
#   2. the smoke test, linked fully static against musl, on every backend;
#   3. reactor-echo and reactor-httpd (linked against the musl libreactor.so)
#      through their integration tests, tests/test_echo_server.py and
#      tests/test_http_server.py, on every backend.
#
#   scripts/musl-check.sh [BUILD_DIR]      (default build/musl)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
dir=${1:-build/musl}
jobs=$(nproc 2>/dev/null || echo 2)

command -v musl-gcc >/dev/null || {
    echo "musl-check: musl-gcc not found (Debian package musl-tools)" >&2
    exit 2
}
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
CC=musl-gcc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DREACTOR_WERROR=ON \
    -DREACTOR_BUILD_TESTS=OFF -DREACTOR_BUILD_SMOKE=ON -DREACTOR_SMOKE_STATIC=ON \
    >"$dir.configure.log" 2>&1 || {
    cat "$dir.configure.log"
    exit 1
}
cmake --build "$dir" -j "$jobs" >"$dir.build.log" 2>&1 || {
    grep -E -B2 -A6 'error|warning' "$dir.build.log" | head -n 120
    echo "musl-check: build failed (log: $dir.build.log)" >&2
    exit 1
}

smoke=$dir/tests/smoke/reactor_smoke
# A smoke test that picked up glibc would prove nothing about musl.
file -L "$smoke" | grep -q 'statically linked' || {
    echo "musl-check: $smoke is not statically linked: $(file -L "$smoke")" >&2
    exit 1
}
echo "== smoke test, static musl: $smoke"
"$smoke"

echo
echo "== the example servers (musl) through their integration tests"
backends=$(sed -n 's/^REACTOR_WITH_\([A-Z]*\):BOOL=ON$/\1/p' "$dir/CMakeCache.txt" |
    tr '[:upper:]' '[:lower:]')
failed=0
for server in echo:reactor-echo:test_echo_server.py http:reactor-httpd:test_http_server.py \
    contain:reactor-httpd:test_http_contain.py; do
    IFS=: read -r part bin script <<<"$server"
    exe=$dir/examples/$bin
    # The examples link the musl build of libreactor.so: check the loader is musl's.
    readelf -l "$exe" | grep -q 'ld-musl' || {
        echo "musl-check: $exe does not use musl's dynamic loader" >&2
        exit 1
    }
    for b in $backends; do
        log=$dir.$part-$b.log
        if python3 "tests/$script" "$exe" "$b" >"$log" 2>&1; then
            echo "$part.server.$b (musl): passed ($(tail -n 1 "$log"))"
        else
            echo "$part.server.$b (musl): FAILED (log: $log)"
            tail -n 30 "$log"
            failed=1
        fi
    done
done
exit $failed
