/*
 * poll.c - the poll(2) backend.
 *
 * The kernel keeps no state between calls, so this file keeps the pollfd
 * array itself, plus a slot index per fd so that adding, changing and removing
 * are O(1) (removal moves the last entry into the hole). The wait itself is
 * O(n) in the kernel, which is what poll costs.
 *
 * From poll(2): POLLERR, POLLHUP and POLLNVAL are reported whatever was asked.
 * POLLNVAL (the fd is not open) is how a registered fd closed behind our back
 * shows up: it is reported ready so its owner meets EBADF and unregisters.
 * The scan for ready entries starts where the last one stopped, so when more
 * fds are ready than the caller has room for, every one gets its turn.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

struct rx_poll {
    struct pollfd *pfds;
    uint32_t *tags; /* tags[i] goes with pfds[i] */
    int n, cap;
    int *slot;  /* slot[fd] = index in pfds + 1; 0 = not watched */
    int nslot;  /* capacity of slot */
    int cursor; /* where the next scan for ready entries starts */
};

static int rx_poll_create(void **state)
{
    struct rx_poll *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    *state = p;
    return 0;
}

static void rx_poll_destroy(void *state)
{
    struct rx_poll *p = state;
    free(p->pfds);
    free(p->tags);
    free(p->slot);
    free(p);
}

static int rx_poll_grow(struct rx_poll *p, int fd)
{
    if (fd >= p->nslot) {
        int n = p->nslot ? p->nslot : 64;
        while (n <= fd)
            n *= 2;
        int *s = realloc(p->slot, (size_t)n * sizeof *s);
        if (!s)
            return -ENOMEM;
        memset(s + p->nslot, 0, (size_t)(n - p->nslot) * sizeof *s);
        p->slot = s;
        p->nslot = n;
    }
    if (p->n == p->cap) {
        int n = p->cap ? p->cap * 2 : 64;
        struct pollfd *f = realloc(p->pfds, (size_t)n * sizeof *f);
        if (!f)
            return -ENOMEM;
        p->pfds = f;
        uint32_t *t = realloc(p->tags, (size_t)n * sizeof *t);
        if (!t)
            return -ENOMEM;
        p->tags = t;
        p->cap = n;
    }
    return 0;
}

static int rx_poll_change(void *state, int fd, unsigned old, unsigned want, uint32_t tag)
{
    struct rx_poll *p = state;
    (void)old;
    int s = fd < p->nslot ? p->slot[fd] - 1 : -1;
    if (!want) {
        if (s >= 0) {
            p->tags[s] = p->tags[p->n - 1];
            p->pfds[s] = p->pfds[--p->n];
            p->slot[p->pfds[s].fd] = s + 1;
            p->slot[fd] = 0;
        }
        return 0;
    }
    if (s < 0) {
        /* poll() would accept a closed fd and report POLLNVAL later; refuse it now,
         * as epoll and kqueue do, so every backend fails registration alike. */
        if (fcntl(fd, F_GETFD) < 0)
            return -errno;
        int rc = rx_poll_grow(p, fd);
        if (rc < 0)
            return rc;
        s = p->n++;
        p->slot[fd] = s + 1;
        p->pfds[s].fd = fd;
        p->pfds[s].revents = 0;
    }
    p->tags[s] = tag;
    p->pfds[s].events =
        (short)(((want & REACTOR_READ) ? POLLIN : 0) | ((want & REACTOR_WRITE) ? POLLOUT : 0));
    return 0;
}

static unsigned rx_poll_events(short re)
{
    unsigned ev = 0;
    if (re & (POLLIN | POLLPRI | POLLERR | POLLHUP | POLLNVAL))
        ev |= REACTOR_READ;
    if (re & (POLLOUT | POLLERR | POLLHUP | POLLNVAL))
        ev |= REACTOR_WRITE;
    return ev;
}

static int rx_poll_wait(void *state, int timeout_ms, struct rx_ready *out, int max)
{
    struct rx_poll *p = state;
    int ready = poll(p->pfds, (nfds_t)p->n, timeout_ms);
    if (ready < 0)
        return -errno;
    int count = 0;
    if (p->cursor >= p->n)
        p->cursor = 0;
    for (int k = 0, i = p->cursor; k < p->n && count < ready && count < max; k++, i++) {
        if (i == p->n)
            i = 0;
        if (!p->pfds[i].revents)
            continue;
        out[count].fd = p->pfds[i].fd;
        out[count].events = (uint8_t)rx_poll_events(p->pfds[i].revents);
        out[count].tag = p->tags[i];
        count++;
        p->cursor = i + 1;
    }
    return count;
}

static int rx_poll_fd(const void *state)
{
    (void)state;
    return -ENOTSUP;
}

const struct rx_backend rx_backend_poll = {
    .name = "poll",
    .features = RX_FEAT_TAGGED_ONCE,
    .evmap = rx_evmap_reactor,
    .create = rx_poll_create,
    .destroy = rx_poll_destroy,
    .change = rx_poll_change,
    .wait = rx_poll_wait,
    .backend_fd = rx_poll_fd,
};
