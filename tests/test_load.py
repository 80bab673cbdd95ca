#!/usr/bin/env python3
"""Load and fault tests of the example servers (issue #6), one server and backend a run.

usage: test_load.py {http|echo} PATH-TO-SERVER BACKEND [--long] [--conns N] [--seconds S] [TEST...]

  soak    N keep-alive connections, all held and exercised for S seconds: every byte
          of every answer checked, the server's RSS sampled from /proc (no growth after
          the ramp), its fds back to baseline once the clients close.
          CI: 2,000 connections for 5 s (fewer under sanitizers and on select);
          --long: 10,000 connections for 30 s.
  emfile  the server under a 256-descriptor limit, flooded with 1,000 connections:
          each is served or closed (none hangs), the server does not spin while the
          flood is held, and recovers fully once it ends.
  storm   SIGALRM sent to the server every millisecond for 3 s while keep-alive
          traffic runs: every byte right, the server alive, responsive and idle
          afterwards; then SIGUSR1 must print one statistics line on stderr.
  wrk     (http only) wrk -t1 -c50 -d3s: no socket error, no error status.

The client is single-threaded and non-blocking (selectors: epoll on Linux). Every
server's RLIMIT_NOFILE is set for it alone (limits are per process), so the client's
10,000 descriptors and the server's 10,000 fit a hard limit of 20,000. Loopback only,
every wait bounded; only the servers started here are signalled, by their PID.
"""
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpd_harness as h  # noqa: E402
from httpd_harness import check  # noqa: E402

KIND = None  # "http" or "echo", set by main()
NOFILE = None  # this process's soft RLIMIT_NOFILE, raised to its hard limit by main()

# The whole answer to GET /: its length is fixed (an IMF-fixdate is 29 bytes), so
# every byte but the date's is compared.
HELLO_RE = re.compile(rb"HTTP/1\.1 200 OK\r\nServer: reactor-httpd\r\nDate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} "
                      rb"\d{4} \d\d:\d\d:\d\d GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n"
                      rb"Hello, world!")
HELLO_LEN = len("HTTP/1.1 200 OK\r\nServer: reactor-httpd\r\nDate: Wed, 02 Dec 2026 15:50:15 GMT\r\n"
                "Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!")
GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


# ---- what a request is and what its answer must be, per server ------------------------

def request(conn_no, seq):
    if KIND == "http":
        return GET
    return b"%d:%d:%s\n" % (conn_no, seq, b"x" * (conn_no % 64))  # every echo is different


def answer_len(req):
    return HELLO_LEN if KIND == "http" else len(req)


def answer_ok(req, got):
    return bool(HELLO_RE.fullmatch(got)) if KIND == "http" else got == req


# ---- the server -----------------------------------------------------------------------

BANNER = re.compile(r"listening on (?:http://)?(\S+?):(\d+)/? \(backend (\w+)\)\n")


class LoadServer:
    """reactor-httpd or reactor-echo on a free port, with its own descriptor limit."""

    def __init__(self, *extra, nofile=None):
        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        root = h.as_root(extra) if KIND == "http" else []
        self.p = subprocess.Popen([h.BIN, "--backend", h.BACKEND, "--port", "0", "--quiet", *root, *extra],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  preexec_fn=limit if nofile else None)
        h.started.append(self.p)
        self.banner = self.p.stdout.readline().decode()
        m = BANNER.fullmatch(self.banner)
        if not m or m.group(3) != h.BACKEND:
            self.p.kill()
            raise SystemExit(f"server did not start: {self.banner!r} {self.p.stderr.read()!r}")
        self.port = int(m.group(2))
        self.err = b""  # stderr read so far

    def conn(self, timeout=5.0):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def fds(self):
        return len(os.listdir(f"/proc/{self.p.pid}/fd"))

    def wait_fds(self, baseline, within=5.0):
        """The fd count once back to baseline, or the last seen after `within` s."""
        end = time.monotonic() + within
        while True:
            n = self.fds()
            if n <= baseline or time.monotonic() > end:
                return n
            time.sleep(0.05)

    def rss_kib(self):
        with open(f"/proc/{self.p.pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

    def cpu_seconds(self):
        with open(f"/proc/{self.p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def cpu_over(self, seconds):
        c, t = self.cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        return (self.cpu_seconds() - c) * seconds / (time.monotonic() - t)

    def stderr_line(self, timeout):
        """The next line the server writes on stderr, or None after `timeout` s."""
        end = time.monotonic() + timeout
        fd = self.p.stderr.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.err and time.monotonic() < end:
                if sel.select(max(0.0, end - time.monotonic())):
                    b = os.read(fd, 4096)
                    if not b:
                        break
                    self.err += b
        if b"\n" not in self.err:
            return None
        line, self.err = self.err.split(b"\n", 1)
        return line.decode(errors="replace")

    def works(self):
        """One fresh connection, three requests: all answered right."""
        try:
            with self.conn(timeout=3) as s:
                r = Reader(s)
                for k in range(3):
                    q = request(7, k)
                    s.sendall(q)
                    if not answer_ok(q, r.take(answer_len(q), 3.0)):
                        return False
                return True
        except (OSError, EOFError):
            return False

    def stop(self, name):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            rc = "killed after 10 s"
        err = (self.err + self.p.stderr.read()).decode(errors="replace")
        check(f"{name}: exits 0 on SIGTERM", rc == 0, f"status {rc}")
        check(f"{name}: no sanitizer report", "Sanitizer" not in err and "runtime error" not in err,
              err[-1500:])


class Reader:
    """Blocking reads of exactly n bytes, for the few checks outside the load loops."""

    def __init__(self, s):
        self.s, self.buf = s, b""

    def take(self, n, timeout):
        self.s.settimeout(timeout)
        while len(self.buf) < n:
            b = self.s.recv(65536)
            if not b:
                raise EOFError
            self.buf += b
        got, self.buf = self.buf[:n], self.buf[n:]
        return got


# ---- the load loop --------------------------------------------------------------------

def connect_many(srv, n):
    socks = []
    for _ in range(n):
        socks.append(srv.conn())
        socks[-1].setblocking(False)
    return socks


class Load:
    """Closed-loop keep-alive traffic: each connection has one request in flight; every
    answer is checked byte for byte, then the next request goes out."""

    def __init__(self, socks):
        self.sel = selectors.DefaultSelector()
        self.st = {}  # sock -> [conn number, seq, request, bytes received]
        self.answers, self.bytes, self.errors = 0, 0, []  # bytes: of the requests answered
        for i, s in enumerate(socks):
            self.st[s] = [i, 0, None, b""]
            self.sel.register(s, selectors.EVENT_READ)
            self._send(s)

    def _send(self, s):
        st = self.st[s]
        st[2], st[3] = request(st[0], st[1]), b""
        try:  # the previous answer was read whole, so the socket's buffer is empty
            if s.send(st[2]) != len(st[2]):
                self._fail(s, "short send")
        except OSError as e:
            self._fail(s, f"send: {e}")

    def _fail(self, s, why):
        if len(self.errors) < 5:
            print(f"# connection {self.st[s][0]} request {self.st[s][1]}: {why}", flush=True)
        self.errors.append(why)
        self.sel.unregister(s)
        del self.st[s]

    def run(self, seconds, on_tick=None, tick=0.25, more=True):
        """Runs for `seconds`; with more=False no new request goes out and it ends once
        every answer in flight is in. on_tick() runs every `tick` seconds."""
        end = time.monotonic() + seconds
        next_tick = time.monotonic()
        while self.st and (more or any(st[2] is not None for st in self.st.values())):
            now = time.monotonic()
            if now >= end:
                break
            if on_tick and now >= next_tick:
                on_tick()
                next_tick = now + tick
            for key, _ in self.sel.select(timeout=min(tick, max(0.0, end - now))):
                s = key.fileobj
                st = self.st[s]
                try:
                    b = s.recv(65536)
                except OSError as e:
                    self._fail(s, f"recv: {e}")
                    continue
                if not b:
                    self._fail(s, "closed by the server")
                    continue
                st[3] += b
                if st[2] is None or len(st[3]) > answer_len(st[2]):
                    self._fail(s, f"unasked-for bytes {st[3][:60]!r}")
                    continue
                if len(st[3]) < answer_len(st[2]):
                    continue
                if not answer_ok(st[2], st[3]):
                    self._fail(s, f"wrong answer {st[3][:200]!r} to {st[2][:60]!r}")
                    continue
                self.answers += 1
                self.bytes += len(st[2])
                st[1] += 1
                st[2] = None
                if more:
                    self._send(s)

    def finish(self, within=10.0):
        """Lets the answers in flight come in; those missing then are errors."""
        self.run(within, more=False)
        for s in [s for s, st in self.st.items() if st[2] is not None]:
            self._fail(s, f"no answer within {within} s")

    def unanswered_connections(self):
        return sum(st[1] == 0 for st in self.st.values())


# ---- 1. soak ---------------------------------------------------------------------------

def scaled(normal, sanitized, select):
    n = sanitized if h.SANITIZED else normal
    return min(n, select) if h.BACKEND == "select" else n


def test_soak(n, seconds):
    if n + 128 > NOFILE:
        print(f"# RLIMIT_NOFILE is {NOFILE}: {n} connections scaled down to {NOFILE - 128}", flush=True)
        n = NOFILE - 128
    extra = ("--max-conns", str(n + 100)) if KIND == "http" else ()
    # --idle-timeout-ms stays at its default (30 s): every connection is busy anyway.
    srv = LoadServer(*extra, nofile=n + 128)
    time.sleep(0.1)
    base_fds, base_rss = srv.fds(), srv.rss_kib()
    t0 = time.monotonic()
    socks = connect_many(srv, n)
    load = Load(socks)
    # Ramp: until every connection has had an answer (bounded).
    ramp_end = time.monotonic() + 30
    while load.unanswered_connections() and time.monotonic() < ramp_end and not load.errors:
        load.run(0.2)
    ramp = time.monotonic() - t0
    check(f"soak: all {n} connections open and answered once", not load.unanswered_connections()
          and not load.errors, f"{load.unanswered_connections()} unanswered, {len(load.errors)} errors")
    # The hold: RSS sampled every 0.25 s. The peak is the highest sample of the hold's
    # first quarter, once every connection exists; after it memory must stay flat.
    samples = []
    start_answers, t_hold = load.answers, time.monotonic()
    load.run(seconds, on_tick=lambda: samples.append((time.monotonic() - t_hold, srv.rss_kib())))
    load.finish()
    held = time.monotonic() - t_hold
    samples.append((held, srv.rss_kib()))
    fds_held = srv.fds()
    early = [r for t, r in samples if t <= seconds / 4] or [samples[0][1]]
    peak, end, top = max(early), samples[-1][1], max(r for _, r in samples)
    answers = load.answers - start_answers
    for s in socks:
        s.close()
    fds_after = srv.wait_fds(base_fds)
    time.sleep(0.3)
    rss_after = srv.rss_kib()
    # Sanitizer allocators keep freed memory in quarantine for a while, so RSS grows with
    # the churn of allocations, not with a leak: their margin is wider.
    margin = max(4096 if h.SANITIZED else 256, peak // (10 if h.SANITIZED else 50))
    check(f"soak: {n} connections x {seconds} s, every byte of every answer right", not load.errors,
          f"{len(load.errors)} errors: {load.errors[:3]}")
    check("soak: every connection still open at the end of the hold", len(load.st) == n,
          f"{n - len(load.st)} lost")
    check(f"soak: server held one fd per connection ({base_fds} + {n})", fds_held == base_fds + n,
          f"{fds_held} fds")
    check(f"soak: RSS at the end of the hold <= its peak after the ramp + {margin} KiB",
          end <= peak + margin, f"peak {peak} KiB, end {end} KiB, samples {samples[::8]}")
    check(f"soak: RSS never above that peak + {margin} KiB during the hold", top <= peak + margin,
          f"peak {peak}, highest {top}")
    check(f"soak: server fds back to baseline {base_fds} after the clients close", fds_after == base_fds,
          f"{fds_after} fds")
    print(f"# soak {KIND}/{h.BACKEND}: {n} connections, ramp {ramp:.1f} s, hold {held:.1f} s, "
          f"{answers} answers checked ({answers / held:,.0f}/s), errors {len(load.errors)}; "
          f"RSS KiB: start {base_rss}, peak {peak}, highest {top}, end of hold {end}, after close "
          f"{rss_after}; fds: baseline {base_fds}, held {fds_held}, after {fds_after}", flush=True)
    srv.stop("soak server")


# ---- 2. EMFILE flood --------------------------------------------------------------------

def flood_outcome(socks, reqs, within):
    """Waits up to `within` s for each connection to be answered right or closed; returns
    (served, closed, wrong, pending)."""
    sel = selectors.DefaultSelector()
    bufs = {}
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
        bufs[s] = b""
    served = closed = wrong = 0
    end = time.monotonic() + within
    while bufs and time.monotonic() < end:
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            try:
                b = s.recv(65536)
            except OSError:
                b = b""
            want = answer_len(reqs[s])
            if b:
                bufs[s] += b
                if len(bufs[s]) < want:
                    continue
                ok = len(bufs[s]) == want and answer_ok(reqs[s], bufs[s])
                served += ok
                wrong += not ok
            else:  # EOF or reset: refused (a partial answer before it would be wrong)
                closed += not bufs[s]
                wrong += bool(bufs[s])
            sel.unregister(s)
            del bufs[s]
    sel.close()
    return served, closed, wrong, len(bufs)


def test_emfile(attempts=1000, nofile=256):
    srv = LoadServer(nofile=nofile)
    time.sleep(0.1)
    base_fds = srv.fds()
    socks, reqs = [], {}
    for i in range(attempts):
        try:
            s = srv.conn(timeout=2)
        except OSError as e:  # a full backlog may refuse: that is allowed, and counted
            print(f"# connect {i}: {e}", flush=True)
            continue
        reqs[s] = request(i, 0)
        s.sendall(reqs[s])
        s.setblocking(False)
        socks.append(s)
    served, closed, wrong, pending = flood_outcome(socks, reqs, 5.0)
    fds_full = srv.fds()
    # The flood held: the served connections stay open, the server at its limit.
    cpu = srv.cpu_over(1.0)
    late = [srv.conn(timeout=2) for _ in range(20)]  # more arrive while it is full
    late_reqs = {s: request(i, 0) for i, s in enumerate(late)}
    for s in late:
        s.sendall(late_reqs[s])
        s.setblocking(False)
    l_served, l_closed, l_wrong, l_pending = flood_outcome(late, late_reqs, 3.0)
    cpu_limit = 0.3
    check(f"emfile: {len(socks)} of {attempts} attempts each served or closed, none wrong or hanging",
          served + closed == len(socks) and not wrong and not pending,
          f"{served} served, {closed} closed, {wrong} wrong, {pending} pending")
    check(f"emfile: the server used its descriptors (served > {nofile // 2})", served > nofile // 2,
          f"{served} served, {fds_full} fds")
    check(f"emfile: no spin while the flood is held (CPU < {cpu_limit} s over 1 s)", cpu < cpu_limit,
          f"{cpu:.3f} s")
    check("emfile: 20 more while still full are closed, none hangs",
          l_closed == 20 and not l_served and not l_wrong and not l_pending,
          f"{l_served} served, {l_closed} closed, {l_wrong} wrong, {l_pending} pending")
    for s in socks + late:
        s.close()
    fds_after = srv.wait_fds(base_fds)
    check(f"emfile: server fds back to baseline {base_fds} once the flood ends", fds_after == base_fds,
          f"{fds_after} fds")
    # Recovery: as many clients as the limit allows again, each answered three times.
    n = served - 10
    socks = connect_many(srv, n)
    load = Load(socks)
    load.run(10.0, more=False)
    load2 = load.answers
    check(f"emfile: after the flood {n} new clients all served", load2 == n and not load.errors,
          f"{load2} answered, errors {load.errors[:3]}")
    for s in socks:
        s.close()
    check("emfile: and a fresh connection then works", srv.works())
    print(f"# emfile {KIND}/{h.BACKEND}: nofile {nofile}, {len(socks)} recovery clients; flood of "
          f"{attempts}: {served} served, {closed} closed, {pending} pending; server fds at the limit "
          f"{fds_full}, baseline {base_fds}, after {fds_after}; CPU while held {cpu:.3f} s in 1 s",
          flush=True)
    srv.stop("emfile server")


# ---- 3. signal storm --------------------------------------------------------------------

# Runs in its own process, so that the client's work does not delay the signals:
# SIGALRM to one PID every millisecond for a bounded time; prints how many it sent.
STORM = """
import os, signal, sys, time
pid, seconds = int(sys.argv[1]), float(sys.argv[2])
sent, t0 = 0, time.monotonic()
next_at = t0
while time.monotonic() - t0 < seconds:
    try:
        os.kill(pid, signal.SIGALRM)
    except ProcessLookupError:
        break
    sent += 1
    next_at += 0.001
    time.sleep(max(0.0, next_at - time.monotonic()))
print(sent, round(time.monotonic() - t0, 3), flush=True)
"""

STATS = {
    "http": re.compile(r"reactor-httpd: stats: (\d+) open, (\d+) accepted, (\d+) requests, (\d+) refused,"
                       r" (\d+) shed, (\d+) alarms ignored"),
    "echo": re.compile(r"reactor-echo: stats: (\d+) open, (\d+) accepted, (\d+) bytes echoed, (\d+) refused,"
                       r" (\d+) shed, (\d+) alarms ignored"),
}


def test_storm(n, seconds=3.0):
    srv = LoadServer()
    socks = connect_many(srv, n)
    load = Load(socks)
    load.run(0.3)
    storm = subprocess.Popen([sys.executable, "-c", STORM, str(srv.p.pid), str(seconds)],
                             stdout=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while storm.poll() is None and time.monotonic() - t0 < seconds + 10:
        load.run(0.2)
    load.finish()
    out = storm.communicate(timeout=10)[0].split()
    sent, took = (int(out[0]), float(out[1])) if len(out) == 2 else (0, 0.0)
    alive = srv.p.poll() is None
    check(f"storm: {n} keep-alive connections through {sent} SIGALRMs, every byte right",
          not load.errors and load.answers > n, f"{load.answers} answers, errors {load.errors[:3]}")
    check(f"storm: about one SIGALRM a millisecond sent for {seconds} s", sent >= seconds * 500,
          f"{sent} in {took} s")
    check("storm: the server is alive after the storm", alive, f"exit status {srv.p.poll()}")
    if not alive:
        srv.stop("storm server")
        return
    check("storm: every connection still open", len(load.st) == n, f"{n - len(load.st)} lost")
    check("storm: a fresh connection is served", srv.works())
    cpu = srv.cpu_over(1.0)
    check("storm: idle after the storm (CPU < 0.1 s over 1 s)", cpu < 0.1, f"{cpu:.3f} s")
    srv.p.send_signal(signal.SIGUSR1)
    line = srv.stderr_line(3.0)
    m = STATS[KIND].fullmatch(line or "")
    check("storm: SIGUSR1 prints one statistics line on stderr", m is not None, repr(line))
    if m:
        is_open, accepted, work, _, _, alarms = map(int, m.groups())
        # Everything this test sent was answered: the load, and works()'s three requests.
        done = load.answers + 3 if KIND == "http" else load.bytes + sum(len(request(7, k)) for k in range(3))
        check(f"stats: {n} open", is_open == n, line)
        check(f"stats: {n + 1} accepted", accepted == n + 1, line)
        check(f"stats: {done} {'requests' if KIND == 'http' else 'bytes echoed'}", work == done, line)
        # A delivery between two loop iterations runs the callback once: fewer, never more.
        check(f"stats: alarms ignored from 1 to {sent}", 1 <= alarms <= sent, line)
    print(f"# storm {KIND}/{h.BACKEND}: {sent} SIGALRMs in {took} s to pid {srv.p.pid}, "
          f"{n} connections, {load.answers} answers checked, errors {len(load.errors)}, "
          f"CPU after {cpu:.3f} s/s; {line}", flush=True)
    for s in socks:
        s.close()
    srv.stop("storm server")


def test_stats_threads(n=40, threads=3):
    """With --threads, SIGUSR1's line sums every thread's counters."""
    srv = LoadServer("--threads", str(threads))
    socks = connect_many(srv, n)
    load = Load(socks)
    load.run(0.5)
    load.finish()
    srv.p.send_signal(signal.SIGUSR1)
    line = srv.stderr_line(3.0)
    m = STATS["http"].fullmatch(line or "")
    want = (n, n, load.answers, 0, 0, 0)
    check(f"stats --threads {threads}: one line summing every thread's counters",
          m is not None and tuple(map(int, m.groups())) == want and not load.errors,
          f"{line!r}, want {want}, errors {load.errors[:3]}")
    srv.p.send_signal(signal.SIGUSR1)  # a second report starts from zero again
    line2 = srv.stderr_line(3.0)
    check("stats: a second SIGUSR1 prints the same line", line2 == line, f"{line2!r} after {line!r}")
    for s in socks:
        s.close()
    srv.stop("stats server")


# ---- 4. wrk -----------------------------------------------------------------------------

def test_wrk():
    wrk = shutil.which("wrk")
    if not wrk:
        check("wrk is on PATH", False, "wrk not found: install it (Debian package wrk)")
        return
    srv = LoadServer()
    out = subprocess.run([wrk, "-t1", "-c50", "-d3s", f"http://127.0.0.1:{srv.port}/"],
                         capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"^\s*(\d+) requests in ([\d.]+)(\w+)", out, re.M)
    # wrk prints these two lines only when their counts are not zero.
    sock_err = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    check("wrk -t1 -c50 -d3s /: requests were made", m is not None and int(m.group(1)) > 0, out[-800:])
    check("wrk: no socket errors", sock_err is None or not any(map(int, sock_err.groups())), out[-800:])
    check("wrk: no error status", non2xx is None, out[-800:])
    print(f"# wrk {h.BACKEND}: {m.group(1) if m else '?'} requests, "
          f"{rate.group(1) if rate else '?'} requests/s", flush=True)
    srv.stop("wrk server")


def main():
    global KIND, NOFILE
    args = sys.argv[1:]
    long_run = "--long" in args
    conns = seconds = None
    rest = []
    i = 0
    while i < len(args):
        if args[i] in ("--conns", "--seconds"):
            conns, seconds = (int(args[i + 1]), seconds) if args[i] == "--conns" else (conns, float(args[i + 1]))
            i += 2
            continue
        if args[i] != "--long":
            rest.append(args[i])
        i += 1
    if len(rest) < 3 or rest[0] not in ("http", "echo"):
        raise SystemExit(__doc__.split("\n\n")[1])
    KIND = rest[0]
    h.setup(rest[1], rest[2])
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    NOFILE = hard
    if long_run:
        n, secs = 10000, 30.0
    else:
        n, secs = scaled(2000, 1000, 800), 5.0 if not h.SANITIZED else 3.0
    n, secs = conns or n, seconds or secs
    tests = [("soak", lambda: test_soak(n, secs)), ("emfile", test_emfile),
             ("storm", lambda: test_storm(scaled(200, 100, 200)))]
    if KIND == "http":
        tests += [("stats", test_stats_threads), ("wrk", test_wrk)]
    only = rest[3:]
    try:
        for name, test in tests:
            if not only or name in only:
                t = time.monotonic()
                test()
                print(f"# {name}: {time.monotonic() - t:.1f} s", flush=True)
    finally:
        h.stop_all()
    print(f"{KIND}/{h.BACKEND}: {h.passed()} passed, {len(h.failures)} failed", flush=True)
    sys.exit(1 if h.failures else 0)


if __name__ == "__main__":
    main()
