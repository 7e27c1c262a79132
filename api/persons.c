/* persons.c - the person cache over HTTP: PUT, GET, DELETE, the stored
 * decision, and the worklist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/person.h"

#define ANSWER_MAX ((size_t)16 << 20)

/* The 404 of an absent person (and of another facility's). */
static struct api_result not_found(void)
{
	return api_problem(404, "not_found", "no person with this id", NULL,
			   "path");
}

/* An If-Match / If-None-Match header as the store's tag list (see
 * db/person_db.h): "*", or the bare tags joined by ','.  If-Match compares
 * strongly (RFC 9110 §13.1.1), so a weak tag W/"..." never matches there
 * and is dropped; If-None-Match compares weakly and keeps it.  An element
 * without quotes is taken as a bare tag, to forgive hand-typed curl.
 * *list: NULL when header is NULL, else a string of the request's arena.
 * false when out of memory. */
static bool tag_list(const struct api_ctx *ctx, const char *header,
		     bool weak_ok, char **list)
{
	const char *p = header, *end, *q;
	size_t n, o = 0;
	bool weak;
	char *out;

	*list = NULL;
	if (!header)
		return true;
	out = api_alloc(ctx, strlen(header) + 2);
	if (!out)
		return false;
	*list = out;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		end = p + strcspn(p, ",");
		q = end;
		while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
			q--;
		weak = q - p >= 2 && p[0] == 'W' && p[1] == '/';
		if (weak)
			p += 2;
		if (q - p >= 2 && *p == '"' && q[-1] == '"') {
			p++;
			q--;
		}
		n = (size_t)(q - p);
		if (n == 1 && *p == '*' && !weak) {
			strcpy(out, "*");
			return true;
		}
		if (n > 0 && (weak_ok || !weak) && !memchr(p, '"', n)) {
			if (o)
				out[o++] = ',';
			memcpy(out + o, p, n);
			o += n;
		}
		p = end;
	}
	out[o] = '\0';
	return true;
}

static void set_etag(const struct api_ctx *ctx, const char *etag)
{
	char quoted[40];
	size_t n = strnlen(etag, sizeof quoted - 3);

	if (n == 0)
		return;
	quoted[0] = '"';
	memcpy(quoted + 1, etag, n);
	quoted[n + 1] = '"';
	quoted[n + 2] = '\0';
	api_header(ctx, "ETag", quoted);
}

/* The 412 of a PUT whose preconditions failed; etag: the stored tag, ""
 * for no record (also for another facility's person: as if absent). */
static struct api_result put_412(const struct api_ctx *ctx,
				 const char *if_match, const char *etag)
{
	bool exists = etag[0] != '\0';
	bool by_none =
	    !(if_match && (!exists || !db_etag_in_list(if_match, etag)));

	set_etag(ctx, etag);
	return api_problem(
	    412, "precondition_failed",
	    by_none  ? "the person already exists (If-None-Match)"
	    : exists ? "the person changed since you read it "
		       "(If-Match): GET it again"
		     : "there is no such person to replace "
		       "(If-Match); drop If-Match to create it",
	    NULL, by_none ? "header:If-None-Match" : "header:If-Match");
}

/* The body of a PUT read into p, the key's facility filled in; -1 with
 * the 422 in *res. */
static int put_parse(const struct api_ctx *ctx, json_t *doc,
		     struct db_person *p, struct api_errors *errs,
		     struct api_result *res)
{
	if (api_person_parse(doc, "", ctx->path_id, ctx->today, p, errs) != 0) {
		*res = api_invalid(errs, false);
		return -1;
	}
	if (ctx->facility && !p->facility_id[0])
		snprintf(p->facility_id, sizeof p->facility_id, "%s",
			 ctx->facility);
	if (ctx->facility && strcmp(p->facility_id, ctx->facility) != 0) {
		api_errors_add(errs, "/facility_id", "conflicting_fields",
			       "this API key writes only facility %s",
			       ctx->facility);
		*res = api_invalid(errs, false);
		return -1;
	}
	return 0;
}

/* A key bound to a facility may not replace another facility's person:
 * true with the answer in *res (what an absent id gets, or 404). */
static bool put_scope_refuses(const struct api_ctx *ctx, struct db_conn *c,
			      const char *if_match, struct api_result *res)
{
	struct db_person *old;
	enum api_scope scope;

	if (!ctx->facility)
		return false;
	/* The new record is the caller's: the stored one is read into old. */
	old = api_alloc(ctx, sizeof *old);
	if (!old) {
		*res = api_oom();
		return true;
	}
	scope = api_person_scope(ctx, c, old, false, res);
	if (scope == API_SCOPE_ERROR)
		return true;
	if (scope == API_SCOPE_HIDDEN && if_match) {
		/* What an absent id gets: no record to match. */
		*res = put_412(ctx, if_match, "");
		return true;
	}
	if (scope == API_SCOPE_HIDDEN) {
		/* The one answer that differs from an absent id's (201): the
		 * id is taken, ids are one namespace for every facility
		 * (README, Security). */
		*res = not_found();
		return true;
	}
	return false;
}

/* PUT's answer for the body doc (which the caller releases). */
static struct api_result put_doc(const struct api_ctx *ctx, json_t *doc,
				 struct api_errors *errs)
{
	struct db_person *p = api_alloc(ctx, sizeof *p);
	enum db_put_outcome outcome = DB_PUT_UNCHANGED;
	char *if_match, *if_none_match;
	struct api_result res;
	enum db_result r;
	struct db_conn *c;

	if (!p || !tag_list(ctx, ctx->req->if_match, false, &if_match) ||
	    !tag_list(ctx, ctx->req->if_none_match, true, &if_none_match))
		return api_oom();
	if (put_parse(ctx, doc, p, errs, &res) != 0)
		return res;
	c = api_conn_for_write(ctx, &res);
	if (!c || put_scope_refuses(ctx, c, if_match, &res))
		return res;
	r = db_person_put_if(c, p, if_match, if_none_match, false,
			     ctx->req->now, &outcome);
	/* on DB_PRECONDITION p->etag holds the stored tag, "" for none */
	if (r == DB_PRECONDITION)
		return put_412(ctx, if_match, p->etag);
	if (r != DB_OK)
		return api_db_problem(ctx, r);
	set_etag(ctx, p->etag);
	return api_ok_json(outcome == DB_PUT_CREATED ? 201 : 200,
			   api_person_json(p), "application/json");
}

struct api_result api_person_put(const struct api_ctx *ctx)
{
	struct api_errors *errs = NULL;
	struct api_result res;
	json_t *doc = api_body_with_errors(ctx, &res, &errs);

	if (!doc)
		return res;
	res = put_doc(ctx, doc, errs);
	json_decref(doc);
	return res;
}

/* The path's person as the caller's key sees it, read on c into the
 * request's arena: NULL with the answer in *res (404 for an absent id and
 * for another facility's person alike). */
static struct db_person *visible_person(const struct api_ctx *ctx,
					struct db_conn *c,
					struct api_result *res)
{
	struct db_person *p = api_alloc(ctx, sizeof *p);
	enum api_scope scope;

	if (!p) {
		*res = api_oom();
		return NULL;
	}
	scope = api_person_scope(ctx, c, p, true, res);
	if (scope == API_SCOPE_VISIBLE)
		return p;
	if (scope != API_SCOPE_ERROR)
		*res = not_found();
	return NULL;
}

struct api_result api_person_get(const struct api_ctx *ctx)
{
	struct db_person *p;
	char *if_none_match;
	struct api_result res;
	struct db_conn *c;

	if (!tag_list(ctx, ctx->req->if_none_match, true, &if_none_match))
		return api_oom();
	c = api_conn(ctx, &res);
	p = c ? visible_person(ctx, c, &res) : NULL;
	if (!p)
		return res;
	set_etag(ctx, p->etag);
	/* RFC 9110 §13.1.2: the client's copy is current.  The body is the
	 * 200's, and never sent (the server sends none with a 304): its
	 * length goes out as Content-Length, which RFC 9110 §8.6 allows in a
	 * 304 only as the 200's (0 would be wrong). */
	if (if_none_match && db_etag_in_list(if_none_match, p->etag))
		return api_ok_json(304, api_person_json(p), NULL);
	return api_ok_json(200, api_person_json(p), "application/json");
}

struct api_result api_person_delete(const struct api_ctx *ctx)
{
	char *if_match;
	struct api_result res;
	enum db_result r;
	struct db_conn *c;

	if (!tag_list(ctx, ctx->req->if_match, false, &if_match))
		return api_oom();
	/* Another facility's person answers as an absent one: 404 (an
	 * absent id is 404 with or without If-Match). */
	c = api_conn_for_write(ctx, &res);
	if (!c || !visible_person(ctx, c, &res))
		return res;
	r = db_person_delete(c, ctx->path_id, if_match);
	if (r == DB_NOT_FOUND)
		return not_found();
	if (r == DB_PRECONDITION)
		return api_problem(412, "precondition_failed",
				   "the person changed since you read it "
				   "(If-Match): GET it again",
				   NULL, "header:If-Match");
	if (r != DB_OK)
		return api_db_problem(ctx, r);
	return api_ok_empty(204);
}

/* 422 for an as_of the person's facts cannot be decided on. */
static struct api_result before_birth(const struct api_ctx *ctx)
{
	struct api_errors *errs = api_errors_new(ctx);

	if (!errs)
		return api_oom();
	api_errors_add(errs, "?as_of", "invalid_date",
		       "as_of is before the person's birth_date");
	return api_invalid(errs, true);
}

/* The text/plain answer of the stored decision d of p. */
static void person_text(const struct api_ctx *ctx, const struct db_person *p,
			const struct rules_decision *d, struct api_buf *b)
{
	api_buf_printf(b, "%s%s%s\n", p->person_id,
		       p->display_name[0] ? "  " : "", p->display_name);
	api_decision_text(b, d, &ctx->app->ruleset->params, ctx->lang);
	if (api_person_stale(ctx, p))
		api_buf_adds(b, ctx->lang == RULES_LANG_EN
				    ? "NOTE: the stored registration status "
				      "is stale: check it again.\n"
				    : "注意: 登録状況の確認から時間が経ってい"
				      "ます。確認し直してください。\n");
}

struct api_result api_person_eligibility(const struct api_ctx *ctx)
{
	struct db_person *p;
	struct rules_decision d;
	char name[API_INSURER_NAME_MAX];
	struct api_result res;
	struct api_buf b;
	struct db_conn *c;
	int32_t as_of;

	as_of = ctx->today;
	if (api_query_date(ctx, "as_of", &as_of, &res) != 0)
		return res;
	c = api_conn(ctx, &res);
	p = c ? visible_person(ctx, c, &res) : NULL;
	if (!p)
		return res;
	if (api_person_decision(ctx, p, as_of, &d, name) != 0)
		return before_birth(ctx);
	api_count_decision(ctx, &d);
	api_buf_init(&b, ANSWER_MAX);
	set_etag(ctx, p->etag);
	if (ctx->text) {
		person_text(ctx, p, &d, &b);
		return api_ok_buf(200, &b, "text/plain; charset=utf-8");
	}
	api_stored_decision_json(ctx, &b, &d, p);
	return api_ok_buf(200, &b, "application/json");
}
