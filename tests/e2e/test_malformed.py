"""Malformed and hostile requests: each gets a clean error, and the server keeps
serving others (SPEC §6, §8 limits, §10)."""

import json
import socket
import struct
import threading
import time

from harness import server, assert_problem, parse_raw_response, slow, HOST

EVAL = "/v1/eligibility:evaluate"
VALID = {"as_of": "2025-06-01",
         "person": {"birth_date": "1975-01-20", "insurer_number": "138057",
                    "mynumber_card": "held", "insurance_registration": "registered"}}


def post_raw_body(body, ctype="application/json", path=EVAL, timeout=None):
    return server().request("POST", path, body=body, headers={"Content-Type": ctype},
                            timeout=timeout)


def invalid_json(body):
    r = post_raw_body(body)
    assert_problem(r, 400, "invalid_json")
    return r


def still_serving():
    s = server()
    r = s.get("/healthz")
    assert r.status == 200, "healthz: %r" % (r,)
    r = s.evaluate(VALID)
    assert r.status == 200 and r.json["certificate"]["entitlement"] == "not_entitled", r


def request_bytes(body, ctype="application/json", extra=b"", path=EVAL, length=None):
    if length is None:
        length = len(body)
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: " + ctype.encode() + b"\r\n" + extra +
            b"Content-Length: " + str(length).encode() + b"\r\nConnection: close\r\n\r\n" + body)


# ---- bodies ----------------------------------------------------------------------

def test_not_json():
    invalid_json(b"hello")
    invalid_json(b"person: {}")
    invalid_json(b"{'person': {}}")


def test_truncated_json():
    body = json.dumps(VALID).encode()
    for cut in (1, len(body) // 2, len(body) - 1):
        invalid_json(body[:cut])


def test_not_an_object():
    invalid_json(b"[]")
    invalid_json(json.dumps([VALID]).encode())
    invalid_json(b"42")
    invalid_json(b'"person"')
    invalid_json(b"null")


def test_trailing_garbage():
    invalid_json(json.dumps(VALID).encode() + b" x")
    invalid_json(json.dumps(VALID).encode() + json.dumps(VALID).encode())


def test_empty_body():
    invalid_json(b"")
    invalid_json(b"   \r\n ")


def test_invalid_utf8():
    invalid_json(b'{"as_of":"2025-06-01","person":{"setting":"\xff\xfe"}}')
    invalid_json(b'{"as_of":"2025-06-01","person":{"setting":"\xc0\xaf"}}')        # overlong
    invalid_json(b'{"as_of":"2025-06-01","person":{"setting":"\xe3\x81"}}')        # truncated
    invalid_json(b'{"as_of":"2025-06-01","person":{"set\xedting":"home"}}')        # in a key
    invalid_json(b'{"as_of":"2025-06-01","person":{"setting":"\xed\xa0\x80"}}')    # surrogate


def test_deep_nesting():
    invalid_json(b'{"person":' + b"[" * 10000 + b"]" * 10000 + b"}")
    invalid_json(b'{"a":' * 10000 + b"1" + b"}" * 10000)
    invalid_json(b"[" * 100000)                       # unterminated, very deep


def test_duplicate_keys():
    invalid_json(b'{"as_of":"2025-06-01","as_of":"2025-06-02","person":{}}')
    invalid_json(b'{"person":{"setting":"home","setting":"home"}}')
    invalid_json(b'{"person":{"certificate":{"status":"none","status":"none"}}}')


def test_body_over_limit_10mb():
    body = b'{"person":{},"pad":"' + b"a" * (10 * 1024 * 1024) + b'"}'
    r = server().raw_response(request_bytes(body), timeout=slow(20))
    assert r is not None, "no response to a 10 MB body"
    assert r.status == 413, "status %d, expected 413" % r.status
    assert r.content_type == "application/problem+json", r.headers.get("Content-Type")
    j = r.json or {}
    assert j.get("status") == 413, j
    assert str(j.get("type", "")).endswith("payload_too_large") or \
        "payload_too_large" in [e.get("code") for e in j.get("errors") or []], j


def test_body_size_boundary():
    body = json.dumps(VALID).encode()
    padded = body[:-1] + b" " * (1_000_000 - len(body)) + b"}"
    r = post_raw_body(padded)
    assert r.status == 200, "a 1,000,000-byte body is under 1 MiB: %r" % (r,)
    over = body[:-1] + b" " * (1024 * 1024 + 1 - len(body)) + b"}"
    assert len(over) == 1024 * 1024 + 1
    r = server().raw_response(request_bytes(over), timeout=slow(20))
    assert r is not None and r.status == 413, "1 MiB + 1 byte: %r" % (r,)


def test_big_declared_length_small_body():
    # claims 10 MB but sends a little and closes: must not hang the server
    s = server()
    data = request_bytes(b'{"person":{}', length=10 * 1024 * 1024)
    try:
        s.raw(data, timeout=1, close_after_send=True)
    except OSError:
        pass
    still_serving()


# ---- headers and framing (raw socket) ------------------------------------------------

def test_repeated_content_type():
    body = json.dumps(VALID).encode()
    r = server().raw_response(request_bytes(body, extra=b"Content-Type: application/json\r\n"))
    assert r is not None, "no response"
    assert_problem(r, 400, "invalid_request")
    r = server().raw_response(request_bytes(body, extra=b"Content-Type: text/plain\r\n"))
    assert r is not None and r.status == 400, "conflicting Content-Type: %r" % (r,)


def test_repeated_content_length():
    body = json.dumps(VALID).encode()
    r = server().raw_response(request_bytes(
        body, extra=b"Content-Length: " + str(len(body)).encode() + b"\r\n"))
    assert r is not None and r.status == 400, "repeated Content-Length: %r" % (r,)
    r = server().raw_response(request_bytes(body, extra=b"Content-Length: 3\r\n"))
    assert r is not None and r.status == 400, "conflicting Content-Length: %r" % (r,)


def test_garbage_request_line():
    s = server()
    for data in (b"HELLO\r\n\r\n", b"GET\r\n\r\n", b"\x00\x01\x02\xff\r\n\r\n",
                 b"GET /healthz HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n"):
        raw = s.raw(data, timeout=slow(3))
        r = parse_raw_response(raw)
        assert r is None or 400 <= r.status < 600, "%r -> %r" % (data, r)
    still_serving()


def test_oversized_headers():
    s = server()
    data = (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (40 * 1024) +
            b"\r\nConnection: close\r\n\r\n")
    r = s.raw_response(data, timeout=slow(5))
    assert r is not None and r.status in (413, 431), "40 KiB header: %r" % (r,)
    still_serving()


def test_chunked_body_accepted():
    body = json.dumps(VALID).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 17]), body[i:i + 17])
                      for i in range(0, len(body), 17))
    data = (b"POST " + EVAL.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n")
    r = server().raw_response(data)
    assert r is not None and r.status == 200, "chunked body: %r" % (r,)
    assert r.json["certificate"]["entitlement"] == "not_entitled"


def test_cut_off_mid_body():
    s = server()
    body = json.dumps(VALID).encode()
    for _ in range(5):
        sock = socket.create_connection((HOST, s.port), timeout=5)
        sock.sendall(request_bytes(body)[:-(len(body) // 2)])
        sock.close()
    for _ in range(3):                          # and with a reset instead of a FIN
        sock = socket.create_connection((HOST, s.port), timeout=5)
        sock.sendall(request_bytes(body)[:-10])
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    time.sleep(0.2)
    still_serving()


def test_slow_client_does_not_block_others():
    s = server()
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    results = {}

    def slow_client(k):
        try:
            sock = socket.create_connection((HOST, s.port), timeout=slow(10))
            delay = 2.0 / len(request)
            for i in range(len(request)):
                sock.sendall(request[i:i + 1])
                time.sleep(delay)
            buf = b""
            sock.settimeout(slow(5))
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
            sock.close()
            results[k] = parse_raw_response(buf)
        except Exception as e:  # noqa: BLE001
            results[k] = e

    threads = [threading.Thread(target=slow_client, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.4)
    timings = []
    for _ in range(3):
        t0 = time.monotonic()
        r = s.evaluate(VALID, timeout=slow(5))
        timings.append(time.monotonic() - t0)
        assert r.status == 200, r
        r = s.get("/healthz", timeout=slow(5))
        assert r.status == 200, r
    worst = max(timings)
    assert worst < slow(1.0), "a normal request took %.2f s while slow clients send headers" % worst
    for t in threads:
        t.join(slow(15))
    for k in range(3):
        r = results.get(k)
        assert r is not None and not isinstance(r, Exception) and r.status == 200, \
            "slow client %d: %r" % (k, r)


def test_many_idle_connections_do_not_block():
    s = server()
    socks = []
    try:
        for _ in range(20):
            socks.append(socket.create_connection((HOST, s.port), timeout=5))
        t0 = time.monotonic()
        r = s.get("/healthz", timeout=slow(5))
        assert r.status == 200 and time.monotonic() - t0 < slow(1.0), \
            "healthz with 20 idle connections open: %r after %.2fs" % (r, time.monotonic() - t0)
    finally:
        for so in socks:
            so.close()


def test_zz_still_serving_after_everything():
    still_serving()
    r = server().get("/healthz")
    assert r.json == {"status": "ok", "version": r.json.get("version")}, r.json
