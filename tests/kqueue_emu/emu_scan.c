/*
 * emu_scan.c - TEST-ONLY: the waiting half of kevent(), filling the event list.
 *
 * kqueue(2) reports each ready knote at most once per call, with the filter's
 * data and flags. Here a ready knote is an entry epoll reports from its
 * filter's set, or a vnode knote (regular file) whose condition holds when
 * checked by hand.
 */
#define _GNU_SOURCE /* F_GETPIPE_SZ, EPOLLRDHUP */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"

static short filter_of(int filt)
{
    return filt == RX_EMU_READ ? EVFILT_READ : EVFILT_WRITE;
}

/* EVFILT_READ: "data contains the number of bytes of protocol data available to read". */
static intptr_t readable_bytes(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : 0;
}

/* EVFILT_WRITE: "For sockets, pipes and fifos, data will contain the amount of
 * space remaining in the write buffer." */
static intptr_t write_space(int fd, const struct stat *st)
{
    int size = -1, used = 0;
    if (S_ISSOCK(st->st_mode)) {
        socklen_t len = sizeof size;
        if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, &len) < 0 ||
            ioctl(fd, SIOCOUTQ, &used) < 0)
            return 0;
    } else if (S_ISFIFO(st->st_mode)) {
        size = fcntl(fd, F_GETPIPE_SZ);
        if (size < 0 || ioctl(fd, FIONREAD, &used) < 0)
            return 0;
    }
    return size > used ? size - used : 0;
}

/*
 * One epoll report into one kevent. EV_EOF: EVFILT_READ sets it "if the read
 * direction of the socket has shutdown" or, for pipes, "when the last writer
 * disconnects" (EPOLLRDHUP, EPOLLHUP); EVFILT_WRITE "when the reader
 * disconnects" (EPOLLHUP, and EPOLLERR for a pipe whose reader is gone). A
 * socket error alone wakes a read knote without EV_EOF, as FreeBSD's
 * filt_soread does for a "temporary udp error". fflags would carry the socket
 * error, but Linux only reads it through SO_ERROR, which clears it, and the
 * owner's next read or write must still meet it: fflags stays 0.
 */
static void fill(struct kevent *out, int fd, int filt, const struct rx_emu_knote *k,
                 uint32_t revents, const struct stat *st)
{
    unsigned short flags = k->flags;
    intptr_t data;
    if (filt == RX_EMU_READ) {
        if (revents & (EPOLLRDHUP | EPOLLHUP))
            flags |= EV_EOF;
        data = readable_bytes(fd);
    } else {
        if (revents & (EPOLLHUP | EPOLLERR))
            flags |= EV_EOF;
        data = write_space(fd, st);
    }
    EV_SET(out, (uintptr_t)fd, filter_of(filt), flags, 0, data, k->udata);
}

/* Turns one epoll report into a kevent; returns 1 if it wrote one. */
static int deliver(struct rx_emu_kq *q, int filt, const struct epoll_event *ev, struct kevent *out)
{
    int fd = (int)(uint32_t)ev->data.u64;
    uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
    struct rx_emu_fd *f = rx_emu_fd(q, fd);
    const struct rx_emu_knote *k = f ? &f->kn[filt] : NULL;
    struct stat st;
    if (!k || !k->used || k->vnode || k->disabled || f->gen != gen ||
        rx_emu_check_file(q, fd, &st) != 0 || !k->used) {
        /* No knote owns this entry: its descriptor was closed (or now names
         * another file) while a dup keeps the old file open. close() removed
         * the knote; the entry must go too, and only a rebuild can do that. */
        q->stale[filt] = 1;
        return 0;
    }
    fill(out, fd, filt, k, ev->events, &st);
    /* EV_ONESHOT "causes the event to return only the first occurrence of the
     * filter being triggered. After the user retrieves the event from the
     * kqueue, it is deleted." */
    if (k->flags & EV_ONESHOT)
        rx_emu_drop(q, fd, filt);
    return 1;
}

/*
 * Collects what one filter's set has ready, in a single epoll_wait: epoll
 * queues a level-triggered entry again behind the others once reported, so
 * a second call could return the same knote twice in one kevent().
 */
static int drain(struct rx_emu_kq *q, int filt, struct kevent *out, int max)
{
    struct epoll_event local[64], *evs = local;
    int room = max < 64 ? max : 64;
    if (max > 64) {
        if (max > q->evcap) {
            struct epoll_event *t = realloc(q->evbuf, (size_t)max * sizeof *t);
            if (t) {
                q->evbuf = t;
                q->evcap = max;
            }
        }
        if (q->evcap >= 64) {
            evs = q->evbuf;
            room = max < q->evcap ? max : q->evcap;
        }
    }
    int got = epoll_wait(q->sets[filt], evs, room, 0);
    int n = 0;
    for (int i = 0; i < got; i++)
        n += deliver(q, filt, &evs[i], out + n);
    return n;
}

/*
 * Vnode knotes, as FreeBSD's filt_vfsread/filt_vfswrite: EVFILT_READ
 * "returns when the file pointer is not at the end of file", data being the
 * bytes from the offset to the end; EVFILT_WRITE is always true, data 0.
 * With EV_CLEAR a knote is reported again only once its data changed.
 */
static int scan_vnodes(struct rx_emu_kq *q, struct kevent *out, int max)
{
    int n = 0, seen = 0, total = q->nvnodes;
    for (int fd = 0; fd < q->nfds && seen < total && n < max; fd++) {
        for (int filt = 0; filt < RX_EMU_NFILTERS && n < max; filt++) {
            struct rx_emu_knote *k = &q->fds[fd].kn[filt];
            if (!k->used || !k->vnode)
                continue;
            seen++;
            struct stat st;
            if (rx_emu_check_file(q, fd, &st) != 0 || !k->used || k->disabled)
                continue;
            intptr_t data = 0;
            if (filt == RX_EMU_READ) {
                off_t pos = lseek(fd, 0, SEEK_CUR);
                data = pos < 0 ? 0 : (intptr_t)(st.st_size - pos);
                if (data == 0)
                    continue;
            }
            if ((k->flags & EV_CLEAR) && data == k->last)
                continue;
            k->last = data;
            EV_SET(&out[n], (uintptr_t)fd, filter_of(filt), k->flags, 0, data, k->udata);
            n++;
            if (k->flags & EV_ONESHOT)
                rx_emu_drop(q, fd, filt);
        }
    }
    return n;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Milliseconds left until `deadline` (-1: none), rounded up: never wake early. */
static int ms_left(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - now_ns();
    if (left <= 0)
        return 0;
    int64_t ms = (left + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/*
 * Waits up to `timeout` (NULL: forever) and fills at most `max` events.
 * Returns the count, 0 on timeout, or -1 with errno (EINTR: "A signal was
 * delivered before the timeout expired and before any events were placed on
 * the kqueue for return" - kevent() is not restarted after a signal).
 */
int rx_emu_scan(struct rx_emu_kq *q, struct kevent *out, int max, const struct timespec *timeout)
{
    int64_t deadline = -1; /* a timeout of years is as good as none */
    if (timeout && timeout->tv_sec < 100000000)
        deadline = now_ns() + (int64_t)timeout->tv_sec * 1000000000 + timeout->tv_nsec;
    for (;;) {
        int n = q->nvnodes ? scan_vnodes(q, out, max) : 0;
        struct epoll_event ready[RX_EMU_NFILTERS];
        int r = epoll_wait(q->ep, ready, RX_EMU_NFILTERS, n ? 0 : ms_left(deadline));
        if (r < 0)
            return n ? n : -1;
        q->turn ^= 1;
        for (int j = 0; j < RX_EMU_NFILTERS && n < max; j++) {
            int filt = q->turn ^ j;
            for (int i = 0; i < r; i++)
                if (ready[i].data.u32 == (uint32_t)filt)
                    n += drain(q, filt, out + n, max - n);
        }
        for (int filt = 0; filt < RX_EMU_NFILTERS; filt++)
            if (q->stale[filt])
                rx_emu_rebuild(q, filt);
        /* Nothing valid yet (only entries of closed descriptors woke us): wait on. */
        if (n > 0 || r == 0 || ms_left(deadline) == 0)
            return n;
    }
}
