/*
 * dispatch_libev.c - the dispatch benchmark on libev 4 (Debian's libev-dev),
 * for comparison.
 *
 * --backend NAME selects EVBACKEND_EPOLL, _POLL, _SELECT or _KQUEUE.
 * Re-registration is ev_io_stop(), ev_io_set() and ev_io_start(): ev_io_set
 * is how libev is told that a watcher (possibly) names a new file, which is
 * what registering again means; a bare stop+start would let libev skip the
 * kernel entirely, a shortcut only valid when the caller knows the file is
 * the same. Pausing is that shortcut, a bare ev_io_stop() then ev_io_start():
 * the file is the same and stays open, and libev, finding the fd's events
 * unchanged when it applies its changes before the next wait, makes no
 * kernel call. The loop is ev_run(EVRUN_ONCE) until done.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "bench_common.h"

static struct ev_loop *loop;
static ev_io *ios;
static char impl_name[64];

static void on_read(struct ev_loop *l, ev_io *w, int revents)
{
    (void)l;
    (void)revents;
    bench_on_readable((int)(intptr_t)w->data);
}

static const char *backend_name(unsigned b)
{
    switch (b) {
    case EVBACKEND_EPOLL:
        return "epoll";
    case EVBACKEND_POLL:
        return "poll";
    case EVBACKEND_SELECT:
        return "select";
    case EVBACKEND_KQUEUE:
        return "kqueue";
    default:
        return "other";
    }
}

static int setup(const struct bench_args *a)
{
    unsigned flags = EVFLAG_AUTO;
    if (a->backend) {
        static const unsigned all[] = {EVBACKEND_EPOLL, EVBACKEND_POLL, EVBACKEND_SELECT,
                                       EVBACKEND_KQUEUE};
        flags = 0;
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            if (strcmp(backend_name(all[i]), a->backend) == 0)
                flags = all[i];
    }
    loop = flags || !a->backend ? ev_loop_new(flags) : NULL;
    if (!loop) {
        fprintf(stderr, "libev: no backend %s here\n", a->backend ? a->backend : "");
        return -1;
    }
    snprintf(impl_name, sizeof impl_name, "libev-%s", backend_name(ev_backend(loop)));
    return 0;
}

static const char *name(void)
{
    return impl_name;
}

static int watch_all(void)
{
    int m = bench_ring.m;
    if (!ios) {
        if (!(ios = calloc((size_t)m, sizeof *ios)))
            return -1;
        for (int k = 0; k < m; k++) {
            ev_io_init(&ios[k], on_read, bench_ring.rfd[k], EV_READ);
            ios[k].data = (void *)(intptr_t)k;
        }
    } else {
        for (int k = 0; k < m; k++)
            ev_io_set(&ios[k], bench_ring.rfd[k], EV_READ);
    }
    for (int k = 0; k < m; k++)
        ev_io_start(loop, &ios[k]);
    return 0;
}

static int unwatch_all(void)
{
    for (int k = 0; k < bench_ring.m; k++)
        ev_io_stop(loop, &ios[k]);
    return 0;
}

/* watch_all without ev_io_set(): the watchers still name the same files. */
static int resume_all(void)
{
    for (int k = 0; k < bench_ring.m; k++)
        ev_io_start(loop, &ios[k]);
    return 0;
}

static void run(void)
{
    while (!bench_done())
        ev_run(loop, EVRUN_ONCE);
}

static void teardown(void)
{
    (void)unwatch_all();
    ev_loop_destroy(loop);
    free(ios);
}

int main(int argc, char **argv)
{
    static const struct bench_impl impl = {
        .setup = setup,
        .name = name,
        .watch_all = watch_all,
        .unwatch_all = unwatch_all,
        .pause_all = unwatch_all, /* ev_io_stop() either way */
        .resume_all = resume_all,
        .run = run,
        .teardown = teardown,
    };
    return bench_main(argc, argv, &impl);
}
