/* key_db.h - API keys (SPEC §8, §9): made by the CLI, shown once, stored
 * only as a hash.
 *
 * A key reads "shk_<id>_<secret>":
 *   id      12 characters of lower-case base32 (a-z 2-7), 60 random bits:
 *           public, the primary key, shown by `key list` and in the audit
 *           log;
 *   secret  43 characters of base64url without padding: 32 bytes from
 *           gnutls_rnd(GNUTLS_RND_KEY).  Only SHA-256 of these 43
 *           characters is stored.
 * The whole key is KEY_TOKEN_LEN (60) characters.
 *
 * All functions take a connection of the calling thread (db_conn_get).
 * Verification is one prepared point lookup on that connection, never a
 * cache, so a revocation holds for the very next request of every thread,
 * also in a running server.
 */
#ifndef SHIKAKU_DB_KEY_DB_H
#define SHIKAKU_DB_KEY_DB_H

#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"

#define DB_KEY_ID_LEN     12
#define DB_KEY_SECRET_LEN 43
/* "shk_" + id + "_" + secret */
#define DB_KEY_TOKEN_LEN    (4 + DB_KEY_ID_LEN + 1 + DB_KEY_SECRET_LEN)
#define DB_KEY_FACILITY_MAX 64
#define DB_KEY_HASH_LEN     32  /* SHA-256 of the secret */
#define DB_KEY_NAME_MAX     200 /* bytes of UTF-8 */

/* Ordered: a role includes the rights of those before it. */
enum db_key_role {
	DB_KEY_ROLE_NONE = 0,
	DB_KEY_ROLE_READER,
	DB_KEY_ROLE_WRITER,
	DB_KEY_ROLE_ADMIN
};

/* A key as stored, without its hash (which never leaves key_db.c). */
struct db_key {
	char id[DB_KEY_ID_LEN + 1];
	enum db_key_role role;
	char facility_id[DB_KEY_FACILITY_MAX + 1]; /* "" = every facility */
	char name[DB_KEY_NAME_MAX + 1];            /* "" = none */
	char created_at[32]; /* "2026-01-01T09:00:00+09:00" */
	char revoked_at[32]; /* "" = in force */
};

/* "reader", "writer", "admin"; NULL for NONE.  from_name: NONE if unknown. */
const char *db_key_role_name(enum db_key_role r);
enum db_key_role db_key_role_from_name(const char *s);

/* Makes a new key of role (not NONE) for facility_id (NULL or "" = none;
 * at most DB_KEY_FACILITY_MAX bytes) named name (NULL or "" = none; at
 * most DB_KEY_NAME_MAX bytes), created at now (POSIX seconds).  Writes
 * the key and its NUL into key_out (the only time it exists in clear:
 * the caller shows it once and wipes it) and the stored record into
 * *out (may be NULL).  DB_ERROR on bad arguments or when the random
 * source or the hash fails. */
enum db_result db_key_create(struct db_conn *c, enum db_key_role role,
			     const char *facility_id, const char *name,
			     double now, char key_out[DB_KEY_TOKEN_LEN + 1],
			     struct db_key *out);

/* Calls fn for each key, revoked ones included, oldest first; fn returns
 * 0 to go on, 1 to stop.  The record is borrowed for the call only. */
enum db_result db_key_list(struct db_conn *c,
			   int (*fn)(const struct db_key *, void *), void *arg);

/* Revokes key id at now.  DB_OK when it is revoked now or was already
 * (revoking is idempotent; the first revoked_at stays), DB_NOT_FOUND
 * when no key has this id.  *out (may be NULL) receives the record. */
enum db_result db_key_revoke(struct db_conn *c, const char *id, double now,
			     struct db_key *out);

/* Checks a bearer token (borrowed, len bytes, not necessarily
 * NUL-terminated; may hold NUL bytes, which make it malformed).  DB_OK
 * with the key in *out when it is a key in force; DB_NOT_FOUND when it
 * is malformed, unknown, revoked or its secret does not match — one
 * answer for all, so a caller cannot tell which; DB_BUSY/DB_ERROR when
 * the store fails (answer 503, not 401). */
enum db_result db_key_verify(struct db_conn *c, const char *token, size_t len,
			     struct db_key *out);

#endif
