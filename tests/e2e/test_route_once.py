"""Route once, on the first callback (issue 13, item 2): a request refused on
its head -- a wrong key, a role too weak, a media type a route does not
take -- is answered before its body is read, whatever the route (buffered
or streamed), and its connection is closed lingering, so that a client
still sending reads the answer.

Each test sends a head declaring a 10 MB body, then only a first piece of
it, and waits (bounded) for the answer: a server that reads the body before
it routes would wait for the rest and never answer in time.  The servers
take bodies up to 16 MiB (--max-body, --max-import-body), so that 413 is
not what answers."""

import os
import socket
import time

import pytest

import harness
from harness import Server, make_key, parse_raw_response, slow

BIG = 10 * 1000 * 1000             # the declared body
FIRST = 64 * 1024                  # what is sent of it before waiting
LIMITS = ["--max-body", str(16 << 20), "--max-import-body", str(16 << 20)]
_state = {}


def keyed():
    """The module's server, with keys: (server, {role: key})."""
    if "db" not in _state:
        d = harness.temp_dir("shikaku-once-")
        _state["db"] = os.path.join(d, "x.db")
        _state["keys"] = {r: make_key(_state["db"], r) for r in ("reader", "writer")}
    s = harness.server(lambda: Server(extra_args=LIMITS, no_auth=False,
                                      db_path=_state["db"]))
    return s, _state["keys"]


def answer_before_body(port, head_lines):
    """Sends the head (declaring BIG bytes) and FIRST bytes of the body, then
    waits for an answer while sending nothing more -> (Response, bytes of
    the body sent).  Fails when none comes within the deadline."""
    head = "\r\n".join(head_lines + ["Host: localhost", "Content-Length: %d" % BIG])
    c = socket.create_connection(("127.0.0.1", port), timeout=slow(10))
    try:
        c.sendall(head.encode("latin-1") + b"\r\n\r\n")
        sent = 0
        try:
            c.sendall(b"x" * FIRST)
            sent = FIRST
        except OSError:
            pass                   # closed at once: the answer is there
        buf = harness.read_response(c, time.monotonic() + slow(8))
        resp = parse_raw_response(buf)
        assert resp is not None, (
            "no answer within %.0f s with %d of %d body bytes sent: the body is "
            "waited for before the request is routed" % (slow(8), sent, BIG))
        return resp, sent
    finally:
        c.close()


def test_a_wrong_key_is_answered_401_before_a_10_mb_body():
    s, k = keyed()
    r, sent = answer_before_body(s.port, [
        "POST /v1/eligibility:evaluate HTTP/1.1",
        "Authorization: Bearer shk_not_a_key_of_this_server",
        "Content-Type: application/json"])
    harness.assert_problem(r, 401, "unauthorized")
    assert sent < BIG
    # the connection ends there: the rest of the body is never read
    assert (r.headers.get("Connection") or "").lower() == "close", r.headers.items()
    # and the server serves on
    r = s.request("POST", "/v1/eligibility:evaluate",
                  json_body={"person": {"birth_date": "1950-04-01"}},
                  headers={"Authorization": "Bearer " + k["reader"]})
    assert r.status == 200, r


# (what is sent, whose key, the answer's status, code and field)
REFUSED_ON_THE_HEAD = {
    "a media type the route does not take: 415": (
        "POST /v1/eligibility:evaluate", "reader", "text/plain",
        415, "unsupported_media_type", "header:Content-Type"),
    "a role too weak for a PUT: 403": (
        "PUT /v1/persons/alice", "reader", "application/json",
        403, "forbidden", None),
    "a refused import: 415": (
        "POST /v1/persons:import", "writer", "application/pdf",
        415, "unsupported_media_type", None),
}


@pytest.mark.parametrize("case", sorted(REFUSED_ON_THE_HEAD))
def test_a_request_refused_on_its_head_is_answered_before_the_body(case):
    line, role, ctype, status, code, field = REFUSED_ON_THE_HEAD[case]
    s, k = keyed()
    r, _ = answer_before_body(s.port, [
        line + " HTTP/1.1",
        "Authorization: Bearer " + k[role],
        "Content-Type: " + ctype])
    harness.assert_problem(r, status, code, field=field)
