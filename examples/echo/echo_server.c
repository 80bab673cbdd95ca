/*
 * echo_server.c - reactor-echo, a TCP echo server on libreactor.
 *
 *   reactor-echo [--backend NAME] [--bind ADDR] [--port N] [--upper]
 *                [--idle-timeout SEC] [--max-conns N] [--quiet]
 *
 * SIGINT/SIGTERM stop it gracefully; SIGUSR1 prints one line of statistics on
 * stderr; SIGALRM is counted and ignored, so that a stray alarm cannot kill it.
 *
 * Every read is echoed at once from one shared scratch buffer, so an echo the
 * kernel takes whole costs no copy and no memory of its own. Only what the
 * socket refuses is kept, in a per-connection buffer of at most BUF_SIZE
 * bytes that is freed as soon as it drains. While that buffer is full (the
 * client sends but does not read) the connection is watched for WRITE only:
 * the server stops reading, the kernel's windows fill, and the client's own
 * sends block. That back-pressure is what bounds memory per connection.
 */
#ifdef __linux__
/* glibc declares accept4() only under _GNU_SOURCE (which implies POSIX.1-2008);
 * it makes the new socket non-blocking and close-on-exec in the same call. */
#define _GNU_SOURCE
#elif !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_net.h" /* the socket calls, POSIX or Winsock */
#include "reactor.h"

#define BUF_SIZE ((size_t)64 * 1024) /* the most one connection may hold */
#define ACCEPT_BATCH 64 /* accepts per wakeup, so that a flood cannot starve the others */
#define PAUSE_MS 100    /* how long accepting rests when no descriptor can be had */
#define GRACE_MS 3000   /* how long a shutdown waits for buffered echoes to flush */

struct server {
    reactor_t *r;
    int lfd;        /* the listener; -1 once shutting down */
    int reserve_fd; /* a spare descriptor, given up to shed connections on EMFILE */
    int upper, quiet, paused, draining;
    int max_conns, nconns;
    uint64_t idle_ms, last_warn;
    unsigned long long accepted, refused, shed, echoed, alarms;
    struct conn *conns; /* every open connection, so that a shutdown can reach them */
    char scratch[BUF_SIZE];
};

struct conn {
    struct server *s;
    struct conn *prev, *next;
    int fd;
    int eof;              /* the client shut down its sending side */
    int shut;             /* shutting down: we sent FIN and now discard input */
    unsigned interest;    /* what the reactor watches for */
    int64_t timer;        /* idle timer id, 0 when none */
    uint64_t last_active; /* reactor_now() when a byte last moved */
    char *buf;            /* echo the socket has not taken yet; NULL when none */
    size_t off, len;      /* buf[off..len) is still to be sent */
};

static void conn_event(reactor_t *r, int fd, unsigned events, void *data);
static void on_accept(reactor_t *r, int lfd, unsigned events, void *data);

/* Tells the operator what happened, unless --quiet. */
static void say(const struct server *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!s->quiet)
        vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* ---- connections -------------------------------------------------------- */

static void conn_close(struct conn *c)
{
    struct server *s = c->s;
    reactor_unregister(s->r, c->fd);
    if (c->timer)
        reactor_timer_cancel(s->r, c->timer);
    net_close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    free(c->buf);
    free(c);
    if (s->draining && s->nconns == 0)
        reactor_stop(s->r);
}

/*
 * The idle timer is not moved on every read, which would cost two heap
 * operations per message: activity only stamps last_active, and a timer that
 * fires early is re-armed for the time that is left.
 */
static void on_idle(reactor_t *r, int64_t id, void *data);

static void idle_arm(struct conn *c, uint64_t after_ms)
{
    int64_t id = reactor_timer_add(c->s->r, after_ms, 0, on_idle, c);
    c->timer = id > 0 ? id : 0; /* out of memory: this connection never times out */
}

static void on_idle(reactor_t *r, int64_t id, void *data)
{
    struct conn *c = data;
    uint64_t quiet_for = reactor_now(r) - c->last_active;
    (void)id;
    c->timer = 0;
    if (quiet_for < c->s->idle_ms)
        idle_arm(c, c->s->idle_ms - quiet_for);
    else
        conn_close(c);
}

/* Sends what the socket takes; returns the byte count, or -1 when the connection is dead. */
static ssize_t send_some(int fd, const char *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = net_send(fd, p + done, n - done);
        if (k >= 0)
            done += (size_t)k;
        else if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        else if (errno != EINTR)
            return -1;
    }
    return (ssize_t)done;
}

/* ASCII only, so that a UTF-8 sequence split between two reads is never damaged. */
static void to_upper(char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 'a' && p[i] <= 'z')
            p[i] = (char)(p[i] - 'a' + 'A');
}

/* One read. With nothing pending the echo goes straight back from scratch;
 * otherwise the bytes queue behind what is waiting. */
static int conn_read(struct conn *c)
{
    struct server *s = c->s;
    if (c->buf && c->off > 0) { /* make the free space one piece */
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    char *dst = c->buf ? c->buf + c->len : s->scratch;
    ssize_t n = net_recv(c->fd, dst, c->buf ? BUF_SIZE - c->len : BUF_SIZE);
    if (n == 0)
        c->eof = 1; /* half-close: what is pending is still sent back */
    if (n <= 0)
        return n == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    if (c->shut)
        return 0; /* shutting down: input is read only to be dropped */
    if (s->upper)
        to_upper(dst, (size_t)n);
    s->echoed += (unsigned long long)n;
    c->last_active = reactor_now(s->r);
    if (c->buf) {
        c->len += (size_t)n;
        return 0;
    }
    ssize_t sent = send_some(c->fd, dst, (size_t)n);
    if (sent < 0)
        return -1;
    if (sent < n) {
        if (!(c->buf = malloc(BUF_SIZE)))
            return -1;
        c->len = (size_t)(n - sent);
        memcpy(c->buf, dst + sent, c->len);
    }
    return 0;
}

static int conn_flush(struct conn *c)
{
    ssize_t n = send_some(c->fd, c->buf + c->off, c->len - c->off);
    if (n < 0)
        return -1;
    if (n > 0)
        c->last_active = reactor_now(c->s->r);
    c->off += (size_t)n;
    if (c->off == c->len) { /* drained: a quiet connection holds no buffer */
        free(c->buf);
        c->buf = NULL;
        c->off = c->len = 0;
    }
    return 0;
}

/* Watches for what the connection can do next; closes it when nothing is left. */
static void conn_update(struct conn *c)
{
    if (!c->buf && c->eof) {
        conn_close(c);
        return;
    }
    if (!c->buf && c->s->draining && !c->shut) {
        /* Everything is flushed to the kernel. A close() now, with input left
         * unread, would make the kernel send a reset and drop what its send
         * buffer still holds; send FIN instead and wait for the client's. */
        shutdown(c->fd, SHUT_WR);
        c->shut = 1;
    }
    unsigned want = c->buf ? REACTOR_WRITE : 0;
    if (c->shut || (!c->eof && !c->s->draining && (!c->buf || c->len - c->off < BUF_SIZE)))
        want |= REACTOR_READ;
    if (want == c->interest)
        return;
    if (reactor_modify(c->s->r, c->fd, want, conn_event, c) < 0)
        conn_close(c);
    else
        c->interest = want;
}

static void conn_event(reactor_t *r, int fd, unsigned events, void *data)
{
    struct conn *c = data;
    (void)r, (void)fd;
    /* Read only while READ is asked for: into a full buffer, recv() of 0 bytes
     * would return 0 and look like end-of-file. */
    if (((events & REACTOR_READ) && (c->interest & REACTOR_READ) && conn_read(c) < 0) ||
        (c->buf && conn_flush(c) < 0))
        conn_close(c);
    else
        conn_update(c);
}

static void conn_open(struct server *s, int fd)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c || reactor_register(s->r, fd, REACTOR_READ, conn_event, c) < 0) {
        free(c); /* e.g. -ERANGE: fd beyond FD_SETSIZE on the select backend */
        net_close(fd);
        return;
    }
    int one = 1; /* an echo is a reply: Nagle must not hold it back */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, (const void *)&one, sizeof one);
    c->s = s;
    c->fd = fd;
    c->interest = REACTOR_READ;
    c->last_active = reactor_now(s->r);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    s->accepted++;
    if (s->idle_ms)
        idle_arm(c, s->idle_ms);
}

/* ---- accepting ---------------------------------------------------------- */

static void resume_accepting(reactor_t *r, int64_t id, void *data)
{
    struct server *s = data;
    (void)id;
    s->paused = 0;
    if (s->reserve_fd < 0)
        s->reserve_fd = net_spare();
    if (s->lfd >= 0)
        reactor_modify(r, s->lfd, REACTOR_READ, on_accept, s);
}

/* Stops watching the listener for PAUSE_MS; pending clients wait in the backlog. */
static void pause_accepting(struct server *s)
{
    /* A pause, not an unregister: the listener stays open and registered, and
     * the kernel is told once, at the next wait. */
    if (s->paused || reactor_modify(s->r, s->lfd, 0, on_accept, s) < 0)
        return;
    s->paused = 1;
    if (reactor_timer_add(s->r, PAUSE_MS, 0, resume_accepting, s) < 0)
        resume_accepting(s->r, 0, s); /* better busy than deaf */
}

/*
 * Out of descriptors (EMFILE/ENFILE). Waiting connections stay in the
 * backlog, so the listener stays readable and a level-triggered loop would
 * spin at full CPU. Give up the spare descriptor kept for this moment, accept
 * and close what is waiting (those clients see a clean close, not a hang),
 * and take the spare back. Should it be lost (ENFILE: another process took
 * the slot), rest a moment instead of spinning.
 */
static void shed_backlog(struct server *s)
{
    int n = 0;
    if (s->reserve_fd >= 0) {
        net_spare_close(s->reserve_fd);
        for (int fd; n < ACCEPT_BATCH && (fd = net_accept(s->lfd)) >= 0; n++)
            net_close(fd);
        s->reserve_fd = net_spare();
    }
    if (s->reserve_fd < 0)
        pause_accepting(s);
    s->shed += (unsigned long long)n;
    if (n > 0 && reactor_now(s->r) - s->last_warn >= 1000) { /* a line a second at most */
        s->last_warn = reactor_now(s->r);
        say(s, "reactor-echo: out of fds: %llu waiting connections closed so far\n", s->shed);
    }
}

static void on_accept(reactor_t *r, int lfd, unsigned events, void *data)
{
    struct server *s = data;
    (void)r, (void)events;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = net_accept(lfd);
        if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
            continue;
        if (fd < 0 && (errno == EMFILE || errno == ENFILE))
            shed_backlog(s);
        else if (fd < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            pause_accepting(s); /* ENOBUFS, ENOMEM: the kernel is short too */
        if (fd < 0)
            return;
        if (s->nconns < s->max_conns) {
            conn_open(s, fd);
        } else {
            net_close(fd);
            s->refused++;
        }
    }
}

/* ---- shutdown ----------------------------------------------------------- */

static void stop_loop(reactor_t *r, int64_t id, void *data)
{
    (void)id, (void)data;
    reactor_stop(r);
}

/* SIGINT/SIGTERM: stop accepting, flush what is buffered, close each
 * connection once its client has closed too, GRACE_MS at most. A second
 * signal stops at once. */
static void on_signal(reactor_t *r, int signo, void *data)
{
    struct server *s = data;
    if (s->draining) {
        reactor_stop(r);
        return;
    }
    say(s, "reactor-echo: signal %d: closing the listener and %d connections\n", signo, s->nconns);
    s->draining = 1;
    reactor_unregister(r, s->lfd); /* paused or not, it is registered */
    net_close(s->lfd);             /* from now on new clients are refused */
    s->lfd = -1;
    for (struct conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        conn_update(c); /* stops reading; half-closes those with nothing to flush */
    }
    if (s->nconns == 0 || reactor_timer_add(r, GRACE_MS, 0, stop_loop, s) < 0)
        reactor_stop(r);
}

#ifndef _WIN32 /* Windows has SIGINT only (the console's Ctrl-C): see main() */
/* SIGUSR1: one line of statistics, even with --quiet (the operator asked for it).
 * SIGALRM: counted and ignored. Its default action would end the process, and a
 * server should not die of an alarm some library or stray kill(1) raised. */
static void on_stats_signal(reactor_t *r, int signo, void *data)
{
    struct server *s = data;
    (void)r;
    if (signo == SIGALRM) {
        s->alarms++; /* deliveries between two loop iterations count once */
        return;
    }
    fprintf(stderr,
            "reactor-echo: stats: %d open, %llu accepted, %llu bytes echoed, %llu refused, "
            "%llu shed, %llu alarms ignored\n",
            s->nconns, s->accepted, s->echoed, s->refused, s->shed, s->alarms);
}

#endif

/* ---- setup -------------------------------------------------------------- */

/* Binds and listens; writes "ADDR:PORT" (IPv6 as [ADDR]:PORT) into `shown`. */
static int listen_on(const char *addr, const char *port, char *shown, size_t size)
{
    struct addrinfo *ai, hints = {.ai_socktype = SOCK_STREAM,
                                  .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    int one = 1, fd = -1, err = getaddrinfo(addr, port, &hints, &ai);
    if (err) {
        fprintf(stderr, "reactor-echo: --bind %s --port %s: %s\n", addr, port, gai_strerror(err));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN + 32], serv[8]; /* room for an IPv6 scope: fe80::1%eth0 */
    /* 4096: the kernel caps the backlog at its own limit (net.core.somaxconn). */
    if ((fd = net_socket(ai->ai_family)) < 0 || net_nonblock_cloexec(fd) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, (const void *)&one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
        (err = getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, serv, sizeof serv,
                           NI_NUMERICHOST | NI_NUMERICSERV)) != 0) {
        fprintf(stderr, "reactor-echo: cannot listen on %s port %s: %s\n", addr, port,
                err ? gai_strerror(err) : strerror(errno));
        if (fd >= 0)
            net_close(fd);
        fd = -1;
    } else {
        snprintf(shown, size, ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
    }
    freeaddrinfo(ai);
    return fd;
}

/* Parses option `opt`'s value `v` (NULL when missing) as a number in [min, max]. */
static int number(const char *opt, const char *v, long min, long max, long *out)
{
    char *end;
    errno = 0;
    *out = v ? strtol(v, &end, 10) : 0;
    if (v && !errno && end != v && !*end && *out >= min && *out <= max)
        return 0;
    fprintf(stderr, "reactor-echo: %s wants a number from %ld to %ld\n", opt, min, max);
    return 1;
}

static const char usage[] =
    "usage: reactor-echo [--backend NAME] [--bind ADDR] [--port N] [--upper]\n"
    "       [--idle-timeout SEC] [--max-conns N] [--quiet]\n"
    "signals: SIGINT, SIGTERM  stop: flush what is buffered, then exit 0 (a second one: at once)\n"
    "         SIGUSR1          print one line of statistics on stderr (even with --quiet)\n"
    "         SIGALRM          counted and ignored\n";

int main(int argc, char **argv)
{
    static struct server s; /* static: the scratch buffer is big for a stack */
    const char *backend = NULL, *bind_addr = "127.0.0.1", *port = "7000";
    long n, idle = 0, max_conns = 100000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = argv[i + 1]; /* argv[argc] is NULL */
        int bad = 0;
        if (!strcmp(a, "--upper"))
            s.upper = 1;
        else if (!strcmp(a, "--quiet"))
            s.quiet = 1;
        else if (!strcmp(a, "--help"))
            bad = -1;
        else if (!strcmp(a, "--backend") && v)
            backend = argv[++i];
        else if (!strcmp(a, "--bind") && v)
            bind_addr = argv[++i];
        else if (!strcmp(a, "--port"))
            bad = number(a, port = argv[++i], 0, 65535, &n);
        else if (!strcmp(a, "--idle-timeout"))
            bad = number(a, argv[++i], 0, 86400, &idle);
        else if (!strcmp(a, "--max-conns"))
            bad = number(a, argv[++i], 1, 10000000, &max_conns);
        else
            bad = 1;
        if (bad) {
            fputs(usage, bad < 0 ? stdout : stderr);
            return bad < 0 ? 0 : 2;
        }
    }
    s.idle_ms = (uint64_t)idle * 1000;
    s.max_conns = (int)max_conns;

#ifdef SIGPIPE
    /* A client that resets while we write must cost an EPIPE, not the process. */
    signal(SIGPIPE, SIG_IGN);
#endif
    if (net_start() < 0) {
        fprintf(stderr, "reactor-echo: cannot start the socket library\n");
        return 1;
    }
    char shown[INET6_ADDRSTRLEN + 48];
    if ((s.lfd = listen_on(bind_addr, port, shown, sizeof shown)) < 0)
        return 1;
    if (!(s.r = reactor_new(backend))) {
        fprintf(stderr, "reactor-echo: backend %s: %s\n", backend ? backend : "(default)",
                reactor_strerror(errno));
        return 1;
    }
    s.reserve_fd = net_spare();
    int err = reactor_register(s.r, s.lfd, REACTOR_READ, on_accept, &s);
    if (err >= 0)
        err = reactor_signal_add(s.r, SIGINT, on_signal, &s);
#ifndef _WIN32
    if (err >= 0)
        err = reactor_signal_add(s.r, SIGTERM, on_signal, &s);
    if (err >= 0)
        err = reactor_signal_add(s.r, SIGUSR1, on_stats_signal, &s);
    if (err >= 0)
        err = reactor_signal_add(s.r, SIGALRM, on_stats_signal, &s);
#else
        /* libreactor watches SIGINT only on Windows (the console's Ctrl-C, which
         * then drains gracefully as on POSIX); no SIGTERM, SIGUSR1 or SIGALRM. */
#endif
    if (err < 0) {
        fprintf(stderr, "reactor-echo: %s\n", reactor_strerror(err));
        return 1;
    }
    printf("listening on %s (backend %s)\n", shown, reactor_backend(s.r));
    fflush(stdout);

    err = reactor_run(s.r);
    say(&s,
        "reactor-echo: %llu connections served, %llu refused (--max-conns), %llu shed (EMFILE)\n",
        s.accepted, s.refused, s.shed);
    for (struct conn *c = s.conns, *next; c; c = next) { /* what the grace period left */
        next = c->next;
        conn_close(c);
    }
    reactor_free(s.r);
    if (s.lfd >= 0)
        net_close(s.lfd);
    if (s.reserve_fd >= 0)
        net_spare_close(s.reserve_fd);
    return err < 0 ? 1 : 0;
}
