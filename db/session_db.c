/* session_db.c - browser sessions (see session_db.h): what both stores
 * share is here (the token, its hash, the rules of expiry); the rows are
 * db/sqlite/session.c's or db/pg/session.c's (dbsq_session_... /
 * dbpg_session_...). */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

#include "db/internal.h"
#include "db/session_db.h"

#define PG(c) ((c)->kind == DB_KIND_PG)

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

static int token_hash(const char *t, unsigned char out[DB_SESSION_HASH_LEN])
{
	return db_sha256(t, DB_SESSION_TOKEN_LEN, out);
}

enum db_result db_session_create(struct db_conn *c, const char *key_id,
				 double now, double idle, double max,
				 char token_out[DB_SESSION_TOKEN_LEN + 1],
				 struct db_session *out)
{
	unsigned char hash[DB_SESSION_HASH_LEN];
	char csrf[DB_SESSION_TOKEN_LEN + 1];
	enum db_result r;

	token_out[0] = '\0';
	if (random_token(token_out) != 0 || random_token(csrf) != 0 ||
	    token_hash(token_out, hash) != 0)
		return DB_ERROR;
	/* Every expired session goes first: nothing else deletes them. */
	r = PG(c) ? dbpg_session_insert(c, hash, key_id, csrf, now, now - idle,
					now - max)
		  : dbsq_session_insert(c, hash, key_id, csrf, now, now - idle,
					now - max);
	if (r != DB_OK) {
		token_out[0] = '\0';
		return r;
	}
	memset(out, 0, sizeof *out);
	snprintf(out->key_id, sizeof out->key_id, "%s", key_id);
	memcpy(out->csrf, csrf, sizeof out->csrf);
	out->created_at = now;
	out->last_seen = now;
	return DB_OK;
}

static enum db_result session_remove(struct db_conn *c,
				     const unsigned char *hash)
{
	return PG(c) ? dbpg_session_remove(c, hash)
		     : dbsq_session_remove(c, hash);
}

enum db_result db_session_get(struct db_conn *c, const char *token, size_t len,
			      double now, double idle, double max,
			      struct db_session *out)
{
	unsigned char hash[DB_SESSION_HASH_LEN];
	struct db_session v;
	enum db_result r;

	if (!token_valid(token, len))
		return DB_NOT_FOUND;
	if (token_hash(token, hash) != 0)
		return DB_ERROR;
	/* The key's role and facility now: a revoked key finds nothing (one
	 * read on every request, never a cache: every replica refuses a
	 * session of a revoked key on its next request). */
	memset(&v, 0, sizeof v);
	r = PG(c) ? dbpg_session_lookup(c, hash, &v)
		  : dbsq_session_lookup(c, hash, &v);
	if (r != DB_OK)
		return r;
	if (now - v.last_seen > idle || now - v.created_at > max ||
	    v.role == DB_KEY_ROLE_NONE) {
		session_remove(c, hash);
		return DB_NOT_FOUND;
	}
	/* Marked used at most once a second: a page's burst of requests
	 * costs one write. */
	if (now - v.last_seen >= 1.0) {
		r = PG(c) ? dbpg_session_touch(c, hash, now)
			  : dbsq_session_touch(c, hash, now);
		if (r != DB_OK)
			return r;
		v.last_seen = now;
	}
	*out = v;
	return DB_OK;
}

enum db_result db_session_delete(struct db_conn *c, const char *token,
				 size_t len)
{
	unsigned char hash[DB_SESSION_HASH_LEN];

	if (!token_valid(token, len))
		return DB_OK;
	if (token_hash(token, hash) != 0)
		return DB_ERROR;
	return session_remove(c, hash);
}
