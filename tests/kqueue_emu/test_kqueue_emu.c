/* test_kqueue_emu.c - the test-only kqueue emulation against the kqueue(2) rules it claims. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/event.h"

static const struct timespec zero = {0, 0};

static int wait_events(int kq, struct kevent *ev, int n)
{
    struct timespec t = {0, 50 * 1000 * 1000};
    return kevent(kq, NULL, 0, ev, n, &t);
}

static void add_reports_level_triggered_until_drained(void **state)
{
    (void)state;
    int kq = kqueue(), sv[2];
    struct kevent ch, ev[4];
    assert_true(kq >= 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    EV_SET(&ch, sv[0], EVFILT_READ, EV_ADD, 0, 0, &ch);
    assert_int_equal(kevent(kq, &ch, 1, NULL, 0, &zero), 0);
    assert_int_equal(wait_events(kq, ev, 4), 0);
    assert_int_equal(write(sv[1], "abc", 3), 3);
    for (int i = 0; i < 2; i++) { /* level: again and again */
        assert_int_equal(wait_events(kq, ev, 4), 1);
        assert_int_equal(ev[0].ident, (uintptr_t)sv[0]);
        assert_int_equal(ev[0].filter, EVFILT_READ);
        assert_int_equal(ev[0].data, 3);
        assert_ptr_equal(ev[0].udata, &ch);
    }
    close(sv[0]);
    close(sv[1]);
    close(kq);
}

static void clear_and_oneshot(void **state)
{
    (void)state;
    int kq = kqueue(), sv[2];
    struct kevent ch[2], ev[4];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    EV_SET(&ch[0], sv[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, NULL);
    EV_SET(&ch[1], sv[0], EVFILT_WRITE, EV_ADD | EV_ONESHOT, 0, 0, NULL);
    assert_int_equal(kevent(kq, ch, 2, NULL, 0, &zero), 0);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(wait_events(kq, ev, 4), 2); /* one per filter */
    assert_int_equal(wait_events(kq, ev, 4), 0); /* EV_CLEAR reset; EV_ONESHOT deleted */
    EV_SET(&ch[0], sv[0], EVFILT_WRITE, EV_DELETE, 0, 0, NULL);
    assert_int_equal(kevent(kq, ch, 1, ev, 4, &zero), 1); /* the oneshot knote is gone */
    assert_true(ev[0].flags & EV_ERROR);
    assert_int_equal(ev[0].data, ENOENT);
    close(sv[0]);
    close(sv[1]);
    close(kq);
}

static void errors_and_receipts(void **state)
{
    (void)state;
    int kq = kqueue(), sv[2];
    struct kevent ch[2], ev[4];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int closed = sv[0];
    EV_SET(&ch[0], sv[1], EVFILT_READ, EV_ADD | EV_RECEIPT, 0, 0, NULL);
    close(closed);
    EV_SET(&ch[1], closed, EVFILT_READ, EV_ADD, 0, 0, NULL);
    assert_int_equal(kevent(kq, ch, 2, ev, 4, NULL), 2); /* returns at once, no wait */
    assert_true(ev[0].flags & EV_ERROR);
    assert_int_equal(ev[0].data, 0);
    assert_int_equal(ev[1].data, EBADF);
    errno = 0;
    assert_int_equal(kevent(kq, &ch[1], 1, NULL, 0, &zero), -1); /* no room: -1 */
    assert_int_equal(errno, EBADF);
    close(sv[1]);
    close(kq);
}

static void eof_and_closed_fds(void **state)
{
    (void)state;
    int kq = kqueue(), sv[2], other[2];
    struct kevent ch, ev[4];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, other), 0);
    EV_SET(&ch, sv[0], EVFILT_READ, EV_ADD, 0, 0, NULL);
    assert_int_equal(kevent(kq, &ch, 1, NULL, 0, &zero), 0);
    close(sv[1]);
    assert_int_equal(wait_events(kq, ev, 4), 1);
    assert_true(ev[0].flags & EV_EOF);
    /* close() removes the knote, even though a dup keeps the file alive */
    int keep = dup(sv[0]);
    close(sv[0]);
    assert_int_equal(wait_events(kq, ev, 4), 0);
    EV_SET(&ch, sv[0], EVFILT_READ, EV_DELETE, 0, 0, NULL);
    assert_int_equal(kevent(kq, &ch, 1, ev, 4, &zero), 1);
    assert_int_equal(ev[0].data, ENOENT);
    close(keep);
    close(other[0]);
    close(other[1]);
    close(kq);
}

static void disable_and_enable(void **state)
{
    (void)state;
    int kq = kqueue(), sv[2];
    struct kevent ch, ev[4];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    EV_SET(&ch, sv[0], EVFILT_WRITE, EV_ADD | EV_DISABLE, 0, 0, NULL);
    assert_int_equal(kevent(kq, &ch, 1, NULL, 0, &zero), 0);
    assert_int_equal(wait_events(kq, ev, 4), 0);
    EV_SET(&ch, sv[0], EVFILT_WRITE, EV_ENABLE, 0, 0, NULL);
    assert_int_equal(kevent(kq, &ch, 1, NULL, 0, &zero), 0);
    assert_int_equal(wait_events(kq, ev, 4), 1);
    close(sv[0]);
    close(sv[1]);
    close(kq);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_reports_level_triggered_until_drained),
        cmocka_unit_test(clear_and_oneshot),
        cmocka_unit_test(errors_and_receipts),
        cmocka_unit_test(eof_and_closed_fds),
        cmocka_unit_test(disable_and_enable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
