/* ratelimit.c - a token bucket per key in a fixed table; see ratelimit.h. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/ratelimit.h"

#define KEY_MAX 24

struct slot {
	char key[KEY_MAX]; /* "" = free */
	double tokens;
	double last; /* when tokens was last brought up to date */
};

struct api_rate {
	pthread_mutex_t lock;
	double rate, burst;
	struct slot slots[API_RATE_SLOTS];
};

struct api_rate *api_rate_new(double rate, double burst)
{
	struct api_rate *r;

	if (!(rate > 0))
		return NULL;
	r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->rate = rate;
	r->burst = burst < 1 ? 1 : burst;
	return r;
}

void api_rate_free(struct api_rate *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static uint32_t key_hash(const char *key)
{
	uint32_t h = 2166136261u;

	while (*key) {
		h ^= (unsigned char)*key++;
		h *= 16777619u;
	}
	return h;
}

/* The key's slot: its own, a free one, or the one idle longest among its
 * neighbours (then reset to a full bucket for key). */
static struct slot *slot_of(struct api_rate *r, const char *key, double now)
{
	uint32_t h = key_hash(key);
	struct slot *s, *victim = NULL;
	unsigned i;

	for (i = 0; i < API_RATE_PROBE; i++) {
		s = &r->slots[(h + i) % API_RATE_SLOTS];
		if (strncmp(s->key, key, KEY_MAX) == 0)
			return s;
		if (!s->key[0]) {
			if (!victim || victim->key[0])
				victim = s;
		} else if (!victim ||
			   (victim->key[0] && s->last < victim->last)) {
			victim = s;
		}
	}
	strncpy(victim->key, key, KEY_MAX - 1);
	victim->key[KEY_MAX - 1] = '\0';
	victim->tokens = r->burst;
	victim->last = now;
	return victim;
}

unsigned api_rate_take(struct api_rate *r, const char *key, double now)
{
	struct slot *s;
	double wait;
	unsigned out = 0;

	if (!r || !key || !key[0])
		return 0;
	pthread_mutex_lock(&r->lock);
	s = slot_of(r, key, now);
	if (now > s->last) {
		s->tokens += (now - s->last) * r->rate;
		if (s->tokens > r->burst)
			s->tokens = r->burst;
	}
	/* A clock set back: no time passed, and the bucket waits until the
	 * clock is past its last moment again. */
	if (now > s->last)
		s->last = now;
	if (s->tokens >= 1) {
		s->tokens -= 1;
	} else {
		wait = ceil((1 - s->tokens) / r->rate);
		out = wait < 1 ? 1 : wait > 86400 ? 86400 : (unsigned)wait;
	}
	pthread_mutex_unlock(&r->lock);
	return out;
}
