/*
 * Step 5 of docs/guide.md: the same server on Linux epoll(7). The kernel keeps
 * the interest list between calls and returns only the ready fds, so a wait
 * costs O(ready), not O(connections). Level-triggered, as poll and select are.
 *
 *   ./05_epoll [PORT]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char RESPONSE[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 13\r\n\r\nHello, world\n";

struct conn {
    int fd, responding;
    size_t got, sent;
    char req[1024];
};

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0) {
        perror("bind/listen");
        exit(1);
    }
    getsockname(fd, (struct sockaddr *)&a, &len);
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* close() alone would drop the fd from the set only once no dup of the file
 * is left (epoll(7), Q6): say what we mean first. */
static void conn_close(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

static void on_readable(int ep, struct conn *c)
{
    ssize_t n = recv(c->fd, c->req + c->got, sizeof c->req - 1 - c->got, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0 || c->got + (size_t)n == sizeof c->req - 1) {
        conn_close(ep, c);
        return;
    }
    c->got += (size_t)n;
    c->req[c->got] = '\0';
    if (strstr(c->req, "\r\n\r\n")) {
        struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
        c->responding = 1; /* the kernel remembers: one call to switch interest */
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
}

static void on_writable(int ep, struct conn *c)
{
    ssize_t n = send(c->fd, RESPONSE + c->sent, sizeof RESPONSE - 1 - c->sent, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n > 0)
        c->sent += (size_t)n;
    if (n < 0 || c->sent == sizeof RESPONSE - 1)
        conn_close(ep, c);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a send to a reset peer must fail, not kill us */
    int lfd = listen_on(argc > 1 ? atoi(argv[1]) : 8000);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, ready[64];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev); /* data.ptr NULL marks the listener */
    for (;;) {
        int n = epoll_wait(ep, ready, 64, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = ready[i].data.ptr;
            if (c == NULL) {
                int cfd;
                while ((cfd = accept(lfd, NULL, NULL)) >= 0) {
                    fcntl(cfd, F_SETFL, O_NONBLOCK);
                    c = calloc(1, sizeof *c);
                    c->fd = cfd;
                    ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
                }
            } else if (c->responding) {
                on_writable(ep, c); /* EPOLLERR/EPOLLHUP too: send meets the error */
            } else {
                on_readable(ep, c);
            }
        }
    }
}
