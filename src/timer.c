/*
 * timer.c - one-shot and repeating timers on the loop's cached clock.
 *
 * Structure. Pending timers sit in a 4-ary min-heap ordered by (deadline,
 * seq), where seq is a per-reactor insertion counter: equal deadlines fire in
 * the order they were added. A 4-ary heap is half as deep as a binary one,
 * and with 16-byte entries stored three slots past a 64-byte boundary, the
 * four children of every node share one cache line, so the sift-down done on
 * every expiry or cancel costs about one cache miss per level (the layout
 * libev's ev.pod describes as its "4-heap"). Entries carry their deadline and
 * seq so that sifting never dereferences a record.
 *
 * Each timer also owns a slot, split in two arrays: `index` (heap position
 * and generation, 8 bytes, touched by add, cancel and every heap move) and
 * `timers` (callback, data, period, read only when firing). Keeping the hot
 * half small keeps more of it in cache with a million timers. The heap
 * position is updated on every move, so cancel removes from the middle of the
 * heap in O(log n) without searching.
 *
 * Ids. An id is gen << 32 | slot: the slot index in the low 32 bits and the
 * slot's generation in bits 32..62 (bit 63 stays 0, and generations start at
 * 1, so ids are > 0). Looking up an id is one array index and one compare, no
 * hash table. A slot's generation is bumped each time the slot is freed, so a
 * stale id no longer matches once its timer fired or was cancelled, even if
 * the slot holds a new timer. A slot whose generation reaches 2^31 - 1 is
 * retired instead of being reused: ids are never reused, at the cost of 32
 * bytes per 2^31 timers through one slot. A slot is armed exactly when the
 * heap entry at its `pos` names it back; free slots are never in the heap.
 *
 * Sequence numbers are 32 bits so that an entry fits in 16 bytes. Before the
 * counter would wrap, the pending timers are renumbered 0..n-1 in their
 * current seq order (rx_timers_renumber): relative order is all that
 * matters, so the heap stays valid. That costs O(n log n) once per 2^32 adds.
 *
 * Time. Deadlines are reactor_now() + after_ms (saturating), and a timer fires
 * once reactor_now() >= deadline: never early with respect to the loop's
 * clock. The cached clock is whole milliseconds, so the wait until a deadline
 * is an exact number of milliseconds: D - now is the remaining time rounded up.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define RX_TIMER_NONE UINT32_MAX     /* end of the free list; never a slot index */
#define RX_TIMER_GEN_MAX 0x7fffffffu /* keeps bit 63 of an id clear */
#define RX_HEAP_ARITY 4
#define RX_HEAP_ALIGN 64 /* a cache line */
#define RX_HEAP_SKEW 3   /* entries before heap[0], so that children 4i+1..4i+4 are aligned */

static inline uint32_t rx_entry_slot(struct rx_heap_entry e)
{
    return (uint32_t)(e.order & 0xffffffffu);
}

static inline uint32_t rx_entry_seq(struct rx_heap_entry e)
{
    return (uint32_t)(e.order >> 32);
}

static inline int rx_heap_before(const struct rx_heap_entry *a, const struct rx_heap_entry *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->order < b->order);
}

/* ---- The heap ----------------------------------------------------------------- */

/* Stores `e` at heap index i and tells its slot where it lives. */
static inline void rx_heap_place(struct rx_timers *t, uint32_t i, struct rx_heap_entry e)
{
    t->heap[i] = e;
    t->index[rx_entry_slot(e)].pos = i;
}

/* Moves the hole at i towards the root until `e` fits in it. */
static void rx_heap_sift_up(struct rx_timers *t, uint32_t i, struct rx_heap_entry e)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / RX_HEAP_ARITY;
        if (!rx_heap_before(&e, &t->heap[parent]))
            break;
        rx_heap_place(t, i, t->heap[parent]);
        i = parent;
    }
    rx_heap_place(t, i, e);
}

/* Moves the hole at i towards the leaves until `e` fits in it. */
static void rx_heap_sift_down(struct rx_timers *t, uint32_t i, struct rx_heap_entry e)
{
    for (;;) {
        uint64_t first = (uint64_t)i * RX_HEAP_ARITY + 1;
        if (first >= t->len)
            break;
        uint32_t best = (uint32_t)first;
        uint32_t end = first + RX_HEAP_ARITY < t->len ? (uint32_t)first + RX_HEAP_ARITY : t->len;
        for (uint32_t c = best + 1; c < end; c++)
            if (rx_heap_before(&t->heap[c], &t->heap[best]))
                best = c;
        if (!rx_heap_before(&t->heap[best], &e))
            break;
        rx_heap_place(t, i, t->heap[best]);
        i = best;
    }
    rx_heap_place(t, i, e);
}

static void rx_heap_remove_at(struct rx_timers *t, uint32_t i)
{
    struct rx_heap_entry last = t->heap[--t->len];
    if (i == t->len)
        return;
    if (i > 0 && rx_heap_before(&last, &t->heap[(i - 1) / RX_HEAP_ARITY]))
        rx_heap_sift_up(t, i, last);
    else
        rx_heap_sift_down(t, i, last);
}

/* ---- Storage ------------------------------------------------------------------ */

/*
 * The capacity to grow an array of `cap` elements of `size` bytes to so that
 * it holds `need`: doubled, capped below RX_TIMER_NONE; 0 if impossible.
 */
static uint32_t rx_grown_cap(uint32_t cap, uint32_t need, size_t size)
{
    uint64_t n = cap ? (uint64_t)cap * 2 : 64;
    if (n > RX_TIMER_NONE - RX_HEAP_SKEW)
        n = RX_TIMER_NONE - RX_HEAP_SKEW;
    return n < need || n > SIZE_MAX / size - RX_HEAP_SKEW ? 0 : (uint32_t)n;
}

/* Aligned storage cannot be realloc'ed: the heap is copied when it grows. */
static int rx_heap_reserve(struct rx_timers *t, uint32_t need)
{
    if (need <= t->cap)
        return 0;
    uint32_t cap = rx_grown_cap(t->cap, need, sizeof *t->heap);
    void *mem;
    if (!cap || posix_memalign(&mem, RX_HEAP_ALIGN, (cap + RX_HEAP_SKEW) * sizeof *t->heap))
        return -ENOMEM;
    struct rx_heap_entry *heap = (struct rx_heap_entry *)mem + RX_HEAP_SKEW;
    if (t->len)
        memcpy(heap, t->heap, t->len * sizeof *heap);
    free(t->heap_mem);
    t->heap_mem = mem;
    t->heap = heap;
    t->cap = cap;
    return 0;
}

static int rx_slots_reserve(struct rx_timers *t, uint32_t need)
{
    if (need <= t->slots_cap)
        return 0;
    uint32_t cap = rx_grown_cap(t->slots_cap, need, sizeof *t->timers);
    if (!cap)
        return -ENOMEM;
    struct rx_timer_index *index = realloc(t->index, (size_t)cap * sizeof *index);
    if (!index)
        return -ENOMEM;
    t->index = index;
    struct rx_timer *timers = realloc(t->timers, (size_t)cap * sizeof *timers);
    if (!timers)
        return -ENOMEM; /* index is merely larger than needed */
    t->timers = timers;
    t->slots_cap = cap;
    return 0;
}

static int rx_slot_alloc(struct rx_timers *t, uint32_t *slot)
{
    if (t->free_head != RX_TIMER_NONE) {
        *slot = t->free_head;
        t->free_head = t->index[*slot].pos;
        return 0;
    }
    if (t->nslots == RX_TIMER_NONE)
        return -ENOMEM;
    int rc = rx_slots_reserve(t, t->nslots + 1);
    if (rc < 0)
        return rc;
    *slot = t->nslots++;
    t->index[*slot].gen = 1;
    return 0;
}

static void rx_slot_free(struct rx_timers *t, uint32_t slot)
{
    struct rx_timer_index *ix = &t->index[slot];
    t->timers[slot].data = NULL;
    if (ix->gen == RX_TIMER_GEN_MAX)
        return; /* retired: its ids are all used up */
    ix->gen++;
    ix->pos = t->free_head;
    t->free_head = slot;
}

static inline int64_t rx_timer_id(const struct rx_timers *t, uint32_t slot)
{
    return (int64_t)((uint64_t)t->index[slot].gen << 32 | slot);
}

/* The slot of the armed timer with this id, or RX_TIMER_NONE. */
static uint32_t rx_timer_lookup(const struct rx_timers *t, int64_t id)
{
    if (id <= 0)
        return RX_TIMER_NONE;
    uint32_t slot = (uint32_t)((uint64_t)id & 0xffffffffu);
    uint32_t gen = (uint32_t)((uint64_t)id >> 32);
    if (slot >= t->nslots)
        return RX_TIMER_NONE;
    struct rx_timer_index ix = t->index[slot];
    if (ix.gen != gen || ix.pos >= t->len || rx_entry_slot(t->heap[ix.pos]) != slot)
        return RX_TIMER_NONE;
    return slot;
}

/* ---- Sequence numbers ------------------------------------------------------------ */

static int rx_cmp_order(const void *a, const void *b)
{
    uint64_t x = ((const struct rx_heap_entry *)a)->order;
    uint64_t y = ((const struct rx_heap_entry *)b)->order;
    return (x > y) - (x < y);
}

/*
 * Gives the pending timers the seqs 0..len-1 in their current seq order and
 * maps the run horizon the same way, then rebuilds the heap. In place: qsort
 * cannot fail, so neither can the add or re-arm that triggered this.
 */
static void rx_timers_renumber(struct rx_timers *t)
{
    uint32_t horizon = 0;
    qsort(t->heap, t->len, sizeof *t->heap, rx_cmp_order);
    for (uint32_t i = 0; i < t->len; i++) {
        if (rx_entry_seq(t->heap[i]) < t->horizon)
            horizon = i + 1;
        t->heap[i].order = (uint64_t)i << 32 | rx_entry_slot(t->heap[i]);
    }
    t->horizon = horizon;
    t->next_seq = t->len;
    /* Floyd's heap construction, bottom-up: O(n). */
    for (uint32_t i = t->len; i-- > 0;)
        rx_heap_sift_down(t, i, t->heap[i]);
}

static uint32_t rx_next_seq(struct rx_timers *t)
{
    if (t->next_seq == UINT32_MAX)
        rx_timers_renumber(t);
    return t->next_seq++;
}

/* ---- Hooks ---------------------------------------------------------------------- */

static inline uint64_t rx_add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/*
 * The first deadline of a repeating timer's schedule (prev + k * period)
 * that is later than `now`: periods missed while the loop was busy are
 * skipped rather than fired back to back, and the schedule does not drift.
 */
static uint64_t rx_next_deadline(uint64_t prev, uint64_t period, uint64_t now)
{
    if (now < prev)
        return rx_add_sat(prev, period);
    return rx_add_sat(now, period - (now - prev) % period);
}

void rx_timers_init(reactor_t *r)
{
    memset(&r->svc.timers, 0, sizeof r->svc.timers);
    r->svc.timers.free_head = RX_TIMER_NONE;
}

void rx_timers_free(reactor_t *r)
{
    struct rx_timers *t = &r->svc.timers;
    free(t->heap_mem);
    free(t->index);
    free(t->timers);
    rx_timers_init(r);
}

int rx_timers_pending(const reactor_t *r)
{
    return r->svc.timers.len > 0;
}

int rx_timers_timeout(const reactor_t *r, int timeout_ms)
{
    const struct rx_timers *t = &r->svc.timers;
    if (t->len == 0)
        return timeout_ms;
    uint64_t deadline = t->heap[0].deadline;
    uint64_t wait = deadline > r->now_ms ? deadline - r->now_ms : 0;
    if (wait > INT_MAX)
        wait = INT_MAX;
    if (timeout_ms >= 0 && (uint64_t)timeout_ms < wait)
        return timeout_ms;
    return (int)wait;
}

/*
 * Fires the timers that expired by reactor_now(). Only timers added before
 * this call are eligible (seq < horizon): a callback that adds a 0 ms timer,
 * or a repeating timer re-armed here, waits for the next iteration, so the
 * loop goes back to I/O in between. Every expired timer precedes every newer
 * one in heap order (its deadline is <= now <= a new deadline, and on equal
 * deadlines its seq is smaller), so stopping at the first ineligible top
 * leaves no eligible timer behind.
 */
int rx_timers_run(reactor_t *r)
{
    struct rx_timers *t = &r->svc.timers;
    const uint64_t now = r->now_ms;
    int ran = 0;

    t->horizon = t->next_seq;
    while (t->len > 0 && t->heap[0].deadline <= now && rx_entry_seq(t->heap[0]) < t->horizon &&
           !r->free_pending) {
        uint32_t slot = rx_entry_slot(t->heap[0]);
        struct rx_timer tm = t->timers[slot];
        int64_t id = rx_timer_id(t, slot);

        /*
         * Re-arm or release before the callback, which may cancel this timer
         * (a repeating one must then stay cancelled; a one-shot one has
         * already fired, so its id is stale: -ENOENT) or add timers that
         * reallocate the arrays (hence the copy above).
         */
        if (tm.repeat_ms) {
            uint32_t seq = rx_next_seq(t); /* a renumbering keeps this timer on top */
            struct rx_heap_entry e = {
                .deadline = rx_next_deadline(t->heap[0].deadline, tm.repeat_ms, now),
                .order = (uint64_t)seq << 32 | slot,
            };
            rx_heap_sift_down(t, 0, e);
        } else {
            rx_heap_remove_at(t, 0);
            rx_slot_free(t, slot);
        }
        tm.cb(r, id, tm.data);
        ran++;
    }
    return ran;
}

/* ---- API ---------------------------------------------------------------------- */

int64_t reactor_timer_add(reactor_t *r, uint64_t after_ms, uint64_t repeat_ms, reactor_timer_cb cb,
                          void *data)
{
    struct rx_timers *t = &r->svc.timers;
    uint32_t slot;
    int rc;

    if (!cb)
        return -EINVAL;
    /* Room in the heap first, so that a failure leaves no trace. */
    if ((rc = rx_heap_reserve(t, t->len + 1)) < 0)
        return rc;
    if ((rc = rx_slot_alloc(t, &slot)) < 0)
        return rc;

    t->timers[slot] = (struct rx_timer){.cb = cb, .data = data, .repeat_ms = repeat_ms};
    uint32_t seq = rx_next_seq(t);
    struct rx_heap_entry e = {
        .deadline = rx_add_sat(r->now_ms, after_ms),
        .order = (uint64_t)seq << 32 | slot,
    };
    rx_heap_sift_up(t, t->len++, e);
    return rx_timer_id(t, slot);
}

int reactor_timer_cancel(reactor_t *r, int64_t id)
{
    struct rx_timers *t = &r->svc.timers;
    uint32_t slot = rx_timer_lookup(t, id);
    if (slot == RX_TIMER_NONE)
        return -ENOENT;
    rx_heap_remove_at(t, t->index[slot].pos);
    rx_slot_free(t, slot);
    return 0;
}

uint64_t reactor_now(const reactor_t *r)
{
    return r->now_ms;
}
