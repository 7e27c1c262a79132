/* test_args.c - the one reader of a subcommand's words (service/args.c)
 * and config.c's table read through it. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "service/args.h"
#include "service/config.h"

static const struct args_flag flags[] = {{"--db", true}, {"--json", false}};

struct seen {
	const char *db, *pos[4];
	int json, n_pos;
};

static int record(void *p, int i, const char *value, char *err, size_t errlen)
{
	struct seen *s = p;

	(void)err;
	(void)errlen;
	if (i == ARGS_POSITIONAL)
		s->pos[s->n_pos++] = value;
	else if (i == 0)
		s->db = value;
	else
		s->json++;
	return 0;
}

static enum args_result parse(struct seen *s, char *err, int argc,
			      char *const argv[])
{
	memset(s, 0, sizeof *s);
	return args_parse(argc, argv, flags, 2, record, s, err, 128);
}

Test(args, value_after_the_flag_or_after_equals)
{
	char *a[] = {"--db", "x.db", "f1", "--json", "-", "--db=y=z.db"};
	struct seen s;
	char err[128];

	cr_assert_eq(parse(&s, err, 6, a), ARGS_OK, "%s", err);
	cr_expect_str_eq(s.db, "y=z.db");
	cr_expect_eq(s.json, 1);
	cr_assert_eq(s.n_pos, 2);
	cr_expect_str_eq(s.pos[0], "f1");
	cr_expect_str_eq(s.pos[1], "-");
}

Test(args, unknown_prefix_missing_value_and_help)
{
	char *unknown[] = {"--nope"}, *prefix[] = {"--d", "x"},
	     *bare[] = {"--db"}, *valued[] = {"--json=1"},
	     *help[] = {"--db", "x", "-h", "--nope"};
	struct seen s;
	char err[128];

	cr_expect_eq(parse(&s, err, 1, unknown), ARGS_USAGE);
	cr_expect(strstr(err, "unknown argument '--nope'"), "%s", err);
	cr_expect_eq(parse(&s, err, 2, prefix), ARGS_USAGE);
	cr_expect(strstr(err, "'--d'"), "%s", err);
	cr_expect_eq(parse(&s, err, 1, bare), ARGS_USAGE);
	cr_expect_str_eq(err, "--db needs a value");
	cr_expect_eq(parse(&s, err, 1, valued), ARGS_USAGE);
	cr_expect_eq(parse(&s, err, 4, help), ARGS_HELP);
}

Test(args, config_table_reads_both_forms_and_refuses_others)
{
	char *serve[] = {"--listen=127.0.0.1:0", "--threads", "3", "--no-auth",
			 "--max-body=2048"};
	char *eval[] = {"--lang=en"}, *wrong_cmd[] = {"--threads=2"},
	     *word[] = {"stray"};
	struct config cfg;
	char err[256];

	unsetenv("SHIKAKU_THREADS");
	unsetenv("SHIKAKU_MAX_BODY");
	cr_assert_eq(config_load(&cfg, CONFIG_SERVE, 5, serve, err, sizeof err),
		     CONFIG_OK, "%s", err);
	cr_expect_eq(cfg.threads, 3);
	cr_expect(cfg.no_auth);
	cr_expect_eq(cfg.max_body, 2048);
	cr_expect_eq(cfg.port, 0);
	cr_assert_eq(config_load(&cfg, CONFIG_EVAL, 1, eval, err, sizeof err),
		     CONFIG_OK, "%s", err);
	cr_expect(cfg.lang_en);
	/* a flag of serve is unknown to eval */
	cr_expect_eq(
	    config_load(&cfg, CONFIG_EVAL, 1, wrong_cmd, err, sizeof err),
	    CONFIG_USAGE);
	cr_expect(strstr(err, "--threads=2"), "%s", err);
	cr_expect_eq(config_load(&cfg, CONFIG_SERVE, 1, word, err, sizeof err),
		     CONFIG_USAGE);
	cr_expect(strstr(err, "stray"), "%s", err);
}
