#!/usr/bin/env python3
"""Integration test of reactor-httpd on one backend.

usage: test_http_server.py PATH-TO-reactor-httpd BACKEND

Starts the server on a free loopback port (read from its first line) and
checks every byte of its answers: the routes, HEAD, keep-alive, pipelining,
each error status, misbehaving clients (half-close, reset, garbage, never
reading, slow headers), the slow-handler experiment of the origin documents,
static files and escapes from the root, limits (max-conns, EMFILE), threads,
IPv6, the access log, ab load, and the graceful stop on SIGTERM. Every wait
is bounded; only the servers started here are signalled, by their PID.
"""
import email.utils
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpd_harness as h  # noqa: E402
from httpd_harness import (HELLO, JSON, TEXT, Reader, Server, check, check_answer,  # noqa: E402
                           date_ok, error_body, exchange, get)

# ---- the tests ---------------------------------------------------------------------------

def test_routes(srv):
    s = srv.conn()
    r = Reader(s)
    s.sendall(get("/"))
    check_answer("GET / answers Hello, world!", r.response(), 200, "text/plain", HELLO)
    s.sendall(get("/json"))
    check_answer("GET /json answers the origin documents' JSON", r.response(), 200, "application/json", JSON)
    s.sendall(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
    check_answer("HEAD / has GET's headers and no body", r.response(head_request=True), 200,
                 "text/plain", b"", length=13)
    s.sendall(get("/nope"))
    check_answer("unknown path is 404", r.response(), 404, TEXT, error_body(404))
    s.sendall(get("/JSON"))
    check_answer("paths are case-sensitive", r.response(), 404, TEXT, error_body(404))
    s.sendall(b"GET http://t/json?x HTTP/1.1\r\nHost: t\r\n\r\n")
    check_answer("absolute-form target routed by its path", r.response(), 200, "application/json", JSON)
    s.sendall(get("/"))  # the same connection through all of the above: keep-alive
    check_answer("keep-alive connection serves a 7th request", r.response(), 200, "text/plain", HELLO)
    s.close()

    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    socks = set()
    for _ in range(3):
        c.request("GET", "/json")
        resp = c.getresponse()
        check("http.client: /json", resp.status == 200 and resp.read() == JSON)
        socks.add(id(c.sock))
    check("http.client reuses one connection", len(socks) == 1)
    c.close()


def test_pipelining(srv):
    paths = ["/", "/json", "/nope", "/", "/json"]
    answers, closed = exchange(srv, b"".join(get(p) for p in paths) + get("/", b"Connection: close\r\n"), 6)
    for i, (p, a) in enumerate(zip(paths + ["/"], answers)):
        body = {"/": HELLO, "/json": JSON}.get(p, error_body(404))
        ctype = {"/": "text/plain", "/json": "application/json"}.get(p, TEXT)
        check_answer(f"pipelined answer {i + 1} in order", a, 200 if p != "/nope" else 404, ctype, body,
                     connection="close" if i == 5 else None)
    check("Connection: close honoured after a pipeline", closed)

    # One batch with HEADs and 404s in the middle: a HEAD answer has its GET's length and no
    # body, so a server that batches answers must not let a body slip into the HEAD's place.
    head = lambda p: b"HEAD %s HTTP/1.1\r\nHost: t\r\n\r\n" % p.encode()
    batch = [("GET", "/"), ("HEAD", "/json"), ("GET", "/nope"), ("HEAD", "/nope"), ("GET", "/json"),
             ("HEAD", "/"), ("GET", "/")]
    data = b"".join(get(p) if m == "GET" else head(p) for m, p in batch)
    answers, closed = exchange(srv, data + get("/json", b"Connection: close\r\n"), len(batch) + 1,
                               heads=[i for i, (m, _) in enumerate(batch) if m == "HEAD"])
    for i, ((m, p), a) in enumerate(zip(batch + [("GET", "/json")], answers)):
        full = {"/": HELLO, "/json": JSON}.get(p, error_body(404))
        ctype = {"/": "text/plain", "/json": "application/json"}.get(p, TEXT)
        check_answer(f"mixed batch: answer {i + 1} ({m} {p}) in order", a, 200 if p != "/nope" else 404,
                     ctype, full if m == "GET" else b"", length=len(full),
                     connection="close" if i == len(batch) else None)
    check("mixed batch: nothing after the last answer, then the close", closed)

    n = 500
    answers, closed = exchange(srv, get("/") * (n - 1) + get("/", b"Connection: close\r\n"), n)
    check(f"{n} pipelined requests in one send answered in order",
          all(a[2] == HELLO for a in answers) and closed)

    # One request sent a byte at a time.
    s = srv.conn()
    for b in get("/json"):
        s.send(bytes([b]))
    check_answer("a request sent byte by byte", Reader(s).response(), 200, "application/json", JSON)
    s.close()

    answers, closed = exchange(srv, b"GET / HTTP/1.0\r\n\r\n")
    check_answer("HTTP/1.0 answered and closed", answers[0], 200, "text/plain", HELLO, connection="close")
    check("HTTP/1.0 closes by default", closed)
    s = srv.conn()
    r = Reader(s)
    for i in range(2):
        s.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        check_answer(f"HTTP/1.0 keep-alive request {i + 1}", r.response(), 200, "text/plain", HELLO,
                     connection="keep-alive")
    s.close()

    body = os.urandom(1 << 20)  # the largest body allowed, then a request behind it
    answers, closed = exchange(srv, b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body)
                               + body + get("/", b"Connection: close\r\n"), 2)
    check_answer("POST with a 1 MiB body is 405", answers[0], 405, TEXT, error_body(405),
                 extra=[("Allow", "GET, HEAD")])
    check_answer("the request after a body is served", answers[1], 200, "text/plain", HELLO,
                 connection="close")
    answers, _ = exchange(srv, b"\r\n" + get("/", b"Connection: close\r\n"))
    check_answer("an empty line before a request is skipped", answers[0], 200, "text/plain", HELLO,
                 connection="close")


def test_errors(srv):
    cases = [
        (b"garbage\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
        (b"GET / HTTP/1.1\nHost: t\n\n", 400),  # bare LF
        (b"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", 400),
        (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400),  # TLS to a plain port
        (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n", 413),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: t\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(40)) + b"\r\n", 431),
        (b"BREW / HTTP/1.1\r\nHost: t\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
    ]
    for data, status in cases:
        try:
            answers, closed = exchange(srv, data)
            check_answer(f"{status} for {data[:30]!r}", answers[0], status, TEXT, error_body(status),
                         connection="close")
            check(f"{status} then close for {data[:30]!r}", closed)
        except (EOFError, OSError) as e:
            check(f"{status} for {data[:30]!r}", False, repr(e))

    # The answer survives a client still sending: 413 for a 2 MiB body arrives while it sends.
    s = srv.conn(timeout=10)
    s.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2097152\r\n\r\n")
    out = []
    t = threading.Thread(target=lambda: out.append(Reader(s).response()))
    t.start()
    try:
        s.sendall(b"x" * 2097152)
    except OSError:
        pass  # the server may stop reading after its answer; that is allowed
    t.join(10)
    check("413 reaches a client still sending its body", out and out[0][0] == "HTTP/1.1 413 Content Too Large",
          out)
    s.close()


def test_misbehaving_clients(srv):
    s = srv.conn()
    s.sendall(get("/"))
    s.shutdown(socket.SHUT_WR)
    r = Reader(s)
    check_answer("half-closed client is answered", r.response(), 200, "text/plain", HELLO)
    check("half-closed client then closed", r.at_eof() and not r.buf)
    s.close()

    linger = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # SO_LINGER on, 0 s: close() sends a reset
    for what, data in [("mid-request", b"GET / HT"), ("mid-response", get("/big.bin") * 3),
                       ("mid-pipeline", get("/") * 300)]:
        s = srv.conn()
        s.sendall(data)
        if what == "mid-response":
            s.recv(1000)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        s.close()
    for junk in [bytes(range(256)) * 4, b"\xff" + os.urandom(5000), b"\r\n" * 100, b"\x00" * 100]:
        s = srv.conn()
        r = Reader(s)
        try:
            s.sendall(junk)
        except OSError:
            pass  # the server may have answered and closed already
        closed = r.at_eof()
        check(f"garbage {junk[:8]!r}: 400 and close", closed and r.buf.startswith(b"HTTP/1.1 400 Bad Request\r\n"),
              r.buf[:60])
        s.close()

    # A client with a small receive buffer pipelines a large batch and does not read: the server
    # stops reading it (back-pressure), answers others meanwhile and its memory stays bounded;
    # once the client reads, every answer arrives, in order, with nothing lost or repeated.
    paths = ["/", "/json", "/nope"]
    per_chunk = len(paths) * 100
    chunk = b"".join(get(p) for p in paths) * 100  # whole requests only
    rss0 = srv.rss_kib()
    # The buffer is set before connect, as a real client would: set afterwards it leaves the
    # window clamped far below loopback's 64 KiB MSS, and the answers then crawl out at the
    # pace of delayed ACKs (about 40 KB/s here) until the server's send timeout closes it.
    hog = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hog.connect((srv.host, srv.port))
    hog.setblocking(False)
    sent, pending = 0, b""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and sent < 20 << 20:
        pending = pending or chunk
        try:
            k = hog.send(pending)
            sent, pending = sent + k, pending[k:]
        except BlockingIOError:
            time.sleep(0.05)
    check("a client that never reads is pushed back (stops being read)", sent < 20 << 20, f"{sent} bytes")
    answers, _ = exchange(srv, get("/", b"Connection: close\r\n"))
    check("the server answers others meanwhile", answers[0][2] == HELLO)
    grew = srv.rss_kib() - rss0
    limit = 64 * 1024 if h.SANITIZED else 4 * 1024  # ASan's quarantine keeps freed memory
    check("a client that never reads costs bounded memory", grew < limit, f"RSS grew {grew} KiB")

    # Finish the batch under way and close with a last request, from a thread, while this one
    # reads: the server may not take the rest before its answers drain.
    n = (sent + len(pending)) // len(chunk) * per_chunk + 1
    hog.setblocking(True)
    hog.settimeout(10)
    sender = threading.Thread(target=hog.sendall, args=(pending + get("/", b"Connection: close\r\n"),))
    sender.start()
    got = bytearray()
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            b = hog.recv(1 << 16)
            if not b:
                break
            got += b
    except OSError:
        pass  # a timeout or a reset: the count below fails
    sender.join(10)
    hog.close()
    want = {"/": (b"200 OK", HELLO), "/json": (b"200 OK", JSON), "/nope": (b"404 Not Found", error_body(404))}
    pos, i, bad = 0, 0, None
    view = bytes(got)
    while pos < len(view) and bad is None:
        end = view.find(b"\r\n\r\n", pos)
        if end < 0:
            bad = f"answer {i + 1}: a head cut short"
            break
        head = view[pos:end]
        m = re.search(rb"\r\nContent-Length: (\d+)", head)
        body = view[end + 4:end + 4 + int(m.group(1))] if m else b""
        status, expect = want[paths[i % len(paths)]] if i < n - 1 else (b"200 OK", HELLO)
        if not head.startswith(b"HTTP/1.1 " + status) or body != expect:
            bad = f"answer {i + 1} of {n}: {head[:40]!r} {body[:40]!r}"
        pos, i = end + 4 + len(body), i + 1
    check(f"the pushed-back client then gets all {n} answers, in order", bad is None and i == n,
          bad or f"{i} answers")
    answers, _ = exchange(srv, get("/", b"Connection: close\r\n"))
    check("the server still answers after all misbehaving clients", answers[0][2] == HELLO)


TCP_CLOSE = 7  # tcpi_state (linux/tcp_states.h): CLOSE_WAIT is 8, CLOSE 7


def server_reset_after_our_byte(s, within):
    """After the server's end of file: sends one byte and says whether the server answers
    it with a reset within `within` s, which it does only once its socket is closed. A
    server that lingers (shut its end, still reading) takes the byte and stays silent."""
    s.sendall(b"x")
    end = time.monotonic() + within
    while time.monotonic() < end:
        if s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == TCP_CLOSE:
            return True
        time.sleep(0.01)
    return False


def test_close_stages(srv):
    # The client asked for the close, and nothing of it is unread: the server closes at
    # once. Its answer is safe (a reset follows only bytes the client must not send), and
    # it holds no socket, timer or extra system calls for the client's end to come.
    for what, req in [("HTTP/1.0", b"GET / HTTP/1.0\r\n\r\n"),
                      ("Connection: close", get("/", b"Connection: close\r\n"))]:
        s = srv.conn()
        s.sendall(req)
        r = Reader(s)
        check_answer(f"{what}: answered", r.response(), 200, "text/plain", HELLO, connection="close")
        check(f"{what}: then end of file", r.at_eof() and not r.buf)
        check(f"{what}, nothing more sent: the server closed at once (a byte after is reset)",
              server_reset_after_our_byte(s, 1.0))
        s.close()
    # Bytes behind the closing request are unread: closing now would reset them and
    # could take the answer with them, so the server shuts its end and reads until ours.
    for what, req in [("pipelined behind Connection: close", get("/", b"Connection: close\r\n") + get("/")),
                      ("413 with its body unread", b"POST / HTTP/1.1\r\nHost: t\r\n"
                       b"Content-Length: 100000000\r\n\r\n" + b"b" * 1000)]:
        s = srv.conn()
        s.sendall(req)
        r = Reader(s)
        line = r.response()[0]
        check(f"{what}: one answer, then end of file", r.at_eof() and not r.buf, line)
        check(f"{what}: the server lingers (a byte after is read, not reset)",
              not server_reset_after_our_byte(s, 0.5))
        s.close()


def test_slow_handler(srv):
    # Ordering, not speed, shows the loop is free while handlers sleep: ten 1.5 s sleeps end
    # far sooner than the 15 s they take in turn, and answers to / arrive before any of them.
    # (Tight wall-time bounds flaked on a loaded 2-core CI machine.)
    results = []

    def sleeper():
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=20)
        c.request("GET", "/sleep?ms=1500")
        r = c.getresponse()
        results.append((r.status, r.read()))
        c.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=sleeper) for _ in range(10)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    fast = []
    for _ in range(5):
        answers, _ = exchange(srv, get("/", b"Connection: close\r\n"))
        fast.append((answers[0][2] == HELLO, len(results)))
    for t in threads:
        t.join(20)
    total = time.monotonic() - t0
    check("10 x /sleep?ms=1500 all answered", len(results) == 10 and
          all(r[0] == 200 and r[1] == b"slept 1500 ms\n" for r in results), results)
    check("10 x /sleep?ms=1500 run concurrently: well under 15 s", total < 8, f"{total:.2f} s")
    check("/ answers before any sleep ends", all(ok and done == 0 for ok, done in fast), fast)

    t = time.monotonic()
    answers, closed = exchange(srv, get("/sleep?ms=200") + get("/json") +
                               get("/sleep?ms=100", b"Connection: close\r\n"), 3)
    took = time.monotonic() - t
    check_answer("pipelined /sleep answered first", answers[0], 200, TEXT, b"slept 200 ms\n")
    check_answer("request behind a /sleep answered after it", answers[1], 200, "application/json", JSON)
    check_answer("second /sleep in the pipeline", answers[2], 200, TEXT, b"slept 100 ms\n", connection="close")
    check("pipelined sleeps run in order", 0.3 <= took < 4 and closed, f"{took:.2f} s")
    answers, _ = exchange(srv, get("/sleep?x=1&ms=50") + get("/sleep?ms=abc", b"Connection: close\r\n"), 2)
    check_answer("/sleep finds ms= after another parameter", answers[0], 200, TEXT, b"slept 50 ms\n")
    check_answer("/sleep with a bad ms sleeps 0 ms", answers[1], 200, TEXT, b"slept 0 ms\n", connection="close")


def test_static(srv, root):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.request("GET", "/hello.txt")
    r = c.getresponse()
    body = r.read()
    check("static file served", r.status == 200 and body == b"static hello\n", (r.status, body))
    check("static MIME type", r.getheader("Content-Type") == "text/plain; charset=utf-8", r.getheaders())
    lm = r.getheader("Last-Modified")
    check("Last-Modified is the file's mtime", date_ok(lm) or
          abs(email.utils.parsedate_to_datetime(lm).timestamp() -
              os.path.getmtime(os.path.join(root, "hello.txt"))) < 2, lm)
    c.request("GET", "/hello.txt", headers={"If-Modified-Since": lm})
    r = c.getresponse()
    r.read()
    check("If-Modified-Since -> 304", r.status == 304, r.status)
    check("304 keeps the 200's Content-Length", r.getheader("Content-Length") == "13", r.getheaders())
    c.request("GET", "/hello.txt", headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})
    r = c.getresponse()
    check("older If-Modified-Since -> 200", r.status == 200 and r.read() == b"static hello\n")
    with open(os.path.join(root, "big.bin"), "rb") as f:
        want = f.read()
    c.request("GET", "/big.bin")
    r = c.getresponse()
    data = r.read()
    check("large static file intact (sendfile, partial writes)",
          r.status == 200 and data == want and r.getheader("Content-Type") == "application/octet-stream",
          (r.status, len(data)))
    c.request("GET", "/")  # keep-alive continues after a file body
    check("request after a file on the same connection", c.getresponse().read() == HELLO)
    c.request("HEAD", "/big.bin")
    r = c.getresponse()
    check("HEAD on a file: length, no body", r.status == 200 and r.read() == b"" and
          r.getheader("Content-Length") == str(len(want)))
    for path, ctype in [("/sub/", "text/html; charset=utf-8"), ("/sub/index.html", "text/html; charset=utf-8"),
                        ("/link-in.txt", "text/plain; charset=utf-8"), ("/a%20b.json", "application/json")]:
        c.request("GET", path)
        r = c.getresponse()
        check(f"static {path}", r.status == 200 and r.read() and r.getheader("Content-Type") == ctype,
              (r.status, r.getheaders()))
    c.close()

    # A file body, then pipelined requests behind it, with a slow reader.
    answers, closed = exchange(srv, get("/big.bin") + get("/hello.txt") + get("/", b"Connection: close\r\n"), 3)
    check("pipelined requests behind a file body", answers[0][2] == want and
          answers[1][2] == b"static hello\n" and answers[2][2] == HELLO and closed)

    for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/sub/%2E%2E/%2e%2e/secret.txt",
                 "/..%2fsecret.txt", "/link-out", "/sub/../../secret.txt", "/nope.txt"]:
        answers, _ = exchange(srv, get(path, b"Connection: close\r\n"))
        status = int(answers[0][0].split()[1])
        check(f"no escape from the root: {path}", status in (403, 404) and b"top secret" not in answers[0][2],
              answers)
    # The index file of a directory goes through the same containment as the directory.
    answers, _ = exchange(srv, get("/escape/", b"Connection: close\r\n"))
    status = int(answers[0][0].split()[1])
    check("no escape through a directory's index.html symlink", status in (403, 404) and
          b"top secret" not in answers[0][2], answers)
    # A FIFO is refused without blocking the loop on its open (no writer ever comes).
    s = srv.conn(timeout=5)
    s.sendall(get("/fifo", b"Connection: close\r\n"))
    try:
        a = Reader(s).response()
        check("a FIFO under the root is refused (403)", a[0] == "HTTP/1.1 403 Forbidden", a)
    except OSError as e:
        check("a FIFO under the root is refused (403)", False, repr(e))
    s.close()
    answers, _ = exchange(srv, get("/", b"Connection: close\r\n"))
    check("the server still answers after the FIFO request", answers[0][2] == HELLO)
    for path in ["/%zz", "/%00x"]:
        answers, _ = exchange(srv, get(path, b"Connection: close\r\n"))
        check_answer(f"bad escape {path} is 400", answers[0], 400, TEXT, error_body(400), connection="close")


def test_timeouts():
    srv = Server("--header-timeout-ms", "400", "--idle-timeout-ms", "400")
    t = time.monotonic()
    s = srv.conn()
    s.sendall(b"GET / HTTP/1.1\r\nHost:")
    r = Reader(s)
    check_answer("slow headers -> 408", r.response(), 408, TEXT, error_body(408), connection="close")
    took = time.monotonic() - t
    check("408 at the header timeout", 0.35 < took < 3, f"{took:.2f} s")
    check("408 then close", r.at_eof() and not r.buf)
    s.close()

    # A client dribbling a byte every 50 ms does not push the timeout back.
    s = srv.conn()
    t = time.monotonic()
    got = b""
    s.settimeout(0.05)
    for b in b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"z" * 100:
        try:
            s.send(bytes([b]))
            got = s.recv(100)
            break
        except socket.timeout:
            pass
        except OSError:
            break
    took = time.monotonic() - t
    check("a dribbling client still gets 408 on time", got.startswith(b"HTTP/1.1 408") and took < 3,
          f"{got[:20]!r} after {took:.2f} s")
    s.close()

    s = srv.conn()
    t = time.monotonic()
    check("a connection that sends nothing is closed", Reader(s).at_eof(3) and time.monotonic() - t < 2)
    s.close()
    s = srv.conn()
    s.sendall(get("/"))
    r = Reader(s)
    r.response()
    t = time.monotonic()
    check("an idle keep-alive connection is closed", r.at_eof(3) and 0.3 < time.monotonic() - t < 2)
    s.close()
    srv.stop("timeouts server")


def test_max_conns():
    srv = Server("--max-conns", "3", "--quiet")
    held = [srv.conn() for _ in range(3)]
    for s in held:
        s.sendall(get("/"))
        Reader(s).response()
    extra = srv.conn()
    try:
        extra.sendall(get("/"))
        r = Reader(extra)
        a = r.response()
        check("over --max-conns: 503", a[0] == "HTTP/1.1 503 Service Unavailable", a)
    except (EOFError, OSError):
        check("over --max-conns: refused", True)
    extra.close()
    held.pop().close()
    time.sleep(0.1)
    answers, _ = exchange(srv, get("/", b"Connection: close\r\n"))
    check("a slot freed is usable again", answers[0][2] == HELLO)
    for s in held:
        s.close()
    srv.stop("max-conns server")


def test_emfile():
    """Out of descriptors: the server neither spins nor dies, and recovers."""
    srv = Server("--quiet", nofile=32)
    socks = []
    for _ in range(60):
        try:
            socks.append(srv.conn(timeout=2))
        except OSError:
            break
    time.sleep(0.3)
    cpu0 = srv.cpu_seconds()
    time.sleep(1.0)
    cpu = srv.cpu_seconds() - cpu0
    check("at EMFILE the server does not spin", cpu < 0.3, f"{cpu:.2f} s of CPU in 1 s")
    closed = 0
    for s in socks:
        s.settimeout(0.01)
        try:
            closed += s.recv(1) == b""
        except (socket.timeout, ConnectionResetError):
            pass
    check("connections beyond the limit are closed, not left hanging", closed > 0, f"{closed} closed")
    for s in socks:
        s.close()
    time.sleep(0.2)
    ok = False
    for _ in range(20):  # the server closes its side of the dead connections as it reads them
        try:
            answers, _ = exchange(srv, get("/", b"Connection: close\r\n"))
            ok = answers[0][2] == HELLO
            break
        except (EOFError, OSError):
            time.sleep(0.1)
    check("after EMFILE the server serves again", ok)
    srv.stop("EMFILE server")


def test_threads_ipv6_and_log():
    srv = Server("--threads", "3", "--quiet")
    results = []

    def client():
        for _ in range(20):
            answers, _ = exchange(srv, get("/json", b"Connection: close\r\n"))
            results.append(answers[0][2] == JSON)

    ts = [threading.Thread(target=client) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(20)
    check("--threads 3: 80 requests answered", len(results) == 80 and all(results))
    srv.stop("threads server")

    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
        v6 = True
    except OSError:
        v6 = False
    if v6:
        srv = Server("--quiet", bind="::1")
        check("IPv6 banner", "http://[::1]:" in srv.banner, srv.banner)
        answers, _ = exchange(srv, get("/", b"Connection: close\r\n"))
        check("IPv6: GET /", answers[0][2] == HELLO)
        srv.stop("IPv6 server")
    else:
        print("# IPv6 loopback unavailable: skipped")

    srv = Server("--access-log", "--quiet")
    exchange(srv, get("/json") + b"HEAD /x?y HTTP/1.0\r\n\r\n", 2, heads=(1,))
    exchange(srv, b"junk\r\n\r\n")
    srv.stop("access-log server")
    log = srv.p.stdout.read().decode().splitlines()
    clf = r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
    want = [clf + r'"GET /json HTTP/1\.1" 200 28', clf + r'"HEAD /x\?y HTTP/1\.0" 404 -', clf + r'"-" 400 16']
    check("access log in Common Log Format", len(log) == 3 and
          all(re.fullmatch(w, l) for w, l in zip(want, log)), log)


def test_graceful_stop():
    srv = Server("--quiet")
    s = srv.conn(timeout=5)
    s.sendall(get("/sleep?ms=700"))
    idle = srv.conn()
    time.sleep(0.2)
    t = time.monotonic()
    srv.p.send_signal(signal.SIGTERM)
    r = Reader(s)
    a = r.response()
    check_answer("SIGTERM: the answer in flight completes, with Connection: close", a, 200, TEXT,
                 b"slept 700 ms\n", connection="close")
    check("SIGTERM: then the connection is closed", r.at_eof(2) and not r.buf)
    s.close()  # the server waits (lingers) for our end before exiting, a bounded time
    check("SIGTERM: idle connections are closed", Reader(idle).at_eof(2))
    try:
        rc = srv.p.wait(timeout=3)
    except subprocess.TimeoutExpired:
        rc = None
    check("SIGTERM: exits 0 once the answers are out", rc == 0 and time.monotonic() - t < 2,
          f"rc {rc} after {time.monotonic() - t:.2f} s")
    idle.close()
    try:
        srv.conn(timeout=1).close()
        refused = False
    except OSError:
        refused = True
    check("SIGTERM: no longer accepting", refused)
    srv.stop("graceful server")  # already exited: checks status and stderr

    srv = Server("--quiet")
    s = srv.conn(timeout=5)
    s.sendall(get("/sleep?ms=8000"))
    time.sleep(0.2)
    srv.p.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    srv.stop("a second SIGTERM stops at once", within=1.5)
    s.close()

    srv = Server("--quiet", "--drain-timeout-ms", "300")
    s = srv.conn(timeout=5)
    s.sendall(get("/sleep?ms=8000"))
    time.sleep(0.2)
    srv.stop("drain deadline: a 8 s /sleep does not hold the exit", within=2.0)
    s.close()


def test_ab(srv):
    ab = shutil.which("ab")
    if not ab:
        check("ab (apache2-utils) is on PATH", False, "ab not found: install apache2-utils")
        return
    for args in (["-c", "100", "-n", "1000"], ["-k", "-c", "100", "-n", "1000"]):
        out = subprocess.run([ab, "-q", "-r", *args, f"http://127.0.0.1:{srv.port}/"],
                             capture_output=True, text=True, timeout=60).stdout
        field = dict(re.findall(r"^([A-Z][\w ]+?):\s+(.*)$", out, re.M))
        ok = field.get("Complete requests") == "1000" and field.get("Failed requests") == "0" \
            and field.get("Non-2xx responses") is None and field.get("Document Length") == "13 bytes"
        check(f"ab {' '.join(args)}: 1000 complete, 0 failed", ok, out[-800:])
        print(f"# ab {' '.join(args)}: {field.get('Requests per second', '?')}, "
              f"{field.get('Failed requests', '?')} failed", flush=True)


def main():
    h.setup(sys.argv[1], sys.argv[2])
    tmp = tempfile.mkdtemp(prefix="rx-httpd-")
    try:
        www = os.path.join(tmp, "www")
        os.makedirs(os.path.join(www, "sub"))
        for name, data in [("hello.txt", b"static hello\n"), ("sub/index.html", b"<p>sub</p>\n"),
                           ("a b.json", b"{}\n"), ("big.bin", os.urandom(3 * 1024 * 1024 + 17))]:
            with open(os.path.join(www, name), "wb") as f:
                f.write(data)
        with open(os.path.join(tmp, "secret.txt"), "w") as f:
            f.write("top secret\n")
        os.symlink(os.path.join(tmp, "secret.txt"), os.path.join(www, "link-out"))
        # The type comes from the name asked for, not from the symlink's target (as nginx).
        os.symlink("hello.txt", os.path.join(www, "link-in.txt"))
        os.makedirs(os.path.join(www, "escape"))
        os.symlink(os.path.join(tmp, "secret.txt"), os.path.join(www, "escape", "index.html"))
        os.mkfifo(os.path.join(www, "fifo"))

        srv = Server("--root", www, "--quiet")
        for test in (test_routes, test_pipelining, test_errors, test_misbehaving_clients,
                     test_close_stages, test_slow_handler, lambda s: test_static(s, www), test_ab):
            test(srv)
        srv.stop("main server")
        test_timeouts()
        test_max_conns()
        test_emfile()
        test_threads_ipv6_and_log()
        test_graceful_stop()
    finally:
        h.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{h.BACKEND}: {h.passed()} passed, {len(h.failures)} failed", flush=True)
    sys.exit(1 if h.failures else 0)


if __name__ == "__main__":
    main()
