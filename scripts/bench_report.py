"""scripts/bench_report.py - what the reports of scripts/bench.sh and
scripts/bench-pg.sh share: reading wrk's output and taking medians.
Imported by their Python parts (run from the top of the tree)."""
import re
import statistics


def unit(v):
    """A wrk latency ("812.00us", "1.64ms", "2.01s") in milliseconds."""
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    n, u = float(m.group(1)), m.group(2)
    return n / 1000 if u == "us" else n if u == "ms" else n * 1000


def wrk_figures(text):
    """The figures of one `wrk --latency` report and its request count."""
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    res = {"requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
           "p50_ms": unit(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)),
           "p99_ms": unit(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)),
           "non_2xx": int(errors.group(1)) if errors else 0}
    return res, int(re.search(r"(\d+) requests in", text).group(1))


def add_ratios(res, base):
    """res's requests/s and p99 as ratios to base's (nginx's in the same round)."""
    res["rps_ratio_to_nginx"] = round(res["requests_per_s"] / base["requests_per_s"], 3)
    res["p99_ratio_to_nginx"] = round(res["p99_ms"] / base["p99_ms"], 3) if base["p99_ms"] else None


def medians(per_round, names):
    """The median of each figure of each run over the rounds (non-2xx answers
    summed); ratios are medians of each round's own ratio, never a ratio of
    medians."""
    med = {}
    for n in names:
        med[n] = {}
        for k in per_round[0][n]:
            vals = [pr[n][k] for pr in per_round if pr[n][k] is not None]
            if k == "non_2xx":
                med[n][k] = sum(vals)
            else:
                med[n][k] = round(statistics.median(vals), 3) if vals else None
    return med


def warn_non_2xx(med):
    bad = [n for n in med if med[n]["non_2xx"]]
    if bad:
        print("WARNING: non-2xx answers in %s: those figures are not comparable" % ", ".join(bad))
