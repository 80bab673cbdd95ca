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
#include <stdlib.h>
#include <string.h>

#include "backend.h"
/* The system call and its types: poll(2), or WSAPoll() on Windows. */
#ifdef _WIN32
#include "poll_win32.h"
#else
#include "poll_posix.h"
#endif

struct rx_poll {
    rx_pollfd *pfds;
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
        rx_pollfd *f = realloc(p->pfds, (size_t)n * sizeof *f);
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
    want &= REACTOR_READ | REACTOR_WRITE;
    int s = fd >= 0 && fd < p->nslot ? p->slot[fd] - 1 : -1;
    if (!want) {
        if (s >= 0) {
            p->tags[s] = p->tags[p->n - 1];
            p->pfds[s] = p->pfds[--p->n];
            p->slot[rx_pollfd_fd(&p->pfds[s])] = s + 1;
            p->slot[fd] = 0;
        }
        return 0;
    }
    if (s < 0) {
        int rc = rx_poll_check_fd(fd);
        if (rc < 0 || (rc = rx_poll_grow(p, fd)) < 0)
            return rc;
        s = p->n++;
        p->slot[fd] = s + 1;
        rx_pollfd_set_fd(&p->pfds[s], fd);
        p->pfds[s].revents = 0;
    }
    p->tags[s] = tag;
    p->pfds[s].events = (rx_pollev)(((want & REACTOR_READ) ? RX_POLL_IN : 0) |
                                    ((want & REACTOR_WRITE) ? RX_POLL_OUT : 0));
    return 0;
}

static unsigned rx_poll_events(rx_pollev re)
{
    unsigned ev = 0;
    if (re & (RX_POLL_READABLE | POLLERR | POLLHUP | POLLNVAL))
        ev |= REACTOR_READ;
    if (re & (RX_POLL_OUT | POLLERR | POLLHUP | POLLNVAL))
        ev |= REACTOR_WRITE;
    return ev;
}

static int rx_poll_wait(void *state, int timeout_ms, struct rx_ready *out, int max)
{
    struct rx_poll *p = state;
    int ready = rx_poll_sys(p->pfds, p->n, timeout_ms);
    if (ready < 0)
        return ready;
    int count = 0;
    if (p->cursor >= p->n)
        p->cursor = 0;
    for (int k = 0, i = p->cursor; k < p->n && count < ready && count < max; k++, i++) {
        if (i == p->n)
            i = 0;
        if (!p->pfds[i].revents)
            continue;
        out[count].fd = rx_pollfd_fd(&p->pfds[i]);
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
