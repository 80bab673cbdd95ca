/* test_work.c - the work pool: results, threads, cancel, size, reactor_free. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "svc_test.h"

/* ---- Results and threads --------------------------------------------------------- */

struct job {
    int input;
    long output;
    pthread_t work_thread, done_thread;
    int done_status;
    int done_calls;
    int signals_blocked;
};

static void square_work(void *data)
{
    struct job *j = data;
    j->work_thread = pthread_self();
    j->output = (long)j->input * j->input;
#ifdef _WIN32
    /* Windows has no per-thread signal mask (nor SIGUSR1, SIGALRM): nothing to check. */
    j->signals_blocked = 1;
#else
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    j->signals_blocked = sigismember(&mask, SIGINT) && sigismember(&mask, SIGTERM) &&
                         sigismember(&mask, SIGUSR1) && sigismember(&mask, SIGALRM);
#endif
}

static void record_done(reactor_t *r, void *data, int status)
{
    (void)r;
    struct job *j = data;
    j->done_thread = pthread_self();
    j->done_status = status;
    j->done_calls++;
}

static void work_runs_on_the_pool_and_done_on_the_loop_thread(void **state)
{
    reactor_t *r = *state;
    enum { N = 200 };
    struct job jobs[N];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < N; i++) {
        jobs[i].input = i;
        int64_t id = reactor_queue_work(r, square_work, record_done, &jobs[i]);
        assert_true(id > 0);
    }
    /* Work in flight keeps reactor_run() going; it returns once every done ran. */
    assert_int_equal(reactor_run(r), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(jobs[i].done_calls, 1);
        assert_int_equal(jobs[i].done_status, 0);
        assert_int_equal(jobs[i].output, (long)i * i);
        assert_false(pthread_equal(jobs[i].work_thread, pthread_self()));
        assert_true(pthread_equal(jobs[i].done_thread, pthread_self()));
        if (!jobs[i].signals_blocked)
            fail_msg("job %d ran on a pool thread that does not block signals", i);
    }
}

static void queue_work_rejects_null_work(void **state)
{
    assert_int_equal(reactor_queue_work(*state, NULL, record_done, NULL), -EINVAL);
}

static void noop_work(void *data)
{
    atomic_int *n = data;
    atomic_fetch_add(n, 1);
}

static void work_without_done_still_keeps_the_loop_alive(void **state)
{
    reactor_t *r = *state;
    atomic_int n;
    atomic_init(&n, 0);
    for (int i = 0; i < 10; i++)
        assert_true(reactor_queue_work(r, noop_work, NULL, &n) > 0);
    assert_int_equal(reactor_run(r), 0);
    assert_int_equal(atomic_load(&n), 10);
}

/* ---- A gate that holds work items until the test opens it --------------------- */

struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int open;
    int entered;
    int inside, max_inside;
    int ran;
};

static struct gate gate;

static void gate_reset(void)
{
    pthread_mutex_init(&gate.lock, NULL);
    pthread_cond_init(&gate.cond, NULL);
    gate.open = gate.entered = gate.inside = gate.max_inside = gate.ran = 0;
}

static void gate_open(void)
{
    pthread_mutex_lock(&gate.lock);
    gate.open = 1;
    pthread_cond_broadcast(&gate.cond);
    pthread_mutex_unlock(&gate.lock);
}

/* Waits until `n` items are inside the gate; returns 0 after 5 s without. */
static int gate_wait_entered(int n)
{
    uint64_t end = svc_now_ms() + 5000;
    for (;;) {
        pthread_mutex_lock(&gate.lock);
        int e = gate.entered;
        pthread_mutex_unlock(&gate.lock);
        if (e >= n)
            return 1;
        if (svc_now_ms() > end)
            return 0;
        svc_sleep_ms(1);
    }
}

static void gated_work(void *data)
{
    (void)data;
    pthread_mutex_lock(&gate.lock);
    gate.entered++;
    if (++gate.inside > gate.max_inside)
        gate.max_inside = gate.inside;
    pthread_cond_broadcast(&gate.cond);
    while (!gate.open)
        pthread_cond_wait(&gate.cond, &gate.lock);
    gate.inside--;
    gate.ran++;
    pthread_mutex_unlock(&gate.lock);
}

static void cancel_stops_queued_work_and_refuses_running_work(void **state)
{
    reactor_t *r = *state;
    struct job a = {0}, b = {0}, c = {0};
    gate_reset();
    assert_int_equal(reactor_set_threadpool_size(r, 1), 0);
    int64_t ida = reactor_queue_work(r, gated_work, record_done, &a);
    int64_t idb = reactor_queue_work(r, gated_work, record_done, &b);
    int64_t idc = reactor_queue_work(r, gated_work, record_done, &c);
    assert_true(ida > 0 && idb > ida && idc > idb);
    if (!gate_wait_entered(1))
        fail_msg("the first work item never started");

    assert_int_equal(reactor_work_cancel(r, ida), -EBUSY); /* running */
    assert_int_equal(reactor_work_cancel(r, idb), 0);      /* queued */
    assert_int_equal(reactor_work_cancel(r, idb), -ENOENT);
    assert_int_equal(reactor_work_cancel(r, 0), -ENOENT);
    assert_int_equal(reactor_work_cancel(r, idc + 1000), -ENOENT);

    /* The cancelled item's done runs in the next iteration, while a still runs. */
    reactor_run_once(r, 1000);
    assert_int_equal(b.done_calls, 1);
    assert_int_equal(b.done_status, -ECANCELED);
    assert_int_equal(a.done_calls, 0);

    gate_open();
    assert_int_equal(reactor_run(r), 0);
    assert_int_equal(a.done_status, 0);
    assert_int_equal(c.done_status, 0);
    assert_int_equal(gate.ran, 2);                          /* b never ran */
    assert_int_equal(reactor_work_cancel(r, ida), -ENOENT); /* finished */
}

static void threadpool_size_bounds_concurrency(void **state)
{
    reactor_t *r = *state;
    struct job jobs[6];
    memset(jobs, 0, sizeof jobs);
    gate_reset();
    assert_int_equal(reactor_set_threadpool_size(r, 0), -EINVAL);
    assert_int_equal(reactor_set_threadpool_size(r, 129), -EINVAL);
    assert_int_equal(reactor_set_threadpool_size(r, 3), 0);
    for (int i = 0; i < 6; i++)
        assert_true(reactor_queue_work(r, gated_work, record_done, &jobs[i]) > 0);
    assert_int_equal(reactor_set_threadpool_size(r, 2), -EBUSY); /* started */
    if (!gate_wait_entered(3))
        fail_msg("3 threads were asked for, %d items ever ran at once", gate.max_inside);
    svc_sleep_ms(50); /* a 4th thread, if there were one, would enter now */
    gate_open();
    assert_int_equal(reactor_run(r), 0);
    assert_int_equal(gate.max_inside, 3);
    assert_int_equal(gate.ran, 6);
}

static void threadpool_size_comes_from_the_environment(void **state)
{
    (void)state;
    struct job jobs[4];
    memset(jobs, 0, sizeof jobs);
    gate_reset();
    setenv("REACTOR_THREADPOOL_SIZE", "2", 1);
    reactor_t *r = svc_new_reactor();
    for (int i = 0; i < 4; i++)
        assert_true(reactor_queue_work(r, gated_work, record_done, &jobs[i]) > 0);
    if (!gate_wait_entered(2))
        fail_msg("REACTOR_THREADPOOL_SIZE=2 gave %d threads", gate.max_inside);
    svc_sleep_ms(50);
    gate_open();
    assert_int_equal(reactor_run(r), 0);
    unsetenv("REACTOR_THREADPOOL_SIZE");
    assert_int_equal(gate.max_inside, 2);
    reactor_free(r);
}

/* ---- reactor_free with work in flight ---------------------------------------- */

static atomic_int slow_finished;

static void slow_work(void *data)
{
    (void)data;
    pthread_mutex_lock(&gate.lock);
    gate.entered++;
    pthread_mutex_unlock(&gate.lock);
    svc_sleep_ms(100);
    atomic_store(&slow_finished, 1);
}

static void free_waits_for_running_work_and_drops_the_rest_without_done(void **state)
{
    (void)state;
    struct job a = {0}, b = {0};
    gate_reset();
    atomic_store(&slow_finished, 0);
    reactor_t *r = svc_new_reactor();
    assert_int_equal(reactor_set_threadpool_size(r, 1), 0);
    assert_true(reactor_queue_work(r, slow_work, record_done, &a) > 0);
    assert_true(reactor_queue_work(r, gated_work, record_done, &b) > 0);
    if (!gate_wait_entered(1))
        fail_msg("the first work item never started");
    reactor_free(r);
    assert_int_equal(atomic_load(&slow_finished), 1); /* waited for */
    assert_int_equal(gate.entered, 1);                /* the queued one never started */
    assert_int_equal(a.done_calls, 0);
    assert_int_equal(b.done_calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SVC_TEST(work_runs_on_the_pool_and_done_on_the_loop_thread),
        SVC_TEST(queue_work_rejects_null_work),
        SVC_TEST(work_without_done_still_keeps_the_loop_alive),
        SVC_TEST(cancel_stops_queued_work_and_refuses_running_work),
        SVC_TEST(threadpool_size_bounds_concurrency),
        SVC_TEST(threadpool_size_comes_from_the_environment),
        SVC_TEST(free_waits_for_running_work_and_drops_the_rest_without_done),
    };
    return cmocka_run_group_tests_name(svc_backend() ? svc_backend() : "default", tests, NULL,
                                       NULL);
}
