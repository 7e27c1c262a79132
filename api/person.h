/* person.h - a stored person's JSON, shared by the persons routes and the
 * import (api/ only). */
#ifndef SHIKAKU_API_PERSON_H
#define SHIKAKU_API_PERSON_H

#include <jansson.h>
#include <stdbool.h>

#include "api/internal.h"
#include "db/person_db.h"

/* 1-64 characters of A-Z a-z 0-9 . _ -, but not "." or ".." (person and
 * facility ids). */
bool api_id_valid(const char *s, size_t n);

/* Validates a person object at JSON Pointer ptr into *out, adding every
 * error to errs.  path_id: the id from the URL (a person_id member must
 * then equal it), or NULL for an import line (person_id then comes from
 * the object; the caller checks it is present).  today bounds birth_date
 * and verified_at.  Returns 0 when no error was added. */
int api_person_parse(json_t *obj, const char *ptr, const char *path_id,
		     int32_t today, struct db_person *out,
		     struct api_errors *errs);

/* The stored record as a new JSON object (absent facts omitted;
 * care_needs always, [] when none). */
json_t *api_person_json(const struct db_person *p);

#define API_INSURER_NAME_MAX 160

/* ---- the person lookup (api/person_svc.c) ------------------------------- */

/* Where the path's person stands for the caller's key (the facility
 * scope of SPEC §8). */
enum api_scope {
	API_SCOPE_VISIBLE,
	API_SCOPE_ABSENT,
	API_SCOPE_HIDDEN,
	API_SCOPE_ERROR
};

struct db_conn;
/* Reads the path's person (ctx->path_id) as the key sees it into *p (when
 * visible).  A person stored under another facility than the key's is
 * API_SCOPE_HIDDEN: the caller answers it exactly as API_SCOPE_ABSENT,
 * and both take the same work (db_person_get_in).  An id stored nowhere
 * is counted, not listed, in the audit row, unless the request may store
 * it (PUT: count_absent false).  API_SCOPE_ERROR has the answer in
 * *res. */
enum api_scope api_person_scope(const struct api_ctx *ctx, struct db_conn *c,
				struct db_person *p, bool count_absent,
				struct api_result *res);

/* Decides a stored person on as_of, with the registry's name (and its
 * nhi_association mark: api_decision_lookup_insurer) unless name is NULL
 * (the worklist shows neither).  d->insurer_name borrows name.  -1 when
 * the facts have no decision on as_of (a birth_date after it). */
int api_person_decision(const struct api_ctx *ctx, const struct db_person *p,
			int32_t as_of, struct rules_decision *d,
			char name[API_INSURER_NAME_MAX]);

/* Appends the decision d for the stored person p as JSON, with what only
 * a stored person's answer has: person_id, data_as_of (the stored
 * verified_at) and stale (SPEC §6, GET /v1/persons/{id}/eligibility). */
void api_stored_decision_json(const struct api_ctx *ctx, struct api_buf *b,
			      const struct rules_decision *d,
			      const struct db_person *p);

/* ---- the insurer registry cache (api/registry.c) ------------------------ */

/* Looks d's insurer number up in the registry (when the app has a store
 * and d has a number) and overlays it on d; name is the storage
 * d->insurer_name then borrows.  A store failure leaves d as it was: the
 * name is a courtesy, never a reason to fail a decision. */
void api_decision_lookup_insurer(const struct api_ctx *ctx,
				 struct rules_decision *d,
				 char name[API_INSURER_NAME_MAX]);

#endif
