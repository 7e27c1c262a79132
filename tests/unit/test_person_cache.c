/* Unit tests of db/person_cache.c: the packed record, and the rules that
 * keep the cache from ever answering a stale record (own writes, another
 * process's writes, racing puts, eviction under the budget). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/person_cache.h"

#define MIB ((size_t)1 << 20)

static void person(struct db_person *p, const char *id, const char *etag)
{
	db_person_init(p);
	snprintf(p->person_id, sizeof p->person_id, "%s", id);
	snprintf(p->facility_id, sizeof p->facility_id, "fac-1");
	snprintf(p->display_name, sizeof p->display_name, "山田 花子");
	p->facts.birth_date = rules_date_from_ymd(1940, 4, 1);
	snprintf(p->facts.insurer_number, sizeof p->facts.insurer_number,
		 "39131015");
	p->facts.scheme = RULES_SCHEME_LATE_ELDERLY;
	p->facts.mynumber_card = RULES_CARD_NONE;
	p->facts.care_needs = 5;
	p->verified_at = rules_date_from_ymd(2025, 5, 1);
	p->source = DB_SOURCE_CARD_READER;
	snprintf(p->etag, sizeof p->etag, "%s", etag);
	snprintf(p->updated_at, sizeof p->updated_at,
		 "2025-06-01T09:00:00+09:00");
}

static void assert_same(const struct db_person *a, const struct db_person *b)
{
	cr_assert_str_eq(a->person_id, b->person_id);
	cr_assert_str_eq(a->facility_id, b->facility_id);
	cr_assert_str_eq(a->display_name, b->display_name);
	cr_assert_str_eq(a->facts.insurer_number, b->facts.insurer_number);
	cr_assert_eq(a->facts.birth_date, b->facts.birth_date);
	cr_assert_eq(a->facts.scheme, b->facts.scheme);
	cr_assert_eq(a->facts.mynumber_card, b->facts.mynumber_card);
	cr_assert_eq(a->facts.care_needs, b->facts.care_needs);
	cr_assert_eq(a->facts.cert_valid_until, b->facts.cert_valid_until);
	cr_assert_eq(a->verified_at, b->verified_at);
	cr_assert_eq(a->source, b->source);
	cr_assert_str_eq(a->etag, b->etag);
	cr_assert_str_eq(a->updated_at, b->updated_at);
}

/* ---- the packed record ---------------------------------------------------- */

Test(person_pack, round_trip_compact_and_raw)
{
	struct db_person p, q;
	uint8_t buf[PERSON_PACK_MAX];
	size_t n;

	person(&p, "p-001", "0123456789abcdef");
	n = person_pack(&p, buf);
	cr_assert_gt(n, 0);
	cr_assert_lt(n, 90, "a typical record packs small: %zu", n);
	cr_assert_eq(person_unpack(buf, n, &q), 0);
	assert_same(&p, &q);
	/* Neither an etag nor a time of the usual shape: kept as given. */
	snprintf(p.etag, sizeof p.etag, "ABC");
	snprintf(p.updated_at, sizeof p.updated_at, "2025-06-01T09:00:00Z");
	n = person_pack(&p, buf);
	cr_assert_eq(person_unpack(buf, n, &q), 0);
	assert_same(&p, &q);
}

Test(person_pack, refuses_what_is_no_record)
{
	struct db_person p, q;
	uint8_t buf[PERSON_PACK_MAX];
	size_t n;

	person(&p, "p-001", "0123456789abcdef");
	p.facts.scheme = RULES_SCHEME_COUNT;
	cr_assert_eq(person_pack(&p, buf), 0);
	person(&p, "p-001", "0123456789abcdef");
	n = person_pack(&p, buf);
	cr_assert_eq(person_unpack(buf, n - 1, &q), -1, "cut short");
	buf[n] = 0;
	cr_assert_eq(person_unpack(buf, n + 1, &q), -1, "a byte too many");
	cr_assert_eq(person_unpack(buf, 0, &q), -1);
}

/* ---- the cache's rules ------------------------------------------------------ */

static struct person_cache *cache;

static void cache_up(void)
{
	cache = person_cache_new(8 * MIB);
	cr_assert_not_null(cache);
}

static void cache_down(void)
{
	person_cache_free(cache);
}

TestSuite(person_cache, .init = cache_up, .fini = cache_down);

static void put_at(uint64_t version, const char *id, const char *etag)
{
	struct person_cache_ticket t;
	struct db_person p;

	person_cache_sync(cache, version, NULL, NULL, &t);
	cr_assert(t.use);
	person(&p, id, etag);
	person_cache_put(cache, &p, &t);
}

static bool hit_at(uint64_t version, const char *id, struct db_person *out)
{
	struct person_cache_ticket t;

	person_cache_sync(cache, version, NULL, NULL, &t);
	return t.use && person_cache_get(cache, id, out);
}

Test(person_cache, hit_after_put)
{
	struct db_person q;

	put_at(7, "a", "0000000000000001");
	cr_assert(hit_at(7, "a", &q));
	cr_assert_str_eq(q.etag, "0000000000000001");
	cr_assert_not(hit_at(7, "b", &q));
}

Test(person_cache, own_write_invalidates_the_id_only)
{
	struct db_person q;

	put_at(7, "a", "0000000000000001");
	put_at(7, "b", "0000000000000002");
	person_cache_write_begin(cache);
	person_cache_write_end(cache, "a", 7, 8, true, 0);
	cr_assert_not(hit_at(8, "a", &q), "the written id is gone at once");
	cr_assert(hit_at(8, "b", &q), "the own write flushed nothing else");
}

Test(person_cache, foreign_version_flushes_everything)
{
	struct person_cache_stats st, st2;
	struct db_person q;

	put_at(7, "a", "0000000000000001");
	put_at(7, "b", "0000000000000002");
	person_cache_stats(cache, &st);
	cr_assert_eq(st.entries, 2);
	cr_assert_not(hit_at(9, "a", &q));
	cr_assert_not(hit_at(9, "b", &q));
	person_cache_stats(cache, &st2);
	cr_assert_eq(st2.flushes, st.flushes + 1);
	cr_assert_eq(st2.entries, 0);
}

/* "b" cached at version 7, then a write of "a" from version FROM to 9
 * (OURS or not): "b" is flushed, no hit at 9. */
static void expect_write_flushes_b(uint64_t from, bool ours)
{
	struct db_person q;

	put_at(7, "b", "0000000000000002");
	person_cache_write_begin(cache);
	person_cache_write_end(cache, "a", from, 9, ours, 0);
	cr_assert_not(hit_at(9, "b", &q));
}

Test(person_cache, own_write_after_a_foreign_one_flushes)
{
	put_at(7, "a", "0000000000000001");
	/* Another process committed (7 -> 8) before this write's 8 -> 9. */
	expect_write_flushes_b(8, true);
}

Test(person_cache, not_ours_flushes)
{
	expect_write_flushes_b(7, false);
}

Test(person_cache, unknown_version_during_own_write_bypasses)
{
	struct person_cache_ticket t;
	struct db_person q;

	put_at(7, "b", "0000000000000002");
	person_cache_write_begin(cache);
	person_cache_sync(cache, 8, NULL, NULL, &t);
	cr_assert_not(t.use, "the version moved while a write of ours is on");
	person_cache_write_end(cache, "a", 7, 8, true, 0);
	cr_assert(hit_at(8, "b", &q), "and it flushed nothing");
}

Test(person_cache, put_racing_an_invalidation_is_dropped)
{
	struct person_cache_ticket t;
	struct db_person p, q;

	person_cache_sync(cache, 7, NULL, NULL, &t);
	person(&p, "a", "0000000000000001"); /* read before the write */
	person_cache_write_begin(cache);
	person_cache_write_end(cache, "a", 7, 8, true, 0);
	person_cache_put(cache, &p, &t);
	cr_assert_not(hit_at(8, "a", &q), "the old record came back");
}

Test(person_cache, put_racing_a_flush_is_dropped)
{
	struct person_cache_ticket t, t2;
	struct db_person p, q;

	person_cache_sync(cache, 7, NULL, NULL, &t);
	person(&p, "a", "0000000000000001");
	person_cache_sync(cache, 9, NULL, NULL,
			  &t2); /* another thread saw a change */
	person_cache_put(cache, &p, &t);
	cr_assert_not(hit_at(9, "a", &q));
}

/* The cache keeps the facility with the record and leaves visibility to
 * its caller: a record read under one facility is the same record. */
Test(person_cache, facility_kept_with_the_record)
{
	struct db_person q;

	put_at(7, "a", "0000000000000001");
	cr_assert(hit_at(7, "a", &q));
	cr_assert_str_eq(q.facility_id, "fac-1");
}

/* A cache of BYTES that was offered N persons with ids PREFIX and I in
 * WIDTH digits (0 to N-1), at version 1; its stats in *ST. */
static struct person_cache *filled(size_t bytes, const char *prefix, int width,
				   int n, struct person_cache_stats *st)
{
	struct person_cache_ticket t;
	struct person_cache *c = person_cache_new(bytes);
	struct db_person p;
	char id[32];
	int i;

	cr_assert_not_null(c);
	person_cache_sync(c, 1, NULL, NULL, &t);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof id, "%s%0*d", prefix, width, i);
		person(&p, id, "0123456789abcdef");
		person_cache_put(c, &p, &t);
	}
	person_cache_stats(c, st);
	return c;
}

Test(person_cache_budget, evicts_within_the_budget)
{
	struct person_cache_stats st;
	struct person_cache *c = filled(2 * MIB, "person-", 6, 100000, &st);
	struct db_person q;
	char id[32];
	int i, hits = 0;

	cr_assert_leq(st.bytes, 2 * MIB, "%llu bytes",
		      (unsigned long long)st.bytes);
	cr_assert_gt(st.entries, 5000);
	cr_assert_lt(st.entries, 100000);
	cr_assert_gt(st.evictions, 0);
	for (i = 0; i < 100000; i++) {
		snprintf(id, sizeof id, "person-%06d", i);
		if (person_cache_get(c, id, &q)) {
			cr_assert_str_eq(q.person_id, id);
			hits++;
		}
	}
	cr_assert_eq((uint64_t)hits, st.entries);
	person_cache_free(c);
}

Test(person_cache_budget, zero_is_no_cache)
{
	cr_assert_null(person_cache_new(0));
}

/* The default holds a million records of the benchmark's shape. */
Test(person_cache_budget, default_holds_a_million)
{
	struct person_cache_stats st;
	struct person_cache *c =
	    filled((size_t)PERSON_CACHE_DEFAULT_MB * MIB, "P", 7, 1000000, &st);

	cr_assert_eq(st.entries, 1000000, "%llu",
		     (unsigned long long)st.entries);
	cr_assert_eq(st.evictions, 0);
	person_cache_free(c);
}

/* ---- wired into the SQLite store (db/person_db.c) ------------------------- */

#include "tempdb.h"

/* 2025-06-01T00:00:00Z */
#define NOW 1748736000.0

TEMPDB_SUITE(person_cache_store);

static void store_put(struct db_conn *c, const char *id, const char *name)
{
	enum db_put_outcome o;
	struct db_person p;

	person(&p, id, "");
	snprintf(p.display_name, sizeof p.display_name, "%s", name);
	cr_assert_eq(db_person_put(c, &p, NULL, false, false, NOW, &o), DB_OK);
}

static struct person_cache_stats store_stats(void)
{
	struct person_cache_stats st;

	cr_assert(db_person_cache_stats(db, &st));
	return st;
}

Test(person_cache_store, facility_visibility_unaffected)
{
	struct db_person q;
	bool stored = false;

	cr_assert_eq(db_person_cache_configure(db, 8 * MIB), 0);
	store_put(conn, "v1", "one"); /* facility fac-1 */
	cr_assert_eq(db_person_get_in(conn, "v1", "fac-1", &q, &stored), DB_OK);
	cr_assert_eq(db_person_get_in(conn, "v1", "fac-1", &q, &stored), DB_OK);
	cr_assert(stored);
	cr_assert_eq(store_stats().hits, 1);
	/* Cached, but another facility's: as absent as from the store. */
	cr_assert_eq(db_person_get_in(conn, "v1", "fac-2", &q, &stored),
		     DB_NOT_FOUND);
	cr_assert(stored, "stored elsewhere (for the audit log)");
	cr_assert_str_eq(q.person_id, "", "the hidden record leaked");
	cr_assert_eq(db_person_get_in(conn, "nobody", "fac-2", &q, &stored),
		     DB_NOT_FOUND);
	cr_assert_not(stored);
	/* Without a facility (an unbound key) it is found. */
	cr_assert_eq(db_person_get_in(conn, "v1", NULL, &q, &stored), DB_OK);
	cr_assert_str_eq(q.display_name, "one");
}

/* A connection of its own writes like another process: the cache does
 * not hear of it but must see it at the next read. */
Test(person_cache_store, another_connections_write_is_seen)
{
	struct db_conn *other = NULL;
	struct person_cache_stats st;
	struct db_person q;
	char err[200];

	cr_assert_eq(db_person_cache_configure(db, 8 * MIB), 0);
	store_put(conn, "w1", "before");
	cr_assert_eq(db_person_get(conn, "w1", &q), DB_OK);
	cr_assert_eq(db_person_get(conn, "w1", &q), DB_OK);
	st = store_stats();
	cr_assert_eq(st.hits, 1);
	cr_assert_eq(db_conn_open(path, &other, err, sizeof err), 0, "%s", err);
	store_put(other, "w1", "after");
	cr_assert_eq(db_person_get(conn, "w1", &q), DB_OK);
	cr_assert_str_eq(q.display_name, "after");
	cr_assert_eq(store_stats().flushes, st.flushes + 1);
	db_conn_close(other);
}

Test(person_cache_store, own_write_flushes_nothing)
{
	struct person_cache_stats st;
	struct db_person q;

	cr_assert_eq(db_person_cache_configure(db, 8 * MIB), 0);
	store_put(conn, "a", "a0");
	store_put(conn, "b", "b0");
	cr_assert_eq(db_person_get(conn, "a", &q), DB_OK);
	cr_assert_eq(db_person_get(conn, "b", &q), DB_OK);
	st = store_stats();
	store_put(conn, "a", "a1");
	cr_assert_eq(db_person_get(conn, "a", &q), DB_OK);
	cr_assert_str_eq(q.display_name, "a1");
	cr_assert_eq(db_person_get(conn, "b", &q), DB_OK);
	cr_assert_eq(store_stats().flushes, st.flushes);
	cr_assert_eq(store_stats().hits, st.hits + 1, "b was still cached");
	cr_assert_eq(db_person_delete(conn, "b", NULL), DB_OK);
	cr_assert_eq(db_person_get(conn, "b", &q), DB_NOT_FOUND);
	cr_assert_eq(store_stats().flushes, st.flushes);
}

/* ---- warming at start (db/person_warm.c) ------------------------------- */

/* n persons w-00000.. in one transaction, named after their number. */
static void store_many(int n)
{
	enum db_put_outcome o;
	struct db_person p;
	char id[16];
	int i;

	cr_assert_eq(db_begin(conn), DB_OK);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof id, "w-%05d", i);
		person(&p, id, "");
		snprintf(p.display_name, sizeof p.display_name, "name %d", i);
		cr_assert_eq(
		    db_person_put(conn, &p, NULL, false, true, NOW, &o), DB_OK);
	}
	cr_assert_eq(db_commit(conn), DB_OK);
}

/* Waits (10 s at most) for the warming to end; the persons it read. */
static uint64_t warmed(void)
{
	struct timespec nap = {0, 5 * 1000 * 1000};
	uint64_t n = 0;
	int i;

	for (i = 0; i < 2000 && db_person_cache_warming(db, &n); i++)
		nanosleep(&nap, NULL);
	cr_assert_not(db_person_cache_warming(db, &n), "still warming");
	return n;
}

Test(person_cache_store, warm_reads_every_person_and_lookups_hit)
{
	struct db_person q;
	char id[16];
	int i;

	store_many(1000);
	cr_assert_eq(db_person_cache_configure(db, 8 * MIB), 0);
	cr_assert_eq(db_person_cache_warm(db), 0);
	cr_assert_eq(warmed(), 1000);
	cr_assert_eq(store_stats().entries, 1000);
	for (i = 0; i < 1000; i++) {
		snprintf(id, sizeof id, "w-%05d", i);
		cr_assert_eq(db_person_get(conn, id, &q), DB_OK);
		cr_assert_eq(strncmp(q.display_name, "name ", 5), 0);
		cr_assert_eq(atoi(q.display_name + 5), i, "%s: %s", id,
			     q.display_name);
	}
	cr_assert_eq(store_stats().misses, 0, "a warmed person was read again");
	cr_assert_eq(store_stats().hits, 1000);
}

/* Warming stops at 15/16 of the budget or at the first chunk (256 persons)
 * that made a shard evict. */
Test(person_cache_store, warm_stops_short_of_the_budget)
{
	struct person_cache_stats st;
	uint64_t n;

	store_many(30000);
	cr_assert_eq(db_person_cache_configure(db, 1 * MIB), 0);
	cr_assert_eq(db_person_cache_warm(db), 0);
	n = warmed();
	st = store_stats();
	cr_assert_lt(n, 30000, "read %llu", (unsigned long long)n);
	cr_assert_gt(n, 1000, "read %llu", (unsigned long long)n);
	cr_assert_lt(st.evictions, 256, "%llu evicted",
		     (unsigned long long)st.evictions);
	cr_assert_leq(st.bytes, 1 * MIB);
}

/* What warming put is dropped by a write of another connection (one of
 * its own: like another process) before the next read. */
Test(person_cache_store, warm_a_later_foreign_write_is_seen)
{
	struct db_conn *other = NULL;
	enum db_put_outcome o;
	struct db_person p, q;
	char err[200];

	store_many(300);
	cr_assert_eq(db_person_cache_configure(db, 8 * MIB), 0);
	cr_assert_eq(db_person_cache_warm(db), 0);
	cr_assert_eq(warmed(), 300);
	cr_assert_eq(db_conn_open(path, &other, err, sizeof err), 0, "%s", err);
	cr_assert_eq(db_person_get(conn, "w-00042", &p), DB_OK);
	snprintf(p.display_name, sizeof p.display_name, "renamed");
	cr_assert_eq(db_person_put(other, &p, NULL, false, false, NOW, &o),
		     DB_OK);
	cr_assert_eq(db_person_get(conn, "w-00042", &q), DB_OK);
	cr_assert_str_eq(q.display_name, "renamed");
	db_conn_close(other);
}

/* No cache: nothing to warm, and no thread. */
Test(person_cache_store, warm_none_without_a_cache)
{
	uint64_t n;

	cr_assert_eq(db_person_cache_warm(db), 0);
	cr_assert_not(db_person_cache_warming(db, &n));
	cr_assert_eq(n, 0);
}
