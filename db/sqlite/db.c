/* db.c - the SQLite store: pragmas, migrations, connections, statements,
 * the file's check and sizes (the handle itself: db/db.c). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fnv.h"
#include "db/columns.h"
#include "db/internal.h"

/* The 21 values of a person's row (DB_PERSON_COLS), and every column but
 * person_id set from them. */
#define PERSON_VALUES                                                          \
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "     \
	"?14, "                                                                \
	"?15, ?16, ?17, ?18, ?19, ?20, ?21)"
#define PERSON_SET                                                             \
	"facility_id = ?2, display_name = ?3, birth_date = ?4, "               \
	"insurer_number = ?5, scheme = ?6, mynumber_card = ?7, "               \
	"insurance_registration = ?8, ecert_expiry = ?9, card_expiry = "       \
	"?10, care_needs = ?11, setting = ?12, legacy_card_expiry = ?13, "     \
	"certificate_status = ?14, certificate_basis = ?15, "                  \
	"certificate_applied_on = ?16, certificate_valid_until = ?17, "        \
	"verified_at = ?18, source = ?19, etag = ?20, updated_at = ?21"

#define STR_(x)            #x
#define STR(x)             STR_(x)
#define AUDIT_BUCKET_SHIFT STR(DB_AUDIT_BUCKET_SHIFT)

/* seq after ?1 (the cursor), from the first row at or after ?2 to the last
 * row before ?3 (NULL, so no row, when there is none): one rowid range. */
#define AUDIT_SEQ_RANGE(col)                                                   \
	col " > max(?1, (SELECT seq FROM audit WHERE time >= ?2 ORDER BY "     \
	    "time, seq LIMIT 1) - 1) AND " col " <= (SELECT seq FROM audit "   \
	    "WHERE time < ?3 ORDER BY time DESC, seq DESC LIMIT 1)"

static const char *const stmt_sql[DB_STMT_COUNT] = {
    [DB_STMT_BEGIN] = "BEGIN IMMEDIATE",
    [DB_STMT_COMMIT] = "COMMIT",
    [DB_STMT_ROLLBACK] = "ROLLBACK",
    /* The registry's name is not joined in: the API layer has it from
	 * its per-thread registry cache (api_decision_lookup_insurer), which
	 * saves every lookup a second B-tree search. */
    [DB_STMT_PERSON_GET] =
	"SELECT " DB_PERSON_COLS_P " FROM persons p WHERE p.person_id = ?1",
    [DB_STMT_PERSON_UPSERT] =
	"INSERT INTO persons (" DB_PERSON_COLS ") " PERSON_VALUES
	" ON CONFLICT (person_id) DO UPDATE SET " PERSON_SET,
    /* an import's: insert if absent, else update if its etag differs */
    [DB_STMT_PERSON_INSERT_NEW] =
	"INSERT INTO persons (" DB_PERSON_COLS ") " PERSON_VALUES
	" ON CONFLICT (person_id) DO NOTHING",
    [DB_STMT_PERSON_UPDATE_CHANGED] = "UPDATE persons SET " PERSON_SET " "
				      "WHERE person_id = ?1 AND etag <> ?20",
    [DB_STMT_PERSON_DELETE] = "DELETE FROM persons WHERE person_id = ?1",
    [DB_STMT_PERSON_LIST] =
	"SELECT " DB_PERSON_COLS " FROM persons WHERE person_id > ?1 "
	"ORDER BY person_id LIMIT ?2",
    [DB_STMT_PERSON_LIST_FACILITY] =
	"SELECT " DB_PERSON_COLS " FROM persons WHERE facility_id = ?3 "
	"AND person_id > ?1 ORDER BY facility_id, person_id LIMIT ?2",
    [DB_STMT_INSURER_GET] =
	"SELECT " DB_INSURER_COLS " FROM insurers WHERE insurer_number = ?1",
    [DB_STMT_INSURER_UPSERT] =
	"INSERT INTO insurers (" DB_INSURER_COLS ") VALUES (?1, ?2, ?3, ?4, "
	"?5, ?6, ?7, ?8, ?9) ON CONFLICT (insurer_number) DO UPDATE SET "
	"name_ja = ?2, name_en = ?3, scheme = ?4, prefecture_code = ?5, "
	"address = ?6, phone = ?7, url = ?8, updated_at = ?9",
    [DB_STMT_INSURER_SEARCH] =
	"SELECT " DB_INSURER_COLS " FROM insurers WHERE insurer_number > ?1 "
	"AND (?3 IS NULL OR prefecture_code = ?3) AND (?4 IS NULL OR "
	"scheme = ?4) AND (?5 IS NULL OR instr(name_ja, ?5) > 0 OR "
	"instr(lower(name_en), lower(?5)) > 0 OR insurer_number = ?5) "
	"ORDER BY insurer_number LIMIT ?2",
    /* API keys: the hash is read only by KEY_GET (to verify), never
	 * listed. */
    [DB_STMT_KEY_INSERT] =
	"INSERT INTO api_keys (id, hash, role, facility_id, name, "
	"created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [DB_STMT_KEY_GET] = "SELECT " DB_KEY_COLS ", hash FROM api_keys "
			"WHERE id = ?1",
    [DB_STMT_KEY_LIST] = "SELECT " DB_KEY_COLS " FROM api_keys "
			 "ORDER BY created_at, id",
    [DB_STMT_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = ?2 "
			   "WHERE id = ?1 AND revoked_at IS NULL",
    /* Audit log.  A time range becomes a seq range first (time never
	 * decreases as seq grows, see 002_security.sql), found by two seeks
	 * in audit_by_time; the time test stays as a guard. */
    [DB_STMT_AUDIT_INSERT] =
	"INSERT INTO audit (time, key_id, request_id, method, route, "
	"person_ids, status, absent_ids) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	"?8)",
    [DB_STMT_AUDIT_PERSON_INSERT] =
	"INSERT OR IGNORE INTO audit_person (bucket, person_id, seq) "
	"VALUES (?2 >> " AUDIT_BUCKET_SHIFT ", ?1, ?2)",
    [DB_STMT_AUDIT_QUERY] =
	"SELECT " DB_AUDIT_COLS_A " FROM audit a WHERE " AUDIT_SEQ_RANGE(
	    "a.seq") " AND a.time >= ?2 AND a.time < ?3 "
		     "ORDER BY a.seq LIMIT ?4",
    [DB_STMT_AUDIT_QUERY_KEY] =
	"SELECT " DB_AUDIT_COLS_A
	" FROM audit a WHERE a.key_id = ?5 AND " AUDIT_SEQ_RANGE(
	    "a.seq") " AND a.time >= ?2 "
		     "AND a.time < ?3 ORDER BY a.seq LIMIT ?4",
    /* The rows after ?1 up to ?2 (the seq range) in one bucket. */
    [DB_STMT_AUDIT_QUERY_PERSON] =
	"SELECT " DB_AUDIT_COLS_A " FROM audit_person ap JOIN audit a ON "
	"a.seq = ap.seq WHERE ap.bucket = ?7 AND ap.person_id = ?6 AND "
	"ap.seq > ?1 AND ap.seq <= ?8 AND a.time >= ?2 AND a.time < ?3 "
	"AND (?5 IS NULL OR a.key_id = ?5) ORDER BY ap.seq LIMIT ?4",
    /* The seq range of a time range and a cursor: after the first, up to
	 * the second (NULL, no row, when there is none). */
    [DB_STMT_AUDIT_SEQ_RANGE] =
	"SELECT max(?1, (SELECT seq FROM audit WHERE time >= ?2 ORDER BY "
	"time, seq LIMIT 1) - 1), (SELECT seq FROM audit WHERE time < ?3 "
	"ORDER BY time DESC, seq DESC LIMIT 1)",
    [DB_STMT_AUDIT_MIN_SEQ] = "SELECT min(seq) FROM audit",
    [DB_STMT_AUDIT_EXPIRE_BOUND] = "SELECT seq FROM audit WHERE time < ?1 "
				   "ORDER BY time DESC, seq DESC LIMIT 1",
    [DB_STMT_AUDIT_EXPIRE] = "DELETE FROM audit WHERE seq <= ?1",
    [DB_STMT_AUDIT_PERSON_EXPIRE] =
	"DELETE FROM audit_person WHERE bucket <= (?1 >> " AUDIT_BUCKET_SHIFT
	") AND seq <= ?1",
    /* A key bound to facility ?2: always one row, the person's columns
	 * (NULL for another facility's person, as for an absent one: none of
	 * its columns is read) and whether the id is stored at all (for the
	 * audit log).  One statement: each one costs a read lock. */
    [DB_STMT_PERSON_GET_IN] =
	"SELECT " DB_PERSON_COLS_P ", CASE WHEN p.person_id IS NULL THEN "
	"EXISTS (SELECT 1 FROM persons WHERE person_id = ?1) ELSE 1 END "
	"FROM (SELECT 1) LEFT JOIN persons p ON p.person_id = ?1 AND "
	"p.facility_id = ?2",
    /* The audit file's pages in use and its page size (db_audit_bytes). */
    /* issue 17: the person cache's log (006_person_changes.sql); from
	 * the last row read on, so that its presence proves no gap */
    [DB_STMT_PERSON_CHANGE_ADD] =
	"INSERT INTO person_changes (person_id) VALUES (?1)",
    [DB_STMT_PERSON_CHANGE_TRIM] = "DELETE FROM person_changes WHERE seq <= ?1",
    [DB_STMT_PERSON_CHANGES] = "SELECT seq, person_id FROM person_changes "
			       "WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
    [DB_STMT_PERSON_CHANGE_LAST] =
	"SELECT coalesce(max(seq), 0) FROM person_changes",
    [DB_STMT_USED_PAGES] =
	"SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT "
	"freelist_count FROM pragma_freelist_count()), (SELECT page_size "
	"FROM pragma_page_size())",
};

/* Milliseconds a statement waits for another writer before DB_BUSY. */
#define BUSY_TIMEOUT_MS 2000

void dbsq_global_init(void)
{
	/* Memory statistics take a global mutex on every allocation: every
	 * connection's every statement would queue on it. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

enum db_result db_result_from(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW: return DB_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	/* another process holds the WAL index's locks and SQLite gave up
	 * waiting (about 10 s): as transient as a busy writer */
	case SQLITE_PROTOCOL: return DB_BUSY;
	case SQLITE_FULL:
	case SQLITE_IOERR:
		return rc == SQLITE_IOERR_WRITE || (rc & 0xff) == SQLITE_FULL
			   ? DB_FULL
			   : DB_ERROR;
	default: return DB_ERROR;
	}
}

bool dbsq_is_corruption(int rc)
{
	return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

enum db_result db_conn_result(struct db_conn *c, int rc)
{
	enum db_result r = db_result_from(rc);
	const char *msg;

	if (r != DB_ERROR && r != DB_FULL)
		return r;
	/* SQLite's message when it is about this code (it may have been
	 * replaced by a later call, such as a ROLLBACK), else the code's
	 * generic text. */
	msg = sqlite3_extended_errcode(c->h) == rc ? sqlite3_errmsg(c->h)
						   : sqlite3_errstr(rc);
	c->err_code = rc;
	snprintf(c->err_msg, sizeof c->err_msg, "%s", msg ? msg : "");
	if (dbsq_is_corruption(rc))
		db_mark_corrupt(c->db);
	return r;
}

int dbsq_conn_open(const char *path, struct db_conn **out, char *err,
		   size_t errlen)
{
	static const char pragmas[] =
	    "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = NORMAL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA temp_store = MEMORY;"
	    /* Erased persons leave no bytes behind in free pages. */
	    "PRAGMA secure_delete = ON;"
	    "PRAGMA cache_size = -8000;"
	    /* No memory map: the audit writer grows the file all the
		 * time, and every growth made each connection unmap and
		 * fault its map back in; measured with 1M persons, reads
		 * were as fast without it and peak RSS fell from 79 to
		 * 43 MiB (bench/results.json). */
	    "PRAGMA mmap_size = 0;";
	struct db_conn *c = NULL;
	char *msg = NULL;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = sqlite3_open_v2(path, &c->h,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(c->h, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(c->h, 1);
	rc = sqlite3_exec(c->h, pragmas, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		goto fail;
	*out = c;
	return 0;
fail:
	snprintf(err, errlen, "database %s: %s", path,
		 msg    ? msg
		 : c->h ? sqlite3_errmsg(c->h)
			: sqlite3_errstr(rc));
	sqlite3_free(msg);
	db_conn_close(c);
	return -1;
}

void dbsq_conn_close(struct db_conn *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < DB_STMT_COUNT; i++)
		sqlite3_finalize(c->stmts[i]);
	sqlite3_close(c->h);
	free(c);
}

sqlite3_stmt *db_stmt(struct db_conn *c, enum db_stmt_id id)
{
	sqlite3_stmt *s = c->stmts[id];

	int rc;

	if (!s) {
		rc = sqlite3_prepare_v3(c->h, stmt_sql[id], -1,
					SQLITE_PREPARE_PERSISTENT, &s, NULL);
		if (rc != SQLITE_OK) {
			/* a damaged schema page fails here, not in a step */
			(void)db_conn_result(c, rc);
			return NULL;
		}
		c->stmts[id] = s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

const char *dbsq_row_text(const void *row, int col, size_t *len)
{
	sqlite3_stmt *s = (sqlite3_stmt *)row;
	const unsigned char *t = sqlite3_column_text(s, col);

	if (!t)
		return NULL;
	*len = (size_t)sqlite3_column_bytes(s, col);
	return (const char *)t;
}

enum db_result dbsq_exec(struct db_conn *c, enum db_stmt_id id, int n,
			 const char *const *vals)
{
	sqlite3_stmt *s = db_stmt(c, id);
	int i, rc;

	if (!s)
		return DB_ERROR;
	for (i = 0; i < n; i++) {
		if (vals[i])
			sqlite3_bind_text(s, i + 1, vals[i], -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, i + 1);
	}
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return db_conn_result(c, rc);
}

void dbsq_copy_col(sqlite3_stmt *s, int col, char *dst, size_t dstlen)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(dst, dstlen, "%s", t ? (const char *)t : "");
}

void dbsq_bind_opt(sqlite3_stmt *s, int col, const char *v)
{
	if (v && *v)
		sqlite3_bind_text(s, col, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, col);
}

enum db_result dbsq_one(struct db_conn *c, sqlite3_stmt *s,
			enum db_result (*read)(sqlite3_stmt *s, void *out),
			void *out)
{
	int rc = sqlite3_step(s);
	enum db_result r;

	if (rc == SQLITE_ROW)
		r = read(s, out);
	else
		r = rc == SQLITE_DONE ? DB_NOT_FOUND : db_conn_result(c, rc);
	sqlite3_reset(s);
	return r;
}

enum db_result dbsq_get(struct db_conn *c, enum db_stmt_id id, const char *key,
			enum db_result (*read)(sqlite3_stmt *s, void *out),
			void *out)
{
	sqlite3_stmt *s = db_stmt(c, id);

	if (!s)
		return DB_ERROR;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	return dbsq_one(c, s, read, out);
}

enum db_result dbsq_each(struct db_conn *c, sqlite3_stmt *s,
			 int (*row)(sqlite3_stmt *s, void *arg), void *arg)
{
	int rc;

	if (!s)
		return DB_ERROR;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (row(s, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(s);
	return db_conn_result(c, rc);
}

static enum db_result step_once(struct db_conn *c, enum db_stmt_id id)
{
	sqlite3_stmt *s = db_stmt(c, id);
	int rc;

	if (!s)
		return DB_ERROR;
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return db_conn_result(c, rc);
}

enum db_result dbsq_begin(struct db_conn *c)
{
	c->changes_marked = false;
	return step_once(c, DB_STMT_BEGIN);
}

bool dbsq_in_tx(struct db_conn *c)
{
	return !sqlite3_get_autocommit(c->h);
}

/* Maps the -shm file's first region, where the WAL index header lives,
 * through the VFS's own xShmMap (the mapping SQLite itself reads), once
 * the connection is known to be in WAL mode. */
static bool wal_hdr_map(struct db_conn *c)
{
	sqlite3_stmt *s = NULL;
	sqlite3_file *f = NULL;
	void volatile *p = NULL;
	bool wal = false;

	if (sqlite3_prepare_v2(c->h, "PRAGMA journal_mode", -1, &s, NULL) ==
		SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		wal =
		    sqlite3_column_text(s, 0) &&
		    strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
	sqlite3_finalize(s);
	if (wal &&
	    sqlite3_file_control(c->h, "main", SQLITE_FCNTL_FILE_POINTER, &f) ==
		SQLITE_OK &&
	    f && f->pMethods && f->pMethods->iVersion >= 2 &&
	    f->pMethods->xShmMap &&
	    f->pMethods->xShmMap(f, 0, 32768, 0, &p) == SQLITE_OK && p)
		c->wal_hdr = (const volatile uint32_t *)p;
	/* Not WAL: never again.  WAL without a map yet: try next time. */
	c->wal_hdr_failed = !wal;
	return c->wal_hdr != NULL;
}

bool dbsq_store_version(struct db_conn *c, uint64_t *version, uint32_t *change)
{
	uint32_t a[12], b[12];
	int tries, i;

	if (!c->wal_hdr && (c->wal_hdr_failed || !wal_hdr_map(c)))
		return false;
	for (tries = 0; tries < 8; tries++) {
		/* The first copy, then the second (written in that order's
		 * reverse): equal copies are one committed header. */
		for (i = 0; i < 12; i++)
			a[i] = c->wal_hdr[i];
		atomic_thread_fence(memory_order_seq_cst);
		for (i = 0; i < 12; i++)
			b[i] = c->wal_hdr[12 + i];
		atomic_thread_fence(memory_order_seq_cst);
		/* isInit: the header's byte 12. */
		if (memcmp(a, b, sizeof a) == 0 && ((const uint8_t *)a)[12]) {
			*change = a[2];
			*version = base_fnv1a64(BASE_FNV64_INIT, a, sizeof a);
			return true;
		}
	}
	return false;
}

enum db_result dbsq_begin_read(struct db_conn *c)
{
	return db_conn_result(c, sqlite3_exec(c->h, "BEGIN", NULL, NULL, NULL));
}

enum db_result dbsq_commit(struct db_conn *c)
{
	return step_once(c, DB_STMT_COMMIT);
}

void dbsq_rollback(struct db_conn *c)
{
	if (!sqlite3_get_autocommit(c->h))
		step_once(c, DB_STMT_ROLLBACK);
}

static int read_user_version(sqlite3 *h, int *version)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &s, NULL);
	if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		*version = sqlite3_column_int(s, 0);
	else
		rc = SQLITE_ERROR;
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : -1;
}

/* A numbered set of migrations: the database's or the audit file's. */
struct migration_set {
	const char *const *sql;
};

static const struct migration_set main_set = {db_migrations};
static const struct migration_set audit_set = {db_audit_migrations};

static int set_count(const struct migration_set *m)
{
	return m == &main_set ? db_migrations_count : db_audit_migrations_count;
}

/* Applies the migrations of m after the file's user_version up to upto
 * (their count: all of them), all in one transaction: a failed upgrade
 * leaves the file as it was. */
static int migrate_conn(struct db_conn *c, const struct migration_set *m,
			int upto, int *from, int *to, char *err, size_t errlen)
{
	char *msg = NULL, set[64];
	int version = 0, i, count = set_count(m);

	/* A read first: when the schema is current nothing is written, so
	 * that a server restarted on a full disk still opens and reads (the
	 * version is read again under the write lock below: another
	 * process may migrate meanwhile). */
	if (read_user_version(c->h, &version) != 0)
		goto fail;
	if (version >= upto)
		goto checked;
	if (sqlite3_exec(c->h, "BEGIN IMMEDIATE", NULL, NULL, &msg) !=
	    SQLITE_OK)
		goto fail;
	if (read_user_version(c->h, &version) != 0)
		goto fail;
	if (version >= upto) {
		sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
		goto checked;
	}
	*from = version;
	for (i = version; i < upto; i++) {
		if (sqlite3_exec(c->h, m->sql[i], NULL, NULL, &msg) !=
		    SQLITE_OK)
			goto fail;
	}
	snprintf(set, sizeof set, "PRAGMA user_version = %d", upto);
	if (sqlite3_exec(c->h, set, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(c->h, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	*to = upto;
	return 0;
checked:
	*from = version;
	if (version > count) {
		snprintf(err, errlen,
			 "%s has schema version %d, newer than this build's "
			 "%d: use a newer shikakud",
			 m == &main_set ? "the database" : "the audit file",
			 version, count);
		return -1;
	}
	*to = version;
	return 0;
fail:
	snprintf(err, errlen, "migration of %s failed: %s",
		 m == &main_set ? "the database" : "the audit file",
		 msg ? msg : sqlite3_errmsg(c->h));
	sqlite3_free(msg);
	sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Creates the file with mode 0600 before SQLite does (SQLite would use the
 * umask, typically 0644); the -wal and -shm files copy its mode. */
static int create_private(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		snprintf(err, errlen, "database %s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* The index of the database's migration that drops its audit tables
 * (found by name: the number may change when migrations are merged). */
static int move_index(void)
{
	int i;

	for (i = 0; i < db_migrations_count; i++)
		if (strlen(db_migration_names[i]) > 4 &&
		    strcmp(db_migration_names[i] + 4, "audit_own_file") == 0)
			return i;
	return db_migrations_count; /* not reached: the build has it */
}

/* One integer that the SQL sql answers on h (-1 when it fails). */
static long long one_int(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Copies the attached src's audit rows into a's (in a's transaction);
 * *moved receives their count.  -1 with SQLite's message in *msg. */
static int copy_rows(struct db_conn *a, long long *moved, char **msg)
{
	/* seq kept: the rows stay in time order, and a cursor given out
	 * before still points where it did */
	if (sqlite3_exec(a->h,
			 "INSERT INTO main.audit (seq, time, key_id, "
			 "request_id, method, route, person_ids, "
			 "status) SELECT seq, time, key_id, "
			 "request_id, method, route, person_ids, "
			 "status FROM src.audit ORDER BY seq",
			 NULL, NULL, msg) != SQLITE_OK)
		return -1;
	*moved = sqlite3_changes(a->h);
	if (sqlite3_exec(a->h,
			 "INSERT INTO main.audit_person (bucket, "
			 "person_id, seq) SELECT bucket, person_id, "
			 "seq FROM src.audit_person",
			 NULL, NULL, msg) != SQLITE_OK)
		return -1;
	return 0;
}

/* Records in a that the move was made, with its count of rows. */
static int note_moved(struct db_conn *a, long long moved)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(
	    a->h,
	    "INSERT INTO main.audit_moved_in (moved_at, rows) VALUES "
	    "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?1)",
	    -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, moved);
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Step (2) of the move (db.h, db_migrate_all): copies the database's audit
 * rows into the audit file a, in one of a's transactions that also
 * records the copy, unless one was recorded before.  *moved receives the
 * rows copied now. */
static int move_rows(struct db_conn *a, const char *path, const char *apath,
		     long long *moved, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	char *msg = NULL;
	long long done, has, rows;
	int rc;

	*moved = 0;
	rc =
	    sqlite3_prepare_v2(a->h, "ATTACH DATABASE ?1 AS src", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "moving the audit log: %s",
			 sqlite3_errmsg(a->h));
		return -1;
	}
	if (sqlite3_exec(a->h, "BEGIN IMMEDIATE", NULL, NULL, &msg) !=
	    SQLITE_OK)
		goto fail;
	done = one_int(a->h, "SELECT count(*) FROM main.audit_moved_in");
	has = one_int(a->h, "SELECT count(*) FROM src.sqlite_schema WHERE "
			    "type = 'table' AND name = 'audit'");
	rows = one_int(a->h, "SELECT count(*) FROM main.audit");
	if (done < 0 || has < 0 || rows < 0)
		goto fail;
	if (done == 0 && has > 0 && rows > 0) {
		snprintf(err, errlen,
			 "the audit file %s holds audit rows but no record of "
			 "taking those of %s, which still has its own: they "
			 "are not one database (move the audit file aside, or "
			 "put back the pair of files of one backup)",
			 apath, path);
		sqlite3_exec(a->h, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_exec(a->h, "DETACH DATABASE src", NULL, NULL, NULL);
		return -1;
	}
	if (done == 0 && has > 0 && copy_rows(a, moved, &msg) != 0)
		goto fail;
	if (done == 0 && note_moved(a, *moved) != 0)
		goto fail;
	if (sqlite3_exec(a->h, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	sqlite3_exec(a->h, "DETACH DATABASE src", NULL, NULL, NULL);
	return 0;
fail:
	snprintf(err, errlen, "moving the audit log into %s failed: %s", apath,
		 msg ? msg : sqlite3_errmsg(a->h));
	sqlite3_free(msg);
	*moved = 0;
	sqlite3_exec(a->h, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_exec(a->h, "DETACH DATABASE src", NULL, NULL, NULL);
	return -1;
}

int dbsq_migrate_all(const char *path, struct db_start *out, char *err,
		     size_t errlen)
{
	struct db_conn *c = NULL, *a = NULL;
	char apath[4096];
	int mi = move_index(), mid = 0, rc = -1, ignored;

	memset(out, 0, sizeof *out);
	if (db_audit_path_for(path, apath, sizeof apath) != 0) {
		snprintf(err, errlen, "database path too long");
		return -1;
	}
	if (create_private(path, err, errlen) != 0)
		return -1;
	if (dbsq_conn_open(path, &c, err, errlen) != 0)
		return -1;
	/* (1) up to the move: the audit tables are then those of 003 */
	if (migrate_conn(c, &main_set, mi, &out->schema_from, &mid, err,
			 errlen) != 0)
		goto out;
	if (create_private(apath, err, errlen) != 0 ||
	    dbsq_conn_open(apath, &a, err, errlen) != 0 ||
	    migrate_conn(a, &audit_set, db_audit_migrations_count,
			 &out->audit_schema_from, &out->audit_schema_to, err,
			 errlen) != 0)
		goto out;
	/* absent, emptied, or never migrated, while the database had moved
	 * its rows out before */
	out->audit_file_was_missing =
	    out->audit_schema_from == 0 && out->schema_from > mi;
	/* (2) the rows across, when the database still has them */
	if (mid <= mi &&
	    move_rows(a, path, apath, &out->audit_rows_moved, err, errlen) != 0)
		goto out;
	/* (3) the drop and whatever follows */
	if (migrate_conn(c, &main_set, db_migrations_count, &ignored,
			 &out->schema_to, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	db_conn_close(a);
	db_conn_close(c);
	return rc;
}

struct db *dbsq_open(const char *path, char *err, size_t errlen)
{
	struct db_start start;
	struct stat st;
	bool was_empty;

	was_empty =
	    stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
	if (dbsq_migrate_all(path, &start, err, errlen) != 0)
		return NULL;
	/* 0 bytes and no schema (not a WAL holding all of it) */
	start.was_empty_file = was_empty && start.schema_from == 0;
	return db_handle_new(DB_KIND_SQLITE, path, &start, err, errlen);
}

enum db_result dbsq_ping(struct db_conn *c)
{
	sqlite3_stmt *s = NULL;
	int rc;

	/* A real page read: the schema version lives in the file's header
	 * and the sqlite_schema table on page 1. */
	rc = sqlite3_prepare_v2(c->h, "SELECT count(*) FROM sqlite_schema", -1,
				&s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? DB_OK : db_conn_result(c, rc);
}

/* Bytes of file and its WAL; -1 when file cannot be read. */
static long long file_and_wal(const char *file)
{
	char wal[4096];
	struct stat st;
	long long total;

	if (stat(file, &st) != 0)
		return -1;
	total = (long long)st.st_size;
	snprintf(wal, sizeof wal, "%s-wal", file);
	if (stat(wal, &st) == 0)
		total += (long long)st.st_size;
	return total;
}

long long dbsq_size_bytes(const struct db *db)
{
	long long main_bytes = file_and_wal(db->path);
	long long audit_bytes = file_and_wal(db->audit_path);

	if (main_bytes < 0)
		return -1;
	return main_bytes + (audit_bytes > 0 ? audit_bytes : 0);
}

long long dbsq_audit_size_bytes(const struct db *db)
{
	return file_and_wal(db->audit_path);
}

const char *db_sqlite_name(int code)
{
	static const char *const names[] = {
	    [SQLITE_OK] = "SQLITE_OK",
	    [SQLITE_ERROR] = "SQLITE_ERROR",
	    [SQLITE_INTERNAL] = "SQLITE_INTERNAL",
	    [SQLITE_PERM] = "SQLITE_PERM",
	    [SQLITE_ABORT] = "SQLITE_ABORT",
	    [SQLITE_BUSY] = "SQLITE_BUSY",
	    [SQLITE_LOCKED] = "SQLITE_LOCKED",
	    [SQLITE_NOMEM] = "SQLITE_NOMEM",
	    [SQLITE_READONLY] = "SQLITE_READONLY",
	    [SQLITE_INTERRUPT] = "SQLITE_INTERRUPT",
	    [SQLITE_IOERR] = "SQLITE_IOERR",
	    [SQLITE_CORRUPT] = "SQLITE_CORRUPT",
	    [SQLITE_NOTFOUND] = "SQLITE_NOTFOUND",
	    [SQLITE_FULL] = "SQLITE_FULL",
	    [SQLITE_CANTOPEN] = "SQLITE_CANTOPEN",
	    [SQLITE_PROTOCOL] = "SQLITE_PROTOCOL",
	    [SQLITE_EMPTY] = "SQLITE_EMPTY",
	    [SQLITE_SCHEMA] = "SQLITE_SCHEMA",
	    [SQLITE_TOOBIG] = "SQLITE_TOOBIG",
	    [SQLITE_CONSTRAINT] = "SQLITE_CONSTRAINT",
	    [SQLITE_MISMATCH] = "SQLITE_MISMATCH",
	    [SQLITE_MISUSE] = "SQLITE_MISUSE",
	    [SQLITE_NOLFS] = "SQLITE_NOLFS",
	    [SQLITE_AUTH] = "SQLITE_AUTH",
	    [SQLITE_FORMAT] = "SQLITE_FORMAT",
	    [SQLITE_RANGE] = "SQLITE_RANGE",
	    [SQLITE_NOTADB] = "SQLITE_NOTADB",
	};
	size_t primary = (size_t)(code & 0xff);

	if (primary < sizeof names / sizeof names[0] && names[primary])
		return names[primary];
	return "SQLITE_UNKNOWN";
}

/* ---- the start-up check ------------------------------------------------ */

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int check_progress(void *arg)
{
	/* non-zero interrupts the statement (SQLITE_INTERRUPT) */
	return mono_ms() >= *(const long long *)arg;
}

void dbsq_quick_check(struct db *db, unsigned budget_ms, struct db_check *out)
{
	struct db_conn *c = NULL;
	sqlite3_stmt *s = NULL;
	const char *line;
	long long start = mono_ms(), deadline = start + budget_ms;
	char err[256];
	int rc;

	memset(out, 0, sizeof *out);
	/* A connection of its own: the pages it reads leave with it instead
	 * of filling a request thread's cache. */
	if (dbsq_conn_open(db->path, &c, err, sizeof err) != 0) {
		out->result = DB_CHECK_FAILED;
		snprintf(out->first, sizeof out->first, "%s", err);
		goto out;
	}
	sqlite3_progress_handler(c->h, 1000, check_progress, &deadline);
	rc = sqlite3_prepare_v2(c->h, "PRAGMA quick_check", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(s)) {
		line = (const char *)sqlite3_column_text(s, 0);
		if (line && strcmp(line, "ok") == 0)
			continue;
		if (out->problems++ == 0)
			snprintf(out->first, sizeof out->first, "%s",
				 line ? line : "");
	}
	if (rc == SQLITE_INTERRUPT) {
		out->result = DB_CHECK_CUT_SHORT;
	} else if (out->problems > 0 || dbsq_is_corruption(rc)) {
		out->result = DB_CHECK_DAMAGED;
		if (rc != SQLITE_DONE) {
			out->code = sqlite3_extended_errcode(c->h);
			if (out->problems++ == 0)
				snprintf(out->first, sizeof out->first, "%s",
					 sqlite3_errmsg(c->h));
		}
		db_mark_corrupt(db);
	} else if (rc != SQLITE_DONE) {
		out->result = DB_CHECK_FAILED;
		out->code = sqlite3_extended_errcode(c->h);
		snprintf(out->first, sizeof out->first, "%s",
			 sqlite3_errmsg(c->h));
	}
out:
	sqlite3_finalize(s);
	db_conn_close(c);
	out->elapsed_ms = mono_ms() - start;
}
