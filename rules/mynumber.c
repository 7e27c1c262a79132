/* mynumber.c - recognising an individual number (個人番号) of SPEC §8 so
 * that the service can refuse it.  Only recognition: nothing here keeps,
 * copies out or logs the digits.
 */
#include "rules/rules.h"

#define MYNUMBER_DIGITS 12

/* Decodes one UTF-8 sequence at s[*i..len) strictly (no overlong forms, no
 * surrogates, nothing above U+10FFFF).  Returns the code point and advances
 * *i, or returns -1. */
static long mynumber_utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	long cp, min;
	size_t n, k;

	if (c < 0x80) {
		*i += 1;
		return c;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 1;
		cp = c & 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 2;
		cp = c & 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 3;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	if (len - *i <= n)
		return -1;
	for (k = 1; k <= n; k++) {
		unsigned char cc = s[*i + k];

		if ((cc & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (cc & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	*i += n + 1;
	return cp;
}

static bool mynumber_is_separator(long cp)
{
	return cp == 0x20 || cp == 0x3000 || cp == 0x2D ||
	       (cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 || cp == 0xFF0D ||
	       cp == 0x30FC;
}

/* digits[0..11], most significant first. */
static bool mynumber_check(const int *digits)
{
	int sum = 0;
	int n, r;

	/* P(n) is the n-th of the first 11 digits counted from the right;
	 * Q(n) = n + 1 for n <= 6, n - 5 for n >= 7. */
	for (n = 1; n <= 11; n++) {
		int p = digits[11 - n];
		int q = n <= 6 ? n + 1 : n - 5;

		sum += p * q;
	}
	r = sum % 11;
	return digits[11] == (r <= 1 ? 0 : 11 - r);
}

bool rules_is_individual_number(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	int digits[MYNUMBER_DIGITS];
	int n = 0;
	size_t i = 0;

	if (s == NULL)
		return false;
	while (i < len) {
		long cp = mynumber_utf8_next(u, len, &i);

		if (cp < 0)
			return false;
		if (mynumber_is_separator(cp))
			continue;
		if (cp >= '0' && cp <= '9')
			cp -= '0';
		else if (cp >= 0xFF10 && cp <= 0xFF19)
			cp -= 0xFF10;
		else
			return false;
		if (n == MYNUMBER_DIGITS)
			return false;
		digits[n++] = (int)cp;
	}
	return n == MYNUMBER_DIGITS && mynumber_check(digits);
}

bool rules_is_individual_number_int(long long n)
{
	int digits[MYNUMBER_DIGITS];
	int i;

	/* A JSON integer has no leading zeros, so 12 digits means this range. */
	if (n < 100000000000LL || n > 999999999999LL)
		return false;
	for (i = MYNUMBER_DIGITS - 1; i >= 0; i--) {
		digits[i] = (int)(n % 10);
		n /= 10;
	}
	return mynumber_check(digits);
}
