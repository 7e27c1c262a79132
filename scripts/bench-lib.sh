# scripts/bench-lib.sh - what scripts/bench.sh and scripts/bench-pg.sh
# share; sourced, not run.
# shellcheck shell=bash

# The knobs both read (bench.sh's header says what they are).
# shellcheck disable=SC2034
persons=${BENCH_PERSONS:-1000000}
seconds=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP:-2}
conns=${BENCH_CONNECTIONS:-64}
threads=${BENCH_WRK_THREADS:-2}
rounds=${BENCH_ROUNDS:-3}

# A free TCP port on loopback.
bench_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Writes WORK/nginx.conf: nginx in the foreground, its files in WORK,
# serving WORK/decision.json (the baseline) and WORK/worklist.json on 127.0.0.1:PORT; EXTRA (text,
# may be empty) goes inside http { } after that server.
bench_nginx_conf() { # work port worker_connections [extra]
	local work=$1 port=$2 wconns=$3 extra=${4:-}
	mkdir -p "$work/nginx"
	cat > "$work/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections $wconns; }
http {
	access_log off;
	keepalive_requests 1000000;
	client_body_temp_path $work/nginx;
	proxy_temp_path $work/nginx;
	fastcgi_temp_path $work/nginx;
	uwsgi_temp_path $work/nginx;
	scgi_temp_path $work/nginx;
	server {
		listen 127.0.0.1:$port;
		location = /decision.json {
			root $work;
			default_type application/json;
		}
		location = /worklist.json {
			root $work;
			default_type application/json;
		}
	}
$extra
}
CONF
}

# Waits (TENTHS tenths of a second at the most) until the gauge METRIC of
# the shikakud on PORT (/metrics) reads 0, or is not there.
bench_metric_zero() { # port metric tenths
	local v
	for _ in $(seq "$3"); do
		v=$(curl -fs "http://127.0.0.1:$1/metrics" |
			awk -v m="$2" '$1 == m {print $2}')
		[ "${v:-0}" = 0 ] && return 0
		sleep 0.1
	done
}

# Waits (30 s at the most each) until the audit queue of the shikakud on each
# PORT is empty: the audit writer goes on writing a run's rows for a while
# after it.
bench_audit_idle() { # port...
	local port
	for port in "$@"; do
		bench_metric_zero "$port" shikaku_audit_queue 300
	done
}

# Exits (1) unless nginx on PORT serves WORK/decision.json byte for byte: a
# 403 or 404 would make a bogus baseline.
bench_check_baseline() { # who work port
	cmp -s <(curl -fs "http://127.0.0.1:$3/decision.json") "$2/decision.json" || {
		echo "$1: nginx does not serve the decision file: no baseline" >&2
		exit 1
	}
}
