/* audit_db.h - the audit log's table (SPEC §8): who named which persons,
 * when, through which route, with what outcome.
 *
 * A record holds only time, key id, request id, method, route template,
 * person ids and status: never a fact, a body, a query value or a raw
 * path.  Requests write through the asynchronous writer of audit_log.h;
 * these functions are the writer's and GET /v1/audit's.
 */
#ifndef SHIKAKU_DB_AUDIT_DB_H
#define SHIKAKU_DB_AUDIT_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

/* "2025-06-01T09:30:12.345+09:00" */
#define DB_AUDIT_TIME_LEN   29 /* BASE_TOKYO_TIME_MS_LEN */
#define DB_AUDIT_ID_MAX     64 /* person and request ids */
#define DB_AUDIT_KEY_MAX    16
#define DB_AUDIT_METHOD_MAX 16
#define DB_AUDIT_ROUTE_MAX  64
/* Person ids in one row; a record naming more becomes several rows with
 * the same request id. */
#define DB_AUDIT_ROW_IDS_MAX 1000

/* One audited request.  Every pointer is borrowed by the callee. */
struct audit_record {
	int64_t time_ms;    /* POSIX milliseconds; audit_log_record sets it */
	const char *key_id; /* NULL: no key (--no-auth on loopback) */
	const char *request_id; /* 1-64 of [A-Za-z0-9._-] */
	const char *method;
	const char *route; /* the route template, e.g. /v1/persons/{id} */
	const char *const *person_ids; /* n_person_ids ids, each 1-64 of
					  [A-Za-z0-9._-]; others are left out */
	size_t n_person_ids;
	int status;
	/* How many more ids the request named that are stored nowhere: only
	 * counted (a made-up id names nobody, and a flood of them must not
	 * fill the disk: issue 12). */
	size_t n_absent;
};

/* A row read back.  Strings are copies except person_ids. */
struct db_audit_row {
	int64_t seq;
	char time[DB_AUDIT_TIME_LEN + 1];
	char key_id[DB_AUDIT_KEY_MAX + 1]; /* "" = none */
	char request_id[DB_AUDIT_ID_MAX + 1];
	char method[DB_AUDIT_METHOD_MAX + 1];
	char route[DB_AUDIT_ROUTE_MAX + 1];
	const char *person_ids; /* space-separated; borrowed for the call */
	int status;
	long long absent_ids; /* ids named that were stored nowhere */
};

/* GET /v1/audit's filters; NULL / 0 = no filter. */
struct db_audit_filter {
	const char *person_id;
	const char *key_id;
	const char *since; /* a time text (db_audit_time_format): time >= */
	const char *until; /* a time text: time < (exclusive) */
	int64_t after_seq; /* the cursor: rows with seq > after_seq */
	int limit;         /* 1 or more */
};

/* Writes "YYYY-MM-DDTHH:MM:SS.mmm+09:00" (Asia/Tokyo) for POSIX
 * milliseconds ms into out. */
void db_audit_time_format(int64_t ms, char out[DB_AUDIT_TIME_LEN + 1]);

/* True when s is 1-64 characters of [A-Za-z0-9._-] and not an individual
 * number (SPEC §8: the log never holds one, whatever a caller passes). */
bool db_audit_id_valid(const char *s);

/* Inserts n records (their time_ms as given) in one transaction: all or
 * none.  An id that is not valid is left out of the row.  Rows must come
 * in time order (the writer of audit_log.h sees to it): the time filters
 * of db_audit_query rely on time never decreasing as seq grows. */
enum db_result db_audit_insert(struct db_conn *c,
			       const struct audit_record *recs, size_t n);

/* The bytes of the audit file's pages in use (its page count less its
 * free pages, times the page size): its rows and indexes, whatever the
 * file's own size (retention frees pages the file keeps for reuse).  Two
 * header reads, no scan.  For --audit-max-size (audit_log.h). */
enum db_result db_audit_bytes(struct db_conn *c, long long *bytes);

/* Calls fn for up to f->limit rows matching f, in seq (= time) order;
 * fn returns 0 to go on, 1 to stop. */
enum db_result db_audit_query(struct db_conn *c,
			      const struct db_audit_filter *f,
			      int (*fn)(const struct db_audit_row *, void *),
			      void *arg);

/* Deletes the rows older than before (a time text), in short transactions
 * of at most a few thousand rows each.  *deleted (may be NULL) receives
 * the number of rows removed. */
enum db_result db_audit_expire(struct db_conn *c, const char *before,
			       long long *deleted);

#endif
