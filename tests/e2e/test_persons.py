"""Persons, the worklist and the insurer registry over HTTP (SPEC §6, §7).

The module's server has a temporary database of its own; each test uses
person ids (and facility ids) of its own so that tests do not see each
other's rows."""

import json
import threading
import unicodedata
import urllib.parse

from harness import (server, assert_problem, decision_missing_keys, today_tokyo, days_ago, fresh,
                     days_ahead, insurer_check_digit, insurer_number,
                     NEEDS_APPLICATION, SETTLED, UNDETERMINED, NO_CARD)

PERSONS = "/v1/persons"
BATCH = "/v1/eligibility:batch"
EVAL = "/v1/eligibility:evaluate"
INDIVIDUAL = "123456789018"          # valid check digit (SPEC §8 example)
TOKYO_KYOKAI = "01130012"
TOKYO_KYOKAI_JA = "全国健康保険協会 東京支部"



def put(pid, body, headers=None):
    return server().request("PUT", PERSONS + "/" + pid, json_body=body, headers=headers)


def get(path, headers=None):
    return server().get(path, headers=headers)


def etag(r):
    t = r.headers.get("ETag")
    assert t and t.startswith('"') and t.endswith('"') and len(t) > 2, \
        "no strong ETag on %r: %r" % (r, t)
    return t


# --------------------------------------------------------------------------
# PUT / GET / DELETE

def test_put_creates_then_replaces_with_the_stored_record():
    body = {"display_name": "山田 花子", "facility_id": "fac-a", "birth_date": "1948-09-09",
            "insurer_number": "138057", "mynumber_card": "held",
            "insurance_registration": "registered", "ecert_expiry": "2029-01-31",
            "card_expiry": "2033-01-31", "care_needs": ["elderly", "pin_difficulty"],
            "setting": "care_facility", "legacy_card_expiry": "2025-07-31",
            "certificate": {"status": "applied", "applied_on": "2025-06-01"},
            "verified_at": days_ago(3), "source": "card_reader"}
    r = put("crud-1", body)
    assert r.status == 201, r
    assert r.content_type == "application/json"
    t1 = etag(r)
    rec = r.json
    assert rec["person_id"] == "crud-1"
    assert isinstance(rec.get("updated_at"), str) and rec["updated_at"].endswith("+09:00"), rec
    for k, v in body.items():
        assert rec.get(k) == v, (k, rec.get(k), v)
    g = get(PERSONS + "/crud-1")
    assert g.status == 200 and g.json == rec, (g, rec)
    assert etag(g) == t1

    # The same body again: 200, unchanged tag and updated_at.
    r2 = put("crud-1", body)
    assert r2.status == 200, r2
    assert etag(r2) == t1
    assert r2.json["updated_at"] == rec["updated_at"]

    # A GET body PUT back (person_id and updated_at included) is accepted.
    r3 = put("crud-1", g.json)
    assert r3.status == 200 and etag(r3) == t1, r3

    # A change replaces the whole record: omitted members are gone.
    r4 = put("crud-1", {"mynumber_card": "lost"})
    assert r4.status == 200, r4
    assert etag(r4) != t1
    assert r4.json.get("mynumber_card") == "lost"
    assert "display_name" not in r4.json and "birth_date" not in r4.json, r4.json
    assert get(PERSONS + "/crud-1").json == r4.json


def test_get_unknown_person_is_404():
    r = get(PERSONS + "/nobody-here")
    assert_problem(r, 404, "not_found")


def test_put_validation_is_strict():
    cases = [
        ({"birth_date": "1960-01-01", "birth_dat": "1960-01-01"}, "unknown_field", "/birth_dat"),
        ({"facility_id": "bad facility!"}, None, "/facility_id"),
        ({"facility_id": ""}, None, "/facility_id"),
        ({"facility_id": 12}, "invalid_type", "/facility_id"),
        ({"verified_at": days_ahead(1)}, "invalid_date", "/verified_at"),
        ({"verified_at": "2025-02-30"}, "invalid_date", "/verified_at"),
        ({"source": "rumour"}, "invalid_enum", "/source"),
        ({"display_name": None}, "invalid_type", "/display_name"),
        ({"person_id": "someone-else"}, "conflicting_fields", "/person_id"),
        ({"insurer_number": "01130012", "scheme": "nhi"}, "conflicting_fields", None),
        ({"mynumber_card": "maybe"}, "invalid_enum", "/mynumber_card"),
        ({"certificate": {"basis": "application"}}, "missing_field", "/certificate/status"),
        ({"birth_date": days_ahead(2)}, "invalid_date", "/birth_date"),
    ]
    for body, code, field in cases:
        r = put("strict-1", body)
        assert r.status == 422, (body, r)
        assert_problem(r, 422, code, field)
    # Nothing was stored by any of them.
    assert get(PERSONS + "/strict-1").status == 404


def test_put_with_verified_at_today_is_accepted():
    r = put("strict-2", {"verified_at": today_tokyo(), "source": "mynaportal"})
    assert r.status == 201, r


def test_individual_number_in_path_or_body_is_refused():
    r = put(INDIVIDUAL, {"mynumber_card": "held"})
    assert_problem(r, 422, "individual_number_not_accepted", single=True)
    r = get(PERSONS + "/" + INDIVIDUAL)
    assert_problem(r, 422, "individual_number_not_accepted", single=True)
    r = put("inum-1", {"display_name": INDIVIDUAL})
    assert_problem(r, 422, "individual_number_not_accepted", single=True)
    assert get(PERSONS + "/inum-1").status == 404


def test_bad_person_id_in_path():
    r = put("a" * 65, {})
    assert_problem(r, 422, "invalid_person_id")
    r = get(PERSONS + "/bad%21id")
    assert_problem(r, 422, "invalid_person_id")


def test_if_match():
    r = put("im-1", fresh(SETTLED))
    t1 = etag(r)
    # Somebody else changes it.
    r = put("im-1", fresh(NO_CARD))
    assert r.status == 200
    t2 = etag(r)
    assert t2 != t1
    # A stale If-Match: 412, nothing changed, the current tag told.
    r = put("im-1", fresh(UNDETERMINED), headers={"If-Match": t1})
    assert_problem(r, 412, "precondition_failed")
    assert r.headers.get("ETag") == t2
    g = get(PERSONS + "/im-1")
    assert g.json.get("mynumber_card") == "none" and etag(g) == t2
    # The current tag, alone, in a list, or *: 200.
    r = put("im-1", fresh(SETTLED), headers={"If-Match": t2})
    assert r.status == 200, r
    t3 = etag(r)
    r = put("im-1", fresh(NO_CARD), headers={"If-Match": '"0000000000000000", ' + t3})
    assert r.status == 200, r
    r = put("im-1", fresh(SETTLED), headers={"If-Match": "*"})
    assert r.status == 200, r
    # A weak tag never matches If-Match (strong comparison).
    r = put("im-1", fresh(NO_CARD), headers={"If-Match": "W/" + etag(r)})
    assert_problem(r, 412, "precondition_failed")
    # If-Match on a person that does not exist: 412, not created.
    r = put("im-2", fresh(SETTLED), headers={"If-Match": "*"})
    assert_problem(r, 412, "precondition_failed")
    assert get(PERSONS + "/im-2").status == 404


def test_if_none_match_creates_only():
    r = put("inm-1", fresh(SETTLED), headers={"If-None-Match": "*"})
    assert r.status == 201, r
    t = etag(r)
    r = put("inm-1", fresh(NO_CARD), headers={"If-None-Match": "*"})
    assert_problem(r, 412, "precondition_failed", "header:If-None-Match")
    assert get(PERSONS + "/inm-1").json.get("mynumber_card") == "held"
    # GET with the current tag: 304.
    g = get(PERSONS + "/inm-1", headers={"If-None-Match": t})
    assert g.status == 304 and not g.body, g
    assert g.headers.get("ETag") == t
    g = get(PERSONS + "/inm-1", headers={"If-None-Match": '"0000000000000000"'})
    assert g.status == 200


def test_delete_erases():
    r = put("del-1", fresh(SETTLED, display_name="消す人"))
    t = etag(r)
    r = server().request("DELETE", PERSONS + "/del-1", headers={"If-Match": '"0000000000000000"'})
    assert_problem(r, 412, "precondition_failed")
    assert get(PERSONS + "/del-1").status == 200
    r = server().request("DELETE", PERSONS + "/del-1", headers={"If-Match": t})
    assert r.status == 204 and not r.body, r
    assert_problem(get(PERSONS + "/del-1"), 404, "not_found")
    assert_problem(get(PERSONS + "/del-1/eligibility"), 404, "not_found")
    r = server().request("DELETE", PERSONS + "/del-1")
    assert_problem(r, 404, "not_found")
    # Gone from the worklist too.
    w = get(PERSONS + "?limit=1000")
    assert "del-1" not in [i["person_id"] for i in w.json["items"]]
    # And it can be created anew.
    assert put("del-1", fresh(SETTLED)).status == 201


# --------------------------------------------------------------------------
# GET /v1/persons/{id}/eligibility

def test_eligibility_from_stored_facts():
    r = put("el-1", fresh(NEEDS_APPLICATION, display_name="佐藤"))
    t = etag(r)
    e = get(PERSONS + "/el-1/eligibility")
    assert e.status == 200, e
    assert e.content_type == "application/json"
    assert etag(e) == t
    d = e.json
    assert decision_missing_keys(d) == [], decision_missing_keys(d)
    assert d["as_of"] == today_tokyo()
    assert d["data_as_of"] == today_tokyo()
    assert d["stale"] is False
    assert d["certificate"]["entitlement"] == "on_application"
    assert d["certificate"]["application_required"] is True
    # The same as evaluating the facts.
    ev = server().evaluate({"person": NEEDS_APPLICATION})
    assert ev.json["certificate"] == d["certificate"]
    assert ev.json["reasons"] == d["reasons"]


def test_eligibility_stale_around_stale_after_days():
    cases = [(0, False), (29, False), (30, False), (31, True), (400, True)]
    for n, stale in cases:
        pid = "st-%d" % n
        assert put(pid, dict(SETTLED, verified_at=days_ago(n))).status == 201
        d = get(PERSONS + "/%s/eligibility" % pid).json
        assert d["data_as_of"] == days_ago(n)
        assert d["stale"] is stale, (n, d["stale"])
    assert put("st-none", dict(SETTLED)).status == 201
    d = get(PERSONS + "/st-none/eligibility").json
    assert d["data_as_of"] is None and d["stale"] is True


def test_eligibility_as_of_text_and_errors():
    put("eo-1", fresh(dict(NEEDS_APPLICATION, legacy_card_expiry="2025-07-31")))
    d = get(PERSONS + "/eo-1/eligibility?as_of=2025-06-01").json
    assert d["as_of"] == "2025-06-01"
    assert d["certificate"]["apply_by"] == "2025-07-31"
    r = get(PERSONS + "/eo-1/eligibility?as_of=2025-02-30")
    assert_problem(r, 422, "invalid_date", "?as_of")
    # Before the birth date there is no decision.
    r = get(PERSONS + "/eo-1/eligibility?as_of=1950-01-01")
    assert_problem(r, 422, "invalid_date", "?as_of")
    t = get(PERSONS + "/eo-1/eligibility?format=text")
    assert t.status == 200 and t.content_type == "text/plain", t
    assert "eo-1" in t.text
    t = get(PERSONS + "/eo-1/eligibility", headers={"Accept": "text/plain"})
    assert t.content_type == "text/plain"
    assert_problem(get(PERSONS + "/eo-nobody/eligibility"), 404, "not_found")


def test_eligibility_names_the_registry_insurer():
    put("in-1", fresh({"insurer_number": TOKYO_KYOKAI, "mynumber_card": "held",
                       "insurance_registration": "registered"}))
    d = get(PERSONS + "/in-1/eligibility").json
    assert d["insurer"]["name"] == TOKYO_KYOKAI_JA, d["insurer"]
    assert d["insurer"]["scheme"] == "kyokai"
    d = get(PERSONS + "/in-1/eligibility?lang=en").json
    assert "Tokyo" in d["insurer"]["name"], d["insurer"]
    put("in-2", fresh(SETTLED))
    assert get(PERSONS + "/in-2/eligibility").json["insurer"]["name"] is None


# --------------------------------------------------------------------------
# POST /v1/eligibility:batch with stored persons

def test_batch_with_person_ids():
    put("ba-1", fresh(NEEDS_APPLICATION))
    put("ba-2", fresh(NO_CARD))
    r = server().post(BATCH, {"as_of": "2025-06-01", "items": [
        {"person_id": "ba-2"}, {"person_id": "ba-missing"},
        {"person": SETTLED}, {"person_id": "ba-1"}]})
    assert r.status == 200, r
    res = r.json["results"]
    assert len(res) == 4
    assert res[0]["certificate"]["entitlement"] == "ex_officio"
    assert res[0]["as_of"] == "2025-06-01"
    assert res[1]["error"]["status"] == 404
    assert [e["code"] for e in res[1]["error"]["errors"]] == ["not_found"]
    assert res[1]["error"]["errors"][0]["field"] == "/items/1/person_id"
    assert res[2]["certificate"]["entitlement"] == "not_entitled"
    assert res[3]["certificate"]["entitlement"] == "on_application"
    assert res[3]["as_of"] == "2025-06-01"
    for i in (0, 2, 3):
        assert decision_missing_keys(res[i]) == []
    # A bad id is that item's 422.
    r = server().post(BATCH, {"items": [{"person_id": "bad id"}, {"person_id": "ba-1"}]})
    assert r.json["results"][0]["error"]["status"] == 422
    assert "certificate" in r.json["results"][1]


def test_batch_person_item_names_the_registry_insurer():
    r = server().post(BATCH, {"items": [{"person": {"insurer_number": TOKYO_KYOKAI}}]})
    assert r.json["results"][0]["insurer"]["name"] == TOKYO_KYOKAI_JA


# --------------------------------------------------------------------------
# GET /v1/persons (the worklist)

def worklist(query):
    r = get(PERSONS + "?" + query)
    assert r.status == 200, r
    return r.json


def ids_of(doc):
    return [i["person_id"] for i in doc["items"]]


def walk_pages(query):
    """The ids of every page of the worklist of query, cursor to cursor."""
    ids, cursor = [], None
    while True:
        doc = worklist(query + ("&cursor=" + cursor if cursor else ""))
        ids += ids_of(doc)
        cursor = doc["next_cursor"]
        if not cursor:
            return ids

def test_worklist_needs_action_and_filters():
    f = "wl-fac"
    put("wl-apply", fresh(NEEDS_APPLICATION, facility_id=f, display_name="申請要"))
    put("wl-undet", fresh(UNDETERMINED, facility_id=f))
    put("wl-stale", dict(SETTLED, facility_id=f, verified_at=days_ago(45)))
    put("wl-settled", fresh(SETTLED, facility_id=f))
    put("wl-exoff", fresh(NO_CARD, facility_id=f))
    put("wl-due", fresh(dict(NEEDS_APPLICATION, legacy_card_expiry=days_ahead(60)), facility_id=f))
    put("wl-other", fresh(NEEDS_APPLICATION, facility_id="wl-elsewhere"))

    doc = worklist("facility_id=" + f)
    assert ids_of(doc) == sorted(["wl-apply", "wl-undet", "wl-stale", "wl-settled",
                                  "wl-exoff", "wl-due"]), ids_of(doc)
    assert doc["next_cursor"] is None
    row = doc["items"][0]
    assert set(row) == {"person_id", "facility_id", "display_name", "entitlement",
                        "application_required", "apply_by", "stale", "next_change_date",
                        "actions"}, row
    assert row == {"person_id": "wl-apply", "facility_id": f, "display_name": "申請要",
                   "entitlement": "on_application", "application_required": True,
                   "apply_by": None, "stale": False, "next_change_date": None,
                   "actions": row["actions"]}
    assert "apply_now" in row["actions"]

    doc = worklist("facility_id=%s&needs_action=true" % f)
    assert ids_of(doc) == ["wl-apply", "wl-due", "wl-stale", "wl-undet"], ids_of(doc)
    stale = [i for i in doc["items"] if i["person_id"] == "wl-stale"][0]
    assert stale["stale"] is True and stale["entitlement"] == "not_entitled"
    assert worklist("facility_id=%s&needs_action=false" % f)["items"] == \
        worklist("facility_id=" + f)["items"]

    doc = worklist("facility_id=%s&entitlement=undetermined" % f)
    assert ids_of(doc) == ["wl-undet"]
    doc = worklist("facility_id=%s&entitlement=ex_officio" % f)
    assert ids_of(doc) == ["wl-exoff"]

    doc = worklist("facility_id=%s&due_before=%s" % (f, days_ahead(61)))
    assert ids_of(doc) == ["wl-due"], ids_of(doc)
    assert doc["items"][0]["apply_by"] == days_ahead(60)
    assert ids_of(worklist("facility_id=%s&due_before=%s" % (f, days_ahead(60)))) == []

    doc = worklist("facility_id=wl-elsewhere")
    assert ids_of(doc) == ["wl-other"]
    assert worklist("facility_id=wl-nobody")["items"] == []


def test_worklist_bad_parameters():
    for q, field in [("limit=0", "?limit"), ("limit=1001", "?limit"), ("limit=x", "?limit"),
                     ("limit=", "?limit"), ("cursor=zzz", "?cursor"), ("cursor=", "?cursor"),
                     ("cursor=k", "?cursor"), ("cursor=k%21%21", "?cursor"),
                     ("cursor=" + "k" * 70, "?cursor"),
                     ("needs_action=yes", "?needs_action"), ("entitlement=maybe", "?entitlement"),
                     ("due_before=2025-13-01", "?due_before"), ("facility_id=a%20b", "?facility_id"),
                     ("colour=red", "?colour")]:
        r = get(PERSONS + "?" + q)
        assert r.status == 422, (q, r)
        assert_problem(r, 422, None, None)
        assert field in [e["field"] for e in r.json["errors"]], (q, r.json)
    assert get(PERSONS + "?limit=1000").status == 200
    assert get(PERSONS + "?limit=1").status == 200


def test_worklist_pages_neither_skip_nor_repeat_under_inserts():
    f = "pg-fac"
    originals = ["pg-%04d" % (2 * i) for i in range(250)]
    for pid in originals:
        r = put(pid, fresh(SETTLED, facility_id=f))
        assert r.status == 201, r
    inserted = []
    lock = threading.Lock()

    def insert(batch):
        for pid in batch:
            r = put(pid, fresh(SETTLED, facility_id=f))
            assert r.status == 201, r
            with lock:
                inserted.append(pid)

    seen = []
    cursor = None
    page = 0
    odd = iter(range(1, 2 * 250 + 40, 2))
    while True:
        q = "facility_id=%s&limit=40" % f
        if cursor:
            q += "&cursor=" + urllib.parse.quote(cursor, safe="")
        doc = worklist(q)
        got = ids_of(doc)
        assert len(got) <= 40
        seen += got
        cursor = doc["next_cursor"]
        if cursor is None:
            break
        # Between pages, another client inserts ids before, around and
        # after the cursor.
        batch = ["pg-%04d" % next(odd) for _ in range(12)]
        t = threading.Thread(target=insert, args=(batch,))
        t.start()
        t.join()
        page += 1
        assert page < 100, "no end of pages"
    assert len(seen) == len(set(seen)), "repeated: %r" % sorted(
        {x for x in seen if seen.count(x) > 1})
    assert seen == sorted(seen), "not in person_id order"
    missing = set(originals) - set(seen)
    assert not missing, "skipped: %r" % sorted(missing)
    assert inserted, "nothing was inserted between pages"
    # Everything inserted behind the cursor is there on a fresh walk.
    all_ids = walk_pages("facility_id=%s&limit=1000" % f)
    assert sorted(all_ids) == sorted(originals + inserted)


def test_worklist_cursor_with_needs_action_and_small_pages():
    f = "pgn-fac"
    want = []
    for i in range(25):
        pid = "pgn-%02d" % i
        if i % 3 == 0:
            put(pid, fresh(NEEDS_APPLICATION, facility_id=f))
            want.append(pid)
        else:
            put(pid, fresh(SETTLED, facility_id=f))
    seen = walk_pages("facility_id=%s&needs_action=true&limit=2" % f)
    assert seen == want


def display_width(s):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def test_worklist_text_fits_80_columns():
    long_id = "t" * 64
    long_fac = "F" * 64
    put(long_id, fresh(NEEDS_APPLICATION, facility_id=long_fac))
    put("tx-short", fresh(UNDETERMINED, facility_id=long_fac))
    for lang in ("", "&lang=en"):
        r = get(PERSONS + "?facility_id=%s&format=text%s" % (long_fac, lang))
        assert r.status == 200 and r.content_type == "text/plain", r
        lines = r.text.splitlines()
        assert len(lines) >= 3, r.text
        for line in lines:
            assert display_width(line) <= 80, "%d columns: %r" % (display_width(line), line)
        assert long_id in lines, "the long id is cut: %r" % lines
        assert any(long_fac in line for line in lines)
        assert any(" tx-short " in line for line in lines)
    # The "more" line with a 64-character cursor also fits.
    r = get(PERSONS + "?facility_id=%s&limit=1" % long_fac, headers={"Accept": "text/plain"})
    lines = r.text.splitlines()
    more = [line for line in lines if "cursor=" in line]
    assert more and all(display_width(line) <= 80 for line in lines), lines
    cursor = more[0].split("cursor=", 1)[1].strip()
    nxt = get(PERSONS + "?facility_id=%s&limit=1&cursor=%s" % (long_fac, cursor))
    assert ids_of(nxt.json) == ["tx-short"], nxt


# --------------------------------------------------------------------------
# Insurers

def test_insurer_unknown_valid_number_answers_derived_facts():
    number = insurer_number("0613999")
    r = get("/v1/insurers/" + number)
    assert r.status == 200, r
    d = r.json
    assert d["number"] == number and d["valid"] is True
    assert d["scheme"] == "society" and d["channel"] == "employer"
    assert d["prefecture_code"] == "13" and d["prefecture"] == "東京都"
    assert d["prefecture_en"] == "Tokyo"
    assert d["name"] is None and d["registered"] is False


def test_insurer_seeded_branch():
    d = get("/v1/insurers/" + TOKYO_KYOKAI).json
    assert d["name"] == TOKYO_KYOKAI_JA and d["registered"] is True
    assert d["scheme"] == "kyokai"
    d = get("/v1/insurers/01040013").json
    assert "宮城" in d["name"]


def test_insurer_bad_numbers():
    for n in ("01130013", "0113001", "abcdefgh", "48000000"[:7] + insurer_check_digit("4800000"),
              "1234567890"):
        r = get("/v1/insurers/" + n)
        assert_problem(r, 422, "invalid_insurer_number")


def test_insurer_put_then_get():
    number = insurer_number("0627123")
    body = {"name_ja": "テスト大阪健康保険組合", "name_en": "Test Osaka HIS",
            "phone": "06-0000-0000", "url": "https://example.org/his",
            "address": "大阪府大阪市"}
    r = server().request("PUT", "/v1/insurers/" + number, json_body=body)
    assert r.status == 201, r
    r = server().request("PUT", "/v1/insurers/" + number, json_body=body)
    assert r.status == 200, r
    d = get("/v1/insurers/" + number).json
    assert d["name"] == "テスト大阪健康保険組合" and d["phone"] == "06-0000-0000"
    assert d["name_en"] == "Test Osaka HIS" and d["registered"] is True
    assert d["prefecture_code"] == "27"
    # Disagreeing scheme, unknown field, other number in the body: 422.
    r = server().request("PUT", "/v1/insurers/" + number, json_body={"scheme": "kyokai"})
    assert_problem(r, 422, "conflicting_fields", "/scheme")
    r = server().request("PUT", "/v1/insurers/" + number, json_body={"nam": "x"})
    assert_problem(r, 422, "unknown_field", "/nam")
    r = server().request("PUT", "/v1/insurers/" + number,
                         json_body={"insurer_number": TOKYO_KYOKAI})
    assert_problem(r, 422, "conflicting_fields")
    r = server().request("PUT", "/v1/insurers/01130013", json_body={"name_ja": "x"})
    assert_problem(r, 422, "invalid_insurer_number")
    # The decision names it.
    ev = server().evaluate({"person": {"insurer_number": number}})
    assert ev.json["insurer"]["name"] == "テスト大阪健康保険組合"
    ev = server().evaluate({"person": {"insurer_number": number}}, query="?lang=en")
    assert ev.json["insurer"]["name"] == "Test Osaka HIS"


def test_insurer_nhi_association_mark():
    number = insurer_number("13999")
    r = server().request("PUT", "/v1/insurers/" + number,
                         json_body={"name_ja": "東京テスト国民健康保険組合",
                                    "scheme": "nhi_association"})
    assert r.status in (200, 201), r
    d = get("/v1/insurers/" + number).json
    assert d["scheme"] == "nhi_association" and d["channel"] == "insurer"
    ev = server().evaluate({"person": {"insurer_number": number}}).json
    assert ev["insurer"]["scheme"] == "nhi_association", ev["insurer"]
    assert ev["insurer"]["channel"] == "insurer"
    assert ev["insurer"]["name"] == "東京テスト国民健康保険組合"
    # The zero-padded spelling is the same insurer.
    d = get("/v1/insurers/00" + number).json
    assert d["number"] == "00" + number and d["name"] == "東京テスト国民健康保険組合"
    # A stored person with it: the lookup and a batch item say the same.
    put("nhi-1", fresh({"insurer_number": "00" + number}))
    d = get(PERSONS + "/nhi-1/eligibility").json
    assert d["insurer"]["scheme"] == "nhi_association", d["insurer"]
    assert d["insurer"]["channel"] == "insurer"
    assert d["insurer"]["name"] == "東京テスト国民健康保険組合"
    r = server().post(BATCH, {"items": [{"person_id": "nhi-1"}]})
    assert r.json["results"][0]["insurer"]["name"] == "東京テスト国民健康保険組合"
    # A renamed insurer is named so at once.
    r = server().request("PUT", "/v1/insurers/" + number,
                         json_body={"name_ja": "東京改名国民健康保険組合",
                                    "scheme": "nhi_association"})
    assert r.status == 200, r
    d = get(PERSONS + "/nhi-1/eligibility").json
    assert d["insurer"]["name"] == "東京改名国民健康保険組合", d["insurer"]


def test_insurer_search():
    d = get("/v1/insurers?prefecture=13").json
    numbers = [i["number"] for i in d["items"]]
    assert TOKYO_KYOKAI in numbers
    assert all(i["prefecture_code"] == "13" for i in d["items"])
    d = get("/v1/insurers?scheme=kyokai").json
    assert len(d["items"]) == 47 and all(i["scheme"] == "kyokai" for i in d["items"])
    q = urllib.parse.quote("東京")
    d = get("/v1/insurers?q=" + q).json
    assert TOKYO_KYOKAI in [i["number"] for i in d["items"]]
    assert all("東京" in (i["name"] or "") for i in d["items"]), d["items"]
    d = get("/v1/insurers?q=miyagi").json
    assert [i["number"] for i in d["items"]] == ["01040013"]
    d = get("/v1/insurers?q=" + TOKYO_KYOKAI).json
    assert [i["number"] for i in d["items"]] == [TOKYO_KYOKAI]
    d = get("/v1/insurers?prefecture=4&scheme=kyokai").json
    assert [i["number"] for i in d["items"]] == ["01040013"]
    d = get("/v1/insurers?q=" + urllib.parse.quote("存在しない保険者")).json
    assert d["items"] == [] and d["next_cursor"] is None
    # Pages.
    d = get("/v1/insurers?scheme=kyokai&limit=20").json
    assert len(d["items"]) == 20 and d["next_cursor"]
    d2 = get("/v1/insurers?scheme=kyokai&limit=20&cursor=" + d["next_cursor"]).json
    assert d2["items"][0]["number"] > d["items"][-1]["number"]
    for q in ("prefecture=48", "prefecture=x", "scheme=nope", "limit=0", "q="):
        assert_problem(get("/v1/insurers?" + q), 422)


def test_evaluate_names_the_registry_insurer():
    r = server().evaluate({"person": {"insurer_number": TOKYO_KYOKAI, "mynumber_card": "none"}})
    assert r.status == 200, r
    assert r.json["insurer"]["name"] == TOKYO_KYOKAI_JA
    r = server().evaluate({"person": {"insurer_number": "138057"}})
    assert r.json["insurer"]["name"] is None
    r = server().evaluate({"person": {"scheme": "kyokai"}})
    assert r.json["insurer"]["name"] is None
