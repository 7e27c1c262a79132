/* key_db.c - API keys: random from GnuTLS, stored as SHA-256, checked in
 * constant time.  See key_db.h for the format. */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/tokyo_time.h"
#include "db/internal.h"
#include "db/key_db.h"

#define HASH_LEN     32
#define SECRET_BYTES 32
#define ID_TRIES     4

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- encoding ---------------------------------------------------------- */

/* 12 base32 characters from the low 60 bits of 8 random bytes. */
static void id_encode(const unsigned char rnd[8], char out[DB_KEY_ID_LEN + 1])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | rnd[i];
	for (i = DB_KEY_ID_LEN - 1; i >= 0; i--) {
		out[i] = b32[v & 31];
		v >>= 5;
	}
	out[DB_KEY_ID_LEN] = '\0';
}

/* base64url without padding of 32 bytes: 43 characters. */
static void secret_encode(const unsigned char in[SECRET_BYTES],
			  char out[DB_KEY_SECRET_LEN + 1])
{
	size_t i, o = 0;
	unsigned v;

	for (i = 0; i < SECRET_BYTES; i += 3) {
		v = (unsigned)in[i] << 16;
		if (i + 1 < SECRET_BYTES)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < SECRET_BYTES)
			v |= in[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		if (i + 1 < SECRET_BYTES)
			out[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < SECRET_BYTES)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
}

static bool all_in(const char *s, size_t n, const char *alphabet)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\0' || !strchr(alphabet, s[i]))
			return false;
	return true;
}

/* Splits "shk_<id>_<secret>" of exactly DB_KEY_TOKEN_LEN bytes; false for
 * anything else (embedded NUL bytes included). */
static bool token_split(const char *t, size_t len, char id[DB_KEY_ID_LEN + 1],
			const char **secret)
{
	if (!t || len != DB_KEY_TOKEN_LEN || memcmp(t, "shk_", 4) != 0 ||
	    t[4 + DB_KEY_ID_LEN] != '_' || !all_in(t + 4, DB_KEY_ID_LEN, b32) ||
	    !all_in(t + 5 + DB_KEY_ID_LEN, DB_KEY_SECRET_LEN, b64url))
		return false;
	memcpy(id, t + 4, DB_KEY_ID_LEN);
	id[DB_KEY_ID_LEN] = '\0';
	*secret = t + 5 + DB_KEY_ID_LEN;
	return true;
}

static int secret_hash(const char *secret, unsigned char out[HASH_LEN])
{
	return gnutls_hash_fast(GNUTLS_DIG_SHA256, secret, DB_KEY_SECRET_LEN,
				out) == 0
		   ? 0
		   : -1;
}

/* ---- rows -------------------------------------------------------------- */

static void copy_col(sqlite3_stmt *s, int col, char *dst, size_t dstlen)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(dst, dstlen, "%s", t ? (const char *)t : "");
}

/* The KEY_COLS of s into *k. */
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

/* ---- operations -------------------------------------------------------- */

enum db_result dbsq_key_create(struct db_conn *c, enum db_key_role role,
			       const char *facility_id, const char *name,
			       double now, char *key_out, struct db_key *out)
{
	unsigned char rnd[8], secret_raw[SECRET_BYTES], hash[HASH_LEN];
	char id[DB_KEY_ID_LEN + 1], secret[DB_KEY_SECRET_LEN + 1];
	char created[32];
	enum db_result r = DB_ERROR;
	sqlite3_stmt *s;
	int rc = SQLITE_ERROR, i;

	key_out[0] = '\0';
	if (!db_key_role_name(role) ||
	    (facility_id && strlen(facility_id) > DB_KEY_FACILITY_MAX) ||
	    (name && strlen(name) > DB_KEY_NAME_MAX))
		return DB_ERROR;
	/* GNUTLS_RND_KEY: the strongest level, for long-term keys. */
	if (gnutls_rnd(GNUTLS_RND_KEY, secret_raw, sizeof secret_raw) != 0)
		goto out;
	secret_encode(secret_raw, secret);
	if (secret_hash(secret, hash) != 0)
		goto out;
	base_tokyo_time(now, created);
	/* 60 random bits make a clash of ids all but impossible; a clash
	 * (SQLITE_CONSTRAINT) draws another id rather than failing. */
	for (i = 0; i < ID_TRIES; i++) {
		if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof rnd) != 0)
			goto out;
		id_encode(rnd, id);
		s = db_stmt(c, DB_STMT_KEY_INSERT);
		if (!s)
			goto out;
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 2, hash, HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, db_key_role_name(role), -1,
				  SQLITE_STATIC);
		bind_opt(s, 4, facility_id);
		bind_opt(s, 5, name);
		sqlite3_bind_text(s, 6, created, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		if ((rc & 0xff) != SQLITE_CONSTRAINT)
			break;
	}
	r = db_conn_result(c, rc);
	if (r != DB_OK)
		goto out;
	snprintf(key_out, DB_KEY_TOKEN_LEN + 1, "shk_%s_%s", id, secret);
	if (out) {
		memset(out, 0, sizeof *out);
		memcpy(out->id, id, sizeof out->id);
		out->role = role;
		snprintf(out->facility_id, sizeof out->facility_id, "%s",
			 facility_id ? facility_id : "");
		snprintf(out->name, sizeof out->name, "%s", name ? name : "");
		memcpy(out->created_at, created, sizeof out->created_at);
	}
out:
	gnutls_memset(secret_raw, 0, sizeof secret_raw);
	gnutls_memset(secret, 0, sizeof secret);
	return r;
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

/* Reads key id into *out and its hash into hash.  DB_NOT_FOUND or DB_OK. */
static enum db_result key_get(struct db_conn *c, const char *id,
			      struct db_key *out, unsigned char hash[HASH_LEN])
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
		if (h && sqlite3_column_bytes(s, 6) == HASH_LEN) {
			memcpy(hash, h, HASH_LEN);
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

enum db_result dbsq_key_revoke(struct db_conn *c, const char *id, double now,
			       struct db_key *out)
{
	unsigned char hash[HASH_LEN];
	struct db_key k;
	sqlite3_stmt *s;
	char when[32];
	enum db_result r;
	int rc;

	r = db_begin(c);
	if (r != DB_OK)
		return r;
	base_tokyo_time(now, when);
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
	r = key_get(c, id, &k, hash);
	if (r == DB_OK && out)
		*out = k;
out:
	if (r == DB_OK)
		r = db_commit(c);
	if (r != DB_OK)
		db_rollback(c);
	return r;
}

enum db_result dbsq_key_verify(struct db_conn *c, const char *token, size_t len,
			       struct db_key *out)
{
	static const unsigned char zero[HASH_LEN];
	unsigned char given[HASH_LEN], stored[HASH_LEN];
	char id[DB_KEY_ID_LEN + 1];
	const char *secret = NULL;
	enum db_result r;
	struct db_key k;
	int differ;

	if (!token_split(token, len, id, &secret))
		return DB_NOT_FOUND;
	/* Hash before the lookup: the work is the same whether the id
	 * exists or not. */
	if (secret_hash(secret, given) != 0)
		return DB_ERROR;
	r = key_get(c, id, &k, stored);
	if (r == DB_NOT_FOUND)
		memcpy(stored, zero, HASH_LEN); /* compare all the same */
	else if (r != DB_OK)
		return r;
	/* gnutls_memcmp (GnuTLS >= 3.4) takes a time that depends on the
	 * length only: memcmp would stop at the first differing byte and let
	 * a caller learn the stored hash byte by byte from response times. */
	differ = gnutls_memcmp(given, stored, HASH_LEN);
	if (r != DB_OK || differ != 0 || k.revoked_at[0] ||
	    k.role == DB_KEY_ROLE_NONE)
		return DB_NOT_FOUND;
	if (out)
		*out = k;
	return DB_OK;
}
