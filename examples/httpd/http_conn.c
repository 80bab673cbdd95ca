/*
 * http_conn.c - one connection's life: read, parse, answer, write, time out,
 * close. (Accepting is in http_accept.c.)
 *
 * Every step does what it can without blocking and returns. Three rules keep
 * each connection's cost bounded whatever the client does:
 *  - Back-pressure: while more than OUT_HIGH_WATER bytes of answers wait for
 *    a client that does not read, or a file is being sent, or a /sleep runs,
 *    the connection is not read and no further pipelined request is parsed.
 *    The kernel's socket buffers then push back on the client.
 *  - A body is never kept: no route reads one, so a request is answered once
 *    its head is in, and its body is dropped as it arrives (`discard`).
 *  - An idle connection holds no buffers: they go back to a small per-server
 *    stock of 4 KiB buffers, so a keep-alive request costs no malloc either.
 *  - Deadlines cost no timer each. A connection sits in the server's list for
 *    its state (see DL_* in http_conn.h); all in one list got the same
 *    timeout, so each list is in deadline order and one timer per server,
 *    armed for the earliest head, serves them all. Activity just moves a
 *    connection to the tail of its list: O(1), no timer call. A request must
 *    arrive whole within the header timeout of its first byte (a client
 *    sending a byte at a time gains nothing); a body must keep coming; a
 *    reader must keep reading; an idle connection is closed.
 */
#define _GNU_SOURCE /* MSG_MORE */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_conn.h"

#define OUT_HIGH_WATER (64 * 1024)
#define BUF_SMALL 4096
#define NO_DEADLINE UINT64_MAX
#define PROCESS_ROUNDS 4 /* batches answered per event before yielding to others */
#define LINGER_MS 2000   /* at most this long to wait for the client's end after ours */
#define LINGER_BYTES (1 << 20)
#define JOB_IN_MAX (64 * 1024) /* read this much behind a running job, then stop */
/* A head, or what is read behind a job, always fits; bodies are never kept. */
#define IN_MAX (HTTP_MAX_HEAD + JOB_IN_MAX + BUF_SMALL)

#ifndef MSG_MORE
#define MSG_MORE 0 /* Linux only: holds the response head for the file that follows */
#endif
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SIGPIPE is ignored process-wide instead (main) */
#endif

static void on_conn_event(reactor_t *r, int fd, unsigned events, void *data);
static int answer_batch(struct conn *c);

/* ---- buffers ------------------------------------------------------------------ */

static int buf_reserve(struct server *s, char **buf, uint32_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    if (!*buf && need <= BUF_SMALL && s->nspare > 0) {
        *buf = s->spare[--s->nspare];
        *cap = BUF_SMALL;
        return 0;
    }
    size_t n = *cap ? *cap : BUF_SMALL;
    while (n < need)
        n *= 2;
    if (n > UINT32_MAX)
        return -1;
    char *p = realloc(*buf, n);
    if (!p)
        return -1;
    *buf = p;
    *cap = (uint32_t)n;
    return 0;
}

static void buf_release(struct server *s, char **buf, uint32_t *cap)
{
    if (*buf && *cap == BUF_SMALL && s->nspare < (int)(sizeof s->spare / sizeof s->spare[0]))
        s->spare[s->nspare++] = *buf;
    else
        free(*buf);
    *buf = NULL;
    *cap = 0;
}

void http_out_append(struct conn *c, const void *p, size_t n)
{
    if (c->out_len + n > OUT_HIGH_WATER * 4 ||
        buf_reserve(c->s, &c->out, &c->out_cap, c->out_len + n) < 0) {
        c->close_after = 1; /* what was queued still goes out; then close */
        return;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += (uint32_t)n;
}

static void in_consume(struct conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= (uint32_t)n;
}

/* ---- states ------------------------------------------------------------------- */

static int output_pending(const struct conn *c)
{
    return c->out_off < c->out_len || c->file_fd >= 0;
}

/* Complete requests wait in `in`, and nothing stops us from answering them. */
static int answerable(const struct conn *c)
{
    return c->in_len && !c->partial && !c->job && !c->close_after && c->file_fd < 0;
}

/* ---- deadlines: one list per state, one timer per server ---------------------------- */

static void list_unlink(struct conn_list *l, struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
}

static void list_append(struct conn_list *l, struct conn *c)
{
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

static void on_deadlines(reactor_t *r, int64_t id, void *data);

static void arm_server_timer(struct server *s, uint64_t at)
{
    if (s->timer)
        reactor_timer_cancel(s->r, s->timer);
    uint64_t now = reactor_now(s->r);
    int64_t id = reactor_timer_add(s->r, at > now ? at - now : 0, 0, on_deadlines, s);
    s->timer = id > 0 ? id : 0;
    s->timer_at = at;
}

static uint64_t timeout_ms(const struct server *s, unsigned kind)
{
    uint64_t idle = (uint64_t)s->opt->idle_timeout_ms;
    switch (kind) {
    case DL_REQUEST:
        return (uint64_t)s->opt->header_timeout_ms;
    case DL_SEND:
        return (uint64_t)s->opt->send_timeout_ms;
    case DL_LINGER:
        return idle < LINGER_MS ? idle : LINGER_MS;
    default:
        return idle;
    }
}

/* Puts the connection at the tail of the list for `kind`, its deadline starting now. */
static void set_deadline(struct conn *c, unsigned kind)
{
    struct server *s = c->s;
    list_unlink(&s->lists[c->deadline_kind], c);
    list_append(&s->lists[kind], c);
    c->deadline_kind = kind;
    c->deadline = kind == DL_WORK ? NO_DEADLINE : reactor_now(s->r) + timeout_ms(s, kind);
    /* Only a deadline earlier than the timer's (a list that was empty) needs it moved. */
    if (c->deadline != NO_DEADLINE && (!s->timer || c->deadline < s->timer_at))
        arm_server_timer(s, c->deadline);
}

static void conn_timed_out(struct conn *c)
{
    if (c->lingering || output_pending(c) || !c->in_len) {
        http_conn_close(c); /* a client that does not read, or one that sent nothing */
        return;
    }
    if (!c->partial) {
        http_conn_process(c); /* requests that arrived whole are answered, never a 408 */
        return;
    }
    http_respond_error(c, 408); /* a request started and never finished */
    c->in_len = 0;
    c->partial = 0;
    http_conn_update(c); /* it leaves DL_REQUEST: written (closed, lingering) or not (DL_SEND) */
}

/* The server's timer: expires every list head that is due, then re-arms for the next. */
static void on_deadlines(reactor_t *r, int64_t id, void *data)
{
    struct server *s = data;
    (void)id;
    s->timer = 0;
    uint64_t now = reactor_now(r), next = NO_DEADLINE;
    for (unsigned k = 0; k < DL_KINDS; k++) {
        /* A timed-out connection leaves this list, or goes to its tail with a
         * later deadline; either way the one after it is still linked. */
        struct conn *after;
        for (struct conn *c = s->lists[k].head; c && c->deadline <= now; c = after) {
            after = c->next;
            conn_timed_out(c);
        }
    }
    for (unsigned k = 0; k < DL_KINDS; k++)
        if (s->lists[k].head && s->lists[k].head->deadline < next)
            next = s->lists[k].head->deadline;
    if (next != NO_DEADLINE && (!s->timer || next < s->timer_at))
        arm_server_timer(s, next);
}

/*
 * Chooses the deadline for the connection's state. The clock restarts when
 * the state changes or on `progress` (a request answered, body bytes
 * received, output written) - never for bytes trickling into a head, so a
 * slow-header client gets its 408 on time. A connection that has sent
 * nothing yet is awaiting its first request, not idle between two: it gets
 * the header timeout, which is what keeps silent connections from holding
 * slots (nginx's client_header_timeout does the same).
 */
static void conn_retime(struct conn *c, int progress)
{
    unsigned kind = c->job                                               ? DL_WORK
                    : output_pending(c)                                  ? DL_SEND
                    : c->in_len || c->discard || c->chunking || !c->sent ? DL_REQUEST
                                                                         : DL_IDLE;
    if (kind != c->deadline_kind || progress)
        set_deadline(c, kind);
}

/* ---- writing -------------------------------------------------------------------- */

/*
 * Answers are whole when they are sent, so Nagle's algorithm can only delay
 * them: Linux holds a small segment back while an earlier small one is
 * unacknowledged, and the client may hold that ACK for its delayed-ACK time
 * (40 ms). That takes two sends: a second answer, the rest of a partial write,
 * or a file after its head. A connection's first send cannot be held, so
 * TCP_NODELAY is set only before a send that could be: a one-answer
 * connection (HTTP/1.0, ab without -k) saves the setsockopt call.
 */
static void conn_before_send(struct conn *c)
{
    if (!c->nodelay && (c->sent || c->file_fd >= 0)) {
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->nodelay = 1;
    }
}

/* Writes the buffered answers, then a file's bytes. Returns -1 if it closed the connection. */
static int conn_flush(struct conn *c, int *progress)
{
    while (c->out_off < c->out_len) {
        conn_before_send(c);
        int more = c->file_fd >= 0 ? MSG_MORE : 0;
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | more);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            http_conn_close(c); /* reset by the client, or any other error */
            return -1;
        }
        c->out_off += (uint32_t)n;
        c->sent = 1;
        *progress = 1;
    }
    c->out_off = c->out_len = 0;
    if (c->file_fd >= 0) {
        conn_before_send(c);
        off_t before = c->file_off;
        if (http_send_file_chunk(c) < 0) {
            http_conn_close(c);
            return -1;
        }
        *progress |= c->file_off != before;
    }
    return 0;
}

static int conn_set_interest(struct conn *c, unsigned want)
{
    if (want == c->interest)
        return 0;
    /* Waiting for nothing (a job, say) is a pause: the fd stays registered, and
     * a pause undone before the next wait costs no kernel call. */
    int rc = c->registered ? reactor_modify(c->s->r, c->fd, want, on_conn_event, c)
                           : reactor_register(c->s->r, c->fd, want, on_conn_event, c);
    if (rc < 0) {
        http_conn_close(c);
        return -1;
    }
    c->registered = 1;
    c->interest = want & 3u;
    return 0;
}

/*
 * Closing right after the last answer would lose it whenever the client's
 * bytes are still unread (after a 413, say, or pipelined requests behind a
 * Connection: close): close() with unread data makes the kernel send a reset,
 * and the client's kernel may discard the answer it had not yet read. So we
 * send our end (shutdown), then read and discard until the client's end comes,
 * bounded by LINGER_MS and LINGER_BYTES (RFC 9112, section 9.6: close in
 * stages).
 */
static void conn_linger(struct conn *c)
{
    buf_release(c->s, &c->in, &c->in_cap);
    buf_release(c->s, &c->out, &c->out_cap);
    c->in_len = 0;
    if (shutdown(c->fd, SHUT_WR) < 0) {
        http_conn_close(c);
        return;
    }
    c->lingering = 1;
    set_deadline(c, DL_LINGER);
    conn_set_interest(c, REACTOR_READ);
}

/*
 * The stages cost a shutdown, a read and a wakeup per connection: 2 of the 9
 * system calls a one-request connection made under ab (strace -c), and a turn
 * of the loop. So they are kept for when they protect something. They do not
 * when the client itself asked for the close (HTTP/1.0, Connection: close: it
 * must send nothing after, RFC 9112 section 9.6) and nothing of its was unread
 * at the last look: the whole request was consumed and the last recv() came
 * back short. nginx decides the same way (lingering_close on).
 */
static int closing_loses_nothing(const struct conn *c)
{
    return c->client_closes && !c->in_len && !c->discard && !c->chunking && c->drained;
}

static void conn_discard(struct conn *c)
{
    char scratch[4096];
    ssize_t n = recv(c->fd, scratch, sizeof scratch, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    c->in_len += n > 0 ? (uint32_t)n : 0; /* `in` is gone: this only counts */
    if (n <= 0 || c->in_len > LINGER_BYTES)
        http_conn_close(c);
}

/*
 * Writes what it can, answers requests that were waiting for the output to
 * drain, and registers exactly what the connection waits for, or closes it.
 */
void http_conn_update(struct conn *c)
{
    if (c->lingering)
        return; /* only the client's end, or the deadline, is awaited */
    if (c->job && c->peer_closed) {
        http_conn_close(c); /* hung up while its job waits: free the slot now */
        return;
    }
    int progress = 0;
    for (int round = 0;; round++) {
        if (conn_flush(c, &progress) < 0)
            return;
        if (output_pending(c) || !answerable(c) || round == PROCESS_ROUNDS)
            break;
        progress |= answer_batch(c);
    }
    int pending = output_pending(c);
    if (!pending && !c->job && (c->close_after || (c->peer_closed && !answerable(c)))) {
        if (c->peer_closed || !c->answer_closes || closing_loses_nothing(c))
            http_conn_close(c); /* no answer of ours can be lost */
        else
            conn_linger(c);
        return;
    }
    conn_retime(c, progress);
    if (!pending && !c->in_len)
        buf_release(c->s, &c->in, &c->in_cap); /* idle: hold no buffers */
    if (!pending)
        buf_release(c->s, &c->out, &c->out_cap);
    unsigned want = 0;
    /* While a job runs the socket is still read (into `in`, behind the job's
     * request, bounded) so that a client hanging up is seen at once. */
    if ((!c->job || c->in_len < JOB_IN_MAX) && !c->peer_closed && !c->close_after &&
        c->file_fd < 0 && !answerable(c) && c->out_len - c->out_off < OUT_HIGH_WATER)
        want |= REACTOR_READ;
    if (pending || answerable(c))
        want |= REACTOR_WRITE; /* writable at once when only answering is left: a yield */
    conn_set_interest(c, want);
}

/* ---- reading and answering ---------------------------------------------------------- */

/*
 * Parses and answers the complete requests in `in`, in order, into the one
 * output buffer. Stops at a /sleep (its done continues), a file, an error, a
 * Connection: close, or when the output is above the high-water mark.
 * Returns whether any request was answered.
 */
/* RFC 9110 10.1.1: the client waits for a 100 before it sends the body, or for our answer. */
static int expects_continue(const struct http_request *req)
{
    const struct http_str *v = http_header_get(req, "expect");
    return v && http_str_ieq(*v, "100-continue");
}

static int answer_batch(struct conn *c)
{
    size_t off = 0;
    int answered = 0;
    c->partial = 0;
    while (off < c->in_len && !c->job && !c->close_after && c->file_fd < 0 &&
           c->out_len - c->out_off < OUT_HIGH_WATER) {
        struct http_request req;
        int unsure = 0; /* whether a body will follow is the client's choice now */
        long n =
            http_parse_request(c->in + off, c->in_len - off, (size_t)c->s->opt->max_body, &req);
        if (n == 0 && req.need) {
            /* The head is in and only body bytes are missing. No route reads a
             * body, so it is answered now and the rest of its body is dropped
             * as it arrives (conn_on_readable) rather than buffered. */
            n = (long)(c->in_len - off);
            c->discard = req.need - (size_t)n;
        }
        if (n > 0 && req.chunked) {
            /* Likewise a chunked body: what is here is skipped now, the rest as it comes. */
            c->chunk = (struct http_chunked){.max = (uint64_t)c->s->opt->max_body};
            long k = http_chunked_skip(&c->chunk, c->in + off + n, c->in_len - off - (size_t)n);
            n = k < 0 ? k : n + k;
            c->chunking = k >= 0 && !http_chunked_done(&c->chunk);
        }
        if (n > 0 && (c->discard || c->chunking) && expects_continue(&req)) {
            /* A final answer instead of a 100: the client may send the body or
             * not, so no later byte can be told for a request. Close (after
             * lingering over whatever comes) rather than guess. */
            c->discard = c->chunking = 0;
            req.keep_alive = 0;
            unsure = 1;
        }
        if (n == 0) {
            c->partial = 1;
            break;
        }
        answered = 1;
        if (n < 0) {
            http_respond_error(c, (int)-n); /* the next request's start is unknown: close */
            off = c->in_len;
            break;
        }
        int done = http_route(c, &req, (size_t)n);
        if (unsure)
            c->client_closes = 0; /* we close, not the client: linger over its bytes */
        if (!done)
            break; /* the request stays at the front of `in` until its job is done */
        off += (size_t)n;
    }
    in_consume(c, off);
    return answered;
}

/*
 * Whether parsing the incomplete request in `in` again could give a new
 * answer, `old_len` bytes having been parsed already. The parser re-reads
 * from the start, so a client sending a byte at a time would cost O(n^2):
 * parse again only when a line completed, the body is complete, or a size
 * limit may have been crossed.
 */
static int worth_parsing(const struct conn *c, size_t old_len)
{
    if (memchr(c->in + old_len, '\n', c->in_len - old_len))
        return 1;
    return (old_len <= HTTP_MAX_REQUEST_LINE && c->in_len > HTTP_MAX_REQUEST_LINE) ||
           (old_len < HTTP_MAX_HEAD && c->in_len >= HTTP_MAX_HEAD);
}

static void conn_on_readable(struct conn *c)
{
    if (c->in_len >= IN_MAX) { /* cannot happen: the parser refuses such requests first */
        http_respond_error(c, 400);
        c->in_len = 0;
        http_conn_update(c);
        return;
    }
    size_t want = c->in_len + BUF_SMALL;
    if (buf_reserve(c->s, &c->in, &c->in_cap, want < IN_MAX ? want : IN_MAX) < 0) {
        http_conn_close(c);
        return;
    }
    size_t room = (c->in_cap < IN_MAX ? c->in_cap : IN_MAX) - c->in_len;
    ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            if (!c->registered)
                http_conn_update(c); /* the first read, before any wait: wait now */
            return;                  /* level-triggered: we will be called again */
        }
        http_conn_close(c);
        return;
    }
    if (n == 0) {
        c->peer_closed = 1; /* half-close: answer what came, then close */
        http_conn_update(c);
        return;
    }
    c->drained = (size_t)n < room;
    if (c->discard || c->chunking) {
        /* The body of a request already answered: dropped, never kept. */
        size_t drop = (size_t)n < c->discard ? (size_t)n : c->discard;
        c->discard -= (uint32_t)drop;
        if (c->chunking) {
            long k = http_chunked_skip(&c->chunk, c->in + c->in_len, (size_t)n);
            if (k < 0) {
                http_conn_close(c); /* bad framing after its answer: nothing to say */
                return;
            }
            drop = (size_t)k;
            c->chunking = !http_chunked_done(&c->chunk);
        }
        memmove(c->in + c->in_len, c->in + c->in_len + drop, (size_t)n - drop);
        n -= (ssize_t)drop;
        if (n == 0) {
            conn_retime(c, 1); /* body bytes are progress */
            http_conn_update(c);
            return;
        }
    }
    size_t old_len = c->in_len;
    c->in_len += (uint32_t)n;
    if (c->partial && !worth_parsing(c, old_len)) {
        conn_retime(c, 0); /* head bytes are not progress */
        http_conn_update(c);
        return;
    }
    http_conn_process(c);
}

void http_conn_process(struct conn *c)
{
    int progress = answer_batch(c);
    conn_retime(c, progress); /* the update retimes again only if it writes */
    http_conn_update(c);
}

static void on_conn_event(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)r, (void)fd;
    struct conn *c = data;
    if (c->lingering)
        conn_discard(c);
    else if (events & REACTOR_READ)
        conn_on_readable(c);
    else
        http_conn_update(c);
}

/* ---- opening and closing -------------------------------------------------------------- */

void http_conn_open(struct server *s, int fd)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->s = s;
    c->fd = fd;
    c->file_fd = -1;
    c->deadline_kind = DL_REQUEST; /* the first request: an empty connection is not idle */
    list_append(&s->lists[DL_REQUEST], c);
    s->nconns++;
    set_deadline(c, DL_REQUEST);
    /* The request has often come by the time the connection is accepted: read it
     * now. A one-request connection then is answered and closed without ever
     * being registered (no epoll_ctl at all); otherwise the read fails with
     * EAGAIN and the connection waits, registered, as it would have anyway. */
    conn_on_readable(c);
}

void http_conn_close(struct conn *c)
{
    struct server *s = c->s;
    if (c->registered)
        reactor_unregister(s->r, c->fd);
    close(c->fd);
    if (c->file_fd >= 0)
        close(c->file_fd);
    buf_release(s, &c->in, &c->in_cap);
    buf_release(s, &c->out, &c->out_cap);
    list_unlink(&s->lists[c->deadline_kind], c);
    s->nconns--;
    if (c->job) {
        http_sleep_job_abandon(s, c->job);
        c->dead = 1; /* the job still points here: its done, or server exit, frees it */
        list_append(&s->zombies, c);
    } else {
        free(c);
    }
    if (s->draining && s->nconns == 0)
        reactor_stop(s->r);
}

void http_conn_job_done(struct conn *c, size_t len)
{
    c->job = NULL;
    if (c->dead) {
        list_unlink(&c->s->zombies, c);
        free(c);
        return;
    }
    in_consume(c, len);
    http_conn_process(c);
}

/* Closing one connection unlinks it and frees it, and touches no other. */
static void http_conns_close_list(struct conn_list *l)
{
    struct conn *next;
    for (struct conn *c = l->head; c; c = next) {
        next = c->next;
        http_conn_close(c);
    }
}

void http_conns_drain(struct server *s)
{
    for (unsigned k = 0; k < DL_KINDS; k++)
        for (struct conn *c = s->lists[k].head; c; c = c->next)
            c->close_after = 1; /* no further request is answered */
    /* Nothing is in flight on these: close them now. The others close after their answers. */
    http_conns_close_list(&s->lists[DL_IDLE]);
    http_conns_close_list(&s->lists[DL_REQUEST]);
}

void http_conns_close_all(struct server *s)
{
    for (unsigned k = 0; k < DL_KINDS; k++)
        http_conns_close_list(&s->lists[k]);
}

void http_zombies_free(struct server *s)
{
    struct conn *next;
    for (struct conn *c = s->zombies.head; c; c = next) {
        next = c->next;
        http_sleep_job_free(c->job);
        free(c);
    }
    s->zombies.head = s->zombies.tail = NULL;
}
