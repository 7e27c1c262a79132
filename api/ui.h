/* ui.h - the facility page's files (SPEC §11), built into the binary from
 * ui/ by scripts/gen-ui.sh (build/gen/ui.c). */
#ifndef SHIKAKU_API_UI_H
#define SHIKAKU_API_UI_H

#include <stdbool.h>
#include <stddef.h>

struct api_ui_asset {
	const char *path;          /* "/ui/app.js" */
	const char *type;          /* Content-Type */
	const unsigned char *data; /* the file's bytes */
	size_t len;
	const char *etag; /* quoted: "\"0123abcd...\"" */
};

extern const struct api_ui_asset api_ui_assets[];
extern const size_t api_ui_assets_count;

struct api_app;
struct api_request;
struct api_response;

/* GET or HEAD of "/" (the page) or "/ui/..." (its files): fills *resp with
 * the file (ETag, Cache-Control: no-cache, 304 for a matching
 * If-None-Match), 404 for an unknown file, 405 for another method, each
 * with the page's security headers, and returns true.  False for any
 * other path (resp untouched). */
bool api_ui_handle(const struct api_app *app, const struct api_request *req,
		   struct api_response *resp);

/* The route template of the page's path ("/" or "/ui/{file}"), NULL for
 * any other path. */
const char *api_ui_route(const char *path);

/* Adds the security headers of SPEC §8 that every page carries
 * (Content-Security-Policy, X-Content-Type-Options, Referrer-Policy). */
void api_page_headers(struct api_response *resp);

#endif
