/*
 * http_parser.h - an incremental, zero-copy HTTP/1.x request parser.
 *
 * Give it the bytes received so far; it says "need more", "here is a complete
 * request (and how many bytes it used)", or "this is an error: answer with
 * this status and close". Strings point into the caller's buffer: nothing is
 * allocated or copied. Pipelined requests are parsed one after the other by
 * calling again on the bytes after the consumed ones.
 */
#ifndef HTTP_PARSER_H
#define HTTP_PARSER_H

#include <stddef.h>

#define HTTP_MAX_HEADERS 32
#define HTTP_MAX_REQUEST_LINE 8192
#define HTTP_MAX_HEADER_BYTES 16384
#define HTTP_MAX_BODY (1u << 20)

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_OPTIONS };

struct http_str {
    const char *p;
    size_t n;
};

struct http_header {
    struct http_str name, value;
};

struct http_request {
    enum http_method method;
    struct http_str target; /* as sent: path and query */
    struct http_str path;   /* target up to '?' */
    struct http_str query;  /* after '?', may be empty */
    int minor;              /* HTTP/1.<minor>: 0 or 1 */
    int keep_alive;         /* after Connection and the version's default */
    struct http_header headers[HTTP_MAX_HEADERS];
    int nheaders;
    struct http_str body; /* Content-Length bytes */
};

/*
 * Parses one request from buf[0..len). Returns the number of bytes the request
 * used (> 0) and fills *req; 0 if more bytes are needed; or -STATUS (e.g.
 * -400, -413, -414, -431, -501, -505) when the request cannot be served.
 */
long http_parse_request(const char *buf, size_t len, struct http_request *req);

/* Finds a header by case-insensitive name; NULL if absent. */
const struct http_str *http_header_get(const struct http_request *req, const char *name);

/* Case-insensitive comparison of s with a NUL-terminated literal. */
int http_str_ieq(struct http_str s, const char *lit);

#endif /* HTTP_PARSER_H */
