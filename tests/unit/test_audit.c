/* Unit tests of db/audit_db.c, db/audit_log.c and api/audit.c on a
 * temporary database. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/audit.h"
#include "api/internal.h"
#include "db/audit_db.h"
#include "db/audit_log.h"
#include "db/internal.h"
#include "tempdb.h"

TEMPDB_SUITE(audit);

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct rows {
	int n;
	int64_t seq[4096];
	char ids[4096][80];
	char key[4096][20];
	char time[4096][32];
};

static int collect(const struct db_audit_row *r, void *arg)
{
	struct rows *rs = arg;

	if (rs->n < 4096) {
		rs->seq[rs->n] = r->seq;
		snprintf(rs->ids[rs->n], sizeof rs->ids[0], "%s",
			 r->person_ids);
		snprintf(rs->key[rs->n], sizeof rs->key[0], "%s", r->key_id);
		snprintf(rs->time[rs->n], sizeof rs->time[0], "%s", r->time);
	}
	rs->n++;
	return 0;
}

static struct rows *query(const struct db_audit_filter *f)
{
	struct rows *rs = calloc(1, sizeof *rs);

	cr_assert_not_null(rs);
	cr_assert_eq(db_audit_query(conn, f, collect, rs), DB_OK);
	return rs;
}

static long long count(const char *sql)
{
	sqlite3_stmt *s = NULL;
	long long n;

	cr_assert_eq(sqlite3_prepare_v2(conn->h, sql, -1, &s, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

Test(audit, time_format)
{
	char t[DB_AUDIT_TIME_LEN + 1];

	db_audit_time_format(0, t);
	cr_assert_str_eq(t, "1970-01-01T09:00:00.000+09:00");
	db_audit_time_format(1748736000123LL, t);
	cr_assert_str_eq(t, "2025-06-01T09:00:00.123+09:00");
	db_audit_time_format(-1, t);
	cr_assert_str_eq(t, "1970-01-01T08:59:59.999+09:00");
	cr_assert_eq(strlen(t), DB_AUDIT_TIME_LEN);
	/* The same second again, then the next: each formatted afresh. */
	db_audit_time_format(1748736000999LL, t);
	cr_assert_str_eq(t, "2025-06-01T09:00:00.999+09:00");
	db_audit_time_format(1748736000045LL, t);
	cr_assert_str_eq(t, "2025-06-01T09:00:00.045+09:00");
	db_audit_time_format(1748736001000LL, t);
	cr_assert_str_eq(t, "2025-06-01T09:00:01.000+09:00");
	db_audit_time_format(1748739599999LL, t);
	cr_assert_str_eq(t, "2025-06-01T09:59:59.999+09:00");
}

Test(audit, the_tables_hold_only_the_listed_columns)
{
	static const char *const want[] = {
	    "seq",   "time",       "key_id", "request_id", "method",
	    "route", "person_ids", "status", "absent_ids"};
	sqlite3_stmt *s = NULL;
	size_t n = 0;

	cr_assert_eq(sqlite3_prepare_v2(conn->h,
					"SELECT name FROM pragma_table_info("
					"'audit') ORDER BY cid",
					-1, &s, NULL),
		     SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		cr_assert_lt(n, sizeof want / sizeof want[0]);
		cr_assert_str_eq((const char *)sqlite3_column_text(s, 0),
				 want[n]);
		n++;
	}
	sqlite3_finalize(s);
	cr_assert_eq(n, sizeof want / sizeof want[0]);
	cr_assert_eq(count("SELECT count(*) FROM pragma_table_info("
			   "'audit_person')"),
		     3);
	cr_assert_eq(count("SELECT count(*) FROM pragma_table_info("
			   "'audit_person') WHERE name IN ('bucket', "
			   "'person_id', 'seq')"),
		     3);
}

/* ---- the asynchronous writer -------------------------------------------- */

#define THREADS    4
#define PER_THREAD 500

struct worker {
	struct audit_log *log;
	int n;
	int fails;
};

static void *record_many(void *arg)
{
	struct worker *w = arg;
	char id[32], rid[32];
	const char *ids[2];
	struct audit_record r = {0};
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		snprintf(id, sizeof id, "p-%d-%d", w->n, i % 10);
		snprintf(rid, sizeof rid, "req-%d-%d", w->n, i);
		ids[0] = id;
		ids[1] = "shared";
		r.key_id = w->n % 2 ? "aaaaaaaaaaaa" : "bbbbbbbbbbbb";
		r.request_id = rid;
		r.method = "GET";
		r.route = "/v1/persons/{id}";
		r.person_ids = ids;
		r.n_person_ids = 2;
		r.status = 200;
		if (audit_log_record(w->log, &r) != 0)
			w->fails++;
	}
	return NULL;
}

Test(audit, records_from_many_threads_are_all_written_by_stop)
{
	struct worker w[THREADS];
	pthread_t t[THREADS];
	struct audit_log_stats st;
	struct audit_log *log;
	struct db_audit_filter f = {0};
	struct rows *rs;
	char err[256];
	int i;

	log = audit_log_start(path, 0, err, sizeof err);
	cr_assert_not_null(log, "%s", err);
	for (i = 0; i < THREADS; i++) {
		w[i].log = log;
		w[i].n = i;
		w[i].fails = 0;
		cr_assert_eq(pthread_create(&t[i], NULL, record_many, &w[i]),
			     0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(w[i].fails, 0);
	}
	audit_log_stats(log, &st);
	cr_assert_eq(st.recorded, THREADS * PER_THREAD);
	audit_log_stop(log);
	cr_assert_eq(count("SELECT count(*) FROM audit"), THREADS * PER_THREAD);
	cr_assert_eq(count("SELECT count(*) FROM audit_person WHERE "
			   "person_id = 'shared'"),
		     THREADS * PER_THREAD);
	/* Stamped in queue order: time never decreases as seq grows. */
	cr_assert_eq(count("SELECT count(*) FROM audit a JOIN audit b ON "
			   "b.seq = a.seq + 1 WHERE b.time < a.time"),
		     0);
	f.person_id = "p-2-3";
	f.limit = 1000;
	rs = query(&f);
	cr_assert_eq(rs->n, PER_THREAD / 10);
	cr_assert_str_eq(rs->ids[0], "p-2-3 shared");
	free(rs);
}

Test(audit, flush_makes_records_visible_while_running)
{
	struct audit_record r = {.request_id = "r1",
				 .method = "PUT",
				 .route = "/v1/persons/{id}",
				 .status = 201};
	const char *ids[] = {"alice"};
	struct audit_log_stats st;
	struct audit_log *log;
	char err[256];

	r.person_ids = ids;
	r.n_person_ids = 1;
	log = audit_log_start(path, 0, err, sizeof err);
	cr_assert_not_null(log, "%s", err);
	cr_assert_eq(audit_log_record(log, &r), 0);
	cr_assert_eq(audit_log_flush(log, 5000), 0);
	cr_assert_eq(count("SELECT count(*) FROM audit WHERE person_ids = "
			   "'alice' AND key_id IS NULL AND status = 201"),
		     1);
	audit_log_stats(log, &st);
	cr_assert_eq(st.written, 1);
	cr_assert_eq(st.dropped, 0);
	cr_assert_eq(st.queued, 0);
	audit_log_stop(log);
	cr_assert_eq(audit_log_record(NULL, &r), 0);
	audit_log_stop(NULL);
}

Test(audit, start_fails_on_an_unmigrated_file)
{
	char err[256], other[160];
	struct audit_log *log;

	snprintf(other, sizeof other, "%s/empty.db", tdb.dir);
	log = audit_log_start(other, 0, err, sizeof err);
	cr_assert_null(log);
	cr_assert(strstr(err, "migrated"), "%s", err);
}

/* ---- rows, filters, pages ------------------------------------------------- */

/* 2025-06-01T09:00:00.000+09:00 */
#define T0  1748736000000LL
#define DAY 86400000LL

static void insert(int64_t ms, const char *key, const char *rid,
		   const char *const *ids, size_t n, int status)
{
	struct audit_record r = {0};

	r.time_ms = ms;
	r.key_id = key;
	r.request_id = rid;
	r.method = "GET";
	r.route = "/v1/persons/{id}";
	r.person_ids = ids;
	r.n_person_ids = n;
	r.status = status;
	cr_assert_eq(db_audit_insert(conn, &r, 1), DB_OK);
}

static void fixture(void)
{
	const char *a[] = {"alice"}, *b[] = {"bob"}, *ab[] = {"alice", "bob"};

	insert(T0, "aaaaaaaaaaaa", "r1", a, 1, 200);            /* 06-01 */
	insert(T0 + DAY, "bbbbbbbbbbbb", "r2", b, 1, 404);      /* 06-02 */
	insert(T0 + 2 * DAY, "aaaaaaaaaaaa", "r3", ab, 2, 200); /* 06-03 */
	insert(T0 + 3 * DAY, NULL, "r4", NULL, 0, 200);         /* 06-04 */
}

Test(audit, filters_by_person_key_and_time)
{
	struct db_audit_filter f = {.limit = 100};
	char since[32], until[32];
	struct rows *rs;

	fixture();
	rs = query(&f);
	cr_assert_eq(rs->n, 4);
	cr_assert_str_eq(rs->time[0], "2025-06-01T09:00:00.000+09:00");
	cr_assert_str_eq(rs->ids[2], "alice bob");
	cr_assert_str_eq(rs->key[3], "");
	free(rs);

	f.person_id = "alice";
	rs = query(&f);
	cr_assert_eq(rs->n, 2);
	cr_assert_eq(rs->seq[1], 3);
	free(rs);

	f.key_id = "bbbbbbbbbbbb";
	rs = query(&f);
	cr_assert_eq(rs->n, 0);
	free(rs);
	f.person_id = "bob";
	rs = query(&f);
	cr_assert_eq(rs->n, 1);
	cr_assert_eq(rs->seq[0], 2);
	free(rs);

	f.person_id = NULL;
	f.key_id = "aaaaaaaaaaaa";
	rs = query(&f);
	cr_assert_eq(rs->n, 2);
	free(rs);

	f.key_id = NULL;
	db_audit_time_format(T0 + DAY, since);
	db_audit_time_format(T0 + 3 * DAY, until);
	f.since = since;
	f.until = until;
	rs = query(&f);
	cr_assert_eq(rs->n, 2);
	cr_assert_eq(rs->seq[0], 2);
	cr_assert_eq(rs->seq[1], 3);
	free(rs);

	/* Nothing in range. */
	db_audit_time_format(T0 + 10 * DAY, since);
	f.until = NULL;
	rs = query(&f);
	cr_assert_eq(rs->n, 0);
	free(rs);
	f.since = NULL;
	db_audit_time_format(T0 - DAY, until);
	f.until = until;
	rs = query(&f);
	cr_assert_eq(rs->n, 0);
	free(rs);
}

Test(audit, cursor_and_limit_page_through)
{
	struct db_audit_filter f = {.limit = 2};
	struct rows *rs;

	fixture();
	rs = query(&f);
	cr_assert_eq(rs->n, 2);
	f.after_seq = rs->seq[1];
	free(rs);
	rs = query(&f);
	cr_assert_eq(rs->n, 2);
	cr_assert_eq(rs->seq[0], 3);
	f.after_seq = rs->seq[1];
	free(rs);
	rs = query(&f);
	cr_assert_eq(rs->n, 0);
	free(rs);
}

Test(audit, many_ids_split_and_invalid_ids_are_left_out)
{
	static char idbuf[2500][16];
	const char *ids[2503];
	struct db_audit_filter f = {.limit = 100};
	struct rows *rs;
	size_t i;

	for (i = 0; i < 2500; i++) {
		snprintf(idbuf[i], sizeof idbuf[i], "id%zu", i);
		ids[i] = idbuf[i];
	}
	ids[2500] = "has space";
	ids[2501] = "";
	ids[2502] = "123456789018"; /* an individual number: never stored */
	insert(T0, "aaaaaaaaaaaa", "big", ids, 2503, 200);
	rs = query(&f);
	cr_assert_eq(rs->n, 3); /* 1000 + 1000 + 500 */
	free(rs);
	cr_assert_eq(count("SELECT count(*) FROM audit_person"), 2500);
	cr_assert_eq(count("SELECT count(*) FROM audit WHERE instr("
			   "person_ids, '123456789018') > 0"),
		     0);
	cr_assert_eq(count("SELECT count(*) FROM audit WHERE request_id = "
			   "'big'"),
		     3);
	cr_assert_eq(count("SELECT count(*) FROM audit WHERE instr("
			   "person_ids, 'space') > 0"),
		     0);
}

Test(audit, odd_methods_and_request_ids_are_not_stored_as_sent)
{
	struct audit_record r = {0};

	r.time_ms = T0;
	r.request_id = "bad id with spaces";
	r.method = "get 123456789018";
	r.route = "/v1/persons/{id}";
	r.status = 200;
	cr_assert_eq(db_audit_insert(conn, &r, 1), DB_OK);
	cr_assert_eq(count("SELECT count(*) FROM audit WHERE method = 'OTHER' "
			   "AND request_id = '-'"),
		     1);
}

Test(audit, retention_deletes_old_rows_at_start)
{
	const char *a[] = {"alice"}, *b[] = {"bob"};
	struct audit_log *log;
	struct rows *rs;
	struct db_audit_filter f = {.limit = 100};
	int64_t now = wall_ms();
	char err[256];

	insert(now - 40 * DAY, "aaaaaaaaaaaa", "old1", a, 1, 200);
	insert(now - 31 * DAY, "aaaaaaaaaaaa", "old2", b, 1, 200);
	insert(now - 29 * DAY, "aaaaaaaaaaaa", "new1", a, 1, 200);
	insert(now - 1000, "aaaaaaaaaaaa", "new2", b, 1, 200);
	log = audit_log_start(path, 30, err, sizeof err);
	cr_assert_not_null(log, "%s", err);
	audit_log_stop(log);
	rs = query(&f);
	cr_assert_eq(rs->n, 2);
	cr_assert_eq(rs->seq[0], 3);
	free(rs);
	cr_assert_eq(count("SELECT count(*) FROM audit_person"), 2);
	cr_assert_eq(count("SELECT min(seq) FROM audit_person"), 3);
}

Test(audit, retention_zero_keeps_everything)
{
	const char *a[] = {"alice"};
	struct audit_log *log;
	char err[256];

	insert(T0 - 3650 * DAY, NULL, "ancient", a, 1, 200);
	log = audit_log_start(path, 0, err, sizeof err);
	cr_assert_not_null(log, "%s", err);
	audit_log_stop(log);
	cr_assert_eq(count("SELECT count(*) FROM audit"), 1);
}

Test(audit, expire_in_chunks)
{
	struct audit_record r = {.request_id = "r",
				 .method = "GET",
				 .route = "/v1/persons",
				 .status = 200};
	static struct audit_record many[12000];
	char before[32];
	long long deleted = 0;
	size_t i;

	for (i = 0; i < 12000; i++) {
		many[i] = r;
		many[i].time_ms = T0 + (int64_t)i;
	}
	cr_assert_eq(db_audit_insert(conn, many, 12000), DB_OK);
	db_audit_time_format(T0 + 11000, before);
	cr_assert_eq(db_audit_expire(conn, before, &deleted), DB_OK);
	cr_assert_eq(deleted, 11000);
	cr_assert_eq(count("SELECT count(*) FROM audit"), 1000);
	cr_assert_eq(db_audit_expire(conn, before, &deleted), DB_OK);
	cr_assert_eq(deleted, 0);
}

/* ---- GET /v1/audit -------------------------------------------------------- */

static struct api_ruleset ruleset;

static json_t *get(struct api_kv *q, size_t nq, int *status)
{
	struct api_request req = {0};
	struct api_response resp;
	struct api_app app = {0};
	struct api_ctx ctx = {0};
	json_error_t jerr;
	json_t *doc;
	char err[200];

	cr_assert_eq(api_ruleset_load(NULL, &ruleset, err, sizeof err), 0);
	app.ruleset = &ruleset;
	app.db = db;
	req.method = "GET";
	req.path = "/v1/audit";
	req.query = q;
	req.n_query = nq;
	req.request_id = "test";
	req.now = 1748736000.0;
	ctx.app = &app;
	ctx.req = &req;
	memset(&resp, 0, sizeof resp);
	api_audit_get(&ctx, &resp);
	*status = resp.status;
	cr_assert_not_null(resp.body);
	doc = json_loadb(resp.body, resp.body_len, 0, &jerr);
	cr_assert_not_null(doc, "%s", jerr.text);
	api_response_fini(&resp);
	return doc;
}

static const char *first_code(json_t *doc)
{
	return json_string_value(json_object_get(
	    json_array_get(json_object_get(doc, "errors"), 0), "code"));
}

Test(audit, api_lists_pages_and_filters)
{
	struct api_kv q[3];
	json_t *doc, *items, *it;
	const char *cursor;
	int status;

	fixture();
	doc = get(NULL, 0, &status);
	cr_assert_eq(status, 200);
	items = json_object_get(doc, "items");
	cr_assert_eq(json_array_size(items), 4);
	it = json_array_get(items, 2);
	cr_assert_eq(json_integer_value(json_object_get(it, "seq")), 3);
	cr_assert_str_eq(json_string_value(json_object_get(it, "time")),
			 "2025-06-03T09:00:00.000+09:00");
	cr_assert_str_eq(json_string_value(json_object_get(it, "key_id")),
			 "aaaaaaaaaaaa");
	cr_assert_str_eq(json_string_value(json_object_get(it, "request_id")),
			 "r3");
	cr_assert_str_eq(json_string_value(json_object_get(it, "method")),
			 "GET");
	cr_assert_str_eq(json_string_value(json_object_get(it, "route")),
			 "/v1/persons/{id}");
	cr_assert_eq(json_array_size(json_object_get(it, "person_ids")), 2);
	cr_assert_str_eq(json_string_value(json_array_get(
			     json_object_get(it, "person_ids"), 1)),
			 "bob");
	cr_assert_eq(json_integer_value(json_object_get(it, "status")), 200);
	cr_assert_eq(json_integer_value(json_object_get(it, "absent_ids")), 0);
	cr_assert_eq(json_object_size(it), 9);
	cr_assert(
	    json_is_null(json_object_get(json_array_get(items, 3), "key_id")));
	cr_assert(json_is_null(json_object_get(doc, "next_cursor")));
	json_decref(doc);

	q[0] = (struct api_kv){"limit", "3"};
	doc = get(q, 1, &status);
	cr_assert_eq(json_array_size(json_object_get(doc, "items")), 3);
	cursor = json_string_value(json_object_get(doc, "next_cursor"));
	cr_assert_not_null(cursor);
	q[1] = (struct api_kv){"cursor", strdup(cursor)};
	json_decref(doc);
	doc = get(q, 2, &status);
	cr_assert_eq(status, 200);
	cr_assert_eq(json_array_size(json_object_get(doc, "items")), 1);
	cr_assert(json_is_null(json_object_get(doc, "next_cursor")));
	free((char *)q[1].value);
	json_decref(doc);

	/* A date covers its whole day, at both ends. */
	q[0] = (struct api_kv){"since", "2025-06-02"};
	q[1] = (struct api_kv){"until", "2025-06-03"};
	q[2] = (struct api_kv){"person_id", "bob"};
	doc = get(q, 3, &status);
	cr_assert_eq(json_array_size(json_object_get(doc, "items")), 2);
	json_decref(doc);
	/* Date-times: Z, an offset, '+' arrived as a space, no offset. */
	q[0] = (struct api_kv){"since", "2025-06-02T00:00:00Z"};
	q[1] = (struct api_kv){"until", "2025-06-03T09:00:00.000 09:00"};
	doc = get(q, 2, &status);
	cr_assert_eq(status, 200);
	cr_assert_eq(json_array_size(json_object_get(doc, "items")), 2);
	json_decref(doc);
	q[1] = (struct api_kv){"until", "2025-06-03T08:59:59.999"};
	doc = get(q, 2, &status);
	cr_assert_eq(json_array_size(json_object_get(doc, "items")), 1);
	json_decref(doc);
	q[0] = (struct api_kv){"key_id", "bbbbbbbbbbbb"};
	doc = get(q, 1, &status);
	cr_assert_eq(json_array_size(json_object_get(doc, "items")), 1);
	json_decref(doc);
}

Test(audit, api_refuses_bad_values)
{
	static const struct {
		const char *key, *value, *code;
	} cases[] = {
	    {"person_id", "a b", "invalid_person_id"},
	    {"person_id", "", "invalid_person_id"},
	    {"since", "2025-02-30", "invalid_date"},
	    {"since", "2025-06-01T24:00:00", "invalid_date"},
	    {"until", "2025-06-01T10:00", "invalid_date"},
	    {"until", "2025-06-01T10:00:00+9", "invalid_date"},
	    {"until", "2025-06-01T10:00:00.", "invalid_date"},
	    {"since", "yesterday", "invalid_date"},
	    {"limit", "0", "invalid_type"},
	    {"limit", "1001", "invalid_type"},
	    {"limit", "ten", "invalid_type"},
	    {"cursor", "abc", "invalid_type"},
	    {"cursor", "0", "invalid_type"},
	    {"key_id", "AAAAAAAAAAAA", "invalid_type"},
	    {"key_id", "aaaa", "invalid_type"},
	};
	struct api_kv q[1];
	json_t *doc;
	size_t i;
	int status;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		q[0] = (struct api_kv){cases[i].key, cases[i].value};
		doc = get(q, 1, &status);
		cr_assert_eq(status, 422, "%s=%s", cases[i].key,
			     cases[i].value);
		cr_assert_str_eq(first_code(doc), cases[i].code, "%s=%s",
				 cases[i].key, cases[i].value);
		json_decref(doc);
	}
}

Test(audit, a_busy_database_delays_records_but_loses_none)
{
	struct audit_record r = {.request_id = "r1",
				 .method = "GET",
				 .route = "/v1/persons/{id}",
				 .status = 200};
	struct audit_log_stats st;
	struct audit_log *log;
	char err[256];

	log = audit_log_start(path, 0, err, sizeof err);
	cr_assert_not_null(log, "%s", err);
	/* Another writer holds the database. */
	cr_assert_eq(sqlite3_exec(conn->h, "BEGIN IMMEDIATE", NULL, NULL, NULL),
		     SQLITE_OK);
	cr_assert_eq(audit_log_record(log, &r), 0);
	cr_assert_eq(audit_log_flush(log, 300), -1);
	audit_log_stats(log, &st);
	cr_assert_eq(st.written, 0);
	cr_assert_eq(st.dropped, 0);
	cr_assert_eq(sqlite3_exec(conn->h, "COMMIT", NULL, NULL, NULL),
		     SQLITE_OK);
	cr_assert_eq(audit_log_flush(log, 10000), 0);
	audit_log_stats(log, &st);
	cr_assert_eq(st.written, 1);
	cr_assert_eq(st.dropped, 0);
	audit_log_stop(log);
	cr_assert_eq(count("SELECT count(*) FROM audit"), 1);
}

/* ---- the person index in buckets (003_audit_buckets.sql) ----------------- */

/* An audit row at seq, straight in SQL: the next insert follows it. */
static void jump_to(int64_t seq, int64_t ms)
{
	char sql[300], when[DB_AUDIT_TIME_LEN + 1];

	db_audit_time_format(ms, when);
	snprintf(sql, sizeof sql,
		 "INSERT INTO audit (seq, time, request_id, method, route, "
		 "person_ids, status) VALUES (%lld, '%s', 'filler', 'GET', "
		 "'/v1/rules', '', 200)",
		 (long long)seq, when);
	cr_assert_eq(sqlite3_exec(conn->h, sql, NULL, NULL, NULL), SQLITE_OK);
}

#define BUCKET(seq) ((seq) >> DB_AUDIT_BUCKET_SHIFT)

/* alice at seq 1, 2, 40001, 40002 and 100001; bob between: four
 * buckets, one of them without alice. */
static void spread(void)
{
	const char *a[] = {"alice"}, *b[] = {"bob"};

	insert(T0, "aaaaaaaaaaaa", "s1", a, 1, 200);
	insert(T0 + 1, "bbbbbbbbbbbb", "s2", a, 1, 200);
	jump_to(20000, T0 + 2);
	insert(T0 + 3, "aaaaaaaaaaaa", "s3", b, 1, 200);
	jump_to(40000, T0 + DAY);
	insert(T0 + DAY + 1, "aaaaaaaaaaaa", "s4", a, 1, 200);
	insert(T0 + DAY + 2, "bbbbbbbbbbbb", "s5", a, 1, 200);
	jump_to(100000, T0 + 2 * DAY);
	insert(T0 + 2 * DAY + 1, "aaaaaaaaaaaa", "s6", a, 1, 200);
	cr_assert_eq(count("SELECT count(DISTINCT bucket) FROM audit_person"),
		     4);
	cr_assert_eq(count("SELECT count(*) FROM audit_person WHERE bucket "
			   "<> seq >> 14"),
		     0);
	cr_assert_eq(BUCKET(100001), 6);
}

/* The query f gives exactly the n seqs that follow (long long). */
static void expect(const struct db_audit_filter *f, int n, ...)
{
	struct rows *rs = query(f);
	va_list ap;
	int i;

	cr_assert_eq(rs->n, n, "%d rows, expected %d", rs->n, n);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		long long want = va_arg(ap, long long);

		cr_assert_eq(rs->seq[i], want, "row %d: %lld, expected %lld", i,
			     (long long)rs->seq[i], want);
	}
	va_end(ap);
	free(rs);
}

Test(audit, a_person_is_found_in_every_bucket_in_seq_order)
{
	struct db_audit_filter f = {.person_id = "alice", .limit = 100};

	spread();
	expect(&f, 5, 1LL, 2LL, 40001LL, 40002LL, 100001LL);
	f.person_id = "bob";
	expect(&f, 1, 20001LL);
}

Test(audit, a_person_page_stops_at_the_limit_and_resumes_after_the_cursor)
{
	struct db_audit_filter f = {.person_id = "alice", .limit = 3};

	spread();
	expect(&f, 3, 1LL, 2LL, 40001LL);
	f.after_seq = 40001;
	expect(&f, 2, 40002LL, 100001LL);
	f.after_seq = 100001;
	expect(&f, 0);
}

Test(audit, a_person_with_time_and_key_filters_across_buckets)
{
	char since[DB_AUDIT_TIME_LEN + 1], until[DB_AUDIT_TIME_LEN + 1];
	struct db_audit_filter f = {.person_id = "alice", .limit = 100};

	spread();
	db_audit_time_format(T0 + DAY, since);
	db_audit_time_format(T0 + 2 * DAY, until);
	f.since = since;
	f.until = until;
	expect(&f, 2, 40001LL, 40002LL);
	f.since = f.until = NULL;
	f.key_id = "bbbbbbbbbbbb";
	expect(&f, 2, 2LL, 40002LL);
	/* a range with no row at all */
	db_audit_time_format(T0 + 30 * DAY, since);
	f.key_id = NULL;
	f.since = since;
	expect(&f, 0);
}

Test(audit, retention_across_buckets_keeps_the_rest)
{
	long long deleted = 0;
	char before[DB_AUDIT_TIME_LEN + 1];
	struct db_audit_filter f = {.person_id = "alice", .limit = 100};

	spread();
	db_audit_time_format(T0 + DAY + 2, before); /* up to seq 40001 */
	cr_assert_eq(db_audit_expire(conn, before, &deleted), DB_OK);
	cr_assert_eq(count("SELECT min(seq) FROM audit"), 40002);
	cr_assert_eq(count("SELECT min(seq) FROM audit_person"), 40002);
	expect(&f, 2, 40002LL, 100001LL);
}

/* A file of schema 2 (audit_person without buckets) keeps its audit rows,
 * findable by person, when it is opened by this build. */
Test(audit, migration_3_moves_the_person_index_into_buckets)
{
	char p2[160], err[256];
	struct db *old;
	struct db_conn *oc;
	sqlite3 *h;
	struct rows *rs = calloc(1, sizeof *rs);
	struct db_audit_filter f = {.person_id = "carol", .limit = 10};
	int i;

	snprintf(p2, sizeof p2, "%s/v2.db", tdb.dir);
	cr_assert_eq(sqlite3_open(p2, &h), SQLITE_OK);
	for (i = 0; i < 2; i++)
		cr_assert_eq(
		    sqlite3_exec(h, db_migrations[i], NULL, NULL, NULL),
		    SQLITE_OK);
	cr_assert_eq(
	    sqlite3_exec(
		h,
		"PRAGMA user_version = 2;"
		"INSERT INTO audit (seq, time, request_id, method, route, "
		"person_ids, status) VALUES (5, "
		"'2025-06-01T09:00:00.000+09:00',"
		" 'r', 'GET', '/v1/persons/{id}', 'carol', 200), (70000, "
		"'2025-06-02T09:00:00.000+09:00', 'r', 'GET', "
		"'/v1/persons/{id}', 'carol dave', 200);"
		"INSERT INTO audit_person (person_id, seq) VALUES ('carol', 5),"
		" ('carol', 70000), ('dave', 70000);",
		NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(h);
	old = db_open(p2, err, sizeof err);
	cr_assert_not_null(old, "%s", err);
	oc = db_conn_get(old);
	cr_assert_eq(db_audit_query(oc, &f, collect, rs), DB_OK);
	cr_assert_eq(rs->n, 2);
	cr_assert_eq(rs->seq[0], 5);
	cr_assert_eq(rs->seq[1], 70000);
	db_close(old);
	free(rs);
}
