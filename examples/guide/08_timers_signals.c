/* Step 8 of docs/guide.md: an idle timer per connection, restarted by every
 * read; SIGINT/SIGTERM close everything, and reactor_run() returns once
 * nothing is left to watch. ./08_timers_signals [PORT [IDLE_MS]] */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <reactor.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
    int fd;
    int64_t timer;     /* the idle timer's id (ids are never reused) */
    struct conn *next; /* every open connection, for the shutdown */
};

static struct server {
    int lfd;
    uint64_t idle_ms;
    struct conn *conns;
} srv; /* the program's state; the library itself keeps none */

static void conn_close(reactor_t *r, struct conn *c)
{
    reactor_timer_cancel(r, c->timer); /* -ENOENT if it fired: harmless */
    reactor_unregister(r, c->fd);
    close(c->fd);
    struct conn **p = &srv.conns;
    while (*p != c)
        p = &(*p)->next;
    *p = c->next;
    free(c);
}

static void on_idle(reactor_t *r, int64_t id, void *data)
{
    (void)id;
    send(((struct conn *)data)->fd, "idle timeout\n", 13, 0);
    conn_close(r, data);
}

static void on_conn(reactor_t *r, int fd, unsigned events, void *data)
{
    struct conn *c = data;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    (void)events;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    /* a reply that does not fit: a client not reading (07_echo.c buffers) */
    if (n <= 0 || send(fd, "ok\n", 3, 0) != 3) {
        conn_close(r, c);
        return;
    }
    reactor_timer_cancel(r, c->timer); /* restart the idle clock */
    c->timer = reactor_timer_add(r, srv.idle_ms, 0, on_idle, c);
}

static void on_accept(reactor_t *r, int lfd, unsigned events, void *data)
{
    int cfd;
    (void)events, (void)data;
    while ((cfd = accept(lfd, NULL, NULL)) >= 0) {
        struct conn *c = calloc(1, sizeof *c);
        if (!c || reactor_register(r, cfd, REACTOR_READ, on_conn, c) < 0) {
            close(cfd);
            free(c);
            continue;
        }
        fcntl(cfd, F_SETFL, O_NONBLOCK);
        *c = (struct conn){.fd = cfd, .next = srv.conns};
        c->timer = reactor_timer_add(r, srv.idle_ms, 0, on_idle, c);
        srv.conns = c;
    }
}

/* Runs on the loop thread after the handler returned: no async-signal rules. */
static void on_signal(reactor_t *r, int signo, void *data)
{
    (void)data;
    printf("signal %d: shutting down\n", signo);
    reactor_unregister(r, srv.lfd);
    close(srv.lfd);
    while (srv.conns)
        conn_close(r, srv.conns);
    reactor_signal_remove(r, SIGINT);
    reactor_signal_remove(r, SIGTERM);
}

int main(int argc, char **argv)
{
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)atoi(argc > 1 ? argv[1] : "8000"))};
    socklen_t len = sizeof a;
    reactor_t *r = reactor_new(NULL);
    srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
    srv.idle_ms = argc > 2 ? strtoull(argv[2], NULL, 10) : 5000;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(srv.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!r || bind(srv.lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(srv.lfd, 128) < 0)
        return perror("startup"), 1;
    getsockname(srv.lfd, (struct sockaddr *)&a, &len);
    fcntl(srv.lfd, F_SETFL, O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    if (reactor_register(r, srv.lfd, REACTOR_READ, on_accept, NULL) < 0 ||
        reactor_signal_add(r, SIGINT, on_signal, NULL) < 0 ||
        reactor_signal_add(r, SIGTERM, on_signal, NULL) < 0)
        return fputs("reactor setup failed\n", stderr), 1;
    printf("listening on 127.0.0.1:%d (backend %s)\n", ntohs(a.sin_port), reactor_backend(r));
    fflush(stdout);
    int rc = reactor_run(r); /* returns once on_signal has removed everything */
    reactor_free(r);
    return rc < 0;
}
