/* auth.c - who is asking (API keys, SPEC §8) and the audit trail of who
 * looked at whom. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"
#include "api/person.h"
#include "api/session.h"
#include "api/ratelimit.h"
#include "api/text.h"
#include "db/audit_log.h"
#include "db/key_db.h"

#define AUDIT_IDS_MAX ((size_t)64 << 20)

void api_audit_note(struct api_audit_ids *a, const char *person_id)
{
	size_t n = strlen(person_id);
	char *p;

	/* An individual number is never written down, not even as an id
	 * (the request is refused with 422 anyway). */
	if (!a || !api_id_valid(person_id, n) ||
	    api_is_individual_number(person_id, n))
		return;
	if (a->len + n + 1 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;

		while (cap < a->len + n + 1)
			cap *= 2;
		if (cap > AUDIT_IDS_MAX)
			return;
		p = realloc(a->ids, cap);
		if (!p)
			return;
		a->ids = p;
		a->cap = cap;
	}
	memcpy(a->ids + a->len, person_id, n + 1);
	a->len += n + 1;
	a->n++;
}

void api_audit_absent(struct api_audit_ids *a, const char *person_id)
{
	size_t n = strlen(person_id), last;

	if (!a)
		return;
	if (a->n > 0 && a->len >= n + 1) {
		last = a->len - n - 1;
		if ((last == 0 || a->ids[last - 1] == '\0') &&
		    memcmp(a->ids + last, person_id, n + 1) == 0) {
			a->len = last;
			a->n--;
		}
	}
	a->n_absent++;
}

/* Whatever answer was in resp is not sent: its headers neither. */
static void drop_answer(struct api_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	resp->n_headers = 0;
}

void api_respond_audit_unavailable(struct api_response *resp)
{
	drop_answer(resp);
	api_respond_retry(resp, "audit_unavailable",
			  "the audit log cannot be written just now: this "
			  "request, which must be audited, was not processed; "
			  "retry shortly",
			  "5");
}

void api_respond_audit_full(struct api_response *resp)
{
	drop_answer(resp);
	api_respond_retry(resp, "audit_log_full",
			  "the audit log has reached the server's "
			  "--audit-max-size: requests that name persons are "
			  "refused, unprocessed, until retention or an "
			  "operator makes room",
			  "60");
}

int api_audit_reserve(struct api_ctx *ctx, struct api_response *resp)
{
	int rc;

	if (!ctx->app->audit)
		return 0;
	rc = audit_log_reserve(ctx->app->audit);
	if (rc != 0) {
		if (rc == AUDIT_LOG_FULL)
			api_respond_audit_full(resp);
		else
			api_respond_audit_unavailable(resp);
		return -1;
	}
	ctx->audit_reserved = true;
	return 0;
}

int api_audit_record(const struct api_ctx *ctx, struct api_response *resp)
{
	const struct api_app *app = ctx->app;
	const struct api_audit_ids *a = ctx->audit;
	bool reserved = ctx->audit_reserved;
	struct audit_record rec;
	const char **ids = NULL;
	const char *p;
	size_t i;
	int rc;

	if (!app->audit)
		return 0;
	if (a->n == 0 && a->n_absent == 0) {
		if (reserved)
			audit_log_release(app->audit);
		return 0;
	}
	/* + 1: a record of absent ids only has none */
	ids = api_alloc(ctx, (a->n + 1) * sizeof *ids);
	if (!ids) {
		if (reserved)
			audit_log_release(app->audit);
		api_respond_audit_unavailable(resp);
		return -1;
	}
	for (i = 0, p = a->ids; i < a->n; i++) {
		ids[i] = p;
		p += strlen(p) + 1;
	}
	memset(&rec, 0, sizeof rec);
	rec.key_id = ctx->key_id[0] ? ctx->key_id : NULL;
	rec.request_id = ctx->req->request_id;
	rec.method = ctx->req->method;
	rec.route = ctx->label;
	rec.person_ids = ids;
	rec.n_person_ids = a->n;
	rec.n_absent = a->n_absent;
	rec.status = resp->status;
	/* A route that had no place reserved (it was not expected to name
	 * anybody) queues its record now; refused (or out of memory), its
	 * answer is not sent. */
	rc = reserved ? audit_log_commit(app->audit, &rec)
		      : audit_log_record(app->audit, &rec);
	if (rc == AUDIT_LOG_FULL) {
		api_respond_audit_full(resp);
		return -1;
	}
	if (rc != 0) {
		api_respond_audit_unavailable(resp);
		return -1;
	}
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
	unsigned wait;
	char retry[16];

	token = bearer_token(ctx->req->authorization, &len);
	if (!token) {
		/* The facility page's session cookie (api/sessions.c):
		 * 1 = no cookie either. */
		int sr = api_session_authenticate(ctx, resp);

		if (sr <= 0)
			return sr;
		api_respond_problem(resp, 401, "unauthorized",
				    "send an API key: Authorization: Bearer "
				    "<key> (shikakud key create)",
				    NULL, "header:Authorization");
		api_response_header(resp, "WWW-Authenticate",
				    "Bearer realm=\"shikaku\"");
		return -1;
	}
	c = ctx->app->db ? db_conn_get(ctx->app->db) : NULL;
	api_store_use(ctx, c);
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
		api_store_report(ctx, r);
		api_respond_retry(resp, "service_unavailable",
				  "the key store cannot be read: retry shortly",
				  "1");
		return -1;
	}
	wait = api_rate_take(ctx->app->rate, key.id, ctx->req->now);
	if (wait) {
		/* Nothing of the request was read: it names nobody yet, so
		 * no audit row (and none to fill the disk with). */
		snprintf(retry, sizeof retry, "%u", wait);
		snprintf(ctx->key_id, sizeof ctx->key_id, "%s", key.id);
		api_respond_problem(resp, 429, "rate_limited",
				    "this API key sent more requests than the "
				    "server's --rate-limit allows: retry after "
				    "Retry-After seconds",
				    NULL, "header:Authorization");
		api_response_header(resp, "Retry-After", retry);
		return -1;
	}
	api_ctx_set_key(ctx, key.id, (int)key.role, key.facility_id);
	return 0;
}
