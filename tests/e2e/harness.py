"""End-to-end harness: starts the real shikakud binary on a free loopback port
and speaks HTTP to it.  Python 3 standard library only; 127.0.0.1 only.

pytest runs the tests (tests/e2e/conftest.py): it calls configure() once
from its command line options, then for each test module begin_module(),
before_test()/after_test() around every test (a test during which the shared
server died or a sanitizer reported something fails), and end_module().
Tests are plain functions; they get the module's shared server from
server() (or the conftest's fixtures); a test that needs its own server
(other flags) uses Server(...) as a context manager.  wait_for() waits for a
condition with a deadline: a test never sleeps a fixed time and then asserts.

With configure(..., prism=CMD) (pytest --via-prism) every server also gets a
Prism validating proxy (`prism proxy --errors`) in front of it, on another
free loopback port, and Server.request() goes through the proxy: a response
that does not match openapi.yaml comes back from Prism as a VIOLATIONS
problem, which fails the test.  What the proxy cannot carry unchanged goes
straight to the server (raw sockets: raw(), connect(), .port; bodies Prism
would re-encode or refuse: not UTF-8, JSON with a duplicate key or a number
JSON.parse rounds; requests Prism refuses itself, such as an unknown path or
method, or a missing key on a server with keys) and is counted as "direct".
"""

import atexit
import contextlib
import datetime
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

HOST = "127.0.0.1"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")

_config = {"binary": None, "sanitized": False, "prism": None, "spec": None,
           "store": "sqlite", "pg": None}
# --via-prism: requests sent through a proxy, and those sent past it
prism_stats = {"proxied": 0, "direct": 0, "proxies": 0, "startup_s": 0.0, "why": {}}
PRISM_ERROR_PREFIX = "https://stoplight.io/prism/errors#"
# A placeholder bearer key for servers started with --no-auth (they never
# read it): openapi.yaml requires bearerAuth on /v1, and Prism checks that.
NO_AUTH_BEARER = "Bearer e2e-no-auth-server"
_shared = None            # the current module's shared server
_all_servers = []         # every server started, for the final clean-up


def configure(binary, sanitized=False, prism=None, spec=None):
    """prism: the Prism CLI command (a list) to put a validating proxy in
    front of every server, with spec the OpenAPI document; None: no proxy."""
    _config["binary"] = os.path.abspath(binary)
    _config["sanitized"] = bool(sanitized)
    _config["prism"] = list(prism) if prism else None
    _config["spec"] = os.path.abspath(spec) if spec else None


def configure_store(name):
    """The store every Server uses by default: "sqlite" (a file in the
    server's directory) or "pg" (a fresh database of one session-wide
    throwaway PostgreSQL cluster, tests/e2e/pgcluster.py)."""
    if name not in ("sqlite", "pg"):
        raise ValueError("store must be sqlite or pg, not %r" % name)
    _config["store"] = name


def store():
    """"sqlite" or "pg": the store this run tests."""
    return _config["store"]


def pg_cluster():
    """The session's throwaway PostgreSQL (started on first use)."""
    if _config["pg"] is None:
        import pgcluster
        _config["pg"] = pgcluster.PgCluster()
    return _config["pg"]


def new_db(directory=None, name="x.db"):
    """A new, empty database of the current store for --db: a file path
    (directory/name, directory default: a new temporary one) on SQLite, a
    fresh database's URI on PostgreSQL."""
    if store() == "pg":
        return pg_cluster().new_database()
    directory = directory or tempfile.mkdtemp(prefix="shikaku-e2e-db-")
    return os.path.join(directory, name)


def via_prism():
    return _config["prism"] is not None


def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _json_no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def _json_survives_node(obj):
    """True when JSON.parse + JSON.stringify keeps obj's meaning: integers
    within 2^53, finite floats."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return True
    if isinstance(obj, int):
        return abs(obj) <= 2 ** 53
    if isinstance(obj, float):
        return obj == obj and obj not in (float("inf"), float("-inf"))
    if isinstance(obj, list):
        return all(_json_survives_node(v) for v in obj)
    if isinstance(obj, dict):
        return all(_json_survives_node(v) for v in obj.values())
    return False


def _proxy_can_carry(headers, body):
    """Can the request go through Prism without being changed in meaning?
    Prism reads a JSON body (application/json or */*+json) with JSON.parse
    and sends JSON.stringify of it; any other body as UTF-8 text."""
    if body is None or body == b"":
        return True
    if len(body) > (8 << 20):
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    ct = ""
    for k, v in headers.items():
        if k.lower() == "content-type":
            ct = v.split(";")[0].strip().lower()
    if ct == "application/json" or (ct.startswith("application/") and ct.endswith("+json")):
        try:
            obj = json.loads(text, object_pairs_hook=_json_no_duplicates)
        except (ValueError, RecursionError):
            return False
        if text.startswith("\ufeff") or not _json_survives_node(obj):
            return False
        # 2048 levels of nesting and more: V8 copes, but keep it exact
        return text.count("[") + text.count("{") < 1000
    return True


def binary():
    if not _config["binary"]:
        raise RuntimeError("harness.configure() was not called")
    return _config["binary"]


def sanitized():
    return _config["sanitized"]


def slow(seconds):
    """A time limit, stretched for a sanitized build."""
    return seconds * 3 if _config["sanitized"] else seconds


def wait_for(predicate, timeout=None, what="the condition", interval=0.05):
    """Calls predicate() until it returns a true value, and returns that
    value; fails the test (AssertionError naming what, a string or a
    function returning one, called on failure) when timeout seconds
    (default slow(10)) pass first.  An exception from predicate ends the
    wait and propagates."""
    timeout = slow(10) if timeout is None else timeout
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("waited %.1f s for %s" % (
                timeout, what() if callable(what) else what))
        time.sleep(interval)


def clean_env():
    """The environment for the binary: no SHIKAKU_* variables leaking in."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SHIKAKU_")}


def sanitizer_findings(text):
    return [m for m in SANITIZER_MARKERS if m in text]


def today_tokyo():
    tz = datetime.timezone(datetime.timedelta(hours=9))
    return datetime.datetime.now(tz).date().isoformat()


def fresh(facts, **extra):
    """facts verified today (not stale), with extra record members."""
    d = dict(facts)
    d["verified_at"] = today_tokyo()
    d.update(extra)
    return d


# --------------------------------------------------------------------------
# Case-insensitive headers that keep repeated ones.

class Headers:
    def __init__(self, pairs):
        self._pairs = [(k, v) for k, v in pairs]

    def get_all(self, name):
        n = name.lower()
        return [v for k, v in self._pairs if k.lower() == n]

    def get(self, name, default=None):
        vals = self.get_all(name)
        return vals[0] if vals else default

    def __getitem__(self, name):
        vals = self.get_all(name)
        if not vals:
            raise KeyError(name)
        return vals[0]

    def __contains__(self, name):
        return bool(self.get_all(name))

    def items(self):
        return list(self._pairs)

    def __repr__(self):
        return "Headers(%r)" % (self._pairs,)


class Response:
    """(status, headers, body, json) - unpackable as a 4-tuple."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self.json = None
        if body:
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                self.json = None

    def __iter__(self):
        return iter((self.status, self.headers, self.body, self.json))

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def __repr__(self):
        b = self.body[:300]
        return "<%d %s %r>" % (self.status, self.content_type, b)


def parse_raw_response(data):
    """Parses one HTTP/1.x response from raw bytes -> Response (or None when
    nothing parsable came back)."""
    if not data:
        return None
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = data[:end].decode("iso-8859-1")
    rest = data[end + 4:]
    lines = head.split("\r\n")
    m = re.match(r"HTTP/\d\.\d (\d{3})", lines[0])
    if not m:
        return None
    pairs = []
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            pairs.append((k.strip(), v.strip()))
    h = Headers(pairs)
    if "chunked" in (h.get("Transfer-Encoding") or "").lower():
        body = b""
        while True:
            i = rest.find(b"\r\n")
            if i < 0:
                break
            try:
                size = int(rest[:i].split(b";")[0], 16)
            except ValueError:
                break
            if size == 0:
                break
            body += rest[i + 2:i + 2 + size]
            rest = rest[i + 2 + size + 2:]
    else:
        cl = h.get("Content-Length")
        body = rest[:int(cl)] if cl is not None and cl.isdigit() else rest
    return Response(int(m.group(1)), h, body)


def _response_complete(buf):
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = buf[:end].decode("iso-8859-1").lower()
    m = re.search(r"\r\ncontent-length:\s*(\d+)", head)
    if m:
        return len(buf) - end - 4 >= int(m.group(1))
    if "transfer-encoding: chunked" in head:
        return buf.endswith(b"0\r\n\r\n")
    return False


def read_response(sock, deadline):
    """Reads from sock (blocking or not) until a whole HTTP response is in,
    the peer closes or errs, or time.monotonic() passes deadline -> the
    bytes read (maybe none, maybe part of a response)."""
    buf = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], 0.2)
        if not r:
            continue
        try:
            chunk = sock.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
        if _response_complete(buf):
            break
    return buf


# --------------------------------------------------------------------------

def _prism_problem(r):
    """The Prism error name (e.g. VIOLATIONS, NO_PATH_MATCHED_ERROR) when r
    is a problem Prism made itself, else None."""
    j = r.json
    if isinstance(j, dict) and isinstance(j.get("type"), str) and \
            j["type"].startswith(PRISM_ERROR_PREFIX):
        return j["type"][len(PRISM_ERROR_PREFIX):]
    return None


def _violations(r):
    j = r.json or {}
    out = []
    for v in (j.get("validation") or [])[:8]:
        if isinstance(v, dict):
            out.append("%s %s: %s" % (v.get("location"), v.get("code"), v.get("message")))
    return "; ".join(out) or j.get("detail") or r.body[:500]


_METRIC_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_METRIC_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class ServerError(AssertionError):
    pass


class Server:
    """One running `shikakud serve` process."""

    _settle = 0  # marks for settle_log

    def __init__(self, extra_args=(), start=True, listen="127.0.0.1:0", no_auth=True,
                 db_path=None, db=None):
        """no_auth=False serves with API keys; db: a database of the
        caller's for the current store (harness.new_db(), e.g. with keys
        made beforehand by `key create`); db_path: a SQLite file of the
        caller's, whatever the store; both left in place by stop().
        Default: x.db in the server's own temporary directory (SQLite) or a
        fresh database (PostgreSQL)."""
        self.extra_args = list(extra_args)
        self.listen = listen
        self.no_auth = no_auth
        self.db_path = db or db_path
        self.proc = None
        self.port = None
        self.workdir = None
        self._lines = []
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._reader = None
        self._san_seen = 0        # stderr length already checked for sanitizer output
        self.stopped = False
        self.prism = None         # the Prism proxy process (--via-prism)
        self.prism_port = None
        self._prism_log = None
        if start:
            self.start()

    # ---- life cycle --------------------------------------------------------

    def argv(self):
        a = [binary(), "serve", "--listen", self.listen]
        if self.no_auth:
            a.append("--no-auth")
        if self.db_path is None and store() == "pg":
            self.db_path = new_db()
        a += ["--db", self.db_path or os.path.join(self.workdir, "x.db")] + self.extra_args
        return a

    def start(self, wait=True):
        self.workdir = tempfile.mkdtemp(prefix="shikaku-e2e-")
        self.proc = subprocess.Popen(self.argv(), cwd=self.workdir, env=clean_env(),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        _all_servers.append(self)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if wait:
            self.wait_listening()
        return self

    def _read_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with self._lock:
                self._lines.append(line)
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if (isinstance(obj, dict) and obj.get("event") == "listening"
                    and self.port is None and isinstance(obj.get("port"), int)):
                self.port = obj["port"]
                self._listening.set()
        self.proc.stderr.close()

    def wait_listening(self, timeout=None):
        timeout = timeout or (20 if sanitized() else 10)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._listening.wait(0.05):
                if via_prism() and self.prism is None:
                    self._start_prism()
                return self.port
            if self.proc.poll() is not None:
                self._reader.join(2)
                raise ServerError("server exited (code %s) before listening; stderr: %s"
                                  % (self.proc.returncode, self.stderr_tail()))
        self.kill()
        raise ServerError("no \"event\":\"listening\" line with a port on stderr within %d s; "
                          "stderr: %s" % (timeout, self.stderr_tail()))

    def _start_prism(self, timeout=60):
        """Starts `prism proxy --errors` in front of this server and waits
        until it accepts connections (Prism takes a few seconds)."""
        t0 = time.monotonic()
        self.prism_port = _free_port()
        self._prism_log = open(os.path.join(self.workdir, "prism.log"), "wb")
        argv = _config["prism"] + [
            "proxy", "--errors", "--validate-request=false", "--cors=false",
            "--host", HOST, "--port", str(self.prism_port),
            _config["spec"], "http://%s:%d" % (HOST, self.port)]
        self.prism = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                      stdout=self._prism_log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.prism.poll() is not None:
                raise ServerError("prism exited (code %s) before listening: %s"
                                  % (self.prism.returncode, self.prism_log_tail()))
            try:
                socket.create_connection((HOST, self.prism_port), timeout=1).close()
                prism_stats["proxies"] += 1
                prism_stats["startup_s"] += time.monotonic() - t0
                return
            except OSError:
                time.sleep(0.1)
        self._stop_prism()
        raise ServerError("prism did not listen on %d within %d s" % (self.prism_port, timeout))

    def prism_log_tail(self, n=2000):
        try:
            with open(os.path.join(self.workdir, "prism.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")[-n:]
        except OSError:
            return "(no log)"

    def _stop_prism(self):
        p, self.prism = self.prism, None
        if p is not None and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)   # its own session: prism and its children
            except OSError:
                p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    p.kill()
                p.wait(5)
        if self._prism_log is not None:
            self._prism_log.close()
            self._prism_log = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr_text(self):
        with self._lock:
            return "\n".join(self._lines)

    def stderr_lines(self):
        with self._lock:
            return list(self._lines)

    def log_events(self):
        """The JSON objects of stderr, in order (other lines left out)."""
        out = []
        for line in self.stderr_lines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    def settle_log(self, timeout=10):
        """Returns once every request answered so far has its line on stderr.

        Request lines leave the server in batches, within 50 ms
        (service/log.h): one flush pass writes every thread's buffer.  A
        marked /healthz request is sent and its line awaited; then a
        second one, sent after the first line was read, so that the pass
        which wrote the first has ended and all of it has been read."""
        for _ in range(2):
            Server._settle += 1
            mark = "settle-log-%d" % Server._settle
            self.get("/healthz", headers={"X-Request-Id": mark})
            wait_for(lambda: any(mark in l for l in self.stderr_lines()), slow(timeout),
                     lambda: "the request line of %s on stderr; tail: %s"
                     % (mark, self.stderr_tail()), interval=0.02)

    def stderr_tail(self, n=15):
        with self._lock:
            tail = self._lines[-n:]
        return " | ".join(tail) if tail else "(empty)"

    def new_sanitizer_findings(self):
        """Sanitizer reports that appeared on stderr since the last call."""
        if not sanitized():
            return []
        text = self.stderr_text()
        found = sanitizer_findings(text[self._san_seen:])
        self._san_seen = len(text)
        return found

    def stop(self, timeout=15):
        """SIGTERM, wait, assert exit 0 (and a clean sanitizer report)."""
        if self.stopped:
            return
        self.stopped = True
        self._stop_prism()
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
                    raise ServerError("server did not exit within %d s of SIGTERM" % timeout)
            self._reader.join(5)
            rc = self.proc.returncode
            if rc != 0:
                raise ServerError("server exited with code %s after SIGTERM; stderr: %s"
                                  % (rc, self.stderr_tail()))
            if sanitized():
                found = sanitizer_findings(self.stderr_text())
                if found:
                    raise ServerError("sanitizer reported %s; stderr: %s"
                                      % (", ".join(found), self.stderr_tail(40)))
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def exited(self):
        """The test made the process exit and reaped it itself: marks the
        server stopped and stops its Prism proxy (its own session, which
        would otherwise outlive the run); the workdir stays for the test."""
        self.stopped = True
        self._stop_prism()

    def kill(self):
        self.stopped = True
        self._stop_prism()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            self.stop()
        else:
            self.kill()
        return False

    # ---- HTTP ------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, json_body=None,
                timeout=None, content_type="application/json"):
        """One request on a new connection -> Response (status, headers, body, json).

        json_body: a Python object, sent as UTF-8 JSON with Content-Type
        content_type (None = no Content-Type).  body: raw bytes/str."""
        hdrs = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            if content_type is not None and not any(k.lower() == "content-type" for k in hdrs):
                hdrs["Content-Type"] = content_type
        if isinstance(body, str):
            body = body.encode("utf-8")
        why = None
        if self.prism is not None and (method == "HEAD" or not _proxy_can_carry(hdrs, body)):
            why = "HEAD" if method == "HEAD" else "body Prism would change"
        elif self.prism is not None:
            phdrs = dict(hdrs)
            if self.no_auth and not any(k.lower() == "authorization" for k in phdrs):
                phdrs["Authorization"] = NO_AUTH_BEARER
            r = self._send(self.prism_port, method, path, body, phdrs, timeout)
            err = _prism_problem(r)
            if err is None and "X-Request-Id" not in r.headers:
                # Not the server's answer (it always sends X-Request-Id):
                # Prism's own, e.g. a 500 when the server does not answer.
                err = "NOT_FROM_SERVER"
            if err is None:
                prism_stats["proxied"] += 1
                return r
            if err == "VIOLATIONS":
                prism_stats["proxied"] += 1
                raise AssertionError(
                    "the response to %s %s does not match openapi.yaml (prism): %s"
                    % (method, path.split("?")[0], _violations(r)))
            # Prism refused the request itself (no such path or method in
            # openapi.yaml, no bearer key): the test meant it; ask directly.
            why = err
        if self.prism is not None:
            prism_stats["direct"] += 1
            prism_stats["why"][why] = prism_stats["why"].get(why, 0) + 1
        return self._send(self.port, method, path, body, hdrs, timeout)

    def _send(self, port, method, path, body, hdrs, timeout):
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout or slow(10))
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, Headers(r.getheaders()), data)
        finally:
            conn.close()

    def get(self, path, headers=None, **kw):
        return self.request("GET", path, headers=headers, **kw)

    def post(self, path, obj, headers=None, **kw):
        return self.request("POST", path, json_body=obj, headers=headers, **kw)

    def evaluate(self, obj, query="", headers=None, **kw):
        return self.post("/v1/eligibility:evaluate" + query, obj, headers=headers, **kw)

    def direct(self, method, path, body=None, headers=None, timeout=None, source=None):
        """One request straight to the server, past the Prism proxy of
        --via-prism (not counted in its statistics) -> Response.  source:
        the local address to send from, e.g. "127.0.0.2" to stay outside
        a per-IP limit that 127.0.0.1's connections have reached."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout or slow(10),
                                          source_address=(source, 0) if source else None)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            r = conn.getresponse()
            return Response(r.status, Headers(r.getheaders()), r.read())
        finally:
            conn.close()

    def metric(self, name, headers=None, source=None, **labels):
        """The value (a float) of one sample of GET /metrics, asked
        directly (see direct()): name with exactly these labels; None when
        there is no such sample."""
        r = self.direct("GET", "/metrics", headers=headers, source=source)
        assert r.status == 200, "GET /metrics: %r" % (r,)
        want = {k: str(v) for k, v in labels.items()}
        for line in r.text.splitlines():
            m = _METRIC_SAMPLE.match(line)
            if m and m.group(1) == name and \
                    dict(_METRIC_LABEL.findall(m.group(2) or "")) == want:
                return float(m.group(3))
        return None

    def open_connections(self, source=None):
        """shikaku_open_connections, counting the connection that asks."""
        return self.metric("shikaku_open_connections", source=source)

    def connect(self, timeout=None):
        s = socket.create_connection((HOST, self.port), timeout=timeout or slow(10))
        return s

    def raw(self, data, timeout=None, close_after_send=False):
        """Sends raw bytes on a new socket and returns the raw response bytes.

        Stops sending (without error) when the server answers or closes early,
        e.g. a 413 before the whole body went out; reads until the response is
        complete, the server closes, or timeout."""
        timeout = timeout or slow(10)
        if isinstance(data, str):
            data = data.encode("utf-8")
        s = socket.create_connection((HOST, self.port), timeout=timeout)
        try:
            s.setblocking(False)
            view = memoryview(data)
            deadline = time.monotonic() + timeout
            while view and time.monotonic() < deadline:
                r, w, _ = select.select([s], [s], [], 0.5)
                if r:
                    break          # the server answers (or closed) early
                if w:
                    try:
                        n = s.send(view[:65536])
                    except BlockingIOError:
                        continue
                    except OSError:
                        break      # EPIPE / ECONNRESET: it stopped reading
                    view = view[n:]
            if close_after_send:
                return b""
            return read_response(s, deadline)
        finally:
            s.close()

    def raw_response(self, data, timeout=None):
        return parse_raw_response(self.raw(data, timeout=timeout))


# --------------------------------------------------------------------------
# Module-scoped shared server, checked around each test by conftest.py.

def server(factory=None):
    """The current module's server, started on first use (and restarted after
    a crash, which after_test() has already reported).  factory: a callable
    making it (default Server()), for a module whose server needs other
    flags, e.g. keys (no_auth=False)."""
    global _shared
    if _shared is None or _shared.stopped or not _shared.alive():
        if _shared is not None and not _shared.stopped:
            _shared.kill()
        _shared = factory() if factory else Server()
    return _shared


def begin_module():
    global _shared
    _shared = None


def before_test():
    """Nothing to do: sanitizer output that appeared between tests is
    reported by the next test's after_test()."""


def after_test():
    """Returns a failure reason when the shared server died or reported a
    sanitizer finding during the test, else None."""
    global _shared
    s = _shared
    if s is None or s.stopped:
        return None
    time.sleep(0.01)
    if not s.alive():
        s._reader.join(2)
        reason = "server died (exit code %s); stderr: %s" % (s.proc.returncode, s.stderr_tail(25))
        s.kill()
        _shared = None
        return reason
    found = s.new_sanitizer_findings()
    if found:
        return "sanitizer reported %s; stderr: %s" % (", ".join(found), s.stderr_tail(40))
    return None


def end_module():
    """Stops the shared server: raises ServerError when it does not exit 0
    or the sanitizer complained."""
    global _shared
    s, _shared = _shared, None
    if s is not None and not s.stopped:
        s.stop()


def cleanup_all():
    for s in _all_servers:
        if not s.stopped:
            s.kill()
        elif s.workdir:  # exited(): the test was done with it
            shutil.rmtree(s.workdir, ignore_errors=True)
    if _config["pg"] is not None:
        _config["pg"].destroy()
        _config["pg"] = None


# --------------------------------------------------------------------------
# Running the CLI.

def temp_dir(prefix):
    """A new temporary directory, removed when the test run ends."""
    d = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, d, True)
    return d


class TempRun:
    """What temp_run() yields: a directory of its own (dir), a database path
    in it (db), and the servers started through server()."""

    def __init__(self, d, db_name):
        self.dir = d
        self.db = os.path.join(d, db_name)
        self.servers = []

    def server(self, *args, **kw):
        """Server(*args, **kw), on this run's database unless db_path is
        given; killed at the end of the run unless stopped before."""
        kw.setdefault("db_path", self.db)
        s = Server(*args, **kw)
        self.servers.append(s)
        return s


@contextlib.contextmanager
def temp_run(tag, db_name="x.db"):
    """`with temp_run("crash") as run:` -- a test that starts and stops servers
    of its own on a database of its own: on leaving (also on a failure), every
    server it started and did not stop is killed and the directory removed."""
    d = tempfile.mkdtemp(prefix="shikaku-%s-" % tag)
    run = TempRun(d, db_name)
    try:
        yield run
    finally:
        for s in run.servers:
            if not s.stopped:
                s.kill()
        shutil.rmtree(d, ignore_errors=True)


def run_cli(args, stdin=None, timeout=None, cwd=None):
    """Runs the binary with args -> CompletedProcess (stdout/stderr as text).
    Fails the test on a sanitizer report."""
    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8")
    p = subprocess.run([binary()] + list(args), input=stdin if stdin is not None else b"",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout or slow(10), env=clean_env(), cwd=cwd)
    p.stdout = p.stdout.decode("utf-8", errors="replace")
    p.stderr = p.stderr.decode("utf-8", errors="replace")
    if sanitized():
        found = sanitizer_findings(p.stderr)
        if found:
            raise AssertionError("sanitizer reported %s running %s; stderr: %s"
                                 % (", ".join(found), args, p.stderr[-2000:]))
    return p


def make_key(db, role, facility=None):
    """`shikakud key create` on the database file db (made when absent)
    -> the key's secret (stdout line 1)."""
    args = ["key", "create", "--db", db, "--role", role]
    if facility:
        args += ["--facility", facility]
    p = run_cli(args)
    assert p.returncode == 0, "key create: exit %d, stderr %s" % (p.returncode, p.stderr)
    key = p.stdout.splitlines()[0].strip() if p.stdout else ""
    assert key.startswith("shk_"), "key create printed %r" % p.stdout
    return key


# --------------------------------------------------------------------------
# Shared checks.

DECISION_KEYS = {"decision_id", "evaluated_at", "as_of", "ruleset", "registration",
                 "certificate", "insurer", "missing_facts", "reasons", "advice", "next_change"}
NESTED_KEYS = {
    "ruleset": {"id", "version"},
    "registration": {"status", "usable"},
    "certificate": {"entitlement", "application_required", "may_apply", "apply_by",
                    "recommended_apply_by", "applicants"},
    "insurer": {"number", "valid", "scheme", "prefecture_code", "prefecture",
                "prefecture_en", "name", "channel"},
}


NEXT_CHANGE_KEYS = {"date", "registration_status", "entitlement", "application_required",
                    "reason"}


def decision_missing_keys(d):
    """Keys of SPEC §6 absent from decision d (dotted), [] when complete."""
    if not isinstance(d, dict):
        return ["(decision is not an object)"]
    missing = sorted(DECISION_KEYS - set(d))
    for k, sub in NESTED_KEYS.items():
        v = d.get(k)
        if not isinstance(v, dict):
            if k in d:
                missing.append("%s (not an object)" % k)
            continue
        missing += sorted("%s.%s" % (k, s) for s in sub - set(v))
    nc = d.get("next_change")
    if nc is not None:
        if not isinstance(nc, dict):
            missing.append("next_change (not an object or null)")
        else:
            missing += sorted("next_change.%s" % s for s in NEXT_CHANGE_KEYS - set(nc))
    for k in ("reasons", "advice"):
        for i, e in enumerate(d.get(k) or []):
            if not isinstance(e, dict):
                missing.append("%s[%d] (not an object)" % (k, i))
                continue
            missing += ["%s[%d].%s" % (k, i, s) for s in ("code", "source", "text") if s not in e]
    return missing


def problem_defects(r, status=None):
    """What is wrong with r as an RFC 9457 problem with errors[] (list of
    strings; [] when fine)."""
    bad = []
    if status is not None and r.status != status:
        bad.append("status %d, expected %d" % (r.status, status))
    if r.content_type != "application/problem+json":
        bad.append("Content-Type %r, expected application/problem+json"
                   % r.headers.get("Content-Type"))
    j = r.json
    if not isinstance(j, dict):
        return bad + ["body is not a JSON object: %r" % r.body[:200]]
    for k, t in (("type", str), ("title", str), ("status", int), ("detail", str)):
        if not isinstance(j.get(k), t):
            bad.append("%s missing or not %s" % (k, t.__name__))
    if j.get("status") != r.status:
        bad.append("body status %r != HTTP %d" % (j.get("status"), r.status))
    errs = j.get("errors")
    if not isinstance(errs, list) or not errs:
        bad.append("errors missing or empty")
    else:
        for i, e in enumerate(errs):
            if not isinstance(e, dict):
                bad.append("errors[%d] not an object" % i)
                continue
            for k in ("field", "code", "message"):
                if not isinstance(e.get(k), str):
                    bad.append("errors[%d].%s missing or not a string" % (i, k))
    return bad


def error_codes(j):
    try:
        return [e.get("code") for e in j.get("errors") or []]
    except AttributeError:
        return []


def error_pairs(j):
    try:
        return sorted((e.get("field"), e.get("code")) for e in j.get("errors") or [])
    except AttributeError:
        return []


def assert_problem(r, status, code=None, field=None, single=False):
    """Asserts r is a problem+json of that status; code/field: some error has
    that code (and field); single: exactly one error."""
    bad = problem_defects(r, status)
    assert not bad, "; ".join(bad) + " -- got %r" % (r,)
    errs = r.json["errors"]
    if code is not None:
        if field is None:
            assert code in error_codes(r.json), \
                "no error with code %r in %r" % (code, error_pairs(r.json))
        else:
            assert (field, code) in [(e["field"], e["code"]) for e in errs], \
                "no error (%r, %r) in %r" % (field, code, error_pairs(r.json))
    if single:
        assert len(errs) == 1, "expected a single error, got %r" % (error_pairs(r.json),)


def codes(entries):
    return [e.get("code") for e in entries or [] if isinstance(e, dict)]


# ---- helpers shared by test modules --------------------------------------

def days_from_today(n):
    """The date n days after today in Tokyo (before it when n < 0), ISO."""
    today = datetime.date.fromisoformat(today_tokyo())
    return (today + datetime.timedelta(days=n)).isoformat()


def days_ago(n):
    return days_from_today(-n)


def days_ahead(n):
    return days_from_today(n)


def insurer_check_digit(digits):
    """SPEC §5: from the rightmost, ×2, ×1, ... digit sums; (10 - sum mod 10) mod 10."""
    s = 0
    for i, ch in enumerate(reversed(digits)):
        p = int(ch) * (2 if i % 2 == 0 else 1)
        s += p // 10 + p % 10
    return str((10 - s % 10) % 10)


def insurer_number(first7):
    """first7 (or the 5 digits of a 6-digit number) with its check digit."""
    return first7 + insurer_check_digit(first7)


class TempFiles:
    """`with TempFiles("cli") as t:` -- a directory (t.path) removed on
    leaving; t.write(name, text) writes a UTF-8 file there -> its path."""

    def __init__(self, tag="files"):
        self.tag = tag
        self.path = None

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="shikaku-%s-" % self.tag)
        return self

    def write(self, name, text):
        path = os.path.join(self.path, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def __exit__(self, *a):
        shutil.rmtree(self.path, ignore_errors=True)
        return False


def put_person(pid, body, s=None):
    """PUT /v1/persons/{pid} on s (the module's server by default): 200 or
    201 asserted -> the response."""
    r = (s or server()).request("PUT", "/v1/persons/" + pid, json_body=body)
    assert r.status in (200, 201), r
    return r


# A key of each role, and besides them keys bound to facilities fac-a, fac-b:
# (name in the module's state, role, facility).
ROLE_KEYS = (("reader", "reader", None), ("writer", "writer", None),
             ("admin", "admin", None))
FACILITY_KEYS = ROLE_KEYS + (("writer_a", "writer", "fac-a"), ("reader_a", "reader", "fac-a"),
                             ("writer_b", "writer", "fac-b"))


def module_keys(state, tag, specs=ROLE_KEYS):
    """Fills state (a module's dict, once: while it is empty) with a database
    of the module's own (state["db"], in a directory removed at exit) and a
    key made there for each (name, role, facility) of specs -> state."""
    if not state:
        db = os.path.join(temp_dir("shikaku-%s-" % tag), "x.db")
        state["db"] = db
        for name, role, facility in specs:
            state[name] = make_key(db, role, facility)
    return state


def keyed_server(state):
    """The module's server on state's database (module_keys), asking keys."""
    return server(lambda: Server(no_auth=False, db_path=state["db"]))


def bearer(key, **more):
    """Headers with Authorization: Bearer key, and more."""
    h = {"Authorization": "Bearer " + key}
    h.update(more)
    return h


class ModuleKeys:
    """A module's database and keys (module_keys), made on first use:
    keys() the dict, server() the module's server asking keys, auth(name)
    the headers of key name."""

    def __init__(self, tag, specs=ROLE_KEYS):
        self.tag, self.specs, self.state = tag, specs, {}

    def keys(self):
        return module_keys(self.state, self.tag, self.specs)

    def server(self):
        return keyed_server(self.keys())

    def auth(self, name, **more):
        return bearer(self.keys()[name], **more)


# Facts of a person decided with an application required (usable card, care
# needs); settled (usable card, no care needs: not_entitled, nothing to do);
# undetermined (card and registration unknown); ex officio (no card).
NEEDS_APPLICATION = {"birth_date": "1960-04-01", "insurer_number": "138057",
                     "mynumber_card": "held", "insurance_registration": "registered",
                     "care_needs": ["dementia"], "setting": "care_facility"}
SETTLED = {"birth_date": "1960-04-01", "insurer_number": "138057",
           "mynumber_card": "held", "insurance_registration": "registered"}
UNDETERMINED = {"birth_date": "1960-04-01", "insurer_number": "138057"}
NO_CARD = {"birth_date": "1960-04-01", "insurer_number": "138057", "mynumber_card": "none"}


# The repository's top directory (this file is tests/e2e/harness.py).
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def repo_file(rel):
    """The text of the repository's file rel (a path from its top)."""
    with open(os.path.join(REPO_ROOT, rel), encoding="utf-8") as f:
        return f.read()


def send_and_read_all(sock, data):
    """Sends data on sock, then reads until the peer closes -> the bytes."""
    sock.sendall(data)
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return buf
        buf += chunk
