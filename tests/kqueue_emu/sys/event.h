/*
 * sys/event.h - TEST-ONLY stand-in for the BSD <sys/event.h> on Linux.
 *
 * It declares just enough of kqueue(2) for backends/kqueue.c to compile and
 * run the test suite here, against the emulation in this directory (see
 * README.md). It is never installed and never part of the library users get.
 *
 * The struct follows macOS's `struct kevent` field for field (FreeBSD 12+
 * appends `uint64_t ext[4]`, which the backend does not use). The constants
 * have the values FreeBSD and macOS share. Flags the emulation does not
 * implement (EV_DISPATCH, EV_FLAG*, NOTE_*) and the other filters are left
 * out on purpose, so that code relying on them fails to compile here instead
 * of silently misbehaving.
 */
#ifndef RX_KQUEUE_EMU_SYS_EVENT_H
#define RX_KQUEUE_EMU_SYS_EVENT_H

#include <stdint.h>
#include <time.h>

struct kevent {
    uintptr_t ident;      /* the descriptor, for EVFILT_READ and EVFILT_WRITE */
    short filter;         /* EVFILT_* */
    unsigned short flags; /* EV_* actions and flags in; EV_* flags out */
    unsigned int fflags;  /* filter flags (unused by the two emulated filters) */
    intptr_t data;        /* out: bytes readable / writable, or the errno of EV_ERROR */
    void *udata;          /* passed through unchanged */
};

/* Filters (negative, as on every BSD). */
#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)

/* Actions. */
#define EV_ADD 0x0001     /* add the knote, or change udata of an existing one */
#define EV_DELETE 0x0002  /* remove it */
#define EV_ENABLE 0x0004  /* report it again */
#define EV_DISABLE 0x0008 /* keep it, but do not report it */

/* Flags given with EV_ADD. */
#define EV_ONESHOT 0x0010 /* report once, then delete */
#define EV_CLEAR 0x0020   /* reset the state once reported (edge-triggered) */
#define EV_RECEIPT 0x0040 /* always answer a change with an EV_ERROR entry (data 0 = success) */

/* Flags returned. */
#define EV_ERROR 0x4000 /* a change failed: data holds the errno */
#define EV_EOF 0x8000   /* the other end is gone (read side shut down, reader gone) */

/*
 * Fills a struct kevent; every argument is evaluated once. Plain assignments,
 * as in Apple's and FreeBSD's headers, so that what compiles here compiles
 * there without casts the real macro would not have made.
 */
#define EV_SET(kevp, a, b, c, d, e, f)                                                             \
    do {                                                                                           \
        struct kevent *rx_emu_kevp_ = (kevp);                                                      \
        rx_emu_kevp_->ident = (a);                                                                 \
        rx_emu_kevp_->filter = (b);                                                                \
        rx_emu_kevp_->flags = (c);                                                                 \
        rx_emu_kevp_->fflags = (d);                                                                \
        rx_emu_kevp_->data = (e);                                                                  \
        rx_emu_kevp_->udata = (f);                                                                 \
    } while (0)

int kqueue(void);
int kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
           int nevents, const struct timespec *timeout);

#endif /* RX_KQUEUE_EMU_SYS_EVENT_H */
