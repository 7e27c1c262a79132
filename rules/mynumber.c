/* mynumber.c - recognising an individual number (個人番号) of SPEC §8 so
 * that the service can refuse it: the check digit, the reader of runs of
 * digits, and the reading of ASCII text.  Only recognition: nothing here
 * keeps, copies out or logs the digits. */
#include "rules/rules.h"

/* Class of each ASCII byte: a digit's value, a separator, or other. */
#define S RULES_MYNUMBER_SEPARATOR
#define O RULES_MYNUMBER_OTHER
static const signed char ascii_class[128] = {
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0x00 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0x10 */
    S, O, O, O, O, O, O, O, O, O, O, O, S, S, S, S, /* ' ' , - . / */
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, O, O, O, O, O, O, /* 0-9 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0x40 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, S, /* _ */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* 0x60 */
    O, O, O, O, O, O, O, O, O, O, O, O, O, O, S, O, /* ~ */
};
#undef S
#undef O

int rules_mynumber_ascii_class(unsigned char c)
{
	return c < 128 ? ascii_class[c] : RULES_MYNUMBER_OTHER;
}

bool rules_mynumber_check(const unsigned char d[RULES_MYNUMBER_DIGITS])
{
	int sum = 0;
	int n, r;

	/* P(n) is the n-th of the first 11 digits counted from the right;
	 * Q(n) = n + 1 for n <= 6, n - 5 for n >= 7. */
	for (n = 1; n <= 11; n++) {
		int p = d[11 - n];
		int q = n <= 6 ? n + 1 : n - 5;

		sum += p * q;
	}
	r = sum % 11;
	return d[11] == (r <= 1 ? 0 : 11 - r);
}

void rules_mynumber_reader_init(struct rules_mynumber_reader *r)
{
	r->n = 0;
	r->other = false;
	r->run = false;
	r->whole = false;
}

static void reader_end_run(struct rules_mynumber_reader *r)
{
	if (r->n == RULES_MYNUMBER_DIGITS && rules_mynumber_check(r->d))
		r->run = true;
	r->n = 0;
}

void rules_mynumber_reader_add(struct rules_mynumber_reader *r, int cls)
{
	if (cls >= 0) {
		if (r->n < RULES_MYNUMBER_DIGITS)
			r->d[r->n] = (unsigned char)cls;
		if (r->n <= RULES_MYNUMBER_DIGITS)
			r->n++;
	} else if (cls == RULES_MYNUMBER_OTHER) {
		reader_end_run(r);
		r->other = true;
	}
}

void rules_mynumber_reader_end(struct rules_mynumber_reader *r)
{
	reader_end_run(r);
	/* Without another character the text is a single run. */
	r->whole = r->run && !r->other;
}

/* Most texts hold fewer than 12 digits: count them before reading. */
static bool ascii_read(const char *s, size_t len,
		       struct rules_mynumber_reader *r)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, digits = 0;

	if (s == NULL)
		return false;
	for (i = 0; i < len; i++)
		digits += (unsigned)(u[i] - '0') < 10u;
	if (digits < RULES_MYNUMBER_DIGITS)
		return false;
	rules_mynumber_reader_init(r);
	for (i = 0; i < len; i++)
		rules_mynumber_reader_add(r, rules_mynumber_ascii_class(u[i]));
	rules_mynumber_reader_end(r);
	return true;
}

bool rules_is_individual_number_ascii(const char *s, size_t len)
{
	struct rules_mynumber_reader r;

	return ascii_read(s, len, &r) && r.whole;
}

bool rules_has_individual_number_ascii(const char *s, size_t len)
{
	struct rules_mynumber_reader r;

	return ascii_read(s, len, &r) && r.run;
}

bool rules_is_individual_number_int(long long n)
{
	unsigned char digits[RULES_MYNUMBER_DIGITS];
	int i;

	/* A JSON integer has no leading zeros, so 12 digits means this range
	 * (the literal's sign is not a digit). */
	if (n < 0 && n >= -999999999999LL)
		n = -n;
	if (n < 100000000000LL || n > 999999999999LL)
		return false;
	for (i = RULES_MYNUMBER_DIGITS - 1; i >= 0; i--) {
		digits[i] = (unsigned char)(n % 10);
		n /= 10;
	}
	return rules_mynumber_check(digits);
}
