/*
 * test_stale.c - the stale-event rule, closed and reused fds, and scale: what
 * breaks loops that look fine in simple tests. On the backend named by
 * RX_TEST_BACKEND.
 */
#include <stdio.h>
#include <sys/select.h>

#include "harness.h"

/*
 * Two fds ready in one batch. Whichever callback runs first closes the other
 * fd, and a new socket takes the same number and is registered with a new
 * callback. The new registration must not receive the old batch's event.
 */
struct stale {
    int fd[2];     /* the two registered fds (read ends) */
    int peer[2];   /* their write ends */
    int first;     /* index of the callback that ran first, -1 before */
    int calls[2];  /* callbacks of the original registrations */
    int new_calls; /* callbacks of the replacement registration */
    int replacement_pair[2];
};

static void new_registration_cb(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r, (void)fd, (void)events;
    ((struct stale *)data)->new_calls++;
}

static void replace_the_other(reactor_t *r, int fd, unsigned events, void *data)
{
    struct stale *s = data;
    int me = fd == s->fd[0] ? 0 : 1, other = 1 - me;
    (void)events;
    s->calls[me]++;
    if (s->first >= 0)
        return;
    s->first = me;
    int num = s->fd[other];
    assert_int_equal(reactor_unregister(r, num), 0);
    close(num);
    h_pair(s->replacement_pair);
    /* Make the new socket land on the old number, and make it readable too. */
    assert_int_equal(dup2(s->replacement_pair[0], num), num);
    assert_int_equal(write(s->replacement_pair[1], "n", 1), 1);
    assert_int_equal(reactor_register(r, num, REACTOR_READ, new_registration_cb, s), 0);
}

static void stale_event_never_reaches_a_new_registration(void **state)
{
    reactor_t *r = *state;
    struct stale s = {.first = -1};
    int a[2], b[2];
    h_pair(a);
    h_pair(b);
    s.fd[0] = a[0], s.fd[1] = b[0], s.peer[0] = a[1], s.peer[1] = b[1];
    assert_int_equal(reactor_register(r, a[0], REACTOR_READ, replace_the_other, &s), 0);
    assert_int_equal(reactor_register(r, b[0], REACTOR_READ, replace_the_other, &s), 0);
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "x", 1), 1);
    assert_int_equal(reactor_run_once(r, 1000), 1); /* only the first callback ran */
    assert_int_equal(s.calls[s.first], 1);
    assert_int_equal(s.calls[1 - s.first], 0);
    assert_int_equal(s.new_calls, 0);
    /* The next iteration serves the new registration normally. */
    assert_true(reactor_run_once(r, 1000) >= 1);
    assert_int_equal(s.new_calls, 1);
    close(s.fd[1 - s.first]);
    h_close_pair(s.replacement_pair);
    close(a[1]);
    close(b[1]);
    close(s.fd[s.first]);
}

/* A callback that modifies another fd already reported in the batch is obeyed at once. */
struct modify_other {
    int fd[2];
    int calls[2];
};

static void drop_write_of_other(reactor_t *r, int fd, unsigned events, void *data)
{
    struct modify_other *m = data;
    int me = fd == m->fd[0] ? 0 : 1;
    (void)events;
    m->calls[me]++;
    reactor_modify(r, m->fd[1 - me], REACTOR_READ, drop_write_of_other, m);
}

static void modify_of_another_ready_fd_applies_within_the_batch(void **state)
{
    reactor_t *r = *state;
    int a[2], b[2];
    struct modify_other m;
    h_pair(a);
    h_pair(b);
    m.fd[0] = a[0], m.fd[1] = b[0], m.calls[0] = m.calls[1] = 0;
    assert_int_equal(reactor_register(r, a[0], REACTOR_WRITE, drop_write_of_other, &m), 0);
    assert_int_equal(reactor_register(r, b[0], REACTOR_WRITE, drop_write_of_other, &m), 0);
    assert_int_equal(reactor_run_once(r, 1000), 1); /* the second lost WRITE before its turn */
    assert_int_equal(m.calls[0] + m.calls[1], 1);
    h_close_pair(a);
    h_close_pair(b);
}

/* Callbacks may register, modify, unregister and close their own fd. */
static void close_self(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)events;
    (*(int *)data)++;
    assert_int_equal(reactor_modify(r, fd, REACTOR_READ | REACTOR_WRITE, close_self, data), 0);
    assert_int_equal(reactor_unregister(r, fd), 0);
    assert_int_equal(reactor_register(r, fd, REACTOR_READ, close_self, data), 0);
    assert_int_equal(reactor_unregister(r, fd), 0);
    close(fd);
}

static void callback_may_reregister_and_close_its_own_fd(void **state)
{
    reactor_t *r = *state;
    int sv[2], calls = 0;
    h_pair(sv);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_WRITE, close_self, &calls), 0);
    assert_int_equal(reactor_run(r), 0);
    assert_int_equal(calls, 1);
    assert_int_equal(reactor_count(r), 0);
    close(sv[1]);
}

/*
 * A registered fd closed without unregistering must not wedge the loop: the
 * wait does not fail, and every other fd is served in the same call. poll and
 * select report the closed fd ready so its owner can unregister it; epoll and
 * kqueue drop a closed file's registration in the kernel (documented).
 */
static void closed_registered_fd_does_not_wedge_the_loop(void **state)
{
    reactor_t *r = *state;
    int dead[2], live[2];
    h_pair(dead);
    h_pair(live);
    assert_int_equal(reactor_register(r, dead[0], REACTOR_READ, NULL, NULL), 0);
    assert_int_equal(reactor_register(r, live[0], REACTOR_READ, NULL, NULL), 0);
    close(dead[0]);
    assert_int_equal(write(live[1], "x", 1), 1);
    reactor_event_t ev[4];
    for (int round = 0; round < 3; round++) {
        int n = reactor_select(r, 1000, ev, 4);
        assert_true(n >= 1);
        assert_non_null(h_find(ev, n, live[0])); /* served in the same call */
        const reactor_event_t *d = h_find(ev, n, dead[0]);
        if (h_is("poll") || h_is("select"))
            assert_non_null(d);
        if (d) {
            char c;
            assert_int_equal(read(dead[0], &c, 1), -1); /* the owner meets EBADF */
            assert_int_equal(errno, EBADF);
        }
    }
    assert_int_equal(reactor_unregister(r, dead[0]), 0);
    close(dead[1]);
    h_close_pair(live);
}

/*
 * An fd closed while a dup keeps its file alive: epoll keeps reporting the
 * file under a number we can no longer name. The loop must neither deliver it
 * to anyone nor spin.
 */
static void dup_kept_file_of_an_unregistered_fd_is_not_delivered(void **state)
{
    reactor_t *r = *state;
    int sv[2], other[2];
    h_pair(sv);
    h_pair(other);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    assert_int_equal(reactor_register(r, other[0], REACTOR_READ, NULL, NULL), 0);
    int keep = dup(sv[0]);
    close(sv[0]);
    assert_int_equal(reactor_unregister(r, sv[0]), 0);
    assert_int_equal(write(sv[1], "x", 1), 1); /* the kept file becomes readable */
    reactor_event_t ev[4];
    for (int i = 0; i < 5; i++)
        assert_int_equal(reactor_select(r, 20, ev, 4), 0);
    assert_int_equal(write(other[1], "y", 1), 1);
    assert_int_equal(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].fd, other[0]);
    close(keep);
    close(sv[1]);
    h_close_pair(other);
}

/* poll, epoll and kqueue take as many fds as the process may open. */
static void ten_thousand_fds(void **state)
{
    reactor_t *r = *state;
    enum { PAIRS = 5000 };
    rlim_t lim = h_raise_nofile();
    if (h_is("select")) {
        /* select cannot: refused by number, before anything else is checked. */
        assert_int_equal(reactor_register(r, FD_SETSIZE + 1, REACTOR_READ, NULL, NULL), -ERANGE);
        return;
    }
    if (lim < 2 * PAIRS + 64)
        fail_msg("RLIMIT_NOFILE hard limit %lu is below %d: cannot test 10,000 fds",
                 (unsigned long)lim, 2 * PAIRS + 64);
    int(*sv)[2] = calloc(PAIRS, sizeof *sv);
    assert_non_null(sv);
    for (int i = 0; i < PAIRS; i++) {
        h_pair(sv[i]);
        assert_int_equal(reactor_register(r, sv[i][0], REACTOR_READ, NULL, NULL), 0);
        assert_int_equal(reactor_register(r, sv[i][1], REACTOR_READ, NULL, NULL), 0);
    }
    assert_int_equal(reactor_count(r), 2 * PAIRS);
    /* Every 7th pair gets a byte on each end: all must be reported. */
    int want = 0;
    for (int i = 0; i < PAIRS; i += 7) {
        assert_int_equal(write(sv[i][0], "x", 1), 1);
        assert_int_equal(write(sv[i][1], "x", 1), 1);
        want += 2;
    }
    reactor_event_t *ev = calloc(2 * PAIRS, sizeof *ev);
    int got = 0;
    for (int round = 0; round < 10 && got < want; round++) {
        int n = reactor_select(r, 1000, ev, 2 * PAIRS);
        assert_true(n > 0);
        for (int k = 0; k < n; k++) {
            char c;
            assert_int_equal(read(ev[k].fd, &c, 1), 1);
        }
        got += n;
    }
    assert_int_equal(got, want);
    for (int i = 0; i < PAIRS; i++) {
        assert_int_equal(reactor_unregister(r, sv[i][0]), 0);
        assert_int_equal(reactor_unregister(r, sv[i][1]), 0);
        h_close_pair(sv[i]);
    }
    free(ev);
    free(sv);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
    const struct CMUnitTest tests[] = {
        T(stale_event_never_reaches_a_new_registration),
        T(modify_of_another_ready_fd_applies_within_the_batch),
        T(callback_may_reregister_and_close_its_own_fd),
        T(closed_registered_fd_does_not_wedge_the_loop),
        T(dup_kept_file_of_an_unregistered_fd_is_not_delivered),
        T(ten_thousand_fds),
    };
    return cmocka_run_group_tests_name(h_backend() ? h_backend() : "default", tests, NULL, NULL);
}
