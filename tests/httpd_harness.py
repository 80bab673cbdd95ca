"""httpd_harness.py - what tests/test_http_server.py uses to drive reactor-httpd:
start and stop servers (by their PID only), read answers off a socket framed
by Content-Length, and compare each answer with the exact one expected.
Python 3 standard library only.
"""
import email.utils
import os
import re
import resource
import signal
import socket
import subprocess
import time

BIN, BACKEND = None, None  # set by setup()
SANITIZED = False
failures = []
started = []  # every server process, killed by stop_all() if still running
_passed = 0


def setup(binary, backend):
    global BIN, BACKEND, SANITIZED
    BIN, BACKEND = binary, backend
    with open(BIN, "rb") as f:
        exe = f.read()  # once: a second f.read() would return b"" and miss TSan
    SANITIZED = any(sym in exe for sym in (b"__asan_init", b"__tsan_init"))


def passed():
    return _passed


def stop_all():
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()


def check(name, cond, detail=""):
    global _passed
    if cond:
        _passed += 1
    else:
        failures.append(name)
        print(f"FAIL {name}: {detail}"[:2000], flush=True)


# ---- servers -------------------------------------------------------------------------

def as_root(extra):
    """reactor-httpd refuses to run as root without --user or --allow-root: the tests run
    as root on CI, and give --allow-root unless they ask for --user (or say it) themselves."""
    if os.geteuid() == 0 and "--user" not in extra and "--allow-root" not in extra:
        return ["--allow-root"]
    return []


class Server:
    def __init__(self, *extra, nofile=None, bind="127.0.0.1", env=None, port=0):
        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        self.p = subprocess.Popen([BIN, "--backend", BACKEND, "--bind", bind, "--port", str(port),
                                   *as_root(extra), *extra],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  preexec_fn=limit if nofile else None,
                                  env=None if env is None else {**os.environ, **env})
        started.append(self.p)
        self.banner = self.p.stdout.readline().decode()
        m = re.fullmatch(r"listening on http://(\S+):(\d+)/ \(backend (\w+)\)\n", self.banner)
        if not m or m.group(3) != BACKEND:
            self.p.kill()
            raise SystemExit(f"server did not start: {self.banner!r} {self.p.stderr.read()!r}")
        self.host = bind
        self.port = int(m.group(2))

    def conn(self, timeout=5.0):
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def cpu_seconds(self):
        with open(f"/proc/{self.p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self):
        with open(f"/proc/{self.p.pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

    def stop(self, name, within=5.0):
        """SIGTERM; the server must exit 0 within `within` seconds, sanitizers silent."""
        t = time.monotonic()
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=within)
            took = time.monotonic() - t
            check(f"{name}: exits with status 0 on SIGTERM", rc == 0, f"status {rc}")
            check(f"{name}: exits within {within} s", took < within, f"{took:.2f} s")
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            check(f"{name}: exits on SIGTERM within {within} s", False, "had to be killed")
        err = self.p.stderr.read().decode(errors="replace")
        check(f"{name}: no sanitizer report", "Sanitizer" not in err and "runtime error" not in err,
              err[-1500:])
        return err


# ---- reading answers byte by byte --------------------------------------------------------

class Reader:
    """Reads whole responses off a socket, framed by Content-Length."""

    def __init__(self, sock):
        self.s, self.buf = sock, b""

    def _fill(self):
        b = self.s.recv(65536)
        if not b:
            raise EOFError
        self.buf += b

    def response(self, head_request=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        hdrs = [tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:]]
        n = int(dict((k.lower(), v) for k, v in hdrs).get("content-length", "0"))
        status = int(lines[0].split()[1])
        if head_request or status == 304:
            n = 0
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return lines[0], hdrs, body

    def at_eof(self, timeout=3.0):
        """True if the server closes within timeout; what came before stays in buf."""
        self.s.settimeout(timeout)
        try:
            while True:
                b = self.s.recv(65536)
                if not b:
                    return True
                self.buf += b
        except (socket.timeout, ConnectionResetError):
            return False


def date_ok(v):
    try:
        return abs(email.utils.parsedate_to_datetime(v).timestamp() - time.time()) < 5 and v.endswith(" GMT")
    except (TypeError, ValueError):
        return False


REASONS = {200: "OK", 304: "Not Modified", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 408: "Request Timeout", 411: "Length Required",
           413: "Content Too Large", 414: "URI Too Long", 431: "Request Header Fields Too Large",
           501: "Not Implemented", 503: "Service Unavailable", 505: "HTTP Version Not Supported"}
TEXT = "text/plain; charset=utf-8"


def check_answer(name, got, status, ctype, body, length=None, connection=None, extra=()):
    """Compares a response with the exact one expected, in order, header by header."""
    line, hdrs, got_body = got
    want = [("Server", "reactor-httpd"), ("Date", None), ("Content-Type", ctype),
            ("Content-Length", str(len(body) if length is None else length))]
    if connection:
        want.append(("Connection", connection))
    want += list(extra)
    ok = line == f"HTTP/1.1 {status} {REASONS[status]}" and len(hdrs) == len(want) and got_body == body
    ok = ok and all(h[0] == w[0] and (date_ok(h[1]) if w[1] is None else h[1] == w[1])
                    for h, w in zip(hdrs, want))
    check(name, ok, f"got {line!r} {hdrs} {got_body[:80]!r}; want {status} {want} {body[:80]!r}")


def error_body(status):
    return f"{status} {REASONS[status]}\n".encode()


def exchange(srv, data, n=1, heads=()):
    """Sends data, reads n answers (those numbered in `heads` answer HEAD), returns them
    and whether the server then closed with nothing more."""
    s = srv.conn()
    try:
        s.sendall(data)
        r = Reader(s)
        answers = [r.response(head_request=i in heads) for i in range(n)]
        return answers, r.at_eof() and not r.buf
    finally:
        s.close()


def get(path="/", extra=b""):
    return b"GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (path.encode(), extra)


HELLO, JSON = b"Hello, world!", b'{"code":200,"msg":"success"}'
