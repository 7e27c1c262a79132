/* person_db.c - persons: typed columns <-> struct db_person. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/fnv.h"
#include "base/tokyo_time.h"
#include "db/internal.h"
#include "db/person_cache.h"
#include "db/person_db.h"

static const char *const source_names[DB_SOURCE_COUNT] = {
    NULL,          "mynaportal", "card_reader", "insurer_notice",
    "self_report", "other"};

const char *db_source_name(enum db_source s)
{
	return (unsigned)s < DB_SOURCE_COUNT ? source_names[s] : NULL;
}

int db_source_from_name(const char *s)
{
	int i;

	for (i = 1; i < DB_SOURCE_COUNT; i++)
		if (strcmp(source_names[i], s) == 0)
			return i;
	return -1;
}

void db_person_init(struct db_person *p)
{
	memset(p, 0, sizeof *p);
	rules_facts_init(&p->facts);
	p->verified_at = RULES_NO_DATE;
}

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

static void bind_text(sqlite3_stmt *s, int col, const char *v)
{
	if (v && *v)
		sqlite3_bind_text(s, col, v, -1, SQLITE_TRANSIENT);
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

/* care_needs as "dementia;pin_difficulty" in enum order. */
static void needs_join(unsigned needs, char *out, size_t outlen)
{
	size_t n = 0;
	int i;

	out[0] = '\0';
	for (i = 0; i < RULES_NEED_COUNT; i++)
		if (needs & (1u << i))
			n += (size_t)snprintf(
			    out + n, outlen - n, "%s%s", n ? ";" : "",
			    rules_need_name((enum rules_need)i));
}

static unsigned needs_split(const char *s)
{
	char word[32];
	unsigned needs = 0;
	size_t n;
	int v;

	while (s && *s) {
		n = strcspn(s, ";");
		if (n < sizeof word) {
			memcpy(word, s, n);
			word[n] = '\0';
			v = rules_need_from_name(word);
			if (v >= 0)
				needs |= 1u << v;
		}
		s += n;
		if (*s == ';')
			s++;
	}
	return needs;
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
	needs_join(f->care_needs, needs, sizeof needs);
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
	f->care_needs = needs_split(col_text(s, COL_NEEDS));
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

/* ---- content hash (the ETag) ------------------------------------------ */

static void hash_add(uint64_t *h, const void *data, size_t n)
{
	*h = base_fnv1a64(*h, data, n);
	*h = base_fnv1a64(*h, "\x1f", 1); /* field separator */
}

/* FNV-1a over every stored field but etag and updated_at: the same
 * record always has the same tag, so a re-import changes nothing. */
static void person_etag(const struct db_person *p, char out[17])
{
	const struct rules_facts *f = &p->facts;
	uint64_t h = BASE_FNV64_INIT;
	int i;
	int32_t ints[] = {f->birth_date,
			  (int32_t)f->scheme,
			  (int32_t)f->mynumber_card,
			  (int32_t)f->insurance_registration,
			  f->ecert_expiry,
			  f->card_expiry,
			  (int32_t)f->care_needs,
			  (int32_t)f->setting,
			  f->legacy_card_expiry,
			  (int32_t)f->cert_status,
			  (int32_t)f->cert_basis,
			  f->cert_applied_on,
			  f->cert_valid_until,
			  p->verified_at,
			  (int32_t)p->source};

	hash_add(&h, p->person_id, strlen(p->person_id));
	hash_add(&h, p->facility_id, strlen(p->facility_id));
	hash_add(&h, p->display_name, strlen(p->display_name));
	hash_add(&h, f->insurer_number, strlen(f->insurer_number));
	hash_add(&h, ints, sizeof ints);
	for (i = 15; i >= 0; i--, h >>= 4)
		out[i] = "0123456789abcdef"[h & 0xf];
	out[16] = '\0';
}

/* ---- operations ----------------------------------------------------------- */

/* The row of id, from the store (inside a write's transaction too). */
static enum db_result person_read(struct db_conn *c, const char *id,
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

/* The store's answer of db_person_get_in. */
static enum db_result person_read_in(struct db_conn *c, const char *id,
				     const char *facility,
				     struct db_person *out, bool *stored)
{
	sqlite3_stmt *s;
	enum db_result r;
	int rc;

	if (!facility) {
		r = person_read(c, id, out);
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

/* The cache before the store, outside a transaction only (a write's reads
 * must see its own transaction).  A cached person of another facility is
 * read from the store all the same: an absent id and a hidden one take
 * the same work (person_db.h), only visible ones are answered here. */
enum db_result db_person_get_in(struct db_conn *c, const char *id,
				const char *facility, struct db_person *out,
				bool *stored)
{
	struct person_cache *pc = db_person_cache(c);
	struct person_cache_ticket t = {0, 0, false};
	enum db_result r;
	uint64_t version;
	uint32_t change;

	if (pc && sqlite3_get_autocommit(c->h) &&
	    db_store_version(c, &version, &change)) {
		person_cache_sync(pc, version, &t);
		if (t.use && person_cache_get(pc, id, out)) {
			if (!facility ||
			    strcmp(out->facility_id, facility) == 0) {
				if (stored)
					*stored = true;
				return DB_OK;
			}
			db_person_init(out);
		}
	}
	r = person_read_in(c, id, facility, out, stored);
	if (r == DB_OK && t.use)
		person_cache_put(pc, out, &t);
	return r;
}

enum db_result db_person_get(struct db_conn *c, const char *id,
			     struct db_person *out)
{
	return db_person_get_in(c, id, NULL, out, NULL);
}

/* A write of this process, for the cache: what the store's version was
 * when the write took the lock. */
struct own_write {
	struct person_cache *pc; /* NULL: no cache, or not known */
	uint64_t before;
	uint32_t change;
};

/* After db_begin: the version now is the last commit's (nobody else can
 * commit while this transaction holds the write lock). */
static void own_begin(struct db_conn *c, struct own_write *w)
{
	w->pc = db_person_cache(c);
	if (w->pc && !db_store_version(c, &w->before, &w->change))
		w->pc = NULL;
	if (w->pc)
		person_cache_write_begin(w->pc);
}

/* After the commit or rollback.  wrote: a row was written and committed,
 * which moves the commit counter by exactly one; else it must not have
 * moved at all.  Anything else is another process's commit too. */
static void own_end(struct db_conn *c, struct own_write *w, const char *id,
		    bool wrote)
{
	uint64_t after = 0;
	uint32_t change = 0;
	bool ours;

	if (!w->pc)
		return;
	ours = db_store_version(c, &after, &change) &&
	       (wrote ? change == w->change + 1 : after == w->before);
	person_cache_write_end(w->pc, id, w->before, after, ours);
}

bool db_etag_in_list(const char *list, const char *etag)
{
	size_t n, len = strlen(etag);

	if (strcmp(list, "*") == 0)
		return true;
	while (*list) {
		n = strcspn(list, ",");
		if (n == len && len > 0 && memcmp(list, etag, n) == 0)
			return true;
		list += n;
		if (*list == ',')
			list++;
	}
	return false;
}

enum db_result db_person_put_if(struct db_conn *c, struct db_person *p,
				const char *if_match, const char *if_none_match,
				bool in_tx, double now,
				enum db_put_outcome *outcome)
{
	struct own_write w = {NULL, 0, 0};
	struct db_person *old = NULL;
	bool exists, wrote = false;
	sqlite3_stmt *s;
	enum db_result r;
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
		own_begin(c, &w);
	}
	r = person_read(c, p->person_id, old);
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
	person_etag(p, p->etag);
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
		*outcome = exists ? DB_PUT_REPLACED : DB_PUT_CREATED;
	wrote = r == DB_OK;
out:
	if (!in_tx) {
		if (r == DB_OK)
			r = db_commit(c);
		if (r != DB_OK)
			db_rollback(c);
		own_end(c, &w, p->person_id, wrote && r == DB_OK);
	}
	free(old);
	return r;
}

enum db_result db_person_put(struct db_conn *c, struct db_person *p,
			     const char *if_match, bool create_only, bool in_tx,
			     double now, enum db_put_outcome *outcome)
{
	return db_person_put_if(c, p, if_match, create_only ? "*" : NULL, in_tx,
				now, outcome);
}

enum db_result db_person_delete(struct db_conn *c, const char *id,
				const char *if_match)
{
	struct own_write w = {NULL, 0, 0};
	struct db_person *old = NULL;
	sqlite3_stmt *s;
	enum db_result r;
	bool wrote = false;
	int rc;

	old = malloc(sizeof *old);
	if (!old)
		return DB_ERROR;
	r = db_begin(c);
	if (r != DB_OK) {
		free(old);
		return r;
	}
	own_begin(c, &w);
	r = person_read(c, id, old);
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
	wrote = r == DB_OK;
out:
	if (r == DB_OK)
		r = db_commit(c);
	if (r != DB_OK)
		db_rollback(c);
	own_end(c, &w, id, wrote && r == DB_OK);
	free(old);
	return r;
}

enum db_result db_person_list(struct db_conn *c, const char *facility_id,
			      const char *after, int limit,
			      int (*fn)(const struct db_person *, void *),
			      void *arg, char last[DB_ID_MAX + 1])
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
