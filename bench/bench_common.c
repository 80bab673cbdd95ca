/*
 * bench_common.c - the dispatch benchmark's driver: arguments, the socketpair
 * ring, the runs and the printed line. See bench_common.h for the method.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>

#include "bench_common.h"

struct bench_ring bench_ring;

double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

long bench_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void bench_usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--backend NAME] [-n PAIRS] [-a ACTIVE] [-w WRITES] [-r RUNS]\n"
            "          [--rereg | --pause] [--fds-both-ends]\n"
            "  --rereg  unregister and register every watcher again before each run\n"
            "  --pause  stop and start every watcher again, its fd kept, before each run\n"
            "defaults: -n 1000 -a 100 -w 1000 -r 25, loop mode, one watched end per pair\n",
            prog);
}

static int bench_int_arg(const char *s, int min, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > 100000000)
        return -1;
    *out = (int)v;
    return 0;
}

static const char *const bench_mode_names[] = {"loop", "rereg", "pause"};

/* --rereg and --pause exclude each other. */
static int bench_set_mode(struct bench_args *a, enum bench_mode mode)
{
    if (a->mode != BENCH_LOOP && a->mode != mode)
        return -1;
    a->mode = mode;
    return 0;
}

static int bench_parse(int argc, char **argv, struct bench_args *a)
{
    *a = (struct bench_args){NULL, 1000, 100, 1000, 25, BENCH_LOOP, 0};
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--rereg") == 0 || strcmp(s, "--pause") == 0) {
            enum bench_mode mode = strcmp(s, "--rereg") == 0 ? BENCH_REREG : BENCH_PAUSE;
            if (bench_set_mode(a, mode) < 0)
                return -1;
            continue;
        }
        if (strcmp(s, "--fds-both-ends") == 0) {
            a->both_ends = 1;
            continue;
        }
        if (i + 1 == argc) /* every other option takes a value */
            return -1;
        const char *v = argv[++i];
        int rc = 0;
        if (strcmp(s, "--backend") == 0)
            a->backend = v;
        else if (strcmp(s, "-n") == 0)
            rc = bench_int_arg(v, 1, &a->pairs);
        else if (strcmp(s, "-a") == 0)
            rc = bench_int_arg(v, 1, &a->active);
        else if (strcmp(s, "-w") == 0)
            rc = bench_int_arg(v, 0, &a->writes);
        else if (strcmp(s, "-r") == 0)
            rc = bench_int_arg(v, 1, &a->runs);
        else
            rc = -1;
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int bench_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* Opens the socketpairs and lays the endpoints out as a ring. */
static int bench_ring_open(const struct bench_args *a)
{
    struct bench_ring *g = &bench_ring;
    g->m = a->both_ends ? 2 * a->pairs : a->pairs;
    g->rfd = malloc((size_t)g->m * sizeof *g->rfd);
    g->wfd = malloc((size_t)g->m * sizeof *g->wfd);
    if (!g->rfd || !g->wfd)
        return -1;
    g->maxfd = -1;
    for (int i = 0; i < a->pairs; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
            perror("socketpair");
            return -1;
        }
        if (bench_nonblock(sv[0]) < 0 || bench_nonblock(sv[1]) < 0) {
            perror("fcntl");
            return -1;
        }
        if (a->both_ends) {
            g->rfd[2 * i] = sv[0], g->wfd[2 * i] = sv[1];
            g->rfd[2 * i + 1] = sv[1], g->wfd[2 * i + 1] = sv[0];
        } else {
            g->rfd[i] = sv[0], g->wfd[i] = sv[1];
        }
        g->maxfd = sv[1] > g->maxfd ? sv[1] : g->maxfd;
    }
    return 0;
}

static void bench_ring_close(const struct bench_args *a)
{
    struct bench_ring *g = &bench_ring;
    for (int k = 0; k < g->m; k++) {
        close(g->rfd[k]);
        if (!a->both_ends) /* with both ends watched, every descriptor is some rfd */
            close(g->wfd[k]);
    }
    free(g->rfd);
    free(g->wfd);
}

/* What the mode does to every watcher before a run: stop it, then start it again. */
static int bench_cycle_watchers(const struct bench_impl *impl, enum bench_mode mode)
{
    int (*stop)(void) = impl->unwatch_all;
    int (*start)(void) = impl->watch_all;
    if (mode == BENCH_LOOP)
        return 0;
    if (mode == BENCH_PAUSE && impl->pause_all) {
        stop = impl->pause_all;
        start = impl->resume_all;
    }
    return stop() < 0 || start() < 0 ? -1 : 0;
}

/* One run, timed from the first write (or, with --rereg or --pause, from the first stop). */
static double bench_run_once(const struct bench_impl *impl, const struct bench_args *a)
{
    struct bench_ring *g = &bench_ring;
    int space = g->m / a->active;
    double t0 = bench_now_ns();
    if (bench_cycle_watchers(impl, a->mode) < 0)
        return -1;
    g->reads = 0;
    g->total = (long)a->active + a->writes;
    g->left = a->writes;
    for (int i = 0; i < a->active; i++)
        if (write(g->wfd[i * space], "e", 1) != 1) {
            perror("write");
            return -1;
        }
    impl->run();
    double t1 = bench_now_ns();
    if (g->reads != g->total) {
        fprintf(stderr, "run ended with %ld of %ld bytes read\n", g->reads, g->total);
        return -1;
    }
    return t1 - t0;
}

/*
 * The timed runs go through this out-of-line function so that
 * `valgrind --tool=callgrind --toggle-collect='bench_timed_run*'` counts the
 * instructions of exactly those runs (the warm-up calls bench_run_once directly).
 */
double bench_timed_run(const struct bench_impl *impl, const struct bench_args *a)
    __attribute__((noinline));
double bench_timed_run(const struct bench_impl *impl, const struct bench_args *a)
{
    return bench_run_once(impl, a);
}

int bench_main(int argc, char **argv, const struct bench_impl *impl)
{
    struct bench_args a;
    if (bench_parse(argc, argv, &a) < 0) {
        bench_usage(argv[0]);
        return 2;
    }
    int m = a.both_ends ? 2 * a.pairs : a.pairs;
    if (a.active > m) {
        fprintf(stderr, "-a %d: more active endpoints than the %d watched\n", a.active, m);
        return 2;
    }
    long limit = bench_raise_nofile();
    if (2L * a.pairs + 16 > limit) {
        fprintf(stderr, "skipped: %d pairs need %ld descriptors, RLIMIT_NOFILE is %ld\n", a.pairs,
                2L * a.pairs + 16, limit);
        return 77;
    }
    if (impl->setup(&a) < 0)
        return 1;
    if (bench_ring_open(&a) < 0)
        return 1;
    if (a.backend && strcmp(a.backend, "select") == 0 && bench_ring.maxfd >= FD_SETSIZE) {
        fprintf(stderr, "skipped: select takes descriptors below FD_SETSIZE (%d), this needs %d\n",
                FD_SETSIZE, bench_ring.maxfd);
        return 77;
    }
    if (impl->watch_all() < 0)
        return 1;

    double *ns = malloc((size_t)a.runs * sizeof *ns);
    if (!ns || bench_run_once(impl, &a) < 0) /* warm-up: caches, lazily grown arrays */
        return 1;
    for (int i = 0; i < a.runs; i++) {
        double t = bench_timed_run(impl, &a);
        if (t < 0)
            return 1;
        ns[i] = t / (double)(a.active + a.writes);
    }
    double med = bench_median(ns, a.runs);
    printf("dispatch impl=%s n=%d fds=%d a=%d w=%d mode=%s median_ns_per_event=%.1f "
           "min_ns_per_event=%.1f runs=%d\n",
           impl->name(), a.pairs, bench_ring.m, a.active, a.writes, bench_mode_names[a.mode], med,
           ns[0], a.runs);
    fflush(stdout);
    free(ns);
    impl->teardown();
    bench_ring_close(&a);
    return 0;
}
