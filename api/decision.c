/* decision.c - the decision object of SPEC §6, as JSON and as a summary.
 *
 * Written by hand into a buffer: every key is fixed, the texts are static,
 * and this is the hottest path of the service. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/internal.h"
#include "base/tokyo_time.h"
#include "base/ulid.h"

/* Item i of an array: the comma before all but the first, then the
 * string name unless NULL (the caller writes the item itself). */
static inline void json_item(struct api_buf *b, size_t i, const char *name)
{
	if (i)
		api_buf_add(b, ",", 1);
	if (name)
		api_buf_json_str(b, name);
}

static void json_bool(struct api_buf *b, bool v)
{
	api_buf_adds(b, v ? "true" : "false");
}

static void json_tristate(struct api_buf *b, rules_tristate v)
{
	api_buf_adds(b, v < 0 ? "null" : v ? "true" : "false");
}

/* The placeholders a text may hold, filled with this decision's values so
 * the reader sees dates, not field names. */
enum placeholder {
	PH_APPLY_BY = 0,
	PH_RECOMMENDED_APPLY_BY,
	PH_PROVISIONAL_END,
	PH_AUTO_AGE,
	PH_RENEW_BY
};
static const char *const placeholders[] = {
    [PH_APPLY_BY] = "{apply_by}",
    [PH_RECOMMENDED_APPLY_BY] = "{recommended_apply_by}",
    [PH_PROVISIONAL_END] = "{provisional_end}",
    [PH_AUTO_AGE] = "{auto_age}",
    [PH_RENEW_BY] = "{renew_by}"};

/* The index of the placeholder at text (end bounds it), or -1. */
static int placeholder_at(const char *text, const char *end)
{
	size_t i, len;

	for (i = 0; i < sizeof placeholders / sizeof placeholders[0]; i++) {
		len = strlen(placeholders[i]);
		if ((size_t)(end - text) >= len &&
		    memcmp(text, placeholders[i], len) == 0)
			return (int)i;
	}
	return -1;
}

static void placeholder_value(int i, const struct rules_decision *d,
			      const struct rules_params *p, char value[24])
{
	int32_t day = RULES_NO_DATE;

	switch ((enum placeholder)i) {
	case PH_AUTO_AGE:
		snprintf(value, 24, "%d", p->late_elderly_auto_age);
		return;
	case PH_PROVISIONAL_END: day = p->provisional_end; break;
	case PH_APPLY_BY: day = d ? d->apply_by : RULES_NO_DATE; break;
	case PH_RECOMMENDED_APPLY_BY:
		day = d ? d->recommended_apply_by : RULES_NO_DATE;
		break;
	case PH_RENEW_BY: day = d ? d->renew_by : RULES_NO_DATE; break;
	}
	/* Outside a decision (GET /v1/rules) the date has no value: name
	 * it. */
	if (day == RULES_NO_DATE)
		snprintf(value, 24, "%.*s", (int)strlen(placeholders[i]) - 2,
			 placeholders[i] + 1);
	else
		rules_date_format(day, value);
}

/* Appends the n bytes of text with its placeholders filled in (a value
 * never needs JSON escaping, so text may be escaped JSON already). */
static void render_into(struct api_buf *b, const char *text, size_t n,
			const struct rules_decision *d,
			const struct rules_params *p)
{
	const char *end = text + n, *brace;
	char value[24];
	int i;

	while (text < end) {
		brace = memchr(text, '{', (size_t)(end - text));
		if (!brace) {
			api_buf_add(b, text, (size_t)(end - text));
			return;
		}
		api_buf_add(b, text, (size_t)(brace - text));
		text = brace;
		i = placeholder_at(text, end);
		if (i < 0) {
			api_buf_add(b, "{", 1);
			text++;
			continue;
		}
		placeholder_value(i, d, p, value);
		api_buf_adds(b, value);
		text += strlen(placeholders[i]);
	}
}

void api_text_render(char *out, size_t outlen, const char *text,
		     const struct rules_decision *d,
		     const struct rules_params *p)
{
	struct api_buf b;
	size_t n;

	if (outlen == 0)
		return;
	api_buf_init(&b, (size_t)-1 >> 1);
	render_into(&b, text, strlen(text), d, p);
	n = b.failed || !b.data ? 0 : b.len;
	if (n >= outlen)
		n = outlen - 1;
	/* never half a UTF-8 character at the cut */
	while (n > 0 && n < b.len && ((unsigned char)b.data[n] & 0xC0) == 0x80)
		n--;
	memcpy(out, b.data ? b.data : "", n);
	out[n] = '\0';
	api_buf_fini(&b);
}

/* Writes {"code", "source", "text"} of one reason or advice. */
static void json_text_object(struct api_buf *b, const struct rules_text *t,
			     enum rules_lang lang, const char *text)
{
	api_buf_key_str(b, "{\"code\":", t->code);
	api_buf_key_str(b, ",\"source\":", t->source[lang]);
	api_buf_key_str(b, ",\"text\":", text);
	api_buf_adds(b, "}");
}

/* The JSON of every reason and advice, escaped once for the life of the
 * process (escaping the same Japanese sentences on every answer was the
 * largest cost of writing one); placeholders stay in it and are filled in
 * as it is copied out. */
struct fragment {
	char *json;
	size_t len;
	bool placeholders;
};

static struct {
	pthread_once_t once;
	struct fragment reason[RULES_R_COUNT][2];
	struct fragment advice[RULES_A_COUNT][RULES_AV_COUNT][2];
} fragments = {PTHREAD_ONCE_INIT, {{{NULL, 0, false}}}, {{{{NULL, 0, false}}}}};

static void fragment_make(struct fragment *f, const struct rules_text *t,
			  enum rules_lang lang)
{
	struct api_buf b;

	api_buf_init(&b, 8192);
	json_text_object(&b, t, lang, t->text[lang]);
	f->json = api_buf_take(&b, &f->len);
	f->placeholders = f->json && memchr(f->json, '{', f->len) &&
			  strchr(t->text[lang], '{');
}

static void fragments_build(void)
{
	const struct rules_text *t;
	int i, v, l;

	for (l = 0; l < 2; l++) {
		for (i = 0; i < RULES_R_COUNT; i++)
			fragment_make(&fragments.reason[i][l],
				      rules_reason_text((enum rules_reason)i),
				      (enum rules_lang)l);
		for (i = 0; i < RULES_A_COUNT; i++) {
			for (v = 0; v < RULES_AV_COUNT; v++) {
				t = rules_advice_text_variant(
				    (enum rules_advice)i,
				    (enum rules_advice_variant)v);
				if (t)
					fragment_make(
					    &fragments.advice[i][v][l], t,
					    (enum rules_lang)l);
			}
		}
	}
}

static void json_texts(struct api_buf *b, const struct rules_text *t,
		       const struct fragment *f, const struct rules_decision *d,
		       const struct rules_params *p, enum rules_lang lang)
{
	char text[1024];

	if (f->json && !f->placeholders) {
		api_buf_add(b, f->json, f->len);
	} else if (f->json) {
		render_into(b, f->json, f->len, d, p);
	} else { /* out of memory at start: the slow way */
		api_text_render(text, sizeof text, t->text[lang], d, p);
		json_text_object(b, t, lang, text);
	}
}

/* ,"next_change":{...} or null (SPEC §3, §6). */
static void json_next_change(struct api_buf *b,
			     const struct rules_next_change *n)
{
	if (n->date == RULES_NO_DATE) {
		api_buf_adds(b, ",\"next_change\":null");
		return;
	}
	api_buf_adds(b, ",\"next_change\":{\"date\":");
	api_buf_json_date(b, n->date);
	api_buf_key_str(
	    b, ",\"registration_status\":", rules_reg_status_name(n->status));
	api_buf_key_str(
	    b, ",\"entitlement\":", rules_entitlement_name(n->entitlement));
	api_buf_adds(b, n->application_required
			    ? ",\"application_required\":true"
			    : ",\"application_required\":false");
	api_buf_key_str(b, ",\"reason\":", rules_reason_text(n->reason)->code);
	api_buf_adds(b, "}");
}

/* The decision's "insurer" object, without its closing brace. */
static void json_insurer(struct api_buf *b, const struct rules_decision *d)
{
	api_buf_key_str(
	    b, "{\"number\":", d->has_number ? d->insurer.number : NULL);
	api_buf_adds(b, ",\"valid\":");
	api_buf_adds(b, d->has_number ? "true" : "null");
	api_buf_key_str(b,
			",\"scheme\":", rules_scheme_name(d->insurer_scheme));
	if (d->has_number) {
		char code[] = ",\"prefecture_code\":\"00\",\"prefecture\":";
		char *digits = strchr(code, '0');

		digits[0] = (char)('0' + d->insurer.prefecture / 10 % 10);
		digits[1] = (char)('0' + d->insurer.prefecture % 10);
		api_buf_add(b, code, sizeof code - 1);
		api_buf_json_str(
		    b, rules_prefecture_name_ja(d->insurer.prefecture));
		api_buf_key_str(
		    b, ",\"prefecture_en\":",
		    rules_prefecture_name_en(d->insurer.prefecture));
	} else {
		api_buf_adds(b, ",\"prefecture_code\":null,\"prefecture\":null,"
				"\"prefecture_en\":null");
	}
	api_buf_key_str(b, ",\"name\":", d->insurer_name);
	api_buf_key_str(b, ",\"channel\":", rules_channel_name(d->channel));
}

void api_decision_json(struct api_buf *b, const struct rules_decision *d,
		       const struct rules_params *p, enum rules_lang lang,
		       double now)
{
	char id[BASE_ULID_LEN + 1], when[BASE_TOKYO_TIME_LEN + 1];
	size_t i;

	pthread_once(&fragments.once, fragments_build);
	base_ulid_new(id, now);
	base_tokyo_time(now, when);
	api_buf_adds(b, "{\"decision_id\":\"");
	api_buf_adds(b, id);
	api_buf_adds(b, "\",\"evaluated_at\":\"");
	api_buf_adds(b, when);
	api_buf_adds(b, "\",\"as_of\":");
	api_buf_json_date(b, d->as_of);
	api_buf_adds(b, ",\"ruleset\":{\"id\":\"" RULES_RULESET_ID
			"\",\"version\":\"" RULES_RULESET_VERSION "\"}");

	api_buf_adds(b, ",\"registration\":{\"status\":");
	api_buf_json_str(b, rules_reg_status_name(d->status));
	api_buf_adds(b, ",\"usable\":");
	json_tristate(b, d->usable);

	api_buf_adds(b, "},\"certificate\":{\"entitlement\":");
	api_buf_json_str(b, rules_entitlement_name(d->entitlement));
	api_buf_adds(b, ",\"application_required\":");
	json_bool(b, d->application_required);
	api_buf_adds(b, ",\"may_apply\":");
	json_bool(b, d->may_apply);
	api_buf_key_date(b, ",\"apply_by\":", d->apply_by);
	api_buf_key_date(b,
			 ",\"recommended_apply_by\":", d->recommended_apply_by);
	api_buf_adds(b, ",\"applicants\":[");
	for (i = 0; i < d->n_applicants; i++)
		json_item(b, i, rules_applicant_name(d->applicants[i]));

	api_buf_adds(b, "]},\"insurer\":");
	json_insurer(b, d);
	api_buf_adds(b, "},\"missing_facts\":[");
	for (i = 0; i < d->n_missing; i++)
		json_item(b, i, rules_fact_name(d->missing[i]));
	api_buf_adds(b, "],\"reasons\":[");
	for (i = 0; i < d->n_reasons; i++) {
		json_item(b, i, NULL);
		json_texts(b, rules_reason_text(d->reasons[i]),
			   &fragments.reason[d->reasons[i]][lang], d, p, lang);
	}
	api_buf_adds(b, "],\"advice\":[");
	for (i = 0; i < d->n_advice; i++) {
		json_item(b, i, NULL);
		json_texts(
		    b, rules_decision_advice_text(d, i),
		    &fragments.advice[d->advice[i]][d->advice_variant[i]][lang],
		    d, p, lang);
	}
	api_buf_adds(b, "]");
	json_next_change(b, &d->next_change);
	api_buf_adds(b, "}");
}

/* ---- the terminal summary ---------------------------------------------- */

static const char *const applicant_ja[RULES_APP_COUNT] = {
    "本人",           "家族", "法定代理人", "介助者",
    "委任を受けた方", "施設", "親権者",     "親権者から委任を受けた施設職員"};

static const char *const channel_label[][2] = {
    [RULES_CHANNEL_NONE] = {"不明", "unknown"},
    [RULES_CHANNEL_MUNICIPAL_COUNTER] = {"市区町村の窓口", "municipal counter"},
    [RULES_CHANNEL_EMPLOYER] = {"勤務先（事業主）経由", "via the employer"},
    [RULES_CHANNEL_INSURER] = {"保険者に直接", "the insurer directly"},
};

/* Display columns of one UTF-8 sequence starting with byte c. */
static size_t utf8_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xf0)
		return 4;
	if (c >= 0xe0)
		return 3;
	return 2;
}

/* Japanese punctuation that must not begin a line (禁則). */
static bool no_line_start(const char *p)
{
	static const char *const marks[] = {"、", "。", "）", "」", "・", "ー"};
	size_t i;

	for (i = 0; i < sizeof marks / sizeof marks[0]; i++)
		if (strncmp(p, marks[i], strlen(marks[i])) == 0)
			return true;
	return false;
}

/* Appends text wrapped at `width` display columns (East Asian characters
 * count two), each continuation line indented by `indent` spaces. */
static void wrap(struct api_buf *b, const char *text, size_t col, size_t indent,
		 size_t width)
{
	const char *p = text;

	while (*p) {
		size_t n = utf8_len((unsigned char)*p), w = n == 1 ? 1 : 2;

		/* Break before a character that would pass the edge; for
		 * English text prefer the last space. */
		if (col + w > width &&
		    !(no_line_start(p) && col + w <= width + 2)) {
			api_buf_adds(b, "\n");
			api_buf_printf(b, "%*s", (int)indent, "");
			col = indent;
			if (*p == ' ') {
				p++;
				continue;
			}
		}
		if (n == 1 && *p == ' ') {
			const char *q = p + 1;
			size_t ww = 0;

			while (*q && *q != ' ' && (unsigned char)*q < 0x80) {
				ww++;
				q++;
			}
			if (col + 1 + ww > width && ww < width - indent) {
				api_buf_adds(b, "\n");
				api_buf_printf(b, "%*s", (int)indent, "");
				col = indent;
				p++;
				continue;
			}
		}
		api_buf_add(b, p, n);
		col += w;
		p += n;
	}
	api_buf_adds(b, "\n");
}

static size_t display_width(const char *s)
{
	size_t w = 0, n;

	for (; *s; s += n) {
		n = utf8_len((unsigned char)*s);
		w += n == 1 ? 1 : 2;
	}
	return w;
}

/* "  label         value", the value starting at column 18. */
static void text_row(struct api_buf *b, const char *label, const char *value)
{
	size_t w = display_width(label);

	api_buf_adds(b, "  ");
	api_buf_adds(b, label);
	api_buf_printf(b, "%*s", (int)(w < 16 ? 16 - w : 1), "");
	wrap(b, value, 2 + (w < 16 ? 16 : w + 1), 18, 78);
}

void api_next_change_words(char *out, size_t outlen,
			   const struct rules_decision *d,
			   const struct rules_params *p, enum rules_lang lang)
{
	const struct rules_next_change *n = &d->next_change;
	bool en = lang == RULES_LANG_EN;
	char date[11], why[256];
	const char *label = rules_reason_label(n->reason, lang);
	int w;

	if (n->date == RULES_NO_DATE) {
		rules_date_format(rules_next_change_end(d->as_of, p), date);
		snprintf(out, outlen, en ? "none until %s" : "%s までなし",
			 date);
		return;
	}
	rules_date_format(n->date, date);
	api_text_render(why, sizeof why, label ? label : "", d, p);
	w = snprintf(out, outlen, en ? "%s: %s (%s)" : "%s: %s（%s）", date,
		     rules_entitlement_word(n->entitlement, lang), why);
	if (w < 0 || (size_t)w >= outlen)
		return;
	/* What the entitlement does not say: the card's state changes, or
	 * an application becomes needed. */
	if (n->status != d->status)
		w += snprintf(out + w, outlen - (size_t)w, en ? "; %s" : "、%s",
			      rules_reg_status_label(n->status, lang));
	if (w >= 0 && (size_t)w < outlen && n->application_required &&
	    !d->application_required)
		snprintf(out + w, outlen - (size_t)w, "%s",
			 en ? "; an application is then required"
			    : "、申請が必要になります");
}

/* The 次の変更 / Next change row of the summary. */
static void text_next_change(struct api_buf *b, const struct rules_decision *d,
			     const struct rules_params *p, enum rules_lang lang)
{
	char line[512];

	api_next_change_words(line, sizeof line, d, p, lang);
	text_row(b, lang == RULES_LANG_EN ? "Next change" : "次の変更", line);
}

/* The summary's apply-by row, when the decision has a deadline. */
static void text_apply_by(struct api_buf *b, const struct rules_decision *d,
			  bool en)
{
	char line[512], date[11], rec[11];

	if (d->apply_by != RULES_NO_DATE &&
	    d->entitlement == RULES_ENT_PROVISIONAL) {
		/* No deadline: the certificate comes anyway until
		 * provisional_end; applying by then only keeps it coming
		 * after. */
		rules_date_format(d->apply_by, date);
		rules_date_format(d->recommended_apply_by, rec);
		snprintf(line, sizeof line,
			 en ? "apply by %s to keep receiving a certificate "
			      "after the provisional operation ends "
			      "(recommended by %s)"
			    : "暫定運用の終了後も資格確認書を受け取り続けたい"
			      "場合は %s までに申請（推奨 %s まで）",
			 date, rec);
		text_row(b, en ? "Optional" : "申請（任意）", line);
	} else if (d->apply_by != RULES_NO_DATE) {
		rules_date_format(d->apply_by, date);
		rules_date_format(d->recommended_apply_by, rec);
		snprintf(line, sizeof line,
			 en ? "%s (recommended by %s)" : "%s（推奨 %s まで）",
			 date, rec);
		text_row(b, en ? "Apply by" : "申請期限", line);
	}
}

/* The summary's "Why" and "What to do" lists. */
static void text_reasons(struct api_buf *b, const struct rules_decision *d,
			 const struct rules_params *p, enum rules_lang lang)
{
	char text[1024], line[sizeof text + 256];
	bool en = lang == RULES_LANG_EN;
	size_t i;

	api_buf_adds(b, en ? "Why:\n" : "理由:\n");
	for (i = 0; i < d->n_reasons; i++) {
		const struct rules_text *t = rules_reason_text(d->reasons[i]);

		api_text_render(text, sizeof text, t->text[lang], d, p);
		if (t->source[lang])
			snprintf(line, sizeof line, en ? "%s (%s)" : "%s（%s）",
				 text, t->source[lang]);
		else
			snprintf(line, sizeof line, "%s", text);
		api_buf_adds(b, "  - ");
		wrap(b, line, 4, 4, 78);
	}
	if (d->n_advice)
		api_buf_adds(b, en ? "What to do:\n" : "すること:\n");
	for (i = 0; i < d->n_advice; i++) {
		const struct rules_text *t = rules_decision_advice_text(d, i);

		api_text_render(text, sizeof text, t->text[lang], d, p);
		api_buf_adds(b, "  - ");
		wrap(b, text, 4, 4, 78);
	}
}

void api_decision_text(struct api_buf *b, const struct rules_decision *d,
		       const struct rules_params *p, enum rules_lang lang)
{
	char line[1024 + 256], date[11];
	size_t i, n;
	bool en = lang == RULES_LANG_EN;

	snprintf(line, sizeof line, "%s%s",
		 rules_entitlement_label(d->entitlement, lang),
		 d->application_required
		     ? (en ? " - APPLICATION REQUIRED" : "（申請が必要です）")
		     : "");
	api_buf_adds(b, en ? "Certificate (資格確認書): " : "資格確認書: ");
	wrap(b, line, en ? 26 : 12, 2, 78);

	text_apply_by(b, d, en);
	n = 0;
	line[0] = '\0';
	for (i = 0; i < d->n_applicants; i++) {
		const char *name = en ? rules_applicant_name(d->applicants[i])
				      : applicant_ja[d->applicants[i]];

		n += (size_t)snprintf(line + n, sizeof line - n, "%s%s",
				      i ? (en ? ", " : "、") : "", name);
		if (n >= sizeof line)
			break;
	}
	if (d->n_applicants)
		text_row(b, en ? "Who may apply" : "申請できる人", line);
	snprintf(line, sizeof line, "%s",
		 rules_reg_status_label(d->status, lang));
	text_row(b, en ? "My Number card" : "マイナ保険証", line);
	if (d->has_number) {
		/* The registry's name is stored text: shown without anything
		 * that would act on a terminal. */
		char name[512];

		api_copy_text_safe(name, sizeof name,
				   d->insurer_name ? d->insurer_name : "");
		snprintf(line, sizeof line, "%s %s%s%s / %s", d->insurer.number,
			 en ? rules_prefecture_name_en(d->insurer.prefecture)
			    : rules_prefecture_name_ja(d->insurer.prefecture),
			 d->insurer_name ? " " : "", name,
			 channel_label[d->channel][lang]);
		text_row(b, en ? "Insurer" : "保険者", line);
	} else if (d->channel != RULES_CHANNEL_NONE) {
		text_row(b, en ? "Apply at" : "申請先",
			 channel_label[d->channel][lang]);
	}
	if (d->n_missing) {
		n = 0;
		for (i = 0; i < d->n_missing; i++)
			n += (size_t)snprintf(line + n, sizeof line - n, "%s%s",
					      i ? ", " : "",
					      rules_fact_name(d->missing[i]));
		text_row(b, en ? "Unknown facts" : "不足している情報", line);
	}
	rules_date_format(d->as_of, date);
	text_row(b, en ? "As of" : "基準日", date);
	text_next_change(b, d, p, lang);

	text_reasons(b, d, p, lang);
}
