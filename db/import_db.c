/* import_db.c - bulk person writes of an import (see import_db.h): SQLite
 * writes each row at once, PostgreSQL's are db/pg/import.c's. */
#include <stdlib.h>

#include "base/tokyo_time.h"
#include "db/import_db.h"
#include "db/internal.h"

struct db_import {
	struct db_conn *c;
	struct db_import_counts counts;
	struct dbpg_import *pg; /* PostgreSQL: the rows held back */
};

struct db_import *db_import_new(struct db_conn *c)
{
	struct db_import *im = calloc(1, sizeof *im);

	if (!im)
		return NULL;
	im->c = c;
	if (c->kind == DB_KIND_PG) {
		im->pg = dbpg_import_new(c);
		if (!im->pg) {
			free(im);
			return NULL;
		}
	}
	return im;
}

enum db_result db_import_person(struct db_import *im, struct db_person *p,
				double now)
{
	enum db_put_outcome outcome;
	enum db_result r;

	if (im->pg) {
		/* what db_person_put sets, set once here */
		db_person_etag(p, p->etag);
		base_tokyo_time(now, p->updated_at);
		return dbpg_import_person(im->pg, p, &im->counts);
	}
	r = db_person_put(im->c, p, NULL, false, true, now, &outcome);
	if (r != DB_OK)
		return r;
	if (outcome == DB_PUT_CREATED)
		im->counts.inserted++;
	else if (outcome == DB_PUT_REPLACED)
		im->counts.updated++;
	else
		im->counts.unchanged++;
	return DB_OK;
}

enum db_result db_import_flush(struct db_import *im,
			       struct db_import_counts *out)
{
	enum db_result r = DB_OK;

	if (im->pg)
		r = dbpg_import_flush(im->pg, &im->counts);
	*out = im->counts;
	return r;
}

void db_import_free(struct db_import *im)
{
	if (!im)
		return;
	dbpg_import_free(im->pg);
	free(im);
}
