/*
 * services.h - per-reactor state of the loop services: timers, signals,
 * cross-thread posts and the work pool. Owned by src/timer.c, src/signal.c,
 * src/post.c and src/work.c; the core only calls the rx_services_* hooks
 * declared in internal.h.
 */
#ifndef RX_SERVICES_H
#define RX_SERVICES_H

struct rx_services {
    int placeholder; /* replaced by the services' real state */
};

#endif /* RX_SERVICES_H */
