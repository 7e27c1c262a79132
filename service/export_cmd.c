/* export_cmd.c - `shikakud export`; see export_cmd.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/export.h"
#include "api/text.h"
#include "db/db.h"
#include "service/args.h"
#include "service/export_cmd.h"

static const char usage_export[] =
    "usage: shikakud export --db DB [--insurers] [--facility ID] "
    "[--output FILE]\n"
    "\n"
    "Writes the stored persons (or, with --insurers, the insurer registry)\n"
    "as NDJSON, one object a line in id order, exactly as `shikakud import`\n"
    "and POST /v1/persons:import (/v1/insurers:import) read it: to move a\n"
    "store, e.g. from SQLite to PostgreSQL, export both and import the\n"
    "insurers, then the persons.  Each person keeps its ETag (a hash of\n"
    "its content); updated_at becomes the import's time.  The export is\n"
    "one read of the database: writes made meanwhile are in it entirely\n"
    "or not at all.\n"
    "\n"
    "flags:\n"
    "  --db DB          the database: a SQLite file or a postgresql:// URI\n"
    "                   (env SHIKAKU_DB)\n"
    "  --insurers       the insurer registry instead of the persons\n"
    "  --facility ID    only the persons of facility ID\n"
    "  --output FILE    write FILE (mode 0600, replaced only once the\n"
    "                   export is whole) instead of stdout\n"
    "  -h, --help       this text\n"
    "\n"
    "The lines hold persons' facts: keep the file as you keep the database.\n"
    "Prints the number of lines on stderr.  Exit 0 when the export is\n"
    "whole, 1 when it failed (nothing is left at FILE), 2 on a usage error.\n";

enum { EF_DB, EF_INSURERS, EF_FACILITY, EF_OUTPUT };
static const struct args_flag export_flags[] = {
    [EF_DB] = {"--db", true},
    [EF_INSURERS] = {"--insurers", false},
    [EF_FACILITY] = {"--facility", true},
    [EF_OUTPUT] = {"--output", true}};

struct export_args {
	const char *db, *facility, *output;
	bool insurers;
};

static int export_arg(void *p, int i, const char *v, char *err, size_t errlen)
{
	struct export_args *a = p;

	switch (i) {
	case EF_DB: a->db = v; return 0;
	case EF_INSURERS: a->insurers = true; return 0;
	case EF_FACILITY: a->facility = v; return 0;
	case EF_OUTPUT: a->output = v; return 0;
	default:
		snprintf(err, errlen, "export: unexpected argument '%.60s'", v);
		return -1;
	}
}

static int usage_error(const char *what)
{
	fprintf(stderr, "shikakud: %s\n\n%s", what, usage_export);
	return 2;
}

/* A SQLite file must exist: an export never creates a database. */
static bool db_missing(const char *db)
{
	if (strncmp(db, "postgresql://", 13) == 0 ||
	    strncmp(db, "postgres://", 11) == 0)
		return false;
	return access(db, R_OK) != 0;
}

/* Opens FILE.tmp-PID beside FILE (mode 0600) into *out; its name in tmp. */
static FILE *output_open(const char *path, char *tmp, size_t tmplen)
{
	int fd;
	FILE *f;

	if (snprintf(tmp, tmplen, "%s.tmp-%ld", path, (long)getpid()) >=
	    (int)tmplen) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
	}
	return f;
}

/* Flushes and syncs f, closes it and renames tmp to path.  0 or -1 with
 * errno; tmp is removed on failure. */
static int output_close(FILE *f, const char *tmp, const char *path, bool ok)
{
	int rc = ok ? 0 : -1, saved;

	if (rc == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0))
		rc = -1;
	saved = errno;
	if (fclose(f) != 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = -1;
		saved = errno;
	}
	if (rc != 0)
		unlink(tmp);
	errno = saved;
	return rc;
}

/* Checks the words read; 0 or the usage error's exit status. */
static int export_check(const struct export_args *a)
{
	if (!a->db || !*a->db)
		return usage_error("export: --db DB is needed");
	if (a->facility &&
	    api_is_individual_number(a->facility, strlen(a->facility)))
		return usage_error("export: an individual number (個人番号) "
				   "is never accepted, not as --facility");
	if (a->facility && !api_export_facility_ok(a->facility))
		return usage_error("export: --facility is 1-64 characters of "
				   "A-Z a-z 0-9 . _ -");
	if (a->facility && a->insurers)
		return usage_error("export: the insurer registry is no "
				   "facility's: --facility is for persons");
	if (a->output && !*a->output)
		return usage_error("export: --output names a FILE");
	return 0;
}

/* Exports into out from db; 0 or 1 with the reason on stderr. */
static int export_run(const struct export_args *a, FILE *out)
{
	char err[512];
	struct db *db;
	size_t lines = 0;
	int rc = 1;

	db = db_open(a->db, err, sizeof err);
	if (!db) {
		fprintf(stderr, "shikakud: %s\n", err);
		return 1;
	}
	if (api_export(db,
		       a->insurers ? API_IMPORT_INSURERS : API_IMPORT_PERSONS,
		       a->facility, out, &lines, err, sizeof err) != 0)
		fprintf(stderr, "shikakud: export: %s\n", err);
	else
		rc = 0;
	db_close(db);
	if (rc == 0)
		fprintf(stderr, "export: %zu %s\n", lines,
			a->insurers ? "insurers" : "persons");
	return rc;
}

int export_cmd_main(int argc, char *const argv[])
{
	struct export_args a = {.db = getenv("SHIKAKU_DB")};
	char err[256], tmp[4096];
	FILE *out = stdout;
	int rc;

	switch (args_parse(argc, argv, export_flags,
			   sizeof export_flags / sizeof export_flags[0],
			   export_arg, &a, err, sizeof err)) {
	case ARGS_HELP: return fputs(usage_export, stdout) < 0;
	case ARGS_USAGE: return usage_error(err);
	case ARGS_OK: break;
	}
	rc = export_check(&a);
	if (rc != 0)
		return rc;
	if (db_missing(a.db)) {
		fprintf(stderr, "shikakud: %s: no such database\n", a.db);
		return 1;
	}
	if (a.output && !(out = output_open(a.output, tmp, sizeof tmp))) {
		fprintf(stderr, "shikakud: %s: %s\n", a.output,
			strerror(errno));
		return 1;
	}
	rc = export_run(&a, out);
	if (a.output && output_close(out, tmp, a.output, rc == 0) != 0 &&
	    rc == 0) {
		fprintf(stderr, "shikakud: %s: %s\n", a.output,
			strerror(errno));
		rc = 1;
	}
	if (!a.output && fflush(stdout) != 0) {
		fprintf(stderr, "shikakud: export: writing stdout failed\n");
		rc = 1;
	}
	return rc;
}
