#!/usr/bin/env python3
"""A multi-socket echo client, like the one in the origin documents, grown into
a checker and a load tool (Python 3 standard library only).

N sockets share one selector; each keeps one message in flight: it sends
message k, waits until the whole echo of it has come back, checks every byte
(upper-cased with --upper), then sends message k+1. The run is bounded by
--timeout. It prints the round trips per second and exits 1 on any wrong byte,
early close or timeout.

    python3 tests/echo_client.py --port 7000 --sockets 100 --messages 1000
    python3 tests/echo_client.py --host ::1 --port 7000 --size 4096 --upper

A single Python process is usually the bottleneck, not the server: for load,
run several clients side by side.
"""
import argparse
import selectors
import socket
import sys
import time

PAD = b"The quick brown fox jumps over the lazy dog. " * 100


def message(sock_no, seq, size):
    """`size` bytes (at least the header) that name their socket and sequence number."""
    head = b"%d:%d:" % (sock_no, seq)
    body = (PAD * (size // len(PAD) + 1))[: max(size - len(head) - 1, 0)]
    return head + body + b"\n"


class Result:
    def __init__(self):
        self.round_trips = 0
        self.seconds = 0.0
        self.errors = []

    @property
    def rate(self):
        return self.round_trips / self.seconds if self.seconds > 0 else 0.0

    def __str__(self):
        state = "every byte checked" if not self.errors else "; ".join(self.errors[:3])
        return (f"{self.round_trips} round trips in {self.seconds:.2f} s = "
                f"{self.rate:,.0f} round trips/s ({state})")


def run(host, port, sockets=100, messages=100, size=32, upper=False, timeout=30.0):
    """Runs the client; returns a Result whose .errors is empty when every echo was right."""
    res = Result()
    sel = selectors.DefaultSelector()
    conns = []
    deadline = time.monotonic() + timeout
    try:
        for i in range(sockets):
            s = socket.create_connection((host, port), timeout=min(5.0, timeout))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conns.append(s)
    except OSError as e:
        res.errors.append(f"connect #{len(conns)}: {e}")
        for s in conns:
            s.close()
        return res

    # Per socket: [socket number, next sequence number, expected echo, bytes received].
    start = time.monotonic()
    for i, s in enumerate(conns):
        msg = message(i, 0, size)
        s.sendall(msg)
        sel.register(s, selectors.EVENT_READ, [i, 1, msg.upper() if upper else msg, bytearray()])
    live = len(conns)
    while live and not res.errors:
        left = deadline - time.monotonic()
        if left <= 0:
            res.errors.append(f"timeout: {live} sockets still waiting for their echo")
            break
        for key, _ in sel.select(timeout=min(left, 1.0)):
            s, st = key.fileobj, key.data
            try:
                chunk = s.recv(65536)
            except OSError as e:
                res.errors.append(f"socket {st[0]}: {e}")
                break
            want, got = st[2], st[3]
            if not chunk:
                res.errors.append(f"socket {st[0]}: closed by the server after "
                                  f"{len(got)} of {len(want)} bytes of message {st[1] - 1}")
                break
            got += chunk
            if got != want[: len(got)]:
                at = next(k for k in range(len(got)) if k >= len(want) or got[k] != want[k])
                res.errors.append(f"socket {st[0]} message {st[1] - 1}: wrong byte at offset {at}: "
                                  f"got {bytes(got[at:at + 16])!r}, want {want[at:at + 16]!r}")
                break
            if len(got) < len(want):
                continue
            res.round_trips += 1
            if st[1] == messages:
                sel.unregister(s)
                live -= 1
                continue
            msg = message(st[0], st[1], size)
            st[1] += 1
            st[2] = msg.upper() if upper else msg
            st[3] = bytearray()
            # With a timeout set, sendall waits out a full send buffer; messages
            # are capped at 64 KiB so that the echo always fits where it lands.
            s.sendall(msg)
    res.seconds = time.monotonic() - start
    sel.close()
    for s in conns:
        s.close()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=7000)
    ap.add_argument("--sockets", type=int, default=100, help="connections (default 100)")
    ap.add_argument("--messages", type=int, default=100, help="messages per connection (default 100)")
    ap.add_argument("--size", type=int, default=32, help="bytes per message, up to 65536 (default 32)")
    ap.add_argument("--upper", action="store_true", help="expect upper-cased echoes")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole run")
    a = ap.parse_args()
    if a.sockets < 1 or a.messages < 1 or not 1 <= a.size <= 65536:
        ap.error("--sockets and --messages must be at least 1, --size from 1 to 65536")
    res = run(a.host, a.port, a.sockets, a.messages, a.size, a.upper, a.timeout)
    print(f"{a.sockets} sockets x {a.messages} messages of {a.size} B: {res}", flush=True)
    sys.exit(1 if res.errors else 0)


if __name__ == "__main__":
    main()
