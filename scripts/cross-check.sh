#!/usr/bin/env bash
# cross-check.sh - cross-compiles libreactor for another CPU with Debian's
# cross gcc and runs its ctest suite there under qemu-user, through the
# toolchain files in cmake/toolchains (CMAKE_CROSSCOMPILING_EMULATOR):
#
#   scripts/cross-check.sh aarch64     64-bit ARM, little-endian
#   scripts/cross-check.sh s390x       IBM Z, big-endian
#
# Needs gcc-<triplet>, libc6-dev-<arch>-cross and qemu-user (scripts/test.sh
# installs them), and cmocka built for the target, which Debian ships only as
# a multiarch package (libcmocka-dev:arm64, libcmocka-dev:s390x): when root,
# this script adds the architecture with dpkg and installs it with apt-get
# (unless RX_INSTALL=0, as scripts/test.sh --no-install sets); otherwise it
# fails, saying so.
#
# Run under qemu: every test but these, excluded by name (ctest -E):
#   http.server.*, http.hostile.*, http.nginx.*, http.contain.*, echo.server.*
#                 python drives the example servers, which it
#                 runs as host programs; cross builds are not host programs.
#                 This script runs the same five test scripts after the suite,
#                 on each backend, with a wrapper that starts the server
#                 under qemu (the servers' pids are then qemu's, whose own
#                 descriptors the fd checks see too).
#   http.faults.*, http.load.*, echo.load.*, guide.*
#                 python runs the servers' fault and load tests and the
#                 guide's programs (examples/guide) as host programs too;
#                 unlike the two scripts above they are not yet run
#                 through the qemu wrapper, so they are not run here at all
#                 (the load tests' thousands of connections and CPU bounds
#                 would measure qemu, not the server).
#   fork.*        qemu-user 7.2 (Debian 12) aborts in the forked child of a
#                 multithreaded program when the child starts a thread
#                 ("qemu_plugin_vcpu_init_hook: assertion failed"), before
#                 our code can pass or fail. They are still run, after the
#                 suite, one by one: one that fails without that abort in
#                 its output fails this check.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
jobs=$(nproc 2>/dev/null || echo 2)

case ${1:-} in
aarch64) triplet=aarch64-linux-gnu debarch=arm64 qemu=qemu-aarch64 ;;
s390x) triplet=s390x-linux-gnu debarch=s390x qemu=qemu-s390x ;;
*)
    echo "usage: $0 aarch64|s390x" >&2
    exit 2
    ;;
esac
arch=$1
dir=build/cross-$arch
excluded='^(http\.server|http\.hostile|http\.nginx|http\.contain|http\.faults|http\.load|echo\.server|echo\.load|guide|fork)\.'

for tool in "$triplet-gcc" "$qemu"; do
    command -v "$tool" >/dev/null || {
        echo "cross-check: $tool not found (Debian packages gcc-$triplet, qemu-user)" >&2
        exit 2
    }
done

cmocka=libcmocka-dev:$debarch
if ! dpkg-query -W -f='${Status}' "$cmocka" 2>/dev/null | grep -q "ok installed"; then
    if [ "${RX_INSTALL:-1}" = 0 ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "cross-check: $cmocka is not installed (and not root on Debian, or RX_INSTALL=0);" \
            "install it with: dpkg --add-architecture $debarch && apt-get update &&" \
            "apt-get install $cmocka" >&2
        exit 2
    fi
    echo "== installing $cmocka (multiarch)"
    export DEBIAN_FRONTEND=noninteractive
    dpkg --add-architecture "$debarch" || exit 2
    apt-get update -qq || { sleep 5 && apt-get update -qq; } || echo "== apt-get update failed"
    apt-get install -y -qq "$cmocka" >/dev/null || {
        echo "cross-check: could not install $cmocka" >&2
        exit 2
    }
fi

rm -rf "$dir"
mkdir -p build
# qemu-user has no io_uring (io_uring_setup is ENOSYS), so the io_uring
# backend is left out of the build whose suite runs under qemu, and compiled
# for the target on its own below (its big-endian path is then compiled at
# least); a refused io_uring_setup is tested on the host (core.uring_setup.*).
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DREACTOR_WERROR=ON -DREACTOR_WITH_IO_URING=OFF \
    -DCMAKE_TOOLCHAIN_FILE="$top/cmake/toolchains/$triplet.cmake" >"$dir.configure.log" 2>&1 || {
    tail -n 40 "$dir.configure.log"
    echo "cross-check: configure failed (log: $dir.configure.log)" >&2
    exit 1
}
cmake --build "$dir" -j "$jobs" >"$dir.build.log" 2>&1 || {
    grep -E -B2 -A6 'error|warning:' "$dir.build.log" | head -n 120
    echo "cross-check: build failed (log: $dir.build.log)" >&2
    exit 1
}
"$triplet-gcc" -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Wshadow \
    -Wstrict-prototypes -Wmissing-prototypes -Iinclude -Ibackends -c backends/io_uring.c \
    -o "$dir/io_uring.o" || {
    echo "cross-check: backends/io_uring.c does not compile for $arch" >&2
    exit 1
}
# A host binary here would mean the toolchain file was ignored.
file "$dir/tests/test_register" | grep -q "$(case $arch in aarch64) echo 'ARM aarch64' ;; s390x) echo 'MSB.*S/390' ;; esac)" || {
    echo "cross-check: not a $arch binary: $(file "$dir/tests/test_register")" >&2
    exit 1
}

echo "== ctest under $qemu, excluding (see the header of this script): $excluded"
ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$jobs" -E "$excluded"
rc=$?

echo
echo "== the example servers' integration tests, the servers under $qemu"
backends=$(sed -n 's/^REACTOR_WITH_\([A-Z]*\):BOOL=ON$/\1/p' "$dir/CMakeCache.txt" | tr '[:upper:]' '[:lower:]')
for server in echo:reactor-echo:test_echo_server.py http:reactor-httpd:test_http_server.py \
    http:reactor-httpd:test_http_hostile.py http:reactor-httpd:test_http_nginx.py \
    contain:reactor-httpd:test_http_contain.py; do
    IFS=: read -r part bin script <<<"$server"
    wrapper=$top/$dir/$bin-qemu
    printf '#!/bin/sh\nexec %s -L /usr/%s -E LD_LIBRARY_PATH=/usr/%s/lib:/usr/lib/%s %s "$@"\n' \
        "$qemu" "$triplet" "$triplet" "$triplet" "$top/$dir/examples/$bin" >"$wrapper"
    chmod +x "$wrapper"
    for b in $backends; do
        name=${script#test_}
        name=${name%.py}
        log=$dir.$name.$b.log
        if timeout 300 python3 "tests/$script" "$wrapper" "$b" >"$log" 2>&1; then
            echo "$name.$b under $qemu: passed ($(tail -n 1 "$log"))"
        else
            echo "$name.$b under $qemu: FAILED (log: $log)"
            tail -n 30 "$log"
            rc=1
        fi
    done
done

echo
echo "== fork.* under $qemu: a failure counts unless qemu itself aborted"
for t in $(ctest --test-dir "$dir" -N -R '^fork\.' | sed -n 's/^ *Test *#[0-9]*: //p'); do
    log=$dir.$t.log
    if ctest --test-dir "$dir" -R "^${t//./\\.}\$" --output-on-failure >"$log" 2>&1; then
        echo "$t: passed under $qemu (this qemu no longer aborts: stop excluding fork.*)"
    elif grep -q 'qemu_plugin_vcpu_init_hook: assertion failed' "$log"; then
        echo "$t: qemu aborted in the child (qemu_plugin_vcpu_init_hook), not counted"
    else
        echo "$t: FAILED, and not by the known qemu abort:"
        tail -n 30 "$log"
        rc=1
    fi
done
exit $rc
