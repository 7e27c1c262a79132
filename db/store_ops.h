/* store_ops.h - the operations both stores implement, listed once: each
 * store's header declares them under its prefix (dbsq_ in
 * db/sqlite/sqlite.h, dbpg_ in db/pg/pg.h) by expanding DB_STORE_OPS with
 * a macro X(ret, name, params).  What each one means is the public
 * function's of the same name (db/db.h and db/<area>_db.h), unless said
 * here; a store's own functions stay in its header. */
#ifndef SHIKAKU_DB_STORE_OPS_H
#define SHIKAKU_DB_STORE_OPS_H

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

/* Declares prefix##name with its return type and parameters. */
#define DB_STORE_DECLARE(prefix, ret, name, params) ret prefix##name params;

#define DB_STORE_OPS(X)                                                          \
	/* ---- db.c: open (migrating), connections, transactions */             \
	X(struct db *, open, (const char *target, char *err, size_t errlen))     \
	X(int, migrate_all,                                                      \
	  (const char *target, struct db_start *out, char *err,                  \
	   size_t errlen))                                                       \
	X(void, conn_close, (struct db_conn * c))                                \
	X(enum db_result, begin, (struct db_conn * c))                           \
	X(bool, in_tx, (struct db_conn * c))                                     \
	/* The person cache's version (db_store_version). */                     \
	X(bool, store_version,                                                   \
	  (struct db_conn * c, uint64_t * version, uint32_t * change))           \
	X(enum db_result, begin_read, (struct db_conn * c))                      \
	X(enum db_result, commit, (struct db_conn * c))                          \
	X(void, rollback, (struct db_conn * c))                                  \
	X(enum db_result, ping, (struct db_conn * c))                            \
	/* ---- person.c */                                                      \
	X(enum db_result, person_get,                                            \
	  (struct db_conn * c, const char *id, struct db_person *out))           \
	X(enum db_result, person_get_in,                                         \
	  (struct db_conn * c, const char *id, const char *facility,             \
	   struct db_person *out, bool *stored))                                 \
	X(enum db_result, person_put_if,                                         \
	  (struct db_conn * c, struct db_person * p, const char *if_match,       \
	   const char *if_none_match, bool in_tx, double now,                    \
	   enum db_put_outcome *outcome))                                        \
	/* SQLite: inside the caller's transaction (db_person_delete begins    \
	 * it). */ \
	X(enum db_result, person_delete,                                         \
	  (struct db_conn * c, const char *id, const char *if_match))            \
	X(enum db_result, person_list,                                           \
	  (struct db_conn * c, const char *facility_id, const char *after,       \
	   int limit, db_person_peek_fn peek,                                    \
	   int (*fn)(const struct db_person *, void *), void *arg,               \
	   char *last))                                                          \
	/* ---- insurer.c */                                                     \
	X(enum db_result, insurer_get,                                           \
	  (struct db_conn * c, const char *number, struct db_insurer *out))      \
	X(enum db_result, insurer_put,                                           \
	  (struct db_conn * c, struct db_insurer * ins, bool in_tx,              \
	   double now, bool *created))                                           \
	X(enum db_result, insurer_search,                                        \
	  (struct db_conn * c, const char *after, int limit, int prefecture,     \
	   enum rules_scheme scheme, const char *q,                              \
	   int (*fn)(const struct db_insurer *, void *), void *arg))             \
	/* ---- key.c: rows only (db/key_db.c has the rest) */                   \
	/* DB_PRECONDITION when the id is taken. */                              \
	X(enum db_result, key_insert,                                            \
	  (struct db_conn * c, const struct db_key *k,                           \
	   const unsigned char hash[DB_KEY_HASH_LEN]))                           \
	/* DB_NOT_FOUND, or DB_OK with the row and its hash. */                  \
	X(enum db_result, key_get,                                               \
	  (struct db_conn * c, const char *id, struct db_key *out,               \
	   unsigned char hash[DB_KEY_HASH_LEN]))                                 \
	X(enum db_result, key_list,                                              \
	  (struct db_conn * c, int (*fn)(const struct db_key *, void *),         \
	   void *arg))                                                           \
	/* Revokes at when (a Tokyo time text) unless revoked before. */         \
	X(enum db_result, key_revoke,                                            \
	  (struct db_conn * c, const char *id, const char *when,                 \
	   struct db_key *out))                                                  \
	/* ---- session.c: rows only (db/session_db.c has the rest) */           \
	/* Deletes every session last seen before idle_before or opened        \
	 * before max_before, then inserts one (hash of its token) opened and  \
	 * seen now. */ \
	X(enum db_result, session_insert,                                        \
	  (struct db_conn * c, const unsigned char *hash, const char *key_id,    \
	   const char *csrf, double now, double idle_before,                     \
	   double max_before))                                                   \
	/* The session of hash with its key's role and facility now:           \
	 * DB_NOT_FOUND when there is none or its key is revoked. */ \
	X(enum db_result, session_lookup,                                        \
	  (struct db_conn * c, const unsigned char *hash,                        \
	   struct db_session *out))                                              \
	X(enum db_result, session_touch,                                         \
	  (struct db_conn * c, const unsigned char *hash, double now))           \
	/* DB_OK also when there was none. */                                    \
	X(enum db_result, session_remove,                                        \
	  (struct db_conn * c, const unsigned char *hash))                       \
	/* ---- audit.c */                                                       \
	X(enum db_result, audit_insert,                                          \
	  (struct db_conn * c, const struct audit_record *recs, size_t n))       \
	X(enum db_result, audit_bytes, (struct db_conn * c, long long *bytes))   \
	X(enum db_result, audit_query,                                           \
	  (struct db_conn * c, const struct db_audit_filter *f,                  \
	   int (*fn)(const struct db_audit_row *, void *), void *arg))           \
	X(enum db_result, audit_expire,                                          \
	  (struct db_conn * c, const char *before, long long *deleted))

#endif
