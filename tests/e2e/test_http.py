"""HTTP behaviour end to end (SPEC §8, §9; issue 11 items 6, 10, 12, 13):

- a body over the limit: the client reads its 413 problem before the
  connection closes (lingering close, as nginx does), with Python's
  http.client and with a raw socket that keeps sending; a chunked body is
  answered once it passes the limit, not read to its end; the lingering
  is bounded in bytes and time and holds up nobody else;
- --no-auth answers only Host localhost, 127.0.0.1 and [::1] (421 problem
  otherwise, against DNS rebinding); with keys any Host is answered;
- a 403 names the role the route needs;
- /metrics counts a request under its route whatever its status (a 401
  too).

The module's shared server runs with --no-auth (the harness default);
tests that need keys start their own."""

import atexit
import http.client
import json
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest

import harness
from harness import HOST, Server, assert_problem, parse_raw_response, run_cli, server, slow

EVAL = "/v1/eligibility:evaluate"
LIMIT = 1 << 20                 # the default --max-body
MiB = 1 << 20
FACTS = {"birth_date": "1950-04-01", "insurer_number": "138057",
         "mynumber_card": "held", "insurance_registration": "registered"}
NDJSON = "application/x-ndjson"
STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3}) ")

_keys = {}


def keys():
    """A database with a key of each role, made once for the module."""
    return harness.module_keys(_keys, "http")


def auth(role):
    return {"Authorization": "Bearer " + keys()[role]}


def keyed_server():
    return Server(no_auth=False, db_path=keys()["db"])


def http_client_post(port, path, body, headers=None, timeout=None):
    """One request with http.client as an integration would send it: the
    whole body first, then the answer read -> (status, headers, body)."""
    c = http.client.HTTPConnection(HOST, port, timeout=timeout or slow(30))
    try:
        c.request("POST", path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        c.close()


def problem_of(status, hdrs, body):
    return harness.Response(status, harness.Headers(hdrs), body)


def healthz_ok(port):
    c = http.client.HTTPConnection(HOST, port, timeout=slow(5))
    try:
        c.request("GET", "/healthz")
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def chunk(n):
    return b"%x\r\n" % n + b"a" * n + b"\r\n"


def send_and_watch(port, head, piece, max_bytes, deadline, pause=0.0, tail=b"",
                   while_lingering=None):
    """Sends head, then piece over and over (up to max_bytes, then tail),
    never waiting for the server, reading whatever it answers meanwhile;
    stops when the server closes (a send or read fails) or at deadline.

    -> dict: answer (bytes read), sent (body bytes sent), sent_at_answer
    (body bytes sent when the status line came), closed_after (seconds from
    the start to the reset, None if not closed), eof (a FIN was read).
    while_lingering: called once (in a thread) when the status line has
    come, its result in "during"."""
    s = socket.create_connection((HOST, port), timeout=slow(10))
    s.sendall(head)
    s.setblocking(False)
    t0 = time.monotonic()
    out = {"answer": b"", "sent": 0, "sent_at_answer": None, "closed_after": None,
           "eof": False, "during": None}
    pending = memoryview(piece)
    tail_left = memoryview(tail)
    helper = None
    try:
        while time.monotonic() - t0 < deadline:
            want_write = out["sent"] < max_bytes or len(tail_left) > 0
            r, w, _ = select.select([] if out["eof"] else [s],
                                    [s] if want_write else [], [], 0.2)
            if r:
                try:
                    d = s.recv(65536)
                except BlockingIOError:
                    d = None
                except OSError:
                    out["closed_after"] = time.monotonic() - t0
                    break
                if d == b"":
                    out["eof"] = True
                elif d:
                    out["answer"] += d
                    if out["sent_at_answer"] is None and b"\r\n" in out["answer"]:
                        out["sent_at_answer"] = out["sent"]
                        if while_lingering is not None:
                            helper = threading.Thread(
                                target=lambda: out.__setitem__("during", while_lingering()),
                                daemon=True)
                            helper.start()
            if not r and not want_write and out["eof"]:
                time.sleep(0.05)
            if w:
                try:
                    if out["sent"] < max_bytes:
                        n = s.send(pending)
                        out["sent"] += n
                        pending = pending[n:] if n < len(pending) else memoryview(piece)
                    else:
                        n = s.send(tail_left)
                        tail_left = tail_left[n:]
                except BlockingIOError:
                    pass
                except OSError:          # EPIPE / ECONNRESET: the server closed
                    out["closed_after"] = time.monotonic() - t0
                    break
                if pause:
                    time.sleep(pause)
    finally:
        s.close()
        if helper is not None:
            helper.join(slow(10))
    return out


def status_of(answer):
    m = STATUS_LINE.match(answer or b"")
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------------------
# Item 10: a body over the limit

def test_http_client_reads_the_413_of_a_10_mb_body():
    s = server()
    body = b'{"person":{},"pad":"' + b"a" * (10 * 1000 * 1000) + b'"}'
    for attempt in range(3):
        try:
            status, hdrs, data = http_client_post(
                s.port, EVAL, body, {"Content-Type": "application/json"})
        except OSError as e:      # BrokenPipeError, ConnectionResetError
            raise AssertionError("attempt %d: http.client got %r instead of the 413"
                                 % (attempt + 1, e))
        r = problem_of(status, hdrs, data)
        assert_problem(r, 413, "payload_too_large")
        assert r.headers.get("X-Request-Id"), r.headers
    # below the limit nothing changes: a keep-alive connection serves on
    c = http.client.HTTPConnection(HOST, s.port, timeout=slow(10))
    try:
        body = json.dumps({"person": FACTS}).encode()
        for _ in range(3):
            c.request("POST", EVAL, body=body, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            assert r.status == 200, r.status
            assert (r.getheader("Connection") or "").lower() != "close"
    finally:
        c.close()


def test_http_client_reads_the_413_of_a_too_large_import():
    # the streamed route has its own limit, refused the same way
    with Server(["--max-import-body", str(2 * MiB)]) as s:
        body = b'{"id":"h-1","facts":{}}\n' * (8 * MiB // 24)
        try:
            status, hdrs, data = http_client_post(
                s.port, "/v1/persons:import", body, {"Content-Type": NDJSON})
        except OSError as e:
            raise AssertionError("http.client got %r instead of the 413" % (e,))
        assert_problem(problem_of(status, hdrs, data), 413, "payload_too_large")
        assert s.get("/v1/persons/h-1").status == 404, "nothing of it is stored"


def test_raw_client_that_keeps_sending_reads_413_and_is_closed():
    """Content-Length of 1 GiB, sent as fast as the socket takes it without
    waiting for the answer: the 413 comes, the server goes on reading for
    a while (the client is not reset at once) and then closes, well
    before the gigabyte."""
    s = server()
    head = (b"POST " + EVAL.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (1 << 30))
    out = send_and_watch(s.port, head, b"a" * 65536, max_bytes=1 << 30,
                         deadline=slow(40))
    assert status_of(out["answer"]) == 413, "no 413 status line: %r" % out["answer"][:200]
    r = parse_raw_response(out["answer"])
    assert_problem(r, 413, "payload_too_large")
    assert (r.headers.get("Connection") or "").lower() == "close", r.headers
    assert out["closed_after"] is not None, \
        "the server never closed (sent %d bytes in %s s)" % (out["sent"], slow(40))
    # lingering: the client could go on sending past the limit...
    assert out["sent"] >= 10 * MiB, \
        "reset after %d bytes: the server closed without lingering" % out["sent"]
    # ... a bounded amount (64 MiB read after the answer, plus buffers)
    assert out["sent"] < 200 * MiB, "the server read %d bytes" % out["sent"]
    assert healthz_ok(s.port) == 200


def test_chunked_body_over_the_limit_is_answered_at_the_limit():
    """200 MiB chunked: the 413 comes while the client is still sending,
    after about the limit (plus what the sockets buffer), not after the
    200 MiB; then the connection closes."""
    s = server()
    head = (b"POST " + EVAL.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    t0 = time.monotonic()
    out = send_and_watch(s.port, head, chunk(65536), max_bytes=200 * MiB,
                         tail=b"0\r\n\r\n", deadline=slow(60))
    assert status_of(out["answer"]) == 413, \
        "no 413 while sending 200 MiB chunked (sent %d): %r" % (out["sent"], out["answer"][:200])
    assert out["sent_at_answer"] < 32 * MiB, \
        "the 413 came after %d bytes: the body was read past the limit" % out["sent_at_answer"]
    assert_problem(parse_raw_response(out["answer"]), 413, "payload_too_large")
    assert out["closed_after"] is not None and out["sent"] < 200 * MiB, \
        "the server read the whole 200 MiB (sent %d)" % out["sent"]
    assert time.monotonic() - t0 < slow(30)
    assert healthz_ok(s.port) == 200
    # closing it is no error of the server's
    s.settle_log()
    assert not [l for l in s.stderr_lines() if "internal error" in l], s.stderr_tail()


def test_refused_request_reads_its_chunked_body_only_to_the_limit():
    """A request refused from its headers (two Content-Types: 400) used to
    have its chunked body read to the end before the answer."""
    s = server()
    head = (b"POST " + EVAL.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Type: text/plain\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    out = send_and_watch(s.port, head, chunk(65536), max_bytes=200 * MiB,
                         tail=b"0\r\n\r\n", deadline=slow(60))
    assert status_of(out["answer"]) == 400, out["answer"][:200]
    assert out["sent_at_answer"] < 32 * MiB, out["sent_at_answer"]
    assert_problem(parse_raw_response(out["answer"]), 400, "invalid_request")


@pytest.mark.slow
def test_trickling_client_is_closed_within_the_linger_time_others_served():
    """A chunked body over the limit, then a trickle (1 KiB every 0.2 s,
    never idle long enough): the server answers at the limit and closes
    after its lingering time (10 s) although the client never stops; a
    client that comes meanwhile is served at once."""
    s = server()
    head = (b"POST " + EVAL.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + chunk(LIMIT) + chunk(1024))
    out = send_and_watch(s.port, head, chunk(1024), max_bytes=1 << 40, pause=0.2,
                         deadline=slow(40), while_lingering=lambda: healthz_ok(s.port))
    assert status_of(out["answer"]) == 413, out["answer"][:200]
    assert out["during"] == 200, "a client meanwhile got %r" % out["during"]
    assert out["closed_after"] is not None, "still open after %s s" % slow(40)
    assert out["closed_after"] < slow(25), out["closed_after"]


def test_over_the_limit_under_tls():
    """The same under TLS: http.client reads the 413 of a 10 MB body, and of
    a chunked one answered at the limit (written through the TLS session)."""
    d = tempfile.mkdtemp(prefix="shikaku-http-tls-")
    atexit.register(shutil.rmtree, d, True)
    cert, keyf = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", keyf, "-out", cert, "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "1"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr[-500:]
    ctx = ssl.create_default_context(cafile=cert)

    def post(body, headers, **kw):
        c = http.client.HTTPSConnection(HOST, s.port, timeout=slow(30), context=ctx)
        try:
            c.request("POST", EVAL, body=body, headers=headers, **kw)
            r = c.getresponse()
            return harness.Response(r.status, harness.Headers(r.getheaders()), r.read())
        except OSError as e:
            raise AssertionError("http.client over TLS got %r instead of the 413" % (e,))
        finally:
            c.close()

    with Server(["--tls-cert", cert, "--tls-key", keyf]) as s:
        for _ in range(2):
            r = post(b"a" * (10 * 1000 * 1000), {"Content-Type": "application/json"})
            assert_problem(r, 413, "payload_too_large")
        pieces = (b"a" * 65536 for _ in range(160))           # 10 MiB
        r = post(pieces, {"Content-Type": "application/json"}, encode_chunked=True)
        assert_problem(r, 413, "payload_too_large")
        assert r.headers.get("X-Request-Id") and \
            (r.headers.get("Connection") or "").lower() == "close", r.headers
        r = post(json.dumps({"person": FACTS}).encode(), {"Content-Type": "application/json"})
        assert r.status == 200, r


# ---------------------------------------------------------------------------
# Item 12: --no-auth answers only loopback's names

def raw_get(port, path, host_lines, version=b"HTTP/1.1"):
    data = b"GET " + path.encode() + b" " + version + b"\r\n" + b"".join(
        b"Host: " + h + b"\r\n" for h in host_lines) + b"Connection: close\r\n\r\n"
    s = socket.create_connection((HOST, port), timeout=slow(10))
    try:
        return parse_raw_response(harness.send_and_read_all(s, data))
    finally:
        s.close()


BAD_HOSTS = [b"evil.example:8080", b"evil.example", b"127.0.0.2", b"127.0.0.1.nip.io",
             b"localhost.evil.example", b"0.0.0.0", b"[::2]", b"localhost.", b"",
             b"127.0.0.1:123456", b"10.0.0.1:8080"]
# not even a valid Host (RFC 9110 §7.2): 400 before the loopback check
MALFORMED_HOSTS = [b"[::1]x", b"localhost:80x", b"127.0.0.1/x", b"127.0.0.1 x"]
GOOD_HOSTS = [b"localhost", b"LocalHost:8080", b"127.0.0.1", b"127.0.0.1:80", b"[::1]",
              b"[::1]:8080"]


def test_no_auth_answers_only_loopback_hosts_keys_any():
    s = server()
    for host in BAD_HOSTS:
        for path in ("/healthz", "/v1/rules", "/metrics", "/openapi.yaml"):
            r = raw_get(s.port, path, [host])
            assert r is not None, "no answer for Host %r" % host
            assert r.status == 421, "Host %r %s: %r" % (host, path, r)
            assert_problem(r, 421, "misdirected_request")
    for host in MALFORMED_HOSTS:
        r = raw_get(s.port, "/healthz", [host])
        assert r is not None, "no answer for Host %r" % host
        assert_problem(r, 400, "invalid_request")
    # a body is refused the same way, before anything of it is looked at
    r = s.raw_response(b"POST " + EVAL.encode() + b" HTTP/1.1\r\nHost: evil.example\r\n"
                       b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    assert_problem(r, 421, "misdirected_request")
    # two Host headers, one of them foreign: not answered as loopback
    r = raw_get(s.port, "/healthz", [b"127.0.0.1", b"evil.example"])
    assert r is not None and r.status in (400, 421), r

    for host in GOOD_HOSTS + [("localhost:%d" % s.port).encode()]:
        r = raw_get(s.port, "/v1/rules", [host])
        assert r is not None and r.status == 200, "Host %r: %r" % (host, r)
    # HTTP/1.0 without Host (curl -0, old tools; no browser sends that)
    r = raw_get(s.port, "/healthz", [], version=b"HTTP/1.0")
    assert r is not None and r.status == 200, r
    # http.client, as the harness and integrations use it
    assert healthz_ok(s.port) == 200
    c = http.client.HTTPConnection("localhost", s.port, timeout=slow(10))
    try:
        c.request("GET", "/healthz")
        assert c.getresponse().status == 200
    finally:
        c.close()

    # with keys the Host is not looked at (a LAN name, a proxy's)
    with keyed_server() as k:
        r = raw_get(k.port, "/healthz", [b"evil.example:8080"])
        assert r is not None and r.status == 200, r
        r = k.get("/v1/rules", headers=dict(auth("reader"), Host="shikaku.lan:8443"))
        assert r.status == 200, r
        r = k.get("/v1/rules", headers={"Host": "shikaku.lan"})
        assert r.status == 401, r


# ---------------------------------------------------------------------------
# Item 6: a 403 names the role the route needs

def assert_403_names(r, needs, what):
    assert_problem(r, 403, "forbidden")
    detail = r.json["detail"]
    assert needs in detail, "%s: %r does not say %r" % (what, detail, needs)
    if needs == "an admin key":
        assert "writer or admin" not in detail, "%s: %r" % (what, detail)
    for e in r.json["errors"]:
        assert needs in e["message"], e


def test_403_names_the_role_the_route_needs():
    with keyed_server() as s:
        ins = {"scheme": "kokuho", "prefecture_code": "06", "name": "x"}
        assert_403_names(s.get("/v1/audit", headers=auth("writer")), "an admin key",
                         "writer GET /v1/audit")
        assert_403_names(s.get("/v1/audit", headers=auth("reader")), "an admin key",
                         "reader GET /v1/audit")
        assert_403_names(s.request("PUT", "/v1/insurers/06271233", json_body=ins,
                                   headers=auth("writer")),
                         "an admin key", "writer PUT insurer")
        assert_403_names(s.request("POST", "/v1/insurers:import", body=b"",
                                   headers=dict(auth("writer"), **{"Content-Type": NDJSON})),
                         "an admin key", "writer insurers import")
        assert_403_names(s.request("PUT", "/v1/persons/h-403", json_body=FACTS,
                                   headers=auth("reader")),
                         "a writer or admin key", "reader PUT person")
        assert_403_names(s.request("DELETE", "/v1/persons/h-403", headers=auth("reader")),
                         "a writer or admin key", "reader DELETE person")
        assert_403_names(s.request("POST", "/v1/persons:import", body=b"",
                                   headers=dict(auth("reader"), **{"Content-Type": NDJSON})),
                         "a writer or admin key", "reader persons import")
        # and says which role the key has
        r = s.get("/v1/audit", headers=auth("writer"))
        assert "(writer)" in r.json["detail"], r.json["detail"]


# ---------------------------------------------------------------------------
# Item 13: /metrics counts a request under its route whatever its status

SAMPLE = re.compile(r'^shikaku_requests_total\{route="([^"]*)",status="([^"]*)"\} (\S+)$')


def requests_total(s, headers=None):
    r = s.get("/metrics", headers=headers)
    assert r.status == 200, r
    out = {}
    for line in r.text.splitlines():
        m = SAMPLE.match(line)
        if m:
            out[(m.group(1), m.group(2))] = float(m.group(3))
    return out


def moved(before, after, route, status):
    return after.get((route, status), 0) - before.get((route, status), 0)


def test_metrics_label_refused_requests_with_their_route():
    with keyed_server() as s:
        # /metrics needs a key of any role on a server with keys
        before = requests_total(s, headers=auth("reader"))
        for _ in range(2):
            assert s.get("/v1/rules").status == 401
        assert s.get("/v1/persons/h-m1").status == 401
        assert s.request("DELETE", "/v1/rules").status == 401     # auth before 405
        assert s.request("DELETE", "/v1/rules", headers=auth("admin")).status == 405
        assert s.get("/v1/audit", headers=auth("reader")).status == 403
        assert s.get("/v1/nothing-here").status == 401
        after = requests_total(s, headers=auth("reader"))
        assert moved(before, after, "/v1/rules", "401") == 3, after
        assert moved(before, after, "/v1/persons/{id}", "401") == 1, after
        assert moved(before, after, "/v1/rules", "405") == 1, after
        assert moved(before, after, "/v1/audit", "403") == 1, after
        # no route at all: still "unmatched"
        assert moved(before, after, "unmatched", "401") == 1, after
    # the server's own refusals too: 413 (early and chunked) and 421
    s = server()
    before = requests_total(s)
    body = b"a" * (2 * MiB)
    status, _, _ = http_client_post(s.port, EVAL, body, {"Content-Type": "application/json"})
    assert status == 413
    assert raw_get(s.port, "/v1/rules", [b"evil.example"]).status == 421
    after = requests_total(s)
    assert moved(before, after, "/v1/eligibility:evaluate", "413") == 1, after
    assert moved(before, after, "/v1/rules", "421") == 1, after
