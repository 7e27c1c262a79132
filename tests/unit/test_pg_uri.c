/* test_pg_uri.c - which --db values are PostgreSQL URIs, and that a URI's
 * password never reaches a log (db_target_redact); no server needed. */
#include <criterion/criterion.h>
#include <string.h>

#include "db/db.h"

Test(pg_uri, postgresql_and_postgres_schemes_are_uris)
{
	cr_assert(db_is_uri("postgresql://u@h/db"));
	cr_assert(db_is_uri("postgres://h/db"));
	cr_assert(db_is_uri("postgresql:///db?host=/tmp"));
}

Test(pg_uri, paths_stay_sqlite)
{
	cr_assert_not(db_is_uri("shikaku.db"));
	cr_assert_not(db_is_uri("/var/lib/shikaku/x.db"));
	cr_assert_not(db_is_uri("./postgresql://x"));
	cr_assert_not(db_is_uri("postgresql:/x"));
	cr_assert_not(db_is_uri("PostgreSQL://x"));
	cr_assert_not(db_is_uri(""));
	cr_assert_not(db_is_uri(NULL));
}

static void redacts(const char *in, const char *want)
{
	char out[256];

	db_target_redact(in, out, sizeof out);
	cr_assert_str_eq(out, want, "%s -> %s", in, out);
}

Test(pg_uri, the_password_is_replaced)
{
	redacts("postgresql://app:s3cret@db.example:5432/shikaku",
		"postgresql://app:***@db.example:5432/shikaku");
	/* '@' and ':' inside the password: the last '@' ends it */
	redacts("postgres://app:p@ss:w@rd@db/x", "postgres://app:***@db/x");
	redacts("postgresql:///x?host=/tmp&password=hunter2&user=u",
		"postgresql:///x?host=/tmp&password=***&user=u");
	redacts("postgresql://u:pw@h/x?password=pw2",
		"postgresql://u:***@h/x?password=***");
}

Test(pg_uri, nothing_else_changes)
{
	redacts("postgresql://app@db/shikaku", "postgresql://app@db/shikaku");
	redacts("postgresql:///x?host=/tmp&user=postgres",
		"postgresql:///x?host=/tmp&user=postgres");
	redacts("/var/lib/shikaku/x.db", "/var/lib/shikaku/x.db");
	/* a path with ':' and '@' is not a URI */
	redacts("/tmp/a:b@c.db", "/tmp/a:b@c.db");
}

Test(pg_uri, a_short_buffer_is_cut_and_terminated)
{
	char out[12];

	memset(out, 'x', sizeof out);
	db_target_redact("postgresql://app:s3cret@db/x", out, sizeof out);
	cr_assert_eq(strlen(out), sizeof out - 1);
	cr_assert_null(strstr(out, "s3cret"));
	cr_assert_str_eq(out, "postgresql:");
}
