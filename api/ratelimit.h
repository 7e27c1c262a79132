/* ratelimit.h - requests per API key and second (--rate-limit): a token
 * bucket per key id in a table of fixed size.
 *
 * Each key may send `burst` requests at once, then `rate` a second; a
 * request beyond that is answered 429 with Retry-After (api/auth.c).  The
 * table never grows: API_RATE_SLOTS slots, a key's slot found by its
 * hash among API_RATE_PROBE neighbours; when all of those hold other
 * keys, the one idle longest gives its slot up (it comes back later with
 * a full bucket: with a few hundred keys that never happens).  Keys are
 * verified before they get here, so only real keys take slots.
 */
#ifndef SHIKAKU_API_RATELIMIT_H
#define SHIKAKU_API_RATELIMIT_H

#define API_RATE_SLOTS 1024
#define API_RATE_PROBE 8

struct api_rate;

/* A new limiter: rate tokens a second (> 0), at most burst (< 1: 1).
 * NULL when out of memory.  Free with api_rate_free. */
struct api_rate *api_rate_new(double rate, double burst);
void api_rate_free(struct api_rate *r);

/* Takes one token of key's bucket at time now (seconds; a clock going
 * back counts as no time passing).  Returns 0 when the request may go
 * on, else the whole seconds (1 or more) until a token is there.  Safe
 * from any thread. */
unsigned api_rate_take(struct api_rate *r, const char *key, double now);

#endif
