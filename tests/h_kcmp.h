/*
 * h_kcmp.h - whether two descriptors name the same open file, for the tests
 * that check that reactor_backend_fd() keeps its number while the kernel
 * object behind it is replaced (a rebuild, reactor_reinit). The number alone
 * cannot tell, and fstat cannot either: every epoll file has the same anon
 * inode. kcmp(2) KCMP_FILE can. Include it before any system header.
 */
#ifndef RX_H_KCMP_H
#define RX_H_KCMP_H

#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* syscall(2) */
#endif
#include <fcntl.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include <setjmp.h> /* cmocka.h needs these three first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "reactor.h"

/* 1: same file, 0: different files, -1: this system cannot tell (no kcmp, or qemu-user). */
static inline int h_same_file(int a, int b)
{
#if defined(__linux__) && defined(SYS_kcmp)
    long pid = (long)getpid();
    long rc = syscall(SYS_kcmp, pid, pid, 0 /* KCMP_FILE */, (long)a, (long)b);
    return rc < 0 ? -1 : rc == 0;
#else
    (void)a, (void)b;
    return -1;
#endif
}

/* The backend's kernel object as it is now: its number and a dup holding the file. */
struct h_backend {
    int number; /* reactor_backend_fd(), or -ENOTSUP */
    int file;   /* a dup of it, or -1 */
};

static inline struct h_backend h_backend_snap(reactor_t *r)
{
    struct h_backend b = {reactor_backend_fd(r), -1};
    if (b.number >= 0 && (b.file = fcntl(b.number, F_DUPFD_CLOEXEC, 0)) < 0)
        fail_msg("cannot dup the backend fd %d", b.number);
    return b;
}

/* The number never changes (reactor.h); `rebuilt` says whether the object behind it did
 * (-1: either may be right). */
static inline void h_check_backend(reactor_t *r, struct h_backend b, int rebuilt, const char *after)
{
    int now = reactor_backend_fd(r);
    if (now != b.number)
        fail_msg("after %s the backend fd %d became %d", after, b.number, now);
    if (b.file < 0)
        return;
    if (rebuilt < 0) {
        close(b.file);
        return;
    }
    int same = h_same_file(now, b.file);
    close(b.file);
    if (same == 1 && rebuilt)
        fail_msg("after %s the kernel set was not rebuilt", after);
    if (same == 0 && !rebuilt)
        fail_msg("after %s the kernel set was rebuilt", after);
}

/* Fails if the backend's kernel object was replaced (a rebuild) since the snapshot. */
static inline void h_assert_not_rebuilt(reactor_t *r, struct h_backend b, const char *after)
{
    h_check_backend(r, b, 0, after);
}

#endif /* RX_H_KCMP_H */
