/* fuzz_person_pack.c - the person cache's packed record
 * (db/person_cache.h) on arbitrary bytes, two ways:
 *   - as a packed record: person_unpack must never crash or read past
 *     the input, and what it accepts packs back to the same bytes' record;
 *   - as a record: the bytes fill a struct db_person (every string, date,
 *     enum and bit set), and person_unpack(person_pack(p)) == p. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/person_cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *p;
	size_t n;
};

static uint32_t take32(struct src *s)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		v = v << 8 | (s->n ? *s->p : 0);
		if (s->n) {
			s->p++;
			s->n--;
		}
	}
	return v;
}

/* A string of up to max bytes, none NUL. */
static void take_str(struct src *s, char *dst, size_t max)
{
	size_t len = s->n ? *s->p % (max + 1) : 0, i;

	if (s->n) {
		s->p++;
		s->n--;
	}
	for (i = 0; i < len && s->n; i++, s->p++, s->n--)
		dst[i] = *s->p ? (char)*s->p : 'x';
	dst[i] = '\0';
}

static void build(struct src *s, struct db_person *p)
{
	struct rules_facts *f = &p->facts;

	db_person_init(p);
	take_str(s, p->person_id, DB_ID_MAX);
	take_str(s, p->facility_id, DB_ID_MAX);
	take_str(s, p->display_name, 40);
	take_str(s, f->insurer_number, 8);
	f->birth_date = (int32_t)take32(s);
	f->scheme = (enum rules_scheme)(take32(s) % RULES_SCHEME_COUNT);
	f->mynumber_card = (enum rules_card)(take32(s) % RULES_CARD_COUNT);
	f->insurance_registration =
	    (enum rules_registration)(take32(s) % RULES_REG_COUNT);
	f->ecert_expiry = (int32_t)take32(s);
	f->card_expiry = (int32_t)take32(s);
	f->care_needs = take32(s);
	f->setting = (enum rules_setting)(take32(s) % RULES_SETTING_COUNT);
	f->legacy_card_expiry = (int32_t)take32(s);
	f->cert_status = (enum rules_cert_status)(take32(s) % RULES_CERT_COUNT);
	f->cert_basis = (enum rules_cert_basis)(take32(s) % RULES_BASIS_COUNT);
	f->cert_applied_on = (int32_t)take32(s);
	f->cert_valid_until = (int32_t)take32(s);
	p->verified_at = (int32_t)take32(s);
	p->source = (enum db_source)(take32(s) % DB_SOURCE_COUNT);
	take_str(s, p->etag, 16);
	take_str(s, p->updated_at, 31);
}

static int same(const struct db_person *a, const struct db_person *b)
{
	const struct rules_facts *f = &a->facts, *g = &b->facts;

	return !strcmp(a->person_id, b->person_id) &&
	       !strcmp(a->facility_id, b->facility_id) &&
	       !strcmp(a->display_name, b->display_name) &&
	       !strcmp(f->insurer_number, g->insurer_number) &&
	       f->birth_date == g->birth_date && f->scheme == g->scheme &&
	       f->mynumber_card == g->mynumber_card &&
	       f->insurance_registration == g->insurance_registration &&
	       f->ecert_expiry == g->ecert_expiry &&
	       f->card_expiry == g->card_expiry &&
	       f->care_needs == g->care_needs && f->setting == g->setting &&
	       f->legacy_card_expiry == g->legacy_card_expiry &&
	       f->cert_status == g->cert_status &&
	       f->cert_basis == g->cert_basis &&
	       f->cert_applied_on == g->cert_applied_on &&
	       f->cert_valid_until == g->cert_valid_until &&
	       a->verified_at == b->verified_at && a->source == b->source &&
	       !strcmp(a->etag, b->etag) &&
	       !strcmp(a->updated_at, b->updated_at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[PERSON_PACK_MAX];
	struct db_person p, q;
	struct src s = {data, size};
	uint8_t *copy;
	size_t n;

	/* The bytes as a packed record, in a buffer of exactly their size. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (person_unpack(copy, size, &p) == 0) {
		n = person_pack(&p, buf);
		if (n == 0 || person_unpack(buf, n, &q) != 0 || !same(&p, &q))
			abort();
	}
	free(copy);
	/* The bytes as a record. */
	build(&s, &p);
	n = person_pack(&p, buf);
	if (n == 0 || n > PERSON_PACK_MAX || person_unpack(buf, n, &q) != 0 ||
	    !same(&p, &q))
		abort();
	return 0;
}
