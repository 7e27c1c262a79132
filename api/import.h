/* import.h - the streaming import of persons or insurers (SPEC §6
 * "Import", §7, §8).
 *
 * Bytes in (NDJSON or CSV, cut anywhere), one transaction on a connection
 * of its own, the answer out.  Nothing here knows about HTTP: the routes
 * POST /v1/persons:import and /v1/insurers:import feed it from the request
 * body (api_stream_* in api.h), `shikakud import` from files.
 *
 * Memory stays bounded whatever the input's size: one line (at most
 * API_IMPORT_LINE_MAX bytes) is held at a time, and at most
 * API_IMPORT_LISTED_MAX rejected lines are listed in the answer (all are
 * counted in "rejected_total").
 *
 * The answer (200, or 422 for an all_or_nothing import with a rejected
 * line, which then also carries the problem+json members):
 *
 *   {"kind", "mode", "stored", "lines", "inserted", "updated", "unchanged",
 *    "rejected": [{"line", "person_id" | "insurer_number", "errors"}],
 *    "rejected_total"}
 *
 * An import that is refused as a whole answers a plain problem+json and
 * stores nothing: an individual number anywhere (422, in both modes), a
 * CSV header naming an unknown or repeated column (422), the database
 * busy or failing (503/500/507).
 */
#ifndef SHIKAKU_API_IMPORT_H
#define SHIKAKU_API_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"

/* Bytes of one line (one CSV record) beyond which it is rejected unread. */
#define API_IMPORT_LINE_MAX ((size_t)64 << 10)
/* Rejected lines listed in the answer; the rest are only counted. */
#define API_IMPORT_LISTED_MAX 1000

enum api_import_kind { API_IMPORT_PERSONS, API_IMPORT_INSURERS };
enum api_import_format { API_IMPORT_NDJSON, API_IMPORT_CSV };
enum api_import_charset { API_IMPORT_UTF8, API_IMPORT_SHIFT_JIS };
enum api_import_mode { API_IMPORT_ALL_OR_NOTHING, API_IMPORT_BEST_EFFORT };

struct api_import_opts {
	enum api_import_kind kind;
	enum api_import_format format;
	enum api_import_charset charset; /* SHIFT_JIS: CP932 via iconv */
	enum api_import_mode mode;
	double now;    /* POSIX seconds: the records' updated_at */
	int32_t today; /* Asia/Tokyo: bounds birth_date and verified_at */
	/* The facility the caller's key is bound to ("" = every facility):
	 * a line for another facility's person is rejected. */
	char facility[65];
	/* Whom a store error is reported to, with which request id
	 * (api_report_db_error; borrowed, must outlive the import); NULL
	 * from the command line, which prints the answer instead. */
	struct db *store;
	const char *request_id;
	const char *route; /* the request's route template (static) */
	/* Where the person ids the lines name are noted for the audit log
	 * (the request's, borrowed); NULL: not noted (the command line). */
	struct api_audit_ids *audit;
	/* Room for the import's two error lists (the request's arena, which
	 * outlives the import: borrowed); NULL: allocated by the import. */
	struct api_errors *errs, *flat;
};

/* What an import did, for the command line's summary line. */
struct api_import_summary {
	bool stored;  /* committed (200) */
	size_t lines; /* data lines read (no header, no blank line) */
	size_t inserted, updated, unchanged, rejected;
};

struct api_import;

/* Opens a connection of its own to the (migrated) database at db_path and
 * starts the import's one transaction (BEGIN IMMEDIATE): the transaction
 * spans many reads of the input, which must not hold a worker thread's
 * shared connection.  Returns a new import, to end with api_import_finish
 * or api_import_free, or NULL with *resp filled (503 when another writer
 * holds the database, 500). */
struct api_import *api_import_new(const char *db_path,
				  const struct api_import_opts *opts,
				  struct api_response *resp);

/* Feeds the next len bytes of the input, cut anywhere (even inside a
 * multibyte character).  Returns false once the answer is decided (the
 * import is refused as a whole): later bytes are ignored and the caller
 * may stop reading. */
bool api_import_feed(struct api_import *im, const char *data, size_t len);

/* The input has ended: reads the last line, commits or rolls back, fills
 * *resp with the answer (and *sum when not NULL), and frees im. */
void api_import_finish(struct api_import *im, struct api_response *resp,
		       struct api_import_summary *sum);

/* Rolls back and frees (an input cut short); NULL is a no-op. */
void api_import_free(struct api_import *im);

/* Lines read so far, for a progress display. */
size_t api_import_lines(const struct api_import *im);

/* ---- for api/router.c --------------------------------------------------- */

struct api_ctx;
/* POST /v1/persons:import and /v1/insurers:import.  With a buffered body
 * (req->body) they import it at once; with ctx->import_out set (see
 * api_begin) they open the import there and return status 0: no answer
 * yet.  What the import engine answers is in resp (api_rendered). */
struct api_result api_persons_import(const struct api_ctx *ctx);
struct api_result api_insurers_import(const struct api_ctx *ctx);

/* The body of the import im that api_begin opened has ended: its answer
 * into resp (api_import_finish), counted for /metrics. */
void api_import_route_finish(const struct api_ctx *ctx, struct api_import *im,
			     struct api_response *resp);

/* Is an import of this process holding the database's write lock now?
 * (Other writes are then refused at once: api_conn_for_write.)  The gate
 * lives in api/store.c; an import opens it with api_store_write_begin. */
bool api_import_writing(void);
/* An import took (begin) or gave back (end) the database's write lock. */
void api_store_write_begin(void);
void api_store_write_end(void);

#endif
