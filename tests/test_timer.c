/* test_timer.c - timers: order, accuracy, ids, cancel, the heap against a model. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#ifndef _WIN32
#include <sys/socket.h>
#include <unistd.h>
#endif

#include "svc_test.h"
/* For the white-box tests of the sequence counter and of lazy cancel only. */
#include "../src/internal.h"

/* ---- Recording fires ------------------------------------------------------ */

#define MAX_FIRES 4096

struct fires {
    int n;
    intptr_t tag[MAX_FIRES];
    uint64_t now[MAX_FIRES];  /* reactor_now() in the callback */
    uint64_t real[MAX_FIRES]; /* CLOCK_MONOTONIC ms in the callback */
};

static struct fires fired;

static void record_cb(reactor_t *r, int64_t id, void *data)
{
    (void)id;
    if (fired.n < MAX_FIRES) {
        fired.tag[fired.n] = (intptr_t)data;
        fired.now[fired.n] = reactor_now(r);
        fired.real[fired.n] = svc_now_ms();
    }
    fired.n++;
}

static void run_until_fired(reactor_t *r, int n, unsigned limit_ms)
{
    uint64_t end = svc_now_ms() + limit_ms;
    while (fired.n < n && svc_now_ms() < end)
        reactor_run_once(r, -1);
    if (fired.n < n)
        fail_msg("only %d of %d timers fired within %u ms", fired.n, n, limit_ms);
}

static int reset_setup(void **state)
{
    memset(&fired, 0, sizeof fired);
    return svc_setup(state);
}

#define TIMER_TEST(f) cmocka_unit_test_setup_teardown(f, reset_setup, svc_teardown)

/* ---- Order and accuracy ----------------------------------------------------- */

static void timers_fire_in_deadline_order(void **state)
{
    reactor_t *r = *state;
    assert_true(reactor_timer_add(r, 30, 0, record_cb, (void *)3) > 0);
    assert_true(reactor_timer_add(r, 10, 0, record_cb, (void *)1) > 0);
    assert_true(reactor_timer_add(r, 20, 0, record_cb, (void *)2) > 0);
    run_until_fired(r, 3, 5000);
    assert_int_equal(fired.tag[0], 1);
    assert_int_equal(fired.tag[1], 2);
    assert_int_equal(fired.tag[2], 3);
}

static void timer_fires_on_time_within_tolerance(void **state)
{
    reactor_t *r = *state;
    reactor_run_once(r, 0); /* refresh the cached clock */
    uint64_t start = svc_now_ns();
    assert_true(reactor_timer_add(r, 50, 0, record_cb, NULL) > 0);
    run_until_fired(r, 1, 5000);
    uint64_t elapsed_ms = (svc_now_ns() - start) / 1000000u;
    if (elapsed_ms < 49 || elapsed_ms > 50 + 150)
        fail_msg("a 50 ms timer fired after %llu ms", (unsigned long long)elapsed_ms);
}

static void run_once_wait_is_shortened_to_the_next_deadline(void **state)
{
    reactor_t *r = *state;
    assert_true(reactor_timer_add(r, 20, 0, record_cb, NULL) > 0);
    uint64_t start = svc_now_ms();
    int ran = 0;
    while (fired.n == 0 && svc_now_ms() - start < 5000)
        ran += reactor_run_once(r, 10000);
    uint64_t elapsed = svc_now_ms() - start;
    assert_int_equal(ran, 1);
    if (elapsed > 20 + 150)
        fail_msg("run_once(10000) with a 20 ms timer returned after %llu ms",
                 (unsigned long long)elapsed);
}

/*
 * Timers of one `after` fire in the order they were added: each is armed
 * from the clock read at its add, so a later one's deadline is never sooner,
 * and an equal one loses the tie. Across different `after`s the order
 * depends on how long the adds took (qemu: milliseconds), so it is not
 * asserted; never-early is test_timer_early.c's. Every kept timer fires once.
 */
static void assert_insertion_order_per_after(int n, int (*after_of)(intptr_t),
                                             int (*kept)(intptr_t))
{
    int want = 0;
    for (intptr_t i = 0; i < n; i++)
        want += kept(i);
    assert_int_equal(fired.n, want);
    for (int k = 0; k < fired.n; k++) {
        intptr_t tag = fired.tag[k];
        if (tag < 0 || tag >= n || !kept(tag))
            fail_msg("fire #%d was timer %ld, which should not fire", k, (long)tag);
        for (int j = k + 1; j < fired.n; j++)
            if (after_of(fired.tag[j]) == after_of(tag) && fired.tag[j] <= tag)
                fail_msg("timer %ld fired after timer %ld, added later with the same after_ms",
                         (long)fired.tag[j], (long)tag);
    }
}

static int after_mod5x7(intptr_t i)
{
    return (int)(i * 7 % 5);
}

static int kept_all(intptr_t i)
{
    (void)i;
    return 1;
}

/* Timers armed in one go, with after_ms 0..4 interleaved. */
static void equal_deadlines_fire_in_insertion_order(void **state)
{
    reactor_t *r = *state;
    enum { N = 1000 };
    for (intptr_t i = 0; i < N; i++)
        assert_true(reactor_timer_add(r, (uint64_t)(i * 7 % 5), 0, record_cb, (void *)i) > 0);
    run_until_fired(r, N, 5000);
    assert_insertion_order_per_after(N, after_mod5x7, kept_all);
}

static void timers_never_fire_early(void **state)
{
    reactor_t *r = *state;
    static const uint64_t afters[] = {0, 1, 2, 3, 5, 8, 13, 21};
    enum { N = sizeof afters / sizeof afters[0] };
    uint64_t due[N];
    for (int round = 0; round < 3; round++) {
        memset(&fired, 0, sizeof fired);
        reactor_run_once(r, 0);
        for (int i = 0; i < N; i++) {
            due[i] = reactor_now(r) + afters[i];
            assert_true(reactor_timer_add(r, afters[i], 0, record_cb, (void *)(intptr_t)i) > 0);
        }
        run_until_fired(r, N, 5000);
        for (int i = 0; i < fired.n; i++) {
            int t = (int)fired.tag[i];
            /* The loop's clock and the real clock have both reached the deadline. */
            if (fired.now[i] < due[t] || fired.real[i] < due[t])
                fail_msg("timer after=%llu fired early: now=%llu real=%llu due=%llu",
                         (unsigned long long)afters[t], (unsigned long long)fired.now[i],
                         (unsigned long long)fired.real[i], (unsigned long long)due[t]);
        }
    }
}

static void reactor_now_is_cached_between_iterations(void **state)
{
    reactor_t *r = *state;
    uint64_t before = reactor_now(r);
    svc_sleep_ms(5);
    assert_int_equal(reactor_now(r), before);
    reactor_run_once(r, 0);
    assert_true(reactor_now(r) >= before + 5);
}

/* ---- Repeating timers -------------------------------------------------------- */

static void repeating_timer_keeps_its_schedule(void **state)
{
    reactor_t *r = *state;
    reactor_run_once(r, 0);
    uint64_t start = reactor_now(r);
    int64_t id = reactor_timer_add(r, 10, 10, record_cb, NULL);
    assert_true(id > 0);
    run_until_fired(r, 5, 5000);
    assert_int_equal(reactor_timer_cancel(r, id), 0);
    for (int i = 0; i < 5; i++)
        if (fired.now[i] < start + 10 * (uint64_t)(i + 1))
            fail_msg("fire #%d at +%llu ms, before its deadline +%d", i,
                     (unsigned long long)(fired.now[i] - start), 10 * (i + 1));
    /* No drift: the 5th deadline is start+50, whatever the latency of the others. */
    if (fired.now[4] > start + 50 + 150)
        fail_msg("5th fire of a 10 ms timer at +%llu ms",
                 (unsigned long long)(fired.now[4] - start));
}

static int64_t slow_id;
static uint64_t slow_start;

static void slow_repeat_cb(reactor_t *r, int64_t id, void *data)
{
    record_cb(r, id, data);
    if (fired.n == 1)
        svc_sleep_ms(35); /* misses the deadlines +20, +30 and +40 */
}

static void repeating_timer_skips_missed_periods(void **state)
{
    reactor_t *r = *state;
    reactor_run_once(r, 0);
    slow_start = reactor_now(r);
    slow_id = reactor_timer_add(r, 10, 10, slow_repeat_cb, NULL);
    assert_true(slow_id > 0);
    run_until_fired(r, 3, 5000);
    assert_int_equal(reactor_timer_cancel(r, slow_id), 0);
    uint64_t second = fired.now[1] - slow_start, third = fired.now[2] - slow_start;
    /* The second fire catches up once; the third is the next deadline of the
     * original 10 ms grid after it, not a burst of the missed ones. */
    uint64_t next_grid = (second / 10 + 1) * 10;
    if (third < next_grid)
        fail_msg("missed periods fired back to back: fires at +%llu and +%llu ms",
                 (unsigned long long)second, (unsigned long long)third);
    assert_true(second >= 45);
}

/* ---- Cancel ------------------------------------------------------------------ */

static int self_cancel_rc = 1;

static void cancel_self_cb(reactor_t *r, int64_t id, void *data)
{
    record_cb(r, id, data);
    self_cancel_rc = reactor_timer_cancel(r, id);
}

static void repeating_timer_cancels_itself_in_its_callback(void **state)
{
    reactor_t *r = *state;
    assert_true(reactor_timer_add(r, 1, 1, cancel_self_cb, NULL) > 0);
    assert_int_equal(reactor_run(r), 0); /* returns: nothing left once cancelled */
    assert_int_equal(fired.n, 1);
    assert_int_equal(self_cancel_rc, 0);
}

static void oneshot_timer_cancelling_itself_gets_enoent(void **state)
{
    reactor_t *r = *state;
    assert_true(reactor_timer_add(r, 0, 0, cancel_self_cb, NULL) > 0);
    assert_int_equal(reactor_run(r), 0);
    assert_int_equal(fired.n, 1);
    assert_int_equal(self_cancel_rc, -ENOENT);
}

static int64_t victim_ids[2];
static int victim_rc[2];

static void cancel_others_cb(reactor_t *r, int64_t id, void *data)
{
    record_cb(r, id, data);
    victim_rc[0] = reactor_timer_cancel(r, victim_ids[0]);
    victim_rc[1] = reactor_timer_cancel(r, victim_ids[1]);
}

static void callback_cancels_other_timers_expired_or_not(void **state)
{
    reactor_t *r = *state;
    assert_true(reactor_timer_add(r, 5, 0, cancel_others_cb, (void *)1) > 0);
    /* Same deadline, added later: expired in the same iteration, fires after. */
    victim_ids[0] = reactor_timer_add(r, 5, 0, record_cb, (void *)2);
    victim_ids[1] = reactor_timer_add(r, 1000, 0, record_cb, (void *)3);
    assert_true(victim_ids[0] > 0 && victim_ids[1] > 0);
    assert_int_equal(reactor_run(r), 0);
    assert_int_equal(fired.n, 1);
    assert_int_equal(fired.tag[0], 1);
    assert_int_equal(victim_rc[0], 0);
    assert_int_equal(victim_rc[1], 0);
}

static void stale_and_unknown_ids_are_enoent(void **state)
{
    reactor_t *r = *state;
    int64_t fired_id = reactor_timer_add(r, 0, 0, record_cb, NULL);
    int64_t cancelled_id = reactor_timer_add(r, 1000, 0, record_cb, NULL);
    assert_true(fired_id > 0 && cancelled_id > 0);
    assert_int_equal(reactor_timer_cancel(r, cancelled_id), 0);
    run_until_fired(r, 1, 5000);
    assert_int_equal(reactor_timer_cancel(r, fired_id), -ENOENT);
    assert_int_equal(reactor_timer_cancel(r, cancelled_id), -ENOENT);
    assert_int_equal(reactor_timer_cancel(r, 0), -ENOENT);
    assert_int_equal(reactor_timer_cancel(r, -1), -ENOENT);
    assert_int_equal(reactor_timer_cancel(r, INT64_MAX), -ENOENT);
    assert_int_equal(reactor_timer_cancel(r, INT64_MIN), -ENOENT);

    /* The slots of the two dead timers get reused: their ids must not match. */
    int64_t a = reactor_timer_add(r, 1000, 0, record_cb, NULL);
    int64_t b = reactor_timer_add(r, 1000, 0, record_cb, NULL);
    assert_true(a != fired_id && a != cancelled_id && b != fired_id && b != cancelled_id);
    assert_int_equal(reactor_timer_cancel(r, fired_id), -ENOENT);
    assert_int_equal(reactor_timer_cancel(r, cancelled_id), -ENOENT);
    assert_int_equal(reactor_timer_cancel(r, a), 0);
    assert_int_equal(reactor_timer_cancel(r, b), 0);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void ids_are_never_reused(void **state)
{
    reactor_t *r = *state;
    enum { N = 100000 };
    int64_t *ids = malloc(N * sizeof *ids);
    assert_non_null(ids);
    /* Add and cancel one at a time: the same slot is recycled every time. */
    for (int i = 0; i < N; i++) {
        ids[i] = reactor_timer_add(r, 1000, 0, record_cb, NULL);
        assert_true(ids[i] > 0);
        assert_int_equal(reactor_timer_cancel(r, ids[i]), 0);
    }
    qsort(ids, N, sizeof *ids, cmp_i64);
    for (int i = 1; i < N; i++)
        if (ids[i] == ids[i - 1])
            fail_msg("id %lld was handed out twice", (long long)ids[i]);
    free(ids);
}

static void timer_add_rejects_null_callback(void **state)
{
    assert_int_equal(reactor_timer_add(*state, 1, 0, NULL, NULL), -EINVAL);
}

/* ---- 100,000 timers against a model --------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    /* xorshift64*: reproducible across runs and platforms. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

enum { MODEL_N = 100000, MODEL_SPAN = 40 };

struct model_timer {
    int64_t id;
    uint64_t after;
    uint64_t lo, hi; /* its deadline lies in [lo, hi]: the clock around the add, + after */
    int live;        /* added and not cancelled */
    int fires;       /* times its callback ran */
};

static struct model_timer *model;
static int model_last = -1; /* index of the last fired, for the order check */
static int model_order_errors;

static void model_cb(reactor_t *r, int64_t id, void *data)
{
    (void)r;
    int i = (int)(intptr_t)data;
    struct model_timer *m = &model[i];
    if (m->id != id || !m->live)
        model_order_errors++;
    /* Each add reads the clock, so a deadline is only known to lie in
     * [lo, hi]; equal `after` means the later add has the later deadline. */
    if (model_last >= 0) {
        struct model_timer *p = &model[model_last];
        if (m->hi < p->lo || (p->after == m->after && model_last > i))
            model_order_errors++;
    }
    model_last = i;
    m->fires++;
    m->live = 0;
}

static void heap_agrees_with_a_model_over_100000_random_adds_and_cancels(void **state)
{
    reactor_t *r = *state;
    model = calloc(MODEL_N, sizeof *model);
    int *live = malloc(MODEL_N * sizeof *live); /* indices of live timers, unordered */
    assert_non_null(model);
    assert_non_null(live);
    int nlive = 0, added = 0, cancelled = 0;

    /* All adds happen without an iteration; each reads the clock itself. */
    while (added < MODEL_N) {
        if (nlive > 0 && rng() % 3 == 0) {
            int k = (int)(rng() % (uint64_t)nlive);
            int i = live[k];
            assert_int_equal(reactor_timer_cancel(r, model[i].id), 0);
            assert_int_equal(reactor_timer_cancel(r, model[i].id), -ENOENT);
            model[i].live = 0;
            live[k] = live[--nlive];
            cancelled++;
        } else {
            int i = added++;
            model[i].after = rng() % MODEL_SPAN;
            model[i].lo = svc_now_ns() + model[i].after * 1000000u;
            model[i].id = reactor_timer_add(r, model[i].after, 0, model_cb, (void *)(intptr_t)i);
            model[i].hi = svc_now_ns() + model[i].after * 1000000u;
            assert_true(model[i].id > 0);
            model[i].live = 1;
            live[nlive++] = i;
        }
    }
    /* Cancel half of the survivors, in random order. */
    for (int n = nlive / 2; n > 0; n--) {
        int k = (int)(rng() % (uint64_t)nlive);
        int i = live[k];
        assert_int_equal(reactor_timer_cancel(r, model[i].id), 0);
        model[i].live = 0;
        live[k] = live[--nlive];
        cancelled++;
    }
    int expected = nlive;

    assert_int_equal(reactor_run(r), 0);
    int fired_ok = 0;
    for (int i = 0; i < MODEL_N; i++) {
        if (model[i].live)
            fail_msg("timer %d never fired", i);
        if (model[i].fires > 1)
            fail_msg("timer %d fired %d times", i, model[i].fires);
        fired_ok += model[i].fires;
    }
    assert_int_equal(fired_ok, expected);
    if (model_order_errors)
        fail_msg("%d timers fired out of (deadline, insertion) order or were not live",
                 model_order_errors);
    print_message("model: %d added, %d cancelled, %d fired\n", added, cancelled, fired_ok);
    free(live);
    free(model);
}

/* ---- A 0 ms timer re-adding itself does not starve I/O ------------------------- */

#ifndef _WIN32 /* socketpair(2) and write(2) on a socket: POSIX only (tests/win32) */
static int zero_fires, io_fires;

static void readd_zero_cb(reactor_t *r, int64_t id, void *data)
{
    (void)id;
    zero_fires++;
    assert_true(reactor_timer_add(r, 0, 0, readd_zero_cb, data) > 0);
}

static void io_cb(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r;
    (void)fd;
    (void)events;
    (void)data;
    io_fires++; /* level-triggered and never read: ready every iteration */
}

static void zero_ms_timer_readding_itself_does_not_starve_io(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, io_cb, NULL), 0);
    assert_true(reactor_timer_add(r, 0, 0, readd_zero_cb, NULL) > 0);
    for (int i = 0; i < 5; i++)
        reactor_run_once(r, 1000);
    /* One timer fire per iteration, and the fd served in every iteration. */
    assert_int_equal(zero_fires, 5);
    assert_int_equal(io_fires, 5);
    assert_int_equal(reactor_unregister(r, sv[0]), 0);
    close(sv[0]);
    close(sv[1]);
}
#endif

/* ---- Sequence numbers wrap (white-box) -------------------------------------------
 * Ties are broken by a 32-bit insertion counter that is renumbered before it
 * wraps. Reaching that takes 2^32 adds, so these tests move the counter
 * close to the edge through the reactor's internals. */

static int after_mod3(intptr_t i)
{
    return (int)(i % 3);
}

static int kept_not_tenth(intptr_t i)
{
    return i % 10 != 0;
}

static void equal_deadlines_keep_insertion_order_across_a_renumbering(void **state)
{
    reactor_t *r = *state;
    enum { N = 300 };
    int64_t ids[N];
    r->svc.timers.next_seq = UINT32_MAX - 100; /* renumbered after 100 adds */
    for (intptr_t i = 0; i < N; i++) {
        ids[i] = reactor_timer_add(r, (uint64_t)(i % 3), 0, record_cb, (void *)i);
        assert_true(ids[i] > 0);
    }
    assert_true(r->svc.timers.next_seq < 1000); /* the renumbering happened */
    /* Ids survive it: cancel every tenth timer. */
    for (int i = 0; i < N; i += 10)
        assert_int_equal(reactor_timer_cancel(r, ids[i]), 0);
    assert_int_equal(reactor_run(r), 0);
    assert_insertion_order_per_after(N, after_mod3, kept_not_tenth);
}

static void add_zero_cb(reactor_t *r, int64_t id, void *data)
{
    record_cb(r, id, data);
    if ((intptr_t)data == 1) /* the first one adds a third, renumbering the counter */
        assert_true(reactor_timer_add(r, 0, 0, record_cb, (void *)3) > 0);
}

static void a_renumbering_inside_a_run_keeps_new_timers_for_the_next_iteration(void **state)
{
    reactor_t *r = *state;
    r->svc.timers.next_seq = UINT32_MAX - 2;
    assert_true(reactor_timer_add(r, 0, 0, add_zero_cb, (void *)1) > 0);
    assert_true(reactor_timer_add(r, 0, 0, add_zero_cb, (void *)2) > 0);
    assert_int_equal(r->svc.timers.next_seq, UINT32_MAX);
    assert_int_equal(reactor_run_once(r, 0), 2); /* 1 and 2; 3 was added during the run */
    assert_int_equal(fired.n, 2);
    assert_int_equal(reactor_run_once(r, 0), 1);
    assert_int_equal(fired.tag[2], 3);
}

/* ---- Lazy cancel ----------------------------------------------------------------
 * A cancelled timer's heap entry stays in the heap, dead, until it reaches the
 * top or a compaction drops it (see src/timer.c). None of that may show. */

static void cancelled_timer_does_not_shorten_the_wait(void **state)
{
    reactor_t *r = *state;
    int64_t soon = reactor_timer_add(r, 10, 0, record_cb, (void *)1);
    assert_true(soon > 0);
    assert_true(reactor_timer_add(r, 5000, 0, record_cb, (void *)2) > 0);
    assert_int_equal(reactor_timer_cancel(r, soon), 0);
    uint64_t start = svc_now_ms();
    assert_int_equal(reactor_run_once(r, 200), 0);
    uint64_t elapsed = svc_now_ms() - start;
    /* Woken by the cancelled 10 ms deadline, it would return after ~10 ms. */
    if (elapsed < 150)
        fail_msg("run_once(200) returned after %llu ms: the cancelled timer shortened the wait",
                 (unsigned long long)elapsed);
    assert_int_equal(fired.n, 0);
}

static void run_returns_when_every_timer_is_cancelled(void **state)
{
    reactor_t *r = *state;
    /* 10 leaves dead entries in the heap (no compaction); 10000 compacts. */
    static const int counts[] = {1, 10, 10000};
    int64_t *ids = malloc(10000 * sizeof *ids);
    assert_non_null(ids);
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        for (int i = 0; i < counts[c]; i++) {
            ids[i] = reactor_timer_add(r, 10000 + (uint64_t)i, 0, record_cb, NULL);
            assert_true(ids[i] > 0);
        }
        for (int i = counts[c]; i-- > 0;)
            assert_int_equal(reactor_timer_cancel(r, ids[i]), 0);
        uint64_t start = svc_now_ms();
        assert_int_equal(reactor_run(r), 0);
        if (svc_now_ms() - start > 1000)
            fail_msg("reactor_run with %d cancelled timers returned after %llu ms", counts[c],
                     (unsigned long long)(svc_now_ms() - start));
    }
    assert_int_equal(fired.n, 0);
    free(ids);
}

/* The new timer must not be taken for the cancelled one, whose entry is still queued. */
static void a_new_timer_is_not_confused_with_a_cancelled_one(void **state)
{
    reactor_t *r = *state;
    reactor_run_once(r, 0);
    int64_t old = reactor_timer_add(r, 0, 0, record_cb, (void *)1);
    assert_true(old > 0);
    assert_int_equal(reactor_timer_cancel(r, old), 0);
    uint64_t due = reactor_now(r) + 30;
    int64_t id = reactor_timer_add(r, 30, 0, record_cb, (void *)2);
    assert_true(id > 0 && id != old);
    assert_int_equal(reactor_timer_cancel(r, old), -ENOENT);
    run_until_fired(r, 1, 5000);
    assert_int_equal(fired.tag[0], 2);
    if (fired.now[0] < due)
        fail_msg("the new timer fired %llu ms early, at the cancelled one's deadline",
                 (unsigned long long)(due - fired.now[0]));
    for (int i = 0; i < 5; i++)
        reactor_run_once(r, 10);
    assert_int_equal(fired.n, 1);
    assert_int_equal(reactor_timer_cancel(r, id), -ENOENT);
}

/* White-box: every entry, live or dead, is ordered after its parent in the 4-ary heap. */
static void assert_heap_ordered(const reactor_t *r)
{
    const struct rx_timers *t = &r->svc.timers;
    for (uint32_t i = 1; i < t->len; i++) {
        const struct rx_heap_entry *e = &t->heap[i], *p = &t->heap[(i - 1) / 4];
        if (e->deadline < p->deadline || (e->deadline == p->deadline && e->order < p->order))
            fail_msg("heap entry %u precedes its parent %u", i, (i - 1) / 4);
    }
}

/* White-box: add+cancel churn next to one live timer keeps the heap and the slots small. */
static void dead_entries_are_compacted_and_their_slots_reused(void **state)
{
    reactor_t *r = *state;
    const struct rx_timers *t = &r->svc.timers;
    assert_true(reactor_timer_add(r, 0, 0, record_cb, (void *)1) > 0);
    for (int i = 0; i < 100000; i++) {
        int64_t id = reactor_timer_add(r, 1000 + (uint64_t)(i % 97), 0, record_cb, NULL);
        assert_true(id > 0);
        assert_int_equal(reactor_timer_cancel(r, id), 0);
        assert_int_equal(t->nlive, 1);
        if (t->len - t->nlive > t->nlive + 64)
            fail_msg("after cancel #%d: %u dead entries for %u live", i, t->len - t->nlive,
                     t->nlive);
        if (i % 1000 == 0)
            assert_heap_ordered(r);
    }
    assert_true(t->nslots <= 2 * 64 + 4);
    assert_int_equal(reactor_run(r), 0);
    assert_int_equal(fired.n, 1);
    assert_int_equal(fired.tag[0], 1);
}

/* White-box: compactions, including one from inside a timer callback, keep the order. */
enum { COMPACT_N = 3000 };
static int64_t compact_ids[COMPACT_N];
static uint32_t compact_len_before, compact_len_after;

/* Survivors: every fifth timer. */
static int compact_survives(int i)
{
    return i % 5 == 0;
}

static uint64_t compact_after(int i)
{
    return (uint64_t)(i % 7 % 5);
}

static void cancel_first_third_cb(reactor_t *r, int64_t id, void *data)
{
    record_cb(r, id, data);
    compact_len_before = r->svc.timers.len;
    /* Timers due in this very iteration among them: they must not fire. */
    for (int i = COMPACT_N / 3 - 1; i > 0; i--)
        if (!compact_survives(i))
            assert_int_equal(reactor_timer_cancel(r, compact_ids[i]), 0);
    compact_len_after = r->svc.timers.len;
    assert_heap_ordered(r);
}

static int compact_after_of(intptr_t i)
{
    return (int)compact_after((int)i);
}

static int compact_kept(intptr_t i)
{
    return compact_survives((int)i);
}

static void compaction_keeps_deadline_and_insertion_order(void **state)
{
    reactor_t *r = *state;
    const struct rx_timers *t = &r->svc.timers;
    for (intptr_t i = 0; i < COMPACT_N; i++) {
        compact_ids[i] = reactor_timer_add(r, compact_after((int)i), 0,
                                           i == 0 ? cancel_first_third_cb : record_cb, (void *)i);
        assert_true(compact_ids[i] > 0);
    }
    /* The other two thirds now: more than half of all, so a compaction runs. */
    for (int i = COMPACT_N - 1; i >= COMPACT_N / 3; i--)
        if (!compact_survives(i))
            assert_int_equal(reactor_timer_cancel(r, compact_ids[i]), 0);
    assert_true(t->len < COMPACT_N); /* compacted at least once */
    assert_true(t->len - t->nlive <= t->nlive + 64);
    assert_heap_ordered(r);
    /* Timer 0 fires first and cancels the rest: another compaction. */
    assert_int_equal(reactor_run(r), 0);
    assert_true(compact_len_after < compact_len_before);
    assert_insertion_order_per_after(COMPACT_N, compact_after_of, compact_kept);
}

/* White-box: compactions of heaps of random deadlines leave a valid heap. */
static void compaction_rebuilds_a_valid_heap(void **state)
{
    reactor_t *r = *state;
    const struct rx_timers *t = &r->svc.timers;
    enum { N = 2000 };
    int64_t ids[N];
    int compactions = 0;
    for (int round = 0; round < 50; round++) {
        int n = 0;
        for (int i = 0; i < N; i++) {
            ids[n] = reactor_timer_add(r, 100000 + rng() % 1000, 0, record_cb, NULL);
            assert_true(ids[n++] > 0);
        }
        /* Cancel at random until every timer is gone, checking the heap at each compaction. */
        while (n > 0) {
            int k = (int)(rng() % (uint64_t)n);
            uint32_t len = t->len;
            assert_int_equal(reactor_timer_cancel(r, ids[k]), 0);
            ids[k] = ids[--n];
            if (t->len < len) {
                compactions++;
                assert_heap_ordered(r);
            }
        }
    }
    assert_true(compactions >= 50);
    assert_int_equal(reactor_run(r), 0);
    assert_int_equal(fired.n, 0);
}

/* White-box: a slot whose generation is used up is retired, not reused. */
static void a_slot_is_retired_when_its_generations_run_out(void **state)
{
    reactor_t *r = *state;
    struct rx_timers *t = &r->svc.timers;
    int64_t first = reactor_timer_add(r, 1000, 0, record_cb, NULL);
    assert_true(first > 0);
    uint32_t slot = (uint32_t)(first & 0xffffffff);
    assert_int_equal(reactor_timer_cancel(r, first), 0);
    reactor_run_once(r, 0); /* drops the dead entry: the slot is free */
    t->gen[slot] = 0x7fffffff;
    int64_t last = reactor_timer_add(r, 1000, 0, record_cb, NULL);
    assert_true(last > 0);
    assert_int_equal((uint32_t)(last & 0xffffffff), slot);
    assert_int_equal((uint64_t)last >> 32, 0x7fffffffu);
    assert_int_equal(reactor_timer_cancel(r, last), 0);
    reactor_run_once(r, 0);
    for (int i = 0; i < 100; i++) {
        int64_t id = reactor_timer_add(r, 1000, 0, record_cb, NULL);
        assert_true(id > 0);
        assert_true((uint32_t)(id & 0xffffffff) != slot);
        assert_int_equal(reactor_timer_cancel(r, id), 0);
    }
    assert_int_equal(reactor_timer_cancel(r, last), -ENOENT);
    assert_int_equal(reactor_timer_cancel(r, (int64_t)slot), -ENOENT); /* generation 0 */
}

/* ---- Lifetime ------------------------------------------------------------------ */

static void run_returns_when_no_timer_is_left(void **state)
{
    reactor_t *r = *state;
    for (intptr_t i = 0; i < 10; i++)
        assert_true(reactor_timer_add(r, (uint64_t)i * 2, 0, record_cb, (void *)i) > 0);
    assert_int_equal(reactor_run(r), 0);
    assert_int_equal(fired.n, 10);
    assert_int_equal(reactor_run(r), 0); /* nothing left: returns at once */
}

static void free_releases_pending_timers_without_calling_them(void **state)
{
    (void)state;
    reactor_t *r = svc_new_reactor();
    for (int i = 0; i < 1000; i++)
        assert_true(reactor_timer_add(r, 10000 + (uint64_t)i, 0, record_cb, NULL) > 0);
    reactor_free(r);
    assert_int_equal(fired.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TIMER_TEST(timers_fire_in_deadline_order),
        TIMER_TEST(timer_fires_on_time_within_tolerance),
        TIMER_TEST(run_once_wait_is_shortened_to_the_next_deadline),
        TIMER_TEST(equal_deadlines_fire_in_insertion_order),
        TIMER_TEST(timers_never_fire_early),
        TIMER_TEST(reactor_now_is_cached_between_iterations),
        TIMER_TEST(repeating_timer_keeps_its_schedule),
        TIMER_TEST(repeating_timer_skips_missed_periods),
        TIMER_TEST(repeating_timer_cancels_itself_in_its_callback),
        TIMER_TEST(oneshot_timer_cancelling_itself_gets_enoent),
        TIMER_TEST(callback_cancels_other_timers_expired_or_not),
        TIMER_TEST(stale_and_unknown_ids_are_enoent),
        TIMER_TEST(ids_are_never_reused),
        TIMER_TEST(timer_add_rejects_null_callback),
        TIMER_TEST(heap_agrees_with_a_model_over_100000_random_adds_and_cancels),
#ifndef _WIN32
        TIMER_TEST(zero_ms_timer_readding_itself_does_not_starve_io),
#endif
        TIMER_TEST(equal_deadlines_keep_insertion_order_across_a_renumbering),
        TIMER_TEST(a_renumbering_inside_a_run_keeps_new_timers_for_the_next_iteration),
        TIMER_TEST(cancelled_timer_does_not_shorten_the_wait),
        TIMER_TEST(run_returns_when_every_timer_is_cancelled),
        TIMER_TEST(a_new_timer_is_not_confused_with_a_cancelled_one),
        TIMER_TEST(dead_entries_are_compacted_and_their_slots_reused),
        TIMER_TEST(compaction_keeps_deadline_and_insertion_order),
        TIMER_TEST(compaction_rebuilds_a_valid_heap),
        TIMER_TEST(a_slot_is_retired_when_its_generations_run_out),
        TIMER_TEST(run_returns_when_no_timer_is_left),
        TIMER_TEST(free_releases_pending_timers_without_calling_them),
    };
    return cmocka_run_group_tests_name(svc_backend() ? svc_backend() : "default", tests, NULL,
                                       NULL);
}
