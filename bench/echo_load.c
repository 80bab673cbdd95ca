/*
 * echo_load.c - the load client of the echo benchmark.
 *
 *   bench-echo-load --port P [--conns N] [--size M] [--seconds D] [--impl NAME]
 *
 * Opens N connections to 127.0.0.1:P; each keeps one message of M bytes in
 * flight: it sends M bytes, waits until all M came back, sends again. After a
 * 0.5 s warm-up it counts the round trips completed in D seconds and prints
 *
 *   echo impl=NAME conns=N size=M seconds=D round_trips_per_s=X errors=E
 *
 * Every echoed byte is checked against what was sent; a mismatch, a closed or
 * reset connection counts as an error (and the exit status is 1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct client {
    int fd;
    size_t got; /* bytes of the message in flight echoed so far */
    unsigned char seed;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(unsigned char *msg, size_t m, unsigned char seed)
{
    for (size_t i = 0; i < m; i++)
        msg[i] = (unsigned char)(seed + i * 7);
}

int main(int argc, char **argv)
{
    int port = 0, conns = 100;
    size_t m = 64;
    double seconds = 5;
    const char *impl = "unknown";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--conns"))
            conns = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--size"))
            m = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--impl"))
            impl = argv[i + 1];
        else {
            fprintf(stderr, "bench-echo-load: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (port <= 0 || conns <= 0 || m == 0 || m > 1 << 20) {
        fprintf(stderr, "usage: bench-echo-load --port P [--conns N] [--size M] [--seconds D] "
                        "[--impl NAME]\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)conns + 16) {
        fprintf(stderr, "bench-echo-load: %d connections need ulimit -n %d\n", conns, conns + 16);
        return 1;
    }
    struct client *cl = calloc((size_t)conns, sizeof *cl);
    unsigned char *msgs[256], *in = malloc(m);
    for (int s = 0; s < 256; s++) {
        msgs[s] = malloc(m);
        fill(msgs[s], m, (unsigned char)s);
    }
    int ep = epoll_create1(0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((unsigned short)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    for (int i = 0; i < conns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
            perror("bench-echo-load: connect");
            return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        cl[i].fd = fd;
        cl[i].seed = (unsigned char)i;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cl[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    /* Blocking sockets: a message far below the socket buffer is taken whole. */
    for (int i = 0; i < conns; i++) {
        if (send(cl[i].fd, msgs[cl[i].seed], m, MSG_NOSIGNAL) != (ssize_t)m) {
            perror("bench-echo-load: send");
            return 1;
        }
    }
    long long trips = 0, errors = 0;
    double start = now_s(), t0 = start + 0.5, end = t0 + seconds;
    int counting = 0;
    struct epoll_event evs[256];
    for (;;) {
        double t = now_s();
        if (!counting && t >= t0) {
            counting = 1;
            trips = 0;
        }
        if (t >= end)
            break;
        int n = epoll_wait(ep, evs, 256, 100);
        for (int k = 0; k < n; k++) {
            struct client *c = evs[k].data.ptr;
            ssize_t r = recv(c->fd, in, m - c->got, MSG_DONTWAIT);
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                    continue;
                errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                continue;
            }
            if (memcmp(in, msgs[c->seed] + c->got, (size_t)r)) {
                errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                continue;
            }
            c->got += (size_t)r;
            if (c->got < m)
                continue;
            trips++;
            c->got = 0;
            c->seed++;
            if (send(c->fd, msgs[c->seed], m, MSG_NOSIGNAL) != (ssize_t)m) {
                errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            }
        }
    }
    double elapsed = now_s() - t0;
    printf("echo impl=%s conns=%d size=%zu seconds=%g round_trips_per_s=%.0f errors=%lld\n", impl,
           conns, m, seconds, (double)trips / elapsed, errors);
    return errors ? 1 : 0;
}
