/*
 * signal.c - signal watchers whose callbacks run on the loop thread.
 *
 * A signal handler may only call async-signal-safe functions (signal-safety(7)),
 * so ours records and wakes, nothing more: for each reactor watching the
 * signal it sets the signal's bit in that reactor's `pending` mask and writes
 * one byte to that reactor's self-pipe. The pipe's read end is an internal
 * registration of the reactor, so a blocked wait returns; the loop drains the
 * pipe and, in the services phase, runs the callback of every pending signal
 * once. Deliveries between two iterations coalesce into one callback, as
 * signals of one number already do in the kernel (signal(7), "standard
 * signals do not queue").
 *
 * Why a self-pipe on every platform: signalfd(2) only sees signals that every
 * thread blocks, which a library cannot impose on its host program, and a
 * signal read from one signalfd is consumed, so two reactors could not both
 * see it; kqueue's EVFILT_SIGNAL would need a second path through the backend
 * seam for one backend. The pipe behaves the same under every backend.
 *
 * Several reactors, one signal. Dispositions are process-wide, so this file
 * keeps the library's only global mutable state (everything else lives in the
 * reactor):
 *  - a list of the reactors that watch any signal (their rx_sigstate), which
 *    the handler walks: every reactor watching the delivered signal gets its
 *    bit and its byte, so each runs its callback once per delivery;
 *  - per signal, how many reactors watch it and the disposition found when
 *    the first one started; the last reactor to stop restores it.
 * The list and the table are changed under `rx_sig_lock` (a pthread mutex,
 * never taken by the handler). The handler only does lock-free atomic loads,
 * read-modify-writes and write(2). A reactor's state is unlinked under the
 * lock, then freed only once no handler is inside the list (`rx_sig_busy`
 * back to 0), so the handler never touches freed memory or a closed pipe.
 *
 * The previous disposition is saved, not chained to: while a reactor watches
 * a signal, a handler the program installed before is not called.
 *
 * Internal hooks. Another service of the reactor may watch a signal too (the
 * child watchers' SIGCHLD, src/child.c) without taking the user's watch of
 * it: rx_signal_hook sets a per-signal function that the services phase calls
 * before the user's callback whenever the signal was caught. A hooked signal
 * is watched (its bit set, its disposition ours) while either the user or
 * the hook watches it, and each counts as one watcher of the disposition. A
 * hook does not keep reactor_run() going, and a user's add or remove never
 * drops a delivery the hook still waits for.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* pipe2(2) */
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Signal numbers 1..127 (Linux has 1..64, FreeBSD up to 128). */
#define RX_SIG_LIMIT 128
#define RX_SIG_WORDS (RX_SIG_LIMIT / 32)

/* Only lock-free atomics are async-signal-safe (C11 7.14.1.1p5). */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic int must be lock-free for the signal handler");
_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2,
               "atomic pointers must be lock-free for the signal handler");

struct rx_sigwatch {
    reactor_signal_cb cb; /* NULL: not watched */
    void *data;
    int weak; /* reactor_signal_set_weak */
};

struct rx_sigstate {
    _Atomic(struct rx_sigstate *) next; /* the process-wide list the handler walks */
    atomic_int wfd;                     /* pipe write end, written by the handler */
    int rfd;                            /* pipe read end, an internal registration */
    atomic_uint watched[RX_SIG_WORDS];  /* signals this reactor watches, read by the handler */
    atomic_uint pending[RX_SIG_WORDS];  /* caught, set by the handler */
    unsigned firing[RX_SIG_WORDS];      /* loop only: taken from pending, callback not yet run */
    int nwatched;
    int nweak;   /* of the watched, weak: reactor_run ends when nwatched == nweak */
    int nhooked; /* internal hooks */
    struct rx_sigwatch w[RX_SIG_LIMIT];
    rx_sig_hook_fn hook[RX_SIG_LIMIT]; /* internal watchers; NULL: none */
};

/* ---- Process-wide state ---------------------------------------------------- */

static pthread_mutex_t rx_sig_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int watchers;            /* reactors watching the signal */
    struct sigaction old;    /* the disposition to restore when watchers drops to 0 */
} rx_sig_disp[RX_SIG_LIMIT]; /* under rx_sig_lock */
static _Atomic(struct rx_sigstate *) rx_sig_head; /* written under rx_sig_lock */
static atomic_int rx_sig_busy;                    /* handlers currently walking the list */
static pthread_once_t rx_sig_once = PTHREAD_ONCE_INIT;
static int rx_sig_once_err;

static void rx_sig_handler(int signo)
{
    int saved = errno;
    unsigned word = (unsigned)signo / 32, bit = 1u << ((unsigned)signo % 32);
    atomic_fetch_add(&rx_sig_busy, 1);
    for (struct rx_sigstate *s = atomic_load(&rx_sig_head); s; s = atomic_load(&s->next)) {
        if (!(atomic_load(&s->watched[word]) & bit))
            continue;
        atomic_fetch_or(&s->pending[word], bit);
        /* The pipe is non-blocking: EAGAIN means it is full, the loop will wake anyway. */
        char byte = 0;
        while (write(atomic_load(&s->wfd), &byte, 1) < 0 && errno == EINTR)
            ;
    }
    atomic_fetch_sub(&rx_sig_busy, 1);
    errno = saved;
}

/* Waits until no handler can still hold a pointer loaded before an unlink or a swap. */
static void rx_sig_quiesce(void)
{
    while (atomic_load(&rx_sig_busy) > 0)
        sched_yield();
}

/*
 * fork(2) copies only the calling thread: a lock held by another thread, or a
 * handler running on one, would stay held or counted in the child forever.
 * Taking the lock around fork keeps the table consistent; the child starts
 * with no handler running.
 */
static void rx_sig_prefork(void)
{
    pthread_mutex_lock(&rx_sig_lock);
}

static void rx_sig_postfork_parent(void)
{
    pthread_mutex_unlock(&rx_sig_lock);
}

static void rx_sig_postfork_child(void)
{
    atomic_store(&rx_sig_busy, 0);
    pthread_mutex_unlock(&rx_sig_lock);
}

static void rx_sig_setup_once(void)
{
    rx_sig_once_err = pthread_atfork(rx_sig_prefork, rx_sig_postfork_parent, rx_sig_postfork_child);
}

/* ---- The reactor's state ---------------------------------------------------- */

static int rx_sig_open_pipe(int p[2])
{
#ifdef __linux__
    /* pipe2(2) sets both flags atomically: no window for a concurrent fork+exec. */
    return pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0 ? -errno : 0;
#else
    int rc;
    if (pipe(p) < 0)
        return -errno;
    if ((rc = rx_set_cloexec_nonblock(p[0])) < 0 || (rc = rx_set_cloexec_nonblock(p[1])) < 0) {
        close(p[0]);
        close(p[1]);
        return rc;
    }
    return 0;
#endif
}

/* The pipe only wakes the wait; what was caught is in `pending`. */
static void rx_sig_readable(reactor_t *r, int fd, unsigned events, void *data)
{
    char buf[64];
    ssize_t n;
    (void)r;
    (void)events;
    (void)data;
    do
        n = read(fd, buf, sizeof buf);
    while (n > 0 || (n < 0 && errno == EINTR));
}

static int rx_sig_state_open(reactor_t *r, struct rx_sigstate **out)
{
    struct rx_sigstate *s = calloc(1, sizeof *s);
    int p[2], rc;
    if (!s)
        return -ENOMEM;
    if ((rc = rx_sig_open_pipe(p)) < 0) {
        free(s);
        return rc;
    }
    s->rfd = p[0];
    atomic_init(&s->wfd, p[1]);
    for (int i = 0; i < RX_SIG_WORDS; i++) {
        atomic_init(&s->watched[i], 0);
        atomic_init(&s->pending[i], 0);
    }
    if ((rc = rx_register_internal(r, s->rfd, rx_sig_readable, s)) < 0) {
        close(p[0]);
        close(p[1]);
        free(s);
        return rc;
    }
    pthread_mutex_lock(&rx_sig_lock);
    atomic_init(&s->next, atomic_load(&rx_sig_head));
    atomic_store(&rx_sig_head, s);
    pthread_mutex_unlock(&rx_sig_lock);
    r->svc.sig = s;
    *out = s;
    return 0;
}

static int rx_sig_valid(int signo)
{
    sigset_t set;
    sigemptyset(&set);
    return signo > 0 && signo < RX_SIG_LIMIT && signo != SIGKILL && signo != SIGSTOP &&
           sigaddset(&set, signo) == 0;
}

/*
 * Makes `signo` one more watcher of this reactor: the first watcher in the
 * process installs the handler; the signal's bit is set in `watched`.
 */
static int rx_sig_watch(struct rx_sigstate *s, int signo)
{
    unsigned word = (unsigned)signo / 32, bit = 1u << ((unsigned)signo % 32);
    int rc;
    pthread_mutex_lock(&rx_sig_lock);
    if (rx_sig_disp[signo].watchers == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = rx_sig_handler;
        /* All signals blocked while it runs: the handler never nests. SA_RESTART
         * spares the host program's blocking calls an EINTR (sigaction(2)); the
         * loop's own wait is woken by the pipe either way. */
        sigfillset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        if (sigaction(signo, &sa, &rx_sig_disp[signo].old) < 0) {
            rc = -errno;
            pthread_mutex_unlock(&rx_sig_lock);
            return rc;
        }
    }
    rx_sig_disp[signo].watchers++;
    atomic_fetch_or(&s->watched[word], bit);
    pthread_mutex_unlock(&rx_sig_lock);
    return 0;
}

/*
 * One watcher fewer; the last in the process restores the disposition.
 * `last`: nothing else of this reactor watches `signo`, so its bit is cleared.
 */
static void rx_sig_unwatch(struct rx_sigstate *s, int signo, int last)
{
    unsigned word = (unsigned)signo / 32, bit = 1u << ((unsigned)signo % 32);
    pthread_mutex_lock(&rx_sig_lock);
    if (last)
        atomic_fetch_and(&s->watched[word], ~bit);
    if (--rx_sig_disp[signo].watchers == 0)
        sigaction(signo, &rx_sig_disp[signo].old, NULL);
    pthread_mutex_unlock(&rx_sig_lock);
}

/* Forgets a delivery of `signo` caught but not dispatched. */
static void rx_sig_forget(struct rx_sigstate *s, int signo)
{
    unsigned word = (unsigned)signo / 32, bit = 1u << ((unsigned)signo % 32);
    atomic_fetch_and(&s->pending[word], ~bit);
    s->firing[word] &= ~bit;
}

/* The process-wide setup and this reactor's state, made by its first watcher
 * of any kind; NULL with *rc set on failure. */
static struct rx_sigstate *rx_sig_state_get(reactor_t *r, int *rc)
{
    struct rx_sigstate *s = NULL;
    pthread_once(&rx_sig_once, rx_sig_setup_once);
    if (rx_sig_once_err)
        *rc = -rx_sig_once_err;
    else if (r->svc.sig)
        s = r->svc.sig;
    else if ((*rc = rx_sig_state_open(r, &s)) < 0)
        s = NULL;
    return s;
}

int reactor_signal_add(reactor_t *r, int signo, reactor_signal_cb cb, void *data)
{
    struct rx_sigstate *s = r->svc.sig;
    int rc;

    if (!cb || !rx_sig_valid(signo))
        return -EINVAL;
    if (s && s->w[signo].cb)
        return -EEXIST;
    if (!(s = rx_sig_state_get(r, &rc)))
        return rc;

    /* A delivery recorded before an earlier remove is not this watcher's;
     * one a hook waits for stays (the new watcher may see it too). */
    if (!s->hook[signo])
        rx_sig_forget(s, signo);
    if ((rc = rx_sig_watch(s, signo)) < 0)
        return rc;

    s->w[signo].cb = cb;
    s->w[signo].data = data;
    s->nwatched++;
    return 0;
}

int reactor_signal_remove(reactor_t *r, int signo)
{
    struct rx_sigstate *s = r->svc.sig;

    if (signo <= 0 || signo >= RX_SIG_LIMIT || !s || !s->w[signo].cb)
        return -ENOENT;
    rx_sig_unwatch(s, signo, !s->hook[signo]);

    /* A delivery already caught but not yet dispatched is dropped with the
     * watcher, unless a hook still waits for it. */
    if (!s->hook[signo])
        rx_sig_forget(s, signo);
    s->w[signo].cb = NULL;
    s->w[signo].data = NULL;
    s->nwatched--;
    if (s->w[signo].weak) {
        s->w[signo].weak = 0;
        s->nweak--;
    }
    return 0;
}

int rx_signal_hook(reactor_t *r, int signo, rx_sig_hook_fn fn)
{
    struct rx_sigstate *s = r->svc.sig;
    int rc;

    if (!fn || !rx_sig_valid(signo))
        return -EINVAL;
    if (s && s->hook[signo])
        return -EEXIST;
    if (!(s = rx_sig_state_get(r, &rc)))
        return rc;
    if (!s->w[signo].cb)
        rx_sig_forget(s, signo);
    if ((rc = rx_sig_watch(s, signo)) < 0)
        return rc;
    s->hook[signo] = fn;
    s->nhooked++;
    return 0;
}

void rx_signal_unhook(reactor_t *r, int signo)
{
    struct rx_sigstate *s = r->svc.sig;

    if (signo <= 0 || signo >= RX_SIG_LIMIT || !s || !s->hook[signo])
        return;
    rx_sig_unwatch(s, signo, !s->w[signo].cb);
    if (!s->w[signo].cb)
        rx_sig_forget(s, signo);
    s->hook[signo] = NULL;
    s->nhooked--;
}

int reactor_signal_set_weak(reactor_t *r, int signo, int weak)
{
    struct rx_sigstate *s = r->svc.sig;
    if (signo <= 0 || signo >= RX_SIG_LIMIT || !s || !s->w[signo].cb)
        return -ENOENT;
    weak = weak != 0;
    if (s->w[signo].weak != weak) {
        s->w[signo].weak = weak;
        s->nweak += weak ? 1 : -1;
    }
    return 0;
}

/* Strong watches only: a weak one fires while the loop runs but does not keep it running. */
int rx_signals_watched(const reactor_t *r)
{
    return r->svc.sig && r->svc.sig->nwatched > r->svc.sig->nweak;
}

/* Whether a caught signal waits for its callback (its pipe byte may have been drained already). */
int rx_signals_caught(const reactor_t *r)
{
    const struct rx_sigstate *s = r->svc.sig;
    if (!s || s->nwatched + s->nhooked == 0)
        return 0;
    for (int i = 0; i < RX_SIG_WORDS; i++)
        if (s->firing[i] || atomic_load(&s->pending[i]))
            return 1;
    return 0;
}

/* Runs the callback of every signal caught since the last call, lowest number first. */
int rx_signals_run(reactor_t *r)
{
    struct rx_sigstate *s = r->svc.sig;
    int ran = 0;
    if (!s || s->nwatched + s->nhooked == 0)
        return 0;
    /* Runs once per loop iteration whenever a signal is watched: the common
     * case (nothing caught) must cost a few loads, not a locked exchange per
     * word and a walk over every signal number (docs/design.md, "The signal
     * check per iteration").
     * A bit the handler sets after the load is taken next time: its pipe byte
     * wakes the loop. */
    unsigned any = 0;
    for (int i = 0; i < RX_SIG_WORDS; i++) {
        if (atomic_load_explicit(&s->pending[i], memory_order_relaxed))
            s->firing[i] |= atomic_exchange(&s->pending[i], 0);
        any |= s->firing[i];
    }
    if (!any)
        return 0;
    for (int signo = 1; signo < RX_SIG_LIMIT && !r->free_pending; signo++) {
        unsigned word = (unsigned)signo / 32, bit = 1u << ((unsigned)signo % 32);
        if (!(s->firing[word] & bit))
            continue;
        /* Cleared before the call; a remove from an earlier callback cleared it too. */
        s->firing[word] &= ~bit;
        /* Bookkeeping only (no callback runs in it): not counted. */
        if (s->hook[signo])
            s->hook[signo](r);
        struct rx_sigwatch w = s->w[signo];
        if (!w.cb)
            continue;
        w.cb(r, signo, w.data);
        ran++;
    }
    return ran;
}

void rx_signals_free(reactor_t *r)
{
    struct rx_sigstate *s = r->svc.sig;
    if (!s)
        return;
    for (int signo = 1; signo < RX_SIG_LIMIT; signo++)
        if (s->w[signo].cb)
            reactor_signal_remove(r, signo);
    for (int signo = 1; signo < RX_SIG_LIMIT; signo++)
        rx_signal_unhook(r, signo);

    pthread_mutex_lock(&rx_sig_lock);
    _Atomic(struct rx_sigstate *) *link = &rx_sig_head;
    while (atomic_load(link) != s)
        link = &atomic_load(link)->next;
    atomic_store(link, atomic_load(&s->next));
    pthread_mutex_unlock(&rx_sig_lock);
    rx_sig_quiesce();

    rx_unregister_internal(r, s->rfd);
    close(s->rfd);
    close(atomic_load(&s->wfd));
    free(s);
    r->svc.sig = NULL;
}

/*
 * In a child after fork(2) the pipe is shared with the parent: the parent's
 * deliveries would wake the child and either process could drain the other's
 * bytes. Give the child its own pipe. Dispositions and the watcher table were
 * inherited with the address space and stay valid.
 */
int rx_signals_reinit(reactor_t *r)
{
    struct rx_sigstate *s = r->svc.sig;
    int p[2], rc;
    if (!s)
        return 0;
    if ((rc = rx_sig_open_pipe(p)) < 0)
        return rc;
    if ((rc = rx_register_internal(r, p[0], rx_sig_readable, s)) < 0) {
        close(p[0]);
        close(p[1]);
        return rc;
    }
    rx_unregister_internal(r, s->rfd);
    int old_rfd = s->rfd;
    int old_wfd = atomic_exchange(&s->wfd, p[1]);
    s->rfd = p[0];
    /* A handler may have loaded the old write end: let it finish before closing,
     * or its byte could land in whatever file reuses the number. */
    rx_sig_quiesce();
    close(old_rfd);
    close(old_wfd);

    /* A delivery whose byte went to the old pipe must still wake this loop. */
    for (int i = 0; i < RX_SIG_WORDS; i++) {
        if (atomic_load(&s->pending[i]) || s->firing[i]) {
            char byte = 0;
            (void)!write(p[1], &byte, 1);
            break;
        }
    }
    return 0;
}
