/* tempdb.h - a migrated database file in a temporary directory of its
 * own, for a unit test (tests/unit/tempdb.c).
 *
 *	TEMPDB_SUITE(keys);   // the suite, each test on a database of its own
 *
 * declares path, db and conn for the tests (a test may close db and put
 * another in it: that one is closed after the test).
 *
 * tempdb_close removes the directory and everything the test left in it
 * (the -wal and -shm files, other databases). */
#ifndef SHIKAKU_TESTS_TEMPDB_H
#define SHIKAKU_TESTS_TEMPDB_H

#include "db/db.h"

struct tempdb {
	char dir[64];
	char path[128]; /* dir + "/t.db" */
	struct db *db;
	struct db_conn *conn;
};

/* A new empty directory /tmp/shikaku-<name>-XXXXXX in dir (64 bytes), and
 * its removal with everything in it; a failure fails the test. */
void tempdir_make(char dir[64], const char *name);
void tempdir_remove(const char *dir);

/* Makes the directory, opens (creating and migrating) the database and
 * takes a connection; a failure fails the test. */
void tempdb_open(struct tempdb *t, const char *name);
void tempdb_close(struct tempdb *t);

/* The first column of the first row of sql on a connection of its own to
 * file, opened with the SQLite open flags (-1 without a row); a failure
 * to open or prepare fails the test. */
long long tempdb_int_on(const char *file, int flags, const char *sql);

#define TEMPDB_SUITE(suite)                                                    \
	static struct tempdb tdb;                                              \
	static const char *path __attribute__((unused));                       \
	static struct db *db;                                                  \
	static struct db_conn *conn __attribute__((unused));                   \
	static void setup(void)                                                \
	{                                                                      \
		tempdb_open(&tdb, #suite);                                     \
		path = tdb.path;                                               \
		db = tdb.db;                                                   \
		conn = tdb.conn;                                               \
	}                                                                      \
	static void teardown(void)                                             \
	{                                                                      \
		tdb.db = db;                                                   \
		tempdb_close(&tdb);                                            \
		db = NULL;                                                     \
	}                                                                      \
	TestSuite(suite, .init = setup, .fini = teardown)

#endif
