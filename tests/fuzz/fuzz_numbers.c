/* fuzz_numbers.c - the number and date validators on arbitrary bytes, with
 * properties checked against plain re-implementations:
 *   - an insurer number that parses has 6 or 8 ASCII digits, a prefecture
 *     01-47 and the check digit of SPEC §5;
 *   - a 12-ASCII-digit string is an individual number exactly when its
 *     check digit is that of SPEC §8;
 *   - the reading of SPEC §8 (api/text.c, with its shortcuts: the digit
 *     count before NFKC, ASCII read as it is, a letter ending a whole
 *     value; and rules/'s ASCII reading) agrees with reference() below, on
 *     whole values and on free text;
 *   - a date that parses formats back to the same 10 bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "api/text.h"
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

/* SPEC §8 as plainly as it can be written: decode (an invalid sequence
 * is U+FFFD), NFKC, then each character is a digit, a separator or
 * something else. */
#define REF_SEPARATOR (-1)
#define REF_OTHER     (-2)

static int ref_class(uint32_t c)
{
	static const uint32_t listed[] = {'.',    '_',    '/',    ',',
					  '~',    0x2212, 0x30FC, 0xFF70,
					  0x301C, 0xFF5E};
	size_t i;

	if (uc_is_general_category(c, UC_DECIMAL_DIGIT_NUMBER))
		return uc_decimal_value(c);
	if (uc_is_general_category(c, UC_SPACE_SEPARATOR) ||
	    uc_is_general_category(c, UC_DASH_PUNCTUATION) ||
	    uc_is_general_category(c, UC_FORMAT))
		return REF_SEPARATOR;
	for (i = 0; i < sizeof listed / sizeof listed[0]; i++)
		if (c == listed[i])
			return REF_SEPARATOR;
	return REF_OTHER;
}

/* 12 digit values with the check digit of SPEC §8. */
static bool ref_valid(const int *d, int n)
{
	char s[12];
	int i;

	if (n != 12)
		return false;
	for (i = 0; i < 12; i++)
		s[i] = (char)('0' + d[i]);
	return mynumber_check(s) == d[11];
}

/* *whole: nothing but digits and separators, exactly 12 valid digits.
 * *run: some stretch between two other characters (or the ends) holds
 * exactly 12 valid digits.  False when memory runs out. */
static bool reference(const uint8_t *s, size_t size, bool *whole, bool *run)
{
	uint32_t *in = malloc((size + 1) * sizeof *in), *nf = NULL;
	int *digits = NULL;
	size_t n = 0, i, nf_len = 0;
	int all = 0, here = 0, cls;
	bool other = false;
	ucs4_t c;

	*whole = *run = false;
	if (!in)
		goto fail;
	for (i = 0; i < size; n++) {
		i += (size_t)u8_mbtouc(&c, s + i, size - i);
		in[n] = c;
	}
	nf = u32_normalize(UNINORM_NFKC, in, n, NULL, &nf_len);
	if (!nf && n)
		goto fail;
	digits = malloc((nf_len + 1) * sizeof *digits);
	if (!digits)
		goto fail;
	/* digits[0..all) of the whole text; the current stretch starts at
	 * all - here */
	for (i = 0; i <= nf_len; i++) {
		cls = i < nf_len ? ref_class(nf[i]) : REF_OTHER;
		if (cls >= 0) {
			digits[all++] = cls;
			here++;
		} else if (cls == REF_OTHER) {
			if (ref_valid(digits + all - here, here))
				*run = true;
			here = 0;
			if (i < nf_len)
				other = true;
		}
	}
	*whole = !other && ref_valid(digits, all);
	free(in);
	free(nf);
	free(digits);
	return true;
fail:
	free(in);
	free(nf);
	free(digits);
	return false;
}

static bool is_ascii(const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] >= 0x80)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct rules_insurer ins;
	bool is_number, whole, run;
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
	is_number = api_is_individual_number(s, size);
	if (reference(data, size, &whole, &run)) {
		if (is_number != whole ||
		    api_text_has_individual_number(s, size) != run)
			abort();
		if (is_ascii(data, size) &&
		    (rules_is_individual_number_ascii(s, size) != whole ||
		     rules_has_individual_number_ascii(s, size) != run))
			abort();
	}
	if (size == 12 && all_digits(s, 12)) {
		/* Plain digits: exactly the check digit of SPEC §8, and the
		 * same answer for the JSON integer of those digits. */
		if (is_number != (mynumber_check(s) == s[11] - '0'))
			abort();
		if (s[0] != '0' &&
		    (rules_is_individual_number_int(twelve(s)) != is_number ||
		     rules_is_individual_number_int(-twelve(s)) != is_number))
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
