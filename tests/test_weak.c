/*
 * test_weak.c - weak watchers: a weak fd, timer or signal watch still runs its
 * callback while the loop runs, but does not keep reactor_run() running.
 *
 * A run that a weak watcher wrongly keeps alive would block forever, so each
 * such run is guarded by an interval timer whose SIGALRM handler calls
 * reactor_stop() (async-signal-safe) and records that it had to.
 */
#include <signal.h>
#include <sys/time.h>

#include "harness.h"

static reactor_t *guarded;
static volatile sig_atomic_t guard_fired;

static void on_guard(int signo)
{
    (void)signo;
    guard_fired = 1;
    reactor_stop(guarded);
}

/* Runs `r` to its end, stopping it after `ms` if it does not end by itself.
 * Returns 1 if it ended by itself. */
static int run_ends_by_itself(reactor_t *r, long ms)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_guard;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    guarded = r;
    guard_fired = 0;
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}}, off = {{0, 0}, {0, 0}};
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
    H_EXPECT(reactor_run(r), 0);
    assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
    assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
    return !guard_fired;
}

static void count_cb(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r, (void)events;
    h_drain(fd);
    (*(int *)data)++;
}

static void count_timer(reactor_t *r, int64_t id, void *data)
{
    (void)r, (void)id;
    (*(int *)data)++;
}

/* ---- fds ---------------------------------------------------------------------------- */

static void a_weak_fd_does_not_keep_run_running(void **state)
{
    reactor_t *r = *state;
    int sv[2], calls = 0;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_WEAK, count_cb, &calls), 0);
    assert_true(run_ends_by_itself(r, 2000));
    assert_int_equal(calls, 0);
    /* Still registered and counted: weak is about run's end only. */
    H_EXPECT(reactor_count(r), 1);
    unsigned ev = 0;
    H_EXPECT(reactor_get(r, sv[0], &ev, NULL, NULL), 0);
    assert_int_equal(ev, REACTOR_READ | REACTOR_WEAK);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    h_close_pair(sv);
}

static void a_weak_fd_is_dispatched_while_something_strong_runs(void **state)
{
    reactor_t *r = *state;
    int sv[2], calls = 0, fired = 0;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_WEAK, count_cb, &calls), 0);
    h_put(sv[1]);
    assert_true(reactor_timer_add(r, 100, 0, count_timer, &fired) > 0);
    assert_true(run_ends_by_itself(r, 3000));
    assert_int_equal(fired, 1);
    assert_int_equal(calls, 1);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    h_close_pair(sv);
}

static void modify_makes_a_registration_weak_or_strong(void **state)
{
    reactor_t *r = *state;
    int sv[2], calls = 0;
    unsigned ev = 0;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, count_cb, &calls), 0);
    assert_false(run_ends_by_itself(r, 200)); /* strong: only the guard ends it */
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ | REACTOR_WEAK, count_cb, &calls), 0);
    H_EXPECT(reactor_get(r, sv[0], &ev, NULL, NULL), 0);
    assert_int_equal(ev, REACTOR_READ | REACTOR_WEAK);
    assert_true(run_ends_by_itself(r, 2000));
    /* Weak and still watched: a byte is delivered by run_once. */
    h_put(sv[1]);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    assert_int_equal(calls, 1);
    /* A modify without the bit makes it strong again. */
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, count_cb, &calls), 0);
    H_EXPECT(reactor_get(r, sv[0], &ev, NULL, NULL), 0);
    assert_int_equal(ev, REACTOR_READ);
    assert_false(run_ends_by_itself(r, 200));
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    h_close_pair(sv);
}

static void a_weak_pause_does_not_keep_run_running(void **state)
{
    reactor_t *r = *state;
    int sv[2], calls = 0;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, count_cb, &calls), 0);
    H_EXPECT(reactor_modify(r, sv[0], 0, count_cb, &calls), 0);
    assert_false(run_ends_by_itself(r, 200)); /* a paused fd keeps run going */
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WEAK, count_cb, &calls), 0);
    h_put(sv[1]);
    assert_true(run_ends_by_itself(r, 2000));
    assert_int_equal(calls, 0); /* paused: not reported */
    unsigned ev = 1;
    H_EXPECT(reactor_get(r, sv[0], &ev, NULL, NULL), 0);
    assert_int_equal(ev, REACTOR_WEAK);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    h_close_pair(sv);
}

static void unregistering_a_weak_fd_keeps_the_count_of_strong_ones(void **state)
{
    reactor_t *r = *state;
    int a[2], b[2], calls = 0;
    h_pair(a);
    h_pair(b);
    H_EXPECT(reactor_register(r, a[0], REACTOR_READ | REACTOR_WEAK, count_cb, &calls), 0);
    H_EXPECT(reactor_unregister(r, a[0]), 0);
    /* Had the weak count outlived its registration, this strong one would not count. */
    H_EXPECT(reactor_register(r, b[0], REACTOR_READ, count_cb, &calls), 0);
    assert_false(run_ends_by_itself(r, 200));
    H_EXPECT(reactor_unregister(r, b[0]), 0);
    h_close_pair(a);
    h_close_pair(b);
}

static void weak_alone_or_unknown_bits_are_refused(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WEAK, NULL, NULL), -EINVAL);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | (1u << 5), NULL, NULL), -EINVAL);
    H_EXPECT(reactor_count(r), 0);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WEAK | (1u << 5), NULL, NULL), -EINVAL);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    h_close_pair(sv);
}

/* ---- timers ------------------------------------------------------------------------- */

static void a_weak_repeating_timer_does_not_keep_run_running(void **state)
{
    reactor_t *r = *state;
    int ticks = 0, fired = 0;
    int64_t tick = reactor_timer_add(r, 5, 5, count_timer, &ticks);
    assert_true(tick > 0);
    H_EXPECT(reactor_timer_set_weak(r, tick, 1), 0);
    assert_true(run_ends_by_itself(r, 2000));
    assert_int_equal(ticks, 0); /* nothing strong: run ends before the first tick */
    assert_true(reactor_timer_add(r, 60, 0, count_timer, &fired) > 0);
    assert_true(run_ends_by_itself(r, 3000));
    assert_int_equal(fired, 1);
    assert_true(ticks >= 3); /* it ticked while the strong timer kept the loop up */
    H_EXPECT(reactor_timer_set_weak(r, tick, 0), 0);
    assert_false(run_ends_by_itself(r, 100));
    H_EXPECT(reactor_timer_cancel(r, tick), 0);
    assert_true(run_ends_by_itself(r, 2000));
}

static void a_weak_timer_that_fired_or_was_cancelled_is_forgotten(void **state)
{
    reactor_t *r = *state;
    int fired = 0, later = 0;
    int64_t w = reactor_timer_add(r, 1, 0, count_timer, &fired);
    H_EXPECT(reactor_timer_set_weak(r, w, 1), 0);
    assert_true(reactor_timer_add(r, 20, 0, count_timer, &fired) > 0);
    assert_true(run_ends_by_itself(r, 3000));
    assert_int_equal(fired, 2);
    H_EXPECT(reactor_timer_set_weak(r, w, 1), -ENOENT); /* fired: gone */
    int64_t c = reactor_timer_add(r, 10000, 0, count_timer, &fired);
    H_EXPECT(reactor_timer_set_weak(r, c, 1), 0);
    H_EXPECT(reactor_timer_cancel(r, c), 0);
    H_EXPECT(reactor_timer_set_weak(r, c, 0), -ENOENT);
    /* Both weak timers are gone: a new strong timer alone must keep run up. */
    assert_true(reactor_timer_add(r, 10, 0, count_timer, &later) > 0);
    assert_true(run_ends_by_itself(r, 3000));
    assert_int_equal(later, 1);
    H_EXPECT(reactor_timer_set_weak(r, 0, 1), -ENOENT);
    H_EXPECT(reactor_timer_set_weak(r, -5, 1), -ENOENT);
}

/* ---- signals ------------------------------------------------------------------------ */

static void on_signal(reactor_t *r, int signo, void *data)
{
    (void)r, (void)signo;
    (*(int *)data)++;
}

static void a_weak_signal_watch_does_not_keep_run_running(void **state)
{
    reactor_t *r = *state;
    int caught = 0, fired = 0;
    H_EXPECT(reactor_signal_set_weak(r, SIGUSR1, 1), -ENOENT);
    H_EXPECT(reactor_signal_add(r, SIGUSR1, on_signal, &caught), 0);
    assert_false(run_ends_by_itself(r, 200));
    H_EXPECT(reactor_signal_set_weak(r, SIGUSR1, 1), 0);
    assert_true(run_ends_by_itself(r, 2000));
    /* Weak, and still delivered while something strong runs. */
    raise(SIGUSR1);
    assert_true(reactor_timer_add(r, 50, 0, count_timer, &fired) > 0);
    assert_true(run_ends_by_itself(r, 3000));
    assert_int_equal(caught, 1);
    /* Removed and watched again: strong, as every new watch. */
    H_EXPECT(reactor_signal_remove(r, SIGUSR1), 0);
    H_EXPECT(reactor_signal_add(r, SIGUSR1, on_signal, &caught), 0);
    assert_false(run_ends_by_itself(r, 200));
    H_EXPECT(reactor_signal_remove(r, SIGUSR1), 0);
    H_EXPECT(reactor_signal_set_weak(r, SIGUSR1, 0), -ENOENT);
    H_EXPECT(reactor_signal_set_weak(r, 0, 1), -ENOENT);
    H_EXPECT(reactor_signal_set_weak(r, 100000, 1), -ENOENT);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
    const struct CMUnitTest tests[] = {
        T(a_weak_fd_does_not_keep_run_running),
        T(a_weak_fd_is_dispatched_while_something_strong_runs),
        T(modify_makes_a_registration_weak_or_strong),
        T(a_weak_pause_does_not_keep_run_running),
        T(unregistering_a_weak_fd_keeps_the_count_of_strong_ones),
        T(weak_alone_or_unknown_bits_are_refused),
        T(a_weak_repeating_timer_does_not_keep_run_running),
        T(a_weak_timer_that_fired_or_was_cancelled_is_forgotten),
        T(a_weak_signal_watch_does_not_keep_run_running),
    };
    return H_RUN(tests);
}
