/* insurer.c - the PostgreSQL store's insurer registry.  A write notifies
 * every replica (pg_notify on DBPG_REGISTRY_CHANNEL, delivered at commit):
 * their listeners move the registry generation, so their caches drop the
 * row within a second. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/tokyo_time.h"
#include "db/internal.h"

static void read_insurer(const PGresult *r, int row, void *out)
{
	const struct dbpg_row pr = {r, row};

	db_insurer_read(dbpg_row_text, &pr, out);
}

enum db_result dbpg_insurer_get(struct db_conn *c, const char *number,
				struct db_insurer *out)
{
	const char *vals[1] = {db_insurer_key(number)};

	return dbpg_one(c, DBPG_STMT_INSURER_GET, 1, vals, read_insurer, out);
}

/* The upsert and the notification, in the caller's transaction. */
static enum db_result upsert(struct db_conn *c, const struct db_insurer *ins,
			     bool *created)
{
	struct db_insurer_texts t;
	enum db_result res;
	PGresult *r;

	db_insurer_texts(ins, &t);
	r = dbpg_exec(c, DBPG_STMT_INSURER_UPSERT, DB_INSURER_NCOLS, t.v);
	res = dbpg_result(c, r);
	if (res == DB_OK)
		*created =
		    PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (res != DB_OK)
		return res;
	r = dbpg_exec(c, DBPG_STMT_REGISTRY_NOTIFY, 0, NULL);
	res = dbpg_result(c, r);
	PQclear(r);
	return res;
}

enum db_result dbpg_insurer_put(struct db_conn *c, struct db_insurer *ins,
				bool in_tx, double now, bool *created)
{
	enum db_result r;

	memmove(ins->number, db_insurer_key(ins->number),
		strlen(db_insurer_key(ins->number)) + 1);
	base_tokyo_time(now, ins->updated_at);
	if (!in_tx && (r = dbpg_begin(c)) != DB_OK)
		return r;
	r = upsert(c, ins, created);
	if (!in_tx)
		r = db_end(c, r);
	return r;
}

enum db_result dbpg_insurer_search(struct db_conn *c, const char *after,
				   int limit, int prefecture,
				   enum rules_scheme scheme, const char *q,
				   int (*fn)(const struct db_insurer *, void *),
				   void *arg)
{
	struct db_insurer ins;
	char lim[16], pref[16];
	const char *vals[5];
	enum db_result res;
	PGresult *r;
	int i, n;

	snprintf(lim, sizeof lim, "%d", limit);
	snprintf(pref, sizeof pref, "%d", prefecture);
	vals[0] = after ? after : "";
	vals[1] = lim;
	vals[2] = prefecture > 0 ? pref : NULL;
	vals[3] =
	    scheme != RULES_SCHEME_UNKNOWN ? rules_scheme_name(scheme) : NULL;
	vals[4] = q;
	r = dbpg_exec(c, DBPG_STMT_INSURER_SEARCH, 5, vals);
	res = dbpg_result(c, r);
	n = res == DB_OK ? PQntuples(r) : 0;
	for (i = 0; i < n; i++) {
		read_insurer(r, i, &ins);
		if (fn(&ins, arg) != 0)
			break;
	}
	PQclear(r);
	return res;
}
