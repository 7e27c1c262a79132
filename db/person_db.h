/* person_db.h - the person cache: a person's facts with who/when checked.
 *
 * All functions take the calling thread's connection (db_conn_get).
 */
#ifndef SHIKAKU_DB_PERSON_DB_H
#define SHIKAKU_DB_PERSON_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "rules/rules.h"

#define DB_ID_MAX           64
#define DB_DISPLAY_NAME_MAX 400 /* bytes of UTF-8 (100 characters) */

enum db_source {
	DB_SOURCE_NONE = 0,
	DB_SOURCE_MYNAPORTAL,
	DB_SOURCE_CARD_READER,
	DB_SOURCE_INSURER_NOTICE,
	DB_SOURCE_SELF_REPORT,
	DB_SOURCE_OTHER,
	DB_SOURCE_COUNT
};

struct db_person {
	char person_id[DB_ID_MAX + 1];
	char facility_id[DB_ID_MAX + 1];            /* "" = none */
	char display_name[DB_DISPLAY_NAME_MAX + 1]; /* "" = none */
	struct rules_facts facts;
	int32_t verified_at; /* RULES_NO_DATE = none */
	enum db_source source;
	char etag[17];       /* 16 hex digits of the content's hash */
	char updated_at[32]; /* "2026-01-01T09:00:00+09:00" */
};

enum db_put_outcome { DB_PUT_CREATED, DB_PUT_REPLACED, DB_PUT_UNCHANGED };

/* JSON spelling of a source; NULL for NONE.  from_name: -1 if unknown. */
const char *db_source_name(enum db_source s);
int db_source_from_name(const char *s);

void db_person_init(struct db_person *p);

/* Reads person id into *out.  DB_OK, DB_NOT_FOUND, or an error. */
enum db_result db_person_get(struct db_conn *c, const char *id,
			     struct db_person *out);

/* db_person_get as a key bound to facility sees it (NULL: every
 * facility).  A person stored under another facility is DB_NOT_FOUND
 * exactly like an absent one, and takes the same work: its row is not
 * read, *out not written.  *stored (may be NULL) receives whether the id
 * is stored at all, under any facility: for the audit log only (SPEC §8
 * audits requests naming stored persons), never for an answer.  Both
 * kinds of miss run the same statement and the same two seeks. */
enum db_result db_person_get_in(struct db_conn *c, const char *id,
				const char *facility, struct db_person *out,
				bool *stored);

/* Preconditions are checked inside the write's transaction, against the
 * stored etag.  A tag list is NULL (no condition), "*" (any stored
 * record), or bare tags (no quotes) separated by ',' - "" being the empty
 * list, which nothing matches.  HTTP parsing is the caller's. */

/* Stores p (its etag and updated_at are set here; now = POSIX seconds).
 * if_match: the stored record must exist and, unless "*", have one of
 * these tags; create_only: If-None-Match: * (no record may exist).  A
 * precondition that fails is DB_PRECONDITION, with the stored etag ("" when
 * there is no record) copied into p->etag.  An identical record is left
 * alone (DB_PUT_UNCHANGED, with the stored etag and updated_at copied into
 * p).  In its own transaction unless in_tx (then the caller holds one). */
enum db_result db_person_put(struct db_conn *c, struct db_person *p,
			     const char *if_match, bool create_only, bool in_tx,
			     double now, enum db_put_outcome *outcome);

/* db_person_put with a full If-None-Match: if_none_match "*" is
 * create_only; a tag list fails when the stored record has one of them. */
enum db_result db_person_put_if(struct db_conn *c, struct db_person *p,
				const char *if_match, const char *if_none_match,
				bool in_tx, double now,
				enum db_put_outcome *outcome);

/* Erases the person (the row is gone).  DB_NOT_FOUND, DB_PRECONDITION
 * (if_match given and not matching) or DB_OK. */
enum db_result db_person_delete(struct db_conn *c, const char *id,
				const char *if_match);

/* Does the tag list (see above) hold etag?  "*" holds every tag. */
bool db_etag_in_list(const char *list, const char *etag);

/* Calls fn for up to limit persons with person_id > after ("" = from the
 * start) in person_id order, of facility_id when it is not NULL.  The row
 * handed to fn is borrowed for the call; it has no registry data.  fn
 * returns 0 to go on, 1 to stop.  *last receives the last person_id
 * read ("" when none). */
enum db_result db_person_list(struct db_conn *c, const char *facility_id,
			      const char *after, int limit,
			      int (*fn)(const struct db_person *, void *),
			      void *arg, char last[DB_ID_MAX + 1]);

/* What db_person_list_peek asks before reading a whole row: a row's id
 * and etag (both borrowed for the call).  Answers DB_PEEK_READ to have
 * the row read and handed to fn, DB_PEEK_NEXT to go on without it,
 * DB_PEEK_STOP to stop (the row counts as read: *last names it). */
enum db_peek { DB_PEEK_READ, DB_PEEK_NEXT, DB_PEEK_STOP };
typedef enum db_peek (*db_person_peek_fn)(const char *id, const char *etag,
					  void *arg);

/* db_person_list, with peek (NULL: none) asked first about each row. */
enum db_result db_person_list_peek(struct db_conn *c, const char *facility_id,
				   const char *after, int limit,
				   db_person_peek_fn peek,
				   int (*fn)(const struct db_person *, void *),
				   void *arg, char last[DB_ID_MAX + 1]);

#endif
