/* import_db.h - the person writes of an import, in bulk.
 *
 * An import (api/import.c) writes its persons inside its one transaction
 * (db_begin on a connection of its own).  Each write is what
 * db_person_put(c, p, NULL, false, true, now, ...) does - no conditions,
 * an identical record left alone - but a store may hold writes back and
 * send them together: SQLite writes each at once; PostgreSQL gathers
 * DB_IMPORT_BATCH rows and sends them with COPY into a temporary table and
 * one INSERT ... ON CONFLICT, so that a million persons take seconds, not
 * a round trip each.  The outcomes therefore come as counts, at the end.
 */
#ifndef SHIKAKU_DB_IMPORT_DB_H
#define SHIKAKU_DB_IMPORT_DB_H

#include <stddef.h>

#include "db/db.h"
#include "db/person_db.h"

/* Rows PostgreSQL gets at a time. */
#define DB_IMPORT_BATCH 10000

struct db_import_counts {
	size_t inserted, updated, unchanged;
};

struct db_import;

/* A bulk writer on c, whose transaction the caller holds.  NULL when out
 * of memory.  Free with db_import_free. */
struct db_import *db_import_new(struct db_conn *c);

/* Stores p (its etag and updated_at are set here, now = POSIX seconds),
 * possibly later (see above).  An error here or in db_import_flush may be
 * a held-back row's: the transaction must then be rolled back. */
enum db_result db_import_person(struct db_import *im, struct db_person *p,
				double now);

/* Writes what is held back; *out receives the outcomes of every row so
 * far.  Call before the commit. */
enum db_result db_import_flush(struct db_import *im,
			       struct db_import_counts *out);

/* Frees im, dropping what is held back (the caller rolls back); NULL is a
 * no-op. */
void db_import_free(struct db_import *im);

#endif
