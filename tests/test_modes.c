/*
 * test_modes.c - REACTOR_ONESHOT (every backend: native on epoll and kqueue,
 * emulated on poll and select) and REACTOR_EDGE (epoll, io_uring and kqueue; refused
 * elsewhere), on the backend named by RX_TEST_BACKEND.
 */
#include "harness.h"

/* ---- ONESHOT --------------------------------------------------------------- */

static void oneshot_reports_once_then_stays_silent(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    h_put(sv[1]);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_ONESHOT, NULL, NULL), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].events, REACTOR_READ);
    for (int i = 0; i < 3; i++) /* still readable, but disarmed */
        H_EXPECT(reactor_select(r, 20, ev, 4), 0);
    h_put(sv[1]); /* new data does not re-arm it either */
    H_EXPECT(reactor_select(r, 20, ev, 4), 0);
    h_close_pair(sv);
}

static void fired_oneshot_is_rearmed_by_a_modify_with_the_same_events(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    h_put(sv[1]);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_ONESHOT, NULL, NULL), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    H_EXPECT(reactor_select(r, 20, ev, 4), 0);
    for (int i = 0; i < 3; i++) {
        /* Same events, same cb, same data: still a re-arm. */
        H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ | REACTOR_ONESHOT, NULL, NULL), 0);
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
        H_EXPECT(reactor_select(r, 20, ev, 4), 0);
    }
    h_close_pair(sv);
}

static void fired_oneshot_modified_without_oneshot_becomes_level_triggered(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    h_put(sv[1]);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_ONESHOT, NULL, NULL), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    for (int i = 0; i < 3; i++)
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    h_close_pair(sv);
}

static void oneshot_with_read_and_write_is_disarmed_as_a_whole(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_WRITE | REACTOR_ONESHOT, NULL, NULL),
             0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1); /* writable */
    assert_int_equal(ev[0].events, REACTOR_WRITE);
    h_put(sv[1]);
    H_EXPECT(reactor_select(r, 50, ev, 4), 0); /* readable now, but disarmed */
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ | REACTOR_WRITE | REACTOR_ONESHOT, NULL, NULL),
             0);
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].events, REACTOR_READ | REACTOR_WRITE);
    H_EXPECT(reactor_select(r, 50, ev, 4), 0);
    h_close_pair(sv);
}

/*
 * Closed right after it fired, before the next wait: disarming the filter it
 * did not report fails (kqueue dropped it with the fd), which is no reason to
 * report the fd again. Found by tests/fuzz_api.c.
 */
static void fired_oneshot_closed_before_the_next_wait_stays_silent(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_WRITE | REACTOR_ONESHOT, NULL, NULL),
             0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1); /* writable */
    assert_int_equal(ev[0].events, REACTOR_WRITE);
    int fd = sv[0];
    h_close_pair(sv);
    int n = reactor_select(r, 0, ev, 4);
    if (n != 0)
        fail_msg("fired ONESHOT fd %d reported again (events %u) after its close", fd,
                 n > 0 ? ev[0].events : 0u);
    H_EXPECT(reactor_unregister(r, fd), 0);
}

/*
 * A re-armed ONESHOT closed before the next wait: the kernel refuses the
 * re-arm and the refusal is reported as readiness, which is the one report
 * the re-arm allows. Found by the API fuzzer (tests/fuzz/known/): the entry
 * was left armed in the core's view, so the next rebuild of the kernel set
 * (here forced on epoll by a file it keeps reporting under a stale
 * registration) tried again and reported it a second time.
 */
static void refused_rearm_of_a_closed_oneshot_is_reported_once(void **state)
{
    reactor_t *r = *state;
    int sv[2], other[2];
    h_pair(sv);
    h_pair(other);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE | REACTOR_ONESHOT, NULL, NULL), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE | REACTOR_ONESHOT, NULL, NULL), 0);
    int fd = sv[0];
    h_close_pair(sv);
    H_EXPECT(reactor_select(r, 0, ev, 4), 1); /* the refused re-arm */
    assert_int_equal(ev[0].fd, fd);

    /* A writable file epoll cannot forget: registered, kept alive by a dup,
     * closed, unregistered (the delete fails on the closed number). */
    H_EXPECT(reactor_register(r, other[0], REACTOR_WRITE, NULL, NULL), 0);
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    int keep = dup(other[0]);
    assert_true(keep >= 0);
    close(other[0]);
    H_EXPECT(reactor_unregister(r, other[0]), 0);
    for (int i = 0; i < 3; i++) {
        int n = reactor_select(r, 10, ev, 4);
        if (n != 0)
            fail_msg("fired ONESHOT fd %d reported again (fd %d, events %u)", fd, ev[0].fd,
                     ev[0].events);
    }
    H_EXPECT(reactor_unregister(r, fd), 0);
    close(keep);
    close(other[1]);
}

static void oneshot_modified_before_it_fires_still_fires_once(void **state)
{
    reactor_t *r = *state;
    int sv[2], tag;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_ONESHOT, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE | REACTOR_ONESHOT, NULL, &tag), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].events, REACTOR_WRITE);
    assert_ptr_equal(ev[0].data, &tag);
    H_EXPECT(reactor_select(r, 50, ev, 4), 0);
    h_close_pair(sv);
}

/* ONESHOT fds left out of a full result were not reported: they stay armed. */
static void oneshot_fds_left_out_for_lack_of_room_stay_armed(void **state)
{
    reactor_t *r = *state;
    enum { N = 6 };
    int sv[N][2], seen[N] = {0};
    for (int i = 0; i < N; i++) {
        h_pair(sv[i]);
        H_EXPECT(reactor_register(r, sv[i][0], REACTOR_WRITE | REACTOR_ONESHOT, NULL, &seen[i]), 0);
    }
    reactor_event_t ev[N];
    int total = 0;
    for (int round = 0; round < 10 && total < N; round++) {
        int n = h_select(r, 1000, ev, 2);
        assert_true(n >= 1 && n <= 2);
        for (int k = 0; k < n; k++) {
            int *s = ev[k].data;
            if (*s)
                fail_msg("ONESHOT fd %d reported a second time without a modify", ev[k].fd);
            *s = 1;
            total++;
        }
    }
    assert_int_equal(total, N);
    H_EXPECT(reactor_select(r, 50, ev, N), 0);
    for (int i = 0; i < N; i++)
        h_close_pair(sv[i]);
}

static void fired_oneshot_can_be_unregistered_and_registered_again(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE | REACTOR_ONESHOT, NULL, NULL), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE | REACTOR_ONESHOT, NULL, NULL), 0);
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    H_EXPECT(reactor_select(r, 50, ev, 4), 0);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, NULL, NULL), 0); /* and level again */
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    h_close_pair(sv);
}

struct rearm {
    int calls;
    int rearm_until; /* the callback re-arms itself while calls < this */
};

static void oneshot_cb(reactor_t *r, int fd, unsigned events, void *data)
{
    struct rearm *s = data;
    (void)events;
    s->calls++;
    if (s->calls < s->rearm_until)
        H_EXPECT(reactor_modify(r, fd, REACTOR_WRITE | REACTOR_ONESHOT, oneshot_cb, s), 0);
}

static void oneshot_callback_runs_once_until_modified(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    struct rearm s = {0, 0};
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE | REACTOR_ONESHOT, oneshot_cb, &s), 0);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    H_EXPECT(reactor_run_once(r, 50), 0);
    H_EXPECT(reactor_run_once(r, 50), 0);
    assert_int_equal(s.calls, 1);
    h_close_pair(sv);
}

static void oneshot_rearmed_inside_its_callback_fires_again(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    struct rearm s = {0, 3};
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE | REACTOR_ONESHOT, oneshot_cb, &s), 0);
    for (int i = 0; i < 3; i++)
        H_EXPECT(reactor_run_once(r, 1000), 1);
    H_EXPECT(reactor_run_once(r, 50), 0); /* the third call did not re-arm */
    assert_int_equal(s.calls, 3);
    h_close_pair(sv);
}

/* ---- EDGE --------------------------------------------------------------------- */

/* Registers fd with REACTOR_EDGE; returns 0 (and checks the refusal) where there is no edge mode.
 */
static int register_edge(reactor_t *r, int fd, unsigned events)
{
    int rc = reactor_register(r, fd, events | REACTOR_EDGE, NULL, NULL);
    if (!h_has_edge()) {
        H_EXPECT(rc, -ENOTSUP);
        H_EXPECT(reactor_get(r, fd, NULL, NULL, NULL), -ENOENT);
        return 0;
    }
    H_EXPECT(rc, 0);
    return 1;
}

static void edge_read_reports_once_per_new_data(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    if (register_edge(r, sv[0], REACTOR_READ)) {
        reactor_event_t ev[4];
        H_EXPECT(reactor_select(r, 50, ev, 4), 0);
        h_put(sv[1]);
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
        assert_int_equal(ev[0].events, REACTOR_READ);
        H_EXPECT(reactor_select(r, 50, ev, 4), 0); /* not drained, but no new edge */
        h_put(sv[1]);
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
        H_EXPECT(reactor_select(r, 50, ev, 4), 0);
    }
    h_close_pair(sv);
}

static void edge_write_reports_again_when_room_comes_back(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    if (register_edge(r, sv[0], REACTOR_WRITE)) {
        reactor_event_t ev[4];
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1); /* writable from the start */
        assert_int_equal(ev[0].events, REACTOR_WRITE);
        H_EXPECT(reactor_select(r, 50, ev, 4), 0); /* still writable: no new edge */
        h_fill(sv[0]);
        H_EXPECT(reactor_select(r, 50, ev, 4), 0);
        assert_true(h_drain(sv[1]) > 0); /* room again: an edge */
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
        assert_int_equal(ev[0].events, REACTOR_WRITE);
    }
    h_close_pair(sv);
}

static void edge_modified_to_level_reports_while_data_is_pending(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    if (register_edge(r, sv[0], REACTOR_READ)) {
        reactor_event_t ev[4];
        h_put(sv[1]);
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
        H_EXPECT(reactor_select(r, 50, ev, 4), 0);
        H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, NULL, NULL), 0);
        for (int i = 0; i < 3; i++)
            H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    }
    h_close_pair(sv);
}

static void level_modified_to_edge_stops_repeating(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    h_put(sv[1]);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    int rc = reactor_modify(r, sv[0], REACTOR_READ | REACTOR_EDGE, NULL, NULL);
    if (!h_has_edge()) {
        H_EXPECT(rc, -ENOTSUP);
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1); /* still level-triggered */
    } else {
        H_EXPECT(rc, 0);
        /* The switch may report the pending data once; then it stops repeating. */
        int n = h_select(r, 50, ev, 4);
        assert_true(n <= 1);
        H_EXPECT(reactor_select(r, 50, ev, 4), 0);
        h_put(sv[1]);
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    }
    h_close_pair(sv);
}

static void edge_oneshot_reports_once_until_modified(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    if (register_edge(r, sv[0], REACTOR_READ | REACTOR_ONESHOT)) {
        reactor_event_t ev[4];
        h_put(sv[1]);
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
        h_put(sv[1]); /* a new edge, but the registration is disarmed */
        H_EXPECT(reactor_select(r, 50, ev, 4), 0);
        H_EXPECT(
            reactor_modify(r, sv[0], REACTOR_READ | REACTOR_EDGE | REACTOR_ONESHOT, NULL, NULL), 0);
        h_put(sv[1]); /* an edge after the re-arm */
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
        H_EXPECT(reactor_select(r, 50, ev, 4), 0);
    }
    h_close_pair(sv);
}

/*
 * Several new data between two waits are one edge, reported once, and so
 * are data that came while the caller had control but were read before the
 * wait: not reported at all, as epoll re-checks readiness when it reports.
 * (io_uring's multishot request completes at each wakeup.)
 */
static void edge_several_writes_between_waits_report_once(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    if (register_edge(r, sv[0], REACTOR_READ)) {
        reactor_event_t ev[4];
        H_EXPECT(reactor_select(r, 50, ev, 4), 0);
        for (int i = 0; i < 3; i++)
            h_put(sv[1]);
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
        assert_int_equal(ev[0].fd, sv[0]);
        H_EXPECT(reactor_select(r, 50, ev, 4), 0);
        assert_int_equal(h_drain(sv[0]), 3);
        h_put(sv[1]); /* an edge, but read before the next wait */
        assert_int_equal(h_drain(sv[0]), 1);
        H_EXPECT(reactor_select(r, 50, ev, 4), 0);
        h_put(sv[1]); /* and a new one after that is reported */
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    }
    h_close_pair(sv);
}

static void edge_reports_a_hang_up(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    if (register_edge(r, sv[0], REACTOR_READ)) {
        reactor_event_t ev[4];
        H_EXPECT(reactor_select(r, 50, ev, 4), 0);
        close(sv[1]);
        sv[1] = -1;
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
        assert_int_equal(ev[0].events, REACTOR_READ);
    }
    close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
    const struct CMUnitTest tests[] = {
        T(oneshot_reports_once_then_stays_silent),
        T(fired_oneshot_is_rearmed_by_a_modify_with_the_same_events),
        T(fired_oneshot_modified_without_oneshot_becomes_level_triggered),
        T(oneshot_with_read_and_write_is_disarmed_as_a_whole),
        T(fired_oneshot_closed_before_the_next_wait_stays_silent),
        T(refused_rearm_of_a_closed_oneshot_is_reported_once),
        T(oneshot_modified_before_it_fires_still_fires_once),
        T(oneshot_fds_left_out_for_lack_of_room_stay_armed),
        T(fired_oneshot_can_be_unregistered_and_registered_again),
        T(oneshot_callback_runs_once_until_modified),
        T(oneshot_rearmed_inside_its_callback_fires_again),
        T(edge_read_reports_once_per_new_data),
        T(edge_write_reports_again_when_room_comes_back),
        T(edge_modified_to_level_reports_while_data_is_pending),
        T(level_modified_to_edge_stops_repeating),
        T(edge_oneshot_reports_once_until_modified),
        T(edge_several_writes_between_waits_report_once),
        T(edge_reports_a_hang_up),
    };
    return H_RUN(tests);
}
