/* texts.c - JSON spellings of the enums, and the reason and advice texts.
 *
 * The texts are read by a care-home clerk or a help-desk operator: what the
 * answer means and what to do, in plain words.  They name no dates or ages
 * fixed by the parameters of SPEC §4, which operators can change: they say
 * {apply_by}, {recommended_apply_by}, {renew_by}, {provisional_end} or
 * {auto_age}, and api/ puts in the values of the decision and the
 * parameters in force.
 */
#include "rules/rules.h"

#include <string.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A text's source: a paragraph of the notice, cited the same in both
 * languages, or none.  (Unformatted: clang-format takes the braces of a
 * macro for a block.) */
/* clang-format off */
#define NOTICE(paragraph) {paragraph, paragraph}
#define NO_SOURCE {NULL, NULL}
/* clang-format on */

static const struct rules_text reason_texts[RULES_R_COUNT] = {
    [RULES_R_NO_USABLE_MYNAHOKEN] =
	{"no_usable_mynahoken",
	 NOTICE("記1"),
	 {"使えるマイナ保険証（健康保険証として利用登録したマイナンバーカード）"
	  "がないため、"
	  "資格確認書は申請しなくても保険者から送られます。届かない場合は加入先"
	  "の保険者に"
	  "問い合わせてください。",
	  "The person has no usable My Number insurance card (a My Number card "
	  "registered "
	  "for health-insurance use), so the insurer sends an eligibility "
	  "certificate "
	  "without any application. If it has not arrived, contact the "
	  "insurer."}},
    [RULES_R_LATE_ELDERLY_PROVISIONAL] =
	{"late_elderly_provisional",
	 NOTICE("記1 なお書き"),
	 {"後期高齢者医療（75歳以上の方の医療保険）の加入者には、暫定運用（当面"
	  "の特例、"
	  "{provisional_end} "
	  "まで）の期間中は、マイナ保険証の有無にかかわらず資格確認書が"
	  "申請なしで交付されます。",
	  "Members of the late-elderly scheme (後期高齢者医療, age 75 and "
	  "over) receive an "
	  "eligibility certificate without applying while the provisional "
	  "operation (a "
	  "temporary arrangement, until {provisional_end}) lasts, whether or "
	  "not they have a "
	  "My Number insurance card."}},
    [RULES_R_LATE_ELDERLY_AGE] =
	{"late_elderly_age",
	 /* The notice predates this policy: it is the national policy from
	  * the 2026-08 annual renewal, which every prefecture's 広域連合
	  * publishes for its members; no one 広域連合 is the source for
	  * all. */
	 {"後期高齢者医療 年次更新 2026-08 以降の国の方針、各都道府県の広域連合"
	  "が公表",
	  "National policy from the 2026-08 late-elderly renewal, published by "
	  "every 広域連合"},
	 {"暫定運用の終了後は、毎年8月1日の年次更新の時点で{auto_age}歳以上の"
	  "後期高齢者医療の加入者に、資格確認書が申請なしで交付されます。2026年"
	  "8月の更新からの国の方針で、各都道府県の後期高齢者医療広域連合が案内"
	  "し"
	  "ています（生年月日が分からないと判定できません）。",
	  "After the provisional operation, late-elderly members aged "
	  "{auto_age} or over on the annual renewal day (1 August) get a "
	  "certificate without applying. This is national policy from the "
	  "August 2026 renewal, published by every prefecture's 広域連合 "
	  "(it needs the date of birth)."}},
    [RULES_R_LATE_ELDERLY_APPLIED] =
	{"late_elderly_applied",
	 NOTICE("記1 なお書き"),
	 {"暫定運用の終了後も資格確認書を受け取れるよう、すでに申請が済んでいま"
	  "す。"
	  "新たな手続きは必要ありません。",
	  "An application has already been made so that the person keeps "
	  "receiving a "
	  "certificate after the provisional operation. Nothing more needs to "
	  "be done."}},
    [RULES_R_CARD_UNAVAILABLE_ON_APPLICATION] =
	{"card_unavailable_on_application",
	 /* 記2(2): with no card at hand, have it (re)issued or apply for
		 * a certificate; the notice's nearest word on a lost card or one
		 * being renewed. */
	 NOTICE("記2(2)"),
	 {"マイナンバーカードを紛失中または更新中のため、マイナ保険証で受診でき"
	  "ません。"
	  "加入先の保険者に申請すれば資格確認書を受け取れます。",
	  "The My Number card is lost or being renewed, so it cannot be used "
	  "at a clinic. "
	  "The person can get an eligibility certificate by applying to the "
	  "insurer."}},
    [RULES_R_REGISTRATION_UNKNOWN] =
	{"registration_unknown",
	 NOTICE("記2(2)"),
	 {"マイナンバーカードの有無、または健康保険証としての利用登録の状況が分"
	  "からないため、"
	  "判定できません。まず登録状況を確認してください。",
	  "It is not known whether the person has a My Number card or whether "
	  "it is "
	  "registered for health-insurance use, so this cannot be decided. "
	  "Check the "
	  "registration first."}},
    [RULES_R_CHILD_ON_APPLICATION] =
	{"child_on_application",
	 NOTICE("記1 (児童)"),
	 {"お子さんで、マイナ保険証での受診が難しい事情があるか、児童養護施設な"
	  "どで暮らしているため、申請すれば資格確認書を受け取れます。親権者のほ"
	  "か、親権者から委任を受けた施設職員も代理で申請できます。",
	  "The person is a child who finds the My Number insurance card hard "
	  "to use or lives in a children's home, so a certificate can be had "
	  "on application. A parent or guardian, or facility staff the "
	  "guardian has authorised, may apply on the child's behalf."}},
    [RULES_R_CONSIDERATION_ON_APPLICATION] =
	{"consideration_on_application",
	 NOTICE("記1"),
	 {"マイナ保険証をお持ちですが、受診時に使うのが難しい事情があるため、加"
	  "入先の保険者に"
	  "申請すれば資格確認書を受け取れます。マイナ保険証はそのまま持っていて"
	  "構いません。",
	  "The person has a My Number insurance card but finds it hard to use "
	  "at a clinic, "
	  "so they can get a certificate by applying to their insurer. They "
	  "may keep the "
	  "card registered."}},
    [RULES_R_HOLDS_MYNAHOKEN] = {"holds_mynahoken",
				 NOTICE("記1"),
				 {"使えるマイナ保険証をお持ちで、利用が難しい事"
				  "情もないため、資格確認書は交付されません。"
				  "受診にはマイナ保険証を使ってください。",
				  "The person has a usable My Number insurance "
				  "card and no difficulty using it, so "
				  "no certificate is issued, even on "
				  "application. Use the card at clinics."}},
    [RULES_R_SCHEME_INFERRED_FROM_AGE] =
	{"scheme_inferred_from_age",
	 /* 75 and over are insured by 後期高齢者医療 by law. */
	 {"高齢者の医療の確保に関する法律 第50条",
	  "Act on Assurance of Medical Care for Elderly People, Article 50"},
	 {"保険者番号も保険の種類も分からないため、75歳以上であることから後期高"
	  "齢者医療の"
	  "加入者とみなしました。保険者番号を入力すると確実になります。",
	  "Neither the insurer number nor the insurance scheme is known, so "
	  "the person is "
	  "taken to be in the late-elderly scheme because they are 75 or over. "
	  "Enter the "
	  "insurer number to be sure."}},
    [RULES_R_SCHEME_UNKNOWN] = {"scheme_unknown",
				NO_SOURCE,
				{"保険者番号、保険の種類、生年月日のいずれも分"
				 "からないため、後期高齢者医療の加入者"
				 "ではないものとして判定しました。保険者番号か"
				 "生年月日を入力してください。",
				 "The insurer number, the insurance scheme and "
				 "the date of birth are all unknown, "
				 "so the person was taken not to be in the "
				 "late-elderly scheme. Enter the insurer "
				 "number or the date of birth."}},
    [RULES_R_ECERT_IN_GRACE] =
	{/* The grace period is a parameter (SPEC §4), not in the notice. */
	 "ecert_in_grace",
	 NO_SOURCE,
	 {"マイナンバーカードまたはその電子証明書の有効期限が過ぎていますが、猶"
	  "予期間中（{renew_by} "
	  "まで）のため、まだ保険証として使えます。それまで"
	  "に市区町村の窓口で更新してください。",
	  "The My Number card or its electronic certificate has expired, but "
	  "it still works as an insurance card during a grace period, until "
	  "{renew_by}. Renew it at the municipal office before then."}},
};

static const struct rules_text advice_texts[RULES_A_COUNT] = {
    [RULES_A_CHECK_REGISTRATION] =
	{"check_registration",
	 NOTICE("記2(2), 別添1"),
	 {"医療機関や薬局の顔認証付きカードリーダーにカードを置くか、マイナポー"
	  "タルの"
	  "「健康保険証」で「登録済み」か「未登録」かを確認してください。",
	  "Check the registration: place the card on the face-recognition card "
	  "reader at a "
	  "clinic or pharmacy, or open 健康保険証 in the Mynaportal app, which "
	  "shows "
	  "registered (登録済み) or not registered (未登録)."}},
    /* Both cases in one; a decision gives the variant that fits. */
    [RULES_A_OBTAIN_CARD_OR_APPLY] =
	{"obtain_card_or_apply",
	 NOTICE("記2(2)"),
	 {"マイナンバーカードがない場合は、資格確認書が申請なしで送られ、カード"
	  "は市区町村で申請できます。カードを紛失中・更新中の場合は、再発行や更"
	  "新を待つ間、資格確認書を申請してください。",
	  "With no My Number card, the certificate comes without an "
	  "application, and a card can be applied for at the municipal office. "
	  "With the card lost or being renewed, have it reissued or wait for "
	  "the renewed one, and meanwhile apply for a certificate."}},
    [RULES_A_RENEW_ECERT] =
	{"renew_ecert",
	 NO_SOURCE,
	 {"マイナンバーカードまたはその電子証明書の有効期限が近いか、過ぎていま"
	  "す。猶予期間が終わる {renew_by} までに市区町村の窓口で更新してくださ"
	  "い。",
	  "The My Number card or its electronic certificate expires soon or "
	  "has expired. Renew it at the municipal office before the grace "
	  "period ends on {renew_by}."}},
    [RULES_A_APPLY_BEFORE_DEADLINE] =
	{"apply_before_deadline",
	 NOTICE("記1"),
	 {"今お持ちの健康保険証の有効期限（{apply_by}"
	  "）までに、加入先の保険者へ資格確認書を"
	  "申請してください。余裕をもって {recommended_apply_by} "
	  "までの申請をおすすめします。",
	  "Apply to the insurer for a certificate before the current insurance "
	  "card expires "
	  "on {apply_by}; applying by {recommended_apply_by} leaves time to "
	  "spare."}},
    [RULES_A_APPLY_NOW] = {"apply_now",
			   NOTICE("記1"),
			   {"資格確認書を受け取るには申請が必要です。できるだけ"
			    "早く加入先の保険者へ申請して"
			    "ください。",
			    "A certificate is only issued on application: "
			    "apply to the insurer as soon as "
			    "possible."}},
    [RULES_A_APPLY_TO_CONTINUE_AFTER_PROVISIONAL] =
	{"apply_to_continue_after_provisional",
	 NOTICE("記1 なお書き"),
	 {"今は申請しなくても資格確認書が届きますが、暫定運用の終了（{"
	  "provisional_end}）後も"
	  "受け取り続けたい場合は、今のうちに申請しておくことができます。",
	  "A certificate arrives now without applying; to keep receiving one "
	  "after the "
	  "provisional operation ends on {provisional_end}, the person may "
	  "apply now."}},
    [RULES_A_FACE_AUTH_CARD] =
	{"face_auth_card",
	 NOTICE("記2(1)①"),
	 {"暗証番号の設定や管理が不安な場合は、暗証番号のいらない顔認証マイナン"
	  "バーカードに"
	  "切り替えることができます。市区町村の窓口で手続きできます。",
	  "If setting or keeping a PIN is a worry, the card can be switched to "
	  "a "
	  "face-recognition My Number card, which needs no PIN; ask at the "
	  "municipal office."}},
    [RULES_A_VISUAL_CONFIRMATION] =
	{"visual_confirmation",
	 NOTICE("記2(1)②, 別添2"),
	 {"顔認証や暗証番号の入力が難しい場合は、医療機関や薬局の受付で声をかけ"
	  "れば、"
	  "職員が顔写真を見て本人確認（目視確認）をしてくれます。",
	  "If face recognition or entering the PIN is difficult, tell the "
	  "reception staff "
	  "at the clinic or pharmacy: they can check the person against the "
	  "card photo by eye "
	  "instead (目視確認)."}},
    [RULES_A_FACILITY_KEEPS_REGISTRATION] =
	{"facility_keeps_registration",
	 NOTICE("記2(1)①"),
	 {"施設でカードを預かる場合でも、暗証番号まで管理する必要はなく、利用登"
	  "録を解除する"
	  "必要もありません。マイナ保険証を持ったまま資格確認書を申請できます"
	  "。",
	  "A facility keeping the card does not need to manage the PIN or "
	  "cancel the "
	  "registration: the person can keep the My Number insurance card and "
	  "still apply "
	  "for a certificate."}},
    [RULES_A_CARRY_MYNAHOKEN_FOR_EMERGENCIES] =
	{"carry_mynahoken_for_emergencies",
	 NOTICE("記2(1)②"),
	 {"資格確認書があっても、マイナ保険証を持ち歩いてください。救急のときに"
	  "病歴や飲んでいる"
	  "薬が救急隊に正確に伝わります。",
	  "Even with a certificate, carry the My Number insurance card: in an "
	  "emergency it "
	  "tells paramedics the person's medical history and medicines "
	  "accurately."}},
    [RULES_A_PROXY_MEDICINE_PICKUP] =
	{"proxy_medicine_pickup",
	 NOTICE("記2(1)②"),
	 {"本人が薬局へ行けない場合は、処方箋を持って行けば、代理の方が薬を受け"
	  "取れます。",
	  "If the person cannot go to the pharmacy, someone else can collect "
	  "the medicine "
	  "by handing in the prescription."}},
    [RULES_A_CARE_MANAGER_GUIDANCE] =
	{"care_manager_guidance",
	 NOTICE("記1"),
	 {"担当のケアマネジャーなどから、本人やご家族に資格確認書を申請できるこ"
	  "とを"
	  "伝えてください。",
	  "The care manager (or support worker) should tell the person and "
	  "their family "
	  "that they can apply for a certificate."}},
    /* Not in the notice: what insurers have sent since the legacy cards
     * stopped being issued (2024-12-02) to members who get no
     * certificate. */
    [RULES_A_ELIGIBILITY_NOTICE] =
	{"eligibility_notice",
	 {"保険者の運用（2024年12月以降）", "insurers' practice since 2024-12"},
	 {"資格確認書の代わりに、保険者から「資格情報のお知らせ」が届きます。お"
	  "知らせだけでは受診できません。医療機関や薬局でマイナ保険証が読み取れ"
	  "ないときに、マイナ保険証と一緒に見せるものです。",
	  "Instead of a certificate, the insurer sends a notice of eligibility "
	  "information (資格情報のお知らせ). It is not accepted at reception "
	  "on its own: show it together with the My Number insurance card "
	  "when the card cannot be read."}},
};

static const struct rules_text advice_variant_texts[RULES_AV_COUNT] = {
    [RULES_AV_NO_CARD] =
	{"obtain_card_or_apply",
	 NOTICE("記2(2)"),
	 {"マイナンバーカードがないため、資格確認書は申請しなくても送られます。"
	  "マイナ保険証を使いたい場合は、お住まいの市区町村でカードを申請できま"
	  "す。",
	  "Without a My Number card, the certificate is sent without an "
	  "application. To use a My Number insurance card instead, the person "
	  "can apply for a card at the municipal office."}},
    /* 記2(2): a certificate is had on application while the card is away. */
    [RULES_AV_CARD_UNAVAILABLE_APPLY] =
	{"obtain_card_or_apply",
	 NOTICE("記2(2)"),
	 {"紛失したカードは市区町村で再発行を手続きし、更新中ならカードが届くの"
	  "を待ってください。その間に受診するには資格確認書を申請してください（"
	  "申請しなければ交付されません）。",
	  "Have the lost card reissued at the municipal office, or wait for "
	  "the renewed card. Meanwhile, apply for a certificate to see a "
	  "doctor: it is issued only on application."}},
    /* A late-elderly member gets a certificate anyway (rules 2 and 3): to
     * say "only on application" here would contradict the reason. */
    [RULES_AV_CARD_UNAVAILABLE_SENT] =
	{"obtain_card_or_apply",
	 NOTICE("記2(2)"),
	 {"紛失したカードは市区町村で再発行を手続きし、更新中ならカードが届くの"
	  "を待ってください。その間も資格確認書は申請しなくても送られ、それで受"
	  "診できます。",
	  "Have the lost card reissued at the municipal office, or wait for "
	  "the renewed card. Meanwhile the certificate is sent without an "
	  "application, and the person can see a doctor with it."}},
    [RULES_AV_RENEW_ECERT] =
	{"renew_ecert",
	 NO_SOURCE,
	 {"マイナンバーカードの電子証明書の有効期限が近いか、過ぎています。猶予"
	  "期間が終わる {renew_by} までに市区町村の窓口で電子証明書を更新してく"
	  "ださい。",
	  "The electronic certificate of the My Number card expires soon or "
	  "has expired. Renew it at the municipal office before the grace "
	  "period ends on {renew_by}."}},
    /* A renewed card comes with new electronic certificates. */
    [RULES_AV_RENEW_CARD] =
	{"renew_ecert",
	 NO_SOURCE,
	 {"マイナンバーカード本体の有効期限が近いか、過ぎています。猶予期間が終"
	  "わる {renew_by} までに市区町村の窓口でカードを更新してください（電子"
	  "証明書も一緒に更新されます）。",
	  "The My Number card itself expires soon or has expired. Renew the "
	  "card at the municipal office before the grace period ends on "
	  "{renew_by}; its electronic certificate is renewed with it."}},
};

/* The advice each variant belongs to (RULES_A_COUNT: none). */
static enum rules_advice variant_advice(enum rules_advice_variant v)
{
	switch (v) {
	case RULES_AV_NO_CARD:
	case RULES_AV_CARD_UNAVAILABLE_APPLY:
	case RULES_AV_CARD_UNAVAILABLE_SENT:
		return RULES_A_OBTAIN_CARD_OR_APPLY;
	case RULES_AV_RENEW_ECERT:
	case RULES_AV_RENEW_CARD: return RULES_A_RENEW_ECERT;
	default: return RULES_A_COUNT;
	}
}

const struct rules_text *rules_reason_text(enum rules_reason r)
{
	if ((unsigned)r >= RULES_R_COUNT)
		return NULL;
	return &reason_texts[r];
}

const struct rules_text *rules_advice_text(enum rules_advice a)
{
	if ((unsigned)a >= RULES_A_COUNT)
		return NULL;
	return &advice_texts[a];
}

const struct rules_text *rules_advice_text_variant(enum rules_advice a,
						   enum rules_advice_variant v)
{
	if ((unsigned)a >= RULES_A_COUNT || (unsigned)v >= RULES_AV_COUNT)
		return NULL;
	if (v == RULES_AV_GENERAL)
		return &advice_texts[a];
	return variant_advice(v) == a ? &advice_variant_texts[v] : NULL;
}

const struct rules_text *
rules_decision_advice_text(const struct rules_decision *d, size_t i)
{
	const struct rules_text *t;

	if (d == NULL || i >= d->n_advice)
		return NULL;
	t = rules_advice_text_variant(d->advice[i], d->advice_variant[i]);
	return t ? t : rules_advice_text(d->advice[i]);
}

/* ---- names ---- */

static const char *const scheme_names[RULES_SCHEME_COUNT] = {
    [RULES_SCHEME_UNKNOWN] = NULL,
    [RULES_SCHEME_NHI] = "nhi",
    [RULES_SCHEME_NHI_ASSOCIATION] = "nhi_association",
    [RULES_SCHEME_LATE_ELDERLY] = "late_elderly",
    [RULES_SCHEME_KYOKAI] = "kyokai",
    [RULES_SCHEME_SEAMEN] = "seamen",
    [RULES_SCHEME_DAY_LABORER] = "day_laborer",
    [RULES_SCHEME_SOCIETY] = "society",
    [RULES_SCHEME_SDF] = "sdf",
    [RULES_SCHEME_MUTUAL_AID] = "mutual_aid",
    [RULES_SCHEME_SPECIAL_RETIREE] = "special_retiree",
    [RULES_SCHEME_OTHER] = "other",
};

static const char *const card_names[RULES_CARD_COUNT] = {
    [RULES_CARD_UNKNOWN] = "unknown",   [RULES_CARD_HELD] = "held",
    [RULES_CARD_NONE] = "none",         [RULES_CARD_LOST] = "lost",
    [RULES_CARD_RENEWING] = "renewing",
};

static const char *const registration_names[RULES_REG_COUNT] = {
    [RULES_REG_UNKNOWN] = "unknown",
    [RULES_REG_REGISTERED] = "registered",
    [RULES_REG_UNREGISTERED] = "unregistered",
    [RULES_REG_CANCELLED] = "cancelled",
};

static const char *const need_names[RULES_NEED_COUNT] = {
    [RULES_NEED_ELDERLY] = "elderly",
    [RULES_NEED_DEMENTIA] = "dementia",
    [RULES_NEED_DISABILITY] = "disability",
    [RULES_NEED_CHILD] = "child",
    [RULES_NEED_ILLNESS] = "illness",
    [RULES_NEED_PIN_DIFFICULTY] = "pin_difficulty",
    [RULES_NEED_FACE_AUTH_DIFFICULTY] = "face_auth_difficulty",
    [RULES_NEED_OTHER] = "other",
};

static const char *const setting_names[RULES_SETTING_COUNT] = {
    [RULES_SETTING_UNKNOWN] = NULL,
    [RULES_SETTING_HOME] = "home",
    [RULES_SETTING_CARE_FACILITY] = "care_facility",
    [RULES_SETTING_DISABILITY_FACILITY] = "disability_facility",
    [RULES_SETTING_CHILDRENS_FACILITY] = "childrens_facility",
    [RULES_SETTING_HOSPITAL] = "hospital",
    [RULES_SETTING_OTHER] = "other",
};

static const char *const cert_status_names[RULES_CERT_COUNT] = {
    [RULES_CERT_ABSENT] = NULL,
    [RULES_CERT_NONE] = "none",
    [RULES_CERT_APPLIED] = "applied",
    [RULES_CERT_ISSUED] = "issued",
};

static const char *const cert_basis_names[RULES_BASIS_COUNT] = {
    [RULES_BASIS_UNKNOWN] = NULL,
    [RULES_BASIS_APPLICATION] = "application",
    [RULES_BASIS_EX_OFFICIO] = "ex_officio",
    [RULES_BASIS_PROVISIONAL] = "provisional",
};

static const char *const reg_status_names[RULES_STATUS_COUNT] = {
    [RULES_STATUS_NO_CARD] = "no_card",
    [RULES_STATUS_CARD_UNAVAILABLE] = "card_unavailable",
    [RULES_STATUS_ECERT_EXPIRED] = "ecert_expired",
    [RULES_STATUS_CANCELLED] = "cancelled",
    [RULES_STATUS_UNREGISTERED] = "unregistered",
    [RULES_STATUS_REGISTERED] = "registered",
    [RULES_STATUS_UNKNOWN] = "unknown",
};

static const char *const entitlement_names[RULES_ENT_COUNT] = {
    [RULES_ENT_EX_OFFICIO] = "ex_officio",
    [RULES_ENT_PROVISIONAL] = "provisional",
    [RULES_ENT_ON_APPLICATION] = "on_application",
    [RULES_ENT_NOT_ENTITLED] = "not_entitled",
    [RULES_ENT_UNDETERMINED] = "undetermined",
};

static const char *const channel_names[] = {
    [RULES_CHANNEL_NONE] = NULL,
    [RULES_CHANNEL_MUNICIPAL_COUNTER] = "municipal_counter",
    [RULES_CHANNEL_EMPLOYER] = "employer",
    [RULES_CHANNEL_INSURER] = "insurer",
};

static const char *const applicant_names[RULES_APP_COUNT] = {
    [RULES_APP_SELF] = "self",
    [RULES_APP_FAMILY] = "family",
    [RULES_APP_LEGAL_REPRESENTATIVE] = "legal_representative",
    [RULES_APP_CAREGIVER] = "caregiver",
    [RULES_APP_DELEGATE] = "delegate",
    [RULES_APP_FACILITY] = "facility",
    [RULES_APP_GUARDIAN] = "guardian",
    [RULES_APP_FACILITY_STAFF_DELEGATED_BY_GUARDIAN] =
	"facility_staff_delegated_by_guardian",
};

static const char *const fact_names[RULES_F_COUNT] = {
    [RULES_F_BIRTH_DATE] = "birth_date",
    [RULES_F_MYNUMBER_CARD] = "mynumber_card",
    [RULES_F_INSURANCE_REGISTRATION] = "insurance_registration",
};

/* Each entitlement's label, for summaries, and its word or two, to fit a
 * table column ("職権交付"); in Japanese and English. */
static const struct entitlement_text {
	const char *label[2];
	const char *word[2];
} entitlement_texts[RULES_ENT_COUNT] = {
    [RULES_ENT_EX_OFFICIO] = {{"申請なしで交付（職権交付）",
			       "issued without application (ex officio)"},
			      {"職権交付", "ex officio"}},
    [RULES_ENT_PROVISIONAL] =
	{{"暫定運用により申請なしで交付",
	  "issued without application (provisional operation)"},
	 {"暫定交付", "provisional"}},
    [RULES_ENT_ON_APPLICATION] = {{"申請により交付", "issued on application"},
				  {"申請で交付", "on application"}},
    [RULES_ENT_NOT_ENTITLED] =
	{{"交付対象外（マイナ保険証を使用）",
	  "not entitled (use the My Number insurance card)"},
	 {"対象外", "not entitled"}},
    [RULES_ENT_UNDETERMINED] = {{"判定できません（情報不足）",
				 "undetermined (facts missing)"},
				{"判定不可", "undetermined"}},
};

static const char *const reg_status_labels[RULES_STATUS_COUNT][2] = {
    [RULES_STATUS_NO_CARD] = {"マイナンバーカードなし", "no My Number card"},
    [RULES_STATUS_CARD_UNAVAILABLE] = {"カード紛失中・更新中",
				       "card lost or being renewed"},
    [RULES_STATUS_ECERT_EXPIRED] = {"電子証明書またはカードの期限切れ",
				    "electronic certificate or card expired"},
    [RULES_STATUS_CANCELLED] = {"利用登録解除済み", "registration cancelled"},
    [RULES_STATUS_UNREGISTERED] = {"利用登録なし",
				   "not registered for insurance use"},
    [RULES_STATUS_REGISTERED] = {"マイナ保険証として利用可能",
				 "registered: usable as an insurance card"},
    [RULES_STATUS_UNKNOWN] = {"登録状況不明", "registration status unknown"},
};

/* Why, in a few words, after an entitlement word: "職権交付（後期高齢者
 * 85歳以上）". */
static const char *const reason_labels[RULES_R_COUNT][2] = {
    [RULES_R_NO_USABLE_MYNAHOKEN] = {"使えるマイナ保険証なし",
				     "no usable My Number insurance card"},
    [RULES_R_LATE_ELDERLY_PROVISIONAL] = {"後期高齢者 暫定運用",
					  "late-elderly, provisional "
					  "operation"},
    [RULES_R_LATE_ELDERLY_AGE] = {"後期高齢者 {auto_age}歳以上",
				  "late-elderly aged {auto_age} or over"},
    [RULES_R_LATE_ELDERLY_APPLIED] = {"後期高齢者 申請済み",
				      "late-elderly, applied"},
    [RULES_R_CARD_UNAVAILABLE_ON_APPLICATION] = {"カード紛失中・更新中",
						 "card lost or being renewed"},
    [RULES_R_REGISTRATION_UNKNOWN] = {"登録状況不明", "registration unknown"},
    [RULES_R_CHILD_ON_APPLICATION] = {"児童", "child"},
    [RULES_R_CONSIDERATION_ON_APPLICATION] = {"要配慮者",
					      "needs consideration"},
    [RULES_R_HOLDS_MYNAHOKEN] = {"マイナ保険証を利用",
				 "uses the My Number insurance card"},
};

static const char *texts_name(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : NULL;
}

static int texts_from_name(const char *const *names, size_t n, const char *s)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (names[i] != NULL && strcmp(names[i], s) == 0)
			return (int)i;
	}
	return -1;
}

/* The functions rules.h declares for RULES_NAMED_ENUMS, over the tables
 * <what>_names. */
#define TEXTS_NAME(what, type)                                                 \
	RULES_NAME(what, type)                                                 \
	{                                                                      \
		return texts_name(what##_names, COUNT_OF(what##_names),        \
				  (unsigned)v);                                \
	}
#define TEXTS_NAME_FROM(what, type)                                            \
	TEXTS_NAME(what, type)                                                 \
	RULES_FROM_NAME(what)                                                  \
	{                                                                      \
		return texts_from_name(what##_names, COUNT_OF(what##_names),   \
				       s);                                     \
	}

RULES_NAMED_ENUMS(TEXTS_NAME_FROM, TEXTS_NAME)

/* rules_<what>_<kind>: the text texts[l] in language l, where texts may
 * name v, the member asked for (below count). */
#define TEXTS_LABEL(what, kind, type, count, texts)                            \
	const char *rules_##what##_##kind(type v, enum rules_lang l)           \
	{                                                                      \
		if ((unsigned)v >= (count) || (unsigned)l > RULES_LANG_EN)     \
			return NULL;                                           \
		return (texts)[l];                                             \
	}

TEXTS_LABEL(entitlement, label, enum rules_entitlement, RULES_ENT_COUNT,
	    entitlement_texts[v].label)
TEXTS_LABEL(entitlement, word, enum rules_entitlement, RULES_ENT_COUNT,
	    entitlement_texts[v].word)
TEXTS_LABEL(reg_status, label, enum rules_reg_status, RULES_STATUS_COUNT,
	    reg_status_labels[v])
TEXTS_LABEL(reason, label, enum rules_reason, RULES_R_COUNT, reason_labels[v])
