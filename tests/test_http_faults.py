#!/usr/bin/env python3
"""Fault and load tests of reactor-httpd on one backend (issue #6).

usage: test_http_faults.py PATH-TO-reactor-httpd BACKEND

Slowloris clients against --header-timeout-ms, thousands of keep-alive
connections (fds and memory back to their baseline afterwards), SIGTERM under
load, and clients resetting in the middle of a large static file. Loopback
only, single-threaded non-blocking clients, every wait bounded; only the
servers started here are signalled, by their PID. Counts are scaled down
under sanitizers and on select (FD_SETSIZE is 1024 for the whole process).
"""
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpd_harness as h  # noqa: E402
from httpd_harness import HELLO, Reader, Server, check, get  # noqa: E402

# The whole answer to GET /: its length is fixed (an IMF-fixdate is 29 bytes),
# so every byte but the date's is compared.
HELLO_RE = re.compile(rb"HTTP/1\.1 200 OK\r\nServer: reactor-httpd\r\nDate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} "
                      rb"\d{4} \d\d:\d\d:\d\d GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n"
                      + re.escape(HELLO))
HELLO_LEN = len("HTTP/1.1 200 OK\r\nServer: reactor-httpd\r\nDate: Wed, 02 Dec 2026 15:50:15 GMT\r\n"
                "Content-Type: text/plain\r\nContent-Length: 13\r\n\r\n") + len(HELLO)


NOFILE = None  # the soft RLIMIT_NOFILE of this process and the servers, set by main()


def scaled(normal, sanitized, select):
    n = sanitized if h.SANITIZED else normal
    n = min(n, select) if h.BACKEND == "select" else n
    if n > NOFILE - 64:  # the client and the server each hold n descriptors
        print(f"# RLIMIT_NOFILE is {NOFILE}: {n} connections scaled down to {NOFILE - 64}", flush=True)
        n = NOFILE - 64
    return n


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_fds(srv, baseline, within=5.0):
    """The server's fd count once it is back to baseline, or the last seen after `within` s."""
    end = time.monotonic() + within
    while True:
        n = fd_count(srv.p.pid)
        if n <= baseline or time.monotonic() > end:
            return n
        time.sleep(0.05)


def file_answer_re(srv, path):
    """The whole answer to GET `path` from a file server, as a pattern that allows any Date,
    and its length: a file's answer has a fixed length too."""
    s = srv.conn()
    try:
        s.sendall(get(path))
        r = Reader(s)
        status, hdrs, body = r.response()
    finally:
        s.close()
    head = status + "".join(f"\r\n{k}: {v}" for k, v in hdrs) + "\r\n\r\n"
    pat = re.escape(head.encode("latin-1") + body)
    date = re.search(rb"Date: [^\r]*", head.encode("latin-1")).group(0)
    pat = pat.replace(re.escape(date), rb"Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT")
    return re.compile(pat), len(head) + len(body)


def connect_many(srv, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection((srv.host, srv.port), timeout=5)
        s.setblocking(False)
        socks.append(s)
    return socks


def timed_get(srv):
    t = time.monotonic()
    s = srv.conn(timeout=2)
    try:
        s.sendall(get("/"))
        a = Reader(s).response()
        return time.monotonic() - t, a[0] == "HTTP/1.1 200 OK" and a[2] == HELLO
    finally:
        s.close()


# ---- 1. slowloris -------------------------------------------------------------------------

def test_slowloris():
    timeout_ms = 1500
    n = scaled(1000, 100, 300)
    srv = Server("--header-timeout-ms", str(timeout_ms), "--quiet")
    # A header that never ends: the server must cut it at the header timeout.
    trickle = b"GET / HTTP/1.1\r\nHost: t\r\n" + b"X-Pad: a\r\n" * 100
    sel = selectors.DefaultSelector()
    clients = {}  # sock -> [connected at, bytes sent, closed at or None, what was read]
    for s in connect_many(srv, n):
        clients[s] = [time.monotonic(), 0, None, b""]
        sel.register(s, selectors.EVENT_READ)
    latencies, ok_gets = [], 0
    next_tick = time.monotonic()
    end = time.monotonic() + timeout_ms / 1000 + 2.0 + 1.0
    while time.monotonic() < end and any(c[2] is None for c in clients.values()):
        now = time.monotonic()
        if now >= next_tick:
            next_tick = now + 0.2
            for s, c in clients.items():
                if c[2] is None and c[1] < len(trickle):
                    try:
                        c[1] += s.send(trickle[c[1]:c[1] + 1])
                    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                        pass
            if len(latencies) < 5:  # a normal client while the slow ones trickle
                dt, ok = timed_get(srv)
                latencies.append(dt)
                ok_gets += ok
        for key, _ in sel.select(timeout=max(0.0, next_tick - time.monotonic())):
            s, c = key.fileobj, clients[key.fileobj]
            try:
                b = s.recv(4096)
            except ConnectionResetError:
                b = b""
            if b:
                c[3] += b
                continue
            c[2] = time.monotonic()
            sel.unregister(s)
    late = [c for c in clients.values() if c[2] is None or c[2] - c[0] > timeout_ms / 1000 + 2.0]
    early = [c for c in clients.values() if c[2] is not None and c[2] - c[0] < timeout_ms / 1000 * 0.9]
    bad = [c[3] for c in clients.values() if c[3] and not c[3].startswith(b"HTTP/1.1 408 Request Timeout\r\n")]
    for s in clients:
        s.close()
    med = statistics.median(latencies) if latencies else float("inf")
    limit = 0.5 if h.SANITIZED else 0.1
    check(f"slowloris: {n} slow clients all closed within the header timeout + 2 s", not late,
          f"{len(late)} not closed in time")
    check("slowloris: none closed well before the header timeout", not early, f"{len(early)} early")
    check("slowloris: what the slow clients got is a 408 or nothing", not bad, repr(bad[:3]))
    check("slowloris: normal GET / answered 200 while they trickle", ok_gets == len(latencies) == 5,
          f"{ok_gets} of {len(latencies)}")
    check(f"slowloris: normal GET / median latency < {limit * 1000:.0f} ms", med < limit,
          f"{[round(x * 1000, 1) for x in latencies]} ms")
    print(f"# slowloris {n} clients: GET / latencies {[round(x * 1000, 1) for x in latencies]} ms",
          flush=True)
    srv.stop("slowloris server")


# ---- 2. many keep-alive connections -------------------------------------------------------

def keepalive_round(srv, n, requests=3):
    """n connections, each `requests` GET / one after another; returns the error count."""
    socks = connect_many(srv, n)
    sel = selectors.DefaultSelector()
    state = {}  # sock -> [answers left, buffer]
    for s in socks:
        s.sendall(get("/"))  # a GET is far below any socket buffer
        state[s] = [requests, b""]
        sel.register(s, selectors.EVENT_READ)
    errors, end = 0, time.monotonic() + 30
    while state and time.monotonic() < end:
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            st = state[s]
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                b = b""
            if not b:
                errors += 1
                sel.unregister(s)
                del state[s]
                continue
            st[1] += b
            while len(st[1]) >= HELLO_LEN:
                if not HELLO_RE.fullmatch(st[1][:HELLO_LEN]):
                    errors += 1
                    print(f"# bad answer: {st[1][:HELLO_LEN]!r}", flush=True)
                st[1] = st[1][HELLO_LEN:]
                st[0] -= 1
                if st[0]:
                    s.sendall(get("/"))
            if st[0] == 0 or st[0] < 0:
                errors += bool(st[1]) + (st[0] < 0)
                sel.unregister(s)
                del state[s]
    errors += len(state)  # unanswered by the deadline
    peak_rss = srv.rss_kib()
    for s in socks:
        s.close()
    return errors, peak_rss


def test_many_keepalive():
    n = scaled(5000, 1000, 800)
    srv = Server("--max-conns", str(n + 100), "--quiet")
    time.sleep(0.1)
    base_fds = fd_count(srv.p.pid)
    rss = []
    for rnd in (1, 2):
        t = time.monotonic()
        errors, peak = keepalive_round(srv, n)
        fds = wait_fds(srv, base_fds)
        time.sleep(0.2)
        rss.append((peak, srv.rss_kib()))
        check(f"keep-alive round {rnd}: {n} connections x 3 GET /, every byte as expected", errors == 0,
              f"{errors} errors")
        check(f"keep-alive round {rnd}: server fds back to baseline {base_fds}", fds == base_fds,
              f"{fds} fds")
        print(f"# keep-alive round {rnd}: {n} conns x 3 in {time.monotonic() - t:.2f} s, "
              f"RSS peak {peak} KiB, after {rss[-1][1]} KiB", flush=True)
    margin = 4096 if h.SANITIZED else 1024
    check("keep-alive: RSS after each round < its peak + margin",
          all(after < peak + margin for peak, after in rss), repr(rss))
    # The second round reuses what the first allocated: memory does not grow per round.
    check("keep-alive: RSS after round 2 < after round 1 + margin", rss[1][1] < rss[0][1] + margin, repr(rss))
    srv.stop("keep-alive server")


# ---- 3. SIGTERM under load ----------------------------------------------------------------

def test_sigterm_under_load(root, big):
    n = 50
    srv = Server("--root", root, "--quiet")
    hello_re, hello_len = file_answer_re(srv, "/hello")  # a small answer, as / is without --root
    # In flight at the signal: large answers the clients do not read until then.
    slow = connect_many(srv, 5)
    for s in slow:
        s.sendall(get("/big.bin"))
    socks = connect_many(srv, n)
    sel = selectors.DefaultSelector()
    state = {}  # sock -> [answers, buffer]
    for s in socks:
        s.sendall(get("/hello"))
        state[s] = [0, b""]
        sel.register(s, selectors.EVENT_READ)
    partial, bad, closed_clean = 0, 0, 0
    t_sig = None
    start = time.monotonic()
    end = start + 15
    while state and time.monotonic() < end:
        if t_sig is None and time.monotonic() - start > 0.5:
            srv.p.send_signal(signal.SIGTERM)
            t_sig = time.monotonic()
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            st = state[s]
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                b = None
            if not b:
                if st[1]:
                    partial += 1
                elif b is not None:
                    closed_clean += 1
                sel.unregister(s)
                del state[s]
                continue
            st[1] += b
            while len(st[1]) >= hello_len:
                if not hello_re.fullmatch(st[1][:hello_len]):
                    bad += 1
                st[1], st[0] = st[1][hello_len:], st[0] + 1
                try:
                    s.sendall(get("/hello"))
                except (BrokenPipeError, ConnectionResetError):
                    pass
    if t_sig is None:  # every client gone before the signal: stop the server anyway
        srv.p.send_signal(signal.SIGTERM)
        t_sig = time.monotonic()
    slow_ok = 0
    for s in slow:  # read each large answer to its end, then the server's close
        s.setblocking(True)
        s.settimeout(5)
        got = b""
        try:
            while True:
                b = s.recv(1 << 20)
                if not b:
                    break
                got += b
        except (socket.timeout, ConnectionResetError):
            got += b"<not closed cleanly>"
        head, _, body = got.partition(b"\r\n\r\n")
        slow_ok += head.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nContent-Length: %d" % len(big) in head \
            and body == big
    check("SIGTERM under load: the 5 large answers in flight completed, then EOF", slow_ok == 5,
          f"{slow_ok} of 5")
    try:
        rc = srv.p.wait(timeout=max(0.1, t_sig + 5 - time.monotonic()))
        took = time.monotonic() - t_sig
    except subprocess.TimeoutExpired:
        srv.p.kill()
        srv.p.wait()
        rc, took = "killed", None
    for s in socks + slow:
        s.close()
    err = srv.p.stderr.read().decode(errors="replace")
    check("SIGTERM under load: exit status 0", rc == 0, f"status {rc}")
    check("SIGTERM under load: exits within 5 s", took is not None and took < 5, f"{took}")
    check("SIGTERM under load: no partial response", partial == 0 and bad == 0,
          f"{partial} partial, {bad} wrong")
    # An idle connection whose next GET is still unread in the kernel is closed with
    # close(), so the client may see a reset rather than an EOF; either way it had
    # read every answer sent (no partial one, checked above).
    check("SIGTERM under load: every connection closed by the server", not state,
          f"{len(state)} still open")
    check("SIGTERM under load: no sanitizer report", "Sanitizer" not in err and "runtime error" not in err,
          err[-1500:])
    resets = n - closed_clean - partial
    print(f"# SIGTERM under load: exited {took if took is None else round(took, 3)} s after the signal; "
          f"{closed_clean} EOFs, {resets} resets", flush=True)


# ---- 4. resets in the middle of a large file -----------------------------------------------

def test_reset_mid_response(root):
    n = 50
    srv = Server("--root", root, "--quiet")
    time.sleep(0.1)
    base_fds = fd_count(srv.p.pid)
    for _ in range(n):
        s = srv.conn()
        s.sendall(get("/big.bin"))
        got = b""
        while len(got) < 4096:
            b = s.recv(4096)
            if not b:
                break
            got += b
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # an RST, with most of the file unsent
    check(f"reset mid-response: {n} clients got the start of a 200",
          got.startswith(b"HTTP/1.1 200 OK\r\n"), repr(got[:80]))
    s = srv.conn(timeout=2)
    s.sendall(get("/hello"))
    a = Reader(s).response()
    s.close()
    check("reset mid-response: the server then answers GET /hello", a[0] == "HTTP/1.1 200 OK" and a[2] == HELLO,
          a[0])
    fds = wait_fds(srv, base_fds)
    check(f"reset mid-response: server fds back to baseline {base_fds}", fds == base_fds, f"{fds} fds")
    srv.stop("reset server")


def main():
    h.setup(sys.argv[1], sys.argv[2])
    global NOFILE
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:  # root (as in CI) may raise the hard limit too
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(hard, 16384), max(hard, 16384)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    NOFILE = resource.getrlimit(resource.RLIMIT_NOFILE)[0]  # the servers inherit it
    tmp = tempfile.mkdtemp(prefix="rx-faults-")
    try:
        big = os.urandom(4 * 1024 * 1024)
        with open(os.path.join(tmp, "big.bin"), "wb") as f:
            f.write(big)
        with open(os.path.join(tmp, "hello"), "wb") as f:
            f.write(HELLO)
        only = sys.argv[3:]
        tests = [("slowloris", test_slowloris), ("keepalive", test_many_keepalive),
                 ("sigterm", lambda: test_sigterm_under_load(tmp, big)),
                 ("reset", lambda: test_reset_mid_response(tmp))]
        for name, test in tests:
            if not only or name in only:
                t = time.monotonic()
                test()
                print(f"# {name}: {time.monotonic() - t:.1f} s", flush=True)
    finally:
        h.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{h.BACKEND}: {h.passed()} passed, {len(h.failures)} failed", flush=True)
    sys.exit(1 if h.failures else 0)


if __name__ == "__main__":
    main()
