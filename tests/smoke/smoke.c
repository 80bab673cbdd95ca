/*
 * smoke.c - a plain-C smoke test of libreactor for platforms without cmocka
 * (musl, cross targets): on every backend compiled in, a readable socket is
 * dispatched, a timer fires, a post from another thread runs, a caught signal
 * reaches its callback and queued work completes. Prints one line per check
 * and exits 1 if any failed.
 *
 *   smoke            every backend reactor_backends() lists
 *   smoke NAME...    only the named backends
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reactor.h"

/* Generous: a check waits at most this long, so that a slow emulator passes
 * and a lost wakeup still fails instead of hanging. */
#define WAIT_MS 10000
#define STEP_MS 100

static int failures;

static void check(const char *backend, const char *what, int ok)
{
    printf("%-7s %-44s %s\n", backend, what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
}

/* Runs iterations until *flag is set or WAIT_MS passed; returns *flag. */
static int run_until(reactor_t *r, const volatile int *flag)
{
    for (int waited = 0; !*flag && waited < WAIT_MS; waited += STEP_MS) {
        if (reactor_run_once(r, STEP_MS) < 0)
            return 0;
    }
    return *flag;
}

struct readable {
    int fd;
    volatile int calls;
    unsigned events;
    char byte;
};

static void on_readable(reactor_t *r, int fd, unsigned events, void *data)
{
    struct readable *rd = data;
    (void)r;
    rd->calls++;
    rd->events = events;
    if (read(fd, &rd->byte, 1) != 1)
        rd->byte = 0;
}

static void check_register(reactor_t *r, const char *name)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        check(name, "socketpair", 0);
        return;
    }
    struct readable rd = {sv[0], 0, 0, 0};
    check(name, "register a socket for READ",
          reactor_register(r, sv[0], REACTOR_READ, on_readable, &rd) == 0);
    check(name, "an idle socket is not dispatched", reactor_run_once(r, 0) == 0 && rd.calls == 0);
    check(name, "write to the peer", write(sv[1], "x", 1) == 1);
    check(name, "the readable socket's callback runs once",
          run_until(r, &rd.calls) && rd.calls == 1 && rd.events == REACTOR_READ && rd.byte == 'x');
    check(name, "unregister", reactor_unregister(r, sv[0]) == 0 && reactor_count(r) == 0);
    close(sv[0]);
    close(sv[1]);
}

static void on_timer(reactor_t *r, int64_t id, void *data)
{
    (void)r;
    (void)id;
    *(volatile int *)data = 1;
}

static void check_timer(reactor_t *r, const char *name)
{
    volatile int fired = 0;
    uint64_t start = reactor_now(r);
    int64_t id = reactor_timer_add(r, 20, 0, on_timer, (void *)&fired);
    check(name, "add a 20 ms timer", id > 0);
    check(name, "the timer fires, not early",
          id > 0 && run_until(r, &fired) && reactor_now(r) - start >= 20);
    check(name, "a fired one-shot timer cannot be cancelled",
          reactor_timer_cancel(r, id) == -ENOENT);
    volatile int cancelled_fired = 0;
    id = reactor_timer_add(r, 1, 0, on_timer, (void *)&cancelled_fired);
    check(name, "a cancelled timer never fires",
          reactor_timer_cancel(r, id) == 0 && reactor_run_once(r, 30) >= 0 && !cancelled_fired);
}

static void on_post(reactor_t *r, void *data)
{
    (void)r;
    *(volatile int *)data = 1;
}

struct poster {
    reactor_t *r;
    volatile int *flag;
    int rc;
};

static void *post_from_thread(void *arg)
{
    struct poster *p = arg;
    p->rc = reactor_post(p->r, on_post, (void *)p->flag);
    return NULL;
}

static void check_post(reactor_t *r, const char *name)
{
    volatile int ran = 0;
    struct poster p = {r, &ran, -1};
    pthread_t t;
    if (pthread_create(&t, NULL, post_from_thread, &p) != 0) {
        check(name, "pthread_create", 0);
        return;
    }
    pthread_join(t, NULL);
    check(name, "a post from another thread runs on the loop", p.rc == 0 && run_until(r, &ran));
}

static void on_signal(reactor_t *r, int signo, void *data)
{
    (void)r;
    if (signo == SIGUSR1)
        *(volatile int *)data = 1;
}

static void check_signal(reactor_t *r, const char *name)
{
    volatile int caught = 0;
    check(name, "watch SIGUSR1", reactor_signal_add(r, SIGUSR1, on_signal, (void *)&caught) == 0);
    check(name, "raise(SIGUSR1) reaches the callback",
          raise(SIGUSR1) == 0 && run_until(r, &caught));
    check(name, "stop watching SIGUSR1", reactor_signal_remove(r, SIGUSR1) == 0);
}

struct job {
    volatile int worked, done;
    int status;
};

static void work(void *data)
{
    ((struct job *)data)->worked = 1;
}

static void work_done(reactor_t *r, void *data, int status)
{
    struct job *j = data;
    (void)r;
    j->status = status;
    j->done = 1;
}

static void check_work(reactor_t *r, const char *name)
{
    struct job j = {0, 0, -1};
    check(name, "queue work on the pool", reactor_queue_work(r, work, work_done, &j) > 0);
    check(name, "the work runs and its done callback follows",
          run_until(r, &j.done) && j.worked && j.status == 0);
}

static void smoke(const char *name)
{
    reactor_t *r = reactor_new(name);
    if (!r) {
        printf("%-7s reactor_new: %s\n", name, strerror(errno));
        check(name, "reactor_new", 0);
        return;
    }
    check(name, "reactor_backend names the backend", strcmp(reactor_backend(r), name) == 0);
    check_register(r, name);
    check_timer(r, name);
    check_post(r, name);
    check_signal(r, name);
    check_work(r, name);
    reactor_free(r);
}

int main(int argc, char **argv)
{
    int tested = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++, tested++)
            smoke(argv[i]);
    } else {
        for (const char *const *b = reactor_backends(); *b; b++, tested++)
            smoke(*b);
    }
    if (tested == 0)
        check("-", "at least one backend is compiled in", 0);
    printf("%d backend(s), %d failure(s)\n", tested, failures);
    return failures ? 1 : 0;
}
