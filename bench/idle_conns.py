#!/usr/bin/env python3
"""bench/idle_conns.py - holds N idle keep-alive HTTP connections to 127.0.0.1:PORT.

    idle_conns.py PORT N

Opens N connections, sends one "GET /" on each and reads its whole answer, then
prints "ready N" and keeps them all open and idle until stdin is closed (or 60 s
pass), so the caller can read the server's RSS. Exits 1 if any answer is not a 200.
"""
import select
import socket
import sys


def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(req)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                sys.exit(f"idle_conns: closed after {len(socks)} connections")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            sys.exit(f"idle_conns: answer {head[:40]!r}")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(body) < length:
            body += s.recv(4096)
        socks.append(s)
    print(f"ready {len(socks)}", flush=True)
    select.select([sys.stdin], [], [], 60)


main()
