/* ulid.c - see ulid.h. */
#include "base/ulid.h"

#include <stdint.h>

#include "base/random.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void base_ulid_new(char out[BASE_ULID_LEN + 1], double now)
{
	uint64_t ms = now > 0 ? (uint64_t)(now * 1000.0) : 0;
	unsigned char rnd[10];
	uint64_t hi = 0, lo = 0;
	int i;

	/* 10 characters of time: 50 bits, of which 48 are used */
	for (i = 9; i >= 0; i--) {
		out[i] = crockford[ms & 31];
		ms >>= 5;
	}
	/* 16 characters of 80 random bits, as two 40-bit halves */
	base_random_bytes(rnd, sizeof rnd);
	for (i = 0; i < 5; i++) {
		hi = hi << 8 | rnd[i];
		lo = lo << 8 | rnd[i + 5];
	}
	for (i = 7; i >= 0; i--) {
		out[10 + i] = crockford[hi & 31];
		out[18 + i] = crockford[lo & 31];
		hi >>= 5;
		lo >>= 5;
	}
	out[BASE_ULID_LEN] = '\0';
}
