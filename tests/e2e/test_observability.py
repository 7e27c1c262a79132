"""Observability end to end (SPEC §6, §9): GET /metrics in Prometheus text
format with counters that move, /readyz failing while the database cannot
be read, and the log: one JSON object a line, never a person's facts or a
key.

The module's shared server runs with keys, so that log lines carry key ids
and the test can look for key secrets in the log."""

import atexit
import http.client
import json
import os
import re
import shutil
import socket
import tempfile
import time

import pytest

import harness
from harness import Server, assert_problem, run_cli, slow

FACTS = {"birth_date": "1950-04-01", "insurer_number": "138057",
         "mynumber_card": "held", "insurance_registration": "registered",
         "care_needs": ["dementia"], "setting": "care_facility"}
NDJSON = "application/x-ndjson"

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


_keys = harness.ModuleKeys("obs")
keys, srv, auth = _keys.keys, _keys.server, _keys.auth


def parse_metrics(text):
    """Prometheus text -> {(name, frozenset(labels.items())): value}; asserts
    every line is a comment or a well-formed sample."""
    out = {}
    types = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            assert len(parts) >= 3 and parts[1] in ("HELP", "TYPE"), "bad comment %r" % line
            if parts[1] == "TYPE":
                types[parts[2]] = parts[3]
            continue
        m = SAMPLE.match(line)
        assert m, "not a Prometheus sample: %r" % line
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        key = (m.group(1), labels)
        assert key not in out, "sample repeated: %r" % line
        out[key] = float(m.group(4))
    out["__types__"] = types
    return out


def metrics(s):
    # a key of any role (none is read by a --no-auth server)
    r = s.get("/metrics", headers=None if s.no_auth else auth("reader"))
    assert r.status == 200, r
    assert r.content_type == "text/plain", r.headers.get("Content-Type")
    return parse_metrics(r.text)


def val(m, name, **labels):
    return m.get((name, frozenset(labels.items())), 0.0)


def put(s, pid, body, role="writer"):
    return s.request("PUT", "/v1/persons/" + pid, json_body=body, headers=auth(role))


# ---------------------------------------------------------------------------
# /metrics

def test_metrics_format_and_types():
    s = srv()
    s.get("/healthz")
    m = metrics(s)
    t = m["__types__"]
    assert t.get("shikaku_requests_total") == "counter", t
    assert t.get("shikaku_request_duration_seconds") == "histogram", t
    assert t.get("shikaku_decisions_total") == "counter", t
    assert t.get("shikaku_import_lines_total") == "counter", t
    assert t.get("shikaku_open_connections") == "gauge", t
    assert t.get("shikaku_database_bytes") == "gauge", t
    assert t.get("shikaku_audit_records_total") == "counter", t
    assert t.get("shikaku_audit_queue") == "gauge", t
    assert t.get("shikaku_build_info") == "gauge", t
    build = [k for k in m if k != "__types__" and k[0] == "shikaku_build_info"]
    assert len(build) == 1 and m[build[0]] == 1, build
    labels = dict(build[0][1])
    assert labels.get("version") and labels.get("ruleset"), labels
    assert val(m, "shikaku_database_bytes") > 0, "database bytes not > 0"


def test_audit_records_are_counted():
    s = srv()
    put(s, "ob-a1", FACTS)  # audited too: wait until its row is written
    # GET /v1/audit answers once the writer has committed every row queued
    # before it (X-Audit-Complete: true).
    harness.wait_for(lambda: s.get("/v1/audit?limit=1", headers=auth("admin"))
                     .headers.get("X-Audit-Complete") == "true",
                     slow(5), "the audit writer to commit the PUT's row")
    before = metrics(s)
    for _ in range(5):
        assert s.get("/v1/persons/ob-a1/eligibility", headers=auth("reader")).status == 200
    for _ in range(3):  # names nobody: not audited
        assert s.evaluate({"person": FACTS}, headers=auth("reader")).status == 200
    # The writer commits within AUDIT_LOG_FLUSH_MS (0.25 s).
    deadline = time.time() + slow(5)
    while True:
        after = metrics(s)
        written = val(after, "shikaku_audit_records_total", result="written") - \
            val(before, "shikaku_audit_records_total", result="written")
        if written >= 5 or time.time() > deadline:
            break
        time.sleep(0.05)
    assert written == 5, "audit rows written: %r" % written
    assert val(after, "shikaku_audit_records_total", result="dropped") == 0
    assert val(after, "shikaku_audit_queue") == 0


def test_requests_total_moves_by_route_and_status():
    s = srv()
    put(s, "ob-r1", FACTS)
    before = metrics(s)
    for _ in range(3):
        assert s.get("/v1/persons/ob-r1", headers=auth("reader")).status == 200
    for _ in range(2):
        assert s.get("/v1/persons/ob-none", headers=auth("reader")).status == 404
    assert s.get("/v1/rules").status == 401
    assert s.get("/healthz").status == 200
    for _ in range(4):
        assert s.evaluate({"person": FACTS}, headers=auth("reader")).status == 200
    after = metrics(s)

    def moved(route, status):
        return val(after, "shikaku_requests_total", route=route, status=status) - \
            val(before, "shikaku_requests_total", route=route, status=status)
    assert moved("/v1/persons/{id}", "200") == 3, moved("/v1/persons/{id}", "200")
    assert moved("/v1/persons/{id}", "404") == 2
    assert moved("/healthz", "200") == 1
    assert moved("/v1/eligibility:evaluate", "200") == 4
    # A 401 is counted (under whatever route label it gets) exactly once.
    n401 = sum(after[k] - before.get(k, 0) for k in after
               if k != "__types__" and k[0] == "shikaku_requests_total"
               and ("status", "401") in k[1])
    assert n401 == 1, n401
    # /metrics itself: the first read was counted by the second.
    assert moved("/metrics", "200") == 1
    # Never a person id in a label.
    for k in after:
        if k != "__types__":
            assert not any("ob-r1" in v for _, v in k[1]), k


def test_latency_histogram_cumulative():
    s = srv()
    for _ in range(5):
        s.evaluate({"person": FACTS}, headers=auth("reader"))
    m = metrics(s)
    routes = {dict(k[1]).get("route") for k in m
              if k != "__types__" and k[0] == "shikaku_request_duration_seconds_bucket"}
    assert "/v1/eligibility:evaluate" in routes, routes
    for route in routes:
        buckets = sorted(((float("inf") if dict(k[1])["le"] == "+Inf" else float(dict(k[1])["le"]),
                           v) for k, v in m.items()
                          if k != "__types__" and k[0] == "shikaku_request_duration_seconds_bucket"
                          and dict(k[1])["route"] == route))
        assert buckets[-1][0] == float("inf"), buckets
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), "%s: buckets not cumulative: %r" % (route, buckets)
        count = val(m, "shikaku_request_duration_seconds_count", route=route)
        assert counts[-1] == count, "%s: +Inf %r != _count %r" % (route, counts[-1], count)
        total = sum(v for k, v in m.items() if k != "__types__"
                    and k[0] == "shikaku_requests_total" and dict(k[1])["route"] == route)
        assert total == count, "%s: requests_total %r != histogram count %r" % (route, total, count)
        assert val(m, "shikaku_request_duration_seconds_sum", route=route) >= 0
    assert val(m, "shikaku_request_duration_seconds_count",
               route="/v1/eligibility:evaluate") >= 5


def test_decisions_total_moves_by_entitlement():
    s = srv()
    before = metrics(s)
    r = s.evaluate({"person": FACTS}, headers=auth("reader"))
    assert r.status == 200, r
    ent = r.json["certificate"]["entitlement"]
    put(s, "ob-d1", FACTS)
    assert s.get("/v1/persons/ob-d1/eligibility", headers=auth("reader")).status == 200
    r = s.post("/v1/eligibility:batch", {"items": [{"person": FACTS}, {"person_id": "ob-d1"},
                                                   {"person_id": "ob-none"}]},
               headers=auth("reader"))
    assert r.status == 200, r
    # An invalid request decides nothing.
    assert s.evaluate({"person": {"birth_date": "x"}}, headers=auth("reader")).status == 422
    after = metrics(s)
    d = val(after, "shikaku_decisions_total", entitlement=ent) - \
        val(before, "shikaku_decisions_total", entitlement=ent)
    assert d == 4, "decisions_total{entitlement=%s} moved by %r, expected 4" % (ent, d)
    total = sum(v for k, v in after.items() if k != "__types__"
                and k[0] == "shikaku_decisions_total") - \
        sum(v for k, v in before.items() if k != "__types__"
            and k[0] == "shikaku_decisions_total")
    assert total == 4, total


def lines_counted(before, after):
    """(accepted, rejected) import lines counted between two /metrics."""
    return tuple(val(after, "shikaku_import_lines_total", result=k) -
                 val(before, "shikaku_import_lines_total", result=k)
                 for k in ("accepted", "rejected"))


def test_import_lines_total_moves():
    s = srv()
    before = metrics(s)
    body = "".join(json.dumps(x) + "\n" for x in (
        dict(FACTS, person_id="ob-i1"), dict(FACTS, person_id="ob-i2"),
        dict(FACTS, person_id="ob-i3", birth_date="1950-13-01")))
    r = s.request("POST", "/v1/persons:import?mode=best_effort", body=body,
                  headers=auth("writer", **{"Content-Type": NDJSON}))
    assert r.status == 200 and len(r.json["rejected"]) == 1, r
    mid = metrics(s)
    assert lines_counted(before, mid) == (2, 1)
    # An all_or_nothing import that stores nothing accepts nothing.
    r = s.request("POST", "/v1/persons:import", body=body,
                  headers=auth("writer", **{"Content-Type": NDJSON}))
    assert r.status == 422, r
    after = metrics(s)
    assert lines_counted(mid, after) == (0, 1)
    assert val(after, "shikaku_requests_total", route="/v1/persons:import", status="200") - \
        val(before, "shikaku_requests_total", route="/v1/persons:import", status="200") == 1


def test_open_connections_gauge():
    s = srv()
    base = val(metrics(s), "shikaku_open_connections")
    assert base >= 1, "the /metrics request's own connection: %r" % base
    held = []
    try:
        for _ in range(3):
            c = socket.create_connection((harness.HOST, s.port), timeout=slow(5))
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            buf = b""
            while not harness._response_complete(buf):
                buf += c.recv(65536)
            assert buf.startswith(b"HTTP/1.1 200"), buf[:80]
            held.append(c)
        n = val(metrics(s), "shikaku_open_connections")
        assert n >= 4, "3 keep-alive connections open, gauge %r" % n
    finally:
        for c in held:
            c.close()
    deadline = time.monotonic() + slow(3)
    while time.monotonic() < deadline:
        n = val(metrics(s), "shikaku_open_connections")
        if n <= base:
            break
        time.sleep(0.05)
    assert n <= base, "closed connections still counted: %r (was %r)" % (n, base)


def test_database_bytes_grows():
    s = srv()
    before = val(metrics(s), "shikaku_database_bytes")
    body = "".join(json.dumps(dict(FACTS, person_id="ob-g%04d" % i,
                                   display_name="x" * 80)) + "\n" for i in range(500))
    r = s.request("POST", "/v1/persons:import", body=body,
                  headers=auth("writer", **{"Content-Type": NDJSON}))
    assert r.status == 200, r
    after = val(metrics(s), "shikaku_database_bytes")
    assert after > before > 0, (before, after)


# ---------------------------------------------------------------------------
# /readyz

@pytest.mark.sqlite_only(reason="truncates the SQLite file under the server (on PostgreSQL: "
                         "the fault tests stop the server)")
def test_readyz_fails_while_database_unreadable():
    with Server() as s:
        db = os.path.join(s.workdir, "x.db")
        r = s.get("/readyz")
        assert r.status == 200 and r.json == {"status": "ready"}, r
        # Truncate the file under the running server and take its WAL and
        # shared memory away: every read now fails.
        os.truncate(db, 0)
        for x in ("-wal", "-shm"):
            try:
                os.unlink(db + x)
            except FileNotFoundError:
                pass
        for _ in range(3):
            r = s.get("/readyz", timeout=slow(15))
            assert_problem(r, 503)
            assert r.headers.get("Retry-After"), r.headers
        # Liveness is not readiness.
        assert s.get("/healthz").status == 200
        s.kill()


# ---------------------------------------------------------------------------
# The log

def request_ids_logged(s, prefix):
    return [e["request_id"] for e in s.log_events()
            if e.get("event") == "request"
            and str(e.get("request_id", "")).startswith(prefix)]


def test_request_lines_reach_the_log_with_no_more_traffic():
    """Request lines are written in batches (service/log.h): the last one
    must still leave within the flush period when nothing else comes."""
    s = Server()
    try:
        s.get("/healthz", headers={"X-Request-Id": "alone-1"})
        t0 = time.monotonic()
        while not request_ids_logged(s, "alone-"):
            assert time.monotonic() - t0 < slow(1.0), \
                "the request line was not written within 1 s: %s" % s.stderr_tail()
            time.sleep(0.01)
    finally:
        s.stop()


def test_sigterm_writes_every_buffered_request_line():
    """Lines still in the buffers when SIGTERM comes are written before
    "stopped", in the order each connection sent its requests."""
    s = Server()
    n = 400
    try:
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=slow(10))
        for i in range(n):
            conn.request("GET", "/healthz", headers={"X-Request-Id": "burst-%04d" % i})
            r = conn.getresponse()
            r.read()
            assert r.status == 200
        conn.close()
    finally:
        s.stop()
    ids = request_ids_logged(s, "burst-")
    assert ids == ["burst-%04d" % i for i in range(n)], \
        "%d of %d request lines, in order: %s" % (len(ids), n, ids[:3])
    events = [e.get("event") for e in s.log_events()]
    assert events[-1] == "stopped", events[-3:]


def test_log_lines_are_json_with_request_fields():
    s = srv()
    put(s, "ob-l1", FACTS)
    x = "obs-log-1"
    s.get("/v1/persons/ob-l1", headers=auth("reader", **{"X-Request-Id": x}))
    s.get("/healthz", headers={"X-Request-Id": "obs-log-2"})
    s.get("/v1/rules", headers={"X-Request-Id": "obs-log-3"})
    s.settle_log()
    lines = s.stderr_lines()
    reqs = {}
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            raise AssertionError("a log line is not JSON: %r" % line)
        assert isinstance(obj, dict), line
        for k in ("time", "level", "event"):
            assert isinstance(obj.get(k), str), "no %s in %r" % (k, line)
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$",
                        obj["time"]), obj["time"]
        if obj["event"] == "request":
            for k, t in (("request_id", str), ("method", str), ("route", str),
                         ("status", int), ("duration_ms", (int, float))):
                assert isinstance(obj.get(k), t), "request line without %s: %r" % (k, line)
            assert "ob-l1" not in obj["route"], line
            reqs[obj["request_id"]] = obj
    r = reqs.get(x)
    assert r, "no request line with request_id %s" % x
    assert r["method"] == "GET" and r["route"] == "/v1/persons/{id}" and r["status"] == 200, r
    assert r.get("key_id") == keys()["reader"][4:16], r
    assert reqs["obs-log-2"]["route"] == "/healthz" and "key_id" not in reqs["obs-log-2"]
    assert reqs["obs-log-3"]["status"] == 401


def test_log_holds_no_facts_and_no_key():
    d = tempfile.mkdtemp(prefix="shikaku-obs-")
    atexit.register(shutil.rmtree, d, True)
    db = os.path.join(d, "l.db")
    ks = {}
    for role in ("reader", "writer", "admin"):
        p = run_cli(["key", "create", "--db", db, "--role", role, "--name", "ops-" + role])
        ks[role] = p.stdout.splitlines()[0].strip()
    revoked = run_cli(["key", "create", "--db", db, "--role", "reader"]).stdout.splitlines()[0]
    name, born, ins, pid, fac = "テスト太郎", "1931-03-03", "01130012", "ob-secret-77", "fac-obs-9"
    body = {"display_name": name, "birth_date": born, "insurer_number": ins,
            "facility_id": fac, "mynumber_card": "held",
            "insurance_registration": "registered", "care_needs": ["dementia"],
            "setting": "home", "verified_at": harness.today_tokyo(), "source": "card_reader"}
    s = Server(no_auth=False, db_path=db)
    try:
        def h(role, **more):
            x = {"Authorization": "Bearer " + ks[role]}
            x.update(more)
            return x
        assert s.request("PUT", "/v1/persons/" + pid, json_body=body,
                         headers=h("writer")).status == 201
        assert s.get("/v1/persons/" + pid, headers=h("reader")).status == 200
        assert s.get("/v1/persons/%s/eligibility?as_of=%s" % (pid, harness.today_tokyo()),
                     headers=h("reader")).status == 200
        s.get("/v1/persons?facility_id=" + fac, headers=h("reader"))
        s.post("/v1/eligibility:batch", {"items": [{"person_id": pid}]}, headers=h("reader"))
        s.evaluate({"person": {k: body[k] for k in ("birth_date", "insurer_number")}},
                   headers=h("reader"))
        s.get("/v1/audit?person_id=" + pid, headers=h("admin"))
        line = json.dumps(dict(body, person_id=pid + "x"), ensure_ascii=False)
        s.request("POST", "/v1/persons:import", body=line + "\n",
                  headers=h("writer", **{"Content-Type": NDJSON}))
        # Invalid input echoes nothing into the log either.
        s.request("PUT", "/v1/persons/" + pid, json_body=dict(body, birth_date=born + "x"),
                  headers=h("writer"))
        s.request("PUT", "/v1/persons/" + pid, body='{"display_name": "%s",' % name,
                  headers=h("writer", **{"Content-Type": "application/json"}))
        s.request("PUT", "/v1/persons/" + pid, json_body=body, headers=h("reader"))
        s.get("/v1/persons/" + pid + "/nothing", headers=h("reader"))
        s.request("PATCH", "/v1/persons/" + pid, headers=h("writer"))
        s.get("/v1/rules", headers={"Authorization": "Bearer " + ks["admin"][:-2] + "zz"})
        s.get("/v1/rules", headers={"Authorization": ks["admin"]})
        run_cli(["key", "revoke", "--db", db, revoked[4:16]])
        s.get("/v1/rules", headers={"Authorization": "Bearer " + revoked})
        s.raw("GET /v1/persons/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
              "Content-Length: 5\r\n\r\nab" % (pid, ks["admin"]), timeout=slow(1))
        assert s.request("DELETE", "/v1/persons/" + pid, headers=h("writer")).status == 204
    finally:
        s.stop()
    text = s.stderr_text()
    assert text.count('"event":"request"') >= 10, s.stderr_tail()
    for line in s.stderr_lines():
        json.loads(line)
    secrets = [name, born, ins, pid, fac, "dementia"]
    secrets += [k for k in ks.values()] + [k[17:] for k in ks.values()]
    secrets += [revoked, revoked[17:]]
    for sec in secrets:
        assert sec not in text, "the log holds %r: %s" % (
            sec, [l for l in s.stderr_lines() if sec in l][:2])
    esc = json.dumps(name)[1:-1]
    assert esc not in text, "the log holds the name (escaped)"
