#!/usr/bin/env bash
# test.sh - the test command: installs what the tests need (as root on
# Debian) and runs the whole suite, step by step:
#
#   gcc      gcc build with -Wall -Wextra -Werror, then all of ctest
#   clang    the same with clang
#   asan     clang with ASan + UBSan (LeakSanitizer on), all of ctest
#   tsan     clang with ThreadSanitizer, all of ctest
#   consumer install into a temporary prefix and build programs against it
#            with pkg-config and CMake (scripts/consumer-test.sh)
#   macos    compile + link for macOS with zig cc (scripts/macos-check.sh)
#   man      the man pages' lint (scripts/check-man.sh, once it exists)
#   musl     musl-gcc build, static smoke test, the example servers' tests
#            (scripts/musl-check.sh)
#   std      C11 and C17 with -Wpedantic -Werror, gcc and clang; the header as
#            C99..C17 and C++11/17 (scripts/std-check.sh)
#   cross-aarch64, cross-s390x
#            cross-compiled, ctest and the example servers' tests under
#            qemu-user (scripts/cross-check.sh);
#            as root (and without --no-install) it also adds the dpkg
#            architecture and installs the target's cmocka
#            (libcmocka-dev:arm64 / :s390x, multiarch)
#   deb      the .deb packages (CPack): contents, dpkg -i, a consumer through
#            pkg-config and the installed server, then dpkg -P (scripts/deb-test.sh)
#   static   cppcheck, clang-tidy and scan-build, zero findings (scripts/static-check.sh)
#   fuzz     the libFuzzer targets, 30 s + 15 s per backend (scripts/fuzz.sh)
#   format   clang-format --dry-run --Werror over every *.c and *.h
#   windows  MinGW-w64 cross build, its tests under wine (scripts/windows-check.sh;
#            installs mingw-w64 and wine64); skipped, not failed, where they
#            cannot be had
#
# Every step runs even after one fails. The end is a table of the steps with
# PASS/FAIL and their durations, and as the very last line
# `N passed, N failed` (counting steps); the exit status is 1 if any failed.
#
#   bash scripts/test.sh                everything (about 15 minutes on 2 cores)
#   bash scripts/test.sh --quick        the gcc build and its ctest only
#   bash scripts/test.sh --no-install   never run apt-get
#   bash scripts/test.sh asan fuzz      only the steps named (any of the above)
#
# Builds go to build/<step> (ignored by git); their logs to build/<step>.*.log.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

quick=0
install=1
only=() # the steps named on the command line; empty: all of them
for arg in "$@"; do
    case $arg in
    --quick) quick=1 ;;
    --no-install) install=0 ;;
    -h | --help)
        sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "usage: $0 [--quick] [--no-install] [STEP...]" >&2
        exit 2
        ;;
    *) only+=("$arg") ;;
    esac
done

# ---- What the steps need, from Debian 12's packages ----------------------------
# Each is "package" (present when dpkg says so) or "package:command" (present
# when the command is on PATH, whoever installed it: node, for one, may come
# from elsewhere and then conflicts with Debian's npm).
# libclang-rt-14-dev: clang's sanitizer runtimes; npm: fetches zig for the macOS
# check; python3, curl, apache2-utils (ab), wrk: the example servers' tests;
# python3-h11: a second opinion on our HTTP framing; nginx-light: the
# differential test against nginx.
# musl-tools: the musl step; qemu-user and the cross gcc and libc: the cross
# steps (the targets' cmocka is multiarch: scripts/cross-check.sh installs it).
needs=(cmake:cmake make:make gcc:gcc libc6-dev clang:clang libclang-rt-14-dev
    clang-format:clang-format pkg-config:pkg-config libcmocka-dev binutils:objdump file:file
    git:git python3:python3 python3-h11 nginx-light curl:curl apache2-utils:ab wrk:wrk valgrind:valgrind
    nodejs:node npm:npm mandoc:mandoc groff-base:groff man-db:man ca-certificates
    dpkg-dev:dpkg-shlibdeps cppcheck:cppcheck clang-tidy:clang-tidy clang-tools-14:scan-build-14
    musl-tools:musl-gcc qemu-user:qemu-aarch64 gcc-aarch64-linux-gnu:aarch64-linux-gnu-gcc
    gcc-s390x-linux-gnu:s390x-linux-gnu-gcc libc6-dev-arm64-cross libc6-dev-s390x-cross)
install_packages() {
    local missing=() need
    for need in "${needs[@]}"; do
        case $need in
        *:*) command -v "${need#*:}" >/dev/null || missing+=("${need%%:*}") ;;
        *) dpkg-query -W -f='${Status}' "$need" 2>/dev/null | grep -q "ok installed" ||
            missing+=("$need") ;;
        esac
    done
    if [ ${#missing[@]} = 0 ]; then
        echo "== everything the tests need is installed"
        return 0
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "== not root on Debian: not installing ${missing[*]}; the steps that need them will fail"
        return 0
    fi
    echo "== installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || { sleep 5 && apt-get update -qq; } || echo "== apt-get update failed"
    # One by one if the batch fails, so one unavailable package does not block the rest.
    if ! apt-get install -y -qq "${missing[@]}" >/dev/null; then
        for need in "${missing[@]}"; do
            apt-get install -y -qq "$need" >/dev/null ||
                echo "== could not install $need; the steps that need it will fail"
        done
    fi
}
all_steps=" gcc clang asan tsan consumer macos man musl std cross-aarch64 cross-s390x deb static fuzz format windows "
for step in "${only[@]}"; do
    [[ $all_steps == *" $step "* ]] || {
        echo "unknown step: $step (steps:$all_steps)" >&2
        exit 2
    }
done
if [ "$install" = 1 ]; then
    install_packages
else
    echo "== --no-install: not installing anything"
fi
for tool in gcc clang cmake clang-format node; do
    if command -v "$tool" >/dev/null; then
        printf '%-13s %s\n' "$tool:" "$("$tool" --version 2>&1 | head -n 1)"
    else
        printf '%-13s missing\n' "$tool:"
    fi
done

# ---- Steps ---------------------------------------------------------------------
jobs=$(nproc 2>/dev/null || echo 2)
step_limit=${RX_STEP_TIMEOUT:-1800} # seconds; a hung step fails instead of stalling CI
names=() results=() times=()
record() { # name result seconds
    names+=("$1")
    results+=("$2")
    times+=("$3")
}
# Each step runs under timeout(1), in a process group of its own, which is
# killed when the step ends. Ctrl-C (or a TERM) ends the step, skips the
# remaining steps and still prints the summary.
step_pid='' interrupted=0
on_signal() {
    interrupted=1
    [ -n "$step_pid" ] && kill -TERM "$step_pid" 2>/dev/null
}
trap on_signal INT TERM
wanted() { # name: is this step to run?
    [ ${#only[@]} = 0 ] || [[ " ${only[*]} " == *" $1 "* ]]
}
run_step() { # name [VAR=value...] command... (a program, or a function exported below)
    local name=$1 start rc
    shift
    [ "$interrupted" = 0 ] || return 0
    wanted "$name" || return 0
    echo
    echo "===== $name: $*"
    start=$(date +%s)
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout -k 30 "$step_limit" bash -c \
        'while [[ $1 == [A-Z]*=* ]]; do export "$1"; shift; done; "$@"' "$name" "$@" &
    step_pid=$!
    wait "$step_pid"
    rc=$?
    if [ "$interrupted" = 1 ]; then # wait returned for the signal: collect the step's end
        wait "$step_pid"
        rc=$?
    fi
    # Whatever the step left running (a server whose test died, say) goes with it.
    kill -KILL -- "-$step_pid" 2>/dev/null
    step_pid=''
    [ $rc = 124 ] && echo "===== $name: timed out after ${step_limit}s"
    if [ $rc = 0 ]; then
        record "$name" PASS $(($(date +%s) - start))
    elif [ $rc = 77 ]; then # the step's tools cannot be had here (scripts/windows-check.sh)
        record "$name" SKIP $(($(date +%s) - start))
        echo "===== $name: skipped (its tools are missing)"
    else
        record "$name" FAIL $(($(date +%s) - start))
        echo "===== $name: FAILED (exit $rc)"
    fi
}

# build_and_test DIR CC CFLAGS [ctest args...]: a fresh -Werror build, then ctest.
build_and_test() {
    local dir=$1 cc=$2 cflags=$3
    shift 3
    rm -rf "$dir"
    mkdir -p "$(dirname "$dir")"
    CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DREACTOR_WERROR=ON \
        -DCMAKE_C_FLAGS="$cflags" >"$dir.configure.log" 2>&1 || {
        cat "$dir.configure.log"
        echo "configure failed (log: $dir.configure.log)"
        return 1
    }
    cmake --build "$dir" -j "$jobs" >"$dir.build.log" 2>&1 || {
        grep -E -B2 -A6 'error|warning' "$dir.build.log" | head -n 120
        echo "build failed (log: $dir.build.log)"
        return 1
    }
    ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$jobs" "$@"
}
format_check() {
    local files
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        files=$(git ls-files --cached --others --exclude-standard -- '*.c' '*.h')
    else
        files=$(find . -path ./build -prune -o -path '*/node_modules' -prune -o \
            -name '*.[ch]' -print)
    fi
    # shellcheck disable=SC2086 # one file name per word; the tree has no spaces in names
    clang-format --dry-run --Werror $files && echo "clang-format: $(echo "$files" | wc -l) files OK"
}
export -f build_and_test format_check
# RX_INSTALL=0 (--no-install) also keeps scripts/cross-check.sh from apt-get.
export jobs RX_INSTALL=$install

san_flags="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
suite_start=$(date +%s)

run_step gcc build_and_test build/gcc gcc "-O2"
if [ "$quick" = 0 ]; then
    run_step clang build_and_test build/clang clang "-O2"
    run_step asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        build_and_test build/asan clang "$san_flags"
    run_step tsan TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        build_and_test build/tsan clang "-O1 -fsanitize=thread"
    run_step consumer bash scripts/consumer-test.sh build/gcc
    if [ -f scripts/macos-check.sh ]; then
        run_step macos bash scripts/macos-check.sh
    elif [ "$interrupted" = 0 ] && wanted macos; then
        echo
        echo "===== macos: skipped (scripts/macos-check.sh does not exist)"
        record macos SKIP 0
    fi
    if [ -f scripts/check-man.sh ]; then
        run_step man bash scripts/check-man.sh
    fi
    run_step musl bash scripts/musl-check.sh
    run_step std bash scripts/std-check.sh
    run_step cross-aarch64 bash scripts/cross-check.sh aarch64
    run_step cross-s390x bash scripts/cross-check.sh s390x
    run_step deb bash scripts/deb-test.sh
    run_step static bash scripts/static-check.sh
    run_step fuzz bash scripts/fuzz.sh
    run_step format format_check
    run_step windows bash scripts/windows-check.sh
fi

# ---- Summary -------------------------------------------------------------------
passed=0 failed=0 skipped=0
echo
[ "$interrupted" = 1 ] && echo "===== interrupted: the steps after the last one listed did not run"
echo "===== summary"
printf '%-14s %-6s %8s\n' step result time
for i in "${!names[@]}"; do
    printf '%-14s %-6s %7ss\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
    case ${results[$i]} in
    PASS) passed=$((passed + 1)) ;;
    FAIL) failed=$((failed + 1)) ;;
    *) skipped=$((skipped + 1)) ;;
    esac
done
printf '%-14s %-6s %7ss\n' total "" $(($(date +%s) - suite_start))
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ]
