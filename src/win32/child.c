/*
 * child.c (Windows) - child watchers are not offered on Windows.
 *
 * The POSIX watchers reap pids with waitpid(2); Windows processes are
 * handles, waited for with WaitForSingleObject, which neither select() nor
 * WSAPoll() can watch. reactor_child_add() returns -ENOTSUP (documented in
 * include/reactor.h and docs/portability.md).
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

void rx_children_init(reactor_t *r)
{
    memset(&r->svc.children, 0, sizeof r->svc.children);
}

int reactor_child_add(reactor_t *r, int pid, reactor_child_cb cb, void *data)
{
    (void)r;
    (void)data;
    if (pid <= 0 || !cb)
        return -EINVAL;
    return -ENOTSUP;
}

int reactor_child_remove(reactor_t *r, int pid)
{
    (void)r;
    (void)pid;
    return -ENOENT;
}

int reactor_child_set_weak(reactor_t *r, int pid, int weak)
{
    (void)r;
    (void)pid;
    (void)weak;
    return -ENOENT;
}

int rx_children_watched(const reactor_t *r)
{
    (void)r;
    return 0;
}

int rx_children_due(const reactor_t *r)
{
    (void)r;
    return 0;
}

int rx_children_run(reactor_t *r)
{
    (void)r;
    return 0;
}

void rx_children_free(reactor_t *r)
{
    (void)r;
}

void rx_children_reinit(reactor_t *r)
{
    (void)r;
}
