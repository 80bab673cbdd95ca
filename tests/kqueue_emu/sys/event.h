/*
 * sys/event.h - TEST-ONLY emulation of the BSD kqueue(2) interface on Linux,
 * so that backends/kqueue.c runs the whole test suite here. Never installed,
 * never linked into the library users get. Names, flags and the struct follow
 * FreeBSD's and macOS's <sys/event.h>; see tests/kqueue_emu/README.md for
 * what is emulated and what is not.
 */
#ifndef RX_KQUEUE_EMU_SYS_EVENT_H
#define RX_KQUEUE_EMU_SYS_EVENT_H

#include <stdint.h>
#include <time.h>

struct kevent {
    uintptr_t ident; /* the fd */
    short filter;
    unsigned short flags;
    unsigned int fflags;
    intptr_t data;
    void *udata;
};

#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)

/* Actions and flags (values as in FreeBSD). */
#define EV_ADD 0x0001
#define EV_DELETE 0x0002
#define EV_ENABLE 0x0004
#define EV_DISABLE 0x0008
#define EV_ONESHOT 0x0010
#define EV_CLEAR 0x0020
#define EV_RECEIPT 0x0040
#define EV_EOF 0x8000
#define EV_ERROR 0x4000

#define EV_SET(kevp, a, b, c, d, e, f)                                                             \
    do {                                                                                           \
        struct kevent *ev_set_p = (kevp);                                                          \
        ev_set_p->ident = (a);                                                                     \
        ev_set_p->filter = (b);                                                                    \
        ev_set_p->flags = (c);                                                                     \
        ev_set_p->fflags = (d);                                                                    \
        ev_set_p->data = (e);                                                                      \
        ev_set_p->udata = (f);                                                                     \
    } while (0)

int kqueue(void);
int kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
           int nevents, const struct timespec *timeout);

#endif
