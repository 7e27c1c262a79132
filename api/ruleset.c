/* ruleset.c - the parameters in force (SPEC §4): rules file and GET /v1/rules. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "api/internal.h"

#define N_PARAMS 6

static const char *const param_names[N_PARAMS] = {
    "provisional_end",    "late_elderly_auto_age", "apply_margin_days",
    "ecert_grace_months", "stale_after_days",      "next_change_horizon_days"};

/* Reads an integer parameter within [lo, hi]. */
static int param_int(json_t *v, const char *name, int lo, int hi, int *out,
		     char *err, size_t errlen)
{
	json_int_t n;

	if (!json_is_integer(v)) {
		snprintf(err, errlen, "%s: expected an integer", name);
		return -1;
	}
	n = json_integer_value(v);
	if (n < lo || n > hi) {
		snprintf(err, errlen, "%s: %lld is outside %d-%d", name,
			 (long long)n, lo, hi);
		return -1;
	}
	*out = (int)n;
	return 0;
}

/* The bounds of the whole-number parameters (1 to 5, in param_names'
 * order); late_elderly_auto_age may also be null (no automatic age).  A
 * horizon of 0 turns the look ahead off; ten years is more than any
 * policy has been announced ahead. */
static const struct {
	int lo, hi;
	size_t at; /* offset in struct rules_params */
} param_ints[N_PARAMS] = {
    [1] = {65, 120, offsetof(struct rules_params, late_elderly_auto_age)},
    [2] = {0, 366, offsetof(struct rules_params, apply_margin_days)},
    [3] = {0, 24, offsetof(struct rules_params, ecert_grace_months)},
    [4] = {1, 3650, offsetof(struct rules_params, stale_after_days)},
    [5] = {0, 3660, offsetof(struct rules_params, next_change_horizon_days)},
};

/* Parameter which (< N_PARAMS) from v into p; -1 with msg filled. */
static int param_apply(size_t which, json_t *v, struct rules_params *p,
		       char *msg, size_t msglen)
{
	if (which == 0) {
		if (json_is_string(v) &&
		    rules_date_parse(json_string_value(v),
				     json_string_length(v),
				     &p->provisional_end) == 0)
			return 0;
		snprintf(msg, msglen,
			 "provisional_end: expected a real date YYYY-MM-DD");
		return -1;
	}
	if (which == 1 && json_is_null(v)) {
		p->late_elderly_auto_age = -1;
		return 0;
	}
	return param_int(
	    v, param_names[which], param_ints[which].lo, param_ints[which].hi,
	    (int *)((char *)p + param_ints[which].at), msg, msglen);
}

static int ruleset_apply(json_t *doc, const char *path, struct api_ruleset *out,
			 char *err, size_t errlen)
{
	char msg[200];
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(doc, key, v) {
		size_t which = N_PARAMS;
		int rc;

		for (i = 0; i < N_PARAMS; i++)
			if (strcmp(param_names[i], key) == 0)
				which = i;
		msg[0] = '\0';
		if (which < N_PARAMS) {
			rc = param_apply(which, v, &out->params, msg,
					 sizeof msg);
		} else {
			snprintf(msg, sizeof msg,
				 "unknown parameter \"%.40s\" (known: "
				 "provisional_end, late_elderly_auto_age, "
				 "apply_margin_days, ecert_grace_months, "
				 "stale_after_days, next_change_horizon_days)",
				 key);
			rc = -1;
		}
		if (rc != 0) {
			snprintf(err, errlen, "rules file %s: %s", path, msg);
			return -1;
		}
		out->source[which] = path;
	}
	return 0;
}

int api_ruleset_load(const char *path, struct api_ruleset *out, char *err,
		     size_t errlen)
{
	json_error_t jerr;
	json_t *doc;
	size_t i;
	int rc;

	rules_params_default(&out->params);
	for (i = 0; i < N_PARAMS; i++)
		out->source[i] = "default";
	if (!path)
		return 0;
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		snprintf(err, errlen,
			 "rules file %s: not a readable JSON object (line %d, "
			 "column %d: %s)",
			 path, jerr.line, jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "rules file %s: expected a JSON object",
			 path);
		json_decref(doc);
		return -1;
	}
	rc = ruleset_apply(doc, path, out, err, errlen);
	json_decref(doc);
	return rc;
}

static const enum rules_entitlement rule_entitlement[9] = {
    RULES_ENT_EX_OFFICIO,     RULES_ENT_PROVISIONAL,    RULES_ENT_EX_OFFICIO,
    RULES_ENT_ON_APPLICATION, RULES_ENT_ON_APPLICATION, RULES_ENT_UNDETERMINED,
    RULES_ENT_ON_APPLICATION, RULES_ENT_ON_APPLICATION, RULES_ENT_NOT_ENTITLED};

static json_t *text_json(const struct rules_text *t, enum rules_lang lang,
			 const struct rules_params *p)
{
	char text[1024];

	api_text_render(text, sizeof text, t->text[lang], NULL, p);
	return json_pack("{s:s, s:s?, s:s}", "code", t->code, "source",
			 t->source[lang], "text", text);
}

struct api_result api_rules_get(const struct api_ctx *ctx)
{
	const struct api_ruleset *rs = ctx->app->ruleset;
	const struct rules_params *p = &rs->params;
	json_t *doc, *params, *rules, *reasons, *advice, *t;
	char date[11];
	int i;

	rules_date_format(p->provisional_end, date);
	params = json_object();
	json_object_set_new(
	    params, param_names[0],
	    json_pack("{s:s, s:s}", "value", date, "source", rs->source[0]));
	json_object_set_new(
	    params, param_names[1],
	    json_pack("{s:o, s:s}", "value",
		      p->late_elderly_auto_age < 0
			  ? json_null()
			  : json_integer(p->late_elderly_auto_age),
		      "source", rs->source[1]));
	for (i = 2; i < N_PARAMS; i++)
		json_object_set_new(params, param_names[i],
				    json_pack("{s:i, s:s}", "value",
					      *(const int *)((const char *)p +
							     param_ints[i].at),
					      "source", rs->source[i]));

	rules = json_array();
	for (i = 0; i < 9; i++) {
		t = text_json(rules_reason_text((enum rules_reason)i),
			      ctx->lang, p);
		json_object_set_new(t, "order", json_integer(i + 1));
		json_object_set_new(
		    t, "entitlement",
		    json_string(rules_entitlement_name(rule_entitlement[i])));
		json_array_append_new(rules, t);
	}
	reasons = json_array();
	for (i = 0; i < RULES_R_COUNT; i++)
		json_array_append_new(
		    reasons, text_json(rules_reason_text((enum rules_reason)i),
				       ctx->lang, p));
	advice = json_array();
	for (i = 0; i < RULES_A_COUNT; i++)
		json_array_append_new(
		    advice, text_json(rules_advice_text((enum rules_advice)i),
				      ctx->lang, p));
	doc = json_pack("{s:{s:s, s:s}, s:o, s:o, s:o, s:o}", "ruleset", "id",
			RULES_RULESET_ID, "version", RULES_RULESET_VERSION,
			"parameters", params, "rules", rules, "reasons",
			reasons, "advice", advice);
	return api_ok_json(200, doc, "application/json");
}
