/* request_id.c - see request_id.h. */
#include "service/request_id.h"

#include <stdint.h>
#include <string.h>

#include "api/api.h"
#include "api/text.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void request_id_new(char *out, double now)
{
	uint64_t ms = now > 0 ? (uint64_t)(now * 1000.0) : 0;
	unsigned char rnd[10];
	uint64_t hi, lo;

	/* 10 characters of time: 50 bits, of which 48 are used */
	for (int i = 9; i >= 0; i--) {
		out[i] = crockford[ms & 31];
		ms >>= 5;
	}
	/* 16 characters of 80 random bits, as two 40-bit halves */
	/* a per-thread generator: no system call per request */
	api_random_bytes(rnd, sizeof rnd);
	hi = lo = 0;
	for (int i = 0; i < 5; i++) {
		hi = hi << 8 | rnd[i];
		lo = lo << 8 | rnd[i + 5];
	}
	for (int i = 7; i >= 0; i--) {
		out[10 + i] = crockford[hi & 31];
		out[18 + i] = crockford[lo & 31];
		hi >>= 5;
		lo >>= 5;
	}
	out[REQUEST_ID_NEW_LEN] = '\0';
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
