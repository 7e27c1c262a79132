/* session_db.h - browser sessions of the facility page (SPEC §8): a random
 * token in an HttpOnly cookie, stored only as its SHA-256, bound to the
 * key that signed in.
 *
 * All functions take a connection of the calling thread (db_conn_get).
 * The statements are prepared per call rather than in db.c's cache: a
 * session is looked up only for the page's requests, never on the API's
 * hot paths.
 */
#ifndef SHIKAKU_DB_SESSION_DB_H
#define SHIKAKU_DB_SESSION_DB_H

#include <stddef.h>

#include "db/db.h"
#include "db/key_db.h"

#define DB_SESSION_TOKEN_LEN 43 /* base64url of 32 random bytes */
#define DB_SESSION_HASH_LEN  32 /* SHA-256 of the token: what is stored */

struct db_session {
	char key_id[DB_KEY_ID_LEN + 1];
	enum db_key_role role;                     /* the key's, now */
	char facility_id[DB_KEY_FACILITY_MAX + 1]; /* "" = every facility */
	char csrf[DB_SESSION_TOKEN_LEN + 1];
	double created_at, last_seen; /* POSIX seconds */
};

/* Opens a session for key_id at now and drops every expired one (idle
 * and max in seconds).  Writes the new token and its NUL into token_out
 * (shown once, in the cookie) and the session into *out. */
enum db_result db_session_create(struct db_conn *c, const char *key_id,
				 double now, double idle, double max,
				 char token_out[DB_SESSION_TOKEN_LEN + 1],
				 struct db_session *out);

/* The session of token (len bytes, borrowed) at now: DB_OK with *out when
 * it is in force (its key unrevoked, used within idle seconds, opened
 * within max), and marks it used; DB_NOT_FOUND otherwise (an expired one
 * is deleted). */
enum db_result db_session_get(struct db_conn *c, const char *token, size_t len,
			      double now, double idle, double max,
			      struct db_session *out);

/* Ends the session of token: DB_OK (also when there was none). */
enum db_result db_session_delete(struct db_conn *c, const char *token,
				 size_t len);

#endif
