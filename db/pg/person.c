/* person.c - the PostgreSQL store's persons: the same typed text columns as
 * SQLite's, as text parameters.  A conditional write reads its row FOR
 * UPDATE inside its transaction, so two replicas' racing If-Match writes
 * go one after the other: the second sees the first one's tag (412). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/tokyo_time.h"
#include "db/internal.h"

static void read_person(const PGresult *r, int row, void *p)
{
	const struct dbpg_row pr = {r, row};

	db_person_read(dbpg_row_text, &pr, p);
}

/* One person by id through statement id (PERSON_GET or _GET_LOCK). */
static enum db_result get_by(struct db_conn *c, enum dbpg_stmt id,
			     const char *pid, struct db_person *out)
{
	const char *vals[1] = {pid};

	return dbpg_one(c, id, 1, vals, read_person, out);
}

enum db_result dbpg_person_get(struct db_conn *c, const char *id,
			       struct db_person *out)
{
	return get_by(c, DBPG_STMT_PERSON_GET, id, out);
}

enum db_result dbpg_person_get_in(struct db_conn *c, const char *id,
				  const char *facility, struct db_person *out,
				  bool *stored)
{
	const char *vals[2] = {id, facility};
	enum db_result res;
	PGresult *r;

	if (!facility) {
		res = dbpg_person_get(c, id, out);
		if (stored)
			*stored = res == DB_OK;
		return res;
	}
	r = dbpg_exec(c, DBPG_STMT_PERSON_GET_IN, 2, vals);
	res = dbpg_result(c, r);
	if (stored)
		*stored = res == DB_OK && PQntuples(r) == 1 &&
			  strcmp(PQgetvalue(r, 0, DB_PERSON_NCOLS), "t") == 0;
	if (res == DB_OK) {
		if (PQntuples(r) == 1 && !PQgetisnull(r, 0, DB_PCOL_ID))
			read_person(r, 0, out);
		else
			res = DB_NOT_FOUND;
	}
	PQclear(r);
	return res;
}

/* Writes p: an UPDATE of the locked row, or an INSERT that finds no row
 * taken.  DB_BUSY when another transaction inserted the id meanwhile. */
static enum db_result write_row(struct db_conn *c, const struct db_person *p,
				bool exists)
{
	struct db_person_texts pv;
	enum db_result res;
	PGresult *r;

	db_person_texts(p, &pv);
	r = dbpg_exec(
	    c, exists ? DBPG_STMT_PERSON_UPDATE : DBPG_STMT_PERSON_INSERT,
	    DB_PERSON_NCOLS, pv.v);
	res = dbpg_result(c, r);
	if (res == DB_OK && strcmp(PQcmdTuples(r), "1") != 0)
		res = DB_BUSY;
	PQclear(r);
	return res;
}

/* One attempt of dbpg_person_put_if inside the caller's transaction. */
static enum db_result put_once(struct db_conn *c, struct db_person *p,
			       struct db_person *old, const char *if_match,
			       const char *if_none_match, double now,
			       enum db_put_outcome *outcome)
{
	enum db_put_outcome o;
	enum db_result r;

	r = get_by(c, DBPG_STMT_PERSON_GET_LOCK, p->person_id, old);
	r = db_person_put_decide(r, p, old, if_match, if_none_match, now, &o);
	if (r == DB_OK && o != DB_PUT_UNCHANGED)
		r = write_row(c, p, o == DB_PUT_REPLACED);
	if (r == DB_OK)
		*outcome = o;
	return r;
}

/* Attempts of a write that raced an insert of the same new id. */
#define PUT_TRIES 3

enum db_result dbpg_person_put_if(struct db_conn *c, struct db_person *p,
				  const char *if_match,
				  const char *if_none_match, bool in_tx,
				  double now, enum db_put_outcome *outcome)
{
	struct db_person *old = malloc(sizeof *old);
	enum db_result r = DB_ERROR;
	int i;

	if (!old)
		return DB_ERROR;
	for (i = 0; i < PUT_TRIES; i++) {
		if (!in_tx && (r = dbpg_begin(c)) != DB_OK)
			break;
		r = put_once(c, p, old, if_match, if_none_match, now, outcome);
		if (in_tx)
			break;
		if (r == DB_OK)
			r = dbpg_commit(c);
		if (r == DB_OK)
			break;
		dbpg_rollback(c);
		/* the row another replica inserted meanwhile: again, now
		 * that it is there to lock and compare */
		if (r != DB_BUSY)
			break;
	}
	free(old);
	return r;
}

enum db_result dbpg_person_delete(struct db_conn *c, const char *id,
				  const char *if_match)
{
	struct db_person *old = malloc(sizeof *old);
	const char *vals[1] = {id};
	enum db_result r;
	PGresult *res;

	if (!old)
		return DB_ERROR;
	r = dbpg_begin(c);
	if (r != DB_OK) {
		free(old);
		return r;
	}
	r = get_by(c, DBPG_STMT_PERSON_GET_LOCK, id, old);
	if (r == DB_OK && if_match && !db_etag_in_list(if_match, old->etag))
		r = DB_PRECONDITION;
	if (r == DB_OK) {
		res = dbpg_exec(c, DBPG_STMT_PERSON_DELETE, 1, vals);
		r = dbpg_result(c, res);
		PQclear(res);
	}
	r = db_end(c, r);
	free(old);
	return r;
}

enum db_result dbpg_person_list(struct db_conn *c, const char *facility_id,
				const char *after, int limit,
				db_person_peek_fn peek,
				int (*fn)(const struct db_person *, void *),
				void *arg, char *last)
{
	char lim[16];
	const char *vals[3] = {after ? after : "", lim, facility_id};
	enum db_result res;
	PGresult *r;
	int i, n;

	last[0] = '\0';
	snprintf(lim, sizeof lim, "%d", limit);
	r = dbpg_exec(c,
		      facility_id ? DBPG_STMT_PERSON_LIST_FACILITY
				  : DBPG_STMT_PERSON_LIST,
		      facility_id ? 3 : 2, vals);
	res = dbpg_result(c, r);
	n = res == DB_OK ? PQntuples(r) : 0;
	for (i = 0; i < n; i++) {
		const struct dbpg_row pr = {r, i};

		if (!db_person_list_row(dbpg_row_text, &pr, peek, fn, arg,
					last))
			break;
	}
	PQclear(r);
	return res;
}
