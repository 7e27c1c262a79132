/* args.c - see args.h. */
#include "service/args.h"

#include <stdio.h>
#include <string.h>

/* The flag of the table that word names, its value (after '=') in
 * *value; NULL when none does. */
static const struct args_flag *match(const char *word,
				     const struct args_flag *flags,
				     size_t n_flags, const char **value)
{
	for (size_t k = 0; k < n_flags; k++) {
		size_t n = strlen(flags[k].name);

		if (strncmp(word, flags[k].name, n) != 0)
			continue;
		if (word[n] == '\0')
			return &flags[k];
		if (word[n] == '=' && flags[k].takes_value) {
			*value = word + n + 1;
			return &flags[k];
		}
	}
	return NULL;
}

enum args_result args_parse(int argc, char *const argv[],
			    const struct args_flag *flags, size_t n_flags,
			    args_fn fn, void *ctx, char *err, size_t errlen)
{
	if (errlen > 0)
		err[0] = '\0';
	for (int i = 0; i < argc; i++) {
		const char *word = argv[i], *value = NULL;
		const struct args_flag *f;
		int rc;

		if (strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0)
			return ARGS_HELP;
		if (word[0] != '-' || word[1] == '\0') {
			rc = fn(ctx, ARGS_POSITIONAL, word, err, errlen);
		} else {
			f = match(word, flags, n_flags, &value);
			if (!f) {
				snprintf(err, errlen,
					 "unknown argument '%.60s'", word);
				return ARGS_USAGE;
			}
			if (f->takes_value && !value) {
				if (i + 1 >= argc) {
					snprintf(err, errlen,
						 "%s needs a value", f->name);
					return ARGS_USAGE;
				}
				value = argv[++i];
			}
			rc = fn(ctx, (int)(f - flags), value, err, errlen);
		}
		if (rc != 0)
			return ARGS_USAGE;
	}
	return ARGS_OK;
}
