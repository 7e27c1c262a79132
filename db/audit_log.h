/* audit_log.h - the audit log's asynchronous writer.
 *
 * Request threads must not write SQLite on the hot path: one write per GET
 * would put every request behind a write lock.  So a request only copies
 * its record into a bounded in-memory queue (a mutex held for a copy, a
 * condition variable), and one background thread with a connection of its
 * own to the audit file (FILE-audit, db.h) writes the queue in batches,
 * one transaction every AUDIT_LOG_FLUSH_MS or AUDIT_LOG_BATCH records.
 * Nothing else writes that file: no import or other writer of the
 * database can hold the writer up.
 *
 * No record is dropped silently, and no audited request is answered
 * without its record queued (SPEC §8, §10):
 *
 *   - a request that may name persons first reserves a place in the queue
 *     (audit_log_reserve), before it does anything; once it has its
 *     answer it fills the place (audit_log_commit) or gives it back
 *     (audit_log_release) when it named nobody.  A reservation is refused
 *     when the log is unavailable: the writer has been trying to write a
 *     batch for AUDIT_LOG_STALL_MS or more (the disk full, the file locked
 *     or failing), or the queue stays full for AUDIT_LOG_FULL_WAIT_MS.
 *     The request is then answered 503 without being handled; it resumes
 *     by itself once the writer has written the batch.  A reservation is
 *     refused too (AUDIT_LOG_FULL) once the audit file holds
 *     --audit-max-size (audit_log_set_max_bytes).
 *   - a batch the file refuses is kept and retried, with a growing pause,
 *     for as long as it takes; the writer logs {"event":"audit_stalled"}
 *     when the bound is passed and {"event":"audit_resumed"} after.
 *   - only at the end (audit_log_stop), a batch that still cannot be
 *     written after AUDIT_LOG_STOP_GRACE_MS more is dropped, counted
 *     (audit_log_stats) and reported as {"event":"audit_dropped"}; so is a
 *     record whose copy finds no memory.  What a crash loses (the queue)
 *     is not counted anywhere.
 *
 * The writer stamps each record's time as it enters the queue (never going
 * back, even if the clock does), so rows are stored in time order: see
 * db_audit_query.
 *
 * Retention: rows older than retention_days are deleted when the writer
 * starts and every hour after; 0 keeps them forever.
 */
#ifndef SHIKAKU_DB_AUDIT_LOG_H
#define SHIKAKU_DB_AUDIT_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "db/audit_db.h"

#define AUDIT_LOG_FLUSH_MS 250
/* Rows per transaction.  2048 made the writer take a core for several
 * milliseconds at a time, stalling one request thread's connections:
 * with 256, lookups under `make bench` had the same throughput and a p99
 * of 5.2-6.0 ms instead of 6.6-7.4 (64: more commits, each voiding the
 * readers' page caches, and 15 % fewer lookups). */
#define AUDIT_LOG_BATCH        256
#define AUDIT_LOG_QUEUE_MAX    65536
#define AUDIT_LOG_QUEUE_BYTES  ((size_t)32 << 20)
#define AUDIT_LOG_FULL_WAIT_MS 1000
/* How long a batch may take (its retries included) before requests that
 * must be audited are refused. */
#define AUDIT_LOG_STALL_MS 5000
/* How long audit_log_stop still retries a batch the file refuses. */
#define AUDIT_LOG_STOP_GRACE_MS 5000

struct audit_log;

struct audit_log_stats {
	unsigned long long recorded; /* accepted into the queue */
	unsigned long long written;  /* committed to the audit file */
	unsigned long long dropped;  /* lost: only at the end, or when memory
					ran out (see above) */
	unsigned long long refused;  /* reservations refused: requests
					answered 503 unhandled */
	size_t queued;               /* waiting now */
	bool available;              /* a reservation would be granted now */
	bool full;                   /* refused for --audit-max-size */
	long long bytes;     /* the audit file's pages in use (db_audit_bytes);
				-1 until measured (at start) */
	long long max_bytes; /* audit_log_set_max_bytes; 0 = no limit */
};

/* Starts the writer on the (already migrated: db_open) audit log at
 * audit_path: db_audit_target, the audit file's path or, on PostgreSQL,
 * the database's URI (the audit table of the same database; each replica's
 * writer batches its rows).  Returns a new log (end it with
 * audit_log_stop) or NULL with a one-line message in err. */
struct audit_log *audit_log_start(const char *audit_path, int retention_days,
				  char *err, size_t errlen);

/* The bound of AUDIT_LOG_STALL_MS, changed (for tests).  0 keeps it. */
void audit_log_set_stall_ms(struct audit_log *log, unsigned ms);

/* audit_log_reserve's and audit_log_record's refusal when the log has
 * reached audit_log_set_max_bytes (-1 is the writer's stall or a queue
 * that stays full). */
#define AUDIT_LOG_FULL (-2)

/* Reserves a place in the queue for the record of a request about to be
 * handled.  Returns 0, or -1 when the log is unavailable (see above; it
 * may wait up to AUDIT_LOG_FULL_WAIT_MS for room), or AUDIT_LOG_FULL:
 * the request must then not be handled.  log NULL returns 0 (a server without a store).  Each 0
 * is followed by exactly one audit_log_commit or audit_log_release. */
int audit_log_reserve(struct audit_log *log);

/* Fills a reserved place: copies r (every string, the ids that are valid)
 * into the queue and stamps its time; r is borrowed for the call only.
 * Never refused: returns 0, or -1 only when the copy finds no memory (the
 * record is then dropped, counted and reported: its request must not be
 * answered).  log NULL returns 0. */
int audit_log_commit(struct audit_log *log, const struct audit_record *r);

/* Gives a reserved place back (the request named nobody).  log NULL is a
 * no-op. */
void audit_log_release(struct audit_log *log);

/* audit_log_reserve and audit_log_commit in one.  Returns 0, or -1 when
 * the log is unavailable (nothing queued, nothing counted as dropped) or
 * memory ran out, or AUDIT_LOG_FULL. */
int audit_log_record(struct audit_log *log, const struct audit_record *r);

/* Waits until every record accepted before the call is written (or
 * dropped), at most timeout_ms.  Returns 0, or -1 on timeout.  While a
 * flush waits, the writer does not gather a batch: it commits what is
 * queued at once, so a flush costs one commit, not AUDIT_LOG_FLUSH_MS.
 * GET /v1/audit calls it before reading (api/audit.c), so that the
 * requests answered before the query are in its answer. */
int audit_log_flush(struct audit_log *log, unsigned timeout_ms);

void audit_log_stats(struct audit_log *log, struct audit_log_stats *out);

/* --audit-max-size: from max_bytes of the audit file's pages in use on
 * (0 = no limit), audit_log_reserve and audit_log_record refuse with
 * AUDIT_LOG_FULL, and the server answers the routes that audit 503
 * audit_log_full rather than unaudited (SPEC §10).  The writer measures
 * the pages in use (db_audit_bytes) when it starts, after each batch and
 * after retention deleted rows: it ends by itself once retention has
 * freed enough.  Places already reserved are still filled: the log may
 * pass the bound by what the requests in flight name.  Call before
 * serving. */
void audit_log_set_max_bytes(struct audit_log *log, long long max_bytes);

/* Writes everything still queued (retrying a refused batch for at most
 * AUDIT_LOG_STOP_GRACE_MS), stops and joins the writer, frees log.  No
 * other audit_log call may run during or after it, and no reservation may
 * be left.  NULL is a no-op. */
void audit_log_stop(struct audit_log *log);

#endif
