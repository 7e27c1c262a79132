"""Recovery and the audit's timeliness (issue 11, items 11, 14, 15).

- GET /v1/audit waits (at most 1 s) until the audit writer has committed every
  row queued before the query, so the rows of the requests answered just
  before it are in its answer; X-Audit-Complete says whether that wait ended
  in time (false: another writer held the database; the rows there are
  answered).
- GET /v1/insurers?prefecture= takes one or two digits only.
"""

import os
import shutil
import sqlite3
import tempfile
import time

import harness
from harness import Server, assert_problem, slow

PERSON = {"display_name": "復旧 花子", "birth_date": "1938-03-03",
          "insurer_number": "138057", "mynumber_card": "held",
          "insurance_registration": "registered"}


def temp_dir(tag):
    return tempfile.mkdtemp(prefix="shikaku-recovery-%s-" % tag)


def put_person(s, pid, doc=None):
    r = s.request("PUT", "/v1/persons/" + pid, json_body=doc or PERSON)
    assert r.status in (200, 201), r
    return r


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


def test_audit_says_when_its_answer_may_lack_rows():
    d = temp_dir("audit")
    db = os.path.join(d, "x.db")
    s = None
    lock = None
    try:
        s = Server(db_path=db)
        put_person(s, "held-1")
        a = s.get("/v1/audit?person_id=held-1")
        assert a.status == 200 and len(a.json["items"]) == 1, a
        # another process holds the write lock: the writer cannot commit
        lock = sqlite3.connect(db, timeout=0, isolation_level=None)
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
        if s is not None and not s.stopped:
            s.kill()
        shutil.rmtree(d, ignore_errors=True)


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
