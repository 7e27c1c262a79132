/* Unit tests of db/: the schema and its seed, persons, the insurer
 * registry; each test on a database file of its own in a temporary
 * directory. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/db.h"
#include "db/insurer_db.h"
#include "db/internal.h"
#include "db/person_db.h"
#include "tempdb.h"

/* 2025-06-01T00:00:00Z: 09:00 in Tokyo. */
#define NOW 1748736000.0

TEMPDB_SUITE(db);

/* One integer from a query on a connection of the test's own. */
static long long query_int(const char *sql)
{
	return tempdb_int_on(path, SQLITE_OPEN_READONLY, sql);
}

static int32_t day(const char *iso)
{
	int32_t d;

	cr_assert_eq(rules_date_parse(iso, strlen(iso), &d), 0, "%s", iso);
	return d;
}

/* ---- schema and seed ------------------------------------------------- */

Test(db, migrate_creates_schema_at_latest_version)
{
	struct stat st;

	cr_assert_eq(query_int("PRAGMA user_version"), db_schema_version());
	cr_assert_geq(db_schema_version(), 1);
	cr_assert_eq(query_int("SELECT count(*) FROM sqlite_schema WHERE "
			       "type = 'table' AND name IN ('persons', "
			       "'insurers', 'prefectures')"),
		     3);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
}

Test(db, seed_has_prefectures_and_kyokai_branches)
{
	struct db_insurer ins;

	cr_assert_eq(query_int("SELECT count(*) FROM prefectures"), 47);
	cr_assert_eq(query_int("SELECT count(DISTINCT code) FROM prefectures "
			       "WHERE code BETWEEN 1 AND 47"),
		     47);
	cr_assert_eq(query_int("SELECT count(*) FROM insurers WHERE scheme = "
			       "'kyokai' AND insurer_number LIKE '01__001_'"),
		     47);
	cr_assert_eq(db_insurer_get(conn, "01130012", &ins), DB_OK);
	cr_assert_str_eq(ins.name_ja, "全国健康保険協会 東京支部");
	cr_assert_eq(ins.scheme, RULES_SCHEME_KYOKAI);
	cr_assert_eq(ins.prefecture, 13);
	cr_assert_eq(db_insurer_get(conn, "01040013", &ins), DB_OK);
	cr_assert(strstr(ins.name_ja, "宮城支部") != NULL);
}

Test(db, reopen_and_migrate_are_idempotent)
{
	char err[256];
	int from = -1, to = -1;
	struct db *again;

	db_close(db);
	db = NULL;
	cr_assert_eq(db_migrate(path, &from, &to, err, sizeof err), 0, "%s",
		     err);
	cr_assert_eq(from, db_schema_version());
	cr_assert_eq(to, db_schema_version());
	again = db_open(path, err, sizeof err);
	cr_assert_not_null(again, "%s", err);
	db = again;
	conn = db_conn_get(db);
	cr_assert_eq(query_int("SELECT count(*) FROM prefectures"), 47);
	cr_assert_eq(query_int("SELECT count(*) FROM insurers"), 47);
}

Test(db, newer_schema_is_refused)
{
	char err[256] = "", sql[64];
	int from, to;
	sqlite3 *h = NULL;

	db_close(db);
	db = NULL;
	cr_assert_eq(sqlite3_open(path, &h), SQLITE_OK);
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d",
		 db_schema_version() + 1);
	cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	cr_assert_eq(db_migrate(path, &from, &to, err, sizeof err), -1);
	cr_assert(strstr(err, "newer") != NULL, "%s", err);
	db = db_open(path, err, sizeof err);
	cr_assert_null(db);
}

/* ---- persons ----------------------------------------------------------- */

static void full_person(struct db_person *p, const char *id)
{
	struct rules_facts *f = &p->facts;

	db_person_init(p);
	snprintf(p->person_id, sizeof p->person_id, "%s", id);
	snprintf(p->facility_id, sizeof p->facility_id, "home-1");
	snprintf(p->display_name, sizeof p->display_name, "山田 花子");
	f->birth_date = day("1940-02-29");
	snprintf(f->insurer_number, sizeof f->insurer_number, "138057");
	f->scheme = RULES_SCHEME_NHI;
	f->mynumber_card = RULES_CARD_HELD;
	f->insurance_registration = RULES_REG_REGISTERED;
	f->ecert_expiry = day("2026-03-31");
	f->card_expiry = day("2030-12-31");
	f->care_needs = 1u << RULES_NEED_DEMENTIA | 1u << RULES_NEED_OTHER;
	f->setting = RULES_SETTING_CARE_FACILITY;
	f->legacy_card_expiry = day("2025-07-31");
	f->cert_status = RULES_CERT_ISSUED;
	f->cert_basis = RULES_BASIS_APPLICATION;
	f->cert_applied_on = day("2025-01-10");
	f->cert_valid_until = day("2026-07-31");
	p->verified_at = day("2025-05-20");
	p->source = DB_SOURCE_CARD_READER;
}

static enum db_put_outcome put(struct db_person *p, double now)
{
	enum db_put_outcome o = (enum db_put_outcome) - 1;

	cr_assert_eq(db_person_put(conn, p, NULL, false, false, now, &o),
		     DB_OK);
	return o;
}

Test(db, person_round_trip_of_every_field)
{
	struct db_person p, got;

	full_person(&p, "rt-1");
	cr_assert_eq(put(&p, NOW), DB_PUT_CREATED);
	cr_assert_eq(strlen(p.etag), 16);
	cr_assert_eq(strspn(p.etag, "0123456789abcdef"), 16, "%s", p.etag);
	cr_assert_str_eq(p.updated_at, "2025-06-01T09:00:00+09:00");
	cr_assert_eq(db_person_get(conn, "rt-1", &got), DB_OK);
	cr_assert_str_eq(got.person_id, "rt-1");
	cr_assert_str_eq(got.facility_id, "home-1");
	cr_assert_str_eq(got.display_name, "山田 花子");
	cr_assert_eq(got.facts.birth_date, day("1940-02-29"));
	cr_assert_str_eq(got.facts.insurer_number, "138057");
	cr_assert_eq(got.facts.scheme, RULES_SCHEME_NHI);
	cr_assert_eq(got.facts.mynumber_card, RULES_CARD_HELD);
	cr_assert_eq(got.facts.insurance_registration, RULES_REG_REGISTERED);
	cr_assert_eq(got.facts.ecert_expiry, day("2026-03-31"));
	cr_assert_eq(got.facts.card_expiry, day("2030-12-31"));
	cr_assert_eq(got.facts.care_needs,
		     1u << RULES_NEED_DEMENTIA | 1u << RULES_NEED_OTHER);
	cr_assert_eq(got.facts.setting, RULES_SETTING_CARE_FACILITY);
	cr_assert_eq(got.facts.legacy_card_expiry, day("2025-07-31"));
	cr_assert_eq(got.facts.cert_status, RULES_CERT_ISSUED);
	cr_assert_eq(got.facts.cert_basis, RULES_BASIS_APPLICATION);
	cr_assert_eq(got.facts.cert_applied_on, day("2025-01-10"));
	cr_assert_eq(got.facts.cert_valid_until, day("2026-07-31"));
	cr_assert_eq(got.verified_at, day("2025-05-20"));
	cr_assert_eq(got.source, DB_SOURCE_CARD_READER);
	cr_assert_str_eq(got.etag, p.etag);
	cr_assert_str_eq(got.updated_at, p.updated_at);
}

Test(db, person_with_nothing_known_round_trips)
{
	struct db_person p, got;

	db_person_init(&p);
	snprintf(p.person_id, sizeof p.person_id, "empty");
	put(&p, NOW);
	cr_assert_eq(db_person_get(conn, "empty", &got), DB_OK);
	cr_assert_str_eq(got.facility_id, "");
	cr_assert_str_eq(got.display_name, "");
	cr_assert_eq(got.facts.birth_date, RULES_NO_DATE);
	cr_assert_str_eq(got.facts.insurer_number, "");
	cr_assert_eq(got.facts.scheme, RULES_SCHEME_UNKNOWN);
	cr_assert_eq(got.facts.mynumber_card, RULES_CARD_UNKNOWN);
	cr_assert_eq(got.facts.care_needs, 0u);
	cr_assert_eq(got.facts.cert_status, RULES_CERT_ABSENT);
	cr_assert_eq(got.facts.cert_valid_until, RULES_NO_DATE);
	cr_assert_eq(got.verified_at, RULES_NO_DATE);
	cr_assert_eq(got.source, DB_SOURCE_NONE);
}

/* Every single care need and a few sets, the empty one included. */
Test(db, care_needs_sets_round_trip)
{
	unsigned sets[RULES_NEED_COUNT + 3];
	struct db_person p, got;
	size_t i, n = 0;

	for (i = 0; i < RULES_NEED_COUNT; i++)
		sets[n++] = 1u << i;
	sets[n++] = 0;
	sets[n++] = (1u << RULES_NEED_COUNT) - 1;
	sets[n++] = 1u << RULES_NEED_CHILD | 1u << RULES_NEED_ILLNESS;
	for (i = 0; i < n; i++) {
		db_person_init(&p);
		snprintf(p.person_id, sizeof p.person_id, "needs-%zu", i);
		p.facts.care_needs = sets[i];
		put(&p, NOW);
		cr_assert_eq(db_person_get(conn, p.person_id, &got), DB_OK);
		cr_assert_eq(got.facts.care_needs, sets[i], "set %zu: %x", i,
			     sets[i]);
	}
}

/* Each certificate status and basis. */
Test(db, certificate_round_trips)
{
	static const struct {
		enum rules_cert_status status;
		enum rules_cert_basis basis;
	} cases[] = {
	    {RULES_CERT_NONE, RULES_BASIS_UNKNOWN},
	    {RULES_CERT_APPLIED, RULES_BASIS_UNKNOWN},
	    {RULES_CERT_ISSUED, RULES_BASIS_APPLICATION},
	    {RULES_CERT_ISSUED, RULES_BASIS_EX_OFFICIO},
	    {RULES_CERT_ISSUED, RULES_BASIS_PROVISIONAL},
	};
	struct db_person p, got;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		db_person_init(&p);
		snprintf(p.person_id, sizeof p.person_id, "cert-%zu", i);
		p.facts.cert_status = cases[i].status;
		p.facts.cert_basis = cases[i].basis;
		put(&p, NOW);
		cr_assert_eq(db_person_get(conn, p.person_id, &got), DB_OK);
		cr_assert_eq(got.facts.cert_status, cases[i].status);
		cr_assert_eq(got.facts.cert_basis, cases[i].basis);
	}
}

Test(db, put_outcomes_and_etag_stability)
{
	struct db_person p, q, got;
	char tag1[17], tag2[17];

	full_person(&p, "o-1");
	cr_assert_eq(put(&p, NOW), DB_PUT_CREATED);
	memcpy(tag1, p.etag, sizeof tag1);

	/* The same record, later: nothing written, tag and time kept. */
	full_person(&q, "o-1");
	cr_assert_eq(put(&q, NOW + 3600), DB_PUT_UNCHANGED);
	cr_assert_str_eq(q.etag, tag1);
	cr_assert_str_eq(q.updated_at, "2025-06-01T09:00:00+09:00");

	/* A change: a new tag and time. */
	full_person(&q, "o-1");
	q.facts.mynumber_card = RULES_CARD_LOST;
	cr_assert_eq(put(&q, NOW + 7200), DB_PUT_REPLACED);
	memcpy(tag2, q.etag, sizeof tag2);
	cr_assert_str_neq(tag2, tag1);
	cr_assert_str_eq(q.updated_at, "2025-06-01T11:00:00+09:00");
	cr_assert_eq(db_person_get(conn, "o-1", &got), DB_OK);
	cr_assert_str_eq(got.etag, tag2);
	cr_assert_eq(got.facts.mynumber_card, RULES_CARD_LOST);

	/* The tag depends on the content, not on the id alone. */
	full_person(&q, "o-2");
	put(&q, NOW);
	cr_assert_str_neq(q.etag, tag1);
}

Test(db, if_match_and_create_only)
{
	static const struct {
		const char *if_match;
		bool create_only;
		enum db_result want;
	} cases[] = {
	    {"0000000000000000", false, DB_PRECONDITION},
	    {"", false, DB_PRECONDITION}, /* empty list: nothing matches */
	    {NULL, true, DB_PRECONDITION},
	    {"*", true, DB_PRECONDITION},
	    {"*", false, DB_OK},
	    {NULL, false, DB_OK},
	};
	struct db_person p, q, got;
	enum db_put_outcome o;
	char list[64];
	size_t i;

	full_person(&p, "pre-1");
	/* If-Match on a person that does not exist fails, "*" included. */
	cr_assert_eq(db_person_put(conn, &p, "*", false, false, NOW, &o),
		     DB_PRECONDITION);
	cr_assert_str_eq(p.etag, "");
	cr_assert_eq(db_person_get(conn, "pre-1", &got), DB_NOT_FOUND);
	/* Create-only creates. */
	cr_assert_eq(db_person_put(conn, &p, NULL, true, false, NOW, &o),
		     DB_OK);
	cr_assert_eq(o, DB_PUT_CREATED);

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		full_person(&q, "pre-1");
		q.facts.setting = RULES_SETTING_HOME; /* a change */
		q.verified_at = day("2025-05-21") + (int32_t)i;
		cr_assert_eq(db_person_put(conn, &q, cases[i].if_match,
					   cases[i].create_only, false, NOW,
					   &o),
			     cases[i].want, "case %zu", i);
		if (cases[i].want == DB_PRECONDITION) {
			/* Told the stored tag; nothing changed. */
			cr_assert_eq(db_person_get(conn, "pre-1", &got), DB_OK);
			cr_assert_str_eq(q.etag, got.etag);
			cr_assert_neq(got.verified_at, q.verified_at);
		}
	}

	/* The current tag, alone or in a list. */
	cr_assert_eq(db_person_get(conn, "pre-1", &got), DB_OK);
	full_person(&q, "pre-1");
	cr_assert_eq(db_person_put(conn, &q, got.etag, false, false, NOW, &o),
		     DB_OK);
	cr_assert_eq(o, DB_PUT_REPLACED);
	snprintf(list, sizeof list, "aaaaaaaaaaaaaaaa,%s", q.etag);
	full_person(&p, "pre-1");
	p.source = DB_SOURCE_OTHER;
	cr_assert_eq(db_person_put(conn, &p, list, false, false, NOW, &o),
		     DB_OK);
	/* The tag it replaced no longer matches. */
	full_person(&p, "pre-1");
	cr_assert_eq(db_person_put(conn, &p, q.etag, false, false, NOW, &o),
		     DB_PRECONDITION);
	/* If-None-Match with tags: fails only on the stored one. */
	cr_assert_eq(db_person_get(conn, "pre-1", &got), DB_OK);
	full_person(&p, "pre-1");
	cr_assert_eq(db_person_put_if(conn, &p, NULL, got.etag, false, NOW, &o),
		     DB_PRECONDITION);
	full_person(&p, "pre-1");
	cr_assert_eq(db_person_put_if(conn, &p, NULL, "bbbbbbbbbbbbbbbb", false,
				      NOW, &o),
		     DB_OK);
}

Test(db, etag_lists)
{
	cr_assert(db_etag_in_list("*", "abc"));
	cr_assert(db_etag_in_list("abc", "abc"));
	cr_assert(db_etag_in_list("x,abc", "abc"));
	cr_assert(db_etag_in_list("abc,x", "abc"));
	cr_assert_not(db_etag_in_list("", "abc"));
	cr_assert_not(db_etag_in_list("ab", "abc"));
	cr_assert_not(db_etag_in_list("abcd", "abc"));
	cr_assert_not(db_etag_in_list("x,,y", ""));
}

Test(db, delete_erases_the_row)
{
	struct db_person p, got;
	char tag[17];

	full_person(&p, "del-1");
	put(&p, NOW);
	memcpy(tag, p.etag, sizeof tag);
	full_person(&p, "del-2");
	put(&p, NOW);
	cr_assert_eq(query_int("SELECT count(*) FROM persons"), 2);
	cr_assert_eq(db_person_delete(conn, "del-1", "0000000000000000"),
		     DB_PRECONDITION);
	cr_assert_eq(query_int("SELECT count(*) FROM persons"), 2);
	cr_assert_eq(db_person_delete(conn, "del-1", tag), DB_OK);
	cr_assert_eq(query_int("SELECT count(*) FROM persons WHERE person_id "
			       "= 'del-1'"),
		     0);
	cr_assert_eq(query_int("SELECT count(*) FROM persons"), 1);
	cr_assert_eq(db_person_get(conn, "del-1", &got), DB_NOT_FOUND);
	cr_assert_eq(db_person_delete(conn, "del-1", NULL), DB_NOT_FOUND);
	cr_assert_eq(db_person_delete(conn, "del-2", "*"), DB_OK);
	cr_assert_eq(query_int("SELECT count(*) FROM persons"), 0);
}

struct collect {
	char ids[64][DB_ID_MAX + 1];
	int n;
	int stop_at; /* 0 = never */
};

static int collect_row(const struct db_person *p, void *arg)
{
	struct collect *c = arg;

	snprintf(c->ids[c->n++], DB_ID_MAX + 1, "%s", p->person_id);
	return c->stop_at && c->n >= c->stop_at ? 1 : 0;
}

Test(db, list_order_facility_and_cursor)
{
	static const struct {
		const char *id, *facility;
	} rows[] = {
	    {"c", "f1"}, {"a", "f2"}, {"e", "f1"},   {"b", ""},
	    {"d", "f1"}, {"A", "f2"}, {"a.1", "f1"},
	};
	struct collect c;
	struct db_person p;
	char last[DB_ID_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		db_person_init(&p);
		snprintf(p.person_id, sizeof p.person_id, "%s", rows[i].id);
		snprintf(p.facility_id, sizeof p.facility_id, "%s",
			 rows[i].facility);
		put(&p, NOW);
	}
	/* All, in person_id (byte) order. */
	memset(&c, 0, sizeof c);
	cr_assert_eq(db_person_list(conn, NULL, "", 100, collect_row, &c, last),
		     DB_OK);
	cr_assert_eq(c.n, 7);
	cr_assert_str_eq(c.ids[0], "A");
	cr_assert_str_eq(c.ids[1], "a");
	cr_assert_str_eq(c.ids[2], "a.1");
	cr_assert_str_eq(c.ids[3], "b");
	cr_assert_str_eq(c.ids[6], "e");
	cr_assert_str_eq(last, "e");
	/* After a cursor, with a limit. */
	memset(&c, 0, sizeof c);
	db_person_list(conn, NULL, "a.1", 2, collect_row, &c, last);
	cr_assert_eq(c.n, 2);
	cr_assert_str_eq(c.ids[0], "b");
	cr_assert_str_eq(c.ids[1], "c");
	cr_assert_str_eq(last, "c");
	/* One facility. */
	memset(&c, 0, sizeof c);
	db_person_list(conn, "f1", "", 100, collect_row, &c, last);
	cr_assert_eq(c.n, 4);
	cr_assert_str_eq(c.ids[0], "a.1");
	cr_assert_str_eq(c.ids[1], "c");
	cr_assert_str_eq(c.ids[3], "e");
	memset(&c, 0, sizeof c);
	db_person_list(conn, "f1", "c", 100, collect_row, &c, last);
	cr_assert_eq(c.n, 2);
	cr_assert_str_eq(c.ids[0], "d");
	/* The callback stops early; last is the last row read. */
	memset(&c, 0, sizeof c);
	c.stop_at = 3;
	db_person_list(conn, NULL, "", 100, collect_row, &c, last);
	cr_assert_eq(c.n, 3);
	cr_assert_str_eq(last, "a.1");
	/* Past the end, and an unknown facility: nothing. */
	memset(&c, 0, sizeof c);
	db_person_list(conn, NULL, "e", 100, collect_row, &c, last);
	cr_assert_eq(c.n, 0);
	cr_assert_str_eq(last, "");
	db_person_list(conn, "nope", "", 100, collect_row, &c, last);
	cr_assert_eq(c.n, 0);
}

/* ---- insurers ------------------------------------------------------ */

struct numbers {
	char n[128][9];
	int count;
};

static int collect_insurer(const struct db_insurer *ins, void *arg)
{
	struct numbers *s = arg;

	if (s->count < 128)
		snprintf(s->n[s->count], 9, "%s", ins->number);
	s->count++;
	return 0;
}

static int search(int prefecture, enum rules_scheme scheme, const char *q,
		  struct numbers *s)
{
	memset(s, 0, sizeof *s);
	cr_assert_eq(db_insurer_search(conn, "", 1000, prefecture, scheme, q,
				       collect_insurer, s),
		     DB_OK);
	return s->count;
}

Test(db, insurer_put_get)
{
	struct db_insurer ins, got;
	bool created = false;

	db_insurer_init(&ins);
	snprintf(ins.number, sizeof ins.number, "06132013");
	snprintf(ins.name_ja, sizeof ins.name_ja, "テスト健康保険組合");
	snprintf(ins.name_en, sizeof ins.name_en,
		 "Test Health Insurance Society");
	ins.scheme = RULES_SCHEME_SOCIETY;
	ins.prefecture = 13;
	snprintf(ins.phone, sizeof ins.phone, "03-0000-0000");
	snprintf(ins.url, sizeof ins.url, "https://example.org/");
	snprintf(ins.address, sizeof ins.address, "東京都千代田区");
	cr_assert_eq(db_insurer_put(conn, &ins, false, NOW, &created), DB_OK);
	cr_assert(created);
	cr_assert_eq(db_insurer_get(conn, "06132013", &got), DB_OK);
	cr_assert_str_eq(got.name_ja, "テスト健康保険組合");
	cr_assert_str_eq(got.name_en, "Test Health Insurance Society");
	cr_assert_eq(got.scheme, RULES_SCHEME_SOCIETY);
	cr_assert_eq(got.prefecture, 13);
	cr_assert_str_eq(got.phone, "03-0000-0000");
	cr_assert_str_eq(got.url, "https://example.org/");
	cr_assert_str_eq(got.address, "東京都千代田区");
	cr_assert_str_eq(got.updated_at, "2025-06-01T09:00:00+09:00");

	/* A replace is whole: the phone goes. */
	ins.phone[0] = '\0';
	cr_assert_eq(db_insurer_put(conn, &ins, false, NOW, &created), DB_OK);
	cr_assert_not(created);
	cr_assert_eq(db_insurer_get(conn, "06132013", &got), DB_OK);
	cr_assert_str_eq(got.phone, "");

	cr_assert_eq(db_insurer_get(conn, "06132021", &got), DB_NOT_FOUND);

	/* 00-padded and 6-digit spellings are one row. */
	db_insurer_init(&ins);
	snprintf(ins.number, sizeof ins.number, "00138057");
	snprintf(ins.name_ja, sizeof ins.name_ja, "八王子市");
	ins.scheme = RULES_SCHEME_NHI;
	cr_assert_eq(db_insurer_put(conn, &ins, false, NOW, &created), DB_OK);
	cr_assert_str_eq(ins.number, "138057");
	cr_assert_eq(db_insurer_get(conn, "138057", &got), DB_OK);
	cr_assert_str_eq(got.name_ja, "八王子市");
	cr_assert_eq(db_insurer_get(conn, "00138057", &got), DB_OK);
	cr_assert_str_eq(got.number, "138057");
}

Test(db, insurer_search)
{
	struct numbers s;
	struct db_insurer ins;
	bool created;

	db_insurer_init(&ins);
	snprintf(ins.number, sizeof ins.number, "06132013");
	snprintf(ins.name_ja, sizeof ins.name_ja, "東京テスト健康保険組合");
	ins.scheme = RULES_SCHEME_SOCIETY;
	ins.prefecture = 13;
	cr_assert_eq(db_insurer_put(conn, &ins, false, NOW, &created), DB_OK);

	cr_assert_eq(search(0, RULES_SCHEME_UNKNOWN, NULL, &s), 48);
	/* Number order. */
	cr_assert_str_eq(s.n[0], "01010016");
	cr_assert_eq(search(13, RULES_SCHEME_UNKNOWN, NULL, &s), 2);
	cr_assert_str_eq(s.n[0], "01130012");
	cr_assert_str_eq(s.n[1], "06132013");
	cr_assert_eq(search(13, RULES_SCHEME_KYOKAI, NULL, &s), 1);
	cr_assert_eq(search(0, RULES_SCHEME_KYOKAI, NULL, &s), 47);
	cr_assert_eq(search(0, RULES_SCHEME_SOCIETY, NULL, &s), 1);
	cr_assert_eq(search(0, RULES_SCHEME_NHI, NULL, &s), 0);
	/* Names: Japanese, part of a name; English, any case. */
	cr_assert_eq(search(0, RULES_SCHEME_UNKNOWN, "東京", &s), 2);
	cr_assert_eq(search(0, RULES_SCHEME_UNKNOWN, "宮城支部", &s), 1);
	cr_assert_str_eq(s.n[0], "01040013");
	cr_assert_eq(search(0, RULES_SCHEME_UNKNOWN, "osaka", &s), 1);
	cr_assert_str_eq(s.n[0], "01270016");
	cr_assert_eq(search(0, RULES_SCHEME_UNKNOWN, "HOKKAIDO", &s), 1);
	cr_assert_eq(search(0, RULES_SCHEME_UNKNOWN, "Japan Health", &s), 47);
	/* A number. */
	cr_assert_eq(search(0, RULES_SCHEME_UNKNOWN, "01130012", &s), 1);
	cr_assert_eq(search(0, RULES_SCHEME_UNKNOWN, "存在しない", &s), 0);
	/* Filters combine. */
	cr_assert_eq(search(4, RULES_SCHEME_UNKNOWN, "東京", &s), 0);
	/* After a cursor, with a limit. */
	memset(&s, 0, sizeof s);
	cr_assert_eq(db_insurer_search(conn, "01130012", 2, 0,
				       RULES_SCHEME_UNKNOWN, NULL,
				       collect_insurer, &s),
		     DB_OK);
	cr_assert_eq(s.count, 2);
	cr_assert_str_eq(s.n[0], "01140011");
}

/* ---- recovery: what start-up writes, damage, the check ------------------ */

static long long data_version(void)
{
	sqlite3_stmt *s = NULL;
	long long v = -1;

	cr_assert_eq(
	    sqlite3_prepare_v2(conn->h, "PRAGMA data_version", -1, &s, NULL),
	    SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

Test(db, open_writes_nothing_when_the_schema_is_current)
{
	struct db_start st;
	char err[256];
	struct db *again;
	long long before = data_version();

	/* data_version moves when another connection commits: writing
	 * user_version at every start (as it was) kept a full disk from
	 * starting at all. */
	again = db_open(path, err, sizeof err);
	cr_assert_not_null(again, "%s", err);
	cr_assert_eq(data_version(), before);
	db_start_info(again, &st);
	cr_assert_eq(st.schema_from, db_schema_version());
	cr_assert_eq(st.schema_to, db_schema_version());
	cr_assert_not(st.was_empty_file);
	db_close(again);
}

Test(db, an_empty_file_is_initialised_and_said_so)
{
	char other[160], err[256];
	struct db_start st;
	struct db *d;
	FILE *f;

	snprintf(other, sizeof other, "%s/zero.db", tdb.dir);
	f = fopen(other, "w");
	cr_assert_not_null(f);
	fclose(f);
	d = db_open(other, err, sizeof err);
	cr_assert_not_null(d, "%s", err);
	db_start_info(d, &st);
	cr_assert(st.was_empty_file);
	cr_assert_eq(st.schema_from, 0);
	cr_assert_eq(st.schema_to, db_schema_version());
	db_close(d);
	/* Absent before: created, not "was empty". */
	snprintf(other, sizeof other, "%s/new.db", tdb.dir);
	d = db_open(other, err, sizeof err);
	cr_assert_not_null(d, "%s", err);
	db_start_info(d, &st);
	cr_assert_not(st.was_empty_file);
	cr_assert_eq(st.schema_from, 0);
	db_close(d);
}

struct seen {
	int calls;
	struct db_error e;
	char request_id[72], message[200];
};

static void on_error(void *arg, const struct db_error *e)
{
	struct seen *s = arg;

	s->calls++;
	s->e = *e;
	snprintf(s->request_id, sizeof s->request_id, "%s",
		 e->request_id ? e->request_id : "");
	snprintf(s->message, sizeof s->message, "%s",
		 e->message ? e->message : "");
}

/* Stores a person, writes every page into the main file and zeroes the
 * persons table's root page there. */
static void damage_persons(void)
{
	struct db_person p;
	long long root, size;
	char *zero;
	FILE *f;

	full_person(&p, "damaged-1");
	put(&p, NOW);
	cr_assert_eq(sqlite3_exec(conn->h, "PRAGMA wal_checkpoint(TRUNCATE)",
				  NULL, NULL, NULL),
		     SQLITE_OK);
	root = query_int("SELECT rootpage FROM sqlite_schema WHERE name = "
			 "'persons'");
	size = query_int("PRAGMA page_size");
	cr_assert_gt(root, 1);
	zero = calloc(1, (size_t)size);
	f = fopen(path, "r+b");
	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, (root - 1) * size, SEEK_SET), 0);
	cr_assert_eq(fwrite(zero, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	free(zero);
}

Test(db, a_damaged_page_is_reported_and_marks_the_store_corrupt)
{
	struct seen seen = {0};
	struct db_person p;
	struct db_conn *c;
	struct db *fresh;
	char err[256];

	damage_persons();
	/* A handle of its own: its connection has no page in its cache. */
	fresh = db_open(path, err, sizeof err);
	cr_assert_not_null(fresh, "%s", err);
	db_on_error(fresh, on_error, &seen);
	c = db_conn_get(fresh);
	cr_assert_not_null(c);
	cr_assert_eq(db_ping(c), DB_OK);
	cr_assert_not(db_corrupt(fresh));
	cr_assert_eq(db_person_get(c, "damaged-1", &p), DB_ERROR);
	cr_assert(db_corrupt(fresh));
	/* sticky: readiness stays lost */
	cr_assert_eq(db_ping(c), DB_ERROR);
	db_error_report(fresh, c, "req-damaged", "/v1/persons/{id}");
	cr_assert_eq(seen.calls, 1);
	cr_assert_eq(seen.e.code & 0xff, SQLITE_CORRUPT);
	cr_assert_str_eq(seen.e.name, "SQLITE_CORRUPT");
	cr_assert(seen.e.corrupt);
	cr_assert_str_eq(seen.request_id, "req-damaged");
	cr_assert(strstr(seen.message, "malformed") != NULL, "%s",
		  seen.message);
	/* Reported once: a second report knows no SQLite error. */
	db_error_report(fresh, c, "req-2", NULL);
	cr_assert_eq(seen.calls, 2);
	cr_assert_eq(seen.e.code, 0);
	cr_assert_null(seen.e.message);
	db_close(fresh);
}

Test(db, quick_check_finds_the_damage)
{
	struct db_check ck;
	struct db *fresh;
	char err[256];

	db_quick_check(db, 5000, &ck);
	cr_assert_eq(ck.result, DB_CHECK_OK, "%s", ck.first);
	cr_assert_not(db_corrupt(db));
	damage_persons();
	fresh = db_open(path, err, sizeof err);
	cr_assert_not_null(fresh, "%s", err);
	db_quick_check(fresh, 5000, &ck);
	cr_assert_eq(ck.result, DB_CHECK_DAMAGED);
	cr_assert_gt(ck.problems, 0);
	cr_assert(strstr(ck.first, "Page") != NULL, "%s", ck.first);
	cr_assert(db_corrupt(fresh));
	db_close(fresh);
}

Test(db, quick_check_is_cut_short_when_its_time_is_up)
{
	struct db_check ck;

	/* No time at all: the first progress call stops it. */
	db_quick_check(db, 0, &ck);
	cr_assert_eq(ck.result, DB_CHECK_CUT_SHORT, "%d %s", ck.result,
		     ck.first);
	cr_assert_not(db_corrupt(db));
}
