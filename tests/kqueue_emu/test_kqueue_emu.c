/*
 * test_kqueue_emu.c - the test-only kqueue emulation against the kqueue(2)
 * rules README.md says it follows. One rule per test.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/event.h"

static const struct timespec zero;

static int wait_ms(int kq, struct kevent *ev, int n, long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    return kevent(kq, NULL, 0, ev, n, &t);
}

/* Applies one change with EV_RECEIPT; returns its errno (0: applied). */
static int change(int kq, int fd, short filter, unsigned short flags, void *udata)
{
    struct kevent ch, res;
    EV_SET(&ch, (uintptr_t)fd, filter, flags | EV_RECEIPT, 0, 0, udata);
    assert_int_equal(kevent(kq, &ch, 1, &res, 1, &zero), 1);
    assert_true(res.flags & EV_ERROR);
    return (int)res.data;
}

static int new_kqueue(void)
{
    int kq = kqueue();
    assert_true(kq >= 0);
    return kq;
}

static void new_pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_not_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), -1);
}

static int kq_readable(int kq)
{
    struct pollfd p = {.fd = kq, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Level-triggered (no EV_CLEAR): reported on every call while the condition
 * holds, data = bytes readable, udata passed through; the kqueue descriptor
 * polls readable exactly while something is pending. */
static void read_is_reported_while_data_remains(void **state)
{
    (void)state;
    int kq = new_kqueue(), sv[2], tag;
    struct kevent ev[4];
    new_pair(sv);
    assert_int_equal(change(kq, sv[0], EVFILT_READ, EV_ADD, &tag), 0);
    assert_int_equal(wait_ms(kq, ev, 4, 20), 0);
    assert_false(kq_readable(kq));
    assert_int_equal(write(sv[1], "abc", 3), 3);
    for (int i = 0; i < 3; i++) {
        assert_true(kq_readable(kq));
        assert_int_equal(wait_ms(kq, ev, 4, 1000), 1);
        assert_int_equal(ev[0].ident, (uintptr_t)sv[0]);
        assert_int_equal(ev[0].filter, EVFILT_READ);
        assert_int_equal(ev[0].data, 3);
        assert_ptr_equal(ev[0].udata, &tag);
        assert_false(ev[0].flags & (EV_EOF | EV_ERROR));
    }
    char buf[8];
    assert_int_equal(read(sv[0], buf, sizeof buf), 3);
    assert_int_equal(wait_ms(kq, ev, 4, 20), 0);
    assert_false(kq_readable(kq));
    close(sv[0]);
    close(sv[1]);
    close(kq);
}

/* EV_CLEAR: "After the event is retrieved by the user, its state is reset." */
static void clear_reports_once_per_change(void **state)
{
    (void)state;
    int kq = new_kqueue(), sv[2];
    struct kevent ev[4];
    new_pair(sv);
    assert_int_equal(change(kq, sv[0], EVFILT_READ, EV_ADD | EV_CLEAR, NULL), 0);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(wait_ms(kq, ev, 4, 1000), 1);
    assert_true(ev[0].flags & EV_CLEAR);
    assert_int_equal(wait_ms(kq, ev, 4, 20), 0); /* not drained, but nothing new */
    assert_int_equal(write(sv[1], "y", 1), 1);
    assert_int_equal(wait_ms(kq, ev, 4, 1000), 1);
    assert_int_equal(ev[0].data, 2);
    close(sv[0]);
    close(sv[1]);
    close(kq);
}

/* EV_ONESHOT: "After the user retrieves the event from the kqueue, it is deleted." */
static void oneshot_is_deleted_once_retrieved(void **state)
{
    (void)state;
    int kq = new_kqueue(), sv[2];
    struct kevent ev[4];
    new_pair(sv);
    assert_int_equal(change(kq, sv[0], EVFILT_WRITE, EV_ADD | EV_ONESHOT, NULL), 0);
    assert_int_equal(wait_ms(kq, ev, 4, 1000), 1);
    assert_true(ev[0].data > 0); /* room in the send buffer */
    assert_int_equal(wait_ms(kq, ev, 4, 20), 0);
    assert_int_equal(change(kq, sv[0], EVFILT_WRITE, EV_DELETE, NULL), ENOENT);
    close(sv[0]);
    close(sv[1]);
    close(kq);
}

/* (ident, filter) identifies a knote: READ and WRITE of one fd are independent. */
static void read_and_write_of_one_fd_are_separate_knotes(void **state)
{
    (void)state;
    int kq = new_kqueue(), sv[2];
    struct kevent ev[4];
    new_pair(sv);
    assert_int_equal(change(kq, sv[0], EVFILT_READ, EV_ADD, NULL), 0);
    assert_int_equal(change(kq, sv[0], EVFILT_WRITE, EV_ADD | EV_ONESHOT, NULL), 0);
    assert_int_equal(write(sv[1], "x", 1), 1);
    int n = wait_ms(kq, ev, 4, 1000);
    assert_int_equal(n, 2);
    assert_int_not_equal(ev[0].filter, ev[1].filter);
    assert_int_equal(wait_ms(kq, ev, 4, 1000), 1); /* READ stays, WRITE went */
    assert_int_equal(ev[0].filter, EVFILT_READ);
    assert_int_equal(change(kq, sv[0], EVFILT_READ, EV_DELETE, NULL), 0);
    assert_int_equal(change(kq, sv[0], EVFILT_READ, EV_DELETE, NULL), ENOENT);
    close(sv[0]);
    close(sv[1]);
    close(kq);
}

/* "Re-adding an existing event will modify the parameters of the original
 * event": udata changes; EV_CLEAR and EV_ONESHOT stay as created (BSD and XNU
 * kqueue_register leave kn_flags alone). */
static void readd_changes_udata_but_not_clear_or_oneshot(void **state)
{
    (void)state;
    int kq = new_kqueue(), sv[2], a, b;
    struct kevent ev[4];
    new_pair(sv);
    assert_int_equal(change(kq, sv[0], EVFILT_READ, EV_ADD, &a), 0);
    assert_int_equal(change(kq, sv[0], EVFILT_READ, EV_ADD | EV_CLEAR | EV_ONESHOT, &b), 0);
    assert_int_equal(write(sv[1], "x", 1), 1);
    for (int i = 0; i < 2; i++) { /* still level-triggered, still there */
        assert_int_equal(wait_ms(kq, ev, 4, 1000), 1);
        assert_ptr_equal(ev[0].udata, &b);
        assert_false(ev[0].flags & (EV_CLEAR | EV_ONESHOT));
    }
    close(sv[0]);
    close(sv[1]);
    close(kq);
}

/* EV_RECEIPT: an EV_ERROR entry per change (data 0 on success), returned at
 * once, "without draining any pending events". */
static void receipt_answers_each_change_without_draining_events(void **state)
{
    (void)state;
    int kq = new_kqueue(), sv[2], tag;
    struct kevent ch[2], ev[4];
    new_pair(sv);
    assert_int_equal(change(kq, sv[0], EVFILT_WRITE, EV_ADD, NULL), 0); /* pending */
    EV_SET(&ch[0], (uintptr_t)sv[0], EVFILT_READ, EV_ADD | EV_RECEIPT, 0, 0, &tag);
    EV_SET(&ch[1], (uintptr_t)sv[1], EVFILT_READ, EV_ADD | EV_RECEIPT, 0, 0, NULL);
    assert_int_equal(kevent(kq, ch, 2, ev, 4, NULL), 2); /* NULL timeout, yet no wait */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ev[i].flags, EV_ERROR);
        assert_int_equal(ev[i].data, 0);
        assert_int_equal(ev[i].filter, EVFILT_READ);
    }
    assert_ptr_equal(ev[0].udata, &tag);
    assert_int_equal(wait_ms(kq, ev, 4, 1000), 1); /* the WRITE event is still there */
    assert_int_equal(ev[0].filter, EVFILT_WRITE);
    close(sv[0]);
    close(sv[1]);
    close(kq);
}

/* A refused change is an EV_ERROR entry when there is room, else -1 with
 * errno, and then the rest of the changelist is not applied. */
static void refused_change_is_an_entry_or_minus_one(void **state)
{
    (void)state;
    int kq = new_kqueue(), sv[2], tag;
    struct kevent ch[2], ev[4];
    new_pair(sv);
    int closed = dup(sv[0]);
    close(closed);
    EV_SET(&ch[0], (uintptr_t)closed, EVFILT_READ, EV_ADD, 0, 0, &tag);
    EV_SET(&ch[1], (uintptr_t)sv[0], EVFILT_WRITE, EV_ADD, 0, 0, NULL);
    assert_int_equal(kevent(kq, ch, 2, ev, 4, &zero), 1); /* the error only, no events */
    assert_int_equal(ev[0].flags, EV_ERROR);
    assert_int_equal(ev[0].data, EBADF);
    assert_int_equal(ev[0].ident, (uintptr_t)closed);
    assert_ptr_equal(ev[0].udata, &tag);
    assert_int_equal(change(kq, sv[0], EVFILT_WRITE, EV_DELETE, NULL), 0); /* ch[1] went in */

    errno = 0;
    assert_int_equal(kevent(kq, ch, 2, NULL, 0, &zero), -1);
    assert_int_equal(errno, EBADF);
    assert_int_equal(change(kq, sv[0], EVFILT_WRITE, EV_DELETE, NULL), ENOENT); /* ch[1] did not */
    close(sv[0]);
    close(sv[1]);
    close(kq);
}

static void unknown_knote_filter_or_timeout_are_refused(void **state)
{
    (void)state;
    int kq = new_kqueue(), sv[2];
    struct kevent ev[2];
    new_pair(sv);
    assert_int_equal(change(kq, sv[0], EVFILT_READ, EV_DELETE, NULL), ENOENT);
    assert_int_equal(change(kq, sv[0], EVFILT_READ, EV_ENABLE, NULL), ENOENT);
    assert_int_equal(change(kq, sv[0], -9, EV_ADD, NULL), EINVAL);
    struct timespec bad = {0, 1000000000L};
    errno = 0;
    assert_int_equal(kevent(kq, NULL, 0, ev, 2, &bad), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(kevent(sv[0], NULL, 0, ev, 2, &zero), -1); /* not a kqueue */
    assert_int_equal(errno, EBADF);
    close(sv[0]);
    close(sv[1]);
    close(kq);
}

/* EVFILT_READ sets EV_EOF when the read side shut down, "while there is still
 * data pending"; EVFILT_WRITE when the reader disconnects. */
static void eof_when_the_peer_closes(void **state)
{
    (void)state;
    int kq = new_kqueue(), sv[2];
    struct kevent ev[4];
    new_pair(sv);
    assert_int_equal(write(sv[1], "ab", 2), 2);
    assert_int_equal(change(kq, sv[0], EVFILT_READ, EV_ADD, NULL), 0);
    assert_int_equal(change(kq, sv[0], EVFILT_WRITE, EV_ADD, NULL), 0);
    close(sv[1]);
    assert_int_equal(wait_ms(kq, ev, 4, 1000), 2);
    for (int i = 0; i < 2; i++) {
        assert_true(ev[i].flags & EV_EOF);
        if (ev[i].filter == EVFILT_READ)
            assert_int_equal(ev[i].data, 2);
    }
    close(sv[0]);
    close(kq);
}

static void eof_on_pipes(void **state)
{
    (void)state;
    int kq = new_kqueue(), a[2], b[2];
    struct kevent ev[4];
    assert_int_equal(pipe(a), 0);
    assert_int_equal(pipe(b), 0);
    assert_int_equal(change(kq, a[0], EVFILT_READ, EV_ADD, NULL), 0);
    assert_int_equal(change(kq, b[1], EVFILT_WRITE, EV_ADD | EV_CLEAR, NULL), 0);
    assert_int_equal(wait_ms(kq, ev, 4, 1000), 1); /* b[1] is writable */
    assert_int_equal(ev[0].filter, EVFILT_WRITE);
    assert_true(ev[0].data > 0);
    assert_false(ev[0].flags & EV_EOF);
    close(a[1]); /* the last writer */
    close(b[0]); /* the reader */
    assert_int_equal(wait_ms(kq, ev, 4, 1000), 2);
    assert_true(ev[0].flags & EV_EOF);
    assert_true(ev[1].flags & EV_EOF);
    close(a[0]);
    close(b[1]);
    close(kq);
}

/* "Calling close() on a file descriptor will remove any kevents that reference
 * the descriptor" - also when a dup keeps the file open. */
static void close_drops_knotes_even_if_a_dup_keeps_the_file(void **state)
{
    (void)state;
    int kq = new_kqueue(), sv[2], other[2];
    struct kevent ev[4];
    new_pair(sv);
    new_pair(other);
    int fd = sv[0];
    assert_int_equal(change(kq, fd, EVFILT_READ, EV_ADD, NULL), 0);
    assert_int_equal(change(kq, fd, EVFILT_WRITE, EV_ADD | EV_CLEAR, NULL), 0);
    assert_int_equal(wait_ms(kq, ev, 4, 1000), 1); /* writable, once */
    int keep = dup(fd);
    close(fd);
    assert_int_equal(change(kq, fd, EVFILT_READ, EV_DELETE, NULL), EBADF);
    /* The number, reused for another file, has no knotes; new ones see that file only. */
    assert_int_equal(dup2(other[0], fd), fd);
    assert_int_equal(change(kq, fd, EVFILT_READ, EV_DELETE, NULL), ENOENT);
    assert_int_equal(change(kq, fd, EVFILT_READ, EV_ADD, NULL), 0);
    assert_int_equal(write(sv[1], "x", 1), 1); /* the kept file is readable */
    int64_t t0 = now_ms();
    for (int i = 0; i < 3; i++) /* nothing reported, and each call waits its time */
        assert_int_equal(wait_ms(kq, ev, 4, 30), 0);
    assert_true(now_ms() - t0 >= 85);
    assert_int_equal(write(other[1], "y", 1), 1);
    assert_int_equal(wait_ms(kq, ev, 4, 1000), 1);
    assert_int_equal(ev[0].ident, (uintptr_t)fd);
    assert_int_equal(ev[0].filter, EVFILT_READ);
    close(fd);
    close(keep);
    close(sv[1]);
    close(other[0]);
    close(other[1]);
    close(kq);
}

/* The same, for files that share one inode (eventfd): the number reopened on a
 * new eventfd has no knotes. */
static void close_drops_knotes_of_anon_inode_files(void **state)
{
    (void)state;
    int kq = new_kqueue();
    struct kevent ev[2];
    uint64_t one = 1;
    int efd = eventfd(0, 0);
    assert_true(efd >= 0);
    assert_int_equal(change(kq, efd, EVFILT_READ, EV_ADD, NULL), 0);
    close(efd);
    assert_int_equal(eventfd(0, 0), efd);
    assert_int_equal(change(kq, efd, EVFILT_READ, EV_DELETE, NULL), ENOENT);
    assert_int_equal(change(kq, efd, EVFILT_READ, EV_ADD, NULL), 0);
    close(efd);
    assert_int_equal(eventfd(0, 0), efd);
    assert_int_equal(change(kq, efd, EVFILT_READ, EV_ADD, NULL), 0); /* a new knote */
    assert_int_equal(write(efd, &one, sizeof one), (ssize_t)sizeof one);
    assert_int_equal(wait_ms(kq, ev, 2, 1000), 1);
    assert_int_equal(ev[0].ident, (uintptr_t)efd);
    close(efd);
    close(kq);
}

/* EV_DISABLE: "Disable the event so kevent() will not return it." */
static void disable_and_enable(void **state)
{
    (void)state;
    int kq = new_kqueue(), sv[2];
    struct kevent ev[4];
    new_pair(sv);
    assert_int_equal(change(kq, sv[0], EVFILT_WRITE, EV_ADD | EV_DISABLE, NULL), 0);
    assert_int_equal(wait_ms(kq, ev, 4, 20), 0);
    assert_int_equal(change(kq, sv[0], EVFILT_WRITE, EV_ENABLE, NULL), 0);
    assert_int_equal(wait_ms(kq, ev, 4, 1000), 1);
    assert_int_equal(change(kq, sv[0], EVFILT_WRITE, EV_DISABLE, NULL), 0);
    assert_int_equal(wait_ms(kq, ev, 4, 20), 0);
    assert_int_equal(change(kq, sv[0], EVFILT_WRITE, EV_DELETE, NULL), 0);
    close(sv[0]);
    close(sv[1]);
    close(kq);
}

/* Vnodes: EVFILT_READ "returns when the file pointer is not at the end of file". */
static void regular_file_is_readable_until_its_end(void **state)
{
    (void)state;
    int kq = new_kqueue();
    struct kevent ev[4];
    char path[] = "/tmp/rx-kqemu-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(change(kq, fd, EVFILT_READ, EV_ADD, NULL), 0);
    assert_int_equal(wait_ms(kq, ev, 4, 20), 0); /* empty file: at the end */
    assert_int_equal(write(fd, "data", 4), 4);
    assert_int_equal(lseek(fd, 1, SEEK_SET), 1);
    assert_int_equal(wait_ms(kq, ev, 4, 1000), 1);
    assert_int_equal(ev[0].data, 3);
    close(fd);
    close(kq);
}

/* "The queue is not inherited by a child created with fork(2)." */
static void kqueue_is_not_inherited_across_fork(void **state)
{
    (void)state;
    int kq = new_kqueue();
    struct kevent ev[1];
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* the number is free in the child */
        int gone = fcntl(kq, F_GETFD) == -1 && errno == EBADF;
        _exit(gone && kevent(kq, NULL, 0, ev, 1, &zero) == -1 && errno == EBADF ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(kevent(kq, NULL, 0, ev, 1, &zero), 0); /* the parent's is intact */
    close(kq);
}

static void timeout_is_waited_and_no_room_returns_at_once(void **state)
{
    (void)state;
    int kq = new_kqueue(), sv[2];
    struct kevent ev[1];
    new_pair(sv);
    int64_t t0 = now_ms();
    assert_int_equal(wait_ms(kq, ev, 1, 60), 0);
    assert_true(now_ms() - t0 >= 60);
    assert_int_equal(change(kq, sv[0], EVFILT_READ, EV_ADD, NULL), 0);
    t0 = now_ms();
    struct timespec long_wait = {5, 0};
    assert_int_equal(kevent(kq, NULL, 0, ev, 0, &long_wait), 0); /* nevents 0: no scan */
    assert_true(now_ms() - t0 < 1000);
    close(sv[0]);
    close(sv[1]);
    close(kq);
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Closing an emulated kqueue leaves no descriptor of the emulation behind
 * (its inner epoll sets are reclaimed at the next kqueue()). */
static void closed_kqueue_leaves_no_descriptors(void **state)
{
    (void)state;
    int before = open_fds();
    for (int i = 0; i < 10; i++)
        close(new_kqueue());
    int kq = new_kqueue();
    close(kq);
    kq = new_kqueue();
    assert_true(open_fds() <= before + 3); /* this one: itself and its two inner sets */
    close(kq);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_is_reported_while_data_remains),
        cmocka_unit_test(clear_reports_once_per_change),
        cmocka_unit_test(oneshot_is_deleted_once_retrieved),
        cmocka_unit_test(read_and_write_of_one_fd_are_separate_knotes),
        cmocka_unit_test(readd_changes_udata_but_not_clear_or_oneshot),
        cmocka_unit_test(receipt_answers_each_change_without_draining_events),
        cmocka_unit_test(refused_change_is_an_entry_or_minus_one),
        cmocka_unit_test(unknown_knote_filter_or_timeout_are_refused),
        cmocka_unit_test(eof_when_the_peer_closes),
        cmocka_unit_test(eof_on_pipes),
        cmocka_unit_test(close_drops_knotes_even_if_a_dup_keeps_the_file),
        cmocka_unit_test(close_drops_knotes_of_anon_inode_files),
        cmocka_unit_test(disable_and_enable),
        cmocka_unit_test(regular_file_is_readable_until_its_end),
        cmocka_unit_test(kqueue_is_not_inherited_across_fork),
        cmocka_unit_test(timeout_is_waited_and_no_room_returns_at_once),
        cmocka_unit_test(closed_kqueue_leaves_no_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
