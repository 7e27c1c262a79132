/* test_rules_decide.c - the decision of SPEC §3 (rules/decide.c).
 *
 * Each case gives facts and the whole expected decision (lists compared in
 * order, as space-separated JSON names), worked out by hand from the spec,
 * not from the code.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "rules/rules.h"

/* Table rows leave the trailing optional members (insurer checks, params)
 * out; that is their default, not an oversight. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define N(a)    (sizeof(a) / sizeof((a)[0]))
#define APP5    "self family legal_representative caregiver delegate"
#define NEED(n) (1u << RULES_NEED_##n)

/* Facts with dates as text; NULL = absent. */
struct fx {
	const char *birth, *insurer;
	enum rules_scheme scheme;
	enum rules_card card;
	enum rules_registration reg;
	const char *ecert, *card_exp;
	unsigned needs;
	enum rules_setting setting;
	const char *legacy;
	enum rules_cert_status cert;
	enum rules_cert_basis basis;
	const char *applied_on, *valid_until;
};

struct want {
	enum rules_reg_status status;
	int usable;
	enum rules_entitlement ent;
	bool required, may;
	const char *apply_by, *rec; /* NULL = null */
	const char *applicants, *reasons, *advice, *missing;
	/* insurer, checked when `insurer` is set */
	bool insurer;
	enum rules_scheme scheme;
	enum rules_channel channel;
};

/* Whole decisions that many cases expect. */
/* holds the Mynahoken: not entitled, the eligibility notice */
#define W_HOLDS                                                                \
	{                                                                      \
		RULES_STATUS_REGISTERED, 1, RULES_ENT_NOT_ENTITLED, false,     \
		    false, NULL, NULL, "", "holds_mynahoken",                  \
		    "eligibility_notice", ""                                   \
	}
/* the same, its e-certificate expired within the grace */
#define W_HOLDS_IN_GRACE                                                       \
	{                                                                      \
		RULES_STATUS_REGISTERED, 1, RULES_ENT_NOT_ENTITLED, false,     \
		    false, NULL, NULL, "", "holds_mynahoken ecert_in_grace",   \
		    "renew_ecert eligibility_notice", ""                       \
	}
/* e-certificate expired: ex officio */
#define W_ECERT_EXPIRED                                                        \
	{                                                                      \
		RULES_STATUS_ECERT_EXPIRED, 0, RULES_ENT_EX_OFFICIO, false,    \
		    true, NULL, NULL, APP5, "no_usable_mynahoken", "", ""      \
	}
/* late elderly by age: ex officio */
#define W_LATE_AGE                                                             \
	{                                                                      \
		RULES_STATUS_REGISTERED, 1, RULES_ENT_EX_OFFICIO, false, true, \
		    NULL, NULL, APP5, "late_elderly_age",                      \
		    "carry_mynahoken_for_emergencies", ""                      \
	}
/* card unavailable: on application, apply now */
#define W_CARD_UNAVAILABLE                                                     \
	{                                                                      \
		RULES_STATUS_CARD_UNAVAILABLE, 0, RULES_ENT_ON_APPLICATION,    \
		    true, true, NULL, NULL, APP5,                              \
		    "card_unavailable_on_application",                         \
		    "obtain_card_or_apply apply_now", ""                       \
	}
/* registration unknown: undetermined */
#define W_REG_UNKNOWN                                                          \
	{                                                                      \
		RULES_STATUS_UNKNOWN, -1, RULES_ENT_UNDETERMINED, false,       \
		    false, NULL, NULL, "", "registration_unknown",             \
		    "check_registration", "insurance_registration"             \
	}
/* registered, a care need: on application, apply now */
#define W_APPLY_NOW                                                            \
	{                                                                      \
		RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true,    \
		    true, NULL, NULL, APP5, "consideration_on_application",    \
		    "apply_now carry_mynahoken_for_emergencies "               \
		    "eligibility_notice",                                      \
		    ""                                                         \
	}

struct dcase {
	const char *name;
	const char *as_of;
	struct fx f;
	struct want w;
	const struct rules_params *p; /* NULL = defaults */
};

static int32_t day_of(const char *s)
{
	int32_t d = RULES_NO_DATE;

	if (s == NULL)
		return RULES_NO_DATE;
	cr_assert_eq(rules_date_parse(s, strlen(s), &d), 0,
		     "test date %s must parse", s);
	return d;
}

static struct rules_facts facts_of(const struct fx *x)
{
	struct rules_facts f;

	rules_facts_init(&f);
	f.birth_date = day_of(x->birth);
	if (x->insurer != NULL)
		snprintf(f.insurer_number, sizeof(f.insurer_number), "%s",
			 x->insurer);
	f.scheme = x->scheme;
	f.mynumber_card = x->card;
	f.insurance_registration = x->reg;
	f.ecert_expiry = day_of(x->ecert);
	f.card_expiry = day_of(x->card_exp);
	f.care_needs = x->needs;
	f.setting = x->setting;
	f.legacy_card_expiry = day_of(x->legacy);
	f.cert_status = x->cert;
	f.cert_basis = x->basis;
	f.cert_applied_on = day_of(x->applied_on);
	f.cert_valid_until = day_of(x->valid_until);
	return f;
}

/* The lists of a decision, by their JSON names. */
enum list { APPLICANTS, REASONS, ADVICE, MISSING };

/* Name i of list l of d. */
static const char *name_in(const struct rules_decision *d, enum list l,
			   size_t i)
{
	switch (l) {
	case APPLICANTS: return rules_applicant_name(d->applicants[i]);
	case REASONS: return rules_reason_text(d->reasons[i])->code;
	case ADVICE: return rules_advice_text(d->advice[i])->code;
	case MISSING: return rules_fact_name(d->missing[i]);
	}
	return NULL;
}

/* List l of d: its names joined with single spaces into buf. */
static const char *names_of(const struct rules_decision *d, enum list l,
			    char *buf, size_t size)
{
	size_t n = l == APPLICANTS ? d->n_applicants
		   : l == REASONS  ? d->n_reasons
		   : l == ADVICE   ? d->n_advice
				   : d->n_missing;
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		const char *name = name_in(d, l, i);
		int w = snprintf(buf + used, size - used, "%s%s", i ? " " : "",
				 name ? name : "(null)");

		cr_assert(w > 0 && (size_t)w < size - used,
			  "join buffer too small");
		used += (size_t)w;
	}
	return buf;
}

static const char *date_or_null(int32_t day, char buf[11])
{
	if (day == RULES_NO_DATE)
		return "null";
	rules_date_format(day, buf);
	return buf;
}

static void decide_ok(const struct dcase *c, struct rules_decision *d)
{
	struct rules_params defaults;
	struct rules_facts f = facts_of(&c->f);

	rules_params_default(&defaults);
	memset(d, 0x5a, sizeof(*d));
	cr_assert_eq(
	    rules_decide(&f, day_of(c->as_of), c->p ? c->p : &defaults, d), 0,
	    "%s: rules_decide failed", c->name);
}

static void check_case(const struct dcase *c)
{
	const struct want *w = &c->w;
	struct rules_decision d;
	char buf[512];
	char date[11];

	decide_ok(c, &d);
	cr_expect_eq(d.as_of, day_of(c->as_of), "%s: as_of", c->name);
	cr_expect_str_eq(rules_reg_status_name(d.status),
			 rules_reg_status_name(w->status), "%s: status",
			 c->name);
	cr_expect_eq(d.usable, w->usable, "%s: usable %d", c->name, d.usable);
	cr_expect_str_eq(rules_entitlement_name(d.entitlement),
			 rules_entitlement_name(w->ent), "%s: entitlement",
			 c->name);
	cr_expect_eq(d.application_required, w->required,
		     "%s: application_required", c->name);
	cr_expect_eq(d.may_apply, w->may, "%s: may_apply", c->name);
	cr_expect_str_eq(date_or_null(d.apply_by, date),
			 w->apply_by ? w->apply_by : "null", "%s: apply_by",
			 c->name);
	cr_expect_str_eq(date_or_null(d.recommended_apply_by, date),
			 w->rec ? w->rec : "null", "%s: recommended_apply_by",
			 c->name);
	cr_expect_str_eq(names_of(&d, APPLICANTS, buf, sizeof(buf)),
			 w->applicants, "%s: applicants", c->name);
	cr_expect_str_eq(names_of(&d, REASONS, buf, sizeof(buf)), w->reasons,
			 "%s: reasons", c->name);
	cr_expect_str_eq(names_of(&d, ADVICE, buf, sizeof(buf)), w->advice,
			 "%s: advice", c->name);
	cr_expect_str_eq(names_of(&d, MISSING, buf, sizeof(buf)), w->missing,
			 "%s: missing_facts", c->name);
	if (w->insurer) {
		cr_expect_eq(d.insurer_scheme, w->scheme,
			     "%s: insurer scheme %d", c->name,
			     d.insurer_scheme);
		cr_expect_eq(d.channel, w->channel, "%s: channel %d", c->name,
			     d.channel);
	}
}

static void check_cases(const struct dcase *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		check_case(&cases[i]);
}

/* Shorthands for the common facts. */
#define HELD   .card = RULES_CARD_HELD
#define REG    .reg = RULES_REG_REGISTERED
#define NHI    .insurer = "138057"
#define KYOKAI .insurer = "01130012"
#define LATE   .insurer = "39132014"

/* ---- decisions like those of tests/cases/eligibility.jsonl ------------- */
/* (a table of its own, not read from the file: every line of the file runs
 * against the server in tests/e2e/test_cases.py) */

Test(rules_decide, sample_cases)
{
	static const struct dcase cases[] = {
	    {"no My Number card: certificate issued ex officio",
	     "2025-06-01",
	     {.birth = "1965-04-02",
	      NHI,
	      .card = RULES_CARD_NONE,
	      .reg = RULES_REG_UNKNOWN},
	     {RULES_STATUS_NO_CARD, 0, RULES_ENT_EX_OFFICIO, false, true, NULL,
	      NULL, APP5, "no_usable_mynahoken", "obtain_card_or_apply", "",
	      true, RULES_SCHEME_NHI, RULES_CHANNEL_MUNICIPAL_COUNTER}},
	    {"card held but not registered for insurance use",
	     "2025-06-01",
	     {.birth = "1965-04-02", NHI, HELD, .reg = RULES_REG_UNREGISTERED},
	     {RULES_STATUS_UNREGISTERED, 0, RULES_ENT_EX_OFFICIO, false, true,
	      NULL, NULL, APP5, "no_usable_mynahoken", "", ""}},
	    {"registration cancelled",
	     "2025-06-01",
	     {NHI, HELD, .reg = RULES_REG_CANCELLED},
	     {RULES_STATUS_CANCELLED, 0, RULES_ENT_EX_OFFICIO, false, true,
	      NULL, NULL, APP5, "no_usable_mynahoken", "", ""}},
	    {"electronic certificate expired",
	     "2025-06-01",
	     {NHI, HELD, REG, .ecert = "2025-02-14"},
	     W_ECERT_EXPIRED},
	    {"registered, no care needs: use the マイナ保険証",
	     "2025-06-01",
	     {.birth = "1975-01-20", NHI, HELD, REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_NOT_ENTITLED, false, false,
	      NULL, NULL, "", "holds_mynahoken", "eligibility_notice", "", true,
	      RULES_SCHEME_NHI, RULES_CHANNEL_MUNICIPAL_COUNTER}},
	    {"elderly care-home resident holding a registered card",
	     "2025-06-01",
	     {.birth = "1948-09-09",
	      NHI,
	      HELD,
	      REG,
	      .needs = NEED(ELDERLY) | NEED(PIN_DIFFICULTY),
	      .setting = RULES_SETTING_CARE_FACILITY,
	      .legacy = "2025-07-31"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      "2025-07-31", "2025-07-01", APP5 " facility",
	      "consideration_on_application",
	      "apply_before_deadline face_auth_card visual_confirmation "
	      "facility_keeps_registration carry_mynahoken_for_emergencies "
	      "proxy_medicine_pickup eligibility_notice",
	      ""}},
	    {"late-elderly member during the provisional operation",
	     "2025-06-01",
	     {.birth = "1945-05-05", LATE, HELD, REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      "2026-07-31", "2026-07-01", APP5, "late_elderly_provisional",
	      "apply_to_continue_after_provisional "
	      "carry_mynahoken_for_emergencies",
	      "", true, RULES_SCHEME_LATE_ELDERLY,
	      RULES_CHANNEL_MUNICIPAL_COUNTER}},
	    {"late-elderly member after the provisional operation, no care "
	     "needs",
	     "2026-09-01",
	     {.birth = "1945-05-05", LATE, HELD, REG},
	     W_HOLDS},
	    {"late-elderly member with dementia who applied",
	     "2026-09-01",
	     {.birth = "1947-01-15",
	      LATE,
	      HELD,
	      REG,
	      .needs = NEED(DEMENTIA),
	      .setting = RULES_SETTING_CARE_FACILITY,
	      .cert = RULES_CERT_APPLIED,
	      .applied_on = "2026-03-01"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, false, true,
	      NULL, NULL, APP5 " facility", "late_elderly_applied",
	      "face_auth_card visual_confirmation facility_keeps_registration "
	      "carry_mynahoken_for_emergencies proxy_medicine_pickup",
	      ""}},
	    {"card lost: apply for a certificate",
	     "2026-10-01",
	     {.birth = "1970-03-03", NHI, .card = RULES_CARD_LOST, REG},
	     W_CARD_UNAVAILABLE},
	    {"late-elderly member aged 85 or over after the provisional "
	     "operation",
	     "2026-09-01",
	     {.birth = "1938-02-11", LATE, HELD, REG},
	     W_LATE_AGE},
	    {"registration status unknown: cannot decide, check it",
	     "2025-06-01",
	     {.birth = "1975-01-20", NHI, HELD, .reg = RULES_REG_UNKNOWN},
	     W_REG_UNKNOWN},
	    {"child in a children's home",
	     "2025-06-01",
	     {.birth = "2015-08-01",
	      KYOKAI,
	      HELD,
	      REG,
	      .needs = NEED(CHILD),
	      .setting = RULES_SETTING_CHILDRENS_FACILITY},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      NULL, NULL, APP5 " guardian facility_staff_delegated_by_guardian",
	      "child_on_application",
	      "apply_now facility_keeps_registration "
	      "carry_mynahoken_for_emergencies "
	      "proxy_medicine_pickup eligibility_notice",
	      "", true, RULES_SCHEME_KYOKAI, RULES_CHANNEL_EMPLOYER}},
	    {"employee insured with a disability living at home",
	     "2025-06-01",
	     {.birth = "1980-02-02",
	      KYOKAI,
	      HELD,
	      REG,
	      .needs = NEED(DISABILITY),
	      .setting = RULES_SETTING_HOME},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      NULL, NULL, APP5, "consideration_on_application",
	      "apply_now visual_confirmation carry_mynahoken_for_emergencies "
	      "proxy_medicine_pickup care_manager_guidance eligibility_notice",
	      "", true, RULES_SCHEME_KYOKAI, RULES_CHANNEL_EMPLOYER}},
	    /* lines 19-20 */
	    {"a child in a children's home may have a certificate on "
	     "application even with no care need recorded",
	     "2026-11-30",
	     {.birth = "2016-04-10",
	      NHI,
	      HELD,
	      REG,
	      .setting = RULES_SETTING_CHILDRENS_FACILITY},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      NULL, NULL, APP5 " guardian facility_staff_delegated_by_guardian",
	      "child_on_application",
	      "apply_now facility_keeps_registration "
	      "carry_mynahoken_for_emergencies proxy_medicine_pickup "
	      "eligibility_notice",
	      ""}},
	    {"registration not known, PIN is hard: face-recognition card and "
	     "visual confirmation are still worth saying",
	     "2026-11-30",
	     {.birth = "1939-05-05",
	      NHI,
	      HELD,
	      .needs = NEED(PIN_DIFFICULTY),
	      .setting = RULES_SETTING_CARE_FACILITY},
	     {RULES_STATUS_UNKNOWN, -1, RULES_ENT_UNDETERMINED, false, false,
	      NULL, NULL, "", "registration_unknown",
	      "check_registration face_auth_card visual_confirmation "
	      "proxy_medicine_pickup",
	      "insurance_registration"}},
	};

	check_cases(cases, N(cases));
}

Test(rules_decide, sample_case_bad_check_digit_is_refused)
{
	struct rules_facts f;
	struct rules_params p;
	struct rules_decision d;

	rules_facts_init(&f);
	rules_params_default(&p);
	strcpy(f.insurer_number, "39131007");
	f.mynumber_card = RULES_CARD_HELD;
	f.insurance_registration = RULES_REG_REGISTERED;
	cr_expect_eq(rules_decide(&f, day_of("2025-06-01"), &p, &d), -1);
}

/* ---- late-elderly and the side reasons --------------------------------- */

Test(rules_decide, late_elderly_derivation)
{
	static const struct dcase cases[] = {
	    {"scheme fact late_elderly, no number",
	     "2025-06-01",
	     {.scheme = RULES_SCHEME_LATE_ELDERLY, HELD, REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      "2026-07-31", "2026-07-01", APP5, "late_elderly_provisional",
	      "apply_to_continue_after_provisional "
	      "carry_mynahoken_for_emergencies",
	      "", true, RULES_SCHEME_LATE_ELDERLY,
	      RULES_CHANNEL_MUNICIPAL_COUNTER}},
	    {"NHI number is authoritative over age 85",
	     "2025-06-01",
	     {.birth = "1940-01-01", NHI, HELD, REG},
	     W_HOLDS},
	    {"scheme fact kyokai wins over age",
	     "2025-06-01",
	     {.birth = "1940-01-01", .scheme = RULES_SCHEME_KYOKAI, HELD, REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_NOT_ENTITLED, false, false,
	      NULL, NULL, "", "holds_mynahoken", "eligibility_notice", "", true,
	      RULES_SCHEME_KYOKAI, RULES_CHANNEL_EMPLOYER}},
	    {"age 74, day before the 75th birthday",
	     "2025-05-31",
	     {.birth = "1950-06-01", HELD, REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_NOT_ENTITLED, false, false,
	      NULL, NULL, "", "holds_mynahoken", "eligibility_notice", "", true,
	      RULES_SCHEME_UNKNOWN, RULES_CHANNEL_NONE}},
	    {"75th birthday: late-elderly inferred from age",
	     "2025-06-01",
	     {.birth = "1950-06-01", HELD, REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      "2026-07-31", "2026-07-01", APP5,
	      "late_elderly_provisional scheme_inferred_from_age",
	      "apply_to_continue_after_provisional "
	      "carry_mynahoken_for_emergencies",
	      "", true, RULES_SCHEME_UNKNOWN, RULES_CHANNEL_NONE}},
	    {"29 Feb birth turns 75 on 1 March",
	     "2025-02-28",
	     {.birth = "1950-02-28", HELD, REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      "2026-07-31", "2026-07-01", APP5,
	      "late_elderly_provisional scheme_inferred_from_age",
	      "apply_to_continue_after_provisional "
	      "carry_mynahoken_for_emergencies",
	      ""}},
	    {"nothing known about the scheme",
	     "2025-06-01",
	     {HELD, REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_NOT_ENTITLED, false, false,
	      NULL, NULL, "", "holds_mynahoken scheme_unknown",
	      "eligibility_notice", "", true, RULES_SCHEME_UNKNOWN,
	      RULES_CHANNEL_NONE}},
	    {"scheme_unknown follows whichever rule decided",
	     "2025-06-01",
	     {.card = RULES_CARD_NONE},
	     {RULES_STATUS_NO_CARD, 0, RULES_ENT_EX_OFFICIO, false, true, NULL,
	      NULL, APP5, "no_usable_mynahoken scheme_unknown",
	      "obtain_card_or_apply", ""}},
	    {"inferred from age follows rule 1 too",
	     "2025-06-01",
	     {.birth = "1940-01-01", .card = RULES_CARD_NONE},
	     {RULES_STATUS_NO_CARD, 0, RULES_ENT_EX_OFFICIO, false, true, NULL,
	      NULL, APP5, "no_usable_mynahoken scheme_inferred_from_age",
	      "obtain_card_or_apply", ""}},
	    {"a scheme alone is no scheme_unknown",
	     "2025-06-01",
	     {.scheme = RULES_SCHEME_OTHER, HELD, REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_NOT_ENTITLED, false, false,
	      NULL, NULL, "", "holds_mynahoken", "eligibility_notice", "", true,
	      RULES_SCHEME_OTHER, RULES_CHANNEL_INSURER}},
	    {"registration unknown, scheme unknown, e-cert in grace: reason "
	     "order",
	     "2025-06-01",
	     {HELD, .ecert = "2025-05-31"},
	     {RULES_STATUS_UNKNOWN, -1, RULES_ENT_UNDETERMINED, false, false,
	      NULL, NULL, "",
	      "registration_unknown scheme_unknown ecert_in_grace",
	      "check_registration", "insurance_registration"}},
	    {"inferred from age, then in grace",
	     "2025-06-01",
	     {.birth = "1945-01-01", HELD, REG, .card_exp = "2025-04-30"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      "2026-07-31", "2026-07-01", APP5,
	      "late_elderly_provisional scheme_inferred_from_age "
	      "ecert_in_grace",
	      "renew_ecert apply_to_continue_after_provisional "
	      "carry_mynahoken_for_emergencies",
	      ""}},
	};

	check_cases(cases, N(cases));
}

/* ---- rule 2: the provisional operation and its end ---------------------- */

Test(rules_decide, provisional_end_boundary)
{
	static const struct dcase cases[] = {
	    {"last day of the provisional operation",
	     "2026-07-31",
	     {.birth = "1950-01-01",
	      .scheme = RULES_SCHEME_LATE_ELDERLY,
	      HELD,
	      REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      "2026-07-31", "2026-07-31", APP5, "late_elderly_provisional",
	      "apply_to_continue_after_provisional "
	      "carry_mynahoken_for_emergencies",
	      ""}},
	    {"day after: age 76 on the renewal day, no needs",
	     "2026-08-01",
	     {.birth = "1950-01-01",
	      .scheme = RULES_SCHEME_LATE_ELDERLY,
	      HELD,
	      REG},
	     W_HOLDS},
	    {"day after, with care needs at home",
	     "2026-08-01",
	     {.birth = "1950-01-01",
	      .scheme = RULES_SCHEME_LATE_ELDERLY,
	      HELD,
	      REG,
	      .needs = NEED(ELDERLY),
	      .setting = RULES_SETTING_HOME},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      NULL, NULL, APP5, "consideration_on_application",
	      "apply_now carry_mynahoken_for_emergencies proxy_medicine_pickup "
	      "care_manager_guidance eligibility_notice",
	      ""}},
	    {"recommended day equals as_of",
	     "2026-07-01",
	     {.scheme = RULES_SCHEME_LATE_ELDERLY, HELD, REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      "2026-07-31", "2026-07-01", APP5, "late_elderly_provisional",
	      "apply_to_continue_after_provisional "
	      "carry_mynahoken_for_emergencies",
	      ""}},
	    {"recommended day clamped to as_of",
	     "2026-07-15",
	     {.scheme = RULES_SCHEME_LATE_ELDERLY, HELD, REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      "2026-07-31", "2026-07-15", APP5, "late_elderly_provisional",
	      "apply_to_continue_after_provisional "
	      "carry_mynahoken_for_emergencies",
	      ""}},
	    {"provisional beats a lost card (rule 2 before rule 5)",
	     "2025-06-01",
	     {LATE, .card = RULES_CARD_LOST},
	     {RULES_STATUS_CARD_UNAVAILABLE, 0, RULES_ENT_PROVISIONAL, false,
	      true, "2026-07-31", "2026-07-01", APP5,
	      "late_elderly_provisional",
	      "obtain_card_or_apply apply_to_continue_after_provisional", ""}},
	    {"provisional beats an unknown registration (rule 2 before 6)",
	     "2025-06-01",
	     {LATE},
	     {RULES_STATUS_UNKNOWN, -1, RULES_ENT_PROVISIONAL, false, true,
	      "2026-07-31", "2026-07-01", APP5, "late_elderly_provisional",
	      "check_registration apply_to_continue_after_provisional", ""}},
	    {"no card beats provisional (rule 1 first)",
	     "2025-06-01",
	     {LATE, .card = RULES_CARD_NONE},
	     {RULES_STATUS_NO_CARD, 0, RULES_ENT_EX_OFFICIO, false, true, NULL,
	      NULL, APP5, "no_usable_mynahoken", "obtain_card_or_apply", ""}},
	    {"provisional with an application made: no deadline",
	     "2025-06-01",
	     {LATE, HELD, REG, .cert = RULES_CERT_APPLIED},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      NULL, NULL, APP5, "late_elderly_provisional",
	      "carry_mynahoken_for_emergencies", ""}},
	    {"provisional holding a provisional certificate: still no "
	     "application",
	     "2025-06-01",
	     {LATE, HELD, REG, .cert = RULES_CERT_ISSUED,
	      .basis = RULES_BASIS_PROVISIONAL, .valid_until = "2026-07-31"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      "2026-07-31", "2026-07-01", APP5, "late_elderly_provisional",
	      "apply_to_continue_after_provisional "
	      "carry_mynahoken_for_emergencies",
	      ""}},
	    {"provisional holding a certificate issued on application",
	     "2025-06-01",
	     {LATE, HELD, REG, .cert = RULES_CERT_ISSUED,
	      .basis = RULES_BASIS_APPLICATION},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      NULL, NULL, APP5, "late_elderly_provisional",
	      "carry_mynahoken_for_emergencies", ""}},
	};

	check_cases(cases, N(cases));
}

/* ---- rule 3: age on the renewal day ------------------------------------- */

Test(rules_decide, renewal_day_age)
{
	static const struct dcase cases[] = {
	    {"85 on the first renewal day",
	     "2026-08-01",
	     {.birth = "1941-08-01", LATE, HELD, REG},
	     W_LATE_AGE},
	    {"84 on the renewal day",
	     "2026-08-01",
	     {.birth = "1941-08-02", LATE, HELD, REG},
	     W_HOLDS},
	    {"turns 85 after the renewal day: not until the next one",
	     "2026-08-02",
	     {.birth = "1941-08-02", LATE, HELD, REG},
	     W_HOLDS},
	    {"still the 2026 renewal day the next July",
	     "2027-07-31",
	     {.birth = "1941-08-02", LATE, HELD, REG},
	     W_HOLDS},
	    {"the 2027 renewal day",
	     "2027-08-01",
	     {.birth = "1941-08-02", LATE, HELD, REG},
	     W_LATE_AGE},
	    {"85 tomorrow, but still provisional today",
	     "2026-07-31",
	     {.birth = "1941-08-01", LATE, HELD, REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      "2026-07-31", "2026-07-31", APP5, "late_elderly_provisional",
	      "apply_to_continue_after_provisional "
	      "carry_mynahoken_for_emergencies",
	      ""}},
	    {"29 Feb birth, 85 on the renewal day",
	     "2026-08-01",
	     {.birth = "1940-02-29", LATE, HELD, REG},
	     W_LATE_AGE},
	    {"no birth date: undetermined",
	     "2026-08-01",
	     {LATE, HELD, REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_UNDETERMINED, false, false,
	      NULL, NULL, "", "late_elderly_age", "", "birth_date"}},
	    {"no birth date, applied: rule 3 still first",
	     "2026-09-01",
	     {.scheme = RULES_SCHEME_LATE_ELDERLY,
	      HELD,
	      REG,
	      .cert = RULES_CERT_APPLIED},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_UNDETERMINED, false, false,
	      NULL, NULL, "", "late_elderly_age", "", "birth_date"}},
	    {"rule 3 before a lost card (rule 5)",
	     "2026-09-01",
	     {.birth = "1935-01-01", LATE, .card = RULES_CARD_LOST},
	     {RULES_STATUS_CARD_UNAVAILABLE, 0, RULES_ENT_EX_OFFICIO, false,
	      true, NULL, NULL, APP5, "late_elderly_age",
	      "obtain_card_or_apply", ""}},
	    {"after provisional, under 85, lost card: rule 5",
	     "2026-09-01",
	     {.birth = "1945-01-01", LATE, .card = RULES_CARD_LOST},
	     W_CARD_UNAVAILABLE},
	    {"after provisional, under 85, unknown registration: rule 6",
	     "2026-09-01",
	     {.birth = "1945-01-01", LATE, HELD},
	     W_REG_UNKNOWN},
	    {"85 by age inference alone",
	     "2026-09-01",
	     {.birth = "1930-01-01", HELD, REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_EX_OFFICIO, false, true,
	      NULL, NULL, APP5, "late_elderly_age scheme_inferred_from_age",
	      "carry_mynahoken_for_emergencies", ""}},
	};

	check_cases(cases, N(cases));
}

/* ---- rule 4 and certificates -------------------------------------------- */

Test(rules_decide, applications_and_certificates)
{
	static const struct dcase cases[] = {
	    {"applied after provisional",
	     "2026-09-01",
	     {.birth = "1950-01-01",
	      LATE,
	      HELD,
	      REG,
	      .cert = RULES_CERT_APPLIED},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, false, true,
	      NULL, NULL, APP5, "late_elderly_applied",
	      "carry_mynahoken_for_emergencies", ""}},
	    {"issued on application, expired: still an application made",
	     "2026-09-01",
	     {.birth = "1950-01-01",
	      LATE,
	      HELD,
	      REG,
	      .cert = RULES_CERT_ISSUED,
	      .basis = RULES_BASIS_APPLICATION,
	      .valid_until = "2026-07-31"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, false, true,
	      NULL, NULL, APP5, "late_elderly_applied",
	      "carry_mynahoken_for_emergencies", ""}},
	    {"provisional certificate is no application",
	     "2026-09-01",
	     {.birth = "1950-01-01",
	      LATE,
	      HELD,
	      REG,
	      .cert = RULES_CERT_ISSUED,
	      .basis = RULES_BASIS_PROVISIONAL,
	      .valid_until = "2026-07-31"},
	     W_HOLDS},
	    {"certificate status none is no application",
	     "2026-09-01",
	     {.birth = "1950-01-01", LATE, HELD, REG, .cert = RULES_CERT_NONE},
	     W_HOLDS},
	    {"held ex officio certificate: no application required",
	     "2025-06-01",
	     {NHI, HELD, REG, .needs = NEED(ELDERLY), .cert = RULES_CERT_ISSUED,
	      .basis = RULES_BASIS_EX_OFFICIO, .legacy = "2025-07-31"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, false, true,
	      NULL, NULL, APP5, "consideration_on_application",
	      "carry_mynahoken_for_emergencies", ""}},
	    {"held certificate valid until today",
	     "2025-06-01",
	     {NHI, HELD, REG, .needs = NEED(ELDERLY), .cert = RULES_CERT_ISSUED,
	      .basis = RULES_BASIS_EX_OFFICIO, .valid_until = "2025-06-01"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, false, true,
	      NULL, NULL, APP5, "consideration_on_application",
	      "carry_mynahoken_for_emergencies", ""}},
	    {"ex officio certificate expired yesterday: apply",
	     "2025-06-01",
	     {NHI, HELD, REG, .needs = NEED(ELDERLY), .cert = RULES_CERT_ISSUED,
	      .basis = RULES_BASIS_EX_OFFICIO, .valid_until = "2025-05-31"},
	     W_APPLY_NOW},
	    {"issued with no basis, no expiry: held",
	     "2025-06-01",
	     {NHI, HELD, REG, .needs = NEED(OTHER), .cert = RULES_CERT_ISSUED},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, false, true,
	      NULL, NULL, APP5, "consideration_on_application",
	      "carry_mynahoken_for_emergencies", ""}},
	    {"applied, not late-elderly: rule 8 with nothing required",
	     "2025-06-01",
	     {NHI, HELD, REG, .needs = NEED(ILLNESS),
	      .cert = RULES_CERT_APPLIED, .legacy = "2025-07-31"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, false, true,
	      NULL, NULL, APP5, "consideration_on_application",
	      "visual_confirmation carry_mynahoken_for_emergencies", ""}},
	    {"an application does not make a no-needs person entitled",
	     "2025-06-01",
	     {NHI, HELD, REG, .cert = RULES_CERT_APPLIED},
	     W_HOLDS},
	};

	check_cases(cases, N(cases));
}

/* ---- registration status order and missing facts ------------------------ */

Test(rules_decide, registration_status_order)
{
	static const struct dcase cases[] = {
	    {"no card beats an expired e-cert",
	     "2025-06-01",
	     {NHI, .card = RULES_CARD_NONE, REG, .ecert = "2020-01-01"},
	     {RULES_STATUS_NO_CARD, 0, RULES_ENT_EX_OFFICIO, false, true, NULL,
	      NULL, APP5, "no_usable_mynahoken", "obtain_card_or_apply", ""}},
	    {"lost beats an expired e-cert",
	     "2025-06-01",
	     {NHI, .card = RULES_CARD_LOST, REG, .ecert = "2020-01-01"},
	     W_CARD_UNAVAILABLE},
	    {"renewing, registration unknown",
	     "2025-06-01",
	     {NHI, .card = RULES_CARD_RENEWING},
	     W_CARD_UNAVAILABLE},
	    {"expired e-cert beats cancelled",
	     "2025-06-01",
	     {NHI, HELD, .reg = RULES_REG_CANCELLED, .ecert = "2020-01-01"},
	     W_ECERT_EXPIRED},
	    {"card expired beyond grace",
	     "2025-06-01",
	     {NHI, HELD, REG, .card_exp = "2025-02-28", .ecert = "2030-01-01"},
	     W_ECERT_EXPIRED},
	    {"expired beyond grace with nothing else known",
	     "2025-06-01",
	     {NHI, .ecert = "2020-01-01"},
	     W_ECERT_EXPIRED},
	    {"registered but card unknown",
	     "2025-06-01",
	     {NHI, REG},
	     {RULES_STATUS_UNKNOWN, -1, RULES_ENT_UNDETERMINED, false, false,
	      NULL, NULL, "", "registration_unknown", "check_registration",
	      "mynumber_card"}},
	    {"nothing known",
	     "2025-06-01",
	     {NHI},
	     {RULES_STATUS_UNKNOWN, -1, RULES_ENT_UNDETERMINED, false, false,
	      NULL, NULL, "", "registration_unknown", "check_registration",
	      "mynumber_card insurance_registration"}},
	    {"card held, registration unknown",
	     "2025-06-01",
	     {NHI, HELD},
	     W_REG_UNKNOWN},
	    {"card unknown, unregistered",
	     "2025-06-01",
	     {NHI, .reg = RULES_REG_UNREGISTERED},
	     {RULES_STATUS_UNREGISTERED, 0, RULES_ENT_EX_OFFICIO, false, true,
	      NULL, NULL, APP5, "no_usable_mynahoken", "", ""}},
	    {"card unknown, cancelled",
	     "2025-06-01",
	     {NHI, .reg = RULES_REG_CANCELLED},
	     {RULES_STATUS_CANCELLED, 0, RULES_ENT_EX_OFFICIO, false, true,
	      NULL, NULL, APP5, "no_usable_mynahoken", "", ""}},
	    {"cancelled beats unregistered ordering is moot; unregistered with "
	     "care needs",
	     "2025-06-01",
	     {NHI, HELD, .reg = RULES_REG_UNREGISTERED, .needs = NEED(DEMENTIA),
	      .setting = RULES_SETTING_CARE_FACILITY},
	     {RULES_STATUS_UNREGISTERED, 0, RULES_ENT_EX_OFFICIO, false, true,
	      NULL, NULL, APP5 " facility", "no_usable_mynahoken",
	      "proxy_medicine_pickup", ""}},
	};

	check_cases(cases, N(cases));
}

/* ---- grace of an expired e-certificate or card, renew_ecert ------------- */

Test(rules_decide, grace_and_renewal)
{
	static const struct dcase cases[] = {
	    {"last day of grace",
	     "2025-06-30",
	     {NHI, HELD, REG, .ecert = "2025-03-10"},
	     W_HOLDS_IN_GRACE},
	    {"day after grace",
	     "2025-07-01",
	     {NHI, HELD, REG, .ecert = "2025-03-10"},
	     W_ECERT_EXPIRED},
	    {"month-end expiry, grace to a shorter month's end",
	     "2025-04-30",
	     {NHI, HELD, REG, .ecert = "2025-01-31"},
	     W_HOLDS_IN_GRACE},
	    {"and the day after it",
	     "2025-05-01",
	     {NHI, HELD, REG, .ecert = "2025-01-31"},
	     W_ECERT_EXPIRED},
	    {"grace over the new year into February",
	     "2026-02-28",
	     {NHI, HELD, REG, .card_exp = "2025-11-15"},
	     W_HOLDS_IN_GRACE},
	    {"expiry today: valid, not in grace, renewal due",
	     "2025-06-01",
	     {NHI, HELD, REG, .ecert = "2025-06-01"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_NOT_ENTITLED, false, false,
	      NULL, NULL, "", "holds_mynahoken",
	      "renew_ecert eligibility_notice", ""}},
	    {"expired yesterday: in grace",
	     "2025-06-01",
	     {NHI, HELD, REG, .ecert = "2025-05-31"},
	     W_HOLDS_IN_GRACE},
	    {"e-cert expires in 90 days",
	     "2025-06-01",
	     {NHI, HELD, REG, .ecert = "2025-08-30"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_NOT_ENTITLED, false, false,
	      NULL, NULL, "", "holds_mynahoken",
	      "renew_ecert eligibility_notice", ""}},
	    {"e-cert expires in 91 days",
	     "2025-06-01",
	     {NHI, HELD, REG, .ecert = "2025-08-31"},
	     W_HOLDS},
	    {"card expires in 90 days",
	     "2025-06-01",
	     {NHI, HELD, REG, .card_exp = "2025-08-30", .ecert = "2030-01-01"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_NOT_ENTITLED, false, false,
	      NULL, NULL, "", "holds_mynahoken",
	      "renew_ecert eligibility_notice", ""}},
	    {"card expires in 91 days",
	     "2025-06-01",
	     {NHI, HELD, REG, .card_exp = "2025-08-31", .ecert = "2030-01-01"},
	     W_HOLDS},
	    {"renewal due but status unknown: no renew_ecert",
	     "2025-06-01",
	     {NHI, HELD, .ecert = "2025-06-10"},
	     W_REG_UNKNOWN},
	    {"one expiry in grace, the other beyond",
	     "2025-06-01",
	     {NHI, HELD, REG, .ecert = "2025-05-31", .card_exp = "2025-01-15"},
	     {RULES_STATUS_ECERT_EXPIRED, 0, RULES_ENT_EX_OFFICIO, false, true,
	      NULL, NULL, APP5, "no_usable_mynahoken ecert_in_grace", "", ""}},
	    {"in grace with care needs",
	     "2025-06-01",
	     {NHI, HELD, REG, .ecert = "2025-04-01",
	      .needs = NEED(PIN_DIFFICULTY)},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      NULL, NULL, APP5, "consideration_on_application ecert_in_grace",
	      "renew_ecert apply_now face_auth_card visual_confirmation "
	      "carry_mynahoken_for_emergencies eligibility_notice",
	      ""}},
	};

	check_cases(cases, N(cases));
}

/* ---- children ------------------------------------------------------------ */

Test(rules_decide, children)
{
	static const struct dcase cases[] = {
	    {"day before the 18th birthday",
	     "2025-05-31",
	     {.birth = "2007-06-01", NHI, HELD, REG, .needs = NEED(CHILD)},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      NULL, NULL, APP5 " guardian", "child_on_application",
	      "apply_now carry_mynahoken_for_emergencies eligibility_notice",
	      ""}},
	    {"18th birthday: no longer a child",
	     "2025-06-01",
	     {.birth = "2007-06-01", NHI, HELD, REG, .needs = NEED(CHILD)},
	     W_APPLY_NOW},
	    {"child from care_needs without a birth date",
	     "2025-06-01",
	     {NHI, HELD, REG, .needs = NEED(CHILD)},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      NULL, NULL, APP5 " guardian", "child_on_application",
	      "apply_now carry_mynahoken_for_emergencies eligibility_notice",
	      ""}},
	    {"birth date wins over the child need",
	     "2025-06-01",
	     {.birth = "1990-01-01", NHI, HELD, REG, .needs = NEED(CHILD)},
	     W_APPLY_NOW},
	    {"child without care needs holds a マイナ保険証",
	     "2025-06-01",
	     {.birth = "2015-01-01", NHI, HELD, REG},
	     W_HOLDS},
	    {"child with no card in a children's home",
	     "2025-06-01",
	     {.birth = "2015-01-01",
	      NHI,
	      .card = RULES_CARD_NONE,
	      .setting = RULES_SETTING_CHILDRENS_FACILITY},
	     {RULES_STATUS_NO_CARD, 0, RULES_ENT_EX_OFFICIO, false, true, NULL,
	      NULL, APP5 " guardian facility_staff_delegated_by_guardian",
	      "no_usable_mynahoken",
	      "obtain_card_or_apply proxy_medicine_pickup", ""}},
	    {"child in a disability facility",
	     "2025-06-01",
	     {.birth = "2015-01-01",
	      NHI,
	      HELD,
	      REG,
	      .needs = NEED(DISABILITY),
	      .setting = RULES_SETTING_DISABILITY_FACILITY},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      NULL, NULL, APP5 " facility guardian", "child_on_application",
	      "apply_now visual_confirmation facility_keeps_registration "
	      "carry_mynahoken_for_emergencies proxy_medicine_pickup "
	      "eligibility_notice",
	      ""}},
	    {"adult in a children's home",
	     "2025-06-01",
	     {.birth = "2006-01-01",
	      NHI,
	      HELD,
	      REG,
	      .needs = NEED(OTHER),
	      .setting = RULES_SETTING_CHILDRENS_FACILITY},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      NULL, NULL, APP5, "consideration_on_application",
	      "apply_now facility_keeps_registration "
	      "carry_mynahoken_for_emergencies "
	      "proxy_medicine_pickup eligibility_notice",
	      ""}},
	    /* Rule 7: a child in a children's home needs no recorded care
	     * need (the notice names them). */
	    {"child in a children's home, no care needs",
	     "2025-06-01",
	     {.birth = "2015-01-01",
	      NHI,
	      HELD,
	      REG,
	      .setting = RULES_SETTING_CHILDRENS_FACILITY},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      NULL, NULL, APP5 " guardian facility_staff_delegated_by_guardian",
	      "child_on_application",
	      "apply_now facility_keeps_registration "
	      "carry_mynahoken_for_emergencies proxy_medicine_pickup "
	      "eligibility_notice",
	      ""}},
	    {"children's home, no care needs, day before the 18th birthday",
	     "2025-05-31",
	     {.birth = "2007-06-01",
	      NHI,
	      HELD,
	      REG,
	      .setting = RULES_SETTING_CHILDRENS_FACILITY,
	      .legacy = "2025-07-31"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      "2025-07-31", "2025-07-01",
	      APP5 " guardian facility_staff_delegated_by_guardian",
	      "child_on_application",
	      "apply_before_deadline facility_keeps_registration "
	      "carry_mynahoken_for_emergencies proxy_medicine_pickup "
	      "eligibility_notice",
	      ""}},
	    {"children's home, no care needs, 18th birthday: not a child",
	     "2025-06-01",
	     {.birth = "2007-06-01",
	      NHI,
	      HELD,
	      REG,
	      .setting = RULES_SETTING_CHILDRENS_FACILITY},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_NOT_ENTITLED, false, false,
	      NULL, NULL, "", "holds_mynahoken",
	      "proxy_medicine_pickup eligibility_notice", ""}},
	    {"child in another facility, no care needs",
	     "2025-06-01",
	     {.birth = "2015-01-01",
	      NHI,
	      HELD,
	      REG,
	      .setting = RULES_SETTING_DISABILITY_FACILITY},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_NOT_ENTITLED, false, false,
	      NULL, NULL, "", "holds_mynahoken",
	      "proxy_medicine_pickup eligibility_notice", ""}},
	    {"child at home, no care needs",
	     "2025-06-01",
	     {.birth = "2015-01-01",
	      NHI,
	      HELD,
	      REG,
	      .setting = RULES_SETTING_HOME},
	     W_HOLDS},
	    {"child in a children's home who applied",
	     "2025-06-01",
	     {.birth = "2015-01-01",
	      NHI,
	      HELD,
	      REG,
	      .setting = RULES_SETTING_CHILDRENS_FACILITY,
	      .cert = RULES_CERT_APPLIED},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, false, true,
	      NULL, NULL, APP5 " guardian facility_staff_delegated_by_guardian",
	      "child_on_application",
	      "facility_keeps_registration carry_mynahoken_for_emergencies "
	      "proxy_medicine_pickup",
	      ""}},
	    {"child, status unknown: no applicants",
	     "2025-06-01",
	     {.birth = "2015-01-01",
	      NHI,
	      .needs = NEED(CHILD),
	      .setting = RULES_SETTING_CHILDRENS_FACILITY},
	     {RULES_STATUS_UNKNOWN, -1, RULES_ENT_UNDETERMINED, false, false,
	      NULL, NULL, "", "registration_unknown",
	      "check_registration proxy_medicine_pickup",
	      "mynumber_card insurance_registration"}},
	};

	check_cases(cases, N(cases));
}

/* ---- deadlines ----------------------------------------------------------- */

Test(rules_decide, apply_by_and_recommended)
{
	static const struct dcase cases[] = {
	    {"legacy card already expired: no deadline",
	     "2025-06-01",
	     {NHI, HELD, REG, .needs = NEED(ELDERLY), .legacy = "2025-05-31"},
	     W_APPLY_NOW},
	    {"legacy card expires today",
	     "2025-06-01",
	     {NHI, HELD, REG, .needs = NEED(ELDERLY), .legacy = "2025-06-01"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      "2025-06-01", "2025-06-01", APP5, "consideration_on_application",
	      "apply_before_deadline carry_mynahoken_for_emergencies "
	      "eligibility_notice",
	      ""}},
	    {"exactly the margin away",
	     "2025-06-01",
	     {NHI, HELD, REG, .needs = NEED(ELDERLY), .legacy = "2025-07-01"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      "2025-07-01", "2025-06-01", APP5, "consideration_on_application",
	      "apply_before_deadline carry_mynahoken_for_emergencies "
	      "eligibility_notice",
	      ""}},
	    {"one day more than the margin",
	     "2025-06-01",
	     {NHI, HELD, REG, .needs = NEED(ELDERLY), .legacy = "2025-07-02"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      "2025-07-02", "2025-06-02", APP5, "consideration_on_application",
	      "apply_before_deadline carry_mynahoken_for_emergencies "
	      "eligibility_notice",
	      ""}},
	    {"ex officio: the legacy card sets no deadline",
	     "2025-06-01",
	     {NHI, .card = RULES_CARD_NONE, .legacy = "2025-07-31"},
	     {RULES_STATUS_NO_CARD, 0, RULES_ENT_EX_OFFICIO, false, true, NULL,
	      NULL, APP5, "no_usable_mynahoken", "obtain_card_or_apply", ""}},
	    {"not entitled: the legacy card sets no deadline",
	     "2025-06-01",
	     {NHI, HELD, REG, .legacy = "2025-07-31"},
	     W_HOLDS},
	    {"lost card with a legacy card",
	     "2025-06-01",
	     {NHI, .card = RULES_CARD_LOST, .legacy = "2025-07-31"},
	     {RULES_STATUS_CARD_UNAVAILABLE, 0, RULES_ENT_ON_APPLICATION, true,
	      true, "2025-07-31", "2025-07-01", APP5,
	      "card_unavailable_on_application",
	      "obtain_card_or_apply apply_before_deadline", ""}},
	};

	check_cases(cases, N(cases));
}

Test(rules_decide, parameters)
{
	static struct rules_params late_end, aug_end, auto_off, no_margin,
	    no_grace, age_80;
	struct dcase cases[] = {
	    {"provisional_end on 1 August: that day is no renewal day",
	     "2026-08-02",
	     {.birth = "1930-01-01", LATE, HELD, REG},
	     W_HOLDS,
	     &aug_end},
	    {"provisional_end on 1 August: the next one is",
	     "2027-08-01",
	     {.birth = "1930-01-01", LATE, HELD, REG},
	     W_LATE_AGE,
	     &aug_end},
	    {"provisional_end 2026-08-15: no renewal day yet",
	     "2026-09-01",
	     {.birth = "1930-01-01", LATE, HELD, REG},
	     W_HOLDS,
	     &late_end},
	    {"provisional_end 2026-08-15: no birth date is not undetermined",
	     "2026-09-01",
	     {LATE, HELD, REG},
	     W_HOLDS,
	     &late_end},
	    {"provisional_end 2026-08-15: still provisional that day",
	     "2026-08-15",
	     {.birth = "1930-01-01", LATE, HELD, REG},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      "2026-08-15", "2026-08-15", APP5, "late_elderly_provisional",
	      "apply_to_continue_after_provisional "
	      "carry_mynahoken_for_emergencies",
	      ""},
	     &late_end},
	    {"provisional_end 2026-08-15: the 2027 renewal day",
	     "2027-08-01",
	     {.birth = "1930-01-01", LATE, HELD, REG},
	     W_LATE_AGE,
	     &late_end},
	    {"auto age off",
	     "2026-09-01",
	     {.birth = "1930-01-01", LATE, HELD, REG},
	     W_HOLDS,
	     &auto_off},
	    {"auto age off, no birth date",
	     "2026-09-01",
	     {LATE, HELD, REG},
	     W_HOLDS,
	     &auto_off},
	    {"auto age 80",
	     "2026-09-01",
	     {.birth = "1946-08-01", LATE, HELD, REG},
	     W_LATE_AGE,
	     &age_80},
	    {"no margin",
	     "2025-06-01",
	     {NHI, HELD, REG, .needs = NEED(ELDERLY), .legacy = "2025-07-31"},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      "2025-07-31", "2025-07-31", APP5, "consideration_on_application",
	      "apply_before_deadline carry_mynahoken_for_emergencies "
	      "eligibility_notice",
	      ""},
	     &no_margin},
	    {"no grace: expired last month",
	     "2025-06-01",
	     {NHI, HELD, REG, .ecert = "2025-05-15"},
	     W_ECERT_EXPIRED,
	     &no_grace},
	    {"no grace: expired earlier this month",
	     "2025-06-20",
	     {NHI, HELD, REG, .ecert = "2025-06-15"},
	     W_HOLDS_IN_GRACE,
	     &no_grace},
	};

	rules_params_default(&late_end);
	late_end.provisional_end = day_of("2026-08-15");
	rules_params_default(&aug_end);
	aug_end.provisional_end = day_of("2026-08-01");
	rules_params_default(&auto_off);
	auto_off.late_elderly_auto_age = -1;
	rules_params_default(&age_80);
	age_80.late_elderly_auto_age = 80;
	rules_params_default(&no_margin);
	no_margin.apply_margin_days = 0;
	rules_params_default(&no_grace);
	no_grace.ecert_grace_months = 0;
	check_cases(cases, N(cases));
}

/* ---- advice conditions --------------------------------------------------- */

/* face_auth_card and visual_confirmation, one care need at a time. */
Test(rules_decide, advice_per_care_need)
{
	static const struct {
		enum rules_need need;
		bool face, visual;
	} cases[] = {
	    {RULES_NEED_ELDERLY, false, false},
	    {RULES_NEED_DEMENTIA, true, true},
	    {RULES_NEED_DISABILITY, false, true},
	    {RULES_NEED_CHILD, false, false},
	    {RULES_NEED_ILLNESS, false, true},
	    {RULES_NEED_PIN_DIFFICULTY, true, true},
	    {RULES_NEED_FACE_AUTH_DIFFICULTY, false, true},
	    {RULES_NEED_OTHER, false, false},
	};
	size_t i, k;

	/* usable true, null (status unknown) and false */
	static const enum rules_registration regs[] = {
	    RULES_REG_REGISTERED, RULES_REG_UNKNOWN, RULES_REG_UNREGISTERED};
	static const bool apply[] = {true, true, false};

	cr_assert_eq(N(cases), RULES_NEED_COUNT);
	for (i = 0; i < N(cases); i++) {
		for (k = 0; k < N(regs); k++) {
			struct dcase c = {"need",
					  "2025-06-01",
					  {.birth = "1960-01-01",
					   NHI,
					   HELD,
					   REG,
					   .needs = 1u << cases[i].need}};
			struct rules_decision d;
			bool face = false, visual = false;
			size_t a;

			c.f.reg = regs[k];
			decide_ok(&c, &d);
			for (a = 0; a < d.n_advice; a++) {
				face |= d.advice[a] == RULES_A_FACE_AUTH_CARD;
				visual |=
				    d.advice[a] == RULES_A_VISUAL_CONFIRMATION;
			}
			/* Both need a マイナ保険証 usable or not known
			 * not to be. */
			cr_expect_eq(face, apply[k] && cases[i].face,
				     "need %s, %s: face_auth_card",
				     rules_need_name(cases[i].need),
				     rules_registration_name(regs[k]));
			cr_expect_eq(visual, apply[k] && cases[i].visual,
				     "need %s, %s: visual_confirmation",
				     rules_need_name(cases[i].need),
				     rules_registration_name(regs[k]));
		}
	}
}

Test(rules_decide, advice_by_setting)
{
	static const struct dcase cases[] = {
	    {"care facility, no needs: proxy pickup only",
	     "2025-06-01",
	     {NHI, HELD, REG, .setting = RULES_SETTING_CARE_FACILITY},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_NOT_ENTITLED, false, false,
	      NULL, NULL, "", "holds_mynahoken",
	      "proxy_medicine_pickup eligibility_notice", ""}},
	    {"home, no needs: nothing",
	     "2025-06-01",
	     {NHI, HELD, REG, .setting = RULES_SETTING_HOME},
	     W_HOLDS},
	    {"hospital with illness",
	     "2025-06-01",
	     {NHI, HELD, REG, .needs = NEED(ILLNESS),
	      .setting = RULES_SETTING_HOSPITAL},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      NULL, NULL, APP5, "consideration_on_application",
	      "apply_now visual_confirmation carry_mynahoken_for_emergencies "
	      "eligibility_notice",
	      ""}},
	    {"other setting with pin difficulty",
	     "2025-06-01",
	     {NHI, HELD, REG, .needs = NEED(PIN_DIFFICULTY),
	      .setting = RULES_SETTING_OTHER},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      NULL, NULL, APP5, "consideration_on_application",
	      "apply_now face_auth_card visual_confirmation "
	      "carry_mynahoken_for_emergencies eligibility_notice",
	      ""}},
	    {"disability facility, elderly",
	     "2025-06-01",
	     {NHI, HELD, REG, .needs = NEED(ELDERLY),
	      .setting = RULES_SETTING_DISABILITY_FACILITY},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, true, true,
	      NULL, NULL, APP5 " facility", "consideration_on_application",
	      "apply_now facility_keeps_registration "
	      "carry_mynahoken_for_emergencies "
	      "proxy_medicine_pickup eligibility_notice",
	      ""}},
	    {"care facility, no card: not usable, so no keeps/carry",
	     "2025-06-01",
	     {NHI, .card = RULES_CARD_NONE, .needs = NEED(DEMENTIA),
	      .setting = RULES_SETTING_CARE_FACILITY},
	     {RULES_STATUS_NO_CARD, 0, RULES_ENT_EX_OFFICIO, false, true, NULL,
	      NULL, APP5 " facility", "no_usable_mynahoken",
	      "obtain_card_or_apply proxy_medicine_pickup", ""}},
	    {"care facility, provisional: keeps registration",
	     "2025-06-01",
	     {LATE, HELD, REG, .setting = RULES_SETTING_CARE_FACILITY},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      "2026-07-31", "2026-07-01", APP5 " facility",
	      "late_elderly_provisional",
	      "apply_to_continue_after_provisional facility_keeps_registration "
	      "carry_mynahoken_for_emergencies proxy_medicine_pickup",
	      ""}},
	    {"care facility, ex officio by age: no keeps registration",
	     "2026-09-01",
	     {.birth = "1930-01-01",
	      LATE,
	      HELD,
	      REG,
	      .setting = RULES_SETTING_CARE_FACILITY},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_EX_OFFICIO, false, true,
	      NULL, NULL, APP5 " facility", "late_elderly_age",
	      "carry_mynahoken_for_emergencies proxy_medicine_pickup", ""}},
	    {"home, provisional, with needs: no care manager guidance",
	     "2025-06-01",
	     {LATE, HELD, REG, .needs = NEED(ELDERLY),
	      .setting = RULES_SETTING_HOME},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      "2026-07-31", "2026-07-01", APP5, "late_elderly_provisional",
	      "apply_to_continue_after_provisional "
	      "carry_mynahoken_for_emergencies "
	      "proxy_medicine_pickup",
	      ""}},
	    {"home, lost card, needs: care manager guidance",
	     "2025-06-01",
	     {NHI, .card = RULES_CARD_LOST, .needs = NEED(ELDERLY),
	      .setting = RULES_SETTING_HOME},
	     {RULES_STATUS_CARD_UNAVAILABLE, 0, RULES_ENT_ON_APPLICATION, true,
	      true, NULL, NULL, APP5, "card_unavailable_on_application",
	      "obtain_card_or_apply apply_now proxy_medicine_pickup "
	      "care_manager_guidance",
	      ""}},
	    {"home, lost card, no needs: no guidance, no pickup",
	     "2025-06-01",
	     {NHI, .card = RULES_CARD_LOST, .setting = RULES_SETTING_HOME},
	     W_CARD_UNAVAILABLE},
	    {"home, applied, needs: guidance but no apply advice",
	     "2025-06-01",
	     {NHI, HELD, REG, .needs = NEED(DEMENTIA),
	      .setting = RULES_SETTING_HOME, .cert = RULES_CERT_APPLIED},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_ON_APPLICATION, false, true,
	      NULL, NULL, APP5, "consideration_on_application",
	      "face_auth_card visual_confirmation "
	      "carry_mynahoken_for_emergencies "
	      "proxy_medicine_pickup care_manager_guidance",
	      ""}},
	    {"every advice that can go together, in order",
	     "2025-06-01",
	     {.birth = "1945-01-01",
	      LATE,
	      HELD,
	      REG,
	      .ecert = "2025-07-01",
	      .needs = NEED(PIN_DIFFICULTY),
	      .setting = RULES_SETTING_CARE_FACILITY},
	     {RULES_STATUS_REGISTERED, 1, RULES_ENT_PROVISIONAL, false, true,
	      "2026-07-31", "2026-07-01", APP5 " facility",
	      "late_elderly_provisional",
	      "renew_ecert apply_to_continue_after_provisional face_auth_card "
	      "visual_confirmation facility_keeps_registration "
	      "carry_mynahoken_for_emergencies "
	      "proxy_medicine_pickup",
	      ""}},
	};

	check_cases(cases, N(cases));
}

/* ---- insurer part, derived facts, refusals -------------------------------- */

Test(rules_decide, insurer_part)
{
	static const struct {
		const char *number;
		enum rules_scheme fact;
		bool has_number;
		enum rules_scheme parsed, scheme;
		enum rules_channel channel;
		int prefecture;
	} cases[] = {
	    {"138057", RULES_SCHEME_UNKNOWN, true, RULES_SCHEME_NHI,
	     RULES_SCHEME_NHI, RULES_CHANNEL_MUNICIPAL_COUNTER, 13},
	    {"138057", RULES_SCHEME_NHI, true, RULES_SCHEME_NHI,
	     RULES_SCHEME_NHI, RULES_CHANNEL_MUNICIPAL_COUNTER, 13},
	    {"138057", RULES_SCHEME_NHI_ASSOCIATION, true, RULES_SCHEME_NHI,
	     RULES_SCHEME_NHI_ASSOCIATION, RULES_CHANNEL_INSURER, 13},
	    {"00138057", RULES_SCHEME_NHI_ASSOCIATION, true, RULES_SCHEME_NHI,
	     RULES_SCHEME_NHI_ASSOCIATION, RULES_CHANNEL_INSURER, 13},
	    {"01040013", RULES_SCHEME_KYOKAI, true, RULES_SCHEME_KYOKAI,
	     RULES_SCHEME_KYOKAI, RULES_CHANNEL_EMPLOYER, 4},
	    {"39132014", RULES_SCHEME_LATE_ELDERLY, true,
	     RULES_SCHEME_LATE_ELDERLY, RULES_SCHEME_LATE_ELDERLY,
	     RULES_CHANNEL_MUNICIPAL_COUNTER, 13},
	    {"63130017", RULES_SCHEME_UNKNOWN, true,
	     RULES_SCHEME_SPECIAL_RETIREE, RULES_SCHEME_SPECIAL_RETIREE,
	     RULES_CHANNEL_INSURER, 13},
	    {"", RULES_SCHEME_SOCIETY, false, RULES_SCHEME_UNKNOWN,
	     RULES_SCHEME_SOCIETY, RULES_CHANNEL_EMPLOYER, 0},
	    {"", RULES_SCHEME_NHI_ASSOCIATION, false, RULES_SCHEME_UNKNOWN,
	     RULES_SCHEME_NHI_ASSOCIATION, RULES_CHANNEL_INSURER, 0},
	    {"", RULES_SCHEME_UNKNOWN, false, RULES_SCHEME_UNKNOWN,
	     RULES_SCHEME_UNKNOWN, RULES_CHANNEL_NONE, 0},
	};
	size_t i;

	for (i = 0; i < N(cases); i++) {
		struct dcase c = {cases[i].number,
				  "2025-06-01",
				  {.insurer = cases[i].number,
				   .scheme = cases[i].fact,
				   HELD,
				   REG}};
		struct rules_decision d;

		decide_ok(&c, &d);
		cr_expect_eq(d.has_number, cases[i].has_number, "%s", c.name);
		cr_expect_null(d.insurer_name,
			       "%s: the caller fills the name in", c.name);
		cr_expect_eq(d.insurer_scheme, cases[i].scheme,
			     "%s/%d: scheme %d", c.name, cases[i].fact,
			     d.insurer_scheme);
		cr_expect_eq(d.channel, cases[i].channel, "%s/%d: channel",
			     c.name, cases[i].fact);
		if (cases[i].has_number) {
			cr_expect_str_eq(d.insurer.number, cases[i].number);
			cr_expect_eq(d.insurer.scheme, cases[i].parsed, "%s",
				     c.name);
			cr_expect_eq(d.insurer.prefecture, cases[i].prefecture,
				     "%s", c.name);
		}
	}
}

/* ---- the words of an advice that depend on the facts -------------------- */

/* The variant of advice a in d, or -1 when d does not give a. */
static int variant_of(const struct rules_decision *d, enum rules_advice a)
{
	size_t i;

	for (i = 0; i < d->n_advice; i++) {
		if (d->advice[i] == a)
			return (int)d->advice_variant[i];
	}
	return -1;
}

#define LOST .card = RULES_CARD_LOST

Test(rules_decide, obtain_card_or_apply_fits_the_status)
{
	static const struct {
		struct dcase c;
		enum rules_advice_variant want;
	} cases[] = {
	    {{"no card: sent without application",
	      "2025-06-01",
	      {.birth = "1965-04-02", NHI, .card = RULES_CARD_NONE}},
	     RULES_AV_NO_CARD},
	    {{"no card, late-elderly in the provisional operation",
	      "2025-06-01",
	      {.birth = "1945-05-05", LATE, .card = RULES_CARD_NONE}},
	     RULES_AV_NO_CARD},
	    {{"lost card: only on application",
	      "2026-10-01",
	      {.birth = "1970-03-03", NHI, LOST, REG}},
	     RULES_AV_CARD_UNAVAILABLE_APPLY},
	    {{"card being renewed: only on application",
	      "2026-10-01",
	      {.birth = "1970-03-03", NHI, .card = RULES_CARD_RENEWING}},
	     RULES_AV_CARD_UNAVAILABLE_APPLY},
	    {{"lost card, late-elderly in the provisional operation: sent",
	      "2025-06-01",
	      {.birth = "1945-05-05", LATE, LOST, REG}},
	     RULES_AV_CARD_UNAVAILABLE_SENT},
	    {{"lost card, late-elderly aged 85 on the renewal day: sent",
	      "2026-09-01",
	      {.birth = "1938-02-11", LATE, LOST, REG}},
	     RULES_AV_CARD_UNAVAILABLE_SENT},
	    {{"lost card, late-elderly who applied: on application",
	      "2026-09-01",
	      {.birth = "1945-05-05", LATE, LOST, .cert = RULES_CERT_APPLIED}},
	     RULES_AV_CARD_UNAVAILABLE_APPLY},
	    {{"lost card, late-elderly of unknown age after the provisional "
	      "operation: undetermined, errs on applying",
	      "2026-09-01",
	      {LATE, LOST}},
	     RULES_AV_CARD_UNAVAILABLE_APPLY},
	};
	size_t i;

	for (i = 0; i < N(cases); i++) {
		struct rules_decision d;
		const struct rules_text *t;
		size_t k;

		decide_ok(&cases[i].c, &d);
		cr_expect_eq(variant_of(&d, RULES_A_OBTAIN_CARD_OR_APPLY),
			     (int)cases[i].want, "%s: variant %d",
			     cases[i].c.name,
			     variant_of(&d, RULES_A_OBTAIN_CARD_OR_APPLY));
		for (k = 0; k < d.n_advice; k++) {
			t = rules_decision_advice_text(&d, k);
			cr_assert_not_null(t, "%s: advice %zu", cases[i].c.name,
					   k);
			cr_expect_str_eq(t->code,
					 rules_advice_text(d.advice[k])->code,
					 "%s", cases[i].c.name);
		}
	}
	/* Only the two statuses of the spec have the advice at all. */
	{
		struct dcase c = {"unregistered",
				  "2025-06-01",
				  {NHI, HELD, .reg = RULES_REG_UNREGISTERED}};
		struct rules_decision d;

		decide_ok(&c, &d);
		cr_expect_eq(variant_of(&d, RULES_A_OBTAIN_CARD_OR_APPLY), -1);
	}
}

/* renew_ecert names the date the grace ends, of the card or of its
 * e-certificate, whichever ends first (the card on the same day). */
Test(rules_decide, renew_ecert_names_which_and_by_when)
{
	static const struct {
		const char *name, *as_of, *ecert, *card;
		enum rules_advice_variant want; /* GENERAL = no renew_ecert */
		const char *renew_by;           /* NULL = none */
		bool in_grace;
	} cases[] = {
	    {"e-cert in grace (the issue's example)", "2026-12-01",
	     "2026-11-15", NULL, RULES_AV_RENEW_ECERT, "2027-02-28", true},
	    {"e-cert in grace, last day", "2027-02-28", "2026-11-15", NULL,
	     RULES_AV_RENEW_ECERT, "2027-02-28", true},
	    {"card in grace", "2026-12-01", NULL, "2026-11-15",
	     RULES_AV_RENEW_CARD, "2027-02-28", true},
	    {"e-cert expires in 90 days", "2025-06-01", "2025-08-30", NULL,
	     RULES_AV_RENEW_ECERT, "2025-11-30", false},
	    {"e-cert first, card later", "2026-11-01", "2026-10-15",
	     "2026-12-20", RULES_AV_RENEW_ECERT, "2027-01-31", true},
	    {"card first, e-cert later", "2026-11-01", "2026-12-20",
	     "2026-10-15", RULES_AV_RENEW_CARD, "2027-01-31", true},
	    {"both end the same day: the card", "2026-11-20", "2026-11-01",
	     "2026-11-30", RULES_AV_RENEW_CARD, "2027-02-28", true},
	    {"e-cert due, card far off", "2026-11-20", "2026-12-01",
	     "2030-01-01", RULES_AV_RENEW_ECERT, "2027-03-31", false},
	    {"card due, e-cert far off", "2026-11-20", "2030-01-01",
	     "2026-12-01", RULES_AV_RENEW_CARD, "2027-03-31", false},
	    {"nothing due", "2026-11-20", "2030-01-01", "2031-01-01",
	     RULES_AV_GENERAL, NULL, false},
	};
	size_t i;

	for (i = 0; i < N(cases); i++) {
		struct dcase c = {cases[i].name,
				  cases[i].as_of,
				  {NHI, HELD, REG, .ecert = cases[i].ecert,
				   .card_exp = cases[i].card}};
		struct rules_decision d;
		char date[11];
		size_t k;
		bool grace = false;

		decide_ok(&c, &d);
		cr_expect_eq(
		    variant_of(&d, RULES_A_RENEW_ECERT),
		    cases[i].want == RULES_AV_GENERAL ? -1 : (int)cases[i].want,
		    "%s: variant %d", c.name,
		    variant_of(&d, RULES_A_RENEW_ECERT));
		cr_expect_str_eq(date_or_null(d.renew_by, date),
				 cases[i].renew_by ? cases[i].renew_by : "null",
				 "%s: renew_by", c.name);
		cr_expect_eq(d.renew_card, cases[i].want == RULES_AV_RENEW_CARD,
			     "%s: renew_card", c.name);
		for (k = 0; k < d.n_reasons; k++)
			grace |= d.reasons[k] == RULES_R_ECERT_IN_GRACE;
		cr_expect_eq(grace, cases[i].in_grace, "%s: ecert_in_grace",
			     c.name);
	}
}

Test(rules_decide, refuses_invalid_facts)
{
	static const struct {
		const char *number;
		enum rules_scheme fact;
	} bad[] = {
	    {"39131007", RULES_SCHEME_UNKNOWN}, /* check digit */
	    {"12345", RULES_SCHEME_UNKNOWN},    /* length */
	    {"1380x7", RULES_SCHEME_UNKNOWN},   /* digits */
	    {"01480011", RULES_SCHEME_UNKNOWN}, /* prefecture */
	    {"01130012", RULES_SCHEME_NHI},     /* disagrees */
	    {"39132014", RULES_SCHEME_NHI},
	    {"138057", RULES_SCHEME_LATE_ELDERLY},
	    {"138057", RULES_SCHEME_KYOKAI},
	    {"01130012", RULES_SCHEME_NHI_ASSOCIATION},
	};
	struct rules_params p;
	struct rules_facts f;
	struct rules_decision d;
	int32_t as_of = day_of("2025-06-01");
	size_t i;

	rules_params_default(&p);
	for (i = 0; i < N(bad); i++) {
		rules_facts_init(&f);
		snprintf(f.insurer_number, sizeof(f.insurer_number), "%s",
			 bad[i].number);
		f.scheme = bad[i].fact;
		cr_expect_eq(rules_decide(&f, as_of, &p, &d), -1, "%s / %d",
			     bad[i].number, bad[i].fact);
	}

	/* No NUL in the array: never read past it. */
	rules_facts_init(&f);
	memset(f.insurer_number, '1', sizeof(f.insurer_number));
	cr_expect_eq(rules_decide(&f, as_of, &p, &d), -1);

	/* A birth after as_of has no age. */
	rules_facts_init(&f);
	f.birth_date = as_of + 1;
	cr_expect_eq(rules_decide(&f, as_of, &p, &d), -1);
	f.birth_date = as_of;
	cr_expect_eq(rules_decide(&f, as_of, &p, &d), 0);
	cr_expect_eq(d.age, 0);
	cr_expect(d.child);

	/* Out-of-range enums and a missing as_of. */
	rules_facts_init(&f);
	f.mynumber_card = RULES_CARD_COUNT;
	cr_expect_eq(rules_decide(&f, as_of, &p, &d), -1);
	rules_facts_init(&f);
	f.care_needs = 1u << RULES_NEED_COUNT;
	cr_expect_eq(rules_decide(&f, as_of, &p, &d), -1);
	rules_facts_init(&f);
	cr_expect_eq(rules_decide(&f, RULES_NO_DATE, &p, &d), -1);
	cr_expect_eq(rules_decide(&f, as_of, &p, &d), 0);
}

Test(rules_decide, derived_facts)
{
	static const struct {
		const char *birth, *insurer, *as_of;
		enum rules_scheme scheme;
		unsigned needs;
		int age;
		bool late, child;
	} cases[] = {
	    {"1950-06-01", NULL, "2025-05-31", RULES_SCHEME_UNKNOWN, 0, 74,
	     false, false},
	    {"1950-06-01", NULL, "2025-06-01", RULES_SCHEME_UNKNOWN, 0, 75,
	     true, false},
	    {"1940-01-01", "138057", "2025-06-01", RULES_SCHEME_UNKNOWN, 0, 85,
	     false, false},
	    {"1990-01-01", "39132014", "2025-06-01", RULES_SCHEME_UNKNOWN, 0,
	     35, true, false},
	    {NULL, NULL, "2025-06-01", RULES_SCHEME_LATE_ELDERLY, 0, -1, true,
	     false},
	    {NULL, NULL, "2025-06-01", RULES_SCHEME_UNKNOWN, NEED(CHILD), -1,
	     false, true},
	    {NULL, NULL, "2025-06-01", RULES_SCHEME_UNKNOWN, NEED(ELDERLY), -1,
	     false, false},
	    {"2007-06-01", NULL, "2025-05-31", RULES_SCHEME_UNKNOWN, 0, 17,
	     false, true},
	    {"2007-06-01", NULL, "2025-06-01", RULES_SCHEME_UNKNOWN,
	     NEED(CHILD), 18, false, false},
	};
	size_t i;

	for (i = 0; i < N(cases); i++) {
		struct dcase c = {cases[i].birth ? cases[i].birth : "-",
				  cases[i].as_of,
				  {.birth = cases[i].birth,
				   .insurer = cases[i].insurer,
				   .scheme = cases[i].scheme,
				   .needs = cases[i].needs}};
		struct rules_decision d;

		decide_ok(&c, &d);
		cr_expect_eq(d.age, cases[i].age, "case %zu: age %d", i, d.age);
		cr_expect_eq(d.late_elderly, cases[i].late,
			     "case %zu: late_elderly", i);
		cr_expect_eq(d.child, cases[i].child, "case %zu: child", i);
	}
}

/* The decision depends on nothing but its inputs: same facts, same answer,
 * whatever the output struct held before. */
Test(rules_decide, deterministic)
{
	struct dcase c = {"x",
			  "2025-06-01",
			  {.birth = "1948-09-09",
			   NHI,
			   HELD,
			   REG,
			   .needs = NEED(ELDERLY) | NEED(PIN_DIFFICULTY),
			   .setting = RULES_SETTING_CARE_FACILITY,
			   .legacy = "2025-07-31"}};
	struct rules_decision a, b;

	decide_ok(&c, &a);
	decide_ok(&c, &b);
	memset(&b, 0, sizeof(b));
	decide_ok(&c, &b);
	cr_expect_eq(a.n_advice, b.n_advice);
	cr_expect_eq(
	    memcmp(a.advice, b.advice, a.n_advice * sizeof(a.advice[0])), 0);
	cr_expect_eq(a.n_reasons, b.n_reasons);
	cr_expect_eq(a.apply_by, b.apply_by);
	cr_expect_eq(a.recommended_apply_by, b.recommended_apply_by);
}
