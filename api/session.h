/* session.h - the browser parts of SPEC §8: sessions for the facility page
 * (api/sessions.c) and CORS for other intranet pages (api/cors.c). */
#ifndef SHIKAKU_API_SESSION_H
#define SHIKAKU_API_SESSION_H

#include "api/internal.h"

/* Authenticates ctx's request by its shikaku_session cookie: fills ctx's
 * key_id, role and facility and returns 0; returns 1 when the request
 * has no such cookie (resp untouched); -1 with the answer in resp when
 * the cookie does not authenticate it (401: unknown, expired or ended;
 * 403 csrf_token_invalid: a change without the session's X-CSRF-Token,
 * or a request from another origin; 503: the store). */
int api_session_authenticate(struct api_ctx *ctx, struct api_response *resp);

/* POST /v1/sessions, GET and DELETE /v1/sessions/current. */
struct api_result api_sessions_post(const struct api_ctx *ctx);
struct api_result api_sessions_current_get(const struct api_ctx *ctx);
struct api_result api_sessions_current_delete(const struct api_ctx *ctx);

/* An OPTIONS preflight from an allowed origin: fills resp (204 with the
 * Access-Control-* headers of SPEC §8) and returns true. */
bool api_cors_preflight(const struct api_app *app,
			const struct api_request *req,
			struct api_response *resp);

/* Adds Access-Control-Allow-Origin, Vary and -Expose-Headers to an answer
 * to an allowed origin; nothing for any other request. */
void api_cors_headers(const struct api_app *app, const struct api_request *req,
		      struct api_response *resp);

/* The allowed origin equal to origin (app's own string, living as long as
 * app), or NULL; and the headers of api_cors_headers for it (nothing for
 * NULL): a streamed import's answer, built when its body ends
 * (api/import.c), has no request left to ask. */
const char *api_cors_allowed(const struct api_app *app, const char *origin);
void api_cors_answer(const char *allowed_origin, struct api_response *resp);

#endif
