#!/usr/bin/env python3
"""Runs the end-to-end tests against a shikakud binary.

    python3 tests/e2e/run.py --binary build/shikakud [--sanitized] [-k SUBSTRING] [-v]
                             [--via-prism [--prism CMD] [--spec FILE]] [MODULE ...]

MODULE (e.g. test_api) limits the run to those files.  --via-prism puts a
Prism validating proxy (prism proxy --errors) in front of every server the
tests start and sends their HTTP requests through it, so that a response
that drifts from openapi.yaml fails the test (see harness.py).

Discovers tests/e2e/test_*.py, runs every function named test_* (in file
order), prints one line per failing test with the reason and finally
"N passed, M failed".  Exit 0 only when M == 0 and N > 0.
"""

import argparse
import glob
import importlib
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

import harness  # noqa: E402


def one_line(s, limit=600):
    s = " ".join(str(s).split())
    return s if len(s) <= limit else s[:limit] + "..."


def reason_of(exc):
    if isinstance(exc, AssertionError):
        msg = str(exc) or "assertion failed"
        tb = traceback.extract_tb(exc.__traceback__)
        where = ""
        for fr in reversed(tb):
            if os.path.basename(fr.filename).startswith("test_"):
                where = " [%s:%d]" % (os.path.basename(fr.filename), fr.lineno)
                break
        return msg + where
    tb = traceback.extract_tb(exc.__traceback__)
    where = " [%s:%d]" % (os.path.basename(tb[-1].filename), tb[-1].lineno) if tb else ""
    return "%s: %s%s" % (type(exc).__name__, exc, where)


def tests_of(mod):
    out = []
    for name, obj in vars(mod).items():     # definition order
        if name.startswith("test_") and callable(obj) and \
                getattr(obj, "__module__", None) == mod.__name__:
            out.append((name, obj))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--sanitized", action="store_true",
                    help="fail on AddressSanitizer/UBSan/LeakSanitizer output")
    ap.add_argument("-k", dest="k", default=None, help="run tests whose id contains this")
    ap.add_argument("-v", action="store_true", help="also list passing tests")
    ap.add_argument("--via-prism", action="store_true",
                    help="send the tests' requests through a Prism validating proxy")
    ap.add_argument("--prism", default=os.path.join(TOP, "tools", "node_modules", ".bin", "prism"),
                    help="the Prism CLI (default: tools/node_modules/.bin/prism)")
    ap.add_argument("--spec", default=os.path.join(TOP, "openapi.yaml"),
                    help="the OpenAPI document Prism validates against")
    ap.add_argument("modules", nargs="*", help="test modules to run (default: all)")
    a = ap.parse_args()

    if not (os.path.isfile(a.binary) and os.access(a.binary, os.X_OK)):
        print("no executable binary at %s" % a.binary)
        print("0 passed, 1 failed")
        return 1
    if a.via_prism:
        if not (os.path.isfile(a.prism) and os.access(a.prism, os.X_OK)):
            print("no Prism CLI at %s (npm ci --prefix tools)" % a.prism)
            print("0 passed, 1 failed")
            return 1
        harness.configure(a.binary, a.sanitized, prism=[a.prism], spec=a.spec)
    else:
        harness.configure(a.binary, a.sanitized)

    passed = failed = 0
    t0 = time.monotonic()
    files = sorted(glob.glob(os.path.join(HERE, "test_*.py")))
    if a.modules:
        wanted = {os.path.splitext(os.path.basename(m))[0] for m in a.modules}
        unknown = wanted - {os.path.splitext(os.path.basename(f))[0] for f in files}
        if unknown:
            print("no such test module: %s" % ", ".join(sorted(unknown)))
            print("0 passed, 1 failed")
            return 1
        files = [f for f in files if os.path.splitext(os.path.basename(f))[0] in wanted]
    try:
        for path in files:
            modname = os.path.splitext(os.path.basename(path))[0]
            try:
                mod = importlib.import_module(modname)
            except Exception as e:  # noqa: BLE001
                print("FAIL %s (import): %s" % (modname, one_line(reason_of(e))))
                failed += 1
                continue
            selected = []
            for name, fn in tests_of(mod):
                tid = "%s::%s" % (modname, name)
                case = getattr(fn, "case_name", None)
                label = tid + (" [%s]" % case if case else "")
                if a.k and a.k not in tid and a.k not in label:
                    continue
                selected.append((tid, label, fn))
            if not selected:
                continue
            harness.begin_module()
            for tid, label, fn in selected:
                reason = None
                harness.before_test()
                t1 = time.monotonic()
                try:
                    fn()
                except Exception as e:  # noqa: BLE001 - every failure is reported
                    reason = reason_of(e)
                died = harness.after_test()
                if died:
                    reason = (reason + "; " if reason else "") + died
                if reason:
                    failed += 1
                    print("FAIL %s: %s" % (label, one_line(reason)), flush=True)
                else:
                    passed += 1
                    if a.v:
                        print("ok   %s (%.2fs)" % (label, time.monotonic() - t1), flush=True)
            try:
                harness.end_module()
            except Exception as e:  # noqa: BLE001
                failed += 1
                print("FAIL %s::(server shutdown): %s" % (modname, one_line(reason_of(e))),
                      flush=True)
    finally:
        harness.cleanup_all()
    if a.v:
        print("(%.1f s)" % (time.monotonic() - t0))
    if a.via_prism:
        st = harness.prism_stats
        print("prism: %d requests checked against %s, %d sent directly; %d proxies "
              "(%.1f s starting them), %.1f s in all"
              % (st["proxied"], os.path.relpath(a.spec), st["direct"], st["proxies"],
                 st["startup_s"], time.monotonic() - t0))
        if a.v and st["why"]:
            print("prism: sent directly: %s" % ", ".join(
                "%s %d" % (k, n) for k, n in sorted(st["why"].items())))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
