/* fuzz_import.c - the streaming import (api/import.h: NDJSON and CSV line
 * parsers, CP932 decoding, person and insurer validation) on arbitrary
 * bytes, fed in pieces cut anywhere.
 *
 * The first input byte picks the options (kind, format, charset, mode,
 * and whether the import ends with api_import_finish or is abandoned with
 * api_import_free), the second the size of the pieces; the rest is the
 * body.  One temporary database, migrated once, serves every run. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/import.h"
#include "db/db.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char path[128];

static void cleanup(void)
{
	char p[160];

	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	struct db *db;

	(void)argc;
	(void)argv;
	api_json_arena_install();
	snprintf(dir, sizeof dir, "/tmp/shikaku-fuzz-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/fuzz.db", dir);
	db = db_open(path, err, sizeof err);
	if (!db) {
		fprintf(stderr, "fuzz_import: %s\n", err);
		abort();
	}
	db_close(db);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_import_opts opts = {0};
	struct api_import_summary sum;
	struct api_response resp;
	struct api_import *im;
	size_t piece, off, n;
	bool finish;

	if (size < 2)
		return 0;
	opts.kind = data[0] & 1 ? API_IMPORT_INSURERS : API_IMPORT_PERSONS;
	opts.format = data[0] & 2 ? API_IMPORT_CSV : API_IMPORT_NDJSON;
	opts.charset = data[0] & 4 ? API_IMPORT_SHIFT_JIS : API_IMPORT_UTF8;
	opts.mode = data[0] & 8 ? API_IMPORT_BEST_EFFORT
				: API_IMPORT_ALL_OR_NOTHING;
	finish = !(data[0] & 16);
	opts.now = 1748736000.0;
	opts.today = rules_date_from_ymd(2025, 6, 1);
	piece = (size_t)data[1] % 64 + 1;
	data += 2;
	size -= 2;

	memset(&resp, 0, sizeof resp);
	im = api_import_new(path, &opts, &resp);
	if (!im) {
		api_response_fini(&resp);
		return 0;
	}
	for (off = 0; off < size; off += n) {
		n = size - off < piece ? size - off : piece;
		if (!api_import_feed(im, (const char *)data + off, n))
			break;
	}
	if (finish) {
		memset(&resp, 0, sizeof resp);
		api_import_finish(im, &resp, &sum);
		api_response_fini(&resp);
	} else {
		api_import_free(im);
	}
	return 0;
}
