/* rules_diff.c - `shikakud rules diff`: who changes answer under candidate
 * parameters (SPEC §4), before an operator applies a policy change such
 * as a new provisional end date. */
#include "service/rules_diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "base/json_str.h"
#include "db/db.h"
#include "db/person_db.h"
#include "rules/rules.h"
#include "service/args.h"

static const char usage[] =
    "usage: shikakud rules diff --db FILE --rules NEW [--current FILE]\n"
    "                           [--as-of DATE] [--facility ID] [--json]\n"
    "\n"
    "Decides every stored person under the parameters in force and under\n"
    "the candidate rules file NEW, and reports who changes answer\n"
    "(entitlement, or whether an application is required): the count of\n"
    "each transition, then the list; and how many persons' next change\n"
    "(what changes next and when, within each file's horizon) moves.\n"
    "Changes nothing.\n"
    "\n"
    "flags:\n"
    "  --db FILE       the database (env SHIKAKU_DB)\n"
    "  --rules NEW     the candidate rules file (checked as `rules check`)\n"
    "  --current FILE  the rules file in force (env SHIKAKU_RULES; default:\n"
    "                  the built-in parameters)\n"
    "  --as-of DATE    decide on this date (default: today in Asia/Tokyo)\n"
    "  --facility ID   only this facility's persons\n"
    "  --json          one JSON document on stdout instead of the table\n"
    "  -h, --help      this text\n"
    "\n"
    "Exit 0 when the comparison ran (whatever it found), 1 on an error,\n"
    "2 on a usage error.\n";

#define MAX_STATES (RULES_ENT_COUNT * 2)

struct change {
	char person_id[DB_ID_MAX + 1];
	char facility_id[DB_ID_MAX + 1];
	int from, to; /* state = entitlement * 2 + application_required */
};

struct diff {
	const struct rules_params *cur, *cand;
	int32_t as_of;
	size_t persons, undecidable;
	size_t next_moved; /* whose next_change differs */
	size_t counts[MAX_STATES][MAX_STATES];
	struct change *changes;
	size_t n_changes, cap;
	bool oom;
};

static int state_of(const struct rules_decision *d)
{
	return (int)d->entitlement * 2 + (d->application_required ? 1 : 0);
}

#define STATE_NAME_MAX 40

static void state_name(int s, char out[STATE_NAME_MAX])
{
	snprintf(out, STATE_NAME_MAX, "%s%s",
		 rules_entitlement_name((enum rules_entitlement)(s / 2)),
		 s % 2 ? "+apply" : "");
}

/* Does next_change say something else under the candidate: another day,
 * or another answer that day? */
static bool next_change_moved(const struct rules_next_change *a,
			      const struct rules_next_change *b)
{
	if (a->date != b->date)
		return true;
	return a->date != RULES_NO_DATE &&
	       (a->status != b->status || a->entitlement != b->entitlement ||
		a->application_required != b->application_required);
}

static int diff_row(const struct db_person *p, void *arg)
{
	struct diff *df = arg;
	struct rules_decision a, b;
	struct change *c;

	df->persons++;
	if (rules_decide(&p->facts, df->as_of, df->cur, &a) != 0 ||
	    rules_decide(&p->facts, df->as_of, df->cand, &b) != 0) {
		/* born after as_of: no decision under either */
		df->undecidable++;
		return 0;
	}
	df->counts[state_of(&a)][state_of(&b)]++;
	if (next_change_moved(&a.next_change, &b.next_change))
		df->next_moved++;
	if (state_of(&a) == state_of(&b))
		return 0;
	if (df->n_changes == df->cap) {
		size_t cap = df->cap ? df->cap * 2 : 256;
		struct change *n = realloc(df->changes, cap * sizeof *n);

		if (!n) {
			df->oom = true;
			return 1;
		}
		df->changes = n;
		df->cap = cap;
	}
	c = &df->changes[df->n_changes++];
	snprintf(c->person_id, sizeof c->person_id, "%s", p->person_id);
	snprintf(c->facility_id, sizeof c->facility_id, "%s", p->facility_id);
	c->from = state_of(&a);
	c->to = state_of(&b);
	return 0;
}

/* The first transition (from one state to another, by some person) at or
 * after *k (from * MAX_STATES + to), its states' names and count; *k moves
 * past it.  False after the last. */
static bool next_transition(const struct diff *df, int *k,
			    char from[STATE_NAME_MAX], char to[STATE_NAME_MAX],
			    size_t *count)
{
	for (; *k < MAX_STATES * MAX_STATES; ++*k) {
		int f = *k / MAX_STATES, t = *k % MAX_STATES;

		if (f == t || !df->counts[f][t])
			continue;
		state_name(f, from);
		state_name(t, to);
		*count = df->counts[f][t];
		++*k;
		return true;
	}
	return false;
}

/* Change i, its states' names into from and to. */
static const struct change *change_at(const struct diff *df, size_t i,
				      char from[STATE_NAME_MAX],
				      char to[STATE_NAME_MAX])
{
	const struct change *c = &df->changes[i];

	state_name(c->from, from);
	state_name(c->to, to);
	return c;
}

/* Ids are [A-Za-z0-9._-], but the file names may hold anything. */
static void json_str(const char *s)
{
	base_json_fputs(s, stdout);
}

static void print_json(const struct diff *df, const char *cur_src,
		       const char *cand_src)
{
	char date[11], from[STATE_NAME_MAX], to[STATE_NAME_MAX];
	size_t i, n;
	int k;
	bool first = true;

	rules_date_format(df->as_of, date);
	printf("{\"as_of\":\"%s\",\"current\":", date);
	json_str(cur_src);
	printf(",\"candidate\":");
	json_str(cand_src);
	printf(",\"persons\":%zu,\"undecidable\":%zu,\"changed\":%zu,"
	       "\"next_change_moved\":%zu,\"transitions\":[",
	       df->persons, df->undecidable, df->n_changes, df->next_moved);
	for (k = 0; next_transition(df, &k, from, to, &n); first = false)
		printf("%s{\"from\":\"%s\",\"to\":\"%s\",\"count\":%zu}",
		       first ? "" : ",", from, to, n);
	printf("],\"changes\":[");
	for (i = 0; i < df->n_changes; i++) {
		const struct change *c = change_at(df, i, from, to);

		printf("%s{\"person_id\":\"%s\",\"facility_id\":", i ? "," : "",
		       c->person_id);
		if (c->facility_id[0])
			json_str(c->facility_id);
		else
			printf("null");
		printf(",\"from\":\"%s\",\"to\":\"%s\"}", from, to);
	}
	printf("]}\n");
}

static void print_table(const struct diff *df, const char *cur_src,
			const char *cand_src)
{
	char date[11], from[STATE_NAME_MAX], to[STATE_NAME_MAX];
	size_t i, n;
	int k;

	rules_date_format(df->as_of, date);
	printf("rules diff as of %s: %zu persons, %zu change answer\n", date,
	       df->persons, df->n_changes);
	printf("  current:   %s\n  candidate: %s\n", cur_src, cand_src);
	printf("  %zu whose next change moves\n", df->next_moved);
	if (df->undecidable)
		printf("  (%zu born after %s: no decision either way)\n",
		       df->undecidable, date);
	if (!df->n_changes)
		return;
	printf("\n%-26s    %-26s %8s\n", "current", "candidate", "persons");
	for (k = 0; next_transition(df, &k, from, to, &n);)
		printf("%-26s -> %-26s %8zu\n", from, to, n);
	printf("\n%-20s %-16s %s\n", "person_id", "facility", "change");
	for (i = 0; i < df->n_changes; i++) {
		const struct change *c = change_at(df, i, from, to);

		printf("%-20s %-16s %s -> %s\n", c->person_id,
		       c->facility_id[0] ? c->facility_id : "-", from, to);
	}
}

static int usage_error(const char *what)
{
	fprintf(stderr, "shikakud: rules diff: %s\n\n%s", what, usage);
	return 2;
}

enum { F_DB, F_RULES, F_CURRENT, F_AS_OF, F_FACILITY, F_JSON };
static const struct args_flag diff_flags[] = {
    [F_DB] = {"--db", true},
    [F_RULES] = {"--rules", true},
    [F_CURRENT] = {"--current", true},
    [F_AS_OF] = {"--as-of", true},
    [F_FACILITY] = {"--facility", true},
    [F_JSON] = {"--json", false}};

struct diff_args {
	const char *v[F_JSON]; /* the values, by flag */
	bool json;
};

static int diff_arg(void *p, int i, const char *value, char *err, size_t errlen)
{
	struct diff_args *da = p;

	if (i == ARGS_POSITIONAL) {
		snprintf(err, errlen, "unknown argument '%.60s'", value);
		return -1;
	}
	if (i == F_JSON)
		da->json = true;
	else
		da->v[i] = value;
	return 0;
}

/* Decides every person of db (of facility, NULL: all) under both rule
 * sets into df; -1 with the reason on stderr. */
static int diff_all(struct db *db, const char *db_file, const char *facility,
		    struct diff *df)
{
	char after[DB_ID_MAX + 1] = "", last[DB_ID_MAX + 1];
	enum db_result r = DB_OK;
	struct db_conn *c = db_conn_get(db);

	if (!c) {
		fprintf(stderr, "shikakud: %s: cannot be read\n", db_file);
		return -1;
	}
	/* In pages, so that a million persons never sit in memory at once
	 * (only those who change do). */
	for (;;) {
		size_t before = df->persons;

		r = db_person_list(c, facility, after, 1000, diff_row, df,
				   last);
		if (r != DB_OK || df->oom || df->persons - before < 1000)
			break;
		memcpy(after, last, sizeof after);
	}
	if (r != DB_OK || df->oom) {
		fprintf(stderr, "shikakud: %s: %s\n", db_file,
			df->oom ? "out of memory" : "the database failed");
		return -1;
	}
	return 0;
}

int rules_diff_main(int argc, char *const argv[])
{
	struct diff_args da = {{NULL}, false};
	const char *db_file, *cand_file, *cur_file, *as_of_text;
	struct api_ruleset cur, cand;
	struct diff df;
	struct db *db = NULL;
	char err[256];
	int rc = 1;

	da.v[F_DB] = getenv("SHIKAKU_DB");
	da.v[F_CURRENT] = getenv("SHIKAKU_RULES");
	switch (args_parse(argc, argv, diff_flags,
			   sizeof diff_flags / sizeof diff_flags[0], diff_arg,
			   &da, err, sizeof err)) {
	case ARGS_HELP: return fputs(usage, stdout), 0;
	case ARGS_USAGE: return usage_error(err);
	case ARGS_OK: break;
	}
	db_file = da.v[F_DB];
	cand_file = da.v[F_RULES];
	cur_file = da.v[F_CURRENT];
	as_of_text = da.v[F_AS_OF];
	if (!db_file || !*db_file)
		return usage_error("--db FILE is needed");
	if (!cand_file)
		return usage_error("--rules NEW is needed");
	if (access(db_file, R_OK) != 0) {
		fprintf(stderr, "shikakud: %s: no such database\n", db_file);
		return 1;
	}
	memset(&df, 0, sizeof df);
	if (as_of_text) {
		if (rules_date_parse(as_of_text, strlen(as_of_text),
				     &df.as_of) != 0)
			return usage_error("--as-of is not a date YYYY-MM-DD");
	} else {
		df.as_of = rules_date_tokyo((int64_t)time(NULL));
	}
	if (api_ruleset_load(cur_file && *cur_file ? cur_file : NULL, &cur, err,
			     sizeof err) != 0 ||
	    api_ruleset_load(cand_file, &cand, err, sizeof err) != 0) {
		fprintf(stderr, "shikakud: %s\n", err);
		return 1;
	}
	df.cur = &cur.params;
	df.cand = &cand.params;
	db = db_open(db_file, err, sizeof err);
	if (!db) {
		fprintf(stderr, "shikakud: %s\n", err);
		return 1;
	}
	if (diff_all(db, db_file, da.v[F_FACILITY], &df) != 0)
		goto out;
	if (da.json)
		print_json(&df, cur_file && *cur_file ? cur_file : "default",
			   cand_file);
	else
		print_table(&df, cur_file && *cur_file ? cur_file : "default",
			    cand_file);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	free(df.changes);
	db_close(db);
	return rc;
}
