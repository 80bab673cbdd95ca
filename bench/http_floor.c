/*
 * http_floor.c - the floor for the HTTP benchmark: the least an epoll server
 * can do to answer "GET /" with "Hello, world!".
 *
 *   bench-http-floor PORT [--close]
 *
 * No parsing: every "\r\n\r\n" in the input is taken as the end of one
 * request, and the answers to every request found in one read go out in one
 * send, which is what makes pipelining cheap. Keep-alive always, unless
 * --close (for ab without -k, which reads until the server closes). Listens on
 * 127.0.0.1 only. It is a yardstick, not a server: a request split into several
 * reads is found, but bodies and errors are not handled.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char answer[] = "HTTP/1.1 200 OK\r\nServer: floor\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 14\r\n\r\nHello, world!\n";
#define ANSWER_LEN (sizeof answer - 1)
#define MAX_BATCH 256

/* Per fd: how many bytes of "\r\n\r\n" the last read ended with (0..3). */
static unsigned char tail[65536];
static char out[MAX_BATCH * ANSWER_LEN];

static int count_ends(int fd, const char *p, size_t n)
{
    static const char end[] = "\r\n\r\n";
    unsigned k = tail[fd];
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == end[k])
            k++;
        else
            k = p[i] == '\r' ? 1 : 0;
        if (k == 4) {
            found++;
            k = 0;
        }
    }
    tail[fd] = (unsigned char)k;
    return found;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-http-floor PORT [--close]\n");
        return 2;
    }
    int close_after = argc > 2 && !strcmp(argv[2], "--close");
    for (int i = 0; i < MAX_BATCH; i++)
        memcpy(out + i * ANSWER_LEN, answer, ANSWER_LEN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((unsigned short)atoi(argv[1])),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 4096)) {
        perror("bench-http-floor: listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    static char buf[65536];
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0 && errno != EINTR)
            return 1;
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (c >= (int)sizeof tail) {
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    tail[c] = 0;
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                close(fd);
                continue;
            }
            int reqs = count_ends(fd, buf, (size_t)r), answered = reqs;
            while (reqs > 0) {
                int batch = reqs < MAX_BATCH ? reqs : MAX_BATCH;
                /* A benchmark client reads its answers; a short send is not retried. */
                send(fd, out, (size_t)batch * ANSWER_LEN, MSG_NOSIGNAL);
                reqs -= batch;
            }
            if (close_after && answered)
                close(fd);
        }
    }
}
