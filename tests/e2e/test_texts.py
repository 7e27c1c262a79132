"""Texts a help desk reads (issue 11, items 1-5): the wording of reasons and
advice in the JSON decision, the text/plain summary and GET /v1/rules, in
both languages, through the real server."""

import json
import unicodedata

from harness import server, codes

PROVISIONAL = {"as_of": "2025-06-01",
               "person": {"birth_date": "1945-05-05", "insurer_number": "39132014",
                          "mynumber_card": "held", "insurance_registration": "registered"}}
LEGACY_DEADLINE = {"as_of": "2026-06-01",
                   "person": {"birth_date": "1950-04-02", "insurer_number": "138057",
                              "mynumber_card": "held", "insurance_registration": "registered",
                              "care_needs": ["pin_difficulty"], "setting": "home",
                              "legacy_card_expiry": "2026-07-31"}}
# The example: an e-certificate that expired on 2026-11-15 works
# until 2027-02-28, the end of the third month after.
ECERT_IN_GRACE = {"as_of": "2026-12-01",
                  "person": {"insurer_number": "138057", "mynumber_card": "held",
                             "insurance_registration": "registered",
                             "ecert_expiry": "2026-11-15"}}
# Both due: the card's grace ends 2027-01-31, the e-certificate's 2027-03-31.
CARD_FIRST = {"as_of": "2026-11-01",
              "person": {"insurer_number": "138057", "mynumber_card": "held",
                         "insurance_registration": "registered",
                         "card_expiry": "2026-10-15", "ecert_expiry": "2026-12-20"}}
AGED_85 = {"as_of": "2026-09-01",
           "person": {"birth_date": "1938-02-11", "insurer_number": "39132014",
                      "mynumber_card": "held", "insurance_registration": "registered"}}


def columns(line):
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line)


def decision(body, lang="ja"):
    r = server().evaluate(body, query="?lang=" + lang)
    assert r.status == 200, "status %d: %r" % (r.status, r.body[:300])
    return r.json


def summary(body, lang="ja"):
    r = server().evaluate(body, query="?format=text&lang=" + lang)
    assert r.status == 200, "status %d: %r" % (r.status, r.body[:300])
    text = r.body.decode("utf-8")
    wide = [l for l in text.splitlines() if columns(l) > 80]
    assert not wide, "lines over 80 columns: %r" % wide
    return text


def entry(d, section, code):
    found = [e for e in d[section] if e.get("code") == code]
    assert found, "%s lacks %s: %r" % (section, code, codes(d[section]))
    return found[0]


def row(text, label):
    """The summary row with this label, continuation lines joined."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  " + label):
            out = [line]
            for more in lines[i + 1:]:
                if not more.startswith(" " * 18):
                    break
                out.append(more.strip())
            return " ".join(out)
    return None


# ---- item 5: a provisional answer's apply_by is no deadline ----------------------

def test_provisional_summary_says_apply_by_is_optional():
    d = decision(PROVISIONAL)
    assert d["certificate"]["entitlement"] == "provisional"
    assert d["certificate"]["apply_by"] == "2026-07-31"
    assert d["certificate"]["application_required"] is False

    ja = summary(PROVISIONAL)
    assert "申請期限" not in ja, "a provisional answer shows a deadline:\n" + ja
    assert "申請が必要" not in ja, ja
    r = row(ja, "申請（任意）")
    assert r, "no optional-application row:\n" + ja
    for want in ("2026-07-31", "暫定運用の終了後も", "受け取り続けたい", "推奨 2026-07-01"):
        assert want in r, "row lacks %r: %r" % (want, r)

    en = summary(PROVISIONAL, "en")
    assert row(en, "Apply by") is None, "a provisional answer shows a deadline:\n" + en
    assert "APPLICATION REQUIRED" not in en, en
    r = row(en, "Optional")
    assert r, "no optional-application row:\n" + en
    for want in ("2026-07-31", "keep receiving a certificate", "after the provisional operation",
                 "recommended by 2026-07-01"):
        assert want in r, "row lacks %r: %r" % (want, r)

    # A required application keeps its deadline.
    ja = summary(LEGACY_DEADLINE)
    assert "2026-07-31" in (row(ja, "申請期限") or ""), ja
    en = summary(LEGACY_DEADLINE, "en")
    assert "2026-07-31" in (row(en, "Apply by") or ""), en
    assert row(en, "Optional") is None, en


# ---- item 5: renewal names the date the grace ends --------------------------------

def test_renew_ecert_names_the_grace_end():
    for lang, what in (("ja", "電子証明書"), ("en", "electronic certificate")):
        d = decision(ECERT_IN_GRACE, lang)
        advice = entry(d, "advice", "renew_ecert")["text"]
        assert "2027-02-28" in advice and what in advice, advice
        assert "renew_by" not in advice, advice
        reason = entry(d, "reasons", "ecert_in_grace")["text"]
        assert "2027-02-28" in reason, reason
        text = summary(ECERT_IN_GRACE, lang)
        assert text.count("2027-02-28") >= 2, text


def test_renew_ecert_picks_the_earlier_and_says_which():
    for lang, what, other in (("ja", "カード本体", "電子証明書の有効期限"),
                              ("en", "card itself", "electronic certificate of")):
        d = decision(CARD_FIRST, lang)
        advice = entry(d, "advice", "renew_ecert")["text"]
        assert "2027-01-31" in advice and "2027-03-31" not in advice, advice
        assert what in advice and other not in advice, advice


# ---- item 2: obtain_card_or_apply fits the status -----------------------------------

def test_obtain_card_or_apply_fits_the_status():
    no_card = {"as_of": "2025-06-01",
               "person": {"birth_date": "1965-04-02", "insurer_number": "138057",
                          "mynumber_card": "none"}}
    lost = {"as_of": "2026-10-01",
            "person": {"birth_date": "1970-03-03", "insurer_number": "138057",
                       "mynumber_card": "lost", "insurance_registration": "registered"}}
    words = {"ja": ("申請しなくても", "申請しなければ", "市区町村"),
             "en": ("without an application", "only on application", "municipal office")}
    for lang, (sent, only, municipality) in words.items():
        t = entry(decision(no_card, lang), "advice", "obtain_card_or_apply")["text"]
        assert sent in t and municipality in t and only not in t, t
        d = decision(lost, lang)
        assert d["certificate"]["entitlement"] == "on_application"
        t = entry(d, "advice", "obtain_card_or_apply")["text"]
        assert only in t and sent not in t, t
        # Nothing in the summary says both.
        text = summary(lost, lang)
        assert sent not in text, text


# ---- item 4: the 85-and-over rule is national policy -------------------------------

def test_late_elderly_age_source_is_national_policy():
    ja = entry(decision(AGED_85), "reasons", "late_elderly_age")
    en = entry(decision(AGED_85, "en"), "reasons", "late_elderly_age")
    for e in (ja, en):
        assert "埼玉" not in json.dumps(e, ensure_ascii=False) and "Saitama" not in e["source"], e
        assert "2026" in e["source"] and "広域連合" in e["source"], e
    assert "国の方針" in ja["source"] and "各都道府県" in ja["source"], ja
    assert "National policy" in en["source"] and "every" in en["source"], en
    assert "国の方針" in ja["text"] and "national policy" in en["text"], (ja, en)

    text = summary(AGED_85)
    assert "埼玉" not in text and "国の方針" in text, text

    for lang in ("ja", "en"):
        r = server().get("/v1/rules?lang=" + lang)
        assert r.status == 200, r
        body = r.body.decode("utf-8")
        assert "埼玉" not in body and "Saitama" not in body, body[:300]
        srcs = [e["source"] for e in r.json["rules"] + r.json["reasons"]
                if e["code"] == "late_elderly_age"]
        assert len(srcs) == 2 and srcs[0] == srcs[1], srcs
        assert srcs[0] == (ja if lang == "ja" else en)["source"], srcs


# ---- items 1 and 3 in the summary ---------------------------------------------------

def test_child_in_childrens_home_summary_says_apply():
    body = {"as_of": "2026-11-30",
            "person": {"birth_date": "2016-04-10", "insurer_number": "138057",
                       "mynumber_card": "held", "insurance_registration": "registered",
                       "setting": "childrens_facility"}}
    ja = summary(body)
    assert ja.startswith("資格確認書: 申請により交付（申請が必要です）"), ja
    assert "児童養護施設" in ja, ja
    en = summary(body, "en")
    assert "APPLICATION REQUIRED" in en.splitlines()[0], en
    assert "children's home" in en, en


def test_pin_advice_when_registration_unknown_summary():
    body = {"as_of": "2026-11-30",
            "person": {"birth_date": "1939-05-05", "insurer_number": "138057",
                       "mynumber_card": "held", "care_needs": ["pin_difficulty"],
                       "setting": "care_facility"}}
    d = decision(body, "en")
    assert d["registration"]["usable"] is None
    face = entry(d, "advice", "face_auth_card")["text"]
    visual = entry(d, "advice", "visual_confirmation")["text"]
    en = summary(body, "en")
    flat = " ".join(en.split())
    for t in (face, visual):
        assert " ".join(t.split()) in flat, "summary lacks %r:\n%s" % (t, en)
