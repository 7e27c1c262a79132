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
	api_report_db_error(resp, r);
	if (r == DB_BUSY) {
		api_respond_problem(resp, 503, "service_unavailable",
				    "the database is busy (another writer "
				    "holds it): retry shortly",
				    NULL, "");
		api_response_header(resp, "Retry-After", "1");
	} else if (r == DB_UNAVAILABLE) {
		api_respond_problem(resp, 503, "service_unavailable",
				    "the database cannot be reached now: "
				    "retry shortly",
				    NULL, "");
		api_response_header(resp, "Retry-After", "2");
	} else if (r == DB_FULL) {
		api_respond_problem(resp, 507, "insufficient_storage",
				    "the database cannot grow (disk full): "
				    "nothing was stored",
				    NULL, "");
	} else {
		api_respond_problem(resp, 500, "internal_error",
				    "the database failed: see the server log",
				    NULL, "");
	}
}

struct db_conn *api_conn_or_503(const struct api_ctx *ctx,
				struct api_response *resp)
{
	struct db_conn *c = ctx->app->db ? db_conn_get(ctx->app->db) : NULL;

	api_store_use(ctx, resp, c);
	if (!c) {
		api_respond_problem(resp, 503, "service_unavailable",
				    "the database cannot be opened", NULL, "");
		api_response_header(resp, "Retry-After", "5");
	}
	return c;
}

void api_store_use(const struct api_ctx *ctx, struct api_response *resp,
		   struct db_conn *c)
{
	resp->store = ctx->app->db;
	resp->store_conn = c;
	resp->request_id = ctx->req->request_id;
	resp->store_route = ctx->label;
}

bool api_refuse_while_importing(struct api_response *resp)
{
	/* The import keeps the write lock until it ends: waiting the busy
	 * timeout would only hold a worker thread, then fail the same. */
	if (!api_import_writing())
		return false;
	api_respond_problem(resp, 503, "service_unavailable",
			    "an import is being written to the database: "
			    "retry when it has ended",
			    NULL, "");
	api_response_header(resp, "Retry-After", "5");
	return true;
}

struct db_conn *api_conn_for_write(const struct api_ctx *ctx,
				   struct api_response *resp)
{
	if (api_refuse_while_importing(resp))
		return NULL;
	return api_conn_or_503(ctx, resp);
}
