/* person_cache.c - stored persons in packed records, bounded, sharded.
 *
 * Each shard is an open-addressing table (linear probing, deletion by
 * backward shift) of (hash, record) under one mutex; a record is one
 * malloc'd block.  A flush moves the cache's generation; each shard drops
 * its records the next time it is used under an older one, so a flush
 * costs the flusher nothing and nobody more than its own shard. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fnv.h"
#include "db/person_cache.h"

#define SHARD_BITS 6
#define SHARDS     (1u << SHARD_BITS)
/* Bytes a record is expected to take (header, packed bytes, malloc's
 * share): sizes the tables. */
#define EXPECTED_RECORD 128
/* malloc's header, added to every record's count of bytes. */
#define MALLOC_OVERHEAD 8

struct record {
	uint8_t ref; /* CLOCK: used since the hand last passed */
	uint16_t len;
	uint8_t data[]; /* person_pack's bytes */
};

struct slot {
	uint64_t hash;
	struct record *rec; /* NULL: empty */
};

struct shard {
	pthread_mutex_t lock;
	struct slot *slots;
	size_t mask; /* capacity - 1 */
	size_t count, hand;
	size_t bytes; /* records' bytes */
	uint64_t gen; /* the cache's generation its records belong to */
	uint64_t hits, misses, evictions;
};

struct person_cache {
	size_t budget, shard_budget, table_bytes, max_count;
	atomic_uint_fast64_t gen, epoch, synced;
	atomic_int inflight;
	atomic_uint_fast64_t flushes, invalidations;
	/* The store's change log (person_cache_sync's explain): its last
	 * mark read (0: none yet), taken under catch_lock by one thread at a
	 * time; logged: a log explains foreign writes. */
	pthread_mutex_t catch_lock;
	atomic_uint_fast64_t mark;
	atomic_bool logged;
	atomic_uint_fast64_t catch_ups;
	struct shard shards[SHARDS];
};

/* ---- packing ------------------------------------------------------------ */

enum { F_ETAG_HEX = 1, F_UPDATED_TOKYO = 2 };

struct wr {
	uint8_t *p;
	size_t n;
};

static void put_u(struct wr *w, uint64_t v)
{
	while (v >= 0x80) {
		w->p[w->n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	w->p[w->n++] = (uint8_t)v;
}

static void put_s(struct wr *w, int32_t v)
{
	int64_t x = v;

	put_u(w, x < 0 ? ((uint64_t)(-(x + 1)) << 1) | 1 : (uint64_t)x << 1);
}

/* A C string of at most max bytes before its NUL in a buffer of max + 1:
 * false when it has no NUL there. */
static bool put_str(struct wr *w, const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max)
		return false;
	put_u(w, n);
	memcpy(w->p + w->n, s, n);
	w->n += n;
	return true;
}

static int hex_val(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

static bool etag_is_hex(const char *e)
{
	int i;

	for (i = 0; i < 16; i++)
		if (hex_val(e[i]) < 0)
			return false;
	return e[16] == '\0';
}

static void updated_render(int32_t day, uint32_t sec, char out[32])
{
	char d[11];

	rules_date_format(day, d);
	snprintf(out, 32, "%sT%02u:%02u:%02u+09:00", d, sec / 3600 % 24,
		 sec / 60 % 60, sec % 60);
}

/* "2026-01-01T09:00:00+09:00" as (day, second of the day) when rendering
 * those gives back exactly s. */
static bool updated_split(const char *s, int32_t *day, uint32_t *sec)
{
	char back[32];
	int i;

	if (strnlen(s, 26) != 25 || rules_date_parse(s, 10, day) != 0)
		return false;
	for (i = 11; i < 19; i++)
		if ((i == 13 || i == 16) != (s[i] == ':') ||
		    (s[i] != ':' && (s[i] < '0' || s[i] > '9')))
			return false;
	*sec = (uint32_t)((s[11] - '0') * 36000 + (s[12] - '0') * 3600 +
			  (s[14] - '0') * 600 + (s[15] - '0') * 60 +
			  (s[17] - '0') * 10 + (s[18] - '0'));
	if (*sec >= 86400)
		return false;
	updated_render(*day, *sec, back);
	return strcmp(back, s) == 0;
}

/* The packed fields of a person after its strings, in order, for
 * pack_facts, unpack_facts and enums_ok: S a day (signed), E an enum of
 * type below count, U care_needs (a 32-bit mask). */
#define PACKED_FIELDS(S, E, U)                                                 \
	S(facts.birth_date)                                                    \
	E(facts.scheme, enum rules_scheme, RULES_SCHEME_COUNT)                 \
	E(facts.mynumber_card, enum rules_card, RULES_CARD_COUNT)              \
	E(facts.insurance_registration, enum rules_registration,               \
	  RULES_REG_COUNT)                                                     \
	S(facts.ecert_expiry)                                                  \
	S(facts.card_expiry)                                                   \
	U(facts.care_needs)                                                    \
	E(facts.setting, enum rules_setting, RULES_SETTING_COUNT)              \
	S(facts.legacy_card_expiry)                                            \
	E(facts.cert_status, enum rules_cert_status, RULES_CERT_COUNT)         \
	E(facts.cert_basis, enum rules_cert_basis, RULES_BASIS_COUNT)          \
	S(facts.cert_applied_on)                                               \
	S(facts.cert_valid_until)                                              \
	S(verified_at)                                                         \
	E(source, enum db_source, DB_SOURCE_COUNT)

#define NO_FIELD(...)
#define ENUM_OK(field, type, count) &&(unsigned)p->field < (count)

static bool enums_ok(const struct db_person *p)
{
	return true PACKED_FIELDS(NO_FIELD, ENUM_OK, NO_FIELD);
}

#define PUT_S(field)              put_s(w, p->field);
#define PUT_E(field, type, count) put_u(w, (uint64_t)p->field);
#define PUT_U(field)              put_u(w, p->field);

static void pack_facts(struct wr *w, const struct db_person *p)
{
	PACKED_FIELDS(PUT_S, PUT_E, PUT_U);
}

size_t person_pack(const struct db_person *p, uint8_t out[PERSON_PACK_MAX])
{
	struct wr w = {out, 1};
	uint32_t sec = 0;
	int32_t day = 0;
	int i;

	out[0] = 0;
	if (!enums_ok(p) || !put_str(&w, p->person_id, DB_ID_MAX) ||
	    !put_str(&w, p->facility_id, DB_ID_MAX) ||
	    !put_str(&w, p->display_name, DB_DISPLAY_NAME_MAX) ||
	    !put_str(&w, p->facts.insurer_number, 8))
		return 0;
	pack_facts(&w, p);
	if (etag_is_hex(p->etag)) {
		out[0] |= F_ETAG_HEX;
		for (i = 0; i < 16; i += 2)
			out[w.n++] = (uint8_t)(hex_val(p->etag[i]) << 4 |
					       hex_val(p->etag[i + 1]));
	} else if (!put_str(&w, p->etag, sizeof p->etag - 1)) {
		return 0;
	}
	if (updated_split(p->updated_at, &day, &sec)) {
		out[0] |= F_UPDATED_TOKYO;
		put_s(&w, day);
		put_u(&w, sec);
	} else if (!put_str(&w, p->updated_at, sizeof p->updated_at - 1)) {
		return 0;
	}
	return w.n;
}

struct rd {
	const uint8_t *p;
	size_t n, at;
	bool bad;
};

static uint64_t get_u(struct rd *r)
{
	uint64_t v = 0;
	int shift;

	for (shift = 0; shift < 64; shift += 7) {
		if (r->at >= r->n) {
			r->bad = true;
			return 0;
		}
		v |= (uint64_t)(r->p[r->at] & 0x7f) << shift;
		if (!(r->p[r->at++] & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

static int32_t get_s(struct rd *r)
{
	uint64_t u = get_u(r);
	int64_t x = (u & 1) ? -(int64_t)(u >> 1) - 1 : (int64_t)(u >> 1);

	if (x < INT32_MIN || x > INT32_MAX) {
		r->bad = true;
		return 0;
	}
	return (int32_t)x;
}

/* An enum below count. */
static int get_e(struct rd *r, unsigned count)
{
	uint64_t v = get_u(r);

	if (v >= count)
		r->bad = true;
	return r->bad ? 0 : (int)v;
}

static unsigned get_u32(struct rd *r)
{
	uint64_t v = get_u(r);

	if (v > UINT32_MAX)
		r->bad = true;
	return (unsigned)v;
}

static void get_str(struct rd *r, char *dst, size_t max)
{
	uint64_t n = get_u(r);

	dst[0] = '\0';
	if (r->bad || n > max || n > r->n - r->at ||
	    memchr(r->p + r->at, '\0', (size_t)n)) {
		r->bad = true;
		return;
	}
	memcpy(dst, r->p + r->at, (size_t)n);
	dst[n] = '\0';
	r->at += (size_t)n;
}

#define GET_S(field)              p->field = get_s(r);
#define GET_E(field, type, count) p->field = (type)get_e(r, count);
#define GET_U(field)              p->field = get_u32(r);

static void unpack_facts(struct rd *r, struct db_person *p)
{
	PACKED_FIELDS(GET_S, GET_E, GET_U);
}

static void unpack_tail(struct rd *r, uint8_t flags, struct db_person *p)
{
	uint32_t sec;
	int32_t day;
	int i;

	if (flags & F_ETAG_HEX) {
		if (r->n - r->at < 8) {
			r->bad = true;
			return;
		}
		for (i = 0; i < 8; i++) {
			p->etag[2 * i] = "0123456789abcdef"[r->p[r->at] >> 4];
			p->etag[2 * i + 1] =
			    "0123456789abcdef"[r->p[r->at] & 15];
			r->at++;
		}
		p->etag[16] = '\0';
	} else {
		get_str(r, p->etag, sizeof p->etag - 1);
	}
	if (flags & F_UPDATED_TOKYO) {
		day = get_s(r);
		sec = (uint32_t)get_u(r);
		/* Only what person_pack writes: years 1000-9999. */
		if (!r->bad &&
		    (sec >= 86400 || day < rules_date_from_ymd(1000, 1, 1) ||
		     day > rules_date_from_ymd(9999, 12, 31)))
			r->bad = true;
		if (!r->bad)
			updated_render(day, sec, p->updated_at);
	} else {
		get_str(r, p->updated_at, sizeof p->updated_at - 1);
	}
}

int person_unpack(const uint8_t *in, size_t n, struct db_person *p)
{
	struct rd r = {in, n, 1, false};

	if (n < 1 || (in[0] & ~(F_ETAG_HEX | F_UPDATED_TOKYO)))
		return -1;
	db_person_init(p);
	get_str(&r, p->person_id, DB_ID_MAX);
	get_str(&r, p->facility_id, DB_ID_MAX);
	get_str(&r, p->display_name, DB_DISPLAY_NAME_MAX);
	get_str(&r, p->facts.insurer_number, 8);
	if (!r.bad)
		unpack_facts(&r, p);
	if (!r.bad)
		unpack_tail(&r, in[0], p);
	return r.bad || r.at != n ? -1 : 0;
}

/* ---- the table ---------------------------------------------------------- */

static size_t record_bytes(const struct record *rec)
{
	/* Rounded as malloc rounds (16), plus its header. */
	return ((sizeof *rec + rec->len + 15) & ~(size_t)15) + MALLOC_OVERHEAD;
}

/* Does rec hold id (its packed id: after the flags byte, length then
 * bytes; ids are under 128 bytes, so the length is one byte)? */
static bool record_is(const struct record *rec, const char *id, size_t idlen)
{
	return rec->len > 2 + idlen && rec->data[1] == idlen &&
	       memcmp(rec->data + 2, id, idlen) == 0;
}

static size_t find(const struct shard *s, uint64_t hash, const char *id,
		   size_t idlen)
{
	size_t i = (size_t)hash & s->mask;

	while (s->slots[i].rec) {
		if (s->slots[i].hash == hash &&
		    record_is(s->slots[i].rec, id, idlen))
			return i;
		i = (i + 1) & s->mask;
	}
	return SIZE_MAX;
}

/* Empties slot i (its record freed) and moves later ones of the same run
 * back, so that no probe stops short of them. */
static void remove_at(struct shard *s, size_t i)
{
	size_t j = i, home;

	s->bytes -= record_bytes(s->slots[i].rec);
	s->count--;
	free(s->slots[i].rec);
	for (;;) {
		j = (j + 1) & s->mask;
		if (!s->slots[j].rec)
			break;
		home = (size_t)s->slots[j].hash & s->mask;
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		s->slots[i] = s->slots[j];
		i = j;
	}
	s->slots[i].rec = NULL;
}

static void shard_clear(struct shard *s)
{
	size_t i;

	for (i = 0; i <= s->mask; i++) {
		free(s->slots[i].rec);
		s->slots[i].rec = NULL;
	}
	s->count = 0;
	s->bytes = 0;
	s->hand = 0;
}

/* Locks the shard of hash, first dropping its records if the cache was
 * flushed since it was last used. */
static struct shard *shard_lock(struct person_cache *c, uint64_t hash)
{
	struct shard *s = &c->shards[hash >> (64 - SHARD_BITS)];
	uint64_t gen = atomic_load(&c->gen);

	pthread_mutex_lock(&s->lock);
	if (s->gen != gen) {
		shard_clear(s);
		s->gen = gen;
	}
	return s;
}

/* CLOCK: evicts until need more bytes and one more record fit. */
static void make_room(struct person_cache *c, struct shard *s, size_t need)
{
	size_t steps = 0, limit = 4 * (s->mask + 1);
	struct record *rec;

	while (s->count > 0 && steps++ < limit &&
	       (s->bytes + need > c->shard_budget ||
		s->count + 1 > c->max_count)) {
		rec = s->slots[s->hand].rec;
		if (rec && rec->ref) {
			rec->ref = 0;
		} else if (rec) {
			remove_at(s, s->hand);
			s->evictions++;
			continue; /* the slot may hold a moved record now */
		}
		s->hand = (s->hand + 1) & s->mask;
	}
}

/* ---- the cache ---------------------------------------------------------- */

struct person_cache *person_cache_new(size_t budget)
{
	struct person_cache *c = NULL;
	size_t cap = 16, expected, i;

	expected = budget / EXPECTED_RECORD / SHARDS;
	while (cap < expected + expected / 3)
		cap <<= 1;
	if (budget < SHARDS * cap * sizeof(struct slot) * 2)
		return NULL;
	c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->budget = budget;
	c->table_bytes = SHARDS * cap * sizeof(struct slot);
	c->shard_budget = (budget - c->table_bytes) / SHARDS;
	c->max_count = cap - cap / 4;
	atomic_init(&c->synced, UINT64_MAX);
	pthread_mutex_init(&c->catch_lock, NULL);
	for (i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&c->shards[i].lock, NULL);
		c->shards[i].mask = cap - 1;
		c->shards[i].slots = calloc(cap, sizeof(struct slot));
		if (!c->shards[i].slots) {
			person_cache_free(c);
			return NULL;
		}
	}
	return c;
}

void person_cache_free(struct person_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < SHARDS; i++) {
		if (c->shards[i].slots)
			shard_clear(&c->shards[i]);
		free(c->shards[i].slots);
		pthread_mutex_destroy(&c->shards[i].lock);
	}
	pthread_mutex_destroy(&c->catch_lock);
	free(c);
}

static void ticket_fill(struct person_cache *c, struct person_cache_ticket *t,
			bool use)
{
	t->gen = atomic_load(&c->gen);
	t->epoch = atomic_load(&c->epoch);
	t->use = use;
}

void person_cache_flush(struct person_cache *c)
{
	/* gen first: a put that saw the old epoch carries the old gen. */
	atomic_fetch_add(&c->gen, 1);
	atomic_fetch_add(&c->epoch, 1);
	atomic_fetch_add(&c->flushes, 1);
}

/* A version this cache does not know, explained by the store's log: the
 * ids it names are dropped, or everything when it cannot tell.  One
 * thread at a time; the others wait for its answer. */
static void catch_up(struct person_cache *c, uint64_t store_version,
		     person_cache_explain_fn explain, void *arg)
{
	uint64_t to = 0;

	pthread_mutex_lock(&c->catch_lock);
	if (atomic_load(&c->synced) != store_version) {
		if (!explain(arg, c, atomic_load(&c->mark), &to))
			person_cache_flush(c);
		else
			atomic_fetch_add(&c->catch_ups, 1);
		atomic_store(&c->mark, to);
		atomic_store(&c->synced, store_version);
	}
	pthread_mutex_unlock(&c->catch_lock);
}

void person_cache_sync(struct person_cache *c, uint64_t store_version,
		       person_cache_explain_fn explain, void *arg,
		       struct person_cache_ticket *t)
{
	if (atomic_load(&c->synced) == store_version) {
		ticket_fill(c, t, true);
		return;
	}
	if (explain) {
		/* The log covers every commit up to the snapshot it is read
		 * in, ours in flight too. */
		atomic_store(&c->logged, true);
		catch_up(c, store_version, explain, arg);
		ticket_fill(c, t, true);
		return;
	}
	/* A write of ours may have moved the version and not yet said so:
	 * that is no reason to drop everything, but no time to trust the
	 * cache either. */
	if (atomic_load(&c->inflight) > 0) {
		ticket_fill(c, t, false);
		return;
	}
	/* Another thread may have caught up meanwhile. */
	if (atomic_load(&c->synced) != store_version) {
		person_cache_flush(c);
		atomic_store(&c->synced, store_version);
	}
	ticket_fill(c, t, true);
}

bool person_cache_get(struct person_cache *c, const char *id,
		      struct db_person *out)
{
	size_t idlen = strnlen(id, DB_ID_MAX + 1), i, n = 0;
	uint64_t hash = base_fnv1a64(BASE_FNV64_INIT, id, idlen);
	uint8_t buf[PERSON_PACK_MAX];
	struct shard *s;

	if (idlen > DB_ID_MAX)
		return false;
	s = shard_lock(c, hash);
	i = find(s, hash, id, idlen);
	if (i != SIZE_MAX) {
		s->slots[i].rec->ref = 1;
		n = s->slots[i].rec->len;
		memcpy(buf, s->slots[i].rec->data, n);
		s->hits++;
	} else {
		s->misses++;
	}
	pthread_mutex_unlock(&s->lock);
	return n > 0 && person_unpack(buf, n, out) == 0;
}

static void put_locked(struct person_cache *c, struct shard *s, uint64_t hash,
		       struct record *rec)
{
	size_t i, idlen = rec->data[1];

	i = find(s, hash, (const char *)rec->data + 2, idlen);
	if (i != SIZE_MAX)
		remove_at(s, i);
	make_room(c, s, record_bytes(rec));
	if (s->bytes + record_bytes(rec) > c->shard_budget ||
	    s->count + 1 > c->max_count) {
		free(rec);
		return;
	}
	i = (size_t)hash & s->mask;
	while (s->slots[i].rec)
		i = (i + 1) & s->mask;
	s->slots[i].hash = hash;
	s->slots[i].rec = rec;
	s->count++;
	s->bytes += record_bytes(rec);
}

void person_cache_put(struct person_cache *c, const struct db_person *p,
		      const struct person_cache_ticket *t)
{
	uint8_t buf[PERSON_PACK_MAX];
	struct record *rec;
	struct shard *s;
	uint64_t hash;
	size_t n;

	if (!t->use || atomic_load(&c->gen) != t->gen)
		return;
	n = person_pack(p, buf);
	if (n == 0)
		return;
	rec = malloc(sizeof *rec + n);
	if (!rec)
		return;
	rec->ref = 0;
	rec->len = (uint16_t)n;
	memcpy(rec->data, buf, n);
	hash = base_fnv1a64(BASE_FNV64_INIT, p->person_id, buf[1]);
	s = shard_lock(c, hash);
	/* Under the shard's lock: an invalidation of this id is either
	 * before (the epoch moved: refused) or after (it drops this). */
	if (atomic_load(&c->epoch) != t->epoch || s->gen != t->gen)
		free(rec);
	else
		put_locked(c, s, hash, rec);
	pthread_mutex_unlock(&s->lock);
}

void person_cache_invalidate(struct person_cache *c, const char *id)
{
	size_t idlen = strnlen(id, DB_ID_MAX + 1), i;
	uint64_t hash = base_fnv1a64(BASE_FNV64_INIT, id, idlen);
	struct shard *s;

	s = shard_lock(c, hash);
	atomic_fetch_add(&c->epoch, 1);
	i = idlen <= DB_ID_MAX ? find(s, hash, id, idlen) : SIZE_MAX;
	if (i != SIZE_MAX)
		remove_at(s, i);
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add(&c->invalidations, 1);
}

void person_cache_write_begin(struct person_cache *c)
{
	atomic_fetch_add(&c->inflight, 1);
}

void person_cache_write_end(struct person_cache *c, const char *id,
			    uint64_t version_before, uint64_t version_after,
			    bool ours, uint64_t mark)
{
	uint64_t expect = version_before, prev = mark - 1;

	if (id)
		person_cache_invalidate(c, id);
	else
		person_cache_flush(c);
	/* Only from the version the cache knew: one it did not know means
	 * another process wrote first, which the next sync will flush (or
	 * explain, from the log). */
	if (ours) {
		if (atomic_compare_exchange_strong(&c->synced, &expect,
						   version_after) &&
		    mark > 0)
			/* this write's own log entry, right after the last
			 * one explained: nothing to explain in it */
			atomic_compare_exchange_strong(&c->mark, &prev, mark);
	} else if (!atomic_load(&c->logged)) {
		person_cache_flush(c);
	}
	atomic_fetch_sub(&c->inflight, 1);
}

void person_cache_stats(struct person_cache *c, struct person_cache_stats *st)
{
	struct shard *s;
	size_t i;

	memset(st, 0, sizeof *st);
	st->budget = c->budget;
	st->bytes = c->table_bytes;
	st->flushes = atomic_load(&c->flushes);
	st->invalidations = atomic_load(&c->invalidations);
	st->catch_ups = atomic_load(&c->catch_ups);
	for (i = 0; i < SHARDS; i++) {
		s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		st->hits += s->hits;
		st->misses += s->misses;
		st->evictions += s->evictions;
		/* Records of an older generation hold memory until their
		 * shard is next used, but answer nothing. */
		if (s->gen == atomic_load(&c->gen))
			st->entries += s->count;
		st->bytes += s->bytes;
		pthread_mutex_unlock(&s->lock);
	}
}
