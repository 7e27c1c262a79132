/* store.c - the store as a request sees it: the thread's connection, the
 * write gate an import holds, and the one mapping of a store error
 * (enum db_result) to an HTTP status.  HTTP-free core of api/: it calls
 * only problem.c and db/. */
#include <stdatomic.h>
#include <stdbool.h>

#include "api/import.h"
#include "api/internal.h"

/* Imports of this process holding the database's write lock, which they
 * keep until they end (an upload can take minutes). */
static atomic_int imports_writing;

bool api_import_writing(void)
{
	return atomic_load(&imports_writing) > 0;
}

void api_store_write_begin(void)
{
	atomic_fetch_add(&imports_writing, 1);
}

void api_store_write_end(void)
{
	atomic_fetch_sub(&imports_writing, 1);
}

void api_report_db_error(struct api_response *resp, enum db_result r)
{
	/* Busy is the ordinary wait for another writer, not a fault: its
	 * 503 is in the request line. */
	if (r != DB_BUSY && r != DB_OK && r != DB_NOT_FOUND &&
	    r != DB_PRECONDITION)
		db_error_report(resp->store, resp->store_conn, resp->request_id,
				resp->store_route);
}

void api_respond_db_error(struct api_response *resp, enum db_result r)
{
	struct api_result res = api_db_problem(NULL, r);

	api_report_db_error(resp, r);
	api_render(resp, &res);
}

/* The answers of the store errors that are not a fault of the server:
 * every other one is a 500 (its cause in the log). */
static const struct {
	enum db_result r;
	int status;
	const char *code, *detail;
	const char *retry_after; /* seconds, or NULL */
} db_answers[] = {
    {DB_BUSY, 503, "service_unavailable",
     "the database is busy (another writer holds it): retry shortly", "1"},
    {DB_UNAVAILABLE, 503, "service_unavailable",
     "the database cannot be reached now: retry shortly", "2"},
    {DB_FULL, 507, "insufficient_storage",
     "the database cannot grow (disk full): nothing was stored", NULL},
};

struct api_result api_db_problem(const struct api_ctx *ctx, enum db_result r)
{
	struct api_result res;
	size_t i;

	if (ctx)
		api_store_report(ctx, r);
	for (i = 0; i < sizeof db_answers / sizeof db_answers[0]; i++) {
		if (db_answers[i].r != r)
			continue;
		res = api_problem(db_answers[i].status, db_answers[i].code,
				  db_answers[i].detail, NULL, "");
		res.retry_after = db_answers[i].retry_after;
		return res;
	}
	return api_problem(500, "internal_error",
			   "the database failed: see the server log", NULL, "");
}

void api_store_report(const struct api_ctx *ctx, enum db_result r)
{
	if (r != DB_BUSY && r != DB_OK && r != DB_NOT_FOUND &&
	    r != DB_PRECONDITION)
		db_error_report(ctx->app->db, *ctx->store_conn,
				ctx->req->request_id, ctx->label);
}

struct db_conn *api_conn(const struct api_ctx *ctx, struct api_result *res)
{
	struct db_conn *c = ctx->app->db ? db_conn_get(ctx->app->db) : NULL;

	api_store_use(ctx, c);
	if (!c) {
		*res = api_problem(503, "service_unavailable",
				   "the database cannot be opened", NULL, "");
		res->retry_after = "5";
	}
	return c;
}

void api_store_use(const struct api_ctx *ctx, struct db_conn *c)
{
	*ctx->store_conn = c;
}

static const char importing[] = "an import is being written to the "
				"database: retry when it has ended";

bool api_refuse_while_importing(struct api_response *resp)
{
	/* The import keeps the write lock until it ends: waiting the busy
	 * timeout would only hold a worker thread, then fail the same. */
	if (!api_import_writing())
		return false;
	api_respond_retry(resp, "service_unavailable", importing, "5");
	return true;
}

struct db_conn *api_conn_for_write(const struct api_ctx *ctx,
				   struct api_result *res)
{
	if (api_import_writing()) {
		*res = api_problem(503, "service_unavailable", importing, NULL,
				   "");
		res->retry_after = "5";
		return NULL;
	}
	return api_conn(ctx, res);
}
