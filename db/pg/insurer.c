/* insurer.c - the PostgreSQL store's insurer registry. */
#include "db/internal.h"

enum db_result dbpg_insurer_get(struct db_conn *c, const char *number,
				struct db_insurer *out)
{
	(void)number, (void)out;
	return dbpg_unsupported(c, "insurers");
}

enum db_result dbpg_insurer_put(struct db_conn *c, struct db_insurer *ins,
				bool in_tx, double now, bool *created)
{
	(void)ins, (void)in_tx, (void)now, (void)created;
	return dbpg_unsupported(c, "insurers");
}

enum db_result dbpg_insurer_search(struct db_conn *c, const char *after,
				   int limit, int prefecture,
				   enum rules_scheme scheme, const char *q,
				   int (*fn)(const struct db_insurer *, void *),
				   void *arg)
{
	(void)after, (void)limit, (void)prefecture, (void)scheme, (void)q,
	    (void)fn, (void)arg;
	return dbpg_unsupported(c, "insurers");
}
