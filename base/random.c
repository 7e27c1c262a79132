/* random.c - see random.h.
 *
 * Ids need uniqueness, not secrecy (keys come from GnuTLS, never from
 * here).  getrandom(2) on every request cost two system calls per answer
 * on the hottest path, so each thread seeds a xoshiro256** generator from
 * getrandom once and draws from it. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/random.h"

static _Thread_local uint64_t state[4];
static _Thread_local int seeded;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next(void)
{
	uint64_t result = rotl(state[1] * 5, 7) * 9, t = state[1] << 17;

	state[2] ^= state[0];
	state[3] ^= state[1];
	state[1] ^= state[2];
	state[0] ^= state[3];
	state[2] ^= t;
	state[3] = rotl(state[3], 45);
	return result;
}

static void seed(void)
{
	size_t off = 0;
	struct timespec ts;
	int i;

	while (off < sizeof state) {
		ssize_t r =
		    getrandom((char *)state + off, sizeof state - off, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	/* Should the pool fail, the clock and the thread still tell ids
	 * apart; an all-zero state would be stuck. */
	clock_gettime(CLOCK_REALTIME, &ts);
	state[0] ^= (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull;
	state[1] ^= (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&seeded;
	state[2] ^= (uint64_t)getpid() << 32;
	state[3] |= 1;
	for (i = 0; i < 16; i++)
		next();
	seeded = 1;
}

void base_random_bytes(void *out, size_t n)
{
	unsigned char *p = out;
	uint64_t v;

	if (!seeded)
		seed();
	while (n > 0) {
		size_t k = n < sizeof v ? n : sizeof v;

		v = next();
		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}
