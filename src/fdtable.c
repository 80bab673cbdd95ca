/*
 * fdtable.c - the per-fd registration table and the event arrays sized to it.
 *
 * The table is a plain array indexed by fd, grown by doubling: lookups on the
 * dispatch path are one bounds check and one index, and growth happens only
 * when a larger fd is registered (a callback may: the dispatch loops re-read
 * r->fds after each call).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int rx_fd_reserve(reactor_t *r, int fd)
{
    if (fd < r->nfds)
        return 0;
    int n = r->nfds ? r->nfds : 64;
    while (n <= fd) {
        if (n > INT_MAX / 2)
            return -ENOMEM;
        n *= 2;
    }
    struct rx_fd *t = realloc(r->fds, (size_t)n * sizeof *t);
    if (!t)
        return -ENOMEM;
    memset(t + r->nfds, 0, (size_t)(n - r->nfds) * sizeof *t);
    r->fds = t;
    r->nfds = n;
    return 0;
}

/*
 * Makes room for `n` reports in one wait. The result arrays follow the number
 * of registrations (a wait can report at most one entry per fd after merging),
 * so a loop with 10,000 ready fds drains them in one call instead of 150.
 * Never called while callbacks run: the dispatch loop holds r->ready.
 */
int rx_ready_reserve(reactor_t *r, int n)
{
    if (n <= r->ready_cap)
        return 0;
    int cap = r->ready_cap ? r->ready_cap : 64;
    while (cap < n) {
        if (cap > INT_MAX / 4)
            return -ENOMEM;
        cap *= 2;
    }
    size_t reports = (size_t)cap * (size_t)rx_reports_per_fd(r);
    struct rx_ready *ready = realloc(r->ready, reports * sizeof *ready);
    if (!ready)
        return -ENOMEM;
    r->ready = ready;
    if (rx_reports_per_fd(r) > 1) { /* at most one batch's worth is left over */
        struct rx_ready *spill = realloc(r->spill, reports * sizeof *spill);
        if (!spill)
            return -ENOMEM;
        r->spill = spill;
    }
    struct rx_pending *batch = realloc(r->batch, (size_t)cap * sizeof *batch);
    if (!batch)
        return -ENOMEM;
    r->batch = batch;
    r->ready_cap = cap;
    return 0;
}
