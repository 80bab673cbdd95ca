#!/usr/bin/env bash
# std-check.sh - checks that libreactor is ISO C with POSIX, not a GNU dialect:
#
#   1. the whole tree (library, backends, examples, tests, kqueue emulation)
#      builds with -std=c11 and with -std=c17 (CMAKE_C_STANDARD, extensions
#      off), -Wall -Wextra -Wpedantic -Werror, under gcc and under clang;
#   2. the public header alone compiles in a C file as C99, C11 and C17, and
#      in a C++ file as C++11 and C++17 (users include it from both), with
#      the same warnings.
#
# Nothing is run here: the gcc and clang steps of scripts/test.sh run the
# suite on the default (C11) build.
#
#   scripts/std-check.sh            builds go to build/std-<cc>-c<std>
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
warn="-Wall -Wextra -Wpedantic -Werror"
failed=()

for cc in gcc clang; do
    for std in 11 17; do
        dir=build/std-$cc-c$std
        rm -rf "$dir"
        mkdir -p build
        if ! CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DREACTOR_WERROR=ON \
            -DCMAKE_C_STANDARD=$std -DCMAKE_C_EXTENSIONS=OFF -DCMAKE_C_FLAGS="$warn" \
            >"$dir.configure.log" 2>&1; then
            tail -n 30 "$dir.configure.log"
            failed+=("$cc c$std: configure")
            continue
        fi
        # A standard CMake did not pass on would make this check prove nothing.
        if ! grep -q -- "-std=c$std" "$dir/CMakeFiles/reactor.dir/flags.make"; then
            failed+=("$cc c$std: -std=c$std is not in the library's flags")
            continue
        fi
        if cmake --build "$dir" -j "$jobs" >"$dir.build.log" 2>&1; then
            echo "$cc -std=c$std $warn: whole tree OK"
        else
            grep -E -A6 'error|warning:' "$dir.build.log" | head -n 80
            failed+=("$cc c$std: build (log: $dir.build.log)")
        fi
    done
done

src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
printf '#include <reactor.h>\n\nint main(void)\n{\n    return reactor_version() > 0 ? 0 : 1;\n}\n' \
    >"$src/header.c"
printf '#include <reactor.h>\n\nint main()\n{\n    return reactor_version() > 0 ? 0 : 1;\n}\n' \
    >"$src/header.cpp"
for cc in gcc clang; do
    for std in c99 c11 c17; do
        # shellcheck disable=SC2086 # $warn is a list of flags
        if $cc -std=$std $warn -Iinclude -fsyntax-only "$src/header.c"; then
            echo "$cc -std=$std: reactor.h OK"
        else
            failed+=("$cc $std: reactor.h")
        fi
    done
done
for cxx in g++ clang++; do
    command -v "$cxx" >/dev/null || continue
    for std in c++11 c++17; do
        # shellcheck disable=SC2086
        if $cxx -std=$std $warn -Iinclude -fsyntax-only "$src/header.cpp"; then
            echo "$cxx -std=$std: reactor.h OK"
        else
            failed+=("$cxx $std: reactor.h")
        fi
    done
done

if [ ${#failed[@]} -gt 0 ]; then
    printf 'std-check: FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "std-check: all OK"
