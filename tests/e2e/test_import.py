"""Imports (SPEC §6 "Import", §7, §8): POST /v1/persons:import and
/v1/insurers:import over HTTP, `shikakud import`, and a SIGKILL in the middle
of a large all-or-nothing import."""

import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import tempfile
import threading
import time

import pytest

import harness
from harness import Server, assert_problem, run_cli, server, slow

MYNUMBER = "123456789018"  # a valid individual number (SPEC §8's example)
NDJSON = "application/x-ndjson"


def ndjson(objs):
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs).encode("utf-8")


def uid(prefix):
    """Person ids unique to one test: the module shares one server."""
    return "%s-%d" % (prefix, time.monotonic_ns())


def post_import(s, body, content_type=NDJSON, query="", kind="persons", timeout=None):
    return s.request("POST", "/v1/%s:import%s" % (kind, query), body=body,
                     headers={"Content-Type": content_type}, timeout=timeout)


def three_lines(p):
    return ndjson([
        {"person_id": p + "-a", "mynumber_card": "held", "insurance_registration": "registered"},
        {"person_id": p + "-b", "mynumber_card": "maybe"},
        {"person_id": p + "-c", "birth_date": "1948-09-09"},
    ])


# ---- modes -------------------------------------------------------------------

def test_bad_line_all_or_nothing_stores_nothing():
    s, p = server(), uid("aon")
    r = post_import(s, three_lines(p))
    assert_problem(r, 422, "invalid_enum", "/lines/2/mynumber_card")
    j = r.json
    assert j["stored"] is False and j["inserted"] == 0 and j["rejected_total"] == 1, j
    assert j["rejected"] == [{"line": 2, "person_id": p + "-b", "errors": [
        {"field": "/mynumber_card", "code": "invalid_enum",
         "message": j["rejected"][0]["errors"][0]["message"]}]}], j["rejected"]
    for suffix in ("-a", "-c"):
        assert s.get("/v1/persons/" + p + suffix).status == 404, "stored despite all_or_nothing"


def test_bad_line_best_effort_keeps_the_good_ones():
    s, p = server(), uid("be")
    r = post_import(s, three_lines(p), query="?mode=best_effort")
    assert r.status == 200, r
    j = r.json
    assert (j["inserted"], j["updated"], j["unchanged"], j["rejected_total"]) == (2, 0, 0, 1), j
    assert [e["line"] for e in j["rejected"]] == [2], j
    g = s.get("/v1/persons/" + p + "-a")
    assert g.status == 200 and g.json["mynumber_card"] == "held", g
    assert s.get("/v1/persons/" + p + "-b").status == 404


def test_reimport_changes_nothing():
    s, p = server(), uid("re")
    body = ndjson([{"person_id": "%s-%d" % (p, i), "birth_date": "1950-01-0%d" % (i + 1),
                    "care_needs": ["elderly"]} for i in range(5)])
    r1 = post_import(s, body)
    assert r1.status == 200 and r1.json["inserted"] == 5, r1
    before = s.get("/v1/persons/%s-0" % p).json
    r2 = post_import(s, body)
    assert r2.status == 200, r2
    assert (r2.json["inserted"], r2.json["updated"], r2.json["unchanged"]) == (0, 0, 5), r2.json
    assert s.get("/v1/persons/%s-0" % p).json == before


# ---- refusals before the body ----------------------------------------------

def test_unsupported_media_type():
    s = server()
    for ct in ("application/json", "text/plain", "application/x-ndjson; charset=shift_jis",
               "text/csv; charset=latin1"):
        r = post_import(s, b'{"person_id":"x"}\n', content_type=ct)
        assert_problem(r, 415, "unsupported_media_type")


def test_bad_mode_and_unknown_parameter():
    s = server()
    r = post_import(s, b'{"person_id":"x"}\n', query="?mode=bogus")
    assert_problem(r, 422, "invalid_enum", "?mode")
    r = post_import(s, b'{"person_id":"x"}\n', query="?dry_run=1")
    assert_problem(r, 422, "unknown_field")
    r = s.get("/v1/persons:import")
    assert r.status == 405 and "POST" in (r.headers.get("Allow") or ""), r


def test_individual_number_refuses_the_whole_import():
    s = server()
    for mode in ("all_or_nothing", "best_effort"):
        p = uid("mn")
        body = ndjson([{"person_id": p + "-a"},
                       {"person_id": p + "-b", "display_name": MYNUMBER},
                       {"person_id": p + "-c"}])
        r = post_import(s, body, query="?mode=" + mode)
        assert_problem(r, 422, "individual_number_not_accepted", single=True)
        assert MYNUMBER not in r.text, "the number is echoed"
        assert r.json["errors"][0]["field"].startswith("/lines/2"), r.json
        assert s.get("/v1/persons/" + p + "-a").status == 404, "stored: " + mode
        # a CSV cell likewise
        csv = "person_id,display_name\r\n%s-a,ok\r\n%s-b,%s\r\n" % (p, p, "1234-5678-9018")
        r = post_import(s, csv.encode(), content_type="text/csv", query="?mode=" + mode)
        assert_problem(r, 422, "individual_number_not_accepted", "/lines/3/display_name",
                       single=True)
        assert s.get("/v1/persons/" + p + "-a").status == 404


# ---- CSV -----------------------------------------------------------------------

def test_csv_utf8_bom_crlf_quotes():
    s, p = server(), uid("csv")
    csv = ("\ufeffperson_id,display_name,insurer_number,care_needs,certificate_status,"
           "certificate_basis\r\n"
           '%s-1,"Smith, ""Bob""",01040013,elderly;pin_difficulty,issued,application\r\n'
           "\r\n"
           "%s-2,山田 太郎,,,,\r\n" % (p, p)).encode("utf-8")
    r = post_import(s, csv, content_type="text/csv; charset=utf-8")
    assert r.status == 200 and r.json["inserted"] == 2, r
    g = s.get("/v1/persons/%s-1" % p).json
    assert g["display_name"] == 'Smith, "Bob"' and g["insurer_number"] == "01040013", g
    assert g["care_needs"] == ["elderly", "pin_difficulty"], g
    assert g["certificate"] == {"status": "issued", "basis": "application"}, g
    assert s.get("/v1/persons/%s-2" % p).json["display_name"] == "山田 太郎"


def test_csv_shift_jis():
    s, p = server(), uid("sjis")
    text = ("person_id,display_name\r\n%s-1,髙橋 ソフト表示\r\n%s-2,ｶﾀｶﾅ\r\n" % (p, p))
    r = post_import(s, text.encode("cp932"), content_type="text/csv; charset=Shift_JIS")
    assert r.status == 200 and r.json["inserted"] == 2, r
    assert s.get("/v1/persons/%s-1" % p).json["display_name"] == "髙橋 ソフト表示"
    assert s.get("/v1/persons/%s-2" % p).json["display_name"] == "ｶﾀｶﾅ"


def test_csv_unknown_header():
    s, p = server(), uid("hdr")
    r = post_import(s, ("person_id,birthday\r\n%s,1950-01-01\r\n" % p).encode(),
                    content_type="text/csv", query="?mode=best_effort")
    assert_problem(r, 422, "unknown_field", "/header/2")
    assert s.get("/v1/persons/" + p).status == 404


def test_insurer_import_then_get():
    s = server()
    csv = ("insurer_number,name_ja,name_en\r\n"
           "138057,テスト区国民健康保険,Test Ward NHI\r\n"
           "12345678,bad check digit,\r\n").encode("utf-8")
    r = post_import(s, csv, content_type="text/csv", kind="insurers", query="?mode=best_effort")
    assert r.status == 200, r
    assert r.json["inserted"] + r.json["updated"] + r.json["unchanged"] == 1, r.json
    assert r.json["rejected"][0]["insurer_number"] == "12345678", r.json
    g = s.get("/v1/insurers/138057")
    assert g.status == 200 and g.json["name"] == "テスト区国民健康保険", g
    r = post_import(s, b'{"insurer_number":"01040013","name_ja":"\xe5\x8d\x94\xe4\xbc\x9a"}\n',
                    kind="insurers")
    assert r.status == 200, r
    assert s.get("/v1/insurers/01040013").json["name"] == "協会"


# ---- limits and dropped connections --------------------------------------

def test_over_the_import_limit_is_413_and_stores_nothing():
    with Server(["--max-import-body", "2000"]) as s2:
        body = ndjson([{"person_id": "big-%04d" % i} for i in range(200)])
        assert len(body) > 2000
        r = post_import(s2, body)
        assert_problem(r, 413, "payload_too_large")
        # chunked: the limit is found while streaming
        req = (b"POST /v1/persons:import HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: close\r\n\r\n")
        for i in range(0, len(body), 500):
            part = body[i:i + 500]
            req += b"%x\r\n" % len(part) + part + b"\r\n"
        req += b"0\r\n\r\n"
        rr = s2.raw_response(req)
        assert rr is not None and rr.status == 413, rr
        assert s2.get("/v1/persons/big-0000").status == 404
        # a body within the limit still works: nothing was left locked
        r = post_import(s2, ndjson([{"person_id": "small"}]))
        assert r.status == 200, r


def test_client_gone_mid_upload_rolls_back():
    s = server()
    p = uid("gone")
    body = ndjson([{"person_id": "%s-%d" % (p, i)} for i in range(100)])
    head = ("POST /v1/persons:import HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n"
            "Content-Length: %d\r\n\r\n" % (len(body) * 10)).encode()
    sock = s.connect()
    sock.sendall(head + body)
    # the import has begun: it holds the write lock, a write is refused
    harness.wait_for(lambda: s.request("DELETE", "/v1/persons/%s-none" % p).status == 503,
                     slow(10), "the import to begin (a write refused with 503)")
    sock.close()
    deadline = time.monotonic() + slow(5)
    # the write lock is released: a new import goes through
    while True:
        r = post_import(s, ndjson([{"person_id": p + "-after"}]))
        if r.status != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert r.status == 200, r
    assert s.get("/v1/persons/%s-0" % p).status == 404, "a dropped import was stored"


# ---- the command line ----------------------------------------------------

def test_cli_import_files():
    d = tempfile.mkdtemp(prefix="shikaku-cli-import-")
    try:
        db = os.path.join(d, "x.db")
        good = os.path.join(d, "good.csv")
        with open(good, "w", encoding="utf-8", newline="") as f:
            f.write("person_id,birth_date\r\nc1,1950-01-01\r\nc2,1951-02-03\r\n")
        bad = os.path.join(d, "bad.ndjson")
        with open(bad, "wb") as f:
            f.write(ndjson([{"person_id": "c3"}, {"person_id": "c4", "setting": "moon"}]))
        p = run_cli(["import", "--db", db, good])
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
        j = json.loads(p.stdout)
        assert j["inserted"] == 2 and j["stored"] is True, j
        assert "good.csv" in p.stderr and "2 inserted" in p.stderr, p.stderr
        p = run_cli(["import", "--db", db, good, bad])
        assert p.returncode == 1, (p.returncode, p.stderr)
        answers = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        assert answers[0]["unchanged"] == 2 and answers[1]["status"] == 422, answers
        p = run_cli(["import", "--db", db, "--mode", "best_effort", bad])
        assert p.returncode == 0 and json.loads(p.stdout)["inserted"] == 1, p.stdout
        p = run_cli(["import", "--db", db, "--format", "ndjson", "-"],
                    stdin=ndjson([{"person_id": "c5"}]))
        assert p.returncode == 0 and json.loads(p.stdout)["inserted"] == 1, p.stdout
        p = run_cli(["import", "--help"])
        assert p.returncode == 0 and "--mode" in p.stdout
        assert run_cli(["import", "--db", db]).returncode == 2
        assert run_cli(["import", "--db", db, "--mode", "x", good]).returncode == 2
        assert run_cli(["import", "--db", db, os.path.join(d, "x.txt")]).returncode == 1
        con = sqlite3.connect(db)
        try:
            n = con.execute("SELECT count(*) FROM persons").fetchone()[0]
        finally:
            con.close()
        assert n == 4, n
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- SIGKILL in the middle of an import -----------------------------------

@pytest.mark.slow
def test_sigkill_mid_import_keeps_the_previous_data():
    d = tempfile.mkdtemp(prefix="shikaku-crash-")
    db = os.path.join(d, "crash.db")
    s1 = s2 = None
    try:
        s1 = Server(["--db", db])
        before = ndjson([{"person_id": "keep-%03d" % i, "birth_date": "1940-01-01",
                          "mynumber_card": "held", "insurance_registration": "registered"}
                         for i in range(100)])
        r = post_import(s1, before)
        assert r.status == 200 and r.json["inserted"] == 100, r
        # the big one overwrites the first persons too: none of it may stay
        lines = [{"person_id": "keep-%03d" % i, "birth_date": "1941-01-01"} for i in range(100)]
        lines += [{"person_id": "new-%06d" % i, "display_name": "名前 %d" % i,
                   "birth_date": "1950-01-01", "insurer_number": "138057",
                   "care_needs": ["elderly"], "setting": "care_facility"}
                  for i in range(300000)]
        body = ndjson(lines)
        sent = [0]
        done = threading.Event()

        def upload():
            try:
                sock = socket.create_connection((harness.HOST, s1.port), timeout=30)
                sock.sendall(("POST /v1/persons:import HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Content-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n"
                              % len(body)).encode())
                view = memoryview(body)
                while view:
                    n = sock.send(view[:65536])
                    sent[0] += n
                    view = view[n:]
            except OSError:
                pass  # the server is gone: expected
            finally:
                done.set()

        t = threading.Thread(target=upload, daemon=True)
        t.start()
        deadline = time.monotonic() + slow(30)
        while sent[0] < len(body) // 3 and time.monotonic() < deadline and not done.is_set():
            time.sleep(0.01)
        assert len(body) // 3 <= sent[0] < len(body), \
            "could not stop midway (%d of %d bytes sent)" % (sent[0], len(body))
        # (measured here: some 6 MiB of the import's uncommitted pages had
        # spilled into the WAL by now: the kill lands inside the transaction)
        s1.proc.send_signal(signal.SIGKILL)
        s1.proc.wait(10)
        s1.kill()  # already dead: only cleans its work directory up
        t.join(10)

        s2 = Server(["--db", db])
        assert s2.get("/v1/persons/keep-000").json["birth_date"] == "1940-01-01"
        assert s2.get("/v1/persons/keep-099").json["birth_date"] == "1940-01-01"
        for pid in ("new-000000", "new-000001", "new-050000"):
            assert s2.get("/v1/persons/" + pid).status == 404, pid + " survived the kill"
        w = s2.get("/v1/persons?limit=1000")
        assert w.status == 200 and len(w.json["items"]) == 100, (w.status, len(w.json["items"]))
        assert w.json["next_cursor"] is None
        s2.stop()
        con = sqlite3.connect(db)
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert con.execute("SELECT count(*) FROM persons").fetchone()[0] == 100
        finally:
            con.close()
    finally:
        for s in (s1, s2):
            if s is not None and not s.stopped:
                s.kill()
        shutil.rmtree(d, ignore_errors=True)


def test_outcomes_over_many_batches_of_the_sqlite_writer():
    """The SQLite writer thread takes rows 256 at a time (db/import_db.c):
    over several batches every line still gets its own outcome, in order
    (the second line of an id sees the first), an invalid line late in an
    all_or_nothing import stores nothing, and the counts add up."""
    p = uid("many")
    first = [{"person_id": "%s-%04d" % (p, i), "birth_date": "1940-01-01"}
             for i in range(1000)]
    r = post_import(server(), ndjson(first))
    assert r.status == 200 and r.json["inserted"] == 1000, r
    # every third changed, every third the same, every third new (ids from
    # 1000 on are new whatever their third); then the first 300 ids again,
    # changed once more
    lines = []
    for i in range(1500):
        if i % 3 == 0:
            lines.append({"person_id": "%s-%04d" % (p, i), "birth_date": "1941-01-01"})
        elif i % 3 == 1:
            lines.append({"person_id": "%s-%04d" % (p, i), "birth_date": "1940-01-01"})
        else:
            lines.append({"person_id": "%s-n%04d" % (p, i), "birth_date": "1950-01-01"})
    lines += [{"person_id": "%s-%04d" % (p, i), "birth_date": "1942-02-02"} for i in range(300)]
    # the invalid line near the end: nothing of this import is stored
    bad = lines + [{"person_id": "%s-bad" % p, "birth_date": "not a date"}]
    r = post_import(server(), ndjson(bad))
    assert r.status == 422, r
    r = server().get("/v1/persons/%s-0000" % p)
    assert r.json["birth_date"] == "1940-01-01"
    assert server().get("/v1/persons/%s-n0002" % p).status == 404
    r = post_import(server(), ndjson(lines))
    assert r.status == 200, r
    # each line's outcome against what the lines before it left
    stored = {o["person_id"]: o["birth_date"] for o in first}
    want = {"inserted": 0, "updated": 0, "unchanged": 0}
    for o in lines:
        was = stored.get(o["person_id"])
        want["inserted" if was is None else "unchanged" if was == o["birth_date"]
             else "updated"] += 1
        stored[o["person_id"]] = o["birth_date"]
    assert {k: r.json[k] for k in want} == want, r.json
    assert min(want.values()) > 256  # each outcome over more than a batch
    assert server().get("/v1/persons/%s-0000" % p).json["birth_date"] == "1942-02-02"
    assert server().get("/v1/persons/%s-0001" % p).json["birth_date"] == "1942-02-02"
    assert server().get("/v1/persons/%s-0301" % p).json["birth_date"] == "1940-01-01"
    assert server().get("/v1/persons/%s-0999" % p).json["birth_date"] == "1941-01-01"
