#!/usr/bin/env bash
# deb-test.sh - builds the Debian packages (cmake/package.cmake) in a fresh
# Release build, checks which package holds what, installs them with dpkg -i,
# builds and runs tests/consumer/consumer.c through pkg-config against the
# installed packages only, starts the installed reactor-httpd and fetches /,
# then purges the packages again (also on failure), leaving the machine as
# it was. Needs root and dpkg: as another user it fails, saying so.
#
#   bash scripts/deb-test.sh [BUILD_DIR]     (default build/deb)
# Also builds the source tarball (package_source) and checks it has no build/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/deb}
work=$(mktemp -d)
pkgs=(libreactor0 libreactor-dev reactor-examples)
server=''
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    # Only what this script installed: it refuses to run when they were present.
    if [ -f "$work/installed" ]; then
        dpkg -P "${pkgs[@]}" >"$work/remove.log" 2>&1 || cat "$work/remove.log" >&2
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "deb-test: FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR
say() { echo "deb-test: $*"; }
die() {
    echo "deb-test: FAILED: $*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || die "needs root (dpkg -i)"
command -v dpkg-shlibdeps >/dev/null || die "dpkg-shlibdeps missing (package dpkg-dev)"
for p in "${pkgs[@]}"; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        die "$p is already installed: not touching it"
    fi
done

rm -rf "$build"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DREACTOR_BUILD_TESTS=OFF >"$work/configure.log" 2>&1 || {
    cat "$work/configure.log"
    die "configure"
}
cmake --build "$build" -j "$(nproc)" >"$work/build.log" 2>&1 || {
    tail -n 40 "$work/build.log"
    die "build"
}
(cd "$build" && cpack >"$work/cpack.log" 2>&1) || {
    cat "$work/cpack.log"
    die "cpack"
}
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
arch=$(dpkg --print-architecture)
debs=()
for p in "${pkgs[@]}"; do
    f="$build/${p}_${version}_${arch}.deb"
    [ -f "$f" ] || die "not built: $(basename "$f")"
    debs+=("$f")
done

# Which package holds what: the soname's package holds the shared object only.
contents() { dpkg-deb -c "$1" | awk '{print $6}' | sed 's|^\./|/|'; }
has() { contents "$1" | grep -qE "$2" || die "$(basename "$1") lacks $2"; }
lacks() { ! contents "$1" | grep -qE "$2" || die "$(basename "$1") must not hold $2"; }
has "${debs[0]}" '/libreactor\.so\.0\.'
lacks "${debs[0]}" '\.h$|\.a$|libreactor\.so$|/bin/|/man/'
has "${debs[1]}" '/usr/include/reactor\.h$'
has "${debs[1]}" '/libreactor\.a$'
has "${debs[1]}" '/libreactor\.so$'
has "${debs[1]}" '/pkgconfig/reactor\.pc$'
has "${debs[1]}" '/cmake/reactor/reactorConfig\.cmake$'
has "${debs[1]}" '/man3/reactor_register\.3'
lacks "${debs[1]}" '/libreactor\.so\.0\.'
has "${debs[2]}" '/usr/bin/reactor-httpd$'
has "${debs[2]}" '/usr/bin/reactor-echo$'
has "${debs[2]}" '/man1/reactor-httpd\.1'
dev_depends=$(dpkg-deb -f "${debs[1]}" Depends)
[ "$dev_depends" = "libreactor0 (= $version)" ] || die "libreactor-dev Depends: $dev_depends"
say "contents and Depends of ${pkgs[*]} $version ($arch) as expected"

touch "$work/installed"
dpkg -i "${debs[@]}" >"$work/install.log" 2>&1 || {
    cat "$work/install.log"
    die "dpkg -i"
}
say "installed: $(dpkg-query -W -f='${Package} ${Version}, ' "${pkgs[@]}")"

# A consumer built from the installed package only, through pkg-config.
[ "$(pkg-config --modversion reactor)" = "$version" ] || die "pkg-config --modversion reactor"
# shellcheck disable=SC2046 # pkg-config's output is a list of flags
cc -std=c11 -Wall -Wextra -Werror -o "$work/consumer" "$top/tests/consumer/consumer.c" \
    $(pkg-config --cflags --libs reactor)
objdump -p "$work/consumer" | grep -q 'NEEDED *libreactor\.so\.0' || die "consumer does not need libreactor.so.0"
"$work/consumer" >"$work/consumer.out" || {
    cat "$work/consumer.out"
    die "the consumer failed"
}
say "consumer built with pkg-config and run: $(tail -n 1 "$work/consumer.out")"

# The installed server answers on loopback.
# As root it must be told whom to become: nobody, after binding.
user=()
[ "$(id -u)" != 0 ] || user=(--user nobody)
/usr/bin/reactor-httpd --bind 127.0.0.1 --port 0 "${user[@]}" >"$work/httpd.out" 2>&1 &
server=$!
url=''
for _ in $(seq 100); do
    url=$(grep -oE 'http://[^ ]+' "$work/httpd.out" | head -n 1 || true)
    [ -n "$url" ] && break
    sleep 0.05
done
[ -n "$url" ] || die "reactor-httpd printed no URL: $(cat "$work/httpd.out")"
body=$(curl -sS --max-time 5 "$url")
[ "$body" = "Hello, world!" ] || die "GET $url answered '$body'"
kill -TERM "$server"
wait "$server" || die "reactor-httpd exited $? after SIGTERM"
server=''
say "installed reactor-httpd answered $url"

(cd "$build" && cpack --config CPackSourceConfig.cmake >"$work/source.log" 2>&1) || {
    cat "$work/source.log"
    die "package_source"
}
tarball="$build/reactor-$version.tar.gz"
[ -f "$tarball" ] || die "no $tarball"
! tar -tzf "$tarball" | grep -qE '^[^/]+/(build|\.git)/' || die "the source tarball holds build/ or .git/"
tar -tzf "$tarball" | grep -q "^reactor-$version/include/reactor.h$" || die "the source tarball lacks include/reactor.h"
say "source tarball $(basename "$tarball"): $(tar -tzf "$tarball" | wc -l) entries"
say "PASS"
