/* pg.h - the PostgreSQL store's own: its connection, statements and the
 * dbpg_ functions that db/<area>_db.c dispatches to.  Included by
 * db/internal.h.
 *
 * Each thread has one PGconn (like SQLite's per-thread connections),
 * opened on first use.  Every wait on the database is bounded on this
 * side, whatever the server does (a hung server accepts connections and
 * never answers: its statement_timeout never fires): connecting is
 * PQconnectStartParams + PQconnectPoll, and a statement is sent with
 * PQsendQueryPrepared, its answer awaited with poll() on PQsocket, both
 * until a deadline (DBPG_DEADLINE_MS; DBPG_OWN_DEADLINE_MS on an import's
 * connection of its own).  A deadline passed: the statement is cancelled
 * (PQcancel, in a thread of its own: it may block), the connection
 * dropped and DB_UNAVAILABLE answered; the next use reconnects, not
 * before DBPG_RETRY_MS (a request meanwhile fails at once).  Every
 * statement is prepared once per PGconn under a fixed name (its enum
 * dbpg_stmt), values as text parameters.  A connection found broken is
 * reset on its next use: the store reconnects by itself. */
#ifndef SHIKAKU_DB_PG_H
#define SHIKAKU_DB_PG_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "db/store_ops.h"

struct db_conn;

/* Every statement of the PostgreSQL store; the SQL of each is in
 * db/pg/stmt.c (dbpg_sql), NULL while not written ("not supported yet").
 * Areas: wt-pg (core) and wt-pg2 (keys, sessions, audit, import) edit
 * only their own blocks, here and in stmt.c. */
enum dbpg_stmt {
	/* ---- core (wt-pg) */
	DBPG_STMT_BEGIN,
	DBPG_STMT_BEGIN_READ,
	DBPG_STMT_COMMIT,
	DBPG_STMT_ROLLBACK,
	DBPG_STMT_PING,
	DBPG_STMT_PERSON_GET,
	DBPG_STMT_PERSON_GET_IN,
	DBPG_STMT_PERSON_GET_LOCK,
	DBPG_STMT_PERSON_INSERT,
	DBPG_STMT_PERSON_UPDATE,
	DBPG_STMT_PERSON_DELETE,
	DBPG_STMT_PERSON_LIST,
	DBPG_STMT_PERSON_LIST_FACILITY,
	DBPG_STMT_INSURER_GET,
	DBPG_STMT_INSURER_UPSERT,
	DBPG_STMT_INSURER_SEARCH,
	DBPG_STMT_REGISTRY_NOTIFY,
	DBPG_STMT_DB_SIZE,
	/* ---- keys (wt-pg2) */
	DBPG_STMT_KEY_INSERT,
	DBPG_STMT_KEY_GET,
	DBPG_STMT_KEY_LIST,
	DBPG_STMT_KEY_REVOKE,
	/* ---- sessions (wt-pg2) */
	DBPG_STMT_SESSION_INSERT,
	DBPG_STMT_SESSION_GET,
	DBPG_STMT_SESSION_TOUCH,
	DBPG_STMT_SESSION_DELETE,
	DBPG_STMT_SESSION_EXPIRE,
	/* ---- audit (wt-pg2) */
	DBPG_STMT_AUDIT_INSERT,
	DBPG_STMT_AUDIT_PERSON_INSERT,
	DBPG_STMT_AUDIT_QUERY,
	DBPG_STMT_AUDIT_QUERY_KEY,
	DBPG_STMT_AUDIT_QUERY_PERSON,
	DBPG_STMT_AUDIT_EXPIRE,
	DBPG_STMT_AUDIT_PERSON_EXPIRE,
	DBPG_STMT_AUDIT_BYTES,
	/* ---- import (wt-pg2) */
	DBPG_STMT_IMPORT_TABLE,
	DBPG_STMT_IMPORT_TRUNCATE,
	DBPG_STMT_IMPORT_COPY,
	DBPG_STMT_IMPORT_UPSERT,
	DBPG_STMT_COUNT
};

/* The SQL of each statement (db/pg/stmt.c); NULL: not written yet. */
extern const char *const dbpg_sql[DBPG_STMT_COUNT];

/* The PostgreSQL migrations, generated from db/pg_migrations/
 * (build/gen/pg_migrations.c, with the same seed rows as SQLite's). */
extern const char *const db_pg_migrations[];
extern const int db_pg_migrations_count;
extern const char *const db_pg_migration_names[];

/* The advisory lock every migration runs under (pg_advisory_xact_lock):
 * two replicas starting at once migrate one after the other. */
#define DBPG_MIGRATION_LOCK 0x73686b6b /* "shkk" */

/* err_code of a PostgreSQL error (the SQLSTATE is in c->sqlstate). */
#define DBPG_ERR_CODE 1

/* Milliseconds: a statement's limit and a connection's (connect_timeout
 * is in whole seconds, 2). */
#define DBPG_STATEMENT_TIMEOUT_MS 2000
#define DBPG_LOCK_TIMEOUT_MS      1500
#define DBPG_CONNECT_TIMEOUT_S    2
/* A connection of its own (an import): statements may take long. */
#define DBPG_OWN_STATEMENT_TIMEOUT_MS 600000
/* This side's limits on waiting for the server (a statement, a connect):
 * a request's answer (503) leaves within SPEC §7's 2 s; an import's own
 * connection waits a little longer than its statement timeout. */
#define DBPG_DEADLINE_MS     1800
#define DBPG_OWN_DEADLINE_MS (DBPG_OWN_STATEMENT_TIMEOUT_MS + 5000)
#define DBPG_OWN_CONNECT_MS  10000
/* After a deadline passed or a connect failed, the connection is not
 * tried again for this long: the request's next statements fail at once
 * instead of waiting once more. */
#define DBPG_RETRY_MS 500

/* The channel of registry changes (LISTEN/NOTIFY). */
#define DBPG_REGISTRY_CHANNEL "shikaku_registry"
/* The channel of person changes (db/pg_migrations/003_person_notify.sql):
 * the payload is the person_id, or "*" for many. */
#define DBPG_PERSONS_CHANNEL "shikaku_persons"

/* A PostgreSQL connection (a part of struct db_conn). */
struct dbpg_conn {
	PGconn *h; /* NULL once dropped (a deadline passed) */
	char *uri; /* to reconnect */
	bool own;  /* a connection of its own: the long statement timeout */
	/* CLOCK_MONOTONIC seconds before which no reconnect is tried */
	double retry_at;
	/* dbpg_audit_bytes: the last figure, and when (CLOCK_MONOTONIC ms;
	 * 0: never) */
	long long audit_bytes;
	double audit_bytes_at;
	/* BEGIN ran and no COMMIT/ROLLBACK yet: a connection lost now is
	 * not reset before the rollback (else the transaction's remaining
	 * statements would run, and commit, one by one on a new session) */
	bool in_tx;
	bool prepared[DBPG_STMT_COUNT]; /* on this PGconn */
	bool counted;                   /* in struct dbpg_db's open count */
};

/* The PostgreSQL part of struct db. */
struct dbpg_db {
	/* The registry listener: one connection LISTENing on
	 * DBPG_REGISTRY_CHANNEL in a thread of its own. */
	pthread_t listener;
	bool listener_started;
	atomic_bool stop;
	/* The person cache's store version (dbpg_store_version): moved each
	 * time the listener connects or drops, and by a "*" notification;
	 * persons_up: it is listening now. */
	atomic_uint_fast64_t persons_version;
	atomic_bool persons_up;
	/* For /metrics: connections open now, and connection failures
	 * (a connect that failed, a connection found broken) so far. */
	atomic_long open_conns;
	atomic_ulong conn_errors;
};

/* ---- db.c ---------------------------------------------------------------- */

/* The operations of db/store_ops.h, as dbpg_<name>.  dbpg_open opens
 * (migrating) the database of a URI: a handle, or NULL with err (which
 * never holds the password).  dbpg_store_version is false while the
 * listener is not listening (the cache is not used then). */
#define DBPG_DECLARE(ret, name, params)                                        \
	DB_STORE_DECLARE(dbpg_, ret, name, params)
DB_STORE_OPS(DBPG_DECLARE)

/* A new connection to uri (db: the handle it is for, counted in its
 * metrics; may be NULL).  own: the long statement timeout. */
int dbpg_conn_open(struct db *db, const char *uri, bool own,
		   struct db_conn **out, char *err, size_t errlen);
/* Stops the listener (before the connections are closed). */
void dbpg_db_close(struct db *db);

/* Runs statement id with n text values (NULL = SQL NULL) on c, preparing
 * it first on this connection; reconnects first when c was found broken.
 * Returns the result (PQclear it), or NULL when there is none (c cannot
 * reach the database); dbpg_result tells what it means. */
PGresult *dbpg_exec(struct db_conn *c, enum dbpg_stmt id, int n,
		    const char *const *vals);
/* The same with lengths and formats (1: binary, e.g. a bytea's bytes) of
 * the values, and binary results when binary_result. */
PGresult *dbpg_execv(struct db_conn *c, enum dbpg_stmt id, int n,
		     const char *const *vals, const int *lens,
		     const int *formats, bool binary_result);

/* Waits, until the deadline of c, for the answer of what was sent on c
 * (e.g. a COPY's end): the first error result, else the last result (a
 * COPY's start ends the wait); NULL when there is none (the deadline
 * passed: c is dropped; or c is broken), the reason remembered in c. */
PGresult *dbpg_collect(struct db_conn *c);
/* PQputCopyData of len bytes, waiting for room until the deadline of c:
 * false when it failed (c dropped on a deadline). */
bool dbpg_copy_put(struct db_conn *c, const char *buf, size_t len);

/* What a result means (r may be NULL): DB_OK for a command or rows,
 * DB_UNAVAILABLE when the database cannot be reached (connection lost,
 * timeout, shutting down), DB_BUSY for a serialization failure or a lock
 * timeout, DB_FULL for a full disk, else DB_ERROR; an error is remembered
 * in c for db_error_report.  Does not clear r. */
enum db_result dbpg_result(struct db_conn *c, PGresult *r);
/* The SQLSTATE of r ("" when none). */
const char *dbpg_sqlstate(const PGresult *r);
/* Runs statement id (no values) for what it means only: dbpg_result of
 * its result, which is cleared. */
enum db_result dbpg_run(struct db_conn *c, enum dbpg_stmt id);
/* A row of a result, and its columns' texts for db_col_text_fn. */
struct dbpg_row {
	const PGresult *r;
	int row;
};
const char *dbpg_row_text(const void *row, int col, size_t *len);
/* Runs statement id with n text values for one row, which read takes
 * from row 0 of the result: DB_OK, DB_NOT_FOUND when there is no row, or
 * what the result means. */
enum db_result dbpg_one(struct db_conn *c, enum dbpg_stmt id, int n,
			const char *const *vals,
			void (*read)(const PGresult *r, int row, void *out),
			void *out);

long long dbpg_size_bytes(struct db *db);

/* A store function not written yet: remembers "not supported yet" in c
 * and returns DB_ERROR. */
enum db_result dbpg_unsupported(struct db_conn *c, const char *what);

/* ---- import.c (wt-pg2): db/import_db.h's rows held back ------------------ */
struct db_import_counts;
struct dbpg_import;
struct dbpg_import *dbpg_import_new(struct db_conn *c);
/* p with its etag and updated_at set. */
enum db_result dbpg_import_person(struct dbpg_import *im,
				  const struct db_person *p,
				  struct db_import_counts *counts);
enum db_result dbpg_import_flush(struct dbpg_import *im,
				 struct db_import_counts *counts);
void dbpg_import_free(struct dbpg_import *im);

#endif
