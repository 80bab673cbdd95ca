/*
 * strerror.c - reactor_strerror(): names the errors the API returns.
 *
 * strerror() is not required to be thread-safe and its text varies by libc;
 * a fixed table of the codes this library documents is both.
 */
/* ESHUTDOWN is outside POSIX: macOS shows it only with its own extensions. */
#if defined(__APPLE__) && !defined(_DARWIN_C_SOURCE)
#define _DARWIN_C_SOURCE
#endif
#include <errno.h>

#include "internal.h"

const char *reactor_strerror(int err)
{
    if (err < 0)
        err = -err;
    switch (err) {
    case 0:
        return "success";
    case EINVAL:
        return "EINVAL: invalid argument";
    case EEXIST:
        return "EEXIST: file descriptor already registered";
    case ENOENT:
        return "ENOENT: no such registration, timer or backend";
    case EBADF:
        return "EBADF: bad file descriptor";
    case EPERM:
        return "EPERM: descriptor does not support readiness notification";
    case ENOTSUP:
        return "ENOTSUP: not supported by this backend";
    case ERANGE:
        return "ERANGE: file descriptor too large for this backend";
    case ENOMEM:
        return "ENOMEM: out of memory";
    case EINTR:
        return "EINTR: interrupted by a signal";
    case EBUSY:
        return "EBUSY: not allowed from inside a callback or while busy";
    case EMFILE:
        return "EMFILE: too many open files in the process";
    case ENFILE:
        return "ENFILE: too many open files in the system";
    case ECANCELED:
        return "ECANCELED: operation cancelled";
    case EAGAIN:
        return "EAGAIN: resource temporarily unavailable";
    case ENOSYS:
        return "ENOSYS: function not implemented";
    case ENOTSOCK:
        return "ENOTSOCK: not a socket (Windows registers sockets only)";
    case ESHUTDOWN:
        return "ESHUTDOWN: the reactor is being freed";
    default:
        return "unknown error";
    }
}
