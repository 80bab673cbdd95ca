/* test_http_parser.c - the HTTP request parser on its own: valid, partial, pipelined, invalid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "http_parser.h"

static long parse(const char *s, struct http_request *req)
{
    return http_parse_request(s, strlen(s), req);
}

static void parses_a_simple_get(void **state)
{
    (void)state;
    struct http_request req;
    const char *s = "GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\nX-Y:  spaced  \r\n\r\n";
    assert_int_equal(parse(s, &req), (long)strlen(s));
    assert_int_equal(req.method, HTTP_GET);
    assert_int_equal(req.minor, 1);
    assert_true(http_str_ieq(req.path, "/a/b"));
    assert_true(http_str_ieq(req.query, "x=1"));
    assert_true(req.keep_alive);
    const struct http_str *v = http_header_get(&req, "x-y");
    assert_non_null(v);
    assert_true(http_str_ieq(*v, "spaced"));
}

static void needs_more_bytes_until_complete_byte_by_byte(void **state)
{
    (void)state;
    struct http_request req;
    const char *s = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(http_parse_request(s, i, &req), 0);
    assert_int_equal(http_parse_request(s, n, &req), (long)n);
    assert_int_equal(req.body.n, 5);
    assert_memory_equal(req.body.p, "hello", 5);
}

static void pipelined_requests_parse_one_after_another(void **state)
{
    (void)state;
    struct http_request req;
    const char *s = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /2 HTTP/1.0\r\n\r\n";
    long n = parse(s, &req);
    assert_true(n > 0);
    assert_true(http_str_ieq(req.path, "/1"));
    long m = http_parse_request(s + n, strlen(s) - (size_t)n, &req);
    assert_int_equal(n + m, (long)strlen(s));
    assert_int_equal(req.method, HTTP_HEAD);
    assert_false(req.keep_alive); /* 1.0 without keep-alive */
}

static void connection_header_rules(void **state)
{
    (void)state;
    struct http_request req;
    assert_true(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n", &req) > 0);
    assert_false(req.keep_alive);
    assert_true(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req) > 0);
    assert_true(req.keep_alive);
}

static void errors_map_to_statuses(void **state)
{
    (void)state;
    struct http_request req;
    char big[20000];
    assert_int_equal(parse("garbage\r\n\r\n", &req), -400);
    assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n", &req), -400);      /* no Host */
    assert_int_equal(parse("GET / HTTP/1.1\nHost: h\n\n", &req), -400); /* bare LF */
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost : h\r\n\r\n", &req), -400);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", &req), -400);
    assert_int_equal(parse("BREW / HTTP/1.1\r\nHost: h\r\n\r\n", &req), -501);
    assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n", &req), -505);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", &req),
                     -501);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n", &req), -400);
    assert_int_equal(
        parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &req),
        -400);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 9999999\r\n\r\n", &req),
                     -413);
    memset(big, 'a', sizeof big);
    memcpy(big, "GET /", 5);
    assert_int_equal(http_parse_request(big, sizeof big, &req), -414);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    assert_int_equal(http_parse_request(big, sizeof big, &req), -431);
}

static void too_many_headers_is_431(void **state)
{
    (void)state;
    struct http_request req;
    char buf[4096] = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
        strcat(buf, "A: b\r\n");
    strcat(buf, "\r\n");
    assert_int_equal(parse(buf, &req), -431);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_a_simple_get),
        cmocka_unit_test(needs_more_bytes_until_complete_byte_by_byte),
        cmocka_unit_test(pipelined_requests_parse_one_after_another),
        cmocka_unit_test(connection_header_rules),
        cmocka_unit_test(errors_map_to_statuses),
        cmocka_unit_test(too_many_headers_is_431),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
