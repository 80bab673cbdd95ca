/*
 * test_new.c - creating and destroying reactors: choosing the backend (by
 * name, by REACTOR_BACKEND, best first), the backend's kernel fd, many
 * reactors in one thread, and the error names; on the backend named by
 * RX_TEST_BACKEND.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness.h"

static int compiled_in(const char *name)
{
    for (const char *const *b = reactor_backends(); *b; b++)
        if (strcmp(*b, name) == 0)
            return 1;
    return 0;
}

/* ---- Choosing a backend ------------------------------------------------- */

static void new_with_null_honours_reactor_backend_env(void **state)
{
    (void)state;
    for (const char *const *b = reactor_backends(); *b; b++) {
        setenv("REACTOR_BACKEND", *b, 1);
        reactor_t *r = reactor_new(NULL);
        unsetenv("REACTOR_BACKEND");
        if (!r)
            fail_msg("REACTOR_BACKEND=%s: reactor_new(NULL) failed: %s", *b,
                     reactor_strerror(errno));
        if (strcmp(reactor_backend(r), *b) != 0)
            fail_msg("REACTOR_BACKEND=%s: reactor_new(NULL) chose %s", *b, reactor_backend(r));
        reactor_free(r);
    }
}

static void new_with_null_and_no_env_picks_the_best_backend(void **state)
{
    (void)state;
    unsetenv("REACTOR_BACKEND");
    reactor_t *r = reactor_new(NULL);
    assert_non_null(r);
    assert_string_equal(reactor_backend(r), reactor_backends()[0]);
    reactor_free(r);
}

static void new_with_null_and_empty_env_picks_the_best_backend(void **state)
{
    (void)state;
    setenv("REACTOR_BACKEND", "", 1);
    reactor_t *r = reactor_new(NULL);
    unsetenv("REACTOR_BACKEND");
    assert_non_null(r);
    assert_string_equal(reactor_backend(r), reactor_backends()[0]);
    reactor_free(r);
}

static void new_with_null_and_unknown_env_name_fails_with_enoent(void **state)
{
    (void)state;
    setenv("REACTOR_BACKEND", "no-such-backend", 1);
    errno = 0;
    reactor_t *r = reactor_new(NULL);
    int err = errno;
    unsetenv("REACTOR_BACKEND");
    if (r)
        fail_msg("REACTOR_BACKEND=no-such-backend: reactor_new(NULL) chose %s", reactor_backend(r));
    assert_int_equal(err, ENOENT);
}

static void new_with_null_and_env_naming_an_absent_backend_fails_with_enotsup(void **state)
{
    (void)state;
    const char *absent = compiled_in("epoll") ? "kqueue" : "epoll"; /* never both */
    setenv("REACTOR_BACKEND", absent, 1);
    errno = 0;
    reactor_t *r = reactor_new(NULL);
    int err = errno;
    unsetenv("REACTOR_BACKEND");
    if (r)
        fail_msg("REACTOR_BACKEND=%s (not compiled in): reactor_new(NULL) chose %s", absent,
                 reactor_backend(r));
    assert_int_equal(err, ENOTSUP);
}

static void new_with_a_name_ignores_reactor_backend_env(void **state)
{
    (void)state;
    const char *want = h_backend_name();
    const char *other = reactor_backends()[0];
    for (const char *const *b = reactor_backends(); *b; b++)
        if (strcmp(*b, want) != 0)
            other = *b;
    setenv("REACTOR_BACKEND", other, 1);
    reactor_t *r = reactor_new(want);
    unsetenv("REACTOR_BACKEND");
    assert_non_null(r);
    assert_string_equal(reactor_backend(r), want);
    reactor_free(r);
}

static void new_with_unknown_name_fails_with_enoent(void **state)
{
    (void)state;
    errno = 0;
    assert_null(reactor_new("no-such-backend"));
    assert_int_equal(errno, ENOENT);
    errno = 0;
    assert_null(reactor_new(""));
    assert_int_equal(errno, ENOENT);
}

static void new_with_a_known_but_absent_backend_fails_with_enotsup(void **state)
{
    (void)state;
    const char *known[] = {"epoll", "io_uring", "kqueue", "poll", "select"};
    int absent = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (compiled_in(known[i]))
            continue;
        absent++;
        errno = 0;
        if (reactor_new(known[i]))
            fail_msg("reactor_new(\"%s\") succeeded, but %s is not in reactor_backends()", known[i],
                     known[i]);
        if (errno != ENOTSUP)
            fail_msg("reactor_new(\"%s\") (not compiled in) set errno %d, expected ENOTSUP",
                     known[i], errno);
    }
    /* No platform has all five: at least one name must have been checked. */
    assert_true(absent >= 1);
}

/*
 * A momentary fd shortage is not an unusable backend: reactor_new(NULL) must
 * fail with EMFILE rather than quietly settle for a weaker backend (with one
 * fd free, epoll's instance fits but its wakeup fd does not; poll needs one).
 * Tried with 0, 1 and 2 descriptors free.
 */
static void new_with_null_at_an_fd_shortage_fails_instead_of_falling_back(void **state)
{
    (void)state;
    unsetenv("REACTOR_BACKEND");
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    struct rlimit low = {64, old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    const char *best = reactor_backends()[0];
    char why[128] = "";
    for (int spare = 0; spare <= 2 && !why[0]; spare++) {
        int fds[64], n = 0, fd;
        while (n < 64 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
            fds[n++] = fd;
        for (int i = 0; i < spare && n > 0; i++)
            close(fds[--n]);
        errno = 0;
        reactor_t *r = reactor_new(NULL);
        int err = errno;
        while (n > 0)
            close(fds[--n]);
        if (r) {
            const char *got = reactor_backend(r);
            int same = strcmp(got, best) == 0;
            reactor_free(r);
            if (!same)
                snprintf(why, sizeof why, "%d fds free: reactor_new(NULL) fell back to %s, not %s",
                         spare, got, best);
        } else if (err != EMFILE) {
            snprintf(why, sizeof why, "%d fds free: reactor_new(NULL) failed with %s, not EMFILE",
                     spare, reactor_strerror(err));
        }
    }
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0); /* before failing: later tests need fds */
    if (why[0])
        fail_msg("%s", why);
}

static void backends_list_is_best_first_null_terminated_and_usable(void **state)
{
    (void)state;
    const char *order[] = {"epoll", "io_uring", "kqueue", "poll", "select"};
    const size_t norder = sizeof order / sizeof order[0];
    const char *const *b = reactor_backends();
    size_t next = 0, n = 0;
    for (; b[n]; n++) {
        while (next < norder && strcmp(order[next], b[n]) != 0)
            next++;
        if (next == norder)
            fail_msg("reactor_backends()[%zu] = \"%s\" is unknown, repeated or out of order", n,
                     b[n]);
        next++; /* each name at most once */
        reactor_t *r = reactor_new(b[n]);
        if (!r)
            fail_msg("listed backend %s cannot be created: %s", b[n], reactor_strerror(errno));
        assert_string_equal(reactor_backend(r), b[n]);
        reactor_free(r);
    }
    assert_true(n >= 1);
    assert_true(compiled_in(h_backend_name()));
}

static void backend_fd_is_a_close_on_exec_kernel_fd_or_enotsup(void **state)
{
    reactor_t *r = *state;
    int fd = reactor_backend_fd(r);
    if (!h_has_backend_fd()) {
        H_EXPECT(reactor_backend_fd(r), -ENOTSUP);
        return;
    }
    if (fd < 0)
        fail_msg("reactor_backend_fd() on %s returned %d", h_backend_name(), fd);
    int flags = fcntl(fd, F_GETFD);
    assert_true(flags >= 0);
    if (!(flags & FD_CLOEXEC))
        fail_msg("backend fd %d is not close-on-exec", fd);
}

static void free_of_null_is_ignored(void **state)
{
    (void)state;
    reactor_free(NULL); /* a crash here fails the test */
    reactor_free(h_new());
}

/* ---- Many reactors ------------------------------------------------------ */

static void many_reactors_coexist_in_one_thread(void **state)
{
    (void)state;
    enum { N = 16 };
    reactor_t *rs[N];
    int sv[N][2];
    for (int i = 0; i < N; i++) {
        rs[i] = h_new();
        h_pair(sv[i]);
        H_EXPECT(reactor_register(rs[i], sv[i][0], REACTOR_READ, NULL, &sv[i]), 0);
    }
    /* The same fd in two reactors is two independent registrations. */
    H_EXPECT(reactor_register(rs[0], sv[3][0], REACTOR_READ, NULL, &sv[0]), 0);
    h_put(sv[3][1]);
    reactor_event_t ev[4];
    for (int i = 0; i < N; i++) {
        int n = h_select(rs[i], 0, ev, 4);
        if (n != (i == 0 || i == 3 ? 1 : 0))
            fail_msg("reactor %d reported %d fds; only reactors 0 and 3 watch the ready one", i, n);
        if (n)
            assert_int_equal(ev[0].fd, sv[3][0]);
    }
    H_EXPECT(reactor_unregister(rs[0], sv[3][0]), 0);
    assert_int_equal(h_select(rs[3], 0, ev, 4), 1); /* untouched by the other reactor */
    for (int i = 0; i < N; i++) {
        reactor_free(rs[i]);
        h_close_pair(sv[i]);
    }
}

/*
 * A reactor belongs to one thread at a time, not to the thread that made it
 * (reactor.h): made here, it registers, waits, modifies and is freed in
 * another thread. (io_uring's IORING_SETUP_SINGLE_ISSUER would refuse every
 * io_uring_enter but the creator's with EEXIST: why the backend does not
 * set it.)
 */
struct handoff {
    reactor_t *r;
    int fd, peer;
    int rc[4];
};

static void *use_elsewhere(void *arg)
{
    struct handoff *h = arg;
    reactor_event_t ev[2];
    h->rc[0] = reactor_register(h->r, h->fd, REACTOR_READ, NULL, NULL);
    /* reactor_select, not h_select: no cmocka failure from this thread */
    h->rc[1] = reactor_select(h->r, 1000, ev, 2); /* the byte written before */
    h->rc[2] = reactor_modify(h->r, h->fd, REACTOR_WRITE, NULL, NULL);
    h->rc[3] = reactor_select(h->r, 1000, ev, 2);
    reactor_unregister(h->r, h->fd);
    reactor_free(h->r);
    return NULL;
}

static void a_reactor_made_in_one_thread_runs_in_another(void **state)
{
    (void)state;
    int sv[2];
    h_pair(sv);
    h_put(sv[1]);
    struct handoff h = {h_new(), sv[0], sv[1], {-1, -1, -1, -1}};
    reactor_event_t ev[2];
    assert_int_equal(h_select(h.r, 0, ev, 2), 0); /* used here first */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, use_elsewhere, &h), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    if (h.rc[0] != 0 || h.rc[1] != 1 || h.rc[2] != 0 || h.rc[3] != 1)
        fail_msg("%s in another thread: register %d, select %d, modify %d, select %d "
                 "(expected 0, 1, 0, 1)",
                 h_backend_name(), h.rc[0], h.rc[1], h.rc[2], h.rc[3]);
    h_close_pair(sv);
}

/* ---- Errors and versions ------------------------------------------------ */

static void strerror_names_every_documented_error(void **state)
{
    (void)state;
    static const struct {
        int err;
        const char *name;
    } codes[] = {{EINVAL, "EINVAL"}, {EEXIST, "EEXIST"}, {ENOENT, "ENOENT"},
                 {EBADF, "EBADF"},   {EPERM, "EPERM"},   {ENOTSUP, "ENOTSUP"},
                 {ERANGE, "ERANGE"}, {ENOMEM, "ENOMEM"}, {EINTR, "EINTR"},
                 {EBUSY, "EBUSY"},   {EMFILE, "EMFILE"}, {ECANCELED, "ECANCELED"}};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *neg = reactor_strerror(-codes[i].err), *pos = reactor_strerror(codes[i].err);
        if (!neg || !strstr(neg, codes[i].name))
            fail_msg("reactor_strerror(-%s) = \"%s\" does not name it", codes[i].name,
                     neg ? neg : "(null)");
        assert_string_equal(neg, pos); /* the sign does not matter */
    }
    assert_non_null(reactor_strerror(0));
    assert_non_null(reactor_strerror(-123456)); /* unknown: still a string */
    assert_non_null(reactor_strerror(123456));
}

static void version_matches_the_header(void **state)
{
    (void)state;
    assert_int_equal(reactor_version(), REACTOR_VERSION_MAJOR * 10000 +
                                            REACTOR_VERSION_MINOR * 100 + REACTOR_VERSION_PATCH);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_with_null_honours_reactor_backend_env),
        cmocka_unit_test(new_with_null_and_no_env_picks_the_best_backend),
        cmocka_unit_test(new_with_null_and_empty_env_picks_the_best_backend),
        cmocka_unit_test(new_with_null_and_unknown_env_name_fails_with_enoent),
        cmocka_unit_test(new_with_null_and_env_naming_an_absent_backend_fails_with_enotsup),
        cmocka_unit_test(new_with_a_name_ignores_reactor_backend_env),
        cmocka_unit_test(new_with_unknown_name_fails_with_enoent),
        cmocka_unit_test(new_with_a_known_but_absent_backend_fails_with_enotsup),
        cmocka_unit_test(new_with_null_at_an_fd_shortage_fails_instead_of_falling_back),
        cmocka_unit_test(backends_list_is_best_first_null_terminated_and_usable),
        T(backend_fd_is_a_close_on_exec_kernel_fd_or_enotsup),
        cmocka_unit_test(free_of_null_is_ignored),
        cmocka_unit_test(many_reactors_coexist_in_one_thread),
        cmocka_unit_test(a_reactor_made_in_one_thread_runs_in_another),
        cmocka_unit_test(strerror_names_every_documented_error),
        cmocka_unit_test(version_matches_the_header),
    };
    return H_RUN(tests);
}
