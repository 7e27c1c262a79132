"""`shikakud export` (issue 16, README "Scaling out"): the stored persons and
insurer registry as NDJSON in exactly the format the imports read.  Exported
from one server's store and imported into a fresh one, every person (with its
ETag) and every insurer is the same."""

import json
import os
import shutil
import stat
import tempfile

import harness
from harness import Server, new_db, run_cli, slow

MYNUMBER = "123456789018"  # a valid individual number (SPEC §8's example)
NDJSON = "application/x-ndjson"

PERSONS = {
    "ex-full": {"display_name": "山田 花子", "facility_id": "fac-a", "birth_date": "1948-09-09",
                "insurer_number": "138057", "mynumber_card": "held",
                "insurance_registration": "registered", "ecert_expiry": "2029-01-31",
                "card_expiry": "2033-01-31", "care_needs": ["elderly", "pin_difficulty"],
                "setting": "care_facility", "legacy_card_expiry": "2025-07-31",
                "certificate": {"status": "applied", "applied_on": "2025-06-01"},
                "verified_at": "2026-11-01", "source": "card_reader"},
    "ex-issued": {"display_name": "Tanaka \"Ken\" \\ 田中", "facility_id": "fac-b",
                  "birth_date": "1940-02-29", "insurer_number": "39132014",
                  "mynumber_card": "none", "certificate": {
                      "status": "issued", "basis": "application",
                      "applied_on": "2025-01-10", "valid_until": "2027-07-31"},
                  "source": "self_report", "verified_at": "2026-10-31"},
    "ex-bare": {},
    "ex.dots_1-2": {"birth_date": "1999-12-31", "care_needs": []},
}

INSURERS = {
    "131151": {"name_ja": "杉並区 国民健康保険", "phone": "03-3312-2111",
               "address": "〒166-8570 東京都杉並区阿佐谷南1-15-1",
               "url": "https://www.city.suginami.tokyo.jp/"},
    "138057": {"name_ja": "東京都医師国民健康保険組合", "scheme": "nhi_association"},
    # a seeded 協会けんぽ branch, renamed
    "01130012": {"name_ja": "協会けんぽ 東京支部 (改)", "name_en": "Kyokai Tokyo"},
}


def target(s):
    """The store a server of the harness serves, as `--db` takes it."""
    t = getattr(s, "db_target", None)
    if callable(t):
        return t()
    if t:
        return t
    return s.db_path or os.path.join(s.workdir, "x.db")


def ndjson(objs):
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs).encode("utf-8")


def generated(n):
    """n varied persons, as bench/gen_persons.py writes them."""
    insurers = ["138057", "39132014", "01130012", "01040013"]
    return [{"person_id": "g%05d" % i, "facility_id": "f%02d" % (i % 7),
             "birth_date": "%d-%02d-%02d" % (1930 + i % 80, 1 + i % 12, 1 + i % 28),
             "insurer_number": insurers[i % 4],
             "mynumber_card": ["held", "none", "lost"][i % 3],
             "care_needs": [[], ["elderly"], ["dementia", "pin_difficulty"]][i % 3],
             "verified_at": "2026-11-01", "source": "card_reader"} for i in range(n)]


def post_import(s, body, kind):
    return s.request("POST", "/v1/%s:import" % kind, body=body,
                     headers={"Content-Type": NDJSON}, timeout=slow(60))


def export(s, *args):
    """`shikakud export` of s's store -> the lines it wrote (stdout)."""
    p = run_cli(["export", "--db", target(s)] + list(args), timeout=slow(60))
    assert p.returncode == 0, "export %s: exit %d, stderr %s" % (args, p.returncode, p.stderr)
    return p.stdout


def fill(s):
    for pid, body in PERSONS.items():
        r = s.request("PUT", "/v1/persons/" + pid, json_body=body)
        assert r.status == 201, r
    for num, body in INSURERS.items():
        r = s.request("PUT", "/v1/insurers/" + num, json_body=body)
        assert r.status in (200, 201), r
    r = post_import(s, ndjson(generated(2500)), "persons")
    assert r.status == 200 and r.json["inserted"] == 2500, r


def all_insurers(s):
    out, cursor = [], None
    while True:
        r = s.get("/v1/insurers?limit=1000" + ("&cursor=" + cursor if cursor else ""))
        assert r.status == 200, r
        out += r.json["items"]
        cursor = r.json["next_cursor"]
        if not cursor:
            return out


def without_updated_at(obj):
    return {k: v for k, v in obj.items() if k != "updated_at"}


def person_ids(lines):
    return [json.loads(l)["person_id"] for l in lines.splitlines()]


def test_export_then_import_gives_the_same_store():
    with Server() as a, Server() as b:
        fill(a)
        persons = export(a)
        insurers = export(a, "--insurers")
        ids = person_ids(persons)
        assert len(ids) == 2500 + len(PERSONS) and ids == sorted(ids), ids[:5]
        for line in persons.splitlines():
            assert "updated_at" not in json.loads(line), line
        assert json.loads(persons.splitlines()[ids.index("ex-bare")]) == \
            {"person_id": "ex-bare", "care_needs": []}
        nums = [json.loads(l)["insurer_number"] for l in insurers.splitlines()]
        assert set(INSURERS) <= set(nums) and nums == sorted(nums), nums
        # the imports read it as it is, insurers first
        r = post_import(b, insurers.encode("utf-8"), "insurers")
        assert r.status == 200 and r.json["rejected_total"] == 0, r
        r = post_import(b, persons.encode("utf-8"), "persons")
        assert r.status == 200 and r.json["inserted"] == len(ids), r
        for pid in list(PERSONS) + ["g00000", "g01234", "g02499"]:
            ra, rb = a.get("/v1/persons/" + pid), b.get("/v1/persons/" + pid)
            assert ra.status == rb.status == 200, (ra, rb)
            assert without_updated_at(rb.json) == without_updated_at(ra.json), (ra.json, rb.json)
            assert rb.headers["ETag"] == ra.headers["ETag"], pid
        ia, ib = all_insurers(a), all_insurers(b)
        assert [without_updated_at(i) for i in ib] == [without_updated_at(i) for i in ia]
        # every person: the second store exports the same bytes
        assert export(b) == persons
        assert export(b, "--insurers") == insurers


def test_cli_import_reads_the_export_file():
    with Server() as a:
        for pid, body in PERSONS.items():
            assert a.request("PUT", "/v1/persons/" + pid, json_body=body).status == 201
        work = tempfile.mkdtemp(prefix="shikaku-export-")
        try:
            out = os.path.join(work, "persons.ndjson")
            p = run_cli(["export", "--db", target(a), "--output", out])
            assert p.returncode == 0 and p.stdout == "", p
            assert "%d persons" % len(PERSONS) in p.stderr, p.stderr
            assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
            assert os.listdir(work) == ["persons.ndjson"], os.listdir(work)
            fresh = new_db(work, "fresh.db")
            p = run_cli(["import", "--db", fresh, out])
            assert p.returncode == 0, p.stderr
            assert json.loads(p.stdout)["inserted"] == len(PERSONS), p.stdout
            p = run_cli(["export", "--db", fresh])
            assert p.returncode == 0, p.stderr
            with open(out, encoding="utf-8") as f:
                assert p.stdout == f.read()
        finally:
            shutil.rmtree(work, ignore_errors=True)


def test_facility_limits_the_persons():
    with Server() as a:
        for pid, body in PERSONS.items():
            assert a.request("PUT", "/v1/persons/" + pid, json_body=body).status == 201
        assert person_ids(export(a, "--facility", "fac-a")) == ["ex-full"]
        assert person_ids(export(a, "--facility", "fac-b")) == ["ex-issued"]
        assert export(a, "--facility", "nobody") == ""


def test_refusals():
    with Server() as a:
        db = target(a)
        work = tempfile.mkdtemp(prefix="shikaku-export-")
        try:
            missing = os.path.join(work, "none.db")
            p = run_cli(["export", "--db", missing])
            assert p.returncode == 1 and "no such database" in p.stderr, p
            assert not os.path.exists(missing), "export created a database"
            for args in (["export"], ["export", "--db", db, "--bogus"],
                         ["export", "--db", db, "extra"],
                         ["export", "--db", db, "--facility", "a/b"],
                         ["export", "--db", db, "--insurers", "--facility", "fac-a"]):
                p = run_cli(args)
                assert p.returncode == 2 and "usage: shikakud export" in p.stderr, (args, p)
            p = run_cli(["export", "--db", db, "--facility", MYNUMBER])
            assert p.returncode == 2 and "individual number" in p.stderr, p
            assert MYNUMBER not in p.stderr + p.stdout
            # an output that cannot be written: exit 1, no file left
            bad = os.path.join(work, "no-dir", "x.ndjson")
            p = run_cli(["export", "--db", db, "--output", bad])
            assert p.returncode == 1 and p.stdout == "", p
            assert os.listdir(work) == [], os.listdir(work)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def test_help_tells_the_truth():
    p = run_cli(["export", "--help"])
    assert p.returncode == 0 and p.stdout.startswith("usage: shikakud export"), p
    for flag in ("--db", "--insurers", "--facility", "--output"):
        assert flag in p.stdout, flag
    top = run_cli(["--help"])
    assert "export --db" in top.stdout, top.stdout


# ---- the store behind them (issue 16): the import's batches, keys, sessions
# and the audit log, on the store of this run (--store sqlite|pg)

def admin_key(db):
    return harness.make_key(db, "admin")


def test_import_in_batches_with_repeated_ids():
    """More lines than one batch of the PostgreSQL import (10,000), ids
    met again within a batch and across batches: the last line of an id
    wins, the counts are those of writing line by line, and a bad line at
    the end of an all_or_nothing import takes back the batches already
    sent."""
    with Server() as s:
        base = generated(21000)
        lines = list(base)
        again = []
        for i in range(0, 21000, 700):     # changed: updated
            again.append(dict(base[i], display_name="again %d" % i))
        for i in range(350, 21000, 700):   # the same: unchanged
            again.append(dict(base[i]))
        lines[5000:5000] = again[:15]      # inside the first batch
        lines += again[15:]                # in later ones
        r = post_import(s, ndjson(lines), "persons")
        assert r.status == 200, r
        n_changed = len(range(0, 21000, 700))
        assert (r.json["inserted"], r.json["updated"], r.json["unchanged"]) == \
            (21000, n_changed, len(again) - n_changed), r.json
        assert s.get("/v1/persons/g00700").json["display_name"] == "again 700"
        assert "display_name" not in s.get("/v1/persons/g01050").json
        assert len(person_ids(export(s))) == 21000
        # all_or_nothing: 2 batches sent, then a bad line: nothing stays
        more = [dict(p, person_id="n" + p["person_id"]) for p in base]
        more.append({"person_id": "n-bad", "mynumber_card": "maybe"})
        r = post_import(s, ndjson(more), "persons")
        assert r.status == 422 and r.json["stored"] is False, r
        assert s.get("/v1/persons/ng00000").status == 404
        assert s.get("/v1/persons/ng20999").status == 404
        assert len(person_ids(export(s))) == 21000


def test_keys_sessions_and_revocation_on_the_store():
    db = new_db()
    adm = admin_key(db)
    w = harness.make_key(db, "writer", facility="fac-k")
    with Server(no_auth=False, db=db) as s:
        h = {"Authorization": "Bearer " + w}
        r = s.request("PUT", "/v1/persons/k-1", json_body={"birth_date": "1950-01-01"},
                      headers=h)
        assert r.status == 201 and r.json["facility_id"] == "fac-k", r
        r = s.request("POST", "/v1/sessions", headers=h)
        assert r.status == 201, r
        cookie, csrf = r.headers["Set-Cookie"].split(";")[0], r.json["csrf_token"]
        r = s.get("/v1/sessions/current", headers={"Cookie": cookie})
        assert r.status == 200 and r.json["role"] == "writer", r
        assert r.json["facility_id"] == "fac-k", r.json
        r = s.request("PUT", "/v1/persons/k-2", json_body={}, headers={"Cookie": cookie})
        assert r.status == 403, r
        r = s.request("PUT", "/v1/persons/k-2", json_body={},
                      headers={"Cookie": cookie, "X-CSRF-Token": csrf})
        assert r.status == 201, r
        listed = run_cli(["key", "list", "--db", db])
        assert listed.returncode == 0 and "fac-k" in listed.stdout, listed
        kid = w.split("_")[1]
        p = run_cli(["key", "revoke", "--db", db, kid])
        assert p.returncode == 0, p.stderr
        # the very next request, no waiting: key and session refused
        assert s.get("/v1/persons/k-1", headers=h).status == 401
        assert s.get("/v1/sessions/current", headers={"Cookie": cookie}).status == 401
        p = run_cli(["key", "revoke", "--db", db, kid])
        assert p.returncode == 0, "revoking twice: %s" % p.stderr
        p = run_cli(["key", "revoke", "--db", db, "aaaaaaaaaaaa"])
        assert p.returncode != 0
        r = s.get("/v1/audit?person_id=k-1", headers={"Authorization": "Bearer " + adm})
        assert r.status == 200 and r.json["items"], r
        assert {i["key_id"] for i in r.json["items"]} == {kid}, r.json


def audit_all(s, key, query=""):
    """Every row of GET /v1/audit, a page of 3 at a time."""
    rows, cursor = [], None
    while True:
        q = "/v1/audit?limit=3" + query + ("&cursor=" + cursor if cursor else "")
        r = s.get(q, headers={"Authorization": "Bearer " + key})
        assert r.status == 200, r
        rows += r.json["items"]
        cursor = r.json["next_cursor"]
        if not cursor:
            return rows


def test_two_servers_one_audit_log():
    """Two replicas on one PostgreSQL database: each one's GET /v1/audit
    has both one's rows (the other's once its writer has sent its batch),
    in one seq order its cursor walks without a gap; a key revoked through
    one is refused by the other at once."""
    if harness.store() != "pg":
        import pytest
        pytest.skip("replicas share a PostgreSQL database (--store pg)")
    db = new_db()
    adm = admin_key(db)
    w = harness.make_key(db, "writer")
    hw = {"Authorization": "Bearer " + w}
    with Server(no_auth=False, db=db) as a, Server(no_auth=False, db=db) as b:
        for i in range(6):
            s = (a, b)[i % 2]
            r = s.request("PUT", "/v1/persons/r-%d" % i, json_body={}, headers=hw)
            assert r.status == 201, r
            assert (b, a)[i % 2].get("/v1/persons/r-%d" % i, headers=hw).status == 200
        want = {("PUT", "r-%d" % i) for i in range(6)} | {("GET", "r-%d" % i) for i in range(6)}
        for s in (a, b):
            # the other replica's writer sends its batch within 250 ms
            def complete():
                rows = audit_all(s, adm)
                seqs = [x["seq"] for x in rows]
                assert seqs == sorted(set(seqs)), seqs
                return want <= {(x["method"], x["person_ids"][0]) for x in rows}
            harness.wait_for(complete, slow(5), "both replicas' rows on one")
            # seq is the order the replicas' batches were written in;
            # time the order of the requests
            mine = {x["method"]: x["time"] for x in audit_all(s, adm, "&person_id=r-3")}
            assert sorted(mine) == ["GET", "PUT"] and mine["PUT"] <= mine["GET"], mine
        kid = w.split("_")[1]
        assert run_cli(["key", "revoke", "--db", db, kid]).returncode == 0
        assert a.get("/v1/persons/r-0", headers=hw).status == 401
        assert b.get("/v1/persons/r-0", headers=hw).status == 401


def test_audit_retention_on_postgresql():
    if harness.store() != "pg":
        import pytest
        pytest.skip("SQLite's retention: test_security.py")
    db = new_db()
    adm = admin_key(db)   # migrates the database
    name = db.split("///")[1].split("?")[0]
    harness.pg_cluster().psql(
        "WITH b AS (UPDATE audit_counter SET last = last + 1 RETURNING last) "
        "INSERT INTO audit (seq, time, key_id, request_id, method, route, person_ids, "
        "status) SELECT last, '2001-01-01T09:00:00.000+09:00', NULL, 'ancient', 'GET', "
        "'/v1/persons/{id}', 'old-1', 200 FROM b; "
        "INSERT INTO audit_person (bucket, person_id, seq) SELECT last >> 14, 'old-1', last "
        "FROM audit_counter", db=name)
    with Server(["--audit-retention-days", "30"], no_auth=False, db=db) as s:
        h = {"Authorization": "Bearer " + adm}

        def gone():
            r = s.get("/v1/audit?person_id=old-1", headers=h)
            assert r.status == 200, r
            return r.json["items"] == []
        harness.wait_for(gone, slow(10), "the 2001 row expired")
        left = harness.pg_cluster().psql(
            "SELECT count(*) FROM audit_person WHERE person_id = 'old-1'", db=name)
        assert left.strip() == "0", left
