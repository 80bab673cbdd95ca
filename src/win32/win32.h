/*
 * win32.h - what the Windows files of the library (src/win32/, the Winsock
 * backends) share.
 *
 * On Windows the API's `int fd` holds a SOCKET. A SOCKET is a UINT_PTR, but
 * it is a kernel handle, and Windows documents that handles have only 32
 * significant bits (so that they can be shared with 32-bit processes): the
 * value fits an int and INVALID_SOCKET (~0) becomes -1. Python's socket
 * module and libev's USE_WINSOCK builds make the same assumption.
 */
#ifndef RX_WIN32_H
#define RX_WIN32_H

/*
 * Winsock's fd_set is a count and an array of FD_SETSIZE SOCKETs (64 by
 * default), not a bitmap: the size caps how many sockets one select() can
 * watch, whatever their values. 1024 matches the POSIX select backend's
 * limit. It must be defined before <winsock2.h>, and every file of the
 * library that sees fd_set includes winsock2.h through here.
 */
#ifndef FD_SETSIZE
#define FD_SETSIZE 1024
#endif
#include <winsock2.h>
#include <ws2tcpip.h>

/* The SOCKET a registration's fd stands for (see above). */
static inline SOCKET rx_socket(int fd)
{
    return (SOCKET)(intptr_t)fd;
}

/* The negative errno the POSIX build returns for a Winsock error code. */
int rx_wsa_errno(int wsa_error);
/* rx_wsa_errno(WSAGetLastError()). */
int rx_wsa_last(void);

/*
 * WSAStartup / WSACleanup. Winsock counts them itself: every reactor takes
 * one reference for its life (its wakeup sockets need Winsock), so a program
 * that never called WSAStartup can still make reactors, and one that did is
 * not cleaned up under its feet.
 */
int rx_wsa_start(void);
void rx_wsa_stop(void);

/* Is `fd` an open socket? 0, or -ENOTSOCK (a file, pipe or console handle) or -EBADF. */
int rx_check_socket(int fd);

#endif /* RX_WIN32_H */
