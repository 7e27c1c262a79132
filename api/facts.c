/* facts.c - strict JSON facts (SPEC §2) into struct rules_facts.
 *
 * Every error is collected, never a guess: an unknown key, a null, a wrong
 * type, an enum outside its list, an impossible date, a bad insurer
 * number and facts that contradict each other each add their own entry. */
#include <string.h>

#include "api/internal.h"

enum fact_kind { K_DATE, K_STRING, K_ENUM, K_NEEDS, K_CERT };

struct fact_field {
	const char *name;
	enum fact_kind kind;
	int (*from_name)(const char *); /* K_ENUM */
	const char *expected;           /* for messages */
};

/* The entry of a date; of an enum read by from_name, which names its
 * members in expected.  (Unformatted: clang-format takes the braces of a
 * macro for a block.) */
/* clang-format off */
#define DATE_FIELD(name) {name, K_DATE, NULL, "a date YYYY-MM-DD"}
#define ENUM_FIELD(name, from_name, expected) \
	{name, K_ENUM, from_name, expected}
/* clang-format on */

static const struct fact_field fact_fields[] = {
    DATE_FIELD("birth_date"),
    {"insurer_number", K_STRING, NULL, "a string of 6 or 8 digits"},
    ENUM_FIELD("scheme", rules_scheme_from_name,
	       "nhi, nhi_association, late_elderly, kyokai, seamen, "
	       "day_laborer, society, sdf, mutual_aid, special_retiree or "
	       "other"),
    ENUM_FIELD("mynumber_card", rules_card_from_name,
	       "held, none, lost, renewing or unknown"),
    ENUM_FIELD("insurance_registration", rules_registration_from_name,
	       "registered, unregistered, cancelled or unknown"),
    DATE_FIELD("ecert_expiry"),
    DATE_FIELD("card_expiry"),
    {"care_needs", K_NEEDS, NULL,
     "an array of elderly, dementia, disability, child, illness, "
     "pin_difficulty, face_auth_difficulty, other"},
    ENUM_FIELD("setting", rules_setting_from_name,
	       "home, care_facility, disability_facility, childrens_facility, "
	       "hospital or other"),
    DATE_FIELD("legacy_card_expiry"),
    {"certificate", K_CERT, NULL,
     "an object {status, basis?, applied_on?, valid_until?}"},
};

static const char *json_type_name(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "a value";
}

/* Adds invalid_type unless v is a string; returns whether it is one. */
static bool want_string(json_t *v, const char *field, const char *expected,
			struct api_errors *errs)
{
	if (json_is_string(v))
		return true;
	if (json_is_null(v))
		api_errors_add(errs, field, "invalid_type",
			       "null is not a value: omit the field instead "
			       "(expected %s)",
			       expected);
	else
		api_errors_add(errs, field, "invalid_type",
			       "expected %s, got %s", expected,
			       json_type_name(v));
	return false;
}

static int parse_date(json_t *v, const char *field, struct api_errors *errs,
		      int32_t *out)
{
	if (!want_string(v, field, "a date YYYY-MM-DD", errs))
		return -1;
	if (rules_date_parse(json_string_value(v), json_string_length(v),
			     out) != 0) {
		api_errors_add(errs, field, "invalid_date",
			       "not a real date in the form YYYY-MM-DD");
		return -1;
	}
	return 0;
}

static int parse_enum(json_t *v, const char *field, const struct fact_field *ff,
		      struct api_errors *errs, int *out)
{
	int value;

	if (!want_string(v, field, ff->expected, errs))
		return -1;
	value = ff->from_name(api_json_cstr(v));
	if (value < 0) {
		api_errors_add(errs, field, "invalid_enum", "expected %s",
			       ff->expected);
		return -1;
	}
	*out = value;
	return 0;
}

const char *api_insurer_error_text(enum rules_insurer_error e)
{
	switch (e) {
	case RULES_INSURER_BAD_LENGTH:
		return "an insurer number has 6 or 8 digits";
	case RULES_INSURER_NOT_DIGITS:
		return "an insurer number has digits only";
	case RULES_INSURER_BAD_CHECK_DIGIT:
		return "the check digit (検証番号, the last digit) does not "
		       "match: the number is mistyped";
	case RULES_INSURER_BAD_PREFECTURE:
		return "the prefecture digits must be 01-47";
	case RULES_INSURER_OK: break;
	}
	return "invalid insurer number";
}

static void parse_insurer(json_t *v, const char *field, struct rules_facts *out,
			  struct api_errors *errs)
{
	struct rules_insurer ins;
	enum rules_insurer_error e;

	if (!want_string(v, field, "a string of 6 or 8 digits", errs))
		return;
	e = rules_insurer_parse(json_string_value(v), json_string_length(v),
				&ins);
	if (e != RULES_INSURER_OK) {
		api_errors_add(errs, field, "invalid_insurer_number", "%s",
			       api_insurer_error_text(e));
		return;
	}
	memcpy(out->insurer_number, ins.number, sizeof out->insurer_number);
}

/* The invalid_type of a member v that is not what: null is told to be
 * omitted ("omit the field " + omit), anything else is named. */
static void wrong_type(json_t *v, const char *field, const char *omit,
		       const char *what, struct api_errors *errs)
{
	if (json_is_null(v))
		api_errors_add(errs, field, "invalid_type",
			       "null is not a value: omit the field %s", omit);
	else
		api_errors_add(errs, field, "invalid_type",
			       "expected %s, got %s", what, json_type_name(v));
}

static void parse_needs(json_t *v, const char *field, struct rules_facts *out,
			struct api_errors *errs)
{
	char here[API_FIELD_MAX];
	json_t *item;
	size_t i;
	int need;

	if (!json_is_array(v)) {
		wrong_type(v, field, "or send []", "an array of strings", errs);
		return;
	}
	json_array_foreach(v, i, item) {
		api_pointer_index(here, sizeof here, field, i);
		if (!want_string(item, here, "a string", errs))
			continue;
		need = rules_need_from_name(api_json_cstr(item));
		if (need < 0) {
			api_errors_add(errs, here, "invalid_enum",
				       "expected one of elderly, dementia, "
				       "disability, child, illness, "
				       "pin_difficulty, face_auth_difficulty, "
				       "other");
			continue;
		}
		out->care_needs |= 1u << need;
	}
}

static void parse_certificate(json_t *v, const char *field,
			      struct rules_facts *out, struct api_errors *errs)
{
	static const struct fact_field status_f = {"status", K_ENUM,
						   rules_cert_status_from_name,
						   "none, applied or issued"};
	static const struct fact_field basis_f = {
	    "basis", K_ENUM, rules_cert_basis_from_name,
	    "application, ex_officio or provisional"};
	char here[API_FIELD_MAX];
	const char *key;
	json_t *item;
	int value;
	bool status_ok = false;

	if (!json_is_object(v)) {
		wrong_type(v, field, "instead", "an object", errs);
		return;
	}
	json_object_foreach(v, key, item) {
		api_pointer_join(here, sizeof here, field, key);
		if (strcmp(key, "status") == 0) {
			if (parse_enum(item, here, &status_f, errs, &value) ==
			    0) {
				out->cert_status =
				    (enum rules_cert_status)value;
				status_ok = true;
			}
		} else if (strcmp(key, "basis") == 0) {
			if (parse_enum(item, here, &basis_f, errs, &value) == 0)
				out->cert_basis = (enum rules_cert_basis)value;
		} else if (strcmp(key, "applied_on") == 0) {
			parse_date(item, here, errs, &out->cert_applied_on);
		} else if (strcmp(key, "valid_until") == 0) {
			parse_date(item, here, errs, &out->cert_valid_until);
		} else {
			api_errors_add(errs, here, "unknown_field",
				       "certificate has status, basis, "
				       "applied_on and valid_until only");
		}
	}
	if (!json_object_get(v, "status")) {
		api_pointer_join(here, sizeof here, field, "status");
		api_errors_add(errs, here, "missing_field",
			       "certificate.status is required: none, applied "
			       "or issued");
		return;
	}
	if (!status_ok)
		return;
	/* What the status says must not contradict the other members. */
	if (out->cert_status == RULES_CERT_NONE &&
	    (out->cert_basis != RULES_BASIS_UNKNOWN ||
	     out->cert_applied_on != RULES_NO_DATE ||
	     out->cert_valid_until != RULES_NO_DATE)) {
		api_errors_add(errs, field, "conflicting_fields",
			       "status none cannot have a basis, applied_on "
			       "or valid_until");
	} else if (out->cert_status == RULES_CERT_APPLIED &&
		   ((out->cert_basis != RULES_BASIS_UNKNOWN &&
		     out->cert_basis != RULES_BASIS_APPLICATION) ||
		    out->cert_valid_until != RULES_NO_DATE)) {
		api_errors_add(errs, field, "conflicting_fields",
			       "status applied has no valid_until and its "
			       "basis, if given, is application");
	}
}

/* One fact of the object: its value read into out, or errors. */
static void parse_fact(const struct fact_field *ff, const char *key, json_t *v,
		       const char *here, struct rules_facts *out,
		       struct api_errors *errs)
{
	int value;

	switch (ff->kind) {
	case K_DATE:
		if (strcmp(key, "birth_date") == 0)
			parse_date(v, here, errs, &out->birth_date);
		else if (strcmp(key, "ecert_expiry") == 0)
			parse_date(v, here, errs, &out->ecert_expiry);
		else if (strcmp(key, "card_expiry") == 0)
			parse_date(v, here, errs, &out->card_expiry);
		else
			parse_date(v, here, errs, &out->legacy_card_expiry);
		break;
	case K_STRING: parse_insurer(v, here, out, errs); break;
	case K_ENUM:
		if (parse_enum(v, here, ff, errs, &value) != 0)
			break;
		if (strcmp(key, "scheme") == 0)
			out->scheme = (enum rules_scheme)value;
		else if (strcmp(key, "mynumber_card") == 0)
			out->mynumber_card = (enum rules_card)value;
		else if (strcmp(key, "insurance_registration") == 0)
			out->insurance_registration =
			    (enum rules_registration)value;
		else
			out->setting = (enum rules_setting)value;
		break;
	case K_NEEDS: parse_needs(v, here, out, errs); break;
	case K_CERT: parse_certificate(v, here, out, errs); break;
	}
}

int api_facts_parse(json_t *obj, const char *ptr, int32_t as_of,
		    struct rules_facts *out, struct api_errors *errs)
{
	char here[API_FIELD_MAX];
	size_t before = errs->n + errs->dropped;
	const char *key;
	json_t *v;
	size_t i;

	rules_facts_init(out);
	if (!json_is_object(obj)) {
		api_errors_add(errs, ptr, "invalid_type",
			       "expected an object of facts, got %s",
			       json_type_name(obj));
		return -1;
	}
	json_object_foreach(obj, key, v) {
		const struct fact_field *ff = NULL;

		api_pointer_join(here, sizeof here, ptr, key);
		for (i = 0; i < sizeof fact_fields / sizeof fact_fields[0]; i++)
			if (strcmp(fact_fields[i].name, key) == 0) {
				ff = &fact_fields[i];
				break;
			}
		if (!ff) {
			api_errors_add(errs, here, "unknown_field",
				       "not a fact of this API (misspelt?)");
			continue;
		}
		parse_fact(ff, key, v, here, out, errs);
	}
	if (out->birth_date != RULES_NO_DATE && as_of != RULES_NO_DATE &&
	    out->birth_date > as_of) {
		api_pointer_join(here, sizeof here, ptr, "birth_date");
		api_errors_add(errs, here, "invalid_date",
			       "birth_date is after as_of");
	}
	if (out->insurer_number[0] && out->scheme != RULES_SCHEME_UNKNOWN) {
		struct rules_insurer ins;

		rules_insurer_parse(out->insurer_number,
				    strlen(out->insurer_number), &ins);
		if (!rules_scheme_agrees(ins.scheme, out->scheme)) {
			api_pointer_join(here, sizeof here, ptr, "scheme");
			api_errors_add(errs, here, "conflicting_fields",
				       "the insurer number belongs to scheme "
				       "%s, not %s",
				       rules_scheme_name(ins.scheme),
				       rules_scheme_name(out->scheme));
		}
	}
	return errs->n + errs->dropped == before ? 0 : -1;
}
