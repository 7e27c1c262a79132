"""End-to-end harness: starts the real shikakud binary on a free loopback port
and speaks HTTP to it.  Python 3 standard library only; 127.0.0.1 only.

run.py calls configure() once, then for each test module begin_module(),
before_test()/after_test() around every test, and end_module().  Tests get
the module's shared server from server(); a test that needs its own server
(other flags) uses Server(...) as a context manager.
"""

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

_config = {"binary": None, "sanitized": False}
_shared = None            # the current module's shared server
_all_servers = []         # every server started, for the final clean-up


def configure(binary, sanitized=False):
    _config["binary"] = os.path.abspath(binary)
    _config["sanitized"] = bool(sanitized)


def binary():
    if not _config["binary"]:
        raise RuntimeError("harness.configure() was not called")
    return _config["binary"]


def sanitized():
    return _config["sanitized"]


def slow(seconds):
    """A time limit, stretched for a sanitized build."""
    return seconds * 3 if _config["sanitized"] else seconds


def clean_env():
    """The environment for the binary: no SHIKAKU_* variables leaking in."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SHIKAKU_")}


def sanitizer_findings(text):
    return [m for m in SANITIZER_MARKERS if m in text]


def today_tokyo():
    tz = datetime.timezone(datetime.timedelta(hours=9))
    return datetime.datetime.now(tz).date().isoformat()


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


# --------------------------------------------------------------------------

class ServerError(AssertionError):
    pass


class Server:
    """One running `shikakud serve` process."""

    def __init__(self, extra_args=(), start=True, listen="127.0.0.1:0", no_auth=True):
        self.extra_args = list(extra_args)
        self.listen = listen
        self.no_auth = no_auth
        self.proc = None
        self.port = None
        self.workdir = None
        self._lines = []
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._reader = None
        self._san_seen = 0        # stderr length already checked for sanitizer output
        self.stopped = False
        if start:
            self.start()

    # ---- life cycle --------------------------------------------------------

    def argv(self):
        a = [binary(), "serve", "--listen", self.listen]
        if self.no_auth:
            a.append("--no-auth")
        a += ["--db", os.path.join(self.workdir, "x.db")] + self.extra_args
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
                return self.port
            if self.proc.poll() is not None:
                self._reader.join(2)
                raise ServerError("server exited (code %s) before listening; stderr: %s"
                                  % (self.proc.returncode, self.stderr_tail()))
        self.kill()
        raise ServerError("no \"event\":\"listening\" line with a port on stderr within %d s; "
                          "stderr: %s" % (timeout, self.stderr_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr_text(self):
        with self._lock:
            return "\n".join(self._lines)

    def stderr_lines(self):
        with self._lock:
            return list(self._lines)

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

    def kill(self):
        self.stopped = True
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
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout or slow(10))
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
        buf = b""
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
            while time.monotonic() < deadline:
                r, _, _ = select.select([s], [], [], 0.2)
                if not r:
                    continue
                try:
                    chunk = s.recv(65536)
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
        finally:
            s.close()

    def raw_response(self, data, timeout=None):
        return parse_raw_response(self.raw(data, timeout=timeout))


# --------------------------------------------------------------------------
# Module-scoped shared server, checked around each test by run.py.

def server():
    """The current module's server, started on first use (and restarted after
    a crash, which after_test() has already reported)."""
    global _shared
    if _shared is None or _shared.stopped or not _shared.alive():
        if _shared is not None and not _shared.stopped:
            _shared.kill()
        _shared = Server()
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


# --------------------------------------------------------------------------
# Running the CLI.

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


# --------------------------------------------------------------------------
# Shared checks.

DECISION_KEYS = {"decision_id", "evaluated_at", "as_of", "ruleset", "registration",
                 "certificate", "insurer", "missing_facts", "reasons", "advice"}
NESTED_KEYS = {
    "ruleset": {"id", "version"},
    "registration": {"status", "usable"},
    "certificate": {"entitlement", "application_required", "may_apply", "apply_by",
                    "recommended_apply_by", "applicants"},
    "insurer": {"number", "valid", "scheme", "prefecture_code", "prefecture",
                "prefecture_en", "name", "channel"},
}


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
