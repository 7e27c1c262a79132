/* ui.c - serves the facility page (SPEC §11) from the files built into the
 * binary (api/ui.h): "/" is ui/index.html, "/ui/<file>" each file. */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/ui.h"

/* SPEC §8: no inline script or style, nothing from another origin, never
 * framed. */
#define PAGE_CSP                                                               \
	"default-src 'self'; script-src 'self'; style-src 'self'; "            \
	"img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "      \
	"form-action 'self'"

void api_page_headers(struct api_response *resp)
{
	api_response_header(resp, "Content-Security-Policy", PAGE_CSP);
	api_response_header(resp, "X-Content-Type-Options", "nosniff");
	api_response_header(resp, "Referrer-Policy", "no-referrer");
}

static const struct api_ui_asset *asset_find(const char *path)
{
	size_t i;

	if (strcmp(path, "/") == 0)
		path = "/ui/index.html";
	for (i = 0; i < api_ui_assets_count; i++)
		if (strcmp(api_ui_assets[i].path, path) == 0)
			return &api_ui_assets[i];
	return NULL;
}

/* Does If-None-Match (a list of tags, or "*") name tag? */
static bool tag_matches(const char *inm, const char *tag)
{
	if (!inm)
		return false;
	while (*inm == ' ')
		inm++;
	if (strcmp(inm, "*") == 0)
		return true;
	return strstr(inm, tag) != NULL;
}

const char *api_ui_route(const char *path)
{
	if (strcmp(path, "/") == 0)
		return "/";
	if (strcmp(path, "/ui") == 0 || strncmp(path, "/ui/", 4) == 0)
		return "/ui/{file}";
	return NULL;
}

bool api_ui_handle(const struct api_app *app, const struct api_request *req,
		   struct api_response *resp)
{
	const struct api_ui_asset *a;
	char *copy;

	(void)app;
	if (!api_ui_route(req->path))
		return false;
	a = asset_find(req->path);
	if (!a) {
		api_respond_problem(resp, 404, "not_found",
				    "no such file of the facility page", NULL,
				    "path");
		api_page_headers(resp);
		return true;
	}
	if (strcmp(req->method, "GET") != 0 &&
	    strcmp(req->method, "HEAD") != 0) {
		api_respond_problem(resp, 405, "method_not_allowed",
				    "the page's files take GET and HEAD only",
				    NULL, "method");
		api_response_header(resp, "Allow", "GET, HEAD");
		api_page_headers(resp);
		return true;
	}
	api_page_headers(resp);
	api_response_header(resp, "ETag", a->etag);
	/* The names do not change with the contents: a browser asks again
	 * each time and mostly hears 304. */
	api_response_header(resp, "Cache-Control", "no-cache");
	if (tag_matches(req->if_none_match, a->etag)) {
		resp->status = 304;
		return true;
	}
	copy = malloc(a->len ? a->len : 1);
	if (!copy) {
		resp->n_headers = 0;
		api_respond_problem(resp, 500, "internal_error",
				    "out of memory", NULL, "");
		return true;
	}
	memcpy(copy, a->data, a->len);
	resp->status = 200;
	resp->body = copy;
	resp->body_len = a->len;
	resp->content_type = a->type;
	return true;
}
