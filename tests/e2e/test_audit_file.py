"""The audit log in a file of its own (issue 12, item 1; SPEC §7, §8, §10).

What the service does, as these tests pin it down:

- The audit log lives in FILE-audit beside the database FILE (mode 0600, its
  own WAL and migrations): written only by the audit writer thread, read by
  GET /v1/audit.  No import or other writer of the database shares its write
  lock, so an import held open for minutes no longer starves it.
- A database of an older version has its audit rows moved into FILE-audit at
  start (or by `shikakud migrate`), seq and all; the database keeps no audit
  table.
- An import upload is cut when it takes longer than --import-timeout or
  comes slower than --import-min-rate over --import-rate-window: its
  transaction rolls back (nothing stored), `import_cut` is logged, and the
  answer is a 408 problem, written at once while the body is still coming;
  the connection then closes lingering, so the client reads it.
- When the audit writer cannot write (the audit file locked by another
  process, a full disk) for AUDIT_LOG_STALL_MS (5 s), the routes that must be
  audited answer 503 audit_unavailable with Retry-After, unprocessed, while
  the others (evaluate) go on; they are answered again once the writer has
  written its rows, and none of the rows of the requests answered 200 is
  lost.
"""

import datetime
import glob
import json
import os
import shutil
import socket
import sqlite3
import stat
import tempfile
import threading
import time

import pytest

import harness
from harness import HOST, Server, assert_problem, put_person, run_cli, slow

HERE = os.path.dirname(os.path.abspath(__file__))
MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "db", "migrations")
NDJSON = "application/x-ndjson"
STALL = 5.0  # db/audit_log.h AUDIT_LOG_STALL_MS
# The day of the rows of old_database: three days ago in Tokyo.
OLD_DAY = (datetime.date.fromisoformat(harness.today_tokyo())
           - datetime.timedelta(days=3)).isoformat()

PERSON = {"display_name": "監査 太郎", "birth_date": "1940-04-04",
          "insurer_number": "138057", "mynumber_card": "held",
          "insurance_registration": "registered"}
FACTS = {"birth_date": "1950-01-01", "mynumber_card": "held",
         "insurance_registration": "registered"}


# ---- helpers ------------------------------------------------------------------

def events(s, name):
    return [e for e in s.log_events() if e.get("event") == name]


def wait_event(s, name, timeout=5, pred=lambda e: True):
    deadline = time.monotonic() + slow(timeout)
    while True:
        for e in events(s, name):
            if pred(e):
                return e
        if time.monotonic() > deadline:
            raise AssertionError("no %s in the log; tail: %s" % (name, s.stderr_tail(10)))
        time.sleep(0.05)


def lookup(s, pid, rid):
    return s.get("/v1/persons/%s/eligibility" % pid, headers={"X-Request-Id": rid})


def audit_ids(s, pid):
    """The request ids of every audit row naming pid, and whether the query
    saw every row queued before it."""
    ids, cursor, complete = [], None, True
    while True:
        q = "/v1/audit?limit=1000&person_id=" + pid + ("&cursor=" + cursor if cursor else "")
        r = s.get(q)
        assert r.status == 200, r
        complete = complete and r.headers.get("X-Audit-Complete") == "true"
        ids += [row["request_id"] for row in r.json["items"]]
        cursor = r.json["next_cursor"]
        if not cursor:
            return ids, complete


def metric(s, name, **labels):
    text = s.get("/metrics").text
    want = name + ("{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}"
                   if labels else "")
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    raise AssertionError("no metric %s in %s" % (want, text[-2000:]))


def tables(path):
    con = sqlite3.connect(path)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    finally:
        con.close()


def scalar(path, sql):
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


class SlowUpload:
    """A chunked import on a raw socket: first pieces at once, then one
    chunk byte every `pause` seconds on a thread, until the server closes
    the connection (or answers) or `limit` seconds pass."""

    def __init__(self, s, first, trickle, pause, limit):
        self.sock = socket.create_connection((HOST, s.port), timeout=slow(10))
        self.sock.sendall(b"POST /v1/persons:import HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Content-Type: " + NDJSON.encode() + b"\r\n"
                          b"Transfer-Encoding: chunked\r\nX-Request-Id: slow-import\r\n\r\n")
        self.sock.sendall(b"%x\r\n%s\r\n" % (len(first), first))
        self.t0 = time.monotonic()
        self.ended = None     # seconds after the start when the server ended it
        self.answer = b""
        self.trickle, self.pause, self.limit = trickle, pause, limit
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(self.pause)
        i = 0
        while time.monotonic() - self.t0 < self.limit:
            try:
                data = self.sock.recv(65536)
                if not data:
                    self.ended = time.monotonic() - self.t0
                    return
                self.ended = time.monotonic() - self.t0
                self._read_rest(data)
                return
            except socket.timeout:
                pass
            except OSError:
                self.ended = time.monotonic() - self.t0
                return
            try:
                ch = self.trickle[i % len(self.trickle):i % len(self.trickle) + 1]
                self.sock.sendall(b"1\r\n" + ch + b"\r\n")
                i += 1
            except OSError:
                self.ended = time.monotonic() - self.t0
                return

    def _read_rest(self, data):
        """The answer begun by data, read to the server's close."""
        self.sock.settimeout(slow(5))
        try:
            while data:
                self.answer += data
                data = self.sock.recv(65536)
        except OSError:
            pass

    def running(self):
        return self.thread.is_alive()

    def close(self):
        self.thread.join(self.limit + 5)
        self.sock.close()


def ndjson(objs):
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs).encode("utf-8")


# ---- 1. an import held open no longer starves the audit ------------------------

def test_a_slow_import_is_cut_and_every_lookup_meanwhile_is_audited():
    with harness.temp_run("slow") as run:
        up = None
        try:
            s = run.server(["--import-min-rate", "1000", "--import-rate-window", "2",
                            "--import-timeout", "60"])
            put_person("look-1", PERSON, s)
            first = ndjson([dict(PERSON, person_id="slow-imp-1"),
                            dict(PERSON, person_id="slow-imp-2")])
            up = SlowUpload(s, first, b'{"person_id":"slow-imp-3"}\n', 0.5, slow(40))
            # the import holds the database's write lock: writes are refused
            deadline = time.monotonic() + slow(5)
            while True:
                r = s.request("PUT", "/v1/persons/during", json_body=PERSON)
                # A PUT that raced the import's BEGIN waits out the busy timeout
                # and says "busy"; once the import holds the lock, one is
                # refused at once saying why.
                if r.status == 503 and "import" in r.json["detail"]:
                    break
                assert r.status in (200, 201, 503), r
                assert time.monotonic() < deadline, "the import never held the write lock: %r" % r
                time.sleep(0.05)
            answered, n, seen_complete = [], 0, False
            while up.running():
                n += 1
                rid = "look-during-%04d" % n
                r = lookup(s, "look-1", rid)
                assert r.status == 200, r
                answered.append(rid)
                if n % 10 == 0:
                    # while the import holds the database, the audit is written
                    ids, complete = audit_ids(s, "look-1")
                    assert complete, "GET /v1/audit waited in vain while an import was open"
                    assert set(answered) <= set(ids), set(answered) - set(ids)
                    seen_complete = True
                time.sleep(0.05)
            up.close()
            assert seen_complete, "the import ended before the audit was read during it"
            assert up.ended is not None, "the slow import was never cut"
            assert 2 <= up.ended < slow(15), "cut after %.1f s" % up.ended
            assert up.answer, "the slow import was closed without its 408"
            resp = harness.parse_raw_response(up.answer)
            assert_problem(resp, 408, "request_timeout")
            assert resp.headers.get("connection", "").lower() == "close", resp.headers
            cut = wait_event(s, "import_cut", pred=lambda e: e.get("request_id") == "slow-import")
            assert cut["reason"] == "too_slow" and cut["level"] == "warn", cut
            line = wait_event(s, "request", pred=lambda e: e.get("request_id") == "slow-import")
            assert line["status"] == 408 and line["route"] == "/v1/persons:import", line
            # nothing of it stored, writes go through again
            for pid in ("slow-imp-1", "slow-imp-2", "slow-imp-3"):
                assert s.get("/v1/persons/" + pid).status == 404, pid
            r = s.request("PUT", "/v1/persons/after-cut", json_body=PERSON)
            assert r.status == 201, r
            # every lookup answered 200 has its row; the cut import has its own
            ids, complete = audit_ids(s, "look-1")
            assert complete
            missing = set(answered) - set(ids)
            assert not missing, "%d of %d lookups have no audit row: %s" % (
                len(missing), len(answered), sorted(missing)[:5])
            ids, _ = audit_ids(s, "slow-imp-1")
            assert "slow-import" in ids, ids
            assert metric(s, "shikaku_audit_records_total", result="dropped") == 0
            s.stop()
        finally:
            if up is not None:
                up.sock.close()


def test_an_import_is_cut_at_its_total_time_limit():
    s = Server(["--import-timeout", "2", "--import-min-rate", "0"])
    up = None
    try:
        line = ndjson([dict(PERSON, person_id="long-imp-%d" % i) for i in range(3)])
        # plenty of bytes a second, but for longer than the limit
        up = SlowUpload(s, line, b" " * 64, 0.05, slow(20))
        up.close()
        assert up.ended is not None and 2 <= up.ended < slow(8), up.ended
        assert up.answer, "the long import was closed without its 408"
        assert_problem(harness.parse_raw_response(up.answer), 408, "request_timeout")
        cut = wait_event(s, "import_cut")
        assert cut["reason"] == "timeout", cut
        assert metric(s, "shikaku_requests_total", route="/v1/persons:import", status="408") == 1
        assert s.get("/v1/persons/long-imp-0").status == 404
        # an import within the limits is stored as ever
        r = s.request("POST", "/v1/persons:import", body=line, headers={"Content-Type": NDJSON})
        assert r.status == 200 and r.json["inserted"] == 3, r
        s.stop()
    finally:
        if up is not None:
            up.sock.close()
        if not s.stopped:
            s.kill()


# ---- 2. the file, and the move of an older database's rows ---------------------

@pytest.mark.sqlite_only(reason="the SQLite audit file FILE-audit (on PostgreSQL the audit log is a table)")
def test_the_audit_log_is_a_private_file_beside_the_database():
    with harness.temp_run("file", "x.db") as run:
        d, db = run.dir, run.db
        s = run.server()
        put_person("file-1", PERSON, s)
        assert lookup(s, "file-1", "file-look").status == 200
        ids, _ = audit_ids(s, "file-1")
        assert "file-look" in ids, ids
        audit = db + "-audit"
        assert os.path.exists(audit), os.listdir(d)
        for p in (db, audit):
            mode = stat.S_IMODE(os.stat(p).st_mode)
            assert mode == 0o600, "%s has mode %o" % (p, mode)
        s.stop()
        assert not {"audit", "audit_person"} & tables(db), tables(db)
        assert {"audit", "audit_person"} <= tables(audit), tables(audit)
        assert scalar(audit, "SELECT count(*) FROM audit WHERE request_id = 'file-look'") == 1
        assert scalar(audit, "PRAGMA journal_mode") == "wal"
        assert scalar(audit, "PRAGMA user_version") >= 1


def old_database(path):
    """A database as the build before the audit file made it: every
    migration before *_audit_own_file.sql (without the seed rows), with
    three audit rows of two persons."""
    files = sorted(glob.glob(os.path.join(MIGRATIONS, "[0-9][0-9][0-9]_*.sql")))
    names = [os.path.basename(f) for f in files]
    upto = [i for i, n in enumerate(names) if n.endswith("_audit_own_file.sql")]
    assert upto, names
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = WAL")
        for f in files[:upto[0]]:
            with open(f, encoding="utf-8") as fh:
                con.executescript(fh.read())
        con.execute("PRAGMA user_version = %d" % upto[0])
        # recent enough for the default retention (400 days)
        day = OLD_DAY
        nxt = (datetime.date.fromisoformat(day) + datetime.timedelta(days=1)).isoformat()
        rows = [(7, day + "T09:00:00.000+09:00", "old-r1", "old-a", 200),
                (8, day + "T09:00:01.000+09:00", "old-r2", "old-a old-b", 200),
                (20000, nxt + "T10:00:00.000+09:00", "old-r3", "old-b", 404)]
        for seq, t, rid, pids, status in rows:
            con.execute("INSERT INTO audit (seq, time, key_id, request_id, method, route, "
                        "person_ids, status) VALUES (?, ?, NULL, ?, 'GET', "
                        "'/v1/persons/{id}', ?, ?)", (seq, t, rid, pids, status))
            for pid in pids.split():
                con.execute("INSERT INTO audit_person (bucket, person_id, seq) "
                            "VALUES (? >> 14, ?, ?)", (seq, pid, seq))
    finally:
        con.close()
    os.chmod(path, 0o600)
    return upto[0]


@pytest.mark.sqlite_only(reason="moving an old SQLite file's audit rows into FILE-audit")
def test_an_older_database_has_its_audit_rows_moved_into_the_audit_file():
    with harness.temp_run("move", "old.db") as run:
        db = run.db
        old_database(db)
        s = run.server()
        e = wait_event(s, "database_migrated")
        assert e["audit_rows_moved"] == 3 and e["audit_schema_from"] == 0, e
        r = s.get("/v1/audit?person_id=old-b")
        assert r.status == 200, r
        got = [(i["seq"], i["request_id"], i["person_ids"], i["status"]) for i in r.json["items"]]
        assert got == [(8, "old-r2", ["old-a", "old-b"], 200),
                       (20000, "old-r3", ["old-b"], 404)], got
        r = s.get("/v1/audit?since=%s&until=%s" % (OLD_DAY, OLD_DAY))
        assert [i["request_id"] for i in r.json["items"]] == ["old-r1", "old-r2"], r.json
        # new rows follow the moved ones
        put_person("old-a", PERSON, s)
        ids, _ = audit_ids(s, "old-a")
        assert ids[:2] == ["old-r1", "old-r2"] and len(ids) == 3, ids
        s.stop()
        assert not {"audit", "audit_person"} & tables(db), tables(db)
        assert stat.S_IMODE(os.stat(db + "-audit").st_mode) == 0o600
        assert scalar(db + "-audit", "SELECT min(seq) FROM audit") == 7
        # a second start moves nothing again
        s = run.server()
        r = s.get("/v1/audit?person_id=old-b")
        assert len(r.json["items"]) == 2, r.json
        assert not events(s, "database_migrated"), events(s, "database_migrated")
        s.stop()


@pytest.mark.sqlite_only(reason="moving an old SQLite file's audit rows into FILE-audit")
def test_migrate_moves_the_rows_once_and_names_both_files():
    with harness.temp_run("migrate", "m.db") as run:
        db = run.db
        version = old_database(db)
        p = run_cli(["migrate", "--db", db])
        assert p.returncode == 0, p.stderr
        lines = p.stdout.splitlines()
        assert len(lines) == 2, p.stdout
        assert lines[0].startswith(db + ": schema version %d -> " % version), lines
        assert lines[1].startswith(db + "-audit: schema version 0 -> "), lines
        assert "3 audit rows moved" in lines[1], lines
        assert scalar(db + "-audit", "SELECT count(*) FROM audit") == 3
        assert scalar(db + "-audit", "SELECT count(*) FROM audit_person") == 4
        assert "audit" not in tables(db)
        p = run_cli(["migrate", "--db", db])
        assert p.returncode == 0 and "moved" not in p.stdout, p.stdout
        assert scalar(db + "-audit", "SELECT count(*) FROM audit") == 3


# ---- 3. an audit writer that cannot write stops the audited routes only ---------

@pytest.mark.sqlite_only(reason="an unwritable SQLite audit file")
def test_an_unwritable_audit_file_stops_audited_routes_until_it_can_write():
    with harness.temp_run("lock") as run:
        db = run.db
        lock = None
        try:
            s = run.server()
            put_person("held-1", PERSON, s)
            assert lookup(s, "held-1", "held-before").status == 200
            ids, complete = audit_ids(s, "held-1")
            assert complete and "held-before" in ids, ids
            # another process holds the audit file's write lock
            lock = sqlite3.connect(db + "-audit", timeout=0, isolation_level=None)
            lock.execute("BEGIN EXCLUSIVE")
            t0 = time.monotonic()
            answered, n, refused = [], 0, None
            while refused is None:
                n += 1
                rid = "held-%04d" % n
                r = lookup(s, "held-1", rid)
                if r.status == 200:
                    answered.append(rid)
                else:
                    refused = r
                assert time.monotonic() - t0 < slow(STALL + 15), \
                    "audited lookups still answered 200 %.0f s after the audit file was locked" \
                    % (time.monotonic() - t0)
                time.sleep(0.05)
            took = time.monotonic() - t0
            assert_problem(refused, 503, "audit_unavailable")
            assert refused.headers.get("Retry-After", "").isdigit(), refused.headers
            assert took >= STALL - 0.5, "refused after %.1f s only" % took
            # audited routes refuse, unprocessed; the others go on
            r = s.request("PUT", "/v1/persons/held-new", json_body=PERSON)
            assert_problem(r, 503, "audit_unavailable")
            assert_problem(s.get("/v1/persons/held-1"), 503, "audit_unavailable")
            assert_problem(s.post("/v1/eligibility:batch", {"items": [{"person_id": "held-1"}]}),
                           503, "audit_unavailable")
            r = s.evaluate({"person": FACTS})
            assert r.status == 200, r
            assert s.get("/healthz").status == 200
            assert s.get("/v1/rules").status == 200
            assert metric(s, "shikaku_audit_available") == 0
            stalled = wait_event(s, "audit_stalled")
            assert "locked" in stalled["message"], stalled
            # the lock goes: the writer writes, the routes answer again
            lock.execute("ROLLBACK")
            lock.close()
            lock = None
            deadline = time.monotonic() + slow(15)
            while True:
                r = lookup(s, "held-1", "held-after")
                if r.status == 200:
                    break
                assert_problem(r, 503, "audit_unavailable")
                assert time.monotonic() < deadline, "still refused after the lock went"
                time.sleep(0.1)
            wait_event(s, "audit_resumed")
            assert s.get("/v1/persons/held-new").status == 404, "a refused PUT was stored"
            ids, complete = audit_ids(s, "held-1")
            assert complete
            missing = set(answered + ["held-after"]) - set(ids)
            assert not missing, "%d of %d answered lookups lost their audit row: %s" % (
                len(missing), len(answered), sorted(missing)[:5])
            assert metric(s, "shikaku_audit_records_total", result="dropped") == 0
            assert metric(s, "shikaku_audit_available") == 1
            assert metric(s, "shikaku_audit_refused_total") >= 4
            s.stop()
        finally:
            if lock is not None:
                lock.close()
