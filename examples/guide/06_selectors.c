/* Step 6 of docs/guide.md: the server of step 5 on libreactor's selectors-style
 * API (reactor_select), on any backend ($REACTOR_BACKEND). ./06_selectors [PORT] */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <reactor.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char RESPONSE[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 13\r\n\r\nHello, world\n";

struct conn {
    int fd;
    size_t got, sent;
    char req[1024];
};

static int listen_on(int port, const char *backend)
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
    printf("listening on 127.0.0.1:%d (backend %s)\n", ntohs(a.sin_port), backend);
    fflush(stdout);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Unregister first: a registered fd that is closed is a caller bug. */
static void conn_close(reactor_t *r, struct conn *c)
{
    reactor_unregister(r, c->fd);
    close(c->fd);
    free(c);
}

static void on_readable(reactor_t *r, struct conn *c)
{
    ssize_t n = recv(c->fd, c->req + c->got, sizeof c->req - 1 - c->got, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0 || c->got + (size_t)n == sizeof c->req - 1) {
        conn_close(r, c);
        return;
    }
    c->got += (size_t)n;
    c->req[c->got] = '\0';
    if (strstr(c->req, "\r\n\r\n"))
        reactor_modify(r, c->fd, REACTOR_WRITE, NULL, c);
}

static void on_writable(reactor_t *r, struct conn *c)
{
    ssize_t n = send(c->fd, RESPONSE + c->sent, sizeof RESPONSE - 1 - c->sent, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n > 0)
        c->sent += (size_t)n;
    if (n < 0 || c->sent == sizeof RESPONSE - 1)
        conn_close(r, c);
}

static void accept_all(reactor_t *r, int lfd)
{
    int cfd;
    while ((cfd = accept(lfd, NULL, NULL)) >= 0) {
        struct conn *c = calloc(1, sizeof *c);
        int rc = c ? reactor_register(r, cfd, REACTOR_READ, NULL, c) : -ENOMEM;
        if (rc < 0) { /* e.g. -ERANGE: fd >= FD_SETSIZE on the select backend */
            fprintf(stderr, "register: %s\n", reactor_strerror(rc));
            close(cfd);
            free(c);
            continue;
        }
        fcntl(cfd, F_SETFL, O_NONBLOCK);
        c->fd = cfd;
    }
}

int main(int argc, char **argv)
{
    reactor_t *r = reactor_new(NULL); /* $REACTOR_BACKEND, else the best one */
    if (r == NULL)
        return perror("reactor_new"), 1;
    int lfd = listen_on(argc > 1 ? atoi(argv[1]) : 8000, reactor_backend(r));
    if (reactor_register(r, lfd, REACTOR_READ, NULL, NULL) < 0)
        return fputs("cannot register the listener\n", stderr), 1;
    signal(SIGPIPE, SIG_IGN); /* a send to a reset peer must fail, not kill us */
    for (;;) {
        reactor_event_t ready[64];
        int n = reactor_select(r, -1, ready, 64);
        if (n == -EINTR)
            continue; /* as Python's selectors: retry */
        for (int i = 0; i < n; i++) {
            struct conn *c = ready[i].data; /* NULL marks the listener */
            if (c == NULL)
                accept_all(r, lfd);
            else if (ready[i].events & REACTOR_WRITE)
                on_writable(r, c);
            else
                on_readable(r, c);
        }
    }
}
