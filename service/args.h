/* args.h - the one way every subcommand reads its words (serve and eval
 * through config.c's table, migrate, import, key create|list|revoke,
 * rules check, rules diff).
 *
 * A flag is "--name", or with a value "--name VALUE" or "--name=VALUE";
 * names are matched whole (no abbreviations).  "-h" or "--help" anywhere
 * asks for the usage.  Any other word that starts with '-' (but "-" alone,
 * which names stdin) and is no flag of the table is an error; the other
 * words are positional.
 */
#ifndef SHIKAKU_SERVICE_ARGS_H
#define SHIKAKU_SERVICE_ARGS_H

#include <stdbool.h>
#include <stddef.h>

struct args_flag {
	const char *name; /* "--db" */
	bool takes_value;
};

enum args_result {
	ARGS_OK = 0,
	ARGS_HELP,  /* -h or --help: print the usage, exit 0 */
	ARGS_USAGE, /* err says what was wrong: exit 2 */
};

/* Called in order for each flag (i its index in the table, value NULL
 * for a flag without one) and each positional word (i == ARGS_POSITIONAL,
 * value the word).  value is borrowed from argv.  Returns 0, or -1 having
 * written one line into err. */
#define ARGS_POSITIONAL (-1)
typedef int (*args_fn)(void *ctx, int i, const char *value, char *err,
		       size_t errlen);

/* Reads argv[0..argc) against flags[0..n_flags).  On ARGS_USAGE, err holds
 * one line (unknown argument, missing value, or fn's). */
enum args_result args_parse(int argc, char *const argv[],
			    const struct args_flag *flags, size_t n_flags,
			    args_fn fn, void *ctx, char *err, size_t errlen);

#endif
