"""Facility scope and the audit log's cost (issue 12, items 2, 3, 6, 9):

- a key bound to a facility gets for another facility's person exactly
  what it gets for an absent id (status, headers but X-Request-Id and
  Date, body) on every route, and an import line over one names neither
  the person nor its facility;
- an admin key cannot be bound to a facility (refused at `key create`;
  one in an older database may not read the audit log or write the
  registry);
- ids stored nowhere are counted in the audit row, not stored one by one;
  --rate-limit answers 429 with Retry-After; --audit-max-size answers 503
  on the routes that name persons, with gauges on /metrics;
- a best_effort NDJSON import whose unparseable line may hold an
  individual number is refused as a whole.

The module's shared server runs with keys made by `key create` before it
started; tests that need other flags start their own."""

import json
import os
import sqlite3
import time

import harness
from harness import Server, assert_problem, run_cli, slow

FACTS = {"birth_date": "1950-04-01", "insurer_number": "138057",
         "mynumber_card": "held", "insurance_registration": "registered",
         "care_needs": ["dementia"], "setting": "care_facility"}
NDJSON = "application/x-ndjson"
OTHER = "sp-b-1"        # stored under fac-b
ABSENT = "sp-nobody"    # stored nowhere
_state = {}


def _tmpdir():
    return harness.temp_dir("shikaku-scope-")


make_key = harness.make_key


def key_id(key):
    return key[4:16]


auth = harness.bearer


def keys():
    return harness.module_keys(_state, "scope", harness.FACILITY_KEYS)


def K(name):
    return keys()[name]


def srv():
    s = harness.keyed_server(keys())
    if not _state.get("setup"):
        r = put(s, K("writer_b"), OTHER, {"display_name": "B One"})
        assert r.status in (200, 201) and r.json["facility_id"] == "fac-b", r
        r = put(s, K("writer_a"), "sp-a-1", {"display_name": "A One"})
        assert r.status in (200, 201) and r.json["facility_id"] == "fac-a", r
        _state["setup"] = True
    return s


def put(s, key, pid, extra=None, headers=None):
    body = dict(FACTS)
    body.update(extra or {})
    return s.request("PUT", "/v1/persons/" + pid, json_body=body,
                     headers=auth(key, **(headers or {})))


def comparable(r):
    """What an answer shows but X-Request-Id and Date (which differ for
    every request): status, the other headers in order, the body."""
    heads = [(k.lower(), v) for k, v in r.headers.items()
             if k.lower() not in ("x-request-id", "date")]
    return r.status, heads, r.body


def assert_same(other, absent, what):
    assert comparable(other) == comparable(absent), \
        "%s: another facility's person %r differs from an absent id %r" % (
            what, comparable(other), comparable(absent))


def b_unchanged(s):
    r = s.get("/v1/persons/" + OTHER, headers=auth(K("writer_b")))
    assert r.status == 200 and r.json["display_name"] == "B One" \
        and r.json["facility_id"] == "fac-b", r


def audit_rows(s, query, admin):
    r = s.get("/v1/audit?" + query, headers=auth(admin))
    assert r.status == 200, r
    return r.json["items"]


def audit_wait(s, query, pred, what, admin):
    deadline = time.monotonic() + slow(5)
    while True:
        rows = audit_rows(s, query, admin)
        hit = [row for row in rows if pred(row)]
        if hit:
            return hit[0]
        if time.monotonic() > deadline:
            raise AssertionError("no audit row %s in %r" % (what, rows[-5:]))
        time.sleep(0.1)


# ---------------------------------------------------------------------------
# Item 2: another facility's person looks absent

def test_every_route_answers_other_facility_as_absent():
    """GET, HEAD, If-None-Match, the stored decision (JSON and text), PUT
    with If-Match, DELETE, batch items: byte for byte what an absent id
    gets.  (Before, only PUT with If-Match differed: 404 against 412.)"""
    s = srv()
    _reads(s)
    _writes(s)
    _batch_items(s)


def _reads(s):
    for key in (K("reader_a"), K("writer_a")):
        for path, hdrs in (("/v1/persons/%s", {}),
                           ("/v1/persons/%s", {"If-None-Match": '"x"'}),
                           ("/v1/persons/%s", {"If-None-Match": "*"}),
                           ("/v1/persons/%s/eligibility", {}),
                           ("/v1/persons/%s/eligibility?format=text", {}),
                           ("/v1/persons/%s/eligibility?as_of=2026-04-01&lang=en", {})):
            for method in ("GET", "HEAD"):
                other = s.request(method, path % OTHER, headers=auth(key, **hdrs))
                absent = s.request(method, path % ABSENT, headers=auth(key, **hdrs))
                assert other.status == 404, other
                assert_same(other, absent, "%s %s %r" % (method, path, hdrs))


def _writes(s):
    w = K("writer_a")
    # PUT with If-Match: what an absent id gets (412, no such person),
    # whatever the body says about the facility.
    for tag in ('"x"', "*", '"x", "y"', 'W/"x"'):
        for extra in ({}, {"facility_id": "fac-a"}, {"display_name": "hijack"}):
            other = put(s, w, OTHER, extra, {"If-Match": tag})
            absent = put(s, w, ABSENT, extra, {"If-Match": tag})
            assert other.status == 412, other
            assert_same(other, absent, "PUT If-Match %s %r" % (tag, extra))
    # PUT with If-Match and If-None-Match both: If-Match decides.
    other = put(s, w, OTHER, None, {"If-Match": '"x"', "If-None-Match": "*"})
    absent = put(s, w, ABSENT, None, {"If-Match": '"x"', "If-None-Match": "*"})
    assert_same(other, absent, "PUT If-Match + If-None-Match")
    # An invalid body is refused the same way before the store is asked.
    other = put(s, w, OTHER, {"birth_date": "1950-02-30"}, {"If-Match": '"x"'})
    absent = put(s, w, ABSENT, {"birth_date": "1950-02-30"}, {"If-Match": '"x"'})
    assert other.status == 422, other
    assert_same(other, absent, "PUT with an invalid body")
    other = put(s, w, OTHER, {"facility_id": "fac-b"})
    absent = put(s, w, ABSENT, {"facility_id": "fac-b"})
    assert other.status == 422, other
    assert_same(other, absent, "PUT naming another facility")
    # DELETE, with and without If-Match.
    for hdrs in ({}, {"If-Match": '"x"'}, {"If-Match": "*"}):
        other = s.request("DELETE", "/v1/persons/" + OTHER, headers=auth(w, **hdrs))
        absent = s.request("DELETE", "/v1/persons/" + ABSENT, headers=auth(w, **hdrs))
        assert other.status == 404, other
        assert_same(other, absent, "DELETE %r" % hdrs)
    # The residual (README, Security): a PUT that would create answers 404
    # where an absent id is created; the stored person is never touched.
    for hdrs in ({}, {"If-None-Match": "*"}):
        r = put(s, w, OTHER, {"display_name": "hijack"}, hdrs)
        assert_problem(r, 404, "not_found")
        assert "fac-b" not in r.text, r
    b_unchanged(s)
    assert s.get("/v1/persons/" + ABSENT, headers=auth(K("admin"))).status == 404


def _batch_items(s):
    for key in (K("reader_a"), K("writer_a")):
        other = s.post("/v1/eligibility:batch", {"items": [{"person_id": OTHER}]},
                       headers=auth(key))
        absent = s.post("/v1/eligibility:batch", {"items": [{"person_id": ABSENT}]},
                        headers=auth(key))
        assert other.status == 200 and other.json["results"][0]["error"]["status"] == 404, other
        assert_same(other, absent, "batch item")
        # Mixed with a visible one and facts, in either order.
        items = [{"person_id": "sp-a-1"}, {"person": FACTS}]
        other = s.post("/v1/eligibility:batch", {"items": items + [{"person_id": OTHER}],
                                                 "as_of": "2026-06-01"}, headers=auth(key))
        absent = s.post("/v1/eligibility:batch", {"items": items + [{"person_id": ABSENT}],
                                                  "as_of": "2026-06-01"}, headers=auth(key))
        assert other.status == 200, other
        strip = lambda r: [{k: v for k, v in x.items() if k not in ("decision_id", "evaluated_at")}
                           for x in r.json["results"]]
        assert strip(other) == strip(absent), (other.json, absent.json)


def _import(s, key, lines, mode="best_effort"):
    body = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)
    return s.request("POST", "/v1/persons:import?mode=" + mode, body=body,
                     headers=auth(key, **{"Content-Type": NDJSON}))


def test_import_lines_of_other_facility():
    s = srv()
    w = K("writer_a")
    # An invalid line: the same errors for another facility's id as for an
    # absent one (nothing would be written either way).
    bad = dict(FACTS, birth_date="1950-02-30")
    r = _import(s, w, [dict(bad, person_id=OTHER), dict(bad, person_id=ABSENT)])
    assert r.status == 200, r
    rej = r.json["rejected"]
    assert [x["line"] for x in rej] == [1, 2], r.json
    assert rej[0]["errors"] == rej[1]["errors"], rej
    # all_or_nothing that has already failed: no later line is asked about.
    r = _import(s, w, [dict(bad, person_id="sp-imp-0"), dict(FACTS, person_id=OTHER),
                       dict(FACTS, person_id=ABSENT)], mode="all_or_nothing")
    assert r.status == 422 and [x["line"] for x in r.json["rejected"]] == [1], r.json
    assert s.get("/v1/persons/" + ABSENT, headers=auth(K("admin"))).status == 404
    # A line that would be written: refused with what PUT answers, naming
    # neither ownership nor the other facility; the absent id is stored.
    r = _import(s, w, [dict(FACTS, person_id=OTHER), dict(FACTS, person_id="sp-imp-1")])
    assert r.status == 200, r
    rej = r.json["rejected"]
    assert [x["line"] for x in rej] == [1], r.json
    assert [(e["field"], e["code"], e["message"]) for e in rej[0]["errors"]] == \
        [("/person_id", "not_found", "no person with this id")], rej
    assert "cannot write" not in r.text and "fac-b" not in r.text, r.text
    assert s.get("/v1/persons/sp-imp-1", headers=auth(K("admin"))).json["facility_id"] == "fac-a"
    b_unchanged(s)


# ---------------------------------------------------------------------------
# Item 3: admin keys and facilities

def test_admin_key_with_facility():
    d = _tmpdir()
    db = os.path.join(d, "adm.db")
    p = run_cli(["key", "create", "--db", db, "--role", "admin", "--facility", "fac-a"])
    assert p.returncode != 0 and p.stdout == "", (p.returncode, p.stdout)
    assert "--facility" in p.stderr and "admin" in p.stderr, p.stderr
    listed = run_cli(["key", "list", "--db", db])
    assert "admin" not in listed.stdout, listed.stdout
    # One made before the refusal (an older database): a writer of its
    # facility, refused on every admin route.
    admin = make_key(db, "admin")
    old = make_key(db, "admin")
    writer_b = make_key(db, "writer", "fac-b")
    con = sqlite3.connect(db)
    con.execute("UPDATE api_keys SET facility_id = 'fac-a' WHERE id = ?", (key_id(old),))
    con.commit()
    con.close()
    with Server(no_auth=False, db_path=db) as s:
        assert put(s, writer_b, "adm-b", {"display_name": "B"}).status == 201
        ins = {"name_ja": "テスト", "scheme": "nhi", "prefecture_code": 13}
        for method, path, body, ctype in (
                ("GET", "/v1/audit?person_id=adm-b", None, None),
                ("GET", "/v1/audit", None, None),
                ("PUT", "/v1/insurers/138057", json.dumps(ins), "application/json"),
                ("POST", "/v1/insurers:import",
                 json.dumps(dict(ins, insurer_number="138057")) + "\n", NDJSON)):
            h = auth(old)
            if ctype:
                h["Content-Type"] = ctype
            r = s.request(method, path, body=body, headers=h)
            assert_problem(r, 403, "forbidden")
            assert "bound to a facility" in r.json["detail"], r.json
        # The same requests with the unbound admin key pass that check.
        assert s.get("/v1/audit?person_id=adm-b", headers=auth(admin)).status == 200
        # Within its facility it still writes and reads; others look absent.
        r = put(s, old, "adm-a", {})
        assert r.status == 201 and r.json["facility_id"] == "fac-a", r
        assert s.get("/v1/persons/adm-b", headers=auth(old)).status == 404


# ---------------------------------------------------------------------------
# Item 6: the audit log's cost

def _db_bytes(db):
    """The database and its audit file, with their WALs."""
    return sum(os.path.getsize(db + sfx) for sfx in ("", "-wal", "-audit", "-audit-wal")
               if os.path.exists(db + sfx))


def _metric(s, name, key):
    r = s.get("/metrics", headers=auth(key))
    assert r.status == 200, r
    for line in r.text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def _audit_settled(s, written_at_least, key):
    deadline = time.monotonic() + slow(10)
    while True:
        w = None
        r = s.get("/metrics", headers=auth(key))
        for line in r.text.splitlines():
            if line.startswith('shikaku_audit_records_total{result="written"}'):
                w = float(line.split()[1])
        q = [l for l in r.text.splitlines() if l.startswith("shikaku_audit_queue ")]
        if w is not None and w >= written_at_least and q and float(q[0].split()[1]) == 0:
            return w
        if time.monotonic() > deadline:
            raise AssertionError("audit rows not written: %r" % r.text[-600:])
        time.sleep(0.05)


def test_absent_ids_are_counted_not_stored():
    d = _tmpdir()
    db = os.path.join(d, "aud.db")
    reader = make_key(db, "reader")
    reader_a = make_key(db, "reader", "fac-a")
    writer_b = make_key(db, "writer", "fac-b")
    admin = make_key(db, "admin")
    with Server(no_auth=False, db_path=db) as s:
        assert put(s, writer_b, "ab-b", {}).status == 201
        base = _audit_settled(s, 1, admin)
        before = _db_bytes(db)
        batches = 20
        for b in range(batches):
            ids = ["%s%05d-%04d" % ("z" * 54, b, i) for i in range(1000)]
            assert len(ids[0]) == 64
            r = s.post("/v1/eligibility:batch", {"items": [{"person_id": i} for i in ids]},
                       headers=auth(reader, **{"X-Request-Id": "ab-batch-%d" % b}))
            assert r.status == 200, r
        _audit_settled(s, base + batches, admin)
        grew = _db_bytes(db) - before
        # One id a row used to cost its text in the row and an index
        # entry: at least 20,000 x 65 bytes of ids alone.
        per_id_floor = batches * 1000 * 65
        assert grew < per_id_floor // 4, \
            "the database grew %d bytes for %d absent ids (per-id storage costs over %d)" % (
                grew, batches * 1000, per_id_floor)
        rows = audit_rows(s, "key_id=%s&limit=1000" % key_id(reader), admin)
        mine = [row for row in rows if row["request_id"].startswith("ab-batch-")]
        assert len(mine) == batches, rows[-3:]
        for row in mine:
            assert row["person_ids"] == [] and row["absent_ids"] == 1000, row
        # Stored ids are listed as before, absent ones counted beside them;
        # another facility's person stays a named one (a probe is recorded).
        r = s.post("/v1/eligibility:batch", {"items": [{"person_id": "ab-b"},
                                                       {"person_id": "ab-none"}]},
                   headers=auth(reader_a, **{"X-Request-Id": "ab-mixed"}))
        assert r.status == 200, r
        r = s.get("/v1/persons/ab-none", headers=auth(reader, **{"X-Request-Id": "ab-get"}))
        assert r.status == 404, r
        row = audit_wait(s, "limit=1000", lambda x: x["request_id"] == "ab-mixed", "ab-mixed",
                         admin)
        assert row["person_ids"] == ["ab-b"] and row["absent_ids"] == 1, row
        row = audit_wait(s, "limit=1000", lambda x: x["request_id"] == "ab-get", "ab-get", admin)
        assert row["person_ids"] == [] and row["absent_ids"] == 1 and row["status"] == 404, row
        assert audit_rows(s, "person_id=ab-none", admin) == []
        row = audit_wait(s, "person_id=ab-b", lambda x: x["request_id"] == "ab-mixed",
                         "ab-mixed by person", admin)
        assert row["key_id"] == key_id(reader_a), row


def test_rate_limit_answers_429_with_retry_after():
    d = _tmpdir()
    db = os.path.join(d, "rate.db")
    k1, k2 = make_key(db, "reader"), make_key(db, "reader")
    with Server(["--rate-limit", "1", "--rate-burst", "3"], no_auth=False, db_path=db) as s:
        got = [s.get("/v1/rules", headers=auth(k1)) for _ in range(8)]
        codes = [r.status for r in got]
        assert codes[:3] == [200, 200, 200] and 429 in codes, codes
        limited = [r for r in got if r.status == 429][0]
        assert_problem(limited, 429, "rate_limited", "header:Authorization", single=True)
        ra = limited.headers.get("Retry-After")
        assert ra and ra.isdigit() and 1 <= int(ra) <= 3, limited.headers
        assert key_id(k1) not in limited.text, limited.text
        # Another key has a bucket of its own.
        assert s.get("/v1/rules", headers=auth(k2)).status == 200
        # An unknown key is 401, not a token taken.
        assert s.get("/v1/rules", headers={"Authorization": "Bearer shk_x_y"}).status == 401
        # After Retry-After, the key is served again.
        deadline = time.monotonic() + int(ra) + slow(5)
        while True:
            r = s.get("/v1/rules", headers=auth(k1))
            if r.status == 200:
                break
            assert r.status == 429 and time.monotonic() < deadline, r
            time.sleep(0.2)
    p = run_cli(["serve", "--help"])
    assert "--rate-limit" in p.stdout and "SHIKAKU_RATE_LIMIT" in p.stdout, p.stdout
    assert "--audit-max-size" in p.stdout and "SHIKAKU_AUDIT_MAX_SIZE" in p.stdout


def test_audit_max_size_refuses_audited_routes():
    d = _tmpdir()
    db = os.path.join(d, "max.db")
    writer = make_key(db, "writer")
    admin = make_key(db, "admin")
    with Server(["--audit-max-size", "96K"], no_auth=False, db_path=db) as s:
        lines = [dict(FACTS, person_id="mx-%03d" % i) for i in range(300)]
        r = _import(s, writer, lines, mode="all_or_nothing")
        assert r.status == 200, r
        deadline = time.monotonic() + slow(5)
        while _metric(s, "shikaku_audit_bytes", admin) is None:
            assert time.monotonic() < deadline, "no shikaku_audit_bytes on /metrics"
            time.sleep(0.05)
        assert _metric(s, "shikaku_audit_max_bytes", admin) == 96 * 1024
        items = [{"person_id": "mx-%03d" % i} for i in range(300)]
        deadline = time.monotonic() + slow(30)
        refused = None
        n = 0
        while refused is None:
            assert time.monotonic() < deadline, \
                "no 503 after %d batches; audit bytes %r" % (
                    n, _metric(s, "shikaku_audit_bytes", admin))
            r = s.post("/v1/eligibility:batch", {"items": items}, headers=auth(writer))
            n += 1
            if r.status == 503:
                refused = r
            else:
                assert r.status == 200, r
                time.sleep(0.05)
        assert_problem(refused, 503, "audit_log_full")
        assert refused.headers.get("Retry-After") == "60", refused.headers
        assert _metric(s, "shikaku_audit_bytes", admin) >= 96 * 1024
        assert _metric(s, "shikaku_audit_available", admin) == 0
        assert _metric(s, "shikaku_audit_refused_total", admin) >= 1
        # The bytes are the audit file's, not the person store's.
        assert sum(os.path.getsize(db + sfx) for sfx in ("-audit", "-audit-wal")
                   if os.path.exists(db + sfx)) >= 96 * 1024
        # Every route that names persons; never answered unaudited.
        _audit_settled_keyed(s, admin)
        count = len(audit_rows_keyed(s, admin))
        for method, path in (("GET", "/v1/persons/mx-001"), ("GET", "/v1/persons/mx-001/eligibility"),
                             ("GET", "/v1/persons"), ("DELETE", "/v1/persons/mx-001")):
            r = s.request(method, path, headers=auth(writer))
            assert_problem(r, 503, "audit_log_full")
        r = put(s, writer, "mx-new", {})
        assert_problem(r, 503, "audit_log_full")
        r = _import(s, writer, [dict(FACTS, person_id="mx-imp")])
        assert_problem(r, 503, "audit_log_full")
        # What names nobody goes on, and the admin can read the log.
        assert s.evaluate({"person": FACTS}, headers=auth(writer)).status == 200
        assert s.get("/v1/rules", headers=auth(writer)).status == 200
        _audit_settled_keyed(s, admin)
        assert len(audit_rows_keyed(s, admin)) == count
    # The limit is a flag only: without it the same database is served.
    with Server(no_auth=False, db_path=db) as s:
        assert s.get("/v1/persons/mx-001", headers=auth(writer)).status == 200


def audit_rows_keyed(s, admin):
    r = s.get("/v1/audit?limit=1000", headers=auth(admin))
    assert r.status == 200, r
    rows = r.json["items"]
    while r.json["next_cursor"]:
        r = s.get("/v1/audit?limit=1000&cursor=" + r.json["next_cursor"], headers=auth(admin))
        rows += r.json["items"]
    return rows


def _audit_settled_keyed(s, admin):
    deadline = time.monotonic() + slow(10)
    while True:
        r = s.get("/metrics", headers=auth(admin))
        q = [l for l in r.text.splitlines() if l.startswith("shikaku_audit_queue ")]
        if q and float(q[0].split()[1]) == 0:
            time.sleep(0.3)   # a batch taken off the queue is written within its commit
            return
        assert time.monotonic() < deadline, r.text[-400:]
        time.sleep(0.05)


# ---------------------------------------------------------------------------
# Item 9: an unparseable import line that may hold an individual number

def test_best_effort_import_unparseable_line_with_number_refused():
    s = srv()
    w = K("writer")
    broken = ['{"person_id":"si-x","n":1234.5678.9018}',
              '{"person_id":"si-x","n":1234_5678_9018,}',
              '{"person_id":"si-x","n":123456789018-5}',
              '{"person_id":"si-x","n":[123456789018 5]}',
              '{"person_id":"si-x","display_name":"No. 123456789018" x}',
              '{"person_id":"si-x","display_name":"番号１２３４５６７８９０１８",}',
              '{"person_id":"si-x", 123456789018}']
    for i, line in enumerate(broken):
        good1, good2 = "si-%d-a" % i, "si-%d-b" % i
        r = _import(s, w, [dict(FACTS, person_id=good1), line, dict(FACTS, person_id=good2)])
        assert_problem(r, 422, "individual_number_not_accepted", "/lines/2", single=True)
        assert "123456789018" not in r.text and "9018" not in r.text, r.text
        for pid in (good1, good2):
            assert s.get("/v1/persons/" + pid, headers=auth(w)).status == 404, (line, pid)
    # A broken line without one is one rejected line, as before.
    r = _import(s, w, [dict(FACTS, person_id="si-ok-a"), '{"person_id":"si-x","n":123456789012,}',
                       '{"n":1950-04-01 2026-11-30 "phone" 03-1234-5678}',
                       dict(FACTS, person_id="si-ok-b")])
    assert r.status == 200 and [x["line"] for x in r.json["rejected"]] == [2, 3], r
    for pid in ("si-ok-a", "si-ok-b"):
        assert s.get("/v1/persons/" + pid, headers=auth(w)).status == 200, pid
