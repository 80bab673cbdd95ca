/*
 * test_register.c - creating reactors and the rules of register, modify,
 * unregister and get, on the backend named by RX_TEST_BACKEND.
 */
#include <stdio.h>
#include <sys/select.h>
#include <sys/stat.h>

#include "harness.h"

static void new_honours_reactor_backend_env(void **state)
{
    (void)state;
    const char *want = h_backend();
    if (!want)
        skip();
    setenv("REACTOR_BACKEND", want, 1);
    reactor_t *r = reactor_new(NULL);
    unsetenv("REACTOR_BACKEND");
    assert_non_null(r);
    assert_string_equal(reactor_backend(r), want);
    reactor_free(r);
}

static void new_without_env_picks_the_best_backend(void **state)
{
    (void)state;
    unsetenv("REACTOR_BACKEND");
    reactor_t *r = reactor_new(NULL);
    assert_non_null(r);
    assert_string_equal(reactor_backend(r), reactor_backends()[0]);
    reactor_free(r);
}

static void new_with_unknown_name_fails_with_enoent(void **state)
{
    (void)state;
    errno = 0;
    assert_null(reactor_new("no-such-backend"));
    assert_int_equal(errno, ENOENT);
}

static void new_with_a_known_but_absent_backend_fails_with_enotsup(void **state)
{
    (void)state;
    const char *known[] = {"epoll", "kqueue", "poll", "select"};
    for (size_t i = 0; i < 4; i++) {
        int compiled = 0;
        for (const char *const *b = reactor_backends(); *b; b++)
            compiled |= strcmp(*b, known[i]) == 0;
        if (compiled)
            continue;
        errno = 0;
        assert_null(reactor_new(known[i]));
        assert_int_equal(errno, ENOTSUP);
    }
}

static void backends_list_is_best_first_and_null_terminated(void **state)
{
    (void)state;
    const char *order[] = {"epoll", "kqueue", "poll", "select"};
    const char *const *b = reactor_backends();
    size_t next = 0, n = 0;
    for (; b[n]; n++) {
        while (next < 4 && strcmp(order[next], b[n]) != 0)
            next++;
        assert_true(next < 4); /* known, and in best-first order */
    }
    assert_true(n >= 1);
}

static void backend_fd_is_kernel_fd_or_enotsup(void **state)
{
    reactor_t *r = *state;
    int fd = reactor_backend_fd(r);
    if (h_is("poll") || h_is("select")) {
        assert_int_equal(fd, -ENOTSUP);
    } else {
        assert_true(fd >= 0);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    }
}

/* Every fd the reactor opens (kernel object, wakeup, ...) is close-on-exec. */
static void internal_fds_are_close_on_exec(void **state)
{
    (void)state;
    char before[4096] = {0};
    int nfds = 0;
    for (int fd = 0; fd < (int)sizeof before; fd++)
        before[fd] = fcntl(fd, F_GETFD) >= 0;
    reactor_t *r = reactor_new(h_backend());
    assert_non_null(r);
    for (int fd = 0; fd < (int)sizeof before; fd++) {
        if (before[fd] || fcntl(fd, F_GETFD) < 0)
            continue;
        nfds++;
        if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
            fail_msg("fd %d opened by reactor_new is not close-on-exec", fd);
    }
    assert_true(nfds >= 1);
    reactor_free(r);
}

static void register_rejects_bad_arguments_with_einval(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    assert_int_equal(reactor_register(r, -1, REACTOR_READ, NULL, NULL), -EINVAL);
    assert_int_equal(reactor_register(r, sv[0], 0, NULL, NULL), -EINVAL);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_ONESHOT, NULL, NULL), -EINVAL);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ | 0x100u, NULL, NULL), -EINVAL);
    assert_int_equal(reactor_get(r, sv[0], NULL, NULL, NULL), -ENOENT);
    assert_int_equal(reactor_modify(r, -1, REACTOR_READ, NULL, NULL), -EINVAL);
    assert_int_equal(reactor_unregister(r, -1), -EINVAL);
    assert_int_equal(reactor_get(r, -1, NULL, NULL, NULL), -EINVAL);
    h_close_pair(sv);
}

static void register_twice_fails_with_eexist(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_WRITE, NULL, NULL), -EEXIST);
    unsigned ev = 0;
    assert_int_equal(reactor_get(r, sv[0], &ev, NULL, NULL), 0);
    assert_int_equal(ev, REACTOR_READ); /* the first registration is untouched */
    h_close_pair(sv);
}

static void register_closed_fd_fails_with_ebadf_and_leaves_no_trace(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    int fd = sv[0];
    close(fd);
    assert_int_equal(reactor_register(r, fd, REACTOR_READ, NULL, NULL), -EBADF);
    assert_int_equal(reactor_get(r, fd, NULL, NULL, NULL), -ENOENT);
    assert_int_equal(reactor_count(r), 0);
    /* The number, open again, registers normally. */
    int again = dup2(sv[1], fd);
    assert_int_equal(again, fd);
    assert_int_equal(reactor_register(r, fd, REACTOR_READ, NULL, NULL), 0);
    assert_int_equal(reactor_unregister(r, fd), 0);
    close(fd);
    close(sv[1]);
}

static void register_regular_file_eperm_on_epoll_only(void **state)
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
        assert_int_equal(rc, -EPERM);
        assert_int_equal(reactor_get(r, fd, NULL, NULL, NULL), -ENOENT);
    } else {
        /* poll, select and kqueue report regular files as always readable. */
        assert_int_equal(rc, 0);
        reactor_event_t ev[2];
        assert_int_equal(reactor_select(r, 1000, ev, 2), 1);
        assert_int_equal(ev[0].fd, fd);
        assert_int_equal(reactor_unregister(r, fd), 0);
    }
    close(fd);
}

static void register_edge_is_enotsup_without_edge_mode(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    int rc = reactor_register(r, sv[0], REACTOR_READ | REACTOR_EDGE, NULL, NULL);
    if (h_has_edge()) {
        assert_int_equal(rc, 0);
    } else {
        assert_int_equal(rc, -ENOTSUP);
        assert_int_equal(reactor_get(r, sv[0], NULL, NULL, NULL), -ENOENT);
        assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
        assert_int_equal(reactor_modify(r, sv[0], REACTOR_READ | REACTOR_EDGE, NULL, NULL),
                         -ENOTSUP);
    }
    h_close_pair(sv);
}

static void select_backend_refuses_fd_beyond_fd_setsize(void **state)
{
    reactor_t *r = *state;
    if (h_raise_nofile() <= FD_SETSIZE + 10)
        skip();
    int sv[2];
    h_pair(sv);
    int big = dup2(sv[0], FD_SETSIZE + 5);
    assert_int_equal(big, FD_SETSIZE + 5);
    int rc = reactor_register(r, big, REACTOR_READ, NULL, NULL);
    if (h_is("select")) {
        assert_int_equal(rc, -ERANGE);
        assert_int_equal(reactor_get(r, big, NULL, NULL, NULL), -ENOENT);
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(write(sv[1], "x", 1), 1);
        reactor_event_t ev[2];
        assert_int_equal(reactor_select(r, 1000, ev, 2), 1);
        assert_int_equal(ev[0].fd, big);
        assert_int_equal(reactor_unregister(r, big), 0);
    }
    close(big);
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
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, noop_cb, &tag1), 0);
    unsigned ev;
    reactor_cb cb;
    void *data;
    assert_int_equal(reactor_get(r, sv[0], &ev, &cb, &data), 0);
    assert_int_equal(ev, REACTOR_READ);
    assert_ptr_equal(cb, noop_cb);
    assert_ptr_equal(data, &tag1);
    assert_int_equal(reactor_modify(r, sv[0], REACTOR_READ | REACTOR_WRITE, NULL, &tag2), 0);
    assert_int_equal(reactor_get(r, sv[0], &ev, &cb, &data), 0);
    assert_int_equal(ev, REACTOR_READ | REACTOR_WRITE);
    assert_null(cb);
    assert_ptr_equal(data, &tag2);
    assert_int_equal(reactor_count(r), 1);
    h_close_pair(sv);
}

static void modify_and_unregister_unknown_fd_fail_with_enoent(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    assert_int_equal(reactor_modify(r, sv[0], REACTOR_READ, NULL, NULL), -ENOENT);
    assert_int_equal(reactor_unregister(r, sv[0]), -ENOENT);
    assert_int_equal(reactor_unregister(r, 100000), -ENOENT);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    assert_int_equal(reactor_unregister(r, sv[0]), 0);
    assert_int_equal(reactor_unregister(r, sv[0]), -ENOENT);
    h_close_pair(sv);
}

static void modify_of_data_only_takes_effect(void **state)
{
    reactor_t *r = *state;
    int sv[2], a, b;
    h_pair(sv);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_WRITE, NULL, &a), 0);
    assert_int_equal(reactor_modify(r, sv[0], REACTOR_WRITE, NULL, &b), 0);
    reactor_event_t ev[2];
    assert_int_equal(reactor_select(r, 1000, ev, 2), 1);
    assert_ptr_equal(ev[0].data, &b);
    h_close_pair(sv);
}

static void unregister_succeeds_after_close(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    h_pair(sv);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    close(sv[0]);
    assert_int_equal(reactor_unregister(r, sv[0]), 0);
    assert_int_equal(reactor_count(r), 0);
    close(sv[1]);
}

static void unregister_succeeds_after_dup2_reuse(void **state)
{
    reactor_t *r = *state;
    int a[2], b[2];
    h_pair(a);
    h_pair(b);
    assert_int_equal(reactor_register(r, a[0], REACTOR_READ, NULL, NULL), 0);
    assert_int_equal(dup2(b[0], a[0]), a[0]); /* a[0] now names b's socket */
    assert_int_equal(reactor_unregister(r, a[0]), 0);
    /* The reused number can be registered and works. */
    assert_int_equal(reactor_register(r, a[0], REACTOR_READ, NULL, NULL), 0);
    assert_int_equal(write(b[1], "x", 1), 1);
    reactor_event_t ev[2];
    assert_int_equal(reactor_select(r, 1000, ev, 2), 1);
    assert_int_equal(ev[0].fd, a[0]);
    h_close_pair(a);
    h_close_pair(b);
}

static void many_reactors_coexist_in_one_thread(void **state)
{
    (void)state;
    reactor_t *rs[8];
    int sv[8][2];
    for (int i = 0; i < 8; i++) {
        rs[i] = reactor_new(h_backend());
        assert_non_null(rs[i]);
        h_pair(sv[i]);
        assert_int_equal(reactor_register(rs[i], sv[i][0], REACTOR_READ, NULL, NULL), 0);
    }
    assert_int_equal(write(sv[3][1], "x", 1), 1);
    reactor_event_t ev[2];
    for (int i = 0; i < 8; i++) {
        int n = reactor_select(rs[i], 0, ev, 2);
        assert_int_equal(n, i == 3 ? 1 : 0);
    }
    for (int i = 0; i < 8; i++) {
        reactor_free(rs[i]);
        h_close_pair(sv[i]);
    }
}

static void strerror_names_errors(void **state)
{
    (void)state;
    assert_non_null(strstr(reactor_strerror(-EINVAL), "EINVAL"));
    assert_non_null(strstr(reactor_strerror(ENOTSUP), "ENOTSUP"));
    assert_non_null(strstr(reactor_strerror(-ERANGE), "ERANGE"));
    assert_non_null(reactor_strerror(-123456));
    assert_int_equal(reactor_version(), REACTOR_VERSION_MAJOR * 10000 +
                                            REACTOR_VERSION_MINOR * 100 + REACTOR_VERSION_PATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_honours_reactor_backend_env),
        cmocka_unit_test(new_without_env_picks_the_best_backend),
        cmocka_unit_test(new_with_unknown_name_fails_with_enoent),
        cmocka_unit_test(new_with_a_known_but_absent_backend_fails_with_enotsup),
        cmocka_unit_test(backends_list_is_best_first_and_null_terminated),
        cmocka_unit_test_setup_teardown(backend_fd_is_kernel_fd_or_enotsup, h_setup, h_teardown),
        cmocka_unit_test(internal_fds_are_close_on_exec),
        cmocka_unit_test_setup_teardown(register_rejects_bad_arguments_with_einval, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(register_twice_fails_with_eexist, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(register_closed_fd_fails_with_ebadf_and_leaves_no_trace,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(register_regular_file_eperm_on_epoll_only, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(register_edge_is_enotsup_without_edge_mode, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(select_backend_refuses_fd_beyond_fd_setsize, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(get_returns_what_was_registered_and_modified, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(modify_and_unregister_unknown_fd_fail_with_enoent, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(modify_of_data_only_takes_effect, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(unregister_succeeds_after_close, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(unregister_succeeds_after_dup2_reuse, h_setup, h_teardown),
        cmocka_unit_test(many_reactors_coexist_in_one_thread),
        cmocka_unit_test(strerror_names_errors),
    };
    return cmocka_run_group_tests_name(h_backend() ? h_backend() : "default", tests, NULL, NULL);
}
