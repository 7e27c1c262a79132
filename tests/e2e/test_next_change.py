"""What changes next (issue 14; SPEC §3 "What changes next", §4
next_change_horizon_days, §6 the decision's next_change and the worklist's
next_change_date / changes_before), the 資格情報のお知らせ advice, and
`rules diff` counting whose next change moves.

Every date is fixed (as_of is given), so that the answers do not move with
the calendar.  The module's server has a temporary database of its own;
each test uses facility and person ids of its own."""

import csv
import io
import json
import os
import unicodedata

from harness import (server, Server, assert_problem, decision_missing_keys, run_cli,
                     TempFiles, put_person)

PERSONS = "/v1/persons"
BATCH = "/v1/eligibility:batch"
AS_OF = "2026-11-30"

BASE = {"mynumber_card": "held", "insurance_registration": "registered",
        "verified_at": AS_OF}
# Late-elderly, 84 on the 2026-08-01 renewal: ex officio from 2027-08-01.
LATE_84 = dict(BASE, birth_date="1941-09-10", insurer_number="39132014")
# e-certificate expired 2026-10-15: grace to 2027-01-31, lapses 2027-02-01.
ECERT = dict(BASE, birth_date="1980-05-05", insurer_number="138057",
             ecert_expiry="2026-10-15")
# A certificate issued ex officio to a person needing consideration runs
# out: the day after valid_until an application is required.
def cert_until(valid_until):
    return dict(BASE, birth_date="1970-06-06", insurer_number="138057",
                care_needs=["disability"],
                certificate={"status": "issued", "basis": "ex_officio",
                             "valid_until": valid_until})
# Nothing changes within 730 days.
SETTLED = dict(BASE, birth_date="1985-01-20", insurer_number="138057")

LATE_84_CHANGE = {"date": "2027-08-01", "registration_status": "registered",
                  "entitlement": "ex_officio", "application_required": False,
                  "reason": "late_elderly_age"}


def put(pid, body):
    return put_person(pid, body)


def get(path, headers=None):
    return server().get(path, headers=headers)


def evaluate(person, as_of=AS_OF, query="", s=None):
    facts = {k: v for k, v in person.items() if k != "verified_at"}
    return (s or server()).evaluate({"as_of": as_of, "person": facts}, query=query)


def csv_rows(text):
    return list(csv.reader(io.StringIO(text, newline="")))



# --------------------------------------------------------------------------
# The decision

def test_evaluate_carries_next_change_or_null():
    r = evaluate(LATE_84)
    assert r.status == 200, r
    assert not decision_missing_keys(r.json), decision_missing_keys(r.json)
    assert r.json["certificate"]["entitlement"] == "not_entitled"
    assert r.json["next_change"] == LATE_84_CHANGE, r.json["next_change"]
    r = evaluate(ECERT)
    assert r.json["next_change"] == {
        "date": "2027-02-01", "registration_status": "ecert_expired",
        "entitlement": "ex_officio", "application_required": False,
        "reason": "no_usable_mynahoken"}, r.json["next_change"]
    r = evaluate(SETTLED)
    assert "next_change" in r.json and r.json["next_change"] is None, r.json


def test_text_summary_says_what_changes_next_in_both_languages():
    r = evaluate(LATE_84, query="?format=text")
    assert r.status == 200 and r.content_type == "text/plain", r
    line = [x for x in r.text.splitlines() if "次の変更" in x]
    assert len(line) == 1, r.text
    assert line[0].split() == ["次の変更", "2027-08-01:", "職権交付（後期高齢者", "85歳以上）"], line
    r = evaluate(LATE_84, query="?format=text&lang=en")
    line = [x for x in r.text.splitlines() if "Next change" in x]
    assert len(line) == 1, r.text
    assert "2027-08-01: ex officio (late-elderly aged 85 or over)" in line[0], line
    # An application becomes required: said in words.
    r = evaluate(cert_until("2027-07-31"), query="?format=text&lang=en")
    assert "2027-08-01: on application (needs consideration); an" in r.text, r.text
    assert "application is then required" in r.text, r.text
    # Nothing within the horizon: until when it looked.
    r = evaluate(SETTLED, query="?format=text")
    assert "次の変更        2028-11-29 までなし" in r.text, r.text
    r = evaluate(SETTLED, query="?format=text&lang=en")
    assert "Next change     none until 2028-11-29" in r.text, r.text


def test_stored_lookup_and_batch_carry_next_change():
    put("nc-look-late", dict(LATE_84, facility_id="nc-look"))
    put("nc-look-settled", dict(SETTLED, facility_id="nc-look"))
    r = get(PERSONS + "/nc-look-late/eligibility?as_of=" + AS_OF)
    assert r.status == 200, r
    assert not decision_missing_keys(r.json), decision_missing_keys(r.json)
    assert r.json["next_change"] == LATE_84_CHANGE, r.json
    r = get(PERSONS + "/nc-look-settled/eligibility?as_of=" + AS_OF)
    assert r.json["next_change"] is None, r.json
    r = get(PERSONS + "/nc-look-late/eligibility?as_of=%s&format=text" % AS_OF)
    assert "次の変更        2027-08-01: 職権交付（後期高齢者 85歳以上）" in r.text, r.text
    facts = {k: v for k, v in ECERT.items() if k != "verified_at"}
    r = server().post(BATCH, {"as_of": AS_OF, "items": [
        {"person_id": "nc-look-late"}, {"person": facts}, {"person_id": "nc-look-settled"}]})
    assert r.status == 200, r
    res = r.json["results"]
    assert res[0]["next_change"] == LATE_84_CHANGE, res[0]
    assert res[1]["next_change"]["date"] == "2027-02-01", res[1]
    assert "next_change" in res[2] and res[2]["next_change"] is None, res[2]
    for d in res:
        assert not decision_missing_keys(d), decision_missing_keys(d)


def test_eligibility_notice_advice_in_both_languages():
    r = evaluate(SETTLED)
    notice = [a for a in r.json["advice"] if a["code"] == "eligibility_notice"]
    assert len(notice) == 1 and r.json["advice"][-1] == notice[0], r.json["advice"]
    assert "資格情報のお知らせ" in notice[0]["text"], notice
    assert "マイナ保険証と一緒" in notice[0]["text"], notice
    assert notice[0]["source"] == "保険者の運用（2024年12月以降）", notice
    r = evaluate(SETTLED, query="?lang=en")
    notice = [a for a in r.json["advice"] if a["code"] == "eligibility_notice"]
    assert notice and notice[0]["source"] == "insurers' practice since 2024-12", notice
    assert "not accepted at reception on its own" in notice[0]["text"], notice
    # on application and not applied: yes; applied, holding a certificate,
    # no usable card: no
    needs = dict(SETTLED, care_needs=["pin_difficulty"])
    codes = lambda d: [a["code"] for a in d["advice"]]  # noqa: E731
    assert "eligibility_notice" in codes(evaluate(needs).json)
    applied = dict(needs, certificate={"status": "applied", "applied_on": "2026-11-01"})
    assert "eligibility_notice" not in codes(evaluate(applied).json)
    assert "eligibility_notice" not in codes(evaluate(cert_until("2027-07-31")).json)
    assert "eligibility_notice" not in codes(evaluate(dict(SETTLED, mynumber_card="none")).json)
    # GET /v1/rules lists it last, with its source
    rules = get("/v1/rules").json
    assert rules["advice"][-1]["code"] == "eligibility_notice", rules["advice"][-1]
    assert rules["advice"][-1]["source"] == "保険者の運用（2024年12月以降）"


# --------------------------------------------------------------------------
# Parameters

def test_rules_endpoint_shows_the_horizon():
    p = get("/v1/rules").json["parameters"]
    assert p["next_change_horizon_days"] == {"value": 730, "source": "default"}, p


def test_a_rules_file_changing_the_horizon_changes_the_answer():
    # From 2026-11-30 the change on 2027-08-01 is 244 days away.
    with TempFiles("next") as t:
        short = t.write("short.json", json.dumps({"next_change_horizon_days": 243}))
        just = t.write("just.json", json.dumps({"next_change_horizon_days": 244}))
        with Server(["--rules", short]) as s:
            p = s.get("/v1/rules").json["parameters"]
            assert p["next_change_horizon_days"] == {"value": 243, "source": short}, p
            assert evaluate(LATE_84, s=s).json["next_change"] is None
            r = evaluate(SETTLED, query="?format=text&lang=en", s=s)
            assert "none until 2027-07-31" in r.text, r.text
        with Server(["--rules", just]) as s:
            assert evaluate(LATE_84, s=s).json["next_change"] == LATE_84_CHANGE
        off = t.write("off.json", json.dumps({"next_change_horizon_days": 0}))
        with Server(["--rules", off]) as s:
            assert evaluate(ECERT, s=s).json["next_change"] is None
        # `rules check` knows it and its bounds
        p = run_cli(["rules", "check", just])
        assert p.returncode == 0 and "next_change_horizon_days 244 (%s)" % just in p.stdout, \
            p.stdout + p.stderr
        p = run_cli(["rules", "check", t.write("d.json", "{}")])
        assert "next_change_horizon_days 730 (default)" in p.stdout, p.stdout
        for bad in ("3661", "-1", '"730"', "null"):
            p = run_cli(["rules", "check", t.write("bad.json",
                                                   '{"next_change_horizon_days":%s}' % bad)])
            assert p.returncode == 1 and "next_change_horizon_days" in p.stderr, \
                (bad, p.stderr)


# --------------------------------------------------------------------------
# The worklist

FAC = "nc-wl"
# D = 2027-02-01, the filter's date in these tests.
WL = {
    "nc-wl-ecert": ECERT,                           # changes on D (grace ends 01-31)
    "nc-wl-cert-on": cert_until("2027-01-31"),      # changes on D
    "nc-wl-cert-after": cert_until("2027-02-01"),   # changes on D + 1
    "nc-wl-late": LATE_84,                          # changes on 2027-08-01
    "nc-wl-settled": SETTLED,                       # nothing within the horizon
}
WL_DATES = {"nc-wl-ecert": "2027-02-01", "nc-wl-cert-on": "2027-02-01",
            "nc-wl-cert-after": "2027-02-02", "nc-wl-late": "2027-08-01",
            "nc-wl-settled": None}


def stored_worklist():
    for pid, facts in WL.items():
        put(pid, dict(facts, facility_id=FAC, display_name="利用者 " + pid[-4:]))


def worklist(query):
    r = get(PERSONS + "?facility_id=%s&as_of=%s&%s" % (FAC, AS_OF, query))
    assert r.status == 200, r
    return r


def ids(doc):
    return [i["person_id"] for i in doc["items"]]


def test_worklist_items_carry_next_change_date():
    stored_worklist()
    doc = worklist("").json
    assert {i["person_id"]: i["next_change_date"] for i in doc["items"]} == WL_DATES, doc
    # the same date as the stored decision's next_change
    for pid, want in WL_DATES.items():
        d = get(PERSONS + "/%s/eligibility?as_of=%s" % (pid, AS_OF)).json
        assert (d["next_change"] or {}).get("date") == want, (pid, d["next_change"])


def test_changes_before_keeps_changes_on_or_before_the_date():
    stored_worklist()
    # on the date: kept; the day after: not
    doc = worklist("changes_before=2027-02-01").json
    assert ids(doc) == ["nc-wl-cert-on", "nc-wl-ecert"], doc
    assert ids(worklist("changes_before=2027-02-02").json) == \
        ["nc-wl-cert-after", "nc-wl-cert-on", "nc-wl-ecert"]
    assert ids(worklist("changes_before=2027-01-31").json) == []
    assert ids(worklist("changes_before=2028-11-29").json) == \
        ["nc-wl-cert-after", "nc-wl-cert-on", "nc-wl-ecert", "nc-wl-late"]
    # with the other filters: all must hold
    assert ids(worklist("changes_before=2027-02-01&entitlement=not_entitled").json) == \
        ["nc-wl-ecert"]
    assert ids(worklist("changes_before=2027-12-31&entitlement=on_application").json) == \
        ["nc-wl-cert-after", "nc-wl-cert-on"]
    assert ids(worklist("changes_before=2027-12-31&needs_action=true").json) == []
    # a page at a time, with the cursor
    doc = worklist("changes_before=2027-12-31&limit=2").json
    assert ids(doc) == ["nc-wl-cert-after", "nc-wl-cert-on"] and doc["next_cursor"], doc
    doc = worklist("changes_before=2027-12-31&limit=2&cursor=" + doc["next_cursor"]).json
    assert ids(doc) == ["nc-wl-ecert", "nc-wl-late"], doc


def test_changes_before_that_is_no_date_is_a_422():
    for bad in ("2027-02-30", "tomorrow", ""):
        r = get(PERSONS + "?changes_before=" + bad)
        assert_problem(r, 422, "invalid_date", "?changes_before")


def width(text):
    """Terminal columns: East Asian wide and fullwidth count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def test_text_worklist_has_a_next_change_column():
    stored_worklist()
    r = worklist("format=text")
    assert r.content_type == "text/plain", r
    lines = r.text.splitlines()
    header = [x for x in lines if "次の変更" in x]
    assert len(header) == 1 and header[0].index("次の変更") < header[0].index("不足情報"), lines
    col = width(header[0][:header[0].index("次の変更")])
    for pid, date in WL_DATES.items():
        row = [x for x in lines if " %s " % pid in x]
        assert len(row) == 1, (pid, lines)
        # the date (or "-") stands under the column's header
        at = [i for i in range(len(row[0])) if width(row[0][:i]) == col]
        assert at and row[0][at[0]:].startswith(date or "-"), (pid, header[0], row[0])
    r = worklist("format=text&lang=en&changes_before=2027-02-01")
    assert "next change" in r.text, r.text
    assert "2027-02-01" in r.text and "nc-wl-late" not in r.text, r.text
    # Nobody listed has a change: no column of dashes.
    put("nc-wl2-settled", dict(SETTLED, facility_id="nc-wl2"))
    r = get(PERSONS + "?facility_id=nc-wl2&as_of=%s&format=text" % AS_OF)
    assert "nc-wl2-settled" in r.text and "次の変更" not in r.text, r.text


def test_csv_worklist_ends_with_next_change_words_and_date():
    stored_worklist()
    r = worklist("format=csv")
    rows = csv_rows(r.body.decode("utf-8-sig"))
    assert rows[0][-2:] == ["次の変更", "next_change_date"], rows[0]
    by_id = {row[1]: row for row in rows[1:]}
    assert by_id["nc-wl-late"][-2:] == ["2027-08-01: 職権交付（後期高齢者 85歳以上）",
                                        "2027-08-01"], by_id["nc-wl-late"]
    assert by_id["nc-wl-settled"][-2:] == ["", ""], by_id["nc-wl-settled"]
    assert by_id["nc-wl-cert-on"][-2:] == \
        ["2027-02-01: 申請で交付（要配慮者）、申請が必要になります", "2027-02-01"]
    assert by_id["nc-wl-ecert"][-1] == "2027-02-01"
    r = worklist("format=csv&lang=en&changes_before=2027-02-01")
    rows = csv_rows(r.body.decode("utf-8-sig"))
    assert rows[0][-2:] == ["next change", "next_change_date"], rows[0]
    assert [row[1] for row in rows[1:]] == ["nc-wl-cert-on", "nc-wl-ecert"], rows
    assert rows[2][-2] == ("2027-02-01: ex officio (no usable My Number insurance card); "
                           "electronic certificate or card expired"), rows[2]


# --------------------------------------------------------------------------
# rules diff

def test_rules_diff_counts_whose_next_change_moves():
    with TempFiles("next") as t:
        src = t.write("p.ndjson", "".join(
            json.dumps(dict(facts, person_id=pid, facility_id=FAC)) + "\n"
            for pid, facts in WL.items()))
        db = os.path.join(t.path, "d.db")
        p = run_cli(["import", "--db", db, src])
        assert p.returncode == 0, p.stderr[-500:]
        # A shorter horizon: the late-elderly change (244 days ahead) and
        # the e-certificate's and certificates' (63-64 days) drop out one by one.
        for horizon, moved in ((730, 0), (243, 1), (62, 4), (63, 2)):
            cand = t.write("c%d.json" % horizon,
                           json.dumps({"next_change_horizon_days": horizon}))
            p = run_cli(["rules", "diff", "--db", db, "--rules", cand, "--as-of", AS_OF,
                         "--json"])
            assert p.returncode == 0, p.stderr
            out = json.loads(p.stdout)
            assert out["persons"] == 5 and out["changed"] == 0, out
            assert out["next_change_moved"] == moved, (horizon, out)
        # The age rule off: the late-elderly member's change goes.
        cand = t.write("off.json", json.dumps({"late_elderly_auto_age": None}))
        p = run_cli(["rules", "diff", "--db", db, "--rules", cand, "--as-of", AS_OF])
        assert p.returncode == 0, p.stderr
        assert "1 whose next change moves" in p.stdout, p.stdout
