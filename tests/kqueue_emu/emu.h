/*
 * emu.h - internals of the TEST-ONLY kqueue emulation (see README.md).
 *
 * Files: kqueue_emu.c (kqueue(), kevent(), which descriptors are kqueues),
 * emu_knote.c (adding, changing and dropping knotes), emu_scan.c (waiting
 * and filling the event list). Every name here is prefixed rx_emu_ so that
 * nothing clashes with the library or the tests linked beside it.
 */
#ifndef RX_EMU_H
#define RX_EMU_H

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "sys/event.h"

/* Index of a filter in the per-filter arrays below. */
enum { RX_EMU_READ = 0, RX_EMU_WRITE = 1, RX_EMU_NFILTERS = 2 };

/* A knote: what kqueue(2) keeps for one (ident, filter) pair. */
struct rx_emu_knote {
    unsigned char used;
    unsigned char disabled; /* EV_DISABLE: kept but not reported (and out of epoll) */
    unsigned char vnode;    /* a regular file or directory: evaluated by hand, epoll refuses it */
    unsigned short flags;   /* EV_CLEAR | EV_ONESHOT | EV_RECEIPT, fixed when the knote is made */
    void *udata;
    intptr_t last; /* vnode knote with EV_CLEAR: the data last reported (-1: none yet) */
};

/*
 * The knotes of one descriptor number, and the file they were made for:
 * close() of the number drops them (kqueue(2)), and we notice a close only
 * by the number being closed or naming another file (st_dev/st_ino).
 */
struct rx_emu_fd {
    uint32_t gen; /* stamped on this file's epoll entries: tells them from a former file's */
    dev_t dev;
    ino_t ino;
    struct rx_emu_knote kn[RX_EMU_NFILTERS];
};

/*
 * One emulated kqueue. The descriptor the caller gets is an epoll set `ep`
 * holding two inner epoll sets, one per filter: a READ and a WRITE knote of
 * one fd must be independent entries (each with its own EV_CLEAR/EV_ONESHOT),
 * and epoll allows one entry per (fd, file) in a set. So `ep` polls readable
 * exactly when a knote is ready, as kqueue(2) says a kqueue does.
 */
struct rx_emu_kq {
    int ep;
    int sets[RX_EMU_NFILTERS];
    pid_t pid; /* the creator: kqueue(2) is "not inherited by a child created with fork" */
    struct rx_emu_fd *fds; /* indexed by fd */
    int nfds;
    int nvnodes;                /* knotes with `vnode` set */
    int stale[RX_EMU_NFILTERS]; /* the set holds an entry no knote owns: rebuild it */
    int turn;                   /* which set is read first; alternates so neither starves */
    uint32_t gen;               /* last rx_emu_fd.gen handed out */
    struct epoll_event *evbuf;  /* scratch for epoll_wait */
    int evcap;
};

/* emu_knote.c */
struct rx_emu_fd *rx_emu_fd(const struct rx_emu_kq *q, int fd);
int rx_emu_apply(struct rx_emu_kq *q, const struct kevent *change);
int rx_emu_check_file(struct rx_emu_kq *q, int fd, struct stat *st);
void rx_emu_drop(struct rx_emu_kq *q, int fd, int filt);
void rx_emu_rebuild(struct rx_emu_kq *q, int filt);

/* emu_scan.c */
int rx_emu_scan(struct rx_emu_kq *q, struct kevent *out, int max, const struct timespec *timeout);

/* kqueue_emu.c: swaps an empty set in for sets[filt] (closing the old one),
 * safely against the garbage collector of kqueue(). 0, or -1 and `set` closed. */
int rx_emu_replace_set(struct rx_emu_kq *q, int filt, int set);

#endif /* RX_EMU_H */
