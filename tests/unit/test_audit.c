/* Unit tests of db/audit_db.c, db/audit_log.c and api/audit.c on a
 * temporary database. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/audit.h"
#include "api/internal.h"
#include "db/audit_db.h"
#include "db/audit_log.h"
#include "db/internal.h"
#include "db/person_db.h"
#include "tempdb.h"

/* Each test on a database of its own; path and conn are its audit file's
 * (FILE-audit, where the audit log lives) and a connection to it. */
static struct tempdb tdb;
static const char *path;
static struct db *db;
static struct db_conn *conn;

static void setup(void)
{
	tempdb_open(&tdb, "audit");
	db = tdb.db;
	path = db_audit_path(db);
	conn = db_audit_conn_get(db);
	cr_assert_not_null(conn);
}

static void teardown(void)
{
	tdb.db = db;
	tempdb_close(&tdb);
	db = NULL;
}

TestSuite(audit, .init = setup, .fini = teardown);

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

/* A record of REQUEST_ID: METHOD /v1/persons/{id} answered STATUS, naming
 * the N_IDS persons IDS. */
static struct audit_record record_of(const char *request_id, const char *method,
				     int status, const char *const *ids,
				     size_t n_ids)
{
	struct audit_record r = {.request_id = request_id,
				 .method = method,
				 .route = "/v1/persons/{id}",
				 .person_ids = ids,
				 .n_person_ids = n_ids,
				 .status = status};
	return r;
}

/* db_open(FILE); the test fails when it does not open. */
static struct db *opened(const char *file)
{
	char err[512];
	struct db *d = db_open(file, err, sizeof err);

	cr_assert_not_null(d, "%s", err);
	return d;
}

/* The audit log on path, keeping RETENTION_DAYS (0: all); the test fails
 * when it does not start. */
static struct audit_log *log_start(int retention_days)
{
	char err[256];
	struct audit_log *log =
	    audit_log_start(path, retention_days, err, sizeof err);

	cr_assert_not_null(log, "%s", err);
	return log;
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
	int i;

	log = log_start(0);
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
	static const char *const ids[] = {"alice"};
	struct audit_record r = record_of("r1", "PUT", 201, ids, 1);
	struct audit_log_stats st;
	struct audit_log *log;

	log = log_start(0);
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

Test(audit, a_flush_does_not_wait_for_the_batch_to_gather)
{
	static const char *const ids[] = {"a1"};
	struct audit_record r = record_of("r1", "GET", 200, ids, 1);
	struct audit_log *log;
	int i;

	log = log_start(0);
	/* GET /v1/audit right after a lookup must find its row: a flush
	 * costs a commit, not the AUDIT_LOG_FLUSH_MS a batch may gather
	 * for (the writer used to wait that long first). */
	for (i = 0; i < 5; i++) {
		cr_assert_eq(audit_log_record(log, &r), 0);
		cr_assert_eq(audit_log_flush(log, AUDIT_LOG_FLUSH_MS * 4 / 5),
			     0, "round %d", i);
		cr_assert_eq(count("SELECT count(*) FROM audit"), i + 1);
	}
	audit_log_stop(log);
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

/* query(F) finds N rows, the first of sequence number SEQ0 and the second
 * of SEQ1 (0: not checked). */
static void expect_rows(const struct db_audit_filter *f, int n, int64_t seq0,
			int64_t seq1)
{
	struct rows *rs = query(f);

	cr_assert_eq(rs->n, n);
	if (seq0 != 0)
		cr_assert_eq(rs->seq[0], seq0);
	if (seq1 != 0)
		cr_assert_eq(rs->seq[1], seq1);
	free(rs);
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
	expect_rows(&f, 2, 0, 3);

	f.key_id = "bbbbbbbbbbbb";
	expect_rows(&f, 0, 0, 0);
	f.person_id = "bob";
	expect_rows(&f, 1, 2, 0);

	f.person_id = NULL;
	f.key_id = "aaaaaaaaaaaa";
	expect_rows(&f, 2, 0, 0);

	f.key_id = NULL;
	db_audit_time_format(T0 + DAY, since);
	db_audit_time_format(T0 + 3 * DAY, until);
	f.since = since;
	f.until = until;
	expect_rows(&f, 2, 2, 3);

	/* Nothing in range. */
	db_audit_time_format(T0 + 10 * DAY, since);
	f.until = NULL;
	expect_rows(&f, 0, 0, 0);
	f.since = NULL;
	db_audit_time_format(T0 - DAY, until);
	f.until = until;
	expect_rows(&f, 0, 0, 0);
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

	insert(now - 40 * DAY, "aaaaaaaaaaaa", "old1", a, 1, 200);
	insert(now - 31 * DAY, "aaaaaaaaaaaa", "old2", b, 1, 200);
	insert(now - 29 * DAY, "aaaaaaaaaaaa", "new1", a, 1, 200);
	insert(now - 1000, "aaaaaaaaaaaa", "new2", b, 1, 200);
	log = log_start(30);
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

	insert(T0 - 3650 * DAY, NULL, "ancient", a, 1, 200);
	log = log_start(0);
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
	struct api_ctx *ctx = api_ctx_new();
	struct api_result res;
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
	cr_assert_not_null(ctx);
	api_ctx_reset(ctx, &app, &req);
	memset(&resp, 0, sizeof resp);
	ctx->resp = &resp;
	res = api_audit_get(ctx);
	api_render(&resp, &res);
	api_ctx_free(ctx);
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
	struct audit_record r = record_of("r1", "GET", 200, NULL, 0);
	struct audit_log_stats st;
	struct audit_log *log;

	log = log_start(0);
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
	char p2[160];
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
	old = opened(p2);
	oc = db_audit_conn_get(old);
	cr_assert_eq(db_audit_query(oc, &f, collect, rs), DB_OK);
	cr_assert_eq(rs->n, 2);
	cr_assert_eq(rs->seq[0], 5);
	cr_assert_eq(rs->seq[1], 70000);
	db_close(old);
	free(rs);
}

/* ---- the audit file and the move of an older database's rows ------------- */

/* The index of the database's migration that drops its audit tables. */
static int move_migration(void)
{
	int i;

	for (i = 0; i < db_migrations_count; i++)
		if (strstr(db_migration_names[i], "_audit_own_file"))
			return i;
	cr_assert_fail("no *_audit_own_file migration");
	return -1;
}

/* Runs sql on the file at p (a connection of its own). */
static void exec_on(const char *p, const char *sql)
{
	sqlite3 *h = NULL;
	char *msg = NULL;

	cr_assert_eq(sqlite3_open(p, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, &msg), SQLITE_OK, "%s",
		     msg ? msg : "");
	sqlite3_close(h);
}

static long long count_on(const char *p, const char *sql)
{
	return tempdb_int_on(p, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			     sql);
}

#define OLD_ROWS                                                               \
	"INSERT INTO audit (seq, time, request_id, method, route, "            \
	"person_ids, "                                                         \
	"status) VALUES (5, '2025-06-01T09:00:00.000+09:00', 'o1', 'GET', "    \
	"'/v1/persons/{id}', 'carol', 200), (70000, "                          \
	"'2025-06-02T09:00:00.000+09:00', 'o2', 'GET', '/v1/persons/{id}', "   \
	"'carol dave', 200);"                                                  \
	"INSERT INTO audit_person (bucket, person_id, seq) VALUES (0, "        \
	"'carol', 5), (70000 >> 14, 'carol', 70000), (70000 >> 14, 'dave', "   \
	"70000);"

/* A database at p as the build before the audit file left it: every
 * migration before the move, with OLD_ROWS in its audit tables. */
static void old_database(const char *p)
{
	char sql[64];
	int i, upto = move_migration();

	for (i = 0; i < upto; i++)
		exec_on(p, db_migrations[i]);
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d;", upto);
	exec_on(p, sql);
	exec_on(p, OLD_ROWS);
}

static bool has_table(const char *p, const char *name)
{
	char sql[160];

	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
		 "AND name = '%s'",
		 name);
	return count_on(p, sql) > 0;
}

Test(audit, the_log_lives_in_a_private_file_beside_the_database)
{
	char want[200];
	struct stat st;

	snprintf(want, sizeof want, "%s-audit", tdb.path);
	cr_assert_str_eq(db_audit_path(db), want);
	cr_assert_eq(stat(want, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	cr_assert_not(has_table(tdb.path, "audit"));
	cr_assert_not(has_table(tdb.path, "audit_person"));
	cr_assert(has_table(want, "audit"));
	cr_assert_eq(count_on(want, "PRAGMA user_version"),
		     db_audit_schema_version());
}

/* The path of a database NAME in the test's directory into p[160], that
 * of its audit file into ap[180]. */
static void paths_in_dir(const char *name, char p[160], char ap[180])
{
	snprintf(p, 160, "%s/%s", tdb.dir, name);
	snprintf(ap, 180, "%s-audit", p);
}

Test(audit, an_older_database_has_its_rows_moved_seq_and_all)
{
	char p[160], ap[180];
	struct db_start st;
	struct db_audit_filter f = {.person_id = "carol", .limit = 10};
	struct rows *rs = calloc(1, sizeof *rs);
	struct stat sb;
	struct db *old;

	paths_in_dir("old.db", p, ap);
	old_database(p);
	old = opened(p);
	db_start_info(old, &st);
	cr_assert_eq(st.schema_from, move_migration());
	cr_assert_eq(st.schema_to, db_schema_version());
	cr_assert_eq(st.audit_schema_from, 0);
	cr_assert_eq(st.audit_schema_to, db_audit_schema_version());
	cr_assert_eq(st.audit_rows_moved, 2);
	cr_assert_not(st.audit_file_was_missing);
	cr_assert_eq(db_audit_query(db_audit_conn_get(old), &f, collect, rs),
		     DB_OK);
	cr_assert_eq(rs->n, 2);
	cr_assert_eq(rs->seq[0], 5);
	cr_assert_eq(rs->seq[1], 70000);
	cr_assert_str_eq(rs->ids[1], "carol dave");
	db_close(old);
	free(rs);
	cr_assert_not(has_table(p, "audit"));
	cr_assert_not(has_table(p, "audit_person"));
	cr_assert_eq(count_on(ap, "SELECT count(*) FROM audit_person"), 3);
	cr_assert_eq(count_on(ap, "SELECT rows FROM audit_moved_in"), 2);
	/* The old table had no absent_ids: the audit file's migrations (the
	 * column's among them) ran before the copy, which left it 0. */
	cr_assert_eq(count_on(ap, "SELECT count(*) FROM audit WHERE "
				  "absent_ids = 0"),
		     2);
	cr_assert_eq(stat(ap, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "mode %o", sb.st_mode & 0777);
	/* Again: nothing more to move, nothing written. */
	old = opened(p);
	db_start_info(old, &st);
	cr_assert_eq(st.audit_rows_moved, 0);
	cr_assert_eq(st.schema_from, st.schema_to);
	db_close(old);
	cr_assert_eq(count_on(ap, "SELECT count(*) FROM audit"), 2);
	cr_assert_eq(count_on(ap, "SELECT count(*) FROM audit_moved_in"), 1);
}

/* An audit file of the first version (before absent_ids) with rows of
 * its own: its later migrations add the column, the rows stay and read
 * back with a count of 0. */
Test(audit, an_audit_file_of_the_first_version_gains_absent_ids)
{
	char p[160], ap[180];
	struct db_audit_filter f = {.person_id = "carol", .limit = 10};
	struct rows *rs = calloc(1, sizeof *rs);
	struct db_start st;
	struct db *old;

	paths_in_dir("v1.db", p, ap);
	/* A database of today, its audit file as the build of audit
	 * version 1 left it. */
	old = opened(p);
	db_close(old);
	cr_assert_eq(unlink(ap), 0);
	exec_on(ap, db_audit_migrations[0]);
	exec_on(ap, "PRAGMA user_version = 1;" OLD_ROWS
		    "INSERT INTO audit_moved_in (moved_at, rows) VALUES "
		    "('2025-06-03T00:00:00Z', 0);");
	old = opened(p);
	db_start_info(old, &st);
	cr_assert_eq(st.audit_schema_from, 1);
	cr_assert_eq(st.audit_schema_to, db_audit_schema_version());
	cr_assert_eq(st.audit_rows_moved, 0);
	cr_assert_eq(db_audit_query(db_audit_conn_get(old), &f, collect, rs),
		     DB_OK);
	cr_assert_eq(rs->n, 2);
	db_close(old);
	free(rs);
	cr_assert_eq(count_on(ap, "SELECT count(*) FROM audit WHERE "
				  "absent_ids = 0"),
		     2);
}

/* An old database (its audit rows in it) named name in the test's
 * directory, its path into p[160], and beside it an audit file of today's
 * schema, empty (its path into ap[180]). */
static void old_beside_audit_file(const char *name, char p[160], char ap[180])
{
	char sql[64];
	int i;

	paths_in_dir(name, p, ap);
	old_database(p);
	for (i = 0; i < db_audit_migrations_count; i++)
		exec_on(ap, db_audit_migrations[i]);
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d;",
		 db_audit_migrations_count);
	exec_on(ap, sql);
}

/* A crash after the copy's commit and before the drop: the rows are in
 * both files, and the audit file records the copy. */
Test(audit, a_move_cut_short_after_the_copy_only_drops_the_rows_then)
{
	char p[160], ap[180], err[512];
	struct db_start st;

	old_beside_audit_file("half.db", p, ap);
	exec_on(ap, OLD_ROWS "INSERT INTO audit_moved_in (moved_at, rows) "
			     "VALUES ('2025-06-03T00:00:00Z', 2);");
	cr_assert_eq(db_migrate_all(p, &st, err, sizeof err), 0, "%s", err);
	cr_assert_eq(st.audit_rows_moved, 0);
	cr_assert_eq(st.schema_to, db_schema_version());
	cr_assert_eq(count_on(ap, "SELECT count(*) FROM audit"), 2);
	cr_assert_eq(count_on(ap, "SELECT count(*) FROM audit_person"), 3);
	cr_assert_not(has_table(p, "audit"));
}

/* An audit file with rows of its own and no record of a copy is not this
 * database's: nothing is mixed, nothing dropped. */
Test(audit, a_move_into_an_audit_file_of_another_database_is_refused)
{
	char p[160], ap[180], err[512] = "";
	struct db_start st;

	old_beside_audit_file("other.db", p, ap);
	exec_on(ap,
		"INSERT INTO audit (time, request_id, method, route, "
		"person_ids, status) VALUES ('2025-07-01T09:00:00.000+09:00'"
		", 'x', 'GET', '/v1/persons/{id}', 'erin', 200);");
	cr_assert_eq(db_migrate_all(p, &st, err, sizeof err), -1);
	cr_assert(strstr(err, "not one database"), "%s", err);
	cr_assert_null(db_open(p, err, sizeof err));
	cr_assert(has_table(p, "audit"));
	cr_assert_eq(count_on(p, "SELECT count(*) FROM audit"), 2);
	cr_assert_eq(count_on(ap, "SELECT count(*) FROM audit"), 1);
}

Test(audit, a_lost_audit_file_is_made_anew_and_said_so)
{
	struct db_start st;
	struct db *again;

	char ap[200];

	snprintf(ap, sizeof ap, "%s-audit", tdb.path);
	db_close(db);
	db = NULL;
	cr_assert_eq(unlink(ap), 0);
	again = opened(tdb.path);
	db = again;
	db_start_info(db, &st);
	cr_assert(st.audit_file_was_missing);
	cr_assert_eq(st.audit_schema_from, 0);
	cr_assert_eq(st.schema_from, st.schema_to);
}

/* ---- never a row dropped ---------------------------------------------------- */

static const char *const one_id[] = {"nd-1"};

static struct audit_record nd_record(void)
{
	return record_of("nd", "GET", 200, one_id, 1);
}

static int64_t mono_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Another process holds the audit file's write lock (h, returned). */
static sqlite3 *lock_audit_file(void)
{
	sqlite3 *h = NULL;

	cr_assert_eq(sqlite3_open(path, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL),
		     SQLITE_OK);
	return h;
}

/* log_start(0) whose writer counts as stalled after STALL_MS stuck. */
static struct audit_log *stalled_log(unsigned stall_ms)
{
	struct audit_log *log = log_start(0);

	audit_log_set_stall_ms(log, stall_ms);
	return log;
}

static void unlock_audit_file(sqlite3 *h)
{
	cr_assert_eq(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

Test(audit, a_stalled_writer_refuses_new_records_and_loses_none)
{
	struct audit_record r = nd_record();
	struct audit_log_stats st;
	struct audit_log *log;
	int64_t t0;
	sqlite3 *h;
	int taken = 0;

	log = stalled_log(300);
	h = lock_audit_file();
	/* Taken while the writer has not been stuck long; then refused. */
	t0 = mono_now_ms();
	while (audit_log_record(log, &r) == 0) {
		taken++;
		cr_assert_lt(mono_now_ms() - t0, 10000,
			     "still taken after 10 s of a locked file");
		usleep(20000);
	}
	cr_assert_geq(taken, 1);
	audit_log_stats(log, &st);
	cr_assert_eq(st.dropped, 0);
	cr_assert_eq(st.written, 0);
	cr_assert_geq(st.refused, 1);
	cr_assert_not(st.available);
	cr_assert_eq(audit_log_reserve(log), -1);
	/* Longer than the old writer's budget of retries would not matter:
	 * the rows wait for the file. */
	unlock_audit_file(h);
	cr_assert_eq(audit_log_flush(log, 15000), 0);
	audit_log_stats(log, &st);
	cr_assert_eq(st.written, (unsigned long long)taken);
	cr_assert_eq(st.dropped, 0);
	cr_assert(st.available);
	cr_assert_eq(audit_log_record(log, &r), 0);
	audit_log_stop(log);
	cr_assert_eq(count("SELECT count(*) FROM audit"), taken + 1);
}

Test(audit, a_reserved_place_is_filled_even_while_the_writer_stalls)
{
	struct audit_record r = nd_record();
	struct audit_log_stats st;
	struct audit_log *log;
	sqlite3 *h;

	log = stalled_log(200);
	cr_assert_eq(audit_log_reserve(log), 0); /* a request begins */
	cr_assert_eq(audit_log_reserve(log), 0); /* another, naming nobody */
	h = lock_audit_file();
	cr_assert_eq(audit_log_record(log, &r), 0); /* the writer is stuck */
	usleep(700000);
	cr_assert_eq(audit_log_reserve(log), -1);
	cr_assert_eq(audit_log_commit(log, &r), 0); /* the first answer */
	audit_log_release(log);                     /* the second's */
	audit_log_stats(log, &st);
	cr_assert_eq(st.recorded, 2);
	unlock_audit_file(h);
	cr_assert_eq(audit_log_flush(log, 15000), 0);
	audit_log_stop(log);
	cr_assert_eq(count("SELECT count(*) FROM audit"), 2);
}

Test(audit, a_full_queue_refuses_after_a_wait_and_loses_none, .timeout = 120)
{
	struct audit_record r = nd_record();
	struct audit_log_stats st;
	struct audit_log *log;
	int64_t t0;
	sqlite3 *h;
	long taken = 0;

	log = stalled_log(600000); /* only the queue's bound */
	h = lock_audit_file();
	while (audit_log_record(log, &r) == 0) {
		taken++;
		cr_assert_leq(taken, AUDIT_LOG_QUEUE_MAX + AUDIT_LOG_BATCH);
	}
	cr_assert_geq(taken, AUDIT_LOG_QUEUE_MAX);
	t0 = mono_now_ms();
	cr_assert_eq(audit_log_reserve(log), -1);
	cr_assert_geq(mono_now_ms() - t0, AUDIT_LOG_FULL_WAIT_MS - 50);
	audit_log_stats(log, &st);
	cr_assert_eq(st.dropped, 0);
	unlock_audit_file(h);
	cr_assert_eq(audit_log_flush(log, 100000), 0);
	audit_log_stats(log, &st);
	cr_assert_eq(st.written, (unsigned long long)taken);
	cr_assert_eq(st.dropped, 0);
	audit_log_stop(log);
	cr_assert_eq(count("SELECT count(*) FROM audit"), taken);
}

/* Through api_handle: an audited route is refused unprocessed while the
 * log is unavailable; evaluate goes on. */
Test(audit, an_audited_route_answers_503_unprocessed_while_unavailable)
{
	struct api_request req = {0};
	struct api_response resp;
	struct api_app app = {0};
	struct audit_log *log;
	struct audit_record r = nd_record();
	struct audit_log_stats st;
	struct db_person p;
	sqlite3 *h;
	char err[256];
	int64_t t0;

	cr_assert_eq(api_ruleset_load(NULL, &ruleset, err, sizeof err), 0);
	log = stalled_log(200);
	app.ruleset = &ruleset;
	app.db = db;
	app.audit = log;
	app.no_auth = true;
	h = lock_audit_file();
	t0 = mono_now_ms();
	/* a record the writer cannot write, then until the stall shows */
	cr_assert_eq(audit_log_record(log, &r), 0);
	for (;;) {
		usleep(100000);
		audit_log_stats(log, &st);
		if (!st.available)
			break;
		cr_assert_lt(mono_now_ms() - t0, 10000);
	}
	req.method = "PUT";
	req.path = "/v1/persons/u-1";
	req.content_type = "application/json";
	req.body = "{\"birth_date\":\"1950-01-01\"}";
	req.body_len = strlen(req.body);
	req.request_id = "t";
	req.now = 1748736000.0;
	api_handle(&app, &req, &resp);
	cr_assert_eq(resp.status, 503);
	cr_assert(strstr(resp.body, "audit_unavailable"), "%s", resp.body);
	cr_assert_str_eq(resp.headers[0].name, "Retry-After");
	api_response_fini(&resp);
	req.method = "POST";
	req.path = "/v1/eligibility:evaluate";
	req.body = "{\"person\":{\"birth_date\":\"1950-01-01\"}}";
	req.body_len = strlen(req.body);
	api_handle(&app, &req, &resp);
	cr_assert_eq(resp.status, 200, "%.300s", resp.body);
	api_response_fini(&resp);
	unlock_audit_file(h);
	cr_assert_eq(audit_log_flush(log, 15000), 0);
	cr_assert_eq(db_person_get(db_conn_get(db), "u-1", &p), DB_NOT_FOUND);
	audit_log_stop(log);
}

/* db_audit_rows: what both stores write for a batch (db/audit_db.c). */
struct rows_seen {
	int rows;
	size_t ids[4];
	long long absent[4];
	char first_text[64];
	char method[4][16], route[4][80], request[4][80], key[4][32];
};

static enum db_result see_row(void *arg, const struct db_audit_out *row)
{
	struct rows_seen *s = arg;
	int i = s->rows++;

	cr_assert_lt(i, 4);
	s->ids[i] = row->n_ids;
	s->absent[i] = row->absent;
	snprintf(s->method[i], sizeof s->method[i], "%s", row->method);
	snprintf(s->route[i], sizeof s->route[i], "%s", row->route);
	snprintf(s->request[i], sizeof s->request[i], "%s", row->request_id);
	snprintf(s->key[i], sizeof s->key[i], "%s", row->key_id);
	if (i == 0)
		snprintf(s->first_text, sizeof s->first_text, "%.*s",
			 (int)(row->ids_len < 63 ? row->ids_len : 63),
			 row->ids_text);
	/* the ids one by one are the text's words */
	for (size_t k = 0; k < row->n_ids; k++)
		cr_assert(strstr(row->ids_text, row->ids[k]) != NULL);
	return DB_OK;
}

Test(audit_rows, a_record_of_many_ids_is_several_rows_made_safe)
{
	static char names[2500][16];
	const char *ids[2500];
	struct audit_record recs[2];
	struct rows_seen s;
	size_t i;

	for (i = 0; i < 2500; i++) {
		snprintf(names[i], sizeof names[i], "p%zu", i);
		ids[i] = names[i];
	}
	ids[1] = "bad id";       /* not an id: left out */
	ids[2] = "123456789018"; /* an individual number: left out */
	memset(recs, 0, sizeof recs);
	memset(&s, 0, sizeof s);
	recs[0].request_id = "req-1";
	recs[0].key_id = "abcdefghijklmnopqrstuvwxyz"; /* cut to 16 */
	recs[0].method = "GET";
	recs[0].route = "/v1/eligibility:batch";
	recs[0].person_ids = ids;
	recs[0].n_person_ids = 2500;
	recs[0].n_absent = 7;
	recs[0].status = 200;
	recs[1].request_id = "not valid!";
	recs[1].method = "get";
	recs[1].route = "";
	recs[1].status = 404;
	cr_assert_eq(db_audit_rows(recs, 2, see_row, &s), DB_OK);
	cr_assert_eq(s.rows, 4, "1000 + 1000 + 500 ids, then the second");
	cr_assert_eq(s.ids[0], 998);
	cr_assert_eq(s.ids[1], 1000);
	cr_assert_eq(s.ids[2], 500);
	cr_assert_eq(s.ids[3], 0);
	cr_assert_eq(s.absent[0], 7);
	cr_assert_eq(s.absent[1], 0, "the count goes with the first row only");
	cr_assert_eq(s.absent[2], 0);
	cr_assert(strncmp(s.first_text, "p0 p3 p4 p5 ", 12) == 0, "%s",
		  s.first_text);
	cr_assert_str_eq(s.key[0], "abcdefghijklmnop");
	cr_assert_str_eq(s.key[3], "");
	cr_assert_str_eq(s.method[0], "GET");
	cr_assert_str_eq(s.method[3], "OTHER");
	cr_assert_str_eq(s.route[3], "-");
	cr_assert_str_eq(s.request[0], "req-1");
	cr_assert_str_eq(s.request[3], "-");
}
