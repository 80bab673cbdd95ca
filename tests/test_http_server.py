#!/usr/bin/env python3
"""Integration test of reactor-httpd on one backend.

usage: test_http_server.py PATH-TO-reactor-httpd BACKEND

Starts the server on a free loopback port (read from its first line) and
checks every byte of its answers: the routes, HEAD, keep-alive, pipelining,
each error status, misbehaving clients (half-close, reset, garbage, never
reading, slow headers), the slow-handler experiment of the origin documents,
static files and escapes from the root, limits (max-conns, max-body, EMFILE), threads,
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
        (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n", 413),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n", 413),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: t\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(100)) + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost:\r\n\r\n", 400),
        (b"GET / HTTP/3.0\r\nHost: t\r\n\r\n", 505),
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
    start = time.monotonic()
    ended = "the 60 s bound"  # how the reading ended, for the failure's detail
    try:
        while time.monotonic() < start + 60:
            b = hog.recv(1 << 16)
            if not b:
                ended = "the server's end of file"
                break
            got += b
    except OSError as e:
        ended = f"{type(e).__name__} {e}"  # a timeout (10 s without a byte) or a reset
    ended += f" after {time.monotonic() - start:.1f} s"
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
          f"{bad or f'{i} answers'}; reading ended at {ended}")
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


def test_conditional(srv, root):
    """Validators, preconditions (RFC 9110 13) and ranges (14) on a static file."""
    big = open(os.path.join(root, "big.bin"), "rb").read()
    size = len(big)

    def ask(path, *headers, method="GET"):
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        c.request(method, path, headers=dict(headers))
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body

    st, hd, body = ask("/big.bin")
    etag, lm = hd.get("etag", ""), hd.get("last-modified", "")
    check("a file has a strong ETag, Last-Modified and Accept-Ranges: bytes",
          re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"', etag) and lm and hd.get("accept-ranges") == "bytes", hd)
    mtime = os.stat(os.path.join(root, "big.bin")).st_mtime
    rfc850 = time.strftime("%A, %d-%b-%y %H:%M:%S GMT", time.gmtime(mtime))
    asctime = time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(mtime))
    past = "Sun, 06 Nov 1994 08:49:37 GMT"
    cases = [
        ("If-None-Match with the ETag", [("If-None-Match", etag)], 304),
        ("If-None-Match *", [("If-None-Match", "*")], 304),
        ("If-None-Match weak form of the ETag", [("If-None-Match", '"x", W/' + etag)], 304),
        ("If-None-Match another tag", [("If-None-Match", '"other"')], 200),
        ("If-None-Match fails, If-Modified-Since would match: INM wins (13.1.3)",
         [("If-None-Match", '"other"'), ("If-Modified-Since", lm)], 200),
        ("If-Modified-Since IMF-fixdate", [("If-Modified-Since", lm)], 304),
        ("If-Modified-Since RFC 850 date", [("If-Modified-Since", rfc850)], 304),
        ("If-Modified-Since asctime date", [("If-Modified-Since", asctime)], 304),
        ("If-Modified-Since in the past", [("If-Modified-Since", past)], 200),
        ("If-Modified-Since not a date", [("If-Modified-Since", "yesterday")], 200),
        ("If-Match another tag", [("If-Match", '"other"')], 412),
        ("If-Match the weak form: strong comparison fails", [("If-Match", "W/" + etag)], 412),
        ("If-Match *", [("If-Match", "*")], 200),
        ("If-Match the ETag", [("If-Match", etag)], 200),
        ("If-Unmodified-Since in the past", [("If-Unmodified-Since", past)], 412),
        ("If-Unmodified-Since Last-Modified", [("If-Unmodified-Since", lm)], 200),
    ]
    for name, headers, want in cases:
        st, hd, body = ask("/big.bin", *headers)
        ok = st == want and (want != 200 or body == big) and (want != 304 or (not body and hd.get("etag") == etag))
        check(f"{name}: {want}", ok, f"{st} {len(body)} bytes")

    ranges = [
        ("bytes=0-99", 206, 0, 100),
        ("bytes=100-", 206, 100, size),
        ("bytes=-500", 206, size - 500, size),
        ("bytes=-99999999", 206, 0, size),
        ("bytes=10-10", 206, 10, 11),
        ("bytes=5-99999999", 206, 5, size),
        (f"bytes={size}-", 416, 0, 0),
        ("bytes=-0", 416, 0, 0),
        ("bytes=0-1,5-6", 200, 0, size),
        ("bytes=9-3", 416, 0, 0),
        ("lines=0-5", 200, 0, size),
        ("bytes=x-", 416, 0, 0),
    ]
    for rng, want, a, b in ranges:
        st, hd, body = ask("/big.bin", ("Range", rng))
        if want == 206:
            ok = st == 206 and body == big[a:b] and hd.get("content-range") == f"bytes {a}-{b - 1}/{size}"
        elif want == 416:
            ok = st == 416 and hd.get("content-range") == f"bytes */{size}"
        else:
            ok = st == 200 and body == big and "content-range" not in hd
        check(f"Range: {rng}: {want}", ok, f"{st} {len(body)} bytes {hd.get('content-range')}")
    st, hd, body = ask("/big.bin", ("Range", "bytes=0-9"), ("If-Range", etag))
    check("If-Range with the current ETag: 206", st == 206 and body == big[:10], st)
    st, hd, body = ask("/big.bin", ("Range", "bytes=0-9"), ("If-Range", '"old"'))
    check("If-Range with an old ETag: the whole file", st == 200 and body == big, st)
    st, hd, body = ask("/big.bin", ("Range", "bytes=0-9"), ("If-Range", lm))
    check("If-Range with the Last-Modified date: 206", st == 206 and body == big[:10], st)
    st, hd, body = ask("/big.bin", ("Range", "bytes=0-9"), ("If-Range", past))
    check("If-Range with another date: the whole file", st == 200 and body == big, st)
    st, hd, body = ask("/big.bin", ("Range", "bytes=0-9"), method="HEAD")
    check("HEAD ignores Range", st == 200 and hd.get("content-length") == str(size), st)

    # A download that resumes: curl -C - asks for the rest of what it has.
    tmp = tempfile.mkdtemp(prefix="rx-resume-")
    try:
        out = os.path.join(tmp, "big.bin")
        with open(out, "wb") as f:
            f.write(big[:size // 3])
        r = subprocess.run(["curl", "-sS", "-C", "-", "-o", out, f"http://127.0.0.1:{srv.port}/big.bin"],
                           capture_output=True, timeout=30)
        with open(out, "rb") as f:
            check("curl -C - resumes a download to the whole file", r.returncode == 0 and f.read() == big,
                  r.stderr[-200:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # A directory without its slash: 301 to the slash form, the query kept.
    s = srv.conn()
    s.sendall(get("/sub?x=1", b"Connection: close\r\n"))
    a = Reader(s).response()
    s.close()
    check("a directory without its trailing slash: 301 to the slash form, query kept",
          a[0] == "HTTP/1.1 301 Moved Permanently" and ("Location", "/sub/?x=1") in a[1], a[:2])


def test_demo_gating(root):
    """The demo routes (/json, /sleep) answer only with --demo, and the plain Hello only without
    --root: an administrator's --root serves its own files under those names."""
    srv = Server("--root", root, "--quiet")
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    for path, body in [("/json", b"a file named json\n"), ("/sleep?ms=1000", b"a file named sleep\n")]:
        c.request("GET", path)
        resp = c.getresponse()
        got = resp.read()
        check(f"with --root and no --demo, {path} is the file of that name", resp.status == 200 and got == body,
              f"{resp.status} {got[:40]!r}")
    c.request("GET", "/")
    resp = c.getresponse()
    got = resp.read()
    check("with --root, / is the root's index.html, not Hello", resp.status == 200 and got == b"<p>root</p>\n",
          f"{resp.status} {got[:40]!r}")
    c.close()
    srv.stop("root server")
    srv = Server("--quiet")
    answers, _ = exchange(srv, get("/json") + get("/", b"Connection: close\r\n"), 2)
    check_answer("without --demo, /json is 404", answers[0], 404, TEXT, error_body(404))
    check_answer("without --root, / is still Hello", answers[1], 200, "text/plain", HELLO, connection="close")
    srv.stop("plain server")
    srv = Server("--root", root, "--demo", "--quiet")
    answers, _ = exchange(srv, get("/json") + get("/", b"Connection: close\r\n"), 2)
    check_answer("with --root and --demo, /json is the demo's", answers[0], 200, "application/json", JSON)
    check("with --root and --demo, / is still the index", answers[1][2] == b"<p>root</p>\n", answers[1][:1])
    srv.stop("root+demo server")


def test_sleep_jobs():
    """A /sleep job's client that hangs up frees its slot at once; queued jobs are capped."""
    srv = Server("--demo", "--max-conns", "20", "--quiet")
    socks = []
    for _ in range(20):
        s = srv.conn()
        s.sendall(get("/sleep?ms=10000"))
        socks.append(s)
    time.sleep(0.3)
    for s in socks:
        s.close()
    t, status = time.monotonic(), None
    while time.monotonic() < t + 5 and status != 200:
        try:
            answers, _ = exchange(srv, get("/", b"Connection: close\r\n"))
            status = int(answers[0][0].split()[1])
        except (EOFError, OSError, ValueError, IndexError):
            time.sleep(0.1)
    check("20 abandoned /sleep?ms=10000 free their connection slots at once", status == 200,
          f"{status} after {time.monotonic() - t:.1f} s")
    t = time.monotonic()
    answers, _ = exchange(srv, get("/sleep?ms=100", b"Connection: close\r\n"))
    took = time.monotonic() - t
    check("... and their work: a new /sleep?ms=100 runs within 5 s", answers[0][2] == b"slept 100 ms\n" and took < 5,
          f"{answers[0][:1]} after {took:.1f} s")
    srv.stop("sleep server")

    srv = Server("--demo", "--max-jobs", "3", "--quiet")
    socks = []
    for _ in range(5):
        s = srv.conn(timeout=10)
        s.sendall(get("/sleep?ms=1500", b"Connection: close\r\n"))
        socks.append(s)
        time.sleep(0.05)  # in order: the first three are queued, the last two are over the cap
    answers = []
    for s in socks:
        try:
            answers.append(Reader(s).response())
        except (EOFError, OSError) as e:
            answers.append((repr(e), [], b""))
        s.close()
    ok = [a for a in answers if a[2] == b"slept 1500 ms\n"]
    busy = [a for a in answers if a[0].startswith("HTTP/1.1 503") and
            any(k.lower() == "retry-after" for k, _ in a[1])]
    check("--max-jobs 3: three /sleep run, two get 503 with Retry-After", len(ok) == 3 and len(busy) == 2,
          [a[0] for a in answers])
    srv.stop("max-jobs server")


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
    check("request after a file on the same connection", c.getresponse().read() == b"<p>root</p>\n")
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
          answers[1][2] == b"static hello\n" and answers[2][2] == b"<p>root</p>\n" and closed)

    for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/sub/%2E%2E/%2e%2e/secret.txt",
                 "/..%2fsecret.txt", "/link-out", "/sub/../../secret.txt", "/nope.txt"]:
        answers, _ = exchange(srv, get(path, b"Connection: close\r\n"))
        status = int(answers[0][0].split()[1])
        check(f"no escape from the root: {path}", status in (400, 403, 404) and b"top secret" not in answers[0][2],
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
    check("the server still answers after the FIFO request", answers[0][2] == b"<p>root</p>\n")
    for path in ["/%zz", "/%00x"]:
        answers, _ = exchange(srv, get(path, b"Connection: close\r\n"))
        check_answer(f"bad escape {path} is 400", answers[0], 400, TEXT, error_body(400), connection="close")


def test_bodies():
    """A body the server will not use is never kept: the answer comes once the head is in,
    and the body is discarded as it streams, in a bounded buffer."""
    srv = Server("--quiet")
    s = srv.conn()
    s.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n" + b"x" * 1000)
    r = Reader(s)
    try:
        a = r.response()
    except (EOFError, OSError) as e:
        a = (repr(e), [], b"")
    check("a POST is answered (405) once its head is in, before its body", a[0] == "HTTP/1.1 405 Method Not Allowed",
          a[0])
    s.sendall(b"y" * (1048576 - 1000) + get("/", b"Connection: close\r\n"))
    a = r.response()
    check("... its body is skipped and the request after it answered", a[2] == HELLO, a[:1])
    s.close()

    # Expect: 100-continue (RFC 9110 10.1.1): no route reads a body, so the final answer comes at
    # once instead of a 100, and says Connection: close, since the client may then send the body
    # or not: either way nothing it sends next can be taken for a request.
    for te in (b"Content-Length: 100000", b"Transfer-Encoding: chunked"):
        s = srv.conn()
        s.sendall(b"POST / HTTP/1.1\r\nHost: t\r\n" + te + b"\r\nExpect: 100-continue\r\n\r\n")
        r = Reader(s)
        try:
            a = r.response()
        except (EOFError, OSError) as e:
            a = (repr(e), [], b"")
        check(f"Expect: 100-continue with {te.split(b':')[0].decode()}: the final answer at once, closing",
              a[0] == "HTTP/1.1 405 Method Not Allowed" and ("Connection", "close") in a[1], a[:2])
        s.sendall(get("/"))  # not a body after all: must not be answered as a request
        check("... and what the client sends next is not taken for a request", r.at_eof(3) and not r.buf,
              r.buf[:40])
        s.close()

    # A chunked body is decoded as it streams and dropped; the request after it is answered.
    s = srv.conn()
    r = Reader(s)
    s.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
    try:
        a = r.response()
    except (EOFError, OSError) as e:
        a = (repr(e), [], b"")
    check("a chunked POST is answered (405) once its head is in", a[0] == "HTTP/1.1 405 Method Not Allowed", a[0])
    s.sendall(b"lo\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n" + get("/"))
    a = r.response()
    check("... its body is skipped to its trailer's end and the next request answered", a[2] == HELLO, a[:1])
    s.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
    a = r.response()
    s.sendall(b"5\r\nhelloXX\r\n")  # bad framing after the answer: nothing to answer, close
    check("a chunked body that goes wrong after its answer closes the connection",
          a[0].startswith("HTTP/1.1 405") and r.at_eof(3), a[0])
    s.close()

    n, each = 200, 512 * 1024
    rss0 = srv.rss_kib()
    head = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % (each + 4096)
    socks = []
    for _ in range(n):
        c = srv.conn()
        c.setblocking(False)
        socks.append([c, head + b"z" * each])  # all but the last 4 KiB of each body
    t = time.monotonic()
    while any(x[1] for x in socks) and time.monotonic() < t + 60:
        moved = False
        for x in socks:
            if x[1]:
                try:
                    k = x[0].send(x[1])
                    x[1] = x[1][k:]
                    moved = True
                except BlockingIOError:
                    pass
        if not moved:
            time.sleep(0.01)
    time.sleep(0.2)  # let the server read what is in flight
    grew = srv.rss_kib() - rss0
    limit = 64 * 1024 if h.SANITIZED else 8 * 1024
    unsent = sum(len(x[1]) for x in socks)
    print(f"# {n} connections {each >> 10} KiB into a body each: server RSS grew {grew} KiB", flush=True)
    check(f"{n} connections each {each >> 10} KiB into a body: RSS grows by less than {limit >> 10} MiB",
          grew < limit and not unsent, f"RSS grew {grew} KiB, {unsent} bytes unsent")
    for x in socks:
        x[0].close()
    srv.stop("body server")


def test_max_body():
    """--max-body N: a body of N bytes is taken (and skipped, since no route reads one) and
    one of N + 1 is 413, framed by Content-Length or chunked; 0 refuses any body; a value
    that is not a number in 0..1 GiB stops the server at start, saying which option."""
    def answer_of(srv, data, n=1):
        try:
            answers, closed = exchange(srv, data, n)
            return answers, closed
        except (EOFError, OSError) as e:
            return [(repr(e), [], b"")] * n, False

    def chunks(*sizes):
        return b"".join(b"%x\r\n" % k + b"c" * k + b"\r\n" for k in sizes) + b"0\r\n\r\n"

    head = b"HTTP/1.1\r\nHost: t\r\n"
    te = b"Transfer-Encoding: chunked\r\n\r\n"
    last = get("/", b"Connection: close\r\n")
    srv = Server("--max-body", "1000", "--quiet")
    taken = [
        ("Content-Length 1000", b"GET / " + head + b"Content-Length: 1000\r\n\r\n" + b"x" * 1000),
        ("chunked 999 + 1", b"GET / " + head + te + chunks(999, 1)),
        ("chunked 1000", b"GET / " + head + te + chunks(1000)),
    ]
    for what, data in taken:
        answers, _ = answer_of(srv, data + last, 2)
        check(f"--max-body 1000: a GET with a body of {what} is answered 200", answers[0][2] == HELLO,
              answers[0][:2])
        check(f"--max-body 1000: ... and the request after its body too", answers[1][2] == HELLO,
              answers[1][:2])
    answers, _ = answer_of(srv, b"POST / " + head + b"Content-Length: 1000\r\n\r\n" + b"x" * 1000 + last, 2)
    check("--max-body 1000: a POST of 1000 bytes is 405, not 413",
          answers[0][0] == "HTTP/1.1 405 Method Not Allowed" and answers[1][2] == HELLO, answers[0][:2])
    refused = [
        ("Content-Length 1001", b"POST / " + head + b"Content-Length: 1001\r\n\r\n"),
        ("Content-Length 1001 on a GET", b"GET / " + head + b"Content-Length: 1001\r\n\r\n"),
        ("chunked 1000 + 1", b"POST / " + head + te + b"3e8\r\n" + b"c" * 1000 + b"\r\n1\r\n"),
        ("chunked 1001 in one chunk", b"POST / " + head + te + b"3e9\r\n"),
        ("chunked 1 + 1000", b"GET / " + head + te + b"1\r\nc\r\n3e8\r\n"),
    ]
    for what, data in refused:
        answers, closed = answer_of(srv, data)
        check_answer(f"--max-body 1000: {what} is 413", answers[0], 413, TEXT, error_body(413),
                     connection="close")
        check(f"--max-body 1000: {what}: then close", closed)
    srv.stop("--max-body 1000 server")

    srv = Server("--max-body", "0", "--quiet")
    for what, data in [("Content-Length 0", b"GET / " + head + b"Content-Length: 0\r\n\r\n"),
                       ("an empty chunked body", b"GET / " + head + te + b"0\r\n\r\n")]:
        answers, _ = answer_of(srv, data + last, 2)
        check(f"--max-body 0: {what} is answered, the request after it too",
              answers[0][2] == HELLO and answers[1][2] == HELLO, answers[0][:2])
    for what, data in [("Content-Length 1", b"POST / " + head + b"Content-Length: 1\r\n\r\n"),
                       ("a chunk of 1", b"POST / " + head + te + b"1\r\n")]:
        answers, closed = answer_of(srv, data)
        check(f"--max-body 0: {what} is 413, then close",
              answers[0][0] == "HTTP/1.1 413 Content Too Large" and closed, answers[0][:2])
    srv.stop("--max-body 0 server")

    # The top of the range: the answer comes once the head is in, the body is not awaited.
    srv = Server("--max-body", "1073741824", "--quiet")
    for n, status in ((1 << 30, "405 Method Not Allowed"), ((1 << 30) + 1, "413 Content Too Large")):
        s = srv.conn()
        s.sendall(b"POST / " + head + b"Content-Length: %d\r\n\r\n" % n)
        try:
            a = Reader(s).response()
        except (EOFError, OSError) as e:
            a = (repr(e), [], b"")
        check(f"--max-body 1073741824: Content-Length {n} is {status[:3]}", a[0] == "HTTP/1.1 " + status, a[:2])
        s.close()
    srv.stop("--max-body 1 GiB server")

    # Without the option: the default stays 1 MiB.
    srv = Server("--quiet")
    for n, status in ((1 << 20, 405), ((1 << 20) + 1, 413)):
        s = srv.conn()
        s.sendall(b"POST / " + head + b"Content-Length: %d\r\n\r\n" % n)
        try:
            a = Reader(s).response()
        except (EOFError, OSError) as e:
            a = (repr(e), [], b"")
        check(f"no --max-body: Content-Length {n} is {status}", a[0].startswith(f"HTTP/1.1 {status} "), a[:2])
        s.close()
    srv.stop("default --max-body server")

    p = subprocess.run([h.BIN, "--help"], capture_output=True, timeout=5)
    check("--help names --max-body", p.returncode == 0 and b"--max-body BYTES" in p.stdout, p.stdout[-400:])
    for bad in ("-1", "abc", "1073741825", "99999999999999999999", "", "10k", "1e3"):
        args = [h.BIN, "--backend", h.BACKEND, "--port", "0", *h.as_root([]), "--max-body", bad]
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        h.started.append(p)
        try:
            _, err = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        err = err.decode(errors="replace")
        check(f"--max-body {bad!r}: refused at start, exit status 2, saying why",
              p.returncode == 2 and f"--max-body {bad}: not a number in 0..1073741824" in err,
              (p.returncode, err[:300]))


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


def test_timeouts_apart():
    """Each timeout means what its name says, told apart by giving them very different lengths."""
    srv = Server("--header-timeout-ms", "300", "--idle-timeout-ms", "30000", "--quiet")
    s = srv.conn()
    t = time.monotonic()
    r = Reader(s)
    closed = r.at_eof(10)
    took = time.monotonic() - t
    check("a connection that sends nothing gets the header timeout, not the idle one",
          closed and 0.25 < took < 10, f"closed {closed} after {took:.2f} s")
    check("... and is closed without an answer (nothing was asked)", not r.buf, r.buf[:40])
    s.close()

    # A pipelining client that stops reading for longer than the header timeout: every
    # request it sent arrived whole, so every one is answered, in order, none with a 408.
    n = 100000
    s = srv.conn(timeout=10)
    sender = threading.Thread(target=s.sendall, args=(get("/") * (n - 1) + get("/", b"Connection: close\r\n"),))
    sender.start()
    time.sleep(1.5)
    got, ended = bytearray(), "end of file"
    try:
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            got += b
    except OSError as e:
        ended = f"{type(e).__name__} {e}"
    sender.join(10)
    s.close()
    heads = got.count(b"HTTP/1.1 ")
    oks = got.count(b"HTTP/1.1 200 OK\r\n")
    check(f"a pipelining client that pauses reading gets all {n} answers", heads == n and oks == n,
          f"{heads} answers, {oks} of them 200, {got.count(b'HTTP/1.1 408')} 408; reading ended at {ended}")
    srv.stop("timeouts-apart server")

    # A client that does not read is closed at the send timeout, not the idle one.
    srv = Server("--header-timeout-ms", "30000", "--idle-timeout-ms", "30000", "--send-timeout-ms", "400",
                 "--quiet")
    s = srv.conn(timeout=10)
    s.setblocking(False)
    data, sent, t = get("/") * 100000, 0, time.monotonic()
    while sent < len(data) and time.monotonic() < t + 2:
        try:
            sent += s.send(data[sent:])
        except BlockingIOError:
            time.sleep(0.02)
    s.setblocking(True)
    s.settimeout(10)
    time.sleep(1)  # not reading, for longer than the send timeout
    t = time.monotonic()
    ended = None
    try:
        while time.monotonic() < t + 20:
            if not s.recv(1 << 16):
                ended = "end of file"
                break
    except OSError as e:
        ended = f"{type(e).__name__} {e}"
    took = time.monotonic() - t
    check("a client that does not read is closed at the send timeout", ended and took < 10,
          f"{ended} after {took:.2f} s")
    s.close()
    srv.stop("send-timeout server")


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
    srv = Server("--threads", "3", "--demo", "--quiet")
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

    srv = Server("--access-log", "--demo", "--quiet")
    exchange(srv, get("/json") + b"HEAD /x?y HTTP/1.0\r\n\r\n", 2, heads=(1,))
    exchange(srv, b"junk\r\n\r\n")
    # A quote or backslash in the target must not end the quoted field early or forge one.
    exchange(srv, b'GET /a"b\\c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
    srv.stop("access-log server")
    log = srv.p.stdout.read().decode().splitlines()
    clf = r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] '
    want = [clf + r'"GET /json HTTP/1\.1" 200 28', clf + r'"HEAD /x\?y HTTP/1\.0" 404 -', clf + r'"-" 400 16']
    check("access log in Common Log Format", len(log) == 4 and
          all(re.fullmatch(w, l) for w, l in zip(want, log)), log)
    check("access log escapes quotes and backslashes in the target",
          len(log) == 4 and re.fullmatch(clf + r'"GET /a\\x22b\\x5Cc HTTP/1\.1" 404 14', log[3]), log[3:])


def test_graceful_stop():
    srv = Server("--demo", "--quiet")
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

    srv = Server("--demo", "--quiet")
    s = srv.conn(timeout=5)
    s.sendall(get("/sleep?ms=8000"))
    time.sleep(0.2)
    srv.p.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    srv.stop("a second SIGTERM stops at once", within=1.5)
    s.close()

    # With --threads, the loop that happens to finish draining first must not take the
    # signals with it: a second SIGTERM still stops the threads that are draining. One
    # sleeper on one of four loops leaves the first loop idle three times in four.
    for attempt in range(2):
        srv = Server("--demo", "--quiet", "--threads", "4", "--drain-timeout-ms", "20000")
        s = srv.conn(timeout=5)
        s.sendall(get("/sleep?ms=8000"))
        time.sleep(0.2)
        srv.p.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        srv.stop(f"--threads 4 ({attempt + 1}): a second SIGTERM stops at once", within=3.0)
        s.close()

    srv = Server("--demo", "--quiet", "--drain-timeout-ms", "300")
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
                           ("a b.json", b"{}\n"), ("index.html", b"<p>root</p>\n"),
                           ("json", b"a file named json\n"), ("sleep", b"a file named sleep\n"), ("big.bin", os.urandom(3 * 1024 * 1024 + 17))]:
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

        srv = Server("--demo", "--quiet")
        for test in (test_routes, test_pipelining, test_errors, test_misbehaving_clients,
                     test_close_stages, test_slow_handler, test_ab):
            test(srv)
        srv.stop("main server")
        srv = Server("--root", www, "--quiet")
        test_static(srv, www)
        test_conditional(srv, www)
        srv.stop("file server")
        test_demo_gating(www)
        test_sleep_jobs()
        test_timeouts()
        test_bodies()
        test_max_body()
        test_timeouts_apart()
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
