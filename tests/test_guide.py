#!/usr/bin/env python3
"""Runs one program of docs/guide.md (examples/guide/) and checks its behaviour.

    test_guide.py PROGRAM KIND [BACKEND]

KIND is blocking (01), http (02-06), echo (07), timers (08) or work (09).
BACKEND, for the libreactor steps, is passed as REACTOR_BACKEND and checked
against the server's first line. Loopback only; every wait is bounded; only
the process started here is signalled, by its PID.
"""
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

PROG, KIND = sys.argv[1], sys.argv[2]
BACKEND = sys.argv[3] if len(sys.argv) > 3 else None
RESPONSE = (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 13\r\n\r\nHello, world\n")
LINE = re.compile(rb"listening on 127\.0\.0\.1:(\d+)(?: \(backend (\S+)\))?\n\Z")


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


class Server:
    def __init__(self, *args):
        env = dict(os.environ)
        if BACKEND:
            env["REACTOR_BACKEND"] = BACKEND
        self.p = subprocess.Popen([PROG, "0", *args], stdout=subprocess.PIPE, env=env)
        ready, _, _ = select.select([self.p.stdout], [], [], 5.0)
        line = self.p.stdout.readline() if ready else b""
        m = LINE.match(line)
        if not m:
            self.stop()
            raise AssertionError(f"first line should be 'listening on 127.0.0.1:PORT', got {line!r}")
        expect(BACKEND is None or m.group(2) == BACKEND.encode(),
               f"server runs on {m.group(2)!r}, wanted {BACKEND}")
        self.port = int(m.group(1))

    def connect(self, timeout=10.0):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def stop(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGTERM)
        try:
            self.p.wait(5.0)
        except subprocess.TimeoutExpired:
            os.kill(self.p.pid, signal.SIGKILL)
            self.p.wait(5.0)


def read_all(s):
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return out
        out += chunk


def get(srv, path="/", pieces=1):
    """One HTTP/1.0 request, sent in `pieces` parts; returns the whole reply."""
    req = f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode()
    with srv.connect() as s:
        step = -(-len(req) // pieces)
        for i in range(0, len(req), step):
            s.sendall(req[i:i + step])
            if pieces > 1:
                time.sleep(0.02)  # separate segments: the server must reassemble
        return read_all(s)


def concurrent(n, fn):
    results, errors = [None] * n, []

    def run(i):
        try:
            results[i] = fn(i)
        except Exception as e:  # reported below, with the others
            errors.append(repr(e))
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30.0)
    expect(not errors, f"client errors: {errors[:3]}")
    return results


def check_http(srv):
    expect(get(srv) == RESPONSE, "a plain GET is answered")
    expect(get(srv, pieces=3) == RESPONSE, "a request in three segments is answered")
    rst = srv.connect()
    rst.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    rst.sendall(b"GET / HT")
    rst.close()  # a reset mid-request must not hurt the server
    with srv.connect() as idle:  # connected, silent: must not delay anybody
        replies = concurrent(50, lambda i: get(srv, pieces=1 + i % 2))
        expect(all(r == RESPONSE for r in replies), "50 concurrent clients are answered")
        idle.sendall(b"GET / HTTP/1.0\r\n\r\n")
        expect(read_all(idle) == RESPONSE, "the idle client is answered too")


def check_blocking(srv):
    expect(get(srv) == RESPONSE, "a plain GET is answered")
    idle = srv.connect()
    time.sleep(0.2)  # let the server accept it and block in recv()
    other = srv.connect()
    other.sendall(b"GET / HTTP/1.0\r\n\r\n")
    other.settimeout(0.5)
    try:
        early = other.recv(100)
    except socket.timeout:
        early = None
    expect(early is None, "step 1 serves one client at a time: a silent one blocks the next")
    idle.close()  # recv() returns 0 on the server: it moves on to the next client
    other.settimeout(10.0)
    expect(read_all(other) == RESPONSE, "the waiting client is answered once the first one left")
    other.close()
    replies = concurrent(20, lambda i: get(srv))
    expect(all(r == RESPONSE for r in replies), "20 concurrent clients are answered in turn")


def echo_roundtrip(srv, data):
    with srv.connect() as s:
        got = []
        reader = threading.Thread(target=lambda: got.append(read_all(s)))
        reader.start()
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # half-close: the server flushes, then closes
        reader.join(30.0)
        return got[0] if got else None


def check_echo(srv):
    blobs = [os.urandom(200_000 + i) for i in range(20)]
    back = concurrent(20, lambda i: echo_roundtrip(srv, blobs[i]))
    expect(back == blobs, "20 concurrent clients get every byte back, in order")
    # Back-pressure: a client that sends without reading must end up blocked
    # (the server stopped reading it) long before it has pushed 64 MB.
    with srv.connect() as s:
        s.setblocking(False)
        chunk, sent, stalled_since = os.urandom(65536), bytearray(), None
        while len(sent) < 64 << 20:
            try:
                n = s.send(chunk)
                sent += chunk[:n]
                stalled_since = None
            except BlockingIOError:
                stalled_since = stalled_since or time.monotonic()
                if time.monotonic() - stalled_since > 1.0:
                    break
                time.sleep(0.01)
        expect(len(sent) < 64 << 20, "the server stops reading a client that does not read")
        s.setblocking(True)
        s.settimeout(10.0)
        s.shutdown(socket.SHUT_WR)
        expect(read_all(s) == bytes(sent), f"all {len(sent)} bytes come back after the stall")


def check_timers(srv):
    with srv.connect() as s:
        s.sendall(b"hi\n")
        expect(s.recv(100) == b"ok\n", "a line is acknowledged")
        t0 = time.monotonic()
        expect(read_all(s) == b"idle timeout\n", "a silent client is told and closed")
        expect(time.monotonic() - t0 >= 0.29, "the idle timer never fires early")
    kept = srv.connect()
    kept.sendall(b"x")
    expect(kept.recv(100) == b"ok\n", "a second client is served")
    os.kill(srv.p.pid, signal.SIGINT)
    expect(read_all(kept) == b"", "SIGINT closes the open connections")
    expect(srv.p.wait(5.0) == 0, "the server exits with status 0 after SIGINT")
    out = srv.p.stdout.read()
    expect(b"signal 2: shutting down\n" in out,
           f"the shutdown is reported: {out!r}")


def check_work(srv):
    slow = []
    t = threading.Thread(target=lambda: slow.append(get(srv, "/slow")))
    t.start()
    time.sleep(0.2)
    expect(get(srv, "/fast") == RESPONSE, "/fast is answered")
    expect(not slow, "/fast is answered while /slow's blocking work runs on the pool")
    t.join(30.0)
    expect(slow == [RESPONSE], "/slow is answered once its work is done")
    replies = concurrent(8, lambda i: get(srv, "/slow"))
    expect(all(r == RESPONSE for r in replies), "8 concurrent /slow on a pool of 4 are answered")


CHECKS = {"http": (check_http, ()), "blocking": (check_blocking, ()), "echo": (check_echo, ()),
          "timers": (check_timers, ("300",)), "work": (check_work, ("1000",))}

fn, args = CHECKS[KIND]
srv = Server(*args)
try:
    fn(srv)
    print(f"PASS {os.path.basename(PROG)} {KIND} {BACKEND or ''}")
except AssertionError as e:
    print(f"FAIL {os.path.basename(PROG)}: {e}")
    sys.exit(1)
finally:
    srv.stop()
