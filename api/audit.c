/* audit.c - GET /v1/audit: the audit log, filtered and paged by seq.
 *
 * The cursor is the seq of the last row given (keyset pagination): rows
 * written between two pages are neither skipped nor repeated, since new
 * rows always get a higher seq. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/audit.h"
#include "api/internal.h"
#include "db/audit_db.h"
#include "db/audit_log.h"
#include "db/key_db.h"

#define ANSWER_MAX ((size_t)16 << 20)
/* A page stops growing past this many bytes and hands back a cursor:
 * a row may name up to DB_AUDIT_ROW_IDS_MAX persons. */
#define PAGE_BYTES    ((size_t)4 << 20)
#define LIMIT_DEFAULT 100
#define LIMIT_MAX     1000
/* How long a query waits for the audit writer to commit the rows queued
 * before it (normally one commit, a few milliseconds; longer only while
 * the audit file cannot be written: locked by another process, a full
 * disk). */
#define FLUSH_WAIT_MS 1000

const char *const api_audit_query[] = {"person_id", "key_id", "since", "until",
				       "limit",     "cursor", NULL};

/* ---- times ------------------------------------------------------------- */

static bool digits(const char *s, size_t n, int *out)
{
	size_t i;

	*out = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*out = *out * 10 + (s[i] - '0');
	}
	return true;
}

/* Parses a date or a date-time (see audit.h) into POSIX milliseconds.
 * *is_date tells which.  Returns 0 or -1. */
static int time_parse(const char *s, int64_t *ms, bool *is_date)
{
	size_t n = strlen(s), i;
	int32_t day;
	int h, mi, sec, frac = 0, oh, om, scale = 100, v;
	int64_t offset = 9 * 3600;

	if (n < 10 || rules_date_parse(s, 10, &day) != 0)
		return -1;
	*is_date = n == 10;
	if (n == 10) {
		*ms = ((int64_t)day * 86400 - offset) * 1000;
		return 0;
	}
	if (n < 19 || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
	    !digits(s + 17, 2, &sec) || h > 23 || mi > 59 || sec > 59)
		return -1;
	i = 19;
	if (s[i] == '.') {
		if (++i == n)
			return -1;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (i >= 29) /* at most 9 digits */
				return -1;
			frac += (s[i] - '0') * scale;
			scale /= 10;
		}
	}
	if (i < n && s[i] == 'Z' && i + 1 == n) {
		offset = 0;
	} else if (i < n) {
		/* '+' arrives as ' ' when the caller did not escape it. */
		if (n - i != 6 || (s[i] != '+' && s[i] != ' ' && s[i] != '-') ||
		    s[i + 3] != ':' || !digits(s + i + 1, 2, &oh) ||
		    !digits(s + i + 4, 2, &om) || oh > 14 || om > 59)
			return -1;
		v = oh * 3600 + om * 60;
		offset = s[i] == '-' ? -v : v;
	}
	*ms =
	    ((int64_t)day * 86400 + h * 3600 + mi * 60 + sec - offset) * 1000 +
	    frac;
	return 0;
}

/* ---- the query --------------------------------------------------------- */

static bool key_id_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= DB_KEY_ID_LEN || !((s[i] >= 'a' && s[i] <= 'z') ||
					    (s[i] >= '2' && s[i] <= '7')))
			return false;
	return i == DB_KEY_ID_LEN;
}

/* The decimal seq of a cursor we gave (1-18 digits, no leading zero). */
static int cursor_parse(const char *s, int64_t *out)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > 18 || s[0] == '0')
		return -1;
	*out = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*out = *out * 10 + (s[i] - '0');
	}
	return 0;
}

struct page {
	struct api_buf *b;
	int limit, found;
	int64_t last;
	bool more;
};

static void ids_json(struct api_buf *b, const char *ids)
{
	size_t n;
	bool first = true;

	api_buf_adds(b, "[");
	while (*ids) {
		n = strcspn(ids, " ");
		if (n) {
			api_buf_adds(b, first ? "" : ",");
			api_buf_json_strn(b, ids, n);
			first = false;
		}
		ids += n;
		if (*ids == ' ')
			ids++;
	}
	api_buf_adds(b, "]");
}

static int page_row(const struct db_audit_row *r, void *arg)
{
	struct page *p = arg;

	/* One row more than the page was asked for: there is a next page. */
	if (p->found == p->limit || p->b->len > PAGE_BYTES) {
		p->more = true;
		return 1;
	}
	api_buf_adds(p->b, p->found ? ",{\"seq\":" : "{\"seq\":");
	api_buf_printf(p->b, "%lld", (long long)r->seq);
	api_buf_adds(p->b, ",\"time\":");
	api_buf_json_str(p->b, r->time);
	api_buf_adds(p->b, ",\"key_id\":");
	api_buf_json_str(p->b, r->key_id[0] ? r->key_id : NULL);
	api_buf_adds(p->b, ",\"request_id\":");
	api_buf_json_str(p->b, r->request_id);
	api_buf_adds(p->b, ",\"method\":");
	api_buf_json_str(p->b, r->method);
	api_buf_adds(p->b, ",\"route\":");
	api_buf_json_str(p->b, r->route);
	api_buf_adds(p->b, ",\"person_ids\":");
	ids_json(p->b, r->person_ids);
	api_buf_printf(p->b, ",\"absent_ids\":%lld", r->absent_ids);
	api_buf_printf(p->b, ",\"status\":%d}", r->status);
	p->found++;
	p->last = r->seq;
	return 0;
}

/* Reads query parameter name as a time bound into out (a time text);
 * upper: the bound is exclusive, one past the day or millisecond. */
static void bound_get(const struct api_ctx *ctx, const char *name, bool upper,
		      char out[DB_AUDIT_TIME_LEN + 1], const char **bound,
		      struct api_errors *errs)
{
	const char *q = api_query_get(ctx->req, name);
	char field[API_FIELD_MAX];
	bool is_date = false;
	int64_t ms;

	*bound = NULL;
	if (!q)
		return;
	if (time_parse(q, &ms, &is_date) != 0) {
		snprintf(field, sizeof field, "?%s", name);
		api_errors_add(errs, field, "invalid_date",
			       "a date YYYY-MM-DD or a date-time "
			       "YYYY-MM-DDTHH:MM:SS[.fff][Z|+09:00]");
		return;
	}
	if (upper)
		ms += is_date ? 86400000LL : 1;
	db_audit_time_format(ms, out);
	*bound = out;
}

struct api_result api_audit_get(const struct api_ctx *ctx)
{
	char since[DB_AUDIT_TIME_LEN + 1], until[DB_AUDIT_TIME_LEN + 1];
	struct db_audit_filter f = {0};
	struct api_errors *errs = api_errors_new(ctx);
	struct api_result res;
	struct page p = {0};
	struct api_buf b;
	struct db_conn *c;
	enum db_result r;
	const char *q;
	bool complete;

	if (!errs)
		return api_oom();
	p.limit = LIMIT_DEFAULT;
	q = api_query_get(ctx->req, "person_id");
	if (q && !db_audit_id_valid(q))
		api_errors_add(errs, "?person_id", "invalid_person_id",
			       "1-64 characters of A-Z a-z 0-9 . _ -");
	f.person_id = q;
	q = api_query_get(ctx->req, "key_id");
	if (q && !key_id_ok(q))
		api_errors_add(errs, "?key_id", "invalid_type",
			       "a key id: 12 characters of a-z 2-7");
	f.key_id = q;
	bound_get(ctx, "since", false, since, &f.since, errs);
	bound_get(ctx, "until", true, until, &f.until, errs);
	api_query_limit(ctx->req, LIMIT_MAX, &p.limit, errs);
	q = api_query_get(ctx->req, "cursor");
	if (q && cursor_parse(q, &f.after_seq) != 0)
		api_errors_add(errs, "?cursor", "invalid_type",
			       "not a cursor this server gave: use next_cursor "
			       "as it came");
	if (errs->n)
		return api_invalid(errs, true);
	/* The audit file's connection of this thread (db.h): never the
	 * person store's, whose page cache the log's pages would crowd. */
	c = ctx->app->db ? db_audit_conn_get(ctx->app->db) : NULL;
	api_store_use(ctx, c);
	if (!c) {
		res = api_problem(503, "service_unavailable",
				  "the audit log cannot be opened", NULL, "");
		res.retry_after = "5";
		return res;
	}
	/* The log is written by a thread of its own, in batches: wait until
	 * every row queued before this query is committed, so that "who
	 * looked at this person just now" is answered.  When the wait ends
	 * first (the audit file cannot be written just now), the rows there
	 * are answered and the header says the answer may lack some. */
	complete = audit_log_flush(ctx->app->audit, FLUSH_WAIT_MS) == 0;
	f.limit = p.limit + 1;
	api_buf_init(&b, ANSWER_MAX);
	p.b = &b;
	api_buf_adds(&b, "{\"items\":[");
	r = db_audit_query(c, &f, page_row, &p);
	if (r != DB_OK) {
		api_buf_fini(&b);
		return api_db_problem(ctx, r);
	}
	api_buf_adds(&b, "],\"next_cursor\":");
	if (p.more && p.found)
		api_buf_printf(&b, "\"%lld\"}", (long long)p.last);
	else
		api_buf_adds(&b, "null}");
	if (!b.failed)
		api_header(ctx, "X-Audit-Complete",
			   complete ? "true" : "false");
	return api_ok_buf(200, &b, "application/json");
}
