/*
 * http_parser.h - an incremental, zero-copy HTTP/1.x request parser.
 *
 * Give it the bytes received so far; it says "need more", "here is a complete
 * request (and how many bytes it used)", or "this is an error: answer with
 * this status and close". Strings point into the caller's buffer: nothing is
 * allocated or copied, and the parser keeps no state between calls. Pipelined
 * requests are parsed one after the other by calling again on the bytes after
 * the consumed ones.
 *
 * What it accepts (RFC 9112, strictly where leniency is an attack surface):
 *  - methods GET HEAD POST PUT DELETE OPTIONS (case-sensitive); any other
 *    well-formed method is 501;
 *  - HTTP/1.0 and HTTP/1.1, and 1.2 to 1.9 as 1.1 (RFC 9110 2.5); any other
 *    well-formed version is 505;
 *  - lines ending in CRLF (a bare LF or CR is 400), one space between the
 *    request-line's parts, no space before a header's colon, no obsolete line
 *    folding, no control characters in values (HTAB allowed);
 *  - empty lines before the request-line are skipped (RFC 9112 section 2.2);
 *  - a body by Content-Length (one value, or repeats of the same value), or
 *    by Transfer-Encoding: chunked alone. A chunked request is returned with
 *    its head only (`chunked` set): its body is framed by http_chunked_skip(),
 *    which decodes it as it streams without keeping it, since no caller here
 *    uses bodies. Other transfer codings are 501, and Transfer-Encoding with
 *    Content-Length, in HTTP/1.0, or not ending in chunked, is 400 (each is a
 *    request-smuggling vector).
 *  - HTTP/1.1 needs exactly one Host header (400 otherwise); 1.0 at most one.
 *    Its value must be an authority, uri-host [ ":" port ] (RFC 9110 7.2,
 *    RFC 3986 3.2.2): a reg-name, an IPv4 address or a bracketed IP-literal;
 *    an empty Host, spaces, '/', '@' and the like are 400.
 */
#ifndef HTTP_PARSER_H
#define HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 100           /* more is 431 (proxies add headers) */
#define HTTP_MAX_REQUEST_LINE 8192     /* longer is 414 */
#define HTTP_MAX_HEAD 16384            /* request-line + headers + blank line; longer is 431 */
#define HTTP_MAX_BODY (1L << 20)       /* the default body limit (reactor-httpd's --max-body) */
#define HTTP_MAX_BODY_LIMIT (1L << 30) /* larger limits count as this: sums cannot overflow */

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_OPTIONS };

struct http_str {
    const char *p;
    size_t n;
};

struct http_header {
    struct http_str name, value; /* value without surrounding spaces and tabs */
};

struct http_request {
    enum http_method method;
    struct http_str target; /* as sent: origin-form, absolute-form or "*" */
    struct http_str path;   /* the target's path ("/" for "http://host"), up to '?' */
    struct http_str query;  /* after '?', may be empty */
    int minor;              /* HTTP/1.<minor>: 0 or 1 */
    int keep_alive;         /* from Connection and the version's default */
    struct http_header headers[HTTP_MAX_HEADERS];
    int nheaders;
    struct http_str body; /* the Content-Length bytes */
    int chunked;          /* Transfer-Encoding: chunked: the body follows the returned head */
    /*
     * After a 0 ("need more") return: the total number of bytes the request
     * needs when its head is complete and only body bytes are missing, else 0.
     * Lets a caller skip re-parsing until they have arrived. When it is set,
     * the rest of *req is filled too and `body` holds the bytes present so
     * far: a caller that does not use bodies can answer now.
     */
    size_t need;
};

/*
 * Parses one request from buf[0..len). Returns the number of bytes the request
 * used (> 0, including any empty lines before it) and fills *req; 0 if more
 * bytes are needed; or -STATUS (-400, -411, -413, -414, -431, -501, -505) when
 * the request cannot be served: the caller answers STATUS and closes, since
 * where the next request would start is unknown. A Content-Length over
 * max_body is 413 (a max_body over HTTP_MAX_BODY_LIMIT counts as that).
 */
long http_parse_request(const char *buf, size_t len, size_t max_body, struct http_request *req);

/*
 * Where a chunked body's decoding is (RFC 9112 7.1). To start, zero it all
 * but `max`: left at zero too, any chunk data is refused rather than let
 * through unbounded by a caller that forgot it.
 */
struct http_chunked {
    uint64_t max; /* the body limit, as http_parse_request's max_body */
    unsigned state;
    unsigned digits; /* of the chunk size so far */
    uint32_t line;   /* bytes of the current extension or trailer line */
    uint32_t trailers;
    uint64_t left;  /* of the current chunk's data (its size while reading it) */
    uint64_t total; /* of all chunks' data: at most `max` */
};

/*
 * Consumes the bytes of a chunked body in p[0..n), any piece at a time.
 * Returns how many it consumed: all n, or fewer only when the body (last
 * chunk, trailers, blank line) ended, what follows being the next request;
 * or -400 for bad framing (a bare LF, a non-hex size, data longer than its
 * size, a control byte) and -413 for a chunk or a body over st->max.
 * Extensions and trailers are checked for their framing, bounded by
 * HTTP_MAX_HEAD, and ignored.
 */
long http_chunked_skip(struct http_chunked *st, const char *p, size_t n);

/* Whether the whole chunked body has been consumed. */
int http_chunked_done(const struct http_chunked *st);

/* Finds a header by case-insensitive name; NULL if absent. */
const struct http_str *http_header_get(const struct http_request *req, const char *name);

/* Case-insensitive comparison of s with a NUL-terminated literal. */
int http_str_ieq(struct http_str s, const char *lit);

/* The method's name, e.g. "GET". */
const char *http_method_name(enum http_method m);

#endif /* HTTP_PARSER_H */
