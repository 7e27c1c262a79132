"""`shikakud rules diff`: who changes answer under candidate parameters
(issue: rules what-if), run on a database loaded through the import CLI."""

import json
import os
import shutil
import tempfile

from harness import run_cli

BASE = {"insurer_number": "39132014", "mynumber_card": "held",
        "insurance_registration": "registered", "verified_at": "2026-05-01"}
PEOPLE = [
    # late-elderly, 80 on 2025-08-01: provisional now; after an earlier
    # provisional end, no certificate without applying
    dict(BASE, person_id="le-80", facility_id="home-a", birth_date="1945-05-05"),
    # late-elderly, 90: provisional now, ex officio by the age rule after
    dict(BASE, person_id="le-90", facility_id="home-a", birth_date="1935-01-10"),
    # late-elderly who applied: provisional now, on_application after
    dict(BASE, person_id="le-app", facility_id="home-b", birth_date="1946-02-02",
         certificate={"status": "applied", "applied_on": "2026-03-01"}),
    # NHI, no care needs: not entitled either way
    {"person_id": "nhi-1", "facility_id": "home-b", "insurer_number": "138057",
     "mynumber_card": "held", "insurance_registration": "registered",
     "birth_date": "1970-01-01"},
]


class Db:
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="shikaku-diff-")
        self.db = os.path.join(self.dir, "d.db")
        src = os.path.join(self.dir, "p.ndjson")
        with open(src, "w", encoding="utf-8") as f:
            for p in PEOPLE:
                f.write(json.dumps(p) + "\n")
        p = run_cli(["import", "--db", self.db, src])
        assert p.returncode == 0, p.stderr[-500:]
        return self

    def rules(self, name, doc):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def __exit__(self, *a):
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


def test_diff_counts_transitions_and_lists_who_changes():
    with Db() as d:
        new = d.rules("new.json", {"provisional_end": "2025-07-31"})
        p = run_cli(["rules", "diff", "--db", d.db, "--rules", new,
                     "--as-of", "2026-06-01", "--json"])
        assert p.returncode == 0, p.stderr
        out = json.loads(p.stdout)
        assert out["persons"] == 4 and out["changed"] == 3, out
        got = {(t["from"], t["to"]): t["count"] for t in out["transitions"]}
        assert got == {("provisional", "not_entitled"): 1,
                       ("provisional", "ex_officio"): 1,
                       ("provisional", "on_application"): 1}, got
        changes = {c["person_id"]: (c["from"], c["to"]) for c in out["changes"]}
        assert changes == {"le-80": ("provisional", "not_entitled"),
                           "le-90": ("provisional", "ex_officio"),
                           "le-app": ("provisional", "on_application")}, changes
        assert out["current"] == "default" and out["candidate"] == new


def test_diff_against_a_current_file_and_a_facility():
    with Db() as d:
        cur = d.rules("cur.json", {"provisional_end": "2025-07-31"})
        new = d.rules("new.json", {"provisional_end": "2025-07-31",
                                   "late_elderly_auto_age": 75})
        p = run_cli(["rules", "diff", "--db", d.db, "--rules", new, "--current", cur,
                     "--as-of", "2026-06-01", "--facility", "home-a", "--json"])
        assert p.returncode == 0, p.stderr
        out = json.loads(p.stdout)
        # home-a only; at 75 the 80-year-old gets a certificate ex officio too
        assert out["persons"] == 2, out
        assert [(c["person_id"], c["from"], c["to"]) for c in out["changes"]] == \
            [("le-80", "not_entitled", "ex_officio")], out


def test_diff_table_and_nothing_changes():
    with Db() as d:
        same = d.rules("same.json", {"apply_margin_days": 30})
        p = run_cli(["rules", "diff", "--db", d.db, "--rules", same,
                     "--as-of", "2026-06-01"])
        assert p.returncode == 0, p.stderr
        assert "4 persons, 0 change answer" in p.stdout, p.stdout
        new = d.rules("new.json", {"provisional_end": "2025-07-31"})
        p = run_cli(["rules", "diff", "--db", d.db, "--rules", new,
                     "--as-of", "2026-06-01"])
        assert "3 change answer" in p.stdout and "le-90" in p.stdout, p.stdout
        assert "provisional" in p.stdout and "ex_officio" in p.stdout


def test_diff_refuses_bad_input():
    with Db() as d:
        bad = d.rules("bad.json", {"provisional_end": "2025-02-30"})
        p = run_cli(["rules", "diff", "--db", d.db, "--rules", bad])
        assert p.returncode == 1 and "provisional_end" in p.stderr, p.stderr
        p = run_cli(["rules", "diff", "--db", os.path.join(d.dir, "none.db"),
                     "--rules", d.rules("ok.json", {})])
        assert p.returncode == 1 and not os.path.exists(os.path.join(d.dir, "none.db"))
        assert run_cli(["rules", "diff", "--db", d.db]).returncode == 2
        assert run_cli(["rules", "diff", "--bogus"]).returncode == 2
        h = run_cli(["rules", "diff", "--help"])
        assert h.returncode == 0 and "--rules NEW" in h.stdout
