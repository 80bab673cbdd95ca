/*
 * http_parser.c - see http_parser.h for what is accepted and refused.
 *
 * The parser is stateless: each call re-reads the request from its first
 * byte. That keeps it small and impossible to desynchronise from the buffer;
 * the caller avoids quadratic cost on a client that sends a byte at a time by
 * calling again only when a line has completed or a limit may be crossed
 * (see `need` and the server's conn_worth_parsing()).
 */
#include "http_parser.h"

#include <string.h>

#define MAX_EMPTY_LINES 8 /* before the request-line; a client sending more is broken */

static const char *const method_names[] = {
    [HTTP_GET] = "GET", [HTTP_HEAD] = "HEAD",     [HTTP_POST] = "POST",
    [HTTP_PUT] = "PUT", [HTTP_DELETE] = "DELETE", [HTTP_OPTIONS] = "OPTIONS",
};

const char *http_method_name(enum http_method m)
{
    return method_names[m];
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ieq(struct http_str s, const char *lit, size_t n)
{
    if (s.n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i]))
            return 0;
    return 1;
}

/* For a literal: its length is known here, so most names are refused on length alone. */
#define IEQ(s, lit) ieq(s, lit, sizeof lit - 1)

int http_str_ieq(struct http_str s, const char *lit)
{
    return ieq(s, lit, strlen(lit));
}

const struct http_str *http_header_get(const struct http_request *req, const char *name)
{
    for (int i = 0; i < req->nheaders; i++)
        if (http_str_ieq(req->headers[i].name, name))
            return &req->headers[i].value;
    return NULL;
}

static int host_count(const struct http_request *req)
{
    int n = 0;
    for (int i = 0; i < req->nheaders; i++)
        n += IEQ(req->headers[i].name, "host");
    return n;
}

static int is_hex(unsigned char c)
{
    return (unsigned)(c - '0') < 10u || (unsigned)((c | 32) - 'a') < 6u;
}

/* RFC 3986's unreserved and sub-delims: what a reg-name holds besides %HH. */
static int is_reg_name_char(unsigned char c)
{
    static const char other[] = "-._~!$&'()*+,;=";
    return (unsigned)((c | 32) - 'a') < 26u || (unsigned)(c - '0') < 10u ||
           (c && memchr(other, c, sizeof other - 1) != NULL);
}

/*
 * Host = uri-host [ ":" port ]. An IP-literal is checked for its characters
 * only (hex digits, ':' and '.', or an IPvFuture's), not parsed as an address:
 * the value is never used to connect anywhere, only to refuse what no client
 * would send. An IPv4 address is a reg-name by its characters.
 */
static int host_is_valid(struct http_str v)
{
    size_t i = 0;
    if (v.n == 0)
        return 0;
    if (v.p[0] == '[') {
        for (i = 1; i < v.n && v.p[i] != ']'; i++)
            if (!is_hex((unsigned char)v.p[i]) && v.p[i] != ':' && v.p[i] != '.' &&
                !is_reg_name_char((unsigned char)v.p[i]))
                return 0;
        if (i == v.n || i == 1)
            return 0; /* no closing bracket, or nothing inside */
        i++;
    } else {
        for (; i < v.n && v.p[i] != ':'; i++) {
            if (v.p[i] == '%') {
                if (i + 2 >= v.n || !is_hex((unsigned char)v.p[i + 1]) ||
                    !is_hex((unsigned char)v.p[i + 2]))
                    return 0;
                i += 2;
            } else if (!is_reg_name_char((unsigned char)v.p[i])) {
                return 0;
            }
        }
    }
    if (i == v.n)
        return 1;
    if (v.p[i] != ':' || v.n - i - 1 > 5)
        return 0; /* port = *DIGIT; five digits are enough for any port */
    for (i++; i < v.n; i++)
        if ((unsigned)(v.p[i] - '0') >= 10u)
            return 0;
    return 1;
}

/* RFC 9110 token characters: what a method or a header name may contain. */
static int is_tchar(unsigned char c)
{
    static const char special[] = "!#$%&'*+-.^_`|~";
    if ((unsigned)((c | 32) - 'a') < 26u || (unsigned)(c - '0') < 10u)
        return 1; /* letters and digits, the common case, without a search */
    return c > ' ' && c < 0x7f && memchr(special, c, sizeof special - 1) != NULL;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Calls fn on each element of a comma-separated list header value, trimmed;
 * stops and returns 1 when fn does. Empty elements are skipped (RFC 9110 5.6.1).
 */
static int each_element(struct http_str v, int (*fn)(struct http_str el, void *arg), void *arg)
{
    size_t i = 0;
    while (i < v.n) {
        size_t s = i;
        while (i < v.n && v.p[i] != ',')
            i++;
        size_t e = i++;
        while (s < e && is_ows(v.p[s]))
            s++;
        while (e > s && is_ows(v.p[e - 1]))
            e--;
        if (e > s && fn((struct http_str){v.p + s, e - s}, arg))
            return 1;
    }
    return 0;
}

static int element_is(struct http_str el, void *tok)
{
    return http_str_ieq(el, tok);
}

/* Whether any Connection header lists `tok` (close, keep-alive). */
static int connection_has(const struct http_request *req, const char *tok)
{
    for (int i = 0; i < req->nheaders; i++)
        if (IEQ(req->headers[i].name, "connection") &&
            each_element(req->headers[i].value, element_is, (void *)tok))
            return 1;
    return 0;
}

/* Splits the target into path and query; origin-form, absolute-form or "*". */
static long split_target(struct http_request *req)
{
    struct http_str t = req->target;
    size_t i = 0;
    if (t.p[0] != '/') {
        if (t.n == 1 && t.p[0] == '*') {
            if (req->method != HTTP_OPTIONS)
                return -400;
            req->path = t;
            req->query = (struct http_str){"", 0};
            return 0;
        }
        /* absolute-form: "http://host[:port]/path?query" (RFC 9112 3.2.2) */
        size_t scheme = t.n >= 7 && IEQ(((struct http_str){t.p, 7}), "http://")    ? 7
                        : t.n >= 8 && IEQ(((struct http_str){t.p, 8}), "https://") ? 8
                                                                                   : 0;
        if (!scheme)
            return -400;
        i = scheme;
        while (i < t.n && t.p[i] != '/' && t.p[i] != '?')
            i++;
        if (i == scheme)
            return -400; /* no host */
    }
    size_t p0 = i;
    while (i < t.n && t.p[i] != '?')
        i++;
    req->path = i > p0 ? (struct http_str){t.p + p0, i - p0} : (struct http_str){"/", 1};
    req->query = i < t.n ? (struct http_str){t.p + i + 1, t.n - i - 1} : (struct http_str){"", 0};
    return 0;
}

/* Parses "METHOD SP target SP HTTP/1.x" in buf[start..eol), eol being the LF. */
static long parse_request_line(const char *buf, size_t start, size_t eol, struct http_request *req)
{
    if (eol == start || buf[eol - 1] != '\r')
        return -400;
    size_t end = eol - 1, i = start;
    while (i < end && is_tchar((unsigned char)buf[i]))
        i++;
    if (i == start || i >= end || buf[i] != ' ')
        return -400;
    size_t mlen = i - start;
    int method = -1;
    static const unsigned char method_lens[] = {
        [HTTP_GET] = 3, [HTTP_HEAD] = 4,   [HTTP_POST] = 4,
        [HTTP_PUT] = 3, [HTTP_DELETE] = 6, [HTTP_OPTIONS] = 7,
    };
    for (size_t k = 0; k < sizeof method_names / sizeof method_names[0] && method < 0; k++)
        if (method_lens[k] == mlen && memcmp(method_names[k], buf + start, mlen) == 0)
            method = (int)k;
    size_t t0 = ++i;
    while (i < end && buf[i] != ' ') {
        unsigned char c = (unsigned char)buf[i];
        if (c <= 0x20 || c >= 0x7f)
            return -400; /* request-target is visible ASCII only */
        i++;
    }
    if (i == t0 || i >= end)
        return -400;
    req->target = (struct http_str){buf + t0, i - t0};
    const char *v = buf + i + 1;
    if (end - (i + 1) != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' ||
        v[5] > '9' || v[7] < '0' || v[7] > '9')
        return -400;
    if (v[5] != '1')
        return -505;
    if (method < 0)
        return -501; /* a well-formed request with a method we do not implement */
    req->method = (enum http_method)method;
    req->minor = v[7] == '0' ? 0 : 1; /* 1.2 .. 1.9 are understood as 1.1 (RFC 9110 2.5) */
    return split_target(req);
}

/* Parses "name: value" in buf[start..eol), eol being the LF. */
static long parse_header(const char *buf, size_t start, size_t eol, struct http_request *req)
{
    if (buf[eol - 1] != '\r')
        return -400;
    size_t end = eol - 1, i = start;
    while (i < end && is_tchar((unsigned char)buf[i]))
        i++;
    /* Also refuses obsolete line folding and space before the colon. */
    if (i == start || i >= end || buf[i] != ':')
        return -400;
    if (req->nheaders == HTTP_MAX_HEADERS)
        return -431;
    struct http_header *h = &req->headers[req->nheaders++];
    h->name = (struct http_str){buf + start, i - start};
    i++;
    while (i < end && is_ows(buf[i]))
        i++;
    size_t v_end = end;
    while (v_end > i && is_ows(buf[v_end - 1]))
        v_end--;
    for (size_t k = i; k < v_end; k++) {
        unsigned char c = (unsigned char)buf[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return -400; /* a bare CR, NUL or other control character */
    }
    h->value = (struct http_str){buf + i, v_end - i};
    return 0;
}

struct te_scan {
    int count;
    int last_is_chunked;
};

static int te_element(struct http_str el, void *arg)
{
    struct te_scan *t = arg;
    t->count++;
    t->last_is_chunked = IEQ(el, "chunked");
    return 0;
}

/* The Transfer-Encoding rules of RFC 9112 6.1: chunked alone, or 400/501. Returns 1 for
 * chunked, 0 for no Transfer-Encoding. */
static long check_transfer_encoding(const struct http_request *req)
{
    struct te_scan t = {0, 0};
    int seen = 0;
    for (int i = 0; i < req->nheaders; i++)
        if (IEQ(req->headers[i].name, "transfer-encoding")) {
            seen = 1;
            each_element(req->headers[i].value, te_element, &t);
        }
    if (!seen)
        return 0;
    if (req->minor == 0 || http_header_get(req, "content-length") || !t.last_is_chunked)
        return -400; /* framing is ambiguous: a smuggling vector */
    return t.count == 1 ? 1 : -501;
}

/* Content-Length: digits only; repeats must agree. Returns the length or -status. */
static long body_length(const struct http_request *req, uint64_t max)
{
    int64_t len = -1;
    for (int i = 0; i < req->nheaders; i++) {
        if (!IEQ(req->headers[i].name, "content-length"))
            continue;
        struct http_str v = req->headers[i].value;
        if (v.n == 0)
            return -400;
        int64_t n = 0;
        for (size_t k = 0; k < v.n; k++) {
            if (v.p[k] < '0' || v.p[k] > '9')
                return -400;
            if ((uint64_t)n <= max) /* saturate above the limit: no overflow */
                n = n * 10 + (v.p[k] - '0');
        }
        if (len >= 0 && n != len)
            return -400; /* conflicting lengths: a smuggling vector */
        len = n;
    }
    if (len > (int64_t)max)
        return -413;
    return len < 0 ? 0 : (long)len;
}

/* Skips up to MAX_EMPTY_LINES CRLFs; returns where the request-line starts, or -400. */
static long skip_empty_lines(const char *buf, size_t len)
{
    size_t i = 0;
    while (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n') {
        i += 2;
        if (i > 2 * MAX_EMPTY_LINES)
            return -400;
    }
    return (long)i;
}

/* What the saturating digit loops can take without overflow. */
static uint64_t clamp_limit(uint64_t max)
{
    return max < (uint64_t)HTTP_MAX_BODY_LIMIT ? max : (uint64_t)HTTP_MAX_BODY_LIMIT;
}

long http_parse_request(const char *buf, size_t len, size_t max_body, struct http_request *req)
{
    /* Not memset: the header array is most of the struct, and only its first
     * nheaders entries are ever read. */
    req->method = HTTP_GET;
    req->target = req->path = req->query = req->body = (struct http_str){NULL, 0};
    req->minor = req->keep_alive = req->nheaders = req->chunked = 0;
    req->need = 0;
    long rc = skip_empty_lines(buf, len);
    if (rc < 0)
        return rc;
    size_t start = (size_t)rc;
    const char *lf = memchr(buf + start, '\n', len - start);
    if (!lf) {
        /* Refuse garbage early instead of waiting for a line end that may never come. */
        size_t i = start;
        while (i < len && is_tchar((unsigned char)buf[i]))
            i++;
        if (i < len && buf[i] != ' ' && !(buf[i] == '\r' && i + 1 == len))
            return -400;
        return len - start > HTTP_MAX_REQUEST_LINE ? -414 : 0;
    }
    size_t eol = (size_t)(lf - buf);
    if (eol - start > HTTP_MAX_REQUEST_LINE)
        return -414;
    if ((rc = parse_request_line(buf, start, eol, req)) < 0)
        return rc;
    size_t pos = eol + 1;
    for (;;) {
        lf = memchr(buf + pos, '\n', len - pos);
        size_t e = lf ? (size_t)(lf - buf) : len;
        if (e + 1 - start > HTTP_MAX_HEAD)
            return -431;
        if (!lf)
            return 0;
        if (e == pos + 1 && buf[pos] == '\r') {
            pos = e + 1;
            break;
        }
        if (e == pos)
            return -400; /* a bare LF */
        if ((rc = parse_header(buf, pos, e, req)) < 0)
            return rc;
        pos = e + 1;
    }
    int hosts = host_count(req);
    if (hosts > 1 || (req->minor == 1 && hosts == 0))
        return -400; /* RFC 9112 3.2: exactly one Host in 1.1 */
    if (hosts && !host_is_valid(*http_header_get(req, "host")))
        return -400;
    if ((rc = check_transfer_encoding(req)) < 0)
        return rc;
    req->keep_alive =
        !connection_has(req, "close") && (req->minor == 1 || connection_has(req, "keep-alive"));
    if (rc == 1) {
        req->chunked = 1;
        return (long)pos;
    }
    long blen = body_length(req, clamp_limit(max_body));
    if (blen < 0)
        return blen;
    if (len - pos < (size_t)blen) {
        req->need = pos + (size_t)blen;
        req->body = (struct http_str){buf + pos, len - pos};
        return 0;
    }
    req->body = (struct http_str){buf + pos, (size_t)blen};
    return (long)(pos + (size_t)blen);
}

/* ---- chunked bodies ------------------------------------------------------------------ */

enum {
    CH_SIZE,    /* hex digits of a chunk size */
    CH_EXT,     /* after the size: ";ext" up to the CR */
    CH_SIZE_LF, /* the LF after the size line */
    CH_DATA,    /* `left` bytes of data */
    CH_DATA_CR, /* the CRLF after the data */
    CH_DATA_LF, /* ... */
    CH_TRAILER, /* the start of a trailer line, or the final CRLF */
    CH_TR_LINE, /* inside a trailer line */
    CH_TR_LF,   /* the LF after a trailer line */
    CH_END_LF,  /* the LF of the final CRLF */
    CH_DONE,
};

int http_chunked_done(const struct http_chunked *st)
{
    return st->state == CH_DONE;
}

static int hex_value(unsigned char c)
{
    if ((unsigned)(c - '0') < 10u)
        return c - '0';
    if ((unsigned)((c | 32) - 'a') < 6u)
        return (c | 32) - 'a' + 10;
    return -1;
}

long http_chunked_skip(struct http_chunked *st, const char *p, size_t n)
{
    uint64_t max = clamp_limit(st->max);
    size_t i = 0;
    while (i < n && st->state != CH_DONE) {
        unsigned char c = (unsigned char)p[i];
        switch (st->state) {
        case CH_SIZE: {
            int d = hex_value(c);
            if (d >= 0) {
                /* Saturating: a size over the limit is 413 whatever its digits. */
                if (st->left <= max)
                    st->left = st->left * 16 + (uint64_t)d;
                st->digits++;
            } else if (st->digits == 0) {
                return -400;
            } else if (c == ';' || c == ' ' || c == '\t') {
                st->state = CH_EXT;
                st->line = 0;
            } else if (c == '\r') {
                st->state = CH_SIZE_LF;
            } else {
                return -400;
            }
            i++;
            break;
        }
        case CH_EXT:
            if (c == '\r')
                st->state = CH_SIZE_LF;
            else if ((c < 0x20 && c != '\t') || c == 0x7f || ++st->line > HTTP_MAX_HEAD)
                return -400;
            i++;
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                return -400;
            i++;
            if (st->total > max || st->left > max - st->total) /* max may have shrunk */
                return -413;
            st->total += st->left;
            st->state = st->left ? CH_DATA : CH_TRAILER;
            st->digits = 0;
            break;
        case CH_DATA: {
            size_t k = n - i < st->left ? n - i : (size_t)st->left;
            st->left -= k;
            i += k;
            if (st->left == 0)
                st->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
        case CH_DATA_LF:
        case CH_TR_LF:
        case CH_END_LF: { /* one fixed byte, then the next state */
            static const struct {
                unsigned char want, next;
            } fixed[] = {
                [CH_DATA_CR] = {'\r', CH_DATA_LF},
                [CH_DATA_LF] = {'\n', CH_SIZE},
                [CH_TR_LF] = {'\n', CH_TRAILER},
                [CH_END_LF] = {'\n', CH_DONE},
            };
            if (c != fixed[st->state].want)
                return -400;
            st->state = fixed[st->state].next;
            i++;
            break;
        }
        case CH_TRAILER:
            st->state = c == '\r' ? CH_END_LF : CH_TR_LINE;
            if (st->state == CH_TR_LINE)
                continue; /* the byte is the line's first: checked there */
            i++;
            break;
        case CH_TR_LINE:
            if (c == '\r')
                st->state = CH_TR_LF;
            else if ((c < 0x20 && c != '\t') || c == 0x7f)
                return -400; /* a bare LF, NUL or other control byte */
            if (++st->trailers > HTTP_MAX_HEAD)
                return -400;
            i++;
            break;
        }
    }
    return (long)i;
}
