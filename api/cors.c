/* cors.c - CORS for other intranet pages (SPEC §8): off unless origins are
 * allowed (--cors-origin); keys only, never credentials, cross-origin. */
#include <string.h>

#include "api/session.h"

const char *api_cors_allowed(const struct api_app *app, const char *origin)
{
	size_t i;

	if (!origin)
		return NULL;
	for (i = 0; i < app->n_cors_origins; i++)
		if (strcmp(app->cors_origins[i], origin) == 0)
			return app->cors_origins[i];
	return NULL;
}

bool api_cors_preflight(const struct api_app *app,
			const struct api_request *req,
			struct api_response *resp)
{
	const char *o;

	if (strcmp(req->method, "OPTIONS") != 0)
		return false;
	o = api_cors_allowed(app, req->origin);
	if (!o)
		return false; /* a disallowed origin hears what it would */
	resp->status = 204;
	/* Allow-Origin and Vary come with every answer's CORS headers
	 * (api_cors_headers, at the request's one exit): not here too, or a
	 * browser sees two values and refuses the preflight. */
	api_response_header(resp, "Access-Control-Allow-Methods",
			    "GET, HEAD, POST, PUT, DELETE");
	api_response_header(resp, "Access-Control-Allow-Headers",
			    "Authorization, Content-Type, If-Match, "
			    "If-None-Match, X-Request-Id, Accept-Language");
	api_response_header(resp, "Access-Control-Max-Age", "600");
	return true;
}

void api_cors_headers(const struct api_app *app, const struct api_request *req,
		      struct api_response *resp)
{
	api_cors_answer(api_cors_allowed(app, req->origin), resp);
}

void api_cors_answer(const char *o, struct api_response *resp)
{
	/* No Access-Control-Allow-Credentials, ever: a cookie sent
	 * cross-origin never reaches a page's script. */
	if (!o)
		return;
	api_response_header(resp, "Access-Control-Allow-Origin", o);
	api_response_header(resp, "Vary", "Origin");
	api_response_header(resp, "Access-Control-Expose-Headers",
			    "ETag, X-Request-Id, Retry-After, Location");
}
