/*
 * kqueue_emu.c - TEST-ONLY kqueue(2)/kevent(2) on Linux, built on epoll, so
 * that backends/kqueue.c runs the whole suite here. Written from the FreeBSD
 * and macOS kqueue(2) manual pages; each rule below cites what it emulates.
 *
 * The kqueue fd is an epoll fd: it can be closed, and polls readable when
 * events are pending, as kqueue(2) says a kqueue does. Each knote (fd,
 * filter) is one epoll registration whose data is the knote's index:
 *  - EV_ADD "adds the event to the kqueue; re-adding an existing event will
 *    modify the parameters of the original event" -> EPOLL_CTL_ADD or MOD.
 *    EVFILT_READ and EVFILT_WRITE on one fd are separate knotes; epoll allows
 *    one entry per (fd, file), so the second filter registers an F_DUPFD of
 *    the fd.
 *  - EV_CLEAR "after the event is retrieved by the user, its state is reset"
 *    -> EPOLLET. EV_ONESHOT "causes the event to return only the first
 *    occurrence; after retrieval it is deleted" -> EPOLLONESHOT, then deleted.
 *  - EV_ENABLE / EV_DISABLE -> MOD with the filter's events / with none.
 *  - EV_DELETE of an unknown knote fails with ENOENT; EV_ADD of a closed fd
 *    with EBADF. "If an error occurs while processing an element of the
 *    changelist and there is enough room in the eventlist, then the event
 *    will be placed in the eventlist with EV_ERROR set in flags and the system
 *    error in data. Otherwise, -1 will be returned." EV_RECEIPT "forces
 *    EV_ERROR to always be returned" (data 0 on success). As FreeBSD's
 *    kern_event.c does, a call that placed any such entry returns them at
 *    once without collecting events.
 *  - EV_EOF on EVFILT_READ when the peer shut down (EPOLLRDHUP/EPOLLHUP), on
 *    EVFILT_WRITE when the write side is gone (EPOLLHUP/EPOLLERR); fflags
 *    holds the socket error. data is the bytes readable (FIONREAD).
 *  - "Calling close() on a file descriptor will remove any kevents that
 *    reference the descriptor." Each knote remembers the file's st_dev and
 *    st_ino; every kevent() call first drops knotes whose fd is closed or now
 *    names another file. A dropped knote whose file lives on in a dup stays in
 *    epoll's interest list (epoll(7)); when it reports, the epoll set is
 *    rebuilt in place (a new epoll fd dup2'ed onto the kqueue fd).
 *  - Regular files: EVFILT_READ "returns when the file pointer is not at the
 *    end of file" (epoll refuses files with EPERM: checked by hand each call).
 * Not emulated: other filters (EVFILT_SIGNAL, _TIMER, _USER, _VNODE, _PROC),
 * EV_DISPATCH, low-water marks (NOTE_LOWAT), knote data for EVFILT_WRITE.
 * State is kept per kqueue fd in a process-wide table: acceptable in a test
 * tool, and exactly what the library itself must not do.
 */
#define _GNU_SOURCE /* F_DUPFD_CLOEXEC is POSIX.1-2008; FIONREAD in <sys/ioctl.h> */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/event.h"

struct knote {
    int used;
    int fd, efd; /* the user's fd; the fd registered in epoll (fd or a dup of it) */
    short filter;
    unsigned short flags; /* EV_CLEAR | EV_ONESHOT */
    int disabled, regular;
    int tainted; /* dropped, but epoll may still hold it: not reused until a rebuild */
    void *udata;
    dev_t dev;
    ino_t ino;
};

struct emu_kq {
    int epfd;
    struct knote *kn;
    int nkn, cap;
    int (*byfd)[2]; /* byfd[fd][0 read / 1 write] = knote index + 1 */
    int nbyfd;
};

static struct emu_kq **queues; /* indexed by kqueue fd */
static int nqueues;

static int fidx(short filter)
{
    return filter == EVFILT_WRITE;
}

static void emu_free(struct emu_kq *q)
{
    for (int i = 0; i < q->nkn; i++)
        if (q->kn[i].used && q->kn[i].efd != q->kn[i].fd)
            close(q->kn[i].efd);
    free(q->kn);
    free(q->byfd);
    free(q);
}

int kqueue(void)
{
    int fd = epoll_create1(0);
    if (fd < 0)
        return -1;
    if (fd >= nqueues) {
        int n = fd + 64;
        struct emu_kq **t = realloc(queues, (size_t)n * sizeof *t);
        if (!t) {
            close(fd);
            errno = ENOMEM;
            return -1;
        }
        memset(t + nqueues, 0, (size_t)(n - nqueues) * sizeof *t);
        queues = t;
        nqueues = n;
    }
    if (queues[fd]) /* left by a kqueue closed with close(2): that fd number is new */
        emu_free(queues[fd]);
    queues[fd] = calloc(1, sizeof **queues);
    if (!queues[fd]) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    queues[fd]->epfd = fd;
    return fd;
}

static struct knote *kn_find(struct emu_kq *q, int fd, short filter)
{
    if (fd < 0 || fd >= q->nbyfd || !q->byfd[fd][fidx(filter)])
        return NULL;
    return &q->kn[q->byfd[fd][fidx(filter)] - 1];
}

static uint32_t kn_epoll_events(const struct knote *k)
{
    if (k->disabled)
        return 0;
    uint32_t ev = k->filter == EVFILT_READ ? EPOLLIN | EPOLLRDHUP : EPOLLOUT;
    return ev | ((k->flags & EV_CLEAR) ? EPOLLET : 0u) |
           ((k->flags & EV_ONESHOT) ? EPOLLONESHOT : 0u);
}

static int kn_ctl(struct emu_kq *q, int op, struct knote *k)
{
    struct epoll_event ev = {.events = kn_epoll_events(k), .data.u64 = (uint64_t)(k - q->kn)};
    return k->regular ? 0 : epoll_ctl(q->epfd, op, k->efd, &ev);
}

static void kn_drop(struct emu_kq *q, struct knote *k)
{
    if (!k->regular && epoll_ctl(q->epfd, EPOLL_CTL_DEL, k->efd, &(struct epoll_event){0}) < 0)
        k->tainted = 1;
    if (k->efd != k->fd)
        close(k->efd);
    q->byfd[k->fd][fidx(k->filter)] = 0;
    k->used = 0;
}

static int kn_add(struct emu_kq *q, const struct kevent *ch)
{
    int fd = (int)ch->ident;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return EBADF;
    if (fd >= q->nbyfd) {
        int n = fd + 1024;
        int(*t)[2] = realloc(q->byfd, (size_t)n * sizeof *t);
        if (!t)
            return ENOMEM;
        memset(t + q->nbyfd, 0, (size_t)(n - q->nbyfd) * sizeof *t);
        q->byfd = t;
        q->nbyfd = n;
    }
    int slot = -1;
    for (int i = 0; i < q->nkn && slot < 0; i++) /* test-only: a linear search is fine */
        if (!q->kn[i].used && !q->kn[i].tainted)
            slot = i;
    if (slot < 0) {
        if (q->nkn == q->cap) {
            int n = q->cap ? q->cap * 2 : 64;
            struct knote *t = realloc(q->kn, (size_t)n * sizeof *t);
            if (!t)
                return ENOMEM;
            q->kn = t;
            q->cap = n;
        }
        slot = q->nkn++;
    }
    struct knote *k = &q->kn[slot];
    memset(k, 0, sizeof *k);
    k->fd = fd;
    k->filter = ch->filter;
    k->flags = ch->flags & (EV_CLEAR | EV_ONESHOT);
    k->disabled = (ch->flags & EV_DISABLE) != 0;
    k->udata = ch->udata;
    k->dev = st.st_dev;
    k->ino = st.st_ino;
    k->regular = S_ISREG(st.st_mode);
    k->efd = fd;
    struct knote *other = kn_find(q, fd, ch->filter == EVFILT_READ ? EVFILT_WRITE : EVFILT_READ);
    if (other && other->efd == fd && !k->regular) {
        k->efd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (k->efd < 0)
            return errno;
    }
    if (kn_ctl(q, EPOLL_CTL_ADD, k) < 0) {
        int err = errno;
        if (k->efd != fd)
            close(k->efd);
        return err;
    }
    k->used = 1;
    q->byfd[fd][fidx(ch->filter)] = slot + 1;
    return 0;
}

static int apply_change(struct emu_kq *q, const struct kevent *ch)
{
    if (ch->filter != EVFILT_READ && ch->filter != EVFILT_WRITE)
        return EINVAL;
    struct knote *k = kn_find(q, (int)ch->ident, ch->filter);
    if (ch->flags & EV_DELETE) {
        if (!k)
            return ENOENT;
        kn_drop(q, k);
        return 0;
    }
    if (ch->flags & EV_ADD) {
        if (!k)
            return kn_add(q, ch);
        k->flags = ch->flags & (EV_CLEAR | EV_ONESHOT);
        k->udata = ch->udata;
    }
    if (!k)
        return ENOENT;
    if (ch->flags & EV_ENABLE)
        k->disabled = 0;
    if (ch->flags & EV_DISABLE)
        k->disabled = 1;
    return kn_ctl(q, EPOLL_CTL_MOD, k) < 0 ? errno : 0;
}

/* Drops a knote whose fd was closed or now names another file (see the top comment). */
static void drop_if_closed(struct emu_kq *q, struct knote *k)
{
    struct stat st;
    if (k && k->used && (fstat(k->fd, &st) < 0 || st.st_dev != k->dev || st.st_ino != k->ino))
        kn_drop(q, k);
}

/* Before waiting every knote is checked; before a change only the fd changed (O(1)). */
static void drop_closed(struct emu_kq *q)
{
    for (int i = 0; i < q->nkn; i++)
        drop_if_closed(q, &q->kn[i]);
}

/* A knote we dropped keeps reporting (its file lives on elsewhere): start a new epoll set. */
static int rebuild(struct emu_kq *q)
{
    int nfd = epoll_create1(0);
    if (nfd < 0)
        return -1;
    int rc = dup2(nfd, q->epfd); /* atomically: the kqueue fd now names the new set */
    close(nfd);
    if (rc < 0)
        return -1;
    for (int i = 0; i < q->nkn; i++) {
        q->kn[i].tainted = 0;
        if (q->kn[i].used)
            kn_ctl(q, EPOLL_CTL_ADD, &q->kn[i]);
    }
    return 0;
}

static int regular_ready(const struct knote *k)
{
    struct stat st;
    off_t pos = lseek(k->fd, 0, SEEK_CUR);
    return !k->disabled && fstat(k->fd, &st) == 0 && pos >= 0 &&
           (k->filter == EVFILT_WRITE || pos < st.st_size);
}

static void fill_event(struct kevent *out, struct knote *k, uint32_t ev)
{
    int n = 0, err = 0;
    socklen_t len = sizeof err;
    unsigned short flags = k->flags;
    if (k->filter == EVFILT_READ) {
        if (ev & (EPOLLRDHUP | EPOLLHUP))
            flags |= EV_EOF;
        if (ioctl(k->fd, FIONREAD, &n) < 0)
            n = 0;
    } else if (ev & (EPOLLHUP | EPOLLERR)) {
        flags |= EV_EOF;
    }
    if ((flags & EV_EOF) && getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = 0;
    EV_SET(out, (uintptr_t)k->fd, k->filter, flags, (unsigned)err, n, k->udata);
}

static int collect(struct emu_kq *q, struct kevent *out, int max, int timeout_ms)
{
    int count = 0;
    for (int i = 0; i < q->nkn && count < max; i++)
        if (q->kn[i].used && q->kn[i].regular && regular_ready(&q->kn[i]))
            fill_event(&out[count++], &q->kn[i], 0);
    if (count)
        timeout_ms = 0;
    struct epoll_event evs[256];
    int room = max - count < 256 ? max - count : 256;
    if (room <= 0)
        return count;
    int n = epoll_wait(q->epfd, evs, room, timeout_ms);
    if (n < 0)
        return count ? count : -1;
    int zombie = 0;
    for (int i = 0; i < n; i++) {
        uint64_t idx = evs[i].data.u64;
        if (idx >= (uint64_t)q->nkn || !q->kn[idx].used) {
            zombie = 1;
            continue;
        }
        struct knote *k = &q->kn[idx];
        fill_event(&out[count++], k, evs[i].events);
        if (k->flags & EV_ONESHOT)
            kn_drop(q, k);
    }
    if (zombie && rebuild(q) < 0)
        return -1;
    return count;
}

int kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
           int nevents, const struct timespec *timeout)
{
    if (kq < 0 || kq >= nqueues || !queues[kq] || nchanges < 0 || nevents < 0) {
        errno = EBADF;
        return -1;
    }
    struct emu_kq *q = queues[kq];
    int placed = 0;
    for (int i = 0; i < nchanges; i++) {
        drop_if_closed(q, kn_find(q, (int)changelist[i].ident, changelist[i].filter));
        int err = apply_change(q, &changelist[i]);
        if (err || (changelist[i].flags & EV_RECEIPT)) {
            if (placed == nevents) {
                if (err) {
                    errno = err;
                    return -1;
                }
                continue;
            }
            eventlist[placed] = changelist[i];
            eventlist[placed].flags = EV_ERROR;
            eventlist[placed].data = err;
            placed++;
        }
    }
    if (placed || nevents == 0)
        return placed;
    drop_closed(q);
    int timeout_ms = -1;
    if (timeout) { /* round up: never return before the timeout */
        long long ms = (long long)timeout->tv_sec * 1000 + (timeout->tv_nsec + 999999) / 1000000;
        timeout_ms = ms > INT_MAX ? INT_MAX : (int)ms;
    }
    for (;;) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int n = collect(q, eventlist, nevents, timeout_ms);
        if (n != 0 || timeout_ms == 0)
            return n;
        /* Nothing valid came back: either the timeout passed or only a zombie woke us. */
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (timeout_ms > 0) {
            long long spent =
                (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000;
            if (spent >= timeout_ms)
                return 0;
            timeout_ms -= (int)spent;
        }
    }
}
