#!/usr/bin/env bash
# bench/net.sh - the network benchmarks of the examples (issue 4 and 5):
# reactor-httpd against nginx and a hand-written epoll server (the floor), and
# reactor-echo against an epoll echo floor and a libuv echo server.
#
#   bench/net.sh            full run (about 5 minutes on 2 cores)
#   bench/net.sh --quick    one round, short runs (about 1 minute)
#
# Options: --build DIR (default build/net), --rounds N, --out DIR,
#          --report-only DIR (the summary again, from DIR/raw.txt)
#
# Everything talks to 127.0.0.1 only. Servers are pinned to CPU 0 and the load
# generators (wrk, ab, the echo and idle clients) to CPU 1. Each measurement is
# run for every server in turn, starting from a different one each round, and
# the report gives the median over the rounds. Besides requests per second it
# reports the server's CPU time per request (its threads' time on a CPU, from
# /proc/PID/task/*/schedstat before and after the run): a single-threaded wrk is
# often the bottleneck, and then req/s says more about wrk than about the server.
#
# One line per result goes to OUT/raw.txt, prefixed with round=N like
# bench/run.sh's; OUT/summary.md holds the median tables and OUT/commands.txt
# the exact commands. Every process started here is stopped here, by PID.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/net
MODE=full
ROUNDS=
OUT=
REPORT_ONLY=

while [ $# -gt 0 ]; do
    case $1 in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --build) BUILD=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --report-only) REPORT_ONLY=$2; shift ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "net.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

if [ "$MODE" = quick ]; then
    : "${ROUNDS:=1}"
    KA_SECS=3; PIPE_SECS=3; C1000_SECS=0; AB_N=2000; IDLE_N=2000; ECHO_SECS=1
    ECHO_CONFIGS=("100 64")
else
    : "${ROUNDS:=3}"
    KA_SECS=10; PIPE_SECS=5; C1000_SECS=5; AB_N=10000; IDLE_N=10000; ECHO_SECS=2
    ECHO_CONFIGS=("1 64" "100 64" "1000 64" "100 4096")
fi
PIPE_DEPTH=16

for tool in wrk ab nginx taskset python3; do
    command -v $tool >/dev/null || { echo "net.sh: $tool not found" >&2; exit 1; }
done
# 10,000 idle connections need 10,000 descriptors in the server and in the client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((IDLE_N + 100)) ]; then
    echo "net.sh: ulimit -n is $(ulimit -n), $IDLE_N idle connections need $((IDLE_N + 100))" >&2
    exit 1
fi

NCPU=$(nproc 2>/dev/null || echo 1)
if [ "$NCPU" -ge 2 ]; then
    SRV_PIN=(taskset -c 0)
    CLI_PIN=(taskset -c 1)
else
    SRV_PIN=()
    CLI_PIN=()
fi

# ---- Summary: medians over the rounds, from OUT/raw.txt ----------------------------
summarize() {
    cat "$OUT/meta.txt"
    echo
    awk '
    function median(key,   n, i, j, t, a) {
        n = split(vals[key], a, " ")
        for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function add(key, v) { vals[key] = vals[key] (vals[key] == "" ? "" : " ") v }
    # The median over rounds of a/b, each pair from the same round: the two ran
    # back to back, so the ratio cancels most of what makes rounds differ.
    function paired(a, b,   r, out, x) {
        out = ""
        for (r = 1; r <= maxround; r++)
            if ((a SUBSEP r) in byr && (b SUBSEP r) in byr && byr[b SUBSEP r] + 0 > 0) {
                x = byr[a SUBSEP r] / byr[b SUBSEP r]
                out = out (out == "" ? "" : " ") x
            }
        if (out == "") return ""
        vals["paired"] = out
        return sprintf("%.2f", median("paired"))
    }
    {
        delete f
        for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        kind = $2
        split($1, rk, "="); rnd = rk[2] + 0
        if (rnd > maxround) maxround = rnd
        if (kind == "http" || kind == "ab") {
            id = (kind == "ab" ? (f["ka"] == 1 ? "ab -k -c 100" : "ab -c 100 (no keep-alive)") : f["mode"] " -c " f["conns"]) SUBSEP f["impl"]
            if (!(id in seen)) { seen[id] = 1; order[++no] = id }
            add(id SUBSEP "rps", f["req_per_s"]); add(id SUBSEP "cpu", f["cpu_us_per_req"])
            byr[id SUBSEP "cpu" SUBSEP rnd] = f["cpu_us_per_req"]
            if (f["p99_us"] + 0 > 0) add(id SUBSEP "p99", f["p99_us"]) # 0: wrk gave none
            add(id SUBSEP "err", kind == "ab" ? f["failed"] : f["errors"] + f["non2xx"])
            if (kind == "http") add(id SUBSEP "pct", f["server_cpu_pct"]); else add(id SUBSEP "pct", "-")
        } else if (kind == "memory") {
            mem[++nm] = "| " f["impl"] " | " f["conns"] " | " f["rss_before_kb"] " | " f["rss_after_kb"] " | " f["bytes_per_conn"] " |"
        } else if (kind == "echo") {
            id = f["conns"] SUBSEP f["size"] SUBSEP f["impl"]
            if (!(id in seen)) { seen[id] = 1; eorder[++ne] = id }
            add(id SUBSEP "rt", f["round_trips_per_s"]); add(id SUBSEP "err", f["errors"])
            byr[id SUBSEP rnd] = f["round_trips_per_s"]
        }
    }
    END {
        print "HTTP (wrk -t1 and ab, GET /, medians):"
        print ""
        print "| run | server | req/s | server CPU µs/req | server CPU % | p99 latency µs | errors (sum) | CPU/req ÷ nginx, per round |"
        print "|---|---|---:|---:|---:|---:|---:|---:|"
        for (k = 1; k <= no; k++) {
            split(order[k], p, SUBSEP); id = order[k]
            n = split(vals[id SUBSEP "err"], e, " "); es = 0; for (i = 1; i <= n; i++) es += e[i]
            pct = vals[id SUBSEP "pct"] ~ /-/ ? "-" : median(id SUBSEP "pct")
            p99 = vals[id SUBSEP "p99"] == "" ? "n/a" : sprintf("%.0f", median(id SUBSEP "p99"))
            pr = paired(id SUBSEP "cpu", p[1] SUBSEP "nginx" SUBSEP "cpu")
            printf "| %s | %s | %.0f | %.2f | %s | %s | %d | %s |\n", p[1], p[2], median(id SUBSEP "rps"),
                   median(id SUBSEP "cpu"), pct, p99, es, (pr == "" ? "-" : pr)
        }
        print ""
        print "Memory (idle keep-alive connections, server VmRSS):"
        print ""
        print "| server | connections | RSS before kB | RSS after kB | bytes per connection |"
        print "|---|---:|---:|---:|---:|"
        for (k = 1; k <= nm; k++) print mem[k]
        print ""
        print "Echo (one message in flight per connection, medians):"
        print ""
        print "| connections | message | server | round trips/s | ratio to floor | errors | ÷ floor, per round | ÷ libuv, per round |"
        print "|---:|---:|---|---:|---:|---:|---:|---:|"
        for (k = 1; k <= ne; k++) {
            split(eorder[k], p, SUBSEP); id = eorder[k]
            fl = median(p[1] SUBSEP p[2] SUBSEP "floor" SUBSEP "rt")
            pf = paired(id, p[1] SUBSEP p[2] SUBSEP "floor")
            pu = paired(id, p[1] SUBSEP p[2] SUBSEP "libuv")
            printf "| %s | %s B | %s | %.0f | %.2f | %d | %s | %s |\n", p[1], p[2], p[3], median(id SUBSEP "rt"),
                   (fl > 0 ? median(id SUBSEP "rt") / fl : 0), median(id SUBSEP "err"),
                   (pf == "" ? "-" : pf), (pu == "" ? "-" : pu)
        }
    }' "$OUT/raw.txt"
}

if [ -n "$REPORT_ONLY" ]; then
    OUT=$(cd "$REPORT_ONLY" && pwd)
    summarize | tee "$OUT/summary.md"
    exit 0
fi

# ---- Build ------------------------------------------------------------------
echo "== building into $BUILD"
mkdir -p "$BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" \
    -DREACTOR_BUILD_BENCH=ON -DREACTOR_BUILD_EXAMPLES=ON -DREACTOR_BUILD_TESTS=OFF \
    >"$BUILD/configure.log" 2>&1 || { cat "$BUILD/configure.log"; exit 1; }
cmake --build "$BUILD" -j "$NCPU" >"$BUILD/build.log" 2>&1 || { tail -40 "$BUILD/build.log"; exit 1; }
HTTPD=$BUILD/examples/reactor-httpd
# reactor-httpd refuses to run as root without --user or --allow-root; nothing is
# served from --root here, so staying root changes nothing that is measured.
HTTPD_ROOT=()
[ "$(id -u)" != 0 ] || HTTPD_ROOT=(--allow-root)
ECHO=$BUILD/examples/reactor-echo
BIN=$BUILD/bench

[ -n "$OUT" ] || OUT=$BUILD/results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RAW=$OUT/raw.txt
CMDS=$OUT/commands.txt
LOG=$OUT/log.txt
: >"$RAW"; : >"$CMDS"; : >"$LOG"
TMP=$(mktemp -d /tmp/rx-net.XXXXXX)

# ---- Processes ------------------------------------------------------------------
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() { # PORT: until something accepts there (5 s at most)
    local i
    for ((i = 0; i < 100; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "net.sh: nothing listens on port $1" >&2
    return 1
}

# Starts a server in the background, pinned; sets SPID (its PID) and PORT.
start() { # NAME ARGS... (the string @PORT in ARGS is replaced by the port)
    local name=$1; shift
    PORT=$(free_port)
    local args=("${@//@PORT/$PORT}")
    echo "$name: ${args[*]}" | sed "s|$BUILD/||g;s|$ROOT/||g;s|$TMP|TMPDIR|g;s|$PORT|PORT|g" >>"$CMDS"
    "${SRV_PIN[@]}" "${args[@]}" >>"$LOG" 2>&1 &
    SPID=$!
    PIDS+=("$SPID")
    wait_port "$PORT"
}

# nginx, one worker, from a temporary prefix; the system's nginx is not touched.
# SPID is the worker (the process that serves); the master is stopped at exit.
start_nginx() {
    local dir=$TMP/nginx.$1 i
    mkdir -p "$dir/logs"
    PORT=$(free_port)
    # keepalive_requests is raised from its default (1000) so that nginx, like
    # the others, keeps each wrk connection for the whole run.
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 20000; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path $dir/body;
    server {
        listen 127.0.0.1:$PORT;
        location = / { default_type text/plain; return 200 "Hello, world!\n"; }
    }
}
EOF
    if [ "$1" = ka ]; then
        sed "s|$TMP|TMPDIR|g;s|$PORT|PORT|g" "$dir/nginx.conf" | sed 's/^/    /' >"$OUT/nginx.conf.txt"
        echo "nginx: nginx -p TMPDIR -c TMPDIR/nginx.conf (config in nginx.conf.txt)" >>"$CMDS"
    fi
    "${SRV_PIN[@]}" nginx -p "$dir" -c "$dir/nginx.conf" >>"$LOG" 2>&1 &
    PIDS+=("$!")
    local master=$!
    wait_port "$PORT"
    SPID=
    for ((i = 0; i < 50; i++)); do
        SPID=$(pgrep -P "$master" | head -1 || true)
        [ -z "$SPID" ] || break
        sleep 0.05
    done
    [ -n "$SPID" ] || { echo "net.sh: no nginx worker" >&2; exit 1; }
}

stop() { # PID: stops a server started here and forgets it
    local p=$1 keep=() q
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    for q in "${PIDS[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
    PIDS=("${keep[@]}")
}

# PID: its CPU time in µs, all threads. schedstat's first field is the time on
# a CPU in ns; utime+stime from /proc/PID/stat come in 10 ms ticks, which left
# ab's 0.3 s of server CPU per run good to only 3%.
cpu_us() {
    cat "/proc/$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s / 1000 }'
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# ---- HTTP: wrk and ab -------------------------------------------------------------
declare -A HPORT HPID

to_us() { # wrk's 1.23ms / 456.78us / 1.2s -> microseconds
    awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") f = 1; else if (u == "ms") f = 1000; else if (u == "s") f = 1000000; else f = 60000000
        printf "%.0f", n * f }'
}

wrk_one() { # IMPL MODE CONNS SECS
    local impl=$1 mode=$2 conns=$3 secs=$4 port=${HPORT[$1]} pid=${HPID[$1]}
    local extra=() t0 t1 out
    [ "$mode" = pipelined ] && extra=(-s "$ROOT/bench/pipeline.lua" -- "$PIPE_DEPTH")
    local cmd=(wrk -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/" "${extra[@]}")
    [ "$ROUND" -gt 1 ] || echo "${CLI_PIN[*]} ${cmd[*]}  # $impl" | sed "s|$ROOT/||;s|:$port/|:PORT/|" >>"$CMDS"
    t0=$(cpu_us "$pid")
    out=$("${CLI_PIN[@]}" "${cmd[@]}" 2>&1) || true
    t1=$(cpu_us "$pid")
    echo "$out" >>"$LOG"
    local rps reqs p99 errs non2xx
    rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
    reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
    p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
    errs=$(echo "$out" | awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }')
    non2xx=$(echo "$out" | awk '/Non-2xx/ { print $NF }')
    if [ -z "$rps" ] || [ -z "$reqs" ] || [ "$reqs" = 0 ]; then
        echo "net.sh: wrk against $impl gave no result" >&2
        return 0
    fi
    http_result "$impl" "$mode" "$conns" "$secs" "$rps" "$reqs" $((t1 - t0)) \
        "p99_us=$(to_us "$p99") errors=${errs:-0} non2xx=${non2xx:-0}"
}

# One result line of a timed HTTP run: IMPL MODE CONNS SECS REQ_PER_S REQUESTS SERVER_CPU_US REST
http_result() {
    echo "round=$ROUND http impl=$1 mode=$2 conns=$3 secs=$4 req_per_s=$5" \
        "cpu_us_per_req=$(awk -v d="$7" -v n="$6" 'BEGIN { printf "%.2f", d / n }')" \
        "server_cpu_pct=$(awk -v d="$7" -v s="$4" 'BEGIN { printf "%.0f", d / 1e4 / s }')" \
        "$8" >>"$RAW"
}

ab_one() { # IMPL [k] (without k: one connection per request; with it, ab -k keep-alive)
    local impl=$1 ka=${2:+1} port=${HPORT[$1]} pid=${HPID[$1]} t0 t1 out
    [ "$impl" = floor ] && [ -z "$ka" ] && port=${HPORT[floor-close]} pid=${HPID[floor-close]}
    local cmd=(ab -q ${ka:+-k} -c 100 -n "$AB_N" "http://127.0.0.1:$port/")
    [ "$ROUND" -gt 1 ] || echo "${CLI_PIN[*]} ${cmd[*]}  # $impl" | sed "s|:$port/|:PORT/|" >>"$CMDS"
    t0=$(cpu_us "$pid")
    out=$("${CLI_PIN[@]}" "${cmd[@]}" 2>&1) || true
    t1=$(cpu_us "$pid")
    echo "$out" >>"$LOG"
    local rps failed complete p99
    rps=$(echo "$out" | awk '/^Requests per second:/ { print $4 }')
    failed=$(echo "$out" | awk '/^Failed requests:/ { print $3 }')
    complete=$(echo "$out" | awk '/^Complete requests:/ { print $3 }')
    p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
    [ -n "$rps" ] || { echo "net.sh: ab against $impl gave no result" >&2; return 0; }
    echo "round=$ROUND ab impl=$impl ka=${ka:-0} conns=100 n=$AB_N req_per_s=$rps" \
        "cpu_us_per_req=$(awk -v d=$((t1 - t0)) -v n="$complete" 'BEGIN { printf "%.2f", d / n }')" \
        "p99_us=$((p99 * 1000)) failed=$failed" >>"$RAW"
}

# h2load --h1 -m10: ten requests in flight per connection, the issue's pipelined test (wrk's
# pipeline.lua above sends 16 at a time and waits for all 16; h2load keeps 10 in flight).
h2load_one() { # IMPL
    local impl=$1 port=${HPORT[$1]} pid=${HPID[$1]} t0 t1 out
    local cmd=(h2load --h1 -t1 -c100 -m10 -D "$PIPE_SECS" "http://127.0.0.1:$port/")
    [ "$ROUND" -gt 1 ] || echo "${CLI_PIN[*]} ${cmd[*]}  # $impl" | sed "s|:$port/|:PORT/|" >>"$CMDS"
    t0=$(cpu_us "$pid")
    out=$("${CLI_PIN[@]}" "${cmd[@]}" 2>&1) || true
    t1=$(cpu_us "$pid")
    echo "$out" >>"$LOG"
    local rps done_n failed
    rps=$(echo "$out" | awk '/^finished in/ { gsub(",", ""); print $4 }')
    done_n=$(echo "$out" | awk '/^requests:/ { print $6 }')
    failed=$(echo "$out" | awk '/^requests:/ { print $10 + $12 + $14 }')
    if [ -z "$rps" ] || [ -z "$done_n" ] || [ "$done_n" = 0 ]; then
        echo "net.sh: h2load against $impl gave no result" >&2
        return 0
    fi
    http_result "$impl" h2load-m10 100 "$PIPE_SECS" "$rps" "$done_n" $((t1 - t0)) \
        "p99_us=0 errors=${failed:-0} non2xx=0"
}

HTTP_IMPLS=(reactor-httpd nginx floor)

http_start_all() {
    start reactor-httpd "$HTTPD" --port @PORT --threads 1 --quiet "${HTTPD_ROOT[@]}"
    HPORT[reactor-httpd]=$PORT; HPID[reactor-httpd]=$SPID
    start_nginx ka
    HPORT[nginx]=$PORT; HPID[nginx]=$SPID
    start floor "$BIN/bench-http-floor" @PORT
    HPORT[floor]=$PORT; HPID[floor]=$SPID
    start floor-close "$BIN/bench-http-floor" @PORT --close
    HPORT[floor-close]=$PORT; HPID[floor-close]=$SPID
}

# Runs FN ARGS for every HTTP implementation, rotating the order each round.
each_http() {
    local n=${#HTTP_IMPLS[@]} i
    for ((i = 0; i < n; i++)); do
        "$@" "${HTTP_IMPLS[$(((i + ROUND) % n))]}"
    done
}
wrk_as() { wrk_one "$4" "$1" "$2" "$3"; } # MODE CONNS SECS IMPL
ab_ka() { ab_one "$1" k; }                 # IMPL

# ---- Memory: RSS per idle keep-alive connection ---------------------------------------
mem_one() { # IMPL
    local impl=$1 pid before after fifo=$TMP/idle.fifo client i
    case $impl in
    reactor-httpd) start reactor-httpd "$HTTPD" --port @PORT --threads 1 --quiet --max-conns 19000 "${HTTPD_ROOT[@]}" ;;
    nginx) start_nginx mem ;;
    floor) start floor "$BIN/bench-http-floor" @PORT ;;
    esac
    pid=$SPID
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" # first request: lazily made state is not per connection
    sleep 0.2
    before=$(rss_kb "$pid")
    rm -f "$fifo"; mkfifo "$fifo"
    "${CLI_PIN[@]}" python3 "$ROOT/bench/idle_conns.py" "$PORT" "$IDLE_N" <"$fifo" >"$TMP/idle.out" 2>>"$LOG" &
    client=$!
    PIDS+=("$client")
    exec 7>"$fifo"
    for ((i = 0; i < 1200; i++)); do
        grep -q '^ready' "$TMP/idle.out" 2>/dev/null && break
        kill -0 "$client" 2>/dev/null || break
        sleep 0.05
    done
    sleep 0.5 # let the server finish the last answers and release their buffers
    after=$(rss_kb "$pid")
    local ready
    ready=$(awk '/^ready/ { print $2 }' "$TMP/idle.out")
    exec 7>&-
    wait "$client" 2>/dev/null || true
    stop "$client"
    [ "$ROUND" -gt 1 ] || echo "${CLI_PIN[*]} python3 bench/idle_conns.py PORT $IDLE_N  # $impl: server VmRSS before and after" >>"$CMDS"
    if [ "${ready:-0}" != "$IDLE_N" ]; then
        echo "net.sh: $impl: only ${ready:-0} of $IDLE_N idle connections held" >&2
    else
        echo "round=$ROUND memory impl=$impl conns=$IDLE_N rss_before_kb=$before rss_after_kb=$after" \
            "bytes_per_conn=$(awk -v a="$after" -v b="$before" -v n="$IDLE_N" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')" >>"$RAW"
    fi
    if [ "$impl" = nginx ]; then
        stop "$(cat "$TMP/nginx.mem/nginx.pid")"
    else
        stop "$pid"
    fi
}

# ---- Echo -------------------------------------------------------------------------------
declare -A EPORT
ECHO_IMPLS=(reactor-echo floor)
echo_start_all() {
    start reactor-echo "$ECHO" --port @PORT --quiet
    EPORT[reactor-echo]=$PORT
    start echo-floor "$BIN/bench-echo-floor" @PORT
    EPORT[floor]=$PORT
    if [ -x "$BIN/bench-echo-libuv" ]; then
        start echo-libuv "$BIN/bench-echo-libuv" @PORT
        EPORT[libuv]=$PORT
        ECHO_IMPLS+=(libuv)
    else
        echo "== libuv not found: no libuv echo server"
    fi
}

echo_one() { # CONNS SIZE IMPL
    local cmd=("$BIN/bench-echo-load" --port "${EPORT[$3]}" --conns "$1" --size "$2" --seconds "$ECHO_SECS" --impl "$3")
    [ "$ROUND" -gt 1 ] || echo "${CLI_PIN[*]} ${cmd[*]}" | sed "s|$BUILD/||;s|--port [0-9]*|--port PORT|" >>"$CMDS"
    local line
    line=$("${CLI_PIN[@]}" "${cmd[@]}" 2>>"$LOG") || echo "net.sh: echo load against $3 failed: $line" >&2
    [ -z "$line" ] || echo "round=$ROUND $line" >>"$RAW"
}

# ---- Go ---------------------------------------------------------------------------------
T0=$(date +%s)
echo "== memory: RSS per idle keep-alive connection ($IDLE_N connections)"
ROUND=1
for impl in reactor-httpd nginx floor; do mem_one $impl; done

http_start_all
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    echo "== round $ROUND/$ROUNDS: http keep-alive, pipelined (wrk, h2load), ab"
    each_http wrk_as keepalive 100 "$KA_SECS"
    [ "$C1000_SECS" = 0 ] || each_http wrk_as keepalive 1000 "$C1000_SECS"
    each_http wrk_as pipelined 100 "$PIPE_SECS"
    if command -v h2load >/dev/null; then
        each_http h2load_one
    elif [ "$ROUND" = 1 ]; then
        echo "net.sh: h2load not found (Debian: nghttp2-client): skipping the h2load --h1 -m10 runs" >&2
    fi
    each_http ab_one
    each_http ab_ka
done
for impl in "${HTTP_IMPLS[@]}" floor-close; do
    if [ "$impl" = nginx ]; then stop "$(cat "$TMP/nginx.ka/nginx.pid")"; else stop "${HPID[$impl]}"; fi
done

echo_start_all
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    echo "== round $ROUND/$ROUNDS: echo"
    for cfg in "${ECHO_CONFIGS[@]}"; do
        n=${#ECHO_IMPLS[@]}
        for ((i = 0; i < n; i++)); do
            # shellcheck disable=SC2086 # cfg is "CONNS SIZE"
            echo_one $cfg "${ECHO_IMPLS[$(((i + ROUND) % n))]}"
        done
    done
done
ELAPSED=$(($(date +%s) - T0))
echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'), mode $MODE, $ROUNDS round(s), ${ELAPSED}s;" \
    "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r)." >"$OUT/meta.txt"
summarize >"$OUT/summary.md"

cat "$OUT/summary.md"
echo "== done in ${ELAPSED}s; results in $OUT"
