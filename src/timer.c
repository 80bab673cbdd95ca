/*
 * timer.c - one-shot and repeating timers on the loop's cached clock.
 *
 * Structure. Pending timers sit in a 4-ary min-heap ordered by (deadline,
 * seq), where seq is a per-reactor insertion counter: equal deadlines fire in
 * the order they were added. A 4-ary heap is half as deep as a binary one,
 * and with 16-byte entries stored three slots past a 64-byte boundary, the
 * four children of every node share one cache line, so a sift-down costs
 * about one cache miss per level (the layout libev's ev.pod describes as its
 * "4-heap"). Entries carry their deadline, seq and slot, so sifting never
 * dereferences a timer's record.
 *
 * Each timer owns a slot, a small integer indexing four per-slot arrays:
 * `timers` (callback, data, period: 24 bytes, read only when firing), `gen`
 * (the generation in its id, 4 bytes, read by every cancel), one bit of the
 * `live` bitmap, and the free stack. Apart from these, a timer is its heap
 * entry: every slot has at most one.
 *
 * Lazy cancel. There is no index from a slot to its heap position. Cancel
 * clears the timer's live bit and bumps its generation, O(1), and leaves its
 * entry in the heap, dead. Dead entries are dropped when they reach the top
 * (in rx_timers_run, and in rx_timers_timeout so that a cancelled timer never
 * shortens the wait), and the heap is compacted (dead entries filtered out,
 * then a bottom-up rebuild, both O(len)) as soon as the dead entries
 * outnumber the live ones by more than RX_COMPACT_SLACK. A compaction leaves
 * no dead entry, and the next one needs more than nlive + RX_COMPACT_SLACK
 * new ones, so it costs O(1) per cancel, amortised. Right after any cancel
 * the heap holds at most 2 * nlive + RX_COMPACT_SLACK entries, and dead
 * entries only appear through cancels, so memory stays within twice the peak
 * number of pending timers (plus the slack). reactor_run() looks at nlive,
 * not at the heap, so it returns once every timer is cancelled.
 *
 * The trade. An indexed heap (the previous version of this file, and libev,
 * whose upheap/downheap store each moved entry's position in its watcher,
 * `ev_active (ANHE_w (heap [k])) = k`) removes a cancelled timer at once in
 * O(log n), but writes into per-timer memory for every entry it moves, on
 * add, cancel and expiry alike: with many timers, that is a likely cache miss
 * per level. Here heap moves touch only the heap, a cancel touches one
 * 4-byte generation and one bit, and the price is an occasional O(n) pause
 * in the cancel that triggers a compaction (at most once per n/2 cancels; its
 * length for 10^4..10^6 timers is in docs/results/source-comments.md), plus
 * dead entries taking heap space and sift comparisons until they go. A loop
 * that cannot afford a pause of milliseconds with a million timers pending
 * would be better served by an indexed heap.
 * Deadlines that are mostly cancelled before they expire (I/O timeouts, the
 * common case in a server) are where this wins most.
 *
 * A slot is not reused while a dead entry names it. A heap entry holds its
 * slot but not the slot's generation (no room in 16 bytes, and 24-byte
 * entries would break the cache-line layout above), so on its own it could
 * not tell "my timer was cancelled" from "my timer was cancelled and the slot
 * now holds another timer" - which would fire the new timer early, at the
 * old deadline, and twice. So a cancelled slot stays dead, off the free
 * stack, until its entry is dropped at the top or by a compaction, and only
 * then is it released. Hence an entry is live exactly when its slot's live
 * bit is set. The bitmap takes 128 KiB for a million timers, which stays in
 * the L2 cache, so a compaction never touches per-timer memory; free slots
 * sit on a stack of indices, so that releasing a compaction's worth of slots
 * is a sequential write, and retired slots (below) are dropped when popped,
 * so that releasing never reads a generation.
 *
 * Ids. An id is gen << 32 | slot: the slot index in the low 32 bits and the
 * slot's generation in bits 32..62 (bit 63 stays 0, and generations start at
 * 1, so ids are > 0). Looking up an id is one array index, one compare and
 * one bit test, no hash table. A slot's generation is bumped when its timer
 * dies (fires for the last time or is cancelled), so a stale id no longer
 * matches, even once the slot holds a new timer; the live bit rejects ids
 * that were never handed out. A slot whose generation would pass 2^31 - 1
 * gets generation 0 instead, which no id carries, and is retired for good:
 * ids are never reused, at the cost of about 32 bytes per 2^31 timers
 * through one slot.
 *
 * Sequence numbers are 32 bits so that an entry fits in 16 bytes. Before the
 * counter would wrap, the dead entries are dropped and the live ones are
 * renumbered 0..n-1 in their current seq order (rx_timers_renumber):
 * relative order is all that matters. That costs O(n log n) once per 2^32
 * adds.
 *
 * Time. Deadlines are nanoseconds of CLOCK_MONOTONIC. A timer is armed from
 * the clock read in reactor_timer_add itself, not from the loop's cached
 * clock: a callback that worked 300 ms before arming, or a timer armed long
 * after the last iteration, would otherwise fire early by that much. A timer
 * fires once the cached clock (read after each wait) reaches its deadline,
 * and the wait is the remaining time rounded up to whole milliseconds, so it
 * never returns before the deadline only to find nothing due.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define RX_TIMER_NONE UINT32_MAX     /* never a slot index */
#define RX_TIMER_GEN_MAX 0x7fffffffu /* keeps bit 63 of an id clear */
#define RX_TIMER_RETIRED 0u          /* the generation of a slot whose ids are used up */
#define RX_COMPACT_SLACK 64 /* dead entries tolerated beyond nlive: no churn on small heaps */
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

/* Moves the hole at i towards the root until `e` fits in it. */
static void rx_heap_sift_up(struct rx_timers *t, uint32_t i, struct rx_heap_entry e)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / RX_HEAP_ARITY;
        if (!rx_heap_before(&e, &t->heap[parent]))
            break;
        t->heap[i] = t->heap[parent];
        i = parent;
    }
    t->heap[i] = e;
}

/*
 * The least of the children of node i, or RX_TIMER_NONE for a leaf. With all
 * four children present (every parent but the last), a tournament of three
 * comparisons. They stay branches: in a branch-free version (one 128-bit
 * compare, conditional moves) each level's loads wait for the previous
 * level's compares instead of being speculated, and add_fire ran slower
 * (docs/design.md, "The sift-down keeps its branches").
 */
static inline uint32_t rx_heap_min_child(const struct rx_heap_entry *h, uint32_t len, uint32_t i)
{
    uint64_t first = (uint64_t)i * RX_HEAP_ARITY + 1;
    if (first + RX_HEAP_ARITY <= len) {
        uint32_t f = (uint32_t)first;
        uint32_t a = rx_heap_before(&h[f + 1], &h[f]) ? f + 1 : f;
        uint32_t b = rx_heap_before(&h[f + 3], &h[f + 2]) ? f + 3 : f + 2;
        return rx_heap_before(&h[b], &h[a]) ? b : a;
    }
    if (first >= len)
        return RX_TIMER_NONE;
    uint32_t best = (uint32_t)first;
    for (uint32_t c = best + 1; c < len; c++)
        if (rx_heap_before(&h[c], &h[best]))
            best = c;
    return best;
}

/* Moves the hole at i towards the leaves until `e` fits in it. */
static void rx_heap_sift_down(struct rx_timers *t, uint32_t i, struct rx_heap_entry e)
{
    for (;;) {
        uint32_t best = rx_heap_min_child(t->heap, t->len, i);
        if (best == RX_TIMER_NONE || !rx_heap_before(&t->heap[best], &e))
            break;
        t->heap[i] = t->heap[best];
        i = best;
    }
    t->heap[i] = e;
}

/*
 * Removes the top entry. The last entry, which must fill the hole, came from
 * the bottom and almost always belongs back there, so rather than comparing
 * it at every level on the way down, the hole goes all the way down along the
 * least children, and the entry is then sifted up from there (Floyd's
 * "bottom-up" variant): three comparisons per level instead of four.
 */
static void rx_heap_pop(struct rx_timers *t)
{
    struct rx_heap_entry last = t->heap[--t->len];
    if (t->len == 0)
        return;
    uint32_t i = 0, c;
    while ((c = rx_heap_min_child(t->heap, t->len, i)) != RX_TIMER_NONE) {
        t->heap[i] = t->heap[c];
        i = c;
    }
    rx_heap_sift_up(t, i, last);
}

/* Floyd's bottom-up heap construction over heap[0..len): O(n). */
static void rx_heap_build(struct rx_timers *t)
{
    if (t->len < 2)
        return;
    for (uint32_t i = (t->len - 2) / RX_HEAP_ARITY + 1; i-- > 0;)
        rx_heap_sift_down(t, i, t->heap[i]);
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
    if (!cap || !(mem = rx_aligned_alloc(RX_HEAP_ALIGN, (cap + RX_HEAP_SKEW) * sizeof *t->heap)))
        return -ENOMEM;
    struct rx_heap_entry *heap = (struct rx_heap_entry *)mem + RX_HEAP_SKEW;
    if (t->len)
        memcpy(heap, t->heap, t->len * sizeof *heap);
    rx_aligned_free(t->heap_mem);
    t->heap_mem = mem;
    t->heap = heap;
    t->cap = cap;
    return 0;
}

static inline size_t rx_live_words(uint32_t slots)
{
    return ((size_t)slots + 63) / 64;
}

/*
 * Grows the four per-slot arrays together. slots_cap moves only once all
 * four have grown: an array that grew before a later one failed is merely
 * larger than needed.
 */
static int rx_slots_reserve(struct rx_timers *t, uint32_t need)
{
    if (need <= t->slots_cap)
        return 0;
    uint32_t cap = rx_grown_cap(t->slots_cap, need, sizeof *t->timers);
    if (!cap)
        return -ENOMEM;
    struct rx_timer *timers = realloc(t->timers, (size_t)cap * sizeof *timers);
    if (!timers)
        return -ENOMEM;
    t->timers = timers;
    uint32_t *gen = realloc(t->gen, (size_t)cap * sizeof *gen);
    if (!gen)
        return -ENOMEM;
    t->gen = gen;
    uint32_t *fr = realloc(t->free, (size_t)cap * sizeof *fr);
    if (!fr)
        return -ENOMEM;
    t->free = fr;
    size_t old = rx_live_words(t->slots_cap), words = rx_live_words(cap);
    uint64_t *live = realloc(t->live, words * sizeof *live);
    if (!live)
        return -ENOMEM;
    memset(live + old, 0, (words - old) * sizeof *live);
    t->live = live;
    if (t->weak) {
        uint64_t *weak = realloc(t->weak, words * sizeof *weak);
        if (!weak)
            return -ENOMEM;
        memset(weak + old, 0, (words - old) * sizeof *weak);
        t->weak = weak;
    }
    t->slots_cap = cap;
    return 0;
}

static inline int rx_is_live(const struct rx_timers *t, uint32_t slot)
{
    return (int)(t->live[slot / 64] >> (slot % 64) & 1);
}

/*
 * Free slots: those on the free stack, and those from `fresh` up to nslots.
 * When the heap is empty every slot is free, and the stack is forgotten in
 * favour of handing slots out again from 0 upwards: a burst of adds then
 * writes consecutive records instead of the slots the last burst of fires
 * left on the stack in deadline order, i.e. scattered. Retired slots can sit
 * in both places (releasing does not read generations, see rx_timers_filter)
 * and are skipped here, where the slot's memory is about to be written anyway.
 */
static int rx_slot_alloc(struct rx_timers *t, uint32_t *slot)
{
    if (t->len == 0) {
        t->nfree = 0;
        t->fresh = 0;
    }
    while (t->nfree > 0) {
        uint32_t s = t->free[--t->nfree];
        if (t->gen[s] != RX_TIMER_RETIRED) {
            *slot = s;
            return 0;
        }
    }
    while (t->fresh < t->nslots) {
        uint32_t s = t->fresh++;
        if (t->gen[s] != RX_TIMER_RETIRED) {
            *slot = s;
            return 0;
        }
    }
    if (t->nslots == RX_TIMER_NONE)
        return -ENOMEM;
    int rc = rx_slots_reserve(t, t->nslots + 1);
    if (rc < 0)
        return rc;
    *slot = t->nslots++;
    t->fresh = t->nslots;
    t->gen[*slot] = 1;
    return 0;
}

/* An armed timer dies (cancelled, or fired for the last time): its id goes stale. */
static void rx_slot_kill(struct rx_timers *t, uint32_t slot)
{
    uint64_t bit = (uint64_t)1 << (slot % 64);
    t->live[slot / 64] &= ~bit;
    t->nlive--;
    if (t->nweak && (t->weak[slot / 64] & bit)) { /* one test while no timer is weak */
        t->weak[slot / 64] &= ~bit;
        t->nweak--;
    }
    t->gen[slot] = t->gen[slot] == RX_TIMER_GEN_MAX ? RX_TIMER_RETIRED : t->gen[slot] + 1;
}

/* A dead slot whose heap entry is gone becomes free (if retired, rx_slot_alloc drops it). */
static inline void rx_slot_release(struct rx_timers *t, uint32_t slot)
{
    t->free[t->nfree++] = slot;
}

static inline int64_t rx_timer_id(const struct rx_timers *t, uint32_t slot)
{
    return (int64_t)((uint64_t)t->gen[slot] << 32 | slot);
}

/* The slot of the armed timer with this id, or RX_TIMER_NONE. */
static uint32_t rx_timer_lookup(const struct rx_timers *t, int64_t id)
{
    if (id <= 0)
        return RX_TIMER_NONE;
    uint32_t slot = (uint32_t)((uint64_t)id & 0xffffffffu);
    uint32_t gen = (uint32_t)((uint64_t)id >> 32);
    if (slot >= t->nslots || t->gen[slot] != gen || !rx_is_live(t, slot))
        return RX_TIMER_NONE;
    return slot;
}

/* ---- Dead entries ---------------------------------------------------------------- */

/* Pops dead entries off the top, so that heap[0], if any, is live. */
static void rx_timers_drop_dead_top(struct rx_timers *t)
{
    while (t->len > 0 && !rx_is_live(t, rx_entry_slot(t->heap[0]))) {
        uint32_t slot = rx_entry_slot(t->heap[0]);
        rx_heap_pop(t);
        rx_slot_release(t, slot);
    }
}

/*
 * Filters the dead entries out of heap[0..len), releasing their slots; the
 * order is lost. Branch-free, since live and dead entries alternate at
 * random, and touching only the heap, the bitmap and the top of the free
 * stack: every write is sequential.
 */
static void rx_timers_filter(struct rx_timers *t)
{
    uint32_t j = 0, nfree = t->nfree;
    for (uint32_t i = 0; i < t->len; i++) {
        struct rx_heap_entry e = t->heap[i];
        uint32_t slot = rx_entry_slot(e);
        int live = rx_is_live(t, slot);
        t->heap[j] = e;
        j += (uint32_t)live;
        t->free[nfree] = slot;
        nfree += (uint32_t)!live;
    }
    t->len = j;
    t->nfree = nfree;
}

/*
 * Drops every dead entry and rebuilds the heap: O(len). Safe at any time,
 * including from a callback inside rx_timers_run, which re-reads the top
 * after every callback.
 */
static void rx_timers_compact(struct rx_timers *t)
{
    rx_timers_filter(t);
    rx_heap_build(t);
}

/* ---- Sequence numbers ------------------------------------------------------------ */

static int rx_cmp_order(const void *a, const void *b)
{
    uint64_t x = ((const struct rx_heap_entry *)a)->order;
    uint64_t y = ((const struct rx_heap_entry *)b)->order;
    return (x > y) - (x < y);
}

/*
 * Drops the dead entries, gives the live timers the seqs 0..len-1 in their
 * current seq order and maps the run horizon the same way, then rebuilds the
 * heap. In place: qsort cannot fail, so neither can the add or re-arm that
 * triggered this. The timer on top stays on top: it is the least of the live
 * entries, and (inside rx_timers_run, the only caller that relies on it) it
 * is live.
 */
static void rx_timers_renumber(struct rx_timers *t)
{
    uint32_t horizon = 0;
    rx_timers_filter(t);
    qsort(t->heap, t->len, sizeof *t->heap, rx_cmp_order);
    for (uint32_t i = 0; i < t->len; i++) {
        if (rx_entry_seq(t->heap[i]) < t->horizon)
            horizon = i + 1;
        t->heap[i].order = (uint64_t)i << 32 | rx_entry_slot(t->heap[i]);
    }
    t->horizon = horizon;
    t->next_seq = t->len;
    rx_heap_build(t);
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

#define RX_NS_PER_MS 1000000u

static inline uint64_t rx_ms_to_ns(uint64_t ms)
{
    return ms > UINT64_MAX / RX_NS_PER_MS ? UINT64_MAX : ms * RX_NS_PER_MS;
}

/* CLOCK_MONOTONIC now, without touching the loop's cached clock. */
static uint64_t rx_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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
}

void rx_timers_free(reactor_t *r)
{
    struct rx_timers *t = &r->svc.timers;
    rx_aligned_free(t->heap_mem);
    free(t->timers);
    free(t->gen);
    free(t->live);
    free(t->weak);
    free(t->free);
    rx_timers_init(r);
}

/* Live strong timers only: reactor_run returns once every timer is cancelled or weak. */
int rx_timers_pending(const reactor_t *r)
{
    return r->svc.timers.nlive > r->svc.timers.nweak;
}

int rx_timers_timeout(reactor_t *r, int timeout_ms)
{
    struct rx_timers *t = &r->svc.timers;
    rx_timers_drop_dead_top(t); /* a cancelled timer must not shorten the wait */
    if (t->len == 0)
        return timeout_ms;
    uint64_t deadline = t->heap[0].deadline;
    uint64_t now = rx_now_ns(r);
    uint64_t left = deadline > now ? deadline - now : 0;
    uint64_t wait = left / RX_NS_PER_MS + (left % RX_NS_PER_MS != 0);
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
 * deadlines its seq is smaller), so stopping at the first ineligible live top
 * leaves no eligible timer behind. Dead entries met on top are dropped
 * whatever their deadline.
 */
int rx_timers_run(reactor_t *r)
{
    struct rx_timers *t = &r->svc.timers;
    const uint64_t now = rx_now_ns(r);
    int ran = 0;

    t->horizon = t->next_seq;
    while (t->len > 0 && !r->free_pending) {
        struct rx_heap_entry top = t->heap[0];
        uint32_t slot = rx_entry_slot(top);
        if (!rx_is_live(t, slot)) {
            rx_heap_pop(t);
            rx_slot_release(t, slot);
            continue;
        }
        if (top.deadline > now || rx_entry_seq(top) >= t->horizon)
            break;
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
                .deadline = rx_next_deadline(t->heap[0].deadline, rx_ms_to_ns(tm.repeat_ms), now),
                .order = (uint64_t)seq << 32 | slot,
            };
            rx_heap_sift_down(t, 0, e);
        } else {
            rx_heap_pop(t);
            rx_slot_kill(t, slot);
            rx_slot_release(t, slot);
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

    struct rx_timer *tm = &t->timers[slot];
    tm->cb = cb;
    tm->data = data;
    tm->repeat_ms = repeat_ms;
    t->live[slot / 64] |= (uint64_t)1 << (slot % 64);
    t->nlive++;
    uint32_t seq = rx_next_seq(t);
    struct rx_heap_entry e = {
        .deadline = rx_add_sat(rx_clock_ns(), rx_ms_to_ns(after_ms)),
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
    rx_slot_kill(t, slot); /* its heap entry stays, dead, until dropped */
    if (t->len - t->nlive > t->nlive + RX_COMPACT_SLACK)
        rx_timers_compact(t);
    return 0;
}

/* The weak bitmap is allocated by the first weak timer, so that the others never pay for it. */
int reactor_timer_set_weak(reactor_t *r, int64_t id, int weak)
{
    struct rx_timers *t = &r->svc.timers;
    uint32_t slot = rx_timer_lookup(t, id);
    if (slot == RX_TIMER_NONE)
        return -ENOENT;
    if (!t->weak) {
        if (!weak)
            return 0;
        t->weak = calloc(rx_live_words(t->slots_cap), sizeof *t->weak);
        if (!t->weak)
            return -ENOMEM;
    }
    uint64_t bit = (uint64_t)1 << (slot % 64), *word = &t->weak[slot / 64];
    if (!(*word & bit) == !weak)
        return 0;
    *word ^= bit;
    t->nweak += weak ? 1u : (uint32_t)-1;
    return 0;
}

uint64_t reactor_now(const reactor_t *r)
{
    return rx_now_ms(r);
}

void reactor_update_time(reactor_t *r)
{
    rx_update_now(r);
}
