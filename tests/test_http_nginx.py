#!/usr/bin/env python3
"""reactor-httpd side by side with nginx: the same requests, the same docroot.

usage: test_http_nginx.py PATH-TO-reactor-httpd BACKEND

Starts Debian's nginx (nginx-light) with a generated configuration on a free
loopback port, in its own temporary directory (pid, logs, temp paths), and
reactor-httpd --root on the same generated docroot; sends each request below
to both and compares the status, the headers that carry meaning
(Content-Length, Content-Range, Accept-Ranges, Location's path) and the body
bytes. Requests that need a server's own validators (If-None-Match: its ETag)
are filled in per server. The differences we allow are listed in ALLOWED with
the reason for each; any other difference fails. Both servers are stopped by
their PID.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpd_harness as h  # noqa: E402
from httpd_harness import Server, check  # noqa: E402

NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
error_log {tmp}/error.log;
pid {tmp}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server_tokens off;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_docroot(top):
    root = os.path.join(top, "www")
    os.makedirs(os.path.join(root, "sub"))
    os.makedirs(os.path.join(root, "empty-dir"))
    files = {
        "hello.txt": b"static hello\n",
        "index.html": b"<p>root</p>\n",
        "sub/index.html": b"<p>sub</p>\n",
        "a b.txt": b"spaced\n",
        "empty.txt": b"",
        "big.bin": bytes(range(256)) * 4096 + b"tail",
        "style.css": b"p{}\n",
        "data.json": b"{}\n",
    }
    for name, data in files.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)
    with open(os.path.join(top, "secret.txt"), "wb") as f:
        f.write(b"top secret\n")
    os.symlink(os.path.join(top, "secret.txt"), os.path.join(root, "link-out"))
    os.symlink("hello.txt", os.path.join(root, "link-in"))
    os.chmod(top, 0o755)
    return root


def raw(method_line, *headers, body=b""):
    return method_line + b"\r\n" + b"".join(x + b"\r\n" for x in headers) + b"Connection: close\r\n\r\n" + body


HOST = b"Host: t"
SIZE = 256 * 4096 + 4

# (name, request bytes; "{etag}" and "{lm}" are this server's validators for /big.bin)
REQUESTS = [
    ("GET a file", raw(b"GET /hello.txt HTTP/1.1", HOST)),
    ("HEAD a file", raw(b"HEAD /hello.txt HTTP/1.1", HOST)),
    ("GET the root's index", raw(b"GET / HTTP/1.1", HOST)),
    ("GET a directory's index", raw(b"GET /sub/ HTTP/1.1", HOST)),
    ("GET a directory without its slash", raw(b"GET /sub HTTP/1.1", HOST)),
    ("GET a directory without its slash, with a query", raw(b"GET /sub?a=1 HTTP/1.1", HOST)),
    ("GET a directory with no index", raw(b"GET /empty-dir/ HTTP/1.1", HOST)),
    ("GET a missing file", raw(b"GET /nope HTTP/1.1", HOST)),
    ("GET a missing file in a missing directory", raw(b"GET /no/pe HTTP/1.1", HOST)),
    ("GET an empty file", raw(b"GET /empty.txt HTTP/1.1", HOST)),
    ("GET a large file", raw(b"GET /big.bin HTTP/1.1", HOST)),
    ("GET with a query", raw(b"GET /hello.txt?x=1 HTTP/1.1", HOST)),
    ("GET a percent-encoded name", raw(b"GET /a%20b.txt HTTP/1.1", HOST)),
    ("GET a percent-encoded dot", raw(b"GET /hello%2etxt HTTP/1.1", HOST)),
    ("GET with a dot segment", raw(b"GET /sub/../hello.txt HTTP/1.1", HOST)),
    ("GET with a dot", raw(b"GET /./hello.txt HTTP/1.1", HOST)),
    ("GET above the root", raw(b"GET /../secret.txt HTTP/1.1", HOST)),
    ("GET above the root, encoded", raw(b"GET /%2e%2e/secret.txt HTTP/1.1", HOST)),
    ("GET a doubled slash", raw(b"GET //hello.txt HTTP/1.1", HOST)),
    ("GET a symlink inside the root", raw(b"GET /link-in HTTP/1.1", HOST)),
    ("GET a symlink out of the root", raw(b"GET /link-out HTTP/1.1", HOST)),
    ("GET an encoded NUL", raw(b"GET /hello.txt%00 HTTP/1.1", HOST)),
    ("GET a bad escape", raw(b"GET /%zz HTTP/1.1", HOST)),
    ("GET absolute-form", raw(b"GET http://t/hello.txt HTTP/1.1", HOST)),
    ("GET HTTP/1.0 without Host", b"GET /hello.txt HTTP/1.0\r\n\r\n"),
    ("GET a CSS file", raw(b"GET /style.css HTTP/1.1", HOST)),
    ("GET a JSON file", raw(b"GET /data.json HTTP/1.1", HOST)),
    # ranges
    ("Range first-last", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: bytes=0-99")),
    ("Range first-", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: bytes=1000-")),
    ("Range -suffix", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: bytes=-500")),
    ("Range suffix longer than the file", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: bytes=-99999999")),
    ("Range one byte", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: bytes=7-7")),
    ("Range last past the end", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: bytes=5-99999999")),
    ("Range beyond the end", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: bytes=%d-" % SIZE)),
    ("Range -0", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: bytes=-0")),
    ("Range reversed", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: bytes=9-3")),
    ("Range another unit", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: lines=0-5")),
    ("Range garbage", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: bytes=x-")),
    ("Range two ranges", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: bytes=0-1,5-6")),
    ("Range on HEAD", raw(b"HEAD /big.bin HTTP/1.1", HOST, b"Range: bytes=0-9")),
    ("Range on an empty file", raw(b"GET /empty.txt HTTP/1.1", HOST, b"Range: bytes=0-9")),
    ("If-Range with the ETag", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: bytes=0-9", b"If-Range: {etag}")),
    ("If-Range with an old ETag", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: bytes=0-9", b'If-Range: "old"')),
    ("If-Range with the date", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: bytes=0-9", b"If-Range: {lm}")),
    ("If-Range with another date", raw(b"GET /big.bin HTTP/1.1", HOST, b"Range: bytes=0-9",
                                       b"If-Range: Sun, 06 Nov 1994 08:49:37 GMT")),
    # validators
    ("If-None-Match the ETag", raw(b"GET /big.bin HTTP/1.1", HOST, b"If-None-Match: {etag}")),
    ("If-None-Match *", raw(b"GET /big.bin HTTP/1.1", HOST, b"If-None-Match: *")),
    ("If-None-Match a list with the ETag", raw(b"GET /big.bin HTTP/1.1", HOST, b'If-None-Match: "x", {etag}')),
    ("If-None-Match another", raw(b"GET /big.bin HTTP/1.1", HOST, b'If-None-Match: "other"')),
    ("If-None-Match on HEAD", raw(b"HEAD /big.bin HTTP/1.1", HOST, b"If-None-Match: {etag}")),
    ("If-Modified-Since the date", raw(b"GET /big.bin HTTP/1.1", HOST, b"If-Modified-Since: {lm}")),
    ("If-Modified-Since long ago", raw(b"GET /big.bin HTTP/1.1", HOST,
                                       b"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT")),
    ("If-Modified-Since garbage", raw(b"GET /big.bin HTTP/1.1", HOST, b"If-Modified-Since: yesterday")),
    ("INM fails, IMS would match", raw(b"GET /big.bin HTTP/1.1", HOST, b'If-None-Match: "other"',
                                       b"If-Modified-Since: {lm}")),
    ("If-Match the ETag", raw(b"GET /big.bin HTTP/1.1", HOST, b"If-Match: {etag}")),
    ("If-Match *", raw(b"GET /big.bin HTTP/1.1", HOST, b"If-Match: *")),
    ("If-Match another", raw(b"GET /big.bin HTTP/1.1", HOST, b'If-Match: "other"')),
    ("If-Unmodified-Since long ago", raw(b"GET /big.bin HTTP/1.1", HOST,
                                         b"If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT")),
    ("If-Unmodified-Since the date", raw(b"GET /big.bin HTTP/1.1", HOST, b"If-Unmodified-Since: {lm}")),
    # methods and bodies
    ("POST a file", raw(b"POST /hello.txt HTTP/1.1", HOST, b"Content-Length: 5", body=b"hello")),
    ("PUT a file", raw(b"PUT /hello.txt HTTP/1.1", HOST, b"Content-Length: 5", body=b"hello")),
    ("DELETE a file", raw(b"DELETE /hello.txt HTTP/1.1", HOST)),
    ("OPTIONS a file", raw(b"OPTIONS /hello.txt HTTP/1.1", HOST)),
    ("POST chunked", raw(b"POST /hello.txt HTTP/1.1", HOST, b"Transfer-Encoding: chunked",
                         body=b"5\r\nhello\r\n0\r\n\r\n")),
    ("GET with a body", raw(b"GET /hello.txt HTTP/1.1", HOST, b"Content-Length: 3", body=b"abc")),
    ("an unknown method", raw(b"BREW /hello.txt HTTP/1.1", HOST)),
    ("a lowercase method", raw(b"get /hello.txt HTTP/1.1", HOST)),
    # malformed
    ("no Host in 1.1", raw(b"GET /hello.txt HTTP/1.1")),
    ("two Hosts", raw(b"GET /hello.txt HTTP/1.1", HOST, b"Host: u")),
    ("a Host with a space", raw(b"GET /hello.txt HTTP/1.1", b"Host: a b")),
    ("a Host with a slash", raw(b"GET /hello.txt HTTP/1.1", b"Host: a/b")),
    ("HTTP/1.2", raw(b"GET /hello.txt HTTP/1.2", HOST)),
    ("HTTP/2.0", raw(b"GET /hello.txt HTTP/2.0", HOST)),
    ("HTTP/0.9 style", b"GET /hello.txt\r\n\r\n"),
    ("garbage", b"garbage\r\n\r\n"),
    ("two spaces", raw(b"GET  /hello.txt HTTP/1.1", HOST)),
    ("a relative target", raw(b"GET hello.txt HTTP/1.1", HOST)),
    ("a request line over 8 KiB", raw(b"GET /" + b"a" * 9000 + b" HTTP/1.1", HOST)),
    ("a path of 5 KiB", raw(b"GET /" + b"a" * 5000 + b" HTTP/1.1", HOST)),
    ("a header of 20 KiB", raw(b"GET /hello.txt HTTP/1.1", HOST, b"X: " + b"v" * 20000)),
    ("space before a colon", raw(b"GET /hello.txt HTTP/1.1", b"Host : t")),
    ("obs-fold", raw(b"GET /hello.txt HTTP/1.1", HOST, b"X: a", b" b")),
    ("a header without a colon", raw(b"GET /hello.txt HTTP/1.1", HOST, b"Junk")),
    ("CL and TE", raw(b"POST /hello.txt HTTP/1.1", HOST, b"Content-Length: 5", b"Transfer-Encoding: chunked",
                      body=b"0\r\n\r\n")),
    ("two Content-Lengths", raw(b"POST /hello.txt HTTP/1.1", HOST, b"Content-Length: 1", b"Content-Length: 2",
                                body=b"ab")),
    ("a signed Content-Length", raw(b"POST /hello.txt HTTP/1.1", HOST, b"Content-Length: +2", body=b"ab")),
    ("a huge Content-Length", raw(b"POST /hello.txt HTTP/1.1", HOST, b"Content-Length: 99999999999")),
    ("Transfer-Encoding gzip", raw(b"POST /hello.txt HTTP/1.1", HOST, b"Transfer-Encoding: gzip")),
    ("Expect 100-continue on GET", raw(b"GET /hello.txt HTTP/1.1", HOST, b"Expect: 100-continue")),
    ("absolute-form with a port", raw(b"GET http://t:80/hello.txt HTTP/1.1", HOST)),
    ("asterisk with GET", raw(b"GET * HTTP/1.1", HOST)),
    ("a NUL in the target", raw(b"GET /hel\x00lo.txt HTTP/1.1", HOST)),
    ("a control byte in a header value", raw(b"GET /hello.txt HTTP/1.1", HOST, b"X: a\x01b")),
    ("a bare LF request", b"GET /hello.txt HTTP/1.1\nHost: t\nConnection: close\n\n"),
]

# name -> why the answers may differ (each compared part is then skipped for that request).
ALLOWED = {
    "GET a directory with no index":
        "nginx 403 (a directory it may not list), we 404 (there is no page): both refuse",
    "GET a symlink out of the root":
        "nginx follows symlinks out of its root by default; we refuse them (docs/httpd.md)",
    "Range two ranges":
        "nginx answers multipart/byteranges; we send the whole file (200), as RFC 9110 14.2 allows",
    "Range on HEAD":
        "nginx answers a HEAD's Range with 206; RFC 9110 14.2 says a server MUST ignore Range on any "
        "method but GET: we do",
    "Range on an empty file":
        "nginx ignores it (200); we say 416: no byte of an empty file can be sent (RFC 9110 14.1.1)",
    "an unknown method":
        "nginx 405 on a static location; we 501, a method we do not implement (RFC 9110 15.6.2)",
    "a lowercase method": "nginx 400, we 501 (a well-formed token we do not implement): both refuse",
    "HTTP/0.9 style": "nginx answers as HTTP/0.9 (a bare body, no head); we answer 400",
    "a path of 5 KiB": "nginx 404; we 414, a target longer than any path we would open",
    "two spaces": "nginx parses on whitespace (RFC 9112 3 allows it); we refuse: a smuggling surface",
    "a header of 20 KiB": "nginx 400 (its 'Request Header Or Cookie Too Large'); we 431 (RFC 6585)",
    "a header without a colon": "nginx ignores the line; we refuse an invalid field line (400)",
    "a bare LF request": "nginx accepts LF line ends; we refuse them: LF-only framing is a smuggling vector",
    "a control byte in a header value": "nginx accepts it; we refuse control bytes (RFC 9110 5.5)",
    "Transfer-Encoding gzip":
        "nginx 501; RFC 9112 6.3 says a server MUST answer 400 when chunked is not the final coding: we do",
}
# Parts compared, and the parts never compared (each server's own).
COMPARED_HEADERS = ("content-range",)  # and, for 200 and 206, Content-Length and the body


def fetch(port, data, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got = b""
    try:
        try:
            s.sendall(data)
        except OSError:
            pass
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            got += b
    except socket.timeout:
        pass
    finally:
        s.close()
    while re.match(rb"HTTP/1\.1 1\d\d ", got):  # an interim answer (100 Continue): the final one follows
        got = got[got.find(b"\r\n\r\n") + 4:]
    end = got.find(b"\r\n\r\n")
    if end < 0:
        return None, {}, got
    lines = got[:end].decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return None, {}, got
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    body = got[end + 4:]
    if "content-length" in hdrs:
        body = body[:int(hdrs["content-length"])]
    return status, hdrs, body


def location_path(v):
    return re.sub(r"^https?://[^/]*", "", v) if v else v


def validators(port):
    st, hd, _ = fetch(port, raw(b"GET /big.bin HTTP/1.1", HOST))
    return hd.get("etag", "").encode(), hd.get("last-modified", "").encode()


def compare(name, ours, theirs):
    (s1, h1, b1), (s2, h2, b2) = ours, theirs
    why = []
    if s1 != s2:
        why.append(f"status {s1} vs nginx {s2}")
    elif s1 is not None and s1 < 400:
        # Error pages, redirects' bodies and a 304's optional Content-Length (RFC 9110 15.4.5)
        # are each server's own; the bytes of what was asked for are not.
        keys = COMPARED_HEADERS + (("content-length",) if s1 in (200, 206) else ())
        for k in keys:
            if h1.get(k) != h2.get(k):
                why.append(f"{k}: {h1.get(k)!r} vs nginx {h2.get(k)!r}")
        if location_path(h1.get("location")) != location_path(h2.get("location")):
            why.append(f"location {h1.get('location')!r} vs nginx {h2.get('location')!r}")
        if s1 in (200, 206) and b1 != b2:
            why.append(f"body {len(b1)} bytes vs nginx {len(b2)}")
    return why


def main():
    h.setup(sys.argv[1], sys.argv[2])
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    top = tempfile.mkdtemp(prefix="rx-nginx-")
    nginx = None
    try:
        root = make_docroot(top)
        port = free_port()
        conf = os.path.join(top, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(tmp=top, port=port, root=root))
        if not os.path.exists(nginx_bin):
            check("nginx is installed (Debian's nginx-light; scripts/test.sh installs it)", False, nginx_bin)
            return
        nginx = subprocess.Popen([nginx_bin, "-c", conf, "-p", top], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if nginx.poll() is not None:
                    break
                time.sleep(0.05)
        if nginx.poll() is not None:
            check("nginx starts", False, nginx.stderr.read().decode()[-500:])
            return
        srv = Server("--root", root, "--quiet")
        ours_v, theirs_v = validators(srv.port), validators(port)
        same, allowed_diff, bad = 0, 0, []
        for name, data in REQUESTS:
            def fill(v):
                return data.replace(b"{etag}", v[0]).replace(b"{lm}", v[1])
            ours = fetch(srv.port, fill(ours_v))
            theirs = fetch(port, fill(theirs_v))
            why = compare(name, ours, theirs)
            if not why:
                same += 1
            elif name in ALLOWED:
                allowed_diff += 1
                print(f"# allowed difference, {name}: {'; '.join(why)} ({ALLOWED[name]})", flush=True)
            else:
                bad.append(f"{name}: {'; '.join(why)}")
        print(f"# {len(REQUESTS)} requests: {same} answered alike, {allowed_diff} allowed differences, "
              f"{len(bad)} other differences", flush=True)
        for b in bad:
            print(f"# differs: {b}", flush=True)
        check(f"{len(REQUESTS)} requests answered as nginx answers them, but for the allowed differences",
              not bad and len(REQUESTS) >= 90, "; ".join(bad))
        srv.stop("reactor-httpd beside nginx")
    finally:
        if nginx and nginx.poll() is None:
            nginx.send_signal(signal.SIGQUIT)
            try:
                nginx.wait(timeout=5)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait()
        h.stop_all()
        shutil.rmtree(top, ignore_errors=True)
    print(f"{h.BACKEND}: {h.passed()} passed, {len(h.failures)} failed", flush=True)
    sys.exit(1 if h.failures else 0)


if __name__ == "__main__":
    main()
