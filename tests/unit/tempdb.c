/* tempdb.c - see tempdb.h. */
#include "tempdb.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

void tempdb_open(struct tempdb *t, const char *name)
{
	char err[256];

	snprintf(t->dir, sizeof t->dir, "/tmp/shikaku-%s-XXXXXX", name);
	cr_assert_not_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof t->path, "%s/t.db", t->dir);
	t->db = db_open(t->path, err, sizeof err);
	cr_assert_not_null(t->db, "db_open: %s", err);
	t->conn = db_conn_get(t->db);
	cr_assert_not_null(t->conn);
}

void tempdb_close(struct tempdb *t)
{
	char cmd[128];

	db_close(t->db);
	t->db = NULL;
	t->conn = NULL;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
	cr_expect_eq(system(cmd), 0);
}
