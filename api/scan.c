/* scan.c - finds an individual number (個人番号) anywhere in a JSON document.
 *
 * SPEC §8: a whole string value or object key, or a 12-digit integer
 * literal, refuses the whole request before anything else looks at it. */
#include <string.h>

#include "api/internal.h"

static bool scan(json_t *v, char *field, size_t fieldlen)
{
	char here[API_FIELD_MAX];
	const char *key;
	json_t *child;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return rules_is_individual_number(json_string_value(v),
						  json_string_length(v));
	case JSON_INTEGER:
		return rules_is_individual_number_int(
		    (long long)json_integer_value(v));
	case JSON_ARRAY:
		json_array_foreach(v, i, child) {
			api_pointer_index(here, sizeof here, field, i);
			if (scan(child, here, sizeof here)) {
				snprintf(field, fieldlen, "%s", here);
				return true;
			}
		}
		return false;
	case JSON_OBJECT:
		json_object_foreach(v, key, child) {
			if (rules_is_individual_number(key, strlen(key))) {
				/* Never echo the number itself: point at the
				 * object that holds the key. */
				return true;
			}
			api_pointer_join(here, sizeof here, field, key);
			if (scan(child, here, sizeof here)) {
				snprintf(field, fieldlen, "%s", here);
				return true;
			}
		}
		return false;
	default: return false;
	}
}

/* The same test without building a JSON Pointer at every step: that
 * doubled the cost of a clean document, and a hit is rare. */
static bool has_individual_number(json_t *v)
{
	const char *key;
	json_t *child;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return rules_is_individual_number(json_string_value(v),
						  json_string_length(v));
	case JSON_INTEGER:
		return rules_is_individual_number_int(
		    (long long)json_integer_value(v));
	case JSON_ARRAY:
		json_array_foreach(v, i, child)
			if (has_individual_number(child))
				return true;
		return false;
	case JSON_OBJECT:
		json_object_foreach(v, key, child)
			if (rules_is_individual_number(key, strlen(key)) ||
			    has_individual_number(child))
				return true;
		return false;
	default: return false;
	}
}

bool api_scan_individual_number(json_t *doc, char *field, size_t fieldlen)
{
	char start[API_FIELD_MAX] = "";
	bool found;

	/* Almost every document is clean: the cheap walk first, the one that
	 * builds the pointer only to say where. */
	found = has_individual_number(doc) && scan(doc, start, sizeof start);
	api_copy_truncated(field, fieldlen, found ? start : "");
	return found;
}
