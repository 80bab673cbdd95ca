/*
 * http_parser.c - see http_parser.h. Follows RFC 9112's message grammar
 * strictly where leniency is a known attack surface (no whitespace before the
 * colon, no obsolete line folding, no bare CR, a single valid Content-Length)
 * and refuses what this server does not implement with a clear status:
 * chunked request bodies get 501, as RFC 9112 section 6.1 allows a server
 * that does not understand a transfer coding.
 */
#include "http_parser.h"

#include <string.h>

static const struct {
    const char *name;
    enum http_method method;
} methods[] = {
    {"GET", HTTP_GET}, {"HEAD", HTTP_HEAD},     {"POST", HTTP_POST},
    {"PUT", HTTP_PUT}, {"DELETE", HTTP_DELETE}, {"OPTIONS", HTTP_OPTIONS},
};

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int http_str_ieq(struct http_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i]))
            return 0;
    return 1;
}

const struct http_str *http_header_get(const struct http_request *req, const char *name)
{
    for (int i = 0; i < req->nheaders; i++)
        if (http_str_ieq(req->headers[i].name, name))
            return &req->headers[i].value;
    return NULL;
}

/* RFC 9110 token characters: what a method or a header name may contain. */
static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Finds the end of a line (LF, CR required before it); returns its index or -1. */
static long find_eol(const char *buf, size_t from, size_t len)
{
    const char *lf = memchr(buf + from, '\n', len - from);
    return lf ? lf - buf : -1;
}

static long parse_request_line(const char *buf, size_t eol, struct http_request *req)
{
    if (eol < 1 || buf[eol - 1] != '\r')
        return -400;
    size_t end = eol - 1, i = 0;
    while (i < end && is_tchar((unsigned char)buf[i]))
        i++;
    if (i == 0 || i >= end || buf[i] != ' ')
        return -400;
    size_t mlen = i;
    int found = 0;
    for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++)
        if (strlen(methods[k].name) == mlen && memcmp(methods[k].name, buf, mlen) == 0) {
            req->method = methods[k].method;
            found = 1;
        }
    size_t t0 = ++i;
    while (i < end && buf[i] != ' ') {
        if ((unsigned char)buf[i] <= 0x20 || buf[i] == 0x7f)
            return -400;
        i++;
    }
    if (i == t0 || i >= end)
        return -400;
    req->target = (struct http_str){buf + t0, i - t0};
    i++;
    if (end - i != 8 || memcmp(buf + i, "HTTP/", 5) != 0 || buf[i + 6] != '.' || buf[i + 5] < '0' ||
        buf[i + 5] > '9' || buf[i + 7] < '0' || buf[i + 7] > '9')
        return -400;
    if (buf[i + 5] != '1' || (buf[i + 7] != '0' && buf[i + 7] != '1'))
        return -505;
    if (!found)
        return -501; /* a well-formed request with a method we do not implement */
    req->minor = buf[i + 7] - '0';
    const char *q = memchr(req->target.p, '?', req->target.n);
    req->path = (struct http_str){req->target.p, q ? (size_t)(q - req->target.p) : req->target.n};
    req->query =
        q ? (struct http_str){q + 1, req->target.n - req->path.n - 1} : (struct http_str){q, 0};
    return 0;
}

static long parse_header(const char *buf, size_t start, size_t eol, struct http_request *req)
{
    if (buf[eol - 1] != '\r')
        return -400;
    size_t end = eol - 1, i = start;
    if (buf[i] == ' ' || buf[i] == '\t')
        return -400; /* obsolete line folding */
    while (i < end && is_tchar((unsigned char)buf[i]))
        i++;
    if (i == start || i >= end || buf[i] != ':')
        return -400;
    if (req->nheaders == HTTP_MAX_HEADERS)
        return -431;
    struct http_header *h = &req->headers[req->nheaders++];
    h->name = (struct http_str){buf + start, i - start};
    i++;
    while (i < end && (buf[i] == ' ' || buf[i] == '\t'))
        i++;
    size_t v_end = end;
    while (v_end > i && (buf[v_end - 1] == ' ' || buf[v_end - 1] == '\t'))
        v_end--;
    for (size_t k = i; k < v_end; k++)
        if (buf[k] == '\r' || buf[k] == 0)
            return -400;
    h->value = (struct http_str){buf + i, v_end - i};
    return 0;
}

static int has_token(struct http_str v, const char *tok)
{
    size_t i = 0;
    while (i < v.n) {
        while (i < v.n && (v.p[i] == ' ' || v.p[i] == ','))
            i++;
        size_t s = i;
        while (i < v.n && v.p[i] != ',')
            i++;
        size_t e = i;
        while (e > s && v.p[e - 1] == ' ')
            e--;
        if (http_str_ieq((struct http_str){v.p + s, e - s}, tok))
            return 1;
    }
    return 0;
}

/* Content-Length: digits only, one value, within the limit. Returns the length or -status. */
static long body_length(const struct http_request *req)
{
    long len = 0;
    int seen = 0;
    for (int i = 0; i < req->nheaders; i++) {
        if (!http_str_ieq(req->headers[i].name, "content-length"))
            continue;
        struct http_str v = req->headers[i].value;
        long n = 0;
        if (v.n == 0 || v.n > 10)
            return v.n > 10 ? -413 : -400;
        for (size_t k = 0; k < v.n; k++) {
            if (v.p[k] < '0' || v.p[k] > '9')
                return -400;
            n = n * 10 + (v.p[k] - '0');
        }
        if (seen && n != len)
            return -400; /* conflicting lengths: a request smuggling vector */
        seen = 1;
        len = n;
    }
    return len > (long)HTTP_MAX_BODY ? -413 : len;
}

long http_parse_request(const char *buf, size_t len, struct http_request *req)
{
    memset(req, 0, sizeof *req);
    long eol = find_eol(buf, 0, len);
    if (eol < 0)
        return len > HTTP_MAX_REQUEST_LINE ? -414 : 0;
    if (eol > HTTP_MAX_REQUEST_LINE)
        return -414;
    long rc = parse_request_line(buf, (size_t)eol, req);
    if (rc < 0)
        return rc;
    size_t pos = (size_t)eol + 1;
    for (;;) {
        long e = find_eol(buf, pos, len);
        if (e < 0)
            return len - pos > HTTP_MAX_HEADER_BYTES ? -431 : 0;
        if ((size_t)e - (size_t)eol > HTTP_MAX_HEADER_BYTES || (size_t)e > HTTP_MAX_HEADER_BYTES)
            return -431;
        if ((size_t)e == pos + 1 && buf[pos] == '\r') {
            pos = (size_t)e + 1;
            break;
        }
        if ((size_t)e == pos)
            return -400; /* a bare LF */
        if ((rc = parse_header(buf, pos, (size_t)e, req)) < 0)
            return rc;
        pos = (size_t)e + 1;
    }
    const struct http_str *te = http_header_get(req, "transfer-encoding");
    if (te)
        return has_token(*te, "chunked") ? -501 : -400;
    long blen = body_length(req);
    if (blen < 0)
        return blen;
    if (req->minor == 1 && !http_header_get(req, "host"))
        return -400; /* RFC 9112 section 3.2: a 1.1 request must name its host */
    if (len - pos < (size_t)blen)
        return 0;
    req->body = (struct http_str){buf + pos, (size_t)blen};
    const struct http_str *conn = http_header_get(req, "connection");
    req->keep_alive = req->minor == 1 ? !(conn && has_token(*conn, "close"))
                                      : (conn && has_token(*conn, "keep-alive"));
    return (long)(pos + (size_t)blen);
}
