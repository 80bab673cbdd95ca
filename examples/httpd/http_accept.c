/*
 * http_accept.c - taking new connections for reactor-httpd without ever
 * spinning: the listening socket is level-triggered, so any accept failure
 * that leaves the connection in the backlog would wake us again at once.
 * Out of descriptors (EMFILE) we shed the connection with a spare descriptor
 * kept for that moment; out of other resources we stop listening briefly.
 */
#define _GNU_SOURCE /* accept4(2) */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_conn.h"

#define ACCEPT_BATCH 64     /* accepts per event: established connections get their turn */
#define ACCEPT_PAUSE_MS 100 /* when accept fails for lack of resources */

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SIGPIPE is ignored process-wide instead (main) */
#endif

static void on_accept_resume(reactor_t *r, int64_t id, void *data)
{
    struct server *s = data;
    (void)id;
    if (s->lfd >= 0 && reactor_register(r, s->lfd, REACTOR_READ, http_on_accept, s) < 0)
        reactor_timer_add(r, ACCEPT_PAUSE_MS, 0, on_accept_resume, s);
}

static void accept_pause(struct server *s)
{
    reactor_unregister(s->r, s->lfd);
    reactor_timer_add(s->r, ACCEPT_PAUSE_MS, 0, on_accept_resume, s);
}

/*
 * Out of descriptors (EMFILE): give up the spare one, accept the waiting
 * connection and close it at once (the client sees a clean close instead of
 * hanging in the backlog), then take the spare back. If the spare is gone
 * (another thread took the number), pause accepting instead.
 */
static void shed_one(struct server *s)
{
    if (s->reserve_fd < 0) {
        accept_pause(s);
        return;
    }
    close(s->reserve_fd);
    int fd = accept(s->lfd, NULL, NULL);
    if (fd >= 0) {
        close(fd);
        s->shed++;
    }
    s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Over --max-conns: a best-effort 503 (one non-blocking send), then close. */
static void refuse(int fd)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n";
    ssize_t n = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL);
    (void)n;
    close(fd);
}

/* accept4(2) where it exists (Linux, the BSDs); accept and fcntl elsewhere (macOS). */
static int accept_nonblocking(int lfd)
{
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    return accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int fd = accept(lfd, NULL, NULL);
    if (fd >= 0 && (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
                    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)) {
        close(fd);
        errno = ECONNABORTED; /* as if the client had gone: the loop goes on */
        return -1;
    }
    return fd;
#endif
}

void http_on_accept(reactor_t *r, int lfd, unsigned events, void *data)
{
    struct server *s = data;
    (void)r, (void)events;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept_nonblocking(lfd);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE)
                shed_one(s);
            else if (errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                accept_pause(s);
            return; /* EAGAIN: the backlog is empty */
        }
        if (s->nconns >= s->opt->max_conns || s->draining) {
            refuse(fd);
            s->refused++;
            continue;
        }
        http_conn_open(s, fd);
        s->accepted++;
    }
}
