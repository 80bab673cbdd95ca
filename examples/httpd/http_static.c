/*
 * http_static.c - static files under --root for reactor-httpd.
 *
 * Containment is the kernel's, on descriptors: the percent-decoded path is
 * opened beneath the root's directory descriptor (http_resolve.c: openat2
 * RESOLVE_BENEATH, or a component-by-component walk with the same rule), so
 * no name is resolved twice and nothing swapped in between can lead out.
 * "../", "%2e%2e/", encoded slashes and symlinks out of the root all end in
 * EXDEV there; a target whose ".." segments climb above the root is 400
 * before any open, as nginx answers it. A directory named with its slash is
 * served through its index.html, resolved the same way; named without it,
 * it is redirected (301) to the slash form. The answer itself (validators,
 * ranges) is http_cond.c's. The file is opened O_NONBLOCK (a FIFO must not block the loop
 * until a writer comes) and fstat'ed: only regular files are served, the
 * rest is 403. Out of descriptors or memory while opening is 503 with
 * Retry-After (a 404 would be cached). The body goes out with sendfile(2) on
 * Linux (no copy through user space), read+send elsewhere.
 */
#define _GNU_SOURCE /* sendfile(2) via <sys/sendfile.h> */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/sendfile.h>
#endif

#include "http_conn.h"

static const char *mime_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".txt", "text/plain; charset=utf-8"},
        {".css", "text/css"},
        {".js", "text/javascript"},
        {".json", "application/json"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".svg", "image/svg+xml"},
        {".ico", "image/x-icon"},
        {".webp", "image/webp"},
        {".pdf", "application/pdf"},
        {".xml", "application/xml"},
        {".wasm", "application/wasm"},
        {".mjs", "text/javascript"},
        {".woff2", "font/woff2"},
        {".mp4", "video/mp4"},
    };
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes src into dst (size cap); returns -1 on a bad escape or NUL, -2 if too long. */
static int url_decode(struct http_str src, char *dst, size_t cap)
{
    size_t o = 0;
    dst[0] = 0; /* terminated whatever the outcome */
    for (size_t i = 0; i < src.n; i++) {
        int ch = (unsigned char)src.p[i];
        if (ch == '%') {
            if (i + 2 >= src.n)
                return -1;
            int hi = hexval((unsigned char)src.p[i + 1]), lo = hexval((unsigned char)src.p[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (ch == 0)
            return -1;
        if (o + 1 >= cap)
            return -2;
        dst[o++] = (char)ch;
    }
    dst[o] = 0;
    return 0;
}

static void respond_status(struct conn *c, const struct http_request *req, int status)
{
    const char *body = status == 403   ? "403 Forbidden\n"
                       : status == 400 ? "400 Bad Request\n"
                       : status == 503 ? "503 Service Unavailable\n"
                                       : "404 Not Found\n";
    /* Retry-After: the descriptors or the memory may be back in a moment (RFC 9110 15.6.4). */
    http_respond(c, req, status, "text/plain; charset=utf-8", body, strlen(body),
                 status == 503 ? "Retry-After: 1\r\n" : NULL);
}

/* The answer to an open that failed with err (see docs/httpd.md, "What is served"). */
static int open_failure_status(int err)
{
    switch (err) {
    case EMFILE: /* out of resources: not the file's fault, so not a 404 a cache keeps */
    case ENFILE:
    case ENOMEM:
    case EAGAIN: /* openat2 could not prove a ".." stayed beneath the root, a rename raced it */
        return 503;
    case EACCES:
    case EPERM:
    case EXDEV: /* a way out of the root: "..", an absolute symlink, one climbing out */
    case ELOOP: /* more than 40 symlinks, or a /proc magic link */
    case ENXIO: /* a socket, or a device without its driver */
    case ENODEV:
        return 403;
    default: /* ENOENT, ENOTDIR, ENAMETOOLONG, ... */
        return 404;
    }
}

/* Opens rel beneath the root and fstats it: a descriptor, or -errno. */
static int open_file(const struct options *opt, const char *rel, struct stat *st)
{
    int fd = http_open_beneath(opt->root_fd, opt->root_openat2, rel,
                               O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0 && fstat(fd, st) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

/* Whether a decoded path's ".." segments climb above its start (RFC 3986 5.2.4 would clamp
 * them; nginx, like us, answers such a target 400 instead of guessing what was meant). */
static int climbs_above_root(const char *path, size_t len)
{
    int depth = 0;
    for (size_t i = 0; i < len;) {
        size_t s = i;
        while (i < len && path[i] != '/')
            i++;
        size_t n = i - s;
        if (n == 2 && path[s] == '.' && path[s + 1] == '.') {
            if (--depth < 0)
                return 1;
        } else if (n && !(n == 1 && path[s] == '.')) {
            depth++;
        }
        i++; /* the slash */
    }
    return 0;
}

/*
 * A directory named without its slash: its relative links would resolve one
 * level up, so it is sent to the slash form (RFC 9110 15.4.2), query kept.
 * Leading slashes are folded to one, so that "//host" cannot become a
 * scheme-relative Location that points at another site.
 */
static void redirect_to_slash(struct conn *c, const struct http_request *req)
{
    struct http_str p = req->path;
    while (p.n > 1 && p.p[1] == '/')
        p.p++, p.n--;
    char loc[320]; /* the answer's head must fit http_respond's buffer */
    int has_query = req->query.n || memchr(req->target.p, '?', req->target.n) != NULL;
    int n = snprintf(loc, sizeof loc, "Location: %.*s/%s%.*s\r\n", (int)p.n, p.p,
                     has_query ? "?" : "", (int)req->query.n, req->query.p);
    if (n < 0 || (size_t)n >= sizeof loc) {
        http_respond_error(c, 414);
        return;
    }
    static const char body[] = "301 Moved Permanently\n";
    http_respond(c, req, 301, "text/plain; charset=utf-8", body, sizeof body - 1, loc);
}

void http_serve_file(struct conn *c, const struct http_request *req)
{
    const struct options *opt = c->s->opt;
    char rel[PATH_MAX] = {0}; /* zeroed: the analyzers cannot follow url_decode */
    static const char index_name[] = "index.html";
    int dec = url_decode(req->path, rel, sizeof rel - sizeof index_name - 1);
    if (dec == -2) {
        http_respond(c, req, 414, "text/plain; charset=utf-8", "414 URI Too Long\n", 17, NULL);
        return;
    }
    size_t n = dec < 0 ? 0 : strlen(rel);
    if (dec < 0 || rel[0] != '/' || climbs_above_root(rel, n)) {
        respond_status(c, req, 400);
        return;
    }
    /* "/dir/" names its index at once: one open, not two. */
    int dir_asked = rel[n - 1] == '/';
    if (dir_asked)
        memcpy(rel + n, index_name, sizeof index_name);
    struct stat st;
    int fd = open_file(opt, rel, &st);
    if (fd >= 0 && S_ISDIR(st.st_mode) && !dir_asked) {
        close(fd);
        redirect_to_slash(c, req);
        return;
    }
    if (fd < 0) {
        respond_status(c, req, open_failure_status(-fd));
        return;
    }
    if (!S_ISREG(st.st_mode)) { /* a FIFO, socket, device, or an index.html that is not a file */
        close(fd);
        respond_status(c, req, 403);
        return;
    }
    struct http_file_answer a;
    http_file_answer(req, &st, &a);
    /* The type comes from the name asked for (as nginx's does), not from a symlink's target. */
    if (a.status == 304) {
        /* RFC 9110 8.6: a 304's Content-Length, if any, must be what a 200 would say. */
        close(fd);
        http_respond(c, req, 304, mime_type(rel), NULL, (size_t)st.st_size, a.headers);
        return;
    }
    if (a.status == 412 || a.status == 416) {
        close(fd);
        const char *body =
            a.status == 412 ? "412 Precondition Failed\n" : "416 Range Not Satisfiable\n";
        http_respond(c, req, a.status, "text/plain; charset=utf-8", body, strlen(body), a.headers);
        return;
    }
    /* Headers now, the body from the file once they are written (see conn_flush). */
    http_respond(c, req, a.status, mime_type(rel), NULL, (size_t)(a.end - a.start), a.headers);
    if (req->method == HTTP_HEAD || a.end == a.start) {
        close(fd);
        return;
    }
    c->file_fd = fd;
    c->file_off = a.start;
    c->file_end = a.end;
}

int http_send_file_chunk(struct conn *c)
{
    while (c->file_off < c->file_end) {
#ifdef __linux__
        ssize_t n = sendfile(c->fd, c->file_fd, &c->file_off, (size_t)(c->file_end - c->file_off));
#else
        char buf[65536];
        size_t want = (size_t)(c->file_end - c->file_off);
        ssize_t n = pread(c->file_fd, buf, want < sizeof buf ? want : sizeof buf, c->file_off);
        if (n > 0) {
            ssize_t w = send(c->fd, buf, (size_t)n, 0); /* SIGPIPE is ignored */
            if (w > 0)
                c->file_off += w;
            n = w;
        }
#endif
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* the file shrank, or the client went away */
    }
    close(c->file_fd);
    c->file_fd = -1;
    return 0;
}
