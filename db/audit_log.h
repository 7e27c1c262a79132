/* audit_log.h - the audit log's asynchronous writer.
 *
 * Request threads must not write SQLite on the hot path: one write per GET
 * would put every request behind the database's single write lock.  So
 * audit_log_record() only copies the record into a bounded in-memory queue
 * (a mutex held for a copy, a condition variable), and one background
 * thread with a connection of its own writes the queue in batches, one
 * transaction every AUDIT_LOG_FLUSH_MS or AUDIT_LOG_BATCH records.
 *
 * The queue's policy: a record is never dropped silently.  When the queue
 * is full (AUDIT_LOG_QUEUE_MAX records or AUDIT_LOG_QUEUE_BYTES), the
 * request thread waits up to AUDIT_LOG_FULL_WAIT_MS for room (the writer
 * is behind, the database busy); only then is the record dropped, counted
 * (audit_log_stats) and reported on stderr by the writer as a JSON line
 * {"event":"audit_dropped"}.  A batch the database refuses is retried with
 * a growing pause; after AUDIT_LOG_RETRIES failures it is dropped the same
 * way, counted and reported.
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
#define AUDIT_LOG_RETRIES      20

struct audit_log;

struct audit_log_stats {
	unsigned long long recorded; /* accepted into the queue */
	unsigned long long written;  /* committed to the database */
	unsigned long long dropped;  /* lost: queue full, or the database
					refused them AUDIT_LOG_RETRIES times */
	size_t queued;               /* waiting now */
	long long bytes;     /* the audit log's tables and indexes in the
				database; -1 until measured (at start) */
	long long max_bytes; /* audit_log_set_max_bytes; 0 = no limit */
};

/* Starts the writer on the (already migrated: db_open) database at
 * db_path.  Returns a new log (end it with audit_log_stop) or NULL with a
 * one-line message in err. */
struct audit_log *audit_log_start(const char *db_path, int retention_days,
				  char *err, size_t errlen);

/* Copies r (every string, the ids that are valid) into the queue and
 * stamps its time; r is borrowed for the call only.  Safe from any
 * thread.  Returns 0, or -1 when the record was dropped (counted and
 * reported).  log NULL is a no-op returning 0 (a server without a
 * store). */
int audit_log_record(struct audit_log *log, const struct audit_record *r);

/* Waits until every record accepted before the call is written (or
 * dropped), at most timeout_ms.  Returns 0, or -1 on timeout.  For
 * tests, and for a reader that must see its own requests. */
int audit_log_flush(struct audit_log *log, unsigned timeout_ms);

void audit_log_stats(struct audit_log *log, struct audit_log_stats *out);

/* --audit-max-size: from max_bytes on (0 = no limit), audit_log_full is
 * true and the server answers the routes that audit with 503 rather than
 * unaudited (SPEC §10).  The writer measures the log's bytes when it
 * starts (db_audit_bytes), adds what each batch takes and measures again
 * after retention deleted rows.  Call before serving. */
void audit_log_set_max_bytes(struct audit_log *log, long long max_bytes);
/* Lock-free; false for a NULL log or while the size is not known yet. */
bool audit_log_full(struct audit_log *log);

/* Writes everything still queued, stops and joins the writer, frees log.
 * No audit_log_record may run during or after the call.  NULL is a
 * no-op. */
void audit_log_stop(struct audit_log *log);

#endif
