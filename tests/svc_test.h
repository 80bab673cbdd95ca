/*
 * svc_test.h - helpers shared by the services tests (timers, signals, posts,
 * work pool, fork). Each test program runs once per backend: the backend
 * under test is named by the environment variable RX_TEST_BACKEND.
 */
#ifndef RX_SVC_TEST_H
#define RX_SVC_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "reactor.h"

#ifdef _WIN32
/* Windows' C runtime has _putenv_s, not setenv(3)/unsetenv(3); an empty value
 * removes the variable, and getenv() in the library sees the change. */
static inline int setenv(const char *name, const char *value, int overwrite)
{
    (void)overwrite;
    return _putenv_s(name, value);
}

static inline int unsetenv(const char *name)
{
    return _putenv_s(name, "");
}
#endif

/* Built with ASan or TSan: tests scale their counts and durations down. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SVC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SVC_SANITIZED 1
#endif
#endif
#ifndef SVC_SANITIZED
#define SVC_SANITIZED 0
#endif

static inline const char *svc_backend(void)
{
    const char *b = getenv("RX_TEST_BACKEND");
    return b && *b ? b : NULL;
}

static inline reactor_t *svc_new_reactor(void)
{
    reactor_t *r = reactor_new(svc_backend());
    if (!r)
        fail_msg("reactor_new(\"%s\") failed", svc_backend() ? svc_backend() : "(default)");
    return r;
}

/* cmocka setup/teardown: a fresh reactor in *state for each test. */
static inline int svc_setup(void **state)
{
    *state = reactor_new(svc_backend());
    return *state ? 0 : -1;
}

static inline int svc_teardown(void **state)
{
    reactor_free(*state);
    return 0;
}

/* CLOCK_MONOTONIC, the clock the reactor uses. */
static inline uint64_t svc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t svc_now_ms(void)
{
    return svc_now_ns() / 1000000u;
}

static inline void svc_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Runs iterations until *flag becomes nonzero or `limit_ms` pass; returns *flag. */
static inline int svc_run_until(reactor_t *r, const volatile int *flag, unsigned limit_ms)
{
    uint64_t end = svc_now_ms() + limit_ms;
    while (!*flag && svc_now_ms() < end)
        reactor_run_once(r, 50);
    return *flag;
}

#define SVC_TEST(f) cmocka_unit_test_setup_teardown(f, svc_setup, svc_teardown)

#endif /* RX_SVC_TEST_H */
