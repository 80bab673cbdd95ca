/*
 * epoll.c - the Linux epoll(7) backend.
 *
 * What epoll(7) and epoll_ctl(2) tell us, and what follows here:
 *  - The interest list is keyed by (fd, open file description). Closing an fd
 *    removes it only when no dup of the file is left, so a file can outlive
 *    our ability to delete it; each entry therefore carries the registration's
 *    generation in data.u64 and the core rebuilds the set when an event comes
 *    back for a registration that no longer exists (RX_FEAT_REBUILD_ON_STALE).
 *  - EPOLLONESHOT disables the whole fd after one event; re-arming is
 *    EPOLL_CTL_MOD, not ADD (RX_FEAT_ONESHOT_FD).
 *  - EPOLLERR and EPOLLHUP are always reported whatever was asked; they map to
 *    both READ and WRITE and the core keeps what the fd registered.
 *  - READ asks for EPOLLIN alone: a peer's shutdown already makes the fd
 *    readable (EPOLLRDHUP never comes without EPOLLIN). Everything that can
 *    then be reported (IN, OUT, ERR, HUP) sits in the low byte of the events
 *    word, the byte the core's evmap is indexed by.
 *  - Regular files and directories are refused with EPERM: passed through.
 *  - A pause is parked (rx_epoll_park): EPOLL_CTL_MOD to EPOLLONESHOT and no
 *    events, rather than EPOLL_CTL_DEL. The kernel adds EPOLLERR and EPOLLHUP
 *    to any mask, but a ONESHOT entry that has reported is disabled whole
 *    (ep_send_events keeps only the private bits, and ep_poll_callback and
 *    ep_item_poll then see nothing), so the entry reports at most once more
 *    and is inert after. What parking saves: a DEL frees the entry (its
 *    wait-queue hook, an RCU-deferred free) and the resume's ADD allocates
 *    and hooks a new one, which costs more than twice two MODs (numbers
 *    in docs/design.md, "Parking").
 *  - An unregister deletes (the core skips it when nothing is armed: a parked
 *    entry or a fired ONESHOT is left for close(2) to free). Parking there
 *    too would make unregister + register of a kept fd cheaper, but the usual
 *    unregister is followed by close, which then frees the entry the DEL
 *    would have: the MOD is added work on every connection a server closes
 *    (measured: docs/design.md, "Parking").
 *  - A rebuild of the set (or reactor_reinit) keeps the epoll fd's number:
 *    rx_epoll_adopt, with dup3(2).
 */
#if !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* dup3(2) */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "backend.h"

/*
 * Whether struct epoll_event is laid out as struct rx_ready (x86-64, where it
 * is packed: events, then data.u64 with fd in its low half): epoll_wait then
 * writes the core's reports itself. Elsewhere (aarch64 pads data to offset 8,
 * s390x is big-endian) the kernel's array is copied into the reports.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RX_EPOLL_LE 1
#else
#define RX_EPOLL_LE 0
#endif
#define RX_EPOLL_IN_PLACE                                                                          \
    (RX_EPOLL_LE && sizeof(struct epoll_event) == sizeof(struct rx_ready) &&                       \
     offsetof(struct epoll_event, events) == offsetof(struct rx_ready, events) &&                  \
     offsetof(struct epoll_event, data) == offsetof(struct rx_ready, fd) &&                        \
     offsetof(struct rx_ready, tag) == offsetof(struct rx_ready, fd) + 4)

struct rx_epoll {
    int epfd;
    int cap; /* of evs, used only when the reports cannot be written in place */
    struct epoll_event *evs;
};

static int rx_epoll_create(void **state)
{
    struct rx_epoll *ep = calloc(1, sizeof *ep);
    if (!ep)
        return -ENOMEM;
    ep->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ep->epfd < 0) {
        int err = errno;
        free(ep);
        return -err;
    }
    *state = ep;
    return 0;
}

static void rx_epoll_destroy(void *state)
{
    struct rx_epoll *ep = state;
    close(ep->epfd);
    free(ep->evs);
    free(ep);
}

/*
 * dup3(2) puts the new epoll file under the old number and closes the old
 * file in one step, close-on-exec from the start: a program that nests the
 * reactor through reactor_backend_fd() never sees its number go stale, nor
 * briefly name nothing. In a forked child that drops only the child's
 * reference to the set it shared with its parent, as close(2) would.
 */
static int rx_epoll_adopt(void *state, void *old)
{
    struct rx_epoll *ep = state, *prev = old;
    if (dup3(ep->epfd, prev->epfd, O_CLOEXEC) < 0)
        return -errno;
    close(ep->epfd);
    ep->epfd = prev->epfd;
    free(prev->evs);
    free(prev);
    return 0;
}

static int rx_epoll_change(void *state, int fd, unsigned old, unsigned want, uint32_t tag)
{
    struct rx_epoll *ep = state;
    struct epoll_event ev = {0};
    if (!want) /* the event is ignored, but kernels before 2.6.9 demanded one */
        return epoll_ctl(ep->epfd, EPOLL_CTL_DEL, fd, &ev) < 0 ? -errno : 0;
    ev.events = ((want & REACTOR_READ) ? EPOLLIN : 0u) | ((want & REACTOR_WRITE) ? EPOLLOUT : 0u) |
                ((want & REACTOR_EDGE) ? EPOLLET : 0u) |
                ((want & REACTOR_ONESHOT) ? EPOLLONESHOT : 0u);
    ev.data.u64 = (uint64_t)tag << 32 | (uint32_t)fd;
    int op = (old & RX_IN_KERNEL) ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(ep->epfd, op, fd, &ev) == 0)
        return 0;
    /* The number may name another file than the one we added (closed and
     * reused without an unregister), or still name ours after the core lost
     * track: switch between ADD and MOD once, as libev does. */
    if (op == EPOLL_CTL_MOD && errno == ENOENT)
        op = EPOLL_CTL_ADD;
    else if (op == EPOLL_CTL_ADD && errno == EEXIST)
        op = EPOLL_CTL_MOD;
    else
        return -errno;
    return epoll_ctl(ep->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static int rx_epoll_park(void *state, int fd)
{
    struct rx_epoll *ep = state;
    struct epoll_event ev = {.events = EPOLLONESHOT};
    ev.data.u64 = (uint64_t)RX_TAG_PARKED << 32 | (uint32_t)fd;
    return epoll_ctl(ep->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

/*
 * REACTOR_* for each value of the low byte of the reported bits: READ for
 * EPOLLIN (and EPOLLPRI), WRITE for EPOLLOUT, both for EPOLLERR and EPOLLHUP.
 * For what rx_epoll_change asks, nothing else can be reported.
 */
#define RX_EPOLL_MAP(e)                                                                            \
    (((e) & (EPOLLIN | EPOLLPRI | EPOLLERR | EPOLLHUP) ? REACTOR_READ : 0u) |                      \
     ((e) & (EPOLLOUT | EPOLLERR | EPOLLHUP) ? REACTOR_WRITE : 0u))
static const unsigned char rx_epoll_map[RX_EVMAP_SIZE] = {RX_EVMAP_TABLE(RX_EPOLL_MAP)};
_Static_assert((EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP) < RX_EVMAP_SIZE,
               "the bits epoll reports here fit the evmap");

static int rx_epoll_wait(void *state, int timeout_ms, struct rx_ready *out, int max)
{
    struct rx_epoll *ep = state;
    if (RX_EPOLL_IN_PLACE) {
        /* The kernel writes the reports: nothing here runs per event. */
        int n = epoll_wait(ep->epfd, (struct epoll_event *)(void *)out, max, timeout_ms);
        return n < 0 ? -errno : n;
    }
    if (max > ep->cap) { /* grows with the number of registrations, not per call */
        struct epoll_event *evs = realloc(ep->evs, (size_t)max * sizeof *evs);
        if (!evs)
            return -ENOMEM;
        ep->evs = evs;
        ep->cap = max;
    }
    int n = epoll_wait(ep->epfd, ep->evs, max, timeout_ms);
    if (n < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        out[i].events = (uint8_t)ep->evs[i].events; /* the evmap reads the low byte */
        out[i].fd = (int)(uint32_t)ep->evs[i].data.u64;
        out[i].tag = (uint32_t)(ep->evs[i].data.u64 >> 32);
    }
    return n;
}

static int rx_epoll_fd(const void *state)
{
    return ((const struct rx_epoll *)state)->epfd;
}

const struct rx_backend rx_backend_epoll = {
    .name = "epoll",
    .features = RX_FEAT_EDGE | RX_FEAT_ONESHOT_FD | RX_FEAT_REBUILD_ON_STALE | RX_FEAT_TAGGED_ONCE,
    .evmap = rx_epoll_map,
    .create = rx_epoll_create,
    .destroy = rx_epoll_destroy,
    .adopt = rx_epoll_adopt,
    .change = rx_epoll_change,
    .park = rx_epoll_park,
    .wait = rx_epoll_wait,
    .backend_fd = rx_epoll_fd,
};
