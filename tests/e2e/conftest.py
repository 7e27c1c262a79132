"""pytest configuration of the end-to-end suite (tests/e2e/test_*.py).

    python3 -m pytest tests/e2e [-k EXPR] [-m "not slow"] [--binary build/shikakud]
                     [--sanitized] [--via-prism [--prism CMD] [--spec FILE]]
                     [--store sqlite|pg]

Tests are plain functions (def test_x(): ...) that use harness.py directly;
they may also ask for the fixtures below.  What this file adds to pytest:

- the options, handed to harness.configure() once;
- around every module, harness.begin_module() / end_module(): the module's
  shared server (harness.server()) is stopped when the module ends, and a
  non-zero exit or a sanitizer report then is an error of the module's last
  test;
- after every test, harness.after_test(): a test during which the shared
  server died, or its stderr got a sanitizer report, fails with that reason
  (besides its own);
- the marker `slow` (pytest.ini), so that `-m "not slow"` leaves out the
  fault, valgrind and slow-client tests for a quick run;
- --store pg (or SHIKAKU_TEST_STORE=pg): the same suite on PostgreSQL, every
  harness.Server on a fresh database of one session-wide throwaway cluster
  (tests/e2e/pgcluster.py); tests about the SQLite file itself carry the
  marker `sqlite_only(reason)` and are skipped there, with their reason;
- -k also matches a rule case's name (test_cases.py), which a failure report
  shows;
- with --via-prism, a closing line of what the Prism proxies checked.
"""

import os
import sys
import time

import pytest

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import harness  # noqa: E402  (tests/e2e is on sys.path: pytest's rootdir)

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def pytest_addoption(parser):
    g = parser.getgroup("shikaku", "shikaku end-to-end tests")
    g.addoption("--binary", default=os.path.join(TOP, "build", "shikakud"),
                help="the shikakud binary under test (default: build/shikakud)")
    g.addoption("--sanitized", action="store_true",
                help="an ASan+UBSan build: fail on AddressSanitizer/UBSan/LeakSanitizer "
                     "output, stretch time limits")
    g.addoption("--via-prism", action="store_true",
                help="send the tests' requests through a Prism validating proxy "
                     "(prism proxy --errors) in front of every server")
    g.addoption("--prism", default=os.path.join(TOP, "tools", "node_modules", ".bin", "prism"),
                help="the Prism CLI (default: tools/node_modules/.bin/prism)")
    g.addoption("--spec", default=os.path.join(TOP, "openapi.yaml"),
                help="the OpenAPI document Prism validates against (default: openapi.yaml)")
    g.addoption("--store", choices=("sqlite", "pg"),
                default=os.environ.get("SHIKAKU_TEST_STORE") or "sqlite",
                help="the store the servers use: sqlite (a file, default) or pg (a "
                     "throwaway PostgreSQL; env SHIKAKU_TEST_STORE)")


def pytest_configure(config):
    if config.option.help or config.option.version:
        return
    binary = config.getoption("--binary")
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        raise pytest.UsageError("no executable binary at %s (make build/shikakud)" % binary)
    if config.getoption("--via-prism"):
        prism = config.getoption("--prism")
        if not (os.path.isfile(prism) and os.access(prism, os.X_OK)):
            raise pytest.UsageError("no Prism CLI at %s (make tools)" % prism)
        harness.configure(binary, config.getoption("--sanitized"), prism=[prism],
                          spec=config.getoption("--spec"))
    else:
        harness.configure(binary, config.getoption("--sanitized"))
    harness.configure_store(config.getoption("--store"))
    config.addinivalue_line(
        "markers", "sqlite_only(reason): about the SQLite file itself; skipped with "
        "--store pg, with the reason")
    config._shikaku_t0 = time.monotonic()


def pytest_collection_modifyitems(session, config, items):
    """Leaves out test functions a module imported from another (as the old
    runner did: only a module's own), and lets -k match a case's name."""
    kept, dropped = [], []
    for item in items:
        fn = getattr(item, "obj", None)
        mod = getattr(item, "module", None)
        if fn is not None and mod is not None and \
                getattr(fn, "__module__", mod.__name__) != mod.__name__:
            dropped.append(item)
            continue
        case = getattr(fn, "case_name", None)
        if case:
            item.extra_keyword_matches.add(case)
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(autouse=True, scope="module")
def _module_shared_server():
    """The module's shared server: none at the start, stopped (exit 0 and
    no sanitizer report, or an error) at the end."""
    harness.begin_module()
    yield
    harness.end_module()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    if call.when == "call":
        died = harness.after_test()
    outcome = yield
    rep = outcome.get_result()
    if call.when != "call":
        return
    if died:
        if rep.passed or rep.skipped:
            rep.outcome = "failed"
            rep.longrepr = died
        else:
            rep.sections.append(("shikakud", died))
    case = getattr(getattr(item, "obj", None), "case_name", None)
    if case and rep.failed:
        rep.sections.append(("case", case))


def pytest_runtest_setup(item):
    if harness.store() == "pg":
        m = item.get_closest_marker("sqlite_only")
        if m is not None:
            why = m.kwargs.get("reason") or (m.args[0] if m.args else "")
            pytest.skip("sqlite_only: %s" % (why or "about the SQLite file"))
    harness.before_test()


def pytest_sessionfinish(session, exitstatus):
    harness.cleanup_all()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not harness.via_prism():
        return
    st = harness.prism_stats
    t0 = getattr(config, "_shikaku_t0", time.monotonic())
    terminalreporter.write_line(
        "prism: %d requests checked against %s, %d sent directly; %d proxies "
        "(%.1f s starting them), %.1f s in all"
        % (st["proxied"], os.path.relpath(config.getoption("--spec")), st["direct"],
           st["proxies"], st["startup_s"], time.monotonic() - t0))
    if st["why"] and config.getoption("verbose") > 0:
        terminalreporter.write_line("prism: sent directly: %s" % ", ".join(
            "%s %d" % (k, n) for k, n in sorted(st["why"].items())))


# --------------------------------------------------------------------------
# Fixtures, for tests that want them (harness's functions work as well).

@pytest.fixture
def shared_server():
    """The module's shared server (harness.server(): --no-auth, its own
    database), started on first use, restarted after a crash, stopped when
    the module ends."""
    return harness.server()


@pytest.fixture
def make_key():
    """harness.make_key(db, role, facility=None) -> a new key's secret."""
    return harness.make_key


class Keys:
    """A database file with one key of each role, made before any server
    opens it: .db, .reader, .writer, .admin (the secrets), .auth(role)."""

    ROLES = ("reader", "writer", "admin")

    def __init__(self, directory):
        self.db = harness.new_db(str(directory), "keys.db")
        for role in self.ROLES:
            setattr(self, role, harness.make_key(self.db, role))

    def auth(self, role, **more):
        h = {"Authorization": "Bearer " + getattr(self, role)}
        h.update(more)
        return h


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """The module's Keys (a database with a reader, a writer and an admin key)."""
    return Keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def keyed_server(keys):
    """The module's shared server, serving with API keys on keys.db (use it
    instead of shared_server in a module, not beside it: harness keeps one
    shared server a module)."""
    return harness.server(lambda: harness.Server(no_auth=False, db=keys.db))


@pytest.fixture
def via_prism():
    """True when the requests of Server.request() go through a Prism
    validating proxy (--via-prism): a test that must see the server's own
    bytes uses Server.direct() or raw() then."""
    return harness.via_prism()
