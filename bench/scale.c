/*
 * scale.c - benchmark: the cost of one loop iteration while K idle
 * descriptors are registered.
 *
 * One socketpair end always has a byte pending and is never read, so a
 * level-triggered loop reports it on every iteration: reactor_run_once()
 * waits, finds that one fd ready, calls its callback and returns, with no
 * read or write in the way. K more descriptors are registered for reading and
 * never become ready. epoll and kqueue keep a ready list, so the iteration
 * should cost the same at K = 10 and K = 100,000; select and poll hand the
 * kernel the whole set every time, so their cost grows with K. That is the
 * picture this program draws.
 *
 * The idle descriptors are dup()s of one idle socket, so that K = 100,000
 * needs 100,000 descriptors, not 200,000: epoll, kqueue, poll and select all
 * treat each descriptor as its own registration. The active descriptor is
 * opened and registered first (the lowest number, the first pollfd), which is
 * the kind case for poll and select: the kernel still looks at every fd.
 *
 * Usage: scale [--backend NAME] [--idle K] [-r RUNS] [--iters N] [--raw]
 *   --raw    the same iteration on a loop written directly on the system call
 *   --iters  iterations per run (default: as many as take about 20 ms)
 * Prints: scale impl=libreactor-epoll backend=epoll idle=K ns_per_iter=X runs=R
 * Exit status 77: K does not fit (RLIMIT_NOFILE, or FD_SETSIZE for select).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

#include "reactor.h"

static const char *backend;
static int idle = 1000;
static int runs = 15;
static int raw;
static long fixed_iters; /* --iters: no calibration */

static int active_fd;   /* always readable */
static int *idle_fds;   /* K dups of one idle socket */
static long callbacks;  /* callbacks run: checked against iterations */
static reactor_t *loop; /* libreactor */
static int maxfd;

/* Raw loops. */
#ifdef __linux__
static int epfd = -1;
static struct epoll_event *evs;
#endif
static struct pollfd *pfds;
static fd_set rdset;

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

static long raise_nofile(void)
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

static void on_ready(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r;
    (void)fd;
    (void)events;
    (void)data;
    callbacks++;
}

/* ---- Setting up ---------------------------------------------------------- */

static int open_fds(void)
{
    int act[2], quiet[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, act) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM, 0, quiet) < 0) {
        perror("socketpair");
        return -1;
    }
    if (write(act[1], "x", 1) != 1) {
        perror("write");
        return -1;
    }
    active_fd = act[0];
    maxfd = quiet[1];
    idle_fds = malloc((size_t)(idle ? idle : 1) * sizeof *idle_fds);
    if (!idle_fds)
        return -1;
    for (int i = 0; i < idle; i++) {
        idle_fds[i] = fcntl(quiet[0], F_DUPFD_CLOEXEC, 0);
        if (idle_fds[i] < 0) {
            perror("dup");
            return -1;
        }
        maxfd = idle_fds[i] > maxfd ? idle_fds[i] : maxfd;
    }
    return 0;
}

static int setup_reactor(void)
{
    int rc = reactor_register(loop, active_fd, REACTOR_READ, on_ready, NULL);
    for (int i = 0; i < idle && rc == 0; i++)
        rc = reactor_register(loop, idle_fds[i], REACTOR_READ, on_ready, NULL);
    if (rc < 0) {
        fprintf(stderr, "reactor_register: %s\n", reactor_strerror(rc));
        return -1;
    }
    return 0;
}

static int setup_raw(void)
{
    if (strcmp(backend, "poll") == 0) {
        pfds = calloc((size_t)idle + 1, sizeof *pfds);
        if (!pfds)
            return -1;
        pfds[0].fd = active_fd;
        pfds[0].events = POLLIN;
        for (int i = 0; i < idle; i++) {
            pfds[i + 1].fd = idle_fds[i];
            pfds[i + 1].events = POLLIN;
        }
        return 0;
    }
    if (strcmp(backend, "select") == 0) {
        FD_ZERO(&rdset);
        FD_SET(active_fd, &rdset);
        for (int i = 0; i < idle; i++)
            FD_SET(idle_fds[i], &rdset);
        return 0;
    }
#ifdef __linux__
    if (strcmp(backend, "epoll") == 0) {
        epfd = epoll_create1(EPOLL_CLOEXEC);
        evs = calloc((size_t)idle + 1, sizeof *evs);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = active_fd};
        if (epfd < 0 || !evs || epoll_ctl(epfd, EPOLL_CTL_ADD, active_fd, &ev) < 0)
            return -1;
        for (int i = 0; i < idle; i++) {
            ev.data.fd = idle_fds[i];
            if (epoll_ctl(epfd, EPOLL_CTL_ADD, idle_fds[i], &ev) < 0) {
                perror("epoll_ctl");
                return -1;
            }
        }
        return 0;
    }
#endif
    fprintf(stderr, "raw: no backend %s here\n", backend);
    return -1;
}

/* ---- One iteration, each way -------------------------------------------- */

static void iterate_reactor(long iters)
{
    for (long i = 0; i < iters; i++)
        (void)reactor_run_once(loop, -1);
}

static void iterate_raw(long iters)
{
#ifdef __linux__
    if (epfd >= 0) {
        for (long i = 0; i < iters; i++) {
            int n = epoll_wait(epfd, evs, idle + 1, -1);
            for (int k = 0; k < n; k++)
                callbacks += evs[k].data.fd == active_fd;
        }
        return;
    }
#endif
    if (pfds) {
        for (long i = 0; i < iters; i++) {
            int n = poll(pfds, (nfds_t)idle + 1, -1);
            for (int k = 0; k <= idle && n > 0; k++)
                if (pfds[k].revents) {
                    n--;
                    callbacks += pfds[k].fd == active_fd;
                }
        }
        return;
    }
    for (long i = 0; i < iters; i++) {
        fd_set rd = rdset;
        int n = select(maxfd + 1, &rd, NULL, NULL, NULL);
        for (int fd = 0; fd <= maxfd && n > 0; fd++)
            if (FD_ISSET(fd, &rd)) {
                n--;
                callbacks += fd == active_fd;
            }
    }
}

static double time_iters(long iters)
{
    double t0 = now_ns();
    if (raw)
        iterate_raw(iters);
    else
        iterate_reactor(iters);
    return now_ns() - t0;
}

/*
 * The measured runs go through this out-of-line function, and only they, so
 * that `valgrind --tool=callgrind --toggle-collect='scale_timed_run*'` counts
 * runs * iters iterations exactly.
 */
double scale_timed_run(long iters) __attribute__((noinline));
double scale_timed_run(long iters)
{
    return time_iters(iters);
}

static int parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--raw") == 0)
            raw = 1;
        else if (!v)
            return -1;
        else if (strcmp(argv[i], "--backend") == 0)
            backend = argv[++i];
        else if (strcmp(argv[i], "--idle") == 0)
            idle = atoi(argv[++i]);
        else if (strcmp(argv[i], "-r") == 0)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--iters") == 0)
            fixed_iters = atol(argv[++i]);
        else
            return -1;
    }
    return idle < 0 || runs < 1 ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (parse(argc, argv) < 0) {
        fprintf(stderr, "usage: %s [--backend NAME] [--idle K] [-r RUNS] [--iters N] [--raw]\n",
                argv[0]);
        return 2;
    }
    if (!backend)
        backend = reactor_backends()[0];
    long limit = raise_nofile();
    if ((long)idle + 16 > limit) {
        fprintf(stderr, "skipped: %d idle descriptors, RLIMIT_NOFILE is %ld\n", idle, limit);
        return 77;
    }
    if (!raw && !(loop = reactor_new(backend))) { /* its own descriptors first, as in a program */
        perror("reactor_new");
        return 1;
    }
    if (open_fds() < 0)
        return 1;
    if (strcmp(backend, "select") == 0 && maxfd >= FD_SETSIZE) {
        fprintf(stderr, "skipped: select takes descriptors below FD_SETSIZE (%d), this needs %d\n",
                FD_SETSIZE, maxfd);
        return 77;
    }
    if ((raw ? setup_raw() : setup_reactor()) < 0)
        return 1;

    /* Warm up, and size a run to about 20 ms so the clock's cost vanishes. */
    long iters = fixed_iters > 0 ? fixed_iters : 64;
    while (time_iters(iters) < 20e6 && iters < (1L << 26) && fixed_iters <= 0)
        iters *= 2;
    double *ns = malloc((size_t)runs * sizeof *ns);
    if (!ns)
        return 1;
    callbacks = 0;
    for (int i = 0; i < runs; i++)
        ns[i] = scale_timed_run(iters) / (double)iters;
    if (callbacks != (long)runs * iters) {
        fprintf(stderr, "expected %ld callbacks, got %ld\n", (long)runs * iters, callbacks);
        return 1;
    }
    qsort(ns, (size_t)runs, sizeof *ns, cmp_double);
    double med = runs % 2 ? ns[runs / 2] : (ns[runs / 2 - 1] + ns[runs / 2]) / 2;
    printf("scale impl=%s-%s backend=%s idle=%d ns_per_iter=%.1f min_ns_per_iter=%.1f iters=%ld "
           "runs=%d\n",
           raw ? "raw" : "libreactor", backend, backend, idle, med, ns[0], iters, runs);
    return 0;
}
