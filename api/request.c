/* request.c - reading a request, HTTP-free core of api/: query parameters
 * (api_query_*) and the JSON body (api_body_object).  Calls only the core
 * below it (problem.c, scan.c, json_read.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"

const char *api_query_get(const struct api_request *req, const char *key)
{
	size_t i;

	for (i = 0; i < req->n_query; i++)
		if (strcmp(req->query[i].key, key) == 0)
			return req->query[i].value ? req->query[i].value : "";
	return NULL;
}

void api_query_limit(const struct api_request *req, int max, int *limit,
		     struct api_errors *errs)
{
	const char *q = api_query_get(req, "limit");
	char *end;
	long n;

	if (!q)
		return;
	n = strtol(q, &end, 10);
	if (!*q || *end || n < 1 || n > max)
		api_errors_add(errs, "?limit", "invalid_type",
			       "an integer from 1 to %d", max);
	else
		*limit = (int)n;
}

void api_query_date_into(const struct api_request *req, const char *name,
			 int32_t *out, struct api_errors *errs)
{
	const char *q = api_query_get(req, name);
	char field[API_FIELD_MAX];

	if (!q || rules_date_parse(q, strlen(q), out) == 0)
		return;
	snprintf(field, sizeof field, "?%s", name);
	api_errors_add(errs, field, "invalid_date",
		       "not a real date in the form YYYY-MM-DD");
}

bool api_query_invalid(struct api_response *resp, const struct api_errors *errs)
{
	if (!errs->n)
		return false;
	api_respond_problem(resp, 422, "validation_failed",
			    "the query has invalid parameters: see errors",
			    errs, "");
	return true;
}

/* The optional ?as_of of the eligibility routes (today when absent);
 * -1 with a 422 in *res when it is not a date. */
int api_query_date(const struct api_ctx *ctx, const char *name, int32_t *out,
		   struct api_result *res)
{
	struct api_errors *errs = api_errors_new(ctx);

	if (!errs) {
		*res = api_oom();
		return -1;
	}
	api_query_date_into(ctx->req, name, out, errs);
	if (!errs->n)
		return 0;
	*res = api_invalid(errs, true);
	return -1;
}

bool api_media_type_is_json(const char *ct)
{
	const char *p;
	size_t n;

	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strlen("application/json");
	if (strncasecmp(ct, "application/json", n) != 0)
		return false;
	p = ct + n;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return true;
	if (*p != ';')
		return false;
	/* Parameters: only a UTF-8 charset makes sense for JSON. */
	for (p++; *p; p++) {
		if (*p == ' ' || *p == '\t')
			continue;
		if (strncasecmp(p, "charset=", 8) != 0)
			return false;
		p += 8;
		if (*p == '"')
			p++;
		if (strncasecmp(p, "utf-8", 5) != 0)
			return false;
		p += 5;
		if (*p == '"')
			p++;
		while (*p == ' ' || *p == '\t')
			p++;
		return *p == '\0';
	}
	return true;
}

static const char not_json[] = "send the body as Content-Type: "
			       "application/json (curl --json)";

const char api_number_refused[] =
    "the request holds an individual number (個人番号); it was not "
    "processed. Never send one to this service";

void api_respond_not_json(struct api_response *resp)
{
	api_respond_problem(resp, 415, "unsupported_media_type", not_json, NULL,
			    "header:Content-Type");
}

json_t *api_body_object(const struct api_ctx *ctx, struct api_result *res)
{
	const struct api_request *req = ctx->req;
	char *field, *detail;
	json_error_t jerr;
	json_t *doc;

	if (!api_media_type_is_json(req->content_type)) {
		*res = api_problem(415, "unsupported_media_type", not_json,
				   NULL, "header:Content-Type");
		return NULL;
	}
	if (!req->body || req->body_len == 0) {
		*res = api_problem(400, "invalid_json",
				   "the body is empty: send a JSON object",
				   NULL, "");
		return NULL;
	}
	doc = api_json_loadb(req->body, req->body_len, &jerr);
	if (!doc) {
		/* The position only, not the reader's text (api_json_read's
		 * never quotes the input; this stays so whatever reads it):
		 * no value is ever echoed. */
		detail = api_alloc(ctx, 160);
		if (!detail) {
			*res = api_oom();
			return NULL;
		}
		snprintf(
		    detail, 160,
		    "the body is not valid JSON (UTF-8, no duplicate keys, "
		    "at most 2048 levels deep): error at line %d, column "
		    "%d",
		    jerr.line, jerr.column);
		*res = api_problem(400, "invalid_json", detail, NULL, "");
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		*res = api_problem(400, "invalid_json",
				   "the body must be a JSON object", NULL, "");
		return NULL;
	}
	field = api_alloc(ctx, API_FIELD_MAX);
	if (!field || api_scan_individual_number(doc, field, API_FIELD_MAX)) {
		json_decref(doc);
		*res = field
			   ? api_problem(422, "individual_number_not_accepted",
					 api_number_refused, NULL, field)
			   : api_oom();
		return NULL;
	}
	return doc;
}

json_t *api_body_with_errors(const struct api_ctx *ctx, struct api_result *res,
			     struct api_errors **errs)
{
	json_t *doc = api_body_object(ctx, res);

	if (!doc)
		return NULL;
	*errs = api_errors_new(ctx);
	if (!*errs) {
		json_decref(doc);
		*res = api_oom();
		return NULL;
	}
	return doc;
}
