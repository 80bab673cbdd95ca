/*
 * Step 7 of docs/guide.md: an echo server in libreactor's callback style
 * (reactor_run). Shows the two things every non-blocking writer must do:
 * keep what send() did not take (partial writes), and stop reading from a
 * client that does not read its replies (back-pressure), so memory stays
 * bounded at one buffer per connection.
 *
 *   ./07_echo [PORT]
 */
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

struct conn {
    int fd, eof;
    unsigned events; /* what is registered now */
    size_t off, len; /* pending output is buf[off..len) */
    char buf[16384];
};

static void conn_close(reactor_t *r, struct conn *c)
{
    reactor_unregister(r, c->fd); /* before close(): see the guide's pitfalls */
    close(c->fd);
    free(c);
}

static void on_conn(reactor_t *r, int fd, unsigned events, void *data)
{
    struct conn *c = data;
    if (events & REACTOR_READ) { /* never while the buffer is full: see below */
        ssize_t n = recv(fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (n > 0)
            c->len += (size_t)n;
        else if (n == 0)
            c->eof = 1; /* the client shut down its side: flush, then close */
        else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            goto fail;
    }
    if (c->len > c->off) { /* try at once: the socket is usually writable */
        ssize_t n = send(fd, c->buf + c->off, c->len - c->off, 0);
        if (n > 0)
            c->off += (size_t)n; /* maybe only part of it */
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            goto fail;
    }
    if (c->off == c->len) {
        c->off = c->len = 0;
    } else if (c->off > 0 && c->len == sizeof c->buf) {
        memmove(c->buf, c->buf + c->off, c->len - c->off); /* make room to read */
        c->len -= c->off;
        c->off = 0;
    }
    /* Read only while there is room (back-pressure); write only while output
     * is pending (a level-triggered WRITE on an idle socket fires forever). */
    unsigned want = (!c->eof && c->len < sizeof c->buf ? REACTOR_READ : 0) |
                    (c->len > c->off ? REACTOR_WRITE : 0);
    if (want == 0)
        goto fail; /* end of input and all of it echoed */
    if (want != c->events && reactor_modify(r, fd, want, on_conn, c) == 0)
        c->events = want;
    return;
fail:
    conn_close(r, c);
}

static void on_accept(reactor_t *r, int lfd, unsigned events, void *data)
{
    (void)events, (void)data;
    int cfd;
    while ((cfd = accept(lfd, NULL, NULL)) >= 0) { /* all pending, until EAGAIN */
        struct conn *c = calloc(1, sizeof *c);
        int rc = c ? reactor_register(r, cfd, REACTOR_READ, on_conn, c) : -ENOMEM;
        if (rc < 0) {
            fprintf(stderr, "register: %s\n", reactor_strerror(rc));
            close(cfd);
            free(c);
            continue;
        }
        fcntl(cfd, F_SETFL, O_NONBLOCK);
        c->fd = cfd;
        c->events = REACTOR_READ;
    }
}

int main(int argc, char **argv)
{
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)atoi(argc > 1 ? argv[1] : "8000"))};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 128) < 0)
        return perror("bind/listen"), 1;
    getsockname(lfd, (struct sockaddr *)&a, &len);
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);

    reactor_t *r = reactor_new(NULL);
    int rc = r ? reactor_register(r, lfd, REACTOR_READ, on_accept, NULL) : -errno;
    if (rc < 0)
        return fprintf(stderr, "reactor: %s\n", reactor_strerror(rc)), 1;
    printf("listening on 127.0.0.1:%d (backend %s)\n", ntohs(a.sin_port), reactor_backend(r));
    fflush(stdout);
    rc = reactor_run(r); /* returns when nothing is registered: never, here */
    reactor_free(r);
    return rc < 0;
}
