/*
 * test_http_parser.c - the HTTP request parser on its own: valid requests,
 * partial input, pipelining, keep-alive rules, every error status and every
 * limit at its boundary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http_parser.h"

static struct http_request req;
static char big[HTTP_MAX_HEAD * 2];

static long parse(const char *s)
{
    return http_parse_request(s, strlen(s), HTTP_MAX_BODY, &req);
}

static void assert_str(struct http_str s, const char *want)
{
    if (s.n != strlen(want) || memcmp(s.p, want, s.n) != 0)
        fail_msg("got \"%.*s\", want \"%s\"", (int)s.n, s.p ? s.p : "", want);
}

/* Asserts that s is refused with `status`, and that each proper prefix says "need more" or the
 * same. */
static void assert_refused(const char *s, long status)
{
    long rc = parse(s);
    if (rc != -status)
        fail_msg("%.60s...: got %ld, want %ld", s, rc, -status);
    for (size_t i = 0; i < strlen(s); i++) {
        rc = http_parse_request(s, i, HTTP_MAX_BODY, &req);
        if (rc != 0 && rc != -status)
            fail_msg("prefix of %zu bytes of %.40s...: got %ld", i, s, rc);
    }
}

/* ---- valid requests ---------------------------------------------------------------- */

static void simple_get_fills_every_field(void **state)
{
    (void)state;
    const char *s = "GET /a/b?x=1&y HTTP/1.1\r\nHost: h\r\nX-Y:  spaced \t \r\nEmpty:\r\n\r\n";
    assert_int_equal(parse(s), (long)strlen(s));
    assert_int_equal(req.method, HTTP_GET);
    assert_int_equal(req.minor, 1);
    assert_str(req.target, "/a/b?x=1&y");
    assert_str(req.path, "/a/b");
    assert_str(req.query, "x=1&y");
    assert_int_equal(req.nheaders, 3);
    assert_str(*http_header_get(&req, "x-y"), "spaced");
    assert_str(*http_header_get(&req, "EMPTY"), "");
    assert_str(req.body, "");
    assert_true(req.keep_alive);
}

static void every_method_is_recognised(void **state)
{
    (void)state;
    static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"};
    for (int m = HTTP_GET; m <= HTTP_OPTIONS; m++) {
        char s[128];
        snprintf(s, sizeof s, "%s / HTTP/1.1\r\nHost: h\r\n\r\n", names[m]);
        assert_true(parse(s) > 0);
        assert_int_equal(req.method, m);
        assert_string_equal(http_method_name(req.method), names[m]);
    }
}

static void query_is_empty_without_question_mark_and_after_a_bare_one(void **state)
{
    (void)state;
    assert_true(parse("GET /p HTTP/1.0\r\n\r\n") > 0);
    assert_str(req.path, "/p");
    assert_str(req.query, "");
    assert_true(parse("GET /p? HTTP/1.0\r\n\r\n") > 0);
    assert_str(req.path, "/p");
    assert_str(req.query, "");
}

static void absolute_form_targets_give_their_path(void **state)
{
    (void)state;
    assert_true(parse("GET http://example.com:80/a/b?q HTTP/1.1\r\nHost: example.com\r\n\r\n") > 0);
    assert_str(req.path, "/a/b");
    assert_str(req.query, "q");
    assert_true(parse("GET HTTPS://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n") > 0);
    assert_str(req.path, "/");
    assert_true(parse("GET http://h?x HTTP/1.1\r\nHost: h\r\n\r\n") > 0);
    assert_str(req.path, "/");
    assert_str(req.query, "x");
}

static void asterisk_form_is_for_options_only(void **state)
{
    (void)state;
    assert_true(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n") > 0);
    assert_str(req.path, "*");
    assert_refused("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}

static void header_values_keep_tabs_and_obs_text(void **state)
{
    (void)state;
    assert_true(parse("GET / HTTP/1.1\r\nHost: h\r\nX: a\tb \xe9\xff\r\n\r\n") > 0);
    assert_str(*http_header_get(&req, "x"), "a\tb \xe9\xff");
    assert_null(http_header_get(&req, "absent"));
}

static void body_is_exactly_content_length_bytes(void **state)
{
    (void)state;
    const char *s = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET";
    assert_int_equal(parse(s), (long)strlen(s) - 3);
    assert_str(req.body, "hello");
}

static void repeated_equal_content_lengths_are_accepted(void **state)
{
    (void)state;
    assert_true(
        parse("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\ncontent-length: 02\r\n\r\nok") >
        0);
    assert_str(req.body, "ok");
}

static void empty_lines_before_the_request_are_skipped_and_consumed(void **state)
{
    (void)state;
    const char *s = "\r\n\r\nGET / HTTP/1.0\r\n\r\n";
    assert_int_equal(parse(s), (long)strlen(s));
    assert_int_equal(parse("\r\n\r\n"), 0);
    assert_refused("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n", 400);
}

/* ---- partial input and pipelining -------------------------------------------------- */

static void every_prefix_needs_more_bytes(void **state)
{
    (void)state;
    const char *s = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (http_parse_request(s, i, HTTP_MAX_BODY, &req) != 0)
            fail_msg("prefix of %zu bytes did not ask for more", i);
    assert_int_equal(http_parse_request(s, n, HTTP_MAX_BODY, &req), (long)n);
    assert_str(req.body, "hello");
}

static void need_says_how_many_bytes_once_the_head_is_complete(void **state)
{
    (void)state;
    const char *s = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhel";
    assert_int_equal(parse(s), 0);
    assert_int_equal(req.need, strlen(s) - 3 + 10);
    /* The head is filled in, so a caller that drops bodies can answer now. */
    assert_int_equal(req.method, HTTP_POST);
    assert_str(req.path, "/p");
    assert_int_equal(req.keep_alive, 1);
    assert_str(req.body, "hel");
    assert_int_equal(parse("POST /p HTTP/1.1\r\nHost: h\r\nContent-Len"), 0);
    assert_int_equal(req.need, 0);
}

static void pipelined_requests_parse_one_after_another(void **state)
{
    (void)state;
    const char *s = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
                    "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                    "HEAD /3 HTTP/1.0\r\n\r\n"
                    "GET /4 HTTP/1.1\r\nHo";
    size_t off = 0, len = strlen(s);
    const char *paths[] = {"/1", "/2", "/3"};
    for (int i = 0; i < 3; i++) {
        long n = http_parse_request(s + off, len - off, HTTP_MAX_BODY, &req);
        assert_true(n > 0);
        assert_str(req.path, paths[i]);
        off += (size_t)n;
    }
    assert_int_equal(req.method, HTTP_HEAD);
    assert_false(req.keep_alive);
    assert_int_equal(http_parse_request(s + off, len - off, HTTP_MAX_BODY, &req), 0);
    assert_string_equal(s + off, "GET /4 HTTP/1.1\r\nHo");
}

/* ---- keep-alive ------------------------------------------------------------------- */

static void keep_alive_follows_version_and_connection(void **state)
{
    (void)state;
    static const struct {
        const char *req;
        int keep;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: CLOSE\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade, close\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n", 1},
        {"GET / HTTP/1.0\r\n\r\n", 0},
        {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1},
        {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 0},
        {"GET / HTTP/1.0\r\nConnection: ,, keep-alive ,\r\n\r\n", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_true(parse(cases[i].req) > 0);
        if (req.keep_alive != cases[i].keep)
            fail_msg("%s: keep_alive %d", cases[i].req, req.keep_alive);
    }
}

/* ---- errors, one status at a time ---------------------------------------------------- */

static void malformed_request_lines_are_400(void **state)
{
    (void)state;
    assert_refused("garbage\r\n\r\n", 400);
    assert_refused("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    assert_refused("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400);
    assert_refused("GET /\r\nHost: h\r\n\r\n", 400);
    assert_refused("GET / http/1.1\r\nHost: h\r\n\r\n", 400);
    assert_refused("GET / HTTP/1.1\nHost: h\r\n\r\n", 400);
    assert_refused("GET / HTTP/11\r\nHost: h\r\n\r\n", 400);
    assert_refused("GET /\xe9 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    assert_refused("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    assert_refused("GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    assert_refused("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    assert_refused("GET relative HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    assert_refused("\n", 400);
}

static void garbage_is_refused_before_any_line_end(void **state)
{
    (void)state;
    assert_int_equal(parse("\x16\x03\x01\x02\x00"), -400); /* a TLS ClientHello */
    assert_int_equal(parse("GET\t"), -400);
    assert_int_equal(parse("GE"), 0);
    assert_int_equal(parse("GET /"), 0);
}

static void malformed_headers_are_400(void **state)
{
    (void)state;
    assert_refused("GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400);
    assert_refused("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400);
    assert_refused("GET / HTTP/1.1\r\nHost: h\r\n: novalue\r\n\r\n", 400);
    assert_refused("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400);
    assert_refused("GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 400);
    assert_refused("GET / HTTP/1.1\r\nHost: h\r\n\n", 400);
    assert_refused("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400);
    assert_refused("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01"
                   "b\r\n\r\n",
                   400);
    static const char nul[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
    assert_int_equal(http_parse_request(nul, sizeof nul - 1, HTTP_MAX_BODY, &req), -400);
}

static void host_rules_are_400(void **state)
{
    (void)state;
    assert_refused("GET / HTTP/1.1\r\n\r\n", 400);
    assert_refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    assert_refused("GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", 400);
    assert_true(parse("GET / HTTP/1.0\r\n\r\n") > 0);
}

/* RFC 9110 7.2 and RFC 3986 3.2.2: Host is uri-host [ ":" port ]. */
static void host_values_must_be_an_authority(void **state)
{
    (void)state;
    static const char *const good[] = {
        "example.com", "example.com:8080",      "127.0.0.1", "[::1]",         "[::1]:80",
        "a-b_c~d.e",   "xn--bcher-kva.example", "%41b",      "a!$&'()*+,;=b", "h:",
        "[v1.x]",
    };
    static const char *const bad[] = {
        "",        "a b",  "a/b",      "a?b", "a#b", "a@b",  "[::1", "::1]", "[::1]x",
        "h:80:80", "h:8o", "h:123456", "%4",  "%zz", "a\"b", "a\\b", "a<b",  "[]",
    };
    char buf[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);
        if (parse(buf) <= 0)
            fail_msg("Host: %s refused", good[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
        assert_refused(buf, 400);
        snprintf(buf, sizeof buf, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", bad[i]);
        assert_refused(buf, 400);
    }
}

static void bad_content_lengths_are_400(void **state)
{
    (void)state;
    assert_refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n", 400);
    assert_refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400);
    assert_refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", 400);
    assert_refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400);
    assert_refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\n", 400);
    assert_refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                   400);
}

static void ambiguous_transfer_encodings_are_400(void **state)
{
    (void)state;
    assert_refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                   "Content-Length: 3\r\n\r\n",
                   400);
    assert_refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400);
    assert_refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400);
    assert_refused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
}

static void a_chunked_request_gives_its_head_and_leaves_the_body_to_the_skipper(void **state)
{
    (void)state;
    const char *head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked \r\n\r\n";
    char buf[256];
    snprintf(buf, sizeof buf, "%s5\r\nhello\r\n0\r\n\r\n", head);
    assert_int_equal(parse(buf), (long)strlen(head));
    assert_int_equal(req.chunked, 1);
    assert_int_equal(req.body.n, 0);
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n") > 0, 1);
    assert_int_equal(req.chunked, 0);
}

/* Feeds s to a fresh skipper in pieces of `step` bytes; returns the total consumed or -status. */
static long skip_in_steps(const char *s, size_t step, int *done)
{
    struct http_chunked st = {.max = HTTP_MAX_BODY};
    size_t off = 0, n = strlen(s);
    while (off < n && !http_chunked_done(&st)) {
        size_t k = n - off < step ? n - off : step;
        long rc = http_chunked_skip(&st, s + off, k);
        if (rc < 0)
            return rc;
        assert_true((size_t)rc <= k);
        if ((size_t)rc < k)
            assert_true(http_chunked_done(&st)); /* it stops short only at the body's end */
        off += (size_t)rc;
    }
    *done = http_chunked_done(&st);
    return (long)off;
}

static void chunked_bodies_are_skipped_to_their_end_in_any_pieces(void **state)
{
    (void)state;
    static const char *const good[] = {
        "5\r\nhello\r\n0\r\n\r\n",
        "5;name=val\r\nhello\r\n000\r\n\r\n",
        "A\r\n0123456789\r\n1\r\nx\r\n0 ; last\r\nX-Trailer: t\r\nY: u\r\n\r\n",
        "0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "%sGET / HTTP/1.1\r\n", good[i]); /* the next request follows */
        for (size_t step = 1; step <= strlen(buf); step++) {
            int done = 0;
            long rc = skip_in_steps(buf, step, &done);
            if (rc != (long)strlen(good[i]) || !done)
                fail_msg("%s in steps of %zu: %ld, done %d", good[i], step, rc, done);
        }
    }
}

static void bad_chunked_bodies_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        long status;
    } bad[] = {
        {"g\r\n", 400},                 /* not hex */
        {"\r\n", 400},                  /* no size */
        {"-5\r\n", 400},                /* signed */
        {"5\nhello\r\n", 400},          /* bare LF after the size */
        {"5\r\nhelloX\r\n", 400},       /* more data than the size */
        {"5\r\nhello\n0\r\n\r\n", 400}, /* bare LF after the data */
        {"0\r\nX: y\n\r\n", 400},       /* bare LF in a trailer */
        {"5;\x01\r\nhello\r\n", 400},   /* a control byte in an extension */
        {"FFFFFFFFFFFFFFFFF\r\n", 413}, /* a size that would overflow */
        {"100001\r\n", 413},            /* one chunk over the body limit */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int done = 0;
        long rc = skip_in_steps(bad[i].s, 64, &done);
        if (rc != -bad[i].status)
            fail_msg("%s: got %ld, want %ld", bad[i].s, rc, -bad[i].status);
    }
    /* Many chunks that add up to more than the limit. */
    struct http_chunked st = {.max = HTTP_MAX_BODY};
    char chunk[64];
    long total = 0, rc = 0;
    snprintf(chunk, sizeof chunk, "%x\r\n", 60000);
    while (rc >= 0 && total <= HTTP_MAX_BODY) {
        rc = http_chunked_skip(&st, chunk, strlen(chunk));
        if (rc < 0)
            break;
        static char data[60002];
        memset(data, 'd', 60000);
        memcpy(data + 60000, "\r\n", 2);
        rc = http_chunked_skip(&st, data, sizeof data);
        total += 60000;
    }
    assert_int_equal(rc, -413);
}

static void other_transfer_codings_are_501(void **state)
{
    (void)state;
    assert_refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
    assert_refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n",
                   501);
}

static void bodies_over_the_limit_are_413(void **state)
{
    (void)state;
    char s[128];
    snprintf(s, sizeof s, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %ld\r\n\r\n",
             HTTP_MAX_BODY + 1);
    assert_refused(s, 413);
    assert_refused(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 413);
    snprintf(s, sizeof s, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %ld\r\n\r\n",
             HTTP_MAX_BODY);
    assert_int_equal(parse(s), 0);
    assert_int_equal(req.need, strlen(s) + HTTP_MAX_BODY);
}

/* The caller's limit, not the default: reactor-httpd's --max-body. */
static long parse_limited(const char *s, size_t max_body)
{
    return http_parse_request(s, strlen(s), max_body, &req);
}

static long skip_limited(const char *s, uint64_t max)
{
    struct http_chunked st = {.max = max};
    long rc = http_chunked_skip(&st, s, strlen(s));
    return rc < 0 || http_chunked_done(&st) ? rc : 0;
}

static void the_callers_body_limit_is_kept_at_its_boundary(void **state)
{
    (void)state;
    static char s[2048], data[1001];
    const char *head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n";
    memset(data, 'd', 1000);
    snprintf(s, sizeof s, "%s%s", head, data);
    assert_int_equal(parse_limited(s, 1000), (long)strlen(s));
    assert_int_equal(req.body.n, 1000);
    assert_int_equal(parse_limited(head, 1000), 0);
    assert_int_equal(req.need, strlen(head) + 1000);
    assert_int_equal(parse_limited(head, 999), -413);
    assert_int_equal(
        parse_limited("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n", 1000), -413);

    /* 0: no body at all, though an empty one is no body. */
    assert_int_equal(parse_limited("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n", 0),
                     -413);
    assert_true(parse_limited("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 0) > 0);
    assert_true(parse_limited("POST / HTTP/1.1\r\nHost: h\r\n\r\n", 0) > 0);
    assert_int_equal(skip_limited("0\r\n\r\n", 0), 5);
    assert_int_equal(skip_limited("1\r\n", 0), -413);
    struct http_chunked zeroed = {0}; /* a caller that forgot the limit lets nothing through */
    assert_int_equal(http_chunked_skip(&zeroed, "1\r\n", 3), -413);

    /* Chunked: one chunk at the limit, one over it, and chunks adding up to one byte over. */
    snprintf(s, sizeof s, "3e8\r\n%s\r\n0\r\n\r\n", data);
    assert_int_equal(skip_limited(s, 1000), (long)strlen(s));
    assert_int_equal(skip_limited(s, 999), -413);
    assert_int_equal(skip_limited("3e9\r\n", 1000), -413);
    snprintf(s, sizeof s, "3e8\r\n%s\r\n1\r\n", data);
    assert_int_equal(skip_limited(s, 1000), -413);
    snprintf(s, sizeof s, "1f4\r\n%.500s\r\n1f4\r\n%.500s\r\n0\r\n\r\n", data, data);
    assert_int_equal(skip_limited(s, 1000), (long)strlen(s));
    snprintf(s, sizeof s, "1f4\r\n%.500s\r\n1f5\r\n", data);
    assert_int_equal(skip_limited(s, 1000), -413);
}

static void body_limits_above_the_largest_count_as_it(void **state)
{
    (void)state;
    const char *at = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1073741824\r\n\r\n";
    const char *over = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1073741825\r\n\r\n";
    assert_int_equal(parse_limited(at, HTTP_MAX_BODY_LIMIT), 0);
    assert_int_equal(req.need, strlen(at) + (size_t)HTTP_MAX_BODY_LIMIT);
    assert_int_equal(parse_limited(over, HTTP_MAX_BODY_LIMIT), -413);
    assert_int_equal(parse_limited(over, (size_t)-1), -413);
    assert_int_equal(
        parse_limited(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            (size_t)-1),
        -413);
    assert_int_equal(skip_limited("40000000\r\n", HTTP_MAX_BODY_LIMIT), 0);
    assert_int_equal(skip_limited("40000001\r\n", UINT64_MAX), -413);
    assert_int_equal(skip_limited("FFFFFFFFFFFFFFFFFFFFFFFF\r\n", UINT64_MAX), -413);
}

/* Fills big with a request whose request-line is `line_len` bytes before its CRLF. */
static size_t request_with_line(size_t line_len)
{
    memcpy(big, "GET /", 5);
    memset(big + 5, 'a', line_len - 5 - 9);
    memcpy(big + line_len - 9, " HTTP/1.0\r\n\r\n", 13);
    return line_len + 4;
}

static void request_lines_over_the_limit_are_414(void **state)
{
    (void)state;
    size_t n = request_with_line(HTTP_MAX_REQUEST_LINE - 1); /* with its CR: exactly the limit */
    assert_int_equal(http_parse_request(big, n, HTTP_MAX_BODY, &req), (long)n);
    n = request_with_line(HTTP_MAX_REQUEST_LINE);
    assert_int_equal(http_parse_request(big, n, HTTP_MAX_BODY, &req), -414);
    /* Refused as soon as the line is too long, without waiting for its end. */
    assert_int_equal(http_parse_request(big, HTTP_MAX_REQUEST_LINE, HTTP_MAX_BODY, &req), 0);
    assert_int_equal(http_parse_request(big, HTTP_MAX_REQUEST_LINE + 1, HTTP_MAX_BODY, &req), -414);
}

/* Fills big with a request whose head (through the blank line) is `head_len` bytes. */
static size_t request_with_head(size_t head_len)
{
    const char *start = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
    size_t n = strlen(start);
    memcpy(big, start, n);
    memset(big + n, 'v', head_len - n - 4);
    memcpy(big + head_len - 4, "\r\n\r\n", 4);
    return head_len;
}

static void heads_over_the_limit_are_431(void **state)
{
    (void)state;
    size_t n = request_with_head(HTTP_MAX_HEAD);
    assert_int_equal(http_parse_request(big, n, HTTP_MAX_BODY, &req), (long)n);
    n = request_with_head(HTTP_MAX_HEAD + 1);
    assert_int_equal(http_parse_request(big, n, HTTP_MAX_BODY, &req), -431);
    /* Refused without waiting for the end of the line. */
    n = request_with_head(HTTP_MAX_HEAD + 100);
    assert_true(n > HTTP_MAX_HEAD + 10);
    assert_int_equal(http_parse_request(big, HTTP_MAX_HEAD + 10, HTTP_MAX_BODY, &req), -431);
}

static void more_than_max_headers_is_431(void **state)
{
    (void)state;
    assert_true(HTTP_MAX_HEADERS >= 100); /* proxies add headers */
    char buf[4096] = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (int i = 1; i < HTTP_MAX_HEADERS; i++)
        strcat(buf, "A: b\r\n");
    strcat(buf, "\r\n");
    assert_true(parse(buf) > 0);
    assert_int_equal(req.nheaders, HTTP_MAX_HEADERS);
    buf[strlen(buf) - 2] = 0;
    strcat(buf, "A: b\r\n\r\n");
    assert_refused(buf, 431);
}

static void unknown_methods_are_501(void **state)
{
    (void)state;
    assert_refused("BREW / HTTP/1.1\r\nHost: h\r\n\r\n", 501);
    assert_refused("get / HTTP/1.1\r\nHost: h\r\n\r\n", 501); /* methods are case-sensitive */
    assert_refused("PATCH / HTTP/1.1\r\nHost: h\r\n\r\n", 501);
}

static void other_versions_are_505(void **state)
{
    (void)state;
    assert_refused("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
    assert_refused("GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505);
    assert_refused("GET / HTTP/0.9\r\n\r\n", 505);
}

/* RFC 9110 2.5: a later minor version is understood as the highest we implement. */
static void later_1_x_versions_are_1_1(void **state)
{
    (void)state;
    for (char minor = '2'; minor <= '9'; minor++) {
        char buf[64];
        snprintf(buf, sizeof buf, "GET / HTTP/1.%c\r\nHost: h\r\n\r\n", minor);
        assert_true(parse(buf) > 0);
        assert_int_equal(req.minor, 1);
        assert_int_equal(req.keep_alive, 1);
    }
    assert_refused("GET / HTTP/1.2\r\n\r\n", 400); /* and needs a Host like 1.1 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simple_get_fills_every_field),
        cmocka_unit_test(every_method_is_recognised),
        cmocka_unit_test(query_is_empty_without_question_mark_and_after_a_bare_one),
        cmocka_unit_test(absolute_form_targets_give_their_path),
        cmocka_unit_test(asterisk_form_is_for_options_only),
        cmocka_unit_test(header_values_keep_tabs_and_obs_text),
        cmocka_unit_test(body_is_exactly_content_length_bytes),
        cmocka_unit_test(repeated_equal_content_lengths_are_accepted),
        cmocka_unit_test(empty_lines_before_the_request_are_skipped_and_consumed),
        cmocka_unit_test(every_prefix_needs_more_bytes),
        cmocka_unit_test(need_says_how_many_bytes_once_the_head_is_complete),
        cmocka_unit_test(pipelined_requests_parse_one_after_another),
        cmocka_unit_test(keep_alive_follows_version_and_connection),
        cmocka_unit_test(malformed_request_lines_are_400),
        cmocka_unit_test(garbage_is_refused_before_any_line_end),
        cmocka_unit_test(malformed_headers_are_400),
        cmocka_unit_test(host_rules_are_400),
        cmocka_unit_test(bad_content_lengths_are_400),
        cmocka_unit_test(ambiguous_transfer_encodings_are_400),
        cmocka_unit_test(a_chunked_request_gives_its_head_and_leaves_the_body_to_the_skipper),
        cmocka_unit_test(chunked_bodies_are_skipped_to_their_end_in_any_pieces),
        cmocka_unit_test(bad_chunked_bodies_are_refused),
        cmocka_unit_test(other_transfer_codings_are_501),
        cmocka_unit_test(bodies_over_the_limit_are_413),
        cmocka_unit_test(the_callers_body_limit_is_kept_at_its_boundary),
        cmocka_unit_test(body_limits_above_the_largest_count_as_it),
        cmocka_unit_test(request_lines_over_the_limit_are_414),
        cmocka_unit_test(heads_over_the_limit_are_431),
        cmocka_unit_test(more_than_max_headers_is_431),
        cmocka_unit_test(unknown_methods_are_501),
        cmocka_unit_test(other_versions_are_505),
        cmocka_unit_test(later_1_x_versions_are_1_1),
        cmocka_unit_test(host_values_must_be_an_authority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
