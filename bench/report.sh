# bench/report.sh - the report half of bench/run.sh, which sources it: reads the
# result lines of one run ($OUT/raw.txt), takes the medians over the rounds,
# and writes the tables to $OUT/results.md and the plots to $OUT/img/. With
# PUBLISH=1 (bench/run.sh --publish) it also copies them to
# docs/results/<date>-bench.md and docs/img/, from which the headline tables
# of docs/performance.md are updated by hand. Not meant to be run alone;
# `bench/run.sh --report-only DIR` rewrites the report from a finished run.
#
# Uses from run.sh: ROOT OUT RAW CMDS ERR MODE ROUNDS RUNS ELAPSED TIMERS_N PINCMD RUN_DATE PUBLISH.
# shellcheck shell=bash

IMG=$OUT/img
declare -A M # id -> median over the rounds

# One id per result; the value is the median of that id over the rounds.
load_medians() {
    awk '
    function med(s,    v, n, i, j, t) {
        n = split(s, v, " ")
        for (i = 2; i <= n; i++) { t = v[i] + 0; for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    {
        delete f
        for (i = 2; i <= NF; i++) if (split($i, kv, "=") == 2) f[kv[1]] = kv[2]
        id = ""
        if ($2 == "dispatch") { id = "d|" f["impl"] "|" f["fds"] "|" f["a"] "|" f["mode"]; v = f["median_ns_per_event"] }
        else if ($2 == "callgrind") { id = "c|" f["impl"] "|" f["fds"] "|" f["a"] "|" f["mode"]; v = f["ir_per_event"] }
        else if ($2 == "scale") { id = "s|" f["impl"] "|" f["idle"]; v = f["ns_per_iter"] }
        else if ($2 == "wakeups") { id = "w|" f["impl"] "|" f["mode"] "|" f["producers"]
                                    v = f["mode"] == "pingpong" ? f["ns_per_round_trip"] : f["posts_per_sec"] }
        else if ($2 == "timers") { id = "t|" $4 "|" $3; v = f["ns_per_timer"] }
        else if ($2 == "cgscale") { id = "cs|" f["impl"] "|" f["idle"]; v = f["ir_per_iter"] }
        else if ($2 == "allocs") { id = "a|" f["impl"] "|" f["mode"]; v = f["allocs_per_run"] }
        if (id != "" && v != "") vals[id] = vals[id] " " v
        # Wall-clock values also by round, for ratios to the floor taken within a round.
        if ($2 == "dispatch" || $2 == "scale") {
            fam = f["impl"] ~ /-select$/ ? "select" : f["impl"] ~ /-poll$/ ? "poll" : "epoll"
            rest = $2 == "dispatch" ? f["fds"] "|" f["a"] "|" f["mode"] : f["idle"]
            inround[$1 "|" substr(id, 1, 1) "|" f["impl"] "|" rest] = v
            floorof[$1 "|" substr(id, 1, 1) "|" f["impl"] "|" rest] = $1 "|" substr(id, 1, 1) "|raw-" fam "|" rest
            idof[$1 "|" substr(id, 1, 1) "|" f["impl"] "|" rest] = substr(id, 1, 1) "r|" f["impl"] "|" rest
        }
    }
    END {
        for (id in vals) printf "%s %s\n", id, med(vals[id])
        for (k in inround) if (floorof[k] in inround && inround[floorof[k]] > 0)
            rvals[idof[k]] = rvals[idof[k]] " " inround[k] / inround[floorof[k]]
        for (id in rvals) printf "%s %s\n", id, med(rvals[id])
    }' "$RAW" >"$OUT/medians.txt"
    local id v
    while read -r id v; do M[$id]=$v; done <"$OUT/medians.txt"
}

# fmt VALUE [DECIMALS]: a number, or "–" when absent.
fmt() { [ -n "${1:-}" ] && printf "%.${2:-0}f" "$1" || printf "–"; }
ratio() { [ -n "${1:-}" ] && [ -n "${2:-}" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || printf "–"; }
cell() { # value ratio decimals -> "value (ratio×)"
    if [ -z "${1:-}" ]; then printf "–"; return; fi
    printf "%s (%s×)" "$(fmt "$1" "${3:-0}")" "$(fmt "${2:-}" 2)"
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
verdict() { if "$@" 2>/dev/null; then printf "met"; else printf "**missed**"; fi; }

EPOLL_NAMES=(raw-epoll raw-epoll-cb libreactor-epoll libevent-epoll libev-epoll libuv-epoll)
# Configurations as "fds a": what the dispatch runs covered, from the results.
configs() { # kind(d|c) impl mode -> "fds a" lines, sorted
    awk -F'|' -v k="$1" -v i="$2" -v m="$3" '$1 == k && $2 == i { split($5, x, " "); if (x[1] == m) print $3, $4 }' \
        "$OUT/medians.txt" | sort -n -k1,1 -k2,2 -u
}
pairs_of() { awk -v f="$1" '$2 ~ /^dispatch/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); g[kv[1]] = kv[2] } if (g["fds"] == f) { print g["n"]; exit } }' "$RAW"; }

dispatch_table() { # kind mode unit decimals
    local kind=$1 mode=$2 unit=$3 dec=$4 fds a impl floor
    printf "| watched fds (pairs) | A |"
    for impl in "${EPOLL_NAMES[@]}"; do printf " %s |" "$impl"; done
    printf "\n|---|---|"
    for impl in "${EPOLL_NAMES[@]}"; do printf -- "---:|"; done
    printf "\n"
    configs "$kind" raw-epoll "$mode" | while read -r fds a; do
        floor=${M[$kind|raw-epoll|$fds|$a|$mode]:-}
        printf "| %s (%s) | %s |" "$fds" "$(pairs_of "$fds")" "$a"
        for impl in "${EPOLL_NAMES[@]}"; do
            local v=${M[$kind|$impl|$fds|$a|$mode]:-} r
            if [ "$kind" = d ]; then r=${M[dr|$impl|$fds|$a|$mode]:-}; else r=$(ratio "$v" "$floor"); fi
            printf " %s |" "$(cell "$v" "$r" "$dec")"
        done
        printf "\n"
    done
    if [ "$kind" = d ]; then
        printf "\n%s; in parentheses the ratio to raw-epoll, the floor, taken within each round\n" "$unit"
        printf "(the implementations of one configuration run back to back) and its median over the rounds.\n"
        printf "raw-epoll-cb is the same\n"
    else
        printf "\n%s; in parentheses the ratio to raw-epoll, the floor. raw-epoll-cb is the same\n" "$unit"
    fi
    printf "loop calling each event through a function pointer: the floor for any callback library.\n"
}

other_table() {
    local b fds a mode floor rx
    printf "| interface | watched fds | A | mode | raw loop | libreactor | ratio |\n|---|---|---|---|---:|---:|---:|\n"
    for b in poll select; do
        configs d raw-$b loop | while read -r fds a; do
            for mode in loop rereg; do
                floor=${M[d|raw-$b|$fds|$a|$mode]:-}
                rx=${M[d|libreactor-$b|$fds|$a|$mode]:-}
                printf "| %s | %s | %s | %s | %s | %s | %s× |\n" "$b" "$fds" "$a" "$mode" \
                    "$(fmt "$floor")" "$(fmt "$rx")" "$(fmt "${M[dr|libreactor-$b|$fds|$a|$mode]:-}" 2)"
            done
        done
    done
    printf "\nMedian ns per event; the ratio is taken within each round, then its median.\n"
    printf "select is limited to descriptors below FD_SETSIZE (1024), so\n"
    printf "its 1,000-fd configuration watches both ends of 500 pairs.\n"
}

scale_table() {
    local k b
    printf "| idle fds | libreactor-epoll | raw-epoll | libreactor-poll | raw-poll | libreactor-select | raw-select |\n"
    printf "|---:|---:|---:|---:|---:|---:|---:|\n"
    for k in $(awk -F'|' '$1 == "s" { split($3, x, " "); print x[1] }' "$OUT/medians.txt" | sort -n -u); do
        printf "| %s |" "$k"
        for b in epoll poll select; do
            printf " %s | %s |" "$(fmt "${M[s|libreactor-$b|$k]:-}")" "$(fmt "${M[s|raw-$b|$k]:-}")"
        done
        printf "\n"
    done
    printf "\nMedian ns per loop iteration with one ready fd (one callback) and K idle fds registered.\n"
    if [ -n "${M[cs|libreactor-epoll|100]:-}" ]; then
        printf "\nUser-space instructions per iteration (callgrind), epoll: libreactor %s at 100 idle fds\n" \
            "$(fmt "${M[cs|libreactor-epoll|100]:-}" 1)"
        printf "and %s at 10,000; the raw loop %s and %s.\n" "$(fmt "${M[cs|libreactor-epoll|10000]:-}" 1)" \
            "$(fmt "${M[cs|raw-epoll|100]:-}" 1)" "$(fmt "${M[cs|raw-epoll|10000]:-}" 1)"
    fi
}

wakeups_table() {
    printf "| test | libreactor | libuv |\n|---|---:|---:|\n"
    local p
    for p in 1 4; do
        printf "| posts/s, %s producer thread(s) | %s | %s |\n" "$p" \
            "$(fmt "${M[w|libreactor|throughput|$p]:-}")" "$(fmt "${M[w|libuv|throughput|$p]:-}")"
    done
    printf "| ping-pong between two loops, ns per round trip | %s | %s |\n" \
        "$(fmt "${M[w|libreactor|pingpong|]:-}")" "$(fmt "${M[w|libuv|pingpong|]:-}")"
    printf "\nlibuv's posts are a mutex-protected queue plus uv_async_send(), the same work\n"
    printf "reactor_post() does; its ping-pong is a bare uv_async_send() each way.\n"
}

timers_table() {
    printf "| test | libreactor | libev | libevent | libuv |\n|---|---:|---:|---:|---:|\n"
    local t
    for t in add_fire add_cancel; do
        printf "| %s, ns per timer | %s | %s | %s | %s |\n" "$t" "$(fmt "${M[t|libreactor|$t]:-}" 1)" \
            "$(fmt "${M[t|libev|$t]:-}" 1)" "$(fmt "${M[t|libevent|$t]:-}" 1)" "$(fmt "${M[t|libuv|$t]:-}" 1)"
    done
    printf "\nCPU time per timer (bench/timers.c, %s timers).\n" "$TIMERS_N"
}

allocs_table() {
    printf "| mode |"; local impl mode
    for impl in "${EPOLL_NAMES[@]}"; do printf " %s |" "$impl"; done
    printf "\n|---|"; for impl in "${EPOLL_NAMES[@]}"; do printf -- "---:|"; done; printf "\n"
    for mode in loop rereg pause; do
        [ -n "${M[a|libreactor-epoll|$mode]:-}${M[a|raw-epoll|$mode]:-}" ] || continue # not run
        printf "| %s |" "$mode"
        for impl in "${EPOLL_NAMES[@]}"; do printf " %s |" "$(fmt "${M[a|$impl|$mode]:-}" 1)"; done
        printf "\n"
    done
    printf "\nHeap allocations per timed run (1,100 events at 1,000 fds), from valgrind's\n"
    printf "counts at -r 2 and -r 12: 0 means nothing is allocated on the steady-state path.\n"
}

# The targets rows "libreactor's wall time in this mode is below the three others'",
# at 1,000 and 10,000 fds, A=100; `label` is a printf format taking the fds.
faster_rows() { # mode label
    local mode=$1 label=$2 fds rx ev evt uv
    for fds in 1000 10000; do
        rx=${M[dr|libreactor-epoll|$fds|100|$mode]:-}
        [ -n "$rx" ] || continue
        ev=${M[dr|libevent-epoll|$fds|100|$mode]:-}; evt=${M[dr|libev-epoll|$fds|100|$mode]:-}; uv=${M[dr|libuv-epoll|$fds|100|$mode]:-}
        # shellcheck disable=SC2059 # the label is the format
        printf "| $label | %s× vs %s×, %s×, %s× the floor | %s |\n" \
            "$fds" "$(fmt "$rx" 2)" "$(fmt "$ev" 2)" "$(fmt "$evt" 2)" "$(fmt "$uv" 2)" \
            "$(verdict eval "lt $rx ${ev:-1e9} && lt $rx ${evt:-1e9} && lt $rx ${uv:-1e9}")"
    done
}

targets_table() {
    local rx raw r1 r2 ev evt uv
    printf "| target | measured | |\n|---|---|---|\n"
    local fds
    for fds in 1000 10000; do
        r1=${M[dr|libreactor-epoll|$fds|100|loop]:-}
        [ -n "$r1" ] || continue
        printf "| dispatch, epoll, %s fds, A=100: wall ≤ 1.10× floor | %s× | %s |\n" "$fds" \
            "$(fmt "$r1" 2)" "$(verdict le "$r1" 1.10)"
    done
    for fds in 1000 10000; do
        rx=${M[c|libreactor-epoll|$fds|100|loop]:-}; raw=${M[c|raw-epoll|$fds|100|loop]:-}
        [ -n "$rx" ] && [ -n "$raw" ] || continue
        printf "| dispatch, epoll, %s fds, A=100: Ir/event ≤ 1.5× floor | %s× (%s vs %s) | %s |\n" "$fds" \
            "$(ratio "$rx" "$raw")" "$(fmt "$rx" 1)" "$(fmt "$raw" 1)" "$(verdict le "$(ratio "$rx" "$raw")" 1.5)"
        ev=${M[c|libevent-epoll|$fds|100|loop]:-}; evt=${M[c|libev-epoll|$fds|100|loop]:-}; uv=${M[c|libuv-epoll|$fds|100|loop]:-}
        printf "| ... and fewer than libevent, libev, libuv | %s vs %s, %s, %s | %s |\n" "$(fmt "$rx" 1)" \
            "$(fmt "$ev" 1)" "$(fmt "$evt" 1)" "$(fmt "$uv" 1)" \
            "$(verdict eval "lt $rx ${ev:-1e9} && lt $rx ${evt:-1e9} && lt $rx ${uv:-1e9}")"
    done
    faster_rows rereg "re-registration, %s fds, A=100: faster than libevent, libev, libuv"
    faster_rows pause "dispatch with pause/resume (coalesced changes), %s fds, A=100: faster than libevent, libev and libuv"
    r1=${M[s|libreactor-epoll|100]:-}; r2=${M[s|libreactor-epoll|10000]:-}
    if [ -n "$r1" ] && [ -n "$r2" ]; then
        printf "| scale, epoll: iteration at 10,000 idle fds ≤ 1.2× at 100 | %s× | %s |\n" \
            "$(ratio "$r2" "$r1")" "$(verdict le "$(ratio "$r2" "$r1")" 1.2)"
    fi
    r1=${M[cs|libreactor-epoll|100]:-}; r2=${M[cs|libreactor-epoll|10000]:-}
    if [ -n "$r1" ] && [ -n "$r2" ]; then
        printf "| ... the same in user-space instructions per iteration | %s× (%s vs %s) | %s |\n" \
            "$(ratio "$r2" "$r1")" "$(fmt "$r2" 1)" "$(fmt "$r1" 1)" "$(verdict le "$(ratio "$r2" "$r1")" 1.2)"
    fi
    local b
    for b in poll select; do
        rx=${M[dr|libreactor-$b|1000|100|loop]:-}
        [ -n "$rx" ] && printf "| %s, 1,000 fds, A=100: ≤ 1.2× raw %s | %s× | %s |\n" "$b" "$b" \
            "$(fmt "$rx" 2)" "$(verdict le "$rx" 1.2)"
    done
    local t
    for t in add_fire add_cancel; do
        rx=${M[t|libreactor|$t]:-}; evt=${M[t|libev|$t]:-}
        [ -n "$rx" ] && [ -n "$evt" ] && printf "| timers, %s: ns/timer ≤ libev's | %s vs %s | %s |\n" "$t" \
            "$(fmt "$rx" 1)" "$(fmt "$evt" 1)" "$(verdict le "$rx" "$evt")"
    done
    rx=${M[a|libreactor-epoll|loop]:-}
    [ -n "$rx" ] && printf "| no allocation on the steady-state dispatch path | %s allocations per run | %s |\n" \
        "$(fmt "$rx" 1)" "$(verdict le "$rx" 0)"
    return 0
}

# ---- Plots --------------------------------------------------------------------------
plot_dispatch() { # kind mode file title ylabel
    local kind=$1 mode=$2 png=$3 title=$4 ylabel=$5 dat=$OUT/$3.dat fds a impl
    { printf "config"; for impl in "${EPOLL_NAMES[@]}"; do printf " %s" "$impl"; done; printf "\n"
      configs "$kind" raw-epoll "$mode" | while read -r fds a; do
          printf "\"%s/A=%s\"" "$([ "$fds" -ge 1000 ] && echo "$((fds / 1000))k" || echo "$fds")" "$a"
          for impl in "${EPOLL_NAMES[@]}"; do printf " %s" "${M[$kind|$impl|$fds|$a|$mode]:-NaN}"; done
          printf "\n"
      done; } >"$dat"
    [ "$(wc -l <"$dat")" -gt 1 ] || return 0
    gnuplot <<GP
set terminal pngcairo size 800,380 font ",9"
set output "$IMG/$png.png"
set title "$title"
set ylabel "$ylabel"
set xlabel "watched fds / bytes in flight (A)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set key outside top center horizontal
set yrange [0:*]
set grid ytics
plot for [c=2:7] "$dat" using c:xtic(1) title columnheader(c)
GP
}

plot_scale() {
    local dat=$OUT/scale.dat k
    { printf "idle libreactor-epoll raw-epoll libreactor-poll raw-poll libreactor-select raw-select\n"
      for k in $(awk -F'|' '$1 == "s" { split($3, x, " "); print x[1] }' "$OUT/medians.txt" | sort -n -u); do
          printf "%s %s %s %s %s %s %s\n" "$k" "${M[s|libreactor-epoll|$k]:-NaN}" "${M[s|raw-epoll|$k]:-NaN}" \
              "${M[s|libreactor-poll|$k]:-NaN}" "${M[s|raw-poll|$k]:-NaN}" \
              "${M[s|libreactor-select|$k]:-NaN}" "${M[s|raw-select|$k]:-NaN}"
      done; } >"$dat"
    [ "$(wc -l <"$dat")" -gt 1 ] || return 0
    gnuplot <<GP
set terminal pngcairo size 760,360 font ",9"
set output "$IMG/scale.png"
set title "One loop iteration (one ready fd) with K idle fds registered"
set xlabel "idle fds (K)"
set ylabel "ns per iteration"
set logscale xy
set grid
set key outside right top vertical
plot for [c=2:7] "$dat" using 1:c with linespoints title columnheader(c)
GP
}

report() {
    load_medians
    mkdir -p "$IMG"
    if command -v gnuplot >/dev/null; then
        plot_dispatch d loop dispatch-loop "Dispatch, loop only (median over rounds)" "ns per event"
        plot_dispatch d rereg dispatch-rereg "Dispatch with every watcher re-registered before each run" "ns per event"
        plot_dispatch d pause dispatch-pause "Dispatch with every watcher paused and resumed before each run" "ns per event"
        plot_dispatch c loop ir-per-event "User-space instructions per event (callgrind), loop only" "instructions per event"
        plot_scale
    fi
    {
        echo "# bench/run.sh, ${RUN_DATE:-$(date -u '+%Y-%m-%d %H:%M UTC')}"
        echo
        echo "- Machine: $(nproc) CPUs, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(uname -srm)"
        echo "- Date: ${RUN_DATE:-$(date -u '+%Y-%m-%d %H:%M UTC')}; run mode: $MODE, $ROUNDS round(s), $RUNS runs per program; took ${ELAPSED} s"
        echo "- Compiler: $(cc --version | head -1); libevent $(pkg-config --modversion libevent 2>/dev/null || echo -), libuv $(pkg-config --modversion libuv 2>/dev/null || echo -), libev $(dpkg-query -W -f '${Version}' libev-dev 2>/dev/null || echo -)"
        echo "- Command: \`bench/run.sh$([ "$MODE" = full ] || echo " --$MODE")\`; single-threaded programs pinned with \`${PINCMD[*]:-(not pinned)}\`"
        echo
        echo "### Targets (issue 5)"
        echo
        targets_table
        echo
        echo "### Dispatch: wall time"
        echo
        echo "libevent's bench.c method: N socketpairs with a read watcher each, A bytes in flight,"
        echo "W = 1,000 writes passed round the ring; median over the rounds of each program's median."
        echo
        echo "Loop only:"
        echo
        dispatch_table d loop "Median ns per event" 0
        echo
        [ -f "$IMG/dispatch-loop.png" ] && echo "![dispatch, loop only](img/dispatch-loop.png)" && echo
        echo "With every watcher unregistered and registered again before each run (the time"
        echo "includes the N re-registrations, divided by the A + W events):"
        echo
        dispatch_table d rereg "Median ns per event" 0
        echo
        [ -f "$IMG/dispatch-rereg.png" ] && echo "![dispatch with re-registration](img/dispatch-rereg.png)" && echo
        if [ -n "$(configs d raw-epoll pause)" ]; then
            echo "With every watcher paused and resumed before each run, its descriptor kept open and"
            echo "registered: flow control, through each library's own call (libreactor: reactor_modify()"
            echo "to no events and back; libev: ev_io_stop() and ev_io_start(); libevent: event_del() and"
            echo "event_add(); libuv: uv_poll_stop() and uv_poll_start()). The raw loops do nothing, the"
            echo "floor of perfectly coalesced changes; the time includes the N pauses and N resumes:"
            echo
            dispatch_table d pause "Median ns per event" 0
            echo
            [ -f "$IMG/dispatch-pause.png" ] && echo "![dispatch with pause and resume](img/dispatch-pause.png)" && echo
        fi
        echo "poll and select against a raw loop on the same call:"
        echo
        other_table
        echo
        echo "### Dispatch: user-space instructions per event (callgrind)"
        echo
        echo "Counted only inside the timed runs; includes the callback and the libc wrappers of"
        echo "read, write and epoll_wait, not the kernel. Repeatable to the instruction."
        echo
        echo "Loop only:"
        echo
        dispatch_table c loop "Instructions per event" 1
        echo
        if [ -n "$(configs c raw-epoll rereg)" ]; then
            echo "With re-registration:"
            echo
            dispatch_table c rereg "Instructions per event" 1
            echo
        fi
        if [ -n "$(configs c raw-epoll pause)" ]; then
            echo "With pause/resume:"
            echo
            dispatch_table c pause "Instructions per event" 1
            echo
        fi
        local b
        for b in poll select; do
            if [ -n "${M[c|raw-$b|1000|100|loop]:-}" ]; then
                echo "- $b, 1,000 fds, A=100: raw-$b $(fmt "${M[c|raw-$b|1000|100|loop]:-}" 1), libreactor-$b $(fmt "${M[c|libreactor-$b|1000|100|loop]:-}" 1) instructions per event ($(ratio "${M[c|libreactor-$b|1000|100|loop]:-}" "${M[c|raw-$b|1000|100|loop]:-}")×)"
            fi
        done
        echo
        [ -f "$IMG/ir-per-event.png" ] && echo "![instructions per event](img/ir-per-event.png)" && echo
        if grep -q '^round=[0-9]* allocs' "$RAW"; then
            echo "### Allocations on the dispatch path"
            echo
            allocs_table
            echo
        fi
        if grep -q '^round=[0-9]* scale' "$RAW"; then
            echo "### Scale: one iteration against idle registrations"
            echo
            scale_table
            echo
            [ -f "$IMG/scale.png" ] && echo "![scale](img/scale.png)" && echo
            if grep -q "^skipped: .*idle descriptors" "$ERR"; then
                echo "Not run here: $(grep "^skipped: .*idle descriptors" "$ERR" | sort -u | sed 's/^skipped: //' | head -1)."
                echo
            fi
        fi
        if grep -q '^round=[0-9]* wakeups' "$RAW"; then
            echo "### Wakeups: cross-thread posts"
            echo
            wakeups_table
            echo
        fi
        if grep -q '^round=[0-9]* timers' "$RAW"; then
            echo "### Timers"
            echo
            timers_table
            echo
        fi
        echo "### Exact commands"
        echo
        echo "<details><summary>Each line was run once per round (binaries in build/bench/bench/)</summary>"
        echo
        echo '```'
        sort -u "$CMDS"
        echo '```'
        echo
        echo "</details>"
        echo
    } >"$OUT/results.md"
    echo "== wrote $OUT/results.md and $IMG/*.png"
    [ "${PUBLISH:-0}" = 1 ] || return 0
    local day
    day=$(echo "${RUN_DATE:-$(date -u '+%Y-%m-%d')}" | cut -d' ' -f1)
    mkdir -p "$ROOT/docs/results" "$ROOT/docs/img"
    # The page lives one level down from docs/img.
    sed 's|](img/|](../img/|' "$OUT/results.md" >"$ROOT/docs/results/$day-bench.md"
    cp "$IMG"/*.png "$ROOT/docs/img/" 2>/dev/null || true
    echo "== published docs/results/$day-bench.md and docs/img/*.png; update docs/performance.md from it"
}

