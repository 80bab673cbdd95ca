/*
 * select_win32.c - the select backend on Winsock (Windows).
 *
 * Winsock's fd_set is not a bitmap but a count and an array of FD_SETSIZE
 * SOCKETs (src/win32/win32.h sets FD_SETSIZE to 1024 before <winsock2.h>):
 * the limit is on how many sockets one select() watches, whatever their
 * handle values, and FD_SET/FD_ISSET are linear scans. So the backend keeps
 * its own array of watched sockets (an entry per socket: events and tag),
 * builds the three sets from it for each call and looks the ready sockets up
 * in it: O(watched) per wait and per change, as select() itself is.
 *
 * Differences from the POSIX select backend that the core never sees:
 * - select() only takes sockets: anything else is refused when registered,
 *   with -ENOTSOCK (a file, pipe or console handle) or -EBADF.
 * - A failed non-blocking connect() is reported in exceptfds, not writefds:
 *   every write-watched socket is in exceptfds too, reported READ | WRITE
 *   so that its owner meets the error as on POSIX.
 * - select() with three empty sets fails (WSAEINVAL) instead of sleeping:
 *   the wait sleeps with Sleep() instead (the core registers its wakeup
 *   socket first, so it does not happen in practice).
 * - A socket closed while watched makes select() fail with WSAENOTSOCK, as
 *   EBADF on POSIX: each watched socket is probed, the bad ones are reported
 *   READ | WRITE (their owners unregister them) and the rest is waited on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../src/win32/win32.h"
#include "backend.h"

struct rx_wsel_entry {
    SOCKET s;
    uint32_t tag;
    uint8_t events; /* REACTOR_READ | REACTOR_WRITE */
    uint8_t ready;  /* during a wait: what was reported */
    uint8_t bad;    /* during a wait: not a socket any more */
};

struct rx_wsel {
    struct rx_wsel_entry w[FD_SETSIZE];
    int n;
    int cursor; /* where the next report starts, so that a full batch rotates */
    fd_set rd, wr, ex;
};

static int rx_wsel_create(void **state)
{
    struct rx_wsel *s = malloc(sizeof *s);
    if (!s)
        return -ENOMEM;
    s->n = 0;
    s->cursor = 0;
    *state = s;
    return 0;
}

static void rx_wsel_destroy(void *state)
{
    free(state);
}

static int rx_wsel_find(const struct rx_wsel *s, SOCKET sock)
{
    for (int i = 0; i < s->n; i++)
        if (s->w[i].s == sock)
            return i;
    return -1;
}

static int rx_wsel_change(void *state, int fd, unsigned old, unsigned want, uint32_t tag)
{
    struct rx_wsel *s = state;
    SOCKET sock = rx_socket(fd);
    int i = rx_wsel_find(s, sock);
    (void)old;
    want &= REACTOR_READ | REACTOR_WRITE;
    if (!want) {
        if (i >= 0)
            s->w[i] = s->w[--s->n]; /* order does not matter: the cursor rotates */
        return 0;
    }
    if (i < 0) {
        int rc = rx_check_socket(fd);
        if (rc < 0)
            return rc;
        if (s->n == FD_SETSIZE)
            return -ERANGE; /* as the POSIX select backend beyond FD_SETSIZE */
        i = s->n++;
        s->w[i].s = sock;
    }
    s->w[i].events = (uint8_t)want;
    s->w[i].tag = tag;
    return 0;
}

static int rx_wsel_call(struct rx_wsel *s, int timeout_ms)
{
    struct timeval tv, *tvp = NULL;
    FD_ZERO(&s->rd);
    FD_ZERO(&s->wr);
    FD_ZERO(&s->ex);
    int any = 0;
    for (int i = 0; i < s->n; i++) {
        struct rx_wsel_entry *e = &s->w[i];
        e->ready = 0;
        if (e->bad)
            continue;
        /* Direct stores, not FD_SET: that one scans the set for a duplicate. */
        if (e->events & REACTOR_READ)
            s->rd.fd_array[s->rd.fd_count++] = e->s;
        if (e->events & REACTOR_WRITE) {
            s->wr.fd_array[s->wr.fd_count++] = e->s;
            s->ex.fd_array[s->ex.fd_count++] = e->s;
        }
        any = 1;
    }
    if (!any) {
        if (timeout_ms < 0)
            return -EINVAL; /* nothing could ever wake us */
        Sleep((DWORD)timeout_ms);
        return 0;
    }
    if (timeout_ms >= 0) {
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        tvp = &tv;
    }
    /* The first argument is ignored by Winsock (kept for Berkeley sockets). */
    int n = select(0, &s->rd, &s->wr, &s->ex, tvp);
    return n == SOCKET_ERROR ? rx_wsa_last() : n;
}

/* Marks the ready bits of every socket in `set`. */
static void rx_wsel_mark(struct rx_wsel *s, const fd_set *set, uint8_t bits)
{
    for (u_int k = 0; k < set->fd_count; k++) {
        int i = rx_wsel_find(s, set->fd_array[k]);
        if (i >= 0)
            s->w[i].ready |= bits;
    }
}

static int rx_wsel_wait(void *state, int timeout_ms, struct rx_ready *out, int max)
{
    struct rx_wsel *s = state;
    for (int i = 0; i < s->n; i++)
        s->w[i].bad = 0;
    int n = rx_wsel_call(s, timeout_ms);
    int nbad = 0;
    if (n == -ENOTSOCK || n == -EBADF) {
        for (int i = 0; i < s->n; i++)
            if (rx_check_socket((int)(intptr_t)s->w[i].s) < 0) {
                s->w[i].bad = 1;
                nbad++;
            }
        n = rx_wsel_call(s, 0);
        if (n < 0 && !nbad)
            return n;
        if (n < 0)
            n = 0;
    } else if (n < 0) {
        return n;
    }
    if (n == 0 && !nbad)
        return 0;
    if (n > 0) {
        rx_wsel_mark(s, &s->rd, REACTOR_READ);
        rx_wsel_mark(s, &s->wr, REACTOR_WRITE);
        rx_wsel_mark(s, &s->ex, REACTOR_READ | REACTOR_WRITE);
    }
    int count = 0;
    if (s->cursor >= s->n)
        s->cursor = 0;
    for (int k = 0, i = s->cursor; k < s->n && count < max; k++, i++) {
        if (i == s->n)
            i = 0;
        struct rx_wsel_entry *e = &s->w[i];
        unsigned ev = e->bad ? (REACTOR_READ | REACTOR_WRITE) : e->ready;
        if (!ev)
            continue;
        out[count].fd = (int)(intptr_t)e->s;
        out[count].events = (uint8_t)ev;
        out[count].tag = e->tag;
        count++;
        s->cursor = i + 1;
    }
    return count;
}

static int rx_wsel_fd(const void *state)
{
    (void)state;
    return -ENOTSUP;
}

const struct rx_backend rx_backend_select = {
    .name = "select",
    .features = RX_FEAT_TAGGED_ONCE,
    .evmap = rx_evmap_reactor,
    .create = rx_wsel_create,
    .destroy = rx_wsel_destroy,
    .change = rx_wsel_change,
    .wait = rx_wsel_wait,
    .backend_fd = rx_wsel_fd,
};
