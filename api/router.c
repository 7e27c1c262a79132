/* router.c - the route table and the path of every request: api_begin
 * finds its route once and makes every check that needs no body
 * (authentication, 404/405, role, individual numbers in path and query,
 * unknown or bad parameters, language and format, the {id}, the media
 * type); api_end runs the handler once the body is in (or the import
 * opened on the first call has read it); one exit (done) audits it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/import.h"
#include "api/internal.h"
#include "api/person.h"
#include "api/session.h"
#include "api/text.h"
#include "api/ui.h"
#include "api/audit.h"
#include "api/metrics.h"
#include "db/audit_log.h"
#include "db/key_db.h"

/* A handler returns its answer (struct api_result), rendered by api_end;
 * of the response it adds only headers of its own (api_header). */
typedef struct api_result (*api_handler)(const struct api_ctx *);

enum { M_GET = 1, M_POST = 2, M_PUT = 4, M_DELETE = 8 };
/* Answers a route gives besides JSON: format=text or Accept: text/plain,
 * format=csv or Accept: text/csv. */
enum { F_TEXT = API_FORMAT_TEXT, F_CSV = API_FORMAT_CSV };
/* How a route takes its body, whether it is audited, and what api_begin
 * checks of it before the body. */
enum {
	B_BUFFERED = 0, /* read whole (up to --max-body), then handled */
	B_STREAMED =
	    1,         /* fed to the import engine as it comes (api/import.c) */
	AUDITED = 2,   /* may name stored persons: audited (SPEC §8) */
	B_JSON = 4,    /* its body is a JSON object: 415 before it is read */
	ID_PERSON = 8, /* {id} is a person id: 422 unless valid */
	ID_INSURER = 16, /* {id} is an insurer number: 422 unless valid */
};

struct route {
	unsigned method;
	const char *path; /* a segment "{id}" matches any one segment */
	api_handler handler;
	unsigned formats;         /* F_TEXT, F_CSV besides JSON (false: none) */
	const char *const *query; /* the parameters it takes, besides lang */
	enum db_key_role role;    /* the weakest key it takes (SPEC §8) */
	unsigned how;             /* B_BUFFERED or B_STREAMED, | AUDITED */
};

static struct api_result health_get(const struct api_ctx *ctx)
{
	return api_ok_json(
	    200,
	    json_pack("{s:s, s:s}", "status", "ok", "version",
		      ctx->app->version ? ctx->app->version : ""),
	    "application/json");
}

/* Ready when the database answers a read. */
static struct api_result ready_get(const struct api_ctx *ctx)
{
	struct db_conn *c = ctx->app->db ? db_conn_get(ctx->app->db) : NULL;
	struct api_result res;

	if (!c || db_ping(c) != DB_OK) {
		res = api_problem(503, "service_unavailable",
				  "the database cannot be read", NULL, "");
		res.retry_after = "5";
		return res;
	}
	return api_ok_json(200, json_pack("{s:s}", "status", "ready"),
			   "application/json");
}

/* text (len bytes, malloc'd) with the store's connection gauges appended
 * when it has a pool (PostgreSQL); NULL when out of memory (text freed). */
static char *with_pool(const struct db *db, char *text, size_t *len)
{
	static const char fmt[] =
	    "# HELP shikaku_db_pool_connections The database connections "
	    "this process holds open now.\n"
	    "# TYPE shikaku_db_pool_connections gauge\n"
	    "shikaku_db_pool_connections %ld\n"
	    "# HELP shikaku_db_connection_errors_total Connections to the "
	    "database that failed or were found broken.\n"
	    "# TYPE shikaku_db_connection_errors_total counter\n"
	    "shikaku_db_connection_errors_total %lu\n";
	unsigned long errors;
	char more[512], *grown;
	long open;
	int n;

	if (!db || !db_pool_stats(db, &open, &errors))
		return text;
	n = snprintf(more, sizeof more, fmt, open, errors);
	grown = realloc(text, *len + (size_t)n + 1);
	if (!grown) {
		free(text);
		return NULL;
	}
	memcpy(grown + *len, more, (size_t)n + 1);
	*len += (size_t)n;
	return grown;
}

static struct api_result metrics_get(const struct api_ctx *ctx)
{
	long long bytes = ctx->app->db ? db_size_bytes(ctx->app->db) : -1;
	struct audit_log_stats audit;
	struct api_buf b;
	size_t len = 0;
	char *text = NULL;

	if (ctx->app->audit)
		audit_log_stats(ctx->app->audit, &audit);
	if (!ctx->app->metrics ||
	    api_metrics_render(ctx->app->metrics, ctx->app->version, bytes,
			       ctx->app->audit ? &audit : NULL, ctx->req->now,
			       &text, &len) != 0)
		return api_problem(500, "internal_error", "metrics unavailable",
				   NULL, "");
	text = with_pool(ctx->app->db, text, &len);
	if (!text)
		return api_oom();
	/* the text (NUL-terminated) as a buffer's contents, for the answer */
	memset(&b, 0, sizeof b);
	b.data = text;
	b.len = len;
	b.cap = b.max = len + 1;
	return api_ok_buf(200, &b, "text/plain; version=0.0.4; charset=utf-8");
}

static struct api_result openapi_get(const struct api_ctx *ctx)
{
	struct api_buf b;

	api_buf_init(&b, ctx->app->openapi_len + 1);
	api_buf_add(&b, ctx->app->openapi_yaml, ctx->app->openapi_len);
	return api_ok_buf(200, &b, "application/yaml");
}

static const char *const q_none[] = {NULL};
static const char *const q_format[] = {"format", NULL};
static const char *const q_eligibility[] = {"format", "as_of", NULL};
static const char *const q_worklist[] = {
    "format",      "facility_id", "needs_action",
    "entitlement", "due_before",  "changes_before",
    "as_of",       "limit",       "cursor",
    "charset",     NULL};
static const char *const q_insurers[] = {"prefecture", "scheme", "q",
					 "limit",      "cursor", NULL};
static const char *const q_import[] = {"mode", NULL};

#define NONE DB_KEY_ROLE_NONE
#define R    DB_KEY_ROLE_READER
#define W    DB_KEY_ROLE_WRITER
#define A    DB_KEY_ROLE_ADMIN
static const struct route routes[] = {
    {M_POST, "/v1/eligibility:evaluate", api_eligibility_evaluate, F_TEXT,
     q_format, R, B_BUFFERED | B_JSON},
    {M_POST, "/v1/eligibility:batch", api_eligibility_batch, false, q_none, R,
     B_BUFFERED | AUDITED | B_JSON},
    {M_GET, "/v1/persons", api_persons_list, F_TEXT | F_CSV, q_worklist, R,
     B_BUFFERED | AUDITED},
    {M_GET, "/v1/persons/{id}", api_person_get, false, q_none, R,
     B_BUFFERED | AUDITED | ID_PERSON},
    {M_PUT, "/v1/persons/{id}", api_person_put, false, q_none, W,
     B_BUFFERED | AUDITED | ID_PERSON | B_JSON},
    {M_DELETE, "/v1/persons/{id}", api_person_delete, false, q_none, W,
     B_BUFFERED | AUDITED | ID_PERSON},
    {M_GET, "/v1/persons/{id}/eligibility", api_person_eligibility, F_TEXT,
     q_eligibility, R, B_BUFFERED | AUDITED | ID_PERSON},
    {M_POST, "/v1/persons:import", api_persons_import, false, q_import, W,
     B_STREAMED | AUDITED},
    {M_POST, "/v1/insurers:import", api_insurers_import, false, q_import, A,
     B_STREAMED},
    {M_GET, "/v1/insurers", api_insurers_list, false, q_insurers, R,
     B_BUFFERED},
    {M_GET, "/v1/insurers/{id}", api_insurer_get, false, q_none, R,
     B_BUFFERED | ID_INSURER},
    {M_PUT, "/v1/insurers/{id}", api_insurer_put, false, q_none, A,
     B_BUFFERED | ID_INSURER | B_JSON},
    {M_GET, "/v1/rules", api_rules_get, false, q_none, R, B_BUFFERED},
    {M_GET, "/v1/audit", api_audit_get, false, api_audit_query, A, B_BUFFERED},
    /* The facility page's sign-in (api/sessions.c): POST takes the key
     * itself; the others go by the cookie. */
    {M_POST, "/v1/sessions", api_sessions_post, false, q_none, NONE,
     B_BUFFERED},
    {M_GET, "/v1/sessions/current", api_sessions_current_get, false, q_none, R,
     B_BUFFERED},
    {M_DELETE, "/v1/sessions/current", api_sessions_current_delete, false,
     q_none, R, B_BUFFERED},
    {M_GET, "/healthz", health_get, false, q_none, NONE, B_BUFFERED},
    {M_GET, "/readyz", ready_get, false, q_none, NONE, B_BUFFERED},
    {M_GET, "/metrics", metrics_get, false, q_none, NONE, B_BUFFERED},
    {M_GET, "/openapi.yaml", openapi_get, false, q_none, NONE, B_BUFFERED},
};

#undef NONE
#undef R
#undef W
#undef A

/* Matches path against pattern; copies the {id} segment into id, which
 * is left alone when the path does not match. */
static bool route_match(const char *pattern, const char *path, char *id,
			size_t idlen)
{
	const char *p = pattern, *q = path, *seg = NULL;
	size_t seg_len = 0;

	while (*p && *q) {
		if (*p == '{' && strncmp(p, "{id}", 4) == 0) {
			size_t n = strcspn(q, "/");

			if (n == 0)
				return false;
			seg = q;
			seg_len = n;
			p += 4;
			q += n;
			continue;
		}
		if (*p != *q)
			return false;
		p++;
		q++;
	}
	if (*p != '\0' || *q != '\0')
		return false;
	if (seg != NULL) {
		size_t keep = seg_len < idlen ? seg_len : idlen - 1; /* cut */

		memcpy(id, seg, keep);
		id[keep] = '\0';
	}
	return true;
}

static unsigned method_bit(const char *m)
{
	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
		return M_GET;
	if (strcmp(m, "POST") == 0)
		return M_POST;
	if (strcmp(m, "PUT") == 0)
		return M_PUT;
	if (strcmp(m, "DELETE") == 0)
		return M_DELETE;
	return 0;
}

/* A route whose requests may name stored persons (SPEC §8): each holds a
 * place in the audit queue from before it is handled. */
static bool route_audited(const struct route *r)
{
	return (r->how & AUDITED) != 0;
}

/* The route of method and path: the one that takes the method (NULL when
 * none does); *any: the methods the path takes (0: no such path); *label:
 * the template that names the request in logs and metrics whatever its
 * answer (the method's route, else one of the path's, else NULL); id: the
 * {id} segment. */
static const struct route *route_find(const char *method, const char *path,
				      unsigned *any, const char **label,
				      char *id, size_t idlen)
{
	const struct route *r = NULL;
	unsigned m = method_bit(method);
	size_t i;

	*any = 0;
	*label = NULL;
	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (!route_match(routes[i].path, path, id, idlen))
			continue;
		*any |= routes[i].method;
		*label = routes[i].path;
		if (routes[i].method & m)
			r = &routes[i];
	}
	if (r)
		*label = r->path;
	return r;
}

const char *api_route_name(const char *method, const char *path)
{
	const char *label;
	unsigned any;
	char id[128];

	route_find(method, path, &any, &label, id, sizeof id);
	return label ? label : "unmatched";
}

/* SPEC §8: path segments, query keys and values, and the request id header
 * are looked at before anything else of the request. */
static bool request_has_individual_number(const struct api_request *req,
					  char *field, size_t fieldlen)
{
	const char *seg = req->path, *slash;
	size_t i;

	if (req->request_id_is_individual_number) {
		snprintf(field, fieldlen, "header:X-Request-Id");
		return true;
	}
	while (seg && *seg) {
		slash = strchr(seg + 1, '/');
		if (api_is_individual_number(seg + 1,
					     slash ? (size_t)(slash - seg - 1)
						   : strlen(seg + 1))) {
			snprintf(field, fieldlen, "path");
			return true;
		}
		seg = slash;
	}
	for (i = 0; i < req->n_query; i++) {
		const struct api_kv *kv = &req->query[i];

		if (api_is_individual_number(kv->key, strlen(kv->key)) ||
		    (kv->value &&
		     api_is_individual_number(kv->value, strlen(kv->value)))) {
			snprintf(
			    field, fieldlen, "?%s",
			    api_is_individual_number(kv->key, strlen(kv->key))
				? ""
				: kv->key);
			return true;
		}
	}
	if (req->query_number != NULL) {
		/* past the pairs kept: named by its key, as above */
		const struct api_kv *kv = req->query_number;

		snprintf(field, fieldlen, "?%s",
			 api_is_individual_number(kv->key, strlen(kv->key))
			     ? ""
			     : kv->key);
		return true;
	}
	return false;
}

static void check_query(const struct api_request *req, const struct route *r,
			struct api_errors *errs)
{
	char field[API_FIELD_MAX];
	size_t i, j;

	if (req->query_overflow)
		api_errors_add(errs, "?", "invalid_request",
			       "too many query parameters");
	for (i = 0; i < req->n_query; i++) {
		const char *k = req->query[i].key;
		bool known = strcmp(k, "lang") == 0;

		for (j = 0; r->query[j]; j++)
			if (strcmp(r->query[j], k) == 0)
				known = true;

		snprintf(field, sizeof field, "?%.100s", k);
		if (!known) {
			api_errors_add(errs, field, "unknown_field",
				       "this route takes no parameter of this "
				       "name");
			continue;
		}
		for (j = 0; j < i; j++)
			if (strcmp(req->query[j].key, k) == 0)
				api_errors_add(errs, field, "invalid_request",
					       "the parameter is repeated");
	}
}

/* Does this request need a key?  Every /v1 route does; /metrics when
 * configured so; the probes and the API description never. */
static bool needs_key(const struct api_app *app, const struct api_request *req)
{
	if (app->no_auth)
		return false;
	/* Signing in is how a page gets its session: the handler checks the
	 * key it is given (in the header or the body). */
	if (strcmp(req->path, "/v1/sessions") == 0 &&
	    strcmp(req->method, "POST") == 0)
		return false;
	if (strncmp(req->path, "/v1/", 4) == 0 || strcmp(req->path, "/v1") == 0)
		return true;
	return app->metrics_need_key && strcmp(req->path, "/metrics") == 0;
}

/* An admin key bound to a facility (made before `key create` refused
 * the pair) is a writer of its facility: the insurer registry and the
 * audit log belong to no facility (issue 12, README Security).  true
 * with the 403 in resp. */
static bool scope_refuses(const struct api_ctx *ctx, const struct route *r,
			  struct api_response *resp)
{
	if (r->role != DB_KEY_ROLE_ADMIN || !ctx->facility)
		return false;
	api_respond_problem(resp, 403, "forbidden",
			    "an admin key bound to a facility cannot do this: "
			    "the insurer registry and the audit log are not "
			    "one facility's. Use an admin key without "
			    "--facility",
			    NULL, "header:Authorization");
	return true;
}

/* The 403 of a key whose role is below the route's: names the role the
 * route needs, so that the caller knows which key to ask for. */
static void respond_forbidden(const struct api_ctx *ctx, const struct route *r,
			      struct api_response *resp)
{
	const char *have = db_key_role_name((enum db_key_role)ctx->role);
	const char *need = r->role == DB_KEY_ROLE_ADMIN ? "an admin key"
			   : r->role == DB_KEY_ROLE_WRITER
			       ? "a writer or admin key"
			       : "an API key";
	char detail[200];

	snprintf(detail, sizeof detail,
		 "this API key's role (%s) may not do this: %s %s needs %s",
		 have ? have : "none", ctx->req->method, r->path, need);
	api_respond_problem(resp, 403, "forbidden", detail, NULL,
			    "header:Authorization");
}

/* 404, or 405 with Allow, for a path no route (or none with this method)
 * takes: true with the answer in resp. */
static bool refuse_unrouted(const struct api_ctx *ctx, unsigned any,
			    struct api_response *resp)
{
	char allow[64];

	if (ctx->route)
		return false;
	if (!any) {
		api_respond_problem(resp, 404, "not_found",
				    "no such resource: see GET /openapi.yaml",
				    NULL, "path");
		return true;
	}
	snprintf(allow, sizeof allow, "%s%s%s%s",
		 any & M_GET ? "GET, HEAD, " : "", any & M_POST ? "POST, " : "",
		 any & M_PUT ? "PUT, " : "", any & M_DELETE ? "DELETE, " : "");
	allow[strlen(allow) - 2] = '\0';
	api_respond_problem(resp, 405, "method_not_allowed",
			    "this resource does not take this method: see the "
			    "Allow header",
			    NULL, "method");
	api_response_header(resp, "Allow", allow);
	return true;
}

/* The {id} of a route that names a person or an insurer, checked: true
 * with the 422 in resp when it is not one. */
static bool refuse_path_id(struct api_ctx *ctx, struct api_response *resp)
{
	enum rules_insurer_error e;
	struct api_errors errs;

	if ((ctx->route->how & ID_PERSON) &&
	    !api_id_valid(ctx->path_id, strlen(ctx->path_id))) {
		api_respond_problem(resp, 422, "invalid_person_id",
				    "a person id is 1-64 characters of A-Z a-z "
				    "0-9 . _ -, not \".\" or \"..\"",
				    NULL, "path");
		return true;
	}
	if (!(ctx->route->how & ID_INSURER))
		return false;
	e = rules_insurer_parse(ctx->path_id, strlen(ctx->path_id),
				&ctx->insurer);
	if (e == RULES_INSURER_OK)
		return false;
	api_errors_init(&errs);
	api_errors_add(&errs, "path", "invalid_insurer_number", "%s",
		       api_insurer_error_text(e));
	api_respond_problem(resp, 422, "validation_failed",
			    "the insurer number is invalid", &errs, "");
	return true;
}

/* Path, query, language and format, then the route's {id} and the media
 * type of its body: true with the refusal in resp. */
static bool refuse_request(struct api_ctx *ctx, struct api_response *resp)
{
	const struct api_request *req = ctx->req;
	struct api_errors *errs;
	char field[API_FIELD_MAX];

	if (request_has_individual_number(req, field, sizeof field)) {
		api_respond_problem(resp, 422, "individual_number_not_accepted",
				    api_number_refused, NULL, field);
		return true;
	}
	errs = api_errors_new(ctx);
	if (!errs) {
		api_respond_oom(resp);
		return true;
	}
	check_query(req, ctx->route, errs);
	api_negotiate_lang(req, &ctx->lang, errs);
	api_negotiate_format(ctx, ctx->route->formats, errs);
	if (api_query_invalid(resp, errs) || refuse_path_id(ctx, resp))
		return true;
	if ((ctx->route->how & B_JSON) &&
	    !api_media_type_is_json(req->content_type)) {
		api_respond_not_json(resp);
		return true;
	}
	return false;
}

/* Every check of a request that needs no body, in the order of SPEC §8:
 * authentication, 404/405, the audit's place, role and scope, then
 * refuse_request's.  The route is found first (once), so that every
 * answer (a 401 too) is counted under its route.  true with the refusal
 * in resp. */
static bool refuse_head(struct api_ctx *ctx, struct api_response *resp)
{
	const struct api_request *req = ctx->req;
	const struct route *r;
	const char *label;
	unsigned any;

	r = route_find(req->method, req->path, &any, &label, ctx->path_id,
		       sizeof ctx->path_id);
	ctx->route = r;
	if (label)
		ctx->label = label;
	if (needs_key(ctx->app, req) && api_authenticate(ctx, resp) != 0)
		return true;
	if (refuse_unrouted(ctx, any, resp))
		return true;
	/* No audited request goes on unless its record can be queued. */
	if (route_audited(r) && api_audit_reserve(ctx, resp) != 0)
		return true;
	/* A request that names a stored person is audited, whatever its
	 * outcome: a refused look is worth recording too. */
	if (r->how & ID_PERSON)
		api_audit_note(ctx->audit, ctx->path_id);
	if (ctx->role < (int)r->role) {
		respond_forbidden(ctx, r, resp);
		return true;
	}
	return scope_refuses(ctx, r, resp) || refuse_request(ctx, resp);
}

/* The one exit of every request api/ answers: its audit record (which may
 * replace the answer with a 503), its CORS headers. */
static void done(struct api_ctx *ctx, struct api_response *resp)
{
	api_audit_record(ctx, resp);
	ctx->audit_reserved = false; /* committed or given back */
	api_cors_headers(ctx->app, ctx->req, resp);
}

static enum api_next answer_now(struct api_ctx *ctx, struct api_response *resp)
{
	done(ctx, resp);
	return API_NEXT_ANSWER;
}

enum api_next api_begin(struct api_ctx *ctx, const struct api_app *app,
			const struct api_request *req, bool stream,
			struct api_response *resp)
{
	const char *page = api_ui_route(req->path);
	struct api_result res;

	api_ctx_reset(ctx, app, req);
	memset(resp, 0, sizeof *resp);
	ctx->resp = resp;
	/* A CORS preflight from an allowed origin (api/cors.c) is answered
	 * before authentication: a browser sends it without the key. */
	if (api_cors_preflight(app, req, resp)) {
		ctx->label = "preflight";
		return answer_now(ctx, resp);
	}
	/* The facility page's own files (SPEC §11, api/ui.c) need no key:
	 * the page asks for one itself. */
	if (page) {
		ctx->label = page;
		api_ui_handle(app, req, resp);
		return answer_now(ctx, resp);
	}
	if (refuse_head(ctx, resp))
		return answer_now(ctx, resp);
	if (!stream || !(ctx->route->how & B_STREAMED))
		return API_NEXT_BODY;
	/* The import opens now and reads the body as it comes. */
	ctx->import_out = &ctx->import;
	res = ctx->route->handler(ctx);
	ctx->import_out = NULL;
	if (ctx->import && res.status == 0 && !res.rendered)
		return API_NEXT_STREAM;
	api_import_free(ctx->import);
	ctx->import = NULL;
	if (res.status == 0 && !res.rendered)
		res = api_problem(500, "internal_error",
				  "the import could not start", NULL, "");
	api_render(resp, &res);
	return answer_now(ctx, resp);
}

/* The one exit of every handled request: the handler's answer rendered
 * (api_render), then done's audit record and CORS headers. */
void api_end(struct api_ctx *ctx, struct api_response *resp)
{
	struct api_import *im = ctx->import;
	struct api_result res;

	memset(resp, 0, sizeof *resp);
	ctx->resp = resp;
	ctx->import = NULL;
	if (im) {
		api_import_route_finish(ctx, im, resp);
		res = api_rendered();
	} else {
		res = ctx->route->handler(ctx);
	}
	api_render(resp, &res);
	done(ctx, resp);
}

bool api_stream_feed(struct api_ctx *ctx, const char *data, size_t len)
{
	return ctx->import && api_import_feed(ctx->import, data, len);
}

void api_stream_cut(struct api_ctx *ctx, struct api_response *resp,
		    const char *detail)
{
	memset(resp, 0, sizeof *resp);
	api_import_free(ctx->import); /* rolls back */
	ctx->import = NULL;
	api_respond_problem(resp, 408, "request_timeout", detail, NULL, "");
	/* The lines read so far named persons: the refusal is audited. */
	done(ctx, resp);
}

void api_abort(struct api_ctx *ctx)
{
	if (!ctx)
		return;
	api_import_free(ctx->import);
	ctx->import = NULL;
	if (ctx->audit_reserved && ctx->app->audit)
		audit_log_release(ctx->app->audit);
	ctx->audit_reserved = false;
}

void api_handle(const struct api_app *app, const struct api_request *req,
		struct api_response *resp)
{
	struct api_ctx *ctx = api_ctx_new();

	if (!ctx) {
		memset(resp, 0, sizeof *resp);
		api_respond_oom(resp);
		return;
	}
	if (api_begin(ctx, app, req, false, resp) == API_NEXT_BODY)
		api_end(ctx, resp);
	api_ctx_free(ctx);
}
