/*
 * h_syscall.h - for test programs that wrap syscall(2) at link time (GNU ld
 * --wrap=syscall): forwards a call with exactly the arguments its caller
 * passed. Reading more va_args than were passed is undefined (ASan reports a
 * stack-buffer-underflow), so the count goes by the call: the library makes
 * three system calls through syscall(), pidfd_open (src/child.c) and
 * io_uring_setup with two arguments, io_uring_enter (backends/io_uring.c)
 * with six.
 */
#ifndef RX_H_SYSCALL_H
#define RX_H_SYSCALL_H

#include <stdarg.h>
#include <sys/syscall.h>

long __real_syscall(long n, ...);
long __wrap_syscall(long n, ...);

static inline long h_forward_syscall(long n, va_list ap)
{
#ifdef SYS_io_uring_enter
    if (n == SYS_io_uring_enter) {
        long a[6];
        for (int i = 0; i < 6; i++)
            a[i] = va_arg(ap, long);
        return __real_syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
#endif
    long a0 = va_arg(ap, long), a1 = va_arg(ap, long);
    return __real_syscall(n, a0, a1);
}

#endif /* RX_H_SYSCALL_H */
