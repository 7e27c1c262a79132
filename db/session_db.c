/* session_db.c - browser sessions (see session_db.h); each operation
 * dispatches to db/sqlite/session.c or db/pg/session.c. */
#include "db/internal.h"
#include "db/session_db.h"

#define PG(c) ((c)->kind == DB_KIND_PG)

enum db_result db_session_create(struct db_conn *c, const char *key_id,
				 double now, double idle, double max,
				 char token_out[DB_SESSION_TOKEN_LEN + 1],
				 struct db_session *out)
{
	return PG(c) ? dbpg_session_create(c, key_id, now, idle, max, token_out,
					   out)
		     : dbsq_session_create(c, key_id, now, idle, max, token_out,
					   out);
}

enum db_result db_session_get(struct db_conn *c, const char *token, size_t len,
			      double now, double idle, double max,
			      struct db_session *out)
{
	return PG(c) ? dbpg_session_get(c, token, len, now, idle, max, out)
		     : dbsq_session_get(c, token, len, now, idle, max, out);
}

enum db_result db_session_delete(struct db_conn *c, const char *token,
				 size_t len)
{
	return PG(c) ? dbpg_session_delete(c, token, len)
		     : dbsq_session_delete(c, token, len);
}
