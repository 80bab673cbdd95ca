/*
 * http_server.c - reactor-httpd, an HTTP/1.1 server on libreactor.
 *
 * One thread serves thousands of connections because no connection ever
 * makes it wait: sockets are non-blocking, each event does what it can and
 * returns, and the one slow route (/sleep) runs on the work pool. Pipelined
 * requests are parsed in a batch and answered with one write. A connection
 * whose client stops reading stops being read (back-pressure); an idle one
 * holds no buffers.
 *
 *   reactor-httpd [--backend NAME] [--bind ADDR] [--port N] [--root DIR]
 *                 [--threads N] [--max-conns N] [--header-timeout-ms N]
 *                 [--idle-timeout-ms N] [--access-log] [--quiet]
 */
#define _GNU_SOURCE /* accept4(2) */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_conn.h"

#define OUT_HIGH_WATER (256 * 1024) /* stop reading a client that does not read */
#define IN_MAX (HTTP_MAX_HEADER_BYTES + HTTP_MAX_BODY + 4096)

static void conn_update(struct conn *c);
static void conn_process(struct conn *c);
static void http_conn_event(reactor_t *r, int fd, unsigned events, void *data);

/* ---- buffers ---------------------------------------------------------------- */

static int buf_reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    char *p = realloc(*buf, n);
    if (!p)
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

static void out_append(struct conn *c, const void *p, size_t n)
{
    if (buf_reserve(&c->out, &c->out_cap, c->out_len + n) < 0) {
        c->close_after = 1;
        return;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

static const char *date_now(struct server *s)
{
    time_t now = time(NULL);
    if (now != s->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(s->date, sizeof s->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        s->date_sec = now;
    }
    return s->date;
}

void http_log(struct conn *c, const struct http_request *req, int status, size_t len)
{
    if (!c->s->opt->access_log)
        return;
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S %z", &tm);
    static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"};
    if (req)
        printf("%s - - [%s] \"%s %.*s HTTP/1.%d\" %d %zu\n", c->peer, when, names[req->method],
               (int)req->target.n, req->target.p, req->minor, status, len);
    else
        printf("%s - - [%s] \"-\" %d %zu\n", c->peer, when, status, len);
}

/*
 * Appends a complete response. `req` may be NULL for errors found before a
 * request could be parsed; those close the connection.
 */
void http_respond(struct conn *c, const struct http_request *req, int status, const char *type,
                  const char *body, size_t len, const char *extra_headers)
{
    int keep = req && req->keep_alive && !c->s->draining;
    if (!keep)
        c->close_after = 1;
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.%d %d %s\r\nServer: reactor-httpd\r\nDate: %s\r\n"
                     "Content-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
                     req ? req->minor : 1, status, status_text(status), date_now(c->s), type, len,
                     keep ? (req->minor == 0 ? "Connection: keep-alive\r\n" : "")
                          : "Connection: close\r\n",
                     extra_headers ? extra_headers : "");
    out_append(c, head, (size_t)n);
    if (body && !(req && req->method == HTTP_HEAD))
        out_append(c, body, len);
    http_log(c, req, status, len);
}

static void respond_error(struct conn *c, int status)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, status_text(status));
    http_respond(c, NULL, status, "text/plain", body, (size_t)n, NULL);
}

/* ---- routes ------------------------------------------------------------------ */

struct sleep_job {
    struct conn *c;
    struct http_request req; /* its strings re-pointed at static text: `in` may move */
    size_t consumed;         /* bytes of `in` up to the end of this request */
    int ms;
};

static void sleep_work(void *data)
{
    struct sleep_job *j = data;
    struct timespec ts = {j->ms / 1000, (long)(j->ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void conn_free(struct conn *c);

static void sleep_done(reactor_t *r, void *data, int status)
{
    struct sleep_job *j = data;
    struct conn *c = j->c;
    (void)r;
    c->busy = 0;
    if (c->dead) {
        conn_free(c);
    } else {
        char body[64];
        int n = snprintf(body, sizeof body, "slept %d ms\n", j->ms);
        if (status == 0)
            http_respond(c, &j->req, 200, "text/plain", body, (size_t)n, NULL);
        else
            http_respond(c, NULL, 503, "text/plain", "cancelled\n", 10, NULL);
        memmove(c->in, c->in + j->consumed, c->in_len - j->consumed);
        c->in_len -= j->consumed;
        conn_process(c);
    }
    free(j);
}

/*
 * Answers one request. Returns 0 when it went to the work pool: then the
 * request's bytes (up to `consumed`) stay in `in` until its done runs.
 */
static int route(struct conn *c, const struct http_request *req, size_t consumed)
{
    static const char hello[] = "Hello, world!";
    static const char json[] = "{\"code\":200,\"msg\":\"success\"}";
    if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
        http_respond(c, req, 501, "text/plain", "501 Not Implemented\n", 20, NULL);
        return 1;
    }
    if (http_str_ieq(req->path, "/")) {
        http_respond(c, req, 200, "text/plain", hello, sizeof hello - 1, NULL);
    } else if (http_str_ieq(req->path, "/json")) {
        http_respond(c, req, 200, "application/json", json, sizeof json - 1, NULL);
    } else if (http_str_ieq(req->path, "/sleep")) {
        struct sleep_job *j = calloc(1, sizeof *j);
        /* ms=N from the query, parsed within its bounds: `in` is not NUL-terminated. */
        long ms = 0;
        if (req->query.n > 3 && memcmp(req->query.p, "ms=", 3) == 0)
            for (size_t k = 3; k < req->query.n && req->query.p[k] >= '0' && req->query.p[k] <= '9';
                 k++)
                ms = ms < 1000000 ? ms * 10 + (req->query.p[k] - '0') : ms;
        if (!j) {
            http_respond(c, req, 500, "text/plain", "no memory\n", 10, NULL);
            return 1;
        }
        j->c = c;
        j->req = *req;
        j->req.target = j->req.path = (struct http_str){"/sleep", 6};
        j->req.query = j->req.body = (struct http_str){"", 0};
        j->req.nheaders = 0;
        j->consumed = consumed;
        j->ms = ms > c->s->opt->sleep_cap_ms ? c->s->opt->sleep_cap_ms : (int)ms;
        if (reactor_queue_work(c->s->r, sleep_work, sleep_done, j) < 0) {
            free(j);
            http_respond(c, req, 503, "text/plain", "busy\n", 5, NULL);
            return 1;
        }
        c->busy = 1;
        return 0;
    } else if (c->s->opt->root) {
        http_serve_file(c, req);
    } else {
        http_respond(c, req, 404, "text/plain", "404 Not Found\n", 14, NULL);
    }
    return 1;
}

/* ---- connections --------------------------------------------------------------- */

static void on_conn_timeout(reactor_t *r, int64_t id, void *data);

static void conn_set_timer(struct conn *c)
{
    struct server *s = c->s;
    if (c->timer)
        reactor_timer_cancel(s->r, c->timer);
    int ms = c->in_len ? s->opt->header_timeout_ms : s->opt->idle_timeout_ms;
    int64_t id = reactor_timer_add(s->r, (uint64_t)ms, 0, on_conn_timeout, c);
    c->timer = id > 0 ? id : 0;
}

static void conn_free(struct conn *c)
{
    free(c->in);
    free(c->out);
    free(c);
}

static void conn_close(struct conn *c)
{
    struct server *s = c->s;
    if (c->interest)
        reactor_unregister(s->r, c->fd);
    if (c->timer)
        reactor_timer_cancel(s->r, c->timer);
    close(c->fd);
    if (c->file_fd >= 0)
        close(c->file_fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    if (c->busy)
        c->dead = 1; /* the /sleep job still points here: its done frees it */
    else
        conn_free(c);
    if (s->draining && s->nconns == 0)
        reactor_stop(s->r);
}

static void on_conn_timeout(reactor_t *r, int64_t id, void *data)
{
    struct conn *c = data;
    (void)r, (void)id;
    c->timer = 0;
    if (c->busy)
        return;
    if (c->in_len && !c->out_len) { /* a request started but never finished */
        respond_error(c, 408);
        c->in_len = 0;
        conn_update(c);
        return;
    }
    conn_close(c);
}

/* Writes what is buffered: responses first, then a file's bytes. Returns -1 if closed. */
static int conn_flush(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR)
                continue;
            conn_close(c);
            return -1;
        }
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    if (c->file_fd >= 0) {
        int rc = http_send_file_chunk(c);
        if (rc < 0) {
            conn_close(c);
            return -1;
        }
    }
    return 0;
}

/* Registers exactly what the connection is waiting for, or closes it. */
static void conn_update(struct conn *c)
{
    if (conn_flush(c) < 0)
        return;
    int pending_out = c->out_len > c->out_off || c->file_fd >= 0;
    if (!pending_out && c->close_after) {
        conn_close(c);
        return;
    }
    if (!pending_out && c->peer_closed && !c->busy) {
        conn_close(c);
        return;
    }
    unsigned want = 0;
    if (!c->busy && !c->peer_closed && !c->close_after && c->out_len < OUT_HIGH_WATER)
        want |= REACTOR_READ;
    if (pending_out)
        want |= REACTOR_WRITE;
    if (!pending_out && c->in_len == 0 && c->in) { /* idle: hold no buffers */
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    if (want == c->interest)
        return;
    int rc = !want         ? reactor_unregister(c->s->r, c->fd)
             : c->interest ? reactor_modify(c->s->r, c->fd, want, http_conn_event, c)
                           : reactor_register(c->s->r, c->fd, want, http_conn_event, c);
    if (rc < 0) {
        conn_close(c);
        return;
    }
    c->interest = want;
}

/*
 * Answers every complete request in the buffer, in order, into one output
 * buffer (written with one send). Stops at a /sleep, whose done continues.
 */
static void conn_process(struct conn *c)
{
    size_t off = 0;
    int deferred = 0;
    while (!c->busy && c->file_fd < 0 && !c->close_after && off < c->in_len) {
        struct http_request req;
        long n = http_parse_request(c->in + off, c->in_len - off, &req);
        if (n == 0)
            break;
        if (n < 0) {
            respond_error(c, (int)-n);
            off = c->in_len;
            break;
        }
        if (!route(c, &req, off + (size_t)n)) {
            deferred = 1;
            break;
        }
        off += (size_t)n;
    }
    if (off && !deferred) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    if (!c->busy)
        conn_set_timer(c);
    conn_update(c);
}

static void http_conn_event(reactor_t *r, int fd, unsigned events, void *data)
{
    struct conn *c = data;
    (void)r;
    if (events & REACTOR_READ) {
        for (;;) {
            if (c->in_len == IN_MAX) {
                respond_error(c, 413);
                c->in_len = 0;
                break;
            }
            if (buf_reserve(&c->in, &c->in_cap, c->in_len + 4096) < 0) {
                conn_close(c);
                return;
            }
            size_t room = c->in_cap - c->in_len;
            if (room > IN_MAX - c->in_len)
                room = IN_MAX - c->in_len;
            ssize_t n = recv(fd, c->in + c->in_len, room, 0);
            if (n > 0) {
                c->in_len += (size_t)n;
                if ((size_t)n < room)
                    break;
                continue;
            }
            if (n == 0)
                c->peer_closed = 1;
            else if (errno == EINTR)
                continue;
            else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                conn_close(c);
                return;
            }
            break;
        }
        conn_process(c);
        return;
    }
    /* Writable: once a file body is out, requests pipelined behind it can go on. */
    if (conn_flush(c) < 0)
        return;
    if (c->file_fd < 0 && c->in_len && !c->busy && !c->close_after)
        conn_process(c);
    else
        conn_update(c);
}

/* ---- accepting ------------------------------------------------------------------- */

static void conn_open(struct server *s, int fd, const struct sockaddr_storage *ss)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->s = s;
    c->fd = fd;
    c->file_fd = -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, c->peer, sizeof c->peer);
    else
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, c->peer, sizeof c->peer);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    conn_set_timer(c);
    conn_update(c);
}

/*
 * Out of fds (EMFILE): the pending connection stays in the backlog and the
 * listener stays readable, so a naive loop spins at 100% CPU. Free the spare
 * fd kept for this moment, accept the connection, close it (the client sees a
 * clean close instead of a hang), and take the spare back.
 */
static void shed_one(struct server *s)
{
    if (s->reserve_fd < 0)
        return;
    close(s->reserve_fd);
    int fd = accept(s->lfd, NULL, NULL);
    if (fd >= 0)
        close(fd);
    s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_accept(reactor_t *r, int lfd, unsigned events, void *data)
{
    struct server *s = data;
    (void)r, (void)events;
    for (int i = 0; i < 256; i++) { /* bounded: let established connections run too */
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                shed_one(s);
            else if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return;
        }
        if (s->nconns >= s->opt->max_conns) {
            close(fd);
            continue;
        }
        conn_open(s, fd, &ss);
    }
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void on_drain_deadline(reactor_t *r, int64_t id, void *data)
{
    (void)id, (void)data;
    reactor_stop(r);
}

/* Stop accepting, let in-flight responses finish, close idle connections. */
static void server_drain(reactor_t *r, void *data)
{
    struct server *s = data;
    if (s->draining)
        return;
    s->draining = 1;
    reactor_unregister(r, s->lfd);
    close(s->lfd);
    s->lfd = -1;
    for (struct conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        c->close_after = 1;
        if (!c->busy)
            conn_update(c);
    }
    if (s->nconns == 0)
        reactor_stop(r);
    else
        s->drain_timer = reactor_timer_add(r, 5000, 0, on_drain_deadline, s);
}

static struct server *servers;
static int nservers;

static void on_signal(reactor_t *r, int signo, void *data)
{
    (void)signo, (void)data;
    for (int i = 0; i < nservers; i++) {
        if (servers[i].r == r)
            server_drain(r, &servers[i]);
        else
            reactor_post(servers[i].r, server_drain, &servers[i]);
    }
}

static int listen_on(const struct options *opt)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    if (inet_pton(AF_INET6, opt->bind, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)opt->port);
        len = sizeof *a6;
    } else if (inet_pton(AF_INET, opt->bind, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)opt->port);
        len = sizeof *a4;
    } else {
        fprintf(stderr, "reactor-httpd: bad --bind address %s\n", opt->bind);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (opt->threads > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) ||
        bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0) {
        perror("reactor-httpd: listen");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int server_init(struct server *s, const struct options *opt, int lfd)
{
    memset(s, 0, sizeof *s);
    s->opt = opt;
    s->lfd = lfd;
    s->r = reactor_new(opt->backend);
    if (!s->r) {
        fprintf(stderr, "reactor-httpd: backend %s: %s\n", opt->backend ? opt->backend : "(best)",
                reactor_strerror(errno));
        return -1;
    }
    s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    /* /sleep stands for slow work (disk, a database): give it more threads than cores. */
    reactor_set_threadpool_size(s->r, 16);
    return reactor_register(s->r, lfd, REACTOR_READ, on_accept, s);
}

static void server_fini(struct server *s)
{
    while (s->conns)
        conn_close(s->conns);
    reactor_free(s->r); /* waits for /sleep jobs still running; their done does not run */
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->reserve_fd >= 0)
        close(s->reserve_fd);
}

static void *thread_main(void *arg)
{
    struct server *s = arg;
    reactor_run(s->r);
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: reactor-httpd [--backend NAME] [--bind ADDR] [--port N] [--root DIR]\n"
                    "         [--threads N] [--max-conns N] [--header-timeout-ms N]\n"
                    "         [--idle-timeout-ms N] [--access-log] [--quiet]\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct options opt = {.bind = "127.0.0.1",
                          .port = 8080,
                          .threads = 1,
                          .max_conns = 10000,
                          .header_timeout_ms = 10000,
                          .idle_timeout_ms = 30000,
                          .sleep_cap_ms = 10000};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quiet"))
            opt.quiet = 1;
        else if (!strcmp(a, "--access-log"))
            opt.access_log = 1;
        else if (!v)
            return usage();
        else if (!strcmp(a, "--backend"))
            opt.backend = v, i++;
        else if (!strcmp(a, "--bind"))
            opt.bind = v, i++;
        else if (!strcmp(a, "--root"))
            opt.root = v, i++;
        else if (!strcmp(a, "--port"))
            opt.port = atoi(v), i++;
        else if (!strcmp(a, "--threads"))
            opt.threads = atoi(v), i++;
        else if (!strcmp(a, "--max-conns"))
            opt.max_conns = atoi(v), i++;
        else if (!strcmp(a, "--header-timeout-ms"))
            opt.header_timeout_ms = atoi(v), i++;
        else if (!strcmp(a, "--idle-timeout-ms"))
            opt.idle_timeout_ms = atoi(v), i++;
        else
            return usage();
    }
    if (opt.threads < 1 || opt.threads > 64 || opt.port < 0 || opt.port > 65535 ||
        opt.max_conns < 1 || opt.header_timeout_ms < 1 || opt.idle_timeout_ms < 1)
        return usage();
    if (opt.root && !realpath(opt.root, opt.root_real)) {
        perror("reactor-httpd: --root");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    servers = calloc((size_t)opt.threads, sizeof *servers);
    nservers = opt.threads;
    for (int i = 0; i < opt.threads; i++) {
        int lfd = listen_on(&opt);
        if (lfd < 0 || server_init(&servers[i], &opt, lfd) < 0)
            return 1;
        if (i == 0 && opt.port == 0) { /* the others share the port the kernel picked */
            struct sockaddr_storage ss;
            socklen_t len = sizeof ss;
            getsockname(lfd, (struct sockaddr *)&ss, &len);
            opt.port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                      : ((struct sockaddr_in *)&ss)->sin_port);
        }
    }
    reactor_signal_add(servers[0].r, SIGINT, on_signal, NULL);
    reactor_signal_add(servers[0].r, SIGTERM, on_signal, NULL);
    int v6 = strchr(opt.bind, ':') != NULL;
    printf("listening on http://%s%s%s:%d/ (backend %s)\n", v6 ? "[" : "", opt.bind, v6 ? "]" : "",
           opt.port, reactor_backend(servers[0].r));
    fflush(stdout);
    if (opt.quiet)
        setvbuf(stdout, NULL, _IOFBF, 1 << 16);

    pthread_t *threads = calloc((size_t)opt.threads, sizeof *threads);
    for (int i = 1; i < opt.threads; i++)
        pthread_create(&threads[i], NULL, thread_main, &servers[i]);
    reactor_run(servers[0].r);
    for (int i = 1; i < opt.threads; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < opt.threads; i++)
        server_fini(&servers[i]);
    free(threads);
    free(servers);
    fflush(stdout);
    return 0;
}
