/*
 * winsock.c - Winsock start-up and errors for the Windows build.
 */
#include <errno.h>
#include <stdint.h>

#include "win32.h"

int rx_wsa_errno(int wsa_error)
{
    /* The codes the library's calls can meet, as the POSIX build reports
     * the same conditions; anything else is an invalid argument to us. */
    switch (wsa_error) {
    case 0:
        return 0;
    case WSAEWOULDBLOCK:
    case WSAEINPROGRESS:
        return -EAGAIN;
    case WSAEINTR:
        return -EINTR;
    case WSAENOTSOCK:
        return -ENOTSOCK;
    case WSAEBADF:
    case WSA_INVALID_HANDLE:
        return -EBADF;
    case WSAEMFILE:
        return -EMFILE;
    case WSAENOBUFS:
    case WSA_NOT_ENOUGH_MEMORY:
        return -ENOMEM;
    case WSAEACCES:
        return -EACCES;
    case WSAEAFNOSUPPORT:
    case WSAEPROTONOSUPPORT:
    case WSAEOPNOTSUPP:
    case WSAVERNOTSUPPORTED:
    case WSASYSNOTREADY:
        return -ENOTSUP;
    case WSANOTINITIALISED:
        /* No socket can exist without WSAStartup: whatever the caller
         * passed is not one of ours. */
        return -EBADF;
    default:
        return -EINVAL;
    }
}

int rx_wsa_last(void)
{
    return rx_wsa_errno(WSAGetLastError());
}

int rx_wsa_start(void)
{
    WSADATA data;
    int rc = WSAStartup(MAKEWORD(2, 2), &data);
    return rc ? rx_wsa_errno(rc) : 0;
}

void rx_wsa_stop(void)
{
    WSACleanup();
}

int rx_check_socket(int fd)
{
    if (fd < 0)
        return -EBADF;
    int type;
    int len = sizeof type;
    if (getsockopt(rx_socket(fd), SOL_SOCKET, SO_TYPE, (char *)&type, &len) == SOCKET_ERROR)
        return rx_wsa_last();
    return 0;
}
