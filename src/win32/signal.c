/*
 * signal.c (Windows) - POSIX signals are not a Windows service.
 *
 * The C runtime's signal() emulates a handful of signals inside the process
 * only (SIGINT and SIGBREAK come from a console control handler on another
 * thread, the others from raise()); nothing in the system delivers them.
 * Rather than pretend, every signal call returns -ENOTSUP (documented in
 * include/reactor.h and docs/portability.md). r->svc.sig stays NULL, so the
 * services never look at signals.
 */
#include <errno.h>

#include "internal.h"

int reactor_signal_add(reactor_t *r, int signo, reactor_signal_cb cb, void *data)
{
    (void)r;
    (void)data;
    if (signo <= 0 || !cb)
        return -EINVAL;
    return -ENOTSUP;
}

int reactor_signal_remove(reactor_t *r, int signo)
{
    (void)r;
    (void)signo;
    return -ENOENT; /* nothing can have been added */
}

int reactor_signal_set_weak(reactor_t *r, int signo, int weak)
{
    (void)r;
    (void)signo;
    (void)weak;
    return -ENOENT;
}

int rx_signal_hook(reactor_t *r, int signo, rx_sig_hook_fn fn)
{
    (void)r;
    (void)signo;
    (void)fn;
    return -ENOTSUP;
}

void rx_signal_unhook(reactor_t *r, int signo)
{
    (void)r;
    (void)signo;
}

int rx_signals_watched(const reactor_t *r)
{
    (void)r;
    return 0;
}

int rx_signals_caught(const reactor_t *r)
{
    (void)r;
    return 0;
}

int rx_signals_run(reactor_t *r)
{
    (void)r;
    return 0;
}

void rx_signals_free(reactor_t *r)
{
    (void)r;
}

int rx_signals_reinit(reactor_t *r)
{
    (void)r;
    return 0;
}
