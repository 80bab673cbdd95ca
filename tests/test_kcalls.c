/*
 * test_kcalls.c - what reaches the kernel, and when: registrations and
 * removals at once; modifies (pauses included) deferred to the next wait,
 * several changes to one fd costing at most one kernel call, and a change of
 * callback or data only costing none.
 *
 * The kernel calls are counted by wrapping them at link time (GNU ld
 * --wrap=SYMBOL, see CMakeLists.txt): epoll_ctl and epoll_wait for the epoll
 * backend, kevent for the kqueue backend (through the test-only emulation,
 * which is where kevent() lives on Linux), syscall(SYS_io_uring_enter) for
 * the io_uring backend, whose changes are the SQEs each call submits. poll and select keep their
 * sets in user space, so there is nothing to count there and this program is built for epoll and
 * kqueue only.
 */
#include "harness.h"

static int kcalls;   /* kernel calls made by the backend */
static int kchanges; /* kqueue: changes sent to the kernel (an epoll_ctl is one) */

#if defined(RX_KCALLS_EPOLL)
#include <sys/epoll.h>

int __real_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
int __real_epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout);
int __wrap_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
int __wrap_epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout);

/* Successful epoll_ctl calls by operation (EPOLL_CTL_ADD, _DEL and _MOD are 1, 2, 3). */
static int kdone[4];

int __wrap_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    kcalls++;
    kchanges++;
    int rc = __real_epoll_ctl(epfd, op, fd, ev);
    if (rc == 0 && op >= 0 && op < 4)
        kdone[op]++;
    return rc;
}

int __wrap_epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
    kcalls++;
    return __real_epoll_wait(epfd, evs, max, timeout);
}
#elif defined(RX_KCALLS_KQUEUE)
#include <sys/event.h>

int __real_kevent(int kq, const struct kevent *ch, int nch, struct kevent *ev, int nev,
                  const struct timespec *ts);
int __wrap_kevent(int kq, const struct kevent *ch, int nch, struct kevent *ev, int nev,
                  const struct timespec *ts);

int __wrap_kevent(int kq, const struct kevent *ch, int nch, struct kevent *ev, int nev,
                  const struct timespec *ts)
{
    kcalls++;
    kchanges += nch;
    return __real_kevent(kq, ch, nch, ev, nev, ts);
}
#elif defined(RX_KCALLS_IO_URING)
#include "h_syscall.h"

long __wrap_syscall(long n, ...)
{
    va_list ap;
    if (n == SYS_io_uring_enter) {
        va_start(ap, n);
        (void)va_arg(ap, long); /* the ring fd */
        kcalls++;
        kchanges += (int)(unsigned)va_arg(ap, long); /* to_submit */
        va_end(ap);
    }
    va_start(ap, n);
    long rc = h_forward_syscall(n, ap);
    va_end(ap);
    return rc;
}
#else
#error "build with RX_KCALLS_EPOLL, RX_KCALLS_KQUEUE or RX_KCALLS_IO_URING"
#endif

/* Kernel calls and changes made by one reactor_select(r, 0, ...). */
struct cost {
    int calls, changes;
};

static struct cost select_cost(reactor_t *r)
{
    reactor_event_t ev[8];
    int c0 = kcalls, ch0 = kchanges;
    h_select(r, 0, ev, 8);
    return (struct cost){kcalls - c0, kchanges - ch0};
}

/* The cost of a wait with nothing to change: what every other cost is measured against. */
static struct cost idle_cost(reactor_t *r)
{
    select_cost(r); /* flush whatever is pending */
    struct cost c = select_cost(r);
    assert_int_equal(c.changes, 0);
    return c;
}

/* The next wait must cost what an idle wait costs: no change, no extra call. */
static void assert_next_wait_is_idle(reactor_t *r, struct cost idle, const char *after)
{
    struct cost c = select_cost(r);
    if (c.calls != idle.calls || c.changes != 0)
        fail_msg("the wait after %s made %d calls with %d changes; an idle wait makes %d calls",
                 after, c.calls, c.changes, idle.calls);
}

/* The backend whose kernel calls this build counts. */
#if defined(RX_KCALLS_EPOLL)
#define COUNTED "epoll"
#elif defined(RX_KCALLS_IO_URING)
#define COUNTED "io_uring"
#else
#define COUNTED "kqueue"
#endif

static void register_reaches_the_kernel_at_once(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    int before = kchanges;
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ | REACTOR_WRITE, NULL, NULL), 0);
    if (kchanges == before)
        fail_msg("reactor_register() returned without telling the kernel");
    h_close_pair(sv);
}

/*
 * ...and once it has returned, the reactor never names the fd to the kernel
 * again. The owner may close it at once, and another thread may get the same
 * number from accept(): a delete deferred to the next wait would then act on
 * a number that is no longer ours. TSan reported exactly that race in
 * reactor-httpd --threads 3 when epoll deferred its deletes (2026-12-03).
 */
static void unregister_reaches_the_kernel_at_once(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    struct cost idle = idle_cost(r);
    int before = kchanges;
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    if (kchanges == before)
        fail_msg("reactor_unregister() returned without telling the kernel");
    close(sv[0]);
    assert_next_wait_is_idle(r, idle, "an unregister and close (naming a closed fd?)");
    close(sv[1]);
}

static void noop_cb(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r, (void)fd, (void)events, (void)data;
}

static void modify_of_cb_or_data_only_makes_no_kernel_call(void **state)
{
    reactor_t *r = *state;
    int sv[2], tag;
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    struct cost idle = idle_cost(r);
    int before = kcalls;
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, noop_cb, &tag), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    assert_int_equal(kcalls, before);
    assert_next_wait_is_idle(r, idle, "modifies of cb/data only");
    h_close_pair(sv);
}

static void modify_of_events_waits_for_the_next_wait(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    idle_cost(r);
    int before = kcalls;
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    assert_int_equal(kcalls, before); /* deferred */
    reactor_event_t ev[2];
    H_EXPECT(reactor_select(r, 1000, ev, 2), 1); /* and applied there */
    assert_int_equal(ev[0].events, REACTOR_WRITE);
    h_close_pair(sv);
}

static void several_modifies_of_one_fd_cost_at_most_one_kernel_call(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    struct cost idle = idle_cost(r);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ | REACTOR_WRITE, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE | REACTOR_ONESHOT, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    struct cost c = select_cost(r);
    if (c.calls > idle.calls + 1)
        fail_msg("four modifies of one fd cost %d kernel calls beyond the wait",
                 c.calls - idle.calls);
    h_close_pair(sv);
}

static void modify_back_to_what_is_armed_costs_nothing(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    struct cost idle = idle_cost(r);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ | REACTOR_WRITE, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    assert_next_wait_is_idle(r, idle, "WRITE switched on and off");
    h_close_pair(sv);
}

static void fired_oneshot_costs_no_kernel_call_to_disarm(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    struct cost idle = idle_cost(r);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE | REACTOR_ONESHOT, NULL, NULL), 0);
    reactor_event_t ev[2];
    H_EXPECT(reactor_select(r, 1000, ev, 2), 1); /* fires; the kernel disarms it itself */
    assert_next_wait_is_idle(r, idle, "a ONESHOT fired");
    /* Re-arming costs at most one call. */
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE | REACTOR_ONESHOT, NULL, NULL), 0);
    int c0 = kcalls;
    H_EXPECT(reactor_select(r, 1000, ev, 2), 1);
    assert_true(kcalls - c0 <= idle.calls + 1);
    h_close_pair(sv);
}

/* A pause and a resume between two waits are a no-op change: no kernel call. */
static void pause_and_resume_between_two_waits_cost_nothing(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    struct cost idle = idle_cost(r);
    int before = kcalls;
    H_EXPECT(reactor_modify(r, sv[0], 0, NULL, NULL), 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    assert_int_equal(kcalls, before);
    assert_next_wait_is_idle(r, idle, "a pause and a resume");
    h_close_pair(sv);
}

/* A pause that reaches a wait costs one change there and nothing after;
 * unregistering the paused fd then costs nothing either: what it left in the
 * kernel (nothing on kqueue, a parked entry on epoll) is armed with nothing. */
static void pause_costs_one_change_at_the_next_wait(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    idle_cost(r);
    int before = kcalls;
    H_EXPECT(reactor_modify(r, sv[0], 0, NULL, NULL), 0);
    assert_int_equal(kcalls, before); /* deferred, like any modify */
    struct cost c = select_cost(r);
    assert_int_equal(c.changes, 1);
    c = select_cost(r);
    assert_int_equal(c.changes, 0);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    c = select_cost(r);
    assert_int_equal(c.changes, 1);
    H_EXPECT(reactor_modify(r, sv[0], 0, NULL, NULL), 0);
    select_cost(r);
    before = kchanges;
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    assert_int_equal(kchanges, before); /* nothing of it was left armed */
    h_close_pair(sv);
}

/*
 * A fired ONESHOT holds nothing armed in the kernel (epoll disabled the whole
 * entry, kqueue deleted the reported filter), so unregistering it needs no
 * kernel call: nothing is left that could report.
 */
static void unregister_of_a_fired_oneshot_costs_no_kernel_call(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE | REACTOR_ONESHOT, NULL, NULL), 0);
    reactor_event_t ev[2];
    H_EXPECT(reactor_select(r, 1000, ev, 2), 1);
    int before = kcalls;
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    assert_int_equal(kcalls, before);
    /* What it left (an inert epoll entry) does not stand in the way of the
     * same file registered again. */
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    H_EXPECT(reactor_select(r, 1000, ev, 2), 1);
    assert_int_equal(ev[0].events, REACTOR_WRITE);
    h_close_pair(sv);
}

#if defined(RX_KCALLS_EPOLL)
/* Successful epoll_ctl calls of each operation since the last reset. */
static void kdone_reset(void)
{
    memset(kdone, 0, sizeof kdone);
}

static void assert_kdone(int add, int del, int mod, const char *what)
{
    if (kdone[EPOLL_CTL_ADD] != add || kdone[EPOLL_CTL_DEL] != del || kdone[EPOLL_CTL_MOD] != mod)
        fail_msg("%s: %d ADD, %d DEL, %d MOD succeeded; expected %d, %d, %d", what,
                 kdone[EPOLL_CTL_ADD], kdone[EPOLL_CTL_DEL], kdone[EPOLL_CTL_MOD], add, del, mod);
}

/*
 * epoll: a pause that reaches a wait parks the entry in place (EPOLL_CTL_MOD)
 * instead of deleting it, and the resume re-arms it: no DEL and no ADD, which
 * cost the kernel a free after an RCU grace period, an allocation and a
 * wait-queue hook (about 1.6 us for the pair here, against 0.65 us for two
 * MODs). A slow peer's flow control pauses and resumes across waits.
 */
static void pause_across_a_wait_neither_deletes_nor_adds(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    idle_cost(r);
    kdone_reset();
    H_EXPECT(reactor_modify(r, sv[0], 0, NULL, NULL), 0);
    select_cost(r);
    H_EXPECT(reactor_modify(r, sv[0], REACTOR_WRITE, NULL, NULL), 0);
    reactor_event_t ev[2];
    H_EXPECT(reactor_select(r, 1000, ev, 2), 1);
    assert_kdone(0, 0, 2, "pause, wait, resume");
    h_close_pair(sv);
}
#endif

int main(void)
{
    if (!h_is(COUNTED)) {
        fprintf(stderr, "this program counts %s calls, but RX_TEST_BACKEND is %s\n", COUNTED,
                h_backend_name());
        return 1;
    }
#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
    const struct CMUnitTest tests[] = {
        T(register_reaches_the_kernel_at_once),
        T(unregister_reaches_the_kernel_at_once),
        T(modify_of_cb_or_data_only_makes_no_kernel_call),
        T(modify_of_events_waits_for_the_next_wait),
        T(several_modifies_of_one_fd_cost_at_most_one_kernel_call),
        T(modify_back_to_what_is_armed_costs_nothing),
        T(fired_oneshot_costs_no_kernel_call_to_disarm),
        T(pause_and_resume_between_two_waits_cost_nothing),
        T(pause_costs_one_change_at_the_next_wait),
        T(unregister_of_a_fired_oneshot_costs_no_kernel_call),
#if defined(RX_KCALLS_EPOLL)
        T(pause_across_a_wait_neither_deletes_nor_adds),
#endif
    };
    return H_RUN(tests);
}
