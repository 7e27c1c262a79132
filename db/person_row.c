/* person_row.c - a person's row as both stores hold it: typed text columns
 * in enum db_person_col order (db/columns.h), to write and to read. */
#include <stdio.h>
#include <string.h>

#include "db/columns.h"
#include "db/internal.h"

static const char *opt(const char *s)
{
	return s && *s ? s : NULL;
}

static const char *date_val(struct db_person_texts *t, int *k, int32_t day)
{
	if (day == RULES_NO_DATE)
		return NULL;
	rules_date_format(day, t->dates[*k]);
	return t->dates[(*k)++];
}

void db_person_texts(const struct db_person *p, struct db_person_texts *t)
{
	const struct rules_facts *f = &p->facts;
	const char **v = t->v;
	int k = 0;

	v[DB_PCOL_ID] = p->person_id;
	v[DB_PCOL_FACILITY] = opt(p->facility_id);
	v[DB_PCOL_NAME] = opt(p->display_name);
	v[DB_PCOL_BIRTH] = date_val(t, &k, f->birth_date);
	v[DB_PCOL_INSURER] = opt(f->insurer_number);
	v[DB_PCOL_SCHEME] = opt(rules_scheme_name(f->scheme));
	v[DB_PCOL_CARD] =
	    f->mynumber_card ? opt(rules_card_name(f->mynumber_card)) : NULL;
	v[DB_PCOL_REG] =
	    f->insurance_registration
		? opt(rules_registration_name(f->insurance_registration))
		: NULL;
	v[DB_PCOL_ECERT] = date_val(t, &k, f->ecert_expiry);
	v[DB_PCOL_CARD_EXPIRY] = date_val(t, &k, f->card_expiry);
	/* Absent and empty are the same (SPEC §3: no care needs): "". */
	db_needs_join(f->care_needs, t->needs, sizeof t->needs);
	v[DB_PCOL_NEEDS] = t->needs;
	v[DB_PCOL_SETTING] = opt(rules_setting_name(f->setting));
	v[DB_PCOL_LEGACY] = date_val(t, &k, f->legacy_card_expiry);
	v[DB_PCOL_CERT_STATUS] = opt(rules_cert_status_name(f->cert_status));
	v[DB_PCOL_CERT_BASIS] = opt(rules_cert_basis_name(f->cert_basis));
	v[DB_PCOL_CERT_APPLIED] = date_val(t, &k, f->cert_applied_on);
	v[DB_PCOL_CERT_VALID] = date_val(t, &k, f->cert_valid_until);
	v[DB_PCOL_VERIFIED] = date_val(t, &k, p->verified_at);
	v[DB_PCOL_SOURCE] = opt(db_source_name(p->source));
	v[DB_PCOL_ETAG] = p->etag;
	v[DB_PCOL_UPDATED] = p->updated_at;
}

/* A row being read, and how its store hands out a column's text. */
struct row {
	db_col_text_fn text;
	const void *row;
};

static const char *col_text(const struct row *r, int col)
{
	size_t n;

	return r->text(r->row, col, &n);
}

/* Truncated to dstlen - 1 bytes; no snprintf: a lookup copies eight. */
static void copy_col(const struct row *r, int col, char *dst, size_t dstlen)
{
	size_t n = 0;
	const char *t = r->text(r->row, col, &n);

	if (!t)
		n = 0;
	if (n > dstlen - 1)
		n = dstlen - 1;
	memcpy(dst, t ? t : "", n);
	dst[n] = '\0';
}

static int32_t col_date(const struct row *r, int col)
{
	const char *t = col_text(r, col);
	int32_t day;

	if (!t || rules_date_parse(t, strlen(t), &day) != 0)
		return RULES_NO_DATE;
	return day;
}

static int col_enum(const struct row *r, int col, int (*from)(const char *))
{
	const char *t = col_text(r, col);
	int v = t ? from(t) : 0;

	return v < 0 ? 0 : v;
}

static void read_facts(const struct row *r, struct rules_facts *f)
{
	f->birth_date = col_date(r, DB_PCOL_BIRTH);
	copy_col(r, DB_PCOL_INSURER, f->insurer_number,
		 sizeof f->insurer_number);
	f->scheme = (enum rules_scheme)col_enum(r, DB_PCOL_SCHEME,
						rules_scheme_from_name);
	f->mynumber_card =
	    (enum rules_card)col_enum(r, DB_PCOL_CARD, rules_card_from_name);
	f->insurance_registration = (enum rules_registration)col_enum(
	    r, DB_PCOL_REG, rules_registration_from_name);
	f->ecert_expiry = col_date(r, DB_PCOL_ECERT);
	f->card_expiry = col_date(r, DB_PCOL_CARD_EXPIRY);
	f->care_needs = db_needs_split(col_text(r, DB_PCOL_NEEDS));
	f->setting = (enum rules_setting)col_enum(r, DB_PCOL_SETTING,
						  rules_setting_from_name);
	f->legacy_card_expiry = col_date(r, DB_PCOL_LEGACY);
	f->cert_status = (enum rules_cert_status)col_enum(
	    r, DB_PCOL_CERT_STATUS, rules_cert_status_from_name);
	f->cert_basis = (enum rules_cert_basis)col_enum(
	    r, DB_PCOL_CERT_BASIS, rules_cert_basis_from_name);
	f->cert_applied_on = col_date(r, DB_PCOL_CERT_APPLIED);
	f->cert_valid_until = col_date(r, DB_PCOL_CERT_VALID);
}

void db_person_read(db_col_text_fn text, const void *row, struct db_person *p)
{
	const struct row r = {text, row};
	const char *src;
	int v;

	db_person_init(p);
	copy_col(&r, DB_PCOL_ID, p->person_id, sizeof p->person_id);
	copy_col(&r, DB_PCOL_FACILITY, p->facility_id, sizeof p->facility_id);
	copy_col(&r, DB_PCOL_NAME, p->display_name, sizeof p->display_name);
	read_facts(&r, &p->facts);
	p->verified_at = col_date(&r, DB_PCOL_VERIFIED);
	src = col_text(&r, DB_PCOL_SOURCE);
	v = src ? db_source_from_name(src) : 0;
	p->source = v < 0 ? DB_SOURCE_OTHER : (enum db_source)v;
	copy_col(&r, DB_PCOL_ETAG, p->etag, sizeof p->etag);
	copy_col(&r, DB_PCOL_UPDATED, p->updated_at, sizeof p->updated_at);
}

bool db_person_list_row(db_col_text_fn text, const void *row,
			db_person_peek_fn peek,
			int (*fn)(const struct db_person *, void *), void *arg,
			char *last)
{
	struct db_person p;
	size_t n;

	if (peek) {
		const char *id = text(row, DB_PCOL_ID, &n);
		const char *etag = text(row, DB_PCOL_ETAG, &n);
		enum db_peek k = peek(id ? id : "", etag ? etag : "", arg);

		snprintf(last, DB_ID_MAX + 1, "%s", id ? id : "");
		if (k != DB_PEEK_READ)
			return k == DB_PEEK_NEXT;
	}
	db_person_read(text, row, &p);
	snprintf(last, DB_ID_MAX + 1, "%s", p.person_id);
	return fn(&p, arg) == 0;
}
