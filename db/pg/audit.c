/* audit.c - the PostgreSQL store's audit rows (wt-pg2: not written yet). */
#include "db/internal.h"

enum db_result dbpg_audit_insert(struct db_conn *c,
				 const struct audit_record *recs, size_t n)
{
	(void)recs, (void)n;
	return dbpg_unsupported(c, "audit");
}

enum db_result dbpg_audit_bytes(struct db_conn *c, long long *bytes)
{
	(void)bytes;
	return dbpg_unsupported(c, "audit");
}

enum db_result dbpg_audit_query(struct db_conn *c,
				const struct db_audit_filter *f,
				int (*fn)(const struct db_audit_row *, void *),
				void *arg)
{
	(void)f, (void)fn, (void)arg;
	return dbpg_unsupported(c, "audit");
}

enum db_result dbpg_audit_expire(struct db_conn *c, const char *before,
				 long long *deleted)
{
	(void)before, (void)deleted;
	return dbpg_unsupported(c, "audit");
}
