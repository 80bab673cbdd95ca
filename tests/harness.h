/*
 * harness.h - helpers shared by the core tests. Each test program runs once
 * per backend: the backend under test is named by RX_TEST_BACKEND.
 */
#ifndef RX_HARNESS_H
#define RX_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "reactor.h"

static inline const char *h_backend(void)
{
    const char *b = getenv("RX_TEST_BACKEND");
    return b && *b ? b : NULL;
}

static inline int h_is(const char *name)
{
    reactor_t *r = reactor_new(h_backend());
    int is = r && strcmp(reactor_backend(r), name) == 0;
    reactor_free(r);
    return is;
}

static inline int h_has_edge(void)
{
    return h_is("epoll") || h_is("kqueue");
}

static inline int h_setup(void **state)
{
    *state = reactor_new(h_backend());
    return *state ? 0 : -1;
}

static inline int h_teardown(void **state)
{
    reactor_free(*state);
    return 0;
}

/* A non-blocking, close-on-exec AF_UNIX stream pair. */
static inline void h_pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_not_equal(fcntl(sv[i], F_SETFL, O_NONBLOCK), -1);
        assert_int_not_equal(fcntl(sv[i], F_SETFD, FD_CLOEXEC), -1);
    }
}

static inline void h_close_pair(int sv[2])
{
    close(sv[0]);
    close(sv[1]);
}

static inline uint64_t h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Raises the soft fd limit as far as the hard limit allows; returns the new soft limit. */
static inline rlim_t h_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
}

/* Finds the entry for fd in a reactor_select() result; NULL if absent. */
static inline const reactor_event_t *h_find(const reactor_event_t *ev, int n, int fd)
{
    for (int i = 0; i < n; i++)
        if (ev[i].fd == fd)
            return &ev[i];
    return NULL;
}

#endif /* RX_HARNESS_H */
