/* key.c - the PostgreSQL store's API keys: rows only (the key's format,
 * hash and checks are db/key_db.c's).  A key is looked up on every
 * request, never cached: a key revoked through any replica (or the CLI) is
 * refused by every replica's next request. */
#include <stdio.h>
#include <string.h>

#include "db/internal.h"
#include "db/key_db.h"

/* Column i of row 0 of r (binary results: text columns are their bytes)
 * into dst; "" for NULL. */
static void col(const PGresult *r, int row, int i, char *dst, size_t n)
{
	if (PQgetisnull(r, row, i))
		dst[0] = '\0';
	else
		snprintf(dst, n, "%.*s", PQgetlength(r, row, i),
			 PQgetvalue(r, row, i));
}

/* Columns id, role, facility_id, name, created_at, revoked_at. */
static void read_key(const PGresult *r, int row, struct db_key *k)
{
	char role[16];

	memset(k, 0, sizeof *k);
	col(r, row, 0, k->id, sizeof k->id);
	col(r, row, 1, role, sizeof role);
	k->role = db_key_role_from_name(role);
	col(r, row, 2, k->facility_id, sizeof k->facility_id);
	col(r, row, 3, k->name, sizeof k->name);
	col(r, row, 4, k->created_at, sizeof k->created_at);
	col(r, row, 5, k->revoked_at, sizeof k->revoked_at);
}

static const char *opt(const char *s)
{
	return s && *s ? s : NULL;
}

enum db_result dbpg_key_insert(struct db_conn *c, const struct db_key *k,
			       const unsigned char hash[DB_KEY_HASH_LEN])
{
	const char *vals[6] = {k->id,
			       (const char *)hash,
			       db_key_role_name(k->role),
			       opt(k->facility_id),
			       opt(k->name),
			       k->created_at};
	const int lens[6] = {0, DB_KEY_HASH_LEN, 0, 0, 0, 0};
	const int formats[6] = {0, 1, 0, 0, 0, 0};
	PGresult *r =
	    dbpg_execv(c, DBPG_STMT_KEY_INSERT, 6, vals, lens, formats, false);
	enum db_result res = dbpg_result(c, r);

	/* ON CONFLICT DO NOTHING: no row when the id is taken */
	if (res == DB_OK && strcmp(PQcmdTuples(r), "1") != 0)
		res = DB_PRECONDITION;
	PQclear(r);
	return res;
}

enum db_result dbpg_key_get(struct db_conn *c, const char *id,
			    struct db_key *out,
			    unsigned char hash[DB_KEY_HASH_LEN])
{
	const char *vals[1] = {id};
	PGresult *r =
	    dbpg_execv(c, DBPG_STMT_KEY_GET, 1, vals, NULL, NULL, true);
	enum db_result res = dbpg_result(c, r);

	if (res == DB_OK && PQntuples(r) == 0) {
		res = DB_NOT_FOUND;
	} else if (res == DB_OK) {
		read_key(r, 0, out);
		if (PQgetlength(r, 0, 6) == DB_KEY_HASH_LEN)
			memcpy(hash, PQgetvalue(r, 0, 6), DB_KEY_HASH_LEN);
		else
			res = DB_ERROR; /* the schema's CHECK forbids it */
	}
	PQclear(r);
	return res;
}

enum db_result dbpg_key_list(struct db_conn *c,
			     int (*fn)(const struct db_key *, void *),
			     void *arg)
{
	PGresult *r =
	    dbpg_execv(c, DBPG_STMT_KEY_LIST, 0, NULL, NULL, NULL, true);
	enum db_result res = dbpg_result(c, r);
	struct db_key k;
	int i;

	for (i = 0; res == DB_OK && i < PQntuples(r); i++) {
		read_key(r, i, &k);
		if (fn(&k, arg) != 0)
			break;
	}
	PQclear(r);
	return res;
}

enum db_result dbpg_key_revoke(struct db_conn *c, const char *id,
			       const char *when, struct db_key *out)
{
	const char *vals[2] = {id, when};
	PGresult *r =
	    dbpg_execv(c, DBPG_STMT_KEY_REVOKE, 2, vals, NULL, NULL, true);
	enum db_result res = dbpg_result(c, r);

	/* One statement: the first revoked_at stays, and the row read back
	 * tells an unknown id (no row) from one revoked before. */
	if (res == DB_OK && PQntuples(r) == 0)
		res = DB_NOT_FOUND;
	else if (res == DB_OK && out)
		read_key(r, 0, out);
	PQclear(r);
	return res;
}
