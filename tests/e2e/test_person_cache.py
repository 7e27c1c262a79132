"""The person cache (issue 17; --person-cache-mb, db/person_cache.h).

Lookups of stored persons are answered from a per-process cache, which must
never answer a stale record:

- another process's write (a second shikakud on the same file, or
  `shikakud import`) is seen by the next lookup after it was acknowledged;
- a write of this process is seen at once, and empties nothing else;
- with --person-cache-mb 0 the answers are the same;
- the cache holds at most its budget: the process's resident memory with
  the cache full stays under 64 MiB + the budget.
"""

import http.client
import json
import os
import shutil
import tempfile
import time

import harness
from harness import HOST, Server, run_cli

PERSONS = "/v1/persons"
ROUNDS = 300


class Conn:
    """One keep-alive connection to a server (GET and PUT with JSON)."""

    def __init__(self, server):
        self.c = http.client.HTTPConnection(HOST, server.port, timeout=30)

    def req(self, method, path, body=None):
        hdrs = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        self.c.request(method, path, body=data, headers=hdrs)
        r = self.c.getresponse()
        raw = r.read()
        return r.status, r.getheader("ETag"), json.loads(raw) if raw else None

    def close(self):
        self.c.close()


def record(i):
    return {"display_name": "round %d" % i, "birth_date": "1940-04-01",
            "facility_id": "fac-a", "mynumber_card": "held" if i % 2 else "none",
            "verified_at": "2025-05-%02d" % (1 + i % 28)}


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def cache_on():
    """The flags that turn the cache on: its default on SQLite; on
    PostgreSQL it is off unless asked for (read-your-writes across
    replicas, SPEC §7)."""
    return [] if harness.store() == "sqlite" else ["--person-cache-mb", "192"]


def with_two_servers(cache_args, fn):
    d = tempfile.mkdtemp(prefix="shikaku-pcache-")
    db = harness.new_db(d)
    try:
        with Server(extra_args=cache_args, db=db) as a, \
                Server(extra_args=cache_args, db=db) as b:
            fn(a, b, db)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def rounds_against_another_server(a, b, db):
    ca, cb = Conn(a), Conn(b)
    stale_pg = []
    try:
        # Persons the cache holds while one of them changes elsewhere.
        for n in range(20):
            st, _, _ = cb.req("PUT", PERSONS + "/other-%d" % n, record(n))
            assert st == 201
        for i in range(ROUNDS):
            st, tag, body = cb.req("PUT", PERSONS + "/p1", record(i))
            assert st in (200, 201), (i, st, body)
            st, got, seen = ca.req("GET", PERSONS + "/p1")
            assert st == 200, (i, st)
            if harness.store() == "pg" and got != tag:
                # PostgreSQL tells the other replica by NOTIFY, which
                # arrives after the writer's answer (see README): the new
                # record must follow within the deadline.
                stale_pg.append(i)
                deadline = time.monotonic() + 2
                while got != tag and time.monotonic() < deadline:
                    st, got, seen = ca.req("GET", PERSONS + "/p1")
            assert got == tag and seen["display_name"] == "round %d" % i, \
                "round %d: another process wrote %s, this one answered %s %r" \
                % (i, tag, got, seen)
            # Lookups that fill and hit the cache in between (p1 too).
            for n in (i % 20, i % 20, (i + 7) % 20):
                st, _, other = ca.req("GET", PERSONS + "/other-%d" % n)
                assert st == 200 and other["display_name"] == "round %d" % n
            st, again, seen = ca.req("GET", PERSONS + "/p1")
            assert again == tag and seen["display_name"] == "round %d" % i
            # A write of this process: seen at once by itself.
            if i % 10 == 0:
                st, tag2, _ = ca.req("PUT", PERSONS + "/p2", record(i))
                st, got2, _ = ca.req("GET", PERSONS + "/p2")
                assert got2 == tag2, (i, tag2, got2)
                st, got3, _ = cb.req("GET", PERSONS + "/p2")
                if harness.store() == "pg" and got3 != tag2:
                    stale_pg.append(i)
                    deadline = time.monotonic() + 2
                    while got3 != tag2 and time.monotonic() < deadline:
                        st, got3, _ = cb.req("GET", PERSONS + "/p2")
                assert got3 == tag2, (i, tag2, got3)
        st, _, _ = cb.req("DELETE", PERSONS + "/p1")
        assert st == 204, st
        st, _, _ = ca.req("GET", PERSONS + "/p1")
        deadline = time.monotonic() + 2
        while harness.store() == "pg" and st != 404 and time.monotonic() < deadline:
            st, _, _ = ca.req("GET", PERSONS + "/p1")
        assert st == 404, "a person deleted by another process is still answered"
        if stale_pg:
            print("PostgreSQL: %d of %d lookups right after the other replica's "
                  "write answered before its NOTIFY arrived" % (len(stale_pg), ROUNDS))
    finally:
        ca.close()
        cb.close()


def test_another_servers_writes_are_seen_by_the_next_lookup():
    def check(a, b, db):
        rounds_against_another_server(a, b, db)
        hits = a.metric("shikaku_person_cache_lookups_total", result="hit")
        # Each round reads p1 twice and three others; the others stay
        # cached across the other process's writes (dropped one by one).
        assert hits > 3 * ROUNDS, hits
        if harness.store() == "sqlite":
            # The log (person_changes) tells which person: a few flushes
            # at most (the first version seen), never one per write.
            assert a.metric("shikaku_person_cache_drops_total", reason="flush") <= 3
            assert a.metric("shikaku_person_cache_catch_ups_total") >= ROUNDS
    with_two_servers(cache_on(), check)


def test_without_a_cache_the_answers_are_the_same():
    def check(a, b, db):
        rounds_against_another_server(a, b, db)
        assert a.metric("shikaku_person_cache_lookups_total", result="hit") is None
    with_two_servers(["--person-cache-mb", "0"], check)


def test_the_default_size_follows_the_store():
    """Without --person-cache-mb: 192 MiB on SQLite; none on PostgreSQL,
    where another replica's write would reach the cache only after that
    replica answered (SPEC §7: read-your-writes across replicas)."""
    d = tempfile.mkdtemp(prefix="shikaku-pcache-")
    try:
        with Server(db=harness.new_db(d)) as a:
            size = a.metric("shikaku_person_cache_max_bytes")
            if harness.store() == "sqlite":
                assert size == 192 << 20, size
            else:
                assert not size, size
                assert a.metric("shikaku_person_cache_lookups_total", result="hit") is None
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_own_writes_empty_nothing_else():
    d = tempfile.mkdtemp(prefix="shikaku-pcache-")
    try:
        with Server(db_path=os.path.join(d, "x.db")) as a:
            c = Conn(a)
            for n in range(10):
                c.req("PUT", PERSONS + "/o-%d" % n, record(n))
                c.req("GET", PERSONS + "/o-%d" % n)
            flushes = a.metric("shikaku_person_cache_drops_total", reason="flush")
            for i in range(50):
                st, tag, _ = c.req("PUT", PERSONS + "/o-0", record(100 + i))
                st, got, _ = c.req("GET", PERSONS + "/o-0")
                assert got == tag
            hits = a.metric("shikaku_person_cache_lookups_total", result="hit")
            for n in range(1, 10):
                c.req("GET", PERSONS + "/o-%d" % n)
            c.close()
            assert a.metric("shikaku_person_cache_drops_total", reason="flush") == flushes
            assert a.metric("shikaku_person_cache_lookups_total", result="hit") == hits + 9
            assert a.metric("shikaku_person_cache_drops_total", reason="invalidation") >= 50
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_import_by_the_command_line_is_seen_by_the_next_lookup():
    d = tempfile.mkdtemp(prefix="shikaku-pcache-")
    db = os.path.join(d, "x.db")
    try:
        with Server(db_path=db) as a:
            c = Conn(a)
            for i in range(20):
                f = os.path.join(d, "p%d.ndjson" % i)
                rec = dict(record(i), person_id="imp-1")
                with open(f, "w") as out:
                    out.write(json.dumps(rec) + "\n")
                p = run_cli(["import", "--db", db, f])
                assert p.returncode == 0, p.stderr
                st, _, seen = c.req("GET", PERSONS + "/imp-1")
                assert st == 200 and seen["display_name"] == "round %d" % i, (i, seen)
                st, _, seen = c.req("GET", PERSONS + "/imp-1")
                assert seen["display_name"] == "round %d" % i
            c.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_memory_stays_within_the_budget():
    d = tempfile.mkdtemp(prefix="shikaku-pcache-")
    db = os.path.join(d, "x.db")
    n = 30000
    try:
        f = os.path.join(d, "many.ndjson")
        with open(f, "w") as out:
            for i in range(n):
                out.write(json.dumps(dict(record(i), person_id="m-%06d" % i)) + "\n")
        p = run_cli(["import", "--db", db, f], timeout=120)
        assert p.returncode == 0, p.stderr
        with Server(extra_args=["--person-cache-mb", "2"], db_path=db) as a:
            c = Conn(a)
            for rnd in range(2):
                for i in range(n):
                    st, _, body = c.req("GET", PERSONS + "/m-%06d" % i)
                    assert st == 200 and body["person_id"] == "m-%06d" % i
            c.close()
            budget = a.metric("shikaku_person_cache_max_bytes")
            assert budget == 2 << 20
            assert a.metric("shikaku_person_cache_bytes") <= budget
            assert a.metric("shikaku_person_cache_drops_total", reason="eviction") > 0
            entries = a.metric("shikaku_person_cache_entries")
            assert 5000 < entries < n, entries
            # (ASan's shadow memory and quarantine are no measure of it.)
            rss = rss_kib(a.proc.pid)
            assert harness.sanitized() or rss < 64 * 1024 + budget / 1024, \
                "RSS %d KiB" % rss
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_the_cache_is_warmed_from_the_store_at_start():
    """A server started on stored persons reads them into its cache by
    itself (db/person_warm.c): once /metrics says the warming ended, every
    person was read, and lookups of them all hit, none misses.  A write of
    another process after the warming is still seen by the next lookup."""
    n = 700  # more than two of the warming's chunks (256)
    d = tempfile.mkdtemp(prefix="shikaku-pcache-")
    db = harness.new_db(d)
    lines = "".join(json.dumps(dict(record(i), person_id="w-%04d" % i)) + "\n"
                    for i in range(n))
    try:
        r = run_cli(["import", "--db", db, "--format", "ndjson", "-"],
                    stdin=lines.encode())
        assert r.returncode == 0, r.stderr
        with Server(extra_args=cache_on(), db=db) as a, Server(db=db) as b:
            harness.wait_for(
                lambda: a.metric("shikaku_person_cache_warming") == 0,
                what="the warming to end")
            assert a.metric("shikaku_person_cache_warmed_total") == n
            assert a.metric("shikaku_person_cache_entries") == n
            misses = a.metric("shikaku_person_cache_lookups_total", result="miss")
            c = Conn(a)
            for i in range(0, n, 7):
                st, _, body = c.req("GET", PERSONS + "/w-%04d" % i)
                assert st == 200 and body["display_name"] == "round %d" % i
            assert a.metric("shikaku_person_cache_lookups_total",
                            result="miss") == misses
            assert a.metric("shikaku_person_cache_lookups_total",
                            result="hit") >= n // 7
            cb = Conn(b)
            st, tag, _ = cb.req("PUT", PERSONS + "/w-0007", record(9999))
            assert st == 200, st
            cb.close()
            st, got, body = c.req("GET", PERSONS + "/w-0007")
            if harness.store() == "pg" and got != tag:
                harness.wait_for(
                    lambda: c.req("GET", PERSONS + "/w-0007")[1] == tag,
                    timeout=2, what="the NOTIFY of the other replica")
                st, got, body = c.req("GET", PERSONS + "/w-0007")
            assert got == tag and body["display_name"] == "round 9999"
            c.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_no_cache_no_warming():
    d = tempfile.mkdtemp(prefix="shikaku-pcache-")
    try:
        with Server(extra_args=["--person-cache-mb", "0"],
                    db=harness.new_db(d)) as a:
            assert a.metric("shikaku_person_cache_warming") is None
    finally:
        shutil.rmtree(d, ignore_errors=True)
