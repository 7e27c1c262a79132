"""Slow clients from many addresses (SPEC §10; issue 12, item 5): a client
that trickles its request head, or its body, cannot hold a connection past
--header-timeout or below --body-min-rate, and when every connection is
taken by such clients a new one is still served (the longest waiting are
cut to make room).

Shortened limits through flags keep every test bounded (about 25 s in all);
clients bind 127.0.x.y addresses of their own, as many hosts would."""

import select
import socket
import threading
import time

import harness
from harness import HOST, Server, slow, assert_problem, parse_raw_response, run_cli

EVAL = "/v1/eligibility:evaluate"
BODY = b'{"person":{"mynumber_card":"none"}}'
# a head that never ends: one more byte of it a second
TRICKLE = (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           + b"X-Slow: " + b"a" * 400)


def connect_from(addr, port, timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((addr, 0))
    s.settimeout(timeout)
    s.connect((HOST, port))
    return s


def closed_by_server(s):
    """True once the server has closed s (EOF or reset); never blocks."""
    r, _, _ = select.select([s], [], [], 0)
    if not r:
        return False
    try:
        return s.recv(4096, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


class Trickler:
    """n connections from each of addrs, each sending one byte of a head that
    never ends every second; records when the server closed each."""

    def __init__(self, port, addrs, n):
        self.socks, self.opened, self.closed_at = [], [], {}
        for a in addrs:
            for _ in range(n):
                try:
                    c = connect_from(a, port)
                    c.send(TRICKLE[:1])
                except OSError:
                    continue        # refused at accept: counts as closed
                self.socks.append(c)
                self.opened.append(time.monotonic())
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        i = 1
        while not self.stop.wait(0.05):
            now = time.monotonic()
            for k, c in enumerate(self.socks):
                if k not in self.closed_at and closed_by_server(c):
                    self.closed_at[k] = now - self.opened[k]
            if now - self.opened[0] >= i:
                for k, c in enumerate(self.socks):
                    if k not in self.closed_at:
                        try:
                            c.send(TRICKLE[i % len(TRICKLE):i % len(TRICKLE) + 1])
                        except OSError:
                            self.closed_at[k] = now - self.opened[k]
                i += 1

    def open_count(self):
        return len(self.socks) - len(self.closed_at)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        for c in self.socks:
            c.close()


def get_healthz(addr, port, timeout):
    """One GET /healthz from addr -> (status or None, seconds)."""
    t0 = time.monotonic()
    try:
        c = connect_from(addr, port, timeout)
        try:
            buf = harness.send_and_read_all(
                c, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        finally:
            c.close()
    except OSError:
        return None, time.monotonic() - t0
    r = parse_raw_response(buf)
    return (r.status if r else None), time.monotonic() - t0


def served_within(addr, port, seconds):
    """Asks until a 200 comes (a refusal, a reset or a 503 is retried) ->
    seconds it took, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        status, _ = get_healthz(addr, port, max(0.5, seconds - (time.monotonic() - t0)))
        if status == 200:
            return time.monotonic() - t0
        time.sleep(0.1)
    return None


def cut_total(s, keys, at_least, within=3):
    """Waits (the watchdog logs at most once a second) until the
    slow_clients_cut lines add up to at_least for keys -> the total."""
    deadline = time.monotonic() + slow(within)
    while True:
        total = sum(e.get(k, 0) for e in s.log_events()
                    if e.get("event") == "slow_clients_cut" for k in keys)
        if total >= at_least or time.monotonic() > deadline:
            return total
        time.sleep(0.1)


def test_trickled_heads_are_cut_at_the_head_deadline_others_served():
    """7 addresses x 8 connections trickle a head byte a second, more than
    --max-connections 40 lets in: a client of 127.0.0.99 is served within
    a few seconds, and every trickling connection is closed by the
    --header-timeout (3 s; the idle timeout, 60 s, never comes).  A
    keep-alive client asking every half second goes on undisturbed; one
    that stays idle is closed at the deadline too."""
    timeout = 3
    with Server(["--header-timeout", str(timeout), "--max-connections", "40",
                 "--max-per-ip", "8", "--idle-timeout", "60"]) as s:
        busy = connect_from("127.0.0.98", s.port, slow(3))
        idle = connect_from("127.0.0.97", s.port, slow(3))
        for c in (busy, idle):      # each has had an answer: not cut first
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert c.recv(65536).startswith(b"HTTP/1.1 200")
        t = Trickler(s.port, ["127.0.1.%d" % i for i in range(1, 8)], 8)
        try:
            took = served_within("127.0.0.99", s.port, slow(timeout + 3))
            assert took is not None, \
                "127.0.0.99 was not served within %d s" % slow(timeout + 3)
            idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert idle.recv(65536).startswith(b"HTTP/1.1 200"), "idle client's request"
            idle_done = time.monotonic()
            deadline = time.monotonic() + slow(timeout + 3)
            while time.monotonic() < deadline and t.open_count() > 0:
                busy.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                buf = b""
                while not buf.endswith(b"}"):
                    chunk = busy.recv(65536)
                    assert chunk, "the busy keep-alive client was closed"
                    buf += chunk
                assert buf.startswith(b"HTTP/1.1 200"), buf[:100]
                time.sleep(0.5)
            assert t.open_count() == 0, "%d trickling connections still open after %.1f s" \
                % (t.open_count(), slow(timeout + 3))
            worst = max(t.closed_at.values())
            assert worst < slow(timeout + 2), "a trickling connection lasted %.1f s" % worst
            # the idle keep-alive connection: closed about `timeout` after its answer
            idle.settimeout(slow(timeout + 3))
            assert idle.recv(1) == b"", "the idle keep-alive connection got data"
            assert time.monotonic() - idle_done < slow(timeout + 2)
            total = cut_total(s, ("head_timeout", "evicted"), len(t.socks))
            assert total >= len(t.socks), (total, len(t.socks))
        finally:
            t.close()
            busy.close()
            idle.close()


def test_full_of_waiting_clients_a_new_one_is_served_at_once():
    """No head deadline at all (--header-timeout 0): when every connection
    is taken by clients that have not sent a whole head, from 7 addresses
    under the per-address limit, the longest waiting are cut for a new
    client, which is served at its first try."""
    with Server(["--header-timeout", "0", "--max-connections", "40",
                 "--max-per-ip", "8", "--idle-timeout", "60"]) as s:
        t = Trickler(s.port, ["127.0.2.%d" % i for i in range(1, 8)], 8)
        try:
            time.sleep(0.3)   # let the server see them all
            for k in range(3):
                status, took = get_healthz("127.0.0.%d" % (90 + k), s.port, slow(2))
                assert status == 200 and took < slow(1), \
                    "new client %d: %r after %.2f s" % (k, status, took)
            # the waiting ones were cut to make room, down to the limit
            deadline = time.monotonic() + slow(3)
            while time.monotonic() < deadline and t.open_count() > 40:
                time.sleep(0.05)
            assert t.open_count() <= 40, t.open_count()
            assert t.open_count() >= 30, "too many cut: %d left" % t.open_count()
        finally:
            t.close()


def slow_body_client(port, head_extra=b"", pace=0.5, total=4000, first=100, limit=15,
                     path=EVAL, content_type=b"application/json"):
    """POSTs a body declared as `total` bytes: `first` bytes, then one byte
    every `pace` seconds (pace None: nothing more) -> (raw answer, seconds
    until the server closed, or None)."""
    c = connect_from("127.0.3.1", port, 1)
    t0 = time.monotonic()
    buf, closed = b"", None
    try:
        c.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: " + content_type + b"\r\n" + head_extra +
                  b"Content-Length: %d\r\n\r\n" % total + b" " * first)
        sent, nxt = first, t0 + (pace or 0)
        c.setblocking(False)
        while time.monotonic() - t0 < limit and closed is None:
            r, _, _ = select.select([c], [], [], 0.05)
            if r:
                try:
                    chunk = c.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    closed = time.monotonic() - t0
                buf += chunk
            if pace and time.monotonic() >= nxt and sent < total - 1:
                try:
                    c.send(b" ")
                    sent += 1
                except OSError:
                    pass
                nxt += pace
    finally:
        c.close()
    return buf, closed


def test_slow_body_is_answered_408_others_served():
    """A body trickling at 2 bytes a second, far below --body-min-rate
    (1024 B/s after a 5 s grace): a 408 problem+json, and the connection
    closed, within a few seconds of the grace; a normal client meanwhile is
    served at once."""
    with Server(["--body-min-rate", "1024", "--idle-timeout", "60"]) as s:
        out = {}
        th = threading.Thread(target=lambda: out.update(
            r=slow_body_client(s.port, limit=slow(15))), daemon=True)
        th.start()
        time.sleep(1)
        r = s.evaluate({"person": {"mynumber_card": "none"}}, timeout=slow(2))
        assert r.status == 200, r
        th.join(slow(20))
        raw, closed = out["r"]
        assert closed is not None, "the slow body's connection is still open: %r" % raw[:200]
        assert 5 <= closed < slow(9), closed
        r = parse_raw_response(raw)
        assert r is not None, raw[:200]
        assert_problem(r, 408, "request_timeout")
        assert (r.headers.get("Connection") or "").lower() == "close", r.headers


def test_refused_import_body_keeps_the_minimum_rate():
    """A live import has its own limits (--import-min-rate), but the body of
    one refused when it opened (here 415: JSON is no import format), read
    and dropped, is held to --body-min-rate: trickling it at 2 bytes a
    second gets its refusal and the connection closed within a few seconds
    of the grace, not only at the idle timeout (60 s)."""
    with Server(["--body-min-rate", "1024", "--idle-timeout", "60"]) as s:
        raw, closed = slow_body_client(s.port, limit=slow(15), path="/v1/persons:import")
        assert closed is not None, "the refused import's connection is still open: %r" \
            % raw[:200]
        assert 5 <= closed < slow(9), closed
        r = parse_raw_response(raw)
        assert r is not None, raw[:200]
        assert_problem(r, 415, "unsupported_media_type")


def test_silent_body_is_cut():
    """A body that stops (100 of 4000 bytes, then nothing): the connection
    is closed once it has been silent for the 5 s grace and is behind the
    minimum rate, long before the idle timeout (60 s)."""
    with Server(["--body-min-rate", "1024", "--idle-timeout", "60"]) as s:
        raw, closed = slow_body_client(s.port, pace=None, limit=slow(12))
        assert closed is not None, "the silent body's connection is still open"
        assert 5 <= closed < slow(8), closed
        assert cut_total(s, ("body_too_slow",), 1) == 1
        # a body that keeps the pace is not cut (2 KiB/s for 6 s)
        c = connect_from("127.0.3.2", s.port, 1)
        try:
            c.sendall(b"POST " + EVAL.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                      % (12288 + len(BODY)))
            for _ in range(12):
                c.sendall(b" " * 1024)
                time.sleep(0.5)
            c.sendall(BODY)
            c.settimeout(slow(3))
            assert c.recv(65536).startswith(b"HTTP/1.1 200")
        finally:
            c.close()


def test_flags_refuse_bad_values():
    for flag, value in (("--header-timeout", "-1"), ("--header-timeout", "10s"),
                        ("--header-timeout", "86401"), ("--body-min-rate", "fast"),
                        ("--body-min-rate", "1073741825")):
        p = run_cli(["serve", "--no-auth", flag, value])
        assert p.returncode == 2, (flag, value, p.returncode)
        assert "bad value for %s" % flag in p.stderr, p.stderr
