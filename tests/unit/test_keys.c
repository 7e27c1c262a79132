/* Unit tests of db/key_db.c: API keys on a temporary database. */
#include <criterion/criterion.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/internal.h"
#include "db/key_db.h"
#include "tempdb.h"

/* 2025-06-01T00:00:00Z: 09:00 in Tokyo. */
#define NOW 1748736000.0

TEMPDB_SUITE(keys);

static void make_key(enum db_key_role role, const char *facility,
		     const char *name, char key[DB_KEY_TOKEN_LEN + 1],
		     struct db_key *k)
{
	cr_assert_eq(db_key_create(conn, role, facility, name, NOW, key, k),
		     DB_OK);
}

static enum db_result verify(const char *token, struct db_key *k)
{
	return db_key_verify(conn, token, strlen(token), k);
}

Test(keys, create_has_the_format_and_verifies)
{
	char key[DB_KEY_TOKEN_LEN + 1];
	struct db_key made, got;
	size_t i;

	make_key(DB_KEY_ROLE_WRITER, "home-1", "care desk", key, &made);
	cr_assert_eq(strlen(key), DB_KEY_TOKEN_LEN);
	cr_assert_eq(strncmp(key, "shk_", 4), 0);
	cr_assert_eq(key[4 + DB_KEY_ID_LEN], '_');
	cr_assert_eq(strncmp(key + 4, made.id, DB_KEY_ID_LEN), 0);
	for (i = 0; i < DB_KEY_ID_LEN; i++)
		cr_assert(
		    strchr("abcdefghijklmnopqrstuvwxyz234567", made.id[i]));
	cr_assert_eq(verify(key, &got), DB_OK);
	cr_assert_str_eq(got.id, made.id);
	cr_assert_eq(got.role, DB_KEY_ROLE_WRITER);
	cr_assert_str_eq(got.facility_id, "home-1");
	cr_assert_str_eq(got.name, "care desk");
	cr_assert_str_eq(got.created_at, "2025-06-01T09:00:00+09:00");
	cr_assert_str_eq(got.revoked_at, "");
}

Test(keys, roles_and_no_facility)
{
	char key[DB_KEY_TOKEN_LEN + 1];
	struct db_key k;

	make_key(DB_KEY_ROLE_ADMIN, NULL, NULL, key, &k);
	cr_assert_eq(verify(key, &k), DB_OK);
	cr_assert_eq(k.role, DB_KEY_ROLE_ADMIN);
	cr_assert_str_eq(k.facility_id, "");
	cr_assert_str_eq(k.name, "");
	make_key(DB_KEY_ROLE_READER, "", "", key, &k);
	cr_assert_eq(verify(key, &k), DB_OK);
	cr_assert_eq(k.role, DB_KEY_ROLE_READER);
	cr_assert_eq(
	    db_key_create(conn, DB_KEY_ROLE_NONE, NULL, NULL, NOW, key, &k),
	    DB_ERROR);
	cr_assert_eq(db_key_role_from_name("admin"), DB_KEY_ROLE_ADMIN);
	cr_assert_eq(db_key_role_from_name("root"), DB_KEY_ROLE_NONE);
	cr_assert_eq(db_key_role_from_name(NULL), DB_KEY_ROLE_NONE);
	cr_assert_str_eq(db_key_role_name(DB_KEY_ROLE_READER), "reader");
	cr_assert_null(db_key_role_name(DB_KEY_ROLE_NONE));
}

Test(keys, two_keys_differ)
{
	char a[DB_KEY_TOKEN_LEN + 1], b[DB_KEY_TOKEN_LEN + 1];
	struct db_key ka, kb;

	make_key(DB_KEY_ROLE_READER, NULL, NULL, a, &ka);
	make_key(DB_KEY_ROLE_READER, NULL, NULL, b, &kb);
	cr_assert_str_neq(a, b);
	cr_assert_str_neq(ka.id, kb.id);
	cr_assert_neq(memcmp(a + 17, b + 17, DB_KEY_SECRET_LEN), 0);
}

Test(keys, wrong_secret_and_unknown_id_are_refused)
{
	char key[DB_KEY_TOKEN_LEN + 1], bad[DB_KEY_TOKEN_LEN + 1];
	struct db_key k;
	size_t last = DB_KEY_TOKEN_LEN - 1;

	make_key(DB_KEY_ROLE_ADMIN, NULL, NULL, key, &k);
	memcpy(bad, key, sizeof bad);
	bad[last] = bad[last] == 'A' ? 'B' : 'A';
	cr_assert_eq(verify(bad, &k), DB_NOT_FOUND);
	memcpy(bad, key, sizeof bad);
	bad[20] = bad[20] == 'x' ? 'y' : 'x';
	cr_assert_eq(verify(bad, &k), DB_NOT_FOUND);
	/* Another id with the right secret. */
	memcpy(bad, key, sizeof bad);
	bad[4] = bad[4] == 'a' ? 'b' : 'a';
	cr_assert_eq(verify(bad, &k), DB_NOT_FOUND);
	cr_assert_eq(verify(key, &k), DB_OK);
}

Test(keys, malformed_tokens_are_refused)
{
	char key[DB_KEY_TOKEN_LEN + 1], t[DB_KEY_TOKEN_LEN + 8];
	struct db_key k;
	char *huge;

	make_key(DB_KEY_ROLE_ADMIN, NULL, NULL, key, &k);
	cr_assert_eq(verify("", &k), DB_NOT_FOUND);
	cr_assert_eq(db_key_verify(conn, NULL, 0, &k), DB_NOT_FOUND);
	cr_assert_eq(verify("shk_", &k), DB_NOT_FOUND);
	/* No prefix, another prefix. */
	cr_assert_eq(verify(key + 4, &k), DB_NOT_FOUND);
	memcpy(t, key, sizeof key);
	memcpy(t, "SHK_", 4);
	cr_assert_eq(verify(t, &k), DB_NOT_FOUND);
	/* "Bearer " left in. */
	snprintf(t, sizeof t, "Bearer%s", key);
	cr_assert_eq(verify(t, &k), DB_NOT_FOUND);
	/* One character more, one less. */
	snprintf(t, sizeof t, "%sA", key);
	cr_assert_eq(verify(t, &k), DB_NOT_FOUND);
	cr_assert_eq(db_key_verify(conn, key, DB_KEY_TOKEN_LEN - 1, &k),
		     DB_NOT_FOUND);
	/* Upper-case id, separator replaced, a character outside base64url. */
	memcpy(t, key, sizeof key);
	t[5] = (char)(t[5] >= 'a' && t[5] <= 'z' ? t[5] - 32 : 'Z');
	cr_assert_eq(verify(t, &k), DB_NOT_FOUND);
	memcpy(t, key, sizeof key);
	t[16] = '-';
	cr_assert_eq(verify(t, &k), DB_NOT_FOUND);
	memcpy(t, key, sizeof key);
	t[30] = '+';
	cr_assert_eq(verify(t, &k), DB_NOT_FOUND);
	/* An embedded NUL, the length unchanged. */
	memcpy(t, key, sizeof key);
	t[40] = '\0';
	cr_assert_eq(db_key_verify(conn, t, DB_KEY_TOKEN_LEN, &k),
		     DB_NOT_FOUND);
	/* Huge. */
	huge = malloc(1 << 20);
	cr_assert_not_null(huge);
	memset(huge, 'a', 1 << 20);
	memcpy(huge, key, DB_KEY_TOKEN_LEN);
	cr_assert_eq(db_key_verify(conn, huge, 1 << 20, &k), DB_NOT_FOUND);
	free(huge);
	cr_assert_eq(verify(key, &k), DB_OK);
}

Test(keys, revoked_key_is_refused_at_once_on_another_connection)
{
	char key[DB_KEY_TOKEN_LEN + 1], err[256], first[32];
	struct db_conn *other;
	struct db *db2;
	struct db_key k;

	make_key(DB_KEY_ROLE_WRITER, NULL, NULL, key, &k);
	/* A second handle: another connection, as in another thread of a
	 * running server. */
	db2 = db_open(path, err, sizeof err);
	cr_assert_not_null(db2, "%s", err);
	other = db_conn_get(db2);
	cr_assert_not_null(other);
	cr_assert_eq(db_key_verify(other, key, strlen(key), &k), DB_OK);
	cr_assert_eq(db_key_revoke(conn, k.id, NOW + 60, &k), DB_OK);
	cr_assert_str_eq(k.revoked_at, "2025-06-01T09:01:00+09:00");
	cr_assert_eq(db_key_verify(other, key, strlen(key), &k), DB_NOT_FOUND);
	cr_assert_eq(verify(key, &k), DB_NOT_FOUND);
	db_close(db2);
	/* Revoking again changes nothing; an unknown id is not found. */
	memcpy(first, "2025-06-01T09:01:00+09:00", 26);
	cr_assert_eq(db_key_revoke(conn, key + 4 /* not an id */, NOW, NULL),
		     DB_NOT_FOUND);
	key[4 + DB_KEY_ID_LEN] = '\0';
	cr_assert_eq(db_key_revoke(conn, key + 4, NOW + 3600, &k), DB_OK);
	cr_assert_str_eq(k.revoked_at, first);
	cr_assert_eq(db_key_revoke(conn, "aaaaaaaaaaaa", NOW, &k),
		     DB_NOT_FOUND);
}

struct seen {
	int n;
	char secret[DB_KEY_SECRET_LEN + 1];
	bool leaked;
};

static bool holds(const char *field, const char *secret)
{
	return field[0] && strstr(field, secret) != NULL;
}

static int list_cb(const struct db_key *k, void *arg)
{
	struct seen *s = arg;

	s->n++;
	if (holds(k->id, s->secret) || holds(k->name, s->secret) ||
	    holds(k->facility_id, s->secret) ||
	    holds(k->created_at, s->secret) || holds(k->revoked_at, s->secret))
		s->leaked = true;
	cr_assert_neq(k->role, DB_KEY_ROLE_NONE);
	return 0;
}

Test(keys, list_shows_every_key_and_never_a_secret)
{
	char key[DB_KEY_TOKEN_LEN + 1], key2[DB_KEY_TOKEN_LEN + 1];
	struct seen s = {0};
	struct db_key k;

	make_key(DB_KEY_ROLE_READER, "f1", "one", key, &k);
	make_key(DB_KEY_ROLE_ADMIN, NULL, "two", key2, &k);
	cr_assert_eq(db_key_revoke(conn, k.id, NOW, NULL), DB_OK);
	memcpy(s.secret, key + 17, DB_KEY_SECRET_LEN + 1);
	cr_assert_eq(db_key_list(conn, list_cb, &s), DB_OK);
	cr_assert_eq(s.n, 2);
	cr_assert_not(s.leaked);
}

static int stop_at_first(const struct db_key *k, void *arg)
{
	(void)k;
	(*(int *)arg)++;
	return 1;
}

Test(keys, list_stops_when_asked)
{
	char key[DB_KEY_TOKEN_LEN + 1];
	struct db_key k;
	int n = 0;

	make_key(DB_KEY_ROLE_READER, NULL, NULL, key, &k);
	make_key(DB_KEY_ROLE_READER, NULL, NULL, key, &k);
	cr_assert_eq(db_key_list(conn, stop_at_first, &n), DB_OK);
	cr_assert_eq(n, 1);
}

Test(keys, only_the_hash_is_stored)
{
	char key[DB_KEY_TOKEN_LEN + 1];
	unsigned char want[32];
	sqlite3_stmt *s = NULL;
	struct db_key k;
	FILE *f;
	char *file;
	long size;

	make_key(DB_KEY_ROLE_ADMIN, NULL, NULL, key, &k);
	cr_assert_eq(gnutls_hash_fast(GNUTLS_DIG_SHA256, key + 17,
				      DB_KEY_SECRET_LEN, want),
		     0);
	cr_assert_eq(sqlite3_prepare_v2(
			 conn->h, "SELECT hash FROM api_keys WHERE id = ?", -1,
			 &s, NULL),
		     SQLITE_OK);
	sqlite3_bind_text(s, 1, k.id, -1, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
	cr_assert_eq(sqlite3_column_bytes(s, 0), 32);
	cr_assert_eq(memcmp(sqlite3_column_blob(s, 0), want, 32), 0);
	sqlite3_finalize(s);
	/* The secret is in neither the file nor its WAL. */
	sqlite3_wal_checkpoint_v2(conn->h, NULL, SQLITE_CHECKPOINT_FULL, NULL,
				  NULL);
	f = fopen(path, "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	file = malloc((size_t)size);
	cr_assert_eq(fread(file, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	cr_assert_null(memmem(file, (size_t)size, key + 17, DB_KEY_SECRET_LEN));
	cr_assert_not_null(memmem(file, (size_t)size, k.id, DB_KEY_ID_LEN));
	free(file);
}

Test(keys, bad_arguments_make_no_key)
{
	char key[DB_KEY_TOKEN_LEN + 1], name[DB_KEY_NAME_MAX + 2];
	char facility[DB_KEY_FACILITY_MAX + 2];
	struct db_key k;
	int n = 0;

	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	memset(facility, 'f', sizeof facility - 1);
	facility[sizeof facility - 1] = '\0';
	cr_assert_eq(
	    db_key_create(conn, DB_KEY_ROLE_ADMIN, NULL, name, NOW, key, &k),
	    DB_ERROR);
	cr_assert_eq(db_key_create(conn, DB_KEY_ROLE_ADMIN, facility, NULL, NOW,
				   key, &k),
		     DB_ERROR);
	cr_assert_eq(
	    db_key_create(conn, (enum db_key_role)9, NULL, NULL, NOW, key, &k),
	    DB_ERROR);
	cr_assert_str_eq(key, "");
	cr_assert_eq(db_key_list(conn, stop_at_first, &n), DB_OK);
	cr_assert_eq(n, 0);
}
