/*
 * test_model.c - 10,000 random register/modify/unregister/read/write/select
 * operations on a pool of socketpairs, each result checked against a simple
 * model of level-triggered readiness. The model knows nothing of backends, so
 * with the same seed every backend must give the same answers.
 *
 * The seed is printed; RX_TEST_SEED=N replays a run.
 */
#include <stdio.h>

#include "harness.h"

enum { POOL = 32, OPS = 10000, MAX_PENDING = 64 };

struct model_fd {
    int sv[2];       /* sv[0] is registered, bytes are written to sv[1] */
    int registered;  /* what the model expects the reactor to hold */
    unsigned events; /* REACTOR_READ | REACTOR_WRITE | REACTOR_ONESHOT */
    int fired;       /* a ONESHOT registration that was reported */
    int pending;     /* bytes waiting in sv[0] */
};

static uint64_t rng_state;

static uint32_t rng(void)
{
    /* xorshift64*: small, fast and the same everywhere. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static unsigned random_events(void)
{
    static const unsigned base[] = {REACTOR_READ, REACTOR_WRITE, REACTOR_READ | REACTOR_WRITE};
    return base[rng() % 3] | (rng() % 4 == 0 ? REACTOR_ONESHOT : 0u);
}

/* What the model says a select() must report for one fd (0 = not ready). */
static unsigned expected_events(const struct model_fd *m)
{
    if (!m->registered || m->fired)
        return 0;
    unsigned ev = 0;
    if ((m->events & REACTOR_READ) && m->pending > 0)
        ev |= REACTOR_READ;
    if (m->events & REACTOR_WRITE) /* a socket holding a few bytes always has room */
        ev |= REACTOR_WRITE;
    return ev;
}

static void check_select(reactor_t *r, struct model_fd *m, int op)
{
    reactor_event_t ev[POOL * 2];
    int n = reactor_select(r, 0, ev, POOL * 2);
    assert_true(n >= 0);
    int expected = 0;
    for (int i = 0; i < POOL; i++) {
        unsigned want = expected_events(&m[i]);
        const reactor_event_t *got = h_find(ev, n, m[i].sv[0]);
        if (want == 0 && got)
            fail_msg("op %d: fd %d reported (events %u) but the model says not ready", op,
                     m[i].sv[0], got->events);
        if (want && !got)
            fail_msg("op %d: fd %d not reported; the model says events %u", op, m[i].sv[0], want);
        if (want) {
            if (got->events != want)
                fail_msg("op %d: fd %d reported events %u, model says %u", op, m[i].sv[0],
                         got->events, want);
            if (got->data != &m[i])
                fail_msg("op %d: fd %d reported with the wrong data", op, m[i].sv[0]);
            expected++;
            if (m[i].events & REACTOR_ONESHOT)
                m[i].fired = 1;
        }
    }
    assert_int_equal(n, expected); /* one entry per fd, nothing else */
}

static void random_operations_agree_with_the_model(void **state)
{
    reactor_t *r = *state;
    const char *seed_env = getenv("RX_TEST_SEED");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : 20261123u;
    rng_state = seed ? seed : 1;
    printf("# model test: backend %s, seed %llu\n", reactor_backend(r), (unsigned long long)seed);

    struct model_fd m[POOL];
    memset(m, 0, sizeof m);
    for (int i = 0; i < POOL; i++)
        h_pair(m[i].sv);

    int counts[6] = {0};
    for (int op = 0; op < OPS; op++) {
        struct model_fd *f = &m[rng() % POOL];
        int kind = (int)(rng() % 6);
        counts[kind]++;
        int rc;
        switch (kind) {
        case 0: { /* register */
            unsigned ev = random_events();
            rc = reactor_register(r, f->sv[0], ev, NULL, f);
            if (f->registered) {
                assert_int_equal(rc, -EEXIST);
            } else {
                assert_int_equal(rc, 0);
                f->registered = 1, f->events = ev, f->fired = 0;
            }
            break;
        }
        case 1: { /* modify */
            unsigned ev = random_events();
            rc = reactor_modify(r, f->sv[0], ev, NULL, f);
            if (f->registered) {
                assert_int_equal(rc, 0);
                f->events = ev, f->fired = 0;
            } else {
                assert_int_equal(rc, -ENOENT);
            }
            break;
        }
        case 2: /* unregister */
            rc = reactor_unregister(r, f->sv[0]);
            assert_int_equal(rc, f->registered ? 0 : -ENOENT);
            f->registered = 0;
            break;
        case 3: /* write */
            if (f->pending < MAX_PENDING) {
                assert_int_equal(write(f->sv[1], "x", 1), 1);
                f->pending++;
            }
            break;
        case 4: { /* read */
            char c;
            if (f->pending > 0) {
                assert_int_equal(read(f->sv[0], &c, 1), 1);
                f->pending--;
            } else {
                assert_int_equal(read(f->sv[0], &c, 1), -1);
                assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
            }
            break;
        }
        default:
            check_select(r, m, op);
            break;
        }
    }
    check_select(r, m, OPS);
    for (int i = 0; i < 6; i++)
        assert_true(counts[i] > OPS / 10); /* every kind of operation was exercised */
    for (int i = 0; i < POOL; i++) {
        if (m[i].registered)
            assert_int_equal(reactor_unregister(r, m[i].sv[0]), 0);
        h_close_pair(m[i].sv);
    }
    assert_int_equal(reactor_count(r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(random_operations_agree_with_the_model, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests_name(h_backend() ? h_backend() : "default", tests, NULL, NULL);
}
