/*
 * test_select.c - reactor_select(): timeouts, what is reported and how much,
 * hang-ups and errors, interruptions; on the backend named by RX_TEST_BACKEND.
 *
 * Timeouts are checked with tolerance (at least 0.9 of the time asked, less
 * than 5 times it); nothing here asserts that anything is fast.
 */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include "harness.h"

static void assert_waited(uint64_t took, int asked)
{
    if (took < (uint64_t)asked * 9 / 10)
        fail_msg("returned after %llu ms; asked to wait %d ms", (unsigned long long)took, asked);
    if (took >= (uint64_t)asked * 5)
        fail_msg("took %llu ms for a %d ms timeout", (unsigned long long)took, asked);
}

/* ---- Timeouts ------------------------------------------------------------ */

static void select_with_nothing_registered_waits_for_the_timeout(void **state)
{
    reactor_t *r = *state;
    reactor_event_t ev[4];
    uint64_t t0 = h_now_ms();
    H_EXPECT(reactor_select(r, 200, ev, 4), 0);
    assert_waited(h_now_ms() - t0, 200);
}

static void select_with_an_idle_fd_waits_for_the_timeout(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    reactor_event_t ev[4];
    uint64_t t0 = h_now_ms();
    H_EXPECT(reactor_select(r, 200, ev, 4), 0);
    assert_waited(h_now_ms() - t0, 200);
    h_close_pair(sv);
}

static void select_with_timeout_zero_does_not_block(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    reactor_event_t ev[4];
    uint64_t t0 = h_now_ms();
    H_EXPECT(reactor_select(r, 0, ev, 4), 0);
    uint64_t took = h_now_ms() - t0;
    if (took >= 1000)
        fail_msg("a zero timeout blocked for %llu ms", (unsigned long long)took);
    h_close_pair(sv);
}

static void *write_later(void *arg)
{
    h_sleep_ms(100);
    h_put(*(int *)arg);
    return NULL;
}

static void select_with_timeout_minus_one_waits_until_an_fd_is_ready(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_later, &sv[1]), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, -1, ev, 4), 1);
    assert_int_equal(ev[0].fd, sv[0]);
    pthread_join(t, NULL);
    h_close_pair(sv);
}

static void select_returns_as_soon_as_an_fd_is_ready(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_later, &sv[1]), 0);
    reactor_event_t ev[4];
    uint64_t t0 = h_now_ms();
    H_EXPECT(reactor_select(r, 30000, ev, 4), 1);
    if (h_now_ms() - t0 >= 15000)
        fail_msg("select(30 s) returned only after %llu ms for an fd ready after 100 ms",
                 (unsigned long long)(h_now_ms() - t0));
    pthread_join(t, NULL);
    h_close_pair(sv);
}

static void select_rejects_bad_output_arguments(void **state)
{
    reactor_t *r = *state;
    reactor_event_t ev[1];
    H_EXPECT(reactor_select(r, 0, NULL, 1), -EINVAL);
    H_EXPECT(reactor_select(r, 0, ev, 0), -EINVAL);
    H_EXPECT(reactor_select(r, 0, ev, -1), -EINVAL);
}

/* ---- What is reported ----------------------------------------------------- */

static void select_reports_a_ready_fd_in_one_entry_with_its_data(void **state)
{
    reactor_t *r = *state;
    int sv[2], tag;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_WRITE, NULL, &tag), 0);
    h_put(sv[1]);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1); /* readable and writable: one entry */
    assert_int_equal(ev[0].fd, sv[0]);
    assert_int_equal(ev[0].events, REACTOR_READ | REACTOR_WRITE);
    assert_ptr_equal(ev[0].data, &tag);
    h_close_pair(sv);
}

static void select_reports_every_ready_fd_and_no_other(void **state)
{
    reactor_t *r = *state;
    enum { N = 8 };
    int sv[N][2];
    for (int i = 0; i < N; i++) {
        h_pair(sv[i]);
        H_EXPECT(reactor_register(r, sv[i][0], REACTOR_READ, NULL, &sv[i]), 0);
        if (i % 2)
            h_put(sv[i][1]);
    }
    reactor_event_t ev[2 * N];
    int n = h_select(r, 1000, ev, 2 * N);
    for (int i = 0; i < N; i++) {
        const reactor_event_t *e = h_find(ev, n, sv[i][0]);
        if ((i % 2) && !e)
            fail_msg("readable fd %d not reported", sv[i][0]);
        if (!(i % 2) && e)
            fail_msg("fd %d reported, but nothing was written to it", sv[i][0]);
        if (e) {
            assert_int_equal(e->events, REACTOR_READ);
            assert_ptr_equal(e->data, &sv[i]);
        }
    }
    assert_int_equal(n, N / 2);
    for (int i = 0; i < N; i++)
        h_close_pair(sv[i]);
}

static void reported_events_are_a_subset_of_registered(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    /* Readable and writable, but only READ is asked for. */
    h_put(sv[1]);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].events, REACTOR_READ);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].events, REACTOR_WRITE);
    h_close_pair(sv);
}

static void level_triggered_readiness_is_reported_until_drained(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    h_put(sv[1]);
    reactor_event_t ev[4];
    for (int i = 0; i < 3; i++)
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(h_drain(sv[0]), 1);
    H_EXPECT(reactor_select(r, 0, ev, 4), 0);
    h_close_pair(sv);
}

static void must_not_be_called(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r, (void)events, (void)data;
    fail_msg("reactor_select() ran the callback of fd %d", fd);
}

static void select_runs_no_callbacks(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, must_not_be_called, NULL), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    h_close_pair(sv);
}

/* ---- More ready than room ------------------------------------------------- */

static void more_ready_than_max_come_in_later_calls(void **state)
{
    reactor_t *r = *state;
    enum { N = 10 };
    int sv[N][2], seen[N] = {0};
    for (int i = 0; i < N; i++) {
        h_pair(sv[i]);
        h_put(sv[i][1]);
        H_EXPECT(reactor_register(r, sv[i][0], REACTOR_READ, NULL, &seen[i]), 0);
    }
    reactor_event_t ev[3];
    int total = 0;
    for (int round = 0; round < 10 && total < N; round++) {
        int n = h_select(r, 1000, ev, 3);
        if (n < 1 || n > 3)
            fail_msg("select(max 3) returned %d with %d fds still ready", n, N - total);
        h_assert_one_entry_per_fd(ev, n);
        for (int k = 0; k < n; k++) {
            int *s = ev[k].data;
            assert_int_equal(h_drain(ev[k].fd), 1); /* drained: reported once */
            if (*s)
                fail_msg("fd %d reported again after it was drained", ev[k].fd);
            *s = 1;
            total++;
        }
    }
    assert_int_equal(total, N); /* none lost */
    H_EXPECT(reactor_select(r, 0, ev, 3), 0);
    for (int i = 0; i < N; i++)
        h_close_pair(sv[i]);
}

/* Without draining: the first fds must not hide the rest forever. */
static void more_ready_than_max_all_get_their_turn_without_draining(void **state)
{
    reactor_t *r = *state;
    enum { N = 10, MAX = 3 };
    int sv[N][2], seen[N] = {0};
    for (int i = 0; i < N; i++) {
        h_pair(sv[i]);
        h_put(sv[i][1]);
        H_EXPECT(reactor_register(r, sv[i][0], REACTOR_READ, NULL, &seen[i]), 0);
    }
    reactor_event_t ev[MAX];
    int distinct = 0, calls = 0;
    while (distinct < N && calls < 4 * (N / MAX + 1)) {
        int n = h_select(r, 1000, ev, MAX);
        assert_int_equal(n, MAX);
        h_assert_one_entry_per_fd(ev, n);
        for (int k = 0; k < n; k++) {
            int *s = ev[k].data;
            distinct += *s == 0;
            *s = 1;
        }
        calls++;
    }
    if (distinct < N)
        fail_msg("after %d calls with max %d only %d of %d ready fds were ever reported", calls,
                 MAX, distinct, N);
    for (int i = 0; i < N; i++)
        h_close_pair(sv[i]);
}

/*
 * kqueue reports READ and WRITE as two kernel events: a batch sized in fds
 * must still carry both (CPython's gh-110038 is the same bug in its selector).
 */
static void max_one_reports_read_and_write_of_one_fd_together(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    h_put(sv[1]);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_WRITE, NULL, NULL), 0);
    reactor_event_t ev[1];
    H_EXPECT(reactor_select(r, 1000, ev, 1), 1);
    assert_int_equal(ev[0].fd, sv[0]);
    assert_int_equal(ev[0].events, REACTOR_READ | REACTOR_WRITE);
    h_close_pair(sv);
}

/*
 * ONESHOT reports are consumed by the kernel: a report that does not fit the
 * caller's batch must be kept for the next call, not dropped. kqueue may
 * split an fd's READ and WRITE across kevent() calls, and the first one
 * disarms it, so the report carries at least one of them.
 */
static void oneshot_reports_beyond_max_are_kept_for_the_next_call(void **state)
{
    reactor_t *r = *state;
    enum { N = 4 };
    int sv[N][2], seen[N] = {0};
    for (int i = 0; i < N; i++) {
        h_pair(sv[i]);
        h_put(sv[i][1]);
        H_EXPECT(reactor_register(r, sv[i][0], REACTOR_READ | REACTOR_WRITE | REACTOR_ONESHOT, NULL,
                                  &seen[i]),
                 0);
    }
    reactor_event_t ev[1];
    int total = 0;
    for (int call = 0; call < 4 * N; call++) {
        int n = reactor_select(r, total < N ? 1000 : 0, ev, 1);
        if (n < 0)
            fail_msg("select: %s", reactor_strerror(n));
        if (n == 0)
            break;
        int *s = ev[0].data;
        if (*s)
            fail_msg("ONESHOT fd %d reported twice", ev[0].fd);
        *s = 1;
        assert_true(ev[0].events & (REACTOR_READ | REACTOR_WRITE));
        assert_int_equal(ev[0].events & ~(unsigned)(REACTOR_READ | REACTOR_WRITE), 0);
        total++;
    }
    assert_int_equal(total, N);
    for (int i = 0; i < N; i++)
        h_close_pair(sv[i]);
}

static void max_larger_than_what_is_registered_is_fine(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    reactor_event_t ev[1000];
    H_EXPECT(reactor_select(r, 1000, ev, 1000), 1);
    H_EXPECT(reactor_select(r, 1000, ev, 1), 1);
    h_close_pair(sv);
}

/* ---- Hang-ups and errors --------------------------------------------------- */

static void peer_close_wakes_a_read_registration(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 0, ev, 4), 0);
    close(sv[1]);
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].events, REACTOR_READ);
    char c;
    assert_int_equal(read(sv[0], &c, 1), 0); /* the next read sees EOF */
    close(sv[0]);
}

static void pipe_writer_close_wakes_a_read_registration(void **state)
{
    reactor_t *r = *state;
    int p[2];
    h_pipe(p);
    H_EXPECT(reactor_register(r, p[0], REACTOR_READ, NULL, NULL), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 0, ev, 4), 0);
    close(p[1]); /* poll(2): POLLHUP alone, no POLLIN */
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].fd, p[0]);
    assert_int_equal(ev[0].events, REACTOR_READ);
    char c;
    assert_int_equal(read(p[0], &c, 1), 0);
    close(p[0]);
}

static void pipe_reader_close_wakes_a_write_registration(void **state)
{
    reactor_t *r = *state;
    int p[2];
    h_pipe(p);
    h_fill(p[1]);
    H_EXPECT(reactor_register(r, p[1], REACTOR_WRITE, NULL, NULL), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 50, ev, 4), 0); /* full: not writable */
    close(p[0]);                               /* poll(2): POLLERR */
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].fd, p[1]);
    assert_int_equal(ev[0].events, REACTOR_WRITE);
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(write(p[1], "x", 1), -1);
    assert_int_equal(errno, EPIPE);
    close(p[1]);
}

static void peer_close_wakes_a_blocked_write_registration(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    h_fill(sv[0]);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 50, ev, 4), 0); /* full: not writable */
    close(sv[1]);
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].events, REACTOR_WRITE);
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(write(sv[0], "x", 1), -1);
    assert_int_equal(errno, EPIPE);
    close(sv[0]);
}

static void hang_up_wakes_a_read_write_registration_for_both(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    h_fill(sv[0]); /* neither readable nor writable */
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_WRITE, NULL, NULL), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 50, ev, 4), 0);
    close(sv[1]);
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    if (ev[0].events != (REACTOR_READ | REACTOR_WRITE))
        fail_msg("a hang-up woke the READ|WRITE registration with events %u only", ev[0].events);
    close(sv[0]);
}

/* A TCP reset on loopback: a pending socket error wakes a READ-only registration. */
static void socket_error_wakes_a_read_registration(void **state)
{
    reactor_t *r = *state;
    int lst = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lst >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    assert_int_equal(bind(lst, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lst, 1), 0);
    assert_int_equal(getsockname(lst, (struct sockaddr *)&a, &alen), 0);
    int cli = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(cli >= 0);
    assert_int_equal(connect(cli, (struct sockaddr *)&a, sizeof a), 0);
    int srv = accept(lst, NULL, NULL);
    assert_true(srv >= 0);
    assert_int_not_equal(fcntl(cli, F_SETFL, O_NONBLOCK), -1);
    H_EXPECT(reactor_register(r, cli, REACTOR_READ, NULL, NULL), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 0, ev, 4), 0);
    struct linger lg = {1, 0}; /* close with a reset */
    assert_int_equal(setsockopt(srv, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(srv);
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].fd, cli);
    assert_int_equal(ev[0].events, REACTOR_READ);
    char c;
    assert_int_equal(read(cli, &c, 1), -1);
    assert_int_equal(errno, ECONNRESET);
    close(cli);
    close(lst);
}

/* ---- Interruptions --------------------------------------------------------- */

static void on_alarm(int sig)
{
    (void)sig;
}

/* Arms SIGALRM in `ms` with a handler installed WITHOUT SA_RESTART. */
static void alarm_in(int ms, struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, old), 0);
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
}

static void select_interrupted_by_a_signal_returns_eintr(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    struct sigaction old;
    alarm_in(50, &old);
    reactor_event_t ev[4];
    uint64_t t0 = h_now_ms();
    int rc = reactor_select(r, 10000, ev, 4);
    uint64_t took = h_now_ms() - t0;
    sigaction(SIGALRM, &old, NULL);
    H_EXPECT(rc, -EINTR);
    if (took >= 5000)
        fail_msg("the signal came at 50 ms but select returned after %llu ms",
                 (unsigned long long)took);
    h_close_pair(sv);
}

static void select_interrupted_with_nothing_registered_returns_eintr(void **state)
{
    reactor_t *r = *state;
    struct sigaction old;
    alarm_in(50, &old);
    reactor_event_t ev[4];
    int rc = reactor_select(r, 10000, ev, 4);
    sigaction(SIGALRM, &old, NULL);
    H_EXPECT(rc, -EINTR);
}

static void *stop_later(void *arg)
{
    h_sleep_ms(100);
    reactor_stop(arg);
    return NULL;
}

static void stop_from_another_thread_ends_a_blocked_select_with_zero(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stop_later, r), 0);
    reactor_event_t ev[4];
    uint64_t t0 = h_now_ms();
    H_EXPECT(reactor_select(r, 30000, ev, 4), 0);
    if (h_now_ms() - t0 >= 15000)
        fail_msg("reactor_stop() at 100 ms did not wake select(30 s)");
    pthread_join(t, NULL);
    h_close_pair(sv);
}

/* ---- Nesting the reactor in another loop ------------------------------------ */

static void backend_fd_polls_readable_when_an_fd_is_ready(void **state)
{
    reactor_t *r = *state;
    int bfd = reactor_backend_fd(r);
    if (!h_has_backend_fd()) {
        H_EXPECT(bfd, -ENOTSUP);
        return;
    }
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    struct pollfd pfd = {bfd, POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 0), 0);
    h_put(sv[1]);
    if (poll(&pfd, 1, 1000) != 1 || !(pfd.revents & POLLIN))
        fail_msg("backend fd %d did not poll readable with a ready fd registered", bfd);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 0, ev, 4), 1);
    h_close_pair(sv);
}

static void a_reactor_nests_in_another_through_its_backend_fd(void **state)
{
    reactor_t *outer = *state;
    reactor_t *inner = h_new();
    int bfd = reactor_backend_fd(inner);
    if (!h_has_backend_fd()) {
        H_EXPECT(bfd, -ENOTSUP);
        reactor_free(inner);
        return;
    }
    int sv[2], served = 0;
    h_pair(sv);
    H_EXPECT(reactor_register(inner, sv[0], REACTOR_READ, NULL, &served), 0);
    H_EXPECT(reactor_register(outer, bfd, REACTOR_READ, NULL, inner), 0);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(outer, 0, ev, 4), 0);
    h_put(sv[1]);
    H_EXPECT(reactor_select(outer, 1000, ev, 4), 1);
    assert_int_equal(ev[0].fd, bfd);
    assert_ptr_equal(ev[0].data, inner);
    H_EXPECT(reactor_select(inner, 0, ev, 4), 1); /* the inner reactor has it */
    assert_int_equal(ev[0].fd, sv[0]);
    assert_int_equal(h_drain(sv[0]), 1);
    H_EXPECT(reactor_select(inner, 0, ev, 4), 0);
    H_EXPECT(reactor_select(outer, 0, ev, 4), 0); /* and the outer one calms down */
    H_EXPECT(reactor_unregister(outer, bfd), 0);
    reactor_free(inner);
    h_close_pair(sv);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
    const struct CMUnitTest tests[] = {
        T(select_with_nothing_registered_waits_for_the_timeout),
        T(select_with_an_idle_fd_waits_for_the_timeout),
        T(select_with_timeout_zero_does_not_block),
        T(select_with_timeout_minus_one_waits_until_an_fd_is_ready),
        T(select_returns_as_soon_as_an_fd_is_ready),
        T(select_rejects_bad_output_arguments),
        T(select_reports_a_ready_fd_in_one_entry_with_its_data),
        T(select_reports_every_ready_fd_and_no_other),
        T(reported_events_are_a_subset_of_registered),
        T(level_triggered_readiness_is_reported_until_drained),
        T(select_runs_no_callbacks),
        T(more_ready_than_max_come_in_later_calls),
        T(more_ready_than_max_all_get_their_turn_without_draining),
        T(max_one_reports_read_and_write_of_one_fd_together),
        T(oneshot_reports_beyond_max_are_kept_for_the_next_call),
        T(max_larger_than_what_is_registered_is_fine),
        T(peer_close_wakes_a_read_registration),
        T(pipe_writer_close_wakes_a_read_registration),
        T(pipe_reader_close_wakes_a_write_registration),
        T(peer_close_wakes_a_blocked_write_registration),
        T(hang_up_wakes_a_read_write_registration_for_both),
        T(socket_error_wakes_a_read_registration),
        T(select_interrupted_by_a_signal_returns_eintr),
        T(select_interrupted_with_nothing_registered_returns_eintr),
        T(stop_from_another_thread_ends_a_blocked_select_with_zero),
        T(backend_fd_polls_readable_when_an_fd_is_ready),
        T(a_reactor_nests_in_another_through_its_backend_fd),
    };
    return H_RUN(tests);
}
