"""Recovery and the audit's timeliness (issue 11, items 11, 14, 15).

- GET /v1/insurers?prefecture= takes one or two digits only.
"""

import harness
from harness import assert_problem


# ---- 15. the prefecture filter ------------------------------------------------

def test_prefecture_is_one_or_two_digits():
    s = harness.server()
    for raw in ("013", "0013", "%2B13", "%2013", "+13", "13%20", "1a", "", "0", "00",
                "48", "-1", "%EF%BC%91%EF%BC%93"):
        r = s.get("/v1/insurers?prefecture=" + raw)
        assert_problem(r, 422, "invalid_enum", field="?prefecture", single=True)
    for ok, n in (("13", 1), ("01", 1), ("1", 1), ("47", 1)):
        r = s.get("/v1/insurers?prefecture=%s&scheme=kyokai" % ok)
        assert r.status == 200 and len(r.json["items"]) == n, (ok, r)
