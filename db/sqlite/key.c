/* key.c - the SQLite store's API keys: rows only (the key's format, hash
 * and checks are db/key_db.c's). */
#include <stdio.h>
#include <string.h>

#include "db/internal.h"
#include "db/key_db.h"

static void copy_col(sqlite3_stmt *s, int col, char *dst, size_t dstlen)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(dst, dstlen, "%s", t ? (const char *)t : "");
}

/* The DB_KEY_COLS of s into *k. */
static void read_key(sqlite3_stmt *s, struct db_key *k)
{
	char role[16];

	memset(k, 0, sizeof *k);
	copy_col(s, 0, k->id, sizeof k->id);
	copy_col(s, 1, role, sizeof role);
	k->role = db_key_role_from_name(role);
	copy_col(s, 2, k->facility_id, sizeof k->facility_id);
	copy_col(s, 3, k->name, sizeof k->name);
	copy_col(s, 4, k->created_at, sizeof k->created_at);
	copy_col(s, 5, k->revoked_at, sizeof k->revoked_at);
}

static void bind_opt(sqlite3_stmt *s, int col, const char *v)
{
	if (v && *v)
		sqlite3_bind_text(s, col, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, col);
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
	bind_opt(s, 4, k->facility_id);
	bind_opt(s, 5, k->name);
	sqlite3_bind_text(s, 6, k->created_at, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return DB_PRECONDITION; /* the id is taken */
	return db_conn_result(c, rc);
}

enum db_result dbsq_key_list(struct db_conn *c,
			     int (*fn)(const struct db_key *, void *),
			     void *arg)
{
	sqlite3_stmt *s = db_stmt(c, DB_STMT_KEY_LIST);
	struct db_key k;
	int rc;

	if (!s)
		return DB_ERROR;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_key(s, &k);
		if (fn(&k, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(s);
	return db_conn_result(c, rc);
}

enum db_result dbsq_key_get(struct db_conn *c, const char *id,
			    struct db_key *out,
			    unsigned char hash[DB_KEY_HASH_LEN])
{
	sqlite3_stmt *s = db_stmt(c, DB_STMT_KEY_GET);
	enum db_result r;
	const void *h;
	int rc;

	if (!s)
		return DB_ERROR;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		read_key(s, out);
		h = sqlite3_column_blob(s, 6);
		if (h && sqlite3_column_bytes(s, 6) == DB_KEY_HASH_LEN) {
			memcpy(hash, h, DB_KEY_HASH_LEN);
			r = DB_OK;
		} else {
			r = DB_ERROR; /* the CHECK of 002 forbids it */
		}
	} else {
		r = rc == SQLITE_DONE ? DB_NOT_FOUND : db_conn_result(c, rc);
	}
	sqlite3_reset(s);
	return r;
}

enum db_result dbsq_key_revoke(struct db_conn *c, const char *id,
			       const char *when, struct db_key *out)
{
	unsigned char hash[DB_KEY_HASH_LEN];
	struct db_key k;
	sqlite3_stmt *s;
	enum db_result r;
	int rc;

	r = db_begin(c);
	if (r != DB_OK)
		return r;
	s = db_stmt(c, DB_STMT_KEY_REVOKE);
	if (!s) {
		r = DB_ERROR;
		goto out;
	}
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, when, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	r = db_conn_result(c, rc);
	if (r != DB_OK)
		goto out;
	/* Read back: tells an unknown id from one revoked before. */
	r = dbsq_key_get(c, id, &k, hash);
	if (r == DB_OK && out)
		*out = k;
out:
	if (r == DB_OK)
		r = db_commit(c);
	if (r != DB_OK)
		db_rollback(c);
	return r;
}
