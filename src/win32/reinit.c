/* reinit.c (Windows) - reactor_reinit() exists for fork(2), which Windows has not. */
#include <errno.h>

#include "internal.h"

int reactor_reinit(reactor_t *r)
{
    (void)r;
    return -ENOTSUP;
}
