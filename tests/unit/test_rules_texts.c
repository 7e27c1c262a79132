/* test_rules_texts.c - JSON spellings, labels, reason and advice texts
 * (rules/texts.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "rules/rules.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Where a source is the notice's paragraph it reads the same in both
 * languages; other public sources are named in each. */
static void check_source(const struct rules_text *t, const char *ja,
			 const char *en)
{
	if (ja == NULL)
		cr_expect_null(t->source[RULES_LANG_JA], "%s ja", t->code);
	else
		cr_expect_str_eq(t->source[RULES_LANG_JA], ja, "%s ja",
				 t->code);
	if (en == NULL)
		cr_expect_null(t->source[RULES_LANG_EN], "%s en", t->code);
	else
		cr_expect_str_eq(t->source[RULES_LANG_EN], en, "%s en",
				 t->code);
}

/* T, the text of entry I of WHAT (reason, advice), exists, has the JSON
 * spelling CODE and the sources JA and EN. */
static void check_entry(const struct rules_text *t, const char *what, int i,
			const char *code, const char *ja, const char *en)
{
	cr_assert_not_null(t, "%s %d", what, i);
	cr_expect_str_eq(t->code, code);
	check_source(t, ja, en);
}

Test(rules_texts, reason_codes_and_sources)
{
	static const struct {
		const char *code, *source, *source_en; /* en NULL: as ja */
	} want[RULES_R_COUNT] = {
	    {"no_usable_mynahoken", "記1", NULL},
	    {"late_elderly_provisional", "記1 なお書き", NULL},
	    {"late_elderly_age",
	     "後期高齢者医療 年次更新 2026-08 "
	     "以降の国の方針、各都道府県の広域連"
	     "合が公表",
	     "National policy from the 2026-08 late-elderly renewal, published "
	     "by every 広域連合"},
	    {"late_elderly_applied", "記1 なお書き", NULL},
	    {"card_unavailable_on_application", "記2(2)", NULL},
	    {"registration_unknown", "記2(2)", NULL},
	    {"child_on_application", "記1 (児童)", NULL},
	    {"consideration_on_application", "記1", NULL},
	    {"holds_mynahoken", "記1", NULL},
	    {"scheme_inferred_from_age",
	     "高齢者の医療の確保に関する法律 第50条",
	     "Act on Assurance of Medical Care for Elderly People, Article 50"},
	    {"scheme_unknown", NULL, NULL},
	    {"ecert_in_grace", NULL, NULL},
	};
	int r;

	for (r = 0; r < RULES_R_COUNT; r++)
		check_entry(rules_reason_text((enum rules_reason)r), "reason",
			    r, want[r].code, want[r].source,
			    want[r].source_en ? want[r].source_en
					      : want[r].source);
	cr_expect_null(rules_reason_text(RULES_R_COUNT));
	cr_expect_null(rules_reason_text((enum rules_reason) - 1));
}

/* The 85-and-over rule is national policy from the 2026-08 renewal: its
 * source and texts say so in both languages and name no one prefecture's
 * 広域連合 for everyone (a Tokyo member was told "埼玉県…"). */
Test(rules_texts, late_elderly_age_is_national_policy)
{
	static const char *const prefectures[] = {"埼玉",  "Saitama", "東京",
						  "Tokyo", "大阪",    "Osaka"};
	static const char *const national[2] = {"国の方針", "National policy"};
	static const char *const every[2] = {"各都道府県", "every"};
	const struct rules_text *t =
	    rules_reason_text(RULES_R_LATE_ELDERLY_AGE);
	size_t i;
	int l;

	for (l = RULES_LANG_JA; l <= RULES_LANG_EN; l++) {
		const char *src = t->source[l], *text = t->text[l];

		cr_assert_not_null(src);
		for (i = 0; i < N(prefectures); i++) {
			cr_expect(strstr(src, prefectures[i]) == NULL, "%s",
				  src);
			cr_expect(strstr(text, prefectures[i]) == NULL, "%s",
				  text);
		}
		cr_expect(strcasestr(src, national[l]) != NULL, "%s", src);
		cr_expect(strcasestr(text, national[l]) != NULL, "%s", text);
		cr_expect(strstr(src, every[l]) != NULL, "%s", src);
		cr_expect(strstr(text, every[l]) != NULL, "%s", text);
		cr_expect(strstr(src, "2026") != NULL, "%s", src);
		cr_expect(strstr(src, "広域連合") != NULL, "%s", src);
	}
}

Test(rules_texts, advice_codes_and_sources)
{
	static const struct {
		const char *code, *source;
	} want[RULES_A_COUNT] = {
	    {"check_registration", "記2(2), 別添1"},
	    {"obtain_card_or_apply", "記2(2)"},
	    {"renew_ecert", NULL},
	    {"apply_before_deadline", "記1"},
	    {"apply_now", "記1"},
	    {"apply_to_continue_after_provisional", "記1 なお書き"},
	    {"face_auth_card", "記2(1)①"},
	    {"visual_confirmation", "記2(1)②, 別添2"},
	    {"facility_keeps_registration", "記2(1)①"},
	    {"carry_mynahoken_for_emergencies", "記2(1)②"},
	    {"proxy_medicine_pickup", "記2(1)②"},
	    {"care_manager_guidance", "記1"},
	    {"eligibility_notice", NULL},
	};
	int a;

	for (a = 0; a < RULES_A_COUNT; a++) {
		const struct rules_text *t =
		    rules_advice_text((enum rules_advice)a);

		if (a == RULES_A_ELIGIBILITY_NOTICE)
			/* not the notice: insurers' practice, by language */
			check_entry(t, "advice", a, want[a].code,
				    "保険者の運用（2024年12月以降）",
				    "insurers' practice since 2024-12");
		else
			check_entry(t, "advice", a, want[a].code,
				    want[a].source, want[a].source);
	}
	cr_expect_null(rules_advice_text(RULES_A_COUNT));
}

/* Both languages present; Japanese polite (です/ます/ください), English
 * a sentence; short enough for one or two sentences. */
static void check_text(const struct rules_text *t)
{
	const char *ja = t->text[RULES_LANG_JA];
	const char *en = t->text[RULES_LANG_EN];
	size_t jl, el;

	cr_assert_not_null(ja, "%s ja", t->code);
	cr_assert_not_null(en, "%s en", t->code);
	jl = strlen(ja);
	el = strlen(en);
	cr_expect(jl > 3 * 10 && jl < 3 * 160, "%s ja length %zu", t->code, jl);
	cr_expect(el > 20 && el < 400, "%s en length %zu", t->code, el);
	cr_expect(jl >= 3 && strcmp(ja + jl - 3, "。") == 0,
		  "%s ja ends a sentence", t->code);
	cr_expect(strstr(ja, "ます") != NULL || strstr(ja, "です") != NULL ||
		      strstr(ja, "ください") != NULL,
		  "%s ja must be polite: %s", t->code, ja);
	cr_expect(en[el - 1] == '.', "%s en must end with a full stop",
		  t->code);
	cr_expect(strstr(ja, "だ。") == NULL && strstr(ja, "である。") == NULL,
		  "%s ja plain form", t->code);
}

Test(rules_texts, texts_present_and_polite)
{
	int i;

	for (i = 0; i < RULES_R_COUNT; i++)
		check_text(rules_reason_text((enum rules_reason)i));
	for (i = 0; i < RULES_A_COUNT; i++)
		check_text(rules_advice_text((enum rules_advice)i));
}

/* Each variant belongs to one advice and carries its code; the general
 * text is every advice's variant 0. */
Test(rules_texts, advice_variants)
{
	static const struct {
		enum rules_advice_variant v;
		enum rules_advice a;
	} owner[] = {
	    {RULES_AV_NO_CARD, RULES_A_OBTAIN_CARD_OR_APPLY},
	    {RULES_AV_CARD_UNAVAILABLE_APPLY, RULES_A_OBTAIN_CARD_OR_APPLY},
	    {RULES_AV_CARD_UNAVAILABLE_SENT, RULES_A_OBTAIN_CARD_OR_APPLY},
	    {RULES_AV_RENEW_ECERT, RULES_A_RENEW_ECERT},
	    {RULES_AV_RENEW_CARD, RULES_A_RENEW_ECERT},
	};
	int a, v;
	size_t i;

	cr_assert_eq(N(owner) + 1, RULES_AV_COUNT);
	for (a = 0; a < RULES_A_COUNT; a++) {
		cr_expect_eq(rules_advice_text_variant((enum rules_advice)a,
						       RULES_AV_GENERAL),
			     rules_advice_text((enum rules_advice)a),
			     "advice %d", a);
		for (v = 1; v < RULES_AV_COUNT; v++) {
			const struct rules_text *t = rules_advice_text_variant(
			    (enum rules_advice)a, (enum rules_advice_variant)v);
			bool owned = false;

			for (i = 0; i < N(owner); i++)
				owned |= (int)owner[i].v == v &&
					 (int)owner[i].a == a;
			if (!owned) {
				cr_expect_null(t, "advice %d variant %d", a, v);
				continue;
			}
			cr_assert_not_null(t, "advice %d variant %d", a, v);
			cr_expect_str_eq(
			    t->code,
			    rules_advice_text((enum rules_advice)a)->code);
			check_source(t,
				     rules_advice_text((enum rules_advice)a)
					 ->source[RULES_LANG_JA],
				     rules_advice_text((enum rules_advice)a)
					 ->source[RULES_LANG_EN]);
			check_text(t);
		}
	}
	cr_expect_null(
	    rules_advice_text_variant(RULES_A_COUNT, RULES_AV_GENERAL));
	cr_expect_null(
	    rules_advice_text_variant(RULES_A_RENEW_ECERT, RULES_AV_COUNT));
}

/* SPEC §3: the text of obtain_card_or_apply fits the status — never both
 * "sent without application" and "only on application" at once. */
Test(rules_texts, obtain_card_or_apply_says_one_thing)
{
	static const char *const sent[2] = {"申請しなくても",
					    "without an application"};
	static const char *const only[2] = {"申請しなければ",
					    "only on application"};
	static const struct {
		enum rules_advice_variant v;
		bool says_sent, says_only;
		const char *must[2];
	} cases[] = {
	    /* the certificate comes anyway; a card is had at the
	     * municipality */
	    {RULES_AV_NO_CARD, true, false, {"市区町村", "municipal office"}},
	    {RULES_AV_CARD_UNAVAILABLE_APPLY,
	     false,
	     true,
	     {"再発行", "reissued"}},
	    {RULES_AV_CARD_UNAVAILABLE_SENT,
	     true,
	     false,
	     {"再発行", "reissued"}},
	};
	size_t i;
	int l;

	for (i = 0; i < N(cases); i++) {
		const struct rules_text *t = rules_advice_text_variant(
		    RULES_A_OBTAIN_CARD_OR_APPLY, cases[i].v);

		cr_assert_not_null(t);
		for (l = RULES_LANG_JA; l <= RULES_LANG_EN; l++) {
			const char *text = t->text[l];

			cr_expect_eq(strstr(text, sent[l]) != NULL,
				     cases[i].says_sent, "variant %d: %s",
				     cases[i].v, text);
			cr_expect_eq(strstr(text, only[l]) != NULL,
				     cases[i].says_only, "variant %d: %s",
				     cases[i].v, text);
			cr_expect(strstr(text, cases[i].must[l]) != NULL,
				  "variant %d lacks %s: %s", cases[i].v,
				  cases[i].must[l], text);
		}
	}
}

/* renew_ecert and ecert_in_grace say the date the grace ends, and the
 * variants say which of the two expires. */
Test(rules_texts, renewal_texts_name_the_date_and_what)
{
	static const struct {
		enum rules_advice_variant v;
		const char *what[2];
	} cases[] = {
	    {RULES_AV_RENEW_ECERT,
	     {"電子証明書の有効期限", "electronic certificate"}},
	    {RULES_AV_RENEW_CARD, {"カード本体", "card itself"}},
	};
	size_t i;
	int l;

	for (l = RULES_LANG_JA; l <= RULES_LANG_EN; l++) {
		cr_expect(
		    strstr(rules_advice_text(RULES_A_RENEW_ECERT)->text[l],
			   "{renew_by}") != NULL);
		cr_expect(
		    strstr(rules_reason_text(RULES_R_ECERT_IN_GRACE)->text[l],
			   "{renew_by}") != NULL);
		for (i = 0; i < N(cases); i++) {
			const char *text = rules_advice_text_variant(
					       RULES_A_RENEW_ECERT, cases[i].v)
					       ->text[l];

			cr_expect(strstr(text, "{renew_by}") != NULL, "%s",
				  text);
			cr_expect(strstr(text, cases[i].what[l]) != NULL,
				  "lacks %s: %s", cases[i].what[l], text);
		}
	}
}

Test(rules_texts, fact_enum_names_round_trip)
{
	static const char *const schemes[RULES_SCHEME_COUNT] = {
	    NULL,     "nhi",        "nhi_association", "late_elderly",
	    "kyokai", "seamen",     "day_laborer",     "society",
	    "sdf",    "mutual_aid", "special_retiree", "other"};
	static const char *const cards[RULES_CARD_COUNT] = {
	    "unknown", "held", "none", "lost", "renewing"};
	static const char *const regs[RULES_REG_COUNT] = {
	    "unknown", "registered", "unregistered", "cancelled"};
	static const char *const needs[RULES_NEED_COUNT] = {
	    "elderly", "dementia",       "disability",           "child",
	    "illness", "pin_difficulty", "face_auth_difficulty", "other"};
	static const char *const settings[RULES_SETTING_COUNT] = {
	    NULL,
	    "home",
	    "care_facility",
	    "disability_facility",
	    "childrens_facility",
	    "hospital",
	    "other"};
	static const char *const statuses[RULES_CERT_COUNT] = {
	    NULL, "none", "applied", "issued"};
	static const char *const bases[RULES_BASIS_COUNT] = {
	    NULL, "application", "ex_officio", "provisional"};
	int i;

#define ROUND_TRIP(table, name_fn, from_fn, type)                              \
	for (i = 0; i < (int)N(table); i++) {                                  \
		const char *got = name_fn((type)i);                            \
		if (table[i] == NULL) {                                        \
			cr_expect_null(got, #name_fn "(%d)", i);               \
		} else {                                                       \
			cr_expect(got != NULL && strcmp(got, table[i]) == 0,   \
				  #name_fn "(%d)", i);                         \
			cr_expect_eq(from_fn(table[i]), i, #from_fn "(%s)",    \
				     table[i]);                                \
		}                                                              \
	}                                                                      \
	cr_expect_null(name_fn((type)N(table)));                               \
	cr_expect_eq(from_fn("bogus"), -1);                                    \
	cr_expect_eq(from_fn(""), -1);                                         \
	cr_expect_eq(from_fn(NULL), -1)

	ROUND_TRIP(schemes, rules_scheme_name, rules_scheme_from_name,
		   enum rules_scheme);
	ROUND_TRIP(cards, rules_card_name, rules_card_from_name,
		   enum rules_card);
	ROUND_TRIP(regs, rules_registration_name, rules_registration_from_name,
		   enum rules_registration);
	ROUND_TRIP(needs, rules_need_name, rules_need_from_name,
		   enum rules_need);
	ROUND_TRIP(settings, rules_setting_name, rules_setting_from_name,
		   enum rules_setting);
	ROUND_TRIP(statuses, rules_cert_status_name,
		   rules_cert_status_from_name, enum rules_cert_status);
	ROUND_TRIP(bases, rules_cert_basis_name, rules_cert_basis_from_name,
		   enum rules_cert_basis);
#undef ROUND_TRIP

	/* "unknown" is a value only where the spec lists it. */
	cr_expect_eq(rules_card_from_name("unknown"), RULES_CARD_UNKNOWN);
	cr_expect_eq(rules_registration_from_name("unknown"),
		     RULES_REG_UNKNOWN);
	cr_expect_eq(rules_scheme_from_name("unknown"), -1);
	cr_expect_eq(rules_setting_from_name("unknown"), -1);
	cr_expect_eq(rules_cert_status_from_name("absent"), -1);
	cr_expect_eq(rules_card_from_name("maybe"), -1);
	cr_expect_eq(rules_card_from_name("Held"), -1);
	cr_expect_eq(rules_registration_from_name("registered "), -1);
	cr_expect_eq(rules_need_from_name("children"), -1);
}

Test(rules_texts, decision_enum_names)
{
	static const char *const statuses[RULES_STATUS_COUNT] = {
	    "no_card",      "card_unavailable", "ecert_expired", "cancelled",
	    "unregistered", "registered",       "unknown"};
	static const char *const ents[RULES_ENT_COUNT] = {
	    "ex_officio", "provisional", "on_application", "not_entitled",
	    "undetermined"};
	static const char *const apps[RULES_APP_COUNT] = {
	    "self",
	    "family",
	    "legal_representative",
	    "caregiver",
	    "delegate",
	    "facility",
	    "guardian",
	    "facility_staff_delegated_by_guardian"};
	static const char *const facts[RULES_F_COUNT] = {
	    "birth_date", "mynumber_card", "insurance_registration"};
	int i;

	for (i = 0; i < RULES_STATUS_COUNT; i++)
		cr_expect_str_eq(
		    rules_reg_status_name((enum rules_reg_status)i),
		    statuses[i]);
	for (i = 0; i < RULES_ENT_COUNT; i++)
		cr_expect_str_eq(
		    rules_entitlement_name((enum rules_entitlement)i), ents[i]);
	for (i = 0; i < RULES_APP_COUNT; i++)
		cr_expect_str_eq(rules_applicant_name((enum rules_applicant)i),
				 apps[i]);
	for (i = 0; i < RULES_F_COUNT; i++)
		cr_expect_str_eq(rules_fact_name((enum rules_fact)i), facts[i]);
	cr_expect_null(rules_channel_name(RULES_CHANNEL_NONE));
	cr_expect_str_eq(rules_channel_name(RULES_CHANNEL_MUNICIPAL_COUNTER),
			 "municipal_counter");
	cr_expect_str_eq(rules_channel_name(RULES_CHANNEL_EMPLOYER),
			 "employer");
	cr_expect_str_eq(rules_channel_name(RULES_CHANNEL_INSURER), "insurer");
	cr_expect_null(rules_channel_name((enum rules_channel)4));
	cr_expect_null(rules_reg_status_name(RULES_STATUS_COUNT));
	cr_expect_null(rules_entitlement_name(RULES_ENT_COUNT));
	cr_expect_null(rules_applicant_name(RULES_APP_COUNT));
	cr_expect_null(rules_fact_name(RULES_F_COUNT));
}

Test(rules_texts, labels)
{
	int i, l;

	for (l = RULES_LANG_JA; l <= RULES_LANG_EN; l++) {
		for (i = 0; i < RULES_ENT_COUNT; i++) {
			const char *s = rules_entitlement_label(
			    (enum rules_entitlement)i, (enum rules_lang)l);
			cr_expect(s != NULL && s[0] != '\0',
				  "entitlement %d lang %d", i, l);
		}
		for (i = 0; i < RULES_STATUS_COUNT; i++) {
			const char *s = rules_reg_status_label(
			    (enum rules_reg_status)i, (enum rules_lang)l);
			cr_expect(s != NULL && s[0] != '\0',
				  "status %d lang %d", i, l);
		}
	}
	cr_expect_str_eq(
	    rules_entitlement_label(RULES_ENT_ON_APPLICATION, RULES_LANG_EN),
	    "issued on application");
	cr_expect_str_eq(
	    rules_entitlement_label(RULES_ENT_ON_APPLICATION, RULES_LANG_JA),
	    "申請により交付");
	cr_expect_null(rules_entitlement_label(RULES_ENT_COUNT, RULES_LANG_JA));
	cr_expect_null(
	    rules_reg_status_label(RULES_STATUS_COUNT, RULES_LANG_EN));
	cr_expect_null(
	    rules_reg_status_label(RULES_STATUS_NO_CARD, (enum rules_lang)2));
}
