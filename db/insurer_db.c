/* insurer_db.c - the insurer registry (SPEC §5), what both stores share;
 * each operation dispatches to db/sqlite/insurer.c or db/pg/insurer.c. */
#include <string.h>

#include "db/insurer_db.h"
#include "db/internal.h"

#define PG(c) ((c)->kind == DB_KIND_PG)

void db_insurer_init(struct db_insurer *ins)
{
	memset(ins, 0, sizeof *ins);
}

/* The registry's key for a number: an 8-digit number beginning 00 is the
 * zero-padded 6-digit NHI number (SPEC §5), kept under its 6 digits so
 * that both spellings find the same row. */
const char *db_insurer_key(const char *number)
{
	if (strlen(number) == 8 && number[0] == '0' && number[1] == '0')
		return number + 2;
	return number;
}

enum db_result db_insurer_get(struct db_conn *c, const char *number,
			      struct db_insurer *out)
{
	return PG(c) ? dbpg_insurer_get(c, number, out)
		     : dbsq_insurer_get(c, number, out);
}

enum db_result db_insurer_put(struct db_conn *c, struct db_insurer *ins,
			      bool in_tx, double now, bool *created)
{
	return PG(c) ? dbpg_insurer_put(c, ins, in_tx, now, created)
		     : dbsq_insurer_put(c, ins, in_tx, now, created);
}

enum db_result db_insurer_search(struct db_conn *c, const char *after,
				 int limit, int prefecture,
				 enum rules_scheme scheme, const char *q,
				 int (*fn)(const struct db_insurer *, void *),
				 void *arg)
{
	return PG(c) ? dbpg_insurer_search(c, after, limit, prefecture, scheme,
					   q, fn, arg)
		     : dbsq_insurer_search(c, after, limit, prefecture, scheme,
					   q, fn, arg);
}
