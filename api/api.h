/* api.h - the HTTP-independent request/response boundary.
 *
 * service/ owns the sockets (libmicrohttpd): it reads the request, buffers
 * the body within its limit, picks the request id, and calls api_handle().
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
 * Borrowed by api_handle; must outlive the server. */
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
};

struct api_metrics;
struct audit_log;
struct api_rate;

struct api_kv {
	const char *key;
	const char *value; /* NULL for "?flag" without '=' */
};

#define API_MAX_QUERY 32

struct api_stream; /* a streamed request body: see api_stream_open */

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

struct api_response {
	int status;
	char *body; /* new (malloc); freed by the caller */
	size_t body_len;
	const char *content_type; /* static string */
	struct api_header headers[API_MAX_HEADERS];
	size_t n_headers;
	const char *route; /* static route template for the log */
	/* The key that made the request ("" = none), for the log line. */
	char key_id[24];
	/* The person ids the request named, NUL-separated (new; freed by
	 * api_response_fini): what the audit log records. */
	char *audit_ids;
	size_t audit_len, audit_cap, n_audit_ids;
	/* Ids it named that are stored nowhere: counted, not listed. */
	size_t n_audit_absent;
	/* Set by the handler's api_conn_or_503 (borrowed, valid while the
	 * request is handled): whose store error api_respond_db_error
	 * reports, with which request id. */
	struct db *store;
	struct db_conn *store_conn;
	const char *request_id;
};

/* Handles one request.  Always fills *resp (status, body, content type,
 * route); never fails: internal trouble becomes a 500 problem. */
void api_handle(const struct api_app *app, const struct api_request *req,
		struct api_response *resp);

/* The route template that names a request of method on path in logs and
 * metrics ("/v1/persons/{id}"; "unmatched" for an unknown path): static.
 * For the answers service/ gives itself (413, 421, 431, 503). */
const char *api_route_name(const char *method, const char *path);

/* Fills *resp with a problem+json of the given status, type slug and
 * detail, its title the one problem.c's table gives the slug, and one
 * error {field "", code, detail}.  For the service's own limits (413,
 * 431, 503) that arise before api_handle can run. */
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

/* ---- streamed request bodies (the imports) ------------------------------
 *
 * A route that takes a large body (POST /v1/persons:import, up to
 * hundreds of MiB) reads it as it arrives instead of from a buffer:
 *
 *   first call, headers only:   s = api_stream_open(app, req, resp)
 *   each piece of the body:     api_stream_feed(s, data, len)
 *   end of the body:            api_stream_finish(s, resp)
 *   connection lost / too big:  api_stream_abort(s)
 */
/* req has its headers and query but no body.  When its route streams,
 * runs every check api_handle makes before reading a body (route, method,
 * individual numbers in path and query, query parameters, media type) and
 * returns a new stream; when one fails, returns NULL with the refusal in
 * *resp.  For any other route returns NULL with resp->status == 0: buffer
 * the body and call api_handle.  Borrows app until the stream ends. */
struct api_stream *api_stream_open(const struct api_app *app,
				   const struct api_request *req,
				   struct api_response *resp);

/* The next len bytes of the body, cut anywhere.  Returns false once the
 * answer is decided (later bytes are ignored; they must still be read). */
bool api_stream_feed(struct api_stream *s, const char *data, size_t len);

/* The body has ended: fills *resp (as api_handle would) and frees s. */
void api_stream_finish(struct api_stream *s, struct api_response *resp);

/* Drops the request: nothing of it is stored.  Frees s; NULL is a no-op. */
void api_stream_abort(struct api_stream *s);

/* The upload broke a time limit (the service's: --import-timeout,
 * --import-min-rate): nothing of it is stored, *resp receives a 408
 * request_timeout problem saying detail (borrowed), the request is
 * audited as answered so.  Frees s. */
void api_stream_cut(struct api_stream *s, struct api_response *resp,
		    const char *detail);

/* Fills *out with the defaults of SPEC §4, then, when path is not NULL,
 * overrides them from the JSON rules file at path (an object of §4
 * parameters; an unknown key, a wrong type or an impossible value is an
 * error).  path is borrowed and must outlive *out (it is the "source").
 * Returns 0, or -1 with a one-line message in err. */
int api_ruleset_load(const char *path, struct api_ruleset *out, char *err,
		     size_t errlen);

#endif
