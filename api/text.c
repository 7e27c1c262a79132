/* text.c - individual numbers in disguise (SPEC §8) and the characters no
 * stored text may hold; see text.h.
 *
 * Every string of every request goes through api_is_individual_number, so
 * the common case is kept cheap: one pass counts the digits the text will
 * have after NFKC, and most texts (fewer than 12) end there; ASCII text is
 * then read as it is (NFKC leaves ASCII alone), and only the rest is
 * decoded and normalised (libunistring). */
#include <stdint.h>
#include <stdlib.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "api/text.h"
#include "base/url.h"
#include "rules/rules.h"

/* Characters decoded and normalised on the stack; longer text mallocs. */
#define STACK_CHARS 256

/* The class of a character of NFKC text (see rules.h). */
static int unicode_class(ucs4_t c)
{
	if (c < 128)
		return rules_mynumber_ascii_class((unsigned char)c);
	if (uc_is_general_category(c, UC_DECIMAL_DIGIT_NUMBER))
		return uc_decimal_value(c);
	if (uc_is_general_category(c, UC_SPACE_SEPARATOR) ||
	    uc_is_general_category(c, UC_DASH_PUNCTUATION) ||
	    uc_is_general_category(c, UC_FORMAT))
		return RULES_MYNUMBER_SEPARATOR;
	switch (c) {
	case 0x2212: /* MINUS SIGN */
	case 0x301C: /* WAVE DASH */
	case 0x30FC: /* KATAKANA-HIRAGANA PROLONGED SOUND MARK */
	case 0xFF5E: /* FULLWIDTH TILDE */
	case 0xFF70: /* HALFWIDTH ... PROLONGED SOUND MARK */
		return RULES_MYNUMBER_SEPARATOR;
	default: return RULES_MYNUMBER_OTHER;
	}
}

int api_text_nfkc_digits(unsigned long c)
{
	ucs4_t d[UC_DECOMPOSITION_MAX_LENGTH];
	int tag, n, i, digits = 0;

	if (c < 0x80)
		return c - '0' < 10u;
	/* Kana and CJK ideographs, most of a Japanese text: no digit in any
	 * decomposition (the enclosed and compatibility blocks between them,
	 * U+3200-U+33FF, have: ㉑, ㏠). */
	if ((c >= 0x3040 && c <= 0x31FF) || (c >= 0x3400 && c <= 0x9FFF))
		return 0;
	if (uc_is_general_category((ucs4_t)c, UC_DECIMAL_DIGIT_NUMBER))
		return 1;
	n = uc_decomposition((ucs4_t)c, &tag, d);
	for (i = 0; i < n; i++)
		digits += api_text_nfkc_digits(d[i]);
	return digits;
}

/* Reads s into r (with its windows when windows: rules.h).  Returns 0
 * when r holds the reading, 1 when the text cannot hold 12 digits, or for
 * a whole value (whole) holds a letter (r untouched), -1 when out of
 * memory. */
static int read_text(const char *s, size_t len, bool whole, bool windows,
		     struct rules_mynumber_reader *r)
{
	const uint8_t *u = (const uint8_t *)s;
	uint32_t in_stack[STACK_CHARS], out_stack[2 * STACK_CHARS];
	uint32_t *in = in_stack, *out = NULL;
	size_t i, n, out_len, digits = 0;
	bool ascii = true;
	ucs4_t c;
	int rc = -1;

	if (s == NULL)
		return 1;
	for (i = 0; i < len;) {
		if (u[i] < 0x80) {
			/* Enum values, ids, keys: an ASCII letter stays a
			 * letter under NFKC (alone or composed with what
			 * follows), and a whole value has none. */
			if (whole && (unsigned)((u[i] | 0x20) - 'a') < 26u)
				return 1;
			digits += (unsigned)(u[i] - '0') < 10u;
			i++;
			continue;
		}
		/* u8_mbtouc reads an invalid sequence as U+FFFD. */
		ascii = false;
		i += (size_t)u8_mbtouc(&c, u + i, len - i);
		digits += (size_t)api_text_nfkc_digits(c);
	}
	if (digits < RULES_MYNUMBER_DIGITS)
		return 1;
	rules_mynumber_reader_init(r);
	r->windows = windows;
	if (ascii) {
		/* NFKC changes no ASCII. */
		for (i = 0; i < len; i++)
			rules_mynumber_reader_add(
			    r, rules_mynumber_ascii_class(u[i]));
		rules_mynumber_reader_end(r);
		return 0;
	}
	if (len > STACK_CHARS) {
		in = malloc(len * sizeof *in);
		if (!in)
			return -1;
	}
	for (i = 0, n = 0; i < len; n++) {
		i += (size_t)u8_mbtouc(&c, u + i, len - i);
		in[n] = c;
	}
	out_len = sizeof out_stack / sizeof out_stack[0];
	out = u32_normalize(UNINORM_NFKC, in, n, out_stack, &out_len);
	if (!out)
		goto out;
	for (i = 0; i < out_len; i++)
		rules_mynumber_reader_add(r, unicode_class(out[i]));
	rules_mynumber_reader_end(r);
	rc = 0;
out:
	if (in != in_stack)
		free(in);
	if (out != out_stack)
		free(out);
	return rc;
}

bool api_is_individual_number(const char *s, size_t len)
{
	struct rules_mynumber_reader r;
	int rc = read_text(s, len, true, false, &r);

	return rc < 0 || (rc == 0 && r.whole);
}

bool api_text_has_individual_number(const char *s, size_t len)
{
	struct rules_mynumber_reader r;
	int rc = read_text(s, len, false, false, &r);

	return rc < 0 || (rc == 0 && r.run);
}

bool api_text_may_hold_individual_number(const char *s, size_t len)
{
	struct rules_mynumber_reader r;
	int rc = read_text(s, len, false, true, &r);

	return rc < 0 || (rc == 0 && (r.run || r.window));
}

bool api_text_has_control(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char b = u[i];

		if (b < 0x20 || b == 0x7F)
			return true;
		if (b < 0xC2)
			continue;
		/* C1: U+0080-U+009F are C2 80 - C2 9F. */
		if (b == 0xC2 && i + 1 < len && u[i + 1] <= 0x9F)
			return true;
		/* U+202A-U+202E: E2 80 AA-AE; U+2066-U+2069: E2 81 A6-A9. */
		if (b == 0xE2 && i + 2 < len &&
		    ((u[i + 1] == 0x80 && u[i + 2] >= 0xAA &&
		      u[i + 2] <= 0xAE) ||
		     (u[i + 1] == 0x81 && u[i + 2] >= 0xA6 &&
		      u[i + 2] <= 0xA9)))
			return true;
	}
	return false;
}

bool api_text_url_ok(const char *s, size_t len)
{
	size_t i, host;

	host = base_url_http_prefix(s, len, true);
	if (host == 0)
		return false;
	if (s[host] == '/')
		return false;
	for (i = 0; i < len; i++)
		if (s[i] == ' ')
			return false;
	return !api_text_has_control(s, len);
}
