/* rules.h - the eligibility decision of SPEC §2-§5: facts in, decision out.
 *
 * Pure logic: libc only, no I/O, no JSON, no SQL, no global mutable state.
 * Every function here is safe to call from any thread.
 *
 * Dates are day numbers: days since 1970-01-01 (proleptic Gregorian), so that
 * comparisons and "minus 30 days" are plain integer arithmetic.  RULES_NO_DATE
 * marks an absent date.
 */
#ifndef SHIKAKU_RULES_H
#define SHIKAKU_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RULES_NO_DATE         INT32_MIN
#define RULES_RULESET_ID      "mhlw-2025-05-13"
#define RULES_RULESET_VERSION "1"

/* ---- dates (rules/date.c) ---------------------------------------------- */

/* Day number of a civil date; no validation (use rules_date_parse for that). */
int32_t rules_date_from_ymd(int y, int m, int d);
void rules_date_to_ymd(int32_t day, int *y, int *m, int *d);
/* Parses exactly "YYYY-MM-DD" (len bytes, not NUL-terminated necessarily),
 * a real date with year 1000-9999.  Returns 0 and sets *out, or -1. */
int rules_date_parse(const char *s, size_t len, int32_t *out);
/* Writes "YYYY-MM-DD" and a NUL into buf (at least 11 bytes). */
void rules_date_format(int32_t day, char buf[11]);
/* Last day of the month that is `months` months after the month of `day`. */
int32_t rules_date_month_end_after(int32_t day, int months);
/* Full years on `on`, rising on the birthday; 29 Feb birthdays rise on
 * 1 Mar in common years.  -1 when `on` is before `birth`. */
int rules_age_on(int32_t birth, int32_t on);
/* The first 1 August on or after `day`. */
int32_t rules_date_next_august_first(int32_t day);
/* Today's date in Asia/Tokyo (UTC+9, no DST) for a POSIX time. */
int32_t rules_date_tokyo(int64_t unix_seconds);

/* ---- enums of the facts (SPEC §2) --------------------------------------- */
/* Every enum starts with its "not known" member at 0 so that a zeroed
 * struct rules_facts means "nothing known". */

enum rules_scheme {
	RULES_SCHEME_UNKNOWN = 0,
	RULES_SCHEME_NHI,
	RULES_SCHEME_NHI_ASSOCIATION,
	RULES_SCHEME_LATE_ELDERLY,
	RULES_SCHEME_KYOKAI,
	RULES_SCHEME_SEAMEN,
	RULES_SCHEME_DAY_LABORER,
	RULES_SCHEME_SOCIETY,
	RULES_SCHEME_SDF,
	RULES_SCHEME_MUTUAL_AID,
	RULES_SCHEME_SPECIAL_RETIREE,
	RULES_SCHEME_OTHER,
	RULES_SCHEME_COUNT
};

enum rules_card {
	RULES_CARD_UNKNOWN = 0,
	RULES_CARD_HELD,
	RULES_CARD_NONE,
	RULES_CARD_LOST,
	RULES_CARD_RENEWING,
	RULES_CARD_COUNT
};

enum rules_registration {
	RULES_REG_UNKNOWN = 0,
	RULES_REG_REGISTERED,
	RULES_REG_UNREGISTERED,
	RULES_REG_CANCELLED,
	RULES_REG_COUNT
};

/* care_needs is a bit set of these (1u << RULES_NEED_x). */
enum rules_need {
	RULES_NEED_ELDERLY = 0,
	RULES_NEED_DEMENTIA,
	RULES_NEED_DISABILITY,
	RULES_NEED_CHILD,
	RULES_NEED_ILLNESS,
	RULES_NEED_PIN_DIFFICULTY,
	RULES_NEED_FACE_AUTH_DIFFICULTY,
	RULES_NEED_OTHER,
	RULES_NEED_COUNT
};

enum rules_setting {
	RULES_SETTING_UNKNOWN = 0,
	RULES_SETTING_HOME,
	RULES_SETTING_CARE_FACILITY,
	RULES_SETTING_DISABILITY_FACILITY,
	RULES_SETTING_CHILDRENS_FACILITY,
	RULES_SETTING_HOSPITAL,
	RULES_SETTING_OTHER,
	RULES_SETTING_COUNT
};

/* certificate.status; RULES_CERT_ABSENT = the object was not given. */
enum rules_cert_status {
	RULES_CERT_ABSENT = 0,
	RULES_CERT_NONE,
	RULES_CERT_APPLIED,
	RULES_CERT_ISSUED,
	RULES_CERT_COUNT
};

enum rules_cert_basis {
	RULES_BASIS_UNKNOWN = 0,
	RULES_BASIS_APPLICATION,
	RULES_BASIS_EX_OFFICIO,
	RULES_BASIS_PROVISIONAL,
	RULES_BASIS_COUNT
};

/* A person's facts.  Zero-initialise, then set what is known; dates not
 * known must be RULES_NO_DATE (rules_facts_init does both). */
struct rules_facts {
	int32_t birth_date;
	char insurer_number[9]; /* "" when absent; validated before use */
	enum rules_scheme scheme;
	enum rules_card mynumber_card;
	enum rules_registration insurance_registration;
	int32_t ecert_expiry;
	int32_t card_expiry;
	unsigned care_needs; /* bit set of enum rules_need */
	enum rules_setting setting;
	int32_t legacy_card_expiry;
	enum rules_cert_status cert_status;
	enum rules_cert_basis cert_basis;
	int32_t cert_applied_on;
	int32_t cert_valid_until;
};

void rules_facts_init(struct rules_facts *f);
/* Whether each enum member of f is one of its enum's values (care_needs,
 * a bit set, is not looked at): facts read back from storage check it
 * before use. */
bool rules_facts_enums_valid(const struct rules_facts *f);

/* ---- parameters (SPEC §4) ----------------------------------------------- */

struct rules_params {
	int32_t provisional_end;      /* default 2026-07-31 */
	int late_elderly_auto_age;    /* default 85; -1 = null (rule off) */
	int apply_margin_days;        /* default 30 */
	int ecert_grace_months;       /* default 3 */
	int stale_after_days;         /* default 30 */
	int next_change_horizon_days; /* default 730; 0 = never look */
};

void rules_params_default(struct rules_params *p);

/* ---- insurer numbers (SPEC §5, rules/insurer.c) ------------------------- */

struct rules_insurer {
	char number[9]; /* as given */
	enum rules_scheme
	    scheme; /* derived from the 法別番号 (NHI for 6 digits / 00) */
	int prefecture; /* 1-47 */
};

enum rules_insurer_error {
	RULES_INSURER_OK = 0,
	RULES_INSURER_BAD_LENGTH,
	RULES_INSURER_NOT_DIGITS,
	RULES_INSURER_BAD_CHECK_DIGIT,
	RULES_INSURER_BAD_PREFECTURE
};

/* Validates a 6- or 8-digit insurer number of len bytes and fills *out. */
enum rules_insurer_error rules_insurer_parse(const char *s, size_t len,
					     struct rules_insurer *out);
/* The check digit (0-9) for the digits s[0..n-1]. */
int rules_insurer_check_digit(const char *digits, size_t n);
/* Does a (valid) insurer number's scheme agree with a scheme fact?
 * nhi_association agrees with an NHI number. */
bool rules_scheme_agrees(enum rules_scheme from_number, enum rules_scheme fact);

enum rules_channel {
	RULES_CHANNEL_NONE = 0,
	RULES_CHANNEL_MUNICIPAL_COUNTER,
	RULES_CHANNEL_EMPLOYER,
	RULES_CHANNEL_INSURER
};
enum rules_channel rules_scheme_channel(enum rules_scheme s);

/* Prefecture names, from data/prefectures.csv (generated at build time).
 * Borrowed static strings; NULL outside 1-47. */
const char *rules_prefecture_name_ja(int code);
const char *rules_prefecture_name_en(int code);

/* ---- individual numbers (SPEC §8, rules/mynumber.c) --------------------- */

/* SPEC §8 reads a text as a stream of characters, each a digit (0-9), a
 * separator (skipped) or anything else.  A run is a stretch of digits and
 * separators between two other characters (or the ends of the text); it
 * counts when it holds exactly 12 digits with a valid check digit.  The
 * whole value is an individual number when it is one such run and nothing
 * else; free text holds one when any of its runs counts.  Which
 * characters are digits and separators is Unicode's business: api/text.c
 * (api_is_individual_number) reads any UTF-8 text; here only ASCII. */
#define RULES_MYNUMBER_DIGITS 12
enum {
	RULES_MYNUMBER_SEPARATOR = -1,
	RULES_MYNUMBER_OTHER = -2,
};

/* Caller storage; start with rules_mynumber_reader_init, add each
 * character's class (0-9, RULES_MYNUMBER_SEPARATOR or _OTHER), end with
 * rules_mynumber_reader_end, then read `run` and `whole` (and `window`
 * when `windows` was set after the init). */
struct rules_mynumber_reader {
	unsigned char d[RULES_MYNUMBER_DIGITS];
	unsigned n; /* digits of the current run, up to 13 (= too many) */
	bool other; /* a character neither digit nor separator was seen */
	bool run;   /* a run counted */
	bool whole; /* after _end: the whole text is an individual number */
	/* The stricter reading of text whose bounds cannot be trusted (an
	 * import line that is not JSON: a missing comma joins two numbers):
	 * `window` when any 12 consecutive digits of a run, a longer run's
	 * too, have a valid check digit.  Off unless `windows` is set. */
	bool windows, window;
	unsigned char w[RULES_MYNUMBER_DIGITS];
	unsigned wn; /* digits in w, up to 12 */
};

void rules_mynumber_reader_init(struct rules_mynumber_reader *r);
void rules_mynumber_reader_add(struct rules_mynumber_reader *r, int cls);
void rules_mynumber_reader_end(struct rules_mynumber_reader *r);

/* The check digit of SPEC §8 holds for d[0..11] (digit values, most
 * significant first). */
bool rules_mynumber_check(const unsigned char d[RULES_MYNUMBER_DIGITS]);

/* The readings of ASCII text s[0..len): digits 0-9; separators space,
 * '-', '.', '_', '/', ',' and '~' (what NFKC makes of U+FF5E); every other
 * byte, a byte >= 0x80 and NUL included, is another character.  For the
 * ids, which are ASCII; any other text goes through api/text.c.
 * _is_: the whole value is one; _has_: some run of it is one. */
bool rules_is_individual_number_ascii(const char *s, size_t len);
bool rules_has_individual_number_ascii(const char *s, size_t len);
/* The class of the ASCII character c (< 128) in those readings. */
int rules_mynumber_ascii_class(unsigned char c);
/* True when the JSON integer n has 12 digits (either sign) and a valid
 * check digit. */
bool rules_is_individual_number_int(long long n);

/* ---- the decision (SPEC §3, rules/decide.c) ----------------------------- */

enum rules_reg_status {
	RULES_STATUS_NO_CARD = 0,
	RULES_STATUS_CARD_UNAVAILABLE,
	RULES_STATUS_ECERT_EXPIRED,
	RULES_STATUS_CANCELLED,
	RULES_STATUS_UNREGISTERED,
	RULES_STATUS_REGISTERED,
	RULES_STATUS_UNKNOWN,
	RULES_STATUS_COUNT
};

enum rules_entitlement {
	RULES_ENT_EX_OFFICIO = 0,
	RULES_ENT_PROVISIONAL,
	RULES_ENT_ON_APPLICATION,
	RULES_ENT_NOT_ENTITLED,
	RULES_ENT_UNDETERMINED,
	RULES_ENT_COUNT
};

/* Reason codes: the nine rules of the table, then the side reasons. */
enum rules_reason {
	RULES_R_NO_USABLE_MYNAHOKEN = 0,
	RULES_R_LATE_ELDERLY_PROVISIONAL,
	RULES_R_LATE_ELDERLY_AGE,
	RULES_R_LATE_ELDERLY_APPLIED,
	RULES_R_CARD_UNAVAILABLE_ON_APPLICATION,
	RULES_R_REGISTRATION_UNKNOWN,
	RULES_R_CHILD_ON_APPLICATION,
	RULES_R_CONSIDERATION_ON_APPLICATION,
	RULES_R_HOLDS_MYNAHOKEN,
	RULES_R_SCHEME_INFERRED_FROM_AGE,
	RULES_R_SCHEME_UNKNOWN,
	RULES_R_ECERT_IN_GRACE,
	RULES_R_COUNT
};

enum rules_advice {
	RULES_A_CHECK_REGISTRATION = 0,
	RULES_A_OBTAIN_CARD_OR_APPLY,
	RULES_A_RENEW_ECERT,
	RULES_A_APPLY_BEFORE_DEADLINE,
	RULES_A_APPLY_NOW,
	RULES_A_APPLY_TO_CONTINUE_AFTER_PROVISIONAL,
	RULES_A_FACE_AUTH_CARD,
	RULES_A_VISUAL_CONFIRMATION,
	RULES_A_FACILITY_KEEPS_REGISTRATION,
	RULES_A_CARRY_MYNAHOKEN_FOR_EMERGENCIES,
	RULES_A_PROXY_MEDICINE_PICKUP,
	RULES_A_CARE_MANAGER_GUIDANCE,
	RULES_A_ELIGIBILITY_NOTICE,
	RULES_A_COUNT
};

/* Advice whose words depend on the facts comes in variants (SPEC §3: the
 * text of obtain_card_or_apply fits the status; renew_ecert says whether
 * the card or its electronic certificate is due).  RULES_AV_GENERAL is
 * every advice's own text, the one GET /v1/rules lists; rules_decide picks
 * the variant of each advice it gives. */
enum rules_advice_variant {
	RULES_AV_GENERAL = 0,
	/* obtain_card_or_apply: no card; the certificate comes anyway */
	RULES_AV_NO_CARD,
	/* obtain_card_or_apply: card lost or being renewed, and a
	 * certificate comes only on application */
	RULES_AV_CARD_UNAVAILABLE_APPLY,
	/* obtain_card_or_apply: card lost or being renewed, but the
	 * certificate comes without application (provisional, ex officio) */
	RULES_AV_CARD_UNAVAILABLE_SENT,
	/* renew_ecert: the electronic certificate's grace ends first */
	RULES_AV_RENEW_ECERT,
	/* renew_ecert: the card's grace ends first (or the same day) */
	RULES_AV_RENEW_CARD,
	RULES_AV_COUNT
};

enum rules_applicant {
	RULES_APP_SELF = 0,
	RULES_APP_FAMILY,
	RULES_APP_LEGAL_REPRESENTATIVE,
	RULES_APP_CAREGIVER,
	RULES_APP_DELEGATE,
	RULES_APP_FACILITY,
	RULES_APP_GUARDIAN,
	RULES_APP_FACILITY_STAFF_DELEGATED_BY_GUARDIAN,
	RULES_APP_COUNT
};

/* missing_facts members, in output order. */
enum rules_fact {
	RULES_F_BIRTH_DATE = 0,
	RULES_F_MYNUMBER_CARD,
	RULES_F_INSURANCE_REGISTRATION,
	RULES_F_COUNT
};

/* -1 = null (unknown), 0 = false, 1 = true. */
typedef signed char rules_tristate;

/* What changes next (SPEC §3): the first day after as_of, within
 * next_change_horizon_days, whose decision for the same facts differs from
 * as_of's in registration status, entitlement or application_required;
 * that day's values and deciding rule.  date RULES_NO_DATE = null. */
struct rules_next_change {
	int32_t date;
	enum rules_reg_status status;
	enum rules_entitlement entitlement;
	bool application_required;
	enum rules_reason reason;
};

struct rules_decision {
	int32_t as_of;
	enum rules_reg_status status;
	rules_tristate usable;

	enum rules_entitlement entitlement;
	bool application_required;
	bool may_apply;
	int32_t apply_by;             /* RULES_NO_DATE = null */
	int32_t recommended_apply_by; /* RULES_NO_DATE = null */
	enum rules_applicant applicants[RULES_APP_COUNT];
	size_t n_applicants;

	/* insurer: has_number false => number null, valid null */
	bool has_number;
	struct rules_insurer insurer; /* number, prefecture when has_number */
	enum rules_scheme insurer_scheme; /* UNKNOWN = null */
	enum rules_channel channel;       /* NONE = null */
	/* The registry's name for the number: borrowed; rules_decide sets
	 * NULL and the caller fills it in from the insurer registry. */
	const char *insurer_name;

	enum rules_fact missing[RULES_F_COUNT];
	size_t n_missing;
	enum rules_reason reasons[RULES_R_COUNT];
	size_t n_reasons;
	enum rules_advice advice[RULES_A_COUNT];
	enum rules_advice_variant
	    advice_variant[RULES_A_COUNT]; /* of advice[i] */
	size_t n_advice;
	/* The last day of the grace of the expiry to renew first (the
	 * {renew_by} of renew_ecert and ecert_in_grace), of the card when
	 * renew_card; RULES_NO_DATE when no renewal is due. */
	int32_t renew_by;
	bool renew_card;

	/* derived facts, for summaries and tests */
	int age; /* -1 without birth_date */
	bool late_elderly;
	bool child;

	struct rules_next_change next_change;
};

/* Decides for facts f on date as_of under parameters p.  The facts must be
 * valid (api/ validates them; an insurer_number must pass
 * rules_insurer_parse and agree with the scheme).  Returns 0, or -1 when the
 * facts are invalid (bad insurer number), leaving *out unspecified. */
int rules_decide(const struct rules_facts *f, int32_t as_of,
		 const struct rules_params *p, struct rules_decision *out);
/* As rules_decide, but for as_of alone: next_change is not looked for (its
 * date is RULES_NO_DATE).  For callers that decide day after day for the
 * same facts, such as the tests' brute force and the benchmark. */
int rules_decide_at(const struct rules_facts *f, int32_t as_of,
		    const struct rules_params *p, struct rules_decision *out);
/* The last day next_change looks at from as_of: as_of plus the horizon,
 * but never past 9999-12-31, the last day a date can be written. */
int32_t rules_next_change_end(int32_t as_of, const struct rules_params *p);

/* ---- names and texts (rules/texts.c) ------------------------------------ */
/* All borrowed static strings.  lang: 0 = Japanese, 1 = English. */

enum rules_lang { RULES_LANG_JA = 0, RULES_LANG_EN = 1 };

struct rules_text {
	const char *code;
	/* The notice paragraph (the same in both languages) or the public
	 * source, by language; NULL = null. */
	const char *source[2];
	const char *text[2]; /* [RULES_LANG_JA], [RULES_LANG_EN] */
};

const struct rules_text *rules_reason_text(enum rules_reason r);
/* The general text of an advice (RULES_AV_GENERAL). */
const struct rules_text *rules_advice_text(enum rules_advice a);
/* The text of variant v of advice a: the general text for
 * RULES_AV_GENERAL, NULL when v is not a variant of a. */
const struct rules_text *rules_advice_text_variant(enum rules_advice a,
						   enum rules_advice_variant v);
/* The text of the decision's i-th advice, in the variant it chose. */
const struct rules_text *
rules_decision_advice_text(const struct rules_decision *d, size_t i);

/* Enum names as they appear in JSON; NULL for the "unknown"/0 member where
 * that member has no JSON spelling (scheme UNKNOWN, cert ABSENT, channel
 * NONE, setting UNKNOWN).  Each enum of RULES_NAMED_ENUMS has a
 * `const char *rules_<what>_name(type v)` (rules_scheme_name, ...); those
 * listed with X also an `int rules_<what>_from_name(const char *s)`, which
 * returns -1 for an unknown name. */
#define RULES_NAMED_ENUMS(X, Y)                                                \
	X(scheme, enum rules_scheme)                                           \
	X(card, enum rules_card)                                               \
	X(registration, enum rules_registration)                               \
	X(need, enum rules_need)                                               \
	X(setting, enum rules_setting)                                         \
	X(cert_status, enum rules_cert_status)                                 \
	X(cert_basis, enum rules_cert_basis)                                   \
	Y(reg_status, enum rules_reg_status)                                   \
	Y(entitlement, enum rules_entitlement)                                 \
	Y(channel, enum rules_channel)                                         \
	Y(applicant, enum rules_applicant)                                     \
	Y(fact, enum rules_fact)
#define RULES_NAME(what, type)      const char *rules_##what##_name(type v)
#define RULES_FROM_NAME(what)       int rules_##what##_from_name(const char *s)
#define RULES_NAME_DECL(what, type) RULES_NAME(what, type);
#define RULES_NAME_FROM_DECL(what, type)                                       \
	RULES_NAME(what, type);                                                \
	RULES_FROM_NAME(what);
RULES_NAMED_ENUMS(RULES_NAME_FROM_DECL, RULES_NAME_DECL)

/* Human labels for summaries (text/plain). */
const char *rules_entitlement_label(enum rules_entitlement e,
				    enum rules_lang l);
const char *rules_reg_status_label(enum rules_reg_status s, enum rules_lang l);
/* A word or two for an entitlement, to fit a table column ("職権交付"). */
const char *rules_entitlement_word(enum rules_entitlement e, enum rules_lang l);
/* A few words for a deciding rule (the nine of the table), to follow an
 * entitlement word in parentheses ("後期高齢者 {auto_age}歳以上": may hold
 * the placeholders of the texts); NULL for the side reasons. */
const char *rules_reason_label(enum rules_reason r, enum rules_lang l);

#endif
