/*
 * bench_common.h - the dispatch benchmark shared by every implementation.
 *
 * The method is the one of libevent's test/bench.c, written here from its
 * description: N socketpairs, each with a read watcher on one end. A of them
 * get one byte. Every read callback reads its byte and, while a budget of W
 * writes lasts, writes one byte to the next pair of the ring. A run is timed
 * from the first write until all A + W bytes are read, and the median of the
 * runs is reported in ns per event (one event = one callback that read a byte).
 *
 * Each implementation (libreactor, a raw loop on the system call, libevent,
 * libev, libuv) is one small file that fills a `struct bench_impl`; the ring,
 * the callback body, the timing and the argument parsing live here and in
 * bench_common.c, so every implementation does exactly the same work per
 * event and differs only in the loop that calls it.
 *
 * The ring is made of "endpoints": an endpoint is a watched descriptor plus
 * the descriptor whose writes make it readable. Normally there is one per
 * pair (the first end is watched, the second written). With --fds-both-ends
 * each pair gives two endpoints, each end watched and written through the
 * other, so 5,000 pairs give a ring of 10,000 watched descriptors.
 *
 * The mode says what is done to every watcher before each run:
 *   loop   (default) nothing: the cost of the loop alone.
 *   rereg  (--rereg) every watcher is unregistered, then registered again
 *          (unwatch_all, watch_all): what a program does when it drops a
 *          descriptor and takes it up again.
 *   pause  (--pause) every watcher is stopped, then started again, while its
 *          descriptor stays open and known to the loop (pause_all,
 *          resume_all): flow control, through each library's own call for
 *          "not now". A loop that applies the changes made between two waits
 *          together owes the kernel nothing for it.
 * In rereg and pause modes a run is timed from the first of those calls, so
 * the cost of the N stops and N starts is divided by the A + W events.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <unistd.h>

enum bench_mode {
    BENCH_LOOP,  /* the loop alone */
    BENCH_REREG, /* --rereg: unregister and register every watcher before each run */
    BENCH_PAUSE, /* --pause: stop and start every watcher, fd kept, before each run */
};

struct bench_args {
    const char *backend;  /* --backend: "epoll", "poll", "select", "kqueue" */
    int pairs;            /* -n: socketpairs */
    int active;           /* -a: bytes in flight */
    int writes;           /* -w: write budget per run */
    int runs;             /* -r: timed runs (after one untimed warm-up) */
    enum bench_mode mode; /* --rereg, --pause; loop by default */
    int both_ends;        /* --fds-both-ends: watch both ends of each pair */
};

struct bench_ring {
    int m;      /* endpoints, i.e. watched descriptors */
    int *rfd;   /* rfd[k]: watched descriptor of endpoint k */
    int *wfd;   /* wfd[k]: writing one byte here makes rfd[k] readable */
    int maxfd;  /* highest descriptor of the ring */
    long reads; /* bytes read in this run */
    long total; /* bytes to read in this run: A + W */
    long left;  /* writes left in the budget */
};

extern struct bench_ring bench_ring;

/*
 * The work of one event, the same for every implementation: read the byte and
 * pass it on to the next endpoint while the budget lasts. Inline so that the
 * raw loops (the floor) pay no call for it and the libraries pay only theirs.
 */
static inline void bench_on_readable(int k)
{
    char c;
    if (read(bench_ring.rfd[k], &c, 1) != 1)
        return; /* a spurious wakeup (EAGAIN) is no event */
    bench_ring.reads++;
    if (bench_ring.left > 0) {
        bench_ring.left--;
        int next = k + 1 == bench_ring.m ? 0 : k + 1;
        if (write(bench_ring.wfd[next], "e", 1) != 1)
            bench_ring.reads = bench_ring.total; /* cannot happen with 1 byte in flight; end */
    }
}

static inline int bench_done(void)
{
    return bench_ring.reads >= bench_ring.total;
}

/* One implementation of the loop; every function returns 0 or -1 (with a message printed). */
struct bench_impl {
    /* Creates the loop on args->backend (NULL: the implementation's default). */
    int (*setup)(const struct bench_args *args);
    /* The name printed as impl=, e.g. "libreactor-epoll". Valid after setup. */
    const char *(*name)(void);
    /* Starts watching every endpoint's rfd for reading; the callback calls bench_on_readable(k). */
    int (*watch_all)(void);
    /* Stops watching every endpoint (the watchers may be started again by watch_all). */
    int (*unwatch_all)(void);
    /*
     * Stops watching every endpoint for now, its descriptor still open and
     * registered, and starts again: the library's own calls for flow control.
     * NULL when it has none but unwatch_all and watch_all, which are used instead.
     */
    int (*pause_all)(void);
    int (*resume_all)(void);
    /* Runs the loop until bench_done(). */
    void (*run)(void);
    /* Frees the loop. */
    void (*teardown)(void);
};

/*
 * Parses the arguments, runs the benchmark and prints its line. Exit status:
 * 0, 1 on failure, 2 on bad usage, 77 when the configuration does not apply
 * here (select beyond FD_SETSIZE, not enough descriptors).
 */
int bench_main(int argc, char **argv, const struct bench_impl *impl);

/* Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit. */
long bench_raise_nofile(void);

/* CLOCK_MONOTONIC in ns. */
double bench_now_ns(void);

/* Sorts `v` and returns its median. */
double bench_median(double *v, int n);

#endif /* BENCH_COMMON_H */
