/* test_rules_decide.c - the decision of SPEC §3 (rules/decide.c).
 *
 * The tables of cases are in tests/unit/decide_cases.json: each case gives
 * facts and the whole expected decision (lists compared in order, as
 * space-separated JSON names), worked out by hand from the spec, not from
 * the code.  Each test checks the number of its cases too.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "rules/rules.h"

/* Table rows leave the trailing optional members (params) out; that is
 * their default, not an oversight. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define N(a)    (sizeof(a) / sizeof((a)[0]))
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

struct dcase {
	const char *name;
	const char *as_of;
	struct fx f;
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

/* ---- the tables of tests/unit/decide_cases.json -------------------------- */

/* The file, read from the top of the tree (where make runs the tests). */
#define CASES_FILE "tests/unit/decide_cases.json"

/* Fails the test unless every key of o is one of the NULL-ended keys: a
 * misspelt fact or field would otherwise be dropped without a word. */
static void only_keys(json_t *o, const char *const *keys, const char *what)
{
	const char *k;
	json_t *v;

	cr_assert(json_is_object(o), "%s: not an object", what);
	json_object_foreach(o, k, v) {
		size_t i;

		for (i = 0; keys[i] != NULL && strcmp(keys[i], k) != 0; i++)
			;
		cr_assert_not_null(keys[i], "%s: unknown key %s", what, k);
	}
}

/* The text of member k of o, NULL when absent or null. */
static const char *text_of(json_t *o, const char *k, const char *what)
{
	json_t *v = json_object_get(o, k);

	if (v == NULL || json_is_null(v))
		return NULL;
	cr_assert(json_is_string(v), "%s: %s is not text", what, k);
	return json_string_value(v);
}

/* Enum member k of o by its JSON name (from_name), 0 when absent. */
static int enum_of(json_t *o, const char *k, int (*from_name)(const char *),
		   const char *what)
{
	const char *s = text_of(o, k, what);
	int v;

	if (s == NULL)
		return 0;
	v = from_name(s);
	cr_assert(v >= 0, "%s: %s %s is no such name", what, k, s);
	return v;
}

static int int_of(json_t *o, const char *k, int dflt, const char *what)
{
	json_t *v = json_object_get(o, k);

	if (v == NULL)
		return dflt;
	if (json_is_null(v))
		return -1;
	cr_assert(json_is_integer(v), "%s: %s is not a whole number", what, k);
	return (int)json_integer_value(v);
}

static bool bool_of(json_t *o, const char *k, const char *what)
{
	json_t *v = json_object_get(o, k);

	cr_assert(json_is_boolean(v), "%s: %s is not true or false", what, k);
	return json_is_true(v);
}

static struct fx fx_of(json_t *o, const char *what)
{
	static const char *const keys[] = {"birth_date",
					   "insurer_number",
					   "scheme",
					   "mynumber_card",
					   "insurance_registration",
					   "ecert_expiry",
					   "card_expiry",
					   "care_needs",
					   "setting",
					   "legacy_card_expiry",
					   "certificate",
					   NULL};
	static const char *const cert_keys[] = {"status", "basis", "applied_on",
						"valid_until", NULL};
	json_t *cert = json_object_get(o, "certificate");
	json_t *needs = json_object_get(o, "care_needs");
	json_t *need;
	size_t i;
	struct fx x = {.birth = text_of(o, "birth_date", what),
		       .insurer = text_of(o, "insurer_number", what),
		       .ecert = text_of(o, "ecert_expiry", what),
		       .card_exp = text_of(o, "card_expiry", what),
		       .legacy = text_of(o, "legacy_card_expiry", what)};

	only_keys(o, keys, what);
	x.scheme = enum_of(o, "scheme", rules_scheme_from_name, what);
	x.card = enum_of(o, "mynumber_card", rules_card_from_name, what);
	x.reg = enum_of(o, "insurance_registration",
			rules_registration_from_name, what);
	x.setting = enum_of(o, "setting", rules_setting_from_name, what);
	json_array_foreach(needs, i, need) {
		int n = rules_need_from_name(json_string_value(need));

		cr_assert(n >= 0, "%s: care need %zu is no such name", what, i);
		x.needs |= 1u << n;
	}
	if (cert != NULL) {
		only_keys(cert, cert_keys, what);
		x.cert =
		    enum_of(cert, "status", rules_cert_status_from_name, what);
		x.basis =
		    enum_of(cert, "basis", rules_cert_basis_from_name, what);
		x.applied_on = text_of(cert, "applied_on", what);
		x.valid_until = text_of(cert, "valid_until", what);
	}
	return x;
}

static void params_of(json_t *o, struct rules_params *p, const char *what)
{
	static const char *const keys[] = {
	    "provisional_end", "late_elderly_auto_age", "apply_margin_days",
	    "ecert_grace_months", NULL};
	const char *end = text_of(o, "provisional_end", what);

	only_keys(o, keys, what);
	rules_params_default(p);
	if (end != NULL)
		p->provisional_end = day_of(end);
	p->late_elderly_auto_age =
	    int_of(o, "late_elderly_auto_age", p->late_elderly_auto_age, what);
	p->apply_margin_days =
	    int_of(o, "apply_margin_days", p->apply_margin_days, what);
	p->ecert_grace_months =
	    int_of(o, "ecert_grace_months", p->ecert_grace_months, what);
}

/* A name for a value that may be null, to compare as text. */
static const char *or_null(const char *s)
{
	return s ? s : "null";
}

/* Checks the decision of c against w, the whole expected decision. */
static void check_case(const struct dcase *c, json_t *w)
{
	static const char *const keys[] = {"status",
					   "usable",
					   "entitlement",
					   "application_required",
					   "may_apply",
					   "apply_by",
					   "recommended_apply_by",
					   "applicants",
					   "reasons",
					   "advice",
					   "missing_facts",
					   "insurer",
					   NULL};
	static const char *const insurer_keys[] = {"scheme", "channel", NULL};
	static const char *const lists[] = {"applicants", "reasons", "advice",
					    "missing_facts"};
	json_t *usable = json_object_get(w, "usable");
	json_t *insurer = json_object_get(w, "insurer");
	struct rules_decision d;
	char buf[512];
	char date[11];
	size_t l;

	only_keys(w, keys, c->name);
	decide_ok(c, &d);
	cr_expect_eq(d.as_of, day_of(c->as_of), "%s: as_of", c->name);
	cr_expect_str_eq(rules_reg_status_name(d.status),
			 or_null(text_of(w, "status", c->name)), "%s: status",
			 c->name);
	cr_assert(json_is_boolean(usable) || json_is_null(usable),
		  "%s: usable is true, false or null", c->name);
	cr_expect_eq(d.usable, json_is_null(usable) ? -1 : json_is_true(usable),
		     "%s: usable %d", c->name, d.usable);
	cr_expect_str_eq(rules_entitlement_name(d.entitlement),
			 or_null(text_of(w, "entitlement", c->name)),
			 "%s: entitlement", c->name);
	cr_expect_eq(d.application_required,
		     bool_of(w, "application_required", c->name),
		     "%s: application_required", c->name);
	cr_expect_eq(d.may_apply, bool_of(w, "may_apply", c->name),
		     "%s: may_apply", c->name);
	cr_expect_str_eq(date_or_null(d.apply_by, date),
			 or_null(text_of(w, "apply_by", c->name)),
			 "%s: apply_by", c->name);
	cr_expect_str_eq(date_or_null(d.recommended_apply_by, date),
			 or_null(text_of(w, "recommended_apply_by", c->name)),
			 "%s: recommended_apply_by", c->name);
	for (l = 0; l < N(lists); l++) {
		const char *want = text_of(w, lists[l], c->name);

		cr_assert_not_null(want, "%s: %s missing", c->name, lists[l]);
		cr_expect_str_eq(names_of(&d, (enum list)l, buf, sizeof(buf)),
				 want, "%s: %s", c->name, lists[l]);
	}
	if (insurer != NULL) {
		only_keys(insurer, insurer_keys, c->name);
		cr_expect_str_eq(or_null(rules_scheme_name(d.insurer_scheme)),
				 or_null(text_of(insurer, "scheme", c->name)),
				 "%s: insurer scheme", c->name);
		cr_expect_str_eq(or_null(rules_channel_name(d.channel)),
				 or_null(text_of(insurer, "channel", c->name)),
				 "%s: channel", c->name);
	}
}

/* ---- the other expectations a case of CASES_FILE may have ---------------- */

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

/* An advice variant by its name in CASES_FILE (enum rules_advice_variant). */
static int variant_named(const char *s, const char *what)
{
	static const char *const names[] = {"general",
					    "no_card",
					    "card_unavailable_apply",
					    "card_unavailable_sent",
					    "renew_ecert",
					    "renew_card"};
	int v;

	cr_assert_eq(N(names), RULES_AV_COUNT);
	cr_assert_not_null(s, "%s: no variant", what);
	for (v = 0; v < (int)N(names); v++) {
		if (strcmp(names[v], s) == 0)
			return v;
	}
	cr_assert_fail("%s: no variant %s", what, s);
	return -1;
}

/* obtain_card_or_apply in the variant named want, every advice a text in
 * its variant. */
static void check_obtain_card(const struct dcase *c,
			      const struct rules_decision *d, json_t *want)
{
	size_t k;

	cr_expect_eq(variant_of(d, RULES_A_OBTAIN_CARD_OR_APPLY),
		     variant_named(json_string_value(want), c->name),
		     "%s: variant %d", c->name,
		     variant_of(d, RULES_A_OBTAIN_CARD_OR_APPLY));
	for (k = 0; k < d->n_advice; k++) {
		const struct rules_text *t = rules_decision_advice_text(d, k);

		cr_assert_not_null(t, "%s: advice %zu", c->name, k);
		cr_expect_str_eq(t->code, rules_advice_text(d->advice[k])->code,
				 "%s", c->name);
	}
}

/* renew_ecert: its variant ("general": no renew_ecert), renew_by, and
 * whether ecert_in_grace is among the reasons. */
static void check_renew(const struct dcase *c, const struct rules_decision *d,
			json_t *o)
{
	static const char *const keys[] = {"variant", "renew_by",
					   "ecert_in_grace", NULL};
	int want = variant_named(text_of(o, "variant", c->name), c->name);
	char date[11];
	bool grace = false;
	size_t k;

	only_keys(o, keys, c->name);
	cr_expect_eq(variant_of(d, RULES_A_RENEW_ECERT),
		     want == RULES_AV_GENERAL ? -1 : want, "%s: variant %d",
		     c->name, variant_of(d, RULES_A_RENEW_ECERT));
	cr_expect_str_eq(date_or_null(d->renew_by, date),
			 or_null(text_of(o, "renew_by", c->name)),
			 "%s: renew_by", c->name);
	cr_expect_eq(d->renew_card, want == RULES_AV_RENEW_CARD,
		     "%s: renew_card", c->name);
	for (k = 0; k < d->n_reasons; k++)
		grace |= d->reasons[k] == RULES_R_ECERT_IN_GRACE;
	cr_expect_eq(grace, bool_of(o, "ecert_in_grace", c->name),
		     "%s: ecert_in_grace", c->name);
}

/* The insurer part: has_number, scheme and channel (null: none), and of a
 * number, its own scheme and prefecture; the caller fills the name in. */
static void check_insurer_part(const struct dcase *c,
			       const struct rules_decision *d, json_t *o)
{
	static const char *const keys[] = {"has_number", "scheme", "channel",
					   "number", NULL};
	static const char *const number_keys[] = {"scheme", "prefecture", NULL};
	json_t *number = json_object_get(o, "number");
	bool has_number = bool_of(o, "has_number", c->name);

	only_keys(o, keys, c->name);
	cr_expect_eq(d->has_number, has_number, "%s", c->name);
	cr_expect_null(d->insurer_name, "%s: the caller fills the name in",
		       c->name);
	cr_expect_str_eq(or_null(rules_scheme_name(d->insurer_scheme)),
			 or_null(text_of(o, "scheme", c->name)), "%s: scheme",
			 c->name);
	cr_expect_str_eq(or_null(rules_channel_name(d->channel)),
			 or_null(text_of(o, "channel", c->name)), "%s: channel",
			 c->name);
	cr_assert_eq(number != NULL, has_number,
		     "%s: number given with a number only", c->name);
	if (has_number) {
		only_keys(number, number_keys, c->name);
		cr_expect_str_eq(d->insurer.number, c->f.insurer);
		cr_expect_str_eq(or_null(rules_scheme_name(d->insurer.scheme)),
				 or_null(text_of(number, "scheme", c->name)),
				 "%s: the number's scheme", c->name);
		cr_expect_eq(d->insurer.prefecture,
			     int_of(number, "prefecture", -1, c->name),
			     "%s: prefecture", c->name);
	}
}

/* The derived facts: age (null: not known), late_elderly, child. */
static void check_derived(const struct dcase *c, const struct rules_decision *d,
			  json_t *o)
{
	static const char *const keys[] = {"age", "late_elderly", "child",
					   NULL};
	json_t *age = json_object_get(o, "age");

	only_keys(o, keys, c->name);
	cr_assert(json_is_null(age) || json_is_integer(age), "%s: age",
		  c->name);
	cr_expect_eq(d->age, int_of(o, "age", -1, c->name), "%s: age %d",
		     c->name, d->age);
	cr_expect_eq(d->late_elderly, bool_of(o, "late_elderly", c->name),
		     "%s: late_elderly", c->name);
	cr_expect_eq(d->child, bool_of(o, "child", c->name), "%s: child",
		     c->name);
}

/* Checks the expectations of case o other than want; at least one when
 * there is no want. */
static void check_parts(const struct dcase *c, json_t *o)
{
	json_t *obtain = json_object_get(o, "obtain_card_or_apply");
	json_t *renew = json_object_get(o, "renew_ecert");
	json_t *insurer = json_object_get(o, "insurer_part");
	json_t *derived = json_object_get(o, "derived");
	struct rules_decision d;

	cr_assert(json_object_get(o, "want") != NULL || obtain != NULL ||
		      renew != NULL || insurer != NULL || derived != NULL,
		  "%s: nothing expected", c->name);
	decide_ok(c, &d);
	if (obtain != NULL)
		check_obtain_card(c, &d, obtain);
	if (renew != NULL)
		check_renew(c, &d, renew);
	if (insurer != NULL)
		check_insurer_part(c, &d, insurer);
	if (derived != NULL)
		check_derived(c, &d, derived);
}

/* Checks every case of the table of test in CASES_FILE; returns how many. */
static size_t check_table(const char *test)
{
	static const char *const keys[] = {"name",
					   "as_of",
					   "facts",
					   "params",
					   "note",
					   "want",
					   "obtain_card_or_apply",
					   "renew_ecert",
					   "insurer_part",
					   "derived",
					   NULL};
	json_error_t err;
	json_t *root = json_load_file(CASES_FILE, 0, &err);
	json_t *named, *cases, *o;
	size_t i;

	cr_assert_not_null(root, "%s:%d: %s (run from the top of the tree)",
			   CASES_FILE, err.line, err.text);
	named = json_object_get(root, "expectations");
	cases = json_object_get(json_object_get(root, "tests"), test);
	cr_assert(json_array_size(cases) > 0, "%s: no cases for %s", CASES_FILE,
		  test);
	json_array_foreach(cases, i, o) {
		struct rules_params p;
		json_t *params = json_object_get(o, "params");
		json_t *w = json_object_get(o, "want");
		struct dcase c = {text_of(o, "name", test),
				  text_of(o, "as_of", test)};

		cr_assert(c.name != NULL && c.as_of != NULL,
			  "%s case %zu: name and as_of", test, i);
		only_keys(o, keys, c.name);
		c.f = fx_of(json_object_get(o, "facts"), c.name);
		if (params != NULL) {
			params_of(params, &p, c.name);
			c.p = &p;
		}
		if (w != NULL) {
			if (json_is_string(w))
				w = json_object_get(named,
						    json_string_value(w));
			cr_assert_not_null(w, "%s: want is no expectation",
					   c.name);
			check_case(&c, w);
		}
		check_parts(&c, o);
	}
	json_decref(root);
	return i;
}

/* Shorthands for the common facts. */
#define HELD   .card = RULES_CARD_HELD
#define REG    .reg = RULES_REG_REGISTERED
#define NHI    .insurer = "138057"
#define KYOKAI .insurer = "01130012"
#define LATE   .insurer = "39132014"

/* ---- the tables ---------------------------------------------------------- */

/* Each table of tests/unit/decide_cases.json and its number of cases (the
 * name held, not pointed to: Criterion hands the parameter over to the test
 * in another process). */
struct table {
	char name[32];
	size_t cases;
};

ParameterizedTestParameters(rules_decide, table)
{
	static struct table tables[] = {
	    /* decisions like those of tests/cases/eligibility.jsonl (a table
	     * of its own, not that file: every line of the file runs against
	     * the server in tests/e2e/test_cases.py) */
	    {"sample_cases", 16},
	    /* late-elderly and the side reasons */
	    {"late_elderly_derivation", 12},
	    /* rule 2: the provisional operation and its end */
	    {"provisional_end_boundary", 11},
	    /* rule 3: age on the renewal day */
	    {"renewal_day_age", 13},
	    /* rule 4 and certificates */
	    {"applications_and_certificates", 10},
	    /* registration status order and missing facts */
	    {"registration_status_order", 12},
	    /* grace of an expired e-certificate or card, renew_ecert */
	    {"grace_and_renewal", 14},
	    {"children", 15},
	    /* deadlines, and the rules parameters */
	    {"apply_by_and_recommended", 7},
	    {"parameters", 12},
	    /* advice conditions */
	    {"advice_by_setting", 13},
	    /* the insurer part */
	    {"insurer_part", 10},
	    /* the words of an advice that depend on the facts */
	    {"obtain_card_or_apply", 8},
	    /* renew_ecert names the date the grace ends, of the card or of its
	     * e-certificate, whichever ends first (the card on the same day) */
	    {"renew_ecert", 10},
	    {"derived_facts", 9},
	};

	return cr_make_param_array(struct table, tables, N(tables));
}

ParameterizedTest(struct table *t, rules_decide, table)
{
	cr_assert_eq(check_table(t->name), t->cases, "%s: number of cases",
		     t->name);
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

/* ---- insurer part, derived facts, refusals -------------------------------- */

/* ---- the words of an advice that depend on the facts -------------------- */

/* obtain_card_or_apply fits the status (the table "obtain_card_or_apply");
 * only the two statuses of the spec have the advice at all. */
Test(rules_decide, obtain_card_or_apply_only_for_two_statuses)
{
	struct dcase c = {"unregistered",
			  "2025-06-01",
			  {NHI, HELD, .reg = RULES_REG_UNREGISTERED}};
	struct rules_decision d;

	decide_ok(&c, &d);
	cr_expect_eq(variant_of(&d, RULES_A_OBTAIN_CARD_OR_APPLY), -1);
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
