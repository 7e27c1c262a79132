/* test_rules_mynumber.c - recognising individual numbers (SPEC §8,
 * rules/mynumber.c).  Valid numbers were computed with a separate script. */
#include <criterion/criterion.h>
#include <string.h>

#include "rules/rules.h"

Test(rules_mynumber, strings)
{
	static const struct {
		const char *s;
		bool is;
	} cases[] = {
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
	    {"\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94\xef\xbc\x95\xef"
	     "\xbc\x96"
	     "\xef\xbc\x97\xef\xbc\x98\xef\xbc\x99\xef\xbc\x90\xef\xbc\x91\xef"
	     "\xbc\x98",
	     true}, /* １２３４５６７８９０１８ */
	    {"１２３４　５６７８　９０１８",
	     true}, /* U+3000 ideographic spaces */
	    {"１２３４－５６７８－９０１８", true}, /* U+FF0D */
	    {"1234ー5678ー9018", true}, /* U+30FC prolonged sound mark */
	    {"1234\xe2\x80\x90"
	     "5678\xe2\x80\x95"
	     "9018",
	     true}, /* U+2010, U+2015 */
	    {"1234\xe2\x88\x92"
	     "5678\xe2\x80\x93"
	     "9018",
	     true}, /* U+2212, U+2013 */
	    {"1234\xe2\x80\x96"
	     "56789018",
	     false}, /* U+2016 is no dash */
	    {"1234_5678_9018", false},
	    {"1234.5678.9018", false},
	    {"1234\t5678\t9018", false}, /* tab is not a listed space */
	    {"1234\xc2\xa0"
	     "56789018",
	     false}, /* nor NO-BREAK SPACE */
	    {"+123456789018", false},
	    {"123456789018a", false},
	    {"No.123456789018", false},
	    {"１２３４５６７８９０１７", false}, /* full width, bad check */
	    {"\xd9\xa1"
	     "23456789018",
	     false}, /* ARABIC-INDIC DIGIT ONE */
	    /* invalid UTF-8 is never a number */
	    {"12345678901\xc0\xb8", false}, /* overlong '8' */
	    {"123456789018\xff", false},
	    {"123456789018\xef\xbc", false}, /* truncated sequence */
	    {"\xed\xa0\x80"
	     "123456789018",
	     false}, /* surrogate */
	    {"\xe0\x80\xa0"
	     "123456789018",
	     false}, /* overlong space */
	    {"\xf4\x90\x80\x80"
	     "123456789018",
	     false}, /* above U+10FFFF */
	    {"\x80"
	     "123456789018",
	     false},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(
		    rules_is_individual_number(cases[i].s, strlen(cases[i].s)),
		    cases[i].is, "case %zu \"%s\"", i, cases[i].s);
	}
}

Test(rules_mynumber, uses_len_and_embedded_nul)
{
	cr_expect(rules_is_individual_number("123456789018999", 12));
	cr_expect_not(rules_is_individual_number("123456789018", 11));
	cr_expect_not(rules_is_individual_number("123456\0"
						 "789018",
						 13));
	cr_expect_not(rules_is_individual_number(NULL, 0));
	/* A sequence cut by len is truncated, even if the byte after it
	 * would complete it (here to "８"). */
	cr_expect(rules_is_individual_number("12345678901\xef\xbc\x98", 14));
	cr_expect_not(
	    rules_is_individual_number("12345678901\xef\xbc\x98", 13));
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
			valid += rules_is_individual_number(s, 12);
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
	    {-123456789018LL, false}, {99999999999LL, false},
	    {1000000000000LL, false},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(rules_is_individual_number_int(cases[i].n),
			     cases[i].is, "%lld", cases[i].n);
}
