/* util.c - small helpers shared by the core's files. */
#include <errno.h>
#include <fcntl.h>

#include "internal.h"

/* Every fd the library opens is close-on-exec, so an exec'd child inherits none of them. */
int rx_set_cloexec_nonblock(int fd)
{
    int fdflags = fcntl(fd, F_GETFD);
    if (fdflags < 0 || fcntl(fd, F_SETFD, fdflags | FD_CLOEXEC) < 0)
        return -errno;
    int flflags = fcntl(fd, F_GETFL);
    if (flflags < 0 || fcntl(fd, F_SETFL, flflags | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}
