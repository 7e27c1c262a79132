/* insurers.c - the insurer registry over HTTP (SPEC §5): the facts derived
 * from the number, plus what the registry knows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/text.h"
#include "db/insurer_db.h"

#define ANSWER_MAX ((size_t)4 << 20)

struct api_result api_insurer_get(const struct api_ctx *ctx)
{
	struct rules_insurer ins = ctx->insurer;
	struct db_insurer row;
	struct api_result res;
	struct db_conn *c;
	enum db_result r;

	c = api_conn(ctx, &res);
	if (!c)
		return res;
	r = db_insurer_get(c, ins.number, &row);
	if (r != DB_OK && r != DB_NOT_FOUND)
		return api_db_problem(ctx, r);
	return api_ok_json(200,
			   api_insurer_json(&ins, r == DB_OK ? &row : NULL),
			   "application/json");
}

/* PUT's answer for the body doc (which the caller releases). */
static struct api_result insurer_put_doc(const struct api_ctx *ctx, json_t *doc,
					 struct api_errors *errs)
{
	struct rules_insurer ins = ctx->insurer;
	struct db_insurer row;
	struct api_result res;
	struct db_conn *c;
	enum db_result r;
	bool created = false;

	if (api_insurer_parse(doc, ins.number, &row, errs) != 0)
		return api_invalid(errs, false);
	c = api_conn_for_write(ctx, &res);
	if (!c)
		return res;
	r = db_insurer_put(c, &row, false, ctx->req->now, &created);
	if (r != DB_OK)
		return api_db_problem(ctx, r);
	db_registry_touch(ctx->app->db);
	return api_ok_json(created ? 201 : 200, api_insurer_json(&ins, &row),
			   "application/json");
}

struct api_result api_insurer_put(const struct api_ctx *ctx)
{
	struct api_errors *errs = NULL;
	struct api_result res;
	json_t *doc;

	doc = api_body_with_errors(ctx, &res, &errs);
	if (!doc)
		return res;
	res = insurer_put_doc(ctx, doc, errs);
	json_decref(doc);
	return res;
}

struct search {
	json_t *items;
	char last[9];
	int n;
};

static int search_row(const struct db_insurer *row, void *arg)
{
	struct search *s = arg;
	struct rules_insurer ins;

	memcpy(s->last, row->number, sizeof s->last);
	s->n++;
	if (rules_insurer_parse(row->number, strlen(row->number), &ins) !=
	    RULES_INSURER_OK)
		return 0;
	json_array_append_new(s->items, api_insurer_json(&ins, row));
	return 0;
}

struct api_result api_insurers_list(const struct api_ctx *ctx)
{
	struct api_errors *errs = api_errors_new(ctx);
	struct search s = {0};
	const char *q, *name;
	int prefecture = 0, scheme = 0, limit = 100;
	char after[9] = "";
	struct db_conn *c;
	enum db_result r;
	struct api_result res;
	long n;

	if (!errs)
		return api_oom();
	q = api_query_get(ctx->req, "prefecture");
	if (q) {
		/* One or two ASCII digits (openapi.yaml's pattern): strtol
		 * alone let "013", "+13" and " 13" through. */
		n = strlen(q) >= 1 && strlen(q) <= 2 &&
			    strspn(q, "0123456789") == strlen(q)
			? strtol(q, NULL, 10)
			: 0;
		if (n < 1 || n > 47)
			api_errors_add(errs, "?prefecture", "invalid_enum",
				       "a prefecture code 1-47 (one or two "
				       "digits: 13, 01 or 1)");
		else
			prefecture = (int)n;
	}
	q = api_query_get(ctx->req, "scheme");
	if (q && (scheme = rules_scheme_from_name(q)) < 0)
		api_errors_add(errs, "?scheme", "invalid_enum",
			       "a scheme of SPEC §2");
	name = api_query_get(ctx->req, "q");
	if (name && (!*name || strlen(name) > 100))
		api_errors_add(errs, "?q", "invalid_type",
			       "1-100 bytes of a name or a number");
	api_query_limit(ctx->req, 1000, &limit, errs);
	q = api_query_get(ctx->req, "cursor");
	if (q) {
		if (strlen(q) > 8 || strspn(q, "0123456789") != strlen(q))
			api_errors_add(errs, "?cursor", "invalid_type",
				       "not a cursor this server gave");
		else
			snprintf(after, sizeof after, "%s", q);
	}
	if (errs->n)
		return api_invalid(errs, true);
	c = api_conn(ctx, &res);
	if (!c)
		return res;
	s.items = json_array();
	r = db_insurer_search(c, after, limit, prefecture,
			      (enum rules_scheme)(scheme < 0 ? 0 : scheme),
			      name, search_row, &s);
	if (r != DB_OK) {
		json_decref(s.items);
		return api_db_problem(ctx, r);
	}
	return api_ok_json(
	    200,
	    json_pack("{s:o, s:o}", "items", s.items, "next_cursor",
		      s.n == limit ? json_string(s.last) : json_null()),
	    "application/json");
}
