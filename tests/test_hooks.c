/*
 * test_hooks.c - REACTOR_BEFORE_WAIT and REACTOR_AFTER_WAIT hooks: when they
 * run relative to the wait and the other callbacks, their order, adding and
 * removing them from hooks, freeing the reactor from one, and that they never
 * keep reactor_run() running by themselves.
 */
#include "harness.h"

/* What ran, in order: 'B' before-wait hook, 'A' after-wait hook, 'f' fd, 't' timer, 'p' post. */
struct trace {
    char s[256];
    int n;
};

static void put(struct trace *t, char c)
{
    if (t->n < (int)sizeof t->s - 1)
        t->s[t->n++] = c;
    t->s[t->n] = 0;
}

static void trace_hook(reactor_t *r, unsigned when, void *data)
{
    (void)r;
    put(data, when == REACTOR_BEFORE_WAIT ? 'B' : when == REACTOR_AFTER_WAIT ? 'A' : '?');
}

static void trace_fd(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r, (void)events;
    h_drain(fd);
    put(data, 'f');
}

static void trace_timer(reactor_t *r, int64_t id, void *data)
{
    (void)r, (void)id;
    put(data, 't');
}

static void trace_post(reactor_t *r, void *data)
{
    (void)r;
    put(data, 'p');
}

static void hooks_bracket_each_iteration(void **state)
{
    reactor_t *r = *state;
    struct trace t = {0};
    int sv[2];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, trace_fd, &t), 0);
    int64_t id = reactor_hook_add(r, REACTOR_BEFORE_WAIT | REACTOR_AFTER_WAIT, trace_hook, &t);
    assert_true(id > 0);
    h_put(sv[1]);
    H_EXPECT(reactor_post(r, trace_post, &t), 0);
    /* Hooks are not counted among the callbacks run_once reports. */
    H_EXPECT(reactor_run_once(r, 1000), 2);
    assert_string_equal(t.s, "BfpA");
    /* An iteration with nothing ready still runs both. */
    H_EXPECT(reactor_run_once(r, 0), 0);
    assert_string_equal(t.s, "BfpABA");
    H_EXPECT(reactor_hook_remove(r, id), 0);
    H_EXPECT(reactor_run_once(r, 0), 0);
    assert_string_equal(t.s, "BfpABA");
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    h_close_pair(sv);
}

static void hooks_run_in_the_order_added_and_only_when_asked(void **state)
{
    reactor_t *r = *state;
    struct trace a = {0}, b = {0}, all = {0};
    assert_true(reactor_hook_add(r, REACTOR_BEFORE_WAIT, trace_hook, &a) > 0);
    assert_true(reactor_hook_add(r, REACTOR_AFTER_WAIT, trace_hook, &b) > 0);
    assert_true(reactor_hook_add(r, REACTOR_BEFORE_WAIT, trace_hook, &all) > 0);
    assert_true(reactor_hook_add(r, REACTOR_AFTER_WAIT, trace_hook, &all) > 0);
    H_EXPECT(reactor_run_once(r, 0), 0);
    assert_string_equal(a.s, "B");
    assert_string_equal(b.s, "A");
    assert_string_equal(all.s, "BA");
}

/* A timer added before the wait shortens this very wait. */
static void add_timer_hook(reactor_t *r, unsigned when, void *data)
{
    (void)when;
    struct trace *t = data;
    if (t->n == 0)
        assert_true(reactor_timer_add(r, 20, 0, trace_timer, t) > 0);
    put(t, 'B');
}

static void a_timer_added_before_the_wait_bounds_it(void **state)
{
    reactor_t *r = *state;
    struct trace t = {0};
    assert_true(reactor_hook_add(r, REACTOR_BEFORE_WAIT, add_timer_hook, &t) > 0);
    uint64_t t0 = h_now_ms();
    /* Without the hook's timer this would wait 10 s. */
    H_EXPECT(reactor_run_once(r, 10000), 1);
    assert_true(h_now_ms() - t0 < 5000);
    assert_string_equal(t.s, "Bt");
}

/* Hooks added and removed by hooks. */
struct juggle {
    reactor_t *r;
    struct trace t;
    int64_t self, other;
};

static void removes_itself(reactor_t *r, unsigned when, void *data)
{
    (void)when;
    struct juggle *j = data;
    put(&j->t, 'x');
    H_EXPECT(reactor_hook_remove(r, j->self), 0);
    H_EXPECT(reactor_hook_remove(r, j->self), -ENOENT);
}

static void removes_the_next(reactor_t *r, unsigned when, void *data)
{
    (void)when;
    struct juggle *j = data;
    put(&j->t, 'y');
    if (j->other)
        H_EXPECT(reactor_hook_remove(r, j->other), 0);
    j->other = 0;
}

static void never_runs(reactor_t *r, unsigned when, void *data)
{
    (void)r, (void)when;
    put(&((struct juggle *)data)->t, 'N');
}

static void adds_one(reactor_t *r, unsigned when, void *data)
{
    struct juggle *j = data;
    put(&j->t, when == REACTOR_BEFORE_WAIT ? 'b' : 'a');
    if (!j->other) {
        j->other = reactor_hook_add(r, REACTOR_BEFORE_WAIT | REACTOR_AFTER_WAIT, trace_hook, &j->t);
        assert_true(j->other > 0);
    }
}

static void hooks_may_add_and_remove_hooks(void **state)
{
    reactor_t *r = *state;
    struct juggle j = {.r = r};
    j.self = reactor_hook_add(r, REACTOR_BEFORE_WAIT | REACTOR_AFTER_WAIT, removes_itself, &j);
    assert_true(j.self > 0);
    assert_true(reactor_hook_add(r, REACTOR_BEFORE_WAIT, removes_the_next, &j) > 0);
    j.other = reactor_hook_add(r, REACTOR_BEFORE_WAIT | REACTOR_AFTER_WAIT, never_runs, &j);
    assert_true(j.other > 0);
    H_EXPECT(reactor_run_once(r, 0), 0);
    /* x removed itself (no AFTER run), y removed never_runs before its turn. */
    assert_string_equal(j.t.s, "xy");

    struct juggle k = {.r = r};
    assert_true(reactor_hook_add(r, REACTOR_BEFORE_WAIT | REACTOR_AFTER_WAIT, adds_one, &k) > 0);
    H_EXPECT(reactor_run_once(r, 0), 0);
    /* The hook added before the wait runs from the after-wait phase on. */
    assert_string_equal(k.t.s, "baA");
}

static void ids_are_not_reused_and_bad_arguments_are_refused(void **state)
{
    reactor_t *r = *state;
    struct trace t = {0};
    int64_t a = reactor_hook_add(r, REACTOR_AFTER_WAIT, trace_hook, &t);
    assert_true(a > 0);
    H_EXPECT(reactor_hook_remove(r, a), 0);
    int64_t b = reactor_hook_add(r, REACTOR_AFTER_WAIT, trace_hook, &t);
    assert_true(b > a);
    H_EXPECT(reactor_hook_remove(r, a), -ENOENT);
    H_EXPECT(reactor_hook_remove(r, 0), -ENOENT);
    H_EXPECT(reactor_hook_remove(r, -1), -ENOENT);
    H_EXPECT(reactor_hook_add(r, REACTOR_AFTER_WAIT, NULL, &t), -EINVAL);
    H_EXPECT(reactor_hook_add(r, 0, trace_hook, &t), -EINVAL);
    H_EXPECT(reactor_hook_add(r, REACTOR_AFTER_WAIT | 4u, trace_hook, &t), -EINVAL);
    H_EXPECT(reactor_hook_remove(r, b), 0);
}

static void hooks_do_not_keep_run_running(void **state)
{
    reactor_t *r = *state;
    struct trace t = {0};
    assert_true(reactor_hook_add(r, REACTOR_BEFORE_WAIT | REACTOR_AFTER_WAIT, trace_hook, &t) > 0);
    H_EXPECT(reactor_run(r), 0); /* nothing else: returns at once */
    assert_string_equal(t.s, "");
    assert_true(reactor_timer_add(r, 10, 0, trace_timer, &t) > 0);
    H_EXPECT(reactor_run(r), 0);
    assert_string_equal(t.s, "BtA");
}

static void hooks_are_not_run_by_select(void **state)
{
    reactor_t *r = *state;
    struct trace t = {0};
    int sv[2];
    reactor_event_t ev[4];
    h_pair(sv);
    H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, NULL, NULL), 0);
    assert_true(reactor_hook_add(r, REACTOR_BEFORE_WAIT | REACTOR_AFTER_WAIT, trace_hook, &t) > 0);
    h_put(sv[1]);
    H_EXPECT(reactor_select(r, 1000, ev, 4), 1);
    assert_string_equal(t.s, "");
    H_EXPECT(reactor_unregister(r, sv[0]), 0);
    h_close_pair(sv);
}

/* A wait from inside a hook is refused like one from any callback. */
static void nested_wait_hook(reactor_t *r, unsigned when, void *data)
{
    (void)when;
    reactor_event_t ev[1];
    H_EXPECT(reactor_run_once(r, 0), -EBUSY);
    H_EXPECT(reactor_select(r, 0, ev, 1), -EBUSY);
    H_EXPECT(reactor_run(r), -EBUSY);
    (*(int *)data)++;
}

static void a_hook_cannot_wait(void **state)
{
    reactor_t *r = *state;
    int n = 0;
    assert_true(
        reactor_hook_add(r, REACTOR_BEFORE_WAIT | REACTOR_AFTER_WAIT, nested_wait_hook, &n) > 0);
    H_EXPECT(reactor_run_once(r, 0), 0);
    assert_int_equal(n, 2);
}

/* reactor_free from a hook: nothing after it runs, and the reactor is gone (ASan checks). */
static void free_hook(reactor_t *r, unsigned when, void *data)
{
    struct trace *t = data;
    put(t, when == REACTOR_BEFORE_WAIT ? 'B' : 'A');
    reactor_free(r);
}

static void freeing_the_reactor_in_a_hook_stops_there(void **state)
{
    (void)state;
    for (unsigned when = REACTOR_BEFORE_WAIT; when <= REACTOR_AFTER_WAIT; when <<= 1) {
        reactor_t *r = h_new();
        struct trace t = {0};
        int sv[2];
        h_pair(sv);
        H_EXPECT(reactor_register(r, sv[0], REACTOR_READ, trace_fd, &t), 0);
        h_put(sv[1]);
        assert_true(reactor_hook_add(r, when, free_hook, &t) > 0);
        assert_true(reactor_hook_add(r, when, trace_hook, &t) > 0); /* must not run */
        H_EXPECT(reactor_run(r), 0);
        assert_string_equal(t.s, when == REACTOR_BEFORE_WAIT ? "B" : "fA");
        h_close_pair(sv);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, h_setup, h_teardown)
    const struct CMUnitTest tests[] = {
        T(hooks_bracket_each_iteration),
        T(hooks_run_in_the_order_added_and_only_when_asked),
        T(a_timer_added_before_the_wait_bounds_it),
        T(hooks_may_add_and_remove_hooks),
        T(ids_are_not_reused_and_bad_arguments_are_refused),
        T(hooks_do_not_keep_run_running),
        T(hooks_are_not_run_by_select),
        T(a_hook_cannot_wait),
        T(freeing_the_reactor_in_a_hook_stops_there),
    };
    return H_RUN(tests);
}
