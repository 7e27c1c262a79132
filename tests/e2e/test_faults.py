"""Faults (SPEC §7, §9, §10): SIGTERM under load, a database locked by another
process, a full disk during an import.  (SIGKILL in the middle of an import is
tests/e2e/test_import.py::test_sigkill_mid_import_keeps_the_previous_data.)

What the service does, as these tests pin it down:

- SIGTERM (or SIGINT): the listening socket stops accepting and is shut, so a
  new connection is refused at once; every request already begun (its headers
  read) is finished, a streamed import included (it commits), and its answer
  carries "Connection: close", so keep-alive clients go away instead of
  keeping the drain busy.  Once none is left (or after the 10 s drain window)
  the remaining connections close, the audit queue is written, the database
  closed, "stopped" is logged and the exit code is 0.  A request still
  unfinished when the window ends (an import whose client stalls) is aborted:
  its transaction rolls back; "stopped" is then a warning with
  unfinished_requests.
- Another process holding the write lock (BEGIN IMMEDIATE / EXCLUSIVE: the
  same thing in WAL mode): a write waits the busy timeout (2 s) and answers
  503 problem+json with Retry-After; an import is refused likewise before any
  of it is stored; reads, /healthz and /readyz keep answering at once (WAL).
  Nothing an SQLite client can do stops the readers while the server has the
  file open: `PRAGMA locking_mode=EXCLUSIVE` cannot get its lock (the
  server's connections hold the WAL index).  Only a process that takes the
  WAL index's lock bytes itself (fcntl, as a broken or hostile program or a
  stale network-file-system lock could) stops them: SQLite then retries for
  about 10 s and gives up, and the request answers 503 with Retry-After;
  /healthz, which touches no database, stays fast while a worker thread is
  free.
- A full disk (tmpfs of 2 MiB) or a file-size limit (RLIMIT_FSIZE): the write
  that cannot grow the file fails, the transaction rolls back, the answer is
  507 insufficient_storage (the CLI prints it and exits 1); what was stored
  before is intact and the server keeps serving reads.
"""

import errno
import fcntl
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time

import pytest

import harness
from harness import (HOST, Server, assert_problem, decision_missing_keys,
                     problem_defects, run_cli, slow)

pytestmark = pytest.mark.slow   # the whole module: about a minute

NDJSON = "application/x-ndjson"
DRAIN_WINDOW = 10.0  # service/main.c DRAIN_MS
BUSY_TIMEOUT = 2.0   # db/db.c BUSY_TIMEOUT_MS

REGISTERED = {"birth_date": "1975-01-20", "insurer_number": "138057",
              "mynumber_card": "held", "insurance_registration": "registered"}
# What a connection that the server refuses or drops raises on the client.
DROPPED = (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError,
           BrokenPipeError, http.client.RemoteDisconnected)


# ---- helpers ------------------------------------------------------------------

def ndjson(objs):
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs).encode("utf-8")


def post_import(s, body, timeout=None):
    return s.request("POST", "/v1/persons:import", body=body,
                     headers={"Content-Type": NDJSON}, timeout=timeout)


def timed(fn, *a, **kw):
    t0 = time.monotonic()
    r = fn(*a, **kw)
    return r, time.monotonic() - t0


def wait_exit(s, timeout):
    """Waits for s (already signalled) to exit -> (exit code, seconds
    waited).  Fails on a sanitizer report; kills it when it hangs."""
    t0 = time.monotonic()
    try:
        rc = s.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        s.kill()
        raise AssertionError("the server did not exit within %.0f s of SIGTERM; stderr: %s"
                             % (timeout, s.stderr_tail()))
    waited = time.monotonic() - t0
    s._reader.join(5)
    s.exited()
    if harness.sanitized():
        found = harness.sanitizer_findings(s.stderr_text())
        assert not found, "sanitizer reported %s; stderr: %s" % (", ".join(found),
                                                                s.stderr_tail(40))
    return rc, waited


def stop_clean(s):
    """SIGTERM, exit 0 (harness.Server.stop)."""
    if s is not None and not s.stopped:
        s.stop(timeout=slow(20))


def integrity(db):
    con = sqlite3.connect(db, timeout=5)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def persons_in(db, where="1", args=()):
    """{person_id: display_name} read straight from the file."""
    con = sqlite3.connect(db, timeout=5)
    try:
        return dict(con.execute("SELECT person_id, display_name FROM persons WHERE " + where,
                                args).fetchall())
    finally:
        con.close()


def assert_503_busy(r):
    assert_problem(r, 503, "service_unavailable")
    ra = r.headers.get("Retry-After")
    assert ra is not None and ra.isdigit() and int(ra) >= 1, \
        "a 503 without a usable Retry-After: %r" % (r.headers,)


def trickle(pieces, pause, started=None, sent=None):
    """A request body sent piece by piece with pauses (http.client sends an
    iterable as it comes); sent[0] counts the pieces handed over."""
    for i, p in enumerate(pieces):
        if i == 1 and started is not None:
            started.set()
        if i > 0:
            time.sleep(pause)   # paces the slow client
        if sent is not None:
            sent[0] = i + 1
        yield p


def split(data, n):
    k = max(1, (len(data) + n - 1) // n)
    return [data[i:i + k] for i in range(0, len(data), k)]


def slow_request(s, method, path, body, content_type, pieces, pause, started, out, sent=None):
    """Sends body in pieces; out gets ("ok", Response) or ("error", exc);
    sent[0] (when given) counts the pieces sent."""
    try:
        conn = http.client.HTTPConnection(HOST, s.port, timeout=slow(30))
        try:
            conn.request(method, path, body=trickle(split(body, pieces), pause, started, sent),
                         headers={"Content-Type": content_type,
                                  "Content-Length": str(len(body))})
            r = conn.getresponse()
            data = r.read()
            out.append(("ok", harness.Response(r.status, harness.Headers(r.getheaders()),
                                               data)))
        finally:
            conn.close()
    except Exception as e:  # noqa: BLE001 - reported by the test
        out.append(("error", e))
    finally:
        started.set()


def slow_import(s, body, pieces, pause):
    """An import whose body trickles in (slow_request) on a thread, once its
    first piece is sent -> (thread, out)."""
    out, started = [], threading.Event()
    t = threading.Thread(target=slow_request, daemon=True,
                         args=(s, "POST", "/v1/persons:import", body, NDJSON, pieces, pause,
                               started, out))
    t.start()
    assert started.wait(slow(10)), "the slow import did not start"
    return t, out


def wait_import_writing(s):
    """Waits until an import of s holds the write lock: a write is refused
    at once (DELETE of a person that does not exist: 503, not 404)."""
    harness.wait_for(
        lambda: s.request("DELETE", "/v1/persons/no-such-person",
                          timeout=slow(10)).status == 503,
        slow(10), "the import to begin (a write refused with 503)")


# ---- 1. SIGTERM ---------------------------------------------------------------

def hammer(s, n, stop, term, records):
    """A keep-alive client: evaluate, PUT a new person, GET it, again and
    again.  Each request appends (kind, person_id, token, t0, t1, status,
    headers, body, exc).  After SIGTERM, a failed request is retried once on
    a new connection (to see the refusal), then the client gives up."""
    conn, seq, failed_after_term = None, 0, 0
    while not stop.is_set() and failed_after_term < 2:
        seq += 1
        pid = "load-%d-%05d" % (n, seq)
        token = "client %d request %d" % (n, seq)
        plan = (("evaluate", "POST", "/v1/eligibility:evaluate",
                 {"person": REGISTERED}),
                ("put", "PUT", "/v1/persons/" + pid, dict(REGISTERED, display_name=token)),
                ("get", "GET", "/v1/persons/" + pid, None))
        for kind, method, path, obj in plan:
            if kind == "get" and not (records and records[-1][0] == "put"
                                      and records[-1][5] == 201):
                break
            if conn is None:
                conn = http.client.HTTPConnection(HOST, s.port, timeout=slow(20))
            body = json.dumps(obj).encode() if obj is not None else None
            hdrs = {"Content-Type": "application/json"} if body else {}
            t0 = time.monotonic()
            try:
                conn.request(method, path, body=body, headers=hdrs)
                r = conn.getresponse()
                data = r.read()   # IncompleteRead on a truncated body
                records.append((kind, pid, token, t0, time.monotonic(), r.status,
                                harness.Headers(r.getheaders()), data, None))
                if r.will_close:
                    conn.close()
                    conn = None
            except Exception as e:  # noqa: BLE001 - judged by the test
                records.append((kind, pid, token, t0, time.monotonic(), None, None, None, e))
                conn.close()
                conn = None
                if term.is_set():
                    failed_after_term += 1
                else:
                    return
                break
    if conn is not None:
        conn.close()


def judge(rec):
    """What is wrong with one hammer record ('' when fine)."""
    kind, pid, token, _t0, _t1, status, headers, body, exc = rec
    if exc is not None:
        return "%s %s: %s: %s" % (kind, pid, type(exc).__name__, exc)
    r = harness.Response(status, headers, body)
    if kind == "evaluate":
        if status != 200:
            return "evaluate answered %r" % (r,)
        missing = decision_missing_keys(r.json)
        return "evaluate: incomplete decision, missing %s" % missing if missing else ""
    if kind == "put":
        if status == 503:   # waited the busy timeout behind an import: fine
            bad = problem_defects(r, 503)
            return "put 503: " + "; ".join(bad) if bad else ""
        if status != 201 or not isinstance(r.json, dict) or \
                r.json.get("person_id") != pid or r.json.get("display_name") != token:
            return "put %s answered %r" % (pid, r)
        return ""
    if status != 200 or not isinstance(r.json, dict) or r.json.get("display_name") != token:
        return "get %s answered %r" % (pid, r)
    return ""


def test_sigterm_under_load_drains_and_exits_0():
    d = tempfile.mkdtemp(prefix="shikaku-faults-term-")
    db = os.path.join(d, "term.db")
    s = None
    try:
        s = Server(["--db", db, "--threads", "4"])
        stop, term = threading.Event(), threading.Event()
        records = [[] for _ in range(4)]
        clients = [threading.Thread(target=hammer, args=(s, i, stop, term, records[i]),
                                    daemon=True) for i in range(4)]
        for t in clients:
            t.start()
        # Two slow requests, their bodies trickling in across the signal: a
        # PUT and a batch of 1000 evaluations.
        pause = 0.15
        slow_put, slow_batch = [], []
        put_body = json.dumps(dict(REGISTERED, display_name="slow " + "x" * 80)).encode()
        batch_body = json.dumps({"as_of": "2025-06-01",
                                 "items": [{"person": REGISTERED}] * 1000}).encode()
        started = [threading.Event(), threading.Event()]
        sent = [[0], [0]]
        slow_threads = [
            threading.Thread(target=slow_request, daemon=True,
                             args=(s, "PUT", "/v1/persons/slow-put", put_body,
                                   "application/json", 12, pause, started[0], slow_put,
                                   sent[0])),
            threading.Thread(target=slow_request, daemon=True,
                             args=(s, "POST", "/v1/eligibility:batch", batch_body,
                                   "application/json", 12, pause, started[1], slow_batch,
                                   sent[1])),
        ]
        for t in slow_threads:
            t.start()
        for e in started:
            assert e.wait(slow(10)), "a slow request did not start"
        # under load, the slow bodies a third sent (4 of 12 pieces)
        harness.wait_for(lambda: sum(len(r) for r in records) > 20, slow(10),
                         lambda: "the load to get going: %d requests"
                         % sum(len(r) for r in records))
        harness.wait_for(lambda: min(n[0] for n in sent) >= 4, slow(10),
                         lambda: "the slow bodies to be a third sent: %r" % (sent,))
        assert not slow_put and not slow_batch, "the slow requests ended too soon"

        t_term = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        term.set()
        # A new connection after the signal is refused at once, not left
        # waiting for the drain to end: new connections until one is not
        # answered (before the server has handled the signal they are).
        tries = []

        def refused():
            t_probe = time.monotonic()
            try:
                pr = s.request("GET", "/healthz", timeout=slow(20))
                tries.append(("answered %d" % pr.status, None, time.monotonic() - t_probe))
                return False
            except DROPPED as e:
                tries.append(("refused: %s" % type(e).__name__, e, time.monotonic() - t_probe))
            except OSError as e:
                tries.append(("failed: %s: %s" % (type(e).__name__, e), None,
                              time.monotonic() - t_probe))
            return True

        harness.wait_for(refused, slow(5), lambda: "a new connection refused after "
                         "SIGTERM; tried %r" % ([t[0] for t in tries],), interval=0.02)
        probe, probe_exc, probe_s = tries[-1]

        rc, waited = wait_exit(s, slow(DRAIN_WINDOW + 10))
        exited_after = time.monotonic() - t_term
        stop.set()
        for t in clients + slow_threads:
            t.join(slow(10))

        # the slow requests were finished, not cut
        assert slow_put and slow_put[0][0] == "ok", "slow PUT: %r" % (slow_put,)
        r = slow_put[0][1]
        assert r.status == 201 and r.json["display_name"].startswith("slow "), r
        assert r.headers.get("Connection", "").lower() == "close", \
            "an answer during the drain without Connection: close: %r" % (r.headers,)
        assert slow_batch and slow_batch[0][0] == "ok", "slow batch: %r" % (slow_batch,)
        r = slow_batch[0][1]
        assert r.status == 200 and len(r.json["results"]) == 1000, r
        missing = decision_missing_keys(r.json["results"][999])
        assert not missing, missing

        assert rc == 0, "exit code %s after SIGTERM; stderr: %s" % (rc, s.stderr_tail())
        # the slow bodies needed ~1.3 s more after the signal
        assert exited_after < DRAIN_WINDOW, \
            "the drain took %.1f s: the keep-alive load held it to the window" % exited_after
        assert probe_exc is not None and probe_s < slow(1.0), \
            "a new connection after SIGTERM was %s after %.2f s (expected refused at once)" \
            % (probe, probe_s)

        ev = s.log_events()
        names = [e.get("event") for e in ev]
        assert "stopping" in names and names[-1] == "stopped", names[-5:]
        assert ev[-1].get("level") == "info" and "unfinished_requests" not in ev[-1], ev[-1]

        # every answer complete and valid; only dropped connections after
        # the signal, never a truncated body or a hang
        all_recs = [x for rs in records for x in rs]
        bad = []
        after_term = 0
        for rec in all_recs:
            if rec[4] > t_term:
                after_term += 1
            if rec[8] is not None and rec[3] >= t_term - 0.05 and isinstance(rec[8], DROPPED):
                continue
            why = judge(rec)
            if why:
                bad.append(why)
        assert not bad, "%d bad answers of %d, e.g. %s" % (len(bad), len(all_recs), bad[:3])
        acked = {rec[1]: rec[2] for rec in all_recs if rec[0] == "put" and rec[5] == 201}
        assert len(acked) > 5, "too few writes acknowledged: %d" % len(acked)

        assert integrity(db) == "ok"
        stored = persons_in(db)
        lost = [p for p, token in acked.items() if stored.get(p) != token]
        assert not lost, "acknowledged writes missing after the drain: %s" % lost[:5]
        assert stored.get("slow-put", "").startswith("slow ")
        note("sigterm: %d requests, %d finished after the signal, exit 0 %.2f s "
                     "after it; new connection %s in %.3f s"
                     % (len(all_recs), after_term, exited_after, probe, probe_s))
    finally:
        if s is not None and not s.stopped:
            s.kill()
        shutil.rmtree(d, ignore_errors=True)


def test_sigterm_mid_import_commits_it_or_rolls_it_back():
    """An import in flight at SIGTERM is finished and committed; one whose
    client stalls past the drain window is aborted and rolled back."""
    d = tempfile.mkdtemp(prefix="shikaku-faults-imp-")
    db = os.path.join(d, "imp.db")
    s = None
    try:
        s = Server(["--db", db])
        r = post_import(s, ndjson([{"person_id": "old-%03d" % i, "display_name": "old"}
                                   for i in range(50)]))
        assert r.status == 200, r
        # 1: the body keeps trickling in for ~1 s after the signal
        body = ndjson([{"person_id": "old-%03d" % i, "display_name": "new"} for i in range(50)]
                      + [{"person_id": "imp-%04d" % i, "display_name": "imported %d" % i,
                          "birth_date": "1950-01-01"} for i in range(2000)])
        t, out = slow_import(s, body, 10, 0.15)
        wait_import_writing(s)
        assert not out, "the import ended before the signal: %r" % (out,)
        t_term = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        rc, _ = wait_exit(s, slow(DRAIN_WINDOW + 10))
        exited_after = time.monotonic() - t_term
        t.join(slow(10))
        assert out and out[0][0] == "ok", "the import in flight got no answer: %r" % (out,)
        r = out[0][1]
        assert r.status == 200 and r.json["inserted"] == 2000 and r.json["updated"] == 50, r
        assert rc == 0 and exited_after < DRAIN_WINDOW, (rc, exited_after)
        assert integrity(db) == "ok"
        stored = persons_in(db)
        assert len(stored) == 2050 and stored["old-000"] == "new", len(stored)

        # 2: the client sends half its body and stalls: the drain window ends,
        # the import is aborted and nothing of it stays
        s = Server(["--db", db])
        stall = ndjson([{"person_id": "old-%03d" % i, "display_name": "stalled"}
                        for i in range(50)]
                       + [{"person_id": "stall-%04d" % i} for i in range(2000)])
        sock = socket.create_connection((HOST, s.port), timeout=slow(30))
        sock.sendall(("POST /v1/persons:import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n"
                      "Content-Length: %d\r\n\r\n" % (NDJSON, len(stall))).encode()
                     + stall[:len(stall) // 2])
        wait_import_writing(s)
        t_term = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        rc, _ = wait_exit(s, slow(DRAIN_WINDOW + 10))
        exited_after = time.monotonic() - t_term
        try:
            got = sock.recv(65536)
        except OSError:
            got = b""
        sock.close()
        assert rc == 0, "exit code %s; stderr: %s" % (rc, s.stderr_tail())
        assert DRAIN_WINDOW - 0.5 <= exited_after < DRAIN_WINDOW + slow(5), \
            "exited %.1f s after SIGTERM: expected the drain window (%.0f s)" \
            % (exited_after, DRAIN_WINDOW)
        assert not got, "the stalled import got an answer: %r" % got[:200]
        ev = s.log_events()
        assert ev[-1].get("event") == "stopped" and ev[-1].get("unfinished_requests") == 1, \
            ev[-1]
        assert any(e.get("event") == "request_aborted" for e in ev), "no request_aborted line"
        assert integrity(db) == "ok"
        stored = persons_in(db)
        assert len(stored) == 2050 and stored["old-000"] == "new" and "stall-0000" not in stored, \
            "the aborted import left something behind"
    finally:
        if s is not None and not s.stopped:
            s.kill()
        shutil.rmtree(d, ignore_errors=True)


# ---- 2. a locked database --------------------------------------------------------

def in_background(fn, *a, **kw):
    """Runs fn in a thread -> a function returning (result or exception,
    seconds)."""
    box = []

    def run():
        t0 = time.monotonic()
        try:
            box.append((fn(*a, **kw), time.monotonic() - t0))
        except Exception as e:  # noqa: BLE001
            box.append((e, time.monotonic() - t0))

    t = threading.Thread(target=run, daemon=True)
    t.start()

    def result(timeout):
        t.join(timeout)
        assert box, "no answer within %.0f s: the server hangs" % timeout
        return box[0]
    return result


JSON = {"Content-Type": "application/json"}


def wait_open(s, n, what):
    """Waits until the server counts n open connections (the asking one
    included): requests sent have been taken in by its worker threads."""
    harness.wait_for(lambda: s.open_connections() >= n, slow(10),
                     lambda: "%s to be taken in: %s of %d connections open"
                     % (what, s.open_connections(), n))


def fast_reads(s, pid, direct=False):
    """/healthz, /readyz and a stored person, each answering at once.
    direct: on new connections straight to the server, never on a
    keep-alive connection of Prism's proxy (--via-prism), which may sit on
    a worker thread held by a write."""
    get = (lambda path, **kw: s.direct("GET", path, **kw)) if direct else s.get
    for path, want in (("/healthz", 200), ("/readyz", 200), ("/v1/persons/" + pid, 200),
                       ("/v1/persons?limit=10", 200)):
        r, took = timed(get, path, timeout=slow(10))
        assert r.status == want, "%s answered %r while the database was locked" % (path, r)
        assert took < slow(0.5), "%s took %.2f s while the database was locked" % (path, took)


def test_writes_during_an_import_are_refused_at_once():
    """An import of this server holds the write lock until it ends (one
    transaction, however slow the upload): a PUT, a DELETE, an insurer PUT
    or a second import meanwhile is a 503 with Retry-After at once, not after
    the busy timeout with a worker thread held; reads go on; writes go
    through again when the import has ended."""
    d = tempfile.mkdtemp(prefix="shikaku-faults-impw-")
    db = os.path.join(d, "w.db")
    s = None
    try:
        s = Server(["--db", db])
        r = s.request("PUT", "/v1/persons/kept", json_body=dict(REGISTERED, display_name="kept"))
        assert r.status == 201, r
        body = ndjson([{"person_id": "imp-%04d" % i} for i in range(2000)])
        t, out = slow_import(s, body, 20, 0.25)
        wait_import_writing(s)
        writes = (
            ("PUT", lambda: s.request("PUT", "/v1/persons/during", json_body=REGISTERED,
                                      timeout=slow(20))),
            ("DELETE", lambda: s.request("DELETE", "/v1/persons/kept", timeout=slow(20))),
            ("insurer PUT", lambda: s.request("PUT", "/v1/insurers/01130012",
                                              json_body={"name_ja": "during"},
                                              timeout=slow(20))),
            ("import", lambda: post_import(s, ndjson([{"person_id": "second"}]),
                                           timeout=slow(20))))
        for what, call in writes:
            r, took = timed(call)
            assert_503_busy(r)
            assert "import" in r.json["detail"], r.json
            assert took < slow(0.5), "%s waited %.2f s for the import" % (what, took)
        fast_reads(s, "kept")
        assert not out, "the import ended before the writes were tried: %r" % (out,)
        t.join(slow(30))
        assert out and out[0][0] == "ok", out
        assert out[0][1].status == 200 and out[0][1].json["inserted"] == 2000, out[0][1]
        r = s.request("PUT", "/v1/persons/during", json_body=REGISTERED)
        assert r.status == 201, r
        stored = persons_in(db)
        assert len(stored) == 2002 and stored["kept"] == "kept" and "second" not in stored
    finally:
        stop_clean(s)
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.sqlite_only(reason="another process holding the SQLite file's write lock")
def test_write_locked_by_another_process_is_503_reads_go_on():
    with harness.temp_run("faults-lock", "lock.db") as run:
        db = run.db
        s = run.server(["--threads", "4"])
        r = s.request("PUT", "/v1/persons/kept", json_body=dict(REGISTERED, display_name="kept"))
        assert r.status == 201, r
        imp = ndjson([{"person_id": "while-locked-%d" % i} for i in range(200)])

        for how in ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"):
            other = sqlite3.connect(db, isolation_level=None, timeout=0)
            try:
                other.execute(how)   # in WAL mode both take the write lock only
                # Sent straight to the server, as the reads below: the
                # count of open connections tells when the server has them
                # (Prism's proxy, --via-prism, keeps connections of its own).
                base = s.open_connections()
                put = in_background(s.direct, "PUT", "/v1/persons/blocked",
                                    body=json.dumps(REGISTERED), headers=JSON,
                                    timeout=slow(20))
                # a moment apart: a worker thread waiting on the lock serves
                # none of its other connections meanwhile (see the report)
                time.sleep(0.1)
                im = in_background(s.direct, "POST", "/v1/persons:import", body=imp,
                                   headers={"Content-Type": NDJSON}, timeout=slow(20))
                time.sleep(0.1)
                ins = in_background(s.direct, "PUT", "/v1/insurers/01130012",
                                    body=json.dumps({"name_ja": "while locked"}),
                                    headers=JSON, timeout=slow(20))
                time.sleep(0.1)   # (and the next connection, asking, alike)
                # Best effort: the /metrics probe itself may be taken in by a
                # worker thread that then picks up one of the writes and waits
                # with it, and come back only once the writes are answered.
                # What must hold is checked below: each write waited for the
                # busy timeout, and the reads, sent meanwhile, were fast.
                t_reads = time.monotonic()
                try:
                    wait_open(s, base + 3, "the three writes")
                except AssertionError as e:
                    note("open connections not seen (%s); reading anyway" % e)
                fast_reads(s, "kept", direct=True)   # while the three writes wait
                reads_took = time.monotonic() - t_reads
                for what, res in (("PUT", put(slow(20))), ("import", im(slow(20))),
                                  ("insurer PUT", ins(slow(20)))):
                    r, took = res
                    assert not isinstance(r, Exception), "%s: %r" % (what, r)
                    assert_503_busy(r)
                    assert BUSY_TIMEOUT - 0.3 <= took < slow(5), \
                        "%s (%s) answered after %.2f s: expected about the busy timeout" \
                        % (what, how, took)
                note("locked (%s): PUT 503 in %.2f s, import 503 in %.2f s, reads done "
                     "%.2f s after the writes were sent" % (how, put(0)[1], im(0)[1], reads_took))
            finally:
                other.execute("ROLLBACK")
                other.close()
            # nothing half-written, and writes go through again at once
            assert persons_in(db, "person_id LIKE 'while-locked-%' OR person_id = 'blocked'") \
                == {}, "a refused write left rows"
            r, took = timed(s.request, "PUT", "/v1/persons/after-" + how[6:].lower(),
                            json_body=REGISTERED)
            assert r.status == 201 and took < slow(1), (r, took)

        r = post_import(s, imp)
        assert r.status == 200 and r.json["inserted"] == 200, r

        # An exclusive locking mode (which would stop readers too) cannot be
        # had while the server has the file open: the attempt fails, and the
        # server does not notice.
        other = sqlite3.connect(db, isolation_level=None, timeout=0.5)
        try:
            other.execute("PRAGMA locking_mode=EXCLUSIVE")
            try:
                other.execute("BEGIN EXCLUSIVE")
                other.execute("UPDATE persons SET display_name = 'x' WHERE person_id = 'kept'")
                other.execute("COMMIT")
                got = "acquired"
            except sqlite3.OperationalError as e:
                got = str(e)
        finally:
            other.close()
        assert got == "database is locked", \
            "another process got an exclusive locking mode on the live database: %s" % got
        fast_reads(s, "kept")
        r = s.request("PUT", "/v1/persons/kept", json_body=dict(REGISTERED, display_name="kept 2"))
        assert r.status == 200, r

        # What does stop readers: the WAL index's lock bytes taken directly
        # (a broken or hostile program).  Never a hang: SQLite gives up after
        # about 10 s, the answer is 503; /healthz, which reads nothing, stays
        # fast on a free worker thread.
        shm = os.open(db + "-shm", os.O_RDWR)
        try:
            fcntl.lockf(shm, fcntl.LOCK_EX | fcntl.LOCK_NB, 8, 120)  # WAL_WRITE .. READ(4)
            locked = []
            base = s.open_connections()
            for args in (("GET", "/v1/persons/kept"), ("GET", "/v1/persons?limit=10"),
                         ("PUT", "/v1/persons/blocked")):
                # one per worker thread: a thread stuck in SQLite serves none
                # of its other connections, and accepts none meanwhile
                put_args = dict(body=json.dumps(REGISTERED), headers=JSON) \
                    if args[0] == "PUT" else {}
                locked.append(in_background(s.direct, *args, timeout=slow(40), **put_args))
                time.sleep(0.1)
            wait_open(s, base + 3, "the three requests on the locked database")
            r, took = timed(s.direct, "GET", "/healthz", timeout=slow(10))
            assert r.status == 200 and took < slow(0.5), (r, took)
            times = []
            for res in locked:
                r, took = res(slow(40))
                assert not isinstance(r, Exception), r
                assert_503_busy(r)
                assert took < 15, "answered after %.1f s" % took
                times.append(took)
        finally:
            fcntl.lockf(shm, fcntl.LOCK_UN, 8, 120)
            os.close(shm)
        note("WAL index locked: reads and writes 503 after %s s"
                     % ", ".join("%.1f" % t for t in times))
        fast_reads(s, "kept")
        r = s.request("PUT", "/v1/persons/blocked", json_body=REGISTERED)
        assert r.status == 201, r
        stop_clean(s)
        assert integrity(db) == "ok"
        assert persons_in(db, "person_id = 'kept'") == {"kept": "kept 2"}


# ---- 3. a full disk ---------------------------------------------------------------

def mount_tmpfs(size):
    """A fresh tmpfs of that size -> its directory, or None when this machine
    does not allow mounting (not root, no CAP_SYS_ADMIN, a container)."""
    mnt = tempfile.mkdtemp(prefix="shikaku-faults-tmpfs-")
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size,
                            "tmpfs", mnt], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=10)
    except (OSError, subprocess.SubprocessError):
        p = None
    if p is None or p.returncode != 0:
        os.rmdir(mnt)
        return None
    return mnt


def unmount(mnt):
    if subprocess.run(["umount", mnt], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["umount", "-l", mnt], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    try:
        os.rmdir(mnt)
    except OSError:
        pass


def fill(path):
    """Writes path until the file system is full."""
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise


BEFORE = [{"person_id": "keep-%03d" % i, "display_name": "保持 %d" % i,
           "birth_date": "1940-01-01", "mynumber_card": "held",
           "insurance_registration": "registered"} for i in range(100)]


def big_import(n):
    """Overwrites the first persons and adds n more."""
    return ndjson([{"person_id": "keep-%03d" % i, "display_name": "overwritten",
                    "birth_date": "1941-01-01"} for i in range(100)]
                  + [{"person_id": "new-%06d" % i, "display_name": "名前 %d" % i,
                      "birth_date": "1950-01-01", "care_needs": ["elderly"]}
                     for i in range(n)])


@pytest.mark.sqlite_only(reason="a file-size limit on the SQLite file (PostgreSQL's disk is the server's)")
def test_full_disk_during_import_is_507_and_keeps_the_data():
    mnt = mount_tmpfs("2m")
    if mnt is None:
        note("full disk: mount not allowed here: tmpfs part skipped "
                     "(the RLIMIT_FSIZE test still runs)", always=True)
        return
    s = None
    try:
        db = os.path.join(mnt, "full.db")
        s = Server(["--db", db])
        r = post_import(s, ndjson(BEFORE))
        assert r.status == 200 and r.json["inserted"] == 100, r
        before = {p["person_id"]: s.get("/v1/persons/" + p["person_id"]).json for p in BEFORE}

        # a PUT on a full disk: 507, nothing written
        filler = os.path.join(mnt, "filler")
        fill(filler)
        r, took = timed(s.request, "PUT", "/v1/persons/on-full-disk", json_body=REGISTERED)
        assert_problem(r, 507, "insufficient_storage")
        os.unlink(filler)
        fast_reads(s, "keep-000")

        # an import that outgrows the disk: 507, nothing of it stored
        body = big_import(40000)
        r, took_imp = timed(post_import, s, body, timeout=slow(60))
        assert_problem(r, 507, "insufficient_storage")
        assert "nothing was stored" in r.json["detail"], r.json
        note("full disk: PUT 507 in %.2f s, import (%d bytes) 507 in %.2f s"
                     % (took, len(body), took_imp))
        fast_reads(s, "keep-000")
        for pid, doc in before.items():
            g = s.get("/v1/persons/" + pid)
            assert g.status == 200 and g.json == doc, "%s changed: %r" % (pid, g)
        for pid in ("new-000000", "new-039999", "on-full-disk"):
            assert s.get("/v1/persons/" + pid).status == 404, pid + " was stored"
        w = s.get("/v1/persons?limit=1000")
        assert w.status == 200 and len(w.json["items"]) == 100, (w.status, len(w.json["items"]))
        # a small write afterwards: stored (the WAL's space is reused) or a
        # clean 507, never a 500
        r = s.request("PUT", "/v1/persons/after", json_body=REGISTERED)
        assert r.status == 201 or not problem_defects(r, 507), r
        stop_clean(s)
        assert integrity(db) == "ok"
        stored = persons_in(db)
        assert {k: v for k, v in stored.items() if k != "after"} == \
            {p["person_id"]: p["display_name"] for p in BEFORE}, "the previous data changed"
    finally:
        if s is not None and not s.stopped:
            s.kill()
        unmount(mnt)


@pytest.mark.sqlite_only(reason="a file-size limit on the SQLite file")
def test_file_size_limit_fails_the_cli_import_cleanly():
    d = tempfile.mkdtemp(prefix="shikaku-faults-fsize-")
    try:
        db = os.path.join(d, "fsize.db")
        first = os.path.join(d, "first.ndjson")
        with open(first, "wb") as f:
            f.write(ndjson(BEFORE))
        p = run_cli(["import", "--db", db, first])
        assert p.returncode == 0, (p.returncode, p.stderr)
        big = os.path.join(d, "big.ndjson")
        with open(big, "wb") as f:
            f.write(big_import(50000))
        limit = 1 << 20   # far more than the database now, far less than the import

        def limited(ignore_sigxfsz):
            def pre():
                if ignore_sigxfsz:
                    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
            t0 = time.monotonic()
            q = subprocess.run([harness.binary(), "import", "--db", db, big],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=harness.clean_env(), preexec_fn=pre, timeout=slow(60))
            return q, time.monotonic() - t0

        # SIGXFSZ ignored: write(2) fails with EFBIG -> a clean refusal
        q, took = limited(True)
        err = q.stderr.decode("utf-8", "replace")
        assert q.returncode == 1, (q.returncode, err[-500:])
        ans = json.loads(q.stdout.decode())
        assert ans["status"] == 507 and ans["errors"][0]["code"] == "insufficient_storage", ans
        assert "NOT stored (status 507)" in err, err
        assert not harness.sanitizer_findings(err), err[-2000:]
        assert integrity(db) == "ok"
        assert persons_in(db) == {p["person_id"]: p["display_name"] for p in BEFORE}
        # SIGXFSZ at its default: the process dies in the middle of a write,
        # the database is as before (like a SIGKILL)
        q2, took2 = limited(False)
        assert q2.returncode == -signal.SIGXFSZ, (q2.returncode, q2.stderr[-500:])
        assert integrity(db) == "ok"
        assert persons_in(db) == {p["person_id"]: p["display_name"] for p in BEFORE}
        p = run_cli(["import", "--db", db, first])
        assert p.returncode == 0 and json.loads(p.stdout)["unchanged"] == 100, p.stdout
        note("RLIMIT_FSIZE %d: import refused (507, exit 1) in %.2f s; "
                     "killed by SIGXFSZ in %.2f s" % (limit, took, took2))
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- notes ---------------------------------------------------------------------------

NOTES = []


def note(text, always=False):
    """Measurements worth a look: printed when FAULTS_NOTES=1 is in the
    environment (always for a part this machine did not allow)."""
    NOTES.append(text)
    if always or os.environ.get("FAULTS_NOTES"):
        print("  note: " + text, flush=True)
