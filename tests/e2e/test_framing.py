"""HTTP/1.1 framing (RFC 9112; issue 12, item 8): requests a proxy in front
could read otherwise than the server (request smuggling) are refused with
400 problem+json and the connection closed; a transfer coding the server
does not do answers 501 at once; the absolute form is served; a 304 carries
no wrong Content-Length; a request without Host gets one answer, not two.

Every case speaks raw bytes on a socket, and every wait is bounded."""

import socket
import time

from harness import HOST, Server, server, slow, assert_problem, parse_raw_response

EVAL = "/v1/eligibility:evaluate"
BODY = b'{"person":{"mynumber_card":"none"}}'
PERSON = (b'{"birth_date":"1960-04-01","insurer_number":"138057",'
          b'"mynumber_card":"none","verified_at":"2026-01-05"}')


def talk(port, data, wait=None, expect=None):
    """Sends data on a new connection and reads until the server closes it
    or `wait` seconds pass -> (bytes read, closed by the server?).  With
    expect=N it stops as soon as N whole answers are in (the connection
    kept alive), waiting up to slow(10) for them: a first request on a
    store connection (a PostgreSQL backend starting) may take a while on a
    loaded machine."""
    if expect is not None and wait is None:
        wait = slow(10)
    wait = wait if wait is not None else slow(3)
    s = socket.create_connection((HOST, port), timeout=wait)
    buf, closed = b"", False
    deadline = time.monotonic() + wait
    try:
        s.sendall(data)
        while time.monotonic() < deadline:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            buf += chunk
            if expect is not None and whole_answers(buf) >= expect:
                break
    finally:
        s.close()
    return buf, closed


def whole_answers(raw):
    """How many answers raw holds complete (head and Content-Length body)."""
    n = 0
    while raw.startswith(b"HTTP/"):
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            break
        r = parse_raw_response(raw[:end + 4])
        size = 0 if r.status == 304 else int(r.headers.get("Content-Length") or 0)
        if len(raw) < end + 4 + size:
            break
        n += 1
        raw = raw[end + 4 + size:]
    return n


def responses(raw):
    """The responses in raw, one after the other (by Content-Length)."""
    out = []
    while raw:
        end = raw.find(b"\r\n\r\n")
        if end < 0 or not raw.startswith(b"HTTP/"):
            break
        r = parse_raw_response(raw)
        n = int(r.headers.get("Content-Length") or 0)
        if r.status == 304:     # never a body, whatever Content-Length says
            n, r.body = 0, b""
        out.append(r)
        raw = raw[end + 4 + n:]
    return out


def status_lines(raw):
    return sum(1 for line in raw.split(b"\r\n") if line.startswith(b"HTTP/1."))


def refused_and_closed(port, data, status=400, code="invalid_request", wait=None):
    """One problem+json answer of that status, then the server closes."""
    raw, closed = talk(port, data, wait)
    rs = responses(raw)
    assert len(rs) == 1 and status_lines(raw) == 1, \
        "expected one answer, got %d: %r" % (status_lines(raw), raw[:600])
    assert_problem(rs[0], status, code)
    assert (rs[0].headers.get("Connection") or "").lower() == "close", rs[0].headers
    assert closed, "the connection stayed open after %r" % raw[:200]
    return rs[0]


def test_content_length_with_transfer_encoding_is_400_and_closed():
    """RFC 9112 §6.3: both framings at once is a smuggling attempt through
    a proxy that reads the other one.  The request that follows in the same
    bytes is never answered."""
    s = server()
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    for te in (b"chunked", b"gzip"):
        data = (b"POST " + EVAL.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 5\r\n"
                b"Transfer-Encoding: " + te + b"\r\n\r\n0\r\n\r\n" + smuggled)
        r = refused_and_closed(s.port, data)
        assert "Transfer-Encoding" in r.json["detail"], r.json


def test_two_host_fields_are_400():
    s = server()
    for second in (b"localhost", b"127.0.0.1"):
        data = (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: " + second +
                b"\r\n\r\n")
        r = refused_and_closed(s.port, data)
        assert "Host" in r.json["detail"], r.json


def test_unknown_transfer_coding_is_501_at_once():
    """Not a 30 s wait for a body read to the end of the connection: 501
    problem+json at once, as nginx answers; a malformed list is a 400."""
    s = server()
    head = (b"POST " + EVAL.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n")
    for te in (b"gzip", b"gzip, chunked", b"deflate", b"x-custom"):
        t0 = time.monotonic()
        refused_and_closed(s.port, head + b"Transfer-Encoding: " + te + b"\r\n\r\n",
                           status=501, code="not_implemented")
        assert time.monotonic() - t0 < slow(2), te
    for te in (b"chunked, chunked", b"chunked,", b""):
        refused_and_closed(s.port, head + b"Transfer-Encoding: " + te + b"\r\n\r\n")
    # two fields count as one list: "chunked, gzip"
    refused_and_closed(s.port, head + b"Transfer-Encoding: chunked\r\n"
                       b"Transfer-Encoding: gzip\r\n\r\n", status=501, code="not_implemented")
    # chunked alone is still read (and the connection kept)
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY)
    raw, _ = talk(s.port, head + b"Transfer-Encoding: chunked\r\n\r\n" + body, expect=1)
    rs = responses(raw)
    assert len(rs) == 1 and rs[0].status == 200, raw[:300]


def test_absolute_form_is_served():
    """RFC 9112 §3.2.2: a server must accept the absolute form; the path is
    the URL's, and its host stands for Host (here: --no-auth's loopback
    check reads it).  Keep-alive and pipelining go on working."""
    s = server()
    raw, _ = talk(s.port, b"GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Connection: close\r\n\r\n")
    rs = responses(raw)
    assert len(rs) == 1 and rs[0].status == 200 and rs[0].json["status"] == "ok", raw[:300]
    # with a port, a query, upper-case scheme, and a POST with a body
    data = (b"POST HTTP://localhost:8080" + EVAL.encode() + b"?lang=en HTTP/1.1\r\n"
            b"Host: localhost:8080\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY) +
            b"GET http://[::1]/healthz HTTP/1.1\r\nHost: [::1]\r\n\r\n"
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    raw, _ = talk(s.port, data)
    rs = responses(raw)
    assert [r.status for r in rs] == [200, 200, 200], raw[:500]
    assert rs[0].json.get("certificate"), rs[0].json
    # the target's host is checked, not Host (RFC 9112 §3.2.2)
    raw, _ = talk(s.port, b"GET http://evil.example/healthz HTTP/1.1\r\n"
                  b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert_problem(responses(raw)[0], 421, "misdirected_request")
    raw, _ = talk(s.port, b"GET http://127.0.0.1:1/healthz HTTP/1.1\r\n"
                  b"Host: evil.example\r\nConnection: close\r\n\r\n")
    assert responses(raw)[0].status == 200, raw[:300]
    # no host, or a userinfo: 400
    for target in (b"http:///healthz", b"http://user@127.0.0.1/healthz"):
        refused_and_closed(s.port, b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")


def test_304_carries_no_wrong_content_length():
    """RFC 9110 §8.6: a 304 may carry Content-Length only as the length the
    200 would have had (libmicrohttpd wrote 0)."""
    s = server()
    put = (b"PUT /v1/persons/framing-304 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
           % (len(PERSON), PERSON))
    get = b"GET /v1/persons/framing-304 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    raw, _ = talk(s.port, put + get, expect=2)
    rs = responses(raw)
    assert [r.status for r in rs] == [201, 200], raw[:400]
    tag = rs[1].headers["ETag"]
    length = len(rs[1].body)
    cond = (b"GET /v1/persons/framing-304 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"If-None-Match: " + tag.encode() + b"\r\n\r\n")
    # two in a row on one connection, then a plain GET: keep-alive holds
    raw, _ = talk(s.port, cond + cond + get, expect=3)
    rs = responses(raw)
    assert [r.status for r in rs] == [304, 304, 200], raw[:600]
    for r in rs[:2]:
        cl = r.headers.get("Content-Length")
        assert cl is None or int(cl) == length, \
            "a 304 with Content-Length %s; the 200's body has %d bytes" % (cl, length)
        assert r.headers.get("ETag") == tag and not r.body, r


def test_nul_in_a_header_value_is_400():
    """libmicrohttpd took a value up to its NUL: `Host: 127.0.0.1\\0.evil`
    passed --no-auth's loopback check, `X-Request-Id: abc\\0def` was echoed
    as abc."""
    s = server()
    for field in (b"X-Request-Id: abc\x00def", b"Host: 127.0.0.1\x00.evil.example",
                  b"Accept: application/json\x00", b"X-Other: \x00"):
        host = b"" if field.startswith(b"Host") else b"Host: 127.0.0.1\r\n"
        r = refused_and_closed(s.port, b"GET /healthz HTTP/1.1\r\n" + host + field + b"\r\n\r\n")
        assert "NUL" in r.json["detail"], r.json


def test_folded_header_is_400():
    """RFC 9112 §5.2: obsolete line folding is refused with 400
    (libmicrohttpd 0.9.75 glued the continuation to the field's name)."""
    s = server()
    refused_and_closed(s.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"X-Request-Id: abc\r\n def\r\n\r\n")
    refused_and_closed(s.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Accept: application/json\r\n\tq=1\r\nX-Other: 1\r\n\r\n")


def test_nul_or_space_in_the_target_is_400():
    """A NUL in the target cut it short (/healthz\\0xyz served /healthz); a
    space in it was a silent close."""
    s = server()
    for target in (b"/healthz\x00xyz", b"/v1/persons/a\x00b", b"/heal thz", b"/healthz\x01"):
        refused_and_closed(s.port, b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")


def test_missing_host_answers_once():
    """HTTP/1.1 without Host: one 400 problem+json (libmicrohttpd's own
    answer sent its status line and headers twice); HTTP/1.0 without Host is
    still answered."""
    s = server()
    r = refused_and_closed(s.port, b"GET /healthz HTTP/1.1\r\n\r\n")
    assert "Host" in r.json["detail"], r.json
    raw, _ = talk(s.port, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert responses(raw)[0].status == 200, raw[:300]


def test_framing_refusals_with_keys():
    """The same refusals on a server with keys, before authentication: the
    framing is refused whoever asks."""
    with Server(no_auth=False) as s:
        refused_and_closed(s.port, b"GET /v1/rules HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        refused_and_closed(s.port, b"POST " + EVAL.encode() + b" HTTP/1.1\r\nHost: a\r\n"
                           b"Transfer-Encoding: gzip\r\n\r\n", status=501, code="not_implemented")
        raw, _ = talk(s.port, b"GET http://shikaku.example/healthz HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n")
        assert responses(raw)[0].status == 200, raw[:300]
