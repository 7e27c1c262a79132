/* url.h - the scheme prefix of the http and https URLs the service takes
 * (api/text.c's link checks, service/config.c's CORS origins). */
#ifndef SHIKAKU_BASE_URL_H
#define SHIKAKU_BASE_URL_H

#include <stdbool.h>
#include <stddef.h>

/* The length of the "http://" (7) or "https://" (8) that s (n bytes)
 * starts with, followed by at least one byte; in any case of letters when
 * nocase.  0 when it starts with neither. */
size_t base_url_http_prefix(const char *s, size_t n, bool nocase);

#endif
