#!/bin/bash
# make bench, PostgreSQL part (SPEC §10; run by scripts/bench.sh after the
# SQLite part, or alone: scripts/bench-pg.sh [PERSONS.ndjson]):
#
#   1. starts a throwaway PostgreSQL (initdb + pg_ctl as the postgres user
#      when run as root, on a Unix socket in a temporary directory only,
#      durable: fsync stays on), makes a database;
#   2. imports BENCH_PERSONS (1,000,000) persons with `shikakud import --db
#      postgresql://...` and times it (target < 30 s);
#   3. starts two shikakud replicas on that database and one nginx with two
#      sites: the static decision file (the baseline) and a load balancer in
#      front of both replicas;
#   4. in BENCH_ROUNDS rounds, wrk (64 keep-alive connections) against the
#      static file, then lookups and evaluate on one replica (straight) and on
#      two (through nginx); ratios to nginx taken within a round, medians
#      reported, with the CPU time per request of shikakud, postgres (the
#      cluster's postmaster and backends) and the balancing nginx, from
#      /proc/PID/stat before and after each run;
#   5. prints the figures and writes them as "pg" into bench/results.json
#      (the rest of the file kept).
# Lookups are also run on a third replica started with the person cache on
# (--person-cache-mb BENCH_PG_CACHE_MB, 192): an option for a single
# replica only (SPEC §7's read-your-writes across replicas needs it off),
# reported apart ("one_replica_person_cache"); its cache is warmed from
# the database at start, and the rounds begin once it is.
# BENCH_PG_RUNS picks the runs (nginx always runs: the ratios' base), e.g.
# BENCH_PG_RUNS="lookup1 lookup1c" for the lookups on one replica only;
# default: all of evaluate1 lookup1 lookup1c evaluate2 lookup2.
# Everything it starts, it stops.  Asserts nothing: it reports.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

runs=${BENCH_PG_RUNS:-evaluate1 lookup1 lookup1c evaluate2 lookup2}
cache_mb=${BENCH_PG_CACHE_MB:-192}
persons_file=${1:-}

pgbin=""
for d in /usr/lib/postgresql/*/bin; do # the newest (glob order: 13 < 15 < 16)
	[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && pgbin=$d
done
[ -n "$pgbin" ] || pgbin=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")
if [ ! -x "$pgbin/initdb" ]; then
	echo "bench-pg: no PostgreSQL server binaries (initdb, pg_ctl): make deps installs them" >&2
	exit 1
fi
command -v wrk >/dev/null || { echo "bench-pg: wrk missing (scripts/bench.sh installs it)" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

make -s build/shikakud
bin="$top/build/shikakud"
work=$(mktemp -d /tmp/shikaku-bench-pg.XXXXXX)
chmod 0755 "$work" # nginx's workers (nobody) and postgres read in here
pgroot="$work/pg" # the cluster's: data, socket, log
pgdata="$pgroot/data"
sock="$pgroot/sock"
mkdir -p "$pgdata" "$sock"
as_pg=()
if [ "$(id -u)" = 0 ]; then
	# PostgreSQL refuses to run as root
	chown -R postgres: "$pgroot"
	as_pg=(runuser -u postgres --)
fi
a_pid=""
b_pid=""
c_pid=""
ngx_pid=""
cleanup() {
	for p in $a_pid $b_pid $c_pid $ngx_pid; do
		kill "$p" 2>/dev/null || true
	done
	for p in $a_pid $b_pid $c_pid; do
		wait "$p" 2>/dev/null || true
	done
	"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "bench-pg: PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') in $pgdata" >&2
"${as_pg[@]}" "$pgbin/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
	>"$work/initdb.log" 2>&1 || { cat "$work/initdb.log" >&2; exit 1; }
# Unix socket only; shared_buffers large enough for the persons (the
# machine's page cache holds the rest); durable (fsync, synchronous_commit)
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" -w -l "$pgroot/postgres.log" \
	-o "-c listen_addresses='' -c unix_socket_directories='$sock' -c max_connections=100 -c shared_buffers=256MB -c max_wal_size=4GB" \
	start >/dev/null
pm_pid=$(head -1 "$pgdata/postmaster.pid")
"${as_pg[@]}" "$pgbin/createdb" -h "$sock" -U postgres bench
uri="postgresql:///bench?host=$sock&user=postgres"

if [ -z "$persons_file" ]; then
	echo "bench-pg: generating $persons persons" >&2
	persons_file="$work/persons.ndjson"
	python3 bench/gen_persons.py "$persons" > "$persons_file"
fi
echo "bench-pg: importing $persons persons into PostgreSQL" >&2
t0=$(date +%s.%N)
"$bin" import --db "$uri" "$persons_file" > "$work/import.json" 2> "$work/import.err" || {
	echo "bench-pg: the import failed:" >&2
	tail -5 "$work/import.err" >&2
	exit 1
}
t1=$(date +%s.%N)
import_s=$(python3 -c "print(round($t1 - $t0, 2))")
echo "bench-pg: import of $persons persons: ${import_s} s" >&2
"${as_pg[@]}" "$pgbin/psql" -X -q -h "$sock" -U postgres -d bench -c 'VACUUM ANALYZE' >/dev/null 2>&1 || true
sync

start_replica() { # port logfile [option...] -> pid in $!
	local port=$1 log=$2
	shift 2
	"$bin" serve --listen "127.0.0.1:$port" --db "$uri" --no-auth --max-per-ip 4096 "$@" 2> "$log" &
}
wait_http() { # url
	for _ in $(seq 200); do
		curl -fs "$1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "bench-pg: $1 does not answer" >&2
	exit 1
}
a_port=$(bench_free_port)
start_replica "$a_port" "$work/a.log"
a_pid=$!
b_port=$(bench_free_port)
start_replica "$b_port" "$work/b.log"
b_pid=$!
c_port=$(bench_free_port)
start_replica "$c_port" "$work/c.log" --person-cache-mb "$cache_mb"
c_pid=$!
wait_http "http://127.0.0.1:$a_port/readyz"
wait_http "http://127.0.0.1:$b_port/readyz"
wait_http "http://127.0.0.1:$c_port/readyz"
# replica C's cache warms itself from the database at start
# (db/person_warm.c): measured once it has.
bench_metric_zero "$c_port" shikaku_person_cache_warming 1200

curl -fs "http://127.0.0.1:$a_port/v1/persons/p0000001/eligibility" > "$work/decision.json"
chmod 0644 "$work/decision.json"
nport=$(bench_free_port)
lport=$(bench_free_port)
# the baseline's site (bench-lib.sh) and a load balancer in front of both replicas
bench_nginx_conf "$work" "$nport" 4096 "$(cat <<CONF
	upstream shikaku {
		least_conn;
		server 127.0.0.1:$a_port;
		server 127.0.0.1:$b_port;
		keepalive 64;
		keepalive_requests 1000000;
	}
	server {
		listen 127.0.0.1:$lport;
		location / {
			proxy_pass http://shikaku;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host localhost;
			proxy_buffering on;
		}
	}
CONF
)"
"$NGINX" -c "$work/nginx.conf" -p "$work" &
ngx_pid=$!
wait_http "http://127.0.0.1:$nport/decision.json"
wait_http "http://127.0.0.1:$lport/healthz"
bench_check_baseline bench-pg "$work" "$nport"
ngx_pids="$ngx_pid $(pgrep -P "$ngx_pid" | tr '\n' ' ')"

# "PID TICKS" lines (utime + stime) of the processes named.
snap() { # file pid...
	local f=$1 p
	shift
	: > "$f"
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] && awk -v p="$p" '{print p, $14 + $15}' "/proc/$p/stat" >> "$f"
	done
	return 0
}
pg_pids() { echo "$pm_pid $(pgrep -P "$pm_pid" | tr '\n' ' ')"; }
hz=$(getconf CLK_TCK)

run_wrk() { # name round url [script]
	local name=$1 round=$2 url=$3 script=${4:-} f="$work/$1-$2"
	echo "bench-pg: round $round/$rounds: wrk $name ($warmup s warm-up, then $seconds s, $conns connections)" >&2
	BENCH_PERSONS=$persons wrk -t"$threads" -c"$conns" -d"${warmup}s" \
		${script:+-s "$script"} "$url" > /dev/null
	# shellcheck disable=SC2046
	snap "$f.shikakud0" $a_pid $b_pid $c_pid
	# shellcheck disable=SC2046
	snap "$f.postgres0" $(pg_pids)
	# shellcheck disable=SC2086
	snap "$f.nginx0" $ngx_pids
	BENCH_PERSONS=$persons wrk -t"$threads" -c"$conns" -d"${seconds}s" --latency \
		${script:+-s "$script"} "$url" > "$f.wrk"
	snap "$f.shikakud1" $a_pid $b_pid $c_pid
	# shellcheck disable=SC2046
	snap "$f.postgres1" $(pg_pids)
	# shellcheck disable=SC2086
	snap "$f.nginx1" $ngx_pids
}
# Each run starts when the replicas' audit queues are empty.
audit_idle() { bench_audit_idle "$a_port" "$b_port" "$c_port"; }
rss() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

a_url="http://127.0.0.1:$a_port"
c_url="http://127.0.0.1:$c_port"
l_url="http://127.0.0.1:$lport"
picked() { case " $runs " in *" $1 "*) return 0 ;; esac; return 1; }
for round in $(seq "$rounds"); do
	audit_idle
	run_wrk nginx "$round" "http://127.0.0.1:$nport/decision.json"
	for run in evaluate1 lookup1 lookup1c evaluate2 lookup2; do
		picked "$run" || continue
		audit_idle
		case $run in
		evaluate1) run_wrk "$run" "$round" "$a_url/v1/eligibility:evaluate" bench/evaluate.lua ;;
		lookup1) run_wrk "$run" "$round" "$a_url" bench/lookup.lua ;;
		lookup1c) run_wrk "$run" "$round" "$c_url" bench/lookup.lua ;;
		evaluate2) run_wrk "$run" "$round" "$l_url/v1/eligibility:evaluate" bench/evaluate.lua ;;
		lookup2) run_wrk "$run" "$round" "$l_url" bench/lookup.lua ;;
		esac
	done
done
rss_a=$(rss "$a_pid")
rss_b=$(rss "$b_pid")
rss_c=$(rss "$c_pid")
pgver=$("$pgbin/postgres" --version | awk '{print $3}')

mkdir -p bench
python3 - "$work" "$import_s" "$persons" "$seconds" "$conns" "$rounds" "$hz" \
	"$rss_a" "$rss_b" "$pgver" "$rss_c" "$cache_mb" "$runs" <<'PY'
import json, os, sys
sys.path.insert(0, "scripts")
from bench_report import add_ratios, medians, warn_non_2xx, wrk_figures
(work, import_s, persons, seconds, conns, rounds, hz, rss_a, rss_b, pgver, rss_c, cache_mb,
 runs) = sys.argv[1:]
rounds, hz = int(rounds), int(hz)

def ticks(f):
    out = {}
    if os.path.exists(f):
        for line in open(f):
            p, t = line.split()
            out[p] = int(t)
    return out

def cpu_us(prefix, group, total):
    before, after = ticks(prefix + "." + group + "0"), ticks(prefix + "." + group + "1")
    t = sum(v - before.get(p, 0) for p, v in after.items())
    return round(t * 1e6 / hz / total, 1) if total else None

def parse(name, r):
    prefix = "%s/%s-%d" % (work, name, r)
    res, total = wrk_figures(open(prefix + ".wrk").read())
    if name == "nginx":
        res["nginx_cpu_us_per_request"] = cpu_us(prefix, "nginx", total)
    else:
        res["shikakud_cpu_us_per_request"] = cpu_us(prefix, "shikakud", total)
        res["postgres_cpu_us_per_request"] = cpu_us(prefix, "postgres", total)
        if name.endswith("2"):
            res["nginx_lb_cpu_us_per_request"] = cpu_us(prefix, "nginx", total)
    return res

NAMES = ("nginx",) + tuple(n for n in ("lookup1", "evaluate1", "lookup1c", "lookup2", "evaluate2")
                           if n in runs.split())
per_round = []
for r in range(1, rounds + 1):
    res = {n: parse(n, r) for n in NAMES}
    base = res["nginx"]
    for n in NAMES[1:]:
        add_ratios(res[n], base)
    per_round.append(res)
med = medians(per_round, NAMES)
label = {"lookup1": ("one_replica", "lookup"), "evaluate1": ("one_replica", "evaluate"),
         "lookup1c": ("one_replica_person_cache", "lookup"),
         "lookup2": ("two_replicas_nginx", "lookup"), "evaluate2": ("two_replicas_nginx", "evaluate")}
results = {"nginx": med["nginx"]}
for n, (g, k) in label.items():
    if n in med:
        results.setdefault(g, {})[k] = med[n]
if "one_replica_person_cache" in results:
    results["one_replica_person_cache"]["person_cache_mb"] = int(cache_mb)
pg = {"postgresql": pgver, "persons": int(persons), "import_seconds": float(import_s),
      "wrk_seconds": int(seconds), "connections": int(conns), "rounds": rounds,
      "peak_rss_mib": {"replica_a": round(int(rss_a) / 1024, 1), "replica_b": round(int(rss_b) / 1024, 1),
                       "replica_c_person_cache": round(int(rss_c) / 1024, 1)},
      "results": results, "per_round": per_round,
      "targets": {"lookup_rps_ratio": 0.3, "import_seconds": 30}}
path = "bench/results.json"
try:
    doc = json.load(open(path))
except (OSError, ValueError):
    doc = {}
doc["pg"] = pg
json.dump(doc, open(path + ".tmp", "w"), indent=2)
os.replace(path + ".tmp", path)

print("PostgreSQL %s, %d rounds (medians; ratios are each round's own):" % (pgver, rounds))
b = med["nginx"]
print("baseline nginx: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %.1f us CPU a request" % (
    b["requests_per_s"], b["p50_ms"], b["p99_ms"], b["nginx_cpu_us_per_request"] or 0))
for n, text in (("lookup1", "lookup,   one replica"), ("evaluate1", "evaluate, one replica"),
                ("lookup1c", "lookup,   one replica, person cache"),
                ("lookup2", "lookup,   two replicas + nginx"), ("evaluate2", "evaluate, two replicas + nginx")):
    if n not in med:
        continue
    r = med[n]
    lb = r.get("nginx_lb_cpu_us_per_request")
    print("%-37s %7.0f req/s (%.2f x nginx) p50 %.2f ms p99 %.2f ms; CPU a request: shikakud %.1f us, "
          "postgres %.1f us%s%s" % (
              text, r["requests_per_s"], r["rps_ratio_to_nginx"], r["p50_ms"], r["p99_ms"],
              r["shikakud_cpu_us_per_request"] or 0, r["postgres_cpu_us_per_request"] or 0,
              ", nginx %.1f us" % lb if lb is not None else "",
              "  NON-2XX: %d" % r["non_2xx"] if r["non_2xx"] else ""))
print("import of %s persons into PostgreSQL: %s s (target < 30 s)" % (persons, import_s))
print("peak resident memory: replica A %.1f MiB, replica B %.1f MiB, replica C (person cache %s MiB) %.1f MiB" % (
    int(rss_a) / 1024, int(rss_b) / 1024, cache_mb, int(rss_c) / 1024))
warn_non_2xx(med)
print("written: bench/results.json (pg)")
PY
