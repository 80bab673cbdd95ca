/*
 * timer_lateness.c - benchmark (not a test): how late a timer fires on an
 * idle loop.
 *
 * A chain of one-shot timers of `after_ms` each: every callback notes
 * CLOCK_MONOTONIC, then arms the next timer (so the arming happens where
 * users arm timers, in a callback, with the loop's cached clock as old as
 * that iteration). Lateness = fire time - arm time - after_ms, in
 * microseconds; a negative value is a timer that fired early.
 *
 * Prints one line per library and timeout:
 *   lateness <library> after_ms=<n> work_us=<n> samples=<n> min_us=<x> p50_us=<x> p99_us=<x>
 * max_us=<x> The same chain runs on libev and libuv when compiled with RX_BENCH_LIBEV and
 * RX_BENCH_LIBUV.
 *
 * Each runs twice: with callbacks that only re-arm (work_us=0), and with
 * callbacks that work 300 us first, which is when a timer armed from a
 * cached millisecond clock fires early.
 *
 * Usage: timer_lateness [samples_1ms [samples_10ms]]   (default 1000 and 200)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "reactor.h"

#ifdef RX_BENCH_LIBEV
#include <ev.h>
#endif
#ifdef RX_BENCH_LIBUV
#include <uv.h>
#endif

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct chain {
    int after_ms;
    int n, done;
    int64_t work_us; /* busy work in each callback before it arms the next timer */
    int64_t armed;
    int64_t *late_ns;
};

static struct chain chain;

static void chain_reset(int after_ms, int n)
{
    chain.after_ms = after_ms;
    chain.n = n;
    chain.done = 0;
    chain.late_ns = malloc((size_t)n * sizeof *chain.late_ns);
    if (!chain.late_ns)
        exit(1);
}

/* Notes one fire, then works `work_us` as a busy callback would; returns 1
 * if another timer should be armed. */
static int chain_fired(void)
{
    chain.late_ns[chain.done++] = now_ns() - chain.armed - (int64_t)chain.after_ms * 1000000;
    int64_t end = now_ns() + chain.work_us * 1000;
    while (now_ns() < end) {
    }
    return chain.done < chain.n;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void chain_report(const char *lib)
{
    int n = chain.done;
    qsort(chain.late_ns, (size_t)n, sizeof *chain.late_ns, cmp_i64);
    printf("lateness %s after_ms=%d work_us=%d samples=%d min_us=%.1f p50_us=%.1f p99_us=%.1f "
           "max_us=%.1f\n",
           lib, chain.after_ms, (int)chain.work_us, n, chain.late_ns[0] / 1e3,
           chain.late_ns[n / 2] / 1e3, chain.late_ns[(n * 99) / 100] / 1e3,
           chain.late_ns[n - 1] / 1e3);
    free(chain.late_ns);
}

/* ---- libreactor --------------------------------------------------------------- */

static void reactor_chain_cb(reactor_t *r, int64_t id, void *data)
{
    (void)id;
    (void)data;
    if (chain_fired()) {
        chain.armed = now_ns();
        reactor_timer_add(r, (uint64_t)chain.after_ms, 0, reactor_chain_cb, NULL);
    }
}

static void bench_reactor(int after_ms, int n)
{
    reactor_t *r = reactor_new(NULL);
    if (!r)
        exit(1);
    chain_reset(after_ms, n);
    chain.armed = now_ns();
    reactor_timer_add(r, (uint64_t)after_ms, 0, reactor_chain_cb, NULL);
    reactor_run(r);
    chain_report("libreactor");
    reactor_free(r);
}

/* ---- libev -------------------------------------------------------------------- */

#ifdef RX_BENCH_LIBEV
static void libev_chain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    if (chain_fired()) {
        chain.armed = now_ns();
        ev_timer_set(w, chain.after_ms / 1000.0, 0.);
        ev_timer_start(loop, w);
    }
}

static void bench_libev(int after_ms, int n)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    ev_timer w;
    chain_reset(after_ms, n);
    ev_timer_init(&w, libev_chain_cb, after_ms / 1000.0, 0.);
    ev_now_update(loop);
    chain.armed = now_ns();
    ev_timer_start(loop, &w);
    ev_run(loop, 0);
    chain_report("libev");
    ev_loop_destroy(loop);
}
#endif

/* ---- libuv -------------------------------------------------------------------- */

#ifdef RX_BENCH_LIBUV
static void libuv_chain_cb(uv_timer_t *t)
{
    if (chain_fired()) {
        chain.armed = now_ns();
        uv_timer_start(t, libuv_chain_cb, (uint64_t)chain.after_ms, 0);
    }
}

static void bench_libuv(int after_ms, int n)
{
    uv_loop_t loop;
    uv_timer_t t;
    uv_loop_init(&loop);
    uv_timer_init(&loop, &t);
    chain_reset(after_ms, n);
    uv_update_time(&loop);
    chain.armed = now_ns();
    uv_timer_start(&t, libuv_chain_cb, (uint64_t)after_ms, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    chain_report("libuv");
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}
#endif

int main(int argc, char **argv)
{
    int n1 = argc > 1 ? atoi(argv[1]) : 1000;
    int n10 = argc > 2 ? atoi(argv[2]) : 200;
    if (n1 < 1 || n10 < 1)
        return 2;
    const int after[2] = {1, 10};
    const int count[2] = {n1, n10};
    for (int k = 0; k < 4; k++) {
        int i = k % 2;
        chain.work_us = k < 2 ? 0 : 300;
        bench_reactor(after[i], count[i]);
#ifdef RX_BENCH_LIBEV
        bench_libev(after[i], count[i]);
#endif
#ifdef RX_BENCH_LIBUV
        bench_libuv(after[i], count[i]);
#endif
    }
    return 0;
}
