/*
 * register.c - registrations and the change list.
 *
 * When each change reaches the kernel:
 *  - register: at once. The kernel's refusals (EBADF for a closed fd, EPERM
 *    for a regular file on epoll) must reach the caller, and a refused
 *    registration must leave no trace (as Python's selectors promises).
 *  - unregister: at once. A delete deferred to the next wait could meet a
 *    different file under the same fd number (the caller is free to close and
 *    reopen in between), and a forked child that still holds the file would
 *    otherwise keep our interest armed. An entry the kernel holds armed with
 *    nothing (a pause parked on epoll, a fired ONESHOT) is left for close(2)
 *    to free, at no kernel call: nothing a registration could receive can
 *    come from it.
 *  - modify: deferred to the next wait and coalesced, as libevent's changelist
 *    and libev's fdchanges do: a callback that flips WRITE on and off again
 *    costs nothing, and several changes to one fd cost at most one kernel call.
 *    Changing only the callback or data never reaches the kernel.
 *  - pause (a modify to no events): a modify like any other, and the way to
 *    stop watching an fd that stays open. Deferral is safe here, where it is
 *    not for unregister, because a registered fd is still its owner's to
 *    name: so a pause and a resume between two waits cost nothing. One that
 *    reaches a wait disarms the kernel entry, and the resume arms it again.
 *    Where the backend can park (epoll: see rx_epoll_park), the entry stays,
 *    inert, and both are a modify; elsewhere it is removed and added again
 *    (an epoll entry merely armed with nothing would still report HUP and
 *    ERR, and spin).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

static int rx_check_events(const reactor_t *r, unsigned events)
{
    if ((events & ~(RX_ALL_FLAGS | REACTOR_WEAK)) || !(events & RX_EVENT_MASK))
        return -EINVAL;
    if ((events & REACTOR_EDGE) && !(r->ops->features & RX_FEAT_EDGE))
        return -ENOTSUP;
    return 0;
}

/* A modify may also pause: events 0, or REACTOR_WEAK alone. */
static int rx_check_modify_events(const reactor_t *r, unsigned events)
{
    return (events & ~REACTOR_WEAK) == 0 ? 0 : rx_check_events(r, events);
}

/* What the kernel should have armed for a registration: nothing once a ONESHOT fired. */
static unsigned rx_wanted(const struct rx_fd *e)
{
    return (e->flags & RX_FD_FIRED) ? 0 : e->events;
}

/* What the kernel has armed; an entry with no READ/WRITE left is armed with nothing. */
static unsigned rx_armed(const struct rx_fd *e)
{
    return (e->kernel & RX_EVENT_MASK) ? (e->kernel & RX_ALL_FLAGS) : 0;
}

/*
 * e->fast for a user registration that has not fired; see struct rx_fd. A
 * paused one (no events) is never fast: a report still in flight for it must
 * be masked to nothing.
 */
static uint32_t rx_fast_tag(const struct rx_fd *e, reactor_cb cb, unsigned events)
{
    return cb && events && rx_armed(e) == events ? e->gen : 0;
}

/* Recomputes e->fast after any change to the fields it depends on. */
static void rx_fd_sync(struct rx_fd *e)
{
    int plain = (e->flags & (RX_FD_USED | RX_FD_INTERNAL | RX_FD_FIRED)) == RX_FD_USED;
    e->fast = plain ? rx_fast_tag(e, e->cb, e->events) : 0;
}

/* The increment below reaches RX_TAG_PARKED just before it would wrap to 0. */
_Static_assert(RX_TAG_PARKED == UINT32_MAX, "the parked tag is the last generation");

static uint32_t rx_next_gen(reactor_t *r)
{
    /* 0 means "no registration" and RX_TAG_PARKED "a parked entry": skip
     * both on wrap-around. */
    if (++r->last_gen == RX_TAG_PARKED)
        r->last_gen = 1;
    return r->last_gen;
}

/*
 * Every change that arms the kernel gets a new generation, not only a new
 * registration. epoll(7) keys its set by (number, file): once a registered
 * number is dup2'ed over while its file lives on elsewhere, the set may hold
 * two entries under one number, and a MOD reaches whichever names the current
 * file. With a tag per change, the entry left behind carries an older tag:
 * its reports are stale, and the core rebuilds the set instead of running
 * the callback twice (found by the API fuzzer): only the entry the last
 * change reached carries the current tag, so the one-pass dispatch can trust
 * a backend to report each fd once. No batch is in flight when a queued
 * change is flushed, so this never makes a pending event stale.
 */
static int rx_apply(reactor_t *r, int fd, struct rx_fd *e, unsigned want)
{
    if (want)
        e->gen = rx_next_gen(r);
    int rc = r->ops->change(r->state, fd, e->kernel, want, e->gen);
    if (rc == 0)
        e->kernel = want ? (uint8_t)(want | RX_IN_KERNEL) : 0;
    rx_fd_sync(e);
    return rc;
}

/* Disarms a paused registration, parking its entry where the backend can. */
static int rx_disarm_paused(reactor_t *r, int fd, struct rx_fd *e)
{
    if (!r->ops->park)
        return rx_apply(r, fd, e, 0);
    int rc = r->ops->park(r->state, fd);
    if (rc == 0)
        e->kernel = RX_IN_KERNEL; /* in the kernel, armed with nothing */
    rx_fd_sync(e);
    return rc;
}

/* Cold paths, kept out of line so that the hot ones save no registers for
 * their calls (see reactor_modify). */
#if defined(__GNUC__)
#define RX_COLD __attribute__((noinline, cold))
#define RX_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define RX_COLD
#define RX_ALWAYS_INLINE inline
#endif

static RX_COLD int rx_dirty_grow(reactor_t *r)
{
    int cap = r->dirty_cap ? r->dirty_cap * 2 : 64;
    int *d = realloc(r->dirty, (size_t)cap * sizeof *d);
    if (!d)
        return -ENOMEM;
    r->dirty = d;
    r->dirty_cap = cap;
    return 0;
}

static int rx_mark_dirty(reactor_t *r, int fd, struct rx_fd *e)
{
    if (e->flags & RX_FD_DIRTY)
        return 0;
    if (r->ndirty == r->dirty_cap && rx_dirty_grow(r) < 0)
        return -ENOMEM;
    r->dirty[r->ndirty++] = fd;
    e->flags |= RX_FD_DIRTY;
    return 0;
}

static int rx_add(reactor_t *r, int fd, unsigned events, reactor_cb cb, void *data, unsigned flags)
{
    int rc = rx_fd_reserve(r, fd);
    if (rc < 0)
        return rc;
    struct rx_fd *e = &r->fds[fd];
    if (e->flags & RX_FD_USED)
        return -EEXIST;
    /* While callbacks run, the dispatch loop holds r->ready: it grows before
     * the next wait instead (rx_prepare). Until then a wait merely reports
     * fewer fds at once; the rest come in the next. */
    if (!r->dispatching) {
        rc = rx_ready_reserve(r, r->count + r->ninternal + 1);
        if (rc < 0)
            return rc;
    }
    e->kernel = 0;
    rc = rx_apply(r, fd, e, events); /* gives e->gen */
    if (rc < 0) {
        e->gen = 0;
        e->fast = 0;
        return rc;
    }
    e->events = (uint8_t)events;
    e->cb = cb;
    e->data = data;
    /* A stale entry for this fd may still sit in r->dirty: without the flag it is skipped. */
    e->flags = (uint8_t)(RX_FD_USED | flags);
    e->touched = r->batch_seq;
    rx_fd_sync(e);
    if (flags & RX_FD_INTERNAL)
        r->ninternal++;
    else
        r->count++;
    if (flags & RX_FD_WEAK)
        r->nweak++;
    if (events & REACTOR_ONESHOT)
        r->noneshot++;
    return 0;
}

static int rx_remove(reactor_t *r, int fd, struct rx_fd *e)
{
    /* An entry armed with nothing (a fired ONESHOT, or parked: at most one
     * more report, under a tag no registration has) needs no delete: close(2)
     * frees it, and a registration of the same file finds it (see
     * rx_epoll_change). The delete would be a kernel call for nothing. */
    if ((e->kernel & RX_IN_KERNEL) && rx_armed(e)) {
        int rc = rx_apply(r, fd, e, 0);
        /* Closed fd (EBADF), or its number now names a file the kernel never saw
         * (ENOENT after dup2): either way nothing of ours is left to delete. */
        if (rc < 0 && rc != -EBADF && rc != -ENOENT)
            return rc;
    }
    if (e->flags & RX_FD_INTERNAL)
        r->ninternal--;
    else
        r->count--;
    if (e->events & REACTOR_ONESHOT)
        r->noneshot--;
    if (e->flags & RX_FD_WEAK)
        r->nweak--;
    e->touched = r->batch_seq;
    e->gen = 0; /* events of this registration still in a batch are now stale */
    e->fast = 0;
    e->events = 0;
    e->kernel = 0;
    e->flags = 0;
    e->cb = NULL;
    e->data = NULL;
    return 0;
}

/*
 * rx_fd_get's bound test, written out: through rx_fd_get, gcc tests the
 * pointer for null a second time (objdump of reactor_modify at -O2 and -O3),
 * one more branch on the path of every modify, unregister and get.
 */
static struct rx_fd *rx_user_fd(const reactor_t *r, int fd)
{
    if (fd >= r->nfds)
        return NULL;
    struct rx_fd *e = &r->fds[fd];
    return (e->flags & (RX_FD_USED | RX_FD_INTERNAL)) == RX_FD_USED ? e : NULL;
}

/* A weak registration: the weakness travels as a flag (RX_FD_WEAK is REACTOR_WEAK's bit). */
static RX_COLD int rx_register_weak(reactor_t *r, int fd, unsigned events, reactor_cb cb,
                                    void *data)
{
    if (fd < 0)
        return -EINVAL;
    int rc = rx_check_events(r, events);
    if (rc < 0)
        return rc;
    return rx_add(r, fd, events & ~REACTOR_WEAK, cb, data, RX_FD_WEAK);
}

/* REACTOR_WEAK goes out of line: kept apart, it costs the common path a register. */
int reactor_register(reactor_t *r, int fd, unsigned events, reactor_cb cb, void *data)
{
    if (events & REACTOR_WEAK)
        return rx_register_weak(r, fd, events, cb, data);
    if (fd < 0)
        return -EINVAL;
    int rc = rx_check_events(r, events);
    if (rc < 0)
        return rc;
    return rx_add(r, fd, events, cb, data, 0);
}

static int rx_modify_after_growing(reactor_t *r, int fd, unsigned events, reactor_cb cb,
                                   void *data);

/*
 * The modify itself, of user registration `e`, with `events` valid and
 * without REACTOR_WEAK. Inlined into reactor_modify, the hot path, and into
 * rx_modify_weak, whose change list has room already.
 */
static RX_ALWAYS_INLINE int rx_modify_strong(reactor_t *r, int fd, struct rx_fd *e, unsigned events,
                                             reactor_cb cb, void *data)
{
    if (events != e->events || (e->flags & RX_FD_FIRED)) {
        if (!(e->flags & RX_FD_DIRTY)) {
            /* Growing the change list is a tail call, so that this path calls
             * nothing and saves no registers (docs/design.md, "Growing the
             * change list"). */
            if (r->ndirty == r->dirty_cap)
                return rx_modify_after_growing(r, fd, events, cb, data);
            r->dirty[r->ndirty++] = fd;
        }
        if ((events ^ e->events) & REACTOR_ONESHOT)
            r->noneshot += (events & REACTOR_ONESHOT) ? 1 : -1;
        e->events = (uint8_t)events;
        e->flags = (uint8_t)((e->flags | RX_FD_DIRTY) & ~RX_FD_FIRED);
    }
    e->cb = cb;
    e->data = data;
    /* The slot is a user registration that has not fired (FIRED was cleared
     * above or never set), so rx_fd_sync's test of the flags is skipped. Until
     * the change reaches the kernel, reports take the careful path. */
    e->fast = rx_fast_tag(e, cb, events); /* e->cb and e->events, in registers */
    return 0;
}

static int rx_modify_weak(reactor_t *r, int fd, unsigned events, reactor_cb cb, void *data);

/*
 * Weak registrations, and modifies that ask for REACTOR_WEAK, go out of line
 * (rx_modify_weak), so that the common path needs no register for them:
 * RX_FD_WEAK is tested with the bits rx_user_fd tests (the cost measured:
 * docs/results/2026-12-08-dispatch-callgrind.md).
 */
int reactor_modify(reactor_t *r, int fd, unsigned events, reactor_cb cb, void *data)
{
    if (events & REACTOR_WEAK)
        return rx_modify_weak(r, fd, events, cb, data);
    if (fd < 0)
        return -EINVAL;
    int rc = rx_check_modify_events(r, events);
    if (rc < 0)
        return rc;
    if (fd >= r->nfds)
        return -ENOENT;
    struct rx_fd *e = &r->fds[fd];
    if ((e->flags & (RX_FD_USED | RX_FD_INTERNAL | RX_FD_WEAK)) != RX_FD_USED)
        return rx_modify_weak(r, fd, events, cb, data); /* weak, or -ENOENT */
    return rx_modify_strong(r, fd, e, events, cb, data);
}

/*
 * reactor_modify with REACTOR_WEAK or of a weak registration. REACTOR_WEAK
 * lives in e->flags, not e->events, so that no backend ever sees it. The
 * change list is grown first, so that a failure changes nothing (and the
 * grow path of rx_modify_strong, which goes through reactor_modify again,
 * is never taken from here).
 */
static RX_COLD int rx_modify_weak(reactor_t *r, int fd, unsigned events, reactor_cb cb, void *data)
{
    if (fd < 0)
        return -EINVAL;
    int rc = rx_check_modify_events(r, events);
    if (rc < 0)
        return rc;
    struct rx_fd *e = rx_user_fd(r, fd);
    if (!e)
        return -ENOENT;
    if (!(e->flags & RX_FD_DIRTY) && r->ndirty == r->dirty_cap && (rc = rx_dirty_grow(r)) < 0)
        return rc;
    unsigned weak = events & REACTOR_WEAK;
    if ((e->flags & RX_FD_WEAK) != weak) {
        e->flags ^= RX_FD_WEAK;
        r->nweak += weak ? 1 : -1;
    }
    return rx_modify_strong(r, fd, e, events & ~REACTOR_WEAK, cb, data);
}

/* reactor_modify once the change list has room (nothing is changed if it cannot grow). */
static RX_COLD int rx_modify_after_growing(reactor_t *r, int fd, unsigned events, reactor_cb cb,
                                           void *data)
{
    int rc = rx_dirty_grow(r);
    return rc < 0 ? rc : reactor_modify(r, fd, events, cb, data);
}

int reactor_unregister(reactor_t *r, int fd)
{
    if (fd < 0)
        return -EINVAL;
    struct rx_fd *e = rx_user_fd(r, fd);
    if (!e)
        return -ENOENT;
    return rx_remove(r, fd, e);
}

int reactor_get(const reactor_t *r, int fd, unsigned *events, reactor_cb *cb, void **data)
{
    if (fd < 0)
        return -EINVAL;
    const struct rx_fd *e = rx_user_fd(r, fd);
    if (!e)
        return -ENOENT;
    if (events)
        *events = e->events | (e->flags & RX_FD_WEAK);
    if (cb)
        *cb = e->cb;
    if (data)
        *data = e->data;
    return 0;
}

int reactor_count(const reactor_t *r)
{
    return r->count;
}

int rx_register_internal(reactor_t *r, int fd, reactor_cb cb, void *data)
{
    return rx_add(r, fd, REACTOR_READ, cb, data, RX_FD_INTERNAL);
}

void rx_unregister_internal(reactor_t *r, int fd)
{
    struct rx_fd *e = rx_fd_get(r, fd);
    if (e && (e->flags & RX_FD_INTERNAL))
        (void)rx_remove(r, fd, e);
}

/*
 * A ONESHOT registration has just been reported: it is disarmed until the
 * next modify. Record what the kernel did by itself so that reconciling costs
 * no system call where the kernel already disarmed it.
 */
void rx_oneshot_fired(reactor_t *r, int fd, struct rx_fd *e, unsigned reported)
{
    e->flags |= RX_FD_FIRED;
    e->fast = 0;
    if (r->ops->features & RX_FEAT_ONESHOT_FD)
        e->kernel = RX_IN_KERNEL; /* EPOLLONESHOT: still in the interest list, disabled */
    else if (r->ops->features & RX_FEAT_ONESHOT_FILTER)
        e->kernel &= (uint8_t)~reported; /* EV_ONESHOT: each reported filter is gone */
    if (rx_armed(e) != 0)
        (void)rx_mark_dirty(
            r, fd, e); /* on ENOMEM the fd stays armed: a spurious report, never a lost one */
}

/*
 * Brings the kernel in line with every registration changed since the last
 * wait. A change the kernel refuses (typically: the fd was closed without
 * being unregistered) is reported as readiness for what the fd registered, so
 * the owner's next read or write meets the error and it can unregister.
 * Returns the number of such reports written to `failed` (at most max); a
 * refusal that finds no room stays queued for the next wait.
 */
int rx_flush_changes(reactor_t *r, struct rx_pending *failed, int max)
{
    int nfailed = 0, kept = 0;
    for (int i = 0; i < r->ndirty; i++) {
        int fd = r->dirty[i];
        struct rx_fd *e = &r->fds[fd];
        if (!(e->flags & RX_FD_DIRTY))
            continue;
        unsigned want = rx_wanted(e);
        if (!(e->flags & RX_FD_USED) || rx_armed(e) == want) {
            e->flags &= (uint8_t)~RX_FD_DIRTY;
            continue;
        }
        if (nfailed == max) {
            r->dirty[kept++] = fd;
            continue;
        }
        e->flags &= (uint8_t)~RX_FD_DIRTY;
        /* Nothing wanted with nothing registered is a pause (not a fired
         * ONESHOT's other filter): parked where the backend can. */
        int rc =
            want == 0 && e->events == 0 ? rx_disarm_paused(r, fd, e) : rx_apply(r, fd, e, want);
        /* A disarm refused because the fd was closed (or its number reused)
         * while registered: a fired ONESHOT's other filter (kqueue), or a
         * pause. The close dropped our entry, unless the file lives on in a
         * dup: then a new generation makes the entry's reports stale, and the
         * set is rebuilt, where they would be masked to nothing at every wait
         * (a spin). The ONESHOT's owner has had its one report. */
        if (rc < 0 && want == 0 && (rc == -EBADF || rc == -ENOENT)) {
            e->gen = rx_next_gen(r);
            e->kernel = 0;
            rx_fd_sync(e);
            continue;
        }
        if (rc < 0) {
            e->kernel = 0;
            /* This report is a ONESHOT's one report: record it as fired, or the
             * next rebuild of the kernel set would try, fail and report again. */
            if (e->events & REACTOR_ONESHOT)
                e->flags |= RX_FD_FIRED;
            rx_fd_sync(e);
            failed[nfailed].fd = fd;
            failed[nfailed].events = e->events & RX_EVENT_MASK;
            failed[nfailed].gen = e->gen;
            nfailed++;
        }
    }
    r->ndirty = kept;
    return nfailed;
}

/*
 * Replaces the backend's kernel object and re-adds every registration. Used
 * after fork() (the child must not share the parent's epoll set) and when
 * epoll keeps reporting a file we can no longer delete: epoll(7) keys its
 * interest list by (fd, open file description), so a file closed here but
 * alive in a dup or a child stays in the set under a number we cannot name.
 * The re-adds go through the change list, so refusals are reported as ready.
 */
int rx_rebuild_backend(reactor_t *r)
{
    /* Everything that can fail happens before the old set is destroyed: room in
     * the change list for every registration, then the new kernel object. A
     * failure leaves the old set in place and r->rebuild as it was, so the
     * rebuild is tried again before the next wait; it never stops half-way with
     * registrations that look armed and are in no kernel set. */
    int used = 0;
    for (int fd = 0; fd < r->nfds; fd++)
        used += (r->fds[fd].flags & RX_FD_USED) && !(r->fds[fd].flags & RX_FD_DIRTY);
    while (r->dirty_cap - r->ndirty < used)
        if (rx_dirty_grow(r) < 0)
            return -ENOMEM;
    void *state;
    int rc = r->ops->create(&state);
    if (rc < 0)
        return rc;
    if (!r->ops->adopt)
        r->ops->destroy(r->state);
    else if ((rc = r->ops->adopt(state, r->state)) < 0) {
        r->ops->destroy(state);
        return rc;
    }
    r->state = state;
    r->rebuild = 0;
    for (int fd = 0; fd < r->nfds; fd++) {
        struct rx_fd *e = &r->fds[fd];
        if (!(e->flags & RX_FD_USED))
            continue;
        e->kernel = 0;
        e->fast = 0;
        rc = rx_mark_dirty(r, fd, e);
        assert(rc == 0); /* the room was reserved above */
    }
    return 0;
}

/*
 * In a child of fork(2) that frees the reactor without reactor_reinit(), the
 * kernel object is the parent's: an epoll set is shared across fork, and its
 * entries are keyed by (number, open file), files both processes still hold.
 * Deleting the reactor's own fds from it (the wakeup, the signal pipe) would
 * remove the parent's entries, and its blocked wait would miss every post and
 * signal. Forgetting what is armed makes the frees that follow skip the
 * kernel; the child's copy of the descriptor is simply closed.
 */
void rx_disown_kernel(reactor_t *r)
{
    for (int fd = 0; fd < r->nfds; fd++) {
        r->fds[fd].kernel = 0;
        r->fds[fd].fast = 0;
    }
}
