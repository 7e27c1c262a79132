/* db.h - the store: open, migrate, per-thread connections.
 *
 * Two stores behind one interface (SPEC §7): SQLite, the embedded default
 * (a file path), and PostgreSQL, the scale-out store (a libpq URI,
 * "postgresql://..." or "postgres://...": db_is_uri).  Code outside db/
 * never knows which one it talks to; where a function below is about the
 * SQLite file itself, it says what it does on PostgreSQL.
 *
 * One struct db per database, shared by every thread; each thread gets its
 * own connection on first use (SQLITE_OPEN_NOMUTEX, or one PGconn), with
 * its statements prepared once and kept.  Nothing here is global.
 */
#ifndef SHIKAKU_DB_H
#define SHIKAKU_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct db_conn;

/* Results of the db functions. */
enum db_result {
	DB_OK = 0,
	DB_NOT_FOUND,
	DB_PRECONDITION, /* If-Match / If-None-Match did not hold */
	DB_BUSY,         /* locked by another writer past the busy timeout */
	DB_FULL,         /* disk or file-size limit */
	DB_ERROR,
	/* PostgreSQL cannot be reached now (connection lost or refused, a
	 * statement or connect timeout, shutting down): 503 + Retry-After */
	DB_UNAVAILABLE
};

/* True when target is a PostgreSQL URI ("postgresql://" or "postgres://")
 * rather than a SQLite file path. */
bool db_is_uri(const char *target);

/* Writes target as logs, errors and metrics may show it into out: a path
 * as it is, a URI with its password (user:PASSWORD@ or password=) replaced
 * by "***".  Always terminated; cut short when it does not fit. */
void db_target_redact(const char *target, char *out, size_t outlen);

/* The handle's target as db_target_redact shows it (borrowed). */
const char *db_shown(const struct db *db);

/* The connections of the handle open now and the connection failures
 * met so far (PostgreSQL: connects that failed, connections found
 * broken).  False for SQLite, which has no such pool. */
bool db_pool_stats(const struct db *db, long *open, unsigned long *errors);

/* Process-wide SQLite settings; call once, first thing in main, before
 * any other db function (SQLite takes them only before it starts). */
void db_global_init(void);

/* ---- two files, one database ---------------------------------------------
 *
 * The audit log lives in a file of its own beside the database,
 * path + "-audit" (SPEC §7), with its own WAL, its own numbered migrations
 * (db/audit_migrations/, its own user_version) and its own connections:
 * the audit writer's (db/audit_log.h) and one per thread for GET
 * /v1/audit (db_audit_conn_get).  Its commits leave the page caches of the
 * person store's readers alone, and no writer of the database (an import
 * holding its write lock for minutes) can hold the audit writer up.
 * Opening or migrating the database opens and migrates both; a database
 * whose audit table is still inside it has the rows moved across (see
 * db_migrate_all).  Backups treat the two files as one database. */

/* Opens (creating with mode 0600) and migrates the database at path and
 * its audit file.  Returns a new handle (free with db_close) or NULL with
 * err.  When both schemas are current nothing is written (the files may
 * sit on a full disk: reads still work). */
struct db *db_open(const char *path, char *err, size_t errlen);

/* What db_open (or db_migrate_all) found and did, for the start-up log. */
struct db_start {
	int schema_from, schema_to; /* equal: nothing was migrated */
	/* The file existed with 0 bytes (an emptied or failed copy, a
	 * truncation) and was initialised as a new, empty database. */
	bool was_empty_file;
	/* The audit file's schema versions, likewise. */
	int audit_schema_from, audit_schema_to;
	/* Audit rows moved from the database into the audit file by this
	 * run (0: none, or moved before). */
	long long audit_rows_moved;
	/* The audit file was absent though the database had moved its audit
	 * log out before: it was created empty (the rows it held are gone
	 * unless a backup has them). */
	bool audit_file_was_missing;
};
void db_start_info(const struct db *db, struct db_start *out);

/* Closes every connection of every thread; NULL is a no-op.  No thread
 * may use db any more. */
void db_close(struct db *db);

/* Applies the pending migrations to the file at path and to its audit
 * file (creating them, mode 0600).  *from and *to receive the database's
 * schema versions before and after. */
int db_migrate(const char *path, int *from, int *to, char *err, size_t errlen);

/* The same, with all of what it found and did in *out.
 *
 * A database whose schema still holds the audit log (before migration
 * 004_audit_own_file) has it moved, safely against a crash at any point:
 * (1) the database is migrated up to that migration; (2) in one
 * transaction of the audit file, its rows are copied there and a row of
 * audit_moved_in records the copy; (3) in one transaction of the
 * database, 004 drops them there (with any later migration).  A crash
 * between (2) and (3) leaves the rows in both; the next run finds the
 * record and only drops them.  An audit file that holds rows with no such
 * record is not the database's: the move is refused (err) rather than
 * mixing two logs. */
int db_migrate_all(const char *path, struct db_start *out, char *err,
		   size_t errlen);

/* Writes the audit file's path of the database at path (path + "-audit")
 * into out.  Returns 0, or -1 when it does not fit in outlen bytes. */
int db_audit_path_for(const char *path, char *out, size_t outlen);

/* The audit file's path (borrowed, valid until db_close); NULL on
 * PostgreSQL, where the audit log is a table of the same database. */
const char *db_audit_path(const struct db *db);

/* Where the audit writer writes (audit_log_start; borrowed, valid until
 * db_close): the audit file's path, or on PostgreSQL the database's URI
 * (it may hold a password: never print it). */
const char *db_audit_target(const struct db *db);

/* The calling thread's connection to the audit file, for reading it
 * (opened on first use; borrowed, valid until db_close).  NULL when it
 * cannot be opened.  Only the audit writer writes that file. */
struct db_conn *db_audit_conn_get(struct db *db);

/* The database file's path (or URI) as given to db_open (borrowed, valid
 * until db_close; a URI may hold a password: never print it, see
 * db_shown). */
const char *db_path(const struct db *db);

/* A connection of its own to db's database (the caller owns it:
 * db_conn_close), for work whose transaction spans many network reads,
 * such as an import (on PostgreSQL with a long statement timeout). */
int db_conn_open_own(struct db *db, struct db_conn **out, char *err,
		     size_t errlen);

/* The calling thread's connection (opened on first use; borrowed, valid
 * until db_close).  NULL when it cannot be opened. */
struct db_conn *db_conn_get(struct db *db);

/* ---- sessions: a connection of one's own and its transaction ----------
 *
 * What the import (api/import.c) drives, so that nothing outside db/ needs
 * db/internal.h.  BEGIN IMMEDIATE / COMMIT / ROLLBACK on c; db_begin_read
 * opens a deferred (read) transaction, which db_commit ends. */
enum db_result db_begin(struct db_conn *c);
enum db_result db_begin_read(struct db_conn *c);
enum db_result db_commit(struct db_conn *c);
void db_rollback(struct db_conn *c);

/* Opens a connection to path with the service's pragmas (the caller owns
 * it: db_conn_close); a URI opens a PostgreSQL connection of its own. */
int db_conn_open(const char *path, struct db_conn **out, char *err,
		 size_t errlen);
void db_conn_close(struct db_conn *c);

/* A counter that moves whenever this process writes the insurer
 * registry, so that readers may cache registry rows (see
 * api/insurers.c).  Lock-free. */
unsigned long db_registry_generation(const struct db *db);
void db_registry_touch(struct db *db);

/* ---- the person cache ----------------------------------------------------
 *
 * A cache of stored persons in this process (db/person_cache.h), used by
 * db_person_get/db_person_get_in and kept exact by every person write
 * (db/person_db.c).  Set it once, before threads use db: bytes 0 = none
 * (the default).  -1 when it cannot be allocated. */
struct person_cache_stats;
int db_person_cache_configure(struct db *db, size_t bytes);

/* Fills *out; false when there is no cache. */
bool db_person_cache_stats(struct db *db, struct person_cache_stats *out);

/* Starts a thread (at a lower CPU priority) that reads every stored
 * person, in id order and in short read transactions, into the cache,
 * until the end, the cache 15/16 full or its first eviction, so that lookups after a start
 * find their person there; 0 when started or there is no cache, -1 when
 * the thread cannot be started.  db_close stops it.  Call it once, after
 * db_person_cache_configure. */
int db_person_cache_warm(struct db *db);

/* Whether the warming thread is still reading, and the persons it has
 * read so far (*persons); false when none was started or it has ended. */
bool db_person_cache_warming(struct db *db, uint64_t *persons);

/* DB_OK when c can read the database (for readiness); DB_ERROR once the
 * store has reported corruption (db_corrupt). */
enum db_result db_ping(struct db_conn *c);

/* ---- damage -------------------------------------------------------------
 *
 * Every connection keeps the last store error it met (SQLite's extended
 * result code and message, never a value: every value is a bound
 * parameter).  A handler that answers a store error hands it to
 * db_error_report, which passes it with the request's id to the function
 * the service installed (db_on_error), for the log.  An error that says
 * the file is damaged (SQLITE_CORRUPT, SQLITE_NOTADB), met by any
 * connection of db_conn_get or by db_quick_check, marks the store corrupt
 * until the process ends: /readyz then answers 503. */

struct db_error {
	const char *request_id; /* borrowed; NULL when not known */
	const char *route;      /* borrowed; NULL when not known */
	int code;               /* SQLite's extended result code; 0: none
				   was recorded (not an SQLite error) */
	const char *name;       /* "SQLITE_CORRUPT", ...; NULL when 0 */
	const char *message;    /* SQLite's text; NULL when code is 0 */
	bool corrupt;           /* the file is damaged */
};

/* fn(arg, e) is called for each reported error, from the reporting
 * thread (e borrowed for the call).  Set it once, before threads use db.
 * fn NULL: errors are not reported. */
void db_on_error(struct db *db, void (*fn)(void *arg, const struct db_error *e),
		 void *arg);

/* Reports the last error c met (and forgets it) with the request's id
 * and route.  c NULL reports that the error is not known. */
void db_error_report(struct db *db, struct db_conn *c, const char *request_id,
		     const char *route);

/* True once the store reported corruption. */
bool db_corrupt(const struct db *db);

enum db_check_result {
	DB_CHECK_OK = 0,
	DB_CHECK_DAMAGED,   /* problems found: db is marked corrupt */
	DB_CHECK_CUT_SHORT, /* budget_ms ran out before the end */
	DB_CHECK_FAILED     /* the check could not run (code, message) */
};

struct db_check {
	enum db_check_result result;
	long long elapsed_ms;
	long problems;   /* DB_CHECK_DAMAGED: lines quick_check gave */
	int code;        /* DB_CHECK_DAMAGED/_FAILED: SQLite's code, or 0 */
	char first[256]; /* the first problem, or the error's message */
};

/* PostgreSQL: nothing to check here (DB_CHECK_OK, 0 ms): the server
 * looks after its own files.
 * SQLite: runs PRAGMA quick_check on a connection of its own, stopped after
 * budget_ms (a large file takes longer: the check is then cut short, not
 * failed).  Fills *out. */
void db_quick_check(struct db *db, unsigned budget_ms, struct db_check *out);

/* "SQLITE_CORRUPT" and the like for an (extended) result code (SQLite's:
 * PostgreSQL's errors are reported by SQLSTATE in db_error.name). */
const char *db_sqlite_name(int code);

/* Bytes of the database file, its audit file and their WALs; -1 when the
 * database file cannot be read.  PostgreSQL: -1 (not a file of ours). */
long long db_size_bytes(const struct db *db);

/* Bytes of the audit file and its WAL alone; -1 when it cannot be read
 * (and on PostgreSQL). */
long long db_audit_size_bytes(const struct db *db);

/* The schema versions this build writes: the database's and the audit
 * file's. */
int db_schema_version(void);
int db_audit_schema_version(void);

#endif
