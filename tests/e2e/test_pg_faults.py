"""PostgreSQL faults (SPEC §7, §10): the database stopped, killed or
unreachable under a running shikakud, and its password.

- PostgreSQL stopped under load (`pg_ctl stop -m fast`): every request that
  needs it answers 503 problem+json with Retry-After within 2 s (never a 500,
  never a hang, never a dropped connection), /readyz answers 503; started
  again, the same shikakud answers 200 again by itself, and no write it
  acknowledged is lost;
- PostgreSQL hung (SIGSTOP of the postmaster and its backends: connections
  are accepted, nothing ever answers, its statement_timeout never fires)
  under load: every request answers 503 with Retry-After within 2 s (the
  deadline is shikakud's own), /readyz too; SIGCONT: 200 again by itself;
- PostgreSQL killed (`pg_ctl stop -m immediate`) during a large import, over
  HTTP or by `shikakud import`: the import fails (503 / exit 1) and after the
  restart nothing of it is stored, the data from before is intact;
- a password in the URI (userinfo or `?password=`) or in PGPASSWORD never
  shows: not in the log, --help, error messages, problem bodies or /metrics.

The module starts a throwaway PostgreSQL of its own (pgcluster.py), which it
stops and kills; skipped only when PostgreSQL's server binaries are absent.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

import pytest

import harness
from harness import HOST, assert_problem, slow
from pgops import (Client, Timed, new_cluster, psql, server_on, skip_without_postgresql,
                   wait_pg_answers)

pytestmark = [pytest.mark.slow, skip_without_postgresql()]

# SPEC §7: within 2 s; 0.5 s more for this machine's two cores shared by
# the test's threads, shikakud and PostgreSQL.
ANSWER_WITHIN = 2.0
MARGIN = 0.5
NDJSON = "application/x-ndjson"
PASSWORD = "Pw7sEcReT9xq"
PGPASSWORD = "EnvPw4kQz81m"
PERSON = {"facility_id": "f-fault", "birth_date": "1950-03-03", "insurer_number": "138057",
          "mynumber_card": "held", "insurance_registration": "registered",
          "verified_at": "2026-11-01", "source": "card_reader"}


class Cluster:
    """The module's cluster, knowing whether it runs."""

    def __init__(self):
        self.pg = new_cluster()
        self.running = True

    def new_database(self):
        return self.pg.new_database()

    def stop(self):
        self.running = False
        self.pg.stop()

    def kill(self):
        """pg_ctl stop -m immediate: every backend gone at once, no
        checkpoint; the next start replays the WAL like after a crash."""
        self.running = False
        self.pg.stop("immediate")

    def start(self):
        self.pg.start()
        self.running = True


@pytest.fixture(scope="module")
def module_cluster():
    c = Cluster()
    yield c
    c.pg.destroy()


@pytest.fixture
def cluster(module_cluster):
    """The module's cluster, running at the start of each test whatever the
    previous one did."""
    if not module_cluster.running:
        module_cluster.start()
    yield module_cluster
    if not module_cluster.running:
        module_cluster.start()


def ndjson(objs):
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs).encode("utf-8")


def judge(results, what):
    """Every answer a 2xx or a 503 with Retry-After, within the limit -> the
    counts per status; fails on anything else."""
    counts, bad = {}, []
    for i, per_thread in enumerate(results):
        for t0, took, out in per_thread:
            if isinstance(out, Exception):
                bad.append((i, round(took, 3), "no answer: %r" % out))
                continue
            kind, seq, r = out
            counts[r.status] = counts.get(r.status, 0) + 1
            if took > slow(ANSWER_WITHIN) + MARGIN:
                bad.append((i, round(took, 3), kind, r.status, "too slow"))
            if r.status == 503:
                if not r.headers.get("Retry-After", "").isdigit():
                    bad.append((i, kind, "503 without Retry-After", r.headers.items()))
                if r.content_type != "application/problem+json":
                    bad.append((i, kind, "503 not problem+json", r.body[:100]))
            elif not 200 <= r.status < 300:
                bad.append((i, round(took, 3), kind, r.status, r.body[:200]))
    assert not bad, "%s: %d bad answers (of %s), first: %r" % (what, len(bad), counts, bad[:5])
    return counts


def answers_after(results, t, status):
    return sum(1 for per in results for t0, _, out in per
               if t0 > t and not isinstance(out, Exception) and out[2].status == status)


def start_load(s, prefix, threads=4):
    """threads clients, each with a person prefix-i of its own that a Timed
    load writes (PUT), reads and decides in turn; (clients, the load)."""
    clients = [Client(s, timeout=slow(10)) for _ in range(threads)]
    for i in range(threads):
        r = clients[i].put("/v1/persons/%s-%d" % (prefix, i), dict(PERSON, display_name="0"))
        assert r.status == 201, r

    def work(i, seq):
        pid = "/v1/persons/%s-%d" % (prefix, i)
        if seq % 3 == 0:
            return "PUT", seq, clients[i].put(pid, dict(PERSON, display_name=str(seq)))
        if seq % 3 == 1:
            return "GET", seq, clients[i].get(pid)
        return "eligibility", seq, clients[i].get(pid + "/eligibility")

    return clients, Timed(threads, work)


def assert_no_acknowledged_write_lost(clients, results, prefix):
    """Each person of start_load holds its last acknowledged write or a later
    one (a 503 may hide a commit whose answer was lost)."""
    for i, per in enumerate(results):
        acked = [out[1] for _, _, out in per if not isinstance(out, Exception)
                 and out[0] == "PUT" and out[2].status in (200, 201)]
        g = clients[i].get("/v1/persons/%s-%d" % (prefix, i))
        assert g.status == 200, g
        assert int(g.json["display_name"]) >= max(acked), (i, g.json["display_name"], max(acked))


# ---- stopped under load -----------------------------------------------------------

def test_stopped_under_load_is_503_at_once_then_200_again_by_itself(cluster):
    uri = cluster.new_database()
    s = server_on(uri)
    try:
        clients, load = start_load(s, "load")
        try:
            harness.wait_for(lambda: answers_after(load.results, 0, 200) >= 100, slow(20),
                             "100 answers before the stop")
            stopped = time.monotonic()
            cluster.stop()
            # /readyz says so; the requests answer 503 at once
            wait_pg_answers(s, "/readyz", slow(5), status=503)
            r = s.direct("GET", "/readyz")
            assert r.status == 503 and r.headers.get("Retry-After", "").isdigit(), r
            harness.wait_for(lambda: answers_after(load.results, stopped, 503) >= 40,
                             slow(10), "40 answers 503 while PostgreSQL is down")
            started = time.monotonic()
            cluster.start()
            # the same process, reconnecting by itself
            wait_pg_answers(s, "/readyz", slow(20), status=200)
            wait_pg_answers(s, "/v1/persons/load-0", slow(20), status=200)
            harness.wait_for(lambda: answers_after(load.results, started, 200) >= 100,
                             slow(20), "100 answers 200 once PostgreSQL is back")
        finally:
            results = load.stop()
        counts = judge(results, "PostgreSQL stopped and started under load")
        assert counts.get(503, 0) >= 40 and counts.get(200, 0) >= 200, counts
        assert_no_acknowledged_write_lost(clients, results, "load")
        assert s.alive()
        ready = s.direct("GET", "/readyz")
        assert ready.status == 200, ready
    finally:
        s.stop()


# ---- hung under load ---------------------------------------------------------------

def cluster_processes(cluster):
    """The postmaster and every process of it (backends, writer, ...)."""
    import pgcluster
    pid = cluster.pg.pid()
    assert pid, "the cluster runs"
    return [pid] + pgcluster._children(pid)


def signal_all(pids, sig):
    for p in pids:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


def test_hung_under_load_is_503_within_the_deadline_then_200_again_by_itself(cluster):
    uri = cluster.new_database()
    s = server_on(uri)
    stopped_pids = []
    try:
        clients, load = start_load(s, "hang")
        try:
            harness.wait_for(lambda: answers_after(load.results, 0, 200) >= 100, slow(20),
                             "100 answers before the hang")
            stopped_pids = cluster_processes(cluster)
            hung = time.monotonic()
            signal_all(stopped_pids, signal.SIGSTOP)
            # /readyz: 503 within the deadline, not a hang
            t0 = time.monotonic()
            r = s.direct("GET", "/readyz", timeout=slow(10))
            took = time.monotonic() - t0
            assert r.status == 503 and r.headers.get("Retry-After", "").isdigit(), r
            assert took <= slow(ANSWER_WITHIN) + MARGIN, took
            harness.wait_for(lambda: answers_after(load.results, hung, 503) >= 12,
                             slow(20), "12 answers 503 while PostgreSQL hangs")
            signal_all(stopped_pids, signal.SIGCONT)
            stopped_pids = []
            resumed = time.monotonic()
            # the same process, reconnecting by itself
            wait_pg_answers(s, "/readyz", slow(20), status=200)
            harness.wait_for(lambda: answers_after(load.results, resumed, 200) >= 100,
                             slow(20), "100 answers 200 once PostgreSQL runs again")
        finally:
            signal_all(stopped_pids, signal.SIGCONT)
            results = load.stop()
        counts = judge(results, "PostgreSQL hung and resumed under load")
        assert counts.get(503, 0) >= 12 and counts.get(200, 0) >= 200, counts
        assert_no_acknowledged_write_lost(clients, results, "hang")
        assert s.alive()
    finally:
        signal_all(stopped_pids, signal.SIGCONT)
        s.stop()


# ---- killed during an import ----------------------------------------------------------

def import_in_progress(uri):
    """True while a transaction of uri's database other than psql's own has
    written (has an xid) for more than 0.3 s: the import's."""
    rows = psql(uri, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                     " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
                     " AND now() - xact_start > interval '300 milliseconds'")
    return int(rows[0][0]) > 0


def big_import_file(d, n=400000):
    path = os.path.join(d, "big.ndjson")
    lines = [{"person_id": "keep-%03d" % i, "birth_date": "1941-01-01"} for i in range(100)]
    lines += [{"person_id": "new-%06d" % i, "display_name": "名前 %d" % i,
               "birth_date": "1950-01-01", "insurer_number": "138057",
               "care_needs": ["elderly"], "setting": "care_facility"} for i in range(n)]
    with open(path, "wb") as f:
        f.write(ndjson(lines))
    return path


@pytest.mark.parametrize("how", ["http", "cli"])
def test_killed_during_a_large_import_stores_nothing_of_it(cluster, how):
    uri = cluster.new_database()
    d = tempfile.mkdtemp(prefix="shikaku-pgkill-")
    s = server_on(uri)
    try:
        before = ndjson([dict(PERSON, person_id="keep-%03d" % i, birth_date="1940-01-01")
                         for i in range(100)])
        r = s.request("POST", "/v1/persons:import", body=before, headers={"Content-Type": NDJSON})
        assert r.status == 200 and r.json["inserted"] == 100, r
        path = big_import_file(d)
        answer = {}
        if how == "http":
            body = open(path, "rb").read()

            def upload():
                try:
                    sock = socket.create_connection((HOST, s.port), timeout=slow(60))
                    sock.sendall(("POST /v1/persons:import HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  "Content-Type: %s\r\nContent-Length: %d\r\n\r\n"
                                  % (NDJSON, len(body))).encode() + body)
                    buf = b""
                    while not harness._response_complete(buf):
                        chunk = sock.recv(65536)
                        if not chunk:
                            break
                        buf += chunk
                    answer["r"] = harness.parse_raw_response(buf)
                except OSError as e:
                    answer["r"] = e
            t = threading.Thread(target=upload, daemon=True)
            t.start()
            finished = lambda: "r" in answer   # noqa: E731
        else:
            proc = subprocess.Popen([harness.binary(), "import", "--db", uri, path],
                                    env=harness.clean_env(), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            finished = lambda: proc.poll() is not None   # noqa: E731
        harness.wait_for(lambda: finished() or import_in_progress(uri), slow(60),
                         "the import's transaction to be writing")
        assert not finished(), "the import ended before PostgreSQL could be killed: %r" % (
            answer.get("r") if how == "http" else proc.communicate())
        cluster.kill()
        if how == "http":
            t.join(slow(30))
            r = answer.get("r")
            assert r is not None and not isinstance(r, Exception), r
            assert_problem(r, 503)
            assert r.headers.get("Retry-After", "").isdigit(), r.headers.items()
        else:
            out, err = proc.communicate(timeout=slow(30))
            assert proc.returncode == 1, (proc.returncode, out, err)
        cluster.start()
        wait_pg_answers(s, "/readyz", slow(20), status=200)
        for pid in ("keep-000", "keep-099"):
            g = s.get("/v1/persons/" + pid)
            assert g.status == 200 and g.json["birth_date"] == "1940-01-01", (pid, g)
        for pid in ("new-000000", "new-000001", "new-200000", "new-399999"):
            assert s.get("/v1/persons/" + pid).status == 404, pid + " survived the kill"
        w = s.get("/v1/persons?limit=1000")
        assert w.status == 200 and len(w.json["items"]) == 100, (w.status, len(w.json["items"]))
        assert w.json["next_cursor"] is None
    finally:
        if not cluster.running:
            cluster.start()
        s.stop()
        shutil.rmtree(d, ignore_errors=True)


# ---- the password ---------------------------------------------------------------

def with_password(uri, where):
    """uri with PASSWORD in its userinfo ("userinfo") or query ("query")."""
    if where == "query":
        return uri + ("&" if "?" in uri else "?") + "password=" + PASSWORD
    u = urllib.parse.urlsplit(uri)
    q = urllib.parse.parse_qsl(u.query)
    user = dict(q).get("user") or u.username or "postgres"
    q = [(k, v) for k, v in q if k != "user"]
    host = u.netloc.split("@")[-1]
    return urllib.parse.urlunsplit((u.scheme, "%s:%s@%s" % (user, PASSWORD, host), u.path,
                                    urllib.parse.urlencode(q), ""))


def run(args, env_more=None, timeout=None):
    env = harness.clean_env()
    env.update(env_more or {})
    p = subprocess.run([harness.binary()] + args, env=env, capture_output=True,
                       input=ndjson([dict(PERSON, person_id="pw-2")]),
                       timeout=timeout or slow(20))
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def assert_no_password(text, what):
    for secret in (PASSWORD, PGPASSWORD, urllib.parse.quote(PASSWORD)):
        assert secret not in text, "%s shows the password: %s" % (
            what, text[max(0, text.find(secret) - 200):text.find(secret) + 50])


@pytest.mark.parametrize("where", ["userinfo", "query"])
def test_the_password_is_never_printed(cluster, where):
    uri = with_password(cluster.new_database(), where)
    env = {"PGPASSWORD": PGPASSWORD}
    # --help of every command, with the URI in SHIKAKU_DB
    for args in (["--help"], ["serve", "--help"], ["migrate", "--help"], ["import", "--help"],
                 ["key", "--help"], ["export", "--help"]):
        _, text = run(args, dict(env, SHIKAKU_DB=uri))
        assert_no_password(text, " ".join(args))
    rc, text = run(["migrate", "--db", uri], env)
    assert rc == 0, text
    assert_no_password(text, "migrate")
    rc, text = run(["key", "list", "--db", uri], env)
    assert rc == 0, text
    assert_no_password(text, "key list")
    # errors: a database that does not exist, a server that is down
    missing = uri.replace(urllib.parse.urlsplit(uri).path, "/no_such_database")
    for args in (["migrate", "--db", missing], ["key", "list", "--db", missing],
                 ["export", "--db", missing]):
        rc, text = run(args, env)
        assert rc != 0, (args, text)
        assert_no_password(text, " ".join(args[:2]) + " on a missing database")
    s = server_on(uri, start=False)
    os.environ["PGPASSWORD"] = PGPASSWORD   # the server's environment (clean_env)
    try:
        s.start()
    finally:
        del os.environ["PGPASSWORD"]
    try:
        r = s.get("/v1/persons/pw-1")
        assert r.status == 404, r
        metrics = s.direct("GET", "/metrics")
        assert metrics.status == 200
        assert_no_password(metrics.text, "/metrics")
        cluster.stop()
        down = [s.get("/v1/persons/pw-1"), s.direct("GET", "/readyz"),
                s.request("PUT", "/v1/persons/pw-1", json_body=dict(PERSON))]
        for r in down:
            assert r.status == 503, r
            assert_no_password(r.text, "a 503 answer")
        metrics = s.direct("GET", "/metrics")
        assert_no_password(metrics.text, "/metrics while PostgreSQL is down")
        for args in (["migrate", "--db", uri], ["key", "list", "--db", uri],
                     ["import", "--db", uri, "-"]):
            rc, text = run(args, env)
            assert rc != 0, (args, text)
            assert_no_password(text, " ".join(args[:2]) + " while PostgreSQL is down")
        cluster.start()
        wait_pg_answers(s, "/readyz", slow(20), status=200)
        s.settle_log()
        assert_no_password(s.stderr_text(), "the server's log")
    finally:
        s.stop()
    assert_no_password(s.stderr_text(), "the server's log")

