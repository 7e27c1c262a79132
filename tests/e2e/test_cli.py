"""The command line (SPEC §9): eval, rules check, --help, serve refusals."""

import json
import os
import subprocess

import harness
from harness import run_cli, decision_missing_keys, codes, slow, TempFiles

REGISTERED = {"birth_date": "1975-01-20", "insurer_number": "138057",
              "mynumber_card": "held", "insurance_registration": "registered"}
CARE_HOME = {"birth_date": "1948-09-09", "insurer_number": "138057", "mynumber_card": "held",
             "insurance_registration": "registered", "care_needs": ["elderly", "pin_difficulty"],
             "setting": "care_facility", "legacy_card_expiry": "2025-07-31"}
LATE_ELDERLY = {"birth_date": "1945-05-05", "insurer_number": "39132014",
                "mynumber_card": "held", "insurance_registration": "registered"}


def _jp(s):
    return sum(1 for ch in s if "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff")


def parse_stdout(p):
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise AssertionError("stdout is not one JSON document: %r (stderr %r)"
                             % (p.stdout[:300], p.stderr[-300:]))



def test_eval_valid():
    p = run_cli(["eval"], stdin=json.dumps({"as_of": "2025-06-01", "person": CARE_HOME}))
    assert p.returncode == 0, "exit %d, stderr %r" % (p.returncode, p.stderr[-300:])
    d = parse_stdout(p)
    assert not decision_missing_keys(d), decision_missing_keys(d)
    assert d["as_of"] == "2025-06-01"
    c = d["certificate"]
    assert (c["entitlement"], c["apply_by"], c["recommended_apply_by"]) == \
        ("on_application", "2025-07-31", "2025-07-01"), c
    assert codes(d["reasons"])[0] == "consideration_on_application"
    assert len(d["decision_id"]) == 26 and d["evaluated_at"].endswith("+09:00"), d
    assert all(_jp(e["text"]) for e in d["reasons"] + d["advice"]), "default texts not Japanese"


def test_eval_default_as_of_is_today_tokyo():
    p = run_cli(["eval"], stdin=json.dumps({"person": REGISTERED}))
    assert p.returncode == 0, p.stderr[-300:]
    d = parse_stdout(p)
    assert d["as_of"] == harness.today_tokyo(), d["as_of"]
    assert d["certificate"]["entitlement"] == "not_entitled"


def test_eval_invalid_body():
    p = run_cli(["eval"], stdin=json.dumps({"as_of": "2025-06-01",
                                            "person": {"mynumber_card": "maybe"}}))
    assert p.returncode == 1, "exit %d, expected 1" % p.returncode
    j = parse_stdout(p)
    assert j.get("status") == 422 and all(k in j for k in ("type", "title", "detail", "errors")), j
    assert [(e.get("field"), e.get("code")) for e in j["errors"]] == \
        [("/person/mynumber_card", "invalid_enum")], j["errors"]
    for body, code in ((b"not json", "invalid_json"), (b"", "invalid_json"),
                       (b"[]", "invalid_json"),
                       (json.dumps({"person": {"insurer_number": "123456789018"}}).encode(),
                        "individual_number_not_accepted")):
        p = run_cli(["eval"], stdin=body)
        assert p.returncode == 1, "%r: exit %d, expected 1" % (body[:30], p.returncode)
        j = parse_stdout(p)
        assert code in [e.get("code") for e in j.get("errors") or []], "%r: %r" % (body[:30], j)


def test_eval_lang_en():
    body = json.dumps({"as_of": "2025-06-01", "person": CARE_HOME})
    ja = parse_stdout(run_cli(["eval"], stdin=body))
    p = run_cli(["eval", "--lang", "en"], stdin=body)
    assert p.returncode == 0, p.stderr[-300:]
    en = parse_stdout(p)
    assert codes(en["advice"]) == codes(ja["advice"])
    for e in en["reasons"] + en["advice"]:
        latin = sum(1 for ch in e["text"] if ch.isascii() and ch.isalpha())
        assert latin >= 10 and _jp(e["text"]) * 4 <= latin, "not English: %r" % e["text"]
    assert [e["text"] for e in en["advice"]] != [e["text"] for e in ja["advice"]]


def test_eval_rules_file():
    with TempFiles("cli") as t:
        path = t.write("rules.json", '{"provisional_end":"2027-07-31"}')
        body = json.dumps({"as_of": "2027-06-01", "person": LATE_ELDERLY})
        p = run_cli(["eval", "--rules", path], stdin=body)
        assert p.returncode == 0, p.stderr[-300:]
        d = parse_stdout(p)
        assert d["certificate"]["entitlement"] == "provisional", d["certificate"]
        assert d["certificate"]["apply_by"] == "2027-07-31", d["certificate"]
        d0 = parse_stdout(run_cli(["eval"], stdin=body))
        assert d0["certificate"]["entitlement"] != "provisional", d0["certificate"]


def test_rules_check():
    with TempFiles("cli") as t:
        good = {
            "one": t.write("good1.json", '{"provisional_end":"2027-07-31"}'),
            "all": t.write("good2.json", json.dumps({
                "provisional_end": "2026-07-31", "late_elderly_auto_age": None,
                "apply_margin_days": 14, "ecert_grace_months": 3, "stale_after_days": 60})),
            "empty object": t.write("good3.json", "{}"),
        }
        bad = {
            "impossible date": t.write("bad1.json", '{"provisional_end":"2027-02-30"}'),
            "unknown key": t.write("bad2.json", '{"nope":1}'),
            "not JSON": t.write("bad3.json", "provisional_end: 2027-07-31\n"),
            "array": t.write("bad4.json", "[]"),
            "wrong type": t.write("bad5.json", '{"apply_margin_days":"30"}'),
            "missing file": os.path.join(t.path, "absent.json"),
        }
        for what, path in good.items():
            p = run_cli(["rules", "check", path])
            assert p.returncode == 0, "%s: exit %d (%r)" % (what, p.returncode,
                                                             (p.stdout + p.stderr)[-300:])
        for what, path in bad.items():
            p = run_cli(["rules", "check", path])
            assert p.returncode == 1, "%s: exit %d, expected 1" % (what, p.returncode)
            assert (p.stdout + p.stderr).strip(), "%s: no message" % what


def _help(args, must):
    p = run_cli(args)
    assert p.returncode == 0, "%s: exit %d" % (" ".join(args), p.returncode)
    out = p.stdout + p.stderr
    absent = [m for m in must if m not in out]
    assert not absent, "%s does not mention %r: %r" % (" ".join(args), absent, out[:400])


def test_help():
    _help(["--help"], ["serve", "eval", "rules"])
    _help(["serve", "--help"], ["--listen", "--db", "--rules", "--no-auth"])
    _help(["eval", "--help"], ["--lang", "--rules"])
    _help(["rules", "--help"], ["check"])


def test_serve_non_loopback_refused():
    with TempFiles("cli") as t:
        for listen in ("0.0.0.0:0",):
            try:
                p = run_cli(["serve", "--listen", listen, "--no-auth",
                             "--db", os.path.join(t.path, "x.db")], timeout=slow(5))
            except subprocess.TimeoutExpired:
                raise AssertionError("serve --listen %s --no-auth kept running" % listen)
            assert p.returncode == 1, "%s: exit %d, expected 1" % (listen, p.returncode)
            assert p.stderr.strip(), "%s: no message on stderr" % listen


def test_unknown_subcommand():
    for args in (["frobnicate"], ["eval", "--no-such-flag"], ["serve", "--bogus"]):
        try:
            p = run_cli(args, timeout=slow(5))
        except subprocess.TimeoutExpired:
            raise AssertionError("%s kept running" % args)
        assert p.returncode == 2, "%s: exit %d, expected 2" % (args, p.returncode)
