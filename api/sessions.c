/* sessions.c - the facility page's sign-in (SPEC §8): a key once, then an
 * HttpOnly cookie; a CSRF token with every change; same origin only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/session.h"
#include "db/key_db.h"
#include "db/session_db.h"

#define COOKIE_NAME "shikaku_session"

/* The value of the shikaku_session cookie in a Cookie header, or NULL. */
static const char *cookie_token(const char *h, size_t *len)
{
	const char *p = h;
	size_t n = strlen(COOKIE_NAME);

	while (p && *p) {
		while (*p == ' ' || *p == ';')
			p++;
		if (strncmp(p, COOKIE_NAME, n) == 0 && p[n] == '=') {
			p += n + 1;
			*len = strcspn(p, "; ");
			return p;
		}
		p = strchr(p, ';');
	}
	return NULL;
}

/* Is the request from the page's own origin?  A browser names another
 * origin in Origin (every CORS request, every POST) and in Sec-Fetch-Site;
 * SameSite=Strict alone would let another port of the same host (the same
 * site) send the cookie. */
static bool same_origin(const struct api_request *req)
{
	const char *o = req->origin, *h;

	if (req->sec_fetch_site && strcmp(req->sec_fetch_site, "same-origin") &&
	    strcmp(req->sec_fetch_site, "none"))
		return false;
	if (!o)
		return true;
	if (strncmp(o, "http://", 7) == 0)
		h = o + 7;
	else if (strncmp(o, "https://", 8) == 0)
		h = o + 8;
	else
		return false; /* "null" and the like */
	return req->host && strcasecmp(h, req->host) == 0;
}

static bool unsafe(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	       strcmp(method, "OPTIONS") != 0;
}

/* The 401 of a session that is no more, with its WWW-Authenticate. */
static struct api_result session_ended(const struct api_ctx *ctx)
{
	api_header(ctx, "WWW-Authenticate", "Bearer realm=\"shikaku\"");
	return api_problem(401, "unauthorized",
			   "the session is unknown, expired or ended: sign "
			   "in again",
			   NULL, "cookie:" COOKIE_NAME);
}

int api_session_authenticate(struct api_ctx *ctx, struct api_response *resp)
{
	const struct api_request *req = ctx->req;
	struct db_session s;
	struct db_conn *c;
	enum db_result r;
	const char *tok;
	size_t len = 0;

	tok = req->cookie ? cookie_token(req->cookie, &len) : NULL;
	if (!tok)
		return 1;
	if (!same_origin(req)) {
		api_respond_problem(resp, 403, "csrf_token_invalid",
				    "a session cookie is taken from the "
				    "page's own origin only: another origin "
				    "sends an API key",
				    NULL, "header:Origin");
		return -1;
	}
	c = ctx->app->db ? db_conn_get(ctx->app->db) : NULL;
	api_store_use(ctx, c);
	r = c ? db_session_get(c, tok, len, req->now, ctx->app->session_idle,
			       ctx->app->session_max, &s)
	      : DB_ERROR;
	if (r != DB_OK) {
		struct api_result res = r == DB_NOT_FOUND
					    ? session_ended(ctx)
					    : api_db_problem(ctx, r);

		api_render(resp, &res);
		return -1;
	}
	if (unsafe(req->method) &&
	    (!req->csrf_token || strlen(req->csrf_token) != strlen(s.csrf) ||
	     strcmp(req->csrf_token, s.csrf) != 0)) {
		api_respond_problem(resp, 403, "csrf_token_invalid",
				    "a change made with the session cookie "
				    "needs X-CSRF-Token: the csrf_token of "
				    "GET /v1/sessions/current",
				    NULL, "header:X-CSRF-Token");
		return -1;
	}
	api_ctx_set_key(ctx, s.key_id, (int)s.role, s.facility_id);
	return 0;
}

static void format_time(double t, char out[40])
{
	time_t tt = (time_t)t + 9 * 3600;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%S+09:00", &tm);
}

static json_t *session_json(const struct api_app *app,
			    const struct db_session *s)
{
	double end = s->last_seen + app->session_idle;
	char at[40];

	if (s->created_at + app->session_max < end)
		end = s->created_at + app->session_max;
	format_time(end, at);
	return json_pack("{s:s, s:s, s:s?, s:s}", "csrf_token", s->csrf, "role",
			 db_key_role_name(s->role), "facility_id",
			 s->facility_id[0] ? s->facility_id : NULL,
			 "expires_at", at);
}

/* The key of the sign-in: Authorization: Bearer, else {"key": "..."}.
 * -1 with the refusal in *res. */
static int signin_key(const struct api_ctx *ctx, struct api_result *res,
		      char *key, size_t keylen)
{
	const char *a = ctx->req->authorization;
	json_t *body, *k;

	if (a && strncasecmp(a, "Bearer ", 7) == 0) {
		snprintf(key, keylen, "%s", a + 7);
		return 0;
	}
	if (!ctx->req->body) {
		key[0] = '\0';
		return 0;
	}
	body = api_body_object(ctx, res);
	if (!body)
		return -1;
	k = json_object_get(body, "key");
	if (json_object_size(body) != 1 || !json_is_string(k)) {
		*res = api_problem(422, "validation_failed",
				   "the body is {\"key\": \"<API key>\"}", NULL,
				   json_is_string(k) ? "" : "/key");
		json_decref(body);
		return -1;
	}
	snprintf(key, keylen, "%s", json_string_value(k));
	json_decref(body);
	return 0;
}

/* A new session for the key k: its answer, with its cookie. */
static struct api_result session_open(const struct api_ctx *ctx,
				      struct db_conn *c, const struct db_key *k)
{
	char token[DB_SESSION_TOKEN_LEN + 1], cookie[160];
	struct db_session s;
	enum db_result r;

	r = db_session_create(c, k->id, ctx->req->now, ctx->app->session_idle,
			      ctx->app->session_max, token, &s);
	if (r != DB_OK)
		return api_db_problem(ctx, r);
	s.role = k->role;
	snprintf(s.facility_id, sizeof s.facility_id, "%s", k->facility_id);
	snprintf(cookie, sizeof cookie,
		 COOKIE_NAME "=%s; HttpOnly; SameSite=Strict; Path=/%s", token,
		 ctx->app->tls ? "; Secure" : "");
	memset(token, 0, sizeof token);
	api_header(ctx, "Set-Cookie", cookie);
	memset(cookie, 0, sizeof cookie);
	return api_ok_json(201, session_json(ctx->app, &s), "application/json");
}

struct api_result api_sessions_post(const struct api_ctx *ctx)
{
	char key[128];
	struct api_result res;
	struct db_key k;
	struct db_conn *c;
	enum db_result r;

	if (!same_origin(ctx->req))
		return api_problem(403, "csrf_token_invalid",
				   "sessions are opened from the page's own "
				   "origin only",
				   NULL, "header:Origin");
	if (signin_key(ctx, &res, key, sizeof key) != 0)
		return res;
	c = api_conn(ctx, &res);
	if (!c)
		return res;
	r = key[0] ? db_key_verify(c, key, strlen(key), &k) : DB_NOT_FOUND;
	memset(key, 0, sizeof key);
	if (r == DB_NOT_FOUND) {
		api_header(ctx, "WWW-Authenticate", "Bearer realm=\"shikaku\"");
		return api_problem(401, "unauthorized",
				   "the API key is unknown or revoked", NULL,
				   "header:Authorization");
	}
	if (r != DB_OK)
		return api_db_problem(ctx, r);
	return session_open(ctx, c, &k);
}

/* The session of a request made with its cookie (and no key): its token
 * into *tok, *len, and a store connection (for a write when write): NULL
 * with the answer in *res (404 for a request without a session cookie). */
static struct db_conn *session_conn(const struct api_ctx *ctx, bool write,
				    const char **tok, size_t *len,
				    struct api_result *res)
{
	*len = 0;
	*tok = ctx->req->cookie ? cookie_token(ctx->req->cookie, len) : NULL;
	if (!*tok || ctx->req->authorization) {
		*res = api_problem(404, "not_found",
				   "this request was not made with a session "
				   "cookie",
				   NULL, "cookie:" COOKIE_NAME);
		return NULL;
	}
	return write ? api_conn_for_write(ctx, res) : api_conn(ctx, res);
}

struct api_result api_sessions_current_get(const struct api_ctx *ctx)
{
	struct db_session s;
	struct api_result res;
	struct db_conn *c;
	const char *tok;
	size_t len;
	enum db_result r;

	if (ctx->app->no_auth) {
		/* --no-auth: the page opens without signing in; "" says that
		 * no token is needed. */
		return api_ok_json(200,
				   json_pack("{s:s, s:s, s:n, s:n}",
					     "csrf_token", "", "role", "admin",
					     "facility_id", "expires_at"),
				   "application/json");
	}
	c = session_conn(ctx, false, &tok, &len, &res);
	if (!c)
		return res;
	r = db_session_get(c, tok, len, ctx->req->now, ctx->app->session_idle,
			   ctx->app->session_max, &s);
	if (r == DB_NOT_FOUND)
		return session_ended(ctx);
	if (r != DB_OK)
		return api_db_problem(ctx, r);
	return api_ok_json(200, session_json(ctx->app, &s), "application/json");
}

struct api_result api_sessions_current_delete(const struct api_ctx *ctx)
{
	struct api_result res;
	struct db_conn *c;
	const char *tok;
	size_t len;
	enum db_result r;

	c = session_conn(ctx, true, &tok, &len, &res);
	if (!c)
		return res;
	r = db_session_delete(c, tok, len);
	if (r != DB_OK)
		return api_db_problem(ctx, r);
	api_header(ctx, "Set-Cookie",
		   COOKIE_NAME "=; HttpOnly; SameSite=Strict; Path=/; "
			       "Max-Age=0");
	return api_ok_empty(204);
}
