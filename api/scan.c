/* scan.c - finds an individual number (個人番号) anywhere in a JSON document.
 *
 * SPEC §8: a whole string value or object key, or a 12-digit integer
 * literal, refuses the whole request before anything else looks at it; so
 * does a run of 12 digits inside the free text of a member named
 * display_name, name_ja, name_en, address or phone (the person's name, the
 * registry's), at any depth. */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "api/text.h"

/* Is key a member whose value is free text? */
static bool free_text_key(const char *key)
{
	switch (key[0]) {
	case 'a': return strcmp(key, "address") == 0;
	case 'd': return strcmp(key, "display_name") == 0;
	case 'n':
		return strcmp(key, "name_ja") == 0 ||
		       strcmp(key, "name_en") == 0;
	case 'p': return strcmp(key, "phone") == 0;
	default: return false;
	}
}

static bool string_has(json_t *v, bool free_text)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	return free_text ? api_text_has_individual_number(s, n)
			 : api_is_individual_number(s, n);
}

/* Does v hold an individual number?  With field (the JSON Pointer of v,
 * fieldlen bytes of room) the pointer of the first one goes there; with
 * field NULL no pointer is built at any step: that doubled the cost of a
 * clean document, and a hit is rare. */
static bool scan(json_t *v, bool free_text, char *field, size_t fieldlen)
{
	char here[API_FIELD_MAX];
	char *at = field ? here : NULL;
	const char *key;
	json_t *child;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING: return string_has(v, free_text);
	case JSON_INTEGER:
		return rules_is_individual_number_int(
		    (long long)json_integer_value(v));
	case JSON_ARRAY:
		json_array_foreach(v, i, child) {
			if (field)
				api_pointer_index(here, sizeof here, field, i);
			if (scan(child, free_text, at, sizeof here))
				goto found;
		}
		return false;
	case JSON_OBJECT:
		json_object_foreach(v, key, child) {
			/* Never echo the number itself: point at the object
			 * that holds the key. */
			if (api_is_individual_number(key, strlen(key)))
				return true;
			if (field)
				api_pointer_join(here, sizeof here, field, key);
			if (scan(child, free_text_key(key), at, sizeof here))
				goto found;
		}
		return false;
	default: return false;
	}
found:
	if (field)
		snprintf(field, fieldlen, "%s", here);
	return true;
}

bool api_scan_individual_number(json_t *doc, char *field, size_t fieldlen)
{
	char start[API_FIELD_MAX] = "";
	bool found;

	/* Almost every document is clean: the cheap walk first, the one that
	 * builds the pointer only to say where. */
	found =
	    scan(doc, false, NULL, 0) && scan(doc, false, start, sizeof start);
	api_copy_truncated(field, fieldlen, found ? start : "");
	return found;
}
