/* insurer_db.c - the insurer registry (SPEC §5), what both stores share;
 * each operation dispatches to db/sqlite/insurer.c or db/pg/insurer.c. */
#include <stdio.h>
#include <stdlib.h>
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

static const char *opt(const char *s)
{
	return s && *s ? s : NULL;
}

void db_insurer_texts(const struct db_insurer *ins, struct db_insurer_texts *t)
{
	const char **v = t->v;

	snprintf(t->pref, sizeof t->pref, "%d", ins->prefecture);
	v[DB_ICOL_NUMBER] = ins->number;
	v[DB_ICOL_NAME_JA] = opt(ins->name_ja);
	v[DB_ICOL_NAME_EN] = opt(ins->name_en);
	v[DB_ICOL_SCHEME] = opt(rules_scheme_name(ins->scheme));
	v[DB_ICOL_PREF] = ins->prefecture > 0 ? t->pref : NULL;
	v[DB_ICOL_ADDRESS] = opt(ins->address);
	v[DB_ICOL_PHONE] = opt(ins->phone);
	v[DB_ICOL_URL] = opt(ins->url);
	v[DB_ICOL_UPDATED] = ins->updated_at;
}

/* Column col of row into dst, truncated; "" for NULL. */
static void copy_col(db_col_text_fn text, const void *row, int col, char *dst,
		     size_t dstlen)
{
	size_t n;
	const char *t = text(row, col, &n);

	snprintf(dst, dstlen, "%s", t ? t : "");
}

void db_insurer_read(db_col_text_fn text, const void *row,
		     struct db_insurer *ins)
{
	const char *scheme, *pref;
	size_t n;
	int v;

	db_insurer_init(ins);
	copy_col(text, row, DB_ICOL_NUMBER, ins->number, sizeof ins->number);
	copy_col(text, row, DB_ICOL_NAME_JA, ins->name_ja, sizeof ins->name_ja);
	copy_col(text, row, DB_ICOL_NAME_EN, ins->name_en, sizeof ins->name_en);
	scheme = text(row, DB_ICOL_SCHEME, &n);
	v = scheme ? rules_scheme_from_name(scheme) : 0;
	ins->scheme = v < 0 ? RULES_SCHEME_UNKNOWN : (enum rules_scheme)v;
	pref = text(row, DB_ICOL_PREF, &n);
	ins->prefecture = pref ? atoi(pref) : 0;
	copy_col(text, row, DB_ICOL_ADDRESS, ins->address, sizeof ins->address);
	copy_col(text, row, DB_ICOL_PHONE, ins->phone, sizeof ins->phone);
	copy_col(text, row, DB_ICOL_URL, ins->url, sizeof ins->url);
	copy_col(text, row, DB_ICOL_UPDATED, ins->updated_at,
		 sizeof ins->updated_at);
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
