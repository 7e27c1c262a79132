/* db.h - the SQLite store: open, migrate, per-thread connections.
 *
 * One struct db per database file, shared by every thread; each thread
 * gets its own connection (SQLITE_OPEN_NOMUTEX) on first use, with its
 * statements prepared once and kept.  Nothing here is global.
 */
#ifndef SHIKAKU_DB_H
#define SHIKAKU_DB_H

#include <stdbool.h>
#include <stddef.h>

struct db;
struct db_conn;

/* Results of the db functions. */
enum db_result {
	DB_OK = 0,
	DB_NOT_FOUND,
	DB_PRECONDITION, /* If-Match / If-None-Match did not hold */
	DB_BUSY,         /* locked by another writer past the busy timeout */
	DB_FULL,         /* disk or file-size limit */
	DB_ERROR
};

/* Process-wide SQLite settings; call once, first thing in main, before
 * any other db function (SQLite takes them only before it starts). */
void db_global_init(void);

/* Opens (creating with mode 0600) and migrates the database at path.
 * Returns a new handle (free with db_close) or NULL with err. */
struct db *db_open(const char *path, char *err, size_t errlen);

/* Closes every connection of every thread; NULL is a no-op.  No thread
 * may use db any more. */
void db_close(struct db *db);

/* Applies the pending migrations to the file at path (creating it).
 * *from and *to receive the schema versions before and after. */
int db_migrate(const char *path, int *from, int *to, char *err, size_t errlen);

/* The database file's path as given to db_open (borrowed, valid until
 * db_close): for work that needs a connection of its own, such as an
 * import whose transaction spans many network reads. */
const char *db_path(const struct db *db);

/* The calling thread's connection (opened on first use; borrowed, valid
 * until db_close).  NULL when it cannot be opened. */
struct db_conn *db_conn_get(struct db *db);

/* A counter that moves whenever this process writes the insurer
 * registry, so that readers may cache registry rows (see
 * api/insurers.c).  Lock-free. */
unsigned long db_registry_generation(const struct db *db);
void db_registry_touch(struct db *db);

/* DB_OK when c can read the database (for readiness). */
enum db_result db_ping(struct db_conn *c);

/* Bytes of the database file and its WAL; -1 when they cannot be read. */
long long db_size_bytes(const struct db *db);

/* The schema version this build writes. */
int db_schema_version(void);

#endif
