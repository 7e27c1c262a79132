/* db.c - the store's handle and connections, written once for both kinds:
 * opening, per-thread connections, sessions, errors; each function
 * dispatches to db/sqlite/db.c (dbsq_) or db/pg/db.c (dbpg_). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/internal.h"
#include "db/person_cache.h"

#define KIND_OF(c) ((c)->kind)

void db_global_init(void)
{
	dbsq_global_init();
}

bool db_is_uri(const char *target)
{
	return target && (strncmp(target, "postgresql://", 13) == 0 ||
			  strncmp(target, "postgres://", 11) == 0);
}

/* Copies n bytes of s to out at *o (cut to outlen - 1). */
static void put(char *out, size_t outlen, size_t *o, const char *s, size_t n)
{
	while (n-- > 0 && *o + 1 < outlen)
		out[(*o)++] = *s++;
	out[*o] = '\0';
}

/* A URI's query parameter password=...: its value replaced. */
static void redact_query(const char *q, char *out, size_t outlen, size_t *o)
{
	size_t n;

	while (*q) {
		n = strcspn(q, "&");
		if (strncmp(q, "password=", 9) == 0) {
			put(out, outlen, o, "password=***", 12);
		} else {
			put(out, outlen, o, q, n);
		}
		q += n;
		if (*q == '&')
			put(out, outlen, o, q++, 1);
	}
}

void db_target_redact(const char *target, char *out, size_t outlen)
{
	const char *rest, *at, *colon, *end, *q;
	size_t o = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (!target)
		return;
	if (!db_is_uri(target)) {
		put(out, outlen, &o, target, strlen(target));
		return;
	}
	rest = strstr(target, "://") + 3;
	put(out, outlen, &o, target, (size_t)(rest - target));
	/* the authority: [user[:password]@]host... up to / ? or # */
	end = rest + strcspn(rest, "/?#");
	at = NULL;
	for (q = rest; q < end; q++)
		if (*q == '@')
			at = q; /* the last one: a password may hold '@' */
	if (at) {
		colon = memchr(rest, ':', (size_t)(at - rest));
		if (colon) {
			put(out, outlen, &o, rest, (size_t)(colon - rest));
			put(out, outlen, &o, ":***", 4);
			rest = at;
		}
	}
	q = strchr(rest, '?');
	if (!q) {
		put(out, outlen, &o, rest, strlen(rest));
		return;
	}
	put(out, outlen, &o, rest, (size_t)(q + 1 - rest));
	redact_query(q + 1, out, outlen, &o);
}

struct db *db_handle_new(enum db_kind kind, const char *target,
			 const struct db_start *start, char *err, size_t errlen)
{
	struct db *db = calloc(1, sizeof *db);
	size_t n = strlen(target) + 1;

	if (!db || !(db->path = strdup(target)) ||
	    !(db->shown = malloc(n + 16)))
		goto oom;
	db->kind = kind;
	db_target_redact(target, db->shown, n + 16);
	if (kind == DB_KIND_SQLITE) {
		db->audit_path = malloc(n + sizeof "-audit");
		if (!db->audit_path)
			goto oom;
		db_audit_path_for(target, db->audit_path, n + sizeof "-audit");
	}
	db->start = *start;
	if (pthread_key_create(&db->key, NULL) != 0)
		goto nokey;
	if (pthread_key_create(&db->audit_key, NULL) != 0) {
		pthread_key_delete(db->key);
		goto nokey;
	}
	pthread_mutex_init(&db->lock, NULL);
	return db;
nokey:
	snprintf(err, errlen, "no thread key left");
	goto free;
oom:
	snprintf(err, errlen, "out of memory");
free:
	if (db) {
		free(db->audit_path);
		free(db->shown);
		free(db->path);
	}
	free(db);
	return NULL;
}

struct db *db_open(const char *target, char *err, size_t errlen)
{
	return db_is_uri(target) ? dbpg_open(target, err, errlen)
				 : dbsq_open(target, err, errlen);
}

void db_start_info(const struct db *db, struct db_start *out)
{
	*out = db->start;
}

void db_close(struct db *db)
{
	struct db_conn *c, *next;

	if (!db)
		return;
	db_warm_stop(db->warm);
	if (db->kind == DB_KIND_PG)
		dbpg_db_close(db);
	for (c = db->conns; c; c = next) {
		next = c->next;
		db_conn_close(c);
	}
	pthread_key_delete(db->key);
	pthread_key_delete(db->audit_key);
	pthread_mutex_destroy(&db->lock);
	person_cache_free(atomic_load(&db->pcache));
	free(db->audit_path);
	free(db->shown);
	free(db->path);
	free(db);
}

int db_person_cache_configure(struct db *db, size_t bytes)
{
	struct person_cache *pc = bytes ? person_cache_new(bytes) : NULL;

	person_cache_free(atomic_exchange(&db->pcache, pc));
	return pc || bytes == 0 ? 0 : -1;
}

bool db_person_cache_stats(struct db *db, struct person_cache_stats *out)
{
	struct person_cache *pc = atomic_load(&db->pcache);

	if (!pc)
		return false;
	person_cache_stats(pc, out);
	return true;
}

struct person_cache *db_person_cache(const struct db_conn *c)
{
	return c->db
		   ? atomic_load_explicit(&c->db->pcache, memory_order_acquire)
		   : NULL;
}

bool db_store_version(struct db_conn *c, uint64_t *version, uint32_t *change)
{
	return KIND_OF(c) == DB_KIND_PG
		   ? dbpg_store_version(c, version, change)
		   : dbsq_store_version(c, version, change);
}

bool db_in_tx(struct db_conn *c)
{
	return KIND_OF(c) == DB_KIND_PG ? dbpg_in_tx(c) : dbsq_in_tx(c);
}

int db_migrate_all(const char *target, struct db_start *out, char *err,
		   size_t errlen)
{
	return db_is_uri(target) ? dbpg_migrate_all(target, out, err, errlen)
				 : dbsq_migrate_all(target, out, err, errlen);
}

int db_migrate(const char *target, int *from, int *to, char *err, size_t errlen)
{
	struct db_start st;

	if (db_migrate_all(target, &st, err, errlen) != 0)
		return -1;
	*from = st.schema_from;
	*to = st.schema_to;
	return 0;
}

int db_audit_path_for(const char *path, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s-audit", path);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

const char *db_audit_path(const struct db *db)
{
	return db->audit_path;
}

const char *db_audit_target(const struct db *db)
{
	return db->kind == DB_KIND_PG ? db->path : db->audit_path;
}

const char *db_path(const struct db *db)
{
	return db->path;
}

const char *db_shown(const struct db *db)
{
	return db->shown;
}

bool db_pool_stats(const struct db *db, long *open, unsigned long *errors)
{
	struct db *m = (struct db *)db;

	if (db->kind != DB_KIND_PG)
		return false;
	*open = atomic_load(&m->pg.open_conns);
	*errors = atomic_load(&m->pg.conn_errors);
	return true;
}

void db_conn_adopt(struct db *db, struct db_conn *c)
{
	c->db = db;
	pthread_mutex_lock(&db->lock);
	c->next = db->conns;
	db->conns = c;
	pthread_mutex_unlock(&db->lock);
}

/* The calling thread's connection (its key: key), opened on first use and
 * listed for db_close. */
static struct db_conn *thread_conn(struct db *db, pthread_key_t key,
				   const char *file)
{
	struct db_conn *c = pthread_getspecific(key);
	char err[256];
	int rc;

	if (c)
		return c;
	rc = db->kind == DB_KIND_PG
		 ? dbpg_conn_open(db, file, false, &c, err, sizeof err)
		 : dbsq_conn_open(file, &c, err, sizeof err);
	if (rc != 0)
		return NULL;
	db_conn_adopt(db, c);
	pthread_setspecific(key, c);
	return c;
}

struct db_conn *db_conn_get(struct db *db)
{
	return thread_conn(db, db->key, db->path);
}

struct db_conn *db_audit_conn_get(struct db *db)
{
	/* PostgreSQL: the audit log is a table of the same database */
	if (db->kind == DB_KIND_PG)
		return db_conn_get(db);
	return thread_conn(db, db->audit_key, db->audit_path);
}

int db_conn_open_own(struct db *db, struct db_conn **out, char *err,
		     size_t errlen)
{
	if (db->kind == DB_KIND_PG)
		return dbpg_conn_open(db, db->path, true, out, err, errlen);
	return dbsq_conn_open(db->path, out, err, errlen);
}

int db_conn_open(const char *target, struct db_conn **out, char *err,
		 size_t errlen)
{
	if (db_is_uri(target))
		return dbpg_conn_open(NULL, target, true, out, err, errlen);
	return dbsq_conn_open(target, out, err, errlen);
}

void db_conn_close(struct db_conn *c)
{
	if (!c)
		return;
	if (KIND_OF(c) == DB_KIND_PG)
		dbpg_conn_close(c);
	else
		dbsq_conn_close(c);
}

enum db_result db_begin(struct db_conn *c)
{
	return KIND_OF(c) == DB_KIND_PG ? dbpg_begin(c) : dbsq_begin(c);
}

enum db_result db_begin_read(struct db_conn *c)
{
	return KIND_OF(c) == DB_KIND_PG ? dbpg_begin_read(c)
					: dbsq_begin_read(c);
}

enum db_result db_commit(struct db_conn *c)
{
	return KIND_OF(c) == DB_KIND_PG ? dbpg_commit(c) : dbsq_commit(c);
}

void db_rollback(struct db_conn *c)
{
	if (KIND_OF(c) == DB_KIND_PG)
		dbpg_rollback(c);
	else
		dbsq_rollback(c);
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

enum db_result db_ping(struct db_conn *c)
{
	if (c->db && db_corrupt(c->db))
		return DB_ERROR;
	return KIND_OF(c) == DB_KIND_PG ? dbpg_ping(c) : dbsq_ping(c);
}

/* ---- damage ------------------------------------------------------------ */

void db_mark_corrupt(struct db *db)
{
	if (db)
		atomic_store_explicit(&db->corrupt, true, memory_order_release);
}

void db_on_error(struct db *db, void (*fn)(void *arg, const struct db_error *e),
		 void *arg)
{
	db->on_error = fn;
	db->on_error_arg = arg;
}

bool db_corrupt(const struct db *db)
{
	return atomic_load_explicit(&((struct db *)db)->corrupt,
				    memory_order_acquire);
}

void db_error_report(struct db *db, struct db_conn *c, const char *request_id,
		     const char *route)
{
	struct db_error e = {0};

	e.request_id = request_id;
	e.route = route;
	if (c && c->err_code) {
		e.code = c->err_code;
		e.message = c->err_msg;
		if (KIND_OF(c) == DB_KIND_PG) {
			e.name = c->sqlstate[0] ? c->sqlstate : "PG_CONNECTION";
		} else {
			e.name = db_sqlite_name(c->err_code);
			e.corrupt = dbsq_is_corruption(c->err_code);
		}
	}
	if (db && db->on_error)
		db->on_error(db->on_error_arg, &e);
	if (c)
		c->err_code = 0;
}

void db_quick_check(struct db *db, unsigned budget_ms, struct db_check *out)
{
	if (db->kind == DB_KIND_PG) {
		memset(out, 0, sizeof *out);
		out->result = DB_CHECK_OK;
		return;
	}
	dbsq_quick_check(db, budget_ms, out);
}

long long db_size_bytes(const struct db *db)
{
	return db->kind == DB_KIND_PG ? -1 : dbsq_size_bytes(db);
}

long long db_audit_size_bytes(const struct db *db)
{
	return db->kind == DB_KIND_PG ? -1 : dbsq_audit_size_bytes(db);
}

int db_schema_version(void)
{
	return db_migrations_count;
}

int db_audit_schema_version(void)
{
	return db_audit_migrations_count;
}
