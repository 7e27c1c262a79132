/* internal.h - what the files of db/ share: the handle, its connections and
 * the store kinds.
 *
 * One public interface (db/db.h and the area headers), two stores: each
 * public function in db/<area>_db.c does what is common (argument checks,
 * codecs, names) once and dispatches on the kind to db/sqlite/<area>.c
 * (functions dbsq_...) or db/pg/<area>.c (dbpg_...). */
#ifndef SHIKAKU_DB_INTERNAL_H
#define SHIKAKU_DB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"

enum db_kind { DB_KIND_SQLITE = 0, DB_KIND_PG };

#include "db/pg/pg.h"
#include "db/sqlite/sqlite.h"

#define DB_ERR_MSG_MAX 160

struct db_conn {
	enum db_kind kind;
	/* DB_KIND_SQLITE */
	sqlite3 *h;
	sqlite3_stmt *stmts[DB_STMT_COUNT];
	/* The WAL index's header in the -shm file's map (dbsq_store_version);
	 * NULL until mapped.  wal_hdr_failed: not a WAL database. */
	const volatile uint32_t *wal_hdr;
	bool wal_hdr_failed;
	/* This transaction has logged "every person" in person_changes (an
	 * import's writes: one row, not one per person). */
	bool changes_marked;
	/* The seq of the last person_changes row this connection wrote. */
	uint64_t change_seq;
	/* DB_KIND_PG */
	struct dbpg_conn pg;
	struct db_conn *next;
	/* The handle that made it (db_conn_get); NULL for a connection of
	 * its own (db_conn_open): its errors mark nothing corrupt. */
	struct db *db;
	/* The last store error met, 0 = none: what db_error_report tells.
	 * SQLite: its extended result code; PostgreSQL: DBPG_ERR_CODE, with
	 * the SQLSTATE in sqlstate. */
	int err_code;
	char sqlstate[6];
	char err_msg[DB_ERR_MSG_MAX];
};

struct db {
	enum db_kind kind;
	/* SQLite: the file's path; PostgreSQL: the URI as given (it may hold
	 * a password: never printed, see shown). */
	char *path;
	/* What logs and errors may show: the path, or the URI without its
	 * password (db_target_redact). */
	char *shown;
	char *audit_path; /* SQLite: path + "-audit"; PostgreSQL: NULL */
	atomic_ulong registry_generation;
	atomic_bool corrupt;     /* sticky: see db_corrupt */
	pthread_key_t key;       /* a thread's connection to path */
	pthread_key_t audit_key; /* and to audit_path (SQLite) */
	pthread_mutex_t lock;    /* guards conns: taken once per thread */
	struct db_conn *conns;   /* every thread's */
	struct db_start start;
	void (*on_error)(void *arg, const struct db_error *e);
	void *on_error_arg;
	struct dbpg_db pg; /* DB_KIND_PG: listener, counters */
	/* NULL: none (db/person_cache.h); atomic: PostgreSQL's listener
	 * thread reads it. */
	_Atomic(struct person_cache *) pcache;
	struct db_warm *warm; /* NULL: none running (db_person_cache_warm) */
};

/* A new handle of kind for target (path or URI), with start; NULL with err
 * when out of memory.  The caller has migrated the store. */
struct db *db_handle_new(enum db_kind kind, const char *target,
			 const struct db_start *start, char *err,
			 size_t errlen);

/* Lists c as one of db's connections (closed by db_close). */
void db_conn_adopt(struct db *db, struct db_conn *c);

/* Marks the store corrupt (sticky; db NULL: nothing). */
void db_mark_corrupt(struct db *db);

/* ---- what both stores share (db/<area>_db.c) ----------------------------- */

/* care_needs as "dementia;pin_difficulty" in enum order, and back. */
void db_needs_join(unsigned needs, char *out, size_t outlen);
unsigned db_needs_split(const char *s);
/* The ETag of p's content (every stored field but etag and updated_at). */
void db_person_etag(const struct db_person *p, char out[17]);
/* The registry's key for an insurer number (00-padded NHI numbers under
 * their 6 digits): a suffix of number. */
const char *db_insurer_key(const char *number);
/* True when s is 1-64 characters of [A-Za-z0-9._-]. */
bool db_audit_id_chars_ok(const char *s);

/* ---- the person cache (db/person_cache.h) -------------------------------- */

/* The person cache of c's handle, NULL when there is none: the cache is
 * off, or c is a connection of its own (an import's, whose commit the
 * cache sees as another process's). */
struct person_cache *db_person_cache(const struct db_conn *c);

/* The store's version for the person cache, which moves on every commit
 * that changed persons and that this process may not know of:
 *   SQLite: a hash of the WAL index header (moves on every commit of any
 *   connection of any process); *change: the header's commit counter,
 *   which a commit moves by exactly one.
 *   PostgreSQL: a counter the NOTIFY listener moves when it connects or
 *   drops (each notification names the person, dropped at once); *change
 *   the same counter.
 * false when it cannot be read (not a WAL database, a commit being
 * written, the listener not connected): then the cache is not used. */
bool db_store_version(struct db_conn *c, uint64_t *version, uint32_t *change);

/* True while c is inside a transaction. */
bool db_in_tx(struct db_conn *c);

/* Puts up to limit persons with person_id > after (all facilities, id
 * order) into c's cache, under the same rules as a lookup's miss (a put
 * racing a write is refused, so warming never makes a record stale);
 * after becomes the last id read ("" when there were none: the end), *n
 * the rows read.  DB_BUSY when nothing may be put just now (a write of
 * this process in flight, the store's version unreadable): try again. */
enum db_result db_person_cache_fill(struct db_conn *c,
				    char after[DB_ID_MAX + 1], int limit,
				    unsigned *n);

/* The thread that warms the cache at start (db/person_warm.c): stop asks
 * it to end and waits for it (NULL: no-op). */
struct db_warm;
void db_warm_stop(struct db_warm *w);

/* One audit row as both stores write it (db_audit_rows): the record's
 * values made safe, and one slice of at most DB_AUDIT_ROW_IDS_MAX of its
 * valid person ids. */
struct db_audit_out {
	char when[DB_AUDIT_TIME_LEN + 1];
	char key_id[DB_AUDIT_KEY_MAX + 1]; /* "" = none (NULL) */
	const char *request_id;            /* valid, or "-" */
	const char *method;                /* an upper-case token or OTHER */
	char route[DB_AUDIT_ROUTE_MAX + 1];
	const char *ids_text; /* the ids space-separated */
	size_t ids_len;
	const char *const *ids; /* n_ids valid ids */
	size_t n_ids;
	int status;
	long long absent; /* with the record's first row only */
};

/* Calls fn for every row of recs[0..n) in order (a record naming more
 * than DB_AUDIT_ROW_IDS_MAX ids is several rows), until fn returns other
 * than DB_OK.  DB_ERROR when out of memory. */
enum db_result
db_audit_rows(const struct audit_record *recs, size_t n,
	      enum db_result (*fn)(void *arg, const struct db_audit_out *row),
	      void *arg);

/* The session API (db_begin, db_commit, db_rollback, db_conn_open,
 * db_conn_close) is public: db/db.h. */

#endif
