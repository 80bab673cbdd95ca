/*
 * hook.c - callbacks run in every iteration of reactor_run_once, before the
 * wait and after the other callbacks (libev's prepare and check watchers,
 * libuv's prepare and check handles): what another library driven by this
 * loop needs to flush its work before the loop sleeps and to look at what
 * the iteration changed.
 *
 * Hooks are few (one per integrated library), so they live in one array in
 * the order added. A hook removed while hooks run is only marked (id 0) and
 * the array compacted after the phase, so that the index of the running
 * phase stays valid; one added while they run is appended past the phase's
 * end, so it first runs in the next phase.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

#define RX_HOOK_WHEN (REACTOR_BEFORE_WAIT | REACTOR_AFTER_WAIT)

static void rx_hooks_compact(struct rx_hooks *h)
{
    int j = 0;
    for (int i = 0; i < h->n; i++)
        if (h->v[i].id)
            h->v[j++] = h->v[i];
    h->n = j;
    h->removed = 0;
}

void rx_hooks_run(reactor_t *r, unsigned when)
{
    struct rx_hooks *h = &r->hooks;
    int end = h->n;
    h->running = 1;
    for (int i = 0; i < end && !r->free_pending; i++) {
        struct rx_hook k = h->v[i]; /* a hook that adds one may move the array */
        if (k.id && (k.when & when))
            k.cb(r, when, k.data);
    }
    h->running = 0;
    if (h->removed)
        rx_hooks_compact(h);
}

void rx_hooks_free(reactor_t *r)
{
    free(r->hooks.v);
    r->hooks.v = NULL;
    r->hooks.n = r->hooks.cap = 0;
}

int64_t reactor_hook_add(reactor_t *r, unsigned when, reactor_hook_cb cb, void *data)
{
    struct rx_hooks *h = &r->hooks;
    if (!cb || !when || (when & ~RX_HOOK_WHEN))
        return -EINVAL;
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 4;
        struct rx_hook *v = realloc(h->v, (size_t)cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    int64_t id = ++h->last_id;
    h->v[h->n++] = (struct rx_hook){.id = id, .when = when, .cb = cb, .data = data};
    return id;
}

int reactor_hook_remove(reactor_t *r, int64_t id)
{
    struct rx_hooks *h = &r->hooks;
    for (int i = 0; id > 0 && i < h->n; i++) {
        if (h->v[i].id != id)
            continue;
        h->v[i].id = 0;
        h->removed = 1;
        if (!h->running)
            rx_hooks_compact(h);
        return 0;
    }
    return -ENOENT;
}
