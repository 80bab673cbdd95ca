/*
 * reactor.h - the whole public API of libreactor, a portable event loop.
 *
 * The model is Python's `selectors`: register a file descriptor with the
 * events you care about, a callback and user data; then either ask which
 * registrations are ready (reactor_select) or let the loop call the callbacks
 * (reactor_run_once / reactor_run).
 *
 * Conventions used by every function below:
 *  - Functions returning int (or int64_t) return a value >= 0 on success and a
 *    negative errno value on failure (e.g. -EINVAL). reactor_strerror() names
 *    them.
 *  - The library never closes a descriptor it did not open, and keeps no
 *    global mutable state: any number of reactors may live in one process.
 *  - A reactor belongs to one thread at a time. Only the calls marked
 *    "thread-safe" may be made from other threads; only the calls marked
 *    "async-signal-safe" may be made from a signal handler.
 */
#ifndef REACTOR_H
#define REACTOR_H

#include <stdint.h>

/*
 * Windows: reactor_post() returns -ESHUTDOWN, which MinGW-w64's <errno.h>
 * lacks (as does MSVC's); it is given Winsock's number for the same
 * condition (WSAESHUTDOWN), where no errno value can clash with it.
 */
#if defined(_WIN32)
#include <errno.h>
#ifndef ESHUTDOWN
#define ESHUTDOWN 10058
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define REACTOR_API
#elif defined(__GNUC__)
#define REACTOR_API __attribute__((visibility("default")))
#else
#define REACTOR_API
#endif

#define REACTOR_VERSION_MAJOR 0
#define REACTOR_VERSION_MINOR 2
#define REACTOR_VERSION_PATCH 0

/* An event loop. Opaque; create with reactor_new(), destroy with reactor_free(). */
typedef struct reactor reactor_t;

/*
 * Windows (MinGW-w64; docs/portability.md): every `int fd` of this API holds
 * a SOCKET, cast with (int) and back with (SOCKET). A SOCKET is a kernel
 * handle, and Windows documents that handles have 32 significant bits, so
 * the value fits (INVALID_SOCKET becomes -1), as Python's socket module and
 * libev assume too. Only sockets can be registered: select() and WSAPoll()
 * watch nothing else. The select backend is the default, limited to 1024
 * sockets (FD_SETSIZE) whatever their handle values; a poll backend on
 * WSAPoll() is built with -DREACTOR_WITH_POLL=ON. Of the signals only
 * SIGINT is watched (the console's Ctrl-C); the others, child watchers and
 * reactor_reinit() return -ENOTSUP. The library calls
 * WSAStartup() itself (each reactor holds one reference until freed).
 */

/*
 * Called by reactor_run_once()/reactor_run() when `fd` is ready. `events` is a
 * non-empty subset of the registered REACTOR_READ|REACTOR_WRITE bits; `data` is
 * the pointer given at registration (or the last reactor_modify()).
 */
typedef void (*reactor_cb)(reactor_t *r, int fd, unsigned events, void *data);

/* One ready registration, as filled in by reactor_select(). */
typedef struct reactor_event {
    int fd;          /* the registered descriptor */
    unsigned events; /* ready subset of REACTOR_READ | REACTOR_WRITE */
    void *data;      /* the registration's user data */
} reactor_event_t;

/* Event bits for reactor_register() / reactor_modify(). */
enum {
    REACTOR_READ = 1u << 0,    /* readable, or hang-up/error pending */
    REACTOR_WRITE = 1u << 1,   /* writable, or error pending */
    REACTOR_EDGE = 1u << 2,    /* edge-triggered (epoll EPOLLET, kqueue EV_CLEAR) */
    REACTOR_ONESHOT = 1u << 3, /* reported once, then disarmed until reactor_modify() */
    REACTOR_WEAK = 1u << 4,    /* does not keep reactor_run() running (libuv uv_unref) */
};
/* With READ|WRITE|ONESHOT both ready, kqueue may report only one of them: its
 * filters fire apart, and the first disarms the fd. Other backends report both. */

/* Returns the library version as MAJOR*10000 + MINOR*100 + PATCH. */
REACTOR_API int reactor_version(void);

/* ---- Creating and destroying a reactor -------------------------------- */

/*
 * Creates a reactor on the named backend ("epoll", "io_uring", "kqueue",
 * "poll", "select"). With NULL: the backend named by the environment variable
 * REACTOR_BACKEND if set and non-empty, otherwise the best one compiled in
 * (see reactor_backends()) that can work here: it falls back only past a
 * backend the kernel lacks or forbids (ENOSYS, ENOTSUP, EPERM, EACCES,
 * EINVAL), never past a shortage (EMFILE, ENFILE, ENOMEM), which it returns.
 * Returns NULL and sets errno on failure: ENOENT for an unknown backend name,
 * ENOTSUP for a backend that is not compiled in or not usable here, ENOMEM,
 * or the error of the kernel call that failed (e.g. EMFILE). io_uring is
 * never chosen where epoll works, and where io_uring_setup(2) is refused
 * (ENOSYS, EPERM: kernel.io_uring_disabled, seccomp) it fails with ENOTSUP.
 * Every descriptor the reactor opens for itself is close-on-exec.
 */
REACTOR_API reactor_t *reactor_new(const char *backend);

/*
 * Destroys a reactor: closes the descriptors it opened for itself, never the
 * registered ones; frees every registration, pending timer and posted callback
 * without calling them. Work queued with reactor_queue_work() that has not
 * started is dropped, work that is running is waited for, and no `done`
 * callback runs. Called from inside a callback of the same reactor, the
 * destruction is deferred until the callback returns, and no other callback
 * of that iteration runs (neither the rest of its ready fds nor its timers,
 * signals, posts, completions or hooks), so their data may be freed at once.
 * From the call on, reactor_post() fails with -ESHUTDOWN; once reactor_free()
 * has returned the reactor is gone, and any call on it, from any thread, is
 * undefined: stop other threads' posts before.
 * In a child of fork(2), reactor_free() may be called without reactor_reinit():
 * it then releases the child's copy only; the parent's work is not waited for.
 * NULL is ignored.
 */
REACTOR_API void reactor_free(reactor_t *r);

/* Returns the name of the reactor's backend: "epoll", "io_uring", "kqueue", "poll" or "select". */
REACTOR_API const char *reactor_backend(const reactor_t *r);

/* Returns the NULL-terminated list of backends compiled in, best first. Thread-safe. */
REACTOR_API const char *const *reactor_backends(void);

/*
 * Returns the backend's own kernel descriptor (the epoll, io_uring or kqueue fd), which
 * becomes readable when the reactor has ready events, so that the reactor can
 * be nested in another loop; -ENOTSUP for poll and select. The number stays
 * the same for the life of the reactor, across rebuilds of the kernel set and
 * across reactor_reinit() on epoll and io_uring; a kqueue is not inherited by fork(2), so
 * after reactor_reinit() on kqueue ask again.
 */
REACTOR_API int reactor_backend_fd(const reactor_t *r);

/* ---- Registrations ----------------------------------------------------- */

/*
 * Watches `fd` for `events` (REACTOR_READ and/or REACTOR_WRITE, optionally
 * with REACTOR_EDGE, REACTOR_ONESHOT and REACTOR_WEAK: a weak registration
 * does not keep reactor_run() running). `cb` may be NULL for callers that
 * only use reactor_select(). The registration is made in the kernel at once,
 * so kernel refusals are reported here. Errors:
 *  -EINVAL   fd < 0, no READ/WRITE bit, or unknown bits;
 *  -EEXIST   fd is already registered;
 *  -EBADF    fd is not an open descriptor;
 *  -EPERM    the descriptor does not support readiness (a regular file on epoll);
 *  -ENOTSUP  REACTOR_EDGE on a backend without edge mode (select, poll);
 *  -ERANGE   fd >= FD_SETSIZE on the select backend (on Windows: the
 *            1025th socket);
 *  -ENOTSOCK on Windows, a handle that is not a socket (a file, a pipe);
 *  -ENOMEM   out of memory; or any other kernel error.
 * A failed registration leaves no trace.
 */
REACTOR_API int reactor_register(reactor_t *r, int fd, unsigned events, reactor_cb cb, void *data);

/*
 * Replaces the events, callback and data of a registration. Changing only
 * `cb`/`data` makes no system call; changing events is applied before the next
 * wait, several changes to one fd costing at most one kernel call. A modify of
 * a REACTOR_ONESHOT registration that has fired re-arms it, even with the same
 * events.
 * `events` 0 pauses the registration: nothing is reported for `fd` until a
 * modify with events resumes it, but it stays registered (reactor_get() gives
 * events 0, reactor_count() counts it, reactor_register() fails with -EEXIST,
 * and it keeps reactor_run() running unless REACTOR_WEAK is given alone).
 * REACTOR_WEAK in `events` makes the registration weak, its absence strong
 * (reactor_get() reports the bit); that change makes no system call. Pause rather than unregister
 * an fd that stays open: a pause and a resume between two waits cost no kernel call, where
 * unregister reaches the kernel at once. A paused fd must still be unregistered before it is
 * closed. Errors: -EINVAL (as for reactor_register, except that 0 is a pause), -ENOENT for an
 * unknown fd, -ENOTSUP for REACTOR_EDGE on select/poll. If the kernel refuses the deferred change
 * (say the fd was closed without being unregistered), the fd is reported ready for its registered
 * events so that its owner's next read or write sees the error.
 */
REACTOR_API int reactor_modify(reactor_t *r, int fd, unsigned events, reactor_cb cb, void *data);

/*
 * Stops watching `fd`. An armed kernel registration is removed at once (so a
 * forked child holding the same file keeps nothing of ours armed), and `fd` is
 * never named to the kernel again: it may be closed at once. One armed with
 * nothing (a paused fd parked on epoll, a fired REACTOR_ONESHOT) is left in
 * the kernel until the file is closed, at no kernel call: it may wake one wait
 * of this reactor once more (a hang-up), which is dropped, and never reaches
 * a callback or reactor_select(), even if `fd` is registered in another
 * reactor meanwhile. Succeeds after the
 * fd was closed or its number reused (dup2): the kernel's EBADF/ENOENT are
 * absorbed. A registration removed during a dispatch receives no further
 * callback from that dispatch. Errors: -EINVAL fd < 0, -ENOENT unknown fd.
 */
REACTOR_API int reactor_unregister(reactor_t *r, int fd);

/*
 * Reads a registration: any of `events`, `cb`, `data` may be NULL. `events`
 * are the registered bits, REACTOR_WEAK included.
 * Errors: -EINVAL fd < 0, -ENOENT unknown fd.
 */
REACTOR_API int reactor_get(const reactor_t *r, int fd, unsigned *events, reactor_cb *cb,
                            void **data);

/* Returns the number of descriptors registered by the user. */
REACTOR_API int reactor_count(const reactor_t *r);

/* ---- Waiting and dispatching ------------------------------------------- */

/*
 * Waits up to `timeout_ms` (-1 forever, 0 not at all) for registered fds to be
 * ready and fills at most `max` entries of `out`, one per ready fd. Runs no
 * callbacks (timers, signals and posted callbacks are left for
 * reactor_run_once). When more than `max` fds are ready, the rest are reported
 * by later calls; none is lost. Returns the number of entries, 0 on timeout or
 * when reactor_stop() interrupted the wait, -EINTR when a signal interrupted
 * it (retry with the remaining time, as Python's selectors does), -EINVAL for
 * max < 1 or out == NULL, -EBUSY when called from inside a callback of this
 * reactor. Waits for the timeout even when nothing is registered.
 * Errors and hang-ups wake an fd as ready for what it registered.
 */
REACTOR_API int reactor_select(reactor_t *r, int timeout_ms, reactor_event_t *out, int max);

/*
 * Waits like reactor_select() (shortened to the next timer's deadline) and
 * calls the callbacks of the ready fds, then those of expired timers, caught
 * signals, exited watched children, posted callbacks and completed work;
 * REACTOR_BEFORE_WAIT hooks run first and REACTOR_AFTER_WAIT hooks last (see
 * reactor_hook_add). Returns how many callbacks ran, hooks not counted (0
 * after a timeout or an interrupting signal), or -EBUSY when called from
 * inside a callback of this reactor.
 */
REACTOR_API int reactor_run_once(reactor_t *r, int timeout_ms);

/*
 * Runs reactor_run_once() until reactor_stop() is called or nothing is left to
 * wait for: no fd registered, no timer pending, no signal watched, no work in
 * flight, no post queued, no child watched, leaving out weak fds, timers,
 * signals and children (see REACTOR_WEAK, reactor_timer_set_weak,
 * reactor_signal_set_weak, reactor_child_set_weak) and hooks.
 * Returns 0, or a negative errno on failure (-EBUSY from inside a callback).
 */
REACTOR_API int reactor_run(reactor_t *r);

/*
 * Makes reactor_run() return after the current iteration, and wakes a blocked
 * wait at once. A stop requested while the loop is not running makes the next
 * reactor_run() return at once after one iteration.
 * Thread-safe and async-signal-safe.
 */
REACTOR_API void reactor_stop(reactor_t *r);

/* Returns a static description of a (negative or positive) errno value. Thread-safe. */
REACTOR_API const char *reactor_strerror(int err);

/* ---- Timers ------------------------------------------------------------ */

/* Called on the loop thread when timer `id` expires. */
typedef void (*reactor_timer_cb)(reactor_t *r, int64_t id, void *data);

/*
 * Starts a timer that fires `after_ms` milliseconds after this call, then
 * every `repeat_ms` ms if `repeat_ms` > 0, on CLOCK_MONOTONIC. The clock is
 * read here, not taken from reactor_now()'s cached value, and the deadline is
 * kept in nanoseconds: a timer never fires before `after_ms` have passed since
 * this call. Equal deadlines fire in the order added.
 * Returns an id > 0 (ids are never reused by a reactor), or -EINVAL (cb NULL),
 * -ENOMEM. O(log n).
 */
REACTOR_API int64_t reactor_timer_add(reactor_t *r, uint64_t after_ms, uint64_t repeat_ms,
                                      reactor_timer_cb cb, void *data);

/*
 * Cancels a timer. Returns 0, or -ENOENT for an id that already fired (a
 * one-shot timer), was cancelled or never existed. A timer callback may cancel
 * its own timer. O(1) amortised: the entry is marked dead and dropped when it
 * reaches the top of the heap or at a compaction (see docs/design.md).
 */
REACTOR_API int reactor_timer_cancel(reactor_t *r, int64_t id);

/*
 * Makes a pending timer weak (weak != 0) or strong again: a weak timer still
 * fires while the loop runs, but does not keep reactor_run() running (libuv
 * uv_unref, libev ev_unref); a repeating timer is the usual case. A new timer
 * is strong. Returns 0, or -ENOENT for an id that is not pending, or -ENOMEM
 * the first time a timer is made weak (its bitmap is allocated then). O(1).
 * Owner thread; allowed in callbacks.
 */
REACTOR_API int reactor_timer_set_weak(reactor_t *r, int64_t id, int weak);

/*
 * Returns the loop's cached CLOCK_MONOTONIC time in ms (arbitrary origin).
 * Set by reactor_new(), refreshed by reactor_run_once() before and after its
 * wait (so all callbacks of one iteration see one value) and by
 * reactor_update_time(); not by reactor_select() or reactor_timer_add().
 * No errors. Owner thread.
 */
REACTOR_API uint64_t reactor_now(const reactor_t *r);

/*
 * Refreshes the cached clock that reactor_now() returns from CLOCK_MONOTONIC,
 * e.g. in a callback after long work. Timers do not need it: they read the
 * clock when armed. No errors. Owner thread; allowed in callbacks.
 */
REACTOR_API void reactor_update_time(reactor_t *r);

/*
 * Returns how long reactor_run_once() would wait now, in ms rounded up: 0 if
 * work is pending (posted callbacks, caught signals, finished work, due
 * timers, registration changes not yet given to the kernel), the time until
 * the next timer, or -1 if nothing but fds can wake the loop. With
 * reactor_backend_fd() it lets another loop drive this one: wait for the
 * backend fd to be readable for at most this long, then call
 * reactor_run_once(r, 0). Does not change reactor_now(). No errors. Owner
 * thread; allowed in callbacks.
 */
REACTOR_API int reactor_next_timeout(const reactor_t *r);

/* ---- Signals ------------------------------------------------------------ */

/* Called on the loop thread (never in the signal handler) after `signo` was caught. */
typedef void (*reactor_signal_cb)(reactor_t *r, int signo, void *data);

/*
 * Watches signal `signo`: its callback runs on the loop thread in the next
 * iteration after delivery (several deliveries between two iterations may
 * run it once). Installs a handler and remembers the previous disposition.
 * When several reactors in one process watch the same signal, each of them
 * runs its callback once per delivery. Errors: -EINVAL bad signal number
 * (or SIGKILL/SIGSTOP) or cb NULL, -EEXIST already watched by this reactor,
 * -ENOMEM, and on a reactor's first signal the errors of creating and
 * registering its self-pipe (e.g. -EMFILE). On Windows, where no POSIX
 * signal is delivered, SIGINT is the console's Ctrl-C (a control handler,
 * SetConsoleCtrlHandler, while a reactor watches it; Ctrl-C then no longer
 * ends the process) and any other signo is -ENOTSUP.
 */
REACTOR_API int reactor_signal_add(reactor_t *r, int signo, reactor_signal_cb cb, void *data);

/*
 * Stops watching `signo`; when no reactor watches it any more the previous
 * disposition is restored. Errors: -ENOENT not watched by this reactor.
 */
REACTOR_API int reactor_signal_remove(reactor_t *r, int signo);

/*
 * Makes a watched signal weak (weak != 0) or strong again: a weak watch still
 * runs its callback while the loop runs, but does not keep reactor_run()
 * running (a SIGINT handler that should not hold a finished program up).
 * A new watch is strong. Returns 0, or -ENOENT not watched by this reactor.
 */
REACTOR_API int reactor_signal_set_weak(reactor_t *r, int signo, int weak);

/* ---- Child processes ---------------------------------------------------- */

/*
 * Called on the loop thread once the watched child `pid` has exited and the
 * library has reaped it; `status` is as waitpid(2) gives it (WIFEXITED,
 * WEXITSTATUS, WIFSIGNALED, WTERMSIG).
 */
typedef void (*reactor_child_cb)(reactor_t *r, int pid, int status, void *data);

/*
 * Watches child process `pid` (a child of this process, not yet reaped).
 * When it exits, the library reaps that pid alone (waitpid(pid, WNOHANG);
 * never waitpid(-1), so children nobody watches are left to the program) and
 * runs `cb` once, in the services phase of an iteration, after the signal
 * callbacks; the watch is then gone. A child that already exited but was not
 * reaped is accepted, and reaped in the next iteration. A watch keeps
 * reactor_run() going unless made weak (reactor_child_set_weak). Linux uses
 * a pidfd (pidfd_open(2)) as an internal registration; elsewhere, with the
 * kqueue backend, or where pidfd_open fails with ENOSYS or EPERM, SIGCHLD
 * through the reactor's signal machinery, which installs the library's
 * SIGCHLD handler while such a watch exists; a reactor_signal_add(SIGCHLD)
 * of the program keeps working beside it. If something else reaps the child
 * first (a waitpid(-1) of the program, SIGCHLD set to SIG_IGN), the watch is
 * dropped without a callback. Errors: -EINVAL pid <= 0 or cb NULL, -EEXIST
 * pid already watched by this reactor, -ECHILD pid is not an unreaped child
 * of this process, -ENOMEM, and the errors of pidfd_open or of registering
 * the pidfd (-EMFILE, -ERANGE on select) or of reactor_signal_add;
 * -ENOTSUP on Windows (processes are handles there, not waitpid(2) pids).
 * Loop thread only; allowed in callbacks. reactor_free() drops every watch
 * without reaping; in a forked child, reactor_reinit() drops them too (the
 * child is not the parent of those pids).
 */
REACTOR_API int reactor_child_add(reactor_t *r, int pid, reactor_child_cb cb, void *data);

/*
 * Stops watching `pid`: its callback will not run, and the library will not
 * reap it (the program must). Errors: -ENOENT not watched by this reactor
 * (already reported, never added, or dropped). Loop thread only; allowed in
 * callbacks.
 */
REACTOR_API int reactor_child_remove(reactor_t *r, int pid);

/*
 * weak != 0: the watch of `pid` no longer keeps reactor_run() going (as
 * libuv's uv_unref); its callback still runs if the loop is running when the
 * child exits. weak == 0: it keeps reactor_run() going again (the default).
 * Errors: -ENOENT not watched by this reactor. Loop thread only.
 */
REACTOR_API int reactor_child_set_weak(reactor_t *r, int pid, int weak);

/* ---- Cross-thread posts ------------------------------------------------- */

/* Runs on the loop thread. */
typedef void (*reactor_post_cb)(reactor_t *r, void *data);

/*
 * Queues `fn(r, data)` to run on the loop thread in the next iteration, in
 * FIFO order. Many posts between two iterations cost one wakeup. Thread-safe
 * (may also be called from the loop thread). Errors: -EINVAL fn NULL, -ENOMEM,
 * -ESHUTDOWN once reactor_free() was called (while the reactor still exists:
 * a post that may race with the end of reactor_free() is undefined).
 */
REACTOR_API int reactor_post(reactor_t *r, reactor_post_cb fn, void *data);

/* ---- Work pool ---------------------------------------------------------- */

/* Runs on a pool thread. */
typedef void (*reactor_work_fn)(void *data);
/* Runs on the loop thread once work finished (status 0) or was cancelled (-ECANCELED). */
typedef void (*reactor_done_fn)(reactor_t *r, void *data, int status);

/*
 * Runs `work(data)` on the reactor's thread pool, then `done(r, data, status)`
 * on the loop thread (`done` may be NULL). The pool is created at the first
 * call with reactor_set_threadpool_size() threads, else the environment
 * variable REACTOR_THREADPOOL_SIZE (1..128, larger values capped at 128,
 * anything else ignored), else 4. Pool threads block every signal.
 * Returns a work id > 0 for reactor_work_cancel(), or -EINVAL (work NULL),
 * -ENOMEM, or the error of pthread_create.
 */
REACTOR_API int64_t reactor_queue_work(reactor_t *r, reactor_work_fn work, reactor_done_fn done,
                                       void *data);

/*
 * Cancels queued work that has not started: its `done` runs with -ECANCELED
 * in the next iteration. Errors: -ENOENT unknown or finished id, -EBUSY the
 * work is running.
 */
REACTOR_API int reactor_work_cancel(reactor_t *r, int64_t id);

/*
 * Sets the number of pool threads (1..128) before the pool starts.
 * Errors: -EINVAL out of range, -EBUSY the pool has already started.
 */
REACTOR_API int reactor_set_threadpool_size(reactor_t *r, unsigned threads);

/* ---- Hooks ---------------------------------------------------------------- */

/* When a hook runs; a hook may ask for both. */
enum {
    REACTOR_BEFORE_WAIT = 1u << 0, /* each iteration, before the wait's timeout is computed */
    REACTOR_AFTER_WAIT = 1u << 1,  /* each iteration, after all its other callbacks */
};

/* Called on the loop thread with the one of REACTOR_BEFORE_WAIT / AFTER_WAIT now due. */
typedef void (*reactor_hook_cb)(reactor_t *r, unsigned when, void *data);

/*
 * Calls `cb(r, when, data)` in every iteration of reactor_run_once() (and so
 * of reactor_run()), not of reactor_select(): before the wait (libev prepare,
 * libuv prepare), where a timer it adds or a post it makes already shortens
 * this wait, and after every other callback of the iteration (libev check,
 * libuv check). Hooks run in the order added; one added by a hook runs from
 * the next phase on, one removed by a hook does not run again. Hooks do not
 * keep reactor_run() running. Returns an id > 0 (never reused by a reactor),
 * or -EINVAL (cb NULL, `when` empty or with unknown bits), -ENOMEM.
 */
REACTOR_API int64_t reactor_hook_add(reactor_t *r, unsigned when, reactor_hook_cb cb, void *data);

/* Removes a hook; allowed in any callback. Returns 0, or -ENOENT for an unknown id. */
REACTOR_API int reactor_hook_remove(reactor_t *r, int64_t id);

/* ---- Fork ------------------------------------------------------------------ */

/*
 * To be called in the child after fork() before using the reactor there:
 * creates a new kernel object, restores every registration, and rebuilds the
 * signal and wakeup machinery and the thread pool (restarted lazily). Work
 * that was queued or running at the fork gets its `done` in the child with
 * -ECANCELED; posts queued at the fork run in both processes, as timers do.
 * Returns 0, -EBUSY from inside a callback, or a negative errno; -ENOTSUP
 * on Windows, which has no fork().
 */
REACTOR_API int reactor_reinit(reactor_t *r);

#ifdef __cplusplus
}
#endif

#endif /* REACTOR_H */
