/*
 * http_conn.h - what reactor-httpd's files share: the options, the
 * per-thread server, one connection, and the calls between the files.
 *
 *   http_server.c   options, listening sockets, threads, signals, shutdown
 *   http_accept.c   accepting, EMFILE, --max-conns
 *   http_conn.c     reading, parsing, answering, writing, timeouts
 *   http_respond.c  response heads, the routes, /sleep on the work pool
 *   http_static.c   files under --root
 *   http_resolve.c  opening a name beneath the root's descriptor
 */
#ifndef HTTP_CONN_H
#define HTTP_CONN_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "http_parser.h"
#include "reactor.h"

#define SLEEP_CAP_MS 10000 /* /sleep?ms=N is capped to this */

struct options {
    const char *backend, *bind, *root;
    const char *user, *group; /* --user, --group: who to become after binding */
    int port, threads, quiet, access_log, max_conns, allow_root;
    int demo;     /* --demo: the /json and /sleep routes */
    int max_jobs; /* --max-jobs: /sleep jobs queued or running per thread */
    int max_body; /* --max-body: bytes; at most 1 GiB, so a body's rest fits conn's discard */
    int header_timeout_ms, idle_timeout_ms, send_timeout_ms, drain_timeout_ms;
    int root_fd;      /* --root's directory, opened once at start; -1 without --root */
    int root_openat2; /* names are resolved with openat2 (else by http_resolve.c's walk) */
};

struct conn;

/*
 * What a connection's deadline is for; each has its own list in the server.
 * Every connection in a list got the same timeout, so a list is in deadline
 * order by construction: appending at the tail keeps it sorted.
 */
enum {
    DL_REQUEST, /* a request is arriving (or the first one is awaited): header timeout */
    DL_IDLE,    /* waiting for the next request: idle timeout */
    DL_SEND,    /* waiting for the client to read our answers: send timeout */
    DL_LINGER,  /* our end is shut, waiting for the client's: a short bound */
    DL_WORK,    /* a /sleep job runs: no deadline (the job's length is capped) */
    DL_KINDS
};

struct conn_list {
    struct conn *head, *tail;
};

/* One reactor, one listening socket, its connections. One per thread. */
struct server {
    const struct options *opt;
    reactor_t *r;
    int lfd, reserve_fd; /* reserve_fd: a spare descriptor given up on EMFILE */
    int nconns, draining;
    int jobs; /* /sleep jobs queued or running whose client is still there */
    /* Owned by this server's thread; SIGUSR1 reads them there (http_server.c). */
    unsigned long long accepted, requests, refused, shed;
    atomic_int abandon;               /* at the drain deadline: /sleep jobs stop early */
    struct conn_list lists[DL_KINDS]; /* every open connection is in exactly one */
    struct conn_list zombies;         /* closed while their /sleep job runs */
    int64_t timer;                    /* the one timer for every connection's deadline */
    uint64_t timer_at;                /* when it fires; <= every list head's deadline */
    char *spare[16];                  /* free 4 KiB buffers, so a request costs no malloc */
    int nspare;
    uint64_t date_next_ms; /* reactor_now() when `date` is due again (0: now) */
    char date[40];         /* the Date header value, rebuilt when the second changes */
};

struct sleep_job;

/* Small on purpose: an idle keep-alive connection costs this struct and no buffer. */
struct conn {
    struct server *s;
    struct conn *prev, *next; /* in s->lists[deadline_kind], or s->zombies */
    char *in;                 /* received, not yet answered; released while idle */
    char *out;                /* answers not yet written; released while idle */
    struct sleep_job *job;    /* the /sleep job on the work pool, or NULL */
    uint64_t deadline;        /* reactor_now() ms when the connection times out */
    off_t file_off, file_end; /* the part of file_fd still to send */
    uint32_t in_len, in_cap;
    uint32_t discard;          /* bytes still to come of an answered request's body: dropped */
    struct http_chunked chunk; /* an answered request's chunked body, while `chunking` */
    uint32_t out_len, out_off, out_cap;
    int fd;
    int file_fd;                /* a static file being sent after `out`, or -1 */
    unsigned registered : 1;    /* with the reactor (maybe paused) */
    unsigned interest : 2;      /* registered REACTOR_READ | REACTOR_WRITE; 0 = paused or none */
    unsigned deadline_kind : 3; /* DL_* */
    unsigned dead : 1;          /* closed while the job runs */
    unsigned partial : 1;       /* `in` holds one incomplete request, already parsed once */
    unsigned peer_closed : 1;   /* read() saw end of file */
    unsigned close_after : 1;   /* close once the output is written */
    unsigned answer_closes : 1; /* an answer said Connection: close: protect it when closing */
    unsigned client_closes : 1; /* ... because the client asked: it sends nothing after */
    unsigned drained : 1;       /* the last recv() was short: nothing was left unread then */
    unsigned sent : 1;          /* something was sent: it may still be unacknowledged */
    unsigned nodelay : 1;       /* TCP_NODELAY is set */
    unsigned lingering : 1;     /* our end is shut: reading until the client's end */
    unsigned chunking : 1;      /* the bytes that come are a chunked body's: dropped */
};

/* http_accept.c */
void http_on_accept(reactor_t *r, int lfd, unsigned events, void *data);

/* http_conn.c */
void http_conn_open(struct server *s, int fd);
/* At SIGINT/SIGTERM: idle connections close now, the others after their answers. */
void http_conns_drain(struct server *s);
/* At exit: closes every connection; those with a job become zombies. */
void http_conns_close_all(struct server *s);
void http_conn_close(struct conn *c);
/* After reactor_free(): frees the connections whose job's done never ran. */
void http_zombies_free(struct server *s);
/* Writes what it can, then registers what the connection waits for (or closes it). */
void http_conn_update(struct conn *c);
/* Answers the complete requests in `in`; called again when a /sleep finishes. */
void http_conn_process(struct conn *c);
/* Appends to the output; on allocation failure the connection will close. */
void http_out_append(struct conn *c, const void *p, size_t n);
/* The /sleep job that held the connection's first `len` bytes is over. */
void http_conn_job_done(struct conn *c, size_t len);

/* http_respond.c */
void http_respond(struct conn *c, const struct http_request *req, int status, const char *type,
                  const char *body, size_t len, const char *extra_headers);
void http_respond_error(struct conn *c, int status);
/* Answers one request; returns 0 when it went to the work pool (the connection waits). */
int http_route(struct conn *c, const struct http_request *req, size_t consumed);
/* Frees a connection's job after reactor_free(), which never runs its done. */
void http_sleep_job_free(struct sleep_job *j);
/* The job's client is gone: its slot is free now, and the job stops soon. */
void http_sleep_job_abandon(struct server *s, struct sleep_job *j);

/* http_cond.c */
struct stat;
/* A file's answer after the request's preconditions and Range (RFC 9110 13, 14). */
struct http_file_answer {
    int status;        /* 200, 206, 304, 412 or 416 */
    off_t start, end;  /* the bytes of the file to send: [start, end) */
    char headers[192]; /* ETag, Last-Modified, Accept-Ranges[, Content-Range] lines */
};
void http_file_answer(const struct http_request *req, const struct stat *st,
                      struct http_file_answer *a);
/* An HTTP-date in any of its three forms (RFC 9110 5.6.7); (time_t)-1 if none. */
time_t http_parse_date(struct http_str v);

/* http_static.c */
void http_serve_file(struct conn *c, const struct http_request *req);
/* Sends more of c->file_fd: 0 (done, or the socket is full) or -1 (close). */
int http_send_file_chunk(struct conn *c);

/* http_resolve.c */
/* 1 if openat2(RESOLVE_BENEATH) works here, else a negative errno (-ENOSYS without it). */
int http_openat2_works(int root_fd);
/* Opens path (relative to root_fd; leading slashes skipped) with open(2)'s flags, every
 * component resolved beneath root_fd (see the file's comment); a descriptor or -errno. */
int http_open_beneath(int root_fd, int use_openat2, const char *path, int flags);

#endif /* HTTP_CONN_H */
