/* random.h - cheap unpredictable-enough bytes for ids (request ids,
 * decision ids): a per-thread xoshiro256** generator seeded once from
 * getrandom(2).  Not for secrets: keys come from GnuTLS. */
#ifndef SHIKAKU_BASE_RANDOM_H
#define SHIKAKU_BASE_RANDOM_H

#include <stddef.h>

/* Fills out[0..n) from this thread's generator (seeded on first use). */
void base_random_bytes(void *out, size_t n);

#endif
