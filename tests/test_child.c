/*
 * test_child.c - child process watchers: exit statuses, one-shot reaping of
 * the watched pid only, errors, weak watches, and SIGCHLD shared with a
 * program's own signal watch.
 *
 * The whole group runs twice: first with the library's choice (a pidfd on
 * Linux with epoll, poll or select, where the kernel has pidfd_open), then
 * with RX_TEST_NO_PIDFD=1, which makes every reactor created afterwards use
 * the SIGCHLD path. So both paths are tested on Linux; the kqueue backend
 * always takes the SIGCHLD path. A third build (RX_TEST_PIDFD_ENOSYS, below)
 * makes pidfd_open fail with ENOSYS, as on an old kernel or under qemu-user. Every wait is bounded:
 * loops give up after a deadline, and alarm() guards the reactor_run() calls.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* syscall(2), to probe pidfd_open */
#endif
#include <signal.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include "harness.h"

/* 1 while the group runs with RX_TEST_NO_PIDFD set. */
static int g_forced_sigchld;

#ifdef RX_TEST_PIDFD_ENOSYS
/*
 * The kernel without pidfd_open (before 5.3, or qemu-user): this build links
 * with -Wl,--wrap=syscall (tests/services.cmake), so the library's
 * syscall(SYS_pidfd_open) fails with ENOSYS and it must fall back to SIGCHLD.
 */
#include "h_syscall.h"
/*
 * pidfd_open fails before any argument is read; the other calls (the
 * io_uring backend's, on child_enosys.io_uring) are forwarded with the
 * arguments they have (h_syscall.h).
 */
long __wrap_syscall(long n, ...)
{
    if (n == SYS_pidfd_open) {
        errno = ENOSYS;
        return -1;
    }
    va_list ap;
    va_start(ap, n);
    long rc = h_forward_syscall(n, ap);
    va_end(ap);
    return rc;
}
#endif

struct exit_rec {
    int count;
    int pid;
    int status;
};

static void on_exit_cb(reactor_t *r, int pid, int status, void *data)
{
    (void)r;
    struct exit_rec *e = data;
    e->count++;
    e->pid = pid;
    e->status = status;
}

/* A child that exits at once with `code`. */
static pid_t spawn_exit(int code)
{
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0)
        _exit(code);
    return pid;
}

/* A child that exits with `code` once *release is closed (or written to). */
static pid_t spawn_blocked(int code, int *release)
{
    int p[2];
    if (pipe(p) < 0)
        fail_msg("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        char c;
        close(p[1]);
        while (read(p[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(code);
    }
    close(p[0]);
    *release = p[1];
    return pid;
}

/* Waits, without reaping, until `pid` has exited: it is then a zombie. */
static void wait_zombie(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
        if (errno != EINTR)
            fail_msg("waitid(%d, WNOWAIT): %s", (int)pid, strerror(errno));
}

/* Reaps `pid` (blocking); fails unless it is still ours to reap. Returns its status. */
static int reap(pid_t pid)
{
    int status = 0;
    pid_t got;
    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (got != pid)
        fail_msg("waitpid(%d) returned %d (%s): the child was reaped by someone else", (int)pid,
                 (int)got, got < 0 ? strerror(errno) : "?");
    return status;
}

/* Iterates until *count reaches `want` or `ms` pass. */
static void run_until(reactor_t *r, const int *count, int want, unsigned ms)
{
    uint64_t end = h_now_ms() + ms;
    while (*count < want && h_now_ms() < end) {
        int rc = reactor_run_once(r, 50);
        if (rc < 0)
            fail_msg("reactor_run_once: %s", reactor_strerror(rc));
    }
}

/* Iterates for about `ms`, whatever happens. */
static void run_for(reactor_t *r, unsigned ms)
{
    uint64_t end = h_now_ms() + ms;
    while (h_now_ms() < end)
        reactor_run_once(r, 20);
}

static int sigchld_is_default(void)
{
    struct sigaction sa;
    sigaction(SIGCHLD, NULL, &sa);
    return sa.sa_handler == SIG_DFL;
}

/* Whether this reactor should use pidfds: Linux, not kqueue, not forced, and the kernel has them.
 */
static int expect_pidfd(void)
{
#ifdef RX_TEST_PIDFD_ENOSYS
    return 0;
#endif
    if (g_forced_sigchld || h_is("kqueue"))
        return 0;
#if defined(__linux__) && defined(SYS_pidfd_open)
    long fd = syscall(SYS_pidfd_open, getpid(), 0);
    if (fd < 0)
        return 0;
    close((int)fd);
    return 1;
#else
    return 0;
#endif
}

/* ---- Tests ------------------------------------------------------------------ */

static void exit_status_is_delivered_once_and_the_child_is_reaped(void **state)
{
    reactor_t *r = *state;
    struct exit_rec e = {0};
    pid_t pid = spawn_exit(7);
    H_EXPECT(reactor_child_add(r, pid, on_exit_cb, &e), 0);
    run_until(r, &e.count, 1, 5000);
    assert_int_equal(e.count, 1);
    assert_int_equal(e.pid, pid);
    assert_true(WIFEXITED(e.status));
    assert_int_equal(WEXITSTATUS(e.status), 7);
    /* Reaped by the library, and the watch is gone. */
    assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    H_EXPECT(reactor_child_remove(r, pid), -ENOENT);
    run_for(r, 100);
    assert_int_equal(e.count, 1);
}

static void a_child_killed_by_a_signal_reports_it(void **state)
{
    reactor_t *r = *state;
    struct exit_rec e = {0};
    int release;
    pid_t pid = spawn_blocked(0, &release);
    H_EXPECT(reactor_child_add(r, pid, on_exit_cb, &e), 0);
    run_for(r, 50);
    assert_int_equal(e.count, 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    run_until(r, &e.count, 1, 5000);
    close(release);
    assert_int_equal(e.count, 1);
    assert_true(WIFSIGNALED(e.status));
    assert_int_equal(WTERMSIG(e.status), SIGKILL);
}

static void a_child_that_exited_before_add_is_reaped_in_the_next_iteration(void **state)
{
    reactor_t *r = *state;
    struct exit_rec e = {0};
    pid_t pid = spawn_exit(5);
    wait_zombie(pid); /* its SIGCHLD came and went before any watch */
    H_EXPECT(reactor_child_add(r, pid, on_exit_cb, &e), 0);
    uint64_t t0 = h_now_ms();
    int rc = reactor_run_once(r, 3000);
    uint64_t took = h_now_ms() - t0;
    assert_true(rc >= 1);
    assert_int_equal(e.count, 1);
    assert_true(WIFEXITED(e.status));
    assert_int_equal(WEXITSTATUS(e.status), 5);
    if (took > 1000)
        fail_msg("the iteration waited %llu ms for a child that had exited already",
                 (unsigned long long)took);
}

static void two_children_each_get_their_status(void **state)
{
    reactor_t *r = *state;
    struct exit_rec a = {0}, b = {0};
    int release;
    pid_t pa = spawn_exit(1);
    pid_t pb = spawn_blocked(2, &release);
    H_EXPECT(reactor_child_add(r, pa, on_exit_cb, &a), 0);
    H_EXPECT(reactor_child_add(r, pb, on_exit_cb, &b), 0);
    run_until(r, &a.count, 1, 5000);
    assert_int_equal(a.count, 1);
    assert_int_equal(b.count, 0);
    close(release);
    run_until(r, &b.count, 1, 5000);
    assert_int_equal(a.count, 1);
    assert_int_equal(b.count, 1);
    assert_int_equal(a.pid, pa);
    assert_int_equal(b.pid, pb);
    assert_int_equal(WEXITSTATUS(a.status), 1);
    assert_int_equal(WEXITSTATUS(b.status), 2);
}

static void a_removed_watch_neither_calls_back_nor_reaps(void **state)
{
    reactor_t *r = *state;
    struct exit_rec e = {0};
    int release;
    pid_t pid = spawn_blocked(3, &release);
    H_EXPECT(reactor_child_add(r, pid, on_exit_cb, &e), 0);
    H_EXPECT(reactor_child_remove(r, pid), 0);
    H_EXPECT(reactor_child_remove(r, pid), -ENOENT);
    close(release);
    wait_zombie(pid);
    run_for(r, 150);
    assert_int_equal(e.count, 0);
    int status = reap(pid);
    assert_int_equal(WEXITSTATUS(status), 3);
}

static void a_child_nobody_watches_is_never_reaped(void **state)
{
    reactor_t *r = *state;
    struct exit_rec e = {0};
    pid_t other = spawn_exit(9);
    wait_zombie(other);
    pid_t pid = spawn_exit(4);
    H_EXPECT(reactor_child_add(r, pid, on_exit_cb, &e), 0);
    run_until(r, &e.count, 1, 5000);
    assert_int_equal(e.count, 1);
    run_for(r, 100);
    int status = reap(other);
    assert_int_equal(WEXITSTATUS(status), 9);
}

static void errors_are_reported(void **state)
{
    reactor_t *r = *state;
    struct exit_rec e = {0};
    int release;
    pid_t pid = spawn_blocked(0, &release);

    H_EXPECT(reactor_child_add(r, 0, on_exit_cb, &e), -EINVAL);
    H_EXPECT(reactor_child_add(r, -1, on_exit_cb, &e), -EINVAL);
    H_EXPECT(reactor_child_add(r, pid, NULL, &e), -EINVAL);
    H_EXPECT(reactor_child_add(r, 1, on_exit_cb, &e), -ECHILD);
    H_EXPECT(reactor_child_add(r, getpid(), on_exit_cb, &e), -ECHILD);
    H_EXPECT(reactor_child_remove(r, pid), -ENOENT);
    H_EXPECT(reactor_child_remove(r, 0), -ENOENT);
    H_EXPECT(reactor_child_set_weak(r, pid, 1), -ENOENT);
    H_EXPECT(reactor_child_set_weak(r, -3, 1), -ENOENT);

    H_EXPECT(reactor_child_add(r, pid, on_exit_cb, &e), 0);
    H_EXPECT(reactor_child_add(r, pid, on_exit_cb, &e), -EEXIST);
    H_EXPECT(reactor_child_set_weak(r, pid, 1), 0);
    H_EXPECT(reactor_child_set_weak(r, pid, 0), 0);
    H_EXPECT(reactor_child_remove(r, pid), 0);

    /* Reaped already: no longer a child to wait for. */
    pid_t gone = spawn_exit(0);
    reap(gone);
    H_EXPECT(reactor_child_add(r, gone, on_exit_cb, &e), -ECHILD);

    close(release);
    reap(pid);
    assert_int_equal(e.count, 0);
}

static void run_returns_once_the_only_strong_child_exits(void **state)
{
    reactor_t *r = *state;
    struct exit_rec e = {0};
    int release;
    pid_t pid = spawn_blocked(0, &release);
    H_EXPECT(reactor_child_add(r, pid, on_exit_cb, &e), 0);
    assert_int_equal(reactor_count(r), 0); /* an internal registration, if any */
    close(release);                        /* the child exits while the loop runs */
    alarm(20);
    H_EXPECT(reactor_run(r), 0);
    alarm(0);
    assert_int_equal(e.count, 1);
    assert_int_equal(e.pid, pid);
}

static void a_weak_watch_does_not_keep_run_going(void **state)
{
    reactor_t *r = *state;
    struct exit_rec e = {0};
    int release;
    pid_t pid = spawn_blocked(6, &release);
    H_EXPECT(reactor_child_add(r, pid, on_exit_cb, &e), 0);
    H_EXPECT(reactor_child_set_weak(r, pid, 1), 0);
    alarm(20);
    uint64_t t0 = h_now_ms();
    H_EXPECT(reactor_run(r), 0);
    assert_true(h_now_ms() - t0 < 1000);
    assert_int_equal(e.count, 0);

    /* Strong again: run waits for it. */
    H_EXPECT(reactor_child_set_weak(r, pid, 0), 0);
    close(release);
    H_EXPECT(reactor_run(r), 0);
    alarm(0);
    assert_int_equal(e.count, 1);
    assert_int_equal(WEXITSTATUS(e.status), 6);
}

static void a_weak_watch_still_calls_back_while_the_loop_runs(void **state)
{
    reactor_t *r = *state;
    struct exit_rec e = {0};
    pid_t pid = spawn_exit(8);
    H_EXPECT(reactor_child_add(r, pid, on_exit_cb, &e), 0);
    H_EXPECT(reactor_child_set_weak(r, pid, 1), 0);
    run_until(r, &e.count, 1, 5000);
    assert_int_equal(e.count, 1);
    assert_int_equal(WEXITSTATUS(e.status), 8);
}

static void on_sigchld(reactor_t *r, int signo, void *data)
{
    (void)r;
    (void)signo;
    ++*(int *)data;
}

static void a_program_sigchld_watch_still_fires(void **state)
{
    reactor_t *r = *state;
    struct exit_rec e = {0};
    int sigs = 0;
    H_EXPECT(reactor_signal_add(r, SIGCHLD, on_sigchld, &sigs), 0);
    pid_t pid = spawn_exit(2);
    H_EXPECT(reactor_child_add(r, pid, on_exit_cb, &e), 0);
    uint64_t end = h_now_ms() + 5000;
    while ((e.count < 1 || sigs < 1) && h_now_ms() < end)
        reactor_run_once(r, 50);
    assert_int_equal(e.count, 1);
    assert_true(sigs >= 1);
    /* The program's watch outlives the child watch. */
    H_EXPECT(reactor_signal_remove(r, SIGCHLD), 0);
    H_EXPECT(reactor_signal_remove(r, SIGCHLD), -ENOENT);
}

static void a_program_sigchld_remove_keeps_the_child_watch(void **state)
{
    reactor_t *r = *state;
    struct exit_rec e = {0};
    int sigs = 0, release;
    pid_t pid = spawn_blocked(4, &release);
    H_EXPECT(reactor_child_add(r, pid, on_exit_cb, &e), 0);
    H_EXPECT(reactor_signal_add(r, SIGCHLD, on_sigchld, &sigs), 0);
    H_EXPECT(reactor_signal_add(r, SIGCHLD, on_sigchld, &sigs), -EEXIST);
    H_EXPECT(reactor_signal_remove(r, SIGCHLD), 0);
    if (!expect_pidfd())
        assert_false(sigchld_is_default()); /* the child watch's handler stays */
    close(release);
    run_until(r, &e.count, 1, 5000);
    assert_int_equal(e.count, 1);
    assert_int_equal(WEXITSTATUS(e.status), 4);
    assert_int_equal(sigs, 0);
    assert_true(sigchld_is_default()); /* restored once nothing watches SIGCHLD */
}

static void the_expected_path_is_taken(void **state)
{
    reactor_t *r = *state;
    struct exit_rec e = {0};
    int release;
    assert_true(sigchld_is_default());
    pid_t pid = spawn_blocked(0, &release);
    H_EXPECT(reactor_child_add(r, pid, on_exit_cb, &e), 0);
    /* The pidfd path leaves SIGCHLD alone; the other one installs its handler. */
    if (expect_pidfd())
        assert_true(sigchld_is_default());
    else
        assert_false(sigchld_is_default());
    close(release);
    run_until(r, &e.count, 1, 5000);
    assert_int_equal(e.count, 1);
    assert_true(sigchld_is_default());
}

static void free_drops_watches_without_reaping(void **state)
{
    (void)state;
    reactor_t *r = h_new();
    struct exit_rec e = {0};
    int release;
    pid_t pid = spawn_blocked(5, &release);
    pid_t done = spawn_exit(6);
    wait_zombie(done);
    H_EXPECT(reactor_child_add(r, pid, on_exit_cb, &e), 0);
    H_EXPECT(reactor_child_add(r, done, on_exit_cb, &e), 0);
    reactor_free(r);
    assert_true(sigchld_is_default());
    close(release);
    assert_int_equal(WEXITSTATUS(reap(pid)), 5);
    assert_int_equal(WEXITSTATUS(reap(done)), 6);
    assert_int_equal(e.count, 0);
}

/* A callback that removes the other watch: that child must stay unreaped. */
struct pair_rec {
    int count;
    int first;
    int a, b;
};

static void on_exit_remove_other(reactor_t *r, int pid, int status, void *data)
{
    (void)status;
    struct pair_rec *p = data;
    if (p->count++ == 0) {
        p->first = pid;
        H_EXPECT(reactor_child_remove(r, pid == p->a ? p->b : p->a), 0);
    }
}

static void a_callback_may_remove_another_exited_childs_watch(void **state)
{
    reactor_t *r = *state;
    struct pair_rec p = {0};
    p.a = spawn_exit(1);
    p.b = spawn_exit(2);
    wait_zombie(p.a);
    wait_zombie(p.b);
    H_EXPECT(reactor_child_add(r, p.a, on_exit_remove_other, &p), 0);
    H_EXPECT(reactor_child_add(r, p.b, on_exit_remove_other, &p), 0);
    run_until(r, &p.count, 1, 5000);
    run_for(r, 100);
    assert_int_equal(p.count, 1);
    int other = p.first == p.a ? p.b : p.a;
    assert_int_equal(WEXITSTATUS(reap(other)), other == p.a ? 1 : 2);
}

/* A callback that watches a new child: it is reported in a later iteration. */
struct chain_rec {
    int count;
    int next_pid;
    int last_status;
};

static void on_exit_chain(reactor_t *r, int pid, int status, void *data)
{
    (void)pid;
    struct chain_rec *c = data;
    c->count++;
    c->last_status = status;
    if (c->count == 1) {
        c->next_pid = spawn_exit(3);
        wait_zombie(c->next_pid);
        H_EXPECT(reactor_child_add(r, c->next_pid, on_exit_chain, c), 0);
    }
}

static void a_callback_may_add_a_watch(void **state)
{
    reactor_t *r = *state;
    struct chain_rec c = {0};
    H_EXPECT(reactor_child_add(r, spawn_exit(0), on_exit_chain, &c), 0);
    alarm(20);
    H_EXPECT(reactor_run(r), 0);
    alarm(0);
    assert_int_equal(c.count, 2);
    assert_int_equal(WEXITSTATUS(c.last_status), 3);
}

/* In a forked child, reactor_reinit drops the parent's watches. */
static void reinit_in_a_forked_child_drops_the_watches(void **state)
{
    reactor_t *r = *state;
    struct exit_rec e = {0};
    int release;
    pid_t pid = spawn_blocked(7, &release);
    H_EXPECT(reactor_child_add(r, pid, on_exit_cb, &e), 0);
    pid_t forked = fork();
    assert_true(forked >= 0);
    if (forked == 0) {
        int ok = reactor_reinit(r) == 0;
        ok = ok && reactor_child_remove(r, pid) == -ENOENT;
        alarm(5);
        ok = ok && reactor_run(r) == 0; /* nothing keeps it going */
        reactor_free(r);
        _exit(ok ? 0 : 1);
    }
    int status = reap(forked);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* The parent's watch still works. */
    close(release);
    run_until(r, &e.count, 1, 5000);
    assert_int_equal(e.count, 1);
    assert_int_equal(WEXITSTATUS(e.status), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_expected_path_is_taken, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(exit_status_is_delivered_once_and_the_child_is_reaped,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(a_child_killed_by_a_signal_reports_it, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            a_child_that_exited_before_add_is_reaped_in_the_next_iteration, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(two_children_each_get_their_status, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(a_removed_watch_neither_calls_back_nor_reaps, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(a_child_nobody_watches_is_never_reaped, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(errors_are_reported, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(run_returns_once_the_only_strong_child_exits, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(a_weak_watch_does_not_keep_run_going, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(a_weak_watch_still_calls_back_while_the_loop_runs, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(a_program_sigchld_watch_still_fires, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(a_program_sigchld_remove_keeps_the_child_watch, h_setup,
                                        h_teardown),
        cmocka_unit_test(free_drops_watches_without_reaping),
        cmocka_unit_test_setup_teardown(a_callback_may_remove_another_exited_childs_watch, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(a_callback_may_add_a_watch, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(reinit_in_a_forked_child_drops_the_watches, h_setup,
                                        h_teardown),
    };
    char name[64];
    printf("# backend under test: %s\n", h_backend_name());

    /* The library's own choice of path. */
    unsetenv("RX_TEST_NO_PIDFD");
    snprintf(name, sizeof name, "%s.%s", h_backend_name(), expect_pidfd() ? "pidfd" : "sigchld");
    int failed = cmocka_run_group_tests_name(name, tests, NULL, NULL);

    /* The SIGCHLD path, forced (read by reactor_new). */
    setenv("RX_TEST_NO_PIDFD", "1", 1);
    g_forced_sigchld = 1;
    snprintf(name, sizeof name, "%s.sigchld-forced", h_backend_name());
    failed += cmocka_run_group_tests_name(name, tests, NULL, NULL);
    return failed;
}
