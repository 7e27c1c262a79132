/* decide.c - the decision of SPEC §3: registration status, certificate
 * entitlement, deadlines, applicants, reasons and advice, and what changes
 * next.
 *
 * One pass, in the order of the spec: derived facts, registration, the
 * first entitlement rule that applies, then what follows from it.
 *
 * What changes next: the facts stay as given and only the day moves, so
 * the three answers next_change compares (registration status,
 * entitlement, application_required) depend on the day only through a
 * handful of yes/no facts (struct decide_day), each of which turns once,
 * on a day fixed by the facts and the parameters (struct decide_marks):
 * the e-certificate's or card's grace ending, the 18th and 75th
 * birthdays, the end of the provisional operation, the first renewal day
 * after it, the first renewal day on which the person is
 * late_elderly_auto_age or older, the end of a certificate's validity.
 * Between two such days nothing changes, so deciding on each of them in
 * turn finds the same first change as deciding on every day.  The age on
 * the renewal day only grows, which is why one renewal day (the first at
 * that age) matters, not each 1 August.  Today's decision is made the
 * plain way (ages, grace ends, the renewal day of as_of); the tests
 * compare the marks with it day by day.
 */
#include "rules/rules.h"

#include <string.h>

#define NEED(n) (1u << RULES_NEED_##n)

/* Marks: a day that never comes, and one already passed on any as_of. */
#define DECIDE_NEVER INT32_MAX
#define DECIDE_PAST  (INT32_MIN + 1)

/* The facts of a decision that do not depend on the day. */
struct decide_ctx {
	const struct rules_facts *f;
	const struct rules_params *p;
	int32_t as_of;
	/* late-elderly from the insurer number or the scheme fact: -1 when
	 * neither is known (then the age decides) */
	int late_fixed;
	bool scheme_unknown;
	bool application_made;
};

/* What of the facts depends on the day.  Members only read under a
 * condition (renewal, renewal_age: late-elderly after the provisional
 * operation with the age rule on) need not be set otherwise. */
struct decide_day {
	bool lapsed; /* the e-certificate or the card beyond its grace */
	bool late_elderly;
	bool late_from_age;
	bool after_provisional;
	bool renewal;     /* a renewal day after provisional_end has come */
	bool renewal_age; /* ... and the person was auto_age on it */
	bool child;
	bool cert_held;
};

/* The days on which each member of struct decide_day turns (DECIDE_PAST:
 * it has turned by as_of; DECIDE_NEVER: not within the horizon, or it
 * decides nothing for these facts). */
struct decide_marks {
	bool late_later;          /* late-elderly on some day looked at */
	int32_t lapse;            /* day after the earlier grace end */
	int32_t late_from;        /* 75th birthday (late-elderly by age) */
	int32_t renewal_from;     /* first 1 August after provisional_end */
	int32_t renewal_age_from; /* first renewal day aged auto_age */
	int32_t adult_from;       /* 18th birthday */
	int32_t cert_end;         /* day after valid_until */
};

/* No mark within the horizon: what decide_marks starts from. */
static const struct decide_marks decide_no_marks = {
    .lapse = DECIDE_NEVER,
    .late_from = DECIDE_NEVER,
    .renewal_from = DECIDE_NEVER,
    .renewal_age_from = DECIDE_NEVER,
    .adult_from = DECIDE_NEVER,
    .cert_end = DECIDE_NEVER};

/* What next_change compares, and the rule that decided it. */
struct decide_core {
	enum rules_reg_status status;
	enum rules_entitlement entitlement;
	bool application_required;
	enum rules_reason reason;
};

bool rules_facts_enums_valid(const struct rules_facts *f)
{
	return (unsigned)f->scheme < RULES_SCHEME_COUNT &&
	       (unsigned)f->mynumber_card < RULES_CARD_COUNT &&
	       (unsigned)f->insurance_registration < RULES_REG_COUNT &&
	       (unsigned)f->setting < RULES_SETTING_COUNT &&
	       (unsigned)f->cert_status < RULES_CERT_COUNT &&
	       (unsigned)f->cert_basis < RULES_BASIS_COUNT;
}

static bool decide_enums_valid(const struct rules_facts *f)
{
	return rules_facts_enums_valid(f) &&
	       (f->care_needs >> RULES_NEED_COUNT) == 0;
}

/* Length of the NUL-terminated insurer number, or -1 when the array holds
 * no NUL (never a valid number). */
static int decide_number_len(const struct rules_facts *f)
{
	const char *nul =
	    memchr(f->insurer_number, '\0', sizeof(f->insurer_number));

	if (nul == NULL)
		return -1;
	return (int)(nul - f->insurer_number);
}

static int32_t decide_grace_end(const struct decide_ctx *c, int32_t expiry)
{
	return rules_date_month_end_after(expiry, c->p->ecert_grace_months);
}

static bool decide_beyond_grace(const struct decide_ctx *c, int32_t expiry)
{
	return expiry != RULES_NO_DATE &&
	       c->as_of > decide_grace_end(c, expiry);
}

static bool decide_in_grace(const struct decide_ctx *c, int32_t expiry)
{
	return expiry != RULES_NO_DATE && expiry < c->as_of &&
	       c->as_of <= decide_grace_end(c, expiry);
}

/* renew_ecert: within 90 days of the expiry, or past it but in grace. */
static bool decide_renewal_due(const struct decide_ctx *c, int32_t expiry)
{
	return expiry != RULES_NO_DATE && (int64_t)expiry - 90 <= c->as_of &&
	       c->as_of <= decide_grace_end(c, expiry);
}

/* The expiry to renew first among those due: the one whose grace ends
 * first, the card's when both end the same day (a renewed card comes with
 * new electronic certificates, so renewing it settles both). */
static void decide_renewal(const struct decide_ctx *c,
			   struct rules_decision *out)
{
	const struct rules_facts *f = c->f;
	bool ecert = decide_renewal_due(c, f->ecert_expiry);
	bool card = decide_renewal_due(c, f->card_expiry);
	int32_t ecert_end = ecert ? decide_grace_end(c, f->ecert_expiry) : 0;
	int32_t card_end = card ? decide_grace_end(c, f->card_expiry) : 0;

	out->renew_by = RULES_NO_DATE;
	out->renew_card = false;
	if (card && (!ecert || card_end <= ecert_end)) {
		out->renew_by = card_end;
		out->renew_card = true;
	} else if (ecert) {
		out->renew_by = ecert_end;
	}
}

static enum rules_reg_status decide_status(const struct decide_ctx *c,
					   const struct decide_day *day)
{
	const struct rules_facts *f = c->f;

	if (f->mynumber_card == RULES_CARD_NONE)
		return RULES_STATUS_NO_CARD;
	if (f->mynumber_card == RULES_CARD_LOST ||
	    f->mynumber_card == RULES_CARD_RENEWING)
		return RULES_STATUS_CARD_UNAVAILABLE;
	if (day->lapsed)
		return RULES_STATUS_ECERT_EXPIRED;
	if (f->insurance_registration == RULES_REG_CANCELLED)
		return RULES_STATUS_CANCELLED;
	if (f->insurance_registration == RULES_REG_UNREGISTERED)
		return RULES_STATUS_UNREGISTERED;
	if (f->insurance_registration == RULES_REG_REGISTERED &&
	    f->mynumber_card == RULES_CARD_HELD)
		return RULES_STATUS_REGISTERED;
	return RULES_STATUS_UNKNOWN;
}

/* The latest 1 August on or before as_of and after provisional_end, or
 * RULES_NO_DATE when there is none yet. */
static int32_t decide_renewal_day(const struct decide_ctx *c)
{
	int y, m, d;
	int32_t day;

	rules_date_to_ymd(c->as_of, &y, &m, &d);
	if (m < 8)
		y--;
	day = rules_date_from_ymd(y, 8, 1);
	return day > c->p->provisional_end ? day : RULES_NO_DATE;
}

static void decide_push_reason(struct rules_decision *out, enum rules_reason r)
{
	out->reasons[out->n_reasons++] = r;
}

static void decide_push_fact(struct rules_decision *out, enum rules_fact fact)
{
	out->missing[out->n_missing++] = fact;
}

/* The nine rules of the entitlement table on one day: the first that
 * applies sets the entitlement and the deciding reason. */
static void decide_rules(const struct decide_ctx *c,
			 const struct decide_day *day, struct decide_core *out)
{
	const struct rules_facts *f = c->f;
	bool needs = f->care_needs != 0;
	enum rules_entitlement e;
	enum rules_reason r;

	out->status = decide_status(c, day);
	switch (out->status) {
	case RULES_STATUS_NO_CARD:
	case RULES_STATUS_ECERT_EXPIRED:
	case RULES_STATUS_CANCELLED:
	case RULES_STATUS_UNREGISTERED:
		e = RULES_ENT_EX_OFFICIO;
		r = RULES_R_NO_USABLE_MYNAHOKEN;
		goto out;
	default: break;
	}
	if (day->late_elderly && !day->after_provisional) {
		e = RULES_ENT_PROVISIONAL;
		r = RULES_R_LATE_ELDERLY_PROVISIONAL;
		goto out;
	}
	if (day->late_elderly && c->p->late_elderly_auto_age >= 0 &&
	    day->renewal) {
		r = RULES_R_LATE_ELDERLY_AGE;
		if (f->birth_date == RULES_NO_DATE) {
			e = RULES_ENT_UNDETERMINED;
			goto out;
		}
		if (day->renewal_age) {
			e = RULES_ENT_EX_OFFICIO;
			goto out;
		}
	}
	if (day->late_elderly && c->application_made) {
		e = RULES_ENT_ON_APPLICATION;
		r = RULES_R_LATE_ELDERLY_APPLIED;
	} else if (out->status == RULES_STATUS_CARD_UNAVAILABLE) {
		e = RULES_ENT_ON_APPLICATION;
		r = RULES_R_CARD_UNAVAILABLE_ON_APPLICATION;
	} else if (out->status == RULES_STATUS_UNKNOWN) {
		e = RULES_ENT_UNDETERMINED;
		r = RULES_R_REGISTRATION_UNKNOWN;
	} else if (day->child &&
		   (needs || f->setting == RULES_SETTING_CHILDRENS_FACILITY)) {
		/* Only `registered` is left: the マイナ保険証 is usable.  The
		 * notice names children in children's homes (記1), so living
		 * in one counts like a care need for a child. */
		e = RULES_ENT_ON_APPLICATION;
		r = RULES_R_CHILD_ON_APPLICATION;
	} else if (needs) {
		e = RULES_ENT_ON_APPLICATION;
		r = RULES_R_CONSIDERATION_ON_APPLICATION;
	} else {
		e = RULES_ENT_NOT_ENTITLED;
		r = RULES_R_HOLDS_MYNAHOKEN;
	}
out:
	out->entitlement = e;
	out->reason = r;
	out->application_required = e == RULES_ENT_ON_APPLICATION &&
				    !c->application_made && !day->cert_held;
}

static void decide_deadline(const struct decide_ctx *c,
			    struct rules_decision *out)
{
	int32_t legacy = c->f->legacy_card_expiry;

	out->apply_by = RULES_NO_DATE;
	out->recommended_apply_by = RULES_NO_DATE;
	if (out->entitlement == RULES_ENT_ON_APPLICATION &&
	    out->application_required) {
		if (legacy != RULES_NO_DATE && legacy >= c->as_of)
			out->apply_by = legacy;
	} else if (out->entitlement == RULES_ENT_PROVISIONAL &&
		   !c->application_made) {
		out->apply_by = c->p->provisional_end;
	}
	if (out->apply_by == RULES_NO_DATE)
		return;
	/* Never recommend a day already past: then the advice is "now". */
	if ((int64_t)out->apply_by - c->p->apply_margin_days < c->as_of)
		out->recommended_apply_by = c->as_of;
	else
		out->recommended_apply_by =
		    out->apply_by - c->p->apply_margin_days;
}

static void decide_applicants(const struct decide_ctx *c,
			      struct rules_decision *out)
{
	enum rules_setting s = c->f->setting;

	out->n_applicants = 0;
	if (!out->may_apply)
		return;
	/* 記1 and 別添1: the person, family, 法定代理人, 介助者, 委任を受けた方. */
	out->applicants[out->n_applicants++] = RULES_APP_SELF;
	out->applicants[out->n_applicants++] = RULES_APP_FAMILY;
	out->applicants[out->n_applicants++] = RULES_APP_LEGAL_REPRESENTATIVE;
	out->applicants[out->n_applicants++] = RULES_APP_CAREGIVER;
	out->applicants[out->n_applicants++] = RULES_APP_DELEGATE;
	if (s == RULES_SETTING_CARE_FACILITY ||
	    s == RULES_SETTING_DISABILITY_FACILITY)
		out->applicants[out->n_applicants++] = RULES_APP_FACILITY;
	if (out->child) {
		out->applicants[out->n_applicants++] = RULES_APP_GUARDIAN;
		if (s == RULES_SETTING_CHILDRENS_FACILITY)
			out->applicants[out->n_applicants++] =
			    RULES_APP_FACILITY_STAFF_DELEGATED_BY_GUARDIAN;
	}
}

/* The words of an advice that depend on the facts (SPEC §3). */
static enum rules_advice_variant
decide_advice_variant(const struct rules_decision *out, enum rules_advice a)
{
	switch (a) {
	case RULES_A_OBTAIN_CARD_OR_APPLY:
		if (out->status == RULES_STATUS_NO_CARD)
			return RULES_AV_NO_CARD;
		/* Undetermined (a late-elderly member's age is missing) errs
		 * on the side of applying. */
		if (out->entitlement == RULES_ENT_PROVISIONAL ||
		    out->entitlement == RULES_ENT_EX_OFFICIO)
			return RULES_AV_CARD_UNAVAILABLE_SENT;
		return RULES_AV_CARD_UNAVAILABLE_APPLY;
	case RULES_A_RENEW_ECERT:
		return out->renew_card ? RULES_AV_RENEW_CARD
				       : RULES_AV_RENEW_ECERT;
	default: return RULES_AV_GENERAL;
	}
}

static void decide_advice(const struct decide_ctx *c,
			  struct rules_decision *out)
{
	const struct rules_facts *f = c->f;
	enum rules_entitlement e = out->entitlement;
	enum rules_setting s = f->setting;
	unsigned needs = f->care_needs;
	bool usable = out->usable == 1;
	/* The PIN advice is what the caller asks about when the registration
	 * is not known yet: it holds unless the card is known not usable. */
	bool maybe_usable = out->usable != 0;
	bool facility = s == RULES_SETTING_CARE_FACILITY ||
			s == RULES_SETTING_DISABILITY_FACILITY ||
			s == RULES_SETTING_CHILDRENS_FACILITY;
	bool flags[RULES_A_COUNT] = {false};
	size_t i;

	flags[RULES_A_CHECK_REGISTRATION] = out->status == RULES_STATUS_UNKNOWN;
	flags[RULES_A_OBTAIN_CARD_OR_APPLY] =
	    out->status == RULES_STATUS_NO_CARD ||
	    out->status == RULES_STATUS_CARD_UNAVAILABLE;
	flags[RULES_A_RENEW_ECERT] = out->status == RULES_STATUS_REGISTERED &&
				     out->renew_by != RULES_NO_DATE;
	flags[RULES_A_APPLY_BEFORE_DEADLINE] =
	    out->application_required && out->apply_by != RULES_NO_DATE;
	flags[RULES_A_APPLY_NOW] =
	    out->application_required && out->apply_by == RULES_NO_DATE;
	flags[RULES_A_APPLY_TO_CONTINUE_AFTER_PROVISIONAL] =
	    e == RULES_ENT_PROVISIONAL && !c->application_made;
	flags[RULES_A_FACE_AUTH_CARD] =
	    maybe_usable && (needs & (NEED(PIN_DIFFICULTY) | NEED(DEMENTIA)));
	flags[RULES_A_VISUAL_CONFIRMATION] =
	    maybe_usable &&
	    (needs & (NEED(PIN_DIFFICULTY) | NEED(FACE_AUTH_DIFFICULTY) |
		      NEED(DEMENTIA) | NEED(DISABILITY) | NEED(ILLNESS)));
	flags[RULES_A_FACILITY_KEEPS_REGISTRATION] =
	    usable && facility &&
	    (e == RULES_ENT_ON_APPLICATION || e == RULES_ENT_PROVISIONAL);
	flags[RULES_A_CARRY_MYNAHOKEN_FOR_EMERGENCIES] =
	    usable && (e == RULES_ENT_ON_APPLICATION ||
		       e == RULES_ENT_PROVISIONAL || e == RULES_ENT_EX_OFFICIO);
	flags[RULES_A_PROXY_MEDICINE_PICKUP] =
	    facility || (s == RULES_SETTING_HOME && needs != 0);
	flags[RULES_A_CARE_MANAGER_GUIDANCE] = s == RULES_SETTING_HOME &&
					       needs != 0 &&
					       e == RULES_ENT_ON_APPLICATION;
	/* Without a certificate the insurer sends the notice; on application
	 * that lasts until the application is made (or while none is held). */
	flags[RULES_A_ELIGIBILITY_NOTICE] =
	    usable &&
	    (e == RULES_ENT_NOT_ENTITLED || out->application_required);

	out->n_advice = 0;
	for (i = 0; i < RULES_A_COUNT; i++) {
		if (!flags[i])
			continue;
		out->advice[out->n_advice] = (enum rules_advice)i;
		out->advice_variant[out->n_advice] =
		    decide_advice_variant(out, (enum rules_advice)i);
		out->n_advice++;
	}
}

/* Late-elderly from the number (authoritative), else the scheme fact;
 * -1 when neither is known and the age decides. */
static int decide_late_fixed(const struct rules_facts *f,
			     const struct rules_decision *out)
{
	if (out->has_number)
		return out->insurer.scheme == RULES_SCHEME_LATE_ELDERLY;
	if (f->scheme != RULES_SCHEME_UNKNOWN)
		return f->scheme == RULES_SCHEME_LATE_ELDERLY;
	return -1;
}

/* The day-dependent facts on as_of, the plain way: ages, grace ends and
 * the renewal day of as_of itself. */
static void decide_today(const struct decide_ctx *c, int age,
			 struct decide_day *d)
{
	const struct rules_facts *f = c->f;
	int32_t renewal;

	memset(d, 0, sizeof(*d));
	d->lapsed = decide_beyond_grace(c, f->ecert_expiry) ||
		    decide_beyond_grace(c, f->card_expiry);
	if (c->late_fixed >= 0) {
		d->late_elderly = c->late_fixed;
	} else if (age >= 0) {
		d->late_elderly = age >= 75;
		d->late_from_age = d->late_elderly;
	}
	d->after_provisional = c->as_of > c->p->provisional_end;
	if (d->late_elderly && d->after_provisional &&
	    c->p->late_elderly_auto_age >= 0) {
		renewal = decide_renewal_day(c);
		d->renewal = renewal != RULES_NO_DATE;
		d->renewal_age = d->renewal && f->birth_date != RULES_NO_DATE &&
				 rules_age_on(f->birth_date, renewal) >=
				     c->p->late_elderly_auto_age;
	}
	d->child = age >= 0 ? age < 18 : (f->care_needs & NEED(CHILD)) != 0;
	d->cert_held = f->cert_status == RULES_CERT_ISSUED &&
		       (f->cert_valid_until == RULES_NO_DATE ||
			f->cert_valid_until >= c->as_of);
}

static int32_t decide_min(int32_t a, int32_t b)
{
	return a < b ? a : b;
}

static int32_t decide_lapse(const struct decide_ctx *c, int32_t expiry)
{
	return expiry == RULES_NO_DATE ? DECIDE_NEVER
				       : decide_grace_end(c, expiry) + 1;
}

/* Whether a birthday at `years` can fall in (as_of, end]: it is more than
 * (years - 1 - age) whole years away, each at least 365 days. */
static bool decide_birthday_near(int age, int years, int32_t as_of, int32_t end)
{
	return (int64_t)(years - 1 - age) * 365 <= (int64_t)end - as_of;
}

/* The marks that can turn something within (as_of, end]; the others are
 * DECIDE_NEVER.  Each member of struct decide_day turns one way only (an
 * expiry's grace ends, an age grows, a validity runs out), so a mark
 * already passed on as_of turns nothing more, and a mark that decides
 * nothing for these facts need not be computed: most persons need no date
 * arithmetic at all. */
static void decide_marks(const struct decide_ctx *c,
			 const struct decide_day *today, int age, int32_t end,
			 struct decide_marks *m)
{
	const struct rules_facts *f = c->f;
	const struct rules_params *p = c->p;
	enum rules_card card = f->mynumber_card;
	bool born = f->birth_date != RULES_NO_DATE;
	int32_t aged;
	int y = 0, mo = 0, d = 0, auto_age = p->late_elderly_auto_age;

	*m = decide_no_marks;
	/* A card none, lost or being renewed decides before any expiry. */
	if (today->lapsed)
		m->lapse = DECIDE_PAST;
	else if (card != RULES_CARD_NONE && card != RULES_CARD_LOST &&
		 card != RULES_CARD_RENEWING)
		m->lapse = decide_min(decide_lapse(c, f->ecert_expiry),
				      decide_lapse(c, f->card_expiry));
	if (born)
		/* A birthday is the same month and day in a later year; a
		 * 29 February falls on 1 March in common years, where the
		 * day arithmetic puts it by itself (rules_age_on agrees). */
		rules_date_to_ymd(f->birth_date, &y, &mo, &d);
	if (c->late_fixed < 0 && born && today->late_elderly)
		m->late_from = DECIDE_PAST;
	else if (c->late_fixed < 0 && born &&
		 decide_birthday_near(age, 75, c->as_of, end))
		m->late_from = rules_date_from_ymd(y + 75, mo, d);
	/* The provisional operation and the renewal days matter to the
	 * late-elderly only. */
	m->late_later =
	    c->late_fixed == 1 || (c->late_fixed < 0 && m->late_from <= end);
	if (m->late_later && auto_age >= 0) {
		m->renewal_from =
		    rules_date_next_august_first(p->provisional_end + 1);
		/* The age on the renewal day only grows: the first renewal
		 * day on or after that birthday is the one. */
		if (born &&
		    decide_birthday_near(age, auto_age, c->as_of, end)) {
			aged = rules_date_from_ymd(y + auto_age, mo, d);
			m->renewal_age_from = rules_date_next_august_first(
			    aged > m->renewal_from ? aged : m->renewal_from);
		}
	}
	if (born && !today->child)
		m->adult_from = DECIDE_PAST;
	else if (born && decide_birthday_near(age, 18, c->as_of, end))
		m->adult_from = rules_date_from_ymd(y + 18, mo, d);
	if (!today->cert_held)
		m->cert_end = DECIDE_PAST;
	else if (f->cert_valid_until != RULES_NO_DATE)
		m->cert_end = f->cert_valid_until + 1;
}

/* The day-dependent facts on a day after as_of, from the marks. */
static void decide_later(const struct decide_ctx *c,
			 const struct decide_marks *m, int32_t day,
			 struct decide_day *d)
{
	const struct rules_facts *f = c->f;
	bool born = f->birth_date != RULES_NO_DATE;

	d->lapsed = day >= m->lapse;
	d->late_from_age = c->late_fixed < 0 && born && day >= m->late_from;
	d->late_elderly = c->late_fixed >= 0 ? c->late_fixed : d->late_from_age;
	d->after_provisional = day > c->p->provisional_end;
	d->renewal = day >= m->renewal_from;
	d->renewal_age = day >= m->renewal_age_from;
	d->child =
	    born ? day < m->adult_from : (f->care_needs & NEED(CHILD)) != 0;
	d->cert_held = f->cert_status == RULES_CERT_ISSUED && day < m->cert_end;
}

int32_t rules_next_change_end(int32_t as_of, const struct rules_params *p)
{
	int64_t end = (int64_t)as_of + p->next_change_horizon_days;
	int64_t last = rules_date_from_ymd(9999, 12, 31);

	return (int32_t)(end < last ? end : last);
}

/* The first day after as_of, up to the horizon, whose core differs from
 * today's: only the marks need be looked at, in order. */
static void decide_next_change(const struct decide_ctx *c,
			       const struct decide_day *today_day, int age,
			       const struct decide_core *today,
			       struct rules_next_change *out)
{
	struct decide_marks m;
	struct decide_day day;
	struct decide_core later;
	int32_t all[7], days[7], end;
	size_t n = 0, i, k;

	out->date = RULES_NO_DATE;
	if (c->p->next_change_horizon_days <= 0)
		return;
	end = rules_next_change_end(c->as_of, c->p);
	decide_marks(c, today_day, age, end, &m);
	all[0] = m.lapse;
	all[1] = m.late_from;
	all[2] = m.late_later ? c->p->provisional_end + 1 : DECIDE_NEVER;
	all[3] = m.renewal_from;
	all[4] = m.renewal_age_from;
	all[5] = m.adult_from;
	all[6] = m.cert_end;
	for (i = 0; i < 7; i++) {
		if (all[i] <= c->as_of || all[i] > end)
			continue;
		/* insertion sort: a handful of days */
		for (k = n; k > 0 && days[k - 1] > all[i]; k--)
			days[k] = days[k - 1];
		days[k] = all[i];
		n++;
	}
	for (i = 0; i < n; i++) {
		if (i > 0 && days[i] == days[i - 1])
			continue;
		decide_later(c, &m, days[i], &day);
		decide_rules(c, &day, &later);
		if (later.status == today->status &&
		    later.entitlement == today->entitlement &&
		    later.application_required == today->application_required)
			continue;
		out->date = days[i];
		out->status = later.status;
		out->entitlement = later.entitlement;
		out->application_required = later.application_required;
		out->reason = later.reason;
		return;
	}
}

static int decide_insurer(const struct rules_facts *f,
			  struct rules_decision *out)
{
	int len = decide_number_len(f);

	if (len < 0)
		return -1;
	out->has_number = len > 0;
	if (!out->has_number) {
		out->insurer_scheme = f->scheme;
		out->channel = rules_scheme_channel(f->scheme);
		return 0;
	}
	if (rules_insurer_parse(f->insurer_number, (size_t)len,
				&out->insurer) != RULES_INSURER_OK)
		return -1;
	if (!rules_scheme_agrees(out->insurer.scheme, f->scheme))
		return -1;
	out->insurer_scheme = out->insurer.scheme;
	/* The registry (the scheme fact) can say a 6-digit number is a
	 * 国保組合's, which changes where the member applies. */
	if (out->insurer.scheme == RULES_SCHEME_NHI &&
	    f->scheme == RULES_SCHEME_NHI_ASSOCIATION)
		out->insurer_scheme = RULES_SCHEME_NHI_ASSOCIATION;
	out->channel = rules_scheme_channel(out->insurer_scheme);
	return 0;
}

/* The reasons and missing facts of the decision core reached. */
static void decide_reasons(const struct decide_ctx *c,
			   const struct decide_day *today,
			   const struct decide_core *core,
			   struct rules_decision *out)
{
	const struct rules_facts *f = c->f;

	decide_push_reason(out, core->reason);
	if (core->reason == RULES_R_LATE_ELDERLY_AGE &&
	    core->entitlement == RULES_ENT_UNDETERMINED)
		decide_push_fact(out, RULES_F_BIRTH_DATE);
	if (core->reason == RULES_R_REGISTRATION_UNKNOWN) {
		if (f->mynumber_card != RULES_CARD_HELD)
			decide_push_fact(out, RULES_F_MYNUMBER_CARD);
		if (f->insurance_registration != RULES_REG_REGISTERED)
			decide_push_fact(out, RULES_F_INSURANCE_REGISTRATION);
	}
	if (today->late_from_age)
		decide_push_reason(out, RULES_R_SCHEME_INFERRED_FROM_AGE);
	else if (c->scheme_unknown)
		decide_push_reason(out, RULES_R_SCHEME_UNKNOWN);
	if (decide_in_grace(c, f->ecert_expiry) ||
	    decide_in_grace(c, f->card_expiry))
		decide_push_reason(out, RULES_R_ECERT_IN_GRACE);
}

static int decide(const struct rules_facts *f, int32_t as_of,
		  const struct rules_params *p, bool look_ahead,
		  struct rules_decision *out)
{
	struct decide_ctx c;
	struct decide_day today;
	struct decide_core core;
	enum rules_entitlement e;

	if (f == NULL || p == NULL || out == NULL || as_of == RULES_NO_DATE)
		return -1;
	if (!decide_enums_valid(f))
		return -1;
	/* A birth after as_of has no age; api/ answers it as invalid_date. */
	if (f->birth_date != RULES_NO_DATE && f->birth_date > as_of)
		return -1;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.f = f;
	c.p = p;
	c.as_of = as_of;
	out->as_of = as_of;
	/* The registry's name is the caller's to fill in. */
	out->insurer_name = NULL;
	if (decide_insurer(f, out) != 0)
		return -1;

	out->age = f->birth_date == RULES_NO_DATE
		       ? -1
		       : rules_age_on(f->birth_date, as_of);
	c.late_fixed = decide_late_fixed(f, out);
	c.scheme_unknown = c.late_fixed < 0 && out->age < 0;
	/* A certificate issued on application is renewed without a new one,
	 * so the application stays made after valid_until. */
	c.application_made = f->cert_status == RULES_CERT_APPLIED ||
			     (f->cert_status == RULES_CERT_ISSUED &&
			      f->cert_basis == RULES_BASIS_APPLICATION);
	decide_today(&c, out->age, &today);
	out->late_elderly = today.late_elderly;
	out->child = today.child;

	decide_rules(&c, &today, &core);
	out->status = core.status;
	if (out->status == RULES_STATUS_REGISTERED)
		out->usable = 1;
	else if (out->status == RULES_STATUS_UNKNOWN)
		out->usable = -1;
	else
		out->usable = 0;
	e = out->entitlement = core.entitlement;
	out->application_required = core.application_required;
	out->may_apply = e == RULES_ENT_EX_OFFICIO ||
			 e == RULES_ENT_PROVISIONAL ||
			 e == RULES_ENT_ON_APPLICATION;

	decide_reasons(&c, &today, &core, out);

	decide_deadline(&c, out);
	decide_renewal(&c, out);
	decide_applicants(&c, out);
	decide_advice(&c, out);
	if (look_ahead)
		decide_next_change(&c, &today, out->age, &core,
				   &out->next_change);
	else
		out->next_change.date = RULES_NO_DATE;
	return 0;
}

int rules_decide(const struct rules_facts *f, int32_t as_of,
		 const struct rules_params *p, struct rules_decision *out)
{
	return decide(f, as_of, p, true, out);
}

int rules_decide_at(const struct rules_facts *f, int32_t as_of,
		    const struct rules_params *p, struct rules_decision *out)
{
	return decide(f, as_of, p, false, out);
}
