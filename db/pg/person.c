/* person.c - the PostgreSQL store's persons: the same typed text columns as
 * SQLite's, as text parameters.  A conditional write reads its row FOR
 * UPDATE inside its transaction, so two replicas' racing If-Match writes
 * go one after the other: the second sees the first one's tag (412). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/tokyo_time.h"
#include "db/internal.h"

enum {
	COL_ID = 0,
	COL_FACILITY,
	COL_NAME,
	COL_BIRTH,
	COL_INSURER,
	COL_SCHEME,
	COL_CARD,
	COL_REG,
	COL_ECERT,
	COL_CARD_EXPIRY,
	COL_NEEDS,
	COL_SETTING,
	COL_LEGACY,
	COL_CERT_STATUS,
	COL_CERT_BASIS,
	COL_CERT_APPLIED,
	COL_CERT_VALID,
	COL_VERIFIED,
	COL_SOURCE,
	COL_ETAG,
	COL_UPDATED,
	COL_COUNT
};

_Static_assert(COL_COUNT == DBPG_PERSON_NCOLS, "pg.h: the persons' columns");

static const char *opt(const char *s)
{
	return s && *s ? s : NULL;
}

static const char *date_val(struct dbpg_person_vals *pv, int *k, int32_t day)
{
	if (day == RULES_NO_DATE)
		return NULL;
	rules_date_format(day, pv->dates[*k]);
	return pv->dates[(*k)++];
}

void dbpg_person_vals(const struct db_person *p, struct dbpg_person_vals *pv)
{
	const struct rules_facts *f = &p->facts;
	const char **v = pv->v;
	int k = 0;

	v[COL_ID] = p->person_id;
	v[COL_FACILITY] = opt(p->facility_id);
	v[COL_NAME] = opt(p->display_name);
	v[COL_BIRTH] = date_val(pv, &k, f->birth_date);
	v[COL_INSURER] = opt(f->insurer_number);
	v[COL_SCHEME] = opt(rules_scheme_name(f->scheme));
	v[COL_CARD] =
	    f->mynumber_card ? opt(rules_card_name(f->mynumber_card)) : NULL;
	v[COL_REG] =
	    f->insurance_registration
		? opt(rules_registration_name(f->insurance_registration))
		: NULL;
	v[COL_ECERT] = date_val(pv, &k, f->ecert_expiry);
	v[COL_CARD_EXPIRY] = date_val(pv, &k, f->card_expiry);
	/* Absent and empty are the same (SPEC §3: no care needs): "". */
	db_needs_join(f->care_needs, pv->needs, sizeof pv->needs);
	v[COL_NEEDS] = pv->needs;
	v[COL_SETTING] = opt(rules_setting_name(f->setting));
	v[COL_LEGACY] = date_val(pv, &k, f->legacy_card_expiry);
	v[COL_CERT_STATUS] = opt(rules_cert_status_name(f->cert_status));
	v[COL_CERT_BASIS] = opt(rules_cert_basis_name(f->cert_basis));
	v[COL_CERT_APPLIED] = date_val(pv, &k, f->cert_applied_on);
	v[COL_CERT_VALID] = date_val(pv, &k, f->cert_valid_until);
	v[COL_VERIFIED] = date_val(pv, &k, p->verified_at);
	v[COL_SOURCE] = opt(db_source_name(p->source));
	v[COL_ETAG] = p->etag;
	v[COL_UPDATED] = p->updated_at;
}

static const char *col_text(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static void copy_col(const PGresult *r, int row, int col, char *dst,
		     size_t dstlen)
{
	const char *t = col_text(r, row, col);
	size_t n = t ? (size_t)PQgetlength(r, row, col) : 0;

	if (n > dstlen - 1)
		n = dstlen - 1;
	memcpy(dst, t ? t : "", n);
	dst[n] = '\0';
}

static int32_t col_date(const PGresult *r, int row, int col)
{
	const char *t = col_text(r, row, col);
	int32_t day;

	if (!t || rules_date_parse(t, strlen(t), &day) != 0)
		return RULES_NO_DATE;
	return day;
}

static int col_enum(const PGresult *r, int row, int col,
		    int (*from)(const char *))
{
	const char *t = col_text(r, row, col);
	int v = t ? from(t) : 0;

	return v < 0 ? 0 : v;
}

static void read_person(const PGresult *r, int row, struct db_person *p)
{
	struct rules_facts *f = &p->facts;
	const char *src;
	int v;

	db_person_init(p);
	copy_col(r, row, COL_ID, p->person_id, sizeof p->person_id);
	copy_col(r, row, COL_FACILITY, p->facility_id, sizeof p->facility_id);
	copy_col(r, row, COL_NAME, p->display_name, sizeof p->display_name);
	f->birth_date = col_date(r, row, COL_BIRTH);
	copy_col(r, row, COL_INSURER, f->insurer_number,
		 sizeof f->insurer_number);
	f->scheme = (enum rules_scheme)col_enum(r, row, COL_SCHEME,
						rules_scheme_from_name);
	f->mynumber_card =
	    (enum rules_card)col_enum(r, row, COL_CARD, rules_card_from_name);
	f->insurance_registration = (enum rules_registration)col_enum(
	    r, row, COL_REG, rules_registration_from_name);
	f->ecert_expiry = col_date(r, row, COL_ECERT);
	f->card_expiry = col_date(r, row, COL_CARD_EXPIRY);
	f->care_needs = db_needs_split(col_text(r, row, COL_NEEDS));
	f->setting = (enum rules_setting)col_enum(r, row, COL_SETTING,
						  rules_setting_from_name);
	f->legacy_card_expiry = col_date(r, row, COL_LEGACY);
	f->cert_status = (enum rules_cert_status)col_enum(
	    r, row, COL_CERT_STATUS, rules_cert_status_from_name);
	f->cert_basis = (enum rules_cert_basis)col_enum(
	    r, row, COL_CERT_BASIS, rules_cert_basis_from_name);
	f->cert_applied_on = col_date(r, row, COL_CERT_APPLIED);
	f->cert_valid_until = col_date(r, row, COL_CERT_VALID);
	p->verified_at = col_date(r, row, COL_VERIFIED);
	src = col_text(r, row, COL_SOURCE);
	v = src ? db_source_from_name(src) : 0;
	p->source = v < 0 ? DB_SOURCE_OTHER : (enum db_source)v;
	copy_col(r, row, COL_ETAG, p->etag, sizeof p->etag);
	copy_col(r, row, COL_UPDATED, p->updated_at, sizeof p->updated_at);
}

/* One person by id through statement id (PERSON_GET or _GET_LOCK). */
static enum db_result get_by(struct db_conn *c, enum dbpg_stmt id,
			     const char *pid, struct db_person *out)
{
	const char *vals[1] = {pid};
	PGresult *r = dbpg_exec(c, id, 1, vals);
	enum db_result res = dbpg_result(c, r);

	if (res == DB_OK) {
		if (PQntuples(r) == 1)
			read_person(r, 0, out);
		else
			res = DB_NOT_FOUND;
	}
	PQclear(r);
	return res;
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
			  strcmp(PQgetvalue(r, 0, COL_COUNT), "t") == 0;
	if (res == DB_OK) {
		if (PQntuples(r) == 1 && !PQgetisnull(r, 0, COL_ID))
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
	struct dbpg_person_vals pv;
	enum db_result res;
	PGresult *r;

	dbpg_person_vals(p, &pv);
	r = dbpg_exec(
	    c, exists ? DBPG_STMT_PERSON_UPDATE : DBPG_STMT_PERSON_INSERT,
	    COL_COUNT, pv.v);
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
	enum db_result r;
	bool exists;

	r = get_by(c, DBPG_STMT_PERSON_GET_LOCK, p->person_id, old);
	if (r != DB_OK && r != DB_NOT_FOUND)
		return r;
	exists = r == DB_OK;
	/* RFC 9110 §13.2.2: If-Match first, then If-None-Match. */
	if ((if_match && (!exists || !db_etag_in_list(if_match, old->etag))) ||
	    (if_none_match && exists &&
	     db_etag_in_list(if_none_match, old->etag))) {
		memcpy(p->etag, exists ? old->etag : "",
		       exists ? sizeof p->etag : 1);
		return DB_PRECONDITION;
	}
	db_person_etag(p, p->etag);
	if (exists && strcmp(old->etag, p->etag) == 0) {
		memcpy(p->updated_at, old->updated_at, sizeof p->updated_at);
		*outcome = DB_PUT_UNCHANGED;
		return DB_OK;
	}
	base_tokyo_time(now, p->updated_at);
	r = write_row(c, p, exists);
	if (r == DB_OK)
		*outcome = exists ? DB_PUT_REPLACED : DB_PUT_CREATED;
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
	if (r == DB_OK)
		r = dbpg_commit(c);
	if (r != DB_OK)
		dbpg_rollback(c);
	free(old);
	return r;
}

enum db_result dbpg_person_list(struct db_conn *c, const char *facility_id,
				const char *after, int limit,
				db_person_peek_fn peek,
				int (*fn)(const struct db_person *, void *),
				void *arg, char *last)
{
	struct db_person p;
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
		if (peek) {
			const char *id = PQgetvalue(r, i, COL_ID);
			enum db_peek k =
			    peek(id, PQgetvalue(r, i, COL_ETAG), arg);

			snprintf(last, DB_ID_MAX + 1, "%s", id);
			if (k == DB_PEEK_STOP)
				break;
			if (k == DB_PEEK_NEXT)
				continue;
		}
		read_person(r, i, &p);
		snprintf(last, DB_ID_MAX + 1, "%s", p.person_id);
		if (fn(&p, arg) != 0)
			break;
	}
	PQclear(r);
	return res;
}
