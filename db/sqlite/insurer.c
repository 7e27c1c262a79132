/* insurer.c - the SQLite store's insurer registry table. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/tokyo_time.h"
#include "db/insurer_db.h"
#include "db/internal.h"

static enum db_result read_insurer(sqlite3_stmt *s, void *out)
{
	db_insurer_read(dbsq_row_text, s, out);
	return DB_OK;
}

enum db_result dbsq_insurer_get(struct db_conn *c, const char *number,
				struct db_insurer *out)
{
	return dbsq_get(c, DB_STMT_INSURER_GET, db_insurer_key(number),
			read_insurer, out);
}

enum db_result dbsq_insurer_put(struct db_conn *c, struct db_insurer *ins,
				bool in_tx, double now, bool *created)
{
	struct db_insurer_texts t;
	struct db_insurer old;
	enum db_result r;

	if (!in_tx) {
		r = db_begin(c);
		if (r != DB_OK)
			return r;
	}
	memmove(ins->number, db_insurer_key(ins->number),
		strlen(db_insurer_key(ins->number)) + 1);
	r = dbsq_insurer_get(c, ins->number, &old);
	if (r == DB_OK || r == DB_NOT_FOUND) {
		*created = r == DB_NOT_FOUND;
		base_tokyo_time(now, ins->updated_at);
		db_insurer_texts(ins, &t);
		r = dbsq_exec(c, DB_STMT_INSURER_UPSERT, DB_INSURER_NCOLS, t.v);
	}
	if (!in_tx)
		r = db_end(c, r);
	return r;
}

DBSQ_EACH_ROW(search_row, struct db_insurer, read_insurer)

enum db_result dbsq_insurer_search(struct db_conn *c, const char *after,
				   int limit, int prefecture,
				   enum rules_scheme scheme, const char *q,
				   int (*fn)(const struct db_insurer *, void *),
				   void *arg)
{
	sqlite3_stmt *s = db_stmt(c, DB_STMT_INSURER_SEARCH);
	struct search_row_each e = {fn, arg};

	if (!s)
		return DB_ERROR;
	sqlite3_bind_text(s, 1, after ? after : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, limit);
	if (prefecture > 0)
		sqlite3_bind_int(s, 3, prefecture);
	if (scheme != RULES_SCHEME_UNKNOWN)
		sqlite3_bind_text(s, 4, rules_scheme_name(scheme), -1,
				  SQLITE_STATIC);
	if (q)
		sqlite3_bind_text(s, 5, q, -1, SQLITE_STATIC);
	return dbsq_each(c, s, search_row, &e);
}
