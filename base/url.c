/* url.c - see url.h. */
#include "base/url.h"

#include <string.h>
#include <strings.h>

size_t base_url_http_prefix(const char *s, size_t n, bool nocase)
{
	int (*cmp)(const char *, const char *, size_t) =
	    nocase ? strncasecmp : strncmp;

	if (n > 7 && cmp(s, "http://", 7) == 0)
		return 7;
	if (n > 8 && cmp(s, "https://", 8) == 0)
		return 8;
	return 0;
}
