/* audit_db.c - audit rows (see audit_db.h), what both stores share; each
 * operation dispatches to db/sqlite/audit.c or db/pg/audit.c. */
#include <stdio.h>
#include <stdlib.h>
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

/* A method as sent is the client's choice: only an upper-case token is
 * kept (what the audited routes take), anything else is "OTHER". */
static const char *method_safe(const char *m)
{
	size_t i;

	for (i = 0; m && m[i]; i++)
		if (i >= DB_AUDIT_METHOD_MAX || m[i] < 'A' || m[i] > 'Z')
			return "OTHER";
	return m && m[0] ? m : "OTHER";
}

/* The valid ones of ids[0..n) into row (ids_buf, valid: room for n). */
static void row_ids(struct db_audit_out *row, const char *const *ids, size_t n,
		    char *ids_buf, const char **valid)
{
	size_t i, len = 0, k;

	ids_buf[0] = '\0';
	row->n_ids = 0;
	for (i = 0; i < n; i++) {
		if (!db_audit_id_valid(ids[i]))
			continue;
		k = strlen(ids[i]);
		if (len)
			ids_buf[len++] = ' ';
		memcpy(ids_buf + len, ids[i], k + 1);
		valid[row->n_ids++] = ids_buf + len;
		len += k;
	}
	/* valid[] points into ids_buf: cut it at the spaces afterwards */
	row->ids_text = ids_buf;
	row->ids_len = len;
	row->ids = valid;
}

static void row_head(struct db_audit_out *row, const struct audit_record *r)
{
	db_audit_time_format(r->time_ms, row->when);
	snprintf(row->key_id, sizeof row->key_id, "%.*s", DB_AUDIT_KEY_MAX,
		 r->key_id ? r->key_id : "");
	row->request_id =
	    db_audit_id_valid(r->request_id) ? r->request_id : "-";
	row->method = method_safe(r->method);
	snprintf(row->route, sizeof row->route, "%.*s", DB_AUDIT_ROUTE_MAX,
		 r->route && r->route[0] ? r->route : "-");
	row->status = r->status;
}

enum db_result
db_audit_rows(const struct audit_record *recs, size_t n,
	      enum db_result (*fn)(void *arg, const struct db_audit_out *row),
	      void *arg)
{
	/* the text of the ids, and a copy of it cut at the spaces */
	size_t cap = DB_AUDIT_ROW_IDS_MAX * (DB_AUDIT_ID_MAX + 1) + 1;
	char *buf = malloc(2 * cap);
	const char **valid = malloc(DB_AUDIT_ROW_IDS_MAX * sizeof *valid);
	struct db_audit_out row;
	enum db_result r = DB_OK;
	size_t i, off, chunk, k;

	if (!buf || !valid)
		r = DB_ERROR;
	for (i = 0; i < n && r == DB_OK; i++) {
		off = 0;
		do {
			const char *const *ids = recs[i].person_ids;

			chunk = ids ? recs[i].n_person_ids - off : 0;
			if (chunk > DB_AUDIT_ROW_IDS_MAX)
				chunk = DB_AUDIT_ROW_IDS_MAX;
			memset(&row, 0, sizeof row);
			row_head(&row, &recs[i]);
			row_ids(&row, ids ? ids + off : NULL, chunk, buf + cap,
				valid);
			/* ids_text keeps its spaces; valid[] its own copy */
			memcpy(buf, buf + cap, row.ids_len + 1);
			row.ids_text = buf;
			for (k = 0; k < row.ids_len; k++)
				if (buf[cap + k] == ' ')
					buf[cap + k] = '\0';
			/* The count goes with the first row only. */
			row.absent = off ? 0 : (long long)recs[i].n_absent;
			r = fn(arg, &row);
			off += chunk;
		} while (r == DB_OK && recs[i].person_ids &&
			 off < recs[i].n_person_ids);
	}
	free(buf);
	free(valid);
	return r;
}
