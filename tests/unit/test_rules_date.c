/* test_rules_date.c - day numbers, parsing, months' ends, ages, Tokyo's
 * today and the defaults (rules/date.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "rules/rules.h"

static int32_t day_of(const char *s)
{
	int32_t d = RULES_NO_DATE;

	cr_assert_eq(rules_date_parse(s, strlen(s), &d), 0,
		     "test date %s must parse", s);
	return d;
}

Test(rules_date, known_day_numbers)
{
	static const struct {
		int y, m, d;
		int32_t day;
	} cases[] = {
	    {1970, 1, 1, 0},         {1969, 12, 31, -1},
	    {2000, 3, 1, 11017},     {2025, 6, 1, 20240},
	    {2026, 7, 31, 20665},    {1000, 1, 1, -354285},
	    {9999, 12, 31, 2932896},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int y, m, d;

		cr_expect_eq(
		    rules_date_from_ymd(cases[i].y, cases[i].m, cases[i].d),
		    cases[i].day, "from_ymd %d-%d-%d", cases[i].y, cases[i].m,
		    cases[i].d);
		rules_date_to_ymd(cases[i].day, &y, &m, &d);
		cr_expect(y == cases[i].y && m == cases[i].m && d == cases[i].d,
			  "to_ymd %d gave %d-%d-%d", cases[i].day, y, m, d);
	}
}

/* Walks the calendar day by day from 1600 to 2400 (leap rules of 100 and
 * 400 included) and checks both conversions against it. */
Test(rules_date, round_trip_every_day)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};
	int y = 1600, m = 1, d = 1;
	int32_t day = rules_date_from_ymd(1600, 1, 1);

	while (y < 2400) {
		int ly, lm, ld, len;

		cr_assert_eq(rules_date_from_ymd(y, m, d), day,
			     "from_ymd %d-%d-%d", y, m, d);
		rules_date_to_ymd(day, &ly, &lm, &ld);
		cr_assert(ly == y && lm == m && ld == d, "to_ymd %d", day);
		len = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) ||
						 y % 400 == 0));
		day++;
		if (++d > len) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
}

Test(rules_date, parse_accepts_real_dates)
{
	static const struct {
		const char *s;
		int y, m, d;
	} cases[] = {
	    {"2025-06-01", 2025, 6, 1},   {"2024-02-29", 2024, 2, 29},
	    {"2000-02-29", 2000, 2, 29},  {"1000-01-01", 1000, 1, 1},
	    {"9999-12-31", 9999, 12, 31}, {"2025-12-31", 2025, 12, 31},
	    {"2025-04-30", 2025, 4, 30},  {"1970-01-01", 1970, 1, 1},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int32_t out = RULES_NO_DATE;

		cr_expect_eq(rules_date_parse(cases[i].s, 10, &out), 0, "%s",
			     cases[i].s);
		cr_expect_eq(
		    out,
		    rules_date_from_ymd(cases[i].y, cases[i].m, cases[i].d),
		    "%s", cases[i].s);
	}
}

Test(rules_date, parse_refuses_anything_else)
{
	static const char *const cases[] = {
	    "2025-02-29",
	    "1900-02-29",
	    "2100-02-29",
	    "2025-04-31",
	    "2025-13-01",
	    "2025-00-10",
	    "2025-01-00",
	    "2025-01-32",
	    "0999-12-31",
	    "0000-01-01",
	    "2025/06/01",
	    "2025-6-01",
	    "25-06-01",
	    "2025-06-1",
	    "2025-06-01T00:00:00",
	    "+025-06-01",
	    "2025-06-0a",
	    " 025-06-01",
	    "2025-06-01 ",
	    "",
	    "2025-0６-01",
	    "２０２５-06-01",
	    "2025--06-01",
	    "-2025-06-0",
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int32_t out = 12345;

		cr_expect_eq(rules_date_parse(cases[i], strlen(cases[i]), &out),
			     -1, "\"%s\"", cases[i]);
		cr_expect_eq(out, 12345, "out untouched for \"%s\"", cases[i]);
	}
}

Test(rules_date, parse_uses_len_not_nul)
{
	int32_t out = 0;

	/* Only the first 10 bytes are the date; nothing after is read. */
	cr_expect_eq(rules_date_parse("2025-06-01xyz", 10, &out), 0);
	cr_expect_eq(out, 20240);
	cr_expect_eq(rules_date_parse("2025-06-01", 9, &out), -1);
	cr_expect_eq(rules_date_parse("2025-06-01\0", 11, &out), -1);
}

Test(rules_date, format)
{
	static const char *const cases[] = {
	    "1970-01-01", "2025-06-01", "2024-02-29", "1000-01-01",
	    "9999-12-31", "1969-12-31", "2026-07-31"};
	size_t i;
	char buf[11];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		rules_date_format(day_of(cases[i]), buf);
		cr_expect_str_eq(buf, cases[i]);
	}
	/* Out of range: still 10 characters and a NUL, never an overflow. */
	rules_date_format(RULES_NO_DATE, buf);
	cr_expect_eq(strlen(buf), 10);
	rules_date_format(INT32_MAX, buf);
	cr_expect_eq(strlen(buf), 10);
}

Test(rules_date, month_end_after)
{
	static const struct {
		const char *from;
		int months;
		const char *to;
	} cases[] = {
	    {"2025-01-31", 3, "2025-04-30"},  {"2025-03-10", 3, "2025-06-30"},
	    {"2025-11-15", 3, "2026-02-28"},  {"2023-11-30", 3, "2024-02-29"},
	    {"2025-12-01", 3, "2026-03-31"},  {"2025-10-31", 3, "2026-01-31"},
	    {"2025-09-30", 3, "2025-12-31"},  {"2025-06-15", 0, "2025-06-30"},
	    {"2025-06-15", 12, "2026-06-30"}, {"2025-06-15", 27, "2027-09-30"},
	    {"2025-03-15", -1, "2025-02-28"}, {"2025-01-15", -1, "2024-12-31"},
	    {"2099-11-01", 3, "2100-02-28"},
	};
	size_t i;
	int y, m, d;

	/* Floor arithmetic before year 0 too (outside the API's range). */
	rules_date_to_ymd(
	    rules_date_month_end_after(rules_date_from_ymd(-1, 1, 15), -1), &y,
	    &m, &d);
	cr_expect(y == -2 && m == 12 && d == 31, "-1-01-15 - 1 month: %d-%d-%d",
		  y, m, d);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(rules_date_month_end_after(day_of(cases[i].from),
							cases[i].months),
			     day_of(cases[i].to), "%s + %d", cases[i].from,
			     cases[i].months);
	}
}

Test(rules_date, age_on)
{
	static const struct {
		const char *birth, *on;
		int age;
	} cases[] = {
	    {"1950-06-01", "2025-05-31", 74}, /* day before the 75th birthday */
	    {"1950-06-01", "2025-06-01", 75}, /* on it */
	    {"1950-06-01", "2025-06-02", 75},
	    {"1950-06-01", "1950-06-01", 0},
	    {"1950-06-01", "1950-05-31", -1}, /* before birth */
	    {"1950-12-31", "2025-12-30", 74},
	    {"1950-12-31", "2025-12-31", 75},
	    {"1951-01-01", "2025-12-31", 74},
	    {"2000-02-29", "2001-02-28", 0}, /* common year: not yet */
	    {"2000-02-29", "2001-03-01", 1}, /* rises on 1 March */
	    {"2000-02-29", "2004-02-28", 3},
	    {"2000-02-29", "2004-02-29", 4}, /* leap year: on 29 Feb */
	    {"2000-02-29", "2004-03-01", 4},
	    {"1948-02-29", "2023-02-28", 74},
	    {"1948-02-29", "2023-03-01", 75},
	    {"1948-02-29", "2100-02-28", 151}, /* 2100 is no leap year */
	    {"1948-02-29", "2100-03-01", 152},
	    {"2007-06-01", "2025-05-31", 17},
	    {"2007-06-01", "2025-06-01", 18},
	    {"2000-03-01", "2001-02-28", 0},
	    {"2000-03-01", "2001-03-01", 1},
	    {"1999-02-28", "2000-02-28", 1},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(
		    rules_age_on(day_of(cases[i].birth), day_of(cases[i].on)),
		    cases[i].age, "born %s, on %s", cases[i].birth,
		    cases[i].on);
	}
}

Test(rules_date, tokyo)
{
	static const struct {
		int64_t t;
		int32_t day;
	} cases[] = {
	    {0, 0},       /* 1970-01-01 09:00 JST */
	    {53999, 0},   /* 23:59:59 JST */
	    {54000, 1},   /* midnight JST = 15:00 UTC */
	    {-1, 0},      /* 08:59:59 JST */
	    {-32400, 0},  /* 00:00:00 JST */
	    {-32401, -1}, /* 1969-12-31 23:59:59 JST */
	    {-86400, -1},
	    {-86400 - 32401, -2},
	    {1748703599, 20239}, /* 2025-05-31T14:59:59Z = 23:59:59 JST */
	    {1748703600, 20240}, /* 2025-05-31T15:00:00Z = 2025-06-01 JST */
	    {1748736000, 20240}, /* 2025-06-01T00:00:00Z */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(rules_date_tokyo(cases[i].t), cases[i].day,
			     "t=%lld", (long long)cases[i].t);
	/* Extremes must not overflow (UBSan watches) nor give RULES_NO_DATE. */
	cr_expect_eq(rules_date_tokyo(INT64_MAX), INT32_MAX);
	cr_expect_neq(rules_date_tokyo(INT64_MIN), RULES_NO_DATE);
}

Test(rules_date, facts_init)
{
	struct rules_facts f;

	memset(&f, 0x5a, sizeof(f));
	rules_facts_init(&f);
	cr_expect_eq(f.birth_date, RULES_NO_DATE);
	cr_expect_eq(f.ecert_expiry, RULES_NO_DATE);
	cr_expect_eq(f.card_expiry, RULES_NO_DATE);
	cr_expect_eq(f.legacy_card_expiry, RULES_NO_DATE);
	cr_expect_eq(f.cert_applied_on, RULES_NO_DATE);
	cr_expect_eq(f.cert_valid_until, RULES_NO_DATE);
	cr_expect_str_eq(f.insurer_number, "");
	cr_expect_eq(f.scheme, RULES_SCHEME_UNKNOWN);
	cr_expect_eq(f.mynumber_card, RULES_CARD_UNKNOWN);
	cr_expect_eq(f.insurance_registration, RULES_REG_UNKNOWN);
	cr_expect_eq(f.care_needs, 0u);
	cr_expect_eq(f.setting, RULES_SETTING_UNKNOWN);
	cr_expect_eq(f.cert_status, RULES_CERT_ABSENT);
	cr_expect_eq(f.cert_basis, RULES_BASIS_UNKNOWN);
}

Test(rules_date, params_default)
{
	struct rules_params p;

	memset(&p, 0x5a, sizeof(p));
	rules_params_default(&p);
	cr_expect_eq(p.provisional_end, day_of("2026-07-31"));
	cr_expect_eq(p.late_elderly_auto_age, 85);
	cr_expect_eq(p.apply_margin_days, 30);
	cr_expect_eq(p.ecert_grace_months, 3);
	cr_expect_eq(p.stale_after_days, 30);
}
