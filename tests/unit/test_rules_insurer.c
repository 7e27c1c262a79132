/* test_rules_insurer.c - insurer numbers, schemes, channels and
 * prefectures (rules/insurer.c, the generated prefecture table). */
#include <criterion/criterion.h>
#include <string.h>

#include "rules/rules.h"

/* Check digits below were computed outside this code base (by hand and
 * with a separate script) from the rule of SPEC §5. */
Test(rules_insurer, valid_numbers)
{
	static const struct {
		const char *number;
		enum rules_scheme scheme;
		int prefecture;
	} cases[] = {
	    {"01040013", RULES_SCHEME_KYOKAI, 4}, /* 協会けんぽ 宮城支部 */
	    {"01130012", RULES_SCHEME_KYOKAI, 13},
	    {"138057", RULES_SCHEME_NHI, 13},
	    {"014704", RULES_SCHEME_NHI, 1},    /* 6 digits: prefecture first */
	    {"00138057", RULES_SCHEME_NHI, 13}, /* zero-padded NHI */
	    {"39132014", RULES_SCHEME_LATE_ELDERLY, 13},
	    {"02130011", RULES_SCHEME_SEAMEN, 13},
	    {"03130010", RULES_SCHEME_DAY_LABORER, 13},
	    {"04130019", RULES_SCHEME_DAY_LABORER, 13},
	    {"06130017", RULES_SCHEME_SOCIETY, 13},
	    {"07130016", RULES_SCHEME_SDF, 13},
	    {"31130016", RULES_SCHEME_MUTUAL_AID, 13},
	    {"34130013", RULES_SCHEME_MUTUAL_AID, 13},
	    {"63130017", RULES_SCHEME_SPECIAL_RETIREE, 13},
	    {"72130016", RULES_SCHEME_SPECIAL_RETIREE, 13},
	    {"75130013", RULES_SCHEME_SPECIAL_RETIREE, 13},
	    {"05130018", RULES_SCHEME_OTHER, 13},
	    {"35130012", RULES_SCHEME_OTHER, 13},
	    {"99130015", RULES_SCHEME_OTHER, 13},
	    {"27130012", RULES_SCHEME_OTHER,
	     13}, /* 法別 27 (老人保健): other */
	    {"12345674", RULES_SCHEME_OTHER, 34},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rules_insurer ins;
		const char *n = cases[i].number;

		memset(&ins, 0x5a, sizeof(ins));
		cr_expect_eq(rules_insurer_parse(n, strlen(n), &ins),
			     RULES_INSURER_OK, "%s", n);
		cr_expect_str_eq(ins.number, n);
		cr_expect_eq(ins.scheme, cases[i].scheme, "%s scheme %d", n,
			     ins.scheme);
		cr_expect_eq(ins.prefecture, cases[i].prefecture, "%s", n);
		cr_expect_eq(rules_insurer_check_digit(n, strlen(n) - 1),
			     n[strlen(n) - 1] - '0', "%s", n);
	}
}

Test(rules_insurer, invalid_numbers_in_check_order)
{
	static const struct {
		const char *number;
		enum rules_insurer_error error;
	} cases[] = {
	    {"", RULES_INSURER_BAD_LENGTH},
	    {"13805", RULES_INSURER_BAD_LENGTH},
	    {"1380570", RULES_INSURER_BAD_LENGTH},
	    {"011300120", RULES_INSURER_BAD_LENGTH},
	    {"123456789018", RULES_INSURER_BAD_LENGTH},
	    {"1380x7", RULES_INSURER_NOT_DIGITS},
	    {"13805 ", RULES_INSURER_NOT_DIGITS},
	    {"-13805", RULES_INSURER_NOT_DIGITS},
	    {"0113001a", RULES_INSURER_NOT_DIGITS},
	    {"39131007", RULES_INSURER_BAD_CHECK_DIGIT}, /* the sample case */
	    {"39132015", RULES_INSURER_BAD_CHECK_DIGIT},
	    {"138058", RULES_INSURER_BAD_CHECK_DIGIT},
	    {"01130013", RULES_INSURER_BAD_CHECK_DIGIT},
	    {"00000000",
	     RULES_INSURER_BAD_PREFECTURE}, /* check digit 0 is right */
	    {"01000017", RULES_INSURER_BAD_PREFECTURE}, /* prefecture 00 */
	    {"01480011", RULES_INSURER_BAD_PREFECTURE}, /* prefecture 48 */
	    {"000018", RULES_INSURER_BAD_PREFECTURE},
	    {"480012", RULES_INSURER_BAD_PREFECTURE},
	    {"999995", RULES_INSURER_BAD_PREFECTURE},
	    {"48001x", RULES_INSURER_NOT_DIGITS}, /* digits before prefecture */
	    {"480013",
	     RULES_INSURER_BAD_CHECK_DIGIT}, /* check digit before prefecture */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rules_insurer ins;
		const char *n = cases[i].number;

		cr_expect_eq(rules_insurer_parse(n, strlen(n), &ins),
			     cases[i].error, "\"%s\"", n);
	}
}

Test(rules_insurer, parse_uses_len)
{
	struct rules_insurer ins;

	cr_expect_eq(rules_insurer_parse("138057999", 6, &ins),
		     RULES_INSURER_OK);
	cr_expect_str_eq(ins.number, "138057");
	cr_expect_eq(rules_insurer_parse("1380\0"
					 "57",
					 6, &ins),
		     RULES_INSURER_NOT_DIGITS);
}

Test(rules_insurer, check_digit)
{
	static const struct {
		const char *digits;
		int check;
	} cases[] = {
	    {"0104001", 3}, {"0113001", 2}, {"13805", 7},   {"3913201", 4},
	    {"3913100", 8}, {"0000000", 0}, {"1234567", 4}, {"9", 1},
	    {"99", 2},      {"", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(rules_insurer_check_digit(cases[i].digits,
						       strlen(cases[i].digits)),
			     cases[i].check, "%s", cases[i].digits);
	}
}

/* Every 法別番号 00-99 maps as the table of SPEC §5 says. */
Test(rules_insurer, scheme_of_every_houbetsu)
{
	int hb;

	for (hb = 0; hb <= 99; hb++) {
		char n[9];
		struct rules_insurer ins;
		enum rules_scheme want = RULES_SCHEME_OTHER;

		n[0] = (char)('0' + hb / 10);
		n[1] = (char)('0' + hb % 10);
		memcpy(n + 2, "27001", 5);
		n[7] = (char)('0' + rules_insurer_check_digit(n, 7));
		n[8] = '\0';
		if (hb == 0)
			want = RULES_SCHEME_NHI;
		else if (hb == 1)
			want = RULES_SCHEME_KYOKAI;
		else if (hb == 2)
			want = RULES_SCHEME_SEAMEN;
		else if (hb == 3 || hb == 4)
			want = RULES_SCHEME_DAY_LABORER;
		else if (hb == 6)
			want = RULES_SCHEME_SOCIETY;
		else if (hb == 7)
			want = RULES_SCHEME_SDF;
		else if (hb >= 31 && hb <= 34)
			want = RULES_SCHEME_MUTUAL_AID;
		else if (hb == 39)
			want = RULES_SCHEME_LATE_ELDERLY;
		else if (hb == 63 || (hb >= 72 && hb <= 75))
			want = RULES_SCHEME_SPECIAL_RETIREE;
		cr_assert_eq(rules_insurer_parse(n, 8, &ins), RULES_INSURER_OK,
			     "%s", n);
		cr_expect_eq(ins.scheme, want, "法別 %02d gave %d", hb,
			     ins.scheme);
		cr_expect_eq(ins.prefecture, 27);
	}
}

/* Every prefecture 01-47 is accepted in both layouts, 00 and 48-99 not. */
Test(rules_insurer, prefecture_range)
{
	int pref;

	for (pref = 0; pref <= 99; pref++) {
		char six[7], eight[9];
		struct rules_insurer ins;
		enum rules_insurer_error want =
		    pref >= 1 && pref <= 47 ? RULES_INSURER_OK
					    : RULES_INSURER_BAD_PREFECTURE;

		six[0] = (char)('0' + pref / 10);
		six[1] = (char)('0' + pref % 10);
		memcpy(six + 2, "123", 3);
		six[5] = (char)('0' + rules_insurer_check_digit(six, 5));
		six[6] = '\0';
		memcpy(eight, "06", 2);
		memcpy(eight + 2, six, 5);
		eight[7] = (char)('0' + rules_insurer_check_digit(eight, 7));
		eight[8] = '\0';
		cr_expect_eq(rules_insurer_parse(six, 6, &ins), want, "%s",
			     six);
		if (want == RULES_INSURER_OK)
			cr_expect_eq(ins.prefecture, pref);
		cr_expect_eq(rules_insurer_parse(eight, 8, &ins), want, "%s",
			     eight);
	}
}

Test(rules_insurer, scheme_agrees)
{
	static const struct {
		enum rules_scheme number, fact;
		bool agrees;
	} cases[] = {
	    {RULES_SCHEME_NHI, RULES_SCHEME_NHI, true},
	    {RULES_SCHEME_NHI, RULES_SCHEME_NHI_ASSOCIATION, true},
	    {RULES_SCHEME_NHI, RULES_SCHEME_UNKNOWN, true},
	    {RULES_SCHEME_NHI, RULES_SCHEME_LATE_ELDERLY, false},
	    {RULES_SCHEME_NHI, RULES_SCHEME_KYOKAI, false},
	    {RULES_SCHEME_LATE_ELDERLY, RULES_SCHEME_LATE_ELDERLY, true},
	    {RULES_SCHEME_LATE_ELDERLY, RULES_SCHEME_NHI, false},
	    {RULES_SCHEME_KYOKAI, RULES_SCHEME_KYOKAI, true},
	    {RULES_SCHEME_KYOKAI, RULES_SCHEME_NHI_ASSOCIATION, false},
	    {RULES_SCHEME_KYOKAI, RULES_SCHEME_SOCIETY, false},
	    {RULES_SCHEME_KYOKAI, RULES_SCHEME_UNKNOWN, true},
	    {RULES_SCHEME_OTHER, RULES_SCHEME_OTHER, true},
	    {RULES_SCHEME_OTHER, RULES_SCHEME_SEAMEN, false},
	    {RULES_SCHEME_SPECIAL_RETIREE, RULES_SCHEME_SPECIAL_RETIREE, true},
	    {RULES_SCHEME_MUTUAL_AID, RULES_SCHEME_SDF, false},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(
		    rules_scheme_agrees(cases[i].number, cases[i].fact),
		    cases[i].agrees, "number %d fact %d", cases[i].number,
		    cases[i].fact);
	}
}

/* SPEC §5: municipal_counter for nhi and late_elderly; employer for the
 * employee schemes; insurer otherwise; none for an unknown scheme. */
static enum rules_channel spec_channel(enum rules_scheme s)
{
	static const enum rules_scheme employee[] = {
	    RULES_SCHEME_KYOKAI,     RULES_SCHEME_SEAMEN,
	    RULES_SCHEME_SOCIETY,    RULES_SCHEME_SDF,
	    RULES_SCHEME_MUTUAL_AID, RULES_SCHEME_DAY_LABORER};
	size_t i;

	if (s == RULES_SCHEME_UNKNOWN)
		return RULES_CHANNEL_NONE;
	if (s == RULES_SCHEME_NHI || s == RULES_SCHEME_LATE_ELDERLY)
		return RULES_CHANNEL_MUNICIPAL_COUNTER;
	for (i = 0; i < sizeof(employee) / sizeof(employee[0]); i++) {
		if (s == employee[i])
			return RULES_CHANNEL_EMPLOYER;
	}
	return RULES_CHANNEL_INSURER;
}

Test(rules_insurer, channel)
{
	int s;

	for (s = 0; s < RULES_SCHEME_COUNT; s++)
		cr_expect_eq(rules_scheme_channel((enum rules_scheme)s),
			     spec_channel((enum rules_scheme)s), "scheme %d",
			     s);
}

Test(rules_insurer, prefecture_names)
{
	cr_expect_str_eq(rules_prefecture_name_ja(1), "北海道");
	cr_expect_str_eq(rules_prefecture_name_en(1), "Hokkaido");
	cr_expect_str_eq(rules_prefecture_name_ja(13), "東京都");
	cr_expect_str_eq(rules_prefecture_name_en(13), "Tokyo");
	cr_expect_str_eq(rules_prefecture_name_ja(4), "宮城県");
	cr_expect_str_eq(rules_prefecture_name_ja(47), "沖縄県");
	cr_expect_str_eq(rules_prefecture_name_en(47), "Okinawa");
	cr_expect_null(rules_prefecture_name_ja(0));
	cr_expect_null(rules_prefecture_name_en(0));
	cr_expect_null(rules_prefecture_name_ja(48));
	cr_expect_null(rules_prefecture_name_en(48));
	cr_expect_null(rules_prefecture_name_ja(-1));
}
