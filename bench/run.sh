#!/usr/bin/env bash
# bench/run.sh - runs the benchmark suite; the report goes to build/bench/results/<time>/.
#
#   bench/run.sh            full run (about 10 minutes on 2 cores)
#   bench/run.sh --quick    a smaller set, under 2 minutes
#   bench/run.sh --callgrind-only
#                           only the instruction counts (repeatable to the instruction)
#
# Options: --build DIR (default build/bench), --rounds N, --no-pin,
#          --no-doc (raw results only, no report),
#          --publish (also copy the report to docs/results/<date>-bench.md and
#          the plots to docs/img/; docs/performance.md is updated by hand),
#          --report-only DIR (rewrite the report and plots from the results in DIR;
#          the tables and plots are made by bench/report.sh)
#
# Every program prints one line per result. The wall-clock programs are run
# interleaved (for each round, for each configuration, every implementation
# once, starting from a different one each round), so slow drifts of a noisy
# machine hit every implementation alike; the tables report the median over
# the rounds, and the ratio to the floor (a loop written directly on the system
# call) taken within each round. Because identical runs here differ by 20-30%,
# the same configurations are also counted with valgrind's callgrind:
# user-space instructions per event, the library's own cost, which does not
# vary from run to run.
#
# Single-threaded programs are pinned to the last CPU with taskset (--no-pin
# to disable); the cross-thread benchmark is not pinned.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/bench
MODE=full
ROUNDS=
PIN=1
DOC=1
PUBLISH=0
REPORT_ONLY=

while [ $# -gt 0 ]; do
    case $1 in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --callgrind-only) MODE=callgrind ;;
    --build) BUILD=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --no-pin) PIN=0 ;;
    --no-doc) DOC=0 ;;
    --publish) PUBLISH=1 ;;
    --report-only) REPORT_ONLY=$2; shift ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

if [ "$MODE" = quick ]; then
    : "${ROUNDS:=3}"
    RUNS=11
else
    : "${ROUNDS:=5}"
    RUNS=25
fi

# ---- Build ------------------------------------------------------------------
# -O2 for the library too (CMake's Release default is -O3): what Debian builds the others with.
CMAKE_ARGS=(-DREACTOR_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG"
            -DREACTOR_BUILD_TESTS=OFF -DREACTOR_BUILD_EXAMPLES=OFF)
if [ -z "$REPORT_ONLY" ]; then
    echo "== building into $BUILD"
    mkdir -p "$BUILD"
    cmake -S "$ROOT" -B "$BUILD" "${CMAKE_ARGS[@]}" >"$BUILD/configure.log" 2>&1 ||
        { cat "$BUILD/configure.log"; exit 1; }
    cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" >"$BUILD/build.log" 2>&1 ||
        { tail -40 "$BUILD/build.log"; exit 1; }
fi
BIN=$BUILD/bench

if [ -n "$REPORT_ONLY" ]; then
    OUT=$(cd "$REPORT_ONLY" && pwd)
else
    OUT=$BUILD/results/$(date -u +%Y%m%dT%H%M%SZ)
    mkdir -p "$OUT"
fi
RAW=$OUT/raw.txt     # every result line, prefixed with round=N
CMDS=$OUT/commands.txt
ERR=$OUT/stderr.txt
[ -n "$REPORT_ONLY" ] || { : >"$RAW"; : >"$CMDS"; : >"$ERR"; }

NCPU=$(nproc 2>/dev/null || echo 1)
PINCMD=()
if [ "$PIN" = 1 ] && [ "$NCPU" -gt 1 ] && command -v taskset >/dev/null; then
    PINCMD=(taskset -c $((NCPU - 1)))
fi

have() { [ -x "$BIN/$1" ]; }

# Runs one benchmark command; its result lines go to $RAW tagged with the round.
# Exit status 77 means "does not apply here" (e.g. select beyond FD_SETSIZE).
ROUND=0
run() {
    local pin=$1; shift
    local rc=0 line
    if [ "$ROUND" -le 1 ]; then echo "$*" | sed "s|$BIN/||" >>"$CMDS"; fi
    if [ "$pin" = pin ] && [ ${#PINCMD[@]} -gt 0 ]; then
        "${PINCMD[@]}" "$@" >"$OUT/.line" 2>>"$ERR" || rc=$?
    else
        "$@" >"$OUT/.line" 2>>"$ERR" || rc=$?
    fi
    if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
        echo "run.sh: '$*' failed with status $rc" >&2
    fi
    while IFS= read -r line; do
        echo "round=$ROUND $line" >>"$RAW"
    done <"$OUT/.line"
}

# ---- What is run ---------------------------------------------------------------
# Implementations compared at each dispatch configuration, by kernel interface.
EPOLL_IMPLS=("bench-dispatch-raw --backend epoll" "bench-dispatch-raw --backend epoll-cb"
             "bench-dispatch --backend epoll"
             "bench-dispatch-libevent --backend epoll" "bench-dispatch-libev --backend epoll"
             "bench-dispatch-libuv")
POLL_IMPLS=("bench-dispatch-raw --backend poll" "bench-dispatch --backend poll")
SELECT_IMPLS=("bench-dispatch-raw --backend select" "bench-dispatch --backend select")
# Modes (bench/bench_common.h): loop, --rereg, and on epoll, where the libraries
# each pause in their own way, --pause (stop and restart every watcher, fd kept).
EPOLL_MODES=("" "--rereg" "--pause")
# shellcheck disable=SC2034 # read through a nameref in dispatch_family
OTHER_MODES=("" "--rereg")

# shellcheck disable=SC2034 # the *_SIZES arrays are read through namerefs in dispatch_family
if [ "$MODE" = quick ]; then
    EPOLL_SIZES=("-n 1000" "-n 5000 --fds-both-ends")
    POLL_SIZES=("-n 1000")
    SELECT_SIZES=("-n 500 --fds-both-ends")
    ACTIVES=(100)
    SCALE_IDLE=(10 100 1000 10000)
    SCALE_RUNS=5
    WAKE_M=50000; PING_M=2000; WAKE_RUNS=3
    TIMERS_N=100000
else
    EPOLL_SIZES=("-n 100" "-n 1000" "-n 5000" "-n 5000 --fds-both-ends")
    POLL_SIZES=("-n 100" "-n 1000" "-n 500 --fds-both-ends")
    SELECT_SIZES=("-n 100" "-n 500 --fds-both-ends")
    ACTIVES=(1 100)
    SCALE_IDLE=(10 100 1000 10000 100000)
    SCALE_RUNS=15
    WAKE_M=200000; PING_M=5000; WAKE_RUNS=5
    TIMERS_N=1000000
fi

# Runs every implementation of `impls` once at each configuration, rotating the order.
dispatch_family() {
    local -n impls=$1 sizes=$2 modes=$3
    local size a mode i k n=${#impls[@]}
    for size in "${sizes[@]}"; do
        for a in "${ACTIVES[@]}"; do
            for mode in "${modes[@]}"; do
                for ((i = 0; i < n; i++)); do
                    k=$(((i + ROUND) % n))
                    set -- ${impls[$k]}
                    have "$1" || continue
                    local prog=$1; shift
                    run pin "$BIN/$prog" "$@" $size -a "$a" -w 1000 -r "$RUNS" $mode
                done
            done
        done
    done
}

wall_round() {
    echo "== round $ROUND/$ROUNDS: dispatch"
    dispatch_family EPOLL_IMPLS EPOLL_SIZES EPOLL_MODES
    dispatch_family POLL_IMPLS POLL_SIZES OTHER_MODES
    dispatch_family SELECT_IMPLS SELECT_SIZES OTHER_MODES
    echo "== round $ROUND/$ROUNDS: scale"
    local k b
    for k in "${SCALE_IDLE[@]}"; do
        for b in epoll poll select; do
            [ "$b" = select ] && [ "$k" -gt 1000 ] && continue
            [ "$b" = poll ] && [ "$k" -gt 10000 ] && continue # 100,000 x poll: seconds per run
            run pin "$BIN/bench-scale" --backend $b --idle "$k" -r "$SCALE_RUNS"
            run pin "$BIN/bench-scale" --raw --backend $b --idle "$k" -r "$SCALE_RUNS"
        done
    done
    echo "== round $ROUND/$ROUNDS: wakeups"
    local impl
    for impl in libreactor libuv; do
        for p in 1 4; do
            run nopin "$BIN/bench-wakeups" --impl $impl --mode throughput -p $p -m "$WAKE_M" -r "$WAKE_RUNS"
        done
        run nopin "$BIN/bench-wakeups" --impl $impl --mode pingpong -m "$PING_M" -r "$WAKE_RUNS"
    done
    if have bench-timers && { [ "$MODE" = full ] || [ "$ROUND" = 1 ]; }; then
        echo "== round $ROUND/$ROUNDS: timers"
        run pin "$BIN/bench-timers" "$TIMERS_N"
    fi
}

# ---- Instruction counts ----------------------------------------------------------
# callgrind counts only inside bench_timed_run (the timed runs, not the setup or
# the warm-up), so Ir / (runs * (A + W)) is the user-space cost of one event:
# the library, the callback, and the libc wrappers of read/write/epoll_wait.
CG_RUNS=3
callgrind_one() {
    local out rc=0
    out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        --toggle-collect='bench_timed_run*' "$@" -r $CG_RUNS 2>&1) || rc=$?
    [ $rc -eq 0 ] || return 0
    echo "$*" | sed "s|$BIN/||;s|\$| -r $CG_RUNS  # under callgrind|" >>"$CMDS"
    echo "$out" | awk -v runs=$CG_RUNS '
        /Collected :/ { ir = $4 }
        /^dispatch / { line = $0; for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
        END { if (line == "" || ir == "") exit
              printf "round=1 callgrind impl=%s n=%s fds=%s a=%s w=%s mode=%s ir_per_event=%.1f runs=%d\n",
                     f["impl"], f["n"], f["fds"], f["a"], f["w"], f["mode"],
                     ir / (runs * (f["a"] + f["w"])), runs }' >>"$RAW"
}

# The same for one loop iteration of bench-scale (one ready fd, K idle ones).
callgrind_scale() {
    local out rc=0 iters=2000 runs=3
    out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        --toggle-collect='scale_timed_run*' "$@" -r $runs --iters $iters 2>&1) || rc=$?
    [ $rc -eq 0 ] || return 0
    echo "$*" | sed "s|$BIN/||;s|\$| -r $runs --iters $iters  # under callgrind|" >>"$CMDS"
    echo "$out" | awk '
        /Collected :/ { ir = $4 }
        /^scale / { line = $0; for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
        END { if (line == "" || ir == "") exit
              printf "round=1 cgscale impl=%s idle=%s ir_per_iter=%.1f runs=%d\n",
                     f["impl"], f["idle"], ir / (f["runs"] * f["iters"]), f["runs"] }' >>"$RAW"
}

# Heap allocations per timed run: valgrind's count at -r 2 and -r 12, differenced.
allocs_one() {
    local a2 a12 name
    a2=$(valgrind "$@" -r 2 2>&1 | awk '/total heap usage/ { gsub(",", "", $5); print $5 }')
    a12=$(valgrind "$@" -r 12 2>&1 | awk '/total heap usage/ { gsub(",", "", $5); print $5 }')
    name=$("$@" -r 1 2>/dev/null | sed -n 's/.*impl=\([^ ]*\).* mode=\([^ ]*\).*/\1 mode=\2/p')
    [ -n "$a2" ] && [ -n "$a12" ] && [ -n "$name" ] || return 0
    echo "$*" | sed "s|$BIN/||;s|\$| -r 2 and -r 12  # under valgrind (memcheck)|" >>"$CMDS"
    echo "round=1 allocs impl=$name allocs_per_run=$(awk -v a="$a2" -v b="$a12" 'BEGIN { printf "%.1f", (b - a) / 10 }')" >>"$RAW"
}

callgrind_all() {
    command -v valgrind >/dev/null || { echo "== valgrind not found: no instruction counts"; return; }
    echo "== callgrind: instructions per event"
    local impl size a mode
    local sizes=("-n 1000")
    [ "$MODE" = quick ] || sizes+=("-n 5000 --fds-both-ends")
    for size in "${sizes[@]}"; do
        for a in 100 1; do
            for mode in "${EPOLL_MODES[@]}"; do
                [ "$MODE" = quick ] && [ $a = 1 ] && continue
                for impl in "${EPOLL_IMPLS[@]}"; do
                    set -- $impl
                    have "$1" || continue
                    local prog=$1; shift
                    callgrind_one "$BIN/$prog" "$@" $size -a $a -w 1000 $mode
                done
            done
        done
    done
    local k raw
    for k in 100 10000; do
        for raw in "" "--raw"; do
            callgrind_scale "$BIN/bench-scale" --backend epoll --idle $k $raw
        done
    done
    if [ "$MODE" != quick ]; then
        for impl in "${POLL_IMPLS[@]}" "${SELECT_IMPLS[@]}"; do
            set -- $impl
            local prog=$1; shift
            callgrind_one "$BIN/$prog" "$@" -n 500 --fds-both-ends -a 100 -w 1000
        done
        echo "== valgrind: heap allocations per run"
        for mode in "${EPOLL_MODES[@]}"; do
            for impl in "${EPOLL_IMPLS[@]}"; do
                set -- $impl
                have "$1" || continue
                local prog=$1; shift
                allocs_one "$BIN/$prog" "$@" -n 1000 -a 100 -w 1000 $mode
            done
        done
    fi
}

# ---- The report --------------------------------------------------------------------
# shellcheck source=bench/report.sh
. "$ROOT/bench/report.sh"

# ---- Go ---------------------------------------------------------------------------
if [ -n "$REPORT_ONLY" ]; then
    # shellcheck source=/dev/null
    . "$OUT/meta.sh"
    report
    exit 0
fi
T0=$(date +%s)
if [ "$MODE" != callgrind ]; then
    for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
        wall_round
    done
fi
ROUND=1
callgrind_all
ELAPSED=$(($(date +%s) - T0))
echo "== done in ${ELAPSED}s; results in $OUT"
{
    echo "MODE=$MODE ROUNDS=$ROUNDS RUNS=$RUNS ELAPSED=$ELAPSED TIMERS_N=$TIMERS_N"
    echo "PINCMD=(${PINCMD[*]:-})"
    echo "RUN_DATE='$(date -u '+%Y-%m-%d %H:%M UTC')'"
} >"$OUT/meta.sh"

[ "$DOC" = 1 ] || exit 0
report
