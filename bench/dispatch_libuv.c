/*
 * dispatch_libuv.c - the dispatch benchmark on libuv (Debian's libuv1-dev),
 * for comparison, with one uv_poll_t per watched descriptor.
 *
 * libuv picks its backend itself (epoll on Linux); --backend accepts only
 * that one. Re-registration is uv_poll_stop() then uv_poll_start() on the
 * same handle (closing and re-initialising a handle takes a loop iteration).
 * Pausing is the same pair of calls, libuv's only way to stop watching for
 * now, so the implementation leaves pause_all NULL and bench_common uses
 * unwatch_all and watch_all. The loop is uv_run(UV_RUN_ONCE) until done.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "bench_common.h"

static uv_loop_t loop;
static uv_poll_t *polls;
static int npolls;

static void on_read(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    bench_on_readable((int)(intptr_t)p->data);
}

static int setup(const struct bench_args *a)
{
#if defined(__linux__)
    const char *native = "epoll";
#else
    const char *native = "kqueue";
#endif
    if (a->backend && strcmp(a->backend, native) != 0) {
        fprintf(stderr, "libuv: uses %s here, not %s\n", native, a->backend);
        return -1;
    }
    int rc = uv_loop_init(&loop);
    if (rc < 0) {
        fprintf(stderr, "uv_loop_init: %s\n", uv_strerror(rc));
        return -1;
    }
    return 0;
}

static const char *name(void)
{
#if defined(__linux__)
    return "libuv-epoll";
#else
    return "libuv-kqueue";
#endif
}

static int watch_all(void)
{
    int m = bench_ring.m;
    if (!polls) {
        if (!(polls = calloc((size_t)m, sizeof *polls)))
            return -1;
        for (int k = 0; k < m; k++) {
            int rc = uv_poll_init(&loop, &polls[k], bench_ring.rfd[k]);
            if (rc < 0) {
                fprintf(stderr, "uv_poll_init: %s\n", uv_strerror(rc));
                return -1;
            }
            polls[k].data = (void *)(intptr_t)k;
            npolls++;
        }
    }
    for (int k = 0; k < m; k++) {
        int rc = uv_poll_start(&polls[k], UV_READABLE, on_read);
        if (rc < 0) {
            fprintf(stderr, "uv_poll_start: %s\n", uv_strerror(rc));
            return -1;
        }
    }
    return 0;
}

static int unwatch_all(void)
{
    for (int k = 0; k < bench_ring.m; k++)
        if (uv_poll_stop(&polls[k]) < 0)
            return -1;
    return 0;
}

static void run(void)
{
    while (!bench_done())
        uv_run(&loop, UV_RUN_ONCE);
}

static void teardown(void)
{
    for (int k = 0; k < npolls; k++)
        uv_close((uv_handle_t *)&polls[k], NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(polls);
}

int main(int argc, char **argv)
{
    static const struct bench_impl impl = {
        .setup = setup,
        .name = name,
        .watch_all = watch_all,
        .unwatch_all = unwatch_all,
        .run = run,
        .teardown = teardown,
    };
    return bench_main(argc, argv, &impl);
}
