/*
 * test_stale.c - changing registrations from inside callbacks, and the
 * stale-event rule: a registration removed during a batch never receives a
 * callback from that batch, even if its fd number is registered again within
 * it (the classic bug of Redis's ae). On the backend named by RX_TEST_BACKEND.
 *
 * Which of two ready fds is dispatched first is not specified, so each test
 * lets whichever callback runs first act on the other one.
 */
#include "h_kcmp.h" /* first: it defines _GNU_SOURCE */

#include "harness.h"

#include <poll.h>

/* Two ready registrations; the first callback to run does something to the other. */
struct duo {
    int fd[2];          /* the registered fds */
    int peer[2];        /* their other ends */
    int calls[2];       /* callbacks of the two original registrations */
    int first;          /* which one ran first, -1 before */
    int other_calls;    /* callbacks of a registration the first callback made */
    int replacement[2]; /* a socketpair the first callback made, or -1 */
    void *tag;          /* data the first callback gave the other fd */
    void *seen_data;    /* data the second callback received */
};

static void duo_open(reactor_t *r, struct duo *d, unsigned events, reactor_cb cb)
{
    memset(d, 0, sizeof *d);
    d->first = -1;
    d->replacement[0] = d->replacement[1] = -1;
    for (int i = 0; i < 2; i++) {
        int sv[2];
        h_pair(sv);
        d->fd[i] = sv[0];
        d->peer[i] = sv[1];
        h_put(sv[1]); /* readable (and writable): ready for whatever is asked */
        H_EXPECT(reactor_register(r, d->fd[i], events, cb, d), 0);
    }
}

static void duo_close(struct duo *d)
{
    for (int i = 0; i < 2; i++) {
        if (d->fd[i] >= 0)
            close(d->fd[i]);
        close(d->peer[i]);
        if (d->replacement[i] >= 0)
            close(d->replacement[i]);
    }
}

/* Records the call; returns the index of the other fd if this is the first call, else -1. */
static int duo_enter(struct duo *d, int fd, void *data)
{
    int me = fd == d->fd[0] ? 0 : 1;
    d->calls[me]++;
    d->seen_data = data;
    if (d->first >= 0)
        return -1;
    d->first = me;
    return 1 - me;
}

static void count_other(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r, (void)fd, (void)events;
    ((struct duo *)data)->other_calls++;
}

/* ---- The stale-event rule ----------------------------------------------------- */

static void replace_other_with_a_new_file(reactor_t *r, int fd, unsigned events, void *data)
{
    struct duo *d = data;
    (void)events;
    int other = duo_enter(d, fd, data);
    if (other < 0)
        return;
    int num = d->fd[other];
    H_EXPECT(reactor_unregister(r, num), 0);
    close(num);
    /* A new socket on the old number, readable too, registered with another callback. */
    h_pair(d->replacement);
    assert_int_equal(dup2(d->replacement[0], num), num);
    h_put(d->replacement[1]);
    H_EXPECT(reactor_register(r, num, REACTOR_READ, count_other, d), 0);
}

static void stale_event_never_reaches_a_new_registration(void **state)
{
    reactor_t *r = *state;
    struct duo d;
    duo_open(r, &d, REACTOR_READ, replace_other_with_a_new_file);
    H_EXPECT(reactor_run_once(r, 1000), 1); /* only the first callback ran */
    int other = 1 - d.first;
    assert_int_equal(d.calls[d.first], 1);
    assert_int_equal(d.calls[other], 0);
    if (d.other_calls)
        fail_msg("the new registration of fd %d got the old file's event from the same batch",
                 d.fd[other]);
    /* The next iteration serves the new registration normally. */
    H_EXPECT(reactor_run_once(r, 1000), 2);
    assert_int_equal(d.other_calls, 1);
    duo_close(&d);
}

static void reregister_other(reactor_t *r, int fd, unsigned events, void *data)
{
    struct duo *d = data;
    (void)events;
    int other = duo_enter(d, fd, data);
    if (other < 0)
        return;
    H_EXPECT(reactor_unregister(r, d->fd[other]), 0);
    H_EXPECT(reactor_register(r, d->fd[other], REACTOR_READ, count_other, d), 0);
}

static void stale_event_never_reaches_the_same_file_registered_again(void **state)
{
    reactor_t *r = *state;
    struct duo d;
    duo_open(r, &d, REACTOR_READ, reregister_other);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    assert_int_equal(d.calls[1 - d.first], 0);
    if (d.other_calls)
        fail_msg("a registration made during the batch got an event of that batch");
    H_EXPECT(reactor_run_once(r, 1000), 2);
    assert_int_equal(d.other_calls, 1);
    duo_close(&d);
}

/*
 * An event made stale by a callback of its own batch is dropped, and that is
 * all: it must not be mistaken for a file the kernel keeps reporting after
 * we lost the means to delete it, which makes epoll rebuild its whole set (a
 * new kernel object, so a new backend fd).
 */
static void stale_event_of_the_same_batch_does_not_rebuild_the_backend(void **state)
{
    reactor_t *r = *state;
    struct duo d;
    duo_open(r, &d, REACTOR_READ, reregister_other);
    struct h_backend bfd = h_backend_snap(r);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    H_EXPECT(reactor_run_once(r, 1000), 2);
    assert_int_equal(d.other_calls, 1);
    h_assert_not_rebuilt(r, bfd, "a stale event of the same batch");
    duo_close(&d);
}

static void unregister_other(reactor_t *r, int fd, unsigned events, void *data)
{
    struct duo *d = data;
    (void)events;
    int other = duo_enter(d, fd, data);
    if (other >= 0)
        H_EXPECT(reactor_unregister(r, d->fd[other]), 0);
}

static void unregister_of_another_ready_fd_cancels_its_callback(void **state)
{
    reactor_t *r = *state;
    struct duo d;
    duo_open(r, &d, REACTOR_READ, unregister_other);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    if (d.calls[1 - d.first])
        fail_msg("fd %d was unregistered by an earlier callback but its callback still ran",
                 d.fd[1 - d.first]);
    duo_close(&d);
}

static void unregister_and_close_other(reactor_t *r, int fd, unsigned events, void *data)
{
    struct duo *d = data;
    (void)events;
    int other = duo_enter(d, fd, data);
    if (other < 0)
        return;
    H_EXPECT(reactor_unregister(r, d->fd[other]), 0);
    close(d->fd[other]);
    d->fd[other] = -1;
}

static void unregister_and_close_of_another_ready_fd_cancels_its_callback(void **state)
{
    reactor_t *r = *state;
    struct duo d;
    duo_open(r, &d, REACTOR_READ, unregister_and_close_other);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    assert_int_equal(d.calls[1 - d.first], 0);
    H_EXPECT(reactor_run_once(r, 1000), 1); /* the survivor is still served */
    assert_int_equal(d.calls[d.first], 2);
    duo_close(&d);
}

/* ---- Other changes to another fd of the batch ---------------------------------- */

static void drop_write_of_other(reactor_t *r, int fd, unsigned events, void *data)
{
    struct duo *d = data;
    (void)events;
    int other = duo_enter(d, fd, data);
    if (other >= 0)
        H_EXPECT(reactor_modify(r, d->fd[other], REACTOR_READ, drop_write_of_other, d), 0);
}

static void modify_of_another_ready_fd_applies_within_the_batch(void **state)
{
    reactor_t *r = *state;
    struct duo d;
    duo_open(r, &d, REACTOR_WRITE, drop_write_of_other);
    h_drain(d.fd[0]);
    h_drain(d.fd[1]);                       /* writable only */
    H_EXPECT(reactor_run_once(r, 1000), 1); /* the second lost WRITE before its turn */
    assert_int_equal(d.calls[1 - d.first], 0);
    duo_close(&d);
}

static struct duo *data_duo; /* the callbacks below get other data pointers */

static void change_data_of_other(reactor_t *r, int fd, unsigned events, void *data)
{
    struct duo *d = data_duo;
    (void)events;
    int other = duo_enter(d, fd, data);
    if (other >= 0)
        H_EXPECT(reactor_modify(r, d->fd[other], REACTOR_READ, change_data_of_other, d->tag), 0);
}

static void data_changed_by_an_earlier_callback_reaches_the_later_one(void **state)
{
    reactor_t *r = *state;
    struct duo d;
    int old_tag, new_tag;
    duo_open(r, &d, REACTOR_READ, change_data_of_other);
    data_duo = &d;
    H_EXPECT(reactor_modify(r, d.fd[0], REACTOR_READ, change_data_of_other, &old_tag), 0);
    H_EXPECT(reactor_modify(r, d.fd[1], REACTOR_READ, change_data_of_other, &old_tag), 0);
    d.tag = &new_tag;
    H_EXPECT(reactor_run_once(r, 1000), 2);
    if (d.seen_data != &new_tag)
        fail_msg("the second callback got %s data, not what the first callback set",
                 d.seen_data == &old_tag ? "the old" : "unknown");
    duo_close(&d);
}

static void close_other_without_unregistering(reactor_t *r, int fd, unsigned events, void *data)
{
    struct duo *d = data;
    (void)events;
    int other = duo_enter(d, fd, data);
    if (other >= 0) {
        close(d->fd[other]); /* its owner will find out */
        return;
    }
    /* The owner of the closed fd: its read fails, so it unregisters. */
    char c;
    if (read(fd, &c, 1) < 0 && errno == EBADF)
        H_EXPECT(reactor_unregister(r, fd), 0);
}

static void closing_another_ready_fd_without_unregistering_does_not_break_the_batch(void **state)
{
    reactor_t *r = *state;
    struct duo d;
    duo_open(r, &d, REACTOR_READ, close_other_without_unregistering);
    int ran = reactor_run_once(r, 1000);
    assert_true(ran == 1 || ran == 2);
    int other = 1 - d.first;
    /* Whether its callback came in this batch or comes in a later one, the
     * owner is told and can unregister; the loop keeps serving the rest. */
    for (int i = 0; i < 5 && reactor_count(r) == 2 && d.calls[other] == 0; i++)
        assert_true(reactor_run_once(r, 100) >= 0);
    if (d.calls[other])
        assert_int_equal(reactor_count(r), 1);
    else
        H_EXPECT(reactor_unregister(r, d.fd[other]), 0); /* epoll/kqueue forgot it with the file */
    d.fd[other] = -1;
    int before = d.calls[d.first];
    H_EXPECT(reactor_run_once(r, 1000), 1);
    assert_int_equal(d.calls[d.first], before + 1);
    duo_close(&d);
}

/* ---- Changes to the callback's own fd ---------------------------------------- */

static void churn_and_close_self(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)events;
    (*(int *)data)++;
    H_EXPECT(reactor_modify(r, fd, REACTOR_READ | REACTOR_WRITE, churn_and_close_self, data), 0);
    H_EXPECT(reactor_unregister(r, fd), 0);
    H_EXPECT(reactor_register(r, fd, REACTOR_READ, churn_and_close_self, data), 0);
    H_EXPECT(reactor_unregister(r, fd), 0);
    close(fd);
}

static void callback_may_modify_reregister_and_close_its_own_fd(void **state)
{
    reactor_t *r = *state;
    int sv[2], calls = 0;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, churn_and_close_self, &calls), 0);
    H_EXPECT(reactor_run(r), 0);
    assert_int_equal(calls, 1);
    assert_int_equal(reactor_count(r), 0);
    close(sv[1]);
}

static void switch_self_to_read(reactor_t *r, int fd, unsigned events, void *data)
{
    int *calls = data;
    (*calls)++;
    if (events & REACTOR_WRITE)
        H_EXPECT(reactor_modify(r, fd, REACTOR_READ, switch_self_to_read, data), 0);
}

static void modify_of_own_fd_applies_from_the_next_wait(void **state)
{
    reactor_t *r = *state;
    int sv[2], calls = 0;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, switch_self_to_read, &calls), 0);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    H_EXPECT(reactor_run_once(r, 50), 0); /* READ only now, nothing to read */
    h_put(sv[1]);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    assert_int_equal(calls, 2);
    h_close_pair(sv);
}

struct spawn {
    int pair[2];
    int new_calls;
};

static void new_cb(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r, (void)fd, (void)events;
    ((struct spawn *)data)->new_calls++;
}

static void register_a_new_fd(reactor_t *r, int fd, unsigned events, void *data)
{
    struct spawn *s = data;
    (void)events;
    H_EXPECT(reactor_unregister(r, fd), 0);
    h_pair(s->pair);
    H_EXPECT(reactor_register(r, s->pair[0], REACTOR_WRITE, new_cb, s), 0);
}

static void fd_registered_in_a_callback_is_served_from_the_next_iteration(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    struct spawn s = {{-1, -1}, 0};
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, register_a_new_fd, &s), 0);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    assert_int_equal(s.new_calls, 0);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    assert_int_equal(s.new_calls, 1);
    h_close_pair(s.pair);
    h_close_pair(sv);
}

struct flood {
    int base;           /* where the new fds are placed: beyond the reactor's tables */
    int pair[2];        /* the file they all name */
    int n, calls;       /* how many were registered, and callbacks they got */
    int flooder_called; /* callbacks of the fds that did the flooding */
};

static void flood_counter(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r, (void)fd, (void)events;
    ((struct flood *)data)->calls++;
}

/* The first callback registers many fds on high numbers: the fd table and the
 * event arrays grow under the batch that is being dispatched. */
static void flood(reactor_t *r, int fd, unsigned events, void *data)
{
    struct flood *f = data;
    (void)fd, (void)events;
    if (f->flooder_called++)
        return;
    for (int i = 0; i < f->n; i++) {
        int num = f->base + i;
        assert_int_equal(dup2(f->pair[0], num), num);
        H_EXPECT(reactor_register(r, num, REACTOR_WRITE, flood_counter, f), 0);
    }
}

static void registrations_that_grow_the_tables_during_a_batch_are_safe(void **state)
{
    reactor_t *r = *state;
    enum { READY = 8 };
    struct flood f = {.base = 900, .n = 100};
    if (h_raise_nofile() < (rlim_t)(f.base + f.n + 10)) {
        printf("# RLIMIT_NOFILE hard limit too low to open fd %d: skipped\n", f.base + f.n);
        skip();
    }
    int sv[READY][2];
    h_pair(f.pair);
    for (int i = 0; i < READY; i++) {
        h_pair(sv[i]);
        H_EXPECT(reactor_register(r, sv[i][0], REACTOR_WRITE, flood, &f), 0);
    }
    H_EXPECT(reactor_run_once(r, 1000), READY); /* every ready fd of the batch still served */
    assert_int_equal(f.flooder_called, READY);
    assert_int_equal(f.calls, 0); /* the new ones wait for the next iteration */
    H_EXPECT(reactor_run_once(r, 1000), READY + f.n);
    assert_int_equal(f.calls, f.n);
    for (int i = 0; i < f.n; i++) {
        H_EXPECT(reactor_unregister(r, f.base + i), 0);
        close(f.base + i);
    }
    for (int i = 0; i < READY; i++)
        h_close_pair(sv[i]);
    h_close_pair(f.pair);
}

/* ---- Files the reactor can no longer name (epoll keeps them in its set) -------- */

/* How the owner gives up an fd whose file a dup keeps open. */
enum giving_up {
    CLOSE_THEN_UNREGISTER,
    UNREGISTER_THEN_CLOSE,
    PAUSE_THEN_CLOSE, /* the owner's mistake; it unregisters only after the waits */
};

/*
 * Registers an fd for `events` beside another, keeps its file open with a
 * dup, gives the fd up in the order `how` and makes the file readable. The
 * file's readiness must reach nobody, the wait must block rather than spin,
 * and the other fd is still served.
 */
static void check_dup_kept_file_reaches_nobody(reactor_t *r, unsigned events, enum giving_up how)
{
    int sv[2], other[2];
    h_pair(sv);
    h_pair(other);
    H_EXPECT(reactor_register(r, sv[0], events, NULL, NULL), 0);
    H_EXPECT(reactor_register(r, other[0], REACTOR_READ, NULL, NULL), 0);
    int keep = dup(sv[0]);
    switch (how) {
    case CLOSE_THEN_UNREGISTER:
        close(sv[0]);
        H_EXPECT(reactor_unregister(r, sv[0]), 0);
        break;
    case UNREGISTER_THEN_CLOSE:
        H_EXPECT(reactor_unregister(r, sv[0]), 0);
        close(sv[0]);
        break;
    case PAUSE_THEN_CLOSE:
        H_EXPECT(reactor_modify(r, sv[0], 0, NULL, NULL), 0);
        close(sv[0]);
        break;
    }
    h_put(sv[1]); /* the kept file becomes readable (and a socket is always writable) */
    h_assert_waits_quietly(r, 3);
    if (how == PAUSE_THEN_CLOSE)
        H_EXPECT(reactor_unregister(r, sv[0]), 0);
    h_put(other[1]);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].fd, other[0]);
    close(keep);
    close(sv[1]);
    h_close_pair(other);
}

/*
 * An fd closed and unregistered while a dup keeps its file open: epoll keeps
 * the file in its set under a number we can no longer name. Its readiness
 * must reach nobody, and the wait must block rather than spin.
 */
static void dup_kept_file_of_an_unregistered_fd_is_not_delivered(void **state)
{
    check_dup_kept_file_reaches_nobody(*state, REACTOR_READ, CLOSE_THEN_UNREGISTER);
}

static void file_kept_open_by_a_dup_does_not_wake_the_new_owner_of_its_number(void **state)
{
    reactor_t *r = *state;
    int old[2], fresh[2];
    int calls = 0;
    h_pair(old);
    H_EXPECT(reactor_register(r, old[0], REACTOR_READ, NULL, &calls), 0);
    int num = old[0];
    int keep = dup(num);
    close(num); /* not unregistered: the owner is careless */
    H_EXPECT(reactor_unregister(r, num), 0);
    h_pair(fresh);
    assert_int_equal(dup2(fresh[0], num), num);
    H_EXPECT(reactor_register(r, num, REACTOR_READ, NULL, &fresh), 0);
    h_put(old[1]); /* the old file, under no number we registered, becomes readable */
    reactor_event_t ev[4];
    int n = h_select(r, 50, ev, 4);
    if (n)
        fail_msg("fd %d reported, but only the file it no longer names is readable", num);
    h_assert_waits_quietly(r, 3);
    h_put(fresh[1]);
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_ptr_equal(ev[0].data, &fresh);
    close(keep);
    close(old[1]);
    h_close_pair(fresh);
}

/*
 * A rebuild of the kernel set (epoll: a file kept open by a dup keeps
 * reporting under an unregistered number) keeps reactor_backend_fd()'s
 * number, so a program that nests the reactor in its own loop keeps polling
 * the right descriptor, and that descriptor still wakes for ready fds.
 */
static void a_rebuild_keeps_the_backend_fd_number(void **state)
{
    reactor_t *r = *state;
    int gone[2], live[2];
    h_pair(gone);
    h_pair(live);
    H_EXPECT(reactor_register(r, live[0], REACTOR_READ, NULL, NULL), 0);
    H_EXPECT(reactor_register(r, gone[0], REACTOR_READ, NULL, NULL), 0);
    struct h_backend b = h_backend_snap(r);
    int keep = fcntl(gone[0], F_DUPFD_CLOEXEC, 0);
    close(gone[0]);
    H_EXPECT(reactor_unregister(r, gone[0]), 0);
    h_put(gone[1]); /* reported under a number nobody registered: the set is rebuilt */
    h_assert_waits_quietly(r, 3);
    h_check_backend(r, b, h_is("epoll") ? 1 : -1, "a rebuild");
    if (b.number >= 0) {
        h_put(live[1]);
        struct pollfd p = {.fd = b.number, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 1000), 1);
        reactor_event_t ev[2];
        H_EXPECT(reactor_select(r, 0, ev, 2), 1);
        assert_int_equal(ev[0].fd, live[0]);
    }
    H_EXPECT(reactor_unregister(r, live[0]), 0);
    close(keep);
    close(gone[1]);
    h_close_pair(live);
}

/* ---- Between two reactor_select() calls --------------------------------------- */

/* An fd left out of a full result and then unregistered is not reported later. */
static void select_never_reports_a_registration_removed_since_the_last_call(void **state)
{
    reactor_t *r = *state;
    int a[2], b[2], fresh[2];
    h_pair(a);
    h_pair(b);
    h_put(a[1]);
    h_put(b[1]);
    H_EXPECT(reactor_register(r, a[0], REACTOR_READ, NULL, &a), 0);
    H_EXPECT(reactor_register(r, b[0], REACTOR_READ, NULL, &b), 0);
    reactor_event_t ev[2];
    H_EXPECT(reactor_select(r, 1000, ev, 1), 1);
    int left = ev[0].fd == a[0] ? b[0] : a[0];
    /* The one left out: unregister it, and put a quiet file on its number. */
    H_EXPECT(reactor_unregister(r, left), 0);
    h_pair(fresh);
    assert_int_equal(dup2(fresh[0], left), left);
    H_EXPECT(reactor_register(r, left, REACTOR_READ, NULL, &fresh), 0);
    int n = h_select(r, 50, ev, 2);
    const reactor_event_t *e = h_find(ev, n, left);
    if (e)
        fail_msg("fd %d reported (data %p) although its new file has nothing to read", left,
                 e->data);
    h_close_pair(a);
    h_close_pair(b);
    h_close_pair(fresh);
}

static void count_cb(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r, (void)fd, (void)events;
    ++*(int *)data;
}

/*
 * A registered number replaced with dup2 while the old file lives on in a
 * dup, then modified: epoll(7) keys its set by (number, file), so the modify
 * adds the new file beside the old one, both under the same registration.
 * Found by the API fuzzer: both entries were reported, and the fd's callback
 * ran twice in one dispatch.
 */
static void number_replaced_by_dup2_then_modified_gets_one_callback_per_wait(void **state)
{
    reactor_t *r = *state;
    int a[2], b[2], calls = 0;
    h_pair(a);
    h_pair(b);
    H_EXPECT(reactor_register(r, a[0], REACTOR_WRITE, count_cb, &calls), 0);
    H_EXPECT(reactor_run_once(r, 1000), 1);
    int keep = dup(a[0]); /* the old file stays open, and stays in epoll's set */
    assert_true(keep >= 0);
    assert_int_equal(dup2(b[0], a[0]), a[0]);
    H_EXPECT(reactor_modify(r, a[0], REACTOR_READ | REACTOR_WRITE, count_cb, &calls), 0);
    for (int i = 0; i < 3; i++) {
        calls = 0;
        int ran = reactor_run_once(r, 1000);
        if (calls != 1 || ran != 1)
            fail_msg("wait %d: %d callbacks for one fd (run_once returned %d)", i, calls, ran);
    }
    H_EXPECT(reactor_unregister(r, a[0]), 0);
    close(keep);
    h_close_pair(a);
    h_close_pair(b);
}

/*
 * The owner's order this time: unregister, then close, while a dup keeps the
 * file open. Whenever the backend removes the registration (at once, or in
 * the next wait), the file's readiness must reach nobody and the wait must
 * block rather than spin.
 */
static void unregister_then_close_with_a_live_dup_delivers_nothing(void **state)
{
    check_dup_kept_file_reaches_nobody(*state, REACTOR_READ | REACTOR_WRITE, UNREGISTER_THEN_CLOSE);
}

/*
 * A paused fd closed without being unregistered (the owner's mistake) while
 * a dup keeps its file open: the pause reaches the kernel only at the next
 * wait, where the number is gone, so epoll keeps the entry. Its reports must
 * reach nobody and the wait must block, not spin; the fd can still be
 * unregistered.
 */
static void paused_then_closed_with_a_live_dup_delivers_nothing(void **state)
{
    check_dup_kept_file_reaches_nobody(*state, REACTOR_READ, PAUSE_THEN_CLOSE);
}

/*
 * Unregister, close, and a new file under the same number registered before
 * any wait: the new file is served, and the old one (kept by a dup) is not.
 */
static void number_unregistered_closed_and_reused_serves_only_the_new_file(void **state)
{
    reactor_t *r = *state;
    int old[2], fresh[2], tag;
    h_pair(old);
    h_pair(fresh);
    int num = old[0];
    H_EXPECT(reactor_register(r, num, REACTOR_READ, NULL, NULL), 0);
    int keep = dup(num);
    H_EXPECT(reactor_unregister(r, num), 0);
    assert_int_equal(dup2(fresh[0], num), num); /* closes the old file's number, reuses it */
    H_EXPECT(reactor_register(r, num, REACTOR_READ, NULL, &tag), 0);
    h_put(old[1]);
    h_assert_waits_quietly(r, 2);
    h_put(fresh[1]);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].fd, num);
    assert_ptr_equal(ev[0].data, &tag);
    H_EXPECT(reactor_unregister(r, num), 0);
    close(keep);
    close(old[1]);
    h_close_pair(fresh);
}

/*
 * Unregister and register the same fd again before a wait, with other
 * events and data: only the new registration is served, and after a later
 * unregister nothing is.
 */
static void unregister_and_register_again_before_a_wait_serves_the_new_registration(void **state)
{
    reactor_t *r = *state;
    int sv[2], tag;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, &tag), 0);
    h_assert_waits_quietly(r, 1); /* writable, but WRITE is no longer asked for */
    h_put(sv[1]);
    reactor_event_t ev[4];
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_int_equal(ev[0].events, REACTOR_READ);
    assert_ptr_equal(ev[0].data, &tag);
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    h_assert_waits_quietly(r, 1);
    h_close_pair(sv);
}

/*
 * An fd unregistered while its owner keeps it open (to hand it to another
 * loop, say), which turns readable and hangs up before or after the
 * unregister, or after a pause that reached the kernel and then the
 * unregister: nobody is told, the wait blocks, and the set is not rebuilt.
 * Registered again, the same file is served at once. (epoll parks a paused
 * entry, and an unregister leaves it so; it may report the hang-up once more
 * under a tag no registration has: dropped, not taken for a file the reactor
 * cannot name.)
 */
static void unregistered_fd_kept_open_is_not_delivered_nor_rebuilt(void **state)
{
    reactor_t *r = *state;
    enum { HUP_FIRST, UNREGISTER_FIRST, PAUSED_FIRST };
    for (int order = HUP_FIRST; order <= PAUSED_FIRST; order++) {
        int sv[2], tag;
        h_pair(sv);
        H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_WRITE, NULL, NULL), 0);
        struct h_backend bfd = h_backend_snap(r);
        if (order == PAUSED_FIRST) {
            H_EXPECT(reactor_modify(r, sv[0], 0, NULL, NULL), 0);
            h_assert_waits_quietly(r, 0); /* the pause reaches the kernel */
        }
        if (order == HUP_FIRST) {
            h_put(sv[1]);
            close(sv[1]);
        }
        H_EXPECT(reactor_unregister(r, sv[0]), 0);
        if (order != HUP_FIRST) {
            h_put(sv[1]);
            close(sv[1]);
        }
        h_assert_waits_quietly(r, 2);
        h_assert_not_rebuilt(r, bfd, "waits with an unregistered fd hung up");
        H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, &tag), 0);
        reactor_event_t ev[4];
        H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
        assert_int_equal(ev[0].fd, sv[0]);
        assert_int_equal(ev[0].events, REACTOR_READ);
        assert_ptr_equal(ev[0].data, &tag);
        H_EXPECT(reactor_unregister(r, sv[0]), 0);
        close(sv[0]);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
    const struct CMUnitTest tests[] = {
        T(stale_event_never_reaches_a_new_registration),
        T(stale_event_never_reaches_the_same_file_registered_again),
        T(stale_event_of_the_same_batch_does_not_rebuild_the_backend),
        T(unregister_of_another_ready_fd_cancels_its_callback),
        T(unregister_and_close_of_another_ready_fd_cancels_its_callback),
        T(modify_of_another_ready_fd_applies_within_the_batch),
        T(data_changed_by_an_earlier_callback_reaches_the_later_one),
        T(closing_another_ready_fd_without_unregistering_does_not_break_the_batch),
        T(callback_may_modify_reregister_and_close_its_own_fd),
        T(modify_of_own_fd_applies_from_the_next_wait),
        T(fd_registered_in_a_callback_is_served_from_the_next_iteration),
        T(registrations_that_grow_the_tables_during_a_batch_are_safe),
        T(dup_kept_file_of_an_unregistered_fd_is_not_delivered),
        T(file_kept_open_by_a_dup_does_not_wake_the_new_owner_of_its_number),
        T(a_rebuild_keeps_the_backend_fd_number),
        T(select_never_reports_a_registration_removed_since_the_last_call),
        T(number_replaced_by_dup2_then_modified_gets_one_callback_per_wait),
        T(unregister_then_close_with_a_live_dup_delivers_nothing),
        T(paused_then_closed_with_a_live_dup_delivers_nothing),
        T(number_unregistered_closed_and_reused_serves_only_the_new_file),
        T(unregister_and_register_again_before_a_wait_serves_the_new_registration),
        T(unregistered_fd_kept_open_is_not_delivered_nor_rebuilt),
    };
    return H_RUN(tests);
}
