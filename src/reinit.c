/*
 * reinit.c - reactor_reinit(), for a child of fork(2) (POSIX only: Windows
 * has src/win32/reinit.c).
 */
#include <errno.h>
#include <unistd.h>

#include "internal.h"

/*
 * After fork() the child shares the parent's epoll set and wakeup eventfd
 * (both are open file descriptions inherited across fork); using them would
 * steal the parent's events and wakeups. A kqueue is not inherited at all
 * (kqueue(2)). Either way the child needs new kernel objects and every
 * registration re-added.
 */
int reactor_reinit(reactor_t *r)
{
    if (r->dispatching)
        return -EBUSY;
    int rc = rx_rebuild_backend(r);
    if (rc < 0)
        return rc;
    r->owner = getpid();
    rx_wakeup_close(r);
    if ((rc = rx_wakeup_open(r)) < 0)
        return rc;
    return rx_services_reinit(r);
}
