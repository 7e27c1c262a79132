/* fuzz_json.c - api/json_read.c against jansson's own reader on arbitrary
 * bytes: both must accept the same inputs and build equal documents
 * (json_loadb with JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL is the
 * reference), and the
 * arena path must agree with both.  Any difference aborts.
 *
 * One known difference is not one of ours: jansson drops a NUL byte that
 * follows a number ("[1\0]" is [1] to it).  A raw NUL is never valid
 * JSON, so an input holding one must simply be refused. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/internal.h"

/* What api_json_read reads (api/json_read.c). */
#define JSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	api_json_arena_install();
	return 0;
}

static void same(json_t *ref, json_t *got, const char *what)
{
	if (!ref != !got) {
		fprintf(stderr, "%s: jansson %s, ours %s\n", what,
			ref ? "accepts" : "refuses", got ? "accepts" : "refuses");
		abort();
	}
	if (ref && !json_equal(ref, got)) {
		fprintf(stderr, "%s: the documents differ\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	json_error_t e1, e2, e3;
	json_t *ref, *got, *arena;

	if (memchr(buf, '\0', size)) {
		got = api_json_read(buf, size, &e2);
		if (got) {
			fprintf(stderr, "a raw NUL byte was accepted\n");
			abort();
		}
		return 0;
	}
	ref = json_loadb(buf, size, JSON_FLAGS, &e1);
	got = api_json_read(buf, size, &e2);
	same(ref, got, "api_json_read");
	arena = api_json_loadb(buf, size, &e3);
	same(ref, arena, "api_json_loadb");
	if (!got && (e2.position < 0 || (size_t)e2.position > size)) {
		fprintf(stderr, "error position %d outside the input\n",
			e2.position);
		abort();
	}
	json_decref(ref);
	json_decref(got);
	json_decref(arena);
	return 0;
}
