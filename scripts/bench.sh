#!/bin/bash
# make bench: SPEC §10 measured against nginx in the same run.
#
#   1. imports BENCH_PERSONS (1,000,000) fictional persons through the
#      import path and times it;
#   2. starts shikakud and nginx (a static JSON file the size of a decision)
#      on loopback;
#   3. runs wrk, 64 keep-alive connections, BENCH_SECONDS (10) each after
#      BENCH_WARMUP (2) seconds not counted, against (c) nginx,
#      (b) POST /v1/eligibility:evaluate and (a) GET
#      /v1/persons/{random id}/eligibility, in BENCH_ROUNDS (3) rounds:
#      on two cores shared with wrk one run moves by 10-15 %, the baseline
#      too, so each ratio is taken within a round and the median reported;
#   4. prints requests/s, p50, p99, the ratios to nginx (each round's and
#      their median) and shikakud's peak resident memory, and writes
#      bench/results.json;
#   5. the same persons on PostgreSQL, one and two replicas
#      (scripts/bench-pg.sh: its "pg" section of bench/results.json);
#      BENCH_PG=0 leaves it out (the last "pg" section is kept).
# BENCH_PARTS ("evaluate lookup") runs fewer parts (nginx always runs), or
# more: "worklist" is GET /v1/persons?limit=100 (a page of 100 rows, the
# same first page each time, as the facility page asks for it all day)
# against nginx serving that page's bytes as a static file in the same
# round ("nginx_worklist"); "lookup_writes" is (a) while another shikakud
# process on the same file writes BENCH_WRITES (100) random persons a
# second (bench/writer.py), which the measured server's person cache must
# learn of from the store;
# BENCH_SERVE_ARGS adds flags to shikakud serve (e.g. "--person-cache-mb
# 0"); BENCH_OUT (bench/results.json) is where the results go.
# Everything it starts, it stops.  A benchmark, not a test: it asserts
# nothing, it reports.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

parts=${BENCH_PARTS:-evaluate lookup}
serve_args=${BENCH_SERVE_ARGS:-}
out=${BENCH_OUT:-bench/results.json}

need=""
command -v wrk >/dev/null || need="$need wrk"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need="$need nginx-light"
if [ -n "$need" ]; then
	echo "bench: installing$need" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $need >&2
	# nginx-light's package starts a system nginx on port 80: not ours.
	systemctl stop nginx 2>/dev/null || service nginx stop 2>/dev/null || true
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

make -s build/shikakud build/bench_lookup
bin="$top/build/shikakud"
work=$(mktemp -d /tmp/shikaku-bench.XXXXXX)
srv_pid=""
ngx_pid=""
cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
	[ -n "${wr_srv_pid:-}" ] && kill "$wr_srv_pid" 2>/dev/null && wait "$wr_srv_pid" 2>/dev/null
	[ -n "$ngx_pid" ] && kill "$ngx_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

echo "bench: generating $persons persons" >&2
python3 bench/gen_persons.py "$persons" > "$work/persons.ndjson"
echo "bench: importing" >&2
t0=$(date +%s.%N)
"$bin" import --db "$work/bench.db" "$work/persons.ndjson" > "$work/import.json" 2> "$work/import.err"
t1=$(date +%s.%N)
import_s=$(python3 -c "print(round($t1 - $t0, 2))")
echo "bench: import of $persons persons: ${import_s} s" >&2
# The import leaves some 400 MB of dirty pages (its input and the database)
# for the kernel to write back: not while the first round is measured,
# where an fsync of the audit writer would queue behind them.
sync

port=$(bench_free_port)
# shellcheck disable=SC2086
"$bin" serve --listen "127.0.0.1:$port" --db "$work/bench.db" --no-auth $serve_args \
	2> "$work/server.log" &
srv_pid=$!
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
# The person cache warms itself from the store at start (db/person_warm.c,
# at nice 10): measured once it has, as a server that has been up a while.
bench_metric_zero "$port" shikaku_person_cache_warming 1200
wr_srv_pid=""
wport=""
case " $parts " in *" lookup_writes "*)
	# the foreign writer's own server: another process on the same file
	wport=$(bench_free_port)
	"$bin" serve --listen "127.0.0.1:$wport" --db "$work/bench.db" --no-auth \
		--person-cache-mb 0 2> "$work/writer-server.log" &
	wr_srv_pid=$!
	for _ in $(seq 100); do
		curl -fs "http://127.0.0.1:$wport/healthz" >/dev/null 2>&1 && break
		sleep 0.1
	done ;;
esac

# nginx serves a real decision of the same size.
curl -fs "http://127.0.0.1:$port/v1/persons/p0000001/eligibility" > "$work/decision.json"
# nginx's workers run as nobody: they must be able to read the file
# (mktemp -d makes a 0700 directory; a 403 would make a bogus baseline).
chmod 0755 "$work"
chmod 0644 "$work/decision.json"
case " $parts " in *" worklist "*)
	curl -fs "http://127.0.0.1:$port/v1/persons?limit=100" > "$work/worklist.json"
	chmod 0644 "$work/worklist.json" ;;
esac
nport=$(bench_free_port)
bench_nginx_conf "$work" "$nport" 1024
"$NGINX" -c "$work/nginx.conf" -p "$work" &
ngx_pid=$!
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$nport/decision.json" >/dev/null 2>&1 && break
	sleep 0.1
done
bench_check_baseline bench "$work" "$nport"

# CPU time (clock ticks) of a process and its children's threads: the
# server, or nginx's master and workers.
cpu_ticks() { # pid...
	local t=0 p
	for p in "$@"; do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
hz=$(getconf CLK_TCK)

run_wrk() { # name round url pids [script]
	local name=$1 round=$2 url=$3 pids=$4 script=${5:-} t0 t1
	echo "bench: round $round/$rounds: wrk $name ($warmup s warm-up, then $seconds s, $conns connections)" >&2
	# The warm-up is not counted: first connections, caches, lazily
	# built tables and the CPU's clock settle for every target alike.
	BENCH_PERSONS=$persons wrk -t"$threads" -c"$conns" -d"${warmup}s" \
		${script:+-s "$script"} "$url" > /dev/null
	# shellcheck disable=SC2086
	t0=$(cpu_ticks $pids)
	BENCH_PERSONS=$persons wrk -t"$threads" -c"$conns" -d"${seconds}s" --latency \
		${script:+-s "$script"} "$url" > "$work/wrk-$name-$round.txt"
	# shellcheck disable=SC2086
	t1=$(cpu_ticks $pids)
	echo "$((t1 - t0)) $hz" > "$work/cpu-$name-$round.txt"
}
# Every lookup is audited, and the audit writer goes on writing the last
# run's rows for a while after it: each round starts when its queue is
# empty (bench_audit_idle), and evaluate runs before lookup.
ngx_pids="$ngx_pid $(pgrep -P "$ngx_pid" | tr '\n' ' ')"
for round in $(seq "$rounds"); do
	bench_audit_idle "$port"
	run_wrk nginx "$round" "http://127.0.0.1:$nport/decision.json" "$ngx_pids"
	case " $parts " in *" evaluate "*)
		run_wrk evaluate "$round" "http://127.0.0.1:$port/v1/eligibility:evaluate" \
			"$srv_pid" bench/evaluate.lua ;;
	esac
	case " $parts " in *" lookup "*)
		run_wrk lookup "$round" "http://127.0.0.1:$port" "$srv_pid" bench/lookup.lua ;;
	esac
	case " $parts " in *" lookup_writes "*)
		python3 bench/writer.py "$wport" "${BENCH_WRITES:-100}" \
			"$((warmup + seconds + 1))" "$persons" > "$work/writer-$round.json" &
		wr_pid=$!
		run_wrk lookup_writes "$round" "http://127.0.0.1:$port" "$srv_pid" bench/lookup.lua
		wait "$wr_pid" ;;
	esac
	case " $parts " in *" worklist "*)
		run_wrk nginx_worklist "$round" "http://127.0.0.1:$nport/worklist.json" "$ngx_pids"
		run_wrk worklist "$round" "http://127.0.0.1:$port/v1/persons?limit=100" "$srv_pid" ;;
	esac
done

rss_kib=$(awk '/VmHWM/ {print $2}' "/proc/$srv_pid/status")
# every lookup is audited: the rows written and dropped, once the queue is
# empty
bench_audit_idle "$port"
curl -fs "http://127.0.0.1:$port/metrics" > "$work/metrics.txt"
cache_mib=$(awk '$1 == "shikaku_person_cache_max_bytes" {printf "%d", $2 / 1048576}' "$work/metrics.txt")
kill "$srv_pid"
wait "$srv_pid" 2>/dev/null || true
srv_pid=""

# What the store's read alone costs, without HTTP (bench/sqlite_lookup.c).
echo "bench: SQLite point lookups alone" >&2
build/bench_lookup "$work/bench.db" "$persons" 1 > "$work/sqlite.json"

mkdir -p "$(dirname "$out")"
python3 - "$work" "$import_s" "$persons" "$rss_kib" "$seconds" "$conns" "$rounds" "$out" "$parts" "${cache_mib:-0}" \
	<<'PY'
import json, os, re, sys
sys.path.insert(0, "scripts")
from bench_report import add_ratios, medians, warn_non_2xx, wrk_figures
work, import_s, persons, rss_kib, seconds, conns, rounds, out_path, parts, cache_mib = sys.argv[1:]
cache_mib = int(cache_mib)
rounds = int(rounds)
sqlite = json.load(open("%s/sqlite.json" % work))

def parse(name, r):
    res, total = wrk_figures(open("%s/wrk-%s-%d.txt" % (work, name, r)).read())
    ticks, hz = map(int, open("%s/cpu-%s-%d.txt" % (work, name, r)).read().split())
    res["server_cpu_us_per_request"] = round(ticks * 1e6 / hz / total, 1)
    return res

def audit_records():
    """shikaku_audit_records_total by result, from the server's last /metrics."""
    out = {}
    for line in open("%s/metrics.txt" % work):
        m = re.match(r'shikaku_audit_records_total\{result="(\w+)"\} (\d+)', line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


PARTS = [n for n in ("lookup", "lookup_writes", "evaluate", "worklist") if n in parts.split()]
# each part's baseline: nginx serving the same bytes
BASE = {"lookup": "nginx", "lookup_writes": "nginx", "evaluate": "nginx",
        "worklist": "nginx_worklist"}
NAMES = ["nginx"] + (["nginx_worklist"] if "worklist" in PARTS else []) + PARTS
per_round = []
for r in range(1, rounds + 1):
    res = {n: parse(n, r) for n in NAMES}
    for n in PARTS:
        add_ratios(res[n], res[BASE[n]])
    per_round.append(res)

res = medians(per_round, NAMES)
base = res["nginx"]
out = {"persons": int(persons), "import_seconds": float(import_s),
       "peak_rss_mib": round(int(rss_kib) / 1024, 1), "wrk_seconds": int(seconds),
       "connections": int(conns), "rounds": rounds, "results": res,
       "per_round": per_round,
       "sqlite_lookup_us": sqlite,
       "person_cache_mib": cache_mib,
       "audit_records": audit_records(),
       "targets": {"lookup_rps_ratio": 0.9, "lookup_p99_ratio": 1.2,
                   "lookup_writes_rps_ratio": 0.7,
                   "evaluate_rps_ratio": 1.0, "import_seconds": 6,
                   "peak_rss_mib": 64 + cache_mib, "worklist_rps_ratio": 0.1}}
if "lookup_writes" in PARTS:
    out["foreign_writes"] = [json.load(open("%s/writer-%d.json" % (work, r)))
                             for r in range(1, rounds + 1)]
try:
    # the PostgreSQL part's section (scripts/bench-pg.sh) stays until it runs again
    out["pg"] = json.load(open(out_path))["pg"]
except (OSError, ValueError, KeyError):
    pass
json.dump(out, open(out_path, "w"), indent=2)
for i, pr in enumerate(per_round, 1):
    line = "round %d: nginx %.0f req/s p99 %.2f ms" % (
        i, pr["nginx"]["requests_per_s"], pr["nginx"]["p99_ms"])
    if "lookup" in pr:
        line += "; (a) %.2f x, p99 %.2f x" % (pr["lookup"]["rps_ratio_to_nginx"],
                                             pr["lookup"]["p99_ratio_to_nginx"] or 0)
    if "lookup_writes" in pr:
        line += "; (a, writes) %.2f x" % pr["lookup_writes"]["rps_ratio_to_nginx"]
    if "evaluate" in pr:
        line += "; (b) %.2f x" % pr["evaluate"]["rps_ratio_to_nginx"]
    if "worklist" in pr:
        line += "; worklist %.0f pages/s, %.3f x nginx's %.0f" % (
            pr["worklist"]["requests_per_s"], pr["worklist"]["rps_ratio_to_nginx"],
            pr["nginx_worklist"]["requests_per_s"])
    print(line)
print("median of %d rounds:" % rounds)
print("baseline nginx: %.0f req/s, p50 %.2f ms, p99 %.2f ms" % (base["requests_per_s"], base["p50_ms"], base["p99_ms"]))
if "worklist" in res:
    print("baseline nginx, the worklist page (%d bytes): %.0f req/s, p50 %.2f ms, p99 %.2f ms" % (
        os.path.getsize("%s/worklist.json" % work), res["nginx_worklist"]["requests_per_s"],
        res["nginx_worklist"]["p50_ms"], res["nginx_worklist"]["p99_ms"]))
for n, label in (("lookup", "(a) GET /v1/persons/{id}/eligibility"),
                 ("lookup_writes", "(a) with foreign writes"),
                 ("evaluate", "(b) POST /v1/eligibility:evaluate"),
                 ("worklist", "GET /v1/persons?limit=100 (worklist)")):
    if n not in res:
        continue
    r = res[n]
    print("%-40s %8.0f req/s (%.2f x nginx)  p50 %.2f ms  p99 %.2f ms (%.2f x nginx)%s" % (
        label, r["requests_per_s"], r["rps_ratio_to_nginx"], r["p50_ms"], r["p99_ms"],
        r["p99_ratio_to_nginx"] or 0, "  NON-2XX: %d" % r["non_2xx"] if r["non_2xx"] else ""))
print("server CPU per request: " + ", ".join(
    "%s %.1f us" % (n, res[n]["server_cpu_us_per_request"]) for n in NAMES))
print("SQLite point lookup alone (db_person_get, no HTTP): %.1f us a read transaction each, "
      "%.1f us inside one, %.1f us on two threads at once; an audit row %.1f us" % (
          sqlite["autocommit_us"], sqlite["one_txn_us"], sqlite["two_threads_us"],
          sqlite["audit_row_us"]))
if "lookup_writes" in PARTS:
    print("foreign writes during (a) with writes: " + ", ".join(
        "%d of %d ok in %.1f s" % (f["ok"], f["writes"], f["seconds"])
        for f in out["foreign_writes"]))
print("audit rows of the server's requests: %(written)d written, %(dropped)d dropped (target 0)"
      % out["audit_records"])
print("import of %s persons: %s s (target < 6 s)" % (persons, import_s))
print("peak resident memory of shikakud: %.1f MiB (target < 64 MiB + the person cache's %d MiB)"
      % (int(rss_kib) / 1024, cache_mib))
warn_non_2xx(res)
print("written: %s" % out_path)
PY

if [ "${BENCH_PG:-1}" != 0 ]; then
	echo "bench: the PostgreSQL run (scripts/bench-pg.sh)" >&2
	scripts/bench-pg.sh "$work/persons.ndjson"
fi
