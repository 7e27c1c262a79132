/* api.h - the HTTP-independent request/response boundary.
 *
 * service/ owns the sockets (libmicrohttpd): it reads the request's head,
 * picks the request id and calls api_begin(), which routes it once and
 * makes every check that needs no body; then it reads the body (buffered
 * within its limit, or fed to a streamed import) and calls api_end().
 * api/ routes, parses and validates JSON, runs rules/, and fills the
 * response.  Nothing here knows about libmicrohttpd.
 */
#ifndef SHIKAKU_API_H
#define SHIKAKU_API_H

#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"
#include "rules/rules.h"

/* Where each parameter in force came from: "default" or the rules file. */
struct api_ruleset {
	struct rules_params params;
	const char *source[6]; /* borrowed; order: provisional_end,
				  late_elderly_auto_age, apply_margin_days,
				  ecert_grace_months, stale_after_days,
				  next_change_horizon_days */
};

/* Everything a handler may read that lives longer than a request.
 * Borrowed by api_begin; must outlive the server. */
struct api_app {
	const struct api_ruleset *ruleset;
	const char *openapi_yaml; /* the embedded description */
	size_t openapi_len;
	const char *version;         /* build version string */
	struct db *db;               /* the store; NULL for `eval` (no store) */
	struct api_metrics *metrics; /* counters; NULL = not counted */
	struct audit_log *audit;     /* the audit writer; NULL = none */
	/* --no-auth: no key is asked for (serve refuses it off loopback). */
	bool no_auth;
	/* GET /metrics needs a key too (--metrics-auth). */
	bool metrics_need_key;
	/* The browser parts of SPEC §8 (api/cors.c, api/sessions.c): the
	 * origins allowed cross-origin (--cors-origin, borrowed), and how
	 * long a session lives idle and at most, in seconds. */
	const char *const *cors_origins;
	size_t n_cors_origins;
	double session_idle;
	double session_max;
	bool tls; /* served over TLS: the session cookie is Secure */
	/* Requests per key and second (--rate-limit); NULL = no limit. */
	struct api_rate *rate;
	/* The worklist's rows as decided today (api/row_memo.h); NULL =
	 * every row decided afresh. */
	struct api_row_memo *row_memo;
};

struct api_metrics;
struct audit_log;
struct api_rate;
struct api_row_memo;

struct api_kv {
	const char *key;
	const char *value; /* NULL for "?flag" without '=' */
};

#define API_MAX_QUERY 32

struct api_request {
	const char *method;         /* "GET", "POST", ... */
	const char *path;           /* decoded path, no query */
	const struct api_kv *query; /* n_query pairs, decoded */
	size_t n_query;
	bool query_overflow; /* more than API_MAX_QUERY pairs */
	/* A pair past API_MAX_QUERY (not in query) that holds an individual
	 * number; NULL when none.  Refused like one in query (SPEC §8). */
	const struct api_kv *query_number;
	const char *content_type;    /* NULL when absent */
	const char *accept;          /* NULL when absent */
	const char *accept_language; /* NULL when absent */
	const char *if_match;        /* NULL when absent */
	const char *if_none_match;   /* NULL when absent */
	const char *authorization;   /* NULL when absent */
	/* For the facility page and CORS (SPEC §8, §11); NULL when absent. */
	const char *cookie;
	const char *origin;
	const char *host;
	const char *sec_fetch_site;
	const char *csrf_token; /* X-CSRF-Token */
	/* The X-Request-Id header as sent was an individual number: the whole
	 * request is refused (SPEC §8) once authenticated. */
	bool request_id_is_individual_number;
	const char *request_id; /* the id this request answers with */
	const char *body;       /* NULL when no body */
	size_t body_len;
	double now; /* POSIX seconds, for "today" and ids */
};

/* Room for a page's security headers (SPEC §8: the CSP alone is 139
 * bytes), a session cookie and the CORS headers besides ETag and
 * Retry-After. */
#define API_MAX_HEADERS 8

struct api_header {
	char name[32];
	char value[160];
};

/* An answer: what is sent, nothing else (what the request was, its route
 * and key, are the context's: api_ctx_route, api_ctx_key_id). */
struct api_response {
	int status;
	char *body; /* new (malloc); freed by the caller */
	size_t body_len;
	const char *content_type; /* static string */
	struct api_header headers[API_MAX_HEADERS];
	size_t n_headers;
	/* Set by the import engine (borrowed, valid while the import runs):
	 * whose store error api_respond_db_error reports, with which request
	 * id and route.  Handlers note theirs in the context instead
	 * (api_store_use). */
	struct db *store;
	struct db_conn *store_conn;
	const char *request_id;
	const char *store_route;
};

/* ---- one request: api_begin, its body, api_end ---------------------------
 *
 *   once per connection:          ctx = api_ctx_new()
 *   first call, headers only:     next = api_begin(ctx, app, req, true, resp)
 *     API_NEXT_ANSWER:            send *resp; read no body
 *     API_NEXT_BODY:              buffer the body into req->body, then
 *                                 api_end(ctx, resp)
 *     API_NEXT_STREAM:            api_stream_feed(ctx, piece, len) for each
 *                                 piece of the body, then api_end(ctx, resp)
 *   the request ends unanswered:  api_abort(ctx)
 *   connection closed:            api_ctx_free(ctx)
 */
struct api_ctx; /* one request's context (api/context.c) */

/* A new context, or NULL (out of memory).  Reused by api_begin for each
 * request of a connection, one at a time. */
struct api_ctx *api_ctx_new(void);
/* NULL is a no-op.  Call api_abort first if a request is in it. */
void api_ctx_free(struct api_ctx *ctx);

enum api_next {
	API_NEXT_ANSWER, /* *resp holds the answer: read no body */
	API_NEXT_BODY,   /* read the body whole into req->body, then api_end */
	API_NEXT_STREAM, /* feed the body to api_stream_feed, then api_end */
};

/* The first call of a request, its body not read (req->body NULL): finds
 * its route (once), and makes every check that needs no body: the CORS
 * preflight and the page's files (answered here), authentication, 404/405,
 * role and scope, individual numbers in path, query and X-Request-Id, the
 * query's parameters, language and format, the media type of a JSON body;
 * a streamed route (an import) opens its import when stream is true (else
 * it is read whole, like the others).  req (its strings) and app are
 * borrowed until the request is answered; req->body may be set before
 * api_end. */
enum api_next api_begin(struct api_ctx *ctx, const struct api_app *app,
			const struct api_request *req, bool stream,
			struct api_response *resp);

/* The body has ended (API_NEXT_BODY: in req->body; API_NEXT_STREAM: fed):
 * fills *resp with the answer. */
void api_end(struct api_ctx *ctx, struct api_response *resp);

/* The next len bytes of a streamed body, cut anywhere.  Returns false once
 * the answer is decided (later bytes are ignored; they must still be
 * read). */
bool api_stream_feed(struct api_ctx *ctx, const char *data, size_t len);

/* The upload broke a time limit (the service's: --import-timeout,
 * --import-min-rate): nothing of it is stored, *resp receives a 408
 * request_timeout problem saying detail (borrowed), the request is
 * audited as answered so. */
void api_stream_cut(struct api_ctx *ctx, struct api_response *resp,
		    const char *detail);

/* The request is dropped unanswered by api/ (the connection is lost, or
 * the service refuses it: 413, 408): nothing of a streamed import is
 * stored, the place reserved in the audit queue is given back.  Nothing
 * to do (no request, or answered) is a no-op. */
void api_abort(struct api_ctx *ctx);

/* The route template that names the request of ctx in logs and metrics
 * ("/v1/persons/{id}"; "unmatched" for an unknown path), set by
 * api_begin: static. */
const char *api_ctx_route(const struct api_ctx *ctx);
/* The public id of the key that made the request, "" for none. */
const char *api_ctx_key_id(const struct api_ctx *ctx);

/* api_begin, then api_end with req's body, in a context of its own: one
 * request whose body is already read (the eval command, tests).  Always
 * fills *resp; never fails: internal trouble becomes a 500 problem. */
void api_handle(const struct api_app *app, const struct api_request *req,
		struct api_response *resp);

/* The route template that names a request of method on path in logs and
 * metrics ("/v1/persons/{id}"; "unmatched" for an unknown path): static.
 * For the answers service/ gives itself before api_begin (413, 421, 431,
 * 503). */
const char *api_route_name(const char *method, const char *path);

/* Fills *resp with a problem+json of the given status, type slug and
 * detail, its title the one problem.c's table gives the slug, and one
 * error {field "", code, detail}.  For the service's own limits (413,
 * 431, 503) that arise before api_begin can run. */
void api_problem_simple(struct api_response *resp, int status, const char *code,
			const char *detail);

/* The same with the field its single error names ("header:Authorization",
 * "path", "?"), for the refusals of a request's head. */
void api_problem_field(struct api_response *resp, int status, const char *code,
		       const char *detail, const char *field);

void api_response_fini(struct api_response *resp);

/* Makes jansson allocate through api/json_arena.c: request bodies parsed
 * by api_json_loadb then cost no malloc.  Call once, before threads. */
void api_json_arena_install(void);

/* Fills *out with the defaults of SPEC §4, then, when path is not NULL,
 * overrides them from the JSON rules file at path (an object of §4
 * parameters; an unknown key, a wrong type or an impossible value is an
 * error).  path is borrowed and must outlive *out (it is the "source").
 * Returns 0, or -1 with a one-line message in err. */
int api_ruleset_load(const char *path, struct api_ruleset *out, char *err,
		     size_t errlen);

#endif
