/* fnv.h - FNV-1a, the one non-cryptographic hash of the service: slots of
 * the insurer registry cache and of the per-address connection count
 * (32 bits), the person record's ETag (64 bits).  Not for anything a
 * caller could choose to collide on purpose with harm. */
#ifndef SHIKAKU_BASE_FNV_H
#define SHIKAKU_BASE_FNV_H

#include <stddef.h>
#include <stdint.h>

#define BASE_FNV32_INIT 2166136261u
#define BASE_FNV64_INIT 0xcbf29ce484222325ull

/* h (BASE_FNV32_INIT to start, or an earlier result to go on) updated
 * with data[0..n). */
static inline uint32_t base_fnv1a32(uint32_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* The same in 64 bits (BASE_FNV64_INIT to start). */
static inline uint64_t base_fnv1a64(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

#endif
