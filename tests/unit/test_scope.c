/* Unit tests of issue 12's items 2 and 6: the per-key token bucket
 * (api/ratelimit.c), a facility-bound read that costs the same for
 * another facility's person as for an absent id (db_person_get_in), the
 * audit rows' count of absent ids and the audit file's size
 * (db/audit_db.c), and --audit-max-size's refusal (db/audit_log.c). */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/ratelimit.h"
#include "db/audit_db.h"
#include "db/audit_log.h"
#include "db/internal.h"
#include "db/person_db.h"
#include "tempdb.h"

#define NOW 1748736000.0

/* ---- the token bucket ---------------------------------------------------- */

Test(rate, burst_then_rate_with_retry_seconds)
{
	struct api_rate *r = api_rate_new(2, 3);
	int i;

	cr_assert_not_null(r);
	for (i = 0; i < 3; i++)
		cr_assert_eq(api_rate_take(r, "aaaaaaaaaaaa", NOW), 0u, "%d",
			     i);
	/* Empty: one token comes in 0.5 s, announced as a whole second. */
	cr_assert_eq(api_rate_take(r, "aaaaaaaaaaaa", NOW), 1u);
	cr_assert_eq(api_rate_take(r, "aaaaaaaaaaaa", NOW + 0.25), 1u);
	cr_assert_eq(api_rate_take(r, "aaaaaaaaaaaa", NOW + 0.5), 0u);
	cr_assert_eq(api_rate_take(r, "aaaaaaaaaaaa", NOW + 0.5), 1u);
	/* A long pause fills the bucket to the burst, never beyond. */
	for (i = 0; i < 3; i++)
		cr_assert_eq(api_rate_take(r, "aaaaaaaaaaaa", NOW + 100), 0u);
	cr_assert_neq(api_rate_take(r, "aaaaaaaaaaaa", NOW + 100), 0u);
	api_rate_free(r);
}

Test(rate, keys_have_buckets_of_their_own)
{
	struct api_rate *r = api_rate_new(1, 1);

	cr_assert_eq(api_rate_take(r, "aaaaaaaaaaaa", NOW), 0u);
	cr_assert_neq(api_rate_take(r, "aaaaaaaaaaaa", NOW), 0u);
	cr_assert_eq(api_rate_take(r, "bbbbbbbbbbbb", NOW), 0u);
	cr_assert_neq(api_rate_take(r, "bbbbbbbbbbbb", NOW), 0u);
	/* A slow rate: the wait is whole seconds, rounded up. */
	api_rate_free(r);
	r = api_rate_new(0.1, 1);
	cr_assert_eq(api_rate_take(r, "cccccccccccc", NOW), 0u);
	cr_assert_eq(api_rate_take(r, "cccccccccccc", NOW), 10u);
	cr_assert_eq(api_rate_take(r, "cccccccccccc", NOW + 9.5), 1u);
	api_rate_free(r);
}

Test(rate, clock_going_back_adds_nothing)
{
	struct api_rate *r = api_rate_new(1, 1);

	cr_assert_eq(api_rate_take(r, "aaaaaaaaaaaa", NOW), 0u);
	cr_assert_neq(api_rate_take(r, "aaaaaaaaaaaa", NOW - 3600), 0u);
	cr_assert_neq(api_rate_take(r, "aaaaaaaaaaaa", NOW + 0.5), 0u);
	cr_assert_eq(api_rate_take(r, "aaaaaaaaaaaa", NOW + 1), 0u);
	api_rate_free(r);
}

Test(rate, table_stays_fixed_and_keeps_busy_keys)
{
	struct api_rate *r = api_rate_new(1, 1);
	char key[16];
	int i;

	/* Far more keys than slots: no growth, no crash, and a key seen
	 * every time keeps its (empty) bucket while idle ones give way. */
	cr_assert_eq(api_rate_take(r, "busybusybusy", NOW), 0u);
	for (i = 0; i < 20 * API_RATE_SLOTS; i++) {
		snprintf(key, sizeof key, "k%011d", i);
		cr_assert_eq(api_rate_take(r, key, NOW + 1e-6 * i), 0u);
		if (i % 64 == 0)
			cr_assert_neq(
			    api_rate_take(r, "busybusybusy", NOW + 1e-6 * i),
			    0u, "%d", i);
	}
	cr_assert_eq(api_rate_take(NULL, "aaaaaaaaaaaa", NOW), 0u);
	cr_assert_null(api_rate_new(0, 5));
	api_rate_free(r);
}

/* ---- facility scope: the same work for hidden and absent ------------------ */

TEMPDB_SUITE(scope);

static void put_person(const char *id, const char *facility)
{
	struct db_person p;
	enum db_put_outcome o;

	db_person_init(&p);
	snprintf(p.person_id, sizeof p.person_id, "%s", id);
	snprintf(p.facility_id, sizeof p.facility_id, "%s", facility);
	cr_assert_eq(rules_date_parse("1950-04-01", 10, &p.facts.birth_date),
		     0);
	cr_assert_eq(db_person_put(conn, &p, NULL, false, false, NOW, &o),
		     DB_OK);
}

/* The VM steps the scoped read took since the last call. */
static long long steps(void)
{
	sqlite3_stmt *s = db_stmt(conn, DB_STMT_PERSON_GET_IN);

	return sqlite3_stmt_status(s, SQLITE_STMTSTATUS_VM_STEP, 1);
}

Test(scope, other_facility_reads_as_absent_without_decoding)
{
	struct db_person out, sentinel;
	long long hidden_steps, absent_steps;
	bool stored = false;

	put_person("p-a", "fac-a");
	put_person("p-b", "fac-b");
	memset(&sentinel, 0x5a, sizeof sentinel);

	cr_assert_eq(db_person_get_in(conn, "p-a", "fac-a", &out, &stored),
		     DB_OK);
	cr_assert(stored);
	cr_assert_str_eq(out.facility_id, "fac-a");

	(void)steps();
	out = sentinel;
	cr_assert_eq(db_person_get_in(conn, "p-b", "fac-a", &out, &stored),
		     DB_NOT_FOUND);
	hidden_steps = steps();
	cr_assert(stored, "another facility's person is stored (audit)");
	cr_assert_eq(memcmp(&out, &sentinel, sizeof out), 0,
		     "another facility's row was decoded");

	out = sentinel;
	cr_assert_eq(db_person_get_in(conn, "p-none", "fac-a", &out, &stored),
		     DB_NOT_FOUND);
	absent_steps = steps();
	cr_assert(!stored);
	cr_assert_eq(memcmp(&out, &sentinel, sizeof out), 0);

	/* The same statement, a handful of VM steps apart (a found key
	 * compares one column): no reading of 21 columns on one side
	 * only. */
	cr_assert_gt(absent_steps, 0);
	cr_assert_leq(hidden_steps - absent_steps, 6, "%lld vs %lld",
		      hidden_steps, absent_steps);
	cr_assert_geq(hidden_steps, absent_steps);

	/* Without a facility: every person, and no probe. */
	cr_assert_eq(db_person_get_in(conn, "p-b", NULL, &out, &stored), DB_OK);
	cr_assert(stored);
	cr_assert_eq(db_person_get_in(conn, "p-x", NULL, &out, &stored),
		     DB_NOT_FOUND);
	cr_assert(!stored);
}

/* ---- audit rows: absent ids counted, bytes measured ------------------------ */

static int one_row(const struct db_audit_row *r, void *arg)
{
	long long *out = arg;

	out[0] = r->absent_ids;
	out[1] = (long long)strlen(r->person_ids);
	return 0;
}

Test(scope, audit_row_counts_absent_ids_and_its_bytes)
{
	struct db_conn *ac = db_audit_conn_get(db);
	const char *ids[] = {"alice"};
	struct audit_record r = {0};
	struct db_audit_filter f = {0};
	long long before = -1, after = -1, gone = -1, got[2] = {-1, -1};
	long long deleted = 0;
	int i;

	cr_assert_not_null(ac);
	cr_assert_eq(db_audit_bytes(ac, &before), DB_OK);
	cr_assert_gt(before, 0);
	r.time_ms = 1748736000000LL;
	r.request_id = "r1";
	r.method = "POST";
	r.route = "/v1/eligibility:batch";
	r.n_absent = 1000;
	r.status = 200;
	cr_assert_eq(db_audit_insert(ac, &r, 1), DB_OK);
	f.limit = 10;
	cr_assert_eq(db_audit_query(ac, &f, one_row, got), DB_OK);
	cr_assert_eq(got[0], 1000);
	cr_assert_eq(got[1], 0);
	/* The person filter finds the listed ids, and the count stays on
	 * the row that lists them. */
	r.person_ids = ids;
	r.n_person_ids = 1;
	r.n_absent = 7;
	for (i = 0; i < 200; i++)
		cr_assert_eq(db_audit_insert(ac, &r, 1), DB_OK);
	f.person_id = "alice";
	cr_assert_eq(db_audit_query(ac, &f, one_row, got), DB_OK);
	cr_assert_eq(got[0], 7);
	cr_assert_eq(got[1], 5);
	cr_assert_eq(db_audit_bytes(ac, &after), DB_OK);
	cr_assert_gt(after, before);
	/* Expiry gives pages back: fewer in use, the file as large. */
	cr_assert_eq(
	    db_audit_expire(ac, "2099-01-01T00:00:00.000+09:00", &deleted),
	    DB_OK);
	cr_assert_eq(deleted, 201);
	cr_assert_eq(db_audit_bytes(ac, &gone), DB_OK);
	cr_assert_lt(gone, after, "%lld after expiry, %lld before", gone,
		     after);
}

/* ---- --audit-max-size: the writer's reservations refused ------------------ */

static void old_rows(struct db_conn *ac, int n)
{
	const char *ids[] = {"old-person-with-a-long-id-0123456789"};
	struct audit_record r = {0};
	int i;

	r.time_ms = 1577836800000LL; /* 2020-01-01 */
	r.request_id = "old";
	r.method = "GET";
	r.route = "/v1/persons/{id}";
	r.person_ids = ids;
	r.n_person_ids = 1;
	r.status = 200;
	for (i = 0; i < n; i++)
		cr_assert_eq(db_audit_insert(ac, &r, 1), DB_OK);
}

Test(scope, a_full_audit_log_refuses_reservations_until_retention_frees)
{
	struct db_conn *ac = db_audit_conn_get(db);
	struct audit_log_stats st;
	struct audit_log *log;
	char err[256];
	long long full = -1;
	int rc = -1, i;

	old_rows(ac, 2000);
	cr_assert_eq(db_audit_bytes(ac, &full), DB_OK);

	/* No retention: the size stays, every reservation is refused as
	 * full (not as unavailable), and counted. */
	log = audit_log_start(db_audit_path(db), 0, err, sizeof err);
	cr_assert_not_null(log, "%s", err);
	audit_log_set_max_bytes(log, full);
	cr_assert_eq(audit_log_reserve(log), AUDIT_LOG_FULL);
	cr_assert_eq(
	    audit_log_record(log,
			     &(struct audit_record){.request_id = "x",
						    .method = "GET",
						    .route = "/v1/persons/{id}",
						    .status = 200}),
	    AUDIT_LOG_FULL);
	audit_log_stats(log, &st);
	cr_assert(st.full);
	cr_assert_not(st.available);
	cr_assert_eq(st.refused, 2);
	cr_assert_eq(st.bytes, full);
	cr_assert_eq(st.max_bytes, full);
	/* No limit: granted. */
	audit_log_set_max_bytes(log, 0);
	cr_assert_eq(audit_log_reserve(log), 0);
	audit_log_release(log);
	audit_log_stop(log);

	/* Retention (1 day) deletes the 2020 rows when the writer starts:
	 * the pages it frees end the refusal by themselves. */
	log = audit_log_start(db_audit_path(db), 1, err, sizeof err);
	cr_assert_not_null(log, "%s", err);
	audit_log_set_max_bytes(log, full);
	for (i = 0; i < 500; i++) {
		rc = audit_log_reserve(log);
		if (rc == 0)
			break;
		cr_assert_eq(rc, AUDIT_LOG_FULL);
		usleep(10000);
	}
	cr_assert_eq(rc, 0, "still full after 5 s of retention");
	audit_log_release(log);
	audit_log_stats(log, &st);
	cr_assert_not(st.full);
	cr_assert_lt(st.bytes, full);
	audit_log_stop(log);
}
