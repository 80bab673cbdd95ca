#!/usr/bin/env python3
"""Hostile and ambiguous input against reactor-httpd on one backend.

usage: test_http_hostile.py PATH-TO-reactor-httpd BACKEND

A corpus of malformed or ambiguous messages, each with the answer we give and
why (request smuggling shapes first: a server and a proxy in front of it must
never disagree on where a request ends). Then Python's h11, an HTTP/1.1
implementation we did not write, reads a pipelined stream of our answers as a
client would, as a second opinion on their framing.
Every wait is bounded; only the server started here is signalled, by its PID.
"""
import os
import socket
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpd_harness as h  # noqa: E402
from httpd_harness import HELLO, Server, check  # noqa: E402

H, CLOSE = b"Host: t", b"Connection: close"  # header lines for req()
HL, CLOSEL = H + b"\r\n", CLOSE + b"\r\n"  # the same, ended, for raw requests
GET_NEXT = b"GET / HTTP/1.1\r\n" + HL + CLOSEL + b"\r\n"  # a request behind the one tested


def req(line, *headers, body=b""):
    return line + b"\r\n" + b"".join(x + b"\r\n" for x in headers) + b"\r\n" + body


# (name, bytes sent, the statuses answered in order, whether the server then closes, why).
# A status list shorter than the requests sent means the rest were not answered: the
# server closed because it cannot know where the next request starts.
CORPUS = [
    # ---- Content-Length / Transfer-Encoding: request smuggling (RFC 9112 6.1, 6.3)
    ("CL and TE together", req(b"POST / HTTP/1.1", H, b"Content-Length: 5", b"Transfer-Encoding: chunked",
                                body=b"0\r\n\r\n") + GET_NEXT, [400], True,
     "two framings: a proxy may use the other one; refuse and close (6.1)"),
    ("TE and CL, the other order", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked",
                                       b"Content-Length: 5", body=b"0\r\n\r\n") + GET_NEXT, [400], True,
     "same, whichever comes first"),
    ("two different Content-Lengths", req(b"POST / HTTP/1.1", H, b"Content-Length: 1", b"Content-Length: 2",
                                          body=b"ab") + GET_NEXT, [400], True, "which one? (6.3 item 5)"),
    ("two equal Content-Lengths", req(b"POST / HTTP/1.1", H, b"Content-Length: 2", b"Content-Length: 2",
                                      body=b"ab") + GET_NEXT, [405, 200], True,
     "repeats of one value are allowed (RFC 9110 8.6)"),
    ("Content-Length list", req(b"POST / HTTP/1.1", H, b"Content-Length: 2, 2", body=b"ab") + GET_NEXT,
     [400], True, "we accept only digits: a list is where parsers disagree"),
    ("signed Content-Length", req(b"POST / HTTP/1.1", H, b"Content-Length: +2", body=b"ab") + GET_NEXT,
     [400], True, "1*DIGIT only"),
    ("negative Content-Length", req(b"POST / HTTP/1.1", H, b"Content-Length: -1") + GET_NEXT, [400], True,
     "1*DIGIT only"),
    ("hex Content-Length", req(b"POST / HTTP/1.1", H, b"Content-Length: 0x2", body=b"ab") + GET_NEXT, [400],
     True, "1*DIGIT only"),
    ("Content-Length with an inner space", req(b"POST / HTTP/1.1", H, b"Content-Length: 1 2") + GET_NEXT,
     [400], True, "1*DIGIT only"),
    ("empty Content-Length", req(b"POST / HTTP/1.1", H, b"Content-Length:") + GET_NEXT, [400], True,
     "1*DIGIT only"),
    ("huge Content-Length", req(b"POST / HTTP/1.1", H, b"Content-Length: 99999999999999999999999") + GET_NEXT,
     [413], True, "over the 1 MiB limit, without overflowing"),
    ("leading zeros in Content-Length", req(b"POST / HTTP/1.1", H, b"Content-Length: 002", body=b"ab")
     + GET_NEXT, [405, 200], True, "still 1*DIGIT: the value is 2"),
    ("space before the colon of Transfer-Encoding", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding : chunked",
                                                        body=b"0\r\n\r\n") + GET_NEXT, [400], True,
     "RFC 9112 5.1: a server MUST reject it; a lenient proxy might read chunked"),
    ("Transfer-Encoding in HTTP/1.0", req(b"POST / HTTP/1.0", b"Transfer-Encoding: chunked",
                                          body=b"0\r\n\r\n") + GET_NEXT, [400], True,
     "a 1.0 message with TE has faulty framing (RFC 9112 6.1)"),
    ("Transfer-Encoding not ending in chunked", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: identity")
     + GET_NEXT, [400], True, "the body's length would be unknown: refuse (6.3 item 4)"),
    ("Transfer-Encoding xchunked", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: xchunked") + GET_NEXT,
     [400], True, "not chunked, so the framing is unknown"),
    ("Transfer-Encoding gzip, chunked", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: gzip, chunked",
                                            body=b"0\r\n\r\n") + GET_NEXT, [501], True,
     "a coding we do not implement (RFC 9112 6.1: 501)"),
    ("Transfer-Encoding chunked, chunked", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked, chunked",
                                               body=b"0\r\n\r\n") + GET_NEXT, [501], True,
     "chunked twice is not a coding we implement"),
    ("Transfer-Encoding with a tab", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding:\tchunked",
                                         body=b"0\r\n\r\n") + GET_NEXT, [405, 200], True,
     "a tab is optional whitespace: this is chunked"),
    ("chunked size that overflows", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked",
                                        body=b"FFFFFFFFFFFFFFFFFFFFFF\r\n") + GET_NEXT, [413], True,
     "no wrap-around to a small size"),
    ("chunked size 0x5", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked", body=b"0x5\r\nhello\r\n0\r\n\r\n")
     + GET_NEXT, [400], True, "chunk-size is 1*HEXDIG"),
    ("chunked negative size", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked", body=b"-5\r\n")
     + GET_NEXT, [400], True, "chunk-size is 1*HEXDIG"),
    ("chunked bare LF after the size", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked",
                                           body=b"5\nhello\r\n0\r\n\r\n") + GET_NEXT, [400], True,
     "a parser that takes LF alone would frame it differently"),
    ("chunked data longer than its size", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked",
                                              body=b"3\r\nhello\r\n0\r\n\r\n") + GET_NEXT, [400], True,
     "the CRLF must follow the data"),
    ("chunked extension with a control byte", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked",
                                                  body=b"5;a\x00b\r\nhello\r\n0\r\n\r\n") + GET_NEXT, [400], True,
     "no control bytes in an extension"),
    ("chunked body with an extension and a trailer", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked",
                                                         body=b"5;x=1\r\nhello\r\n0\r\nT: v\r\n\r\n") + GET_NEXT,
     [405, 200], True, "valid: both are skipped"),
    ("GET with a Content-Length body", req(b"GET / HTTP/1.1", H, b"Content-Length: 4", body=b"abcd") + GET_NEXT,
     [200, 200], True, "a GET body has no meaning (RFC 9110 9.3.1) but is framed: skipped"),
    # ---- the request line (RFC 9112 3)
    ("two spaces after the method", b"GET  / HTTP/1.1\r\n" + HL + b"\r\n", [400], True, "exactly one SP"),
    ("tabs as separators", b"GET\t/\tHTTP/1.1\r\n" + HL + b"\r\n", [400], True, "SP only"),
    ("lowercase version", b"GET / http/1.1\r\n" + HL + b"\r\n", [400], True, "HTTP-name is case-sensitive"),
    ("space after the version", b"GET / HTTP/1.1 \r\n" + HL + b"\r\n", [400], True, "nothing after it"),
    ("no version (HTTP/0.9 style)", b"GET /\r\n\r\n", [400], True, "we do not speak HTTP/0.9"),
    ("HTTP/0.9", b"GET / HTTP/0.9\r\n\r\n", [505], True, "a version we do not implement"),
    ("HTTP/2.0 on a 1.1 port", b"GET / HTTP/2.0\r\n" + HL + b"\r\n", [505], True, "505 (RFC 9110 15.6.6)"),
    ("HTTP/2 connection preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", [505], True, "no h2c"),
    ("HTTP/1.10", b"GET / HTTP/1.10\r\n" + HL + b"\r\n", [400], True, "one digit each side of the dot"),
    ("HTTP/1.7", b"GET / HTTP/1.7\r\n" + HL + CLOSEL + b"\r\n", [200], True, "a later 1.x is 1.1 (RFC 9110 2.5)"),
    ("unknown method", b"BREW / HTTP/1.1\r\n" + HL + b"\r\n", [501], True, "well-formed but not implemented"),
    ("lowercase method", b"get / HTTP/1.1\r\n" + HL + b"\r\n", [501], True, "methods are case-sensitive"),
    ("a non-token byte in the method", b"GE(T / HTTP/1.1\r\n" + HL + b"\r\n", [400], True, "method is a token"),
    ("a relative target", b"GET foo HTTP/1.1\r\n" + HL + b"\r\n", [400], True, "origin-form starts with /"),
    ("asterisk target with GET", b"GET * HTTP/1.1\r\n" + HL + b"\r\n", [400], True, "* is for OPTIONS only"),
    ("NUL in the target", b"GET /a\x00b HTTP/1.1\r\n" + HL + b"\r\n", [400], True, "visible ASCII only"),
    ("DEL in the target", b"GET /a\x7fb HTTP/1.1\r\n" + HL + b"\r\n", [400], True, "visible ASCII only"),
    ("a request line over 8 KiB", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + HL + b"\r\n", [414], True,
     "414 (RFC 9112 3: a server limits it)"),
    ("whitespace before the request line", b" GET / HTTP/1.1\r\n" + HL + b"\r\n", [400], True,
     "a line starting with whitespace could be a continuation"),
    ("two empty lines first", b"\r\n\r\n" + b"GET / HTTP/1.1\r\n" + HL + CLOSEL + b"\r\n", [200], True,
     "empty lines before a request are skipped (RFC 9112 2.2)"),
    ("ten empty lines first", b"\r\n" * 10 + b"GET / HTTP/1.1\r\n" + HL + b"\r\n", [400], True,
     "a bounded number only: a client sending more is broken"),
    ("a TLS ClientHello", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 32, [400], True,
     "HTTPS to a plain port"),
    ("absolute-form target", b"GET http://t/ HTTP/1.1\r\n" + HL + CLOSEL + b"\r\n", [200], True,
     "a server MUST accept it (RFC 9112 3.2.2)"),
    ("absolute-form https target", b"GET https://t/ HTTP/1.1\r\n" + HL + CLOSEL + b"\r\n", [200], True,
     "likewise"),
    # ---- header fields (RFC 9112 5, RFC 9110 5)
    ("obs-fold", req(b"GET / HTTP/1.1", H, b"X: a", b" b"), [400], True,
     "RFC 9112 5.2: reject (or replace with SP); we reject"),
    ("space before a colon", req(b"GET / HTTP/1.1", b"Host : t"), [400], True, "RFC 9112 5.1: MUST 400"),
    ("bare CR in a value", req(b"GET / HTTP/1.1", H, b"X: a\rb"), [400], True, "CR only before LF"),
    ("bare LF line ends", b"GET / HTTP/1.1\n" + b"Host: t\n\n", [400], True,
     "we require CRLF: LF-only framing differs between parsers"),
    ("NUL in a value", req(b"GET / HTTP/1.1", H, b"X: a\x00b"), [400], True, "no control bytes"),
    ("a non-token byte in a name", req(b"GET / HTTP/1.1", H, b"X(: y"), [400], True, "field-name is a token"),
    ("empty header name", req(b"GET / HTTP/1.1", H, b": v"), [400], True, "field-name is a token"),
    ("header line without a colon", req(b"GET / HTTP/1.1", H, b"Junk"), [400], True, "not a field line"),
    ("obs-text in a value", req(b"GET / HTTP/1.1", H, CLOSE, b"X: caf\xe9"), [200], True,
     "obs-text is allowed in values (RFC 9110 5.5)"),
    ("101 header fields", req(b"GET / HTTP/1.1", H, *[b"X%d: v" % i for i in range(100)]), [431], True,
     "at most 100"),
    ("100 header fields", req(b"GET / HTTP/1.1", H, CLOSE, *[b"X%d: v" % i for i in range(98)]), [200], True,
     "proxies add headers: 100 fit"),
    ("a head over 16 KiB", req(b"GET / HTTP/1.1", H, b"X: " + b"v" * 17000), [431], True, "head limit"),
    # ---- Host (RFC 9112 3.2, RFC 9110 7.2)
    ("no Host in 1.1", b"GET / HTTP/1.1\r\n\r\n", [400], True, "MUST 400"),
    ("two Hosts", req(b"GET / HTTP/1.1", H, b"Host: u"), [400], True, "MUST 400"),
    ("Host with a space", req(b"GET / HTTP/1.1", b"Host: a b"), [400], True, "not a uri-host"),
    ("empty Host", req(b"GET / HTTP/1.1", b"Host:"), [400], True, "not a uri-host"),
    ("Host with userinfo", req(b"GET / HTTP/1.1", b"Host: u@t"), [400], True,
     "userinfo is not allowed in Host"),
    ("Host with a path", req(b"GET / HTTP/1.1", b"Host: t/x"), [400], True, "not a uri-host"),
    ("Host with a bad port", req(b"GET / HTTP/1.1", b"Host: t:8o"), [400], True, "port is *DIGIT"),
    ("Host IPv6 literal", req(b"GET / HTTP/1.1", b"Host: [::1]:80", CLOSE), [200], True, "valid"),
    ("Host unclosed IPv6 literal", req(b"GET / HTTP/1.1", b"Host: [::1"), [400], True, "not a uri-host"),
    # ---- connection management
    ("Connection: close then another request", req(b"GET / HTTP/1.1", H, CLOSE) + req(b"GET / HTTP/1.1", H),
     [200], True, "nothing is answered after a close (RFC 9112 9.6)"),
    ("HTTP/1.0 then another request", b"GET / HTTP/1.0\r\n\r\n" + GET_NEXT, [200], True,
     "1.0 closes unless it asks for keep-alive"),
    ("Expect: 100-continue without a body", req(b"GET / HTTP/1.1", H, CLOSE, b"Expect: 100-continue"), [200],
     True, "nothing to wait for: answered"),
]


def statuses(data):
    """The statuses of the answers in data, framed by Content-Length (every answer here has one)."""
    out, pos = [], 0
    while True:
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            return out, data[pos:]
        head = data[pos:end].decode("latin-1").split("\r\n")
        out.append(int(head[0].split()[1]))
        n = 0
        for line in head[1:]:
            k, _, v = line.partition(":")
            if k.lower() == "content-length":
                n = int(v)
        pos = end + 4 + n


def send_and_read(srv, data, timeout=5.0):
    """Sends data (what the server will not read may be refused), then reads to the end;
    returns the bytes and whether the server closed."""
    s = srv.conn(timeout=timeout)
    got = b""
    try:
        try:
            s.sendall(data)
        except OSError:
            pass  # an answer and a close before we were done
        while True:
            b = s.recv(65536)
            if not b:
                return got, True
            got += b
    except socket.timeout:
        return got, False
    except OSError:
        return got, True  # a reset: closed too, after what came
    finally:
        s.close()


def test_corpus(srv):
    assert len(CORPUS) >= 50
    for name, data, want, closes, why in CORPUS:
        got, closed = send_and_read(srv, data)
        st, rest = statuses(got)
        check(f"{name}: {want}{' and close' if closes else ''} ({why})", st == want and closed == closes
              and not rest, f"got {st}, closed {closed}, {len(rest)} stray bytes")


def test_h11_reads_our_pipelined_answers(srv):
    """Each answer of a pipelined stream, read by h11 as the client of its request: the bytes
    h11 leaves over after one answer must be exactly the next one."""
    try:
        import h11
    except ImportError:  # Debian's python3-h11 is pure Python: usable from another Python 3
        sys.path.append("/usr/lib/python3/dist-packages")
        import h11
    reqs = [
        (h11.Request(method="GET", target="/", headers=[("Host", "t")]), b""),
        (h11.Request(method="HEAD", target="/", headers=[("Host", "t")]), b""),
        (h11.Request(method="GET", target="/nope", headers=[("Host", "t")]), b""),
        (h11.Request(method="POST", target="/", headers=[("Host", "t"), ("Content-Length", "5")]), b"hello"),
        (h11.Request(method="POST", target="/", headers=[("Host", "t"), ("Transfer-Encoding", "chunked")]),
         b"abc"),
        (h11.Request(method="HEAD", target="/nope", headers=[("Host", "t")]), b""),
        (h11.Request(method="GET", target="/", headers=[("Host", "t"), ("Connection", "close")]), b""),
    ]
    wire = b""
    for r, body in reqs:
        c = h11.Connection(h11.CLIENT)
        wire += c.send(r)
        if body:
            wire += c.send(h11.Data(data=body))
        wire += c.send(h11.EndOfMessage())
    got, closed = send_and_read(srv, wire)
    want = [(200, HELLO), (200, b""), (404, None), (405, None), (405, None), (404, b""), (200, HELLO)]
    buf, ok, detail = got, True, []
    for (r, body), (status, wbody) in zip(reqs, want):
        c = h11.Connection(h11.CLIENT)
        c.send(r)
        if body:
            c.send(h11.Data(data=body))
        c.send(h11.EndOfMessage())
        c.receive_data(buf)
        resp, data = None, b""
        try:
            while True:
                ev = c.next_event()
                if isinstance(ev, h11.Response):
                    resp = ev
                elif isinstance(ev, h11.Data):
                    data += ev.data
                elif isinstance(ev, h11.EndOfMessage):
                    break
                elif ev is h11.NEED_DATA:
                    raise h11.RemoteProtocolError("answer cut short")
        except h11.RemoteProtocolError as e:
            ok = False
            detail.append(f"{r.method.decode()} {r.target.decode()}: h11: {e}")
            break
        if not resp or resp.status_code != status or (wbody is not None and data != wbody):
            ok = False
            detail.append(f"{r.method.decode()} {r.target.decode()}: {resp and resp.status_code} {data[:30]!r}")
        buf = c.trailing_data[0]
    check("h11 reads the 7 pipelined answers, each framed exactly, then the close",
          ok and not buf and closed, detail or f"{len(buf)} bytes left over, closed {closed}")


def main():
    h.setup(sys.argv[1], sys.argv[2])
    try:
        srv = Server("--quiet")
        test_corpus(srv)
        test_h11_reads_our_pipelined_answers(srv)
        srv.stop("hostile-input server")
    finally:
        h.stop_all()
    print(f"{h.BACKEND}: {h.passed()} passed, {len(h.failures)} failed", flush=True)
    sys.exit(1 if h.failures else 0)


if __name__ == "__main__":
    main()
