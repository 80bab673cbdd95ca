/*
 * kqueue.c - the BSD/macOS kqueue(2) backend.
 *
 * What kqueue(2) tells us, and what follows here:
 *  - READ and WRITE are two separate filters (EVFILT_READ, EVFILT_WRITE), so
 *    one fd can come back as two events; the core merges them into one entry.
 *  - EV_CLEAR gives edge-triggered reporting; EV_ONESHOT deletes a filter
 *    once it is reported (RX_FEAT_ONESHOT_FILTER: the core then deletes the
 *    other filter of a READ|WRITE oneshot registration at the next change).
 *  - Closing an fd removes its knotes, whatever dups exist: no zombie files
 *    as on epoll.
 *  - EV_EOF marks a hang-up and EV_ERROR a failed change; both wake the fd as
 *    ready for the filter they came on, so the owner's I/O meets the error.
 *  - EV_RECEIPT makes kevent() return one EV_ERROR entry per change (data 0
 *    on success) instead of waiting: that is how a change's own error is told
 *    apart from pending events. Changes are applied at once, so the error of a
 *    register reaches the caller; the core already coalesces modifies, so a
 *    change list sent with the wait would save little.
 *  - A kqueue is not inherited across fork(); reactor_reinit makes a new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/event.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#include "backend.h"

struct rx_kqueue {
    int kq;
    int cap; /* of evs */
    struct kevent *evs;
};

static int rx_kqueue_create(void **state)
{
    struct rx_kqueue *k = calloc(1, sizeof *k);
    if (!k)
        return -ENOMEM;
    k->kq = kqueue(); /* no kqueue1() on macOS: set close-on-exec by hand */
    if (k->kq < 0 || fcntl(k->kq, F_SETFD, FD_CLOEXEC) < 0) {
        int err = errno;
        if (k->kq >= 0)
            close(k->kq);
        free(k);
        return -err;
    }
    *state = k;
    return 0;
}

static void rx_kqueue_destroy(void *state)
{
    struct rx_kqueue *k = state;
    close(k->kq);
    free(k->evs);
    free(k);
}

/* Applies up to two changes at once; returns the first error of the ones that failed. */
static int rx_kqueue_apply(struct rx_kqueue *k, struct kevent *ch, int n, int *failed)
{
    struct kevent res[2];
    struct timespec zero = {0, 0};
    for (int i = 0; i < n; i++)
        ch[i].flags |= EV_RECEIPT;
    int got = kevent(k->kq, ch, n, res, n, &zero);
    if (got < 0)
        return -errno;
    int rc = 0;
    for (int i = 0; i < got; i++)
        if ((res[i].flags & EV_ERROR) && res[i].data != 0) {
            failed[i] = 1;
            if (!rc)
                rc = -(int)res[i].data;
        }
    return rc;
}

static int rx_kqueue_change(void *state, int fd, unsigned old, unsigned want, uint32_t tag)
{
    struct rx_kqueue *k = state;
    static const struct {
        unsigned bit;
        short filter;
    } filters[2] = {{REACTOR_READ, EVFILT_READ}, {REACTOR_WRITE, EVFILT_WRITE}};
    unsigned short mode = (unsigned short)(((want & REACTOR_EDGE) ? EV_CLEAR : 0) |
                                           ((want & REACTOR_ONESHOT) ? EV_ONESHOT : 0));
    int flags_changed =
        (old & (REACTOR_EDGE | REACTOR_ONESHOT)) != (want & (REACTOR_EDGE | REACTOR_ONESHOT));
    struct kevent ch[2];
    int n = 0, added[2] = {0, 0}, failed[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        unsigned had = old & filters[i].bit, will = want & filters[i].bit;
        if (had && !will) {
            EV_SET(&ch[n], (uintptr_t)fd, filters[i].filter, EV_DELETE, 0, 0, NULL);
            n++;
        } else if (will && (!had || flags_changed)) {
            /* EV_ADD on an existing knote modifies it, so a flag change is one call. */
            EV_SET(&ch[n], (uintptr_t)fd, filters[i].filter, EV_ADD | mode, 0, 0,
                   (void *)(uintptr_t)tag);
            added[n] = 1;
            n++;
        }
    }
    if (n == 0)
        return 0;
    int rc = rx_kqueue_apply(k, ch, n, failed);
    if (rc < 0 && !(old & RX_IN_KERNEL)) {
        /* A new registration must leave no trace: undo the filter that did go in. */
        for (int i = 0; i < n; i++)
            if (added[i] && !failed[i]) {
                struct kevent undo;
                int ignored[1];
                EV_SET(&undo, (uintptr_t)fd, ch[i].filter, EV_DELETE, 0, 0, NULL);
                rx_kqueue_apply(k, &undo, 1, ignored);
            }
    }
    return rc;
}

static int rx_kqueue_wait(void *state, int timeout_ms, struct rx_ready *out, int max)
{
    struct rx_kqueue *k = state;
    if (max > k->cap) {
        struct kevent *evs = realloc(k->evs, (size_t)max * sizeof *evs);
        if (!evs)
            return -ENOMEM;
        k->evs = evs;
        k->cap = max;
    }
    struct timespec ts, *tsp = NULL;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tsp = &ts;
    }
    int n = kevent(k->kq, NULL, 0, k->evs, max, tsp);
    if (n < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        out[i].fd = (int)k->evs[i].ident;
        out[i].tag = (uint32_t)(uintptr_t)k->evs[i].udata;
        out[i].events = k->evs[i].filter == EVFILT_WRITE ? REACTOR_WRITE : REACTOR_READ;
    }
    return n;
}

static int rx_kqueue_fd(const void *state)
{
    return ((const struct rx_kqueue *)state)->kq;
}

const struct rx_backend rx_backend_kqueue = {
    .name = "kqueue",
    .features = RX_FEAT_EDGE | RX_FEAT_ONESHOT_FILTER,
    .create = rx_kqueue_create,
    .destroy = rx_kqueue_destroy,
    .change = rx_kqueue_change,
    .wait = rx_kqueue_wait,
    .backend_fd = rx_kqueue_fd,
};
