/* audit.c - the SQLite store's audit rows (in the audit file): insert in
 * batches, query by person, key and time, expire. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/tokyo_time.h"
#include "db/audit_db.h"
#include "db/internal.h"
#include "rules/rules.h"

/* Rows deleted per transaction by db_audit_expire: short enough that the
 * request threads' writes never wait long behind it. */
#define EXPIRE_CHUNK 5000

/* One row (db_audit_rows) and its audit_person rows. */
static enum db_result insert_row(void *arg, const struct db_audit_out *row)
{
	struct db_conn *c = arg;
	sqlite3_stmt *s;
	size_t i;
	int64_t seq;
	int rc;

	s = db_stmt(c, DB_STMT_AUDIT_INSERT);
	if (!s)
		return DB_ERROR;
	sqlite3_bind_text(s, 1, row->when, -1, SQLITE_TRANSIENT);
	dbsq_bind_opt(s, 2, row->key_id);
	sqlite3_bind_text(s, 3, row->request_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, row->method, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 5, row->route, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 6, row->ids_text, (int)row->ids_len,
			  SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 7, row->status);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)row->absent);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return db_conn_result(c, rc);
	seq = sqlite3_last_insert_rowid(c->h);
	for (i = 0; i < row->n_ids; i++) {
		s = db_stmt(c, DB_STMT_AUDIT_PERSON_INSERT);
		if (!s)
			return DB_ERROR;
		sqlite3_bind_text(s, 1, row->ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, seq);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return db_conn_result(c, rc);
	}
	return DB_OK;
}

enum db_result dbsq_audit_insert(struct db_conn *c,
				 const struct audit_record *recs, size_t n)
{
	enum db_result r = db_begin(c);

	if (r == DB_OK)
		r = db_audit_rows(recs, n, insert_row, c);
	r = db_end(c, r);
	return r;
}

enum db_result dbsq_audit_bytes(struct db_conn *c, long long *bytes)
{
	sqlite3_stmt *s = db_stmt(c, DB_STMT_USED_PAGES);
	int rc;

	if (!s)
		return DB_ERROR;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*bytes = (long long)sqlite3_column_int64(s, 0) *
			 sqlite3_column_int64(s, 1);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? DB_OK : db_conn_result(c, rc);
}

/* Hands the rows of the bound statement s to fn; *left counts down the
 * rows still wanted.  Returns SQLITE_DONE when fn stopped or the rows ran
 * out, an error code otherwise. */
static int deliver(sqlite3_stmt *s,
		   int (*fn)(const struct db_audit_row *, void *), void *arg,
		   int *left, bool *stopped)
{
	struct db_audit_row row;
	const unsigned char *ids;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&row, 0, sizeof row);
		row.seq = sqlite3_column_int64(s, 0);
		dbsq_copy_col(s, 1, row.time, sizeof row.time);
		dbsq_copy_col(s, 2, row.key_id, sizeof row.key_id);
		dbsq_copy_col(s, 3, row.request_id, sizeof row.request_id);
		dbsq_copy_col(s, 4, row.method, sizeof row.method);
		dbsq_copy_col(s, 5, row.route, sizeof row.route);
		ids = sqlite3_column_text(s, 6);
		row.person_ids = ids ? (const char *)ids : "";
		row.status = sqlite3_column_int(s, 7);
		row.absent_ids = sqlite3_column_int64(s, 8);
		(*left)--;
		if (fn(&row, arg) != 0) {
			*stopped = true;
			return SQLITE_DONE;
		}
	}
	return rc;
}

static void bind_range(sqlite3_stmt *s, const struct db_audit_filter *f)
{
	sqlite3_bind_int64(s, 1, f->after_seq);
	/* "" sorts before every time, "9" after. */
	sqlite3_bind_text(s, 2, f->since ? f->since : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, f->until ? f->until : "9", -1, SQLITE_STATIC);
}

/* A person's rows: the seq range of the filter first, then its buckets
 * one seek each, in seq order, until the limit (003_audit_buckets.sql). */
static enum db_result
query_person(struct db_conn *c, const struct db_audit_filter *f,
	     int (*fn)(const struct db_audit_row *, void *), void *arg)
{
	sqlite3_stmt *s = db_stmt(c, DB_STMT_AUDIT_SEQ_RANGE);
	int64_t lo = 0, hi = 0, b;
	int left = f->limit > 0 ? f->limit : 1, rc;
	bool stopped = false, any;

	if (!s)
		return DB_ERROR;
	bind_range(s, f);
	rc = sqlite3_step(s);
	any = rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL &&
	      sqlite3_column_type(s, 1) != SQLITE_NULL;
	if (any) {
		lo = sqlite3_column_int64(s, 0);
		hi = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_conn_result(c, rc);
	if (!any || hi <= lo)
		return DB_OK;
	s = db_stmt(c, DB_STMT_AUDIT_QUERY_PERSON);
	if (!s)
		return DB_ERROR;
	rc = SQLITE_DONE;
	for (b = (lo + 1) >> DB_AUDIT_BUCKET_SHIFT;
	     b <= hi >> DB_AUDIT_BUCKET_SHIFT && left > 0 && !stopped; b++) {
		bind_range(s, f);
		sqlite3_bind_int64(s, 1, lo);
		sqlite3_bind_int(s, 4, left);
		if (f->key_id)
			sqlite3_bind_text(s, 5, f->key_id, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, 5);
		sqlite3_bind_text(s, 6, f->person_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 7, b);
		sqlite3_bind_int64(s, 8, hi);
		rc = deliver(s, fn, arg, &left, &stopped);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			break;
	}
	return db_conn_result(c, rc);
}

enum db_result dbsq_audit_query(struct db_conn *c,
				const struct db_audit_filter *f,
				int (*fn)(const struct db_audit_row *, void *),
				void *arg)
{
	enum db_stmt_id id =
	    f->key_id ? DB_STMT_AUDIT_QUERY_KEY : DB_STMT_AUDIT_QUERY;
	int left = f->limit > 0 ? f->limit : 1, rc;
	bool stopped = false;
	sqlite3_stmt *s;

	if (f->person_id)
		return query_person(c, f, fn, arg);
	s = db_stmt(c, id);
	if (!s)
		return DB_ERROR;
	bind_range(s, f);
	sqlite3_bind_int(s, 4, left);
	if (f->key_id)
		sqlite3_bind_text(s, 5, f->key_id, -1, SQLITE_STATIC);
	rc = deliver(s, fn, arg, &left, &stopped);
	sqlite3_reset(s);
	return db_conn_result(c, rc);
}

/* The single int64 (or NULL: *found false) that statement id answers,
 * with ?1 bound to text when text is not NULL. */
static enum db_result scalar(struct db_conn *c, enum db_stmt_id id,
			     const char *text, int64_t *v, bool *found)
{
	sqlite3_stmt *s = db_stmt(c, id);
	int rc;

	*found = false;
	if (!s)
		return DB_ERROR;
	if (text)
		sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
		*v = sqlite3_column_int64(s, 0);
		*found = true;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? DB_OK
						     : db_conn_result(c, rc);
}

static enum db_result delete_upto(struct db_conn *c, enum db_stmt_id id,
				  int64_t seq, long long *changes)
{
	sqlite3_stmt *s = db_stmt(c, id);
	int rc;

	if (!s)
		return DB_ERROR;
	sqlite3_bind_int64(s, 1, seq);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (changes)
		*changes = sqlite3_changes(c->h);
	return db_conn_result(c, rc);
}

enum db_result dbsq_audit_expire(struct db_conn *c, const char *before,
				 long long *deleted)
{
	int64_t bound = 0, lo = 0, upto;
	long long n = 0, total = 0;
	enum db_result r;
	bool found;

	if (deleted)
		*deleted = 0;
	/* The last row before the cutoff: everything up to its seq goes
	 * (time never decreases as seq grows). */
	r = scalar(c, DB_STMT_AUDIT_EXPIRE_BOUND, before, &bound, &found);
	if (r != DB_OK || !found)
		return r;
	for (;;) {
		r = scalar(c, DB_STMT_AUDIT_MIN_SEQ, NULL, &lo, &found);
		if (r != DB_OK || !found || lo > bound)
			break;
		upto = lo + EXPIRE_CHUNK - 1 < bound ? lo + EXPIRE_CHUNK - 1
						     : bound;
		r = db_begin(c);
		if (r != DB_OK)
			break;
		r = delete_upto(c, DB_STMT_AUDIT_EXPIRE, upto, &n);
		if (r == DB_OK)
			r = delete_upto(c, DB_STMT_AUDIT_PERSON_EXPIRE, upto,
					NULL);
		if (r == DB_OK)
			r = db_commit(c);
		if (r != DB_OK) {
			db_rollback(c);
			break;
		}
		total += n;
	}
	if (deleted)
		*deleted = total;
	return r;
}
