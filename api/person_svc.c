/* person_svc.c - the person lookup as a request sees it (a service of
 * api/): the facility scope of the caller's key (SPEC §8), staleness, the
 * stored person's decision and its JSON.  Called by the person routes
 * (persons.c), the batch (eligibility.c) and the worklist (worklist.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/person.h"
#include "db/person_db.h"

bool api_person_visible(const struct api_ctx *ctx, const struct db_person *p)
{
	return !ctx->facility || strcmp(p->facility_id, ctx->facility) == 0;
}

enum api_scope api_person_scope(const struct api_ctx *ctx, struct db_conn *c,
				struct db_person *p, bool count_absent,
				struct api_result *res)
{
	enum db_result r;
	bool stored = false;

	r = db_person_get_in(c, ctx->path_id, ctx->facility, p, &stored);
	if (r == DB_OK)
		return API_SCOPE_VISIBLE;
	if (r != DB_NOT_FOUND) {
		*res = api_db_problem(ctx, r);
		return API_SCOPE_ERROR;
	}
	if (!stored) {
		if (count_absent)
			api_audit_absent(ctx->audit, ctx->path_id);
		return API_SCOPE_ABSENT;
	}
	return API_SCOPE_HIDDEN;
}

bool api_person_stale(const struct api_ctx *ctx, const struct db_person *p)
{
	return p->verified_at == RULES_NO_DATE ||
	       p->verified_at <
		   ctx->today - ctx->app->ruleset->params.stale_after_days;
}

int api_person_decision(const struct api_ctx *ctx, const struct db_person *p,
			int32_t as_of, struct rules_decision *d,
			char name[API_INSURER_NAME_MAX])
{
	if (rules_decide(&p->facts, as_of, &ctx->app->ruleset->params, d) != 0)
		return -1;
	if (name)
		api_decision_lookup_insurer(ctx, d, name);
	return 0;
}

void api_stored_decision_json(const struct api_ctx *ctx, struct api_buf *b,
			      const struct rules_decision *d,
			      const struct db_person *p)
{
	api_decision_json(b, d, &ctx->app->ruleset->params, ctx->lang,
			  ctx->req->now);
	/* Reopen the object to add what only a stored answer has. */
	if (!b->failed && b->len > 0)
		b->len--;
	api_buf_key_str(b, ",\"person_id\":", p->person_id);
	api_buf_key_date(b, ",\"data_as_of\":", p->verified_at);
	api_buf_adds(b, api_person_stale(ctx, p) ? ",\"stale\":true}"
						 : ",\"stale\":false}");
}
