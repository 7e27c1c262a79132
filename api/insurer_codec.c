/* insurer_codec.c - an insurer as JSON (a codec of api/): the object the
 * registry routes answer (the number's derived facts with the registry
 * row), and the object PUT /v1/insurers/{number} and the insurer import
 * read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/text.h"
#include "db/insurer_db.h"

static json_t *opt_str(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

/* Derived facts of a valid number, overlaid with the registry row. */
json_t *api_insurer_json(const struct rules_insurer *ins,
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
	if (api_refuse_control_text(s, n, field, errs))
		return;
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
