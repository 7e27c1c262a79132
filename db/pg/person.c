/* person.c - the PostgreSQL store's persons. */
#include "db/internal.h"

enum db_result dbpg_person_get(struct db_conn *c, const char *id,
			       struct db_person *out)
{
	(void)id, (void)out;
	return dbpg_unsupported(c, "persons");
}

enum db_result dbpg_person_get_in(struct db_conn *c, const char *id,
				  const char *facility, struct db_person *out,
				  bool *stored)
{
	(void)id, (void)facility, (void)out, (void)stored;
	return dbpg_unsupported(c, "persons");
}

enum db_result dbpg_person_put_if(struct db_conn *c, struct db_person *p,
				  const char *if_match,
				  const char *if_none_match, bool in_tx,
				  double now, enum db_put_outcome *outcome)
{
	(void)p, (void)if_match, (void)if_none_match, (void)in_tx, (void)now,
	    (void)outcome;
	return dbpg_unsupported(c, "persons");
}

enum db_result dbpg_person_delete(struct db_conn *c, const char *id,
				  const char *if_match)
{
	(void)id, (void)if_match;
	return dbpg_unsupported(c, "persons");
}

enum db_result dbpg_person_list(struct db_conn *c, const char *facility_id,
				const char *after, int limit,
				int (*fn)(const struct db_person *, void *),
				void *arg, char *last)
{
	(void)facility_id, (void)after, (void)limit, (void)fn, (void)arg;
	last[0] = '\0';
	return dbpg_unsupported(c, "persons");
}
