/*
 * test_loop_time.c - reactor_update_time() and reactor_next_timeout(), and a
 * reactor driven from an outer poll() on its backend fd.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "svc_test.h"

#define NSEC_PER_MS 1000000ull

static void busy_ms(uint64_t ms)
{
    uint64_t end = svc_now_ns() + ms * NSEC_PER_MS;
    while (svc_now_ns() < end) {
    }
}

static uint64_t seen_before, seen_after;

static void work_then_update(reactor_t *r, int64_t id, void *data)
{
    (void)id;
    (void)data;
    seen_before = reactor_now(r);
    busy_ms(50);
    assert_int_equal(reactor_now(r), seen_before); /* cached: unchanged by work */
    reactor_update_time(r);
    seen_after = reactor_now(r);
}

static void update_time_refreshes_now_inside_a_callback(void **state)
{
    reactor_t *r = *state;
    assert_true(reactor_timer_add(r, 0, 0, work_then_update, NULL) > 0);
    assert_int_equal(reactor_run(r), 0);
    if (seen_after < seen_before + 50)
        fail_msg("reactor_now() advanced %llu ms over 50 ms of work",
                 (unsigned long long)(seen_after - seen_before));
}

static void noop_timer(reactor_t *r, int64_t id, void *data)
{
    (void)r;
    (void)id;
    (void)data;
}

static void noop_post(reactor_t *r, void *data)
{
    (void)r;
    (void)data;
}

static void next_timeout_is_minus_one_without_timers(void **state)
{
    assert_int_equal(reactor_next_timeout(*state), -1);
}

static void next_timeout_is_zero_with_a_post_queued(void **state)
{
    reactor_t *r = *state;
    assert_int_equal(reactor_post(r, noop_post, NULL), 0);
    assert_int_equal(reactor_next_timeout(r), 0);
}

static void next_timeout_is_zero_for_a_due_timer(void **state)
{
    reactor_t *r = *state;
    assert_true(reactor_timer_add(r, 0, 0, noop_timer, NULL) > 0);
    assert_int_equal(reactor_next_timeout(r), 0);
}

static void next_timeout_rounds_up_and_ignores_cancelled(void **state)
{
    reactor_t *r = *state;
    int64_t soon = reactor_timer_add(r, 5, 0, noop_timer, NULL);
    assert_true(reactor_timer_add(r, 200, 0, noop_timer, NULL) > 0);
    int t = reactor_next_timeout(r);
    assert_true(t >= 1 && t <= 5); /* 5 ms minus the time since the add, rounded up */
    assert_int_equal(reactor_timer_cancel(r, soon), 0);
    t = reactor_next_timeout(r);
    assert_true(t > 5 && t <= 200);
    uint64_t now = reactor_now(r);
    busy_ms(2);
    (void)reactor_next_timeout(r);
    assert_int_equal(reactor_now(r), now);
}

/* ---- Nested in an outer poll() ---------------------------------------------- */

struct nested {
    int reads;
    uint64_t armed_ns, fired_ns;
};

static void on_read(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r;
    (void)events;
    char c;
    if (read(fd, &c, 1) == 1)
        ((struct nested *)data)->reads++;
}

static void on_timer(reactor_t *r, int64_t id, void *data)
{
    (void)r;
    (void)id;
    ((struct nested *)data)->fired_ns = svc_now_ns();
}

static void reactor_runs_nested_in_an_outer_poll(void **state)
{
    reactor_t *r = *state;
    int bfd = reactor_backend_fd(r);
    if (bfd < 0) {
        /* poll and select have no fd to nest; the timeout rules above hold. */
        assert_int_equal(bfd, -ENOTSUP);
        return;
    }
    struct nested n;
    memset(&n, 0, sizeof n);
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(reactor_register(r, p[0], REACTOR_READ, on_read, &n), 0);
    reactor_run_once(r, 0);
    assert_int_equal(reactor_next_timeout(r), -1);
    n.armed_ns = svc_now_ns();
    assert_true(reactor_timer_add(r, 30, 0, on_timer, &n) > 0);
    assert_int_equal(write(p[1], "x", 1), 1);

    uint64_t end = svc_now_ns() + 5000 * NSEC_PER_MS;
    while ((!n.fired_ns || n.reads == 0) && svc_now_ns() < end) {
        struct pollfd pfd = {.fd = bfd, .events = POLLIN};
        int t = reactor_next_timeout(r);
        assert_true(t >= -1 && t <= 30);
        assert_true(poll(&pfd, 1, t) >= 0);
        assert_true(reactor_run_once(r, 0) >= 0);
    }
    assert_int_equal(n.reads, 1);
    assert_true(n.fired_ns != 0);
    if (n.fired_ns - n.armed_ns < 30 * NSEC_PER_MS)
        fail_msg("30 ms timer fired after %llu ns", (unsigned long long)(n.fired_ns - n.armed_ns));
    assert_int_equal(reactor_next_timeout(r), -1);
    reactor_unregister(r, p[0]);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(update_time_refreshes_now_inside_a_callback, svc_setup,
                                        svc_teardown),
        cmocka_unit_test_setup_teardown(next_timeout_is_minus_one_without_timers, svc_setup,
                                        svc_teardown),
        cmocka_unit_test_setup_teardown(next_timeout_is_zero_with_a_post_queued, svc_setup,
                                        svc_teardown),
        cmocka_unit_test_setup_teardown(next_timeout_is_zero_for_a_due_timer, svc_setup,
                                        svc_teardown),
        cmocka_unit_test_setup_teardown(next_timeout_rounds_up_and_ignores_cancelled, svc_setup,
                                        svc_teardown),
        cmocka_unit_test_setup_teardown(reactor_runs_nested_in_an_outer_poll, svc_setup,
                                        svc_teardown),
    };
    return cmocka_run_group_tests_name(svc_backend() ? svc_backend() : "default", tests, NULL,
                                       NULL);
}
