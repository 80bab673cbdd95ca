/*
 * poll_win32.h - what backends/poll.c asks of WSAPoll() on Windows (Vista and
 * later); the POSIX side is backends/poll_posix.h. Included by poll.c only.
 *
 * Differences the core never sees:
 * - Sockets only, as for select: anything else is refused when registered,
 *   with -ENOTSOCK or -EBADF.
 * - WSAPoll() fails with WSAEINVAL for POLLPRI, and for an empty array
 *   instead of sleeping: only POLLRDNORM and POLLWRNORM are asked for, and
 *   with nothing registered the wait sleeps with Sleep() (the core's wakeup
 *   socket is always registered, so that does not happen in practice).
 * - A socket closed while registered comes back with POLLNVAL, as on POSIX,
 *   and is reported READ | WRITE so that its owner unregisters it.
 *
 * Known Windows defect: before Windows 10 version 2004, WSAPoll() did not
 * report a failed non-blocking connect() at all (no POLLHUP, no POLLERR),
 * which is why curl and libuv stay away from it. That is why this backend
 * is opt-in (REACTOR_WITH_POLL, OFF by default on Windows) and select is
 * the default there.
 */
#ifndef RX_POLL_WIN32_H
#define RX_POLL_WIN32_H

#include <errno.h>

#include "../src/win32/win32.h"

typedef WSAPOLLFD rx_pollfd;
typedef SHORT rx_pollev;

#define RX_POLL_IN POLLRDNORM
#define RX_POLL_OUT POLLWRNORM
#define RX_POLL_READABLE (POLLRDNORM | POLLRDBAND) /* and POLLERR | POLLHUP | POLLNVAL */

static inline int rx_poll_check_fd(int fd)
{
    return rx_check_socket(fd);
}

static inline void rx_pollfd_set_fd(rx_pollfd *f, int fd)
{
    f->fd = rx_socket(fd);
}

static inline int rx_pollfd_fd(const rx_pollfd *f)
{
    return (int)(intptr_t)f->fd;
}

static inline int rx_poll_sys(rx_pollfd *f, int n, int timeout_ms)
{
    if (n == 0) {
        if (timeout_ms < 0)
            return -EINVAL; /* nothing could ever wake us */
        Sleep((DWORD)timeout_ms);
        return 0;
    }
    int ready = WSAPoll(f, (ULONG)n, timeout_ms);
    return ready == SOCKET_ERROR ? rx_wsa_last() : ready;
}

#endif /* RX_POLL_WIN32_H */
