/* http_head.c - see http_head.h. */
#include "service/http_head.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/text.h"
#include "service/request_id.h"

#define REQUEST_ID_NAME     "X-Request-Id"
#define REQUEST_ID_NAME_LEN (sizeof REQUEST_ID_NAME - 1)

/* Some element of v[0..n) between the characters of seps is an
 * individual number. */
static bool element_holds_number(const char *v, size_t n, const char *seps)
{
	size_t i = 0, start;

	while (i < n) {
		while (i < n && strchr(seps, v[i]) != NULL)
			i++;
		start = i;
		while (i < n && strchr(seps, v[i]) == NULL)
			i++;
		if (i > start && api_is_individual_number(v + start, i - start))
			return true;
	}
	return false;
}

/* The whole value, each comma-separated element of it, and each comma- or
 * space-separated one: a client (or a proxy merging two fields) may send
 * "abc, 1234 5678 9018" or "abc 123456789018".  (The whole-value reading
 * of api/text.h skips spaces and commas inside a number, but not a word
 * before it.) */
static bool holds_number(const char *v, size_t n)
{
	return api_is_individual_number(v, n) ||
	       element_holds_number(v, n, ",") ||
	       element_holds_number(v, n, ", \t");
}

/* A folded X-Request-Id: value, then the continuation lines that
 * libmicrohttpd appended to the name (see http_head.h). */
static bool folded_holds_number(const char *value, const char *suffix)
{
	size_t vn = strlen(value), sn = strlen(suffix);
	bool found;
	char *joined;

	if (holds_number(value, vn) || holds_number(suffix, sn))
		return true;
	joined = malloc(vn + sn + 1);
	if (joined == NULL)
		return true; /* cannot tell: refuse rather than let it by */
	memcpy(joined, value, vn);
	memcpy(joined + vn, suffix, sn + 1);
	found = holds_number(joined, vn + sn);
	free(joined);
	return found;
}

void http_head_field(struct http_head *h, const char *name, const char *value)
{
	const char *v = value != NULL ? value : "";

	if (strncasecmp(name, REQUEST_ID_NAME, REQUEST_ID_NAME_LEN) == 0) {
		const char *suffix = name + REQUEST_ID_NAME_LEN;

		if (suffix[0] != '\0') {
			/* folded, or a field of a longer name such as
			 * X-Request-Id-Orig: read for numbers only */
			h->request_id_folded = true;
			if (folded_holds_number(v, suffix))
				h->request_id_number = true;
			return;
		}
		h->n_request_id++;
		if (request_id_judge(v) == REQUEST_ID_INDIVIDUAL_NUMBER ||
		    holds_number(v, strlen(v)))
			h->request_id_number = true;
	} else if (strcasecmp(name, "Authorization") == 0) {
		h->n_authorization++;
	}
}

enum http_head_nul http_head_target_nul(const char *raw_target)
{
	const char *query, *nul;

	if (raw_target == NULL)
		return HTTP_HEAD_NUL_NONE;
	nul = strstr(raw_target, "%00");
	if (nul == NULL)
		return HTTP_HEAD_NUL_NONE;
	query = strchr(raw_target, '?');
	return query == NULL || nul < query ? HTTP_HEAD_NUL_PATH
					    : HTTP_HEAD_NUL_QUERY;
}
