/* db.c - open, pragmas, migrations, per-thread connections, statements. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/internal.h"

#define PERSON_COLS                                                            \
	"person_id, facility_id, display_name, birth_date, insurer_number, "   \
	"scheme, mynumber_card, insurance_registration, ecert_expiry, "        \
	"card_expiry, care_needs, setting, legacy_card_expiry, "               \
	"certificate_status, certificate_basis, certificate_applied_on, "      \
	"certificate_valid_until, verified_at, source, etag, updated_at"

#define PERSON_COLS_P                                                          \
	"p.person_id, p.facility_id, p.display_name, p.birth_date, "           \
	"p.insurer_number, p.scheme, p.mynumber_card, "                        \
	"p.insurance_registration, p.ecert_expiry, p.card_expiry, "            \
	"p.care_needs, p.setting, p.legacy_card_expiry, "                      \
	"p.certificate_status, p.certificate_basis, "                          \
	"p.certificate_applied_on, p.certificate_valid_until, "                \
	"p.verified_at, p.source, p.etag, p.updated_at"

#define INSURER_COLS                                                           \
	"insurer_number, name_ja, name_en, scheme, prefecture_code, address, " \
	"phone, url, updated_at"

#define KEY_COLS "id, role, facility_id, name, created_at, revoked_at"

#define AUDIT_COLS                                                             \
	"a.seq, a.time, a.key_id, a.request_id, a.method, a.route, "           \
	"a.person_ids, a.status, a.absent_ids"

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
	"SELECT " PERSON_COLS_P " FROM persons p WHERE p.person_id = ?1",
    [DB_STMT_PERSON_UPSERT] =
	"INSERT INTO persons (" PERSON_COLS ") VALUES (?1, ?2, ?3, ?4, "
	"?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
	"?18, ?19, ?20, ?21) ON CONFLICT (person_id) DO UPDATE SET "
	"facility_id = ?2, display_name = ?3, birth_date = ?4, "
	"insurer_number = ?5, scheme = ?6, mynumber_card = ?7, "
	"insurance_registration = ?8, ecert_expiry = ?9, card_expiry = "
	"?10, care_needs = ?11, setting = ?12, legacy_card_expiry = ?13, "
	"certificate_status = ?14, certificate_basis = ?15, "
	"certificate_applied_on = ?16, certificate_valid_until = ?17, "
	"verified_at = ?18, source = ?19, etag = ?20, updated_at = ?21",
    [DB_STMT_PERSON_DELETE] = "DELETE FROM persons WHERE person_id = ?1",
    [DB_STMT_PERSON_LIST] =
	"SELECT " PERSON_COLS " FROM persons WHERE person_id > ?1 "
	"ORDER BY person_id LIMIT ?2",
    [DB_STMT_PERSON_LIST_FACILITY] =
	"SELECT " PERSON_COLS " FROM persons WHERE facility_id = ?3 "
	"AND person_id > ?1 ORDER BY facility_id, person_id LIMIT ?2",
    [DB_STMT_INSURER_GET] =
	"SELECT " INSURER_COLS " FROM insurers WHERE insurer_number = ?1",
    [DB_STMT_INSURER_UPSERT] =
	"INSERT INTO insurers (" INSURER_COLS ") VALUES (?1, ?2, ?3, ?4, "
	"?5, ?6, ?7, ?8, ?9) ON CONFLICT (insurer_number) DO UPDATE SET "
	"name_ja = ?2, name_en = ?3, scheme = ?4, prefecture_code = ?5, "
	"address = ?6, phone = ?7, url = ?8, updated_at = ?9",
    [DB_STMT_INSURER_SEARCH] =
	"SELECT " INSURER_COLS " FROM insurers WHERE insurer_number > ?1 "
	"AND (?3 IS NULL OR prefecture_code = ?3) AND (?4 IS NULL OR "
	"scheme = ?4) AND (?5 IS NULL OR instr(name_ja, ?5) > 0 OR "
	"instr(lower(name_en), lower(?5)) > 0 OR insurer_number = ?5) "
	"ORDER BY insurer_number LIMIT ?2",
    /* API keys: the hash is read only by KEY_GET (to verify), never
	 * listed. */
    [DB_STMT_KEY_INSERT] =
	"INSERT INTO api_keys (id, hash, role, facility_id, name, "
	"created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [DB_STMT_KEY_GET] = "SELECT " KEY_COLS ", hash FROM api_keys "
			"WHERE id = ?1",
    [DB_STMT_KEY_LIST] = "SELECT " KEY_COLS " FROM api_keys "
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
	"SELECT " AUDIT_COLS " FROM audit a WHERE " AUDIT_SEQ_RANGE(
	    "a.seq") " AND a.time >= ?2 AND a.time < ?3 "
		     "ORDER BY a.seq LIMIT ?4",
    [DB_STMT_AUDIT_QUERY_KEY] =
	"SELECT " AUDIT_COLS
	" FROM audit a WHERE a.key_id = ?5 AND " AUDIT_SEQ_RANGE(
	    "a.seq") " AND a.time >= ?2 "
		     "AND a.time < ?3 ORDER BY a.seq LIMIT ?4",
    /* The rows after ?1 up to ?2 (the seq range) in one bucket. */
    [DB_STMT_AUDIT_QUERY_PERSON] =
	"SELECT " AUDIT_COLS " FROM audit_person ap JOIN audit a ON "
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
	"SELECT " PERSON_COLS_P ", CASE WHEN p.person_id IS NULL THEN "
	"EXISTS (SELECT 1 FROM persons WHERE person_id = ?1) ELSE 1 END "
	"FROM (SELECT 1) LEFT JOIN persons p ON p.person_id = ?1 AND "
	"p.facility_id = ?2",
    /* Pages in use and the page size: what a transaction's writes took. */
    [DB_STMT_USED_PAGES] =
	"SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT "
	"freelist_count FROM pragma_freelist_count()), (SELECT page_size "
	"FROM pragma_page_size())",
    /* The bytes of one table or index (the dbstat virtual table). */
    [DB_STMT_AUDIT_TABLE_BYTES] = "SELECT coalesce(sum(pgsize), 0) FROM "
				  "dbstat WHERE name = ?1 AND aggregate = 1",
};

struct db {
	char *path;
	atomic_ulong registry_generation;
	pthread_key_t key;
	pthread_mutex_t lock; /* guards conns: taken once per thread */
	struct db_conn *conns;
};

/* Milliseconds a statement waits for another writer before DB_BUSY. */
#define BUSY_TIMEOUT_MS 2000

void db_global_init(void)
{
	/* Memory statistics take a global mutex on every allocation: every
	 * connection's every statement would queue on it. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int db_schema_version(void)
{
	return db_migrations_count;
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

int db_conn_open(const char *path, struct db_conn **out, char *err,
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

void db_conn_close(struct db_conn *c)
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

	if (!s) {
		if (sqlite3_prepare_v3(c->h, stmt_sql[id], -1,
				       SQLITE_PREPARE_PERSISTENT, &s,
				       NULL) != SQLITE_OK)
			return NULL;
		c->stmts[id] = s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static enum db_result step_once(struct db_conn *c, enum db_stmt_id id)
{
	sqlite3_stmt *s = db_stmt(c, id);
	int rc;

	if (!s)
		return DB_ERROR;
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return db_result_from(rc);
}

enum db_result db_begin(struct db_conn *c)
{
	return step_once(c, DB_STMT_BEGIN);
}

enum db_result db_commit(struct db_conn *c)
{
	return step_once(c, DB_STMT_COMMIT);
}

void db_rollback(struct db_conn *c)
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

/* Applies every migration after the file's user_version, all in one
 * transaction: a failed upgrade leaves the file as it was. */
static int migrate_conn(struct db_conn *c, int *from, int *to, char *err,
			size_t errlen)
{
	char *msg = NULL, set[64];
	int version = 0, i;

	if (sqlite3_exec(c->h, "BEGIN IMMEDIATE", NULL, NULL, &msg) !=
	    SQLITE_OK)
		goto fail;
	if (read_user_version(c->h, &version) != 0)
		goto fail;
	*from = version;
	if (version > db_migrations_count) {
		snprintf(err, errlen,
			 "the database has schema version %d, newer than this "
			 "build's %d: use a newer shikakud",
			 version, db_migrations_count);
		sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	for (i = version; i < db_migrations_count; i++) {
		if (sqlite3_exec(c->h, db_migrations[i], NULL, NULL, &msg) !=
		    SQLITE_OK)
			goto fail;
	}
	snprintf(set, sizeof set, "PRAGMA user_version = %d",
		 db_migrations_count);
	if (sqlite3_exec(c->h, set, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(c->h, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	*to = db_migrations_count;
	return 0;
fail:
	snprintf(err, errlen, "migration failed: %s",
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

int db_migrate(const char *path, int *from, int *to, char *err, size_t errlen)
{
	struct db_conn *c = NULL;
	int rc;

	if (create_private(path, err, errlen) != 0)
		return -1;
	if (db_conn_open(path, &c, err, errlen) != 0)
		return -1;
	rc = migrate_conn(c, from, to, err, errlen);
	db_conn_close(c);
	return rc;
}

struct db *db_open(const char *path, char *err, size_t errlen)
{
	struct db *db = NULL;
	int from, to;

	if (db_migrate(path, &from, &to, err, errlen) != 0)
		return NULL;
	db = calloc(1, sizeof *db);
	if (!db || !(db->path = strdup(path))) {
		free(db);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (pthread_key_create(&db->key, NULL) != 0) {
		free(db->path);
		free(db);
		snprintf(err, errlen, "no thread key left");
		return NULL;
	}
	pthread_mutex_init(&db->lock, NULL);
	return db;
}

const char *db_path(const struct db *db)
{
	return db->path;
}

struct db_conn *db_conn_get(struct db *db)
{
	struct db_conn *c = pthread_getspecific(db->key);
	char err[256];

	if (c)
		return c;
	if (db_conn_open(db->path, &c, err, sizeof err) != 0)
		return NULL;
	pthread_mutex_lock(&db->lock);
	c->next = db->conns;
	db->conns = c;
	pthread_mutex_unlock(&db->lock);
	pthread_setspecific(db->key, c);
	return c;
}

void db_close(struct db *db)
{
	struct db_conn *c, *next;

	if (!db)
		return;
	for (c = db->conns; c; c = next) {
		next = c->next;
		db_conn_close(c);
	}
	pthread_key_delete(db->key);
	pthread_mutex_destroy(&db->lock);
	free(db->path);
	free(db);
}

enum db_result db_ping(struct db_conn *c)
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
	return rc == SQLITE_ROW ? DB_OK : db_result_from(rc);
}

long long db_size_bytes(const struct db *db)
{
	char wal[4096];
	struct stat st;
	long long total;

	if (stat(db->path, &st) != 0)
		return -1;
	total = (long long)st.st_size;
	snprintf(wal, sizeof wal, "%s-wal", db->path);
	if (stat(wal, &st) == 0)
		total += (long long)st.st_size;
	return total;
}

unsigned long db_registry_generation(const struct db *db)
{
	return atomic_load_explicit(&((struct db *)db)->registry_generation,
				    memory_order_acquire);
}

void db_registry_touch(struct db *db)
{
	atomic_fetch_add_explicit(&db->registry_generation, 1,
				  memory_order_release);
}
