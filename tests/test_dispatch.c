/*
 * test_dispatch.c - waiting and dispatching: reactor_select, ONESHOT, EDGE,
 * hang-ups, run/run_once/stop, calls from inside callbacks and the stale-event
 * rule, on the backend named by RX_TEST_BACKEND.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

#include "harness.h"

static void select_with_nothing_registered_still_waits(void **state)
{
    reactor_t *r = *state;
    reactor_event_t ev[4];
    uint64_t t0 = h_now_ms();
    assert_int_equal(reactor_select(r, 100, ev, 4), 0);
    uint64_t took = h_now_ms() - t0;
    assert_true(took >= 90);  /* waited, with clock tolerance */
    assert_true(took < 2000); /* and did not hang */
}

static void select_timeout_zero_does_not_block(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    reactor_event_t ev[4];
    uint64_t t0 = h_now_ms();
    assert_int_equal(reactor_select(r, 0, ev, 4), 0);
    assert_true(h_now_ms() - t0 < 1000);
    h_close_pair(sv);
}

static void select_rejects_bad_output_arguments(void **state)
{
    reactor_t *r = *state;
    reactor_event_t ev[1];
    assert_int_equal(reactor_select(r, 0, NULL, 1), -EINVAL);
    assert_int_equal(reactor_select(r, 0, ev, 0), -EINVAL);
}

static void select_reports_ready_fd_with_its_data(void **state)
{
    reactor_t *r = *state;
    int sv[2], tag;
    h_pair(sv);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ | REACTOR_WRITE, NULL, &tag), 0);
    assert_int_equal(write(sv[1], "x", 1), 1);
    reactor_event_t ev[4];
    assert_int_equal(reactor_select(r, 1000, ev, 4), 1); /* one entry per fd */
    assert_int_equal(ev[0].fd, sv[0]);
    assert_int_equal(ev[0].events, REACTOR_READ | REACTOR_WRITE);
    assert_ptr_equal(ev[0].data, &tag);
    h_close_pair(sv);
}

static void reported_events_are_a_subset_of_registered(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    /* Writable and readable, but only READ is asked for. */
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    reactor_event_t ev[4];
    assert_int_equal(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].events, REACTOR_READ);
    assert_int_equal(reactor_modify(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    assert_int_equal(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].events, REACTOR_WRITE);
    h_close_pair(sv);
}

static void more_ready_than_max_come_in_later_calls(void **state)
{
    reactor_t *r = *state;
    enum { N = 10 };
    int sv[N][2], seen[N] = {0};
    for (int i = 0; i < N; i++) {
        h_pair(sv[i]);
        assert_int_equal(write(sv[i][1], "x", 1), 1);
        assert_int_equal(reactor_register(r, sv[i][0], REACTOR_READ, NULL, &seen[i]), 0);
    }
    reactor_event_t ev[3];
    int total = 0;
    for (int round = 0; round < 10 && total < N; round++) {
        int n = reactor_select(r, 1000, ev, 3);
        assert_true(n >= 1 && n <= 3);
        for (int k = 0; k < n; k++) {
            int *s = ev[k].data;
            char c;
            assert_int_equal(read(ev[k].fd, &c, 1), 1); /* drain: reported once */
            assert_int_equal(*s, 0);
            *s = 1;
            total++;
        }
    }
    assert_int_equal(total, N); /* none lost */
    for (int i = 0; i < N; i++)
        h_close_pair(sv[i]);
}

static void oneshot_reports_once_until_modified(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ | REACTOR_ONESHOT, NULL, NULL), 0);
    reactor_event_t ev[4];
    assert_int_equal(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(reactor_select(r, 50, ev, 4), 0); /* still readable, but disarmed */
    /* A modify with the same events re-arms it. */
    assert_int_equal(reactor_modify(r, sv[0], REACTOR_READ | REACTOR_ONESHOT, NULL, NULL), 0);
    assert_int_equal(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(reactor_select(r, 50, ev, 4), 0);
    /* Re-armed without ONESHOT it becomes level-triggered again. */
    assert_int_equal(reactor_modify(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    assert_int_equal(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(reactor_select(r, 1000, ev, 4), 1);
    h_close_pair(sv);
}

static void oneshot_with_read_and_write_disarms_both(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    assert_int_equal(
        reactor_register(r, sv[0], REACTOR_READ | REACTOR_WRITE | REACTOR_ONESHOT, NULL, NULL), 0);
    reactor_event_t ev[4];
    assert_int_equal(reactor_select(r, 1000, ev, 4), 1); /* writable */
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(reactor_select(r, 50, ev, 4), 0); /* readable now, but disarmed */
    h_close_pair(sv);
}

static void edge_reports_once_per_new_data(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    int rc = reactor_register(r, sv[0], REACTOR_READ | REACTOR_EDGE, NULL, NULL);
    if (!h_has_edge()) { /* select and poll have no edge mode, and say so */
        assert_int_equal(rc, -ENOTSUP);
        h_close_pair(sv);
        return;
    }
    assert_int_equal(rc, 0);
    reactor_event_t ev[4];
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(reactor_select(r, 50, ev, 4), 0); /* not drained, but no new edge */
    assert_int_equal(write(sv[1], "y", 1), 1);
    assert_int_equal(reactor_select(r, 1000, ev, 4), 1);
    h_close_pair(sv);
}

static void hangup_wakes_a_read_registration(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    close(sv[1]);
    reactor_event_t ev[4];
    assert_int_equal(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].events, REACTOR_READ);
    char c;
    assert_int_equal(read(sv[0], &c, 1), 0); /* the next read sees EOF */
    close(sv[0]);
}

static void error_wakes_a_write_registration(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    char buf[4096] = {0};
    while (write(sv[0], buf, sizeof buf) > 0) /* fill: no longer writable */
        ;
    assert_int_equal(reactor_register(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    reactor_event_t ev[4];
    assert_int_equal(reactor_select(r, 50, ev, 4), 0);
    close(sv[1]); /* the peer goes away: the write side errors */
    assert_int_equal(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].events, REACTOR_WRITE);
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(write(sv[0], "x", 1), -1);
    close(sv[0]);
}

static void on_alarm(int sig)
{
    (void)sig;
}

static void select_returns_eintr_when_a_signal_interrupts(void **state)
{
    reactor_t *r = *state;
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_alarm; /* no SA_RESTART */
    sigaction(SIGALRM, &sa, &old);
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    reactor_event_t ev[4];
    uint64_t t0 = h_now_ms();
    int rc = reactor_select(r, 5000, ev, 4);
    assert_int_equal(rc, -EINTR);
    assert_true(h_now_ms() - t0 < 4000);
    /* run_once treats the interruption as an empty iteration. */
    setitimer(ITIMER_REAL, &it, NULL);
    assert_int_equal(reactor_run_once(r, 5000), 0);
    sigaction(SIGALRM, &old, NULL);
}

/* ---- run, run_once, stop ------------------------------------------------ */

struct counter {
    int calls;
    unsigned events;
};

static void count_and_drain(reactor_t *r, int fd, unsigned events, void *data)
{
    struct counter *c = data;
    char buf[64];
    (void)r;
    c->calls++;
    c->events |= events;
    while (read(fd, buf, sizeof buf) > 0)
        ;
}

static void run_once_returns_callbacks_run(void **state)
{
    reactor_t *r = *state;
    int a[2], b[2];
    struct counter ca = {0}, cb = {0};
    h_pair(a);
    h_pair(b);
    assert_int_equal(reactor_register(r, a[0], REACTOR_READ, count_and_drain, &ca), 0);
    assert_int_equal(reactor_register(r, b[0], REACTOR_READ, count_and_drain, &cb), 0);
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "x", 1), 1);
    assert_int_equal(reactor_run_once(r, 1000), 2);
    assert_int_equal(ca.calls, 1);
    assert_int_equal(cb.calls, 1);
    assert_int_equal(reactor_run_once(r, 0), 0);
    h_close_pair(a);
    h_close_pair(b);
}

static void unregister_self(reactor_t *r, int fd, unsigned events, void *data)
{
    count_and_drain(r, fd, events, data);
    reactor_unregister(r, fd);
}

static void run_returns_when_nothing_is_registered(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    struct counter c = {0};
    h_pair(sv);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, unregister_self, &c), 0);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(reactor_run(r), 0);
    assert_int_equal(c.calls, 1);
    assert_int_equal(reactor_run(r), 0); /* nothing left: returns at once */
    h_close_pair(sv);
}

static void stop_from_callback(reactor_t *r, int fd, unsigned events, void *data)
{
    count_and_drain(r, fd, events, data);
    reactor_stop(r);
}

static void stop_from_a_callback_ends_run(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    struct counter c = {0};
    h_pair(sv);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, stop_from_callback, &c), 0);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(reactor_run(r), 0);
    assert_int_equal(c.calls, 1);
    h_close_pair(sv);
}

static reactor_t *alarm_target;
static void stop_on_alarm(int sig)
{
    (void)sig;
    reactor_stop(alarm_target);
}

static void stop_from_a_signal_handler_wakes_run(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    alarm_target = r;
    struct sigaction sa = {0}, old;
    sa.sa_handler = stop_on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, &old);
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
    uint64_t t0 = h_now_ms();
    assert_int_equal(reactor_run(r), 0);
    assert_true(h_now_ms() - t0 < 5000);
    sigaction(SIGALRM, &old, NULL);
    h_close_pair(sv);
}

static void *stop_later(void *arg)
{
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    reactor_stop(arg);
    return NULL;
}

static void stop_from_another_thread_wakes_run(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    pthread_t t;
    uint64_t t0 = h_now_ms();
    assert_int_equal(pthread_create(&t, NULL, stop_later, r), 0);
    assert_int_equal(reactor_run(r), 0);
    assert_true(h_now_ms() - t0 < 5000);
    pthread_join(t, NULL);
    h_close_pair(sv);
}

static void stop_before_run_returns_after_one_iteration(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    reactor_stop(r);
    uint64_t t0 = h_now_ms();
    assert_int_equal(reactor_run(r), 0);
    assert_true(h_now_ms() - t0 < 2000);
    h_close_pair(sv);
}

/* ---- misuse from callbacks --------------------------------------------- */

struct nested {
    int select_rc, run_once_rc, run_rc;
};

static void try_nested_waits(reactor_t *r, int fd, unsigned events, void *data)
{
    struct nested *n = data;
    reactor_event_t ev[2];
    (void)events;
    n->select_rc = reactor_select(r, 0, ev, 2);
    n->run_once_rc = reactor_run_once(r, 0);
    n->run_rc = reactor_run(r);
    reactor_unregister(r, fd);
}

static void nested_waits_in_a_callback_fail_with_ebusy(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    struct nested n = {0};
    h_pair(sv);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_WRITE, try_nested_waits, &n), 0);
    assert_int_equal(reactor_run_once(r, 1000), 1);
    assert_int_equal(n.select_rc, -EBUSY);
    assert_int_equal(n.run_once_rc, -EBUSY);
    assert_int_equal(n.run_rc, -EBUSY);
    h_close_pair(sv);
}

static void free_in_callback(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)fd, (void)events;
    (*(int *)data)++;
    reactor_free(r);
}

static void free_in_a_callback_is_deferred_safely(void **state)
{
    (void)state;
    reactor_t *r = reactor_new(h_backend());
    int a[2], b[2], calls = 0;
    h_pair(a);
    h_pair(b);
    assert_int_equal(reactor_register(r, a[0], REACTOR_WRITE, free_in_callback, &calls), 0);
    assert_int_equal(reactor_register(r, b[0], REACTOR_WRITE, free_in_callback, &calls), 0);
    assert_int_equal(reactor_run(r), 0); /* returns: the reactor is gone (ASan checks) */
    assert_true(calls >= 1);
    h_close_pair(a);
    h_close_pair(b);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
    const struct CMUnitTest tests[] = {
        T(select_with_nothing_registered_still_waits),
        T(select_timeout_zero_does_not_block),
        T(select_rejects_bad_output_arguments),
        T(select_reports_ready_fd_with_its_data),
        T(reported_events_are_a_subset_of_registered),
        T(more_ready_than_max_come_in_later_calls),
        T(oneshot_reports_once_until_modified),
        T(oneshot_with_read_and_write_disarms_both),
        T(edge_reports_once_per_new_data),
        T(hangup_wakes_a_read_registration),
        T(error_wakes_a_write_registration),
        T(select_returns_eintr_when_a_signal_interrupts),
        T(run_once_returns_callbacks_run),
        T(run_returns_when_nothing_is_registered),
        T(stop_from_a_callback_ends_run),
        T(stop_from_a_signal_handler_wakes_run),
        T(stop_from_another_thread_wakes_run),
        T(stop_before_run_returns_after_one_iteration),
        T(nested_waits_in_a_callback_fail_with_ebusy),
        cmocka_unit_test(free_in_a_callback_is_deferred_safely),
    };
    return cmocka_run_group_tests_name(h_backend() ? h_backend() : "default", tests, NULL, NULL);
}
