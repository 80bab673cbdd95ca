/*
 * echo_net.h - the socket calls of reactor-echo on POSIX and on Windows.
 *
 * On Windows a socket is a SOCKET handle, closed with closesocket(), and a
 * failed socket call leaves its error in WSAGetLastError(), not errno; there
 * is no /dev/null to keep a spare descriptor with, and no fcntl(). These
 * wrappers let echo_server.c read the same on both: each returns what the
 * POSIX call returns and, on failure, leaves the POSIX error in errno.
 * (libreactor's `int fd` holds the SOCKET on Windows: see docs/portability.md.)
 */
#ifndef ECHO_NET_H
#define ECHO_NET_H

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>

#ifndef SHUT_WR
#define SHUT_WR SD_SEND
#endif

/* The errno of the last failed Winsock call (the codes the server tests). */
static inline int net_set_errno(void)
{
    int e = WSAGetLastError();
    switch (e) {
    case WSAEWOULDBLOCK:
        errno = EWOULDBLOCK;
        break;
    case WSAEINTR:
        errno = EINTR;
        break;
    case WSAECONNABORTED:
        errno = ECONNABORTED;
        break;
    case WSAECONNRESET:
        errno = ECONNRESET;
        break;
    case WSAEMFILE:
        errno = EMFILE;
        break;
    case WSAENOBUFS:
        errno = ENOBUFS;
        break;
    default:
        errno = EIO;
        break;
    }
    return -1;
}

static inline int net_start(void)
{
    WSADATA wsa;
    return WSAStartup(MAKEWORD(2, 2), &wsa) == 0 ? 0 : -1;
}

static inline ssize_t net_recv(int fd, void *buf, size_t n)
{
    int k = recv((SOCKET)fd, buf, n > INT_MAX ? INT_MAX : (int)n, 0);
    return k == SOCKET_ERROR ? net_set_errno() : k;
}

static inline ssize_t net_send(int fd, const void *buf, size_t n)
{
    int k = send((SOCKET)fd, buf, n > INT_MAX ? INT_MAX : (int)n, 0);
    return k == SOCKET_ERROR ? net_set_errno() : k;
}

static inline void net_close(int fd)
{
    closesocket((SOCKET)fd);
}

/* An accepted socket inherits the listener's non-blocking mode on Windows,
 * and handles are not inherited by children unless asked for. */
static inline int net_accept(int lfd)
{
    SOCKET s = accept((SOCKET)lfd, NULL, NULL);
    return s == INVALID_SOCKET ? net_set_errno() : (int)s;
}

static inline int net_nonblock_cloexec(int fd)
{
    u_long on = 1;
    if (ioctlsocket((SOCKET)fd, FIONBIO, &on) == SOCKET_ERROR)
        return net_set_errno();
    SetHandleInformation((HANDLE)(intptr_t)fd, HANDLE_FLAG_INHERIT, 0);
    return 0;
}

static inline int net_socket(int family)
{
    SOCKET s = socket(family, SOCK_STREAM, 0);
    return s == INVALID_SOCKET ? net_set_errno() : (int)s;
}

/* Windows has no per-process descriptor limit to shed connections at: no spare. */
static inline int net_spare(void)
{
    return -1;
}

static inline void net_spare_close(int fd)
{
    (void)fd;
}

#else /* POSIX */
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

static inline int net_start(void)
{
    return 0;
}

static inline ssize_t net_recv(int fd, void *buf, size_t n)
{
    return recv(fd, buf, n, 0);
}

static inline ssize_t net_send(int fd, const void *buf, size_t n)
{
    return send(fd, buf, n, 0);
}

static inline void net_close(int fd)
{
    close(fd);
}

static inline int net_nonblock_cloexec(int fd)
{
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
        return -1;
    return 0;
}

static inline int net_accept(int lfd)
{
#ifdef __linux__
    return accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int fd = accept(lfd, NULL, NULL);
    if (fd >= 0 && net_nonblock_cloexec(fd) < 0) {
        close(fd);
        errno = ECONNABORTED; /* lose this one connection, keep accepting */
        return -1;
    }
    return fd;
#endif
}

static inline int net_socket(int family)
{
    return socket(family, SOCK_STREAM, 0);
}

/* A spare descriptor, given up to shed connections on EMFILE. */
static inline int net_spare(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static inline void net_spare_close(int fd)
{
    close(fd);
}
#endif

#endif /* ECHO_NET_H */
