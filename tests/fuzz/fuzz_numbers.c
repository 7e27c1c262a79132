/* fuzz_numbers.c - the number and date validators on arbitrary bytes, with
 * properties checked against plain re-implementations:
 *   - an insurer number that parses has 6 or 8 ASCII digits, a prefecture
 *     01-47 and the check digit of SPEC §5;
 *   - a 12-ASCII-digit string is an individual number exactly when its
 *     check digit is that of SPEC §8;
 *   - a date that parses formats back to the same 10 bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int insurer_check(const char *d, size_t n)
{
	int sum = 0, w = 2, p;
	size_t i;

	for (i = n; i-- > 0;) {
		p = (d[i] - '0') * w;
		sum += p / 10 + p % 10;
		w = w == 2 ? 1 : 2;
	}
	return (10 - sum % 10) % 10;
}

static int mynumber_check(const char *d)
{
	int r = 0, n, q;

	for (n = 1; n <= 11; n++) {
		q = n <= 6 ? n + 1 : n - 5;
		r += (d[11 - n] - '0') * q;
	}
	r %= 11;
	return r <= 1 ? 0 : 11 - r;
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* The value of 12 ASCII digits (no NUL needed). */
static long long twelve(const char *s)
{
	long long v = 0;
	int i;

	for (i = 0; i < 12; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct rules_insurer ins;
	bool is_number;
	char buf[11];
	int32_t day;
	int pref;

	if (rules_insurer_parse(s, size, &ins) == RULES_INSURER_OK) {
		if ((size != 6 && size != 8) || !all_digits(s, size))
			abort();
		/* The check digit re-validates, by the library and by hand. */
		if (insurer_check(s, size - 1) != s[size - 1] - '0' ||
		    rules_insurer_check_digit(s, size - 1) != s[size - 1] - '0')
			abort();
		pref = size == 6 ? (s[0] - '0') * 10 + (s[1] - '0')
				 : (s[2] - '0') * 10 + (s[3] - '0');
		if (ins.prefecture != pref || pref < 1 || pref > 47 ||
		    memcmp(ins.number, s, size) != 0 || ins.number[size])
			abort();
	}
	is_number = rules_is_individual_number(s, size);
	if (size == 12 && all_digits(s, 12)) {
		/* Plain digits: exactly the check digit of SPEC §8, and the
		 * same answer for the JSON integer of those digits. */
		if (is_number != (mynumber_check(s) == s[11] - '0'))
			abort();
		if (s[0] != '0' &&
		    rules_is_individual_number_int(twelve(s)) != is_number)
			abort();
	}
	if (rules_date_parse(s, size, &day) == 0) {
		if (size != 10)
			abort();
		rules_date_format(day, buf);
		if (memcmp(buf, s, 10) != 0)
			abort();
	}
	return 0;
}
