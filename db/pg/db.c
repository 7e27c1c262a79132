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

/* Connects to uri with the service's parameters (they override the
 * URI's own): connect_timeout, statement and lock timeouts, keepalives. */
static PGconn *connect_uri(const char *uri, bool own)
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
	PGconn *h = PQconnectdbParams(keys, vals, 1);

	if (h)
		PQsetNoticeProcessor(h, no_notices, NULL);
	return h;
}

/* The first line of libpq's message of h (it never holds the password). */
static void conn_message(PGconn *h, char *out, size_t outlen)
{
	const char *m = h ? PQerrorMessage(h) : "out of memory";
	size_t n = strcspn(m, "\n");

	snprintf(out, outlen, "%.*s", (int)n, m);
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
	c->pg.h = connect_uri(uri, own);
	if (!c->pg.h || PQstatus(c->pg.h) != CONNECTION_OK) {
		db_target_redact(uri, shown, sizeof shown);
		conn_message(c->pg.h, msg, sizeof msg);
		snprintf(err, errlen, "database %s: %s", shown, msg);
		if (db)
			atomic_fetch_add(&db->pg.conn_errors, 1);
		PQfinish(c->pg.h);
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

/* A broken connection is reset before its next statement: the store
 * reconnects by itself once the database is back.  False when it is
 * still unreachable. */
static bool usable(struct db_conn *c)
{
	if (PQstatus(c->pg.h) == CONNECTION_OK)
		return true;
	if (c->pg.in_tx) {
		/* the transaction is lost: only its rollback may reset */
		remember(c, "08006",
			 "the connection was lost inside a "
			 "transaction");
		return false;
	}
	PQreset(c->pg.h);
	memset(c->pg.prepared, 0, sizeof c->pg.prepared);
	if (PQstatus(c->pg.h) == CONNECTION_OK) {
		PQsetNoticeProcessor(c->pg.h, no_notices, NULL);
		return true;
	}
	if (c->db)
		atomic_fetch_add(&c->db->pg.conn_errors, 1);
	remember(c, "08006", PQerrorMessage(c->pg.h));
	return false;
}

/* Prepares (once per PGconn) and runs statement id. */
static PGresult *run_prepared(struct db_conn *c, enum dbpg_stmt id, int n,
			      const char *const *vals, const int *lens,
			      const int *formats, bool binary_result)
{
	char name[16];
	PGresult *r;

	snprintf(name, sizeof name, "s%d", (int)id);
	if (!c->pg.prepared[id]) {
		r = PQprepare(c->pg.h, name, dbpg_sql[id], 0, NULL);
		if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
			return r; /* the error is the caller's to map */
		PQclear(r);
		c->pg.prepared[id] = true;
	}
	return PQexecPrepared(c->pg.h, name, n, vals, lens, formats,
			      binary_result ? 1 : 0);
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
	 * lost, so it runs once more on a new connection. */
	if (PQstatus(c->pg.h) == CONNECTION_BAD && before == PQTRANS_IDLE) {
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

/* Runs a statement that returns nothing of interest. */
static enum db_result run(struct db_conn *c, enum dbpg_stmt id)
{
	PGresult *r = dbpg_exec(c, id, 0, NULL);
	enum db_result res = dbpg_result(c, r);

	PQclear(r);
	return res;
}

enum db_result dbpg_begin(struct db_conn *c)
{
	enum db_result r = run(c, DBPG_STMT_BEGIN);

	c->pg.in_tx = r == DB_OK;
	return r;
}

enum db_result dbpg_begin_read(struct db_conn *c)
{
	enum db_result r = run(c, DBPG_STMT_BEGIN_READ);

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
	r = run(c, DBPG_STMT_COMMIT);
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
		(void)run(c, DBPG_STMT_ROLLBACK);
	c->pg.in_tx = false;
}

enum db_result dbpg_ping(struct db_conn *c)
{
	return run(c, DBPG_STMT_PING);
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

static bool listen_on(PGconn *h, const char *sql)
{
	PGresult *r = PQexec(h, sql);
	bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;

	PQclear(r);
	return ok;
}

static void *listener_main(void *arg)
{
	struct db *db = arg;
	PGconn *h;

	while (!atomic_load(&db->pg.stop)) {
		h = connect_uri(db->path, false);
		if (h && PQstatus(h) == CONNECTION_OK &&
		    listen_on(h, "LISTEN " DBPG_REGISTRY_CHANNEL) &&
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
