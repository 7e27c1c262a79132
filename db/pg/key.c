/* key.c - the PostgreSQL store's API keys (wt-pg2: not written yet). */
#include "db/internal.h"

enum db_result dbpg_key_create(struct db_conn *c, enum db_key_role role,
			       const char *facility_id, const char *name,
			       double now, char *key_out, struct db_key *out)
{
	(void)role, (void)facility_id, (void)name, (void)now, (void)key_out,
	    (void)out;
	return dbpg_unsupported(c, "keys");
}

enum db_result dbpg_key_list(struct db_conn *c,
			     int (*fn)(const struct db_key *, void *),
			     void *arg)
{
	(void)fn, (void)arg;
	return dbpg_unsupported(c, "keys");
}

enum db_result dbpg_key_revoke(struct db_conn *c, const char *id, double now,
			       struct db_key *out)
{
	(void)id, (void)now, (void)out;
	return dbpg_unsupported(c, "keys");
}

enum db_result dbpg_key_verify(struct db_conn *c, const char *token, size_t len,
			       struct db_key *out)
{
	(void)token, (void)len, (void)out;
	return dbpg_unsupported(c, "keys");
}
