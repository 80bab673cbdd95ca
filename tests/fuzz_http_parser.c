/*
 * fuzz_http_parser.c - a libFuzzer target for the HTTP request parser.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined (CMake: -DREACTOR_FUZZ=ON
 * with clang). Run: fuzz_http_parser -max_total_time=60 tests/fuzz/http
 *
 * Besides memory errors (ASan, UBSan), it checks what callers rely on: the
 * answer is "need more", a known status, or a length within the input; every
 * string points inside the consumed bytes; a request is self-delimiting (the
 * consumed bytes alone parse the same, one byte fewer asks for more); and the
 * `need` hint never asks for fewer bytes than are already there. The input is
 * parsed as a pipeline, request after request.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static int known_status(long rc)
{
    return rc == -400 || rc == -411 || rc == -413 || rc == -414 || rc == -431 || rc == -501 ||
           rc == -505;
}

/* Inside the request's bytes, or one of the parser's static "", "/" strings. */
static void check_str(struct http_str s, const char *buf, long used)
{
    if (s.n == 0 || (s.n == 1 && s.p[0] == '/' && (s.p < buf || s.p >= buf + used)))
        return;
    check(s.p >= buf && s.p + s.n <= buf + used);
}

static void check_request(const char *buf, size_t len, long rc, const struct http_request *req)
{
    struct http_request again;
    check((size_t)rc <= len);
    check(req->method >= HTTP_GET && req->method <= HTTP_OPTIONS);
    check(req->minor == 0 || req->minor == 1);
    check(req->nheaders >= 0 && req->nheaders <= HTTP_MAX_HEADERS);
    check(req->body.n <= (size_t)HTTP_MAX_BODY);
    check(!req->chunked || req->body.n == 0);
    check_str(req->target, buf, rc);
    check_str(req->path, buf, rc);
    check_str(req->query, buf, rc);
    check_str(req->body, buf, rc);
    for (int i = 0; i < req->nheaders; i++) {
        check(req->headers[i].name.n > 0);
        check_str(req->headers[i].name, buf, rc);
        check_str(req->headers[i].value, buf, rc);
    }
    check(http_parse_request(buf, (size_t)rc, HTTP_MAX_BODY, &again) == rc);
    check(http_parse_request(buf, (size_t)rc - 1, HTTP_MAX_BODY, &again) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so that ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    size_t off = 0;
    for (int n = 0; n < 64 && off < size; n++) {
        struct http_request req;
        long rc = http_parse_request(buf + off, size - off, HTTP_MAX_BODY, &req);
        if (rc == 0) {
            check(req.need == 0 || req.need > size - off);
            check(req.need <= 2 * 8 + HTTP_MAX_HEAD + (size_t)HTTP_MAX_BODY);
            break;
        }
        if (rc < 0) {
            check(known_status(rc));
            break;
        }
        check_request(buf + off, size - off, rc, &req);
        off += (size_t)rc;
        if (req.chunked) {
            /* The body, in two pieces split at an input-chosen point: it stops short only
             * at its end, and a second piece is taken only if the first did not end it. */
            struct http_chunked st = {.max = HTTP_MAX_BODY};
            size_t rest = size - off, cut = rest ? (unsigned char)buf[off] % (rest + 1) : 0;
            long k = http_chunked_skip(&st, buf + off, cut);
            if (k >= 0) {
                check((size_t)k <= cut && ((size_t)k == cut || http_chunked_done(&st)));
                if (!http_chunked_done(&st)) {
                    long k2 = http_chunked_skip(&st, buf + off + cut, rest - cut);
                    check(k2 < 0 || (size_t)k2 == rest - cut || http_chunked_done(&st));
                    k = k2 < 0 ? k2 : k + k2;
                }
            }
            if (k < 0) {
                check(k == -400 || k == -413);
                break;
            }
            if (!http_chunked_done(&st))
                break;
            off += (size_t)k;
        }
    }
    free(buf);
    return 0;
}
