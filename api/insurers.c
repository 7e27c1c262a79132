/* insurers.c - the insurer registry over HTTP (SPEC §5): the facts derived
 * from the number, plus what the registry knows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/person.h"
#include "api/text.h"
#include "base/fnv.h"
#include "db/insurer_db.h"

#define ANSWER_MAX ((size_t)4 << 20)

static json_t *opt_str(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

/* Derived facts of a valid number, overlaid with the registry row. */
static json_t *insurer_json(const struct rules_insurer *ins,
			    const struct db_insurer *row)
{
	enum rules_scheme scheme = ins->scheme;
	char pref[3];

	if (row && row->scheme == RULES_SCHEME_NHI_ASSOCIATION &&
	    scheme == RULES_SCHEME_NHI)
		scheme = RULES_SCHEME_NHI_ASSOCIATION;
	snprintf(pref, sizeof pref, "%02d", ins->prefecture);
	return json_pack(
	    "{s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, "
	    "s:b, s:o}",
	    "number", ins->number, "valid", 1, "scheme",
	    rules_scheme_name(scheme), "prefecture_code", pref, "prefecture",
	    rules_prefecture_name_ja(ins->prefecture), "prefecture_en",
	    rules_prefecture_name_en(ins->prefecture), "channel",
	    rules_channel_name(rules_scheme_channel(scheme)), "name",
	    opt_str(row ? row->name_ja : NULL), "name_en",
	    opt_str(row ? row->name_en : NULL), "address",
	    opt_str(row ? row->address : NULL), "phone",
	    opt_str(row ? row->phone : NULL), "url",
	    opt_str(row ? row->url : NULL), "registered", row != NULL,
	    "updated_at", opt_str(row ? row->updated_at : NULL));
}

/* Overlays what the registry says on a decision: the name in the
 * request's language (name_en for lang=en when there is one, else
 * name_ja; borrowed by d) and, for an NHI number the registry marks as a
 * 国保組合's, scheme nhi_association with its channel (SPEC §5). */
static void decision_registry(const struct api_ctx *ctx,
			      struct rules_decision *d, const char *name_ja,
			      const char *name_en, enum rules_scheme scheme)
{
	if (!d->has_number)
		return;
	if (ctx->lang == RULES_LANG_EN && name_en && name_en[0])
		d->insurer_name = name_en;
	else if (name_ja && name_ja[0])
		d->insurer_name = name_ja;
	else if (name_en && name_en[0])
		d->insurer_name = name_en;
	if (scheme == RULES_SCHEME_NHI_ASSOCIATION &&
	    d->insurer_scheme == RULES_SCHEME_NHI) {
		d->insurer_scheme = RULES_SCHEME_NHI_ASSOCIATION;
		d->channel = rules_scheme_channel(d->insurer_scheme);
	}
}

/* Registry rows, cached per thread: the evaluate route would otherwise
 * open a read transaction (two fcntl locks and a B-tree search) on every
 * request for a table that changes a few times a year.  An entry is good
 * while the process has not written the registry since (generation) and
 * for REGISTRY_TTL_S at most, for writers in other processes (the import
 * command). */
#define REGISTRY_SLOTS 256
#define REGISTRY_TTL_S 30

struct registry_entry {
	char number[9];
	bool found;
	enum rules_scheme scheme;
	unsigned long generation;
	double fetched;
	char name_ja[160];
	char name_en[160];
};

static _Thread_local struct registry_entry registry_cache[REGISTRY_SLOTS];

static unsigned registry_slot(const char *number)
{
	return base_fnv1a32(BASE_FNV32_INIT, number, strlen(number)) %
	       REGISTRY_SLOTS;
}

void api_decision_lookup_insurer(const struct api_ctx *ctx,
				 struct rules_decision *d,
				 char name[API_INSURER_NAME_MAX])
{
	struct registry_entry *e;
	struct db_insurer *row = NULL;
	unsigned long gen;
	struct db_conn *c;
	enum db_result r;

	name[0] = '\0';
	if (!d->has_number || !ctx->app->db)
		return;
	gen = db_registry_generation(ctx->app->db);
	e = &registry_cache[registry_slot(d->insurer.number)];
	if (strcmp(e->number, d->insurer.number) != 0 || e->generation != gen ||
	    ctx->req->now - e->fetched > REGISTRY_TTL_S ||
	    ctx->req->now < e->fetched) {
		c = db_conn_get(ctx->app->db);
		row = c ? malloc(sizeof *row) : NULL;
		if (!row)
			return;
		r = db_insurer_get(c, d->insurer.number, row);
		if (r != DB_OK && r != DB_NOT_FOUND) {
			free(row);
			return; /* not cached: try again next time */
		}
		memcpy(e->number, d->insurer.number, sizeof e->number);
		e->found = r == DB_OK;
		e->scheme = e->found ? row->scheme : RULES_SCHEME_UNKNOWN;
		e->generation = gen;
		e->fetched = ctx->req->now;
		api_copy_truncated(e->name_ja, sizeof e->name_ja,
				   e->found ? row->name_ja : "");
		api_copy_truncated(e->name_en, sizeof e->name_en,
				   e->found ? row->name_en : "");
		free(row);
	}
	if (!e->found)
		return;
	/* One of the two names goes in: copy the one wanted. */
	decision_registry(ctx, d, e->name_ja, e->name_en, e->scheme);
	if (d->insurer_name) {
		api_copy_truncated(name, API_INSURER_NAME_MAX, d->insurer_name);
		d->insurer_name = name;
	}
}

void api_insurer_get(const struct api_ctx *ctx, struct api_response *resp)
{
	struct rules_insurer ins = ctx->insurer;
	struct db_insurer row;
	struct db_conn *c;
	enum db_result r;

	c = api_conn_or_503(ctx, resp);
	if (!c)
		return;
	r = db_insurer_get(c, ins.number, &row);
	if (r != DB_OK && r != DB_NOT_FOUND) {
		api_respond_db_error(resp, r);
		return;
	}
	api_respond_json(resp, 200,
			 insurer_json(&ins, r == DB_OK ? &row : NULL),
			 "application/json");
}

/* Copies an optional text member within max bytes: no control
 * characters (invalid_text), and for the url an http(s) URL. */
static void member_str(json_t *doc, const char *key, char *dst, size_t max,
		       struct api_errors *errs)
{
	json_t *v = json_object_get(doc, key);
	char field[API_FIELD_MAX];
	const char *s;
	size_t n;

	if (!v)
		return;
	api_pointer_join(field, sizeof field, "", key);
	if (!json_is_string(v)) {
		api_errors_add(errs, field, "invalid_type",
			       "expected a string");
		return;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (api_text_has_control(s, n)) {
		api_errors_add(errs, field, "invalid_text",
			       "no control characters (U+0000-U+001F, "
			       "U+007F-U+009F) or bidi overrides and isolates "
			       "(U+202A-U+202E, U+2066-U+2069)");
		return;
	}
	if (n == 0 || n >= max) {
		api_errors_add(errs, field, "invalid_type",
			       "1 to %zu bytes of text", max - 1);
		return;
	}
	if (strcmp(key, "url") == 0 && !api_text_url_ok(s, n)) {
		api_errors_add(errs, field, "invalid_url",
			       "an http:// or https:// URL with a host and "
			       "no spaces");
		return;
	}
	memcpy(dst, s, n + 1);
}

int api_insurer_parse(json_t *doc, const char *number, struct db_insurer *out,
		      struct api_errors *errs)
{
	static const char *const known[] = {
	    "insurer_number", "name_ja", "name_en",         "scheme", "address",
	    "phone",          "url",     "prefecture_code", NULL};
	struct rules_insurer ins;
	char field[API_FIELD_MAX];
	const char *key;
	json_t *v;
	size_t i;
	int scheme;
	size_t before = errs->n;

	db_insurer_init(out);
	json_object_foreach(doc, key, v) {
		bool ok = false;

		for (i = 0; known[i]; i++)
			if (strcmp(known[i], key) == 0)
				ok = true;
		if (!ok) {
			api_pointer_join(field, sizeof field, "", key);
			api_errors_add(errs, field, "unknown_field",
				       "an insurer has name_ja, name_en, "
				       "scheme, address, phone and url");
		}
	}
	if (rules_insurer_parse(number, strlen(number), &ins) !=
	    RULES_INSURER_OK) {
		api_errors_add(errs, "/insurer_number",
			       "invalid_insurer_number",
			       "not a valid insurer number");
		return -1;
	}
	v = json_object_get(doc, "insurer_number");
	if (v && (!json_is_string(v) || !api_json_cstr(v) ||
		  strcmp(json_string_value(v), number) != 0))
		api_errors_add(errs, "/insurer_number", "conflicting_fields",
			       "differs from the number in the path");
	memcpy(out->number, ins.number, sizeof out->number);
	out->prefecture = ins.prefecture;
	out->scheme = ins.scheme;
	v = json_object_get(doc, "prefecture_code");
	if (v) {
		char pref[3];

		snprintf(pref, sizeof pref, "%02d", ins.prefecture);
		if (!json_is_string(v) || !api_json_cstr(v) ||
		    strcmp(json_string_value(v), pref) != 0)
			api_errors_add(errs, "/prefecture_code",
				       "conflicting_fields",
				       "the prefecture comes from the number: "
				       "%s",
				       pref);
	}
	member_str(doc, "name_ja", out->name_ja, sizeof out->name_ja, errs);
	member_str(doc, "name_en", out->name_en, sizeof out->name_en, errs);
	member_str(doc, "address", out->address, sizeof out->address, errs);
	member_str(doc, "phone", out->phone, sizeof out->phone, errs);
	member_str(doc, "url", out->url, sizeof out->url, errs);
	v = json_object_get(doc, "scheme");
	if (v) {
		if (!json_is_string(v) ||
		    (scheme = rules_scheme_from_name(api_json_cstr(v))) < 0)
			api_errors_add(errs, "/scheme", "invalid_enum",
				       "expected a scheme of SPEC §2");
		else if (!rules_scheme_agrees(ins.scheme,
					      (enum rules_scheme)scheme))
			api_errors_add(errs, "/scheme", "conflicting_fields",
				       "the number belongs to scheme %s",
				       rules_scheme_name(ins.scheme));
		else
			out->scheme = (enum rules_scheme)scheme;
	}
	return errs->n == before ? 0 : -1;
}

void api_insurer_put(const struct api_ctx *ctx, struct api_response *resp)
{
	struct api_errors *errs = NULL;
	struct rules_insurer ins = ctx->insurer;
	struct db_insurer row;
	struct db_conn *c;
	enum db_result r;
	bool created = false;
	json_t *doc;

	doc = api_body_object(ctx, resp);
	if (!doc)
		return;
	errs = api_errors_new(ctx);
	if (!errs) {
		api_respond_oom(resp);
		goto out;
	}
	if (api_insurer_parse(doc, ins.number, &row, errs) != 0) {
		api_respond_problem(
		    resp, 422, "validation_failed",
		    "the request has invalid values: see errors", errs, "");
		goto out;
	}
	c = api_conn_for_write(ctx, resp);
	if (!c)
		goto out;
	r = db_insurer_put(c, &row, false, ctx->req->now, &created);
	if (r == DB_OK)
		db_registry_touch(ctx->app->db);
	if (r != DB_OK) {
		api_respond_db_error(resp, r);
		goto out;
	}
	api_respond_json(resp, created ? 201 : 200, insurer_json(&ins, &row),
			 "application/json");
out:
	json_decref(doc);
}

struct search {
	json_t *items;
	char last[9];
	int n;
};

static int search_row(const struct db_insurer *row, void *arg)
{
	struct search *s = arg;
	struct rules_insurer ins;

	memcpy(s->last, row->number, sizeof s->last);
	s->n++;
	if (rules_insurer_parse(row->number, strlen(row->number), &ins) !=
	    RULES_INSURER_OK)
		return 0;
	json_array_append_new(s->items, insurer_json(&ins, row));
	return 0;
}

void api_insurers_list(const struct api_ctx *ctx, struct api_response *resp)
{
	struct api_errors errs;
	struct search s = {0};
	const char *q, *name;
	int prefecture = 0, scheme = 0, limit = 100;
	char after[9] = "";
	struct db_conn *c;
	enum db_result r;
	long n;

	api_errors_init(&errs);
	q = api_query_get(ctx->req, "prefecture");
	if (q) {
		/* One or two ASCII digits (openapi.yaml's pattern): strtol
		 * alone let "013", "+13" and " 13" through. */
		n = strlen(q) >= 1 && strlen(q) <= 2 &&
			    strspn(q, "0123456789") == strlen(q)
			? strtol(q, NULL, 10)
			: 0;
		if (n < 1 || n > 47)
			api_errors_add(&errs, "?prefecture", "invalid_enum",
				       "a prefecture code 1-47 (one or two "
				       "digits: 13, 01 or 1)");
		else
			prefecture = (int)n;
	}
	q = api_query_get(ctx->req, "scheme");
	if (q && (scheme = rules_scheme_from_name(q)) < 0)
		api_errors_add(&errs, "?scheme", "invalid_enum",
			       "a scheme of SPEC §2");
	name = api_query_get(ctx->req, "q");
	if (name && (!*name || strlen(name) > 100))
		api_errors_add(&errs, "?q", "invalid_type",
			       "1-100 bytes of a name or a number");
	api_query_limit(ctx->req, 1000, &limit, &errs);
	q = api_query_get(ctx->req, "cursor");
	if (q) {
		if (strlen(q) > 8 || strspn(q, "0123456789") != strlen(q))
			api_errors_add(&errs, "?cursor", "invalid_type",
				       "not a cursor this server gave");
		else
			snprintf(after, sizeof after, "%s", q);
	}
	if (api_query_invalid(resp, &errs))
		return;
	c = api_conn_or_503(ctx, resp);
	if (!c)
		return;
	s.items = json_array();
	r = db_insurer_search(c, after, limit, prefecture,
			      (enum rules_scheme)(scheme < 0 ? 0 : scheme),
			      name, search_row, &s);
	if (r != DB_OK) {
		json_decref(s.items);
		api_respond_db_error(resp, r);
		return;
	}
	api_respond_json(
	    resp, 200,
	    json_pack("{s:o, s:o}", "items", s.items, "next_cursor",
		      s.n == limit ? json_string(s.last) : json_null()),
	    "application/json");
}
