/* tempdb.c - see tempdb.h. */
#include "tempdb.h"

#include <criterion/criterion.h>
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
