/* session.c - the PostgreSQL store's browser sessions (wt-pg2: not written
 * yet). */
#include "db/internal.h"

enum db_result dbpg_session_create(struct db_conn *c, const char *key_id,
				   double now, double idle, double max,
				   char *token_out, struct db_session *out)
{
	(void)key_id, (void)now, (void)idle, (void)max, (void)token_out,
	    (void)out;
	return dbpg_unsupported(c, "sessions");
}

enum db_result dbpg_session_get(struct db_conn *c, const char *token,
				size_t len, double now, double idle, double max,
				struct db_session *out)
{
	(void)token, (void)len, (void)now, (void)idle, (void)max, (void)out;
	return dbpg_unsupported(c, "sessions");
}

enum db_result dbpg_session_delete(struct db_conn *c, const char *token,
				   size_t len)
{
	(void)token, (void)len;
	return dbpg_unsupported(c, "sessions");
}
