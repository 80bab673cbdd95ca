/*
 * select.c - the select(2) backend: the most portable, and the most limited.
 *
 * From select(2): an fd_set holds descriptors below FD_SETSIZE (1024 on
 * Linux) and FD_SET beyond it writes out of bounds, so larger fds are refused
 * with ERANGE. The kernel scans 0..nfds-1 on every call, so the wait is O(maxfd)
 * whatever we do; the bookkeeping here stays O(1) per change (maxfd only drops
 * lazily, at the next wait).
 *
 * A closed fd in the set makes the whole select() fail with EBADF, which would
 * wedge every other fd. Then each watched fd is probed with fcntl(F_GETFD):
 * the bad ones are reported ready (their owners meet EBADF and unregister)
 * and select() runs again, without waiting, over the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>

#include "backend.h"

struct rx_select {
    fd_set rd, wr;            /* what is watched */
    int maxfd;                /* >= the highest watched fd, or -1 */
    int cursor;               /* where the next scan for ready fds starts */
    uint32_t tag[FD_SETSIZE]; /* the tag each watched fd was changed with */
};

static int rx_select_create(void **state)
{
    struct rx_select *s = malloc(sizeof *s);
    if (!s)
        return -ENOMEM;
    FD_ZERO(&s->rd);
    FD_ZERO(&s->wr);
    s->maxfd = -1;
    s->cursor = 0;
    *state = s;
    return 0;
}

static void rx_select_destroy(void *state)
{
    free(state);
}

static int rx_select_change(void *state, int fd, unsigned old, unsigned want, uint32_t tag)
{
    struct rx_select *s = state;
    if (fd >= FD_SETSIZE)
        return -ERANGE;
    /* As in poll.c: refuse a closed fd now rather than fail every later select(). */
    if (want && !(old & (REACTOR_READ | REACTOR_WRITE)) && fcntl(fd, F_GETFD) < 0)
        return -errno;
    if (want & REACTOR_READ)
        FD_SET(fd, &s->rd);
    else
        FD_CLR(fd, &s->rd);
    if (want & REACTOR_WRITE)
        FD_SET(fd, &s->wr);
    else
        FD_CLR(fd, &s->wr);
    if (want && fd > s->maxfd)
        s->maxfd = fd;
    s->tag[fd] = tag;
    return 0;
}

static int rx_select_watched(const struct rx_select *s, int fd)
{
    return FD_ISSET(fd, &s->rd) || FD_ISSET(fd, &s->wr);
}

static int rx_select_call(struct rx_select *s, fd_set *rd, fd_set *wr, int timeout_ms)
{
    struct timeval tv, *tvp = NULL;
    if (timeout_ms >= 0) {
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
        tvp = &tv;
    }
    *rd = s->rd;
    *wr = s->wr;
    int n = select(s->maxfd + 1, rd, wr, NULL, tvp);
    return n < 0 ? -errno : n;
}

/* Writes a report for every watched fd that is not open; clears them from the sets. */
static int rx_select_find_bad(struct rx_select *s, struct rx_ready *out, int max)
{
    int count = 0;
    for (int fd = 0; fd <= s->maxfd && count < max; fd++) {
        if (!rx_select_watched(s, fd) || fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        out[count].fd = fd;
        out[count].events = REACTOR_READ | REACTOR_WRITE;
        out[count].tag = s->tag[fd];
        count++;
    }
    return count;
}

static int rx_select_wait(void *state, int timeout_ms, struct rx_ready *out, int max)
{
    struct rx_select *s = state;
    while (s->maxfd >= 0 && !rx_select_watched(s, s->maxfd))
        s->maxfd--;
    fd_set rd, wr;
    int n = rx_select_call(s, &rd, &wr, timeout_ms);
    int count = 0;
    if (n == -EBADF) {
        count = rx_select_find_bad(s, out, max);
        /* Hide the bad fds for this one call only: they stay registered, and
         * stay reported, until their owners unregister them. */
        fd_set keep_rd = s->rd, keep_wr = s->wr;
        for (int i = 0; i < count; i++) {
            FD_CLR(out[i].fd, &s->rd);
            FD_CLR(out[i].fd, &s->wr);
        }
        n = rx_select_call(s, &rd, &wr, 0);
        s->rd = keep_rd;
        s->wr = keep_wr;
        if (n < 0) /* still failing: report what we found, try again next time */
            return count ? count : n;
    } else if (n < 0) {
        return n;
    }
    if (n == 0)
        return count;
    int top = s->maxfd + 1;
    if (s->cursor >= top)
        s->cursor = 0;
    /* select() counts each ready bit; stop scanning once all are found. */
    for (int k = 0, fd = s->cursor; k < top && n > 0 && count < max; k++, fd++) {
        if (fd == top)
            fd = 0;
        unsigned ev =
            (FD_ISSET(fd, &rd) ? REACTOR_READ : 0u) | (FD_ISSET(fd, &wr) ? REACTOR_WRITE : 0u);
        if (!ev)
            continue;
        n -= (ev & REACTOR_READ ? 1 : 0) + (ev & REACTOR_WRITE ? 1 : 0);
        out[count].fd = fd;
        out[count].events = (uint8_t)ev;
        out[count].tag = s->tag[fd];
        count++;
        s->cursor = fd + 1;
    }
    return count;
}

static int rx_select_fd(const void *state)
{
    (void)state;
    return -ENOTSUP;
}

const struct rx_backend rx_backend_select = {
    .name = "select",
    .features = RX_FEAT_TAGGED_ONCE,
    .evmap = rx_evmap_reactor,
    .create = rx_select_create,
    .destroy = rx_select_destroy,
    .change = rx_select_change,
    .wait = rx_select_wait,
    .backend_fd = rx_select_fd,
};
