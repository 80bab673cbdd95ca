/* util.c (Windows) - the platform helpers of src/util.c for Windows. */
#include <malloc.h>

#include "internal.h"

/* No POSIX signal is delivered to a thread on Windows: nothing to block. */
void rx_block_signals(rx_sigmask_t *old)
{
    (void)old;
}

void rx_restore_signals(const rx_sigmask_t *old)
{
    (void)old;
}

/* The C runtime has no posix_memalign(): _aligned_malloc's blocks need _aligned_free. */
void *rx_aligned_alloc(size_t align, size_t size)
{
    return _aligned_malloc(size, align);
}

void rx_aligned_free(void *p)
{
    _aligned_free(p);
}
