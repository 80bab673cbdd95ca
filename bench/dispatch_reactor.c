/*
 * dispatch_reactor.c - the dispatch benchmark on libreactor (any backend).
 *
 * Re-registration is reactor_unregister() then reactor_register(): what a
 * program does when it stops watching a descriptor and starts again.
 * Pausing is reactor_modify() to events 0, then back to REACTOR_READ: the fd
 * stays registered, and both changes are applied before the same wait, so
 * they cancel out.
 * Usage: see bench_common.h; --backend picks epoll, io_uring, poll, select or kqueue.
 */
#include <stdint.h>
#include <stdio.h>

#include "bench_common.h"
#include "reactor.h"

static reactor_t *loop;
static char impl_name[64];

static void on_read(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r;
    (void)fd;
    (void)events;
    bench_on_readable((int)(intptr_t)data);
}

static int setup(const struct bench_args *a)
{
    loop = reactor_new(a->backend);
    if (!loop) {
        perror("reactor_new");
        return -1;
    }
    snprintf(impl_name, sizeof impl_name, "libreactor-%s", reactor_backend(loop));
    return 0;
}

static const char *name(void)
{
    return impl_name;
}

static int watch_all(void)
{
    for (int k = 0; k < bench_ring.m; k++) {
        int rc =
            reactor_register(loop, bench_ring.rfd[k], REACTOR_READ, on_read, (void *)(intptr_t)k);
        if (rc < 0) {
            fprintf(stderr, "reactor_register: %s\n", reactor_strerror(rc));
            return -1;
        }
    }
    return 0;
}

static int unwatch_all(void)
{
    for (int k = 0; k < bench_ring.m; k++) {
        int rc = reactor_unregister(loop, bench_ring.rfd[k]);
        if (rc < 0) {
            fprintf(stderr, "reactor_unregister: %s\n", reactor_strerror(rc));
            return -1;
        }
    }
    return 0;
}

/* reactor_modify() of every registration to `events`, callback and data unchanged. */
static int modify_all(unsigned events)
{
    for (int k = 0; k < bench_ring.m; k++) {
        int rc = reactor_modify(loop, bench_ring.rfd[k], events, on_read, (void *)(intptr_t)k);
        if (rc < 0) {
            fprintf(stderr, "reactor_modify: %s\n", reactor_strerror(rc));
            return -1;
        }
    }
    return 0;
}

static int pause_all(void)
{
    return modify_all(0);
}

static int resume_all(void)
{
    return modify_all(REACTOR_READ);
}

static void run(void)
{
    while (!bench_done())
        if (reactor_run_once(loop, -1) < 0)
            return;
}

static void teardown(void)
{
    reactor_free(loop);
}

int main(int argc, char **argv)
{
    static const struct bench_impl impl = {
        .setup = setup,
        .name = name,
        .watch_all = watch_all,
        .unwatch_all = unwatch_all,
        .pause_all = pause_all,
        .resume_all = resume_all,
        .run = run,
        .teardown = teardown,
    };
    return bench_main(argc, argv, &impl);
}
