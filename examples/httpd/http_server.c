/*
 * http_server.c - reactor-httpd, an HTTP/1.1 server on libreactor.
 *
 * One thread serves thousands of connections because no connection ever
 * makes it wait: sockets are non-blocking, each event does what it can and
 * returns, and the one slow route (/sleep) runs on the work pool. With
 * --threads N, N such loops share the port through SO_REUSEPORT, the kernel
 * spreading new connections between them; they share nothing else.
 *
 * This file holds the program's frame: options, listening sockets, threads,
 * and the graceful stop (SIGINT/SIGTERM: stop accepting, finish the answers
 * in flight, close idle connections, exit 0 within --drain-timeout-ms; a
 * second signal stops at once). SIGUSR1 prints one line of statistics;
 * SIGALRM is counted and ignored. With one thread the server's own loop
 * watches the signals; with --threads N the servers run on N threads and
 * the main thread's loop watches them until the last server has stopped,
 * so a loop that finishes draining early does not take the signals with it.
 * Started as root, it binds, then becomes --user before it reads any
 * request, and refuses to serve as root unless told to (--allow-root): root
 * reads every file, whatever its mode.
 */
#define _GNU_SOURCE /* SO_REUSEPORT, setgroups */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_conn.h"

static const char usage_text[] =
    "usage: reactor-httpd [options]\n"
    "  --backend NAME          epoll, kqueue, poll or select (default: the best compiled in)\n"
    "  --bind ADDR             IPv4 or IPv6 address to listen on (default 127.0.0.1)\n"
    "  --port N                TCP port; 0 picks a free one (default 8080)\n"
    "  --root DIR              serve the files under DIR (symlinks only if relative and\n"
    "                          staying beneath DIR)\n"
    "  --threads N             N event loops sharing the port (default 1)\n"
    "  --max-conns N           connections per thread; more get 503 (default 10000)\n"
    "  --demo                  also answer the demo routes /json and /sleep?ms=N\n"
    "  --max-jobs N            /sleep jobs per thread; more get 503 (default 64)\n"
    "  --max-body BYTES        a request body over BYTES gets 413; 0 refuses any body\n"
    "                          (0..1073741824, default 1048576)\n"
    "  --header-timeout-ms N   a request head must arrive within N ms of the connection\n"
    "                          or of its first byte (408; default 10000)\n"
    "  --idle-timeout-ms N     close a keep-alive connection idle for N ms (30000)\n"
    "  --send-timeout-ms N     close a client that reads none of our answers for N ms (30000)\n"
    "  --drain-timeout-ms N    at SIGINT/SIGTERM, wait at most N ms for answers (5000)\n"
    "  --access-log            log each request to stdout (Common Log Format)\n"
    "  --quiet                 no messages on stderr but fatal errors\n"
    "  --user NAME             started as root: after binding, run as NAME (its uid and\n"
    "                          group; no supplementary groups)\n"
    "  --group NAME            with --user: this group instead of NAME's own\n"
    "  --allow-root            run as root without --user (then every file is readable)\n"
    "signals:\n"
    "  SIGINT, SIGTERM         stop accepting, finish the answers in flight, exit 0\n"
    "                          (a second one stops at once)\n"
    "  SIGUSR1                 print one line of statistics on stderr (even with --quiet)\n"
    "  SIGALRM                 counted and ignored\n";

/* ---- the graceful stop ------------------------------------------------------------ */

static void on_drain_deadline(reactor_t *r, int64_t id, void *data)
{
    struct server *s = data;
    (void)id;
    atomic_store(&s->abandon, 1); /* /sleep jobs still running end now */
    reactor_stop(r);
}

/* On each server's own loop: stop accepting, finish what is in flight. */
static void server_drain(reactor_t *r, void *data)
{
    struct server *s = data;
    if (s->draining) {
        on_drain_deadline(r, 0, s); /* a second signal: stop now */
        return;
    }
    s->draining = 1;
    reactor_unregister(r, s->lfd);
    close(s->lfd);
    s->lfd = -1;
    http_conns_drain(s);
    if (s->nconns == 0)
        reactor_stop(r);
    else
        reactor_timer_add(r, (uint64_t)s->opt->drain_timeout_ms, 0, on_drain_deadline, s);
}

static struct server *servers;
static int nservers;
static pthread_t *threads; /* main's, freed at its end (early exits leave it to exit) */
static reactor_t *control; /* with --threads N: the main thread's loop, for the signals */
static int running;        /* servers whose loop has not ended: control's thread only */

/* Runs on the loop that watches the signals; the others are told through reactor_post. */
static void on_signal(reactor_t *r, int signo, void *data)
{
    const struct options *opt = data;
    if (!opt->quiet)
        fprintf(stderr, "reactor-httpd: %s: finishing the answers in flight\n",
                signo == SIGINT ? "SIGINT" : "SIGTERM");
    for (int i = 0; i < nservers; i++) {
        if (servers[i].r == r)
            server_drain(r, &servers[i]);
        else
            reactor_post(servers[i].r, server_drain, &servers[i]);
    }
}

/* ---- statistics: SIGUSR1 and SIGALRM ------------------------------------------------ */

/*
 * Each server's counters belong to its thread, so each adds its own into these
 * sums on its own loop (reactor_post); the last to do so prints the line. A
 * SIGUSR1 that comes while a report is being gathered is dropped.
 */
static struct {
    /* busy is cleared only once the sums are taken: a report started sooner would
     * add into sums the last server is still reading. */
    atomic_int busy, pending; /* a report is under way; the servers yet to add theirs */
    atomic_ullong open, accepted, requests, refused, shed;
    unsigned long long alarms; /* the signal-watching loop's only */
    atomic_ullong alarms_shown;
} stats;

static void stats_done(void)
{
    if (atomic_fetch_sub(&stats.pending, 1) != 1)
        return;
    unsigned long long open = atomic_exchange(&stats.open, 0);
    unsigned long long accepted = atomic_exchange(&stats.accepted, 0);
    unsigned long long requests = atomic_exchange(&stats.requests, 0);
    unsigned long long refused = atomic_exchange(&stats.refused, 0);
    unsigned long long shed = atomic_exchange(&stats.shed, 0);
    unsigned long long alarms = atomic_load(&stats.alarms_shown);
    atomic_store(&stats.busy, 0);
    fprintf(stderr,
            "reactor-httpd: stats: %llu open, %llu accepted, %llu requests, %llu refused, "
            "%llu shed, %llu alarms ignored\n",
            open, accepted, requests, refused, shed, alarms);
}

static void stats_add(reactor_t *r, void *data)
{
    const struct server *s = data;
    (void)r;
    atomic_fetch_add(&stats.open, (unsigned long long)s->nconns);
    atomic_fetch_add(&stats.accepted, s->accepted);
    atomic_fetch_add(&stats.requests, s->requests);
    atomic_fetch_add(&stats.refused, s->refused);
    atomic_fetch_add(&stats.shed, s->shed);
    stats_done();
}

/* SIGALRM's default action would end the process: a stray alarm (a library's
 * alarm(2), a mistyped kill) must not take the server down. */
static void on_stats_signal(reactor_t *r, int signo, void *data)
{
    (void)data;
    if (signo == SIGALRM) {
        stats.alarms++; /* deliveries between two loop iterations count once */
        return;
    }
    int idle = 0;
    if (!atomic_compare_exchange_strong(&stats.busy, &idle, 1))
        return;
    atomic_store(&stats.pending, nservers);
    atomic_store(&stats.alarms_shown, stats.alarms);
    for (int i = 0; i < nservers; i++)
        if (servers[i].r == r)
            stats_add(r, &servers[i]);
        else if (reactor_post(servers[i].r, stats_add, &servers[i]) < 0)
            stats_done(); /* that thread's numbers are left out rather than read racily */
}

/* ---- listening -------------------------------------------------------------------- */

static int set_nonblocking_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static int listen_on(const struct options *opt)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
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
        fprintf(stderr, "reactor-httpd: --bind %s: not an IPv4 or IPv6 address\n", opt->bind);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    int one = 1;
    if (fd < 0 || set_nonblocking_cloexec(fd) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (opt->threads > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) ||
        bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0) {
        fprintf(stderr, "reactor-httpd: listen on %s port %d: %s\n", opt->bind, opt->port,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    in_port_t port = ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                              : ((struct sockaddr_in *)&ss)->sin_port;
    return ntohs(port);
}

/* ---- servers ------------------------------------------------------------------------ */

static int server_init(struct server *s, const struct options *opt, int lfd)
{
    memset(s, 0, sizeof *s);
    s->opt = opt;
    s->lfd = lfd;
    s->reserve_fd = -1;
    s->r = reactor_new(opt->backend);
    if (!s->r) {
        fprintf(stderr, "reactor-httpd: backend %s: %s\n", opt->backend ? opt->backend : "(best)",
                reactor_strerror(errno));
        return -1;
    }
    s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    /* /sleep stands for slow blocking work: more threads than cores, so ten sleep together. */
    reactor_set_threadpool_size(s->r, 16);
    int rc = reactor_register(s->r, lfd, REACTOR_READ, http_on_accept, s);
    if (rc < 0)
        fprintf(stderr, "reactor-httpd: listening socket: %s\n", reactor_strerror(rc));
    return rc;
}

static void server_fini(struct server *s)
{
    atomic_store(&s->abandon, 1);
    http_conns_close_all(s);
    /* Waits for the /sleep jobs still running (they stop at `abandon`); their done never runs. */
    reactor_free(s->r);
    http_zombies_free(s);
    while (s->nspare > 0)
        free(s->spare[--s->nspare]);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->reserve_fd >= 0)
        close(s->reserve_fd);
}

/* On control's loop: one more server has stopped; after the last, control stops too. */
static void server_ended(reactor_t *r, void *data)
{
    (void)data;
    if (--running == 0)
        reactor_stop(r);
}

static void *thread_main(void *arg)
{
    struct server *s = arg;
    reactor_run(s->r);
    if (reactor_post(control, server_ended, NULL) < 0)
        abort(); /* -ENOMEM: control would wait forever for this thread */
    return NULL;
}

/* ---- options -------------------------------------------------------------------------- */

static int parse_int(const char *v, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max)
        return -1;
    *out = (int)n;
    return 0;
}

static int parse_options(int argc, char **argv, struct options *opt)
{
    static const struct {
        const char *name;
        size_t off;
        int min, max;
    } ints[] = {
        {"--port", offsetof(struct options, port), 0, 65535},
        {"--threads", offsetof(struct options, threads), 1, 64},
        {"--max-conns", offsetof(struct options, max_conns), 1, 1000000},
        {"--max-jobs", offsetof(struct options, max_jobs), 1, 1000000},
        {"--max-body", offsetof(struct options, max_body), 0, (int)HTTP_MAX_BODY_LIMIT},
        {"--header-timeout-ms", offsetof(struct options, header_timeout_ms), 1, 3600000},
        {"--idle-timeout-ms", offsetof(struct options, idle_timeout_ms), 1, 3600000},
        {"--send-timeout-ms", offsetof(struct options, send_timeout_ms), 1, 3600000},
        {"--drain-timeout-ms", offsetof(struct options, drain_timeout_ms), 0, 3600000},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quiet")) {
            opt->quiet = 1;
            continue;
        }
        if (!strcmp(a, "--access-log")) {
            opt->access_log = 1;
            continue;
        }
        if (!strcmp(a, "--demo")) {
            opt->demo = 1;
            continue;
        }
        if (!strcmp(a, "--allow-root")) {
            opt->allow_root = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            exit(0);
        }
        if (!v) {
            fprintf(stderr, "reactor-httpd: %s: unknown option, or its value is missing\n", a);
            return -1;
        }
        i++;
        if (!strcmp(a, "--backend")) {
            opt->backend = v;
        } else if (!strcmp(a, "--bind")) {
            opt->bind = v;
        } else if (!strcmp(a, "--root")) {
            opt->root = v;
        } else if (!strcmp(a, "--user")) {
            opt->user = v;
        } else if (!strcmp(a, "--group")) {
            opt->group = v;
        } else {
            size_t k = 0;
            while (k < sizeof ints / sizeof ints[0] && strcmp(a, ints[k].name))
                k++;
            if (k == sizeof ints / sizeof ints[0]) {
                fprintf(stderr, "reactor-httpd: %s: unknown option\n", a);
                return -1;
            }
            if (parse_int(v, ints[k].min, ints[k].max, (int *)((char *)opt + ints[k].off)) < 0) {
                fprintf(stderr, "reactor-httpd: %s %s: not a number in %d..%d\n", a, v, ints[k].min,
                        ints[k].max);
                return -1;
            }
        }
    }
    if (opt->group && !opt->user) {
        fprintf(stderr, "reactor-httpd: --group %s: needs --user\n", opt->group);
        return -1;
    }
    if (opt->root) {
        /* Opened once: every request is resolved beneath this descriptor. */
        opt->root_fd = open(opt->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (opt->root_fd < 0) {
            fprintf(stderr, "reactor-httpd: --root %s: %s\n", opt->root, strerror(errno));
            return -1;
        }
        const char *off = getenv("RX_HTTPD_NO_OPENAT2"); /* the tests' way to the walk */
        int forced = off && *off && strcmp(off, "0") != 0;
        int rc = forced ? -ENOSYS : http_openat2_works(opt->root_fd);
        opt->root_openat2 = rc == 1;
        if (!opt->quiet && rc == 1)
            fprintf(stderr, "reactor-httpd: serving %s: names resolved beneath it with openat2\n",
                    opt->root);
        else if (!opt->quiet)
            fprintf(stderr,
                    "reactor-httpd: serving %s: names resolved beneath it component by component "
                    "(%s%s)\n",
                    opt->root, forced ? "RX_HTTPD_NO_OPENAT2 is set" : "no openat2 here: ",
                    forced ? "" : strerror(-rc));
    }
    return 0;
}

/* ---- privileges ------------------------------------------------------------------------- */

struct identity {
    uid_t uid;
    gid_t gid;
};

/* --user and --group to ids, before anything is bound: a typo ends the program at once. */
static int lookup_identity(const struct options *opt, struct identity *id)
{
    errno = 0;
    const struct passwd *pw = getpwnam(opt->user);
    if (!pw) {
        fprintf(stderr, "reactor-httpd: --user %s: %s\n", opt->user,
                errno ? strerror(errno) : "no such user");
        return -1;
    }
    id->uid = pw->pw_uid;
    id->gid = pw->pw_gid;
    if (id->uid == 0) {
        fprintf(stderr, "reactor-httpd: --user %s: is root (--allow-root runs as root)\n",
                opt->user);
        return -1;
    }
    if (opt->group) {
        errno = 0;
        const struct group *gr = getgrnam(opt->group);
        if (!gr) {
            fprintf(stderr, "reactor-httpd: --group %s: %s\n", opt->group,
                    errno ? strerror(errno) : "no such group");
            return -1;
        }
        id->gid = gr->gr_gid;
    }
    return 0;
}

/*
 * Once the ports are bound: the groups first (they need root), then the gid,
 * then the uid, each checked, since a process that believes it dropped root
 * and did not is worse than one that stops. Then root must be out of reach.
 * glibc and musl apply set*id to every thread of the process.
 */
static int drop_failed(const struct options *opt, const char *step)
{
    fprintf(stderr, "reactor-httpd: --user %s: %s: %s\n", opt->user, step, strerror(errno));
    return -1;
}

static int drop_privileges(const struct options *opt, const struct identity *id)
{
    if (setgroups(1, &id->gid) < 0)
        return drop_failed(opt, "setgroups");
    if (setgid(id->gid) < 0)
        return drop_failed(opt, "setgid");
    if (setuid(id->uid) < 0)
        return drop_failed(opt, "setuid");
    if (setuid(0) == 0 || seteuid(0) == 0 || getuid() != id->uid || geteuid() != id->uid ||
        getgid() != id->gid || getegid() != id->gid) {
        fprintf(stderr, "reactor-httpd: --user %s: root could be taken back\n", opt->user);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct options opt = {.bind = "127.0.0.1",
                                 .port = 8080,
                                 .threads = 1,
                                 .max_conns = 10000,
                                 .max_jobs = 64,
                                 .max_body = (int)HTTP_MAX_BODY,
                                 .header_timeout_ms = 10000,
                                 .idle_timeout_ms = 30000,
                                 .send_timeout_ms = 30000,
                                 .drain_timeout_ms = 5000,
                                 .root_fd = -1};
    if (parse_options(argc, argv, &opt) < 0) {
        fputs(usage_text, stderr);
        return 2;
    }
    struct identity id = {0, 0};
    if (opt.user && lookup_identity(&opt, &id) < 0)
        return 2;
    if (!opt.user && geteuid() == 0) {
        if (!opt.allow_root) {
            fputs("reactor-httpd: refusing to run as root, which can read every file: give --user "
                  "NAME (dropped to after binding) or --allow-root\n",
                  stderr);
            return 2;
        }
        if (!opt.quiet)
            fputs("reactor-httpd: running as root (--allow-root)\n", stderr);
    }
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-answer is an EPIPE, not a death */

    servers = calloc((size_t)opt.threads, sizeof *servers);
    threads = calloc((size_t)opt.threads, sizeof *threads);
    if (!servers || !threads)
        return 1;
    for (int i = 0; i < opt.threads; i++) {
        int lfd = listen_on(&opt);
        if (lfd < 0)
            return 1;
        nservers = i + 1;
        if (server_init(&servers[i], &opt, lfd) < 0)
            return 1;
        if (i == 0 && opt.port == 0)
            opt.port = bound_port(lfd); /* the other threads share the port the kernel chose */
    }
    if (opt.user && drop_privileges(&opt, &id) < 0)
        return 1;
    reactor_t *watcher = servers[0].r;
    if (opt.threads > 1) {
        control = watcher = reactor_new(opt.backend);
        if (!control) {
            fprintf(stderr, "reactor-httpd: backend: %s\n", reactor_strerror(errno));
            return 1;
        }
    }
    int rc = reactor_signal_add(watcher, SIGINT, on_signal, &opt);
    if (rc == 0)
        rc = reactor_signal_add(watcher, SIGTERM, on_signal, &opt);
    if (rc == 0)
        rc = reactor_signal_add(watcher, SIGUSR1, on_stats_signal, NULL);
    if (rc == 0)
        rc = reactor_signal_add(watcher, SIGALRM, on_stats_signal, NULL);
    if (rc < 0) {
        fprintf(stderr, "reactor-httpd: signals: %s\n", reactor_strerror(rc));
        return 1;
    }
    int v6 = strchr(opt.bind, ':') != NULL;
    printf("listening on http://%s%s%s:%d/ (backend %s)\n", v6 ? "[" : "", opt.bind, v6 ? "]" : "",
           opt.port, reactor_backend(servers[0].r));
    fflush(stdout);

    if (!control) {
        reactor_run(servers[0].r);
    } else {
        running = opt.threads;
        for (int i = 0; i < opt.threads; i++)
            if (pthread_create(&threads[i], NULL, thread_main, &servers[i]) != 0) {
                fprintf(stderr, "reactor-httpd: cannot start thread %d\n", i);
                return 1;
            }
        reactor_run(control);
        for (int i = 0; i < opt.threads; i++)
            pthread_join(threads[i], NULL);
    }
    for (int i = 0; i < opt.threads; i++)
        server_fini(&servers[i]);
    reactor_free(control);
    if (opt.root_fd >= 0)
        close(opt.root_fd);
    free(threads);
    free(servers);
    if (!opt.quiet)
        fprintf(stderr, "reactor-httpd: stopped\n");
    return fflush(stdout) == 0 ? 0 : 1;
}
