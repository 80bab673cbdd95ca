#!/usr/bin/env bash
# static-check.sh - static analysis, zero findings required:
#   cppcheck   --enable=warning,portability,performance over src/ backends/ examples/
#   clang-tidy with the repo's .clang-tidy over src/ and backends/
#              (compile_commands.json from a configure into build/static; the
#              Windows files, src/win32/ and backends/*_win32.c, are not in a
#              Linux build, so not in it: cppcheck still reads them)
#   scan-build (scan-build-14, Debian clang-tools-14) over a build, --status-bugs
# False positives are suppressed inline, with the reason next to them.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
fail=0

echo "== cppcheck"
cppcheck --enable=warning,portability,performance --error-exitcode=1 --inline-suppr -q \
    -Iinclude -Isrc -Ibackends -Iexamples/httpd src backends examples || fail=1

echo "== clang-tidy"
rm -rf build/static && mkdir -p build
cmake -S . -B build/static -DCMAKE_BUILD_TYPE=Debug -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    >build/static.configure.log 2>&1 || { cat build/static.configure.log; exit 1; }
tidy_files=()
for f in src/*.c backends/*.c; do
    [[ $f == *_win32.c ]] || tidy_files+=("$f")
done
clang-tidy -p build/static --quiet "${tidy_files[@]}" || fail=1

echo "== scan-build"
scan=$(command -v scan-build-14 || command -v scan-build) || { echo "scan-build missing"; exit 1; }
rm -rf build/scan
"$scan" --status-bugs -o build/scan-report cmake -S . -B build/scan -DCMAKE_BUILD_TYPE=Debug \
    >build/scan.configure.log 2>&1 || { cat build/scan.configure.log; exit 1; }
"$scan" --status-bugs -o build/scan-report cmake --build build/scan -j2 || fail=1

[ "$fail" = 0 ] && echo "static-check: no findings"
exit "$fail"
