/*
 * internal.h - the reactor object and the functions the core's files share.
 *
 * Naming: `reactor_` is public API, `rx_` is internal (never exported; the
 * library is built with hidden visibility).
 */
#ifndef RX_INTERNAL_H
#define RX_INTERNAL_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "../backends/backend.h"
#include "reactor.h"
#include "services.h"

#define RX_EVENT_MASK (REACTOR_READ | REACTOR_WRITE)
#define RX_ALL_FLAGS (REACTOR_READ | REACTOR_WRITE | REACTOR_EDGE | REACTOR_ONESHOT)

/* rx_fd.flags */
enum {
    RX_FD_USED = 1u << 0,     /* a registration lives here */
    RX_FD_INTERNAL = 1u << 1, /* the reactor's own fd (wakeup, signals): invisible to the API */
    RX_FD_DIRTY = 1u << 2, /* queued in reactor.dirty: kernel state to reconcile before the wait */
    RX_FD_FIRED = 1u << 3, /* a ONESHOT registration that fired: disarmed until modified */
    RX_FD_WEAK = REACTOR_WEAK, /* does not keep reactor_run() going; never given to a backend */
};

/*
 * One slot of the fd table, indexed by fd. The fields dispatch reads for every
 * event (fast, events, cb, data) are kept together in 32 bytes.
 */
struct rx_fd {
    reactor_cb cb;
    void *data;
    uint32_t gen; /* registration generation; 0 = never used. Also the kernel tag. */
    /*
     * gen while a report tagged with it can go straight to the callback: a
     * user registration with a callback, the kernel armed with exactly the
     * registered events (so the reported events, masked, are never empty),
     * not a fired ONESHOT. Otherwise 0, which no tag equals, and the
     * dispatch loop takes the careful path. Kept by rx_fd_sync (register.c)
     * after every change to the fields it depends on.
     */
    uint32_t fast;
    uint32_t mark;  /* batch merge: slot + 1 in the batch being collected, 0 = not in it */
    uint8_t events; /* registered REACTOR_* bits */
    uint8_t kernel; /* what the backend currently has armed (REACTOR_* | RX_IN_KERNEL) */
    uint8_t flags;  /* RX_FD_* */
    /* reactor.batch_seq when this fd was last registered or unregistered: lets
     * the one-pass dispatch tell an event made stale by a callback of its own
     * batch from one the kernel keeps sending for a file we could not delete. */
    uint8_t touched;
};
_Static_assert(sizeof(struct rx_fd) <= 32 || sizeof(void *) > 8, "an fd slot is 32 bytes");

/* An event collected from the backend, with the generation it was reported for. */
struct rx_pending {
    int fd;
    unsigned events;
    uint32_t gen;
};

/* A hook (hook.c); id 0 marks one removed while hooks run. */
struct rx_hook {
    int64_t id;
    unsigned when;
    reactor_hook_cb cb;
    void *data;
};

struct rx_hooks {
    struct rx_hook *v; /* in the order added */
    int n, cap;
    int running; /* rx_hooks_run is on the stack: removals only mark */
    int removed; /* marked entries wait for compaction */
    int64_t last_id;
};

struct reactor {
    const struct rx_backend *ops;
    void *state; /* the backend's */
    pid_t owner; /* the process that made `state` (reactor_new, reactor_reinit) */

    struct rx_fd *fds; /* indexed by fd, grown on demand */
    int nfds;          /* capacity of fds */
    int count;         /* user registrations */
    int nweak;         /* of which REACTOR_WEAK: reactor_run() ends when count == nweak */
    int ninternal;     /* the reactor's own registrations (wakeup, signals) */
    int noneshot;      /* user registrations with REACTOR_ONESHOT: they need the collecting path */
    uint32_t last_gen; /* generations are never 0 */

    int *dirty; /* fds whose kernel state differs from what was asked */
    int ndirty, dirty_cap;

    struct rx_ready *ready;   /* backend output: ready_cap entries per rx_reports_per_fd() */
    struct rx_pending *batch; /* collected events, validated again at dispatch */
    int ready_cap;            /* fds one wait can report: what is registered */
    struct rx_ready *spill;   /* RX_FEAT_TWO_REPORTS: reports a full batch left for the next */
    int nspill;
    int rebuild; /* the backend reported a file we cannot remove: rebuild before waiting */
    uint8_t
        batch_seq; /* counts batches; see rx_fd.touched (wraps: at worst a rebuild waits a batch) */

    int dispatching;  /* > 0 while callbacks run: nested waits are refused */
    int free_pending; /* reactor_free() was called from a callback */
    atomic_int stop;  /* reactor_stop() requested */

    int wake_rfd, wake_wfd;  /* eventfd (both equal) or a pipe; wakes a blocked wait */
    atomic_int wake_pending; /* a wakeup byte is in flight: further wakes are free */

    /* Cached CLOCK_MONOTONIC, read once per iteration; turned into ms only
     * when asked (rx_now_ms), which a loop without timers never does. */
    struct timespec now;

    struct rx_services svc; /* timers, signals, posts, work pool: src/services.h */
    struct rx_hooks hooks;  /* hook.c; checked once per iteration */
};

/* fdtable.c */
int rx_fd_reserve(reactor_t *r, int fd);
static inline struct rx_fd *rx_fd_get(const reactor_t *r, int fd)
{
    return fd < r->nfds ? &r->fds[fd] : 0;
}
int rx_ready_reserve(reactor_t *r, int n);
/* Reports one wait may return per fd: 2 for RX_FEAT_TWO_REPORTS backends. */
static inline int rx_reports_per_fd(const reactor_t *r)
{
    return (r->ops->features & RX_FEAT_TWO_REPORTS) ? 2 : 1;
}

/* register.c */
int rx_register_internal(reactor_t *r, int fd, reactor_cb cb, void *data);
void rx_unregister_internal(reactor_t *r, int fd);
int rx_flush_changes(reactor_t *r, struct rx_pending *failed, int max);
void rx_oneshot_fired(reactor_t *r, int fd, struct rx_fd *e, unsigned reported);
int rx_rebuild_backend(reactor_t *r);
void rx_disown_kernel(reactor_t *r);

/* dispatch.c */
void rx_update_now(reactor_t *r);
static inline uint64_t rx_now_ms(const reactor_t *r)
{
    return (uint64_t)r->now.tv_sec * 1000u + (uint64_t)r->now.tv_nsec / 1000000u;
}
static inline uint64_t rx_now_ns(const reactor_t *r)
{
    return (uint64_t)r->now.tv_sec * 1000000000u + (uint64_t)r->now.tv_nsec;
}

/* reactor.c */
void rx_destroy(reactor_t *r); /* reactor_free() once no callback is running */

/* hook.c */
void rx_hooks_run(reactor_t *r, unsigned when); /* with r->dispatching raised */
void rx_hooks_free(reactor_t *r);

/* wakeup.c */
int rx_wakeup_open(reactor_t *r);
void rx_wakeup_close(reactor_t *r);
void rx_wakeup(reactor_t *r); /* async-signal-safe, thread-safe */
void rx_wakeup_drain(reactor_t *r);

/* util.c (src/win32/util.c on Windows) */
int rx_set_cloexec_nonblock(int fd); /* POSIX only */
/* A thread's saved signal mask. MinGW has no sigset_t (and Windows no
 * per-thread signal mask to save): the one platform test of the core. */
#ifdef _WIN32
typedef int rx_sigmask_t;
#else
typedef sigset_t rx_sigmask_t;
#endif
void rx_block_signals(rx_sigmask_t *old); /* all of them, in this thread; see util.c */
void rx_restore_signals(const rx_sigmask_t *old);
/* `size` bytes aligned to `align` (a power of two, a multiple of sizeof(void *)),
 * or NULL; freed only by rx_aligned_free (Windows has its own allocator for them). */
void *rx_aligned_alloc(size_t align, size_t size);
void rx_aligned_free(void *p);

/*
 * Services (timers, signals, posts, work pool, fork), implemented in their own
 * files against these hooks; see services.h.
 */
int rx_services_init(reactor_t *r);
void rx_services_free(reactor_t *r);
/*
 * Nothing for any service to do or wait for: no timer in the heap, no signal
 * watched, no child to reap, no post queued, no work completed. Read inline
 * on every iteration so a loop that only watches fds does not pay for the
 * calls into five modules (docs/design.md, "The services' idle check").
 */
static inline int rx_services_idle(reactor_t *r)
{
    /* One test of the five ORed, not five branches: in the common case every
     * one of them is read anyway. */
    return (r->svc.timers.len | (r->svc.sig != NULL) | r->svc.children.due |
            atomic_load(&r->svc.posts.queued) | (size_t)atomic_load(&r->svc.work.completed)) == 0;
}
int rx_services_timeout(reactor_t *r, int timeout_ms); /* shorten to the next deadline */
int rx_services_run(reactor_t *r);                     /* callbacks run */
int rx_services_alive(const reactor_t *r);             /* keeps reactor_run going */
int rx_services_reinit(reactor_t *r);                  /* after fork */

#endif /* RX_INTERNAL_H */
