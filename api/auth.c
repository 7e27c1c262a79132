/* auth.c - who is asking (API keys, SPEC §8) and the audit trail of who
 * looked at whom. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"
#include "api/person.h"
#include "api/text.h"
#include "db/audit_log.h"
#include "db/key_db.h"

#define AUDIT_IDS_MAX ((size_t)64 << 20)

void api_audit_note(struct api_response *resp, const char *person_id)
{
	size_t n = strlen(person_id);
	char *p;

	/* An individual number is never written down, not even as an id
	 * (the request is refused with 422 anyway). */
	if (!api_id_valid(person_id, n) ||
	    api_is_individual_number(person_id, n))
		return;
	if (resp->audit_len + n + 1 > resp->audit_cap) {
		size_t cap = resp->audit_cap ? resp->audit_cap * 2 : 256;

		while (cap < resp->audit_len + n + 1)
			cap *= 2;
		if (cap > AUDIT_IDS_MAX)
			return;
		p = realloc(resp->audit_ids, cap);
		if (!p)
			return;
		resp->audit_ids = p;
		resp->audit_cap = cap;
	}
	memcpy(resp->audit_ids + resp->audit_len, person_id, n + 1);
	resp->audit_len += n + 1;
	resp->n_audit_ids++;
}

void api_respond_audit_unavailable(struct api_response *resp)
{
	/* Whatever answer was there is not sent: its headers neither. */
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	resp->n_headers = 0;
	api_respond_problem(resp, 503, "audit_unavailable",
			    "the audit log cannot be written just now: this "
			    "request, which must be audited, was not "
			    "processed; retry shortly",
			    NULL, "");
	api_response_header(resp, "Retry-After", "5");
}

int api_audit_reserve(struct api_ctx *ctx, struct api_response *resp)
{
	if (!ctx->app->audit)
		return 0;
	if (audit_log_reserve(ctx->app->audit) != 0) {
		api_respond_audit_unavailable(resp);
		return -1;
	}
	ctx->audit_reserved = true;
	return 0;
}

int api_audit_record(const struct api_app *app, const char *key_id,
		     const char *request_id, const char *method, bool reserved,
		     struct api_response *resp)
{
	struct audit_record rec;
	const char **ids = NULL;
	const char *p;
	size_t i;

	if (!app->audit)
		return 0;
	if (resp->n_audit_ids == 0) {
		if (reserved)
			audit_log_release(app->audit);
		return 0;
	}
	ids = malloc(resp->n_audit_ids * sizeof *ids);
	if (!ids) {
		if (reserved)
			audit_log_release(app->audit);
		api_respond_audit_unavailable(resp);
		return -1;
	}
	for (i = 0, p = resp->audit_ids; i < resp->n_audit_ids; i++) {
		ids[i] = p;
		p += strlen(p) + 1;
	}
	memset(&rec, 0, sizeof rec);
	rec.key_id = key_id && *key_id ? key_id : NULL;
	rec.request_id = request_id;
	rec.method = method;
	rec.route = resp->route;
	rec.person_ids = ids;
	rec.n_person_ids = resp->n_audit_ids;
	rec.status = resp->status;
	/* A route that had no place reserved (it was not expected to name
	 * anybody) queues its record now; refused (or out of memory), its
	 * answer is not sent. */
	if ((reserved ? audit_log_commit(app->audit, &rec)
		      : audit_log_record(app->audit, &rec)) != 0) {
		free(ids);
		api_respond_audit_unavailable(resp);
		return -1;
	}
	free(ids);
	return 0;
}

/* The token of "Authorization: Bearer <token>", or NULL. */
static const char *bearer_token(const char *header, size_t *len)
{
	const char *p = header, *end;

	if (!p)
		return NULL;
	while (*p == ' ')
		p++;
	if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return NULL;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == p)
		return NULL;
	*len = (size_t)(end - p);
	return p;
}

int api_authenticate(struct api_ctx *ctx, struct api_response *resp)
{
	struct db_key key;
	struct db_conn *c;
	enum db_result r;
	const char *token;
	size_t len = 0;

	token = bearer_token(ctx->req->authorization, &len);
	if (!token) {
		api_respond_problem(resp, 401, "unauthorized",
				    "send an API key: Authorization: Bearer "
				    "<key> (shikakud key create)",
				    NULL, "header:Authorization");
		api_response_header(resp, "WWW-Authenticate",
				    "Bearer realm=\"shikaku\"");
		return -1;
	}
	c = ctx->app->db ? db_conn_get(ctx->app->db) : NULL;
	api_store_use(ctx, resp, c);
	r = c ? db_key_verify(c, token, len, &key) : DB_ERROR;
	if (r == DB_NOT_FOUND) {
		api_respond_problem(resp, 401, "unauthorized",
				    "the API key is unknown or revoked", NULL,
				    "header:Authorization");
		api_response_header(resp, "WWW-Authenticate",
				    "Bearer realm=\"shikaku\", "
				    "error=\"invalid_token\"");
		return -1;
	}
	if (r != DB_OK) {
		api_report_db_error(resp, r);
		api_respond_problem(resp, 503, "service_unavailable",
				    "the key store cannot be read: retry "
				    "shortly",
				    NULL, "");
		api_response_header(resp, "Retry-After", "1");
		return -1;
	}
	snprintf(ctx->key_id, sizeof ctx->key_id, "%s", key.id);
	ctx->role = (int)key.role;
	if (key.facility_id[0]) {
		snprintf(ctx->facility_buf, sizeof ctx->facility_buf, "%s",
			 key.facility_id);
		ctx->facility = ctx->facility_buf;
	}
	return 0;
}
