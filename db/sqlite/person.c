/* person.c - the SQLite store's persons: typed columns <-> struct
 * db_person. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/tokyo_time.h"
#include "db/internal.h"
#include "db/person_cache.h"
#include "db/person_db.h"

/* ---- columns ------------------------------------------------------------ */

/* Binds p's columns (at their position + 1) from t, which outlives the
 * step that follows: not copied (no malloc a column).  An empty text is
 * NULL but for care_needs (SPEC §3: "" is no care needs). */
static void bind_person(sqlite3_stmt *s, const struct db_person *p,
			struct db_person_texts *t)
{
	int i;

	db_person_texts(p, t);
	for (i = 0; i < DB_PERSON_NCOLS; i++) {
		const char *v = t->v[i];

		if (v && (*v || i == DB_PCOL_NEEDS))
			sqlite3_bind_text(s, i + 1, v, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, i + 1);
	}
}

static enum db_result read_person(sqlite3_stmt *s, void *p)
{
	db_person_read(dbsq_row_text, s, p);
	return DB_OK;
}

/* ---- operations ----------------------------------------------------------- */

enum db_result dbsq_person_get(struct db_conn *c, const char *id,
			       struct db_person *out)
{
	return dbsq_get(c, DB_STMT_PERSON_GET, id, read_person, out);
}

enum db_result dbsq_person_get_in(struct db_conn *c, const char *id,
				  const char *facility, struct db_person *out,
				  bool *stored)
{
	sqlite3_stmt *s;
	enum db_result r;
	int rc;

	if (!facility) {
		r = dbsq_person_get(c, id, out);
		if (stored)
			*stored = r == DB_OK;
		return r;
	}
	s = db_stmt(c, DB_STMT_PERSON_GET_IN);
	if (!s)
		return DB_ERROR;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, facility, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW &&
	    sqlite3_column_type(s, DB_PCOL_ID) != SQLITE_NULL) {
		read_person(s, out);
		r = DB_OK;
	} else {
		r = rc == SQLITE_ROW ? DB_NOT_FOUND : db_conn_result(c, rc);
	}
	/* The column after the person's. */
	if (stored)
		*stored = rc == SQLITE_ROW &&
			  sqlite3_column_int(s, DB_PERSON_NCOLS) != 0;
	sqlite3_reset(s);
	return r;
}

/* ---- the person cache's log (006_person_changes.sql) --------------------- */

/* Rows of person_changes kept (trimmed each TRIM_EVERY rows), and the
 * most one catch-up reads before it drops everything instead. */
#define CHANGES_KEEP       4096
#define CHANGES_TRIM_EVERY 256
#define CHANGES_READ_MAX   256

/* Logs a write of id in c's transaction; a connection of its own (an
 * import's: db_conn_open) logs one NULL row, "every person", per
 * transaction.  c->change_seq: the row's seq (0: none). */
static enum db_result log_change(struct db_conn *c, const char *id)
{
	bool bulk = c->db == NULL;
	sqlite3_stmt *s;
	sqlite3_int64 seq;
	int rc;

	c->change_seq = 0;
	if (bulk && c->changes_marked)
		return DB_OK;
	s = db_stmt(c, DB_STMT_PERSON_CHANGE_ADD);
	if (!s)
		return DB_ERROR;
	if (bulk)
		sqlite3_bind_null(s, 1);
	else
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return db_conn_result(c, rc);
	c->changes_marked = bulk;
	seq = sqlite3_last_insert_rowid(c->h);
	c->change_seq = (uint64_t)seq;
	if (seq % CHANGES_TRIM_EVERY != 0 || seq <= CHANGES_KEEP)
		return DB_OK;
	s = db_stmt(c, DB_STMT_PERSON_CHANGE_TRIM);
	if (!s)
		return DB_ERROR;
	sqlite3_bind_int64(s, 1, seq - CHANGES_KEEP);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return db_conn_result(c, rc);
}

/* The last seq logged (0: none, or on error). */
static uint64_t changes_last(struct db_conn *c)
{
	sqlite3_stmt *s = db_stmt(c, DB_STMT_PERSON_CHANGE_LAST);
	uint64_t last = 0;

	if (s && sqlite3_step(s) == SQLITE_ROW)
		last = (uint64_t)sqlite3_column_int64(s, 0);
	if (s)
		sqlite3_reset(s);
	return last;
}

bool dbsq_person_changes(void *conn, struct person_cache *pc, uint64_t from,
			 uint64_t *to)
{
	struct db_conn *c = conn;
	sqlite3_stmt *s;
	bool ok = from > 0;
	uint64_t seq = 0;
	int rc = SQLITE_DONE, n = 0;

	s = ok ? db_stmt(c, DB_STMT_PERSON_CHANGES) : NULL;
	if (s) {
		sqlite3_bind_int64(s, 1, (sqlite3_int64)from);
		sqlite3_bind_int(s, 2, CHANGES_READ_MAX + 2);
		/* The first row is from itself: else trimmed away, a gap. */
		while (ok && (rc = sqlite3_step(s)) == SQLITE_ROW) {
			seq = (uint64_t)sqlite3_column_int64(s, 0);
			if (n++ == 0)
				ok = seq == from;
			else if (n > CHANGES_READ_MAX + 1 ||
				 sqlite3_column_type(s, 1) == SQLITE_NULL)
				ok = false;
			else
				person_cache_invalidate(
				    pc,
				    (const char *)sqlite3_column_text(s, 1));
		}
		ok = ok && n > 0 && (rc == SQLITE_DONE || rc == SQLITE_ROW);
		sqlite3_reset(s);
	}
	*to = ok ? seq : changes_last(c);
	return ok;
}

/* One statement's step with p bound: DB_OK and *changed (a row was
 * written), or the error. */
static enum db_result step_person(struct db_conn *c, enum db_stmt_id id,
				  const struct db_person *p, bool *changed)
{
	sqlite3_stmt *s = db_stmt(c, id);
	struct db_person_texts t;
	int rc;

	if (!s)
		return DB_ERROR;
	bind_person(s, p, &t);
	rc = sqlite3_step(s);
	*changed = rc == SQLITE_DONE && sqlite3_changes(c->h) > 0;
	sqlite3_reset(s);
	return db_conn_result(c, rc);
}

enum db_result dbsq_person_put_if(struct db_conn *c, struct db_person *p,
				  const char *if_match,
				  const char *if_none_match, bool in_tx,
				  double now, enum db_put_outcome *outcome)
{
	struct db_person *old = NULL;
	enum db_put_outcome o;
	enum db_result r;
	bool wrote;

	old = malloc(sizeof *old);
	if (!old)
		return DB_ERROR;
	if (!in_tx) {
		r = db_begin(c);
		if (r != DB_OK) {
			free(old);
			return r;
		}
	}
	r = dbsq_person_get(c, p->person_id, old);
	r = db_person_put_decide(r, p, old, if_match, if_none_match, now, &o);
	if (r == DB_OK && o != DB_PUT_UNCHANGED) {
		r = step_person(c, DB_STMT_PERSON_UPSERT, p, &wrote);
		if (r == DB_OK)
			r = log_change(c, p->person_id);
	}
	if (r == DB_OK)
		*outcome = o;
	if (!in_tx)
		r = db_end(c, r);
	free(old);
	return r;
}

enum db_result dbsq_person_import(struct db_conn *c, const struct db_person *p,
				  enum db_put_outcome *outcome)
{
	enum db_result r;
	bool created = false, replaced = false;

	/* No read first: the insert finds an id already stored, the update
	 * an identical record (same etag), in the seek each makes anyway. */
	r = step_person(c, DB_STMT_PERSON_INSERT_NEW, p, &created);
	if (r == DB_OK && !created)
		r = step_person(c, DB_STMT_PERSON_UPDATE_CHANGED, p, &replaced);
	if (r == DB_OK && (created || replaced))
		r = log_change(c, p->person_id);
	if (r == DB_OK)
		*outcome = created    ? DB_PUT_CREATED
			   : replaced ? DB_PUT_REPLACED
				      : DB_PUT_UNCHANGED;
	return r;
}

enum db_result dbsq_person_delete(struct db_conn *c, const char *id,
				  const char *if_match)
{
	struct db_person *old = NULL;
	enum db_result r;

	old = malloc(sizeof *old);
	if (!old)
		return DB_ERROR;
	r = dbsq_person_get(c, id, old);
	if (r != DB_OK)
		goto out;
	if (if_match && !db_etag_in_list(if_match, old->etag)) {
		r = DB_PRECONDITION;
		goto out;
	}
	r = dbsq_exec(c, DB_STMT_PERSON_DELETE, 1, &id);
	if (r == DB_OK)
		r = log_change(c, id);
out:
	free(old);
	return r;
}

struct list_each {
	db_person_peek_fn peek;
	int (*fn)(const struct db_person *, void *);
	void *arg;
	char *last;
};

static int list_row(sqlite3_stmt *s, void *arg)
{
	const struct list_each *e = arg;

	return !db_person_list_row(dbsq_row_text, s, e->peek, e->fn, e->arg,
				   e->last);
}

enum db_result dbsq_person_list(struct db_conn *c, const char *facility_id,
				const char *after, int limit,
				db_person_peek_fn peek,
				int (*fn)(const struct db_person *, void *),
				void *arg, char *last)
{
	struct list_each e = {peek, fn, arg, last};
	sqlite3_stmt *s;

	last[0] = '\0';
	s = db_stmt(c, facility_id ? DB_STMT_PERSON_LIST_FACILITY
				   : DB_STMT_PERSON_LIST);
	if (!s)
		return DB_ERROR;
	sqlite3_bind_text(s, 1, after ? after : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, limit);
	if (facility_id)
		sqlite3_bind_text(s, 3, facility_id, -1, SQLITE_STATIC);
	return dbsq_each(c, s, list_row, &e);
}
