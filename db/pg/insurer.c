/* insurer.c - the PostgreSQL store's insurer registry.  A write notifies
 * every replica (pg_notify on DBPG_REGISTRY_CHANNEL, delivered at commit):
 * their listeners move the registry generation, so their caches drop the
 * row within a second. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/tokyo_time.h"
#include "db/internal.h"

enum {
	COL_NUMBER = 0,
	COL_NAME_JA,
	COL_NAME_EN,
	COL_SCHEME,
	COL_PREF,
	COL_ADDRESS,
	COL_PHONE,
	COL_URL,
	COL_UPDATED,
	COL_COUNT
};

static void copy_col(const PGresult *r, int row, int col, char *dst,
		     size_t dstlen)
{
	snprintf(dst, dstlen, "%s",
		 PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

static void read_insurer(const PGresult *r, int row, struct db_insurer *ins)
{
	const char *scheme;
	int v;

	db_insurer_init(ins);
	copy_col(r, row, COL_NUMBER, ins->number, sizeof ins->number);
	copy_col(r, row, COL_NAME_JA, ins->name_ja, sizeof ins->name_ja);
	copy_col(r, row, COL_NAME_EN, ins->name_en, sizeof ins->name_en);
	scheme = PQgetisnull(r, row, COL_SCHEME)
		     ? NULL
		     : PQgetvalue(r, row, COL_SCHEME);
	v = scheme ? rules_scheme_from_name(scheme) : 0;
	ins->scheme = v < 0 ? RULES_SCHEME_UNKNOWN : (enum rules_scheme)v;
	ins->prefecture = PQgetisnull(r, row, COL_PREF)
			      ? 0
			      : atoi(PQgetvalue(r, row, COL_PREF));
	copy_col(r, row, COL_ADDRESS, ins->address, sizeof ins->address);
	copy_col(r, row, COL_PHONE, ins->phone, sizeof ins->phone);
	copy_col(r, row, COL_URL, ins->url, sizeof ins->url);
	copy_col(r, row, COL_UPDATED, ins->updated_at, sizeof ins->updated_at);
}

static const char *opt(const char *s)
{
	return s && *s ? s : NULL;
}

enum db_result dbpg_insurer_get(struct db_conn *c, const char *number,
				struct db_insurer *out)
{
	const char *vals[1] = {db_insurer_key(number)};
	PGresult *r = dbpg_exec(c, DBPG_STMT_INSURER_GET, 1, vals);
	enum db_result res = dbpg_result(c, r);

	if (res == DB_OK) {
		if (PQntuples(r) == 1)
			read_insurer(r, 0, out);
		else
			res = DB_NOT_FOUND;
	}
	PQclear(r);
	return res;
}

/* The upsert and the notification, in the caller's transaction. */
static enum db_result upsert(struct db_conn *c, const struct db_insurer *ins,
			     bool *created)
{
	char pref[16];
	const char *vals[COL_COUNT];
	enum db_result res;
	PGresult *r;

	snprintf(pref, sizeof pref, "%d", ins->prefecture);
	vals[COL_NUMBER] = ins->number;
	vals[COL_NAME_JA] = opt(ins->name_ja);
	vals[COL_NAME_EN] = opt(ins->name_en);
	vals[COL_SCHEME] = opt(rules_scheme_name(ins->scheme));
	vals[COL_PREF] = ins->prefecture > 0 ? pref : NULL;
	vals[COL_ADDRESS] = opt(ins->address);
	vals[COL_PHONE] = opt(ins->phone);
	vals[COL_URL] = opt(ins->url);
	vals[COL_UPDATED] = ins->updated_at;
	r = dbpg_exec(c, DBPG_STMT_INSURER_UPSERT, COL_COUNT, vals);
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
	if (!in_tx) {
		if (r == DB_OK)
			r = dbpg_commit(c);
		if (r != DB_OK)
			dbpg_rollback(c);
	}
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
