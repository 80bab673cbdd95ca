/*
 * kqueue_emu.c - TEST-ONLY kqueue() and kevent() for Linux, written from the
 * FreeBSD and macOS kqueue(2) manual pages, so that backends/kqueue.c runs
 * the whole test suite on this machine. Linked only into the test build of
 * the library (reactor_kqemu), never into what is installed. README.md lists
 * what is emulated, from which statement of the page, and what is not.
 *
 * This file: which descriptors are emulated kqueues, creating one, and the
 * changelist half of kevent(). Knotes are in emu_knote.c, waiting in
 * emu_scan.c.
 *
 * kevent() receives only a descriptor number, so the emulation needs one
 * process-wide table from kqueue descriptors to their state - exactly the
 * kind of global the library itself must not have; acceptable in a test
 * tool, and guarded by a mutex so that reactors on several threads work.
 * Each emulated kqueue is used by one thread at a time, as the reactor does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "emu.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct registry_slot {
    struct rx_emu_kq *q;
} * registry; /* indexed by the kqueue descriptor */
static int registry_len;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A fork while another thread holds the lock would leave it locked forever
 * in the child, whose reactor_reinit() calls kqueue(): hold it across fork. */
static void lock_registry(void)
{
    pthread_mutex_lock(&registry_lock);
}

static void unlock_registry(void)
{
    pthread_mutex_unlock(&registry_lock);
}

static int kq_open(const struct rx_emu_kq *q);

/*
 * kqueue(2): "The queue is not inherited by a child created with fork(2)" -
 * FreeBSD and XNU do not copy kqueue descriptors, so in the child their
 * numbers are free. Linux copied ours: close them in the child. Only those
 * of open kqueues: the number of one its owner closed may name anything now.
 */
static void child_after_fork(void)
{
    for (int i = 0; i < registry_len; i++) {
        struct rx_emu_kq *q = registry[i].q;
        if (!q)
            continue;
        if (kq_open(q))
            close(q->ep);
        for (int f = 0; f < RX_EMU_NFILTERS; f++)
            if (q->sets[f] >= 0)
                close(q->sets[f]);
        q->sets[RX_EMU_READ] = q->sets[RX_EMU_WRITE] = -1; /* freed by the next kqueue() */
    }
    unlock_registry();
}

static void install_atfork(void)
{
    (void)pthread_atfork(lock_registry, unlock_registry, child_after_fork);
}

static void kq_free(struct rx_emu_kq *q)
{
    for (int i = 0; i < RX_EMU_NFILTERS; i++)
        if (q->sets[i] >= 0)
            close(q->sets[i]);
    free(q->fds);
    free(q->evbuf);
    free(q);
}

/*
 * Whether q->ep is still the epoll set we made. Its close is invisible to us;
 * but only our own set holds sets[0], so EPOLL_CTL_MOD of it through the
 * number fails once the number was closed or names anything else.
 */
static int kq_open(const struct rx_emu_kq *q)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = RX_EMU_READ};
    return q->sets[0] >= 0 && epoll_ctl(q->ep, EPOLL_CTL_MOD, q->sets[0], &ev) == 0;
}

/* Closed by its owner, or left over from the parent process. */
static int kq_gone(const struct rx_emu_kq *q)
{
    return q->pid != getpid() || !kq_open(q);
}

/* Frees the state of kqueues that are gone, which also releases their inner sets. */
static void collect_garbage(void)
{
    for (int i = 0; i < registry_len; i++)
        if (registry[i].q && kq_gone(registry[i].q)) {
            kq_free(registry[i].q);
            registry[i].q = NULL;
        }
}

static int link_set(struct rx_emu_kq *q, int filt, int set)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)filt};
    return epoll_ctl(q->ep, EPOLL_CTL_ADD, set, &ev);
}

int rx_emu_replace_set(struct rx_emu_kq *q, int filt, int set)
{
    lock_registry(); /* kq_gone() must never see the swap half done */
    if (link_set(q, filt, set) < 0) {
        unlock_registry();
        close(set);
        return -1;
    }
    int old = q->sets[filt];
    q->sets[filt] = set;
    (void)epoll_ctl(q->ep, EPOLL_CTL_DEL, old, &(struct epoll_event){0});
    unlock_registry();
    close(old);
    return 0;
}

static int kq_register(struct rx_emu_kq *q)
{
    lock_registry();
    collect_garbage(); /* also any state left at q->ep: that number was closed */
    if (q->ep >= registry_len) {
        int n = q->ep + 64;
        struct registry_slot *t = realloc(registry, (size_t)n * sizeof *t);
        if (!t) {
            unlock_registry();
            return ENOMEM;
        }
        memset(t + registry_len, 0, (size_t)(n - registry_len) * sizeof *t);
        registry = t;
        registry_len = n;
    }
    registry[q->ep].q = q;
    unlock_registry();
    return 0;
}

static struct rx_emu_kq *kq_lookup(int kq)
{
    lock_registry();
    struct rx_emu_kq *q = kq >= 0 && kq < registry_len ? registry[kq].q : NULL;
    unlock_registry();
    return q && q->pid == getpid() ? q : NULL;
}

/*
 * "The kqueue() system call creates a new kernel event queue and returns a
 * descriptor." Not close-on-exec, as on macOS (FreeBSD has kqueuex() for
 * that); the backend sets FD_CLOEXEC itself.
 */
int kqueue(void)
{
    struct rx_emu_kq *q = calloc(1, sizeof *q);
    if (!q) {
        errno = ENOMEM;
        return -1;
    }
    pthread_once(&atfork_once, install_atfork);
    q->sets[RX_EMU_READ] = q->sets[RX_EMU_WRITE] = -1;
    q->pid = getpid();
    int err = 0;
    q->ep = epoll_create1(0);
    if (q->ep < 0) {
        err = errno;
        kq_free(q);
        errno = err;
        return -1;
    }
    for (int i = 0; i < RX_EMU_NFILTERS && !err; i++) {
        q->sets[i] = epoll_create1(EPOLL_CLOEXEC);
        if (q->sets[i] < 0 || link_set(q, i, q->sets[i]) < 0)
            err = errno;
    }
    if (!err)
        err = kq_register(q);
    if (err) {
        close(q->ep);
        kq_free(q);
        errno = err;
        return -1;
    }
    return q->ep;
}

/*
 * kevent(): applies the changelist in order, then waits for events.
 * "If an error occurs while processing an element of the changelist and there
 * is enough room in the eventlist, then the event will be placed in the
 * eventlist with EV_ERROR set in flags and the system error in data.
 * Otherwise, -1 will be returned, and errno will be set to indicate the error
 * condition." EV_RECEIPT "is useful for making bulk changes to a kqueue
 * without draining any pending events": every such change gets an EV_ERROR
 * entry, data 0 when it succeeded. As in FreeBSD's and XNU's kevent(), an
 * error with no room left stops the changelist there, and a call that placed
 * any EV_ERROR entry returns them at once, without collecting events or
 * waiting. A receipt that finds no room is skipped (XNU).
 */
int kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
           int nevents, const struct timespec *timeout)
{
    struct rx_emu_kq *q = kq_lookup(kq);
    if (!q) {
        errno = EBADF;
        return -1;
    }
    if (nchanges < 0 || nevents < 0) {
        errno = EINVAL;
        return -1;
    }
    int placed = 0;
    for (int i = 0; i < nchanges; i++) {
        struct kevent ch = changelist[i]; /* a copy: the two lists may be one array */
        int err = rx_emu_apply(q, &ch);
        if (!err && !(ch.flags & EV_RECEIPT))
            continue;
        if (placed == nevents) {
            if (!err)
                continue;
            errno = err;
            return -1;
        }
        ch.flags = EV_ERROR; /* FreeBSD replaces the flags; XNU adds EV_ERROR to them */
        ch.data = err;
        eventlist[placed++] = ch;
    }
    if (placed > 0 || nevents == 0)
        return placed;
    if (timeout &&
        (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000L)) {
        errno = EINVAL; /* "The specified time limit or filter is invalid." */
        return -1;
    }
    return rx_emu_scan(q, eventlist, nevents, timeout);
}
