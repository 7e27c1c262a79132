/* row_memo.h - the worklist's rows as decided today, per stored person.
 *
 * A worklist page decides each of its rows; the facility page asks for
 * the same pages all day.  The memo keeps, per person, the row's JSON and
 * what the filters read (entitlement, deadline, stale, next change),
 * keyed by everything they depend on: the person's id and ETag (a hash of
 * every stored field: a changed person has another), the day decided for
 * (as_of), today (stale is counted from it: Tokyo midnight makes a new
 * key) and the rules in force.  An entry whose key does not match is a
 * miss, so the memo needs no invalidation: it is never stale, only
 * overwritten.  A fixed number of slots (direct-mapped on the id's hash),
 * each under one of a few striped locks; rows longer than
 * API_ROW_MEMO_JSON_MAX bytes are not kept. */
#ifndef SHIKAKU_API_ROW_MEMO_H
#define SHIKAKU_API_ROW_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_ROW_MEMO_JSON_MAX 1024
/* Slots of the server's memo: ~300 bytes each when full (about 20 MiB
 * for the benchmark's rows), whatever the number of persons stored. */
#define API_ROW_MEMO_SLOTS 65536

struct api_row_memo;

/* What a row's key is made of (borrowed). */
struct api_row_key {
	const char *id;
	const char *etag;
	int32_t as_of, today;
	uint64_t rules; /* a hash of the rules' parameters */
};

/* What the worklist's filters read of a row. */
struct api_row_summary {
	bool decided; /* false: born after as_of, not on the list */
	bool required, stale;
	uint8_t entitlement;
	int32_t apply_by, next_change;
};

/* A new memo of slots slots (a power of two), or NULL on no memory.  Free
 * with api_row_memo_free (NULL: no-op). */
struct api_row_memo *api_row_memo_new(size_t slots);
void api_row_memo_free(struct api_row_memo *m);

/* On a hit: true, *sum filled, the row's JSON copied into json
 * (API_ROW_MEMO_JSON_MAX bytes) and its length into *len. */
bool api_row_memo_get(struct api_row_memo *m, const struct api_row_key *k,
		      struct api_row_summary *sum, char *json, size_t *len);

/* Keeps the row (json of len bytes; a copy is taken), replacing whatever
 * held its slot.  A no-op when it is too long or memory is short. */
void api_row_memo_put(struct api_row_memo *m, const struct api_row_key *k,
		      const struct api_row_summary *sum, const char *json,
		      size_t len);

struct api_row_memo_stats {
	uint64_t hits, misses;
};
void api_row_memo_stats(struct api_row_memo *m, struct api_row_memo_stats *s);

#endif
