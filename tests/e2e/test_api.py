"""The routes and conventions of the API (SPEC §6, §8; the lead's API brief)."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unicodedata

import harness
from harness import (insurer_check_digit, server, Server, assert_problem, error_pairs, error_codes, codes,
                     decision_missing_keys, today_tokyo, slow, DECISION_KEYS, NESTED_KEYS)

EVAL = "/v1/eligibility:evaluate"
BATCH = "/v1/eligibility:batch"
INDIVIDUAL = "123456789018"          # valid check digit (SPEC §8 example)
NOT_INDIVIDUAL = "123456789012"      # 12 digits, wrong check digit
ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
EVALUATED_AT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+09:00$")

REGISTERED = {"birth_date": "1975-01-20", "insurer_number": "138057",
              "mynumber_card": "held", "insurance_registration": "registered"}
CARE_HOME = {"birth_date": "1948-09-09", "insurer_number": "138057", "mynumber_card": "held",
             "insurance_registration": "registered", "care_needs": ["elderly", "pin_difficulty"],
             "setting": "care_facility", "legacy_card_expiry": "2025-07-31"}
NO_CARD = {"birth_date": "1965-04-02", "insurer_number": "138057", "mynumber_card": "none"}
LATE_ELDERLY = {"birth_date": "1945-05-05", "insurer_number": "39132014",
                "mynumber_card": "held", "insurance_registration": "registered"}


def individual_check_digit(first11):
    """SPEC §8."""
    r = 0
    for n in range(1, 12):
        p = int(first11[11 - n])
        q = n + 1 if n <= 6 else n - 5
        r += p * q
    r %= 11
    return "0" if r <= 1 else str(11 - r)


def _is_jp(ch):
    return "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff"


def has_japanese(s):
    return any(_is_jp(ch) for ch in s)


def jp_count(s):
    return sum(1 for ch in s if _is_jp(ch))


def mostly_english(s):
    """English text may quote a Japanese term (資格確認書) but is mostly Latin."""
    latin = sum(1 for ch in s if ch.isascii() and ch.isalpha())
    return latin >= 10 and jp_count(s) * 4 <= latin


def texts(d):
    return [e.get("text") for e in (d.get("reasons") or []) + (d.get("advice") or [])]


def ok(r):
    assert r.status == 200, "status %d, expected 200: %r" % (r.status, r.body[:400])
    return r.json


def columns(line):
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line)


# ---- sanity of the test's own arithmetic -----------------------------------

def test_self_check_digits():
    for n in ("01040013", "01130012", "138057", "39132014"):
        assert insurer_check_digit(n[:-1]) == n[-1], n
    assert individual_check_digit(INDIVIDUAL[:11]) == INDIVIDUAL[-1]
    assert individual_check_digit(NOT_INDIVIDUAL[:11]) != NOT_INDIVIDUAL[-1]


# ---- decision shape ----------------------------------------------------------

def test_decision_shape_and_defaults():
    before = today_tokyo()
    r = server().evaluate({"person": REGISTERED})
    after = today_tokyo()
    d = ok(r)
    assert r.content_type == "application/json", r.headers.get("Content-Type")
    assert set(d) == DECISION_KEYS, "decision keys %r, expected exactly %r" % (
        sorted(d), sorted(DECISION_KEYS))
    for k, sub in NESTED_KEYS.items():
        assert set(d[k]) == sub, "%s keys %r, expected %r" % (k, sorted(d[k]), sorted(sub))
    assert not decision_missing_keys(d), decision_missing_keys(d)
    assert isinstance(d["decision_id"], str) and len(d["decision_id"]) == 26, d["decision_id"]
    assert ULID_RE.match(d["decision_id"]), "decision_id %r is not a ULID" % d["decision_id"]
    assert EVALUATED_AT_RE.match(d["evaluated_at"]), "evaluated_at %r" % d["evaluated_at"]
    assert d["as_of"] in (before, after), "as_of %r, today in Tokyo is %s" % (d["as_of"], before)
    assert d["evaluated_at"][:10] in (before, after), d["evaluated_at"]
    assert d["ruleset"] == {"id": "mhlw-2025-05-13", "version": "1"}, d["ruleset"]
    assert d["registration"] == {"status": "registered", "usable": True}, d["registration"]
    assert d["certificate"]["entitlement"] == "not_entitled"
    assert d["certificate"]["applicants"] == [], d["certificate"]["applicants"]
    assert d["missing_facts"] == [], d["missing_facts"]
    assert isinstance(d["reasons"], list) and isinstance(d["advice"], list)
    for e in d["reasons"] + d["advice"]:
        assert set(e) == {"code", "source", "text"}, "entry keys %r" % sorted(e)
        assert isinstance(e["text"], str) and e["text"], e
    assert r.headers.get("Cache-Control") == "no-store", r.headers.get("Cache-Control")
    rid = r.headers.get("X-Request-Id")
    assert rid and len(rid) == 26, "X-Request-Id %r" % rid
    assert len(r.headers.get_all("X-Request-Id")) == 1
    d2 = ok(server().evaluate({"person": REGISTERED}))
    assert d2["decision_id"] != d["decision_id"], "decision_id repeated"


def test_as_of_given_is_used():
    d = ok(server().evaluate({"as_of": "2025-06-01", "person": REGISTERED}))
    assert d["as_of"] == "2025-06-01"
    assert EVALUATED_AT_RE.match(d["evaluated_at"]), d["evaluated_at"]
    assert d["evaluated_at"][:10] == today_tokyo() or d["evaluated_at"][11:13] in ("23", "00"), \
        "evaluated_at %r is not now in Tokyo" % d["evaluated_at"]


def test_care_home_decision_values():
    d = ok(server().evaluate({"as_of": "2025-06-01", "person": CARE_HOME}))
    c = d["certificate"]
    assert c["entitlement"] == "on_application", c
    assert c["application_required"] is True and c["may_apply"] is True, c
    assert c["apply_by"] == "2025-07-31" and c["recommended_apply_by"] == "2025-07-01", c
    assert c["applicants"] == ["self", "family", "legal_representative", "caregiver",
                               "delegate", "facility"], c["applicants"]
    assert d["insurer"] == {"number": "138057", "valid": True, "scheme": "nhi",
                            "prefecture_code": "13", "prefecture": "東京都",
                            "prefecture_en": "Tokyo", "name": None,
                            "channel": "municipal_counter"}, d["insurer"]
    rs = d["reasons"]
    assert rs[0]["code"] == "consideration_on_application" and rs[0]["source"] == "記1", rs[0]


def test_empty_person_is_undetermined():
    d = ok(server().evaluate({"as_of": "2025-06-01", "person": {}}))
    assert d["registration"] == {"status": "unknown", "usable": None}, d["registration"]
    assert d["certificate"]["entitlement"] == "undetermined"
    assert d["certificate"]["may_apply"] is False
    assert d["certificate"]["applicants"] == []
    assert d["certificate"]["apply_by"] is None and d["certificate"]["recommended_apply_by"] is None
    assert set(d["missing_facts"]) >= {"mynumber_card", "insurance_registration"}, d["missing_facts"]
    assert codes(d["reasons"])[:1] == ["registration_unknown"], codes(d["reasons"])
    assert "scheme_unknown" in codes(d["reasons"]), codes(d["reasons"])
    ins = d["insurer"]
    assert ins["number"] is None and ins["valid"] is None and ins["scheme"] is None \
        and ins["channel"] is None, ins


def test_insurer_variants():
    s = server()
    d = ok(s.evaluate({"as_of": "2025-06-01", "person": {"insurer_number": "01040013"}}))
    i = d["insurer"]
    assert (i["number"], i["scheme"], i["prefecture_code"], i["prefecture"], i["prefecture_en"],
            i["channel"], i["valid"]) == ("01040013", "kyokai", "04", "宮城県", "Miyagi",
                                          "employer", True), i
    d = ok(s.evaluate({"as_of": "2025-06-01", "person": {"insurer_number": "00138057"}}))
    assert d["insurer"]["number"] == "00138057" and d["insurer"]["scheme"] == "nhi" \
        and d["insurer"]["prefecture_code"] == "13", d["insurer"]
    d = ok(s.evaluate({"as_of": "2025-06-01",
                       "person": {"insurer_number": "138057", "scheme": "nhi_association"}}))
    assert d["insurer"]["scheme"] == "nhi_association" and d["insurer"]["channel"] == "insurer", \
        d["insurer"]
    d = ok(s.evaluate({"as_of": "2025-06-01", "person": {"scheme": "kyokai"}}))
    i = d["insurer"]
    assert i["number"] is None and i["valid"] is None and i["scheme"] == "kyokai" \
        and i["channel"] == "employer", i
    d = ok(s.evaluate({"as_of": "2025-06-01",
                       "person": {"insurer_number": "39132014", "scheme": "late_elderly"}}))
    assert d["insurer"]["scheme"] == "late_elderly"


# ---- languages ---------------------------------------------------------------

def test_language_selection():
    s = server()
    body = {"as_of": "2025-06-01", "person": CARE_HOME}
    ja = ok(s.evaluate(body))
    en = ok(s.evaluate(body, query="?lang=en"))
    al_en = ok(s.evaluate(body, headers={"Accept-Language": "en"}))
    ja_wins = ok(s.evaluate(body, query="?lang=ja", headers={"Accept-Language": "en"}))
    upper = ok(s.evaluate(body, query="?lang=EN"))
    assert codes(ja["reasons"]) == codes(en["reasons"]) and codes(ja["advice"]) == codes(en["advice"]), \
        "codes must not depend on the language"
    tja, ten = texts(ja), texts(en)
    assert all(has_japanese(t) for t in tja), "default texts not Japanese: %r" % tja[:2]
    assert all(mostly_english(t) for t in ten), "lang=en texts are not English: %r" % ten[:2]
    assert tja != ten
    assert texts(al_en) == ten, "Accept-Language: en did not give English"
    assert texts(ja_wins) == tja, "lang=ja must win over Accept-Language: en"
    assert texts(upper) == ten, "lang=EN (case-insensitive) did not give English"
    assert [e["source"] for e in ja["reasons"]] == [e["source"] for e in en["reasons"]]


def test_accept_language_ranking():
    s = server()
    body = {"as_of": "2025-06-01", "person": CARE_HOME}
    ten = texts(ok(s.evaluate(body, query="?lang=en")))
    tja = texts(ok(s.evaluate(body, query="?lang=ja")))
    for al, want, name in (("fr", tja, "ja"), ("fr, en;q=0.5", ten, "en"),
                           ("ja;q=0.5, en;q=0.9", ten, "en"), ("en;q=0.3, ja;q=0.8", tja, "ja"),
                           ("en-US,en;q=0.9,ja;q=0.8", ten, "en"), ("de-DE", tja, "ja")):
        got = texts(ok(s.evaluate(body, headers={"Accept-Language": al})))
        assert got == want, "Accept-Language %r should give %s" % (al, name)


def test_bad_query_parameters():
    s = server()
    body = {"as_of": "2025-06-01", "person": REGISTERED}
    assert_problem(s.evaluate(body, query="?lang=de"), 422, "invalid_enum", "?lang")
    assert_problem(s.evaluate(body, query="?format=xml"), 422, "invalid_enum", "?format")
    assert_problem(s.evaluate(body, query="?foo=1"), 422, "unknown_field", "?foo")
    assert_problem(s.get("/v1/rules?lang=xx"), 422, "invalid_enum", "?lang")


# ---- text/plain ----------------------------------------------------------------

def _check_text(r, must_contain=()):
    assert r.status == 200, "status %d: %r" % (r.status, r.body[:300])
    ct = (r.headers.get("Content-Type") or "").replace(" ", "").lower()
    assert ct == "text/plain;charset=utf-8", "Content-Type %r" % r.headers.get("Content-Type")
    text = r.body.decode("utf-8")
    lines = text.splitlines()
    assert len(lines) >= 3, "summary too short: %r" % text
    wide = [(columns(l), l) for l in lines if columns(l) > 80]
    assert not wide, "lines over 80 columns: %r" % wide[:3]
    for s in must_contain:
        assert s in text, "summary lacks %r: %r" % (s, text[:500])
    assert r.headers.get("X-Request-Id") and r.headers.get("Cache-Control") == "no-store"
    return text


def test_text_summary():
    s = server()
    body = {"as_of": "2025-06-01", "person": CARE_HOME}
    t1 = _check_text(s.evaluate(body, headers={"Accept": "text/plain"}), ("2025-07-31", "138057"))
    t2 = _check_text(s.evaluate(body, query="?format=text"), ("2025-07-31", "138057"))
    assert has_japanese(t1), "default summary is not Japanese"
    t3 = _check_text(s.evaluate(body, query="?format=text&lang=en"), ("2025-07-31",))
    assert t3 != t1 and jp_count(t3) * 3 < jp_count(t1), "English summary: %r" % t3[:300]
    assert has_japanese(t2), "format=text summary is not Japanese"
    _check_text(s.evaluate(body, headers={"Accept": "text/plain, application/json;q=0.5"}))
    _check_text(s.evaluate(body, headers={"Accept": "application/json;q=0.4, text/plain;q=0.9"}))


def test_text_summary_long_content_fits_80_columns():
    person = dict(CARE_HOME)
    person["care_needs"] = ["elderly", "dementia", "disability", "pin_difficulty",
                            "face_auth_difficulty", "illness"]
    for q in ("?format=text", "?format=text&lang=en"):
        _check_text(server().evaluate({"as_of": "2025-06-01", "person": person}, query=q))


def test_json_preferred_when_ranked_higher():
    r = server().evaluate({"as_of": "2025-06-01", "person": REGISTERED},
                          headers={"Accept": "application/json, text/plain;q=0.5"})
    assert r.status == 200 and r.content_type == "application/json", r
    r = server().evaluate({"as_of": "2025-06-01", "person": REGISTERED},
                          headers={"Accept": "*/*"})
    assert r.status == 200 and r.content_type == "application/json", r
    r = server().evaluate({"as_of": "2025-06-01", "person": REGISTERED}, query="?format=json",
                          headers={"Accept": "text/plain"})
    assert r.status == 200 and r.content_type == "application/json", \
        "format=json should win over Accept: %r" % (r,)


def test_errors_stay_problem_json_in_text_mode():
    r = server().evaluate({"person": {"mynumber_card": "maybe"}}, query="?format=text",
                          headers={"Accept": "text/plain"})
    assert_problem(r, 422, "invalid_enum", "/person/mynumber_card")


# ---- X-Request-Id ----------------------------------------------------------------

def test_request_id_echoed_when_valid():
    s = server()
    for rid in ("abc-123_X.y", "a", "Z" * 64, "0123456789"):
        r = s.get("/healthz", headers={"X-Request-Id": rid})
        assert r.status == 200
        assert r.headers.get_all("X-Request-Id") == [rid], \
            "sent %r, got %r" % (rid, r.headers.get_all("X-Request-Id"))
    r = s.evaluate({"person": REGISTERED}, headers={"X-Request-Id": "req.42"})
    assert r.headers.get("X-Request-Id") == "req.42"


def test_request_id_replaced_when_invalid():
    s = server()
    for rid in ("a" * 65, "has space", "semi;colon", "ü-umlaut", "a/b"):
        r = s.get("/healthz", headers={"X-Request-Id": rid.encode("utf-8")})
        assert r.status == 200, r
        got = r.headers.get_all("X-Request-Id")
        assert len(got) == 1 and got[0] != rid and len(got[0]) == 26 and \
            re.match(r"^[A-Za-z0-9._-]{26}$", got[0]), \
            "sent %r, got %r (expected a new 26-char id)" % (rid, got)


def test_request_id_individual_number_refused():
    s = server()
    for rid in (INDIVIDUAL, "1234-5678-9018"):
        r = s.evaluate({"as_of": "2025-06-01", "person": REGISTERED}, headers={"X-Request-Id": rid})
        assert_problem(r, 422, "individual_number_not_accepted", single=True)
        got = r.headers.get("X-Request-Id") or ""
        assert got != rid and len(got) == 26, "the individual number was echoed: %r" % got
        assert INDIVIDUAL not in r.body.decode("utf-8", "replace") and \
            "1234-5678-9018" not in r.body.decode("utf-8", "replace"), "body echoes the number"
    r = s.evaluate({"person": REGISTERED}, headers={"X-Request-Id": NOT_INDIVIDUAL})
    assert r.status == 200 and r.headers.get("X-Request-Id") == NOT_INDIVIDUAL, r


# ---- batch ------------------------------------------------------------------------

def test_batch_order_and_mixed_items():
    items = [
        {"person": REGISTERED},                                              # 0 decision
        {"person": {"birth_date": "2025-02-29", "mynumber_card": "held"}},   # 1 422
        {"person_id": "p-0001"},                                             # 2 404
        {"person": NO_CARD},                                                 # 3 decision
        {"person": REGISTERED, "person_id": "p-0002"},                       # 4 invalid_batch
        {},                                                                  # 5 invalid_batch
        {"person": CARE_HOME},                                               # 6 decision
    ]
    r = server().post(BATCH, {"as_of": "2025-06-01", "items": items})
    j = ok(r)
    assert r.content_type == "application/json"
    assert set(j) == {"results"}, sorted(j)
    res = j["results"]
    assert len(res) == len(items), "%d results for %d items" % (len(res), len(items))
    for i, want in ((0, "not_entitled"), (3, "ex_officio"), (6, "on_application")):
        d = res[i]
        assert "error" not in d, "item %d: %r" % (i, d)
        assert not decision_missing_keys(d), "item %d lacks %r" % (i, decision_missing_keys(d))
        assert d["as_of"] == "2025-06-01", "item %d as_of %r" % (i, d["as_of"])
        assert d["certificate"]["entitlement"] == want, "item %d: %r" % (i, d["certificate"])

    def err(i, status, field, code):
        e = res[i].get("error") if isinstance(res[i], dict) else None
        assert isinstance(e, dict), "item %d: expected {error}, got %r" % (i, res[i])
        assert e.get("status") == status, "item %d status %r, expected %d" % (i, e.get("status"), status)
        for k in ("type", "title", "detail"):
            assert isinstance(e.get(k), str), "item %d error lacks %s" % (i, k)
        pairs = [(x.get("field"), x.get("code")) for x in e.get("errors") or []]
        if field is None:
            assert code in [p[1] for p in pairs], "item %d errors %r lack %s" % (i, pairs, code)
        else:
            assert (field, code) in pairs, "item %d errors %r lack %r" % (i, pairs, (field, code))

    err(1, 422, "/items/1/person/birth_date", "invalid_date")
    err(2, 404, "/items/2/person_id", "not_found")
    err(4, 422, None, "invalid_batch")
    err(5, 422, None, "invalid_batch")


def test_batch_item_errors():
    res = ok(server().post(BATCH, {"items": [
        {"person_id": "has space!"},
        {"person": {"mynumber_card": "maybe", "setting": "moon"}},
        {"person": REGISTERED, "as_of": "2025-06-01"},
    ]}))["results"]
    assert len(res) == 3
    e0 = res[0].get("error") or {}
    assert e0.get("status") == 422 and ("/items/0/person_id", "invalid_person_id") in \
        [(x.get("field"), x.get("code")) for x in e0.get("errors") or []], res[0]
    e1 = res[1].get("error") or {}
    assert sorted((x.get("field"), x.get("code")) for x in e1.get("errors") or []) == \
        [("/items/1/person/mynumber_card", "invalid_enum"),
         ("/items/1/person/setting", "invalid_enum")], res[1]
    e2 = res[2].get("error") or {}
    assert e2.get("status") == 422 and \
        set(x.get("code") for x in e2.get("errors") or []) & {"unknown_field", "invalid_batch"}, \
        "an item with its own as_of must be refused: %r" % res[2]


def test_batch_empty_and_bad_shapes():
    s = server()
    assert_problem(s.post(BATCH, {"items": []}), 422, "invalid_batch")
    assert_problem(s.post(BATCH, {"items": {"person": {}}}), 422, "invalid_type", "/items")
    assert_problem(s.post(BATCH, {"items": [{"person": {}}], "extra": 1}), 422,
                   "unknown_field", "/extra")


def test_batch_limits():
    s = server()
    r = s.post(BATCH, {"items": [{"person": {}}] * 1001})
    assert_problem(r, 413, "too_many_items")
    r = s.post(BATCH, {"as_of": "2025-06-01", "items": [{"person": REGISTERED}] * 1000},
               timeout=slow(30))
    j = ok(r)
    assert len(j["results"]) == 1000, len(j["results"])
    assert all(x.get("certificate", {}).get("entitlement") == "not_entitled" for x in j["results"])
    ids = {x["decision_id"] for x in j["results"]}
    assert len(ids) == 1000, "decision ids are not unique within a batch (%d)" % len(ids)


def test_batch_individual_number_refuses_everything():
    items = [{"person": REGISTERED} for _ in range(8)]
    items[5] = {"person": {"insurer_number": INDIVIDUAL}}
    r = server().post(BATCH, {"as_of": "2025-06-01", "items": items})
    assert_problem(r, 422, "individual_number_not_accepted", single=True)
    assert r.json["errors"][0]["field"] == "/items/5/person/insurer_number", \
        error_pairs(r.json)
    assert "results" not in r.json


# ---- /v1/rules --------------------------------------------------------------------

RULE_TABLE = [
    ("no_usable_mynahoken", "ex_officio"), ("late_elderly_provisional", "provisional"),
    ("late_elderly_age", "ex_officio"), ("late_elderly_applied", "on_application"),
    ("card_unavailable_on_application", "on_application"),
    ("registration_unknown", "undetermined"), ("child_on_application", "on_application"),
    ("consideration_on_application", "on_application"), ("holds_mynahoken", "not_entitled"),
]
REASON_CODES = [c for c, _ in RULE_TABLE] + ["scheme_inferred_from_age", "scheme_unknown",
                                             "ecert_in_grace"]
ADVICE_CODES = ["check_registration", "obtain_card_or_apply", "renew_ecert",
                "apply_before_deadline", "apply_now", "apply_to_continue_after_provisional",
                "face_auth_card", "visual_confirmation", "facility_keeps_registration",
                "carry_mynahoken_for_emergencies", "proxy_medicine_pickup",
                "care_manager_guidance", "eligibility_notice"]
DEFAULTS = {"provisional_end": "2026-07-31", "late_elderly_auto_age": 85,
            "apply_margin_days": 30, "ecert_grace_months": 3, "stale_after_days": 30,
            "next_change_horizon_days": 730}


def test_rules_endpoint():
    r = server().get("/v1/rules")
    j = ok(r)
    assert r.content_type == "application/json"
    assert j["ruleset"] == {"id": "mhlw-2025-05-13", "version": "1"}, j["ruleset"]
    p = j["parameters"]
    assert set(p) == set(DEFAULTS), sorted(p)
    for k, v in DEFAULTS.items():
        assert p[k] == {"value": v, "source": "default"}, "%s: %r" % (k, p[k])
    rules = j["rules"]
    assert [(x.get("order"), x.get("code"), x.get("entitlement")) for x in rules] == \
        [(i + 1, c, e) for i, (c, e) in enumerate(RULE_TABLE)], rules
    assert rules[0]["source"] == "記1" and rules[5]["source"] == "記2(2)", \
        [x.get("source") for x in rules]
    assert all(isinstance(x.get("text"), str) and x["text"] for x in rules)
    assert sorted(codes(j["reasons"])) == sorted(REASON_CODES), codes(j["reasons"])
    assert codes(j["advice"]) == ADVICE_CODES, codes(j["advice"])
    for e in j["reasons"] + j["advice"]:
        assert set(e) >= {"code", "source", "text"}, e
    en = ok(server().get("/v1/rules?lang=en"))
    assert [x["text"] for x in en["advice"]] != [x["text"] for x in j["advice"]], \
        "lang=en rules texts are the same as Japanese"


class _TmpDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="shikaku-rules-")
        return self.path

    def __exit__(self, *a):
        shutil.rmtree(self.path, ignore_errors=True)
        return False


def _write(dirpath, name, text):
    path = os.path.join(dirpath, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def test_rules_file_overrides_parameters():
    with _TmpDir() as tmp:
        path = _write(tmp, "rules.json", '{"provisional_end":"2027-07-31"}')
        body = {"as_of": "2027-06-01", "person": LATE_ELDERLY}
        default_answer = ok(server().evaluate(body))["certificate"]["entitlement"]
        assert default_answer != "provisional", "with defaults 2027-06-01 is after the provisional end"
        with Server(["--rules", path]) as s2:
            p = ok(s2.get("/v1/rules"))["parameters"]
            assert p["provisional_end"] == {"value": "2027-07-31", "source": path}, p["provisional_end"]
            for k in ("late_elderly_auto_age", "apply_margin_days", "ecert_grace_months",
                      "stale_after_days"):
                assert p[k] == {"value": DEFAULTS[k], "source": "default"}, "%s: %r" % (k, p[k])
            d = ok(s2.evaluate(body))
            assert d["certificate"]["entitlement"] == "provisional", d["certificate"]
            assert d["certificate"]["apply_by"] == "2027-07-31", d["certificate"]
            assert codes(d["reasons"])[0] == "late_elderly_provisional", codes(d["reasons"])


def test_rules_file_null_auto_age():
    with _TmpDir() as tmp:
        path = _write(tmp, "rules.json", '{"late_elderly_auto_age": null}')
        body = {"as_of": "2026-09-01", "person": {"birth_date": "1938-02-11", "insurer_number": "39132014",
                                                  "mynumber_card": "held",
                                                  "insurance_registration": "registered"}}
        assert ok(server().evaluate(body))["certificate"]["entitlement"] == "ex_officio"
        with Server(["--rules", path]) as s2:
            p = ok(s2.get("/v1/rules"))["parameters"]
            assert p["late_elderly_auto_age"] == {"value": None, "source": path}, p
            d = ok(s2.evaluate(body))
            assert d["certificate"]["entitlement"] == "not_entitled", \
                "late_elderly_auto_age null must turn rule 3 off: %r" % d["certificate"]


def test_bad_rules_file_refused_at_start():
    with _TmpDir() as tmp:
        files = {
            "impossible date": _write(tmp, "a.json", '{"provisional_end":"2027-02-30"}'),
            "unknown key": _write(tmp, "b.json", '{"nope":1}'),
            "not JSON": _write(tmp, "c.json", "provisional_end = 2027-07-31\n"),
            "wrong type": _write(tmp, "d.json", '{"apply_margin_days":"30"}'),
            "missing file": os.path.join(tmp, "absent.json"),
        }
        for what, path in files.items():
            s = Server(["--rules", path], start=False)
            s.start(wait=False)
            try:
                rc = s.proc.wait(slow(5))
            except subprocess.TimeoutExpired:
                s.kill()
                raise AssertionError("%s: server still running 5 s after a bad --rules file" % what)
            s._reader.join(2)
            s.kill()
            err = s.stderr_text().strip()
            assert rc == 1, "%s: exit code %s, expected 1 (stderr %r)" % (what, rc, err[-300:])
            assert err, "%s: no message on stderr" % what
            assert not any('"listening"' in l for l in s.stderr_lines()), "%s: it listened" % what
            if harness.sanitized():
                assert not harness.sanitizer_findings(err), err[-2000:]


# ---- small routes --------------------------------------------------------------------

def test_healthz():
    r = server().get("/healthz")
    j = ok(r)
    assert r.content_type == "application/json"
    assert j.get("status") == "ok" and isinstance(j.get("version"), str) and j["version"], j
    assert r.headers.get("Cache-Control") == "no-store"
    assert len(r.headers.get("X-Request-Id") or "") == 26


def test_openapi():
    r = server().get("/openapi.yaml")
    assert r.status == 200, r
    assert r.content_type == "application/yaml", r.headers.get("Content-Type")
    assert r.body.startswith(b"openapi:"), r.body[:50]
    for p in (b"/v1/eligibility:evaluate", b"/v1/eligibility:batch", b"/v1/rules", b"/healthz"):
        assert p in r.body, "openapi.yaml does not describe %s" % p.decode()


def test_unknown_path_404():
    s = server()
    for method, path in (("GET", "/nope"), ("GET", "/v1/nothing"), ("POST", "/v1/eligibility:unknown"),
                         ("GET", "/healthz/extra"), ("GET", "/V1/RULES")):
        r = s.request(method, path, body=b"{}" if method == "POST" else None,
                      headers={"Content-Type": "application/json"} if method == "POST" else {})
        assert_problem(r, 404, "not_found")
        assert r.headers.get("X-Request-Id"), "404 without X-Request-Id"
    # route before query
    assert_problem(s.get("/nope?lang=xx"), 404, "not_found")


def test_wrong_method_405():
    s = server()
    for method, path, allow in (("GET", EVAL, "POST"), ("DELETE", "/healthz", "GET"),
                                ("POST", "/v1/rules", "GET"), ("PUT", BATCH, "POST"),
                                ("POST", "/openapi.yaml", "GET")):
        r = s.request(method, path, body=b"{}" if method in ("POST", "PUT") else None,
                      headers={"Content-Type": "application/json"})
        assert_problem(r, 405, "method_not_allowed")
        a = r.headers.get("Allow")
        assert a and allow in [x.strip() for x in a.split(",")], \
            "%s %s: Allow %r lacks %s" % (method, path, a, allow)


def test_media_type_415():
    s = server()
    body = json.dumps({"person": REGISTERED}).encode()
    for ct in ("text/plain", None, "application/x-www-form-urlencoded", "application/jsonx"):
        h = {"Content-Type": ct} if ct else {}
        r = s.request("POST", EVAL, body=body, headers=h)
        assert_problem(r, 415, "unsupported_media_type")
    for ct in ("application/json; charset=utf-8", "application/json;charset=UTF-8"):
        r = s.request("POST", EVAL, body=body, headers={"Content-Type": ct})
        assert r.status == 200, "%s: %r" % (ct, r)
    # media type before body syntax
    r = s.request("POST", EVAL, body=b"not json", headers={"Content-Type": "text/plain"})
    assert_problem(r, 415, "unsupported_media_type")
    # query before media type
    r = s.request("POST", EVAL + "?lang=xx", body=body, headers={"Content-Type": "text/plain"})
    assert_problem(r, 422, "invalid_enum", "?lang")


# ---- validation -------------------------------------------------------------------

def v(person, as_of="2025-06-01", **kw):
    body = {"person": person}
    if as_of is not None:
        body["as_of"] = as_of
    body.update(kw)
    return server().evaluate(body)


def test_all_errors_collected():
    r = v({"birth_date": "2025-13-01", "mynumber_card": "maybe", "insurer_number": "12345",
           "setting": "home"})
    assert_problem(r, 422)
    assert error_pairs(r.json) == sorted([("/person/birth_date", "invalid_date"),
                                          ("/person/mynumber_card", "invalid_enum"),
                                          ("/person/insurer_number", "invalid_insurer_number")]), \
        error_pairs(r.json)


def test_null_is_invalid_type():
    assert_problem(v({"birth_date": None}), 422, "invalid_type", "/person/birth_date")
    assert_problem(v({"care_needs": None}), 422, "invalid_type", "/person/care_needs")
    assert_problem(server().evaluate({"person": None}), 422, "invalid_type", "/person")
    assert_problem(server().evaluate({"as_of": None, "person": {}}), 422, "invalid_type", "/as_of")


def test_wrong_types():
    cases = [
        ({"birth_date": 19650402}, "/person/birth_date", "invalid_type"),
        ({"insurer_number": 138057}, "/person/insurer_number", "invalid_type"),
        ({"mynumber_card": True}, "/person/mynumber_card", "invalid_type"),
        ({"care_needs": "elderly"}, "/person/care_needs", "invalid_type"),
        ({"care_needs": [1]}, "/person/care_needs/0", "invalid_type"),
        ({"care_needs": ["elderly", "bogus"]}, "/person/care_needs/1", "invalid_enum"),
        ({"certificate": "issued"}, "/person/certificate", "invalid_type"),
        ({"setting": ["home"]}, "/person/setting", "invalid_type"),
        ({"scheme": "nhl"}, "/person/scheme", "invalid_enum"),
        ({"insurance_registration": "Registered"}, "/person/insurance_registration", "invalid_enum"),
    ]
    for person, field, code in cases:
        r = v(person)
        assert_problem(r, 422, code, field)
        assert error_pairs(r.json) == [(field, code)], "%r: %r" % (person, error_pairs(r.json))
    assert_problem(server().evaluate({"person": []}), 422, "invalid_type", "/person")
    assert_problem(server().evaluate({"as_of": 20250601, "person": {}}), 422, "invalid_type", "/as_of")
    assert_problem(server().evaluate({"as_of": "2025-06-01"}), 422, "missing_field", "/person")


def test_impossible_dates():
    for bad in ("2025-02-29", "2025-13-01", "2025-6-1", "2025-06-31", "2025-00-10",
                "2025-06-01T00:00:00", "", "20250601", "２０２５-06-01"):
        r = v({"birth_date": bad, "mynumber_card": "held"})
        assert_problem(r, 422, "invalid_date", "/person/birth_date")
    assert_problem(v({}, as_of="2025-02-30"), 422, "invalid_date", "/as_of")
    assert_problem(v({"ecert_expiry": "2025-04-31"}), 422, "invalid_date", "/person/ecert_expiry")
    assert_problem(v({"legacy_card_expiry": "2025-7-31"}), 422, "invalid_date",
                   "/person/legacy_card_expiry")
    assert_problem(v({"certificate": {"status": "applied", "applied_on": "2025-02-29"}}), 422,
                   "invalid_date", "/person/certificate/applied_on")
    r = v({"birth_date": "2024-02-29", "mynumber_card": "held"})
    assert r.status == 200, "2024-02-29 is a real date: %r" % (r,)


def test_birth_date_after_as_of():
    assert_problem(v({"birth_date": "2025-06-02"}), 422, "invalid_date", "/person/birth_date")
    r = v({"birth_date": "2025-06-01"})
    assert r.status == 200, "birth on as_of is allowed: %r" % (r,)


def test_bad_insurer_numbers():
    p48 = "0148001" + insurer_check_digit("0148001")
    p48_6 = "48001" + insurer_check_digit("48001")
    p00 = "0100001" + insurer_check_digit("0100001")
    bad_cd = "138057"[:-1] + str((int("138057"[-1]) + 1) % 10)
    for num in ("12345", "1234567", "123456789", "13805a", "１３８０５７", "0104001X", " 138057",
                bad_cd, "01040014", p48, p48_6, p00, "", NOT_INDIVIDUAL):
        r = v({"insurer_number": num})
        assert_problem(r, 422, "invalid_insurer_number", "/person/insurer_number")
        assert "individual_number_not_accepted" not in error_codes(r.json), num
    ok47 = "0147001" + insurer_check_digit("0147001")
    d = ok(v({"insurer_number": ok47}))
    assert d["insurer"]["prefecture_code"] == "47" and d["insurer"]["prefecture_en"] == "Okinawa", \
        d["insurer"]


def test_conflicting_scheme():
    for num, scheme in (("138057", "kyokai"), ("01130012", "nhi"), ("39132014", "society"),
                        ("01130012", "nhi_association")):
        r = v({"insurer_number": num, "scheme": scheme})
        assert_problem(r, 422, "conflicting_fields", "/person/scheme")


def test_certificate_validation():
    assert_problem(v({"certificate": {"basis": "application"}}), 422, "missing_field",
                   "/person/certificate/status")
    assert_problem(v({"certificate": {"status": "issued", "basis": "bogus"}}), 422,
                   "invalid_enum", "/person/certificate/basis")
    assert_problem(v({"certificate": {"status": "none", "foo": 1}}), 422, "unknown_field",
                   "/person/certificate/foo")
    r = v({"certificate": {"status": "issued", "basis": "application", "valid_until": "2026-07-31"}})
    assert r.status == 200, r


def test_unknown_fields():
    r = server().evaluate({"as_of": "2025-06-01", "person": {}, "persons": {}})
    assert_problem(r, 422, "unknown_field", "/persons")
    r = v({"birthdate": "1960-01-01"})
    assert_problem(r, 422, "unknown_field", "/person/birthdate")
    r = v({"a~b/c": 1})
    assert_problem(r, 422, "unknown_field", "/person/a~0b~1c")


def test_individual_number_values():
    variants = [INDIVIDUAL, "1234 5678 9018", "1234-5678-9018", "１２３４５６７８９０１８",
                "１２３４\u3000５６７８\u3000９０１８", "１２３４ ５６７８ ９０１８",
                "1234\u20105678\u20109018", "1234\u30fc5678\u30fc9018", "1234\u22125678\uff0d9018"]
    for val in variants:
        for field in ("insurer_number", "setting", "birth_date"):
            r = v({field: val, "mynumber_card": "maybe"})
            assert_problem(r, 422, "individual_number_not_accepted", single=True)
            assert r.json["errors"][0]["field"] == "/person/" + field, \
                "%r in %s: %r" % (val, field, error_pairs(r.json))
    r = v({"care_needs": ["elderly", INDIVIDUAL]})
    assert_problem(r, 422, "individual_number_not_accepted", "/person/care_needs/1", single=True)


def test_individual_number_key_integer_query():
    r = v({INDIVIDUAL: "x", "setting": "moon"})
    assert_problem(r, 422, "individual_number_not_accepted", single=True)
    r = v({"birth_date": 123456789018, "mynumber_card": "maybe"})
    assert_problem(r, 422, "individual_number_not_accepted", "/person/birth_date", single=True)
    r = server().evaluate({"as_of": "2025-06-01", "person": REGISTERED}, query="?lang=" + INDIVIDUAL)
    assert_problem(r, 422, "individual_number_not_accepted", "?lang", single=True)
    r = server().evaluate({"as_of": "2025-06-01", "person": {"certificate": {"status": INDIVIDUAL}}})
    assert_problem(r, 422, "individual_number_not_accepted", "/person/certificate/status", single=True)
    # a number that is not an individual number is just a bad value
    r = v({"insurer_number": NOT_INDIVIDUAL})
    assert_problem(r, 422, "invalid_insurer_number", "/person/insurer_number")
    r = v({"setting": NOT_INDIVIDUAL})
    assert_problem(r, 422, "invalid_enum", "/person/setting")
    r = v({"birth_date": 123456789012})
    assert_problem(r, 422, "invalid_type", "/person/birth_date")


def test_individual_number_never_logged():
    s = server()
    marker_birth = "1931-03-17"
    s.evaluate({"as_of": "2025-06-01", "person": {"insurer_number": "１２３４５６７８９０１８"}})
    s.evaluate({"as_of": "2025-06-01", "person": {"setting": INDIVIDUAL}})
    s.evaluate({"person": REGISTERED}, headers={"X-Request-Id": INDIVIDUAL})
    s.evaluate({"as_of": "2025-06-01", "person": {"birth_date": marker_birth, "mynumber_card": "held"}})
    s.settle_log()
    log = s.stderr_text()
    assert INDIVIDUAL not in log and "１２３４５６７８９０１８" not in log, \
        "an individual number reached the log"
    assert marker_birth not in log, "a person's facts (birth_date) reached the log"


def test_log_lines_are_json():
    s = server()
    s.get("/healthz", headers={"X-Request-Id": "log-check-1"})
    s.settle_log()
    lines = [l for l in s.stderr_lines() if l.strip()]
    bad = []
    for l in lines:
        try:
            if not isinstance(json.loads(l), dict):
                bad.append(l)
        except ValueError:
            if not harness.sanitized():
                bad.append(l)
    assert not bad, "stderr lines that are not JSON objects: %r" % bad[:3]
    assert any("log-check-1" in l for l in lines), "the request id is not in the log"


# ---- connection handling ---------------------------------------------------------

def test_keep_alive_and_concurrency():
    import http.client
    s = server()
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=slow(10))
    try:
        for _ in range(3):
            conn.request("POST", EVAL, body=json.dumps({"person": REGISTERED}),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            assert r.status == 200, r.status
    finally:
        conn.close()
    results = []

    def worker():
        try:
            results.append(s.evaluate({"as_of": "2025-06-01", "person": CARE_HOME}).status)
        except Exception as e:  # noqa: BLE001
            results.append(repr(e))
    threads = [threading.Thread(target=worker) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(slow(20))
    assert results == [200] * 24, results


# ---- a few rules of SPEC §3 seen through the API -----------------------------------

def _dec(person, as_of):
    return ok(server().evaluate({"as_of": as_of, "person": person}))


def test_rule_ecert_grace_months():
    p = dict(REGISTERED, ecert_expiry="2025-03-10")
    d = _dec(p, "2025-06-30")
    assert d["registration"]["status"] == "registered", d["registration"]
    assert "ecert_in_grace" in codes(d["reasons"]), codes(d["reasons"])
    assert "renew_ecert" in codes(d["advice"]), codes(d["advice"])
    d = _dec(p, "2025-07-01")
    assert d["registration"] == {"status": "ecert_expired", "usable": False}, d["registration"]
    assert d["certificate"]["entitlement"] == "ex_officio"
    p = dict(REGISTERED, card_expiry="2025-11-15")
    assert _dec(p, "2026-02-28")["registration"]["status"] == "registered"
    assert _dec(p, "2026-03-01")["registration"]["status"] == "ecert_expired"


def test_rule_late_elderly_inferred_from_age():
    p = {"birth_date": "1950-06-01", "mynumber_card": "held", "insurance_registration": "registered"}
    d = _dec(p, "2025-05-31")
    assert d["certificate"]["entitlement"] == "not_entitled", d["certificate"]
    assert not {"scheme_inferred_from_age", "scheme_unknown"} & set(codes(d["reasons"])), \
        codes(d["reasons"])
    d = _dec(p, "2025-06-01")          # the 75th birthday itself
    assert d["certificate"]["entitlement"] == "provisional", d["certificate"]
    assert codes(d["reasons"])[0] == "late_elderly_provisional"
    assert "scheme_inferred_from_age" in codes(d["reasons"]), codes(d["reasons"])
    leap = {"birth_date": "1952-02-29", "mynumber_card": "held", "insurance_registration": "registered"}
    assert "scheme_inferred_from_age" not in codes(_dec(leap, "2027-02-28")["reasons"])
    assert "scheme_inferred_from_age" in codes(_dec(leap, "2027-03-01")["reasons"]), \
        "a 29 February birthday rises on 1 March in common years"
    nhi_old = {"birth_date": "1940-01-01", "insurer_number": "138057", "mynumber_card": "held",
               "insurance_registration": "registered"}
    d = _dec(nhi_old, "2025-06-01")
    assert d["certificate"]["entitlement"] == "not_entitled", \
        "an NHI number means not late-elderly whatever the age: %r" % d["certificate"]


def test_rule_deadlines():
    d = _dec(CARE_HOME, "2025-07-15")
    c = d["certificate"]
    assert (c["apply_by"], c["recommended_apply_by"]) == ("2025-07-31", "2025-07-15"), \
        "recommended_apply_by is never before as_of: %r" % c
    d = _dec(CARE_HOME, "2025-08-01")
    c = d["certificate"]
    assert c["application_required"] is True and c["apply_by"] is None \
        and c["recommended_apply_by"] is None, c
    assert "apply_now" in codes(d["advice"]) and "apply_before_deadline" not in codes(d["advice"]), \
        codes(d["advice"])
    d = _dec(dict(CARE_HOME, certificate={"status": "applied", "applied_on": "2025-05-01"}),
             "2025-06-01")
    c = d["certificate"]
    assert c["entitlement"] == "on_application" and c["application_required"] is False \
        and c["apply_by"] is None and c["may_apply"] is True, c


def test_rule_child_applicants():
    p = {"birth_date": "2015-08-01", "insurer_number": "01130012", "mynumber_card": "held",
         "insurance_registration": "registered", "care_needs": ["illness"],
         "setting": "childrens_facility"}
    d = _dec(p, "2025-06-01")
    assert codes(d["reasons"])[0] == "child_on_application", codes(d["reasons"])
    assert d["certificate"]["applicants"] == ["self", "family", "legal_representative", "caregiver",
                                              "delegate", "guardian",
                                              "facility_staff_delegated_by_guardian"], \
        d["certificate"]["applicants"]
