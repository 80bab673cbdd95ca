/*
 * harness.h - helpers shared by the core tests. Each test program runs once
 * per backend: the backend under test is named by RX_TEST_BACKEND (unset or
 * empty: the library's default), so any program can be run by hand:
 *
 *     RX_TEST_BACKEND=poll ./test_register
 */
#ifndef RX_HARNESS_H
#define RX_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* The name of the backend under test, as the library reports it. */
static inline const char *h_backend_name(void)
{
    static char name[16];
    if (!name[0]) {
        reactor_t *r = reactor_new(h_backend());
        if (!r)
            fail_msg("reactor_new(\"%s\") failed: %s", h_backend() ? h_backend() : "(default)",
                     reactor_strerror(errno));
        snprintf(name, sizeof name, "%s", reactor_backend(r));
        reactor_free(r);
    }
    return name;
}

static inline int h_is(const char *name)
{
    return strcmp(h_backend_name(), name) == 0;
}

/* epoll and kqueue have an edge mode; io_uring, poll and select do not. */
static inline int h_has_edge(void)
{
    return h_is("epoll") || h_is("kqueue");
}

/* epoll, kqueue and io_uring have a kernel descriptor; poll and select do not. */
static inline int h_has_backend_fd(void)
{
    return h_is("epoll") || h_is("kqueue") || h_is("io_uring");
}

/* A new reactor on the backend under test; fails the test if there is none. */
static inline reactor_t *h_new(void)
{
    reactor_t *r = reactor_new(h_backend());
    if (!r)
        fail_msg("reactor_new(\"%s\") failed: %s", h_backend() ? h_backend() : "(default)",
                 reactor_strerror(errno));
    return r;
}

/* cmocka setup/teardown: a fresh reactor in *state for each test. */
static inline int h_setup(void **state)
{
    *state = reactor_new(h_backend());
    if (!*state)
        fprintf(stderr, "reactor_new(\"%s\") failed: %s\n", h_backend() ? h_backend() : "(default)",
                reactor_strerror(errno));
    return *state ? 0 : -1;
}

static inline int h_teardown(void **state)
{
    reactor_free(*state);
    return 0;
}

/*
 * Asserts that an API call returns `want`, naming the call, what it returned
 * and what was expected: H_EXPECT(reactor_unregister(r, fd), -ENOENT).
 */
#define H_EXPECT(call, want)                                                                       \
    do {                                                                                           \
        long long h_got_ = (long long)(call), h_want_ = (long long)(want);                         \
        if (h_got_ != h_want_)                                                                     \
            fail_msg("%s returned %lld (%s), expected %s = %lld", #call, h_got_,                   \
                     h_got_ < 0 ? reactor_strerror((int)h_got_) : "ok", #want, h_want_);           \
    } while (0)

/* Runs a test group named after the backend under test, and says which it is. */
#define H_RUN(tests)                                                                               \
    (printf("# backend under test: %s\n", h_backend_name()),                                       \
     cmocka_run_group_tests_name(h_backend_name(), tests, NULL, NULL))

/* A non-blocking, close-on-exec AF_UNIX stream pair. */
static inline void h_pair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        fail_msg("socketpair: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        assert_int_not_equal(fcntl(sv[i], F_SETFL, O_NONBLOCK), -1);
        assert_int_not_equal(fcntl(sv[i], F_SETFD, FD_CLOEXEC), -1);
    }
}

/* A non-blocking, close-on-exec pipe: p[0] reads, p[1] writes. */
static inline void h_pipe(int p[2])
{
    if (pipe(p) < 0)
        fail_msg("pipe: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        assert_int_not_equal(fcntl(p[i], F_SETFL, O_NONBLOCK), -1);
        assert_int_not_equal(fcntl(p[i], F_SETFD, FD_CLOEXEC), -1);
    }
}

static inline void h_close_pair(int sv[2])
{
    close(sv[0]);
    close(sv[1]);
}

/* Writes one byte; fails the test if it cannot. */
static inline void h_put(int fd)
{
    if (write(fd, "x", 1) != 1)
        fail_msg("write(%d) of one byte: %s", fd, strerror(errno));
}

/* Reads everything pending on a non-blocking fd; returns how many bytes. */
static inline size_t h_drain(int fd)
{
    char buf[4096];
    size_t total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        total += (size_t)n;
    return total;
}

/* Writes into a non-blocking fd until its buffer is full (it is then not writable). */
static inline void h_fill(int fd)
{
    static const char buf[4096];
    while (write(fd, buf, sizeof buf) > 0)
        ;
    while (write(fd, buf, 1) > 0) /* the last scraps of room */
        ;
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

static inline uint64_t h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void h_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
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

/* reactor_select() that fails the test on an error; returns the count. */
static inline int h_select(reactor_t *r, int timeout_ms, reactor_event_t *ev, int max)
{
    int n = reactor_select(r, timeout_ms, ev, max);
    if (n < 0)
        fail_msg("reactor_select(%d ms) failed: %s", timeout_ms, reactor_strerror(n));
    return n;
}

/*
 * Fails unless `rounds` calls of reactor_select(60 ms) each report nothing and
 * wait their whole timeout. One call before them may return early: that is
 * where a reactor may notice a file it cannot name and rebuild its set.
 */
static inline void h_assert_waits_quietly(reactor_t *r, int rounds)
{
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 60, ev, 4), 0);
    for (int i = 0; i < rounds; i++) {
        uint64_t t0 = h_now_ms();
        H_EXPECT(reactor_select(r, 60, ev, 4), 0);
        uint64_t took = h_now_ms() - t0;
        if (took < 54)
            fail_msg("select(60 ms) returned 0 after %llu ms: something the reactor cannot "
                     "deliver keeps waking the wait (a loop would spin)",
                     (unsigned long long)took);
    }
}

/* Fails unless every fd appears at most once in a reactor_select() result. */
static inline void h_assert_one_entry_per_fd(const reactor_event_t *ev, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (ev[i].fd == ev[j].fd)
                fail_msg("fd %d reported twice in one reactor_select() result", ev[i].fd);
}

/* ---- Which descriptors are open: to find the ones the reactor opened ---- */

enum { H_MAX_SCAN = 4096 };

/* Marks in `open` every fd below H_MAX_SCAN that is open now. */
static inline void h_open_fds(char open[H_MAX_SCAN])
{
    for (int fd = 0; fd < H_MAX_SCAN; fd++)
        open[fd] = fcntl(fd, F_GETFD) >= 0;
}

#endif /* RX_HARNESS_H */
