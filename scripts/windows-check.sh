#!/usr/bin/env bash
# windows-check.sh - cross-compiles libreactor for 64-bit Windows with
# Debian's MinGW-w64 gcc (cmake/toolchains/x86_64-w64-mingw32.cmake) and
# runs its Windows tests under wine:
#
#   smoke, smoke.static   tests/win32/win32_smoke.c against reactor.dll and libreactor.a
#   smoke.console         the same on a pseudo-terminal (script(1)): Ctrl-C to SIGINT
#   echo.server.<b>       reactor-echo.exe checked by tests/echo_client.py
#   timer_early.<b>, timer.<b>, post.<b>, work.<b>
#                         the cmocka programs that make sense on Windows
#                         (tests/win32/CMakeLists.txt says why the rest do not)
# on each backend <b>: select, and poll (WSAPoll), built here with -DREACTOR_WITH_POLL=ON.
#
# Needs gcc-mingw-w64-x86-64 and wine64, and cmocka built for Windows, which
# Debian does not ship: this script builds Debian's cmocka source package
# with the same toolchain under build/windows/ (fetched with apt-get source;
# as root, it first adds deb-src entries made from the machine's own Debian
# sources if there are none). As root, unless RX_INSTALL=0 (scripts/test.sh
# --no-install), the packages are installed with apt-get. Without a cmocka
# source the cmocka programs are skipped, saying so, and the rest still runs.
#
# Exit status: 0 passed, 1 failed, 77 cannot run here (no MinGW-w64 gcc,
# cmake or wine after the install attempt): scripts/test.sh counts that one
# as skipped, not failed.
#
# wine runs in a prefix of its own, build/windows/wine, created on the first
# run (wineboot, bounded) and stopped (wineserver -k) at the end. WINEDEBUG=-all.
#
#   bash scripts/windows-check.sh        (or: bash scripts/test.sh windows)
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
out=build/windows
triplet=x86_64-w64-mingw32

if [ "$(id -u)" = 0 ] && [ "${RX_INSTALL:-1}" != 0 ] && command -v apt-get >/dev/null; then
    missing=()
    command -v $triplet-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
    command -v wine >/dev/null || command -v wine64 >/dev/null || missing+=(wine64)
    command -v dpkg-source >/dev/null || missing+=(dpkg-dev)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "windows-check: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq || true
        apt-get install -y -qq "${missing[@]}" >/dev/null || echo "windows-check: apt-get install failed"
    fi
fi
for tool in $triplet-gcc cmake; do
    command -v "$tool" >/dev/null || {
        echo "windows-check: $tool not found (Debian package gcc-mingw-w64-x86-64, cmake)" >&2
        exit 77
    }
done
wine=$(command -v wine || command -v wine64) || {
    echo "windows-check: wine not found (Debian package wine64)" >&2
    exit 77
}
mkdir -p "$out"
export WINEPREFIX="$top/$out/wine" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
stop_wine() { wineserver -k 2>/dev/null || true; }
trap stop_wine EXIT
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "windows-check: creating the wine prefix $out/wine"
    timeout 300 wineboot -i >"$out/wineboot.log" 2>&1 || {
        cat "$out/wineboot.log"
        echo "windows-check: wineboot failed" >&2
        exit 1
    }
fi

# ---- cmocka for Windows, from Debian's source package ---------------------------
cmocka_prefix="$top/$out/cmocka"
if [ ! -f "$cmocka_prefix/lib/libcmocka-static.a" ]; then
    src=$(find "$out/cmocka-src" -mindepth 1 -maxdepth 1 -type d -name 'cmocka-*' 2>/dev/null | head -n 1)
    if [ -z "$src" ]; then
        if [ "$(id -u)" = 0 ] && [ "${RX_INSTALL:-1}" != 0 ] &&
            ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/ &&
            [ -f /etc/apt/sources.list.d/debian.sources ]; then
            # The machine's own Debian sources, for source packages too.
            sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
                >/etc/apt/sources.list.d/rx-deb-src.sources
            apt-get update -qq || true
        fi
        mkdir -p "$out/cmocka-src"
        (cd "$out/cmocka-src" && apt-get source -qq cmocka >../cmocka-src.log 2>&1) || true
        src=$(find "$out/cmocka-src" -mindepth 1 -maxdepth 1 -type d -name 'cmocka-*' 2>/dev/null | head -n 1)
    fi
    if [ -n "$src" ]; then
        echo "windows-check: building cmocka from $src"
        rm -rf "$out/cmocka-build"
        if ! { cmake -S "$src" -B "$out/cmocka-build" -DCMAKE_BUILD_TYPE=Release \
            -DCMAKE_TOOLCHAIN_FILE="$top/cmake/toolchains/$triplet.cmake" \
            -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX="$cmocka_prefix" &&
            cmake --build "$out/cmocka-build" -j "$jobs" &&
            cmake --install "$out/cmocka-build"; } >"$out/cmocka-build.log" 2>&1; then
            tail -n 30 "$out/cmocka-build.log"
            echo "windows-check: building cmocka failed" >&2
            exit 1
        fi
    fi
fi
cmocka_arg=()
if [ -f "$cmocka_prefix/lib/libcmocka-static.a" ]; then
    cmocka_arg=(-DREACTOR_WIN32_CMOCKA="$cmocka_prefix")
else
    echo "windows-check: NOTE no cmocka source (apt-get source cmocka failed, $out/cmocka-src.log):"
    echo "windows-check: the cmocka programs are skipped, the smoke and echo tests still run"
fi

# ---- libreactor ----------------------------------------------------------------------
dir=$out/build
rm -rf "$dir"
# With the opt-in WSAPoll backend, so that both backends are tested.
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DREACTOR_WERROR=ON -DREACTOR_WITH_POLL=ON \
    -DCMAKE_TOOLCHAIN_FILE="$top/cmake/toolchains/$triplet.cmake" "${cmocka_arg[@]}" \
    >"$dir.configure.log" 2>&1 || {
    cat "$dir.configure.log"
    echo "windows-check: configure failed" >&2
    exit 1
}
cmake --build "$dir" -j "$jobs" >"$dir.build.log" 2>&1 || {
    grep -E -B2 -A6 'error|warning' "$dir.build.log" | head -n 120
    echo "windows-check: build failed (log: $dir.build.log)" >&2
    exit 1
}
for f in reactor.dll reactor-echo.exe; do
    [ -f "$dir/bin/$f" ] || {
        echo "windows-check: $dir/bin/$f was not built" >&2
        exit 1
    }
done
if [ ! -f "$dir/libreactor.a" ] || [ ! -f "$dir/libreactor.dll.a" ]; then
    echo "windows-check: libreactor.a or libreactor.dll.a was not built" >&2
    exit 1
fi
echo "windows-check: built $dir/bin/reactor.dll, $dir/libreactor.dll.a, $dir/libreactor.a ($wine)"
# One at a time: wine starts slowly, and two cores are shared with the rest.
ctest --test-dir "$dir" --output-on-failure --no-tests=error --timeout 300
