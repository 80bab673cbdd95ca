/*
 * wakeup.c - wakes a blocked wait from another thread or a signal handler.
 *
 * Linux has eventfd(2): one fd, a counter that any number of writes fold into.
 * Elsewhere a non-blocking pipe does the same job. `wake_pending` makes every
 * wakeup after the first one free until the loop drains: a storm of
 * reactor_post() or reactor_stop() calls costs one write(2).
 */
#include <errno.h>
#include <unistd.h>
#ifdef RX_HAVE_EVENTFD
#include <sys/eventfd.h>
#endif

#include "internal.h"

static void rx_wakeup_ready(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)fd;
    (void)events;
    (void)data;
    rx_wakeup_drain(r);
}

int rx_wakeup_open(reactor_t *r)
{
    int rc;
#ifdef RX_HAVE_EVENTFD
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return -errno;
    r->wake_rfd = r->wake_wfd = fd;
#else
    int p[2];
    if (pipe(p) < 0)
        return -errno;
    if ((rc = rx_set_cloexec_nonblock(p[0])) < 0 || (rc = rx_set_cloexec_nonblock(p[1])) < 0) {
        close(p[0]);
        close(p[1]);
        return rc;
    }
    r->wake_rfd = p[0];
    r->wake_wfd = p[1];
#endif
    atomic_store(&r->wake_pending, 0);
    rc = rx_register_internal(r, r->wake_rfd, rx_wakeup_ready, NULL);
    if (rc < 0)
        rx_wakeup_close(r);
    return rc;
}

void rx_wakeup_close(reactor_t *r)
{
    if (r->wake_rfd < 0)
        return;
    rx_unregister_internal(r, r->wake_rfd);
    close(r->wake_rfd);
    if (r->wake_wfd != r->wake_rfd)
        close(r->wake_wfd);
    r->wake_rfd = r->wake_wfd = -1;
}

/* Async-signal-safe: only an atomic exchange and write(2), and errno is preserved. */
void rx_wakeup(reactor_t *r)
{
    if (atomic_exchange(&r->wake_pending, 1))
        return;
    int saved = errno;
#ifdef RX_HAVE_EVENTFD
    uint64_t one = 1;
#else
    char one = 1;
#endif
    ssize_t n;
    do
        n = write(r->wake_wfd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
    /* EAGAIN means the pipe is full of wakeups already: the loop will wake. */
    errno = saved;
}

/*
 * Reads everything, then clears the pending flag. In that order a wakeup
 * racing with the drain either finds the flag still set (and its work is seen
 * by this iteration, which runs the services after draining) or writes a new
 * byte that wakes the next wait; none is lost.
 */
void rx_wakeup_drain(reactor_t *r)
{
    ssize_t n;
#ifdef RX_HAVE_EVENTFD
    /* One read takes the whole counter (eventfd(2) without EFD_SEMAPHORE):
     * a second read would only meet EAGAIN, one system call per wakeup. */
    uint64_t count;
    do
        n = read(r->wake_rfd, &count, sizeof count);
    while (n < 0 && errno == EINTR);
#else
    char buf[64];
    do
        n = read(r->wake_rfd, buf, sizeof buf);
    while (n > 0 || (n < 0 && errno == EINTR));
#endif
    atomic_store(&r->wake_pending, 0);
}
