/*
 * fuzz_api.c - a libFuzzer target for the public API: the input is a program
 * of operations on a small pool of descriptors (socketpairs and pipes, some
 * closed behind the reactor's back or replaced with dup2), timers and posts,
 * and every answer is checked against a model. abort() on any mismatch.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined (CMake: -DREACTOR_FUZZ=ON
 * with clang). The backend is RX_FUZZ_BACKEND if set, else chosen by the
 * first input byte among reactor_backends(). Run:
 *   RX_FUZZ_BACKEND=poll fuzz_api -max_total_time=60 NEW_DIR tests/fuzz/api
 *
 * What is checked (docs/fuzzing.md has the list with the reasons):
 *  - every return value of register/modify/unregister/get/count, timer
 *    add/cancel and post against the model's expected errno;
 *  - a callback or select entry only for a registered fd, with its current
 *    data, a non-empty subset of its READ|WRITE, at most once per dispatch,
 *    never for a fired ONESHOT until it is modified;
 *  - for "clean" registrations (level-triggered, on an open socket or pipe
 *    that was never closed, replaced or hung up while registered) exactly the
 *    events the model says are ready: READ iff bytes are waiting, WRITE
 *    always on a socket or a pipe's write end, never on a pipe's read end;
 *  - timers never fire early, a one-shot fires once, a due timer fires in
 *    the run_once that sees its deadline passed; posts run once, in order;
 *  - run_once returns the number of callbacks that ran.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "reactor.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { SLOTS = 8, NUMS = 256, TIMERS = 16, POSTS = 32, MAX_OPS = 400, MAX_PENDING = 32 };

enum kind { K_NONE, K_SOCK, K_PIPE_R, K_PIPE_W, K_ALIAS };

/* A descriptor we hold: `fd` may be registered, `peer` is its other end. */
struct slot {
    enum kind kind;
    int fd, peer;     /* -1 when closed */
    int hup;          /* the peer was closed: readiness is the backend's business */
    int pending;      /* bytes waiting to be read from fd */
    int peer_pending; /* bytes waiting to be read from peer */
};

/* What the reactor should hold for one fd number. */
struct reg {
    int registered;
    unsigned events;
    int fired; /* a ONESHOT that was reported */
    int clean; /* registered on an open file, never closed or replaced since */
    void *data;
    unsigned got;   /* what the current dispatch reported */
    int victimized; /* unregistered by a callback of the current dispatch */
};

struct timer {
    int64_t id;
    int active, fired_once;
    /* The first deadline lies between these, in ns of CLOCK_MONOTONIC: the
     * clock read just before and just after reactor_timer_add, + after. */
    uint64_t due_lo, due_hi;
    uint64_t repeat;
};

struct state {
    reactor_t *r;
    int edge_ok;
    const uint8_t *in;
    size_t len, pos;
    struct slot s[SLOTS];
    int owner[NUMS]; /* slot whose fd (or peer: -2) the number is, -1 free */
    struct reg reg[NUMS];
    int nreg;
    struct timer t[TIMERS];
    int nt;
    uintptr_t posts[POSTS];
    int post_head, post_tail;
    uintptr_t next_token;
    int calls; /* callbacks seen in the current dispatch */
    int victim;
    int in_dispatch;
};

static const char *forced_backend;
static volatile sig_atomic_t signals_seen; /* deliveries of SIGALRM or the storm's SIGPROF */
static int trace; /* RX_FUZZ_TRACE=1: print each operation, to read a crash */
#define TRACE(...) (trace ? (void)fprintf(stderr, "  " __VA_ARGS__) : (void)0)

static void check(int ok, const char *what, long a, long b)
{
    if (!ok) {
        fprintf(stderr, "fuzz_api: model mismatch: %s (%ld vs %ld)\n", what, a, b);
        abort();
    }
}

#define EXPECT(got, want, what)                                                                    \
    do {                                                                                           \
        long g_ = (long)(got), w_ = (long)(want);                                                  \
        check(g_ == w_, what, g_, w_);                                                             \
    } while (0)

static unsigned byte(struct state *st)
{
    return st->pos < st->len ? st->in[st->pos++] : 0;
}

static void own(struct state *st, int num, int who)
{
    check(num >= 0 && num < NUMS, "fd number out of the model's range", num, NUMS);
    st->owner[num] = who;
}

/* Closes a number we hold; a registration on it is no longer clean. */
static void close_num(struct state *st, int *num)
{
    if (*num < 0)
        return;
    EXPECT(close(*num), 0, "close");
    TRACE("close %d\n", *num);
    st->reg[*num].clean = 0;
    st->owner[*num] = -1;
    *num = -1;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void slot_open(struct state *st, int i, unsigned k)
{
    struct slot *s = &st->s[i];
    int p[2];
    s->kind = (enum kind)(K_SOCK + k % 3);
    if (s->kind == K_SOCK)
        EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0, "socketpair");
    else
        EXPECT(pipe(p), 0, "pipe");
    EXPECT(set_nonblock(p[0]) | set_nonblock(p[1]), 0, "O_NONBLOCK");
    s->fd = s->kind == K_PIPE_W ? p[1] : p[0];
    s->peer = s->kind == K_PIPE_W ? p[0] : p[1];
    s->hup = s->pending = s->peer_pending = 0;
    own(st, s->fd, i);
    own(st, s->peer, -2);
    TRACE("slot %d: kind %d fd %d peer %d\n", i, s->kind, s->fd, s->peer);
}

static void slot_close(struct state *st, int i)
{
    struct slot *s = &st->s[i];
    close_num(st, &s->fd);
    close_num(st, &s->peer);
    s->kind = K_NONE;
}

/* The model's readiness of a slot's fd, or -1 when it is the backend's business. */
static int slot_ready(const struct state *st, int num)
{
    int i = st->owner[num];
    if (i < 0)
        return -1;
    const struct slot *s = &st->s[i];
    if (s->kind == K_ALIAS || s->hup || s->fd != num)
        return -1;
    unsigned ev = 0;
    if (s->kind != K_PIPE_W && s->pending > 0)
        ev |= REACTOR_READ;
    if (s->kind != K_PIPE_R)
        ev |= REACTOR_WRITE;
    return (int)ev;
}

/* What the reactor must report for `num` in a full dispatch, or -1 if it may choose. */
static int expected(const struct state *st, int num)
{
    const struct reg *g = &st->reg[num];
    if (!g->registered || g->fired)
        return 0;
    if (!g->clean || (g->events & REACTOR_EDGE))
        return -1;
    int ready = slot_ready(st, num);
    return ready < 0 ? -1 : (int)(g->events & (unsigned)ready);
}

static unsigned want_rc_events(const struct state *st, unsigned ev, int modify)
{
    if (modify && (ev & ~(unsigned)REACTOR_WEAK) == 0) /* a pause, weak or not */
        return 0;
    if ((ev & ~31u) || !(ev & 3u))
        return (unsigned)EINVAL;
    if ((ev & REACTOR_EDGE) && !st->edge_ok)
        return (unsigned)ENOTSUP;
    return 0;
}

/* A number this op works on: a slot's fd, whatever state it is in. */
static int pick_num(struct state *st, int *slot)
{
    int i = (int)(byte(st) % SLOTS);
    if (slot)
        *slot = i;
    return st->s[i].fd;
}

static struct state *cur; /* the callbacks' model: one input runs at a time */

static void report(struct state *st, int fd, unsigned events, void *data, const char *how)
{
    check(fd >= 0 && fd < NUMS, "reported fd out of range", fd, NUMS);
    struct reg *g = &st->reg[fd];
    check(g->registered, how, fd, -1);
    check(!g->fired, "a fired ONESHOT was reported again", fd, (long)g->events);
    check(data == g->data, "reported with stale data", fd, 0);
    check(events != 0 && !(events & ~(g->events & 3u)), "events not a subset of the registered",
          (long)events, (long)g->events);
    check(!g->got, "fd reported twice in one dispatch", fd, (long)g->got);
    g->got = events;
    TRACE("%s: fd %d events %u (registered %u)\n", how[0] == 'c' ? "callback" : "select", fd,
          events, g->events);
    if (g->events & REACTOR_ONESHOT)
        g->fired = 1;
}

static void on_fd(reactor_t *r, int fd, unsigned events, void *data)
{
    struct state *st = cur;
    check(st->in_dispatch && r == st->r, "fd callback outside run_once", fd, 0);
    report(st, fd, events, data, "callback for an unregistered fd");
    st->calls++;
    if (st->victim >= 0) { /* a callback unregistering some fd, maybe its own */
        int v = st->victim;
        st->victim = -1;
        EXPECT(reactor_unregister(r, v), st->reg[v].registered ? 0 : -ENOENT, "unregister in cb");
        if (st->reg[v].registered) {
            st->reg[v].registered = 0;
            st->reg[v].victimized = 1;
            st->nreg--;
        }
    }
}

static uint64_t fz_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_timer(reactor_t *r, int64_t id, void *data)
{
    struct state *st = cur;
    struct timer *t = data;
    check(st->in_dispatch && r == st->r, "timer callback outside run_once", 0, 0);
    check(t >= st->t && t < st->t + st->nt && t->id == id, "timer callback with wrong data", 0, 0);
    check(t->active, "callback of a cancelled or finished timer", (long)id, 0);
    if (!t->fired_once)
        check(fz_clock_ns() >= t->due_lo, "timer fired early", (long)fz_clock_ns(),
              (long)t->due_lo);
    t->fired_once = 1;
    if (!t->repeat)
        t->active = 0;
    st->calls++;
}

static void on_post(reactor_t *r, void *data)
{
    struct state *st = cur;
    check(st->in_dispatch && r == st->r, "post callback outside run_once", 0, 0);
    check(st->post_head != st->post_tail, "post ran that was not queued", 0, 0);
    EXPECT((uintptr_t)data, st->posts[st->post_head % POSTS], "posts out of order");
    st->post_head++;
    st->calls++;
}

static void begin_dispatch(struct state *st)
{
    for (int n = 0; n < NUMS; n++)
        st->reg[n].got = 0, st->reg[n].victimized = 0;
    st->calls = 0;
}

/* After a full dispatch: every clean ready registration was reported, exactly. */
static void end_dispatch(struct state *st, const int *want)
{
    for (int n = 0; n < NUMS; n++) {
        if (want[n] < 0 || st->reg[n].victimized)
            continue;
        if ((int)st->reg[n].got != want[n]) {
            fprintf(stderr, "fuzz_api: fd %d reported %u, model %d (events %u, owner %d)\n", n,
                    st->reg[n].got, want[n], st->reg[n].events, st->owner[n]);
            abort();
        }
    }
}

static void op_run_once(struct state *st)
{
    int want[NUMS], posted = st->post_tail - st->post_head;
    unsigned v = byte(st);
    st->victim = v < 4 * SLOTS && (v & 3) == 0 ? st->s[v / 4].fd : -1;
    for (int n = 0; n < NUMS; n++)
        want[n] = expected(st, n);
    uint64_t before = reactor_now(st->r);
    begin_dispatch(st);
    st->in_dispatch = 1;
    sig_atomic_t seen = signals_seen;
    int ran = reactor_run_once(st->r, 0);
    int interrupted = signals_seen != seen;
    st->in_dispatch = 0;
    st->victim = -1;
    EXPECT(ran, st->calls, "run_once's count of callbacks");
    if (!interrupted)
        end_dispatch(st, want);
    check(st->post_head == st->post_tail, "posts left after run_once", posted, 0);
    uint64_t now = reactor_now(st->r);
    check(now >= before, "reactor_now went back", (long)now, (long)before);
    for (int i = 0; i < st->nt; i++) {
        const struct timer *t = &st->t[i];
        /* reactor_now() is the clock read after the wait, in whole ms. */
        check(!t->active || t->fired_once || t->due_hi > now * 1000000u, "a due timer did not fire",
              (long)t->id, (long)(now * 1000000u - t->due_hi));
    }
}

static void op_select(struct state *st)
{
    reactor_event_t ev[NUMS];
    int want[NUMS], max = 1 + (int)(byte(st) % 8), full = max == 8;
    if (full)
        max = NUMS;
    for (int n = 0; n < NUMS; n++)
        want[n] = expected(st, n);
    begin_dispatch(st);
    sig_atomic_t seen = signals_seen;
    int got = reactor_select(st->r, 0, ev, max);
    int interrupted = signals_seen != seen;
    if (interrupted && got == -EINTR)
        return; /* nothing was taken: a ONESHOT stays armed */
    check(got >= 0 && got <= max, "select's count", got, max);
    for (int k = 0; k < got; k++)
        report(st, ev[k].fd, ev[k].events, ev[k].data, "select entry for an unregistered fd");
    if (full && !interrupted)
        end_dispatch(st, want);
}

static void op_register(struct state *st, int modify)
{
    int i, num = pick_num(st, &i);
    unsigned ev = byte(st) & 0x3f; /* 0x20: an unknown bit */
    if (num < 0) {                 /* the slot is closed: use its old number if nobody took it */
        num = (int)(byte(st) % 2) ? -1 - (int)(byte(st) % 4) : -1;
        EXPECT(modify ? reactor_modify(st->r, num, ev, on_fd, NULL)
                      : reactor_register(st->r, num, ev, on_fd, NULL),
               -EINVAL, "negative fd");
        return;
    }
    struct reg *g = &st->reg[num];
    void *data = (void *)++st->next_token;
    unsigned bad = want_rc_events(st, ev, modify);
    int rc = modify ? reactor_modify(st->r, num, ev, on_fd, data)
                    : reactor_register(st->r, num, ev, on_fd, data);
    TRACE("%s fd %d events %u: %d\n", modify ? "modify" : "register", num, ev, rc);
    if (bad) {
        EXPECT(rc, -(int)bad, modify ? "modify with bad events" : "register with bad events");
        return;
    }
    if (modify) {
        EXPECT(rc, g->registered ? 0 : -ENOENT, "modify");
        if (rc == 0)
            g->events = ev, g->fired = 0, g->data = data;
        return;
    }
    EXPECT(rc, g->registered ? -EEXIST : 0, "register");
    if (rc == 0) {
        *g = (struct reg){.registered = 1, .events = ev, .clean = 1, .data = data};
        st->nreg++;
    }
    (void)i;
}

/* Registers a number nobody holds: the kernel's EBADF, whatever the backend. */
static void op_register_closed(struct state *st)
{
    int num = 3 + (int)(byte(st) % 60);
    if (st->owner[num] != -1 || fcntl(num, F_GETFD) >= 0)
        return; /* ours, or the reactor's own descriptor */
    int rc = reactor_register(st->r, num, REACTOR_READ, on_fd, NULL);
    EXPECT(rc, st->reg[num].registered ? -EEXIST : -EBADF, "register of a closed fd");
}

static void op_unregister(struct state *st)
{
    int num = pick_num(st, NULL);
    if (num < 0)
        return;
    struct reg *g = &st->reg[num];
    EXPECT(reactor_unregister(st->r, num), g->registered ? 0 : -ENOENT, "unregister");
    if (g->registered)
        st->nreg--;
    g->registered = 0;
}

static void op_feed(struct state *st, int towards_fd)
{
    int i;
    if (pick_num(st, &i) < 0)
        return;
    struct slot *s = &st->s[i];
    if (s->kind == K_ALIAS || s->hup || s->peer < 0)
        return;
    char c = 'x';
    if (towards_fd && s->kind != K_PIPE_W && s->pending < MAX_PENDING) {
        EXPECT(write(s->peer, &c, 1), 1, "write to the peer");
        s->pending++;
    } else if (!towards_fd && s->kind != K_PIPE_R && s->peer_pending < MAX_PENDING) {
        EXPECT(write(s->fd, &c, 1), 1, "write to the fd");
        s->peer_pending++;
    }
}

static void op_drain(struct state *st, int from_fd)
{
    int i;
    if (pick_num(st, &i) < 0)
        return;
    struct slot *s = &st->s[i];
    char c;
    if (s->kind == K_ALIAS)
        return;
    if (from_fd && s->kind != K_PIPE_W) {
        ssize_t n = read(s->fd, &c, 1);
        /* A socket whose peer closed with bytes unread reads ECONNRESET, not EOF. */
        if (s->hup && s->pending == 0)
            check(n == 0 || n == -1, "read from a hung-up fd", (long)n, 0);
        else
            EXPECT(n, s->pending > 0 ? 1 : -1, "read from the fd");
        if (n == 1)
            s->pending--;
    } else if (!from_fd && s->kind != K_PIPE_R && s->peer >= 0 && s->peer_pending > 0) {
        EXPECT(read(s->peer, &c, 1), 1, "read from the peer");
        s->peer_pending--;
    }
}

/* Closes one end behind the reactor's back (registered or not). */
static void op_close(struct state *st)
{
    int i;
    pick_num(st, &i);
    struct slot *s = &st->s[i];
    if (s->kind == K_NONE)
        return;
    if (byte(st) % 2 && s->peer >= 0) {
        close_num(st, &s->peer);
        s->hup = 1;
    } else {
        close_num(st, &s->fd);
        close_num(st, &s->peer); /* nothing reads or writes it any more */
        s->kind = K_NONE;
    }
}

static void op_replace(struct state *st)
{
    int i;
    pick_num(st, &i);
    unsigned k = byte(st);
    int fd = st->s[i].fd;
    if ((k & 0x80) && fd >= 0 && st->reg[fd].registered) { /* the careful owner */
        EXPECT(reactor_unregister(st->r, fd), 0, "unregister before close");
        st->reg[fd].registered = 0;
        st->nreg--;
    }
    slot_close(st, i);
    slot_open(st, i, k);
}

/* dup2(a's fd, b's fd): b's number now names a's file; b's old file is gone. */
static void op_dup2(struct state *st)
{
    int a, b;
    pick_num(st, &a);
    pick_num(st, &b);
    struct slot *sa = &st->s[a], *sb = &st->s[b];
    if (a == b || sa->fd < 0 || sb->fd < 0)
        return;
    close_num(st, &sb->peer);
    EXPECT(dup2(sa->fd, sb->fd), sb->fd, "dup2");
    TRACE("dup2 %d -> %d\n", sa->fd, sb->fd);
    st->reg[sb->fd].clean = 0;
    sb->kind = K_ALIAS;
    sb->hup = 1;
}

static void op_timer_add(struct state *st)
{
    static const uint64_t afters[] = {0, 0, 1, 3, 10, 1000000};
    static const uint64_t repeats[] = {0, 0, 0, 1, 2, 1000000};
    uint64_t after = afters[byte(st) % 6], repeat = repeats[byte(st) % 6];
    if (st->nt == TIMERS)
        return;
    struct timer *t = &st->t[st->nt];
    uint64_t before = fz_clock_ns();
    int64_t id = reactor_timer_add(st->r, after, repeat, on_timer, t);
    uint64_t after_add = fz_clock_ns();
    check(id > 0, "timer_add", (long)id, 0);
    for (int i = 0; i < st->nt; i++)
        check(st->t[i].id != id, "timer id reused", (long)id, i);
    *t = (struct timer){.id = id,
                        .active = 1,
                        .due_lo = before + after * 1000000u,
                        .due_hi = after_add + after * 1000000u,
                        .repeat = repeat};
    st->nt++;
    EXPECT(reactor_timer_add(st->r, 1, 0, NULL, NULL), -EINVAL, "timer_add without a callback");
}

static void op_timer_cancel(struct state *st)
{
    unsigned k = byte(st);
    if (k >= 4 * TIMERS) { /* ids that were never handed out */
        static const int64_t bogus[] = {0, -1, INT64_MAX, 12345};
        EXPECT(reactor_timer_cancel(st->r, bogus[k % 4]), -ENOENT, "cancel of a bogus id");
        return;
    }
    if ((int)(k % TIMERS) >= st->nt)
        return;
    struct timer *t = &st->t[k % TIMERS];
    EXPECT(reactor_timer_cancel(st->r, t->id), t->active ? 0 : -ENOENT, "timer_cancel");
    t->active = 0;
}

static void op_post(struct state *st)
{
    if (st->post_tail - st->post_head == POSTS) {
        EXPECT(reactor_post(st->r, NULL, NULL), -EINVAL, "post without a function");
        return;
    }
    uintptr_t token = ++st->next_token;
    EXPECT(reactor_post(st->r, on_post, (void *)token), 0, "post");
    st->posts[st->post_tail++ % POSTS] = token;
}

static void op_get(struct state *st)
{
    int num = pick_num(st, NULL);
    unsigned ev = 0;
    void *data = NULL;
    if (num < 0) {
        EXPECT(reactor_get(st->r, -1, &ev, NULL, &data), -EINVAL, "get(-1)");
        return;
    }
    const struct reg *g = &st->reg[num];
    EXPECT(reactor_get(st->r, num, &ev, NULL, &data), g->registered ? 0 : -ENOENT, "get");
    if (g->registered) {
        EXPECT(ev, g->events, "get's events");
        check(data == g->data, "get's data", num, 0);
    }
}

static const char *pick_backend(struct state *st)
{
    if (forced_backend)
        return forced_backend;
    const char *const *b = reactor_backends();
    int n = 0;
    while (b[n])
        n++;
    return b[byte(st) % (unsigned)n];
}

/*
 * Signals. A signal that lands in the loop's wait makes it fail with EINTR
 * (signal(7): poll, select and epoll_wait are never restarted). That is no
 * error: reactor_select returns the documented -EINTR, or only the entries it
 * had before the wait; reactor_run_once dispatches what it has and returns.
 * But it is not the full dispatch the model checks for either. libFuzzer's
 * -timeout is a SIGALRM every few seconds, which once in a long while lands
 * just there, so the deliveries are counted, and a call during which one came
 * is held to what an interrupted call must do instead.
 * RX_FUZZ_STORM_US=N adds a SIGPROF every N microseconds from another thread,
 * to make that case common rather than rare.
 */
static void count_signal(int sig)
{
    (void)sig;
    signals_seen++;
}

static struct sigaction fuzzer_alarm; /* libFuzzer's own SIGALRM handler, chained */

static void count_alarm(int sig, siginfo_t *info, void *uc)
{
    signals_seen++;
    if (fuzzer_alarm.sa_flags & SA_SIGINFO)
        fuzzer_alarm.sa_sigaction(sig, info, uc);
    else
        fuzzer_alarm.sa_handler(sig);
}

/* Counts SIGALRM and passes it on, once libFuzzer has installed its handler. */
static void watch_alarm(void)
{
    static int watching;
    if (watching)
        return;
    watching = 1;
    EXPECT(sigaction(SIGALRM, NULL, &fuzzer_alarm), 0, "sigaction(SIGALRM) query");
    if (!(fuzzer_alarm.sa_flags & SA_SIGINFO) &&
        (fuzzer_alarm.sa_handler == SIG_DFL || fuzzer_alarm.sa_handler == SIG_IGN))
        return; /* no handler: a SIGALRM ends the run anyway, or never interrupts */
    struct sigaction sa = fuzzer_alarm;
    sa.sa_flags |= SA_SIGINFO;
    sa.sa_sigaction = count_alarm;
    EXPECT(sigaction(SIGALRM, &sa, NULL), 0, "sigaction(SIGALRM)");
}

static pthread_t fuzz_thread;
static long storm_us;

/* Sends SIGPROF to the fuzzing thread every storm_us microseconds, for ever. */
static void *storm(void *arg)
{
    (void)arg;
    struct timespec ts = {storm_us / 1000000, storm_us % 1000000 * 1000};
    for (;;) {
        nanosleep(&ts, NULL);
        pthread_kill(fuzz_thread, SIGPROF);
    }
    return NULL;
}

/* RX_FUZZ_STORM_US=N: a SIGPROF every N us, handled without SA_RESTART. */
static void start_storm(const char *us)
{
    storm_us = us ? strtol(us, NULL, 10) : 0;
    if (storm_us <= 0)
        return;
    struct sigaction sa = {.sa_handler = count_signal};
    sigemptyset(&sa.sa_mask);
    EXPECT(sigaction(SIGPROF, &sa, NULL), 0, "sigaction(SIGPROF)");
    fuzz_thread = pthread_self();
    pthread_t t;
    EXPECT(pthread_create(&t, NULL, storm, NULL), 0, "pthread_create");
    EXPECT(pthread_detach(t), 0, "pthread_detach");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    signal(SIGPIPE, SIG_IGN); /* writes to a closed pipe must fail, not kill us */
    start_storm(getenv("RX_FUZZ_STORM_US"));
    const char *env = getenv("RX_FUZZ_BACKEND");
    forced_backend = env && *env ? env : NULL;
    trace = getenv("RX_FUZZ_TRACE") != NULL;
    errno = 0;
    check(reactor_new("no-such-backend") == NULL && errno == ENOENT, "unknown backend", errno,
          ENOENT);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct state st; /* large: not on the stack */
    memset(&st, 0, sizeof st);
    st.in = data;
    st.len = size;
    st.victim = -1;
    for (int n = 0; n < NUMS; n++)
        st.owner[n] = -1;
    cur = &st;
    watch_alarm();
    const char *name = pick_backend(&st);
    st.r = reactor_new(name);
    if (!st.r) {
        fprintf(stderr, "fuzz_api: reactor_new(\"%s\"): %s\n", name, strerror(errno));
        abort();
    }
    st.edge_ok =
        strcmp(name, "poll") != 0 && strcmp(name, "select") != 0 && strcmp(name, "io_uring") != 0;
    /* The reactor opens its wakeup descriptor lazily: have it do so before we
     * start closing numbers, so that it never takes one the model thinks free. */
    EXPECT(reactor_post(st.r, on_post, (void *)++st.next_token), 0, "first post");
    st.posts[st.post_tail++] = st.next_token;
    st.in_dispatch = 1;
    begin_dispatch(&st);
    EXPECT(reactor_run_once(st.r, 0), 1, "first run_once");
    st.in_dispatch = 0;
    for (int i = 0; i < SLOTS; i++)
        slot_open(&st, i, (unsigned)i);

    for (int op = 0; op < MAX_OPS && st.pos < st.len; op++) {
        unsigned code = byte(&st) % 18;
        if (trace)
            fprintf(stderr, "op %d: %u (bytes from %zu)\n", op, code, st.pos);
        switch (code) {
        case 0:
        case 1:
            op_register(&st, 0);
            break;
        case 2:
            op_register(&st, 1);
            break;
        case 3:
            op_unregister(&st);
            break;
        case 4:
            op_feed(&st, 1);
            break;
        case 5:
            op_drain(&st, 1);
            break;
        case 6:
            op_feed(&st, 0);
            break;
        case 7:
            op_drain(&st, 0);
            break;
        case 8:
            op_close(&st);
            break;
        case 9:
            op_replace(&st);
            break;
        case 10:
            op_dup2(&st);
            break;
        case 11:
            op_timer_add(&st);
            break;
        case 12:
            op_timer_cancel(&st);
            break;
        case 13:
            op_post(&st);
            break;
        case 14:
        case 15:
            op_run_once(&st);
            break;
        case 16:
            op_select(&st);
            break;
        case 17:
            if (byte(&st) % 2)
                op_get(&st);
            else
                op_register_closed(&st);
            break;
        }
        EXPECT(reactor_count(st.r), st.nreg, "reactor_count");
    }
    op_run_once(&st);
    reactor_free(st.r);
    for (int i = 0; i < SLOTS; i++)
        slot_close(&st, i);
    return 0;
}
