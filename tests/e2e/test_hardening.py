"""Hardening end to end (issue 12, items 7, 9 and 11; SPEC §8): TLS 1.2+
with forward-secret AEAD suites only (--tls-priorities), refusals that did
not happen (a second or folded X-Request-Id holding an individual number,
%00 in the URL, a number past the 32nd query parameter), /metrics needing
a key unless --metrics-open, person ids "." and "..", two Authorization
headers, and Transfer-Encoding: identity answered at once.

The module's shared server runs WITH keys, on a database whose keys were
made by `shikakud key create` before it started.  Requests whose framing
http.client would not send (repeated or folded fields, a raw %00, a
transfer coding) go over raw sockets, each bounded in time."""

import atexit
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse

import harness
from harness import Server, assert_problem, parse_raw_response, run_cli, slow

INDIVIDUAL = "123456789018"          # valid check digit (SPEC §8)
NDJSON = "application/x-ndjson"
_tls = {}         # the generated certificate


def _tmpdir():
    return harness.temp_dir("shikaku-hard-")


_keys = harness.ModuleKeys("hard")
keys, srv, auth = _keys.keys, _keys.server, _keys.auth


def raw(s, head, body=b"", timeout=None):
    """Sends a request head (a list of lines, CRLFs added) and body over a
    new socket -> (Response or None, seconds it took)."""
    data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
    t0 = time.monotonic()
    r = parse_raw_response(s.raw(data, timeout=timeout or slow(5)))
    return r, time.monotonic() - t0


def get_head(path, *lines, role="reader"):
    return ["GET %s HTTP/1.1" % path, "Host: localhost",
            "Authorization: Bearer " + keys()[role]] + list(lines)


def put_person(s, pid, body=None):
    r = s.request("PUT", "/v1/persons/" + pid, json_body=body or {"display_name": "x"},
                  headers=auth("writer"))
    assert r.status in (200, 201), r
    return r


# ---------------------------------------------------------------------------
# Item 7: TLS

def _certificate():
    if "cert" not in _tls:
        d = _tmpdir()
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", key, "-out", cert, "-subj", "/CN=localhost",
                            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                            "-days", "1"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        assert p.returncode == 0, p.stderr[-500:]
        _tls["cert"], _tls["key"] = cert, key
    return _tls["cert"], _tls["key"]


def handshake(port, *args):
    """openssl s_client against 127.0.0.1:port -> (completed?, protocol,
    cipher).  SECLEVEL=0 lets OpenSSL 3 offer TLS 1.0/1.1 at all."""
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-servername", "localhost"] + list(args),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=slow(20))
    out = p.stdout.decode("utf-8", "replace")
    cipher = ""
    for line in out.splitlines():
        if line.startswith("New, ") and "Cipher is" in line:
            cipher = line.split("Cipher is", 1)[1].strip()
    ok = p.returncode == 0 and cipher not in ("", "(NONE)")
    proto = ""
    for line in out.splitlines():
        if line.strip().startswith("Protocol  :"):
            proto = line.split(":", 1)[1].strip()
    return ok, proto, cipher, out[-600:]


def test_tls_only_12_and_13_with_forward_secret_aead_suites():
    cert, key = _certificate()
    with Server(["--tls-cert", cert, "--tls-key", key]) as s:
        for args, what in ((["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"], "TLS 1.0"),
                           (["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"], "TLS 1.1"),
                           (["-tls1_2", "-cipher", "AES128-GCM-SHA256"],
                            "TLS 1.2 with static RSA key exchange"),
                           (["-tls1_2", "-cipher", "AES256-SHA256"], "TLS 1.2 static RSA, CBC"),
                           (["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"],
                            "TLS 1.2 ECDHE with a CBC cipher")):
            ok, proto, cipher, out = handshake(s.port, *args)
            assert not ok, "%s was accepted (%s %s): %s" % (what, proto, cipher, out)
        for args, want in ((["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"],
                            "ECDHE-RSA-AES128-GCM-SHA256"),
                           (["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"],
                            "ECDHE-RSA-AES256-GCM-SHA384"),
                           (["-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"],
                            "ECDHE-RSA-CHACHA20-POLY1305"),
                           (["-tls1_3"], "TLS_")):
            ok, proto, cipher, out = handshake(s.port, *args)
            assert ok and cipher.startswith(want), "%s refused: %s" % (args, out)
        # and HTTPS still answers
        r = subprocess.run(["curl", "-sS", "--max-time", str(slow(10)), "--cacert", cert,
                            "https://127.0.0.1:%d/healthz" % s.port],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                           env=harness.clean_env())
        assert r.returncode == 0 and json.loads(r.stdout)["status"] == "ok", r.stderr


def test_tls_priorities_flag_and_variable():
    cert, key = _certificate()
    # TLS 1.3 alone, by the flag
    with Server(["--tls-cert", cert, "--tls-key", key, "--tls-priorities",
                 "NORMAL:-VERS-ALL:+VERS-TLS1.3"]) as s:
        ok, proto, cipher, out = handshake(s.port, "-tls1_2", "-cipher",
                                           "ECDHE-RSA-AES128-GCM-SHA256")
        assert not ok, "TLS 1.2 accepted under a TLS 1.3-only string: %s" % out
        ok, proto, cipher, out = handshake(s.port, "-tls1_3")
        assert ok, out
        assert "NORMAL:-VERS-ALL:+VERS-TLS1.3" in s.stderr_text()   # the listening line
    # A bad string: no start, and a message that names it (flag, variable)
    d = _tmpdir()
    p = run_cli(["serve", "--listen", "127.0.0.1:0", "--db", os.path.join(d, "t.db"),
                 "--tls-cert", cert, "--tls-key", key, "--tls-priorities",
                 "NORMAL:+NO-SUCH-SUITE"], timeout=slow(10))
    assert p.returncode == 2, (p.returncode, p.stderr[-300:])
    assert "--tls-priorities" in p.stderr and "NO-SUCH-SUITE" in p.stderr, p.stderr
    env = dict(harness.clean_env(), SHIKAKU_TLS_PRIORITIES="SECURE999")
    p = subprocess.run([harness.binary(), "serve", "--listen", "127.0.0.1:0",
                        "--db", os.path.join(d, "t.db"), "--tls-cert", cert, "--tls-key", key],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=slow(10), env=env)
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 2 and "SHIKAKU_TLS_PRIORITIES" in err, (p.returncode, err[-300:])
    # Without a certificate the string would be ignored: refused instead.
    p = run_cli(["serve", "--listen", "127.0.0.1:0", "--db", os.path.join(d, "t.db"),
                 "--tls-priorities", "NORMAL"], timeout=slow(10))
    assert p.returncode == 2 and "--tls-cert" in p.stderr, p.stderr[-300:]


def test_help_and_man_page_name_the_new_flags():
    p = run_cli(["serve", "--help"])
    man = open(os.path.join(os.path.dirname(__file__), "..", "..", "packaging",
                            "shikakud.1"), encoding="utf-8").read()
    for flag in ("--tls-priorities", "--metrics-open"):
        assert flag in p.stdout, "serve --help lacks " + flag
        assert flag.replace("-", "\\-") in man, "the man page lacks " + flag


# ---------------------------------------------------------------------------
# Item 9: refusals that did not happen

def test_second_request_id_holding_a_number_is_refused():
    s = srv()
    for lines, what in (
            (["X-Request-Id: abc", "X-Request-Id: " + INDIVIDUAL], "second field"),
            (["X-Request-Id: " + INDIVIDUAL, "X-Request-Id: abc"], "first of two"),
            (["X-Request-Id: abc, " + INDIVIDUAL], "a list in one field"),
            (["X-Request-Id: 123456", " 789018"], "folded (obs-fold), space"),
            (["X-Request-Id: abc", "\t" + INDIVIDUAL], "folded (obs-fold), tab")):
        r, took = raw(s, get_head("/v1/rules", *lines))
        assert r is not None, "no answer to %s" % what
        assert_problem(r, 422, "individual_number_not_accepted", "header:X-Request-Id",
                       single=True)
        assert INDIVIDUAL not in r.headers.get("X-Request-Id", ""), what
        assert r.headers.get("X-Request-Id") != "abc", "%s: a value of a repeated " \
            "X-Request-Id was echoed" % what
    # Without a key the answer is still 401 (authentication first, SPEC §8).
    r, _ = raw(s, ["GET /v1/rules HTTP/1.1", "Host: localhost", "X-Request-Id: abc",
                   "X-Request-Id: " + INDIVIDUAL])
    assert_problem(r, 401, "unauthorized")
    s.settle_log()
    assert INDIVIDUAL not in s.stderr_text(), "the log holds the number"


def test_repeated_request_id_without_a_number_is_400():
    s = srv()
    r, _ = raw(s, get_head("/v1/rules", "X-Request-Id: abc", "X-Request-Id: def"))
    assert_problem(r, 400, "invalid_request", "header:X-Request-Id", single=True)
    assert r.headers.get("X-Request-Id") not in ("abc", "def"), r.headers
    # one alone is still echoed
    r, _ = raw(s, get_head("/v1/rules", "X-Request-Id: abc"))
    assert r.status == 200 and r.headers.get("X-Request-Id") == "abc", r


def test_nul_in_the_url_is_400():
    s = srv()
    put_person(s, "pB")
    r = s.get("/v1/persons/pB", headers=auth("reader"))
    assert r.status == 200, r
    for path, field in (("/v1/persons/pB%00" + INDIVIDUAL, "path"),
                        ("/v1/persons/pB%00", "path"),
                        ("/v1/persons/pB%00/eligibility", "path"),
                        ("/healthz%00", "path"),
                        ("/v1/persons?facility_id=f%00" + INDIVIDUAL, "?")):
        r, _ = raw(s, get_head(path))
        assert r is not None, "no answer to " + path
        assert_problem(r, 400, "invalid_request", field, single=True)
        assert b"pB" not in r.body or b"person_id" not in r.body, "%s served pB" % path
    # A PUT through %00 writes nothing.
    body = json.dumps({"display_name": "y"}).encode()
    r, _ = raw(s, ["PUT /v1/persons/pB%00x HTTP/1.1", "Host: localhost",
                   "Authorization: Bearer " + keys()["writer"],
                   "Content-Type: application/json", "Content-Length: %d" % len(body)], body)
    assert_problem(r, 400, "invalid_request", "path")
    r = s.get("/v1/persons/pB", headers=auth("reader"))
    assert r.json["display_name"] == "x", r
    # %2500 is the text "%00", no NUL: an ordinary (absent) id
    r, _ = raw(s, get_head("/v1/persons/pB%2500"))
    assert r.status == 422 and r.json["errors"][0]["code"] == "invalid_person_id", r


def test_number_past_the_32nd_query_parameter_is_refused():
    s = srv()
    filler = "&".join("p%d=1" % i for i in range(40))
    for query, field in ((filler + "&x=" + INDIVIDUAL, "?x"),
                         ("&".join("p%d=1" % i for i in range(32)) + "&y=" + INDIVIDUAL, "?y"),
                         (filler + "&" + INDIVIDUAL + "=1", "?"),
                         (filler + "&z=" + urllib.parse.quote("1234 5678 9018"), "?z")):
        r = s.get("/v1/persons?" + query, headers=auth("reader"))
        assert_problem(r, 422, "individual_number_not_accepted", field, single=True)
    # Without a number, the overflow is still refused as before.
    r = s.get("/v1/persons?" + filler, headers=auth("reader"))
    assert_problem(r, 422, "invalid_request", "?")


# ---------------------------------------------------------------------------
# Item 11

def test_metrics_needs_a_key_by_default():
    s = srv()
    r = s.get("/metrics")
    assert_problem(r, 401, "unauthorized", "header:Authorization")
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers
    assert "shikaku_" not in r.text
    for role in ("reader", "writer", "admin"):
        r = s.get("/metrics", headers=auth(role))
        assert r.status == 200 and "shikaku_build_info" in r.text, (role, r)
    r = s.get("/metrics", headers={"Authorization": "Bearer shk_" + "x" * 56})
    assert_problem(r, 401, "unauthorized")
    # the probes and the description stay open
    for path in ("/healthz", "/readyz", "/openapi.yaml"):
        assert s.get(path).status == 200, path


def test_metrics_open_flag_and_old_flag():
    db = keys()["db"]
    with Server(["--metrics-open"], no_auth=False, db_path=db) as s:
        r = s.get("/metrics")
        assert r.status == 200 and "shikaku_build_info" in r.text, r
        assert s.get("/v1/rules").status == 401       # /v1 still needs a key
    # --metrics-auth is still accepted (old configurations); it changes nothing
    with Server(["--metrics-auth"], no_auth=False, db_path=db) as s:
        assert_problem(s.get("/metrics"), 401, "unauthorized")
        assert s.get("/metrics", headers=auth("reader")).status == 200
    # --no-auth (loopback only): open, as everything
    with Server() as s:
        assert s.get("/metrics").status == 200


def test_person_ids_dot_and_dotdot_refused_everywhere():
    s = srv()
    w = keys()["writer"]
    for pid in (".", "..", "%2e", "%2E%2e"):
        for method, suffix in (("GET", ""), ("PUT", ""), ("DELETE", ""),
                               ("GET", "/eligibility")):
            body = b'{"display_name":"x"}' if method == "PUT" else b""
            head = ["%s /v1/persons/%s%s HTTP/1.1" % (method, pid, suffix), "Host: localhost",
                    "Authorization: Bearer " + w]
            if body:
                head += ["Content-Type: application/json", "Content-Length: %d" % len(body)]
            r, _ = raw(s, head, body)
            assert r is not None, "no answer to %s %s" % (method, pid)
            assert_problem(r, 422, "invalid_person_id", "path")
    r = s.post("/v1/eligibility:batch", {"items": [{"person_id": "."}, {"person_id": ".."},
                                                   {"person_id": "ok.id"}]},
               headers=auth("reader"))
    assert r.status == 200, r
    for i in (0, 1):
        errs = r.json["results"][i]["error"]["errors"]
        assert [e["code"] for e in errs] == ["invalid_person_id"], r.json["results"][i]
    assert "error" in r.json["results"][2] and \
        r.json["results"][2]["error"]["status"] == 404, r.json["results"][2]
    for pid in (".", ".."):
        lines = json.dumps({"person_id": "ok-%d" % len(pid)}) + "\n" + \
            json.dumps({"person_id": pid}) + "\n"
        r = s.request("POST", "/v1/persons:import", body=lines,
                      headers=auth("writer", **{"Content-Type": NDJSON}))
        assert_problem(r, 422, "invalid_person_id", "/lines/2/person_id")
        assert r.json["stored"] is False, r.json
        r = s.request("POST", "/v1/persons:import", body="person_id\n%s\n" % pid,
                      headers=auth("writer", **{"Content-Type": "text/csv"}))
        assert_problem(r, 422, "invalid_person_id", "/lines/2/person_id")
    # Ids with dots inside stay valid.
    put_person(s, "a.b")
    put_person(s, "...")
    assert s.get("/v1/persons/a.b", headers=auth("reader")).status == 200


def test_two_authorization_headers_refused():
    s = srv()
    k = keys()
    for pair in ((k["reader"], k["reader"]), (k["reader"], k["admin"]), ("nonsense", k["admin"])):
        r, _ = raw(s, ["GET /v1/rules HTTP/1.1", "Host: localhost",
                       "Authorization: Bearer " + pair[0], "Authorization: Bearer " + pair[1]])
        assert r is not None
        assert_problem(r, 400, "invalid_request", "header:Authorization", single=True)


def test_transfer_encoding_identity_answered_at_once():
    s = srv()
    limit = slow(3)          # the idle timeout is 30 s
    body = json.dumps({"person": {"mynumber_card": "none"}}).encode()
    for method, path, lines, payload in (
            ("POST", "/v1/eligibility:evaluate",
             ["Content-Type: application/json", "Transfer-Encoding: identity"], body),
            ("POST", "/v1/eligibility:evaluate",
             ["Content-Type: application/json", "Transfer-Encoding: identity"], b""),
            ("GET", "/healthz", ["Transfer-Encoding: identity"], b""),
            ("POST", "/v1/persons:import",
             ["Content-Type: " + NDJSON, "Transfer-Encoding: Identity"], b'{"person_id":"t1"}\n'),
            ("POST", "/v1/eligibility:evaluate",
             ["Content-Type: application/json", "Transfer-Encoding: identity, chunked"],
             b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))):
        head = ["%s %s HTTP/1.1" % (method, path), "Host: localhost",
                "Authorization: Bearer " + keys()["writer"]] + lines
        r, took = raw(s, head, payload, timeout=limit + 2)
        assert r is not None, "no answer within %.1f s to %s %s" % (took, method, lines)
        assert took < limit, "answered after %.1f s" % took
        assert_problem(r, 400, "invalid_request", "header:Transfer-Encoding", single=True)
        assert (r.headers.get("Connection") or "").lower() == "close", r.headers
    assert s.get("/v1/persons/t1", headers=auth("reader")).status == 404


def test_unknown_transfer_coding_answered_501_at_once():
    s = srv()
    limit = slow(3)
    r, took = raw(s, ["POST /v1/eligibility:evaluate HTTP/1.1", "Host: localhost",
                      "Authorization: Bearer " + keys()["reader"],
                      "Content-Type: application/json", "Transfer-Encoding: gzip, chunked"],
                  b"2\r\n{}\r\n0\r\n\r\n", timeout=limit + 2)
    assert r is not None and took < limit, "no answer within %.1f s" % took
    assert_problem(r, 501, "not_implemented", "header:Transfer-Encoding")
    # chunked alone is still read
    body = json.dumps({"person": {"mynumber_card": "none"}}).encode()
    r, _ = raw(s, ["POST /v1/eligibility:evaluate HTTP/1.1", "Host: localhost",
                   "Authorization: Bearer " + keys()["reader"],
                   "Content-Type: application/json", "Transfer-Encoding: chunked"],
               b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert r.status == 200 and "certificate" in r.json, r


def test_transfer_coding_refusal_closes_lingering():
    """A client that sends its whole body before reading (as http.client
    does) reads the 400/501 of a transfer coding: the connection closes
    lingering, as after an early 413, not with a reset that would throw
    the answer away."""
    s = srv()
    body = b"a" * (8 << 20)
    for coding, status, code in (("identity", 400, "invalid_request"),
                                 ("gzip", 501, "not_implemented")):
        head = ("POST /v1/eligibility:evaluate HTTP/1.1\r\nHost: localhost\r\n"
                "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: %s\r\n\r\n" % (keys()["reader"], coding)).encode()
        c = socket.create_connection(("127.0.0.1", s.port), timeout=slow(20))
        buf = b""
        try:
            try:
                c.sendall(head + body)
            except OSError as e:          # EPIPE / ECONNRESET: no lingering
                raise AssertionError("%s: the server reset the client while it sent "
                                     "its body (%r)" % (coding, e))
            while True:
                try:
                    d = c.recv(65536)
                except OSError as e:
                    raise AssertionError("%s: reset before the answer was read (%r), "
                                         "read %r" % (coding, e, buf[:200]))
                if not d:
                    break
                buf += d
        finally:
            c.close()
        r = parse_raw_response(buf)
        assert r is not None, "%s: no answer" % coding
        assert_problem(r, status, code, "header:Transfer-Encoding", single=True)
    assert s.get("/healthz").status == 200


def test_server_still_serves_after_the_refusals():
    s = srv()
    socks = []
    try:
        # a refused request on a keep-alive connection does not poison it
        c = socket.create_connection(("127.0.0.1", s.port), timeout=slow(5))
        socks.append(c)
        req = ("GET /v1/persons/x%%00y HTTP/1.1\r\nHost: localhost\r\n"
               "Authorization: Bearer %s\r\n\r\n" % keys()["reader"]).encode()
        req2 = ("GET /v1/rules HTTP/1.1\r\nHost: localhost\r\n"
                "Authorization: Bearer %s\r\n\r\n" % keys()["reader"]).encode()
        c.sendall(req + req2)
        buf, deadline = b"", time.monotonic() + slow(5)
        while buf.count(b"HTTP/1.1 ") < 2 and time.monotonic() < deadline:
            chunk = c.recv(65536)
            if not chunk:
                break
            buf += chunk
        assert buf.startswith(b"HTTP/1.1 400"), buf[:200]
        assert b"HTTP/1.1 200" in buf, buf[:400]
    finally:
        for c in socks:
            c.close()
    assert s.get("/healthz").status == 200
