/* person_cache.h - a per-process cache of stored persons, for any store.
 *
 * What a lookup needs of a stored person (struct db_person: the facts,
 * verified_at, source, display name, facility, ETag, updated_at) kept as a
 * packed record of about 100 bytes, in a bounded number of bytes (evicted
 * by CLOCK when full), in 64 shards of one mutex each.
 *
 * Never stale.  The store gives a version number: a value that moves on
 * every committed change of its persons, whoever made it (SQLite: the
 * WAL index's change counter; PostgreSQL: a counter moved by its NOTIFY
 * listener).  The rules:
 *   - Each request calls person_cache_sync with the store's version as
 *     read just before.  A version the cache was not told about means
 *     another process wrote: everything is dropped (O(1): a generation
 *     moves).  sync answers a ticket, to hand to person_cache_put.
 *   - A write by this process is framed by person_cache_write_begin
 *     (after its transaction took the write lock) and
 *     person_cache_write_end (after its commit): the written id is
 *     invalidated at once, and the version its commit moved to is taken
 *     as known, so it causes no flush.  While a write is in flight, a
 *     request that sees a version it does not know uses no cache at all
 *     (neither get nor put) rather than flush.
 *   - A record read from the store after sync is put with sync's ticket;
 *     an invalidation or flush since then makes the put a no-op, so a
 *     read racing a write can never put the old record back.
 *
 * The cache never decides visibility: a caller that finds another
 * facility's person in it answers as the store would (db/person_db.c). */
#ifndef SHIKAKU_DB_PERSON_CACHE_H
#define SHIKAKU_DB_PERSON_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/person_db.h"

struct person_cache;

/* Bytes per MiB of --person-cache-mb; the default holds 1 M persons of
 * the benchmark's kind (about 150 bytes each with the table's share). */
#define PERSON_CACHE_DEFAULT_MB 192

/* A new cache that holds at most budget bytes (its records and its
 * tables, not counting malloc's own overhead).  NULL on no memory or when
 * budget is too small to hold anything (0 = no cache).  Free with
 * person_cache_free (NULL: no-op). */
struct person_cache *person_cache_new(size_t budget);
void person_cache_free(struct person_cache *c);

/* What sync hands to put: the cache's state when the store was read. */
struct person_cache_ticket {
	uint64_t gen;   /* the generation (moves on each flush) */
	uint64_t epoch; /* moves on each invalidation and flush */
	bool use;       /* false: use no cache in this request */
};

/* What explains a store version the cache does not know (SQLite: the
 * person_changes log): calls person_cache_invalidate(c, id) for each
 * person written after mark `from` (0: none read yet) and sets *to to the
 * last mark; false when it cannot tell (from is 0 or trimmed away, too
 * many changes, a write of many persons, an error): then every record is
 * dropped, and *to is the mark to start from next time (0: unknown). */
typedef bool (*person_cache_explain_fn)(void *arg, struct person_cache *c,
					uint64_t from, uint64_t *to);

/* Brings the cache up to store_version (see the rules above; with
 * explain, a version it does not know drops only the ids explain names,
 * explain(arg, ...) running in one thread at a time) and fills *t.
 * Lock-free unless the version moved. */
void person_cache_sync(struct person_cache *c, uint64_t store_version,
		       person_cache_explain_fn explain, void *arg,
		       struct person_cache_ticket *t);

/* Copies the record of id into *out: true on a hit.  Only after a sync
 * whose ticket said use. */
bool person_cache_get(struct person_cache *c, const char *id,
		      struct db_person *out);

/* Stores a copy of p (read from the store after sync gave t); a no-op
 * when t does not allow it any more or the record cannot be packed. */
void person_cache_put(struct person_cache *c, const struct db_person *p,
		      const struct person_cache_ticket *t);

/* Drops id's record, if any, and refuses puts of tickets from before. */
void person_cache_invalidate(struct person_cache *c, const char *id);

/* Drops every record (O(1)). */
void person_cache_flush(struct person_cache *c);

/* A write of this process: begin once its transaction holds the store's
 * write lock (version_before: the store's version then); end after the
 * commit or rollback, with id the person written (NULL: unknown or many,
 * then every record is dropped).  ours: the store vouches that
 * version_after is version_before moved by this write alone (or not at
 * all); false drops every record, unless a log explains versions (then
 * the next sync reads it).  mark: this write's own entry in that log (0:
 * none), taken as read when it directly follows the last one read. */
void person_cache_write_begin(struct person_cache *c);
void person_cache_write_end(struct person_cache *c, const char *id,
			    uint64_t version_before, uint64_t version_after,
			    bool ours, uint64_t mark);

struct person_cache_stats {
	uint64_t hits, misses;   /* gets that found, did not find */
	uint64_t flushes;        /* full drops (another process wrote) */
	uint64_t invalidations;  /* single records dropped by a write */
	uint64_t catch_ups;      /* foreign writes explained by the log */
	uint64_t evictions;      /* records dropped to stay in budget */
	uint64_t entries, bytes; /* live records; bytes held, tables too */
	uint64_t budget;         /* the configured maximum */
};
void person_cache_stats(struct person_cache *c, struct person_cache_stats *s);

/* ---- the packed record (exposed for tests and the fuzz target) ---------- */

/* Largest packed record: every string at its maximum. */
#define PERSON_PACK_MAX 1024

/* Packs p into out (PERSON_PACK_MAX bytes); returns the length, or 0 when
 * p does not hold a record (a string without its NUL, an enum out of
 * range). */
size_t person_pack(const struct db_person *p, uint8_t out[PERSON_PACK_MAX]);

/* Unpacks n bytes into *p: 0, or -1 when they are not a packed record
 * (then *p is undefined).  Never reads past n. */
int person_unpack(const uint8_t *in, size_t n, struct db_person *p);

#endif
