/* worklist.c - GET /v1/persons: who still needs to act, page by page, as
 * JSON, as a table for a terminal or a print-out, or as CSV for a
 * spreadsheet.
 *
 * Keyset pagination on person_id: the cursor names the last person_id
 * read, so rows written between two pages are neither skipped nor
 * repeated (a row inserted behind the cursor shows up on the next walk).
 * The filters depend on today's decision, so they are applied while
 * reading: a page reads on until it is full or the table ends, but at most
 * max(10 x limit, 10000) rows, so that one request's work stays bounded
 * whatever the filters; only a page that stopped at that bound is short
 * (or empty) and still has a cursor. */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"
#include "api/person.h"
#include "api/row_memo.h"
#include "base/fnv.h"

#define ANSWER_MAX         ((size_t)16 << 20)
#define WORKLIST_SCAN_ROWS 10    /* rows read per row asked for ... */
#define WORKLIST_SCAN_MIN  10000 /* ... or this many, whichever is more */
#define WORKLIST_CHUNK     500
#define CSV_LIMIT          1000 /* a CSV is a whole list: default limit */

/* The text table: a name wider than NAME_COLS columns is cut (it is there
 * to recognise the person; the CSV has it whole); an id longer than ID_COLS
 * goes whole on a line of its own (it is what the reader types next), the
 * column then showing "^".  LINE_COLS is the width the table tries to
 * keep to. */
#define NAME_COLS 20
#define ID_COLS   16
#define LINE_COLS 80

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

/* ---- words for people (text and CSV) ------------------------------------ */

/* The one thing to do next for a person, most urgent first. */
enum next_action {
	ACT_NONE = 0,
	ACT_APPLY,              /* an application is required */
	ACT_CHECK_REGISTRATION, /* undetermined: registration unknown */
	ACT_COMPLETE_FACTS,     /* undetermined: other facts missing */
	ACT_RECHECK,            /* the stored registration status is stale */
	ACT_RENEW_ECERT,        /* card or e-certificate (nearly) expired */
	ACT_MAY_APPLY,          /* provisional: applying is optional */
	ACT_COUNT
};

/* Each action's code (CSV) and its words (ja, en): short, to keep a
 * line within 80 columns where the names allow. */
static const struct action_text {
	const char *code;
	const char *words[2];
} actions[ACT_COUNT] = {
    [ACT_NONE] = {"none", {"なし", "none"}},
    [ACT_APPLY] = {"apply", {"申請する", "apply"}},
    [ACT_CHECK_REGISTRATION] = {"check_registration",
				{"利用登録を確認", "check card"}},
    [ACT_COMPLETE_FACTS] = {"complete_facts", {"不足情報を確認", "find facts"}},
    [ACT_RECHECK] = {"recheck_registration",
		     {"利用登録を再確認", "recheck card"}},
    [ACT_RENEW_ECERT] = {"renew_ecert", {"電子証明書を更新", "renew e-cert"}},
    [ACT_MAY_APPLY] = {"may_apply", {"申請は任意", "may apply"}},
};

static const char *const fact_words[RULES_F_COUNT][2] = {
    [RULES_F_BIRTH_DATE] = {"生年月日", "birth date"},
    [RULES_F_MYNUMBER_CARD] = {"カードの有無", "card"},
    [RULES_F_INSURANCE_REGISTRATION] = {"利用登録", "registration"},
};

enum col {
	COL_NAME = 0,
	COL_ID,
	COL_ENT,
	COL_ACTION,
	COL_BY,
	COL_STALE,
	COL_NEXT, /* the text table's only when someone has a next change */
	COL_MISSING,
	COL_COUNT
};

static const char *const col_headers[COL_COUNT][2] = {
    [COL_NAME] = {"氏名", "name"},
    [COL_ID] = {"ID", "id"},
    [COL_ENT] = {"資格確認書", "certificate"},
    [COL_ACTION] = {"すること", "to do"},
    [COL_BY] = {"期限", "by"},
    [COL_STALE] = {"再確認", "recheck"},
    [COL_NEXT] = {"次の変更", "next change"},
    [COL_MISSING] = {"不足情報", "missing"},
};

/* The CSV's columns after the words: codes, for a program or a merge.
 * What changes next came later: its words and its date are the last two
 * columns, so that a program reading columns by position still finds the
 * others where they were. */
static const char *const csv_code_headers[] = {
    "facility_id", "entitlement", "application_required",
    "apply_by",    "stale",       "missing_facts",
    "next_action", "actions",     NULL};

/* What the table and the CSV say about one person. */
struct row {
	char id[DB_ID_MAX + 1];
	/* the text table's name, cut to NAME_COLS ("…" + 3 bytes) */
	char name[DB_DISPLAY_NAME_MAX + 4];
	enum rules_entitlement entitlement;
	enum next_action action;
	bool required, stale;
	int32_t apply_by;
	int32_t next_change; /* its date; RULES_NO_DATE = none */
	enum rules_fact missing[RULES_F_COUNT];
	size_t n_missing;
};

static enum next_action next_action(const struct rules_decision *d, bool stale)
{
	bool check = false, renew = false, may = false;
	size_t i;

	for (i = 0; i < d->n_advice; i++) {
		check |= d->advice[i] == RULES_A_CHECK_REGISTRATION;
		renew |= d->advice[i] == RULES_A_RENEW_ECERT;
		may |=
		    d->advice[i] == RULES_A_APPLY_TO_CONTINUE_AFTER_PROVISIONAL;
	}
	if (d->application_required)
		return ACT_APPLY;
	if (d->entitlement == RULES_ENT_UNDETERMINED)
		return check ? ACT_CHECK_REGISTRATION : ACT_COMPLETE_FACTS;
	if (stale)
		return ACT_RECHECK;
	if (renew)
		return ACT_RENEW_ECERT;
	if (may)
		return ACT_MAY_APPLY;
	return ACT_NONE;
}

static void row_fill(struct row *r, const struct db_person *p,
		     const struct rules_decision *d, bool stale)
{
	/* Rows stored before control characters were refused: each becomes
	 * U+FFFD (3 bytes) before widths are counted. */
	char safe[3 * DB_DISPLAY_NAME_MAX + 1];
	size_t n;

	api_copy_truncated(r->id, sizeof r->id, p->person_id);
	api_copy_text_safe(safe, sizeof safe, p->display_name);
	if (api_text_width(safe) <= NAME_COLS &&
	    strlen(safe) < sizeof r->name) {
		api_copy_truncated(r->name, sizeof r->name, safe);
	} else {
		n = api_text_prefix(safe, NAME_COLS - 1, NULL);
		/* Many zero-width characters: cut at a character that fits. */
		while (n > sizeof r->name - sizeof "…" ||
		       (n > 0 && ((unsigned char)safe[n] & 0xC0) == 0x80))
			n--;
		memcpy(r->name, safe, n);
		memcpy(r->name + n, "…", sizeof "…");
	}
	r->entitlement = d->entitlement;
	r->action = next_action(d, stale);
	r->required = d->application_required;
	r->stale = stale;
	r->apply_by = d->apply_by;
	r->next_change = d->next_change.date;
	r->n_missing = d->n_missing;
	memcpy(r->missing, d->missing, d->n_missing * sizeof d->missing[0]);
}

/* The by-when words: the date to apply by, 「至急」/"now" when an
 * application is required and there is no date, else NULL. */
static const char *deadline_words(const struct row *r, enum rules_lang l,
				  char date[11])
{
	if (r->apply_by != RULES_NO_DATE) {
		rules_date_format(r->apply_by, date);
		return date;
	}
	if (r->required)
		return l == RULES_LANG_EN ? "now" : "至急";
	return NULL;
}

static const char *stale_words(const struct row *r, enum rules_lang l)
{
	return r->stale ? (l == RULES_LANG_EN ? "yes" : "要") : NULL;
}

/* ---- the page ----------------------------------------------------------- */

struct worklist {
	const struct api_ctx *ctx;
	int32_t as_of;
	bool needs_action;
	int entitlement;        /* -1 = any */
	int32_t due_before;     /* RULES_NO_DATE = any */
	int32_t changes_before; /* RULES_NO_DATE = any */
	int limit;
	int found;
	int scanned;
	bool first;
	struct api_buf *b;
	struct row *rows; /* the text table's, limit of them */
	/* JSON only: rows decided before (api/row_memo.h), their key's
	 * rules part, and where a row is written before it is kept. */
	struct api_row_memo *memo;
	uint64_t rules_key;
	struct api_buf *scratch;
};

/* One row's JSON object into b. */
static void row_json(struct api_buf *b, const struct db_person *p,
		     const struct rules_decision *d, bool stale)
{
	size_t i;

	api_buf_key_str(b, "{\"person_id\":", p->person_id);
	api_buf_key_str(
	    b, ",\"facility_id\":", p->facility_id[0] ? p->facility_id : NULL);
	api_buf_key_str(b, ",\"display_name\":",
			p->display_name[0] ? p->display_name : NULL);
	api_buf_key_str(
	    b, ",\"entitlement\":", rules_entitlement_name(d->entitlement));
	api_buf_adds(b, d->application_required
			    ? ",\"application_required\":true"
			    : ",\"application_required\":false");
	api_buf_key_date(b, ",\"apply_by\":", d->apply_by);
	api_buf_adds(b, stale ? ",\"stale\":true" : ",\"stale\":false");
	api_buf_key_date(b, ",\"next_change_date\":", d->next_change.date);
	api_buf_adds(b, ",\"actions\":[");
	for (i = 0; i < d->n_advice; i++) {
		if (i)
			api_buf_adds(b, ",");
		api_buf_json_str(b, rules_advice_text(d->advice[i])->code);
	}
	api_buf_adds(b, "]}");
}

/* Appends a row's JSON object to the page. */
static void page_add_json(struct worklist *w, const char *json, size_t n)
{
	if (!w->first)
		api_buf_adds(w->b, ",");
	w->first = false;
	api_buf_add(w->b, json, n);
}

/* ---- CSV (RFC 4180) ----------------------------------------------------- */

/* One cell, after a comma unless it is the first.  Quoted when it holds a
 * comma, a quote or a line break.  A cell that a spreadsheet would read as
 * a formula (starting with = + - @, or a tab or carriage return before
 * one) gets a leading ' so that it stays text (CSV injection). */
static void csv_cell(struct api_buf *b, const char *s, bool first)
{
	bool quote = strpbrk(s, ",\"\r\n") != NULL;
	const char *q;

	if (!first)
		api_buf_adds(b, ",");
	if (quote)
		api_buf_adds(b, "\"");
	if (s[0] && strchr("=+-@\t\r", s[0]))
		api_buf_adds(b, "'");
	while (*s) {
		q = strchr(s, '"');
		if (!q) {
			api_buf_adds(b, s);
			break;
		}
		api_buf_add(b, s, (size_t)(q - s) + 1);
		api_buf_adds(b, "\"");
		s = q + 1;
	}
	if (quote)
		api_buf_adds(b, "\"");
}

static void csv_header(struct api_buf *b, enum rules_lang l)
{
	int c;

	for (c = 0; c < COL_COUNT; c++)
		if (c != COL_NEXT)
			csv_cell(b, col_headers[c][l], c == 0);
	for (c = 0; csv_code_headers[c]; c++)
		csv_cell(b, csv_code_headers[c], false);
	csv_cell(b, col_headers[COL_NEXT][l], false);
	csv_cell(b, "next_change_date", false);
	api_buf_adds(b, "\r\n");
}

static void row_csv(struct worklist *w, const struct db_person *p,
		    const struct rules_decision *d, const struct row *r)
{
	enum rules_lang l = w->ctx->lang;
	struct api_buf *b = w->b;
	char date[11], words[160] = "", codes[160] = "", next[512] = "";
	const char *s;
	size_t i, n = 0, m = 0;

	csv_cell(b, p->display_name, true);
	csv_cell(b, p->person_id, false);
	csv_cell(b, rules_entitlement_word(r->entitlement, l), false);
	csv_cell(b, actions[r->action].words[l], false);
	s = deadline_words(r, l, date);
	csv_cell(b, s ? s : "", false);
	s = stale_words(r, l);
	csv_cell(b, s ? s : "", false);
	for (i = 0; i < r->n_missing; i++) {
		n += (size_t)snprintf(words + n, sizeof words - n, "%s%s",
				      i ? (l == RULES_LANG_EN ? ", " : "、")
					: "",
				      fact_words[r->missing[i]][l]);
		m += (size_t)snprintf(codes + m, sizeof codes - m, "%s%s",
				      i ? ";" : "",
				      rules_fact_name(r->missing[i]));
	}
	csv_cell(b, words, false);
	csv_cell(b, p->facility_id, false);
	csv_cell(b, rules_entitlement_name(r->entitlement), false);
	csv_cell(b, r->required ? "true" : "false", false);
	if (r->apply_by != RULES_NO_DATE)
		rules_date_format(r->apply_by, date);
	csv_cell(b, r->apply_by != RULES_NO_DATE ? date : "", false);
	csv_cell(b, r->stale ? "true" : "false", false);
	csv_cell(b, codes, false);
	csv_cell(b, actions[r->action].code, false);
	api_buf_adds(b, ",");
	for (i = 0; i < d->n_advice; i++) {
		if (i)
			api_buf_adds(b, ";");
		api_buf_adds(b, rules_advice_text(d->advice[i])->code);
	}
	if (r->next_change != RULES_NO_DATE) {
		api_next_change_words(next, sizeof next, d,
				      &w->ctx->app->ruleset->params, l);
		rules_date_format(r->next_change, date);
	}
	csv_cell(b, next, false);
	csv_cell(b, r->next_change != RULES_NO_DATE ? date : "", false);
	api_buf_adds(b, "\r\n");
}

/* The UTF-8 in `in` as CP932 (Windows' Shift_JIS, what Excel in Japan
 * reads by default) appended to out.  A character CP932 does not have
 * becomes 〓 (geta, the usual mark for it in Japanese print), but a
 * variation selector is dropped (the character before it stays). */
static int to_cp932(const struct api_buf *in, struct api_buf *out)
{
	char chunk[4096], *ip = in->data, *op;
	size_t il = in->len, ol, rc, n;
	uint32_t cp;
	iconv_t cd;

	cd = iconv_open("CP932", "UTF-8");
	if (cd == (iconv_t)-1)
		return -1;
	while (il > 0 && !out->failed) {
		op = chunk;
		ol = sizeof chunk;
		rc = iconv(cd, &ip, &il, &op, &ol);
		api_buf_add(out, chunk, (size_t)(op - chunk));
		if (rc != (size_t)-1 || errno == E2BIG)
			continue;
		if (errno != EILSEQ && errno != EINVAL)
			break;
		n = api_utf8_decode(ip, il, &cp);
		if (api_char_width(cp) != 0)
			api_buf_adds(out, "\x81\xac"); /* 〓 */
		ip += n;
		il -= n;
	}
	iconv_close(cd);
	return il == 0 && !out->failed ? 0 : -1;
}

/* ---- the text table ----------------------------------------------------- */

/* Ends a line of b: trailing blanks go. */
static void line_end(struct api_buf *b)
{
	while (!b->failed && b->len > 0 && b->data[b->len - 1] == ' ')
		b->len--;
	api_buf_adds(b, "\n");
}

static void pad(struct api_buf *b, size_t n)
{
	static const char spaces[] = "                                        ";

	while (n > 0) {
		size_t k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;

		api_buf_add(b, spaces, k);
		n -= k;
	}
}

/* The cells of one row but the last (missing facts); date and next hold
 * the by-when and the next change's date. */
static void row_cells(const struct row *r, enum rules_lang l,
		      const char *cells[COL_MISSING], char date[11],
		      char next[11])
{
	const char *s;

	cells[COL_NAME] = r->name[0] ? r->name : "-";
	cells[COL_ID] = strlen(r->id) > ID_COLS ? "^" : r->id;
	cells[COL_ENT] = rules_entitlement_word(r->entitlement, l);
	cells[COL_ACTION] = actions[r->action].words[l];
	s = deadline_words(r, l, date);
	cells[COL_BY] = s ? s : "-";
	s = stale_words(r, l);
	cells[COL_STALE] = s ? s : "";
	if (r->next_change != RULES_NO_DATE)
		rules_date_format(r->next_change, next);
	cells[COL_NEXT] = r->next_change != RULES_NO_DATE ? next : "-";
}

/* One line of cells, each padded to its column (COL_NEXT only when
 * show_next); then the missing facts, wrapped at item boundaries to keep
 * within LINE_COLS when they can. */
static void text_line(struct api_buf *b, enum rules_lang l,
		      const char *const *cells, const size_t *width,
		      bool show_next, const char *const *items, size_t n_items)
{
	size_t c, i, col = 0, at, w;

	for (c = 0; c < COL_MISSING; c++) {
		if (c == COL_NEXT && !show_next)
			continue;
		api_buf_adds(b, cells[c]);
		pad(b, width[c] - api_text_width(cells[c]) + 1);
		col += width[c] + 1;
	}
	at = col;
	for (i = 0; i < n_items; i++) {
		w = api_text_width(items[i]);
		if (i > 0 && at + 2 + w > LINE_COLS) {
			line_end(b);
			pad(b, col);
			at = col;
		} else if (i > 0) {
			api_buf_adds(b, l == RULES_LANG_EN ? ", " : "、");
			at += 2;
		}
		api_buf_adds(b, items[i]);
		at += w;
	}
	line_end(b);
}

/* Title, header row, the rows, and what comes next. */
static void text_table(const struct worklist *w, const char *facility,
		       const char *cursor, int scan_max)
{
	enum rules_lang l = w->ctx->lang;
	bool en = l == RULES_LANG_EN;
	struct api_buf *b = w->b;
	const char *cells[COL_MISSING], *items[RULES_F_COUNT];
	size_t width[COL_MISSING], c, i;
	char date[11], next[11], title[96], fac[96];
	bool show_next = false;
	int k;

	rules_date_format(w->as_of, date);
	snprintf(title, sizeof title,
		 en ? "Certificate worklist  as of %s"
		    : "資格確認書の対応リスト  基準日 %s",
		 date);
	snprintf(fac, sizeof fac, en ? "facility %s" : "施設 %s", facility);
	api_buf_adds(b, title);
	if (facility[0] &&
	    api_text_width(title) + 2 + api_text_width(fac) <= LINE_COLS) {
		api_buf_adds(b, "  ");
		api_buf_adds(b, fac);
	} else if (facility[0]) {
		api_buf_adds(b, "\n");
		api_buf_adds(b, fac);
	}
	line_end(b);

	/* A column of dashes would say nothing and cost the missing facts
	 * their room: 次の変更 shows when someone listed has a change
	 * within the horizon. */
	for (c = 0; c < COL_MISSING; c++)
		width[c] = api_text_width(col_headers[c][l]);
	for (k = 0; k < w->found; k++) {
		row_cells(&w->rows[k], l, cells, date, next);
		show_next |= w->rows[k].next_change != RULES_NO_DATE;
		for (c = 0; c < COL_MISSING; c++)
			if (api_text_width(cells[c]) > width[c])
				width[c] = api_text_width(cells[c]);
	}
	for (c = 0; c < COL_MISSING; c++)
		cells[c] = col_headers[c][l];
	items[0] = col_headers[COL_MISSING][l];
	text_line(b, l, cells, width, show_next, items, 1);
	for (k = 0; k < w->found; k++) {
		const struct row *r = &w->rows[k];

		if (strlen(r->id) > ID_COLS)
			api_buf_printf(b, "%s\n", r->id);
		row_cells(r, l, cells, date, next);
		for (i = 0; i < r->n_missing; i++)
			items[i] = fact_words[r->missing[i]][l];
		text_line(b, l, cells, width, show_next, items, r->n_missing);
	}
	if (!w->found && !cursor[0])
		api_buf_adds(b, en ? "(nobody)\n" : "（該当者なし）\n");
	if (cursor[0] && w->found < w->limit)
		api_buf_printf(b,
			       en ? "(stopped after reading %d stored persons: "
				    "ask again from the cursor)\n"
				  : "（一度に読む上限の %d 人まで読みました。"
				    "続きは cursor で）\n",
			       scan_max);
	if (cursor[0])
		api_buf_printf(
		    b, en ? "more: cursor=%s\n" : "続き: cursor=%s\n", cursor);
}

/* ---- reading ------------------------------------------------------------ */

/* Does the row pass the page's filters? */
static bool row_wanted(const struct worklist *w,
		       const struct api_row_summary *s)
{
	/* A person born after as_of has no decision then: not on the list. */
	if (!s->decided)
		return false;
	if (w->needs_action && !s->required &&
	    s->entitlement != RULES_ENT_UNDETERMINED && !s->stale)
		return false;
	if (w->entitlement >= 0 && (int)s->entitlement != w->entitlement)
		return false;
	if (w->due_before != RULES_NO_DATE &&
	    (s->apply_by == RULES_NO_DATE || s->apply_by >= w->due_before))
		return false;
	/* "on or before": who will need something new by that day */
	return w->changes_before == RULES_NO_DATE ||
	       (s->next_change != RULES_NO_DATE &&
		s->next_change <= w->changes_before);
}

static void row_key(const struct worklist *w, const char *id, const char *etag,
		    struct api_row_key *k)
{
	k->id = id;
	k->etag = etag;
	k->as_of = w->as_of;
	k->today = w->ctx->today;
	k->rules = w->rules_key;
}

/* A row shown: every row shown names a person, the audit log lists them.
 * 1 when the page is full. */
static int row_shown(struct worklist *w, const char *id)
{
	api_audit_note(w->ctx->audit, id);
	w->found++;
	return w->found >= w->limit ? 1 : 0;
}

/* The memo's row, when it has this one: its JSON then needs no reading,
 * no deciding and no writing. */
static enum db_peek worklist_peek(const char *id, const char *etag, void *arg)
{
	struct worklist *w = arg;
	struct api_row_summary sum;
	struct api_row_key k;
	char json[API_ROW_MEMO_JSON_MAX];
	size_t n;

	w->scanned++;
	row_key(w, id, etag, &k);
	if (!api_row_memo_get(w->memo, &k, &sum, json, &n))
		return DB_PEEK_READ;
	if (!row_wanted(w, &sum))
		return DB_PEEK_NEXT;
	page_add_json(w, json, n);
	return row_shown(w, id) ? DB_PEEK_STOP : DB_PEEK_NEXT;
}

static int worklist_row(const struct db_person *p, void *arg)
{
	struct worklist *w = arg;
	struct rules_decision d;
	struct api_row_summary sum = {0};
	struct api_row_key k;
	struct row csv_row;

	if (!w->memo)
		w->scanned++; /* else counted by worklist_peek */
	sum.decided = api_person_decision(w->ctx, p, w->as_of, &d, NULL) == 0;
	if (sum.decided) {
		sum.stale = api_person_stale(w->ctx, p);
		sum.required = d.application_required;
		sum.entitlement = (uint8_t)d.entitlement;
		sum.apply_by = d.apply_by;
		sum.next_change = d.next_change.date;
	}
	if (w->memo) {
		/* Kept whether or not this page shows it. */
		w->scratch->len = 0;
		if (sum.decided)
			row_json(w->scratch, p, &d, sum.stale);
		row_key(w, p->person_id, p->etag, &k);
		if (!w->scratch->failed)
			api_row_memo_put(w->memo, &k, &sum, w->scratch->data,
					 w->scratch->len);
	}
	if (!row_wanted(w, &sum))
		return 0;
	if (w->ctx->text) {
		row_fill(&w->rows[w->found], p, &d, sum.stale);
	} else if (w->ctx->csv) {
		row_fill(&csv_row, p, &d, sum.stale);
		row_csv(w, p, &d, &csv_row);
	} else if (w->memo) {
		page_add_json(w, w->scratch->data, w->scratch->len);
	} else {
		if (!w->first)
			api_buf_adds(w->b, ",");
		w->first = false;
		row_json(w->b, p, &d, sum.stale);
	}
	return row_shown(w, p->person_id);
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

/* ?charset (CSV only): false for UTF-8 (the default), true for Shift_JIS. */
static bool charset_sjis(const struct api_ctx *ctx, struct api_errors *errs)
{
	const char *q = api_query_get(ctx->req, "charset");

	if (!q)
		return false;
	if (!ctx->csv)
		api_errors_add(errs, "?charset", "conflicting_fields",
			       "charset is for format=csv only");
	else if (strcasecmp(q, "shift_jis") == 0)
		return true;
	else if (strcasecmp(q, "utf-8") != 0)
		api_errors_add(errs, "?charset", "invalid_enum",
			       "utf-8 or shift_jis");
	return false;
}

/* Hands the CSV in b over as the answer, converted when asked. */
static struct api_result csv_answer(const struct worklist *w, struct api_buf *b,
				    bool sjis, const char *cursor)
{
	struct api_buf out;
	char date[11], disposition[64];

	if (sjis) {
		api_buf_init(&out, ANSWER_MAX);
		if (b->failed || to_cp932(b, &out) != 0)
			out.failed = true;
		api_buf_fini(b);
		*b = out;
	}
	if (!b->failed) {
		rules_date_format(w->as_of, date);
		snprintf(disposition, sizeof disposition,
			 "attachment; filename=\"worklist-%s.csv\"", date);
		api_header(w->ctx, "Content-Disposition", disposition);
		if (cursor[0])
			api_header(w->ctx, "X-Next-Cursor", cursor);
	}
	return api_ok_buf(200, b,
			  sjis ? "text/csv; charset=Shift_JIS"
			       : "text/csv; charset=utf-8");
}

/* Reads the query into w (its filters, limit and day) and `after` (the
 * cursor's person id); what is wrong goes to errs. */
static void list_query(const struct api_ctx *ctx, struct worklist *w,
		       char *after, size_t after_size, struct api_errors *errs)
{
	const char *facility = api_query_get(ctx->req, "facility_id");
	const char *q;

	w->ctx = ctx;
	w->as_of = ctx->today;
	w->entitlement = -1;
	w->due_before = RULES_NO_DATE;
	w->changes_before = RULES_NO_DATE;
	w->limit = ctx->csv ? CSV_LIMIT : 100;
	w->first = true;
	if (facility && !api_id_valid(facility, strlen(facility)))
		api_errors_add(errs, "?facility_id", "invalid_type",
			       "a facility id is 1-64 characters of A-Z a-z "
			       "0-9 . _ -");
	q = api_query_get(ctx->req, "needs_action");
	if (q && strcmp(q, "true") == 0)
		w->needs_action = true;
	else if (q && strcmp(q, "false") != 0)
		api_errors_add(errs, "?needs_action", "invalid_enum",
			       "true or false");
	q = api_query_get(ctx->req, "entitlement");
	if (q && (w->entitlement = entitlement_from_name(q)) < 0)
		api_errors_add(errs, "?entitlement", "invalid_enum",
			       "ex_officio, provisional, on_application, "
			       "not_entitled or undetermined");
	api_query_date_into(ctx->req, "due_before", &w->due_before, errs);
	api_query_date_into(ctx->req, "changes_before", &w->changes_before,
			    errs);
	api_query_date_into(ctx->req, "as_of", &w->as_of, errs);
	api_query_limit(ctx->req, 1000, &w->limit, errs);
	q = api_query_get(ctx->req, "cursor");
	if (q && cursor_decode(q, after, after_size) != 0)
		api_errors_add(errs, "?cursor", "invalid_type",
			       "not a cursor this server gave: use next_cursor "
			       "as it came");
}

/* Reads persons after `after` in chunks until the page is full or
 * scan_max rows were read; `after` ends at the last one read, *more says
 * whether the table goes on. */
static enum db_result list_scan(struct db_conn *c, const char *facility,
				struct worklist *w, char *after,
				size_t after_size, int scan_max, bool *more)
{
	char last[DB_ID_MAX + 1];
	enum db_result r = DB_OK;

	while (w->found < w->limit && w->scanned < scan_max) {
		int before = w->scanned, chunk = scan_max - w->scanned;

		if (chunk > WORKLIST_CHUNK)
			chunk = WORKLIST_CHUNK;
		r = db_person_list_peek(c, facility, after, chunk,
					w->memo ? worklist_peek : NULL,
					worklist_row, w, last);
		if (r != DB_OK)
			break;
		if (!last[0] || w->scanned - before < chunk) {
			/* The table ended inside this chunk, unless the
			 * callback stopped it at the limit. */
			if (w->found < w->limit || !last[0])
				*more = false;
			if (last[0])
				memcpy(after, last, after_size);
			break;
		}
		memcpy(after, last, after_size);
	}
	return r;
}

/* What comes before the rows: CSV's BOM and header, JSON's opening. */
static void list_open(const struct api_ctx *ctx, struct api_buf *b, bool sjis)
{
	if (ctx->csv) {
		if (!sjis)
			api_buf_adds(b, "\xEF\xBB\xBF"); /* BOM: Excel reads
							     UTF-8 then */
		csv_header(b, ctx->lang);
	} else if (!ctx->text) {
		api_buf_adds(b, "{\"items\":[");
	}
}

/* Closes the page in b and hands it over as the answer. */
static struct api_result list_answer(struct worklist *w, struct api_buf *b,
				     bool sjis, const char *shown,
				     const char *cursor, int scan_max)
{
	if (w->ctx->text) {
		text_table(w, shown, cursor, scan_max);
		return api_ok_buf(200, b, "text/plain; charset=utf-8");
	}
	if (w->ctx->csv)
		return csv_answer(w, b, sjis, cursor);
	api_buf_adds(b, "],\"next_cursor\":");
	api_buf_json_str(b, cursor[0] ? cursor : NULL);
	api_buf_adds(b, "}");
	return api_ok_buf(200, b, "application/json");
}

struct api_result api_persons_list(const struct api_ctx *ctx)
{
	struct api_errors *errs = api_errors_new(ctx);
	struct worklist w = {0};
	struct api_result res;
	struct api_buf b, scratch;
	struct db_conn *c;
	char after[DB_ID_MAX + 1] = "", cursor[DB_ID_MAX + 2];
	const char *facility = api_query_get(ctx->req, "facility_id");
	const char *shown;
	bool more = true, nobody = false, sjis;
	enum db_result r = DB_OK;
	int scan_max;

	if (!errs)
		return api_oom();
	list_query(ctx, &w, after, sizeof after, errs);
	sjis = charset_sjis(ctx, errs);
	if (errs->n)
		return api_invalid(errs, true);
	c = api_conn(ctx, &res);
	if (!c)
		return res;
	/* A key bound to a facility lists only that facility: another one's
	 * list is empty, as if it had nobody -- the very same answer (the
	 * text table's title and header row included), read from no row. */
	if (ctx->facility && facility && strcmp(facility, ctx->facility) != 0)
		nobody = true;
	shown = facility ? facility : ctx->facility ? ctx->facility : "";
	if (ctx->facility)
		facility = ctx->facility;
	if (ctx->text) {
		w.rows = api_alloc(ctx, (size_t)w.limit * sizeof *w.rows);
		if (!w.rows)
			return api_oom();
	}
	scan_max = w.limit * WORKLIST_SCAN_ROWS;
	if (scan_max < WORKLIST_SCAN_MIN)
		scan_max = WORKLIST_SCAN_MIN;
	api_buf_init(&b, ANSWER_MAX);
	api_buf_init(&scratch, API_ROW_MEMO_JSON_MAX);
	w.b = &b;
	if (!ctx->text && !ctx->csv && ctx->app->row_memo) {
		w.memo = ctx->app->row_memo;
		w.scratch = &scratch;
		w.rules_key =
		    base_fnv1a64(BASE_FNV64_INIT, &ctx->app->ruleset->params,
				 sizeof ctx->app->ruleset->params);
	}
	list_open(ctx, &b, sjis);
	if (nobody)
		more = false;
	else
		r = list_scan(c, facility, &w, after, sizeof after, scan_max,
			      &more);
	api_buf_fini(&scratch);
	if (r != DB_OK) {
		api_buf_fini(&b);
		return api_db_problem(ctx, r);
	}
	if (more && after[0])
		cursor_encode(after, cursor, sizeof cursor);
	else
		cursor[0] = '\0';
	return list_answer(&w, &b, sjis, shown, cursor, scan_max);
}
