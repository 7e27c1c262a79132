/* request_id.h - the id each request answers with (SPEC §6).
 *
 * The caller's X-Request-Id when it is 1-64 characters of [A-Za-z0-9._-]
 * and not an individual number (SPEC §8), else a new one from
 * base_ulid_new (base/ulid.h): 26 characters of Crockford base32, 48 bits
 * of milliseconds then 80 bits of the per-thread xoshiro generator of
 * base/random.h (seeded once from getrandom(2)), so that ids sort roughly
 * by time.
 */
#ifndef SHIKAKU_SERVICE_REQUEST_ID_H
#define SHIKAKU_SERVICE_REQUEST_ID_H

#include <stdbool.h>

#define REQUEST_ID_MAX     64
#define REQUEST_ID_NEW_LEN 26 /* BASE_ULID_LEN */

/* Writes a new id and its NUL into out (REQUEST_ID_NEW_LEN + 1 bytes) for
 * the POSIX time now (seconds). */
void request_id_new(char *out, double now);

enum request_id_verdict {
	REQUEST_ID_ACCEPTED = 0,
	REQUEST_ID_ABSENT,           /* NULL */
	REQUEST_ID_MALFORMED,        /* length or characters */
	REQUEST_ID_INDIVIDUAL_NUMBER /* never to be echoed or logged */
};

/* Judges a caller's X-Request-Id (value borrowed, may be NULL). */
enum request_id_verdict request_id_judge(const char *value);

/* Fills out (REQUEST_ID_MAX + 1 bytes) with the id a request answers with:
 * a copy of the caller's when accepted, else a new one.  Sets
 * *is_individual_number when the caller's value was one. */
void request_id_pick(const char *header, double now, char *out,
		     bool *is_individual_number);

#endif
