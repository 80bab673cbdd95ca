/*
 * services.c - the hooks the core calls, fanned out to the services: timers
 * (timer.c), signals (signal.c), child processes (child.c), posts (post.c)
 * and the work pool (work.c). The order of rx_services_run is the documented
 * dispatch order of reactor_run_once: expired timers, caught signals, exited
 * children, posted callbacks, work completions, each phase stopping early
 * when a callback freed the reactor.
 */
#include "internal.h"

int rx_services_init(reactor_t *r)
{
    int rc;
    rx_timers_init(r);
    r->svc.sig = NULL;
    rx_children_init(r);
    if ((rc = rx_posts_init(r)) < 0)
        return rc;
    if ((rc = rx_work_init(r)) < 0) {
        rx_posts_free(r);
        return rc;
    }
    return 0;
}

/*
 * The pool goes first: its workers may still call rx_wakeup() until they are
 * joined, and the core closes the wakeup only after this returns.
 */
void rx_services_free(reactor_t *r)
{
    rx_work_free(r);
    rx_children_free(r); /* before the signals: it may hold a SIGCHLD hook */
    rx_signals_free(r);
    rx_posts_free(r);
    rx_timers_free(r);
}

/*
 * Does not block while callbacks are due. Posts, signals and completions wake
 * the wait through a descriptor; the checks below cover a wakeup consumed by a
 * reactor_select() call, which drains the descriptors but runs no services.
 */
int rx_services_timeout(reactor_t *r, int timeout_ms)
{
    if (rx_posts_queued(r) || rx_signals_caught(r) || rx_children_due(r) || rx_work_completed(r))
        return 0;
    return rx_timers_timeout(r, timeout_ms);
}

int rx_services_run(reactor_t *r)
{
    int ran = rx_timers_run(r);
    ran += rx_signals_run(r);
    ran += rx_children_run(r);
    ran += rx_posts_run(r);
    ran += rx_work_run(r);
    return ran;
}

int rx_services_alive(const reactor_t *r)
{
    return rx_timers_pending(r) || rx_signals_watched(r) || rx_children_watched(r) ||
           rx_work_inflight(r) || rx_posts_queued(r);
}

/* In a child after fork(2), once the core has rebuilt the backend and its registrations. */
int rx_services_reinit(reactor_t *r)
{
    int rc;
    rx_children_reinit(r); /* first: it drops its SIGCHLD hook */
    if ((rc = rx_signals_reinit(r)) < 0)
        return rc;
    if ((rc = rx_posts_reinit(r)) < 0)
        return rc;
    return rx_work_reinit(r);
}
