/*
 * http_cond.c - what a file's answer is, given the request's conditions
 * and range: RFC 9110 section 13 (validators, preconditions) and 14 (ranges).
 *
 * The validators are a strong ETag made of the inode, the size and the
 * modification time (as nginx makes its own of the last two), and
 * Last-Modified. The preconditions are evaluated in the order of RFC 9110
 * 13.2.2: If-Match, else If-Unmodified-Since (412 when they fail); then
 * If-None-Match, else If-Modified-Since (304 for GET and HEAD). A Range is
 * honoured for a GET of one range of bytes only: several ranges get the whole
 * file (200), which RFC 9110 14.2 allows and which spares us
 * multipart/byteranges; a range that cannot be satisfied, or a bytes range
 * that does not parse (RFC 9110 15.5.17: invalid ranges), is 416, as nginx
 * answers it; a Range of another unit is ignored.
 */
#define _GNU_SOURCE /* strptime, timegm */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "http_conn.h"

/* An HTTP-date in any of its three forms (RFC 9110 5.6.7); -1 if it is none of them. */
time_t http_parse_date(struct http_str v)
{
    static const char *const forms[] = {
        "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        "%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        "%a %b %e %H:%M:%S %Y",      /* asctime: Sun Nov  6 08:49:37 1994 */
    };
    char buf[64];
    if (v.n == 0 || v.n >= sizeof buf)
        return -1;
    memcpy(buf, v.p, v.n);
    buf[v.n] = 0;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(buf, forms[i], &tm);
        if (end && !*end)
            return timegm(&tm);
    }
    return -1;
}

/* Compares one entity-tag of a list with ours: strongly (both strong, same), or weakly. */
static int tag_matches(struct http_str t, const char *etag, int weak)
{
    int t_weak = t.n >= 2 && t.p[0] == 'W' && t.p[1] == '/';
    if (t_weak) {
        if (!weak)
            return 0;
        t.p += 2;
        t.n -= 2;
    }
    return t.n == strlen(etag) && memcmp(t.p, etag, t.n) == 0;
}

/* Whether the If-Match / If-None-Match list `v` names our ETag ("*" names any). */
static int list_matches(struct http_str v, const char *etag, int weak)
{
    size_t i = 0;
    while (i < v.n) {
        while (i < v.n && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
            i++;
        size_t s = i;
        if (i < v.n && v.p[i] == '*')
            return 1;
        if (i + 1 < v.n && v.p[i] == 'W' && v.p[i + 1] == '/')
            i += 2;
        if (i < v.n && v.p[i] == '"') {
            const char *q = memchr(v.p + i + 1, '"', v.n - i - 1);
            if (!q)
                return 0;
            i = (size_t)(q - v.p) + 1;
        } else {
            while (i < v.n && v.p[i] != ',')
                i++; /* not an entity-tag: matches nothing */
            continue;
        }
        if (tag_matches((struct http_str){v.p + s, i - s}, etag, weak))
            return 1;
    }
    return 0;
}

/* Reads a decimal position; returns the index after it, or 0 if there is none or it overflows. */
static size_t read_pos(struct http_str v, size_t i, off_t *out)
{
    size_t s = i;
    uintmax_t n = 0;
    for (; i < v.n && v.p[i] >= '0' && v.p[i] <= '9'; i++) {
        if (n > (UINTMAX_MAX - 9) / 10)
            return 0;
        n = n * 10 + (uintmax_t)(v.p[i] - '0');
    }
    if (i == s || n > (uintmax_t)INT64_MAX)
        return 0;
    *out = (off_t)n;
    return i;
}

enum { RANGE_IGNORE, RANGE_ONE, RANGE_NONE_SATISFIABLE };

/* "bytes=first-last", "bytes=first-" or "bytes=-suffix", as [*start, *end). */
static int parse_range(struct http_str v, off_t size, off_t *start, off_t *end)
{
    static const char unit[] = "bytes=";
    if (v.n < sizeof unit - 1 || strncasecmp(v.p, unit, sizeof unit - 1) != 0)
        return RANGE_IGNORE; /* another unit */
    size_t i = sizeof unit - 1;
    if (memchr(v.p + i, ',', v.n - i))
        return RANGE_IGNORE; /* several ranges: the whole file */
    off_t a = 0, b = 0;
    if (i < v.n && v.p[i] == '-') {
        size_t k = read_pos(v, i + 1, &b);
        if (!k || k != v.n)
            return RANGE_NONE_SATISFIABLE;
        if (b == 0 || size == 0)
            return RANGE_NONE_SATISFIABLE;
        *start = b < size ? size - b : 0;
        *end = size;
        return RANGE_ONE;
    }
    size_t k = read_pos(v, i, &a);
    if (!k || k >= v.n || v.p[k] != '-')
        return RANGE_NONE_SATISFIABLE;
    if (k + 1 == v.n) {
        b = size - 1; /* open-ended */
    } else {
        size_t k2 = read_pos(v, k + 1, &b);
        if (!k2 || k2 != v.n || b < a)
            return RANGE_NONE_SATISFIABLE;
    }
    if (a >= size)
        return RANGE_NONE_SATISFIABLE;
    *start = a;
    *end = b < size ? b + 1 : size;
    return RANGE_ONE;
}

/* If-Range (RFC 9110 13.1.5): an ETag must match strongly, a date exactly. */
static int if_range_holds(const struct http_request *req, const char *etag, time_t mtime)
{
    const struct http_str *v = http_header_get(req, "if-range");
    if (!v)
        return 1;
    if (v->n && (v->p[0] == '"' || v->p[0] == 'W'))
        return tag_matches(*v, etag, 0);
    return http_parse_date(*v) == mtime;
}

void http_file_answer(const struct http_request *req, const struct stat *st,
                      struct http_file_answer *a)
{
    char etag[64], lm[40];
    snprintf(etag, sizeof etag, "\"%jx-%jx-%jx\"", (uintmax_t)st->st_ino, (uintmax_t)st->st_size,
             (uintmax_t)st->st_mtime);
    struct tm tm;
    gmtime_r(&st->st_mtime, &tm);
    strftime(lm, sizeof lm, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    a->status = 200;
    a->start = 0;
    a->end = st->st_size;
    int n = snprintf(a->headers, sizeof a->headers,
                     "ETag: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\n", etag, lm);
    const struct http_str *v;
    int get_or_head = req->method == HTTP_GET || req->method == HTTP_HEAD;
    if ((v = http_header_get(req, "if-match"))) {
        if (!list_matches(*v, etag, 0)) {
            a->status = 412;
            return;
        }
    } else if ((v = http_header_get(req, "if-unmodified-since"))) {
        time_t t = http_parse_date(*v);
        if (t != -1 && st->st_mtime > t) {
            a->status = 412;
            return;
        }
    }
    if ((v = http_header_get(req, "if-none-match"))) {
        if (list_matches(*v, etag, 1)) {
            a->status = get_or_head ? 304 : 412;
            return;
        }
    } else if (get_or_head && (v = http_header_get(req, "if-modified-since"))) {
        time_t t = http_parse_date(*v);
        if (t != -1 && st->st_mtime <= t) {
            a->status = 304;
            return;
        }
    }
    if (req->method != HTTP_GET || !(v = http_header_get(req, "range")) ||
        !if_range_holds(req, etag, st->st_mtime))
        return;
    switch (parse_range(*v, st->st_size, &a->start, &a->end)) {
    case RANGE_ONE:
        a->status = 206;
        snprintf(a->headers + n, sizeof a->headers - (size_t)n,
                 "Content-Range: bytes %jd-%jd/%jd\r\n", (intmax_t)a->start, (intmax_t)a->end - 1,
                 (intmax_t)st->st_size);
        break;
    case RANGE_NONE_SATISFIABLE:
        a->status = 416;
        a->start = a->end = 0;
        snprintf(a->headers + n, sizeof a->headers - (size_t)n, "Content-Range: bytes */%jd\r\n",
                 (intmax_t)st->st_size);
        break;
    default:
        break;
    }
}
