"""The worklist's memo of today's decisions (issue 17, api/row_memo.h).

A page of GET /v1/persons reuses each row decided before for the same
person (its ETag), the same day decided for (as_of), the same today and the
same rules; it must never show an old decision:

- the same page twice is the same bytes, the second from the memo;
- the filters read the memo's rows as they read fresh ones;
- a person changed between two pages -- by this process or by another one
  on the same database -- shows its new decision on the next page.

Each test has a database of its own (SQLite file or PostgreSQL database)
and two servers on it: `a` pages, `b` is the other process."""

import contextlib
import datetime
import shutil
import tempfile

import harness
from harness import Server, today_tokyo

PERSONS = "/v1/persons"

# not_entitled, nothing to do (usable card, no care needs)
SETTLED = {"birth_date": "1960-04-01", "insurer_number": "138057",
           "mynumber_card": "held", "insurance_registration": "registered"}
# ex officio: no card
NO_CARD = {"birth_date": "1960-04-01", "insurer_number": "138057", "mynumber_card": "none"}
# an application is required
APPLY_NOW = {"birth_date": "1960-04-01", "insurer_number": "138057",
             "mynumber_card": "held", "insurance_registration": "registered",
             "care_needs": ["dementia"], "setting": "care_facility"}
# undetermined: card and registration unknown
UNDETERMINED = {"birth_date": "1960-04-01", "insurer_number": "138057"}
KINDS = [SETTLED, NO_CARD, APPLY_NOW, UNDETERMINED]


@contextlib.contextmanager
def two_servers():
    d = tempfile.mkdtemp(prefix="shikaku-wlcache-")
    db = harness.new_db(d)
    try:
        with Server(db=db) as a, Server(db=db) as b:
            yield a, b
    finally:
        shutil.rmtree(d, ignore_errors=True)


def put(s, pid, facts, **extra):
    body = dict(facts)
    body.update(extra)
    r = s.request("PUT", PERSONS + "/" + pid, json_body=body)
    assert r.status in (200, 201), r
    return r


def page(s, query=""):
    r = s.get(PERSONS + "?limit=100" + query)
    assert r.status == 200, r
    return r


def memo(s, result):
    return s.metric("shikaku_worklist_memo_lookups_total", result=result) or 0


def fill(s, n=60):
    """n persons of every kind, some verified long ago (stale)."""
    old = (datetime.date.fromisoformat(today_tokyo()) - datetime.timedelta(days=400)).isoformat()
    for i in range(n):
        put(s, "w%03d" % i, KINDS[i % len(KINDS)], facility_id="fac-w",
            display_name="人 %d" % i, verified_at=old if i % 3 == 0 else today_tokyo())


def row(r, pid):
    return next(x for x in r.json["items"] if x["person_id"] == pid)


def test_the_same_page_twice_is_the_same_bytes_the_second_from_the_memo():
    with two_servers() as (a, b):
        fill(b)
        first = page(a)
        hits = memo(a, "hit")
        second = page(a)
        assert second.body == first.body
        assert len(first.json["items"]) == 60
        # every row of the second page came from the memo
        assert memo(a, "hit") - hits == 60, (hits, memo(a, "hit"))
        # and a process that decided every row afresh answers the same
        assert page(b).body == first.body


def test_the_filters_read_the_memos_rows_as_fresh_ones():
    with two_servers() as (a, b):
        fill(b)
        everyone = page(a).json["items"]
        soon = (datetime.date.fromisoformat(today_tokyo()) + datetime.timedelta(days=400)).isoformat()
        cases = [
            ("&needs_action=true", lambda x: x["application_required"] or x["stale"]
             or x["entitlement"] == "undetermined"),
            ("&entitlement=ex_officio", lambda x: x["entitlement"] == "ex_officio"),
            ("&entitlement=undetermined", lambda x: x["entitlement"] == "undetermined"),
            ("&due_before=" + soon, lambda x: x["apply_by"] is not None and x["apply_by"] < soon),
            ("&changes_before=" + soon, lambda x: x["next_change_date"] is not None
             and x["next_change_date"] <= soon),
        ]
        for query, keep in cases:
            hits = memo(a, "hit")
            got = page(a, query).json["items"]
            assert memo(a, "hit") - hits == 60, query  # read from the memo
            assert got == [x for x in everyone if keep(x)], query
            # the same filter in a process deciding afresh (b decided these
            # rows for the same key only when it served an earlier case:
            # its first case is fresh)
            assert page(b, query).json["items"] == got, query


def test_a_person_changed_between_two_pages_shows_its_new_decision():
    with two_servers() as (a, b):
        fill(b)
        before = page(a)
        assert row(before, "w000")["entitlement"] == "not_entitled"
        assert row(before, "w001")["entitlement"] == "ex_officio"
        # another process changes one, this process another
        put(b, "w000", NO_CARD, facility_id="fac-w", display_name="変わった",
            verified_at=today_tokyo())
        put(a, "w001", SETTLED, facility_id="fac-w", display_name="人 1",
            verified_at=today_tokyo())
        after = page(a)
        assert row(after, "w000")["entitlement"] == "ex_officio"
        assert row(after, "w000")["display_name"] == "変わった"
        assert row(after, "w001")["entitlement"] == "not_entitled"
        # the rest as before, from the memo
        same = [x for x in after.json["items"] if x["person_id"] not in ("w000", "w001")]
        assert same == [x for x in before.json["items"]
                        if x["person_id"] not in ("w000", "w001")]
        # a stale row made fresh: stale follows the stored verified_at
        assert row(before, "w003")["stale"] is True
        put(b, "w003", KINDS[3], facility_id="fac-w", display_name="人 3",
            verified_at=today_tokyo())
        assert row(page(a), "w003")["stale"] is False
        # deleted by the other process: gone from the next page
        assert b.request("DELETE", PERSONS + "/w002").status == 204
        assert all(x["person_id"] != "w002" for x in page(a).json["items"])


def test_another_day_decides_afresh():
    """as_of is part of the key: a page for another day is not today's."""
    with two_servers() as (a, b):
        put(b, "young", SETTLED, birth_date="2000-05-01")
        put(b, "older", SETTLED)
        today_items = page(a).json["items"]
        assert [x["person_id"] for x in today_items] == ["older", "young"]
        # before "young" was born: no decision, not on the list
        assert [x["person_id"] for x in page(a, "&as_of=1999-01-01").json["items"]] == ["older"]
        assert page(b, "&as_of=1999-01-01").json["items"] == \
            page(a, "&as_of=1999-01-01").json["items"]
        assert page(a).json["items"] == today_items
