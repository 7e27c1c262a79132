/* worklist.c - GET /v1/persons: who still needs to act, page by page.
 *
 * Keyset pagination on person_id: the cursor names the last person_id
 * read, so rows written between two pages are neither skipped nor
 * repeated (a row inserted behind the cursor shows up on the next walk).
 * The filters depend on today's decision, so they are applied while
 * reading; one page reads at most WORKLIST_SCAN_MAX rows and then hands
 * back a cursor even when it found fewer than `limit` matches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/person.h"

#define ANSWER_MAX        ((size_t)16 << 20)
#define WORKLIST_SCAN_MAX 5000
#define WORKLIST_CHUNK    500

/* The cursor is "k" + the last person_id.  Opaque to callers (the
 * contract is: pass next_cursor back as it came); kept this short so that
 * the text table's "more" line stays within 80 columns for a 64-character
 * id, and needing no escaping in a query. */
#define CURSOR_TAG 'k'

static void cursor_encode(const char *id, char *out, size_t outlen)
{
	snprintf(out, outlen, "%c%s", CURSOR_TAG, id);
}

/* Returns 0 and the id, or -1 when s is not a cursor of ours. */
static int cursor_decode(const char *s, char *out, size_t outlen)
{
	size_t n = strlen(s);

	if (n < 2 || s[0] != CURSOR_TAG || n - 1 >= outlen ||
	    !api_id_valid(s + 1, n - 1))
		return -1;
	memcpy(out, s + 1, n);
	return 0;
}

struct worklist {
	const struct api_ctx *ctx;
	int32_t as_of;
	bool needs_action;
	int entitlement;    /* -1 = any */
	int32_t due_before; /* RULES_NO_DATE = any */
	int limit;
	int found;
	int scanned;
	bool first;
	struct api_buf *b;
	struct api_response *resp; /* for the audit notes */
};

static void row_json(struct worklist *w, const struct db_person *p,
		     const struct rules_decision *d, bool stale)
{
	size_t i;

	api_buf_adds(w->b, w->first ? "{\"person_id\":" : ",{\"person_id\":");
	w->first = false;
	api_buf_json_str(w->b, p->person_id);
	api_buf_adds(w->b, ",\"facility_id\":");
	api_buf_json_str(w->b, p->facility_id[0] ? p->facility_id : NULL);
	api_buf_adds(w->b, ",\"display_name\":");
	api_buf_json_str(w->b, p->display_name[0] ? p->display_name : NULL);
	api_buf_adds(w->b, ",\"entitlement\":");
	api_buf_json_str(w->b, rules_entitlement_name(d->entitlement));
	api_buf_adds(w->b, d->application_required
			       ? ",\"application_required\":true"
			       : ",\"application_required\":false");
	api_buf_adds(w->b, ",\"apply_by\":");
	api_buf_json_date(w->b, d->apply_by);
	api_buf_adds(w->b, stale ? ",\"stale\":true" : ",\"stale\":false");
	api_buf_adds(w->b, ",\"actions\":[");
	for (i = 0; i < d->n_advice; i++) {
		if (i)
			api_buf_adds(w->b, ",");
		api_buf_json_str(w->b, rules_advice_text(d->advice[i])->code);
	}
	api_buf_adds(w->b, "]}");
}

/* Terminal columns of UTF-8 text: CJK (3- and 4-byte sequences here) is
 * two columns wide, the rest one. */
static size_t text_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;

	for (; *p; p++) {
		if ((*p & 0xc0) == 0x80)
			continue;
		w += *p >= 0xe0 ? 2 : 1;
	}
	return w;
}

/* Appends s padded with spaces to width columns (s must fit). */
static void text_col(char *line, size_t linelen, const char *s, size_t width)
{
	size_t n = strlen(line), w = text_width(s);

	snprintf(line + n, linelen - n, "%s%*s ", s,
		 (int)(w < width ? width - w : 0), "");
}

#define COL_ID       16
#define COL_FACILITY 16
#define COL_ENT      14
#define COL_APPLY    4
#define COL_DATE     10

/* One line of the table, trailing blanks removed. */
static void text_line(struct api_buf *b, const char *id, const char *fac,
		      const char *ent, const char *apply, const char *date,
		      const char *stale)
{
	char line[256] = "";
	size_t n;

	text_col(line, sizeof line, id, COL_ID);
	text_col(line, sizeof line, fac, COL_FACILITY);
	text_col(line, sizeof line, ent, COL_ENT);
	text_col(line, sizeof line, apply, COL_APPLY);
	text_col(line, sizeof line, date, COL_DATE);
	text_col(line, sizeof line, stale, 0);
	n = strlen(line);
	while (n > 0 && line[n - 1] == ' ')
		line[--n] = '\0';
	api_buf_adds(b, line);
	api_buf_adds(b, "\n");
}

/* One row of the terminal table, within 80 columns: an id or facility too
 * long for its column goes whole on a line of its own above the row (never
 * cut: it is what the reader types next), the column then showing "^". */
static void row_text(struct worklist *w, const struct db_person *p,
		     const struct rules_decision *d, bool stale)
{
	char date[11] = "-";
	bool en = w->ctx->lang == RULES_LANG_EN;
	bool long_id = strlen(p->person_id) > COL_ID;
	bool long_fac = strlen(p->facility_id) > COL_FACILITY;

	if (d->apply_by != RULES_NO_DATE)
		rules_date_format(d->apply_by, date);
	if (long_id)
		api_buf_printf(w->b, "%s\n", p->person_id);
	if (long_fac)
		api_buf_printf(w->b, "  facility_id: %s\n", p->facility_id);
	text_line(w->b, long_id ? "^" : p->person_id,
		  long_fac            ? "^"
		  : p->facility_id[0] ? p->facility_id
				      : "-",
		  rules_entitlement_name(d->entitlement),
		  d->application_required ? (en ? "yes" : "要") : "-", date,
		  stale ? (en ? "stale" : "要再確認") : "");
}

static int worklist_row(const struct db_person *p, void *arg)
{
	struct worklist *w = arg;
	struct rules_decision d;
	bool stale;

	w->scanned++;
	/* A person born after as_of has no decision then: not on the list. */
	if (api_person_decision(w->ctx, p, w->as_of, &d, NULL) != 0)
		return 0;
	stale = api_person_stale(w->ctx, p);
	if (w->needs_action && !d.application_required &&
	    d.entitlement != RULES_ENT_UNDETERMINED && !stale)
		return 0;
	if (w->entitlement >= 0 && (int)d.entitlement != w->entitlement)
		return 0;
	if (w->due_before != RULES_NO_DATE &&
	    (d.apply_by == RULES_NO_DATE || d.apply_by >= w->due_before))
		return 0;
	if (w->ctx->text)
		row_text(w, p, &d, stale);
	else
		row_json(w, p, &d, stale);
	/* Every row shown names a person: the audit log lists them. */
	api_audit_note(w->resp, p->person_id);
	w->found++;
	return w->found >= w->limit ? 1 : 0;
}

static int entitlement_from_name(const char *s)
{
	int i;

	for (i = 0; i < RULES_ENT_COUNT; i++)
		if (strcmp(rules_entitlement_name((enum rules_entitlement)i),
			   s) == 0)
			return i;
	return -1;
}

void api_persons_list(const struct api_ctx *ctx, struct api_response *resp)
{
	struct api_errors errs;
	struct worklist w = {0};
	struct api_buf b;
	struct db_conn *c;
	const char *q;
	char after[DB_ID_MAX + 1] = "", last[DB_ID_MAX + 1],
			       cursor[DB_ID_MAX + 2];
	const char *facility = api_query_get(ctx->req, "facility_id");
	bool more = true, nobody = false;
	enum db_result r = DB_OK;

	api_errors_init(&errs);
	w.ctx = ctx;
	w.as_of = ctx->today;
	w.entitlement = -1;
	w.due_before = RULES_NO_DATE;
	w.limit = 100;
	w.first = true;
	if (facility && !api_id_valid(facility, strlen(facility)))
		api_errors_add(&errs, "?facility_id", "invalid_type",
			       "a facility id is 1-64 characters of A-Z a-z "
			       "0-9 . _ -");
	q = api_query_get(ctx->req, "needs_action");
	if (q && strcmp(q, "true") == 0)
		w.needs_action = true;
	else if (q && strcmp(q, "false") != 0)
		api_errors_add(&errs, "?needs_action", "invalid_enum",
			       "true or false");
	q = api_query_get(ctx->req, "entitlement");
	if (q && (w.entitlement = entitlement_from_name(q)) < 0)
		api_errors_add(&errs, "?entitlement", "invalid_enum",
			       "ex_officio, provisional, on_application, "
			       "not_entitled or undetermined");
	api_query_date_into(ctx->req, "due_before", &w.due_before, &errs);
	api_query_date_into(ctx->req, "as_of", &w.as_of, &errs);
	api_query_limit(ctx->req, 1000, &w.limit, &errs);
	q = api_query_get(ctx->req, "cursor");
	if (q && cursor_decode(q, after, sizeof after) != 0)
		api_errors_add(&errs, "?cursor", "invalid_type",
			       "not a cursor this server gave: use next_cursor "
			       "as it came");
	if (api_query_invalid(resp, &errs))
		return;
	c = api_conn_or_503(ctx, resp);
	if (!c)
		return;
	/* A key bound to a facility lists only that facility: another one's
	 * list is empty, as if it had nobody -- the very same answer (the
	 * text table's header row included), read from no row. */
	if (ctx->facility && facility && strcmp(facility, ctx->facility) != 0)
		nobody = true;
	if (ctx->facility)
		facility = ctx->facility;
	api_buf_init(&b, ANSWER_MAX);
	w.b = &b;
	w.resp = resp;
	if (ctx->text)
		text_line(&b, "person_id", "facility", "entitlement",
			  ctx->lang == RULES_LANG_EN ? "apply" : "申請",
			  "apply_by", "");
	else
		api_buf_adds(&b, "{\"items\":[");
	if (nobody)
		more = false;
	while (!nobody && w.found < w.limit && w.scanned < WORKLIST_SCAN_MAX) {
		int before = w.scanned;

		r = db_person_list(c, facility, after, WORKLIST_CHUNK,
				   worklist_row, &w, last);
		if (r != DB_OK)
			break;
		if (!last[0] || w.scanned - before < WORKLIST_CHUNK) {
			/* The table ended inside this chunk, unless the
			 * callback stopped it at the limit. */
			if (w.found < w.limit || !last[0])
				more = false;
			if (last[0])
				memcpy(after, last, sizeof after);
			break;
		}
		memcpy(after, last, sizeof after);
	}
	if (r != DB_OK) {
		api_buf_fini(&b);
		api_respond_db_error(resp, r);
		return;
	}
	if (more && after[0])
		cursor_encode(after, cursor, sizeof cursor);
	else
		cursor[0] = '\0';
	if (ctx->text) {
		if (cursor[0])
			api_buf_printf(&b, "more: cursor=%s\n", cursor);
		api_respond_buf(resp, 200, &b, "text/plain; charset=utf-8");
		return;
	}
	api_buf_adds(&b, "],\"next_cursor\":");
	api_buf_json_str(&b, cursor[0] ? cursor : NULL);
	api_buf_adds(&b, "}");
	api_respond_buf(resp, 200, &b, "application/json");
}
