#!/usr/bin/env bash
# consumer-test.sh BUILD_DIR - installs the build into a temporary prefix and
# builds a small consumer against it four ways: pkg-config shared and static,
# CMake shared and static; runs each. Fails on the first error.
set -euo pipefail
build=${1:?usage: consumer-test.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name reactor.pc | head -n1)")/..
export PKG_CONFIG_PATH=$libdir/pkgconfig
src=$top/tests/consumer/consumer.c

# shellcheck disable=SC2046
cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -o "$work/pc_shared" "$src" $(pkg-config --cflags --libs reactor)
LD_LIBRARY_PATH=$libdir "$work/pc_shared"
# shellcheck disable=SC2046
cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -static-libgcc -o "$work/pc_static" "$src" \
    $(pkg-config --cflags reactor) "$libdir/libreactor.a" $(pkg-config --static --libs-only-other reactor)
"$work/pc_static"
if ldd "$work/pc_static" | grep -q libreactor; then
    echo "consumer-test: the static consumer links libreactor.so" >&2
    exit 1
fi

cmake -S "$top/tests/consumer" -B "$work/cm" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cm" >/dev/null
LD_LIBRARY_PATH=$libdir "$work/cm/consumer_shared"
"$work/cm/consumer_static"

soname=$(objdump -p "$libdir/libreactor.so" | awk '/SONAME/ {print $2}')
[ "$soname" = libreactor.so.0 ] || { echo "consumer-test: soname is '$soname'" >&2; exit 1; }
bad=$(nm -D --defined-only "$libdir/libreactor.so" | awk '$2 ~ /^[TDBR]$/ && $3 !~ /^reactor_/ {print $3}')
[ -z "$bad" ] || { echo "consumer-test: exported non-API symbols: $bad" >&2; exit 1; }
echo "consumer-test: pkg-config and CMake consumers OK (soname $soname, only reactor_* exported)"
