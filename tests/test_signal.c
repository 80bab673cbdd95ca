/* test_signal.c - signal watchers: delivery, several reactors, dispositions. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "svc_test.h"

struct catch
{
    int count;
    int signo;
    pthread_t thread;
};

static void catch_cb(reactor_t *r, int signo, void *data)
{
    (void)r;
    struct catch *c = data;
    c->count++;
    c->signo = signo;
    c->thread = pthread_self();
}

/* Sends `signo` to the process from another thread after `delay_ms`. */
struct sender {
    int signo;
    unsigned delay_ms;
};

static void *send_later(void *arg)
{
    struct sender *s = arg;
    svc_sleep_ms(s->delay_ms);
    kill(getpid(), s->signo);
    return NULL;
}

static void signal_wakes_a_blocked_loop_and_runs_on_the_loop_thread(void **state)
{
    reactor_t *r = *state;
    struct catch c = {0};
    assert_int_equal(reactor_signal_add(r, SIGUSR1, catch_cb, &c), 0);
    struct sender s = {SIGUSR1, 50};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, send_later, &s), 0);
    uint64_t start = svc_now_ms();
    /* Blocks with no fd, timer or post: only the signal can end the wait early. */
    while (c.count == 0 && svc_now_ms() - start < 5000)
        reactor_run_once(r, 10000);
    uint64_t elapsed = svc_now_ms() - start;
    pthread_join(t, NULL);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.signo, SIGUSR1);
    assert_true(pthread_equal(c.thread, pthread_self()));
    if (elapsed > 2000)
        fail_msg("the blocked loop woke %llu ms after the signal", (unsigned long long)elapsed);
    assert_int_equal(reactor_signal_remove(r, SIGUSR1), 0);
}

static void sigalrm_ends_a_blocked_wait(void **state)
{
    reactor_t *r = *state;
    struct catch c = {0};
    assert_int_equal(reactor_signal_add(r, SIGALRM, catch_cb, &c), 0);
    alarm(1);
    uint64_t start = svc_now_ms();
    while (c.count == 0 && svc_now_ms() - start < 5000)
        reactor_run_once(r, 10000);
    assert_int_equal(c.count, 1);
    assert_int_equal(reactor_signal_remove(r, SIGALRM), 0);
}

static void deliveries_between_two_iterations_run_the_callback_once(void **state)
{
    reactor_t *r = *state;
    struct catch c = {0};
    assert_int_equal(reactor_signal_add(r, SIGUSR2, catch_cb, &c), 0);
    raise(SIGUSR2);
    raise(SIGUSR2);
    raise(SIGUSR2);
    reactor_run_once(r, 1000);
    assert_int_equal(c.count, 1);
    raise(SIGUSR2);
    reactor_run_once(r, 1000);
    assert_int_equal(c.count, 2);
    assert_int_equal(reactor_signal_remove(r, SIGUSR2), 0);
}

static void two_reactors_each_run_their_callback_once_per_delivery(void **state)
{
    reactor_t *r1 = *state;
    reactor_t *r2 = svc_new_reactor();
    struct catch c1 = {0}, c2 = {0};
    assert_int_equal(reactor_signal_add(r1, SIGUSR1, catch_cb, &c1), 0);
    assert_int_equal(reactor_signal_add(r2, SIGUSR1, catch_cb, &c2), 0);
    for (int i = 1; i <= 3; i++) {
        raise(SIGUSR1);
        reactor_run_once(r1, 1000);
        reactor_run_once(r2, 1000);
        assert_int_equal(c1.count, i);
        assert_int_equal(c2.count, i);
    }
    /* One stops watching: the other keeps receiving. */
    assert_int_equal(reactor_signal_remove(r1, SIGUSR1), 0);
    raise(SIGUSR1);
    reactor_run_once(r1, 0);
    reactor_run_once(r2, 1000);
    assert_int_equal(c1.count, 3);
    assert_int_equal(c2.count, 4);
    reactor_free(r2); /* still watching: reactor_free removes it */
}

/* Two reactors, each blocked in its own thread: one delivery wakes both. */
struct loop_thread {
    reactor_t *r;
    struct catch c;
    atomic_int ready;
};

static void *run_loop(void *arg)
{
    struct loop_thread *lt = arg;
    uint64_t start = svc_now_ms();
    lt->ready = 1;
    while (lt->c.count == 0 && svc_now_ms() - start < 10000)
        reactor_run_once(lt->r, 10000);
    return NULL;
}

static void one_delivery_wakes_two_reactors_blocked_in_two_threads(void **state)
{
    (void)state;
    struct loop_thread lt[2];
    pthread_t t[2];
    sigset_t usr1, old;
    for (int i = 0; i < 2; i++) {
        memset(&lt[i], 0, sizeof lt[i]);
        lt[i].r = svc_new_reactor();
        assert_int_equal(reactor_signal_add(lt[i].r, SIGUSR1, catch_cb, &lt[i].c), 0);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, run_loop, &lt[i]), 0);
    /* This thread only sends: block the signal here (after creating the loop
     * threads, which inherit the mask) so that it lands on a loop thread. */
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, &old);
    while (!lt[0].ready || !lt[1].ready)
        svc_sleep_ms(1);
    svc_sleep_ms(50);
    kill(getpid(), SIGUSR1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        if (lt[i].c.count != 1)
            fail_msg("reactor %d ran its callback %d times for one delivery", i, lt[i].c.count);
        assert_true(pthread_equal(lt[i].c.thread, t[i]));
        reactor_free(lt[i].r);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static volatile sig_atomic_t own_handler_calls;

static void own_handler(int signo)
{
    (void)signo;
    own_handler_calls++;
}

static void (*current_handler(int signo))(int)
{
    struct sigaction sa;
    sigaction(signo, NULL, &sa);
    return sa.sa_handler;
}

static void previous_disposition_is_restored_by_the_last_remove(void **state)
{
    reactor_t *r1 = *state;
    reactor_t *r2 = svc_new_reactor();
    struct catch c = {0};
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = own_handler;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR2, &sa, &old), 0);

    assert_int_equal(reactor_signal_add(r1, SIGUSR2, catch_cb, &c), 0);
    assert_int_equal(reactor_signal_add(r2, SIGUSR2, catch_cb, &c), 0);
    assert_ptr_not_equal(current_handler(SIGUSR2), own_handler);
    assert_int_equal(reactor_signal_remove(r1, SIGUSR2), 0);
    assert_ptr_not_equal(current_handler(SIGUSR2), own_handler); /* r2 still watches */
    assert_int_equal(reactor_signal_remove(r2, SIGUSR2), 0);
    assert_ptr_equal(current_handler(SIGUSR2), own_handler);
    raise(SIGUSR2);
    assert_int_equal(own_handler_calls, 1);

    /* SIG_IGN comes back too, and reactor_free() restores like remove. */
    sa.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGUSR2, &sa, NULL), 0);
    assert_int_equal(reactor_signal_add(r2, SIGUSR2, catch_cb, &c), 0);
    assert_ptr_not_equal(current_handler(SIGUSR2), SIG_IGN);
    reactor_free(r2);
    assert_ptr_equal(current_handler(SIGUSR2), SIG_IGN);
    sigaction(SIGUSR2, &old, NULL);
}

static void add_and_remove_report_errors(void **state)
{
    reactor_t *r = *state;
    struct catch c = {0};
    assert_int_equal(reactor_signal_add(r, 0, catch_cb, &c), -EINVAL);
    assert_int_equal(reactor_signal_add(r, -1, catch_cb, &c), -EINVAL);
    assert_int_equal(reactor_signal_add(r, SIGKILL, catch_cb, &c), -EINVAL);
    assert_int_equal(reactor_signal_add(r, SIGSTOP, catch_cb, &c), -EINVAL);
    assert_int_equal(reactor_signal_add(r, 100000, catch_cb, &c), -EINVAL);
    assert_int_equal(reactor_signal_add(r, SIGUSR1, NULL, &c), -EINVAL);
    assert_int_equal(reactor_signal_remove(r, SIGUSR1), -ENOENT);
    assert_int_equal(reactor_signal_add(r, SIGUSR1, catch_cb, &c), 0);
    assert_int_equal(reactor_signal_add(r, SIGUSR1, catch_cb, &c), -EEXIST);
    assert_int_equal(reactor_signal_remove(r, SIGUSR1), 0);
    assert_int_equal(reactor_signal_remove(r, SIGUSR1), -ENOENT);
    assert_int_equal(reactor_signal_remove(r, 0), -ENOENT);
    assert_int_equal(reactor_signal_remove(r, 100000), -ENOENT);
}

static void remove_self_cb(reactor_t *r, int signo, void *data)
{
    catch_cb(r, signo, data);
    reactor_signal_remove(r, signo);
}

static void a_watched_signal_keeps_run_going_until_removed(void **state)
{
    reactor_t *r = *state;
    struct catch c = {0};
    assert_int_equal(reactor_signal_add(r, SIGUSR1, remove_self_cb, &c), 0);
    struct sender s = {SIGUSR1, 50};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, send_later, &s), 0);
    assert_int_equal(reactor_run(r), 0); /* returns once the callback removed the watcher */
    pthread_join(t, NULL);
    assert_int_equal(c.count, 1);
}

static struct catch second;

static void remove_other_cb(reactor_t *r, int signo, void *data)
{
    catch_cb(r, signo, data);
    reactor_signal_remove(r, SIGUSR2);
}

static void a_removed_watcher_gets_no_pending_callback(void **state)
{
    reactor_t *r = *state;
    struct catch first = {0};
    memset(&second, 0, sizeof second);
    assert_int_equal(reactor_signal_add(r, SIGUSR1, remove_other_cb, &first), 0);
    assert_int_equal(reactor_signal_add(r, SIGUSR2, catch_cb, &second), 0);
    raise(SIGUSR2);
    raise(SIGUSR1);
    reactor_run_once(r, 1000);
    /* Both were caught; SIGUSR1's callback (lower number, runs first) removed SIGUSR2. */
    assert_int_equal(first.count, 1);
    assert_int_equal(second.count, 0);
    assert_int_equal(reactor_signal_remove(r, SIGUSR1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SVC_TEST(signal_wakes_a_blocked_loop_and_runs_on_the_loop_thread),
        SVC_TEST(sigalrm_ends_a_blocked_wait),
        SVC_TEST(deliveries_between_two_iterations_run_the_callback_once),
        SVC_TEST(two_reactors_each_run_their_callback_once_per_delivery),
        SVC_TEST(one_delivery_wakes_two_reactors_blocked_in_two_threads),
        SVC_TEST(previous_disposition_is_restored_by_the_last_remove),
        SVC_TEST(add_and_remove_report_errors),
        SVC_TEST(a_watched_signal_keeps_run_going_until_removed),
        SVC_TEST(a_removed_watcher_gets_no_pending_callback),
    };
    return cmocka_run_group_tests_name(svc_backend() ? svc_backend() : "default", tests, NULL,
                                       NULL);
}
