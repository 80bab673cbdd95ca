/*
 * backend.h - the seam between the core (src/) and one kernel interface.
 *
 * A backend only translates "make the kernel watch fd for these events" and
 * "wait and tell me what is ready" into its system calls. The core owns
 * everything else: the fd table, which changes are pending, ONESHOT
 * bookkeeping, the stale-event rules and dispatch. Each backend is one file in
 * backends/ exporting one `const struct rx_backend`.
 */
#ifndef RX_BACKEND_H
#define RX_BACKEND_H

#include <stdint.h>

#include "reactor.h"

/*
 * Bit kept by the core in a registration's kernel state: the backend holds an
 * entry for the fd, even if no READ/WRITE interest is armed (an epoll fd
 * disarmed by EPOLLONESHOT is still in the interest list and needs MOD, not ADD).
 */
#define RX_IN_KERNEL (1u << 7)

/* What a backend can do; the core adapts to these. */
enum rx_feature {
    RX_FEAT_EDGE = 1u << 0, /* REACTOR_EDGE is supported */
    /* After reporting an event for a ONESHOT registration the kernel has disarmed: */
    RX_FEAT_ONESHOT_FD = 1u << 1,     /* the whole fd (EPOLLONESHOT) */
    RX_FEAT_ONESHOT_FILTER = 1u << 2, /* each reported filter (kqueue EV_ONESHOT) */
    /* The kernel may keep reporting a file we can no longer remove (epoll: a
     * closed fd whose file lives on in a dup); the core rebuilds the backend
     * when it sees an event whose tag matches no live registration. */
    RX_FEAT_REBUILD_ON_STALE = 1u << 3,
    /* Each fd is reported at most once per wait, always with its tag: the
     * core can then dispatch straight from the backend's reports. */
    RX_FEAT_TAGGED_ONCE = 1u << 4,
    /* An fd may be reported twice per wait, once for READ and once for WRITE
     * (kqueue's two filters): the core gives wait() room for two reports per
     * fd it can take, merges them, and keeps for the next call the ONESHOT and EDGE
     * reports that do not fit the caller's batch: the kernel consumed them. */
    RX_FEAT_TWO_REPORTS = 1u << 5,
};

/* The tag of a parked entry's last report (see rx_backend.park): no registration's. */
#define RX_TAG_PARKED UINT32_MAX

/*
 * One readiness report from a backend. `events` is in the backend's own bits,
 * which the core turns into REACTOR_READ | REACTOR_WRITE through the
 * backend's evmap: so a backend whose kernel writes records of this very
 * layout (epoll on x86-64) hands the kernel's array over untouched, with no
 * pass over it before dispatch. The layout follows struct epoll_event there:
 * its 32-bit events word, of which only the low byte (the first, on a
 * little-endian machine) is read, then data.u64 = tag << 32 | fd.
 */
struct rx_ready {
    uint8_t events;    /* evmap[events] is what became ready */
    uint8_t unused[3]; /* the rest of epoll's events word, when written in place */
    int fd;
    uint32_t tag; /* the tag given to change(); 0 if the backend cannot carry one */
};

/* An evmap has an entry for each value of rx_ready.events. */
#define RX_EVMAP_SIZE 256
/* The initializer of an evmap: MAP(e) for e = 0 .. 255. */
#define RX_EVMAP_4(MAP, e) MAP(e), MAP((e) + 1), MAP((e) + 2), MAP((e) + 3)
#define RX_EVMAP_16(MAP, e)                                                                        \
    RX_EVMAP_4(MAP, e), RX_EVMAP_4(MAP, (e) + 4), RX_EVMAP_4(MAP, (e) + 8),                        \
        RX_EVMAP_4(MAP, (e) + 12)
#define RX_EVMAP_64(MAP, e)                                                                        \
    RX_EVMAP_16(MAP, e), RX_EVMAP_16(MAP, (e) + 16), RX_EVMAP_16(MAP, (e) + 32),                   \
        RX_EVMAP_16(MAP, (e) + 48)
#define RX_EVMAP_TABLE(MAP)                                                                        \
    RX_EVMAP_64(MAP, 0), RX_EVMAP_64(MAP, 64), RX_EVMAP_64(MAP, 128), RX_EVMAP_64(MAP, 192)
/*
 * The evmap of backends that report REACTOR_READ | REACTOR_WRITE themselves
 * (poll, select, kqueue): each value maps to its own READ and WRITE bits.
 */
extern const unsigned char rx_evmap_reactor[RX_EVMAP_SIZE];

struct rx_backend {
    const char *name;
    unsigned features; /* enum rx_feature */
    /* REACTOR_READ | REACTOR_WRITE for each value of rx_ready.events. */
    const unsigned char *evmap;

    /* Allocates the backend state and its kernel object. Returns 0 or -errno. */
    int (*create)(void **state);
    /* Closes the kernel object and frees the state. */
    void (*destroy)(void *state);
    /*
     * Optional (NULL: the core destroys `old` and the number may change).
     * Gives `state`, just created, the descriptor number of `old`'s kernel
     * object, whose file goes in the same step, and frees `old`: what keeps
     * reactor_backend_fd() the same across rebuilds and reactor_reinit().
     * Returns 0, or -errno with both left as they were.
     */
    int (*adopt)(void *state, void *old);

    /*
     * Brings the kernel from `old` to `want` for `fd`. Both are REACTOR_*
     * masks; `old` may carry RX_IN_KERNEL, `want` == 0 means remove. `tag`
     * identifies the registration and is returned with its events.
     * Returns 0 or -errno (the core decides which errors to absorb).
     */
    int (*change)(void *state, int fd, unsigned old, unsigned want, uint32_t tag);

    /*
     * Optional (NULL: the core removes instead). Disarms an armed fd that
     * stays registered - a pause - and leaves its entry in the kernel, inert,
     * so that the resume is a modify rather than an add. A parked entry may
     * report once more (a hang-up or an error, pending or to come), tagged
     * RX_TAG_PARKED, which the core drops, and never after: nothing about it
     * ever needs the fd's number again. Returns 0 or -errno.
     */
    int (*park)(void *state, int fd);

    /*
     * Waits up to timeout_ms (-1 forever) and fills at most `max` reports.
     * Returns the count, 0 on timeout, -EINTR, or another -errno. A backend
     * may report one fd in two entries (kqueue's two filters); the core merges.
     */
    int (*wait)(void *state, int timeout_ms, struct rx_ready *out, int max);

    /* The kernel object's fd (epoll, kqueue), or -ENOTSUP. */
    int (*backend_fd)(const void *state);

    /*
     * Optional (NULL: never). Nonzero while the backend holds changes of its
     * own that only its next wait gives the kernel (io_uring re-arms a
     * level-triggered poll request there): until then the kernel object's
     * fd may not poll readable for an fd that is ready, so
     * reactor_next_timeout() says 0.
     */
    int (*pending)(const void *state);
};

extern const struct rx_backend rx_backend_epoll;
extern const struct rx_backend rx_backend_io_uring;
extern const struct rx_backend rx_backend_kqueue;
extern const struct rx_backend rx_backend_poll;
extern const struct rx_backend rx_backend_select;

#endif /* RX_BACKEND_H */
