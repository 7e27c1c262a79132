/* audit_log.c - a bounded queue and one writer thread; see audit_log.h. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/audit_log.h"
#include "db/internal.h"

#define RETENTION_EVERY_MS (3600 * 1000LL)
#define RETRY_FIRST_MS     100
#define RETRY_MAX_MS       2000

/* One queued record: the struct, its id pointers and its strings in one
 * allocation. */
struct item {
	struct item *next;
	size_t size;
	struct audit_record rec;
};

struct audit_log {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t more; /* the writer waits: records or stop */
	pthread_cond_t room; /* request threads wait: queue full */
	pthread_cond_t done; /* flush waits: written or dropped */
	struct item *head, *tail;
	size_t count, bytes;
	size_t reserved; /* places promised to requests being handled */
	int64_t last_ms; /* the latest time stamped */
	unsigned long long recorded, written, dropped, refused;
	unsigned long long finished; /* accepted, then written or dropped */
	unsigned flushing;           /* audit_log_flush calls waiting */
	unsigned long long reported; /* dropped when last reported */
	/* CLOCK_MONOTONIC ms when the batch being written was first tried;
	 * 0 while no batch is being written */
	int64_t batch_since;
	unsigned stall_ms; /* AUDIT_LOG_STALL_MS */
	bool stopping;
	struct db_conn *conn; /* the writer's */
	int retention_days;
	/* The audit file's pages in use in bytes (db_audit_bytes; -1 while
	 * unknown), measured by the writer, and --audit-max-size (0: none). */
	long long file_bytes;
	long long max_bytes;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The absolute CLOCK_REALTIME time ms milliseconds from now, for
 * pthread_cond_timedwait. */
static struct timespec deadline_in(unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* A JSON line on stderr in the shape of service/log.c's (db/ may not
 * include service/), written with one write(2). */
static void report(const char *event, unsigned long long n, const char *message)
{
	char line[512], when[32];
	struct timespec ts;
	struct tm tm;
	int len;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	len = snprintf(line, sizeof line,
		       "{\"time\":\"%s.%03ldZ\",\"level\":\"warn\",\"event\":"
		       "\"%s\",\"count\":%llu,\"message\":\"%s\"}\n",
		       when, ts.tv_nsec / 1000000L, event, n, message);
	if (len > 0 && (size_t)len < sizeof line)
		(void)!write(STDERR_FILENO, line, (size_t)len);
}

/* ---- the copy ---------------------------------------------------------- */

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static char *str_put(char **at, const char *s)
{
	char *dst = *at;
	size_t n = str_size(s);

	if (!s)
		return NULL;
	memcpy(dst, s, n);
	*at += n;
	return dst;
}

/* A new item holding a deep copy of r with only its valid ids. */
static struct item *item_new(const struct audit_record *r)
{
	struct item *it;
	const char **ids;
	size_t size, n = 0, i;
	char *at;

	size = sizeof *it + str_size(r->key_id) + str_size(r->request_id) +
	       str_size(r->method) + str_size(r->route);
	for (i = 0; r->person_ids && i < r->n_person_ids; i++) {
		if (db_audit_id_valid(r->person_ids[i])) {
			size += sizeof(char *) + str_size(r->person_ids[i]);
			n++;
		}
	}
	it = malloc(size);
	if (!it)
		return NULL;
	memset(it, 0, sizeof *it);
	it->size = size;
	ids = (const char **)(it + 1);
	at = (char *)(ids + n);
	it->rec.key_id = str_put(&at, r->key_id);
	it->rec.request_id = str_put(&at, r->request_id);
	it->rec.method = str_put(&at, r->method);
	it->rec.route = str_put(&at, r->route);
	it->rec.status = r->status;
	it->rec.n_absent = r->n_absent;
	n = 0;
	for (i = 0; r->person_ids && i < r->n_person_ids; i++)
		if (db_audit_id_valid(r->person_ids[i]))
			ids[n++] = str_put(&at, r->person_ids[i]);
	it->rec.person_ids = n ? ids : NULL;
	it->rec.n_person_ids = n;
	return it;
}

/* ---- request threads ---------------------------------------------------- */

/* Room for one more reservation.  The byte bound counts what is queued
 * only: a reserved record is taken whatever its size (an import's may be
 * large), and a record larger than the bound alone still goes into an
 * empty queue, or it could never be written. */
static bool has_room(const struct audit_log *log)
{
	return log->count + log->reserved == 0 ||
	       (log->count + log->reserved < AUDIT_LOG_QUEUE_MAX &&
		log->bytes <= AUDIT_LOG_QUEUE_BYTES);
}

/* --audit-max-size reached (a size not known yet is not). */
static bool over_max(const struct audit_log *log)
{
	return log->max_bytes > 0 && log->file_bytes >= log->max_bytes;
}

/* The writer is not stuck on a batch (AUDIT_LOG_STALL_MS). */
static bool writer_ok(const struct audit_log *log)
{
	return log->batch_since == 0 ||
	       mono_ms() - log->batch_since < (int64_t)log->stall_ms;
}

int audit_log_reserve(struct audit_log *log)
{
	struct timespec until;

	if (!log)
		return 0;
	pthread_mutex_lock(&log->lock);
	if (over_max(log)) {
		log->refused++;
		pthread_mutex_unlock(&log->lock);
		return AUDIT_LOG_FULL;
	}
	if (log->stopping || !writer_ok(log))
		goto refuse;
	if (!has_room(log)) {
		/* the writer is behind: a moment for it to catch up */
		until = deadline_in(AUDIT_LOG_FULL_WAIT_MS);
		while (!has_room(log) && !log->stopping && writer_ok(log))
			if (pthread_cond_timedwait(&log->room, &log->lock,
						   &until) == ETIMEDOUT)
				break;
		if (!has_room(log) || log->stopping || !writer_ok(log))
			goto refuse;
	}
	log->reserved++;
	pthread_mutex_unlock(&log->lock);
	return 0;
refuse:
	log->refused++;
	pthread_mutex_unlock(&log->lock);
	return -1;
}

void audit_log_release(struct audit_log *log)
{
	if (!log)
		return;
	pthread_mutex_lock(&log->lock);
	if (log->reserved > 0)
		log->reserved--;
	pthread_cond_signal(&log->room);
	pthread_mutex_unlock(&log->lock);
}

int audit_log_commit(struct audit_log *log, const struct audit_record *r)
{
	struct item *it;
	int64_t t;

	if (!log)
		return 0;
	it = item_new(r); /* outside the lock: a copy */
	pthread_mutex_lock(&log->lock);
	if (log->reserved > 0)
		log->reserved--;
	if (!it) {
		log->dropped++;
		pthread_cond_signal(&log->more); /* the writer reports it */
		pthread_mutex_unlock(&log->lock);
		return -1;
	}
	/* Stamped under the lock, never going back: queue order is time
	 * order. */
	t = now_ms();
	if (t < log->last_ms)
		t = log->last_ms;
	log->last_ms = t;
	it->rec.time_ms = t;
	if (log->tail)
		log->tail->next = it;
	else
		log->head = it;
	log->tail = it;
	log->count++;
	log->bytes += it->size;
	log->recorded++;
	/* Wake the writer when it may be idle, or when a batch is full. */
	if (log->count == 1 || log->count >= AUDIT_LOG_BATCH)
		pthread_cond_signal(&log->more);
	pthread_mutex_unlock(&log->lock);
	return 0;
}

int audit_log_record(struct audit_log *log, const struct audit_record *r)
{
	int rc = audit_log_reserve(log);

	if (rc != 0)
		return rc;
	return audit_log_commit(log, r);
}

int audit_log_flush(struct audit_log *log, unsigned timeout_ms)
{
	struct timespec until = deadline_in(timeout_ms);
	unsigned long long target;
	int rc = 0;

	if (!log)
		return 0;
	pthread_mutex_lock(&log->lock);
	target = log->recorded;
	/* The writer stops gathering its batch while anyone waits here: a
	 * reader of the log must not wait AUDIT_LOG_FLUSH_MS for rows that
	 * are already queued. */
	log->flushing++;
	pthread_cond_signal(&log->more);
	while (log->finished < target) {
		if (pthread_cond_timedwait(&log->done, &log->lock, &until) ==
		    ETIMEDOUT) {
			rc = -1;
			break;
		}
	}
	log->flushing--;
	pthread_mutex_unlock(&log->lock);
	return rc;
}

void audit_log_stats(struct audit_log *log, struct audit_log_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!log)
		return;
	pthread_mutex_lock(&log->lock);
	out->recorded = log->recorded;
	out->written = log->written;
	out->dropped = log->dropped;
	out->refused = log->refused;
	out->queued = log->count;
	out->full = over_max(log);
	out->available =
	    !log->stopping && writer_ok(log) && has_room(log) && !out->full;
	out->bytes = log->file_bytes;
	out->max_bytes = log->max_bytes;
	pthread_mutex_unlock(&log->lock);
}

void audit_log_set_stall_ms(struct audit_log *log, unsigned ms)
{
	if (!log || ms == 0)
		return;
	pthread_mutex_lock(&log->lock);
	log->stall_ms = ms;
	pthread_mutex_unlock(&log->lock);
}

void audit_log_set_max_bytes(struct audit_log *log, long long max_bytes)
{
	if (!log)
		return;
	pthread_mutex_lock(&log->lock);
	log->max_bytes = max_bytes > 0 ? max_bytes : 0;
	pthread_mutex_unlock(&log->lock);
}

/* ---- the writer -------------------------------------------------------- */

/* The audit file's pages in use, measured again (on the writer's
 * connection, outside the lock: two header reads). */
static void measure(struct audit_log *log)
{
	long long bytes;

	if (db_audit_bytes(log->conn, &bytes) != DB_OK)
		return;
	pthread_mutex_lock(&log->lock);
	log->file_bytes = bytes;
	pthread_mutex_unlock(&log->lock);
}

static void retention_run(struct audit_log *log)
{
	char before[DB_AUDIT_TIME_LEN + 1];
	long long deleted = 0;

	if (log->retention_days <= 0)
		return;
	db_audit_time_format(
	    now_ms() - (int64_t)log->retention_days * 86400000LL, before);
	if (db_audit_expire(log->conn, before, &deleted) != DB_OK)
		report("audit_retention_failed", (unsigned long long)deleted,
		       "old audit rows could not all be deleted; retried in "
		       "an hour");
	/* freed pages end a refusal for --audit-max-size */
	if (deleted > 0)
		measure(log);
}

static const char *result_name(enum db_result r)
{
	switch (r) {
	case DB_BUSY: return "the audit file is locked by another process";
	case DB_FULL: return "the disk is full (or a file-size limit hit)";
	default: return "the audit file failed (see SQLite's message)";
	}
}

/* Writes the n records of batch, retrying with a growing pause for as
 * long as it takes (see audit_log.h), or, once stopping, for
 * AUDIT_LOG_STOP_GRACE_MS more.  Returns true when they are committed. */
static bool batch_write(struct audit_log *log, const struct audit_record *b,
			size_t n)
{
	unsigned pause = RETRY_FIRST_MS;
	int64_t give_up = 0;
	enum db_result r;
	bool stalled = false, report_now;
	char msg[256];

	pthread_mutex_lock(&log->lock);
	log->batch_since = mono_ms();
	pthread_mutex_unlock(&log->lock);
	for (;;) {
		r = db_audit_insert(log->conn, b, n);
		if (r == DB_OK)
			measure(log); /* --audit-max-size, /metrics */
		pthread_mutex_lock(&log->lock);
		if (r == DB_OK) {
			log->batch_since = 0;
			pthread_cond_broadcast(&log->room);
			pthread_mutex_unlock(&log->lock);
			if (stalled)
				report(
				    "audit_resumed", n,
				    "the audit writer writes again: requests "
				    "that must be audited are answered again");
			return true;
		}
		report_now = !stalled && !writer_ok(log);
		if (log->stopping && give_up == 0)
			give_up = mono_ms() + AUDIT_LOG_STOP_GRACE_MS;
		pthread_mutex_unlock(&log->lock);
		if (report_now) {
			stalled = true;
			snprintf(msg, sizeof msg,
				 "the audit writer cannot write its rows (%s; "
				 "retried until it can): requests that must be "
				 "audited answer 503 audit_unavailable until "
				 "then",
				 result_name(r));
			report("audit_stalled", n, msg);
		}
		if (give_up && mono_ms() >= give_up)
			return false;
		usleep(pause * 1000u);
		pause = pause * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : pause * 2;
	}
}

static void *writer_main(void *arg)
{
	struct audit_log *log = arg;
	struct audit_record batch[AUDIT_LOG_BATCH];
	struct item *taken[AUDIT_LOG_BATCH];
	int64_t next_retention;
	struct timespec until;
	unsigned long long dropped;
	size_t n, i;
	bool ok;

	retention_run(log);
	next_retention = now_ms() + RETENTION_EVERY_MS;
	pthread_mutex_lock(&log->lock);
	for (;;) {
		if (log->dropped > log->reported) {
			dropped = log->dropped;
			log->reported = dropped;
			pthread_mutex_unlock(&log->lock);
			report("audit_dropped", dropped,
			       "audit records were lost (total since start): "
			       "the audit file refused them at the stop, or "
			       "memory ran out");
			pthread_mutex_lock(&log->lock);
		}
		if (log->count == 0 && log->stopping)
			break;
		if (log->count == 0) {
			until = deadline_in(1000);
			pthread_cond_timedwait(&log->more, &log->lock, &until);
		}
		if (now_ms() >= next_retention) {
			pthread_mutex_unlock(&log->lock);
			retention_run(log);
			next_retention = now_ms() + RETENTION_EVERY_MS;
			pthread_mutex_lock(&log->lock);
		}
		if (log->count == 0)
			continue;
		/* Let a batch gather: one transaction for many requests,
		 * unless a reader waits for them (audit_log_flush). */
		until = deadline_in(AUDIT_LOG_FLUSH_MS);
		while (log->count < AUDIT_LOG_BATCH && !log->stopping &&
		       !log->flushing)
			if (pthread_cond_timedwait(&log->more, &log->lock,
						   &until) == ETIMEDOUT)
				break;
		for (n = 0; n < AUDIT_LOG_BATCH && log->head; n++) {
			taken[n] = log->head;
			log->head = log->head->next;
			log->count--;
			log->bytes -= taken[n]->size;
			batch[n] = taken[n]->rec;
		}
		if (!log->head)
			log->tail = NULL;
		pthread_cond_broadcast(&log->room);
		pthread_mutex_unlock(&log->lock);

		ok = batch_write(log, batch, n);
		for (i = 0; i < n; i++)
			free(taken[i]);

		pthread_mutex_lock(&log->lock);
		log->batch_since = 0;
		if (ok)
			log->written += n;
		else
			log->dropped += n;
		log->finished += n;
		pthread_cond_broadcast(&log->done);
	}
	pthread_mutex_unlock(&log->lock);
	return NULL;
}

/* The time of the newest row, so that stamps never go back across a
 * restart with the clock set back; 0 when there is none. */
static int64_t latest_ms(struct db_conn *c)
{
	sqlite3_stmt *s = NULL;
	const char *t;
	struct tm tm;
	int64_t ms = 0;
	int frac = 0;

	if (sqlite3_prepare_v2(c->h,
			       "SELECT time FROM audit ORDER BY seq DESC "
			       "LIMIT 1",
			       -1, &s, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(s) != SQLITE_ROW)
		goto out;
	t = (const char *)sqlite3_column_text(s, 0);
	memset(&tm, 0, sizeof tm);
	if (!t || sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year,
			 &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
			 &tm.tm_sec, &frac) != 7)
		goto out;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	ms = ((int64_t)timegm(&tm) - 9 * 3600) * 1000 + frac;
out:
	sqlite3_finalize(s);
	return ms;
}

/* The writer's connection to target (db_audit_target): an audit file, or
 * the PostgreSQL database (the usual statement timeout: a batch that
 * cannot be written is retried, and requests are refused once it stalls).
 * The schema must be there (db_open migrates): fail now, not at the first
 * record. */
static int writer_open(const char *target, struct db_conn **c, char *err,
		       size_t errlen)
{
	long long bytes;

	if (db_is_uri(target)) {
		if (dbpg_conn_open(NULL, target, false, c, err, errlen) != 0)
			return -1;
		if (db_audit_bytes(*c, &bytes) != DB_OK) {
			snprintf(err, errlen,
				 "audit log: %s (is the database migrated?)",
				 (*c)->err_msg);
			return -1;
		}
		return 0;
	}
	if (db_conn_open(target, c, err, errlen) != 0)
		return -1;
	if (!db_stmt(*c, DB_STMT_AUDIT_INSERT) ||
	    !db_stmt(*c, DB_STMT_AUDIT_PERSON_INSERT)) {
		snprintf(err, errlen,
			 "audit log: %s (is the database migrated?)",
			 sqlite3_errmsg((*c)->h));
		return -1;
	}
	return 0;
}

/* The writer's lock and conditions (audit_log_start made them). */
static void sync_destroy(struct audit_log *log)
{
	pthread_mutex_destroy(&log->lock);
	pthread_cond_destroy(&log->more);
	pthread_cond_destroy(&log->room);
	pthread_cond_destroy(&log->done);
}

struct audit_log *audit_log_start(const char *audit_path, int retention_days,
				  char *err, size_t errlen)
{
	struct audit_log *log = NULL;
	long long bytes = 0;

	log = calloc(1, sizeof *log);
	if (!log) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	log->retention_days = retention_days;
	log->stall_ms = AUDIT_LOG_STALL_MS;
	log->file_bytes = -1;
	if (writer_open(audit_path, &log->conn, err, errlen) != 0)
		goto fail;
	/* PostgreSQL: the replicas' clocks need not agree, and nothing
	 * there assumes that time grows with seq. */
	log->last_ms =
	    log->conn->kind == DB_KIND_SQLITE ? latest_ms(log->conn) : 0;
	/* The log's size before the first request (--audit-max-size,
	 * /metrics); the writer measures it again after each batch. */
	if (db_audit_bytes(log->conn, &bytes) == DB_OK)
		log->file_bytes = bytes;
	pthread_mutex_init(&log->lock, NULL);
	pthread_cond_init(&log->more, NULL);
	pthread_cond_init(&log->room, NULL);
	pthread_cond_init(&log->done, NULL);
	if (pthread_create(&log->thread, NULL, writer_main, log) != 0) {
		snprintf(err, errlen, "audit log: cannot start its thread");
		sync_destroy(log);
		goto fail;
	}
	return log;
fail:
	db_conn_close(log->conn);
	free(log);
	return NULL;
}

void audit_log_stop(struct audit_log *log)
{
	if (!log)
		return;
	pthread_mutex_lock(&log->lock);
	log->stopping = true;
	pthread_cond_broadcast(&log->more);
	pthread_cond_broadcast(&log->room);
	pthread_mutex_unlock(&log->lock);
	pthread_join(log->thread, NULL);
	db_conn_close(log->conn);
	sync_destroy(log);
	free(log);
}
