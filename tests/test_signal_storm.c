/*
 * test_signal_storm.c - the loop under a storm of signals: SIGALRM every
 * millisecond from setitimer(2) while bytes travel a chain of socketpairs,
 * timers fire and another thread posts.
 *
 * A handler installed without SA_RESTART makes every blocking call the signal
 * lands in fail with EINTR (signal(7), "Interruption of system calls"): the
 * loop's wait, and any read or write the library makes. None of that may
 * surface as an error from reactor_run or reactor_run_once, and
 * reactor_select may only report it as its documented -EINTR; a ONESHOT
 * re-arm, which reaches the kernel with the very wait the signal interrupts,
 * must not be lost (the chain would stall). Watched through
 * reactor_signal_add, the same storm must coalesce into callbacks that keep
 * coming, never more of them than signals sent, and the self-pipe filling up
 * must neither block the handler nor lose the fact of a signal.
 *
 * Failures inside callbacks are recorded, not asserted: a cmocka failure
 * would unwind through the library's dispatch (and leave the itimer and the
 * posting thread running). Every test stops the storm, drains the traffic,
 * then checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "svc_test.h"

enum {
    CHAIN_MAX = 50,  /* socketpairs a burst crosses, one loop iteration per hop */
    BURST = 48,      /* bytes injected at the head of the chain per injection */
    INJECT_MS = 2,   /* between two injections: the loop idles, so signals hit its wait */
    ALARM_US = 1000, /* the storm: one SIGALRM per millisecond */
    DRAIN_LIMIT_MS = 5000,
};

static unsigned storm_ms(void)
{
    return SVC_SANITIZED ? 500 : 1200;
}

/* ---- A chain of socketpairs with a checked byte stream on every link ------ */

/* Byte k of link j: a pattern that catches a lost, repeated or reordered byte. */
static unsigned char stream_byte(int link, uint64_t k)
{
    return (unsigned char)(k * 131u + (k >> 8) + (unsigned)link * 7u);
}

struct chain;

struct node {
    struct chain *c;
    int index; /* reads link `index`, forwards to link `index + 1` unless it is the tail */
};

struct chain {
    int n;
    int sv[CHAIN_MAX][2]; /* link j: written on sv[j][0], read on sv[j][1] */
    uint64_t sent[CHAIN_MAX], received[CHAIN_MAX];
    struct node node[CHAIN_MAX];
    uint64_t injected; /* bytes written into link 0 */
    int injections;
    int64_t inject_timer;
    unsigned events; /* what the nodes register: READ, or READ | ONESHOT re-armed each time */
    char error[160]; /* the first thing that went wrong, empty if none */
};

static void chain_error(struct chain *c, const char *fmt, ...)
{
    if (c->error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
}

/* Appends `len` bytes of link j's stream; the socket buffers hold far more than is in flight. */
static void link_write(struct chain *c, int j, size_t len)
{
    unsigned char buf[4096];
    while (len > 0) {
        size_t chunk = len < sizeof buf ? len : sizeof buf;
        for (size_t i = 0; i < chunk; i++)
            buf[i] = stream_byte(j, c->sent[j] + i);
        ssize_t n = write(c->sv[j][0], buf, chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            chain_error(c, "write to link %d: %s", j, n < 0 ? strerror(errno) : "0 bytes");
            return;
        }
        c->sent[j] += (uint64_t)n;
        len -= (size_t)n;
    }
}

static void node_readable(reactor_t *r, int fd, unsigned events, void *data)
{
    struct node *nd = data;
    struct chain *c = nd->c;
    int j = nd->index;
    unsigned char buf[4096];
    (void)events;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            chain_error(c, "read from link %d: %s", j, n < 0 ? strerror(errno) : "end of file");
            return;
        }
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != stream_byte(j, c->received[j] + (uint64_t)i)) {
                chain_error(c, "link %d: byte %llu is wrong", j,
                            (unsigned long long)(c->received[j] + (uint64_t)i));
                return;
            }
        c->received[j] += (uint64_t)n;
        if (j + 1 < c->n)
            link_write(c, j + 1, (size_t)n);
    }
    /* Re-armed by a modify, which reaches the kernel with the next wait - the
     * wait the storm interrupts. A re-arm lost there stalls the chain. */
    if (c->events & REACTOR_ONESHOT) {
        int rc = reactor_modify(r, fd, c->events, node_readable, nd);
        if (rc < 0)
            chain_error(c, "re-arming link %d: %s", j, reactor_strerror(rc));
    }
}

static void nonblock(int fd)
{
    assert_int_not_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), -1);
}

static void chain_open(reactor_t *r, struct chain *c, int n, unsigned events)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    c->events = events;
    for (int j = 0; j < n; j++) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, c->sv[j]), 0);
        nonblock(c->sv[j][0]);
        nonblock(c->sv[j][1]);
        c->node[j].c = c;
        c->node[j].index = j;
        assert_int_equal(reactor_register(r, c->sv[j][1], events, node_readable, &c->node[j]), 0);
    }
}

static void chain_inject(struct chain *c)
{
    link_write(c, 0, BURST);
    c->injected += BURST;
    c->injections++;
}

static void inject_cb(reactor_t *r, int64_t id, void *data)
{
    (void)r;
    (void)id;
    chain_inject(data);
}

static int chain_delivered(const struct chain *c)
{
    return c->error[0] || c->received[c->n - 1] == c->injected;
}

/* Every byte injected reached the tail, through every link, in order. */
static void chain_check(const struct chain *c)
{
    if (c->error[0])
        fail_msg("%s", c->error);
    assert_true(c->injections > 0);
    for (int j = 0; j < c->n; j++)
        if (c->received[j] != c->sent[j] || c->sent[j] != c->injected)
            fail_msg("link %d: %llu bytes sent, %llu received, %llu injected", j,
                     (unsigned long long)c->sent[j], (unsigned long long)c->received[j],
                     (unsigned long long)c->injected);
}

static void chain_close(reactor_t *r, struct chain *c)
{
    for (int j = 0; j < c->n; j++) {
        reactor_unregister(r, c->sv[j][1]);
        close(c->sv[j][0]);
        close(c->sv[j][1]);
    }
}

/* ---- The storm ------------------------------------------------------------- */

static void itimer_set(unsigned us)
{
    struct itimerval it = {{0, (long)us}, {0, (long)us}};
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
}

static atomic_int raw_alarms;

static void raw_alarm_handler(int signo)
{
    (void)signo;
    atomic_fetch_add(&raw_alarms, 1);
}

/* SIGALRM to a counting handler without SA_RESTART: blocking calls fail with EINTR. */
static void raw_handler_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = raw_alarm_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
}

/*
 * Stops the itimer, then ignores SIGALRM, which also discards one still
 * pending (signal(7)), then restores the default. Also the teardown: a failed
 * test must not leave a timer whose next signal kills the runner.
 */
static void storm_stop(void)
{
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGALRM, &sa, NULL);
}

static int storm_teardown(void **state)
{
    storm_stop();
    return svc_teardown(state);
}

#define STORM_TEST(f) cmocka_unit_test_setup_teardown(f, svc_setup, storm_teardown)

/* Blocks SIGALRM in the calling thread, so that the storm lands on the loop thread. */
static void block_alarm(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* ---- Posts from another thread, checked for order -------------------------- */

struct poster {
    reactor_t *r;
    pthread_t thread;
    atomic_int stop;
    atomic_int posted;
    int ran;
    int out_of_order;
};

static void post_cb(reactor_t *r, void *data)
{
    (void)r;
    struct poster *p = data;
    p->ran++;
}

static void *post_loop(void *arg)
{
    struct poster *p = arg;
    block_alarm();
    while (!atomic_load(&p->stop)) {
        if (reactor_post(p->r, post_cb, p) == 0)
            atomic_fetch_add(&p->posted, 1);
        struct timespec ts = {0, 300 * 1000}; /* EINTR cannot reach here: SIGALRM is blocked */
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void poster_start(struct poster *p, reactor_t *r)
{
    memset(p, 0, sizeof *p);
    p->r = r;
    atomic_init(&p->stop, 0);
    atomic_init(&p->posted, 0);
    assert_int_equal(pthread_create(&p->thread, NULL, post_loop, p), 0);
}

static void poster_stop(struct poster *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
}

/* ---- a. A raw handler without SA_RESTART, the loop driven three ways -------- */

enum driver { BY_RUN_ONCE, BY_RUN, BY_SELECT };

struct tick {
    int fired;
};

static void tick_cb(reactor_t *r, int64_t id, void *data)
{
    (void)r;
    (void)id;
    ((struct tick *)data)->fired++;
}

static void stop_cb(reactor_t *r, int64_t id, void *data)
{
    (void)id;
    (void)data;
    reactor_stop(r);
}

struct storm_result {
    int failed_rc; /* the first negative return that is not allowed, or 0 */
    int eintr;     /* reactor_select's -EINTR returns */
    uint64_t elapsed_ms;
};

/* reactor_select has no services: this driver injects and dispatches by hand. */
static void drive_by_select(reactor_t *r, struct chain *c, struct storm_result *res, uint64_t end)
{
    reactor_event_t ev[64];
    uint64_t next = svc_now_ms();
    for (uint64_t now; (now = svc_now_ms()) < end;) {
        if (now >= next) {
            chain_inject(c);
            next = now + INJECT_MS;
        }
        int n = reactor_select(r, (int)(next - now), ev, 64);
        if (n == -EINTR) { /* documented: the caller retries */
            res->eintr++;
            continue;
        }
        if (n < 0) {
            res->failed_rc = n;
            return;
        }
        for (int i = 0; i < n; i++)
            node_readable(r, ev[i].fd, ev[i].events, ev[i].data);
    }
}

static void storm_with_raw_handler(reactor_t *r, enum driver how)
{
    static struct chain c;
    struct poster p = {0};
    struct tick tick = {0};
    struct storm_result res = {0};
    int chain = SVC_SANITIZED ? 20 : CHAIN_MAX;

    /* run_once: the one-pass dispatch of plain registrations; run and select:
     * ONESHOT ones, collected in a batch and re-armed through the change list. */
    chain_open(r, &c, chain, how == BY_RUN_ONCE ? REACTOR_READ : REACTOR_READ | REACTOR_ONESHOT);
    atomic_store(&raw_alarms, 0);
    raw_handler_install();
    int64_t tick_id = -1;
    if (how != BY_SELECT) {
        c.inject_timer = reactor_timer_add(r, INJECT_MS, INJECT_MS, inject_cb, &c);
        assert_true(c.inject_timer > 0);
        tick_id = reactor_timer_add(r, 5, 5, tick_cb, &tick);
        assert_true(tick_id > 0);
        poster_start(&p, r);
    }
    itimer_set(ALARM_US);

    uint64_t start = svc_now_ms(), end = start + storm_ms();
    if (how == BY_RUN_ONCE) {
        while (svc_now_ms() < end && !res.failed_rc) {
            int rc = reactor_run_once(r, 100);
            if (rc < 0)
                res.failed_rc = rc;
        }
    } else if (how == BY_RUN) {
        assert_true(reactor_timer_add(r, storm_ms(), 0, stop_cb, NULL) > 0);
        int rc = reactor_run(r);
        if (rc < 0)
            res.failed_rc = rc;
    } else {
        drive_by_select(r, &c, &res, end);
    }
    res.elapsed_ms = svc_now_ms() - start;
    storm_stop();
    int alarms = atomic_load(&raw_alarms);

    /* Quiet again: let every byte reach the tail and every post run. */
    if (how != BY_SELECT) {
        poster_stop(&p);
        reactor_timer_cancel(r, c.inject_timer);
        reactor_timer_cancel(r, tick_id);
    }
    uint64_t limit = svc_now_ms() + DRAIN_LIMIT_MS;
    while (svc_now_ms() < limit &&
           !(chain_delivered(&c) && (how == BY_SELECT || p.ran == atomic_load(&p.posted)))) {
        int rc = reactor_run_once(r, 10);
        if (rc < 0 && !res.failed_rc)
            res.failed_rc = rc;
    }
    chain_close(r, &c);

    if (res.failed_rc)
        fail_msg("the loop returned %d (%s) during the storm", res.failed_rc,
                 reactor_strerror(res.failed_rc));
    chain_check(&c);
    if (how == BY_RUN && res.elapsed_ms + 50 < storm_ms())
        fail_msg("reactor_run returned after %llu ms, before its stop timer",
                 (unsigned long long)res.elapsed_ms);
    /* The storm was real: about one alarm per millisecond of the run. */
    if ((unsigned)alarms < storm_ms() / 4)
        fail_msg("only %d alarms in %llu ms", alarms, (unsigned long long)res.elapsed_ms);
    if (how == BY_SELECT) {
        /* The loop idles between bursts, so alarms land in its wait. */
        if (res.eintr == 0)
            fail_msg("%d alarms and not one interrupted reactor_select", alarms);
    } else {
        if (tick.fired < (int)(storm_ms() / 5 / 4))
            fail_msg("a 5 ms timer fired %d times in %llu ms", tick.fired,
                     (unsigned long long)res.elapsed_ms);
        if (p.ran != atomic_load(&p.posted) || p.ran == 0)
            fail_msg("%d posts ran of %d posted", p.ran, atomic_load(&p.posted));
    }
    print_message("# %s: %d alarms, %d bursts, %d select EINTR, %d timer ticks in %llu ms\n",
                  how == BY_RUN_ONCE ? "run_once"
                  : how == BY_RUN    ? "run"
                                     : "select",
                  alarms, c.injections, res.eintr, tick.fired, (unsigned long long)res.elapsed_ms);
}

static void raw_alarm_storm_never_fails_reactor_run_once(void **state)
{
    storm_with_raw_handler(*state, BY_RUN_ONCE);
}

static void raw_alarm_storm_never_fails_reactor_run(void **state)
{
    storm_with_raw_handler(*state, BY_RUN);
}

static void raw_alarm_storm_only_shows_as_eintr_from_reactor_select(void **state)
{
    storm_with_raw_handler(*state, BY_SELECT);
}

/* ---- b. The storm on a watched signal -------------------------------------- */

struct watch {
    int count;
    uint64_t first_ms, last_ms, max_gap_ms;
    pthread_t thread;
    int wrong_thread;
};

static void watch_cb(reactor_t *r, int signo, void *data)
{
    (void)r;
    struct watch *w = data;
    uint64_t now = svc_now_ms();
    if (signo != SIGALRM || !pthread_equal(pthread_self(), w->thread))
        w->wrong_thread = 1;
    if (w->count == 0)
        w->first_ms = now;
    else if (now - w->last_ms > w->max_gap_ms)
        w->max_gap_ms = now - w->last_ms;
    w->last_ms = now;
    w->count++;
}

static void watch_init(struct watch *w)
{
    memset(w, 0, sizeof *w);
    w->thread = pthread_self();
}

/* At most one expiry per interval (setitimer(2)), plus the one at the start. */
static int itimer_bound(uint64_t elapsed_ms)
{
    return (int)(elapsed_ms * 1000 / ALARM_US) + 2;
}

/*
 * What "keeps coming" means under a storm of one signal per millisecond: no
 * gap of this length without a callback, beyond the longest time the loop
 * itself was held up (a shared machine may not schedule the process for a
 * few hundred ms; a lost signal shows as a gap while the loop iterates on).
 */
enum { MAX_GAP_MS = 250 };

/* One storm iteration; *stall keeps the longest time between two returns. */
static int storm_step(reactor_t *r, uint64_t *prev, uint64_t *stall)
{
    int rc = reactor_run_once(r, 100);
    uint64_t now = svc_now_ms();
    if (now - *prev > *stall)
        *stall = now - *prev;
    *prev = now;
    return rc;
}

/* Sends SIGALRM to the process once the flag is set; the loop waits for it meanwhile. */
struct late_kill {
    atomic_int go;
    pthread_t thread;
};

static void *kill_when_told(void *arg)
{
    struct late_kill *k = arg;
    block_alarm();
    while (!atomic_load(&k->go))
        svc_sleep_ms(1);
    svc_sleep_ms(20);
    kill(getpid(), SIGALRM);
    return NULL;
}

/* After a storm: one more signal, sent while the loop is blocked, wakes it and runs the callback.
 */
static void one_more_signal_is_seen(reactor_t *r, struct watch *w)
{
    struct late_kill k;
    atomic_init(&k.go, 0);
    /* Settle: the storm's last deliveries must not count as this one. */
    for (int i = 0; i < 5; i++)
        reactor_run_once(r, 10);
    int before = w->count;
    assert_int_equal(pthread_create(&k.thread, NULL, kill_when_told, &k), 0);
    atomic_store(&k.go, 1);
    uint64_t start = svc_now_ms();
    while (w->count == before && svc_now_ms() - start < 5000)
        assert_true(reactor_run_once(r, 5000) >= 0);
    pthread_join(k.thread, NULL);
    if (w->count != before + 1)
        fail_msg("one signal after the storm ran the callback %d times", w->count - before);
    if (svc_now_ms() - start > 2000)
        fail_msg("the blocked loop saw the signal after %llu ms",
                 (unsigned long long)(svc_now_ms() - start));
}

static void watched_alarm_storm_coalesces_and_keeps_traffic_intact(void **state)
{
    reactor_t *r = *state;
    static struct chain c;
    struct poster p;
    struct watch w;
    int chain = SVC_SANITIZED ? 20 : CHAIN_MAX;

    watch_init(&w);
    chain_open(r, &c, chain, REACTOR_READ);
    assert_int_equal(reactor_signal_add(r, SIGALRM, watch_cb, &w), 0);
    c.inject_timer = reactor_timer_add(r, INJECT_MS, INJECT_MS, inject_cb, &c);
    assert_true(c.inject_timer > 0);
    poster_start(&p, r);
    int failed_rc = 0;

    uint64_t start = svc_now_ms(), end = start + storm_ms(), prev = start, stall = 0;
    itimer_set(ALARM_US);
    while (svc_now_ms() < end && !failed_rc) {
        int rc = storm_step(r, &prev, &stall);
        if (rc < 0)
            failed_rc = rc;
    }
    /* Stop the itimer only: the watcher keeps the disposition ours. */
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
    uint64_t elapsed = svc_now_ms() - start;
    int during = w.count;
    uint64_t tail_gap = svc_now_ms() - w.last_ms;

    poster_stop(&p);
    reactor_timer_cancel(r, c.inject_timer);
    uint64_t limit = svc_now_ms() + DRAIN_LIMIT_MS;
    while (svc_now_ms() < limit && !(chain_delivered(&c) && p.ran == atomic_load(&p.posted)))
        if (reactor_run_once(r, 10) < 0)
            failed_rc = -1;
    chain_close(r, &c);

    if (failed_rc)
        fail_msg("reactor_run_once returned %d during the storm", failed_rc);
    chain_check(&c);
    assert_int_equal(p.ran, atomic_load(&p.posted));
    assert_false(w.wrong_thread);
    if (during == 0)
        fail_msg("no callback in a %llu ms storm", (unsigned long long)elapsed);
    uint64_t allowed = MAX_GAP_MS + stall;
    if (w.first_ms - start > allowed || w.max_gap_ms > allowed || tail_gap > allowed)
        fail_msg("the callback stopped coming: first after %llu ms, longest gap %llu ms, "
                 "none in the last %llu ms, while the loop was held up %llu ms at most",
                 (unsigned long long)(w.first_ms - start), (unsigned long long)w.max_gap_ms,
                 (unsigned long long)tail_gap, (unsigned long long)stall);
    if (w.count > itimer_bound(svc_now_ms() - start))
        fail_msg("%d callbacks for at most %d signals", w.count,
                 itimer_bound(svc_now_ms() - start));
    print_message(
        "# %d callbacks in %llu ms (longest gap %llu ms, loop held up %llu ms), %d bursts, "
        "%d posts\n",
        during, (unsigned long long)elapsed, (unsigned long long)w.max_gap_ms,
        (unsigned long long)stall, c.injections, p.ran);

    one_more_signal_is_seen(r, &w);
    assert_int_equal(reactor_signal_remove(r, SIGALRM), 0);
}

/*
 * More deliveries than the self-pipe holds (64 KiB on Linux, pipe(7); less
 * elsewhere) while the loop does not run: the handler's write meets a full
 * non-blocking pipe and must return, and what it records is still seen, as
 * one callback. Signals raised by the thread itself are delivered before
 * raise() returns, so every one of them reaches the handler.
 */
static void
deliveries_beyond_a_full_self_pipe_run_one_callback_and_later_ones_still_wake(void **state)
{
    reactor_t *r = *state;
    struct watch w;
    int storm = SVC_SANITIZED ? 70000 : 100000;
    watch_init(&w);
    assert_int_equal(reactor_signal_add(r, SIGALRM, watch_cb, &w), 0);
    for (int i = 0; i < storm; i++)
        raise(SIGALRM);
    assert_true(reactor_run_once(r, 1000) >= 0);
    if (w.count != 1)
        fail_msg("%d deliveries before an iteration ran the callback %d times", storm, w.count);
    /* The full pipe was drained: no leftover byte runs it again. */
    for (int i = 0; i < 3; i++)
        assert_true(reactor_run_once(r, 0) >= 0);
    assert_int_equal(w.count, 1);
    raise(SIGALRM);
    assert_true(reactor_run_once(r, 1000) >= 0);
    assert_int_equal(w.count, 2);
    one_more_signal_is_seen(r, &w);
    assert_int_equal(reactor_signal_remove(r, SIGALRM), 0);
}

/* ---- c. Two reactors on two threads, both watching the storm ---------------- */

struct loop {
    reactor_t *r;
    struct chain c;
    struct watch w;
    pthread_t thread;
    atomic_int *storm_over;
    atomic_int watching; /* the storm may start: SIGALRM has our handler */
    atomic_int drained;  /* set once the traffic is in; then it waits for one more signal */
    int failed_rc, during, last_count;
    uint64_t start, elapsed, tail_gap, stall;
};

static void *loop_thread(void *arg)
{
    struct loop *l = arg;
    watch_init(&l->w);
    if (reactor_signal_add(l->r, SIGALRM, watch_cb, &l->w) < 0) {
        l->failed_rc = -1;
        atomic_store(&l->drained, 1);
        return NULL; /* the test fails before it starts the storm: see loops_watching */
    }
    atomic_store(&l->watching, 1);
    l->c.inject_timer = reactor_timer_add(l->r, INJECT_MS, INJECT_MS, inject_cb, &l->c);
    l->start = svc_now_ms();
    uint64_t prev = l->start;
    while (!atomic_load(l->storm_over) && !l->failed_rc) {
        int rc = storm_step(l->r, &prev, &l->stall);
        if (rc < 0)
            l->failed_rc = rc;
    }
    l->elapsed = svc_now_ms() - l->start;
    l->during = l->w.count;
    l->tail_gap = svc_now_ms() - l->w.last_ms;
    reactor_timer_cancel(l->r, l->c.inject_timer);
    uint64_t limit = svc_now_ms() + DRAIN_LIMIT_MS;
    while (svc_now_ms() < limit && !chain_delivered(&l->c))
        if (reactor_run_once(l->r, 10) < 0)
            l->failed_rc = -1;
    for (int i = 0; i < 5; i++) /* settle, as one_more_signal_is_seen does */
        reactor_run_once(l->r, 10);
    l->last_count = l->w.count;
    atomic_store(&l->drained, 1);
    limit = svc_now_ms() + 5000;
    while (l->w.count == l->last_count && svc_now_ms() < limit)
        if (reactor_run_once(l->r, 5000) < 0)
            l->failed_rc = -1;
    return NULL;
}

/* Until every loop watches SIGALRM: a storm started earlier would meet SIG_DFL and end the run. */
static void loops_watching(struct loop *l, int n)
{
    uint64_t limit = svc_now_ms() + 5000;
    for (int i = 0; i < n; i++) {
        while (!atomic_load(&l[i].watching) && !atomic_load(&l[i].drained) && svc_now_ms() < limit)
            svc_sleep_ms(1);
        if (!atomic_load(&l[i].watching)) {
            atomic_store(l[i].storm_over, 1);
            for (int k = 0; k < n; k++)
                pthread_join(l[k].thread, NULL);
            fail_msg("loop %d does not watch SIGALRM (rc %d)", i, l[i].failed_rc);
        }
    }
}

static void two_reactors_on_two_threads_both_see_the_storm(void **state)
{
    (void)state;
    static struct loop l[2];
    atomic_int storm_over;
    sigset_t set, old;
    atomic_init(&storm_over, 0);
    for (int i = 0; i < 2; i++) {
        memset(&l[i], 0, sizeof l[i]);
        l[i].r = svc_new_reactor();
        l[i].storm_over = &storm_over;
        atomic_init(&l[i].watching, 0);
        atomic_init(&l[i].drained, 0);
        chain_open(l[i].r, &l[i].c, SVC_SANITIZED ? 10 : 20,
                   i == 0 ? REACTOR_READ : REACTOR_READ | REACTOR_ONESHOT);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&l[i].thread, NULL, loop_thread, &l[i]), 0);
    /* Created first, the loop threads keep SIGALRM unblocked; this one only
     * starts and stops the storm, so the signal lands on a loop thread. */
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    loops_watching(l, 2);
    uint64_t start = svc_now_ms();
    itimer_set(ALARM_US);
    svc_sleep_ms(storm_ms());
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
    atomic_store(&storm_over, 1);
    uint64_t limit = svc_now_ms() + DRAIN_LIMIT_MS + 1000;
    while (!(atomic_load(&l[0].drained) && atomic_load(&l[1].drained)) && svc_now_ms() < limit)
        svc_sleep_ms(1);
    svc_sleep_ms(20);
    kill(getpid(), SIGALRM); /* the one more signal both must see */
    for (int i = 0; i < 2; i++)
        pthread_join(l[i].thread, NULL);
    int bound = itimer_bound(svc_now_ms() - start);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    for (int i = 0; i < 2; i++) {
        struct loop *x = &l[i];
        chain_close(x->r, &x->c);
        reactor_free(x->r);
        if (x->failed_rc)
            fail_msg("reactor %d: the loop returned %d", i, x->failed_rc);
        chain_check(&x->c);
        assert_false(x->w.wrong_thread);
        uint64_t allowed = MAX_GAP_MS + x->stall;
        if (x->during == 0 || x->w.max_gap_ms > allowed || x->tail_gap > allowed)
            fail_msg("reactor %d: %d callbacks, longest gap %llu ms, none in the last %llu ms, "
                     "loop held up %llu ms at most",
                     i, x->during, (unsigned long long)x->w.max_gap_ms,
                     (unsigned long long)x->tail_gap, (unsigned long long)x->stall);
        if (x->w.count > bound)
            fail_msg("reactor %d: %d callbacks for at most %d signals", i, x->w.count, bound);
        if (x->w.count != x->last_count + 1)
            fail_msg("reactor %d: the signal after the storm ran its callback %d times", i,
                     x->w.count - x->last_count);
        print_message("# reactor %d: %d callbacks in %llu ms, %d bursts\n", i, x->during,
                      (unsigned long long)x->elapsed, x->c.injections);
    }
}

/*
 * Reactors that start and stop watching the signal, and are freed, while the
 * storm's handler runs on another thread: the handler walks the list of
 * watching reactors as it changes (signal.c frees a reactor's state only once
 * no handler is inside the list). The reactor that watches throughout keeps
 * its callbacks and its traffic, and each newcomer sees the storm.
 */
static void reactors_come_and_go_during_a_storm(void **state)
{
    (void)state;
    static struct loop l;
    atomic_int storm_over;
    sigset_t set, old;
    atomic_init(&storm_over, 0);
    memset(&l, 0, sizeof l);
    l.r = svc_new_reactor();
    l.storm_over = &storm_over;
    atomic_init(&l.watching, 0);
    atomic_init(&l.drained, 0);
    chain_open(l.r, &l.c, 10, REACTOR_READ);
    assert_int_equal(pthread_create(&l.thread, NULL, loop_thread, &l), 0);
    /* The storm lands on the loop thread; this one churns reactors. */
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    loops_watching(&l, 1);
    uint64_t start = svc_now_ms();
    itimer_set(ALARM_US);
    int churned = 0, deaf = 0;
    while (svc_now_ms() - start < storm_ms()) {
        struct watch w;
        watch_init(&w);
        reactor_t *r = svc_new_reactor();
        assert_int_equal(reactor_signal_add(r, SIGALRM, watch_cb, &w), 0);
        uint64_t limit = svc_now_ms() + 1000;
        while (w.count == 0 && svc_now_ms() < limit)
            assert_true(reactor_run_once(r, 100) >= 0);
        deaf += w.count == 0 || w.wrong_thread;
        if (churned % 2) /* either way out: an explicit remove, or reactor_free's */
            assert_int_equal(reactor_signal_remove(r, SIGALRM), 0);
        reactor_free(r);
        churned++;
    }
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
    atomic_store(&storm_over, 1);
    uint64_t limit = svc_now_ms() + DRAIN_LIMIT_MS + 1000;
    while (!atomic_load(&l.drained) && svc_now_ms() < limit)
        svc_sleep_ms(1);
    svc_sleep_ms(20);
    kill(getpid(), SIGALRM);
    pthread_join(l.thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    chain_close(l.r, &l.c);
    reactor_free(l.r);

    if (l.failed_rc)
        fail_msg("the loop returned %d", l.failed_rc);
    chain_check(&l.c);
    assert_false(l.w.wrong_thread);
    if (deaf)
        fail_msg("%d of %d reactors that joined the storm saw no callback in 1 s", deaf, churned);
    uint64_t allowed = MAX_GAP_MS + l.stall;
    if (l.during == 0 || l.w.max_gap_ms > allowed || l.tail_gap > allowed)
        fail_msg("the steady reactor: %d callbacks, longest gap %llu ms, none in the last %llu ms, "
                 "loop held up %llu ms at most",
                 l.during, (unsigned long long)l.w.max_gap_ms, (unsigned long long)l.tail_gap,
                 (unsigned long long)l.stall);
    if (l.w.count != l.last_count + 1)
        fail_msg("the signal after the storm ran the callback %d times", l.w.count - l.last_count);
    print_message("# %d reactors came and went; the steady one ran %d callbacks, %d bursts\n",
                  churned, l.during, l.c.injections);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        STORM_TEST(raw_alarm_storm_never_fails_reactor_run_once),
        STORM_TEST(raw_alarm_storm_never_fails_reactor_run),
        STORM_TEST(raw_alarm_storm_only_shows_as_eintr_from_reactor_select),
        STORM_TEST(watched_alarm_storm_coalesces_and_keeps_traffic_intact),
        STORM_TEST(deliveries_beyond_a_full_self_pipe_run_one_callback_and_later_ones_still_wake),
        STORM_TEST(two_reactors_on_two_threads_both_see_the_storm),
        STORM_TEST(reactors_come_and_go_during_a_storm),
    };
    return cmocka_run_group_tests_name(svc_backend() ? svc_backend() : "default", tests, NULL,
                                       NULL);
}
