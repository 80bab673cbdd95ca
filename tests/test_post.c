/* test_post.c - callbacks posted from any thread run on the loop thread, in order. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "svc_test.h"

#define ORDER_MAX 3000
static int order[ORDER_MAX];
static int norder;

static void record_post(reactor_t *r, void *data)
{
    (void)r;
    if (norder < ORDER_MAX)
        order[norder] = (int)(intptr_t)data;
    norder++;
}

static void posts_run_in_fifo_order_in_the_next_iteration(void **state)
{
    reactor_t *r = *state;
    norder = 0;
    for (intptr_t i = 0; i < 1000; i++)
        assert_int_equal(reactor_post(r, record_post, (void *)i), 0);
    assert_int_equal(norder, 0); /* never run inside reactor_post() */
    /* All 1000 ran in one iteration: one wakeup served them all. */
    assert_int_equal(reactor_run_once(r, 1000), 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(order[i], i);
}

/* Nodes that ran are recycled for later posts (up to a cap, the rest freed):
 * rounds larger than the cap, and a small one after them, still run every post
 * once, in order, with the data it was posted with. */
static void recycled_nodes_carry_later_posts_in_order(void **state)
{
    reactor_t *r = *state;
    const int sizes[] = {3000, 3000, 10, 2500};
    for (unsigned round = 0; round < sizeof sizes / sizeof sizes[0]; round++) {
        norder = 0;
        for (intptr_t i = 0; i < sizes[round]; i++)
            assert_int_equal(reactor_post(r, record_post, (void *)(i * 7 + round)), 0);
        assert_int_equal(reactor_run_once(r, 1000), sizes[round]);
        assert_int_equal(norder, sizes[round]);
        for (int i = 0; i < sizes[round]; i++)
            assert_int_equal(order[i], i * 7 + (int)round);
    }
}

static void post_rejects_a_null_function(void **state)
{
    assert_int_equal(reactor_post(*state, NULL, NULL), -EINVAL);
}

static int reposts;

static void repost_self(reactor_t *r, void *data)
{
    reposts++;
    assert_int_equal(reactor_post(r, repost_self, data), 0);
}

static void a_post_reposting_itself_runs_once_per_iteration(void **state)
{
    reactor_t *r = *state;
    reposts = 0;
    assert_int_equal(reactor_post(r, repost_self, NULL), 0);
    for (int i = 1; i <= 5; i++) {
        assert_int_equal(reactor_run_once(r, 1000), 1);
        assert_int_equal(reposts, i);
    }
}

/* ---- 8 threads x 100,000 posts ------------------------------------------------ */

enum { THREADS = 8, PER_THREAD = 100000 };

struct item {
    int thread;
    int seq;
};

static struct item *items; /* THREADS * PER_THREAD, one per post */
static int next_seq[THREADS];
static long received;
static long out_of_order;
static pthread_t loop_thread;
static long off_thread;

static void count_post(reactor_t *r, void *data)
{
    (void)r;
    struct item *it = data;
    if (it->seq != next_seq[it->thread])
        out_of_order++;
    next_seq[it->thread] = it->seq + 1;
    if (!pthread_equal(pthread_self(), loop_thread))
        off_thread++;
    received++;
}

struct producer {
    reactor_t *r;
    int thread;
    atomic_int *go;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    while (!atomic_load(p->go))
        sched_yield();
    for (int i = 0; i < PER_THREAD; i++) {
        struct item *it = &items[p->thread * PER_THREAD + i];
        it->thread = p->thread;
        it->seq = i;
        while (reactor_post(p->r, count_post, it) != 0)
            ;
    }
    return NULL;
}

static void posts_from_8_threads_are_neither_lost_nor_duplicated(void **state)
{
    reactor_t *r = *state;
    pthread_t t[THREADS];
    struct producer p[THREADS];
    atomic_int go;
    atomic_init(&go, 0);
    items = calloc(THREADS * PER_THREAD, sizeof *items);
    assert_non_null(items);
    memset(next_seq, 0, sizeof next_seq);
    received = out_of_order = off_thread = 0;
    loop_thread = pthread_self();

    for (int i = 0; i < THREADS; i++) {
        p[i] = (struct producer){r, i, &go};
        assert_int_equal(pthread_create(&t[i], NULL, produce, &p[i]), 0);
    }
    atomic_store(&go, 1);
    uint64_t start = svc_now_ms();
    long iterations = 0;
    while (received < THREADS * PER_THREAD) {
        /* Nothing else is registered: only a post's wakeup ends this wait. A
         * wait that runs to its end while posts are queued lost a wakeup. */
        uint64_t before = svc_now_ms();
        reactor_run_once(r, 10000);
        iterations++;
        if (svc_now_ms() - before >= 9000)
            fail_msg("a wait ran out with %ld of %d posts received: a wakeup was lost", received,
                     THREADS * PER_THREAD);
        if (svc_now_ms() - start > 100000)
            fail_msg("only %ld of %d posts received", received, THREADS * PER_THREAD);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    reactor_run_once(r, 0);
    assert_int_equal(received, THREADS * PER_THREAD); /* none duplicated */
    assert_int_equal(out_of_order, 0);                /* FIFO per thread */
    assert_int_equal(off_thread, 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(next_seq[i], PER_THREAD);
    print_message("%d posts in %ld iterations\n", THREADS * PER_THREAD, iterations);
    free(items);
}

/* ---- Ping-pong: every post finds the queue empty and must wake the loop ------- */

enum { ROUND_TRIPS = 20000 };

static atomic_int pongs;

static void pong(reactor_t *r, void *data)
{
    (void)r;
    (void)data;
    atomic_fetch_add(&pongs, 1);
}

static void *ping(void *arg)
{
    for (int i = 0; i < ROUND_TRIPS; i++) {
        reactor_post(arg, pong, NULL);
        while (atomic_load(&pongs) <= i)
            sched_yield();
    }
    return NULL;
}

static void each_post_into_an_empty_queue_wakes_the_blocked_loop(void **state)
{
    reactor_t *r = *state;
    pthread_t t;
    atomic_store(&pongs, 0);
    assert_int_equal(pthread_create(&t, NULL, ping, r), 0);
    while (atomic_load(&pongs) < ROUND_TRIPS) {
        uint64_t before = svc_now_ms();
        reactor_run_once(r, 10000);
        if (svc_now_ms() - before >= 9000)
            fail_msg("round trip %d: the post did not wake the loop", atomic_load(&pongs));
    }
    pthread_join(t, NULL);
}

/* ---- Posts and the loop's lifetime ---------------------------------------------- */

static int ran_late;

static void late_post(reactor_t *r, void *data)
{
    (void)r;
    (void)data;
    ran_late++;
}

static void *post_from_thread(void *arg)
{
    reactor_post(arg, late_post, NULL);
    return NULL;
}

static void stop_and_post(reactor_t *r, void *data)
{
    (void)data;
    reactor_stop(r);
    reactor_post(r, late_post, NULL);
    pthread_t t;
    pthread_create(&t, NULL, post_from_thread, r);
    pthread_join(t, NULL);
}

static void a_post_made_while_stopping_runs_in_the_next_run(void **state)
{
    reactor_t *r = *state;
    ran_late = 0;
    assert_int_equal(reactor_post(r, stop_and_post, NULL), 0);
    assert_int_equal(reactor_run(r), 0);
    assert_int_equal(ran_late, 0);       /* stopped before their iteration */
    assert_int_equal(reactor_run(r), 0); /* the queued posts keep it going, then it ends */
    assert_int_equal(ran_late, 2);
}

static void run_runs_queued_posts_then_returns(void **state)
{
    reactor_t *r = *state;
    norder = 0;
    for (intptr_t i = 0; i < 3; i++)
        assert_int_equal(reactor_post(r, record_post, (void *)i), 0);
    assert_int_equal(reactor_run(r), 0);
    assert_int_equal(norder, 3);
}

static void a_select_call_does_not_swallow_a_posts_wakeup(void **state)
{
    reactor_t *r = *state;
    reactor_event_t ev[4];
    norder = 0;
    assert_int_equal(reactor_post(r, record_post, (void *)0), 0);
    assert_int_equal(reactor_select(r, 0, ev, 4), 0); /* drains the wakeup, runs nothing */
    uint64_t start = svc_now_ms();
    assert_int_equal(reactor_run_once(r, 5000), 1);
    assert_true(svc_now_ms() - start < 2000);
}

static void free_drops_queued_posts_without_running_them(void **state)
{
    (void)state;
    reactor_t *r = svc_new_reactor();
    ran_late = 0;
    for (int i = 0; i < 100; i++)
        assert_int_equal(reactor_post(r, late_post, NULL), 0);
    reactor_free(r);
    assert_int_equal(ran_late, 0);
}

static void free_in_post(reactor_t *r, void *data)
{
    int *rc = data;
    reactor_free(r);
    /* Still there until this callback returns, and closed to posts. */
    if (rc)
        *rc = reactor_post(r, late_post, NULL);
}

static void a_post_to_a_reactor_being_freed_fails_with_eshutdown(void **state)
{
    (void)state;
    reactor_t *r = svc_new_reactor();
    int rc = 0;
    ran_late = 0;
    assert_int_equal(reactor_post(r, free_in_post, &rc), 0);
    assert_int_equal(reactor_run(r), 0);
    assert_int_equal(rc, -ESHUTDOWN);
    assert_int_equal(ran_late, 0);
}

static void freeing_from_a_post_drops_the_posts_after_it(void **state)
{
    (void)state;
    reactor_t *r = svc_new_reactor();
    ran_late = 0;
    assert_int_equal(reactor_post(r, late_post, NULL), 0);
    assert_int_equal(reactor_post(r, free_in_post, NULL), 0);
    assert_int_equal(reactor_post(r, late_post, NULL), 0);
    reactor_run(r); /* frees r once the callback returns */
    assert_int_equal(ran_late, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SVC_TEST(posts_run_in_fifo_order_in_the_next_iteration),
        SVC_TEST(recycled_nodes_carry_later_posts_in_order),
        SVC_TEST(post_rejects_a_null_function),
        SVC_TEST(a_post_reposting_itself_runs_once_per_iteration),
        SVC_TEST(posts_from_8_threads_are_neither_lost_nor_duplicated),
        SVC_TEST(each_post_into_an_empty_queue_wakes_the_blocked_loop),
        SVC_TEST(a_post_made_while_stopping_runs_in_the_next_run),
        SVC_TEST(run_runs_queued_posts_then_returns),
        SVC_TEST(a_select_call_does_not_swallow_a_posts_wakeup),
        SVC_TEST(free_drops_queued_posts_without_running_them),
        SVC_TEST(freeing_from_a_post_drops_the_posts_after_it),
        SVC_TEST(a_post_to_a_reactor_being_freed_fails_with_eshutdown),
    };
    return cmocka_run_group_tests_name(svc_backend() ? svc_backend() : "default", tests, NULL,
                                       NULL);
}
