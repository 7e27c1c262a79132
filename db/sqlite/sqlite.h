/* sqlite.h - the SQLite store's own: statements, codes, the dbsq_ functions
 * that db/<area>_db.c dispatches to.  Included by db/internal.h. */
#ifndef SHIKAKU_DB_SQLITE_H
#define SHIKAKU_DB_SQLITE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/audit_db.h"
#include "db/db.h"
#include "db/insurer_db.h"
#include "db/key_db.h"
#include "db/person_db.h"
#include "db/session_db.h"

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

/* ---- db.c ---------------------------------------------------------------- */
void dbsq_global_init(void);
struct db *dbsq_open(const char *path, char *err, size_t errlen);
int dbsq_migrate_all(const char *path, struct db_start *out, char *err,
		     size_t errlen);
int dbsq_conn_open(const char *path, struct db_conn **out, char *err,
		   size_t errlen);
void dbsq_conn_close(struct db_conn *c);
enum db_result dbsq_begin(struct db_conn *c);
bool dbsq_in_tx(struct db_conn *c);
/* The person cache's store version (db_store_version): the WAL index
 * header (the wal-index format of SQLite's walformat.html: two copies of
 * 48 bytes that every commit rewrites, the second first), read from
 * shared memory: no lock, no system call. */
bool dbsq_store_version(struct db_conn *c, uint64_t *version, uint32_t *change);
enum db_result dbsq_begin_read(struct db_conn *c);
enum db_result dbsq_commit(struct db_conn *c);
void dbsq_rollback(struct db_conn *c);
enum db_result dbsq_ping(struct db_conn *c);
void dbsq_quick_check(struct db *db, unsigned budget_ms, struct db_check *out);
long long dbsq_size_bytes(const struct db *db);
long long dbsq_audit_size_bytes(const struct db *db);

/* ---- person.c ------------------------------------------------------------ */
enum db_result dbsq_person_get(struct db_conn *c, const char *id,
			       struct db_person *out);
enum db_result dbsq_person_get_in(struct db_conn *c, const char *id,
				  const char *facility, struct db_person *out,
				  bool *stored);
enum db_result dbsq_person_put_if(struct db_conn *c, struct db_person *p,
				  const char *if_match,
				  const char *if_none_match, bool in_tx,
				  double now, enum db_put_outcome *outcome);
/* Inside the caller's transaction (db_person_delete begins it). */
enum db_result dbsq_person_delete(struct db_conn *c, const char *id,
				  const char *if_match);
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
enum db_result dbsq_person_list(struct db_conn *c, const char *facility_id,
				const char *after, int limit,
				db_person_peek_fn peek,
				int (*fn)(const struct db_person *, void *),
				void *arg, char *last);

/* ---- insurer.c ----------------------------------------------------------- */
enum db_result dbsq_insurer_get(struct db_conn *c, const char *number,
				struct db_insurer *out);
enum db_result dbsq_insurer_put(struct db_conn *c, struct db_insurer *ins,
				bool in_tx, double now, bool *created);
enum db_result dbsq_insurer_search(struct db_conn *c, const char *after,
				   int limit, int prefecture,
				   enum rules_scheme scheme, const char *q,
				   int (*fn)(const struct db_insurer *, void *),
				   void *arg);

/* ---- key.c: rows only (db/key_db.c has the rest) ---------------------- */
/* DB_PRECONDITION when the id is taken. */
enum db_result dbsq_key_insert(struct db_conn *c, const struct db_key *k,
			       const unsigned char hash[DB_KEY_HASH_LEN]);
/* DB_NOT_FOUND, or DB_OK with the row and its hash. */
enum db_result dbsq_key_get(struct db_conn *c, const char *id,
			    struct db_key *out,
			    unsigned char hash[DB_KEY_HASH_LEN]);
enum db_result dbsq_key_list(struct db_conn *c,
			     int (*fn)(const struct db_key *, void *),
			     void *arg);
/* Revokes at when (a Tokyo time text) unless revoked before. */
enum db_result dbsq_key_revoke(struct db_conn *c, const char *id,
			       const char *when, struct db_key *out);

/* ---- session.c: rows only (db/session_db.c has the rest) ------------------ */
/* Deletes every session last seen before idle_before or opened before
 * max_before, then inserts one (hash of its token) opened and seen now. */
enum db_result dbsq_session_insert(struct db_conn *c, const unsigned char *hash,
				   const char *key_id, const char *csrf,
				   double now, double idle_before,
				   double max_before);
/* The session of hash with its key's role and facility now: DB_NOT_FOUND
 * when there is none or its key is revoked. */
enum db_result dbsq_session_lookup(struct db_conn *c, const unsigned char *hash,
				   struct db_session *out);
enum db_result dbsq_session_touch(struct db_conn *c, const unsigned char *hash,
				  double now);
/* DB_OK also when there was none. */
enum db_result dbsq_session_remove(struct db_conn *c,
				   const unsigned char *hash);

/* ---- audit.c ------------------------------------------------------------- */
enum db_result dbsq_audit_insert(struct db_conn *c,
				 const struct audit_record *recs, size_t n);
enum db_result dbsq_audit_bytes(struct db_conn *c, long long *bytes);
enum db_result dbsq_audit_query(struct db_conn *c,
				const struct db_audit_filter *f,
				int (*fn)(const struct db_audit_row *, void *),
				void *arg);
enum db_result dbsq_audit_expire(struct db_conn *c, const char *before,
				 long long *deleted);

#endif
