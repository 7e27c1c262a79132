/* sqlite.h - the SQLite store's own: statements, codes, the dbsq_ functions
 * that db/<area>_db.c dispatches to.  Included by db/internal.h. */
#ifndef SHIKAKU_DB_SQLITE_H
#define SHIKAKU_DB_SQLITE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "db/store_ops.h"

struct db_conn;

/* audit_person's bucket of a seq is seq >> DB_AUDIT_BUCKET_SHIFT (see
 * db/migrations/003_audit_buckets.sql, which has the same number). */
#define DB_AUDIT_BUCKET_SHIFT 14

/* Every statement the service runs, prepared once per connection. */
enum db_stmt_id {
	DB_STMT_BEGIN,
	DB_STMT_COMMIT,
	DB_STMT_ROLLBACK,
	DB_STMT_PERSON_GET,
	DB_STMT_PERSON_UPSERT,
	DB_STMT_PERSON_INSERT_NEW,
	DB_STMT_PERSON_UPDATE_CHANGED,
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
	/* issue 17: the person cache's log */
	DB_STMT_PERSON_CHANGE_ADD,
	DB_STMT_PERSON_CHANGE_TRIM,
	DB_STMT_PERSON_CHANGES,
	DB_STMT_PERSON_CHANGE_LAST,
	DB_STMT_COUNT
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
bool dbsq_is_corruption(int rc);

/* ---- what the area files share (db.c) ------------------------------------ */
/* Column col (from 0) of s's row into dst, truncated; "" for NULL. */
void dbsq_copy_col(sqlite3_stmt *s, int col, char *dst, size_t dstlen);
/* The texts of s's row's columns, for db_col_text_fn (row: s). */
const char *dbsq_row_text(const void *row, int col, size_t *len);
/* Runs statement id once with n text values at 1..n (NULL = SQL NULL;
 * not copied: they outlive the call): what its step means. */
enum db_result dbsq_exec(struct db_conn *c, enum db_stmt_id id, int n,
			 const char *const *vals);
/* Binds a copy of v at col, or NULL when v is NULL or "". */
void dbsq_bind_opt(sqlite3_stmt *s, int col, const char *v);
/* Steps s (its values bound) for one row, which read takes from s (it
 * answers DB_OK, or DB_ERROR for a row the schema should not allow):
 * read's answer, DB_NOT_FOUND when there is no row, or the error.  Resets
 * s. */
enum db_result dbsq_one(struct db_conn *c, sqlite3_stmt *s,
			enum db_result (*read)(sqlite3_stmt *s, void *out),
			void *out);
/* dbsq_one of statement id with text key bound at 1. */
enum db_result dbsq_get(struct db_conn *c, enum db_stmt_id id, const char *key,
			enum db_result (*read)(sqlite3_stmt *s, void *out),
			void *out);
/* Steps s (its values bound) through its rows, calling row on each until
 * it returns other than 0: DB_OK, or the error.  Resets s.  s NULL (a
 * db_stmt that failed): DB_ERROR. */
enum db_result dbsq_each(struct db_conn *c, sqlite3_stmt *s,
			 int (*row)(sqlite3_stmt *s, void *arg), void *arg);
/* Defines the dbsq_each row function name for rows of type (read: an
 * enum db_result read(sqlite3_stmt *, void *out)): each row read is
 * handed to the fn of its arg, a struct name##_each {fn, arg}. */
#define DBSQ_EACH_ROW(name, type, read)                                        \
	struct name##_each {                                                   \
		int (*fn)(const type *, void *);                               \
		void *arg;                                                     \
	};                                                                     \
	static int name(sqlite3_stmt *s, void *arg)                            \
	{                                                                      \
		const struct name##_each *e = arg;                             \
		type row;                                                      \
                                                                               \
		(void)read(s, &row);                                           \
		return e->fn(&row, e->arg);                                    \
	}

/* The operations of db/store_ops.h, as dbsq_<name>.  dbsq_store_version
 * reads the WAL index header (the wal-index format of SQLite's
 * walformat.html: two copies of 48 bytes that every commit rewrites, the
 * second first) from shared memory: no lock, no system call. */
#define DBSQ_DECLARE(ret, name, params)                                        \
	DB_STORE_DECLARE(dbsq_, ret, name, params)
DB_STORE_OPS(DBSQ_DECLARE)

/* ---- db.c ---------------------------------------------------------------- */
void dbsq_global_init(void);
int dbsq_conn_open(const char *path, struct db_conn **out, char *err,
		   size_t errlen);
void dbsq_quick_check(struct db *db, unsigned budget_ms, struct db_check *out);
long long dbsq_size_bytes(const struct db *db);
long long dbsq_audit_size_bytes(const struct db *db);

/* ---- person.c ------------------------------------------------------------ */
/* person_cache_explain_fn over person_changes (arg: the connection):
 * drops from pc the persons logged after mark from. */
struct person_cache;
bool dbsq_person_changes(void *conn, struct person_cache *pc, uint64_t from,
			 uint64_t *to);
/* An import's write of p (its etag and updated_at set by the caller) in
 * the caller's transaction: db_person_put's outcome without its
 * conditions, nor the stored record copied back. */
enum db_result dbsq_person_import(struct db_conn *c, const struct db_person *p,
				  enum db_put_outcome *outcome);

#endif
