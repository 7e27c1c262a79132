/* ulid.h - the ids the service makes (request ids, decision ids): 26
 * characters of Crockford base32, ULID-like: 48 bits of milliseconds, then
 * 80 bits of base_random_bytes, so that ids sort roughly by time. */
#ifndef SHIKAKU_BASE_ULID_H
#define SHIKAKU_BASE_ULID_H

#define BASE_ULID_LEN 26

/* Writes a new id and its NUL into out for the POSIX time now (seconds;
 * a negative time counts as 0). */
void base_ulid_new(char out[BASE_ULID_LEN + 1], double now);

#endif
