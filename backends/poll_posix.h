/*
 * poll_posix.h - what backends/poll.c asks of poll(2) on POSIX systems; its
 * Windows counterpart is backends/poll_win32.h (WSAPoll). Included by poll.c
 * only.
 */
#ifndef RX_POLL_POSIX_H
#define RX_POLL_POSIX_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>

typedef struct pollfd rx_pollfd;
typedef short rx_pollev;

#define RX_POLL_IN POLLIN
#define RX_POLL_OUT POLLOUT
#define RX_POLL_READABLE (POLLIN | POLLPRI) /* and POLLERR | POLLHUP | POLLNVAL */

/* poll() would accept a closed fd and report POLLNVAL later; refuse it now,
 * as epoll and kqueue do, so every backend fails registration alike. */
static inline int rx_poll_check_fd(int fd)
{
    return fcntl(fd, F_GETFD) < 0 ? -errno : 0;
}

static inline void rx_pollfd_set_fd(rx_pollfd *f, int fd)
{
    f->fd = fd;
}

static inline int rx_pollfd_fd(const rx_pollfd *f)
{
    return f->fd;
}

static inline int rx_poll_sys(rx_pollfd *f, int n, int timeout_ms)
{
    int ready = poll(f, (nfds_t)n, timeout_ms);
    return ready < 0 ? -errno : ready;
}

#endif /* RX_POLL_POSIX_H */
