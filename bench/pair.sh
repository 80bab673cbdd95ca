#!/usr/bin/env bash
# pair.sh - a paired, interleaved comparison of two dispatch implementations, for
# the wall-time ratios a full bench/run.sh cannot resolve (its five rounds move a
# ratio by 10-20% from one run to the next on this shared machine).
#
# Each round runs A and B back to back with the same arguments (B first on odd
# rounds), pinned to the last CPU like run.sh, and takes the ratio B/A of their
# medians. The rounds are many and short, so that drift of the machine hits both
# sides of a ratio alike; the summary is the median of the per-round ratios with
# their quartiles.
#
# Usage: bench/pair.sh [--build DIR] [--rounds N] [--a "PROG ARGS"] [--b "PROG ARGS"] -- ARGS
#   defaults: --build build/bench (built by bench/run.sh), --rounds 21,
#   A = "bench-dispatch-raw --backend epoll" (the floor), B = "bench-dispatch --backend epoll".
# Example: bench/pair.sh -- -n 5000 --fds-both-ends -a 100 -w 1000 -r 25
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/bench
ROUNDS=21
A="bench-dispatch-raw --backend epoll"
B="bench-dispatch --backend epoll"
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --a) A=$2; shift ;;
    --b) B=$2; shift ;;
    --) shift; break ;;
    *) echo "usage: $0 [--build DIR] [--rounds N] [--a \"PROG ARGS\"] [--b \"PROG ARGS\"] -- ARGS" >&2; exit 2 ;;
    esac
    shift
done
BIN=$BUILD/bench
PIN=()
if command -v taskset >/dev/null; then PIN=(taskset -c $(($(nproc) - 1))); fi

# The median ns per event of one run of "PROG ARGS" with the common arguments.
median_of() {
    local prog=$1; shift
    # shellcheck disable=SC2086 # PROG ARGS is split into words on purpose
    set -- $prog "$@"
    local exe=$BIN/$1; shift
    "${PIN[@]}" "$exe" "$@" | sed -n 's/.*median_ns_per_event=\([0-9.]*\).*/\1/p'
}

echo "# A: $A $*"
echo "# B: $B $*"
echo "# round  A_ns  B_ns  B/A"
ratios=()
for ((i = 1; i <= ROUNDS; i++)); do
    if ((i % 2)); then
        b=$(median_of "$B" "$@"); a=$(median_of "$A" "$@")
    else
        a=$(median_of "$A" "$@"); b=$(median_of "$B" "$@")
    fi
    r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
    ratios+=("$r")
    echo "$i $a $b $r"
done
printf '%s\n' "${ratios[@]}" | sort -g | awk '
    { v[NR] = $1 }
    END {
        med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "median B/A %.3f, quartiles %.3f-%.3f, min %.3f, max %.3f, over %d rounds\n",
            med, v[int((NR + 3) / 4)], v[int((3 * NR + 1) / 4)], v[1], v[NR], NR
    }'
