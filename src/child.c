/*
 * child.c - child process watchers: reap a watched child when it exits and
 * run its callback on the loop thread, once.
 *
 * Reaping is per pid: waitpid(pid, WNOHANG) for a watched pid, never
 * waitpid(-1), so a child the program did not ask about stays the program's
 * to reap. Two ways to hear of an exit:
 *
 *  - Linux, epoll/poll/select: a pidfd (pidfd_open(2), kernel 5.3) per watch,
 *    an internal registration of the reactor. It becomes readable when the
 *    child exits; its callback only marks the watch and sets `due` (internal
 *    callbacks also run under reactor_select, which runs no services).
 *    Nothing process-wide is touched: SIGCHLD keeps the program's disposition.
 *  - elsewhere: SIGCHLD, through the reactor's signal machinery (signal.c) as
 *    an internal hook, so the program's own reactor_signal_add(SIGCHLD) keeps
 *    its watch and its callback. Every caught SIGCHLD makes each watch on
 *    this path try waitpid once (SIGCHLDs coalesce, so one may stand for
 *    several exits). Used when pidfd_open fails with ENOSYS (kernels before
 *    5.3, qemu-user, which the cross-architecture CI runs on) or EPERM (a
 *    seccomp filter that predates it; the reactor then stays on this path),
 *    with the kqueue backend, and when RX_TEST_NO_PIDFD is set non-empty at
 *    reactor_new (for the tests, which cover both paths on Linux).
 *
 * Why not kqueue's EVFILT_PROC/NOTE_EXIT on the kqueue backend: it would need
 * a second kind of kernel registration through the backend seam (which
 * carries only fd readiness), and the emulation the kqueue backend is tested
 * with on Linux (tests/kqueue_emu) has no EVFILT_PROC, so that path could not
 * be tested here. SIGCHLD works the same under every backend.
 *
 * The callbacks run in the services phase, rx_children_run, right after the
 * signal callbacks. A watch is reaped there, not when its pidfd is reported,
 * so a reactor_child_remove() at any time before the callback leaves the
 * child unreaped, as documented.
 *
 * An exited child that is not reaped yet (a zombie) is accepted by
 * reactor_child_add: its pidfd is readable at once, and on the SIGCHLD path
 * the add sets `due` (its SIGCHLD may have come before the hook existed).
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* syscall(2) */
#endif
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include "internal.h"

/* A pidfd for `pid`, or -errno; -ENOSYS where there is no pidfd_open. */
static int rx_pidfd_open(pid_t pid)
{
#if defined(__linux__) && defined(SYS_pidfd_open)
    /* Close-on-exec always (pidfd_open(2)); it is never read, so blocking does not matter. */
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
#else
    (void)pid;
    return -ENOSYS;
#endif
}

void rx_children_init(reactor_t *r)
{
    struct rx_children *c = &r->svc.children;
    const char *env = getenv("RX_TEST_NO_PIDFD");
    memset(c, 0, sizeof *c);
    c->no_pidfd = (env && *env) || strcmp(r->ops->name, "kqueue") == 0;
#ifndef __linux__
    c->no_pidfd = 1;
#endif
}

static struct rx_child *rx_child_find(const reactor_t *r, pid_t pid)
{
    const struct rx_children *c = &r->svc.children;
    for (uint32_t i = 0; i < c->len; i++)
        if (c->w[i].pid == pid)
            return &c->w[i];
    return NULL;
}

/* A watched child's pidfd is readable: it exited. Reaped in rx_children_run. */
static void rx_child_pidfd_readable(reactor_t *r, int fd, unsigned events, void *data)
{
    struct rx_children *c = &r->svc.children;
    (void)events;
    (void)data;
    for (uint32_t i = 0; i < c->len; i++)
        if (c->w[i].pidfd == fd) {
            c->w[i].exited = 1;
            c->due = 1;
            return;
        }
}

/* SIGCHLD was caught: some child changed state. */
static void rx_child_sigchld(reactor_t *r)
{
    if (r->svc.children.nsigchld > 0)
        r->svc.children.due = 1;
}

/* Forgets watch i without reaping: closes its pidfd or lets go of SIGCHLD. */
static void rx_child_drop(reactor_t *r, uint32_t i)
{
    struct rx_children *c = &r->svc.children;
    struct rx_child *w = &c->w[i];
    if (w->pidfd >= 0) {
        rx_unregister_internal(r, w->pidfd);
        close(w->pidfd);
    } else if (--c->nsigchld == 0) {
        rx_signal_unhook(r, SIGCHLD);
    }
    if (!w->weak)
        c->nstrong--;
    memmove(w, w + 1, (size_t)(c->len - i - 1) * sizeof *w);
    c->len--;
}

int reactor_child_add(reactor_t *r, int pid, reactor_child_cb cb, void *data)
{
    struct rx_children *c = &r->svc.children;
    siginfo_t si;
    int rc, pidfd = -1;

    if (pid <= 0 || !cb)
        return -EINVAL;
    if (rx_child_find(r, pid))
        return -EEXIST;
    /* Ours and not reaped? WNOWAIT leaves an exited child a zombie. */
    memset(&si, 0, sizeof si);
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
        if (errno != EINTR)
            return -errno; /* ECHILD: not our child, or reaped already */
    if (c->len == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 4;
        struct rx_child *w = realloc(c->w, (size_t)cap * sizeof *w);
        if (!w)
            return -ENOMEM;
        c->w = w;
        c->cap = cap;
    }
    if (!c->no_pidfd) {
        pidfd = rx_pidfd_open(pid);
        if (pidfd == -ENOSYS || pidfd == -EPERM) {
            c->no_pidfd = 1; /* no pidfd in this process: do not try again */
            pidfd = -1;
        } else if (pidfd < 0) {
            return pidfd;
        } else if ((rc = rx_register_internal(r, pidfd, rx_child_pidfd_readable, NULL)) < 0) {
            close(pidfd);
            return rc;
        }
    }
    if (pidfd < 0) {
        if (c->nsigchld == 0 && (rc = rx_signal_hook(r, SIGCHLD, rx_child_sigchld)) < 0)
            return rc;
        c->nsigchld++;
        /* Its SIGCHLD may have come before the hook: look in the next iteration. */
        c->due = 1;
    }
    struct rx_child *w = &c->w[c->len++];
    memset(w, 0, sizeof *w);
    w->cb = cb;
    w->data = data;
    w->pid = pid;
    w->pidfd = pidfd;
    w->pass = c->pass; /* not looked at by a pass already running */
    c->nstrong++;
    return 0;
}

int reactor_child_remove(reactor_t *r, int pid)
{
    struct rx_child *w = pid > 0 ? rx_child_find(r, pid) : NULL;
    if (!w)
        return -ENOENT;
    rx_child_drop(r, (uint32_t)(w - r->svc.children.w));
    return 0;
}

int reactor_child_set_weak(reactor_t *r, int pid, int weak)
{
    struct rx_child *w = pid > 0 ? rx_child_find(r, pid) : NULL;
    if (!w)
        return -ENOENT;
    weak = weak != 0;
    if (weak != w->weak)
        r->svc.children.nstrong += weak ? (uint32_t)-1 : 1u;
    w->weak = (uint8_t)weak;
    return 0;
}

int rx_children_watched(const reactor_t *r)
{
    return r->svc.children.nstrong > 0;
}

int rx_children_due(const reactor_t *r)
{
    return r->svc.children.due;
}

/*
 * Reaps every watched child that exited and runs its callback. A callback
 * may add and remove watches (and so move the array): after each one the
 * scan starts over, skipping the watches this pass already looked at (their
 * `pass`), which also skips the ones added during the pass: those are looked
 * at in the next iteration (an add sets `due`, or its pidfd wakes the wait).
 */
int rx_children_run(reactor_t *r)
{
    struct rx_children *c = &r->svc.children;
    if (!c->due)
        return 0;
    c->due = 0;
    uint32_t pass = ++c->pass;
    int ran = 0;
    uint32_t i = 0;
    while (i < c->len && !r->free_pending) {
        struct rx_child *w = &c->w[i];
        if (w->pass == pass || (w->pidfd >= 0 && !w->exited)) {
            i++;
            continue;
        }
        w->pass = pass;
        int status = 0;
        pid_t got;
        while ((got = waitpid(w->pid, &status, WNOHANG)) < 0 && errno == EINTR)
            ;
        if (got == 0) { /* still running: a SIGCHLD for another child */
            w->exited = 0;
            i++;
            continue;
        }
        /* Reaped (got == pid), or reaped by someone else (ECHILD): the watch is gone. */
        struct rx_child done = *w;
        rx_child_drop(r, i);
        if (got == done.pid) {
            done.cb(r, done.pid, status, done.data);
            ran++;
            i = 0;
        }
    }
    return ran;
}

void rx_children_free(reactor_t *r)
{
    struct rx_children *c = &r->svc.children;
    while (c->len > 0)
        rx_child_drop(r, c->len - 1);
    free(c->w);
    c->w = NULL;
    c->cap = 0;
    c->due = 0;
}

/*
 * In a child after fork(2): the watched pids are the parent's children, not
 * this process's, and the pidfds are the parent's files. Drop every watch
 * (closing this process's copies of the pidfds); nothing is reaped.
 */
void rx_children_reinit(reactor_t *r)
{
    struct rx_children *c = &r->svc.children;
    while (c->len > 0)
        rx_child_drop(r, c->len - 1);
    c->due = 0;
}
