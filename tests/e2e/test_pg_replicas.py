"""Replicas (SPEC §7): two shikakud processes, A and B, on one PostgreSQL
database and nothing else shared.

- read-your-writes: a write answered by one replica is seen by the other's
  next read (1,000 times, both ways, erasures included);
- two If-Match PUTs with the same tag, one on A and one on B at the same
  moment: exactly one wins (2xx), the other gets 412 with the winner's ETag,
  and the stored record is the winner's (100 races);
- a key revoked (`shikakud key revoke --db URI`) or a session ended on A is
  refused by B on its next request;
- an insurer renamed on A reaches B's registry cache (the decisions'
  insurer.name) within 1 s (LISTEN/NOTIFY; the cache's own TTL is 30 s);
- GET /v1/audit on either replica lists the rows of both;
- two replicas (and `shikakud migrate`s) starting at once on an empty
  database migrate it once (the advisory lock) and all come up.

The module starts a throwaway PostgreSQL of its own (pgcluster.py) and is
skipped only when PostgreSQL's server binaries are not installed.
"""

import json
import subprocess
import threading
import time
import urllib.parse

import pytest

import harness
from harness import assert_problem, make_key, run_cli, slow
from pgops import Client, new_cluster, server_on, skip_without_postgresql

pytestmark = skip_without_postgresql()

PERSON = {"facility_id": "f-replica", "birth_date": "1948-06-01", "insurer_number": "138057",
          "mynumber_card": "held", "insurance_registration": "registered",
          "care_needs": ["elderly"], "setting": "care_facility",
          "verified_at": "2026-11-01", "source": "card_reader"}
INSURER = "131151"   # 杉並区 国民健康保険: not in the shipped registry


@pytest.fixture(scope="module")
def cluster():
    c = new_cluster()
    yield c
    c.destroy()


@pytest.fixture(scope="module")
def pair(cluster):
    """Two replicas without keys on one database."""
    uri = cluster.new_database()
    a = server_on(uri)
    b = server_on(uri)
    yield a, b
    for s in (a, b):
        s.stop()


@pytest.fixture(scope="module")
def keyed(cluster):
    """Two replicas with keys on one database: (a, b, uri, admin key)."""
    uri = cluster.new_database()
    admin = make_key(uri, "admin")
    a = server_on(uri, no_auth=False)
    b = server_on(uri, no_auth=False)
    yield a, b, uri, admin
    for s in (a, b):
        s.stop()


def bearer(key):
    return {"Authorization": "Bearer " + key}


def key_id(key):
    return key.split("_")[1]


# ---- read-your-writes ----------------------------------------------------------

def test_a_write_on_one_replica_is_read_on_the_other_1000_times(pair):
    a, b = pair
    clients = {a: Client(a), b: Client(b)}
    stale = []
    for i in range(1000):
        w, r = (a, b) if i % 2 == 0 else (b, a)
        pid = "ryw-%02d" % (i % 40)
        if i % 100 == 99:
            # an erasure is a write too: the other replica's next read is 404
            d = clients[w].request("DELETE", "/v1/persons/" + pid)
            assert d.status == 204, (i, d)
            g = clients[r].get("/v1/persons/" + pid)
            if g.status != 404:
                stale.append((i, "erased", g.status))
            continue
        body = dict(PERSON, display_name="版 %d" % i,
                    mynumber_card=("held", "none", "lost")[i % 3])
        p = clients[w].put("/v1/persons/" + pid, body)
        assert p.status in (200, 201), (i, p)
        tag = p.headers["ETag"]
        g = clients[r].get("/v1/persons/" + pid)
        if g.status != 200 or g.headers.get("ETag") != tag or \
                g.json.get("display_name") != body["display_name"]:
            stale.append((i, tag, g.status, g.headers.get("ETag"), (g.json or {}).get("display_name")))
            continue
        if i % 10 == 0:
            # the stored decision too, and a conditional GET with the new tag
            e = clients[r].get("/v1/persons/%s/eligibility" % pid)
            assert e.status == 200 and e.json["data_as_of"] == "2026-11-01", (i, e)
            nm = clients[r].get("/v1/persons/" + pid, headers={"If-None-Match": tag})
            if nm.status != 304:
                stale.append((i, "If-None-Match", nm.status))
    assert not stale, "%d stale reads, first: %r" % (len(stale), stale[:5])


# ---- racing conditional writes --------------------------------------------------

def test_if_match_races_on_two_replicas_have_exactly_one_winner(pair):
    a, b = pair
    setup = Client(a)
    sides = [Client(a), Client(b)]
    bad = []
    for i in range(100):
        pid = "race-%03d" % i
        first = setup.put("/v1/persons/" + pid, dict(PERSON, display_name="初め"))
        assert first.status in (200, 201), first
        tag = first.headers["ETag"]
        for c in sides:
            c.connect()   # both connections open before the start line
        start = threading.Barrier(2)
        out = [None, None]

        def put(k):
            start.wait()
            out[k] = sides[k].put("/v1/persons/" + pid,
                                  dict(PERSON, display_name="side %d" % k,
                                       mynumber_card=("none", "lost")[k]),
                                  headers={"If-Match": tag})

        ts = [threading.Thread(target=put, args=(k,)) for k in (0, 1)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(slow(20))
        statuses = sorted(r.status for r in out)
        wins = [k for k in (0, 1) if 200 <= out[k].status < 300]
        if len(wins) != 1 or statuses[1] != 412:
            bad.append((i, statuses, [r.body[:120] for r in out]))
            continue
        win, lose = out[wins[0]], out[1 - wins[0]]
        assert_problem(lose, 412, "precondition_failed")
        stored_a = setup.get("/v1/persons/" + pid)
        stored_b = Client(b).get("/v1/persons/" + pid)
        for stored in (stored_a, stored_b):
            if stored.json["display_name"] != "side %d" % wins[0] or \
                    stored.headers["ETag"] != win.headers["ETag"]:
                bad.append((i, "stored is not the winner's", stored.json["display_name"]))
        if lose.headers.get("ETag") != win.headers["ETag"]:
            bad.append((i, "the 412 names %r, the winner stored %r"
                        % (lose.headers.get("ETag"), win.headers["ETag"])))
    assert not bad, "%d of 100 races went wrong, first: %r" % (len(bad), bad[:5])


# ---- revocation ---------------------------------------------------------------

def test_a_revoked_key_is_refused_by_the_other_replica_at_once(keyed):
    a, b, uri, _ = keyed
    reader = make_key(uri, "reader")
    for s in (a, b):   # both know (and may have cached) the key
        assert s.get("/v1/persons", headers=bearer(reader)).status == 200
    p = run_cli(["key", "revoke", "--db", uri, key_id(reader)])
    assert p.returncode == 0, p.stderr
    assert_problem(b.get("/v1/persons", headers=bearer(reader)), 401)
    assert_problem(a.get("/v1/persons", headers=bearer(reader)), 401)


def sign_in(s, key):
    r = s.request("POST", "/v1/sessions", headers=bearer(key))
    assert r.status == 201, r
    return r.headers["Set-Cookie"].split(";")[0], r.json["csrf_token"]


def test_a_session_ended_or_revoked_on_one_replica_is_refused_by_the_other(keyed):
    a, b, uri, _ = keyed
    key = make_key(uri, "reader")
    cookie, csrf = sign_in(a, key)
    # a session opened on A serves on B: sessions live in the database
    assert b.get("/v1/sessions/current", headers={"Cookie": cookie}).status == 200
    assert b.get("/v1/persons", headers={"Cookie": cookie}).status == 200
    r = a.request("DELETE", "/v1/sessions/current",
                  headers={"Cookie": cookie, "X-CSRF-Token": csrf})
    assert r.status == 204, r
    assert_problem(b.get("/v1/persons", headers={"Cookie": cookie}), 401)
    # a key revoked ends its sessions everywhere
    cookie2, _ = sign_in(b, key)
    assert a.get("/v1/persons", headers={"Cookie": cookie2}).status == 200
    assert run_cli(["key", "revoke", "--db", uri, key_id(key)]).returncode == 0
    assert_problem(a.get("/v1/persons", headers={"Cookie": cookie2}), 401)
    assert_problem(b.get("/v1/persons", headers={"Cookie": cookie2}), 401)


# ---- the registry cache ------------------------------------------------------------

def test_an_insurer_renamed_on_one_replica_reaches_the_other_within_1_s(pair):
    a, b = pair
    evaluate = {"person": {"birth_date": "1948-06-01", "insurer_number": INSURER,
                           "mynumber_card": "held", "insurance_registration": "registered"}}
    ca, cb = Client(a), Client(b)
    lags = []
    for k in range(5):
        name = "杉並区 国民健康保険 第%d版" % k
        r = ca.put("/v1/insurers/" + INSURER, {"name_ja": name, "phone": "03-3312-2111"})
        assert r.status in (200, 201), r
        answered = time.monotonic()
        seen = {}

        def both_show_it():
            d = cb.request("POST", "/v1/eligibility:evaluate", evaluate)
            assert d.status == 200, d
            g = cb.get("/v1/insurers/" + INSURER)
            assert g.status == 200, g
            seen["decision"] = d.json["insurer"].get("name")
            seen["registry"] = g.json.get("name")
            return seen["decision"] == name and seen["registry"] == name

        harness.wait_for(both_show_it, slow(1.0),
                         lambda: "B to show %r (it shows %r)" % (name, seen), interval=0.02)
        lags.append(time.monotonic() - answered)
        # B's cache now holds this name: the next rename must invalidate it
    # the search sees the last name too
    s = cb.get("/v1/insurers?q=" + urllib.parse.quote("第4版"))
    assert s.status == 200 and [i["number"] for i in s.json["items"]] == [INSURER], s
    assert max(lags) <= slow(1.0), lags


# ---- audit ----------------------------------------------------------------------

def test_the_audit_log_on_either_replica_lists_both_replicas_rows(keyed):
    a, b, uri, admin = keyed
    writer = make_key(uri, "writer")
    ids = {}
    for k in range(6):
        s = (a, b)[k % 2]
        pid = "aud-%d" % k
        r = s.request("PUT", "/v1/persons/" + pid, json_body=dict(PERSON),
                      headers=bearer(writer))
        assert r.status == 201, r
        g = s.get("/v1/persons/%s/eligibility" % pid, headers=bearer(writer))
        assert g.status == 200, g
        ids[r.headers["X-Request-Id"]] = ("PUT", pid)
        ids[g.headers["X-Request-Id"]] = ("GET", pid)

    def rows(s):
        out, cursor = [], None
        while True:
            q = "/v1/audit?key_id=%s&limit=100" % key_id(writer)
            r = s.get(q + ("&cursor=" + cursor if cursor else ""), headers=bearer(admin))
            assert r.status == 200, r
            out += r.json["items"]
            cursor = r.json["next_cursor"]
            if not cursor:
                return out

    for s in (a, b):
        got = {}

        def all_there():
            got["rows"] = rows(s)
            return set(ids) <= {row["request_id"] for row in got["rows"]}

        # the other replica's writer commits its batch within 0.25 s
        harness.wait_for(all_there, slow(5), lambda: "both replicas' rows on one: %r"
                         % sorted(set(ids) - {row["request_id"] for row in got["rows"]}))
        seqs = [row["seq"] for row in got["rows"]]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
        for row in got["rows"]:
            if row["request_id"] in ids:
                method, pid = ids[row["request_id"]]
                assert row["method"] == method, row
                assert row["person_ids"] == [pid] or row["absent_ids"] == 1, row


# ---- migrations: replicas starting at once ------------------------------------------

def test_replicas_and_migrates_starting_at_once_migrate_once(cluster):
    uri = cluster.new_database()
    servers = [server_on(uri, start=False) for _ in range(3)]
    try:
        for s in servers:
            s.start(wait=False)
        procs = [subprocess.Popen(
            [harness.binary(), "migrate", "--db", uri], env=harness.clean_env(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
        outs = [p.communicate(timeout=slow(30)) for p in procs]
        for p, (out, err) in zip(procs, outs):
            assert p.returncode == 0, err.decode("utf-8", "replace")
        for s in servers:
            s.wait_listening()
        pid = "mig-1"
        r = servers[0].request("PUT", "/v1/persons/" + pid, json_body=dict(PERSON))
        assert r.status == 201, r
        for s in servers:
            g = s.get("/v1/persons/" + pid)
            assert g.status == 200 and g.headers["ETag"] == r.headers["ETag"], g
            assert s.get("/readyz").status == 200
        # the seed data went in once: the 47 協会けんぽ branches, not 47 × 6
        k = servers[1].get("/v1/insurers?scheme=kyokai&limit=100")
        assert k.status == 200 and len(k.json["items"]) == 47, \
            (k.status, len((k.json or {}).get("items") or []))
        logs = "\n".join(s.stderr_text() for s in servers)
        for line in logs.splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            assert ev.get("level") != "error", line
    finally:
        for s in servers:
            s.stop()
