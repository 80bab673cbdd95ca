/*
 * wakeups.c - benchmark: handing work to a loop from other threads.
 *
 *   throughput  P producer threads each call reactor_post() M times as fast as
 *               they can; the loop thread runs the callbacks until all P*M
 *               ran. Reports posts per second, and how many posts one loop
 *               iteration took on average (the batching a burst gets).
 *   pingpong    two loops on two threads pass one message back and forth:
 *               every hop wakes a sleeping loop. Reports round trips per
 *               second: the latency of a wakeup, not its throughput.
 *
 * Against libuv (built with RX_BENCH_LIBUV): uv_async_send() carries no data
 * and coalesces, so posting a callback on libuv is what its users write: a
 * mutex-protected queue of malloc'd nodes plus uv_async_send(), drained by
 * the async callback. That is the same work reactor_post() does, so the
 * throughput lines compare like with like. The ping-pong on libuv sends a
 * bare uv_async_send() each way, with no queue: its floor.
 *
 * Usage: wakeups [--impl libreactor|libuv] [--mode throughput|pingpong]
 *                [-p PRODUCERS] [-m COUNT] [-r RUNS]
 *   -m  posts per producer (throughput), or round trips (pingpong)
 * Prints e.g.: wakeups impl=libreactor mode=throughput producers=4 posts_per_sec=... runs=5
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reactor.h"
#ifdef RX_BENCH_LIBUV
#include <uv.h>
#endif

static int producers = 1;
static long per_producer = 200000;
static int runs = 5;

static long consumed;   /* callbacks run; loop thread only */
static long iterations; /* loop iterations that ran them */
static atomic_int go;   /* producers spin on it so that all start together */
static atomic_long hops;
static atomic_int done;
static long target_hops = 100000;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what)
{
    fprintf(stderr, "%s failed\n", what);
    exit(1);
}

/* Starts `producers` threads running fn(arg) once `go` is set; returns the start time. */
static double start_producers(pthread_t *t, void *(*fn)(void *), void *arg)
{
    atomic_store(&go, 0);
    for (int i = 0; i < producers; i++)
        if (pthread_create(&t[i], NULL, fn, arg) != 0)
            die("pthread_create");
    double t0 = now_ns();
    atomic_store(&go, 1);
    return t0;
}

static void wait_go(void)
{
    while (!atomic_load(&go))
        ;
}

/* ---- libreactor ---------------------------------------------------------- */

static void rx_count(reactor_t *r, void *data)
{
    (void)r;
    (void)data;
    consumed++;
}

static void *rx_producer(void *arg)
{
    reactor_t *r = arg;
    wait_go();
    for (long i = 0; i < per_producer; i++)
        if (reactor_post(r, rx_count, NULL) < 0)
            die("reactor_post");
    return NULL;
}

static double rx_throughput(void)
{
    reactor_t *r = reactor_new(NULL);
    pthread_t t[64];
    if (!r)
        die("reactor_new");
    long total = per_producer * producers;
    consumed = iterations = 0;
    double t0 = start_producers(t, rx_producer, r);
    while (consumed < total) {
        (void)reactor_run_once(r, -1);
        iterations++;
    }
    double t1 = now_ns();
    for (int i = 0; i < producers; i++)
        pthread_join(t[i], NULL);
    reactor_free(r);
    return (double)total / ((t1 - t0) / 1e9);
}

static reactor_t *rx_ping_loops[2];

static void rx_hop(reactor_t *r, void *data)
{
    int side = (int)(r == rx_ping_loops[1]);
    (void)data;
    if (atomic_load(&done))
        return;
    if (side == 0 && atomic_fetch_add(&hops, 1) + 1 >= target_hops)
        atomic_store(&done, 1); /* the post below wakes the other side to see it */
    if (reactor_post(rx_ping_loops[!side], rx_hop, NULL) < 0)
        die("reactor_post");
}

static void *rx_ping_thread(void *arg)
{
    reactor_t *r = arg;
    while (!atomic_load(&done))
        (void)reactor_run_once(r, -1);
    return NULL;
}

static double rx_pingpong(void)
{
    pthread_t t;
    rx_ping_loops[0] = reactor_new(NULL);
    rx_ping_loops[1] = reactor_new(NULL);
    if (!rx_ping_loops[0] || !rx_ping_loops[1])
        die("reactor_new");
    atomic_store(&hops, 0);
    atomic_store(&done, 0);
    if (pthread_create(&t, NULL, rx_ping_thread, rx_ping_loops[1]) != 0)
        die("pthread_create");
    double t0 = now_ns();
    (void)reactor_post(rx_ping_loops[0], rx_hop, NULL);
    rx_ping_thread(rx_ping_loops[0]);
    double t1 = now_ns();
    pthread_join(t, NULL);
    reactor_run_once(rx_ping_loops[0], 0); /* runs (and drops) a last queued hop */
    reactor_free(rx_ping_loops[0]);
    reactor_free(rx_ping_loops[1]);
    return (double)atomic_load(&hops) / ((t1 - t0) / 1e9);
}

/* ---- libuv --------------------------------------------------------------- */

#ifdef RX_BENCH_LIBUV
struct uv_node {
    struct uv_node *next;
    void (*fn)(void *);
    void *data;
};

/* A post queue on libuv: what reactor_post() does, written with libuv's parts. */
struct uv_postq {
    uv_async_t async;
    pthread_mutex_t lock;
    struct uv_node *head, *tail;
};

static void uv_count(void *data)
{
    (void)data;
    consumed++;
}

static int uvq_post(struct uv_postq *q, void (*fn)(void *), void *data)
{
    struct uv_node *n = malloc(sizeof *n);
    if (!n)
        return -1;
    n->next = NULL;
    n->fn = fn;
    n->data = data;
    pthread_mutex_lock(&q->lock);
    if (q->head)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    pthread_mutex_unlock(&q->lock);
    return uv_async_send(&q->async);
}

static void uvq_drain(uv_async_t *a)
{
    struct uv_postq *q = a->data;
    pthread_mutex_lock(&q->lock);
    struct uv_node *n = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->lock);
    while (n) {
        struct uv_node *next = n->next;
        void (*fn)(void *) = n->fn;
        void *data = n->data;
        free(n);
        fn(data);
        n = next;
    }
}

static void *uv_producer(void *arg)
{
    struct uv_postq *q = arg;
    wait_go();
    for (long i = 0; i < per_producer; i++)
        if (uvq_post(q, uv_count, NULL) < 0)
            die("uv post");
    return NULL;
}

static double uv_throughput(void)
{
    uv_loop_t loop;
    struct uv_postq q = {.head = NULL, .tail = NULL};
    pthread_t t[64];
    if (uv_loop_init(&loop) < 0 || uv_async_init(&loop, &q.async, uvq_drain) < 0)
        die("uv_loop_init");
    pthread_mutex_init(&q.lock, NULL);
    q.async.data = &q;
    long total = per_producer * producers;
    consumed = iterations = 0;
    double t0 = start_producers(t, uv_producer, &q);
    while (consumed < total) {
        uv_run(&loop, UV_RUN_ONCE);
        iterations++;
    }
    double t1 = now_ns();
    for (int i = 0; i < producers; i++)
        pthread_join(t[i], NULL);
    uv_close((uv_handle_t *)&q.async, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    pthread_mutex_destroy(&q.lock);
    return (double)total / ((t1 - t0) / 1e9);
}

static uv_async_t uv_ping_async[2];

static void uv_hop(uv_async_t *a)
{
    int side = a == &uv_ping_async[1];
    if (atomic_load(&done))
        return;
    if (side == 0 && atomic_fetch_add(&hops, 1) + 1 >= target_hops)
        atomic_store(&done, 1);
    uv_async_send(&uv_ping_async[!side]);
}

static void *uv_ping_thread(void *arg)
{
    uv_loop_t *loop = arg;
    while (!atomic_load(&done))
        uv_run(loop, UV_RUN_ONCE);
    return NULL;
}

static double uv_pingpong(void)
{
    uv_loop_t loops[2];
    pthread_t t;
    for (int i = 0; i < 2; i++)
        if (uv_loop_init(&loops[i]) < 0 || uv_async_init(&loops[i], &uv_ping_async[i], uv_hop) < 0)
            die("uv_loop_init");
    atomic_store(&hops, 0);
    atomic_store(&done, 0);
    if (pthread_create(&t, NULL, uv_ping_thread, &loops[1]) != 0)
        die("pthread_create");
    double t0 = now_ns();
    uv_async_send(&uv_ping_async[0]);
    uv_ping_thread(&loops[0]);
    double t1 = now_ns();
    pthread_join(t, NULL);
    for (int i = 0; i < 2; i++) {
        uv_close((uv_handle_t *)&uv_ping_async[i], NULL);
        uv_run(&loops[i], UV_RUN_DEFAULT);
        uv_loop_close(&loops[i]);
    }
    return (double)atomic_load(&hops) / ((t1 - t0) / 1e9);
}
#endif

int main(int argc, char **argv)
{
    const char *impl = "libreactor", *mode = "throughput";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--impl") == 0)
            impl = argv[i + 1];
        else if (strcmp(argv[i], "--mode") == 0)
            mode = argv[i + 1];
        else if (strcmp(argv[i], "-p") == 0)
            producers = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-m") == 0)
            per_producer = target_hops = atol(argv[i + 1]);
        else if (strcmp(argv[i], "-r") == 0)
            runs = atoi(argv[i + 1]);
        else
            argc = -1;
    }
    int pingpong = strcmp(mode, "pingpong") == 0;
    if (argc < 0 || (argc % 2) == 0 || producers < 1 || producers > 64 || per_producer < 1 ||
        runs < 1 || (!pingpong && strcmp(mode, "throughput") != 0)) {
        fprintf(stderr,
                "usage: %s [--impl libreactor|libuv] [--mode throughput|pingpong]\n"
                "          [-p PRODUCERS] [-m COUNT] [-r RUNS]\n",
                argv[0]);
        return 2;
    }
    double (*fn)(void) = NULL;
    if (strcmp(impl, "libreactor") == 0)
        fn = pingpong ? rx_pingpong : rx_throughput;
#ifdef RX_BENCH_LIBUV
    else if (strcmp(impl, "libuv") == 0)
        fn = pingpong ? uv_pingpong : uv_throughput;
#endif
    if (!fn) {
        fprintf(stderr, "skipped: %s is not built in\n", impl);
        return 77;
    }
    double *rate = malloc((size_t)runs * sizeof *rate);
    double batch = 0;
    if (!rate)
        return 1;
    fn(); /* warm-up: malloc arenas, thread stacks */
    for (int i = 0; i < runs; i++) {
        rate[i] = fn();
        batch += iterations ? (double)consumed / (double)iterations : 0;
    }
    double med = median(rate, runs);
    if (pingpong)
        printf("wakeups impl=%s mode=pingpong round_trips_per_sec=%.0f ns_per_round_trip=%.0f "
               "runs=%d\n",
               impl, med, 1e9 / med, runs);
    else
        printf("wakeups impl=%s mode=throughput producers=%d posts_per_sec=%.0f "
               "posts_per_iteration=%.1f runs=%d\n",
               impl, producers, med, batch / runs, runs);
    free(rate);
    return 0;
}
