/* test_person_warm.c - the warming of the person cache at start
 * (db/person_warm.c, db_person_cache_fill in db/person_db.c), on a real
 * SQLite store. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/person_cache.h"
#include "db/person_db.h"
#include "tempdb.h"

#define MIB ((size_t)1 << 20)
/* 2025-06-01T00:00:00Z */
#define NOW 1748736000.0

TEMPDB_SUITE(person_warm);

/* n persons w-00000.. in one transaction, named after their number. */
static void store_many(int n)
{
	enum db_put_outcome o;
	struct db_person p;
	int i;

	cr_assert_eq(db_begin(conn), DB_OK);
	for (i = 0; i < n; i++) {
		db_person_init(&p);
		snprintf(p.person_id, sizeof p.person_id, "w-%05d", i);
		snprintf(p.facility_id, sizeof p.facility_id, "fac-1");
		snprintf(p.display_name, sizeof p.display_name, "name %d", i);
		p.facts.birth_date = rules_date_from_ymd(1940, 4, 1);
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

static struct person_cache_stats stats(void)
{
	struct person_cache_stats st;

	cr_assert(db_person_cache_stats(db, &st));
	return st;
}

Test(person_warm, reads_every_person_and_lookups_hit)
{
	struct db_person q;
	char id[16];
	int i;

	store_many(1000);
	cr_assert_eq(db_person_cache_configure(db, 8 * MIB), 0);
	cr_assert_eq(db_person_cache_warm(db), 0);
	cr_assert_eq(warmed(), 1000);
	cr_assert_eq(stats().entries, 1000);
	for (i = 0; i < 1000; i++) {
		snprintf(id, sizeof id, "w-%05d", i);
		cr_assert_eq(db_person_get(conn, id, &q), DB_OK);
		cr_assert_eq(strncmp(q.display_name, "name ", 5), 0);
		cr_assert_eq(atoi(q.display_name + 5), i, "%s: %s", id,
			     q.display_name);
	}
	cr_assert_eq(stats().misses, 0, "a warmed person was read again");
	cr_assert_eq(stats().hits, 1000);
}

/* Warming stops at 15/16 of the budget or at the first chunk (256 persons)
 * that made a shard evict. */
Test(person_warm, stops_short_of_the_budget)
{
	struct person_cache_stats st;
	uint64_t n;

	store_many(30000);
	cr_assert_eq(db_person_cache_configure(db, 1 * MIB), 0);
	cr_assert_eq(db_person_cache_warm(db), 0);
	n = warmed();
	st = stats();
	cr_assert_lt(n, 30000, "read %llu", (unsigned long long)n);
	cr_assert_gt(n, 1000, "read %llu", (unsigned long long)n);
	cr_assert_lt(st.evictions, 256, "%llu evicted",
		     (unsigned long long)st.evictions);
	cr_assert_leq(st.bytes, 1 * MIB);
}

/* What warming put is dropped by a write of another connection (one of
 * its own: like another process) before the next read. */
Test(person_warm, a_later_foreign_write_is_seen)
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
Test(person_warm, none_without_a_cache)
{
	uint64_t n;

	cr_assert_eq(db_person_cache_warm(db), 0);
	cr_assert_not(db_person_cache_warming(db, &n));
	cr_assert_eq(n, 0);
}
