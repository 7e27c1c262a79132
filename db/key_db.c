/* key_db.c - API keys (see key_db.h): random from GnuTLS, stored as
 * SHA-256, checked in constant time.  What both stores share is here (the
 * key's format, its hash, the flow of create and verify); the rows are
 * db/sqlite/key.c's or db/pg/key.c's (dbsq_key_... / dbpg_key_...). */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/tokyo_time.h"
#include "db/internal.h"
#include "db/key_db.h"

#define PG(c) ((c)->kind == DB_KIND_PG)

#define SECRET_BYTES 32
#define ID_TRIES     4

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char *const role_names[] = {NULL, "reader", "writer", "admin"};

const char *db_key_role_name(enum db_key_role r)
{
	return r > DB_KEY_ROLE_NONE && r <= DB_KEY_ROLE_ADMIN ? role_names[r]
							      : NULL;
}

enum db_key_role db_key_role_from_name(const char *s)
{
	int i;

	for (i = DB_KEY_ROLE_READER; i <= DB_KEY_ROLE_ADMIN; i++)
		if (s && strcmp(role_names[i], s) == 0)
			return (enum db_key_role)i;
	return DB_KEY_ROLE_NONE;
}

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

int db_sha256(const char *data, size_t len, unsigned char out[32])
{
	return gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out) == 0 ? 0
									: -1;
}

/* ---- operations -------------------------------------------------------- */

static enum db_result key_insert(struct db_conn *c, const struct db_key *k,
				 const unsigned char hash[DB_KEY_HASH_LEN])
{
	return PG(c) ? dbpg_key_insert(c, k, hash)
		     : dbsq_key_insert(c, k, hash);
}

static enum db_result key_get(struct db_conn *c, const char *id,
			      struct db_key *out,
			      unsigned char hash[DB_KEY_HASH_LEN])
{
	return PG(c) ? dbpg_key_get(c, id, out, hash)
		     : dbsq_key_get(c, id, out, hash);
}

enum db_result db_key_create(struct db_conn *c, enum db_key_role role,
			     const char *facility_id, const char *name,
			     double now, char key_out[DB_KEY_TOKEN_LEN + 1],
			     struct db_key *out)
{
	unsigned char rnd[8], secret_raw[SECRET_BYTES], hash[DB_KEY_HASH_LEN];
	char secret[DB_KEY_SECRET_LEN + 1];
	enum db_result r = DB_ERROR;
	struct db_key k;
	int i;

	key_out[0] = '\0';
	if (!db_key_role_name(role) ||
	    (facility_id && strlen(facility_id) > DB_KEY_FACILITY_MAX) ||
	    (name && strlen(name) > DB_KEY_NAME_MAX))
		return DB_ERROR;
	/* GNUTLS_RND_KEY: the strongest level, for long-term keys. */
	if (gnutls_rnd(GNUTLS_RND_KEY, secret_raw, sizeof secret_raw) != 0)
		goto out;
	secret_encode(secret_raw, secret);
	if (db_sha256(secret, DB_KEY_SECRET_LEN, hash) != 0)
		goto out;
	memset(&k, 0, sizeof k);
	k.role = role;
	snprintf(k.facility_id, sizeof k.facility_id, "%s",
		 facility_id ? facility_id : "");
	snprintf(k.name, sizeof k.name, "%s", name ? name : "");
	base_tokyo_time(now, k.created_at);
	/* 60 random bits make a clash of ids all but impossible; a clash
	 * (DB_PRECONDITION from the store) draws another id rather than
	 * failing. */
	for (i = 0; i < ID_TRIES; i++) {
		if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof rnd) != 0) {
			r = DB_ERROR;
			goto out;
		}
		id_encode(rnd, k.id);
		r = key_insert(c, &k, hash);
		if (r != DB_PRECONDITION)
			break;
	}
	if (r == DB_PRECONDITION)
		r = DB_ERROR;
	if (r != DB_OK)
		goto out;
	snprintf(key_out, DB_KEY_TOKEN_LEN + 1, "shk_%s_%s", k.id, secret);
	if (out)
		*out = k;
out:
	gnutls_memset(secret_raw, 0, sizeof secret_raw);
	gnutls_memset(secret, 0, sizeof secret);
	return r;
}

enum db_result db_key_list(struct db_conn *c,
			   int (*fn)(const struct db_key *, void *), void *arg)
{
	return PG(c) ? dbpg_key_list(c, fn, arg) : dbsq_key_list(c, fn, arg);
}

enum db_result db_key_revoke(struct db_conn *c, const char *id, double now,
			     struct db_key *out)
{
	char when[32];

	base_tokyo_time(now, when);
	return PG(c) ? dbpg_key_revoke(c, id, when, out)
		     : dbsq_key_revoke(c, id, when, out);
}

enum db_result db_key_verify(struct db_conn *c, const char *token, size_t len,
			     struct db_key *out)
{
	static const unsigned char zero[DB_KEY_HASH_LEN];
	unsigned char given[DB_KEY_HASH_LEN], stored[DB_KEY_HASH_LEN];
	char id[DB_KEY_ID_LEN + 1];
	const char *secret = NULL;
	enum db_result r;
	struct db_key k;
	int differ;

	if (!token_split(token, len, id, &secret))
		return DB_NOT_FOUND;
	/* Hash before the lookup: the work is the same whether the id
	 * exists or not. */
	if (db_sha256(secret, DB_KEY_SECRET_LEN, given) != 0)
		return DB_ERROR;
	/* One lookup in the store on every request, never a cache: a
	 * revocation by any process holds for the very next request. */
	r = key_get(c, id, &k, stored);
	if (r == DB_NOT_FOUND)
		memcpy(stored, zero,
		       DB_KEY_HASH_LEN); /* compare all the same */
	else if (r != DB_OK)
		return r;
	/* gnutls_memcmp (GnuTLS >= 3.4) takes a time that depends on the
	 * length only: memcmp would stop at the first differing byte and let
	 * a caller learn the stored hash byte by byte from response times. */
	differ = gnutls_memcmp(given, stored, DB_KEY_HASH_LEN);
	if (r != DB_OK || differ != 0 || k.revoked_at[0] ||
	    k.role == DB_KEY_ROLE_NONE)
		return DB_NOT_FOUND;
	if (out)
		*out = k;
	return DB_OK;
}
