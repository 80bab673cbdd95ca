/*
 * poll_win32.c - the poll backend on WSAPoll() (Windows Vista and later).
 *
 * backends/poll.c with Winsock's types: the WSAPOLLFD array, a tag per entry
 * and a slot index by handle value, so adding, changing and removing are
 * O(1); the wait is O(n), as WSAPoll is. Differences the core never sees:
 * - Sockets only, as for select: anything else is refused when registered,
 *   with -ENOTSOCK or -EBADF.
 * - WSAPoll() fails with WSAEINVAL for POLLPRI, and for an empty array
 *   instead of sleeping: only POLLRDNORM and POLLWRNORM are asked for, and
 *   with nothing registered the wait sleeps with Sleep() (the core's wakeup
 *   socket is always registered, so that does not happen in practice).
 * - A socket closed while registered comes back with POLLNVAL, as on POSIX,
 *   and is reported READ | WRITE so that its owner unregisters it.
 *
 * Known Windows defect: before Windows 10 version 2004, WSAPoll() did not
 * report a failed non-blocking connect() at all (no POLLHUP, no POLLERR),
 * which is why curl and libuv stay away from it. That is why this backend
 * is opt-in (REACTOR_WITH_POLL, OFF by default on Windows) and select is
 * the default there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../src/win32/win32.h"
#include "backend.h"

struct rx_wpoll {
    WSAPOLLFD *pfds;
    uint32_t *tags; /* tags[i] goes with pfds[i] */
    int n, cap;
    int *slot;  /* slot[fd] = index in pfds + 1; 0 = not watched */
    int nslot;  /* capacity of slot */
    int cursor; /* where the next scan for ready entries starts */
};

static int rx_wpoll_create(void **state)
{
    struct rx_wpoll *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    *state = p;
    return 0;
}

static void rx_wpoll_destroy(void *state)
{
    struct rx_wpoll *p = state;
    free(p->pfds);
    free(p->tags);
    free(p->slot);
    free(p);
}

static int rx_wpoll_grow(struct rx_wpoll *p, int fd)
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
        WSAPOLLFD *f = realloc(p->pfds, (size_t)n * sizeof *f);
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

static int rx_wpoll_change(void *state, int fd, unsigned old, unsigned want, uint32_t tag)
{
    struct rx_wpoll *p = state;
    (void)old;
    want &= REACTOR_READ | REACTOR_WRITE;
    int s = fd >= 0 && fd < p->nslot ? p->slot[fd] - 1 : -1;
    if (!want) {
        if (s >= 0) {
            p->tags[s] = p->tags[p->n - 1];
            p->pfds[s] = p->pfds[--p->n];
            p->slot[(int)(intptr_t)p->pfds[s].fd] = s + 1;
            p->slot[fd] = 0;
        }
        return 0;
    }
    if (s < 0) {
        int rc = rx_check_socket(fd);
        if (rc < 0)
            return rc;
        if ((rc = rx_wpoll_grow(p, fd)) < 0)
            return rc;
        s = p->n++;
        p->slot[fd] = s + 1;
        p->pfds[s].fd = rx_socket(fd);
        p->pfds[s].revents = 0;
    }
    p->tags[s] = tag;
    p->pfds[s].events = (SHORT)(((want & REACTOR_READ) ? POLLRDNORM : 0) |
                                ((want & REACTOR_WRITE) ? POLLWRNORM : 0));
    return 0;
}

static unsigned rx_wpoll_events(SHORT re)
{
    unsigned ev = 0;
    if (re & (POLLRDNORM | POLLRDBAND | POLLERR | POLLHUP | POLLNVAL))
        ev |= REACTOR_READ;
    if (re & (POLLWRNORM | POLLERR | POLLHUP | POLLNVAL))
        ev |= REACTOR_WRITE;
    return ev;
}

static int rx_wpoll_wait(void *state, int timeout_ms, struct rx_ready *out, int max)
{
    struct rx_wpoll *p = state;
    if (p->n == 0) {
        if (timeout_ms < 0)
            return -EINVAL; /* nothing could ever wake us */
        Sleep((DWORD)timeout_ms);
        return 0;
    }
    int ready = WSAPoll(p->pfds, (ULONG)p->n, timeout_ms);
    if (ready == SOCKET_ERROR)
        return rx_wsa_last();
    int count = 0;
    if (p->cursor >= p->n)
        p->cursor = 0;
    for (int k = 0, i = p->cursor; k < p->n && count < ready && count < max; k++, i++) {
        if (i == p->n)
            i = 0;
        if (!p->pfds[i].revents)
            continue;
        out[count].fd = (int)(intptr_t)p->pfds[i].fd;
        out[count].events = (uint8_t)rx_wpoll_events(p->pfds[i].revents);
        out[count].tag = p->tags[i];
        count++;
        p->cursor = i + 1;
    }
    return count;
}

static int rx_wpoll_fd(const void *state)
{
    (void)state;
    return -ENOTSUP;
}

const struct rx_backend rx_backend_poll = {
    .name = "poll",
    .features = RX_FEAT_TAGGED_ONCE,
    .evmap = rx_evmap_reactor,
    .create = rx_wpoll_create,
    .destroy = rx_wpoll_destroy,
    .change = rx_wpoll_change,
    .wait = rx_wpoll_wait,
    .backend_fd = rx_wpoll_fd,
};
