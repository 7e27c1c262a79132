/* decide.c - the decision of SPEC §3: registration status, certificate
 * entitlement, deadlines, applicants, reasons and advice.
 *
 * One pass, in the order of the spec: derived facts, registration, the
 * first entitlement rule that applies, then what follows from it.
 */
#include "rules/rules.h"

#include <string.h>

#define NEED(n) (1u << RULES_NEED_##n)

/* The derived facts and intermediate results one decision needs. */
struct decide_ctx {
	const struct rules_facts *f;
	const struct rules_params *p;
	int32_t as_of;
	bool late_elderly;
	bool late_from_age;
	bool scheme_unknown;
	bool cert_held;
	bool application_made;
};

static bool decide_enums_valid(const struct rules_facts *f)
{
	return (unsigned)f->scheme < RULES_SCHEME_COUNT &&
	       (unsigned)f->mynumber_card < RULES_CARD_COUNT &&
	       (unsigned)f->insurance_registration < RULES_REG_COUNT &&
	       (unsigned)f->setting < RULES_SETTING_COUNT &&
	       (unsigned)f->cert_status < RULES_CERT_COUNT &&
	       (unsigned)f->cert_basis < RULES_BASIS_COUNT &&
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

static enum rules_reg_status decide_status(const struct decide_ctx *c)
{
	const struct rules_facts *f = c->f;

	if (f->mynumber_card == RULES_CARD_NONE)
		return RULES_STATUS_NO_CARD;
	if (f->mynumber_card == RULES_CARD_LOST ||
	    f->mynumber_card == RULES_CARD_RENEWING)
		return RULES_STATUS_CARD_UNAVAILABLE;
	if (decide_beyond_grace(c, f->ecert_expiry) ||
	    decide_beyond_grace(c, f->card_expiry))
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

/* The nine rules of the entitlement table; the first that applies sets the
 * entitlement and the deciding reason (and missing facts when it cannot
 * decide). */
static void decide_entitlement(const struct decide_ctx *c,
			       struct rules_decision *out)
{
	const struct rules_facts *f = c->f;
	bool after_provisional = c->as_of > c->p->provisional_end;
	bool needs = f->care_needs != 0;

	switch (out->status) {
	case RULES_STATUS_NO_CARD:
	case RULES_STATUS_ECERT_EXPIRED:
	case RULES_STATUS_CANCELLED:
	case RULES_STATUS_UNREGISTERED:
		out->entitlement = RULES_ENT_EX_OFFICIO;
		decide_push_reason(out, RULES_R_NO_USABLE_MYNAHOKEN);
		return;
	default: break;
	}
	if (c->late_elderly && !after_provisional) {
		out->entitlement = RULES_ENT_PROVISIONAL;
		decide_push_reason(out, RULES_R_LATE_ELDERLY_PROVISIONAL);
		return;
	}
	if (c->late_elderly && c->p->late_elderly_auto_age >= 0) {
		int32_t renewal = decide_renewal_day(c);

		if (renewal != RULES_NO_DATE &&
		    f->birth_date == RULES_NO_DATE) {
			out->entitlement = RULES_ENT_UNDETERMINED;
			decide_push_reason(out, RULES_R_LATE_ELDERLY_AGE);
			decide_push_fact(out, RULES_F_BIRTH_DATE);
			return;
		}
		if (renewal != RULES_NO_DATE &&
		    rules_age_on(f->birth_date, renewal) >=
			c->p->late_elderly_auto_age) {
			out->entitlement = RULES_ENT_EX_OFFICIO;
			decide_push_reason(out, RULES_R_LATE_ELDERLY_AGE);
			return;
		}
	}
	if (c->late_elderly && c->application_made) {
		out->entitlement = RULES_ENT_ON_APPLICATION;
		decide_push_reason(out, RULES_R_LATE_ELDERLY_APPLIED);
		return;
	}
	if (out->status == RULES_STATUS_CARD_UNAVAILABLE) {
		out->entitlement = RULES_ENT_ON_APPLICATION;
		decide_push_reason(out,
				   RULES_R_CARD_UNAVAILABLE_ON_APPLICATION);
		return;
	}
	if (out->status == RULES_STATUS_UNKNOWN) {
		out->entitlement = RULES_ENT_UNDETERMINED;
		decide_push_reason(out, RULES_R_REGISTRATION_UNKNOWN);
		if (f->mynumber_card != RULES_CARD_HELD)
			decide_push_fact(out, RULES_F_MYNUMBER_CARD);
		if (f->insurance_registration != RULES_REG_REGISTERED)
			decide_push_fact(out, RULES_F_INSURANCE_REGISTRATION);
		return;
	}
	/* Only `registered` is left: the マイナ保険証 is usable.  The notice
	 * names children in children's homes (記1), so living in one counts
	 * like a care need for a child. */
	if (out->child &&
	    (needs || f->setting == RULES_SETTING_CHILDRENS_FACILITY)) {
		out->entitlement = RULES_ENT_ON_APPLICATION;
		decide_push_reason(out, RULES_R_CHILD_ON_APPLICATION);
	} else if (needs) {
		out->entitlement = RULES_ENT_ON_APPLICATION;
		decide_push_reason(out, RULES_R_CONSIDERATION_ON_APPLICATION);
	} else {
		out->entitlement = RULES_ENT_NOT_ENTITLED;
		decide_push_reason(out, RULES_R_HOLDS_MYNAHOKEN);
	}
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

/* Late-elderly from the number (authoritative), else the scheme fact, else
 * the age; fills the side-reason flags. */
static void decide_late_elderly(struct decide_ctx *c,
				const struct rules_decision *out)
{
	const struct rules_facts *f = c->f;

	if (out->has_number) {
		c->late_elderly =
		    out->insurer.scheme == RULES_SCHEME_LATE_ELDERLY;
	} else if (f->scheme != RULES_SCHEME_UNKNOWN) {
		c->late_elderly = f->scheme == RULES_SCHEME_LATE_ELDERLY;
	} else if (out->age >= 0) {
		c->late_elderly = out->age >= 75;
		c->late_from_age = c->late_elderly;
	} else {
		c->scheme_unknown = true;
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

int rules_decide(const struct rules_facts *f, int32_t as_of,
		 const struct rules_params *p, struct rules_decision *out)
{
	struct decide_ctx c;
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
	decide_late_elderly(&c, out);
	out->late_elderly = c.late_elderly;
	out->child =
	    out->age >= 0 ? out->age < 18 : (f->care_needs & NEED(CHILD)) != 0;

	c.cert_held = f->cert_status == RULES_CERT_ISSUED &&
		      (f->cert_valid_until == RULES_NO_DATE ||
		       f->cert_valid_until >= as_of);
	/* A certificate issued on application is renewed without a new one,
	 * so the application stays made after valid_until. */
	c.application_made = f->cert_status == RULES_CERT_APPLIED ||
			     (f->cert_status == RULES_CERT_ISSUED &&
			      f->cert_basis == RULES_BASIS_APPLICATION);

	out->status = decide_status(&c);
	if (out->status == RULES_STATUS_REGISTERED)
		out->usable = 1;
	else if (out->status == RULES_STATUS_UNKNOWN)
		out->usable = -1;
	else
		out->usable = 0;

	decide_entitlement(&c, out);
	e = out->entitlement;
	out->application_required = e == RULES_ENT_ON_APPLICATION &&
				    !c.application_made && !c.cert_held;
	out->may_apply = e == RULES_ENT_EX_OFFICIO ||
			 e == RULES_ENT_PROVISIONAL ||
			 e == RULES_ENT_ON_APPLICATION;

	if (c.late_from_age)
		decide_push_reason(out, RULES_R_SCHEME_INFERRED_FROM_AGE);
	else if (c.scheme_unknown)
		decide_push_reason(out, RULES_R_SCHEME_UNKNOWN);
	if (decide_in_grace(&c, f->ecert_expiry) ||
	    decide_in_grace(&c, f->card_expiry))
		decide_push_reason(out, RULES_R_ECERT_IN_GRACE);

	decide_deadline(&c, out);
	decide_renewal(&c, out);
	decide_applicants(&c, out);
	decide_advice(&c, out);
	return 0;
}
