/*
 * abi_layout.c - the public header's binary interface, pinned for soname 0:
 * the layout of reactor_event_t (callers allocate arrays of it for
 * reactor_select) and the values of the event bits. A change here is an ABI
 * break: it must come with a new soname (REACTOR_VERSION_MAJOR, the
 * SOVERSION in CMakeLists.txt) and new assertions for it. The build of this
 * file fails before the test runs; the program prints the layout it checked.
 * Exported function names are checked by packaging.exports.
 */
#include <stddef.h>
#include <stdio.h>

#include "reactor.h"

#if REACTOR_VERSION_MAJOR != 0
#error "new soname: pin the ABI of the new major version here"
#endif

/* Soname 0: { int fd; unsigned events; void *data; } in this order. */
_Static_assert(offsetof(reactor_event_t, fd) == 0, "reactor_event_t.fd moved");
_Static_assert(offsetof(reactor_event_t, events) == sizeof(int), "reactor_event_t.events moved");
_Static_assert(offsetof(reactor_event_t, data) ==
                   (2 * sizeof(int) + _Alignof(void *) - 1) / _Alignof(void *) * _Alignof(void *),
               "reactor_event_t.data moved");
_Static_assert(sizeof(reactor_event_t) == (offsetof(reactor_event_t, data) + sizeof(void *) +
                                           _Alignof(reactor_event_t) - 1) /
                                              _Alignof(reactor_event_t) * _Alignof(reactor_event_t),
               "reactor_event_t changed size");
_Static_assert(sizeof(((reactor_event_t *)0)->events) == sizeof(unsigned), "events type changed");
_Static_assert(REACTOR_READ == 1 && REACTOR_WRITE == 2 && REACTOR_EDGE == 4 && REACTOR_ONESHOT == 8,
               "event bits changed");

int main(void)
{
    printf("soname %d: reactor_event_t %zu bytes (fd @%zu, events @%zu, data @%zu); "
           "READ=%d WRITE=%d EDGE=%d ONESHOT=%d\n",
           REACTOR_VERSION_MAJOR, sizeof(reactor_event_t), offsetof(reactor_event_t, fd),
           offsetof(reactor_event_t, events), offsetof(reactor_event_t, data), REACTOR_READ,
           REACTOR_WRITE, REACTOR_EDGE, REACTOR_ONESHOT);
    return reactor_version() / 10000 == REACTOR_VERSION_MAJOR ? 0 : 1;
}
