/* session_db.c - browser sessions (see session_db.h). */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

#include "db/internal.h"
#include "db/session_db.h"

#define HASH_LEN 32

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 32 bytes as 43 characters of base64url without padding. */
static void encode32(const unsigned char in[32], char out[44])
{
	size_t i, o = 0;
	unsigned v;

	for (i = 0; i + 3 <= 30; i += 3) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	v = (unsigned)in[30] << 16 | (unsigned)in[31] << 8;
	out[o++] = b64url[v >> 18 & 63];
	out[o++] = b64url[v >> 12 & 63];
	out[o++] = b64url[v >> 6 & 63];
	out[o] = '\0';
}

static int random_token(char out[44])
{
	unsigned char raw[32];

	if (gnutls_rnd(GNUTLS_RND_KEY, raw, sizeof raw) != 0)
		return -1;
	encode32(raw, out);
	return 0;
}

static bool token_valid(const char *t, size_t len)
{
	size_t i;

	if (!t || len != DB_SESSION_TOKEN_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (t[i] == '\0' || !strchr(b64url, t[i]))
			return false;
	return true;
}

static int token_hash(const char *t, unsigned char out[HASH_LEN])
{
	return gnutls_hash_fast(GNUTLS_DIG_SHA256, t, DB_SESSION_TOKEN_LEN,
				out) == 0
		   ? 0
		   : -1;
}

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
	double now, idle, max;
};

static void bind_insert(sqlite3_stmt *s, const void *p)
{
	const struct args *a = p;

	sqlite3_bind_blob(s, 1, a->hash, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, a->key_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, a->csrf, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 4, a->now);
}

static void bind_expire(sqlite3_stmt *s, const void *p)
{
	const struct args *a = p;

	sqlite3_bind_double(s, 1, a->now - a->idle);
	sqlite3_bind_double(s, 2, a->now - a->max);
}

static void bind_hash(sqlite3_stmt *s, const void *p)
{
	const struct args *a = p;

	sqlite3_bind_blob(s, 1, a->hash, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_double(s, 2, a->now);
}

enum db_result dbsq_session_create(struct db_conn *c, const char *key_id,
				   double now, double idle, double max,
				   char *token_out, struct db_session *out)
{
	unsigned char hash[HASH_LEN];
	char csrf[DB_SESSION_TOKEN_LEN + 1];
	struct args a;
	int rc;

	token_out[0] = '\0';
	if (random_token(token_out) != 0 || random_token(csrf) != 0 ||
	    token_hash(token_out, hash) != 0)
		return DB_ERROR;
	memset(&a, 0, sizeof a);
	a.hash = hash;
	a.key_id = key_id;
	a.csrf = csrf;
	a.now = now;
	a.idle = idle;
	a.max = max;
	rc = run(c,
		 "DELETE FROM sessions WHERE last_seen < ?1 OR created_at < ?2",
		 bind_expire, &a, NULL);
	if (rc != SQLITE_DONE)
		return db_conn_result(c, rc);
	rc = run(c,
		 "INSERT INTO sessions (hash, key_id, csrf, created_at, "
		 "last_seen) VALUES (?1, ?2, ?3, ?4, ?4)",
		 bind_insert, &a, NULL);
	if (rc != SQLITE_DONE) {
		token_out[0] = '\0';
		return db_conn_result(c, rc);
	}
	memset(out, 0, sizeof *out);
	snprintf(out->key_id, sizeof out->key_id, "%s", key_id);
	memcpy(out->csrf, csrf, sizeof out->csrf);
	out->created_at = now;
	out->last_seen = now;
	return DB_OK;
}

static void col(sqlite3_stmt *s, int i, char *dst, size_t n)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

enum db_result dbsq_session_get(struct db_conn *c, const char *token,
				size_t len, double now, double idle, double max,
				struct db_session *out)
{
	unsigned char hash[HASH_LEN];
	sqlite3_stmt *s = NULL;
	struct db_session v;
	struct args a;
	char role[16];
	int rc;

	if (!token_valid(token, len))
		return DB_NOT_FOUND;
	if (token_hash(token, hash) != 0)
		return DB_ERROR;
	memset(&a, 0, sizeof a);
	a.hash = hash;
	a.now = now;
	/* The key's role and facility now: a revoked key finds nothing. */
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
	memset(&v, 0, sizeof v);
	col(s, 0, v.key_id, sizeof v.key_id);
	col(s, 1, role, sizeof role);
	v.role = db_key_role_from_name(role);
	col(s, 2, v.facility_id, sizeof v.facility_id);
	col(s, 3, v.csrf, sizeof v.csrf);
	v.created_at = sqlite3_column_double(s, 4);
	v.last_seen = sqlite3_column_double(s, 5);
	sqlite3_finalize(s);
	if (now - v.last_seen > idle || now - v.created_at > max ||
	    v.role == DB_KEY_ROLE_NONE) {
		db_session_delete(c, token, len);
		return DB_NOT_FOUND;
	}
	/* Marked used at most once a second: a page's burst of requests
	 * costs one write. */
	if (now - v.last_seen >= 1.0) {
		rc =
		    run(c, "UPDATE sessions SET last_seen = ?2 WHERE hash = ?1",
			bind_hash, &a, NULL);
		if (rc != SQLITE_DONE)
			return db_conn_result(c, rc);
		v.last_seen = now;
	}
	*out = v;
	return DB_OK;
}

enum db_result dbsq_session_delete(struct db_conn *c, const char *token,
				   size_t len)
{
	unsigned char hash[HASH_LEN];
	struct args a;
	int rc;

	if (!token_valid(token, len))
		return DB_OK;
	if (token_hash(token, hash) != 0)
		return DB_ERROR;
	memset(&a, 0, sizeof a);
	a.hash = hash;
	rc = run(c, "DELETE FROM sessions WHERE hash = ?1 AND ?2 = ?2",
		 bind_hash, &a, NULL);
	return rc == SQLITE_DONE ? DB_OK : db_conn_result(c, rc);
}
