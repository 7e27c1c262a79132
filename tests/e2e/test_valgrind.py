"""Where AddressSanitizer cannot look (uninitialised reads): the plain
binary under valgrind, for the CLI decision path over every shared case and
a short server session.  Skipped for the sanitized binary (valgrind cannot
run it)."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import pytest

import harness

pytestmark = pytest.mark.slow   # valgrind: tens of seconds

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "..", "cases", "eligibility.jsonl")
VG = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
      "--errors-for-leak-kinds=definite"]


def _usable():
    return not harness.sanitized() and shutil.which("valgrind")


def test_eval_of_every_case_is_valgrind_clean():
    if not _usable():
        return
    with open(CASES, encoding="utf-8") as f:
        cases = [json.loads(line) for line in f if line.strip()]
    for case in cases:
        p = subprocess.run(VG + [harness.binary(), "eval"],
                           input=json.dumps(case["request"]).encode(),
                           capture_output=True, timeout=120, env=harness.clean_env())
        assert p.returncode in (0, 1), "%s: valgrind exit %d: %s" % (
            case["name"], p.returncode, p.stderr.decode(errors="replace")[-1500:])
        assert b"==" not in p.stderr, p.stderr.decode(errors="replace")[-1500:]


def test_server_session_is_valgrind_clean():
    if not _usable():
        return
    d = tempfile.mkdtemp(prefix="shikaku-vg-")
    log = os.path.join(d, "vg.log")
    srv = None
    try:
        srv = subprocess.Popen(VG + ["--log-file=" + log, harness.binary(), "serve",
                                    "--listen", "127.0.0.1:0", "--no-auth",
                                    "--db", os.path.join(d, "v.db")],
                               stderr=subprocess.PIPE, env=harness.clean_env())
        port = None
        deadline = time.time() + 60
        while port is None and time.time() < deadline:
            line = srv.stderr.readline()
            if not line:
                break
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("event") == "listening":
                port = ev["port"]
        assert port, "the server did not start under valgrind"
        base = "http://127.0.0.1:%d" % port

        def call(method, path, body=None, ctype="application/json"):
            req = urllib.request.Request(base + path, method=method,
                                         data=body.encode() if body else None)
            if body:
                req.add_header("Content-Type", ctype)
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code

        person = json.dumps({"facility_id": "f", "mynumber_card": "held",
                             "insurance_registration": "registered",
                             "insurer_number": "01130012", "care_needs": ["dementia"]})
        assert call("PUT", "/v1/persons/a1", person) == 201
        assert call("GET", "/v1/persons/a1/eligibility") == 200
        assert call("GET", "/v1/persons?needs_action=true&format=text") == 200
        assert call("POST", "/v1/persons:import", "person_id,mynumber_card\nb1,none\n",
                    "text/csv") == 200
        assert call("POST", "/v1/eligibility:batch",
                    json.dumps({"items": [{"person_id": "a1"}, {"person": {}}]})) == 200
        assert call("POST", "/v1/eligibility:evaluate", "{\"person\": {\"x\": 1}}") == 422
        assert call("GET", "/v1/insurers?q=%E6%9D%B1") == 200
        assert call("GET", "/metrics") == 200
        assert call("DELETE", "/v1/persons/a1") == 204
        srv.terminate()
        rc = srv.wait(timeout=60)
        with open(log, encoding="utf-8", errors="replace") as f:
            report = f.read()
        assert rc == 0 and not report.strip(), "valgrind exit %d:\n%s" % (rc, report[-3000:])
    finally:
        if srv is not None and srv.poll() is None:
            srv.kill()
        shutil.rmtree(d, ignore_errors=True)
