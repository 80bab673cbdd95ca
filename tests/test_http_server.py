#!/usr/bin/env python3
"""Integration test of reactor-httpd: starts it on a free loopback port with
the given backend and checks every byte of its answers, bad input, slow and
vanishing clients, the slow-handler experiment, ab load and graceful stop.

usage: test_http_server.py PATH-TO-reactor-httpd BACKEND
"""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN, BACKEND = sys.argv[1], sys.argv[2]
failures = []
passed = 0


def check(name, cond, detail=""):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(f"{name}: {detail}")
        print(f"FAIL {name}: {detail}", flush=True)


def start(*extra):
    p = subprocess.Popen([BIN, "--backend", BACKEND, "--port", "0", "--quiet", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if "listening on http://127.0.0.1:" not in line or f"(backend {BACKEND})" not in line:
        p.kill()
        raise SystemExit(f"server did not start: {line!r} {p.stderr.read()}")
    port = int(line.split(":")[2].split("/")[0])
    return p, port


def raw(port, data, timeout=3.0, shut=False):
    """Sends bytes, returns everything received until the server closes or timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        pass
    s.close()
    return out


def responses(blob):
    """Splits a byte stream into (status, headers, body) using Content-Length."""
    res = []
    while blob:
        head, _, rest = blob.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        hdrs = {k.lower(): v.strip() for k, _, v in (l.decode().partition(":") for l in lines[1:])}
        n = int(hdrs.get("content-length", "0"))
        res.append((status, hdrs, rest[:n]))
        blob = rest[n:]
    return res


def stop(p, name):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=10)
        check(f"{name}: exits 0 on SIGTERM", rc == 0, f"status {rc}")
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        check(f"{name}: exits on SIGTERM within 10 s", False, "had to be killed")


def test_routes(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for path, ctype, body in [("/", "text/plain", b"Hello, world!"),
                              ("/json", "application/json", b'{"code":200,"msg":"success"}')]:
        c.request("GET", path)
        r = c.getresponse()
        got = r.read()
        check(f"GET {path} status", r.status == 200, r.status)
        check(f"GET {path} body", got == body, got)
        check(f"GET {path} content-type", r.getheader("Content-Type") == ctype, r.getheader("Content-Type"))
        check(f"GET {path} headers", r.getheader("Date") and r.getheader("Server") == "reactor-httpd",
              r.getheaders())
    c.request("HEAD", "/")
    r = c.getresponse()
    check("HEAD / no body, length kept", r.read() == b"" and r.getheader("Content-Length") == "13",
          r.getheaders())
    c.request("GET", "/nope")
    r = c.getresponse()
    check("GET /nope is 404", r.status == 404 and r.read() is not None, r.status)
    c.request("GET", "/")  # keep-alive held through all of the above
    r = c.getresponse()
    check("keep-alive connection reused", r.status == 200 and r.read() == b"Hello, world!", r.status)
    c.close()


def test_pipelining(port):
    reqs = b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % p for p in [b"/", b"/json", b"/", b"/x"])
    reqs += b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    res = responses(raw(port, reqs))
    check("pipelined: five answers in order", [r[0] for r in res] == [200, 200, 200, 404, 200], res)
    check("pipelined: bodies in order", res[1][2] == b'{"code":200,"msg":"success"}' and
          res[2][2] == b"Hello, world!", res)
    res = responses(raw(port, b"GET / HTTP/1.0\r\n\r\n"))
    check("HTTP/1.0 closes by default", len(res) == 1 and res[0][1].get("connection") == "close", res)
    res = responses(raw(port, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", timeout=0.5))
    check("HTTP/1.0 keep-alive honoured", res and res[0][1].get("connection") == "keep-alive", res)
    body = b"x" * 1000
    res = responses(raw(port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + body +
                        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    check("body by Content-Length skipped, next request served", [r[0] for r in res] == [501, 200], res)


def test_bad_input(port):
    cases = [
        (b"garbage\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
        (b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"b" * 20000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(40)) + b"\r\n", 431),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ]
    for data, want in cases:
        res = responses(raw(port, data))
        ok = len(res) == 1 and res[0][0] == want and res[0][1].get("connection") == "close"
        check(f"bad input -> {want}", ok, f"{data[:40]!r}: {res[:1]}")


def test_clients_misbehaving(port):
    # Half-close: the request is still answered.
    res = responses(raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", shut=True))
    check("half-closed client answered", len(res) == 1 and res[0][0] == 200, res)
    # Reset mid-request and mid-response.
    for data in [b"GET / HT", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 200]:
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.sendall(data)
        s.close()
    # Garbage binary.
    raw(port, bytes(range(256)) * 4, timeout=1)
    # A client that never reads while pipelining: the server stays responsive.
    hog = socket.create_connection(("127.0.0.1", port))
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        hog.setblocking(False)
        for _ in range(2000):
            hog.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    except BlockingIOError:
        pass
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/")
    check("server answers while a client never reads", c.getresponse().status == 200)
    c.close()
    hog.close()


def test_slow_handler(port):
    results = []

    def sleeper():
        t = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/sleep?ms=500")
        r = c.getresponse()
        results.append((r.status, r.read(), time.monotonic() - t))
        c.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=sleeper) for _ in range(10)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    t = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/")
    fast = c.getresponse().read() == b"Hello, world!"
    fast_took = time.monotonic() - t
    c.close()
    for t in threads:
        t.join()
    total = time.monotonic() - t0
    check("10 x /sleep?ms=500 all answered", len(results) == 10 and
          all(r[0] == 200 and r[1] == b"slept 500 ms\n" for r in results), results)
    check("10 x /sleep?ms=500 concurrent: well under 2 s", total < 1.5, f"{total:.2f} s")
    check("/ answers fast meanwhile", fast and fast_took < 0.3, f"{fast_took:.3f} s")


def test_static(port, root):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/hello.txt")
    r = c.getresponse()
    body = r.read()
    check("static file served", r.status == 200 and body == b"static hello\n", (r.status, body))
    check("static MIME type", r.getheader("Content-Type", "").startswith("text/plain"), r.getheaders())
    lm = r.getheader("Last-Modified")
    c.request("GET", "/hello.txt", headers={"If-Modified-Since": lm})
    r = c.getresponse()
    r.read()
    check("If-Modified-Since -> 304", r.status == 304, r.status)
    big = os.path.getsize(os.path.join(root, "big.bin"))
    c.request("GET", "/big.bin")
    r = c.getresponse()
    data = r.read()
    with open(os.path.join(root, "big.bin"), "rb") as f:
        check("large static file intact", r.status == 200 and data == f.read() and len(data) == big,
              (r.status, len(data)))
    c.close()
    for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/sub/%2E%2E/%2e%2e/secret.txt",
                 "/link-out", "/nope.txt"]:
        res = responses(raw(port, b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode()))
        ok = len(res) == 1 and res[0][0] in (403, 404) and b"top secret" not in res[0][2]
        check(f"no escape from root: {path}", ok, res)


def test_header_timeout():
    p, port = start("--header-timeout-ms", "300", "--idle-timeout-ms", "300")
    t = time.monotonic()
    res = responses(raw(port, b"GET / HTTP/1.1\r\nHost:", timeout=5))
    took = time.monotonic() - t
    check("slow headers -> 408", len(res) == 1 and res[0][0] == 408, res)
    check("408 at the header timeout", 0.25 < took < 3, f"{took:.2f} s")
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    t = time.monotonic()
    check("idle keep-alive connection closed", s.recv(1) == b"" and time.monotonic() - t < 3)
    s.close()
    stop(p, "timeouts server")


def test_ab(port):
    ab = shutil.which("ab")
    if not ab:
        check("ab (apache2-utils) is installed", False, "ab not found on PATH")
        return
    for args in (["-c", "100", "-n", "1000"], ["-k", "-c", "100", "-n", "1000"]):
        out = subprocess.run([ab, "-q", *args, f"http://127.0.0.1:{port}/"], capture_output=True,
                             text=True, timeout=60).stdout
        failed = [l for l in out.splitlines() if l.startswith("Failed requests:")]
        complete = [l for l in out.splitlines() if l.startswith("Complete requests:")]
        rps = [l for l in out.splitlines() if l.startswith("Requests per second:")]
        check(f"ab {' '.join(args)}: 1000 complete, 0 failed",
              complete and complete[0].split()[-1] == "1000" and failed and failed[0].split()[-1] == "0",
              out[-500:])
        print(f"# ab {' '.join(args)}: {rps[0] if rps else '?'}", flush=True)


def main():
    root = tempfile.mkdtemp(prefix="rx-httpd-")
    try:
        os.mkdir(os.path.join(root, "www"))
        os.mkdir(os.path.join(root, "www", "sub"))
        www = os.path.join(root, "www")
        with open(os.path.join(www, "hello.txt"), "w") as f:
            f.write("static hello\n")
        with open(os.path.join(www, "big.bin"), "wb") as f:
            f.write(os.urandom(3 * 1024 * 1024 + 17))
        with open(os.path.join(root, "secret.txt"), "w") as f:
            f.write("top secret\n")
        os.symlink(os.path.join(root, "secret.txt"), os.path.join(www, "link-out"))

        p, port = start("--root", www)
        test_routes(port)
        test_pipelining(port)
        test_bad_input(port)
        test_clients_misbehaving(port)
        test_slow_handler(port)
        test_static(port, www)
        test_ab(port)
        stop(p, "main server")
        test_header_timeout()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{passed} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
