/* metrics.c - counters and their Prometheus text exposition. */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "api/metrics.h"
#include "db/audit_log.h"
#include "api/row_memo.h"
#include "db/person_cache.h"

/* Zero-filled after the last; the last slot is "other". */
static const int statuses[API_METRICS_STATUSES] = {
    200, 201, 204, 400, 401, 403, 404, 405, 408, 412,
    413, 414, 415, 421, 422, 429, 431, 500, 503, 507};

/* Upper bounds in seconds; the last bucket is +Inf. */
static const double bounds[API_METRICS_BUCKETS - 1] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};

void api_metrics_init(struct api_metrics *m, double now)
{
	memset(m, 0, sizeof *m);
	m->started = now;
}

/* The slot of route: found by pointer, or claimed with a compare-exchange
 * so that two threads meeting a new route never take the same slot. */
static int route_slot(struct api_metrics *m, const char *route)
{
	int i;

	for (i = 0; i < API_METRICS_ROUTES; i++) {
		const char *cur =
		    atomic_load_explicit(&m->routes[i], memory_order_acquire);

		if (cur == route)
			return i;
		if (cur == NULL) {
			const char *expected = NULL;

			if (atomic_compare_exchange_strong(&m->routes[i],
							   &expected, route))
				return i;
			if (expected == route)
				return i;
		} else if (strcmp(cur, route) == 0) {
			return i;
		}
	}
	return -1;
}

static int status_slot(int status)
{
	int i;

	for (i = 0; i < API_METRICS_STATUSES && statuses[i]; i++)
		if (statuses[i] == status)
			return i;
	return API_METRICS_STATUSES - 1; /* "other" */
}

void api_metrics_request(struct api_metrics *m, const char *route, int status,
			 double seconds)
{
	int r = route_slot(m, route ? route : "unmatched"), b;

	if (r < 0)
		return;
	atomic_fetch_add_explicit(&m->requests[r][status_slot(status)], 1,
				  memory_order_relaxed);
	for (b = 0; b < API_METRICS_BUCKETS - 1 && seconds > bounds[b]; b++)
		;
	atomic_fetch_add_explicit(&m->latency_bucket[r][b], 1,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency_count[r], 1,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency_sum_us[r],
				  (uint_fast64_t)(seconds * 1e6),
				  memory_order_relaxed);
}

void api_metrics_decision(struct api_metrics *m, enum rules_entitlement e)
{
	if ((unsigned)e < RULES_ENT_COUNT)
		atomic_fetch_add_explicit(&m->decisions[e], 1,
					  memory_order_relaxed);
}

void api_metrics_import(struct api_metrics *m, uint64_t accepted,
			uint64_t rejected)
{
	atomic_fetch_add_explicit(&m->import_lines_accepted, accepted,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&m->import_lines_rejected, rejected,
				  memory_order_relaxed);
}

void api_metrics_connection(struct api_metrics *m, int delta)
{
	atomic_fetch_add_explicit(&m->open_connections, delta,
				  memory_order_relaxed);
}

static uint64_t load(const atomic_uint_fast64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* The label of status slot s ("other" for the last), in buf. */
static const char *status_label(int s, char buf[16])
{
	if (!statuses[s])
		return "other";
	snprintf(buf, 16, "%d", statuses[s]);
	return buf;
}

/* The le label of latency bucket k ("+Inf" for the last), in buf. */
static const char *bucket_label(int k, char buf[32])
{
	if (k == API_METRICS_BUCKETS - 1)
		return "+Inf";
	snprintf(buf, 32, "%g", bounds[k]);
	return buf;
}

/* shikaku_requests_total: route's row per status answered. */
static void requests_rows(struct api_buf *b, const struct api_metrics *m, int r,
			  const char *route)
{
	char status[16];

	for (int s = 0; s < API_METRICS_STATUSES; s++) {
		uint64_t n = load(&m->requests[r][s]);

		if (n == 0)
			continue;
		api_buf_printf(b,
			       "shikaku_requests_total{route=\"%s\","
			       "status=\"%s\"} %llu\n",
			       route, status_label(s, status),
			       (unsigned long long)n);
	}
}

/* shikaku_request_duration_seconds: route's histogram. */
static void latency_rows(struct api_buf *b, const struct api_metrics *m, int r,
			 const char *route)
{
	char le[32];
	uint64_t cum = 0;

	for (int k = 0; k < API_METRICS_BUCKETS; k++) {
		cum += load(&m->latency_bucket[r][k]);
		api_buf_printf(b,
			       "shikaku_request_duration_seconds_bucket"
			       "{route=\"%s\",le=\"%s\"} %llu\n",
			       route, bucket_label(k, le),
			       (unsigned long long)cum);
	}
	api_buf_printf(b,
		       "shikaku_request_duration_seconds_sum{route=\"%s\"} "
		       "%.6f\n",
		       route, (double)load(&m->latency_sum_us[r]) / 1e6);
	api_buf_printf(b,
		       "shikaku_request_duration_seconds_count{route=\"%s\"} "
		       "%llu\n",
		       route, (unsigned long long)load(&m->latency_count[r]));
}

/* A family's HELP and TYPE lines (head), then rows for each route seen. */
static void render_per_route(struct api_buf *b, const struct api_metrics *m,
			     const char *head,
			     void (*rows)(struct api_buf *,
					  const struct api_metrics *, int,
					  const char *))
{
	api_buf_adds(b, head);
	for (int r = 0; r < API_METRICS_ROUTES; r++) {
		const char *route = atomic_load(&m->routes[r]);

		if (!route)
			break;
		rows(b, m, r, route);
	}
}

/* Decisions, import lines and open connections. */
static void render_counters(struct api_buf *b, const struct api_metrics *m)
{
	int k;

	api_buf_adds(b, "# HELP shikaku_decisions_total Decisions answered, by "
			"entitlement.\n"
			"# TYPE shikaku_decisions_total counter\n");
	for (k = 0; k < RULES_ENT_COUNT; k++)
		api_buf_printf(
		    b, "shikaku_decisions_total{entitlement=\"%s\"} %llu\n",
		    rules_entitlement_name((enum rules_entitlement)k),
		    (unsigned long long)load(&m->decisions[k]));
	api_buf_printf(b,
		       "# HELP shikaku_import_lines_total Import lines, by "
		       "result.\n"
		       "# TYPE shikaku_import_lines_total counter\n"
		       "shikaku_import_lines_total{result=\"accepted\"} %llu\n"
		       "shikaku_import_lines_total{result=\"rejected\"} %llu\n",
		       (unsigned long long)load(&m->import_lines_accepted),
		       (unsigned long long)load(&m->import_lines_rejected));
	api_buf_printf(b,
		       "# HELP shikaku_open_connections HTTP connections open "
		       "now.\n"
		       "# TYPE shikaku_open_connections gauge\n"
		       "shikaku_open_connections %lld\n",
		       (long long)atomic_load(&m->open_connections));
}

/* The audit writer's counters and gauges. */
static void render_audit(struct api_buf *b, const struct audit_log_stats *audit)
{
	api_buf_printf(
	    b,
	    "# HELP shikaku_audit_records_total Audit records, by "
	    "result: written to the audit file, or dropped (only at "
	    "a stop with the audit file refusing them, or out of "
	    "memory: alert on any).\n"
	    "# TYPE shikaku_audit_records_total counter\n"
	    "shikaku_audit_records_total{result=\"written\"} %llu\n"
	    "shikaku_audit_records_total{result=\"dropped\"} %llu\n"
	    "# HELP shikaku_audit_queue Audit records waiting for the "
	    "writer.\n"
	    "# TYPE shikaku_audit_queue gauge\n"
	    "shikaku_audit_queue %zu\n",
	    audit->written, audit->dropped, audit->queued);
	api_buf_printf(
	    b,
	    "# HELP shikaku_audit_available 1 while requests that "
	    "must be audited are served, 0 while they answer 503 "
	    "audit_unavailable (the audit file cannot be written) or "
	    "audit_log_full (--audit-max-size reached).\n"
	    "# TYPE shikaku_audit_available gauge\n"
	    "shikaku_audit_available %d\n"
	    "# HELP shikaku_audit_refused_total Requests answered 503 "
	    "audit_unavailable or audit_log_full, unprocessed.\n"
	    "# TYPE shikaku_audit_refused_total counter\n"
	    "shikaku_audit_refused_total %llu\n",
	    audit->available ? 1 : 0, audit->refused);
	/* (api_buf_printf writes at most 511 bytes a call) */
	api_buf_printf(b,
		       "# HELP shikaku_audit_max_bytes "
		       "--audit-max-size (0: none): from this many "
		       "bytes of shikaku_audit_bytes on, routes that "
		       "name persons answer 503 audit_log_full.\n"
		       "# TYPE shikaku_audit_max_bytes gauge\n"
		       "shikaku_audit_max_bytes %lld\n",
		       audit->max_bytes);
	if (audit->bytes >= 0)
		api_buf_printf(b,
			       "# HELP shikaku_audit_bytes Bytes of "
			       "the audit file's pages in use (its "
			       "rows and indexes).\n"
			       "# TYPE shikaku_audit_bytes gauge\n"
			       "shikaku_audit_bytes %lld\n",
			       audit->bytes);
}

/* One sample, name v, after its HELP and TYPE lines. */
static void render_sample(struct api_buf *b, const char *name, const char *type,
			  const char *help, uint64_t v)
{
	api_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help,
		       name, type, name, (unsigned long long)v);
}

/* A counter of lookups, name{result="hit"} and name{result="miss"}. */
static void render_hit_miss(struct api_buf *b, const char *name,
			    const char *help, uint64_t hits, uint64_t misses)
{
	api_buf_printf(b,
		       "# HELP %s %s\n# TYPE %s counter\n"
		       "%s{result=\"hit\"} %llu\n%s{result=\"miss\"} %llu\n",
		       name, help, name, name, (unsigned long long)hits, name,
		       (unsigned long long)misses);
}

/* The warming of the cache at start (db_person_cache_warm). */
static void render_person_cache_warm(struct api_buf *b, struct db *store)
{
	uint64_t persons;
	bool warming = db_person_cache_warming(store, &persons);

	render_sample(b, "shikaku_person_cache_warming", "gauge",
		      "1 while the cache is being filled from the store after "
		      "the start.",
		      warming ? 1 : 0);
	render_sample(b, "shikaku_person_cache_warmed_total", "counter",
		      "Persons read into the cache by its warming.", persons);
}

/* The person cache's counters and gauges, when there is one. */
static void render_person_cache(struct api_buf *b, struct db *store)
{
	struct person_cache_stats st;

	if (!store || !db_person_cache_stats(store, &st))
		return;
	render_hit_miss(b, "shikaku_person_cache_lookups_total",
			"Lookups of stored persons in the person cache, by "
			"result.",
			st.hits, st.misses);
	api_buf_printf(
	    b,
	    "# HELP shikaku_person_cache_drops_total Records "
	    "dropped: all of them when another process's writes "
	    "cannot be told apart (flush), one by a write of this or "
	    "another process (invalidation), to stay in budget "
	    "(eviction).\n"
	    "# TYPE shikaku_person_cache_drops_total counter\n"
	    "shikaku_person_cache_drops_total{reason=\"flush\"} "
	    "%llu\n"
	    "shikaku_person_cache_drops_total{reason=\"invalidation\"}"
	    " %llu\n"
	    "shikaku_person_cache_drops_total{reason=\"eviction\"} "
	    "%llu\n",
	    (unsigned long long)st.flushes,
	    (unsigned long long)st.invalidations,
	    (unsigned long long)st.evictions);
	render_sample(b, "shikaku_person_cache_catch_ups_total", "counter",
		      "Commits of other processes told by the store's log of "
		      "person writes (SQLite): only the persons written "
		      "dropped.",
		      st.catch_ups);
	render_sample(b, "shikaku_person_cache_entries", "gauge",
		      "Persons held.", st.entries);
	render_sample(b, "shikaku_person_cache_bytes", "gauge",
		      "Bytes held, of at most shikaku_person_cache_max_bytes "
		      "(--person-cache-mb).",
		      st.bytes);
	api_buf_printf(b,
		       "# TYPE shikaku_person_cache_max_bytes gauge\n"
		       "shikaku_person_cache_max_bytes %llu\n",
		       (unsigned long long)st.budget);
	render_person_cache_warm(b, store);
}

static void render_row_memo(struct api_buf *b, struct api_row_memo *memo)
{
	struct api_row_memo_stats st;

	if (!memo)
		return;
	api_row_memo_stats(memo, &st);
	render_hit_miss(b, "shikaku_worklist_memo_lookups_total",
			"Worklist rows found decided today (hit) or decided "
			"afresh (miss).",
			st.hits, st.misses);
}

int api_metrics_render(const struct api_metrics *m, const char *version,
		       long long db_bytes, const struct audit_log_stats *audit,
		       double now, char **out, size_t *len)
{
	struct api_buf b;

	api_buf_init(&b, (size_t)4 << 20);
	render_per_route(&b, m,
			 "# HELP shikaku_requests_total HTTP requests "
			 "answered, by route template and status.\n"
			 "# TYPE shikaku_requests_total counter\n",
			 requests_rows);
	render_per_route(&b, m,
			 "# HELP shikaku_request_duration_seconds Time from "
			 "the request's first byte to its answer.\n"
			 "# TYPE shikaku_request_duration_seconds histogram\n",
			 latency_rows);
	render_counters(&b, m);
	if (db_bytes >= 0)
		api_buf_printf(&b,
			       "# HELP shikaku_database_bytes Size of the "
			       "database files (FILE, FILE-audit) and their "
			       "WALs.\n"
			       "# TYPE shikaku_database_bytes gauge\n"
			       "shikaku_database_bytes %lld\n",
			       db_bytes);
	if (audit)
		render_audit(&b, audit);
	render_person_cache(&b, m->store);
	render_row_memo(&b, m->row_memo);
	api_buf_printf(&b,
		       "# HELP shikaku_uptime_seconds Seconds since start.\n"
		       "# TYPE shikaku_uptime_seconds gauge\n"
		       "shikaku_uptime_seconds %.0f\n",
		       now - m->started);
	api_buf_adds(&b, "# HELP shikaku_build_info The running build.\n"
			 "# TYPE shikaku_build_info gauge\n"
			 "shikaku_build_info{version=");
	api_buf_json_str(&b, version ? version : "");
	api_buf_adds(&b, ",ruleset=\"" RULES_RULESET_ID "\"} 1\n");
	*out = api_buf_take(&b, len);
	return *out ? 0 : -1;
}

void api_count_decision(const struct api_ctx *ctx,
			const struct rules_decision *d)
{
	if (ctx->app->metrics)
		api_metrics_decision(ctx->app->metrics, d->entitlement);
}
