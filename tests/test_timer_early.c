/*
 * test_timer_early.c - a timer never fires before after_ms have passed since
 * the call that armed it, measured on CLOCK_MONOTONIC in nanoseconds: not
 * from the loop's cached clock, not truncated to whole milliseconds.
 * Only "never early" is asserted; lateness is the benchmark's business.
 */
#include <stdio.h>
#include <string.h>

#include "svc_test.h"

#define NSEC_PER_MS 1000000ull

struct armed {
    uint64_t armed_ns; /* CLOCK_MONOTONIC just before reactor_timer_add */
    uint64_t after_ms;
    uint64_t fired_ns; /* CLOCK_MONOTONIC in the callback; 0 until then */
};

static void note_fire(reactor_t *r, int64_t id, void *data)
{
    (void)r;
    (void)id;
    ((struct armed *)data)->fired_ns = svc_now_ns();
}

static void arm(reactor_t *r, struct armed *a, uint64_t after_ms)
{
    a->after_ms = after_ms;
    a->fired_ns = 0;
    a->armed_ns = svc_now_ns();
    assert_true(reactor_timer_add(r, after_ms, 0, note_fire, a) > 0);
}

static void assert_not_early(const struct armed *a)
{
    assert_true(a->fired_ns != 0);
    uint64_t waited = a->fired_ns - a->armed_ns;
    if (waited < a->after_ms * NSEC_PER_MS)
        fail_msg("a %llu ms timer fired after %llu ns", (unsigned long long)a->after_ms,
                 (unsigned long long)waited);
}

static void run_until(reactor_t *r, const struct armed *a, unsigned limit_ms)
{
    uint64_t end = svc_now_ns() + limit_ms * NSEC_PER_MS;
    while (!a->fired_ns && svc_now_ns() < end)
        reactor_run_once(r, 1000);
    if (!a->fired_ns)
        fail_msg("timer did not fire within %u ms", limit_ms);
}

static void busy_ms(uint64_t ms)
{
    uint64_t end = svc_now_ns() + ms * NSEC_PER_MS;
    while (svc_now_ns() < end) {
    }
}

/* A callback that works 300 ms and then arms a 200 ms timer. */
static struct armed late_armed;

static void work_then_arm(reactor_t *r, int64_t id, void *data)
{
    (void)id;
    (void)data;
    busy_ms(300);
    arm(r, &late_armed, 200);
}

static void timer_armed_after_busy_callback_is_not_early(void **state)
{
    reactor_t *r = *state;
    assert_true(reactor_timer_add(r, 0, 0, work_then_arm, NULL) > 0);
    uint64_t end = svc_now_ns() + 5000 * NSEC_PER_MS;
    while (!late_armed.armed_ns && svc_now_ns() < end)
        reactor_run_once(r, 1000);
    run_until(r, &late_armed, 5000);
    assert_not_early(&late_armed);
}

static void timer_armed_before_run_is_not_early(void **state)
{
    reactor_t *r = *state;
    struct armed a;
    busy_ms(5); /* the reactor's cached clock is now stale */
    arm(r, &a, 120);
    run_until(r, &a, 5000);
    assert_not_early(&a);
}

/* Sub-millisecond truncation: many short timers, each measured in ns. */
static void short_timers_are_never_early(void **state)
{
    reactor_t *r = *state;
    enum { N = SVC_SANITIZED ? 50 : 300 };
    for (int i = 0; i < N; i++) {
        struct armed a;
        /* Arm at a varying offset inside the loop's millisecond. */
        uint64_t spin_until = svc_now_ns() + (uint64_t)(i % 10) * 97000u;
        while (svc_now_ns() < spin_until) {
        }
        arm(r, &a, 1 + (uint64_t)(i % 3 == 2));
        run_until(r, &a, 5000);
        assert_not_early(&a);
    }
}

/* Several pending 1 ms timers armed at different moments of one iteration. */
static void timers_armed_in_one_iteration_are_never_early(void **state)
{
    reactor_t *r = *state;
    enum { N = 20 };
    static struct armed a[N];
    for (int round = 0; round < (SVC_SANITIZED ? 5 : 20); round++) {
        for (int i = 0; i < N; i++) {
            uint64_t spin_until = svc_now_ns() + 60000u;
            while (svc_now_ns() < spin_until) {
            }
            arm(r, &a[i], 1);
        }
        run_until(r, &a[N - 1], 5000);
        for (int i = 0; i < N; i++) {
            run_until(r, &a[i], 5000);
            assert_not_early(&a[i]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(timer_armed_after_busy_callback_is_not_early, svc_setup,
                                        svc_teardown),
        cmocka_unit_test_setup_teardown(timer_armed_before_run_is_not_early, svc_setup,
                                        svc_teardown),
        cmocka_unit_test_setup_teardown(short_timers_are_never_early, svc_setup, svc_teardown),
        cmocka_unit_test_setup_teardown(timers_armed_in_one_iteration_are_never_early, svc_setup,
                                        svc_teardown),
    };
    return cmocka_run_group_tests_name(svc_backend() ? svc_backend() : "default", tests, NULL,
                                       NULL);
}
