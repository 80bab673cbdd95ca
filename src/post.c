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
 * Lifetime. A post made while the loop is stopping, or while no loop runs,
 * stays queued and runs in the next iteration of any later reactor_run() or
 * reactor_run_once(); a queued post keeps reactor_run() going. reactor_free()
 * frees queued posts without calling them (their data is the caller's), and
 * must not race with reactor_post() from another thread: the caller must stop
 * posting first, as for any use of a freed object.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

int rx_posts_init(reactor_t *r)
{
    struct rx_posts *p = &r->svc.posts;
    p->head = p->tail = NULL;
    atomic_init(&p->queued, 0);
    int rc = pthread_mutex_init(&p->lock, NULL);
    return -rc;
}

void rx_posts_free(reactor_t *r)
{
    struct rx_posts *p = &r->svc.posts;
    struct rx_post_node *n = p->head;
    while (n) {
        struct rx_post_node *next = n->next;
        free(n);
        n = next;
    }
    p->head = p->tail = NULL;
    atomic_store(&p->queued, 0);
    pthread_mutex_destroy(&p->lock);
}

int reactor_post(reactor_t *r, reactor_post_cb fn, void *data)
{
    struct rx_posts *p = &r->svc.posts;
    if (!fn)
        return -EINVAL;
    struct rx_post_node *n = malloc(sizeof *n);
    if (!n)
        return -ENOMEM;
    n->next = NULL;
    n->fn = fn;
    n->data = data;

    pthread_mutex_lock(&p->lock);
    int first = p->head == NULL;
    if (first)
        p->head = n;
    else
        p->tail->next = n;
    p->tail = n;
    atomic_fetch_add(&p->queued, 1);
    pthread_mutex_unlock(&p->lock);

    if (first)
        rx_wakeup(r);
    return 0;
}

int rx_posts_queued(const reactor_t *r)
{
    return atomic_load(&r->svc.posts.queued) > 0;
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
        return 0;
    pthread_mutex_lock(&p->lock);
    struct rx_post_node *n = p->head;
    p->head = p->tail = NULL;
    pthread_mutex_unlock(&p->lock);

    while (n && !r->free_pending) {
        struct rx_post_node *next = n->next;
        reactor_post_cb fn = n->fn;
        void *data = n->data;
        free(n);
        atomic_fetch_sub(&p->queued, 1);
        fn(r, data);
        ran++;
        n = next;
    }
    if (n) {
        struct rx_post_node *last = n;
        while (last->next)
            last = last->next;
        pthread_mutex_lock(&p->lock);
        last->next = p->head;
        if (!p->head)
            p->tail = last;
        p->head = n;
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
