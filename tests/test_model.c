/*
 * test_model.c - 10,000 random operations (register, modify, unregister,
 * read, write, fill and drain a socket's send buffer, replace a socket,
 * select, run_once) on a pool of socketpairs, every answer checked against a
 * simple model of level-triggered readiness:
 *
 *  - READ is ready iff bytes are waiting in the socket;
 *  - WRITE is ready iff its send buffer has room (always, unless filled);
 *  - a ONESHOT registration, once reported, is silent until modified.
 *
 * The model knows nothing of backends, so the same seed gives the same
 * answers on every backend; the second test checks exactly that, in one
 * process, over every backend compiled in. The third adds selects with less
 * room than there are ready fds, where the backend chooses what to report. The seed is printed;
 * RX_TEST_SEED=N replays a run (the other tests use N+1 and N+2).
 */
#include "harness.h"

enum { POOL = 32, OPS = 10000, MAX_PENDING = 64 };

enum op_kind {
    OP_REGISTER,
    OP_MODIFY,
    OP_UNREGISTER,
    OP_WRITE,
    OP_READ,
    OP_FILL_OR_DRAIN,
    OP_REPLACE,
    OP_SELECT,
    OP_RUN_ONCE,
    OP_SELECT_SMALL,
    OP_KINDS
};

/*
 * How often each operation is drawn, out of the sum. Which fds a select with
 * less room than ready fds reports is the backend's choice, so the mix that
 * compares backends has none of those.
 */
static const int mix_exact[OP_KINDS] = {6, 6, 4, 6, 6, 2, 1, 5, 4, 0};
static const int mix_small[OP_KINDS] = {6, 6, 4, 6, 6, 2, 1, 3, 2, 4};

struct model_fd {
    int sv[2];       /* sv[0] is registered, bytes are written to sv[1] */
    int registered;  /* what the model expects the reactor to hold */
    unsigned events; /* REACTOR_READ | REACTOR_WRITE | REACTOR_ONESHOT */
    int fired;       /* a ONESHOT registration that was reported */
    int pending;     /* bytes waiting in sv[0] */
    int full;        /* sv[0]'s send buffer was filled: not writable */
};

struct model {
    reactor_t *r;
    struct model_fd m[POOL];
    uint64_t rng;
    uint64_t digest; /* of every answer the reactor gave, to compare backends */
    int op;
    int counts[OP_KINDS];
    reactor_event_t called[POOL * 2]; /* what run_once's callbacks saw */
    int ncalled;
};

static uint32_t rng(struct model *s)
{
    /* xorshift64*: small, fast and the same everywhere. */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (uint32_t)((s->rng * 2685821657736338717ull) >> 32);
}

static void fold(struct model *s, uint64_t v)
{
    s->digest = (s->digest ^ v) * 1099511628211ull; /* FNV-1a, a word at a time */
}

static uint64_t seed_from_env(void)
{
    const char *env = getenv("RX_TEST_SEED");
    return env && *env ? strtoull(env, NULL, 10) : 20261123u;
}

static unsigned random_events(struct model *s)
{
    static const unsigned base[] = {REACTOR_READ, REACTOR_WRITE, REACTOR_READ | REACTOR_WRITE};
    unsigned ev = base[rng(s) % 3];
    return ev | (rng(s) % 4 == 0 ? REACTOR_ONESHOT : 0u);
}

/* What the model says must be reported for one fd (0 = not ready). */
static unsigned expected_events(const struct model_fd *f)
{
    if (!f->registered || f->fired)
        return 0;
    unsigned ev = 0;
    if ((f->events & REACTOR_READ) && f->pending > 0)
        ev |= REACTOR_READ;
    if ((f->events & REACTOR_WRITE) && !f->full)
        ev |= REACTOR_WRITE;
    return ev;
}

/* Compares a list of reports (from select, or from callbacks) with the model. */
static void check_reports(struct model *s, const reactor_event_t *ev, int n, const char *how)
{
    const char *b = reactor_backend(s->r);
    int expected = 0;
    h_assert_one_entry_per_fd(ev, n);
    fold(s, (uint64_t)n);
    for (int i = 0; i < POOL; i++) {
        struct model_fd *f = &s->m[i];
        unsigned want = expected_events(f);
        const reactor_event_t *got = h_find(ev, n, f->sv[0]);
        if (!want && got)
            fail_msg("%s, op %d (%s): fd %d reported with events %u; the model says not ready "
                     "(registered %d, events %u, fired %d, pending %d, full %d)",
                     b, s->op, how, f->sv[0], got->events, f->registered, f->events, f->fired,
                     f->pending, f->full);
        if (want && !got)
            fail_msg("%s, op %d (%s): fd %d not reported; the model says events %u "
                     "(events %u, pending %d, full %d)",
                     b, s->op, how, f->sv[0], want, f->events, f->pending, f->full);
        if (!want)
            continue;
        if (got->events != want)
            fail_msg("%s, op %d (%s): fd %d reported events %u, the model says %u", b, s->op, how,
                     f->sv[0], got->events, want);
        if (got->data != f)
            fail_msg("%s, op %d (%s): fd %d reported with the wrong data", b, s->op, how, f->sv[0]);
        expected++;
        fold(s, (uint64_t)s->op << 16 | (uint64_t)i << 8 | got->events);
        if (f->events & REACTOR_ONESHOT)
            f->fired = 1;
    }
    if (n != expected)
        fail_msg("%s, op %d (%s): %d entries for %d ready fds", b, s->op, how, n, expected);
}

static void check_select(struct model *s)
{
    reactor_event_t ev[POOL * 2];
    int n = h_select(s->r, 0, ev, POOL * 2);
    check_reports(s, ev, n, "select");
}

static struct model *record_target; /* where record() writes: one model runs at a time */

static void record(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r;
    struct model *s = record_target;
    if (s->ncalled == POOL * 2)
        fail_msg("op %d: more callbacks than fds", s->op);
    s->called[s->ncalled++] = (reactor_event_t){fd, events, data};
}

static void check_run_once(struct model *s)
{
    s->ncalled = 0;
    int ran = reactor_run_once(s->r, 0);
    if (ran != s->ncalled)
        fail_msg("op %d: run_once returned %d, but %d callbacks ran", s->op, ran, s->ncalled);
    check_reports(s, s->called, s->ncalled, "run_once");
}

/*
 * A select with room for 1 to 4 entries. Each entry must be ready in the
 * model, for no more than the model says; ONESHOT registrations reported are
 * fired. The ones left out are not lost: a full select right after must report
 * exactly what the model says is still ready.
 */
static void check_small_select(struct model *s)
{
    const char *b = reactor_backend(s->r);
    reactor_event_t ev[4];
    int max = 1 + (int)(rng(s) % 4), ready = 0;
    for (int i = 0; i < POOL; i++)
        ready += expected_events(&s->m[i]) != 0;
    int n = h_select(s->r, 0, ev, max);
    if (n > max || (ready > 0 && n == 0))
        fail_msg("%s, op %d: select(max %d) returned %d with %d fds ready", b, s->op, max, n,
                 ready);
    h_assert_one_entry_per_fd(ev, n);
    for (int k = 0; k < n; k++) {
        struct model_fd *f = ev[k].data;
        if (f < s->m || f >= s->m + POOL || f->sv[0] != ev[k].fd)
            fail_msg("%s, op %d: fd %d reported with the wrong data", b, s->op, ev[k].fd);
        unsigned want = expected_events(f);
        if (!ev[k].events || (ev[k].events & ~want))
            fail_msg("%s, op %d (select max %d): fd %d reported events %u, the model says %u", b,
                     s->op, max, ev[k].fd, ev[k].events, want);
        if (f->events & REACTOR_ONESHOT)
            f->fired = 1;
    }
    check_select(s);
}

static void op_register(struct model *s, struct model_fd *f)
{
    unsigned ev = random_events(s);
    int rc = reactor_register(s->r, f->sv[0], ev, record, f);
    if (f->registered) {
        H_EXPECT(rc, -EEXIST);
    } else {
        H_EXPECT(rc, 0);
        f->registered = 1, f->events = ev, f->fired = 0;
    }
}

static void op_modify(struct model *s, struct model_fd *f)
{
    unsigned ev = rng(s) % 8 == 0 ? 0u : random_events(s); /* 0: paused */
    int rc = reactor_modify(s->r, f->sv[0], ev, record, f);
    if (f->registered) {
        H_EXPECT(rc, 0);
        f->events = ev, f->fired = 0;
    } else {
        H_EXPECT(rc, -ENOENT);
    }
}

static void op_unregister(struct model *s, struct model_fd *f)
{
    H_EXPECT(reactor_unregister(s->r, f->sv[0]), f->registered ? 0 : -ENOENT);
    f->registered = 0;
}

static void op_write(struct model_fd *f)
{
    if (f->pending < MAX_PENDING) {
        h_put(f->sv[1]);
        f->pending++;
    }
}

static void op_read(struct model_fd *f)
{
    char c;
    if (f->pending > 0) {
        assert_int_equal(read(f->sv[0], &c, 1), 1);
        f->pending--;
    } else {
        assert_int_equal(read(f->sv[0], &c, 1), -1);
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    }
}

/* Fills sv[0]'s send buffer (not writable), or empties it at the peer (writable again). */
static void op_fill_or_drain(struct model_fd *f)
{
    if (!f->full) {
        h_fill(f->sv[0]);
        f->full = 1;
    } else {
        assert_true(h_drain(f->sv[1]) > 0);
        f->full = 0;
    }
}

/*
 * A new socketpair in place of the old one: the lowest free numbers, most
 * likely the same ones. Half the time the old fd is closed before it is
 * unregistered, as careless owners do.
 */
static void op_replace(struct model *s, struct model_fd *f)
{
    int close_first = rng(s) % 2;
    if (close_first)
        h_close_pair(f->sv);
    H_EXPECT(reactor_unregister(s->r, f->sv[0]), f->registered ? 0 : -ENOENT);
    if (!close_first)
        h_close_pair(f->sv);
    h_pair(f->sv);
    f->registered = f->fired = f->pending = f->full = 0;
}

/* Runs OPS random operations from `seed`; returns the digest of every answer. */
static uint64_t run_model(reactor_t *r, uint64_t seed, const int op_weight[OP_KINDS])
{
    static struct model s; /* large: not on the stack */
    memset(&s, 0, sizeof s);
    s.r = r;
    s.rng = seed ? seed : 1;
    s.digest = 14695981039346656037ull;
    record_target = &s;
    for (int i = 0; i < POOL; i++)
        h_pair(s.m[i].sv);
    int total_weight = 0;
    for (int k = 0; k < OP_KINDS; k++)
        total_weight += op_weight[k];

    for (s.op = 0; s.op < OPS; s.op++) {
        struct model_fd *f = &s.m[rng(&s) % POOL];
        int pick = (int)(rng(&s) % (uint32_t)total_weight), kind = 0;
        while (pick >= op_weight[kind])
            pick -= op_weight[kind++];
        s.counts[kind]++;
        switch ((enum op_kind)kind) {
        case OP_REGISTER:
            op_register(&s, f);
            break;
        case OP_MODIFY:
            op_modify(&s, f);
            break;
        case OP_UNREGISTER:
            op_unregister(&s, f);
            break;
        case OP_WRITE:
            op_write(f);
            break;
        case OP_READ:
            op_read(f);
            break;
        case OP_FILL_OR_DRAIN:
            op_fill_or_drain(f);
            break;
        case OP_REPLACE:
            op_replace(&s, f);
            break;
        case OP_SELECT:
            check_select(&s);
            break;
        case OP_RUN_ONCE:
            check_run_once(&s);
            break;
        case OP_SELECT_SMALL:
            check_small_select(&s);
            break;
        case OP_KINDS:
            break;
        }
    }
    check_select(&s);
    for (int k = 0; k < OP_KINDS; k++)
        if (s.counts[k] < OPS * op_weight[k] / total_weight / 2)
            fail_msg("operation %d drawn only %d times: the mix is broken", k, s.counts[k]);
    for (int i = 0; i < POOL; i++) {
        if (s.m[i].registered)
            H_EXPECT(reactor_unregister(r, s.m[i].sv[0]), 0);
        h_close_pair(s.m[i].sv);
    }
    assert_int_equal(reactor_count(r), 0);
    return s.digest;
}

static void random_operations_agree_with_the_model(void **state)
{
    reactor_t *r = *state;
    uint64_t seed = seed_from_env();
    printf("# model test: backend %s, seed %llu (RX_TEST_SEED=%llu replays it)\n",
           reactor_backend(r), (unsigned long long)seed, (unsigned long long)seed);
    uint64_t digest = run_model(r, seed, mix_exact);
    printf("# model test: backend %s, digest of the answers %016llx\n", reactor_backend(r),
           (unsigned long long)digest);
}

static void every_backend_compiled_in_gives_the_same_answers(void **state)
{
    (void)state;
    uint64_t seed = seed_from_env() + 1; /* another sequence than the test above */
    const char *first = NULL;
    uint64_t first_digest = 0;
    for (const char *const *b = reactor_backends(); *b; b++) {
        reactor_t *r = reactor_new(*b);
        if (!r)
            fail_msg("reactor_new(\"%s\") failed: %s", *b, reactor_strerror(errno));
        uint64_t d = run_model(r, seed, mix_exact);
        reactor_free(r);
        if (!first) {
            first = *b;
            first_digest = d;
        } else if (d != first_digest) {
            fail_msg("seed %llu: %s and %s gave different answers", (unsigned long long)seed, first,
                     *b);
        }
    }
    assert_non_null(first);
}

static void small_result_arrays_lose_nothing_and_report_nothing_extra(void **state)
{
    reactor_t *r = *state;
    uint64_t seed = seed_from_env() + 2;
    printf("# model test with small selects: backend %s, seed %llu\n", reactor_backend(r),
           (unsigned long long)seed);
    run_model(r, seed, mix_small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(random_operations_agree_with_the_model, h_setup,
                                        h_teardown),
        cmocka_unit_test(every_backend_compiled_in_gives_the_same_answers),
        cmocka_unit_test_setup_teardown(small_result_arrays_lose_nothing_and_report_nothing_extra,
                                        h_setup, h_teardown),
    };
    return H_RUN(tests);
}
