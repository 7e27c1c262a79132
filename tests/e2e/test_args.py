"""Every subcommand reads its flags one way (service/args.c): "--flag VALUE"
and "--flag=VALUE" alike, an unknown flag is a usage error (exit 2) that
names it, -h/--help prints the usage (exit 0)."""

import json
import os

from harness import run_cli, TempFiles

RULES = '{"provisional_end": "2026-07-31"}'
FACTS = {"birth_date": "1975-01-20", "insurer_number": "138057",
         "mynumber_card": "held", "insurance_registration": "registered"}
PERSON = dict(FACTS, person_id="p-args-1")


class Tmp(TempFiles):
    def __init__(self):
        super().__init__("args")

    def file(self, name, text=""):
        return self.write(name, text)


def ok(p, what):
    assert p.returncode == 0, "%s: exit %d, stderr %r" % (what, p.returncode, p.stderr[-500:])
    return p


def usage(p, what, needle):
    assert p.returncode == 2, "%s: exit %d (want 2), stderr %r" % (what, p.returncode, p.stderr[-500:])
    assert needle in p.stderr, "%s: %r not in stderr %r" % (what, needle, p.stderr[-500:])


def test_flag_equals_value_in_every_subcommand():
    with Tmp() as t:
        db = os.path.join(t.path, "a.db")
        rules = t.file("r.json", RULES)
        data = t.file("p.ndjson", json.dumps(PERSON) + "\n")
        ok(run_cli(["migrate", "--db=" + db]), "migrate --db=")
        p = ok(run_cli(["import", "--db=" + db, "--mode=best_effort", "--format=ndjson",
                        "--charset=utf-8", data]), "import --flag=")
        assert "1 inserted" in p.stderr, p.stderr
        p = ok(run_cli(["key", "create", "--db=" + db, "--role=reader",
                        "--facility=f-1", "--name=args test"]), "key create --flag=")
        assert p.stdout.strip(), p.stdout
        p = ok(run_cli(["key", "list", "--db=" + db]), "key list --db=")
        assert "f-1" in p.stdout and "args test" in p.stdout, p.stdout
        ok(run_cli(["rules", "check", rules]), "rules check")
        p = ok(run_cli(["rules", "diff", "--db=" + db, "--rules=" + rules, "--as-of=2025-06-01",
                        "--facility=nobody", "--json"]), "rules diff --flag=")
        assert json.loads(p.stdout)["persons"] == 0, p.stdout
        p = ok(run_cli(["eval", "--lang=en", "--rules=" + rules],
                       stdin=json.dumps({"as_of": "2025-06-01", "person": FACTS})),
               "eval --flag=")
        assert "decision_id" in json.loads(p.stdout), p.stdout


def test_unknown_flag_is_a_usage_error_everywhere():
    with Tmp() as t:
        db = os.path.join(t.path, "a.db")
        rules = t.file("r.json", RULES)
        ok(run_cli(["migrate", "--db", db]), "migrate")
        for args in (["serve", "--nope"], ["eval", "--nope"], ["migrate", "--db", db, "--nope"],
                     ["import", "--db", db, "--nope", "x.ndjson"],
                     ["key", "create", "--db", db, "--role", "reader", "--nope"],
                     ["key", "list", "--db", db, "--role=reader"],
                     ["key", "revoke", "--db", db, "--nope", "k1"],
                     ["rules", "check", "--nope", rules],
                     ["rules", "diff", "--db", db, "--rules", rules, "--nope"]):
            usage(run_cli(args), " ".join(args), "--nope" if "--nope" in args else "--role")
        # a prefix of a flag is no flag (no abbreviations)
        usage(run_cli(["rules", "diff", "--db", db, "--rule", rules]), "rules diff --rule", "--rule")
        # a flag without its value names it
        usage(run_cli(["rules", "diff", "--db", db, "--rules"]), "rules diff --rules", "--rules needs a value")
        usage(run_cli(["import", "--db"]), "import --db", "--db needs a value")
        # a flag that takes no value refuses one
        usage(run_cli(["rules", "diff", "--db", db, "--rules", rules, "--json=1"]),
              "rules diff --json=1", "--json=1")


def test_help_everywhere():
    for args in (["serve", "--help"], ["eval", "-h"], ["migrate", "--help"], ["import", "-h"],
                 ["key", "create", "--help"], ["key", "list", "-h"], ["key", "revoke", "--help"],
                 ["rules", "check", "--help"], ["rules", "diff", "-h"]):
        p = ok(run_cli(args), " ".join(args))
        assert p.stdout.startswith("usage: shikakud"), (args, p.stdout[:200])


def test_rules_diff_json_escapes_its_file_names():
    with Tmp() as t:
        db = os.path.join(t.path, "a.db")
        rules = t.file('new "quoted"\\rules.json', RULES)
        ok(run_cli(["migrate", "--db", db]), "migrate")
        p = ok(run_cli(["rules", "diff", "--db", db, "--rules", rules, "--json"]), "rules diff")
        doc = json.loads(p.stdout)
        assert doc["candidate"] == rules, doc
