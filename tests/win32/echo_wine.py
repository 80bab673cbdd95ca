#!/usr/bin/env python3
"""Runs reactor-echo built for Windows and checks it with tests/echo_client.py
over 127.0.0.1 (wine's sockets are the host's, so the client runs natively).

    echo_wine.py [EMULATOR...] reactor-echo.exe

The server gets --port 0 and prints the port it was given; it is stopped
with SIGTERM to wine's process (libreactor has no signals on Windows, so no
graceful drain is tested here). Exits 0 when every round trip checked out.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import echo_client  # noqa: E402

cmd = sys.argv[1:] + ["--port", "0", "--quiet"]
env = dict(os.environ, WINEDEBUG=os.environ.get("WINEDEBUG", "-all"))
server = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
failed = 0
try:
    deadline = time.monotonic() + 60
    line = server.stdout.readline()  # wine's start-up can take seconds
    m = re.search(r":(\d+) \(backend (\w+)\)", line)
    if not m or time.monotonic() > deadline:
        print("no 'listening on' line from the server: %r" % line)
        sys.exit(1)
    port = int(m.group(1))
    print("server: " + line.strip())
    for sockets, messages, size in ((1, 100, 32), (20, 200, 512), (10, 50, 65536)):
        res = echo_client.run("127.0.0.1", port, sockets=sockets, messages=messages,
                              size=size, timeout=30.0)
        ok = not res.errors
        print(("ok   " if ok else "FAIL ") + str(res))
        for e in res.errors[:5]:
            print("     " + str(e))
        failed += 0 if ok else 1
finally:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
print("%d passed, %d failed" % (3 - failed, failed))
sys.exit(1 if failed else 0)
