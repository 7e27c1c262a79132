/* sqlite_lookup.c - what one stored-person read costs on this machine,
 * without HTTP: `make bench` runs it on its database after wrk, to show
 * where lookup (a) spends its time (README, Performance).
 *
 *	build/bench_lookup DB PERSONS [SECONDS]
 *
 * db_person_get (the server's own query, connection and pragmas) on
 * random ids of p0000000..p{PERSONS-1}, for SECONDS (1) each:
 *   autocommit    one read transaction per lookup, as a request does;
 *   one_txn       the same lookups inside one read transaction: the
 *                 difference is the cost of beginning and ending one;
 *   two_threads   autocommit on two threads at once (µs per lookup per
 *                 thread): the locks they share;
 *   audit_row     what the audit writer spends on one lookup's row
 *                 (db_audit_insert, AUDIT_LOG_BATCH rows a transaction,
 *                 random person ids), in µs a row.
 * Prints one JSON object: microseconds for each. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "db/audit_db.h"
#include "db/audit_log.h"
#include "db/db.h"
#include "db/person_db.h"

struct run {
	struct db *db;
	long persons;
	double seconds;
	bool one_txn;
	unsigned seed;
	double us; /* result */
	int failed;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *lookups(void *arg)
{
	struct run *r = arg;
	struct db_conn *c = db_conn_get(r->db);
	struct db_person *p = malloc(sizeof *p);
	double t0, t;
	long n = 0;
	char id[24];

	if (!c || !p) {
		r->failed = 1;
		free(p);
		return NULL;
	}
	if (r->one_txn)
		db_begin_read(c);
	t0 = now_s();
	do {
		for (int i = 0; i < 1000; i++, n++) {
			snprintf(id, sizeof id, "p%07ld",
				 (long)(rand_r(&r->seed) % r->persons));
			if (db_person_get(c, id, p) != DB_OK)
				r->failed = 1;
		}
		t = now_s();
	} while (t - t0 < r->seconds);
	if (r->one_txn)
		db_commit(c);
	r->us = (t - t0) * 1e6 / (double)n;
	free(p);
	return NULL;
}

/* Audit rows as the writer stores them, for seconds: µs a row. */
static double audit_rows(struct db *db, long persons, double seconds)
{
	static char ids[AUDIT_LOG_BATCH][24];
	static const char *one[AUDIT_LOG_BATCH][1];
	static struct audit_record recs[AUDIT_LOG_BATCH];
	struct db_conn *c = db_audit_conn_get(db); /* the audit file */
	struct timespec wall;
	unsigned seed = 3;
	double t0, t;
	long rows = 0;
	int64_t ms;
	int i;

	if (!c)
		return -1;
	clock_gettime(CLOCK_REALTIME, &wall);
	ms = (int64_t)wall.tv_sec * 1000;
	t0 = now_s();
	do {
		for (i = 0; i < AUDIT_LOG_BATCH; i++) {
			snprintf(ids[i], sizeof ids[i], "p%07ld",
				 (long)(rand_r(&seed) % persons));
			one[i][0] = ids[i];
			recs[i] = (struct audit_record){
			    .time_ms = ms++,
			    .request_id = "01M8AAPKPWC5M75XD55YVQGZ8B",
			    .method = "GET",
			    .route = "/v1/persons/{id}/eligibility",
			    .person_ids = one[i],
			    .n_person_ids = 1,
			    .status = 200};
		}
		if (db_audit_insert(c, recs, AUDIT_LOG_BATCH) != DB_OK)
			return -1;
		rows += AUDIT_LOG_BATCH;
		t = now_s();
	} while (t - t0 < seconds);
	return (t - t0) * 1e6 / (double)rows;
}

int main(int argc, char **argv)
{
	struct run a[2];
	pthread_t th[2];
	char err[256];
	struct db *db;
	double secs;
	double us[4];
	int i;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_lookup DB PERSONS [SECONDS]\n");
		return 2;
	}
	db_global_init();
	db = db_open(argv[1], err, sizeof err);
	if (!db) {
		fprintf(stderr, "bench_lookup: %s\n", err);
		return 1;
	}
	secs = argc > 3 ? atof(argv[3]) : 1.0;
	for (i = 0; i < 2; i++) {
		a[0] = (struct run){db, atol(argv[2]), secs, i == 1, 1u, 0, 0};
		lookups(&a[0]);
		us[i] = a[0].us;
		if (a[0].failed)
			goto fail;
	}
	for (i = 0; i < 2; i++) {
		a[i] = (struct run){
		    db, atol(argv[2]), secs, false, 7u + (unsigned)i, 0, 0};
		pthread_create(&th[i], NULL, lookups, &a[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	if (a[0].failed || a[1].failed)
		goto fail;
	us[2] = (a[0].us + a[1].us) / 2;
	us[3] = audit_rows(db, atol(argv[2]), secs);
	if (us[3] < 0)
		goto fail;
	printf("{\"autocommit_us\":%.2f,\"one_txn_us\":%.2f,"
	       "\"two_threads_us\":%.2f,\"audit_row_us\":%.2f}\n",
	       us[0], us[1], us[2], us[3]);
	db_close(db);
	return 0;
fail:
	fprintf(stderr,
		"bench_lookup: a lookup or an audit row failed (is %s the "
		"bench's database?)\n",
		argv[1]);
	db_close(db);
	return 1;
}
