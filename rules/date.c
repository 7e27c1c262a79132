/* date.c - day numbers, ages and the rule parameters' defaults.
 *
 * Day numbers count days since 1970-01-01 in the proleptic Gregorian
 * calendar.  The conversions are Howard Hinnant's days_from_civil and
 * civil_from_days (http://howardhinnant.github.io/date_algorithms.html),
 * done in 64-bit so that no int32_t input can overflow.
 */
#include "rules/rules.h"

#include <string.h>

static bool date_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int date_month_days(int64_t y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31};

	if (m == 2 && date_is_leap(y))
		return 29;
	return days[m - 1];
}

static int64_t date_days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	/* The year starts in March so that the leap day is the last one. */
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void date_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int32_t rules_date_from_ymd(int y, int m, int d)
{
	return (int32_t)date_days_from_civil(y, m, d);
}

void rules_date_to_ymd(int32_t day, int *y, int *m, int *d)
{
	int64_t year;

	date_civil_from_days(day, &year, m, d);
	*y = (int)year;
}

static int date_digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int rules_date_parse(const char *s, size_t len, int32_t *out)
{
	int y, m, d;

	if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	y = date_digits(s, 4);
	m = date_digits(s + 5, 2);
	d = date_digits(s + 8, 2);
	if (y < 1000 || m < 1 || m > 12 || d < 1)
		return -1;
	if (d > date_month_days(y, m))
		return -1;
	*out = rules_date_from_ymd(y, m, d);
	return 0;
}

static void date_put(char *p, int v, int width)
{
	while (width-- > 0) {
		p[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

void rules_date_format(int32_t day, char buf[11])
{
	int64_t y;
	int m, d;

	date_civil_from_days(day, &y, &m, &d);
	/* Days outside years 0000-9999 have no YYYY spelling; clamp rather
	 * than write past the buffer or print a mangled year. */
	if (y < 0) {
		y = 0;
		m = 1;
		d = 1;
	} else if (y > 9999) {
		y = 9999;
		m = 12;
		d = 31;
	}
	date_put(buf, (int)y, 4);
	buf[4] = '-';
	date_put(buf + 5, m, 2);
	buf[7] = '-';
	date_put(buf + 8, d, 2);
	buf[10] = '\0';
}

int32_t rules_date_month_end_after(int32_t day, int months)
{
	int64_t y, idx;
	int m, d;

	date_civil_from_days(day, &y, &m, &d);
	/* Months since year 0, floored, so negative offsets work too. */
	idx = y * 12 + (m - 1) + months;
	y = idx >= 0 ? idx / 12 : -((-idx + 11) / 12);
	m = (int)(idx - y * 12) + 1;
	return (int32_t)date_days_from_civil(y, m, date_month_days(y, m));
}

int rules_age_on(int32_t birth, int32_t on)
{
	int64_t by, oy;
	int bm, bd, om, od, age;

	if (on < birth)
		return -1;
	date_civil_from_days(birth, &by, &bm, &bd);
	date_civil_from_days(on, &oy, &om, &od);
	/* SPEC §3: the age rises on the birthday itself (one joins 後期高齢者
	 * 医療 on the 75th).  Comparing (month, day) with (2, 29) also puts a
	 * leap-day birthday on 1 March in common years, which have no 29th. */
	age = (int)(oy - by);
	if (om < bm || (om == bm && od < bd))
		age--;
	return age;
}

int32_t rules_date_next_august_first(int32_t day)
{
	int64_t y;
	int m, d;

	date_civil_from_days(day, &y, &m, &d);
	if (m > 8 || (m == 8 && d > 1))
		y++;
	return (int32_t)date_days_from_civil(y, 8, 1);
}

int32_t rules_date_tokyo(int64_t unix_seconds)
{
	int64_t day = unix_seconds / 86400;
	int64_t sec = unix_seconds % 86400;

	/* Split before adding the offset so that no input overflows, and
	 * floor so that times before 1970 land on the right day. */
	if (sec < 0) {
		sec += 86400;
		day--;
	}
	if (sec + 9 * 3600 >= 86400)
		day++;
	if (day > INT32_MAX)
		return INT32_MAX;
	if (day <= INT32_MIN)
		return INT32_MIN + 1;
	return (int32_t)day;
}

void rules_facts_init(struct rules_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->birth_date = RULES_NO_DATE;
	f->ecert_expiry = RULES_NO_DATE;
	f->card_expiry = RULES_NO_DATE;
	f->legacy_card_expiry = RULES_NO_DATE;
	f->cert_applied_on = RULES_NO_DATE;
	f->cert_valid_until = RULES_NO_DATE;
}

void rules_params_default(struct rules_params *p)
{
	memset(p, 0, sizeof(*p));
	p->provisional_end = rules_date_from_ymd(2026, 7, 31);
	p->late_elderly_auto_age = 85;
	p->apply_margin_days = 30;
	p->ecert_grace_months = 3;
	p->stale_after_days = 30;
	p->next_change_horizon_days = 730;
}
