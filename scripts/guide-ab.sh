#!/usr/bin/env bash
# guide-ab.sh - the numbers of docs/guide.md: ab -c 100 against each HTTP step
# of examples/guide/, on 127.0.0.1, one server at a time.
#
#   bash scripts/guide-ab.sh [BUILD_DIR]     (default build/g; build it first)
#
# Prints one line per run: program, simulated work per request, requests,
# requests per second and the longest request, as ab measured them. Each
# server is started on a free port and stopped by its PID.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build/g}/examples/guide
command -v ab >/dev/null || { echo "ab (apache2-utils) is needed" >&2; exit 1; }

run() { # program delay_ms requests [env...]
    local prog=$1 delay=$2 n=$3 pid port out
    shift 3
    coproc srv { exec env "$@" "$dir/$prog" 0 "$delay"; } # exec: $srv_PID is the server
    pid=$srv_PID
    read -r -t 5 line <&"${srv[0]}" || { echo "$prog: no first line" >&2; kill "$pid"; return 1; }
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' <<<"$line")
    out=$(ab -q -c 100 -n "$n" -s 30 "http://127.0.0.1:$port/" 2>&1)
    kill "$pid" && wait "$pid" 2>/dev/null
    printf '%-14s delay=%-3sms n=%-6s %8s req/s  longest %6s ms  failed %s  %s\n' "$prog" "$delay" "$n" \
        "$(awk '/^Requests per second/ {print $4}' <<<"$out")" \
        "$(awk '/100%/ {print $2}' <<<"$out")" \
        "$(awk '/^Failed requests/ {print $3}' <<<"$out")" "$*"
}

for p in 01_blocking 02_threads 03_select 04_poll 05_epoll 06_selectors; do
    run "$p" 0 20000
done
run 01_blocking 10 500
run 02_threads 10 5000
run 09_work_pool 10 2000
run 09_work_pool 10 5000 REACTOR_THREADPOOL_SIZE=100
