/* export.h - the stored persons or insurer registry as NDJSON, in the
 * format the import reads (`shikakud export`; README "Import", "Scaling
 * out").
 *
 * One JSON object a line, in person_id (insurer number) order, read in one
 * read transaction, so that an export taken while others write is one
 * moment's data:
 *
 *   persons:  the body of PUT /v1/persons/{id} plus person_id (GET's body
 *             without updated_at, which an import sets itself);
 *   insurers: insurer_number, scheme and the registry's names, address,
 *             phone and url (absent when not recorded).
 *
 * Importing an export into an empty store gives the same records: each
 * person the same ETag (a hash of the content), each insurer the same
 * row; only updated_at is the import's.  Knows nothing of the store
 * behind db/.
 */
#ifndef SHIKAKU_API_EXPORT_H
#define SHIKAKU_API_EXPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "api/import.h"
#include "db/db.h"

/* Writes every person (of facility when it is not NULL; insurers take no
 * facility) or every insurer of db to out, one line each, and counts them
 * into *lines.  Returns 0, or -1 with err (a store error, or out failed:
 * errno's text).  out is not closed. */
int api_export(struct db *db, enum api_import_kind kind, const char *facility,
	       FILE *out, size_t *lines, char *err, size_t errlen);

/* Is s a facility id the store can hold (1-64 of A-Z a-z 0-9 . _ -, not
 * "." or "..")?  For the command line's --facility. */
bool api_export_facility_ok(const char *s);

#endif
