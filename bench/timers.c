/*
 * timers.c - benchmark (not a test): one million timers.
 *
 *   add_fire    add N timers with pseudo-random timeouts in [0, 1000) ms, then
 *               run the loop until every one has fired;
 *   add_cancel  add N timers, then cancel them all in a shuffled order.
 *
 * Prints one line per run: `timers <run> <library> ns_per_timer=<n>`. The time
 * is CPU time (CLOCK_PROCESS_CPUTIME_ID) divided by N: add_fire spends up to a
 * second of wall time waiting for the last deadline, which is not work.
 *
 * The same runs, with the same timeouts and cancel order, are made on libev,
 * libuv and libevent when this file is compiled with RX_BENCH_LIBEV,
 * RX_BENCH_LIBUV and RX_BENCH_LIBEVENT, and linked with -levent_core -lev -luv
 * in that order: libev.so also exports libevent-compatible event_* symbols,
 * which would otherwise shadow libevent's. Their timers are preallocated by the
 * caller (their APIs take the memory), while libreactor allocates its own:
 * that cost is in our numbers.
 *
 * Usage: timers [N]   (default 1000000)
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
#ifdef RX_BENCH_LIBEVENT
#include <event2/event.h>
#include <event2/event_struct.h>
#endif

static size_t n_timers = 1000000;
static uint32_t *timeouts; /* ms, per timer */
static size_t *cancel_order;
static size_t fired;

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void report(const char *run, const char *lib, uint64_t start)
{
    printf("timers %s %s ns_per_timer=%.1f\n", run, lib, (double)(cpu_ns() - start) / n_timers);
    fflush(stdout);
}

static void check_fired(const char *lib)
{
    if (fired != n_timers) {
        fprintf(stderr, "%s: %zu of %zu timers fired\n", lib, fired, n_timers);
        exit(1);
    }
}

static uint64_t rng_state = 0x243f6a8885a308d3u;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

static void make_workload(void)
{
    timeouts = malloc(n_timers * sizeof *timeouts);
    cancel_order = malloc(n_timers * sizeof *cancel_order);
    if (!timeouts || !cancel_order) {
        perror("malloc");
        exit(1);
    }
    for (size_t i = 0; i < n_timers; i++) {
        timeouts[i] = (uint32_t)(rng() % 1000);
        cancel_order[i] = i;
    }
    for (size_t i = n_timers - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = (size_t)(rng() % (i + 1));
        size_t t = cancel_order[i];
        cancel_order[i] = cancel_order[j];
        cancel_order[j] = t;
    }
}

/* ---- libreactor -------------------------------------------------------------- */

static void libreactor_cb(reactor_t *r, int64_t id, void *data)
{
    (void)r;
    (void)id;
    (void)data;
    fired++;
}

static void bench_libreactor(void)
{
    int64_t *ids = malloc(n_timers * sizeof *ids);
    reactor_t *r = reactor_new(NULL);
    if (!ids || !r) {
        perror("libreactor");
        exit(1);
    }

    fired = 0;
    uint64_t start = cpu_ns();
    for (size_t i = 0; i < n_timers; i++)
        reactor_timer_add(r, timeouts[i], 0, libreactor_cb, NULL);
    reactor_run(r);
    report("add_fire", "libreactor", start);
    check_fired("libreactor");

    start = cpu_ns();
    for (size_t i = 0; i < n_timers; i++)
        ids[i] = reactor_timer_add(r, timeouts[i], 0, libreactor_cb, NULL);
    for (size_t i = 0; i < n_timers; i++)
        reactor_timer_cancel(r, ids[cancel_order[i]]);
    report("add_cancel", "libreactor", start);

    reactor_free(r);
    free(ids);
}

/* ---- libev ------------------------------------------------------------------- */

#ifdef RX_BENCH_LIBEV
static void libev_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    fired++;
}

static void bench_libev(void)
{
    ev_timer *t = malloc(n_timers * sizeof *t);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);

    fired = 0;
    uint64_t start = cpu_ns();
    for (size_t i = 0; i < n_timers; i++) {
        ev_timer_init(&t[i], libev_cb, timeouts[i] / 1000.0, 0.);
        ev_timer_start(loop, &t[i]);
    }
    ev_run(loop, 0);
    report("add_fire", "libev", start);
    check_fired("libev");

    start = cpu_ns();
    for (size_t i = 0; i < n_timers; i++) {
        ev_timer_init(&t[i], libev_cb, timeouts[i] / 1000.0, 0.);
        ev_timer_start(loop, &t[i]);
    }
    for (size_t i = 0; i < n_timers; i++)
        ev_timer_stop(loop, &t[cancel_order[i]]);
    report("add_cancel", "libev", start);

    ev_loop_destroy(loop);
    free(t);
}
#endif

/* ---- libuv ------------------------------------------------------------------- */

#ifdef RX_BENCH_LIBUV
static void libuv_cb(uv_timer_t *t)
{
    (void)t;
    fired++;
}

static void bench_libuv(void)
{
    uv_timer_t *t = malloc(n_timers * sizeof *t);
    uv_loop_t loop;
    uv_loop_init(&loop);

    fired = 0;
    uint64_t start = cpu_ns();
    for (size_t i = 0; i < n_timers; i++) {
        uv_timer_init(&loop, &t[i]);
        uv_timer_start(&t[i], libuv_cb, timeouts[i], 0);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    report("add_fire", "libuv", start);
    check_fired("libuv");

    /* The handles exist from the first run: only start and stop are timed. */
    start = cpu_ns();
    for (size_t i = 0; i < n_timers; i++)
        uv_timer_start(&t[i], libuv_cb, timeouts[i], 0);
    for (size_t i = 0; i < n_timers; i++)
        uv_timer_stop(&t[cancel_order[i]]);
    report("add_cancel", "libuv", start);

    for (size_t i = 0; i < n_timers; i++)
        uv_close((uv_handle_t *)&t[i], NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(t);
}
#endif

/* ---- libevent ---------------------------------------------------------------- */

#ifdef RX_BENCH_LIBEVENT
static void libevent_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    fired++;
}

static void bench_libevent(void)
{
    struct event *t = malloc(n_timers * sizeof *t);
    struct event_base *base = event_base_new();

    fired = 0;
    uint64_t start = cpu_ns();
    for (size_t i = 0; i < n_timers; i++) {
        struct timeval tv = {timeouts[i] / 1000, (suseconds_t)(timeouts[i] % 1000) * 1000};
        event_assign(&t[i], base, -1, 0, libevent_cb, NULL);
        event_add(&t[i], &tv);
    }
    event_base_dispatch(base);
    report("add_fire", "libevent", start);
    check_fired("libevent");

    start = cpu_ns();
    for (size_t i = 0; i < n_timers; i++) {
        struct timeval tv = {timeouts[i] / 1000, (suseconds_t)(timeouts[i] % 1000) * 1000};
        event_assign(&t[i], base, -1, 0, libevent_cb, NULL);
        event_add(&t[i], &tv);
    }
    for (size_t i = 0; i < n_timers; i++)
        event_del(&t[cancel_order[i]]);
    report("add_cancel", "libevent", start);

    event_base_free(base);
    free(t);
}
#endif

int main(int argc, char **argv)
{
    if (argc > 1)
        n_timers = strtoul(argv[1], NULL, 10);
    if (n_timers < 2) {
        fprintf(stderr, "usage: %s [N >= 2]\n", argv[0]);
        return 2;
    }
    make_workload();
    bench_libreactor();
#ifdef RX_BENCH_LIBEV
    bench_libev();
#endif
#ifdef RX_BENCH_LIBUV
    bench_libuv();
#endif
#ifdef RX_BENCH_LIBEVENT
    bench_libevent();
#endif
    free(timeouts);
    free(cancel_order);
    return 0;
}
