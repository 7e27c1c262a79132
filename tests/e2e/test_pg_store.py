"""The PostgreSQL store's own behaviour (SPEC §7, issue 16): what only a
store shared by several processes has.  Runs with --store pg (make
test-e2e-pg); skipped on SQLite, whose file the rest of the suite covers.

- migrations run under an advisory lock: two servers starting at once on a
  fresh database both start, and the schema is there once;
- an insurer renamed through one replica reaches the other's registry cache
  within 1 s (LISTEN/NOTIFY, not a TTL);
- the URI's password never reaches stdout, stderr or /metrics;
- /metrics has the connection gauges (open connections, connection errors).
"""

import re
import threading
import time

import pytest

import harness
from harness import Server, run_cli, wait_for

def setup_module(module):
    if harness.store() != "pg":
        pytest.skip("PostgreSQL only (--store pg)", allow_module_level=True)


TOKYO_KYOKAI = "01130012"


def test_two_servers_starting_at_once_migrate_once():
    db = harness.new_db()
    servers = [Server(db=db, start=False) for _ in range(2)]
    threads = [threading.Thread(target=s.start) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        for s in servers:
            assert s.get("/readyz").status == 200
        name = db.split("/")[3].split("?")[0]
        out = harness.pg_cluster().psql("SELECT version FROM schema_migrations "
                                        "ORDER BY version", db=name)
        versions = [int(v) for v in out.split()]
        assert versions == list(range(1, len(versions) + 1)) and versions, out
        migrated = [e for s in servers for e in s.log_events()
                    if e.get("event") == "database_migrated"]
        assert len(migrated) == 1, migrated   # the other found nothing to do
    finally:
        for s in servers:
            s.stop()


def test_an_insurer_renamed_on_one_replica_is_seen_on_the_other_within_1_s():
    db = harness.new_db()
    with Server(db=db) as a, Server(db=db) as b:
        ev = {"person": {"insurer_number": TOKYO_KYOKAI, "mynumber_card": "none"}}
        before = b.evaluate(ev).json["insurer"]["name"]   # now in b's cache
        assert before
        r = a.request("PUT", "/v1/insurers/" + TOKYO_KYOKAI, json_body={"name_ja": "改名 支部"})
        assert r.status in (200, 201), r
        t0 = time.monotonic()
        wait_for(lambda: b.evaluate(ev).json["insurer"]["name"] == "改名 支部",
                 timeout=1.0, what="the rename seen through the other replica's cache")
        assert time.monotonic() - t0 <= 1.0


def test_the_password_is_never_printed():
    db = harness.new_db()
    secret = "Pw-never-printed-42"
    uri = db.replace("postgresql:///", "postgresql://postgres:%s@/" % secret, 1)
    p = run_cli(["migrate", "--db", uri])
    assert p.returncode == 0, p.stderr            # trust auth: the password is not needed
    assert secret not in p.stdout + p.stderr
    assert "postgres:***@" in p.stdout, p.stdout
    with Server(db=uri) as s:
        s.request("PUT", "/v1/persons/pw-1", json_body={"birth_date": "1950-01-01"})
        metrics = s.get("/metrics").body.decode()
        assert secret not in metrics
        assert secret not in s.stderr_tail(100000)
    bad = uri.replace("/t_", "/no_such_db_", 1)
    p = run_cli(["migrate", "--db", bad])
    assert p.returncode != 0
    assert secret not in p.stdout + p.stderr, p.stderr


def test_metrics_has_the_connection_gauges():
    with Server() as s:
        assert s.get("/readyz").status == 200
        text = s.get("/metrics").body.decode()
        open_ = re.search(r"^shikaku_db_pool_connections (\d+)$", text, re.M)
        errors = re.search(r"^shikaku_db_connection_errors_total (\d+)$", text, re.M)
        assert open_ and int(open_.group(1)) >= 1, text[-800:]
        assert errors and int(errors.group(1)) == 0, text[-800:]


def test_retention_deletes_old_audit_rows_with_their_person_rows():
    """The retention on PostgreSQL: an old audit row goes with its
    audit_person rows (found by seq: migration 004 dropped audit_person's
    primary key), the recent ones stay."""
    db = harness.new_db()
    p = run_cli(["migrate", "--db", db])
    assert p.returncode == 0, p.stderr
    name = db.split("/")[3].split("?")[0]
    psql = harness.pg_cluster().psql
    # two rows from long ago, their seqs taken from the counter as the
    # writer's are
    for pid in ("old-1", "old-2"):
        psql("WITH c AS (UPDATE audit_counter SET last = last + 1 RETURNING last), "
             "a AS (INSERT INTO audit (seq, time, key_id, request_id, method, route, "
             "person_ids, status) SELECT last, '2001-01-01T09:00:00.000+09:00', NULL, "
             "'ancient', 'GET', '/v1/persons/{id}', '%s', 200 FROM c) "
             "INSERT INTO audit_person (bucket, person_id, seq) "
             "SELECT last >> 14, '%s', last FROM c" % (pid, pid), db=name)
    with Server(["--audit-retention-days", "30"], db=db) as s:
        r = s.request("PUT", "/v1/persons/ret-1", json_body={"birth_date": "1950-01-01"})
        assert r.status == 201, r
        assert s.get("/v1/persons/ret-1/eligibility").status == 200
    # (stopped: SIGTERM writes the whole audit queue before the exit)
    assert psql("SELECT count(*) FROM audit WHERE request_id = 'ancient'", db=name).split() == ["0"]
    left = psql("SELECT person_id FROM audit_person ORDER BY seq", db=name).split()
    assert "old-1" not in left and "old-2" not in left, left
    assert left.count("ret-1") >= 2, left   # the PUT's and the lookup's rows
