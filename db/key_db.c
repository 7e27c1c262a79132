/* key_db.c - API keys (see key_db.h), what both stores share; each
 * operation dispatches to db/sqlite/key.c or db/pg/key.c. */
#include <string.h>

#include "db/internal.h"
#include "db/key_db.h"

#define PG(c) ((c)->kind == DB_KIND_PG)

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

enum db_result db_key_create(struct db_conn *c, enum db_key_role role,
			     const char *facility_id, const char *name,
			     double now, char key_out[DB_KEY_TOKEN_LEN + 1],
			     struct db_key *out)
{
	return PG(c) ? dbpg_key_create(c, role, facility_id, name, now, key_out,
				       out)
		     : dbsq_key_create(c, role, facility_id, name, now, key_out,
				       out);
}

enum db_result db_key_list(struct db_conn *c,
			   int (*fn)(const struct db_key *, void *), void *arg)
{
	return PG(c) ? dbpg_key_list(c, fn, arg) : dbsq_key_list(c, fn, arg);
}

enum db_result db_key_revoke(struct db_conn *c, const char *id, double now,
			     struct db_key *out)
{
	return PG(c) ? dbpg_key_revoke(c, id, now, out)
		     : dbsq_key_revoke(c, id, now, out);
}

enum db_result db_key_verify(struct db_conn *c, const char *token, size_t len,
			     struct db_key *out)
{
	return PG(c) ? dbpg_key_verify(c, token, len, out)
		     : dbsq_key_verify(c, token, len, out);
}
