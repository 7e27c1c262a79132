/* session.c - the SQLite store's browser sessions: rows only (the token,
 * its hash and the rules of expiry are db/session_db.c's).  The statements
 * are prepared per call rather than in db.c's cache: a session is looked
 * up only for the page's requests, never on the API's hot paths. */
#include <stdio.h>
#include <string.h>

#include "db/internal.h"
#include "db/session_db.h"

/* Runs sql with its ?1..?n bound by bind (may be NULL) on c; steps once.
 * Returns the SQLite code of the step; *out (may be NULL) keeps the
 * statement (the caller finalizes it) when it is a row. */
static int run(struct db_conn *c, const char *sql,
	       void (*bind)(sqlite3_stmt *, const void *), const void *arg,
	       sqlite3_stmt **out)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(c->h, sql, -1, &s, NULL);

	if (rc != SQLITE_OK)
		return rc;
	if (bind)
		bind(s, arg);
	rc = sqlite3_step(s);
	if (out && rc == SQLITE_ROW) {
		*out = s;
		return rc;
	}
	sqlite3_finalize(s);
	return rc;
}

struct args {
	const unsigned char *hash;
	const char *key_id, *csrf;
	double now, idle_before, max_before;
};

static void bind_insert(sqlite3_stmt *s, const void *p)
{
	const struct args *a = p;

	sqlite3_bind_blob(s, 1, a->hash, DB_SESSION_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, a->key_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, a->csrf, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 4, a->now);
}

static void bind_expire(sqlite3_stmt *s, const void *p)
{
	const struct args *a = p;

	sqlite3_bind_double(s, 1, a->idle_before);
	sqlite3_bind_double(s, 2, a->max_before);
}

static void bind_hash(sqlite3_stmt *s, const void *p)
{
	const struct args *a = p;

	sqlite3_bind_blob(s, 1, a->hash, DB_SESSION_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_double(s, 2, a->now);
}

enum db_result dbsq_session_insert(struct db_conn *c, const unsigned char *hash,
				   const char *key_id, const char *csrf,
				   double now, double idle_before,
				   double max_before)
{
	struct args a = {hash, key_id, csrf, now, idle_before, max_before};
	int rc;

	rc = run(c,
		 "DELETE FROM sessions WHERE last_seen < ?1 OR created_at < ?2",
		 bind_expire, &a, NULL);
	if (rc != SQLITE_DONE)
		return db_conn_result(c, rc);
	rc = run(c,
		 "INSERT INTO sessions (hash, key_id, csrf, created_at, "
		 "last_seen) VALUES (?1, ?2, ?3, ?4, ?4)",
		 bind_insert, &a, NULL);
	return rc == SQLITE_DONE ? DB_OK : db_conn_result(c, rc);
}

static void col(sqlite3_stmt *s, int i, char *dst, size_t n)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

enum db_result dbsq_session_lookup(struct db_conn *c, const unsigned char *hash,
				   struct db_session *out)
{
	struct args a = {.hash = hash};
	sqlite3_stmt *s = NULL;
	char role[16];
	int rc;

	rc = run(c,
		 "SELECT s.key_id, k.role, k.facility_id, s.csrf, "
		 "s.created_at, s.last_seen FROM sessions s "
		 "JOIN api_keys k ON k.id = s.key_id "
		 "WHERE s.hash = ?1 AND k.revoked_at IS NULL AND ?2 = ?2",
		 bind_hash, &a, &s);
	if (rc == SQLITE_DONE)
		return DB_NOT_FOUND;
	if (rc != SQLITE_ROW)
		return db_conn_result(c, rc);
	col(s, 0, out->key_id, sizeof out->key_id);
	col(s, 1, role, sizeof role);
	out->role = db_key_role_from_name(role);
	col(s, 2, out->facility_id, sizeof out->facility_id);
	col(s, 3, out->csrf, sizeof out->csrf);
	out->created_at = sqlite3_column_double(s, 4);
	out->last_seen = sqlite3_column_double(s, 5);
	sqlite3_finalize(s);
	return DB_OK;
}

enum db_result dbsq_session_touch(struct db_conn *c, const unsigned char *hash,
				  double now)
{
	struct args a = {.hash = hash, .now = now};
	int rc = run(c, "UPDATE sessions SET last_seen = ?2 WHERE hash = ?1",
		     bind_hash, &a, NULL);

	return rc == SQLITE_DONE ? DB_OK : db_conn_result(c, rc);
}

enum db_result dbsq_session_remove(struct db_conn *c, const unsigned char *hash)
{
	struct args a = {.hash = hash};
	int rc = run(c, "DELETE FROM sessions WHERE hash = ?1 AND ?2 = ?2",
		     bind_hash, &a, NULL);

	return rc == SQLITE_DONE ? DB_OK : db_conn_result(c, rc);
}
