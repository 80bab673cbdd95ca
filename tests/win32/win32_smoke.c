/*
 * win32_smoke.c - the Windows smoke test (plain C, no cmocka): what
 * tests/smoke checks on POSIX, less what Windows does not offer (signals,
 * but SIGINT, child watchers, fork), plus what differs there: a connected loopback TCP
 * pair stands in for socketpair(), a refused connect() reaches a WRITE
 * watcher, a non-socket handle is refused at registration, and the
 * services that have no Windows implementation say -ENOTSUP. Runs on
 * every backend compiled in; under wine:
 *
 *     WINEDEBUG=-all wine build/win64/bin/win32_smoke.exe
 *
 * Prints one line per check and "N passed, N failed" last; exits 1 on any failure.
 */
#include <winsock2.h>
#include <ws2tcpip.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "reactor.h"

static int passed, failed;

static void check(const char *backend, const char *what, int ok)
{
    printf("%s %s: %s\n", ok ? "ok  " : "FAIL", backend, what);
    if (ok)
        passed++;
    else
        failed++;
}

/* A connected pair of loopback TCP sockets: Windows has no socketpair(). */
static int tcp_pair(SOCKET sv[2])
{
    struct sockaddr_in addr = {0};
    int len = sizeof addr;
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (l == INVALID_SOCKET)
        return -1;
    if (bind(l, (struct sockaddr *)&addr, sizeof addr) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&addr, &len)) {
        closesocket(l);
        return -1;
    }
    sv[0] = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (sv[0] == INVALID_SOCKET || connect(sv[0], (struct sockaddr *)&addr, sizeof addr)) {
        closesocket(l);
        return -1;
    }
    sv[1] = accept(l, NULL, NULL);
    closesocket(l);
    if (sv[1] == INVALID_SOCKET)
        return -1;
    u_long on = 1;
    ioctlsocket(sv[0], FIONBIO, &on);
    ioctlsocket(sv[1], FIONBIO, &on);
    return 0;
}

struct counter {
    int calls;
    unsigned events;
    char byte;
};

static void on_readable(reactor_t *r, int fd, unsigned events, void *data)
{
    struct counter *c = data;
    (void)r;
    c->calls++;
    c->events = events;
    recv((SOCKET)fd, &c->byte, 1, 0);
}

/* Counts without reading: a connecting socket has nothing to read. */
static void on_connect(reactor_t *r, int fd, unsigned events, void *data)
{
    struct counter *c = data;
    (void)r;
    (void)fd;
    c->calls++;
    c->events = events;
}

static void on_timer(reactor_t *r, int64_t id, void *data)
{
    (void)r;
    (void)id;
    ++*(int *)data;
}

static void on_post(reactor_t *r, void *data)
{
    (void)r;
    ++*(int *)data;
}

struct poster {
    reactor_t *r;
    int *ran;
    int rc;
};

static DWORD WINAPI post_thread(LPVOID arg)
{
    struct poster *p = arg;
    p->rc = reactor_post(p->r, on_post, p->ran);
    return 0;
}

static void on_work(void *data)
{
    *(int *)data += 41;
}

static void on_work_done(reactor_t *r, void *data, int status)
{
    (void)r;
    if (status == 0)
        ++*(int *)data;
}

static void on_signal(reactor_t *r, int signo, void *data)
{
    (void)r;
    (void)signo;
    (void)data;
}

static void on_child(reactor_t *r, int pid, int status, void *data)
{
    (void)r;
    (void)pid;
    (void)status;
    (void)data;
}

static void on_sigint(reactor_t *r, int signo, void *data)
{
    (void)r;
    if (signo == SIGINT)
        ++*(int *)data;
}

static DWORD WINAPI stop_thread(LPVOID arg)
{
    Sleep(100);
    reactor_stop(arg);
    return 0;
}

/* Something that keeps reactor_run() going: a timer far in the future. */
static void on_never(reactor_t *r, int64_t id, void *data)
{
    (void)r;
    (void)id;
    (void)data;
}

/* Runs the loop once at a time until *flag is set or ~5 s have passed. */
static void run_until(reactor_t *r, const int *flag)
{
    for (int i = 0; i < 100 && !*flag; i++)
        reactor_run_once(r, 50);
}

static void check_backend(const char *name)
{
    reactor_t *r = reactor_new(name);
    check(name, "reactor_new", r != NULL);
    if (!r)
        return;
    check(name, "the backend is the one asked for", strcmp(reactor_backend(r), name) == 0);

    /* A readable socket is dispatched once, with READ. */
    SOCKET sv[2];
    int ok = tcp_pair(sv) == 0;
    check(name, "a loopback TCP pair", ok);
    if (ok) {
        struct counter rd = {0};
        int fd = (int)sv[1];
        check(name, "register a socket for READ",
              reactor_register(r, fd, REACTOR_READ, on_readable, &rd) == 0);
        check(name, "an idle socket is not dispatched",
              reactor_run_once(r, 0) == 0 && rd.calls == 0);
        check(name, "send a byte", send(sv[0], "x", 1, 0) == 1);
        for (int i = 0; i < 50 && rd.calls == 0; i++)
            reactor_run_once(r, 100);
        check(name, "the readable socket's callback runs with READ and reads the byte",
              rd.calls == 1 && (rd.events & REACTOR_READ) && rd.byte == 'x');
        check(name, "registering it twice is -EEXIST",
              reactor_register(r, fd, REACTOR_READ, on_readable, &rd) == -EEXIST);
        check(name, "unregister", reactor_unregister(r, fd) == 0);
        /* A connected socket with room in its buffer is writable at once. */
        struct counter wr = {0};
        check(name, "register for WRITE",
              reactor_register(r, (int)sv[0], REACTOR_WRITE, on_readable, &wr) == 0);
        for (int i = 0; i < 50 && wr.calls == 0; i++)
            reactor_run_once(r, 100);
        check(name, "a connected socket is reported writable",
              wr.calls >= 1 && (wr.events & REACTOR_WRITE));
        check(name, "unregister the writer", reactor_unregister(r, (int)sv[0]) == 0);
        closesocket(sv[0]);
        closesocket(sv[1]);
    }

    /* A refused non-blocking connect() is reported to a WRITE watcher (select
     * finds it in exceptfds), and SO_ERROR then says why. */
    SOCKET conn = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    SOCKET closed = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in to = {0};
    int tolen = sizeof to;
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* A port nobody listens on: bound, then closed, by us. */
    ok = conn != INVALID_SOCKET && closed != INVALID_SOCKET &&
         bind(closed, (struct sockaddr *)&to, sizeof to) == 0 &&
         getsockname(closed, (struct sockaddr *)&to, &tolen) == 0;
    if (closed != INVALID_SOCKET)
        closesocket(closed);
    check(name, "a socket and a closed port", ok);
    if (ok) {
        u_long on = 1;
        ioctlsocket(conn, FIONBIO, &on);
        int rc = connect(conn, (struct sockaddr *)&to, sizeof to);
        check(name, "a non-blocking connect is in progress",
              rc == 0 || WSAGetLastError() == WSAEWOULDBLOCK);
        struct counter cc = {0};
        check(name, "register the connecting socket for WRITE",
              reactor_register(r, (int)conn, REACTOR_WRITE, on_connect, &cc) == 0);
        for (int i = 0; i < 100 && cc.calls == 0; i++)
            reactor_run_once(r, 50);
        int err = 0, errlen = sizeof err;
        getsockopt(conn, SOL_SOCKET, SO_ERROR, (char *)&err, &errlen);
        check(name, "the refused connect is reported, SO_ERROR WSAECONNREFUSED",
              cc.calls >= 1 && err == WSAECONNREFUSED);
        reactor_unregister(r, (int)conn);
    }
    if (conn != INVALID_SOCKET)
        closesocket(conn);

    /* A file handle is not a socket: refused with -ENOTSOCK at registration. */
    char path[MAX_PATH + 1], file[MAX_PATH + 1];
    if (GetTempPathA(sizeof path, path) && GetTempFileNameA(path, "rx", 0, file)) {
        HANDLE h = CreateFileA(file, GENERIC_READ, 0, NULL, OPEN_EXISTING,
                               FILE_FLAG_DELETE_ON_CLOSE, NULL);
        if (h != INVALID_HANDLE_VALUE) {
            struct counter c = {0};
            int rc = reactor_register(r, (int)(intptr_t)h, REACTOR_READ, on_readable, &c);
            check(name, "a file handle is refused with -ENOTSOCK", rc == -ENOTSOCK);
            CloseHandle(h);
        } else {
            check(name, "open a temporary file", 0);
        }
    }

    /* A timer fires. */
    int fired = 0;
    check(name, "add a 10 ms timer", reactor_timer_add(r, 10, 0, on_timer, &fired) > 0);
    run_until(r, &fired);
    check(name, "the timer fired once", fired == 1);

    /* A post from another thread runs on the loop thread. */
    int ran = 0;
    struct poster p = {r, &ran, -1};
    HANDLE t = CreateThread(NULL, 0, post_thread, &p, 0, NULL);
    check(name, "start a posting thread", t != NULL);
    if (t) {
        WaitForSingleObject(t, INFINITE);
        CloseHandle(t);
        check(name, "reactor_post from another thread", p.rc == 0);
        run_until(r, &ran);
        check(name, "the post ran on the loop", ran == 1);
    }

    /* Work runs on the pool; its done callback on the loop. */
    int value = 1;
    check(name, "queue work", reactor_queue_work(r, on_work, on_work_done, &value) > 0);
    int before = value;
    for (int i = 0; i < 100 && value == before; i++)
        reactor_run_once(r, 50);
    check(name, "the work ran and its done callback too", value == 43);

    /* What Windows does not offer says so. */
    check(name, "reactor_signal_add(SIGTERM) is -ENOTSUP",
          reactor_signal_add(r, SIGTERM, on_signal, NULL) == -ENOTSUP);

    /* SIGINT is the console's Ctrl-C: the callback runs on the loop thread. */
    int sigints = 0;
    check(name, "reactor_signal_add(SIGINT)",
          reactor_signal_add(r, SIGINT, on_sigint, &sigints) == 0);
    check(name, "a second reactor_signal_add(SIGINT) is -EEXIST",
          reactor_signal_add(r, SIGINT, on_sigint, &sigints) == -EEXIST);
    /* Run with its output in a pipe (ctest), the process may have no console:
     * give it one (wine makes a headless one) so that there is a Ctrl-C to send. */
    int sent = GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0);
    if (!sent && AllocConsole())
        sent = GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0);
    if (sent) {
        run_until(r, &sigints);
        check(name, "Ctrl-C runs the SIGINT callback once", sigints == 1);
    } else {
        /* RX_SMOKE_CONSOLE=1 (ctest's smoke.console, run on a pty) makes this a failure. */
        const char *need = getenv("RX_SMOKE_CONSOLE");
        check(name, "no console to send Ctrl-C to: skipped", !(need && *need == '1'));
    }
    check(name, "reactor_signal_remove(SIGINT)", reactor_signal_remove(r, SIGINT) == 0);
    check(name, "a second remove is -ENOENT", reactor_signal_remove(r, SIGINT) == -ENOENT);
    check(name, "reactor_child_add is -ENOTSUP",
          reactor_child_add(r, 1234, on_child, NULL) == -ENOTSUP);
    check(name, "reactor_reinit is -ENOTSUP", reactor_reinit(r) == -ENOTSUP);

    /* reactor_stop() from another thread wakes a blocked reactor_run(): the
     * loopback wakeup pair works. */
    int64_t never = reactor_timer_add(r, 60000, 0, on_never, NULL);
    HANDLE st = CreateThread(NULL, 0, stop_thread, r, 0, NULL);
    ULONGLONG t0 = GetTickCount64();
    int rc = reactor_run(r);
    ULONGLONG waited = GetTickCount64() - t0;
    if (st) {
        WaitForSingleObject(st, INFINITE);
        CloseHandle(st);
    }
    check(name, "reactor_stop from another thread ends reactor_run", rc >= 0 && waited < 10000);
    reactor_timer_cancel(r, never);
    reactor_free(r);
    check(name, "reactor_free", 1);
}

int main(void)
{
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        printf("WSAStartup failed\n");
        return 1;
    }
    const char *const *names = reactor_backends();
    for (int i = 0; names[i]; i++)
        check_backend(names[i]);
    WSACleanup();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
