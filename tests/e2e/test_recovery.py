"""Recovery and the audit's timeliness (issue 11, items 11, 14, 15): what the
server does with a damaged, full or emptied database file, and an audit query
that sees the requests answered just before it.

What these tests pin down:

- GET /v1/audit waits (at most 1 s) until the audit writer has committed every
  row queued before the query, so the rows of the requests answered just
  before it are in its answer; X-Audit-Complete says whether that wait ended
  in time (false: another process held the audit file, FILE-audit; the rows
  there are answered).
- A request that fails on a store error logs {"event":"store_error"} with the
  request id, SQLite's code and message (never a person's facts); once an
  error says the file is damaged (SQLITE_CORRUPT, SQLITE_NOTADB), /readyz
  answers 503 until a restart.
- At start, PRAGMA quick_check runs (bounded: 2 s) and its result is logged
  ({"event":"store_check"}); a damaged file is served (what can be read) but
  not ready.
- Start-up writes nothing when the schema is current: a server restarted on
  a full disk serves reads (a write answers 507).  The full disk is a
  file-size limit (RLIMIT_FSIZE) at the files' current sizes, after a SIGKILL
  left the WAL and its index behind, so that the test needs no mount; a full
  tmpfs fails the same start-up write the same way.  A write that must grow
  the files answers 507 and logs its store error.
- An existing 0-byte database file is initialised as a new one, with a
  warning in the log.
- GET /v1/insurers?prefecture= takes one or two digits only.
"""

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time

import pytest

import harness
from harness import Server, assert_problem, problem_defects, put_person, slow

PERSON = {"display_name": "復旧 花子", "birth_date": "1938-03-03",
          "insurer_number": "138057", "mynumber_card": "held",
          "insurance_registration": "registered"}
# What must never reach the log.
FACTS_IN_LOG = ("復旧", "花子", "1938-03-03")


# ---- helpers ------------------------------------------------------------------

def wait_event(s, pred, what, timeout=5):
    """Polls the server's log until an event satisfies pred -> that event."""
    deadline = time.monotonic() + slow(timeout)
    while True:
        for e in s.log_events():
            if pred(e):
                return e
        if time.monotonic() > deadline:
            raise AssertionError("no log event %s; tail: %s" % (what, s.stderr_tail(10)))
        time.sleep(0.02)


def events(s, name):
    return [e for e in s.log_events() if e.get("event") == name]


def read_fails_on_the_store(s, path, rid, what):
    """GET path (X-Request-Id rid) fails with 500 or 503, and the log has the
    store_error of that request."""
    r = s.get(path, headers={"X-Request-Id": rid})
    assert r.status in (500, 503), r
    wait_event(s, lambda e: e.get("event") == "store_error"
               and e.get("request_id") == rid, what)


def zero_persons_root(db):
    """Zeroes the persons table's root page in the (checkpointed) file."""
    c = sqlite3.connect(db)
    try:
        root = c.execute("SELECT rootpage FROM sqlite_schema WHERE name = 'persons'").fetchone()[0]
        size = c.execute("PRAGMA page_size").fetchone()[0]
    finally:
        c.close()
    assert root > 1, root
    with open(db, "r+b") as f:
        f.seek((root - 1) * size)
        f.write(b"\0" * size)


class LimitedServer(Server):
    """A server whose files cannot grow past fsize bytes (RLIMIT_FSIZE, with
    SIGXFSZ ignored, so that a write fails with EFBIG as on a full disk)."""

    def __init__(self, fsize, **kw):
        self.fsize = fsize
        super().__init__(**kw)

    def start(self, wait=True):
        limit = self.fsize

        def pre():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        self.workdir = tempfile.mkdtemp(prefix="shikaku-e2e-")
        self.proc = subprocess.Popen(self.argv(), cwd=self.workdir, env=harness.clean_env(),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, preexec_fn=pre)
        harness._all_servers.append(self)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if wait:
            self.wait_listening()
        return self


# ---- 11. the audit sees the requests answered before it -----------------------

def test_audit_shows_the_requests_answered_just_before_it():
    s = harness.server()
    for i in range(5):
        pid = "rec-a%d" % i
        ids = {"PUT": "rec-put-%d" % i, "GET": "rec-get-%d" % i,
               "LOOKUP": "rec-lookup-%d" % i}
        r = s.request("PUT", "/v1/persons/" + pid, json_body=PERSON,
                      headers={"X-Request-Id": ids["PUT"]})
        assert r.status == 201, r
        assert s.get("/v1/persons/" + pid, headers={"X-Request-Id": ids["GET"]}).status == 200
        assert s.get("/v1/persons/%s/eligibility" % pid,
                     headers={"X-Request-Id": ids["LOOKUP"]}).status == 200
        # the very first query, no wait before it
        a = s.get("/v1/audit?person_id=" + pid)
        assert a.status == 200, a
        got = [(row["request_id"], row["method"], row["route"]) for row in a.json["items"]]
        assert got == [(ids["PUT"], "PUT", "/v1/persons/{id}"),
                       (ids["GET"], "GET", "/v1/persons/{id}"),
                       (ids["LOOKUP"], "GET", "/v1/persons/{id}/eligibility")], \
            "round %d: %r" % (i, got)
        assert a.headers.get("X-Audit-Complete") == "true", a.headers


@pytest.mark.sqlite_only(reason="another process holding the SQLite audit file's write lock")
def test_audit_says_when_its_answer_may_lack_rows():
    with harness.temp_run("audit") as run:
        db = run.db
        lock = None
        try:
            s = run.server()
            put_person("held-1", PERSON, s)
            a = s.get("/v1/audit?person_id=held-1")
            assert a.status == 200 and len(a.json["items"]) == 1, a
            # another process holds the audit file's write lock (SPEC §7: the
            # log is FILE-audit beside the database): the writer cannot commit
            lock = sqlite3.connect(db + "-audit", timeout=0, isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")
            assert s.get("/v1/persons/held-1", headers={"X-Request-Id": "held-read"}).status == 200
            t0 = time.monotonic()
            a = s.get("/v1/audit?person_id=held-1")
            took = time.monotonic() - t0
            assert a.status == 200, a
            assert a.headers.get("X-Audit-Complete") == "false", a.headers
            assert [row["request_id"] for row in a.json["items"]] != [] and \
                "held-read" not in [row["request_id"] for row in a.json["items"]], a.json
            assert 0.9 <= took < slow(5), "the query waited %.2f s" % took
            lock.execute("ROLLBACK")
            lock.close()
            lock = None
            # the writer commits once the lock is gone
            deadline = time.monotonic() + slow(10)
            while True:
                a = s.get("/v1/audit?person_id=held-1")
                assert a.status == 200, a
                if a.headers.get("X-Audit-Complete") == "true":
                    break
                assert time.monotonic() < deadline, "still incomplete: %r" % a.headers
            assert "held-read" in [row["request_id"] for row in a.json["items"]], a.json
            s.stop()
        finally:
            if lock is not None:
                lock.close()


# ---- 14. a damaged, full or emptied database -----------------------------------

def test_quick_check_at_start_is_logged():
    s = harness.server()
    e = wait_event(s, lambda e: e.get("event") == "store_check", "store_check")
    assert e["result"] == "ok" and e["check"] == "quick_check", e
    assert e["level"] == "info" and isinstance(e["ms"], int) and e["budget_ms"] == 2000, e
    # before the server listens
    names = [x.get("event") for x in s.log_events()]
    assert names.index("store_check") < names.index("listening"), names
    assert not events(s, "database_was_empty"), "a new file is not an emptied one"


@pytest.mark.sqlite_only(reason="damages pages of the SQLite file (PostgreSQL looks after its own files)")
def test_a_page_damaged_while_serving_is_logged_and_makes_it_unready():
    with harness.temp_run("damage", "x.db") as run:
        d, db = run.dir, run.db
        s = run.server()
        for i in range(3):
            put_person("dm-%d" % i, PERSON, s)
        s.stop()
        # The person cache, warmed at start, would answer dm-1 from memory
        # without reading the damaged pages (README, Recovery): what is
        # tested here is how the store's reads meet the damage.
        s = run.server(extra_args=["--person-cache-mb", "0"])
        assert s.get("/readyz").status == 200
        zero_persons_root(db)
        # the header and the schema page are intact: ready until a read
        # meets the damage
        assert s.get("/readyz").status == 200
        r = s.get("/v1/persons/dm-1", headers={"X-Request-Id": "damaged-read-1"})
        assert r.status in (500, 503), r
        assert_problem(r, r.status)
        e = wait_event(s, lambda e: e.get("event") == "store_error"
                       and e.get("request_id") == "damaged-read-1", "store_error")
        assert e["level"] == "error", e
        assert e["sqlite"] == "SQLITE_CORRUPT" and e["code"] & 0xff == 11, e
        assert "malformed" in e["message"], e
        assert e["route"] == "/v1/persons/{id}", e
        r = s.get("/readyz")
        assert_problem(r, 503)
        # sticky: still not ready, still serving what can be read
        assert s.get("/readyz").status == 503
        assert s.get("/v1/insurers/01130012").status == 200
        # the same for the other readers of persons
        read_fails_on_the_store(s, "/v1/persons/dm-2/eligibility", "damaged-read-2",
                                "store_error 2")
        read_fails_on_the_store(s, "/v1/persons", "damaged-list", "store_error of the worklist")
        s.settle_log()
        log = s.stderr_text()
        for fact in FACTS_IN_LOG:
            assert fact not in log, "%r in the log" % fact
        s.stop()


@pytest.mark.sqlite_only(reason="damages the SQLite file before start (PRAGMA quick_check)")
def test_a_file_damaged_before_start_is_served_but_not_ready():
    with harness.temp_run("damaged-start", "x.db") as run:
        db = run.db
        s = run.server()
        put_person("ds-1", PERSON, s)
        s.stop()
        zero_persons_root(db)
        s = run.server()
        e = wait_event(s, lambda e: e.get("event") == "store_check", "store_check")
        assert e["result"] == "damaged" and e["level"] == "error", e
        assert e["problems"] >= 1 and "Page" in e["first"], e
        assert_problem(s.get("/readyz"), 503)
        assert s.get("/healthz").status == 200
        assert s.get("/v1/insurers/01130012").status == 200
        read_fails_on_the_store(s, "/v1/persons/ds-1", "damaged-start-read", "store_error")
        s.stop()


@pytest.mark.sqlite_only(reason="a file-size limit on the SQLite file and its WAL")
def test_a_full_disk_at_start_still_serves_reads():
    with harness.temp_run("full", "x.db") as run:
        d, db = run.dir, run.db
        s = run.server()
        docs = {}
        for i in range(5):
            put_person("fd-%d" % i, PERSON, s)
            docs["fd-%d" % i] = s.get("/v1/persons/fd-%d" % i).json
        # killed: the WAL and its index stay, as after a crash or an OOM kill
        s.kill()
        wal, shm = db + "-wal", db + "-shm"
        assert os.path.getsize(wal) > 0 and os.path.getsize(shm) > 0
        limit = max(os.path.getsize(wal), os.path.getsize(shm))
        s = LimitedServer(limit, db_path=db)
        for pid, doc in docs.items():
            r = s.get("/v1/persons/" + pid)
            assert r.status == 200 and r.json == doc, r
        assert s.get("/readyz").status == 200
        r = s.get("/v1/persons?limit=10")
        assert r.status == 200 and len(r.json["items"]) == 5, r
        # a small write may fit in the space the WAL already has (SQLite
        # reuses it after a checkpoint), or is a clean 507
        r = s.request("PUT", "/v1/persons/fd-small", json_body=PERSON)
        assert r.status == 201 or not problem_defects(r, 507), r
        # a write that must grow the files: 507, logged with its request id
        body = "".join(json.dumps(dict(PERSON, person_id="fd-big-%04d" % i),
                                  ensure_ascii=False) + "\n" for i in range(3000))
        r = s.request("POST", "/v1/persons:import", body=body.encode("utf-8"),
                      headers={"Content-Type": "application/x-ndjson",
                               "X-Request-Id": "full-disk-import"}, timeout=slow(30))
        assert_problem(r, 507, "insufficient_storage")
        e = wait_event(s, lambda e: e.get("event") == "store_error"
                       and e.get("request_id") == "full-disk-import", "store_error")
        assert e["sqlite"] in ("SQLITE_FULL", "SQLITE_IOERR"), e
        assert s.get("/v1/persons/fd-big-0000").status == 404
        for pid, doc in docs.items():
            r = s.get("/v1/persons/" + pid)
            assert r.status == 200 and r.json == doc, r
        s.stop()


@pytest.mark.sqlite_only(reason="a 0-byte SQLite file")
def test_an_empty_database_file_is_initialised_with_a_warning():
    with harness.temp_run("empty", "x.db") as run:
        db = run.db
        open(db, "wb").close()
        s = run.server()
        e = wait_event(s, lambda e: e.get("event") == "database_was_empty", "database_was_empty")
        assert e["level"] == "warn" and e["db"] == db, e
        assert "0 bytes" in e["message"] and "backup" in e["message"], e
        r = s.get("/v1/persons")
        assert r.status == 200 and r.json["items"] == [], r
        put_person("em-1", PERSON, s)
        s.stop()
        # the second start finds a database: no warning
        s = run.server()
        assert s.get("/v1/persons/em-1").status == 200
        s.settle_log()
        assert not events(s, "database_was_empty"), s.stderr_tail()
        s.stop()


# ---- 15. the prefecture filter ------------------------------------------------

def test_prefecture_is_one_or_two_digits():
    s = harness.server()
    for raw in ("013", "0013", "%2B13", "%2013", "+13", "13%20", "1a", "", "0", "00",
                "48", "-1", "%EF%BC%91%EF%BC%93"):
        r = s.get("/v1/insurers?prefecture=" + raw)
        assert_problem(r, 422, "invalid_enum", field="?prefecture", single=True)
    for ok, n in (("13", 1), ("01", 1), ("1", 1), ("47", 1)):
        r = s.get("/v1/insurers?prefecture=%s&scheme=kyokai" % ok)
        assert r.status == 200 and len(r.json["items"]) == n, (ok, r)
