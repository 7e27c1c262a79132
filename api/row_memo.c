/* row_memo.c - direct-mapped slots, each a malloc'd entry, under striped
 * locks.  Replacing an entry frees the old one under its lock, so a
 * reader copies what it needs before letting go. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api/row_memo.h"
#include "base/fnv.h"

#define LOCKS 64

struct entry {
	uint64_t rules;
	int32_t as_of, today;
	char etag[17];
	uint8_t idlen;
	uint16_t jsonlen;
	struct api_row_summary sum;
	char data[]; /* the id (idlen bytes), then the JSON */
};

struct api_row_memo {
	size_t mask;
	struct entry **slots;
	pthread_mutex_t locks[LOCKS];
	atomic_uint_fast64_t hits, misses;
};

struct api_row_memo *api_row_memo_new(size_t slots)
{
	struct api_row_memo *m;
	size_t i;

	if (slots == 0 || (slots & (slots - 1)) != 0)
		return NULL;
	m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->slots = calloc(slots, sizeof *m->slots);
	if (!m->slots) {
		free(m);
		return NULL;
	}
	m->mask = slots - 1;
	for (i = 0; i < LOCKS; i++)
		pthread_mutex_init(&m->locks[i], NULL);
	return m;
}

void api_row_memo_free(struct api_row_memo *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i <= m->mask; i++)
		free(m->slots[i]);
	for (i = 0; i < LOCKS; i++)
		pthread_mutex_destroy(&m->locks[i]);
	free(m->slots);
	free(m);
}

static size_t slot_of(const struct api_row_memo *m, const char *id,
		      size_t idlen)
{
	return (size_t)base_fnv1a64(BASE_FNV64_INIT, id, idlen) & m->mask;
}

static bool entry_is(const struct entry *e, const struct api_row_key *k,
		     size_t idlen)
{
	return e && e->idlen == idlen && e->as_of == k->as_of &&
	       e->today == k->today && e->rules == k->rules &&
	       strcmp(e->etag, k->etag) == 0 &&
	       memcmp(e->data, k->id, idlen) == 0;
}

bool api_row_memo_get(struct api_row_memo *m, const struct api_row_key *k,
		      struct api_row_summary *sum, char *json, size_t *len)
{
	size_t idlen = strnlen(k->id, 256), i;
	const struct entry *e;
	bool hit = false;

	if (idlen > 255 || strlen(k->etag) > 16) {
		atomic_fetch_add(&m->misses, 1);
		return false;
	}
	i = slot_of(m, k->id, idlen);
	pthread_mutex_lock(&m->locks[i % LOCKS]);
	e = m->slots[i];
	if (entry_is(e, k, idlen)) {
		*sum = e->sum;
		*len = e->jsonlen;
		memcpy(json, e->data + idlen, e->jsonlen);
		hit = true;
	}
	pthread_mutex_unlock(&m->locks[i % LOCKS]);
	atomic_fetch_add(hit ? &m->hits : &m->misses, 1);
	return hit;
}

void api_row_memo_put(struct api_row_memo *m, const struct api_row_key *k,
		      const struct api_row_summary *sum, const char *json,
		      size_t len)
{
	size_t idlen = strnlen(k->id, 256), i;
	struct entry *e, *old;

	if (idlen > 255 || strlen(k->etag) > 16 || len > API_ROW_MEMO_JSON_MAX)
		return;
	e = malloc(sizeof *e + idlen + len);
	if (!e)
		return;
	e->rules = k->rules;
	e->as_of = k->as_of;
	e->today = k->today;
	strcpy(e->etag, k->etag);
	e->idlen = (uint8_t)idlen;
	e->jsonlen = (uint16_t)len;
	e->sum = *sum;
	memcpy(e->data, k->id, idlen);
	memcpy(e->data + idlen, json, len);
	i = slot_of(m, k->id, idlen);
	pthread_mutex_lock(&m->locks[i % LOCKS]);
	old = m->slots[i];
	m->slots[i] = e;
	pthread_mutex_unlock(&m->locks[i % LOCKS]);
	free(old);
}

void api_row_memo_stats(struct api_row_memo *m, struct api_row_memo_stats *s)
{
	s->hits = atomic_load(&m->hits);
	s->misses = atomic_load(&m->misses);
}
