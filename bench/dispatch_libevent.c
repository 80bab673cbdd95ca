/*
 * dispatch_libevent.c - the dispatch benchmark on libevent 2 (Debian's
 * libevent-dev), for comparison.
 *
 * --backend NAME makes libevent avoid every other method it supports, so the
 * same kernel interface is compared. Re-registration is event_del(), then
 * event_assign() and event_add(), as a program that drops a watcher and sets
 * it up again does. Pausing is event_del() then event_add(), without the
 * event_assign(): libevent has no other way to stop watching for now, and
 * without its changelist (off by default) each call goes to the kernel at
 * once. The loop is event_base_loop(EVLOOP_ONCE) until done, the same shape
 * as the other implementations.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "bench_common.h"

static struct event_base *base;
static struct event *evs;
static int assigned;
static char impl_name[64];

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bench_on_readable((int)(intptr_t)arg);
}

static int setup(const struct bench_args *a)
{
    struct event_config *cfg = event_config_new();
    if (!cfg)
        return -1;
    if (a->backend) {
        const char **methods = event_get_supported_methods();
        for (int i = 0; methods && methods[i]; i++)
            if (strcmp(methods[i], a->backend) != 0)
                event_config_avoid_method(cfg, methods[i]);
    }
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!base || (a->backend && strcmp(event_base_get_method(base), a->backend) != 0)) {
        fprintf(stderr, "libevent: no method %s here\n", a->backend ? a->backend : "");
        return -1;
    }
    snprintf(impl_name, sizeof impl_name, "libevent-%s", event_base_get_method(base));
    return 0;
}

static const char *name(void)
{
    return impl_name;
}

static int watch_all(void)
{
    int m = bench_ring.m;
    if (!evs && !(evs = calloc((size_t)m, sizeof *evs)))
        return -1;
    for (int k = 0; k < m; k++) {
        if (event_assign(&evs[k], base, bench_ring.rfd[k], EV_READ | EV_PERSIST, on_read,
                         (void *)(intptr_t)k) < 0 ||
            event_add(&evs[k], NULL) < 0) {
            fprintf(stderr, "libevent: event_add failed\n");
            return -1;
        }
    }
    assigned = 1;
    return 0;
}

static int unwatch_all(void)
{
    for (int k = 0; k < bench_ring.m; k++)
        if (event_del(&evs[k]) < 0)
            return -1;
    return 0;
}

/* watch_all without event_assign(): the events are set up already. */
static int resume_all(void)
{
    for (int k = 0; k < bench_ring.m; k++)
        if (event_add(&evs[k], NULL) < 0) {
            fprintf(stderr, "libevent: event_add failed\n");
            return -1;
        }
    return 0;
}

static void run(void)
{
    while (!bench_done())
        if (event_base_loop(base, EVLOOP_ONCE) < 0)
            return;
}

static void teardown(void)
{
    if (assigned)
        (void)unwatch_all();
    event_base_free(base);
    free(evs);
}

int main(int argc, char **argv)
{
    static const struct bench_impl impl = {
        .setup = setup,
        .name = name,
        .watch_all = watch_all,
        .unwatch_all = unwatch_all,
        .pause_all = unwatch_all, /* event_del() either way */
        .resume_all = resume_all,
        .run = run,
        .teardown = teardown,
    };
    return bench_main(argc, argv, &impl);
}
