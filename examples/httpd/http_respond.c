/*
 * http_respond.c - reactor-httpd's answers: the response head, the access
 * log, and the routes. / and /json are answered in place; /sleep?ms=N stands
 * for slow work (a disk, a database) and sleeps on the reactor's work pool, so
 * that the loop keeps serving everyone else meanwhile - the origin documents'
 * slow-handler experiment. Its connection waits (requests pipelined behind it
 * stay unread in order) until the job's done callback answers on the loop.
 */
#define _GNU_SOURCE /* clock_gettime, nanosleep, localtime_r with -std=c11 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "http_conn.h"

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 416:
        return "Range Not Satisfiable";
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

/*
 * The Date header (RFC 9110 5.6.7), formatted once per second per thread. It
 * is due again when the wall clock's second turns, which is found from the
 * loop's cached monotonic time: a request costs no clock call (the cached
 * time is the last wait's, so a Date may lag by one loop iteration).
 */
static const char *date_now(struct server *s)
{
    uint64_t now_ms = reactor_now(s->r);
    if (now_ms >= s->date_next_ms) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        strftime(s->date, sizeof s->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        s->date_next_ms = now_ms + 1000u - (uint64_t)ts.tv_nsec / 1000000u;
    }
    return s->date;
}

/*
 * The target as a log field: '"' and '\\' (and any byte that is not visible
 * ASCII, which the parser refuses today) as \xHH, as nginx writes them, so a
 * request cannot end the quoted field early and forge the rest of its line.
 */
static void log_escaped(FILE *f, struct http_str s)
{
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\' || c < 0x21 || c > 0x7e)
            fprintf(f, "\\x%02X", c);
        else
            putc(c, f);
    }
}

/* One line in the Common Log Format on stdout (stdio locks it across threads). */
static void access_log(struct conn *c, const struct http_request *req, int status, size_t sent)
{
    char peer[INET6_ADDRSTRLEN] = "-", when[40];
    struct sockaddr_storage ss = {0};
    socklen_t len = sizeof ss;
    if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == 0) {
        const void *a = ss.ss_family == AF_INET6
                            ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                            : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
        inet_ntop(ss.ss_family, a, peer, sizeof peer);
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S %z", &tm);
    char bytes[24] = "-";
    if (sent)
        snprintf(bytes, sizeof bytes, "%zu", sent);
    if (req) {
        flockfile(stdout); /* one line, even with --threads */
        printf("%s - - [%s] \"%s ", peer, when, http_method_name(req->method));
        log_escaped(stdout, req->target);
        printf(" HTTP/1.%d\" %d %s\n", req->minor, status, bytes);
        funlockfile(stdout);
    } else
        printf("%s - - [%s] \"-\" %d %s\n", peer, when, status, bytes);
}

/* Appends n bytes at *p if they fit before end; returns 0 if they did not. */
static int put(char **p, const char *end, const char *s, size_t n)
{
    if ((size_t)(end - *p) < n)
        return 0;
    memcpy(*p, s, n);
    *p += n;
    return 1;
}

static int put_str(char **p, const char *end, const char *s)
{
    return put(p, end, s, strlen(s));
}

static int put_dec(char **p, const char *end, size_t v)
{
    char digits[24], *d = digits + sizeof digits;
    do
        *--d = (char)('0' + v % 10);
    while (v /= 10);
    return put(p, end, d, (size_t)(digits + sizeof digits - d));
}

/*
 * Appends a whole response head, and the body unless it is HEAD's or `body`
 * is NULL (a file follows, or a 304). `req` is NULL for errors found before a
 * request could be parsed; those, and a draining server, close the connection.
 * The head is put together by hand: snprintf was half of a keep-alive
 * request's instructions (callgrind, docs/performance.md).
 */
void http_respond(struct conn *c, const struct http_request *req, int status, const char *type,
                  const char *body, size_t len, const char *extra_headers)
{
    c->s->requests++;
    int keep = req && req->keep_alive && !c->s->draining;
    if (!keep) {
        c->close_after = c->answer_closes = 1;
        c->client_closes |= req && !req->keep_alive;
    }
    const char *connection = !keep                    ? "Connection: close\r\n"
                             : req && req->minor == 0 ? "Connection: keep-alive\r\n"
                                                      : "";
    int with_body = body && !(req && req->method == HTTP_HEAD);
    char buf[512], *p = buf, *end = buf + sizeof buf;
    char code[3] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
                    (char)('0' + status % 10)};
#define PUT_LIT(lit) put(&p, end, lit, sizeof lit - 1)
    int ok = PUT_LIT("HTTP/1.1 ") && put(&p, end, code, 3) && PUT_LIT(" ") &&
             put_str(&p, end, status_text(status)) &&
             PUT_LIT("\r\nServer: reactor-httpd\r\nDate: ") && put_str(&p, end, date_now(c->s)) &&
             PUT_LIT("\r\nContent-Type: ") && put_str(&p, end, type) &&
             PUT_LIT("\r\nContent-Length: ") && put_dec(&p, end, len) && PUT_LIT("\r\n") &&
             put_str(&p, end, connection) && put_str(&p, end, extra_headers ? extra_headers : "") &&
             PUT_LIT("\r\n");
#undef PUT_LIT
    if (!ok) {
        c->close_after = 1;
        return;
    }
    /* A small body goes with its head: one append. */
    if (with_body && put(&p, end, body, len))
        with_body = 0;
    http_out_append(c, buf, (size_t)(p - buf));
    if (with_body)
        http_out_append(c, body, len);
    if (c->s->opt->access_log) {
        int file_follows =
            !body && (status == 200 || status == 206) && !(req && req->method == HTTP_HEAD);
        int sent_body = body && !(req && req->method == HTTP_HEAD);
        access_log(c, req, status, sent_body || file_follows ? len : 0);
    }
}

void http_respond_error(struct conn *c, int status)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, status_text(status));
    http_respond(c, NULL, status, "text/plain; charset=utf-8", body, (size_t)n, NULL);
}

/* ---- /sleep ----------------------------------------------------------------------- */

struct sleep_job {
    struct conn *c;
    atomic_int *abandon; /* the server's: set when it must exit now */
    atomic_int gone;     /* the client hung up: stop at the next slice */
    int64_t id;          /* for reactor_work_cancel */
    size_t len;          /* the request's bytes, at the front of the connection's input */
    int ms, minor, keep_alive, head;
    int counted; /* in s->jobs */
};

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* On a pool thread: a blocking sleep, in slices so that a server exit need not wait for it.
 * Counted in nanoseconds: whole milliseconds, truncated at both ends, let it
 * end up to 1 ms early, and a client timing two sleeps in a row saw it. */
static void sleep_work(void *data)
{
    struct sleep_job *j = data;
    uint64_t end = monotonic_ns() + (uint64_t)j->ms * 1000000u;
    for (uint64_t now = monotonic_ns();
         now < end && !atomic_load(j->abandon) && !atomic_load(&j->gone); now = monotonic_ns()) {
        uint64_t step = end - now < 50000000u ? end - now : 50000000u;
        struct timespec ts = {0, (long)step};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
}

/* On the loop thread: answer, then let the connection go on with what follows. */
static void sleep_done(reactor_t *r, void *data, int status)
{
    struct sleep_job *j = data;
    struct conn *c = j->c;
    (void)r;
    if (j->counted)
        c->s->jobs--;
    if (!c->dead) {
        struct http_request req = {.method = j->head ? HTTP_HEAD : HTTP_GET,
                                   .target = {"/sleep", 6},
                                   .minor = j->minor,
                                   .keep_alive = j->keep_alive};
        char body[48];
        int n = snprintf(body, sizeof body, "slept %d ms\n", j->ms);
        if (status == 0)
            http_respond(c, &req, 200, "text/plain; charset=utf-8", body, (size_t)n, NULL);
        else
            http_respond(c, &req, 503, "text/plain; charset=utf-8", "cancelled\n", 10, NULL);
    }
    http_conn_job_done(c, j->len);
    free(j);
}

void http_sleep_job_free(struct sleep_job *j)
{
    free(j);
}

/* A queued job is taken off the queue (its done runs with -ECANCELED); a running one
 * sees `gone` within a slice. Either way the cap counts it no longer. */
void http_sleep_job_abandon(struct server *s, struct sleep_job *j)
{
    atomic_store(&j->gone, 1);
    reactor_work_cancel(s->r, j->id);
    if (j->counted)
        s->jobs--;
    j->counted = 0;
}

/* ms=N anywhere in the query, parsed within its bounds (the buffer has no NUL), capped. */
static int sleep_ms(struct http_str q)
{
    long ms = 0;
    for (size_t i = 0; i + 3 <= q.n; i++) {
        if ((i == 0 || q.p[i - 1] == '&') && memcmp(q.p + i, "ms=", 3) == 0) {
            for (size_t k = i + 3; k < q.n && q.p[k] >= '0' && q.p[k] <= '9'; k++)
                if (ms <= SLEEP_CAP_MS)
                    ms = ms * 10 + (q.p[k] - '0');
            break;
        }
    }
    return ms > SLEEP_CAP_MS ? SLEEP_CAP_MS : (int)ms;
}

static int route_sleep(struct conn *c, const struct http_request *req, size_t len)
{
    if (c->s->jobs >= c->s->opt->max_jobs) {
        http_respond(c, req, 503, "text/plain; charset=utf-8", "busy\n", 5, "Retry-After: 1\r\n");
        return 1;
    }
    struct sleep_job *j = calloc(1, sizeof *j);
    if (!j) {
        http_respond(c, req, 500, "text/plain; charset=utf-8", "no memory\n", 10, NULL);
        return 1;
    }
    *j = (struct sleep_job){.c = c,
                            .abandon = &c->s->abandon,
                            .len = len,
                            .ms = sleep_ms(req->query),
                            .minor = req->minor,
                            .keep_alive = req->keep_alive,
                            .head = req->method == HTTP_HEAD,
                            .counted = 1};
    atomic_init(&j->gone, 0);
    j->id = reactor_queue_work(c->s->r, sleep_work, sleep_done, j);
    if (j->id < 0) {
        free(j);
        http_respond(c, req, 503, "text/plain; charset=utf-8", "busy\n", 5, "Retry-After: 1\r\n");
        return 1;
    }
    c->s->jobs++;
    c->job = j;
    return 0;
}

/* ---- routes ------------------------------------------------------------------------- */

static int path_is(struct http_str p, const char *s)
{
    return p.n == strlen(s) && memcmp(p.p, s, p.n) == 0;
}

int http_route(struct conn *c, const struct http_request *req, size_t len)
{
    static const char hello[] = "Hello, world!";
    static const char json[] = "{\"code\":200,\"msg\":\"success\"}";
    if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
        http_respond(c, req, 405, "text/plain; charset=utf-8", "405 Method Not Allowed\n", 23,
                     "Allow: GET, HEAD\r\n");
        return 1;
    }
    int demo = c->s->opt->demo;
    if (path_is(req->path, "/") && !c->s->opt->root)
        http_respond(c, req, 200, "text/plain", hello, sizeof hello - 1, NULL);
    else if (demo && path_is(req->path, "/json"))
        http_respond(c, req, 200, "application/json", json, sizeof json - 1, NULL);
    else if (demo && path_is(req->path, "/sleep"))
        return route_sleep(c, req, len);
    else if (c->s->opt->root)
        http_serve_file(c, req);
    else
        http_respond(c, req, 404, "text/plain; charset=utf-8", "404 Not Found\n", 14, NULL);
    return 1;
}
