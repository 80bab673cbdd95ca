/*
 * test_uring_setup.c - a kernel that refuses io_uring: this program links
 * with -Wl,--wrap=syscall (tests/CMakeLists.txt), so that io_uring_setup(2)
 * fails with the errno named by RX_TEST_URING_ERRNO: ENOSYS (qemu-user, a
 * kernel built without it), EPERM (kernel.io_uring_disabled, a seccomp
 * profile such as Docker's or Kubernetes') or EINVAL (flags unknown to an old
 * kernel, each fallback refused too). The backend must then be unusable, not
 * broken: reactor_new("io_uring") fails with ENOTSUP and reactor_new(NULL)
 * takes the next backend.
 */
#include "h_syscall.h"
#include "harness.h"

static int g_errno; /* what io_uring_setup fails with */
static int g_setup_calls;

/* io_uring_setup fails before any argument is read; the rest are forwarded. */
long __wrap_syscall(long n, ...)
{
    if (n == SYS_io_uring_setup) {
        g_setup_calls++;
        errno = g_errno;
        return -1;
    }
    va_list ap;
    va_start(ap, n);
    long rc = h_forward_syscall(n, ap);
    va_end(ap);
    return rc;
}

static void new_io_uring_fails_with_enotsup(void **state)
{
    (void)state;
    g_setup_calls = 0;
    errno = 0;
    reactor_t *r = reactor_new("io_uring");
    if (r)
        fail_msg("reactor_new(\"io_uring\") succeeded with io_uring_setup failing (%s)",
                 strerror(g_errno));
    if (errno != ENOTSUP)
        fail_msg("io_uring_setup failing with %s: reactor_new(\"io_uring\") set errno %s, "
                 "expected ENOTSUP",
                 strerror(g_errno), strerror(errno));
    assert_true(g_setup_calls >= 1); /* it was the kernel's answer, not a missing backend */
}

static void env_io_uring_fails_with_enotsup(void **state)
{
    (void)state;
    setenv("REACTOR_BACKEND", "io_uring", 1);
    errno = 0;
    reactor_t *r = reactor_new(NULL);
    int err = errno;
    unsetenv("REACTOR_BACKEND");
    assert_null(r);
    assert_int_equal(err, ENOTSUP);
}

/* io_uring is never the default, but nothing may stop at it either. */
static void new_null_moves_on_to_a_usable_backend(void **state)
{
    (void)state;
    unsetenv("REACTOR_BACKEND");
    reactor_t *r = reactor_new(NULL);
    if (!r)
        fail_msg("reactor_new(NULL) failed: %s", reactor_strerror(errno));
    assert_string_not_equal(reactor_backend(r), "io_uring");
    reactor_free(r);
}

/* Still listed: compiled in, refused by this kernel (docs/api.md, reactor_new). */
static void io_uring_is_still_listed(void **state)
{
    (void)state;
    int found = 0;
    for (const char *const *b = reactor_backends(); *b; b++)
        found |= strcmp(*b, "io_uring") == 0;
    assert_true(found);
}

int main(void)
{
    const char *e = getenv("RX_TEST_URING_ERRNO");
    g_errno = !e ? ENOSYS : !strcmp(e, "EPERM") ? EPERM : !strcmp(e, "EINVAL") ? EINVAL : ENOSYS;
    printf("# io_uring_setup fails with %s\n", strerror(g_errno));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_io_uring_fails_with_enotsup),
        cmocka_unit_test(env_io_uring_fails_with_enotsup),
        cmocka_unit_test(new_null_moves_on_to_a_usable_backend),
        cmocka_unit_test(io_uring_is_still_listed),
    };
    return cmocka_run_group_tests_name(e ? e : "ENOSYS", tests, NULL, NULL);
}
