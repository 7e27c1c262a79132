/* request_id.c - see request_id.h. */
#include "service/request_id.h"

#include <string.h>

#include "api/api.h"
#include "api/text.h"
#include "base/ulid.h"

void request_id_new(char *out, double now)
{
	base_ulid_new(out, now);
}

enum request_id_verdict request_id_judge(const char *value)
{
	size_t n;

	if (value == NULL)
		return REQUEST_ID_ABSENT;
	n = strnlen(value, REQUEST_ID_MAX + 1);
	/* The individual-number test comes first: "1234-5678-9018" style
	 * values are well-formed ids too, and must still be flagged. */
	if (api_is_individual_number(value, strlen(value)))
		return REQUEST_ID_INDIVIDUAL_NUMBER;
	if (n == 0 || n > REQUEST_ID_MAX)
		return REQUEST_ID_MALFORMED;
	for (size_t i = 0; i < n; i++) {
		char c = value[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return REQUEST_ID_MALFORMED;
	}
	return REQUEST_ID_ACCEPTED;
}

void request_id_pick(const char *header, double now, char *out,
		     bool *is_individual_number)
{
	enum request_id_verdict v = request_id_judge(header);

	*is_individual_number = v == REQUEST_ID_INDIVIDUAL_NUMBER;
	if (v == REQUEST_ID_ACCEPTED) {
		size_t n = strlen(header);

		memcpy(out, header, n + 1);
		return;
	}
	request_id_new(out, now);
}
