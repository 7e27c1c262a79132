/* insurer_db.h - the insurer registry (SPEC §5): names and contacts. */
#ifndef SHIKAKU_DB_INSURER_DB_H
#define SHIKAKU_DB_INSURER_DB_H

#include <stdbool.h>

#include "db/db.h"
#include "rules/rules.h"

struct db_insurer {
	char number[9];
	char name_ja[160]; /* "" = none */
	char name_en[160];
	enum rules_scheme scheme; /* UNKNOWN = not recorded */
	int prefecture;           /* 0 = not recorded */
	char address[400];
	char phone[40];
	char url[400];
	char updated_at[32];
};

void db_insurer_init(struct db_insurer *ins);

/* DB_OK, DB_NOT_FOUND or an error.  An 8-digit number beginning 00 and
 * its 6 digits are the same insurer (out->number is the 6 digits). */
enum db_result db_insurer_get(struct db_conn *c, const char *number,
			      struct db_insurer *out);

/* Inserts or replaces the whole row (updated_at set from now; a 00-padded
 * number is stored, and left in ins->number, as its 6 digits).  *created
 * tells which.  In its own transaction unless in_tx. */
enum db_result db_insurer_put(struct db_conn *c, struct db_insurer *ins,
			      bool in_tx, double now, bool *created);

/* Calls fn for up to limit insurers with number > after, in number order,
 * matching each filter that is set (prefecture > 0, scheme != UNKNOWN,
 * q != NULL: part of a name, or the number).  fn returns 0 to go on. */
enum db_result db_insurer_search(struct db_conn *c, const char *after,
				 int limit, int prefecture,
				 enum rules_scheme scheme, const char *q,
				 int (*fn)(const struct db_insurer *, void *),
				 void *arg);

#endif
