/*
 * signal.c (Windows) - POSIX signals are not a Windows service; SIGINT is
 * the one that has a counterpart, the console's Ctrl-C.
 *
 * Nothing in the system delivers POSIX signals on Windows: the C runtime's
 * signal() emulates a few inside the process. Ctrl-C in a console, though,
 * is delivered to every process attached to it, through the console control
 * handlers (SetConsoleCtrlHandler), each call on a thread of its own. So
 * reactor_signal_add(SIGINT) is supported: the library's control handler,
 * installed while some reactor watches SIGINT, marks each watching reactor
 * and wakes it (rx_wakeup is thread-safe), and the callback runs on the loop
 * thread in the services phase, as on POSIX. Every other signal number
 * returns -ENOTSUP (documented in include/reactor.h and docs/portability.md).
 *
 * The handler returns TRUE for CTRL_C_EVENT while a watch exists (the
 * process is not ended, as a POSIX handler replaces SIGINT's default), and
 * FALSE for the other events (Ctrl-Break, close, log-off, shut-down), so
 * their default handling, ending the process, stays.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <windows.h>

#include "internal.h"

/* A reactor's SIGINT watch. */
struct rx_sigstate {
    struct rx_sigstate *next; /* the process-wide list of watching reactors, under rx_sig_lock */
    reactor_t *r;
    reactor_signal_cb cb;
    void *data;
    int weak;
    atomic_int pending; /* Ctrl-C seen, callback not run yet */
};

/* Guards the list; the control handler takes it while it wakes reactors, so
 * a reactor is never freed under it. */
static pthread_mutex_t rx_sig_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rx_sigstate *rx_sig_head;

static BOOL WINAPI rx_ctrl_handler(DWORD type)
{
    if (type != CTRL_C_EVENT)
        return FALSE;
    pthread_mutex_lock(&rx_sig_lock);
    BOOL handled = rx_sig_head != NULL;
    for (struct rx_sigstate *s = rx_sig_head; s; s = s->next) {
        atomic_store(&s->pending, 1);
        rx_wakeup(s->r);
    }
    pthread_mutex_unlock(&rx_sig_lock);
    return handled;
}

int reactor_signal_add(reactor_t *r, int signo, reactor_signal_cb cb, void *data)
{
    if (signo <= 0 || !cb)
        return -EINVAL;
    if (signo != SIGINT)
        return -ENOTSUP;
    if (r->svc.sig)
        return -EEXIST;
    struct rx_sigstate *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->r = r;
    s->cb = cb;
    s->data = data;
    atomic_init(&s->pending, 0);
    pthread_mutex_lock(&rx_sig_lock);
    /* Installed with the first watch, removed with the last (below). */
    if (!rx_sig_head && !SetConsoleCtrlHandler(rx_ctrl_handler, TRUE)) {
        pthread_mutex_unlock(&rx_sig_lock);
        free(s);
        return -EINVAL;
    }
    s->next = rx_sig_head;
    rx_sig_head = s;
    pthread_mutex_unlock(&rx_sig_lock);
    r->svc.sig = s;
    return 0;
}

int reactor_signal_remove(reactor_t *r, int signo)
{
    struct rx_sigstate *s = r->svc.sig;
    if (signo != SIGINT || !s)
        return -ENOENT;
    pthread_mutex_lock(&rx_sig_lock);
    struct rx_sigstate **link = &rx_sig_head;
    while (*link != s)
        link = &(*link)->next;
    *link = s->next;
    if (!rx_sig_head)
        SetConsoleCtrlHandler(rx_ctrl_handler, FALSE);
    pthread_mutex_unlock(&rx_sig_lock);
    free(s);
    r->svc.sig = NULL;
    return 0;
}

int reactor_signal_set_weak(reactor_t *r, int signo, int weak)
{
    if (signo != SIGINT || !r->svc.sig)
        return -ENOENT;
    r->svc.sig->weak = weak != 0;
    return 0;
}

/* The internal watchers are SIGCHLD's, for the child watchers: none on Windows. */
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
    return r->svc.sig && !r->svc.sig->weak;
}

int rx_signals_caught(const reactor_t *r)
{
    return r->svc.sig && atomic_load(&r->svc.sig->pending);
}

int rx_signals_run(reactor_t *r)
{
    struct rx_sigstate *s = r->svc.sig;
    if (!s || !atomic_load_explicit(&s->pending, memory_order_relaxed) ||
        !atomic_exchange(&s->pending, 0))
        return 0;
    s->cb(r, SIGINT, s->data);
    return 1;
}

void rx_signals_free(reactor_t *r)
{
    reactor_signal_remove(r, SIGINT);
}

int rx_signals_reinit(reactor_t *r)
{
    (void)r;
    return 0;
}
