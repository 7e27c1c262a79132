/* tempdb.c - see tempdb.h. */
#include "tempdb.h"

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

void tempdir_make(char dir[64], const char *name)
{
	snprintf(dir, 64, "/tmp/shikaku-%s-XXXXXX", name);
	cr_assert_not_null(mkdtemp(dir));
}

void tempdir_remove(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

void tempdb_open(struct tempdb *t, const char *name)
{
	char err[256];

	tempdir_make(t->dir, name);
	snprintf(t->path, sizeof t->path, "%s/t.db", t->dir);
	t->db = db_open(t->path, err, sizeof err);
	cr_assert_not_null(t->db, "db_open: %s", err);
	t->conn = db_conn_get(t->db);
	cr_assert_not_null(t->conn);
}

void tempdb_close(struct tempdb *t)
{
	db_close(t->db);
	t->db = NULL;
	t->conn = NULL;
	tempdir_remove(t->dir);
}

long long tempdb_int_on(const char *file, int flags, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;

	cr_assert_eq(sqlite3_open_v2(file, &h, flags, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK,
		     "%s: %s", sql, sqlite3_errmsg(h));
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}
