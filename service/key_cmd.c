/* key_cmd.c - `shikakud key ...`: make, list and revoke API keys. */
#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/text.h"
#include "db/db.h"
#include "db/key_db.h"
#include "service/args.h"
#include "service/key_cmd.h"

static const char usage_key[] =
    "usage: shikakud key create --db FILE --role ROLE [--facility ID] "
    "[--name TEXT]\n"
    "       shikakud key list --db FILE\n"
    "       shikakud key revoke --db FILE ID\n"
    "\n"
    "Makes, lists and revokes the API keys that every /v1 request needs\n"
    "(Authorization: Bearer KEY).  See each command's --help.\n";

static const char usage_create[] =
    "usage: shikakud key create --db FILE --role ROLE [--facility ID] "
    "[--name TEXT]\n"
    "\n"
    "Makes a new key and prints it alone on the first line of stdout.  It\n"
    "is shown this once: only a hash of it is stored.  Its id, role and\n"
    "facility follow on stderr.\n"
    "\n"
    "flags:\n"
    "  --db FILE        the database (default $SHIKAKU_DB); created and\n"
    "                   migrated when needed\n"
    "  --role ROLE      reader (evaluate, batch, read), writer (+ persons\n"
    "                   write, import) or admin (+ insurers write, audit)\n"
    "  --facility ID    bind the key to one facility: it sees only that\n"
    "                   facility's persons (1-64 of A-Z a-z 0-9 . _ -)\n"
    "                   (reader and writer keys only)\n"
    "  --name TEXT      a note for `key list` (who holds the key): one\n"
    "                   line, no control characters\n"
    "  -h, --help       this text\n"
    "\n"
    "Neither ID nor TEXT may hold an individual number (個人番号), read as\n"
    "requests are (full-width and other digits, any separators).\n";

static const char usage_list[] =
    "usage: shikakud key list --db FILE\n"
    "\n"
    "Lists the keys: id, role, facility, name, created, revoked.  Never a\n"
    "key nor its hash.\n"
    "\n"
    "flags:\n"
    "  --db FILE   the database (default $SHIKAKU_DB)\n"
    "  -h, --help  this text\n";

static const char usage_revoke[] =
    "usage: shikakud key revoke --db FILE ID\n"
    "\n"
    "Revokes key ID (see `key list`).  It is refused from the next request\n"
    "on, also by a running server.  Revoking a revoked key changes "
    "nothing.\n"
    "\n"
    "flags:\n"
    "  --db FILE   the database (default $SHIKAKU_DB)\n"
    "  -h, --help  this text\n";

struct key_args {
	const char *db, *role, *facility, *name, *id;
	bool help;
};

static int usage_error(const char *usage, const char *what)
{
	fprintf(stderr, "shikakud: %s\n\n", what);
	fputs(usage, stderr);
	return 2;
}

static bool is_help(const char *a)
{
	return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

/* The flags of key create; list and revoke have only the first. */
static const struct args_flag key_flags[] = {
    {"--db", true}, {"--role", true}, {"--facility", true}, {"--name", true}};

struct key_read {
	struct key_args *a;
	bool with_id;
};

static int key_arg(void *p, int i, const char *value, char *err, size_t errlen)
{
	struct key_read *kr = p;
	const char **dst[] = {&kr->a->db, &kr->a->role, &kr->a->facility,
			      &kr->a->name};

	if (i != ARGS_POSITIONAL) {
		*dst[i] = value;
		return 0;
	}
	if (!kr->with_id || kr->a->id) {
		snprintf(err, errlen, "unexpected argument %.60s", value);
		return -1;
	}
	kr->a->id = value;
	return 0;
}

/* Reads the flags of a subcommand (argv[0] is its name); with_id: one
 * positional ID.  Returns 0 or -1 with a message in err. */
static int args_read(int argc, char *const argv[], bool create, bool with_id,
		     struct key_args *a, char *err, size_t errlen)
{
	struct key_read kr = {a, with_id};

	memset(a, 0, sizeof *a);
	switch (args_parse(argc - 1, argv + 1, key_flags, create ? 4 : 1,
			   key_arg, &kr, err, errlen)) {
	case ARGS_HELP: a->help = true; return 0;
	case ARGS_USAGE: return -1;
	case ARGS_OK: break;
	}
	if (!a->db)
		a->db = getenv("SHIKAKU_DB");
	if (!a->db || !*a->db) {
		snprintf(err, errlen, "--db FILE (or SHIKAKU_DB) is required");
		return -1;
	}
	if (with_id && !a->id) {
		snprintf(err, errlen, "the key id is required");
		return -1;
	}
	return 0;
}

static bool id_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= DB_KEY_FACILITY_MAX ||
		    !((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return i > 0;
}

/* A name is a note on one line: no control character (nor a bidi
 * override: `key list` prints it to a terminal), at most DB_KEY_NAME_MAX
 * bytes. */
static bool name_ok(const char *s)
{
	return strlen(s) <= DB_KEY_NAME_MAX &&
	       !api_text_has_control(s, strlen(s));
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Opens (creating and migrating) the database and this thread's
 * connection.  Returns the db (new) or NULL, having said why. */
static struct db *open_db(const char *path, struct db_conn **c)
{
	char err[256];
	struct db *db = db_open(path, err, sizeof err);

	if (!db) {
		fprintf(stderr, "shikakud: %s\n", err);
		return NULL;
	}
	*c = db_conn_get(db);
	if (!*c) {
		fprintf(stderr, "shikakud: database %s cannot be opened\n",
			path);
		db_close(db);
		return NULL;
	}
	return db;
}

static const char *db_error_text(enum db_result r)
{
	switch (r) {
	case DB_BUSY:
		return "the database is busy (another writer holds it): retry";
	case DB_FULL: return "the database cannot grow (disk full)";
	default: return "the database failed";
	}
}

/* Reads the arguments of list, or of revoke (with_id), and opens the
 * database: NULL with the exit status in *status (a usage error's, 0
 * after --help, 1 when the database cannot be opened). */
static struct db *args_open(int argc, char *const argv[], bool with_id,
			    const char *usage, struct key_args *a,
			    struct db_conn **c, int *status)
{
	char err[160];

	*status = 1;
	if (args_read(argc, argv, false, with_id, a, err, sizeof err) != 0) {
		*status = usage_error(usage, err);
		return NULL;
	}
	if (a->help) {
		fputs(usage, stdout);
		*status = 0;
		return NULL;
	}
	return open_db(a->db, c);
}

static int cmd_create(int argc, char *const argv[])
{
	char err[160], key[DB_KEY_TOKEN_LEN + 1];
	struct db_conn *c = NULL;
	struct db *db = NULL;
	struct key_args a;
	enum db_key_role role;
	enum db_result r;
	struct db_key k;
	int status = 1;

	if (args_read(argc, argv, true, false, &a, err, sizeof err) != 0)
		return usage_error(usage_create, err);
	if (a.help) {
		fputs(usage_create, stdout);
		return 0;
	}
	if (!a.role)
		return usage_error(usage_create, "--role is required");
	role = db_key_role_from_name(a.role);
	if (role == DB_KEY_ROLE_NONE)
		return usage_error(usage_create,
				   "--role is reader, writer or admin");
	/* SPEC §8: the same reading as a request's (never echoed). */
	if ((a.facility &&
	     api_is_individual_number(a.facility, strlen(a.facility))) ||
	    (a.name && api_text_has_individual_number(a.name, strlen(a.name))))
		return usage_error(
		    usage_create, "an individual number (個人番号) is never "
				  "accepted: not as --facility, not in --name");
	/* The registry and the audit log are no facility's (issue 12). */
	if (role == DB_KEY_ROLE_ADMIN && a.facility)
		return usage_error(usage_create,
				   "--role admin takes no --facility: the "
				   "insurer registry and the audit log belong "
				   "to every facility");
	if (a.facility && !id_ok(a.facility))
		return usage_error(usage_create,
				   "--facility is 1-64 characters of A-Z a-z "
				   "0-9 . _ -");
	if (a.name && !name_ok(a.name))
		return usage_error(usage_create,
				   "--name is one line of at most 200 bytes, "
				   "without control characters");
	db = open_db(a.db, &c);
	if (!db)
		return 1;
	r = db_key_create(c, role, a.facility, a.name, now_seconds(), key, &k);
	if (r != DB_OK) {
		fprintf(stderr, "shikakud: no key made: %s\n",
			db_error_text(r));
		goto out;
	}
	/* The key alone on stdout's first line, for KEY=$(shikakud key
	 * create ...); what describes it goes to stderr. */
	if (printf("%s\n", key) < 0 || fflush(stdout) != 0) {
		fprintf(stderr,
			"shikakud: the key could not be written out; "
			"revoke it: shikakud key revoke %s\n",
			k.id);
		goto out;
	}
	fprintf(stderr,
		"key %s made: role %s, facility %s%s%s.  It is shown only "
		"this once.\n",
		k.id, db_key_role_name(k.role),
		k.facility_id[0] ? k.facility_id : "(all)",
		k.name[0] ? ", name " : "", k.name);
	status = 0;
out:
	gnutls_memset(key, 0, sizeof key);
	db_close(db);
	return status;
}

static int list_row(const struct db_key *k, void *arg)
{
	int *n = arg;

	printf("%-12s  %-6s  %-16s  %-25s  %-25s  %s\n", k->id,
	       db_key_role_name(k->role) ? db_key_role_name(k->role) : "?",
	       k->facility_id[0] ? k->facility_id : "-", k->created_at,
	       k->revoked_at[0] ? k->revoked_at : "-",
	       k->name[0] ? k->name : "-");
	(*n)++;
	return 0;
}

static int cmd_list(int argc, char *const argv[])
{
	struct db_conn *c = NULL;
	struct db *db;
	struct key_args a;
	enum db_result r;
	int n = 0, status;

	db = args_open(argc, argv, false, usage_list, &a, &c, &status);
	if (!db)
		return status;
	printf("%-12s  %-6s  %-16s  %-25s  %-25s  %s\n", "ID", "ROLE",
	       "FACILITY", "CREATED", "REVOKED", "NAME");
	r = db_key_list(c, list_row, &n);
	db_close(db);
	if (r != DB_OK) {
		fprintf(stderr, "shikakud: %s\n", db_error_text(r));
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static int cmd_revoke(int argc, char *const argv[])
{
	struct db_conn *c = NULL;
	struct db *db;
	struct key_args a;
	enum db_result r;
	struct db_key k;
	int status;

	db = args_open(argc, argv, true, usage_revoke, &a, &c, &status);
	if (!db)
		return status;
	r = db_key_revoke(c, a.id, now_seconds(), &k);
	db_close(db);
	if (r == DB_NOT_FOUND) {
		fprintf(stderr,
			"shikakud: no key has the id %.64s (see key "
			"list)\n",
			a.id);
		return 1;
	}
	if (r != DB_OK) {
		fprintf(stderr, "shikakud: %s\n", db_error_text(r));
		return 1;
	}
	printf("key %s revoked at %s\n", k.id, k.revoked_at);
	return 0;
}

int key_cmd_main(int argc, char *const argv[])
{
	if (argc < 2)
		return usage_error(usage_key, "key: create, list or revoke?");
	if (is_help(argv[1])) {
		fputs(usage_key, stdout);
		return 0;
	}
	if (strcmp(argv[1], "create") == 0)
		return cmd_create(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "revoke") == 0)
		return cmd_revoke(argc - 1, argv + 1);
	return usage_error(usage_key, "key: create, list or revoke?");
}
