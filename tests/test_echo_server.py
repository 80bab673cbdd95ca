#!/usr/bin/env python3
"""Integration test of reactor-echo on one backend.

    test_echo_server.py PATH-TO-reactor-echo BACKEND

Starts the server on a free port (--port 0, the port read from its first line)
and drives it with real clients over loopback, checking every byte: the
multi-socket client of the origin documents, a client that never reads
(back-pressure: the server's memory stays bounded), half-close, reset,
--upper, idle timeout, --max-conns, a flood under a 64-descriptor limit
(EMFILE: no spinning, then recovery), IPv6, SIGTERM/SIGINT. Every wait is
bounded in time and every loop in count; only processes this script started
are signalled, by their PID.
"""
import os
import re
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import echo_client  # noqa: E402  (the multi-socket client, shared with the load tool)

BIN, BACKEND = sys.argv[1], sys.argv[2]
LOCAL = "127.0.0.1"
PROC = os.path.exists("/proc/self/fd")
LINE = re.compile(r"listening on (\S+):(\d+) \(backend (\S+)\)\n\Z")


class Failure(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Failure(what)


class Server:
    """A reactor-echo process started by this script, on a free port."""

    def __init__(self, *args, nofile=None):
        limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))) if nofile else None
        self.p = subprocess.Popen([BIN, "--backend", BACKEND, "--port", "0", *args],
                                  stdout=subprocess.PIPE, preexec_fn=limit)
        self.pid = self.p.pid
        line = self._first_line(5.0)
        m = LINE.match(line)
        if not m or m.group(3) != BACKEND:
            self.kill()
            raise Failure(f"first line should be 'listening on ADDR:PORT (backend {BACKEND})', got {line!r}")
        self.addr, self.port = m.group(1), int(m.group(2))

    def _first_line(self, timeout):
        out, deadline = b"", time.monotonic() + timeout
        while not out.endswith(b"\n") and len(out) < 1000 and time.monotonic() < deadline:
            if select.select([self.p.stdout], [], [], max(deadline - time.monotonic(), 0))[0]:
                chunk = os.read(self.p.stdout.fileno(), 1000 - len(out))
                if not chunk:
                    break
                out += chunk
        return out.decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, within=5.0):
        """Signals the server; expects exit status 0 within `within` seconds and no more output."""
        self.p.send_signal(sig)
        try:
            status = self.p.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Failure(f"still running {within:.0f} s after signal {sig}")
        rest = self.p.stdout.read()
        self.p.stdout.close()
        expect(status == 0, f"exit status {status} after signal {sig}, want 0")
        expect(rest == b"", f"stdout should hold one line only; also got {rest[:80]!r}")

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        if not self.p.stdout.closed:
            self.p.stdout.close()

    # Linux's /proc; elsewhere ps(1) for memory and CPU, and no descriptor count.
    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd")) if PROC else None

    def rss_kib(self):
        if not PROC:
            return int(self._ps("rss"))
        with open(f"/proc/{self.pid}/status") as f:
            return int(next(l for l in f if l.startswith("VmRSS:")).split()[1])

    def cpu_seconds(self):
        if not PROC:  # ps prints [dd-][hh:]mm:ss[.cc]; a test server does not live for days
            parts = self._ps("time").split("-")[-1].split(":")
            return sum(float(x) * 60**i for i, x in enumerate(reversed(parts)))
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _ps(self, field):
        return subprocess.run(["ps", "-o", f"{field}=", "-p", str(self.pid)], capture_output=True,
                              text=True, timeout=5).stdout.strip()

    def connect(self, host=LOCAL, timeout=5.0):
        return socket.create_connection((host, self.port), timeout=timeout)


def tcp_queues(local_port, remote_port):
    """(bytes sent but not acknowledged, bytes received but not read) of the
    loopback socket local_port -> remote_port, from Linux's /proc/net/tcp;
    None when it cannot be found."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = [line.split() for line in f.readlines()[1:]]
        except OSError:
            continue
        for row in rows:
            ports = int(row[1].rsplit(":", 1)[1], 16), int(row[2].rsplit(":", 1)[1], 16)
            if ports == (local_port, remote_port):
                tx, rx = row[4].split(":")
                return int(tx, 16), int(rx, 16)
    return None


def unread_by_server(srv, client):
    q = tcp_queues(srv.port, client.getsockname()[1])
    return q and q[1]


def wait_until(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def read_to_end(s, limit, timeout):
    """Reads until EOF, a reset, `limit` bytes or `timeout`; returns (bytes, how it ended)."""
    got, deadline = bytearray(), time.monotonic() + timeout
    while len(got) < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(got), "timeout"
        s.settimeout(left)
        try:
            chunk = s.recv(min(1 << 20, limit - len(got)))
        except socket.timeout:
            return bytes(got), "timeout"
        except ConnectionResetError:
            return bytes(got), "reset"
        if not chunk:
            return bytes(got), "eof"
        got += chunk
    return bytes(got), "limit"


def exchange(s, data, timeout=20.0):
    """Sends `data` from a thread while reading its echo here; returns what came back."""
    sender = threading.Thread(target=lambda: s.sendall(data), daemon=True)
    sender.start()
    got, _ = read_to_end(s, len(data), timeout)
    sender.join(timeout)
    return got


def echo(srv, data, host=LOCAL):
    with srv.connect(host) as s:
        return exchange(s, data, 5.0)


def closed_by_server(s, timeout):
    """True when the server closes `s` (EOF or reset) within `timeout` seconds."""
    _, how = read_to_end(s, 1, timeout)
    return how in ("eof", "reset")


# ---- the tests: one behaviour each ------------------------------------------

def test_echoes_a_line(srv):
    got = echo(srv, b"hello, reactor\n")
    expect(got == b"hello, reactor\n", f"got {got!r}")


def test_echoes_1mib_intact(srv):
    data = os.urandom(1 << 20)
    got = echo(srv, data)
    expect(got == data, f"{len(got)} of {len(data)} bytes came back, intact: {got == data[:len(got)]}")


def test_100_clients_x_100_messages(srv):
    res = echo_client.run(LOCAL, srv.port, sockets=100, messages=100, timeout=60)
    print(f"#   100 sockets x 100 messages: {res}")
    expect(not res.errors and res.round_trips == 10000, str(res))


def test_client_that_never_reads_is_back_pressured(srv):
    """The server stops reading a client that does not read: its RSS stays
    bounded while we push 10 MB, and once we read everything comes back."""
    data = os.urandom(10 << 20)
    rss0 = srv.rss_kib()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)  # keep the kernel's share small
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)
    s.settimeout(5)
    s.connect((LOCAL, srv.port))
    s.setblocking(False)
    sent, last_progress, deadline = 0, time.monotonic(), time.monotonic() + 20
    while sent < len(data) and time.monotonic() - last_progress < 1.0 and time.monotonic() < deadline:
        try:
            sent += s.send(data[sent:sent + (1 << 16)])
            last_progress = time.monotonic()
        except BlockingIOError:
            time.sleep(0.01)
    time.sleep(0.3)
    grew = srv.rss_kib() - rss0
    unread = unread_by_server(srv, s)
    time.sleep(0.3)
    unread_later = unread_by_server(srv, s)
    print(f"#   never-reading client: the kernel took {sent / 1e6:.1f} of {len(data) / 1e6:.1f} MB, "
          f"server RSS grew {grew} KiB, {unread} bytes left unread in the server's socket")
    expect(grew < 64 * 1024, f"server RSS grew by {grew} KiB while the client did not read")
    if unread is None:
        print("#   (no /proc/net/tcp entry: the stopped reading itself is not checked)")
    else:
        expect(unread > 0 and unread == unread_later,
               f"the server kept reading (unread bytes in its socket: {unread}, then {unread_later})")
    expect(echo(srv, b"still here\n") == b"still here\n", "another client was not served meanwhile")
    s.setblocking(True)
    rest = threading.Thread(target=lambda: s.sendall(data[sent:]), daemon=True)
    rest.start()
    got, how = read_to_end(s, len(data), 30)
    rest.join(10)
    expect(got == data, f"{len(got)} of {len(data)} bytes came back ({how}), "
                        f"intact so far: {got == data[:len(got)]}")
    s.shutdown(socket.SHUT_WR)
    expect(closed_by_server(s, 5), "not closed after our half-close")
    s.close()


def test_half_close_returns_what_was_sent_then_closes(srv):
    data = b"half-closed " * 20000  # 240 KB: more than one read
    with srv.connect() as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got, how = read_to_end(s, len(data) + 1, 10)
    expect(got == data and how == "eof", f"{len(got)} of {len(data)} bytes then {how}, want all then eof")


def test_reset_mid_stream_frees_the_connection(srv):
    base = srv.fds()
    s = srv.connect()
    s.setblocking(False)
    chunk, sent = os.urandom(1 << 16), 0
    for _ in range(32):  # up to 2 MiB, never reading the echo
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            break
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # SO_LINGER 0: the close sends a reset
    if base is not None:
        expect(wait_until(lambda: srv.fds() <= base, 3), f"server holds {srv.fds()} fds, had {base}")
    expect(echo(srv, b"after reset\n") == b"after reset\n", "not serving after a reset")


def test_upper_cases_ascii(srv_upper):
    got = echo(srv_upper, "Mixed Case 123 é\n".encode())
    expect(got == "MIXED CASE 123 é\n".encode(), f"got {got!r}")
    res = echo_client.run(LOCAL, srv_upper.port, sockets=20, messages=50, upper=True, timeout=30)
    expect(not res.errors, str(res))


def test_idle_timeout_closes_an_idle_connection():
    srv = Server("--idle-timeout", "1")
    try:
        idle, busy = srv.connect(), srv.connect()
        t0 = time.monotonic()
        for i in range(8):  # busy talks every 0.3 s for 2.4 s: activity resets its timer
            msg = b"ping %d\n" % i
            busy.sendall(msg)
            got, _ = read_to_end(busy, len(msg), 2)
            expect(got == msg, f"active connection lost at ping {i} ({got!r})")
            last_byte = time.monotonic()
            time.sleep(0.3)
        expect(closed_by_server(idle, 0.1), "idle connection still open after 2.4 s (--idle-timeout 1)")
        expect(closed_by_server(busy, 3), "connection still open 3 s after it went quiet")
        waited = time.monotonic() - last_byte
        expect(0.9 < waited < 2.5, f"closed {waited:.2f} s after its last byte, want about 1 s")
        idle.close()
        busy.close()
        print(f"#   the busy connection outlived the idle one ({time.monotonic() - t0:.1f} s) and was "
              f"closed {waited:.2f} s after its last byte")
        srv.stop()
    finally:
        srv.kill()


def test_max_conns_refuses_beyond_the_limit():
    srv = Server("--max-conns", "5")
    try:
        kept = [srv.connect() for _ in range(5)]
        for i, s in enumerate(kept):
            expect(exchange(s, b"in %d\n" % i, 5) == b"in %d\n" % i, f"connection {i} of 5 not served")
        extra = [srv.connect() for _ in range(3)]
        expect(all(closed_by_server(s, 3) for s in extra), "a 6th..8th connection was not closed")
        expect(all(exchange(s, b"ok\n", 5) == b"ok\n" for s in kept), "the 5 kept ones stopped working")
        kept.pop().close()

        def served():
            try:
                return echo(srv, b"room again\n") == b"room again\n"
            except OSError:
                return False
        expect(wait_until(served, 3, 0.1), "no new connection served after one of 5 closed")
        for s in kept + extra:
            s.close()
        srv.stop()
    finally:
        srv.kill()


def test_emfile_flood_does_not_spin_and_recovers():
    srv = Server("--quiet", nofile=64)
    flood = []
    try:
        for _ in range(200):
            try:
                flood.append(srv.connect(timeout=2))
            except OSError:
                break  # the backlog is full: enough of a flood
        if PROC:
            expect(wait_until(lambda: srv.fds() >= 60, 3), f"server holds {srv.fds()} fds, never hit 64")
        cpu0, t0 = srv.cpu_seconds(), time.monotonic()
        time.sleep(2)
        share = (srv.cpu_seconds() - cpu0) / (time.monotonic() - t0)
        print(f"#   {len(flood)} connections held against a 64-fd limit: server CPU {share:.0%} over 2 s")
        expect(share < 0.5, f"server used {share:.0%} CPU while out of descriptors (spinning)")
        for s in flood:
            s.close()
        flood = []

        def served():
            try:
                return echo(srv, b"recovered\n") == b"recovered\n"
            except OSError:
                return False
        expect(wait_until(served, 5, 0.1), "not serving again after the flood went away")
        res = echo_client.run(LOCAL, srv.port, sockets=40, messages=20, timeout=30)
        expect(not res.errors, f"40 clients after the flood: {res}")
        srv.stop()
    finally:
        for s in flood:
            s.close()
        srv.kill()


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError as e:
        print(f"#   SKIP IPv6: cannot bind ::1 here ({e})")
        return False


def test_ipv6_loopback():
    if not ipv6_loopback():
        return
    srv = Server("--bind", "::1")
    try:
        expect(srv.addr == "[::1]", f"listening line shows {srv.addr}, want [::1]")
        expect(echo(srv, b"over v6\n", host="::1") == b"over v6\n", "no echo over ::1")
        res = echo_client.run("::1", srv.port, sockets=10, messages=20, timeout=30)
        expect(not res.errors, str(res))
        srv.stop()
    finally:
        srv.kill()


def test_sigterm_stops_accepting_flushes_and_exits_0():
    """On SIGTERM the server refuses new clients, closes idle ones, and sends
    back everything it has read before closing the busy ones; then exits 0."""
    srv = Server()
    try:
        idle = srv.connect()
        expect(exchange(idle, b"x", 5) == b"x", "not served")
        busy = socket.socket()
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)  # so that the server's buffer fills
        busy.settimeout(5)
        busy.connect((LOCAL, srv.port))
        busy.setblocking(False)
        data, sent = os.urandom(8 << 20), 0
        for _ in range(128):  # until the server stops reading us
            try:
                sent += busy.send(data[sent:sent + (1 << 16)])
            except BlockingIOError:
                time.sleep(0.2)
                try:
                    sent += busy.send(data[sent:sent + (1 << 16)])
                except BlockingIOError:
                    break
        # What the server has read, once it has stopped reading (back-pressure):
        # a slow server (sanitizers) may still be draining after the sends, so
        # wait until two snapshots 0.3 s apart agree (bounded: 20 tries).
        read_by_server, previous = None, -1
        for _ in range(20):
            time.sleep(0.3)
            ours = tcp_queues(busy.getsockname()[1], srv.port)
            theirs = tcp_queues(srv.port, busy.getsockname()[1])
            read_by_server = sent - ours[0] - theirs[1] if ours and theirs else None
            if read_by_server is None or read_by_server == previous:
                break
            previous = read_by_server
        srv.p.send_signal(signal.SIGTERM)

        def refused():  # (reset: it reached the backlog just before the listener closed)
            try:
                srv.connect(timeout=1).close()
                return False
            except (ConnectionRefusedError, ConnectionResetError):
                return True
        expect(wait_until(refused, 2), "still accepting after SIGTERM")
        expect(closed_by_server(idle, 2), "idle connection not closed on SIGTERM")
        idle.close()
        got, how = read_to_end(busy, sent + 1, 10)
        busy.close()
        expect(got == data[:len(got)], f"busy connection: {len(got)} bytes ({how}), not the echo")
        if read_by_server is None:
            print("#   (no /proc/net/tcp: the amount flushed is not checked)")
        else:
            expect(len(got) == read_by_server and how == "eof",
                   f"busy connection got {len(got)} bytes then {how}; the server had read "
                   f"{read_by_server}: all of it should come back, then end-of-file")
        try:
            status = srv.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            raise Failure("not exited 5 s after SIGTERM")
        expect(status == 0, f"exit status {status}, want 0")
    finally:
        srv.kill()


def test_sigint_exits_0():
    srv = Server()
    try:
        expect(echo(srv, b"y") == b"y", "not served")
        srv.stop(signal.SIGINT, within=3)
    finally:
        srv.kill()


def test_bad_options_exit_2():
    for args in (["--bogus"], ["--port", "70000"], ["--max-conns", "0"], ["--port"]):
        p = subprocess.run([BIN, *args], capture_output=True, timeout=5)
        expect(p.returncode == 2 and b"usage" in p.stderr, f"{args}: status {p.returncode}, {p.stderr!r}")


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # the flood needs 200+ of ours
    want = 1024 if hard == resource.RLIM_INFINITY else min(1024, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    shared = [test_echoes_a_line, test_echoes_1mib_intact, test_100_clients_x_100_messages,
              test_client_that_never_reads_is_back_pressured,
              test_half_close_returns_what_was_sent_then_closes,
              test_reset_mid_stream_frees_the_connection]
    alone = [test_idle_timeout_closes_an_idle_connection, test_max_conns_refuses_beyond_the_limit,
             test_emfile_flood_does_not_spin_and_recovers, test_ipv6_loopback,
             test_sigterm_stops_accepting_flushes_and_exits_0, test_sigint_exits_0,
             test_bad_options_exit_2]
    failed = []

    def run(name, fn, *args):
        t0 = time.monotonic()
        try:
            fn(*args)
            print(f"ok   {name} ({time.monotonic() - t0:.1f} s)", flush=True)
        except Failure as e:
            failed.append(name)
            print(f"FAIL {name}: {e}", flush=True)
        except Exception:
            failed.append(name)
            print(f"FAIL {name}: unexpected error\n{traceback.format_exc()}", flush=True)

    print(f"# reactor-echo on backend {BACKEND}", flush=True)
    for extra, tests in (((), shared), (("--upper",), [test_upper_cases_ascii])):
        try:
            srv = Server(*extra)
        except Failure as e:
            failed.append("start")
            print(f"FAIL start {' '.join(extra)}: {e}")
            continue
        try:
            for t in tests:
                run(t.__name__, t, srv)
            run(f"sigterm_exits_0 {' '.join(extra)}".strip(), srv.stop)
        finally:
            srv.kill()
    for t in alone:
        run(t.__name__, t)
    total = len(shared) + len(alone) + 3
    print(f"# {total - len(failed)} of {total} passed on {BACKEND}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
