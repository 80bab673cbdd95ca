/*
 * test_register.c - the rules of reactor_register, reactor_modify,
 * reactor_unregister, reactor_get and reactor_count, on the backend named by
 * RX_TEST_BACKEND.
 */
#include "h_kcmp.h" /* first: it defines _GNU_SOURCE */

#include "harness.h"

#include <poll.h>

/* ---- Registering -------------------------------------------------------- */

static void register_rejects_bad_arguments_with_einval(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, -1, REACTOR_READ, NULL, NULL), -EINVAL);
    H_EXPECT(reactor_register(r, sv[0], 0, NULL, NULL), -EINVAL);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_ONESHOT, NULL, NULL), -EINVAL);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_EDGE | REACTOR_ONESHOT, NULL, NULL), -EINVAL);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | 0x20u, NULL, NULL), -EINVAL);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | 0x80000000u, NULL, NULL), -EINVAL);
    H_EXPECT(reactor_get(r, sv[0], NULL, NULL, NULL), -ENOENT);
    assert_int_equal(reactor_count(r), 0);
    h_close_pair(sv);
}

static void every_call_given_a_negative_fd_fails_with_einval(void **state)
{
    reactor_t *r = *state;
    H_EXPECT(reactor_register(r, -1, REACTOR_READ, NULL, NULL), -EINVAL);
    H_EXPECT(reactor_modify(r, -1, REACTOR_READ, NULL, NULL), -EINVAL);
    H_EXPECT(reactor_unregister(r, -1), -EINVAL);
    H_EXPECT(reactor_get(r, -1, NULL, NULL, NULL), -EINVAL);
    H_EXPECT(reactor_register(r, -12345, REACTOR_WRITE, NULL, NULL), -EINVAL);
}

static void register_twice_fails_with_eexist(void **state)
{
    reactor_t *r = *state;
    int sv[2], tag;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, &tag), 0);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, NULL, NULL), -EEXIST);
    unsigned ev = 0;
    void *data = NULL;
    H_EXPECT(reactor_get(r, sv[0], &ev, NULL, &data), 0);
    assert_int_equal(ev, REACTOR_READ); /* the first registration is untouched */
    assert_ptr_equal(data, &tag);
    assert_int_equal(reactor_count(r), 1);
    h_close_pair(sv);
}

static void register_closed_fd_fails_with_ebadf_and_leaves_no_trace(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    int fd = sv[0];
    close(fd);
    H_EXPECT(reactor_register(r, fd, REACTOR_READ, NULL, NULL), -EBADF);
    H_EXPECT(reactor_register(r, fd, REACTOR_READ | REACTOR_WRITE, NULL, NULL), -EBADF);
    H_EXPECT(reactor_get(r, fd, NULL, NULL, NULL), -ENOENT);
    assert_int_equal(reactor_count(r), 0);
    /* The number, open again, registers and works normally. */
    assert_int_equal(dup2(sv[1], fd), fd);
    H_EXPECT(reactor_register(r, fd, REACTOR_WRITE, NULL, NULL), 0);
    reactor_event_t ev[2];
    assert_int_equal(h_select(r, 1000, ev, 2), 1);
    assert_int_equal(ev[0].fd, fd);
    H_EXPECT(reactor_unregister(r, fd), 0);
    close(fd);
    close(sv[1]);
}

static void register_regular_file_fails_with_eperm_on_epoll_only(void **state)
{
    reactor_t *r = *state;
    char path[] = "/tmp/rx-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    /* Not at end of file: kqueue reports a file readable only then (kqueue(2)). */
    assert_int_equal(write(fd, "data", 4), 4);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    int rc = reactor_register(r, fd, REACTOR_READ, NULL, NULL);
    if (h_is("epoll")) {
        H_EXPECT(rc, -EPERM);
        H_EXPECT(reactor_get(r, fd, NULL, NULL, NULL), -ENOENT);
        assert_int_equal(reactor_count(r), 0);
    } else {
        /* poll, select and kqueue report a regular file as readable. */
        H_EXPECT(rc, 0);
        reactor_event_t ev[2];
        assert_int_equal(h_select(r, 1000, ev, 2), 1);
        assert_int_equal(ev[0].fd, fd);
        H_EXPECT(reactor_unregister(r, fd), 0);
    }
    close(fd);
}

static void register_edge_fails_with_enotsup_without_edge_mode(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    int rc = reactor_register(r, sv[0], REACTOR_READ | REACTOR_EDGE, NULL, NULL);
    if (h_has_edge()) {
        H_EXPECT(rc, 0);
    } else {
        H_EXPECT(rc, -ENOTSUP);
        H_EXPECT(reactor_get(r, sv[0], NULL, NULL, NULL), -ENOENT);
        assert_int_equal(reactor_count(r), 0);
    }
    h_close_pair(sv);
}

static void modify_to_edge_fails_with_enotsup_without_edge_mode(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    int rc = reactor_modify(r, sv[0], REACTOR_READ | REACTOR_EDGE, NULL, NULL);
    unsigned ev = 0;
    H_EXPECT(reactor_get(r, sv[0], &ev, NULL, NULL), 0);
    if (h_has_edge()) {
        H_EXPECT(rc, 0);
        assert_int_equal(ev, REACTOR_READ | REACTOR_EDGE);
    } else {
        H_EXPECT(rc, -ENOTSUP);
        assert_int_equal(ev, REACTOR_READ); /* unchanged */
    }
    h_close_pair(sv);
}

static void noop_cb(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r, (void)fd, (void)events, (void)data;
}

static void get_returns_what_was_registered_and_modified(void **state)
{
    reactor_t *r = *state;
    int sv[2], tag1, tag2;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_ONESHOT, noop_cb, &tag1), 0);
    unsigned ev;
    reactor_cb cb;
    void *data;
    H_EXPECT(reactor_get(r, sv[0], &ev, &cb, &data), 0);
    assert_int_equal(ev, REACTOR_READ | REACTOR_ONESHOT);
    assert_ptr_equal(cb, noop_cb);
    assert_ptr_equal(data, &tag1);
    H_EXPECT(reactor_get(r, sv[0], NULL, NULL, NULL), 0); /* every output is optional */
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ | REACTOR_WRITE, NULL, &tag2), 0);
    H_EXPECT(reactor_get(r, sv[0], &ev, &cb, &data), 0);
    assert_int_equal(ev, REACTOR_READ | REACTOR_WRITE);
    assert_null(cb);
    assert_ptr_equal(data, &tag2);
    assert_int_equal(reactor_count(r), 1);
    h_close_pair(sv);
}

static void count_follows_registrations(void **state)
{
    reactor_t *r = *state;
    int a[2], b[2];
    h_pair(a);
    h_pair(b);
    assert_int_equal(reactor_count(r), 0); /* the reactor's own fds are not counted */
    H_EXPECT(reactor_register(r, a[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_register(r, b[0], REACTOR_READ, NULL, NULL), 0);
    assert_int_equal(reactor_count(r), 2);
    H_EXPECT(reactor_register(r, b[0], REACTOR_READ, NULL, NULL), -EEXIST);
    assert_int_equal(reactor_count(r), 2);
    H_EXPECT(reactor_unregister(r, a[0]), 0);
    assert_int_equal(reactor_count(r), 1);
    H_EXPECT(reactor_unregister(r, b[0]), 0);
    assert_int_equal(reactor_count(r), 0);
    h_close_pair(a);
    h_close_pair(b);
}

/* ---- Modifying ---------------------------------------------------------- */

static void modify_and_unregister_unknown_fd_fail_with_enoent(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, NULL, NULL), -ENOENT);
    H_EXPECT(reactor_unregister(r, sv[0]), -ENOENT);
    H_EXPECT(reactor_get(r, sv[0], NULL, NULL, NULL), -ENOENT);
    H_EXPECT(reactor_unregister(r, 100000), -ENOENT); /* beyond any table */
    H_EXPECT(reactor_modify(r, 100000, REACTOR_READ, NULL, NULL), -ENOENT);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    H_EXPECT(reactor_unregister(r, sv[0]), -ENOENT);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, NULL, NULL), -ENOENT);
    h_close_pair(sv);
}

static void modify_with_bad_events_fails_with_einval_and_keeps_the_registration(void **state)
{
    reactor_t *r = *state;
    int sv[2], tag;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, NULL, &tag), 0);
    /* 0 pauses (see below); flags without READ or WRITE say nothing to pause or watch. */
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_ONESHOT, NULL, NULL), -EINVAL);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_EDGE, NULL, NULL), -EINVAL);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE | 0x100u, NULL, NULL), -EINVAL);
    unsigned ev;
    void *data;
    H_EXPECT(reactor_get(r, sv[0], &ev, NULL, &data), 0);
    assert_int_equal(ev, REACTOR_WRITE);
    assert_ptr_equal(data, &tag);
    reactor_event_t out[2];
    assert_int_equal(h_select(r, 1000, out, 2), 1); /* still armed as before */
    assert_ptr_equal(out[0].data, &tag);
    h_close_pair(sv);
}

static void modify_of_data_only_takes_effect_at_once(void **state)
{
    reactor_t *r = *state;
    int sv[2], a, b;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, NULL, &a), 0);
    reactor_event_t ev[2];
    assert_int_equal(h_select(r, 1000, ev, 2), 1);
    assert_ptr_equal(ev[0].data, &a);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE, NULL, &b), 0);
    assert_int_equal(h_select(r, 1000, ev, 2), 1);
    assert_ptr_equal(ev[0].data, &b);
    h_close_pair(sv);
}

static void modify_of_events_takes_effect_at_the_next_wait(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    reactor_event_t ev[2];
    assert_int_equal(h_select(r, 0, ev, 2), 0); /* not readable */
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ | REACTOR_WRITE, NULL, NULL), 0);
    assert_int_equal(h_select(r, 1000, ev, 2), 1);
    assert_int_equal(ev[0].events, REACTOR_WRITE);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    assert_int_equal(h_select(r, 0, ev, 2), 0); /* WRITE dropped again */
    h_close_pair(sv);
}

/* Several modifies between two waits: only the last one counts. */
static void several_modifies_between_waits_leave_the_last(void **state)
{
    reactor_t *r = *state;
    int sv[2], tag;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ | REACTOR_WRITE, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    reactor_event_t ev[2];
    assert_int_equal(h_select(r, 0, ev, 2), 0); /* READ only, and nothing to read */
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE, NULL, &tag), 0);
    assert_int_equal(h_select(r, 1000, ev, 2), 1);
    assert_int_equal(ev[0].events, REACTOR_WRITE);
    assert_ptr_equal(ev[0].data, &tag);
    h_close_pair(sv);
}

/* A modify followed by an unregister before any wait leaves nothing armed. */
static void unregister_after_a_pending_modify_leaves_nothing_armed(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    reactor_event_t ev[2];
    assert_int_equal(h_select(r, 50, ev, 2), 0);
    /* And it registers again from scratch. */
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    assert_int_equal(h_select(r, 1000, ev, 2), 1);
    h_close_pair(sv);
}

/* ---- Pausing: reactor_modify() with no events ---------------------------- */

static void modify_to_no_events_pauses_and_keeps_the_registration(void **state)
{
    reactor_t *r = *state;
    int sv[2], a, b;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, &a), 0);
    h_put(sv[1]);
    H_EXPECT(reactor_modify(r, sv[0], 0, NULL, &b), 0);
    unsigned events = 99;
    void *data = NULL;
    H_EXPECT(reactor_get(r, sv[0], &events, NULL, &data), 0);
    assert_int_equal(events, 0);
    assert_ptr_equal(data, &b);
    assert_int_equal(reactor_count(r), 1);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), -EEXIST);
    reactor_event_t ev[2];
    /* Readable, but paused: nothing, wait after wait (level-triggered, no spin). */
    assert_int_equal(h_select(r, 0, ev, 2), 0);
    assert_int_equal(h_select(r, 50, ev, 2), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, NULL, &a), 0);
    assert_int_equal(h_select(r, 1000, ev, 2), 1);
    assert_int_equal(ev[0].events, REACTOR_READ);
    assert_ptr_equal(ev[0].data, &a);
    h_close_pair(sv);
}

/* A pause and a resume between two waits: the registration reports as before. */
static void pause_and_resume_before_a_wait_keep_reporting(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    h_put(sv[1]);
    reactor_event_t ev[2];
    assert_int_equal(h_select(r, 1000, ev, 2), 1);
    H_EXPECT(reactor_modify(r, sv[0], 0, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    assert_int_equal(h_select(r, 1000, ev, 2), 1);
    /* Resumed with other events than before the pause: those are reported. */
    H_EXPECT(reactor_modify(r, sv[0], 0, NULL, NULL), 0);
    assert_int_equal(h_select(r, 0, ev, 2), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    assert_int_equal(h_select(r, 1000, ev, 2), 1);
    assert_int_equal(ev[0].events, REACTOR_WRITE);
    h_close_pair(sv);
}

/*
 * A paused socket whose peer hung up, before or after the pause reached the
 * kernel: epoll reports HUP whatever was asked, so a pause left in the kernel
 * as "armed with nothing" would spin. epoll parks the entry instead, which may
 * report the hang-up once more under a tag no registration has: dropped, and
 * not taken for a file the reactor cannot name (a rebuild). Resumed, the EOF
 * is served.
 */
static void paused_fd_whose_peer_hung_up_reports_nothing(void **state)
{
    reactor_t *r = *state;
    for (int parked_first = 0; parked_first < 2; parked_first++) {
        int sv[2];
        h_pair(sv);
        H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_WRITE, NULL, NULL), 0);
        struct h_backend bfd = h_backend_snap(r);
        H_EXPECT(reactor_modify(r, sv[0], 0, NULL, NULL), 0);
        if (parked_first)
            h_assert_waits_quietly(r, 0); /* the pause reaches the kernel */
        close(sv[1]);
        reactor_event_t ev[2];
        for (int i = 0; i < 3; i++)
            assert_int_equal(h_select(r, i ? 0 : 50, ev, 2), 0);
        assert_int_equal(reactor_run_once(r, 0), 0);
        h_assert_waits_quietly(r, 2);
        h_assert_not_rebuilt(r, bfd, "waits with a paused fd hung up");
        H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, NULL, NULL), 0);
        assert_int_equal(h_select(r, 1000, ev, 2), 1); /* the EOF is there once resumed */
        assert_int_equal(ev[0].fd, sv[0]);
        assert_int_equal(ev[0].events, REACTOR_READ);
        H_EXPECT(reactor_unregister(r, sv[0]), 0); /* its number is reused next round */
        close(sv[0]);
    }
}

static int g_paused_calls;

/* Reads its byte and pauses the fd its data names. */
static void drain_and_pause_the_partner(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)events;
    g_paused_calls++;
    h_drain(fd);
    H_EXPECT(reactor_modify(r, *(const int *)data, 0, NULL, NULL), 0);
}

/* A callback pauses another fd of its batch: that fd's report is not delivered. */
static void pause_from_a_callback_silences_the_rest_of_its_batch(void **state)
{
    reactor_t *r = *state;
    int a[2], b[2];
    h_pair(a);
    h_pair(b);
    /* Both are readable at the first wait; whichever runs first pauses the other. */
    H_EXPECT(reactor_register(r, a[0], REACTOR_READ, drain_and_pause_the_partner, &b[0]), 0);
    H_EXPECT(reactor_register(r, b[0], REACTOR_READ, drain_and_pause_the_partner, &a[0]), 0);
    h_put(a[1]);
    h_put(b[1]);
    g_paused_calls = 0;
    assert_int_equal(reactor_run_once(r, 1000), 1);
    assert_int_equal(reactor_run_once(r, 0), 0);
    assert_int_equal(g_paused_calls, 1);
    h_close_pair(a);
    h_close_pair(b);
}

static void paused_oneshot_resumed_is_armed_again(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_ONESHOT, NULL, NULL), 0);
    h_put(sv[1]);
    reactor_event_t ev[2];
    assert_int_equal(h_select(r, 1000, ev, 2), 1); /* fired */
    H_EXPECT(reactor_modify(r, sv[0], 0, NULL, NULL), 0);
    assert_int_equal(h_select(r, 0, ev, 2), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ | REACTOR_ONESHOT, NULL, NULL), 0);
    assert_int_equal(h_select(r, 1000, ev, 2), 1);
    assert_int_equal(h_select(r, 0, ev, 2), 0); /* and fired again */
    h_close_pair(sv);
}

static void unregister_of_a_paused_fd_leaves_nothing(void **state)
{
    reactor_t *r = *state;
    int a[2], b[2];
    h_pair(a);
    h_pair(b);
    reactor_event_t ev[2];
    /* Paused and unregistered before a wait, and after one. */
    H_EXPECT(reactor_register(r, a[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_register(r, b[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, a[0], 0, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, b[0], 0, NULL, NULL), 0);
    H_EXPECT(reactor_unregister(r, a[0]), 0);
    assert_int_equal(h_select(r, 0, ev, 2), 0);
    H_EXPECT(reactor_unregister(r, b[0]), 0);
    assert_int_equal(reactor_count(r), 0);
    h_put(a[1]);
    h_put(b[1]);
    assert_int_equal(h_select(r, 50, ev, 2), 0);
    /* Both register again from scratch and report. */
    H_EXPECT(reactor_register(r, a[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_register(r, b[0], REACTOR_READ, NULL, NULL), 0);
    assert_int_equal(h_select(r, 1000, ev, 2), 2);
    h_close_pair(a);
    h_close_pair(b);
}

/* ---- Unregistering ------------------------------------------------------ */

static void unregister_stops_reports(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_WRITE, NULL, NULL), 0);
    h_put(sv[1]);
    reactor_event_t ev[2];
    assert_int_equal(h_select(r, 1000, ev, 2), 1);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    assert_int_equal(h_select(r, 50, ev, 2), 0);
    h_close_pair(sv);
}

static void unregister_succeeds_after_close(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    close(sv[0]);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    assert_int_equal(reactor_count(r), 0);
    H_EXPECT(reactor_get(r, sv[0], NULL, NULL, NULL), -ENOENT);
    close(sv[1]);
}

/*
 * Whether `peer` reads end of file within 1 s, with no reactor call in
 * between: the file on the other side is really closed, not held by the
 * kernel object (an io_uring poll request holds a reference to its file).
 */
static int peer_sees_eof(int peer)
{
    struct pollfd p = {peer, POLLIN, 0};
    if (poll(&p, 1, 1000) != 1)
        return 0;
    char c;
    return read(peer, &c, 1) == 0;
}

static void unregister_then_close_gives_the_peer_eof_without_a_wait(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    /* READ alone: nothing is ready, so an io_uring request stays armed. */
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    close(sv[0]);
    if (!peer_sees_eof(sv[1]))
        fail_msg("%s: the peer saw no EOF within 1 s of unregister + close", h_backend_name());
    close(sv[1]);
}

/* The same once the registration has been reported and armed again by a wait. */
static void unregister_then_close_after_a_report_gives_the_peer_eof(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    h_put(sv[1]);
    reactor_event_t ev[2];
    assert_int_equal(h_select(r, 1000, ev, 2), 1);
    assert_int_equal(h_drain(sv[0]), 1); /* unread bytes would make the close a reset */
    assert_int_equal(h_select(r, 0, ev, 2), 0);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    close(sv[0]);
    if (!peer_sees_eof(sv[1]))
        fail_msg("%s: the peer saw no EOF within 1 s of unregister + close after a report",
                 h_backend_name());
    close(sv[1]);
}

/* And once a pause has reached the kernel (parked where the backend can). */
static void unregister_then_close_of_a_paused_fd_gives_the_peer_eof(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, sv[0], 0, NULL, NULL), 0);
    reactor_event_t ev[2];
    assert_int_equal(h_select(r, 0, ev, 2), 0);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    close(sv[0]);
    if (!peer_sees_eof(sv[1]))
        fail_msg("%s: the peer saw no EOF within 1 s of unregister + close of a paused fd",
                 h_backend_name());
    close(sv[1]);
}

static void unregister_succeeds_after_dup2_reuse(void **state)
{
    reactor_t *r = *state;
    int a[2], b[2];
    h_pair(a);
    h_pair(b);
    H_EXPECT(reactor_register(r, a[0], REACTOR_READ, NULL, NULL), 0);
    assert_int_equal(dup2(b[0], a[0]), a[0]); /* a[0] now names b's socket */
    H_EXPECT(reactor_unregister(r, a[0]), 0);
    assert_int_equal(reactor_count(r), 0);
    /* The reused number registers again and reports the new file. */
    H_EXPECT(reactor_register(r, a[0], REACTOR_READ, NULL, NULL), 0);
    h_put(b[1]);
    reactor_event_t ev[2];
    assert_int_equal(h_select(r, 1000, ev, 2), 1);
    assert_int_equal(ev[0].fd, a[0]);
    h_close_pair(a);
    h_close_pair(b);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
    const struct CMUnitTest tests[] = {
        T(register_rejects_bad_arguments_with_einval),
        T(every_call_given_a_negative_fd_fails_with_einval),
        T(register_twice_fails_with_eexist),
        T(register_closed_fd_fails_with_ebadf_and_leaves_no_trace),
        T(register_regular_file_fails_with_eperm_on_epoll_only),
        T(register_edge_fails_with_enotsup_without_edge_mode),
        T(modify_to_edge_fails_with_enotsup_without_edge_mode),
        T(get_returns_what_was_registered_and_modified),
        T(count_follows_registrations),
        T(modify_and_unregister_unknown_fd_fail_with_enoent),
        T(modify_with_bad_events_fails_with_einval_and_keeps_the_registration),
        T(modify_of_data_only_takes_effect_at_once),
        T(modify_of_events_takes_effect_at_the_next_wait),
        T(several_modifies_between_waits_leave_the_last),
        T(unregister_after_a_pending_modify_leaves_nothing_armed),
        T(modify_to_no_events_pauses_and_keeps_the_registration),
        T(pause_and_resume_before_a_wait_keep_reporting),
        T(paused_fd_whose_peer_hung_up_reports_nothing),
        T(pause_from_a_callback_silences_the_rest_of_its_batch),
        T(paused_oneshot_resumed_is_armed_again),
        T(unregister_of_a_paused_fd_leaves_nothing),
        T(unregister_stops_reports),
        T(unregister_succeeds_after_close),
        T(unregister_then_close_gives_the_peer_eof_without_a_wait),
        T(unregister_then_close_after_a_report_gives_the_peer_eof),
        T(unregister_then_close_of_a_paused_fd_gives_the_peer_eof),
        T(unregister_succeeds_after_dup2_reuse),
    };
    return H_RUN(tests);
}
