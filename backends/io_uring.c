/*
 * io_uring.c - the Linux io_uring(7) backend, readiness through poll requests.
 *
 * The rings are set up and driven with the raw system calls of
 * <linux/io_uring.h> (io_uring_setup(2), io_uring_enter(2), mmap(2)), as
 * libuv does: a few dozen lines, and no library to find, link or version.
 *
 * What io_uring(7) and the kernel's poll requests tell us, and what follows:
 *  - IORING_OP_POLL_ADD is one-shot: it completes once, with the ready mask
 *    as its result, and is then gone. Level-triggered registrations are
 *    re-armed by the backend itself, in the submission that goes with the
 *    next wait; so a callback that changes the fd in between costs nothing
 *    more, and the core sees epoll's level-triggered semantics. ONESHOT is
 *    the request as it is: not re-armed (RX_FEAT_ONESHOT_FD).
 *  - Each request carries user_data = tag << 32 | fd, as epoll's data does.
 *    A request is removed by its user_data (IORING_OP_POLL_REMOVE), whatever
 *    became of the fd's number, so a closed fd never leaves an entry we
 *    cannot delete: no RX_FEAT_REBUILD_ON_STALE. Completions that are
 *    cancelled, or whose tag is no longer the fd's, are dropped here.
 *  - One request per fd at a time, and a completion is re-armed only in the
 *    next wait: each fd is reported at most once per wait (RX_FEAT_TAGGED_ONCE).
 *  - A completion is only true when it is taken. One posted while the
 *    caller had control (a callback may have read the fd since) is not
 *    reported: the fd is polled afresh in the wait's own submission, where a
 *    ready poll completes at once. So are those beyond the caller's `max`,
 *    ahead of the fds just reported, so that every ready fd gets its turn.
 *  - A request holds a reference to the file. A removal must therefore reach
 *    the kernel at once, not with the next wait: after unregister + close the
 *    peer must see EOF. Registrations are submitted at once too (the request
 *    then names the file the fd names now, as epoll_ctl would); modifies,
 *    pauses and re-arms go with the io_uring_enter that waits.
 *  - A full SQ ring is submitted early, so no change is dropped; completions
 *    past a full CQ ring are kept by the kernel (IORING_FEAT_NODROP) and
 *    flushed by a non-waiting enter while the caller has room.
 *  - A closed fd is refused at register time (EBADF, checked with fcntl(2),
 *    as the kernel would only say so in a completion). A regular file is
 *    accepted and is always ready, as poll(2) reports it.
 *  - REACTOR_EDGE is not offered (-ENOTSUP): multishot poll requests would
 *    give it, but not yet here.
 *  - No IORING_SETUP_SINGLE_ISSUER / DEFER_TASKRUN: a reactor belongs to one
 *    thread at a time, not to its creating thread forever, and SINGLE_ISSUER
 *    makes io_uring_enter from another thread fail with EEXIST; DEFER_TASKRUN
 *    would also keep a cancelled request (and its file) until the next wait.
 *    COOP_TASKRUN is used where the kernel has it (5.19): no IPI per
 *    completion, since the loop thread enters the kernel to collect anyway.
 *  - Where io_uring_setup(2) fails with ENOSYS (qemu-user, old kernels),
 *    EPERM (kernel.io_uring_disabled, seccomp) or EINVAL, create fails with
 *    -ENOTSUP and reactor_new(NULL) moves on. Kernels without
 *    IORING_FEAT_EXT_ARG (before 5.11), which cannot wait with a timeout in
 *    the same call, are refused the same way.
 */
#if !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* dup3(2), syscall(2) */
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"

#define RX_URING_SQ_ENTRIES 256u
#define RX_URING_CQ_ENTRIES 4096u /* completions are kept beyond it (NODROP) */

/* What one fd has asked of the kernel. */
struct rx_uring_fd {
    uint32_t tag;     /* of the request armed or to arm; 0: nothing wanted */
    uint8_t mask;     /* REACTOR_READ | WRITE | ONESHOT; 0: nothing wanted */
    uint8_t inflight; /* a POLL_ADD is in the SQ or the kernel, not completed */
    uint8_t queued;   /* in rearm[]: a POLL_ADD to write before the next wait */
    uint8_t failed;   /* its last request failed (EBADF): not armed again */
};

struct rx_uring {
    int ringfd;
    int skip; /* IORING_FEAT_CQE_SKIP (5.17): a removal that succeeds posts nothing */
    /* The submission ring. */
    unsigned *sq_head, *sq_tail, *sq_flags, *sq_array, sq_mask, sq_entries;
    unsigned tail; /* ours, published before each io_uring_enter */
    struct io_uring_sqe *sqes;
    /* The completion ring. */
    unsigned *cq_head, *cq_tail, cq_mask;
    struct io_uring_cqe *cqes;
    void *sq_map, *cq_map;
    size_t sq_map_len, cq_map_len, sqes_len;

    struct rx_uring_fd *fds;
    int nfds;
    int *rearm; /* fds whose POLL_ADD goes with the next wait */
    int nrearm, rearm_cap;
    /* Level-triggered fds the last wait reported: armed again after the
     * fds it left out, so that every ready fd gets its turn. */
    int *done;
    int ndone, done_cap;
};

static int rx_uring_setup(unsigned entries, struct io_uring_params *p)
{
    return (int)syscall(__NR_io_uring_setup, (long)entries, p);
}

static int rx_uring_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                          const void *arg, size_t argsz)
{
    return (int)syscall(__NR_io_uring_enter, (long)fd, (long)to_submit, (long)min_complete,
                        (long)flags, arg, (long)argsz);
}

static void rx_uring_unmap(struct rx_uring *u)
{
    if (u->sqes && u->sqes != MAP_FAILED)
        munmap(u->sqes, u->sqes_len);
    if (u->cq_map && u->cq_map != MAP_FAILED && u->cq_map != u->sq_map)
        munmap(u->cq_map, u->cq_map_len);
    if (u->sq_map && u->sq_map != MAP_FAILED)
        munmap(u->sq_map, u->sq_map_len);
}

static void rx_uring_free(struct rx_uring *u)
{
    rx_uring_unmap(u);
    free(u->fds);
    free(u->rearm);
    free(u->done);
    free(u);
}

/* io_uring_setup, falling back from the flags this kernel may not know. */
static int rx_uring_open(struct io_uring_params *p)
{
    static const unsigned tries[] = {
        IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN,
        IORING_SETUP_CQSIZE,
        0,
    };
    int fd = -1;
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        memset(p, 0, sizeof *p);
        p->flags = tries[i];
        p->cq_entries = RX_URING_CQ_ENTRIES;
        fd = rx_uring_setup(RX_URING_SQ_ENTRIES, p);
        if (fd >= 0 || errno != EINVAL)
            break;
    }
    if (fd < 0) {
        int err = errno;
        /* The kernel cannot give us a ring at all here: not a shortage. */
        if (err == ENOSYS || err == EPERM || err == EINVAL || err == EACCES)
            return -ENOTSUP;
        return -err;
    }
    if (!(p->features & IORING_FEAT_EXT_ARG) || !(p->features & IORING_FEAT_NODROP)) {
        close(fd);
        return -ENOTSUP;
    }
    return fd;
}

static int rx_uring_create(void **state)
{
    struct rx_uring *u = calloc(1, sizeof *u);
    if (!u)
        return -ENOMEM;
    struct io_uring_params p;
    u->ringfd = rx_uring_open(&p);
    if (u->ringfd < 0) {
        int rc = u->ringfd;
        free(u);
        return rc;
    }
    u->sq_map_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    u->cq_map_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (p.features & IORING_FEAT_SINGLE_MMAP) { /* 5.4: both rings in one mapping */
        if (u->cq_map_len > u->sq_map_len)
            u->sq_map_len = u->cq_map_len;
        u->cq_map_len = u->sq_map_len;
    }
    u->sq_map = mmap(NULL, u->sq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                     u->ringfd, IORING_OFF_SQ_RING);
    if (u->sq_map == MAP_FAILED)
        goto fail;
    if (p.features & IORING_FEAT_SINGLE_MMAP)
        u->cq_map = u->sq_map;
    else if ((u->cq_map = mmap(NULL, u->cq_map_len, PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_POPULATE, u->ringfd, IORING_OFF_CQ_RING)) ==
             MAP_FAILED)
        goto fail;
    u->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
    u->sqes = mmap(NULL, u->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->ringfd,
                   IORING_OFF_SQES);
    if (u->sqes == MAP_FAILED)
        goto fail;
    char *sq = u->sq_map, *cq = u->cq_map;
    u->sq_head = (unsigned *)(void *)(sq + p.sq_off.head);
    u->sq_tail = (unsigned *)(void *)(sq + p.sq_off.tail);
    u->sq_flags = (unsigned *)(void *)(sq + p.sq_off.flags);
    u->sq_array = (unsigned *)(void *)(sq + p.sq_off.array);
    u->sq_mask = *(unsigned *)(void *)(sq + p.sq_off.ring_mask);
    u->sq_entries = p.sq_entries;
    u->cq_head = (unsigned *)(void *)(cq + p.cq_off.head);
    u->cq_tail = (unsigned *)(void *)(cq + p.cq_off.tail);
    u->cq_mask = *(unsigned *)(void *)(cq + p.cq_off.ring_mask);
    u->cqes = (struct io_uring_cqe *)(void *)(cq + p.cq_off.cqes);
    /* Slot i of the SQ ring always names SQE i: SQEs are used in ring order. */
    for (unsigned i = 0; i < p.sq_entries; i++)
        u->sq_array[i] = i;
    u->tail = *u->sq_tail;
    u->skip = (p.features & IORING_FEAT_CQE_SKIP) != 0;
    *state = u;
    return 0;
fail : {
    int err = errno;
    close(u->ringfd);
    rx_uring_free(u);
    return -err;
}
}

static void rx_uring_destroy(void *state)
{
    struct rx_uring *u = state;
    close(u->ringfd); /* the kernel cancels every request */
    rx_uring_free(u);
}

/* As rx_epoll_adopt: the new ring under the old number, in one step (dup3(2)). */
static int rx_uring_adopt(void *state, void *old)
{
    struct rx_uring *u = state, *prev = old;
    if (dup3(u->ringfd, prev->ringfd, O_CLOEXEC) < 0)
        return -errno;
    close(u->ringfd);
    u->ringfd = prev->ringfd;
    rx_uring_free(prev);
    return 0;
}

/* SQEs written and not yet taken by the kernel. */
static unsigned rx_uring_unsubmitted(const struct rx_uring *u)
{
    return u->tail - __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
}

static void rx_uring_publish(struct rx_uring *u)
{
    __atomic_store_n(u->sq_tail, u->tail, __ATOMIC_RELEASE);
}

/* Hands the written SQEs to the kernel without waiting. Returns 0 or -errno. */
static int rx_uring_submit(struct rx_uring *u)
{
    rx_uring_publish(u);
    unsigned n = rx_uring_unsubmitted(u);
    while (n) {
        int rc = rx_uring_enter(u->ringfd, n, 0, 0, NULL, 0);
        if (rc < 0 && errno != EINTR)
            return -errno;
        if (rc == 0)
            return -EAGAIN; /* nothing taken: left for the next enter, never spun on */
        n = rx_uring_unsubmitted(u);
    }
    return 0;
}

/* The next free SQE, zeroed; a full SQ is submitted first, so no change is dropped. */
static struct io_uring_sqe *rx_uring_sqe(struct rx_uring *u)
{
    if (rx_uring_unsubmitted(u) == u->sq_entries && rx_uring_submit(u) < 0)
        return NULL;
    struct io_uring_sqe *sqe = &u->sqes[u->tail & u->sq_mask];
    memset(sqe, 0, sizeof *sqe);
    u->tail++;
    return sqe;
}

static uint64_t rx_uring_data(int fd, uint32_t tag)
{
    return (uint64_t)tag << 32 | (uint32_t)fd;
}

/* Cancels fd's request armed under `tag`. Its own completion carries tag 0: dropped. */
static int rx_uring_remove(struct rx_uring *u, int fd, uint32_t tag)
{
    struct io_uring_sqe *sqe = rx_uring_sqe(u);
    if (!sqe)
        return -EBUSY;
    sqe->opcode = IORING_OP_POLL_REMOVE;
    /* Its success needs no completion (the cancelled request posts one): a
     * CQ slot fewer per change, so a burst of modifies fills the ring later. */
    sqe->flags = u->skip ? IOSQE_CQE_SKIP_SUCCESS : 0;
    sqe->fd = -1;
    sqe->addr = rx_uring_data(fd, tag);
    sqe->user_data = rx_uring_data(fd, 0);
    return 0;
}

static int rx_uring_add(struct rx_uring *u, int fd, const struct rx_uring_fd *s)
{
    struct io_uring_sqe *sqe = rx_uring_sqe(u);
    if (!sqe)
        return -EBUSY;
    uint32_t events = POLLERR | POLLHUP;
    events |= (s->mask & REACTOR_READ) ? (uint32_t)POLLIN : 0u;
    events |= (s->mask & REACTOR_WRITE) ? (uint32_t)POLLOUT : 0u;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    events = events << 16 | events >> 16; /* poll32_events is word-reversed (io_uring.h) */
#endif
    sqe->opcode = IORING_OP_POLL_ADD;
    sqe->fd = fd;
    sqe->poll32_events = events;
    sqe->user_data = rx_uring_data(fd, s->tag);
    return 0;
}

static int rx_uring_grow(struct rx_uring *u, int fd)
{
    if (fd >= u->nfds) {
        int n = u->nfds ? u->nfds : 64;
        while (n <= fd)
            n *= 2;
        struct rx_uring_fd *f = realloc(u->fds, (size_t)n * sizeof *f);
        if (!f)
            return -ENOMEM;
        memset(f + u->nfds, 0, (size_t)(n - u->nfds) * sizeof *f);
        u->fds = f;
        u->nfds = n;
    }
    if (u->nrearm == u->rearm_cap) {
        int n = u->rearm_cap ? u->rearm_cap * 2 : 64;
        int *r = realloc(u->rearm, (size_t)n * sizeof *r);
        if (!r)
            return -ENOMEM;
        u->rearm = r;
        u->rearm_cap = n;
    }
    return 0;
}

/* Queues fd's POLL_ADD for the next wait (room was made by rx_uring_grow). */
static void rx_uring_queue(struct rx_uring *u, int fd)
{
    struct rx_uring_fd *s = &u->fds[fd];
    if (!s->queued) {
        s->queued = 1;
        u->rearm[u->nrearm++] = fd;
    }
}

/* Forgets fd's request: cancelled if still armed. */
static int rx_uring_disarm(struct rx_uring *u, int fd)
{
    if (fd >= u->nfds)
        return 0;
    struct rx_uring_fd *s = &u->fds[fd];
    int rc = s->inflight ? rx_uring_remove(u, fd, s->tag) : 0;
    if (rc < 0)
        return rc;
    s->inflight = 0;
    s->tag = 0; /* whatever its request still reports is stale */
    s->mask = 0;
    return 1;
}

static int rx_uring_change(void *state, int fd, unsigned old, unsigned want, uint32_t tag)
{
    struct rx_uring *u = state;
    if (!want) {
        int rc = rx_uring_disarm(u, fd);
        if (rc <= 0)
            return rc;
        /* At once: the request holds the file, and its owner may close it now. */
        rc = rx_uring_submit(u);
        return rc == -EBUSY || rc == -EAGAIN ? 0 : rc; /* then it goes with the next wait */
    }
    int add = !(old & RX_IN_KERNEL);
    if (add && fcntl(fd, F_GETFD) < 0)
        return -errno; /* the kernel would only tell us in a completion */
    int rc = rx_uring_grow(u, fd);
    if (rc < 0)
        return rc;
    struct rx_uring_fd *s = &u->fds[fd];
    if (s->inflight && (rc = rx_uring_remove(u, fd, s->tag)) < 0)
        return rc;
    s->inflight = 0;
    s->tag = tag;
    s->mask = (uint8_t)(want & (REACTOR_READ | REACTOR_WRITE | REACTOR_ONESHOT));
    if (!add) { /* a modify, made by the core just before it waits */
        rx_uring_queue(u, fd);
        return 0;
    }
    /* A registration is armed at once, as epoll_ctl would: the file is the
     * one the fd names now, and the ring fd polls readable as soon as it is
     * ready (a reactor nested through reactor_backend_fd). */
    if ((rc = rx_uring_add(u, fd, s)) < 0)
        return rc;
    s->inflight = 1;
    rc = rx_uring_submit(u);
    return rc == -EBUSY || rc == -EAGAIN ? 0 : rc;
}

/* A pause: the request is cancelled with the next wait's submission. */
static int rx_uring_park(void *state, int fd)
{
    int rc = rx_uring_disarm(state, fd);
    return rc < 0 ? rc : 0;
}

/* Writes the POLL_ADDs queued since the last wait, for what each fd wants now. */
static int rx_uring_write_rearms(struct rx_uring *u)
{
    int i = 0, rc = 0;
    for (; i < u->nrearm; i++) {
        int fd = u->rearm[i];
        struct rx_uring_fd *s = &u->fds[fd];
        if (s->mask && !s->inflight) {
            if ((rc = rx_uring_add(u, fd, s)) < 0)
                break;
            s->inflight = 1;
        }
        s->queued = 0;
    }
    /* On failure the rest stay queued, for the next wait. */
    memmove(u->rearm, u->rearm + i, (size_t)(u->nrearm - i) * sizeof *u->rearm);
    u->nrearm -= i;
    return rc;
}

/*
 * The low byte of a report: the poll bits the kernel returned, which sit
 * there (POLLIN 1, POLLPRI 2, POLLOUT 4, POLLERR 8, POLLHUP 16, POLLNVAL 32).
 * A failed request (EBADF: the fd was closed before its POLL_ADD was
 * submitted) is reported as POLLERR, for its owner to meet the error.
 */
#define RX_URING_MAP(e)                                                                            \
    (((e) & (POLLIN | POLLPRI | POLLERR | POLLHUP | POLLNVAL) ? REACTOR_READ : 0u) |               \
     ((e) & (POLLOUT | POLLERR | POLLHUP | POLLNVAL) ? REACTOR_WRITE : 0u))
static const unsigned char rx_uring_map[RX_EVMAP_SIZE] = {RX_EVMAP_TABLE(RX_URING_MAP)};
_Static_assert((POLLIN | POLLPRI | POLLOUT | POLLERR | POLLHUP | POLLNVAL) < RX_EVMAP_SIZE,
               "the bits a poll request reports here fit the evmap");

/*
 * Takes completions off the CQ ring into at most `max` reports (none with
 * max 0). Those beyond are armed again instead, unreported: a poll result is
 * only true when it is taken, and the new request polls the fd afresh.
 * Returns the number of reports; *seen counts every completion taken.
 */
static int rx_uring_reap(struct rx_uring *u, struct rx_ready *out, int max, int *seen)
{
    unsigned head = *u->cq_head, tail = __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE);
    int n = 0;
    *seen = (int)(tail - head);
    for (; head != tail; head++) {
        const struct io_uring_cqe *cqe = &u->cqes[head & u->cq_mask];
        uint32_t tag = (uint32_t)(cqe->user_data >> 32);
        int fd = (int)(uint32_t)cqe->user_data;
        if (tag == 0 || fd >= u->nfds) /* a removal's own completion */
            continue;
        struct rx_uring_fd *s = &u->fds[fd];
        if (s->tag != tag || !s->inflight || cqe->res == -ECANCELED)
            continue; /* cancelled, or for a change since made */
        s->inflight = 0;
        if (n == max) {
            rx_uring_queue(u, fd);
            continue;
        }
        out[n].events = cqe->res < 0 ? (uint8_t)POLLERR : (uint8_t)cqe->res;
        memset(out[n].unused, 0, sizeof out[n].unused);
        out[n].fd = fd;
        out[n].tag = tag;
        n++;
        s->failed = cqe->res < 0;
    }
    __atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE);
    /* Level-triggered: armed again with the next wait, after those left out
     * above and those the kernel kept past a full CQ ring, whose requests
     * then complete first: with more fds ready than `max` (or than the ring
     * holds), every one gets its turn. A failed request is not armed again,
     * or it would fail at every wait. */
    for (int i = 0; i < n; i++) {
        struct rx_uring_fd *s = &u->fds[out[i].fd];
        if (!s->failed && !(s->mask & REACTOR_ONESHOT))
            u->done[u->ndone++] = out[i].fd;
    }
    return n;
}

static int64_t rx_uring_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Submits what is written and waits up to timeout_ms (-1 forever) for one completion. */
static int rx_uring_enter_wait(struct rx_uring *u, int timeout_ms)
{
    struct __kernel_timespec ts = {0};
    struct io_uring_getevents_arg arg = {0};
    if (timeout_ms > 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
        arg.ts = (uint64_t)(uintptr_t)&ts;
    }
    rx_uring_publish(u);
    int rc = rx_uring_enter(u->ringfd, rx_uring_unsubmitted(u), timeout_ms != 0,
                            IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof arg);
    return rc < 0 ? -errno : rc;
}

/*
 * Completions posted while the caller had control (its callbacks may have
 * read the fd since) are not reported: their fds are armed again, so that a
 * report says what holds at the wait, as epoll's does. Completions the
 * kernel kept past a full CQ ring (IORING_FEAT_NODROP) are flushed first.
 */
static int rx_uring_requeue_old(struct rx_uring *u)
{
    int seen;
    if (__atomic_load_n(u->sq_flags, __ATOMIC_ACQUIRE) & IORING_SQ_CQ_OVERFLOW) {
        (void)rx_uring_reap(u, NULL, 0, &seen);
        if (rx_uring_enter(u->ringfd, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0) < 0 &&
            errno != EINTR && errno != EBUSY && errno != EAGAIN)
            return -errno;
    }
    (void)rx_uring_reap(u, NULL, 0, &seen);
    return 0;
}

static int rx_uring_wait(void *state, int timeout_ms, struct rx_ready *out, int max)
{
    struct rx_uring *u = state;
    /* Room for every re-arm and report a reap may record: each fd is in
     * each list at most once. */
    if (u->rearm_cap < u->nfds) {
        int *r = realloc(u->rearm, (size_t)u->nfds * sizeof *r);
        if (!r)
            return -ENOMEM;
        u->rearm = r;
        u->rearm_cap = u->nfds;
    }
    if (u->done_cap < u->nfds) {
        int *d = realloc(u->done, (size_t)u->nfds * sizeof *d);
        if (!d)
            return -ENOMEM;
        u->done = d;
        u->done_cap = u->nfds;
    }
    int rc = rx_uring_requeue_old(u);
    if (rc < 0)
        return rc;
    for (int i = 0; i < u->ndone; i++)
        rx_uring_queue(u, u->done[i]);
    u->ndone = 0;
    int64_t deadline = timeout_ms > 0 ? rx_uring_now_ms() + timeout_ms : 0;
    for (;;) {
        rc = rx_uring_write_rearms(u);
        if (rc < 0 && rc != -EBUSY && rc != -EAGAIN)
            return rc;
        rc = rx_uring_enter_wait(u, timeout_ms);
        /* Interrupted: what came stays in the ring, to be polled afresh. */
        if (rc == -EINTR)
            return rc;
        if (rc < 0 && rc != -ETIME && rc != -EBUSY && rc != -EAGAIN)
            return rc;
        int seen, n = rx_uring_reap(u, out, max, &seen);
        /* Completions the kernel kept past a full CQ ring are flushed into it
         * by an enter that does not wait: what fits the caller's room is
         * reported now. */
        while (n < max &&
               (__atomic_load_n(u->sq_flags, __ATOMIC_ACQUIRE) & IORING_SQ_CQ_OVERFLOW)) {
            int more;
            if (rx_uring_enter(u->ringfd, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0) < 0 &&
                errno != EINTR && errno != EBUSY && errno != EAGAIN)
                break;
            n += rx_uring_reap(u, out + n, max - n, &more);
            seen += more;
            if (!more)
                break;
        }
        if (n > 0 || timeout_ms == 0 || rc == -ETIME)
            return n;
        /* io_uring_enter returns the number submitted, even when the wait
         * was cut short by a signal or its timeout: nothing came at all
         * before the deadline is the signal's EINTR. */
        if (seen == 0 && rc >= 0 && (timeout_ms < 0 || rx_uring_now_ms() < deadline))
            return -EINTR;
        /* Only dropped completions (a removal's, a stale one): wait on. */
        if (timeout_ms > 0 && (timeout_ms = (int)(deadline - rx_uring_now_ms())) <= 0)
            return 0;
    }
}

/* Re-arms written at the next wait are changes the kernel has not seen yet. */
static int rx_uring_pending(const void *state)
{
    const struct rx_uring *u = state;
    return u->nrearm > 0 || u->ndone > 0 || rx_uring_unsubmitted(u) > 0;
}

static int rx_uring_fd(const void *state)
{
    return ((const struct rx_uring *)state)->ringfd;
}

const struct rx_backend rx_backend_io_uring = {
    .name = "io_uring",
    .features = RX_FEAT_ONESHOT_FD | RX_FEAT_TAGGED_ONCE,
    .evmap = rx_uring_map,
    .create = rx_uring_create,
    .destroy = rx_uring_destroy,
    .adopt = rx_uring_adopt,
    .change = rx_uring_change,
    .park = rx_uring_park,
    .wait = rx_uring_wait,
    .backend_fd = rx_uring_fd,
    .pending = rx_uring_pending,
};
