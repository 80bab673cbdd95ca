/*
 * services.h - per-reactor state of the loop services: timers, signals,
 * child processes, cross-thread posts and the work pool. Owned by
 * src/timer.c, src/signal.c, src/child.c, src/post.c and src/work.c; the
 * core only calls the rx_services_* hooks declared in internal.h, and
 * src/services.c fans them out to the modules.
 *
 * Everything here is embedded in struct reactor (r->svc), so a reactor that
 * never uses a service pays no allocation for it: the timer arrays grow on the
 * first timer, the signal pipe is opened by the first reactor_signal_add() (or
 * the first child watch on the SIGCHLD path), the child array by the first
 * reactor_child_add() and the pool threads start with the first
 * reactor_queue_work().
 */
#ifndef RX_SERVICES_H
#define RX_SERVICES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "reactor.h"

/* ---- Timers (src/timer.c) ------------------------------------------------ */

/*
 * One heap entry, 16 bytes: a node's four children fill one 64-byte cache
 * line. The deadline and the order are kept in the heap itself so that
 * sifting never dereferences a timer's record.
 */
struct rx_heap_entry {
    uint64_t deadline; /* fire when reactor_now() >= deadline */
    uint64_t order;    /* seq << 32 | slot: equal deadlines fire in seq (insertion) order */
};

/* The part of a timer's slot that only firing reads (the generation and live bit are apart). */
struct rx_timer {
    reactor_timer_cb cb;
    void *data;
    uint64_t repeat_ms; /* 0: one-shot */
};

/*
 * Pending timers (see timer.c for the structure and its invariants). Every
 * slot below nslots is in exactly one state: armed (live bit set, one heap
 * entry), dead (cancelled, live bit clear, its entry still in the heap),
 * free (no heap entry; on the free stack or at or above `fresh`) or retired
 * (gen 0, no heap entry; skipped if found on the stack or above `fresh`).
 */
struct rx_timers {
    struct rx_heap_entry *heap; /* 4-ary min-heap on (deadline, order), live and dead entries */
    void *heap_mem;             /* the allocation heap points into (see timer.c) */
    uint32_t len, cap;
    uint32_t nlive;          /* armed timers; the other len - nlive entries are dead */
    struct rx_timer *timers; /* by slot */
    uint32_t *gen;           /* by slot: generation of its current or next id; 0: retired */
    uint64_t *live;          /* bitmap by slot: armed */
    uint64_t *weak;          /* bitmap by slot: armed and weak; NULL until the first weak timer */
    uint32_t nweak;          /* bits set in weak: reactor_run ends when nlive == nweak */
    uint32_t *free;          /* stack of free slots, nfree of them */
    uint32_t nfree;
    uint32_t fresh;             /* slots fresh..nslots-1 are free too */
    uint32_t nslots, slots_cap; /* slots created so far; slots the arrays have room for */
    uint32_t next_seq;          /* renumbered before it wraps (see timer.c) */
    uint32_t horizon;           /* during rx_timers_run: timers with seq >= horizon wait */
};

/* ---- Signals (src/signal.c) ---------------------------------------------- */

/* The reactor's part of the signal machinery, allocated by the first reactor_signal_add(). */
struct rx_sigstate;

/* An internal watcher of a signal (see rx_signal_hook in signal.c). */
typedef void (*rx_sig_hook_fn)(reactor_t *r);

/* ---- Child processes (src/child.c) ----------------------------------------- */

/* One watched child. */
struct rx_child {
    reactor_child_cb cb;
    void *data;
    pid_t pid;
    int pidfd;      /* an internal registration; -1: the SIGCHLD path */
    uint32_t pass;  /* rx_children.pass when last looked at (see rx_children_run) */
    uint8_t weak;   /* does not keep reactor_run() going */
    uint8_t exited; /* pidfd path: the pidfd was readable, reap in the services phase */
};

struct rx_children {
    struct rx_child *w; /* unordered; a handful, searched by pid */
    uint32_t len, cap;
    uint32_t nstrong;  /* watches that are not weak */
    uint32_t nsigchld; /* watches on the SIGCHLD path: the hook is set while > 0 */
    uint32_t pass;
    /* Something may be reapable: a pidfd was readable, SIGCHLD was caught or
     * a SIGCHLD-path watch was added. Read by rx_services_idle. */
    int due;
    int no_pidfd; /* use the SIGCHLD path: not Linux, kqueue, ENOSYS seen, RX_TEST_NO_PIDFD */
};

/* ---- Cross-thread posts (src/post.c) -------------------------------------- */

struct rx_post_node {
    struct rx_post_node *next;
    reactor_post_cb fn;
    void *data;
};

struct rx_posts {
    pthread_mutex_t lock; /* guards the rest: reactor_post() is called from any thread */
    struct rx_post_node *head, *tail;
    struct rx_post_node *spare; /* nodes that ran, kept for the next posts */
    atomic_uint nspare;         /* written under the lock; a post peeks without it */
    atomic_int queued;          /* 1 while head != NULL; read without the lock */
    atomic_int closed;          /* reactor_free() was called: posts fail with -ESHUTDOWN */
};

/* ---- Work pool (src/work.c) ----------------------------------------------- */

struct rx_work;

/* A doubly-linked list of work items; cancel unlinks from the middle. */
struct rx_work_list {
    struct rx_work *head, *tail;
};

struct rx_workpool {
    pthread_mutex_t lock; /* guards the three lists, `stopping` and the workers' view */
    pthread_cond_t wake;  /* signalled when work is queued or the pool stops */
    struct rx_work_list queued, running, done;
    int stopping;         /* under lock: workers exit (reactor_free has emptied the queue) */
    pthread_t *threads;   /* loop thread only */
    unsigned nthreads;    /* threads started; 0 = pool not started */
    pid_t owner;          /* the process that started the threads: only there do they exist */
    unsigned size;        /* from reactor_set_threadpool_size(), 0 = not set */
    int64_t last_id;      /* loop thread only */
    int inflight;         /* loop thread only: queued until its done ran */
    atomic_int completed; /* the done list is not empty; read without the lock */
};

struct rx_services {
    struct rx_timers timers;
    struct rx_sigstate *sig; /* NULL until the first reactor_signal_add() */
    struct rx_children children;
    struct rx_posts posts;
    struct rx_workpool work;
};

/*
 * What each module offers src/services.c. Functions taking reactor_t run on
 * the loop thread unless their public counterpart says otherwise.
 */
void rx_timers_init(reactor_t *r);
void rx_timers_free(reactor_t *r);
int rx_timers_timeout(reactor_t *r, int timeout_ms); /* drops cancelled timers on top */
int rx_timers_run(reactor_t *r);
int rx_timers_pending(const reactor_t *r);

void rx_signals_free(reactor_t *r);
int rx_signals_run(reactor_t *r);
int rx_signals_watched(const reactor_t *r);
int rx_signals_caught(const reactor_t *r);
int rx_signals_reinit(reactor_t *r);
/* Internal watchers: `fn` runs in the services phase after `signo` was caught. */
int rx_signal_hook(reactor_t *r, int signo, rx_sig_hook_fn fn);
void rx_signal_unhook(reactor_t *r, int signo);

void rx_children_init(reactor_t *r);
void rx_children_free(reactor_t *r);
int rx_children_run(reactor_t *r);
int rx_children_watched(const reactor_t *r); /* watches that are not weak */
int rx_children_due(const reactor_t *r);
void rx_children_reinit(reactor_t *r);

int rx_posts_init(reactor_t *r);
void rx_posts_free(reactor_t *r);
int rx_posts_run(reactor_t *r);
int rx_posts_queued(const reactor_t *r);
int rx_posts_reinit(reactor_t *r);
void rx_posts_close(reactor_t *r); /* from reactor_free(), before anything is freed */

int rx_work_init(reactor_t *r);
void rx_work_free(reactor_t *r);
int rx_work_run(reactor_t *r);
int rx_work_inflight(const reactor_t *r);
int rx_work_completed(const reactor_t *r);
int rx_work_reinit(reactor_t *r);

#endif /* RX_SERVICES_H */
