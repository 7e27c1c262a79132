/* test_rules_mynumber.c - recognising individual numbers (SPEC §8,
 * rules/mynumber.c: the check digit, the reader of runs, ASCII text).
 * Valid numbers were computed with a separate script. */
#include <criterion/criterion.h>
#include <string.h>

#include "rules/rules.h"

/* A text and what the function under test says of it. */
struct ascii_case {
	const char *s;
	bool want;
};

/* The ASCII reading: api/text.c reads the rest of Unicode (test_text.c). */
Test(rules_mynumber, ascii_strings)
{
	static const struct ascii_case cases[] = {
	    {"123456789018", true},
	    {"111111111118", true},
	    {"000000000000", true},
	    {"987654321093", true},
	    {"100000000005", true},
	    {"999999999996", true},
	    {"314159265352", true},
	    {"123456789017", false}, /* wrong check digit */
	    {"123456789019", false},
	    {"111111111111", false},
	    {"12345678901", false},   /* 11 digits */
	    {"1234567890180", false}, /* 13 digits */
	    {"0123456789018", false},
	    {"", false},
	    {"   ", false},
	    {"1234 5678 9018", true},
	    {"1234-5678-9018", true},
	    {" 123456789018 ", true},
	    {"1-2-3-4-5-6-7-8-9-0-1-8", true},
	    {"1234_5678_9018", true},
	    {"1234.5678.9018", true},
	    {"8647.7053.9530", true},
	    {"1234/5678/9018", true},
	    {"1234,5678,9018", true},
	    {"1234~5678~9018", true}, /* U+FF5E after NFKC */
	    {"-._/,~ 123456789018 ~,/_.-", true},
	    {"1234\t5678\t9018", false}, /* tab is no separator */
	    {"1234\n5678\n9018", false},
	    {"1234:5678:9018", false},
	    {"1234;5678;9018", false},
	    {"+123456789018", false},
	    {"123456789018a", false},
	    {"No.123456789018", false},
	    {"03-1234-5678", false},
	    {"2026-11-30", false},
	    /* a byte >= 0x80 is another character here */
	    {"123456789018\xff", false},
	    {"\x80"
	     "123456789018",
	     false},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(rules_is_individual_number_ascii(
				 cases[i].s, strlen(cases[i].s)),
			     cases[i].want, "case %zu \"%s\"", i, cases[i].s);
		/* A whole value is also a run of itself. */
		if (cases[i].want)
			cr_expect(rules_has_individual_number_ascii(
				      cases[i].s, strlen(cases[i].s)),
				  "case %zu", i);
	}
}

/* Free text: a run of exactly 12 digits between other characters. */
Test(rules_mynumber, ascii_runs)
{
	static const struct ascii_case cases[] = {
	    {"No.123456789018", true},
	    {"id 1234-5678-9018 (old)", true},
	    {"x123456789018x", true},
	    {"a 1234 b 123456789018", true},
	    {"123456789018a1", true},
	    {"a\x80"
	     "123456789018",
	     true},
	    {"x1234567890180x", false}, /* 13 digits */
	    {"x12345678901x", false},   /* 11 */
	    {"x123456789017x", false},  /* check digit */
	    {"tel 03-1234-5678 / fax 03-1234-5679", false},
	    {"03-1234-5678, 03-1234-5679", false}, /* one run of 20 */
	    {"2026-11-30 10:00", false},
	    {"1234:5678:9018", false},
	    {"", false},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(rules_has_individual_number_ascii(
				 cases[i].s, strlen(cases[i].s)),
			     cases[i].want, "case %zu \"%s\"", i, cases[i].s);
}

Test(rules_mynumber, uses_len_and_embedded_nul)
{
	/* what is and has answer of s[0..n) (-1: not asked) */
	static const struct {
		const char *s;
		size_t n;
		int is, has;
	} cases[] = {
	    {"123456789018999", 12, 1, -1},
	    {"123456789018", 11, 0, -1},
	    {"123456\0"
	     "789018",
	     13, 0, -1},
	    {"\0"
	     "123456789018",
	     13, -1, 1},
	    {NULL, 0, 0, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].is >= 0)
			cr_expect_eq(rules_is_individual_number_ascii(
					 cases[i].s, cases[i].n),
				     cases[i].is, "case %zu", i);
		if (cases[i].has >= 0)
			cr_expect_eq(rules_has_individual_number_ascii(
					 cases[i].s, cases[i].n),
				     cases[i].has, "case %zu", i);
	}
}

/* The reader on its own: classes in, runs out. */
Test(rules_mynumber, reader)
{
	static const unsigned char n[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 8};
	struct rules_mynumber_reader r;
	int i;

	rules_mynumber_reader_init(&r);
	rules_mynumber_reader_add(&r, RULES_MYNUMBER_SEPARATOR);
	for (i = 0; i < 12; i++) {
		rules_mynumber_reader_add(&r, n[i]);
		rules_mynumber_reader_add(&r, RULES_MYNUMBER_SEPARATOR);
	}
	rules_mynumber_reader_end(&r);
	cr_expect(r.run);
	cr_expect(r.whole);

	rules_mynumber_reader_init(&r);
	rules_mynumber_reader_add(&r, RULES_MYNUMBER_OTHER);
	for (i = 0; i < 12; i++)
		rules_mynumber_reader_add(&r, n[i]);
	rules_mynumber_reader_end(&r);
	cr_expect(r.run);
	cr_expect_not(r.whole);

	/* 13 digits, then 12 more after another character: the second run
	 * counts, and a 14th digit never wraps the count around. */
	rules_mynumber_reader_init(&r);
	for (i = 0; i < 14; i++)
		rules_mynumber_reader_add(&r, 1);
	rules_mynumber_reader_add(&r, RULES_MYNUMBER_OTHER);
	rules_mynumber_reader_end(&r);
	cr_expect_not(r.run);
	for (i = 0; i < 12; i++)
		rules_mynumber_reader_add(&r, n[i]);
	rules_mynumber_reader_end(&r);
	cr_expect(r.run);
}

/* Exactly one of the ten last digits completes a given 11-digit prefix. */
Test(rules_mynumber, one_check_digit_per_prefix)
{
	static const char *const prefixes[] = {"12345678901", "00000000000",
					       "98765432109", "55555555555",
					       "31415926535", "27182818284"};
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		char s[13];
		int c, valid = 0;

		memcpy(s, prefixes[i], 11);
		s[12] = '\0';
		for (c = 0; c <= 9; c++) {
			s[11] = (char)('0' + c);
			valid += rules_is_individual_number_ascii(s, 12);
		}
		cr_expect_eq(valid, 1, "%s", prefixes[i]);
	}
}

Test(rules_mynumber, integers)
{
	static const struct {
		long long n;
		bool is;
	} cases[] = {
	    {123456789018LL, true},   {111111111118LL, true},
	    {987654321093LL, true},   {100000000005LL, true},
	    {999999999996LL, true},   {123456789017LL, false},
	    {100000000000LL, false},  {12345678901LL, false},
	    {1234567890180LL, false}, {0, false},
	    {-123456789018LL, true},  {-123456789017LL, false},
	    {-12345678901LL, false},  {99999999999LL, false},
	    {1000000000000LL, false},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(rules_is_individual_number_int(cases[i].n),
			     cases[i].is, "%lld", cases[i].n);
}
