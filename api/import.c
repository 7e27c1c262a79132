/* import.c - the streaming import engine and its two routes; see import.h.
 *
 * The bytes go through three stages, each keeping only what a chunk
 * boundary may cut:
 *
 *   decode  CP932 -> UTF-8 with iconv (a lead byte may wait for its
 *           trail byte in `carry`); UTF-8 input passes through, a BOM at
 *           the very start is dropped.
 *   split   NDJSON: one line at a time in `line`.  CSV: an RFC 4180 state
 *           machine (quotes, "" and CR/LF inside quotes) that writes the
 *           record's cells into `line`, NUL-separated.
 *   line    the line becomes a json_t object, is searched for individual
 *           numbers, validated exactly like PUT /v1/persons/{id} (or PUT
 *           /v1/insurers/{n}) and written inside the import's transaction.
 *
 * Every buffer is allocated once per import: memory does not grow with the
 * input, only the list of rejected lines does, up to its cap.
 */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/import.h"
#include "api/metrics.h"
#include "api/internal.h"
#include "api/person.h"
#include "api/session.h"
#include "api/text.h"
/* The import drives a connection of its own and its transaction (db_conn_open,
 * db_begin, db_commit): db/db.h's session API. */
#include "db/audit_log.h"
#include "db/insurer_db.h"
#include "db/db.h"
#include "db/import_db.h"
#include "db/person_db.h"

/* Cells of one CSV record kept apart; more make the line rejected. */
#define CSV_MAX_CELLS 64

enum csv_state {
	CSV_FIELD_START, /* at the start of a cell */
	CSV_UNQUOTED,
	CSV_QUOTED,
	CSV_QUOTE_IN_QUOTED, /* a '"' inside quotes: "" or the closing one */
	CSV_AFTER_CR, /* a record ended on CR: an LF right after is its */
};

/* One CSV column: the JSON member it fills. */
struct csv_column {
	const char *name;
	const char *cert_member; /* a member of "certificate" instead */
	bool list;               /* ';'-separated values into an array */
};

/* A column whose value is the member of its name; one of "certificate"
 * (its name "certificate_" member); the ';'-separated list of care_needs.
 * (Unformatted: clang-format takes the braces of a macro for a block.) */
/* clang-format off */
#define COL(name) {name, NULL, false}
#define CERT_COL(member) {"certificate_" member, member, false}
#define LIST_COL(name) {name, NULL, true}
/* clang-format on */

static const struct csv_column person_columns[] = {
    COL("person_id"),
    COL("display_name"),
    COL("facility_id"),
    COL("verified_at"),
    COL("source"),
    COL("birth_date"),
    COL("insurer_number"),
    COL("scheme"),
    COL("mynumber_card"),
    COL("insurance_registration"),
    COL("ecert_expiry"),
    COL("card_expiry"),
    LIST_COL("care_needs"),
    COL("setting"),
    COL("legacy_card_expiry"),
    CERT_COL("status"),
    CERT_COL("basis"),
    CERT_COL("applied_on"),
    CERT_COL("valid_until"),
    COL(NULL),
};

static const struct csv_column insurer_columns[] = {
    COL("insurer_number"),
    COL("name_ja"),
    COL("name_en"),
    COL("scheme"),
    COL("address"),
    COL("phone"),
    COL("url"),
    COL("prefecture_code"),
    COL(NULL),
};

struct api_import {
	struct api_import_opts o;
	struct db_conn *c;
	/* the persons' writes (a store may send them in batches: their
	 * outcomes are counted at the end) */
	struct db_import *bulk;
	bool in_tx;   /* the transaction is open on c */
	bool writing; /* good lines are still written (not after an
			 all_or_nothing import has lost) */
	bool decided; /* refused as a whole: the answer is `fatal` */
	struct api_response fatal;

	/* decode */
	iconv_t cd; /* (iconv_t)-1 for UTF-8 input */
	char carry[8];
	size_t carry_len;
	unsigned bom_pos; /* BOM bytes matched so far; 3 = past the start */

	/* split: the current line (NDJSON) or record's cells (CSV) */
	char *line; /* API_IMPORT_LINE_MAX + 1 bytes */
	size_t line_len;
	bool too_long;
	size_t line_no; /* of the line being read, from 1 */
	size_t lines;   /* data lines: not the header, not blank */
	enum csv_state state;
	size_t cell_off[CSV_MAX_CELLS], cell_len[CSV_MAX_CELLS];
	size_t n_cells, cell_start;
	bool cells_overflow;
	bool unterminated; /* the input ended inside quotes */
	bool header_done;
	const struct csv_column *columns;
	unsigned char col_map[CSV_MAX_CELLS]; /* cell index -> column */
	size_t n_cols;

	/* results */
	size_t inserted, updated, unchanged, rejected_total;
	json_t *rejected;        /* the listed entries */
	struct api_errors *flat; /* their errors, for the problem's errors[] */
	struct api_errors *errs; /* the current line's */
	bool own_errs;           /* errs and flat are the import's own */
	struct db_person person; /* the current line's, reused */
	struct db_insurer insurer; /* likewise */
	struct db_insurer old_insurer;
	struct db_person scope_check;
};

size_t api_import_lines(const struct api_import *im)
{
	return im->line_no;
}

/* ---- outcomes ----------------------------------------------------------- */

static void tx_opened(struct api_import *im)
{
	im->in_tx = true;
	api_store_write_begin();
}

static void tx_closed(struct api_import *im)
{
	if (im->in_tx) {
		im->in_tx = false;
		api_store_write_end();
	}
}

static void rollback(struct api_import *im)
{
	/* rows held back go with the transaction */
	db_import_free(im->bulk);
	im->bulk = NULL;
	if (im->in_tx) {
		db_rollback(im->c);
		tx_closed(im);
	}
}

/* Moves an answer into dst (whose own is dropped). */
static void response_move(struct api_response *dst, struct api_response *src)
{
	api_response_fini(dst);
	*dst = *src;
	memset(src, 0, sizeof *src);
}

/* The whole import is refused: roll back now (no later line can undo
 * that) and ignore the rest of the input.  false when an earlier refusal
 * already settled it. */
static bool refusal(struct api_import *im)
{
	if (im->decided)
		return false;
	rollback(im);
	im->decided = true;
	im->writing = false;
	return true;
}

static void refuse(struct api_import *im, int status, const char *code,
		   const char *detail, const struct api_errors *errs,
		   const char *field)
{
	if (refusal(im))
		api_respond_problem(&im->fatal, status, code, detail, errs,
				    field);
}

static void refuse_individual_number(struct api_import *im, const char *field)
{
	refuse(im, 422, "individual_number_not_accepted",
	       "the import holds an individual number (個人番号); nothing of "
	       "it was processed or stored. Never send one to this service",
	       NULL, field);
}

static void refuse_db(struct api_import *im, enum db_result r)
{
	/* Nothing of the import was stored: it was one transaction. */
	if (refusal(im)) {
		im->fatal.store = im->o.store;
		im->fatal.store_conn = im->c;
		im->fatal.request_id = im->o.request_id;
		im->fatal.store_route = im->o.route;
		api_respond_db_error(&im->fatal, r);
	}
}

/* A JSON string of s; jansson refuses invalid UTF-8, which a field
 * truncated to API_FIELD_MAX inside a character would be. */
static json_t *text_new(const char *s)
{
	json_t *v = json_string(s);

	return v ? v : json_string("(truncated)");
}

/* The current line is rejected with the errors in im->errs.  shown: its
 * person_id or insurer_number when one is known (NULL: null). */
static void reject(struct api_import *im, const char *shown)
{
	const struct api_errors *errs = im->errs;
	char field[API_FIELD_MAX + 32];
	json_t *entry, *list;
	size_t i;

	im->rejected_total++;
	if (im->o.mode == API_IMPORT_ALL_OR_NOTHING && im->writing) {
		/* Nothing of this import will be stored: let other writers
		 * in now, and only validate the rest so that the answer
		 * lists every bad line. */
		rollback(im);
		im->writing = false;
		im->inserted = im->updated = im->unchanged = 0;
	}
	if (im->rejected_total > API_IMPORT_LISTED_MAX)
		return;
	list = json_array();
	for (i = 0; i < errs->n; i++) {
		const struct api_error *e = &errs->e[i];
		json_t *err = json_object();

		json_object_set_new(err, "field", text_new(e->field));
		json_object_set_new(err, "code", json_string(e->code));
		json_object_set_new(err, "message", text_new(e->message));
		json_array_append_new(list, err);
		snprintf(field, sizeof field, "/lines/%zu%s", im->line_no,
			 e->field);
		api_errors_add(im->flat, field, e->code, "%s", e->message);
	}
	entry = json_object();
	json_object_set_new(entry, "line",
			    json_integer((json_int_t)im->line_no));
	json_object_set_new(entry,
			    im->o.kind == API_IMPORT_PERSONS ? "person_id"
							     : "insurer_number",
			    shown ? text_new(shown) : json_null());
	json_object_set_new(entry, "errors", list);
	if (errs->dropped)
		json_object_set_new(entry, "errors_omitted",
				    json_integer((json_int_t)errs->dropped));
	json_array_append_new(im->rejected, entry);
}

static void errors_reset(struct api_errors *errs)
{
	errs->n = 0;
	errs->dropped = 0;
}

/* ---- one line ----------------------------------------------------------- */

/* A key bound to a facility writes only that facility's persons: a line
 * without facility_id gets the key's, another facility's is rejected, and
 * so is a person stored under another facility — with what PUT answers
 * for it (not_found, "no person with this id"), never saying that it is
 * stored or whose it is.  (That the line is refused at all, where an
 * absent id would be inserted, is the one thing ids shared by every
 * facility cannot hide: README, Security.) */
static void scope_line(struct api_import *im, struct api_errors *errs)
{
	struct db_person *p = &im->person;
	bool stored = false;

	if (!p->facility_id[0])
		snprintf(p->facility_id, sizeof p->facility_id, "%s",
			 im->o.facility);
	else if (strcmp(p->facility_id, im->o.facility) != 0)
		api_errors_add(errs, "/facility_id", "conflicting_fields",
			       "this API key writes only facility %s",
			       im->o.facility);
	/* Only a line that would be written asks: an invalid line, or any
	 * line of an all_or_nothing import that has already failed, then
	 * gets the same answer for another facility's id as for an absent
	 * one (else one request could probe thousands of ids). */
	if (errs->n == 0 && !errs->dropped && im->writing && im->c &&
	    db_person_get_in(im->c, p->person_id, im->o.facility,
			     &im->scope_check, &stored) == DB_NOT_FOUND &&
	    stored)
		api_errors_add(errs, "/person_id", "not_found",
			       "no person with this id");
}

static void person_line(struct api_import *im, json_t *obj)
{
	struct api_errors *errs = im->errs;
	const char *shown = NULL;
	enum db_result r;
	json_t *id = NULL;

	if (json_is_object(obj)) {
		id = json_object_get(obj, "person_id");
		if (!id)
			api_errors_add(errs, "/person_id", "missing_field",
				       "every import line needs its person_id");
	}
	api_person_parse(obj, "", NULL, im->o.today, &im->person, errs);
	if (json_is_string(id) &&
	    api_id_valid(json_string_value(id), json_string_length(id)))
		shown = json_string_value(id);
	if (shown)
		api_audit_note(im->o.audit, shown);
	if (im->o.facility[0] && shown)
		scope_line(im, errs);
	if (errs->n || errs->dropped) {
		reject(im, shown);
		return;
	}
	if (!im->writing)
		return;
	r = db_import_person(im->bulk, &im->person, im->o.now);
	if (r != DB_OK)
		refuse_db(im, r);
}

static bool insurer_same(const struct db_insurer *a, const struct db_insurer *b)
{
	return a->scheme == b->scheme && a->prefecture == b->prefecture &&
	       strcmp(a->name_ja, b->name_ja) == 0 &&
	       strcmp(a->name_en, b->name_en) == 0 &&
	       strcmp(a->address, b->address) == 0 &&
	       strcmp(a->phone, b->phone) == 0 && strcmp(a->url, b->url) == 0;
}

static void insurer_line(struct api_import *im, json_t *obj)
{
	struct api_errors *errs = im->errs;
	const char *shown = NULL;
	enum db_result r;
	bool created = false;
	json_t *num;

	if (!json_is_object(obj)) {
		api_errors_add(errs, "", "invalid_type",
			       "expected an insurer object");
		reject(im, NULL);
		return;
	}
	num = json_object_get(obj, "insurer_number");
	if (!num) {
		api_errors_add(errs, "/insurer_number", "missing_field",
			       "every import line needs its insurer_number");
	} else if (!json_is_string(num)) {
		api_errors_add(errs, "/insurer_number", "invalid_type",
			       "expected a string of 6 or 8 digits");
	} else if (!api_json_cstr(num)) {
		api_errors_add(errs, "/insurer_number",
			       "invalid_insurer_number",
			       "an insurer number has digits only");
	} else {
		if (json_string_length(num) <= 8)
			shown = json_string_value(num);
		api_insurer_parse(obj, json_string_value(num), &im->insurer,
				  errs);
	}
	if (errs->n || errs->dropped) {
		reject(im, shown);
		return;
	}
	if (!im->writing)
		return;
	/* The registry keeps no content hash: compare, so that importing
	 * the same file again changes nothing (not even updated_at). */
	r = db_insurer_get(im->c, im->insurer.number, &im->old_insurer);
	if (r == DB_OK && insurer_same(&im->old_insurer, &im->insurer)) {
		im->unchanged++;
		return;
	}
	if (r == DB_OK || r == DB_NOT_FOUND)
		r = db_insurer_put(im->c, &im->insurer, true, im->o.now,
				   &created);
	if (r != DB_OK) {
		refuse_db(im, r);
		return;
	}
	if (created)
		im->inserted++;
	else
		im->updated++;
}

/* A parsed line: individual numbers first (SPEC §8: nothing else of the
 * import may be processed), then the validation and the write. */
static void object_line(struct api_import *im, json_t *obj)
{
	char field[API_FIELD_MAX], where[API_FIELD_MAX + 32];

	if (api_scan_individual_number(obj, field, sizeof field)) {
		snprintf(where, sizeof where, "/lines/%zu%s", im->line_no,
			 field);
		refuse_individual_number(im, where);
		return;
	}
	if (im->o.kind == API_IMPORT_PERSONS)
		person_line(im, obj);
	else
		insurer_line(im, obj);
}

/* ---- NDJSON ------------------------------------------------------------- */

/* A line that is not JSON may still carry an individual number, and we
 * cannot tell its strings from the rest: it is read as free text (SPEC
 * §8), quoted values and bare digits alike, and more strictly still (any
 * 12 consecutive digits of a longer run: a lost comma may have joined two
 * values).  Such a line refuses the whole import, best_effort included,
 * instead of being one rejected line while the others are stored. */
static bool raw_has_individual_number(const char *p, size_t n)
{
	return api_text_may_hold_individual_number(p, n);
}

static void ndjson_line(struct api_import *im)
{
	const char *p = im->line;
	size_t n = im->line_len, start = 0;
	json_error_t jerr;
	json_t *obj;

	im->line_no++;
	errors_reset(im->errs);
	if (im->too_long) {
		im->lines++;
		api_errors_add(im->errs, "", "invalid_json",
			       "the line is longer than %zu bytes: it was not "
			       "read",
			       API_IMPORT_LINE_MAX);
		reject(im, NULL);
		goto out;
	}
	while (n > 0 &&
	       (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	while (start < n && (p[start] == ' ' || p[start] == '\t'))
		start++;
	if (start == n)
		goto out; /* blank: skipped, but it keeps its number */
	im->lines++;
	obj = api_json_loadb(p + start, n - start, &jerr);
	if (!obj) {
		if (raw_has_individual_number(p + start, n - start)) {
			char where[API_FIELD_MAX];

			snprintf(where, sizeof where, "/lines/%zu",
				 im->line_no);
			refuse_individual_number(im, where);
			goto out;
		}
		/* the position only: no text of the line is ever echoed */
		api_errors_add(
		    im->errs, "", "invalid_json",
		    "not one JSON object (UTF-8, no duplicate keys): "
		    "error at byte %d of the line",
		    jerr.position + (int)start);
		reject(im, NULL);
		goto out;
	}
	object_line(im, obj);
	json_decref(obj);
out:
	im->line_len = 0;
	im->too_long = false;
}

static void ndjson_push(struct api_import *im, const char *data, size_t len)
{
	const char *nl;
	size_t n;

	while (len > 0 && !im->decided) {
		nl = memchr(data, '\n', len);
		n = nl ? (size_t)(nl - data) : len;
		if (!im->too_long) {
			if (n > API_IMPORT_LINE_MAX - im->line_len) {
				im->too_long = true;
			} else {
				memcpy(im->line + im->line_len, data, n);
				im->line_len += n;
			}
		}
		if (!nl)
			return;
		ndjson_line(im);
		data += n + 1;
		len -= n + 1;
	}
}

/* ---- CSV ---------------------------------------------------------------- */

static void cell_byte(struct api_import *im, char ch)
{
	if (im->too_long)
		return;
	if (im->line_len >= API_IMPORT_LINE_MAX) {
		im->too_long = true;
		return;
	}
	im->line[im->line_len++] = ch;
}

static void cell_end(struct api_import *im)
{
	if (im->too_long)
		return;
	if (im->n_cells == CSV_MAX_CELLS) {
		im->cells_overflow = true;
		return;
	}
	if (im->line_len >= API_IMPORT_LINE_MAX) {
		im->too_long = true;
		return;
	}
	im->cell_off[im->n_cells] = im->cell_start;
	im->cell_len[im->n_cells] = im->line_len - im->cell_start;
	im->n_cells++;
	im->line[im->line_len++] = '\0';
	im->cell_start = im->line_len;
}

/* The JSON Pointer of cell i of the current data line. */
static void cell_field(const struct api_import *im, size_t i, char *dst,
		       size_t dstlen)
{
	char base[32];

	snprintf(base, sizeof base, "/lines/%zu", im->line_no);
	if (i < im->n_cols)
		api_pointer_join(dst, dstlen, base,
				 im->columns[im->col_map[i]].name);
	else
		snprintf(dst, dstlen, "%s/header/%zu", base, i + 1);
}

/* The column named s[0..n), or -1 (a NUL inside matches nothing). */
static int column_find(const struct csv_column *cols, const char *s, size_t n)
{
	int i;

	for (i = 0; cols[i].name; i++)
		if (strlen(cols[i].name) == n &&
		    memcmp(cols[i].name, s, n) == 0)
			return i;
	return -1;
}

static void csv_header(struct api_import *im)
{
	const char *required =
	    im->o.kind == API_IMPORT_PERSONS ? "person_id" : "insurer_number";
	struct api_errors *errs = im->errs;
	bool seen[CSV_MAX_CELLS] = {false};
	char field[32];
	size_t i;
	int col;

	errors_reset(errs);
	for (i = 0; i < im->n_cells; i++) {
		if (api_is_individual_number(im->line + im->cell_off[i],
					     im->cell_len[i])) {
			snprintf(field, sizeof field, "/header/%zu", i + 1);
			refuse_individual_number(im, field);
			return;
		}
	}
	if (im->too_long || im->cells_overflow || im->unterminated) {
		refuse(im, 422, "invalid_request",
		       "the CSV header row is unreadable: an unterminated "
		       "quote, or over 64 columns or 64 KiB",
		       NULL, "/header");
		return;
	}
	for (i = 0; i < im->n_cells; i++) {
		snprintf(field, sizeof field, "/header/%zu", i + 1);
		/* The name is never echoed: it could be anything. */
		col = column_find(im->columns, im->line + im->cell_off[i],
				  im->cell_len[i]);
		if (col < 0) {
			api_errors_add(errs, field, "unknown_field",
				       "not a column of this import (see the "
				       "README: %s, ...)",
				       im->columns[0].name);
			continue;
		}
		if (seen[col]) {
			api_errors_add(errs, field, "conflicting_fields",
				       "the column %s is named twice",
				       im->columns[col].name);
			continue;
		}
		seen[col] = true;
		im->col_map[i] = (unsigned char)col;
	}
	if (!seen[0])
		api_errors_add(errs, "/header", "missing_field",
			       "the header needs a %s column", required);
	if (errs->n) {
		refuse(im, 422, "validation_failed",
		       "the CSV header row names unknown, repeated or missing "
		       "columns: nothing was stored",
		       errs, "");
		return;
	}
	im->n_cols = im->n_cells;
	im->header_done = true;
}

/* care_needs "elderly; dementia" -> ["elderly", "dementia"]; empty items
 * (a trailing ';') are dropped. */
static json_t *split_list(const char *s, size_t n)
{
	json_t *arr = json_array();
	size_t i = 0, j, a, b;

	while (i <= n) {
		for (j = i; j < n && s[j] != ';'; j++)
			;
		for (a = i; a < j && (s[a] == ' ' || s[a] == '\t'); a++)
			;
		for (b = j; b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'); b--)
			;
		if (b > a)
			json_array_append_new(arr, json_stringn(s + a, b - a));
		i = j + 1;
	}
	return arr;
}

/* The data line's cells as the object a JSON line would be; cells the
 * object cannot hold become errors in im->errs. */
static json_t *csv_object(struct api_import *im)
{
	json_t *obj = json_object(), *cert = NULL, *v;
	const struct csv_column *col;
	char field[API_FIELD_MAX];
	const char *s;
	size_t i, n;

	for (i = 0; i < im->n_cells; i++) {
		s = im->line + im->cell_off[i];
		n = im->cell_len[i];
		if (n == 0)
			continue; /* an empty cell is an absent field */
		if (i >= im->n_cols) {
			snprintf(field, sizeof field, "/header/%zu", i + 1);
			api_errors_add(im->errs, field, "unknown_field",
				       "a cell beyond the header's %zu "
				       "columns",
				       im->n_cols);
			continue;
		}
		col = &im->columns[im->col_map[i]];
		/* A NUL inside is kept: the validation refuses it like any
		 * control character (invalid_text, invalid_enum, ...). */
		v = json_stringn(s, n);
		if (!v) {
			api_pointer_join(field, sizeof field, "", col->name);
			api_errors_add(im->errs, field, "invalid_type",
				       "not valid text in the declared "
				       "charset");
			continue;
		}
		if (col->list) {
			json_decref(v);
			v = split_list(s, n);
		}
		if (col->cert_member) {
			if (!cert)
				cert = json_object();
			json_object_set_new(cert, col->cert_member, v);
		} else {
			json_object_set_new(obj, col->name, v);
		}
	}
	if (cert)
		json_object_set_new(obj, "certificate", cert);
	return obj;
}

/* SPEC §8 on cell i of a data line: free text in the columns that hold
 * it, the whole cell elsewhere. */
static bool cell_has_individual_number(const struct api_import *im, size_t i)
{
	const char *s = im->line + im->cell_off[i];
	const char *name;

	if (i < im->n_cols) {
		name = im->columns[im->col_map[i]].name;
		if (strcmp(name, "display_name") == 0 ||
		    strcmp(name, "name_ja") == 0 ||
		    strcmp(name, "name_en") == 0 ||
		    strcmp(name, "address") == 0 || strcmp(name, "phone") == 0)
			return api_text_has_individual_number(s,
							      im->cell_len[i]);
	}
	return api_is_individual_number(s, im->cell_len[i]);
}

static void csv_record(struct api_import *im)
{
	char field[API_FIELD_MAX];
	json_t *obj;
	size_t i;
	bool blank = true;

	im->line_no++;
	if (!im->header_done) {
		csv_header(im);
		goto out;
	}
	for (i = 0; i < im->n_cells; i++)
		if (im->cell_len[i] > 0)
			blank = false;
	if (blank && !im->too_long && !im->cells_overflow && !im->unterminated)
		goto out; /* blank (or only commas): skipped, keeps its number */
	im->lines++;
	errors_reset(im->errs);
	for (i = 0; i < im->n_cells; i++) {
		if (cell_has_individual_number(im, i)) {
			cell_field(im, i, field, sizeof field);
			refuse_individual_number(im, field);
			goto out;
		}
	}
	if (im->unterminated) {
		api_errors_add(im->errs, "", "invalid_type",
			       "a quoted cell is never closed: the record "
			       "runs to the end of the input");
		reject(im, NULL);
		goto out;
	}
	if (im->too_long || im->cells_overflow) {
		api_errors_add(im->errs, "", "invalid_type",
			       "the record is longer than %zu bytes or %d "
			       "cells: it was not read",
			       API_IMPORT_LINE_MAX, CSV_MAX_CELLS);
		reject(im, NULL);
		goto out;
	}
	obj = csv_object(im);
	object_line(im, obj);
	json_decref(obj);
out:
	im->line_len = 0;
	im->n_cells = 0;
	im->cell_start = 0;
	im->too_long = false;
	im->cells_overflow = false;
	im->unterminated = false;
}

static void csv_push(struct api_import *im, const char *data, size_t len)
{
	size_t i;
	char ch;

	for (i = 0; i < len && !im->decided; i++) {
		ch = data[i];
		switch (im->state) {
		case CSV_AFTER_CR:
			im->state = CSV_FIELD_START;
			if (ch == '\n')
				break;
			/* fall through */
		case CSV_FIELD_START:
			if (ch == '"') {
				im->state = CSV_QUOTED;
				break;
			}
			im->state = CSV_UNQUOTED;
			/* fall through */
		case CSV_UNQUOTED:
unquoted:
			if (ch == ',') {
				cell_end(im);
				im->state = CSV_FIELD_START;
			} else if (ch == '\n' || ch == '\r') {
				cell_end(im);
				csv_record(im);
				im->state =
				    ch == '\r' ? CSV_AFTER_CR : CSV_FIELD_START;
			} else {
				/* a stray quote inside an unquoted cell is
				 * kept, as Excel reads it */
				cell_byte(im, ch);
			}
			break;
		case CSV_QUOTED:
			if (ch == '"')
				im->state = CSV_QUOTE_IN_QUOTED;
			else
				cell_byte(im, ch);
			break;
		case CSV_QUOTE_IN_QUOTED:
			if (ch == '"') {
				cell_byte(im, '"');
				im->state = CSV_QUOTED;
				break;
			}
			im->state = CSV_UNQUOTED;
			goto unquoted;
		}
	}
}

/* The input ended: the last record when it had no line break. */
static void csv_end(struct api_import *im)
{
	switch (im->state) {
	case CSV_QUOTED:
		/* an unterminated quote swallowed the rest of the input */
		cell_end(im);
		im->unterminated = true;
		csv_record(im);
		return;
	case CSV_FIELD_START:
		if (im->n_cells == 0 && im->line_len == 0)
			return; /* nothing after the last line break */
				/* "a,b," ends with an empty cell */
				/* fall through */
	case CSV_UNQUOTED:
	case CSV_QUOTE_IN_QUOTED:
		cell_end(im);
		csv_record(im);
		return;
	case CSV_AFTER_CR: return;
	}
}

/* ---- decode ------------------------------------------------------------- */

static void split_push(struct api_import *im, const char *data, size_t len)
{
	static const char bom[3] = {'\xef', '\xbb', '\xbf'};

	/* A UTF-8 BOM at the very start (Excel's "CSV UTF-8") is dropped;
	 * the bytes of a near miss are given back. */
	while (im->bom_pos < 3 && len > 0) {
		if (data[0] == bom[im->bom_pos]) {
			im->bom_pos++;
			data++;
			len--;
			continue;
		}
		if (im->bom_pos > 0) {
			size_t k = im->bom_pos;

			im->bom_pos = 3;
			split_push(im, bom, k);
		}
		im->bom_pos = 3;
	}
	if (len == 0 || im->decided)
		return;
	if (im->o.format == API_IMPORT_CSV)
		csv_push(im, data, len);
	else
		ndjson_push(im, data, len);
}

/* CP932 -> UTF-8.  A lead byte at the end of a chunk waits in carry for
 * its trail byte; a byte that is no CP932 becomes 0xFF, which is no UTF-8
 * either, so that its line is rejected rather than guessed. */
static void sjis_push(struct api_import *im, const char *data, size_t len,
		      bool end)
{
	char in[4096 + sizeof im->carry], out[16384];
	char *ip, *op;
	size_t il, ol, take, rc;
	int e;

	while ((len > 0 || (end && im->carry_len > 0)) && !im->decided) {
		take = len < 4096 ? len : 4096;
		memcpy(in, im->carry, im->carry_len);
		/* At the end data is NULL: neither copy from it nor move it. */
		if (take > 0) {
			memcpy(in + im->carry_len, data, take);
			data += take;
			len -= take;
		}
		ip = in;
		il = im->carry_len + take;
		im->carry_len = 0;
		while (il > 0 && !im->decided) {
			op = out;
			ol = sizeof out;
			rc = iconv(im->cd, &ip, &il, &op, &ol);
			e = errno;
			split_push(im, out, (size_t)(op - out));
			if (rc != (size_t)-1 || e == E2BIG)
				continue;
			if (e == EINVAL && !(end && len == 0) &&
			    il <= sizeof im->carry) {
				memcpy(im->carry, ip, il);
				im->carry_len = il;
				break;
			}
			split_push(im, "\xff", 1);
			ip++;
			il--;
		}
	}
}

static void decode_push(struct api_import *im, const char *data, size_t len,
			bool end)
{
	if (im->cd == (iconv_t)-1)
		split_push(im, data, len);
	else
		sjis_push(im, data, len, end);
}

/* ---- life cycle --------------------------------------------------------- */

struct api_import *api_import_new(const char *db_path,
				  const struct api_import_opts *opts,
				  struct api_response *resp)
{
	struct api_import *im = NULL;
	enum db_result r;
	char err[256];

	im = calloc(1, sizeof *im);
	if (!im)
		goto oom;
	im->o = *opts;
	im->cd = (iconv_t)-1;
	im->columns =
	    opts->kind == API_IMPORT_PERSONS ? person_columns : insurer_columns;
	im->writing = true;
	im->line = malloc(API_IMPORT_LINE_MAX + 1);
	im->own_errs = !opts->errs || !opts->flat;
	im->errs = im->own_errs ? calloc(1, sizeof *im->errs) : opts->errs;
	im->flat = im->own_errs ? calloc(1, sizeof *im->flat) : opts->flat;
	im->rejected = json_array();
	if (!im->line || !im->errs || !im->flat || !im->rejected)
		goto oom;
	if (opts->charset == API_IMPORT_SHIFT_JIS) {
		im->cd = iconv_open("UTF-8", "CP932");
		if (im->cd == (iconv_t)-1) {
			api_respond_problem(resp, 500, "internal_error",
					    "CP932 conversion is not available "
					    "on this server",
					    NULL, "");
			goto fail;
		}
		im->bom_pos = 3; /* no BOM in Shift_JIS */
	}
	if (api_refuse_while_importing(resp))
		goto fail;
	if (db_conn_open(db_path, &im->c, err, sizeof err) != 0) {
		api_respond_retry(resp, "service_unavailable",
				  "the database cannot be opened", "5");
		goto fail;
	}
	r = db_begin(im->c);
	if (r != DB_OK) {
		if (r == DB_BUSY) {
			api_respond_retry(resp, "service_unavailable",
					  "the database is busy (another "
					  "writer, perhaps an import, holds "
					  "it): retry shortly",
					  "5");
		} else {
			resp->store = opts->store;
			resp->store_conn = im->c;
			resp->request_id = opts->request_id;
			resp->store_route = opts->route;
			api_report_db_error(resp, r);
			api_respond_problem(resp, 500, "internal_error",
					    "the database failed", NULL, "");
		}
		goto fail;
	}
	tx_opened(im);
	if (opts->kind == API_IMPORT_PERSONS) {
		im->bulk = db_import_new(im->c);
		if (!im->bulk)
			goto oom;
	}
	return im;
oom:
	api_respond_oom(resp);
fail:
	api_import_free(im);
	return NULL;
}

void api_import_free(struct api_import *im)
{
	if (!im)
		return;
	if (im->c) {
		rollback(im);
		db_conn_close(im->c);
	}
	db_import_free(im->bulk);
	if (im->cd != (iconv_t)-1)
		iconv_close(im->cd);
	api_response_fini(&im->fatal);
	json_decref(im->rejected);
	if (im->own_errs) {
		free(im->flat);
		free(im->errs);
	}
	free(im->line);
	free(im);
}

bool api_import_feed(struct api_import *im, const char *data, size_t len)
{
	if (!im->decided && len > 0)
		decode_push(im, data, len, false);
	return !im->decided;
}

/* The persons' writes held back go out, and their outcomes are counted. */
static enum db_result persons_flush(struct api_import *im)
{
	struct db_import_counts n;
	enum db_result r;

	if (!im->bulk)
		return DB_OK;
	r = db_import_flush(im->bulk, &n);
	im->inserted = n.inserted;
	im->updated = n.updated;
	im->unchanged = n.unchanged;
	return r;
}

static json_t *answer_new(const struct api_import *im, bool stored)
{
	json_t *doc = json_object();

	json_object_set_new(doc, "kind",
			    json_string(im->o.kind == API_IMPORT_PERSONS
					    ? "persons"
					    : "insurers"));
	json_object_set_new(doc, "mode",
			    json_string(im->o.mode == API_IMPORT_BEST_EFFORT
					    ? "best_effort"
					    : "all_or_nothing"));
	json_object_set_new(doc, "stored", json_boolean(stored));
	json_object_set_new(doc, "lines", json_integer((json_int_t)im->lines));
	json_object_set_new(doc, "inserted",
			    json_integer((json_int_t)im->inserted));
	json_object_set_new(doc, "updated",
			    json_integer((json_int_t)im->updated));
	json_object_set_new(doc, "unchanged",
			    json_integer((json_int_t)im->unchanged));
	json_object_set(doc, "rejected", im->rejected);
	json_object_set_new(doc, "rejected_total",
			    json_integer((json_int_t)im->rejected_total));
	return doc;
}

void api_import_finish(struct api_import *im, struct api_response *resp,
		       struct api_import_summary *sum)
{
	struct api_response out;
	json_t *doc, *body;
	bool stored = false;
	enum db_result r;

	memset(&out, 0, sizeof out);
	if (!im->decided) {
		if (im->cd != (iconv_t)-1)
			decode_push(im, NULL, 0, true);
		if (im->bom_pos > 0 && im->bom_pos < 3) {
			/* the input was a BOM's first byte or two */
			size_t k = im->bom_pos;

			im->bom_pos = 3;
			split_push(im, "\xef\xbb", k);
		}
	}
	if (!im->decided) {
		if (im->o.format == API_IMPORT_CSV)
			csv_end(im);
		else if (im->line_len > 0 || im->too_long)
			ndjson_line(im);
	}
	if (im->decided) {
		response_move(&out, &im->fatal);
	} else if (im->rejected_total > 0 &&
		   im->o.mode == API_IMPORT_ALL_OR_NOTHING) {
		rollback(im);
		/* Both an import answer and a problem: generic clients read
		 * errors[], the others rejected[]. */
		doc = api_problem_new(422, "validation_failed",
				      "some lines are invalid: nothing was "
				      "stored (mode all_or_nothing); see "
				      "rejected",
				      im->flat, "");
		body = answer_new(im, false);
		json_object_update(doc, body);
		json_decref(body);
		api_respond_json(&out, 422, doc, "application/problem+json");
	} else {
		r = persons_flush(im);
		if (r == DB_OK)
			r = db_commit(im->c);
		if (r != DB_OK) {
			refuse_db(im, r);
			response_move(&out, &im->fatal);
		} else {
			tx_closed(im);
			stored = true;
			api_respond_json(&out, 200, answer_new(im, true),
					 "application/json");
		}
	}
	response_move(resp, &out);
	if (sum) {
		sum->stored = stored;
		sum->lines = im->lines;
		sum->inserted = stored ? im->inserted : 0;
		sum->updated = stored ? im->updated : 0;
		sum->unchanged = stored ? im->unchanged : 0;
		sum->rejected = im->rejected_total;
	}
	api_import_free(im);
}

/* ---- HTTP --------------------------------------------------------------- */

/* "text/csv; charset=shift_jis" -> format and charset; -1 for a type the
 * import does not read. */
static int media_type_parse(const char *ct, enum api_import_format *fmt,
			    enum api_import_charset *cs)
{
	char cv[32];
	const char *p, *e;
	size_t n, k;

	*cs = API_IMPORT_UTF8;
	if (!ct)
		return -1;
	p = ct + strspn(ct, " \t");
	n = strcspn(p, "; \t");
	if ((n == 20 && strncasecmp(p, "application/x-ndjson", n) == 0) ||
	    (n == 18 && strncasecmp(p, "application/ndjson", n) == 0))
		*fmt = API_IMPORT_NDJSON;
	else if (n == 8 && strncasecmp(p, "text/csv", n) == 0)
		*fmt = API_IMPORT_CSV;
	else
		return -1;
	for (p = strchr(p, ';'); p; p = strchr(p, ';')) {
		p++;
		p += strspn(p, " \t");
		if (strncasecmp(p, "charset=", 8) != 0)
			continue; /* e.g. header=present: nothing to do */
		p += 8;
		if (*p == '"')
			p++;
		e = p + strcspn(p, "\"; \t");
		k = (size_t)(e - p);
		if (k >= sizeof cv)
			return -1;
		memcpy(cv, p, k);
		cv[k] = '\0';
		if (strcasecmp(cv, "utf-8") == 0 || strcasecmp(cv, "utf8") == 0)
			*cs = API_IMPORT_UTF8;
		else if (*fmt == API_IMPORT_CSV &&
			 (strcasecmp(cv, "shift_jis") == 0 ||
			  strcasecmp(cv, "shift-jis") == 0 ||
			  strcasecmp(cv, "sjis") == 0 ||
			  strcasecmp(cv, "cp932") == 0 ||
			  strcasecmp(cv, "windows-31j") == 0))
			*cs = API_IMPORT_SHIFT_JIS;
		else
			return -1;
	}
	return 0;
}

/* Lines kept and lines rejected, for /metrics. */
static void count_lines(const struct api_app *app,
			const struct api_import_summary *sum)
{
	size_t kept = sum->inserted + sum->updated + sum->unchanged;

	if (app->metrics)
		api_metrics_import(app->metrics, kept, sum->rejected);
	/* An insurer import changes the registry the decisions cache. */
	if (app->db && sum->stored)
		db_registry_touch(app->db);
}

void api_import_route_finish(const struct api_ctx *ctx, struct api_import *im,
			     struct api_response *resp)
{
	struct api_import_summary sum;

	api_import_finish(im, resp, &sum);
	count_lines(ctx->app, &sum);
}

static struct api_result import_route(const struct api_ctx *ctx,
				      enum api_import_kind kind)
{
	const struct api_request *req = ctx->req;
	struct api_import_opts o;
	struct api_errors *errs = api_errors_new(ctx);
	struct api_import *im = NULL;
	const char *mode = api_query_get(req, "mode");

	memset(&o, 0, sizeof o);
	/* the import's lists: this one (for ?mode, before), and another */
	o.errs = errs;
	o.flat = api_errors_new(ctx);
	if (!errs || !o.flat)
		return api_oom();
	o.kind = kind;
	o.now = req->now;
	o.today = ctx->today;
	o.store = ctx->app->db;
	o.request_id = req->request_id;
	o.audit = ctx->audit;
	o.route = ctx->label;
	if (ctx->facility)
		snprintf(o.facility, sizeof o.facility, "%s", ctx->facility);
	if (!mode || strcmp(mode, "all_or_nothing") == 0) {
		o.mode = API_IMPORT_ALL_OR_NOTHING;
	} else if (strcmp(mode, "best_effort") == 0) {
		o.mode = API_IMPORT_BEST_EFFORT;
	} else {
		api_errors_add(errs, "?mode", "invalid_enum",
			       "mode is all_or_nothing or best_effort");
		return api_invalid(errs, true);
	}
	if (media_type_parse(req->content_type, &o.format, &o.charset) != 0)
		return api_problem(415, "unsupported_media_type",
				   "send the import as Content-Type: "
				   "application/x-ndjson or text/csv "
				   "(charset utf-8 or shift_jis)",
				   NULL, "header:Content-Type");
	if (!ctx->app->db)
		return api_problem(503, "service_unavailable", "no database",
				   NULL, "");
	im = api_import_new(db_path(ctx->app->db), &o, ctx->resp);
	if (!im)
		return api_rendered();
	if (ctx->import_out) {
		*ctx->import_out = im; /* unanswered: the body comes later */
		return api_ok_empty(0);
	}
	if (req->body)
		api_import_feed(im, req->body, req->body_len);
	api_import_route_finish(ctx, im, ctx->resp);
	return api_rendered();
}

struct api_result api_persons_import(const struct api_ctx *ctx)
{
	return import_route(ctx, API_IMPORT_PERSONS);
}

struct api_result api_insurers_import(const struct api_ctx *ctx)
{
	return import_route(ctx, API_IMPORT_INSURERS);
}
