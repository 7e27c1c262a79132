/* person.c - a stored person's JSON: the facts of SPEC §2 at top level plus
 * display_name, facility_id, verified_at and source (and person_id on an
 * import line).  Shared by PUT /v1/persons/{id} and the import. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "api/person.h"
#include "api/text.h"

bool api_id_valid(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n > DB_ID_MAX)
		return false;
	/* "." and "..": a path segment of these is resolved away by
	 * clients and proxies (RFC 3986 §5.2.4) and names a directory in
	 * an export file's path: never an id */
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* The characters of valid UTF-8 (the JSON reader has checked it). */
static size_t utf8_chars(const char *s, size_t n)
{
	size_t i, chars = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	return chars;
}

/* display_name: 1-100 characters of text without control characters or
 * bidi overrides (api_text_has_control); an individual number in it was
 * refused before (api/scan.c). */
static void parse_display_name(json_t *v, const char *field,
			       struct db_person *out, struct api_errors *errs)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), chars;

	if (!json_is_string(v)) {
		api_errors_add(errs, field, "invalid_type",
			       "expected a string");
		return;
	}
	if (api_refuse_control_text(s, n, field, errs))
		return;
	chars = utf8_chars(s, n);
	if (chars < 1 || chars > 100 || n > DB_DISPLAY_NAME_MAX) {
		api_errors_add(errs, field, "invalid_type", "1-100 characters");
		return;
	}
	memcpy(out->display_name, s, n + 1);
}

static const char *const person_keys[] = {
    "person_id", "display_name", "facility_id", "verified_at",
    "source",    "updated_at",   NULL};

static bool is_person_key(const char *key)
{
	size_t i;

	for (i = 0; person_keys[i]; i++)
		if (strcmp(person_keys[i], key) == 0)
			return true;
	return false;
}

static void parse_id_field(json_t *v, const char *field, const char *code,
			   char *dst, size_t dstlen, struct api_errors *errs)
{
	if (!json_is_string(v)) {
		api_errors_add(errs, field, "invalid_type",
			       "expected a string of 1-64 characters of A-Z "
			       "a-z 0-9 . _ -");
		return;
	}
	if (!api_id_valid(json_string_value(v), json_string_length(v))) {
		api_errors_add(errs, field, code,
			       "1-64 characters of A-Z a-z 0-9 . _ -, not "
			       "\".\" or \"..\"");
		return;
	}
	snprintf(dst, dstlen, "%s", json_string_value(v));
}

int api_person_parse(json_t *obj, const char *ptr, const char *path_id,
		     int32_t today, struct db_person *out,
		     struct api_errors *errs)
{
	char field[API_FIELD_MAX];
	size_t before = errs->n + errs->dropped;
	json_t *facts = NULL, *v;
	const char *key;
	int src;

	db_person_init(out);
	if (!json_is_object(obj)) {
		api_errors_add(errs, ptr, "invalid_type",
			       "expected a person object");
		return -1;
	}
	/* The facts parser sees only the facts: a shallow copy without the
	 * record's own members. */
	facts = json_object();
	json_object_foreach(obj, key, v) {
		if (!is_person_key(key)) {
			json_object_set(facts, key, v);
			continue;
		}
		api_pointer_join(field, sizeof field, ptr, key);
		if (strcmp(key, "person_id") == 0) {
			parse_id_field(v, field, "invalid_person_id",
				       out->person_id, sizeof out->person_id,
				       errs);
			if (path_id && out->person_id[0] &&
			    strcmp(out->person_id, path_id) != 0)
				api_errors_add(errs, field,
					       "conflicting_fields",
					       "person_id differs from the id "
					       "in the path");
		} else if (strcmp(key, "facility_id") == 0) {
			/* SPEC §6 has no code of its own for a facility id:
			 * a string outside the id pattern is of the wrong
			 * type. */
			parse_id_field(v, field, "invalid_type",
				       out->facility_id,
				       sizeof out->facility_id, errs);
		} else if (strcmp(key, "display_name") == 0) {
			parse_display_name(v, field, out, errs);
		} else if (strcmp(key, "verified_at") == 0) {
			if (!json_is_string(v)) {
				api_errors_add(errs, field, "invalid_type",
					       "expected a date YYYY-MM-DD");
			} else if (rules_date_parse(json_string_value(v),
						    json_string_length(v),
						    &out->verified_at) != 0) {
				api_errors_add(errs, field, "invalid_date",
					       "not a real date in the form "
					       "YYYY-MM-DD");
			} else if (out->verified_at > today) {
				api_errors_add(errs, field, "invalid_date",
					       "verified_at is in the future");
			}
		} else if (strcmp(key, "source") == 0) {
			if (!json_is_string(v))
				api_errors_add(errs, field, "invalid_type",
					       "expected a string");
			else if (!api_json_cstr(v) ||
				 (src = db_source_from_name(
				      json_string_value(v))) < 0)
				api_errors_add(errs, field, "invalid_enum",
					       "expected mynaportal, "
					       "card_reader, insurer_notice, "
					       "self_report or other");
			else
				out->source = (enum db_source)src;
		}
		/* updated_at is the server's: accepted so that a GET body can
		 * be PUT back, and ignored. */
	}
	if (path_id)
		snprintf(out->person_id, sizeof out->person_id, "%s", path_id);
	api_facts_parse(facts, ptr, today, &out->facts, errs);
	json_decref(facts);
	return errs->n + errs->dropped == before ? 0 : -1;
}

static void set_date(json_t *o, const char *key, int32_t day)
{
	char d[11];

	if (day == RULES_NO_DATE)
		return;
	rules_date_format(day, d);
	json_object_set_new(o, key, json_string(d));
}

static void set_str(json_t *o, const char *key, const char *s)
{
	if (s && *s)
		json_object_set_new(o, key, json_string(s));
}

json_t *api_person_json(const struct db_person *p)
{
	const struct rules_facts *f = &p->facts;
	json_t *o = json_object(), *needs, *cert;
	int i;

	set_str(o, "person_id", p->person_id);
	set_str(o, "facility_id", p->facility_id);
	set_str(o, "display_name", p->display_name);
	set_date(o, "birth_date", f->birth_date);
	set_str(o, "insurer_number", f->insurer_number);
	set_str(o, "scheme", rules_scheme_name(f->scheme));
	if (f->mynumber_card)
		set_str(o, "mynumber_card", rules_card_name(f->mynumber_card));
	if (f->insurance_registration)
		set_str(o, "insurance_registration",
			rules_registration_name(f->insurance_registration));
	set_date(o, "ecert_expiry", f->ecert_expiry);
	set_date(o, "card_expiry", f->card_expiry);
	needs = json_array();
	for (i = 0; i < RULES_NEED_COUNT; i++)
		if (f->care_needs & (1u << i))
			json_array_append_new(
			    needs,
			    json_string(rules_need_name((enum rules_need)i)));
	json_object_set_new(o, "care_needs", needs);
	set_str(o, "setting", rules_setting_name(f->setting));
	set_date(o, "legacy_card_expiry", f->legacy_card_expiry);
	if (f->cert_status != RULES_CERT_ABSENT) {
		cert = json_object();
		set_str(cert, "status", rules_cert_status_name(f->cert_status));
		set_str(cert, "basis", rules_cert_basis_name(f->cert_basis));
		set_date(cert, "applied_on", f->cert_applied_on);
		set_date(cert, "valid_until", f->cert_valid_until);
		json_object_set_new(o, "certificate", cert);
	}
	set_date(o, "verified_at", p->verified_at);
	set_str(o, "source", db_source_name(p->source));
	set_str(o, "updated_at", p->updated_at);
	return o;
}
