/* Unit tests of api/width.c: the display width the worklist's text table
 * aligns its columns by. */
#include <criterion/criterion.h>
#include <string.h>

#include "api/internal.h"

struct width_case {
	const char *text;
	size_t width;
};

static const struct width_case width_cases[] = {
    {"", 0},
    {"demo-001", 8},
    {"山田 花子", 9},                /* CJK ideographs: 2 each */
    {"たなか カナ", 11},             /* hiragana, katakana */
    {"ﾀﾅｶ ﾊﾅｺ", 7},                  /* halfwidth katakana: 1 */
    {"ＡＢ１", 6},                   /* fullwidth forms (F) */
    {"\xe3\x80\x80", 2},             /* U+3000 ideographic space (F) */
    {"\xef\xbd\xa0\xef\xbd\xa1", 3}, /* U+FF60 (F) 2, U+FF61 (H) 1 */
    {"\xe3\x80\xbe\xe3\x80\xbf", 3}, /* U+303E (W) 2, U+303F (N) 1 */
    {"한국어", 6},                   /* hangul syllables */
    {"\xe1\x84\x80\xe1\x85\xa0", 3}, /* U+1100 (W) 2, U+1160 (N) 1 */
    {"𠮷野", 4},                     /* 4-byte UTF-8, plane 2 */
    {"\xf0\xb0\x80\x80", 2},         /* U+30000, plane 3 */
    {"😀", 2},                        /* emoji (W) */
    {"\xe2\x80\xa6", 1},             /* U+2026 … ambiguous: 1 */
    {"e\xcc\x81", 1},                /* e + combining acute: 1 */
    {"葛\xf3\xa0\x84\x80", 2},       /* 葛 + IVS U+E0100: 2 */
    {"\xe3\x81\x8b\xe3\x82\x99", 2}, /* か + combining voiced mark */
    {"a\u200Bb", 2},                 /* zero-width space */
    {"\xff\xfe", 2},                 /* not UTF-8: a column a byte */
    {"\xe5\xb1", 2},                 /* a cut sequence */
    {"\xc0\xaf", 2},                 /* overlong '/' */
    {"\xed\xa0\x80", 3},             /* a surrogate */
};

Test(width, text_width)
{
	size_t i, w;

	for (i = 0; i < sizeof width_cases / sizeof width_cases[0]; i++) {
		const struct width_case *c = &width_cases[i];

		w = api_text_width(c->text);
		cr_expect_eq(w, c->width, "case %zu: %zu columns, not %zu", i,
			     w, c->width);
	}
}

Test(width, decode)
{
	uint32_t cp = 0;

	cr_expect_eq(api_utf8_decode("\xe5\xb1\xb1", 3, &cp), 3);
	cr_expect_eq(cp, 0x5C71);
	cr_expect_eq(api_utf8_decode("\xf0\xa0\xae\xb7", 4, &cp), 4);
	cr_expect_eq(cp, 0x20BB7);
	/* the sequence runs past the bytes given */
	cr_expect_eq(api_utf8_decode("\xe5\xb1\xb1", 2, &cp), 1);
	cr_expect_eq(cp, 0xFFFD);
	cr_expect_eq(api_utf8_decode("\xf4\x90\x80\x80", 4, &cp), 1);
	cr_expect_eq(cp, 0xFFFD);
}

struct prefix_case {
	const char *text;
	size_t cols, bytes, width;
};

static const struct prefix_case prefix_cases[] = {
    {"", 5, 0, 0},
    {"abc", 10, 3, 3},
    {"abc", 2, 2, 2},
    {"山田 花子", 4, 6, 4},
    {"山田 花子", 3, 3, 2}, /* never half of 田 */
    {"山田 花子", 5, 7, 5},
    {"a𠮷b", 2, 1, 1}, /* never a part of a 4-byte sequence */
    {"a𠮷b", 3, 5, 3},
    {"葛\xf3\xa0\x84\x80子", 2, 7, 2}, /* the selector stays with 葛 */
    {"山田", 0, 0, 0},
};

Test(width, text_prefix)
{
	size_t i, n, w;

	for (i = 0; i < sizeof prefix_cases / sizeof prefix_cases[0]; i++) {
		const struct prefix_case *c = &prefix_cases[i];

		w = 99;
		n = api_text_prefix(c->text, c->cols, &w);
		cr_expect_eq(n, c->bytes, "case %zu: %zu bytes, not %zu", i, n,
			     c->bytes);
		cr_expect_eq(w, c->width, "case %zu: width %zu, not %zu", i, w,
			     c->width);
	}
}
