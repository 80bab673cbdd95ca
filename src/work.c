/*
 * work.c - a per-reactor thread pool for work that would block the loop.
 *
 * Items move through three lists under the pool's mutex: `queued` (waiting
 * for a thread), `running`, and `done` (finished or cancelled, waiting for the
 * loop thread to call their done callback). A worker that moves an item to an
 * empty `done` list wakes the loop (rx_wakeup); later completions until the
 * loop takes the list ride on that wakeup, as posts do.
 *
 * The threads start with the first reactor_queue_work(), created with every
 * signal blocked (the mask is inherited, pthread_sigmask(3)): a process signal
 * is then delivered to a thread that does not block it, normally the loop's,
 * never to a worker that cannot run the reactor's callbacks anyway.
 *
 * reactor_free() with work in flight: queued items are dropped (their done
 * callbacks are not called, as for every other callback the reactor holds),
 * the call waits for the items that are running to return from `work`, then
 * drops those too and every completion not yet delivered. No done callback
 * ever runs from reactor_free().
 *
 * reactor_free() in a child of fork(2) that did not call reactor_reinit():
 * fork copies only the calling thread (pthread_atfork(3)), so the workers
 * recorded in `threads` are the parent's and joining them would wait forever,
 * and the mutex may have been copied while a worker held it. The pool's owner
 * pid tells the two apart; in another process the lists (the child's copies)
 * are freed without the lock and nothing is joined or destroyed.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define RX_POOL_DEFAULT 4
#define RX_POOL_MAX 128

struct rx_work {
    struct rx_work *prev, *next;
    reactor_work_fn work;
    reactor_done_fn done;
    void *data;
    int64_t id;
    int status; /* for done: 0 or -ECANCELED */
};

/* ---- Lists ------------------------------------------------------------------ */

static void rx_list_push(struct rx_work_list *l, struct rx_work *w)
{
    w->next = NULL;
    w->prev = l->tail;
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
}

static void rx_list_unlink(struct rx_work_list *l, struct rx_work *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        l->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        l->tail = w->prev;
}

/* Moves all of `from` to the end of `to`, in order. */
static void rx_list_append(struct rx_work_list *to, struct rx_work_list *from)
{
    if (!from->head)
        return;
    if (to->tail) {
        to->tail->next = from->head;
        from->head->prev = to->tail;
    } else {
        to->head = from->head;
    }
    to->tail = from->tail;
    from->head = from->tail = NULL;
}

static void rx_list_free(struct rx_work_list *l)
{
    struct rx_work *w = l->head;
    while (w) {
        struct rx_work *next = w->next;
        free(w);
        w = next;
    }
    l->head = l->tail = NULL;
}

/* Under the lock. Returns whether the loop must be woken (the list was empty). */
static int rx_work_complete(struct rx_workpool *p, struct rx_work *w, int status)
{
    int first = p->done.head == NULL;
    w->status = status;
    rx_list_push(&p->done, w);
    atomic_store(&p->completed, 1);
    return first;
}

/* ---- The pool --------------------------------------------------------------- */

static void *rx_worker(void *arg)
{
    reactor_t *r = arg;
    struct rx_workpool *p = &r->svc.work;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->queued.head && !p->stopping)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stopping)
            break;
        struct rx_work *w = p->queued.head;
        rx_list_unlink(&p->queued, w);
        rx_list_push(&p->running, w);
        pthread_mutex_unlock(&p->lock);

        w->work(w->data);

        pthread_mutex_lock(&p->lock);
        rx_list_unlink(&p->running, w);
        if (rx_work_complete(p, w, 0)) {
            /* reactor_free() joins this thread before closing the wakeup, so
             * r is alive here; the write is short enough to make under the lock. */
            rx_wakeup(r);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/*
 * reactor_set_threadpool_size(), else REACTOR_THREADPOOL_SIZE: a decimal
 * number, 1..128 used as is, larger capped to 128, anything else ignored;
 * else 4.
 */
static unsigned rx_pool_size(const struct rx_workpool *p)
{
    if (p->size)
        return p->size;
    const char *env = getenv("REACTOR_THREADPOOL_SIZE");
    if (env && *env >= '0' && *env <= '9') {
        char *end;
        unsigned long n = strtoul(env, &end, 10);
        if (*end == '\0' && n >= 1)
            return n > RX_POOL_MAX ? RX_POOL_MAX : (unsigned)n;
    }
    return RX_POOL_DEFAULT;
}

/* Stops and joins the first `n` threads of `threads`. */
static void rx_pool_stop(struct rx_workpool *p, pthread_t *threads, unsigned n)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    p->stopping = 0;
}

static int rx_pool_start(reactor_t *r)
{
    struct rx_workpool *p = &r->svc.work;
    unsigned n = rx_pool_size(p), started = 0;
    pthread_t *threads = calloc(n, sizeof *threads);
    rx_sigmask_t old;
    int rc = 0;

    if (!threads)
        return -ENOMEM;
    rx_block_signals(&old);
    for (; started < n; started++)
        if ((rc = pthread_create(&threads[started], NULL, rx_worker, r)) != 0)
            break;
    rx_restore_signals(&old);
    if (rc) {
        rx_pool_stop(p, threads, started);
        free(threads);
        return -rc;
    }
    p->threads = threads;
    p->nthreads = n;
    p->owner = getpid();
    return 0;
}

int rx_work_init(reactor_t *r)
{
    struct rx_workpool *p = &r->svc.work;
    int rc;
    p->queued.head = p->queued.tail = NULL;
    p->running.head = p->running.tail = NULL;
    p->done.head = p->done.tail = NULL;
    p->stopping = 0;
    p->threads = NULL;
    p->nthreads = p->size = 0;
    p->owner = 0;
    p->last_id = 0;
    p->inflight = 0;
    atomic_init(&p->completed, 0);
    if ((rc = pthread_mutex_init(&p->lock, NULL)) != 0)
        return -rc;
    if ((rc = pthread_cond_init(&p->wake, NULL)) != 0) {
        pthread_mutex_destroy(&p->lock);
        return -rc;
    }
    return 0;
}

void rx_work_free(reactor_t *r)
{
    struct rx_workpool *p = &r->svc.work;
    /* The threads and the lock are this process's, unless it is a forked child
     * that skipped reactor_reinit(): see the top. */
    int ours = !p->nthreads || p->owner == getpid();

    if (ours) {
        /* Drop what has not started, so the workers finish their current item and exit. */
        pthread_mutex_lock(&p->lock);
        rx_list_free(&p->queued);
        pthread_mutex_unlock(&p->lock);
        if (p->nthreads)
            rx_pool_stop(p, p->threads, p->nthreads);
    }
    free(p->threads);
    p->threads = NULL;
    p->nthreads = 0;
    rx_list_free(&p->queued);  /* already empty, but in that child */
    rx_list_free(&p->running); /* empty once the workers have exited; copies in that child */
    rx_list_free(&p->done);
    p->inflight = 0;
    if (ours) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
    }
}

/* ---- API -------------------------------------------------------------------- */

int64_t reactor_queue_work(reactor_t *r, reactor_work_fn work, reactor_done_fn done, void *data)
{
    struct rx_workpool *p = &r->svc.work;
    int rc;

    if (!work)
        return -EINVAL;
    struct rx_work *w = malloc(sizeof *w);
    if (!w)
        return -ENOMEM;
    if (!p->nthreads && (rc = rx_pool_start(r)) < 0) {
        free(w);
        return rc;
    }
    w->work = work;
    w->done = done;
    w->data = data;
    w->status = 0;
    w->id = ++p->last_id;

    pthread_mutex_lock(&p->lock);
    rx_list_push(&p->queued, w);
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    p->inflight++;
    return w->id;
}

int reactor_work_cancel(reactor_t *r, int64_t id)
{
    struct rx_workpool *p = &r->svc.work;
    int rc = -ENOENT, wake = 0;

    pthread_mutex_lock(&p->lock);
    /* Both lists are in id order: items are queued, and started, in that order. */
    for (struct rx_work *w = p->queued.head; w && w->id <= id; w = w->next) {
        if (w->id == id) {
            rx_list_unlink(&p->queued, w);
            wake = rx_work_complete(p, w, -ECANCELED);
            rc = 0;
            break;
        }
    }
    for (struct rx_work *w = p->running.head; rc == -ENOENT && w; w = w->next)
        if (w->id == id)
            rc = -EBUSY;
    pthread_mutex_unlock(&p->lock);
    /* The done callback runs in the next iteration: do not let the wait block. */
    if (wake)
        rx_wakeup(r);
    return rc;
}

int reactor_set_threadpool_size(reactor_t *r, unsigned threads)
{
    struct rx_workpool *p = &r->svc.work;
    if (threads < 1 || threads > RX_POOL_MAX)
        return -EINVAL;
    if (p->nthreads)
        return -EBUSY;
    p->size = threads;
    return 0;
}

int rx_work_inflight(const reactor_t *r)
{
    return r->svc.work.inflight > 0;
}

int rx_work_completed(const reactor_t *r)
{
    return atomic_load(&r->svc.work.completed) != 0;
}

/* Calls the done callbacks of the items finished or cancelled so far, in that order. */
int rx_work_run(reactor_t *r)
{
    struct rx_workpool *p = &r->svc.work;
    struct rx_work_list done;
    int ran = 0;

    if (!atomic_load(&p->completed))
        return 0;
    pthread_mutex_lock(&p->lock);
    done = p->done;
    p->done.head = p->done.tail = NULL;
    atomic_store(&p->completed, 0);
    pthread_mutex_unlock(&p->lock);

    struct rx_work *w;
    while ((w = done.head) && !r->free_pending) {
        /* Pop the head (its prev is NULL), written out so the analyzer sees it. */
        done.head = w->next;
        if (done.head)
            done.head->prev = NULL;
        else
            done.tail = NULL;
        reactor_done_fn fn = w->done;
        void *data = w->data;
        int status = w->status;
        free(w);
        p->inflight--;
        if (fn) {
            fn(r, data, status);
            ran++;
        }
    }
    if (done.head) {
        /* The reactor is being freed: hand the rest back for rx_work_free(). */
        pthread_mutex_lock(&p->lock);
        rx_list_append(&done, &p->done);
        p->done = done;
        atomic_store(&p->completed, 1);
        pthread_mutex_unlock(&p->lock);
    }
    return ran;
}

/*
 * In a child after fork(2) the pool threads do not exist (fork copies only the
 * calling thread) and the mutex or condition may have been copied in use: both
 * are initialised afresh and the pool restarts at the next reactor_queue_work().
 * Work that was queued or running at the fork belongs to the parent, which
 * runs it; in the child its done callback runs with -ECANCELED so that the
 * child's copy of its data can be released. Completions already delivered to
 * the done list are delivered normally.
 */
int rx_work_reinit(reactor_t *r)
{
    struct rx_workpool *p = &r->svc.work;
    int rc;
    if ((rc = pthread_mutex_init(&p->lock, NULL)) != 0)
        return -rc;
    if ((rc = pthread_cond_init(&p->wake, NULL)) != 0)
        return -rc;
    free(p->threads);
    p->threads = NULL;
    p->nthreads = 0;
    p->owner = 0;
    p->stopping = 0;
    rx_list_append(&p->running, &p->queued); /* in id order: running items started first */
    for (struct rx_work *w = p->running.head; w; w = w->next)
        w->status = -ECANCELED;
    rx_list_append(&p->done, &p->running);
    if (p->done.head) {
        atomic_store(&p->completed, 1);
        rx_wakeup(r);
    }
    return 0;
}
