"""Every rule case of tests/cases/eligibility.jsonl and
tests/cases/next-change.jsonl against the real server, compared per
tests/cases/README.md.  One test per case, reported by name."""

import json
import os
import re

from harness import server, decision_missing_keys, problem_defects, error_codes, codes

CASES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cases")
CASES_FILE = os.path.join(CASES_DIR, "eligibility.jsonl")
NEXT_CHANGE_FILE = os.path.join(CASES_DIR, "next-change.jsonl")

LIST_KEYS = {
    "reasons_include", "reasons_exclude", "applicants_include", "applicants_exclude",
    "advice_include", "advice_exclude", "missing_facts_include",
    "error_codes_include", "error_codes_exclude",
}
_MISSING = object()


def load_cases(path=CASES_FILE):
    cases = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                c = json.loads(line)
                c["_line"] = n
                cases.append(c)
    return cases


def lookup(obj, dotted):
    for part in dotted.split("."):
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return _MISSING
    return obj


def check_case(case):
    exp = case["expect"]
    r = server().evaluate(case["request"])
    problems = []
    want_status = exp.get("status", 200)
    if r.status != want_status:
        extra = ""
        if r.json is not None and r.status >= 400:
            extra = " errors=%r" % ([(e.get("field"), e.get("code"))
                                     for e in r.json.get("errors") or []
                                     if isinstance(e, dict)],)
        raise AssertionError("status %d, expected %d%s" % (r.status, want_status, extra))
    j = r.json
    if r.status == 200:
        assert r.content_type == "application/json", \
            "Content-Type %r" % r.headers.get("Content-Type")
        missing = decision_missing_keys(j)
        if missing:
            problems.append("decision lacks keys of SPEC §6: %s" % ", ".join(missing))
    elif 400 <= r.status < 500:
        problems += ["problem: " + p for p in problem_defects(r)]
    if not isinstance(j, dict):
        raise AssertionError("body is not a JSON object: %r" % r.body[:200])

    cert = j.get("certificate") if isinstance(j.get("certificate"), dict) else {}
    lists = {
        "reasons": codes(j.get("reasons")),
        "advice": codes(j.get("advice")),
        "applicants": cert.get("applicants") or [],
        "missing_facts": j.get("missing_facts") or [],
        "error_codes": error_codes(j),
    }
    for key, want in exp.items():
        if key == "status":
            continue
        if key == "next_change":
            # SPEC §6: always present, an object or null
            if "next_change" not in j:
                problems.append("next_change absent, expected %r" % (want,))
            elif j["next_change"] != want:
                problems.append("next_change = %r, expected %r" % (j["next_change"], want))
        elif key == "reasons_first":
            got = lists["reasons"][0] if lists["reasons"] else None
            if got != want:
                problems.append("reasons[0].code = %r, expected %r (reasons %r)"
                                % (got, want, lists["reasons"]))
        elif key in LIST_KEYS:
            m = re.match(r"(.*)_(include|exclude)$", key)
            base, mode = m.group(1), m.group(2)
            have = lists[base]
            if mode == "include":
                absent = [w for w in want if w not in have]
                if absent:
                    problems.append("%s lacks %r (has %r)" % (base, absent, have))
            else:
                present = [w for w in want if w in have]
                if present:
                    problems.append("%s must not have %r (has %r)" % (base, present, have))
        else:
            got = lookup(j, key)
            if got is _MISSING:
                problems.append("%s absent, expected %r" % (key, want))
            elif got != want or type(got) is not type(want):
                problems.append("%s = %r, expected %r" % (key, got, want))
    assert not problems, "; ".join(problems)


def _make(case):
    def t():
        check_case(case)
    t.case_name = case["name"]
    t.__doc__ = case["name"]
    return t


for _prefix, _path in (("test_case_%02d", CASES_FILE),
                       ("test_next_change_case_%02d", NEXT_CHANGE_FILE)):
    for _i, _case in enumerate(load_cases(_path), 1):
        _fn = _make(_case)
        _fn.__name__ = _prefix % _i
        _fn.__module__ = __name__
        globals()[_fn.__name__] = _fn
del _prefix, _path, _i, _case, _fn


def test_cases_file_is_not_empty():
    for path, least in ((CASES_FILE, 10), (NEXT_CHANGE_FILE, 8)):
        cases = load_cases(path)
        assert len(cases) >= least, "only %d cases in %s" % (len(cases), path)
        for c in cases:
            assert "name" in c and "request" in c and "expect" in c, \
                "%s line %d lacks name/request/expect" % (path, c["_line"])
