/* insurer.c - the SQLite store's insurer registry table. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/tokyo_time.h"
#include "db/insurer_db.h"
#include "db/internal.h"

enum {
	COL_NUMBER = 1,
	COL_NAME_JA,
	COL_NAME_EN,
	COL_SCHEME,
	COL_PREF,
	COL_ADDRESS,
	COL_PHONE,
	COL_URL,
	COL_UPDATED
};

static void copy_col(sqlite3_stmt *s, int col, char *dst, size_t dstlen)
{
	const unsigned char *t = sqlite3_column_text(s, col - 1);

	snprintf(dst, dstlen, "%s", t ? (const char *)t : "");
}

static void read_insurer(sqlite3_stmt *s, struct db_insurer *ins)
{
	const unsigned char *scheme;
	int v;

	db_insurer_init(ins);
	copy_col(s, COL_NUMBER, ins->number, sizeof ins->number);
	copy_col(s, COL_NAME_JA, ins->name_ja, sizeof ins->name_ja);
	copy_col(s, COL_NAME_EN, ins->name_en, sizeof ins->name_en);
	scheme = sqlite3_column_text(s, COL_SCHEME - 1);
	v = scheme ? rules_scheme_from_name((const char *)scheme) : 0;
	ins->scheme = v < 0 ? RULES_SCHEME_UNKNOWN : (enum rules_scheme)v;
	ins->prefecture = sqlite3_column_int(s, COL_PREF - 1);
	copy_col(s, COL_ADDRESS, ins->address, sizeof ins->address);
	copy_col(s, COL_PHONE, ins->phone, sizeof ins->phone);
	copy_col(s, COL_URL, ins->url, sizeof ins->url);
	copy_col(s, COL_UPDATED, ins->updated_at, sizeof ins->updated_at);
}

static void bind_text(sqlite3_stmt *s, int col, const char *v)
{
	if (v && *v)
		sqlite3_bind_text(s, col, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, col);
}

enum db_result dbsq_insurer_get(struct db_conn *c, const char *number,
				struct db_insurer *out)
{
	sqlite3_stmt *s = db_stmt(c, DB_STMT_INSURER_GET);
	enum db_result r;
	int rc;

	if (!s)
		return DB_ERROR;
	sqlite3_bind_text(s, 1, db_insurer_key(number), -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		read_insurer(s, out);
		r = DB_OK;
	} else {
		r = rc == SQLITE_DONE ? DB_NOT_FOUND : db_conn_result(c, rc);
	}
	sqlite3_reset(s);
	return r;
}

enum db_result dbsq_insurer_put(struct db_conn *c, struct db_insurer *ins,
				bool in_tx, double now, bool *created)
{
	struct db_insurer old;
	sqlite3_stmt *s;
	enum db_result r;
	int rc;

	if (!in_tx) {
		r = db_begin(c);
		if (r != DB_OK)
			return r;
	}
	memmove(ins->number, db_insurer_key(ins->number),
		strlen(db_insurer_key(ins->number)) + 1);
	r = dbsq_insurer_get(c, ins->number, &old);
	if (r != DB_OK && r != DB_NOT_FOUND)
		goto out;
	*created = r == DB_NOT_FOUND;
	base_tokyo_time(now, ins->updated_at);
	s = db_stmt(c, DB_STMT_INSURER_UPSERT);
	if (!s) {
		r = DB_ERROR;
		goto out;
	}
	bind_text(s, COL_NUMBER, ins->number);
	bind_text(s, COL_NAME_JA, ins->name_ja);
	bind_text(s, COL_NAME_EN, ins->name_en);
	bind_text(s, COL_SCHEME, rules_scheme_name(ins->scheme));
	if (ins->prefecture > 0)
		sqlite3_bind_int(s, COL_PREF, ins->prefecture);
	bind_text(s, COL_ADDRESS, ins->address);
	bind_text(s, COL_PHONE, ins->phone);
	bind_text(s, COL_URL, ins->url);
	bind_text(s, COL_UPDATED, ins->updated_at);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	r = db_conn_result(c, rc);
out:
	if (!in_tx) {
		if (r == DB_OK)
			r = db_commit(c);
		if (r != DB_OK)
			db_rollback(c);
	}
	return r;
}

enum db_result dbsq_insurer_search(struct db_conn *c, const char *after,
				   int limit, int prefecture,
				   enum rules_scheme scheme, const char *q,
				   int (*fn)(const struct db_insurer *, void *),
				   void *arg)
{
	sqlite3_stmt *s = db_stmt(c, DB_STMT_INSURER_SEARCH);
	struct db_insurer ins;
	int rc;

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
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_insurer(s, &ins);
		if (fn(&ins, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(s);
	return db_conn_result(c, rc);
}
