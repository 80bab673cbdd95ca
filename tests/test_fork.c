/*
 * test_fork.c - reactor_reinit() in a real child process: registrations,
 * timers, signals, posts and the work pool all work in the child, and the
 * parent's reactor is unaffected.
 *
 * The child cannot use cmocka's assertions (a failure would unwind into a
 * copy of the parent's test runner): it reports through its exit status, one
 * bit per check that failed, which the parent decodes.
 */
#include "h_kcmp.h" /* first: it defines _GNU_SOURCE */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svc_test.h"

/*
 * ThreadSanitizer refuses to start threads in a child forked from a threaded
 * process unless told otherwise; the child here starts pool threads on
 * purpose. TSan reads its defaults from this hook (TSAN_OPTIONS still wins);
 * without TSan nothing calls it.
 */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
    return "die_after_fork=0";
}

struct seen {
    int reads;
    char last[8];
    int timers;
    int signals;
    int posts;
    int work_done, work_cancelled;
};

static struct seen seen;

static void read_cb(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r;
    (void)events;
    (void)data;
    ssize_t n = read(fd, seen.last, sizeof seen.last - 1);
    if (n > 0) {
        seen.last[n] = '\0';
        seen.reads++;
    }
}

static void timer_cb(reactor_t *r, int64_t id, void *data)
{
    (void)r;
    (void)id;
    (void)data;
    seen.timers++;
}

static void signal_cb(reactor_t *r, int signo, void *data)
{
    (void)r;
    (void)signo;
    (void)data;
    seen.signals++;
}

static void post_cb(reactor_t *r, void *data)
{
    (void)r;
    (void)data;
    seen.posts++;
}

static void *post_from_thread(void *arg)
{
    reactor_post(arg, post_cb, NULL);
    return NULL;
}

static void quick_work(void *data)
{
    (void)data;
}

static void done_cb(reactor_t *r, void *data, int status)
{
    (void)r;
    (void)data;
    if (status == 0)
        seen.work_done++;
    else if (status == -ECANCELED)
        seen.work_cancelled++;
}

/* Work that blocks on a pipe until the parent writes to it. */
static int block_pipe[2];
static atomic_int blocking_started;

static void blocking_work(void *data)
{
    char c;
    (void)data;
    atomic_store(&blocking_started, 1);
    while (read(block_pipe[0], &c, 1) < 0 && errno == EINTR)
        ;
}

enum {
    CHILD_REINIT = 1 << 0,
    CHILD_READ = 1 << 1,
    CHILD_TIMER = 1 << 2,
    CHILD_SIGNAL = 1 << 3,
    CHILD_POST = 1 << 4,
    CHILD_WORK = 1 << 5,
    CHILD_CANCELLED = 1 << 6,
};

static const char *const child_checks[] = {
    "reactor_reinit() failed",
    "the registered socket was not reported readable",
    "the timer did not fire",
    "the signal callback did not run",
    "a post from a thread did not run",
    "new work did not complete",
    "work in flight at the fork was not cancelled",
};

/* In the child: everything the reactor offers must work after reinit. */
static int child(reactor_t *r, int peer)
{
    int failed = 0;
    memset(&seen, 0, sizeof seen);
    if (reactor_reinit(r) != 0)
        return CHILD_REINIT;
    if (write(peer, "ping", 4) != 4)
        return CHILD_READ;
    reactor_timer_add(r, 10, 0, timer_cb, NULL);
    raise(SIGUSR1);
    pthread_t t;
    if (pthread_create(&t, NULL, post_from_thread, r) == 0)
        pthread_join(t, NULL);
    reactor_queue_work(r, quick_work, done_cb, NULL);

    uint64_t end = svc_now_ms() + 5000;
    while (svc_now_ms() < end && !(seen.reads && seen.timers && seen.signals && seen.posts &&
                                   seen.work_done && seen.work_cancelled))
        reactor_run_once(r, 100);
    if (seen.reads != 1 || strcmp(seen.last, "ping") != 0)
        failed |= CHILD_READ;
    if (seen.timers != 1)
        failed |= CHILD_TIMER;
    if (seen.signals != 1)
        failed |= CHILD_SIGNAL;
    if (seen.posts != 1)
        failed |= CHILD_POST;
    if (seen.work_done != 1)
        failed |= CHILD_WORK;
    if (seen.work_cancelled != 1)
        failed |= CHILD_CANCELLED;
    reactor_free(r);
    return failed;
}

static void child_after_fork_and_reinit_uses_every_service(void **state)
{
    reactor_t *r = *state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(pipe(block_pipe), 0);
    assert_int_equal(reactor_register(r, sv[0], REACTOR_READ, read_cb, NULL), 0);
    assert_int_equal(reactor_signal_add(r, SIGUSR1, signal_cb, NULL), 0);
    assert_int_equal(reactor_set_threadpool_size(r, 1), 0);
    /* In flight at the fork: runs in the parent, cancelled in the child. */
    atomic_store(&blocking_started, 0);
    assert_true(reactor_queue_work(r, blocking_work, done_cb, NULL) > 0);
    memset(&seen, 0, sizeof seen);
    /* Fork once the pool thread sits in read(2): forking while another thread
     * is inside malloc is safe with glibc, but not with the sanitizers'
     * allocators, whose locks the child would inherit held. */
    uint64_t end = svc_now_ms() + 5000;
    while (!atomic_load(&blocking_started) && svc_now_ms() < end)
        svc_sleep_ms(1);
    assert_true(atomic_load(&blocking_started));
    svc_sleep_ms(10);

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child(r, sv[1]));

    int status;
    pid_t waited = waitpid(pid, &status, 0);
    /* Release the parent's work first: a failed check must not leave
     * reactor_free() in the teardown waiting for it forever. */
    assert_int_equal(write(block_pipe[1], "x", 1), 1);
    assert_int_equal(waited, pid);
    if (!WIFEXITED(status))
        fail_msg("the child did not exit normally (status 0x%x)", status);
    int failed = WEXITSTATUS(status);
    for (unsigned i = 0; i < sizeof child_checks / sizeof child_checks[0]; i++)
        if (failed & (1 << i))
            print_error("child: %s\n", child_checks[i]);
    assert_int_equal(failed, 0);

    /* The parent's reactor still serves its registration, wakeup and pool. */
    assert_int_equal(write(sv[1], "pong", 4), 4);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, post_from_thread, r), 0);
    pthread_join(t, NULL);
    end = svc_now_ms() + 5000;
    while (svc_now_ms() < end && !(seen.reads && seen.posts && seen.work_done))
        reactor_run_once(r, 100);
    assert_int_equal(seen.reads, 1);
    assert_string_equal(seen.last, "pong");
    assert_int_equal(seen.posts, 1);
    assert_int_equal(seen.work_done, 1);
    assert_int_equal(seen.work_cancelled, 0);
    assert_int_equal(seen.signals, 0); /* the child's raise() was the child's */

    assert_int_equal(reactor_signal_remove(r, SIGUSR1), 0);
    assert_int_equal(reactor_unregister(r, sv[0]), 0);
    close(sv[0]);
    close(sv[1]);
    close(block_pipe[0]);
    close(block_pipe[1]);
}

/* The child's wakeup is its own: a post in the parent does not wake the child. */
static void child_wakeups_are_independent_of_the_parent(void **state)
{
    reactor_t *r = *state;
    int go[2];
    assert_int_equal(pipe(go), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int code = 0;
        if (reactor_reinit(r) != 0)
            _exit(1);
        char c;
        if (read(go[0], &c, 1) != 1) /* the parent posted before writing this */
            _exit(2);
        uint64_t start = svc_now_ms();
        int ran = reactor_run_once(r, 300);
        /* Nothing is due in the child: the wait must last its full timeout. */
        if (ran != 0 || svc_now_ms() - start < 250)
            code = 3;
        reactor_free(r);
        _exit(code);
    }
    memset(&seen, 0, sizeof seen);
    assert_int_equal(reactor_post(r, post_cb, NULL), 0);
    assert_int_equal(write(go[1], "g", 1), 1);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 3)
        fail_msg("the parent's post woke the child's reactor");
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(reactor_run_once(r, 1000), 1);
    assert_int_equal(seen.posts, 1);
    close(go[0]);
    close(go[1]);
}

/*
 * On epoll, reactor_reinit() in the child gives it a new epoll set under the
 * same number: a child that nests the reactor in its own loop keeps polling
 * the descriptor it had, and the parent's set is untouched. On every backend
 * the child's object is its own.
 */
static void reinit_keeps_the_backend_fd_number_on_epoll_and_gives_a_new_object(void **state)
{
    reactor_t *r = *state;
    /* What reactor.h promises elsewhere: poll and select have no backend fd
     * (-ENOTSUP, before and after), and a kqueue is not inherited by fork(2),
     * so the child gets a new one, under whatever number (ask again). */
    int epoll = strcmp(reactor_backend(r), "epoll") == 0 ||
                strcmp(reactor_backend(r), "io_uring") == 0; /* both adopt the number */
    int before = reactor_backend_fd(r);
    int file = before >= 0 ? fcntl(before, F_DUPFD_CLOEXEC, 0) : -1;
    assert_true(before == -ENOTSUP || file >= 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (reactor_reinit(r) != 0)
            _exit(1);
        int after = reactor_backend_fd(r);
        if (before < 0 ? after != before : epoll ? after != before : after < 0)
            _exit(2);
        if (before >= 0 && h_same_file(after, file) == 1)
            _exit(3); /* still the parent's object */
        reactor_free(r);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 2)
        fail_msg("%s: the child's backend fd after reactor_reinit() is not what reactor.h says "
                 "(it was %d)",
                 reactor_backend(r), before);
    if (WEXITSTATUS(status) == 3)
        fail_msg("the child's backend fd still names the parent's kernel object");
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(reactor_backend_fd(r), before);
    if (file >= 0) {
        assert_int_not_equal(h_same_file(before, file), 0); /* the parent keeps its object */
        close(file);
    }
}

/*
 * A child that only wants to get rid of the parent's reactor may call
 * reactor_free() without reactor_reinit(): the pool's threads do not exist in
 * the child, so they must not be joined (joining would wait forever), and the
 * work the parent runs must not be touched.
 */
static void child_may_free_without_reinit_after_the_pool_started(void **state)
{
    reactor_t *r = *state;
    assert_int_equal(pipe(block_pipe), 0);
    assert_int_equal(reactor_set_threadpool_size(r, 2), 0);
    atomic_store(&blocking_started, 0);
    memset(&seen, 0, sizeof seen);
    assert_true(reactor_queue_work(r, blocking_work, done_cb, NULL) > 0);
    uint64_t end = svc_now_ms() + 5000;
    while (!atomic_load(&blocking_started) && svc_now_ms() < end)
        svc_sleep_ms(1);
    assert_true(atomic_load(&blocking_started));
    svc_sleep_ms(10); /* see above: fork while the workers sit in read(2) or wait */

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(5); /* a join of the parent's threads hangs: die of SIGALRM instead */
        reactor_free(r);
        _exit(seen.work_done || seen.work_cancelled ? 1 : 0);
    }
    int status;
    pid_t waited = waitpid(pid, &status, 0);
    assert_int_equal(write(block_pipe[1], "x", 1), 1);
    assert_int_equal(waited, pid);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        fail_msg("reactor_free() in the child hung (joined the parent's pool threads?)");
    if (!WIFEXITED(status))
        fail_msg("the child did not exit normally (status 0x%x)", status);
    if (WEXITSTATUS(status) == 1)
        fail_msg("reactor_free() in the child ran a done callback");
    assert_int_equal(WEXITSTATUS(status), 0);

    /* The parent's pool is unharmed: its work completes. */
    end = svc_now_ms() + 5000;
    while (svc_now_ms() < end && !seen.work_done)
        reactor_run_once(r, 100);
    assert_int_equal(seen.work_done, 1);
    close(block_pipe[0]);
    close(block_pipe[1]);
}

/* Posts from another thread after a delay, or raises a signal on that thread. */
struct later {
    reactor_t *r;
    int signo; /* 0: post */
};

static void *post_or_raise_later(void *arg)
{
    struct later *l = arg;
    svc_sleep_ms(50);
    if (l->signo) {
        /* Unblocked here only (the mask came from the loop thread, which blocks
         * it): raise() is thread-directed, so the handler runs on this thread
         * and only the self-pipe can reach the loop. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, l->signo);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        raise(l->signo);
    } else
        reactor_post(l->r, post_cb, NULL);
    return NULL;
}

/* Blocks in the loop until a post (signo 0) or a signal arrives from another thread; returns the ms
 * it took. */
static uint64_t wait_for_wakeup(reactor_t *r, int signo, const int *counter)
{
    struct later l = {r, signo};
    sigset_t set, old;
    pthread_t t;
    int before = *counter;
    /* The loop thread blocks the signal: only the self-pipe can end its wait. */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    assert_int_equal(pthread_create(&t, NULL, post_or_raise_later, &l), 0);
    uint64_t start = svc_now_ms();
    while (*counter == before && svc_now_ms() - start < 3000)
        assert_true(reactor_run_once(r, 3000) >= 0);
    uint64_t took = svc_now_ms() - start;
    pthread_join(t, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    assert_int_equal(*counter, before + 1);
    return took;
}

/*
 * reactor_free() without reactor_reinit() in a child releases the child's
 * copy only. On epoll the child still shares the parent's interest list until
 * reinit, and the entries of the wakeup eventfd and the signal pipe are keyed
 * by files both processes hold: deleting them there would leave the parent's
 * loop deaf to posts and to signals caught on other threads.
 */
static void child_free_without_reinit_leaves_the_parents_wakeups_armed(void **state)
{
    reactor_t *r = *state;
    memset(&seen, 0, sizeof seen);
    assert_int_equal(reactor_signal_add(r, SIGUSR1, signal_cb, NULL), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        reactor_free(r);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    uint64_t took = wait_for_wakeup(r, 0, &seen.posts);
    if (took > 1000)
        fail_msg("a post from a thread woke the parent after %llu ms", (unsigned long long)took);
    took = wait_for_wakeup(r, SIGUSR1, &seen.signals);
    if (took > 1000)
        fail_msg("a signal caught on another thread woke the parent after %llu ms",
                 (unsigned long long)took);
    assert_int_equal(reactor_signal_remove(r, SIGUSR1), 0);
}

/* ---- Fork in the middle of traffic on many connections ---------------------- */

enum {
    NCONN = 20,
    WINDOW = 512, /* bytes a client keeps in flight: far below the socket buffers */
};

static uint64_t conn_bytes(void)
{
    return SVC_SANITIZED ? 16384 : 65536; /* per connection, there and back */
}

/* Byte k of connection i's stream: a lost, repeated or reordered byte shows. */
static unsigned char conn_byte(int i, uint64_t k)
{
    return (unsigned char)(k * 151u + (k >> 8) + (unsigned)i * 13u);
}

/*
 * Connection i is a socketpair: the client end writes the stream and checks
 * the echo, the server end echoes what it reads. Both ends are registered in
 * the same reactor, so every byte crosses the loop twice.
 */
struct conn {
    int client, server, index;
    uint64_t sent, echoed;
    int child_reports; /* readiness seen by a child that only watches */
};

static struct conn conns[NCONN];
static char conn_error[160];

static void conn_fail(const char *what, int i)
{
    if (!conn_error[0])
        snprintf(conn_error, sizeof conn_error, "connection %d: %s (%s)", i, what, strerror(errno));
}

static void client_send(struct conn *c)
{
    unsigned char buf[WINDOW];
    while (c->sent < conn_bytes() && c->sent - c->echoed < WINDOW) {
        size_t len = (size_t)(WINDOW - (c->sent - c->echoed));
        if (len > conn_bytes() - c->sent)
            len = (size_t)(conn_bytes() - c->sent);
        for (size_t k = 0; k < len; k++)
            buf[k] = conn_byte(c->index, c->sent + k);
        ssize_t n = write(c->client, buf, len);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            conn_fail("client write", c->index);
            return;
        }
        c->sent += (uint64_t)n;
    }
}

static void client_cb(reactor_t *r, int fd, unsigned events, void *data)
{
    struct conn *c = data;
    unsigned char buf[4096];
    (void)r;
    (void)events;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_fail(n ? "client read" : "client read: end of file", c->index);
        return;
    }
    for (ssize_t k = 0; k < n; k++)
        if (buf[k] != conn_byte(c->index, c->echoed + (uint64_t)k)) {
            errno = 0;
            conn_fail("an echoed byte is wrong or out of order", c->index);
            return;
        }
    c->echoed += (uint64_t)n;
    client_send(c);
}

static void server_cb(reactor_t *r, int fd, unsigned events, void *data)
{
    struct conn *c = data;
    unsigned char buf[4096];
    (void)r;
    (void)events;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0 || write(fd, buf, (size_t)n) != n)
        conn_fail("server read or echo", c->index);
}

static void conns_open(reactor_t *r)
{
    conn_error[0] = '\0';
    for (int i = 0; i < NCONN; i++) {
        int sv[2];
        struct conn *c = &conns[i];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        for (int k = 0; k < 2; k++)
            assert_int_not_equal(fcntl(sv[k], F_SETFL, O_NONBLOCK), -1);
        memset(c, 0, sizeof *c);
        c->client = sv[0];
        c->server = sv[1];
        c->index = i;
        assert_int_equal(reactor_register(r, c->client, REACTOR_READ, client_cb, c), 0);
        assert_int_equal(reactor_register(r, c->server, REACTOR_READ, server_cb, c), 0);
    }
    for (int i = 0; i < NCONN; i++)
        client_send(&conns[i]);
}

static uint64_t conns_echoed(void)
{
    uint64_t total = 0;
    for (int i = 0; i < NCONN; i++)
        total += conns[i].echoed;
    return total;
}

static void conns_close(reactor_t *r)
{
    for (int i = 0; i < NCONN; i++) {
        reactor_unregister(r, conns[i].client);
        reactor_unregister(r, conns[i].server);
        close(conns[i].client);
        close(conns[i].server);
    }
}

/* In the child, for inherited connections it keeps watching but must not read. */
static void watch_only_cb(reactor_t *r, int fd, unsigned events, void *data)
{
    struct conn *c = data;
    (void)fd;
    (void)events;
    c->child_reports++;
    /* Readable or writable: one report is the proof; stop before it spins. */
    reactor_unregister(r, fd);
}

enum {
    TRAFFIC_REINIT = 1 << 0,
    TRAFFIC_CHANGES = 1 << 1,
    TRAFFIC_WATCH = 1 << 2,
    TRAFFIC_FRESH = 1 << 3,
    TRAFFIC_CANCELLED = 1 << 4,
    TRAFFIC_LEFT = 1 << 5,
};

static const char *const traffic_checks[] = {
    "reactor_reinit() failed",
    "modifying, unregistering or closing an inherited connection failed",
    "an inherited connection kept but only watched was not reported",
    "round trips on a fresh socketpair failed",
    "the work in flight at the fork was not cancelled",
    "registrations were left after unregistering",
};

/* Echoes what a fresh server end reads: the child's own connection. */
static void child_echo_cb(reactor_t *r, int fd, unsigned events, void *data)
{
    char buf[64];
    (void)r;
    (void)events;
    (void)data;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0 && write(fd, buf, (size_t)n) != n)
        seen.reads = -1000;
}

/*
 * The child, right after the fork: reinit, then every kind of registration
 * change on the inherited connections, which after reinit reach only the
 * child's own kernel set. Even connections: WRITE added then unregistered and
 * closed; odd ones: the server end unregistered and closed, the client end
 * kept for WRITE only (never READ: the bytes are the parent's) until it is
 * reported once. Then a fresh socketpair of its own, a few round trips.
 */
static int traffic_child(reactor_t *r)
{
    int failed = 0;
    memset(&seen, 0, sizeof seen);
    if (reactor_reinit(r) != 0)
        return TRAFFIC_REINIT;
    /* Every inherited callback is replaced before the first wait: the bytes are the parent's. */
    for (int i = 0; i < NCONN; i++) {
        struct conn *c = &conns[i];
        c->child_reports = 0;
        if (i % 2 == 0) {
            if (reactor_modify(r, c->client, REACTOR_READ | REACTOR_WRITE, watch_only_cb, c) != 0 ||
                reactor_modify(r, c->server, REACTOR_WRITE, watch_only_cb, c) != 0)
                failed |= TRAFFIC_CHANGES;
        } else if (reactor_unregister(r, c->server) != 0 || close(c->server) != 0 ||
                   reactor_modify(r, c->client, REACTOR_WRITE, watch_only_cb, c) != 0) {
            failed |= TRAFFIC_CHANGES;
        }
    }
    reactor_run_once(r, 0); /* the modifies reach the kernel at this wait */
    for (int i = 0; i < NCONN; i += 2) {
        reactor_unregister(r, conns[i].client); /* -ENOENT where its one report did it */
        reactor_unregister(r, conns[i].server);
        if (close(conns[i].client) != 0 || close(conns[i].server) != 0)
            failed |= TRAFFIC_CHANGES;
    }
    uint64_t end = svc_now_ms() + 5000;
    for (int done = 0; !done && svc_now_ms() < end;) {
        reactor_run_once(r, 50);
        done = 1;
        for (int i = 1; i < NCONN; i += 2)
            done &= conns[i].child_reports > 0;
    }
    for (int i = 1; i < NCONN; i += 2) {
        if (conns[i].child_reports != 1)
            failed |= TRAFFIC_WATCH;
        close(conns[i].client);
    }
    if (reactor_count(r) != 0)
        failed |= TRAFFIC_LEFT;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0 ||
        reactor_register(r, sv[1], REACTOR_READ, child_echo_cb, NULL) != 0)
        return failed | TRAFFIC_FRESH;
    for (int trip = 0; trip < 5; trip++) {
        char out[16], in[16];
        int len = snprintf(out, sizeof out, "trip %d", trip);
        if (write(sv[0], out, (size_t)len) != len) {
            failed |= TRAFFIC_FRESH;
            break;
        }
        ssize_t n = 0;
        end = svc_now_ms() + 2000;
        while (n <= 0 && svc_now_ms() < end) {
            reactor_run_once(r, 50);
            n = read(sv[0], in, sizeof in);
        }
        if (n != len || memcmp(in, out, (size_t)len) != 0 || seen.reads < 0) {
            failed |= TRAFFIC_FRESH;
            break;
        }
    }
    end = svc_now_ms() + 2000;
    while (!seen.work_cancelled && svc_now_ms() < end)
        reactor_run_once(r, 50);
    if (seen.work_cancelled != 1 || seen.work_done != 0)
        failed |= TRAFFIC_CANCELLED;
    reactor_unregister(r, sv[1]);
    close(sv[0]);
    close(sv[1]);
    reactor_free(r);
    return failed;
}

/*
 * The parent forks with twenty connections mid-echo, a repeating timer and a
 * work item in flight, and waits for the child to finish all its changes
 * before moving another byte: had any of them reached the parent's kernel set
 * (on epoll the set is shared until the child's reinit, and its entries name
 * files both processes hold), the parent's traffic would stall below.
 */
static void child_changes_after_reinit_leave_the_parents_connections_alone(void **state)
{
    reactor_t *r = *state;
    memset(&seen, 0, sizeof seen);
    assert_int_equal(pipe(block_pipe), 0);
    conns_open(r);
    int64_t tick = reactor_timer_add(r, 2, 2, timer_cb, NULL);
    assert_true(tick > 0);
    assert_int_equal(reactor_set_threadpool_size(r, 1), 0);
    atomic_store(&blocking_started, 0);
    assert_true(reactor_queue_work(r, blocking_work, done_cb, NULL) > 0);

    /* A third of the traffic, then fork with bytes in every direction in flight. */
    uint64_t total = conn_bytes() * NCONN;
    uint64_t end = svc_now_ms() + 10000;
    while (conns_echoed() < total / 3 && !conn_error[0] && svc_now_ms() < end)
        assert_true(reactor_run_once(r, 100) >= 0);
    if (conn_error[0])
        fail_msg("before the fork: %s", conn_error);
    assert_true(conns_echoed() >= total / 3);
    /* See child_after_fork_and_reinit_uses_every_service: fork while the pool
     * thread sits in read(2), not in the allocator. */
    while (!atomic_load(&blocking_started) && svc_now_ms() < end)
        svc_sleep_ms(1);
    assert_true(atomic_load(&blocking_started));
    svc_sleep_ms(10);
    int in_flight = 0;
    for (int i = 0; i < NCONN; i++)
        in_flight += conns[i].sent > conns[i].echoed;
    assert_int_equal(in_flight, NCONN);
    int timers_before = seen.timers;

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(traffic_child(r));

    int status;
    pid_t waited = waitpid(pid, &status, 0);
    assert_int_equal(write(block_pipe[1], "x", 1), 1); /* release the parent's work */
    assert_int_equal(waited, pid);
    if (!WIFEXITED(status))
        fail_msg("the child did not exit normally (status 0x%x)", status);
    int failed = WEXITSTATUS(status);
    for (unsigned i = 0; i < sizeof traffic_checks / sizeof traffic_checks[0]; i++)
        if (failed & (1 << i))
            print_error("child: %s\n", traffic_checks[i]);
    assert_int_equal(failed, 0);

    /* The rest of the traffic, on registrations the child changed in its copy. */
    end = svc_now_ms() + 20000;
    while ((conns_echoed() < total || !seen.work_done) && !conn_error[0] && svc_now_ms() < end)
        assert_true(reactor_run_once(r, 1000) >= 0);
    int timers_after = seen.timers;
    conns_close(r);
    reactor_timer_cancel(r, tick);
    close(block_pipe[0]);
    close(block_pipe[1]);
    if (conn_error[0])
        fail_msg("after the fork: %s", conn_error);
    for (int i = 0; i < NCONN; i++)
        if (conns[i].echoed != conn_bytes())
            fail_msg("connection %d: %llu of %llu bytes echoed after the child's changes", i,
                     (unsigned long long)conns[i].echoed, (unsigned long long)conn_bytes());
    assert_int_equal(seen.work_done, 1);
    assert_int_equal(seen.work_cancelled, 0);
    assert_true(timers_after > timers_before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SVC_TEST(child_after_fork_and_reinit_uses_every_service),
        SVC_TEST(child_wakeups_are_independent_of_the_parent),
        SVC_TEST(reinit_keeps_the_backend_fd_number_on_epoll_and_gives_a_new_object),
        SVC_TEST(child_may_free_without_reinit_after_the_pool_started),
        SVC_TEST(child_free_without_reinit_leaves_the_parents_wakeups_armed),
        SVC_TEST(child_changes_after_reinit_leave_the_parents_connections_alone),
    };
    return cmocka_run_group_tests_name(svc_backend() ? svc_backend() : "default", tests, NULL,
                                       NULL);
}
