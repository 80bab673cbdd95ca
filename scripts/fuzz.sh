#!/usr/bin/env bash
# fuzz.sh - builds the libFuzzer targets with clang (build/fuzz, -DREACTOR_FUZZ=ON)
# and runs each for a bounded time on a temporary copy of its seed corpus
# (the repository is never written). Fails on any crash, leak, timeout or
# model mismatch; the input that failed is kept in the temporary directory,
# whose name is printed.
#
#   bash scripts/fuzz.sh          the parser 30 s, the API fuzzer 15 s per backend,
#                                 and 10 s on epoll and poll under a signal storm
#   bash scripts/fuzz.sh --long   600 s each
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
http_time=30 api_time=15 storm_time=10
case ${1:-} in
--long) http_time=600 api_time=600 storm_time=600 ;;
'') ;;
*)
    echo "usage: $0 [--long]" >&2
    exit 2
    ;;
esac

dir=build/fuzz
CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DREACTOR_WERROR=ON -DREACTOR_FUZZ=ON \
    >"$dir.configure.log" 2>&1 || {
    cat "$dir.configure.log"
    exit 1
}
cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)" \
    --target fuzz_http_parser fuzz_api fuzz_api_kqemu >"$dir.build.log" 2>&1 || {
    tail -n 60 "$dir.build.log"
    exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/rx-fuzz.XXXXXX")
echo "== corpora and artifacts in $work"
failed=0
# run NAME BINARY SECONDS SEEDS [DICT]: with RX_FUZZ_BACKEND from the environment.
run() {
    local name=$1 bin=$2 secs=$3 seeds=$4 dict=${5:-} args=()
    mkdir -p "$work/$name"
    cp -R "$seeds/." "$work/$name/"
    [ -n "$dict" ] && args+=("-dict=$top/$dict")
    echo "== $name: $secs s"
    # -timeout: one input running over 10 s is a hang; -rss_limit_mb: a leak.
    if ! (cd "$work" && "$top/$dir/tests/$bin" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 "${args[@]}" \
        -artifact_prefix="$work/$name-" "$work/$name") >"$work/$name.log" 2>&1; then
        tail -n 40 "$work/$name.log"
        echo "== $name: FAILED (log: $work/$name.log)"
        failed=1
        return
    fi
    grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added)' \
        "$work/$name.log" | tr '\n' ' '
    echo
}
run http fuzz_http_parser "$http_time" tests/fuzz/http tests/fuzz/http.dict
for b in epoll poll select; do
    RX_FUZZ_BACKEND=$b run "api-$b" fuzz_api "$api_time" tests/fuzz/api
done
[ -x "$dir/tests/fuzz_api_kqemu" ] &&
    RX_FUZZ_BACKEND=kqueue run api-kqueue fuzz_api_kqemu "$api_time" tests/fuzz/api
# Under a storm of signals (a SIGPROF every 20 us): waits interrupted with
# EINTR, which libFuzzer's own -timeout SIGALRM causes only once in a while.
for b in epoll poll; do
    RX_FUZZ_STORM_US=20 RX_FUZZ_BACKEND=$b run "api-$b-storm" fuzz_api "$storm_time" tests/fuzz/api
done
if [ "$failed" = 0 ]; then
    rm -rf "$work"
    echo "== fuzz: all passed"
fi
exit "$failed"
