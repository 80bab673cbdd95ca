/*
 * dispatch_raw.c - the dispatch benchmark on a loop written directly on the
 * system call: the floor every library is measured against.
 *
 *   epoll   epoll_wait into an array with room for every watched fd; the
 *           event's data is the endpoint index, so dispatch is one call.
 *   poll    one pollfd array, scanned after each poll() until all the
 *           reported entries are found.
 *   select  one fd_set, copied for each select() and scanned the same way.
 *   epoll-cb  the epoll loop, but each event is dispatched through a function
 *           pointer kept in a table indexed by fd, with (fd, events, data)
 *           arguments, as any callback library must: the floor for a library,
 *           where plain `epoll` is the floor for a program.
 *
 * Re-registration is what the library calls would cost on the kernel
 * interface: EPOLL_CTL_DEL then EPOLL_CTL_ADD for epoll; for poll and select,
 * which keep no kernel state, clearing and refilling the array or set.
 *
 * Pausing does nothing: a hand-written loop that stops watching a descriptor
 * and starts again between two waits has nothing to tell the kernel, nor its
 * own arrays. The floor of pause is perfect coalescing.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

#include "bench_common.h"

#define REACTOR_READ_BIT 1u /* the events argument a library would pass */

enum raw_kind { RAW_EPOLL, RAW_EPOLL_CB, RAW_POLL, RAW_SELECT };

static enum raw_kind kind;
static char impl_name[32];

#ifdef __linux__
static int epfd = -1;
static struct epoll_event *evs;

/* epoll-cb: what a callback library keeps per fd, at the least. */
typedef void (*raw_cb)(int fd, unsigned events, void *data);
static struct raw_slot {
    raw_cb cb;
    void *data;
} * slots;

static void raw_on_read(int fd, unsigned events, void *data)
{
    (void)fd;
    (void)events;
    bench_on_readable((int)(intptr_t)data);
}
#endif
static struct pollfd *pfds;
static int npfds;
static fd_set rdset;

static int setup(const struct bench_args *a)
{
    const char *b = a->backend;
#ifdef __linux__
    if (!b)
        b = "epoll";
#else
    if (!b)
        b = "poll";
#endif
    if (strcmp(b, "poll") == 0) {
        kind = RAW_POLL;
    } else if (strcmp(b, "select") == 0) {
        kind = RAW_SELECT;
        FD_ZERO(&rdset);
#ifdef __linux__
    } else if (strcmp(b, "epoll") == 0 || strcmp(b, "epoll-cb") == 0) {
        kind = strcmp(b, "epoll") == 0 ? RAW_EPOLL : RAW_EPOLL_CB;
        epfd = epoll_create1(EPOLL_CLOEXEC);
        if (epfd < 0) {
            perror("epoll_create1");
            return -1;
        }
#endif
    } else {
        fprintf(stderr, "raw: no backend %s here\n", b);
        return -1;
    }
    snprintf(impl_name, sizeof impl_name, "raw-%s", b);
    return 0;
}

static const char *name(void)
{
    return impl_name;
}

static int watch_all(void)
{
    int m = bench_ring.m;
    switch (kind) {
#ifdef __linux__
    case RAW_EPOLL:
    case RAW_EPOLL_CB:
        if (!evs && !(evs = malloc((size_t)m * sizeof *evs)))
            return -1;
        if (kind == RAW_EPOLL_CB && !slots &&
            !(slots = calloc((size_t)bench_ring.maxfd + 1, sizeof *slots)))
            return -1;
        for (int k = 0; k < m; k++) {
            struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)k};
            if (kind == RAW_EPOLL_CB) {
                int fd = bench_ring.rfd[k];
                slots[fd].cb = raw_on_read;
                slots[fd].data = (void *)(intptr_t)k;
                ev.data.u32 = (uint32_t)fd;
            }
            if (epoll_ctl(epfd, EPOLL_CTL_ADD, bench_ring.rfd[k], &ev) < 0) {
                perror("epoll_ctl");
                return -1;
            }
        }
        break;
#endif
    case RAW_POLL:
        if (!pfds && !(pfds = malloc((size_t)m * sizeof *pfds)))
            return -1;
        for (int k = 0; k < m; k++) {
            pfds[k].fd = bench_ring.rfd[k];
            pfds[k].events = POLLIN;
            pfds[k].revents = 0;
        }
        npfds = m;
        break;
    case RAW_SELECT:
        for (int k = 0; k < m; k++)
            FD_SET(bench_ring.rfd[k], &rdset);
        break;
    default:
        return -1;
    }
    return 0;
}

static int unwatch_all(void)
{
    switch (kind) {
#ifdef __linux__
    case RAW_EPOLL:
    case RAW_EPOLL_CB:
        for (int k = 0; k < bench_ring.m; k++) {
            struct epoll_event ev = {0};
            if (epoll_ctl(epfd, EPOLL_CTL_DEL, bench_ring.rfd[k], &ev) < 0) {
                perror("epoll_ctl");
                return -1;
            }
        }
        break;
#endif
    case RAW_POLL:
        npfds = 0;
        break;
    case RAW_SELECT:
        for (int k = 0; k < bench_ring.m; k++)
            FD_CLR(bench_ring.rfd[k], &rdset);
        break;
    default:
        return -1;
    }
    return 0;
}

/* The floor of pause: the stop and the start cancel out before the next wait. */
static int pause_nothing(void)
{
    return 0;
}

#ifdef __linux__
static void run_epoll(void)
{
    while (!bench_done()) {
        int n = epoll_wait(epfd, evs, bench_ring.m, -1);
        for (int i = 0; i < n; i++)
            bench_on_readable((int)evs[i].data.u32);
    }
}

static void run_epoll_cb(void)
{
    while (!bench_done()) {
        int n = epoll_wait(epfd, evs, bench_ring.m, -1);
        for (int i = 0; i < n; i++) {
            int fd = (int)evs[i].data.u32;
            slots[fd].cb(fd, REACTOR_READ_BIT, slots[fd].data);
        }
    }
}
#endif

static void run_poll(void)
{
    while (!bench_done()) {
        int n = poll(pfds, (nfds_t)npfds, -1);
        for (int k = 0; k < npfds && n > 0; k++) {
            if (!pfds[k].revents)
                continue;
            n--;
            bench_on_readable(k);
        }
    }
}

static void run_select(void)
{
    int nfds = bench_ring.maxfd + 1;
    while (!bench_done()) {
        fd_set rd = rdset;
        int n = select(nfds, &rd, NULL, NULL, NULL);
        for (int k = 0; k < bench_ring.m && n > 0; k++) {
            if (!FD_ISSET(bench_ring.rfd[k], &rd))
                continue;
            n--;
            bench_on_readable(k);
        }
    }
}

static void run(void)
{
    switch (kind) {
#ifdef __linux__
    case RAW_EPOLL:
        run_epoll();
        break;
    case RAW_EPOLL_CB:
        run_epoll_cb();
        break;
#endif
    case RAW_POLL:
        run_poll();
        break;
    case RAW_SELECT:
        run_select();
        break;
    default:
        break;
    }
}

static void teardown(void)
{
#ifdef __linux__
    if (epfd >= 0)
        close(epfd);
    free(evs);
    free(slots);
#endif
    free(pfds);
}

int main(int argc, char **argv)
{
    static const struct bench_impl impl = {
        .setup = setup,
        .name = name,
        .watch_all = watch_all,
        .unwatch_all = unwatch_all,
        .pause_all = pause_nothing,
        .resume_all = pause_nothing,
        .run = run,
        .teardown = teardown,
    };
    return bench_main(argc, argv, &impl);
}
