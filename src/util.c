/* util.c - small helpers shared by the core's files. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

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

/*
 * Blocks every signal in the calling thread, saving the old mask: threads
 * created meanwhile inherit the full mask (pthread_sigmask(3)), so a process
 * signal is never handled on a pool thread. Kept here, with the other POSIX
 * calls, so that work.c is the same on Windows (src/win32/util.c).
 */
void rx_block_signals(rx_sigmask_t *old)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, old);
}

void rx_restore_signals(const rx_sigmask_t *old)
{
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

void *rx_aligned_alloc(size_t align, size_t size)
{
    void *p;
    return posix_memalign(&p, align, size) ? NULL : p;
}

void rx_aligned_free(void *p)
{
    free(p);
}
