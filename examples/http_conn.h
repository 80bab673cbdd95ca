/*
 * http_conn.h - what the HTTP example's files share: options, the per-thread
 * server, and one connection.
 */
#ifndef HTTP_CONN_H
#define HTTP_CONN_H

#include <stdint.h>
#include <sys/types.h>

#include "http_parser.h"
#include "reactor.h"

struct options {
    const char *backend, *bind, *root;
    int port, threads, quiet, access_log, max_conns;
    int header_timeout_ms, idle_timeout_ms, sleep_cap_ms;
    char root_real[4096]; /* realpath of root, when given */
};

struct conn;

/* One reactor, one listening socket, its connections. One per thread. */
struct server {
    const struct options *opt;
    reactor_t *r;
    int lfd, reserve_fd;
    int nconns, draining;
    struct conn *conns; /* all open connections, for shutdown */
    int64_t drain_timer;
    time_t date_sec;
    char date[64]; /* the Date header value, cached per second */
};

struct conn {
    struct server *s;
    struct conn *prev, *next;
    int fd;
    unsigned interest; /* what is registered now; 0 = not registered */
    char *in;          /* received, not yet parsed; freed while idle */
    size_t in_len, in_cap;
    char *out; /* responses not yet written */
    size_t out_len, out_off, out_cap;
    int file_fd; /* a static file being sent after `out`, or -1 */
    off_t file_off, file_end;
    int64_t timer;   /* header or idle timeout; 0 = none */
    int busy;        /* a /sleep job is on the work pool: later requests wait */
    int dead;        /* closed while busy: the job's done frees it */
    int peer_closed; /* read() saw EOF */
    int close_after; /* close once `out` is written */
    char peer[64];   /* for the access log */
};

/* http_static.c: answers GET/HEAD for a file under opt->root_real. */
void http_serve_file(struct conn *c, const struct http_request *req);
/* http_static.c: sends more of c->file_fd; 0 (done or would block) or -1 (close). */
int http_send_file_chunk(struct conn *c);

/* http_server.c: response helpers used by http_static.c. */
void http_respond(struct conn *c, const struct http_request *req, int status, const char *type,
                  const char *body, size_t len, const char *extra_headers);
void http_log(struct conn *c, const struct http_request *req, int status, size_t len);

#endif /* HTTP_CONN_H */
