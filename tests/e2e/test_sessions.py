"""The facility page and the browser parts of SPEC §8 (issue 15): the page
and its files (security headers, ETag/304, unknown files 404), sessions
(cookie flags, CSRF token, idle expiry, revocation, sign-out, never
cross-origin) and CORS (preflight, answer headers, disallowed origins).

Each test starts the servers it needs; keys are made in a database of the
module's own with `key create`."""

import atexit
import os
import shutil
import tempfile

import harness
import time

from harness import Server, assert_problem, run_cli, slow

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
ALLOWED = "http://127.0.0.1:9"  # an origin allowed by --cors-origin
_state = {}


def _db():
    if "db" not in _state:
        d = tempfile.mkdtemp(prefix="shikaku-sess-")
        atexit.register(shutil.rmtree, d, True)
        _state["db"] = os.path.join(d, "x.db")
    return _state["db"]


def make_key(role, db=None):
    p = run_cli(["key", "create", "--db", db or _db(), "--role", role])
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()[0].strip()


def keyed(*extra):
    """A server with keys on the module's database (started now)."""
    _db()
    make_key("reader")  # makes the database before the server opens it
    return Server(no_auth=False, db_path=_db(),
                  extra_args=["--cors-origin", ALLOWED] + list(extra))


def poll_until(cond, timeout, what):
    deadline = time.monotonic() + slow(timeout)
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def sign_in(s, key, body=False):
    if body:
        r = s.post("/v1/sessions", {"key": key})
    else:
        r = s.request("POST", "/v1/sessions", headers={"Authorization": "Bearer " + key})
    assert r.status == 201, r
    cookie = r.headers["Set-Cookie"]
    token = cookie.split(";")[0]
    return r, token, r.json["csrf_token"]


# ---- the page ----------------------------------------------------------------

def test_page_has_the_security_headers_and_no_inline_code():
    s = harness.server()
    for path in ("/", "/ui/app.js", "/ui/app.css", "/ui/nope.js"):
        r = s.get(path)
        assert r.headers.get("Content-Security-Policy") == CSP, (path, r.headers)
        assert r.headers.get("X-Content-Type-Options") == "nosniff", path
        assert r.headers.get("Referrer-Policy") == "no-referrer", path
    r = s.get("/")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html"), r
    html = r.body.decode("utf-8")
    assert 'lang="ja"' in html
    # every script has a src, no style element or attribute, nothing from elsewhere
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    assert "http://" not in html and "https://" not in html


def test_assets_have_etag_and_answer_304():
    s = harness.server()
    r = s.get("/ui/app.js")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/javascript")
    tag = r.headers["ETag"]
    assert tag.startswith('"') and r.headers["Cache-Control"] == "no-cache"
    r2 = s.get("/ui/app.js", headers={"If-None-Match": tag})
    assert r2.status == 304 and r2.body == b"" and r2.headers["ETag"] == tag
    assert s.get("/", headers={"If-None-Match": s.get("/").headers["ETag"]}).status == 304


def test_unknown_ui_path_is_404_and_other_methods_405():
    s = harness.server()
    assert_problem(s.get("/ui/nope.js"), 404, "not_found")
    # straight to the server: a proxy (Prism) folds the dot segments away
    assert_problem(s.direct("GET", "/ui/../openapi.yaml"), 404)
    r = s.request("POST", "/ui/app.js", body=b"x", content_type=None)
    assert r.status == 405 and r.headers["Allow"] == "GET, HEAD"


def test_page_needs_no_key_but_the_api_does():
    with keyed() as s:
        assert s.get("/").status == 200
        assert s.get("/ui/app.js").status == 200
        assert_problem(s.get("/v1/persons"), 401)
        assert_problem(s.get("/v1/sessions/current"), 401)


def test_no_auth_session_is_open():
    s = harness.server()
    r = s.get("/v1/sessions/current")
    assert r.status == 200 and r.json["csrf_token"] == "" and r.json["role"] == "admin"


# ---- sessions ----------------------------------------------------------------

def test_sign_in_sets_a_strict_httponly_cookie():
    with keyed() as s:
        key = make_key("writer")
        for body in (False, True):
            r, cookie, csrf = sign_in(s, key, body=body)
            flags = [f.strip() for f in r.headers["Set-Cookie"].split(";")]
            assert flags[0].startswith("shikaku_session=") and len(flags[0]) > 40
            assert "HttpOnly" in flags and "SameSite=Strict" in flags and "Path=/" in flags
            assert "Secure" not in flags  # plain HTTP here
            assert set(r.json) == {"csrf_token", "role", "facility_id", "expires_at"}
            assert r.json["role"] == "writer" and r.json["facility_id"] is None
            cur = s.get("/v1/sessions/current", headers={"Cookie": cookie})
            assert cur.status == 200 and cur.json["csrf_token"] == csrf
        assert_problem(s.post("/v1/sessions", {"key": "shk_nope"}), 401)
        assert_problem(s.request("POST", "/v1/sessions"), 401)


def test_csrf_token_is_needed_for_every_change():
    with keyed() as s:
        _, cookie, csrf = sign_in(s, make_key("writer"))
        body = {"display_name": "x", "facility_id": "f-csrf"}
        r = s.request("PUT", "/v1/persons/csrf-1", json_body=body, headers={"Cookie": cookie})
        assert_problem(r, 403, "csrf_token_invalid")
        r = s.request("PUT", "/v1/persons/csrf-1", json_body=body,
                      headers={"Cookie": cookie, "X-CSRF-Token": csrf[:-1] + ("A" if csrf[-1] != "A" else "B")})
        assert_problem(r, 403, "csrf_token_invalid")
        r = s.request("PUT", "/v1/persons/csrf-1", json_body=body,
                      headers={"Cookie": cookie, "X-CSRF-Token": csrf})
        assert r.status == 201, r
        # reads need no token
        assert s.get("/v1/persons/csrf-1", headers={"Cookie": cookie}).status == 200
        # sign-out is a change too
        assert_problem(s.request("DELETE", "/v1/sessions/current", headers={"Cookie": cookie}),
                       403, "csrf_token_invalid")


def test_cookie_is_never_taken_cross_origin():
    with keyed() as s:
        _, cookie, csrf = sign_in(s, make_key("writer"))
        for origin in (ALLOWED, "http://evil.example", "null"):
            r = s.get("/v1/persons", headers={"Cookie": cookie, "Origin": origin})
            assert_problem(r, 403, "csrf_token_invalid")
        r = s.get("/v1/persons", headers={"Cookie": cookie, "Sec-Fetch-Site": "same-site"})
        assert_problem(r, 403, "csrf_token_invalid")
        # the page's own origin is fine
        r = s.get("/v1/persons", headers={"Cookie": cookie, "Origin": "http://127.0.0.1:%d" % s.port,
                                           "Host": "127.0.0.1:%d" % s.port})
        assert r.status == 200, r
        # opening a session from another origin is refused as well
        r = s.request("POST", "/v1/sessions", headers={"Authorization": "Bearer " + make_key("reader"),
                                                       "Origin": "http://evil.example"})
        assert_problem(r, 403, "csrf_token_invalid")


def test_sign_out_ends_the_session():
    with keyed() as s:
        _, cookie, csrf = sign_in(s, make_key("reader"))
        r = s.request("DELETE", "/v1/sessions/current", headers={"Cookie": cookie, "X-CSRF-Token": csrf})
        assert r.status == 204 and "Max-Age=0" in r.headers["Set-Cookie"]
        assert_problem(s.get("/v1/persons", headers={"Cookie": cookie}), 401)
        assert_problem(s.get("/v1/sessions/current", headers={"Cookie": cookie}), 401)


def test_revoked_key_ends_its_sessions():
    with keyed() as s:
        key = make_key("reader")
        _, cookie, _ = sign_in(s, key)
        assert s.get("/v1/persons", headers={"Cookie": cookie}).status == 200
        key_id = key.split("_")[1]
        p = run_cli(["key", "revoke", "--db", _db(), key_id])
        assert p.returncode == 0, p.stderr
        assert_problem(s.get("/v1/persons", headers={"Cookie": cookie}), 401)


def test_idle_session_expires():
    with keyed("--session-idle-seconds", "1") as s:
        _, cookie, _ = sign_in(s, make_key("reader"))
        assert s.get("/v1/sessions/current", headers={"Cookie": cookie}).status == 200
        poll_until(lambda: s.get("/v1/sessions/current", headers={"Cookie": cookie}).status == 401,
                   timeout=10, what="the idle session to end")


def test_session_requests_are_audited_under_the_key_id():
    with keyed() as s:
        admin = make_key("admin")
        _, cookie, csrf = sign_in(s, admin)
        r = s.request("PUT", "/v1/persons/aud-1", json_body={"facility_id": "f-aud"},
                      headers={"Cookie": cookie, "X-CSRF-Token": csrf})
        assert r.status == 201, r
        a = s.get("/v1/audit?person_id=aud-1", headers={"Authorization": "Bearer " + admin})
        assert a.status == 200, a
        assert any(x["key_id"] == admin.split("_")[1] for x in a.json["items"]), a.json


# ---- CORS --------------------------------------------------------------------

def test_cors_preflight_from_an_allowed_origin():
    with keyed() as s:
        r = s.request("OPTIONS", "/v1/persons", headers={"Origin": ALLOWED,
                                                         "Access-Control-Request-Method": "GET"})
        assert r.status == 204, r
        # once each: a browser refuses an Allow-Origin with two values
        assert r.headers.get_all("Access-Control-Allow-Origin") == [ALLOWED], r.headers
        assert r.headers.get_all("Vary") == ["Origin"], r.headers
        methods = {m.strip() for m in r.headers["Access-Control-Allow-Methods"].split(",")}
        assert {"GET", "POST", "PUT", "DELETE"} <= methods
        hdrs = {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
        assert hdrs == {"authorization", "content-type", "if-match", "if-none-match",
                        "x-request-id", "accept-language"}
        assert int(r.headers["Access-Control-Max-Age"]) > 0
        assert "Access-Control-Allow-Credentials" not in r.headers


def test_cors_answer_headers_and_disallowed_origins():
    with keyed() as s:
        key = make_key("reader")
        r = s.get("/v1/persons", headers={"Origin": ALLOWED, "Authorization": "Bearer " + key})
        assert r.status == 200
        assert r.headers["Access-Control-Allow-Origin"] == ALLOWED and r.headers["Vary"] == "Origin"
        exposed = {h.strip() for h in r.headers["Access-Control-Expose-Headers"].split(",")}
        assert exposed == {"ETag", "X-Request-Id", "Retry-After", "Location"}
        assert "Access-Control-Allow-Credentials" not in r.headers
        # an error answer carries them too, so the page can read the problem
        r = s.get("/v1/persons", headers={"Origin": ALLOWED})
        assert r.status == 401 and r.headers["Access-Control-Allow-Origin"] == ALLOWED
        # another origin: no CORS header, the answer itself unchanged
        for origin in ("http://127.0.0.1:10", "http://evil.example"):
            r = s.get("/v1/persons", headers={"Origin": origin, "Authorization": "Bearer " + key})
            assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers
            r = s.request("OPTIONS", "/v1/persons", headers={"Origin": origin})
            assert "Access-Control-Allow-Origin" not in r.headers
        # without --cors-origin nothing is allowed
        plain = harness.server()
        r = plain.request("OPTIONS", "/v1/persons", headers={"Origin": ALLOWED})
        assert "Access-Control-Allow-Origin" not in r.headers


def test_cors_origin_flag_is_checked():
    p = run_cli(["serve", "--cors-origin", "http://x/path", "--db", _db()])
    assert p.returncode != 0 and "--cors-origin" in p.stderr


def test_cors_headers_on_a_streamed_import():
    """An import's answer is built when its body has been read (a stream):
    it carries the CORS headers like any other answer to an allowed origin,
    whether it stores (200) or refuses (422), and none for another origin."""
    with keyed() as s:
        key = make_key("writer")
        csv = "person_id,display_name\r\ncors-a,ok\r\n".encode()
        for mode, body, status in (("best_effort", csv, 200),
                                   ("all_or_nothing", csv + b"cors-b,1234-5678-9018\r\n", 422)):
            h = {"Origin": ALLOWED, "Authorization": "Bearer " + key, "Content-Type": "text/csv"}
            r = s.request("POST", "/v1/persons:import?mode=" + mode, body=body, headers=h)
            assert r.status == status, r
            assert r.headers.get("Access-Control-Allow-Origin") == ALLOWED, (mode, r)
            assert r.headers.get("Vary") == "Origin"
            exposed = {x.strip() for x in r.headers["Access-Control-Expose-Headers"].split(",")}
            assert exposed == {"ETag", "X-Request-Id", "Retry-After", "Location"}
            assert "Access-Control-Allow-Credentials" not in r.headers
        h["Origin"] = "http://evil.example"
        r = s.request("POST", "/v1/persons:import?mode=best_effort", body=csv, headers=h)
        assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers, r


class _EnvServer(Server):
    """A server started with extra SHIKAKU_* variables in its environment
    (the harness gives the binary none of the caller's)."""

    def __init__(self, env, **kw):
        self._env = env
        super().__init__(**kw)

    def start(self, wait=True):
        saved = harness.clean_env
        harness.clean_env = lambda: dict(saved(), **self._env)
        try:
            return super().start(wait)
        finally:
            harness.clean_env = saved


def test_cors_origins_from_the_environment():
    """SHIKAKU_CORS_ORIGINS lists origins separated by commas or spaces;
    --cors-origin flags replace the variable's list."""
    env = {"SHIKAKU_CORS_ORIGINS": "http://127.0.0.1:9, http://a.example https://b.example:8443"}

    def allows(s, origin):
        r = s.request("OPTIONS", "/v1/persons", headers={"Origin": origin,
                                                         "Access-Control-Request-Method": "GET"})
        return r.status == 204 and r.headers.get("Access-Control-Allow-Origin") == origin

    with _EnvServer(env) as s:
        for o in ("http://127.0.0.1:9", "http://a.example", "https://b.example:8443"):
            assert allows(s, o), o
        assert not allows(s, "http://b.example:8443") and not allows(s, "http://c.example")
    with _EnvServer(env, extra_args=["--cors-origin", "http://c.example"]) as s:
        assert allows(s, "http://c.example")
        assert not allows(s, "http://a.example")
