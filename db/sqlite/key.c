/* key.c - the SQLite store's API keys: rows only (the key's format, hash
 * and checks are db/key_db.c's). */
#include <stdio.h>
#include <string.h>

#include "db/internal.h"
#include "db/key_db.h"

/* The DB_KEY_COLS of s into *k. */
static void read_key(sqlite3_stmt *s, struct db_key *k)
{
	char role[16];

	memset(k, 0, sizeof *k);
	dbsq_copy_col(s, 0, k->id, sizeof k->id);
	dbsq_copy_col(s, 1, role, sizeof role);
	k->role = db_key_role_from_name(role);
	dbsq_copy_col(s, 2, k->facility_id, sizeof k->facility_id);
	dbsq_copy_col(s, 3, k->name, sizeof k->name);
	dbsq_copy_col(s, 4, k->created_at, sizeof k->created_at);
	dbsq_copy_col(s, 5, k->revoked_at, sizeof k->revoked_at);
}

enum db_result dbsq_key_insert(struct db_conn *c, const struct db_key *k,
			       const unsigned char hash[DB_KEY_HASH_LEN])
{
	sqlite3_stmt *s = db_stmt(c, DB_STMT_KEY_INSERT);
	int rc;

	if (!s)
		return DB_ERROR;
	sqlite3_bind_text(s, 1, k->id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, hash, DB_KEY_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, db_key_role_name(k->role), -1, SQLITE_STATIC);
	dbsq_bind_opt(s, 4, k->facility_id);
	dbsq_bind_opt(s, 5, k->name);
	sqlite3_bind_text(s, 6, k->created_at, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return DB_PRECONDITION; /* the id is taken */
	return db_conn_result(c, rc);
}

DBSQ_EACH_ROW(list_row, struct db_key, read_key)

enum db_result dbsq_key_list(struct db_conn *c,
			     int (*fn)(const struct db_key *, void *),
			     void *arg)
{
	struct list_row_each e = {fn, arg};

	return dbsq_each(c, db_stmt(c, DB_STMT_KEY_LIST), list_row, &e);
}

/* A key's row and its hash (KEY_GET). */
struct key_hash {
	struct db_key *key;
	unsigned char *hash;
};

static enum db_result read_key_hash(sqlite3_stmt *s, void *out)
{
	struct key_hash *kh = out;
	const void *h;

	read_key(s, kh->key);
	h = sqlite3_column_blob(s, 6);
	if (!h || sqlite3_column_bytes(s, 6) != DB_KEY_HASH_LEN)
		return DB_ERROR; /* the CHECK of 002 forbids it */
	memcpy(kh->hash, h, DB_KEY_HASH_LEN);
	return DB_OK;
}

enum db_result dbsq_key_get(struct db_conn *c, const char *id,
			    struct db_key *out,
			    unsigned char hash[DB_KEY_HASH_LEN])
{
	struct key_hash kh = {out, hash};

	return dbsq_get(c, DB_STMT_KEY_GET, id, read_key_hash, &kh);
}

enum db_result dbsq_key_revoke(struct db_conn *c, const char *id,
			       const char *when, struct db_key *out)
{
	const char *vals[2] = {id, when};
	unsigned char hash[DB_KEY_HASH_LEN];
	struct db_key k;
	enum db_result r;

	r = db_begin(c);
	if (r != DB_OK)
		return r;
	r = dbsq_exec(c, DB_STMT_KEY_REVOKE, 2, vals);
	if (r != DB_OK)
		goto out;
	/* Read back: tells an unknown id from one revoked before. */
	r = dbsq_key_get(c, id, &k, hash);
	if (r == DB_OK && out)
		*out = k;
out:
	r = db_end(c, r);
	return r;
}
