/* session.c - the PostgreSQL store's browser sessions: rows only (the
 * token, its hash and the rules of expiry are db/session_db.c's).  Every
 * lookup reads the table (joined with the key), never a cache: a session
 * ended or a key revoked through any replica is refused by every
 * replica's next request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/internal.h"
#include "db/session_db.h"

/* A double as text that reads back exactly. */
static void num(double v, char out[32])
{
	snprintf(out, 32, "%.17g", v);
}

/* Runs id with the hash as $1 (binary) and up to 5 more text values. */
static PGresult *exec_hash(struct db_conn *c, enum dbpg_stmt id,
			   const unsigned char *hash, int n,
			   const char *const *more)
{
	const char *vals[6] = {(const char *)hash};
	int lens[6] = {DB_SESSION_HASH_LEN}, formats[6] = {1};
	int i;

	for (i = 0; i < n; i++)
		vals[i + 1] = more[i];
	return dbpg_execv(c, id, n + 1, vals, lens, formats, false);
}

static enum db_result done(struct db_conn *c, PGresult *r)
{
	enum db_result res = dbpg_result(c, r);

	PQclear(r);
	return res;
}

enum db_result dbpg_session_insert(struct db_conn *c, const unsigned char *hash,
				   const char *key_id, const char *csrf,
				   double now, double idle_before,
				   double max_before)
{
	char t_now[32], t_idle[32], t_max[32];
	const char *expire[2] = {t_idle, t_max};
	const char *more[3] = {key_id, csrf, t_now};
	enum db_result r;

	num(now, t_now);
	num(idle_before, t_idle);
	num(max_before, t_max);
	r = done(c, dbpg_exec(c, DBPG_STMT_SESSION_EXPIRE, 2, expire));
	if (r != DB_OK)
		return r;
	return done(c, exec_hash(c, DBPG_STMT_SESSION_INSERT, hash, 3, more));
}

static void col(const PGresult *r, int i, char *dst, size_t n)
{
	snprintf(dst, n, "%s", PQgetisnull(r, 0, i) ? "" : PQgetvalue(r, 0, i));
}

enum db_result dbpg_session_lookup(struct db_conn *c, const unsigned char *hash,
				   struct db_session *out)
{
	PGresult *r = exec_hash(c, DBPG_STMT_SESSION_GET, hash, 0, NULL);
	enum db_result res = dbpg_result(c, r);
	char role[16];

	if (res == DB_OK && PQntuples(r) == 0) {
		res = DB_NOT_FOUND;
	} else if (res == DB_OK) {
		col(r, 0, out->key_id, sizeof out->key_id);
		col(r, 1, role, sizeof role);
		out->role = db_key_role_from_name(role);
		col(r, 2, out->facility_id, sizeof out->facility_id);
		col(r, 3, out->csrf, sizeof out->csrf);
		out->created_at = strtod(PQgetvalue(r, 0, 4), NULL);
		out->last_seen = strtod(PQgetvalue(r, 0, 5), NULL);
	}
	PQclear(r);
	return res;
}

enum db_result dbpg_session_touch(struct db_conn *c, const unsigned char *hash,
				  double now)
{
	char t_now[32];
	const char *more[1] = {t_now};

	num(now, t_now);
	return done(c, exec_hash(c, DBPG_STMT_SESSION_TOUCH, hash, 1, more));
}

enum db_result dbpg_session_remove(struct db_conn *c, const unsigned char *hash)
{
	return done(c, exec_hash(c, DBPG_STMT_SESSION_DELETE, hash, 0, NULL));
}
