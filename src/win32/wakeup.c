/*
 * wakeup.c (Windows) - wakes a blocked wait from another thread.
 *
 * Winsock's select() and WSAPoll() watch sockets only, so the pipe or eventfd
 * of the POSIX build becomes a connected pair of loopback TCP sockets (what
 * Python's socket.socketpair() does on Windows): a byte sent on wake_wfd
 * makes wake_rfd readable. `wake_pending` keeps at most one byte in flight, as
 * on POSIX. TCP rather than a UDP socket sent to itself: a datagram may be
 * dropped, and a lost wakeup is a hung loop.
 *
 * The pair is the reason every reactor holds a Winsock reference
 * (rx_wsa_start): it is taken here, before the sockets, and dropped after
 * they are closed.
 */
#include <errno.h>
#include <stdint.h>

#include "internal.h"
#include "win32.h"

static void rx_wakeup_ready(reactor_t *r, int fd, unsigned events, void *data)
{
    (void)fd;
    (void)events;
    (void)data;
    rx_wakeup_drain(r);
}

static int rx_nonblock(SOCKET s)
{
    u_long on = 1;
    return ioctlsocket(s, FIONBIO, &on) == SOCKET_ERROR ? rx_wsa_last() : 0;
}

/* A connected pair of non-blocking, non-inheritable loopback TCP sockets. */
static int rx_socketpair(SOCKET out[2])
{
    SOCKET lst = INVALID_SOCKET, a = INVALID_SOCKET, b = INVALID_SOCKET;
    struct sockaddr_in addr = {0};
    int len = sizeof addr;
    int rc = 0;

    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    /* WSA_FLAG_NO_HANDLE_INHERIT: the counterpart of FD_CLOEXEC. */
    lst = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
    if (lst == INVALID_SOCKET)
        return rx_wsa_last();
    if (bind(lst, (struct sockaddr *)&addr, sizeof addr) == SOCKET_ERROR ||
        getsockname(lst, (struct sockaddr *)&addr, &len) == SOCKET_ERROR ||
        listen(lst, 1) == SOCKET_ERROR)
        goto fail;
    a = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
    if (a == INVALID_SOCKET || connect(a, (struct sockaddr *)&addr, sizeof addr) == SOCKET_ERROR)
        goto fail;
    b = accept(lst, NULL, NULL);
    if (b == INVALID_SOCKET)
        goto fail;
    /* Anything on the machine can connect to a listening loopback port: make
     * sure the accepted peer is our own socket. */
    struct sockaddr_in local = {0}, peer = {0};
    int llen = sizeof local, plen = sizeof peer;
    if (getsockname(a, (struct sockaddr *)&local, &llen) == SOCKET_ERROR ||
        getpeername(b, (struct sockaddr *)&peer, &plen) == SOCKET_ERROR)
        goto fail;
    if (local.sin_port != peer.sin_port || local.sin_addr.s_addr != peer.sin_addr.s_addr) {
        rc = -EACCES;
        goto fail_rc;
    }
    BOOL nodelay = TRUE; /* one wakeup byte, sent at once */
    setsockopt(a, IPPROTO_TCP, TCP_NODELAY, (const char *)&nodelay, sizeof nodelay);
    if ((rc = rx_nonblock(a)) < 0 || (rc = rx_nonblock(b)) < 0)
        goto fail_rc;
    closesocket(lst);
    out[0] = b; /* read end */
    out[1] = a; /* write end */
    return 0;
fail:
    rc = rx_wsa_last();
fail_rc:
    if (b != INVALID_SOCKET)
        closesocket(b);
    if (a != INVALID_SOCKET)
        closesocket(a);
    closesocket(lst);
    return rc;
}

int rx_wakeup_open(reactor_t *r)
{
    int rc = rx_wsa_start();
    if (rc < 0)
        return rc;
    SOCKET p[2];
    if ((rc = rx_socketpair(p)) < 0) {
        rx_wsa_stop();
        return rc;
    }
    r->wake_rfd = (int)(intptr_t)p[0];
    r->wake_wfd = (int)(intptr_t)p[1];
    atomic_store(&r->wake_pending, 0);
    rc = rx_register_internal(r, r->wake_rfd, rx_wakeup_ready, NULL);
    if (rc < 0)
        rx_wakeup_close(r);
    return rc;
}

void rx_wakeup_close(reactor_t *r)
{
    if (r->wake_rfd < 0)
        return;
    rx_unregister_internal(r, r->wake_rfd);
    closesocket(rx_socket(r->wake_rfd));
    closesocket(rx_socket(r->wake_wfd));
    r->wake_rfd = r->wake_wfd = -1;
    rx_wsa_stop();
}

/* Thread-safe; Windows has no POSIX signal handlers to be safe in (a console
 * control handler runs on a thread of its own). The last error is kept. */
void rx_wakeup(reactor_t *r)
{
    if (atomic_exchange(&r->wake_pending, 1))
        return;
    int saved = WSAGetLastError();
    char one = 1;
    /* WSAEWOULDBLOCK means the socket buffer is full of wakeups: the loop will wake. */
    send(rx_socket(r->wake_wfd), &one, 1, 0);
    WSASetLastError(saved);
}

/* Reads everything, then clears the flag: the order of the POSIX version, for its reasons. */
void rx_wakeup_drain(reactor_t *r)
{
    char buf[64];
    while (recv(rx_socket(r->wake_rfd), buf, sizeof buf, 0) > 0)
        ;
    atomic_store(&r->wake_pending, 0);
}
