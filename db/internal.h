/* internal.h - what the files of db/ share: connections and statements. */
#ifndef SHIKAKU_DB_INTERNAL_H
#define SHIKAKU_DB_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"

/* Every statement the service runs, prepared once per connection. */
/* audit_person's bucket of a seq is seq >> DB_AUDIT_BUCKET_SHIFT (see
 * db/migrations/003_audit_buckets.sql, which has the same number). */
#define DB_AUDIT_BUCKET_SHIFT 14

enum db_stmt_id {
	DB_STMT_BEGIN,
	DB_STMT_COMMIT,
	DB_STMT_ROLLBACK,
	DB_STMT_PERSON_GET,
	DB_STMT_PERSON_UPSERT,
	DB_STMT_PERSON_DELETE,
	DB_STMT_PERSON_LIST,
	DB_STMT_PERSON_LIST_FACILITY,
	DB_STMT_INSURER_GET,
	DB_STMT_INSURER_UPSERT,
	DB_STMT_INSURER_SEARCH,
	DB_STMT_KEY_INSERT,
	DB_STMT_KEY_GET,
	DB_STMT_KEY_LIST,
	DB_STMT_KEY_REVOKE,
	DB_STMT_AUDIT_INSERT,
	DB_STMT_AUDIT_PERSON_INSERT,
	DB_STMT_AUDIT_QUERY,
	DB_STMT_AUDIT_QUERY_KEY,
	DB_STMT_AUDIT_QUERY_PERSON,
	DB_STMT_AUDIT_SEQ_RANGE,
	DB_STMT_AUDIT_MIN_SEQ,
	DB_STMT_AUDIT_EXPIRE_BOUND,
	DB_STMT_AUDIT_EXPIRE,
	DB_STMT_AUDIT_PERSON_EXPIRE,
	/* issue 12: facility scope and the audit log's size */
	DB_STMT_PERSON_GET_IN,
	DB_STMT_USED_PAGES,
	DB_STMT_COUNT
};

#define DB_ERR_MSG_MAX 160

struct db_conn {
	sqlite3 *h;
	sqlite3_stmt *stmts[DB_STMT_COUNT];
	struct db_conn *next;
	/* The handle that made it (db_conn_get); NULL for a connection of
	 * its own (db_conn_open): its errors mark nothing corrupt. */
	struct db *db;
	/* The last store error met (db_conn_result), 0 = none: what
	 * db_error_report tells. */
	int err_code;
	char err_msg[DB_ERR_MSG_MAX];
	/* The WAL index's header in the -shm file's map (db_store_version);
	 * NULL until mapped.  wal_hdr_failed: not a WAL database. */
	const volatile uint32_t *wal_hdr;
	bool wal_hdr_failed;
};

/* The migrations, generated from db/migrations/ (build/gen/migrations.c)
 * and, for the audit file, db/audit_migrations/
 * (build/gen/audit_migrations.c); names without ".sql". */
extern const char *const db_migrations[];
extern const int db_migrations_count;
extern const char *const db_migration_names[];
extern const char *const db_audit_migrations[];
extern const int db_audit_migrations_count;
extern const char *const db_audit_migration_names[];

/* The prepared statement id of connection c (prepared on first use),
 * reset and with its bindings cleared; NULL on error. */
sqlite3_stmt *db_stmt(struct db_conn *c, enum db_stmt_id id);

/* Maps an SQLite result code to a db_result. */
enum db_result db_result_from(int rc);
/* The same for a result of c, remembering an error (DB_ERROR, DB_FULL)
 * for db_error_report and marking the store corrupt when it says so. */
enum db_result db_conn_result(struct db_conn *c, int rc);

/* The person cache of c's handle (db/person_cache.h), NULL when there is
 * none: the cache is off, or c is a connection of its own (an import's,
 * whose commit the cache sees as another process's). */
struct person_cache *db_person_cache(const struct db_conn *c);

/* The store's version for the person cache: a hash of the WAL index
 * header (the wal-index format of SQLite's walformat.html: two copies of
 * 48 bytes that every commit rewrites, the second first), which moves on
 * every commit of any connection of any process; *change: the header's
 * commit counter (iChange), which a commit moves by exactly one.  Read
 * from shared memory: no lock, no system call.  false when it cannot be
 * read (not a WAL database, a commit being written): then the cache is
 * not used. */
bool db_store_version(struct db_conn *c, uint64_t *version, uint32_t *change);

/* The session API (db_begin, db_commit, db_rollback, db_conn_open,
 * db_conn_close) is public: db/db.h. */

#endif
