/* person.h - a stored person's JSON, shared by the persons routes and the
 * import (api/ only). */
#ifndef SHIKAKU_API_PERSON_H
#define SHIKAKU_API_PERSON_H

#include <jansson.h>
#include <stdbool.h>

#include "api/internal.h"
#include "db/person_db.h"

/* 1-64 characters of A-Z a-z 0-9 . _ - (person and facility ids). */
bool api_id_valid(const char *s, size_t n);

/* Validates a person object at JSON Pointer ptr into *out, adding every
 * error to errs.  path_id: the id from the URL (a person_id member must
 * then equal it), or NULL for an import line (person_id then comes from
 * the object; the caller checks it is present).  today bounds birth_date
 * and verified_at.  Returns 0 when no error was added. */
int api_person_parse(json_t *obj, const char *ptr, const char *path_id,
		     int32_t today, struct db_person *out,
		     struct api_errors *errs);

/* The stored record as a new JSON object (absent facts omitted). */
json_t *api_person_json(const struct db_person *p);

#endif
