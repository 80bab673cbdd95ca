/*
 * emu_knote.c - TEST-ONLY: applying one change of a kevent() changelist.
 *
 * Each rule cites the kqueue(2) manual page (FreeBSD and macOS share the
 * wording), and where the page is vague, what FreeBSD's, OpenBSD's and XNU's
 * kqueue_register() agree on.
 */
#define _GNU_SOURCE /* epoll, and EPOLLRDHUP */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "emu.h"

struct rx_emu_fd *rx_emu_fd(const struct rx_emu_kq *q, int fd)
{
    return fd >= 0 && fd < q->nfds ? &q->fds[fd] : NULL;
}

static int filter_index(short filter)
{
    if (filter == EVFILT_READ)
        return RX_EMU_READ;
    if (filter == EVFILT_WRITE)
        return RX_EMU_WRITE;
    return -1;
}

static int has_knotes(const struct rx_emu_fd *f)
{
    return f->kn[RX_EMU_READ].used || f->kn[RX_EMU_WRITE].used;
}

/* A knote with an entry in its filter's epoll set. */
static int in_epoll(const struct rx_emu_knote *k)
{
    return k->used && !k->vnode && !k->disabled;
}

/*
 * EV_CLEAR "after the event is retrieved by the user, its state is reset":
 * epoll's EPOLLET reports again on the next change of state, which is what a
 * reset knote waits for. EV_ONESHOT needs nothing from epoll: the knote is
 * deleted as it is reported (emu_scan.c).
 */
static int ctl(struct rx_emu_kq *q, int op, int fd, int filt)
{
    const struct rx_emu_fd *f = &q->fds[fd];
    uint32_t events = filt == RX_EMU_READ ? EPOLLIN | EPOLLRDHUP : EPOLLOUT;
    if (f->kn[filt].flags & EV_CLEAR)
        events |= EPOLLET;
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)f->gen << 32 | (uint32_t)fd};
    return epoll_ctl(q->sets[filt], op, fd, &ev) < 0 ? errno : 0;
}

void rx_emu_drop(struct rx_emu_kq *q, int fd, int filt)
{
    struct rx_emu_knote *k = &q->fds[fd].kn[filt];
    if (!k->used)
        return;
    if (k->vnode)
        q->nvnodes--;
    else if (!k->disabled)
        /* Fails when the file went away: epoll(7) then removed the entry itself,
         * or the file lives on in a dup and the entry is found when it reports. */
        (void)ctl(q, EPOLL_CTL_DEL, fd, filt);
    memset(k, 0, sizeof *k);
}

/*
 * "Calling close() on a file descriptor will remove any kevents that
 * reference the descriptor" - even when a dup keeps the file open. We cannot
 * see close(), so every use of a descriptor first checks that the number
 * still names the file its knotes were made for, and drops them if not.
 * Returns 0, or fstat's errno (EBADF: the number is not open).
 */
int rx_emu_check_file(struct rx_emu_kq *q, int fd, struct stat *st)
{
    int err = fstat(fd, st) < 0 ? errno : 0;
    struct rx_emu_fd *f = rx_emu_fd(q, fd);
    if (f && has_knotes(f) && (err || st->st_dev != f->dev || st->st_ino != f->ino)) {
        rx_emu_drop(q, fd, RX_EMU_READ);
        rx_emu_drop(q, fd, RX_EMU_WRITE);
    }
    return err;
}

/* The knotes of a file that is gone; their epoll entries went with it. */
static void forget_file(struct rx_emu_kq *q, int fd)
{
    for (int filt = 0; filt < RX_EMU_NFILTERS; filt++) {
        struct rx_emu_knote *k = &q->fds[fd].kn[filt];
        if (k->used && k->vnode)
            q->nvnodes--;
        memset(k, 0, sizeof *k);
    }
}

static int reserve(struct rx_emu_kq *q, int fd)
{
    if (fd < q->nfds)
        return 0;
    size_t n = q->nfds ? (size_t)q->nfds : 64;
    while (n <= (size_t)fd)
        n *= 2;
    struct rx_emu_fd *t = realloc(q->fds, n * sizeof *t);
    if (!t)
        return ENOMEM;
    memset(t + q->nfds, 0, (n - (size_t)q->nfds) * sizeof *t);
    q->fds = t;
    q->nfds = (int)n;
    return 0;
}

/* EV_ADD of a knote that does not exist yet. */
static int add(struct rx_emu_kq *q, int fd, int filt, const struct kevent *ch,
               const struct stat *st)
{
    if (reserve(q, fd))
        return ENOMEM;
    struct rx_emu_fd *f = &q->fds[fd];
    if (!has_knotes(f)) {
        f->dev = st->st_dev;
        f->ino = st->st_ino;
        f->gen = ++q->gen;
    }
    struct rx_emu_knote *k = &f->kn[filt];
    memset(k, 0, sizeof *k);
    k->flags = ch->flags & (EV_CLEAR | EV_ONESHOT | EV_RECEIPT);
    k->udata = ch->udata;
    k->disabled = (ch->flags & EV_DISABLE) && !(ch->flags & EV_ENABLE);
    k->last = -1;
    if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) {
        /* epoll refuses regular files (EPERM); kqueue's vnode filters answer
         * from the file offset, so emu_scan.c evaluates them at each scan. */
        k->vnode = 1;
        q->nvnodes++;
    } else if (!k->disabled) {
        /* "The filter is executed upon the initial registration of a kevent in
         * order to detect whether a preexisting condition is present": epoll
         * checks readiness on EPOLL_CTL_ADD too. */
        int err = ctl(q, EPOLL_CTL_ADD, fd, filt);
        if (err == EEXIST) /* an entry we dropped but could not delete: take it over */
            err = ctl(q, EPOLL_CTL_MOD, fd, filt);
        if (err) {
            memset(k, 0, sizeof *k);
            return err; /* e.g. EPERM for a descriptor without poll support */
        }
    }
    k->used = 1;
    return 0;
}

/*
 * EV_ADD of an existing knote, EV_ENABLE and EV_DISABLE. "Re-adding an
 * existing event will modify the parameters of the original event": the
 * parameters are udata (and fflags/data, which these filters ignore).
 * EV_CLEAR and EV_ONESHOT stay as the knote was created - FreeBSD's,
 * OpenBSD's and XNU's kqueue_register() all leave kn_flags alone - and the
 * filter runs again, so a knote whose condition holds is reported again.
 */
static int update(struct rx_emu_kq *q, int fd, int filt, const struct kevent *ch)
{
    struct rx_emu_knote *k = &q->fds[fd].kn[filt];
    if (ch->flags & EV_ADD)
        k->udata = ch->udata;
    int was_disabled = k->disabled;
    if (ch->flags & EV_DISABLE)
        k->disabled = 1;
    if (ch->flags & EV_ENABLE) /* both given: FreeBSD applies EV_DISABLE, then EV_ENABLE */
        k->disabled = 0;
    if (k->vnode) {
        if (ch->flags & (EV_ADD | EV_ENABLE))
            k->last = -1;
        return 0;
    }
    int err = 0;
    if (was_disabled && !k->disabled)
        /* "EV_DISABLE: Disable the event so kevent() will not return it." Out of
         * epoll while disabled; ADD checks the state again on EV_ENABLE. */
        err = ctl(q, EPOLL_CTL_ADD, fd, filt);
    else if (!was_disabled && k->disabled)
        (void)ctl(q, EPOLL_CTL_DEL, fd, filt);
    else if (!k->disabled && (ch->flags & EV_ADD))
        err = ctl(q, EPOLL_CTL_MOD, fd, filt); /* MOD checks readiness again and queues */
    if (err)
        k->disabled = (unsigned char)was_disabled;
    return err;
}

/* Applies one change; returns 0 or the errno kevent() reports for it. */
int rx_emu_apply(struct rx_emu_kq *q, const struct kevent *ch)
{
    int filt = filter_index(ch->filter);
    if (filt < 0)
        return EINVAL; /* only EVFILT_READ and EVFILT_WRITE are emulated */
    if (ch->ident > INT_MAX)
        return EBADF;
    int fd = (int)ch->ident;
    /* Descriptor filters look the descriptor up before anything else: a
     * closed one is EBADF whatever the action (kqueue_register's fget()). */
    struct stat st;
    int err = rx_emu_check_file(q, fd, &st);
    if (err)
        return err;
    struct rx_emu_fd *f = rx_emu_fd(q, fd);
    if (!f || !f->kn[filt].used) {
        if (!(ch->flags & EV_ADD))
            return ENOENT; /* "The event could not be found to be modified or deleted." */
        return add(q, fd, filt, ch, &st);
    }
    if (ch->flags & EV_DELETE) {
        err = in_epoll(&f->kn[filt]) ? ctl(q, EPOLL_CTL_DEL, fd, filt) : 0;
        if (err == ENOENT)
            forget_file(q, fd); /* see below */
        else
            rx_emu_drop(q, fd, filt);
        return err == ENOENT ? ENOENT : 0;
    }
    err = update(q, fd, filt, ch);
    if (err == ENOENT) {
        /* epoll(7) removed the entry with its file: the number was closed and
         * opened again on a file st_dev/st_ino cannot tell apart (anon-inode
         * files such as eventfd share one inode). close() dropped the knotes. */
        forget_file(q, fd);
        if (ch->flags & EV_ADD)
            return add(q, fd, filt, ch, &st);
    }
    return err;
}

/*
 * Replaces the epoll set of one filter by a fresh one holding exactly the
 * live knotes. Needed when the old set holds an entry no knote owns: epoll(7)
 * keys entries by (fd, open file), so the entry of a descriptor closed while
 * a dup keeps its file open stays, and can no longer be named to delete it.
 */
void rx_emu_rebuild(struct rx_emu_kq *q, int filt)
{
    int set = epoll_create1(EPOLL_CLOEXEC);
    if (set < 0 || rx_emu_replace_set(q, filt, set) < 0)
        return; /* stale[] stays set: tried again after the next scan */
    q->stale[filt] = 0;
    for (int fd = 0; fd < q->nfds; fd++) {
        struct stat st;
        if (!in_epoll(&q->fds[fd].kn[filt]) || rx_emu_check_file(q, fd, &st) != 0)
            continue;
        if (in_epoll(&q->fds[fd].kn[filt]) && ctl(q, EPOLL_CTL_ADD, fd, filt) != 0)
            memset(&q->fds[fd].kn[filt], 0, sizeof q->fds[fd].kn[filt]); /* could not re-arm */
    }
}
