/* db.c - the PostgreSQL store: connections, prepared statements, errors,
 * migrations under an advisory lock, the registry listener. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/internal.h"
#include "db/person_cache.h"

/* ---- connections ---------------------------------------------------------- */

static void no_notices(void *arg, const char *message)
{
	(void)arg, (void)message;
}

#define MS_STR_(x) #x
#define MS_STR(x)  MS_STR_(x)

/* CLOCK_MONOTONIC now, in seconds. */
static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits until h's socket is ready (readable; writable too when
 * for_write) or the deadline (mono_now seconds) passes: false then, or
 * when h has no socket. */
static bool wait_socket(PGconn *h, bool for_write, double deadline)
{
	struct pollfd pfd;
	double left;
	int rc;

	for (;;) {
		pfd.fd = PQsocket(h);
		if (pfd.fd < 0)
			return false;
		pfd.events = POLLIN | (for_write ? POLLOUT : 0);
		pfd.revents = 0;
		left = deadline - mono_now();
		if (left <= 0)
			return false;
		rc = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (rc > 0)
			return true;
		if (rc < 0 && errno != EINTR)
			return false;
	}
}

/* Connects to uri with the service's parameters (they override the
 * URI's own): statement and lock timeouts, keepalives; connect_timeout
 * for a connect libpq runs itself.  Asynchronously (PQconnectStartParams,
 * PQconnectPoll) until deadline_ms from now: a server that accepts the
 * connection and never answers cannot hold it longer.  The connection is
 * non-blocking (every wait on it is this file's, bounded).  Returns it,
 * or NULL with the first line of the reason in msg. */
static PGconn *connect_uri(const char *uri, bool own, long deadline_ms,
			   char *msg, size_t msglen)
{
	static const char *const keys[] = {
	    "dbname",           "connect_timeout",  "options",
	    "keepalives",       "keepalives_idle",  "keepalives_interval",
	    "keepalives_count", "application_name", NULL};
	const char *vals[] = {
	    uri,
	    MS_STR(DBPG_CONNECT_TIMEOUT_S),
	    own ? "-c statement_timeout=" MS_STR(
		      DBPG_OWN_STATEMENT_TIMEOUT_MS) " -c "
						     "lock_"
						     "timeout"
						     "=" MS_STR(
							 DBPG_OWN_STATEMENT_TIMEOUT_MS)
		: "-c statement_timeout=" MS_STR(
		      DBPG_STATEMENT_TIMEOUT_MS) " -c "
						 "lock_"
						 "timeout"
						 "=" MS_STR(
						     DBPG_LOCK_TIMEOUT_MS),
	    "1",
	    "10",
	    "5",
	    "3",
	    "shikakud",
	    NULL};
	double deadline = mono_now() + (double)deadline_ms / 1000.0;
	PGconn *h = PQconnectStartParams(keys, vals, 1);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	size_t n;

	if (!h) {
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	while (PQstatus(h) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
	       st != PGRES_POLLING_FAILED) {
		if (!wait_socket(h, st == PGRES_POLLING_WRITING, deadline)) {
			snprintf(msg, msglen,
				 "no answer from the server within %ld ms",
				 deadline_ms);
			PQfinish(h);
			return NULL;
		}
		st = PQconnectPoll(h);
	}
	if (PQstatus(h) != CONNECTION_OK) {
		n = strcspn(PQerrorMessage(h), "\n");
		snprintf(msg, msglen, "%.*s", (int)n, PQerrorMessage(h));
		PQfinish(h);
		return NULL;
	}
	PQsetNoticeProcessor(h, no_notices, NULL);
	if (PQsetnonblocking(h, 1) != 0) {
		snprintf(msg, msglen,
			 "cannot make the connection non-blocking");
		PQfinish(h);
		return NULL;
	}
	return h;
}

/* How long connecting may take (milliseconds). */
static long connect_ms(bool own)
{
	return own ? DBPG_OWN_CONNECT_MS : DBPG_DEADLINE_MS;
}

int dbpg_conn_open(struct db *db, const char *uri, bool own,
		   struct db_conn **out, char *err, size_t errlen)
{
	struct db_conn *c;
	char shown[512], msg[256];

	*out = NULL;
	c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->kind = DB_KIND_PG;
	c->pg.own = own;
	c->pg.uri = strdup(uri);
	c->pg.h = c->pg.uri
		      ? connect_uri(uri, own, connect_ms(own), msg, sizeof msg)
		      : NULL;
	if (!c->pg.h) {
		db_target_redact(uri, shown, sizeof shown);
		snprintf(err, errlen, "database %s: %s", shown,
			 c->pg.uri ? msg : "out of memory");
		if (db)
			atomic_fetch_add(&db->pg.conn_errors, 1);
		free(c->pg.uri);
		free(c);
		return -1;
	}
	if (db) {
		atomic_fetch_add(&db->pg.open_conns, 1);
		c->pg.counted = true;
		c->db = db;
	}
	*out = c;
	return 0;
}

void dbpg_conn_close(struct db_conn *c)
{
	if (c->pg.counted && c->db)
		atomic_fetch_sub(&c->db->pg.open_conns, 1);
	PQfinish(c->pg.h);
	free(c->pg.uri);
	free(c);
}

/* Remembers an error of c for db_error_report. */
static void remember(struct db_conn *c, const char *sqlstate, const char *msg)
{
	size_t n = msg ? strcspn(msg, "\n") : 0;

	c->err_code = DBPG_ERR_CODE;
	snprintf(c->sqlstate, sizeof c->sqlstate, "%s", sqlstate);
	snprintf(c->err_msg, sizeof c->err_msg, "%.*s", (int)n, msg ? msg : "");
}

enum db_result dbpg_unsupported(struct db_conn *c, const char *what)
{
	char m[DB_ERR_MSG_MAX];

	snprintf(m, sizeof m, "%s on PostgreSQL: not supported yet", what);
	remember(c, "0A000", m);
	return DB_ERROR;
}

/* ---- deadlines ------------------------------------------------------------ */

/* Cancels in flight at once (each in a thread of its own): beyond that,
 * the server's own statement_timeout ends the statement. */
#define MAX_CANCELS 4
static atomic_int cancels;

static void *cancel_main(void *arg)
{
	PGcancel *k = arg;
	char buf[256];

	/* blocks until the server takes it: a hung server, until it runs */
	(void)PQcancel(k, buf, sizeof buf);
	PQfreeCancel(k);
	atomic_fetch_sub(&cancels, 1);
	return NULL;
}

/* Asks the server to cancel what h runs, without waiting for it. */
static void cancel_async(PGconn *h)
{
	PGcancel *k;
	pthread_attr_t attr;
	pthread_t t;
	bool started = false;

	if (atomic_fetch_add(&cancels, 1) >= MAX_CANCELS) {
		atomic_fetch_sub(&cancels, 1);
		return;
	}
	k = PQgetCancel(h);
	if (k && pthread_attr_init(&attr) == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 64 * 1024);
		started = pthread_create(&t, &attr, cancel_main, k) == 0;
		pthread_attr_destroy(&attr);
	}
	if (!started) {
		PQfreeCancel(k);
		atomic_fetch_sub(&cancels, 1);
	}
}

/* The deadline of c's statement started now (mono_now seconds). */
static double deadline_of(const struct db_conn *c)
{
	return mono_now() +
	       (double)(c->pg.own ? DBPG_OWN_DEADLINE_MS : DBPG_DEADLINE_MS) /
		   1000.0;
}

/* The deadline passed: what runs is cancelled, the connection dropped
 * (PQfinish does not wait: the connection is non-blocking), and not
 * tried again for DBPG_RETRY_MS. */
static void drop(struct db_conn *c)
{
	char m[96];

	snprintf(m, sizeof m, "no answer from the database within %d ms",
		 c->pg.own ? DBPG_OWN_DEADLINE_MS : DBPG_DEADLINE_MS);
	remember(c, "08006", m);
	if (c->db)
		atomic_fetch_add(&c->db->pg.conn_errors, 1);
	if (c->pg.h) {
		cancel_async(c->pg.h);
		PQfinish(c->pg.h);
		c->pg.h = NULL;
	}
	memset(c->pg.prepared, 0, sizeof c->pg.prepared);
	c->pg.retry_at = mono_now() + DBPG_RETRY_MS / 1000.0;
}

/* Sends what libpq holds for the server, waiting for room until
 * deadline: false when it passed (c dropped) or the connection broke. */
static bool flush_until(struct db_conn *c, double deadline)
{
	int rc;

	while ((rc = PQflush(c->pg.h)) == 1) {
		if (!wait_socket(c->pg.h, true, deadline)) {
			drop(c);
			return false;
		}
		/* the server may answer while we send */
		if (!PQconsumeInput(c->pg.h))
			return false;
	}
	return rc == 0;
}

/* dbpg_collect until deadline. */
static PGresult *collect_until(struct db_conn *c, double deadline)
{
	PGresult *r, *keep = NULL;
	ExecStatusType st;

	if (!flush_until(c, deadline))
		return NULL;
	for (;;) {
		while (PQisBusy(c->pg.h)) {
			if (!wait_socket(c->pg.h, false, deadline)) {
				PQclear(keep);
				drop(c);
				return NULL;
			}
			if (!PQconsumeInput(c->pg.h))
				break; /* broken: PQgetResult tells */
		}
		r = PQgetResult(c->pg.h);
		if (!r)
			return keep;
		st = PQresultStatus(r);
		if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT ||
		    st == PGRES_COPY_BOTH) {
			PQclear(keep);
			return r;
		}
		if (keep && (PQresultStatus(keep) == PGRES_FATAL_ERROR ||
			     PQresultStatus(keep) == PGRES_NONFATAL_ERROR)) {
			PQclear(r); /* the first error is the answer */
		} else {
			PQclear(keep);
			keep = r;
		}
		if (PQstatus(c->pg.h) == CONNECTION_BAD)
			return keep;
	}
}

PGresult *dbpg_collect(struct db_conn *c)
{
	if (!c->pg.h)
		return NULL;
	return collect_until(c, deadline_of(c));
}

bool dbpg_copy_put(struct db_conn *c, const char *buf, size_t len)
{
	double deadline = deadline_of(c);
	int rc;

	while (c->pg.h && (rc = PQputCopyData(c->pg.h, buf, (int)len)) == 0)
		if (!flush_until(c, deadline))
			return false;
	return c->pg.h && rc == 1;
}

/* A broken connection is reset before its next statement: the store
 * reconnects by itself once the database is back.  False when it is
 * still unreachable. */
static bool usable(struct db_conn *c)
{
	char msg[256];

	if (c->pg.h && PQstatus(c->pg.h) == CONNECTION_OK)
		return true;
	if (c->pg.in_tx) {
		/* the transaction is lost: only its rollback may reset */
		remember(c, "08006",
			 "the connection was lost inside a "
			 "transaction");
		return false;
	}
	if (mono_now() < c->pg.retry_at) {
		if (!c->err_code)
			remember(c, "08006", "the database did not answer");
		return false; /* tried a moment ago (c->err_msg says) */
	}
	PQfinish(c->pg.h);
	memset(c->pg.prepared, 0, sizeof c->pg.prepared);
	c->pg.h = connect_uri(c->pg.uri, c->pg.own, connect_ms(c->pg.own), msg,
			      sizeof msg);
	if (c->pg.h)
		return true;
	if (c->db)
		atomic_fetch_add(&c->db->pg.conn_errors, 1);
	remember(c, "08006", msg);
	c->pg.retry_at = mono_now() + DBPG_RETRY_MS / 1000.0;
	return false;
}

/* Prepares (once per PGconn) and runs statement id, each step's answer
 * awaited until the deadline: NULL when it passed (c dropped). */
static PGresult *run_prepared(struct db_conn *c, enum dbpg_stmt id, int n,
			      const char *const *vals, const int *lens,
			      const int *formats, bool binary_result)
{
	double deadline = deadline_of(c);
	char name[16];
	PGresult *r;

	snprintf(name, sizeof name, "s%d", (int)id);
	if (!c->pg.prepared[id]) {
		if (!PQsendPrepare(c->pg.h, name, dbpg_sql[id], 0, NULL))
			return NULL;
		r = collect_until(c, deadline);
		if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
			return r; /* the error is the caller's to map */
		PQclear(r);
		c->pg.prepared[id] = true;
	}
	if (!PQsendQueryPrepared(c->pg.h, name, n, vals, lens, formats,
				 binary_result ? 1 : 0))
		return NULL;
	return collect_until(c, deadline);
}

PGresult *dbpg_execv(struct db_conn *c, enum dbpg_stmt id, int n,
		     const char *const *vals, const int *lens,
		     const int *formats, bool binary_result)
{
	PGTransactionStatusType before;
	PGresult *r;

	if (!dbpg_sql[id]) {
		dbpg_unsupported(c, "this statement");
		return NULL;
	}
	if (!usable(c))
		return NULL;
	before = PQtransactionStatus(c->pg.h);
	r = run_prepared(c, id, n, vals, lens, formats, binary_result);
	/* A connection that broke since its last use (the server restarted)
	 * is found out by this statement: outside a transaction nothing is
	 * lost, so it runs once more on a new connection.  Not after a
	 * deadline passed (c->pg.h NULL): that would wait once more. */
	if (c->pg.h && PQstatus(c->pg.h) == CONNECTION_BAD &&
	    before == PQTRANS_IDLE) {
		PQclear(r);
		if (c->db)
			atomic_fetch_add(&c->db->pg.conn_errors, 1);
		if (!usable(c))
			return NULL;
		r = run_prepared(c, id, n, vals, lens, formats, binary_result);
	}
	return r;
}

PGresult *dbpg_exec(struct db_conn *c, enum dbpg_stmt id, int n,
		    const char *const *vals)
{
	return dbpg_execv(c, id, n, vals, NULL, NULL, false);
}

const char *dbpg_sqlstate(const PGresult *r)
{
	const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	return s ? s : "";
}

/* SQLSTATEs that say the database cannot be reached now. */
static bool unavailable_state(const char *s)
{
	return strncmp(s, "08", 2) == 0 ||      /* connection exception */
	       strncmp(s, "57P0", 4) == 0 ||    /* shutdown, cannot connect */
	       strcmp(s, "57014") == 0 ||       /* statement timeout */
	       strcmp(s, "53300") == 0 ||       /* too many connections */
	       strcmp(s, "25006") == 0 ||       /* read-only (a standby) */
	       strncmp(s, "58", 2) == 0 || !*s; /* system error, or none */
}

enum db_result dbpg_result(struct db_conn *c, PGresult *r)
{
	const char *state;

	if (r) {
		switch (PQresultStatus(r)) {
		case PGRES_COMMAND_OK:
		case PGRES_TUPLES_OK:
		case PGRES_SINGLE_TUPLE:
		case PGRES_COPY_IN:
		case PGRES_COPY_OUT:
		case PGRES_EMPTY_QUERY: return DB_OK;
		default: break;
		}
	}
	if (!r && c->err_code && strcmp(c->sqlstate, "0A000") == 0)
		return DB_ERROR; /* not supported yet */
	if (!r && !c->pg.h)
		return DB_UNAVAILABLE; /* dropped or not reconnected: said */
	state = dbpg_sqlstate(r);
	remember(c, *state ? state : "08006",
		 r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
		   : PQerrorMessage(c->pg.h));
	if (PQstatus(c->pg.h) != CONNECTION_OK) {
		if (c->db)
			atomic_fetch_add(&c->db->pg.conn_errors, 1);
		return DB_UNAVAILABLE;
	}
	if (unavailable_state(state))
		return DB_UNAVAILABLE;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0)
		return DB_BUSY;
	if (strcmp(state, "53100") == 0)
		return DB_FULL;
	return DB_ERROR;
}

enum db_result dbpg_run(struct db_conn *c, enum dbpg_stmt id)
{
	PGresult *r = dbpg_exec(c, id, 0, NULL);
	enum db_result res = dbpg_result(c, r);

	PQclear(r);
	return res;
}

const char *dbpg_row_text(const void *row, int col, size_t *len)
{
	const struct dbpg_row *pr = row;

	if (PQgetisnull(pr->r, pr->row, col))
		return NULL;
	*len = (size_t)PQgetlength(pr->r, pr->row, col);
	return PQgetvalue(pr->r, pr->row, col);
}

enum db_result dbpg_one(struct db_conn *c, enum dbpg_stmt id, int n,
			const char *const *vals,
			void (*read)(const PGresult *r, int row, void *out),
			void *out)
{
	PGresult *r = dbpg_exec(c, id, n, vals);
	enum db_result res = dbpg_result(c, r);

	if (res == DB_OK) {
		if (PQntuples(r) == 1)
			read(r, 0, out);
		else
			res = DB_NOT_FOUND;
	}
	PQclear(r);
	return res;
}

enum db_result dbpg_begin(struct db_conn *c)
{
	enum db_result r = dbpg_run(c, DBPG_STMT_BEGIN);

	c->pg.in_tx = r == DB_OK;
	return r;
}

enum db_result dbpg_begin_read(struct db_conn *c)
{
	enum db_result r = dbpg_run(c, DBPG_STMT_BEGIN_READ);

	c->pg.in_tx = r == DB_OK;
	return r;
}

enum db_result dbpg_commit(struct db_conn *c)
{
	enum db_result r;

	/* A COMMIT outside a transaction (its session lost and reset) would
	 * answer only a warning: never report that as stored. */
	if (c->pg.in_tx && PQstatus(c->pg.h) == CONNECTION_OK &&
	    PQtransactionStatus(c->pg.h) == PQTRANS_IDLE) {
		c->pg.in_tx = false;
		remember(c, "08006", "the transaction was lost");
		return DB_UNAVAILABLE;
	}
	r = dbpg_run(c, DBPG_STMT_COMMIT);
	if (r != DB_OK && PQstatus(c->pg.h) == CONNECTION_OK &&
	    PQtransactionStatus(c->pg.h) != PQTRANS_IDLE)
		return r; /* still open: the caller rolls back */
	c->pg.in_tx = false;
	return r;
}

void dbpg_rollback(struct db_conn *c)
{
	if (PQstatus(c->pg.h) == CONNECTION_OK &&
	    PQtransactionStatus(c->pg.h) != PQTRANS_IDLE)
		(void)dbpg_run(c, DBPG_STMT_ROLLBACK);
	c->pg.in_tx = false;
}

enum db_result dbpg_ping(struct db_conn *c)
{
	return dbpg_run(c, DBPG_STMT_PING);
}

long long dbpg_size_bytes(struct db *db)
{
	struct db_conn *c = db_conn_get(db);
	PGresult *r;
	long long v = -1;

	if (!c)
		return -1;
	r = dbpg_exec(c, DBPG_STMT_DB_SIZE, 0, NULL);
	if (dbpg_result(c, r) == DB_OK && PQntuples(r) == 1)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

/* ---- migrations ------------------------------------------------------------ */

/* Runs sql (constant text, no values) on h; -1 with the message in err. */
static int simple(PGconn *h, const char *sql, const char *what, char *err,
		  size_t errlen)
{
	PGresult *r = PQexec(h, sql);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	const char *m;
	size_t n;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(r);
		return 0;
	}
	m = r ? PQresultErrorMessage(r) : PQerrorMessage(h);
	n = strcspn(m, "\n");
	snprintf(err, errlen, "migration of the database failed (%s): %.*s",
		 what, (int)n, m);
	PQclear(r);
	return -1;
}

static int current_version(PGconn *h, int *version, char *err, size_t errlen)
{
	PGresult *r = PQexec(h, "SELECT coalesce(max(version), 0) FROM "
				"schema_migrations");

	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		snprintf(err, errlen, "reading the schema version: %s",
			 PQerrorMessage(h));
		PQclear(r);
		return -1;
	}
	*version = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

static int record_version(PGconn *h, int version, char *err, size_t errlen)
{
	char v[16];
	const char *vals[2] = {v, db_pg_migration_names[version - 1]};
	PGresult *r;
	int rc;

	snprintf(v, sizeof v, "%d", version);
	r = PQexecParams(h,
			 "INSERT INTO schema_migrations (version, name) "
			 "VALUES ($1, $2)",
			 2, NULL, vals, NULL, NULL, 0);
	rc = r && PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc != 0)
		snprintf(err, errlen, "recording the schema version: %s",
			 PQerrorMessage(h));
	PQclear(r);
	return rc;
}

/* Applies the pending migrations in one transaction holding the advisory
 * lock: a second replica starting at once waits, then finds nothing to
 * do. */
static int migrate_conn(PGconn *h, struct db_start *out, char *err,
			size_t errlen)
{
	char lock[96];
	int version = 0, i;

	snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%d)",
		 DBPG_MIGRATION_LOCK);
	if (simple(h, "BEGIN", "begin", err, errlen) != 0 ||
	    simple(h, lock, "lock", err, errlen) != 0 ||
	    simple(h,
		   "CREATE TABLE IF NOT EXISTS schema_migrations (version "
		   "integer PRIMARY KEY, name text NOT NULL, applied_at "
		   "timestamptz NOT NULL DEFAULT now())",
		   "schema_migrations", err, errlen) != 0 ||
	    current_version(h, &version, err, errlen) != 0)
		goto fail;
	out->schema_from = version;
	if (version > db_pg_migrations_count) {
		snprintf(err, errlen,
			 "the database has schema version %d, newer than this "
			 "build's %d: use a newer shikakud",
			 version, db_pg_migrations_count);
		goto fail;
	}
	for (i = version; i < db_pg_migrations_count; i++)
		if (simple(h, db_pg_migrations[i], db_pg_migration_names[i],
			   err, errlen) != 0 ||
		    record_version(h, i + 1, err, errlen) != 0)
			goto fail;
	if (simple(h, "COMMIT", "commit", err, errlen) != 0)
		goto fail;
	out->schema_to = i > version ? i : version;
	out->audit_schema_from = out->schema_from;
	out->audit_schema_to = out->schema_to;
	return 0;
fail:
	PQclear(PQexec(h, "ROLLBACK"));
	return -1;
}

int dbpg_migrate_all(const char *uri, struct db_start *out, char *err,
		     size_t errlen)
{
	struct db_conn *c = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if (dbpg_conn_open(NULL, uri, true, &c, err, errlen) != 0)
		return -1;
	rc = migrate_conn(c->pg.h, out, err, errlen);
	dbpg_conn_close(c);
	return rc;
}

/* ---- the registry listener --------------------------------------------------- */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The person cache's view of the listener (dbpg_store_version): down,
 * every cached person may be stale; up again, they are dropped. */
static void persons_listening(struct db *db, bool up)
{
	if (!up)
		atomic_store(&db->pg.persons_up, false);
	atomic_fetch_add(&db->pg.persons_version, 1);
	if (up)
		atomic_store(&db->pg.persons_up, true);
}

/* One notification: a registry change, or a person's ("*": many). */
static void notified(struct db *db, const PGnotify *n)
{
	struct person_cache *pc;

	if (strcmp(n->relname, DBPG_PERSONS_CHANNEL) != 0)
		db_registry_touch(db);
	else if (!n->extra || !n->extra[0] || strcmp(n->extra, "*") == 0)
		atomic_fetch_add(&db->pg.persons_version, 1);
	else if ((pc = atomic_load(&db->pcache)) != NULL)
		person_cache_invalidate(pc, n->extra);
}

/* Waits for notifications on h until it breaks or stop is set. */
static void listen_loop(struct db *db, PGconn *h)
{
	struct pollfd pfd;
	PGnotify *n;

	while (!atomic_load(&db->pg.stop)) {
		pfd.fd = PQsocket(h);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0)
			return;
		if (poll(&pfd, 1, 200) < 0 && errno != EINTR)
			return;
		if (!PQconsumeInput(h))
			return; /* the connection broke */
		while ((n = PQnotifies(h)) != NULL) {
			notified(db, n);
			PQfreemem(n);
		}
	}
}

/* Runs sql on h, waiting DBPG_DEADLINE_MS at most for its answer. */
static bool listen_on(PGconn *h, const char *sql)
{
	double deadline = mono_now() + DBPG_DEADLINE_MS / 1000.0;
	PGresult *r;
	bool ok = true;
	int rc;

	if (!PQsendQuery(h, sql))
		return false;
	while ((rc = PQflush(h)) == 1)
		if (!wait_socket(h, true, deadline))
			return false;
	if (rc != 0)
		return false;
	for (;;) {
		while (PQisBusy(h))
			if (!wait_socket(h, false, deadline) ||
			    !PQconsumeInput(h))
				return false;
		r = PQgetResult(h);
		if (!r)
			return ok;
		ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
	}
}

static void *listener_main(void *arg)
{
	struct db *db = arg;
	char msg[256];
	PGconn *h;

	while (!atomic_load(&db->pg.stop)) {
		h = connect_uri(db->path, false, DBPG_DEADLINE_MS, msg,
				sizeof msg);
		if (h && listen_on(h, "LISTEN " DBPG_REGISTRY_CHANNEL) &&
		    listen_on(h, "LISTEN " DBPG_PERSONS_CHANNEL)) {
			/* changes made while it was not listening */
			db_registry_touch(db);
			persons_listening(db, true);
			listen_loop(db, h);
		}
		/* dropped: every cached row may be stale, and no
		 * notification tells until it listens again */
		persons_listening(db, false);
		PQfinish(h);
		db_registry_touch(db);
		if (!atomic_load(&db->pg.stop))
			sleep_ms(250);
	}
	return NULL;
}

bool dbpg_store_version(struct db_conn *c, uint64_t *version, uint32_t *change)
{
	struct db *db = c->db;

	if (!db || !atomic_load(&db->pg.persons_up))
		return false;
	*version = atomic_load(&db->pg.persons_version);
	*change = (uint32_t)*version;
	/* Up still: the version read is one the listener heard from. */
	return atomic_load(&db->pg.persons_up);
}

bool dbpg_in_tx(struct db_conn *c)
{
	return c->pg.h && PQtransactionStatus(c->pg.h) != PQTRANS_IDLE;
}

struct db *dbpg_open(const char *uri, char *err, size_t errlen)
{
	struct db_start start;
	struct db *db;

	if (dbpg_migrate_all(uri, &start, err, errlen) != 0)
		return NULL;
	db = db_handle_new(DB_KIND_PG, uri, &start, err, errlen);
	if (!db)
		return NULL;
	if (pthread_create(&db->pg.listener, NULL, listener_main, db) == 0)
		db->pg.listener_started = true;
	return db;
}

void dbpg_db_close(struct db *db)
{
	atomic_store(&db->pg.stop, true);
	if (db->pg.listener_started)
		pthread_join(db->pg.listener, NULL);
	db->pg.listener_started = false;
}
