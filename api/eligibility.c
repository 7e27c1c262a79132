/* eligibility.c - POST /v1/eligibility:evaluate and :batch. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"
#include "api/person.h"

#define BATCH_MAX_ITEMS 1000
/* A decision is about 2-4 KiB; a full batch stays well under this. */
#define ANSWER_MAX ((size_t)16 << 20)

/* Reads the optional top-level as_of into *as_of (today when absent). */
static void parse_as_of(const struct api_ctx *ctx, json_t *doc, int32_t *as_of,
			struct api_errors *errs)
{
	json_t *v = json_object_get(doc, "as_of");

	*as_of = ctx->today;
	if (!v)
		return;
	if (!json_is_string(v)) {
		api_errors_add(errs, "/as_of", "invalid_type",
			       "expected a date YYYY-MM-DD%s",
			       json_is_null(v) ? " (omit the field for today)"
					       : "");
		*as_of = RULES_NO_DATE;
		return;
	}
	if (rules_date_parse(json_string_value(v), json_string_length(v),
			     as_of) != 0) {
		api_errors_add(errs, "/as_of", "invalid_date",
			       "not a real date in the form YYYY-MM-DD");
		*as_of = RULES_NO_DATE;
	}
}

static void unknown_top_level(json_t *doc, const char *const *known,
			      struct api_errors *errs)
{
	char field[API_FIELD_MAX];
	const char *key;
	json_t *v;
	size_t i;
	bool ok;

	json_object_foreach(doc, key, v) {
		ok = false;
		for (i = 0; known[i]; i++)
			if (strcmp(known[i], key) == 0)
				ok = true;
		if (ok)
			continue;
		api_pointer_join(field, sizeof field, "", key);
		api_errors_add(errs, field, "unknown_field",
			       "not a member of this request");
	}
}

/* Decides facts already validated; fills the insurer name from the
 * registry when it knows the number (name is its storage). */
static void decide(const struct api_ctx *ctx, const struct rules_facts *f,
		   int32_t as_of, struct rules_decision *d,
		   char name[API_INSURER_NAME_MAX])
{
	rules_decide(f, as_of, &ctx->app->ruleset->params, d);
	d->insurer_name = NULL;
	api_decision_lookup_insurer(ctx, d, name);
}

static struct api_result decision_answer(const struct api_ctx *ctx,
					 const struct rules_decision *d)
{
	struct api_buf b;

	api_count_decision(ctx, d);
	api_buf_init(&b, ANSWER_MAX);
	if (ctx->text) {
		api_decision_text(&b, d, &ctx->app->ruleset->params, ctx->lang);
		return api_ok_buf(200, &b, "text/plain; charset=utf-8");
	}
	api_decision_json(&b, d, &ctx->app->ruleset->params, ctx->lang,
			  ctx->req->now);
	return api_ok_buf(200, &b, "application/json");
}

/* What evaluate or batch answers for its body doc, whose as_of is read
 * and whose errors found so far (unknown members, as_of) are in errs. */
typedef struct api_result (*body_answer)(const struct api_ctx *ctx, json_t *doc,
					 int32_t as_of,
					 struct api_errors *errs);

/* The body of evaluate or batch read, its members checked against known
 * and its as_of read, then answered by answer. */
static struct api_result with_body(const struct api_ctx *ctx,
				   const char *const *known, body_answer answer)
{
	struct api_errors *errs = NULL;
	struct api_result res;
	json_t *doc = api_body_with_errors(ctx, &res, &errs);
	int32_t as_of;

	if (!doc)
		return res;
	unknown_top_level(doc, known, errs);
	parse_as_of(ctx, doc, &as_of, errs);
	res = answer(ctx, doc, as_of, errs);
	json_decref(doc);
	return res;
}

static struct api_result evaluate_answer(const struct api_ctx *ctx, json_t *doc,
					 int32_t as_of, struct api_errors *errs)
{
	json_t *person = json_object_get(doc, "person");
	char name[API_INSURER_NAME_MAX];
	struct rules_facts facts;
	struct rules_decision d;

	if (!person)
		api_errors_add(errs, "/person", "missing_field",
			       "person (the facts) is required");
	else
		api_facts_parse(person, "/person", as_of, &facts, errs);
	if (errs->n)
		return api_invalid(errs, false);
	decide(ctx, &facts, as_of, &d, name);
	return decision_answer(ctx, &d);
}

struct api_result api_eligibility_evaluate(const struct api_ctx *ctx)
{
	static const char *const known[] = {"as_of", "person", NULL};

	return with_body(ctx, known, evaluate_answer);
}

/* Appends {"error": problem} for one batch item. */
static void batch_item_error(struct api_buf *b, int status, const char *code,
			     const char *detail, const struct api_errors *errs,
			     const char *field)
{
	json_t *p = api_problem_new(status, code, detail, errs, field);
	char *s = json_dumps(p, JSON_COMPACT);

	json_decref(p);
	if (!s) {
		b->failed = true;
		return;
	}
	api_buf_adds(b, "{\"error\":");
	api_buf_adds(b, s);
	api_buf_adds(b, "}");
	free(s);
}

/* A {person_id} item: the decision from the stored facts on the batch's
 * as_of, with person_id, data_as_of and stale as the stored lookup has
 * them, or the item's 404 when there is no such person.  Another
 * facility's person is that same 404 and the same work (its row is never
 * decoded: db_person_get_in).  *absent: the id is stored nowhere. */
static void batch_stored(const struct api_ctx *ctx, const char *id,
			 const char *field, int32_t as_of,
			 struct api_errors *errs, struct db_person *p,
			 struct api_buf *b, bool *absent)
{
	struct rules_decision d;
	char name[API_INSURER_NAME_MAX];
	struct db_conn *c;
	enum db_result r;
	bool stored = true;

	/* Without a store (the library used alone) nobody is stored. */
	if (!ctx->app->db) {
		batch_item_error(b, 404, "not_found", "no person with this id",
				 NULL, field);
		return;
	}
	c = db_conn_get(ctx->app->db);
	if (!c) {
		batch_item_error(b, 503, "service_unavailable",
				 "the person store cannot be read now: retry",
				 NULL, field);
		return;
	}
	r = db_person_get_in(c, id, ctx->facility, p, &stored);
	*absent = r == DB_NOT_FOUND && !stored;
	if (r == DB_NOT_FOUND) {
		batch_item_error(b, 404, "not_found", "no person with this id",
				 NULL, field);
	} else if (r != DB_OK) {
		bool retry = r == DB_BUSY || r == DB_UNAVAILABLE;

		batch_item_error(b, retry ? 503 : 500,
				 retry ? "service_unavailable"
				       : "internal_error",
				 "the person store failed: retry", NULL, field);
	} else if (api_person_decision(ctx, p, as_of, &d, name) != 0) {
		api_errors_add(errs, "/as_of", "invalid_date",
			       "as_of is before the person's birth_date");
		batch_item_error(b, 422, "validation_failed",
				 "the item has no decision on as_of: see "
				 "errors",
				 errs, "");
	} else {
		api_count_decision(ctx, &d);
		api_stored_decision_json(ctx, b, &d, p);
	}
}

/* *absent: the item named an id stored nowhere (for the audit log); p:
 * room for a stored person's record, the batch's. */
static void batch_item(const struct api_ctx *ctx, json_t *item, size_t i,
		       int32_t as_of, struct api_errors *errs,
		       struct db_person *p, struct api_buf *b, bool *absent)
{
	char base[API_FIELD_MAX], field[API_FIELD_MAX];
	char name[API_INSURER_NAME_MAX];
	struct rules_facts facts;
	struct rules_decision d;
	json_t *person, *pid, *v;
	const char *key;

	api_errors_init(errs);
	api_pointer_index(base, sizeof base, "/items", i);
	if (!json_is_object(item)) {
		batch_item_error(b, 422, "invalid_batch",
				 "an item is {\"person\": {...}} or "
				 "{\"person_id\": \"...\"}",
				 NULL, base);
		return;
	}
	person = json_object_get(item, "person");
	pid = json_object_get(item, "person_id");
	if ((person != NULL) == (pid != NULL)) {
		batch_item_error(b, 422, "invalid_batch",
				 "an item has exactly one of person and "
				 "person_id",
				 NULL, base);
		return;
	}
	json_object_foreach(item, key, v) {
		if (strcmp(key, "person") == 0 || strcmp(key, "person_id") == 0)
			continue;
		api_pointer_join(field, sizeof field, base, key);
		api_errors_add(errs, field, "unknown_field",
			       strcmp(key, "as_of") == 0
				   ? "an item has no as_of of its own: set "
				     "as_of on the batch"
				   : "an item has person or person_id only");
	}
	if (pid) {
		api_pointer_join(field, sizeof field, base, "person_id");
		if (!json_is_string(pid))
			api_errors_add(errs, field, "invalid_type",
				       "expected a string");
		else if (!api_id_valid(json_string_value(pid),
				       json_string_length(pid)))
			api_errors_add(errs, field, "invalid_person_id",
				       "1-64 characters of A-Z a-z 0-9 . _ -, "
				       "not \".\" or \"..\"");
		if (errs->n) {
			batch_item_error(b, 422, "validation_failed",
					 "the item has invalid values", errs,
					 "");
			return;
		}
		batch_stored(ctx, json_string_value(pid), field, as_of, errs, p,
			     b, absent);
		return;
	}
	api_pointer_join(field, sizeof field, base, "person");
	api_facts_parse(person, field, as_of, &facts, errs);
	if (errs->n) {
		batch_item_error(b, 422, "validation_failed",
				 "the item has invalid values: see errors",
				 errs, "");
		return;
	}
	decide(ctx, &facts, as_of, &d, name);
	api_count_decision(ctx, &d);
	api_decision_json(b, &d, &ctx->app->ruleset->params, ctx->lang,
			  ctx->req->now);
}

/* The batch's items (checked: an array of 1-1000) into b. */
static void batch_items(const struct api_ctx *ctx, json_t *items, int32_t as_of,
			struct api_errors *errs, struct db_person *p,
			struct api_buf *b)
{
	json_t *item;
	size_t i;

	api_buf_adds(b, "{\"results\":[");
	json_array_foreach(items, i, item) {
		json_t *pid = json_object_get(item, "person_id");
		bool absent = false;

		if (i)
			api_buf_adds(b, ",");
		batch_item(ctx, item, i, as_of, errs, p, b, &absent);
		/* Ids stored nowhere are counted, the others listed. */
		if (json_is_string(pid) && absent)
			api_audit_absent(ctx->audit, json_string_value(pid));
		else if (json_is_string(pid))
			api_audit_note(ctx->audit, json_string_value(pid));
	}
	api_buf_adds(b, "]}");
}

/* The batch's top level checked: its items, or NULL with the refusal in
 * *res. */
static json_t *batch_top(json_t *doc, struct api_errors *errs,
			 struct api_result *res)
{
	json_t *items = json_object_get(doc, "items");

	if (!items) {
		api_errors_add(errs, "/items", "missing_field",
			       "items (1-1000 of {person} or {person_id}) is "
			       "required");
	} else if (!json_is_array(items)) {
		api_errors_add(errs, "/items", "invalid_type",
			       "expected an array of items");
	} else if (json_array_size(items) > BATCH_MAX_ITEMS) {
		*res = api_problem(413, "too_many_items",
				   "a batch holds at most 1000 items: split it",
				   NULL, "/items");
		return NULL;
	} else if (json_array_size(items) == 0) {
		api_errors_add(errs, "/items", "invalid_batch",
			       "the batch is empty");
	}
	if (!errs->n)
		return items;
	*res = api_invalid(errs, false);
	if (api_errors_has(errs, "invalid_batch"))
		res->code = "invalid_batch";
	return NULL;
}

static struct api_result batch_answer(const struct api_ctx *ctx, json_t *doc,
				      int32_t as_of, struct api_errors *errs)
{
	struct api_result res;
	struct db_person *p;
	struct api_buf b;
	json_t *items = batch_top(doc, errs, &res);

	if (!items)
		return res;
	/* room for the stored persons' records, one at a time */
	p = api_alloc(ctx, sizeof *p);
	if (!p)
		return api_oom();
	api_buf_init(&b, ANSWER_MAX);
	batch_items(ctx, items, as_of, errs, p, &b);
	return api_ok_buf(200, &b, "application/json");
}

struct api_result api_eligibility_batch(const struct api_ctx *ctx)
{
	static const char *const known[] = {"as_of", "items", NULL};

	return with_body(ctx, known, batch_answer);
}
