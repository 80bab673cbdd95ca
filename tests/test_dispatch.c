/*
 * test_dispatch.c - reactor_run_once(), reactor_run() and reactor_stop():
 * what runs, what is returned, what ends a run, and what a callback may not
 * do; on the backend named by RX_TEST_BACKEND.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>

#include "harness.h"

struct counter {
    int calls;
    int fd;               /* the fd of the last call */
    unsigned events;      /* union of the events of every call */
    void *data;           /* the data of the last call */
    int unregister_after; /* > 0: unregister the fd once calls reaches it */
};

static void count_and_drain(reactor_t *r, int fd, unsigned events, void *data)
{
    struct counter *c = data;
    c->calls++;
    c->fd = fd;
    c->events |= events;
    c->data = data;
    h_drain(fd);
    if (c->unregister_after && c->calls >= c->unregister_after)
        H_EXPECT(reactor_unregister(r, fd), 0);
}

/* ---- run_once ------------------------------------------------------------ */

static void run_once_returns_how_many_callbacks_ran(void **state)
{
    reactor_t *r = *state;
    int a[2], b[2], c[2];
    struct counter ca = {0}, cb = {0}, cc = {0};
    h_pair(a);
    h_pair(b);
    h_pair(c);
    H_EXPECT(reactor_register(r, a[0], REACTOR_READ, count_and_drain, &ca), 0);
    H_EXPECT(reactor_register(r, b[0], REACTOR_READ, count_and_drain, &cb), 0);
    H_EXPECT(reactor_register(r, c[0], REACTOR_READ, count_and_drain, &cc), 0);
    h_put(a[1]);
    h_put(b[1]);
    H_EXPECT(reactor_run_once(r, 1000), 2);
    assert_int_equal(ca.calls, 1);
    assert_int_equal(cb.calls, 1);
    assert_int_equal(cc.calls, 0);
    H_EXPECT(reactor_run_once(r, 0), 0);
    h_close_pair(a);
    h_close_pair(b);
    h_close_pair(c);
}

/*
 * Registrations made by a callback: the array a wait fills is sized to what
 * is registered, and while callbacks run it is not moved (the dispatch loop
 * reads it), so it grows before the next wait. That wait must then report
 * every ready fd at once, well beyond the size the reactor started with.
 */
#define H_NEW_FDS 200
struct registrar {
    int pairs[H_NEW_FDS][2];
    struct counter counters[H_NEW_FDS];
};

static void register_many_ready(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)events;
    struct registrar *g = data;
    h_drain(fd);
    for (int i = 0; i < H_NEW_FDS; i++) {
        h_pair(g->pairs[i]);
        h_put(g->pairs[i][1]);
        H_EXPECT(
            reactor_register(r, g->pairs[i][0], REACTOR_READ, count_and_drain, &g->counters[i]), 0);
    }
}

static void fds_registered_by_a_callback_are_reported_in_one_wait(void **state)
{
    reactor_t *r = *state;
    static struct registrar g;
    memset(&g, 0, sizeof g);
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, register_many_ready, &g), 0);
    h_put(sv[1]);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    H_EXPECT(reactor_run_once(r, 1000), H_NEW_FDS);
    for (int i = 0; i < H_NEW_FDS; i++) {
        assert_int_equal(g.counters[i].calls, 1);
        H_EXPECT(reactor_unregister(r, g.pairs[i][0]), 0);
        h_close_pair(g.pairs[i]);
    }
    h_close_pair(sv);
}

/*
 * More ready fds than a kernel ring holds (io_uring's CQ ring has 4,096
 * entries; completions past it wait in the kernel): one wait still reports
 * every one, the next wait reports every one again (level-triggered, nothing
 * read), and a modify of each before one wait (more changes than io_uring's
 * SQ ring holds) reaches every one.
 */
enum { MANY_READY = 5000 };

static void count_many(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r;
    (void)fd;
    unsigned *seen = data;
    *seen |= events;
}

static void more_ready_fds_than_a_kernel_ring_holds_are_all_reported(void **state)
{
    reactor_t *r = *state;
    if (h_is("select")) /* numbers past FD_SETSIZE are refused there (-ERANGE) */
        return;
    struct rlimit old, want;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    want = old;
    if (want.rlim_cur < 2 * MANY_READY + 64) {
        want.rlim_cur = 2 * MANY_READY + 64;
        if (want.rlim_max != RLIM_INFINITY && want.rlim_cur > want.rlim_max)
            skip(); /* the hard limit is too low here */
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &want), 0);
    }
    static int p[MANY_READY][2];
    static unsigned seen[MANY_READY];
    for (int i = 0; i < MANY_READY; i++) {
        h_pipe(p[i]);
        h_put(p[i][1]);
        seen[i] = 0;
        H_EXPECT(reactor_register(r, p[i][0], REACTOR_READ, count_many, &seen[i]), 0);
    }
    for (int round = 0; round < 2; round++) {
        int ran = reactor_run_once(r, 1000);
        int missing = 0;
        for (int i = 0; i < MANY_READY; i++) {
            missing += seen[i] != REACTOR_READ;
            seen[i] = 0;
        }
        if (ran != MANY_READY || missing)
            fail_msg("wait %d: %d callbacks for %d ready fds, %d not reported", round + 1, ran,
                     MANY_READY, missing);
    }
    for (int i = 0; i < MANY_READY; i++) /* the pipes' write ends are writable too */
        H_EXPECT(reactor_modify(r, p[i][0], REACTOR_READ | REACTOR_ONESHOT, count_many, &seen[i]),
                 0);
    int ran = reactor_run_once(r, 1000), missing = 0;
    for (int i = 0; i < MANY_READY; i++)
        missing += seen[i] != REACTOR_READ;
    if (ran != MANY_READY || missing)
        fail_msg("after %d modifies: %d callbacks, %d fds not reported", MANY_READY, ran, missing);
    H_EXPECT(reactor_run_once(r, 0), 0); /* every ONESHOT has fired */
    for (int i = 0; i < MANY_READY; i++) {
        H_EXPECT(reactor_unregister(r, p[i][0]), 0);
        h_close_pair(p[i]);
    }
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
}

static void callback_gets_its_fd_events_and_data(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    struct counter c = {0};
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_WRITE, count_and_drain, &c), 0);
    h_put(sv[1]);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    assert_int_equal(c.fd, sv[0]);
    assert_int_equal(c.events, REACTOR_READ | REACTOR_WRITE);
    assert_ptr_equal(c.data, &c);
    h_close_pair(sv);
}

static void callback_events_are_a_subset_of_registered(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    struct counter c = {0};
    h_pair(sv);
    h_put(sv[1]); /* readable and writable; only WRITE asked */
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, count_and_drain, &c), 0);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    assert_int_equal(c.events, REACTOR_WRITE);
    h_close_pair(sv);
}

static void run_once_skips_registrations_without_a_callback(void **state)
{
    reactor_t *r = *state;
    int a[2], b[2];
    struct counter cb = {0};
    h_pair(a);
    h_pair(b);
    H_EXPECT(reactor_register(r, a[0], REACTOR_WRITE, NULL, NULL), 0);
    H_EXPECT(reactor_register(r, b[0], REACTOR_WRITE, count_and_drain, &cb), 0);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    assert_int_equal(cb.calls, 1);
    h_close_pair(a);
    h_close_pair(b);
}

static void run_once_waits_for_the_timeout_when_nothing_is_ready(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    struct counter c = {0};
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, count_and_drain, &c), 0);
    uint64_t t0 = h_now_ms();
    H_EXPECT(reactor_run_once(r, 200), 0);
    uint64_t took = h_now_ms() - t0;
    if (took < 180 || took >= 1000)
        fail_msg("run_once(200 ms) with nothing ready returned after %llu ms",
                 (unsigned long long)took);
    assert_int_equal(c.calls, 0);
    h_close_pair(sv);
}

static void run_once_with_nothing_registered_waits_for_the_timeout(void **state)
{
    reactor_t *r = *state;
    uint64_t t0 = h_now_ms();
    H_EXPECT(reactor_run_once(r, 200), 0);
    uint64_t took = h_now_ms() - t0;
    if (took < 180 || took >= 1000)
        fail_msg("run_once(200 ms) with nothing registered returned after %llu ms",
                 (unsigned long long)took);
}

static void on_alarm(int sig)
{
    (void)sig;
}

static void arm_alarm_without_restart(int ms, struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, old), 0);
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
}

static void run_once_interrupted_by_a_signal_returns_zero(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    struct counter c = {0};
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, count_and_drain, &c), 0);
    struct sigaction old;
    arm_alarm_without_restart(50, &old);
    uint64_t t0 = h_now_ms();
    int rc = reactor_run_once(r, 10000);
    uint64_t took = h_now_ms() - t0;
    sigaction(SIGALRM, &old, NULL);
    H_EXPECT(rc, 0);
    if (took >= 5000)
        fail_msg("the signal came at 50 ms but run_once returned after %llu ms",
                 (unsigned long long)took);
    h_close_pair(sv);
}

/* ---- run ------------------------------------------------------------------ */

static void run_returns_when_nothing_is_registered(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    struct counter c = {.unregister_after = 3};
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, count_and_drain, &c), 0);
    H_EXPECT(reactor_run(r), 0);
    assert_int_equal(c.calls, 3); /* ran until the last registration was gone */
    assert_int_equal(reactor_count(r), 0);
    h_close_pair(sv);
}

static void run_with_nothing_registered_returns_at_once(void **state)
{
    reactor_t *r = *state;
    uint64_t t0 = h_now_ms();
    H_EXPECT(reactor_run(r), 0);
    if (h_now_ms() - t0 >= 2000)
        fail_msg("reactor_run() with nothing registered blocked for %llu ms",
                 (unsigned long long)(h_now_ms() - t0));
}

struct writer {
    int fd;
    int delay_ms;
};

static void *write_later(void *arg)
{
    struct writer *w = arg;
    h_sleep_ms(w->delay_ms);
    h_put(w->fd);
    return NULL;
}

static void run_continues_after_an_interrupting_signal(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    struct counter c = {.unregister_after = 1};
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, count_and_drain, &c), 0);
    struct writer w = {sv[1], 300};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_later, &w), 0);
    struct sigaction old;
    arm_alarm_without_restart(50, &old);
    int rc = reactor_run(r);
    sigaction(SIGALRM, &old, NULL);
    pthread_join(t, NULL);
    H_EXPECT(rc, 0);
    if (c.calls != 1)
        fail_msg("reactor_run() returned before the fd was ready (the signal ended it)");
    h_close_pair(sv);
}

/* ---- stop ----------------------------------------------------------------- */

static void stop_in_callback(reactor_t *r, int fd, unsigned events, void *data)
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
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, stop_in_callback, &c), 0);
    H_EXPECT(reactor_run(r), 0);
    assert_int_equal(c.calls, 1); /* always writable: only the stop ended the run */
    h_close_pair(sv);
}

static reactor_t *alarm_target;

static void stop_on_alarm(int sig)
{
    (void)sig;
    reactor_stop(alarm_target);
}

static void stop_from_a_signal_handler_wakes_a_blocked_run(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    alarm_target = r;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = stop_on_alarm;
    sa.sa_flags = SA_RESTART; /* the wakeup must do it, not EINTR */
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    struct itimerval it = {{0, 0}, {0, 100000}};
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
    uint64_t t0 = h_now_ms();
    int rc = reactor_run(r);
    uint64_t took = h_now_ms() - t0;
    sigaction(SIGALRM, &old, NULL);
    H_EXPECT(rc, 0);
    if (took >= 5000)
        fail_msg("stop from a handler at 100 ms ended run after %llu ms", (unsigned long long)took);
    h_close_pair(sv);
}

static void *stop_later(void *arg)
{
    h_sleep_ms(100);
    reactor_stop(arg);
    return NULL;
}

static void stop_from_another_thread_wakes_a_blocked_run(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    pthread_t t;
    uint64_t t0 = h_now_ms();
    assert_int_equal(pthread_create(&t, NULL, stop_later, r), 0);
    H_EXPECT(reactor_run(r), 0);
    uint64_t took = h_now_ms() - t0;
    pthread_join(t, NULL);
    if (took >= 5000)
        fail_msg("stop from a thread at 100 ms ended run after %llu ms", (unsigned long long)took);
    h_close_pair(sv);
}

static void stop_before_run_returns_after_one_iteration(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    struct counter c = {0};
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, count_and_drain, &c), 0);
    reactor_stop(r);
    H_EXPECT(reactor_run(r), 0);
    assert_int_equal(c.calls, 1); /* one iteration, which did run the ready callback */
    h_close_pair(sv);
}

static void stop_is_consumed_by_the_run_it_ends(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    struct counter c = {.unregister_after = 3};
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, count_and_drain, &c), 0);
    reactor_stop(r);
    H_EXPECT(reactor_run(r), 0);
    assert_int_equal(c.calls, 1);
    H_EXPECT(reactor_run(r), 0); /* no stop left over: runs until unregistered */
    assert_int_equal(c.calls, 3);
    h_close_pair(sv);
}

struct storm {
    reactor_t *r;
    atomic_int runs;  /* reactor_run() calls started by the loop thread */
    atomic_int stops; /* reactor_stop() calls made by the other thread */
    int rounds;
};

static void *stop_every_run(void *arg)
{
    struct storm *s = arg;
    for (int i = 0; i < s->rounds; i++) {
        uint64_t give_up = h_now_ms() + 30000; /* the loop thread failed: do not wait for ever */
        while (atomic_load(&s->runs) <= i) {   /* one stop per run: wait for run i */
            if (h_now_ms() > give_up)
                return NULL;
            sched_yield();
        }
        atomic_fetch_add(&s->stops, 1);
        reactor_stop(s->r);
    }
    return NULL;
}

/* A lost wakeup would leave a run blocked for ever: CTest's timeout then fails it. */
static void stops_from_another_thread_are_never_lost(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0); /* never ready */
    static struct storm s; /* outlives a failed test, as the thread may */
    s.r = r;
    s.rounds = 2000;
    atomic_init(&s.runs, 0);
    atomic_init(&s.stops, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stop_every_run, &s), 0);
    for (int i = 0; i < s.rounds; i++) {
        atomic_fetch_add(&s.runs, 1);
        H_EXPECT(reactor_run(r), 0);
        if (atomic_load(&s.stops) < i + 1)
            fail_msg("run %d returned before its stop was requested", i);
    }
    pthread_join(t, NULL); /* (a failed run leaves it behind; it gives up on its own) */
    h_close_pair(sv);
}

/* ---- What callbacks may not do ---------------------------------------------- */

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
    struct nested n = {0, 0, 0};
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, try_nested_waits, &n), 0);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    H_EXPECT(n.select_rc, -EBUSY);
    H_EXPECT(n.run_once_rc, -EBUSY);
    H_EXPECT(n.run_rc, -EBUSY);
    h_close_pair(sv);
}

static void free_in_callback(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)fd, (void)events;
    (*(int *)data)++;
    reactor_free(r);
}

static void count_late_timer(reactor_t *r, int64_t id, void *data)
{
    (void)r, (void)id;
    (*(int *)data)++;
}

static void count_late_post(reactor_t *r, void *data)
{
    (void)r;
    (*(int *)data)++;
}

static void count_late_hook(reactor_t *r, unsigned when, void *data)
{
    (void)r, (void)when;
    (*(int *)data)++;
}

/* After reactor_free in a callback, no other callback of the iteration runs. */
static void free_in_a_callback_of_run_is_deferred_safely(void **state)
{
    (void)state;
    reactor_t *r = h_new();
    int a[2], b[2], c[2], calls = 0, late = 0;
    h_pair(a);
    h_pair(b);
    h_pair(c);
    H_EXPECT(reactor_register(r, a[0], REACTOR_WRITE, free_in_callback, &calls), 0);
    H_EXPECT(reactor_register(r, b[0], REACTOR_WRITE, free_in_callback, &calls), 0);
    H_EXPECT(reactor_register(r, c[0], REACTOR_READ | REACTOR_WRITE, free_in_callback, &calls), 0);
    assert_true(reactor_timer_add(r, 0, 0, count_late_timer, &late) > 0);
    H_EXPECT(reactor_post(r, count_late_post, &late), 0);
    assert_true(reactor_hook_add(r, REACTOR_AFTER_WAIT, count_late_hook, &late) > 0);
    H_EXPECT(reactor_run(r), 0); /* returns: the reactor is gone (ASan checks the rest) */
    assert_int_equal(calls, 1);
    assert_int_equal(late, 0);
    /* Registered fds are never closed by the reactor. */
    assert_true(fcntl(a[0], F_GETFD) >= 0 && fcntl(b[0], F_GETFD) >= 0);
    h_close_pair(a);
    h_close_pair(b);
    h_close_pair(c);
}

static void free_in_a_callback_of_run_once_is_deferred_safely(void **state)
{
    (void)state;
    reactor_t *r = h_new();
    int a[2], calls = 0;
    h_pair(a);
    H_EXPECT(reactor_register(r, a[0], REACTOR_WRITE, free_in_callback, &calls), 0);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    assert_int_equal(calls, 1);
    assert_true(fcntl(a[0], F_GETFD) >= 0);
    h_close_pair(a);
}

/* ---- One reactor per thread ---------------------------------------------------- */

/*
 * Each thread runs its own reactor: a ping-pong between the two ends of a
 * socketpair. The reactors are made and freed by the main thread and handed
 * over with pthread_create/pthread_join ("a reactor belongs to one thread at
 * a time"); the tests/kqueue_emu emulation releases a closed kqueue's inner
 * sets at the next kqueue() in whatever thread, which ThreadSanitizer cannot
 * order after the closed queue's last use.
 */
struct worker {
    reactor_t *r;
    int sv[2];
    int rounds;
    int calls[2];
    int failed;
};

static void worker_cb(reactor_t *r, int fd, unsigned events, void *data)
{
    struct worker *w = data;
    int end = fd == w->sv[0] ? 0 : 1;
    char c;
    (void)events;
    if (read(fd, &c, 1) != 1)
        w->failed = 1;
    if (write(fd, "x", 1) != 1) /* echo: the other end's callback runs next */
        w->failed = 1;
    if (++w->calls[end] == w->rounds && reactor_unregister(r, fd) != 0)
        w->failed = 1;
}

static void *run_a_private_reactor(void *arg)
{
    struct worker *w = arg;
    if (write(w->sv[1], "x", 1) != 1 || reactor_run(w->r) < 0)
        w->failed = 1;
    return NULL;
}

static void one_reactor_per_thread_runs_independently(void **state)
{
    (void)state;
    enum { THREADS = 8 };
    pthread_t t[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.r = h_new(), .rounds = 200};
        h_pair(w[i].sv);
        H_EXPECT(reactor_register(w[i].r, w[i].sv[0], REACTOR_READ, worker_cb, &w[i]), 0);
        H_EXPECT(reactor_register(w[i].r, w[i].sv[1], REACTOR_READ, worker_cb, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, run_a_private_reactor, &w[i]), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        if (w[i].failed || w[i].calls[0] != w[i].rounds || w[i].calls[1] != w[i].rounds)
            fail_msg("thread %d: %d and %d of %d ping-pong rounds, failed=%d", i, w[i].calls[0],
                     w[i].calls[1], w[i].rounds, w[i].failed);
        reactor_free(w[i].r);
        h_close_pair(w[i].sv);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
    const struct CMUnitTest tests[] = {
        T(run_once_returns_how_many_callbacks_ran),
        T(fds_registered_by_a_callback_are_reported_in_one_wait),
        T(more_ready_fds_than_a_kernel_ring_holds_are_all_reported),
        T(callback_gets_its_fd_events_and_data),
        T(callback_events_are_a_subset_of_registered),
        T(run_once_skips_registrations_without_a_callback),
        T(run_once_waits_for_the_timeout_when_nothing_is_ready),
        T(run_once_with_nothing_registered_waits_for_the_timeout),
        T(run_once_interrupted_by_a_signal_returns_zero),
        T(run_returns_when_nothing_is_registered),
        T(run_with_nothing_registered_returns_at_once),
        T(run_continues_after_an_interrupting_signal),
        T(stop_from_a_callback_ends_run),
        T(stop_from_a_signal_handler_wakes_a_blocked_run),
        T(stop_from_another_thread_wakes_a_blocked_run),
        T(stop_before_run_returns_after_one_iteration),
        T(stop_is_consumed_by_the_run_it_ends),
        T(stops_from_another_thread_are_never_lost),
        T(nested_waits_in_a_callback_fail_with_ebusy),
        cmocka_unit_test(free_in_a_callback_of_run_is_deferred_safely),
        cmocka_unit_test(free_in_a_callback_of_run_once_is_deferred_safely),
        cmocka_unit_test(one_reactor_per_thread_runs_independently),
    };
    return H_RUN(tests);
}
