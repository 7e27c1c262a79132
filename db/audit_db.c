/* audit_db.c - audit rows (see audit_db.h), what both stores share; each
 * operation dispatches to db/sqlite/audit.c or db/pg/audit.c. */
#include <string.h>

#include "base/tokyo_time.h"
#include "db/audit_db.h"
#include "db/internal.h"
#include "rules/rules.h"

#define PG(c) ((c)->kind == DB_KIND_PG)

void db_audit_time_format(int64_t ms, char out[DB_AUDIT_TIME_LEN + 1])
{
	base_tokyo_time_ms(ms, out);
}

bool db_audit_id_valid(const char *s)
{
	return db_audit_id_chars_ok(s) &&
	       !rules_is_individual_number_ascii(s, strlen(s));
}

bool db_audit_id_chars_ok(const char *s)
{
	size_t i;

	for (i = 0; s && s[i]; i++) {
		char ch = s[i];

		if (i >= DB_AUDIT_ID_MAX ||
		    !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-'))
			return false;
	}
	return i > 0;
}

enum db_result db_audit_insert(struct db_conn *c,
			       const struct audit_record *recs, size_t n)
{
	return PG(c) ? dbpg_audit_insert(c, recs, n)
		     : dbsq_audit_insert(c, recs, n);
}

enum db_result db_audit_bytes(struct db_conn *c, long long *bytes)
{
	return PG(c) ? dbpg_audit_bytes(c, bytes) : dbsq_audit_bytes(c, bytes);
}

enum db_result db_audit_query(struct db_conn *c,
			      const struct db_audit_filter *f,
			      int (*fn)(const struct db_audit_row *, void *),
			      void *arg)
{
	return PG(c) ? dbpg_audit_query(c, f, fn, arg)
		     : dbsq_audit_query(c, f, fn, arg);
}

enum db_result db_audit_expire(struct db_conn *c, const char *before,
			       long long *deleted)
{
	return PG(c) ? dbpg_audit_expire(c, before, deleted)
		     : dbsq_audit_expire(c, before, deleted);
}
