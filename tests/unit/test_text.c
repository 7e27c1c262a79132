/* test_text.c - individual numbers in disguise (SPEC §8) and control
 * characters in stored text (api/text.c), and text made safe for a
 * terminal (api/buf.c). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unictype.h>
#include <uninorm.h>

#include "api/internal.h"
#include "api/text.h"

/* 502258532061 is valid (the example); 502258532062 is not. */
struct text_case {
	const char *s;
	bool whole; /* api_is_individual_number */
	bool run;   /* api_text_has_individual_number */
};

static const struct text_case number_cases[] = {
    /* plain, and every separator class */
    {"502258532061", true, true},
    {"5022 5853 2061", true, true},
    {" 502258532061 ", true, true},
    {"5022-5853-2061", true, true},
    {"5022.5853.2061", true, true},
    {"5022_5853_2061", true, true},
    {"5022/5853/2061", true, true},
    {"5022,5853,2061", true, true},
    {"5022~5853~2061", true, true},
    {"5022\u00A05853\u00A02061", true, true},   /* NO-BREAK SPACE (Zs) */
    {"5022\u30005853\u30002061", true, true},   /* IDEOGRAPHIC SPACE */
    {"5022\u202F5853\u20092061", true, true},   /* narrow, thin space */
    {"5022\u00AD5853\u00AD2061", true, true},   /* SOFT HYPHEN (Cf) */
    {"5022\u200B5853\u200B2061", true, true},   /* ZERO WIDTH SPACE */
    {"5022\u20605853\uFEFF2061", true, true},   /* WORD JOINER, BOM */
    {"5022\u202E5853\u20662061", true, true},   /* bidi (Cf) */
    {"5022\uFF705853\uFF702061", true, true},   /* HALFWIDTH ｰ */
    {"5022\u30FC5853\u30FC2061", true, true},   /* ー */
    {"5022\uFE635853\uFE632061", true, true},   /* SMALL HYPHEN-MINUS */
    {"5022\u301C5853\u301C2061", true, true},   /* WAVE DASH (Pd) */
    {"5022\uFF5E5853\uFF5E2061", true, true},   /* FULLWIDTH TILDE */
    {"5022\u22125853\u20142061", true, true},   /* MINUS SIGN, EM DASH */
    {"5022\u20105853\u20152061", true, true},   /* HYPHEN, BAR */
    {"5022\uFF0D5853\uFF0E2061", true, true},   /* full-width - . */
    {"5022\uFF0F5853\uFF0C2061", true, true},   /* full-width / , */
    {"5022\uFF3F5853\u30FB2061", false, false}, /* ＿, but ・ is Po */
    {"5022\uFF3F5853\uFF3F2061", true, true},
    /* every digit class */
    {"\uFF15\uFF10\uFF12\uFF12\uFF15\uFF18\uFF15\uFF13\uFF12\uFF10\uFF16"
     "\uFF11",
     true, true}, /* full-width */
    {"\U0001D7D3\U0001D7CE\U0001D7D0\U0001D7D0\U0001D7D3\U0001D7D6"
     "\U0001D7D3\U0001D7D1\U0001D7D0\U0001D7CE\U0001D7D4\U0001D7CF",
     true, true}, /* MATHEMATICAL BOLD */
    {"\U0001D7FB\U0001D7F6\U0001D7F8\U0001D7F8 \U0001D7FB\U0001D7FE"
     "\U0001D7FB\U0001D7F9 \U0001D7F8\U0001D7F6\U0001D7FC\U0001D7F7",
     true, true}, /* MATHEMATICAL MONOSPACE, spaced */
    {"\u0665\u0660\u0662\u0662\u0665\u0668\u0665\u0663\u0662\u0660\u0666"
     "\u0661",
     true, true}, /* ARABIC-INDIC */
    {"\u06F5\u06F0\u06F2\u06F2-\u06F5\u06F8\u06F5\u06F3-\u06F2\u06F0\u06F6"
     "\u06F1",
     true, true}, /* EXTENDED ARABIC-INDIC */
    {"\u096B\u0966\u0968\u0968\u096B\u096E\u096B\u0969\u0968\u0966\u096C"
     "\u0967",
     true, true},                                      /* DEVANAGARI */
    {"5\uFF10\u0662\U0001D7D0 5853 2061", true, true}, /* mixed */
    {"\u246402258532061", true, true},                 /* ⑤ (NFKC: 5) */
    {"\u2075\u2070\u00B2\u00B2\u2075\u2078\u2075\u00B3\u00B2\u2070\u2076"
     "\u00B9",
     true, true}, /* superscripts */
    {"123456789018", true, true},
    /* not 12 digits with a valid check digit */
    {"50225853206", false, false},
    {"5022585320611", false, false},
    {"502258532062", false, false},
    {"\uFF15\uFF10\uFF12\uFF12\uFF15\uFF18\uFF15\uFF13\uFF12\uFF10\uFF16"
     "\uFF12",
     false, false},
    {"", false, false},
    {"\u00A0\u200B", false, false},
    /* another character in between: not a whole value; the runs are
     * shorter than 12 */
    {"5022\t5853\t2061", false, false},
    {"5022\n5853\n2061", false, false},
    {"5022:5853:2061", false, false},
    {"5022;5853;2061", false, false},
    {"(5022)5853-2061", false, false},
    {"5\u03010225853 2061", false, false}, /* combining acute accent */
    {"5022\u30FB5853\u30FB2061", false, false},
    /* free text */
    {"\u500b\u4eba\u756a\u53f7502258532061", false, true}, /* 個人番号… */
    {"\u500b\u4eba\u756a\u53f7\uFF1A5022-5853-2061\u3067\u3059", false, true},
    {"\u5c71\u7530 5022 5853 2061 \u69d8", false, true},
    {"No.\U0001D7D3\U0001D7CE\U0001D7D0\U0001D7D0\U0001D7D3\U0001D7D6"
     "\U0001D7D3\U0001D7D1\U0001D7D0\U0001D7CE\U0001D7D4\U0001D7CF",
     false, true},
    {"tel 502258532061, fax 03-1234-5678", false, true},
    {"+502258532061", false, true},
    {"502258532061\xff", false, true}, /* invalid UTF-8: U+FFFD */
    {"\u500b\u4eba\u756a\u53f75022585320611", false, false}, /* 13 */
    {"\u500b\u4eba\u756a\u53f7502258532062", false, false},
    {"1234567890123", false, false}, /* a JAN code */
    /* what addresses, phones and dates look like */
    {"03-1234-5678", false, false},
    {"\uFF10\uFF13\uFF0D\uFF11\uFF12\uFF13\uFF14\uFF0D\uFF15\uFF16\uFF17"
     "\uFF18",
     false, false},
    {"2026-11-30", false, false},
    {"2026/11/30 10:00", false, false},
    {"TEL 03-1234-5678 / FAX 03-1234-5679", false, false},
    {"03-1234-5678, 03-1234-5679", false, false},
    {"\u3012100-0005 \u6771\u4eac\u90fd\u5343\u4ee3\u7530\u533a\u4e38\u306e"
     "\u51851-1-1",
     false, false},
    {"\u5c71\u7530 \u592a\u90ce", false, false},
};

Test(text, individual_numbers_in_disguise)
{
	size_t i;

	for (i = 0; i < sizeof number_cases / sizeof number_cases[0]; i++) {
		const struct text_case *c = &number_cases[i];

		cr_expect_eq(api_is_individual_number(c->s, strlen(c->s)),
			     c->whole, "case %zu \"%s\": whole", i, c->s);
		cr_expect_eq(api_text_has_individual_number(c->s, strlen(c->s)),
			     c->run, "case %zu \"%s\": free text", i, c->s);
	}
}

Test(text, uses_len_and_embedded_nul)
{
	cr_expect(api_is_individual_number("502258532061999", 12));
	cr_expect_not(api_is_individual_number("502258532061", 11));
	cr_expect_not(api_is_individual_number("502258\0"
					       "532061",
					       13));
	cr_expect(api_text_has_individual_number("\0"
						 "502258532061",
						 13));
	cr_expect_not(api_is_individual_number(NULL, 0));
	cr_expect_not(api_text_has_individual_number(NULL, 0));
	/* A sequence cut by len is invalid (U+FFFD), even if the byte
	 * after it would complete it to "１". */
	cr_expect(api_is_individual_number("50225853206\xef\xbc\x91", 14));
	cr_expect_not(api_is_individual_number("50225853206\xef\xbc\x91", 13));
}

/* Longer than the stack buffers of api/text.c. */
Test(text, long_text)
{
	char s[4096];
	size_t n = 0;

	while (n + 3 < 2000) {
		memcpy(s + n, "\u3042", 3); /* あ */
		n += 3;
	}
	memcpy(s + n, "\uFF15\uFF10\uFF12\uFF12", 12);
	n += 12;
	memcpy(s + n, "58532061", 8);
	n += 8;
	cr_expect(api_text_has_individual_number(s, n));
	cr_expect_not(api_is_individual_number(s, n));
	cr_expect(api_is_individual_number(s + n - 20, 20));
}

static int nd_count(const uint32_t *s, size_t n)
{
	int digits = 0;
	size_t i;

	for (i = 0; i < n; i++)
		digits += uc_is_general_category(s[i], UC_DECIMAL_DIGIT_NUMBER);
	return digits;
}

/* What api/text.c's shortcuts stand on: api_text_nfkc_digits says how
 * many digits NFKC makes of each character, and no character with a
 * canonical decomposition holds a digit in it (so composing never eats or
 * makes one, and a text's digits after NFKC are the sum of its
 * characters'). */
Test(text, nfkc_digits_of_every_character)
{
	uint32_t c, buf[64], *out;
	int worst = 0, digits;
	size_t n;

	for (c = 0; c < 0x110000; c++) {
		if (c >= 0xD800 && c <= 0xDFFF)
			continue;
		n = sizeof buf / sizeof buf[0];
		out = u32_normalize(UNINORM_NFKC, &c, 1, buf, &n);
		cr_assert_not_null(out);
		digits = nd_count(out, n);
		if (out != buf)
			free(out);
		if (api_text_nfkc_digits(c) != digits)
			cr_expect_fail("U+%04X: %d digits, NFKC makes %d",
				       (unsigned)c, api_text_nfkc_digits(c),
				       digits);
		if (digits > worst)
			worst = digits;
		n = sizeof buf / sizeof buf[0];
		out = u32_normalize(UNINORM_NFD, &c, 1, buf, &n);
		cr_assert_not_null(out);
		if (!(n == 1 && out[0] == c) && nd_count(out, n) > 0)
			cr_expect_fail("U+%04X decomposes canonically to a "
				       "digit",
				       (unsigned)c);
		/* ... and what composes from an ASCII letter is a letter
		 * (api_is_individual_number stops at one). */
		if (!(n == 1 && out[0] == c) && out[0] < 0x80 &&
		    ((out[0] | 0x20) >= 'a' && (out[0] | 0x20) <= 'z') &&
		    !uc_is_general_category(c, UC_CATEGORY_L))
			cr_expect_fail("U+%04X composes from a letter",
				       (unsigned)c);
		if (out != buf)
			free(out);
	}
	cr_expect_eq(worst, 3); /* U+2152 ⅒ */
}

Test(text, control_characters)
{
	static const struct {
		const char *s;
		size_t n; /* 0: strlen */
		bool bad;
	} cases[] = {
	    {"", 0, false},
	    {"abc", 0, false},
	    {"\u5c71\u7530 \u82b1\u5b50", 0, false},
	    {"\u00A0\u00AD\u200B\u200E\u200F", 0, false}, /* not controls */
	    {"\u2029\u202F\u2065\u206A", 0, false},
	    {"\xc2\xa0", 0, false},
	    {"x\x01", 0, true},
	    {"a\nb", 0, true},
	    {"a\rb", 0, true},
	    {"\t", 0, true},
	    {"\x1b]0;pwned\x07\x1b[2J", 0, true},
	    {"\x7f", 0, true},
	    {"\xc2\x80", 0, true}, /* U+0080 */
	    {"\xc2\x85", 0, true}, /* NEL */
	    {"\xc2\x9b"
	     "2J",
	     0, true}, /* CSI */
	    {"\xc2\x9f", 0, true},
	    {"a\u202Ab", 0, true},
	    {"a\u202Eb", 0, true},
	    {"a\u2066b", 0, true},
	    {"a\u2069b", 0, true},
	    {"x\0y", 3, true},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = cases[i].n ? cases[i].n : strlen(cases[i].s);

		cr_expect_eq(api_text_has_control(cases[i].s, n), cases[i].bad,
			     "case %zu", i);
	}
}

Test(text, urls)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
	    {"http://x", true},
	    {"https://example.org/his", true},
	    {"HTTPS://Example.ORG/a?b=c#d", true},
	    {"https://\u4f8b.jp/", true},
	    {"javascript:alert(1)", false},
	    {"JavaScript://x/%0aalert(1)", false},
	    {"data:text/html,<script>", false},
	    {"ftp://x", false},
	    {"http://", false},
	    {"https://", false},
	    {"https:///x", false},
	    {"http://a b", false},
	    {" http://x", false},
	    {"//x", false},
	    {"http:x", false},
	    {"http://x\n", false},
	    {"http://x\u202E", false},
	    {"", false},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		cr_expect_eq(api_text_url_ok(cases[i].s, strlen(cases[i].s)),
			     cases[i].ok, "case %zu \"%s\"", i, cases[i].s);
}

Test(text, safe_for_a_terminal)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
	    {"", ""},
	    {"plain", "plain"},
	    {"\u5168\u56fd\u5065\u5eb7\u4fdd\u967a\u5354\u4f1a",
	     "\u5168\u56fd\u5065\u5eb7\u4fdd\u967a\u5354\u4f1a"},
	    {"a\x1b]0;T\x07"
	     "b",
	     "a\uFFFD]0;T\uFFFDb"},
	    {"\x1b[2J", "\uFFFD[2J"},
	    {"l1\nl2\r\t", "l1\uFFFDl2\uFFFD\uFFFD"},
	    {"x\x7fy", "x\uFFFDy"},
	    {"\xc2\x9b"
	     "2J",
	     "\uFFFD2J"},
	    {"x\u202Ey\u2066z", "x\uFFFDy\uFFFDz"},
	    {"\u00A0\u200B", "\u00A0\u200B"},
	    {"bad\xff", "bad\uFFFD"},
	    {"cut\xe3\x81", "cut\uFFFD\uFFFD"},
	    {"\xc0\xae", "\uFFFD\uFFFD"},           /* overlong */
	    {"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, /* surrogate */
	};
	struct api_buf b;
	char dst[64];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		api_buf_init(&b, 1024);
		api_buf_add_text_safe(&b, cases[i].in, strlen(cases[i].in));
		cr_assert_not(b.failed);
		cr_expect_str_eq(b.data ? b.data : "", cases[i].out, "case %zu",
				 i);
		api_buf_fini(&b);
		api_copy_text_safe(dst, sizeof dst, cases[i].in);
		cr_expect_str_eq(dst, cases[i].out, "case %zu (copy)", i);
	}
	/* A copy is cut at a character, never inside one. */
	api_copy_text_safe(dst, 6, "\u65e5\u672c");
	cr_expect_str_eq(dst, "\u65e5");
	api_copy_text_safe(dst, 4, "a\x1b");
	cr_expect_str_eq(dst, "a");
	api_copy_text_safe(dst, 1, "abc");
	cr_expect_str_eq(dst, "");
}
