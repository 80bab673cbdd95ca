/* Step 9 of docs/guide.md: step 1's blocking handler (DELAY_MS) on the thread pool
 * ($REACTOR_THREADPOOL_SIZE, default 4), off the loop. ./09_work_pool [PORT [DELAY_MS]] */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <reactor.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char RESPONSE[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 13\r\n\r\nHello, world\n";
static int delay_ms;

struct conn {
    int fd;
    size_t got, sent;
    char req[1024];
};

/* Pool thread: may block; must not touch the reactor nor the loop's data. */
static void slow_work(void *data)
{
    struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};
    (void)data;
    nanosleep(&ts, NULL);
}

static void on_writable(reactor_t *r, int fd, unsigned events, void *data)
{
    struct conn *c = data;
    ssize_t n = send(fd, RESPONSE + c->sent, sizeof RESPONSE - 1 - c->sent, MSG_NOSIGNAL);
    (void)events;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0)
        c->sent += (size_t)n;
    if (n < 0 || c->sent == sizeof RESPONSE - 1) {
        reactor_unregister(r, fd); /* before close(): see the guide's pitfalls */
        close(fd);
        free(c);
    }
}

/* Loop thread: the connection is ours again (status < 0: close it). */
static void work_done(reactor_t *r, void *data, int status)
{
    struct conn *c = data;
    if (status < 0 || reactor_register(r, c->fd, REACTOR_WRITE, on_writable, c) < 0) {
        close(c->fd);
        free(c);
    }
}

static void on_readable(reactor_t *r, int fd, unsigned events, void *data)
{
    struct conn *c = data;
    ssize_t n = recv(fd, c->req + c->got, sizeof c->req - 1 - c->got, 0);
    (void)events;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0 || c->got + (size_t)n == sizeof c->req - 1) {
        reactor_unregister(r, fd);
        work_done(r, c, -1); /* closes */
        return;
    }
    c->got += (size_t)n;
    c->req[c->got] = '\0';
    if (!strstr(c->req, "\r\n\r\n"))
        return;
    reactor_unregister(r, fd); /* the work owns the connection until work_done */
    if (strncmp(c->req, "GET /fast ", 10) == 0)
        work_done(r, c, 0);
    else if (reactor_queue_work(r, slow_work, work_done, c) < 0)
        work_done(r, c, -1);
}

static void on_accept(reactor_t *r, int lfd, unsigned events, void *data)
{
    int cfd;
    (void)events, (void)data;
    while ((cfd = accept(lfd, NULL, NULL)) >= 0) {
        struct conn *c = calloc(1, sizeof *c);
        if (!c || reactor_register(r, cfd, REACTOR_READ, on_readable, c) < 0) {
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
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)atoi(argc > 1 ? argv[1] : "8000"))};
    socklen_t len = sizeof a;
    reactor_t *r = reactor_new(NULL);
    delay_ms = argc > 2 ? atoi(argv[2]) : 100;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!r || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 128) < 0)
        return perror("startup"), 1;
    getsockname(lfd, (struct sockaddr *)&a, &len);
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    if (reactor_register(r, lfd, REACTOR_READ, on_accept, NULL) < 0)
        return fputs("register failed\n", stderr), 1;
    printf("listening on 127.0.0.1:%d (backend %s)\n", ntohs(a.sin_port), reactor_backend(r));
    fflush(stdout);
    int rc = reactor_run(r);
    reactor_free(r);
    return rc < 0;
}
