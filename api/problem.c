/* problem.c - validation errors and RFC 9457 problem+json answers.
 *
 * The one place that maps an error code to an HTTP problem: every error the
 * service gives goes through api_problem_new. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/text.h"

#define PROBLEM_TYPE_PREFIX "urn:shikaku:problem:"

static const struct {
	const char *code;
	const char *title;
} titles[] = {
    {"invalid_json", "The body is not a JSON object"},
    {"invalid_request", "The request is malformed"},
    {"unsupported_media_type", "Unsupported media type"},
    {"not_found", "Not found"},
    {"unauthorized", "An API key is needed"},
    {"forbidden", "This key may not do that"},
    {"csrf_token_invalid", "The session's CSRF token is missing or wrong"},
    {"precondition_failed", "The record changed since it was read"},
    {"insufficient_storage", "The database cannot grow"},
    {"method_not_allowed", "Method not allowed"},
    {"payload_too_large", "Request body too large"},
    {"misdirected_request", "This server does not answer for that host"},
    {"request_header_fields_too_large", "Request headers too large"},
    {"too_many_items", "Too many items in the batch"},
    {"validation_failed", "The request has invalid values"},
    {"individual_number_not_accepted",
     "An individual number (個人番号) is never accepted"},
    {"invalid_batch", "The batch is malformed"},
    {"invalid_person_id", "The person id is malformed"},
    {"invalid_insurer_number", "The insurer number is invalid"},
    {"service_unavailable", "Service unavailable"},
    {"not_implemented", "Not implemented"},
    {"audit_unavailable", "The audit log cannot be written"},
    {"request_timeout", "The request took too long or came too slowly"},
    {"internal_error", "Internal error"},
    {"rate_limited", "Too many requests for this key"},
    {"audit_log_full", "The audit log is full"},
};

static const char *problem_title(const char *code)
{
	size_t i;

	for (i = 0; i < sizeof titles / sizeof titles[0]; i++)
		if (strcmp(titles[i].code, code) == 0)
			return titles[i].title;
	return "Error";
}

struct api_errors *api_errors_new(const struct api_ctx *ctx)
{
	struct api_errors *errs = api_alloc(ctx, sizeof *errs);

	if (errs)
		api_errors_init(errs);
	return errs;
}

void api_errors_add(struct api_errors *errs, const char *field,
		    const char *code, const char *fmt, ...)
{
	struct api_error *e;
	va_list ap;

	if (errs->n >= API_MAX_ERRORS) {
		errs->dropped++;
		return;
	}
	e = &errs->e[errs->n++];
	snprintf(e->field, sizeof e->field, "%s", field);
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
}

bool api_errors_has(const struct api_errors *errs, const char *code)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		if (strcmp(errs->e[i].code, code) == 0)
			return true;
	return false;
}

void api_pointer_join(char *dst, size_t dstlen, const char *base,
		      const char *key)
{
	/* No snprintf: the facts parser joins a pointer for every member of
	 * every request, before it knows whether an error will need it. */
	size_t n = strlen(base);

	if (dstlen == 0)
		return;
	if (n > dstlen - 1)
		n = dstlen - 1;
	memmove(dst, base, n);
	if (n + 1 < dstlen)
		dst[n++] = '/';
	for (; *key && n + 3 < dstlen; key++) {
		if (*key == '~') {
			dst[n++] = '~';
			dst[n++] = '0';
		} else if (*key == '/') {
			dst[n++] = '~';
			dst[n++] = '1';
		} else {
			dst[n++] = *key;
		}
	}
	dst[n] = '\0';
}

void api_pointer_index(char *dst, size_t dstlen, const char *base, size_t index)
{
	char digits[24];
	size_t i = sizeof digits - 1;

	/* No snprintf either: every array element of every body gets one. */
	digits[i] = '\0';
	do {
		digits[--i] = (char)('0' + index % 10);
		index /= 10;
	} while (index > 0);
	api_pointer_join(dst, dstlen, base, digits + i);
}

json_t *api_problem_new(int status, const char *code, const char *detail,
			const struct api_errors *errs, const char *field)
{
	char type[96];
	json_t *doc, *list;
	size_t i;

	snprintf(type, sizeof type, PROBLEM_TYPE_PREFIX "%s", code);
	doc = json_object();
	list = json_array();
	json_object_set_new(doc, "type", json_string(type));
	json_object_set_new(doc, "title", json_string(problem_title(code)));
	json_object_set_new(doc, "status", json_integer(status));
	json_object_set_new(doc, "detail", json_string(detail));
	if (errs && errs->n > 0) {
		for (i = 0; i < errs->n; i++) {
			const struct api_error *e = &errs->e[i];

			json_array_append_new(
			    list,
			    json_pack("{s:s, s:s, s:s}", "field", e->field,
				      "code", e->code, "message", e->message));
		}
		if (errs->dropped)
			json_object_set_new(
			    doc, "errors_omitted",
			    json_integer((json_int_t)errs->dropped));
	} else {
		json_array_append_new(list,
				      json_pack("{s:s, s:s, s:s}", "field",
						field ? field : "", "code",
						code, "message", detail));
	}
	json_object_set_new(doc, "errors", list);
	return doc;
}

void api_respond_json(struct api_response *resp, int status, json_t *doc,
		      const char *content_type)
{
	char *body;

	body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!body) {
		static const char oom[] =
		    "{\"type\":\"" PROBLEM_TYPE_PREFIX "internal_error\","
		    "\"title\":\"Internal error\",\"status\":500,"
		    "\"detail\":\"out of memory\",\"errors\":[]}";

		resp->status = 500;
		resp->body = strdup(oom);
		resp->body_len = resp->body ? sizeof oom - 1 : 0;
		resp->content_type = "application/problem+json";
		return;
	}
	resp->status = status;
	resp->body = body;
	resp->body_len = strlen(body);
	resp->content_type = content_type;
}

void api_respond_problem(struct api_response *resp, int status,
			 const char *code, const char *detail,
			 const struct api_errors *errs, const char *field)
{
	api_respond_json(resp, status,
			 api_problem_new(status, code, detail, errs, field),
			 "application/problem+json");
}

void api_respond_oom(struct api_response *resp)
{
	api_respond_problem(resp, 500, "internal_error", "out of memory", NULL,
			    "");
}

void api_problem_simple(struct api_response *resp, int status, const char *code,
			const char *detail)
{
	api_respond_problem(resp, status, code, detail, NULL, "");
}

void api_problem_field(struct api_response *resp, int status, const char *code,
		       const char *detail, const char *field)
{
	api_respond_problem(resp, status, code, detail, NULL, field);
}

void api_respond_buf(struct api_response *resp, int status, struct api_buf *buf,
		     const char *content_type)
{
	size_t len = 0;
	char *body = api_buf_take(buf, &len);

	if (!body) {
		api_respond_problem(resp, 500, "internal_error",
				    "the answer could not be built", NULL, "");
		return;
	}
	resp->status = status;
	resp->body = body;
	resp->body_len = len;
	resp->content_type = content_type;
}

void api_copy_truncated(char *dst, size_t dstlen, const char *src)
{
	size_t n;

	if (dstlen == 0)
		return;
	n = strnlen(src, dstlen - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void api_response_header(struct api_response *resp, const char *name,
			 const char *value)
{
	struct api_header *h;

	if (resp->n_headers >= API_MAX_HEADERS)
		return;
	h = &resp->headers[resp->n_headers++];
	api_copy_truncated(h->name, sizeof h->name, name);
	api_copy_truncated(h->value, sizeof h->value, value);
}

void api_header(const struct api_ctx *ctx, const char *name, const char *value)
{
	api_response_header(ctx->resp, name, value);
}

void api_response_fini(struct api_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

struct api_result api_problem(int status, const char *code, const char *detail,
			      const struct api_errors *errs, const char *field)
{
	struct api_result res = {.status = status,
				 .code = code,
				 .detail = detail,
				 .errs = errs,
				 .field = field};

	return res;
}

struct api_result api_oom(void)
{
	return api_problem(500, "internal_error", "out of memory", NULL, "");
}

struct api_result api_invalid(const struct api_errors *errs, bool query)
{
	return api_problem(422, "validation_failed",
			   query ? "the query has invalid parameters: see "
				   "errors"
				 : "the request has invalid values: see errors",
			   errs, "");
}

struct api_result api_ok_json(int status, json_t *doc, const char *content_type)
{
	struct api_result res = {
	    .status = status, .doc = doc, .content_type = content_type};

	return res;
}

struct api_result api_ok_buf(int status, struct api_buf *b,
			     const char *content_type)
{
	struct api_result res = {.status = status,
				 .body = *b,
				 .buffered = true,
				 .content_type = content_type};

	memset(b, 0, sizeof *b);
	return res;
}

struct api_result api_ok_empty(int status)
{
	struct api_result res = {.status = status};

	return res;
}

struct api_result api_rendered(void)
{
	struct api_result res = {.rendered = true};

	return res;
}

void api_render(struct api_response *resp, struct api_result *res)
{
	if (res->rendered) {
		/* answered by the import engine */
	} else if (res->code) {
		api_respond_problem(resp, res->status, res->code, res->detail,
				    res->errs, res->field);
		if (res->retry_after)
			api_response_header(resp, "Retry-After",
					    res->retry_after);
	} else if (res->doc) {
		api_respond_json(resp, res->status, res->doc,
				 res->content_type);
	} else if (res->buffered) {
		api_respond_buf(resp, res->status, &res->body,
				res->content_type);
	} else if (res->status == 0) {
		api_respond_problem(resp, 500, "internal_error",
				    "the request was not answered", NULL, "");
	} else {
		resp->status = res->status;
		resp->content_type = NULL;
	}
	res->doc = NULL;
	api_buf_fini(&res->body);
}

bool api_refuse_control_text(const char *s, size_t n, const char *field,
			     struct api_errors *errs)
{
	if (!api_text_has_control(s, n))
		return false;
	api_errors_add(errs, field, "invalid_text",
		       "no control characters (U+0000-U+001F, U+007F-U+009F) "
		       "or bidi overrides and isolates (U+202A-U+202E, "
		       "U+2066-U+2069)");
	return true;
}

void api_respond_retry(struct api_response *resp, const char *code,
		       const char *detail, const char *seconds)
{
	api_respond_problem(resp, 503, code, detail, NULL, "");
	api_response_header(resp, "Retry-After", seconds);
}
