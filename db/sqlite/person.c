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

enum {
	COL_ID = 1,
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
	COL_UPDATED
};

/* Not copied (no malloc a column): v outlives the step, which follows at
 * once (the record's own strings, or static names). */
static void bind_text(sqlite3_stmt *s, int col, const char *v)
{
	if (v && *v)
		sqlite3_bind_text(s, col, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, col);
}

static void bind_date(sqlite3_stmt *s, int col, int32_t day)
{
	char d[11];

	if (day == RULES_NO_DATE) {
		sqlite3_bind_null(s, col);
		return;
	}
	rules_date_format(day, d);
	sqlite3_bind_text(s, col, d, 10, SQLITE_TRANSIENT);
}

static void bind_person(sqlite3_stmt *s, const struct db_person *p)
{
	const struct rules_facts *f = &p->facts;
	char needs[256];

	bind_text(s, COL_ID, p->person_id);
	bind_text(s, COL_FACILITY, p->facility_id);
	bind_text(s, COL_NAME, p->display_name);
	bind_date(s, COL_BIRTH, f->birth_date);
	bind_text(s, COL_INSURER, f->insurer_number);
	bind_text(s, COL_SCHEME, rules_scheme_name(f->scheme));
	bind_text(s, COL_CARD,
		  f->mynumber_card ? rules_card_name(f->mynumber_card) : NULL);
	bind_text(s, COL_REG,
		  f->insurance_registration
		      ? rules_registration_name(f->insurance_registration)
		      : NULL);
	bind_date(s, COL_ECERT, f->ecert_expiry);
	bind_date(s, COL_CARD_EXPIRY, f->card_expiry);
	/* Absent and empty are the same (SPEC §3: no care needs): "". */
	db_needs_join(f->care_needs, needs, sizeof needs);
	sqlite3_bind_text(s, COL_NEEDS, needs, -1, SQLITE_TRANSIENT);
	bind_text(s, COL_SETTING, rules_setting_name(f->setting));
	bind_date(s, COL_LEGACY, f->legacy_card_expiry);
	bind_text(s, COL_CERT_STATUS, rules_cert_status_name(f->cert_status));
	bind_text(s, COL_CERT_BASIS, rules_cert_basis_name(f->cert_basis));
	bind_date(s, COL_CERT_APPLIED, f->cert_applied_on);
	bind_date(s, COL_CERT_VALID, f->cert_valid_until);
	bind_date(s, COL_VERIFIED, p->verified_at);
	bind_text(s, COL_SOURCE, db_source_name(p->source));
	bind_text(s, COL_ETAG, p->etag);
	bind_text(s, COL_UPDATED, p->updated_at);
}

static const char *col_text(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col - 1);

	return t ? (const char *)t : NULL;
}

/* Truncated to dstlen - 1 bytes; no snprintf: a lookup copies eight. */
static void copy_col(sqlite3_stmt *s, int col, char *dst, size_t dstlen)
{
	const char *t = col_text(s, col);
	size_t n = t ? (size_t)sqlite3_column_bytes(s, col - 1) : 0;

	if (n > dstlen - 1)
		n = dstlen - 1;
	memcpy(dst, t ? t : "", n);
	dst[n] = '\0';
}

static int32_t col_date(sqlite3_stmt *s, int col)
{
	const char *t = col_text(s, col);
	int32_t day;

	if (!t || rules_date_parse(t, strlen(t), &day) != 0)
		return RULES_NO_DATE;
	return day;
}

static int col_enum(sqlite3_stmt *s, int col, int (*from)(const char *))
{
	const char *t = col_text(s, col);
	int v = t ? from(t) : 0;

	return v < 0 ? 0 : v;
}

static void read_person(sqlite3_stmt *s, struct db_person *p)
{
	struct rules_facts *f = &p->facts;
	const char *src;
	int v;

	db_person_init(p);
	copy_col(s, COL_ID, p->person_id, sizeof p->person_id);
	copy_col(s, COL_FACILITY, p->facility_id, sizeof p->facility_id);
	copy_col(s, COL_NAME, p->display_name, sizeof p->display_name);
	f->birth_date = col_date(s, COL_BIRTH);
	copy_col(s, COL_INSURER, f->insurer_number, sizeof f->insurer_number);
	f->scheme =
	    (enum rules_scheme)col_enum(s, COL_SCHEME, rules_scheme_from_name);
	f->mynumber_card =
	    (enum rules_card)col_enum(s, COL_CARD, rules_card_from_name);
	f->insurance_registration = (enum rules_registration)col_enum(
	    s, COL_REG, rules_registration_from_name);
	f->ecert_expiry = col_date(s, COL_ECERT);
	f->card_expiry = col_date(s, COL_CARD_EXPIRY);
	f->care_needs = db_needs_split(col_text(s, COL_NEEDS));
	f->setting = (enum rules_setting)col_enum(s, COL_SETTING,
						  rules_setting_from_name);
	f->legacy_card_expiry = col_date(s, COL_LEGACY);
	f->cert_status = (enum rules_cert_status)col_enum(
	    s, COL_CERT_STATUS, rules_cert_status_from_name);
	f->cert_basis = (enum rules_cert_basis)col_enum(
	    s, COL_CERT_BASIS, rules_cert_basis_from_name);
	f->cert_applied_on = col_date(s, COL_CERT_APPLIED);
	f->cert_valid_until = col_date(s, COL_CERT_VALID);
	p->verified_at = col_date(s, COL_VERIFIED);
	src = col_text(s, COL_SOURCE);
	v = src ? db_source_from_name(src) : 0;
	p->source = v < 0 ? DB_SOURCE_OTHER : (enum db_source)v;
	copy_col(s, COL_ETAG, p->etag, sizeof p->etag);
	copy_col(s, COL_UPDATED, p->updated_at, sizeof p->updated_at);
}

/* ---- operations ----------------------------------------------------------- */

enum db_result dbsq_person_get(struct db_conn *c, const char *id,
			       struct db_person *out)
{
	sqlite3_stmt *s = db_stmt(c, DB_STMT_PERSON_GET);
	enum db_result r;
	int rc;

	if (!s)
		return DB_ERROR;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		read_person(s, out);
		r = DB_OK;
	} else {
		r = rc == SQLITE_DONE ? DB_NOT_FOUND : db_conn_result(c, rc);
	}
	sqlite3_reset(s);
	return r;
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
	    sqlite3_column_type(s, COL_ID - 1) != SQLITE_NULL) {
		read_person(s, out);
		r = DB_OK;
	} else {
		r = rc == SQLITE_ROW ? DB_NOT_FOUND : db_conn_result(c, rc);
	}
	/* The column after the person's (0-based: COL_UPDATED). */
	if (stored)
		*stored =
		    rc == SQLITE_ROW && sqlite3_column_int(s, COL_UPDATED) != 0;
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

enum db_result dbsq_person_put_if(struct db_conn *c, struct db_person *p,
				  const char *if_match,
				  const char *if_none_match, bool in_tx,
				  double now, enum db_put_outcome *outcome)
{
	struct db_person *old = NULL;
	sqlite3_stmt *s;
	enum db_result r;
	bool exists;
	int rc;

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
	if (r != DB_OK && r != DB_NOT_FOUND)
		goto out;
	exists = r == DB_OK;
	/* RFC 9110 §13.2.2: If-Match first, then If-None-Match. */
	if ((if_match && (!exists || !db_etag_in_list(if_match, old->etag))) ||
	    (if_none_match && exists &&
	     db_etag_in_list(if_none_match, old->etag))) {
		memcpy(p->etag, exists ? old->etag : "",
		       exists ? sizeof p->etag : 1);
		r = DB_PRECONDITION;
		goto out;
	}
	db_person_etag(p, p->etag);
	if (exists && strcmp(old->etag, p->etag) == 0) {
		memcpy(p->updated_at, old->updated_at, sizeof p->updated_at);
		*outcome = DB_PUT_UNCHANGED;
		r = DB_OK;
		goto out;
	}
	base_tokyo_time(now, p->updated_at);
	s = db_stmt(c, DB_STMT_PERSON_UPSERT);
	if (!s) {
		r = DB_ERROR;
		goto out;
	}
	bind_person(s, p);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	r = db_conn_result(c, rc);
	if (r == DB_OK)
		r = log_change(c, p->person_id);
	if (r == DB_OK)
		*outcome = exists ? DB_PUT_REPLACED : DB_PUT_CREATED;
out:
	if (!in_tx) {
		if (r == DB_OK)
			r = db_commit(c);
		if (r != DB_OK)
			db_rollback(c);
	}
	free(old);
	return r;
}

/* One statement's step with p bound: DB_OK and *changed (a row was
 * written), or the error. */
static enum db_result step_person(struct db_conn *c, enum db_stmt_id id,
				  const struct db_person *p, bool *changed)
{
	sqlite3_stmt *s = db_stmt(c, id);
	int rc;

	if (!s)
		return DB_ERROR;
	bind_person(s, p);
	rc = sqlite3_step(s);
	*changed = rc == SQLITE_DONE && sqlite3_changes(c->h) > 0;
	sqlite3_reset(s);
	return db_conn_result(c, rc);
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
	sqlite3_stmt *s;
	enum db_result r;
	int rc;

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
	s = db_stmt(c, DB_STMT_PERSON_DELETE);
	if (!s) {
		r = DB_ERROR;
		goto out;
	}
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	r = db_conn_result(c, rc);
	if (r == DB_OK)
		r = log_change(c, id);
out:
	free(old);
	return r;
}

enum db_result dbsq_person_list(struct db_conn *c, const char *facility_id,
				const char *after, int limit,
				db_person_peek_fn peek,
				int (*fn)(const struct db_person *, void *),
				void *arg, char *last)
{
	struct db_person p;
	sqlite3_stmt *s;
	int rc;

	last[0] = '\0';
	s = db_stmt(c, facility_id ? DB_STMT_PERSON_LIST_FACILITY
				   : DB_STMT_PERSON_LIST);
	if (!s)
		return DB_ERROR;
	sqlite3_bind_text(s, 1, after ? after : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, limit);
	if (facility_id)
		sqlite3_bind_text(s, 3, facility_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (peek) {
			const char *id = col_text(s, COL_ID);
			const char *etag = col_text(s, COL_ETAG);
			enum db_peek k =
			    peek(id ? id : "", etag ? etag : "", arg);

			snprintf(last, DB_ID_MAX + 1, "%s", id ? id : "");
			if (k == DB_PEEK_STOP) {
				rc = SQLITE_DONE;
				break;
			}
			if (k == DB_PEEK_NEXT)
				continue;
		}
		read_person(s, &p);
		snprintf(last, DB_ID_MAX + 1, "%s", p.person_id);
		if (fn(&p, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(s);
	return db_conn_result(c, rc);
}
