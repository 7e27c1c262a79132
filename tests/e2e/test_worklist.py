"""The worklist a care home can use (issue 11, items 7-9): GET /v1/persons
as a text table in Japanese or English, as CSV (UTF-8 with a BOM, or
Shift_JIS), filtered pages that are never empty while they carry a cursor
below the scan bound, and batch results for stored persons.

The module's server has a temporary database of its own; each test uses
facility ids of its own so that tests do not see each other's rows."""

import csv
import io
import json
import unicodedata

from harness import (server, assert_problem, today_tokyo, days_ago, days_ahead, put_person, fresh,
                     NEEDS_APPLICATION, SETTLED, UNDETERMINED, NO_CARD)

PERSONS = "/v1/persons"
BATCH = "/v1/eligibility:batch"
NDJSON = "application/x-ndjson"
BOM = b"\xef\xbb\xbf"

# An application is required and there is no date: 「至急」/"now".
APPLY_NOW = NEEDS_APPLICATION

JA_HEADERS = ["氏名", "ID", "資格確認書", "すること", "期限", "再確認", "不足情報"]
EN_HEADERS = ["name", "id", "certificate", "to do", "by", "recheck", "missing"]
CODE_HEADERS = ["facility_id", "entitlement", "application_required", "apply_by", "stale",
                "missing_facts", "next_action", "actions"]
# What changes next, the CSV's last two columns (words, then the date).
JA_NEXT = ["次の変更", "next_change_date"]
EN_NEXT = ["next change", "next_change_date"]


def put(pid, body):
    return put_person(pid, body)


def get(path, headers=None):
    return server().get(path, headers=headers)


def get_direct(path):
    """GET past the Prism proxy of --via-prism, which would re-encode a body
    that is not UTF-8 (Shift_JIS) as UTF-8 text."""
    r = server().raw_response(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Connection: close\r\n\r\n" % path).encode("ascii"))
    assert r is not None, path
    return r


def width(s):
    """Terminal columns: East Asian Wide and Fullwidth count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def col_of(line, text):
    """The display column where text starts in line."""
    i = line.index(text)
    return width(line[:i])


def at_col(line, col):
    """What line holds from display column col on."""
    w = 0
    for i, ch in enumerate(line):
        if w >= col:
            return line[i:]
        w += width(ch)
    return ""


def import_ndjson(rows):
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    r = server().request("POST", PERSONS + ":import", body=body,
                         headers={"Content-Type": NDJSON}, timeout=120)
    assert r.status == 200, r
    return r


# --------------------------------------------------------------------------
# A small care home, written once for the text and CSV tests.

CARE = "wlx-home"
RESIDENTS = {
    # id: (name, facts, extra)
    "wlx-01": ("山田 花子", APPLY_NOW, {}),
    "wlx-02": ("吉田 真由美", UNDETERMINED, {}),
    "wlx-03": ("Smith, \"Jo\"", SETTLED, {"verified_at": None}),  # stale
    "wlx-04": ("ﾀﾅｶ ﾊﾅｺ", dict(APPLY_NOW, legacy_card_expiry=days_ahead(60)), {}),
    "wlx-05": ("佐藤 一郎", NO_CARD, {}),
}


def care_home():
    for pid, (name, facts, extra) in RESIDENTS.items():
        body = fresh(facts, facility_id=CARE, display_name=name)
        body.update(extra)
        body = {k: v for k, v in body.items() if v is not None}
        put(pid, body)


def header_and_rows(text, headers):
    lines = text.splitlines()
    hi = [i for i, line in enumerate(lines) if all(h in line for h in headers)]
    assert hi, "no header row naming %r: %r" % (headers, lines)
    return lines[hi[0]], lines[hi[0] + 1:], lines


def row_with(rows, pid):
    found = [line for line in rows if " %s " % pid in line or line.endswith(" " + pid)]
    assert len(found) == 1, (pid, rows)
    return found[0]


def check_aligned(header, row, headers, cells):
    """Each expected cell starts in the display column of its header
    (looked for after the cell before it)."""
    at = 0
    for h, cell in zip(headers, cells):
        if cell is None:
            continue
        i = row.index(cell, at)
        assert width(row[:i]) == col_of(header, h), \
            "%r starts at column %d, its header %r at %d:\n%s\n%s" % (
                cell, width(row[:i]), h, col_of(header, h), header, row)
        at = i + len(cell)


def test_text_worklist_in_japanese_has_names_words_and_aligns_by_width():
    care_home()
    r = get(PERSONS + "?facility_id=%s&format=text" % CARE)
    assert r.status == 200 and r.content_type == "text/plain", r
    text = r.body.decode("utf-8")
    header, rows, lines = header_and_rows(text, JA_HEADERS)
    assert today_tokyo() in lines[0] and CARE in lines[0], lines[0]
    for line in lines:
        assert width(line) <= 80, "%d columns: %r" % (width(line), line)
    # No English codes under lang=ja.
    for code in ("on_application", "ex_officio", "undetermined", "not_entitled", "apply_now",
                 "stale", "birth_date", "insurance_registration"):
        assert code not in text, (code, text)
    expect = {
        "wlx-01": ["山田 花子", "wlx-01", "申請で交付", "申請する", "至急", None, None],
        "wlx-02": ["吉田 真由美", "wlx-02", "判定不可", "利用登録を確認", "-", None, "カードの有無"],
        "wlx-03": ['Smith, "Jo"', "wlx-03", "対象外", "利用登録を再確認", "-", "要", None],
        "wlx-04": ["ﾀﾅｶ ﾊﾅｺ", "wlx-04", "申請で交付", "申請する", days_ahead(60), None, None],
        "wlx-05": ["佐藤 一郎", "wlx-05", "職権交付", "なし", "-", None, None],
    }
    for pid, cells in expect.items():
        row = row_with(rows, pid)
        assert row.startswith(cells[0]), (cells[0], row)
        check_aligned(header, row, JA_HEADERS, cells)
    # The second missing fact: on the row, or wrapped under the first.
    row = row_with(rows, "wlx-02")
    if "利用登録" not in row.split("カードの有無", 1)[1]:
        cont = rows[rows.index(row) + 1]
        assert cont.strip() == "利用登録", (row, cont)
        assert col_of(cont, "利用登録") == col_of(header, "不足情報"), (header, cont)
    # Only the stale row says 要 under 再確認.
    stale = [pid for pid in expect
             if at_col(row_with(rows, pid), col_of(header, "再確認")).startswith("要")]
    assert stale == ["wlx-03"], rows


def test_text_worklist_in_english():
    care_home()
    for how in ({"q": "&lang=en", "h": None},
                {"q": "", "h": {"Accept-Language": "en-GB, ja;q=0.5", "Accept": "text/plain"}}):
        q = PERSONS + "?facility_id=%s%s" % (CARE, how["q"])
        if how["h"] is None:
            q += "&format=text"
        r = get(q, headers=how["h"])
        assert r.status == 200 and r.content_type == "text/plain", r
        text = r.body.decode("utf-8")
        header, rows, lines = header_and_rows(text, EN_HEADERS)
        assert "worklist" in lines[0] and today_tokyo() in lines[0], lines[0]
        for line in lines:
            assert width(line) <= 80, "%d columns: %r" % (width(line), line)
        check_aligned(header, row_with(rows, "wlx-01"), EN_HEADERS,
                      ["山田 花子", "wlx-01", "on application", "apply", "now", None, None])
        check_aligned(header, row_with(rows, "wlx-02"), EN_HEADERS,
                      ["吉田 真由美", "wlx-02", "undetermined", "check card", "-", None, "card"])
        check_aligned(header, row_with(rows, "wlx-03"), EN_HEADERS,
                      ['Smith, "Jo"', "wlx-03", "not entitled", "recheck card", "-", "yes",
                       None])
        check_aligned(header, row_with(rows, "wlx-05"), EN_HEADERS,
                      ["佐藤 一郎", "wlx-05", "ex officio", "none", "-", None, None])
        assert "申請" not in text and "至急" not in text, text


def test_text_worklist_cuts_long_names_between_characters():
    f = "wlx-long"
    names = {"wll-1": "寿限無寿限無五劫の擦り切れ海砂利水魚の水行末",   # 22 wide characters
             "wll-2": "𠮷" * 15,                                    # 4-byte UTF-8, wide
             "wll-3": "a" * 19 + "漢字"}                             # the cut inside a wide one
    for pid, name in names.items():
        put(pid, fresh(SETTLED, facility_id=f, display_name=name))
    r = get(PERSONS + "?facility_id=%s&format=text" % f)
    assert r.status == 200, r
    text = r.body.decode("utf-8")            # strict: no cut UTF-8 sequence
    header, rows, _ = header_and_rows(text, JA_HEADERS)
    for pid, name in names.items():
        row = row_with(rows, pid)
        shown = row[:row.index(" " + pid)].rstrip(" ")
        assert shown.endswith("…") and name.startswith(shown[:-1]), (shown, name)
        assert width(shown) <= 20, (shown, width(shown))
        check_aligned(header, row, JA_HEADERS, [shown, pid])


# --------------------------------------------------------------------------
# CSV

def csv_rows(text):
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_utf8_with_bom_and_crlf():
    care_home()
    r = get(PERSONS + "?facility_id=%s&format=csv" % CARE)
    assert r.status == 200, r
    assert r.headers.get("Content-Type").replace(" ", "").lower() == "text/csv;charset=utf-8", \
        r.headers
    assert r.body.startswith(BOM), r.body[:10]
    assert r.body.endswith(b"\r\n") and b"\n" not in r.body.replace(b"\r\n", b""), r.body
    rows = csv_rows(r.body.decode("utf-8-sig"))
    assert rows[0] == JA_HEADERS + CODE_HEADERS + JA_NEXT, rows[0]
    by_id = {row[1]: row for row in rows[1:]}
    assert sorted(by_id) == sorted(RESIDENTS), by_id
    assert all(len(row) == len(rows[0]) for row in rows), rows
    assert by_id["wlx-01"][:7] == ["山田 花子", "wlx-01", "申請で交付", "申請する", "至急", "", ""]
    assert by_id["wlx-01"][7:13] == [CARE, "on_application", "true", "", "false", ""]
    assert by_id["wlx-01"][13] == "apply" and "apply_now" in by_id["wlx-01"][14].split(";")
    assert by_id["wlx-02"][6] == "カードの有無、利用登録", by_id["wlx-02"]
    assert by_id["wlx-02"][12] == "mynumber_card;insurance_registration"
    assert by_id["wlx-03"][0] == 'Smith, "Jo"' and by_id["wlx-03"][5] == "要"
    assert by_id["wlx-03"][11] == "true"
    assert by_id["wlx-04"][4] == days_ahead(60) and by_id["wlx-04"][10] == days_ahead(60)
    # English words, same columns; Accept: text/csv asks for it too.
    r = get(PERSONS + "?facility_id=%s&lang=en" % CARE, headers={"Accept": "text/csv"})
    assert r.status == 200 and r.content_type == "text/csv", r
    rows = csv_rows(r.body.decode("utf-8-sig"))
    assert rows[0] == EN_HEADERS + CODE_HEADERS + EN_NEXT, rows[0]
    by_id = {row[1]: row for row in rows[1:]}
    assert by_id["wlx-01"][2:5] == ["on application", "apply", "now"], by_id["wlx-01"]
    assert by_id["wlx-02"][6] == "card, registration", by_id["wlx-02"]


def test_csv_shift_jis_for_older_excel():
    f = "wlx-sjis"
    put("wls-1", fresh(APPLY_NOW, facility_id=f, display_name="髙橋 𠮷子"))
    put("wls-2", fresh(SETTLED, facility_id=f, display_name="渡辺 光子"))
    utf8 = get(PERSONS + "?facility_id=%s&format=csv" % f)
    q = PERSONS + "?facility_id=%s&format=csv&charset=shift_jis" % f
    # Through the proxy (if any) for the contract, past it for the bytes.
    assert get(q).status == 200
    r = get_direct(q)
    assert r.status == 200, r
    assert r.headers.get("Content-Type").replace(" ", "").lower() == "text/csv;charset=shift_jis", \
        r.headers
    assert not r.body.startswith(BOM) and not r.body.startswith(b"\xef"), r.body[:10]
    rows = csv_rows(r.body.decode("cp932"))   # strict
    assert rows[0] == JA_HEADERS + CODE_HEADERS + JA_NEXT, rows[0]
    by_id = {row[1]: row for row in rows[1:]}
    # 髙 is in CP932 (an IBM extension); 𠮷 is not and becomes 〓.
    assert by_id["wls-1"][0] == "髙橋 〓子", by_id["wls-1"]
    assert by_id["wls-2"][0] == "渡辺 光子"
    assert by_id["wls-1"][2:5] == ["申請で交付", "申請する", "至急"]
    # Apart from that character, the very same table.
    expect = csv_rows(utf8.body.decode("utf-8-sig").replace("𠮷", "〓"))
    assert rows == expect, (rows, expect)


def test_csv_cells_a_spreadsheet_would_run_stay_text():
    f = "wlx-inj"
    names = {"wli-1": "=HYPERLINK(\"http://x.example\",\"click\")", "wli-2": "+81 3 1234",
             "wli-3": "-2+3", "wli-4": "@SUM(A1)", "wli-5": "山田 =1"}
    for pid, name in names.items():
        put(pid, fresh(SETTLED, facility_id=f, display_name=name))
    put("-wli-6", fresh(SETTLED, facility_id=f, display_name="ok"))
    r = get(PERSONS + "?facility_id=%s&format=csv" % f)
    assert r.status == 200, r
    rows = csv_rows(r.body.decode("utf-8-sig"))[1:]
    by_name = {row[0]: row for row in rows}
    for pid, name in names.items():
        want = name if name[0] not in "=+-@" else "'" + name
        assert want in by_name, (want, rows)
    assert by_name["ok"][1] == "'-wli-6", by_name["ok"]
    for row in rows:
        for cell in row:
            assert not cell or cell[0] not in "=+-@", (cell, row)


def test_format_and_charset_parameters():
    for q, field in (("format=xml", "?format"), ("format=csv&charset=latin1", "?charset"),
                     ("charset=shift_jis", "?charset"), ("format=text&charset=utf-8", "?charset")):
        r = get(PERSONS + "?" + q)
        assert_problem(r, 422, None, None)
        assert field in [e["field"] for e in r.json["errors"]], (q, r.json)
    # format=csv is the worklist's only: the stored decision takes none.
    r = get(PERSONS + "/nobody-here/eligibility?format=csv")
    assert_problem(r, 422, None, None)
    assert "?format" in [e["field"] for e in r.json["errors"]], r.json
    r = get(PERSONS + "?facility_id=wlx-empty&format=csv&charset=UTF-8")
    assert r.status == 200 and r.body.startswith(BOM), r
    assert csv_rows(r.body.decode("utf-8-sig")) == [JA_HEADERS + CODE_HEADERS + JA_NEXT]


# --------------------------------------------------------------------------
# Filtered pages (item 8)

SCAN_BOUND = 10000   # rows one page reads at most, for limit <= 1000


def test_filtered_pages_are_full_until_the_scan_bound():
    f = "wlp-a"
    settled = [{"person_id": "wlp-a-%05d" % i, "facility_id": f,
                "verified_at": today_tokyo(), **SETTLED} for i in range(6000)]
    wanted = ["wlp-a-z%d" % i for i in range(5)]
    rows = settled + [{"person_id": pid, "facility_id": f, "verified_at": today_tokyo(),
                       **APPLY_NOW} for pid in wanted]
    import_ndjson(rows)
    q = PERSONS + "?facility_id=%s&needs_action=true" % f
    doc = get(q + "&limit=10").json
    assert [i["person_id"] for i in doc["items"]] == wanted and doc["next_cursor"] is None, doc
    # Small pages: every page that has a cursor is full.
    seen, cursor = [], None
    for _ in range(10):
        doc = get(q + "&limit=2" + ("&cursor=" + cursor if cursor else "")).json
        seen += [i["person_id"] for i in doc["items"]]
        cursor = doc["next_cursor"]
        if cursor is None:
            break
        assert len(doc["items"]) == 2, doc
    assert seen == wanted, seen
    # The text table and the CSV read as far.
    r = get(q + "&limit=10&format=text")
    assert all(pid in r.text for pid in wanted) and "cursor=" not in r.text, r.text
    r = get(q + "&limit=10&format=csv")
    assert [row[1] for row in csv_rows(r.body.decode("utf-8-sig"))[1:]] == wanted
    assert "X-Next-Cursor" not in r.headers, r.headers


def test_a_page_stops_at_the_scan_bound_with_a_cursor():
    f = "wlp-b"
    n = SCAN_BOUND + 50
    settled = [{"person_id": "wlp-b-%05d" % i, "facility_id": f,
                "verified_at": today_tokyo(), **SETTLED} for i in range(n)]
    wanted = ["wlp-b-z1", "wlp-b-z2"]
    import_ndjson(settled + [{"person_id": pid, "facility_id": f, "verified_at": today_tokyo(),
                              **APPLY_NOW} for pid in wanted])
    q = PERSONS + "?facility_id=%s&needs_action=true&limit=10" % f
    doc = get(q).json
    # Only the bound makes a page empty with a cursor: it names the last
    # row read.
    assert doc["items"] == [] and doc["next_cursor"] == "kwlp-b-%05d" % (SCAN_BOUND - 1), doc
    nxt = get(q + "&cursor=" + doc["next_cursor"]).json
    assert [i["person_id"] for i in nxt["items"]] == wanted and nxt["next_cursor"] is None, nxt
    r = get(q + "&format=text")
    lines = r.text.splitlines()
    assert lines[-1].endswith("cursor=kwlp-b-%05d" % (SCAN_BOUND - 1)), lines
    assert str(SCAN_BOUND) in lines[-2], lines
    r = get(q + "&format=csv")
    assert r.headers.get("X-Next-Cursor") == "kwlp-b-%05d" % (SCAN_BOUND - 1), r.headers
    assert len(csv_rows(r.body.decode("utf-8-sig"))) == 1


# --------------------------------------------------------------------------
# Batch results for stored persons (item 9)

def test_batch_person_id_items_carry_person_id_data_as_of_and_stale():
    put("wlb-fresh", fresh(APPLY_NOW, facility_id="wlb"))
    put("wlb-old", dict(SETTLED, facility_id="wlb", verified_at=days_ago(45)))
    put("wlb-never", dict(SETTLED, facility_id="wlb"))
    r = server().post(BATCH, {"items": [{"person_id": "wlb-fresh"}, {"person": SETTLED},
                                        {"person_id": "wlb-old"}, {"person_id": "wlb-never"},
                                        {"person_id": "wlb-absent"}]})
    assert r.status == 200, r
    res = r.json["results"]
    want = [("wlb-fresh", today_tokyo(), False), None, ("wlb-old", days_ago(45), True),
            ("wlb-never", None, True), None]
    for got, w in zip(res, want):
        if w is None:
            assert not {"person_id", "data_as_of", "stale"} & set(got), got
            continue
        assert (got["person_id"], got["data_as_of"], got["stale"]) == w, got
        one = get(PERSONS + "/%s/eligibility" % w[0]).json
        assert {k: one[k] for k in ("person_id", "data_as_of", "stale")} == \
            {k: got[k] for k in ("person_id", "data_as_of", "stale")}
        assert got["certificate"] == one["certificate"]
    assert res[4]["error"]["status"] == 404
