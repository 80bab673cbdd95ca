/*
 * echo_libuv.c - the same echo server on libuv: what a user of libuv would
 * write (uv_read_start with a per-connection buffer, uv_try_write first and a
 * queued uv_write only for what the socket does not take).
 *
 *   bench-echo-libuv PORT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define BUF_SIZE 65536

struct conn {
    uv_tcp_t tcp;
    char buf[BUF_SIZE];
};

struct pending {
    uv_write_t req;
    char data[];
};

static void on_close(uv_handle_t *h)
{
    free(h->data);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct conn *c = h->data;
    (void)hint;
    *b = uv_buf_init(c->buf, BUF_SIZE);
}

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (n == 0)
        return;
    uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
    int w = uv_try_write(s, &out, 1);
    if (w == n)
        return;
    size_t done = w > 0 ? (size_t)w : 0, rest = (size_t)n - done;
    struct pending *p = malloc(sizeof *p + rest);
    if (!p)
        return;
    memcpy(p->data, b->base + done, rest);
    uv_buf_t q = uv_buf_init(p->data, (unsigned)rest);
    uv_write(&p->req, s, &q, 1, on_written);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    struct conn *c = malloc(sizeof *c);
    if (!c)
        return;
    uv_tcp_init(server->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0) {
        uv_tcp_nodelay(&c->tcp, 1);
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    } else {
        uv_close((uv_handle_t *)&c->tcp, on_close);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-echo-libuv PORT\n");
        return 2;
    }
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in sa;
    uv_tcp_init(loop, &server);
    uv_ip4_addr("127.0.0.1", atoi(argv[1]), &sa);
    int rc = uv_tcp_bind(&server, (const struct sockaddr *)&sa, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&server, 4096, on_connection);
    if (rc) {
        fprintf(stderr, "bench-echo-libuv: listen: %s\n", uv_strerror(rc));
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
