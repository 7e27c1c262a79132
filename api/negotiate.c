/* negotiate.c - content negotiation (HTTP-free core of api/): the answer's
 * language (?lang, Accept-Language) and format (?format, Accept). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"

/* q-value of one comma-separated element "name;q=0.5" (1 when absent). */
static double element_q(const char *params, const char *end)
{
	const char *q;

	for (q = params; q && q < end; q = memchr(q, ';', (size_t)(end - q))) {
		q++;
		while (q < end && *q == ' ')
			q++;
		if (end - q > 2 && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=')
			return strtod(q + 2, NULL);
	}
	return 1.0;
}

/* Walks a header list "a;q=.5, b" calling back with each element's token
 * (without parameters) and its q. */
static void header_list_each(const char *h,
			     void (*fn)(const char *, size_t, double, void *),
			     void *arg)
{
	const char *p = h, *end, *semi;

	while (p && *p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!*p)
			break;
		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		semi = memchr(p, ';', (size_t)(end - p));
		{
			const char *tok_end = semi ? semi : end;

			while (tok_end > p &&
			       (tok_end[-1] == ' ' || tok_end[-1] == '\t'))
				tok_end--;
			fn(p, (size_t)(tok_end - p),
			   semi ? element_q(semi, end) : 1.0, arg);
		}
		p = end;
	}
}

struct lang_pick {
	double best_q;
	enum rules_lang lang;
};

static void lang_element(const char *tok, size_t n, double q, void *arg)
{
	struct lang_pick *pick = arg;
	enum rules_lang l;

	if (n >= 2 && strncasecmp(tok, "en", 2) == 0 &&
	    (n == 2 || tok[2] == '-'))
		l = RULES_LANG_EN;
	else if (n >= 2 && strncasecmp(tok, "ja", 2) == 0 &&
		 (n == 2 || tok[2] == '-'))
		l = RULES_LANG_JA;
	else
		return;
	if (q > pick->best_q) {
		pick->best_q = q;
		pick->lang = l;
	}
}

struct accept_pick {
	double text_q, json_q, csv_q;
};

static void accept_element(const char *tok, size_t n, double q, void *arg)
{
	struct accept_pick *pick = arg;

	if (n == 10 && strncasecmp(tok, "text/plain", n) == 0) {
		if (q > pick->text_q)
			pick->text_q = q;
	} else if (n == 8 && strncasecmp(tok, "text/csv", n) == 0) {
		if (q > pick->csv_q)
			pick->csv_q = q;
	} else if ((n == 16 && strncasecmp(tok, "application/json", n) == 0) ||
		   (n == 3 && strncmp(tok, "*/*", n) == 0) ||
		   (n == 13 && strncasecmp(tok, "application/*", n) == 0)) {
		if (q > pick->json_q)
			pick->json_q = q;
	}
}

/* ?lang wins; then Accept-Language; Japanese otherwise. */
int api_negotiate_lang(const struct api_request *req, enum rules_lang *lang,
		       struct api_errors *errs)
{
	const char *q = api_query_get(req, "lang");
	struct lang_pick pick = {0.0, RULES_LANG_JA};

	if (q) {
		if (strcasecmp(q, "en") == 0) {
			*lang = RULES_LANG_EN;
		} else if (strcasecmp(q, "ja") == 0) {
			*lang = RULES_LANG_JA;
		} else {
			api_errors_add(errs, "?lang", "invalid_enum",
				       "lang is ja or en");
			return -1;
		}
		return 0;
	}
	if (req->accept_language)
		header_list_each(req->accept_language, lang_element, &pick);
	*lang = pick.lang;
	return 0;
}

int api_negotiate_format(struct api_ctx *ctx, unsigned formats,
			 struct api_errors *errs)
{
	const struct api_request *req = ctx->req;
	const char *f = formats ? api_query_get(req, "format") : NULL;
	struct accept_pick pick = {0.0, 0.0, 0.0};

	ctx->text = false;
	ctx->csv = false;
	if (f) {
		if (strcasecmp(f, "text") == 0) {
			ctx->text = true;
		} else if ((formats & API_FORMAT_CSV) &&
			   strcasecmp(f, "csv") == 0) {
			ctx->csv = true;
		} else if (strcasecmp(f, "json") != 0) {
			api_errors_add(errs, "?format", "invalid_enum",
				       (formats & API_FORMAT_CSV)
					   ? "format is json, text or csv"
					   : "format is json or text");
			return -1;
		}
		return 0;
	}
	if (formats && req->accept) {
		header_list_each(req->accept, accept_element, &pick);
		if (!(formats & API_FORMAT_CSV))
			pick.csv_q = 0;
		ctx->csv = pick.csv_q > 0 && pick.csv_q > pick.json_q &&
			   pick.csv_q > pick.text_q;
		ctx->text =
		    !ctx->csv && pick.text_q > 0 && pick.text_q > pick.json_q;
	}
	return 0;
}
