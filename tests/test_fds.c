/*
 * test_fds.c - descriptors: closed and dup'ed fds, the reactor's own fds
 * (close-on-exec, invisible, closed by reactor_free and only those), and how
 * many fds a backend takes; on the backend named by RX_TEST_BACKEND.
 */
#include <signal.h>
#include <sys/select.h>

#include "harness.h"

/* ---- Registered fds closed behind the reactor's back ----------------------- */

/*
 * The wait as a whole must not fail, and every other fd is served in the same
 * call. poll and select report the closed fd ready so that its owner meets
 * EBADF and unregisters; epoll and kqueue drop a closed file's registration
 * in the kernel, so there is nothing left to report (documented).
 */
static void closed_registered_fd_does_not_wedge_select(void **state)
{
    reactor_t *r = *state;
    int dead[2], live[2];
    h_pair(dead);
    h_pair(live);
    H_EXPECT(reactor_register(r, dead[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_register(r, live[0], REACTOR_READ, NULL, NULL), 0);
    close(dead[0]);
    h_put(live[1]);
    reactor_event_t ev[4];
    for (int round = 0; round < 3; round++) {
        int n = h_select(r, 1000, ev, 4);
        if (!h_find(ev, n, live[0]))
            fail_msg("round %d: the live fd was not served in the same call", round);
        const reactor_event_t *d = h_find(ev, n, dead[0]);
        if ((h_is("poll") || h_is("select")) && !d)
            fail_msg("round %d: the closed fd was not reported to its owner", round);
        if (d) {
            assert_int_equal(d->events, REACTOR_READ); /* what it registered */
            char c;
            assert_int_equal(read(dead[0], &c, 1), -1); /* the owner meets EBADF */
            assert_int_equal(errno, EBADF);
        }
    }
    H_EXPECT(reactor_unregister(r, dead[0]), 0);
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    close(dead[1]);
    h_close_pair(live);
}

struct owner {
    int calls;
    int unregistered;
};

static void unregister_on_ebadf(reactor_t *r, int fd, unsigned events, void *data)
{
    struct owner *o = data;
    char c;
    (void)events;
    o->calls++;
    if (read(fd, &c, 1) < 0 && errno == EBADF) {
        H_EXPECT(reactor_unregister(r, fd), 0);
        o->unregistered = 1;
    }
}

static void closed_registered_fd_does_not_wedge_run_once(void **state)
{
    reactor_t *r = *state;
    int dead[2], live[2];
    struct owner od = {0, 0}, ol = {0, 0};
    h_pair(dead);
    h_pair(live);
    H_EXPECT(reactor_register(r, dead[0], REACTOR_READ | REACTOR_WRITE, unregister_on_ebadf, &od),
             0);
    H_EXPECT(reactor_register(r, live[0], REACTOR_READ, unregister_on_ebadf, &ol), 0);
    close(dead[0]);
    h_put(live[1]);
    int ran = reactor_run_once(r, 1000);
    assert_true(ran >= 1);
    assert_int_equal(ol.calls, 1); /* served in the same call */
    if ((h_is("poll") || h_is("select")) && !od.unregistered)
        fail_msg("the owner of the closed fd was not called, so it could not unregister");
    if (!od.unregistered)
        H_EXPECT(reactor_unregister(r, dead[0]), 0);
    assert_int_equal(reactor_count(r), 1);
    h_put(live[1]); /* (its callback read the first byte) */
    H_EXPECT(reactor_run_once(r, 1000), 1);
    assert_int_equal(ol.calls, 2);
    close(dead[1]);
    h_close_pair(live);
}

/* reactor.h: a deferred change the kernel refuses reports the fd ready. */
static void modify_of_a_closed_fd_reports_it_ready_for_its_events(void **state)
{
    reactor_t *r = *state;
    int sv[2], tag;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, &tag), 0);
    close(sv[0]);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ | REACTOR_WRITE, NULL, &tag), 0);
    reactor_event_t ev[4];
    int n = h_select(r, 1000, ev, 4);
    const reactor_event_t *e = h_find(ev, n, sv[0]);
    if (!e) {
        fail_msg("the closed fd was not reported after its modify (select returned %d)", n);
        return; /* not reached: said for the analyzer, which cannot see fail_msg's longjmp */
    }
    if (e->events != (REACTOR_READ | REACTOR_WRITE))
        fail_msg("the closed fd was reported with events %u, not with its registered READ|WRITE",
                 e->events);
    assert_ptr_equal(e->data, &tag);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    H_EXPECT(reactor_select(r, 50, ev, 4), 0);
    close(sv[1]);
}

/* The refusal of that deferred change must not hold back the other ready fds. */
static void a_refused_change_does_not_delay_the_other_ready_fds(void **state)
{
    reactor_t *r = *state;
    int dead[2], live[2];
    h_pair(dead);
    h_pair(live);
    H_EXPECT(reactor_register(r, dead[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_register(r, live[0], REACTOR_READ, NULL, NULL), 0);
    close(dead[0]);
    H_EXPECT(reactor_modify(r, dead[0], REACTOR_READ | REACTOR_WRITE, NULL, NULL), 0);
    h_put(live[1]);
    reactor_event_t ev[4];
    int n = h_select(r, 1000, ev, 4);
    if (!h_find(ev, n, live[0]))
        fail_msg("the ready fd was not served in the call that reported the refused change "
                 "(%d entries)",
                 n);
    assert_non_null(h_find(ev, n, dead[0]));
    H_EXPECT(reactor_unregister(r, dead[0]), 0);
    close(dead[1]);
    h_close_pair(live);
}

/* ---- Dup'ed fds ----------------------------------------------------------------- */

static void dup_of_a_registered_fd_is_an_independent_registration(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    int dup_fd = fcntl(sv[0], F_DUPFD_CLOEXEC, 0);
    assert_true(dup_fd >= 0);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_register(r, dup_fd, REACTOR_READ, NULL, NULL), 0);
    h_put(sv[1]);
    reactor_event_t ev[4];
    assert_int_equal(h_select(r, 1000, ev, 4), 2);
    assert_non_null(h_find(ev, 2, sv[0]));
    assert_non_null(h_find(ev, 2, dup_fd));
    H_EXPECT(reactor_unregister(r, dup_fd), 0);
    close(dup_fd);
    assert_int_equal(h_select(r, 1000, ev, 4), 1); /* the original is untouched */
    assert_int_equal(ev[0].fd, sv[0]);
    h_close_pair(sv);
}

/* ---- How many fds --------------------------------------------------------------- */

static void select_backend_refuses_fd_setsize_and_beyond_with_erange(void **state)
{
    reactor_t *r = *state;
    if (h_raise_nofile() <= FD_SETSIZE + 10) {
        printf("# RLIMIT_NOFILE hard limit too low to open fd %d: skipped\n", FD_SETSIZE + 5);
        skip();
    }
    int sv[2];
    h_pair(sv);
    int fds[] = {FD_SETSIZE, FD_SETSIZE + 5};
    for (int i = 0; i < 2; i++) {
        int big = dup2(sv[0], fds[i]);
        assert_int_equal(big, fds[i]);
        int rc = reactor_register(r, big, REACTOR_READ, NULL, NULL);
        if (h_is("select")) {
            H_EXPECT(rc, -ERANGE);
            H_EXPECT(reactor_get(r, big, NULL, NULL, NULL), -ENOENT);
            assert_int_equal(reactor_count(r), 0);
        } else {
            H_EXPECT(rc, 0);
            h_put(sv[1]);
            reactor_event_t ev[2];
            assert_int_equal(h_select(r, 1000, ev, 2), 1);
            assert_int_equal(ev[0].fd, big);
            assert_int_equal(h_drain(big), 1);
            H_EXPECT(reactor_unregister(r, big), 0);
        }
        close(big);
    }
    h_close_pair(sv);
}

static void highest_fd_below_fd_setsize_works_on_every_backend(void **state)
{
    reactor_t *r = *state;
    if (h_raise_nofile() < FD_SETSIZE) {
        printf("# RLIMIT_NOFILE hard limit too low to open fd %d: skipped\n", FD_SETSIZE - 1);
        skip();
    }
    int sv[2];
    h_pair(sv);
    int top = dup2(sv[0], FD_SETSIZE - 1);
    assert_int_equal(top, FD_SETSIZE - 1);
    H_EXPECT(reactor_register(r, top, REACTOR_READ, NULL, NULL), 0);
    reactor_event_t ev[2];
    H_EXPECT(reactor_select(r, 0, ev, 2), 0);
    h_put(sv[1]);
    H_EXPECT(reactor_select(r, 1000, ev, 2), 1);
    assert_int_equal(ev[0].fd, top);
    H_EXPECT(reactor_unregister(r, top), 0);
    close(top);
    h_close_pair(sv);
}

/* poll, epoll and kqueue take as many fds as the process may open. */
static void ten_thousand_fds_are_served(void **state)
{
    reactor_t *r = *state;
    enum { PAIRS = 5000 };
    rlim_t lim = h_raise_nofile();
    if (h_is("select")) {
        /* select cannot: refused by number, before anything else is checked. */
        H_EXPECT(reactor_register(r, 2 * PAIRS, REACTOR_READ, NULL, NULL), -ERANGE);
        return;
    }
    if (lim < 2 * PAIRS + 64) {
        printf("# RLIMIT_NOFILE hard limit %lu is below %d: cannot test 10,000 fds: skipped\n",
               (unsigned long)lim, 2 * PAIRS + 64);
        skip();
    }
    int(*sv)[2] = calloc(PAIRS, sizeof *sv);
    assert_non_null(sv);
    for (int i = 0; i < PAIRS; i++) {
        h_pair(sv[i]);
        H_EXPECT(reactor_register(r, sv[i][0], REACTOR_READ, NULL, NULL), 0);
        H_EXPECT(reactor_register(r, sv[i][1], REACTOR_READ, NULL, NULL), 0);
    }
    assert_int_equal(reactor_count(r), 2 * PAIRS);
    /* Every 7th pair gets a byte on each end: all must be reported, once each. */
    int want = 0;
    for (int i = 0; i < PAIRS; i += 7) {
        h_put(sv[i][0]);
        h_put(sv[i][1]);
        want += 2;
    }
    reactor_event_t *ev = calloc(2 * PAIRS, sizeof *ev);
    assert_non_null(ev);
    int got = 0;
    for (int round = 0; round < 20 && got < want; round++) {
        int n = h_select(r, 1000, ev, 2 * PAIRS);
        assert_true(n > 0);
        for (int k = 0; k < n; k++)
            if (h_drain(ev[k].fd) != 1)
                fail_msg("fd %d reported, but it had nothing to read", ev[k].fd);
        got += n;
    }
    assert_int_equal(got, want);
    H_EXPECT(reactor_select(r, 0, ev, 2 * PAIRS), 0);
    /* The highest fd of all works too. */
    h_put(sv[PAIRS - 1][0]);
    H_EXPECT(reactor_select(r, 1000, ev, 2 * PAIRS), 1);
    assert_int_equal(ev[0].fd, sv[PAIRS - 1][1]);
    for (int i = 0; i < PAIRS; i++) {
        H_EXPECT(reactor_unregister(r, sv[i][0]), 0);
        H_EXPECT(reactor_unregister(r, sv[i][1]), 0);
        h_close_pair(sv[i]);
    }
    assert_int_equal(reactor_count(r), 0);
    free(ev);
    free(sv);
}

/* ---- The reactor's own fds -------------------------------------------------------- */

/* Fails unless every fd open now but not in `before` is close-on-exec; returns how many. */
static int assert_new_fds_are_cloexec(const char before[H_MAX_SCAN], const char *when)
{
    int n = 0;
    for (int fd = 0; fd < H_MAX_SCAN; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (before[fd] || flags < 0)
            continue;
        n++;
        if (!(flags & FD_CLOEXEC))
            fail_msg("fd %d, opened by the reactor %s, is not close-on-exec", fd, when);
    }
    return n;
}

static void fds_opened_by_reactor_new_are_close_on_exec(void **state)
{
    (void)state;
    char before[H_MAX_SCAN];
    h_open_fds(before);
    reactor_t *r = h_new();
    assert_true(assert_new_fds_are_cloexec(before, "in reactor_new") >= 1);
    reactor_free(r);
}

static void on_signal(reactor_t *r, int signo, void *data)
{
    (void)r, (void)signo, (void)data;
}

static void fds_opened_while_running_are_close_on_exec(void **state)
{
    (void)state;
    char before[H_MAX_SCAN];
    int sv[2], keep;
    h_pair(sv);
    h_open_fds(before);
    reactor_t *r = h_new();
    /* Wake it, and make epoll rebuild its set: a file kept open by a dup
     * (see dup_kept_file_of_an_unregistered_fd_is_not_delivered in test_stale.c). */
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    keep = fcntl(sv[0], F_DUPFD_CLOEXEC, 0);
    before[keep] = 1;
    close(sv[0]);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    h_put(sv[1]);
    reactor_stop(r);
    H_EXPECT(reactor_signal_add(r, SIGUSR2, on_signal, NULL), 0); /* its self-pipe */
    reactor_event_t ev[2];
    for (int i = 0; i < 3; i++)
        h_select(r, 10, ev, 2);
    H_EXPECT(reactor_run_once(r, 0), 0);
    assert_true(assert_new_fds_are_cloexec(before, "while running") >= 1);
    if (reactor_backend_fd(r) >= 0)
        assert_true(fcntl(reactor_backend_fd(r), F_GETFD) & FD_CLOEXEC);
    H_EXPECT(reactor_signal_remove(r, SIGUSR2), 0);
    reactor_free(r);
    close(keep);
    close(sv[1]);
}

static void reactors_own_fds_are_invisible_to_the_api(void **state)
{
    (void)state;
    char before[H_MAX_SCAN];
    h_open_fds(before);
    reactor_t *r = h_new();
    assert_int_equal(reactor_count(r), 0);
    int own = 0;
    for (int fd = 0; fd < H_MAX_SCAN; fd++) {
        if (before[fd] || fcntl(fd, F_GETFD) < 0)
            continue;
        own++;
        H_EXPECT(reactor_get(r, fd, NULL, NULL, NULL), -ENOENT);
        H_EXPECT(reactor_modify(r, fd, REACTOR_WRITE, NULL, NULL), -ENOENT);
        H_EXPECT(reactor_unregister(r, fd), -ENOENT);
    }
    assert_true(own >= 1);
    assert_int_equal(reactor_count(r), 0);
    /* And they still work: a stop still wakes the wait. */
    reactor_stop(r);
    reactor_event_t ev[2];
    uint64_t t0 = h_now_ms();
    H_EXPECT(reactor_select(r, 10000, ev, 2), 0);
    if (h_now_ms() - t0 >= 5000)
        fail_msg("after the API was pointed at its own fds, a stop no longer woke the reactor");
    reactor_free(r);
}

/*
 * The test-only kqueue emulation on Linux keeps two inner epoll sets per
 * kqueue; a close() of the kqueue is invisible to it, so they are released at
 * the next kqueue() (tests/kqueue_emu/README.md). They are not the reactor's.
 */
static int is_kqueue_emulation_fd(int fd)
{
#ifdef __linux__
    char path[64], target[64] = "";
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n > 0)
        target[n] = '\0';
    return h_is("kqueue") && strcmp(target, "anon_inode:[eventpoll]") == 0;
#else
    (void)fd;
    return 0;
#endif
}

static void free_closes_its_own_fds_and_never_a_registered_one(void **state)
{
    (void)state;
    char before[H_MAX_SCAN], opened[H_MAX_SCAN], after[H_MAX_SCAN], emu[H_MAX_SCAN];
    int sv[2];
    h_pair(sv);
    h_open_fds(before);
    for (int fd = 0; fd < H_MAX_SCAN; fd++)
        emu[fd] = before[fd] && is_kqueue_emulation_fd(fd);
    reactor_t *r = h_new();
    h_open_fds(opened);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_register(r, sv[1], REACTOR_WRITE, NULL, NULL), 0);
    reactor_stop(r);
    H_EXPECT(reactor_run_once(r, 0), 0); /* no callbacks: only the wakeup was read */
    reactor_free(r);
    h_open_fds(after);
    if (!after[sv[0]] || !after[sv[1]])
        fail_msg("reactor_free closed a registered fd");
    for (int fd = 0; fd < H_MAX_SCAN; fd++) {
        if (before[fd] && !after[fd] && !emu[fd])
            fail_msg("fd %d, open before reactor_new, was closed by the reactor", fd);
        if (!before[fd] && opened[fd] && after[fd] && !is_kqueue_emulation_fd(fd))
            fail_msg("fd %d, opened by reactor_new, is still open after reactor_free", fd);
    }
    h_close_pair(sv);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
    const struct CMUnitTest tests[] = {
        T(closed_registered_fd_does_not_wedge_select),
        T(closed_registered_fd_does_not_wedge_run_once),
        T(modify_of_a_closed_fd_reports_it_ready_for_its_events),
        T(a_refused_change_does_not_delay_the_other_ready_fds),
        T(dup_of_a_registered_fd_is_an_independent_registration),
        T(select_backend_refuses_fd_setsize_and_beyond_with_erange),
        T(highest_fd_below_fd_setsize_works_on_every_backend),
        T(ten_thousand_fds_are_served),
        cmocka_unit_test(fds_opened_by_reactor_new_are_close_on_exec),
        cmocka_unit_test(fds_opened_while_running_are_close_on_exec),
        cmocka_unit_test(reactors_own_fds_are_invisible_to_the_api),
        cmocka_unit_test(free_closes_its_own_fds_and_never_a_registered_one),
    };
    return H_RUN(tests);
}
