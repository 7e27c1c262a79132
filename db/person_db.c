/* person_db.c - persons, what both stores share: names, the ETag, care
 * needs as text; each operation dispatches to db/sqlite/person.c or
 * db/pg/person.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fnv.h"
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

/* care_needs as "dementia;pin_difficulty" in enum order. */
void db_needs_join(unsigned needs, char *out, size_t outlen)
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

unsigned db_needs_split(const char *s)
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

/* ---- content hash (the ETag) ------------------------------------------ */

static void hash_add(uint64_t *h, const void *data, size_t n)
{
	*h = base_fnv1a64(*h, data, n);
	*h = base_fnv1a64(*h, "\x1f", 1); /* field separator */
}

/* FNV-1a over every stored field but etag and updated_at: the same
 * record always has the same tag, so a re-import changes nothing. */
void db_person_etag(const struct db_person *p, char out[17])
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

/* ---- operations: one store or the other ---------------------------------- */

#define PG(c) ((c)->kind == DB_KIND_PG)

/* The store's answer of db_person_get_in. */
static enum db_result store_get_in(struct db_conn *c, const char *id,
				   const char *facility, struct db_person *out,
				   bool *stored)
{
	return PG(c) ? dbpg_person_get_in(c, id, facility, out, stored)
		     : dbsq_person_get_in(c, id, facility, out, stored);
}

/* Brings pc up to the store's version (SQLite explains another process's
 * commit by its person_changes log; PostgreSQL's listener drops each
 * notified person itself) and fills *t: false when the version cannot be
 * read. */
static bool cache_sync(struct db_conn *c, struct person_cache *pc,
		       struct person_cache_ticket *t)
{
	uint64_t version;
	uint32_t change;

	if (!db_store_version(c, &version, &change))
		return false;
	person_cache_sync(pc, version, PG(c) ? NULL : dbsq_person_changes, c,
			  t);
	return true;
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

	if (pc && !db_in_tx(c) && cache_sync(c, pc, &t)) {
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
	r = store_get_in(c, id, facility, out, stored);
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
 * when the write took the lock (SQLite: after BEGIN IMMEDIATE; nobody
 * else can commit until ours) or began (PostgreSQL: the listener's
 * counter, which our write's own notification does not move). */
struct own_write {
	struct person_cache *pc; /* NULL: no cache, or not known */
	uint64_t before;
	uint32_t change;
};

static void own_begin(struct db_conn *c, struct own_write *w)
{
	w->pc = db_person_cache(c);
	if (w->pc && !db_store_version(c, &w->before, &w->change))
		w->pc = NULL;
	if (w->pc)
		person_cache_write_begin(w->pc);
}

/* After the commit or rollback.  wrote: a row was written and committed,
 * which moves SQLite's commit counter by exactly one (PostgreSQL's
 * counter not at all); else it must not have moved at all.  Anything
 * else is another process's commit too. */
static void own_end(struct db_conn *c, struct own_write *w, const char *id,
		    bool wrote)
{
	uint64_t after = 0;
	uint32_t change = 0;
	bool ours;

	if (!w->pc)
		return;
	ours = db_store_version(c, &after, &change) &&
	       (wrote && !PG(c) ? change == w->change + 1 : after == w->before);
	person_cache_write_end(w->pc, id, w->before, after, ours,
			       wrote && !PG(c) ? c->change_seq : 0);
}

/* SQLite: the transaction framed here, so that own_begin reads the
 * version under the write lock. */
static enum db_result sq_put_if(struct db_conn *c, struct db_person *p,
				const char *if_match, const char *if_none_match,
				double now, enum db_put_outcome *outcome)
{
	struct own_write w = {NULL, 0, 0};
	enum db_result r;
	bool wrote;

	c->change_seq = 0;
	r = db_begin(c);
	if (r != DB_OK)
		return r;
	own_begin(c, &w);
	r = dbsq_person_put_if(c, p, if_match, if_none_match, true, now,
			       outcome);
	wrote = r == DB_OK && *outcome != DB_PUT_UNCHANGED;
	if (r == DB_OK)
		r = db_commit(c);
	if (r != DB_OK)
		db_rollback(c);
	own_end(c, &w, p->person_id, wrote && r == DB_OK);
	return r;
}

enum db_result db_person_put_if(struct db_conn *c, struct db_person *p,
				const char *if_match, const char *if_none_match,
				bool in_tx, double now,
				enum db_put_outcome *outcome)
{
	struct own_write w = {NULL, 0, 0};
	enum db_result r;

	/* In the caller's transaction: an import's connection of its own,
	 * which has no cache (its commit is a foreign one). */
	if (in_tx)
		return PG(c) ? dbpg_person_put_if(c, p, if_match, if_none_match,
						  true, now, outcome)
			     : dbsq_person_put_if(c, p, if_match, if_none_match,
						  true, now, outcome);
	if (!PG(c))
		return sq_put_if(c, p, if_match, if_none_match, now, outcome);
	own_begin(c, &w);
	r = dbpg_person_put_if(c, p, if_match, if_none_match, false, now,
			       outcome);
	own_end(c, &w, p->person_id, r == DB_OK);
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
	enum db_result r;

	if (PG(c)) {
		own_begin(c, &w);
		r = dbpg_person_delete(c, id, if_match);
		own_end(c, &w, id, r == DB_OK);
		return r;
	}
	c->change_seq = 0;
	r = db_begin(c);
	if (r != DB_OK)
		return r;
	own_begin(c, &w);
	r = dbsq_person_delete(c, id, if_match);
	if (r == DB_OK)
		r = db_commit(c);
	if (r != DB_OK)
		db_rollback(c);
	own_end(c, &w, id, r == DB_OK);
	return r;
}

enum db_result db_person_list_peek(struct db_conn *c, const char *facility_id,
				   const char *after, int limit,
				   db_person_peek_fn peek,
				   int (*fn)(const struct db_person *, void *),
				   void *arg, char last[DB_ID_MAX + 1])
{
	return PG(c) ? dbpg_person_list(c, facility_id, after, limit, peek, fn,
					arg, last)
		     : dbsq_person_list(c, facility_id, after, limit, peek, fn,
					arg, last);
}

enum db_result db_person_list(struct db_conn *c, const char *facility_id,
			      const char *after, int limit,
			      int (*fn)(const struct db_person *, void *),
			      void *arg, char last[DB_ID_MAX + 1])
{
	return db_person_list_peek(c, facility_id, after, limit, NULL, fn, arg,
				   last);
}

/* ---- warming the cache ---------------------------------------------------- */

struct warm_fill {
	struct person_cache *pc;
	struct person_cache_ticket t;
	unsigned n;
};

static int warm_put(const struct db_person *p, void *arg)
{
	struct warm_fill *w = arg;

	person_cache_put(w->pc, p, &w->t);
	w->n++;
	return 0;
}

enum db_result db_person_cache_fill(struct db_conn *c,
				    char after[DB_ID_MAX + 1], int limit,
				    unsigned *n)
{
	struct warm_fill w = {db_person_cache(c), {0, 0, false}, 0};
	char last[DB_ID_MAX + 1];
	enum db_result r;

	*n = 0;
	if (!w.pc || db_in_tx(c))
		return DB_ERROR;
	/* A write of this process in flight: nothing may be put now. */
	if (!cache_sync(c, w.pc, &w.t) || !w.t.use)
		return DB_BUSY;
	r = db_person_list(c, NULL, after, limit, warm_put, &w, last);
	if (r != DB_OK)
		return r;
	*n = w.n;
	memcpy(after, last, sizeof last);
	return DB_OK;
}
