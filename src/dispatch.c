/*
 * dispatch.c - waiting, collecting ready events, and calling callbacks.
 *
 * The stale-event rule. A batch of events is collected first, each stamped
 * with the generation of the registration it was reported for; callbacks run
 * afterwards. Before each callback the stamp is compared with the fd's
 * current generation, which changes on every register and unregister. So an
 * event whose registration was removed by an earlier callback of the same
 * batch is dropped, even if the fd number was registered again meanwhile:
 * the bug Redis's ae has (it looks events up by fd number alone) and libev
 * and libuv avoid. The reported events are also masked with the current
 * registration, so a callback that drops WRITE from another fd is obeyed at
 * once.
 */
#include <errno.h>
#include <time.h>

#include "internal.h"

#define RX_EVMAP_REACTOR(e) ((e) & (REACTOR_READ | REACTOR_WRITE))
const unsigned char rx_evmap_reactor[RX_EVMAP_SIZE] = {RX_EVMAP_TABLE(RX_EVMAP_REACTOR)};
_Static_assert((REACTOR_READ | REACTOR_WRITE) == 3u, "READ and WRITE are the two low bits");

void rx_update_now(reactor_t *r)
{
    clock_gettime(CLOCK_MONOTONIC, &r->now);
}

/*
 * A report that no live registration wanted. Unless it is a parked entry's
 * last one (see rx_backend.park), the kernel holds a file we could not
 * delete: rebuild the set before the next wait (see rx_rebuild_backend).
 */
static void rx_unwanted_report(reactor_t *r, uint32_t tag)
{
    if (tag != RX_TAG_PARKED && (r->ops->features & RX_FEAT_REBUILD_ON_STALE))
        r->rebuild = 1;
}

/*
 * Folds one backend report into the batch. Returns 1 if it added an entry.
 * Internal registrations (wakeup, signal pipe) are serviced here and never
 * appear in the batch: they do only bookkeeping that must happen whether the
 * caller dispatches (run_once) or not (select).
 */
static int rx_collect_one(reactor_t *r, const struct rx_ready *rd, struct rx_pending *out,
                          int count)
{
    struct rx_fd *e = rx_fd_get(r, rd->fd);
    if (!e || !(e->flags & RX_FD_USED) || (rd->tag && rd->tag != e->gen)) {
        rx_unwanted_report(r, rd->tag);
        return 0;
    }
    unsigned ev = r->ops->evmap[rd->events] & e->events;
    if (e->mark) { /* second report for this fd in one batch (kqueue's two filters) */
        out[e->mark - 1].events |= ev;
        if (e->flags & RX_FD_FIRED)
            rx_oneshot_fired(r, rd->fd, e, ev);
        return 0;
    }
    if (!ev || (e->flags & RX_FD_FIRED))
        return 0;
    if (e->flags & RX_FD_INTERNAL) {
        e->cb(r, rd->fd, ev, e->data);
        return 0;
    }
    if (e->events & REACTOR_ONESHOT)
        rx_oneshot_fired(r, rd->fd, e, ev);
    out[count].fd = rd->fd;
    out[count].events = ev;
    out[count].gen = e->gen;
    e->mark = (uint32_t)count + 1;
    return 1;
}

/*
 * Rebuilds the backend if it must be, and applies pending changes. Returns the
 * number of refused changes written to `out` as readiness (see
 * rx_flush_changes), or a negative errno.
 */
static int rx_prepare(reactor_t *r, struct rx_pending *out, int max)
{
    if (r->rebuild) {
        int rc = rx_rebuild_backend(r);
        if (rc < 0)
            return rc;
    }
    if (r->count + r->ninternal > r->ready_cap) { /* registered by callbacks (see rx_add) */
        int rc = rx_ready_reserve(r, r->count + r->ninternal);
        if (rc < 0)
            return rc;
    }
    if (r->ndirty == 0) /* the common case: a loop iteration that changed nothing */
        return 0;
    return rx_flush_changes(r, out, max);
}

/*
 * Folds `n` reports into the batch of `*count` entries, at most `max`. A full
 * batch still takes a second report for an fd it holds. Any other report the
 * kernel consumed (ONESHOT, EDGE) goes to r->spill, written from its start:
 * `rd` may be r->spill itself, read ahead of the writes. A level-triggered
 * one is dropped: the kernel reports it again while it holds.
 */
static void rx_collect_reports(reactor_t *r, const struct rx_ready *rd, int n,
                               struct rx_pending *out, int *count, int max)
{
    for (int i = 0; i < n; i++) {
        if (*count == max) {
            const struct rx_fd *e = rx_fd_get(r, rd[i].fd);
            if (!e || !e->mark) {
                if (e && (e->events & (REACTOR_ONESHOT | REACTOR_EDGE)))
                    r->spill[r->nspill++] = rd[i];
                continue;
            }
        }
        *count += rx_collect_one(r, &rd[i], out, *count);
    }
}

/*
 * Waits and fills `out` after the `count` entries rx_prepare left there, with
 * at most `max` entries in all, one per fd. Reports a previous call could not
 * fit come first, without waiting; the kernel is still asked, without
 * waiting, for the other filter of an fd they hold. Returns the count or a
 * negative errno (-EINTR).
 */
static int rx_collect_wait(reactor_t *r, int timeout_ms, struct rx_pending *out, int count, int max)
{
    for (int i = 0; i < count; i++)
        r->fds[out[i].fd].mark = (uint32_t)i + 1;
    int per_fd = rx_reports_per_fd(r), spilled = r->nspill;
    if (spilled) {
        r->nspill = 0;
        rx_collect_reports(r, r->spill, spilled, out, &count, max);
    }
    int room = max - count;
    int want = (room > 0 ? room : spilled ? max : 0) * per_fd;
    if (room == 0 && want > r->ready_cap * per_fd - r->nspill)
        want = r->ready_cap * per_fd - r->nspill; /* the spill never overflows */
    if (want > 0) {
        int n = r->ops->wait(r->state, count ? 0 : timeout_ms, r->ready, want);
        if (n < 0 && count == 0)
            return n;
        rx_collect_reports(r, r->ready, n, out, &count, max);
    }
    for (int i = 0; i < count; i++)
        r->fds[out[i].fd].mark = 0;
    return count;
}

static int rx_collect(reactor_t *r, int timeout_ms, struct rx_pending *out, int max)
{
    int count = rx_prepare(r, out, max);
    if (count < 0)
        return count;
    return rx_collect_wait(r, timeout_ms, out, count, max);
}

int reactor_select(reactor_t *r, int timeout_ms, reactor_event_t *out, int max)
{
    if (!out || max < 1)
        return -EINVAL;
    if (r->dispatching)
        return -EBUSY;
    if (max > r->ready_cap)
        max = r->ready_cap;
    int n = rx_collect(r, timeout_ms, r->batch, max);
    for (int i = 0; i < n; i++) {
        out[i].fd = r->batch[i].fd;
        out[i].events = r->batch[i].events;
        out[i].data = r->fds[r->batch[i].fd].data;
    }
    return n;
}

/* Runs the callbacks of a collected batch; see the stale-event rule above. */
static int rx_dispatch(reactor_t *r, int n)
{
    int ran = 0;
    for (int i = 0; i < n; i++) {
        /* Re-read everything each time: a callback may grow r->batch and r->fds. */
        struct rx_pending p = r->batch[i];
        const struct rx_fd *e = &r->fds[p.fd];
        unsigned ev = p.events & e->events;
        if (e->gen != p.gen || !ev || !e->cb)
            continue;
        e->cb(r, p.fd, ev, e->data);
        ran++;
    }
    return ran;
}

/*
 * The one-pass path: with a backend that reports each fd once, tagged with
 * the generation it was armed for, the tag already is the stamp the
 * stale-event rule compares, so the reports are dispatched straight from the
 * backend's array, without building, merging and clearing a batch. It is
 * taken unless a refused change must be reported first.
 */
static int rx_can_dispatch_direct(const reactor_t *r)
{
    return (r->ops->features & RX_FEAT_TAGGED_ONCE) != 0;
}

/*
 * Before the first callback of a direct batch, records each ONESHOT
 * registration it reports as fired: the kernel disarmed it already, and a
 * callback that re-arms another fd of the batch with reactor_modify() must
 * find it fired, or the modify would be taken for a no-op. A report for a
 * registration that had fired before this wait is its second: emptied.
 * Only runs while some registration is ONESHOT.
 */
static void rx_record_oneshots(reactor_t *r, int n)
{
    const unsigned char *evmap = r->ops->evmap;
    for (int i = 0; i < n; i++) {
        struct rx_ready *rd = &r->ready[i];
        struct rx_fd *e = &r->fds[rd->fd];
        if (rd->tag != e->gen || !(e->events & REACTOR_ONESHOT))
            continue;
        unsigned ev = evmap[rd->events] & e->events;
        if (e->flags & RX_FD_FIRED)
            rd->events = 0;
        else if (ev)
            rx_oneshot_fired(r, rd->fd, e, ev);
    }
}

/*
 * A direct report whose slot is not "fast" (see struct rx_fd): stale, for a
 * registration changed since the kernel was told, without a callback, or
 * internal. Every test the fast path leaves out is made here. Returns 1 for
 * a callback the caller counts.
 */
static int rx_dispatch_careful(reactor_t *r, const struct rx_ready *rd)
{
    int fd = rd->fd;
    const struct rx_fd *e = &r->fds[fd];
    if (rd->tag != e->gen) {
        /* Stale because a callback of this batch (un)registered the fd, or
         * else unwanted by any registration. */
        if (e->touched != r->batch_seq)
            rx_unwanted_report(r, rd->tag);
        return 0;
    }
    /* Empty when a callback of this batch dropped what was reported (the
     * kernel is told before the next wait). */
    unsigned ev = r->ops->evmap[rd->events] & e->events;
    if (!ev || !e->cb)
        return 0;
    /* The reactor's own fds are bookkeeping, not callbacks the caller counts. */
    int counted = !(e->flags & RX_FD_INTERNAL);
    e->cb(r, fd, ev, e->data);
    return counted;
}

/*
 * The loop every event goes through, kept to what a callback library cannot
 * avoid: one fd-table slot read, one comparison, the events mapped and
 * masked, the call. The comparison is with the slot's `fast` tag, which
 * equals the report's tag only when nothing else needs checking; every
 * other report goes the careful way. Each report is counted as a callback
 * here and corrected there, so the fast path counts nothing.
 */
static int rx_dispatch_direct(reactor_t *r, int n)
{
    const unsigned char *evmap = r->ops->evmap;
    const struct rx_ready *ready = r->ready; /* not moved while dispatching (see rx_add) */
    int ran = n;
    for (int i = 0; i < n; i++) {
        /* Re-read r->fds each time: a callback may grow it. A backend reports
         * only fds the core gave it, all below r->nfds (the table never
         * shrinks), so no bounds check. */
        const struct rx_ready *rd = &ready[i];
        int fd = rd->fd;
        const struct rx_fd *e = &r->fds[fd];
        if (rd->tag == e->fast)
            e->cb(r, fd, evmap[rd->events] & e->events, e->data);
        else
            ran += rx_dispatch_careful(r, rd) - 1;
    }
    return ran;
}

/* The REACTOR_BEFORE_WAIT hooks; returns 1 if one freed the reactor (then destroyed). */
static int rx_run_hooks_before(reactor_t *r, int *freed)
{
    r->dispatching++; /* as for any callback: no nested wait, a free is deferred */
    rx_hooks_run(r, REACTOR_BEFORE_WAIT);
    r->dispatching--;
    if (!r->free_pending)
        return 0;
    rx_destroy(r);
    *freed = 1;
    return 1;
}

/*
 * One iteration. A callback may call reactor_free(): the reactor is then
 * destroyed here, once no callback is running, and *freed tells the caller
 * not to touch it again.
 */
static int rx_run_once(reactor_t *r, int timeout_ms, int *freed)
{
    if (r->dispatching)
        return -EBUSY;
    /* Before the timeout is computed, so that a timer or a post a hook makes
     * shortens this wait. */
    if (r->hooks.n && rx_run_hooks_before(r, freed))
        return 0;
    /* The clock is read before the wait only to turn timer deadlines into a
     * timeout; callbacks see the time read after the wait. So a loop with no
     * service pending reads it once per iteration. */
    if (!rx_services_idle(r)) {
        rx_update_now(r);
        timeout_ms = rx_services_timeout(r, timeout_ms);
    }
    int n = rx_prepare(r, r->batch, r->ready_cap);
    if (n < 0)
        return n;
    int direct = n == 0 && rx_can_dispatch_direct(r);
    if (direct)
        n = r->ops->wait(r->state, timeout_ms, r->ready, r->ready_cap);
    else
        n = rx_collect_wait(r, timeout_ms, r->batch, n, r->ready_cap);
    if (n == -EINTR)
        n = 0;
    else if (n < 0)
        return n;
    rx_update_now(r);
    r->dispatching++;
    r->batch_seq++;
    if (direct && r->noneshot)
        rx_record_oneshots(r, n);
    int ran = direct ? rx_dispatch_direct(r, n) : rx_dispatch(r, n);
    if (!rx_services_idle(r))
        ran += rx_services_run(r);
    if (r->hooks.n && !r->free_pending)
        rx_hooks_run(r, REACTOR_AFTER_WAIT);
    r->dispatching--;
    if (r->free_pending) {
        rx_destroy(r);
        *freed = 1;
    }
    return ran;
}

int reactor_run_once(reactor_t *r, int timeout_ms)
{
    int freed = 0;
    return rx_run_once(r, timeout_ms, &freed);
}

int reactor_run(reactor_t *r)
{
    if (r->dispatching)
        return -EBUSY;
    for (;;) {
        if (r->count == r->nweak && !rx_services_alive(r))
            break;
        int freed = 0;
        /* A stop that came before this iteration: look once, do not block. */
        int rc = rx_run_once(r, atomic_load(&r->stop) ? 0 : -1, &freed);
        if (freed)
            return 0;
        if (rc < 0)
            return rc;
        if (atomic_exchange(&r->stop, 0))
            break;
    }
    return 0;
}

void reactor_stop(reactor_t *r)
{
    atomic_store(&r->stop, 1);
    rx_wakeup(r);
}

/*
 * What the next reactor_run_once would wait for, for a caller that waits on
 * reactor_backend_fd() itself. Changes not yet given to the kernel count as
 * work: an outer poll() on the backend fd could not see their events. So
 * do the backend's own (io_uring's re-arms, see rx_backend.pending).
 * Dropping cancelled timers off the heap's top, and reading the clock into the
 * cache and restoring it, change no observable state, so the reactor is
 * written through a cast (it is never a const object).
 */
int reactor_next_timeout(const reactor_t *r)
{
    reactor_t *w = (reactor_t *)r;
    if (r->rebuild || r->ndirty || (r->ops->pending && r->ops->pending(r->state)))
        return 0;
    if (rx_services_idle(w))
        return -1;
    struct timespec cached = w->now; /* reactor_now() stays what callbacks saw */
    rx_update_now(w);
    int timeout = rx_services_timeout(w, -1);
    w->now = cached;
    return timeout;
}
