/* export.c - stored persons or insurers as import lines; see export.h. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api/export.h"
#include "api/person.h"
#include "db/insurer_db.h"
#include "db/person_db.h"

/* Rows read from the store at a time. */
#define EXPORT_PAGE 1000

struct export_out {
	FILE *out;
	size_t lines;
	bool failed; /* writing out failed (errno kept in err_no) */
	int err_no;
	char last[DB_ID_MAX + 1]; /* insurers: the last number read */
	int rows;                 /* rows handed over by the last page */
};

/* Writes obj (taken) as one line. */
static int put_line(struct export_out *x, json_t *obj)
{
	int rc = -1;

	if (obj &&
	    json_dumpf(obj, x->out, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0 &&
	    fputc('\n', x->out) != EOF)
		rc = 0;
	json_decref(obj);
	if (rc != 0) {
		x->failed = true;
		x->err_no = errno ? errno : ENOMEM;
		return 1; /* stop the listing */
	}
	x->lines++;
	return 0;
}

static int person_row(const struct db_person *p, void *arg)
{
	struct export_out *x = arg;
	json_t *o = api_person_json(p);

	x->rows++;
	/* The import sets updated_at itself: do not suggest otherwise. */
	if (o)
		json_object_del(o, "updated_at");
	return put_line(x, o);
}

static void set_text(json_t *o, const char *key, const char *s)
{
	if (s[0])
		json_object_set_new(o, key, json_string(s));
}

static int insurer_row(const struct db_insurer *row, void *arg)
{
	struct export_out *x = arg;
	json_t *o = json_object();

	x->rows++;
	snprintf(x->last, sizeof x->last, "%s", row->number);
	if (!o)
		return put_line(x, NULL);
	json_object_set_new(o, "insurer_number", json_string(row->number));
	if (row->scheme != RULES_SCHEME_UNKNOWN)
		json_object_set_new(
		    o, "scheme", json_string(rules_scheme_name(row->scheme)));
	set_text(o, "name_ja", row->name_ja);
	set_text(o, "name_en", row->name_en);
	set_text(o, "address", row->address);
	set_text(o, "phone", row->phone);
	set_text(o, "url", row->url);
	return put_line(x, o);
}

/* Every page of the listing, until one comes back short. */
static enum db_result export_rows(struct db_conn *c, enum api_import_kind kind,
				  const char *facility, struct export_out *x)
{
	char after[DB_ID_MAX + 1] = "";
	enum db_result r;

	do {
		x->rows = 0;
		if (kind == API_IMPORT_PERSONS)
			r = db_person_list(c, facility, after, EXPORT_PAGE,
					   person_row, x, x->last);
		else
			r = db_insurer_search(c, after, EXPORT_PAGE, 0,
					      RULES_SCHEME_UNKNOWN, NULL,
					      insurer_row, x);
		/* after is bound while the page is read: copied only now */
		snprintf(after, sizeof after, "%s", x->last);
	} while (r == DB_OK && !x->failed && x->rows == EXPORT_PAGE);
	return r;
}

int api_export(struct db *db, enum api_import_kind kind, const char *facility,
	       FILE *out, size_t *lines, char *err, size_t errlen)
{
	struct export_out x = {.out = out};
	struct db_conn *c = db_conn_get(db);
	enum db_result r;

	*lines = 0;
	if (!c) {
		snprintf(err, errlen, "the database cannot be opened");
		return -1;
	}
	/* One read transaction: one moment's data, however long it takes. */
	r = db_begin_read(c);
	if (r == DB_OK) {
		r = export_rows(c, kind, facility, &x);
		if (r == DB_OK)
			r = db_commit(c);
		else
			db_rollback(c);
	}
	*lines = x.lines;
	if (x.failed) {
		snprintf(err, errlen, "writing the export failed: %s",
			 strerror(x.err_no));
		return -1;
	}
	if (r != DB_OK) {
		snprintf(err, errlen, "reading the database failed (%s)",
			 r == DB_BUSY ? "busy" : "error");
		return -1;
	}
	return 0;
}

bool api_export_facility_ok(const char *s)
{
	return api_id_valid(s, strlen(s));
}
