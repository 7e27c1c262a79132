/* import.c - the PostgreSQL store's bulk person writes of an import (see
 * db/import_db.h).
 *
 * Rows are gathered as COPY text lines, DB_IMPORT_BATCH at a time (or
 * fewer, when a person_id comes again: one INSERT ... ON CONFLICT may not
 * touch a row twice).  A batch is sent in three statements inside the
 * import's transaction: TRUNCATE of the connection's temporary table
 * import_persons (made on first use), COPY into it, and one INSERT INTO
 * persons ... SELECT ... ON CONFLICT DO UPDATE that leaves an identical
 * record alone (the same etag) and counts what it inserted and updated.
 * A million persons: some 10 s instead of two round trips each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fnv.h"
#include "db/import_db.h"
#include "db/internal.h"

/* Slots of the set of ids in the batch: a power of two, > 2 x the batch. */
#define ID_SLOTS 32768u

struct dbpg_import {
	struct db_conn *c;
	bool table_made; /* import_persons exists on this connection */
	char *buf;       /* the batch's COPY text */
	size_t len, cap;
	size_t rows;
	/* the batch's ids: offsets + 1 into ids (0 = empty slot) */
	unsigned *slots;
	char *ids;
	size_t ids_len, ids_cap;
};

struct dbpg_import *dbpg_import_new(struct db_conn *c)
{
	struct dbpg_import *im = calloc(1, sizeof *im);

	if (!im)
		return NULL;
	im->c = c;
	im->slots = calloc(ID_SLOTS, sizeof *im->slots);
	if (!im->slots) {
		free(im);
		return NULL;
	}
	return im;
}

void dbpg_import_free(struct dbpg_import *im)
{
	if (!im)
		return;
	free(im->buf);
	free(im->slots);
	free(im->ids);
	free(im);
}

/* Makes room for n more bytes in *buf; false when out of memory. */
static bool reserve(char **buf, size_t *cap, size_t len, size_t n)
{
	size_t want = *cap ? *cap : 1 << 20;
	char *p;

	if (len + n <= *cap)
		return true;
	while (want < len + n)
		want *= 2;
	p = realloc(*buf, want);
	if (!p)
		return false;
	*buf = p;
	*cap = want;
	return true;
}

/* ---- the set of ids in the batch ------------------------------------------- */

/* True when id is in the batch already; else adds it (false). */
static bool id_seen(struct dbpg_import *im, const char *id, bool *oom)
{
	size_t n = strlen(id);
	unsigned i = base_fnv1a32(BASE_FNV32_INIT, id, n) & (ID_SLOTS - 1);

	for (; im->slots[i]; i = (i + 1) & (ID_SLOTS - 1))
		if (strcmp(im->ids + im->slots[i] - 1, id) == 0)
			return true;
	if (!reserve(&im->ids, &im->ids_cap, im->ids_len, n + 1)) {
		*oom = true;
		return false;
	}
	memcpy(im->ids + im->ids_len, id, n + 1);
	im->slots[i] = (unsigned)im->ids_len + 1;
	im->ids_len += n + 1;
	return false;
}

/* ---- COPY text ----------------------------------------------------------------- */

/* Appends one field of a COPY text line: \N for NULL, else the value with
 * backslash, tab, newline and carriage return escaped. */
static void field(struct dbpg_import *im, const char *v, bool last)
{
	char *o = im->buf + im->len;
	const char *s;

	if (!v) {
		memcpy(o, "\\N", 2);
		o += 2;
	} else {
		for (s = v; *s; s++) {
			switch (*s) {
			case '\\': *o++ = '\\', *o++ = '\\'; break;
			case '\t': *o++ = '\\', *o++ = 't'; break;
			case '\n': *o++ = '\\', *o++ = 'n'; break;
			case '\r': *o++ = '\\', *o++ = 'r'; break;
			default: *o++ = *s;
			}
		}
	}
	*o++ = last ? '\n' : '\t';
	im->len = (size_t)(o - im->buf);
}

/* The most bytes a line of pv takes (every byte escaped, plus \N, tab). */
static size_t line_max(const struct db_person_texts *pv)
{
	size_t n = 0;
	int i;

	for (i = 0; i < DB_PERSON_NCOLS; i++)
		n += (pv->v[i] ? 2 * strlen(pv->v[i]) : 2) + 1;
	return n;
}

/* ---- sending a batch ---------------------------------------------------------- */

/* The COPY of the batch's lines into import_persons. */
static enum db_result copy_in(struct dbpg_import *im)
{
	struct db_conn *c = im->c;
	PGresult *r = dbpg_exec(c, DBPG_STMT_IMPORT_COPY, 0, NULL);
	enum db_result res = dbpg_result(c, r);
	bool started = r && PQresultStatus(r) == PGRES_COPY_IN;

	PQclear(r);
	if (res != DB_OK || !started)
		return res != DB_OK ? res : DB_ERROR;
	if (!dbpg_copy_put(c, im->buf, im->len)) {
		if (!c->pg.h)
			return DB_UNAVAILABLE; /* the deadline passed */
		PQputCopyEnd(c->pg.h, "the import failed");
	} else {
		PQputCopyEnd(c->pg.h, NULL);
	}
	/* the COPY's own result (awaited until the deadline), then none */
	r = dbpg_collect(c);
	res = dbpg_result(c, r);
	PQclear(r);
	return res;
}

static enum db_result send_batch(struct dbpg_import *im,
				 struct db_import_counts *counts)
{
	struct db_conn *c = im->c;
	enum db_result res = DB_OK;
	size_t ins = 0, upd = 0;
	PGresult *r;

	if (im->rows == 0)
		return DB_OK;
	if (!im->table_made) {
		res = dbpg_run(c, DBPG_STMT_IMPORT_TABLE);
		im->table_made = res == DB_OK;
	}
	if (res == DB_OK)
		res = dbpg_run(c, DBPG_STMT_IMPORT_TRUNCATE);
	if (res == DB_OK)
		res = copy_in(im);
	if (res == DB_OK) {
		r = dbpg_exec(c, DBPG_STMT_IMPORT_UPSERT, 0, NULL);
		res = dbpg_result(c, r);
		if (res == DB_OK && PQntuples(r) == 1) {
			ins = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
			upd = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
		}
		PQclear(r);
	}
	if (res == DB_OK) {
		counts->inserted += ins;
		counts->updated += upd;
		counts->unchanged += im->rows - ins - upd;
	}
	im->len = 0;
	im->rows = 0;
	im->ids_len = 0;
	memset(im->slots, 0, ID_SLOTS * sizeof *im->slots);
	return res;
}

enum db_result dbpg_import_flush(struct dbpg_import *im,
				 struct db_import_counts *counts)
{
	return send_batch(im, counts);
}

enum db_result dbpg_import_person(struct dbpg_import *im,
				  const struct db_person *p,
				  struct db_import_counts *counts)
{
	struct db_person_texts pv;
	enum db_result res;
	bool oom = false;
	int i;

	db_person_texts(p, &pv);
	if (im->rows >= DB_IMPORT_BATCH || id_seen(im, p->person_id, &oom)) {
		/* a full batch, or this id in it already: send it first */
		res = send_batch(im, counts);
		if (res != DB_OK)
			return res;
		id_seen(im, p->person_id, &oom);
	}
	if (oom || !reserve(&im->buf, &im->cap, im->len, line_max(&pv)))
		return DB_ERROR;
	for (i = 0; i < DB_PERSON_NCOLS; i++)
		field(im, pv.v[i], i == DB_PERSON_NCOLS - 1);
	im->rows++;
	return DB_OK;
}
