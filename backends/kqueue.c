/*
 * kqueue.c - the kqueue(2) backend (macOS, FreeBSD and the other BSDs).
 *
 * What kqueue(2) says, and what this file does about it:
 *  - A kevent is identified by (ident, filter): READ and WRITE interest in one
 *    fd are two knotes (EVFILT_READ, EVFILT_WRITE), so one fd may come back
 *    in two entries; the core merges them.
 *  - EV_CLEAR resets a knote's state once reported: REACTOR_EDGE. EV_ONESHOT
 *    deletes it once reported: REACTOR_ONESHOT, per filter
 *    (RX_FEAT_ONESHOT_FILTER); the core then removes the other filter itself.
 *  - "Re-adding an existing event will modify the parameters of the original
 *    event": only udata and the filter's fflags/data. The kernels (FreeBSD,
 *    OpenBSD, XNU kqueue_register) keep the EV_CLEAR/EV_ONESHOT a knote was
 *    created with, so switching EDGE or ONESHOT deletes the knote and adds it
 *    again, both in one change list.
 *  - "Calling close() on a file descriptor will remove any kevents that
 *    reference the descriptor", dups or not: no zombie files as on epoll.
 *  - EV_EOF marks a hang-up and wakes the fd for the filter it came on; the
 *    owner's next read or write meets the condition.
 *
 * When changes reach the kernel. kevent() takes a change list and waits in
 * the same call, so a modify (all the core defers) is queued here and sent
 * with the next wait: several changes cost no system call of their own. The
 * kernel answers a refused change with an EV_ERROR entry in the event list
 * (data = errno); a refused add or modify is reported as readiness for that
 * filter, so the owner's next I/O sees the error, and a refused delete is
 * dropped (ENOENT, EBADF: nothing of ours is left). A registration from
 * scratch and a removal are applied at once instead, with EV_RECEIPT so that
 * each change gets its own answer and no pending event is consumed: the
 * caller needs the error now (EBADF for a closed fd), and a failed
 * registration must leave nothing behind. Queued changes always go first, so
 * the kernel sees every fd's changes in the order the core made them.
 *
 * A kqueue is not inherited across fork(): in the child, reactor_reinit()
 * makes a new one and the old number is left alone (it is not ours there).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

/* After <sys/types.h>, as the kqueue(2) synopsis asks on older BSDs. */
#include <sys/event.h>

#include "backend.h"

/* Most changes one change() call produces: a delete and an add per filter. */
#define RX_KQ_MAX_CHANGES 4

struct rx_kqueue {
    int kq;
    pid_t owner;            /* the process that made kq: only there is the descriptor ours */
    struct kevent *changes; /* queued, sent with the next wait */
    int nchanges, changes_cap;
    struct kevent *results; /* kevent()'s event list */
    int results_cap;
    /* Refused changes found while sending the queue ahead of a synchronous
     * change; the next wait reports them. Room is reserved as changes are
     * queued, so recording a refusal never needs memory. */
    struct rx_ready *refused;
    int nrefused, refused_cap;
};

static int rx_kq_grow(void **buf, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return 0;
    int n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *p = realloc(*buf, (size_t)n * size);
    if (!p)
        return -ENOMEM;
    *buf = p;
    *cap = n;
    return 0;
}

static int rx_kqueue_create(void **state)
{
    struct rx_kqueue *k = calloc(1, sizeof *k);
    if (!k)
        return -ENOMEM;
    k->kq = kqueue(); /* macOS has no kqueue1(): close-on-exec is set by hand */
    if (k->kq < 0 || fcntl(k->kq, F_SETFD, FD_CLOEXEC) < 0) {
        int err = errno;
        if (k->kq >= 0)
            close(k->kq);
        free(k);
        return -err;
    }
    k->owner = getpid();
    *state = k;
    return 0;
}

static void rx_kqueue_destroy(void *state)
{
    struct rx_kqueue *k = state;
    /* kqueue(2): "The queue is not inherited by a child created with fork(2)."
     * In a child the number is free, and may already name another file - even
     * the kqueue reactor_reinit() has just made in its place. */
    if (getpid() == k->owner)
        close(k->kq);
    free(k->changes);
    free(k->results);
    free(k->refused);
    free(k);
}

static unsigned rx_kq_event_of(short filter)
{
    return filter == EVFILT_WRITE ? REACTOR_WRITE : REACTOR_READ;
}

/*
 * The kernel changes that bring one fd from `old` to `want`. Adds carry the
 * tag in udata; deletes carry 0, which no registration's tag is (the core's
 * generations start at 1), so a refused change coming back is known to be a
 * delete by its udata alone - FreeBSD overwrites the flags of the entry.
 */
static int rx_kq_diff(int fd, unsigned old, unsigned want, uint32_t tag, struct kevent *ch)
{
    static const struct {
        unsigned bit;
        short filter;
    } filters[] = {{REACTOR_READ, EVFILT_READ}, {REACTOR_WRITE, EVFILT_WRITE}};
    const unsigned modes = REACTOR_EDGE | REACTOR_ONESHOT;
    int remode = (old & modes) != (want & modes);
    unsigned short flags = EV_ADD;
    if (want & REACTOR_EDGE)
        flags |= EV_CLEAR;
    if (want & REACTOR_ONESHOT)
        flags |= EV_ONESHOT;
    int n = 0;
    for (int i = 0; i < 2; i++) {
        unsigned had = old & filters[i].bit, will = want & filters[i].bit;
        if (had && (!will || remode)) {
            EV_SET(&ch[n], (uintptr_t)fd, filters[i].filter, EV_DELETE, 0, 0, NULL);
            n++;
        }
        /* A filter that stays is added again too: EV_ADD on a live knote only
         * updates it, and it brings back one the kernel dropped when the number
         * was closed or dup2'ed over while registered (kqueue(2): closing a
         * descriptor removes its knotes), which would otherwise be lost. */
        if (will) {
            /* udata carries the tag as a number and is never dereferenced. */
            void *udata = (void *)(uintptr_t)tag; /* NOLINT(performance-no-int-to-ptr) */
            EV_SET(&ch[n], (uintptr_t)fd, filters[i].filter, flags, 0, 0, udata);
            n++;
        }
    }
    return n;
}

/*
 * Sends `ch` now, each change with EV_RECEIPT and room for its answer: the
 * kernel then answers every change in order and returns at once, before
 * collecting any event. Fills err[i] with the errno of ch[i] (0 = applied).
 */
static int rx_kq_send_now(struct rx_kqueue *k, struct kevent *ch, int n, struct kevent *res,
                          int *err)
{
    const struct timespec zero = {0, 0};
    for (int i = 0; i < n; i++) {
        ch[i].flags |= EV_RECEIPT;
        err[i] = 0;
    }
    int got = kevent(k->kq, ch, n, res, n, &zero);
    if (got < 0)
        return -errno;
    for (int i = 0; i < got && i < n; i++)
        if (res[i].flags & EV_ERROR)
            err[i] = (int)res[i].data;
    return 0;
}

/* Sends the queued changes ahead of a synchronous one; refusals wait for the next wait(). */
static int rx_kq_send_queue(struct rx_kqueue *k)
{
    if (k->nchanges == 0)
        return 0;
    const struct timespec zero = {0, 0};
    for (int i = 0; i < k->nchanges; i++)
        k->changes[i].flags |= EV_RECEIPT;
    /* results_cap >= changes_cap and refused room are kept by rx_kq_queue(). */
    int got = kevent(k->kq, k->changes, k->nchanges, k->results, k->nchanges, &zero);
    if (got < 0) {
        int err = errno;
        for (int i = 0; i < k->nchanges; i++) /* kept for the wait, where receipts would not fit */
            k->changes[i].flags &= (unsigned short)~EV_RECEIPT;
        return -err; /* resending adds and deletes is harmless */
    }
    for (int i = 0; i < got; i++) {
        const struct kevent *e = &k->results[i];
        if ((e->flags & EV_ERROR) && e->data != 0 && e->udata != NULL) {
            struct rx_ready *r = &k->refused[k->nrefused++];
            r->fd = (int)e->ident;
            r->events = REACTOR_READ | REACTOR_WRITE; /* see rx_kq_report() */
            r->tag = (uint32_t)(uintptr_t)e->udata;
        }
    }
    k->nchanges = 0;
    return 0;
}

/* Queues changes for the next wait; -ENOMEM if room for them cannot be made. */
static int rx_kq_queue(struct rx_kqueue *k, const struct kevent *ch, int n)
{
    int need = k->nchanges + n;
    /* Every queued change may be refused ahead of a wait: keep a place for each. */
    int refusals = k->nrefused + need;
    if (rx_kq_grow((void **)&k->changes, &k->changes_cap, need, sizeof *k->changes) < 0 ||
        rx_kq_grow((void **)&k->results, &k->results_cap, need, sizeof *k->results) < 0 ||
        rx_kq_grow((void **)&k->refused, &k->refused_cap, refusals, sizeof *k->refused) < 0)
        return -ENOMEM;
    memcpy(&k->changes[k->nchanges], ch, (size_t)n * sizeof *ch);
    k->nchanges = need;
    return 0;
}

/*
 * Applies one fd's changes at once. Errors of adds are returned; errors of
 * deletes only when everything is being removed (the core absorbs ENOENT and
 * EBADF there). `fresh`: a registration from scratch, undone if any add fails.
 */
static int rx_kq_apply_now(struct rx_kqueue *k, struct kevent *ch, int n, int removing, int fresh)
{
    struct kevent res[RX_KQ_MAX_CHANGES];
    int err[RX_KQ_MAX_CHANGES];
    int rc = rx_kq_send_queue(k);
    if (rc < 0)
        return rc;
    rc = rx_kq_send_now(k, ch, n, res, err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n && rc == 0; i++)
        if (err[i] && (removing || (ch[i].flags & EV_ADD)))
            rc = -err[i];
    if (rc < 0 && fresh) {
        /* "A failed registration leaves no trace": take back the filter that went in. */
        struct kevent undo[RX_KQ_MAX_CHANGES];
        int m = 0;
        for (int i = 0; i < n; i++)
            if (!err[i] && (ch[i].flags & EV_ADD)) {
                EV_SET(&undo[m], ch[i].ident, ch[i].filter, EV_DELETE, 0, 0, NULL);
                m++;
            }
        if (m > 0)
            (void)rx_kq_send_now(k, undo, m, res, err);
    }
    return rc;
}

static int rx_kqueue_change(void *state, int fd, unsigned old, unsigned want, uint32_t tag)
{
    struct rx_kqueue *k = state;
    struct kevent ch[RX_KQ_MAX_CHANGES];
    int n = rx_kq_diff(fd, old, want, tag, ch);
    if (n == 0)
        return 0;
    int fresh = !(old & (REACTOR_READ | REACTOR_WRITE)); /* nothing armed: a registration */
    int removing = want == 0;
    if (!fresh && !removing && rx_kq_queue(k, ch, n) == 0)
        return 0;
    /* Out of memory for the queue: apply at once, the result is the same. */
    return rx_kq_apply_now(k, ch, n, removing, fresh);
}

static int rx_kq_take_refused(struct rx_kqueue *k, struct rx_ready *out, int max)
{
    int n = k->nrefused < max ? k->nrefused : max;
    if (n == 0)
        return 0; /* refused may still be NULL */
    memcpy(out, k->refused, (size_t)n * sizeof *out);
    memmove(k->refused, k->refused + n, (size_t)(k->nrefused - n) * sizeof *k->refused);
    k->nrefused -= n;
    return n;
}

/* One entry of the event list into a report; returns 0 for a refused delete. */
static int rx_kq_report(const struct kevent *e, struct rx_ready *out)
{
    if ((e->flags & EV_ERROR) && (e->data == 0 || e->udata == NULL))
        return 0; /* a receipt, or a delete of what is already gone */
    out->fd = (int)e->ident;
    out->tag = (uint32_t)(uintptr_t)e->udata;
    /* A refused add (typically EBADF: the fd was closed while registered)
     * concerns the fd, not only the filter that came back: report it ready
     * for everything, as poll's POLLNVAL is, and let the core mask that with
     * what the fd registered. An event or a hang-up (EV_EOF) is ready for its
     * own filter. */
    if (e->flags & EV_ERROR)
        out->events = REACTOR_READ | REACTOR_WRITE;
    else
        out->events = (uint8_t)rx_kq_event_of(e->filter);
    return 1;
}

static int rx_kqueue_wait(void *state, int timeout_ms, struct rx_ready *out, int max)
{
    struct rx_kqueue *k = state;
    int n = rx_kq_take_refused(k, out, max);
    /* Each queued change may come back as an EV_ERROR entry, and a refusal
     * without room fails the whole call: send them ahead when they might not fit. */
    if (n < max && k->nchanges > max - n) {
        int rc = rx_kq_send_queue(k);
        if (rc < 0)
            return n ? n : rc;
        n += rx_kq_take_refused(k, out + n, max - n);
    }
    if (n == max)
        return n;
    int room = max - n;
    if (rx_kq_grow((void **)&k->results, &k->results_cap, room, sizeof *k->results) < 0)
        return n ? n : -ENOMEM;
    struct timespec ts, *tsp = NULL;
    if (n > 0)
        timeout_ms = 0; /* something to report already: only look */
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tsp = &ts;
    }
    int got = kevent(k->kq, k->changes, k->nchanges, k->results, room, tsp);
    if (got < 0) {
        int err = errno;
        /* EINTR comes from the wait, after the change list was applied (kevent
         * registers it first; a refusal would have returned at once). On other
         * errors the queue is kept: sending it again is harmless. */
        if (err == EINTR)
            k->nchanges = 0;
        return n ? n : -err;
    }
    k->nchanges = 0;
    int refused = 0;
    for (int i = 0; i < got; i++) {
        refused |= (k->results[i].flags & EV_ERROR) != 0;
        n += rx_kq_report(&k->results[i], &out[n]);
    }
    /* FreeBSD's and XNU's kevent() return as soon as a change was refused,
     * without scanning for events (kern_event.c: nerrors skips the scan), so
     * the other ready fds would wait a whole extra call. Look once more,
     * without waiting and without changes, while there is room. */
    if (refused && n < max) {
        const struct timespec zero = {0, 0};
        got = kevent(k->kq, NULL, 0, k->results, max - n, &zero);
        for (int i = 0; i < got; i++)
            n += rx_kq_report(&k->results[i], &out[n]);
    }
    return n;
}

static int rx_kqueue_fd(const void *state)
{
    return ((const struct rx_kqueue *)state)->kq;
}

const struct rx_backend rx_backend_kqueue = {
    .name = "kqueue",
    .features = RX_FEAT_EDGE | RX_FEAT_ONESHOT_FILTER | RX_FEAT_TWO_REPORTS,
    .evmap = rx_evmap_reactor,
    .create = rx_kqueue_create,
    .destroy = rx_kqueue_destroy,
    .change = rx_kqueue_change,
    .wait = rx_kqueue_wait,
    .backend_fd = rx_kqueue_fd,
};
