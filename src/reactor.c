/*
 * reactor.c - creating and destroying a reactor, choosing its backend.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Compiled-in backends, best first: O(1) kernel queues, then poll, then select. */
static const struct rx_backend *const rx_backend_table[] = {
#ifdef RX_HAVE_EPOLL
    &rx_backend_epoll,
#endif
#ifdef RX_HAVE_IO_URING
    &rx_backend_io_uring, /* after epoll: see docs/backends.md, "io_uring" */
#endif
#ifdef RX_HAVE_KQUEUE
    &rx_backend_kqueue,
#endif
#ifdef RX_HAVE_POLL
    &rx_backend_poll,
#endif
#ifdef RX_HAVE_SELECT
    &rx_backend_select,
#endif
};
#define RX_NBACKENDS (sizeof rx_backend_table / sizeof rx_backend_table[0])

static const char *const rx_backend_names[] = {
#ifdef RX_HAVE_EPOLL
    "epoll",
#endif
#ifdef RX_HAVE_IO_URING
    "io_uring",
#endif
#ifdef RX_HAVE_KQUEUE
    "kqueue",
#endif
#ifdef RX_HAVE_POLL
    "poll",
#endif
#ifdef RX_HAVE_SELECT
    "select",
#endif
    NULL,
};

/* Names this library knows, compiled in or not: the rest are ENOENT. */
static const char *const rx_known_names[] = {"epoll", "io_uring", "kqueue", "poll", "select"};

int reactor_version(void)
{
    return REACTOR_VERSION_MAJOR * 10000 + REACTOR_VERSION_MINOR * 100 + REACTOR_VERSION_PATCH;
}

const char *const *reactor_backends(void)
{
    return rx_backend_names;
}

static const struct rx_backend *rx_find_backend(const char *name)
{
    for (size_t i = 0; i < RX_NBACKENDS; i++)
        if (strcmp(rx_backend_table[i]->name, name) == 0)
            return rx_backend_table[i];
    for (size_t i = 0; i < sizeof rx_known_names / sizeof rx_known_names[0]; i++)
        if (strcmp(rx_known_names[i], name) == 0) {
            errno = ENOTSUP;
            return NULL;
        }
    errno = ENOENT;
    return NULL;
}

/* Builds a reactor on one backend; returns 0 or -errno, leaving nothing behind on failure. */
static int rx_init(reactor_t *r, const struct rx_backend *ops)
{
    memset(r, 0, sizeof *r);
    r->ops = ops;
    r->wake_rfd = r->wake_wfd = -1;
    atomic_init(&r->stop, 0);
    atomic_init(&r->wake_pending, 0);
    int rc = ops->create(&r->state);
    if (rc < 0)
        return rc;
    if ((rc = rx_ready_reserve(r, 64)) < 0 || (rc = rx_wakeup_open(r)) < 0 ||
        (rc = rx_services_init(r)) < 0) {
        rx_wakeup_close(r);
        ops->destroy(r->state);
        free(r->ready);
        free(r->spill);
        free(r->batch);
        free(r->fds);
        free(r->dirty);
        return rc;
    }
    r->owner = getpid();
    rx_update_now(r);
    return 0;
}

/* Errors that mean a backend cannot work in this process at all. */
static int rx_backend_unusable(int rc)
{
    return rc == -ENOSYS || rc == -ENOTSUP || rc == -EPERM || rc == -EACCES || rc == -EINVAL;
}

reactor_t *reactor_new(const char *backend)
{
    if (!backend) {
        const char *env = getenv("REACTOR_BACKEND");
        if (env && *env)
            backend = env;
    }
    reactor_t *r = malloc(sizeof *r);
    if (!r) {
        errno = ENOMEM;
        return NULL;
    }
    int rc = -ENOTSUP;
    if (backend) {
        const struct rx_backend *ops = rx_find_backend(backend);
        rc = ops ? rx_init(r, ops) : -errno;
    } else {
        /* The best that works here: a kernel may lack epoll (old, or seccomp'd).
         * A shortage (EMFILE, ENFILE, ENOMEM) is not that: a weaker backend
         * would quietly refuse REACTOR_EDGE later, so it is reported. */
        for (size_t i = 0; i < RX_NBACKENDS; i++) {
            rc = rx_init(r, rx_backend_table[i]);
            if (rc == 0 || !rx_backend_unusable(rc))
                break;
        }
    }
    if (rc < 0) {
        free(r);
        errno = -rc;
        return NULL;
    }
    return r;
}

void rx_destroy(reactor_t *r)
{
    if (r->owner != getpid()) /* a forked child that skipped reactor_reinit() */
        rx_disown_kernel(r);
    rx_services_free(r);
    rx_hooks_free(r);
    rx_wakeup_close(r);
    r->ops->destroy(r->state);
    free(r->fds);
    free(r->dirty);
    free(r->ready);
    free(r->spill);
    free(r->batch);
    free(r);
}

/*
 * Makes every report of the batch being dispatched stale, so that no other
 * fd callback of the iteration runs with data its caller may now free: each
 * slot's generation goes (no tag equals 0) and it is marked touched by this
 * batch (so the stale reports are not taken for a file we could not delete).
 * The services stop at r->free_pending. Nothing is added to the dispatch loop.
 */
static void rx_drop_batch(reactor_t *r)
{
    for (int fd = 0; fd < r->nfds; fd++) {
        struct rx_fd *e = &r->fds[fd];
        e->gen = 0;
        e->fast = 0;
        e->touched = r->batch_seq;
    }
}

void reactor_free(reactor_t *r)
{
    if (!r)
        return;
    if (r->free_pending)
        return; /* a second call from the callback that freed it */
    rx_posts_close(r);
    if (r->dispatching) { /* a callback is on the stack: the dispatch loop frees it */
        r->free_pending = 1;
        rx_drop_batch(r);
        return;
    }
    rx_destroy(r);
}

const char *reactor_backend(const reactor_t *r)
{
    return r->ops->name;
}

int reactor_backend_fd(const reactor_t *r)
{
    return r->ops->backend_fd(r->state);
}
