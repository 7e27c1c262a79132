"""Helpers of the PostgreSQL replica and fault tests (test_pg_replicas.py,
test_pg_faults.py): a throwaway cluster of the module's own (pgcluster.py),
shikakud servers on one of its databases, a keep-alive HTTP client, psql.

Each of those modules starts a cluster of its own rather than sharing the
session-wide one of `--store pg`: the fault tests stop and kill theirs, and
the replica tests want a database no other module writes.
"""

import glob
import http.client
import inspect
import json
import os
import shutil
import subprocess
import threading
import time

import pytest

import harness
from harness import HOST, Response, Headers, Server, slow


def pg_binaries():
    """The directory holding initdb and pg_ctl, or None when PostgreSQL's
    server binaries are not installed (make deps installs them)."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: [int(x) for x in d.split("/")[-2].split(".") if x.isdigit()])
    for d in reversed(dirs):
        if os.access(os.path.join(d, "initdb"), os.X_OK) and \
                os.access(os.path.join(d, "pg_ctl"), os.X_OK):
            return d
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return os.path.dirname(initdb)
    return None


def skip_without_postgresql():
    """pytestmark of a module that needs a PostgreSQL cluster."""
    return pytest.mark.skipif(
        pg_binaries() is None,
        reason="PostgreSQL server binaries (initdb, pg_ctl) are not installed: "
               "`make deps` installs Debian's postgresql")


def new_cluster():
    """A running throwaway cluster (pgcluster.py): .new_database() -> URI,
    .stop(mode="fast"), .stop("immediate") (pg_ctl stop -m immediate: a
    crash, WAL replayed at the next start), .start(), .destroy()."""
    import pgcluster
    return pgcluster.PgCluster()


def server_on(uri, extra_args=(), no_auth=True, start=True):
    """A shikakud serving the PostgreSQL database uri."""
    if "db" in inspect.signature(Server.__init__).parameters:
        return Server(list(extra_args), no_auth=no_auth, db=uri, start=start)
    return Server(["--db", uri] + list(extra_args), no_auth=no_auth, start=start)


def psql(uri, sql, timeout=10):
    """One query through psql on uri -> its rows (lists of strings)."""
    p = subprocess.run(["psql", "-X", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                        "-d", uri, "-c", sql],
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("psql %r: %s" % (sql, p.stderr.strip()))
    return [line.split("\t") for line in p.stdout.splitlines() if line]


class Client:
    """Requests on one keep-alive connection to a server (reconnects when
    the server closed it); straight to the server, never through Prism."""

    def __init__(self, server, headers=None, timeout=None):
        self.server = server
        self.headers = dict(headers or {})
        self.timeout = timeout or slow(10)
        self.conn = None

    def connect(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.server.port, timeout=self.timeout)
            self.conn.connect()
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, obj=None, headers=None):
        h = dict(self.headers)
        h.update(headers or {})
        body = None
        if obj is not None:
            body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
            h["Content-Type"] = "application/json"
        for attempt in (0, 1):
            fresh = self.conn is None
            c = self.connect()
            try:
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                data = r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # a keep-alive connection the server closed while idle:
                # once more on a new one (never a fresh one twice)
                self.close()
                if fresh or attempt:
                    raise
                continue
            resp = Response(r.status, Headers(r.getheaders()), data)
            if (resp.headers.get("Connection") or "").lower() == "close":
                self.close()
            return resp
        raise AssertionError("unreachable")

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def put(self, path, obj, headers=None):
        return self.request("PUT", path, obj, headers=headers)


def wait_pg_answers(server, path="/readyz", timeout=None, status=200):
    """Polls server's path until it answers status."""
    last = [None]

    def ok():
        try:
            last[0] = server.direct("GET", path, timeout=slow(5))
        except OSError as e:
            last[0] = e
            return False
        return last[0].status == status

    harness.wait_for(ok, timeout or slow(20),
                     lambda: "%s to answer %d; last %r" % (path, status, last[0]))


class Timed:
    """Runs fn(i, seq) in n threads until stop() -> a list of (t0, seconds,
    outcome) per thread; outcome is what fn returned or the exception."""

    def __init__(self, n, fn, pause=0.005):
        self.fn = fn
        self.pause = pause   # between requests: fast 503s must not starve PostgreSQL's start
        self.stopping = threading.Event()
        self.results = [[] for _ in range(n)]
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(n)]
        for t in self.threads:
            t.start()

    def _run(self, i):
        seq = 0
        while not self.stopping.is_set():
            t0 = time.monotonic()
            try:
                out = self.fn(i, seq)
            except Exception as e:   # noqa: BLE001 - recorded, judged by the test
                out = e
            self.results[i].append((t0, time.monotonic() - t0, out))
            seq += 1
            self.stopping.wait(self.pause)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(slow(30))
        return self.results
