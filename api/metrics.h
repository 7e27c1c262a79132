/* metrics.h - Prometheus counters of the service (GET /metrics).
 *
 * Counters are relaxed atomics in one struct api_metrics that the caller
 * owns (no global state): recording is a few atomic adds, safe from any
 * thread, and takes no lock.
 */
#ifndef SHIKAKU_API_METRICS_H
#define SHIKAKU_API_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/rules.h"

struct db;

#define API_METRICS_ROUTES   24
#define API_METRICS_STATUSES 24
#define API_METRICS_BUCKETS  12

struct api_metrics {
	/* route templates seen, filled in order; index = route slot */
	const char *_Atomic routes[API_METRICS_ROUTES];
	atomic_uint_fast64_t requests[API_METRICS_ROUTES][API_METRICS_STATUSES];
	atomic_uint_fast64_t latency_bucket[API_METRICS_ROUTES]
					   [API_METRICS_BUCKETS];
	atomic_uint_fast64_t latency_count[API_METRICS_ROUTES];
	atomic_uint_fast64_t latency_sum_us[API_METRICS_ROUTES];
	atomic_uint_fast64_t decisions[RULES_ENT_COUNT];
	atomic_uint_fast64_t import_lines_accepted;
	atomic_uint_fast64_t import_lines_rejected;
	atomic_int_fast64_t open_connections;
	double started; /* POSIX seconds */
	/* The store whose person cache is shown (borrowed; NULL: none). */
	struct db *store;
	/* The worklist's memo whose lookups are shown (borrowed; NULL:
	 * none). */
	struct api_row_memo *row_memo;
};

void api_metrics_init(struct api_metrics *m, double now);

/* One answered request: route is a static route template (the same
 * pointer each time), status its HTTP status, seconds its duration. */
void api_metrics_request(struct api_metrics *m, const char *route, int status,
			 double seconds);
void api_metrics_decision(struct api_metrics *m, enum rules_entitlement e);
void api_metrics_import(struct api_metrics *m, uint64_t accepted,
			uint64_t rejected);
void api_metrics_connection(struct api_metrics *m, int delta);

struct audit_log_stats;

/* Appends the text exposition format (version 0.0.4) to a new buffer:
 * *out is new (caller frees).  db_bytes: the database files' size, or -1;
 * audit: the audit writer's counts, or NULL when there is none.
 * Returns 0, or -1 when out of memory. */
int api_metrics_render(const struct api_metrics *m, const char *version,
		       long long db_bytes, const struct audit_log_stats *audit,
		       double now, char **out, size_t *len);

#endif
