#!/usr/bin/env bash
# test.sh - installs what the tests need (as root on Debian) and runs the whole
# suite: gcc and clang builds with -Werror, the suite under ASan+UBSan (with
# LeakSanitizer) and the threaded tests under TSan, the install/consumer test,
# the macOS compile check and the formatting check. Every step runs even after
# one fails; the summary at the end lists them, and the exit status is non-zero
# if any failed.
#
#   bash scripts/test.sh              everything
#   bash scripts/test.sh --quick      the gcc build and its ctest only
#   bash scripts/test.sh --no-install do not apt-get anything
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

quick=0
install=1
for arg in "$@"; do
    case $arg in
    --quick) quick=1 ;;
    --no-install) install=0 ;;
    *) echo "usage: $0 [--quick] [--no-install]" >&2; exit 2 ;;
    esac
done

packages=(cmake make gcc clang pkg-config libcmocka-dev python3 curl apache2-utils
          valgrind libclang-rt-14-dev binutils clang-format)
if [ "$install" = 1 ]; then
    missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "== installing: ${missing[*]}"
            apt-get update -qq || echo "== apt-get update failed"
            # One by one if the batch fails, so one unavailable package does not block the rest.
            if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
                for p in "${missing[@]}"; do
                    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null ||
                        echo "== could not install $p; continuing"
                done
            fi
        else
            echo "== not root: cannot install ${missing[*]}; continuing"
        fi
    fi
fi

jobs=$(nproc 2>/dev/null || echo 2)
names=()
results=()
times=()
run_step() { # name command...
    local name=$1 start rc
    shift
    echo
    echo "===== $name"
    start=$(date +%s)
    "$@"
    rc=$?
    names+=("$name")
    times+=("$(($(date +%s) - start))s")
    if [ $rc = 0 ]; then results+=(PASS); else results+=(FAIL); fi
}

build_and_test() { # dir cc cflags [ctest args...]
    local dir=$1 cc=$2 cflags=$3
    shift 3
    rm -rf "$dir"
    CC=$cc cmake -S . -B "$dir" -DREACTOR_WERROR=ON -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_C_FLAGS="$cflags" >"$dir.configure.log" 2>&1 ||
        { cat "$dir.configure.log"; return 1; }
    cmake --build "$dir" -j "$jobs" >"$dir.build.log" 2>&1 ||
        { tail -n 60 "$dir.build.log"; return 1; }
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" "$@"
}

mkdir -p build
run_step "gcc -Werror + ctest" build_and_test build/gcc gcc "-O1"
if [ "$quick" = 0 ]; then
    run_step "clang -Werror + ctest" build_and_test build/clang clang "-O1"
    san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
    run_step "ASan+UBSan+LSan + ctest" env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        bash -c "$(declare -f build_and_test); jobs=$jobs; build_and_test build/asan clang '$san'"
    run_step "TSan (threaded tests) + ctest" env TSAN_OPTIONS=halt_on_error=1 \
        bash -c "$(declare -f build_and_test); jobs=$jobs; build_and_test build/tsan clang '-fsanitize=thread -O1' -L services"
    run_step "install + pkg-config/CMake consumer" bash scripts/consumer-test.sh build/gcc
    if [ -f scripts/macos-check.sh ]; then
        run_step "macOS compile/link check (zig cc)" bash scripts/macos-check.sh
    fi
    if [ -f scripts/check-man.sh ]; then
        run_step "man pages lint" bash scripts/check-man.sh
    fi
    run_step "clang-format check" bash -c \
        "git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror"
fi

echo
echo "===== summary"
passed=0
failed=0
for i in "${!names[@]}"; do
    printf '%-40s %s %6s\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
    if [ "${results[$i]}" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
