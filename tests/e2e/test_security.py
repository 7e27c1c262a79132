"""Security end to end (SPEC §8, §9): API keys and roles, revocation on a
running server, facility scope, the audit log and GET /v1/audit, individual
numbers refused everywhere and kept out of logs and database pages, HTTPS,
non-loopback listening, slow clients.

The module's shared server runs WITH keys (no --no-auth) on a database
whose keys were made by `shikakud key create` before it started.  Tests
that must stop their server (to read its database or its whole log) start
their own."""

import datetime
import json
import os
import select
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.parse

import pytest

import harness
from harness import Server, assert_problem, run_cli, slow

INDIVIDUAL = "123456789018"                       # valid check digit (SPEC §8)
INDIVIDUAL_SPACED = "1234 5678 9018"
INDIVIDUAL_FULLWIDTH = "１２３４５６７８９０１８"
FACTS = {"birth_date": "1950-04-01", "insurer_number": "138057",
         "mynumber_card": "held", "insurance_registration": "registered",
         "care_needs": ["dementia"], "setting": "care_facility"}
NDJSON = "application/x-ndjson"

_state = {}


def _tmpdir():
    return harness.temp_dir("shikaku-sec-")


def make_key(db, role, facility=None):
    """`key create` on db -> the key (stdout line 1)."""
    key = harness.make_key(db, role, facility)
    assert key.startswith("shk_") and len(key) == 60, "key create printed %r" % key
    return key


def key_id(key):
    return key[4:16]


auth = harness.bearer


def keys():
    """The shared database and its keys, made once for the module."""
    return harness.module_keys(_state, "sec", harness.FACILITY_KEYS)


def srv():
    return harness.keyed_server(keys())


def K(role):
    return keys()[role]


def put_person(s, key, pid, extra=None, headers=None):
    body = dict(FACTS)
    body.update(extra or {})
    h = auth(key)
    h.update(headers or {})
    return s.request("PUT", "/v1/persons/" + pid, json_body=body, headers=h)


def assert_401(r, what):
    assert r.status == 401, "%s: status %d, expected 401: %r" % (what, r.status, r)
    www = r.headers.get("WWW-Authenticate") or ""
    assert www.startswith("Bearer"), "%s: WWW-Authenticate %r" % (what, www)
    assert_problem(r, 401)


def assert_403(r, what):
    assert r.status == 403, "%s: status %d, expected 403: %r" % (what, r.status, r)
    assert_problem(r, 403)


def strip_request_specific(j):
    """A problem body without what differs from request to request."""
    if not isinstance(j, dict):
        return j
    return {k: v for k, v in j.items() if k not in ("instance", "request_id", "trace_id")}


# ---------------------------------------------------------------------------
# Authentication

def test_no_key_malformed_wrong_secret_401():
    s = srv()
    reader = K("reader")
    wrong = reader[:-1] + ("A" if reader[-1] != "A" else "B")
    cases = [
        ("no Authorization", {}),
        ("empty", {"Authorization": ""}),
        ("Basic", {"Authorization": "Basic dXNlcjpwYXNz"}),
        ("Bearer without token", {"Authorization": "Bearer"}),
        ("Bearer blank", {"Authorization": "Bearer   "}),
        ("not a key", {"Authorization": "Bearer hello"}),
        ("wrong secret", {"Authorization": "Bearer " + wrong}),
        ("unknown id", {"Authorization": "Bearer shk_aaaaaaaaaaaa_" + reader[17:]}),
        ("key without prefix", {"Authorization": "Bearer " + reader[4:]}),
    ]
    for what, h in cases:
        for method, path, body in (("GET", "/v1/rules", None),
                                   ("GET", "/v1/persons/p-auth-1", None),
                                   ("POST", "/v1/eligibility:evaluate",
                                    {"person": {"birth_date": "1950-01-01"}})):
            r = s.request(method, path, json_body=body, headers=h)
            assert_401(r, "%s %s (%s)" % (method, path, what))
    # The right key works, in either case of "Bearer".
    r = s.get("/v1/rules", headers={"Authorization": "bearer " + reader})
    assert r.status == 200, r
    # A 401 comes before route and method: an unknown /v1 path is 401 too.
    assert_401(s.get("/v1/nothing-here"), "unknown /v1 path without a key")


def test_revoked_key_on_running_server_401():
    s = srv()
    k = keys()
    key = make_key(k["db"], "reader")      # made while the server runs
    r = s.get("/v1/rules", headers=auth(key))
    assert r.status == 200, "a key made while the server runs: %r" % (r,)
    p = run_cli(["key", "revoke", "--db", k["db"], key_id(key)])
    assert p.returncode == 0, "key revoke: %s" % p.stderr
    for _ in range(3):
        assert_401(s.get("/v1/rules", headers=auth(key)), "revoked key")
    # Other keys are untouched.
    assert s.get("/v1/rules", headers=auth(K("reader"))).status == 200


def test_roles_reader_writer_admin():
    s = srv()
    reader, writer, admin = K("reader"), K("writer"), K("admin")
    assert put_person(s, writer, "p-role-1").status == 201
    # reader: reads, evaluates; no writes, no import.
    assert s.get("/v1/persons/p-role-1", headers=auth(reader)).status == 200
    assert s.evaluate({"person": FACTS}, headers=auth(reader)).status == 200
    assert_403(put_person(s, reader, "p-role-1"), "reader PUT")
    assert_403(s.request("DELETE", "/v1/persons/p-role-1", headers=auth(reader)),
               "reader DELETE")
    line = json.dumps(dict(FACTS, person_id="p-role-2")) + "\n"
    assert_403(s.request("POST", "/v1/persons:import", body=line,
                         headers=auth(reader, **{"Content-Type": NDJSON})), "reader import")
    assert s.get("/v1/persons/p-role-2", headers=auth(reader)).status == 404
    # writer: persons yes; insurers write and the audit log no.
    ins = {"name_ja": "テスト保険組合"}
    assert_403(s.request("PUT", "/v1/insurers/06271233", json_body=ins, headers=auth(writer)),
               "writer PUT insurer")
    assert_403(s.get("/v1/audit", headers=auth(writer)), "writer GET audit")
    assert_403(s.get("/v1/audit", headers=auth(reader)), "reader GET audit")
    assert_403(s.request("POST", "/v1/insurers:import", body="",
                         headers=auth(writer, **{"Content-Type": NDJSON})),
               "writer insurers import")
    r = s.request("DELETE", "/v1/persons/p-role-1", headers=auth(writer))
    assert r.status == 204, r
    # admin: everything.
    r = s.request("PUT", "/v1/insurers/06271233", json_body=ins, headers=auth(admin))
    assert r.status in (200, 201), r
    r = s.get("/v1/audit", headers=auth(admin))
    assert r.status == 200 and isinstance(r.json.get("items"), list), r
    assert put_person(s, admin, "p-role-3").status == 201


def test_probes_and_description_need_no_key():
    s = srv()
    for path in ("/healthz", "/readyz", "/openapi.yaml"):
        r = s.get(path)
        assert r.status == 200, "%s without a key: %r" % (path, r)
    # /metrics needs a key of any role (issue 12; --metrics-open: none)
    assert_401(s.get("/metrics"), "/metrics without a key")
    r = s.get("/metrics", headers=auth(keys()["reader"]))
    assert r.status == 200 and "shikaku_requests_total" in r.text, r


def test_metrics_open_flag():
    d = _tmpdir()
    db = os.path.join(d, "m.db")
    reader = make_key(db, "reader")
    with Server(["--metrics-open"], no_auth=False, db_path=db) as s:
        r = s.get("/metrics")
        assert r.status == 200 and "shikaku_build_info" in r.text, r
        assert s.get("/metrics", headers=auth(reader)).status == 200
        assert s.get("/healthz").status == 200
        assert s.get("/readyz").status == 200
        assert_401(s.get("/v1/rules"), "/v1 with --metrics-open, no key")


# ---------------------------------------------------------------------------
# Facility scope

def _scope_setup(s):
    wa, wb = K("writer_a"), K("writer_b")
    r = put_person(s, wa, "sc-a-1", {"display_name": "A One"})
    assert r.status in (200, 201), r
    assert r.json.get("facility_id") == "fac-a", "PUT without facility_id: %r" % (r.json,)
    r = put_person(s, wb, "sc-b-1", {"display_name": "B One"})
    assert r.status in (200, 201), r
    assert r.json.get("facility_id") == "fac-b", r.json
    # An unbound writer may put anyone anywhere.
    r = put_person(s, K("writer"), "sc-b-2", {"facility_id": "fac-b"})
    assert r.status in (200, 201), r


def test_facility_key_reads_other_facility_as_absent():
    s = srv()
    _scope_setup(s)
    for key in (K("writer_a"), K("reader_a")):
        for path in ("/v1/persons/%s", "/v1/persons/%s/eligibility"):
            other = s.get(path % "sc-b-1", headers=auth(key))
            absent = s.get(path % "sc-nobody", headers=auth(key))
            assert other.status == 404 and absent.status == 404, (other, absent)
            assert other.headers.get("Content-Type") == absent.headers.get("Content-Type")
            assert strip_request_specific(other.json) == strip_request_specific(absent.json), \
                "another facility's person differs from an absent one: %r vs %r" % (other, absent)
            assert "ETag" not in other.headers
        own = s.get("/v1/persons/sc-a-1", headers=auth(key))
        assert own.status == 200 and own.json["facility_id"] == "fac-a", own
    # DELETE of another facility's person: 404 as if absent, and it stays.
    other = s.request("DELETE", "/v1/persons/sc-b-1", headers=auth(K("writer_a")))
    absent = s.request("DELETE", "/v1/persons/sc-nobody", headers=auth(K("writer_a")))
    assert other.status == 404 and absent.status == 404, (other, absent)
    assert strip_request_specific(other.json) == strip_request_specific(absent.json)
    r = s.get("/v1/persons/sc-b-1", headers=auth(K("writer_b")))
    assert r.status == 200 and r.json["display_name"] == "B One", r
    # PUT over another facility's person: 404 too, and it is unchanged.
    r = put_person(s, K("writer_a"), "sc-b-1", {"display_name": "hijack"})
    assert r.status == 404, "PUT over another facility's person: %r" % (r,)
    r = put_person(s, K("writer_a"), "sc-b-1", {"display_name": "hijack",
                                                "facility_id": "fac-a"})
    assert r.status == 404, "PUT over another facility's person (own facility_id): %r" % (r,)
    r = s.get("/v1/persons/sc-b-1", headers=auth(K("writer_b")))
    assert r.status == 200 and r.json["display_name"] == "B One" \
        and r.json["facility_id"] == "fac-b", r


def test_facility_key_put_other_facility_422():
    s = srv()
    r = put_person(s, K("writer_a"), "sc-a-2", {"facility_id": "fac-b"})
    assert_problem(r, 422, field="/facility_id")
    assert s.get("/v1/persons/sc-a-2", headers=auth(K("admin"))).status == 404
    r = put_person(s, K("writer_a"), "sc-a-3", {"facility_id": "fac-a"})
    assert r.status == 201 and r.json["facility_id"] == "fac-a", r


def test_facility_key_worklist_only_its_facility():
    s = srv()
    _scope_setup(s)
    seen = []
    cursor = None
    while True:
        q = "?limit=1000" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
        r = s.get("/v1/persons" + q, headers=auth(K("reader_a")))
        assert r.status == 200, r
        seen += r.json["items"]
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    ids = {i["person_id"] for i in seen}
    assert "sc-a-1" in ids, ids
    assert {i["facility_id"] for i in seen} == {"fac-a"}, seen
    for fac in ("fac-b", "fac-nowhere"):
        r = s.get("/v1/persons?facility_id=" + fac, headers=auth(K("reader_a")))
        assert r.status == 200 and r.json["items"] == [] and r.json["next_cursor"] is None, r
    # Another facility's list is exactly a list with nobody in it (an
    # unbound key asking for a facility that has nobody), text table too.
    for fmt in ("", "&format=text", "&format=text&lang=en"):
        other = s.get("/v1/persons?facility_id=fac-b" + fmt, headers=auth(K("reader_a")))
        empty = s.get("/v1/persons?facility_id=fac-nowhere" + fmt, headers=auth(K("reader")))
        assert other.status == empty.status == 200, (other, empty)
        # The text table's title names the facility asked for: alike but for it.
        ob, eb = other.body.replace(b"fac-b", b"FAC"), empty.body.replace(b"fac-nowhere", b"FAC")
        assert ob == eb, "%s: %r vs %r" % (fmt, other.body, empty.body)
        assert other.content_type == empty.content_type
    r = s.get("/v1/persons?facility_id=fac-a", headers=auth(K("reader_a")))
    assert r.status == 200 and {i["facility_id"] for i in r.json["items"]} == {"fac-a"}, r
    # The text table too.
    r = s.get("/v1/persons?format=text", headers=auth(K("reader_a")))
    assert r.status == 200 and "sc-b-1" not in r.text and "sc-a-1" in r.text, r
    # An unbound key sees both facilities.
    r = s.get("/v1/persons?limit=1000", headers=auth(K("reader")))
    facs = {i["facility_id"] for i in r.json["items"]}
    assert {"fac-a", "fac-b"} <= facs, facs


def test_facility_key_batch_other_facility_item_404():
    s = srv()
    _scope_setup(s)
    body = {"items": [{"person_id": "sc-a-1"}, {"person_id": "sc-b-1"},
                      {"person_id": "sc-nobody"}, {"person": FACTS}]}
    r = s.post("/v1/eligibility:batch", body, headers=auth(K("reader_a")))
    assert r.status == 200, r
    res = r.json["results"]
    assert "certificate" in res[0], res[0]
    assert res[1].get("error", {}).get("status") == 404, res[1]
    assert res[2].get("error", {}).get("status") == 404, res[2]
    e1, e2 = dict(res[1]["error"]), dict(res[2]["error"])
    for e in (e1, e2):
        e.pop("instance", None)
        for er in e.get("errors") or []:
            er.pop("field", None)
    assert strip_request_specific(e1) == strip_request_specific(e2), (res[1], res[2])
    assert "certificate" in res[3], res[3]
    r = s.post("/v1/eligibility:batch", body, headers=auth(K("reader")))
    assert "certificate" in r.json["results"][1], r.json["results"][1]


def test_facility_key_import_other_facility_line_rejected():
    s = srv()
    lines = [dict(FACTS, person_id="sc-imp-1"),
             dict(FACTS, person_id="sc-imp-2", facility_id="fac-b"),
             dict(FACTS, person_id="sc-imp-3", facility_id="fac-a"),
             dict(FACTS, person_id="sc-b-1", facility_id="fac-a")]   # B's, exists
    put_person(s, K("writer_b"), "sc-b-1", {"display_name": "B One"})
    body = "".join(json.dumps(x) + "\n" for x in lines)
    r = s.request("POST", "/v1/persons:import?mode=best_effort", body=body,
                  headers=auth(K("writer_a"), **{"Content-Type": NDJSON}))
    assert r.status == 200, r
    rej = {x["line"]: x for x in r.json["rejected"]}
    assert 2 in rej and rej[2]["person_id"] == "sc-imp-2", r.json
    assert 4 in rej, "a line over another facility's person was stored: %r" % (r.json,)
    assert 1 not in rej and 3 not in rej, r.json
    adm = auth(K("admin"))
    assert s.get("/v1/persons/sc-imp-1", headers=adm).json["facility_id"] == "fac-a"
    assert s.get("/v1/persons/sc-imp-2", headers=adm).status == 404
    r = s.get("/v1/persons/sc-b-1", headers=adm)
    assert r.json["facility_id"] == "fac-b" and r.json["display_name"] == "B One", r
    # all_or_nothing: the other facility's line fails the whole import.
    body = json.dumps(dict(FACTS, person_id="sc-imp-4")) + "\n" + \
        json.dumps(dict(FACTS, person_id="sc-imp-5", facility_id="fac-b")) + "\n"
    r = s.request("POST", "/v1/persons:import", body=body,
                  headers=auth(K("writer_a"), **{"Content-Type": NDJSON}))
    assert r.status == 422 and [x["line"] for x in r.json["rejected"]] == [2], r
    assert s.get("/v1/persons/sc-imp-4", headers=adm).status == 404
    # CSV too.
    csv = "person_id,facility_id,birth_date\r\nsc-imp-6,fac-b,1950-01-01\r\n" \
          "sc-imp-7,,1950-01-01\r\n"
    r = s.request("POST", "/v1/persons:import?mode=best_effort", body=csv,
                  headers=auth(K("writer_a"), **{"Content-Type": "text/csv"}))
    assert r.status == 200 and [x["line"] for x in r.json["rejected"]] == [2], r
    assert s.get("/v1/persons/sc-imp-7", headers=adm).json["facility_id"] == "fac-a"
    assert s.get("/v1/persons/sc-imp-6", headers=adm).status == 404


# ---------------------------------------------------------------------------
# Audit

def audit_find(s, query, pred, timeout=None, what=""):
    """Polls GET /v1/audit?query (the writer is asynchronous) until a row
    satisfies pred -> that row."""
    deadline = time.monotonic() + (timeout or slow(3))
    last = None
    while True:
        r = s.get("/v1/audit?" + query, headers=auth(K("admin")))
        assert r.status == 200, r
        last = r.json["items"]
        for row in last:
            if pred(row):
                return row
        if time.monotonic() > deadline:
            raise AssertionError("no audit row %s for ?%s; rows: %r" % (what, query, last[-5:]))
        time.sleep(0.1)


def audit_settled(s, query, key=None):
    """GET /v1/audit?query, which answers once the audit writer has
    committed every row queued before it -> the response when it says so
    (X-Audit-Complete: true), else None (another writer held the database:
    ask again)."""
    r = s.get("/v1/audit?" + query, headers=auth(key or K("admin")))
    assert r.status == 200, r
    return r if r.headers.get("X-Audit-Complete") == "true" else None


def rid(tag):
    return "sec-%s-%d" % (tag, int(time.monotonic() * 1000) % 10**9)


def check_audit(s, pid, request_id, key, method, route, status):
    row = audit_find(s, "person_id=" + pid, lambda r: r["request_id"] == request_id,
                     what="for %s %s (%s)" % (method, route, request_id))
    assert row["key_id"] == key_id(key), row
    assert row["method"] == method, row
    assert row["route"] == route, row
    assert row["status"] == status, row
    assert pid in row["person_ids"], row
    assert set(row) >= {"seq", "time", "key_id", "request_id", "method", "route",
                        "person_ids", "status"}, row
    return row


def test_audit_row_for_each_person_access():
    s = srv()
    w, a_key = K("writer"), K("writer_a")
    pid = "au-1"
    x = rid("put")
    r = put_person(s, w, pid, {"facility_id": "fac-b"}, headers={"X-Request-Id": x})
    assert r.status == 201 and r.headers.get("X-Request-Id") == x, r
    check_audit(s, pid, x, w, "PUT", "/v1/persons/{id}", 201)

    x = rid("get")
    assert s.get("/v1/persons/" + pid, headers=auth(w, **{"X-Request-Id": x})).status == 200
    check_audit(s, pid, x, w, "GET", "/v1/persons/{id}", 200)

    x = rid("elig")
    assert s.get("/v1/persons/%s/eligibility" % pid,
                 headers=auth(w, **{"X-Request-Id": x})).status == 200
    check_audit(s, pid, x, w, "GET", "/v1/persons/{id}/eligibility", 200)

    x = rid("batch")
    r = s.post("/v1/eligibility:batch", {"items": [{"person_id": pid}, {"person": FACTS}]},
               headers=auth(w, **{"X-Request-Id": x}))
    assert r.status == 200, r
    check_audit(s, pid, x, w, "POST", "/v1/eligibility:batch", 200)

    x = rid("list")
    r = s.get("/v1/persons?facility_id=fac-b&limit=1000", headers=auth(w, **{"X-Request-Id": x}))
    assert pid in [i["person_id"] for i in r.json["items"]], r
    check_audit(s, pid, x, w, "GET", "/v1/persons", 200)

    x = rid("import")
    line = json.dumps(dict(FACTS, person_id="au-2")) + "\n"
    r = s.request("POST", "/v1/persons:import", body=line,
                  headers=auth(w, **{"Content-Type": NDJSON, "X-Request-Id": x}))
    assert r.status == 200, r
    check_audit(s, "au-2", x, w, "POST", "/v1/persons:import", 200)

    # A facility key's 404 on another facility's person is recorded too.
    x = rid("404")
    r = s.get("/v1/persons/" + pid, headers=auth(a_key, **{"X-Request-Id": x}))
    assert r.status == 404, r
    check_audit(s, pid, x, a_key, "GET", "/v1/persons/{id}", 404)

    # A refused look (reader writing) is recorded.
    x = rid("403")
    r = put_person(s, K("reader"), pid, headers={"X-Request-Id": x})
    assert r.status == 403, r
    check_audit(s, pid, x, K("reader"), "PUT", "/v1/persons/{id}", 403)

    x = rid("del")
    r = s.request("DELETE", "/v1/persons/" + pid, headers=auth(w, **{"X-Request-Id": x}))
    assert r.status == 204, r
    check_audit(s, pid, x, w, "DELETE", "/v1/persons/{id}", 204)

    # evaluate with facts names nobody: not audited.
    x = rid("eval")
    assert s.evaluate({"person": FACTS}, headers=auth(w, **{"X-Request-Id": x})).status == 200
    r = harness.wait_for(lambda: audit_settled(s, "key_id=" + key_id(w) + "&limit=1000"),
                         slow(5), "a complete answer of GET /v1/audit")
    assert x not in [row["request_id"] for row in r.json["items"]], r.json


def test_audit_import_lines_and_rejected_lines():
    s = srv()
    w = K("writer")
    x = rid("imp2")
    body = json.dumps(dict(FACTS, person_id="au-i1")) + "\n" + \
        json.dumps(dict(FACTS, person_id="au-i2", birth_date="1950-02-30")) + "\n"
    r = s.request("POST", "/v1/persons:import?mode=best_effort", body=body,
                  headers=auth(w, **{"Content-Type": NDJSON, "X-Request-Id": x}))
    assert r.status == 200 and len(r.json["rejected"]) == 1, r
    row = check_audit(s, "au-i1", x, w, "POST", "/v1/persons:import", 200)
    assert "au-i2" in row["person_ids"] or audit_find(
        s, "person_id=au-i2", lambda rr: rr["request_id"] == x), row
    # CSV lines too.
    x = rid("impcsv")
    r = s.request("POST", "/v1/persons:import", body="person_id,birth_date\nau-i3,1950-01-01\n",
                  headers=auth(w, **{"Content-Type": "text/csv", "X-Request-Id": x}))
    assert r.status == 200, r
    check_audit(s, "au-i3", x, w, "POST", "/v1/persons:import", 200)


def test_audit_filters_key_since_until():
    s = srv()
    w, w2 = K("writer"), K("writer_b")
    pid = "au-f1"
    x1, x2 = rid("f1"), rid("f2")
    put_person(s, w, pid, {"facility_id": "fac-b"}, headers={"X-Request-Id": x1})
    s.get("/v1/persons/" + pid, headers=auth(w2, **{"X-Request-Id": x2}))
    row1 = check_audit(s, pid, x1, w, "PUT", "/v1/persons/{id}", 201)
    row2 = check_audit(s, pid, x2, w2, "GET", "/v1/persons/{id}", 200)
    adm = auth(K("admin"))
    r = s.get("/v1/audit?person_id=%s&key_id=%s" % (pid, key_id(w2)), headers=adm)
    assert [i["request_id"] for i in r.json["items"]] == [x2], r.json
    assert all(i["key_id"] == key_id(w2) for i in r.json["items"])
    r = s.get("/v1/audit?key_id=%s&limit=1000" % key_id(w2), headers=adm)
    assert r.json["items"] and all(i["key_id"] == key_id(w2) for i in r.json["items"]), r.json
    # since/until as the row's own times (inclusive on both ends).
    q = urllib.parse.quote
    r = s.get("/v1/audit?person_id=%s&since=%s" % (pid, q(row2["time"])), headers=adm)
    assert x2 in [i["request_id"] for i in r.json["items"]], r.json
    assert x1 not in [i["request_id"] for i in r.json["items"]] or row1["time"] == row2["time"]
    r = s.get("/v1/audit?person_id=%s&until=%s" % (pid, q(row1["time"])), headers=adm)
    ids = [i["request_id"] for i in r.json["items"]]
    assert x1 in ids and (x2 not in ids or row1["time"] == row2["time"]), r.json
    tomorrow = (datetime.date.fromisoformat(harness.today_tokyo()) +
                datetime.timedelta(days=1)).isoformat()
    r = s.get("/v1/audit?person_id=%s&since=%s" % (pid, tomorrow), headers=adm)
    assert r.json["items"] == [], r.json
    r = s.get("/v1/audit?person_id=%s&until=2000-01-01" % pid, headers=adm)
    assert r.json["items"] == [], r.json
    r = s.get("/v1/audit?person_id=%s&since=%s&until=%s" % (pid, harness.today_tokyo(),
                                                          harness.today_tokyo()), headers=adm)
    assert {x1, x2} <= {i["request_id"] for i in r.json["items"]}, r.json
    assert_problem(s.get("/v1/audit?since=yesterday", headers=adm), 422, "invalid_date")


def test_audit_table_holds_no_facts_and_retention():
    d = _tmpdir()
    db = os.path.join(d, "a.db")
    w = make_key(db, "writer")
    old_seq = None
    # A row from long ago, written before start: retention must drop it.
    # The audit log is the file beside the database (SPEC §7).
    con = sqlite3.connect(db + "-audit")
    try:
        cur = con.execute("INSERT INTO audit (time, key_id, request_id, method, route, "
                          "person_ids, status) VALUES ('2001-01-01T09:00:00.000+09:00', "
                          "NULL, 'ancient', 'GET', '/v1/persons/{id}', 'old-1', 200)")
        old_seq = cur.lastrowid
        con.execute("INSERT INTO audit_person (bucket, person_id, seq) VALUES (? >> 14, 'old-1', ?)",
                    (old_seq, old_seq))
        con.commit()
    finally:
        con.close()
    name, born, ins = "監査花子", "1933-05-05", "01130012"
    with Server(["--audit-retention-days", "30"], no_auth=False, db_path=db) as s:
        r = put_person(s, w, "au-nf", {"display_name": name, "birth_date": born,
                                       "insurer_number": ins, "facility_id": "fac-z"})
        assert r.status == 201, r
        assert s.get("/v1/persons/au-nf", headers=auth(w)).status == 200
    # (stopped: SIGTERM writes the whole audit queue before the exit)
    con = sqlite3.connect(db + "-audit")
    try:
        cols = [c[1] for c in con.execute("PRAGMA table_info(audit)")]
        assert set(cols) <= {"seq", "time", "key_id", "request_id", "method", "route",
                             "person_ids", "status", "absent_ids"}, "audit columns: %r" % cols
        rows = con.execute("SELECT * FROM audit").fetchall()
        assert any("au-nf" in (r[6] or "") for r in rows), rows
        text = repr(rows) + repr(con.execute("SELECT * FROM audit_person").fetchall())
        for fact in (name, born, ins, "fac-z", "dementia"):
            assert fact not in text, "audit rows hold %r: %s" % (fact, text[:500])
        assert not [r for r in rows if r[3] == "ancient"], \
            "a 2001 audit row outlived --audit-retention-days 30"
        assert not con.execute("SELECT * FROM audit_person WHERE person_id = 'old-1'").fetchall(), \
            "the 2001 row's person index outlived it"
    finally:
        con.close()


# ---------------------------------------------------------------------------
# Individual numbers

def _in_number_places(s, w, number):
    """Sends number in every place of a request -> [(place, Response)]."""
    out = []
    h = auth(w)
    qn = urllib.parse.quote(number)
    out.append(("body value", s.evaluate({"person": {"birth_date": "1950-01-01",
                                                     "insurer_number": number}}, headers=h)))
    out.append(("body key", s.evaluate({"person": {number: "x"}}, headers=h)))
    out.append(("PUT body value", s.request("PUT", "/v1/persons/in-1",
                                            json_body=dict(FACTS, display_name=number),
                                            headers=h)))
    out.append(("batch item", s.post("/v1/eligibility:batch",
                                     {"items": [{"person": FACTS},
                                                {"person_id": number}]}, headers=h)))
    out.append(("path GET", s.get("/v1/persons/" + qn, headers=h)))
    out.append(("path eligibility", s.get("/v1/persons/%s/eligibility" % qn, headers=h)))
    out.append(("path PUT", s.request("PUT", "/v1/persons/" + qn, json_body=FACTS, headers=h)))
    out.append(("path DELETE", s.request("DELETE", "/v1/persons/" + qn, headers=h)))
    out.append(("query value", s.get("/v1/persons?facility_id=" + qn, headers=h)))
    out.append(("query value (unknown key)", s.get("/v1/rules?note=" + qn, headers=h)))
    out.append(("ndjson line", s.request(
        "POST", "/v1/persons:import?mode=best_effort",
        body=json.dumps(dict(FACTS, person_id="in-2")) + "\n" +
        json.dumps(dict(FACTS, person_id="in-3", display_name=number),
                   ensure_ascii=False) + "\n",
        headers=auth(w, **{"Content-Type": NDJSON}))))
    out.append(("csv cell", s.request(
        "POST", "/v1/persons:import?mode=best_effort",
        body="person_id,display_name,birth_date\nin-4,ok,1950-01-01\nin-5,%s,1950-01-01\n" % number,
        headers=auth(w, **{"Content-Type": "text/csv"}))))
    if number.isascii():
        out.append(("X-Request-Id", s.get("/v1/rules", headers=auth(w, **{"X-Request-Id": number}))))
    return out


def test_individual_number_refused_everywhere_and_kept_nowhere():
    d = _tmpdir()
    db = os.path.join(d, "n.db")
    w = make_key(db, "admin")
    pages = []
    s = Server(no_auth=False, db_path=db)
    try:
        for number in (INDIVIDUAL, INDIVIDUAL_SPACED, INDIVIDUAL_FULLWIDTH, "1234-5678-9018"):
            for place, r in _in_number_places(s, w, number):
                assert_problem(r, 422, "individual_number_not_accepted", single=True)
                assert r.json["errors"][0]["code"] == "individual_number_not_accepted"
                assert INDIVIDUAL not in r.text and number not in r.text, \
                    "%s (%r): the answer echoes the number: %r" % (place, number, r)
                if place == "X-Request-Id":
                    assert r.headers.get("X-Request-Id") not in (None, number), r.headers
        # A JSON integer literal of 12 digits counts too.
        r = s.request("POST", "/v1/eligibility:evaluate",
                      body='{"person": {"birth_date": "1950-01-01", "x": %s}}' % INDIVIDUAL,
                      headers=auth(w, **{"Content-Type": "application/json"}))
        assert_problem(r, 422, "individual_number_not_accepted", single=True)
        # Nothing of those requests was stored (the good lines neither).
        for pid in ("in-1", "in-2", "in-4"):
            assert s.get("/v1/persons/" + pid, headers=auth(w)).status == 404, pid
        # A number with a wrong check digit is no individual number.
        r = s.evaluate({"person": {"birth_date": "1950-01-01"}},
                       headers=auth(w, **{"X-Request-Id": "123456789012"}))
        assert r.status == 200, r
        # the audit writer has committed every row of those requests
        harness.wait_for(lambda: audit_settled(s, "limit=1", w), slow(5),
                         "a complete answer of GET /v1/audit")
        for suffix in ("", "-wal", "-audit", "-audit-wal"):
            p = db + suffix
            if os.path.exists(p):
                with open(p, "rb") as f:
                    pages.append((p + " (running)", f.read()))
    finally:
        s.stop()
    # A refused request names nobody: no audit row for it, not even one
    # with its id left out.
    con = sqlite3.connect(db + "-audit")
    try:
        empty = con.execute("SELECT method, route, status FROM audit "
                            "WHERE person_ids = '' AND absent_ids = 0").fetchall()
    finally:
        con.close()
    assert not empty, "audit rows naming nobody: %r" % empty[:5]
    for suffix in ("", "-wal", "-shm", "-journal", "-audit", "-audit-wal", "-audit-shm"):
        p = db + suffix
        if os.path.exists(p):
            with open(p, "rb") as f:
                pages.append((p, f.read()))
    log = s.stderr_text()
    needles = [INDIVIDUAL.encode(), INDIVIDUAL_FULLWIDTH.encode("utf-8"),
               INDIVIDUAL_SPACED.encode(), "1234-5678-9018".encode(),
               INDIVIDUAL.encode("utf-16-le")]
    for n in needles:
        assert n.decode("utf-8", "ignore") == "" or n.decode("utf-8", "ignore") not in log, \
            "the log holds %r" % n
        for where, data in pages:
            assert n not in data, "%s holds %r" % (where, n)
    assert INDIVIDUAL not in log.replace(" ", "").replace("-", ""), "the log holds the digits"
    for where, data in pages:
        assert INDIVIDUAL.encode() not in data.replace(b" ", b""), where


# ---------------------------------------------------------------------------
# Transport

def test_https_with_generated_certificate():
    d = _tmpdir()
    cert, keyf, db = (os.path.join(d, n) for n in ("cert.pem", "key.pem", "t.db"))
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", keyf, "-out", cert, "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "1"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr[-500:]
    reader = make_key(db, "reader")
    with Server(["--tls-cert", cert, "--tls-key", keyf], no_auth=False, db_path=db) as s:
        base = "https://127.0.0.1:%d" % s.port

        def curl(*args):
            return subprocess.run(["curl", "-sS", "--max-time", str(slow(10)), "--cacert", cert,
                                   "-o", "-", "-w", "\n%{http_code}"] + list(args),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                                  env=harness.clean_env())
        r = curl(base + "/healthz")
        assert r.returncode == 0, r.stderr
        body, code = r.stdout.decode().rsplit("\n", 1)
        assert code == "200" and json.loads(body)["status"] == "ok", r.stdout
        r = curl("-H", "Authorization: Bearer " + reader, "-H", "Content-Type: application/json",
                 "--data", json.dumps({"person": FACTS}), base + "/v1/eligibility:evaluate")
        body, code = r.stdout.decode().rsplit("\n", 1)
        assert code == "200" and "certificate" in json.loads(body), r.stdout
        r = curl(base + "/v1/rules")
        assert r.stdout.decode().rsplit("\n", 1)[1] == "401", r.stdout
        # Plain HTTP on the TLS port gets no HTTP answer.
        raw = s.raw(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", timeout=slow(3))
        assert not raw.startswith(b"HTTP/1.1 200"), raw[:100]
        r = subprocess.run(["curl", "-sS", "--max-time", "3", "-o", "/dev/null", "-w",
                            "%{http_code}", "http://127.0.0.1:%d/healthz" % s.port],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert r.stdout.decode() != "200", r.stdout
        # The server is still serving TLS after that.
        r = curl(base + "/healthz")
        assert r.stdout.decode().rsplit("\n", 1)[1] == "200", r.stdout


def test_no_auth_refused_off_loopback_auth_allowed():
    d = _tmpdir()
    db = os.path.join(d, "l.db")
    p = run_cli(["serve", "--listen", "0.0.0.0:0", "--no-auth", "--db", db], timeout=slow(10))
    assert p.returncode == 1, "serve --no-auth on 0.0.0.0: exit %s, stderr %s" % (
        p.returncode, p.stderr[-300:])
    reader = make_key(db, "reader")
    with Server(listen="0.0.0.0:0", no_auth=False, db_path=db) as s:
        assert s.get("/healthz").status == 200      # via 127.0.0.1 only
        assert s.get("/v1/rules", headers=auth(reader)).status == 200
        assert_401(s.get("/v1/rules"), "no key on 0.0.0.0")


def _drip(socks, stop, rounds):
    """Sends one more byte of a request line on every socket each second;
    rounds[0] counts the rounds sent."""
    text = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    i = 0
    while not stop.wait(1.0):   # paces the slow clients
        i += 1
        if i >= len(text):
            i = len(text) - 1
        for s in socks:
            try:
                s.send(text[i:i + 1])
            except OSError:
                pass
        rounds[0] += 1


def _bound_request(port, n, limit):
    """n requests on one keep-alive connection from 127.0.0.2 and n on new
    ones -> the slowest answer time."""
    worst = 0.0
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.bind(("127.0.0.2", 0))
    c.settimeout(limit * 3)
    c.connect(("127.0.0.1", port))
    try:
        for i in range(n):
            t = time.monotonic()
            if i % 2:
                c2 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                c2.bind(("127.0.0.2", 0))
                c2.settimeout(limit * 3)
                c2.connect(("127.0.0.1", port))
                conn = c2
            else:
                conn = c
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            buf = b""
            while not harness._response_complete(buf):
                chunk = conn.recv(65536)
                assert chunk, "the server closed the normal client's connection"
                buf += chunk
            if conn is not c:
                conn.close()
            assert buf.startswith(b"HTTP/1.1 200"), buf[:100]
            worst = max(worst, time.monotonic() - t)
    finally:
        c.close()
    return worst


@pytest.mark.slow
def test_slow_clients_do_not_stop_others():
    limit = slow(1.0)
    with Server(["--max-per-ip", "400", "--max-connections", "1000"]) as s:
        socks, stop, rounds = [], threading.Event(), [0]
        try:
            base = s.open_connections()
            for _ in range(300):
                c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
                c.send(b"G")
                socks.append(c)
            t = threading.Thread(target=_drip, args=(socks, stop, rounds), daemon=True)
            t.start()
            # all 300 taken in by the server, and dripping
            harness.wait_for(lambda: s.open_connections() >= base + 300, slow(10),
                             lambda: "the server to take the 300 slow clients in (%s open)"
                             % s.open_connections())
            harness.wait_for(lambda: rounds[0] >= 1, slow(5), "a byte dripped on each")
            worst = _bound_request(s.port, 20, limit)
            assert worst < limit, "a normal client waited %.2f s" % worst
            # The slow ones are still connected (not simply dropped).
            r = s.get("/metrics")
            line = [x for x in r.text.splitlines() if x.startswith("shikaku_open_connections ")]
            assert line and float(line[0].split()[1]) >= 250, line
        finally:
            stop.set()
            for c in socks:
                c.close()


def test_per_ip_limit_refuses_extra_others_served():
    # Default per-IP limit is 64: the 65th connection from 127.0.0.1 is
    # refused, while 127.0.0.2 is served.
    with Server() as s:
        socks = []
        try:
            # counted from 127.0.0.2, which has no connection open
            base = s.open_connections(source="127.0.0.2")
            for _ in range(64):
                c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
                c.send(b"GET /hea")
                socks.append(c)
            harness.wait_for(
                lambda: s.open_connections(source="127.0.0.2") >= base + 64, slow(10),
                lambda: "the server to take the 64 connections in (%s open)"
                % s.open_connections(source="127.0.0.2"))
            refused = told = 0
            for _ in range(10):
                c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
                try:
                    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    data = b""
                    r, _, _ = select.select([c], [], [], 2)
                    if r:
                        data = c.recv(4096)
                    if not data.startswith(b"HTTP/1.1 200"):
                        refused += 1
                    # a few over the limit are told why, not just cut
                    if data.startswith(b"HTTP/1.1 503") and \
                            b"application/problem+json" in data and \
                            b"Retry-After" in data:
                        told += 1
                except OSError:
                    refused += 1
                finally:
                    c.close()
            assert refused == 10, "%d of 10 connections over the per-IP limit were served" \
                % (10 - refused)
            assert told == 10, "only %d of 10 got a 503 problem+json" % told
            worst = _bound_request(s.port, 10, slow(1.0))
            assert worst < slow(1.0), "127.0.0.2 waited %.2f s" % worst
        finally:
            for c in socks:
                c.close()
