/*
 * http_static.c - static files under --root for reactor-httpd.
 *
 * Containment is checked on the resolved path, not the request text: the
 * path is percent-decoded, joined to the root and passed through realpath(3),
 * which removes "..", "." and every symlink; the result must still lie under
 * the root's own realpath. That one check covers "../", "%2e%2e/", encoded
 * slashes and symlinks pointing out; a directory's index.html is resolved and
 * checked the same way. Not yet closed: the name is resolved, then opened
 * again, so a writer under the root can swap a component for a symlink in
 * between (resolving from a root descriptor with openat2 RESOLVE_BENEATH is
 * the fix). Only regular files are served. The body goes out with sendfile(2) on
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

/* Percent-decodes src into dst (size cap); returns -1 on a bad escape, NUL, or overflow. */
static int url_decode(struct http_str src, char *dst, size_t cap)
{
    size_t o = 0;
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
        if (ch == 0 || o + 1 >= cap)
            return -1;
        dst[o++] = (char)ch;
    }
    dst[o] = 0;
    return 0;
}

/* Whether a decoded path's ".." segments climb above its start (RFC 3986 5.2.4 would clamp
 * them; nginx, like us, answers such a target 400 instead of guessing what was meant). */
static int climbs_above_root(const char *path)
{
    int depth = 0;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (--depth < 0)
                return 1;
        } else if (n && !(n == 1 && p[0] == '.')) {
            depth++;
        }
        p += n;
    }
    return 0;
}

static int under_root(const char *real, const char *root)
{
    size_t n = strlen(root);
    if (strncmp(real, root, n) != 0)
        return 0;
    return real[n] == 0 || real[n] == '/' || (n == 1 && root[0] == '/');
}

static void respond_status(struct conn *c, const struct http_request *req, int status)
{
    const char *body = status == 403   ? "403 Forbidden\n"
                       : status == 400 ? "400 Bad Request\n"
                                       : "404 Not Found\n";
    http_respond(c, req, status, "text/plain; charset=utf-8", body, strlen(body), NULL);
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
    const char *root = c->s->opt->root_real;
    char rel[PATH_MAX], joined[PATH_MAX * 2], real[PATH_MAX];
    if (url_decode(req->path, rel, sizeof rel) < 0 || rel[0] != '/' || climbs_above_root(rel)) {
        respond_status(c, req, 400);
        return;
    }
    snprintf(joined, sizeof joined, "%s%s", root, rel);
    if (!realpath(joined, real)) {
        respond_status(c, req, errno == EACCES ? 403 : 404);
        return;
    }
    if (!under_root(real, root)) {
        respond_status(c, req, 403);
        return;
    }
    struct stat st;
    if (stat(real, &st) == 0 && S_ISDIR(st.st_mode) && req->path.p[req->path.n - 1] != '/') {
        redirect_to_slash(c, req);
        return;
    }
    if (stat(real, &st) == 0 && S_ISDIR(st.st_mode)) {
        /* The index file is a name like any other: a symlink there must not
         * lead out of the root, so it is resolved and checked in turn. */
        char index[PATH_MAX + 16];
        snprintf(index, sizeof index, "%s/index.html", real);
        if (!realpath(index, real)) {
            respond_status(c, req, errno == EACCES ? 403 : 404);
            return;
        }
        if (!under_root(real, root)) {
            respond_status(c, req, 403);
            return;
        }
    }
    /* O_NONBLOCK: opening a FIFO would otherwise block the loop until a
     * writer came; it is refused below, after fstat, as any non-regular file. */
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int status = fd < 0 && errno == EACCES ? 403 : 404;
        if (fd >= 0)
            close(fd);
        respond_status(c, req, fd < 0 ? status : 403);
        return;
    }
    struct http_file_answer a;
    http_file_answer(req, &st, &a);
    if (a.status == 304) {
        /* RFC 9110 8.6: a 304's Content-Length, if any, must be what a 200 would say. */
        close(fd);
        http_respond(c, req, 304, mime_type(real), NULL, (size_t)st.st_size, a.headers);
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
    http_respond(c, req, a.status, mime_type(real), NULL, (size_t)(a.end - a.start), a.headers);
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
