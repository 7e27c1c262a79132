/* test_rules_next_change.c - next_change (SPEC §3 "What changes next",
 * rules/decide.c) against its definition.
 *
 * The definition is a brute force: decide every day of the horizon for the
 * same facts (rules_decide_at, which does not look ahead) and take the
 * first day whose registration status, entitlement or application_required
 * differs from as_of's.  rules_decide looks only at a few marked days; the
 * property tests generate thousands of fact sets (a fixed-seed PRNG, so a
 * failure is reproducible and names its case number) with the dates that
 * make it hard -- 29 February births, month ends, days around
 * provisional_end and 1 August, expiries whose grace ends near as_of or
 * near the horizon's last day, valid_until -- under the default parameters
 * and under others, and require the same answer.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "rules/rules.h"

#define NEED(n) (1u << RULES_NEED_##n)

static int32_t day_of(const char *s)
{
	int32_t d = RULES_NO_DATE;

	cr_assert_eq(rules_date_parse(s, strlen(s), &d), 0,
		     "test date %s must parse", s);
	return d;
}

/* ---- the brute force ----------------------------------------------------- */

/* The first change by checking every day; false when none. */
static bool brute_next_change(const struct rules_facts *f, int32_t as_of,
			      const struct rules_params *p,
			      struct rules_next_change *out)
{
	struct rules_decision today, d;
	int64_t end = (int64_t)as_of + p->next_change_horizon_days;
	int32_t day, last = day_of("9999-12-31");

	if (end > last)
		end = last;
	cr_assert_eq(rules_decide_at(f, as_of, p, &today), 0);
	cr_assert_eq(today.next_change.date, RULES_NO_DATE,
		     "rules_decide_at must not look ahead");
	for (day = as_of + 1; day <= end; day++) {
		cr_assert_eq(rules_decide_at(f, day, p, &d), 0);
		if (d.status == today.status &&
		    d.entitlement == today.entitlement &&
		    d.application_required == today.application_required)
			continue;
		out->date = day;
		out->status = d.status;
		out->entitlement = d.entitlement;
		out->application_required = d.application_required;
		out->reason = d.reasons[0];
		return true;
	}
	return false;
}

/* ---- a deterministic generator ------------------------------------------- */

struct rng {
	uint64_t s;
};

/* splitmix64 */
static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* 0 <= n < bound */
static int rng_below(struct rng *r, int bound)
{
	return (int)(rng_next(r) % (uint64_t)bound);
}

/* lo <= n <= hi */
static int rng_range(struct rng *r, int lo, int hi)
{
	return lo + rng_below(r, hi - lo + 1);
}

static bool rng_chance(struct rng *r, int percent)
{
	return rng_below(r, 100) < percent;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* A day near `day`: the day itself, a month end around it, or jittered. */
static int32_t near(struct rng *r, int32_t day)
{
	int y, m, d;

	switch (rng_below(r, 4)) {
	case 0: return day;
	case 1:
		rules_date_to_ymd(day, &y, &m, &d);
		return rules_date_month_end_after(rules_date_from_ymd(y, m, 1),
						  rng_range(r, -1, 0));
	default: return day + rng_range(r, -3, 3);
	}
}

/* The as_of of a case: a plain day of the years that matter, or one of the
 * days where the rules turn. */
static int32_t gen_as_of(struct rng *r, const struct rules_params *p)
{
	int y = rng_range(r, 2024, 2031);

	switch (rng_below(r, 8)) {
	case 0: return p->provisional_end + rng_range(r, -3, 3);
	case 1: return rules_date_from_ymd(y, 8, 1) + rng_range(r, -2, 1);
	case 2: /* a month end, or 29 February */
		if (rng_chance(r, 30))
			return rules_date_from_ymd(2028, 2, 29) +
			       rng_range(r, -1, 1);
		return rules_date_month_end_after(
		    rules_date_from_ymd(y, rng_range(r, 1, 12), 1), 0);
	case 3: /* near the last day a date can be written */
		if (rng_chance(r, 25))
			return day_of("9999-12-31") -
			       rng_range(r, 0, p->next_change_horizon_days + 3);
		/* fall through */
	default: return rules_date_from_ymd(y, 1, 1) + rng_range(r, 0, 365);
	}
}

/* A birth date whose `years`-th birthday falls near `target`: the same
 * month and day `years` earlier, sometimes 29 February of a leap year
 * near it. */
static int32_t birth_for(struct rng *r, int32_t target, int years)
{
	int y, m, d;

	rules_date_to_ymd(target, &y, &m, &d);
	y -= years;
	if (rng_chance(r, 30)) {
		while (!is_leap(y))
			y--;
		return rules_date_from_ymd(y, 2, 29);
	}
	if (m == 2 && d == 29 && !is_leap(y))
		d = 28;
	return rules_date_from_ymd(y, m, d) + rng_range(r, -2, 2);
}

/* An expiry whose grace (p->ecert_grace_months) ends near `target`. */
static int32_t expiry_for(struct rng *r, int32_t target,
			  const struct rules_params *p)
{
	int y, m, d;

	rules_date_to_ymd(target, &y, &m, &d);
	/* the month ecert_grace_months before the target's month */
	m -= p->ecert_grace_months;
	while (m < 1) {
		m += 12;
		y--;
	}
	return rules_date_from_ymd(y, m, rng_range(r, 1, 28)) +
	       (rng_chance(r, 30) ? rng_range(r, 0, 3) * 31 : 0);
}

static const char *const numbers[] = {"138057", "39132014", "01040013",
				      "00138057"};

/* Facts and an as_of, each date aimed at a day where something turns:
 * the anchor (somewhere in the horizon, often at its very edges) or
 * as_of itself. */
static void gen_case(struct rng *r, const struct rules_params *p,
		     struct rules_facts *f, int32_t *as_of_out)
{
	int32_t as_of = gen_as_of(r, p), anchor, target;
	int h = p->next_change_horizon_days;

	switch (rng_below(r, 6)) {
	case 0: anchor = as_of + h; break;     /* the last day looked at */
	case 1: anchor = as_of + h + 1; break; /* the first not */
	case 2: anchor = as_of + 1; break;
	default: anchor = as_of + rng_range(r, -60, h + 30);
	}
	rules_facts_init(f);

	/* insurer: a number, a scheme, or neither (the age decides) */
	switch (rng_below(r, 4)) {
	case 0:
		snprintf(f->insurer_number, sizeof f->insurer_number, "%s",
			 numbers[rng_below(r, 4)]);
		if (f->insurer_number[0] == '1' && rng_chance(r, 30))
			f->scheme = RULES_SCHEME_NHI_ASSOCIATION;
		break;
	case 1:
		f->scheme =
		    (enum rules_scheme)rng_range(r, 1, RULES_SCHEME_COUNT - 1);
		if (rng_chance(r, 50))
			f->scheme = RULES_SCHEME_LATE_ELDERLY;
		break;
	default: break;
	}

	/* birth: aimed at the 18th, 75th or auto_age birthday, or at a
	 * renewal day, or anywhere */
	if (rng_chance(r, 85)) {
		target = near(r, rng_chance(r, 70) ? anchor : as_of);
		switch (rng_below(r, 5)) {
		case 0: f->birth_date = birth_for(r, target, 18); break;
		case 1: f->birth_date = birth_for(r, target, 75); break;
		case 2:
			f->birth_date = birth_for(
			    r, target,
			    p->late_elderly_auto_age >= 0
				? p->late_elderly_auto_age + rng_range(r, -1, 0)
				: 85);
			break;
		case 3:
			f->birth_date =
			    birth_for(r, target, rng_range(r, 70, 90));
			break;
		default:
			f->birth_date =
			    birth_for(r, target, rng_range(r, 0, 100));
		}
		if (f->birth_date > as_of)
			f->birth_date =
			    rng_chance(r, 50) ? as_of : RULES_NO_DATE;
	}

	f->mynumber_card =
	    rng_chance(r, 70) ? RULES_CARD_HELD
			      : (enum rules_card)rng_below(r, RULES_CARD_COUNT);
	f->insurance_registration =
	    rng_chance(r, 70)
		? RULES_REG_REGISTERED
		: (enum rules_registration)rng_below(r, RULES_REG_COUNT);
	if (rng_chance(r, 45))
		f->ecert_expiry = expiry_for(
		    r, near(r, rng_chance(r, 60) ? anchor : as_of), p);
	if (rng_chance(r, 30))
		f->card_expiry = expiry_for(
		    r, near(r, rng_chance(r, 60) ? anchor : as_of), p);
	if (rng_chance(r, 50))
		f->care_needs = (unsigned)rng_below(r, 1 << RULES_NEED_COUNT);
	else if (rng_chance(r, 10))
		f->care_needs = NEED(CHILD);
	f->setting = (enum rules_setting)rng_below(r, RULES_SETTING_COUNT);
	if (rng_chance(r, 30))
		f->legacy_card_expiry = near(r, anchor);
	if (rng_chance(r, 60)) {
		f->cert_status = (enum rules_cert_status)rng_range(
		    r, 1, RULES_CERT_COUNT - 1);
		f->cert_basis =
		    (enum rules_cert_basis)rng_below(r, RULES_BASIS_COUNT);
		if (rng_chance(r, 70))
			f->cert_valid_until =
			    near(r, rng_chance(r, 70) ? anchor : as_of) - 1;
	}
	*as_of_out = as_of;
}

static void describe(const struct rules_facts *f, int32_t as_of, char *buf,
		     size_t size)
{
	char a[11], b[11], e[11], c[11], v[11];

	rules_date_format(as_of, a);
	rules_date_format(f->birth_date, b);
	rules_date_format(f->ecert_expiry, e);
	rules_date_format(f->card_expiry, c);
	rules_date_format(f->cert_valid_until, v);
	snprintf(buf, size,
		 "as_of %s birth %s number '%s' scheme %d card %d reg %d "
		 "ecert %s card_exp %s needs %#x setting %d cert %d/%d "
		 "valid_until %s",
		 a, f->birth_date == RULES_NO_DATE ? "-" : b, f->insurer_number,
		 f->scheme, f->mynumber_card, f->insurance_registration,
		 f->ecert_expiry == RULES_NO_DATE ? "-" : e,
		 f->card_expiry == RULES_NO_DATE ? "-" : c, f->care_needs,
		 f->setting, f->cert_status, f->cert_basis,
		 f->cert_valid_until == RULES_NO_DATE ? "-" : v);
}

/* Runs n generated cases under p; returns how many have a change, so the
 * caller can see the generator reaches both answers. */
static int property(const struct rules_params *p, uint64_t seed, int n,
		    const char *name)
{
	struct rng r = {seed};
	struct rules_facts f;
	struct rules_decision d;
	struct rules_next_change want = {RULES_NO_DATE, 0, 0, false, 0};
	char what[400], got_day[11], want_day[11];
	int i, changes = 0;
	int32_t as_of;
	bool any;

	for (i = 0; i < n; i++) {
		gen_case(&r, p, &f, &as_of);
		cr_assert_eq(rules_decide(&f, as_of, p, &d), 0,
			     "%s case %d: rules_decide failed", name, i);
		any = brute_next_change(&f, as_of, p, &want);
		describe(&f, as_of, what, sizeof what);
		rules_date_format(d.next_change.date, got_day);
		rules_date_format(want.date, want_day);
		if (!any) {
			cr_assert_eq(d.next_change.date, RULES_NO_DATE,
				     "%s case %d: next change %s, the brute "
				     "force finds none (%s)",
				     name, i, got_day, what);
			continue;
		}
		changes++;
		cr_assert_eq(d.next_change.date, want.date,
			     "%s case %d: next change %s, the brute force "
			     "finds %s (%s)",
			     name, i,
			     d.next_change.date == RULES_NO_DATE ? "null"
								 : got_day,
			     want_day, what);
		cr_assert(d.next_change.status == want.status &&
			      d.next_change.entitlement == want.entitlement &&
			      d.next_change.application_required ==
				  want.application_required &&
			      d.next_change.reason == want.reason,
			  "%s case %d: the values on %s differ (%s)", name, i,
			  want_day, what);
	}
	return changes;
}

Test(rules_next_change, equals_the_brute_force_with_defaults)
{
	struct rules_params p;
	int changes;

	rules_params_default(&p);
	changes = property(&p, 20260801, 4000, "defaults");
	/* the generator must reach both answers, often */
	cr_expect(changes > 1000 && changes < 3600, "%d of 4000 change",
		  changes);
}

Test(rules_next_change, equals_the_brute_force_with_other_parameters)
{
	struct rules_params p;

	/* the age rule off */
	rules_params_default(&p);
	p.late_elderly_auto_age = -1;
	property(&p, 1, 800, "auto age off");
	/* a provisional end that is no 31 July, and another auto age */
	rules_params_default(&p);
	p.provisional_end = day_of("2027-03-15");
	p.late_elderly_auto_age = 75;
	property(&p, 2, 800, "provisional end 2027-03-15, age 75");
	/* a provisional end on 1 August itself */
	rules_params_default(&p);
	p.provisional_end = day_of("2026-08-01");
	property(&p, 3, 800, "provisional end 2026-08-01");
	/* a small horizon, no grace, a long grace */
	rules_params_default(&p);
	p.next_change_horizon_days = 31;
	p.ecert_grace_months = 0;
	property(&p, 4, 1500, "horizon 31, no grace");
	rules_params_default(&p);
	p.next_change_horizon_days = 1;
	p.ecert_grace_months = 24;
	property(&p, 5, 1500, "horizon 1, grace 24");
	rules_params_default(&p);
	p.next_change_horizon_days = 1500;
	p.late_elderly_auto_age = 120;
	property(&p, 6, 400, "horizon 1500, age 120");
}

/* ---- the examples of SPEC §3 and the edges, by hand ---------------------- */

static struct rules_facts registered(const char *birth, const char *number)
{
	struct rules_facts f;

	rules_facts_init(&f);
	f.birth_date = day_of(birth);
	snprintf(f.insurer_number, sizeof f.insurer_number, "%s", number);
	f.mynumber_card = RULES_CARD_HELD;
	f.insurance_registration = RULES_REG_REGISTERED;
	return f;
}

static void expect_change(const struct rules_decision *d, const char *date,
			  enum rules_reg_status s, enum rules_entitlement e,
			  bool required, enum rules_reason r)
{
	char got[11];

	rules_date_format(d->next_change.date, got);
	cr_assert_neq(d->next_change.date, RULES_NO_DATE, "expected %s", date);
	cr_expect_str_eq(got, date);
	cr_expect_eq(d->next_change.status, s, "status %d",
		     d->next_change.status);
	cr_expect_eq(d->next_change.entitlement, e, "entitlement %d",
		     d->next_change.entitlement);
	cr_expect_eq(d->next_change.application_required, required);
	cr_expect_eq(d->next_change.reason, r, "reason %d",
		     d->next_change.reason);
}

Test(rules_next_change, spec_examples)
{
	struct rules_params p;
	struct rules_decision d;
	struct rules_facts f;

	rules_params_default(&p);
	cr_expect_eq(p.next_change_horizon_days, 730);
	/* aged 84 on the 2026-08-01 renewal, 85 on the next */
	f = registered("1941-09-10", "39132014");
	cr_assert_eq(rules_decide(&f, day_of("2026-11-30"), &p, &d), 0);
	cr_expect_eq(d.entitlement, RULES_ENT_NOT_ENTITLED);
	expect_change(&d, "2027-08-01", RULES_STATUS_REGISTERED,
		      RULES_ENT_EX_OFFICIO, false, RULES_R_LATE_ELDERLY_AGE);
	/* an e-certificate expired on 2026-10-15: grace to 2027-01-31 */
	f = registered("1980-05-05", "138057");
	f.ecert_expiry = day_of("2026-10-15");
	cr_assert_eq(rules_decide(&f, day_of("2026-11-30"), &p, &d), 0);
	expect_change(&d, "2027-02-01", RULES_STATUS_ECERT_EXPIRED,
		      RULES_ENT_EX_OFFICIO, false, RULES_R_NO_USABLE_MYNAHOKEN);
	/* nothing within the horizon */
	f = registered("1985-01-20", "138057");
	cr_assert_eq(rules_decide(&f, day_of("2026-11-30"), &p, &d), 0);
	cr_expect_eq(d.next_change.date, RULES_NO_DATE);
}

Test(rules_next_change, horizon_edges)
{
	struct rules_params p;
	struct rules_decision d;
	struct rules_facts f;

	rules_params_default(&p);
	/* grace of an expiry on 2026-10-15 ends 2027-01-31: the change on
	 * 2027-02-01 is the horizon's last day from 2025-02-01 (730 days
	 * before), and one day past it from 2025-01-31 */
	f = registered("1980-05-05", "138057");
	f.ecert_expiry = day_of("2026-10-15");
	cr_assert_eq(day_of("2027-02-01") - day_of("2025-02-01"), 730);
	cr_assert_eq(rules_decide(&f, day_of("2025-02-01"), &p, &d), 0);
	expect_change(&d, "2027-02-01", RULES_STATUS_ECERT_EXPIRED,
		      RULES_ENT_EX_OFFICIO, false, RULES_R_NO_USABLE_MYNAHOKEN);
	cr_assert_eq(rules_decide(&f, day_of("2025-01-31"), &p, &d), 0);
	cr_expect_eq(d.next_change.date, RULES_NO_DATE);
	/* a horizon of 0 never looks */
	p.next_change_horizon_days = 0;
	cr_assert_eq(rules_decide(&f, day_of("2027-01-31"), &p, &d), 0);
	cr_expect_eq(d.next_change.date, RULES_NO_DATE);
	p.next_change_horizon_days = 1;
	cr_assert_eq(rules_decide(&f, day_of("2027-01-31"), &p, &d), 0);
	expect_change(&d, "2027-02-01", RULES_STATUS_ECERT_EXPIRED,
		      RULES_ENT_EX_OFFICIO, false, RULES_R_NO_USABLE_MYNAHOKEN);
	/* the last day a date can be written bounds the horizon */
	rules_params_default(&p);
	cr_expect_eq(rules_next_change_end(day_of("9999-06-01"), &p),
		     day_of("9999-12-31"));
	cr_expect_eq(rules_next_change_end(day_of("2026-01-01"), &p),
		     day_of("2028-01-01"));
}

/* A 29 February birth turns 75 on 1 March in a common year (the
 * late-elderly scheme by age), 18 on 29 February in a leap one. */
Test(rules_next_change, leap_day_births)
{
	struct rules_params p;
	struct rules_decision d;
	struct rules_facts f;

	rules_params_default(&p);
	rules_facts_init(&f);
	f.birth_date = day_of("1948-02-29");
	f.mynumber_card = RULES_CARD_HELD;
	f.insurance_registration = RULES_REG_REGISTERED;
	cr_assert_eq(rules_decide(&f, day_of("2023-02-28"), &p, &d), 0);
	cr_expect_eq(d.entitlement, RULES_ENT_NOT_ENTITLED);
	expect_change(&d, "2023-03-01", RULES_STATUS_REGISTERED,
		      RULES_ENT_PROVISIONAL, false,
		      RULES_R_LATE_ELDERLY_PROVISIONAL);

	rules_facts_init(&f);
	f.mynumber_card = RULES_CARD_HELD;
	f.insurance_registration = RULES_REG_REGISTERED;
	f.setting = RULES_SETTING_CHILDRENS_FACILITY;
	f.birth_date = day_of("2012-02-29");
	cr_assert_eq(rules_decide(&f, day_of("2029-06-01"), &p, &d), 0);
	cr_expect_eq(d.entitlement, RULES_ENT_ON_APPLICATION);
	expect_change(&d, "2030-03-01", RULES_STATUS_REGISTERED,
		      RULES_ENT_NOT_ENTITLED, false, RULES_R_HOLDS_MYNAHOKEN);
	f.birth_date = day_of("2008-02-29");
	cr_assert_eq(rules_decide(&f, day_of("2025-06-01"), &p, &d), 0);
	expect_change(&d, "2026-03-01", RULES_STATUS_REGISTERED,
		      RULES_ENT_NOT_ENTITLED, false, RULES_R_HOLDS_MYNAHOKEN);
	f.birth_date = day_of("2010-02-28");
	cr_assert_eq(rules_decide(&f, day_of("2027-06-01"), &p, &d), 0);
	expect_change(&d, "2028-02-28", RULES_STATUS_REGISTERED,
		      RULES_ENT_NOT_ENTITLED, false, RULES_R_HOLDS_MYNAHOKEN);
}

/* A change of apply_by alone (the legacy card expiring) is no change. */
Test(rules_next_change, apply_by_alone_is_no_change)
{
	struct rules_params p;
	struct rules_decision d;
	struct rules_facts f;

	rules_params_default(&p);
	f = registered("1960-01-01", "138057");
	f.care_needs = NEED(DEMENTIA);
	f.legacy_card_expiry = day_of("2026-12-31");
	cr_assert_eq(rules_decide(&f, day_of("2026-11-30"), &p, &d), 0);
	cr_expect_neq(d.apply_by, RULES_NO_DATE);
	cr_expect_eq(d.next_change.date, RULES_NO_DATE);
}

Test(rules_next_change, decide_at_does_not_look_ahead)
{
	struct rules_params p;
	struct rules_decision a, b;
	struct rules_facts f;

	rules_params_default(&p);
	f = registered("1941-09-10", "39132014");
	cr_assert_eq(rules_decide_at(&f, day_of("2026-11-30"), &p, &a), 0);
	cr_assert_eq(rules_decide(&f, day_of("2026-11-30"), &p, &b), 0);
	cr_expect_eq(a.next_change.date, RULES_NO_DATE);
	cr_expect_neq(b.next_change.date, RULES_NO_DATE);
	/* everything else is the same */
	a.next_change = b.next_change;
	cr_expect_eq(memcmp(&a, &b, sizeof a), 0);
}

Test(rules_next_change, next_august_first)
{
	cr_expect_eq(rules_date_next_august_first(day_of("2026-07-31")),
		     day_of("2026-08-01"));
	cr_expect_eq(rules_date_next_august_first(day_of("2026-08-01")),
		     day_of("2026-08-01"));
	cr_expect_eq(rules_date_next_august_first(day_of("2026-08-02")),
		     day_of("2027-08-01"));
	cr_expect_eq(rules_date_next_august_first(day_of("2026-12-31")),
		     day_of("2027-08-01"));
	cr_expect_eq(rules_date_next_august_first(day_of("2027-01-01")),
		     day_of("2027-08-01"));
}
