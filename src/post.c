/*
 * post.c - callbacks handed to the loop thread from any thread.
 *
 * A FIFO of nodes behind a mutex. Only the post that finds the queue empty
 * wakes the loop (rx_wakeup, an eventfd or pipe write): the loop takes the
 * whole queue at once, so every later post until then rides on that one
 * wakeup, and a burst of posts between two iterations costs one system call.
 * A post that arrives after the loop took the queue finds it empty again and
 * wakes the next wait; none is left waiting for a wakeup that already happened.
 *
 * The loop runs what it took in one go; posts made meanwhile (including from
 * the posted callbacks) wait for the next iteration, so a callback that posts
 * itself cannot starve I/O.
 *
 * Nodes that ran are kept on a spare list (up to RX_POST_SPARE of them) and
 * the next posts take them under the lock they take anyway: a steady stream
 * of posts allocates nothing once the list has grown to what is in flight,
 * and no node is freed on one thread after being allocated on another, the
 * cross-thread free that dominated the profile of the malloc-per-post queue.
 * `queued` is a flag written once per batch, not a counter touched by every
 * post and every run: a counter bounced its cache line between producer and
 * loop at each post.
 *
 * Lifetime. A post made while the loop is stopping, or while no loop runs,
 * stays queued and runs in the next iteration of any later reactor_run() or
 * reactor_run_once(); a queued post keeps reactor_run() going. reactor_free()
 * frees queued posts without calling them (their data is the caller's), and
 * must not race with reactor_post() from another thread: the caller must stop
 * posting first, as for any use of a freed object.
 */
/* ESHUTDOWN is outside POSIX: macOS shows it only with its own extensions. */
#if defined(__APPLE__) && !defined(_DARWIN_C_SOURCE)
#define _DARWIN_C_SOURCE
#endif
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

/* Enough for the bursts the loop takes in one iteration; 32 KiB at most on
 * x86-64 (24-byte nodes plus malloc's header). */
#define RX_POST_SPARE 1024u

/* nspare is written under the lock only; it is atomic for reactor_post()'s peek. */
static void rx_posts_add_spare(struct rx_posts *p, unsigned delta)
{
    unsigned n = atomic_load_explicit(&p->nspare, memory_order_relaxed);
    atomic_store_explicit(&p->nspare, n + delta, memory_order_relaxed);
}

int rx_posts_init(reactor_t *r)
{
    struct rx_posts *p = &r->svc.posts;
    p->head = p->tail = p->spare = NULL;
    atomic_init(&p->nspare, 0);
    atomic_init(&p->queued, 0);
    atomic_init(&p->closed, 0);
    int rc = pthread_mutex_init(&p->lock, NULL);
    return -rc;
}

static void rx_post_nodes_free(struct rx_post_node *n)
{
    while (n) {
        struct rx_post_node *next = n->next;
        free(n);
        n = next;
    }
}

void rx_posts_free(reactor_t *r)
{
    struct rx_posts *p = &r->svc.posts;
    rx_post_nodes_free(p->head);
    rx_post_nodes_free(p->spare);
    p->head = p->tail = p->spare = NULL;
    atomic_store_explicit(&p->nspare, 0, memory_order_relaxed);
    atomic_store(&p->queued, 0);
    pthread_mutex_destroy(&p->lock);
}

int reactor_post(reactor_t *r, reactor_post_cb fn, void *data)
{
    struct rx_posts *p = &r->svc.posts;
    if (!fn)
        return -EINVAL;
    if (atomic_load_explicit(&p->closed, memory_order_relaxed))
        return -ESHUTDOWN;

    /* With no spare in sight, allocate before locking: one lock per post either way. */
    struct rx_post_node *n = NULL;
    if (atomic_load_explicit(&p->nspare, memory_order_relaxed) == 0 && !(n = malloc(sizeof *n)))
        return -ENOMEM;
    pthread_mutex_lock(&p->lock);
    if (atomic_load_explicit(&p->closed, memory_order_relaxed)) { /* closed since the peek */
        pthread_mutex_unlock(&p->lock);
        free(n);
        return -ESHUTDOWN;
    }
    if (!n && (n = p->spare) != NULL) {
        p->spare = n->next;
        rx_posts_add_spare(p, (unsigned)-1);
    }
    if (!n) { /* another post took the last spare since the peek */
        pthread_mutex_unlock(&p->lock);
        if (!(n = malloc(sizeof *n)))
            return -ENOMEM;
        pthread_mutex_lock(&p->lock);
    }
    n->next = NULL;
    n->fn = fn;
    n->data = data;
    int first = p->head == NULL;
    if (first) {
        p->head = n;
        /* Sequentially consistent, as is rx_wakeup()'s exchange after it: a loop
         * that found the wakeup already pending is bound to see this flag. */
        atomic_store(&p->queued, 1);
    } else {
        p->tail->next = n;
    }
    p->tail = n;
    pthread_mutex_unlock(&p->lock);

    if (first)
        rx_wakeup(r);
    return 0;
}

/*
 * Under the lock, so that a post that took it before has queued its node
 * (freed unrun with the rest) and one that takes it after sees the flag.
 * A post racing with the end of reactor_free() is still undefined: the
 * mutex itself goes.
 */
void rx_posts_close(reactor_t *r)
{
    struct rx_posts *p = &r->svc.posts;
    pthread_mutex_lock(&p->lock);
    atomic_store_explicit(&p->closed, 1, memory_order_relaxed);
    pthread_mutex_unlock(&p->lock);
}

int rx_posts_queued(const reactor_t *r)
{
    return atomic_load(&r->svc.posts.queued) != 0;
}

/* Gives back `count` nodes, first..last, that ran: the loop thread is the only one to add. */
static void rx_posts_recycle(struct rx_posts *p, struct rx_post_node *first,
                             struct rx_post_node *last, unsigned count)
{
    pthread_mutex_lock(&p->lock);
    last->next = p->spare;
    p->spare = first;
    rx_posts_add_spare(p, count);
    pthread_mutex_unlock(&p->lock);
}

/*
 * Runs the posts queued before this call, oldest first. If a callback frees
 * the reactor (deferred by the core), the rest go back to the head of the
 * queue, in order, for reactor_free() to release.
 */
int rx_posts_run(reactor_t *r)
{
    struct rx_posts *p = &r->svc.posts;
    int ran = 0;

    if (atomic_load(&p->queued) == 0)
        return 0; /* a post racing with this test wakes the next wait */
    pthread_mutex_lock(&p->lock);
    struct rx_post_node *n = p->head, *first = n, *kept = NULL;
    p->head = p->tail = NULL;
    atomic_store(&p->queued, 0);
    /* Room on the spare list: posts only shrink it until this thread adds. */
    unsigned room = RX_POST_SPARE - atomic_load_explicit(&p->nspare, memory_order_relaxed);
    pthread_mutex_unlock(&p->lock);

    /* The first `room` nodes stay linked, to be recycled in one go; the rest
     * are freed as they run. Only this thread holds them now. */
    while (n && !r->free_pending) {
        struct rx_post_node *next;
        n->fn(r, n->data);
        next = n->next;
        if ((unsigned)ran < room)
            kept = n;
        else
            free(n);
        ran++;
        n = next;
    }
    if (kept)
        rx_posts_recycle(p, first, kept, (unsigned)ran < room ? (unsigned)ran : room);
    if (n) {
        struct rx_post_node *last = n;
        while (last->next)
            last = last->next;
        pthread_mutex_lock(&p->lock);
        last->next = p->head;
        if (!p->head)
            p->tail = last;
        p->head = n;
        atomic_store(&p->queued, 1);
        pthread_mutex_unlock(&p->lock);
    }
    return ran;
}

/*
 * In a child after fork(2): the mutex may have been held by a thread of the
 * parent that does not exist here, so it is initialised afresh (POSIX leaves
 * a copied held mutex unusable; pthread_atfork(3) describes the problem).
 * Posts queued at the fork are in both copies of the queue and run in both
 * processes, as timers pending at the fork fire in both.
 */
int rx_posts_reinit(reactor_t *r)
{
    struct rx_posts *p = &r->svc.posts;
    int rc = pthread_mutex_init(&p->lock, NULL);
    if (rc)
        return -rc;
    if (p->head)
        rx_wakeup(r);
    return 0;
}
