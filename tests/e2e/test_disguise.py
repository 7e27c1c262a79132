"""Individual numbers in disguise, and text that acts on a terminal (issue
12, items 4 and 10; SPEC §8).

An individual number counts after NFKC, with every Unicode decimal digit
read as its digit and every space, dash, dot, underscore, slash, comma and
invisible separator removed; in free text (display_name, the registry's
names, address and phone) a run of 12 such digits inside longer text counts
too.  Each disguise of the issue is refused with the single error
`individual_number_not_accepted` on the route it names, and nothing of it
reaches the database, its WAL or the log.  Stored text refuses control
characters and bidi overrides (422 invalid_text), an insurer URL is
http(s) (422 invalid_url), "\\u0000" is such a control character (422, not
400), and a text summary never writes a control character it finds in
older rows."""

import atexit
import json
import os
import shutil
import sqlite3
import tempfile
import time
import urllib.parse

import harness
from harness import Server, assert_problem, run_cli, slow

NUMBER = "502258532061"          # valid check digit (SPEC §8)
FACTS = {"birth_date": "1950-04-01", "insurer_number": "138057",
         "mynumber_card": "held", "insurance_registration": "registered"}
NDJSON = "application/x-ndjson"
J = {"Content-Type": "application/json"}


def _digits(base, d):
    """NUMBER written in the digits starting at code point base (its 0)."""
    return "".join(chr(base + int(c)) for c in d)


# The disguises of the issue, each with a valid check digit.
DISGUISES = [
    ("NO-BREAK SPACE", "5022\u00a05853\u00a02061"),
    ("SOFT HYPHEN", "5022\u00ad5853\u00ad2061"),
    ("ZERO WIDTH SPACE", "5022\u200b5853\u200b2061"),
    ("U+FF70", "5022\uff705853\uff702061"),
    ("U+FE63", "5022\ufe635853\ufe632061"),
    ("U+301C", "5022\u301c5853\u301c2061"),
    ("U+FF5E", "5022\uff5e5853\uff5e2061"),
    ("dots", "5022.5853.2061"),
    ("slashes", "5022/5853/2061"),
    ("commas", "5022,5853,2061"),
    ("underscores", "5022_5853_2061"),
    ("mathematical digits", _digits(0x1D7CE, NUMBER)),
    ("mathematical monospace, spaced",
     _digits(0x1D7F6, "5022") + " " + _digits(0x1D7F6, "5853") + " " + _digits(0x1D7F6, "2061")),
    ("Arabic-Indic digits", _digits(0x0660, NUMBER)),
]
# Inside longer text: counts in free-text fields.
IN_TEXT = [
    ("inside text", "個人番号" + NUMBER),
    ("inside text, grouped", "個人番号：5022-5853-2061 です"),
    ("inside text, NBSP", "山田\u00a05022\u00a05853\u00a02061\u00a0様"),
]
# Ids that are numbers once the dots and underscores go.
ID_DISGUISES = ["8647.7053.9530", "8647_7053_9530", "7838.2071.6374", "3674.3843.2273"]


def _tmpdir():
    return harness.temp_dir("shikaku-disguise-")


def _needles():
    """Byte strings that must appear in no database page and no log line."""
    out = [NUMBER.encode(), NUMBER.encode("utf-16-le")]
    for _, s in DISGUISES + IN_TEXT:
        out.append(s.encode("utf-8"))
    for s in ID_DISGUISES:
        out.append(s.encode())
        out.append(s.replace(".", "").replace("_", "").encode())
    out.append(b"377594580792")
    return out


def _assert_refused(r, what, sent=None):
    assert r.status == 422, "%s: %r" % (what, r)
    assert_problem(r, 422, "individual_number_not_accepted", single=True)
    assert NUMBER not in r.text and (sent is None or sent not in r.text), \
        "%s: the answer echoes the number: %r" % (what, r)


def _assert_kept_nowhere(db, log):
    pages = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = db + suffix
        if os.path.exists(p):
            with open(p, "rb") as f:
                pages.append((p, f.read()))
    logb = log.encode("utf-8")
    for n in _needles():
        assert n not in logb, "the log holds %r" % n
        for where, data in pages:
            assert n not in data, "%s holds %r" % (where, n)


# ---------------------------------------------------------------------------
# Individual numbers in disguise

def test_disguised_numbers_refused_on_every_route_and_kept_nowhere():
    d = _tmpdir()
    db = os.path.join(d, "d.db")
    s = Server(db_path=db)
    try:
        # display_name: every disguise, and the runs inside longer text
        for name, v in DISGUISES + IN_TEXT:
            r = s.request("PUT", "/v1/persons/p-dn", json_body=dict(FACTS, display_name=v))
            _assert_refused(r, "display_name with %s" % name, v)
        # ids with dots and underscores: path, facility_id, person_id
        for v in ID_DISGUISES:
            q = urllib.parse.quote(v)
            _assert_refused(s.request("PUT", "/v1/persons/" + q, json_body=FACTS),
                            "PUT path " + v)
            _assert_refused(s.get("/v1/persons/" + q), "GET path " + v)
            _assert_refused(s.get("/v1/persons/%s/eligibility" % q), "eligibility path " + v)
            _assert_refused(s.request("PUT", "/v1/persons/p-fac",
                                      json_body=dict(FACTS, facility_id=v)),
                            "facility_id " + v)
            _assert_refused(s.get("/v1/persons?facility_id=" + q), "query " + v)
            _assert_refused(s.evaluate({"person": {"birth_date": "1950-01-01"}},
                                       headers={"X-Request-Id": v}), "X-Request-Id " + v)
            r = s.evaluate({"person": {"birth_date": "1950-01-01"}},
                           headers={"X-Request-Id": v})
            assert r.headers.get("X-Request-Id") not in (None, v), r.headers
        # a whole value anywhere: a facts field, an object key
        for name, v in DISGUISES:
            _assert_refused(s.evaluate({"person": {"birth_date": "1950-01-01",
                                                   "insurer_number": v}}),
                            "evaluate value with %s" % name)
            _assert_refused(s.evaluate({"person": {v: "x"}}), "evaluate key with %s" % name)
        # the insurer registry's free text
        for name, v in DISGUISES + IN_TEXT:
            for field in ("name_ja", "name_en", "address", "phone"):
                r = s.request("PUT", "/v1/insurers/138057", json_body={field: v})
                _assert_refused(r, "insurer %s with %s" % (field, name), v)
        # imports: a CSV cell, an NDJSON line, in both modes
        for mode in ("best_effort", "all_or_nothing"):
            r = s.request(
                "POST", "/v1/persons:import?mode=" + mode,
                body="person_id,display_name,facility_id\np-ok-1,ok,f\n"
                     "p-bad,個人番号%s,f\n" % NUMBER,
                headers={"Content-Type": "text/csv"})
            _assert_refused(r, "CSV display_name cell (%s)" % mode)
            r = s.request(
                "POST", "/v1/persons:import?mode=" + mode,
                body="person_id,facility_id\np-ok-2,f\np-bad,8647.7053.9530\n",
                headers={"Content-Type": "text/csv"})
            _assert_refused(r, "CSV facility_id cell (%s)" % mode)
            r = s.request(
                "POST", "/v1/persons:import?mode=" + mode,
                body=json.dumps(dict(FACTS, person_id="p-ok-3")) + "\n" +
                json.dumps(dict(FACTS, person_id="p-bad", display_name=DISGUISES[0][1]),
                           ensure_ascii=False) + "\n",
                headers={"Content-Type": NDJSON})
            _assert_refused(r, "NDJSON display_name (%s)" % mode)
            r = s.request(
                "POST", "/v1/insurers:import?mode=" + mode,
                body="insurer_number,name_ja,phone\n138057,杉並区,03-3312-2111\n"
                     "131151,杉並区,%s\n" % DISGUISES[-1][1],
                headers={"Content-Type": "text/csv"})
            _assert_refused(r, "CSV insurer phone (%s)" % mode)
            # not JSON, but bare digits with separators
            r = s.request(
                "POST", "/v1/persons:import?mode=" + mode,
                body='{"person_id": "p-ok-4"}\n{"person_id": 5022.5853.2061}\n',
                headers={"Content-Type": NDJSON})
            _assert_refused(r, "unparseable NDJSON line (%s)" % mode)
        # nothing of any of it was stored
        for pid in ("p-dn", "p-fac", "p-ok-1", "p-ok-2", "p-ok-3", "p-ok-4", "p-bad"):
            assert s.get("/v1/persons/" + pid).status == 404, pid
        r = s.get("/v1/persons")
        assert r.status == 200 and r.json["items"] == [], r
        r = s.get("/v1/insurers/138057")
        assert r.status == 200 and r.json["registered"] is False, r
        s.settle_log()
    finally:
        s.stop()
    _assert_kept_nowhere(db, s.stderr_text())


def test_free_text_runs_refused_look_alikes_kept():
    """A run of 12 digits inside a name is refused; phone numbers, dates,
    11 or 13 digits and a wrong check digit are no individual numbers, in
    free text or anywhere, and are stored."""
    s = harness.server()
    for name, v in IN_TEXT:
        r = s.request("PUT", "/v1/persons/run-1", json_body=dict(FACTS, display_name=v))
        _assert_refused(r, "display_name %s" % name, v)
        r = s.request("PUT", "/v1/insurers/140012", json_body={"address": v})
        _assert_refused(r, "insurer address %s" % name, v)
    assert s.get("/v1/persons/run-1").status == 404
    assert s.get("/v1/insurers/140012").json["registered"] is False
    for i, v in enumerate(["山田 03-1234-5678", "〒100-0005 東京都千代田区丸の内1-1-1",
                           "個人番号" + NUMBER + "1", "個人番号" + NUMBER[:-1],
                           "個人番号502258532062", "TEL 03-1234-5678 / FAX 03-1234-5679",
                           "2026-11-30 10:00", "ＴＥＬ ０３－１２３４－５６７８"]):
        r = s.request("PUT", "/v1/persons/ok-%d" % i, json_body=dict(FACTS, display_name=v))
        assert r.status in (200, 201), "%r: %r" % (v, r)
        assert s.get("/v1/persons/ok-%d" % i).json["display_name"] == v
    r = s.request("PUT", "/v1/insurers/131151",
                  json_body={"name_ja": "杉並区 国民健康保険", "phone": "03-3312-2111",
                             "address": "〒166-8570 東京都杉並区阿佐谷南1-15-1",
                             "url": "https://www.city.suginami.tokyo.jp/"})
    assert r.status in (200, 201), r
    r = s.evaluate({"person": {"birth_date": "1950-01-01"}},
                   headers={"X-Request-Id": "req.2026.11.30"})
    assert r.status == 200 and r.headers.get("X-Request-Id") == "req.2026.11.30", r


def test_cli_refuses_numbers_in_key_create_and_import():
    d = _tmpdir()
    db = os.path.join(d, "k.db")
    p = run_cli(["key", "create", "--db", db, "--role", "reader", "--name", "ok"])
    assert p.returncode == 0, p.stderr
    for args in (["--facility", "377594580792"], ["--facility", "3775.9458.0792"],
                 ["--facility", "3775_9458_0792"], ["--name", "123456789018"],
                 ["--name", "個人番号 3775-9458-0792"], ["--name", "3775\u00a09458\u00a00792"],
                 ["--name", _digits(0x1D7CE, "377594580792")]):
        p = run_cli(["key", "create", "--db", db, "--role", "reader"] + args)
        assert p.returncode != 0, "%r: made a key: %s" % (args, p.stdout)
        assert p.stdout == "", p.stdout
        assert "individual number" in p.stderr, p.stderr
        assert "377594580792" not in p.stderr and "9458" not in p.stderr, p.stderr
    p = run_cli(["key", "create", "--db", db, "--role", "reader", "--name", "bad\x1b[2J"])
    assert p.returncode != 0, p.stdout
    p = run_cli(["key", "list", "--db", db])
    assert p.returncode == 0, p.stderr
    assert len([l for l in p.stdout.splitlines() if " reader " in l]) == 1, p.stdout
    assert "377594580792" not in p.stdout and "9458" not in p.stdout, p.stdout
    # a CLI import reads cells the same way
    f = os.path.join(d, "p.csv")
    with open(f, "w", encoding="utf-8") as fh:
        fh.write("person_id,display_name\nc-1,ok\nc-2,個人番号 3775.9458.0792\n")
    p = run_cli(["import", "--db", db, "--mode", "best_effort", f])
    assert p.returncode != 0, p.stdout
    assert "individual_number_not_accepted" in p.stdout, p.stdout
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT count(*) FROM persons").fetchone()[0] == 0
    finally:
        con.close()


# ---------------------------------------------------------------------------
# Control characters, bidi overrides, URLs

def test_control_characters_and_bidi_overrides_refused():
    s = harness.server()
    for v in ("a\u0085b", "a\u009b2Jb", "abc\u202eexe.txt", "a\u2066b\u2069", "a\x1b[2Jb",
              "two\nlines", "tab\there", "del\x7f", "nul\x00"):
        r = s.request("PUT", "/v1/persons/ctl", json_body=dict(FACTS, display_name=v))
        assert_problem(r, 422, "invalid_text", field="/display_name")
    assert s.get("/v1/persons/ctl").status == 404
    for field, v in (("name_ja", "\x1b]0;pwned\x07\x1b[2J"), ("name_en", "x\u202ey"),
                     ("address", "line 1\r\nline 2"), ("phone", "03\u00851234"),
                     ("url", "https://example.org/\n")):
        r = s.request("PUT", "/v1/insurers/130013", json_body={field: v})
        assert_problem(r, 422, "invalid_text", field="/" + field)
    # the same in an import line
    r = s.request("POST", "/v1/insurers:import?mode=best_effort",
                  body=json.dumps({"insurer_number": "130013", "name_ja": "a\u009bb"}) + "\n",
                  headers={"Content-Type": NDJSON})
    assert r.status == 200, r
    assert r.json["rejected"][0]["errors"][0]["code"] == "invalid_text", r.json
    assert s.get("/v1/insurers/130013").json["registered"] is False


def test_insurer_url_http_or_https_only():
    s = harness.server()
    for v in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,<script>x</script>",
              "ftp://example.org/", "//example.org/", "https://", "http:///x", "example.org"):
        r = s.request("PUT", "/v1/insurers/130021", json_body={"url": v})
        assert_problem(r, 422, "invalid_url", field="/url")
    for v in ("https://example.org/his", "http://192.0.2.1:8080/x?y=1", "HTTPS://EXAMPLE.ORG"):
        r = s.request("PUT", "/v1/insurers/130021", json_body={"url": v})
        assert r.status in (200, 201), r
        assert r.json["url"] == v


def test_escaped_nul_is_a_control_character_not_invalid_json():
    s = harness.server()
    r = s.request("PUT", "/v1/persons/nul-1",
                  body='{"display_name": "a\\u0000b", "birth_date": "1950-01-01"}', headers=J)
    assert_problem(r, 422, "invalid_text", field="/display_name", single=True)
    r = s.request("PUT", "/v1/persons/nul-1",
                  body='{"mynumber_card": "held\\u0000x", "source": "other\\u0000",'
                       ' "birth_date": "1950-01-01\\u0000"}', headers=J)
    assert_problem(r, 422, "invalid_enum", field="/mynumber_card")
    assert_problem(r, 422, "invalid_enum", field="/source")
    assert_problem(r, 422, "invalid_date", field="/birth_date")
    r = s.request("PUT", "/v1/insurers/138057", body='{"name_ja": "\\u0000"}', headers=J)
    assert_problem(r, 422, "invalid_text", field="/name_ja")
    r = s.request("PUT", "/v1/insurers/138057",
                  body='{"insurer_number": "138057\\u0000"}', headers=J)
    assert_problem(r, 422, "conflicting_fields", field="/insurer_number")
    r = s.request("POST", "/v1/eligibility:evaluate",
                  body='{"person": {"scheme": "nhi\\u0000"}}', headers=J)
    assert_problem(r, 422, "invalid_enum", field="/person/scheme")
    assert s.get("/v1/persons/nul-1").status == 404
    # in a key it is still no JSON this service reads
    r = s.request("PUT", "/v1/persons/nul-1", body='{"a\\u0000b": 1}', headers=J)
    assert_problem(r, 400, "invalid_json")


def test_text_summary_escapes_control_characters_of_older_rows():
    """A registry row stored before control characters were refused is
    shown in ?format=text with U+FFFD in their place."""
    d = _tmpdir()
    db = os.path.join(d, "t.db")
    with Server(db_path=db) as s:
        assert s.get("/healthz").status == 200         # created and migrated
    con = sqlite3.connect(db)
    try:
        con.execute("INSERT INTO insurers (insurer_number, name_ja, name_en, scheme, "
                    "prefecture_code, updated_at) VALUES ('138057', ?, ?, 'nhi', 13, "
                    "'2026-01-01T00:00:00+09:00')",
                    ("杉並\x1b]0;pwned\x07\x1b[2J区\u202e", "Sugi\u0085nami\r\n"))
        con.commit()
    finally:
        con.close()
    with Server(db_path=db) as s:
        for lang in ("ja", "en"):
            r = s.evaluate({"person": {"birth_date": "1950-01-01", "insurer_number": "138057"}},
                           query="?format=text&lang=" + lang)
            assert r.status == 200 and r.content_type == "text/plain", r
            text = r.body.decode("utf-8")
            for bad in ("\x1b", "\x07", "\x85", "\r", "\u202e"):
                assert bad not in text, "%s: %r in %r" % (lang, bad, text)
            assert "\ufffd" in text, text
            assert ("杉並" if lang == "ja" else "Sugi") in text, text


def test_text_worklist_escapes_control_characters_of_older_rows():
    """A person stored before control characters were refused is listed in
    the text worklist with U+FFFD in their place, its columns still aligned."""
    d = _tmpdir()
    db = os.path.join(d, "w.db")
    with Server(db_path=db) as s:
        r = s.request("PUT", "/v1/persons/old-1", json_body={
            "display_name": "placeholder", "facility_id": "fac-old",
            "mynumber_card": "held", "insurance_registration": "registered"})
        assert r.status == 201, r
    con = sqlite3.connect(db)
    try:
        con.execute("UPDATE persons SET display_name = ? WHERE person_id = 'old-1'",
                    ("田中\x1b]0;pwned\x07\x1b[2J\u202e節子\x85",))
        con.commit()
    finally:
        con.close()
    with Server(db_path=db) as s:
        for lang in ("ja", "en"):
            r = s.get("/v1/persons?facility_id=fac-old&format=text&lang=" + lang)
            assert r.status == 200 and r.content_type == "text/plain", r
            text = r.body.decode("utf-8")
            for bad in ("\x1b", "\x07", "\x85", "\u202e"):
                assert bad not in text, "%s: %r in %r" % (lang, bad, text)
            assert "田中\ufffd" in text and "old-1" in text, text
